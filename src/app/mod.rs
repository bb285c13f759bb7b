//! The desktop app: configure a sweep, run it, watch the points arrive beside live CPU and
//! memory readings, and compare runs on one chart.
//!
//! The app measures nothing itself. The engine runs on its own named thread
//! (`sweep::spawn_sweep`) and the monitor on another (`monitor::Monitor`); both hand their
//! events to channels whose sender also asks egui for a repaint, so the window repaints when
//! data arrives (and at most a few times a second while a sweep runs) and not at all when
//! idle. Drawing code never calls the engine: buttons and shortcuts produce [`Command`]s,
//! applied once the frame is drawn (the egui demo app's `Command` / `run_cmd` shape).

use eframe::egui;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};
use egui::{Key, KeyboardShortcut, Modifiers, RichText, ThemePreference, Ui};

use crate::cancel::CancelToken;
use crate::compare::ComparisonPreset;
use crate::error::EngineError;
use crate::export::{self, Format};
use crate::monitor::{History, Monitor, Sample};
use crate::preset::{self, InvalidValue, Preset, PresetEntry};
use crate::result::SweepResult;
use crate::sweep::{self, Progress, SweepEvent};
use crate::ui::compare::{self as compare_ui, CompareCommand, CompareInputs, CompareTab};
use crate::ui::config::{self, ConfigContext, ConfigDraft, PresetPaths};
use crate::ui::cost::{self, CostDraft, CostTab};
use crate::ui::plots::{self, PlotOptions};
use crate::ui::session::{RunStatus, Session};
use crate::ui::{format, live, results};

/// Time between live readings while a sweep runs. Each reading repaints the window, and with
/// software OpenGL a repaint of the whole window costs tens of milliseconds of CPU that the
/// sweep is measuring with; once a second (as `top` and `bottom` refresh) keeps that to a few
/// percent (README, "The desktop app"). The monitor could go to 4 Hz
/// ([`crate::monitor::MIN_INTERVAL`]).
const LIVE_INTERVAL_RUNNING: Duration = Duration::from_secs(1);
/// Time between live readings while idle. Each reading repaints the window, and a repaint
/// costs a software-rendered window tens of milliseconds of CPU: one every 2 s keeps an idle
/// window at a few percent of one CPU at worst (README, "The desktop app"); Pause stops them.
const LIVE_INTERVAL_IDLE: Duration = Duration::from_secs(2);
/// Slowest repaint while a sweep runs, so that the time left counts down even with the live
/// readings paused; readings and engine events repaint sooner and reset this timer.
const RUNNING_REPAINT: Duration = Duration::from_secs(1);

/// A file format for [`Command::Export`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// One row per point.
    Csv,
    /// The whole result, the engine's own format.
    Json,
}

impl ExportKind {
    /// The engine's format for it.
    pub fn format(self) -> Format {
        match self {
            ExportKind::Csv => Format::Csv,
            ExportKind::Json => Format::Json,
        }
    }

    /// The file extension the export gets.
    pub fn extension(self) -> &'static str {
        match self {
            ExportKind::Csv => "csv",
            ExportKind::Json => "json",
        }
    }
}

/// Something the user asked for, applied after the frame is drawn.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum Command {
    /// Start a sweep of the current configuration.
    Run,
    /// Stop the running sweep; its finished points are kept.
    Stop,
    /// Run when idle, stop when running (the Space key); on the "Worker cost" tab, its run.
    ToggleRun,
    /// Load a preset file into the configuration; a bad file changes nothing.
    LoadPreset(PathBuf),
    /// Load the file named in the "Load from" field (Ctrl+O).
    LoadFromField,
    /// Save the configuration as a preset file, atomically.
    SavePreset(PathBuf),
    /// Save to the "Save to" field or the user presets folder (Ctrl+S).
    SaveToField,
    /// Show run `id`'s points in the table.
    SelectRun(u64),
    /// Remove run `id` from the session.
    RemoveRun(u64),
    /// Rename run `id` (a blank name is ignored: the legend needs one).
    RenameRun(u64, String),
    /// Write run `id` in a format; the extension is set by the format.
    Export(ExportKind, u64, PathBuf),
    /// Write a PNG of the plots as shown.
    ExportPng(PathBuf),
    /// Write the Worker cost tab's last result (the format of `pooltune cost --format`).
    ExportCost(ExportKind, PathBuf),
    /// Write a PNG of the Worker cost tab's two plots as shown.
    ExportCostPng(PathBuf),
    /// Use these model options (U, p99 target) for every run's recommendation.
    SetModelOptions(crate::model::ModelOptions),
    /// Something for the Compare tab.
    Compare(CompareCommand),
    /// Start a worker-cost run of the "Worker cost" tab's inputs.
    RunCost,
    /// Stop the worker-cost run; what it measured is kept.
    StopCost,
}

/// The views of the central area. Comparison and worker-cost views slot in here as tabs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Tab {
    /// Throughput and latency against threads, the runs and the results table.
    #[default]
    Sweep,
    /// Several series (Rust, simulated GIL, CPython) on one chart: throughput, speedup,
    /// efficiency.
    Compare,
    /// Memory and start latency per thread and per process, Rust beside Python.
    Cost,
}

impl Tab {
    /// Every tab, in the order shown.
    pub const ALL: [Tab; 3] = [Tab::Sweep, Tab::Compare, Tab::Cost];

    fn title(self) -> &'static str {
        match self {
            Tab::Sweep => "Sweep",
            Tab::Compare => "Compare",
            Tab::Cost => "Worker cost",
        }
    }
}

/// What the app remembers across restarts (window size and position are eframe's own).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PersistedState {
    /// Dark, light or follow the system.
    pub theme: ThemePreference,
    /// Plot settings.
    pub plot: PlotOptions,
    /// The last configuration, as preset TOML (the preset file format, so that it reads back
    /// exactly as a file would).
    pub draft_toml: String,
    /// The thread list as typed.
    pub threads_text: String,
    /// The save and load fields.
    pub paths: PresetPaths,
    /// The export field.
    pub export_path: String,
    /// Live readings paused.
    pub live_paused: bool,
    /// The tab shown.
    pub tab: Tab,
    /// The Compare tab's fields, view and loaded comparison.
    pub compare: CompareInputs,
    /// The Worker cost tab's inputs.
    pub cost: CostDraft,
    /// The Worker cost tab's export field.
    pub cost_export_path: String,
}

