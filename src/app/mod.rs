//! The desktop app's shell: configure a sweep, run it, watch the points arrive beside live
//! CPU and memory readings, compare runs on one chart, compare series and measure what a
//! worker costs, each in its tab (the shape of egui_demo_app's `wrap_app.rs`).
//!
//! The shell holds the tabs (`tabs`), the live readings, the notice under the top bar,
//! persistence, screenshots and the window's launch; each tab holds its own store and run
//! (`run::RunHandle`). The app measures nothing itself. The engine runs on its own named
//! thread and the monitor on another (`monitor::Monitor`); both hand their events to channels
//! whose sender also asks egui for a repaint, so the window repaints when data arrives (and
//! at most a few times a second while a run goes on) and not at all when idle. Drawing code
//! never calls the engine: buttons and shortcuts produce [`Command`]s, applied once the frame
//! is drawn (the egui demo app's `Command` / `run_cmd` shape).

use eframe::egui;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, TryRecvError};
use egui::{Key, KeyboardShortcut, Modifiers, RichText, ThemePreference, Ui};

use crate::monitor::{History, Monitor, Sample};
use crate::result::open::OpenedResult;
use crate::spec::ComparisonPreset;
use crate::spec::consent::PresetFile;
use crate::spec::{self, Preset, PresetEntry};
use crate::ui::config::{ConfigDraft, PresetPaths, RunOn};
use crate::ui::cost::CostDraft;
use crate::ui::format::full_path;
use crate::ui::live;
use crate::ui::plots::PlotOptions;
use crate::ui::session::Session;
use crate::window_cost::{self, WindowCost};

pub mod command;
pub mod consent;
pub mod open;
pub mod remembered;
pub mod replay;
pub mod run;
pub mod save_as;
pub mod tabs;
pub mod tune;

pub use command::{Command, CompareCommand, CostCommand, Reply, SweepCommand};
use tabs::Tab as _;
pub use tabs::compare::{CompareFields, CompareInputs, CompareTab, ComparisonData};
pub use tabs::cost::CostTab;
pub use tabs::sweep::{RUNNING_REPAINT, SweepTab};

/// Time between live readings while a sweep runs. Each reading repaints the window, and with
/// software OpenGL (Mesa's llvmpipe) a repaint of a 1400 × 900 window costs about 50 ms of
/// renderer CPU that the sweep is measuring with: one every 2 s keeps the renderer near the
/// 4%-of-a-core target of issue 16 (README, "What the window costs"). The monitor could go
/// to 4 Hz ([`crate::monitor::MIN_INTERVAL`]).
const LIVE_INTERVAL_RUNNING: Duration = Duration::from_secs(2);
/// Time between live readings while idle: one repaint every 5 s keeps an idle window near
/// 1% of a core in the software renderer (README, "What the window costs"); closing the
/// live panel or Pause stops them.
const LIVE_INTERVAL_IDLE: Duration = Duration::from_secs(5);

/// Frames drawn before `--screenshot` saves the window: egui lays out panels and grids over
/// its first passes, and a window opened on results has nothing else to wait for.
const SETTLED_FRAMES: u64 = 3;

/// The tabs of the central area.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TabId {
    /// Throughput and latency against threads, the runs and the results table.
    #[default]
    Sweep,
    /// Several series (Rust, simulated GIL, CPython) on one chart: throughput, speedup,
    /// efficiency.
    Compare,
    /// Memory and start latency per thread and per process, Rust beside Python.
    Cost,
}

