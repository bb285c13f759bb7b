//! The Sweep tab's "Tune live" mode: starts the live tuner ([`crate::tune::live`]) on the
//! configuration being edited, on its own named thread (`pooltune-tune`), and receives its
//! samples on a channel (each one repaints the window); Stop cancels it. This module never
//! measures and never draws ([`crate::ui::tune`] draws); the engine never touches egui.

use eframe::egui;

use crate::app::run::{RunEnd, RunHandle};
use crate::cli::LiveController;
use crate::controller::TrajectorySample;
use crate::spec::{Preset, SeriesSetup};
use crate::tune::{self, LiveTune, TuneResult};
pub use crate::ui::tune::TuneAction;

/// The length of a live tuning run until the user changes it.
pub const DEFAULT_SECONDS: f64 = 10.0;

/// What the tuner's thread sends.
pub enum TuneEvent {
    /// One sample, as it was measured.
    Sample(TrajectorySample),
}

/// The Sweep tab's live tuner: its run, its samples and its result.
pub struct TuneLive {
    /// The length field.
    pub seconds: f64,
    run: Option<RunHandle<TuneEvent, Result<TuneResult, String>>>,
    samples: Vec<TrajectorySample>,
    outcome: Option<Result<TuneResult, String>>,
}

impl Default for TuneLive {
    fn default() -> Self {
        TuneLive {
            seconds: DEFAULT_SECONDS,
            run: None,
            samples: Vec::new(),
            outcome: None,
        }
    }
}

impl TuneLive {
    /// True while the tuner runs.
    pub fn is_running(&self) -> bool {
        self.run.is_some()
    }

    /// The samples received so far.
    pub fn samples(&self) -> &[TrajectorySample] {
        &self.samples
    }

    /// The finished run's result, or why it failed.
    pub fn outcome(&self) -> Option<&Result<TuneResult, String>> {
        self.outcome.as_ref()
    }

    /// The count the last finished run settled on: what the live tuner recommends.
    pub fn recommended_threads(&self) -> Option<usize> {
        match &self.outcome {
            Some(Ok(result)) => result.settled_threads,
            _ => None,
        }
    }

    /// The panel; `preset` is the checked configuration (None when it does not check).
    pub fn ui(&mut self, ui: &mut egui::Ui, preset: Option<&Preset>) -> Option<TuneAction> {
        let can_start = match preset {
            None => Err("fix the configuration first".to_owned()),
            Some(preset) => tunable(preset),
        };
        let sentence = self.outcome.as_ref().map(|outcome| match outcome {
            Ok(result) => match result.settled_threads {
                Some(threads) => format!(
                    "Live tuning recommends {}: {}",
                    crate::words::counted_usize(threads, "thread", "threads"),
                    tune::settled_sentence(result)
                ),
                None => tune::settled_sentence(result),
            },
            Err(why) => format!("Live tuning failed: {why}"),
        });
        let view = crate::ui::tune::TuneView {
            running: self.is_running(),
            can_start,
            samples: &self.samples,
            sentence,
        };
        crate::ui::tune::tune_ui(ui, &view, &mut self.seconds)
    }

    /// Applies the panel's action (after the frame is drawn); `preset` as in [`Self::ui`].
    /// Returns a complaint to show when the tuner could not start.
    pub fn run_cmd(
        &mut self,
        ctx: &egui::Context,
        action: TuneAction,
        preset: Option<Preset>,
    ) -> Option<String> {
        match action {
            TuneAction::Stop => {
                self.stop();
                None
            }
            TuneAction::Start { seconds } => {
                if self.run.is_some() {
                    return None;
                }
                let preset = match preset.map(|p| tunable(&p).map(|()| p)) {
                    Some(Ok(preset)) => preset,
                    Some(Err(why)) => return Some(format!("Cannot tune live: {why}")),
                    None => return Some("Cannot tune live: fix the configuration first".into()),
                };
                self.start(ctx, preset, seconds).err()
            }
        }
    }

    fn start(&mut self, ctx: &egui::Context, preset: Preset, seconds: f64) -> Result<(), String> {
        self.samples.clear();
        self.outcome = None;
        let repaint = ctx.clone();
        let run = RunHandle::spawn(|cancel, sender| {
            crate::engine::named_thread("pooltune-tune", move || {
                let bounds = tune::bounds_of(&preset);
                let workload = tune::workload_of(&preset, bounds.max, &cancel)?;
                let mut controller = tune::controller_for(LiveController::HillClimbing, bounds);
                let mut on_sample = |sample: &crate::controller::Sample| {
                    // The window may already be gone.
                    let _ = sender.send(TuneEvent::Sample(TrajectorySample::from(sample)));
                    repaint.request_repaint();
                };
                let tune = LiveTune {
                    name: preset.name.clone(),
                    workload,
                    bounds,
                    seconds,
                    controller: controller.as_mut(),
                };
                let result = tune::live::run(tune, &cancel, &mut on_sample);
                repaint.request_repaint();
                result
            })
            .map_err(|err| format!("Cannot tune live: could not start its thread: {err}"))
        })?;
        self.run = Some(run);
        Ok(())
    }

