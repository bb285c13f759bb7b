//! The worker-cost experiment: processes really start and stop (counted from /proc), no worker
//! outlives the experiment (Rust's or Python's), Stop ends it at once, and `pooltune cost`
//! writes the documented JSON, CSV and errors.
//!
//! The tests in this file count this process's children, so they run one at a time.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use pooltune::cancel::CancelToken;
use pooltune::cost::{self, CostSpec, Event, IdleProcesses, PythonChoice, WorkerKind};
use pooltune::platform::procfs;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_pooltune"))
}

/// Every process this test process started that is still in /proc, zombies included.
fn children() -> Vec<procfs::ProcessEntry> {
    procfs::children_of(std::process::id())
}

/// Every descendant, children of children included (Python's workers are its children).
fn descendants() -> Vec<procfs::ProcessEntry> {
    let mut found = children();
    let mut i = 0;
    while i < found.len() {
        let more = procfs::children_of(found[i].pid);
        found.extend(more);
        i += 1;
    }
    found
}

#[test]
fn idle_processes_really_start_and_stop() {
    let _serial = serial();
    let idle = IdleProcesses::start(4, exe());
    let pids = idle.pids();
    assert_eq!(pids.len(), 4);
    let alive: Vec<u32> = children()
        .into_iter()
        .filter(|c| c.cmdline.contains("__pooltune-worker idle") && c.state != 'Z')
        .map(|c| c.pid)
        .collect();
    for pid in &pids {
        assert!(alive.contains(pid), "{pid} not alive among {alive:?}");
    }
    let cost = idle.measure_and_stop();
    assert_eq!(cost.error, None);
    assert_eq!(cost.workers, 4);
    assert!(children().is_empty(), "left behind: {:?}", children());
    let pss = cost.pss_per_worker_bytes.unwrap();
    assert!(
        pss > 0.0 && pss <= cost.rss_per_worker_bytes,
        "pss {pss}, rss {}",
        cost.rss_per_worker_bytes
    );
    assert!(cost.virtual_per_worker_bytes >= cost.rss_per_worker_bytes);
    assert!(
        cost.start_latency_p99_us >= cost.start_latency_p50_us && cost.start_latency_p50_us > 0.0
    );
}

#[test]
fn an_executable_that_is_not_pooltune_is_an_error_not_a_hang() {
    let _serial = serial();
    let cost = cost::measure_processes(2, Path::new("/bin/echo"));
    let error = cost.error.expect("echo is no idle worker");
    assert!(
        error.contains("/bin/echo") && error.contains("POOLTUNE_EXE"),
        "{error}"
    );
    assert!(children().is_empty(), "left behind: {:?}", children());
}

fn spec(python: PythonChoice) -> CostSpec {
    CostSpec {
        threads: vec![1, 5],
        processes: vec![1, 3],
        tasks: vec![],
        switch_round_trips: 0,
        stack_kib: Some(128),
        python,
        exe: Some(exe().to_path_buf()),
    }
}

#[test]
fn a_whole_run_measures_every_count_and_leaves_nothing_behind() {
    let _serial = serial();
    let python = common::python_or_skip();
    let choice = python
        .clone()
        .map_or(PythonChoice::Skip, PythonChoice::Path);
    let mut events = Vec::new();
    let result = cost::run(&spec(choice), &CancelToken::new(), &mut |e| events.push(e)).unwrap();
    assert!(descendants().is_empty(), "left behind: {:?}", descendants());
    let workers = |kind| -> Vec<usize> { result.entries(kind).iter().map(|c| c.workers).collect() };
    assert_eq!(workers(WorkerKind::RustThread), vec![1, 5]);
    assert_eq!(workers(WorkerKind::RustProcess), vec![1, 3]);
    assert_eq!(result.thread_stack_bytes, 128 * 1024);
    for cost in result.threads.iter().chain(&result.processes) {
        assert_eq!(cost.error, None);
    }
    let measured = events
        .iter()
        .filter(|e| matches!(e, Event::Point { .. }))
        .count();
    assert!(matches!(events.last(), Some(Event::Finished(_))));
    let Some(_) = python else {
        assert_eq!(measured, 4);
        return;
    };
    let info = result
        .python
        .as_ref()
        .unwrap_or_else(|| panic!("{:?}", result.python_error));
    assert_eq!(workers(WorkerKind::PythonThread), vec![1, 5]);
    let methods: Vec<&str> = result
        .python_processes
        .iter()
        .map(|c| c.start_method.as_deref().unwrap())
        .collect();
    let mut expected = Vec::new();
    for method in &info.start_methods {
        expected.extend([method.as_str(), method.as_str()]);
    }
    assert_eq!(methods, expected);
    assert!(info.start_methods.iter().any(|m| m == "spawn"), "{info:?}");
    assert_eq!(measured, 4 + 2 + 2 * info.start_methods.len());
}