impl TabId {
    /// Every tab, in the order shown.
    pub const ALL: [TabId; 3] = [TabId::Sweep, TabId::Compare, TabId::Cost];
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
    pub tab: TabId,
    /// The Compare tab's fields, view and loaded comparison.
    pub compare: CompareInputs,
    /// The Worker cost tab's inputs.
    pub cost: CostDraft,
    /// The Worker cost tab's export field.
    pub cost_export_path: String,
    /// The file the configuration was read from, with its content hash (None: written in
    /// this app), so that a restart does not turn a file's code into the app's own.
    pub draft_file: Option<PresetFile>,
    /// The content hashes of the preset files whose code the user allowed to run, and of
    /// those this app wrote.
    pub trusted_files: remembered::TrustedFiles,
    /// Where the Sweep tab's Run measures.
    pub run_on: RunOn,
    /// File ▸ "Result file" as typed.
    pub open_path: String,
    /// The configuration panel (left) is open.
    pub config_open: bool,
    /// The live readings panel (right) is open.
    pub live_open: bool,
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
            tab: TabId::Sweep,
            compare: CompareInputs::default(),
            cost: CostDraft::default(),
            cost_export_path: "pooltune-cost".to_owned(),
            draft_file: None,
            trusted_files: remembered::TrustedFiles::default(),
            run_on: RunOn::default(),
            open_path: String::new(),
            config_open: true,
            live_open: true,
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
    pub tab: Option<TabId>,
    /// The file `preset` or `comparison` was read from, with its content hash: the app asks
    /// before the first run of its code unless it is shipped or was allowed before. None for
    /// a preset made in memory (a test's), which counts as written in this app.
    pub preset_file: Option<PresetFile>,
    /// Result files read before the window opened (`pooltune open FILE…`), with their paths:
    /// each opens on the tab of its kind, and the app opens on the first one's tab.
    pub opened: Vec<(PathBuf, OpenedResult)>,
    /// The zoom to open at (`--zoom`, 0.8 to 1.5 as Ctrl + and Ctrl − give), instead of the
    /// remembered one.
    pub zoom: Option<f32>,
    /// With `run_at_start`: once the sweep has finished, write its result as JSON here
    /// (`--result`; `scripts/window_cost.sh` compares it with a headless sweep).
    pub result_when_done: Option<PathBuf>,
    /// The window's size at first, in points (`--window-size`), instead of 1400 × 900.
    pub window_size: Option<[f32; 2]>,
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
            preset_file: None,
            opened: Vec::new(),
            zoom: None,
            result_when_done: None,
            window_size: None,
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
    /// The plots only, cropped to this rectangle (in points), with the PNG's title.
    Plots(PathBuf, egui::Rect, Option<String>),
    /// The whole window, then close (`--screenshot`).
    WindowThenClose(PathBuf),
}

struct PendingShot {
    purpose: ShotPurpose,
    image: Receiver<Arc<egui::ColorImage>>,
}

