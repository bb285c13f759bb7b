//! The "Worker cost" tab: how much memory and start time one more thread costs here, and one
//! more process, for Rust and (when a `python3` is there) for CPython. The inputs (thread and
//! process counts, stack size, Python), a plot of memory per worker against N, a plot of start
//! latency against N, both on log scales, and a table of the [`WorkerCost`] figures as they
//! arrive.
//!
//! Widgets only: nothing is measured, started or written here. The app's Worker cost tab
//! (`app::tabs::cost`) holds the run and its figures and draws these: [`inputs_ui`] edits a
//! [`CostDraft`] in place, [`figures_ui`] draws what was measured.

use std::path::{Path, PathBuf};

use eframe::egui;
use egui::{Color32, RichText, TextEdit, Ui};
use egui_plot::{GridInput, GridMark, HoverPosition, Line, LineStyle, MarkerShape, Plot, Points};

use crate::cost::{CostSpec, PythonChoice, WorkerCost, WorkerKind, limits};
use crate::spec::InvalidValue;
use crate::ui::legend::{self, LegendEntry, LineKind, Marker};
use crate::ui::{HeadedTable, format};

/// Which Python the run measures besides Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum PythonMode {
    /// Rust only.
    Off,
    /// `python3` from the PATH; when there is none the result says so.
    #[default]
    Auto,
    /// The interpreter typed in the path field.
    Path,
}

/// The tab's inputs as typed; [`CostDraft::checked`] turns them into a [`CostSpec`]. The app
/// remembers them across restarts (all but `exe`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CostDraft {
    /// Thread counts N, "1, 10, 100".
    pub threads_text: String,
    /// Process counts N, "1, 10".
    pub processes_text: String,
    /// Idle task counts N (tokio tasks; Python's coroutines), "1000, 10000, 100000".
    pub tasks_text: String,
    /// Round trips of each switch-cost ping-pong; "0" for none.
    pub round_trips_text: String,
    /// Stack size of each Rust thread in KiB; empty for the platform's default.
    pub stack_kib_text: String,
    /// Which Python to measure.
    pub python: PythonMode,
    /// The interpreter for [`PythonMode::Path`].
    pub python_path: String,
    /// The executable started as an idle worker process; None: pooltune itself
    /// ([`crate::pool::process::worker_exe`]). Not shown: tests point it at the built binary.
    #[serde(skip)]
    pub exe: Option<PathBuf>,
}

impl Default for CostDraft {
    fn default() -> Self {
        let spec = CostSpec::default();
        CostDraft {
            threads_text: counts_to_text(&spec.threads),
            processes_text: counts_to_text(&spec.processes),
            tasks_text: counts_to_text(&spec.tasks),
            round_trips_text: spec.switch_round_trips.to_string(),
            stack_kib_text: String::new(),
            python: PythonMode::Auto,
            python_path: String::new(),
            exe: None,
        }
    }
}

fn counts_to_text(counts: &[usize]) -> String {
    counts
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn invalid(field: &str, value: impl Into<String>, allowed: impl Into<String>) -> InvalidValue {
    InvalidValue {
        field: field.to_owned(),
        value: value.into(),
        allowed: allowed.into(),
    }
}

/// Parses "1, 10 100" (commas or spaces) into counts for `field`.
pub fn parse_counts(field: &str, text: &str) -> Result<Vec<usize>, InvalidValue> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<usize>().map_err(|_| {
                invalid(
                    field,
                    format!("{part:?}"),
                    "whole numbers separated by commas, such as 1, 10, 100",
                )
            })
        })
        .collect()
}

