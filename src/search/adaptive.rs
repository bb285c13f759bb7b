//! The adaptive search: find the knee of a throughput curve (the fewest threads within
//! [`KNEE_TOLERANCE`] of the best and not significantly below it, the model's own rule) with
//! as few measurements as the noise allows. It decides from the points it is fed and never
//! measures, sleeps or reads a clock.
//!
//! Phase 1, expand: measure `from`, then grow geometrically while throughput rises by more
//! than the noise (a one-sided Welch test and at least [`KNEE_TOLERANCE`]). The factor starts at
//! [`FIRST_FACTOR`] and is squared after each rise that is close to linear
//! ([`LINEAR_SHARE`] of the thread ratio): below its knee a blocking pool's throughput is
//! proportional to its threads (Little's law), so a linear rise says the knee is far. A rise
//! well below linear, or no rise, ends the phase: the knee is below the last count.
//! (Nighthawk's exponential search doubles; guidellm doubles until a level misses.)
//!
//! Phase 2, narrow: between `lo`, the largest count below the knee candidate that is not
//! within the tolerance, and `hi`, the smallest count that is, probe where a linear rise from
//! `lo` would reach the best (regula falsi on Little's law) — or, when that lands within the
//! resolution of `hi`, the count one resolution below `hi` — until `hi − lo ≤ max(1, hi/8)`,
//! the resolution of the grid's linear refinement. A count whose 95% CI is wider than
//! `target_ci` × its mean is measured again only while the decision at it is ambiguous (its
//! interval, or the best's, straddles the threshold), at most [`MAX_EXTRA_MEASUREMENTS`] times.
//!
//! Phase 3, validate: measure the knee of every point so far once more.

use std::collections::BTreeSet;

use super::{Next, Search};
use crate::model::KNEE_TOLERANCE;
use crate::result::Point;
use crate::stats;

/// Factor of the first growth step of phase 1 (`from` → `from × 4`).
pub const FIRST_FACTOR: usize = 4;
/// A rise counts as linear when throughput grew by at least this share of the thread ratio.
pub const LINEAR_SHARE: f64 = 0.8;
/// A rise below this share of the thread ratio ends phase 1: the curve has bent.
pub const BENT_SHARE: f64 = 0.6;
/// Extra measurements (each of the sweep's `trials`) a count may get when its CI is too wide.
pub const MAX_EXTRA_MEASUREMENTS: usize = 2;
/// The largest growth factor phase 1 uses.
const MAX_FACTOR: usize = 1 << 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Expand { factor: usize },
    Narrow,
    Validate,
    Done,
}

/// The adaptive search over `from..=to` (see the module's doc).
#[derive(Debug, Clone)]
pub struct Adaptive {
    from: usize,
    to: usize,
    target_ci: f64,
    phase: Phase,
    /// Phase 1's counts, in order.
    ladder: Vec<usize>,
    /// Every point recorded, in measurement order.
    points: Vec<Point>,
    pending: Option<usize>,
}

impl Adaptive {
    /// A search over `from..=to` that refines a count while its 95% CI half-width is above
    /// `target_ci` × its mean (and it matters).
    pub fn new(from: usize, to: usize, target_ci: f64) -> Adaptive {
        let from = from.max(1);
        Adaptive {
            from,
            to: to.max(from),
            target_ci,
            phase: Phase::Expand {
                factor: FIRST_FACTOR,
            },
            ladder: Vec::new(),
            points: Vec::new(),
            pending: None,
        }
    }

    /// The points recorded so far, in measurement order.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// Every finite trial throughput measured at `threads`, all measurements pooled.
    fn trials_at(&self, threads: usize) -> Vec<f64> {
        self.points
            .iter()
            .filter(|p| p.threads == threads && p.is_ok())
            .flat_map(|p| p.trial_throughputs_per_s.iter().copied())
            .filter(|x| x.is_finite())
            .collect()
    }

    fn mean_at(&self, threads: usize) -> Option<f64> {
        let mean = stats::mean(&self.trials_at(threads));
        mean.is_finite().then_some(mean)
    }

    /// 95% CI half-width at `threads` (infinite with fewer than two trials).
    fn ci_at(&self, threads: usize) -> f64 {
        let ci = stats::ci95_half_width(&self.trials_at(threads));
        if ci.is_finite() { ci } else { f64::INFINITY }
    }

