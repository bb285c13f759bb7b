//! Text tables for the terminal: the numbers a person reads first. A sweep: one line per
//! point, and under it the model's recommendation with its key numbers. A comparison: a table
//! per series with speedup X(N)/X(1) and efficiency speedup/N, then every series' speedup
//! side by side. A worker-cost run: one line per entry, then Python and the notes.
//!
//! Each table is built once as a [`Grid`] (its header, its rows and the order its columns
//! drop in), which the Markdown exporter reads too. At full width (`width` None: files,
//! `--wide`, the golden fixtures) every column is shown and nothing is wrapped; at a
//! terminal's width the columns that drop first are left out until the others fit, a line
//! names them, and every sentence is wrapped at word boundaries.

use std::fmt::Write as _;

use super::width::{fit_line, wrap};
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
    /// The terminal's width in characters, to fit the table and wrap the sentences in; None
    /// for every column and no wrapping (a file, `--wide`).
    pub width: Option<usize>,
}

/// A table before it is laid out: the same cells serve the text table and Markdown.
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    /// The column names.
    pub(crate) header: Vec<String>,
    /// For each column, when it drops as the terminal narrows: the lowest rank stays longest.
    pub(crate) ranks: Vec<u8>,
    /// Columns ranked below this are shown at any width: the ones the table is for.
    pub(crate) essential: u8,
    /// The rows under the header.
    pub(crate) rows: Vec<GridRow>,
}

/// One row of a [`Grid`].
#[derive(Debug, Clone)]
pub(crate) enum GridRow {
    /// A cell for every column.
    Cells(Vec<String>),
    /// The first cell, then a message in place of the other cells (a failed point's reason).
    Message(String, String),
}

impl Grid {
    fn new(header: &[&str], ranks: &[u8], essential: u8) -> Grid {
        Grid {
            header: header.iter().map(|s| s.to_string()).collect(),
            ranks: ranks.to_vec(),
            essential,
            rows: Vec::new(),
        }
    }

    /// The columns shown within `width` (after `indent` characters), in table order: the
    /// essential ones, then the others by rank for as long as the next one fits.
    fn columns_within(&self, width: usize, indent: usize) -> Vec<usize> {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|row| match row {
                        GridRow::Cells(cells) => cells.get(c),
                        GridRow::Message(..) => None,
                    })
                    .chain(std::iter::once(&self.header[c]))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut by_rank: Vec<usize> = (0..self.header.len()).collect();
        by_rank.sort_by_key(|&c| (self.ranks[c], c));
        let mut kept = Vec::new();
        let mut used = indent;
        for c in by_rank {
            let needed = widths[c] + if kept.is_empty() { 0 } else { 2 };
            if self.ranks[c] >= self.essential && used + needed > width {
                break;
            }
            used += needed;
            kept.push(c);
        }
        kept.sort_unstable();
        kept
    }

    /// Writes the grid aligned (see [`write_aligned`]), at full width or within `width`;
    /// returns the names of the columns left out to fit.
    fn write(
        &self,
        out: &mut String,
        indent: &str,
        left_columns: usize,
        width: Option<usize>,
    ) -> Result<Vec<String>, std::fmt::Error> {
        let kept: Vec<usize> = match width {
            None => (0..self.header.len()).collect(),
            Some(width) => self.columns_within(width, indent.chars().count()),
        };
        let pick = |cells: &[String]| -> Vec<String> {
            kept.iter().filter_map(|&c| cells.get(c).cloned()).collect()
        };
        let mut rows = vec![pick(&self.header)];
        for row in &self.rows {
            rows.push(match row {
                GridRow::Cells(cells) => pick(cells),
                GridRow::Message(first, message) => vec![first.clone(), message.clone()],
            });
        }
        let left = kept.iter().filter(|&&c| c < left_columns).count();
        write_aligned(out, &rows, indent, left, width)?;
        Ok((0..self.header.len())
            .filter(|c| !kept.contains(c))
            .map(|c| self.header[c].clone())
            .collect())
    }
}

/// Writes each line of prose, wrapped to `width` when there is one.
fn write_prose(out: &mut String, line: &str, width: Option<usize>) -> std::fmt::Result {
    for piece in fit_line(line, width) {
        writeln!(out, "{piece}")?;
    }
    Ok(())
}

