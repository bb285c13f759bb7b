//! The Compare tab: pick a comparison preset (several series on one chart, such as Rust
//! threads, a simulated GIL and real CPython threads and processes), optionally name the
//! Python interpreters and override the thread counts, run it, and read it three ways
//! (throughput, speedup, efficiency). Points appear as the engine sends them; a series that
//! failed or could not start says why beside the chart.
//!
//! The tab holds its fields, the loaded comparison, the run ([`RunHandle`]) and its data
//! ([`ComparisonData`]). The engine runs on its own named thread ([`engine::spawn_series`]
//! with a [`ComparisonPlan`]) and sends its [`Event`]s through a channel whose sender asks
//! egui for a repaint.
//! Drawing only edits text fields in place and pushes [`CompareCommand`]s; the shell applies
//! them after the frame with [`CompareTab::run_cmd`], the only place that loads files or
//! starts the engine. The widgets are in [`crate::ui::compare`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use eframe::egui;
use egui::{ComboBox, RichText, Ui};

use crate::app::command::{Command, CompareCommand, Reply};
use crate::app::consent::CodeToRun;
use crate::app::run::{RunEnd, RunHandle, RunStatus};
use crate::app::tabs::{Tab, export_reply, write_export};
use crate::engine::{self, Event, Progress, RunResult, SeriesInfo, SeriesResult};
use crate::error::EngineError;
use crate::export::Format;
use crate::machine::MachineInfo;
use crate::remote;
use crate::result::comparison::ComparisonResult;
use crate::source::CompareOptions;
use crate::source::ComparisonPlan;
use crate::source::python::script::InterpreterAdvice;
use crate::spec::AnyPreset;
use crate::spec::ComparisonPreset;
use crate::spec::consent::{self, PresetFile};
use crate::ui::compare::{self as compare_ui, ChartData, CompareView};
use crate::ui::config::RunOn;
use crate::ui::{ExportTips, config, export_row, format};

/// The comparison being measured.
type CompareRun = RunHandle<Event, Result<RunResult, EngineError>>;

/// The data of one comparison run, built from its events. Holds no egui.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonData {
    /// The comparison's name.
    pub name: String,
    /// The comparison as run: the engine's result is made a [`ComparisonResult`] of it.
    /// None for a run of no comparison.
    pub preset: Option<ComparisonPreset>,
    /// The machine, once the engine has started (its CPU counts are marked on the chart).
    pub machine: Option<MachineInfo>,
    /// Thread counts, in the order they run.
    pub thread_counts: Vec<usize>,
    /// One entry per series, in the preset's order.
    pub series: Vec<SeriesResult>,
    /// Per series: true when its count is tasks in flight, not threads (from the preset).
    pub counts_in_flight: Vec<bool>,
    /// The last progress report (which series, how far) and when it came.
    pub progress: Option<(usize, Progress, Instant)>,
    /// The whole result once the run is over.
    pub result: Option<ComparisonResult>,
    /// Where the run is.
    pub status: RunStatus,
    /// When the run was started.
    pub started: Instant,
    /// The result file it was read from; None for a run measured here.
    pub opened_from: Option<PathBuf>,
}

impl ComparisonData {
    /// A run of no comparison (one that could not start names nothing).
    pub fn empty() -> ComparisonData {
        ComparisonData {
            name: String::new(),
            preset: None,
            machine: None,
            thread_counts: Vec::new(),
            series: Vec::new(),
            counts_in_flight: Vec::new(),
            progress: None,
            result: None,
            status: RunStatus::Running,
            started: Instant::now(),
            opened_from: None,
        }
    }

    /// A comparison read from the result file at `path`, shown as a run that has ended.
    pub fn opened(path: PathBuf, result: ComparisonResult) -> ComparisonData {
        ComparisonData {
            name: result.preset.name.clone(),
            preset: Some(result.preset.clone()),
            machine: Some(result.machine.clone()),
            thread_counts: result.thread_counts.clone(),
            series: result.series.clone(),
            counts_in_flight: counts_in_flight(&result.preset),
            progress: None,
            status: RunStatus::ended(result.outcome.cancelled),
            result: Some(result),
            started: Instant::now(),
            opened_from: Some(path),
        }
    }

