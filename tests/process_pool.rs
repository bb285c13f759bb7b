//! The process pool, proven without timing: it runs exactly the tasks asked, once each, for
//! several chunk sizes and both feedings; a killed or crashed worker fails the trial instead of
//! hanging it; Stop and drop leave no worker process behind (counted from /proc).
//!
//! The tests in this file count this process's children, so they run one at a time.

// POSIX programs, signals or file modes: Unix only.
#![cfg(unix)]

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use pooltune::cancel::{CancelToken, TrialStop};
use pooltune::platform::procfs;
use pooltune::pool::process::{ProcessPool, WORKER_MODE_ARG};
use pooltune::pool::{Pool as _, TrialFailure, TrialPlan, TrialRun, WorkloadSource};
use pooltune::result::Calibration;
use pooltune::spec::{Feeding, WorkloadSpec};
use pooltune::workload::{Empty, Workload};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_pooltune"))
}

fn source(spec: WorkloadSpec) -> WorkloadSource {
    WorkloadSource {
        spec,
        calibration: Calibration {
            spin_units_per_us: 100.0,
            timer_cost_ns: 25.0,
        },
    }
}

/// This process's pool workers still in /proc, zombies included.
fn live_workers() -> Vec<procfs::ProcessEntry> {
    procfs::children_of(std::process::id())
        .into_iter()
        .filter(|c| c.cmdline.contains(WORKER_MODE_ARG))
        .collect()
}

fn run(
    pool: &mut ProcessPool,
    tasks: u64,
    sample_every: u64,
    cancel: CancelToken,
) -> Result<TrialRun, TrialFailure> {
    // The process pool rebuilds the workload in each worker; the plan's own is not used.
    let workload: Arc<dyn Workload> = Arc::new(Empty);
    let stop = Arc::new(TrialStop::new(cancel, None));
    pool.run_trial(&TrialPlan {
        workload: &workload,
        max_tasks: tasks,
        sample_every,
        chunk_tasks: 1,
        stop: &stop,
    })
}

#[test]
fn runs_exactly_the_tasks_asked_for_every_chunk_size_and_feeding() {
    let _serial = serial();
    const TASKS: u64 = 1001; // a multiple of no chunk size below
    for feeding in [Feeding::Lazy, Feeding::Eager] {
        for chunk_size in [1, 7, 64, 5000] {
            let mut pool = ProcessPool::with_exe(
                3,
                chunk_size,
                feeding,
                &source(WorkloadSpec::Cpu { compute_us: 1 }),
                exe(),
            )
            .unwrap();
            assert_eq!(pool.worker_pids().len(), 3);
            for trial in 0..2 {
                let run = run(&mut pool, TASKS, 1, CancelToken::new())
                    .unwrap_or_else(|f| panic!("{feeding:?}, chunk {chunk_size}: {f}"));
                let what = format!("{feeding:?}, chunk {chunk_size}, trial {trial}");
                assert_eq!(run.tasks, TASKS, "{what}");
                // Every task timed (sample_every = 1), so one sample per task ran.
                assert_eq!(run.latency_ns.len(), TASKS, "{what}");
                assert!(
                    run.worker_cpu_ns > 0 && run.child_cpu_ns >= run.worker_cpu_ns / 2,
                    "{what}"
                );
            }
            // One task in 10 timed, counted per worker: 10 samples, plus at most one more for
            // each worker whose share was not a multiple of 10.
            let sampled = run(&mut pool, 100, 10, CancelToken::new()).unwrap();
            assert_eq!(sampled.tasks, 100);
            assert!(
                (10..=13).contains(&sampled.latency_ns.len()),
                "{}",
                sampled.latency_ns.len()
            );
            drop(pool);
            assert!(live_workers().is_empty(), "{:?}", live_workers());
        }
    }
}

