//! The configuration side panel: the preset picker, the workload, the pool, the sweep, and
//! saving and loading preset files. Every control says in its tooltip what it means; a value
//! that [`Preset::validate`] refuses is outlined in place with the reason under it.
//!
//! The panel edits a [`ConfigDraft`] in place and turns buttons into [`ConfigAction`]s for the app; it never
//! reads or writes files and never starts the engine itself.

use eframe::egui;
use egui::{ComboBox, DragValue, Grid, Response, RichText, Stroke, StrokeKind, Ui};

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::spec::consent::PresetFile;
use crate::spec::{
    CommandLine, CommandSpec, ExecSpec, Feeding, InvalidValue, PoolSpec, Preset, PresetEntry,
    PythonCallSpec, RangeStep, SharedStrategy, StartMethod, SweepSpec, ThreadRange, WorkloadSpec,
};
use crate::ui::picker;

/// The configuration being edited. The thread list is kept as the text the user typed, so
/// that a half-typed list ("1, 2, ") is shown as it is, marked invalid, and not lost.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigDraft {
    /// The preset as edited; `sweep.threads` is replaced by `threads_text` when checked.
    pub preset: Preset,
    /// The thread counts as typed, used when the sweep has a list (not a range).
    pub threads_text: String,
    /// The file the preset was read from, with its content hash: the app asks before the
    /// first run of code from a file it did not write. None for a preset written in this app.
    pub file: Option<PresetFile>,
}

impl ConfigDraft {
    /// A draft holding `preset`, written in this app.
    pub fn new(preset: Preset) -> ConfigDraft {
        let threads_text = preset
            .sweep
            .threads
            .as_deref()
            .map(threads_to_text)
            .unwrap_or_default();
        ConfigDraft {
            preset,
            threads_text,
            file: None,
        }
    }

    /// A draft holding `preset` as read from `file`.
    pub fn from_file(preset: Preset, file: PresetFile) -> ConfigDraft {
        ConfigDraft {
            file: Some(file),
            ..ConfigDraft::new(preset)
        }
    }

    /// The folder the preset's relative paths are read against: its file's, else the
    /// current directory ([`Preset::run_folder`]).
    pub fn folder(&self) -> PathBuf {
        self.preset.run_folder()
    }

    /// Records that the preset now comes from `file` (read, or saved there): its relative
    /// paths become that file's folder's.
    pub fn set_file(&mut self, file: PresetFile) {
        self.preset.folder = file
            .path
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty())
            .map(std::path::Path::to_path_buf);
        self.file = Some(file);
    }

    /// The preset the draft describes, or the first value that is not allowed.
    pub fn checked(&self, available_memory_bytes: u64) -> Result<Preset, InvalidValue> {
        let mut preset = self.preset.clone();
        if preset.sweep.threads_range.is_none() {
            preset.sweep.threads = Some(parse_threads(&self.threads_text)?);
        }
        preset.validate(available_memory_bytes)?;
        Ok(preset)
    }
}

/// "1, 2, 4, 8" for a list of thread counts.
pub fn threads_to_text(threads: &[usize]) -> String {
    threads
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses "1, 2, 4 8" (commas or spaces) into thread counts.
pub fn parse_threads(text: &str) -> Result<Vec<usize>, InvalidValue> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<usize>().map_err(|_| InvalidValue {
                field: "sweep.threads".to_owned(),
                value: format!("{part:?}"),
                allowed: "whole numbers separated by commas, such as 1, 2, 4, 8".to_owned(),
            })
        })
        .collect()
}

/// The built-in configuration used before any preset is chosen: a short CPU-bound sweep.
pub fn default_preset() -> Preset {
    Preset {
        schema_version: crate::spec::SCHEMA_VERSION,
        name: "CPU-bound: 1 ms of computation".to_owned(),
        description: "Pure computation; throughput stops growing at the core count.".to_owned(),
        workload: WorkloadSpec::Cpu { compute_us: 1000 },
        pool: PoolSpec::Rayon,
        sweep: SweepSpec {
            threads: Some(vec![1, 2, 3, 4, 6, 8]),
            threads_range: None,
            trials: 3,
            tasks_per_trial: None,
            trial_ms: Some(500),
            warmup_ms: 200,
            retry_disturbed: 1,
        },
        folder: None,
    }
}

/// Paths typed in the save and load fields (there is no native file dialog).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PresetPaths {
    /// Where "Load" reads from.
    pub load: String,
    /// Where "Save" writes to; empty means the user presets folder.
    pub save: String,
}

/// Where Run measures: this machine, or via a prefix that runs pooltune elsewhere
/// ([`crate::remote`]). Remembered across restarts, the prefix kept while "this machine" is
/// chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RunOn {
    /// True: via `prefix`; false: this machine.
    pub via: bool,
    /// The prefix as typed (`ssh build-server`, `taskset -c 0`).
    pub prefix: String,
}

/// "Run on: this machine / via [PREFIX]", drawn beside Run.
pub fn run_on_ui(ui: &mut Ui, run_on: &mut RunOn) {
    let label = ui.label("Run on");
    ComboBox::from_id_salt("run_on")
        .selected_text(if run_on.via { "via" } else { "this machine" })
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut run_on.via, false, "this machine");
            ui.selectable_value(&mut run_on.via, true, "via");
        })
        .response
        .labelled_by(label.id)
        .on_hover_text(
            "Where Run measures. \"via\" runs `PREFIX pooltune sweep --preset - --events` \
             (the same pooltune version must be on the PATH there) and records that machine; \
             files the preset names are found there.",
        );
    if run_on.via {
        let label = ui.weak("PREFIX");
        ui.add(
            egui::TextEdit::singleline(&mut run_on.prefix)
                .hint_text("ssh build-server")
                .desired_width(160.0),
        )
        .labelled_by(label.id)
        .on_hover_text(
            "A command that runs a program elsewhere, split as sh splits it: `ssh host`, \
             `docker exec -i ctr`, `kubectl exec -i pod --`, `taskset -c 0`.",
        );
    }
}

/// What a button of the configuration panel asked for; the app applies it after the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigAction {
    /// Load a preset file into the configuration; a bad file changes nothing.
    Load(std::path::PathBuf),
    /// Save to the "Save to" field or, when it is empty, the user presets folder.
    SaveToField,
}

/// Everything the panel needs besides the draft.
pub struct ConfigContext<'a> {
    /// Presets found on disk.
    pub presets: &'a [PresetEntry],
    /// The draft's validation, computed once per frame.
    pub check: &'a Result<Preset, InvalidValue>,
    /// Where a save goes when the save field is empty, for display.
    pub default_save_path: String,
}

