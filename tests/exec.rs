//! `kind = "exec"` with real programs (`sh`, `sleep`, `sha256sum`): every task is one child
//! process, counted exactly on each pool of threads; `{input}` comes from the glob, relative to
//! the preset's folder; the children's CPU time reaches the trial and agrees with
//! getrusage(RUSAGE_CHILDREN) read independently; a failing task fails its point with its
//! stderr; a missing program or a glob with no match is refused before anything runs; the
//! process pool is refused saying why; Stop leaves no process behind and runs `cleanup`.
//!
//! The tests take one lock: RUSAGE_CHILDREN and the scan of /proc see every child of this
//! test process, so no other test may start children meanwhile.

// Real POSIX programs (sh, sleep, sha256sum) and getrusage: Unix only.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use pooltune::cancel::{CancelToken, TrialStop};
use pooltune::engine::Event;
use pooltune::pool::{self, TrialPlan, TrialRun};
use pooltune::result::Point;
use pooltune::spec::{self, PoolSpec, Preset};
use pooltune::sweep;
use pooltune::workload::exec::{Exec, ExecPlan};
use pooltune::workload::{Workload, WorkloadFactory};

static CHILDREN: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    CHILDREN.lock().unwrap_or_else(|p| p.into_inner())
}

fn thread_pools() -> Vec<PoolSpec> {
    vec![
        PoolSpec::Rayon,
        PoolSpec::Queue {
            queue_capacity: 2,
            chunk_size: 1,
        },
        PoolSpec::Spawn,
    ]
}

/// An exec spec running `run` (an argv).
fn exec(run: &[&str]) -> spec::ExecSpec {
    spec::ExecSpec {
        run: spec::CommandLine::Argv(run.iter().map(|w| (*w).to_owned()).collect()),
        shell: false,
        inputs: None,
        env: BTreeMap::new(),
        setup: None,
        cleanup: None,
        timeout_s: 60.0,
        keep_output: false,
    }
}

/// Runs one trial of exactly `tasks` tasks of `plan` on `pool` with `threads` workers.
fn one_trial(plan: ExecPlan, pool: &PoolSpec, threads: usize, tasks: u64) -> TrialRun {
    let workload: Arc<dyn Workload> = Arc::new(Exec::new(Arc::new(plan), threads));
    let factory = WorkloadFactory::Built(Arc::clone(&workload));
    let mut pool = pool::build(pool, threads, &factory).unwrap();
    let stop = Arc::new(TrialStop::new(CancelToken::new(), None));
    let plan = TrialPlan {
        workload: &workload,
        max_tasks: tasks,
        sample_every: 1,
        chunk_tasks: 1,
        stop: &stop,
    };
    pool.run_trial(&plan).unwrap()
}

/// A sweep preset file in `folder` (so that its relative paths resolve there), loaded.
fn preset_in(folder: &Path, workload: &str, pool: &str, sweep: &str) -> Preset {
    let text = format!(
        "schema_version = 1\nname = \"exec test\"\n\n[workload]\nkind = \"exec\"\n{workload}\n\n\
         [pool]\n{pool}\n\n[sweep]\n{sweep}\n"
    );
    let path = folder.join("exec-test.toml");
    std::fs::write(&path, text).unwrap();
    spec::load(&path).unwrap()
}

/// The sweep's points and the messages of failed series.
fn run(preset: &Preset, cancel: &CancelToken) -> (Vec<Point>, Vec<String>) {
    let mut failures = Vec::new();
    let result = sweep::run(preset, cancel, &mut |event| {
        if let Event::SeriesFailed { message, .. } = event {
            failures.push(message);
        }
    })
    .unwrap();
    (result.points, failures)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn each_task_is_one_child_counted_exactly_on_every_pool() {
    let _one = one_at_a_time();
    for pool in thread_pools() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("tasks.log");
        let line = format!("echo {{task}} {{worker}} >> {}", log.display());
        let plan = ExecPlan::new(&exec(&["sh", "-c", &line]), Some(dir.path())).unwrap();
        let run = one_trial(plan, &pool, 3, 25);
        assert_eq!(run.tasks, 25, "{pool:?}");
        let mut tasks: Vec<u64> = Vec::new();
        for entry in lines(&log) {
            let (task, worker) = entry.split_once(' ').unwrap();
            tasks.push(task.parse().unwrap());
            assert!(worker.parse::<usize>().unwrap() < 3, "{pool:?}: {entry}");
        }
        tasks.sort_unstable();
        assert_eq!(tasks, (0..25).collect::<Vec<_>>(), "{pool:?}");
    }
}