#[test]
fn the_workers_peak_memory_counts_each_workers_buffer() {
    let _serial = serial();
    const BUFFER: u64 = 32 << 20;
    let mut pool = ProcessPool::with_exe(
        2,
        1,
        Feeding::Lazy,
        &source(WorkloadSpec::Memory {
            buffer_kib: BUFFER >> 10,
            passes: 1,
        }),
        exe(),
    )
    .unwrap();
    // Lazy feeding hands each worker chunks from the start, so both touch their buffer.
    let run = run(&mut pool, 8, 1, CancelToken::new()).unwrap();
    let workers = run
        .child_peak_rss_bytes
        .expect("a process pool reports its workers' memory");
    // Each buffer is resident in its own worker, plus a few MiB of program per worker.
    assert!(
        (2 * BUFFER..2 * BUFFER + (32 << 20)).contains(&workers),
        "{workers} bytes for two workers of {BUFFER}-byte buffers"
    );
}

/// Runs a long trial on its own thread (where the pool is built and dropped, as the sweep
/// does), hands the worker pids out, and returns what the trial returned.
fn long_trial_with(
    on_pids: impl FnOnce(Vec<u32>, CancelToken) + Send + 'static,
) -> Result<TrialRun, TrialFailure> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let cancel = CancelToken::new();
    let trial_cancel = cancel.clone();
    let (pids_tx, pids_rx) = crossbeam_channel::bounded(1);
    std::thread::Builder::new()
        .name("pooltune-test-trial".into())
        .spawn(move || {
            let mut pool = ProcessPool::with_exe(
                2,
                4,
                Feeding::Lazy,
                &source(WorkloadSpec::Cpu { compute_us: 200 }),
                exe(),
            )
            .expect("the pool starts");
            pids_tx.send(pool.worker_pids()).expect("the test waits for the pids");
            // 1 000 000 tasks of 200 µs: minutes of work, so whatever ends it early is the test.
            let first = run(&mut pool, 1_000_000, 1, trial_cancel.clone());
            // A pool that failed is unusable, and says so.
            if first.is_err() {
                let again = run(&mut pool, 10, 1, trial_cancel);
                assert!(
                    matches!(&again, Err(TrialFailure::Failed(m)) if m.contains("cannot run trials any more")),
                    "{again:?}"
                );
            }
            tx.send(first).expect("the test waits for the result");
        })
        .expect("the trial thread starts");
    let pids = pids_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the pool started");
    on_pids(pids, cancel);
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the trial hung instead of failing")
}

fn kill(pid: u32, signal: i32) {
    // SAFETY: kill with a pid this test started and a valid signal number.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, signal) }, 0);
}

#[test]
fn a_killed_worker_fails_the_trial_and_no_worker_is_left() {
    let _serial = serial();
    for (signal, words) in [
        (libc::SIGKILL, "killed by signal 9 (SIGKILL)"),
        // Not SIGSEGV: Rust's stack-overflow handler survives one sent by kill().
        (libc::SIGABRT, "SIGABRT, an abort"),
    ] {
        let result = long_trial_with(move |pids, _| {
            std::thread::sleep(Duration::from_millis(300));
            kill(pids[1], signal);
        });
        let Err(TrialFailure::Failed(message)) = result else {
            panic!("expected a failure, got {result:?}");
        };
        assert!(message.contains("worker process 1"), "{message}");
        assert!(message.contains(words), "{message}");
        assert!(live_workers().is_empty(), "{:?}", live_workers());
    }
}

#[test]
fn stop_ends_every_worker_at_once() {
    let _serial = serial();
    let result = long_trial_with(|pids, cancel| {
        std::thread::sleep(Duration::from_millis(300));
        let running = live_workers();
        assert!(
            pids.iter().all(|pid| running.iter().any(|w| w.pid == *pid)),
            "{pids:?} not among {running:?}"
        );
        cancel.cancel();
    });
    assert!(matches!(result, Err(TrialFailure::Cancelled)), "{result:?}");
    assert!(live_workers().is_empty(), "{:?}", live_workers());
}

