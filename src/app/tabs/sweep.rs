//! The Sweep tab: configure a sweep in the side panel, run it, watch the points arrive on the
//! throughput and latency plots, keep and compare the runs of the session, read a run's
//! table and export it.
//!
//! The tab holds the configuration being edited, the plot settings, the session's runs
//! ([`Session`]) and the sweep being measured ([`RunHandle`]). The engine runs on its own
//! named thread ([`engine::spawn_series`], the preset its one series); its events repaint the window when a point arrives.
//! Drawing only edits fields in place and returns [`Command`]s; [`SweepTab::run_cmd`], called
//! by the shell after the frame, is the only place that loads or saves a preset, writes an
//! export or starts the engine.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use eframe::egui;
use egui::{RichText, Ui};

use crate::app::command::{Command, ConfigAction, Reply, RunsAction, SweepCommand};
use crate::app::consent::CodeToRun;
use crate::app::run::{RunEnd, RunHandle};
use crate::app::tabs::{Tab, export_reply, write_export};
use crate::engine::{self, Event, Progress, RunResult};
use crate::error::EngineError;
use crate::export;
use crate::remote;
use crate::spec::consent::{self, CodeLine, PresetFile};
use crate::spec::{self, InvalidValue, Preset, PresetEntry};
use crate::ui::config::{self, ConfigContext, ConfigDraft, PresetPaths, RunOn};
use crate::ui::plots::{self, PlotOptions};
use crate::ui::session::{RunStatus, Session};
use crate::ui::{format, progress, results};

/// Slowest repaint while a sweep runs, so that the time left counts down even with the live
/// readings paused; readings and engine events repaint sooner and reset this timer.
pub const RUNNING_REPAINT: Duration = Duration::from_secs(2);

/// The room the shortcuts hint in the top bar needs, with the theme picker beside it.
const SHORTCUTS_HINT_ROOM: f32 = 560.0;

/// The least height the tab lays out in, in points: below it, the tab scrolls.
const MIN_TAB_HEIGHT: f32 = 420.0;
/// The plots' share of the tab's height; the runs and the results table have the rest.
const PLOTS_SHARE: f32 = 0.55;
/// Below this tab height (in points: 1024×700 at 125% leaves about 450) the plots' share is
/// [`SHORT_PLOTS_SHARE`], so that the table's first rows stay on screen beside the plots.
const SHORT_TAB_HEIGHT: f32 = 520.0;
/// The plots' share of a short tab.
const SHORT_PLOTS_SHARE: f32 = 0.46;
/// The least height of both plots with their legends, in points.
const MIN_PLOTS_HEIGHT: f32 = 200.0;
/// The least height of the results (sentence, export row and a few rows of the table).
const MIN_RESULTS_HEIGHT: f32 = 200.0;
/// From this width on (in points) the runs list stands beside the table, not above it.
const SIDE_BY_SIDE_WIDTH: f32 = 1100.0;
/// The runs list's width beside the table.
const RUNS_WIDTH: f32 = 300.0;
/// The runs list's height below the table (about three runs; it scrolls beyond).
const RUNS_HEIGHT: f32 = 96.0;

/// The sweep being measured: its run in the session and its last progress report.
struct SweepRun {
    run_id: u64,
    handle: RunHandle<Event, Result<RunResult, EngineError>>,
    progress: Option<(Progress, Instant)>,
}

/// How long a check that the draft's programs are there holds: a program installed
/// meanwhile is found within this (the check looks at a few files, but not every frame).
const PROGRAM_CHECK_TTL: Duration = Duration::from_secs(2);

/// The last check that the draft's programs are there: for which lines and folder, when.
struct ProgramCheck {
    key: (Vec<CodeLine>, PathBuf),
    at: Instant,
    outcome: Result<(), InvalidValue>,
}

