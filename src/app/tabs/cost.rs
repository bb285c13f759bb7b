//! The Worker cost tab: how much memory and start time one more thread costs here, and one
//! more process, for Rust and (when a `python3` is there) for CPython. The tab holds the
//! inputs, the run and every figure measured so far; the widgets it draws with are in
//! [`crate::ui::cost`].
//!
//! Nothing is measured here. [`CostTab::start`] hands a [`crate::cost::CostSpec`] to the
//! engine's own named thread ([`cost::spawn`], reporting [`cost::Event`]s) and is called only from
//! [`CostTab::run_cmd`], after the frame is drawn. Dropping the tab stops the run and waits
//! for it ([`RunHandle`]'s `Drop`), so no worker thread or process outlives the window.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use eframe::egui;
use egui::{RichText, Ui};

use crate::app::command::{Command, CostCommand, Reply};
use crate::app::run::{RunEnd, RunHandle};
use crate::app::tabs::{Tab, export_reply, write_export};
use crate::cost::{self, CostError, CostResult, Event, WorkerCost, WorkerKind};
use crate::export::Format;
use crate::ui::cost::{self as cost_ui, CostDraft};
use crate::ui::{ExportTips, export_row, format};

/// A run being measured.
struct CostRun {
    handle: RunHandle<Event, Result<CostResult, CostError>>,
    /// True while Rust threads are measured: the window does not repaint then (see
    /// [`CostTab::start`]).
    still: Arc<AtomicBool>,
}

/// The tab's state: the inputs, the run in progress and what it has measured so far.
#[derive(Default)]
pub struct CostTab {
    /// The inputs.
    pub draft: CostDraft,
    /// The "Export to" field.
    pub export_path: String,
    plots_rect: Option<egui::Rect>,
    /// Every cost measured by the current (or last) run, in arrival order.
    pub measured: Vec<(WorkerKind, WorkerCost)>,
    /// The whole result once the run is over (finished or stopped).
    pub result: Option<CostResult>,
    /// Why the last run could not run, if it could not.
    pub error: Option<String>,
    /// The result file the figures were read from; None for a run measured here.
    pub opened_from: Option<PathBuf>,
    planned: usize,
    run: Option<CostRun>,
}

impl CostTab {
    /// The tab with these inputs and export field (remembered from the last session).
    pub fn new(draft: CostDraft, export_path: String) -> CostTab {
        CostTab {
            draft,
            export_path,
            ..CostTab::default()
        }
    }

    /// Where the two plots were drawn in the last frame (for a PNG of them).
    pub fn plots_rect(&self) -> Option<egui::Rect> {
        self.plots_rect
    }

    /// Applies one command (called by the shell after the frame is drawn).
    pub fn run_cmd(&mut self, ctx: &egui::Context, command: CostCommand) -> Option<Reply> {
        match command {
            CostCommand::Run => self.start(ctx),
            CostCommand::Stop => self.stop(),
            CostCommand::Export(target, path) => {
                return Some(export_reply(
                    target,
                    path,
                    self.plots_rect,
                    "There are no plots on screen to export.",
                    |format, path| self.export(format, path),
                ));
            }
        }
        None
    }

    /// Writes the last result (finished or stopped) in `format`, atomically. Returns what to
    /// tell the user: `Ok` for done, `Err` for why not.
    pub fn export(&self, format: Format, path: &Path) -> Result<String, String> {
        let result = self
            .result
            .as_ref()
            .ok_or("There is no worker-cost result yet: wait until the run finishes or stop it.")?;
        write_export(path, crate::export::export(result, format))
    }

