//! Replays (`pooltune replay`): drives each controller against a measured curve (a sweep
//! result's points, interpolated, with noise drawn from the measured trial spread) instead of
//! a real pool, so the famous controllers and pooltune's own are compared on the same curve.

use crate::cli::{CliError, ReplayArgs};

/// `pooltune replay`.
pub fn cli(args: &ReplayArgs) -> Result<(), CliError> {
    let _ = args;
    Err(CliError::Usage(
        "pooltune replay is being built (issue 14)".to_owned(),
    ))
}
