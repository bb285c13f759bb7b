//! The views of the central area, one file each: the sweep (`sweep`), the comparison
//! (`compare`) and the worker cost (`cost`). Each tab holds its inputs, its store and its run
//! ([`crate::app::run::RunHandle`]) and implements [`Tab`], so that the shell treats them
//! alike: it draws them, polls their runs once a frame and hands them their commands after
//! the frame is drawn.
//!
//! A tab's drawing only edits its fields in place and returns [`Command`]s; its `run_cmd`
//! (called by the shell after the frame) is the only place that loads or writes files or
//! starts the engine. A tab never takes a screenshot itself: it asks the shell with
//! [`Reply::Screenshot`].

use std::path::{Path, PathBuf};

use eframe::egui;
use egui::Ui;

use crate::app::command::{Command, ExportTarget, Reply};
use crate::app::consent::CodeToRun;
use crate::export::Format;
use crate::ui::format::full_path;

pub mod compare;
pub mod cost;
pub mod sweep;

/// What the shell needs of every tab.
pub trait Tab {
    /// The name on the tab's button.
    fn title(&self) -> &'static str;

    /// The top bar's part left of the theme: the run's controls, or what Space does.
    fn top_bar_ui(&mut self, ui: &mut Ui, available_memory: u64) -> Vec<Command>;

    /// A panel on the window's left, drawn before the live readings (only the Sweep tab's
    /// configuration has one).
    fn side_panel_ui(&mut self, _ui: &mut Ui, _available_memory: u64) -> Vec<Command> {
        Vec::new()
    }

    /// The tab's view in the central area. `available_memory` is the monitor's last reading
    /// (drawing reads no file).
    fn ui(&mut self, ui: &mut Ui, available_memory: u64) -> Vec<Command>;

    /// Moves what the tab's run has sent into its store (every frame); says what to tell the
    /// user when the run could not run.
    fn poll(&mut self) -> Option<Reply>;

    /// True while the tab's run is being measured.
    fn is_running(&self) -> bool;

    /// True while a run is measured and the window may repaint on a timer.
    fn repaints_while_running(&self) -> bool {
        self.is_running()
    }

    /// True once a run of the tab has ended, however it ended (`--screenshot` waits for it).
    fn has_ended(&self) -> bool;

    /// What Space asks for: run when idle, stop when running.
    fn toggle_run(&self) -> Command;

    /// The code of the user's that the tab's next run would start (shown above Run, and
    /// asked about first when it comes from a file the app did not write); None when it runs
    /// only pooltune's own workloads.
    fn code_to_run(&self) -> Option<CodeToRun> {
        None
    }

    /// The title of the tab's PNG export (the preset's name, the machine, the date), drawn
    /// above its plots and written in the PNG's `Title` chunk; None when the tab shows no
    /// result.
    fn png_title(&self) -> Option<String> {
        None
    }
}

/// Writes an export (`bytes`, or why they could not be made) atomically to `path`. Returns
/// what to tell the user, with the full path: `Ok("Wrote …")`, or `Err("Could not write …:
/// why")`.
pub fn write_export(path: &Path, bytes: anyhow::Result<Vec<u8>>) -> Result<String, String> {
    bytes
        .and_then(|bytes| crate::atomic_file::write(path, &bytes).map_err(Into::into))
        .map(|()| format!("Wrote {}", full_path(path)))
        .map_err(|err| format!("Could not write {}: {err:#}", full_path(path)))
}

/// What an export button asks of the shell, the same on every tab: data written by `write`
/// (in the format asked, to `path`), or a screenshot of `plots` (where the tab drew its plots
/// in the last frame), or, when nothing is on screen, `nothing_on_screen` said in red.
pub fn export_reply(
    target: ExportTarget,
    path: PathBuf,
    plots: Option<egui::Rect>,
    nothing_on_screen: &str,
    write: impl FnOnce(Format, &Path) -> Result<String, String>,
) -> Reply {
    match (target, plots) {
        (ExportTarget::Data(format), _) => Reply::from_outcome(write(format, &path)),
        (ExportTarget::Png, Some(rect)) => Reply::Screenshot(path, rect),
        (ExportTarget::Png, None) => Reply::Complain(nothing_on_screen.to_owned()),
        // The shell shows the Save dialog before a tab sees this (`save_as::SaveFor::of`).
        (ExportTarget::Choose, _) => Reply::Complain(
            "Choose the file in the Save dialog, or type it in \"Export to\".".to_owned(),
        ),
    }
}
