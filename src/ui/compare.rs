//! The Compare tab: pick a comparison preset (several series on one chart, such as Rust
//! threads, a simulated GIL and real CPython threads and processes), optionally name the
//! Python interpreters and override the thread counts, run it, and read it three ways:
//! throughput against threads, speedup X(N)/X(1) and efficiency speedup/N, each with its
//! ideal line and the machine's physical and logical CPU counts marked. Points appear as the
//! engine sends them; a series that failed or could not start says why beside the chart.
//!
//! The tab owns its run the way the app owns a sweep: the engine runs on its own named thread
//! ([`compare::spawn_compare`]) and sends [`CompareEvent`]s through a channel whose sender
//! asks egui for a repaint. Drawing ([`compare_ui`]) only edits text fields in place and
//! pushes [`CompareCommand`]s; the app applies them after the frame with
//! [`CompareTab::run_cmd`], the only place that loads files or starts the engine. Nothing here
//! measures or computes a view: speedup and efficiency come from
//! [`compare::result::scaling`].

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::Receiver;
use eframe::egui;
use egui::{ComboBox, Grid, RichText, ScrollArea, Ui};
use egui_plot::{Legend, Line, LineStyle, MarkerShape, Plot, Points, VLine};

use crate::app::ExportKind;
use crate::cancel::CancelToken;
use crate::compare::{
    self, AnyPreset, CompareEvent, CompareOptions, ComparisonPreset, ComparisonResult,
    InterpreterInfo, Scaling, ScalingPoint, SeriesKind, SeriesSetup, python::InterpreterAdvice,
};
use crate::error::EngineError;
use crate::machine::MachineInfo;
use crate::preset::TrialLength;
use crate::result::Point;
use crate::sweep::Progress;
use crate::ui::plots::run_color;
use crate::ui::{ExportTarget, ExportTips, config, export_row, format};

/// Which of the three views of a comparison is drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CompareView {
    /// Tasks per second against threads.
    #[default]
    Throughput,
    /// X(N)/X(1), with the ideal line N.
    Speedup,
    /// Speedup/N, with the ideal line at 1.
    Efficiency,
}

impl CompareView {
    /// Every view, in the order offered.
    pub const ALL: [CompareView; 3] = [
        CompareView::Throughput,
        CompareView::Speedup,
        CompareView::Efficiency,
    ];

    /// The name on its button.
    pub fn title(self) -> &'static str {
        match self {
            CompareView::Throughput => "throughput",
            CompareView::Speedup => "speedup",
            CompareView::Efficiency => "efficiency",
        }
    }

    fn axis_label(self) -> &'static str {
        match self {
            CompareView::Throughput => "throughput (tasks/s)",
            CompareView::Speedup => "speedup X(N)/X(1)",
            CompareView::Efficiency => "efficiency speedup/N",
        }
    }

    /// The value of a point in this view.
    pub fn value(self, point: &ScalingPoint) -> f64 {
        match self {
            CompareView::Throughput => point.throughput_per_s,
            CompareView::Speedup => point.speedup,
            CompareView::Efficiency => point.efficiency,
        }
    }

    /// A point's value as the table shows it.
    pub fn cell(self, point: &ScalingPoint) -> String {
        match self {
            CompareView::Throughput => format::rate(point.throughput_per_s),
            CompareView::Speedup => format!("{}×", format::number(point.speedup, 2)),
            CompareView::Efficiency => format!("{}%", format::number(100.0 * point.efficiency, 0)),
        }
    }
}

/// Something the user asked of the Compare tab, applied after the frame is drawn.
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
    /// Write the last run's result (the format of `pooltune compare --format`).
    Export(ExportKind, PathBuf),
    /// Write a PNG of the chart as shown (applied by the app, which takes screenshots).
    ExportPng(PathBuf),
}

/// The Compare tab's fields as typed, and the view drawn.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CompareFields {
    /// The view drawn.
    pub view: CompareView,
    /// The "Comparison file" field.
    pub path_text: String,
    /// The "Python" field: the interpreter for Python threads and processes series.
    pub python_text: String,
    /// The "Free-threaded Python" field.
    pub free_threaded_text: String,
    /// The "Thread counts" field; empty keeps the preset's.
    pub threads_text: String,
    /// The "Save to" field; empty saves in the user's presets folder.
    pub save_path: String,
    /// The "Export to" field.
    pub export_path: String,
}

impl Default for CompareFields {
    fn default() -> Self {
        CompareFields {
            view: CompareView::default(),
            path_text: String::new(),
            python_text: String::new(),
            free_threaded_text: String::new(),
            threads_text: String::new(),
            save_path: String::new(),
            export_path: "pooltune-comparison".to_owned(),
        }
    }
}

/// What the Compare tab remembers across restarts: its fields and the comparison loaded (as
/// preset TOML, so that it reads back as a file would; empty for none).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CompareInputs {
    /// The fields as typed and the view.
    pub fields: CompareFields,
    /// The loaded comparison as preset TOML.
    pub comparison_toml: String,
}

/// One series as the tab shows it: what the engine announced, then its points as they come.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesView {
    /// The legend, with the interpreter's version and GIL state for Python series.
    pub label: String,
    /// What the series is.
    pub kind: SeriesKind,
    /// The Python interpreter it runs on, when it is a Python series and one was found.
    pub interpreter: Option<InterpreterInfo>,
    /// The points received so far, in the order measured.
    pub points: Vec<Point>,
    /// Why the series stopped or never ran, as the engine said it.
    pub error: Option<String>,
}