    /// An empty run of `preset`: its series are listed (unlabelled by interpreters) until the
    /// engine announces them.
    pub fn new(preset: &ComparisonPreset) -> ComparisonData {
        ComparisonData {
            name: preset.name.clone(),
            preset: Some(preset.clone()),
            machine: None,
            thread_counts: preset.thread_counts(),
            counts_in_flight: counts_in_flight(preset),
            series: preset
                .series
                .iter()
                .map(|spec| {
                    unmeasured(SeriesInfo {
                        label: spec.label.clone(),
                        kind: spec.kind,
                        interpreter: None,
                    })
                })
                .collect(),
            progress: None,
            result: None,
            status: RunStatus::Running,
            started: Instant::now(),
            opened_from: None,
        }
    }

    /// Applies one event from the engine.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Started(started) => {
                self.machine = Some(started.machine);
                self.thread_counts = started.thread_counts;
                self.series = started.series.into_iter().map(unmeasured).collect();
            }
            Event::Progress { series, progress } => {
                self.progress = Some((series, progress, Instant::now()));
            }
            Event::Point { series, point } => {
                if let Some(view) = self.series.get_mut(series) {
                    view.points.push(point);
                }
            }
            Event::SeriesFailed { series, message } => {
                if let Some(view) = self.series.get_mut(series) {
                    view.error = Some(message);
                }
            }
            Event::Finished(run) => {
                // The result is the engine's final word on every series.
                let result = match &self.preset {
                    Some(preset) => ComparisonResult::from_run(preset.clone(), *run),
                    None => return,
                };
                self.machine = Some(result.machine.clone());
                self.thread_counts.clone_from(&result.thread_counts);
                self.series.clone_from(&result.series);
                self.status = RunStatus::ended(result.outcome.cancelled);
                self.progress = None;
                self.result = Some(result);
            }
        }
    }

    /// What the widgets draw of it.
    pub fn chart(&self) -> ChartData<'_> {
        ChartData {
            machine: self.machine.as_ref(),
            thread_counts: &self.thread_counts,
            series: &self.series,
            counts_in_flight: &self.counts_in_flight,
        }
    }
}

/// Per series of `preset`: whether it counts tasks in flight rather than threads.
fn counts_in_flight(preset: &ComparisonPreset) -> Vec<bool> {
    preset
        .series
        .iter()
        .map(|spec| spec.counts_tasks_in_flight())
        .collect()
}

/// A series as announced, before its first point.
fn unmeasured(info: SeriesInfo) -> SeriesResult {
    SeriesResult {
        label: info.label,
        kind: info.kind,
        interpreter: info.interpreter,
        points: Vec::new(),
        error: None,
    }
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
    /// Where "Run comparison" measures: this machine or via a prefix.
    pub run_on: RunOn,
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
            run_on: RunOn::default(),
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
    /// The file the loaded comparison was read from, with its content hash (None: written
    /// in this app): the app asks before the first run of code from a file it did not write.
    pub comparison_file: Option<PresetFile>,
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
    file: Option<PresetFile>,
    load_error: Option<String>,
    presets: Vec<PresetChoice>,
    data: Option<ComparisonData>,
    run: Option<CompareRun>,
    written: Vec<String>,
}

