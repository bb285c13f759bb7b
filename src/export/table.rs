//! Text tables for the terminal: the numbers a person reads first. A sweep: one line per
//! point, and under it the model's recommendation with its key numbers. A comparison: a table
//! per series with speedup X(N)/X(1) and efficiency speedup/N, then every series' speedup
//! side by side. A worker-cost run: one line per entry, then Python and the notes.

use std::fmt::Write as _;

use super::{Exporter, number};
use crate::cost::{CostResult, WorkerKind};
use crate::model::{self, ModelOptions, Recommendation};
use crate::result::SweepResult;
use crate::result::comparison::{ComparisonResult, Scaling, SeriesResult};
use crate::spec::{TrialLength, WorkloadSpec};
use crate::trust;

/// Writes an aligned table with a header that says what was run (and, for a sweep, the
/// recommendation).
#[derive(Debug, Clone, Copy, Default)]
pub struct TableExporter {
    /// The options a sweep's recommendation is made with.
    pub model: ModelOptions,
}

impl Exporter<SweepResult> for TableExporter {
    fn export(&self, result: &SweepResult) -> anyhow::Result<Vec<u8>> {
        let mut out = String::new();
        let preset = &result.preset;
        let m = &result.machine;
        // A program that runs its own threads: one trial is one run doing `work_per_run`
        // units, so rates are in its unit and times are per run (a time per byte would
        // round to 0.0).
        let command = match &preset.workload {
            WorkloadSpec::Command(command) => Some(command),
            _ => None,
        };
        match command {
            Some(command) => writeln!(
                out,
                "{}: the program `{}`, on its own threads ({} {} per run)",
                preset.name,
                command.run,
                number(command.work_per_run, 0),
                command.work_unit
            )?,
            None => writeln!(
                out,
                "{}: {} workload on a {} pool",
                preset.name,
                preset.workload.kind_name(),
                preset.pool.kind_name()
            )?,
        }
        writeln!(
            out,
            "machine: {} logical / {} physical CPUs ({} usable), {:.1} GiB",
            m.logical_cpus,
            m.physical_cpus,
            m.usable_cpus,
            m.total_memory_bytes as f64 / (1u64 << 30) as f64
        )?;
        // Process pools add their workers' memory beside pooltune's own.
        let with_workers = result
            .points
            .iter()
            .any(|p| p.workers_peak_rss_bytes.is_some());
        let unit = model::throughput_unit(&preset.workload);
        let rate = format!("{unit}/s");
        let mut header = vec![
            "threads",
            &rate,
            "±95%",
            "p50 µs",
            "p95 µs",
            "p99 µs",
            "cpu/task µs",
            "wall/task µs",
            "W/C",
            "cpu util",
            "peak RSS MiB",
            "vol csw",
            "invol csw",
            "others cpu",
        ];
        const RSS_COLUMN: usize = 10;
        if with_workers {
            header.insert(RSS_COLUMN + 1, "workers RSS MiB");
        }
        if command.is_some() {
            for (column, name) in [
                (2, "run p50 ms"),
                (3, "run p95 ms"),
                (4, "run p99 ms"),
                (5, "cpu/run ms"),
                (6, "wall/run ms"),
            ] {
                header[column + 1] = name;
            }
        }
        // Per run in ms for a command (its latency fields are whole runs' wall times already).
        let (latency_scale, per_task_scale) = match command {
            Some(c) => (1e-3, c.work_per_run * 1e-3),
            None => (1.0, 1.0),
        };
        let mib = |bytes: u64| number(bytes as f64 / (1u64 << 20) as f64, 1);
        let mut rows = header_row(&header);
        for p in &result.points {
            if let Some(error) = &p.error {
                rows.push(vec![p.threads.to_string(), format!("failed: {error}")]);
                continue;
            }
            let mut row = vec![p.threads.to_string()];
            // Rates and times to a tenth, ratios to a hundredth, switch counts whole.
            row.extend(
                [
                    p.throughput_per_s,
                    p.throughput_ci95_per_s,
                    p.latency_p50_us * latency_scale,
                    p.latency_p95_us * latency_scale,
                    p.latency_p99_us * latency_scale,
                    p.cpu_time_per_task_us * per_task_scale,
                    p.wall_time_per_task_us * per_task_scale,
                ]
                .map(|value| number(value, 1)),
            );
            row.extend(
                [p.measured_wait_over_compute(), p.cpu_utilization].map(|value| number(value, 2)),
            );
            row.push(mib(p.peak_rss_bytes));
            row.extend(
                [p.voluntary_context_switches, p.involuntary_context_switches]
                    .map(|value| number(value, 0)),
            );
            row.push(others_cell(p));
            if with_workers {
                row.insert(
                    RSS_COLUMN + 1,
                    p.workers_peak_rss_bytes.map(mib).unwrap_or_default(),
                );
            }
            rows.push(row);
        }
        write_aligned(&mut out, &rows, "", 0)?;
        if result.outcome.cancelled {
            writeln!(
                out,
                "(stopped: {} of the thread counts finished)",
                result.points.len()
            )?;
        }
        writeln!(out)?;
        let recommendation = model::recommend(result, &self.model);
        write_recommendation(&mut out, &recommendation, &result.outcome.warnings, unit)?;
        Ok(out.into_bytes())
    }
}

