//! The two sweep plots: throughput against threads (points with their 95% confidence
//! whiskers, a line through them, and ideal linear scaling from the 1-thread point), and
//! latency p50/p99 against threads. Every visible run of the session is drawn as an overlay
//! in its own colour; hovering a point shows its numbers.
//!
//! The series are built by small pure functions (tested without drawing) and only drawn
//! here; nothing is measured or computed beyond what the points already hold.

use eframe::egui;
use egui::{Color32, Rect, Ui};
use egui_plot::{
    GridInput, GridMark, HoverPosition, Line, LineStyle, MarkerShape, Plot, PlotPoint, PlotUi,
    Points, VLine,
};

use crate::model;
use crate::ui::axis::{self, TimeUnit};
use crate::ui::legend::{self, LegendEntry, LineKind, Marker};

use crate::result::Point;
use crate::ui::format;
use crate::ui::results;
use crate::ui::session::{Run, Session};

/// How the plots are drawn; remembered across restarts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PlotOptions {
    /// Thread axis in log₂ (1, 2, 4, 8 equally spaced) instead of linear.
    pub log_threads: bool,
    /// Draw ideal linear scaling from the 1-thread point.
    pub show_ideal: bool,
    /// Draw the 95% confidence whiskers.
    pub show_ci: bool,
    /// Draw the model for the run in the table: the USL fit, the bound, and vertical lines at
    /// the recommended and the formula's thread counts.
    pub show_model: bool,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            log_threads: false,
            show_ideal: true,
            show_ci: true,
            show_model: true,
        }
    }
}

/// Where a thread count goes on the x axis.
pub fn thread_x(threads: usize, log: bool) -> f64 {
    if log {
        (threads.max(1) as f64).log2()
    } else {
        threads as f64
    }
}

/// The thread count at x (the inverse of [`thread_x`]).
pub fn x_threads(x: f64, log: bool) -> f64 {
    if log { x.exp2() } else { x }
}

/// A run's measured points sorted by thread count.
fn sorted_points(run: &Run) -> Vec<&Point> {
    let mut points: Vec<&Point> = run.measured_points().collect();
    points.sort_by_key(|p| p.threads);
    points
}

/// `[x, throughput]` of each measured point, by thread count.
pub fn throughput_series(run: &Run, log: bool) -> Vec<[f64; 2]> {
    sorted_points(run)
        .into_iter()
        .map(|p| [thread_x(p.threads, log), p.throughput_per_s])
        .collect()
}

/// `[x, throughput]` of each measured point, split into the quiet points and the disturbed
/// ones (other processes used the CPUs meanwhile), which are drawn hollow.
pub fn throughput_series_by_disturbance(run: &Run, log: bool) -> (Vec<[f64; 2]>, Vec<[f64; 2]>) {
    let (disturbed, quiet): (Vec<&Point>, Vec<&Point>) =
        sorted_points(run).into_iter().partition(|p| p.disturbed);
    let xy = |points: Vec<&Point>| {
        points
            .into_iter()
            .map(|p| [thread_x(p.threads, log), p.throughput_per_s])
            .collect()
    };
    (xy(quiet), xy(disturbed))
}

/// One vertical segment per point with a known confidence interval: mean ± half-width.
pub fn ci_whiskers(run: &Run, log: bool) -> Vec<[[f64; 2]; 2]> {
    sorted_points(run)
        .into_iter()
        .filter(|p| p.throughput_ci95_per_s.is_finite() && p.throughput_ci95_per_s > 0.0)
        .map(|p| {
            let x = thread_x(p.threads, log);
            let (mean, half) = (p.throughput_per_s, p.throughput_ci95_per_s);
            [[x, mean - half], [x, mean + half]]
        })
        .collect()
}