/// The line that says which columns were left out to fit `width`; nothing when none was.
fn write_hidden(out: &mut String, hidden: &[String], width: Option<usize>) -> std::fmt::Result {
    let Some(width) = width else { return Ok(()) };
    if hidden.is_empty() {
        return Ok(());
    }
    let text = format!(
        "({} hidden to fit {width} columns: {}; --wide shows every column)",
        crate::words::counted_usize(hidden.len(), "column", "columns"),
        hidden.join(", ")
    );
    write_prose(out, &text, Some(width))
}

/// What a sweep ran and where: the lines above its table.
pub(crate) fn sweep_heading(result: &SweepResult) -> [String; 2] {
    let preset = &result.preset;
    let m = &result.machine;
    let what = match &preset.workload {
        WorkloadSpec::Command(command) => format!(
            "{}: the program `{}`, on its own threads ({} {} per run)",
            preset.name,
            command.run,
            number(command.work_per_run, 0),
            command.work_unit
        ),
        _ => format!(
            "{}: {} workload on a {} pool",
            preset.name,
            preset.workload.kind_name(),
            preset.pool.kind_name()
        ),
    };
    let machine = format!(
        "machine: {} logical / {} physical CPUs ({} usable), {:.1} GiB",
        m.logical_cpus,
        m.physical_cpus,
        m.usable_cpus,
        m.total_memory_bytes as f64 / (1u64 << 30) as f64
    );
    [what, machine]
}