/// Draws the panel; buttons push [`ConfigAction`]s.
pub fn config_ui(
    ui: &mut Ui,
    draft: &mut ConfigDraft,
    paths: &mut PresetPaths,
    context: &ConfigContext<'_>,
    commands: &mut Vec<ConfigAction>,
) {
    let invalid = context.check.as_ref().err();
    preset_picker_ui(ui, draft, context.presets, commands);
    ui.separator();

    ui.heading("Workload");
    workload_ui(ui, &mut draft.preset.workload, invalid);
    fit_pool_to_workload(&draft.preset.workload, &mut draft.preset.pool);
    ui.separator();

    ui.heading("Pool");
    if matches!(draft.preset.workload, WorkloadSpec::Command(_)) {
        ui.label("None: the program runs its own threads, told how many by {threads}.")
            .on_hover_text("A program workload is its own pool: pooltune runs it once per trial and passes the thread count being measured through {threads} in its arguments or environment.");
    } else {
        pool_ui(ui, &mut draft.preset.pool, &draft.preset.workload, invalid);
    }
    ui.separator();

    ui.heading("Sweep");
    sweep_ui(ui, draft, invalid);
    ui.separator();

    ui.heading("Preset file");
    files_ui(ui, draft, paths, context, commands);
}

fn preset_picker_ui(
    ui: &mut Ui,
    draft: &mut ConfigDraft,
    presets: &[PresetEntry],
    commands: &mut Vec<ConfigAction>,
) {
    let built_in = default_preset();
    let choices = picker::choices(presets, &built_in);
    let file = draft.file.as_ref().map(|f| f.path.as_path());
    let loaded = picker::loaded_index(&choices, &draft.preset, file);
    let title = picker::title(&choices, &draft.preset, file);
    let mut load_built_in = false;
    ui.horizontal(|ui| {
        let label = ui.label("Preset").on_hover_text(
            "A ready-made experiment: your own saved ones (marked yours) first, then the built-in default and the shipped presets.",
        );
        let response = ComboBox::from_id_salt("preset_picker")
            .selected_text(title)
            .width(ui.available_width() - 8.0)
            .show_ui(ui, |ui| {
                for (index, choice) in choices.iter().enumerate() {
                    match choice.preset {
                        Ok(preset) => {
                            let clicked = preset_choice_ui(
                                ui,
                                loaded == Some(index),
                                &choice.label(),
                                &preset.description,
                                &choice.place(),
                            );
                            if clicked {
                                match picker::path_of(choice) {
                                    Some(path) => commands.push(ConfigAction::Load(path)),
                                    None => load_built_in = true,
                                }
                            }
                        }
                        Err(error) => {
                            ui.add_enabled(
                                false,
                                egui::Button::selectable(false, choice.label()),
                            )
                            .on_disabled_hover_text(error);
                        }
                    }
                }
            });
        response.response.labelled_by(label.id);
    });
    if load_built_in {
        // The built-in default is no file: the draft is replaced here, as a fresh start does.
        *draft = ConfigDraft::new(built_in);
    }
    if !draft.preset.description.is_empty() {
        ui.label(RichText::new(&draft.preset.description).weak());
    }
}

/// Outlines `response` and returns the reason when `field` is the invalid one.
fn mark_invalid(
    ui: &Ui,
    response: &Response,
    fields: &[&str],
    invalid: Option<&InvalidValue>,
) -> Option<String> {
    let invalid = invalid.filter(|i| fields.contains(&i.field.as_str()))?;
    let color = ui.visuals().error_fg_color;
    ui.painter().rect_stroke(
        response.rect.expand(2.0),
        2.0,
        Stroke::new(1.5, color),
        StrokeKind::Outside,
    );
    Some(format!(
        "{} is not allowed: {}",
        invalid.value, invalid.allowed
    ))
}

/// One grid row: a label with a tooltip, and the widget added by `add`, outlined when invalid.
fn row(
    ui: &mut Ui,
    text: &str,
    tip: &str,
    fields: &[&str],
    invalid: Option<&InvalidValue>,
    add: impl FnOnce(&mut Ui) -> Response,
) -> Response {
    let label = ui.label(text).on_hover_text(tip);
    let response = add(ui).labelled_by(label.id).on_hover_text(tip);
    let reason = mark_invalid(ui, &response, fields, invalid);
    ui.end_row();
    if let Some(reason) = reason {
        ui.label("");
        ui.label(
            RichText::new(reason)
                .color(ui.visuals().error_fg_color)
                .small(),
        );
        ui.end_row();
    }
    response
}

fn number<'a, N: egui::emath::Numeric>(
    value: &'a mut N,
    suffix: &str,
    speed: f64,
) -> DragValue<'a> {
    DragValue::new(value).speed(speed).suffix(suffix.to_owned())
}

const COMPUTE_TIP: &str = "C, the computation per task: microseconds of pure CPU work that each task does (calibrated to this machine). In the sizing formula N = N_cpu × U × (1 + W/C) this is C.";
const WAIT_TIP: &str = "W, the waiting per task: microseconds that each task spends blocked without using the CPU, as when it waits for a database or a network reply. The more a task waits compared with its computation (W/C), the more threads pay off.";
const SWITCH_TIP: &str = "The switch interval: how long one thread may keep the interpreter lock while others wait for it, before it must hand the lock over. CPython's default is 5000 µs (5 ms, sys.getswitchinterval()).";

/// A workload of another kind, keeping the computation and wait the user already set.
pub fn workload_of_kind(kind: &str, current: &WorkloadSpec) -> WorkloadSpec {
    let (compute_us, wait_us) = current.configured_compute_wait_us().unwrap_or((1000, 0));
    match kind {
        "blocking" => WorkloadSpec::Blocking {
            compute_us,
            wait_us: if wait_us == 0 { 9000 } else { wait_us },
        },
        "file_io" => WorkloadSpec::FileIo {
            bytes: 64 * 1024,
            fsync: false,
        },
        "memory" => WorkloadSpec::Memory {
            buffer_kib: 32 * 1024,
            passes: 1,
        },
        "contended" => WorkloadSpec::Contended {
            compute_us,
            serial_fraction: 0.2,
        },
        "gil" => WorkloadSpec::Gil {
            compute_us,
            wait_us,
            switch_interval_us: 5000,
        },
        "shared_state" => WorkloadSpec::SharedState {
            strategy: SharedStrategy::Mutex,
            updates_per_task: 1000,
        },
        "command" => WorkloadSpec::Command(default_command()),
        "exec" => WorkloadSpec::Exec(ExecSpec {
            run: argv(&[
                "sh",
                "-c",
                "sha256sum /etc/hostname > /dev/null; sleep 0.01",
            ]),
            shell: false,
            inputs: None,
            env: BTreeMap::new(),
            setup: None,
            cleanup: None,
            timeout_s: 60.0,
            keep_output: false,
        }),
        "python" => WorkloadSpec::Python(PythonCallSpec {
            call: "hashwork:sha256_block".to_owned(),
            path: PathBuf::from("."),
            args: vec![serde_json::json!(1_048_576)],
            interpreter: None,
        }),
        _ => WorkloadSpec::Cpu { compute_us },
    }
}

fn argv(words: &[&str]) -> CommandLine {
    CommandLine::Argv(words.iter().map(|w| (*w).to_owned()).collect())
}

