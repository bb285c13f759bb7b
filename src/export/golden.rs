//! Byte-for-byte checks of every exporter against fixed results: the files under
//! `tests/fixtures/export/` were written by the exporters before they shared one trait, so a
//! refactor that changes one byte of any format fails here. Set `POOLTUNE_BLESS=1` to rewrite
//! them after a change to a format that is meant.

use std::path::PathBuf;

use super::Format;
use crate::compare::result::{ComparisonResult, SeriesResult};
use crate::compare::spec::{self, SeriesKind};
use crate::cost::{CostResult, WorkerCost};
use crate::machine::MachineInfo;
use crate::model::fixtures::{WEB, result, web_points};
use crate::result::{Calibration, Point};

fn machine() -> MachineInfo {
    MachineInfo {
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

fn sweep() -> crate::result::SweepResult {
    let mut points = web_points();
    points.push(Point::failed(
        48,
        "worker process 1 (pid 42) was killed by signal 9",
    ));
    let mut sweep = result(points, WEB);
    sweep.warnings = vec!["another process was busy".into()];
    sweep
}

fn comparison() -> ComparisonResult {
    let text =
        std::fs::read_to_string(crate::preset::shipped_presets_dir().join("compare-gil-cpu.toml"))
            .unwrap();
    let preset = spec::parse(&text, std::path::Path::new("c.toml")).unwrap();
    let mut points = web_points();
    points.truncate(3);
    let mut python = web_points();
    python.truncate(2);
    python[1].threads = 4;
    ComparisonResult {
        machine: machine(),
        preset,
        calibration: Calibration {
            spin_units_per_us: 100.0,
            timer_cost_ns: 20.0,
        },
        thread_counts: vec![1, 2, 4],
        series: vec![
            SeriesResult {
                label: "Rust".into(),
                kind: SeriesKind::Rust,
                interpreter: None,
                points,
                error: None,
            },
            SeriesResult {
                label: "Python threads".into(),
                kind: SeriesKind::PythonThreads,
                interpreter: None,
                points: python,
                error: Some("python3 (pid 7) made no progress for 3 s (stopped or stuck)".into()),
            },
            SeriesResult {
                label: "Python processes".into(),
                kind: SeriesKind::PythonProcesses,
                interpreter: None,
                points: Vec::new(),
                error: Some("not run: no `python3` on PATH".into()),
            },
        ],
        cancelled: true,
        started_unix_s: 1_700_000_000,
        duration_s: 12.5,
        warnings: vec!["the machine was busy".into()],
    }
}

fn cost() -> CostResult {
    let thread = WorkerCost {
        workers: 10,
        start_method: None,
        start_latency_p50_us: 40.0,
        start_latency_p99_us: 90.5,
        rss_per_worker_bytes: 12_288.0,
        pss_per_worker_bytes: None,
        virtual_per_worker_bytes: 2_101_248.0,
        stop_ms: 0.4,
        stacks_reused: Some(3),
        memory_unreliable: None,
        error: None,
    };
    let mut fork = thread.clone();
    fork.start_method = Some("fork".into());
    fork.pss_per_worker_bytes = Some(4096.0);
    fork.stacks_reused = None;
    CostResult {
        machine: machine(),
        thread_stack_bytes: 2 << 20,
        threads: vec![thread.clone()],
        processes: vec![WorkerCost::failed(10, "no exe")],
        python: None,
        python_threads: vec![thread],
        python_processes: vec![fork],
        python_error: Some("python3: the script's output ended before its `end` line".into()),
        cancelled: true,
        started_unix_s: 1_700_000_000,
        duration_s: 1.5,
        warnings: Vec::new(),
    }
}

fn extension(format: Format) -> &'static str {
    match format {
        Format::Table => "txt",
        Format::Json => "json",
        Format::Csv => "csv",
    }
}

/// Compares `bytes` with the fixture `name`, or writes it when blessing.
fn check(name: &str, bytes: &[u8]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/export")
        .join(name);
    if std::env::var_os("POOLTUNE_BLESS").is_some() {
        std::fs::write(&path, bytes).unwrap();
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    assert!(
        expected == bytes,
        "{name} differs from its fixture:\n--- expected\n{}\n--- got\n{}",
        String::from_utf8_lossy(&expected),
        String::from_utf8_lossy(bytes)
    );
}

const FORMATS: [Format; 3] = [Format::Table, Format::Json, Format::Csv];

#[test]
fn sweep_output_is_byte_for_byte_unchanged() {
    for format in FORMATS {
        let bytes = super::exporter(format).export(&sweep()).unwrap();
        check(&format!("sweep.{}", extension(format)), &bytes);
    }
}

#[test]
fn comparison_output_is_byte_for_byte_unchanged() {
    for format in FORMATS {
        let bytes = crate::compare::export::export(&comparison(), format).unwrap();
        check(&format!("comparison.{}", extension(format)), &bytes);
    }
}

#[test]
fn cost_output_is_byte_for_byte_unchanged() {
    for format in FORMATS {
        let bytes = crate::cost::export(&cost(), format).unwrap();
        check(&format!("cost.{}", extension(format)), &bytes);
    }
}