    /// Asks the tuner to stop (the window is closing, or Stop).
    pub fn stop(&mut self) {
        if let Some(run) = &mut self.run {
            run.stop();
        }
    }

    /// Moves the samples that arrived into the panel; joins the tuner once it is done.
    pub fn poll(&mut self) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        let samples = &mut self.samples;
        let ended = run.poll(|event| match event {
            TuneEvent::Sample(sample) => {
                samples.push(sample);
                false
            }
        });
        let Some(ended) = ended else {
            return;
        };
        self.run = None;
        self.outcome = Some(match ended {
            RunEnd::Returned(Ok(result)) => match &result.failure {
                Some(failure) => Err(failure.clone()),
                None => Ok(result),
            },
            RunEnd::Returned(Err(why)) => Err(why),
            RunEnd::Panicked => Err("the tuner's thread stopped unexpectedly".to_owned()),
        });
    }
}

/// Whether the live tuner can run `preset` (a built-in workload on a pool of threads).
fn tunable(preset: &Preset) -> Result<(), String> {
    match preset.setup() {
        SeriesSetup::Rust {
            pool:
                crate::spec::PoolSpec::Queue { .. }
                | crate::spec::PoolSpec::Rayon
                | crate::spec::PoolSpec::Spawn,
            ..
        } => Ok(()),
        setup => Err(format!(
            "live tuning needs a built-in workload on a queue, rayon or spawn pool (this is {})",
            setup.summary()
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable as _;

    use super::*;

    const SHORT: &str = "schema_version = 1\nname = \"tune live test\"\n\
        [workload]\nkind = \"blocking\"\ncompute_us = 200\nwait_us = 2000\n\
        [pool]\nkind = \"queue\"\nqueue_capacity = 64\nchunk_size = 1\n\
        [sweep]\nthreads = [1, 2, 4, 8, 16]\ntrials = 3\ntrial_ms = 100\n";

    struct State {
        tune: TuneLive,
        preset: Preset,
        actions: Vec<TuneAction>,
    }

    fn harness() -> Harness<'static, State> {
        let preset =
            crate::spec::parse(SHORT, std::path::Path::new("tune-live-test")).expect("preset");
        let state = State {
            tune: TuneLive::default(),
            preset,
            actions: Vec::new(),
        };
        Harness::new_ui_state(
            |ui, state: &mut State| {
                state.tune.poll();
                let preset = state.preset.clone();
                if let Some(action) = state.tune.ui(ui, Some(&preset)) {
                    state.actions.push(action);
                }
                let ctx = ui.ctx().clone();
                for action in std::mem::take(&mut state.actions) {
                    let complaint = state.tune.run_cmd(&ctx, action, Some(preset.clone()));
                    assert_eq!(complaint, None);
                }
            },
            state,
        )
    }

    /// Runs frames until `done` or 20 s pass.
    fn run_until(harness: &mut Harness<'static, State>, done: impl Fn(&State) -> bool) {
        let started = Instant::now();
        while !done(harness.state()) && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
            harness.step();
        }
    }

    #[test]
    fn tune_live_shows_samples_as_they_arrive_and_stop_ends_it() {
        let mut harness = harness();
        harness.step();
        harness.get_by_label("Tune live").click();
        harness.step();
        harness.step();
        assert!(
            harness.state().tune.is_running(),
            "not running: {:?}",
            harness.state().tune.outcome().map(|o| o.as_ref().err())
        );
        run_until(&mut harness, |s| s.tune.samples().len() >= 3);
        let seen = harness.state().tune.samples().len();
        assert!(seen >= 3, "only {seen} samples arrived");
        assert_eq!(harness.state().tune.samples()[0].threads, 1);
        harness.get_by_label("Stop tuning").click();
        harness.step();
        run_until(&mut harness, |s| !s.tune.is_running());
        assert!(
            !harness.state().tune.is_running(),
            "Stop did not end the tuner"
        );
        let result = match harness.state().tune.outcome() {
            Some(Ok(result)) => result.clone(),
            other => panic!(
                "no result after Stop: {:?}",
                other.map(|o| o.as_ref().err())
            ),
        };
        assert!(result.stopped);
        assert!(result.seconds < DEFAULT_SECONDS, "ran {} s", result.seconds);
        harness.step();
        assert!(harness.query_by_label("Tune live").is_some());
    }
}