impl CostDraft {
    /// The run these inputs describe, or the first invalid value (named as in
    /// `pooltune cost`: `threads`, `processes`, `stack_kib`, `python`).
    pub fn checked(&self) -> Result<CostSpec, InvalidValue> {
        let threads = parse_counts("threads", &self.threads_text)?;
        let processes = parse_counts("processes", &self.processes_text)?;
        let tasks = parse_counts("tasks", &self.tasks_text)?;
        let round_trips = self.round_trips_text.trim();
        let switch_round_trips = if round_trips.is_empty() {
            0
        } else {
            round_trips.parse::<usize>().map_err(|_| {
                invalid(
                    "round_trips",
                    format!("{round_trips:?}"),
                    format!(
                        "a whole number of round trips from 0 (no switch cost) to {}",
                        limits::MAX_ROUND_TRIPS
                    ),
                )
            })?
        };
        if threads.is_empty() && processes.is_empty() && tasks.is_empty() {
            return Err(invalid(
                "threads",
                "an empty list",
                "at least one thread, process or task count",
            ));
        }
        let stack = self.stack_kib_text.trim();
        let stack_kib = if stack.is_empty() {
            None
        } else {
            Some(stack.parse::<u64>().map_err(|_| {
                let (lo, hi) = limits::STACK_KIB;
                invalid(
                    "stack_kib",
                    format!("{stack:?}"),
                    format!("a whole number of KiB from {lo} to {hi}, or empty for the default"),
                )
            })?)
        };
        let python = match self.python {
            PythonMode::Off => PythonChoice::Skip,
            PythonMode::Auto => PythonChoice::Auto,
            PythonMode::Path => {
                let path = self.python_path.trim();
                if path.is_empty() || !Path::new(path).is_file() {
                    return Err(invalid(
                        "python",
                        format!("{path:?}"),
                        "the path of an existing Python interpreter, such as /usr/bin/python3",
                    ));
                }
                PythonChoice::Path(PathBuf::from(path))
            }
        };
        let spec = CostSpec {
            threads,
            processes,
            tasks,
            switch_round_trips,
            stack_kib,
            python,
            exe: self.exe.clone(),
        };
        spec.validate()?;
        Ok(spec)
    }
}

/// What a plotted series shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Resident memory per worker.
    Rss,
    /// Proportional set size per worker (processes only).
    Pss,
    /// Median start latency.
    StartP50,
    /// 99th percentile start latency.
    StartP99,
}

impl Metric {
    fn label(self) -> &'static str {
        match self {
            Metric::Rss => "RSS",
            Metric::Pss => "PSS",
            Metric::StartP50 => "p50",
            Metric::StartP99 => "p99",
        }
    }

    fn value(self, cost: &WorkerCost) -> f64 {
        match self {
            Metric::Rss => cost.rss_per_worker_bytes,
            Metric::Pss => cost.pss_per_worker_bytes.unwrap_or(f64::NAN),
            Metric::StartP50 => cost.start_latency_p50_us,
            Metric::StartP99 => cost.start_latency_p99_us,
        }
    }
}

/// One line on a plot: `[N, value]` in the engine's units (bytes, µs), sorted by N, measured
/// values only.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name, such as "Rust processes PSS" or "Python processes (spawn) p99".
    pub name: String,
    /// The worker group's name, shared by its series (so that hovering names the group).
    pub legend: String,
    /// The worker group (kind and start method) it belongs to, which sets its colour.
    pub group: usize,
    /// What it shows.
    pub metric: Metric,
    /// `[workers, value]`.
    pub points: Vec<[f64; 2]>,
}

fn kind_title(kind: WorkerKind) -> &'static str {
    match kind {
        WorkerKind::RustThread => "Rust threads",
        WorkerKind::RustProcess => "Rust processes",
        WorkerKind::PythonThread => "Python threads",
        WorkerKind::PythonProcess => "Python processes",
        WorkerKind::TokioTask => "tokio tasks",
        WorkerKind::PythonAsyncioTask => "asyncio tasks",
        WorkerKind::PythonGenerator => "Python generators",
        WorkerKind::PythonGreenlet => "greenlets",
    }
}

/// The name of a worker group: "Rust threads", "Python processes (fork)".
pub fn group_name(kind: WorkerKind, start_method: Option<&str>) -> String {
    match start_method {
        Some(method) => format!("{} ({method})", kind_title(kind)),
        None => kind_title(kind).to_owned(),
    }
}

/// The worker groups in `measured`, in [`WorkerKind::ALL`] order then arrival order: each
/// Python start method is its own group.
fn groups(measured: &[(WorkerKind, WorkerCost)]) -> Vec<(WorkerKind, Option<String>)> {
    let mut found: Vec<(WorkerKind, Option<String>)> = Vec::new();
    for kind in WorkerKind::ALL {
        for (k, cost) in measured {
            let key = (*k, cost.start_method.clone());
            if *k == kind && !found.contains(&key) {
                found.push(key);
            }
        }
    }
    found
}

