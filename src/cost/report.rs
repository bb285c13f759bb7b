//! Writing a worker-cost result: JSON (the [`CostResult`] as is), CSV (one row per entry, the
//! JSON field names plus `kind`), or a table for the terminal. Formats only; nothing is measured.

use std::fmt::Write as _;

use super::{CostResult, WorkerCost, WorkerKind};
use crate::export::Format;

/// The CSV columns, in order; after `kind`, the names are the JSON field names.
pub const CSV_COLUMNS: [&str; 10] = [
    "kind",
    "start_method",
    "workers",
    "start_latency_p50_us",
    "start_latency_p99_us",
    "rss_per_worker_bytes",
    "pss_per_worker_bytes",
    "virtual_per_worker_bytes",
    "stop_ms",
    "error",
];

/// Serializes a worker-cost result in one format.
pub fn export(result: &CostResult, format: Format) -> anyhow::Result<Vec<u8>> {
    match format {
        Format::Json => {
            let mut bytes = serde_json::to_vec_pretty(result)?;
            bytes.push(b'\n');
            Ok(bytes)
        }
        Format::Csv => csv(result),
        Format::Table => table(result),
    }
}

/// A float for CSV and tables: empty when unknown.
fn number(value: f64, decimals: usize) -> String {
    if value.is_finite() {
        format!("{value:.decimals$}")
    } else {
        String::new()
    }
}

fn entries(result: &CostResult) -> impl Iterator<Item = (WorkerKind, &WorkerCost)> {
    WorkerKind::ALL
        .into_iter()
        .flat_map(move |kind| result.entries(kind).iter().map(move |cost| (kind, cost)))
}

fn csv(result: &CostResult) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(CSV_COLUMNS)?;
    for (kind, c) in entries(result) {
        writer.write_record([
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
            c.error.clone().unwrap_or_default(),
        ])?;
    }
    Ok(writer.into_inner()?)
}

fn kib(bytes: f64) -> String {
    number(bytes / 1024.0, 0)
}

fn table(result: &CostResult) -> anyhow::Result<Vec<u8>> {
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
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    let mut notes = Vec::new();
    for (kind, c) in entries(result) {
        let label = match kind {
            WorkerKind::RustThread => "Rust thread",
            WorkerKind::RustProcess => "Rust process",
            WorkerKind::PythonThread => "Python thread",
            WorkerKind::PythonProcess => "Python process",
        };
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
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                if c < 2 {
                    format!("{cell:<width$}", width = widths[c])
                } else {
                    format!("{cell:>width$}", width = widths[c])
                }
            })
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
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
    if result.cancelled {
        writeln!(out, "(stopped before the end)")?;
    }
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::MachineInfo;

    fn sample() -> CostResult {
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
            machine: MachineInfo::detect(),
            thread_stack_bytes: 2 << 20,
            threads: vec![thread.clone()],
            processes: vec![WorkerCost::failed(10, "no exe")],
            python: None,
            python_threads: vec![thread],
            python_processes: vec![fork],
            python_error: None,
            cancelled: false,
            started_unix_s: 0,
            duration_s: 1.0,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn json_has_the_documented_lists_and_fields() {
        let bytes = export(&sample(), Format::Json).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        for list in ["threads", "processes", "python_threads", "python_processes"] {
            assert!(json[list].is_array(), "{list}");
        }
        let fork = &json["python_processes"][0];
        assert_eq!(fork["start_method"], "fork");
        for field in [
            "workers",
            "start_latency_p50_us",
            "start_latency_p99_us",
            "rss_per_worker_bytes",
            "pss_per_worker_bytes",
            "virtual_per_worker_bytes",
            "stop_ms",
        ] {
            assert!(fork.get(field).is_some(), "{field}");
        }
        let back: CostResult = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back.python_processes, sample().python_processes);
    }

    #[test]
    fn csv_has_one_row_per_entry_and_table_notes_errors() {
        let text = String::from_utf8(export(&sample(), Format::Csv).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 4);
        assert_eq!(lines[0], CSV_COLUMNS.join(","));
        assert!(lines[4].starts_with("python_process,fork,10,40.000,90.000,12288,4096,"));
        let table = String::from_utf8(export(&sample(), Format::Table).unwrap()).unwrap();
        assert!(table.contains("Rust process, N = 10: no exe"), "{table}");
        assert!(table.contains("Python process  fork"), "{table}");
    }
}
