//! Which controller a command's `--controller` names: the one place that maps
//! [`ReplayController`] and [`LiveController`] to a [`Controller`]. It builds controllers and
//! never runs them.

use super::aimd::Aimd;
use super::dotnet::DotnetHillClimbing;
use super::gradient2::Gradient2;
use super::vegas::Vegas;
use super::{Bounds, Controller, Pooltune};
use crate::cli::{LiveController, ReplayController};

/// Every controller `pooltune replay` knows, in the order it shows them (pooltune's own last).
pub const REPLAY_ALL: [ReplayController; 5] = [
    ReplayController::DotnetHillClimbing,
    ReplayController::NetflixGradient2,
    ReplayController::NetflixVegas,
    ReplayController::Aimd,
    ReplayController::Pooltune,
];

/// The controller `kind` names for `pooltune replay`, within `bounds`.
pub fn for_replay(kind: ReplayController, bounds: Bounds) -> Box<dyn Controller> {
    match kind {
        ReplayController::DotnetHillClimbing => Box::new(DotnetHillClimbing::new(bounds)),
        ReplayController::NetflixGradient2 => Box::new(Gradient2::new(bounds)),
        ReplayController::NetflixVegas => Box::new(Vegas::new(bounds)),
        ReplayController::Aimd => Box::new(Aimd::new(bounds)),
        ReplayController::Pooltune => Box::new(Pooltune::new(bounds)),
    }
}

/// The controller `kind` names for `pooltune tune`, within `bounds`: `gradient` is
/// Netflix's Gradient2, `aimd` Netflix's AIMD, `hill-climbing` pooltune's own.
pub fn for_live(kind: LiveController, bounds: Bounds) -> Box<dyn Controller> {
    match kind {
        LiveController::HillClimbing => Box::new(Pooltune::new(bounds)),
        LiveController::Gradient => Box::new(Gradient2::new(bounds)),
        LiveController::Aimd => Box::new(Aimd::new(bounds)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_builds_the_controller_it_names() {
        let bounds = Bounds { min: 1, max: 256 };
        let names: Vec<&str> = REPLAY_ALL
            .iter()
            .map(|&kind| for_replay(kind, bounds).name())
            .collect();
        assert_eq!(
            names,
            [
                "dotnet-hill-climbing",
                "netflix-gradient2",
                "netflix-vegas",
                "aimd",
                "pooltune"
            ]
        );
        assert_eq!(
            for_live(LiveController::Gradient, bounds).name(),
            "netflix-gradient2"
        );
        assert_eq!(for_live(LiveController::Aimd, bounds).name(), "aimd");
        assert_eq!(
            for_live(LiveController::HillClimbing, bounds).name(),
            for_replay(ReplayController::Pooltune, bounds).name()
        );
    }
}