impl Default for PersistedState {
    fn default() -> Self {
        PersistedState {
            theme: ThemePreference::System,
            plot: PlotOptions::default(),
            draft_toml: String::new(),
            threads_text: String::new(),
            paths: PresetPaths::default(),
            export_path: "pooltune-result".to_owned(),
            live_paused: false,
            tab: Tab::Sweep,
            compare: CompareInputs::default(),
            cost: CostDraft::default(),
            cost_export_path: "pooltune-cost".to_owned(),
        }
    }
}

/// How the app starts.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// A preset to start with instead of the remembered configuration (`--preset`).
    pub preset: Option<Preset>,
    /// A comparison to start with (`--preset` naming a comparison file); the app opens on the
    /// Compare tab, and `--run` runs the comparison.
    pub comparison: Option<ComparisonPreset>,
    /// Start the sweep at once (`--run`).
    pub run_at_start: bool,
    /// When the first sweep has finished, save a PNG of the whole window here and close.
    pub screenshot_when_done: Option<PathBuf>,
    /// Take live readings (tests turn this off to keep the window still).
    pub live_readings: bool,
    /// Open on this tab instead of the remembered one (`--tab`); `--run` runs that tab's run.
    pub tab: Option<Tab>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            preset: None,
            comparison: None,
            run_at_start: false,
            screenshot_when_done: None,
            live_readings: true,
            tab: None,
        }
    }
}

/// A message shown under the top bar until dismissed or replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// What to say.
    pub text: String,
    /// An error (red) rather than information.
    pub error: bool,
}

/// The sweep being measured.
struct ActiveSweep {
    run_id: u64,
    cancel: CancelToken,
    events: Receiver<SweepEvent>,
    thread: Option<JoinHandle<Result<SweepResult, EngineError>>>,
    progress: Option<(Progress, Instant)>,
    started: Instant,
    stopping: bool,
}

/// The live-readings side of the app.
struct Live {
    monitor: Option<Monitor>,
    samples: Option<Receiver<Sample>>,
    history: History,
    unavailable: Option<String>,
    interval: Duration,
    paused: bool,
}

/// Why a screenshot was asked for.
enum ShotPurpose {
    /// The plots only, cropped to this rectangle (in points).
    Plots(PathBuf, egui::Rect),
    /// The whole window, then close (`--screenshot`).
    WindowThenClose(PathBuf),
}

struct PendingShot {
    purpose: ShotPurpose,
    image: Receiver<Arc<egui::ColorImage>>,
}

/// The pooltune window.
pub struct PooltuneApp {
    state: PersistedState,
    draft: ConfigDraft,
    session: Session,
    sweep: Option<ActiveSweep>,
    compare: CompareTab,
    live: Live,
    presets: Vec<PresetEntry>,
    notice: Option<Notice>,
    available_memory: u64,
    plots_rect: Option<egui::Rect>,
    pixels_per_point: f32,
    shot: Option<PendingShot>,
    run_at_start: bool,
    screenshot_when_done: Option<PathBuf>,
    applied_theme: Option<ThemePreference>,
    cost: CostTab,
}

impl PooltuneApp {
    /// Creates the app, restoring what was remembered and starting the monitor thread.
    pub fn new(cc: &eframe::CreationContext<'_>, options: AppOptions) -> PooltuneApp {
        let mut state: PersistedState = cc
            .storage
            .and_then(|storage| eframe::get_value(storage, eframe::APP_KEY))
            .unwrap_or_default();
        // `--preset` opens the tab of its kind, so that `--run` runs what it names.
        if options.comparison.is_some() {
            state.tab = Tab::Compare;
        } else if options.preset.is_some() {
            state.tab = Tab::Sweep;
        }
        if let Some(tab) = options.tab {
            state.tab = tab;
        }
        let draft = match options.preset {
            Some(preset) => ConfigDraft::new(preset),
            None => remembered_draft(&state),
        };
        let live = if options.live_readings {
            start_live(&cc.egui_ctx, state.live_paused)
        } else {
            Live {
                monitor: None,
                samples: None,
                history: History::last_minute(),
                unavailable: Some("Live readings are off.".to_owned()),
                interval: LIVE_INTERVAL_IDLE,
                paused: state.live_paused,
            }
        };
        let compare = CompareTab::new(options.comparison, state.compare.clone());
        let cost = CostTab::new(state.cost.clone(), state.cost_export_path.clone());
        PooltuneApp {
            state,
            draft,
            session: Session::default(),
            sweep: None,
            compare,
            live,
            presets: preset::list_presets(),
            notice: None,
            available_memory: preset::available_memory_bytes(),
            plots_rect: None,
            pixels_per_point: cc.egui_ctx.pixels_per_point(),
            shot: None,
            run_at_start: options.run_at_start,
            screenshot_when_done: options.screenshot_when_done,
            applied_theme: None,
            cost,
        }
    }

    /// The configuration being edited.
    pub fn draft(&self) -> &ConfigDraft {
        &self.draft
    }

    /// The configuration being edited, to change it (tests shorten sweeps this way).
    pub fn draft_mut(&mut self) -> &mut ConfigDraft {
        &mut self.draft
    }

    /// The "Worker cost" tab: its inputs, run and figures.
    pub fn cost(&self) -> &CostTab {
        &self.cost
    }

    /// The "Worker cost" tab, to change its inputs (tests point it at the built binary).
    pub fn cost_mut(&mut self) -> &mut CostTab {
        &mut self.cost
    }

    /// The runs of this session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The Compare tab: its comparison, fields and run.
    pub fn compare(&self) -> &CompareTab {
        &self.compare
    }

    /// The Compare tab, to change it (tests shorten comparisons this way).
    pub fn compare_mut(&mut self) -> &mut CompareTab {
        &mut self.compare
    }

    /// True while a sweep is being measured.
    pub fn is_running(&self) -> bool {
        self.sweep.is_some()
    }

    /// The message under the top bar.
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    /// The presets found on disk.
    pub fn presets(&self) -> &[PresetEntry] {
        &self.presets
    }

    /// What is remembered across restarts.
    pub fn persisted(&self) -> PersistedState {
        let mut state = self.state.clone();
        state.draft_toml = preset::to_toml(&self.draft.preset).unwrap_or_default();
        state.threads_text.clone_from(&self.draft.threads_text);
        state.compare = self.compare.inputs();
        state.cost = self.cost.draft.clone();
        state.cost_export_path.clone_from(&self.cost.export_path);
        state
    }

    /// The live readings of the last minute.
    pub fn history(&self) -> &History {
        &self.live.history
    }

    /// Where Ctrl+S saves when the "Save to" field is empty.
    pub fn default_save_path(&self) -> PathBuf {
        format::default_preset_path(&self.draft.preset.name)
    }