/// Ideal linear scaling: the 1-thread throughput times the thread count (from the smallest
/// thread count measured when 1 was not), up to the largest thread count of the run and no
/// higher than `y_cap`, so that the line does not flatten the measured curve. In log mode the
/// line is sampled densely, since it is a curve there.
pub fn ideal_series(run: &Run, log: bool, y_cap: f64) -> Vec<[f64; 2]> {
    let points = sorted_points(run);
    let (Some(base), Some(last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    let per_thread = base.throughput_per_s / base.threads as f64;
    if !(per_thread.is_finite() && per_thread > 0.0) {
        return Vec::new();
    }
    let from = base.threads as f64;
    let mut to = run
        .planned_threads
        .iter()
        .copied()
        .max()
        .unwrap_or(last.threads)
        .max(last.threads) as f64;
    if y_cap.is_finite() && y_cap > 0.0 {
        to = to.min(y_cap / per_thread).max(from);
    }
    let samples = if log { 64 } else { 1 };
    (0..=samples)
        .map(|i| {
            let t = i as f64 / samples as f64;
            let threads = if log {
                from * (to / from).powf(t)
            } else {
                from + (to - from) * t
            };
            let x = if log { threads.log2() } else { threads };
            [x, per_thread * threads]
        })
        .collect()
}

/// Samples of a curve given as throughput per thread count, from 1 thread to a quarter past
/// the run's largest thread count, as `[x, throughput]`.
fn model_curve(run: &Run, log: bool, f: impl Fn(f64) -> f64) -> Vec<[f64; 2]> {
    let end = model::curve_end_threads(&run.points);
    model::sample_curve(f, 1.0, end, 200)
        .into_iter()
        .map(|[n, y]| [if log { n.log2() } else { n }, y])
        .collect()
}

/// The fitted USL curve of a finished run, as `[x, throughput]`; empty without a fit.
pub fn usl_series(run: &Run, log: bool) -> Vec<[f64; 2]> {
    match run.recommendation.as_ref().and_then(|r| r.usl.as_ref()) {
        Some(fit) => model_curve(run, log, |n| fit.throughput_per_s(n)),
        None => Vec::new(),
    }
}

/// The bound min(N / (W + C), N_cpu / C) of a finished run, as `[x, throughput]`.
pub fn bound_series(run: &Run, log: bool) -> Vec<[f64; 2]> {
    match &run.bound {
        Some(bound) => model_curve(run, log, |n| bound.throughput_per_s(n)),
        None => Vec::new(),
    }
}

/// `[x, latency in unit]` at the given percentile (0.50 or 0.99) of each measured point.
pub fn latency_series(run: &Run, log: bool, p99: bool, unit: TimeUnit) -> Vec<[f64; 2]> {
    sorted_points(run)
        .into_iter()
        .map(|p| {
            let us = if p99 {
                p.latency_p99_us
            } else {
                p.latency_p50_us
            };
            [thread_x(p.threads, log), unit.from_us(us)]
        })
        .filter(|[_, y]| y.is_finite())
        .collect()
}

/// Colours for the runs, told apart also in print (Okabe–Ito palette).
const RUN_COLORS: [Color32; 7] = [
    Color32::from_rgb(0, 114, 178),
    Color32::from_rgb(230, 159, 0),
    Color32::from_rgb(0, 158, 115),
    Color32::from_rgb(204, 121, 167),
    Color32::from_rgb(86, 180, 233),
    Color32::from_rgb(213, 94, 0),
    Color32::from_rgb(240, 228, 66),
];

/// The colour of a run, the same in both plots and the runs list.
pub fn run_color(run_id: u64) -> Color32 {
    RUN_COLORS[(run_id % RUN_COLORS.len() as u64) as usize]
}

/// Marks at every power of two on a log₂ axis (threads here, memory on the Worker cost tab).
pub(crate) fn log2_grid(input: GridInput) -> Vec<GridMark> {
    let (min, max) = input.bounds;
    if !(min.is_finite() && max.is_finite()) || max - min > 64.0 {
        return Vec::new();
    }
    // Marks inside the bounds only: egui_plot labels every mark it is given, and one just
    // outside lands on the plot's title or the axis below.
    (min.ceil() as i64..=max.floor() as i64)
        .map(|k| GridMark {
            value: k as f64,
            step_size: 1.0,
        })
        .collect()
}

/// The point of a visible run drawn at `position`, with its run.
fn point_at(
    session: &Session,
    position: PlotPoint,
    log: bool,
    value: impl Fn(&Point) -> f64,
) -> Option<(&Run, &Point)> {
    session
        .visible_runs()
        .flat_map(|run| run.measured_points().map(move |p| (run, p)))
        .find(|(_, p)| {
            let y = value(p);
            (thread_x(p.threads, log) - position.x).abs() < 1e-9
                && (y - position.y).abs() <= 1e-9 * y.abs().max(1.0)
        })
}

/// What a run's throughput is counted in: "tasks", or a command's `work_unit`.
fn run_unit(run: &Run) -> &str {
    model::throughput_unit(&run.preset.workload)
}

/// The throughput axis' title: in the visible runs' unit when they share one ("throughput
/// (bytes/s)"), "per second" when they differ (each point's hover names its own).
pub fn throughput_axis_label(session: &Session) -> String {
    let mut units = session.visible_runs().map(run_unit);
    let first = units.next().unwrap_or("tasks");
    if units.all(|unit| unit == first) {
        format!("throughput ({first}/s)")
    } else {
        "throughput (per second; units differ between runs)".to_owned()
    }
}

/// What hovering a point shows.
pub fn point_summary(run: &Run, p: &Point) -> String {
    let mut summary = format!(
        "{}\n{} threads\nthroughput {} ± {}\nlatency p50 {}, p99 {}\nCPU {}\npeak RSS {}\nother processes {}",
        run.name,
        p.threads,
        results::unit_rate(p.throughput_per_s, run_unit(run)),
        results::unit_rate(p.throughput_ci95_per_s, run_unit(run)),
        format::micros(p.latency_p50_us),
        format::micros(p.latency_p99_us),
        format::cpus(p.cpu_utilization),
        format::peak_rss(p),
        format::cpus(p.other_cpu_utilization),
    );
    if p.disturbed {
        summary.push_str(
            "\ndisturbed (hollow): other processes used the CPUs; not this workload's alone",
        );
    }
    if let Some(note) = noise_note(run, p) {
        summary.push('\n');
        summary.push_str(&note);
    }
    if p.retried_trials > 0 {
        let trials = if p.retried_trials == 1 {
            "trial"
        } else {
            "trials"
        };
        summary.push_str(&format!("\n{} {trials} measured again", p.retried_trials));
    }
    summary
}

/// What a point's ring means, for a point of a finished run within noise of its best.
fn noise_note(run: &Run, p: &Point) -> Option<String> {
    let recommendation = run.recommendation.as_ref()?;
    let within = recommendation
        .within_noise_threads
        .as_ref()
        .filter(|within| within.len() > 1 && within.contains(&p.threads))?;
    let others = within.len() - 1;
    Some(match recommendation.best_measured_threads {
        Some(best) if best == p.threads => format!(
            "the best measured (ringed, with {} within noise of it)",
            crate::words::counted_usize(others, "other count", "other counts")
        ),
        Some(best) => format!(
            "within noise of the best ({}, ringed): not significantly slower",
            crate::words::counted_usize(best, "thread", "threads")
        ),
        None => "within noise of the best (ringed)".to_owned(),
    })
}

fn thread_axis_label(x: f64, log: bool) -> String {
    let threads = x_threads(x, log);
    if (threads - threads.round()).abs() < 1e-6 && threads >= 0.0 {
        format!("{}", threads.round())
    } else if log {
        String::new()
    } else {
        format!("{threads:.1}")
    }
}

/// Draws both plots, each with its legend above it, splitting `ui`'s height between them,
/// and returns the screen rectangle that holds them (for the PNG export).
///
/// `configured_threads` is the largest thread count of the configuration being edited: with
/// no run shown, the empty plots already span the sweep it would run.
pub fn plots_ui(
    ui: &mut Ui,
    session: &Session,
    options: &PlotOptions,
    configured_threads: usize,
) -> Rect {
    let top = ui.cursor().min;
    let empty = session.visible_runs().next().is_none();
    let axis = ThreadAxis {
        last_threads: if empty {
            configured_threads.max(2) as f64
        } else {
            last_threads(session, options)
        },
        empty,
        // Every visible run on an async pool: its count is tasks in flight, not threads.
        concurrency: !empty
            && session
                .visible_runs()
                .all(|run| run.preset.pool.counts_tasks_in_flight()),
    };
    let colors = ModelColors::for_theme(ui.visuals().dark_mode);
    if ui.available_height() < SIDE_BY_SIDE_BELOW_HEIGHT
        && ui.available_width() >= SIDE_BY_SIDE_MIN_WIDTH
    {
        // A short window (1024×700 at 125%): the plots side by side at the full height,
        // rather than two stacked plots too flat to read or a table pushed off the screen.
        ui.columns(2, |columns| {
            legend::legend_ui(
                &mut columns[0],
                &throughput_legend(session, options, &colors),
                None,
            );
            let height = (columns[0].available_height() - 4.0).max(MIN_SIDE_PLOT_HEIGHT);
            throughput_plot_ui(&mut columns[0], session, options, height, axis, &colors);
            legend::legend_ui(&mut columns[1], &latency_legend(session), Some(ZOOM_HINT));
            let height = (columns[1].available_height() - 4.0).max(MIN_SIDE_PLOT_HEIGHT);
            latency_plot_ui(&mut columns[1], session, options, height, axis);
        });
        return Rect::from_min_max(top, egui::pos2(ui.max_rect().right(), ui.cursor().min.y));
    }
    legend::legend_ui(ui, &throughput_legend(session, options, &colors), None);
    // The latency plot's legend is one row, its labels need about 120 points to read.
    let below = LATENCY_LEGEND_HEIGHT + 4.0;
    let plots_height = ui.available_height() - below;
    let throughput_height = (plots_height * 0.58).max(120.0);
    throughput_plot_ui(ui, session, options, throughput_height, axis, &colors);
    legend::legend_ui(ui, &latency_legend(session), Some(ZOOM_HINT));
    let latency_height = (ui.available_height() - 4.0).max(110.0);
    latency_plot_ui(ui, session, options, latency_height, axis);
    Rect::from_min_max(top, egui::pos2(ui.max_rect().right(), ui.cursor().min.y))
}

/// How to move about the plots, beside the latency plot's legend. Both plots share the
/// thread axis, so zooming or panning one moves the other.
pub const ZOOM_HINT: &str = "drag: pan · Ctrl+scroll: zoom · double-click: reset";

/// About one row of the legend.
const LATENCY_LEGEND_HEIGHT: f32 = 20.0;

/// Below this height (in points) for both plots with their legends, and from
/// [`SIDE_BY_SIDE_MIN_WIDTH`] on, the two plots stand side by side instead of stacked: stacked,
/// each would need about 130 points of the height (120 for the throughput plot, 110 for the
/// latency plot, and their legends).
const SIDE_BY_SIDE_BELOW_HEIGHT: f32 = 280.0;
/// The least width for two plots side by side (each about 350 points wide).
const SIDE_BY_SIDE_MIN_WIDTH: f32 = 700.0;
/// The least height of a plot side by side with the other.
const MIN_SIDE_PLOT_HEIGHT: f32 = 100.0;

/// The largest thread count either plot shows, so that both share one thread axis: the
/// runs' planned and measured counts, and how far the model's curves are drawn.
fn last_threads(session: &Session, options: &PlotOptions) -> f64 {
    let measured = session
        .visible_runs()
        .flat_map(|run| {
            run.planned_threads
                .iter()
                .chain(run.points.iter().map(|p| &p.threads))
        })
        .copied()
        .max()
        .unwrap_or(1) as f64;
    let model = session
        .selected()
        .filter(|run| options.show_model && run.visible && run.recommendation.is_some())
        .map_or(1.0, |run| model::curve_end_threads(&run.points));
    measured.max(model)
}

/// How far the thread axis of both plots goes, and whether there is anything to draw.
#[derive(Debug, Clone, Copy)]
struct ThreadAxis {
    last_threads: f64,
    empty: bool,
    /// Label the axis "concurrency" (async pools' tasks in flight) rather than "threads".
    concurrency: bool,
}

/// The colours of what is not a run's own line. None of them is a run colour
/// ([`RUN_COLORS`]), so a run, its fit and its ideal line are told apart by colour as well as
/// by style.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelColors {
    /// Ideal linear scaling (dashed).
    pub ideal: Color32,
    /// The USL fit (dotted).
    pub usl: Color32,
    /// The bound (solid, thin).
    pub bound: Color32,
    /// The formula's thread count (dotted vertical).
    pub formula: Color32,
    /// The ring around the counts within noise of the best.
    pub within_noise: Color32,
}

impl ModelColors {
    /// Greys and the text's own contrast, for a dark or a light background.
    pub fn for_theme(dark: bool) -> ModelColors {
        let (strong, mid, soft) = if dark {
            (
                Color32::from_gray(235),
                Color32::from_gray(160),
                Color32::from_gray(115),
            )
        } else {
            (
                Color32::from_gray(20),
                Color32::from_gray(110),
                Color32::from_gray(150),
            )
        };
        ModelColors {
            ideal: mid,
            usl: strong,
            bound: soft,
            formula: mid,
            within_noise: strong,
        }
    }
}

/// The run whose model is drawn: the one in the table, when it is shown and the model is on.
fn model_run<'s>(session: &'s Session, options: &PlotOptions) -> Option<&'s Run> {
    session
        .selected()
        .filter(|run| run.visible && options.show_model)
}

