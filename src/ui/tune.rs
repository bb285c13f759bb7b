//! The "Tune live" panel of the Sweep tab: a Tune live / Stop button, the length of the run,
//! and two plots against time, the thread count the controller chose and the throughput it
//! measured, with the sentence that says where it settled. Widgets only: it draws what it is
//! given and returns a [`TuneAction`]; it never starts, stops or measures anything.

use eframe::egui::{self, Ui};
use egui_plot::{Line, Plot};

use crate::controller::TrajectorySample;
use crate::ui::plots;

/// What the user asked of the panel.
#[derive(Debug, Clone, PartialEq)]
pub enum TuneAction {
    /// Start tuning the current configuration live for this many seconds.
    Start {
        /// How long to tune.
        seconds: f64,
    },
    /// Stop the live tuner; the samples so far are kept.
    Stop,
}

/// What the panel shows.
pub struct TuneView<'a> {
    /// True while the tuner runs.
    pub running: bool,
    /// True when the configuration can be tuned (a built-in workload on a pool of threads);
    /// otherwise why not.
    pub can_start: Result<(), String>,
    /// The samples so far, in order.
    pub samples: &'a [TrajectorySample],
    /// Where it settled and what it recommends, once finished; or why it failed.
    pub sentence: Option<String>,
}

/// The panel. `seconds` is the length field, edited in place.
pub fn tune_ui(ui: &mut Ui, view: &TuneView<'_>, seconds: &mut f64) -> Option<TuneAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        if view.running {
            if ui
                .button("Stop tuning")
                .on_hover_text("Stop the live tuner; the samples so far are kept.")
                .clicked()
            {
                action = Some(TuneAction::Stop);
            }
            ui.label(format!("tuning live: {} samples", view.samples.len()));
        } else {
            let start = ui
                .add_enabled(view.can_start.is_ok(), egui::Button::new("Tune live"))
                .on_hover_text(
                    "Run the workload continuously on a pool that resizes while it runs, and \
                     let pooltune's controller move the thread count.",
                );
            if start.clicked() {
                action = Some(TuneAction::Start { seconds: *seconds });
            }
            let label = ui.label("for");
            ui.add(
                egui::DragValue::new(seconds)
                    .range(1.0..=600.0)
                    .speed(0.5)
                    .suffix(" s"),
            )
            .labelled_by(label.id)
            .on_hover_text("How long to tune.");
            if let Err(why) = &view.can_start {
                ui.weak(why);
            }
        }
    });
    if let Some(sentence) = &view.sentence {
        ui.label(sentence);
    }
    if !view.samples.is_empty() {
        let threads: Vec<[f64; 2]> = view
            .samples
            .iter()
            .map(|s| [s.t_s, s.threads as f64])
            .collect();
        let throughput: Vec<[f64; 2]> = view
            .samples
            .iter()
            .map(|s| [s.t_s, s.throughput_per_s])
            .collect();
        let height = 120.0;
        ui.columns(2, |columns| {
            time_plot_ui(
                &mut columns[0],
                ("tune_threads", plots::with_time_x_thread_y),
                "threads",
                threads,
                height,
            );
            time_plot_ui(
                &mut columns[1],
                ("tune_throughput", plots::with_time_x),
                "tasks/s",
                throughput,
                height,
            );
        });
    }
    action
}

/// The axes of one of the tuner's plots: [`plots::with_time_x_thread_y`] or [`plots::with_time_x`].
type Axes = for<'a> fn(Plot<'a>) -> Plot<'a>;

fn time_plot_ui(
    ui: &mut Ui,
    (id, axes): (&str, Axes),
    y_label: &str,
    points: Vec<[f64; 2]>,
    height: f32,
) {
    axes(Plot::new(id.to_owned()))
        .height(height)
        .x_axis_label("seconds")
        .y_axis_label(y_label)
        .include_x(0.0)
        .include_y(0.0)
        .allow_scroll(false)
        .show(ui, |plot_ui| {
            plot_ui.line(Line::new(y_label.to_owned(), points).width(1.5));
        });
}
