//! The desktop app's drawing code, one file per part of the window: the configuration side
//! panel (`config`), the sweep plots (`plots`), the live readings (`live`), the runs list and
//! results table (`results`), plus the session's runs (`session`) and number formatting
//! (`format`), which hold no egui at all.
//!
//! The worker-cost tab (`cost`) also holds its run's controller (start, stop, receive), called
//! only from the app's `run_cmd` and `logic`, never from its drawing code.
//!
//! Drawing functions end in `_ui`, edit what they are given in place and push
//! [`crate::app::Command`]s for anything else; none of them starts the engine, reads a file or
//! waits on a thread. The Compare tab (`compare`) keeps its run beside its drawing, but the
//! same way: its drawing pushes commands, and the app applies them after the frame.

pub mod compare;
pub mod config;
pub mod cost;
pub mod format;
pub mod live;
pub mod plots;
pub mod results;
pub mod session;

/// Hands every event waiting on `events` to `apply`, without blocking. `apply` returns true
/// for the event that ends a run (its `Finished`); a closed channel ends it too. Returns
/// whether the run has ended, so the caller can join the engine's thread. The sweep, the
/// Compare tab and the Worker cost tab all receive their engine's events this way.
pub fn drain_events<E>(
    events: &crossbeam_channel::Receiver<E>,
    mut apply: impl FnMut(E) -> bool,
) -> bool {
    let mut ended = false;
    loop {
        match events.try_recv() {
            Ok(event) => ended |= apply(event),
            Err(crossbeam_channel::TryRecvError::Empty) => return ended,
            Err(crossbeam_channel::TryRecvError::Disconnected) => return true,
        }
    }
}

/// What a button of [`export_row`] asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportTarget {
    /// The result's data, in a file format.
    Data(crate::app::ExportKind),
    /// A PNG of the plots as they are shown.
    Png,
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

/// "Export to [file name] CSV JSON PNG", the same on every tab. The data buttons need a
/// result (a finished or stopped run); every button needs a file name. Returns the button
/// clicked and the path with the extension that button sets.
pub fn export_row(
    ui: &mut eframe::egui::Ui,
    path_text: &mut String,
    has_result: bool,
    tips: &ExportTips,
) -> Option<(ExportTarget, std::path::PathBuf)> {
    use crate::app::ExportKind;
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
            (ExportTarget::Data(ExportKind::Csv), "CSV", tips.csv),
            (ExportTarget::Data(ExportKind::Json), "JSON", tips.json),
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
        clicked.map(|target| {
            let extension = match target {
                ExportTarget::Data(kind) => kind.extension(),
                ExportTarget::Png => "png",
            };
            (target, path.with_extension(extension))
        })
    })
    .inner
}

/// Writes an export (`bytes`, or why they could not be made) atomically to `path`. Returns
/// what to tell the user: `Ok("Wrote …")`, or `Err("Could not write …: why")`.
pub fn write_export(
    path: &std::path::Path,
    bytes: anyhow::Result<Vec<u8>>,
) -> Result<String, String> {
    bytes
        .and_then(|bytes| crate::atomic_file::write(path, &bytes).map_err(Into::into))
        .map(|()| format!("Wrote {}", path.display()))
        .map_err(|err| format!("Could not write {}: {err:#}", path.display()))
}