impl SeriesView {
    /// Throughput, speedup and efficiency of the points so far (the engine's own arithmetic).
    pub fn scaling(&self) -> Scaling {
        compare::scaling(&self.points)
    }
}

/// Where a comparison run is.
#[derive(Debug, Clone, PartialEq)]
pub enum CompareStatus {
    /// Finding and calibrating interpreters, or measuring.
    Running,
    /// Every thread count ran.
    Finished,
    /// Stopped by the user; the points so far are kept.
    Stopped,
    /// The engine could not run it at all.
    Failed(String),
}

/// The data of one comparison run, built from its events. Holds no egui.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonData {
    /// The comparison's name.
    pub name: String,
    /// The machine, once the engine has started (its CPU counts are marked on the chart).
    pub machine: Option<MachineInfo>,
    /// Thread counts, in the order they run.
    pub thread_counts: Vec<usize>,
    /// One entry per series, in the preset's order.
    pub series: Vec<SeriesView>,
    /// The last progress report (which series, how far) and when it came.
    pub progress: Option<(usize, Progress, Instant)>,
    /// The whole result once the run is over.
    pub result: Option<ComparisonResult>,
    /// Where the run is.
    pub status: CompareStatus,
    /// When the run was started.
    pub started: Instant,
}

impl ComparisonData {
    /// An empty run of `preset`: its series are listed (unlabelled by interpreters) until the
    /// engine announces them.
    pub fn new(preset: &ComparisonPreset) -> ComparisonData {
        ComparisonData {
            name: preset.name.clone(),
            machine: None,
            thread_counts: preset.thread_counts(),
            series: preset
                .series
                .iter()
                .map(|spec| SeriesView {
                    label: spec.label.clone(),
                    kind: spec.kind,
                    interpreter: None,
                    points: Vec::new(),
                    error: None,
                })
                .collect(),
            progress: None,
            result: None,
            status: CompareStatus::Running,
            started: Instant::now(),
        }
    }

    /// Applies one event from the engine.
    pub fn apply(&mut self, event: CompareEvent) {
        match event {
            CompareEvent::Started {
                machine,
                thread_counts,
                series,
                ..
            } => {
                self.machine = Some(machine);
                self.thread_counts = thread_counts;
                self.series = series
                    .into_iter()
                    .map(|info| SeriesView {
                        label: info.label,
                        kind: info.kind,
                        interpreter: info.interpreter,
                        points: Vec::new(),
                        error: None,
                    })
                    .collect();
            }
            CompareEvent::Progress { series, progress } => {
                self.progress = Some((series, progress, Instant::now()));
            }
            CompareEvent::SeriesPoint { series, point } => {
                if let Some(view) = self.series.get_mut(series) {
                    view.points.push(point);
                }
            }
            CompareEvent::SeriesFailed { series, message } => {
                if let Some(view) = self.series.get_mut(series) {
                    view.error = Some(message);
                }
            }
            CompareEvent::Finished(result) => {
                // The result is the engine's final word on every series.
                self.machine = Some(result.machine.clone());
                self.thread_counts.clone_from(&result.thread_counts);
                self.series = result
                    .series
                    .iter()
                    .map(|s| SeriesView {
                        label: s.label.clone(),
                        kind: s.kind,
                        interpreter: s.interpreter.clone(),
                        points: s.points.clone(),
                        error: s.error.clone(),
                    })
                    .collect();
                self.status = if result.cancelled {
                    CompareStatus::Stopped
                } else {
                    CompareStatus::Finished
                };
                self.progress = None;
                self.result = Some(*result);
            }
        }
    }

    /// The thread count speedups are drawn from: the smallest baseline of any series.
    fn baseline_threads(&self) -> Option<usize> {
        self.series
            .iter()
            .filter_map(|s| s.scaling().baseline_threads)
            .min()
    }

    /// The largest thread count planned or measured.
    fn last_threads(&self) -> usize {
        self.thread_counts
            .iter()
            .chain(
                self.series
                    .iter()
                    .flat_map(|s| s.points.iter().map(|p| &p.threads)),
            )
            .copied()
            .max()
            .unwrap_or(1)
    }
}

/// `[threads, value]` of each measured point of a series in `view`, by thread count.
pub fn view_series(series: &SeriesView, view: CompareView) -> Vec<[f64; 2]> {
    series
        .scaling()
        .points
        .iter()
        .map(|p| [p.threads as f64, view.value(p)])
        .filter(|[_, y]| y.is_finite())
        .collect()
}

/// [`view_series`] split into the quiet points and the disturbed ones (other processes used
/// the CPUs while they were measured), which are drawn hollow.
pub fn view_series_by_disturbance(
    series: &SeriesView,
    view: CompareView,
) -> (Vec<[f64; 2]>, Vec<[f64; 2]>) {
    view_series(series, view).into_iter().partition(|[x, _]| {
        !series
            .points
            .iter()
            .any(|p| p.disturbed && p.threads as f64 == *x)
    })
}

/// The ideal line of `view` across the run's thread counts: speedup N/base (Amdahl's
/// parallel limit with no serial part), efficiency 1; throughput has none (each series would
/// need its own).
pub fn ideal_line(data: &ComparisonData, view: CompareView) -> Vec<[f64; 2]> {
    let Some(base) = data.baseline_threads() else {
        return Vec::new();
    };
    let last = data.last_threads().max(base);
    let ends = [base, last];
    match view {
        CompareView::Throughput => Vec::new(),
        CompareView::Speedup => ends
            .iter()
            .map(|&n| [n as f64, compare::ideal_speedup(n, base)])
            .collect(),
        CompareView::Efficiency => ends.iter().map(|&n| [n as f64, 1.0]).collect(),
    }
}

