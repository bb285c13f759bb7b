//! The live readings panel: a bar per logical CPU, total CPU and memory over the last minute,
//! and pooltune's own resident memory and thread count, drawn from the monitor's
//! [`History`]. Drawing only; the readings come from `crate::monitor`'s thread.

use eframe::egui;
use egui::{Color32, RichText, Sense, Stroke, StrokeKind, Ui, vec2};
use egui_plot::{Line, Plot};

use crate::monitor::{HISTORY_WINDOW, History};
use crate::ui::format;

/// What the panel shows besides the history.
pub struct LiveStatus<'a> {
    /// Why there are no readings, when the monitor could not start.
    pub unavailable: Option<&'a str>,
}

/// Draws the panel. `paused` is the "Pause" checkbox (readings stop arriving while it is set).
pub fn live_ui(ui: &mut Ui, history: &History, paused: &mut bool, status: &LiveStatus<'_>) {
    ui.horizontal(|ui| {
        ui.heading("Live readings");
        ui.checkbox(paused, "Pause").on_hover_text(
            "Stop taking readings (the window then uses no CPU at all while idle). The sweep itself is not affected.",
        );
    });
    if let Some(reason) = status.unavailable {
        ui.label(RichText::new(reason).color(ui.visuals().error_fg_color));
        return;
    }
    let Some(latest) = history.latest() else {
        ui.weak("Waiting for the first reading…");
        return;
    };

    ui.label(format!(
        "CPU per core (now, {} logical CPUs)",
        latest.per_core_percent.len()
    ))
    .on_hover_text("How busy each logical CPU was over the last reading interval, 0 to 100%.");
    core_bars_ui(ui, &latest.per_core_percent);

    ui.add_space(6.0);
    ui.label(format!(
        "Total CPU: {:.0}% (last minute below)",
        latest.total_cpu_percent
    ))
    .on_hover_text(
        "All CPUs together over the last minute, 0 to 100%. The whole machine, not only pooltune.",
    );
    minute_plot_ui(
        ui,
        "live_cpu",
        history.series(|s| s.total_cpu_percent as f64),
        100.0,
        ui.visuals().selection.bg_fill,
    );

    ui.add_space(6.0);
    let total_gib = latest.memory_total_bytes as f64 / (1u64 << 30) as f64;
    ui.label(format!(
        "Memory used: {} of {}",
        format::bytes(latest.memory_used_bytes),
        format::bytes(latest.memory_total_bytes)
    ))
    .on_hover_text(
        "Memory in use on the whole machine over the last minute (total minus available), in GiB.",
    );
    minute_plot_ui(
        ui,
        "live_memory",
        history.series(|s| s.memory_used_bytes as f64 / (1u64 << 30) as f64),
        total_gib,
        Color32::from_rgb(0, 158, 115),
    );

    ui.add_space(6.0);
    egui::Grid::new("process_readings")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("pooltune RSS")
                .on_hover_text("Memory this process holds in RAM now (resident set size), the measured workload included.");
            ui.label(format::bytes(latest.process_rss_bytes));
            ui.end_row();
            ui.label("pooltune threads")
                .on_hover_text("Threads of this process now: the window, the monitor, the engine and the pool being measured.");
            match latest.process_threads {
                Some(threads) => ui.label(threads.to_string()),
                None => ui.weak(
                    crate::platform::not_measured_text("thread_count")
                        .unwrap_or_else(|| format::UNKNOWN.to_owned()),
                ),
            };
            ui.end_row();
        });
}

/// One vertical bar per logical CPU, painted directly (a plot would be heavier and interactive).
fn core_bars_ui(ui: &mut Ui, per_core: &[f32]) {
    let height = 64.0;
    let (rect, response) =
        ui.allocate_exact_size(vec2(ui.available_width(), height), Sense::hover());
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    painter.rect_filled(rect, 2.0, visuals.extreme_bg_color);
    let n = per_core.len().max(1) as f32;
    let gap = if n > 32.0 { 1.0 } else { 3.0 };
    let width = ((rect.width() - gap * (n + 1.0)) / n).max(1.0);
    for (i, percent) in per_core.iter().enumerate() {
        let left = rect.left() + gap + i as f32 * (width + gap);
        let filled = rect.height() * (percent / 100.0).clamp(0.0, 1.0);
        let bar = egui::Rect::from_min_max(
            egui::pos2(left, rect.bottom() - filled),
            egui::pos2(left + width, rect.bottom()),
        );
        painter.rect_filled(bar, 1.0, core_color(*percent));
    }
    painter.rect_stroke(
        rect,
        2.0,
        Stroke::new(1.0, visuals.widgets.noninteractive.bg_stroke.color),
        StrokeKind::Inside,
    );
    response.on_hover_text(
        per_core
            .iter()
            .enumerate()
            .map(|(i, p)| format!("cpu{i}: {p:.0}%"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
}

/// Green when idle, amber when busy, red when saturated.
fn core_color(percent: f32) -> Color32 {
    if percent >= 90.0 {
        Color32::from_rgb(213, 94, 0)
    } else if percent >= 50.0 {
        Color32::from_rgb(230, 159, 0)
    } else {
        Color32::from_rgb(0, 158, 115)
    }
}

/// A small, fixed, non-interactive plot of the last minute.
fn minute_plot_ui(ui: &mut Ui, id: &str, series: Vec<[f64; 2]>, y_max: f64, color: Color32) {
    let window = HISTORY_WINDOW.as_secs_f64();
    Plot::new(id.to_owned())
        .height(80.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .show_x(false)
        .default_x_bounds(-window, 0.0)
        // A little headroom, so that a line at 100% is not hidden by the frame.
        .default_y_bounds(0.0, y_max.max(1e-9) * 1.06)
        .x_axis_formatter(|mark, _| format!("{:.0} s", mark.value))
        .show(ui, |plot_ui| {
            plot_ui.line(
                Line::new(id.to_owned(), series)
                    .color(color)
                    .width(1.5)
                    .fill(0.0)
                    .fill_alpha(0.25),
            );
        });
}
