//! Writing results: one file per format ([`json`], [`csv_format`], [`table`]), each a type
//! implementing the one [`Exporter`] trait for every result kind pooltune makes (a sweep, a
//! comparison, a worker-cost run), in the shape of hyperfine's `src/export`. The sweep's JSON
//! and table carry the model's recommendation; comparisons and costs are written as they are.
//!
//! Exporters only format: they never measure, never read files and never print; [`outputs`]
//! writes what they make to standard output and files, and [`width`] fits the text table to
//! the terminal.

mod code;
mod csv_format;
mod json;
mod markdown;
pub mod outputs;
mod table;
pub mod width;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod golden;

pub use code::{COST_HAS_NO_CODE, CodeExporter};
pub use csv_format::{COST_CSV_COLUMNS, CSV_COLUMNS, CsvExporter, comparison_csv_columns, csv_row};
pub use json::{JsonExporter, JsonReport};
pub use markdown::MarkdownExporter;
pub use outputs::{ExportFile, OutputError, Outputs};
pub use table::{TableExporter, write_recommendation};

use crate::model::ModelOptions;

/// Output formats of `pooltune sweep`, `compare` and `cost`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for the terminal.
    Table,
    /// The full result (machine, preset, points) and, for a sweep, the recommendation,
    /// documented in the README.
    Json,
    /// One row per point (or per worker-cost entry), the same field names as JSON.
    Csv,
    /// A GitHub-style table with the recommendation sentence above it.
    Markdown,
    /// The recommendation as code to paste: the pool of what was measured sized to the
    /// recommended count, and a fixed pool in the common languages.
    Code,
}

/// Turns a result of kind `R` (a [`crate::result::SweepResult`], a
/// [`crate::result::comparison::ComparisonResult`], a [`crate::cost::CostResult`]) into the
/// bytes of one format.
pub trait Exporter<R> {
    /// Serializes the result.
    fn export(&self, result: &R) -> anyhow::Result<Vec<u8>>;
}

/// The exporter of a format, with the model's default options (U = 1, no latency target).
pub fn exporter<R>(format: Format) -> Box<dyn Exporter<R>>
where
    TableExporter: Exporter<R>,
    JsonExporter: Exporter<R>,
    CsvExporter: Exporter<R>,
    MarkdownExporter: Exporter<R>,
    CodeExporter: Exporter<R>,
{
    exporter_with_model(format, ModelOptions::default())
}

/// The exporter of a format; a sweep's table and JSON include the recommendation made with
/// `model`.
pub fn exporter_with_model<R>(format: Format, model: ModelOptions) -> Box<dyn Exporter<R>>
where
    TableExporter: Exporter<R>,
    JsonExporter: Exporter<R>,
    CsvExporter: Exporter<R>,
    MarkdownExporter: Exporter<R>,
    CodeExporter: Exporter<R>,
{
    exporter_fitted(format, model, None)
}

/// The exporter of a format as [`exporter_with_model`] makes it, with a text table fitted to
/// `width` characters (the terminal's); None, and every other format, at full width.
pub fn exporter_fitted<R>(
    format: Format,
    model: ModelOptions,
    width: Option<usize>,
) -> Box<dyn Exporter<R>>
where
    TableExporter: Exporter<R>,
    JsonExporter: Exporter<R>,
    CsvExporter: Exporter<R>,
    MarkdownExporter: Exporter<R>,
    CodeExporter: Exporter<R>,
{
    match format {
        Format::Table => Box::new(TableExporter { model, width }),
        Format::Json => Box::new(JsonExporter { model }),
        Format::Csv => Box::new(CsvExporter),
        Format::Markdown => Box::new(MarkdownExporter { model }),
        Format::Code => Box::new(CodeExporter { model }),
    }
}

/// `result` in `format`, with the model's default options: the one call for a comparison or a
/// worker-cost result, which the model does not read.
pub fn export<R>(result: &R, format: Format) -> anyhow::Result<Vec<u8>>
where
    TableExporter: Exporter<R>,
    JsonExporter: Exporter<R>,
    CsvExporter: Exporter<R>,
    MarkdownExporter: Exporter<R>,
    CodeExporter: Exporter<R>,
{
    exporter(format).export(result)
}