    fn inform(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            error: false,
        });
    }

    fn complain(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            error: true,
        });
    }

    /// Applies one command.
    fn run_cmd(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::Run => self.start_sweep(ctx),
            Command::Stop => {
                if let Some(sweep) = &mut self.sweep {
                    sweep.cancel.cancel();
                    sweep.stopping = true;
                }
            }
            Command::ToggleRun if self.state.tab == Tab::Compare => {
                let next = if self.compare.is_running() {
                    CompareCommand::Stop
                } else {
                    CompareCommand::Run
                };
                // Run and Stop say nothing back.
                let _ = self.compare.run_cmd(ctx, next);
            }
            Command::ToggleRun if self.state.tab == Tab::Cost => {
                let next = if self.cost.is_running() {
                    Command::StopCost
                } else {
                    Command::RunCost
                };
                self.run_cmd(ctx, next);
            }
            Command::ToggleRun => {
                let next = if self.sweep.is_some() {
                    Command::Stop
                } else {
                    Command::Run
                };
                self.run_cmd(ctx, next);
            }
            Command::LoadPreset(path) => self.load_preset(&path),
            Command::LoadFromField => {
                let path = self.state.paths.load.trim().to_owned();
                if path.is_empty() {
                    self.complain("Type the path of a preset file in \"Load from\" (side panel, at the bottom), then press Ctrl+O again.");
                } else {
                    self.load_preset(Path::new(&path));
                }
            }
            Command::SavePreset(path) => self.save_preset(&path),
            Command::SaveToField => {
                let typed = self.state.paths.save.trim();
                let path = if typed.is_empty() {
                    self.default_save_path()
                } else {
                    PathBuf::from(typed)
                };
                self.save_preset(&path);
            }
            Command::SelectRun(id) => self.session.select(id),
            Command::RemoveRun(id) => {
                self.session.remove(id);
            }
            Command::RenameRun(id, name) => {
                self.session.rename(id, &name);
            }
            Command::Export(kind, id, path) => self.export(kind, id, &path),
            Command::ExportPng(path) => match self.plots_rect {
                Some(rect) => self.request_screenshot(ctx, ShotPurpose::Plots(path, rect)),
                None => self.complain("There is no plot on screen to export."),
            },
            Command::SetModelOptions(options) => self.session.set_model_options(options),
            Command::Compare(CompareCommand::ExportPng(path)) => match self.compare.chart_rect() {
                Some(rect) => self.request_screenshot(ctx, ShotPurpose::Plots(path, rect)),
                None => self.complain("There is no chart on screen to export."),
            },
            Command::Compare(command) => match self.compare.run_cmd(ctx, command) {
                Some(Ok(done)) => self.inform(done),
                Some(Err(why)) => self.complain(why),
                None => {}
            },
            Command::ExportCost(kind, path) => match self.cost.export(kind, &path) {
                Ok(done) => self.inform(done),
                Err(why) => self.complain(why),
            },
            Command::ExportCostPng(path) => match self.cost.plots_rect() {
                Some(rect) => self.request_screenshot(ctx, ShotPurpose::Plots(path, rect)),
                None => self.complain("There are no plots on screen to export."),
            },
            Command::RunCost => self.cost.start(ctx),
            Command::StopCost => self.cost.stop(),
        }
    }

    fn start_sweep(&mut self, ctx: &egui::Context) {
        if self.sweep.is_some() {
            return;
        }
        let preset = match self.draft.checked(self.available_memory) {
            Ok(preset) => preset,
            Err(invalid) => {
                self.complain(format!("Cannot run: {invalid}"));
                return;
            }
        };
        let run_id = self.session.start(preset.clone());
        let cancel = CancelToken::new();
        let (sender, events) = crossbeam_channel::unbounded();
        let repaint = ctx.clone();
        let spawned = sweep::spawn_sweep(preset, cancel.clone(), move |event| {
            // A point or the end is drawn at once; progress (a step every trial, several a
            // second) waits for the next repaint within RUNNING_REPAINT, so that drawing
            // does not multiply with the engine's pace.
            let urgent = !matches!(event, SweepEvent::Progress(_));
            // The window may already be gone when the last event is sent.
            let _ = sender.send(event);
            if urgent {
                repaint.request_repaint();
            } else {
                repaint.request_repaint_after(RUNNING_REPAINT);
            }
        });
        match spawned {
            Ok(thread) => {
                self.notice = None;
                self.sweep = Some(ActiveSweep {
                    run_id,
                    cancel,
                    events,
                    thread: Some(thread),
                    progress: None,
                    started: Instant::now(),
                    stopping: false,
                });
            }
            Err(err) => {
                self.session.fail(run_id, err.to_string());
                self.complain(err.to_string());
            }
        }
    }

    fn load_preset(&mut self, path: &Path) {
        match preset::load(path) {
            Ok(preset) => {
                self.inform(format!("Loaded {} from {}", preset.name, path.display()));
                self.draft = ConfigDraft::new(preset);
            }
            Err(err) => self.complain(format!(
                "Could not load the preset; the configuration is unchanged.\n{err}"
            )),
        }
    }

    fn save_preset(&mut self, path: &Path) {
        let preset = match self.draft.checked(self.available_memory) {
            Ok(preset) => preset,
            Err(invalid) => {
                self.complain(format!("Not saved: {invalid}"));
                return;
            }
        };
        if let Err(why) = preset::prepare_save_folder(path) {
            self.complain(format!("Not saved: {why}"));
            return;
        }
        match preset::save(&preset, path) {
            Ok(()) => {
                self.inform(format!("Saved {} to {}", preset.name, path.display()));
                self.presets = preset::list_presets();
            }
            Err(err) => self.complain(format!("Not saved: {err}")),
        }
    }

    fn export(&mut self, kind: ExportKind, run_id: u64, path: &Path) {
        let Some(result) = self.session.get(run_id).and_then(|r| r.result.as_ref()) else {
            self.complain("This run has no result yet: wait until it finishes or stop it.");
            return;
        };
        let path = path.with_extension(kind.extension());
        match crate::ui::write_export(&path, export::exporter(kind.format()).export(result)) {
            Ok(done) => self.inform(done),
            Err(why) => self.complain(why),
        }
    }

    fn request_screenshot(&mut self, ctx: &egui::Context, purpose: ShotPurpose) {
        let (sender, image) = crossbeam_channel::bounded(1);
        let repaint = ctx.clone();
        ctx.send_viewport_cmd(egui::ViewportCommand::Screenshot(
            egui::ScreenshotCallback::new(move |shot| {
                let _ = sender.send(shot);
                repaint.request_repaint();
            }),
        ));
        self.shot = Some(PendingShot { purpose, image });
    }

    /// Moves what the threads have sent into the app's state.
    fn receive(&mut self, ctx: &egui::Context) {
        if let Some(samples) = &self.live.samples {
            for sample in samples.try_iter() {
                self.available_memory = sample.memory_available_bytes;
                self.live.history.push(sample);
            }
        }
        self.receive_sweep_events();
        self.compare.receive();
        self.receive_screenshot(ctx);
    }

    fn receive_sweep_events(&mut self) {
        let Some(sweep) = &mut self.sweep else {
            return;
        };
        let session = &mut self.session;
        let run_id = sweep.run_id;
        let progress = &mut sweep.progress;
        let ended = crate::ui::drain_events(&sweep.events, |event| match event {
            SweepEvent::Progress(p) => {
                *progress = Some((p, Instant::now()));
                false
            }
            event => {
                let finished = matches!(event, SweepEvent::Finished(_));
                session.apply(run_id, event);
                finished
            }
        });
        if !ended {
            return;
        }
        let run_id = sweep.run_id;
        let outcome = sweep.thread.take().map(JoinHandle::join);
        self.sweep = None;
        let failure = match outcome {
            Some(Ok(Ok(_))) | None => None,
            Some(Ok(Err(err))) => Some(err.to_string()),
            Some(Err(_)) => Some("the engine thread stopped unexpectedly".to_owned()),
        };
        if let Some(message) = failure {
            self.session.fail(run_id, message.clone());
            self.complain(format!("The sweep could not run: {message}"));
        }
    }

    fn receive_screenshot(&mut self, ctx: &egui::Context) {
        let Some(shot) = &self.shot else {
            return;
        };
        let image = match shot.image.try_recv() {
            Ok(image) => image,
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => {
                self.shot = None;
                return;
            }
        };
        let Some(shot) = self.shot.take() else {
            return;
        };
        match shot.purpose {
            ShotPurpose::Plots(path, rect) => {
                match write_png(&image, Some(rect), self.pixels_per_point, &path) {
                    Ok(()) => self.inform(format!("Wrote {}", path.display())),
                    Err(err) => self.complain(format!("Could not write {}: {err}", path.display())),
                }
            }
            ShotPurpose::WindowThenClose(path) => {
                if let Err(err) = write_png(&image, None, self.pixels_per_point, &path) {
                    eprintln!("error: could not write {}: {err}", path.display());
                }
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }

    /// Keeps the monitor's pace and pause in step with the app.
    fn pace_monitor(&mut self) {
        let Some(monitor) = &self.live.monitor else {
            return;
        };
        let interval = if self.sweep.is_some() {
            LIVE_INTERVAL_RUNNING
        } else {
            LIVE_INTERVAL_IDLE
        };
        if interval != self.live.interval {
            monitor.set_interval(interval);
            self.live.interval = interval;
        }
        if self.state.live_paused != self.live.paused {
            monitor.set_paused(self.state.live_paused);
            self.live.paused = self.state.live_paused;
        }
    }

    /// Space runs or stops (unless a text field has the keyboard); Ctrl+S saves, Ctrl+O loads.
    fn shortcuts(ctx: &egui::Context) -> Vec<Command> {
        let save = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
        let open = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
        let typing = ctx.text_edit_focused();
        ctx.input_mut(|input| {
            let mut commands = Vec::new();
            if input.consume_shortcut(&save) {
                commands.push(Command::SaveToField);
            }
            if input.consume_shortcut(&open) {
                commands.push(Command::LoadFromField);
            }
            // Consumed before any widget is drawn, so a focused button does not also see it.
            if !typing && input.consume_key(Modifiers::NONE, Key::Space) {
                commands.push(Command::ToggleRun);
            }
            commands
        })
    }

    fn top_bar_ui(
        &mut self,
        ui: &mut Ui,
        check: &Result<Preset, InvalidValue>,
        commands: &mut Vec<Command>,
    ) {
        ui.horizontal(|ui| {
            ui.heading(RichText::new("pooltune").strong());
            ui.separator();
            match &self.sweep {
                Some(sweep) => {
                    let stop = ui
                        .add_enabled(!sweep.stopping, egui::Button::new("Stop"))
                        .on_hover_text(
                            "Stop the sweep (Space). The points measured so far are kept.",
                        );
                    if stop.clicked() {
                        commands.push(Command::Stop);
                    }
                    progress_ui(ui, sweep);
                }
                None if self.state.tab == Tab::Compare => {
                    ui.weak("Space: run/stop the comparison");
                }
                None if self.state.tab == Tab::Cost => {
                    ui.weak("Space: start/stop measuring what a worker costs");
                }
                None => {
                    let run = ui
                        .add_enabled(check.is_ok(), egui::Button::new("Run"))
                        .on_hover_text("Measure the configuration on the left (Space).");
                    if run.clicked() {
                        commands.push(Command::Run);
                    }
                    if let Err(invalid) = check {
                        ui.label(
                            RichText::new(format!("Cannot run: {invalid}"))
                                .color(ui.visuals().error_fg_color),
                        );
                    } else {
                        if let Ok(preset) = check
                            && let Some(ms) = preset.sweep.timed_length_ms()
                        {
                            ui.label(format!("about {}", format::seconds_left(ms as f64 / 1000.0)))
                                .on_hover_text("The warm-ups and trials of every thread count; calibration and starting the pools come on top.");
                        }
                        ui.weak("Space: run/stop · Ctrl+S: save preset · Ctrl+O: load preset");
                    }
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                // Right to left: the box first, so that its label lands on its left.
                let theme = egui::ComboBox::from_id_salt("theme")
                    .selected_text(theme_name(self.state.theme))
                    .show_ui(ui, |ui| {
                        for theme in [
                            ThemePreference::System,
                            ThemePreference::Dark,
                            ThemePreference::Light,
                        ] {
                            ui.selectable_value(&mut self.state.theme, theme, theme_name(theme));
                        }
                    })
                    .response;
                let label = ui.label("Theme");
                theme.labelled_by(label.id);
            });
        });
        if let Some(notice) = &self.notice {
            let mut dismissed = false;
            ui.horizontal_wrapped(|ui| {
                let color = if notice.error {
                    ui.visuals().error_fg_color
                } else {
                    ui.visuals().text_color()
                };
                ui.label(RichText::new(&notice.text).color(color));
                dismissed = ui.small_button("Dismiss").clicked();
            });
            if dismissed {
                self.notice = None;
            }
        }
    }

    fn sweep_tab_ui(&mut self, ui: &mut Ui, commands: &mut Vec<Command>) {
        let configured_threads = self
            .draft
            .preset
            .sweep
            .thread_counts()
            .into_iter()
            .max()
            .unwrap_or(1);
        let Self {
            state,
            session,
            plots_rect,
            ..
        } = self;
        ui.horizontal(|ui| {
            ui.label("Thread axis").on_hover_text(
                "Log₂ spaces 1, 2, 4, 8, … equally, which suits sweeps that double the threads.",
            );
            ui.radio_value(&mut state.plot.log_threads, false, "linear");
            ui.radio_value(&mut state.plot.log_threads, true, "log₂");
            ui.separator();
            ui.checkbox(&mut state.plot.show_ideal, "ideal scaling")
                .on_hover_text("Dashed: the 1-thread throughput times the thread count, what perfect scaling would give.");
            ui.checkbox(&mut state.plot.show_ci, "95% CI whiskers")
                .on_hover_text("The 95% confidence interval of each throughput, from the spread of its trials.");
            ui.checkbox(&mut state.plot.show_model, "model")
                .on_hover_text("For the run in the table: the fitted scalability curve (USL, Gunther), the bound min(N/(W+C), N_cpu/C), and vertical lines at the recommended thread count and at the formula's N = N_cpu × U × (1 + W/C).");
            ui.separator();
            if let Some(options) = model_options_ui(ui, session.model_options()) {
                commands.push(Command::SetModelOptions(options));
            }
        });
        egui::Panel::bottom("results_panel")
            .resizable(true)
            .default_size(250.0)
            .show(ui, |ui| {
                egui::Panel::left("runs_panel")
                    .resizable(true)
                    .default_size(330.0)
                    .show(ui, |ui| results::runs_ui(ui, session, commands));
                egui::CentralPanel::no_frame().show(ui, |ui| {
                    results::table_ui(ui, session.selected(), &mut state.export_path, commands);
                });
            });
        egui::CentralPanel::no_frame().show(ui, |ui| {
            *plots_rect = Some(plots::plots_ui(
                ui,
                session,
                &state.plot,
                configured_threads,
            ));
        });
    }
}

fn theme_name(theme: ThemePreference) -> &'static str {
    match theme {
        ThemePreference::Dark => "dark",
        ThemePreference::Light => "light",
        ThemePreference::System => "follow the system",
    }
}

