//! Results made up for the exporters' tests: a comparison of two series (one never ran) and a
//! worker-cost result, on a fixed machine so that their bytes do not depend on the host.

use crate::cost::{CostResult, SwitchCost, WorkerCost, WorkerKind};
use crate::machine::MachineInfo;
use crate::result::comparison::{ComparisonResult, SeriesResult};
use crate::result::{Calibration, Point};
use crate::spec::{self, SeriesKind};

/// A run that started at the epoch and took one second, not stopped, with no warnings.
pub(crate) fn one_second_run() -> crate::engine::RunOutcome {
    crate::engine::RunOutcome {
        duration_s: 1.0,
        ..crate::engine::RunOutcome::started_at(0)
    }
}

/// A machine with 2 usable CPUs, 2 physical and 4 logical, 1 GiB.
pub(crate) fn machine() -> MachineInfo {
    MachineInfo {
        host_name: "test-host".into(),
        logical_cpus: 4,
        physical_cpus: 2,
        usable_cpus: 2,
        total_memory_bytes: 1 << 30,
        available_memory_bytes: 1 << 30,
        cpu_brand: "test CPU".into(),
        os: "test OS".into(),
        pooltune_version: "0.0.0".into(),
    }
}

fn point(threads: usize, throughput: f64) -> Point {
    let mut p = Point::failed(threads, "");
    p.error = None;
    p.trials = 3;
    p.throughput_per_s = throughput;
    p
}

/// The shipped `compare-gil-cpu` comparison: Rust at 1 and 2 threads (500 and 1000 tasks/s),
/// and a Python threads series that was not run (no `python3`).
pub(crate) fn comparison() -> ComparisonResult {
    let text =
        std::fs::read_to_string(crate::spec::shipped_presets_dir().join("compare-gil-cpu.toml"))
            .unwrap();
    let preset = spec::parse_comparison(&text, std::path::Path::new("c.toml")).unwrap();
    ComparisonResult {
        machine: machine(),
        preset,
        calibration: Calibration {
            spin_units_per_us: 100.0,
            timer_cost_ns: 20.0,
        },
        thread_counts: vec![1, 2],
        series: vec![
            SeriesResult {
                label: "Rust".into(),
                kind: SeriesKind::Rust,
                interpreter: None,
                points: vec![point(1, 500.0), point(2, 1000.0)],
                error: None,
            },
            SeriesResult {
                label: "Python threads".into(),
                kind: SeriesKind::PythonThreads,
                interpreter: None,
                points: Vec::new(),
                error: Some("not run: no `python3` on PATH".into()),
            },
        ],
        outcome: crate::export::fixtures::one_second_run(),
    }
}

/// Ten Rust threads, ten Rust processes that failed (no exe), ten Python threads and ten
/// Python processes started with `fork`.
pub(crate) fn cost() -> CostResult {
    let thread = WorkerCost {
        workers: 10,
        start_method: None,
        start_latency_p50_us: 40.0,
        start_latency_p99_us: 90.0,
        rss_per_worker_bytes: 12_288.0,
        pss_per_worker_bytes: None,
        virtual_per_worker_bytes: 2_101_248.0,
        stop_ms: 0.4,
        stacks_reused: None,
        memory_unreliable: None,
        error: None,
    };
    let mut fork = thread.clone();
    fork.start_method = Some("fork".into());
    fork.pss_per_worker_bytes = Some(4096.0);
    CostResult {
        machine: machine(),
        thread_stack_bytes: 2 << 20,
        threads: vec![thread.clone()],
        processes: vec![WorkerCost::failed(10, "no exe")],
        python: None,
        python_threads: vec![thread],
        python_processes: vec![fork],
        python_error: None,
        tokio_tasks: Vec::new(),
        python_asyncio_tasks: Vec::new(),
        python_generators: Vec::new(),
        python_greenlets: Vec::new(),
        // One measured ping-pong and one that failed: every export shows both.
        switches: vec![
            SwitchCost::measured(
                WorkerKind::RustThread,
                20_000,
                std::time::Duration::from_millis(200),
            ),
            SwitchCost::failed(WorkerKind::PythonAsyncioTask, "python3 not found"),
        ],
        outcome: crate::export::fixtures::one_second_run(),
    }
}