/// The pooltune window.
pub struct PooltuneApp {
    theme: ThemePreference,
    live_paused: bool,
    tab: TabId,
    sweep: SweepTab,
    compare: CompareTab,
    cost: CostTab,
    live: Live,
    notice: Option<Notice>,
    available_memory: u64,
    pixels_per_point: f32,
    shot: Option<PendingShot>,
    run_at_start: bool,
    screenshot_when_done: Option<PathBuf>,
    applied_theme: Option<ThemePreference>,
    trusted: remembered::TrustedFiles,
    asking: Option<consent::Ask>,
    opener: open::Opener,
    save_as: save_as::SaveAs,
    config_open: bool,
    live_open: bool,
    /// False until the first frame has checked that the panels leave the centre room.
    fitted: bool,
    window_cost: WindowCost,
    result_when_done: Option<PathBuf>,
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
            state.tab = TabId::Compare;
        } else if options.preset.is_some() {
            state.tab = TabId::Sweep;
        }
        if let Some(tab) = options.tab {
            state.tab = tab;
        }
        let draft = match options.preset {
            Some(preset) => match options.preset_file.clone() {
                Some(file) => ConfigDraft::from_file(preset, file),
                None => ConfigDraft::new(preset),
            },
            None => {
                let mut draft =
                    tabs::sweep::remembered_draft(&state.draft_toml, &state.threads_text);
                if let Some(file) = state.draft_file.clone() {
                    draft.set_file(file);
                }
                draft
            }
        };
        let comparison = options
            .comparison
            .map(|comparison| (comparison, options.preset_file.clone()));
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
        let PersistedState {
            theme,
            plot,
            paths,
            export_path,
            live_paused,
            tab,
            compare,
            cost,
            cost_export_path,
            trusted_files,
            run_on,
            open_path,
            config_open,
            live_open,
            ..
        } = state;
        if let Some(zoom) = options.zoom {
            cc.egui_ctx.set_zoom_factor(zoom.clamp(MIN_ZOOM, MAX_ZOOM));
        }
        let mut app = PooltuneApp {
            theme,
            live_paused,
            tab,
            sweep: SweepTab::new(draft, plot, paths, export_path).running_on(run_on),
            compare: CompareTab::new(comparison, compare),
            cost: CostTab::new(cost, cost_export_path),
            live,
            notice: None,
            available_memory: spec::available_memory_bytes(),
            pixels_per_point: cc.egui_ctx.pixels_per_point(),
            shot: None,
            run_at_start: options.run_at_start,
            screenshot_when_done: options.screenshot_when_done,
            applied_theme: None,
            trusted: trusted_files,
            asking: None,
            opener: open::Opener::new(open_path),
            save_as: save_as::SaveAs::default(),
            config_open,
            live_open,
            fitted: false,
            window_cost: WindowCost::default(),
            result_when_done: options.result_when_done,
        };
        // `pooltune open FILE…`: each file on the tab of its kind, the first one's tab shown.
        let mut said = Vec::new();
        let mut first_tab = None;
        let mut refused = false;
        for (path, opened) in options.opened {
            match app.tabs().place(path, opened) {
                Ok((tab, line)) => {
                    first_tab.get_or_insert(tab);
                    said.push(line);
                }
                Err(why) => {
                    refused = true;
                    said.push(why);
                }
            }
        }
        if let Some(tab) = first_tab {
            app.tab = tab;
        }
        if !said.is_empty() {
            app.notice = Some(Notice {
                text: said.join("\n"),
                error: refused,
            });
        }
        app
    }

    /// The tabs a result file can open on.
    fn tabs(&mut self) -> open::Tabs<'_> {
        open::Tabs {
            sweep: &mut self.sweep,
            compare: &mut self.compare,
            cost: &mut self.cost,
        }
    }

    /// The File menu: its typed path, and whether its Open dialog is shown or could not be.
    pub fn opener(&self) -> &open::Opener {
        &self.opener
    }

    /// The tab shown.
    pub fn shown_tab(&self) -> TabId {
        self.tab
    }

    /// The question "Run this preset's commands?" while it is open.
    pub fn asking(&self) -> Option<&consent::Ask> {
        self.asking.as_ref()
    }

    /// The content hashes of the files whose code may run without asking.
    pub fn trusted_files(&self) -> &remembered::TrustedFiles {
        &self.trusted
    }

    /// The configuration being edited.
    pub fn draft(&self) -> &ConfigDraft {
        &self.sweep.draft
    }

    /// The configuration being edited, to change it (tests shorten sweeps this way).
    pub fn draft_mut(&mut self) -> &mut ConfigDraft {
        &mut self.sweep.draft
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
        self.sweep.session()
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
        self.sweep.is_running()
    }

    /// The message under the top bar.
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    /// The presets found on disk.
    pub fn presets(&self) -> &[PresetEntry] {
        self.sweep.presets()
    }

    /// What is remembered across restarts.
    pub fn persisted(&self) -> PersistedState {
        let sweep = &self.sweep;
        PersistedState {
            theme: self.theme,
            plot: sweep.plot.clone(),
            draft_toml: spec::to_toml(&sweep.draft.preset).unwrap_or_default(),
            threads_text: sweep.draft.threads_text.clone(),
            paths: sweep.paths.clone(),
            export_path: sweep.export_path.clone(),
            live_paused: self.live_paused,
            tab: self.tab,
            compare: self.compare.inputs(),
            cost: self.cost.draft.clone(),
            cost_export_path: self.cost.export_path.clone(),
            draft_file: sweep.draft.file.clone(),
            trusted_files: self.trusted.clone(),
            run_on: sweep.run_on.clone(),
            open_path: self.opener.path_text.clone(),
            config_open: self.config_open,
            live_open: self.live_open,
        }
    }

    /// The live readings of the last minute.
    pub fn history(&self) -> &History {
        &self.live.history
    }

    /// Where Ctrl+S saves when the "Save to" field is empty.
    pub fn default_save_path(&self) -> PathBuf {
        self.sweep.default_save_path()
    }

    fn tab(&self, id: TabId) -> &dyn tabs::Tab {
        match id {
            TabId::Sweep => &self.sweep,
            TabId::Compare => &self.compare,
            TabId::Cost => &self.cost,
        }
    }

    fn tab_mut(&mut self, id: TabId) -> &mut dyn tabs::Tab {
        match id {
            TabId::Sweep => &mut self.sweep,
            TabId::Compare => &mut self.compare,
            TabId::Cost => &mut self.cost,
        }
    }

    /// The command to apply, or None when a run must first be allowed: a run of code from a
    /// file the app did not write, whose content was not allowed before, opens the question
    /// instead of starting.
    fn consent_first(&mut self, command: Command) -> Option<Command> {
        let tab = match command {
            Command::Sweep(SweepCommand::Run) => TabId::Sweep,
            Command::Compare(CompareCommand::Run) => TabId::Compare,
            _ => return Some(command),
        };
        if self.tab(tab).is_running() {
            return Some(command);
        }
        let Some(code) = self.tab(tab).code_to_run() else {
            return Some(command);
        };
        match code.trust(&self.trusted) {
            consent::Trust::Ask(file) => {
                self.asking = Some(consent::Ask {
                    tab,
                    file: file.clone(),
                    lines: code.lines.clone(),
                });
                None
            }
            consent::Trust::WrittenHere | consent::Trust::Shipped | consent::Trust::Allowed => {
                Some(command)
            }
        }
    }

    /// Applies one command.
    fn run_cmd(&mut self, ctx: &egui::Context, command: Command) {
        let memory = self.available_memory;
        // "Save as…": the dialog first; the file chosen comes back as the tab's export.
        if let Some((what, suggested)) = save_as::SaveFor::of(&command) {
            if let Some(reply) = self.save_as.show(ctx, what, &suggested) {
                self.reply(ctx, reply);
            }
            return;
        }
        let Some(command) = self.consent_first(command) else {
            return;
        };
        let reply = match command {
            // While the question is open, Space answers nothing.
            Command::ToggleRun if self.asking.is_some() => None,
            Command::ToggleRun => {
                let next = self.tab(self.tab).toggle_run();
                return self.run_cmd(ctx, next);
            }
            Command::Consent(answer) => {
                let Some(ask) = self.asking.take() else {
                    return;
                };
                if answer == consent::Answer::Refuse {
                    return;
                }
                self.trusted.trust(&ask.file.content_hash);
                // Through `consent_first` again: a file changed meanwhile is asked about anew.
                let run = match ask.tab {
                    TabId::Sweep => Command::Sweep(SweepCommand::Run),
                    TabId::Compare => Command::Compare(CompareCommand::Run),
                    TabId::Cost => return,
                };
                return self.run_cmd(ctx, run);
            }
            Command::LoadFromField => Some(self.sweep.load_from_field()),
            Command::SaveToField => Some(self.sweep.save_to_field(memory)),
            Command::Sweep(command) => self.sweep.run_cmd(ctx, command, memory),
            Command::Compare(command) => self.compare.run_cmd(ctx, command, memory),
            Command::Cost(command) => self.cost.run_cmd(ctx, command),
            Command::Open(paths) => {
                let (reply, tab) = open::open_files(&paths, self.tabs());
                if let Some(tab) = tab {
                    self.tab = tab;
                }
                Some(reply)
            }
            Command::OpenDialog => self.opener.show_dialog(ctx),
        };
        // A preset this app wrote runs its code without asking.
        for hash in self
            .sweep
            .take_written()
            .into_iter()
            .chain(self.compare.take_written())
        {
            self.trusted.trust(&hash);
        }
        if let Some(reply) = reply {
            self.reply(ctx, reply);
        }
    }

    /// Does what a tab asked of the shell.
    fn reply(&mut self, ctx: &egui::Context, reply: Reply) {
        match reply {
            Reply::Inform(text) => self.notice = Some(Notice { text, error: false }),
            Reply::Complain(text) => self.notice = Some(Notice { text, error: true }),
            Reply::Dismiss => self.notice = None,
            Reply::Screenshot(path, rect) => {
                let title = self.tab(self.tab).png_title();
                self.request_screenshot(ctx, ShotPurpose::Plots(path, rect, title));
            }
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

    /// Moves what the threads have sent into the app's state: the live readings (whose
    /// available memory the tabs check their inputs against, so that drawing reads no file),
    /// every tab's run, and a screenshot.
    fn receive(&mut self, ctx: &egui::Context) {
        if let Some(samples) = &self.live.samples {
            for sample in samples.try_iter() {
                self.available_memory = sample.memory_available_bytes;
                self.live.history.push(sample);
            }
        }
        for id in TabId::ALL {
            if let Some(reply) = self.tab_mut(id).poll() {
                self.reply(ctx, reply);
            }
        }
        match self.opener.poll() {
            Some(Ok(files)) if !files.is_empty() => self.run_cmd(ctx, Command::Open(files)),
            Some(Err(reply)) => self.reply(ctx, reply),
            Some(Ok(_)) | None => {}
        }
        match self.save_as.poll() {
            Some(Ok(export)) => self.run_cmd(ctx, export),
            Some(Err(reply)) => self.reply(ctx, reply),
            None => {}
        }
        self.receive_screenshot(ctx);
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
            ShotPurpose::Plots(path, rect, title) => {
                let png = Png {
                    crop: Some(rect),
                    pixels_per_point: self.pixels_per_point,
                    title: title.as_deref(),
                };
                match write_png(&image, &png, &path) {
                    Ok(()) => self.reply(ctx, Reply::Inform(format!("Wrote {}", full_path(&path)))),
                    Err(err) => self.reply(
                        ctx,
                        Reply::Complain(format!("Could not write {}: {err}", full_path(&path))),
                    ),
                }
            }
            ShotPurpose::WindowThenClose(path) => {
                let png = Png {
                    crop: None,
                    pixels_per_point: self.pixels_per_point,
                    title: None,
                };
                match write_png(&image, &png, &path) {
                    Ok(()) => eprintln!("Wrote {}", full_path(&path)),
                    Err(err) => eprintln!("error: could not write {}: {err}", full_path(&path)),
                }
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }

    /// `--result`: once the sweep started by `--run` has ended, its result as JSON.
    fn write_result_when_done(&mut self) {
        if self.run_at_start || self.sweep.is_running() || !self.sweep.has_ended() {
            return;
        }
        let Some(path) = self.result_when_done.take() else {
            return;
        };
        let Some(result) = self
            .sweep
            .session()
            .runs()
            .last()
            .and_then(|r| r.result.as_ref())
        else {
            eprintln!(
                "error: the sweep has no result to write to {}",
                full_path(&path)
            );
            return;
        };
        let written = tabs::write_export(
            &path,
            crate::export::exporter(crate::export::Format::Json).export(result),
        );
        match written {
            Ok(line) => eprintln!("{line}"),
            Err(line) => eprintln!("error: {line}"),
        }
    }

    /// Keeps the monitor's pace and pause in step with the app: readings stop while Pause is
    /// set, while the live panel is closed and while the window is hidden (minimised or
    /// covered), since nothing would show them.
    fn pace_monitor(&mut self, hidden: bool) {
        let Some(monitor) = &self.live.monitor else {
            return;
        };
        let interval = if self.sweep.is_running() {
            LIVE_INTERVAL_RUNNING
        } else {
            LIVE_INTERVAL_IDLE
        };
        if interval != self.live.interval {
            monitor.set_interval(interval);
            self.live.interval = interval;
        }
        let paused = self.live_paused || !self.live_open || hidden;
        if paused != self.live.paused {
            monitor.set_paused(paused);
            self.live.paused = paused;
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

    fn top_bar_ui(&mut self, ui: &mut Ui, commands: &mut Vec<Command>) {
        let memory = self.available_memory;
        // The code the next run starts, above Run, until it runs.
        let shown = if self.sweep.is_running() {
            TabId::Sweep
        } else {
            self.tab
        };
        if !self.tab(shown).is_running()
            && let Some(code) = self.tab(shown).code_to_run()
        {
            ui.add_space(2.0);
            consent::code_ui(ui, &code, &self.trusted);
        }
        ui.horizontal(|ui| {
            ui.heading(RichText::new("pooltune").strong());
            self.opener.menu_ui(ui, commands);
            ui.separator();
            // A sweep's Stop and progress stay in view on every tab while it runs.
            let shown = if self.sweep.is_running() {
                TabId::Sweep
            } else {
                self.tab
            };
            commands.extend(self.tab_mut(shown).top_bar_ui(ui, memory));
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                // Right to left: the box first, so that its label lands on its left.
                let theme = egui::ComboBox::from_id_salt("theme")
                    .selected_text(theme_name(self.theme))
                    .show_ui(ui, |ui| {
                        for theme in [
                            ThemePreference::System,
                            ThemePreference::Dark,
                            ThemePreference::Light,
                        ] {
                            ui.selectable_value(&mut self.theme, theme, theme_name(theme));
                        }
                    })
                    .response;
                let label = ui.label("Theme");
                theme.labelled_by(label.id);
            });
        });
    }

    /// The status bar at the window's foot, one line high whatever it says (so that a
    /// message never pushes the layout down): the notice, cut to one line with the whole
    /// text on hover, and what the window costs.
    fn status_bar_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let cost = match (self.window_cost.summary(), self.window_cost.unavailable()) {
                (Some(summary), _) => window_cost::summary_line(&summary),
                (None, Some(why)) => why.to_owned(),
                (None, None) => "Window: measuring its cost…".to_owned(),
            };
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.label(RichText::new(cost).weak().small()).on_hover_text(
                    "What this window costs: frames drawn per second and the CPU of its own threads over the last 10 s, in percent of one core (the main and monitor threads, and the software renderer's llvmpipe threads), read from /proc/self/task. The sweep's own threads are not counted.",
                );
                let mut dismissed = false;
                if let Some(notice) = &self.notice {
                    dismissed = ui.small_button("Dismiss").clicked();
                    let color = if notice.error {
                        ui.visuals().error_fg_color
                    } else {
                        ui.visuals().text_color()
                    };
                    let first = notice.text.lines().collect::<Vec<_>>().join(" — ");
                    ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                        ui.add(
                            egui::Label::new(RichText::new(first).color(color)).truncate(),
                        )
                        .on_hover_text(&notice.text);
                    });
                }
                if dismissed {
                    self.notice = None;
                }
            });
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

