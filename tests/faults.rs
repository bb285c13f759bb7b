//! Faults a user can meet, with the real binary (issue 10, "nothing lost, nothing hangs"): a
//! stopped or crashed worker, Ctrl-C on `sweep`, `compare` and `cost` (to pooltune alone and
//! to its whole process group, once and twice), a memory limit, and the exit code of a run in
//! which nothing was measured. Each test runs pooltune with TMPDIR set to a private folder and
//! checks that nothing is left in it.
//!
//! `POOLTUNE_TEST_EXE` runs these tests against another build (to see them fail on an older
//! pooltune).

// POSIX programs, signals or file modes: Unix only.
#![cfg(unix)]

mod common;

use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use pooltune::platform::procfs;

/// The tests in this file look for pooltune's workers among all processes and lower limits:
/// one at a time, so that one test's workers are not another's.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

fn exe() -> PathBuf {
    std::env::var_os("POOLTUNE_TEST_EXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pooltune")))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A private folder with `tmp/` (pooltune's TMPDIR) and a preset `p.toml`.
struct Scene {
    dir: tempfile::TempDir,
}

impl Scene {
    fn new(preset: &str) -> Scene {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::create_dir(dir.path().join("tmp")).expect("tmp");
        std::fs::write(dir.path().join("p.toml"), preset).expect("the preset is written");
        Scene { dir }
    }

    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    fn preset(&self) -> PathBuf {
        self.dir.path().join("p.toml")
    }

    /// `pooltune COMMAND --preset p.toml --format json EXTRA...` with TMPDIR set.
    fn command(&self, command: &str, extra: &[&str]) -> Command {
        let mut c = Command::new(exe());
        c.arg(command)
            .arg("--preset")
            .arg(self.preset())
            .args(["--format", "json"])
            .args(extra)
            .env("TMPDIR", self.tmp())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// What is left in TMPDIR.
    fn leftovers(&self) -> Vec<PathBuf> {
        let mut left: Vec<PathBuf> = std::fs::read_dir(self.tmp())
            .expect("tmp is readable")
            .map(|e| e.expect("an entry").path())
            .collect();
        left.sort();
        left
    }

    /// Waits until TMPDIR holds a folder whose name starts with `prefix`, anywhere below it.
    fn wait_for_folder(&self, prefix: &str, limit: Duration) {
        let started = Instant::now();
        while !has_folder(&self.tmp(), prefix) {
            assert!(
                started.elapsed() < limit,
                "no {prefix}* folder appeared in {}",
                self.tmp().display()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn has_folder(dir: &Path, prefix: &str) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let path = e.path();
            path.is_dir()
                && (e.file_name().to_string_lossy().starts_with(prefix)
                    || has_folder(&path, prefix))
        })
}

/// Every worker process started by pooltune `parent` (its command line names its parent).
fn workers_of(parent: u32) -> Vec<procfs::ProcessEntry> {
    let mark = format!("{} pool {parent}", pooltune::pool::WORKER_MODE_ARG);
    procfs::all_processes()
        .into_iter()
        .filter(|p| p.cmdline.ends_with(&mark))
        .collect()
}

/// Waits for `count` workers of `parent` to run.
fn wait_for_workers(parent: u32, count: usize) -> Vec<procfs::ProcessEntry> {
    let started = Instant::now();
    loop {
        let found = workers_of(parent);
        if found.len() >= count {
            return found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no workers: {found:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn kill(pid: i32, signal: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions; the pids are this test's children
    // (or their process group, or their workers).
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill {pid} {signal}");
}

/// Waits for `child` at most `limit`, then returns its output; a child still running then is
/// killed and the test fails ("hung").
fn finish_within(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("waitable").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!("pooltune hung for {limit:?}; stderr: {}", text(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|err| {
        panic!(
            "no JSON on stdout ({err}): {}; stderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

const PROCESS_CPU: &str = "schema_version = 1\nname = \"process pool\"\n\
    [workload]\nkind = \"cpu\"\ncompute_us = 200\n\
    [pool]\nkind = \"process\"\nchunk_size = 4\n\
    [sweep]\nthreads = [2, 1]\ntrials = 3\ntrial_ms = 700\nwarmup_ms = 0\n";

/// Item 1: `kill -STOP` on a worker hung the sweep forever. Now the point fails with the
/// worker's pid and the no-progress limit (2 s here, through POOLTUNE_NO_PROGRESS_S), the next
/// point is measured, and no worker or folder is left.
#[test]
fn a_stopped_worker_fails_its_point_with_its_pid_and_the_sweep_goes_on() {
    let _serial = serial();
    let scene = Scene::new(PROCESS_CPU);
    let child = scene
        .command("sweep", &[])
        .env(pooltune::child::NO_PROGRESS_VAR, "2")
        .spawn()
        .expect("pooltune starts");
    let pid = child.id();
    let workers = wait_for_workers(pid, 2);
    std::thread::sleep(Duration::from_millis(300));
    let stopped = workers[0].pid;
    kill(stopped as i32, libc::SIGSTOP);
    let out = finish_within(child, Duration::from_secs(40));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let result = json(&out);
    let points = result["points"].as_array().expect("points");
    assert_eq!(points.len(), 2, "{points:?}");
    let error = points[0]["error"]
        .as_str()
        .expect("the 2-worker point failed");
    assert!(
        error.contains(&format!(
            "(pid {stopped}) made no progress for 2 s (stopped or stuck)"
        )),
        "{error}"
    );
    assert!(points[1]["error"].is_null(), "{}", points[1]["error"]);
    assert!(workers_of(pid).is_empty(), "{:?}", workers_of(pid));
    assert!(
        procfs::process_entry(stopped).is_none(),
        "the stopped worker is left"
    );
    assert_eq!(scene.leftovers(), Vec::<PathBuf>::new());
}

/// Item 16: a SIGSEGV sent to a worker was absorbed (Rust's stack-overflow handler returns
/// for a fault it did not cause) and the point reported success.
#[test]
fn a_worker_sent_sigsegv_fails_its_point() {
    let _serial = serial();
    let scene = Scene::new(PROCESS_CPU);
    let child = scene
        .command("sweep", &[])
        .spawn()
        .expect("pooltune starts");
    let pid = child.id();
    let workers = wait_for_workers(pid, 2);
    std::thread::sleep(Duration::from_millis(300));
    kill(workers[1].pid as i32, libc::SIGSEGV);
    let out = finish_within(child, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let points = json(&out)["points"].as_array().expect("points").clone();
    assert_eq!(points.len(), 2);
    let error = points[0]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("the point of the crashed worker succeeded: {}", points[0]));
    assert!(
        error.contains(&format!("(pid {})", workers[1].pid)) && error.contains("SIGSEGV"),
        "{error}"
    );
    assert!(points[1]["error"].is_null(), "{}", points[1]["error"]);
    assert!(workers_of(pid).is_empty(), "{:?}", workers_of(pid));
    assert_eq!(scene.leftovers(), Vec::<PathBuf>::new());
}

const PROCESS_FILE_IO: &str = "schema_version = 1\nname = \"file io on processes\"\n\
    [workload]\nkind = \"file_io\"\nbytes = 1048576\n\
    [pool]\nkind = \"process\"\nchunk_size = 1\n\
    [sweep]\nthreads = [2, 4]\ntrials = 3\ntrial_ms = 60000\nwarmup_ms = 0\n";

/// How Ctrl-C reaches pooltune.
#[derive(Debug, Clone, Copy, PartialEq)]
enum CtrlC {
    /// SIGINT to pooltune's pid only (`kill -INT`).
    Alone,
    /// SIGINT to pooltune's whole process group, workers included: a Ctrl-C at a terminal.
    Group,
    /// One Ctrl-C at a terminal under a wrapper that forwards SIGINT (`timeout 120
    /// pooltune ...`): the group's SIGINT, then the wrapper's copy a few ms later.
    Echoed,
    /// Two Ctrl-Cs at a terminal, [`SECOND_PRESS_AFTER`] apart, while pooltune is still
    /// stopping: it is frozen (SIGSTOP) right after the first and thawed with the second
    /// pending, and its `--out` is a FIFO nobody reads, so the orderly stop cannot end first.
    GroupTwice,
}

/// Gap between two Ctrl-Cs that are two presses: more than pooltune's echo window (0.5 s).
const SECOND_PRESS_AFTER: Duration = Duration::from_secs(1);

/// Gap between a terminal's SIGINT and a wrapper's forwarded copy of it.
const ECHO_AFTER: Duration = Duration::from_millis(3);

/// A FIFO in `dir` for `--out`: with no reader, writing the result blocks until pooltune is
/// ended, so a second Ctrl-C [`SECOND_PRESS_AFTER`] the first still finds it running.
fn fifo_in(dir: &Path) -> PathBuf {
    use std::os::unix::ffi::OsStrExt as _;
    let path = dir.join("result.fifo");
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL");
    // SAFETY: mkfifo reads a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
    path
}

/// Waits (at most 5 s) until `signal` is no longer pending for process `pid` (its `ShdPnd`
/// mask in /proc): its handler has run.
fn wait_until_delivered(pid: u32, signal: i32) {
    let bit = 1u64 << (signal - 1);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let pending = status
            .lines()
            .find_map(|l| l.strip_prefix("ShdPnd:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok());
        match pending {
            Some(mask) if mask & bit != 0 => std::thread::yield_now(),
            _ => return,
        }
    }
}

/// Starts `command` in a process group of its own (as a shell starts a job), waits until
/// `ready` says it runs, and sends Ctrl-C as `how` says.
fn press_ctrl_c(mut command: Command, how: CtrlC, ready: impl FnOnce(u32)) -> Output {
    let child = command.process_group(0).spawn().expect("pooltune starts");
    let pid = child.id() as i32;
    ready(child.id());
    match how {
        CtrlC::Alone => kill(pid, libc::SIGINT),
        CtrlC::Group => kill(-pid, libc::SIGINT),
        CtrlC::Echoed => {
            kill(-pid, libc::SIGINT);
            // The copy only once the first was delivered (two pending SIGINTs merge into one).
            wait_until_delivered(child.id(), libc::SIGINT);
            std::thread::sleep(ECHO_AFTER);
            kill(pid, libc::SIGINT);
        }
        CtrlC::GroupTwice => {
            kill(-pid, libc::SIGINT);
            wait_until_delivered(child.id(), libc::SIGINT);
            // Frozen at once, so that the second press finds the first's stop just begun,
            // its children alive and its folders there, however fast that stop would be.
            kill(pid, libc::SIGSTOP);
            std::thread::sleep(SECOND_PRESS_AFTER);
            kill(-pid, libc::SIGINT);
            kill(pid, libc::SIGCONT);
        }
    }
    finish_within(child, Duration::from_secs(30))
}

/// Item 3: Ctrl-C on a process pool running `file_io` left `pooltune-file-io-*` folders, and
/// a Ctrl-C at the terminal also killed the workers, so the interrupted point was written as
/// failed ("killed by signal 2"). Now the workers ignore SIGINT, the point is dropped as
/// cancelled, and no folder survives, also after a second Ctrl-C (which ends pooltune at once).
#[test]
fn ctrl_c_on_a_file_io_process_pool_cancels_and_leaves_no_folder() {
    let _serial = serial();
    for how in [CtrlC::Alone, CtrlC::Group, CtrlC::Echoed, CtrlC::GroupTwice] {
        let scene = Scene::new(PROCESS_FILE_IO);
        let fifo = fifo_in(scene.dir.path());
        let extra: Vec<&str> = match how {
            CtrlC::GroupTwice => vec!["--out", fifo.to_str().expect("UTF-8")],
            _ => vec![],
        };
        let out = press_ctrl_c(scene.command("sweep", &extra), how, |pid| {
            // The first point's two workers, each with its folder and its file.
            wait_for_workers(pid, 2);
            scene.wait_for_folder("pooltune-file-io-", Duration::from_secs(60));
            std::thread::sleep(Duration::from_millis(200));
        });
        let stderr = text(&out.stderr);
        if how == CtrlC::GroupTwice {
            assert_eq!(
                out.status.signal(),
                Some(libc::SIGINT),
                "{how:?}: {:?}: {stderr}",
                out.status
            );
        } else {
            assert_eq!(out.status.code(), Some(1), "{how:?}: {stderr}");
            assert!(stderr.contains("Ctrl-C"), "{how:?}: {stderr}");
            let result = json(&out);
            assert_eq!(result["cancelled"], true, "{how:?}");
            for point in result["points"].as_array().expect("points") {
                assert!(point["error"].is_null(), "{how:?}: {point}");
            }
        }
        assert_eq!(scene.leftovers(), Vec::<PathBuf>::new(), "{how:?}");
    }
}

const THREAD_CPU_LONG: &str = "schema_version = 1\nname = \"threads, long\"\n\
    [workload]\nkind = \"cpu\"\ncompute_us = 200\n\
    [pool]\nkind = \"rayon\"\n\
    [sweep]\nthreads = [2]\ntrials = 3\ntrial_ms = 60000\nwarmup_ms = 0\n";

/// True once process `pid` has a thread whose name starts with `prefix`.
fn has_thread(pid: u32, prefix: &str) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.starts_with(prefix))
        })
}

/// One Ctrl-C at a terminal under `timeout 120 pooltune ...` reaches pooltune twice, a few ms
/// apart (the group's SIGINT, then timeout's copy). It was taken for a second Ctrl-C: exit
/// 130 and nothing written, 10 runs of 10. Now a SIGINT within the echo window of the last is
/// the same press: the sweep stops as after one Ctrl-C.
#[test]
fn a_ctrl_c_forwarded_by_a_wrapper_is_one_press() {
    let _serial = serial();
    let scene = Scene::new(THREAD_CPU_LONG);
    let out = press_ctrl_c(scene.command("sweep", &[]), CtrlC::Echoed, |pid| {
        let started = Instant::now();
        while !has_thread(pid, "pooltune-worker") {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no worker thread"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{:?}: {stderr}", out.status);
    assert!(stderr.contains("Ctrl-C"), "{stderr}");
    assert_eq!(json(&out)["cancelled"], true);
    assert_eq!(scene.leftovers(), Vec::<PathBuf>::new());
}

/// Item 2: `compare` had no Ctrl-C handling: SIGINT killed it, nothing was written and a
/// `pooltune-pybench-*` folder was left. Now it stops like `sweep`: the finished points are
/// written (`cancelled: true`), Python is ended, the folder removed, exit 1; a second Ctrl-C
/// ends it at once, still without leftovers.
#[test]
fn ctrl_c_on_compare_writes_the_finished_points_and_removes_the_script_folder() {
    let _serial = serial();
    if common::python_or_skip().is_none() {
        return;
    }
    let comparison = "schema_version = 1\nname = \"compare, long\"\n\
        [sweep]\nthreads = [1, 2, 3]\ntrials = 3\ntrial_ms = 300\nwarmup_ms = 0\n\
        [[series]]\nlabel = \"Rust\"\nkind = \"rust\"\n\
        workload = { kind = \"cpu\", compute_us = 100 }\npool = { kind = \"rayon\" }\n\
        [[series]]\nlabel = \"Python processes\"\nkind = \"python_processes\"\ntask = \"cpu\"\n\
        compute_us = 100\n";
    for how in [CtrlC::Alone, CtrlC::Group, CtrlC::Echoed, CtrlC::GroupTwice] {
        let scene = Scene::new(comparison);
        let fifo = fifo_in(scene.dir.path());
        let extra: Vec<&str> = match how {
            CtrlC::GroupTwice => vec!["--out", fifo.to_str().expect("UTF-8")],
            _ => vec![],
        };
        let out = press_ctrl_c(scene.command("compare", &extra), how, |pid| {
            scene.wait_for_folder("pooltune-pybench-", Duration::from_secs(60));
            // Until the Rust series has its first point and Python runs its second.
            let started = Instant::now();
            while procfs::children_of(pid)
                .iter()
                .all(|c| !(c.cmdline.contains("pybench.py") && c.cmdline.contains(" run ")))
            {
                assert!(started.elapsed() < Duration::from_secs(60), "no Python run");
                std::thread::sleep(Duration::from_millis(10));
            }
            std::thread::sleep(Duration::from_millis(300));
        });
        let stderr = text(&out.stderr);
        if how == CtrlC::GroupTwice {
            assert_eq!(out.status.signal(), Some(libc::SIGINT), "{how:?}: {stderr}");
            // pooltune killed Python itself: that is not Python's fault.
            assert!(!stderr.contains("cannot read"), "{how:?}: {stderr}");
        } else {
            assert_eq!(out.status.code(), Some(1), "{how:?}: {stderr}");
            assert!(stderr.contains("Ctrl-C"), "{how:?}: {stderr}");
            let result = json(&out);
            assert_eq!(result["cancelled"], true, "{how:?}");
            let measured: usize = result["series"]
                .as_array()
                .expect("series")
                .iter()
                .map(|s| s["points"].as_array().map_or(0, Vec::len))
                .sum();
            assert!(measured >= 1, "{how:?}: the finished points are kept");
        }
        assert_eq!(scene.leftovers(), Vec::<PathBuf>::new(), "{how:?}");
    }
}

/// Item 2, for `cost`: it had no Ctrl-C handling either.
#[test]
fn ctrl_c_on_cost_writes_what_was_measured_and_leaves_nothing() {
    let _serial = serial();
    if common::python_or_skip().is_none() {
        return;
    }
    let scene = Scene::new("");
    let mut command = Command::new(exe());
    command
        .args(["cost", "--format", "json", "--threads", "1", "--processes"])
        .arg("1,60")
        .env("TMPDIR", scene.tmp())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = press_ctrl_c(command, CtrlC::Group, |_| {
        // The Python part runs last, in its own folder.
        scene.wait_for_folder("pooltune-cost-", Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(300));
    });
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Ctrl-C"), "{stderr}");
    let result = json(&out);
    assert_eq!(result["cancelled"], true);
    assert_eq!(result["threads"].as_array().map(Vec::len), Some(1));
    assert_eq!(scene.leftovers(), Vec::<PathBuf>::new());
}

/// Runs `command` with its address space limited to `bytes` (RLIMIT_AS, `ulimit -v`).
fn with_address_space_limit(command: &mut Command, bytes: u64) {
    // SAFETY: the closure only calls setrlimit, which is async-signal-safe, between fork and
    // exec.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Address space pooltune needs before any workload: its VmSize while running a tiny sweep,
/// read from /proc.
fn baseline_address_space() -> u64 {
    let scene = Scene::new(
        "schema_version = 1\nname = \"idle\"\n[workload]\nkind = \"blocking\"\n\
         compute_us = 0\nwait_us = 200000\n[sweep]\nthreads = [2]\ntrials = 3\n\
         tasks_per_trial = 4\nwarmup_ms = 0\n",
    );
    let child = scene
        .command("sweep", &[])
        .spawn()
        .expect("pooltune starts");
    let mut most = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        if let Some(size) = procfs::status_bytes(procfs::Pid::Other(child.id()), "VmSize:") {
            most = most.max(size);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    finish_within(child, Duration::from_secs(30));
    assert!(most > 0, "VmSize was read");
    most
}

/// Item 7: under `ulimit -v`, a buffer that does not fit aborted pooltune (SIGABRT, "memory
/// allocation of N bytes failed"), losing the finished points. Now the point fails with the
/// size and the limit, and the sweep goes on: here 1 thread fits and 2 do not.
#[test]
fn a_buffer_past_the_memory_limit_fails_its_point_not_the_process() {
    let _serial = serial();
    const BUFFER: u64 = 256 << 20;
    // Room for one buffer (and the second's failed attempt), not for two.
    let limit = baseline_address_space() + BUFFER + BUFFER / 2;
    for (workload, what) in [
        (
            format!(
                "kind = \"memory\"\nbuffer_kib = {}\npasses = 1",
                BUFFER >> 10
            ),
            "the buffer of worker",
        ),
        // Two buffers of this size per worker (writes and reads): a half-size file.
        (
            format!("kind = \"file_io\"\nbytes = {}", BUFFER / 2),
            "for worker 1's",
        ),
    ] {
        let scene = Scene::new(&format!(
            "schema_version = 1\nname = \"limit\"\n[workload]\n{workload}\n\
             [sweep]\nthreads = [1, 2]\ntrials = 3\ntasks_per_trial = 3\nwarmup_ms = 0\n"
        ));
        let mut command = scene.command("sweep", &[]);
        with_address_space_limit(&mut command, limit);
        let out = finish_within(
            command.spawn().expect("pooltune starts"),
            Duration::from_secs(120),
        );
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{workload}: {:?}: {stderr}",
            out.status
        );
        let points = json(&out)["points"].as_array().expect("points").clone();
        assert_eq!(points.len(), 2, "{workload}");
        assert!(
            points[0]["error"].is_null(),
            "{workload}: {}",
            points[0]["error"]
        );
        let error = points[1]["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{workload}: two buffers fit under the limit"));
        assert!(error.contains("could not allocate"), "{error}");
        assert!(error.contains(what), "{error}");
        assert!(error.contains("ulimit -v"), "{error}");
        assert!(
            error.contains(&format!("is {} MiB", limit >> 20)),
            "{error}"
        );
        assert_eq!(scene.leftovers(), Vec::<PathBuf>::new(), "{workload}");
    }
    // Eager feeding's list of 5 M task descriptions (534 MiB) does not fit either: its point
    // fails (the only one, so nothing was measured: exit 1) instead of aborting pooltune.
    let scene = Scene::new(
        "schema_version = 1\nname = \"eager\"\n[workload]\nkind = \"cpu\"\ncompute_us = 0\n\
         [pool]\nkind = \"process\"\nchunk_size = 1000\nfeeding = \"eager\"\n\
         [sweep]\nthreads = [1]\ntrials = 3\ntasks_per_trial = 5000000\nwarmup_ms = 0\n",
    );
    let mut command = scene.command("sweep", &[]);
    with_address_space_limit(&mut command, limit);
    let out = finish_within(
        command.spawn().expect("pooltune starts"),
        Duration::from_secs(60),
    );
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "eager: {:?}: {stderr}",
        out.status
    );
    let points = json(&out)["points"].as_array().expect("points").clone();
    let error = points[0]["error"].as_str().expect("the eager point failed");
    assert!(
        error.contains("eager feeding would build 5000000 task descriptions"),
        "{error}"
    );
    assert!(error.contains("address-space limit"), "{error}");
}

/// Item 14: a sweep in which every point failed exited 0. Now it exits 1 (after writing the
/// result); a sweep with some points measured still exits 0 (see
/// `a_stopped_worker_fails_its_point_with_its_pid_and_the_sweep_goes_on`).
#[test]
fn nothing_measured_exits_1_with_the_result_written() {
    let _serial = serial();
    // Workers that are not pooltune: every process-pool point fails.
    let scene = Scene::new(PROCESS_CPU);
    let out = scene
        .command("sweep", &[])
        .env(pooltune::pool::process::POOLTUNE_EXE_VAR, "/bin/true")
        .output()
        .expect("pooltune runs");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "sweep: {stderr}");
    assert!(
        stderr.starts_with("error: nothing was measured"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    let points = json(&out)["points"].as_array().expect("points").clone();
    assert_eq!(points.len(), 2);
    assert!(points.iter().all(|p| p["error"].is_string()));

    // A comparison whose series all fail: a process pool of /bin/true and a missing Python.
    let scene = Scene::new(
        "schema_version = 1\nname = \"all fail\"\n\
         [sweep]\nthreads = [1, 2]\ntrials = 3\ntrial_ms = 100\nwarmup_ms = 0\n\
         [[series]]\nlabel = \"Rust processes\"\nkind = \"rust\"\n\
         workload = { kind = \"cpu\", compute_us = 100 }\npool = { kind = \"process\" }\n\
         [[series]]\nlabel = \"Python threads\"\nkind = \"python_threads\"\ntask = \"cpu\"\n\
         compute_us = 100\n",
    );
    let out = scene
        .command("compare", &["--python", "/nonexistent/python3"])
        .env(pooltune::pool::process::POOLTUNE_EXE_VAR, "/bin/true")
        .output()
        .expect("pooltune runs");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "compare: {stderr}");
    assert!(stderr.contains("error: nothing was measured"), "{stderr}");
    assert!(json(&out)["series"].is_array());

    // A cost run whose processes are /bin/true and whose threads cannot get their 1 GiB
    // stacks under a 512 MiB address-space limit (and that measures no tasks or switches,
    // which need no such stacks).
    let scene = Scene::new("");
    let mut command = Command::new(exe());
    command
        .args(["cost", "--format", "json", "--no-python", "--threads", "2"])
        .args(["--no-tasks", "--round-trips", "0"])
        .args(["--processes", "1", "--stack-kib", "1048576"])
        .env(pooltune::pool::process::POOLTUNE_EXE_VAR, "/bin/true")
        .env("TMPDIR", scene.tmp());
    with_address_space_limit(&mut command, 512 << 20);
    let out = command.output().expect("pooltune runs");
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "cost: {:?} {stderr}",
        out.status
    );
    assert!(stderr.contains("error: nothing was measured"), "{stderr}");
    let result = json(&out);
    assert!(
        result["threads"][0]["error"].is_string(),
        "{}",
        result["threads"]
    );
    assert!(
        result["processes"][0]["error"].is_string(),
        "{}",
        result["processes"]
    );
}

/// The first child of `parent` whose command line contains every one of `words`.
fn wait_for_child_with(parent: u32, words: &[&str]) -> u32 {
    let started = Instant::now();
    loop {
        if let Some(child) = procfs::children_of(parent)
            .into_iter()
            .find(|c| c.state != 'Z' && words.iter().all(|w| c.cmdline.contains(w)))
        {
            return child.pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no child with {words:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Item 1, for the Python children: the same watchdog fails a comparison's Python series
/// whose interpreter is stopped (the Rust series is still measured, so the run exits 0), and
/// the Python part of `cost`; no Python process and no folder is left.
#[test]
fn a_stopped_python_fails_its_series_or_its_cost_rows_and_the_run_goes_on() {
    let _serial = serial();
    if common::python_or_skip().is_none() {
        return;
    }
    let scene = Scene::new(
        "schema_version = 1\nname = \"stopped python\"\n\
         [sweep]\nthreads = [1, 2]\ntrials = 3\ntrial_ms = 300\nwarmup_ms = 0\n\
         [[series]]\nlabel = \"Rust\"\nkind = \"rust\"\n\
         workload = { kind = \"cpu\", compute_us = 100 }\npool = { kind = \"rayon\" }\n\
         [[series]]\nlabel = \"Python threads\"\nkind = \"python_threads\"\ntask = \"cpu\"\n\
         compute_us = 100\n",
    );
    let child = scene
        .command("compare", &[])
        .env(pooltune::child::NO_PROGRESS_VAR, "3")
        .spawn()
        .expect("pooltune starts");
    let pid = child.id();
    let python = wait_for_child_with(pid, &["pybench.py", " run "]);
    kill(python as i32, libc::SIGSTOP);
    let out = finish_within(child, Duration::from_secs(60));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let result = json(&out);
    let series = result["series"].as_array().expect("series");
    assert!(series[0]["error"].is_null(), "{}", series[0]["error"]);
    assert_eq!(series[0]["points"].as_array().map(Vec::len), Some(2));
    let error = series[1]["error"]
        .as_str()
        .expect("the Python series failed");
    assert!(
        error.contains(&format!(
            "(pid {python}) made no progress for 3 s (stopped or stuck)"
        )),
        "{error}"
    );
    assert!(
        procfs::process_entry(python).is_none(),
        "the stopped Python is left"
    );
    assert_eq!(scene.leftovers(), Vec::<PathBuf>::new());

    let scene = Scene::new("");
    let child = Command::new(exe())
        .args([
            "cost",
            "--format",
            "json",
            "--threads",
            "1",
            "--processes",
            "1,30",
        ])
        .env(pooltune::child::NO_PROGRESS_VAR, "3")
        .env("TMPDIR", scene.tmp())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pooltune starts");
    let python = wait_for_child_with(child.id(), &["worker_cost.py"]);
    kill(python as i32, libc::SIGSTOP);
    let out = finish_within(child, Duration::from_secs(60));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let result = json(&out);
    let error = result["python_error"]
        .as_str()
        .expect("Python's part failed");
    assert!(
        error.contains(&format!(
            "(pid {python}) made no progress for 3 s (stopped or stuck)"
        )),
        "{error}"
    );
    assert!(
        procfs::process_entry(python).is_none(),
        "the stopped Python is left"
    );
    assert_eq!(scene.leftovers(), Vec::<PathBuf>::new());
}
