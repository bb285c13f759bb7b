//! A text table for the terminal: the numbers a person reads first, one line per point.

use std::fmt::Write as _;

use super::{Exporter, number};
use crate::result::SweepResult;

/// Writes an aligned table with a header that says what was run.
pub struct TableExporter;

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
        let header = [
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
        ];
        let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
        for p in &result.points {
            if let Some(error) = &p.error {
                rows.push(vec![p.threads.to_string(), format!("failed: {error}")]);
                continue;
            }
            rows.push(vec![
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
                number(p.peak_rss_bytes as f64 / (1u64 << 20) as f64, 1),
                number(p.voluntary_context_switches, 0),
                number(p.involuntary_context_switches, 0),
            ]);
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
        Ok(out.into_bytes())
    }
}