/// The series of `metrics` for every group in `measured`; PSS only for processes, empty
/// series left out.
pub fn series(measured: &[(WorkerKind, WorkerCost)], metrics: &[Metric]) -> Vec<Series> {
    let mut out = Vec::new();
    for (group, (kind, method)) in groups(measured).into_iter().enumerate() {
        for &metric in metrics {
            let mut points: Vec<[f64; 2]> = measured
                .iter()
                .filter(|(k, c)| *k == kind && c.start_method == method)
                .map(|(_, c)| [c.workers as f64, metric.value(c)])
                .filter(|[_, v]| v.is_finite() && *v > 0.0)
                .collect();
            if points.is_empty() {
                continue;
            }
            points.sort_by(|a, b| a[0].total_cmp(&b[0]));
            let legend = group_name(kind, method.as_deref());
            out.push(Series {
                name: format!("{legend} {}", metric.label()),
                legend,
                group,
                metric,
                points,
            });
        }
    }
    out
}

const GROUP_COLORS: [Color32; 6] = [
    Color32::from_rgb(31, 119, 180),
    Color32::from_rgb(214, 39, 40),
    Color32::from_rgb(44, 160, 44),
    Color32::from_rgb(255, 127, 14),
    Color32::from_rgb(148, 103, 189),
    Color32::from_rgb(140, 86, 75),
];

/// Marks at 1, 2 and 5 times each power of ten on a log₁₀ axis; decades drawn strongest.
fn log10_grid(input: GridInput) -> Vec<GridMark> {
    let (min, max) = input.bounds;
    if !(min.is_finite() && max.is_finite()) || max - min > 30.0 {
        return Vec::new();
    }
    let mut marks = Vec::new();
    for decade in (min.floor() as i64 - 1)..=(max.ceil() as i64) {
        for (factor, step_size) in [(1.0_f64, 1.0), (2.0, 0.3), (5.0, 0.3)] {
            let value = decade as f64 + factor.log10();
            if (min..=max).contains(&value) {
                marks.push(GridMark { value, step_size });
            }
        }
    }
    marks
}

/// An axis label for 10^`x`, formatted by `show`, only on the 1-2-5 marks.
fn log_label(x: f64, show: impl Fn(f64) -> String) -> String {
    let value = 10f64.powf(x);
    let mantissa = value / 10f64.powf(x.floor());
    let on_mark = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .any(|m| (mantissa - m).abs() < 1e-6 * m);
    if on_mark { show(value) } else { String::new() }
}

fn workers_label(n: f64) -> String {
    if n >= 1.0 && (n - n.round()).abs() < 1e-6 {
        format!("{}", n.round())
    } else {
        String::new()
    }
}

/// A memory figure or axis mark: "512 B" under a KiB (where [`format::bytes`] would say
/// "0 KiB", so that the marks 256 B and 512 B both read "0 KiB"), else "16 KiB", "2.0 MiB".
fn bytes_label(b: f64) -> String {
    if b.is_finite() && (0.0..1024.0).contains(&b.round()) {
        format!("{} B", b.round())
    } else if b.is_finite() && b >= 0.0 {
        format::bytes(b.round() as u64)
    } else {
        format::UNKNOWN.to_owned()
    }
}

/// A plot with a log₁₀ workers axis from 1 to `last_workers` (the largest N planned or
/// measured) and, until something is measured, a y range of `empty_y` (in the plot's own log
/// units) so that the empty axes already read as the figures will.
fn log_plot<'a>(
    id: &str,
    y_label: &str,
    height: f32,
    last_workers: usize,
    empty_y: Option<[f64; 2]>,
) -> Plot<'a> {
    let mut plot = Plot::new(id.to_owned())
        .height(height)
        .x_axis_label("workers N (log scale)")
        .y_axis_label(y_label.to_owned())
        .x_grid_spacer(log10_grid)
        .x_axis_formatter(|mark, _| log_label(mark.value, workers_label))
        .include_x(0.0)
        .include_x((last_workers.max(2) as f64).log10())
        .allow_scroll(false);
    if let Some([low, high]) = empty_y {
        plot = plot.include_y(low).include_y(high);
    }
    plot
}

/// How a plot's y axis is scaled: memory doubles (log₂, marks at 16 KiB, 32 KiB, ...), times
/// span decades (log₁₀, marks at 1-2-5).
#[derive(Debug, Clone, Copy)]
enum YScale {
    Log2,
    Log10,
}

impl YScale {
    fn plot_y(self, v: f64) -> f64 {
        match self {
            YScale::Log2 => v.log2(),
            YScale::Log10 => v.log10(),
        }
    }

    fn value_at(self, y: f64) -> f64 {
        match self {
            YScale::Log2 => y.exp2(),
            YScale::Log10 => 10f64.powf(y),
        }
    }
}