impl CompareTab {
    /// The tab with `comparison` loaded, or else the remembered one, or else the first
    /// shipped comparison preset; its fields as `remembered`.
    pub fn new(
        comparison: Option<(ComparisonPreset, Option<PresetFile>)>,
        remembered: CompareInputs,
    ) -> CompareTab {
        let presets = comparison_choices();
        let remembered_file = remembered.comparison_file.clone();
        let (comparison, file) = match comparison
            .or_else(|| {
                // A remembered comparison that no longer parses (an older pooltune's) is
                // dropped for the shipped default rather than shown broken.
                (!remembered.comparison_toml.trim().is_empty())
                    .then(|| {
                        crate::spec::parse_comparison(
                            &remembered.comparison_toml,
                            Path::new("(remembered)"),
                        )
                        .ok()
                    })
                    .flatten()
                    .map(|comparison| (comparison, remembered_file))
            })
            .or_else(|| {
                presets.iter().find_map(|choice| {
                    consent::load_comparison_with_file(&choice.path)
                        .ok()
                        .map(|(comparison, file)| (comparison, Some(file)))
                })
            }) {
            Some((comparison, file)) => (Some(comparison), file),
            None => (None, None),
        };
        CompareTab {
            fields: remembered.fields,
            chart_rect: None,
            comparison,
            file,
            load_error: None,
            presets,
            data: None,
            run: None,
            written: Vec::new(),
        }
    }

    /// The content hashes of the comparison files this tab wrote since the last call (see
    /// `SweepTab::take_written`).
    pub fn take_written(&mut self) -> Vec<String> {
        std::mem::take(&mut self.written)
    }

    /// The code of the user's the loaded comparison runs, and the file it came from.
    pub fn code(&self) -> Option<CodeToRun> {
        let lines = consent::comparison_lines(self.comparison.as_ref()?);
        (!lines.is_empty()).then(|| CodeToRun {
            lines,
            file: self.file.clone(),
        })
    }