/// A new program workload: xz compressing 8 MB that its setup writes, with {threads}.
fn default_command() -> CommandSpec {
    CommandSpec {
        run: argv(&["xz", "-T{threads}", "-3", "-c", "pooltune-data.bin"]),
        shell: false,
        work_per_run: 8_000_000.0,
        work_unit: "bytes".to_owned(),
        env: BTreeMap::new(),
        setup: Some(argv(&[
            "sh",
            "-c",
            "head -c 4000000 /dev/urandom > pooltune-data.bin; head -c 4000000 /dev/zero >> pooltune-data.bin",
        ])),
        prepare: None,
        cleanup: Some(argv(&["rm", "-f", "pooltune-data.bin"])),
        timeout_s: 120.0,
        warmup_runs: 1,
        keep_output: false,
    }
}

/// Where a workload comes from: the first choice of the workload panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// One of pooltune's own workloads, on a pool of pooltune's.
    BuiltIn,
    /// The user's program, which runs its own threads (`command`).
    Program,
    /// One run of the user's command per task, on a pool of pooltune's (`exec`).
    CommandPerTask,
    /// The user's Python function, on one of CPython's pools (`python`).
    PythonFunction,
}

impl Source {
    /// Every source, in the order offered.
    pub const ALL: [Source; 4] = [
        Source::BuiltIn,
        Source::Program,
        Source::CommandPerTask,
        Source::PythonFunction,
    ];

    /// The source of `workload`.
    pub fn of(workload: &WorkloadSpec) -> Source {
        match workload {
            WorkloadSpec::Command(_) => Source::Program,
            WorkloadSpec::Exec(_) => Source::CommandPerTask,
            WorkloadSpec::Python(_) => Source::PythonFunction,
            _ => Source::BuiltIn,
        }
    }

    /// Its name in the picker.
    pub fn label(self) -> &'static str {
        match self {
            Source::BuiltIn => "built-in workload",
            Source::Program => "program",
            Source::CommandPerTask => "command per task",
            Source::PythonFunction => "Python function",
        }
    }

    fn tip(self) -> &'static str {
        match self {
            Source::BuiltIn => {
                "One of pooltune's own tasks (computation, waiting, I/O, a lock, …) on one of its pools: the sizing formula's textbook cases."
            }
            Source::Program => {
                "Your program, which runs its own threads (xz -T{threads}, make -j{threads}, sort --parallel={threads}): pooltune runs it once per trial and measures its wall and CPU time."
            }
            Source::CommandPerTask => {
                "Your command, run once per task by a pool of N threads (like GNU parallel -j N): each task is one child process, whose wall and CPU time pooltune measures."
            }
            Source::PythonFunction => {
                "Your Python function (module:function), called once per task by CPython's ThreadPoolExecutor, a process pool or an interpreter pool of N workers."
            }
        }
    }

    /// The workload kind a switch to this source starts from.
    fn first_kind(self) -> &'static str {
        match self {
            Source::BuiltIn => "cpu",
            Source::Program => "command",
            Source::CommandPerTask => "exec",
            Source::PythonFunction => "python",
        }
    }
}

/// The built-in workload kinds, for the "Kind" picker.
const BUILT_IN_KINDS: [&str; 7] = WorkloadSpec::BUILT_IN_KIND_NAMES;

/// The pool kinds that can run `workload`: CPython's for a Python function, pooltune's
/// otherwise (an exec task is already a process: no process pool).
pub fn pool_kinds_for(workload: &WorkloadSpec) -> &'static [&'static str] {
    match workload {
        WorkloadSpec::Python(_) => &[
            "python_threads",
            "python_processes",
            "python_interpreters",
            "python_asyncio",
        ],
        WorkloadSpec::Exec(_) => &["rayon", "queue", "spawn"],
        _ => &["rayon", "queue", "spawn", "process"],
    }
}

/// Replaces a pool that cannot run `workload` by the first that can (a Python function
/// moves to CPython's threads, a built-in workload back to rayon).
pub fn fit_pool_to_workload(workload: &WorkloadSpec, pool: &mut PoolSpec) {
    let kinds = pool_kinds_for(workload);
    if matches!(workload, WorkloadSpec::Command(_)) || kinds.contains(&pool.kind_name()) {
        return;
    }
    *pool = pool_of_kind(kinds[0]);
}

fn workload_kind_tip(kind: &str) -> &'static str {
    match kind {
        "cpu" => "Each task only computes: no waiting at all.",
        "blocking" => {
            "Each task computes, then waits without using the CPU (a sleep standing for I/O): the model behind the sizing formula."
        }
        "file_io" => "Each task writes a file and reads it back: real disk or page-cache I/O.",
        "memory" => {
            "Each task streams over a buffer larger than the CPU cache, so memory bandwidth is the limit."
        }
        "contended" => {
            "Part of each task's computation holds one lock shared by all threads (Amdahl's serial part)."
        }
        "gil" => {
            "A simulated interpreter lock (like Python's GIL): a task computes only while it holds one global lock."
        }
        "shared_state" => {
            "Each task adds to a shared counter by one strategy (mutex, atomic, channel, per-thread)."
        }
        "command" => Source::Program.tip(),
        "exec" => Source::CommandPerTask.tip(),
        "python" => Source::PythonFunction.tip(),
        _ => "",
    }
}

/// The "Kind" row of the workload or pool grid: a box of `kinds` with `current` selected,
/// each explained by `kind_tip` when hovered. Returns the kind chosen.
fn kind_row(
    ui: &mut Ui,
    id: &str,
    tip: &str,
    (current, kinds): (&'static str, &[&'static str]),
    kind_tip: fn(&str) -> &'static str,
    invalid: Option<&InvalidValue>,
) -> &'static str {
    let mut kind = current;
    row(ui, "Kind", tip, &[], invalid, |ui| {
        ComboBox::from_id_salt(id)
            .selected_text(kind)
            .show_ui(ui, |ui| {
                for &name in kinds {
                    ui.selectable_value(&mut kind, name, name)
                        .on_hover_text(kind_tip(name));
                }
            })
            .response
    });
    kind
}

/// One entry of a preset picker: its name, with its description and where its file is
/// (`place`) on hover. True when clicked.
pub fn preset_choice_ui(
    ui: &mut Ui,
    selected: bool,
    name: &str,
    description: &str,
    place: &str,
) -> bool {
    ui.selectable_label(selected, name)
        .on_hover_text(format!("{description}\n({place})"))
        .clicked()
}