fn progress_ui(ui: &mut Ui, sweep: &ActiveSweep) {
    let (fraction, text) = match &sweep.progress {
        None => (
            0.0,
            format!(
                "preparing (calibrating this machine)… {:.0} s",
                sweep.started.elapsed().as_secs_f64()
            ),
        ),
        Some((progress, received)) => {
            let left = progress
                .eta_s()
                .map(|eta| format::seconds_left(eta - received.elapsed().as_secs_f64()))
                .unwrap_or_else(|| format::UNKNOWN.to_owned());
            (
                progress.fraction() as f32,
                format!(
                    "{} threads · point {} of {} · about {left} left{}",
                    progress.threads,
                    progress.point_index + 1,
                    progress.points,
                    // The time since the last event counts: a trial that hangs sends none.
                    crate::sweep::slower_than_planned(
                        progress.elapsed_s + received.elapsed().as_secs_f64(),
                        progress.planned_s,
                        progress.eta_s().map(|eta| progress.elapsed_s + eta),
                    )
                    .map(|note| format!(" · {note}"))
                    .unwrap_or_default()
                ),
            )
        }
    };
    let text = if sweep.stopping {
        "stopping…".to_owned()
    } else {
        text
    };
    ui.add(
        egui::ProgressBar::new(fraction)
            .desired_width(420.0)
            .text(text),
    );
}

