//! `kind = "command"`, proven with real programs (`sh`, `sleep`, `true`) and no timing: the
//! exact number of runs, setups, prepares and cleanups; `{threads}`, `{scratch}` and `env`
//! substituted; the point's CPU time is what `getrusage(RUSAGE_CHILDREN)` says, read
//! independently; a failing run fails its point with the exit code and the last stderr line;
//! a missing program is refused before anything runs; a Stop leaves no process of the
//! program's group and still runs `cleanup`; a timeout fails the point.

// Real POSIX programs (sh, xz) and getrusage: Unix only.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use pooltune::cancel::CancelToken;
use pooltune::engine::Event;
use pooltune::result::SweepResult;
use pooltune::spec::{self, Preset};
use pooltune::sweep;

/// Tests here count the children this process reaped (RUSAGE_CHILDREN): one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// A command preset file in `dir` with `workload` (the body of `[workload]`, without `kind`)
/// and `sweep` (the body of `[sweep]`), loaded as pooltune loads it.
fn preset(dir: &Path, workload: &str, sweep: &str) -> Preset {
    let text = format!(
        "schema_version = 1\nname = \"test\"\n\n[workload]\nkind = \"command\"\n{workload}\n\n[sweep]\n{sweep}\n"
    );
    let path = dir.join("preset.toml");
    std::fs::write(&path, text).unwrap();
    spec::load(&path).unwrap_or_else(|err| panic!("{err}"))
}

/// Runs the sweep, keeping its events.
fn run(preset: &Preset) -> (SweepResult, Vec<Event>) {
    let mut events = Vec::new();
    let result = sweep::run(preset, &CancelToken::new(), &mut |e| events.push(e)).unwrap();
    (result, events)
}

fn lines(path: PathBuf) -> Vec<String> {
    std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn series_failure(events: &[Event]) -> Option<String> {
    events.iter().find_map(|e| match e {
        Event::SeriesFailed { message, .. } => Some(message.clone()),
        _ => None,
    })
}

#[test]
fn every_run_setup_prepare_and_cleanup_happens_exactly_as_often_as_planned() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // A relative program path resolves against the preset's folder, and runs start there.
    let tool = dir.path().join("tool.sh");
    std::fs::write(&tool, "#!/bin/sh\necho run >> runs.txt\n").unwrap();
    std::fs::set_permissions(
        &tool,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
    )
    .unwrap();
    let preset = preset(
        dir.path(),
        r#"run = ["./tool.sh"]
setup = "echo setup >> setups.txt"
prepare = "echo prepare >> prepares.txt"
cleanup = "echo cleanup >> cleanups.txt"
warmup_runs = 2
work_per_run = 10
work_unit = "files""#,
        "threads = [1, 2, 3]\ntrials = 3\nretry_disturbed = 0",
    );
    let (result, events) = run(&preset);
    assert_eq!(series_failure(&events), None);
    assert_eq!(result.points.len(), 3);
    for point in &result.points {
        assert_eq!(point.error, None);
        assert_eq!(point.trials, 3);
        assert_eq!(point.tasks_per_trial, 10.0);
        assert_eq!(point.trial_throughputs_per_s.len(), 3);
        assert!(point.throughput_per_s > 0.0);
    }
    // 3 thread counts × (2 warm-up runs + 3 trials), each run after its prepare.
    assert_eq!(lines(dir.path().join("runs.txt")).len(), 15);
    assert_eq!(lines(dir.path().join("prepares.txt")).len(), 15);
    assert_eq!(lines(dir.path().join("setups.txt")), ["setup"]);
    assert_eq!(lines(dir.path().join("cleanups.txt")), ["cleanup"]);
}