/// `[x, throughput]` of the points of a finished run that are within noise of its best
/// measured count (not significantly below it), when more than the best is.
pub fn within_noise_series(run: &Run, log: bool) -> Vec<[f64; 2]> {
    let Some(within) = run
        .recommendation
        .as_ref()
        .and_then(|r| r.within_noise_threads.as_ref())
        .filter(|within| within.len() > 1)
    else {
        return Vec::new();
    };
    sorted_points(run)
        .into_iter()
        .filter(|p| within.contains(&p.threads))
        .map(|p| [thread_x(p.threads, log), p.throughput_per_s])
        .collect()
}

/// The legend of the throughput plot: every visible run (solid line, filled dots), then what
/// is drawn besides: hollow dots for disturbed points, the ideal line, and the model of the
/// run in the table.
pub fn throughput_legend(
    session: &Session,
    options: &PlotOptions,
    colors: &ModelColors,
) -> Vec<LegendEntry> {
    let mut entries: Vec<LegendEntry> = session
        .visible_runs()
        .map(|run| {
            LegendEntry::new(
                run.name.clone(),
                run_color(run.id),
                LineKind::Solid,
                Marker::Dot,
            )
            .meaning("Measured throughput at each thread count; the whiskers are its 95% confidence interval.")
        })
        .collect();
    let any_disturbed = session
        .visible_runs()
        .any(|run| run.measured_points().any(|p| p.disturbed));
    if any_disturbed {
        entries.push(
            LegendEntry::new("disturbed", colors.usl, LineKind::None, Marker::HollowDot).meaning(
                "Hollow: other processes used the CPUs while this point was measured, so it is not this workload's alone.",
            ),
        );
    }
    if options.show_ideal
        && session
            .visible_runs()
            .any(|run| run.measured_points().next().is_some())
    {
        entries.push(
            LegendEntry::new("ideal linear scaling", colors.ideal, LineKind::Dashed, Marker::None)
                .meaning("Each run's 1-thread throughput times the thread count: what perfect scaling would give."),
        );
    }
    let Some(run) = model_run(session, options) else {
        return entries;
    };
    if !within_noise_series(run, false).is_empty() {
        entries.push(
            LegendEntry::new("within noise of the best", colors.within_noise, LineKind::None, Marker::Ring)
                .meaning("Ringed: thread counts whose throughput is not significantly below the best measured (a one-sided t-test on the trials at 95%); the trials cannot tell them apart."),
        );
    }
    if !usl_series(run, false).is_empty() {
        entries.push(
            LegendEntry::new("USL fit", colors.usl, LineKind::Dotted, Marker::None).meaning(
                "The Universal Scalability Law (Gunther) fitted to the points of the run in the table.",
            ),
        );
    }
    if run.bound.is_some() {
        entries.push(
            LegendEntry::new("bound min(N/(W+C), N_cpu/C)", colors.bound, LineKind::Solid, Marker::None)
                .meaning("The most throughput N threads could give with the measured compute C and wait W per task; it may run off the top of the plot."),
        );
    }
    if let Some(recommendation) = &run.recommendation {
        if let Some(threads) = recommendation.recommended_threads {
            entries.push(LegendEntry::new(
                format!("recommended: {threads} threads"),
                RECOMMENDED_COLOR,
                LineKind::Vertical,
                Marker::None,
            ));
        }
        if let Some(threads) = recommendation
            .formula_threads
            .filter(|n| n.is_finite() && *n > 0.0)
        {
            entries.push(LegendEntry::new(
                format!("formula N_cpu×U×(1+W/C): {threads:.1}"),
                colors.formula,
                LineKind::VerticalDotted,
                Marker::None,
            ));
        }
    }
    entries
}