/// A start time on the axis: "50 µs", "2 ms", "200 ms", "1.5 s".
fn micros_axis(us: f64) -> String {
    let trim = |v: f64| format!("{}", (v * 100.0).round() / 100.0);
    if us < 1000.0 {
        format!("{} µs", trim(us))
    } else if us < 1_000_000.0 {
        format!("{} ms", trim(us / 1000.0))
    } else {
        format!("{} s", trim(us / 1_000_000.0))
    }
}

/// What hovering a point shows: its series, N and value (the plot holds logs of both).
fn hover_text(
    hover: &HoverPosition<'_>,
    scale: YScale,
    value: impl Fn(f64) -> String,
) -> Option<String> {
    match hover {
        HoverPosition::NearDataPoint {
            plot_name,
            position,
            ..
        } => Some(format!(
            "{plot_name}\n{} workers\n{}",
            workers_label(10f64.powf(position.x).round()),
            value(scale.value_at(position.y))
        )),
        HoverPosition::Elsewhere { .. } => None,
    }
}

fn draw_series(plot_ui: &mut egui_plot::PlotUi<'_>, all: &[Series], scale: YScale) {
    for s in all {
        let color = GROUP_COLORS[s.group % GROUP_COLORS.len()];
        let (style, shape) = match s.metric {
            Metric::Rss | Metric::StartP50 => (LineStyle::Solid, MarkerShape::Circle),
            Metric::Pss | Metric::StartP99 => (LineStyle::dashed_dense(), MarkerShape::Diamond),
        };
        let log: Vec<[f64; 2]> = s
            .points
            .iter()
            .map(|[n, v]| [n.log10(), scale.plot_y(*v)])
            .collect();
        plot_ui.line(
            Line::new(s.legend.clone(), log.clone())
                .color(color)
                .style(style)
                .allow_hover(false),
        );
        plot_ui.points(
            Points::new(s.legend.clone(), log)
                .color(color)
                .radius(3.5)
                .shape(shape)
                .filled(true),
        );
    }
}

/// The figures of a run: one legend, the memory and start-latency plots side by side (log
/// scales) and the table below. `planned` is the run the inputs describe, when they are
/// valid: its largest N sets the workers axis before anything is measured. Returns where the
/// two plots were drawn (for a PNG of them).
pub fn figures_ui(
    ui: &mut Ui,
    measured: &[(WorkerKind, WorkerCost)],
    planned: Option<&CostSpec>,
) -> egui::Rect {
    let table_height = (ui.available_height() * 0.38).clamp(90.0, 320.0);
    let plot_height = (ui.available_height() - table_height - 16.0).max(160.0);
    let memory = series(measured, &[Metric::Rss, Metric::Pss]);
    let latency = series(measured, &[Metric::StartP50, Metric::StartP99]);
    let last_workers = planned
        .iter()
        .flat_map(|spec| spec.threads.iter().chain(&spec.processes))
        .chain(measured.iter().map(|(_, cost)| &cost.workers))
        .copied()
        .max()
        .unwrap_or(1);
    // Before anything is measured: 8 KiB to 16 MiB (a thread to a Python process) and 10 µs
    // to 100 ms (a thread to a spawned Python process), the ranges the figures fall in.
    let empty_memory = memory.is_empty().then(|| {
        [
            (8.0 * 1024.0_f64).log2(),
            (16.0 * 1024.0 * 1024.0_f64).log2(),
        ]
    });
    let empty_latency = latency
        .is_empty()
        .then(|| [10.0_f64.log10(), 100_000.0_f64.log10()]);
    let top = ui.cursor().min;
    legend::legend_ui(ui, &legend(measured), Some(crate::ui::plots::ZOOM_HINT));
    let plots_rect = ui.columns(2, |columns| {
        columns[0].strong("Memory per worker").on_hover_text(
            format!("Solid: RSS, resident memory per worker. Dashed: PSS, a process's fair share of the pages it shares with the others (what one more process really adds).\n\n{THREAD_RSS_NOTE}"),
        );
        let memory_rect = log_plot(
            "cost_memory_plot",
            "memory per worker (log₂)",
            plot_height,
            last_workers,
            empty_memory,
        )
            .y_grid_spacer(super::plots::log2_grid)
            .y_axis_formatter(|mark, _| bytes_label(mark.value.exp2()))
            .label_formatter(|hover| {
                hover_text(hover, YScale::Log2, |y| format!("{} each", bytes_label(y)))
            })
            .show(&mut columns[0], |plot_ui| {
                draw_series(plot_ui, &memory, YScale::Log2);
            })
            .response
            .rect;
        columns[1]
            .strong("Start latency per worker")
            .on_hover_text("Solid: p50 (median). Dashed: p99.");
        let latency_rect = log_plot(
            "cost_latency_plot",
            "start latency (log₁₀)",
            plot_height,
            last_workers,
            empty_latency,
        )
            .y_grid_spacer(log10_grid)
            .y_axis_formatter(|mark, _| log_label(mark.value, micros_axis))
            .label_formatter(|hover| {
                hover_text(hover, YScale::Log10, |y| {
                    format!("{} to start", format::micros(y))
                })
            })
            .show(&mut columns[1], |plot_ui| {
                draw_series(plot_ui, &latency, YScale::Log10);
            })
            .response
            .rect;
        memory_rect.union(latency_rect)
    });
    table_ui(ui, measured);
    // The legend is part of the picture.
    plots_rect.union(egui::Rect::from_min_size(top, egui::Vec2::ZERO))
}