#[test]
fn input_comes_from_the_glob_relative_to_the_preset_folder() {
    let _one = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("corpus")).unwrap();
    for name in ["b.txt", "a.txt", "c.txt", "skip.md"] {
        std::fs::write(dir.path().join("corpus").join(name), name).unwrap();
    }
    // sha256sum reads {input} relative to the task's working directory: the preset's folder.
    let preset = preset_in(
        dir.path(),
        "run = [\"sh\", \"-c\", \"sha256sum {input} > /dev/null && echo {input} {task} >> inputs.log\"]\n\
         inputs = \"corpus/*.txt\"",
        "kind = \"queue\"",
        "threads = [2]\ntrials = 3\ntasks_per_trial = 9\nwarmup_ms = 0",
    );
    let (points, failures) = run(&preset, &CancelToken::new());
    assert!(failures.is_empty(), "{failures:?}");
    assert!(points[0].is_ok(), "{:?}", points[0].error);
    let logged = lines(&dir.path().join("inputs.log"));
    assert!(!logged.is_empty());
    let matches = ["corpus/a.txt", "corpus/b.txt", "corpus/c.txt"];
    for entry in &logged {
        let (input, task) = entry.split_once(' ').unwrap();
        let task: usize = task.parse().unwrap();
        // Task i gets match i mod count, in sorted order.
        assert_eq!(input, matches[task % 3], "{entry}");
    }
    for input in matches {
        assert!(
            logged.iter().any(|l| l.starts_with(input)),
            "{input} never ran"
        );
    }
}

/// CPU time of this process's reaped children (getrusage RUSAGE_CHILDREN), in nanoseconds.
fn children_cpu_ns() -> u64 {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is valid and writable.
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) },
        0
    );
    let ns = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000_000 + tv.tv_usec as u64 * 1000;
    ns(usage.ru_utime) + ns(usage.ru_stime)
}

#[test]
fn child_cpu_time_agrees_with_getrusage_children() {
    let _one = one_at_a_time();
    // A shell loop: CPU spent in the child (and none in pooltune's threads).
    let busy = "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done";
    for pool in thread_pools() {
        let plan = ExecPlan::new(&exec(&["sh", "-c", busy]), None).unwrap();
        let before = children_cpu_ns();
        let run = one_trial(plan, &pool, 2, 8);
        let independent = children_cpu_ns() - before;
        assert_eq!(run.tasks, 8);
        assert!(independent > 0, "{pool:?}: the children used no CPU?");
        // Both read the kernel's accounting of the same 8 reaped children (microseconds).
        let diff = run.child_cpu_ns.abs_diff(independent);
        assert!(
            diff <= independent / 100 + 8_000,
            "{pool:?}: the trial counted {} ns of child CPU, getrusage {independent} ns",
            run.child_cpu_ns
        );
        // The task's CPU time is the child's (plus the launching thread's own, small).
        assert!(run.worker_cpu_ns >= run.child_cpu_ns, "{pool:?}: {run:?}");
    }
}

#[test]
fn a_childs_peak_memory_is_reported_only_when_it_is_the_childs() {
    let _one = one_at_a_time();
    // The shell holds 64 MB of 'a's in a variable: far above this test process's own peak.
    let big = "v=$(head -c 64000000 /dev/zero | tr '\\0' a); [ ${{#v}} -eq 64000000 ]";
    let plan = ExecPlan::new(&exec(&["sh", "-c", big]), None).unwrap();
    let run = one_trial(plan, &PoolSpec::Rayon, 2, 2);
    // (Seen once in a full `cargo test` on a loaded machine: None here; the run says why.)
    let rss = run
        .child_peak_rss_bytes
        .unwrap_or_else(|| panic!("no child peak RSS: {run:?}"));
    assert!((64_000_000..1 << 30).contains(&rss), "{rss}");
    // `true` uses a few hundred KiB, but Linux starts its ru_maxrss at this process's peak:
    // that figure is not the child's, so none is reported.
    let plan = ExecPlan::new(&exec(&["true"]), None).unwrap();
    let run = one_trial(plan, &PoolSpec::Rayon, 2, 2);
    assert_eq!(run.child_peak_rss_bytes, None);
}

#[test]
fn a_failing_task_fails_its_point_with_its_stderr_tail() {
    let _one = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let preset = preset_in(
        dir.path(),
        "run = [\"sh\", \"-c\", \"if [ {task} -eq 2 ]; then echo 'reading:' >&2; echo 'bad input {task}' >&2; exit 4; fi\"]",
        "kind = \"rayon\"",
        "threads = [1, 2]\ntrials = 3\ntasks_per_trial = 6\nwarmup_ms = 0",
    );
    let (points, failures) = run(&preset, &CancelToken::new());
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(points.len(), 2);
    for point in &points {
        let error = point.error.as_deref().unwrap_or("no error");
        assert!(error.starts_with("task 2 failed: `"), "{error}");
        assert!(error.contains("ended with exit code 4"), "{error}");
        assert!(
            error.ends_with("its stderr ended: reading: / bad input 2"),
            "{error}"
        );
    }
}

