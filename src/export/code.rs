//! The answer as code (`--format code`): the recommended thread count as the lines a user
//! pastes, for the pool that was measured and a fixed pool in the common languages.
//!
//! SKELETON: the exporter is written on branch i13-code.

use super::Exporter;
use crate::cost::CostResult;
use crate::model::ModelOptions;
use crate::result::SweepResult;
use crate::result::comparison::ComparisonResult;

/// Writes a result's recommendation as code snippets.
#[derive(Debug, Clone, Copy, Default)]
pub struct CodeExporter {
    /// The options a sweep's recommendation is made with.
    pub model: ModelOptions,
}

impl Exporter<SweepResult> for CodeExporter {
    fn export(&self, _result: &SweepResult) -> anyhow::Result<Vec<u8>> {
        anyhow::bail!("code export is not built yet")
    }
}

impl Exporter<ComparisonResult> for CodeExporter {
    fn export(&self, _result: &ComparisonResult) -> anyhow::Result<Vec<u8>> {
        anyhow::bail!("code export is not built yet")
    }
}

impl Exporter<CostResult> for CodeExporter {
    fn export(&self, _result: &CostResult) -> anyhow::Result<Vec<u8>> {
        anyhow::bail!("code export is not built yet")
    }
}
