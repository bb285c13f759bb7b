//! Writing a worker-cost result: the formats are [`crate::export`]'s, each of its exporters
//! serving a [`CostResult`] too. This module only keeps the names `cost` re-exports.

use super::CostResult;
use crate::export::Format;

/// The CSV columns, in order; after `kind`, the names are the JSON field names.
// SHIM(issue 11): use `crate::export::COST_CSV_COLUMNS` (cost/mod.rs re-exports this name).
pub const CSV_COLUMNS: [&str; 10] = crate::export::COST_CSV_COLUMNS;

/// Serializes a worker-cost result in one format.
// SHIM(issue 11): call `crate::export::export` (cost/mod.rs re-exports this name).
pub fn export(result: &CostResult, format: Format) -> anyhow::Result<Vec<u8>> {
    crate::export::export(result, format)
}
