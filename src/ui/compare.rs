//! The Compare tab's widgets: the chart of a comparison (several series on one chart, such
//! as Rust threads, a simulated GIL and real CPython threads and processes) read three ways,
//! throughput against threads, speedup X(N)/X(1) and efficiency speedup/N, each with its
//! ideal line and the machine's physical and logical CPU counts marked; the table of the
//! view; the series list that says plainly why a series failed; the plan before the first
//! run and the progress bar. They draw a [`ChartData`], borrowed from the tab's store.
//!
//! Widgets only: nothing here loads a file, starts the engine or computes a view (speedup and
//! efficiency come from [`crate::result::comparison::scaling`]). The app's Compare tab
//! (`app::tabs::compare`) holds the loaded comparison and the run.

use std::time::Instant;

use eframe::egui;
use egui::{Grid, RichText, ScrollArea, Ui};
use egui_plot::{Line, LineStyle, Plot, VLine};

use crate::engine::Progress;
use crate::engine::SeriesResult;
use crate::machine::MachineInfo;
use crate::result::Point;
use crate::result::comparison::Scaling;
use crate::result::comparison::ScalingPoint;
use crate::spec::ComparisonPreset;
use crate::spec::TrialLength;
use crate::ui::legend::{self, LegendEntry, LineKind, Marker};
use crate::ui::plots::{self, run_color};
use crate::ui::{config, format, progress};

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
        self.value_text(self.value(point))
    }

    /// A value of this view as the table and the hover write it: "269/s", "1.26×", "63%".
    pub fn value_text(self, value: f64) -> String {
        match self {
            CompareView::Throughput => format::rate(value),
            CompareView::Speedup => format!("{}×", format::number(value, 2)),
            CompareView::Efficiency => format!("{}%", format::number(100.0 * value, 0)),
        }
    }
}

/// What the widgets draw of a comparison run: the machine (its CPU counts are marked), the
/// thread counts planned and the series with their points so far (the engine's own
/// [`SeriesResult`], filled as its events arrive). Borrowed from the Compare tab's store
/// (`ComparisonData`).
#[derive(Debug, Clone, Copy)]
pub struct ChartData<'a> {
    /// The machine, once the engine has started.
    pub machine: Option<&'a MachineInfo>,
    /// Thread counts, in the order they run.
    pub thread_counts: &'a [usize],
    /// One entry per series, in the preset's order.
    pub series: &'a [SeriesResult],
    /// Per series, in the same order: true when its count is tasks in flight (an async
    /// pool, asyncio, gevent), not threads. Missing entries count threads.
    pub counts_in_flight: &'a [bool],
}

/// The words of a series' count: ("thread", "threads") or ("task in flight", "tasks in flight").
fn count_words(in_flight: bool) -> (&'static str, &'static str) {
    if in_flight {
        ("task in flight", "tasks in flight")
    } else {
        ("thread", "threads")
    }
}

/// `n` counted in the words of a series: "2 threads", "1 task in flight".
fn counted(n: usize, in_flight: bool) -> String {
    let (one, many) = count_words(in_flight);
    crate::words::counted_usize(n, one, many)
}