/// A sweep's points as a grid: one row per point, a failed point's reason in its row.
pub(crate) fn sweep_grid(result: &SweepResult) -> Grid {
    let preset = &result.preset;
    // A program that runs its own threads: one trial is one run doing `work_per_run`
    // units, so rates are in its unit and times are per run (a time per byte would
    // round to 0.0).
    let command = match &preset.workload {
        WorkloadSpec::Command(command) => Some(command),
        _ => None,
    };
    // Process pools add their workers' memory beside pooltune's own.
    let with_workers = result
        .points
        .iter()
        .any(|p| p.workers_peak_rss_bytes.is_some());
    let unit = model::throughput_unit(&preset.workload);
    let rate = format!("{unit}/s");
    let count_label = if preset.pool.counts_tasks_in_flight() {
        "concurrency"
    } else {
        "threads"
    };
    let mut header = vec![
        count_label,
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
    // Kept longest: the count, its throughput and how sure it is, the latency a user feels,
    // and how busy the CPUs were; then the model's W/C and whether others disturbed it;
    // memory; the per-task times; the switch counts last.
    let mut ranks = vec![0, 1, 2, 3, 10, 4, 9, 11, 6, 5, 8, 12, 13, 7];
    const ESSENTIAL: u8 = 6;
    const RSS_COLUMN: usize = 10;
    if with_workers {
        header.insert(RSS_COLUMN + 1, "workers RSS MiB");
        ranks.insert(RSS_COLUMN + 1, 8);
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
    let mut grid = Grid::new(&header, &ranks, ESSENTIAL);
    for p in &result.points {
        if let Some(error) = &p.error {
            grid.rows.push(GridRow::Message(
                p.threads.to_string(),
                format!("failed: {error}"),
            ));
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
        grid.rows.push(GridRow::Cells(row));
    }
    grid
}

/// The line under a stopped sweep's table.
pub(crate) fn sweep_stopped(result: &SweepResult) -> Option<String> {
    result.outcome.cancelled.then(|| {
        format!(
            "(stopped: {} of the thread counts finished)",
            result.points.len()
        )
    })
}

impl Exporter<SweepResult> for TableExporter {
    fn export(&self, result: &SweepResult) -> anyhow::Result<Vec<u8>> {
        let mut out = String::new();
        for line in sweep_heading(result) {
            write_prose(&mut out, &line, self.width)?;
        }
        let hidden = sweep_grid(result).write(&mut out, "", 0, self.width)?;
        write_hidden(&mut out, &hidden, self.width)?;
        if let Some(stopped) = sweep_stopped(result) {
            writeln!(out, "{stopped}")?;
        }
        writeln!(out)?;
        let recommendation = model::recommend(result, &self.model);
        let unit = model::throughput_unit(&result.preset.workload);
        let (sentence, details) =
            recommendation_lines(&recommendation, &result.outcome.warnings, unit);
        match self.width {
            None => write_lines(&mut out, &sentence, &details)?,
            Some(width) => {
                const LEAD: &str = "recommendation: ";
                let under = " ".repeat(LEAD.chars().count());
                for line in wrap(&sentence, width, LEAD, &under) {
                    writeln!(out, "{line}")?;
                }
                for detail in &details {
                    write_prose(&mut out, &format!("  {detail}"), Some(width))?;
                }
            }
        }
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
    let (sentence, details) = recommendation_lines(rec, warnings, unit);
    write_lines(out, &sentence, &details)
}

/// [`write_recommendation`]'s lines, unwrapped.
fn write_lines(out: &mut String, sentence: &str, details: &[String]) -> std::fmt::Result {
    writeln!(out, "recommendation: {sentence}")?;
    for detail in details {
        writeln!(out, "  {detail}")?;
    }
    Ok(())
}

/// The recommendation as words: the sentence after the result's warnings, then one line per
/// number behind it (recommended and best counts, the formula, the USL fit, the CPUs, the
/// latency target), the same for the text table and Markdown.
pub(crate) fn recommendation_lines(
    rec: &Recommendation,
    warnings: &[String],
    unit: &str,
) -> (String, Vec<String>) {
    let count = |n: Option<usize>| n.map_or_else(|| "none".to_owned(), |n| n.to_string());
    let ratio = |r: Option<f64>| r.map_or_else(|| "unknown".to_owned(), |r| format!("{r:.2}"));
    let sentence = trust::with_warnings(warnings, &rec.explanation);
    let mut details = vec![format!(
        "recommended threads: {} (best measured: {})",
        count(rec.recommended_threads),
        count(rec.best_measured_threads)
    )];
    // The formula uses the measured W/C, and the configured one only when nothing was measured.
    let used = rec
        .measured_wait_over_compute
        .or(rec.configured_wait_over_compute);
    details.push(match (used, rec.formula_threads) {
        (Some(wc), Some(n)) => format!(
            "formula: N = N_cpu × U × (1 + W/C) = {} × {:.2} × (1 + {wc:.2}) = {n:.1}; W/C measured {}, configured {}",
            rec.cpus.usable,
            rec.utilization_target,
            ratio(rec.measured_wait_over_compute),
            ratio(rec.configured_wait_over_compute)
        ),
        _ => "formula: N = N_cpu × U × (1 + W/C) is unknown: W/C was neither measured nor configured"
            .to_owned(),
    });
    details.push(match (&rec.usl, &rec.usl_unavailable_reason) {
        (Some(fit), _) => format!(
            "USL fit: σ = {:.4}, κ = {:.3e}, λ = {}, N* = {}, R² = {:.3}",
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
        ),
        (None, reason) => format!(
            "USL fit: unavailable: {}",
            reason.as_deref().unwrap_or("unknown reason")
        ),
    });
    details.push(format!(
        "CPUs: {} usable (N_cpu), {} physical, {} logical",
        rec.cpus.usable, rec.cpus.physical, rec.cpus.logical
    ));
    if let Some(target) = &rec.latency_target {
        details.push(format!(
            "p99 under {:.0} µs: {}",
            target.p99_target_us,
            target.threads.map_or_else(
                || "no thread count met it".to_owned(),
                |n| format!("{n} threads")
            )
        ));
    }
    (sentence, details)
}

/// Writes `rows` aligned in columns, each line after `indent`, cells two spaces apart: the
/// first `left_columns` columns left-aligned, the others right-aligned. A row shorter than
/// the longest (a failed point's message) is written as it is, and does not widen a column;
/// with a `width`, such a row is wrapped, its continuation under its second cell.
fn write_aligned(
    out: &mut String,
    rows: &[Vec<String>],
    indent: &str,
    left_columns: usize,
    width: Option<usize>,
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
        if !full(&row)
            && let Some(width) = width
        {
            let (first, rest) = row
                .split_first()
                .map_or(("", &[][..]), |(f, r)| (f.as_str(), r));
            let lead = format!("{indent}{first}  ");
            let under = " ".repeat(lead.chars().count());
            for line in wrap(&rest.join("  "), width, &lead, &under) {
                writeln!(out, "{line}")?;
            }
            continue;
        }
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

/// What a comparison ran and where: the lines above its first series.
pub(crate) fn comparison_heading(result: &ComparisonResult) -> Vec<String> {
    let preset = &result.preset;
    let m = &result.machine;
    let mut lines = vec![preset.name.clone()];
    if !preset.description.is_empty() {
        lines.extend(preset.description.trim().lines().map(str::to_owned));
    }
    lines.push(format!(
        "machine: {} logical / {} physical CPUs ({} usable)",
        m.logical_cpus, m.physical_cpus, m.usable_cpus
    ));
    let length = match preset.sweep.trial_length() {
        TrialLength::Tasks(n) => format!("{n} tasks"),
        TrialLength::Millis(ms) => format!("{ms} ms"),
    };
    lines.push(format!(
        "{} trials of {length} per thread count, series interleaved; speedup = X(N)/X(1), efficiency = speedup/N",
        preset.sweep.trials
    ));
    lines
}

/// The heading of a comparison's series `index` (from 0).
pub(crate) fn series_heading(index: usize, series: &SeriesResult) -> String {
    format!("[{}] {}  ({})", index + 1, series.label, series.kind)
}

/// The line under a stopped comparison.
pub(crate) const COMPARISON_STOPPED: &str = "(stopped before every thread count ran)";

impl Exporter<ComparisonResult> for TableExporter {
    fn export(&self, result: &ComparisonResult) -> anyhow::Result<Vec<u8>> {
        let mut out = String::new();
        for line in comparison_heading(result) {
            write_prose(&mut out, &line, self.width)?;
        }
        let mut hidden: Vec<String> = Vec::new();
        for (index, series) in result.series.iter().enumerate() {
            writeln!(out)?;
            write_prose(&mut out, &series_heading(index, series), self.width)?;
            let (grid, notes) = series_grid(series);
            if !grid.rows.is_empty() {
                for name in grid.write(&mut out, "    ", 0, self.width)? {
                    if !hidden.contains(&name) {
                        hidden.push(name);
                    }
                }
            }
            for note in notes {
                write_prose(&mut out, &format!("    {note}"), self.width)?;
            }
        }
        write_hidden(&mut out, &hidden, self.width)?;
        if let Some(grid) = summary_grid(result) {
            writeln!(out)?;
            writeln!(out, "speedup X(N)/X(1) by series:")?;
            grid.write(&mut out, "    ", 0, None)?;
        }
        if result.outcome.cancelled {
            writeln!(out, "{COMPARISON_STOPPED}")?;
        }
        Ok(out.into_bytes())
    }
}

/// One series of a comparison: its points with speedup and efficiency, and its notes (failed
/// points, a baseline other than 1 thread, the series' error).
pub(crate) fn series_grid(series: &SeriesResult) -> (Grid, Vec<String>) {
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
    // A comparison is about scaling: speedup and efficiency stay longest after throughput.
    let mut grid = Grid::new(&header, &[0, 1, 4, 2, 3, 5, 6, 8, 7], 7);
    let mut notes = Vec::new();
    for p in &series.points {
        if let Some(error) = &p.error {
            notes.push(format!("{} threads: failed: {error}", p.threads));
            continue;
        }
        let view = scaling.points.iter().find(|s| s.threads == p.threads);
        grid.rows.push(GridRow::Cells(vec![
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
        ]));
    }
    if let Some(base) = scaling.baseline_threads
        && base != 1
    {
        notes.push(format!(
            "no 1-thread point: speedup is relative to {base} threads"
        ));
    }
    if let Some(error) = &series.error {
        notes.push(error.clone());
    }
    (grid, notes)
}

/// Speedup of every series side by side: the comparison in one glance; None when no series
/// measured a point.
pub(crate) fn summary_grid(result: &ComparisonResult) -> Option<Grid> {
    let scalings: Vec<Scaling> = result.series.iter().map(SeriesResult::scaling).collect();
    if scalings.iter().all(|s| s.points.is_empty()) {
        return None;
    }
    let mut header = vec!["threads".to_owned()];
    header.extend((1..=result.series.len()).map(|i| format!("[{i}]")));
    let mut grid = Grid {
        ranks: vec![0; header.len()],
        essential: 1,
        header,
        rows: Vec::new(),
    };
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
        grid.rows.push(GridRow::Cells(row));
    }
    Some(grid)
}

/// Bytes as KiB, whole.
fn kib(bytes: f64) -> String {
    number(bytes / 1024.0, 0)
}

/// What a worker-cost run measured on: the lines above its table.
pub(crate) fn cost_heading(result: &CostResult) -> [String; 2] {
    let m = &result.machine;
    [
        format!(
            "What a worker costs: {} logical CPUs, {:.1} GiB, {}",
            m.logical_cpus,
            m.total_memory_bytes as f64 / (1u64 << 30) as f64,
            m.os
        ),
        format!(
            "Rust threads reserve a {} KiB stack each",
            result.thread_stack_bytes / 1024
        ),
    ]
}

/// A worker-cost run's entries as a grid, and a note per failed entry.
pub(crate) fn cost_grid(result: &CostResult) -> (Grid, Vec<String>) {
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
    // What a worker costs to start and to keep stay longest; its address space goes first.
    let mut grid = Grid::new(&header, &[0, 1, 2, 3, 6, 4, 5, 8, 7], 5);
    let mut notes = Vec::new();
    for kind in WorkerKind::ALL {
        let label = kind.title();
        let decimals = if kind.is_task() { 2 } else { 0 };
        let task_kib = |bytes: f64| number(bytes / 1024.0, decimals);
        for c in result.entries(kind) {
            if let Some(error) = &c.error {
                notes.push(format!("{label}, N = {}: {error}", c.workers));
            }
            grid.rows.push(GridRow::Cells(vec![
                label.to_owned(),
                c.start_method.clone().unwrap_or_else(|| "-".to_owned()),
                c.workers.to_string(),
                number(c.start_latency_p50_us, 0),
                number(c.start_latency_p99_us, 0),
                // A task is a few hundred bytes: whole KiB would show 0.
                task_kib(c.rss_per_worker_bytes),
                c.pss_per_worker_bytes.map_or_else(|| "-".to_owned(), kib),
                task_kib(c.virtual_per_worker_bytes),
                number(c.stop_ms, 2),
            ]));
        }
    }
    (grid, notes)
}

/// The switch cost, a row per ping-pong (a failed one's reason in place of its figures):
/// None when none was measured. The text table and the Markdown both render it.
pub(crate) fn cost_switch_grid(result: &CostResult) -> Option<Grid> {
    if result.switches.is_empty() {
        return None;
    }
    let mut grid = Grid::new(
        &[
            "switch (ping-pong)",
            "round trips",
            "switches/s",
            "round trip ns",
        ],
        &[0, 0, 0, 0],
        1,
    );
    for switch in &result.switches {
        grid.rows.push(match &switch.error {
            Some(error) => GridRow::Message(
                switch.kind.title().to_owned(),
                format!("not measured: {error}"),
            ),
            None => GridRow::Cells(vec![
                switch.kind.title().to_owned(),
                switch.round_trips.to_string(),
                number(switch.switches_per_s, 0),
                number(switch.round_trip_ns, 0),
            ]),
        });
    }
    Some(grid)
}

/// Which Python a worker-cost run measured, or why none; None when none was asked for.
pub(crate) fn cost_python(result: &CostResult) -> Option<String> {
    match (&result.python, &result.python_error) {
        (Some(python), _) => Some(format!(
            "Python: {} {}",
            python.executable.display(),
            python.version
        )),
        (None, Some(error)) => Some(format!("Python: not measured: {error}")),
        (None, None) => None,
    }
}

/// The line under a stopped worker-cost run.
pub(crate) const COST_STOPPED: &str = "(stopped before the end)";

impl Exporter<CostResult> for TableExporter {
    fn export(&self, result: &CostResult) -> anyhow::Result<Vec<u8>> {
        let mut out = String::new();
        for line in cost_heading(result) {
            write_prose(&mut out, &line, self.width)?;
        }
        let (grid, notes) = cost_grid(result);
        // The worker and its start method read as words: left-aligned.
        let hidden = grid.write(&mut out, "", 2, self.width)?;
        write_hidden(&mut out, &hidden, self.width)?;
        if let Some(switches) = cost_switch_grid(result) {
            writeln!(out)?;
            let hidden = switches.write(&mut out, "", 1, self.width)?;
            write_hidden(&mut out, &hidden, self.width)?;
        }
        if let Some(python) = cost_python(result) {
            write_prose(&mut out, &python, self.width)?;
        }
        for note in notes {
            write_prose(&mut out, &format!("note: {note}"), self.width)?;
        }
        if result.outcome.cancelled {
            writeln!(out, "{COST_STOPPED}")?;
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
