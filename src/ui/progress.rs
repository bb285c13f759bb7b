//! The progress bar of a run, the same on every tab: how far, what is measured now and about
//! how long is left, or "stopping…" once Stop was asked; and the sweep's own bar, which also
//! says when a point takes longer than planned.
//!
//! Widgets only: the times come from the engine's last [`Progress`] and when it arrived; the
//! bar reads no clock but `Instant::elapsed` and starts nothing.

use std::time::Instant;

use eframe::egui;
use egui::Ui;

use crate::engine::Progress;
use crate::ui::format;

/// "about 12 s" left of `progress`, received at `received`: the engine's estimate less the
/// time since it came.
pub fn time_left(progress: &Progress, received: Instant) -> String {
    progress
        .eta_s()
        .map(|eta| format::seconds_left(eta - received.elapsed().as_secs_f64()))
        .unwrap_or_else(|| format::UNKNOWN.to_owned())
}

/// Before the first progress report: an empty bar saying what is being prepared and since
/// when.
pub fn preparing(what: &str, started: Instant) -> (f32, String) {
    (
        0.0,
        format!(
            "preparing ({what})… {:.0} s",
            started.elapsed().as_secs_f64()
        ),
    )
}

/// Draws the bar: `text` at `fraction`, or "stopping…" once `stopping`.
pub fn bar_ui(ui: &mut Ui, fraction: f32, text: String, stopping: bool, width: f32) {
    let text = if stopping {
        "stopping…".to_owned()
    } else {
        text
    };
    ui.add(
        egui::ProgressBar::new(fraction)
            .desired_width(width)
            .text(text),
    );
}

/// A sweep's bar: calibrating until the first progress report, then the thread count, the
/// point, the time left and whether it runs slower than planned.
pub fn sweep_progress_ui(
    ui: &mut Ui,
    progress: Option<&(Progress, Instant)>,
    started: Instant,
    stopping: bool,
) {
    let (fraction, text) = match progress {
        None => preparing("calibrating this machine", started),
        Some((progress, received)) => {
            let left = time_left(progress, *received);
            (
                progress.fraction() as f32,
                format!(
                    "{} threads · point {} of {} · about {left} left{}",
                    progress.threads,
                    progress.point_index + 1,
                    progress.points,
                    // The time since the last event counts: a trial that hangs sends none.
                    crate::engine::slower_than_planned(
                        progress.elapsed_s + received.elapsed().as_secs_f64(),
                        progress.planned_s,
                        progress.eta_s().map(|eta| progress.elapsed_s + eta),
                    )
                    .map(|note| format!(" · {note}"))
                    .unwrap_or_default()
                ),
            )
        }
    };
    bar_ui(ui, fraction, text, stopping, 420.0);
}