impl ChartData<'_> {
    /// True when series `index` counts tasks in flight rather than threads.
    fn in_flight(self, index: usize) -> bool {
        self.counts_in_flight.get(index).copied().unwrap_or(false)
    }

    /// What the count of every series is, for the table's first column and the x axis:
    /// "threads", "concurrency" (every series async) or both.
    fn count_name(self) -> &'static str {
        let in_flight = (0..self.series.len())
            .filter(|&i| self.in_flight(i))
            .count();
        match in_flight {
            0 => "threads",
            n if n == self.series.len() => "concurrency",
            _ => "threads or tasks in flight",
        }
    }

    /// The thread count speedups are drawn from: the smallest baseline of any series.
    fn baseline_threads(self) -> Option<usize> {
        self.series
            .iter()
            .filter_map(|s| s.scaling().baseline_threads)
            .min()
    }

    /// The largest thread count planned or measured.
    fn last_threads(self) -> usize {
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
pub fn view_series(series: &SeriesResult, view: CompareView) -> Vec<[f64; 2]> {
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
    series: &SeriesResult,
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
pub fn ideal_line(data: ChartData<'_>, view: CompareView) -> Vec<[f64; 2]> {
    let Some(base) = data.baseline_threads() else {
        return Vec::new();
    };
    let last = data.last_threads().max(base);
    let ends = [base, last];
    match view {
        CompareView::Throughput => Vec::new(),
        CompareView::Speedup => ends
            .iter()
            .map(|&n| [n as f64, crate::result::comparison::ideal_speedup(n, base)])
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

/// The run's progress bar: which series at how many threads, and the time left.
pub fn progress_ui(
    ui: &mut Ui,
    series: &[SeriesResult],
    progress: Option<&(usize, Progress, Instant)>,
    started: Instant,
    stopping: bool,
) {
    let (fraction, text) = match progress {
        None => progress::preparing("finding and calibrating interpreters", started),
        Some((index, progress, received)) => {
            let left = progress::time_left(progress, *received);
            let label = series.get(*index).map_or("", |s| s.label.as_str());
            (
                progress.fraction() as f32,
                format!("{label} · {} threads · about {left} left", progress.threads),
            )
        }
    };
    progress::bar_ui(ui, fraction, text, stopping, 520.0);
}

/// Before the first run: what the comparison will run, series by series, and how.
pub fn plan_ui(ui: &mut Ui, comparison: &ComparisonPreset) {
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
                series.setup.summary()
            ));
        });
    }
}

/// Beside the chart: each series with its colour, interpreter and points, and plainly why a
/// series failed or did not run.
pub fn series_list_ui(ui: &mut Ui, data: ChartData<'_>, warnings: &[String]) {
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
                            RichText::new(format!(
                                "{}: {error}",
                                counted(point.threads, data.in_flight(index))
                            ))
                                .color(ui.visuals().warn_fg_color),
                        );
                    } else if point.disturbed {
                        ui.label(
                            RichText::new(disturbed_line(point, data.in_flight(index)))
                                .color(ui.visuals().warn_fg_color),
                        )
                        .on_hover_text("Drawn hollow: other processes used the CPUs while this point was measured, so it is not this series' alone.");
                    }
                }
                ui.add_space(4.0);
            }
            for warning in warnings {
                ui.label(
                    RichText::new(format!("Warning: {warning}")).color(ui.visuals().warn_fg_color),
                );
            }
        });
}

/// A disturbed point in the series list: `2 threads: disturbed, other processes used 0.96 CPUs`
/// (`64 tasks in flight: …` for a series that counts tasks in flight).
pub fn disturbed_line(point: &Point, in_flight: bool) -> String {
    let mut line = format!(
        "{}: disturbed, other processes used {}",
        counted(point.threads, in_flight),
        format::cpus(point.other_cpu_utilization)
    );
    if point.retried_trials > 0 {
        line.push_str(&format!(
            " ({} measured again)",
            crate::words::counted(u64::from(point.retried_trials), "trial", "trials")
        ));
    }
    line
}