    /// The CI is wider than the target and the count may be measured again.
    fn may_refine(&self, threads: usize) -> bool {
        let measured = self.points.iter().filter(|p| p.threads == threads).count();
        let wide = match self.mean_at(threads) {
            Some(mean) => self.ci_at(threads) > self.target_ci * mean.abs(),
            None => false,
        };
        wide && measured <= MAX_EXTRA_MEASUREMENTS
    }

    /// Counts measured with a throughput, ascending.
    fn measured_counts(&self) -> BTreeSet<usize> {
        self.points.iter().map(|p| p.threads).collect()
    }

    /// The count with the highest mean throughput.
    fn best(&self) -> Option<(usize, f64)> {
        self.measured_counts()
            .into_iter()
            .filter_map(|n| self.mean_at(n).map(|m| (n, m)))
            .reduce(|a, b| if b.1 > a.1 { b } else { a })
    }

    /// The model's knee rule for one count against the best.
    fn within(&self, threads: usize, best: (usize, f64)) -> bool {
        if threads == best.0 {
            return true;
        }
        let Some(mean) = self.mean_at(threads) else {
            return false;
        };
        if mean < best.1 * (1.0 - KNEE_TOLERANCE) {
            return false;
        }
        stats::significantly_below(&self.trials_at(threads), &self.trials_at(best.0)) != Some(true)
    }

    /// Phase 1's verdict on its last step from `prev` to `last`: the next growth factor, or
    /// why it does not grow again.
    fn expand_step(&self, prev: usize, last: usize, factor: usize) -> Result<usize, Ending> {
        let (Some(before), Some(after)) = (self.mean_at(prev), self.mean_at(last)) else {
            return Err(Ending::Stop);
        };
        let rose_by_tolerance = after >= before * (1.0 + KNEE_TOLERANCE);
        let significant = stats::significantly_below(&self.trials_at(prev), &self.trials_at(last));
        if !(rose_by_tolerance && significant == Some(true)) {
            if rose_by_tolerance {
                // Rose, but within the noise: more trials where the interval is wider.
                let wider = if self.ci_at(last) / after >= self.ci_at(prev) / before {
                    [last, prev]
                } else {
                    [prev, last]
                };
                if let Some(&again) = wider.iter().find(|&&n| self.may_refine(n)) {
                    return Err(Ending::Again(again));
                }
            }
            return Err(Ending::Stop);
        }
        let share = (after / before) / (last as f64 / prev as f64);
        if share < BENT_SHARE {
            return Err(Ending::Stop);
        }
        Ok(if share >= LINEAR_SHARE {
            factor.saturating_mul(factor).min(MAX_FACTOR)
        } else {
            2
        })
    }

    /// Phase 2: the next probe, or None when the bracket is narrow enough.
    fn narrow(&self) -> Option<usize> {
        let best = self.best()?;
        let counts = self.measured_counts();
        let hi = counts.iter().copied().find(|&n| self.within(n, best))?;
        let lo = counts.iter().copied().rev().find(|&n| n < hi)?;
        // More trials where the decision is ambiguous.
        let threshold = best.1 * (1.0 - KNEE_TOLERANCE);
        let best_slack = (1.0 - KNEE_TOLERANCE) * self.ci_at(best.0);
        for n in [hi, lo] {
            let Some(mean) = self.mean_at(n) else {
                continue;
            };
            if n != best.0 && (mean - threshold).abs() < self.ci_at(n) + best_slack {
                let mut candidates = [n, best.0];
                candidates.sort_by(|a, b| {
                    let rel = |k: usize| self.ci_at(k) / self.mean_at(k).unwrap_or(f64::NAN);
                    rel(*b).total_cmp(&rel(*a))
                });
                if let Some(&again) = candidates.iter().find(|&&k| self.may_refine(k)) {
                    return Some(again);
                }
            }
        }
        let resolution = (hi / 8).max(1);
        if hi - lo <= resolution {
            return None;
        }
        let estimate = match self.mean_at(lo) {
            Some(at_lo) if at_lo > 0.0 => (lo as f64 * best.1 / at_lo).round(),
            _ => ((lo + hi) / 2) as f64,
        };
        let probe = if estimate >= (hi - resolution) as f64 {
            hi - resolution
        } else if estimate <= (lo + resolution) as f64 {
            lo + resolution
        } else {
            estimate as usize
        };
        // Already measured (noise moved the bracket onto it): bisect instead.
        Some(if counts.contains(&probe) {
            lo + (hi - lo) / 2
        } else {
            probe
        })
    }