    /// What the tab remembers across restarts.
    pub fn inputs(&self) -> CompareInputs {
        CompareInputs {
            fields: self.fields.clone(),
            comparison_toml: self
                .comparison
                .as_ref()
                .and_then(|c| crate::spec::comparison_to_toml(c).ok())
                .unwrap_or_default(),
            comparison_file: self.file.clone(),
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
        self.run.is_some()
    }

    /// True once a run has ended, however it ended.
    pub fn has_ended(&self) -> bool {
        self.run.is_none()
            && self
                .data
                .as_ref()
                .is_some_and(|d| d.status != RunStatus::Running)
    }

    /// The comparison to run with the typed thread counts, and the typed interpreters; or
    /// why it cannot run, naming the field. `available_memory` is the monitor's last reading.
    pub fn checked(
        &self,
        available_memory: u64,
    ) -> Result<(ComparisonPreset, CompareOptions), String> {
        let Some(comparison) = &self.comparison else {
            return Err("Load a comparison first.".to_owned());
        };
        let comparison =
            with_typed_threads(comparison, &self.fields.threads_text, available_memory)?;
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

    /// Applies one command (called by the shell after the frame is drawn). Returns what to
    /// tell the user of a save or an export, or the screenshot to take for a PNG.
    pub fn run_cmd(
        &mut self,
        ctx: &egui::Context,
        command: CompareCommand,
        available_memory: u64,
    ) -> Option<Reply> {
        match command {
            CompareCommand::Run => self.start(ctx, available_memory),
            CompareCommand::Stop => self.stop(),
            CompareCommand::Load(path) => self.load(&path),
            CompareCommand::Save(path) => {
                return Some(Reply::from_outcome(self.save(&path, available_memory)));
            }
            CompareCommand::Export(target, path) => {
                return Some(export_reply(
                    target,
                    path,
                    self.chart_rect,
                    "There is no chart on screen to export.",
                    |format, path| self.export(format, path),
                ));
            }
        }
        None
    }

    /// Saves the loaded comparison with the typed thread counts, atomically; the picker then
    /// offers it.
    fn save(&mut self, path: &Path, available_memory: u64) -> Result<String, String> {
        let (comparison, _) = self
            .checked(available_memory)
            .map_err(|reason| format!("Not saved: {reason}"))?;
        crate::spec::prepare_save_folder(path).map_err(|why| format!("Not saved: {why}"))?;
        crate::spec::save_comparison(&comparison, path)
            .map_err(|err| format!("Not saved: {err}"))?;
        // What was written is this text: a file written here (see the Sweep tab's save).
        if let Ok(text) = crate::spec::comparison_to_toml(&comparison) {
            let file = PresetFile::of(path, text.as_bytes());
            self.written.push(file.content_hash.clone());
            self.file = Some(file);
        }
        self.presets = comparison_choices();
        Ok(format!(
            "Saved {} to {}",
            comparison.name,
            crate::ui::format::full_path(path)
        ))
    }

    /// Writes the last run's result (finished or stopped) in `format`, atomically.
    fn export(&self, format: Format, path: &Path) -> Result<String, String> {
        let result = self
            .data
            .as_ref()
            .and_then(|d| d.result.as_ref())
            .ok_or("This comparison has no result yet: wait until it finishes or stop it.")?;
        write_export(path, crate::export::export(result, format))
    }

    /// Shows the comparison read from `path` in place of the last run (the loaded comparison,
    /// which Run starts, stays). Refused while a comparison is measured: nothing changes.
    pub fn show_opened(&mut self, path: PathBuf, result: ComparisonResult) -> Result<(), String> {
        if self.is_running() {
            return Err(format!(
                "Not opened {}: a comparison is being measured; stop it first.",
                crate::ui::format::full_path(&path)
            ));
        }
        self.data = Some(ComparisonData::opened(path, result));
        Ok(())
    }

    /// Asks the running comparison to stop; its points are kept.
    pub fn stop(&mut self) {
        if let Some(run) = &mut self.run {
            run.stop();
        }
    }

    fn load(&mut self, path: &Path) {
        match consent::load_comparison_with_file(path) {
            Ok((comparison, file)) => {
                self.comparison = Some(comparison);
                self.file = Some(file);
                self.load_error = None;
            }
            Err(err) => {
                self.load_error = Some(format!(
                    "Could not load the comparison; the loaded one is unchanged.\n{err}"
                ));
            }
        }
    }

    fn start(&mut self, ctx: &egui::Context, available_memory: u64) {
        if self.run.is_some() {
            return;
        }
        let (comparison, options) = match self.checked(available_memory) {
            Ok(checked) => checked,
            Err(reason) => {
                let mut data = self
                    .comparison
                    .as_ref()
                    .map_or_else(ComparisonData::empty, ComparisonData::new);
                data.status = RunStatus::Failed(format!("Cannot run: {reason}"));
                self.data = Some(data);
                return;
            }
        };
        let mut data = ComparisonData::new(&comparison);
        let run_on = &self.fields.run_on;
        let via = match run_on.via.then(|| remote::Via::new(&run_on.prefix)) {
            Some(Err(err)) => {
                data.status = RunStatus::Failed(format!("Cannot run: {err}"));
                self.data = Some(data);
                return;
            }
            Some(Ok(via)) => Some(via),
            None => None,
        };
        let repaint = ctx.clone();
        let spawned = RunHandle::spawn(|cancel, sender| {
            let emit = move |event| {
                let _ = sender.send(event);
                repaint.request_repaint();
            };
            match via {
                Some(via) => remote::spawn_comparison(
                    "pooltune-compare",
                    comparison,
                    options,
                    via,
                    cancel,
                    emit,
                ),
                None => {
                    let plan = ComparisonPlan {
                        preset: comparison,
                        options,
                    };
                    engine::spawn_series("pooltune-compare", plan, cancel, emit)
                }
            }
        });
        match spawned {
            Ok(run) => self.run = Some(run),
            Err(err) => data.status = RunStatus::Failed(err.to_string()),
        }
        self.data = Some(data);
    }

    /// Moves what the engine has sent into the tab's data (called every frame by the shell).
    pub fn receive(&mut self) {
        let (Some(run), Some(data)) = (&mut self.run, &mut self.data) else {
            return;
        };
        let ended = run.poll(|event| {
            let finished = matches!(event, Event::Finished(_));
            data.apply(event);
            finished
        });
        let Some(ended) = ended else {
            return;
        };
        self.run = None;
        match ended {
            RunEnd::Returned(Err(err)) => data.status = RunStatus::Failed(err.to_string()),
            RunEnd::Panicked => {
                data.status =
                    RunStatus::Failed("the comparison thread stopped unexpectedly".to_owned());
            }
            RunEnd::Returned(Ok(_)) => {}
        }
    }
}

/// The comparison presets on disk (shipped and the user's), for the picker.
fn comparison_choices() -> Vec<PresetChoice> {
    crate::spec::list_any_presets()
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

/// Draws the Compare tab; commands go to `commands`.
fn compare_ui(
    ui: &mut Ui,
    tab: &mut CompareTab,
    available_memory: u64,
    commands: &mut Vec<CompareCommand>,
) {
    setup_ui(ui, tab, available_memory, commands);
    ui.separator();
    ui.horizontal(|ui| {
        ui.label("View");
        for view in CompareView::ALL {
            ui.selectable_value(&mut tab.fields.view, view, view.title());
        }
    });
    let Some(data) = &tab.data else {
        ui.weak("Pick a comparison and press \"Run comparison\" (or Space).");
        if let Ok((comparison, _)) = tab.checked(available_memory) {
            ui.add_space(8.0);
            compare_ui::plan_ui(ui, &comparison);
        }
        tab.chart_rect = None;
        return;
    };
    if let Some(machine) = &data.machine {
        let text = match &data.opened_from {
            Some(path) => format!(
                "Opened from {} · measured on {}",
                path.display(),
                format::machine(machine)
            ),
            None => format!("Measured here on {}", format::machine(machine)),
        };
        ui.weak(text).on_hover_text("The machine the comparison was measured on (host name, CPU model, CPUs usable by pooltune, physical cores, logical CPUs); the chart marks its CPU counts.");
    }
    let view = tab.fields.view;
    egui::Panel::right("compare_series_panel")
        .resizable(true)
        .default_size(300.0)
        .show(ui, |ui| {
            let warnings = data
                .result
                .as_ref()
                .map_or(&[][..], |r| &r.outcome.warnings[..]);
            compare_ui::series_list_ui(ui, data.chart(), warnings);
        });
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
            if let Some((target, path)) = exported {
                commands.push(CompareCommand::Export(target, path));
            }
            compare_ui::table_ui(ui, data.chart(), view);
        });
    egui::CentralPanel::no_frame().show(ui, |ui| {
        // The title is inside the exported area, so the PNG says what it shows.
        let top = ui.cursor().min;
        if let Some(title) = comparison_title(data) {
            ui.label(egui::RichText::new(title).weak());
        }
        let drawn = compare_ui::chart_ui(ui, data.chart(), view);
        tab.chart_rect = Some(drawn.union(egui::Rect::from_min_max(top, top)));
    });
}

/// The picker, the file field, the interpreters and thread counts, Run/Stop and progress.
fn setup_ui(
    ui: &mut Ui,
    tab: &mut CompareTab,
    available_memory: u64,
    commands: &mut Vec<CompareCommand>,
) {
    let default_save_path = tab.default_save_path();
    let CompareTab {
        fields:
            CompareFields {
                path_text,
                save_path,
                python_text,
                free_threaded_text,
                threads_text,
                run_on,
                ..
            },
        comparison,
        load_error,
        presets,
        data,
        run,
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
                    let place = choice.path.display().to_string();
                    if config::preset_choice_ui(
                        ui,
                        is_selected,
                        &choice.name,
                        &choice.description,
                        &place,
                    ) {
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
    ui.horizontal_wrapped(|ui| match run {
        Some(run) => {
            if ui
                .add_enabled(!run.is_stopping(), egui::Button::new("Stop comparison"))
                .on_hover_text("Stop (Space). The points measured so far are kept; Python processes are killed.")
                .clicked()
            {
                commands.push(CompareCommand::Stop);
            }
            if let Some(data) = data {
                compare_ui::progress_ui(
                    ui,
                    &data.series,
                    data.progress.as_ref(),
                    data.started,
                    run.is_stopping(),
                );
            }
        }
        None => {
            // The same check as Run applies, so the reason is shown before the click.
            let check = check_fields(comparison.as_ref(), threads_text, available_memory);
            if ui
                .add_enabled(check.is_ok(), egui::Button::new("Run comparison"))
                .on_hover_text("Run every series of the comparison, in turn at each thread count (Space).")
                .clicked()
            {
                commands.push(CompareCommand::Run);
            }
            config::run_on_ui(ui, run_on);
            match (check, data.as_ref().map(|d| &d.status)) {
                (Err(reason), _) => {
                    ui.label(
                        RichText::new(format!("Cannot run: {reason}"))
                            .color(ui.visuals().error_fg_color),
                    );
                }
                (Ok(()), Some(RunStatus::Failed(message))) => {
                    ui.label(RichText::new(message.as_str()).color(ui.visuals().error_fg_color));
                }
                (Ok(()), Some(RunStatus::Stopped)) => {
                    ui.weak("Stopped; the points measured are kept.");
                }
                (Ok(()), Some(RunStatus::Finished)) => {
                    let seconds = data
                        .as_ref()
                        .and_then(|d| d.result.as_ref())
                        .map_or(0.0, |r| r.outcome.duration_s);
                    ui.weak(format!("Finished in {seconds:.0} s."));
                }
                _ => {}
            }
        }
    });
}

/// Why the typed fields cannot run (the thread list and the preset's own values).
fn check_fields(
    comparison: Option<&ComparisonPreset>,
    threads_text: &str,
    available_memory: u64,
) -> Result<(), String> {
    let Some(comparison) = comparison else {
        return Err("load a comparison first.".to_owned());
    };
    with_typed_threads(comparison, threads_text, available_memory).map(|_| ())
}

/// `comparison` with the typed thread counts (empty keeps the preset's), validated; or why
/// not, naming the field.
fn with_typed_threads(
    comparison: &ComparisonPreset,
    threads_text: &str,
    available_memory: u64,
) -> Result<ComparisonPreset, String> {
    let mut comparison = comparison.clone();
    if !threads_text.trim().is_empty() {
        comparison.sweep.threads =
            Some(config::parse_threads(threads_text).map_err(|invalid| invalid.to_string())?);
        comparison.sweep.threads_range = None;
    }
    comparison
        .validate(available_memory)
        .map_err(|invalid| invalid.to_string())?;
    Ok(comparison)
}

/// The title of a finished comparison's PNG ([`crate::ui::format::plot_title`]); None until it has a
/// result.
fn comparison_title(data: &ComparisonData) -> Option<String> {
    let result = data.result.as_ref()?;
    Some(crate::ui::format::plot_title(
        &result.preset.name,
        &result.machine,
        result.outcome.started_unix_s,
    ))
}

impl Tab for CompareTab {
    fn png_title(&self) -> Option<String> {
        self.data().and_then(comparison_title)
    }

    fn title(&self) -> &'static str {
        "Compare"
    }

    fn top_bar_ui(&mut self, ui: &mut Ui, _available_memory: u64) -> Vec<Command> {
        ui.weak("Space: run/stop the comparison");
        Vec::new()
    }

    fn ui(&mut self, ui: &mut Ui, available_memory: u64) -> Vec<Command> {
        let mut commands = Vec::new();
        compare_ui(ui, self, available_memory, &mut commands);
        commands.into_iter().map(Command::Compare).collect()
    }

    fn poll(&mut self) -> Option<Reply> {
        self.receive();
        None
    }

    fn is_running(&self) -> bool {
        CompareTab::is_running(self)
    }

    fn has_ended(&self) -> bool {
        CompareTab::has_ended(self)
    }

    fn toggle_run(&self) -> Command {
        Command::Compare(if self.is_running() {
            CompareCommand::Stop
        } else {
            CompareCommand::Run
        })
    }

    fn code_to_run(&self) -> Option<CodeToRun> {
        self.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Started;
    use crate::model::fixtures::ok_point as point;
    use crate::result::Calibration;
    use crate::spec::SeriesKind;
    use crate::ui::compare::tests::machine;
    use crate::ui::compare::{disturbed_line, ideal_line, view_series, view_series_by_disturbance};

    fn data() -> ComparisonData {
        let mut d = ComparisonData::empty();
        d.apply(Event::Started(Box::new(Started {
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
        })));
        d
    }

    #[test]
    fn points_arrive_per_series_and_failures_stay_with_their_series() {
        let mut d = data();
        d.apply(Event::Point {
            series: 0,
            point: point(1, 100.0),
        });
        d.apply(Event::Point {
            series: 0,
            point: point(2, 180.0),
        });
        d.apply(Event::SeriesFailed {
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
        assert_eq!(d.status, RunStatus::Running);
    }

    #[test]
    fn disturbed_points_are_drawn_apart_and_listed_with_their_figure() {
        let mut d = data();
        let mut busy = point(2, 180.0);
        busy.disturbed = true;
        busy.other_cpu_utilization = 0.96;
        busy.retried_trials = 1;
        for p in [point(1, 100.0), busy.clone(), point(4, 300.0)] {
            d.apply(Event::Point {
                series: 0,
                point: p,
            });
        }
        let (quiet, hollow) = view_series_by_disturbance(&d.series[0], CompareView::Throughput);
        assert_eq!(quiet, [[1.0, 100.0], [4.0, 300.0]]);
        assert_eq!(hollow, [[2.0, 180.0]]);
        assert_eq!(
            disturbed_line(&busy, false),
            "2 threads: disturbed, other processes used 0.96 CPUs (1 trial measured again)"
        );
        let one_thread = crate::result::Point {
            threads: 1,
            retried_trials: 3,
            ..busy.clone()
        };
        assert_eq!(
            disturbed_line(&one_thread, false),
            "1 thread: disturbed, other processes used 0.96 CPUs (3 trials measured again)"
        );
    }

    #[test]
    fn ideal_lines_run_from_the_baseline_to_the_last_thread_count() {
        let mut d = data();
        assert!(ideal_line(d.chart(), CompareView::Speedup).is_empty());
        d.apply(Event::Point {
            series: 0,
            point: point(1, 100.0),
        });
        assert_eq!(
            ideal_line(d.chart(), CompareView::Speedup),
            [[1.0, 1.0], [4.0, 4.0]]
        );
        assert_eq!(
            ideal_line(d.chart(), CompareView::Efficiency),
            [[1.0, 1.0], [4.0, 1.0]]
        );
        assert!(ideal_line(d.chart(), CompareView::Throughput).is_empty());
    }

    /// The shipped tokio-vs-threads comparison: its async series counts tasks in flight,
    /// its queue series threads, and the words of the list and the tooltip follow.
    #[test]
    fn an_async_series_is_counted_in_tasks_in_flight_beside_threads() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let preset = crate::spec::load_comparison(&root.join("presets/compare-async-threads.toml"))
            .expect("the shipped comparison loads");
        let d = ComparisonData::new(&preset);
        assert_eq!(d.counts_in_flight, [true, false]);
        let mut busy = crate::model::fixtures::ok_point(4096, 1.0);
        busy.disturbed = true;
        busy.other_cpu_utilization = 0.5;
        let chart = d.chart();
        assert!(
            disturbed_line(&busy, chart.counts_in_flight[0])
                .starts_with("4096 tasks in flight: disturbed"),
            "{}",
            disturbed_line(&busy, true)
        );
        assert!(disturbed_line(&busy, chart.counts_in_flight[1]).starts_with("4096 threads:"));
        assert_eq!(
            crate::ui::compare::hover_text(CompareView::Throughput, ("tokio", true), 1.0, 9.0)
                .lines()
                .nth(1),
            Some("1 task in flight")
        );
    }
}