#[test]
fn threads_scratch_and_env_are_substituted() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let preset = preset(
        dir.path(),
        r#"run = ["sh", "-c", "echo \"$1 $N $(cat {scratch}/made)\" >> seen.txt; echo {scratch} > scratch.txt", "sh", "-T{threads}"]
env = { N = "n={threads}" }
setup = "echo made-by-setup > {scratch}/made"
warmup_runs = 0"#,
        "threads = [1, 4]\ntrials = 3\nretry_disturbed = 0",
    );
    let (result, events) = run(&preset);
    assert_eq!(series_failure(&events), None);
    assert!(
        result.points.iter().all(|p| p.error.is_none()),
        "{:?}",
        result.points
    );
    let mut expected = vec!["-T1 n=1 made-by-setup"; 3];
    expected.extend(vec!["-T4 n=4 made-by-setup"; 3]);
    assert_eq!(lines(dir.path().join("seen.txt")), expected);
    // The scratch folder existed during the runs and is gone after the sweep.
    let scratch = PathBuf::from(lines(dir.path().join("scratch.txt"))[0].clone());
    assert!(scratch.is_absolute(), "{scratch:?}");
    assert!(!scratch.exists(), "{scratch:?} outlived the sweep");
}

#[test]
fn an_unknown_placeholder_is_refused_before_anything_runs() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let preset = preset(
        dir.path(),
        r#"run = ["sh", "-c", "echo {thread}"]
setup = "touch setup-ran""#,
        "threads = [1]\ntrials = 3",
    );
    let (result, events) = run(&preset);
    let message = series_failure(&events).unwrap();
    assert!(
        message.contains("workload.run")
            && message.contains("{thread}")
            && message.contains("{threads}"),
        "{message}"
    );
    assert!(result.points.is_empty());
    assert!(!dir.path().join("setup-ran").exists());
}

#[test]
fn the_points_cpu_time_is_what_getrusage_children_says() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // Busy in the shell and in a child of it (whose time reaches the shell's when reaped).
    let preset = preset(
        dir.path(),
        r#"run = ["sh", "-c", "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; (j=0; while [ $j -lt 30000 ]; do j=$((j+1)); done)"]
work_per_run = 4
warmup_runs = 0"#,
        "threads = [1, 2]\ntrials = 3\nretry_disturbed = 0",
    );
    let before = children_cpu();
    let (result, events) = run(&preset);
    let reaped = children_cpu() - before;
    assert_eq!(series_failure(&events), None);
    // Every run is a trial here: the points' CPU time, per unit × units × trials, summed.
    let measured: f64 = result
        .points
        .iter()
        .map(|p| p.cpu_time_per_task_us * 1e-6 * p.tasks_per_trial * f64::from(p.trials))
        .sum();
    assert!(reaped > 0.05, "the runs used only {reaped} s of CPU");
    // getrusage and wait4 count the same ticks, each to the microsecond.
    assert!(
        (measured - reaped).abs() < 1e-3,
        "points say {measured} s of CPU, getrusage(RUSAGE_CHILDREN) {reaped} s"
    );
    for point in &result.points {
        assert!(
            point.cpu_utilization > 0.0 && point.cpu_utilization <= 1.5,
            "{point:?}"
        );
        assert!(point.peak_rss_bytes > 0);
        assert!(point.wall_time_per_task_us >= point.cpu_time_per_task_us * 0.9);
        assert!(point.measured_wait_over_compute().is_finite());
    }
}

/// CPU time of this process's reaped children, in seconds (getrusage RUSAGE_CHILDREN).
fn children_cpu() -> f64 {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is valid and writable.
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) },
        0
    );
    let seconds = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 * 1e-6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

#[test]
fn a_failing_run_fails_its_point_with_the_exit_code_and_last_stderr_line() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let preset = preset(
        dir.path(),
        // Fails at 2 threads only: the other points are measured.
        r#"run = ["sh", "-c", "if [ $1 = 2 ]; then echo first >&2; echo 'bad input at 2' >&2; exit 3; fi", "sh", "{threads}"]
cleanup = "echo cleanup >> cleanups.txt"
warmup_runs = 0"#,
        "threads = [1, 2, 3]\ntrials = 3",
    );
    let (result, _) = run(&preset);
    assert_eq!(result.points.len(), 3);
    assert_eq!(result.points[0].error, None);
    assert_eq!(result.points[2].error, None);
    let error = result.points[1].error.as_deref().unwrap();
    assert!(
        error.contains("exit code 3")
            && error.contains("bad input at 2")
            && !error.contains("first"),
        "{error}"
    );
    assert!(error.contains("workload.run"), "{error}");
    assert_eq!(lines(dir.path().join("cleanups.txt")), ["cleanup"]);
}