#[test]
fn stop_ends_a_python_run_and_its_workers_at_once() {
    let _serial = serial();
    let Some(python) = common::python_or_skip() else {
        return; // nothing to stop
    };
    let cancel = CancelToken::new();
    let stopper = cancel.clone();
    let spec = CostSpec {
        threads: vec![],
        processes: vec![30],
        tasks: vec![],
        switch_round_trips: 0,
        stack_kib: None,
        python: PythonChoice::Path(python),
        exe: Some(exe().to_path_buf()),
    };
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::Builder::new()
        .name("pooltune-test-cost".into())
        .spawn(move || {
            let result = cost::run(&spec, &cancel, &mut |event| {
                // Stop as soon as the Rust processes are measured: Python is starting its 30.
                // (A cost run's series are the worker kinds, in WorkerKind::ALL's order.)
                if let Event::Point { series, .. } = event
                    && WorkerKind::of_series(series) == Some(WorkerKind::RustProcess)
                {
                    let stopper = stopper.clone();
                    let _ = std::thread::Builder::new()
                        .name("pooltune-test-stopper".into())
                        .spawn(move || {
                            std::thread::sleep(Duration::from_millis(500));
                            stopper.cancel();
                        });
                }
            });
            tx.send(result).unwrap();
        })
        .unwrap();
    let result = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("a stopped run must end")
        .unwrap();
    assert!(result.outcome.cancelled);
    assert!(
        result.python_processes.len() < 3,
        "{:?}",
        result.python_processes
    );
    assert!(descendants().is_empty(), "left behind: {:?}", descendants());
}

fn pooltune(args: &[&str]) -> std::process::Output {
    Command::new(exe())
        .args(args)
        .output()
        .expect("pooltune runs")
}

#[test]
fn cli_writes_the_documented_json_and_csv() {
    let _serial = serial();
    let out = pooltune(&[
        "cost",
        "--threads",
        "1,4",
        "--processes",
        "1,2",
        "--no-python",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["threads"].as_array().unwrap().len(), 2);
    assert_eq!(json["threads"][1]["workers"], 4);
    assert!(json["threads"][1]["pss_per_worker_bytes"].is_null());
    let process = &json["processes"][1];
    // The CSV's columns between the start method and the error are the JSON's numbers.
    let fields = &pooltune::export::COST_CSV_COLUMNS[2..9];
    assert_eq!(fields.len(), 7);
    for field in fields {
        assert!(process[field].is_number(), "{field}: {process}");
    }
    assert_eq!(json["python_threads"], serde_json::json!([]));
    assert_eq!(json["python_processes"], serde_json::json!([]));

    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("cost.csv");
    let out = pooltune(&[
        "cost",
        "--threads",
        "2",
        "--processes",
        "1",
        "--no-python",
        "--format",
        "csv",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], pooltune::export::COST_CSV_COLUMNS.join(","));
    assert!(lines[1].starts_with("rust_thread,,2,"), "{csv}");
    assert!(lines[2].starts_with("rust_process,,1,"), "{csv}");
}

#[test]
fn cli_bad_arguments_exit_2_and_name_the_flag() {
    let _serial = serial();
    for (args, words) in [
        (vec!["cost", "--threads", "0"], "--threads 0"),
        (vec!["cost", "--processes", "100000"], "--processes 100000"),
        (vec!["cost", "--stack-kib", "1"], "--stack-kib 1"),
        (
            vec!["cost", "--python", "/no/such/python"],
            "/no/such/python",
        ),
    ] {
        let out = pooltune(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(words),
            "{args:?}: {stderr}"
        );
    }
}
