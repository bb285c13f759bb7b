//! Which thread counts a sweep measures next: the grid (every count of the preset, in order)
//! or an adaptive search (double while throughput rises beyond the noise, then search between
//! the last rising count and the first that did not, then validate). A search is a small state
//! machine fed measured points; it never measures or sleeps itself (Envoy Nighthawk's
//! `step_controller_impl.h` is the model), so its tests drive it with synthetic curves.
//!
//! The engine asks [`Search::next`] for a count, measures it with the series' own trials
//! (one measurement is `trials` trials), and hands the point back with [`Search::record`].
//! "Adding trials" to a count is measuring it again: the two points are ordinary points at the
//! same count, which the model pools (`model::recommend` groups points by thread count).

mod adaptive;

pub use adaptive::{Adaptive, MAX_EXTRA_MEASUREMENTS};

use crate::result::Point;

/// What a search wants measured next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Measure this thread count once more (one measurement: a warm-up and the trials).
    Measure(usize),
    /// Measure this thread count with this many trials instead of the sweep's own (a
    /// validation that one trial settles). Sources that cannot change their trials measure
    /// as for [`Next::Measure`].
    MeasureTrials(usize, u32),
    /// Nothing more to measure.
    Done,
}

/// A search over thread counts: asked for the next count, told what it measured.
///
/// Contract: after [`Search::next`] returns `Measure(n)`, the engine measures `n` and calls
/// [`Search::record`] with that point (a failed point too); until then `next` keeps returning
/// `Measure(n)`.
pub trait Search: Send {
    /// The count to measure next, or Done.
    fn next(&mut self) -> Next;
    /// The point measured at the count [`Search::next`] asked for.
    fn record(&mut self, point: &Point);
    /// How many measurements the whole search will take, as far as it can tell now: exact for
    /// a grid, an estimate that may grow for an adaptive search. Never below those done.
    fn estimated_measurements(&self) -> usize;
    /// True when [`Search::estimated_measurements`] is exact (a grid).
    fn is_exact(&self) -> bool;
}

/// The grid: every count of a list, in its order, whatever is measured.
#[derive(Debug, Clone)]
pub struct Grid {
    counts: Vec<usize>,
    done: usize,
}

impl Grid {
    /// A grid over `counts`, measured in that order.
    pub fn new(counts: Vec<usize>) -> Grid {
        Grid { counts, done: 0 }
    }
}

impl Search for Grid {
    fn next(&mut self) -> Next {
        self.counts
            .get(self.done)
            .map_or(Next::Done, |&n| Next::Measure(n))
    }

    fn record(&mut self, _point: &Point) {
        self.done += 1;
    }

    fn estimated_measurements(&self) -> usize {
        self.counts.len()
    }

    fn is_exact(&self) -> bool {
        true
    }
}

/// The search a `[sweep]` table asks for: its grid, or an adaptive search over its
/// `threads_range` (a list of threads, such as the `--threads` override, is always a grid).
pub fn for_sweep(sweep: &crate::spec::SweepSpec) -> Box<dyn Search> {
    match (sweep.search, &sweep.threads_range, &sweep.threads) {
        (crate::spec::SearchKind::Adaptive, Some(range), None) => Box::new(Adaptive::new(
            range.from,
            range.to,
            sweep.target_ci_or_default(),
        )),
        _ => Box::new(Grid::new(sweep.thread_counts())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_asks_every_count_in_order_then_done() {
        let mut grid = Grid::new(vec![4, 1, 2]);
        let mut asked = Vec::new();
        while let Next::Measure(n) = grid.next() {
            // Asking twice without a record asks the same count.
            assert_eq!(grid.next(), Next::Measure(n));
            asked.push(n);
            grid.record(&Point::failed(n, "fake"));
        }
        assert_eq!(asked, vec![4, 1, 2]);
        assert_eq!(grid.estimated_measurements(), 3);
    }
}
