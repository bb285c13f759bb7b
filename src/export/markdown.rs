//! Markdown: GitHub-style tables of a result (`--format markdown`, `--export-markdown FILE`),
//! for pasting into an issue, a pull request or a README. A sweep: what ran, the
//! recommendation sentence, the table of points, then the numbers behind the recommendation.
//! A comparison: a table per series, then every series' speedup side by side. A worker-cost
//! run: its table, then Python and the notes.
//!
//! The cells and sentences are the text table's own ([`super::table`]'s grids and
//! recommendation lines), every column shown; only the layout differs. A `|` or a line break
//! in a cell is escaped, so that every row has as many cells as the header.

use std::fmt::Write as _;

use super::Exporter;
use super::table::{self, Grid, GridRow};
use crate::cost::CostResult;
use crate::model::{self, ModelOptions};
use crate::result::SweepResult;
use crate::result::comparison::ComparisonResult;

/// Writes a result as Markdown tables.
#[derive(Debug, Clone, Copy, Default)]
pub struct MarkdownExporter {
    /// The options a sweep's recommendation is made with.
    pub model: ModelOptions,
}

/// `text` safe in a table cell: `|` escaped, line breaks as `<br>`, no edge spaces.
fn cell(text: &str) -> String {
    text.trim()
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace('\n', "<br>")
}

/// Writes `grid` as a GitHub table: the first `left_columns` columns left-aligned, the
/// others (numbers) right-aligned. A row carrying a message puts it in its second cell and
/// leaves the others empty.
fn write_table(out: &mut String, grid: &Grid, left_columns: usize) -> std::fmt::Result {
    let columns = grid.header.len();
    let line = |cells: Vec<String>| format!("| {} |", cells.join(" | "));
    writeln!(
        out,
        "{}",
        line(grid.header.iter().map(|h| cell(h)).collect())
    )?;
    let rule = (0..columns)
        .map(|c| if c < left_columns { ":---" } else { "---:" }.to_owned())
        .collect();
    writeln!(out, "{}", line(rule))?;
    for row in &grid.rows {
        let mut cells: Vec<String> = match row {
            GridRow::Cells(cells) => cells.iter().map(|c| cell(c)).collect(),
            GridRow::Message(first, message) => vec![cell(first), cell(message)],
        };
        cells.resize(columns, String::new());
        writeln!(out, "{}", line(cells))?;
    }
    Ok(())
}

/// A paragraph: the lines of prose as one, then a blank line.
fn write_paragraph(out: &mut String, lines: &[String]) -> std::fmt::Result {
    writeln!(out, "{}", lines.join("  \n"))?;
    writeln!(out)
}

impl Exporter<SweepResult> for MarkdownExporter {
    fn export(&self, result: &SweepResult) -> anyhow::Result<Vec<u8>> {
        let mut out = String::new();
        let [what, machine] = table::sweep_heading(result);
        writeln!(out, "### {what}")?;
        writeln!(out)?;
        write_paragraph(&mut out, &[machine])?;
        let recommendation = model::recommend(result, &self.model);
        let unit = model::throughput_unit(&result.preset.workload);
        let (sentence, details) =
            table::recommendation_lines(&recommendation, &result.outcome.warnings, unit);
        write_paragraph(&mut out, &[format!("**Recommendation:** {sentence}")])?;
        write_table(&mut out, &table::sweep_grid(result), 0)?;
        writeln!(out)?;
        if let Some(stopped) = table::sweep_stopped(result) {
            write_paragraph(&mut out, &[stopped])?;
        }
        for detail in details {
            writeln!(out, "- {detail}")?;
        }
        Ok(out.into_bytes())
    }
}

impl Exporter<ComparisonResult> for MarkdownExporter {
    fn export(&self, result: &ComparisonResult) -> anyhow::Result<Vec<u8>> {
        let mut out = String::new();
        let heading = table::comparison_heading(result);
        if let Some((name, rest)) = heading.split_first() {
            writeln!(out, "### {name}")?;
            writeln!(out)?;
            write_paragraph(&mut out, rest)?;
        }
        for (index, series) in result.series.iter().enumerate() {
            writeln!(out, "#### {}", table::series_heading(index, series))?;
            writeln!(out)?;
            let (grid, notes) = table::series_grid(series);
            if !grid.rows.is_empty() {
                write_table(&mut out, &grid, 0)?;
                writeln!(out)?;
            }
            if !notes.is_empty() {
                for note in notes {
                    writeln!(out, "- {note}")?;
                }
                writeln!(out)?;
            }
        }
        if let Some(mut grid) = table::summary_grid(result) {
            // A column per series, named in full: a reader of a pasted table has no numbers
            // to look up.
            for (name, series) in grid.header.iter_mut().skip(1).zip(&result.series) {
                *name = format!("{name} {}", series.label);
            }
            writeln!(out, "#### speedup X(N)/X(1) by series")?;
            writeln!(out)?;
            write_table(&mut out, &grid, 0)?;
            writeln!(out)?;
        }
        if result.outcome.cancelled {
            writeln!(out, "{}", table::COMPARISON_STOPPED)?;
        }
        Ok(out.into_bytes())
    }
}

