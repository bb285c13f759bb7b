//! Writing a comparison: JSON (the [`ComparisonResult`] as is: `series[]`, each with `label`,
//! `kind`, `interpreter`, `error` and `points[]` with the sweep's point fields), CSV (one row
//! per series and point, the sweep's columns plus `speedup` and `efficiency`) and a text table
//! with speedup X(N)/X(1) and efficiency speedup/N for the terminal.

use std::fmt::Write as _;

use super::result::{ComparisonResult, Scaling, SeriesResult};
use crate::export::{CSV_COLUMNS, Format, csv_row, number};
use crate::preset::TrialLength;

/// Serializes a comparison result in one of the sweep's formats.
pub fn export(result: &ComparisonResult, format: Format) -> anyhow::Result<Vec<u8>> {
    match format {
        Format::Json => {
            let mut bytes = serde_json::to_vec_pretty(result)?;
            bytes.push(b'\n');
            Ok(bytes)
        }
        Format::Csv => csv(result),
        Format::Table => Ok(table(result)?.into_bytes()),
    }
}

/// Columns of the CSV: which series, then the sweep's point columns, then the two views.
pub fn csv_columns() -> Vec<&'static str> {
    let mut columns = vec!["series", "label", "kind"];
    columns.extend(CSV_COLUMNS);
    columns.extend(["speedup", "efficiency"]);
    columns
}

fn csv(result: &ComparisonResult) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let columns = csv_columns();
    writer.write_record(&columns)?;
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
            writer.write_record(&row)?;
        }
        if let Some(error) = &series.error {
            // A series that failed or never ran still gets a row, so the reason is in the file.
            let mut row: Vec<String> = head.to_vec();
            row.resize(columns.len(), String::new());
            if let Some(cell) = columns.iter().position(|c| *c == "error") {
                row[cell] = error.clone();
            }
            writer.write_record(&row)?;
        }
    }
    Ok(writer.into_inner()?)
}

fn table(result: &ComparisonResult) -> anyhow::Result<String> {
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
    if result.cancelled {
        writeln!(out, "(stopped before every thread count ran)")?;
    }
    Ok(out)
}

fn series_table(out: &mut String, series: &SeriesResult) -> anyhow::Result<()> {
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
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
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
        write_aligned(out, &rows, "    ")?;
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
fn summary_table(out: &mut String, result: &ComparisonResult) -> anyhow::Result<()> {
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
    write_aligned(out, &rows, "    ")
}

fn write_aligned(out: &mut String, rows: &[Vec<String>], indent: &str) -> anyhow::Result<()> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| format!("{cell:>width$}", width = widths[c]))
            .collect();
        writeln!(out, "{indent}{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::result::SeriesResult;
    use crate::compare::spec::{self, SeriesKind};
    use crate::machine::MachineInfo;
    use crate::result::{Calibration, Point};

    fn point(threads: usize, throughput: f64) -> Point {
        let mut p = Point::failed(threads, "");
        p.error = None;
        p.trials = 3;
        p.throughput_per_s = throughput;
        p
    }

    fn result() -> ComparisonResult {
        let text = std::fs::read_to_string(
            crate::preset::shipped_presets_dir().join("compare-gil-cpu.toml"),
        )
        .unwrap();
        let preset = spec::parse(&text, std::path::Path::new("c.toml")).unwrap();
        ComparisonResult {
            machine: MachineInfo::detect(),
            preset,
            calibration: Calibration {
                spin_units_per_us: 100.0,
                timer_cost_ns: 20.0,
            },
            thread_counts: vec![1, 2],
            series: vec![
                SeriesResult {
                    label: "Rust".into(),
                    kind: SeriesKind::Rust,
                    interpreter: None,
                    points: vec![point(1, 500.0), point(2, 1000.0)],
                    error: None,
                },
                SeriesResult {
                    label: "Python threads".into(),
                    kind: SeriesKind::PythonThreads,
                    interpreter: None,
                    points: Vec::new(),
                    error: Some("not run: no `python3` on PATH".into()),
                },
            ],
            cancelled: false,
            started_unix_s: 0,
            duration_s: 1.0,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn json_has_series_with_label_kind_and_sweep_points() {
        let bytes = export(&result(), Format::Json).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let series = json["series"].as_array().unwrap();
        assert_eq!(series[0]["label"], "Rust");
        assert_eq!(series[0]["kind"], "rust");
        assert_eq!(series[0]["points"][1]["throughput_per_s"], 1000.0);
        assert!(series[0]["points"][1]["latency_p50_us"].is_null());
        assert_eq!(series[1]["kind"], "python_threads");
        assert_eq!(series[1]["error"], "not run: no `python3` on PATH");
        assert!(json["machine"]["logical_cpus"].as_u64().unwrap() >= 1);
        assert!(json["machine"]["physical_cpus"].as_u64().unwrap() >= 1);
        assert_eq!(json["preset"]["series"][0]["kind"], "rust");
        let back: ComparisonResult = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back.series[0].points[1].throughput_per_s, 1000.0);
    }

    #[test]
    fn table_shows_speedup_efficiency_and_what_is_missing() {
        let text = String::from_utf8(export(&result(), Format::Table).unwrap()).unwrap();
        assert!(text.contains("2.00×"), "{text}");
        assert!(text.contains("100%"), "{text}");
        assert!(text.contains("not run: no `python3` on PATH"), "{text}");
        assert!(text.contains("speedup X(N)/X(1) by series"), "{text}");
    }

    #[test]
    fn csv_has_one_row_per_point_and_one_per_failed_series() {
        let text = String::from_utf8(export(&result(), Format::Csv).unwrap()).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().unwrap().clone();
        assert_eq!(headers.len(), csv_columns().len());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 3);
        let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
        assert_eq!(&rows[1][column("speedup")], "2.000");
        assert_eq!(&rows[1][column("efficiency")], "1.000");
        assert_eq!(&rows[2][column("kind")], "python_threads");
        assert!(rows[2][column("error")].contains("python3"));
    }
}