/// Everything the Sweep tab holds.
pub struct SweepTab {
    /// The configuration being edited.
    pub draft: ConfigDraft,
    /// Plot settings.
    pub plot: PlotOptions,
    /// The save and load fields.
    pub paths: PresetPaths,
    /// The export field.
    pub export_path: String,
    /// Where Run measures: this machine or via a prefix.
    pub run_on: RunOn,
    session: Session,
    run: Option<SweepRun>,
    presets: Vec<PresetEntry>,
    plots_rect: Option<egui::Rect>,
    programs: Option<ProgramCheck>,
    written: Vec<String>,
    /// The "Tune live" mode (see [`crate::app::tune`]).
    pub tune: crate::app::tune::TuneLive,
}

impl SweepTab {
    /// The tab with this configuration and these remembered fields.
    pub fn new(
        draft: ConfigDraft,
        plot: PlotOptions,
        paths: PresetPaths,
        export_path: String,
    ) -> SweepTab {
        SweepTab {
            draft,
            plot,
            paths,
            export_path,
            run_on: RunOn::default(),
            session: Session::default(),
            run: None,
            presets: spec::list_presets(),
            plots_rect: None,
            programs: None,
            written: Vec::new(),
            tune: Default::default(),
        }
    }

    /// The tab with Run measuring where `run_on` says.
    pub fn running_on(mut self, run_on: RunOn) -> SweepTab {
        self.run_on = run_on;
        self
    }

    /// The content hashes of the preset files this tab wrote since the last call: the shell
    /// remembers them as written in this app (their code runs without asking).
    pub fn take_written(&mut self) -> Vec<String> {
        std::mem::take(&mut self.written)
    }

    /// The draft checked as [`ConfigDraft::checked`] does, and then whether the programs it
    /// starts are there (a program not found is marked before Run, naming the PATH
    /// searched). The lookup is remembered for [`PROGRAM_CHECK_TTL`].
    pub fn check(&mut self, available_memory: u64) -> Result<Preset, InvalidValue> {
        let preset = self.draft.checked(available_memory)?;
        let key = (consent::code_lines(&preset), self.draft.folder());
        if key.0.is_empty() {
            return Ok(preset);
        }
        let fresh = self
            .programs
            .as_ref()
            .is_some_and(|c| c.key == key && c.at.elapsed() < PROGRAM_CHECK_TTL);
        if !fresh {
            let outcome = consent::check_programs(&preset.setup(), &key.1);
            self.programs = Some(ProgramCheck {
                key,
                at: Instant::now(),
                outcome,
            });
        }
        match self.programs.as_ref().map(|c| &c.outcome) {
            Some(Err(invalid)) => Err(invalid.clone()),
            _ => Ok(preset),
        }
    }

    /// The runs of this session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Adds a sweep result read from `path` to the session's runs, selected (see
    /// [`Session::add_opened`]).
    pub fn add_opened(&mut self, path: PathBuf, result: crate::result::SweepResult) -> u64 {
        self.session.add_opened(path, result)
    }

    /// The presets found on disk.
    pub fn presets(&self) -> &[PresetEntry] {
        &self.presets
    }

    /// True while a sweep is being measured.
    pub fn is_running(&self) -> bool {
        self.run.is_some()
    }

    /// Where Ctrl+S saves when the "Save to" field is empty.
    pub fn default_save_path(&self) -> PathBuf {
        format::default_preset_path(&self.draft.preset.name)
    }

    /// Asks the sweep to stop without waiting (the window is closing).
    pub fn cancel(&mut self) {
        self.tune.stop();
        if let Some(run) = &mut self.run {
            run.handle.stop();
        }
    }

    /// Applies one command (called by the shell after the frame is drawn).
    pub fn run_cmd(
        &mut self,
        ctx: &egui::Context,
        command: SweepCommand,
        available_memory: u64,
    ) -> Option<Reply> {
        match command {
            SweepCommand::Run => self.start(ctx, available_memory),
            SweepCommand::Stop => {
                self.cancel();
                None
            }
            SweepCommand::SavePreset(path) => Some(self.save_preset(&path, available_memory)),
            SweepCommand::SetModelOptions(options) => {
                self.session.set_model_options(options);
                None
            }
            SweepCommand::Config(ConfigAction::Load(path)) => Some(self.load_preset(&path)),
            SweepCommand::Config(ConfigAction::SaveToField) => {
                Some(self.save_to_field(available_memory))
            }
            SweepCommand::Runs(action) => self.runs_cmd(ctx, action),
            SweepCommand::Tune(action) => {
                let preset = self.check(available_memory).ok();
                self.tune.run_cmd(ctx, action, preset).map(Reply::Complain)
            }
        }
    }