#[test]
fn what_cannot_run_is_refused_before_anything_runs() {
    let _one = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let sweep = "threads = [1]\ntrials = 3\ntasks_per_trial = 2\nwarmup_ms = 0";
    let missing = preset_in(
        dir.path(),
        "run = [\"no-such-program-pooltune-exec\", \"{task}\"]",
        "kind = \"rayon\"",
        sweep,
    );
    let (points, failures) = run(&missing, &CancelToken::new());
    assert!(points.is_empty());
    assert!(failures[0].starts_with("workload.run: "), "{failures:?}");
    assert!(failures[0].contains("searched PATH: "), "{failures:?}");
    let no_match = preset_in(
        dir.path(),
        &format!(
            "run = [\"sh\", \"-c\", \"touch {}; cat {{input}}\"]\ninputs = \"corpus/*.txt\"",
            marker.display()
        ),
        "kind = \"rayon\"",
        sweep,
    );
    let (points, failures) = run(&no_match, &CancelToken::new());
    assert!(points.is_empty());
    assert!(
        failures[0].starts_with("workload.inputs = \"corpus/*.txt\" matches no file in "),
        "{failures:?}"
    );
    assert!(!marker.exists(), "a task ran");
    // The process pool: refused when the file is read, saying why.
    let text = "schema_version = 1\nname = \"x\"\n[workload]\nkind = \"exec\"\nrun = [\"true\"]\n\
                [pool]\nkind = \"process\"\n[sweep]\nthreads = [1]\ntrials = 3\ntrial_ms = 100\n";
    let err = spec::parse(text, Path::new("x.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("each task is already a process"), "{err}");
}

/// Processes whose command line holds `marker` (zombies are gone already: not counted).
fn processes_with(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'));
        if !zombie && String::from_utf8_lossy(&cmdline).contains(marker) {
            found.push(pid);
        }
    }
    found
}

#[test]
fn stop_kills_the_running_children_leaves_no_process_and_runs_cleanup() {
    let _one = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    // A sleep no other process runs, and a background child of the task's shell.
    let marker = format!("31.{}", std::process::id());
    let preset = preset_in(
        dir.path(),
        &format!(
            "run = [\"sh\", \"-c\", \"sleep {marker} & sleep {marker}\"]\n\
             cleanup = [\"sh\", \"-c\", \"echo cleaned > cleaned.txt\"]"
        ),
        "kind = \"queue\"",
        "threads = [3]\ntrials = 3\ntrial_ms = 60000\nwarmup_ms = 0",
    );
    let cancel = CancelToken::new();
    let runner = {
        let cancel = cancel.clone();
        std::thread::Builder::new()
            .name("exec-test-sweep".into())
            .spawn(move || run(&preset, &cancel))
            .unwrap()
    };
    // Three tasks running, each a shell and its two sleeps.
    let deadline = Instant::now() + Duration::from_secs(30);
    while processes_with(&marker).len() < 6 {
        assert!(Instant::now() < deadline, "the tasks never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    cancel.cancel();
    let stopped = Instant::now();
    let (points, _) = runner.join().unwrap();
    eprintln!("the sweep ended {:?} after the Stop", stopped.elapsed());
    // A hang detector, not a timing claim.
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "{:?}",
        stopped.elapsed()
    );
    assert!(points.is_empty(), "the stopped point is dropped");
    let left = processes_with(&marker);
    assert!(left.is_empty(), "processes left after Stop: {left:?}");
    let cleaned = std::fs::read_to_string(dir.path().join("cleaned.txt")).unwrap();
    assert_eq!(cleaned.trim(), "cleaned");
}

#[test]
fn setup_makes_the_inputs_in_scratch_before_the_glob_is_read() {
    let _one = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let preset = preset_in(
        dir.path(),
        "run = [\"sha256sum\", \"{input}\"]\n\
         inputs = \"{scratch}/in/*.dat\"\n\
         setup = \"mkdir {scratch}/in && echo 1 > {scratch}/in/1.dat && echo 2 > {scratch}/in/2.dat\"\n\
         cleanup = \"ls {scratch}/in > listed.txt\"",
        "kind = \"spawn\"",
        "threads = [1, 2]\ntrials = 3\ntasks_per_trial = 4\nwarmup_ms = 0",
    );
    let (points, failures) = run(&preset, &CancelToken::new());
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(points.len(), 2);
    for point in &points {
        assert!(point.is_ok(), "{:?}", point.error);
        assert_eq!(point.tasks_per_trial, 4.0);
    }
    // Cleanup ran once the sweep ended, while the scratch folder was still there.
    assert_eq!(lines(&dir.path().join("listed.txt")), ["1.dat", "2.dat"]);
    let scratch = std::env::temp_dir();
    let leftovers = std::fs::read_dir(scratch)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("pooltune-scratch-")
        })
        .filter(|e| e.path().join("in").exists())
        .count();
    assert_eq!(leftovers, 0, "a scratch folder with inputs was left behind");
}
