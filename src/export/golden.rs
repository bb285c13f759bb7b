//! Byte-for-byte checks of every exporter against fixed results: the files under
//! `tests/fixtures/export/` were written by the exporters before they shared one trait, so a
//! refactor that changes one byte of any format fails here. Set `POOLTUNE_BLESS=1` to rewrite
//! them after a change to a format that is meant. The text tables there are the full-width
//! ones (`--wide`, a file); the same results fitted to a terminal's width are checked here
//! by what a reader needs (every line within the width, the essential columns).

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
    cost.switches = vec![
        crate::cost::SwitchCost::measured(
            crate::cost::WorkerKind::TokioTask,
            100_000,
            std::time::Duration::from_millis(40),
        ),
        crate::cost::SwitchCost::failed(crate::cost::WorkerKind::RustThread, "no thread started"),
    ];
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

const FORMATS: [Format; 4] = [Format::Table, Format::Json, Format::Csv, Format::Markdown];

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

/// The text table of `result` fitted to `width` columns.
fn fitted<R>(result: &R, width: usize) -> String
where
    super::TableExporter: super::Exporter<R>,
{
    let exporter = super::TableExporter {
        width: Some(width),
        ..Default::default()
    };
    String::from_utf8(super::Exporter::export(&exporter, result).unwrap()).unwrap()
}

/// Every line of `text` within `width` characters.
fn assert_within(text: &str, width: usize) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= width,
            "{} > {width}: {line:?} in\n{text}",
            line.chars().count()
        );
    }
}

/// The line of `text` that starts (after spaces) with `first_cell`: a table's header.
fn header_line<'a>(text: &'a str, first_cell: &str) -> &'a str {
    text.lines()
        .find(|l| l.trim_start().starts_with(first_cell))
        .unwrap_or_else(|| panic!("no header starting {first_cell:?} in\n{text}"))
}

#[test]
fn a_sweep_fitted_to_80_columns_keeps_the_essential_ones() {
    let full = String::from_utf8(super::export(&sweep(), Format::Table).unwrap()).unwrap();
    assert!(
        full.lines().map(|l| l.chars().count()).max().unwrap() > 80,
        "the full table is wider than 80, or this test proves nothing"
    );
    let text = fitted(&sweep(), 80);
    assert_within(&text, 80);
    let header = header_line(&text, "threads");
    for column in ["threads", "tasks/s", "±95%", "p50 µs", "p99 µs", "cpu util"] {
        assert!(header.contains(column), "{column}: {header}");
    }
    for dropped in ["invol csw", "vol csw", "wall/task µs"] {
        assert!(!header.contains(dropped), "{dropped}: {header}");
    }
    assert!(text.contains("hidden to fit 80 columns: p95 µs,"), "{text}");
    assert!(text.contains("--wide shows every column"), "{text}");
    // The failed point's reason, wrapped under its message, and the whole recommendation.
    assert!(
        text.contains("\n48  failed: worker process 1 (pid 42)"),
        "{text}"
    );
    assert!(text.contains("\nrecommendation: Warning: another process was busy."));
    assert!(text.contains("\n  formula: N = N_cpu × U × (1 + W/C) = 2 × 1.00"));
    // Every point is still there, one line each.
    for threads in ["1", "2", "4", "24"] {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(threads)),
            "{threads}: {text}"
        );
    }
}

#[test]
fn a_wider_terminal_shows_more_columns_and_full_width_all() {
    let columns = |text: &str| {
        header_line(text, "threads")
            .split("  ")
            .filter(|c| !c.is_empty())
            .count()
    };
    let narrow = columns(&fitted(&sweep(), 80));
    let wide = columns(&fitted(&sweep(), 120));
    let full = String::from_utf8(super::export(&sweep(), Format::Table).unwrap()).unwrap();
    assert!(narrow < wide, "{narrow} columns at 80, {wide} at 120");
    assert_within(&fitted(&sweep(), 120), 120);
    assert_eq!(columns(&full), 14);
    // A terminal wide enough for everything gets the full table's rows and columns.
    let roomy = fitted(&sweep(), 400);
    assert_eq!(columns(&roomy), 14);
    assert!(!roomy.contains("hidden to fit"), "{roomy}");
}

#[test]
fn a_comparison_fitted_to_80_columns_keeps_speedup_and_efficiency() {
    let text = fitted(&comparison(), 80);
    assert_within(&text, 80);
    let header = header_line(&text, "threads  tasks/s");
    for column in [
        "threads",
        "tasks/s",
        "±95%",
        "speedup",
        "efficiency",
        "p50 µs",
        "p99 µs",
    ] {
        assert!(header.contains(column), "{column}: {header}");
    }
    assert!(text.contains("speedup X(N)/X(1) by series:"), "{text}");
    assert!(
        text.contains("(stopped before every thread count ran)"),
        "{text}"
    );
}

#[test]
fn a_cost_table_fitted_to_80_columns_keeps_start_and_memory() {
    let text = fitted(&cost(), 80);
    assert_within(&text, 80);
    let header = header_line(&text, "worker");
    for column in ["worker", "method", "N", "start p50 µs", "RSS/worker KiB"] {
        assert!(header.contains(column), "{column}: {header}");
    }
    assert!(!header.contains("virtual/worker KiB"), "{header}");
    assert!(text.contains("Python process  fork"), "{text}");
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
