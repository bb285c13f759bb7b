//! The live tuner (`pooltune tune`): runs a preset's workload continuously on a pool that
//! resizes between tasks and lets a [`crate::controller::Controller`] move its size, one
//! sample at a time; records the [`crate::controller::Trajectory`].

use crate::cli::{CliError, TuneArgs};

/// `pooltune tune`.
pub fn cli(args: &TuneArgs) -> Result<(), CliError> {
    let _ = args;
    Err(CliError::Usage(
        "pooltune tune is being built (issue 14)".to_owned(),
    ))
}