fn workload_ui(ui: &mut Ui, workload: &mut WorkloadSpec, invalid: Option<&InvalidValue>) {
    Grid::new("workload_grid")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            let source = source_row(ui, Source::of(workload), invalid);
            if source != Source::of(workload) {
                *workload = workload_of_kind(source.first_kind(), workload);
            }
            if source == Source::BuiltIn {
                let kind = kind_row(
                    ui,
                    "workload_kind",
                    "What one task does. Hover over each kind for its meaning.",
                    (workload.kind_name(), &BUILT_IN_KINDS),
                    workload_kind_tip,
                    invalid,
                );
                if kind != workload.kind_name() {
                    *workload = workload_of_kind(kind, workload);
                }
            }
            match workload {
                WorkloadSpec::Command(command) => command_fields_ui(ui, command, invalid),
                WorkloadSpec::Exec(exec) => exec_fields_ui(ui, exec, invalid),
                WorkloadSpec::Python(call) => python_fields_ui(ui, call, invalid),
                WorkloadSpec::Cpu { compute_us } => {
                    compute_row(ui, compute_us, invalid);
                }
                WorkloadSpec::Blocking {
                    compute_us,
                    wait_us,
                } => {
                    compute_row(ui, compute_us, invalid);
                    wait_row(ui, wait_us, invalid);
                }
                WorkloadSpec::FileIo { bytes, fsync } => {
                    row(
                        ui,
                        "Bytes per task",
                        "Size of the file each task writes and then reads back.",
                        &["workload.bytes"],
                        invalid,
                        |ui| ui.add(number(bytes, " B", 256.0)),
                    );
                    row(
                        ui,
                        "fsync",
                        "Force each write to reach the disk itself, not only the memory cache. Much slower, and closer to a database commit.",
                        &[],
                        invalid,
                        |ui| ui.checkbox(fsync, "sync to disk"),
                    );
                }
                WorkloadSpec::Memory { buffer_kib, passes } => {
                    row(
                        ui,
                        "Buffer per worker",
                        "Each worker's buffer, in KiB. Make it larger than the CPU cache so that memory speed, not the core, is the limit.",
                        &["workload.buffer_kib"],
                        invalid,
                        |ui| ui.add(number(buffer_kib, " KiB", 64.0)),
                    );
                    row(
                        ui,
                        "Passes",
                        "How many times each task reads and writes its whole buffer.",
                        &["workload.passes"],
                        invalid,
                        |ui| ui.add(number(passes, "", 0.1)),
                    );
                }
                WorkloadSpec::Contended {
                    compute_us,
                    serial_fraction,
                } => {
                    compute_row(ui, compute_us, invalid);
                    row(
                        ui,
                        "Serial fraction",
                        "The part of each task's computation done while holding one lock shared by all threads, from 0 to 1. With a fraction s, no number of threads goes faster than 1/s times one thread (Amdahl's law).",
                        &["workload.serial_fraction"],
                        invalid,
                        |ui| ui.add(DragValue::new(serial_fraction).speed(0.01).max_decimals(3)),
                    );
                }
                WorkloadSpec::Gil {
                    compute_us,
                    wait_us,
                    switch_interval_us,
                } => {
                    compute_row(ui, compute_us, invalid);
                    wait_row(ui, wait_us, invalid);
                    row(
                        ui,
                        "Switch interval",
                        SWITCH_TIP,
                        &["workload.switch_interval_us"],
                        invalid,
                        |ui| ui.add(number(switch_interval_us, " µs", 50.0)),
                    );
                }
                WorkloadSpec::SharedState {
                    strategy,
                    updates_per_task,
                } => {
                    row(
                        ui,
                        "Strategy",
                        "How the tasks share the counter: one mutex, one atomic, messages to one collector thread, or a slot per thread merged at the end.",
                        &[],
                        invalid,
                        |ui| {
                            ComboBox::from_id_salt("shared_strategy")
                                .selected_text(strategy.as_str())
                                .show_ui(ui, |ui| {
                                    for choice in SharedStrategy::ALL {
                                        ui.selectable_value(strategy, choice, choice.as_str());
                                    }
                                })
                                .response
                        },
                    );
                    row(
                        ui,
                        "Updates per task",
                        "How many times each task adds one to the shared counter.",
                        &["workload.updates_per_task"],
                        invalid,
                        |ui| ui.add(number(updates_per_task, "", 10.0)),
                    );
                }
                // A closure is measured by the program that defines it (pooltune::Tuner):
                // a preset cannot hold one, so there is nothing to edit.
                WorkloadSpec::Closure { .. } => {}
            }
        });
}

/// The "Source" row: built-in workload, program, command per task or Python function, each
/// explained when hovered. Returns the source chosen.
fn source_row(ui: &mut Ui, current: Source, invalid: Option<&InvalidValue>) -> Source {
    let mut source = current;
    row(
        ui,
        "Source",
        "Where the work comes from: one of pooltune's workloads, your program, your command run once per task, or your Python function. Hover over each for its meaning.",
        &[],
        invalid,
        |ui| {
            ComboBox::from_id_salt("workload_source")
                .selected_text(source.label())
                .show_ui(ui, |ui| {
                    for choice in Source::ALL {
                        ui.selectable_value(&mut source, choice, choice.label())
                            .on_hover_text(choice.tip());
                    }
                })
                .response
        },
    );
    source
}

/// A text field that edits `value` through its text: the text typed is kept (in egui's
/// memory, under `id`) while it reads back as `value`, or while it does not read at all (a
/// half-typed line, marked in red with `parse`'s reason); a `value` changed elsewhere
/// replaces it.
fn parsed_text_ui<T: PartialEq>(
    ui: &mut Ui,
    id: &str,
    value: &mut T,
    (to_text, parse): (impl Fn(&T) -> String, impl Fn(&str) -> Result<T, String>),
    (hint, rows): (&str, usize),
) -> Response {
    // `rows`: 0 for one line that Enter leaves, else a box of that many rows that grows.
    let id = egui::Id::unique(("config_text", id));
    let remembered: Option<(String, String)> = ui.data(|d| d.get_temp(id));
    let mut text = match remembered {
        Some((text, shown)) if shown == to_text(value) => text,
        _ => to_text(value),
    };
    // Several rows wrap a long command line instead of hiding its end.
    let edit = if rows > 0 {
        egui::TextEdit::multiline(&mut text).desired_rows(rows)
    } else {
        egui::TextEdit::singleline(&mut text)
    };
    let response = ui.add(edit.hint_text(hint).desired_width(220.0).code_editor());
    let reason = match parse(&text) {
        Ok(parsed) => {
            if parsed != *value {
                *value = parsed;
            }
            None
        }
        Err(why) => Some(why),
    };
    ui.data_mut(|d| d.insert_temp(id, (text, to_text(value))));
    if let Some(why) = reason {
        let color = ui.visuals().error_fg_color;
        ui.painter().rect_stroke(
            response.rect.expand(2.0),
            2.0,
            Stroke::new(1.5, color),
            StrokeKind::Outside,
        );
        response.on_hover_text(RichText::new(why).color(color))
    } else {
        response
    }
}

