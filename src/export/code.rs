//! The answer as code (`--format code`): the recommended thread count as the lines a user
//! pastes, for the pool that was measured and a fixed pool in the common languages, one
//! block per language under a heading line. A sweep's snippets are its recommendation's
//! ([`crate::model::Recommendation::code`]); a comparison's, each series' at the knee of its
//! own curve; a worker-cost run recommends no count, so it has none and is refused.
//!
//! Formatting only: the snippets are [`crate::model::code`]'s.

use std::fmt::Write as _;

use super::Exporter;
use crate::cost::CostResult;
use crate::model::{self, CodeSnippet, ModelOptions};
use crate::result::SweepResult;
use crate::result::comparison::ComparisonResult;

/// Why `pooltune cost --format code` is refused: the CLI says it before the run, the
/// exporter if it is called anyway.
pub const COST_HAS_NO_CODE: &str = "--format code writes a recommended thread count as code, and a worker-cost run recommends none: for `pooltune cost` the allowed formats are table, json, csv and markdown";

/// Writes a result's recommendation as code snippets.
#[derive(Debug, Clone, Copy, Default)]
pub struct CodeExporter {
    /// The options a sweep's recommendation is made with.
    pub model: ModelOptions,
}

/// The blocks of `snippets`: `--- language ---`, the code, a blank line.
fn write_snippets(out: &mut String, snippets: &[CodeSnippet]) -> std::fmt::Result {
    for snippet in snippets {
        writeln!(out)?;
        writeln!(out, "--- {} ---", snippet.language)?;
        out.push_str(&snippet.snippet);
    }
    Ok(())
}

impl Exporter<SweepResult> for CodeExporter {
    fn export(&self, result: &SweepResult) -> anyhow::Result<Vec<u8>> {
        let rec = model::recommend(result, &self.model);
        let mut out = String::new();
        match rec.recommended_threads {
            Some(n) if !rec.code.is_empty() => {
                writeln!(
                    out,
                    "{}: the recommended {} as code, the measured pool first",
                    result.preset.name,
                    model::code::count_text(&result.preset.pool, n)
                )?;
                write_snippets(&mut out, &rec.code)?;
            }
            _ => writeln!(
                out,
                "{}: no code, since no thread count is recommended: {}",
                result.preset.name, rec.explanation
            )?,
        }
        Ok(out.into_bytes())
    }
}

impl Exporter<ComparisonResult> for CodeExporter {
    fn export(&self, result: &ComparisonResult) -> anyhow::Result<Vec<u8>> {
        let mut out = String::new();
        writeln!(
            out,
            "{}: each series' count as code, the knee of its own curve (the fewest threads within {:.0}% of its best throughput and not significantly below it)",
            result.preset.name,
            model::KNEE_TOLERANCE * 100.0
        )?;
        for (index, series) in result.series.iter().enumerate() {
            writeln!(out)?;
            let heading = format!("[{}] {} ({})", index + 1, series.label, series.kind);
            let knee = model::knee_threads(&series.points);
            let spec = result.preset.series.get(index);
            match (knee, spec) {
                (Some(n), Some(spec)) => {
                    writeln!(
                        out,
                        "{heading}: {}",
                        model::code::series_count_text(spec, n)
                    )?;
                    write_snippets(&mut out, &model::code::for_series(spec, n))?;
                }
                (None, _) => {
                    let why = series.error.as_deref().map_or_else(
                        || "no thread count was measured successfully".to_owned(),
                        |error| format!("no thread count was measured successfully ({error})"),
                    );
                    writeln!(out, "{heading}: no code: {why}")?;
                }
                (Some(_), None) => {
                    writeln!(out, "{heading}: no code: the preset has no such series")?;
                }
            }
        }
        Ok(out.into_bytes())
    }
}

impl Exporter<CostResult> for CodeExporter {
    fn export(&self, _result: &CostResult) -> anyhow::Result<Vec<u8>> {
        anyhow::bail!(COST_HAS_NO_CODE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{Format, export, fixtures};
    use crate::model::fixtures::{WEB, assert_contains, result, web_points};
    use crate::result::Point;

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn a_sweep_is_its_recommendation_in_blocks() {
        let sweep = result(web_points(), WEB);
        let out = text(export(&sweep, Format::Code).unwrap());
        let rec = model::recommend(&sweep, &ModelOptions::default());
        assert!(out.starts_with("test: the recommended 20 threads as code, the measured pool first\n\n--- Rust (rayon) ---\n"), "{out}");
        // Every snippet of the recommendation, each under its heading, in order.
        let mut rest = out.as_str();
        for snippet in &rec.code {
            let block = format!("--- {} ---\n{}", snippet.language, snippet.snippet);
            let at = rest
                .find(&block)
                .unwrap_or_else(|| panic!("{block} in order in {out}"));
            rest = &rest[at + block.len()..];
        }
        assert_eq!(rest, "");
    }

    #[test]
    fn a_sweep_with_nothing_measured_says_why_there_is_no_code() {
        let sweep = result(vec![Point::failed(2, "boom")], WEB);
        let out = text(export(&sweep, Format::Code).unwrap());
        assert_eq!(
            out,
            "test: no code, since no thread count is recommended: Nothing to recommend: no thread count was measured successfully.\n"
        );
    }

    #[test]
    fn a_comparison_gives_each_series_its_own_count() {
        let comparison = fixtures::comparison();
        let out = text(export(&comparison, Format::Code).unwrap());
        let first = model::knee_threads(&comparison.series[0].points).unwrap();
        assert_contains(
            &out,
            &format!(
                "[1] Rust (rust): {}\n\n--- Rust (rayon) ---\n",
                crate::words::counted_usize(first, "thread", "threads")
            ),
        );
        assert_contains(&out, &format!(".num_threads({first})"));
        assert_contains(
            &out,
            "[2] Python threads (python_threads): no code: no thread count was measured successfully (not run: no `python3` on PATH)\n",
        );
    }

    #[test]
    fn a_cost_run_is_refused_naming_the_allowed_formats() {
        let err = export(&fixtures::cost(), Format::Code).unwrap_err();
        assert_contains(&err.to_string(), "--format code");
        assert_contains(&err.to_string(), "table, json, csv and markdown");
    }
}
