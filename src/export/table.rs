//! A text table for the terminal: the numbers a person reads first, one line per point, and
//! under it the model's recommendation with its key numbers.

use std::fmt::Write as _;

use super::{Exporter, number};
use crate::model::{self, ModelOptions, Recommendation};
use crate::result::SweepResult;
use crate::trust;

/// Writes an aligned table with a header that says what was run, and the recommendation.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableExporter {
    /// The options the recommendation is made with.
    pub model: ModelOptions,
}

impl Exporter for TableExporter {
    fn export(&self, result: &SweepResult) -> anyhow::Result<Vec<u8>> {
        let mut out = String::new();
        let preset = &result.preset;
        let m = &result.machine;
        writeln!(
            out,
            "{}: {} workload on a {} pool",
            preset.name,
            preset.workload.kind_name(),
            preset.pool.kind_name()
        )?;
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
        let mut header = vec![
            "threads",
            "tasks/s",
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
        let mib = |bytes: u64| number(bytes as f64 / (1u64 << 20) as f64, 1);
        let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
        for p in &result.points {
            if let Some(error) = &p.error {
                rows.push(vec![p.threads.to_string(), format!("failed: {error}")]);
                continue;
            }
            let mut row = vec![
                p.threads.to_string(),
                number(p.throughput_per_s, 1),
                number(p.throughput_ci95_per_s, 1),
                number(p.latency_p50_us, 1),
                number(p.latency_p95_us, 1),
                number(p.latency_p99_us, 1),
                number(p.cpu_time_per_task_us, 1),
                number(p.wall_time_per_task_us, 1),
                number(p.measured_wait_over_compute(), 2),
                number(p.cpu_utilization, 2),
                mib(p.peak_rss_bytes),
                number(p.voluntary_context_switches, 0),
                number(p.involuntary_context_switches, 0),
                others_cell(p),
            ];
            if with_workers {
                row.insert(
                    RSS_COLUMN + 1,
                    p.workers_peak_rss_bytes.map(mib).unwrap_or_default(),
                );
            }
            rows.push(row);
        }
        let columns = header.len();
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                rows.iter()
                    .filter(|r| r.len() == columns)
                    .map(|r| r[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &rows {
            let line: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    if row.len() == columns {
                        format!("{cell:>width$}", width = widths[c])
                    } else {
                        cell.clone()
                    }
                })
                .collect();
            writeln!(out, "{}", line.join("  ").trim_end())?;
        }
        if result.cancelled {
            writeln!(
                out,
                "(stopped: {} of the thread counts finished)",
                result.points.len()
            )?;
        }
        writeln!(out)?;
        let recommendation = model::recommend(result, &self.model);
        write_recommendation(&mut out, &recommendation, &result.warnings)?;
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
/// how far it can be trusted), then the numbers behind it.
pub fn write_recommendation(
    out: &mut String,
    rec: &Recommendation,
    warnings: &[String],
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
            "  USL fit: σ = {:.4}, κ = {:.3e}, λ = {:.1} tasks/s, N* = {}, R² = {:.3}",
            fit.sigma,
            fit.kappa,
            fit.lambda,
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