/// How a screenshot becomes a PNG: the part kept and the title it carries.
#[derive(Debug, Clone, Copy)]
pub struct Png<'a> {
    /// The area to keep, in points; the whole image when None.
    pub crop: Option<egui::Rect>,
    /// Pixels per point of the screenshot.
    pub pixels_per_point: f32,
    /// The PNG's `Title` text chunk (the preset, the machine, the date), when there is one:
    /// a `tEXt` chunk when the title is Latin-1 (as PNG requires of `tEXt`), else `iTXt`.
    pub title: Option<&'a str>,
}

/// Encodes `image` as `png` says and writes it atomically.
pub fn write_png(image: &egui::ColorImage, png: &Png<'_>, path: &Path) -> anyhow::Result<()> {
    let bytes = png_bytes(image, png)?;
    crate::atomic_file::write(path, &bytes)?;
    Ok(())
}

/// The PNG encoding of `image`, cropped and titled as `png` says.
pub fn png_bytes(image: &egui::ColorImage, png: &Png<'_>) -> anyhow::Result<Vec<u8>> {
    let [width, height] = image.size;
    let (x0, y0, x1, y1) = match png.crop {
        Some(rect) => {
            let px = |v: f32, max: usize| {
                ((v * png.pixels_per_point).round().max(0.0) as usize).min(max)
            };
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
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, (x1 - x0) as u32, (y1 - y0) as u32);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    if let Some(title) = png.title {
        if title.chars().all(|c| u32::from(c) <= 0xff) {
            encoder.add_text_chunk("Title".to_owned(), title.to_owned())?;
        } else {
            encoder.add_itxt_chunk("Title".to_owned(), title.to_owned())?;
        }
    }
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&rgba)?;
    writer.finish()?;
    Ok(bytes)
}