#[test]
fn a_worker_that_crashes_while_starting_fails_the_pool_with_its_last_words() {
    let _serial = serial();
    // A "worker" that says something on stderr and exits 101, as a panicking Rust program does.
    let dir = tempfile::tempdir().unwrap();
    let crashing = dir.path().join("crashing-worker");
    std::fs::write(
        &crashing,
        "#!/bin/sh\necho 'thread main panicked: simulated crash' >&2\nexit 101\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &crashing,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let spec = WorkloadSpec::Cpu { compute_us: 1 };
    let err = ProcessPool::with_exe(2, 1, Feeding::Lazy, &source(spec), &crashing)
        .err()
        .expect("the workers cannot start");
    assert!(err.contains("before it was ready"), "{err}");
    assert!(err.contains("exited with code 101"), "{err}");
    assert!(err.contains("its last output"), "{err}");
    assert!(err.contains("simulated crash"), "{err}");
    assert!(live_workers().is_empty(), "{:?}", live_workers());
}

#[test]
fn a_workload_a_worker_cannot_prepare_fails_the_pool_with_the_reason() {
    let _serial = serial();
    // Files of 2^64 - 1 bytes fit on no disk: each worker refuses to build the workload.
    let spec = WorkloadSpec::FileIo {
        bytes: u64::MAX,
        fsync: false,
    };
    let err = ProcessPool::with_exe(2, 1, Feeding::Lazy, &source(spec), exe())
        .err()
        .expect("the workers cannot start");
    assert!(err.contains("could not prepare the workload"), "{err}");
    assert!(err.contains("`workload.bytes`"), "{err}");
    assert!(live_workers().is_empty(), "{:?}", live_workers());
}

#[test]
fn an_executable_that_is_not_pooltune_is_named() {
    let _serial = serial();
    let err = ProcessPool::with_exe(
        1,
        1,
        Feeding::Lazy,
        &source(WorkloadSpec::Cpu { compute_us: 1 }),
        Path::new("/bin/true"),
    )
    .err()
    .expect("/bin/true is no worker");
    assert!(
        err.contains("/bin/true") && err.contains("POOLTUNE_EXE"),
        "{err}"
    );
}

/// Every worker process anywhere on the machine that was started by `parent`, even one that
/// outlived it (its command line names its parent).
fn workers_started_by(parent: u32) -> Vec<procfs::ProcessEntry> {
    let mark = format!("{WORKER_MODE_ARG} pool {parent}");
    procfs::all_processes()
        .into_iter()
        .filter(|p| p.cmdline.ends_with(&mark))
        .collect()
}

#[test]
fn a_sweep_whose_worker_is_killed_fails_that_point_and_goes_on() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let preset = dir.path().join("p.toml");
    std::fs::write(
        &preset,
        "schema_version = 1\nname = \"kill\"\n[workload]\nkind = \"cpu\"\ncompute_us = 200\n\
         [pool]\nkind = \"process\"\nchunk_size = 4\n\
         [sweep]\nthreads = [2, 1]\ntrials = 3\ntrial_ms = 1000\nwarmup_ms = 0\n",
    )
    .expect("the preset is written");
    let mut sweep = std::process::Command::new(exe())
        .args(["sweep", "--format", "json", "--preset"])
        .arg(&preset)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("pooltune starts");
    let pid = sweep.id();
    let started = std::time::Instant::now();
    let workers = loop {
        let found = workers_started_by(pid);
        if found.len() == 2 {
            break found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no workers: {found:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(200));
    kill(workers[0].pid, libc::SIGKILL);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while sweep.try_wait().expect("waitable").is_none() {
        assert!(std::time::Instant::now() < deadline, "the sweep hung");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = sweep.wait_with_output().expect("the output");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let points = json["points"].as_array().expect("points");
    assert_eq!(points.len(), 2);
    let error = points[0]["error"]
        .as_str()
        .expect("the 2-process point failed");
    assert!(error.contains("killed by signal 9"), "{error}");
    assert!(points[1]["error"].is_null(), "{}", points[1]["error"]);
    assert!(
        points[1]["throughput_per_s"]
            .as_f64()
            .is_some_and(|t| t > 0.0)
    );
    assert!(
        workers_started_by(pid).is_empty(),
        "{:?}",
        workers_started_by(pid)
    );
}