/// The legend of the latency plot: each visible run's p50 (solid, dots) and p99 (dashed,
/// diamonds) in the run's colour.
pub fn latency_legend(session: &Session) -> Vec<LegendEntry> {
    session
        .visible_runs()
        .flat_map(|run| {
            let color = run_color(run.id);
            [
                LegendEntry::new(
                    format!("{} p50", run.name),
                    color,
                    LineKind::Solid,
                    Marker::Dot,
                )
                .meaning("Median task latency: from submitting a task to it finishing."),
                LegendEntry::new(
                    format!("{} p99", run.name),
                    color,
                    LineKind::Dashed,
                    Marker::Diamond,
                )
                .meaning("99th percentile task latency."),
            ]
        })
        .collect()
}

/// The unit of the latency plot: the one its largest p99 reads best in.
fn latency_unit(session: &Session) -> TimeUnit {
    TimeUnit::for_max_us(
        session
            .visible_runs()
            .flat_map(|run| run.measured_points())
            .map(|p| p.latency_p99_us.max(p.latency_p50_us))
            .filter(|us| us.is_finite())
            .fold(f64::NAN, f64::max),
    )
}

/// Both plots' x axes are one: zoomed and panned together.
const THREAD_AXIS_GROUP: &str = "sweep_thread_axis";

/// The x-axis hints of a thread axis: thread counts are short labels, and egui_plot's x
/// default (hidden below 60 points apart) left a plot 350 points wide with a single "10".
fn thread_axis_hints<'a>() -> Vec<egui_plot::AxisHints<'a>> {
    vec![egui_plot::AxisHints::new_x().label_spacing(
        (axis::THREAD_LABEL_SPACING_PX as f32 - 12.0)..=axis::THREAD_LABEL_SPACING_PX as f32,
    )]
}

