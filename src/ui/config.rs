//! The configuration side panel: the preset picker, the workload, the pool, the sweep, and
//! saving and loading preset files. Every control says in its tooltip what it means; a value
//! that [`Preset::validate`] refuses is outlined in place with the reason under it.
//!
//! The panel edits a [`ConfigDraft`] in place and turns buttons into [`ConfigAction`]s for the app; it never
//! reads or writes files and never starts the engine itself.

use eframe::egui;
use egui::{ComboBox, DragValue, Grid, Response, RichText, Stroke, StrokeKind, Ui};

use crate::spec::{
    Feeding, InvalidValue, PoolSpec, Preset, PresetEntry, RangeStep, SharedStrategy, SweepSpec,
    ThreadRange, WorkloadSpec,
};

/// The configuration being edited. The thread list is kept as the text the user typed, so
/// that a half-typed list ("1, 2, ") is shown as it is, marked invalid, and not lost.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigDraft {
    /// The preset as edited; `sweep.threads` is replaced by `threads_text` when checked.
    pub preset: Preset,
    /// The thread counts as typed, used when the sweep has a list (not a range).
    pub threads_text: String,
}

impl ConfigDraft {
    /// A draft holding `preset`.
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
        }
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
    ui.separator();

    ui.heading("Pool");
    pool_ui(ui, &mut draft.preset.pool, invalid);
    ui.separator();

    ui.heading("Sweep");
    sweep_ui(ui, draft, invalid);
    ui.separator();

    ui.heading("Preset file");
    files_ui(ui, draft, paths, context, commands);
}

fn preset_picker_ui(
    ui: &mut Ui,
    draft: &ConfigDraft,
    presets: &[PresetEntry],
    commands: &mut Vec<ConfigAction>,
) {
    ui.horizontal(|ui| {
        let label = ui
            .label("Preset")
            .on_hover_text("A ready-made experiment: the shipped presets and your own saved ones.");
        let response = ComboBox::from_id_salt("preset_picker")
            .selected_text(draft.preset.name.as_str())
            .width(ui.available_width() - 8.0)
            .show_ui(ui, |ui| {
                for entry in presets {
                    let origin = if entry.shipped { "shipped" } else { "yours" };
                    match &entry.loaded {
                        Ok(preset) => {
                            let selected = preset.name == draft.preset.name;
                            let place = format!("{origin}: {}", entry.path.display());
                            if preset_choice_ui(
                                ui,
                                selected,
                                &preset.name,
                                &preset.description,
                                &place,
                            ) {
                                commands.push(ConfigAction::Load(entry.path.clone()));
                            }
                        }
                        Err(error) => {
                            let name = entry
                                .path
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default();
                            ui.add_enabled(
                                false,
                                egui::Button::selectable(false, format!("{name} (unreadable)")),
                            )
                            .on_disabled_hover_text(error.as_str());
                        }
                    }
                }
            });
        response.response.labelled_by(label.id);
    });
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
        _ => WorkloadSpec::Cpu { compute_us },
    }
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
            let kind = kind_row(
                ui,
                "workload_kind",
                "What one task does. Hover over each kind for its meaning.",
                (workload.kind_name(), &WorkloadSpec::KIND_NAMES),
                workload_kind_tip,
                invalid,
            );
            if kind != workload.kind_name() {
                *workload = workload_of_kind(kind, workload);
            }
            match workload {
                // The fields of the user's own workloads: issue 12, §5.
                WorkloadSpec::Command(_) | WorkloadSpec::Exec(_) | WorkloadSpec::Python(_) => {}
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
        "process" => PoolSpec::Process {
            chunk_size: 1,
            feeding: Feeding::Lazy,
        },
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
        _ => "",
    }
}

fn pool_ui(ui: &mut Ui, pool: &mut PoolSpec, invalid: Option<&InvalidValue>) {
    Grid::new("pool_grid")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            let kind = kind_row(
                ui,
                "pool_kind",
                "Which kind of pool runs the tasks; N is the thread count being measured.",
                (pool.kind_name(), &PoolSpec::KIND_NAMES),
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
                | PoolSpec::PythonThreads
                | PoolSpec::PythonInterpreters => {}
                // The fields of the user's own workloads and CPython's pools: issue 12, §5.
                PoolSpec::PythonProcesses { .. } => {}
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
    } = draft;
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
    fn the_default_preset_is_valid() {
        assert!(ConfigDraft::new(default_preset()).checked(u64::MAX).is_ok());
    }
}
