//! Byte-for-byte checks of every exporter against fixed results: the files under
//! `tests/fixtures/export/` were written by the exporters before they shared one trait, so a
//! refactor that changes one byte of any format fails here. Set `POOLTUNE_BLESS=1` to rewrite
//! them after a change to a format that is meant.

use std::path::PathBuf;

use super::{Format, fixtures};
use crate::cost::CostResult;
use crate::model::fixtures::{WEB, result, web_points};
use crate::result::Point;
use crate::result::comparison::{ComparisonResult, SeriesResult};
use crate::spec::SeriesKind;

fn sweep() -> crate::result::SweepResult {
    let mut points = web_points();
    points.push(Point::failed(
        48,
        "worker process 1 (pid 42) was killed by signal 9",
    ));
    let mut sweep = result(points, WEB);
    sweep.outcome.warnings = vec!["another process was busy".into()];
    sweep
}

/// The two-series comparison of the format tests, with a third series, a failed one with
/// points, and a stop.
fn comparison() -> ComparisonResult {
    let mut comparison = fixtures::comparison();
    let mut python = web_points();
    python.truncate(2);
    python[1].threads = 2;
    python[1].throughput_per_s = 150.0;
    let failed = comparison.series[1].clone();
    comparison.series[1] = SeriesResult {
        label: "Python processes".into(),
        kind: SeriesKind::PythonProcesses,
        points: python,
        error: Some("python3 (pid 7) made no progress for 3 s (stopped or stuck)".into()),
        ..failed.clone()
    };
    comparison.series.push(failed);
    comparison.thread_counts = vec![1, 2, 4];
    comparison.outcome.cancelled = true;
    comparison.outcome.warnings = vec!["the machine was busy".into()];
    comparison
}

/// The worker-cost result of the format tests, with Python's error and a stop.
fn cost() -> CostResult {
    let mut cost = fixtures::cost();
    cost.threads[0].stacks_reused = Some(3);
    cost.threads[0].start_latency_p99_us = 90.5;
    cost.python_error = Some("python3: the script's output ended before its `end` line".into());
    cost.outcome.cancelled = true;
    cost
}

fn extension(format: Format) -> &'static str {
    match format {
        Format::Table => "txt",
        Format::Markdown => "md",
        Format::Code => "code.txt",
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
        let bytes = super::export(&sweep(), format).unwrap();
        check(&format!("sweep.{}", extension(format)), &bytes);
    }
}

#[test]
fn comparison_output_is_byte_for_byte_unchanged() {
    for format in FORMATS {
        let bytes = super::export(&comparison(), format).unwrap();
        check(&format!("comparison.{}", extension(format)), &bytes);
    }
}

#[test]
fn cost_output_is_byte_for_byte_unchanged() {
    for format in FORMATS {
        let bytes = super::export(&cost(), format).unwrap();
        check(&format!("cost.{}", extension(format)), &bytes);
    }
}

#[test]
fn code_output_is_byte_for_byte_unchanged() {
    let sweep_code = super::export(&sweep(), Format::Code).unwrap();
    check(&format!("sweep.{}", extension(Format::Code)), &sweep_code);
    let comparison_code = super::export(&comparison(), Format::Code).unwrap();
    check(
        &format!("comparison.{}", extension(Format::Code)),
        &comparison_code,
    );
}