/// Other processes' CPU use at a point, with a `!` when it disturbed the point and the
/// retried trials in brackets: `1.40!`, `0.02`, `0.30! (2 retried)`.
fn others_cell(p: &crate::result::Point) -> String {
    let mut cell = number(p.other_cpu_utilization, 2);
    if p.disturbed {
        cell.push('!');
    }
    if p.retried_trials > 0 {
        cell.push_str(&format!(" ({} retried)", p.retried_trials));
    }
    cell
}

/// The recommendation under the table: the sentence (after the result's warnings, which say
/// how far it can be trusted), then the numbers behind it; `unit` is what throughput is
/// counted in ([`model::throughput_unit`]), for the fit's λ.
pub fn write_recommendation(
    out: &mut String,
    rec: &Recommendation,
    warnings: &[String],
    unit: &str,
) -> std::fmt::Result {
    let count = |n: Option<usize>| n.map_or_else(|| "none".to_owned(), |n| n.to_string());
    let ratio = |r: Option<f64>| r.map_or_else(|| "unknown".to_owned(), |r| format!("{r:.2}"));
    writeln!(
        out,
        "recommendation: {}",
        trust::with_warnings(warnings, &rec.explanation)
    )?;
    writeln!(
        out,
        "  recommended threads: {} (best measured: {})",
        count(rec.recommended_threads),
        count(rec.best_measured_threads)
    )?;
    // The formula uses the measured W/C, and the configured one only when nothing was measured.
    let used = rec
        .measured_wait_over_compute
        .or(rec.configured_wait_over_compute);
    match (used, rec.formula_threads) {
        (Some(wc), Some(n)) => writeln!(
            out,
            "  formula: N = N_cpu × U × (1 + W/C) = {} × {:.2} × (1 + {wc:.2}) = {n:.1}; W/C measured {}, configured {}",
            rec.cpus.usable,
            rec.utilization_target,
            ratio(rec.measured_wait_over_compute),
            ratio(rec.configured_wait_over_compute)
        )?,
        _ => writeln!(
            out,
            "  formula: N = N_cpu × U × (1 + W/C) is unknown: W/C was neither measured nor configured"
        )?,
    }
    match (&rec.usl, &rec.usl_unavailable_reason) {
        (Some(fit), _) => writeln!(
            out,
            "  USL fit: σ = {:.4}, κ = {:.3e}, λ = {}, N* = {}, R² = {:.3}",
            fit.sigma,
            fit.kappa,
            // A tenth for a few hundred tasks/s; a program's millions of bytes/s prefixed.
            if fit.lambda.abs() >= 1e6 {
                crate::words::rate(fit.lambda, unit)
            } else {
                format!("{:.1} {unit}/s", fit.lambda)
            },
            fit.n_star
                .map_or_else(|| "none (κ ≈ 0)".to_owned(), |n| format!("{n:.1}")),
            fit.r_squared
        )?,
        (None, reason) => writeln!(
            out,
            "  USL fit: unavailable: {}",
            reason.as_deref().unwrap_or("unknown reason")
        )?,
    }
    writeln!(
        out,
        "  CPUs: {} usable (N_cpu), {} physical, {} logical",
        rec.cpus.usable, rec.cpus.physical, rec.cpus.logical
    )?;
    if let Some(target) = &rec.latency_target {
        writeln!(
            out,
            "  p99 under {:.0} µs: {}",
            target.p99_target_us,
            target.threads.map_or_else(
                || "no thread count met it".to_owned(),
                |n| format!("{n} threads")
            )
        )?;
    }
    Ok(())
}

