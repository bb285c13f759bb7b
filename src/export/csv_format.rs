//! CSV: one row per point (a sweep), per series and point (a comparison, with `speedup` and
//! `efficiency`, and one row carrying a failed series' error), or per worker-cost entry. The
//! column names are the JSON field names.

use super::{Exporter, number};
use crate::cost::{CostResult, WorkerKind};
use crate::result::comparison::ComparisonResult;
use crate::result::{Point, SweepResult};

/// The columns of a sweep, in order; the names are the JSON field names.
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

/// The columns of a worker-cost result, in order; after `kind`, the names are the JSON field
/// names.
/// A worker's row fills the columns up to `stop_ms`; a switch cost's row (one per ping-pong)
/// fills `kind`, `round_trips`, `switches_per_s` and `round_trip_ns`.
pub const COST_CSV_COLUMNS: [&str; 13] = [
    "kind",
    "start_method",
    "workers",
    "start_latency_p50_us",
    "start_latency_p99_us",
    "rss_per_worker_bytes",
    "pss_per_worker_bytes",
    "virtual_per_worker_bytes",
    "stop_ms",
    "round_trips",
    "switches_per_s",
    "round_trip_ns",
    "error",
];

/// Columns of a comparison: which series, then the sweep's point columns, then the two views.
pub fn comparison_csv_columns() -> Vec<&'static str> {
    let mut columns = vec!["series", "label", "kind"];
    columns.extend(CSV_COLUMNS);
    columns.extend(["speedup", "efficiency"]);
    columns
}

/// Writes CSV rows under a header.
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

/// `header` then `rows`, as CSV bytes.
fn write_csv<H, R>(header: H, rows: impl IntoIterator<Item = R>) -> anyhow::Result<Vec<u8>>
where
    H: IntoIterator,
    H::Item: AsRef<[u8]>,
    R: IntoIterator,
    R::Item: AsRef<[u8]>,
{
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header)?;
    for row in rows {
        writer.write_record(row)?;
    }
    Ok(writer.into_inner()?)
}

impl Exporter<SweepResult> for CsvExporter {
    fn export(&self, result: &SweepResult) -> anyhow::Result<Vec<u8>> {
        write_csv(CSV_COLUMNS, result.points.iter().map(csv_row))
    }
}

impl Exporter<ComparisonResult> for CsvExporter {
    fn export(&self, result: &ComparisonResult) -> anyhow::Result<Vec<u8>> {
        let columns = comparison_csv_columns();
        let mut rows: Vec<Vec<String>> = Vec::new();
        for (index, series) in result.series.iter().enumerate() {
            let head = [
                (index + 1).to_string(),
                series.label.clone(),
                series.kind.to_string(),
            ];
            let scaling = series.scaling();
            for point in &series.points {
                let view = scaling.points.iter().find(|s| s.threads == point.threads);
                let mut row: Vec<String> = head.to_vec();
                row.extend(csv_row(point));
                row.push(view.map_or_else(String::new, |v| number(v.speedup, 3)));
                row.push(view.map_or_else(String::new, |v| number(v.efficiency, 3)));
                rows.push(row);
            }
            if let Some(error) = &series.error {
                // A series that failed or never ran still gets a row, so the reason is in the
                // file.
                let mut row: Vec<String> = head.to_vec();
                row.resize(columns.len(), String::new());
                if let Some(cell) = columns.iter().position(|c| *c == "error") {
                    row[cell] = error.clone();
                }
                rows.push(row);
            }
        }
        write_csv(&columns, rows)
    }
}

impl Exporter<CostResult> for CsvExporter {
    fn export(&self, result: &CostResult) -> anyhow::Result<Vec<u8>> {
        let rows = WorkerKind::ALL.into_iter().flat_map(|kind| {
            result.entries(kind).iter().map(move |c| {
                [
                    kind.as_str().to_owned(),
                    c.start_method.clone().unwrap_or_default(),
                    c.workers.to_string(),
                    number(c.start_latency_p50_us, 3),
                    number(c.start_latency_p99_us, 3),
                    number(c.rss_per_worker_bytes, 0),
                    c.pss_per_worker_bytes
                        .map(|v| number(v, 0))
                        .unwrap_or_default(),
                    number(c.virtual_per_worker_bytes, 0),
                    number(c.stop_ms, 3),
                    String::new(),
                    String::new(),
                    String::new(),
                    c.error.clone().unwrap_or_default(),
                ]
            })
        });
        // In COST_CSV_COLUMNS order, as the worker rows: the worker columns empty.
        let switches = result.switches.iter().map(|switch| {
            [
                switch.kind.as_str().to_owned(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                switch.round_trips.to_string(),
                number(switch.switches_per_s, 0),
                number(switch.round_trip_ns, 1),
                switch.error.clone().unwrap_or_default(),
            ]
        });
        write_csv(COST_CSV_COLUMNS, rows.chain(switches))
    }
}