/// The legend of both plots (the same colours), above them rather than over the points:
/// each worker group in its colour, then what the two line styles mean on each plot.
pub fn legend(measured: &[(WorkerKind, WorkerCost)]) -> Vec<LegendEntry> {
    let mut entries: Vec<LegendEntry> = groups(measured)
        .into_iter()
        .enumerate()
        .map(|(i, (kind, method))| {
            LegendEntry::new(
                group_name(kind, method.as_deref()),
                GROUP_COLORS[i % GROUP_COLORS.len()],
                LineKind::Solid,
                Marker::Dot,
            )
        })
        .collect();
    if !entries.is_empty() {
        entries.push(
            LegendEntry::new(
                "RSS (left), p50 (right)",
                STYLE_COLOR,
                LineKind::Solid,
                Marker::Dot,
            )
            .meaning(format!(
                "Resident memory per worker, and the median start time.\n\n{THREAD_RSS_NOTE}"
            )),
        );
        entries.push(
            LegendEntry::new("PSS (left), p99 (right)", STYLE_COLOR, LineKind::Dashed, Marker::Diamond)
                .meaning("PSS: a process's fair share of the pages it shares with the others (what one more process really adds). p99: the 99th percentile start time."),
        );
    }
    entries
}

/// The grey of the legend's style entries: no group's colour.
const STYLE_COLOR: Color32 = Color32::from_gray(150);

/// The inputs: thread and process counts, stack size and which Python; `invalid` is outlined.
pub fn inputs_ui(ui: &mut Ui, draft: &mut CostDraft, invalid: Option<&InvalidValue>) {
    let error = |ui: &Ui, field: &str| {
        invalid
            .filter(|i| i.field == field)
            .map(|i| (ui.visuals().error_fg_color, i.to_string()))
    };
    ui.horizontal(|ui| {
        text_row(
            ui,
            "Threads to start",
            "N values for Rust threads (and Python threads), separated by commas.",
            &mut draft.threads_text,
            error(ui, "threads"),
        );
        ui.add_space(12.0);
        text_row(
            ui,
            "Processes to start",
            "N values for worker processes (and Python processes, per start method).",
            &mut draft.processes_text,
            error(ui, "processes"),
        );
    });
    ui.horizontal(|ui| {
        text_row(
            ui,
            "Stack (KiB)",
            "Stack reserved by each Rust thread; empty for Rust's default (2 MiB). Reserved is not resident: only touched pages take RAM.",
            &mut draft.stack_kib_text,
            error(ui, "stack_kib"),
        );
        ui.add_space(12.0);
        ui.label("Python")
            .on_hover_text("Measure CPython's threading.Thread and multiprocessing.Process too.");
        ui.radio_value(&mut draft.python, PythonMode::Off, "off")
            .on_hover_text("Rust only.");
        ui.radio_value(&mut draft.python, PythonMode::Auto, "python3")
            .on_hover_text("python3 from the PATH, if there is one.");
        ui.radio_value(&mut draft.python, PythonMode::Path, "path:");
        let edit = ui
            .add_enabled(
                draft.python == PythonMode::Path,
                TextEdit::singleline(&mut draft.python_path).desired_width(160.0),
            )
            .accessible_name("Python path")
            .on_hover_text("The interpreter to measure, such as /usr/bin/python3.11.");
        if let Some((color, _)) = error(ui, "python") {
            outline(ui, &edit, color);
        }
    });
}

