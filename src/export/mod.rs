//! Writing results: one file per format behind the [`Exporter`] trait (JSON, the engine's
//! own format; CSV, one row per point; a text table for the terminal).

mod csv_format;
mod json;
mod table;

pub use csv_format::{CSV_COLUMNS, CsvExporter, csv_row};
pub use json::JsonExporter;
pub use table::TableExporter;

use crate::result::SweepResult;

/// Output formats of `pooltune sweep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for the terminal.
    Table,
    /// The full result (machine, preset, points), documented in the README.
    Json,
    /// One row per point, the same field names as JSON.
    Csv,
}

/// Turns a sweep result into bytes of one format.
pub trait Exporter {
    /// Serializes the result.
    fn export(&self, result: &SweepResult) -> anyhow::Result<Vec<u8>>;
}

/// The exporter of a format.
pub fn exporter(format: Format) -> Box<dyn Exporter> {
    match format {
        Format::Table => Box::new(TableExporter),
        Format::Json => Box::new(JsonExporter),
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