/// A float as text for CSV and tables: empty when unknown (NaN).
pub(crate) fn number(value: f64, decimals: usize) -> String {
    if value.is_finite() {
        format!("{value:.decimals$}")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::csv_format::CSV_COLUMNS;
    use super::*;
    use crate::cost::CostResult;
    use crate::model::fixtures::{WEB, assert_contains, assert_starts_with, result, web_points};
    use crate::result::SweepResult;
    use crate::result::comparison::ComparisonResult;

    fn export_text(format: Format, model: ModelOptions) -> String {
        let bytes = exporter_with_model(format, model)
            .export(&result(web_points(), WEB))
            .unwrap();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn json_is_the_result_plus_a_recommendation() {
        let sweep = result(web_points(), WEB);
        let text = export_text(Format::Json, ModelOptions::default());
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let object = json.as_object().unwrap();
        let expected = serde_json::to_value(&sweep).unwrap();
        for (key, value) in expected.as_object().unwrap() {
            assert_eq!(object.get(key), Some(value), "top-level `{key}`");
        }
        assert_eq!(object.len(), expected.as_object().unwrap().len() + 2);
        let rec = &json["recommendation"];
        assert_eq!(rec["recommended_threads"], 20);
        assert_eq!(rec["best_measured_threads"], 24);
        assert_eq!(rec["formula_threads"], 20.0);
        assert_eq!(rec["measured_wait_over_compute"], 9.0);
        assert_eq!(rec["utilization_target"], 1.0);
        assert!(rec["usl"]["sigma"].is_number());
        assert!(rec["usl_unavailable_reason"].is_null());
        // A reader of the plain result still reads the file; the extra key is ignored.
        let back: SweepResult = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), expected);
    }

    #[test]
    fn json_carries_the_model_options() {
        let options = ModelOptions {
            utilization_target: 0.5,
            p99_target_us: Some(11_000.0),
        };
        let json: serde_json::Value =
            serde_json::from_str(&export_text(Format::Json, options)).unwrap();
        let rec = &json["recommendation"];
        assert_eq!(rec["utilization_target"], 0.5);
        assert_eq!(rec["formula_threads"], 10.0);
        assert_eq!(rec["latency_target"]["p99_target_us"], 11_000.0);
        assert_eq!(rec["latency_target"]["threads"], 12);
    }

    #[test]
    fn table_ends_with_the_recommendation() {
        let text = export_text(Format::Table, ModelOptions::default());
        let (table, below) = text.split_once("\nrecommendation: ").unwrap();
        assert_contains(table, "threads");
        assert_starts_with(below, "Use 20 threads: ");
        for line in [
            "  recommended threads: 20 (best measured: 24)\n",
            "  formula: N = N_cpu × U × (1 + W/C) = 2 × 1.00 × (1 + 9.00) = 20.0; W/C measured 9.00, configured 9.00\n",
            "  USL fit: σ = ",
            "  CPUs: 2 usable (N_cpu), 2 physical, 4 logical\n",
        ] {
            assert_contains(below, line);
        }
        assert!(!below.contains("p99 under"), "{text}");
    }

    #[test]
    fn table_says_why_there_is_no_fit() {
        let points = web_points().into_iter().take(3).collect();
        let bytes = exporter(Format::Table)
            .export(&result(points, WEB))
            .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.contains("  USL fit: unavailable: the scalability fit needs throughput measured at 4 or more distinct thread counts, and this sweep has 3 (1, 2, 4)"),
            "{text}"
        );
    }

    #[test]
    fn csv_is_unchanged_by_the_model() {
        let text = export_text(Format::Csv, ModelOptions::default());
        assert!(!text.contains("recommend"));
        assert_eq!(text.lines().count(), 1 + web_points().len());
        assert_eq!(text.lines().next().unwrap(), CSV_COLUMNS.join(","));
    }

    #[test]
    fn comparison_json_has_series_with_label_kind_and_sweep_points() {
        let bytes = export(&fixtures::comparison(), Format::Json).unwrap();
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
    fn comparison_table_shows_speedup_efficiency_and_what_is_missing() {
        let text =
            String::from_utf8(export(&fixtures::comparison(), Format::Table).unwrap()).unwrap();
        assert!(text.contains("2.00×"), "{text}");
        assert!(text.contains("100%"), "{text}");
        assert!(text.contains("not run: no `python3` on PATH"), "{text}");
        assert!(text.contains("speedup X(N)/X(1) by series"), "{text}");
    }

    #[test]
    fn comparison_csv_has_one_row_per_point_and_one_per_failed_series() {
        let text =
            String::from_utf8(export(&fixtures::comparison(), Format::Csv).unwrap()).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().unwrap().clone();
        assert_eq!(headers.len(), comparison_csv_columns().len());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 3);
        let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
        assert_eq!(&rows[1][column("speedup")], "2.000");
        assert_eq!(&rows[1][column("efficiency")], "1.000");
        assert_eq!(&rows[2][column("kind")], "python_threads");
        assert!(rows[2][column("error")].contains("python3"));
    }

    #[test]
    fn cost_json_has_the_documented_lists_and_fields() {
        let bytes = export(&fixtures::cost(), Format::Json).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        for list in ["threads", "processes", "python_threads", "python_processes"] {
            assert!(json[list].is_array(), "{list}");
        }
        let fork = &json["python_processes"][0];
        assert_eq!(fork["start_method"], "fork");
        // The CSV's columns between the method and the error are the JSON field names: a
        // worker's seven, then a switch cost's three.
        let fields = &COST_CSV_COLUMNS[2..COST_CSV_COLUMNS.len() - 1];
        assert_eq!(fields.len(), 10);
        for field in &fields[..7] {
            assert!(fork.get(field).is_some(), "{field}");
        }
        let mut with_switch = fixtures::cost();
        with_switch.switches = vec![crate::cost::SwitchCost::measured(
            crate::cost::WorkerKind::TokioTask,
            10,
            std::time::Duration::from_millis(1),
        )];
        let bytes = export(&with_switch, Format::Json).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        for field in &fields[7..] {
            assert!(json["switches"][0].get(field).is_some(), "{field}");
        }
        let back: CostResult = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back.python_processes, fixtures::cost().python_processes);
    }

    #[test]
    fn cost_csv_has_one_row_per_entry_and_table_notes_errors() {
        let text = String::from_utf8(export(&fixtures::cost(), Format::Csv).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // Four worker rows, then the fixture's two ping-pongs.
        assert_eq!(lines.len(), 1 + 4 + 2);
        assert_eq!(lines[0], COST_CSV_COLUMNS.join(","));
        assert!(lines[4].starts_with("python_process,fork,10,40.000,90.000,12288,4096,"));
        assert!(lines[5].starts_with("rust_thread,"), "{text}");
        assert!(lines[5].contains(",20000,200000,10000.0,"), "{text}");
        assert!(lines[6].ends_with(",python3 not found"), "{text}");
        let table = String::from_utf8(export(&fixtures::cost(), Format::Table).unwrap()).unwrap();
        assert!(table.contains("Rust process, N = 10: no exe"), "{table}");
        assert!(table.contains("Python process  fork"), "{table}");
        assert!(table.contains("not measured: python3 not found"), "{table}");
        // The Markdown has the switch table too: a measured row and the failed one's reason.
        let md = String::from_utf8(export(&fixtures::cost(), Format::Markdown).unwrap()).unwrap();
        assert!(
            md.contains("| switch (ping-pong) | round trips | switches/s | round trip ns |"),
            "{md}"
        );
        assert!(
            md.contains("| Rust thread | 20000 | 200000 | 10000 |"),
            "{md}"
        );
        assert!(md.contains("not measured: python3 not found"), "{md}");
    }
}