fn outline(ui: &Ui, response: &egui::Response, color: Color32) {
    ui.painter().rect_stroke(
        response.rect.expand(2.0),
        2.0,
        egui::Stroke::new(1.5, color),
        egui::StrokeKind::Outside,
    );
}

fn text_row(
    ui: &mut Ui,
    text: &str,
    tip: &str,
    value: &mut String,
    error: Option<(Color32, String)>,
) {
    let label = ui.label(text).on_hover_text(tip);
    let response = ui
        .add(TextEdit::singleline(value).desired_width(140.0))
        .labelled_by(label.id)
        .on_hover_text(tip);
    if let Some((color, message)) = error {
        outline(ui, &response, color);
        response.on_hover_text(message);
    }
}

/// Why the Rust thread RSS read in the window is noisier than `pooltune cost`'s.
const THREAD_RSS_NOTE: &str = "Rust thread RSS is the growth of this process's RSS while the threads are held, so whatever the window allocates meanwhile is counted too. For the cleanest figure run `pooltune cost` in a terminal.";

/// The table's columns, with what each means.
const COLUMNS: [(&str, &str); 8] = [
    (
        "Workers",
        "Kind of worker and, for Python processes, the start method.",
    ),
    ("N", "Workers started and held alive together."),
    (
        "Start p50",
        "Median time from asking for a worker to it running its first line.",
    ),
    (
        "Start p99",
        "99th percentile of the start time (the slowest of fewer than 100).",
    ),
    (
        "RSS / worker",
        "Resident memory per worker. Threads: growth of pooltune's RSS over N. Processes: each worker's RSS, shared pages counted in full.",
    ),
    (
        "PSS / worker",
        "Processes: proportional set size, each shared page divided among its sharers; what one more process really adds.",
    ),
    (
        "Virtual / worker",
        "Reserved address space per worker (stacks, guard pages, arenas). Reserved is not used.",
    ),
    ("Stop", "Time to stop all N workers and wait for them."),
];

fn bytes_cell(value: f64) -> String {
    if value.is_finite() {
        bytes_label(value)
    } else {
        format::UNKNOWN.to_owned()
    }
}

/// Why a row's memory figures are missing, or what they leave out (reused thread stacks).
pub fn memory_note(cost: &WorkerCost) -> Option<String> {
    if let Some(reason) = &cost.memory_unreliable {
        return Some(format!("memory not measured: {reason}"));
    }
    let reused = cost.stacks_reused.filter(|&k| k > 0)?;
    Some(format!(
        "{reused} of {} stacks were reused from ended threads; memory is per each of the other {}",
        cost.workers,
        cost.workers - reused
    ))
}

/// The table's cells for one cost, in [`COLUMNS`] order.
pub fn table_row(kind: WorkerKind, cost: &WorkerCost) -> [String; 8] {
    // A figure that could not be measured cleanly says so; the reason is beside the row.
    let memory_cell = |value: f64| {
        if cost.memory_unreliable.is_some() {
            "unreliable".to_owned()
        } else {
            bytes_cell(value)
        }
    };
    [
        group_name(kind, cost.start_method.as_deref()),
        cost.workers.to_string(),
        format::micros(cost.start_latency_p50_us),
        format::micros(cost.start_latency_p99_us),
        memory_cell(cost.rss_per_worker_bytes),
        cost.pss_per_worker_bytes
            .map_or_else(|| format::UNKNOWN.to_owned(), bytes_cell),
        memory_cell(cost.virtual_per_worker_bytes),
        format::micros(cost.stop_ms * 1000.0),
    ]
}