/// The rows of an aligned table, starting with its `header`.
fn header_row(header: &[&str]) -> Vec<Vec<String>> {
    vec![header.iter().map(|s| s.to_string()).collect()]
}

/// Writes `rows` aligned in columns, each line after `indent`, cells two spaces apart: the
/// first `left_columns` columns left-aligned, the others right-aligned. A row shorter than
/// the longest (a failed point's message) is written as it is, and does not widen a column.
fn write_aligned(
    out: &mut String,
    rows: &[Vec<String>],
    indent: &str,
    left_columns: usize,
) -> std::fmt::Result {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let full = |row: &&Vec<String>| row.len() == columns;
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter(full)
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let cells: Vec<String> = if full(&row) {
            row.iter()
                .zip(&widths)
                .enumerate()
                .map(|(c, (cell, &width))| {
                    if c < left_columns {
                        format!("{cell:<width$}")
                    } else {
                        format!("{cell:>width$}")
                    }
                })
                .collect()
        } else {
            row.clone()
        };
        writeln!(out, "{indent}{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}

impl Exporter<ComparisonResult> for TableExporter {
    fn export(&self, result: &ComparisonResult) -> anyhow::Result<Vec<u8>> {
        let mut out = String::new();
        let preset = &result.preset;
        let m = &result.machine;
        writeln!(out, "{}", preset.name)?;
        if !preset.description.is_empty() {
            writeln!(out, "{}", preset.description.trim())?;
        }
        writeln!(
            out,
            "machine: {} logical / {} physical CPUs ({} usable)",
            m.logical_cpus, m.physical_cpus, m.usable_cpus
        )?;
        let length = match preset.sweep.trial_length() {
            TrialLength::Tasks(n) => format!("{n} tasks"),
            TrialLength::Millis(ms) => format!("{ms} ms"),
        };
        writeln!(
            out,
            "{} trials of {length} per thread count, series interleaved; speedup = X(N)/X(1), efficiency = speedup/N",
            preset.sweep.trials
        )?;
        for (index, series) in result.series.iter().enumerate() {
            writeln!(out)?;
            writeln!(out, "[{}] {}  ({})", index + 1, series.label, series.kind)?;
            series_table(&mut out, series)?;
        }
        summary_table(&mut out, result)?;
        if result.outcome.cancelled {
            writeln!(out, "(stopped before every thread count ran)")?;
        }
        Ok(out.into_bytes())
    }
}

/// One series of a comparison: its points with speedup and efficiency, then its notes.
fn series_table(out: &mut String, series: &SeriesResult) -> std::fmt::Result {
    let scaling = series.scaling();
    let header = [
        "threads",
        "tasks/s",
        "±95%",
        "speedup",
        "efficiency",
        "p50 µs",
        "p99 µs",
        "cpu/task µs",
        "cpu util",
    ];
    let mut rows = header_row(&header);
    let mut notes = Vec::new();
    for p in &series.points {
        if let Some(error) = &p.error {
            notes.push(format!("{} threads: failed: {error}", p.threads));
            continue;
        }
        let view = scaling.points.iter().find(|s| s.threads == p.threads);
        rows.push(vec![
            p.threads.to_string(),
            number(p.throughput_per_s, 1),
            number(p.throughput_ci95_per_s, 1),
            view.map_or_else(String::new, |v| format!("{}×", number(v.speedup, 2))),
            view.map_or_else(String::new, |v| {
                format!("{}%", number(100.0 * v.efficiency, 0))
            }),
            number(p.latency_p50_us, 1),
            number(p.latency_p99_us, 1),
            number(p.cpu_time_per_task_us, 1),
            number(p.cpu_utilization, 2),
        ]);
    }
    if rows.len() > 1 {
        write_aligned(out, &rows, "    ", 0)?;
    }
    if let Some(base) = scaling.baseline_threads
        && base != 1
    {
        notes.push(format!(
            "no 1-thread point: speedup is relative to {base} threads"
        ));
    }
    for note in notes {
        writeln!(out, "    {note}")?;
    }
    if let Some(error) = &series.error {
        writeln!(out, "    {error}")?;
    }
    Ok(())
}

/// Speedup of every series side by side: the comparison in one glance.
fn summary_table(out: &mut String, result: &ComparisonResult) -> std::fmt::Result {
    let scalings: Vec<Scaling> = result.series.iter().map(SeriesResult::scaling).collect();
    if scalings.iter().all(|s| s.points.is_empty()) {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "speedup X(N)/X(1) by series:")?;
    let mut header = vec!["threads".to_owned()];
    header.extend((1..=result.series.len()).map(|i| format!("[{i}]")));
    let mut rows = vec![header];
    for &threads in &result.thread_counts {
        let mut row = vec![threads.to_string()];
        for scaling in &scalings {
            row.push(
                scaling
                    .points
                    .iter()
                    .find(|p| p.threads == threads)
                    .map_or_else(|| "-".to_owned(), |p| format!("{}×", number(p.speedup, 2))),
            );
        }
        rows.push(row);
    }
    write_aligned(out, &rows, "    ", 0)
}

/// Bytes as KiB, whole.
fn kib(bytes: f64) -> String {
    number(bytes / 1024.0, 0)
}

impl Exporter<CostResult> for TableExporter {
    fn export(&self, result: &CostResult) -> anyhow::Result<Vec<u8>> {
        let mut out = String::new();
        let m = &result.machine;
        writeln!(
            out,
            "What a worker costs: {} logical CPUs, {:.1} GiB, {}",
            m.logical_cpus,
            m.total_memory_bytes as f64 / (1u64 << 30) as f64,
            m.os
        )?;
        writeln!(
            out,
            "Rust threads reserve a {} KiB stack each",
            result.thread_stack_bytes / 1024
        )?;
        let header = [
            "worker",
            "method",
            "N",
            "start p50 µs",
            "start p99 µs",
            "RSS/worker KiB",
            "PSS/worker KiB",
            "virtual/worker KiB",
            "stop ms",
        ];
        let mut rows = header_row(&header);
        let mut notes = Vec::new();
        for kind in WorkerKind::ALL {
            let label = match kind {
                WorkerKind::RustThread => "Rust thread",
                WorkerKind::RustProcess => "Rust process",
                WorkerKind::PythonThread => "Python thread",
                WorkerKind::PythonProcess => "Python process",
            };
            for c in result.entries(kind) {
                if let Some(error) = &c.error {
                    notes.push(format!("{label}, N = {}: {error}", c.workers));
                }
                rows.push(vec![
                    label.to_owned(),
                    c.start_method.clone().unwrap_or_else(|| "-".to_owned()),
                    c.workers.to_string(),
                    number(c.start_latency_p50_us, 0),
                    number(c.start_latency_p99_us, 0),
                    kib(c.rss_per_worker_bytes),
                    c.pss_per_worker_bytes.map_or_else(|| "-".to_owned(), kib),
                    kib(c.virtual_per_worker_bytes),
                    number(c.stop_ms, 2),
                ]);
            }
        }
        // The worker and its start method read as words: left-aligned.
        write_aligned(&mut out, &rows, "", 2)?;
        match (&result.python, &result.python_error) {
            (Some(python), _) => writeln!(
                out,
                "Python: {} {}",
                python.executable.display(),
                python.version
            )?,
            (None, Some(error)) => writeln!(out, "Python: not measured: {error}")?,
            (None, None) => {}
        }
        for note in notes {
            writeln!(out, "note: {note}")?;
        }
        if result.outcome.cancelled {
            writeln!(out, "(stopped before the end)")?;
        }
        Ok(out.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::{ok_point, result};

    #[test]
    fn a_command_sweeps_table_counts_in_its_unit_throughout() {
        let command: crate::spec::CommandSpec = toml::from_str(
            "run = [\"xz\", \"-T{threads}\"]\nwork_per_run = 14941528\nwork_unit = \"bytes\"\n",
        )
        .expect("a command spec");
        let points = [
            (1, 9_000_000.0),
            (2, 16_000_000.0),
            (3, 21_000_000.0),
            (4, 24_000_000.0),
        ]
        .map(|(threads, per_s)| ok_point(threads, per_s))
        .to_vec();
        let sweep = result(points, WorkloadSpec::Command(command));
        let text = String::from_utf8(TableExporter::default().export(&sweep).expect("the table"))
            .expect("utf-8");
        assert!(text.contains("bytes/s  ±95%"), "{text}");
        assert!(text.contains("peaked there (24.0 M bytes/s)"), "{text}");
        assert!(text.contains("λ = 8.98 M bytes/s"), "{text}");
        assert!(!text.contains("tasks/s"), "{text}");
    }
}