fn remembered_draft(state: &PersistedState) -> ConfigDraft {
    if state.draft_toml.trim().is_empty() {
        return ConfigDraft::new(config::default_preset());
    }
    // Read without validating: a half-edited configuration comes back as it was left,
    // with its invalid value marked, rather than being thrown away.
    match preset::parse_toml::<Preset>(&state.draft_toml, Path::new("(remembered)")) {
        Ok(preset) => {
            let mut draft = ConfigDraft::new(preset);
            if draft.preset.sweep.threads_range.is_none() && !state.threads_text.is_empty() {
                draft.threads_text.clone_from(&state.threads_text);
            }
            draft
        }
        Err(_) => ConfigDraft::new(config::default_preset()),
    }
}

fn start_live(ctx: &egui::Context, paused: bool) -> Live {
    let (sender, samples) = crossbeam_channel::unbounded();
    let repaint = ctx.clone();
    let spawned = Monitor::spawn(LIVE_INTERVAL_IDLE, move |sample| {
        let _ = sender.send(sample);
        repaint.request_repaint();
    });
    match spawned {
        Ok(monitor) => {
            if paused {
                monitor.set_paused(true);
            }
            Live {
                monitor: Some(monitor),
                samples: Some(samples),
                history: History::last_minute(),
                unavailable: None,
                interval: LIVE_INTERVAL_IDLE,
                paused,
            }
        }
        Err(err) => Live {
            monitor: None,
            samples: None,
            history: History::last_minute(),
            unavailable: Some(format!("No live readings: {err}")),
            interval: LIVE_INTERVAL_IDLE,
            paused,
        },
    }
}

/// Encodes `image` (cropped to `crop`, given in points) as PNG and writes it atomically.
pub fn write_png(
    image: &egui::ColorImage,
    crop: Option<egui::Rect>,
    pixels_per_point: f32,
    path: &Path,
) -> anyhow::Result<()> {
    let bytes = png_bytes(image, crop, pixels_per_point)?;
    crate::atomic_file::write(path, &bytes)?;
    Ok(())
}