/// Splits a command line into words as a shell would, without running one: spaces separate
/// words, '…' and "…" quote (a backslash escapes in "…" and outside quotes). Nothing is
/// expanded: `{threads}` stays as typed.
pub fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a ' that is not closed".to_owned()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => word.push(c),
                            None => return Err("a \" that is not closed".to_owned()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a \" that is not closed".to_owned()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err("a \\ at the end of the line".to_owned()),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// A command line as typed: the words of an argv, or a shell line as it is.
fn line_text(line: &CommandLine) -> String {
    line.display()
}

/// An argv or, with `shell`, a shell line, from the text typed.
fn parse_line(text: &str, shell: bool) -> Result<CommandLine, String> {
    if shell {
        Ok(CommandLine::Shell(text.to_owned()))
    } else {
        split_words(text).map(CommandLine::Argv)
    }
}

/// An optional command (setup, prepare, cleanup): empty text is none.
fn optional_line_ui(
    ui: &mut Ui,
    (label, field): (&str, &str),
    tip: &str,
    line: &mut Option<CommandLine>,
    invalid: Option<&InvalidValue>,
) {
    row(ui, label, tip, &[field], invalid, |ui| {
        parsed_text_ui(
            ui,
            field,
            line,
            (
                |line: &Option<CommandLine>| line.as_ref().map(line_text).unwrap_or_default(),
                |text: &str| {
                    if text.trim().is_empty() {
                        Ok(None)
                    } else {
                        split_words(text).map(|words| Some(CommandLine::Argv(words)))
                    }
                },
            ),
            ("none", 1),
        )
    });
}

/// The run line and its shell switch, shared by a program and a command per task.
fn run_line_ui(
    ui: &mut Ui,
    tip: &str,
    (run, shell): (&mut CommandLine, &mut bool),
    invalid: Option<&InvalidValue>,
) {
    let is_shell = *shell;
    row(ui, "Command line", tip, &["workload.run"], invalid, |ui| {
        parsed_text_ui(
            ui,
            if is_shell { "run_shell" } else { "run_argv" },
            run,
            (line_text, |text: &str| parse_line(text, is_shell)),
            ("xz -T{threads} -3 -c data.txt", 1),
        )
    });
    let mut want_shell = *shell;
    row(
        ui,
        "Shell",
        "Off: the line is split into words and run directly (no shell, no globbing, quotes as in a shell). On: the whole line is run by sh -c, with pipes, redirections and globs.",
        &["workload.shell"],
        invalid,
        |ui| ui.checkbox(&mut want_shell, "run by sh -c"),
    );
    if want_shell != *shell {
        *shell = want_shell;
        *run = match (&*run, want_shell) {
            (CommandLine::Argv(_), true) => CommandLine::Shell(run.display()),
            (CommandLine::Shell(text), false) => {
                CommandLine::Argv(split_words(text).unwrap_or_else(|_| vec![text.clone()]))
            }
            (line, _) => line.clone(),
        };
    }
}

/// `KEY=VALUE` lines: the environment of every run.
fn env_ui(ui: &mut Ui, env: &mut BTreeMap<String, String>, invalid: Option<&InvalidValue>) {
    row(
        ui,
        "Environment",
        "Variables set for every run, one KEY=VALUE a line; {threads} works in values (OMP_NUM_THREADS={threads}).",
        &["workload.env"],
        invalid,
        |ui| {
            parsed_text_ui(
                ui,
                "env",
                env,
                (
                    |env: &BTreeMap<String, String>| {
                        env.iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    },
                    |text: &str| {
                        text.lines()
                            .filter(|line| !line.trim().is_empty())
                            .map(|line| match line.split_once('=') {
                                Some((key, value)) if !key.trim().is_empty() => {
                                    Ok((key.trim().to_owned(), value.to_owned()))
                                }
                                _ => Err(format!("{line:?} is not KEY=VALUE")),
                            })
                            .collect()
                    },
                ),
                ("OMP_NUM_THREADS={threads}", 1),
            )
        },
    );
}

fn timeout_row(ui: &mut Ui, timeout_s: &mut f64, what: &str, invalid: Option<&InvalidValue>) {
    row(
        ui,
        "Timeout",
        &format!(
            "A {what} longer than this is killed (with everything it started) and fails its point."
        ),
        &["workload.timeout_s"],
        invalid,
        |ui| ui.add(number(timeout_s, " s", 1.0).range(0.001..=86_400.0)),
    );
}

fn keep_output_row(ui: &mut Ui, keep_output: &mut bool, invalid: Option<&InvalidValue>) {
    row(
        ui,
        "Output",
        "Off: standard output goes to /dev/null. On: it is shown on pooltune's standard error. Standard error's last lines are always kept for the error message.",
        &[],
        invalid,
        |ui| ui.checkbox(keep_output, "keep standard output"),
    );
}

/// The fields of a program that runs its own threads (`kind = "command"`).
fn command_fields_ui(ui: &mut Ui, command: &mut CommandSpec, invalid: Option<&InvalidValue>) {
    let CommandSpec {
        run,
        shell,
        work_per_run,
        work_unit,
        env,
        setup,
        prepare,
        cleanup,
        timeout_s,
        warmup_runs,
        keep_output,
    } = command;
    run_line_ui(
        ui,
        "The program and its arguments, run once per trial; {threads} is replaced by the thread count being measured (xz -T{threads}, make -j{threads}). Relative paths are the preset file's folder's. A program that is not found is marked here before Run.",
        (run, shell),
        invalid,
    );
    row(
        ui,
        "Work per run",
        "What one run accomplishes, in the unit below (the input's size in bytes, say): throughput is this over the run's wall time.",
        &["workload.work_per_run"],
        invalid,
        |ui| ui.add(number(work_per_run, "", 1000.0).range(0.0..=f64::MAX)),
    );
    row(
        ui,
        "Work unit",
        "The unit of the work per run, shown in the table and on the axes (bytes, files, runs).",
        &["workload.work_unit"],
        invalid,
        |ui| ui.add(egui::TextEdit::singleline(work_unit).desired_width(200.0)),
    );
    env_ui(ui, env, invalid);
    optional_line_ui(
        ui,
        ("Setup", "workload.setup"),
        "Run once before the sweep, untimed (to generate the input data, say). Empty: none.",
        setup,
        invalid,
    );
    optional_line_ui(
        ui,
        ("Prepare", "workload.prepare"),
        "Run before each run, untimed (to remove the last run's output, say). Empty: none.",
        prepare,
        invalid,
    );
    optional_line_ui(
        ui,
        ("Cleanup", "workload.cleanup"),
        "Run once at the end, also after Stop or an error (to remove the input data, say). Empty: none.",
        cleanup,
        invalid,
    );
    timeout_row(ui, timeout_s, "run", invalid);
    row(
        ui,
        "Warm-up runs",
        "Untimed runs before each thread count's trials (caches, page cache, CPU frequency).",
        &["workload.warmup_runs"],
        invalid,
        |ui| ui.add(number(warmup_runs, "", 0.1).range(0..=100)),
    );
    keep_output_row(ui, keep_output, invalid);
}

/// The fields of a command run once per task (`kind = "exec"`).
fn exec_fields_ui(ui: &mut Ui, exec: &mut ExecSpec, invalid: Option<&InvalidValue>) {
    // `setup` and `cleanup` are edited in the file (they are kept as written).
    let ExecSpec {
        run,
        shell,
        inputs,
        env,
        setup: _,
        cleanup: _,
        timeout_s,
        keep_output,
    } = exec;
    run_line_ui(
        ui,
        "The command each task runs, as one child process; {input} is the task's input file, {task} its number, {worker} the worker running it. A program that is not found is marked here before Run.",
        (run, shell),
        invalid,
    );
    row(
        ui,
        "Inputs",
        "A glob relative to the preset file's folder (corpus/*.txt): task i gets match i mod count as {input}. Empty: none.",
        &["workload.inputs"],
        invalid,
        |ui| {
            parsed_text_ui(
                ui,
                "inputs",
                inputs,
                (
                    |inputs: &Option<String>| inputs.clone().unwrap_or_default(),
                    |text: &str| Ok((!text.trim().is_empty()).then(|| text.to_owned())),
                ),
                ("corpus/*.txt", 0),
            )
        },
    );
    env_ui(ui, env, invalid);
    timeout_row(ui, timeout_s, "task", invalid);
    keep_output_row(ui, keep_output, invalid);
}

/// The fields of a Python function (`kind = "python"`).
fn python_fields_ui(ui: &mut Ui, call: &mut PythonCallSpec, invalid: Option<&InvalidValue>) {
    let PythonCallSpec {
        call,
        path,
        args,
        interpreter,
    } = call;
    row(
        ui,
        "Function",
        "module:function, such as hashwork:sha256_block: the module is imported from the folder below and the function called once per task.",
        &["workload.call"],
        invalid,
        |ui| {
            ui.add(
                egui::TextEdit::singleline(call)
                    .hint_text("module:function")
                    .desired_width(200.0)
                    .code_editor(),
            )
        },
    );
    row(
        ui,
        "Module folder",
        "The folder put first on sys.path, relative to the preset file's folder (. is that folder).",
        &["workload.path"],
        invalid,
        |ui| {
            parsed_text_ui(
                ui,
                "python_path",
                path,
                (
                    |path: &PathBuf| path.display().to_string(),
                    |text: &str| Ok(PathBuf::from(text)),
                ),
                (".", 0),
            )
        },
    );
    row(
        ui,
        "Arguments",
        "The values passed to the function, positionally, as a JSON array: [4194304] or [\"a\", 2].",
        &["workload.args"],
        invalid,
        |ui| {
            parsed_text_ui(
                ui,
                "python_args",
                args,
                (
                    |args: &Vec<serde_json::Value>| {
                        serde_json::to_string(args).unwrap_or_else(|_| "[]".to_owned())
                    },
                    |text: &str| {
                        if text.trim().is_empty() {
                            return Ok(Vec::new());
                        }
                        serde_json::from_str(text).map_err(|err| format!("not a JSON array: {err}"))
                    },
                ),
                ("[]", 0),
            )
        },
    );
    row(
        ui,
        "Interpreter",
        "The Python to run (a path, or a name on PATH); empty: python3. Free-threaded and 3.14+ builds are detected. One that is not found is marked here before Run.",
        &["workload.interpreter"],
        invalid,
        |ui| {
            parsed_text_ui(
                ui,
                "python_interpreter",
                interpreter,
                (
                    |interpreter: &Option<PathBuf>| {
                        interpreter
                            .as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    },
                    |text: &str| Ok((!text.trim().is_empty()).then(|| PathBuf::from(text))),
                ),
                ("python3", 0),
            )
        },
    );
}

fn compute_row(ui: &mut Ui, compute_us: &mut u64, invalid: Option<&InvalidValue>) {
    row(
        ui,
        "Compute (C)",
        COMPUTE_TIP,
        &["workload.compute_us"],
        invalid,
        |ui| ui.add(number(compute_us, " µs", 10.0)),
    );
}

fn wait_row(ui: &mut Ui, wait_us: &mut u64, invalid: Option<&InvalidValue>) {
    row(
        ui,
        "Wait (W)",
        WAIT_TIP,
        &["workload.wait_us"],
        invalid,
        |ui| ui.add(number(wait_us, " µs", 10.0)),
    );
}

/// A pool of another kind with its default settings.
pub fn pool_of_kind(kind: &str) -> PoolSpec {
    match kind {
        "queue" => PoolSpec::Queue {
            queue_capacity: 64,
            chunk_size: 1,
        },
        "spawn" => PoolSpec::Spawn,
        "async" => PoolSpec::Async {
            worker_threads: None,
        },
        "process" => PoolSpec::Process {
            chunk_size: 1,
            feeding: Feeding::Lazy,
        },
        "python_threads" => PoolSpec::PythonThreads,
        "python_processes" => PoolSpec::PythonProcesses {
            start_method: StartMethod::default(),
            chunk_size: 1,
        },
        "python_interpreters" => PoolSpec::PythonInterpreters,
        "python_asyncio" => PoolSpec::PythonAsyncio,
        _ => PoolSpec::Rayon,
    }
}

fn pool_kind_tip(kind: &str) -> &'static str {
    match kind {
        "rayon" => "A rayon thread pool with N threads that steal work from each other.",
        "queue" => {
            "N workers taking tasks from one shared queue, like Python's ThreadPoolExecutor."
        }
        "spawn" => {
            "A new OS thread for every task, at most N at once: shows what creating threads costs."
        }
        "process" => "N worker processes fed over pipes, like Python's multiprocessing.Pool.",
        "python_threads" => {
            "CPython's ThreadPoolExecutor(max_workers=N): threads share one interpreter, so under the GIL only calls that release it (hashing, I/O, sleeping) run at once."
        }
        "python_processes" => {
            "CPython's process pool of N workers: one interpreter each, so pure-Python code scales with the cores; the function and its arguments must pickle."
        }
        "python_interpreters" => {
            "CPython's InterpreterPoolExecutor(N) (3.14 and later): N interpreters in one process, each with its own GIL."
        }
        "python_asyncio" => {
            "An async def function awaited on one asyncio event loop, at most N calls in flight (an asyncio.Semaphore(N)): N is a concurrency on one thread, so awaited waits overlap and computation does not."
        }
        _ => "",
    }
}