    fn decide(&mut self) -> Next {
        loop {
            match self.phase {
                Phase::Expand { factor } => {
                    let Some(&last) = self.ladder.last() else {
                        self.ladder.push(self.from);
                        return Next::Measure(self.from);
                    };
                    let mut factor = factor;
                    if self.ladder.len() >= 2 {
                        let prev = self.ladder[self.ladder.len() - 2];
                        match self.expand_step(prev, last, factor) {
                            Ok(next_factor) => factor = next_factor,
                            Err(Ending::Again(n)) => return Next::Measure(n),
                            Err(Ending::Stop) => {
                                self.phase = Phase::Narrow;
                                continue;
                            }
                        }
                    } else if self.mean_at(last).is_none() {
                        self.phase = Phase::Narrow;
                        continue;
                    }
                    if last >= self.to {
                        self.phase = Phase::Narrow;
                        continue;
                    }
                    let next = last.saturating_mul(factor).min(self.to);
                    self.phase = Phase::Expand { factor };
                    self.ladder.push(next);
                    return Next::Measure(next);
                }
                Phase::Narrow => match self.narrow() {
                    Some(n) => return Next::Measure(n),
                    None => self.phase = Phase::Validate,
                },
                Phase::Validate => {
                    let knee = crate::model::recommend::knee_threads(&self.points);
                    self.phase = Phase::Done;
                    if let Some(knee) = knee {
                        return Next::Measure(knee);
                    }
                }
                Phase::Done => return Next::Done,
            }
        }
    }
}

/// Why phase 1 does not grow again.
enum Ending {
    /// Measure this count again first.
    Again(usize),
    /// The phase is over.
    Stop,
}

impl Search for Adaptive {
    fn next(&mut self) -> Next {
        if let Some(pending) = self.pending {
            return Next::Measure(pending);
        }
        let next = self.decide();
        if let Next::Measure(n) = next {
            self.pending = Some(n);
        }
        next
    }

    fn record(&mut self, point: &Point) {
        self.pending = None;
        self.points.push(point.clone());
    }

    /// Those measured, the one asked for, and a guess at the rest: phase 1 ends within about
    /// two more steps on the curves pooltune measures, phase 2 takes about two probes, then
    /// one validation.
    fn estimated_measurements(&self) -> usize {
        let rest = match self.phase {
            Phase::Expand { .. } => 5,
            Phase::Narrow => 3,
            Phase::Validate => 1,
            Phase::Done => 0,
        };
        self.points.len() + usize::from(self.pending.is_some()) + rest
    }

    fn is_exact(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic noise source (xorshift), so that tests are exact and repeatable.
    struct Noise(u64);

    impl Noise {
        /// A value in [-1, 1).
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        }
    }

    /// A point of 3 trials at `threads` from `curve`, each off by up to ±`noise` of it.
    fn point(threads: usize, curve: &dyn Fn(usize) -> f64, noise: f64, rng: &mut Noise) -> Point {
        let trials: Vec<f64> = (0..3)
            .map(|_| curve(threads) * (1.0 + noise * rng.next()))
            .collect();
        let mut point = Point::failed(threads, "");
        point.error = None;
        point.trials = 3;
        point.throughput_per_s = stats::mean(&trials);
        point.throughput_ci95_per_s = stats::ci95_half_width(&trials);
        point.trial_throughputs_per_s = trials;
        point
    }

    /// Runs a search to its end on `curve`; the counts in measurement order.
    fn run(search: &mut dyn Search, curve: &dyn Fn(usize) -> f64, noise: f64) -> Vec<Point> {
        let mut rng = Noise(0x9E37_79B9_7F4A_7C15);
        let mut points = Vec::new();
        while let Next::Measure(n) = search.next() {
            assert!(points.len() < 100, "the search never ends");
            let p = point(n, curve, noise, &mut rng);
            search.record(&p);
            points.push(p);
        }
        points
    }

    /// Little's law for a blocking pool on `cpus` CPUs: throughput rises with threads until
    /// they keep every CPU busy, at `cpus × (1 + W/C)` threads, then stays flat (with a small
    /// cost per extra thread, as real pools have).
    fn little(cpus: f64, wait_over_compute: f64) -> impl Fn(usize) -> f64 {
        move |n| {
            let optimum = cpus * (1.0 + wait_over_compute);
            let n = n as f64;
            1000.0 * n.min(optimum) * (1.0 - 0.0001 * (n - optimum).max(0.0))
        }
    }