/// The PNG encoding of `image`, cropped to `crop` (in points) when given.
pub fn png_bytes(
    image: &egui::ColorImage,
    crop: Option<egui::Rect>,
    pixels_per_point: f32,
) -> anyhow::Result<Vec<u8>> {
    let [width, height] = image.size;
    let (x0, y0, x1, y1) = match crop {
        Some(rect) => {
            let px =
                |v: f32, max: usize| ((v * pixels_per_point).round().max(0.0) as usize).min(max);
            (
                px(rect.min.x, width),
                px(rect.min.y, height),
                px(rect.max.x, width),
                px(rect.max.y, height),
            )
        }
        None => (0, 0, width, height),
    };
    anyhow::ensure!(x1 > x0 && y1 > y0, "the area to save is empty");
    let mut rgba = Vec::with_capacity((x1 - x0) * (y1 - y0) * 4);
    for y in y0..y1 {
        for pixel in &image.pixels[y * width + x0..y * width + x1] {
            rgba.extend_from_slice(&pixel.to_srgba_unmultiplied());
        }
    }
    let buffer = image::RgbaImage::from_raw((x1 - x0) as u32, (y1 - y0) as u32, rgba)
        .ok_or_else(|| anyhow::anyhow!("the screenshot has the wrong size"))?;
    let mut png = Vec::new();
    buffer.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
    Ok(png)
}

/// The model's inputs: U in the formula and an optional p99 latency target. Returns the new
/// options when the user changed them.
fn model_options_ui(
    ui: &mut egui::Ui,
    current: crate::model::ModelOptions,
) -> Option<crate::model::ModelOptions> {
    use crate::model::{UTILIZATION_MAX, UTILIZATION_MIN};
    let mut options = current;
    let u_label = ui.label("U").on_hover_text(
        "Target CPU utilisation in the formula N = N_cpu × U × (1 + W/C): 1.0 keeps every CPU \
         busy; 0.8 leaves a fifth of them for other work.",
    );
    ui.add(
        egui::DragValue::new(&mut options.utilization_target)
            .range(UTILIZATION_MIN..=UTILIZATION_MAX)
            .speed(0.01)
            .fixed_decimals(2),
    )
    .labelled_by(u_label.id)
    .on_hover_text("U, from 0.01 to 1.0");
    let mut has_target = options.p99_target_us.is_some();
    ui.checkbox(&mut has_target, "p99 target").on_hover_text(
        "Also recommend the knee among the thread counts whose p99 task time stays at or under \
         this target.",
    );
    if has_target {
        let mut ms = options.p99_target_us.unwrap_or(10_000.0) / 1000.0;
        ui.add(
            egui::DragValue::new(&mut ms)
                .range(0.001..=600_000.0)
                .speed(0.1)
                .suffix(" ms"),
        )
        .on_hover_text("p99 latency target");
        options.p99_target_us = Some(ms * 1000.0);
    } else {
        options.p99_target_us = None;
    }
    (options != current).then_some(options)
}

impl eframe::App for PooltuneApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.receive(ctx);
        // The worker-cost run reads this process's memory, so it waits for the window to
        // have drawn a few frames (shaders, fonts and the software renderer's threads are
        // set up in the first ones); a sweep starts at once.
        let settled = self.state.tab != Tab::Cost || ctx.cumulative_frame_nr() >= 3;
        if self.run_at_start && !settled {
            ctx.request_repaint_after(Duration::from_millis(300));
        } else if std::mem::take(&mut self.run_at_start) {
            // Nothing runs yet: this starts the shown tab's run.
            self.run_cmd(ctx, Command::ToggleRun);
        }
        self.cost.receive();
        self.pace_monitor();
        if self.sweep.is_some() || self.compare.is_running() || self.cost.repaints_while_running() {
            ctx.request_repaint_after(RUNNING_REPAINT);
        }
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        if self.applied_theme != Some(self.state.theme) {
            ui.ctx().set_theme(self.state.theme);
            self.applied_theme = Some(self.state.theme);
        }
        self.pixels_per_point = ui.ctx().pixels_per_point();
        let mut commands = Self::shortcuts(ui.ctx());
        let check = self.draft.checked(self.available_memory);

        egui::Panel::top("top_bar").show(ui, |ui| {
            self.top_bar_ui(ui, &check, &mut commands);
        });
        // The sweep's configuration belongs to the Sweep tab; the others have their own inputs.
        if self.state.tab == Tab::Sweep {
            egui::Panel::left("config_panel")
                .resizable(true)
                .default_size(340.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("config_scroll")
                        .show(ui, |ui| {
                            let context = ConfigContext {
                                presets: &self.presets,
                                check: &check,
                                default_save_path: format::home_relative(&self.default_save_path()),
                            };
                            config::config_ui(
                                ui,
                                &mut self.draft,
                                &mut self.state.paths,
                                &context,
                                &mut commands,
                            );
                        });
                });
        }
        egui::Panel::right("live_panel")
            .resizable(true)
            .default_size(280.0)
            .show(ui, |ui| {
                let status = live::LiveStatus {
                    unavailable: self.live.unavailable.as_deref(),
                };
                live::live_ui(ui, &self.live.history, &mut self.state.live_paused, &status);
            });
        egui::CentralPanel::default().show(ui, |ui| {
            ui.horizontal(|ui| {
                for tab in Tab::ALL {
                    ui.selectable_value(&mut self.state.tab, tab, tab.title());
                }
            });
            ui.separator();
            match self.state.tab {
                Tab::Sweep => self.sweep_tab_ui(ui, &mut commands),
                Tab::Compare => {
                    let mut compare_commands = Vec::new();
                    compare_ui::compare_ui(ui, &mut self.compare, &mut compare_commands);
                    commands.extend(compare_commands.into_iter().map(Command::Compare));
                }
                Tab::Cost => cost::cost_ui(ui, &mut self.cost, &mut commands),
            }
        });

        for command in commands {
            self.run_cmd(ui.ctx(), command);
        }

        // `--screenshot`: once the run of the shown tab has ended and its last frame is drawn.
        let finished = match self.state.tab {
            Tab::Compare => self.compare.has_ended(),
            Tab::Sweep => {
                self.sweep.is_none()
                    && self
                        .session
                        .runs()
                        .last()
                        .is_some_and(|run| run.status != RunStatus::Running)
            }
            Tab::Cost => !self.cost.is_running() && self.cost.result.is_some(),
        };
        if finished
            && self.shot.is_none()
            && let Some(path) = self.screenshot_when_done.take()
        {
            self.request_screenshot(ui.ctx(), ShotPurpose::WindowThenClose(path));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.persisted());
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if let Some(sweep) = &self.sweep {
            sweep.cancel.cancel();
        }
        self.compare.stop();
    }
}

impl Drop for PooltuneApp {
    fn drop(&mut self) {
        // Stop the engine and wait for it, so that no measuring thread outlives the window.
        if let Some(sweep) = &mut self.sweep {
            sweep.cancel.cancel();
            if let Some(thread) = sweep.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// Why the window could not open.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// Neither `DISPLAY` nor `WAYLAND_DISPLAY` is set.
    #[error(
        "no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset). \
         Run a sweep without a window instead: pooltune sweep --preset presets/cpu-bound.toml"
    )]
    NoDisplay,
    /// The windowing system or OpenGL failed.
    #[error(
        "the window could not be opened: {0}. \
         Run a sweep without a window instead: pooltune sweep --preset presets/cpu-bound.toml"
    )]
    Graphics(String),
}

