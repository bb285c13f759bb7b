//! What the user asked for, applied after the frame is drawn (the egui demo app's `Command` /
//! `run_cmd` shape): the shell's own commands (shortcuts) and one enum per tab.
//!
//! Drawing code produces these and never acts on them; the shell hands each to its tab's
//! `run_cmd` once the frame is drawn. The widgets in `ui` know nothing of these types: they
//! return small actions of their own ([`ConfigAction`], [`RunsAction`], [`ExportTarget`]) that
//! the tabs turn into commands. Nothing here starts a run, reads or writes a file.

use std::path::PathBuf;

pub use crate::app::consent::Answer;
use crate::model::ModelOptions;
pub use crate::ui::ExportTarget;
pub use crate::ui::config::ConfigAction;
pub use crate::ui::results::RunsAction;

/// Something the user asked for, applied after the frame is drawn.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum Command {
    /// Run when idle, stop when running (the Space key): the shown tab's run.
    ToggleRun,
    /// Load the file named in the "Load from" field (Ctrl+O).
    LoadFromField,
    /// Save to the "Save to" field or the user presets folder (Ctrl+S).
    SaveToField,
    /// Something for the Sweep tab.
    Sweep(SweepCommand),
    /// Something for the Compare tab.
    Compare(CompareCommand),
    /// Something for the Worker cost tab.
    Cost(CostCommand),
    /// The answer to "Run this preset's commands?" (the shell's question before the first
    /// run of a file's code).
    Consent(Answer),
    /// Open these result files (sweep, comparison, worker cost): typed in File ▸ "Result file",
    /// picked in the Open dialog, or dropped on the window. A file that cannot be read is
    /// refused with the reason, and nothing already open changes.
    Open(Vec<PathBuf>),
    /// Show the native Open dialog (File > Open result…), on its own thread.
    OpenDialog,
}

/// Something the user asked of the Sweep tab.
#[derive(Debug, Clone, PartialEq)]
pub enum SweepCommand {
    /// Start a sweep of the current configuration.
    Run,
    /// Stop the running sweep; its finished points are kept.
    Stop,
    /// Save the configuration as a preset file, atomically.
    SavePreset(PathBuf),
    /// Use these model options (U, p99 target) for every run's recommendation.
    SetModelOptions(ModelOptions),
    /// A button of the configuration panel (load a preset, save).
    Config(ConfigAction),
    /// A button of the runs list or the results table (select, rename, remove, export).
    Runs(RunsAction),
    /// The "Tune live" panel's Tune live or Stop.
    Tune(crate::app::tune::TuneAction),
}

/// Something the user asked of the Compare tab.
#[derive(Debug, Clone, PartialEq)]
pub enum CompareCommand {
    /// Run the loaded comparison.
    Run,
    /// Stop it; the points measured so far are kept (Python children are killed by the engine).
    Stop,
    /// Load a comparison preset file; a bad file leaves the loaded one and says why.
    Load(PathBuf),
    /// Save the loaded comparison, with the typed thread counts, as a comparison preset.
    Save(PathBuf),
    /// Write the last run's result (the format of `pooltune compare --format`), or a PNG of
    /// the chart as shown.
    Export(ExportTarget, PathBuf),
}

/// Something the user asked of the Worker cost tab.
#[derive(Debug, Clone, PartialEq)]
pub enum CostCommand {
    /// Start a worker-cost run of the tab's inputs.
    Run,
    /// Stop the worker-cost run; what it measured is kept.
    Stop,
    /// Write the last result (the format of `pooltune cost --format`), or a PNG of the two
    /// plots as shown.
    Export(ExportTarget, PathBuf),
}

/// What a tab's command or run asks the shell to do once it is applied: tell the user, or
/// take a screenshot (only the shell can).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Say this (information).
    Inform(String),
    /// Say this (an error, in red).
    Complain(String),
    /// Hide the notice under the top bar.
    Dismiss,
    /// Write a PNG of this part of the window (in points) to the path.
    Screenshot(PathBuf, eframe::egui::Rect),
}

impl Reply {
    /// `Ok` informs, `Err` complains: the shape of every save and export.
    pub fn from_outcome(outcome: Result<String, String>) -> Reply {
        match outcome {
            Ok(done) => Reply::Inform(done),
            Err(why) => Reply::Complain(why),
        }
    }
}
