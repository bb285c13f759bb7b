//! JSON: the engine's own format, the [`SweepResult`] as is (NaN written as `null`), with the
//! model's [`Recommendation`] added under the top-level key `recommendation`. A reader that
//! wants only the result deserializes a [`SweepResult`] from the same file: the extra key is
//! ignored.

use serde::Serialize;

use super::Exporter;
use crate::model::{self, ModelOptions, Recommendation};
use crate::result::SweepResult;

/// Writes the whole result and its recommendation as pretty JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonExporter {
    /// The options the recommendation is made with.
    pub model: ModelOptions,
}

/// What the JSON file holds: every field of the [`SweepResult`] at the top level, and
/// `recommendation`.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    /// The sweep, its fields flattened into the top level.
    #[serde(flatten)]
    pub result: &'a SweepResult,
    /// What the model makes of it.
    pub recommendation: Recommendation,
}

impl Exporter for JsonExporter {
    fn export(&self, result: &SweepResult) -> anyhow::Result<Vec<u8>> {
        let report = JsonReport {
            result,
            recommendation: model::recommend(result, &self.model),
        };
        let mut bytes = serde_json::to_vec_pretty(&report)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}
