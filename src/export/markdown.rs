//! Markdown: a GitHub-style table of the result, with a sweep's recommendation sentence above
//! it (`--format markdown`, `--export-markdown FILE`).
//!
//! SKELETON: the exporter is written on branch i13-export.

use super::Exporter;
use crate::cost::CostResult;
use crate::model::ModelOptions;
use crate::result::SweepResult;
use crate::result::comparison::ComparisonResult;

/// Writes a result as a Markdown table.
#[derive(Debug, Clone, Copy, Default)]
pub struct MarkdownExporter {
    /// The options a sweep's recommendation is made with.
    pub model: ModelOptions,
}

impl Exporter<SweepResult> for MarkdownExporter {
    fn export(&self, _result: &SweepResult) -> anyhow::Result<Vec<u8>> {
        anyhow::bail!("markdown export is not built yet")
    }
}

impl Exporter<ComparisonResult> for MarkdownExporter {
    fn export(&self, _result: &ComparisonResult) -> anyhow::Result<Vec<u8>> {
        anyhow::bail!("markdown export is not built yet")
    }
}

impl Exporter<CostResult> for MarkdownExporter {
    fn export(&self, _result: &CostResult) -> anyhow::Result<Vec<u8>> {
        anyhow::bail!("markdown export is not built yet")
    }
}