#[test]
fn a_missing_program_is_refused_before_anything_runs_naming_the_field_and_path() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let preset = preset(
        dir.path(),
        r#"run = ["pooltune-no-such-program", "-T{threads}"]
setup = "touch setup-ran"
cleanup = "touch cleanup-ran""#,
        "threads = [1]\ntrials = 3",
    );
    let (result, events) = run(&preset);
    let message = series_failure(&events).unwrap();
    assert!(
        message.contains("workload.run")
            && message.contains("pooltune-no-such-program")
            && message.contains("PATH"),
        "{message}"
    );
    let path = std::env::var("PATH").unwrap();
    let first = path.split(':').next().unwrap();
    assert!(message.contains(first), "{message}");
    assert!(result.points.is_empty());
    assert!(!dir.path().join("setup-ran").exists());
    assert!(!dir.path().join("cleanup-ran").exists());
}

#[test]
fn a_setup_that_fails_fails_the_series_and_cleanup_still_runs() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let preset = preset(
        dir.path(),
        r#"run = ["true"]
setup = "echo 'no data here' >&2; exit 4"
cleanup = "touch cleanup-ran""#,
        "threads = [1, 2]\ntrials = 3",
    );
    let (result, events) = run(&preset);
    let message = series_failure(&events).unwrap();
    assert!(
        message.contains("workload.setup")
            && message.contains("exit code 4")
            && message.contains("no data here"),
        "{message}"
    );
    assert!(result.points.is_empty());
    assert!(dir.path().join("cleanup-ran").exists());
}

#[test]
fn a_run_past_its_timeout_fails_its_point() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let preset = preset(
        dir.path(),
        r#"run = ["sleep", "30"]
timeout_s = 0.3
warmup_runs = 0"#,
        "threads = [1]\ntrials = 3",
    );
    let (result, _) = run(&preset);
    let error = result.points[0].error.as_deref().unwrap();
    assert!(error.contains("timed out after 0.300 s"), "{error}");
}

#[test]
fn a_stop_kills_the_programs_whole_group_and_runs_cleanup() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // The program starts a grandchild, and ignores SIGTERM: only the SIGKILL that follows
    // the grace ends it.
    let preset = preset(
        dir.path(),
        r#"run = ["sh", "-c", "trap '' TERM; echo $$ > pgid.txt; sleep 60 & sleep 60; wait"]
cleanup = "touch cleanup-ran"
warmup_runs = 0"#,
        "threads = [1, 2]\ntrials = 3",
    );
    let cancel = CancelToken::new();
    let stopper = cancel.clone();
    let pgid_file = dir.path().join("pgid.txt");
    let handle = std::thread::Builder::new()
        .name("command-sweep".into())
        .spawn(move || sweep::run(&preset, &cancel, &mut |_| {}).unwrap())
        .unwrap();
    let waited = Instant::now();
    let pgid: i32 = loop {
        if let Some(pid) = std::fs::read_to_string(&pgid_file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            break pid;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "the program never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(
        !group_members(pgid).is_empty(),
        "the program's group is not running"
    );
    stopper.cancel();
    let stopped = Instant::now();
    let result = handle.join().unwrap();
    let took = stopped.elapsed();
    eprintln!("stop took {took:?}");
    assert!(result.outcome.cancelled);
    assert!(result.points.is_empty(), "{:?}", result.points);
    // SIGKILL is delivered asynchronously: a killed grandchild may run for a moment more.
    let killed = Instant::now();
    while !group_members(pgid).is_empty() && killed.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        group_members(pgid),
        Vec::<i32>::new(),
        "processes of group {pgid} are left"
    );
    assert!(dir.path().join("cleanup-ran").exists());
    // Not a timing assertion but a bound that only the SIGKILL meets: `sleep 60` ignores
    // SIGTERM here, so without it the sweep would wait a minute.
    assert!(took < Duration::from_secs(10), "{took:?}");
}

/// The live processes (not zombies: an orphan's is init's to reap) whose process group is
/// `pgid`, from /proc.
fn group_members(pgid: i32) -> Vec<i32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: the fields after the last ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let zombie = fields.first() == Some(&"Z");
        if !zombie && fields.get(2).and_then(|f| f.parse::<i32>().ok()) == Some(pgid) {
            members.push(pid);
        }
    }
    members
}
