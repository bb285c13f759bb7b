//! The app's consent to run a preset's own code (issue 12 §5): a preset that runs a program,
//! a command per task or a Python function shows the exact lines above Run, and before the
//! first run of a file the app did not write, the app asks, once per file content (its
//! SHA-256, remembered in [`TrustedFiles`]). Shipped presets and presets written in this app
//! run without asking.
//!
//! What the lines are, and the hash, are the engine's (`spec::consent`); this module only
//! decides whether to ask and draws the lines and the question. It never starts a run: the
//! shell does, once the answer is [`Answer::Allow`].

use eframe::egui;
use egui::{RichText, Ui};

use super::TabId;
use super::remembered::TrustedFiles;
use crate::spec::consent::{CodeLine, PresetFile};

/// What a tab's next run would run besides pooltune itself.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeToRun {
    /// The exact command lines, in the order shown.
    pub lines: Vec<CodeLine>,
    /// The file they came from; None for a preset written in this app.
    pub file: Option<PresetFile>,
}

/// Whether a run may start without asking, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust<'a> {
    /// The preset was written (or last saved) in this app.
    WrittenHere,
    /// One of pooltune's shipped presets.
    Shipped,
    /// The user allowed this file content before.
    Allowed,
    /// A file the app did not write, whose content was not allowed yet: ask.
    Ask(&'a PresetFile),
}

impl CodeToRun {
    /// Whether its run may start without asking.
    pub fn trust<'a>(&'a self, trusted: &TrustedFiles) -> Trust<'a> {
        match &self.file {
            None => Trust::WrittenHere,
            Some(file) if file.shipped => Trust::Shipped,
            Some(file) if trusted.contains(&file.content_hash) => Trust::Allowed,
            Some(file) => Trust::Ask(file),
        }
    }
}

/// A question open: may `tab` run the code of `file`?
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    /// The tab whose Run asked.
    pub tab: TabId,
    /// What it would run.
    pub lines: Vec<CodeLine>,
    /// The file, whose content hash an Allow remembers.
    pub file: PresetFile,
}

/// The user's answer to an [`Ask`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Remember the file's content as allowed and start the run.
    Allow,
    /// Start nothing.
    Refuse,
}

fn lines_ui(ui: &mut Ui, lines: &[CodeLine]) {
    for line in lines {
        // Selectable, so that a line can be copied into a terminal.
        ui.add(egui::Label::new(RichText::new(line.to_string()).monospace()).selectable(true));
    }
}

/// Below this window height (in points) the lines of a preset that will run without asking
/// start folded to one line, so that the plots keep their room; a preset that will ask
/// always shows them whole.
const FOLD_BELOW_HEIGHT: f32 = 800.0;

/// The lines a preset runs, drawn above Run, with whether Run will ask first.
pub fn code_ui(ui: &mut Ui, code: &CodeToRun, trusted: &TrustedFiles) {
    let trust = code.trust(trusted);
    let note = match trust {
        Trust::WrittenHere => "written in this app".to_owned(),
        Trust::Shipped => "a shipped preset".to_owned(),
        Trust::Allowed => "you allowed this file before".to_owned(),
        Trust::Ask(file) => format!(
            "from {}, not run before: Run asks first",
            file.path.display()
        ),
    };
    const TIP: &str = "The exact commands the next run starts, {threads} and the other placeholders as written (they change with every point). They run in the preset file's folder.";
    let asks = matches!(trust, Trust::Ask(_));
    let fill = if asks {
        ui.visuals().warn_fg_color.gamma_multiply(0.12)
    } else {
        ui.visuals().faint_bg_color
    };
    egui::Frame::group(ui.style()).fill(fill).show(ui, |ui| {
        ui.set_width(ui.available_width());
        if asks {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new("This preset runs:").strong())
                    .on_hover_text(TIP);
                ui.weak(format!("({note})"));
            });
            lines_ui(ui, &code.lines);
        } else {
            let tall = ui.ctx().content_rect().height() >= FOLD_BELOW_HEIGHT;
            let count = crate::words::counted_usize(code.lines.len(), "line", "lines");
            egui::CollapsingHeader::new(
                RichText::new(format!("This preset runs: {count} ({note})")).strong(),
            )
            .id_salt("code_to_run")
            .default_open(tall)
            .show(ui, |ui| lines_ui(ui, &code.lines))
            .header_response
            .on_hover_text(TIP);
        }
    });
}

/// The question before the first run of a file's code: a modal window with the lines, the
/// file and its content hash. Returns the answer once given (Escape or a click outside
/// refuses).
pub fn ask_ui(ctx: &egui::Context, ask: &Ask) -> Option<Answer> {
    let mut answer = None;
    let modal = egui::Modal::new(egui::Id::unique("consent_modal")).show(ctx, |ui| {
        ui.set_max_width(760.0);
        ui.heading("Run this preset's commands?");
        ui.label(format!(
            "{} runs code of its own, and pooltune has not run this file's content before \
             (SHA-256 {}…). Read what it starts:",
            ask.file.path.display(),
            ask.file.short_hash()
        ));
        ui.add_space(4.0);
        egui::Frame::group(ui.style()).show(ui, |ui| lines_ui(ui, &ask.lines));
        ui.add_space(4.0);
        ui.weak(
            "pooltune remembers your answer for this content: a changed file is asked about again.",
        );
        ui.horizontal(|ui| {
            if ui
                .button("Run them")
                .on_hover_text("Remember this file's content as allowed and start the run.")
                .clicked()
            {
                answer = Some(Answer::Allow);
            }
            if ui.button("Cancel").on_hover_text("Run nothing.").clicked() {
                answer = Some(Answer::Refuse);
            }
        });
    });
    if answer.is_none() && modal.should_close() {
        answer = Some(Answer::Refuse);
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(file: Option<PresetFile>) -> CodeToRun {
        CodeToRun {
            lines: vec![CodeLine {
                series: None,
                line: "run: true".into(),
            }],
            file,
        }
    }

    fn file(shipped: bool, content: &[u8]) -> PresetFile {
        PresetFile {
            shipped,
            ..PresetFile::of(std::path::Path::new("/tmp/p.toml"), content)
        }
    }

    #[test]
    fn only_a_file_not_written_here_nor_shipped_nor_allowed_asks() {
        let mut trusted = TrustedFiles::default();
        assert_eq!(code(None).trust(&trusted), Trust::WrittenHere);
        assert_eq!(code(Some(file(true, b"a"))).trust(&trusted), Trust::Shipped);
        let theirs = code(Some(file(false, b"a")));
        assert!(matches!(theirs.trust(&trusted), Trust::Ask(_)));
        trusted.trust(&file(false, b"a").content_hash);
        assert_eq!(theirs.trust(&trusted), Trust::Allowed);
        // The same file changed is a new content: asked again.
        let changed = code(Some(file(false, b"b")));
        assert!(matches!(changed.trust(&trusted), Trust::Ask(_)));
    }

    #[test]
    fn the_remembered_hashes_are_bounded_and_keep_the_newest() {
        let mut trusted = TrustedFiles::default();
        for i in 0..super::super::remembered::MAX_TRUSTED_FILES + 10 {
            trusted.trust(&format!("{i}"));
        }
        assert_eq!(trusted.len(), super::super::remembered::MAX_TRUSTED_FILES);
        assert!(!trusted.contains("0"));
        assert!(trusted.contains("509"));
        // Trusting again moves a hash to the newest end instead of adding it twice.
        trusted.trust("10");
        assert_eq!(trusted.len(), super::super::remembered::MAX_TRUSTED_FILES);
        assert!(trusted.contains("10"));
    }
}
