//! CSV: one row per point, with the same field names as the JSON points.

use super::{Exporter, number};
use crate::result::{Point, SweepResult};

/// The columns, in order; the names are the JSON field names.
pub const CSV_COLUMNS: [&str; 21] = [
    "threads",
    "trials",
    "tasks_per_trial",
    "throughput_per_s",
    "throughput_ci95_per_s",
    "latency_p50_us",
    "latency_p95_us",
    "latency_p99_us",
    "latency_max_us",
    "latency_sample_every",
    "cpu_time_per_task_us",
    "wall_time_per_task_us",
    "cpu_utilization",
    "peak_rss_bytes",
    "workers_peak_rss_bytes",
    "voluntary_context_switches",
    "involuntary_context_switches",
    "other_cpu_utilization",
    "disturbed",
    "retried_trials",
    "error",
];

/// Writes one row per point.
pub struct CsvExporter;

/// The CSV cells of one point, in [`CSV_COLUMNS`] order.
pub fn csv_row(p: &Point) -> Vec<String> {
    vec![
        p.threads.to_string(),
        p.trials.to_string(),
        number(p.tasks_per_trial, 1),
        number(p.throughput_per_s, 3),
        number(p.throughput_ci95_per_s, 3),
        number(p.latency_p50_us, 3),
        number(p.latency_p95_us, 3),
        number(p.latency_p99_us, 3),
        number(p.latency_max_us, 3),
        p.latency_sample_every.to_string(),
        number(p.cpu_time_per_task_us, 3),
        number(p.wall_time_per_task_us, 3),
        number(p.cpu_utilization, 3),
        p.peak_rss_bytes.to_string(),
        p.workers_peak_rss_bytes
            .map(|bytes| bytes.to_string())
            .unwrap_or_default(),
        number(p.voluntary_context_switches, 1),
        number(p.involuntary_context_switches, 1),
        number(p.other_cpu_utilization, 3),
        p.disturbed.to_string(),
        p.retried_trials.to_string(),
        p.error.clone().unwrap_or_default(),
    ]
}

impl Exporter for CsvExporter {
    fn export(&self, result: &SweepResult) -> anyhow::Result<Vec<u8>> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(CSV_COLUMNS)?;
        for point in &result.points {
            writer.write_record(csv_row(point))?;
        }
        Ok(writer.into_inner()?)
    }
}