/// True when a graphical session is there to open a window on.
pub fn display_available() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// The error of a window that could not open, on one line. `state_file` is given when the
/// windowing stack panicked (as it did on a remembered zoom of 0): then the remembered state
/// may be the cause, and the message names the file to remove, when there is one.
fn launch_failure(text: &str, state_file: Option<&Path>) -> LaunchError {
    let hint = state_file
        .filter(|path| path.exists())
        .map_or(String::new(), |path| {
            format!(
                "; if it opened before, the remembered window state may be the cause: \
                 remove {} and try again",
                crate::error::one_line(&path.display().to_string())
            )
        });
    LaunchError::Graphics(format!("{}{hint}", crate::error::one_line(text)))
}

/// The smallest the window may be, in points.
const MIN_INNER_SIZE: [f32; 2] = [960.0, 600.0];

/// Opens the window and runs until it is closed.
pub fn launch(options: AppOptions) -> Result<(), LaunchError> {
    if !display_available() {
        return Err(LaunchError::NoDisplay);
    }
    let state_file = remembered::path();
    if let Some(path) = &state_file {
        remembered::repair(path, &remembered::screens());
    }
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("pooltune")
            .with_app_id("pooltune")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size(MIN_INNER_SIZE),
        ..Default::default()
    };
    // The windowing stack panics on some broken setups instead of returning an error; turn
    // that into the same clear message. Its panic text is kept for the message, not printed.
    let previous_hook = std::panic::take_hook();
    let message = Arc::new(std::sync::Mutex::new(None::<String>));
    let slot = Arc::clone(&message);
    let main_thread = std::thread::current().id();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == main_thread {
            if let Ok(mut slot) = slot.lock() {
                *slot = Some(info.to_string());
            }
        } else {
            eprintln!("{info}");
        }
    }));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        eframe::run_native(
            "pooltune",
            native,
            Box::new(|cc| Ok(Box::new(PooltuneApp::new(cc, options)))),
        )
    }));
    std::panic::set_hook(previous_hook);
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(launch_failure(&err.to_string(), None)),
        Err(_) => {
            let text = message
                .lock()
                .ok()
                .and_then(|slot| slot.clone())
                .unwrap_or_else(|| "the windowing system failed".to_owned());
            Err(launch_failure(&text, state_file.as_deref()))
        }
    }
}