/// The values of the view: one row per thread count, one column per series.
pub fn table_ui(ui: &mut Ui, data: ChartData<'_>, view: CompareView) {
    let scalings: Vec<Scaling> = data.series.iter().map(SeriesResult::scaling).collect();
    ScrollArea::both()
        .id_salt("compare_table_scroll")
        .show(ui, |ui| {
            Grid::new("compare_table")
                .striped(true)
                .spacing([16.0, 4.0])
                .show(ui, |ui| {
                    ui.strong(data.count_name());
                    for series in data.series {
                        ui.strong(series.label.as_str());
                    }
                    ui.end_row();
                    for &threads in data.thread_counts {
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

/// What hovering a point of series `name` at `threads` shows in `view` (`in_flight`: the
/// series counts tasks in flight).
pub fn hover_text(
    view: CompareView,
    (name, in_flight): (&str, bool),
    threads: f64,
    value: f64,
) -> String {
    format!(
        "{name}\n{}\n{} {}",
        counted(threads.round().max(0.0) as usize, in_flight),
        view.title(),
        view.value_text(value)
    )
}

/// The grey of the ideal line and the CPU markers: no series' colour.
const GUIDE_COLOR: egui::Color32 = egui::Color32::from_gray(140);

/// The chart's legend: each series (solid line, filled dots) in its colour, hollow dots when
/// a point was disturbed, the ideal line of the view and the CPU counts marked.
pub fn chart_legend(data: ChartData<'_>, view: CompareView) -> Vec<LegendEntry> {
    let mut entries: Vec<LegendEntry> = data
        .series
        .iter()
        .enumerate()
        .map(|(index, series)| {
            LegendEntry::new(
                series.label.clone(),
                run_color(index as u64),
                LineKind::Solid,
                Marker::Dot,
            )
        })
        .collect();
    if data
        .series
        .iter()
        .any(|s| s.points.iter().any(|p| p.is_ok() && p.disturbed))
    {
        entries.push(
            LegendEntry::new("disturbed", GUIDE_COLOR, LineKind::None, Marker::HollowDot)
                .meaning("Hollow: other processes used the CPUs while this point was measured, so it is not this series' alone."),
        );
    }
    if !ideal_line(data, view).is_empty() {
        entries.push(LegendEntry::new(
            "ideal",
            GUIDE_COLOR,
            LineKind::Dashed,
            Marker::None,
        ));
    }
    if let Some(machine) = data.machine {
        for (name, _) in cpu_markers(machine) {
            entries.push(LegendEntry::new(
                name,
                GUIDE_COLOR,
                LineKind::VerticalDotted,
                Marker::None,
            ));
        }
    }
    entries
}

/// Draws the chart of `view` with its legend above it; returns where both are (for a PNG
/// of them).
pub fn chart_ui(ui: &mut Ui, data: ChartData<'_>, view: CompareView) -> egui::Rect {
    let last = data
        .last_threads()
        .max(data.machine.map_or(1, |m| m.logical_cpus));
    let top = ui.cursor().min;
    legend::legend_ui(ui, &chart_legend(data, view), Some(plots::ZOOM_HINT));
    let plot = plots::with_linear_thread_x(Plot::new("compare_plot"))
        // A tooltip (kept inside the window by egui) rather than egui_plot's default text
        // beside the point, which the plot's edge cuts off.
        .label_formatter(move |hover| match hover {
            egui_plot::HoverPosition::NearDataPoint {
                plot_name,
                position,
                ..
            } => {
                let in_flight = data
                    .series
                    .iter()
                    .position(|series| series.label == *plot_name)
                    .is_some_and(|index| data.in_flight(index));
                Some(hover_text(
                    view,
                    (plot_name, in_flight),
                    position.x,
                    position.y,
                ))
            }
            egui_plot::HoverPosition::Elsewhere { .. } => None,
        })
        .x_axis_label(data.count_name())
        .y_axis_label(view.axis_label())
        .include_x(0.0)
        .include_x(last as f64 + 0.5)
        .include_y(0.0)
        .allow_scroll(false);
    let shown = plot.show(ui, |plot_ui| {
        let ideal = ideal_line(data, view);
        if !ideal.is_empty() {
            plot_ui.line(
                Line::new("ideal", ideal)
                    .color(GUIDE_COLOR)
                    .style(LineStyle::dashed_loose())
                    .allow_hover(false),
            );
        }
        if let Some(machine) = data.machine {
            for (name, x) in cpu_markers(machine) {
                plot_ui.vline(
                    VLine::new(name, x)
                        .color(GUIDE_COLOR)
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
            plots::measured_points_ui(plot_ui, &series.label, color, quiet, disturbed);
        }
    });
    // The legend is part of the picture.
    shown
        .response
        .rect
        .union(egui::Rect::from_min_size(top, egui::Vec2::ZERO))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// This machine, said to have `physical` cores and `logical` CPUs (the Compare tab's
    /// tests use it too).
    pub(crate) fn machine(physical: usize, logical: usize) -> MachineInfo {
        let mut m = MachineInfo::detect();
        m.physical_cpus = physical;
        m.logical_cpus = logical;
        m
    }

    fn series(label: &str, disturbed_at: Option<usize>) -> SeriesResult {
        let points = [1, 2]
            .into_iter()
            .map(|threads| {
                let mut p = crate::model::fixtures::ok_point(threads, 100.0 * threads as f64);
                p.disturbed = disturbed_at == Some(threads);
                p
            })
            .collect();
        SeriesResult {
            label: label.to_owned(),
            kind: crate::spec::SeriesKind::Rust,
            interpreter: None,
            points,
            error: None,
        }
    }

    #[test]
    fn the_chart_legend_says_each_lines_style_beside_its_colour() {
        let all = [series("rust", None), series("gil", Some(2))];
        let m = machine(2, 4);
        let data = ChartData {
            machine: Some(&m),
            thread_counts: &[1, 2],
            series: &all,
            counts_in_flight: &[],
        };
        let described = |view| -> Vec<String> {
            chart_legend(data, view)
                .iter()
                .map(LegendEntry::accessible_name)
                .collect()
        };
        assert_eq!(
            described(CompareView::Speedup),
            [
                "rust: solid line, filled dots",
                "gil: solid line, filled dots",
                "disturbed: hollow dots",
                "ideal: dashed line",
                "2 physical cores: dotted vertical line",
                "4 logical CPUs: dotted vertical line",
            ]
        );
        // Throughput has no ideal line of its own.
        assert!(
            !described(CompareView::Throughput)
                .iter()
                .any(|e| e.starts_with("ideal"))
        );
        let colors: Vec<egui::Color32> = chart_legend(data, CompareView::Speedup)
            .iter()
            .map(|e| e.color)
            .collect();
        assert_eq!(colors[..2], [run_color(0), run_color(1)]);
    }

    #[test]
    fn hovering_a_point_names_its_series_count_and_value_in_the_view() {
        assert_eq!(
            hover_text(CompareView::Speedup, ("gil", false), 2.0, 1.26),
            "gil\n2 threads\nspeedup 1.26×"
        );
        assert_eq!(
            hover_text(CompareView::Efficiency, ("rust", false), 1.0, 0.634),
            "rust\n1 thread\nefficiency 63%"
        );
        assert_eq!(
            hover_text(CompareView::Throughput, ("rust", false), 4.0, 395.2),
            "rust\n4 threads\nthroughput 395/s"
        );
    }

    #[test]
    fn cpu_markers_name_physical_and_logical_counts() {
        let markers = cpu_markers(&machine(2, 4));
        assert_eq!(markers.len(), 2);
        assert_eq!(markers[0].1, 2.0);
        assert_eq!(markers[1].1, 4.0);
        assert_eq!(cpu_markers(&machine(2, 2)).len(), 1);
    }

    #[test]
    fn the_count_is_named_threads_concurrency_or_both() {
        let all = [series("a", None), series("b", None)];
        let name = |counts_in_flight: &[bool]| {
            ChartData {
                machine: None,
                thread_counts: &[1, 2],
                series: &all,
                counts_in_flight,
            }
            .count_name()
        };
        assert_eq!(name(&[]), "threads");
        assert_eq!(name(&[false, false]), "threads");
        assert_eq!(name(&[true, true]), "concurrency");
        assert_eq!(name(&[true, false]), "threads or tasks in flight");
    }
}