    #[test]
    fn finds_the_little_law_optimum_within_the_grid_resolution() {
        for (wait_over_compute, optimum) in [(1.0, 4), (9.0, 20), (31.0, 64), (127.0, 256)] {
            let curve = little(2.0, wait_over_compute);
            let mut search = Adaptive::new(1, 512, 0.03);
            let points = run(&mut search, &curve, 0.01);
            let knee = crate::model::recommend::knee_threads(&points).unwrap();
            let best = curve(optimum);
            assert!(
                curve(knee) >= 0.95 * best,
                "W/C {wait_over_compute}: knee {knee} gives {} of {best}",
                curve(knee)
            );
            // No more threads than the optimum plus the refinement's resolution.
            assert!(
                knee <= optimum + optimum / 8,
                "W/C {wait_over_compute}: knee {knee}, optimum {optimum}"
            );
            // Far fewer measurements than the 20-odd of a ×2 grid and its refinement.
            assert!(
                points.len() <= 8,
                "W/C {wait_over_compute}: {} measurements: {:?}",
                points.len(),
                points.iter().map(|p| p.threads).collect::<Vec<_>>()
            );
            // The last measurement validates the knee.
            assert_eq!(points.last().unwrap().threads, knee);
        }
    }

    #[test]
    fn noisy_counts_get_more_trials_only_where_they_matter() {
        let curve = little(2.0, 31.0);
        let quiet = run(&mut Adaptive::new(1, 512, 0.03), &curve, 0.005);
        let noisy = run(&mut Adaptive::new(1, 512, 0.03), &curve, 0.08);
        let repeats = |points: &[Point]| points.len() - measured(points).len();
        assert_eq!(repeats(&quiet), 1, "only the validation repeats a count");
        assert!(repeats(&noisy) > 1, "noise adds measurements");
        // Never more than the cap at one count (plus the validation).
        for n in measured(&noisy) {
            let at = noisy.iter().filter(|p| p.threads == n).count();
            assert!(at <= 2 + MAX_EXTRA_MEASUREMENTS, "{at} at {n}");
        }
        // A looser target refines less.
        let loose = run(&mut Adaptive::new(1, 512, 0.5), &curve, 0.08);
        assert!(repeats(&loose) < repeats(&noisy));
    }

    fn measured(points: &[Point]) -> BTreeSet<usize> {
        points.iter().map(|p| p.threads).collect()
    }

    #[test]
    fn stays_within_its_bounds_and_stops_at_a_falling_curve() {
        // Throughput falls from the first thread on: the knee is `from`.
        let falling = |n: usize| 1000.0 / n as f64;
        let points = run(&mut Adaptive::new(3, 40, 0.03), &falling, 0.01);
        let counts: Vec<usize> = points.iter().map(|p| p.threads).collect();
        assert_eq!(counts, vec![3, 12, 3]);
        // Rising to the end: `to` is the last count grown to, never passed.
        let rising = |n: usize| 1000.0 * n as f64;
        let points = run(&mut Adaptive::new(1, 100, 0.03), &rising, 0.01);
        assert!(points.iter().all(|p| (1..=100).contains(&p.threads)));
        assert_eq!(
            crate::model::recommend::knee_threads(&points),
            Some(100),
            "{:?}",
            points.iter().map(|p| p.threads).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_failed_count_ends_the_growth() {
        let mut search = Adaptive::new(1, 512, 0.03);
        let mut rng = Noise(7);
        let curve = little(2.0, 127.0);
        let mut asked = Vec::new();
        while let Next::Measure(n) = search.next() {
            asked.push(n);
            let p = if n >= 64 {
                Point::failed(n, "pool could not start")
            } else {
                point(n, &curve, 0.01, &mut rng)
            };
            search.record(&p);
            assert!(asked.len() < 50);
        }
        assert!(asked.iter().all(|&n| n <= 64), "{asked:?}");
        assert_eq!(
            crate::model::recommend::knee_threads(search.points()),
            asked.last().copied()
        );
    }

    #[test]
    fn the_estimate_never_falls_below_what_is_done() {
        let curve = little(2.0, 9.0);
        let mut search = Adaptive::new(1, 512, 0.03);
        let mut rng = Noise(3);
        let mut done = 0;
        while let Next::Measure(n) = search.next() {
            assert!(search.estimated_measurements() > done);
            search.record(&point(n, &curve, 0.01, &mut rng));
            done += 1;
        }
        assert_eq!(search.estimated_measurements(), done);
    }
}