/// `plot` with a linear thread count on x (the compare chart, the replay's curve): whole
/// threads, 1-2-5 steps [`axis::THREAD_LABEL_SPACING_PX`] apart, labelled without decimals,
/// and a y axis of 1-2-5 steps far enough apart to read.
pub fn with_linear_thread_x<'a>(plot: Plot<'a>) -> Plot<'a> {
    plot.custom_x_axes(thread_axis_hints())
        .x_grid_spacer(axis::nice_thread_grid)
        .x_axis_formatter(|mark, _range| thread_axis_label(mark.value, false))
        .y_grid_spacer(axis::nice_grid)
        .y_axis_formatter(|mark, _range| axis::tick_label(mark))
}

/// `plot` with time on x and a thread count on y (the live tuner, the replay's paths):
/// seconds in 1-2-5 steps, whole threads on y.
pub fn with_time_x_thread_y<'a>(plot: Plot<'a>) -> Plot<'a> {
    plot.x_grid_spacer(axis::nice_grid)
        .x_axis_formatter(|mark, _range| axis::tick_label(mark))
        .y_grid_spacer(axis::nice_thread_grid)
        .y_axis_formatter(|mark, _range| thread_axis_label(mark.value, false))
}

/// `plot` with time on x and any quantity on y: both in 1-2-5 steps far enough apart to read.
pub fn with_time_x<'a>(plot: Plot<'a>) -> Plot<'a> {
    plot.x_grid_spacer(axis::nice_grid)
        .x_axis_formatter(|mark, _range| axis::tick_label(mark))
        .y_grid_spacer(axis::nice_grid)
        .y_axis_formatter(|mark, _range| axis::tick_label(mark))
}

fn base_plot<'a>(id: &str, options: &PlotOptions, height: f32, axis: ThreadAxis) -> Plot<'a> {
    let log = options.log_threads;
    let last_threads = axis.last_threads;
    let plot = Plot::new(id.to_owned())
        .height(height)
        .link_axis(egui::Id::unique(THREAD_AXIS_GROUP), [true, false])
        .custom_x_axes(thread_axis_hints())
        .x_axis_label(match (axis.concurrency, log) {
            (false, true) => "threads (log₂ scale)",
            (false, false) => "threads",
            (true, true) => "concurrency: tasks in flight (log₂ scale)",
            (true, false) => "concurrency: tasks in flight",
        })
        .x_axis_formatter(move |mark, _range| thread_axis_label(mark.value, log))
        .y_grid_spacer(axis::nice_grid)
        .y_axis_formatter(|mark, _range| axis::tick_label(mark))
        .include_x(thread_x(1, log))
        .include_x(if log {
            last_threads.log2()
        } else {
            last_threads
        })
        .include_y(0.0)
        // With nothing drawn yet the axis starts at 0 instead of centring on it.
        .include_y(if axis.empty { 1.0 } else { 0.0 })
        .allow_scroll(false);
    // Linear: 1-2-5 steps far enough apart to read.
    let spacer: fn(GridInput) -> Vec<GridMark> = if log {
        log2_grid
    } else {
        axis::nice_thread_grid
    };
    plot.x_grid_spacer(spacer)
}

fn throughput_plot_ui(
    ui: &mut Ui,
    session: &Session,
    options: &PlotOptions,
    height: f32,
    axis: ThreadAxis,
    colors: &ModelColors,
) {
    let log = options.log_threads;
    // The model is drawn for one run, the one whose table is shown, to keep the chart readable.
    let model_run = model_run(session, options);
    // The y range follows the data: lines of the model are cut where they pass above it.
    let ceiling = axis::data_ceiling(
        session
            .visible_runs()
            .flat_map(|r| r.measured_points())
            .map(|p| p.throughput_per_s + p.throughput_ci95_per_s.max(0.0)),
    );
    let y_cap = ceiling.unwrap_or(f64::INFINITY);
    base_plot("throughput_plot", options, height, axis)
        .y_axis_label(throughput_axis_label(session))
        .label_formatter(move |hover| match hover {
            HoverPosition::NearDataPoint { position, .. } => {
                point_at(session, *position, log, |p| p.throughput_per_s)
                    .map(|(run, p)| point_summary(run, p))
            }
            HoverPosition::Elsewhere { .. } => None,
        })
        .show(ui, |plot_ui| {
            for run in session.visible_runs() {
                let color = run_color(run.id);
                let series = throughput_series(run, log);
                if options.show_ideal {
                    let ideal = ideal_series(run, log, y_cap);
                    if !ideal.is_empty() {
                        plot_ui.line(
                            Line::new("ideal linear scaling", ideal)
                                .color(colors.ideal)
                                .style(LineStyle::dashed_loose())
                                .allow_hover(false),
                        );
                    }
                }
                if options.show_ci {
                    for [low, high] in ci_whiskers(run, log) {
                        plot_ui.line(
                            Line::new(run.name.clone(), vec![low, high])
                                .color(color)
                                .width(1.5)
                                .allow_hover(false),
                        );
                    }
                }
                plot_ui.line(
                    Line::new(run.name.clone(), series)
                        .color(color)
                        .width(1.5)
                        .allow_hover(false),
                );
                let (quiet, disturbed) = throughput_series_by_disturbance(run, log);
                measured_points_ui(plot_ui, &run.name, color, quiet, disturbed);
            }
            if let Some(run) = model_run {
                model_ui(plot_ui, run, log, y_cap, colors);
            }
        });
}

/// Draws the measured points of a series named `name`: the quiet ones filled, the disturbed
/// ones (other processes used the CPUs while they were measured) hollow. The sweep's and the
/// comparison's charts draw them the same way.
pub fn measured_points_ui(
    plot_ui: &mut PlotUi<'_>,
    name: &str,
    color: Color32,
    quiet: Vec<[f64; 2]>,
    disturbed: Vec<[f64; 2]>,
) {
    plot_ui.points(
        Points::new(name.to_owned(), quiet)
            .color(color)
            .radius(4.0)
            .shape(MarkerShape::Circle)
            .filled(true),
    );
    if !disturbed.is_empty() {
        plot_ui.points(
            Points::new(name.to_owned(), disturbed)
                .color(color)
                .radius(4.5)
                .shape(MarkerShape::Circle)
                .filled(false),
        );
    }
}

