//! Writing results: one file per format behind the [`Exporter`] trait (JSON, the engine's
//! own format plus the model's recommendation; CSV, one row per point; a text table for the
//! terminal with the recommendation under it).

mod csv_format;
mod json;
mod table;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod golden;

pub use csv_format::{CSV_COLUMNS, CsvExporter, csv_row};
pub use json::{JsonExporter, JsonReport};
pub use table::TableExporter;

use crate::model::ModelOptions;
use crate::result::SweepResult;

/// Output formats of `pooltune sweep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for the terminal.
    Table,
    /// The full result (machine, preset, points) and the recommendation, documented in the
    /// README.
    Json,
    /// One row per point, the same field names as JSON.
    Csv,
}

/// Turns a sweep result into bytes of one format.
pub trait Exporter {
    /// Serializes the result.
    fn export(&self, result: &SweepResult) -> anyhow::Result<Vec<u8>>;
}

/// The exporter of a format, with the model's default options (U = 1, no latency target).
pub fn exporter(format: Format) -> Box<dyn Exporter> {
    exporter_with_model(format, ModelOptions::default())
}

/// The exporter of a format; the table and JSON include the recommendation made with `model`.
pub fn exporter_with_model(format: Format, model: ModelOptions) -> Box<dyn Exporter> {
    match format {
        Format::Table => Box::new(TableExporter { model }),
        Format::Json => Box::new(JsonExporter { model }),
        Format::Csv => Box::new(CsvExporter),
    }
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
    use crate::model::fixtures::{WEB, result, web_points};

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
        assert_eq!(object.len(), expected.as_object().unwrap().len() + 1);
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
        assert!(table.contains("threads"), "{text}");
        assert!(below.starts_with("Use 20 threads: "), "{text}");
        assert!(
            below.contains("  recommended threads: 20 (best measured: 24)\n"),
            "{text}"
        );
        assert!(
            below.contains("  formula: N = N_cpu × U × (1 + W/C) = 2 × 1.00 × (1 + 9.00) = 20.0; W/C measured 9.00, configured 9.00\n"),
            "{text}"
        );
        assert!(below.contains("  USL fit: σ = "), "{text}");
        assert!(
            below.contains("  CPUs: 2 usable (N_cpu), 2 physical, 4 logical\n"),
            "{text}"
        );
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
}