/// The vertical markers: physical and logical CPU counts (one marker when they are equal).
pub fn cpu_markers(machine: &MachineInfo) -> Vec<(String, f64)> {
    if machine.physical_cpus == machine.logical_cpus {
        return vec![(
            format!("{} CPUs (physical = logical)", machine.logical_cpus),
            machine.logical_cpus as f64,
        )];
    }
    vec![
        (
            format!("{} physical cores", machine.physical_cpus),
            machine.physical_cpus as f64,
        ),
        (
            format!("{} logical CPUs", machine.logical_cpus),
            machine.logical_cpus as f64,
        ),
    ]
}

/// The comparison being measured.
struct ActiveCompare {
    cancel: CancelToken,
    events: Receiver<CompareEvent>,
    thread: Option<JoinHandle<Result<ComparisonResult, EngineError>>>,
    stopping: bool,
}

/// A comparison preset found on disk, for the picker.
#[derive(Debug, Clone)]
struct PresetChoice {
    path: PathBuf,
    name: String,
    description: String,
}

/// Everything the Compare tab holds: the fields as typed, the loaded comparison, the run.
pub struct CompareTab {
    /// The fields as typed and the view.
    pub fields: CompareFields,
    chart_rect: Option<egui::Rect>,
    comparison: Option<ComparisonPreset>,
    load_error: Option<String>,
    presets: Vec<PresetChoice>,
    data: Option<ComparisonData>,
    active: Option<ActiveCompare>,
}

impl CompareTab {
    /// The tab with `comparison` loaded, or else the remembered one, or else the first
    /// shipped comparison preset; its fields as `remembered`.
    pub fn new(comparison: Option<ComparisonPreset>, remembered: CompareInputs) -> CompareTab {
        let presets = comparison_choices();
        let comparison = comparison
            .or_else(|| {
                // A remembered comparison that no longer parses (an older pooltune's) is
                // dropped for the shipped default rather than shown broken.
                (!remembered.comparison_toml.trim().is_empty())
                    .then(|| {
                        compare::parse(&remembered.comparison_toml, Path::new("(remembered)")).ok()
                    })
                    .flatten()
            })
            .or_else(|| {
                presets
                    .iter()
                    .find_map(|choice| compare::load(&choice.path).ok())
            });
        CompareTab {
            fields: remembered.fields,
            chart_rect: None,
            comparison,
            load_error: None,
            presets,
            data: None,
            active: None,
        }
    }

    /// What the tab remembers across restarts.
    pub fn inputs(&self) -> CompareInputs {
        CompareInputs {
            fields: self.fields.clone(),
            comparison_toml: self
                .comparison
                .as_ref()
                .and_then(|c| compare::to_toml(c).ok())
                .unwrap_or_default(),
        }
    }

    /// Where the chart was drawn in the last frame (for a PNG of it).
    pub fn chart_rect(&self) -> Option<egui::Rect> {
        self.chart_rect
    }

    /// Where "Save comparison" writes when the "Save to" field is empty: the user's presets
    /// folder, named after the comparison.
    pub fn default_save_path(&self) -> PathBuf {
        let name = self
            .comparison
            .as_ref()
            .map_or("comparison", |c| c.name.as_str());
        format::default_preset_path(name)
    }

    /// The comparison that Run would start (before the thread override).
    pub fn comparison(&self) -> Option<&ComparisonPreset> {
        self.comparison.as_ref()
    }

    /// The comparison, to change it (tests shorten it this way).
    pub fn comparison_mut(&mut self) -> Option<&mut ComparisonPreset> {
        self.comparison.as_mut()
    }

    /// Why the last file could not be loaded.
    pub fn load_error(&self) -> Option<&str> {
        self.load_error.as_deref()
    }

    /// The current or last run.
    pub fn data(&self) -> Option<&ComparisonData> {
        self.data.as_ref()
    }

    /// True while a comparison is being measured.
    pub fn is_running(&self) -> bool {
        self.active.is_some()
    }

    /// True once a run has ended, however it ended.
    pub fn has_ended(&self) -> bool {
        self.active.is_none()
            && self
                .data
                .as_ref()
                .is_some_and(|d| d.status != CompareStatus::Running)
    }

    /// The comparison to run with the typed thread counts, and the typed interpreters; or
    /// why it cannot run, naming the field.
    pub fn checked(&self) -> Result<(ComparisonPreset, CompareOptions), String> {
        let Some(mut comparison) = self.comparison.clone() else {
            return Err("Load a comparison first.".to_owned());
        };
        if !self.fields.threads_text.trim().is_empty() {
            let threads = config::parse_threads(&self.fields.threads_text)
                .map_err(|invalid| invalid.to_string())?;
            comparison.sweep.threads = Some(threads);
            comparison.sweep.threads_range = None;
        }
        comparison
            .validate(crate::preset::available_memory_bytes())
            .map_err(|invalid| invalid.to_string())?;
        let path = |text: &str| {
            let text = text.trim();
            (!text.is_empty()).then(|| PathBuf::from(text))
        };
        let options = CompareOptions {
            python: path(&self.fields.python_text),
            free_threaded_python: path(&self.fields.free_threaded_text),
            advice: InterpreterAdvice {
                python: "in the \"Python\" field above".to_owned(),
                free_threaded: "in the \"Free-threaded Python\" field above".to_owned(),
            },
        };
        Ok((comparison, options))
    }