/// The model of one run: the counts within noise of its best, the USL fit and the bound (cut
/// at `y_cap`, the top of the data), the recommended and the formula's thread counts. Drawn
/// for one run only, so the legend names them without the run's name.
fn model_ui(plot_ui: &mut PlotUi<'_>, run: &Run, log: bool, y_cap: f64, colors: &ModelColors) {
    let within = within_noise_series(run, log);
    if !within.is_empty() {
        plot_ui.points(
            Points::new("within noise of the best", within)
                .color(colors.within_noise)
                .radius(8.0)
                .shape(MarkerShape::Circle)
                .filled(false)
                .allow_hover(false),
        );
    }
    for part in axis::clip_to_ceiling(&usl_series(run, log), y_cap) {
        plot_ui.line(
            Line::new("USL fit", part)
                .color(colors.usl)
                .style(LineStyle::dotted_dense())
                .width(1.5)
                .allow_hover(false),
        );
    }
    for part in axis::clip_to_ceiling(&bound_series(run, log), y_cap) {
        plot_ui.line(
            Line::new("bound min(N/(W+C), N_cpu/C)", part)
                .color(colors.bound)
                .width(1.0)
                .allow_hover(false),
        );
    }
    let Some(recommendation) = &run.recommendation else {
        return;
    };
    if let Some(threads) = recommendation.recommended_threads {
        plot_ui.vline(
            VLine::new(
                format!("recommended: {threads} threads"),
                thread_x(threads, log),
            )
            .color(RECOMMENDED_COLOR)
            .width(2.0)
            .allow_hover(false),
        );
    }
    if let Some(threads) = recommendation
        .formula_threads
        .filter(|n| n.is_finite() && *n > 0.0)
    {
        let x = if log { threads.log2() } else { threads };
        plot_ui.vline(
            VLine::new(format!("formula N_cpu×U×(1+W/C): {threads:.1}"), x)
                .color(colors.formula)
                .style(LineStyle::dotted_loose())
                .width(1.5)
                .allow_hover(false),
        );
    }
}

/// The recommended thread count stands apart from every run colour.
const RECOMMENDED_COLOR: Color32 = Color32::from_rgb(0, 200, 83);

fn latency_plot_ui(
    ui: &mut Ui,
    session: &Session,
    options: &PlotOptions,
    height: f32,
    axis: ThreadAxis,
) {
    let log = options.log_threads;
    let unit = latency_unit(session);
    base_plot("latency_plot", options, height, axis)
        .y_axis_label(format!("task latency ({})", unit.symbol()))
        .label_formatter(move |hover| match hover {
            HoverPosition::NearDataPoint { position, .. } => {
                let p50 = point_at(session, *position, log, |p| unit.from_us(p.latency_p50_us));
                let p99 = point_at(session, *position, log, |p| unit.from_us(p.latency_p99_us));
                p50.or(p99).map(|(run, p)| point_summary(run, p))
            }
            HoverPosition::Elsewhere { .. } => None,
        })
        .show(ui, |plot_ui| {
            for run in session.visible_runs() {
                let color = run_color(run.id);
                for (p99, style, shape) in [
                    (false, LineStyle::Solid, MarkerShape::Circle),
                    (true, LineStyle::dashed_dense(), MarkerShape::Diamond),
                ] {
                    let name = format!("{} {}", run.name, if p99 { "p99" } else { "p50" });
                    let series = latency_series(run, log, p99, unit);
                    plot_ui.line(
                        Line::new(name.clone(), series.clone())
                            .color(color)
                            .style(style)
                            .allow_hover(false),
                    );
                    plot_ui.points(
                        Points::new(name, series)
                            .color(color)
                            .radius(3.5)
                            .shape(shape)
                            .filled(true),
                    );
                }
            }
        });
}

/// The model's inputs: U in the formula and an optional p99 latency target. Returns the new
/// options when the user changed them.
pub fn model_options_ui(
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
        // In µs, as the recommendation's sentence and `--p99-target-us` say it.
        let mut us = options.p99_target_us.unwrap_or(P99_TARGET_DEFAULT_US);
        ui.add(
            egui::DragValue::new(&mut us)
                .range(1.0..=600_000_000.0)
                .speed(10.0)
                .fixed_decimals(0)
                .suffix(" µs"),
        )
        .on_hover_text("p99 latency target, in microseconds (10000 µs = 10 ms), the unit the recommendation states it in");
        options.p99_target_us = Some(us);
    } else {
        options.p99_target_us = None;
    }
    (options != current).then_some(options)
}

/// The p99 target a newly ticked "p99 target" starts from: 10 ms.
const P99_TARGET_DEFAULT_US: f64 = 10_000.0;

