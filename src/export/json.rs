//! JSON: every result as it is (NaN written as `null`), pretty-printed and ending in a newline.
//! A sweep adds the model's [`Recommendation`] under the top-level key `recommendation`; a
//! reader that wants only the result deserializes a [`SweepResult`] from the same file: the
//! extra key is ignored.

use serde::Serialize;

use super::Exporter;
use crate::cost::CostResult;
use crate::model::{self, ModelOptions, Recommendation};
use crate::result::comparison::ComparisonResult;
use crate::result::{RESULT_FORMAT_VERSION, SweepResult};

/// Writes the whole result (and a sweep's recommendation) as pretty JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonExporter {
    /// The options a sweep's recommendation is made with.
    pub model: ModelOptions,
}

/// What a sweep's JSON file holds: every field of the [`SweepResult`] at the top level, and
/// `recommendation`.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    /// [`crate::result::RESULT_FORMAT_VERSION`], first in the file.
    pub format_version: u32,
    /// The sweep, its fields flattened into the top level.
    #[serde(flatten)]
    pub result: &'a SweepResult,
    /// What the model makes of it.
    pub recommendation: Recommendation,
}

/// A comparison's or a worker-cost run's JSON: `format_version` first, then the result's
/// fields.
#[derive(Debug, Serialize)]
struct Versioned<'a, R> {
    format_version: u32,
    #[serde(flatten)]
    result: &'a R,
}

/// `value` as pretty JSON with a final newline.
fn pretty(value: &impl Serialize) -> anyhow::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    Ok(bytes)
}

impl Exporter<SweepResult> for JsonExporter {
    fn export(&self, result: &SweepResult) -> anyhow::Result<Vec<u8>> {
        pretty(&JsonReport {
            format_version: RESULT_FORMAT_VERSION,
            result,
            recommendation: model::recommend(result, &self.model),
        })
    }
}

impl Exporter<ComparisonResult> for JsonExporter {
    /// The [`ComparisonResult`] as is: `series[]`, each with `label`, `kind`, `interpreter`,
    /// `error` and `points[]` with the sweep's point fields.
    fn export(&self, result: &ComparisonResult) -> anyhow::Result<Vec<u8>> {
        pretty(&Versioned {
            format_version: RESULT_FORMAT_VERSION,
            result,
        })
    }
}

impl Exporter<CostResult> for JsonExporter {
    /// The [`CostResult`] as is.
    fn export(&self, result: &CostResult) -> anyhow::Result<Vec<u8>> {
        pretty(&Versioned {
            format_version: RESULT_FORMAT_VERSION,
            result,
        })
    }
}