impl eframe::App for PooltuneApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.receive(ctx);
        // The worker-cost run reads this process's memory, so it waits for the window to
        // have drawn a few frames (shaders, fonts and the software renderer's threads are
        // set up in the first ones); a sweep starts at once.
        let settled = self.tab != TabId::Cost || ctx.cumulative_frame_nr() >= 3;
        if self.run_at_start && !settled {
            ctx.request_repaint_after(Duration::from_millis(300));
        } else if std::mem::take(&mut self.run_at_start) {
            // Nothing runs yet: this starts the shown tab's run.
            self.run_cmd(ctx, Command::ToggleRun);
        }
        let hidden = ctx.input(|input| {
            let viewport = input.viewport();
            viewport.minimized == Some(true) || viewport.occluded == Some(true)
        });
        self.pace_monitor(hidden);
        // A hidden window draws nothing on a timer: the engine's points still wake it to
        // keep its channels drained, and it catches up when shown.
        if !hidden
            && TabId::ALL
                .iter()
                .any(|&id| self.tab(id).repaints_while_running())
        {
            ctx.request_repaint_after(RUNNING_REPAINT);
        }
        self.write_result_when_done();
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        if self.applied_theme != Some(self.theme) {
            ui.ctx().set_theme(self.theme);
            self.applied_theme = Some(self.theme);
        }
        self.pixels_per_point = ui.ctx().pixels_per_point();
        let memory = self.available_memory;
        let mut commands = Self::shortcuts(ui.ctx());
        commands.extend(open::dropped(ui.ctx()));
        open::hovered_files_ui(ui.ctx());

        self.window_cost.frame(std::time::Instant::now());
        // On the second frame: a zoom set at start (`--zoom`) applies from then on.
        if ui.ctx().cumulative_frame_nr() >= 1 && !std::mem::replace(&mut self.fitted, true) {
            // A small screen (or a large zoom) opens with the live readings closed, so that
            // the plots and the results keep the room they need; the button brings them back.
            let width = ui.ctx().content_rect().width();
            if width < CENTRE_MIN_WIDTH + CONFIG_WIDTH + LIVE_WIDTH {
                self.live_open = false;
            }
            if width < CENTRE_MIN_WIDTH + CONFIG_MIN_WIDTH {
                self.config_open = false;
            }
        }

        egui::Panel::top("top_bar").show(ui, |ui| {
            self.top_bar_ui(ui, &mut commands);
        });
        egui::Panel::bottom("status_bar").show(ui, |ui| self.status_bar_ui(ui));
        // The sweep's configuration belongs to the Sweep tab; the others have their own inputs.
        // Both side panels are resizable within bounds (a long message under a field wraps
        // instead of widening the panel for good) and close by dragging their edge or with
        // the buttons beside the tabs.
        if self.tab == TabId::Sweep {
            egui::Panel::left("config_panel")
                .resizable(true)
                .default_size(CONFIG_WIDTH)
                .size_range(CONFIG_MIN_WIDTH..=CONFIG_MAX_WIDTH)
                .show_collapsible(ui, &mut self.config_open, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("config_scroll")
                        .auto_shrink([false, false])
                        .show(ui, |ui| {
                            commands.extend(self.sweep.side_panel_ui(ui, memory));
                        });
                });
        }
        egui::Panel::right("live_panel")
            .resizable(true)
            .default_size(LIVE_WIDTH)
            .size_range(200.0..=420.0)
            .show_collapsible(ui, &mut self.live_open, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("live_scroll")
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        let status = live::LiveStatus {
                            unavailable: self.live.unavailable.as_deref(),
                        };
                        live::live_ui(ui, &self.live.history, &mut self.live_paused, &status);
                    });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            ui.horizontal(|ui| {
                if self.tab == TabId::Sweep {
                    let (text, tip) = if self.config_open {
                        ("«", "Close the configuration panel (or drag its edge).")
                    } else {
                        ("» Configuration", "Open the configuration panel.")
                    };
                    if ui.small_button(text).on_hover_text(tip).clicked() {
                        self.config_open = !self.config_open;
                    }
                }
                for id in TabId::ALL {
                    let title = self.tab(id).title();
                    ui.selectable_value(&mut self.tab, id, title);
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let (text, tip) = if self.live_open {
                        (
                            "»",
                            "Close the live readings (they then stop: no CPU spent on them).",
                        )
                    } else {
                        ("« Live readings", "Open the live readings panel.")
                    };
                    if ui.small_button(text).on_hover_text(tip).clicked() {
                        self.live_open = !self.live_open;
                    }
                });
            });
            ui.separator();
            commands.extend(self.tab_mut(self.tab).ui(ui, memory));
        });

        // Whether the question was drawn in this frame (for `--screenshot` below).
        let asked = self.asking.is_some();
        if let Some(ask) = &self.asking
            && let Some(answer) = consent::ask_ui(ui.ctx(), ask)
        {
            commands.push(Command::Consent(answer));
        }

        for command in commands {
            self.run_cmd(ui.ctx(), command);
        }

        // `--screenshot`: once the run of the shown tab has ended and its last frame is drawn,
        // or once the app asks whether it may run a file's code (it will not run unasked).
        // A window opened on results has ended at once: it waits for its first frames, in
        // which egui still sizes panels and grids, to be drawn.
        if (self.tab(self.tab).has_ended() || (asked && self.asking.is_some()))
            && self.shot.is_none()
            && self.screenshot_when_done.is_some()
        {
            if ui.ctx().cumulative_frame_nr() < SETTLED_FRAMES {
                ui.ctx().request_repaint();
            } else if let Some(path) = self.screenshot_when_done.take() {
                self.request_screenshot(ui.ctx(), ShotPurpose::WindowThenClose(path));
            }
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.persisted());
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // Dropping the tabs then waits for their runs (`RunHandle`'s `Drop`).
        self.sweep.cancel();
        self.compare.stop();
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