    fn runs_cmd(&mut self, ctx: &egui::Context, action: RunsAction) -> Option<Reply> {
        match action {
            RunsAction::CopyCode(id, index) => {
                let copied = self
                    .session
                    .get(id)
                    .and_then(|run| results::code_to_copy(run, index));
                return Some(match copied {
                    Some((text, status)) => {
                        ctx.copy_text(text);
                        Reply::Inform(status)
                    }
                    None => Reply::Complain(
                        "There is no code to copy: this run recommends no thread count.".to_owned(),
                    ),
                });
            }
            RunsAction::Select(id) => self.session.select(id),
            RunsAction::Remove(id) => {
                self.session.remove(id);
            }
            RunsAction::Rename(id, name) => {
                self.session.rename(id, &name);
            }
            RunsAction::Export(target, id, path) => {
                return Some(export_reply(
                    target,
                    path,
                    self.plots_rect,
                    "There is no plot on screen to export.",
                    |format, path| self.export(format, id, path),
                ));
            }
        }
        None
    }

    /// Loads the file named in the "Load from" field (Ctrl+O).
    pub fn load_from_field(&mut self) -> Reply {
        let path = self.paths.load.trim().to_owned();
        if path.is_empty() {
            return Reply::Complain("Type the path of a preset file in \"Load from\" (side panel, at the bottom), then press Ctrl+O again.".to_owned());
        }
        self.load_preset(Path::new(&path))
    }

    /// Saves to the "Save to" field, or the user presets folder when it is empty (Ctrl+S).
    pub fn save_to_field(&mut self, available_memory: u64) -> Reply {
        let typed = self.paths.save.trim();
        let path = if typed.is_empty() {
            self.default_save_path()
        } else {
            PathBuf::from(typed)
        };
        self.save_preset(&path, available_memory)
    }

    fn start(&mut self, ctx: &egui::Context, available_memory: u64) -> Option<Reply> {
        if self.run.is_some() {
            return None;
        }
        // Checked afresh: a program removed since the last frame is refused here.
        self.programs = None;
        let preset = match self.check(available_memory) {
            Ok(preset) => preset,
            Err(invalid) => return Some(Reply::Complain(format!("Cannot run: {invalid}"))),
        };
        let via = match self
            .run_on
            .via
            .then(|| remote::Via::new(&self.run_on.prefix))
        {
            Some(Err(err)) => return Some(Reply::Complain(format!("Cannot run: {err}"))),
            Some(Ok(via)) => Some(via),
            None => None,
        };
        let run_id = self.session.start(preset.clone());
        let repaint = ctx.clone();
        let spawned = RunHandle::spawn(|cancel, sender| {
            let emit = move |event| {
                // A point or the end is drawn at once; progress (a step every trial, several a
                // second) waits for the next repaint within RUNNING_REPAINT, so that drawing
                // does not multiply with the engine's pace.
                let urgent = !matches!(event, Event::Progress { .. });
                // The window may already be gone when the last event is sent.
                let _ = sender.send(event);
                if urgent {
                    repaint.request_repaint();
                } else {
                    repaint.request_repaint_after(RUNNING_REPAINT);
                }
            };
            match via {
                Some(via) => remote::spawn_sweep("pooltune-sweep", preset, via, cancel, emit),
                None => engine::spawn_series("pooltune-sweep", preset, cancel, emit),
            }
        });
        match spawned {
            Ok(handle) => {
                self.run = Some(SweepRun {
                    run_id,
                    handle,
                    progress: None,
                });
                // A new run clears the notice under the top bar.
                Some(Reply::Dismiss)
            }
            Err(err) => {
                self.session.fail(run_id, err.to_string());
                Some(Reply::Complain(err.to_string()))
            }
        }
    }