    /// Starts a run of the inputs; refused (with [`CostTab::error`] set) when they are invalid.
    /// `ctx` is asked to repaint whenever the engine reports.
    pub fn start(&mut self, ctx: &egui::Context) {
        if self.run.is_some() {
            return;
        }
        let spec = match self.draft.checked() {
            Ok(spec) => spec,
            Err(invalid) => {
                self.error = Some(format!("Cannot run: {invalid}"));
                return;
            }
        };
        self.measured.clear();
        self.result = None;
        self.error = None;
        self.opened_from = None;
        self.planned = spec.planned_steps();
        let repaint = ctx.clone();
        // A Rust thread's memory is read as the growth of this whole process's RSS, and the
        // window allocates as it draws (glyphs, meshes and, with software OpenGL, its frame
        // buffers). Measured while the window was still starting, threads read 100 to 700
        // KiB each on this machine against 9 to 11 KiB from `pooltune cost` in a terminal;
        // with the window settled and still, 9 to 16 KiB. So the window stays still until
        // the last thread count is measured; processes are measured in the children.
        let thread_counts = spec.threads.len();
        let still = Arc::new(AtomicBool::new(thread_counts > 0));
        let still_in_engine = Arc::clone(&still);
        let spawned = RunHandle::spawn(|cancel, sender| {
            // Measurements done so far: each point follows a progress report counting it.
            let mut done = 0;
            cost::spawn(spec, cancel, move |event| {
                let thread_phase = match &event {
                    Event::Started(_) => true,
                    Event::Progress { series, progress } => {
                        done = progress.steps_done;
                        WorkerKind::of_series(*series) == Some(WorkerKind::RustThread)
                            && done < thread_counts
                    }
                    Event::Point { series, .. } => {
                        WorkerKind::of_series(*series) == Some(WorkerKind::RustThread)
                            && done < thread_counts
                    }
                    Event::SeriesFailed { .. } | Event::Finished(_) => false,
                };
                // The window may already be gone when the last event is sent.
                let _ = sender.send(event);
                if !(thread_phase && still_in_engine.load(Ordering::Relaxed)) {
                    still_in_engine.store(false, Ordering::Relaxed);
                    repaint.request_repaint();
                }
            })
        });
        match spawned {
            Ok(handle) => self.run = Some(CostRun { handle, still }),
            Err(err) => self.error = Some(err.to_string()),
        }
    }

    /// Shows the worker-cost result read from `path` in place of the last run's figures.
    /// Refused while a run is measured: nothing changes.
    pub fn show_opened(&mut self, path: PathBuf, result: CostResult) -> Result<(), String> {
        if self.is_running() {
            return Err(format!(
                "Not opened {}: worker costs are being measured; stop first.",
                format::full_path(&path)
            ));
        }
        self.measured = WorkerKind::ALL
            .iter()
            .flat_map(|&kind| {
                result
                    .entries(kind)
                    .iter()
                    .map(move |cost| (kind, cost.clone()))
            })
            .collect();
        self.planned = self.measured.len();
        self.result = Some(result);
        self.error = None;
        self.opened_from = Some(path);
        Ok(())
    }

    /// Asks the running measurement to stop; what it measured is kept.
    pub fn stop(&mut self) {
        if let Some(run) = &mut self.run {
            run.handle.stop();
        }
    }

    /// Moves what the engine has sent into the tab; joins the engine thread once it is done.
    pub fn receive(&mut self) {
        let Some(run) = &mut self.run else {
            return;
        };
        let (planned, measured, result) = (&mut self.planned, &mut self.measured, &mut self.result);
        let ended = run.handle.poll(|event| match event {
            Event::Started(plan) => {
                *planned = plan.planned;
                false
            }
            Event::Point { series, point } => {
                // A cost run sends only its own kinds' indices.
                if let Some(kind) = WorkerKind::of_series(series) {
                    measured.push((kind, point));
                }
                false
            }
            Event::Progress { .. } | Event::SeriesFailed { .. } => false,
            Event::Finished(finished) => {
                *result = Some(*finished);
                true
            }
        });
        let Some(ended) = ended else {
            return;
        };
        self.run = None;
        match ended {
            RunEnd::Returned(Ok(_)) => {}
            RunEnd::Returned(Err(err)) => {
                self.error = Some(format!("The run could not start: {err}"));
            }
            RunEnd::Panicked => {
                self.error = Some("the worker-cost thread stopped unexpectedly".to_owned());
            }
        }
    }

    /// True while a run is being measured.
    pub fn is_running(&self) -> bool {
        self.run.is_some()
    }

    /// Why there are no Python figures, when the finished run says so.
    pub fn python_error(&self) -> Option<&str> {
        self.result.as_ref()?.python_error.as_deref()
    }
}