    /// Applies one command (called by the app after the frame is drawn). Returns what to
    /// tell the user of a save or an export: `Ok` for done, `Err` for why not.
    /// [`CompareCommand::ExportPng`] needs a screenshot, which only the app takes: here it
    /// is refused.
    pub fn run_cmd(
        &mut self,
        ctx: &egui::Context,
        command: CompareCommand,
    ) -> Option<Result<String, String>> {
        match command {
            CompareCommand::Run => self.start(ctx),
            CompareCommand::Stop => self.stop(),
            CompareCommand::Load(path) => self.load(&path),
            CompareCommand::Save(path) => return Some(self.save(&path)),
            CompareCommand::Export(kind, path) => return Some(self.export(kind, &path)),
            CompareCommand::ExportPng(_) => {
                return Some(Err("a PNG of the chart is taken by the app".to_owned()));
            }
        }
        None
    }

    /// Saves the loaded comparison with the typed thread counts, atomically; the picker then
    /// offers it.
    fn save(&mut self, path: &Path) -> Result<String, String> {
        let (comparison, _) = self
            .checked()
            .map_err(|reason| format!("Not saved: {reason}"))?;
        crate::preset::prepare_save_folder(path).map_err(|why| format!("Not saved: {why}"))?;
        compare::save(&comparison, path).map_err(|err| format!("Not saved: {err}"))?;
        self.presets = comparison_choices();
        Ok(format!("Saved {} to {}", comparison.name, path.display()))
    }

    /// Writes the last run's result (finished or stopped) in `kind`'s format, atomically.
    fn export(&self, kind: ExportKind, path: &Path) -> Result<String, String> {
        let result = self
            .data
            .as_ref()
            .and_then(|d| d.result.as_ref())
            .ok_or("This comparison has no result yet: wait until it finishes or stop it.")?;
        super::write_export(path, compare::export::export(result, kind.format()))
    }

    /// Asks the running comparison to stop; its points are kept.
    pub fn stop(&mut self) {
        if let Some(active) = &mut self.active {
            active.cancel.cancel();
            active.stopping = true;
        }
    }

    fn load(&mut self, path: &Path) {
        match compare::load(path) {
            Ok(comparison) => {
                self.comparison = Some(comparison);
                self.load_error = None;
            }
            Err(err) => {
                self.load_error = Some(format!(
                    "Could not load the comparison; the loaded one is unchanged.\n{err}"
                ));
            }
        }
    }

    fn start(&mut self, ctx: &egui::Context) {
        if self.active.is_some() {
            return;
        }
        let (comparison, options) = match self.checked() {
            Ok(checked) => checked,
            Err(reason) => {
                let mut data = self
                    .comparison
                    .as_ref()
                    .map_or_else(empty_data, ComparisonData::new);
                data.status = CompareStatus::Failed(format!("Cannot run: {reason}"));
                self.data = Some(data);
                return;
            }
        };
        let mut data = ComparisonData::new(&comparison);
        let cancel = CancelToken::new();
        let (sender, events) = crossbeam_channel::unbounded();
        let repaint = ctx.clone();
        let spawned = compare::spawn_compare(comparison, options, cancel.clone(), move |event| {
            let _ = sender.send(event);
            repaint.request_repaint();
        });
        match spawned {
            Ok(thread) => {
                self.active = Some(ActiveCompare {
                    cancel,
                    events,
                    thread: Some(thread),
                    stopping: false,
                });
            }
            Err(err) => data.status = CompareStatus::Failed(err.to_string()),
        }
        self.data = Some(data);
    }

    /// Moves what the engine has sent into the tab's data (called every frame by the app).
    pub fn receive(&mut self) {
        let (Some(active), Some(data)) = (&mut self.active, &mut self.data) else {
            return;
        };
        let ended = super::drain_events(&active.events, |event| {
            let finished = matches!(event, CompareEvent::Finished(_));
            data.apply(event);
            finished
        });
        if !ended {
            return;
        }
        let outcome = active.thread.take().map(JoinHandle::join);
        self.active = None;
        match outcome {
            Some(Ok(Err(err))) => data.status = CompareStatus::Failed(err.to_string()),
            Some(Err(_)) => {
                data.status =
                    CompareStatus::Failed("the comparison thread stopped unexpectedly".to_owned());
            }
            Some(Ok(Ok(_))) | None => {}
        }
    }
}