    fn load_preset(&mut self, path: &Path) -> Reply {
        match consent::load_with_file(path) {
            Ok((preset, file)) => {
                let done = format!("Loaded {} from {}", preset.name, path.display());
                self.draft = ConfigDraft::from_file(preset, file);
                Reply::Inform(done)
            }
            Err(err) => Reply::Complain(format!(
                "Could not load the preset; the configuration is unchanged.\n{err}"
            )),
        }
    }

    fn save_preset(&mut self, path: &Path, available_memory: u64) -> Reply {
        let preset = match self.draft.checked(available_memory) {
            Ok(preset) => preset,
            Err(invalid) => return Reply::Complain(format!("Not saved: {invalid}")),
        };
        if let Err(why) = spec::prepare_save_folder(path) {
            return Reply::Complain(format!("Not saved: {why}"));
        }
        match spec::save(&preset, path) {
            Ok(()) => {
                // What `save` wrote is this text: its content hash is of a file written
                // here, and the draft's relative paths are now that file's folder's.
                if let Ok(text) = spec::to_toml(&preset) {
                    let file = PresetFile::of(path, text.as_bytes());
                    self.written.push(file.content_hash.clone());
                    self.draft.set_file(file);
                }
                self.presets = spec::list_presets();
                Reply::Inform(format!(
                    "Saved {} to {}",
                    preset.name,
                    format::full_path(path)
                ))
            }
            Err(err) => Reply::Complain(format!("Not saved: {err}")),
        }
    }

    /// Writes run `run_id`'s result in `format`, atomically, with the format's extension.
    fn export(&self, format: export::Format, run_id: u64, path: &Path) -> Result<String, String> {
        let result = self
            .session
            .get(run_id)
            .and_then(|r| r.result.as_ref())
            .ok_or("This run has no result yet: wait until it finishes or stop it.")?;
        let path = path.with_extension(crate::ui::extension(format));
        write_export(&path, export::exporter(format).export(result))
    }

    /// Moves what the engine has sent into the session; joins the engine once it is done.
    fn receive(&mut self) -> Option<Reply> {
        let run = self.run.as_mut()?;
        let session = &mut self.session;
        let run_id = run.run_id;
        let progress = &mut run.progress;
        let ended = run.handle.poll(|event| match event {
            Event::Progress { progress: p, .. } => {
                *progress = Some((p, Instant::now()));
                false
            }
            event => {
                let finished = matches!(event, Event::Finished(_));
                session.apply(run_id, event);
                finished
            }
        })?;
        self.run = None;
        let message = match ended {
            RunEnd::Returned(Ok(_)) => return None,
            RunEnd::Returned(Err(err)) => err.to_string(),
            RunEnd::Panicked => "the engine thread stopped unexpectedly".to_owned(),
        };
        self.session.fail(run_id, message.clone());
        Some(Reply::Complain(format!(
            "The sweep could not run: {message}"
        )))
    }

    fn run_button_ui(
        ui: &mut Ui,
        check: &Result<Preset, InvalidValue>,
        run_on: &mut RunOn,
        commands: &mut Vec<Command>,
    ) {
        let run = ui
            .add_enabled(check.is_ok(), egui::Button::new("Run"))
            .on_hover_text("Measure the configuration on the left (Space).");
        if run.clicked() {
            commands.push(Command::Sweep(SweepCommand::Run));
        }
        config::run_on_ui(ui, run_on);
        match check {
            Err(invalid) => {
                ui.label(
                    RichText::new(format!("Cannot run: {invalid}"))
                        .color(ui.visuals().error_fg_color),
                );
            }
            Ok(preset) => {
                if let Some(ms) = preset.sweep.timed_length_ms() {
                    ui.label(format!("about {}", format::seconds_left(ms as f64 / 1000.0)))
                        .on_hover_text("The warm-ups and trials of every thread count; calibration and starting the pools come on top.");
                }
                // Left out when it would run into the theme picker (a small screen or a
                // large zoom); the buttons' tooltips say the same.
                if ui.available_width() > SHORTCUTS_HINT_ROOM {
                    ui.weak("Space: run/stop · Ctrl+S: save preset · Ctrl+O: load preset");
                }
            }
        }
    }
}