/// The zooms `--zoom` accepts (Ctrl + and Ctrl − stay within egui's own bounds).
pub const MIN_ZOOM: f32 = 0.5;
/// See [`MIN_ZOOM`].
pub const MAX_ZOOM: f32 = 2.0;

/// The configuration panel's width at first, and its bounds, in points.
const CONFIG_WIDTH: f32 = 320.0;
const CONFIG_MIN_WIDTH: f32 = 240.0;
const CONFIG_MAX_WIDTH: f32 = 460.0;
/// The live panel's width at first, in points.
const LIVE_WIDTH: f32 = 260.0;
/// The least width the plots and the results table need beside the panels, in points.
const CENTRE_MIN_WIDTH: f32 = 620.0;

/// The window eframe opens: 1400 × 900 points at first (the window manager shrinks it to a
/// smaller screen), never smaller than [`MIN_INNER_SIZE`] (a remembered 64 × 64 window is
/// forgotten by [`remembered::repair`] before eframe reads it, and this keeps the user from
/// making it that small again).
pub fn native_options() -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("pooltune")
            .with_app_id("pooltune")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size(MIN_INNER_SIZE),
        ..Default::default()
    }
}

/// The smallest the window may be, in points (what [`native_options`] sets).
pub fn min_inner_size() -> egui::Vec2 {
    egui::vec2(MIN_INNER_SIZE[0], MIN_INNER_SIZE[1])
}

