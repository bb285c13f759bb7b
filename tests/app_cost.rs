//! The app's "Worker cost" tab driven as a user would, through its labelled widgets (no GPU,
//! no display): the figures reach the table and the plot series as they are measured, Stop
//! in the middle of a run leaves no worker process behind, and a Python that fails is said
//! plainly.
//!
//! The tests count this process's children, so they run one at a time.

#![cfg(feature = "gui")] // the app is built only with the gui feature

mod common;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use common::{export_json_and_csv, restart, retype, wait_for};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use pooltune::app::{AppOptions, PooltuneApp};
use pooltune::cost::WorkerKind;
use pooltune::platform::procfs;
use pooltune::ui::cost::{self as cost_ui, CostDraft, Metric, PythonMode};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

/// The app without the monitor thread, on the "Worker cost" tab, its worker processes
/// started from the built `pooltune` binary (this test's own executable has no worker mode).
fn app_on_cost_tab() -> Harness<'static, PooltuneApp> {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 1000.0))
        .build_eframe(|cc| {
            PooltuneApp::new(
                cc,
                AppOptions {
                    live_readings: false,
                    ..AppOptions::default()
                },
            )
        });
    harness.state_mut().cost_mut().draft.exe = Some(env!("CARGO_BIN_EXE_pooltune").into());
    harness.get_by_label("Worker cost").click();
    harness.run_ok();
    harness
}

/// This process's children that are still in /proc, zombies included.
fn children() -> Vec<procfs::ProcessEntry> {
    procfs::children_of(std::process::id())
}