fn pool_ui(
    ui: &mut Ui,
    pool: &mut PoolSpec,
    workload: &WorkloadSpec,
    invalid: Option<&InvalidValue>,
) {
    Grid::new("pool_grid")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            let kind = kind_row(
                ui,
                "pool_kind",
                "Which kind of pool runs the tasks; N is the thread count being measured.",
                (pool.kind_name(), pool_kinds_for(workload)),
                pool_kind_tip,
                invalid,
            );
            if kind != pool.kind_name() {
                *pool = pool_of_kind(kind);
            }
            const CHUNK_TIP: &str = "Tasks handed to a worker in one message; 1 sends tasks one by one. Bigger chunks cost less per task but balance the load less well.";
            match pool {
                PoolSpec::Rayon
                | PoolSpec::Spawn
                | PoolSpec::Async { .. }
                | PoolSpec::PythonThreads
                | PoolSpec::PythonInterpreters
                | PoolSpec::PythonAsyncio => {}
                PoolSpec::PythonProcesses {
                    start_method,
                    chunk_size,
                } => {
                    row(
                        ui,
                        "Start method",
                        "How CPython starts the worker processes: fork copies pooltune's Python parent (fastest), spawn starts a fresh interpreter each (slowest, nothing inherited), forkserver forks them from a clean server process (CPython 3.14's default on Linux).",
                        &["pool.start_method"],
                        invalid,
                        |ui| {
                            ComboBox::from_id_salt("start_method")
                                .selected_text(start_method.as_str())
                                .show_ui(ui, |ui| {
                                    for method in
                                        [StartMethod::Fork, StartMethod::Spawn, StartMethod::Forkserver]
                                    {
                                        ui.selectable_value(start_method, method, method.as_str());
                                    }
                                })
                                .response
                        },
                    );
                    row(
                        ui,
                        "Chunk size",
                        "Calls handed to a worker process in one message (chunksize of Pool.map); 1 sends calls one by one.",
                        &["pool.chunk_size"],
                        invalid,
                        |ui| ui.add(number(chunk_size, "", 1.0)),
                    );
                }
                PoolSpec::Queue {
                    queue_capacity,
                    chunk_size,
                } => {
                    row(
                        ui,
                        "Queue capacity",
                        "How many messages may wait in the queue before the producer has to wait.",
                        &["pool.queue_capacity"],
                        invalid,
                        |ui| ui.add(number(queue_capacity, "", 1.0)),
                    );
                    row(
                        ui,
                        "Chunk size",
                        CHUNK_TIP,
                        &["pool.chunk_size"],
                        invalid,
                        |ui| ui.add(number(chunk_size, "", 1.0)),
                    );
                }
                PoolSpec::Process {
                    chunk_size,
                    feeding,
                } => {
                    row(
                        ui,
                        "Chunk size",
                        CHUNK_TIP,
                        &["pool.chunk_size"],
                        invalid,
                        |ui| ui.add(number(chunk_size, "", 1.0)),
                    );
                    row(
                        ui,
                        "Feeding",
                        "lazy makes tasks as workers ask for them (like imap); eager describes every task before sending the first (like map over a list).",
                        &[],
                        invalid,
                        |ui| {
                            ComboBox::from_id_salt("feeding")
                                .selected_text(match feeding {
                                    Feeding::Lazy => "lazy",
                                    Feeding::Eager => "eager",
                                })
                                .show_ui(ui, |ui| {
                                    ui.selectable_value(feeding, Feeding::Lazy, "lazy");
                                    ui.selectable_value(feeding, Feeding::Eager, "eager");
                                })
                                .response
                        },
                    );
                }
            }
        });
}

