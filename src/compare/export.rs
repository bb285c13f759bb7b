//! Writing a comparison: the formats are [`crate::export`]'s, each of its exporters serving a
//! [`ComparisonResult`] too. This module only keeps the names other modules still call.

use super::result::ComparisonResult;
use crate::export::Format;

/// Serializes a comparison result in one of the sweep's formats.
// SHIM(issue 11): call `crate::export::export` (ui/compare.rs still calls this).
pub fn export(result: &ComparisonResult, format: Format) -> anyhow::Result<Vec<u8>> {
    crate::export::export(result, format)
}

/// Columns of the CSV: which series, then the sweep's point columns, then the two views.
// SHIM(issue 11): call `crate::export::comparison_csv_columns` (tests/app_compare.rs calls this).
pub fn csv_columns() -> Vec<&'static str> {
    crate::export::comparison_csv_columns()
}