impl Drop for CompareTab {
    fn drop(&mut self) {
        // No measuring thread (nor its Python child) outlives the window.
        if let Some(active) = &mut self.active {
            active.cancel.cancel();
            if let Some(thread) = active.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// The comparison presets on disk (shipped and the user's), for the picker.
fn comparison_choices() -> Vec<PresetChoice> {
    compare::list_any_presets()
        .into_iter()
        .filter_map(|entry| match entry.loaded {
            Ok(AnyPreset::Comparison(c)) => Some(PresetChoice {
                path: entry.path,
                name: c.name,
                description: c.description,
            }),
            _ => None,
        })
        .collect()
}

fn empty_data() -> ComparisonData {
    ComparisonData {
        name: String::new(),
        machine: None,
        thread_counts: Vec::new(),
        series: Vec::new(),
        progress: None,
        result: None,
        status: CompareStatus::Running,
        started: Instant::now(),
    }
}

/// Draws the Compare tab; commands go to `commands` as [`crate::app::Command::Compare`].
pub fn compare_ui(ui: &mut Ui, tab: &mut CompareTab, commands: &mut Vec<CompareCommand>) {
    setup_ui(ui, tab, commands);
    ui.separator();
    ui.horizontal(|ui| {
        ui.label("View");
        for view in CompareView::ALL {
            ui.selectable_value(&mut tab.fields.view, view, view.title());
        }
    });
    let Some(data) = &tab.data else {
        ui.weak("Pick a comparison and press \"Run comparison\" (or Space).");
        if let Ok((comparison, _)) = tab.checked() {
            ui.add_space(8.0);
            plan_ui(ui, &comparison);
        }
        tab.chart_rect = None;
        return;
    };
    let view = tab.fields.view;
    egui::Panel::right("compare_series_panel")
        .resizable(true)
        .default_size(300.0)
        .show(ui, |ui| series_list_ui(ui, data));
    egui::Panel::bottom("compare_table_panel")
        .resizable(true)
        .default_size(200.0)
        .show(ui, |ui| {
            let tips = ExportTips {
                csv: "One row per series and thread count: the sweep's columns plus speedup and efficiency (the format of `pooltune compare --format csv`).",
                json: "The whole comparison: machine, every series with its interpreter, error and points (the format of `pooltune compare --format json`).",
                png: "A picture of the chart as it is shown now (the view chosen above).",
            };
            let exported = export_row(ui, &mut tab.fields.export_path, data.result.is_some(), &tips);
            match exported {
                Some((ExportTarget::Data(kind), path)) => {
                    commands.push(CompareCommand::Export(kind, path));
                }
                Some((ExportTarget::Png, path)) => commands.push(CompareCommand::ExportPng(path)),
                None => {}
            }
            table_ui(ui, data, view);
        });
    egui::CentralPanel::no_frame().show(ui, |ui| {
        tab.chart_rect = Some(chart_ui(ui, data, view));
    });
}

/// The picker, the file field, the interpreters and thread counts, Run/Stop and progress.
fn setup_ui(ui: &mut Ui, tab: &mut CompareTab, commands: &mut Vec<CompareCommand>) {
    let default_save_path = tab.default_save_path();
    let CompareTab {
        fields:
            CompareFields {
                path_text,
                save_path,
                python_text,
                free_threaded_text,
                threads_text,
                ..
            },
        comparison,
        load_error,
        presets,
        data,
        active,
        ..
    } = tab;
    ui.horizontal_wrapped(|ui| {
        let label = ui
            .label("Comparison")
            .on_hover_text("A comparison preset, shipped or saved in your presets folder: several series run in turn at each thread count and drawn on one chart.");
        let selected = comparison.as_ref().map_or("(none)", |c| c.name.as_str());
        let response = ComboBox::from_id_salt("comparison_picker")
            .selected_text(selected)
            .width(320.0)
            .show_ui(ui, |ui| {
                for choice in presets.iter() {
                    let is_selected = comparison.as_ref().is_some_and(|c| c.name == choice.name);
                    if ui
                        .selectable_label(is_selected, choice.name.as_str())
                        .on_hover_text(format!(
                            "{}\n({})",
                            choice.description,
                            choice.path.display()
                        ))
                        .clicked()
                    {
                        commands.push(CompareCommand::Load(choice.path.clone()));
                    }
                }
            });
        response.response.labelled_by(label.id);
        ui.separator();
        let label = ui.label("Comparison file");
        ui.add(
            egui::TextEdit::singleline(path_text)
                .hint_text("path/to/comparison.toml")
                .desired_width(240.0),
        )
        .labelled_by(label.id);
        let path = path_text.trim();
        if ui
            .add_enabled(!path.is_empty(), egui::Button::new("Load comparison"))
            .on_hover_text("Load the comparison file named on the left. A file with a mistake is refused with the reason.")
            .clicked()
        {
            commands.push(CompareCommand::Load(path.into()));
        }
    });
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("Save to");
        ui.add(
            egui::TextEdit::singleline(save_path)
                .hint_text(format::home_relative(&default_save_path))
                .desired_width(420.0),
        )
        .labelled_by(label.id)
        .on_hover_text("Where \"Save comparison\" writes. Empty: your presets folder, named after the comparison.");
        if ui
            .add_enabled(comparison.is_some(), egui::Button::new("Save comparison"))
            .on_hover_text("Save the loaded comparison, with the thread counts typed below, as a comparison preset (TOML, editable by hand; `pooltune compare --preset FILE` runs it). The file is replaced only once the new one is complete.")
            .clicked()
        {
            let typed = save_path.trim();
            let path = if typed.is_empty() {
                default_save_path.clone()
            } else {
                PathBuf::from(typed)
            };
            commands.push(CompareCommand::Save(path));
        }
    });
    if let Some(error) = load_error {
        ui.label(RichText::new(error.as_str()).color(ui.visuals().error_fg_color));
    }
    if let Some(comparison) = comparison {
        ui.label(RichText::new(&comparison.description).weak());
    }
    ui.horizontal_wrapped(|ui| {
        let field = |ui: &mut Ui, text: &str, tip: &str, value: &mut String, hint: &str| {
            let label = ui.label(text).on_hover_text(tip);
            ui.add(
                egui::TextEdit::singleline(value)
                    .hint_text(hint)
                    .desired_width(150.0),
            )
            .labelled_by(label.id)
            .on_hover_text(tip);
        };
        field(
            ui,
            "Python",
            "The interpreter for the Python threads and processes series. Empty: the preset's, or python3 on PATH.",
            python_text,
            "python3 on PATH",
        );
        field(
            ui,
            "Free-threaded Python",
            "The interpreter for the free-threaded series (such as python3.13t). Empty: python3.14t or python3.13t on PATH; the series says so when none is found.",
            free_threaded_text,
            "python3.13t on PATH",
        );
        let default_threads = comparison
            .as_ref()
            .map(|c| config::threads_to_text(&c.thread_counts()))
            .unwrap_or_default();
        field(
            ui,
            "Thread counts",
            "The thread counts every series runs, such as 1, 2, 4. Empty: the preset's.",
            threads_text,
            &default_threads,
        );
    });
    ui.horizontal_wrapped(|ui| match active {
        Some(active) => {
            if ui
                .add_enabled(!active.stopping, egui::Button::new("Stop comparison"))
                .on_hover_text("Stop (Space). The points measured so far are kept; Python processes are killed.")
                .clicked()
            {
                commands.push(CompareCommand::Stop);
            }
            if let Some(data) = data {
                progress_ui(ui, data, active.stopping);
            }
        }
        None => {
            // The same check as Run applies, so the reason is shown before the click.
            let check = check_fields(comparison.as_ref(), threads_text);
            if ui
                .add_enabled(check.is_ok(), egui::Button::new("Run comparison"))
                .on_hover_text("Run every series of the comparison, in turn at each thread count (Space).")
                .clicked()
            {
                commands.push(CompareCommand::Run);
            }
            match (check, data.as_ref().map(|d| &d.status)) {
                (Err(reason), _) => {
                    ui.label(
                        RichText::new(format!("Cannot run: {reason}"))
                            .color(ui.visuals().error_fg_color),
                    );
                }
                (Ok(()), Some(CompareStatus::Failed(message))) => {
                    ui.label(RichText::new(message.as_str()).color(ui.visuals().error_fg_color));
                }
                (Ok(()), Some(CompareStatus::Stopped)) => {
                    ui.weak("Stopped; the points measured are kept.");
                }
                (Ok(()), Some(CompareStatus::Finished)) => {
                    let seconds = data
                        .as_ref()
                        .and_then(|d| d.result.as_ref())
                        .map_or(0.0, |r| r.duration_s);
                    ui.weak(format!("Finished in {seconds:.0} s."));
                }
                _ => {}
            }
        }
    });
}

/// Why the typed fields cannot run (the thread list and the preset's own values).
fn check_fields(comparison: Option<&ComparisonPreset>, threads_text: &str) -> Result<(), String> {
    let Some(comparison) = comparison else {
        return Err("load a comparison first.".to_owned());
    };
    let mut comparison = comparison.clone();
    if !threads_text.trim().is_empty() {
        comparison.sweep.threads =
            Some(config::parse_threads(threads_text).map_err(|invalid| invalid.to_string())?);
        comparison.sweep.threads_range = None;
    }
    comparison
        .validate(crate::preset::available_memory_bytes())
        .map_err(|invalid| invalid.to_string())
}

fn progress_ui(ui: &mut Ui, data: &ComparisonData, stopping: bool) {
    let (fraction, text) = match &data.progress {
        None => (
            0.0,
            format!(
                "preparing (finding and calibrating interpreters)… {:.0} s",
                data.started.elapsed().as_secs_f64()
            ),
        ),
        Some((series, progress, received)) => {
            let left = progress
                .eta_s()
                .map(|eta| format::seconds_left(eta - received.elapsed().as_secs_f64()))
                .unwrap_or_else(|| format::UNKNOWN.to_owned());
            let label = data.series.get(*series).map_or("", |s| s.label.as_str());
            (
                progress.fraction() as f32,
                format!("{label} · {} threads · about {left} left", progress.threads),
            )
        }
    };
    let text = if stopping {
        "stopping…".to_owned()
    } else {
        text
    };
    ui.add(
        egui::ProgressBar::new(fraction)
            .desired_width(520.0)
            .text(text),
    );
}

/// Before the first run: what the comparison will run, series by series, and how.
fn plan_ui(ui: &mut Ui, comparison: &ComparisonPreset) {
    ui.heading("What this comparison runs");
    let length = match comparison.sweep.trial_length() {
        TrialLength::Tasks(tasks) => format!("{tasks} tasks"),
        TrialLength::Millis(ms) => format!("{ms} ms"),
    };
    ui.label(format!(
        "At each thread count ({}), every series in turn: {} trials of {length} each after a warm-up, so that a drift of the machine favours none of them.",
        config::threads_to_text(&comparison.thread_counts()),
        comparison.sweep.trials,
    ));
    ui.add_space(4.0);
    for (index, series) in comparison.series.iter().enumerate() {
        ui.horizontal(|ui| {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
            ui.painter().rect_filled(rect, 2.0, run_color(index as u64));
            ui.strong(series.label.as_str());
            ui.weak(format!(
                "{} · {}",
                series.kind.as_str(),
                series_how(&series.setup)
            ));
        });
    }
}

/// A series' setup in a few words: "cpu workload, rayon pool" or "Python io task: C = 500 µs,
/// W = 9500 µs, chunks of 4".
fn series_how(setup: &SeriesSetup) -> String {
    match setup {
        SeriesSetup::Rust { workload, pool } => format!(
            "{} workload on a {} pool",
            workload.kind_name(),
            pool.kind_name()
        ),
        SeriesSetup::Python(python) => {
            let mut text = format!(
                "Python {} task: C = {} µs",
                python.task.as_str(),
                python.compute_us
            );
            if python.wait_us > 0 {
                text.push_str(&format!(", W = {} µs", python.wait_us));
            }
            if python.chunk_size > 1 {
                text.push_str(&format!(", chunks of {}", python.chunk_size));
            }
            text
        }
    }
}

/// Beside the chart: each series with its colour, interpreter and points, and plainly why a
/// series failed or did not run.
fn series_list_ui(ui: &mut Ui, data: &ComparisonData) {
    ui.heading("Series");
    ScrollArea::vertical()
        .id_salt("compare_series_scroll")
        .show(ui, |ui| {
            for (index, series) in data.series.iter().enumerate() {
                ui.horizontal_top(|ui| {
                    let (rect, _) =
                        ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                    ui.painter().rect_filled(rect, 2.0, run_color(index as u64));
                    ui.add(egui::Label::new(RichText::new(&series.label).strong()).wrap());
                });
                let measured = series.points.iter().filter(|p| p.is_ok()).count();
                let mut detail = format!(
                    "{} · {measured}/{} points",
                    series.kind.as_str(),
                    data.thread_counts.len()
                );
                if let Some(interpreter) = &series.interpreter {
                    detail.push_str(&format!(" · {}", interpreter.path.display()));
                }
                ui.weak(detail);
                if let Some(error) = &series.error {
                    ui.label(RichText::new(error.as_str()).color(ui.visuals().error_fg_color));
                }
                for point in &series.points {
                    if let Some(error) = &point.error {
                        ui.label(
                            RichText::new(format!("{} threads: {error}", point.threads))
                                .color(ui.visuals().warn_fg_color),
                        );
                    } else if point.disturbed {
                        ui.label(
                            RichText::new(disturbed_line(point))
                                .color(ui.visuals().warn_fg_color),
                        )
                        .on_hover_text("Drawn hollow: other processes used the CPUs while this point was measured, so it is not this series' alone.");
                    }
                }
                ui.add_space(4.0);
            }
            if let Some(result) = &data.result {
                for warning in &result.warnings {
                    ui.label(
                        RichText::new(format!("Warning: {warning}"))
                            .color(ui.visuals().warn_fg_color),
                    );
                }
            }
        });
}

/// A disturbed point in the series list: `2 threads: disturbed, other processes used 0.96 CPUs`.
pub fn disturbed_line(point: &Point) -> String {
    let mut line = format!(
        "{} threads: disturbed, other processes used {}",
        point.threads,
        format::cpus(point.other_cpu_utilization)
    );
    if point.retried_trials > 0 {
        let trials = if point.retried_trials == 1 {
            "trial"
        } else {
            "trials"
        };
        line.push_str(&format!(
            " ({} {trials} measured again)",
            point.retried_trials
        ));
    }
    line
}

/// The values of the view: one row per thread count, one column per series.
fn table_ui(ui: &mut Ui, data: &ComparisonData, view: CompareView) {
    let scalings: Vec<Scaling> = data.series.iter().map(SeriesView::scaling).collect();
    ScrollArea::both()
        .id_salt("compare_table_scroll")
        .show(ui, |ui| {
            Grid::new("compare_table")
                .striped(true)
                .spacing([16.0, 4.0])
                .show(ui, |ui| {
                    ui.strong("threads");
                    for series in &data.series {
                        ui.strong(series.label.as_str());
                    }
                    ui.end_row();
                    for &threads in &data.thread_counts {
                        ui.label(threads.to_string());
                        for scaling in &scalings {
                            match scaling.points.iter().find(|p| p.threads == threads) {
                                Some(point) => ui.label(view.cell(point)),
                                None => ui.weak(format::UNKNOWN),
                            };
                        }
                        ui.end_row();
                    }
                });
        });
}

/// Draws the chart of `view`; returns where it is (for a PNG of it).
fn chart_ui(ui: &mut Ui, data: &ComparisonData, view: CompareView) -> egui::Rect {
    let last = data
        .last_threads()
        .max(data.machine.as_ref().map_or(1, |m| m.logical_cpus));
    let mut plot = Plot::new("compare_plot")
        .legend(
            Legend::default()
                .position(egui_plot::Corner::LeftTop)
                .text_style(egui::TextStyle::Small),
        )
        .x_axis_label("threads (or worker processes)")
        .y_axis_label(view.axis_label())
        .include_x(0.0)
        .include_x(last as f64 + 0.5)
        .include_y(0.0)
        .allow_scroll(false);
    // Room above the highest point (and the ideal value of speedup and efficiency, even when
    // every series is far below it) for the legend in the top left corner.
    let highest = data
        .series
        .iter()
        .flat_map(|s| view_series(s, view))
        .map(|[_, y]| y)
        .chain(ideal_line(data, view).into_iter().map(|[_, y]| y))
        .fold(0.0, f64::max);
    if highest > 0.0 {
        plot = plot.include_y(1.4 * highest);
    }
    let shown = plot.show(ui, |plot_ui| {
        let ideal = ideal_line(data, view);
        if !ideal.is_empty() {
            plot_ui.line(
                Line::new("ideal", ideal)
                    .color(egui::Color32::GRAY)
                    .style(LineStyle::dashed_loose())
                    .allow_hover(false),
            );
        }
        if let Some(machine) = &data.machine {
            for (name, x) in cpu_markers(machine) {
                plot_ui.vline(
                    VLine::new(name, x)
                        .color(egui::Color32::from_gray(140))
                        .style(LineStyle::dotted_dense()),
                );
            }
        }
        for (index, series) in data.series.iter().enumerate() {
            let color = run_color(index as u64);
            let points = view_series(series, view);
            plot_ui.line(
                Line::new(series.label.clone(), points)
                    .color(color)
                    .width(1.5),
            );
            let (quiet, disturbed) = view_series_by_disturbance(series, view);
            plot_ui.points(
                Points::new(series.label.clone(), quiet)
                    .color(color)
                    .radius(4.0)
                    .shape(MarkerShape::Circle)
                    .filled(true),
            );
            if !disturbed.is_empty() {
                // Hollow: other processes used the CPUs while these were measured.
                plot_ui.points(
                    Points::new(series.label.clone(), disturbed)
                        .color(color)
                        .radius(4.5)
                        .shape(MarkerShape::Circle)
                        .filled(false),
                );
            }
        }
    });
    shown.response.rect
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::SeriesInfo;
    use crate::result::Calibration;

    fn point(threads: usize, throughput: f64) -> Point {
        let mut p = Point::failed(threads, "x");
        p.error = None;
        p.throughput_per_s = throughput;
        p
    }

    fn machine(physical: usize, logical: usize) -> MachineInfo {
        let mut m = MachineInfo::detect();
        m.physical_cpus = physical;
        m.logical_cpus = logical;
        m
    }

    fn data() -> ComparisonData {
        let mut d = empty_data();
        d.apply(CompareEvent::Started {
            machine: machine(2, 4),
            calibration: Calibration {
                spin_units_per_us: 1.0,
                timer_cost_ns: 20.0,
            },
            thread_counts: vec![1, 2, 4],
            trials: 3,
            series: vec![
                SeriesInfo {
                    label: "Rust".into(),
                    kind: SeriesKind::Rust,
                    interpreter: None,
                },
                SeriesInfo {
                    label: "Python threads".into(),
                    kind: SeriesKind::PythonThreads,
                    interpreter: None,
                },
            ],
        });
        d
    }

    #[test]
    fn points_arrive_per_series_and_failures_stay_with_their_series() {
        let mut d = data();
        d.apply(CompareEvent::SeriesPoint {
            series: 0,
            point: point(1, 100.0),
        });
        d.apply(CompareEvent::SeriesPoint {
            series: 0,
            point: point(2, 180.0),
        });
        d.apply(CompareEvent::SeriesFailed {
            series: 1,
            message: "python3 was not found".into(),
        });
        assert_eq!(
            view_series(&d.series[0], CompareView::Throughput),
            [[1.0, 100.0], [2.0, 180.0]]
        );
        assert_eq!(
            view_series(&d.series[0], CompareView::Speedup),
            [[1.0, 1.0], [2.0, 1.8]]
        );
        assert_eq!(
            view_series(&d.series[0], CompareView::Efficiency),
            [[1.0, 1.0], [2.0, 0.9]]
        );
        assert!(view_series(&d.series[1], CompareView::Throughput).is_empty());
        assert_eq!(d.series[1].error.as_deref(), Some("python3 was not found"));
        assert_eq!(d.status, CompareStatus::Running);
    }

    #[test]
    fn disturbed_points_are_drawn_apart_and_listed_with_their_figure() {
        let mut d = data();
        let mut busy = point(2, 180.0);
        busy.disturbed = true;
        busy.other_cpu_utilization = 0.96;
        busy.retried_trials = 1;
        for p in [point(1, 100.0), busy.clone(), point(4, 300.0)] {
            d.apply(CompareEvent::SeriesPoint {
                series: 0,
                point: p,
            });
        }
        let (quiet, hollow) = view_series_by_disturbance(&d.series[0], CompareView::Throughput);
        assert_eq!(quiet, [[1.0, 100.0], [4.0, 300.0]]);
        assert_eq!(hollow, [[2.0, 180.0]]);
        assert_eq!(
            disturbed_line(&busy),
            "2 threads: disturbed, other processes used 0.96 CPUs (1 trial measured again)"
        );
    }

    #[test]
    fn ideal_lines_run_from_the_baseline_to_the_last_thread_count() {
        let mut d = data();
        assert!(ideal_line(&d, CompareView::Speedup).is_empty());
        d.apply(CompareEvent::SeriesPoint {
            series: 0,
            point: point(1, 100.0),
        });
        assert_eq!(
            ideal_line(&d, CompareView::Speedup),
            [[1.0, 1.0], [4.0, 4.0]]
        );
        assert_eq!(
            ideal_line(&d, CompareView::Efficiency),
            [[1.0, 1.0], [4.0, 1.0]]
        );
        assert!(ideal_line(&d, CompareView::Throughput).is_empty());
    }

    #[test]
    fn cpu_markers_name_physical_and_logical_counts() {
        let markers = cpu_markers(&machine(2, 4));
        assert_eq!(markers.len(), 2);
        assert_eq!(markers[0].1, 2.0);
        assert_eq!(markers[1].1, 4.0);
        assert_eq!(cpu_markers(&machine(2, 2)).len(), 1);
    }
}