fn sweep_ui(ui: &mut Ui, draft: &mut ConfigDraft, invalid: Option<&InvalidValue>) {
    let ConfigDraft {
        preset,
        threads_text,
        ..
    } = draft;
    // A program's trial is one run of it: no trial length, and its warm-up is in runs.
    let runs_a_program = matches!(preset.workload, WorkloadSpec::Command(_));
    let sweep = &mut preset.sweep;
    Grid::new("sweep_grid")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            let mut use_range = sweep.threads_range.is_some();
            row(
                ui,
                "Thread counts",
                "Which numbers of threads to measure: a list typed by hand, or a range.",
                &[],
                invalid,
                |ui| {
                    ui.horizontal(|ui| {
                        ui.radio_value(&mut use_range, false, "list");
                        ui.radio_value(&mut use_range, true, "range");
                    })
                    .response
                },
            );
            if use_range != sweep.threads_range.is_some() {
                switch_thread_mode(sweep, threads_text, use_range);
            }
            if let Some(range) = &mut sweep.threads_range {
                thread_range_ui(ui, range, invalid);
            } else {
                row(
                    ui,
                    "Threads",
                    "The thread counts to measure, in order, separated by commas: for example 1, 2, 4, 8, 16.",
                    &["sweep.threads"],
                    invalid,
                    |ui| ui.add(egui::TextEdit::singleline(threads_text).desired_width(200.0)),
                );
            }
            row(
                ui,
                "Trials",
                "Measured repetitions at each thread count. Three or more give a 95% confidence interval: the whiskers on the plot.",
                &["sweep.trials"],
                invalid,
                |ui| ui.add(number(&mut sweep.trials, "", 0.1)),
            );
            if runs_a_program {
                row(
                    ui,
                    "Trial",
                    "One trial is one run of the program, so there is no trial length to set; the untimed runs before each thread count are the workload's \"Warm-up runs\".",
                    &[],
                    invalid,
                    |ui| ui.label("one run of the program"),
                );
            } else {
                let mut by_time = sweep.tasks_per_trial.is_none();
                row(
                    ui,
                    "Trial length",
                    "A trial either runs a fixed number of tasks, or as many tasks as fit in a fixed time.",
                    &[],
                    invalid,
                    |ui| {
                        ui.horizontal(|ui| {
                            ui.radio_value(&mut by_time, true, "time");
                            ui.radio_value(&mut by_time, false, "tasks");
                        })
                        .response
                    },
                );
                if by_time && sweep.tasks_per_trial.is_some() {
                    sweep.tasks_per_trial = None;
                    sweep.trial_ms = Some(sweep.trial_ms.unwrap_or(500));
                } else if !by_time && sweep.tasks_per_trial.is_none() {
                    sweep.trial_ms = None;
                    sweep.tasks_per_trial = Some(1000);
                }
                if let Some(ms) = &mut sweep.trial_ms {
                    row(
                        ui,
                        "Trial time",
                        "How long each measured trial runs, in milliseconds.",
                        &["sweep.trial_ms"],
                        invalid,
                        |ui| ui.add(number(ms, " ms", 10.0)),
                    );
                }
                if let Some(tasks) = &mut sweep.tasks_per_trial {
                    row(
                        ui,
                        "Tasks per trial",
                        "How many tasks each measured trial runs.",
                        &["sweep.tasks_per_trial"],
                        invalid,
                        |ui| ui.add(number(tasks, "", 10.0)),
                    );
                }
                row(
                    ui,
                    "Warm-up",
                    "An unmeasured run before the trials at each thread count, so that starting threads and filling caches do not count.",
                    &["sweep.warmup_ms"],
                    invalid,
                    |ui| ui.add(number(&mut sweep.warmup_ms, " ms", 10.0)),
                );
            }
        });
    // Errors about the sweep as a whole have no single widget to outline.
    if let Some(invalid) =
        invalid.filter(|i| matches!(i.field.as_str(), "sweep.threads_range" | "schema_version"))
    {
        ui.label(
            RichText::new(invalid.to_string())
                .color(ui.visuals().error_fg_color)
                .small(),
        );
    }
}

fn switch_thread_mode(sweep: &mut SweepSpec, threads_text: &mut String, use_range: bool) {
    if use_range {
        let list = parse_threads(threads_text).unwrap_or_default();
        let from = list.iter().copied().min().unwrap_or(1).max(1);
        let to = list.iter().copied().max().unwrap_or(8).max(from);
        sweep.threads = None;
        sweep.threads_range = Some(ThreadRange {
            from,
            to,
            step: RangeStep::Geometric,
            by: None,
        });
    } else {
        let counts = sweep.thread_counts();
        *threads_text = threads_to_text(&counts);
        sweep.threads_range = None;
        sweep.threads = Some(counts);
    }
}

