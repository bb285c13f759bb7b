//! Export ▸ "Save as…": the native Save dialog (`rfd`, on its own named thread so that the
//! window keeps drawing) picks the file an export goes to, and the extension chosen picks the
//! format (`.json`, `.csv`, `.png`). The export itself is the tab's, as for the typed path in
//! "Export to", which keeps working (and is the way where no dialog can be shown).
//!
//! Nothing here writes a file: once a name is chosen, [`SaveAs::poll`] returns the tab's own
//! export command, which the shell applies like a click on the CSV, JSON or PNG button.

use std::path::{Path, PathBuf};

use crossbeam_channel::Receiver;
use eframe::egui;

use crate::app::command::{Command, CompareCommand, CostCommand, Reply, SweepCommand};
use crate::export::Format;
use crate::ui::ExportTarget;
use crate::ui::results::RunsAction;

/// Which export a Save dialog is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveFor {
    /// The Sweep tab's run with this id.
    SweepRun(u64),
    /// The Compare tab's comparison shown.
    Comparison,
    /// The Worker cost tab's figures.
    Cost,
}

impl SaveFor {
    /// The Save dialog an export command asks for, when it asks for one ("Save as…").
    pub fn of(command: &Command) -> Option<(SaveFor, PathBuf)> {
        match command {
            Command::Sweep(SweepCommand::Runs(RunsAction::Export(
                ExportTarget::Choose,
                id,
                path,
            ))) => Some((SaveFor::SweepRun(*id), path.clone())),
            Command::Compare(CompareCommand::Export(ExportTarget::Choose, path)) => {
                Some((SaveFor::Comparison, path.clone()))
            }
            Command::Cost(CostCommand::Export(ExportTarget::Choose, path)) => {
                Some((SaveFor::Cost, path.clone()))
            }
            _ => None,
        }
    }

    /// The tab's export of `target` to `path`, as its CSV, JSON or PNG button asks for it.
    pub fn export(self, target: ExportTarget, path: PathBuf) -> Command {
        match self {
            SaveFor::SweepRun(id) => {
                Command::Sweep(SweepCommand::Runs(RunsAction::Export(target, id, path)))
            }
            SaveFor::Comparison => Command::Compare(CompareCommand::Export(target, path)),
            SaveFor::Cost => Command::Cost(CostCommand::Export(target, path)),
        }
    }
}

/// The export a chosen file name asks for, by its extension; or why none.
pub fn target_for(path: &Path) -> Result<ExportTarget, String> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("json") => Ok(ExportTarget::Data(Format::Json)),
        Some("csv") => Ok(ExportTarget::Data(Format::Csv)),
        Some("png") => Ok(ExportTarget::Png),
        _ => Err(format!(
            "Nothing was exported to {}: the name must end in .json, .csv or .png, which picks the format.",
            crate::ui::format::full_path(path)
        )),
    }
}

/// A Save dialog while it is shown: which export it is for, and where its answer arrives.
#[derive(Default)]
pub struct SaveAs {
    pending: Option<(SaveFor, Receiver<Option<PathBuf>>)>,
}

impl SaveAs {
    /// Shows the Save dialog for `what`, starting from `suggested` (the typed "Export to"
    /// path, whose folder and name it offers). Says why when its thread cannot start.
    pub fn show(&mut self, ctx: &egui::Context, what: SaveFor, suggested: &Path) -> Option<Reply> {
        if self.pending.is_some() {
            return None;
        }
        let suggested = std::path::absolute(suggested).unwrap_or_else(|_| suggested.to_owned());
        let folder = suggested.parent().map(Path::to_owned);
        let name = suggested
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        let (sender, chosen) = crossbeam_channel::bounded(1);
        let repaint = ctx.clone();
        let spawned = crate::engine::named_thread("pooltune-save-dialog", move || {
            let mut dialog = rfd::FileDialog::new()
                .set_title("Export as (.json, .csv or .png)")
                .add_filter("JSON", &["json"])
                .add_filter("CSV", &["csv"])
                .add_filter("PNG of the plots", &["png"]);
            if let Some(folder) = folder.filter(|f| f.is_dir()) {
                dialog = dialog.set_directory(folder);
            }
            if let Some(name) = name {
                dialog = dialog.set_file_name(name);
            }
            let _ = sender.send(dialog.save_file());
            repaint.request_repaint();
        });
        match spawned {
            Ok(_detached) => {
                self.pending = Some((what, chosen));
                None
            }
            Err(err) => Some(Reply::Complain(format!(
                "The Save dialog could not start ({err}): type the path in \"Export to\" and press CSV, JSON or PNG."
            ))),
        }
    }

    /// The dialog's answer once it is closed: the tab's export command for the file chosen,
    /// or what to say when none was (rfd's Save dialog answers the same for a cancel and for
    /// a dialog that could not be shown).
    pub fn poll(&mut self) -> Option<Result<Command, Reply>> {
        let (what, chosen) = self.pending.as_ref()?;
        let chosen = match chosen.try_recv() {
            Ok(chosen) => chosen,
            Err(crossbeam_channel::TryRecvError::Empty) => return None,
            Err(crossbeam_channel::TryRecvError::Disconnected) => None,
        };
        let what = *what;
        self.pending = None;
        let Some(path) = chosen else {
            return Some(Err(Reply::Inform(
                "Nothing was exported: no file was chosen (where no Save dialog appears, type the path in \"Export to\" and press CSV, JSON or PNG).".to_owned(),
            )));
        };
        Some(
            target_for(&path)
                .map(|target| what.export(target, path))
                .map_err(Reply::Complain),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_chosen_picks_the_format() {
        for (name, target) in [
            ("a.json", ExportTarget::Data(Format::Json)),
            ("a.JSON", ExportTarget::Data(Format::Json)),
            ("dir.x/a.csv", ExportTarget::Data(Format::Csv)),
            ("a.png", ExportTarget::Png),
        ] {
            assert_eq!(target_for(Path::new(name)), Ok(target), "{name}");
        }
        for name in ["a", "a.txt", "a.json.bak"] {
            let why = target_for(Path::new(name)).unwrap_err();
            assert!(why.contains(".json, .csv or .png"), "{why}");
        }
    }

    #[test]
    fn a_chosen_file_becomes_the_tabs_own_export() {
        let path = PathBuf::from("/tmp/run.csv");
        let csv = ExportTarget::Data(Format::Csv);
        let asked = SaveFor::SweepRun(3).export(ExportTarget::Choose, path.clone());
        assert_eq!(
            SaveFor::of(&asked),
            Some((SaveFor::SweepRun(3), path.clone()))
        );
        assert_eq!(
            SaveFor::SweepRun(3).export(csv, path.clone()),
            Command::Sweep(SweepCommand::Runs(RunsAction::Export(csv, 3, path.clone())))
        );
        for what in [SaveFor::Comparison, SaveFor::Cost] {
            let asked = what.export(ExportTarget::Choose, path.clone());
            assert_eq!(SaveFor::of(&asked), Some((what, path.clone())));
            assert_eq!(SaveFor::of(&what.export(csv, path.clone())), None);
        }
    }
}
