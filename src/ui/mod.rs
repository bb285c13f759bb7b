//! The desktop app's widgets, one file per part of the window: the configuration side panel
//! (`config`), the sweep plots (`plots`), the live readings (`live`), the runs list and
//! results table (`results`), the progress bar of a run (`progress`), the Compare tab's chart, table and series list (`compare`) and
//! the Worker cost tab's inputs, plots and table (`cost`), plus the session's runs
//! (`session`) and number formatting (`format`), which hold no egui at all; the legend drawn
//! beside a plot (`legend`) and the plots' axis decisions as pure functions (`axis`),
//! and which presets the picker offers (`picker`), also pure.
//!
//! Widgets only: drawing functions end in `_ui`, edit what they are given in place and return
//! small actions of their own (such as [`ExportTarget`], `config::ConfigAction`,
//! `results::RunsAction`) for anything else. None of them starts the engine, reads or writes a
//! file, or waits on a thread, and nothing here imports the app module: the app's
//! tabs hold the runs and turn these actions into commands.

pub mod axis;
pub mod compare;
pub mod config;
pub mod cost;
pub mod format;
pub mod legend;
pub mod live;
pub mod picker;
pub mod plots;
pub mod progress;
pub mod replay;
pub mod results;
pub mod session;
pub mod tune;

use eframe::egui;

/// What a button of [`export_row`] asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportTarget {
    /// The result's data, in a file format.
    Data(crate::export::Format),
    /// A PNG of the plots as they are shown.
    Png,
    /// A file chosen in the Save dialog ("Save as…"), whose extension picks one of the above.
    Choose,
}

/// What each button of an [`export_row`] says when hovered.
pub struct ExportTips {
    /// The CSV button.
    pub csv: &'static str,
    /// The JSON button.
    pub json: &'static str,
    /// The PNG button.
    pub png: &'static str,
}

/// A scrolling, striped table whose first row is `columns` (bold headings with their hover
/// text), then `last_heading` over the extra last column (errors and notes) when given. The
/// Sweep tab's results and the Worker cost tab's figures are both drawn this way.
pub struct HeadedTable<'a> {
    /// The scroll area's id.
    pub scroll_id: &'static str,
    /// The grid's id.
    pub grid_id: &'static str,
    /// Each column's heading and hover text.
    pub columns: &'a [(&'a str, &'a str)],
    /// The heading of the extra last column, if it has one.
    pub last_heading: Option<&'a str>,
    /// True when a short table may take only the height its rows need.
    pub shrink_height: bool,
    /// Narrowest a column may be, in points (egui's default when None).
    pub min_col_width: Option<f32>,
}

impl HeadedTable<'_> {
    /// Draws the header row, then `rows`, which ends each row with `ui.end_row()`.
    pub fn ui(&self, ui: &mut egui::Ui, rows: impl FnOnce(&mut egui::Ui)) {
        egui::ScrollArea::both()
            .id_salt(self.scroll_id)
            .auto_shrink([false, self.shrink_height])
            .show(ui, |ui| {
                let mut grid = egui::Grid::new(self.grid_id)
                    .striped(true)
                    .num_columns(self.columns.len() + 1);
                if let Some(width) = self.min_col_width {
                    grid = grid.min_col_width(width);
                }
                grid.show(ui, |ui| {
                    for (heading, tip) in self.columns {
                        ui.label(egui::RichText::new(*heading).strong())
                            .on_hover_text(*tip);
                    }
                    if let Some(heading) = self.last_heading {
                        ui.label(egui::RichText::new(heading).strong());
                    }
                    ui.end_row();
                    rows(ui);
                });
            });
    }
}

/// "Export to [file name] CSV JSON PNG", the same on every tab. The data buttons need a
/// result (a finished or stopped run); every button needs a file name. Returns the button
/// clicked and the path with the extension that button sets.
pub fn export_row(
    ui: &mut eframe::egui::Ui,
    path_text: &mut String,
    has_result: bool,
    tips: &ExportTips,
) -> Option<(ExportTarget, std::path::PathBuf)> {
    use crate::export::Format;
    use eframe::egui;

    let mut clicked = None;
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("Export to").on_hover_text(
            "File name for the export; the extension (.csv, .json, .png) is set by the button.",
        );
        ui.add(egui::TextEdit::singleline(path_text).desired_width(160.0))
            .labelled_by(label.id);
        let path = std::path::PathBuf::from(path_text.trim());
        let usable = !path_text.trim().is_empty();
        for (target, text, tip) in [
            (ExportTarget::Data(Format::Csv), "CSV", tips.csv),
            (ExportTarget::Data(Format::Json), "JSON", tips.json),
        ] {
            if ui
                .add_enabled(has_result && usable, egui::Button::new(text))
                .on_hover_text(tip)
                .on_disabled_hover_text(
                    "Available once the run has finished or been stopped, with a file name typed.",
                )
                .clicked()
            {
                clicked = Some(target);
            }
        }
        if ui
            .add_enabled(usable, egui::Button::new("PNG"))
            .on_hover_text(tips.png)
            .clicked()
        {
            clicked = Some(ExportTarget::Png);
        }
        if ui
            .button("Save as…")
            .on_hover_text("Choose the file in the desktop's Save dialog; its extension (.json, .csv, .png) picks the format. Where no dialog can be shown, type the name on the left instead.")
            .clicked()
        {
            clicked = Some(ExportTarget::Choose);
        }
        clicked.map(|target| match target {
            ExportTarget::Data(format) => (target, path.with_extension(extension(format))),
            ExportTarget::Png => (target, path.with_extension("png")),
            // The typed name, as the dialog's starting point.
            ExportTarget::Choose => (target, path.clone()),
        })
    })
    .inner
}

/// The file extension an export in `format` gets.
pub fn extension(format: crate::export::Format) -> &'static str {
    match format {
        crate::export::Format::Csv => "csv",
        crate::export::Format::Json => "json",
        crate::export::Format::Table => "txt",
        crate::export::Format::Markdown => "md",
        crate::export::Format::Code => "txt",
    }
}