fn thread_range_ui(ui: &mut Ui, range: &mut ThreadRange, invalid: Option<&InvalidValue>) {
    row(
        ui,
        "From",
        "The first thread count.",
        &["sweep.threads_range.from"],
        invalid,
        |ui| ui.add(number(&mut range.from, "", 0.1)),
    );
    row(
        ui,
        "To",
        "The last thread count; always measured, even when the step would jump over it.",
        &["sweep.threads_range.to"],
        invalid,
        |ui| ui.add(number(&mut range.to, "", 0.2)),
    );
    row(
        ui,
        "Step",
        "linear adds the step each time (1, 3, 5, …); geometric multiplies by it (1, 2, 4, 8, …).",
        &[],
        invalid,
        |ui| {
            ui.horizontal(|ui| {
                ui.radio_value(&mut range.step, RangeStep::Linear, "linear");
                ui.radio_value(&mut range.step, RangeStep::Geometric, "geometric");
            })
            .response
        },
    );
    let default_by = match range.step {
        RangeStep::Linear => 1,
        RangeStep::Geometric => 2,
    };
    let mut by = range.by.unwrap_or(default_by);
    row(
        ui,
        "By",
        "The increment (linear) or the factor (geometric).",
        &["sweep.threads_range.by"],
        invalid,
        |ui| ui.add(number(&mut by, "", 0.1)),
    );
    range.by = Some(by);
}

fn files_ui(
    ui: &mut Ui,
    draft: &mut ConfigDraft,
    paths: &mut PresetPaths,
    context: &ConfigContext<'_>,
    commands: &mut Vec<ConfigAction>,
) {
    let invalid = context.check.as_ref().err();
    Grid::new("files_grid")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            row(
                ui,
                "Name",
                "The preset's name, shown in the picker and on the plots.",
                &["name"],
                invalid,
                |ui| ui.add(egui::TextEdit::singleline(&mut draft.preset.name).desired_width(200.0)),
            );
            row(
                ui,
                "Description",
                "One or two sentences: what this experiment shows.",
                &[],
                invalid,
                |ui| {
                    ui.add(
                        egui::TextEdit::multiline(&mut draft.preset.description)
                            .desired_rows(2)
                            .desired_width(200.0),
                    )
                },
            );
            row(
                ui,
                "Save to",
                "The file the preset is written to (atomically: a failed save leaves the old file as it was). Empty: your presets folder.",
                &[],
                invalid,
                |ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut paths.save)
                            .hint_text(context.default_save_path.as_str())
                            .desired_width(200.0),
                    )
                },
            );
            ui.label("");
            let can_save = context.check.is_ok();
            let save = ui
                .add_enabled(can_save, egui::Button::new("Save preset"))
                .on_hover_text("Save this configuration as a preset (Ctrl+S).")
                .on_disabled_hover_text("Fix the value outlined in red first.");
            if save.clicked() {
                // The app resolves an empty field to the presets folder, as Ctrl+S does.
                commands.push(ConfigAction::SaveToField);
            }
            ui.end_row();
            row(
                ui,
                "Load from",
                "A preset file to load (Ctrl+O). A file with a mistake is refused with the reason, and nothing changes.",
                &[],
                invalid,
                |ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut paths.load)
                            .hint_text("path/to/preset.toml")
                            .desired_width(200.0),
                    )
                },
            );
            ui.label("");
            let path = paths.load.trim();
            if ui
                .add_enabled(!path.is_empty(), egui::Button::new("Load preset"))
                .on_hover_text("Load the preset file named above (Ctrl+O).")
                .on_disabled_hover_text("Type the path of a preset file first.")
                .clicked()
            {
                commands.push(ConfigAction::Load(path.into()));
            }
            ui.end_row();
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_lists_parse_with_commas_or_spaces() {
        assert_eq!(parse_threads("1, 2,4  8").unwrap(), vec![1, 2, 4, 8]);
        let err = parse_threads("1, two").unwrap_err();
        assert_eq!(err.field, "sweep.threads");
        assert!(err.value.contains("two"));
    }

    #[test]
    fn a_half_typed_list_is_invalid_but_kept() {
        let mut draft = ConfigDraft::new(default_preset());
        draft.threads_text = "1, 2, x".into();
        let err = draft.checked(u64::MAX).unwrap_err();
        assert_eq!(err.field, "sweep.threads");
        assert_eq!(draft.threads_text, "1, 2, x");
        draft.threads_text = "1, 2".into();
        assert_eq!(
            draft.checked(u64::MAX).unwrap().sweep.threads,
            Some(vec![1, 2])
        );
    }

    #[test]
    fn switching_kind_keeps_compute_and_wait() {
        let blocking = WorkloadSpec::Blocking {
            compute_us: 700,
            wait_us: 3000,
        };
        assert_eq!(
            workload_of_kind("gil", &blocking),
            WorkloadSpec::Gil {
                compute_us: 700,
                wait_us: 3000,
                switch_interval_us: 5000
            }
        );
        for kind in WorkloadSpec::KIND_NAMES {
            assert_eq!(workload_of_kind(kind, &blocking).kind_name(), kind);
        }
        for kind in PoolSpec::KIND_NAMES {
            assert_eq!(pool_of_kind(kind).kind_name(), kind);
        }
    }

    #[test]
    fn a_command_line_splits_as_a_shell_would_and_reads_back() {
        assert_eq!(
            split_words(r#"xz -T{threads}  'a b' "c \"d\"" e\ f"#).unwrap(),
            ["xz", "-T{threads}", "a b", "c \"d\"", "e f"]
        );
        assert_eq!(split_words("").unwrap(), Vec::<String>::new());
        assert!(split_words("sh -c 'echo").is_err());
        assert_eq!(split_words(r"a\\").unwrap(), [r"a\"]);
        // What the field shows for an argv splits back into the same words.
        for words in [
            vec!["sh", "-c", "echo it's {threads} > out"],
            vec!["", "x y", "plain"],
        ] {
            let line = CommandLine::Argv(words.iter().map(|w| (*w).to_owned()).collect());
            assert_eq!(
                parse_line(&line_text(&line), false).unwrap(),
                line,
                "{line}"
            );
        }
    }

    #[test]
    fn every_source_starts_from_a_valid_workload_on_a_pool_that_fits() {
        for source in Source::ALL {
            let workload =
                workload_of_kind(source.first_kind(), &WorkloadSpec::Cpu { compute_us: 1 });
            assert_eq!(Source::of(&workload), source);
            assert_eq!(workload.validate(1, u64::MAX), Ok(()), "{source:?}");
            let mut pool = PoolSpec::Process {
                chunk_size: 1,
                feeding: Feeding::Lazy,
            };
            fit_pool_to_workload(&workload, &mut pool);
            match source {
                Source::PythonFunction => assert_eq!(pool, PoolSpec::PythonThreads),
                Source::CommandPerTask => assert_eq!(pool, PoolSpec::Rayon),
                Source::BuiltIn | Source::Program => assert_eq!(pool.kind_name(), "process"),
            }
        }
    }

    #[test]
    fn the_default_preset_is_valid() {
        assert!(ConfigDraft::new(default_preset()).checked(u64::MAX).is_ok());
    }
}
