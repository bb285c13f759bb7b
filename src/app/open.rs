//! Opening result files in the app: File > Open result… (the native dialog, `rfd`, on its own
//! named thread so that the window keeps drawing while it is open), File ▸ "Result file" (a
//! typed path, which works where no dialog can be shown), files dropped on the window, and
//! `pooltune open FILE…`. Each file is read by the engine's [`crate::result::open`] and handed
//! to the tab of its kind: a sweep joins the Sweep tab's runs, a comparison is shown on the
//! Compare tab, a worker-cost result on the Worker cost tab.
//!
//! A file that cannot be read changes nothing: the runs and figures already open stay as
//! they were, and the notice says which file, which field and why. Drawing here only edits
//! the typed path and returns [`Command`]s; the files are read in [`open_files`], which the
//! shell calls after the frame.

use std::path::PathBuf;

use crossbeam_channel::Receiver;
use eframe::egui;
use egui::{RichText, Ui};

use crate::app::TabId;
use crate::app::command::{Command, Reply};
use crate::app::tabs::compare::CompareTab;
use crate::app::tabs::cost::CostTab;
use crate::app::tabs::sweep::SweepTab;
use crate::result::open::{self, OpenedResult};
use crate::ui::format;

/// What the Open dialog's thread sends back: the files picked (none when cancelled), or
/// None when no dialog could be shown.
type Picked = Option<Vec<PathBuf>>;

/// The File menu's state: the typed path, the dialog while it is open, and why the dialog
/// could not be shown (said in the menu from then on).
#[derive(Default)]
pub struct Opener {
    /// The "Result file" field as typed.
    pub path_text: String,
    dialog: Option<Receiver<Picked>>,
    dialog_unavailable: Option<String>,
}

impl Opener {
    /// The menu with this typed path (remembered from the last session).
    pub fn new(path_text: String) -> Opener {
        Opener {
            path_text,
            ..Opener::default()
        }
    }

    /// True while the Open dialog is shown.
    pub fn dialog_open(&self) -> bool {
        self.dialog.is_some()
    }

    /// Why the Open dialog could not be shown, once it failed.
    pub fn dialog_unavailable(&self) -> Option<&str> {
        self.dialog_unavailable.as_deref()
    }

    /// Shows the native Open dialog on its own thread; its answer arrives in [`Opener::poll`]
    /// and repaints the window. Says why when the thread cannot start.
    pub fn show_dialog(&mut self, ctx: &egui::Context) -> Option<Reply> {
        if self.dialog.is_some() {
            return None;
        }
        let (sender, picked) = crossbeam_channel::bounded(1);
        let repaint = ctx.clone();
        let spawned = crate::engine::named_thread("pooltune-open-dialog", move || {
            // pick_files answers None only when neither the XDG desktop portal nor zenity
            // could show a dialog (rfd 0.17's xdg_desktop_portal backend); a cancel is an
            // empty list.
            let files = rfd::FileDialog::new()
                .set_title("Open pooltune results")
                .add_filter("pooltune result (JSON)", &["json"])
                .add_filter("any file", &["*"])
                .pick_files();
            let _ = sender.send(files);
            repaint.request_repaint();
        });
        match spawned {
            Ok(_detached) => {
                self.dialog = Some(picked);
                None
            }
            Err(err) => Some(Reply::Complain(format!(
                "The Open dialog could not start ({err}): type the file's path in File > Result file instead."
            ))),
        }
    }

    /// The dialog's answer once it is closed: the files to open, or what to say when it could
    /// not be shown (the typed path field is the way then).
    pub fn poll(&mut self) -> Option<Result<Vec<PathBuf>, Reply>> {
        let picked = self.dialog.as_ref()?.try_recv();
        let picked = match picked {
            Ok(picked) => picked,
            Err(crossbeam_channel::TryRecvError::Empty) => return None,
            Err(crossbeam_channel::TryRecvError::Disconnected) => None,
        };
        self.dialog = None;
        match picked {
            Some(files) => Some(Ok(files)),
            None => {
                let why = dialog_failure();
                self.dialog_unavailable = Some(why.clone());
                Some(Err(Reply::Complain(why)))
            }
        }
    }