impl Exporter<CostResult> for MarkdownExporter {
    fn export(&self, result: &CostResult) -> anyhow::Result<Vec<u8>> {
        let mut out = String::new();
        let [what, stack] = table::cost_heading(result);
        writeln!(out, "### {what}")?;
        writeln!(out)?;
        write_paragraph(&mut out, &[stack])?;
        let (grid, notes) = table::cost_grid(result);
        write_table(&mut out, &grid, 2)?;
        writeln!(out)?;
        if let Some(switches) = table::cost_switch_grid(result) {
            write_table(&mut out, &switches, 1)?;
            writeln!(out)?;
        }
        let mut after: Vec<String> = table::cost_python(result).into_iter().collect();
        after.extend(notes.into_iter().map(|note| format!("note: {note}")));
        for line in after {
            writeln!(out, "- {line}")?;
        }
        if result.outcome.cancelled {
            writeln!(out)?;
            writeln!(out, "{}", table::COST_STOPPED)?;
        }
        Ok(out.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixtures;
    use crate::model::fixtures::{WEB, result, web_points};
    use crate::result::Point;

    /// The cells of a Markdown table row, split at the `|` that are not escaped.
    fn cells(row: &str) -> Vec<String> {
        let inner = row
            .strip_prefix("| ")
            .and_then(|r| r.strip_suffix(" |"))
            .unwrap_or_else(|| panic!("not a table row: {row:?}"));
        let mut cells = vec![String::new()];
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    cells.last_mut().unwrap().push(c);
                    if let Some(next) = chars.next() {
                        cells.last_mut().unwrap().push(next);
                    }
                }
                '|' => cells.push(String::new()),
                _ => cells.last_mut().unwrap().push(c),
            }
        }
        cells.into_iter().map(|c| c.trim().to_owned()).collect()
    }

    /// Every table in `text`: its rows, each as its cells.
    fn tables(text: &str) -> Vec<Vec<Vec<String>>> {
        let mut tables: Vec<Vec<Vec<String>>> = Vec::new();
        let mut in_table = false;
        for line in text.lines() {
            if line.starts_with('|') {
                if !in_table {
                    tables.push(Vec::new());
                }
                tables.last_mut().unwrap().push(cells(line));
                in_table = true;
            } else {
                in_table = false;
            }
        }
        tables
    }

    fn markdown<R>(r: &R) -> String
    where
        MarkdownExporter: Exporter<R>,
    {
        String::from_utf8(MarkdownExporter::default().export(r).unwrap()).unwrap()
    }

    #[test]
    fn every_row_of_every_table_has_as_many_cells_as_its_header() {
        let mut sweep = result(web_points(), WEB);
        // A reason with pipes and a line break, which would add cells and end the row.
        sweep
            .points
            .push(Point::failed(48, "exit | status 1\nsee log|2"));
        let texts = [
            markdown(&sweep),
            markdown(&fixtures::comparison()),
            markdown(&fixtures::cost()),
        ];
        for text in &texts {
            let found = tables(text);
            assert!(!found.is_empty(), "{text}");
            for table in found {
                assert!(table.len() >= 3, "a header, its rule and a row: {table:?}");
                for row in &table {
                    assert_eq!(row.len(), table[0].len(), "{row:?} in\n{text}");
                }
                assert!(table[1].iter().all(|c| c == "---:" || c == ":---"));
            }
        }
        let sweep_text = &texts[0];
        assert!(
            sweep_text.contains("| 48 | failed: exit \\| status 1<br>see log\\|2 |"),
            "{sweep_text}"
        );
    }

    #[test]
    fn a_sweep_says_its_recommendation_above_the_table() {
        let text = markdown(&result(web_points(), WEB));
        let sentence = text.find("**Recommendation:** Use 20 threads").unwrap();
        let table = text.find("| threads |").unwrap();
        assert!(sentence < table, "{text}");
        assert!(text.contains("\n- recommended threads: 20 (best measured: 24)\n"));
        let rows = &tables(&text)[0];
        assert_eq!(rows.len(), 2 + web_points().len());
        assert_eq!(rows[2][0], "1");
    }
}