fn table_ui(ui: &mut Ui, measured: &[(WorkerKind, WorkerCost)]) {
    if measured.is_empty() {
        ui.weak("No figures yet. Set the counts above and press Measure.");
        return;
    }
    let table = HeadedTable {
        scroll_id: "cost_table_scroll",
        grid_id: "cost_table",
        columns: &COLUMNS,
        last_heading: None,
        shrink_height: true,
        min_col_width: None,
    };
    table.ui(ui, |ui| {
        let mut rows: Vec<&(WorkerKind, WorkerCost)> = measured.iter().collect();
        rows.sort_by_key(|(kind, cost)| {
            (
                WorkerKind::ALL.iter().position(|k| k == kind),
                cost.start_method.clone(),
                cost.workers,
            )
        });
        for (kind, cost) in rows {
            for cell in table_row(*kind, cost) {
                ui.label(cell);
            }
            if let Some(error) = &cost.error {
                ui.label(RichText::new(error).color(ui.visuals().error_fg_color));
            } else if let Some(note) = memory_note(cost) {
                ui.label(RichText::new(note).color(ui.visuals().warn_fg_color));
            }
            ui.end_row();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(workers: usize, method: Option<&str>, rss: f64, pss: Option<f64>) -> WorkerCost {
        WorkerCost {
            workers,
            start_method: method.map(str::to_owned),
            start_latency_p50_us: 10.0 * workers as f64,
            start_latency_p99_us: 20.0 * workers as f64,
            rss_per_worker_bytes: rss,
            pss_per_worker_bytes: pss,
            virtual_per_worker_bytes: 8.0 * 1024.0 * 1024.0,
            stop_ms: 1.5,
            stacks_reused: None,
            memory_unreliable: None,
            error: None,
        }
    }

    #[test]
    fn memory_that_could_not_be_measured_is_shown_unreliable_with_the_reason() {
        let mut after_sweep = cost(1, None, f64::NAN, None);
        after_sweep.virtual_per_worker_bytes = f64::NAN;
        after_sweep.stacks_reused = Some(1);
        after_sweep.memory_unreliable = Some("the thread's stack was reused".into());
        let row = table_row(WorkerKind::RustThread, &after_sweep);
        assert_eq!(row[4], "unreliable");
        assert_eq!(row[6], "unreliable");
        assert_eq!(
            memory_note(&after_sweep).unwrap(),
            "memory not measured: the thread's stack was reused"
        );
        let mut partly = cost(10, None, 12288.0, None);
        partly.stacks_reused = Some(1);
        assert_eq!(table_row(WorkerKind::RustThread, &partly)[4], "12 KiB");
        assert!(
            memory_note(&partly)
                .unwrap()
                .starts_with("1 of 10 stacks were reused")
        );
        assert_eq!(memory_note(&cost(10, None, 12288.0, None)), None);
    }

    #[test]
    fn each_kind_and_start_method_is_its_own_series_sorted_by_n() {
        let measured = vec![
            (WorkerKind::RustThread, cost(10, None, 16384.0, None)),
            (WorkerKind::RustThread, cost(1, None, 20480.0, None)),
            (WorkerKind::RustProcess, cost(1, None, 4e6, Some(1e6))),
            (
                WorkerKind::PythonProcess,
                cost(1, Some("fork"), 9e6, Some(2e6)),
            ),
            (
                WorkerKind::PythonProcess,
                cost(1, Some("spawn"), 12e6, Some(8e6)),
            ),
            (
                WorkerKind::PythonProcess,
                cost(2, Some("fork"), f64::NAN, None),
            ),
        ];
        let memory = series(&measured, &[Metric::Rss, Metric::Pss]);
        let names: Vec<&str> = memory.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Rust threads RSS",
                "Rust processes RSS",
                "Rust processes PSS",
                "Python processes (fork) RSS",
                "Python processes (fork) PSS",
                "Python processes (spawn) RSS",
                "Python processes (spawn) PSS",
            ]
        );
        assert_eq!(memory[0].points, [[1.0, 20480.0], [10.0, 16384.0]]);
        // An unmeasured value (NaN) is left out rather than drawn at zero.
        assert_eq!(memory[3].points, [[1.0, 9e6]]);
        let latency = series(&measured, &[Metric::StartP50, Metric::StartP99]);
        assert_eq!(latency[1].name, "Rust threads p99");
        assert_eq!(latency[1].points, [[1.0, 20.0], [10.0, 200.0]]);
    }

    #[test]
    fn the_inputs_are_checked_with_the_field_named() {
        let mut draft = CostDraft {
            threads_text: "1, 4".into(),
            processes_text: "1".into(),
            python: PythonMode::Off,
            ..CostDraft::default()
        };
        let spec = draft.checked().unwrap();
        assert_eq!(spec.threads, [1, 4]);
        assert_eq!(spec.processes, [1]);
        assert_eq!(spec.python, PythonChoice::Skip);
        assert_eq!(spec.stack_kib, None);
        draft.stack_kib_text = "4".into();
        assert_eq!(draft.checked().unwrap_err().field, "stack_kib");
        draft.stack_kib_text = "64".into();
        assert_eq!(draft.checked().unwrap().stack_kib, Some(64));
        draft.processes_text = "1, x".into();
        assert_eq!(draft.checked().unwrap_err().field, "processes");
        draft.processes_text = "0".into();
        assert_eq!(draft.checked().unwrap_err().field, "processes");
        draft.processes_text = String::new();
        draft.threads_text = String::new();
        draft.tasks_text = "1000, 0".into();
        assert_eq!(draft.checked().unwrap_err().field, "tasks");
        draft.tasks_text = "1000".into();
        assert_eq!(draft.checked().unwrap().tasks, [1000]);
        draft.round_trips_text = "many".into();
        assert_eq!(draft.checked().unwrap_err().field, "round_trips");
        draft.round_trips_text = "0".into();
        assert_eq!(draft.checked().unwrap().switch_round_trips, 0);
        draft.tasks_text = String::new();
        assert_eq!(draft.checked().unwrap_err().field, "threads");
        draft.threads_text = "2".into();
        draft.python = PythonMode::Path;
        draft.python_path = "/no/such/python".into();
        assert_eq!(draft.checked().unwrap_err().field, "python");
    }

    #[test]
    fn log_axis_labels_only_on_one_two_five() {
        assert_eq!(log_label(2.0, workers_label), "100");
        assert_eq!(log_label(2f64.log10(), workers_label), "2");
        assert_eq!(log_label(3f64.log10(), workers_label), "");
        assert_eq!(log_label(3.0, format::micros), "1.00 ms");
        let marks = log10_grid(GridInput {
            bounds: (0.0, 2.0),
            base_step_size: 0.1,
        });
        let values: Vec<f64> = marks.iter().map(|m| 10f64.powf(m.value).round()).collect();
        assert_eq!(values, [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]);
    }

    #[test]
    fn the_legend_gives_each_group_its_colour_and_each_metric_its_style() {
        assert!(legend(&[]).is_empty());
        let measured = vec![
            (WorkerKind::RustThread, cost(1, None, 16384.0, None)),
            (
                WorkerKind::PythonProcess,
                cost(1, Some("fork"), 9e6, Some(2e6)),
            ),
        ];
        let described: Vec<String> = legend(&measured)
            .iter()
            .map(LegendEntry::accessible_name)
            .collect();
        assert_eq!(
            described,
            [
                "Rust threads: solid line, filled dots",
                "Python processes (fork): solid line, filled dots",
                "RSS (left), p50 (right): solid line, filled dots",
                "PSS (left), p99 (right): dashed line, diamonds",
            ]
        );
        let colors: Vec<Color32> = legend(&measured).iter().map(|e| e.color).collect();
        assert_eq!(colors[..2], [GROUP_COLORS[0], GROUP_COLORS[1]]);
        assert!(!GROUP_COLORS.contains(&colors[2]));
    }

    #[test]
    fn memory_marks_under_a_kib_are_in_bytes_and_no_two_read_alike() {
        // The log₂ axis from 128 B to 64 MiB: every mark its own label.
        let labels: Vec<String> = super::super::plots::log2_grid(GridInput {
            bounds: (7.0, 26.0),
            base_step_size: 0.1,
        })
        .into_iter()
        .map(|mark| bytes_label(mark.value.exp2()))
        .collect();
        assert_eq!(labels[..4], ["128 B", "256 B", "512 B", "1 KiB"]);
        assert_eq!(labels.last().unwrap(), "64.0 MiB");
        let mut unique = labels.clone();
        unique.dedup();
        assert_eq!(unique, labels);
        // Marks only inside the bounds: one outside is drawn over the title or the axis.
        let marks = super::super::plots::log2_grid(GridInput {
            bounds: (11.6, 25.2),
            base_step_size: 0.1,
        });
        assert_eq!(marks.first().unwrap().value, 12.0);
        assert_eq!(marks.last().unwrap().value, 25.0);
        assert_eq!(bytes_label(f64::NAN), format::UNKNOWN);
    }

    #[test]
    fn the_table_row_reads_in_the_users_units() {
        let row = table_row(
            WorkerKind::RustProcess,
            &cost(4, None, 4.0 * 1048576.0, Some(512.0 * 1024.0)),
        );
        assert_eq!(row[0], "Rust processes");
        assert_eq!(row[1], "4");
        assert_eq!(row[2], "40 µs");
        assert_eq!(row[4], "4.0 MiB");
        assert_eq!(row[5], "512 KiB");
        assert_eq!(row[7], "1.50 ms");
        let thread = table_row(WorkerKind::RustThread, &cost(1, None, f64::NAN, None));
        assert_eq!(thread[4], format::UNKNOWN);
        assert_eq!(thread[5], format::UNKNOWN);
    }
}