    /// The File menu: the dialog, the typed path, and a word about dropping files.
    pub fn menu_ui(&mut self, ui: &mut Ui, commands: &mut Vec<Command>) {
        let Opener {
            path_text,
            dialog,
            dialog_unavailable,
        } = self;
        ui.menu_button("File", |ui| {
            let open = ui
                .add_enabled(dialog.is_none(), egui::Button::new("Open result…"))
                .on_hover_text("Pick result files to open: the JSON that `pooltune sweep`, `compare` and `cost` write with --format json, or the app's JSON export. A sweep joins the runs; a comparison or a worker-cost result opens on its tab.");
            if open.clicked() {
                commands.push(Command::OpenDialog);
                ui.close();
            }
            if let Some(why) = dialog_unavailable.as_deref() {
                ui.label(RichText::new(why).color(ui.visuals().warn_fg_color));
            }
            ui.separator();
            ui.horizontal(|ui| {
                let label = ui.label("Result file");
                let edit = ui
                    .add(
                        egui::TextEdit::singleline(path_text)
                            .hint_text("path/to/result.json")
                            .desired_width(320.0),
                    )
                    .labelled_by(label.id)
                    .on_hover_text("The path of a result file to open (works where no Open dialog can be shown).");
                let typed = path_text.trim();
                let entered = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                let clicked = ui
                    .add_enabled(!typed.is_empty(), egui::Button::new("Open"))
                    .on_hover_text("Open the result file typed on the left.")
                    .clicked();
                if (clicked || entered) && !typed.is_empty() {
                    commands.push(Command::Open(vec![PathBuf::from(typed)]));
                    ui.close();
                }
            });
            ui.weak("Result files dropped on the window open too.");
        });
    }
}

/// Why the Open dialog could not be shown, with what to do instead.
fn dialog_failure() -> String {
    let why = if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|v| v.is_empty()) {
        "there is no D-Bus session (DBUS_SESSION_BUS_ADDRESS is unset), so no XDG desktop portal, and no zenity answered"
    } else {
        "no XDG desktop portal answered on the D-Bus session, and no zenity answered"
    };
    format!(
        "The Open dialog could not be shown: {why}. Type the file's path in File > Result file instead, or drop the file on the window."
    )
}

/// The files dropped on the window in this frame, as a command to open them.
pub fn dropped(ctx: &egui::Context) -> Option<Command> {
    let files: Vec<PathBuf> = ctx.input(|input| {
        input
            .raw
            .dropped_files
            .iter()
            .map(|file| file.path().to_owned())
            .filter(|path| !path.as_os_str().is_empty())
            .collect()
    });
    (!files.is_empty()).then_some(Command::Open(files))
}

/// While files are dragged over the window: a veil saying that dropping them opens them.
pub fn hovered_files_ui(ctx: &egui::Context) {
    let count = ctx.input(|input| input.raw.hovered_files.len());
    if count == 0 {
        return;
    }
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("dropping_files"),
    ));
    let rect = ctx.content_rect();
    painter.rect_filled(rect, 0.0, egui::Color32::from_black_alpha(180));
    let text = if count == 1 {
        "Drop to open the result file".to_owned()
    } else {
        format!("Drop to open the {count} result files")
    };
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        text,
        egui::FontId::proportional(24.0),
        egui::Color32::WHITE,
    );
}

/// The tabs a result can open on.
pub struct Tabs<'a> {
    /// Sweeps join its runs.
    pub sweep: &'a mut SweepTab,
    /// Comparisons are shown here.
    pub compare: &'a mut CompareTab,
    /// Worker-cost results are shown here.
    pub cost: &'a mut CostTab,
}

impl Tabs<'_> {
    /// Hands a result read from `path` to the tab of its kind, which shows its full path.
    /// Returns that tab and what to say, or why not (a run of that kind is being measured);
    /// nothing changes then.
    pub fn place(
        &mut self,
        path: PathBuf,
        opened: OpenedResult,
    ) -> Result<(TabId, String), String> {
        let path = std::path::absolute(&path).unwrap_or(path);
        let said = format!(
            "Opened the {} from {} (measured on {})",
            opened.kind_name(),
            path.display(),
            format::machine(opened.machine())
        );
        let tab = match opened {
            OpenedResult::Sweep(result) => {
                self.sweep.add_opened(path, result);
                TabId::Sweep
            }
            OpenedResult::Comparison(result) => {
                self.compare.show_opened(path, result)?;
                TabId::Compare
            }
            OpenedResult::Cost(result) => {
                self.cost.show_opened(path, result)?;
                TabId::Cost
            }
        };
        Ok((tab, said))
    }
}

/// Reads each file and hands it to the tab of its kind. Returns what to tell the user (one
/// line per file; in red when any was refused, which changes nothing) and the tab of the
/// first file opened, to show.
pub fn open_files(paths: &[PathBuf], mut tabs: Tabs<'_>) -> (Reply, Option<TabId>) {
    let mut lines = Vec::new();
    let mut refused = false;
    let mut first_tab = None;
    for path in paths {
        let placed = open::open(path)
            .map_err(|err| format!("Not opened: {err}"))
            .and_then(|opened| tabs.place(path.clone(), opened));
        match placed {
            Ok((tab, said)) => {
                first_tab.get_or_insert(tab);
                lines.push(said);
            }
            Err(why) => {
                refused = true;
                lines.push(why);
            }
        }
    }
    if refused {
        lines.push("What was open before is unchanged.".to_owned());
    }
    let text = lines.join("\n");
    let reply = if refused {
        Reply::Complain(text)
    } else {
        Reply::Inform(text)
    };
    (reply, first_tab)
}