impl Tab for CostTab {
    fn title(&self) -> &'static str {
        "Worker cost"
    }

    fn png_title(&self) -> Option<String> {
        let result = self.result.as_ref()?;
        Some(crate::ui::format::plot_title(
            "Worker cost",
            &result.machine,
            result.outcome.started_unix_s,
        ))
    }

    fn top_bar_ui(&mut self, ui: &mut Ui, _available_memory: u64) -> Vec<Command> {
        ui.weak("Space: start/stop measuring what a worker costs");
        Vec::new()
    }

    /// Draws the tab: inputs, Measure/Stop and progress, the two plots and the table.
    fn ui(&mut self, ui: &mut Ui, _available_memory: u64) -> Vec<Command> {
        let mut commands = Vec::new();
        let check = self.draft.checked();
        cost_ui::inputs_ui(ui, &mut self.draft, check.as_ref().err());
        ui.horizontal(|ui| match &self.run {
            Some(run) => {
                if ui
                    .add_enabled(
                        !run.handle.is_stopping(),
                        egui::Button::new("Stop measuring"),
                    )
                    .on_hover_text("Stop now: every worker is ended; what was measured is kept.")
                    .clicked()
                {
                    commands.push(Command::Cost(CostCommand::Stop));
                }
                let done = self.measured.len();
                let planned = self.planned.max(done).max(1);
                let text = if run.handle.is_stopping() {
                    "stopping…".to_owned()
                } else if run.still.load(Ordering::Relaxed) {
                    "measuring Rust threads (the window keeps still meanwhile)…".to_owned()
                } else {
                    format!(
                        "{done} of about {planned} measured · {:.0} s",
                        run.handle.started().elapsed().as_secs_f64()
                    )
                };
                ui.add(
                    egui::ProgressBar::new(done as f32 / planned as f32)
                        .desired_width(360.0)
                        .text(text),
                );
            }
            None => {
                if ui
                    .add_enabled(check.is_ok(), egui::Button::new("Measure"))
                    .on_hover_text("Start, hold and stop each N of idle workers, and measure them.")
                    .clicked()
                {
                    commands.push(Command::Cost(CostCommand::Run));
                }
                match &check {
                    Err(invalid) => {
                        ui.label(
                            RichText::new(format!("Cannot run: {invalid}"))
                                .color(ui.visuals().error_fg_color),
                        );
                    }
                    Ok(spec) => {
                        ui.weak(format!("{} measurements planned", spec.planned_steps()));
                    }
                }
            }
        });
        if let Some(error) = &self.error {
            ui.label(RichText::new(error).color(ui.visuals().error_fg_color));
        }
        if let Some(python_error) = self.python_error() {
            ui.label(
                RichText::new(format!("No Python figures: {python_error}"))
                    .color(ui.visuals().warn_fg_color),
            );
        }
        if let Some(result) = &self.result {
            let machine = format::machine(&result.machine);
            ui.weak(match &self.opened_from {
                Some(path) => format!("Opened from {} · measured on {machine}", path.display()),
                None => format!("Measured here on {machine}"),
            });
            ui.weak(format!(
                "Rust thread stack: {} reserved · {} on {} logical CPUs{}",
                format::bytes(result.thread_stack_bytes),
                format::seconds_left(result.outcome.duration_s),
                result.machine.logical_cpus,
                if result.outcome.cancelled {
                    " · stopped"
                } else {
                    ""
                },
            ));
        }
        ui.separator();
        let tips = ExportTips {
            csv: "One row per measured N and worker kind (the format of `pooltune cost --format csv`).",
            json: "The whole result: machine, stack size and every figure (the format of `pooltune cost --format json`).",
            png: "A picture of both plots as they are shown now.",
        };
        if let Some((target, path)) =
            export_row(ui, &mut self.export_path, self.result.is_some(), &tips)
        {
            commands.push(Command::Cost(CostCommand::Export(target, path)));
        }
        // The title is inside the exported area, so the PNG says what it shows.
        let top = ui.cursor().min;
        if let Some(title) = self.png_title() {
            ui.label(egui::RichText::new(title).weak());
        }
        let mut drawn = cost_ui::figures_ui(ui, &self.measured, check.as_ref().ok());
        if let Some(result) = &self.result {
            let switches = ui.scope(|ui| cost_ui::switches_ui(ui, &result.switches));
            drawn = drawn.union(switches.response.rect);
        }
        self.plots_rect = Some(drawn.union(egui::Rect::from_min_max(top, top)));
        commands
    }

    fn poll(&mut self) -> Option<Reply> {
        self.receive();
        None
    }

    fn is_running(&self) -> bool {
        CostTab::is_running(self)
    }

    /// Not while Rust threads are measured: a repaint's memory would be counted as theirs.
    fn repaints_while_running(&self) -> bool {
        self.run
            .as_ref()
            .is_some_and(|run| !run.still.load(Ordering::Relaxed))
    }

    fn has_ended(&self) -> bool {
        self.run.is_none() && self.result.is_some()
    }

    fn toggle_run(&self) -> Command {
        Command::Cost(if self.is_running() {
            CostCommand::Stop
        } else {
            CostCommand::Run
        })
    }
}