#[test]
fn measured_costs_reach_the_table_and_the_plots() {
    let _serial = serial();
    let mut harness = app_on_cost_tab();
    retype(&mut harness, "Threads to start", "1, 4");
    retype(&mut harness, "Processes to start", "1");
    retype(&mut harness, "Tasks to start", "1000");
    retype(&mut harness, "Switch round trips", "1000");
    harness.get_by_label("off").click();
    harness.run_ok();
    let spec = harness.state().cost().draft.checked().unwrap();
    assert_eq!((spec.threads, spec.processes), (vec![1, 4], vec![1]));

    harness.get_by_label("Measure").click();
    harness.run_ok();
    assert!(harness.state().cost().is_running());
    wait_for(
        &mut harness,
        "the run to finish",
        Duration::from_secs(180),
        |app| !app.cost().is_running(),
    );

    let tab = harness.state().cost();
    assert_eq!(tab.error, None);
    let kinds: Vec<(WorkerKind, usize)> =
        tab.measured.iter().map(|(k, c)| (*k, c.workers)).collect();
    assert_eq!(
        kinds,
        [
            (WorkerKind::RustThread, 1),
            (WorkerKind::RustThread, 4),
            (WorkerKind::TokioTask, 1000),
            (WorkerKind::RustProcess, 1)
        ]
    );
    let result = tab.result.as_ref().expect("the finished result");
    assert!(!result.outcome.cancelled);
    assert!(result.python_threads.is_empty() && result.python_processes.is_empty());
    // What arrived live is what the result holds.
    assert_eq!(
        result.threads,
        [tab.measured[0].1.clone(), tab.measured[1].1.clone()]
    );
    assert_eq!(result.tokio_tasks, [tab.measured[2].1.clone()]);
    assert_eq!(result.processes, [tab.measured[3].1.clone()]);
    // One ping-pong per Rust kind, every round trip made.
    let switched: Vec<(WorkerKind, usize)> = result
        .switches
        .iter()
        .map(|s| (s.kind, s.round_trips))
        .collect();
    assert_eq!(
        switched,
        [
            (WorkerKind::RustThread, 1000),
            (WorkerKind::TokioTask, 1000)
        ]
    );

    // Every row reached the table, as the table formats it.
    for (kind, cost) in &tab.measured {
        assert_eq!(cost.error, None, "{cost:?}");
        let row = cost_ui::table_row(*kind, cost);
        for cell in [&row[0], &row[2], &row[4]] {
            assert!(
                harness.query_all_by_label(cell).next().is_some(),
                "no table cell reads {cell}"
            );
        }
    }
    // And the plots: threads and processes side by side, PSS for processes only.
    let memory = cost_ui::series(&tab.measured, &[Metric::Rss, Metric::Pss]);
    let process_pss = memory
        .iter()
        .find(|s| s.name == "Rust processes PSS")
        .expect("a PSS series for processes");
    assert_eq!(
        process_pss.points,
        [[1.0, result.processes[0].pss_per_worker_bytes.unwrap()]]
    );
    assert!(memory.iter().any(|s| s.name == "Rust processes RSS"));
    assert!(!memory.iter().any(|s| s.name == "Rust threads PSS"));
    let latency = cost_ui::series(&tab.measured, &[Metric::StartP50, Metric::StartP99]);
    let thread_p50 = latency
        .iter()
        .find(|s| s.name == "Rust threads p50")
        .expect("a p50 series for threads");
    assert_eq!(
        thread_p50.points,
        [
            [1.0, result.threads[0].start_latency_p50_us],
            [4.0, result.threads[1].start_latency_p50_us]
        ]
    );
    assert!(children().is_empty(), "left behind: {:?}", children());

    // Export, in the formats of `pooltune cost --format json|csv`, where the field says.
    let result = result.clone();
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("cost");
    let (json, csv) = export_json_and_csv(&mut harness, &base);
    let workers = |key: &str| -> Vec<u64> {
        json[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}[] in {json}"))
            .iter()
            .map(|entry| entry["workers"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(workers("threads"), [1, 4]);
    assert_eq!(workers("processes"), [1]);
    assert_eq!(workers("tokio_tasks"), [1000]);
    assert_eq!(json["switches"].as_array().map(Vec::len), Some(2));
    let pss = json["processes"][0]["pss_per_worker_bytes"]
        .as_f64()
        .unwrap();
    let kept = result.processes[0].pss_per_worker_bytes.unwrap();
    assert!(
        (pss - kept).abs() <= 1e-9 * kept,
        "{pss} written, {kept} measured"
    );
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(pooltune::export::COST_CSV_COLUMNS.join(",").as_str())
    );
    // Two threads, one tokio task row, one process, and the two ping-pongs.
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(rows[4].starts_with("rust_thread,,,"), "{}", rows[4]);
    assert!(rows[5].starts_with("tokio_task,,,"), "{}", rows[5]);
}

#[test]
fn the_inputs_are_remembered_across_restarts() {
    let mut harness = app_on_cost_tab();
    retype(&mut harness, "Threads to start", "2, 20");
    retype(&mut harness, "Processes to start", "3");
    retype(&mut harness, "Stack (KiB)", "256");
    harness.get_by_label("off").click();
    harness.run_ok();
    retype(&mut harness, "Export to", "/tmp/my-costs");
    let typed = harness.state().cost().draft.clone();

    let restored = restart(&mut harness);
    let tab = restored.state().cost();
    // Everything typed comes back; the worker executable is the test's own, not remembered.
    assert_eq!(tab.draft, CostDraft { exe: None, ..typed });
    assert_eq!(tab.draft.threads_text, "2, 20");
    assert_eq!(tab.draft.python, PythonMode::Off);
    assert_eq!(tab.export_path, "/tmp/my-costs");
    assert_eq!(restored.state().persisted().tab, pooltune::app::TabId::Cost);
}

#[test]
fn stop_mid_run_leaves_no_worker_process() {
    let _serial = serial();
    let mut harness = app_on_cost_tab();
    retype(&mut harness, "Threads to start", "");
    // Hundreds of processes: seconds of work on any machine, so Stop lands mid-run.
    retype(&mut harness, "Processes to start", "1, 128, 256, 512");
    harness.get_by_label("off").click();
    harness.run_ok();
    harness.get_by_label("Measure").click();
    harness.run_ok();

    // Wait until worker processes are alive, then stop.
    wait_for(
        &mut harness,
        "worker processes to be alive",
        Duration::from_secs(180),
        |app| {
            !app.cost().is_running()
                || children()
                    .iter()
                    .any(|c| c.cmdline.contains("__pooltune-worker") && c.state != 'Z')
        },
    );
    assert!(
        harness.state().cost().is_running(),
        "the run ended before Stop"
    );
    harness.get_by_label("Stop measuring").click();
    harness.run_ok();
    wait_for(
        &mut harness,
        "the run to stop",
        Duration::from_secs(180),
        |app| !app.cost().is_running(),
    );

    let tab = harness.state().cost();
    let result = tab.result.as_ref().expect("a stopped run keeps its result");
    assert!(result.outcome.cancelled);
    assert!(result.processes.len() < 4, "{:?}", result.processes);
    assert!(children().is_empty(), "left behind: {:?}", children());
    // Measure is back.
    assert!(
        !harness
            .get_by_label("Measure")
            .accesskit_node()
            .is_disabled()
    );
}

#[test]
fn invalid_inputs_disable_measure_and_a_failing_python_is_said_plainly() {
    let _serial = serial();
    let mut harness = app_on_cost_tab();
    retype(&mut harness, "Stack (KiB)", "4");
    assert!(
        harness
            .get_by_label("Measure")
            .accesskit_node()
            .is_disabled()
    );
    harness.get_by_label_contains("Cannot run: `stack_kib`");
    retype(&mut harness, "Stack (KiB)", "");

    // A Python path that does not exist is refused before running ...
    harness.get_by_label("path:").click();
    harness.run_ok();
    retype(&mut harness, "Python path", "/no/such/python3");
    assert!(
        harness
            .get_by_label("Measure")
            .accesskit_node()
            .is_disabled()
    );
    harness.get_by_label_contains("Cannot run: `python`");

    // ... and one that is not a Python fails its part of the run, said in words.
    retype(&mut harness, "Python path", "/bin/false");
    retype(&mut harness, "Threads to start", "1");
    retype(&mut harness, "Processes to start", "");
    retype(&mut harness, "Tasks to start", "");
    harness.get_by_label("Measure").click();
    harness.run_ok();
    wait_for(
        &mut harness,
        "the run to finish",
        Duration::from_secs(180),
        |app| !app.cost().is_running(),
    );
    let python_error = harness
        .state()
        .cost()
        .python_error()
        .expect("python_error is set")
        .to_owned();
    harness.get_by_label(&format!("No Python figures: {python_error}"));
    // The Rust figures are there all the same.
    assert_eq!(harness.state().cost().measured.len(), 1);
}