impl Tab for SweepTab {
    fn title(&self) -> &'static str {
        "Sweep"
    }

    fn top_bar_ui(&mut self, ui: &mut Ui, available_memory: u64) -> Vec<Command> {
        let mut commands = Vec::new();
        match &self.run {
            Some(run) => {
                let stop = ui
                    .add_enabled(!run.handle.is_stopping(), egui::Button::new("Stop"))
                    .on_hover_text("Stop the sweep (Space). The points measured so far are kept.");
                if stop.clicked() {
                    commands.push(Command::Sweep(SweepCommand::Stop));
                }
                progress::sweep_progress_ui(
                    ui,
                    run.progress.as_ref(),
                    run.handle.started(),
                    run.handle.is_stopping(),
                );
            }
            None => {
                let check = self.check(available_memory);
                Self::run_button_ui(ui, &check, &mut self.run_on, &mut commands);
            }
        }
        commands
    }

    /// The sweep's configuration: workload, pool, sweep and preset files.
    fn side_panel_ui(&mut self, ui: &mut Ui, available_memory: u64) -> Vec<Command> {
        let check = self.check(available_memory);
        let context = ConfigContext {
            presets: &self.presets,
            check: &check,
            default_save_path: format::home_relative(&self.default_save_path()),
        };
        let mut actions = Vec::new();
        config::config_ui(ui, &mut self.draft, &mut self.paths, &context, &mut actions);
        actions
            .into_iter()
            .map(|action| Command::Sweep(SweepCommand::Config(action)))
            .collect()
    }

    fn ui(&mut self, ui: &mut Ui, available_memory: u64) -> Vec<Command> {
        let mut commands = Vec::new();
        let preset = self.check(available_memory).ok();
        if let Some(action) = self.tune.ui(ui, preset.as_ref()) {
            commands.push(Command::Sweep(SweepCommand::Tune(action)));
        }
        let configured_threads = self
            .draft
            .preset
            .sweep
            .thread_counts()
            .into_iter()
            .max()
            .unwrap_or(1);
        let Self {
            plot,
            export_path,
            session,
            plots_rect,
            ..
        } = self;
        // One vertical scroll over the whole tab: on a screen too small for the plots and
        // the results together, the results are below and reached by scrolling, never cut
        // off; on a larger one everything fits and nothing scrolls.
        let mut actions = Vec::new();
        egui::ScrollArea::vertical()
            .id_salt("sweep_scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    plots::options_ui(ui, plot);
                    ui.separator();
                    crate::app::replay::replay_button_ui(
                        ui,
                        session.selected().and_then(|run| run.result.as_ref()),
                    );
                    ui.separator();
                    if let Some(options) = plots::model_options_ui(ui, session.model_options()) {
                        commands.push(Command::Sweep(SweepCommand::SetModelOptions(options)));
                    }
                });
                let width = ui.available_width();
                let height = ui.available_height().max(MIN_TAB_HEIGHT);
                let share = if height < SHORT_TAB_HEIGHT {
                    SHORT_PLOTS_SHARE
                } else {
                    PLOTS_SHARE
                };
                let plots_height = (height * share).max(MIN_PLOTS_HEIGHT);
                ui.allocate_ui(egui::vec2(width, plots_height), |ui| {
                    ui.set_min_size(egui::vec2(width, plots_height));
                    // The title is inside the exported area, so the PNG says what it shows.
                    let top = ui.cursor().min;
                    if let Some(title) = session.selected().and_then(results::png_title) {
                        ui.label(egui::RichText::new(title).weak());
                    }
                    let drawn = plots::plots_ui(ui, session, plot, configured_threads);
                    *plots_rect = Some(drawn.union(egui::Rect::from_min_max(top, top)));
                });
                ui.separator();
                let results_height = (height - plots_height).max(MIN_RESULTS_HEIGHT);
                if width >= SIDE_BY_SIDE_WIDTH {
                    // Wide: the runs beside the table, the table taking the rest.
                    // Each column lays out top-down: inside `horizontal_top` a plain
                    // `allocate_ui` would go on left to right, and the sentence and the table
                    // ran off the right edge.
                    let column = egui::Layout::top_down(egui::Align::Min);
                    ui.horizontal_top(|ui| {
                        ui.allocate_ui_with_layout(
                            egui::vec2(RUNS_WIDTH, results_height),
                            column,
                            |ui| {
                                ui.set_min_size(egui::vec2(RUNS_WIDTH, results_height));
                                results::runs_ui(ui, session, &mut actions);
                            },
                        );
                        ui.separator();
                        let rest = ui.available_width();
                        ui.allocate_ui_with_layout(
                            egui::vec2(rest, results_height),
                            column,
                            |ui| {
                                results::table_ui(
                                    ui,
                                    session.selected(),
                                    export_path,
                                    &mut actions,
                                );
                            },
                        );
                    });
                } else {
                    // Narrow: the table across the whole width, the runs below it in a
                    // short list of their own (reached by scrolling on a small screen).
                    let results_height =
                        (results_height - RUNS_HEIGHT - 12.0).max(MIN_RESULTS_HEIGHT);
                    ui.allocate_ui(egui::vec2(width, results_height), |ui| {
                        ui.set_min_height(results_height);
                        results::table_ui(ui, session.selected(), export_path, &mut actions);
                    });
                    ui.separator();
                    ui.allocate_ui(egui::vec2(width, RUNS_HEIGHT), |ui| {
                        results::runs_ui(ui, session, &mut actions);
                    });
                }
            });
        commands.extend(
            actions
                .into_iter()
                .map(|action| Command::Sweep(SweepCommand::Runs(action))),
        );
        commands
    }

    fn poll(&mut self) -> Option<Reply> {
        self.tune.poll();
        self.receive()
    }

    fn is_running(&self) -> bool {
        SweepTab::is_running(self)
    }

    fn has_ended(&self) -> bool {
        self.run.is_none()
            && self
                .session
                .runs()
                .last()
                .is_some_and(|run| run.status != RunStatus::Running)
    }

    fn toggle_run(&self) -> Command {
        Command::Sweep(if self.is_running() {
            SweepCommand::Stop
        } else {
            SweepCommand::Run
        })
    }

    fn png_title(&self) -> Option<String> {
        self.session.selected().and_then(results::png_title)
    }

    fn code_to_run(&self) -> Option<CodeToRun> {
        let lines = consent::code_lines(&self.draft.preset);
        (!lines.is_empty()).then(|| CodeToRun {
            lines,
            file: self.draft.file.clone(),
        })
    }
}

/// The configuration remembered as preset TOML (`draft_toml`) and the thread list as typed,
/// or the default preset when nothing (readable) was remembered.
pub fn remembered_draft(draft_toml: &str, threads_text: &str) -> ConfigDraft {
    if draft_toml.trim().is_empty() {
        return ConfigDraft::new(config::default_preset());
    }
    // Read without validating: a half-edited configuration comes back as it was left,
    // with its invalid value marked, rather than being thrown away.
    match spec::parse_toml::<Preset>(draft_toml, Path::new("(remembered)")) {
        Ok(preset) => {
            let mut draft = ConfigDraft::new(preset);
            if draft.preset.sweep.threads_range.is_none() && !threads_text.is_empty() {
                draft.threads_text = threads_text.to_owned();
            }
            draft
        }
        Err(_) => ConfigDraft::new(config::default_preset()),
    }
}
