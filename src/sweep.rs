//! The sweep: one series (a preset's workload on its pool) measured at each thread count.
//! The engine ([`crate::engine`]) runs it as a plan of one series ([`crate::source`]):
//! [`run`] on the calling thread, [`crate::engine::spawn_series`] on a named one; both report
//! [`crate::engine::Event`]s. This module never measures anything itself.

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
use crate::preset::Preset;
use crate::result::SweepResult;

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