/// The plot settings above the plots: the thread axis, ideal scaling, CI whiskers, the model.
pub fn options_ui(ui: &mut egui::Ui, plot: &mut PlotOptions) {
    ui.label("Thread axis").on_hover_text(
        "Log₂ spaces 1, 2, 4, 8, … equally, which suits sweeps that double the threads.",
    );
    ui.radio_value(&mut plot.log_threads, false, "linear");
    ui.radio_value(&mut plot.log_threads, true, "log₂");
    ui.separator();
    ui.checkbox(&mut plot.show_ideal, "ideal scaling")
        .on_hover_text("Dashed: the 1-thread throughput times the thread count, what perfect scaling would give.");
    ui.checkbox(&mut plot.show_ci, "95% CI whiskers")
        .on_hover_text(
            "The 95% confidence interval of each throughput, from the spread of its trials.",
        );
    ui.checkbox(&mut plot.show_model, "model")
        .on_hover_text("For the run in the table: the fitted scalability curve (USL, Gunther), the bound min(N/(W+C), N_cpu/C), and vertical lines at the recommended thread count and at the formula's N = N_cpu × U × (1 + W/C).");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{PoolSpec, Preset, SweepSpec, WorkloadSpec};
    use crate::ui::session::tests::{finished, measured};

    fn point(threads: usize, throughput: f64, ci: f64) -> Point {
        let mut p = Point::failed(threads, "x");
        p.error = None;
        p.throughput_per_s = throughput;
        p.throughput_ci95_per_s = ci;
        p.latency_p50_us = 1000.0;
        p.latency_p99_us = 3000.0;
        p
    }

    fn run_with(points: Vec<Point>) -> Session {
        run_of(WorkloadSpec::Cpu { compute_us: 1 }, points)
    }

    /// A session with one run of `workload` that measured `points`.
    fn run_of(workload: WorkloadSpec, points: Vec<Point>) -> Session {
        let mut session = Session::default();
        let id = session.start(Preset {
            schema_version: 1,
            name: "r".into(),
            description: String::new(),
            workload,
            pool: PoolSpec::Rayon,
            sweep: SweepSpec {
                search: Default::default(),
                target_ci: None,
                threads: Some(vec![4, 1, 2]),
                threads_range: None,
                trials: 3,
                tasks_per_trial: Some(1),
                trial_ms: None,
                warmup_ms: 0,
                retry_disturbed: 1,
            },
            folder: None,
        });
        for p in points {
            session.apply(id, measured(p));
        }
        session
    }

    #[test]
    fn disturbed_points_are_drawn_apart_and_their_hover_says_so() {
        let mut busy = point(2, 190.0, 5.0);
        busy.disturbed = true;
        busy.other_cpu_utilization = 1.4;
        busy.retried_trials = 2;
        let mut quiet = point(1, 100.0, 5.0);
        quiet.other_cpu_utilization = 0.02;
        let session = run_with(vec![quiet.clone(), busy.clone(), point(4, 300.0, 10.0)]);
        let run = &session.runs()[0];
        let (filled, hollow) = throughput_series_by_disturbance(run, false);
        assert_eq!(filled, vec![[1.0, 100.0], [4.0, 300.0]]);
        assert_eq!(hollow, vec![[2.0, 190.0]]);
        let summary = point_summary(run, &busy);
        assert!(summary.contains("other processes 1.40 CPUs"), "{summary}");
        assert!(summary.contains("disturbed"), "{summary}");
        assert!(summary.contains("2 trials measured again"), "{summary}");
        let summary = point_summary(run, &quiet);
        assert!(summary.contains("other processes 0.02 CPUs"), "{summary}");
        assert!(!summary.contains("disturbed"), "{summary}");
    }

    #[test]
    fn a_command_runs_axis_and_hover_say_its_unit() {
        let tasks = run_with(vec![point(1, 100.0, 5.0)]);
        assert_eq!(throughput_axis_label(&tasks), "throughput (tasks/s)");
        let hover = point_summary(&tasks.runs()[0], &point(1, 1905.0, 5.0));
        assert!(
            hover.contains("throughput 1905 tasks/s ± 5.0 tasks/s"),
            "{hover}"
        );

        let command: crate::spec::CommandSpec =
            toml::from_str("run = [\"xz\", \"-T{threads}\"]\nwork_unit = \"bytes\"\n")
                .expect("a command spec");
        let mut p = point(2, 16_892_923.0, 5.0);
        p.throughput_ci95_per_s = 120_000.0;
        let bytes = run_of(WorkloadSpec::Command(command), vec![p.clone()]);
        assert_eq!(throughput_axis_label(&bytes), "throughput (bytes/s)");
        let hover = point_summary(&bytes.runs()[0], &p);
        assert!(
            hover.contains("throughput 16.9 M bytes/s ± 120000 bytes/s"),
            "{hover}"
        );
    }

    #[test]
    fn series_are_sorted_by_threads_and_skip_failures() {
        let session = run_with(vec![
            point(4, 300.0, 10.0),
            point(1, 100.0, 5.0),
            Point::failed(3, "boom"),
            point(2, 190.0, f64::NAN),
        ]);
        let run = &session.runs()[0];
        assert_eq!(
            throughput_series(run, false),
            vec![[1.0, 100.0], [2.0, 190.0], [4.0, 300.0]]
        );
        assert_eq!(
            throughput_series(run, true),
            vec![[0.0, 100.0], [1.0, 190.0], [2.0, 300.0]]
        );
        // No whisker where the interval is unknown.
        assert_eq!(
            ci_whiskers(run, false),
            vec![[[1.0, 95.0], [1.0, 105.0]], [[4.0, 290.0], [4.0, 310.0]]]
        );
        assert_eq!(
            latency_series(run, false, true, TimeUnit::Millis)[0],
            [1.0, 3.0]
        );
    }

    #[test]
    fn ideal_scaling_starts_at_one_thread_and_is_capped() {
        let session = run_with(vec![point(1, 100.0, 0.0), point(4, 300.0, 0.0)]);
        let run = &session.runs()[0];
        assert_eq!(
            ideal_series(run, false, f64::INFINITY),
            vec![[1.0, 100.0], [4.0, 400.0]]
        );
        let capped = ideal_series(run, false, 250.0);
        assert_eq!(capped.last().unwrap(), &[2.5, 250.0]);
        let log = ideal_series(run, true, f64::INFINITY);
        assert_eq!(log.len(), 65);
        let [x, y] = *log.last().unwrap();
        assert!((x - 2.0).abs() < 1e-9 && (y - 400.0).abs() < 1e-6);
    }

    #[test]
    fn a_finished_run_carries_the_model_curves() {
        use crate::model::fixtures;
        let result = fixtures::result(fixtures::web_points(), fixtures::WEB);
        let mut session = Session::default();
        let id = session.start(result.preset.clone());
        assert!(usl_series(&session.runs()[0], false).is_empty());
        session.apply(id, finished(&result));
        let run = &session.runs()[0];
        let recommendation = run.recommendation.as_ref().unwrap();
        assert_eq!(recommendation.recommended_threads, Some(20));
        // The bound: 100 tasks/s per thread (W + C = 10 ms), capped by 2 CPUs / 1 ms = 2000/s,
        // drawn from 1 thread to a quarter past the last (40 × 1.25 = 50).
        let bound = bound_series(run, false);
        assert_eq!(bound.first().unwrap(), &[1.0, 100.0]);
        assert_eq!(bound.last().unwrap(), &[50.0, 2000.0]);
        let usl = usl_series(run, true);
        assert_eq!(usl.len(), 200);
        assert_eq!(usl.first().unwrap()[0], 0.0);
        assert!((usl.last().unwrap()[0] - 50f64.log2()).abs() < 1e-12);
    }

    /// A session holding the finished web-service fixture run, selected, with the counts
    /// `within` said to be within noise of its best.
    fn finished_web_run(within: Option<Vec<usize>>) -> Session {
        use crate::model::fixtures;
        let result = fixtures::result(fixtures::web_points(), fixtures::WEB);
        let mut session = Session::default();
        let id = session.start(result.preset.clone());
        session.apply(id, finished(&result));
        session.select(id);
        let run = session.get_mut(id).unwrap();
        run.recommendation.as_mut().unwrap().within_noise_threads = within;
        session
    }

    #[test]
    fn the_legend_names_each_lines_style_and_no_model_line_wears_a_run_colour() {
        let session = finished_web_run(Some(vec![20, 24]));
        let run = &session.runs()[0];
        let colors = ModelColors::for_theme(true);
        let legend = throughput_legend(&session, &PlotOptions::default(), &colors);
        let described: Vec<String> = legend.iter().map(LegendEntry::accessible_name).collect();
        assert_eq!(
            described,
            [
                format!("{}: solid line, filled dots", run.name),
                "ideal linear scaling: dashed line".to_owned(),
                "within noise of the best: rings".to_owned(),
                "USL fit: dotted line".to_owned(),
                "bound min(N/(W+C), N_cpu/C): solid line".to_owned(),
                "recommended: 20 threads: solid vertical line".to_owned(),
                format!(
                    "formula N_cpu×U×(1+W/C): {:.1}: dotted vertical line",
                    run.recommendation
                        .as_ref()
                        .unwrap()
                        .formula_threads
                        .unwrap()
                ),
            ]
        );
        assert_eq!(legend[0].color, run_color(run.id));
        for entry in &legend[1..] {
            assert!(
                !RUN_COLORS.contains(&entry.color),
                "{} shares a run's colour",
                entry.name
            );
        }
        // Without the model the legend is the run and its ideal line; the latency legend
        // tells p50 from p99 by style.
        let plain = PlotOptions {
            show_model: false,
            ..PlotOptions::default()
        };
        assert_eq!(throughput_legend(&session, &plain, &colors).len(), 2);
        let latency: Vec<String> = latency_legend(&session)
            .iter()
            .map(LegendEntry::style)
            .collect();
        assert_eq!(
            latency,
            ["solid line, filled dots", "dashed line, diamonds"]
        );
    }

    #[test]
    fn counts_within_noise_of_the_best_are_ringed_and_their_hover_says_why() {
        let session = finished_web_run(Some(vec![20, 24]));
        let run = &session.runs()[0];
        let ringed: Vec<f64> = within_noise_series(run, false)
            .iter()
            .map(|[x, _]| *x)
            .collect();
        assert_eq!(ringed, [20.0, 24.0]);
        let at = |threads| run.points.iter().find(|p| p.threads == threads).unwrap();
        assert_eq!(
            run.recommendation.as_ref().unwrap().best_measured_threads,
            Some(24)
        );
        let best = point_summary(run, at(24));
        assert!(
            best.contains("the best measured (ringed, with 1 other count within noise of it)"),
            "{best}"
        );
        let near = point_summary(run, at(20));
        assert!(
            near.contains("within noise of the best (24 threads, ringed)"),
            "{near}"
        );
        assert!(!point_summary(run, at(1)).contains("noise"));
        // The best alone is no ring; nor is a run whose trials could not be tested.
        for within in [Some(vec![24]), None] {
            let session = finished_web_run(within);
            assert!(within_noise_series(&session.runs()[0], false).is_empty());
            let legend = throughput_legend(
                &session,
                &PlotOptions::default(),
                &ModelColors::for_theme(false),
            );
            assert!(legend.iter().all(|e| e.marker != Marker::Ring));
        }
    }

    #[test]
    fn the_latency_axis_is_in_the_unit_its_largest_value_reads_in() {
        let mut fast = point(1, 100.0, 1.0);
        fast.latency_p50_us = 51.0;
        fast.latency_p99_us = 72.0;
        let session = run_with(vec![fast]);
        assert_eq!(latency_unit(&session), TimeUnit::Micros);
        assert_eq!(
            latency_series(&session.runs()[0], false, true, TimeUnit::Micros),
            vec![[1.0, 72.0]]
        );
        let mut slow = point(2, 100.0, 1.0);
        slow.latency_p99_us = 81_000.0;
        assert_eq!(latency_unit(&run_with(vec![slow])), TimeUnit::Millis);
    }

    #[test]
    fn log_axis_labels_are_thread_counts() {
        assert_eq!(thread_axis_label(3.0, true), "8");
        assert_eq!(thread_axis_label(2.5, true), "");
        assert_eq!(thread_axis_label(6.0, false), "6");
    }
}