/// Opens the window and runs until it is closed.
pub fn launch(options: AppOptions) -> Result<(), LaunchError> {
    if !display_available() {
        return Err(LaunchError::NoDisplay);
    }
    let state_file = remembered::path();
    if let Some(path) = &state_file {
        remembered::repair(path, &remembered::screens());
    }
    let mut native = native_options();
    if let Some(size) = options.window_size {
        native.viewport = native.viewport.with_inner_size(size);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::config;

    #[test]
    fn png_is_cropped_to_the_plots() {
        let mut image = egui::ColorImage::filled([40, 30], egui::Color32::WHITE);
        image.pixels[10 * 40 + 20] = egui::Color32::RED;
        // 2 pixels per point: points (10, 5)–(15, 10) are pixels (20, 10)–(30, 20).
        let rect = egui::Rect::from_min_max(egui::pos2(10.0, 5.0), egui::pos2(15.0, 10.0));
        let crop = Png {
            crop: Some(rect),
            pixels_per_point: 2.0,
            title: None,
        };
        let png = png_bytes(&image, &crop).unwrap();
        let decoded = image::load_from_memory(&png).unwrap().to_rgba8();
        assert_eq!(decoded.dimensions(), (10, 10));
        assert_eq!(decoded.get_pixel(0, 0).0, [255, 0, 0, 255]);
        assert_eq!(decoded.get_pixel(1, 0).0, [255, 255, 255, 255]);
    }

    #[test]
    fn an_empty_crop_is_an_error_not_a_panic() {
        let image = egui::ColorImage::filled([4, 4], egui::Color32::WHITE);
        let rect = egui::Rect::from_min_max(egui::pos2(10.0, 10.0), egui::pos2(20.0, 20.0));
        let crop = Png {
            crop: Some(rect),
            pixels_per_point: 1.0,
            title: None,
        };
        assert!(png_bytes(&image, &crop).is_err());
    }

    /// The title chunks of a PNG as (keyword, text): tEXt first, then iTXt.
    fn png_titles(bytes: &[u8]) -> Vec<(String, String)> {
        let reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let info = reader.info();
        let mut chunks: Vec<(String, String)> = info
            .uncompressed_latin1_text
            .iter()
            .map(|chunk| (chunk.keyword.clone(), chunk.text.clone()))
            .collect();
        for chunk in &info.utf8_text {
            chunks.push((chunk.keyword.clone(), chunk.get_text().unwrap()));
        }
        chunks
    }

    #[test]
    fn the_png_carries_its_title_and_its_pixels() {
        let mut image = egui::ColorImage::filled([4, 3], egui::Color32::WHITE);
        image.pixels[5] = egui::Color32::BLUE;
        let title = "CPU-bound · build-1 (AMD EPYC® 7B13) · 2026-12-02 16:30 UTC";
        let png = Png {
            crop: None,
            pixels_per_point: 1.0,
            title: Some(title),
        };
        let bytes = png_bytes(&image, &png).unwrap();
        assert_eq!(png_titles(&bytes), [("Title".to_owned(), title.to_owned())]);
        let decoded = image::load_from_memory(&bytes).unwrap().to_rgba8();
        assert_eq!(decoded.dimensions(), (4, 3));
        assert_eq!(decoded.get_pixel(1, 1).0, [0, 0, 255, 255]);
        // A title beyond Latin-1, which tEXt cannot hold, goes in iTXt whole.
        let wide = "xz −T{threads} → 2 threads";
        let png = Png {
            title: Some(wide),
            ..png
        };
        let bytes = png_bytes(&image, &png).unwrap();
        assert_eq!(png_titles(&bytes), [("Title".to_owned(), wide.to_owned())]);
        // No title, no chunk.
        let png = Png { title: None, ..png };
        assert!(png_titles(&png_bytes(&image, &png).unwrap()).is_empty());
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
            window(100.0, 50.0, 1.0, 64.0, 64.0),
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
    #[cfg(unix)]
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
            draft_toml: spec::to_toml(&config::default_preset()).unwrap(),
            threads_text: "1, 2, x".into(),
            ..PersistedState::default()
        };
        let json = serde_json::to_string(&state).unwrap();
        let back: PersistedState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, state);
        // A half-typed thread list comes back as typed.
        let draft = tabs::sweep::remembered_draft(&back.draft_toml, &back.threads_text);
        assert_eq!(draft.threads_text, "1, 2, x");
        assert_eq!(draft.preset.name, config::default_preset().name);
        // Older or partial state fills in defaults.
        let partial: PersistedState = serde_json::from_str(r#"{"theme":"Dark"}"#).unwrap();
        assert_eq!(partial.export_path, "pooltune-result");
    }
}