pub mod remembered;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_is_cropped_to_the_plots() {
        let mut image = egui::ColorImage::filled([40, 30], egui::Color32::WHITE);
        image.pixels[10 * 40 + 20] = egui::Color32::RED;
        // 2 pixels per point: points (10, 5)–(15, 10) are pixels (20, 10)–(30, 20).
        let rect = egui::Rect::from_min_max(egui::pos2(10.0, 5.0), egui::pos2(15.0, 10.0));
        let png = png_bytes(&image, Some(rect), 2.0).unwrap();
        let decoded = image::load_from_memory(&png).unwrap().to_rgba8();
        assert_eq!(decoded.dimensions(), (10, 10));
        assert_eq!(decoded.get_pixel(0, 0).0, [255, 0, 0, 255]);
        assert_eq!(decoded.get_pixel(1, 0).0, [255, 255, 255, 255]);
    }

    #[test]
    fn an_empty_crop_is_an_error_not_a_panic() {
        let image = egui::ColorImage::filled([4, 4], egui::Color32::WHITE);
        let rect = egui::Rect::from_min_max(egui::pos2(10.0, 10.0), egui::pos2(20.0, 20.0));
        assert!(png_bytes(&image, Some(rect), 1.0).is_err());
    }

    /// app.ron as eframe 0.37 writes it: egui's memory with `zoom`, a window geometry, and
    /// pooltune's own state.
    fn app_ron(zoom: f32, window: &str) -> String {
        let mut memory = egui::Memory::default();
        memory.options.zoom_factor = zoom;
        let entries: std::collections::HashMap<String, String> = [
            ("egui".to_owned(), ron::to_string(&memory).unwrap()),
            ("window".to_owned(), window.to_owned()),
            ("app".to_owned(), "(theme:Dark)".to_owned()),
        ]
        .into();
        ron::ser::to_string_pretty(&entries, ron::ser::PrettyConfig::default()).unwrap()
    }

    fn window(x: f32, y: f32, scale: f32, width: f32, height: f32) -> String {
        format!(
            "(normal_geometry:(outer_position_pixels:Some((x:{x:?},y:{y:?})),scale_factor:{scale:?},\
             inner_size_points:(x:{width:?},y:{height:?})),fullscreen:false,maximized:false)"
        )
    }

    /// A zoom of 0, NaN or 1e9 (which kept the app from starting, issue 10 item 17) is
    /// replaced by 1; a window below the minimum size, with a broken scale factor or far off
    /// every screen is forgotten; everything else is kept as written.
    #[test]
    fn remembered_values_out_of_range_are_replaced_by_defaults() {
        let good_window = window(100.0, 50.0, 1.0, 1400.0, 900.0);
        for zoom in [0.0, f32::NAN, 1e9, -1.0] {
            let (fixed, replaced) =
                remembered::sanitize(&app_ron(zoom, &good_window), &[]).expect("repaired");
            let entries: std::collections::HashMap<String, String> = ron::from_str(&fixed).unwrap();
            let memory: egui::Memory = ron::from_str(&entries["egui"]).unwrap();
            assert_eq!(memory.options.zoom_factor, 1.0, "zoom {zoom}");
            assert_eq!(entries["window"], good_window, "the good window is kept");
            assert_eq!(entries["app"], "(theme:Dark)");
            assert_eq!(replaced.len(), 1, "{replaced:?}");
            assert!(
                replaced[0].starts_with(&format!("zoom {zoom}")),
                "{replaced:?}"
            );
        }
        for bad_window in [
            window(100.0, 50.0, 1.0, 0.0, 0.0),
            window(100.0, 50.0, 1.0, 200.0, 900.0),
            window(100.0, 50.0, 1.0, f32::NAN, 900.0),
            window(100.0, 50.0, 0.0, 1400.0, 900.0),
            window(1e9, -1e9, 1.0, 1400.0, 900.0),
        ] {
            let (fixed, replaced) =
                remembered::sanitize(&app_ron(1.25, &bad_window), &[]).expect("repaired");
            let entries: std::collections::HashMap<String, String> = ron::from_str(&fixed).unwrap();
            assert!(!entries.contains_key("window"), "{bad_window}");
            let memory: egui::Memory = ron::from_str(&entries["egui"]).unwrap();
            assert_eq!(memory.options.zoom_factor, 1.25, "a good zoom is kept");
            assert_eq!(replaced.len(), 1, "{replaced:?}");
        }
        // Nothing to repair: the file is left alone.
        assert!(remembered::sanitize(&app_ron(1.5, &good_window), &[]).is_none());
        assert!(remembered::sanitize("not ron at all {", &[]).is_none());
    }

    fn screen(x: f32, y: f32, width: f32, height: f32) -> egui::Rect {
        egui::Rect::from_min_size(egui::pos2(x, y), egui::vec2(width, height))
    }

    /// A window rectangle against the screens: kept where at least 64 × 64 px of it is on one
    /// screen, dropped (`None`: the window manager places it) where it is on none (issue 10
    /// item 17: (5000, 5000) and (-3000, 100) on a 1400 × 900 screen opened out of sight).
    #[test]
    fn a_position_off_every_screen_is_dropped() {
        let one = [screen(0.0, 0.0, 1400.0, 900.0)];
        let at = |x, y| screen(x, y, 1400.0, 900.0);
        for (x, y) in [
            (5000.0, 5000.0),
            (-3000.0, 100.0),
            (1380.0, 100.0),
            (100.0, -880.0),
        ] {
            assert_eq!(
                remembered::position_on_screen(at(x, y), &one),
                None,
                "{x}, {y}"
            );
        }
        for (x, y) in [
            (0.0, 0.0),
            (100.0, 50.0),
            (1300.0, 800.0),
            (-1300.0, -800.0),
        ] {
            assert_eq!(
                remembered::position_on_screen(at(x, y), &one),
                Some(egui::pos2(x, y)),
                "{x}, {y}"
            );
        }
        // On a second monitor to the right: kept; with that monitor gone: dropped.
        let two = [one[0], screen(1400.0, 0.0, 1920.0, 1080.0)];
        assert_eq!(
            remembered::position_on_screen(at(2000.0, 100.0), &two),
            Some(egui::pos2(2000.0, 100.0))
        );
        assert_eq!(
            remembered::position_on_screen(at(2000.0, 100.0), &one),
            None
        );
        // Screens unknown: the position is kept (only the ±100 000 px check remains).
        assert_eq!(
            remembered::position_on_screen(at(5000.0, 5000.0), &[]),
            Some(egui::pos2(5000.0, 5000.0))
        );
    }

    /// app.ron with a window off every screen loses that window (the default one opens), and
    /// keeps it when it is on a screen; the size counts in pixels (points × zoom × scale).
    #[test]
    fn a_remembered_window_off_every_screen_is_replaced() {
        let one = [screen(0.0, 0.0, 1400.0, 900.0)];
        for (x, y) in [(5000.0, 5000.0), (-3000.0, 100.0)] {
            let (fixed, replaced) =
                remembered::sanitize(&app_ron(1.0, &window(x, y, 1.0, 1400.0, 900.0)), &one)
                    .expect("repaired");
            let entries: std::collections::HashMap<String, String> = ron::from_str(&fixed).unwrap();
            assert!(!entries.contains_key("window"), "{x}, {y}");
            assert_eq!(entries["app"], "(theme:Dark)");
            assert_eq!(
                replaced,
                [format!(
                    "window position {x}, {y} (off every screen) by the default window"
                )]
            );
        }
        let on_screen = window(100.0, 50.0, 1.0, 1400.0, 900.0);
        assert!(remembered::sanitize(&app_ron(1.0, &on_screen), &one).is_none());
        // At x = -1000 a window 1000 points wide is out of sight at zoom 1 and scale 1, but
        // 2200 px wide (1000 × 1.1 × 2) at zoom 1.1 and scale 2, so 1200 px of it show.
        let left = window(-1000.0, 50.0, 2.0, 1000.0, 600.0);
        assert!(remembered::sanitize(&app_ron(1.1, &left), &one).is_none());
        let left = window(-1000.0, 50.0, 1.0, 1000.0, 600.0);
        assert!(remembered::sanitize(&app_ron(1.0, &left), &one).is_some());
    }

    /// A panic of the windowing stack names the state file to remove, on one line.
    #[test]
    fn a_window_that_panicked_names_the_state_file_to_remove() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.ron");
        std::fs::write(&path, "{}").unwrap();
        let panic = "panicked at dpi-0.1.2/src/lib.rs:636:9:\nassertion failed";
        let text = launch_failure(panic, Some(&path)).to_string();
        assert!(
            text.contains(&format!("remove {} and try again", path.display())),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1, "{text}");
        // No file, or not a panic: no advice to remove anything.
        let text = launch_failure(panic, Some(&dir.path().join("none.ron"))).to_string();
        assert!(!text.contains("remove"), "{text}");
        assert!(
            !launch_failure("no X server", None)
                .to_string()
                .contains("remove")
        );
    }

    /// The file in a temporary XDG data folder is repaired in place, keeping its mode.
    #[test]
    fn a_bad_app_ron_is_repaired_in_place() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pooltune").join("app.ron");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, app_ron(0.0, &window(0.0, 0.0, 1.0, 1400.0, 900.0))).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        remembered::repair(&path, &[]);
        let entries: std::collections::HashMap<String, String> =
            ron::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let memory: egui::Memory = ron::from_str(&entries["egui"]).unwrap();
        assert_eq!(memory.options.zoom_factor, 1.0);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    #[test]
    fn the_remembered_state_reads_back() {
        let state = PersistedState {
            theme: ThemePreference::Light,
            draft_toml: preset::to_toml(&config::default_preset()).unwrap(),
            threads_text: "1, 2, x".into(),
            ..PersistedState::default()
        };
        let json = serde_json::to_string(&state).unwrap();
        let back: PersistedState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, state);
        // A half-typed thread list comes back as typed.
        let draft = remembered_draft(&back);
        assert_eq!(draft.threads_text, "1, 2, x");
        assert_eq!(draft.preset.name, config::default_preset().name);
        // Older or partial state fills in defaults.
        let partial: PersistedState = serde_json::from_str(r#"{"theme":"Dark"}"#).unwrap();
        assert_eq!(partial.export_path, "pooltune-result");
    }
}
