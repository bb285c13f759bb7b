//! The replay view's drawing: each controller's thread count against simulated time, and
//! its path over the measured throughput-vs-threads curve, with the figures table. Widgets
//! only: it draws the [`Replay`] it is given and never runs one.

use eframe::egui;
use egui::Ui;
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};

use crate::replay::Replay;

/// Draws `replay` over `curve` (the measured points, `[threads, throughput_per_s]`).
pub fn replay_ui(ui: &mut Ui, replay: &Replay, curve: &[[f64; 2]]) {
    figures_ui(ui, replay);
    let height = (ui.available_height() / 2.0 - 8.0).max(120.0);
    ui.label("Threads against simulated time");
    super::plots::with_time_x_thread_y(Plot::new("replay_threads"))
        .legend(Legend::default())
        .height(height)
        .x_axis_label("simulated seconds")
        .y_axis_label("threads")
        .include_y(0.0)
        .allow_scroll(false)
        .show(ui, |plot_ui| {
            for c in &replay.controllers {
                let points: PlotPoints = c
                    .samples
                    .iter()
                    .map(|s| [s.t_s, s.threads as f64])
                    .collect();
                plot_ui.line(Line::new(c.controller.clone(), points).width(1.5));
            }
        });
    ui.label("Paths over the measured curve");
    super::plots::with_linear_thread_x(Plot::new("replay_curve"))
        .legend(Legend::default())
        .height(height)
        .x_axis_label("threads")
        .y_axis_label("tasks/s")
        .include_y(0.0)
        .allow_scroll(false)
        .show(ui, |plot_ui| {
            plot_ui.line(Line::new("measured", PlotPoints::from(curve.to_vec())).width(2.5));
            for c in &replay.controllers {
                let points: PlotPoints = c
                    .samples
                    .iter()
                    .map(|s| [s.threads as f64, s.throughput_per_s])
                    .collect();
                plot_ui.points(Points::new(c.controller.clone(), points).radius(1.5));
            }
        });
}

/// The per-controller figures as a grid: settled count, time to 5%, throughput lost.
fn figures_ui(ui: &mut Ui, replay: &Replay) {
    ui.label(format!(
        "Best measured: {:.0}/s at {} threads; {} s simulated per controller, seed {}",
        replay.best_throughput_per_s, replay.best_threads, replay.seconds, replay.seed
    ));
    egui::Grid::new("replay_figures")
        .striped(true)
        .show(ui, |ui| {
            for heading in ["controller", "settled", "time to 5%", "throughput lost"] {
                ui.strong(heading);
            }
            ui.end_row();
            for c in &replay.controllers {
                ui.label(&c.controller);
                ui.label(c.settled_threads.map_or("-".to_owned(), |n| n.to_string()));
                ui.label(
                    c.time_within_5pct_s
                        .map_or("never".to_owned(), |t| format!("{t:.1} s")),
                );
                ui.label(format!("{:.1}%", c.throughput_lost_share * 100.0));
                ui.end_row();
            }
        });
}
