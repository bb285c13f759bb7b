//! The sweep: one series (a preset's workload on its pool) measured at each thread count.
//! The engine ([`crate::engine`]) runs it as a plan of one series ([`crate::source`]); this
//! module keeps the sweep's older entry points for the GUI until it is ported to
//! [`crate::engine::Event`]. It never measures anything itself.

use std::thread::JoinHandle;

pub use crate::engine::{
    Progress, SLOWER_THAN_PLANNED_FACTOR, SLOWER_THAN_PLANNED_MIN_S, slower_than_planned,
};
pub use crate::source::in_process::{
    MAX_TASK_CPU_SHARE, MIN_BUSY_FRACTION, MIN_JUDGED_TASK_US, PointSetup, chunk_for,
    idle_pool_reason, measure_point, measure_workload, sample_every_for,
};

use crate::cancel::CancelToken;
use crate::engine::{self, Event};
use crate::error::EngineError;
use crate::machine::MachineInfo;
use crate::preset::Preset;
use crate::result::{Calibration, Point, SweepResult};

// SHIM(issue 11): the sweep's own event enum, translated from engine::Event, until the app
// consumes engine::Event directly.
/// What the engine reports while a sweep runs.
#[derive(Debug, Clone)]
pub enum SweepEvent {
    /// The sweep has started: what will be run, and where.
    Started {
        /// The machine.
        machine: MachineInfo,
        /// The run's calibration.
        calibration: Calibration,
        /// Thread counts, in the order they will run.
        thread_counts: Vec<usize>,
        /// Trials per thread count.
        trials: u32,
    },
    /// A warm-up or a trial has finished.
    Progress(Progress),
    /// A thread count is done (measured or failed).
    Point(Point),
    /// The sweep is over (finished or stopped); the whole result.
    Finished(Box<SweepResult>),
}

// SHIM(issue 11)
/// The sweep's event for an engine event of `preset`'s run (a sweep's one series never fails
/// as a series: its failures are failed points).
fn sweep_event(preset: &Preset, event: Event) -> Option<SweepEvent> {
    Some(match event {
        Event::Started(started) => SweepEvent::Started {
            machine: started.machine,
            calibration: started.calibration,
            thread_counts: started.thread_counts,
            trials: started.trials,
        },
        Event::Progress { progress, .. } => SweepEvent::Progress(progress),
        Event::Point { point, .. } => SweepEvent::Point(point),
        Event::SeriesFailed { .. } => return None,
        Event::Finished(run) => {
            SweepEvent::Finished(Box::new(SweepResult::from_run(preset.clone(), *run)))
        }
    })
}

/// Runs a whole sweep on the calling thread through the engine, reporting the engine's own
/// events (series 0 is the preset's). Returns the result; a stopped sweep keeps its points.
pub fn run(
    preset: &Preset,
    cancel: &CancelToken,
    emit: &mut dyn FnMut(Event),
) -> Result<SweepResult, EngineError> {
    let run = engine::run_series(preset, cancel, emit)?;
    Ok(SweepResult::from_run(preset.clone(), run))
}

// SHIM(issue 11): callers use sweep::run and engine::Event.
/// Runs a whole sweep on the calling thread, reporting through `emit`. Returns the result,
/// also sent as [`SweepEvent::Finished`]. A stopped sweep keeps its finished points.
pub fn run_sweep(
    preset: &Preset,
    cancel: &CancelToken,
    emit: &mut dyn FnMut(SweepEvent),
) -> Result<SweepResult, EngineError> {
    run(preset, cancel, &mut |event| {
        if let Some(event) = sweep_event(preset, event) {
            emit(event);
        }
    })
}

// SHIM(issue 11): callers use engine::spawn_series("pooltune-sweep", preset, ...).
/// Runs [`run_sweep`] on a named background thread (`pooltune-sweep`).
pub fn spawn_sweep(
    preset: Preset,
    cancel: CancelToken,
    mut emit: impl FnMut(SweepEvent) + Send + 'static,
) -> Result<JoinHandle<Result<SweepResult, EngineError>>, EngineError> {
    engine::named_thread("pooltune-sweep", move || {
        run_sweep(&preset, &cancel, &mut emit)
    })
    .map_err(EngineError::Spawn)
}

// SHIM(issue 11)
/// [`spawn_sweep`] with its events sent on a channel: the receiver gets every event, the
/// last one [`SweepEvent::Finished`]. For consumers that prefer to wait on a channel.
#[allow(clippy::type_complexity)]
pub fn spawn_sweep_channel(
    preset: Preset,
    cancel: CancelToken,
) -> Result<
    (
        JoinHandle<Result<SweepResult, EngineError>>,
        crossbeam_channel::Receiver<SweepEvent>,
    ),
    EngineError,
> {
    let (sender, receiver) = crossbeam_channel::unbounded();
    let handle = spawn_sweep(preset, cancel, move |event| {
        // A receiver that hung up no longer wants events; the sweep itself goes on.
        let _ = sender.send(event);
    })?;
    Ok((handle, receiver))
}
