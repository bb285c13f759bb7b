//! JSON: the engine's own format, the [`SweepResult`] as is (NaN written as `null`).

use super::Exporter;
use crate::result::SweepResult;

/// Writes the whole result as pretty JSON.
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn export(&self, result: &SweepResult) -> anyhow::Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(result)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}
