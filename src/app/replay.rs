//! "Replay controllers": a window opened from a finished sweep's results that replays the
//! famous controllers and pooltune's own on that sweep's measured curve
//! ([`crate::replay`]) and shows their paths ([`crate::ui::replay`]). The window's state
//! lives in egui's memory, so the sweep tab holds nothing for it; the replay itself is a
//! pure computation of a few milliseconds, run once when the button is pressed, never
//! a measurement.

use eframe::egui;
use egui::{Id, Ui};

use crate::replay::{self, Curve, Replay};
use crate::result::SweepResult;

/// Simulated seconds per controller in the window (as `pooltune replay`'s default).
pub const SECONDS: f64 = 60.0;
/// The window's noise seed (as `pooltune replay`'s default).
pub const SEED: u64 = 1;

#[derive(Clone, Default)]
struct ReplayView {
    open: bool,
    replay: Option<Replay>,
    curve: Vec<[f64; 2]>,
}

fn view_id() -> Id {
    Id::unique("pooltune_replay_view")
}

/// The "Replay controllers" button (enabled when `result` has a curve) and, once pressed,
/// the replay window.
pub fn replay_button_ui(ui: &mut Ui, result: Option<&SweepResult>) {
    let curve = result.and_then(Curve::from_result);
    let pressed = ui
        .add_enabled(curve.is_some(), egui::Button::new("Replay controllers"))
        .on_hover_text("Drive .NET's hill climbing, Netflix's Gradient2, Vegas and AIMD, and pooltune's own controller against this sweep's measured curve")
        .on_disabled_hover_text("Needs a finished sweep with at least 2 measured points")
        .clicked();
    let ctx = ui.ctx().clone();
    let mut view: ReplayView = ctx.data_mut(|d| d.get_temp(view_id()).unwrap_or_default());
    if pressed && let Some(curve) = &curve {
        let name = result.map_or(String::new(), |r| r.preset.name.clone());
        view.replay = Some(replay::replay(curve, &name, &[], SECONDS, SEED));
        view.curve = curve
            .points()
            .iter()
            .map(|p| [p.threads as f64, p.throughput_per_s])
            .collect();
        view.open = true;
    }
    if view.open {
        let mut open = true;
        if let Some(shown) = &view.replay {
            egui::Window::new("Replay controllers")
                .open(&mut open)
                .default_size([640.0, 560.0])
                .show(&ctx, |ui| {
                    crate::ui::replay::replay_ui(ui, shown, &view.curve)
                });
        }
        view.open = open;
    }
    ctx.data_mut(|d| d.insert_temp(view_id(), view));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;
    use egui_kittest::Harness;
    use egui_kittest::kittest::{NodeT as _, Queryable as _};
    use std::path::Path;

    #[test]
    fn the_button_opens_the_replay_of_every_controller() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replay/blocking-wc31.json");
        let crate::result::open::OpenedResult::Sweep(result) =
            crate::result::open::open(&path).unwrap()
        else {
            panic!("the fixture is a sweep");
        };
        let mut harness = Harness::new_ui(move |ui| replay_button_ui(ui, Some(&result)));
        harness.run();
        assert!(harness.query_by_label("netflix-vegas").is_none());
        harness.get_by_label("Replay controllers").click();
        harness.run();
        for name in [
            "dotnet-hill-climbing",
            "netflix-gradient2",
            "netflix-vegas",
            "aimd",
            "pooltune",
        ] {
            assert!(
                harness.query_all_by_label(name).next().is_some(),
                "{name} not shown"
            );
        }
        harness.get_by_label("Threads against simulated time");
    }

    #[test]
    fn the_button_is_disabled_without_a_curve() {
        let mut harness = Harness::new_ui(|ui| replay_button_ui(ui, None));
        harness.run();
        assert!(
            harness
                .get_by_label("Replay controllers")
                .accesskit_node()
                .is_disabled()
        );
    }
}
