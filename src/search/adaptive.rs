//! The adaptive search: find the knee of a throughput curve (the fewest threads within
//! [`KNEE_TOLERANCE`] of the best and not significantly below it, the model's own rule) with
//! as few measurements as the noise allows. It decides from the points it is fed and never
//! measures, sleeps or reads a clock.
//!
//! Phase 1, jump and fill: measure `from` (with [`FROM_TRIALS`] trial), then jump to Little's
//! law's count N* = usable CPUs × (1 + W/C) (Goetz 2006, "Java Concurrency in Practice" §8.2),
//! with the W/C that `from`'s point measured (wall time per task against CPU time per task,
//! never a preset's declared numbers), clamped to the range. Then fill: while the last count's
//! tasks keep less than [`FULL_CPU_SHARE`] of the CPUs busy (throughput × CPU time per task,
//! the U of N = N_cpu × U × (1 + W/C)), step to the count that would fill them by a linear
//! rise (last / share), at least a grid step (2 × N* / 8) above the last and at most twice it;
//! stop when a step fills the CPUs, or gains less than [`FILLING_GAIN`] of the share a linear
//! rise would have (a lock or another process, not the CPUs, limits the pool), or does not
//! raise throughput. A count that keeps the CPUs busy bounds every count above it: none can do
//! more than its throughput over its share. When the point carries no W/C, or N* is below
//! 2 × `from`, grow geometrically instead while throughput rises by more than the noise (a
//! one-sided Welch test and at least [`KNEE_TOLERANCE`]) and the CPUs are not full: the factor
//! starts at [`FIRST_FACTOR`] and is squared after each rise close to linear ([`LINEAR_SHARE`]
//! of the thread ratio). (Nighthawk's exponential search doubles; guidellm doubles until a
//! level misses.)
//!
//! Phase 2, narrow: between `lo`, the largest count below the knee candidate that is not
//! within the tolerance, and `hi`, the smallest count that is, probe where a linear rise from
//! `lo` would reach the best (regula falsi on Little's law) until `hi − lo` is at most the
//! step a grid's linear refinement would take: over a ×2 bracket that phase 1 left, max(1,
//! H/8) for its upper end H, kept while narrowing (1/8 of the narrowed `hi` took a second
//! probe on every rounded knee), and after a jump no finer than 2 × N* / 8 for a knee at or
//! above N* (a grid's refinement around its best, within ×2 of N*, steps that); over a wider
//! one, max(1, hi/8). Or until no count more than that step below `hi` can be within the
//! tolerance: a pool's throughput per thread does not grow with threads, so `n` threads give
//! at most `n / lo` × `lo`'s throughput (plus its CI), or after [`MAX_PROBES`] new counts.
//! The knee candidate gets one more trial ([`REMEASURE_TRIALS`]), or the best does, when its
//! 95% CI is wider than `target_ci` × its mean and the decision at the candidate is ambiguous
//! (its interval, or the best's, straddles the threshold; a count read below the threshold is
//! passed over, and the search measures above it), at most [`MAX_EXTRA_MEASUREMENTS`] time
//! per count and [`MAX_REMEASUREMENTS`] times per search: a fourth trial shrinks a 95% CI by
//! a third (t = 3.18 over √4 against 4.30 over √3), later ones far less, and on a shared
//! machine three full re-measurements per count were most of a search's time.
//!
//! Phase 3, validate: measure the knee once more with [`VALIDATION_TRIALS`] trial; when it is
//! still within the tolerance by less than the noise, measure the best once more too (the
//! knee was chosen against the best's first trials, and one low reading there is enough to
//! let a count 10% below pass); when either moves the knee, validate the new one (at most
//! [`MAX_VALIDATIONS`]).

use std::collections::BTreeSet;

use super::{Next, Search};
use crate::model::{FULL_CPU_SHARE, KNEE_TOLERANCE};
use crate::result::Point;
use crate::stats;

/// Factor of the first growth step of phase 1 (`from` → `from × 4`).
pub const FIRST_FACTOR: usize = 4;
/// A rise counts as linear when throughput grew by at least this share of the thread ratio.
pub const LINEAR_SHARE: f64 = 0.8;
/// A rise below this share of the thread ratio ends phase 1: the curve has bent.
pub const BENT_SHARE: f64 = 0.6;
/// Trials of a validation measurement: one trial confirms a knee the earlier trials chose.
pub const VALIDATION_TRIALS: u32 = 1;
/// Validation measurements at most (a second when the first moved the knee).
pub const MAX_VALIDATIONS: usize = 2;
/// Trials of the first measurement, at `from`: it gives the W/C for the jump and a floor that
/// the jump's rise (×2 or more) clears beyond any trial noise, so one trial is enough.
pub const FROM_TRIALS: u32 = 1;
/// A rise of at least this factor counts as a rise whatever the noise (a one-trial point has
/// no spread for a Welch test).
pub const DECISIVE_RISE: f64 = 2.0;
/// New counts phase 2 may probe: three halvings take the ×2 bracket after a jump to the grid
/// refinement's resolution of 1/8, a fourth a ×4 one. It bounds the time noise can take on a
/// flat plateau, where the knee rule moves with every probe.
pub const MAX_PROBES: usize = 4;
/// Extra measurements a count may get when its CI is too wide and the decision at it matters.
pub const MAX_EXTRA_MEASUREMENTS: usize = 1;
/// Extra measurements a whole search may take.
pub const MAX_REMEASUREMENTS: usize = 2;
/// Trials of an extra measurement: one more trial, pooled with the count's earlier ones.
pub const REMEASURE_TRIALS: u32 = 1;
/// The largest growth factor phase 1 uses.
const MAX_FACTOR: usize = 1 << 16;
/// A step of phase 1 after the jump that gained less than this share of the CPU share a
/// linear rise would have gained ends phase 1: the pool stopped filling the CPUs (a lock,
/// the GIL, another process), so more threads will not fill them either. A rounded knee's
/// steps gain 50–80% of it here (W/C = 1: 4 → 5 threads, 0.839 → 0.920 of the CPUs, against
/// 1.0 linear), and 3 trials' noise moves that by up to ±40% at W/C = 1: at 0.25 one bench
/// row stopped on 5 threads (0.23 of the linear gain); a lock's steps gain 0–3%.
pub const FILLING_GAIN: f64 = 0.1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Expand { factor: usize },
    Narrow,
    Validate { done: usize },
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
    pending: Option<Next>,
    /// CPUs the pool's threads can run on (Little's law's first factor).
    usable_cpus: usize,
    /// Phase 1 jumped from `from` to Little's law's count (the ladder's second count).
    jumped: bool,
    /// The counts validated so far.
    validated: Vec<usize>,
    /// Extra measurements asked for so far (at most [`MAX_REMEASUREMENTS`]).
    remeasured: usize,
    /// New counts phase 2 has probed (at most [`MAX_PROBES`]).
    probes: usize,
    /// Phase 3 measured the best once more (see [`Adaptive::decide`]).
    best_validated: bool,
    /// Phase 2 has begun (its step is fixed on entry).
    narrowing: bool,
    /// Phase 2's step when phase 1 left a ×2 bracket (see [`Adaptive::grid_step`]).
    fixed_step: Option<usize>,
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
            usable_cpus: crate::machine::usable_cpus().max(1),
            jumped: false,
            validated: Vec::new(),
            remeasured: 0,
            probes: 0,
            best_validated: false,
            narrowing: false,
            fixed_step: None,
        }
    }

    /// The same search for a pool on `usable_cpus` CPUs (tests and replays name the machine).
    pub fn with_usable_cpus(mut self, usable_cpus: usize) -> Adaptive {
        self.usable_cpus = usable_cpus.max(1);
        self
    }

    /// Little's law's count for the W/C measured at `threads`, clamped to the range; None
    /// when the point carries no W/C.
    fn little_count(&self, threads: usize) -> Option<usize> {
        let ratios: Vec<f64> = self
            .points
            .iter()
            .filter(|p| p.threads == threads && p.is_ok())
            .map(Point::measured_wait_over_compute)
            .filter(|r| r.is_finite() && *r >= 0.0)
            .collect();
        if ratios.is_empty() {
            return None;
        }
        let wait_over_compute = stats::mean(&ratios);
        let count = (self.usable_cpus as f64 * (1.0 + wait_over_compute)).round();
        Some((count as usize).clamp(self.from, self.to))
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

    /// 95% CI half-width at `threads` from its own trials (infinite with fewer than two).
    fn own_ci_at(&self, threads: usize) -> f64 {
        let ci = stats::ci95_half_width(&self.trials_at(threads));
        if ci.is_finite() { ci } else { f64::INFINITY }
    }

    /// 95% CI half-width at `threads`. A count measured with one trial (`from`, see
    /// [`FROM_TRIALS`]) has no spread of its own and borrows the median relative CI of the
    /// counts that have one, so that its unknown spread neither makes every decision at it
    /// ambiguous nor lifts its per-thread ceiling to infinity; infinite while no count has one.
    fn ci_at(&self, threads: usize) -> f64 {
        let own = self.own_ci_at(threads);
        if own.is_finite() {
            return own;
        }
        let Some(mean) = self.mean_at(threads) else {
            return f64::INFINITY;
        };
        let mut relative: Vec<f64> = self
            .measured_counts()
            .into_iter()
            .filter_map(|n| Some(self.own_ci_at(n) / self.mean_at(n)?.abs()))
            .filter(|r| r.is_finite())
            .collect();
        if relative.is_empty() {
            return f64::INFINITY;
        }
        relative.sort_by(f64::total_cmp);
        mean.abs() * relative[relative.len() / 2]
    }

    /// The CI is wider than the target and the count may be measured again.
    fn may_refine(&self, threads: usize) -> bool {
        let measured = self.points.iter().filter(|p| p.threads == threads).count();
        let wide = match self.mean_at(threads) {
            Some(mean) => self.ci_at(threads) > self.target_ci * mean.abs(),
            None => false,
        };
        wide && measured <= MAX_EXTRA_MEASUREMENTS && self.remeasured < MAX_REMEASUREMENTS
    }

    /// One more trial at `threads` (see [`REMEASURE_TRIALS`]).
    fn remeasure(&mut self, threads: usize) -> Next {
        self.remeasured += 1;
        Next::MeasureTrials(threads, REMEASURE_TRIALS)
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

    /// The knee rule's decision at `threads` rests on noise: its mean is closer to the
    /// threshold (the best's mean less the tolerance) than its CI plus the threshold's own.
    fn straddles_threshold(&self, threads: usize, best: (usize, f64)) -> bool {
        let Some(mean) = self.mean_at(threads) else {
            return false;
        };
        let threshold = best.1 * (1.0 - KNEE_TOLERANCE);
        let best_slack = (1.0 - KNEE_TOLERANCE) * self.ci_at(best.0);
        threads != best.0 && (mean - threshold).abs() < self.ci_at(threads) + best_slack
    }

    /// Phase 1's verdict on its last step from `prev` to `last`: the next growth factor, or
    /// why it does not grow again.
    fn expand_step(&self, prev: usize, last: usize, factor: usize) -> Result<usize, Ending> {
        let (Some(before), Some(after)) = (self.mean_at(prev), self.mean_at(last)) else {
            return Err(Ending::Stop);
        };
        let rose_by_tolerance = after >= before * (1.0 + KNEE_TOLERANCE);
        let significant =
            match stats::significantly_below(&self.trials_at(prev), &self.trials_at(last)) {
                None => after >= before * DECISIVE_RISE,
                Some(below) => below,
            };
        if !(rose_by_tolerance && significant) {
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

    /// The best count and the knee candidate: the fewest threads within the tolerance of it.
    fn knee_candidate(&self) -> Option<((usize, f64), usize)> {
        let best = self.best()?;
        let hi = self
            .measured_counts()
            .into_iter()
            .find(|&n| self.within(n, best))?;
        Some((best, hi))
    }

    /// The step a grid's linear refinement would take over a ×2 bracket phase 1 left (the
    /// check after the jump, or a doubling): max(1, H/8) for its upper end H. None for a wider
    /// bracket (a jump from `from`, a ×4 or longer growth step), which narrows to 1/8 of the
    /// knee candidate as it moves.
    fn grid_step(&self) -> Option<usize> {
        let (_, hi) = self.knee_candidate()?;
        let lo = self.measured_counts().into_iter().rev().find(|&n| n < hi)?;
        (hi <= lo.saturating_mul(2)).then_some(refinement_step(hi))
    }

    /// Share of the usable CPUs the pool's tasks kept busy at `threads`: throughput × CPU
    /// time per task over the usable CPUs, the U of N = N_cpu × U × (1 + W/C), its trials
    /// pooled over the count's measurements; None when the points carry no CPU time.
    fn cpu_share_at(&self, threads: usize) -> Option<f64> {
        let at = self
            .points
            .iter()
            .filter(|p| p.threads == threads && p.is_ok());
        let busy = Point::mean_cpus_busy(at);
        (busy > 0.0).then(|| busy / self.usable_cpus as f64)
    }

    /// The pool keeps the CPUs busy at `threads` (see [`FULL_CPU_SHARE`]).
    fn cpus_full_at(&self, threads: usize) -> bool {
        self.cpu_share_at(threads)
            .is_some_and(|share| share >= FULL_CPU_SHARE)
    }

    /// The CPUs vouch for `threads`: its tasks keep at least 1 − [`KNEE_TOLERANCE`] of the
    /// usable CPUs busy, less its throughput's CI, so no count can beat it by more than the
    /// tolerance, and the knee rule's answer there is within the tolerance whichever way
    /// noise decides between it and the best. Measuring it (or the best) again for that
    /// decision buys nothing: at W/C = 127 here it cost three one-trial measurements when
    /// N* (228 threads) and the count that fills the CPUs (285) both read on the plateau.
    fn cpus_vouch_for(&self, threads: usize) -> bool {
        let (Some(share), Some(mean)) = (self.cpu_share_at(threads), self.mean_at(threads)) else {
            return false;
        };
        mean > 0.0 && share * (1.0 - self.ci_at(threads) / mean) >= 1.0 - KNEE_TOLERANCE
    }

    /// Phase 1 after the jump: the count that would fill the CPUs if throughput rose linearly
    /// from the last (Little's law again, with the CPU share the last count measured), at
    /// least one grid step (2 × N* / 8) above it and at most twice it; or the end of the
    /// phase, when the last step did not fill the CPUs further (see [`FILLING_GAIN`]) or its
    /// throughput did not rise (None). A rounded knee takes one step: at W/C = 127 here N* = 220
    /// keeps 0.944 of the CPUs busy, 275 0.983. Past the count that fills the CPUs a pool's
    /// curve can bend down again (threads queue for the CPUs and switch more), so this
    /// finds a peak between N* and 2 × N* that a check at 2 × N* would step over (220
    /// threads read 3390/s, 440 3340/s, and 288 3710/s in a bench's check run).
    fn fill_step(&self) -> Option<usize> {
        let (&jump, &last) = (self.ladder.get(1)?, self.ladder.last()?);
        let share = self.cpu_share_at(last)?;
        if last >= self.to {
            return None;
        }
        let prev = self.ladder[self.ladder.len() - 2];
        let (before, after) = (self.mean_at(prev)?, self.mean_at(last)?);
        let share_before = self.cpu_share_at(prev)?;
        let linear = (share_before * last as f64 / prev as f64).min(1.0);
        let filling = share - share_before >= FILLING_GAIN * (linear - share_before);
        if after <= before || !filling {
            return None;
        }
        let least = last + refinement_step(jump.saturating_mul(2));
        let most = last.saturating_mul(2).max(least);
        let fill = (last as f64 / share).min(most as f64).ceil() as usize;
        Some(fill.clamp(least, most).min(self.to))
    }

    /// Phase 2: the next probe, or None when the bracket is narrow enough.
    fn narrow(&self) -> Option<Probe> {
        let (best, hi) = self.knee_candidate()?;
        let counts = self.measured_counts();
        let lo = counts.iter().copied().rev().find(|&n| n < hi)?;
        // More trials where the answer may rest on a flattering reading: the candidate, when
        // its interval (or the best's) straddles the threshold. A count that reads below it
        // is passed over whatever its noise: the search then measures above it, which costs
        // about what a re-measurement does and can only raise the answer's throughput (on
        // this machine, re-measuring Little's law's count and the best when the first read
        // 94% was a third of the search's time at W/C = 127).
        let threshold = best.1 * (1.0 - KNEE_TOLERANCE);
        if self.straddles_threshold(hi, best) && !self.cpus_vouch_for(hi) {
            let mut candidates = [hi, best.0];
            candidates.sort_by(|a, b| {
                let rel = |k: usize| self.ci_at(k) / self.mean_at(k).unwrap_or(f64::NAN);
                rel(*b).total_cmp(&rel(*a))
            });
            if let Some(&again) = candidates.iter().find(|&&k| self.may_refine(k)) {
                return Some(Probe::Again(again));
            }
        }
        let resolution = self.fixed_step.unwrap_or_else(|| refinement_step(hi));
        if hi - lo <= resolution || self.probes >= MAX_PROBES {
            return None;
        }
        // The fewest threads that could be within the tolerance: throughput per thread does
        // not grow with threads, so n threads give at most n × lo's per-thread throughput.
        let fewest = match self.mean_at(lo) {
            Some(at_lo) if at_lo > 0.0 => {
                let ceiling = (at_lo + self.ci_at(lo)) / lo as f64;
                (threshold / ceiling).ceil()
            }
            _ => lo as f64,
        };
        if fewest > (hi - resolution) as f64 {
            return None;
        }
        let estimate = match self.mean_at(lo) {
            Some(at_lo) if at_lo > 0.0 => (lo as f64 * best.1 / at_lo).round(),
            _ => ((lo + hi) / 2) as f64,
        };
        let estimate = estimate.max(fewest);
        let probe = if estimate >= (hi - resolution) as f64 {
            hi - resolution
        } else if estimate <= (lo + resolution) as f64 {
            lo + resolution
        } else {
            estimate as usize
        };
        // Already measured (noise moved the bracket onto it): bisect instead.
        Some(Probe::New(if counts.contains(&probe) {
            lo + (hi - lo) / 2
        } else {
            probe
        }))
    }

    fn decide(&mut self) -> Next {
        loop {
            match self.phase {
                Phase::Expand { factor } => {
                    let Some(&last) = self.ladder.last() else {
                        self.ladder.push(self.from);
                        return Next::MeasureTrials(self.from, FROM_TRIALS);
                    };
                    if self.cpus_full_at(last) {
                        self.phase = Phase::Narrow;
                        continue;
                    }
                    if self.jumped {
                        let Some(next) = self.fill_step() else {
                            self.phase = Phase::Narrow;
                            continue;
                        };
                        self.ladder.push(next);
                        return Next::Measure(next);
                    }
                    let mut factor = factor;
                    if self.ladder.len() == 1
                        && self.mean_at(last).is_some()
                        && let Some(little) = self.little_count(last)
                        && little >= last.saturating_mul(2)
                    {
                        self.jumped = true;
                        self.ladder.push(little);
                        return Next::Measure(little);
                    }
                    if self.ladder.len() >= 2 {
                        let prev = self.ladder[self.ladder.len() - 2];
                        match self.expand_step(prev, last, factor) {
                            Ok(next_factor) => factor = next_factor,
                            Err(Ending::Again(n)) => return self.remeasure(n),
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
                Phase::Narrow => {
                    if !self.narrowing {
                        self.narrowing = true;
                        self.fixed_step = self.grid_step();
                        if self.jumped
                            && let Some(&jump) = self.ladder.get(1)
                            && let Some((_, hi)) = self.knee_candidate()
                            && hi >= jump
                        {
                            // A knee at or above the jump: a grid's refinement around its best
                            // (within ×2 of N*) would step 2 × N* / 8 there, no finer.
                            let jump_step = refinement_step(jump.saturating_mul(2));
                            self.fixed_step =
                                Some(self.fixed_step.map_or(jump_step, |s| s.max(jump_step)));
                        }
                    }
                    match self.narrow() {
                        Some(Probe::New(n)) => {
                            self.probes += 1;
                            return Next::Measure(n);
                        }
                        Some(Probe::Again(n)) => return self.remeasure(n),
                        None => self.phase = Phase::Validate { done: 0 },
                    }
                }
                Phase::Validate { done } => {
                    let knee = crate::model::recommend::knee_threads(&self.points);
                    let best = self.best();
                    match (knee, best) {
                        (Some(knee), _)
                            if done < MAX_VALIDATIONS && !self.validated.contains(&knee) =>
                        {
                            self.validated.push(knee);
                            self.phase = Phase::Validate { done: done + 1 };
                            return Next::MeasureTrials(knee, VALIDATION_TRIALS);
                        }
                        // A knee within the tolerance by less than the noise, after its own
                        // validation: the best once more too, so that the comparison does not
                        // rest on the best's first trials alone (the reading that made the
                        // search stop on this knee).
                        (Some(knee), Some(best))
                            if !self.best_validated
                                && self.straddles_threshold(knee, best)
                                && !self.cpus_vouch_for(knee) =>
                        {
                            self.best_validated = true;
                            return Next::MeasureTrials(best.0, VALIDATION_TRIALS);
                        }
                        _ => self.phase = Phase::Done,
                    }
                }
                Phase::Done => return Next::Done,
            }
        }
    }
}

/// The step of a grid's linear refinement around `upper`: max(1, upper / 8).
fn refinement_step(upper: usize) -> usize {
    (upper / 8).max(1)
}

/// Phase 2's next measurement.
enum Probe {
    /// A count not measured yet, with the sweep's trials.
    New(usize),
    /// One more trial at a measured count.
    Again(usize),
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
            return pending;
        }
        let next = self.decide();
        if next != Next::Done {
            self.pending = Some(next);
        }
        next
    }

    fn record(&mut self, point: &Point) {
        self.pending = None;
        self.points.push(point.clone());
    }

    /// Those measured, the one asked for, and a guess at the rest: phase 1 is `from`, the
    /// jump and a step that fills the CPUs on the curves pooltune measures, phase 2 takes a
    /// probe or none, then one validation.
    fn estimated_measurements(&self) -> usize {
        let rest = match self.phase {
            Phase::Expand { .. } => 3,
            Phase::Narrow => 2,
            // A validation asked for is the last unless it moves the knee.
            Phase::Validate { done } => usize::from(done == 0),
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
    use crate::model::recommend::knee_threads;

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

    /// A fake series: throughput from a formula, and what its tasks' CPU clocks measure
    /// (None for a source that reports no CPU time).
    struct Curve<'a> {
        throughput: &'a dyn Fn(usize) -> f64,
        tasks: Option<Tasks<'a>>,
    }

    /// The CPU side of a fake series on [`TEST_CPUS`] CPUs: the W/C its tasks measure, and
    /// the share of the CPUs they keep busy at each count (which sets their CPU time per task).
    struct Tasks<'a> {
        wait_over_compute: f64,
        cpu_share: &'a dyn Fn(usize) -> f64,
    }

    /// The CPUs the fake series run on.
    const TEST_CPUS: usize = 2;

    impl<'a> Curve<'a> {
        /// A blocking pool's series: `throughput`, with tasks that measure
        /// `wait_over_compute` and keep `cpu_share` of the CPUs busy.
        fn blocking(
            throughput: &'a dyn Fn(usize) -> f64,
            wait_over_compute: f64,
            cpu_share: &'a dyn Fn(usize) -> f64,
        ) -> Curve<'a> {
            Curve {
                throughput,
                tasks: Some(Tasks {
                    wait_over_compute,
                    cpu_share,
                }),
            }
        }
    }

    /// A point of `trials` trials at `threads` from `curve`, each off by up to ±`noise` of it;
    /// its W/C off by up to ±`noise` too.
    fn point_of(threads: usize, trials: u32, curve: &Curve, noise: f64, rng: &mut Noise) -> Point {
        let values: Vec<f64> = (0..trials)
            .map(|_| (curve.throughput)(threads) * (1.0 + noise * rng.next()))
            .collect();
        let mut point = Point::failed(threads, "");
        point.error = None;
        point.trials = trials;
        point.throughput_per_s = stats::mean(&values);
        point.throughput_ci95_per_s = stats::ci95_half_width(&values);
        point.trial_throughputs_per_s = values;
        if let Some(tasks) = &curve.tasks {
            // CPU time per task from the CPUs kept busy at the curve's own throughput: the
            // measured share then carries the throughput's noise, as a real one does.
            let cpu_us =
                1e6 * TEST_CPUS as f64 * (tasks.cpu_share)(threads) / (curve.throughput)(threads);
            let ratio = tasks.wait_over_compute;
            point.cpu_time_per_task_us = cpu_us;
            point.wall_time_per_task_us = cpu_us * (1.0 + ratio * (1.0 + noise * rng.next()));
        }
        point
    }

    /// A point of 3 trials with no W/C (see [`point_of`]).
    fn point(threads: usize, curve: &dyn Fn(usize) -> f64, noise: f64, rng: &mut Noise) -> Point {
        let curve = Curve {
            throughput: curve,
            tasks: None,
        };
        point_of(threads, 3, &curve, noise, rng)
    }

    /// Runs a search to its end on `curve`; the points in measurement order.
    fn run_curve(search: &mut dyn Search, curve: &Curve, noise: f64) -> Vec<Point> {
        run_curve_seeded(search, curve, noise, 0x9E37_79B9_7F4A_7C15)
    }

    /// [`run_curve`] with the noise drawn from `seed`.
    fn run_curve_seeded(
        search: &mut dyn Search,
        curve: &Curve,
        noise: f64,
        seed: u64,
    ) -> Vec<Point> {
        let mut rng = Noise(seed);
        let mut points = Vec::new();
        loop {
            let (n, trials) = match search.next() {
                Next::Measure(n) => (n, 3),
                Next::MeasureTrials(n, trials) => (n, trials),
                Next::Done => break,
            };
            assert!(points.len() < 100, "the search never ends");
            let p = point_of(n, trials, curve, noise, &mut rng);
            search.record(&p);
            points.push(p);
        }
        points
    }

    /// Runs a search on a curve whose points carry no W/C.
    fn run(search: &mut dyn Search, curve: &dyn Fn(usize) -> f64, noise: f64) -> Vec<Point> {
        let curve = Curve {
            throughput: curve,
            tasks: None,
        };
        run_curve(search, &curve, noise)
    }

    /// Little's law for a blocking pool on `cpus` CPUs: throughput rises with threads until
    /// they keep every CPU busy, at `cpus × (1 + W/C)` threads, then stays nearly flat, 2%
    /// lower per doubling past it (the cost of extra threads real pools have: more switches,
    /// more memory). The 2% is twice the tests' trial noise, so that the knee rule, which
    /// passes over a count whose tight trials are all below the best's, has one answer.
    fn little(cpus: f64, wait_over_compute: f64) -> impl Fn(usize) -> f64 {
        move |n| {
            let optimum = cpus * (1.0 + wait_over_compute);
            let n = n as f64;
            1000.0 * n.min(optimum) * (1.0 - 0.02 * (n / optimum).log2().max(0.0))
        }
    }

    /// The CPUs [`little`]'s tasks keep busy: a share growing with threads until the optimum
    /// fills them (the extra cost past it is CPU time per task, not idle CPUs).
    fn little_share(cpus: f64, wait_over_compute: f64) -> impl Fn(usize) -> f64 {
        move |n| (n as f64 / (cpus * (1.0 + wait_over_compute))).min(1.0)
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
            // Without a W/C to jump with, under 2/5 of the trials of a ×2 grid and its
            // refinement (20 counts × 3 trials).
            let trials: u32 = points.iter().map(|p| p.trials).sum();
            assert!(
                trials <= 24,
                "W/C {wait_over_compute}: {trials} trials: {:?}",
                points.iter().map(|p| p.threads).collect::<Vec<_>>()
            );
            // The last measurement validates the knee.
            assert_eq!(points.last().unwrap().threads, knee);
        }
    }

    #[test]
    fn jumps_to_the_little_law_count_the_points_measured() {
        let ratios = [(0.0, 2), (1.0, 4), (9.0, 20), (31.0, 64), (127.0, 256)];
        for (wait_over_compute, optimum) in ratios {
            let throughput = little(2.0, wait_over_compute);
            let cpu_share = little_share(2.0, wait_over_compute);
            let curve = Curve::blocking(&throughput, wait_over_compute, &cpu_share);
            let mut search = Adaptive::new(1, 512, 0.03).with_usable_cpus(TEST_CPUS);
            let points = run_curve(&mut search, &curve, 0.01);
            let counts: Vec<usize> = points.iter().map(|p| p.threads).collect();
            // `from`, the jump (within the W/C's 1% noise of the optimum), where the tasks
            // keep the CPUs busy, so that no count above can do better, and one validation of
            // one trial.
            let jump = counts[1];
            assert!(jump.abs_diff(optimum) * 50 <= optimum, "{counts:?}");
            assert_eq!(counts, vec![1, jump, jump], "W/C {wait_over_compute}");
            assert_eq!(points[0].trials, FROM_TRIALS);
            let last = points.last().unwrap();
            assert_eq!(last.trials, VALIDATION_TRIALS);
            assert_eq!(crate::model::recommend::knee_threads(&points), Some(jump));
        }
    }

    /// A rounded knee at 256 threads (Little's law's count at W/C = 127 on 2 CPUs): linear up
    /// to `at_knee` of the 4000/s plateau there, then rising by `slope` of the plateau per
    /// 256 threads until it reaches it.
    fn rounded_knee(at_knee: f64, slope: f64) -> impl Fn(usize) -> f64 {
        move |n| {
            let x = n as f64 / 256.0;
            4000.0
                * if x <= 1.0 {
                    at_knee * x
                } else {
                    (at_knee + slope * (x - 1.0)).min(1.0)
                }
        }
    }

    #[test]
    fn a_rounded_knee_takes_one_probe_at_the_grid_resolution() {
        // A real blocking pool's knee is rounded: Little's law's count gives 90% of the
        // plateau, 1.2 times it all of it (the search bench's 300 ms trials at W/C = 127 read
        // 89–94% of 2 N* at N* and 97–102% at 1.25 N*).
        let throughput = rounded_knee(0.9, 0.5);
        let cpu_share = |n: usize| throughput(n) / 4000.0;
        let curve = Curve::blocking(&throughput, 127.0, &cpu_share);
        // No noise: on a plateau, noise alone decides whether tight trials at the probe read
        // "significantly below" the best (the knee rule's test); this test is about where the
        // search probes and when it stops.
        let mut search = Adaptive::new(1, 512, 0.03).with_usable_cpus(TEST_CPUS);
        let points = run_curve(&mut search, &curve, 0.0);
        let counts: Vec<usize> = points.iter().map(|p| p.threads).collect();
        let knee = crate::model::recommend::knee_threads(&points).unwrap();
        assert!(throughput(knee) >= 0.95 * throughput(512), "{counts:?}");
        // `from`, the jump (0.9 of the CPUs busy), the count that would fill them, at least
        // a grid step (512 / 8) above it, which does, and the validation of that count. Before
        // the CPU share ended the growth: 1, 256, 512, 320, 320 (the check at 2 × N*).
        assert_eq!(counts, vec![1, 256, 320, 320]);
        assert_eq!(knee, counts[3], "{counts:?}");
    }

    /// A peak between Little's law's count and twice it: N* reads 91% of the peak at 1.25 N*,
    /// and 2 N* reads 90% (threads queueing for the CPUs), as at W/C = 127 on this machine
    /// (220 threads: 3390/s, 440: 3340/s, 288: 3710/s).
    fn peaked(n: usize) -> f64 {
        let x = n as f64 / 256.0;
        4000.0
            * if x <= 1.0 {
                0.91 * x
            } else if x <= 1.25 {
                0.91 + 0.09 * (x - 1.0) / 0.25
            } else {
                1.0 - 0.1 * (x - 1.25) / 0.75
            }
    }

    /// The CPUs [`peaked`]'s tasks keep busy: all of them from the peak on.
    fn peaked_share(n: usize) -> f64 {
        if n * 4 >= 256 * 5 {
            1.0
        } else {
            peaked(n) / 4000.0
        }
    }

    #[test]
    fn a_peak_between_the_jump_and_twice_it_is_found() {
        let curve = Curve::blocking(&peaked, 127.0, &peaked_share);
        let mut search = Adaptive::new(1, 512, 0.03).with_usable_cpus(TEST_CPUS);
        let points = run_curve(&mut search, &curve, 0.01);
        let counts: Vec<usize> = points.iter().map(|p| p.threads).collect();
        let knee = crate::model::recommend::knee_threads(&points).unwrap();
        // With a check at 2 × N* and no probe between: 1, N*, 2 N*, N* again, and N*
        // recommended at 91% of the peak. Filling the CPUs steps to 1.25 × N*, the peak.
        assert!(
            peaked(knee) >= 0.95 * peaked(320),
            "knee {knee}: {counts:?}"
        );
        assert_eq!(counts, [1, counts[1], counts[1] + counts[1] / 4, knee]);
    }

    #[test]
    fn a_pool_that_stops_filling_the_cpus_ends_the_growth() {
        // A lock held for every task's compute: past 32 threads the tasks keep one CPU of two
        // busy and throughput creeps up by 1% per doubling (well within the knee rule's
        // tolerance), while the W/C they measure names 64 threads.
        let throughput =
            |n: usize| 62.5 * n.min(32) as f64 * (1.0 + 0.01 * (n as f64 / 32.0).log2().max(0.0));
        let cpu_share = |n: usize| throughput(n) / 4000.0;
        let curve = Curve::blocking(&throughput, 31.0, &cpu_share);
        let mut search = Adaptive::new(1, 512, 0.03).with_usable_cpus(TEST_CPUS);
        let points = run_curve(&mut search, &curve, 0.01);
        let counts: Vec<usize> = points.iter().map(|p| p.threads).collect();
        // The jump keeps half the CPUs busy; twice it (what would fill them) no more: the
        // growth ends there instead of stepping on towards 512.
        assert_eq!(counts[..3], [1, 64, 128], "{counts:?}");
        assert!(counts.iter().all(|&n| n <= 128), "{counts:?}");
        let knee = crate::model::recommend::knee_threads(&points).unwrap();
        assert!(
            throughput(knee) >= 0.95 * throughput(128),
            "knee {knee}: {counts:?}"
        );
    }

    #[test]
    fn a_candidate_the_cpus_vouch_for_is_not_measured_again() {
        // What the bench saw at W/C = 127: N* (256 here) reads 3507/s in tight trials and
        // keeps 97.3% of the CPUs busy (C = 555 µs on 2 CPUs); the count that fills them
        // reads 3570/s in loose ones. N* is within 5% of it by less than the noise, but no
        // count can beat N* by more than 5%.
        let script = |threads: usize, nth: usize| -> Vec<f64> {
            let readings: &[&[f64]] = match threads {
                1 => &[&[16.0]],
                256 => &[&[3502.0, 3490.0, 3530.0], &[3520.0]],
                320 => &[&[3480.0, 3590.0, 3640.0], &[3600.0]],
                _ => &[&[3570.0; 3], &[3570.0]],
            };
            readings[nth.min(readings.len() - 1)].to_vec()
        };
        let (search, counts) = run_script(&script, 555.0);
        let best = search.best().unwrap();
        assert!(search.straddles_threshold(256, best), "{counts:?}");
        // `from`, N*, the count that fills the CPUs, and N*'s validation: no re-measurement,
        // no second look at the best (before: 1, 256, 320, 320, 256, 320, 320, as in the bench).
        assert_eq!(counts, vec![1, 256, 320, 256]);
        assert_eq!(knee_threads(search.points()), Some(256));
    }

    /// Runs a search on scripted readings (`script(threads, nth)`: the trials of the nth
    /// measurement of `threads`), each point with `cpu_us` of CPU time per task at W/C = 127.
    fn run_script(
        script: &dyn Fn(usize, usize) -> Vec<f64>,
        cpu_us: f64,
    ) -> (Adaptive, Vec<usize>) {
        let mut search = Adaptive::new(1, 512, 0.03).with_usable_cpus(TEST_CPUS);
        let mut counts = Vec::new();
        while let Next::Measure(n) | Next::MeasureTrials(n, _) = search.next() {
            let nth = counts.iter().filter(|&&c| c == n).count();
            let values = script(n, nth);
            let mut point = Point::failed(n, "");
            point.error = None;
            point.trials = values.len() as u32;
            point.throughput_per_s = stats::mean(&values);
            point.trial_throughputs_per_s = values;
            point.cpu_time_per_task_us = cpu_us;
            point.wall_time_per_task_us = cpu_us * 128.0;
            search.record(&point);
            counts.push(n);
            assert!(counts.len() < 30, "{counts:?}");
        }
        (search, counts)
    }

    #[test]
    fn a_count_read_below_the_threshold_is_passed_over_not_measured_again() {
        // Little's law's count gives 94% of the plateau: with 3% noise its interval straddles
        // the 95% threshold, and the search measures above it instead of measuring it again.
        let throughput = rounded_knee(0.94, 0.3);
        let cpu_share = |n: usize| throughput(n) / 4000.0;
        let curve = Curve::blocking(&throughput, 127.0, &cpu_share);
        let mut passed_over = 0;
        for seed in 1..=16u64 {
            let mut search = Adaptive::new(1, 512, 0.03).with_usable_cpus(TEST_CPUS);
            let points = run_curve_seeded(&mut search, &curve, 0.03, seed * 0x9E37_79B9);
            let counts: Vec<usize> = points.iter().map(|p| p.threads).collect();
            let jump = counts[1];
            let knee = crate::model::recommend::knee_threads(&points).unwrap();
            assert!(throughput(knee) >= 0.95 * throughput(512), "{counts:?}");
            if knee != jump {
                passed_over += 1;
                let at_jump = counts.iter().filter(|&&n| n == jump).count();
                assert_eq!(at_jump, 1, "seed {seed}: {counts:?}");
            }
        }
        // Most seeds read the jump below the threshold (the assertion above is exercised).
        assert!(passed_over >= 8, "{passed_over} of 16");
    }

    #[test]
    fn a_knee_within_by_less_than_the_noise_sees_the_best_measured_again() {
        // What the bench saw at W/C = 127: Little's law's count (256) reads 2766, the count
        // above it 2850 with one low trial, so 256 passes the 5% rule by 0.3%. Each count's
        // further readings are scripted, in order. CPU time per task 688 µs on 2 CPUs: 256
        // keeps 0.95 of them busy, 320 (the count that would fill them) 0.98.
        let script = |threads: usize, nth: usize| -> Vec<f64> {
            let readings: &[&[f64]] = match threads {
                1 => &[&[16.0]],
                256 => &[&[2766.0, 2770.0, 2760.0], &[2762.0]],
                320 => &[&[3000.0, 2600.0, 2950.0], &[3050.0], &[3100.0]],
                n => &[&[2900.0 * (n as f64 / 340.0).min(1.0); 3]],
            };
            readings[nth.min(readings.len() - 1)].to_vec()
        };
        let (search, counts) = run_script(&script, 688.0);
        let knee = knee_threads(search.points());
        // 256 is validated, still passes by less than the noise, and the best's third reading
        // puts it 6% below: the knee moves above it.
        let validated = counts.iter().rposition(|&n| n == 256).unwrap();
        assert!(
            counts[validated + 1..].contains(&320),
            "the best measured again after the knee's validation: {counts:?}"
        );
        assert!(knee > Some(256), "knee {knee:?}: {counts:?}");
    }

    #[test]
    fn a_wrong_wait_over_compute_still_finds_the_knee() {
        // The tasks report twice the W/C that sets the curve's optimum (64), and a quarter of it.
        let throughput = little(2.0, 31.0);
        let cpu_share = little_share(2.0, 31.0);
        for reported in [63.0, 7.0] {
            let curve = Curve::blocking(&throughput, reported, &cpu_share);
            let mut search = Adaptive::new(1, 512, 0.03).with_usable_cpus(TEST_CPUS);
            let points = run_curve(&mut search, &curve, 0.01);
            let knee = crate::model::recommend::knee_threads(&points).unwrap();
            assert!(
                throughput(knee) >= 0.95 * throughput(64) && knee <= 64 + 8,
                "reported W/C {reported}: knee {knee}, {:?}",
                points.iter().map(|p| p.threads).collect::<Vec<_>>()
            );
            assert!(points.len() <= 8, "{} measurements", points.len());
        }
    }

    #[test]
    fn noisy_counts_get_more_trials_only_where_they_matter() {
        // A soft knee (within 5% of the plateau from about 72 threads): the probes land near
        // the threshold, where noise makes the decision ambiguous.
        let curve = |n: usize| 64_000.0 * (1.0 - (-(n as f64) / 24.0).exp());
        let quiet = run(&mut Adaptive::new(1, 512, 0.03), &curve, 0.005);
        let noisy = run(&mut Adaptive::new(1, 512, 0.03), &curve, 0.08);
        let repeats = |points: &[Point]| points.len() - measured(points).len();
        assert_eq!(repeats(&quiet), 1, "only the validation repeats a count");
        assert!(
            repeats(&noisy) > 1,
            "noise adds measurements: {:?} against {:?}",
            noisy.iter().map(|p| p.threads).collect::<Vec<_>>(),
            quiet.iter().map(|p| p.threads).collect::<Vec<_>>()
        );
        // Never more than the cap at one count (plus the validation).
        for n in measured(&noisy) {
            let at = noisy.iter().filter(|p| p.threads == n).count();
            assert!(at <= 2 + MAX_EXTRA_MEASUREMENTS, "{at} at {n}");
        }
        // A looser target refines less.
        let loose = run(&mut Adaptive::new(1, 512, 0.5), &curve, 0.08);
        assert!(repeats(&loose) < repeats(&noisy));
    }

    #[test]
    fn a_remeasurement_is_one_trial_and_a_search_takes_few() {
        // Heavy noise on a soft knee: every decision near the threshold is ambiguous.
        let curve = |n: usize| 64_000.0 * (1.0 - (-(n as f64) / 24.0).exp());
        for seed_noise in [0.05, 0.08, 0.12] {
            let points = run(&mut Adaptive::new(1, 512, 0.03), &curve, seed_noise);
            let counts: Vec<(usize, u32)> = points.iter().map(|p| (p.threads, p.trials)).collect();
            assert_eq!(points[0].trials, FROM_TRIALS, "{counts:?}");
            // A count seen before is measured again with one trial, never a full measurement.
            let mut seen = BTreeSet::new();
            let mut repeats = 0;
            for p in &points {
                if !seen.insert(p.threads) {
                    assert_eq!(p.trials, REMEASURE_TRIALS, "{counts:?}");
                    repeats += 1;
                }
            }
            assert!(
                // The validations of the knee, and one of the best.
                repeats <= MAX_REMEASUREMENTS + MAX_VALIDATIONS + 1,
                "noise {seed_noise}: {repeats} repeats in {counts:?}"
            );
            let trials: u32 = points.iter().map(|p| p.trials).sum();
            assert!(
                trials <= 24,
                "noise {seed_noise}: {trials} trials in {counts:?}"
            );
        }
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
        while let Next::Measure(n) | Next::MeasureTrials(n, _) = search.next() {
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
        while let Next::Measure(n) | Next::MeasureTrials(n, _) = search.next() {
            assert!(search.estimated_measurements() > done);
            search.record(&point(n, &curve, 0.01, &mut rng));
            done += 1;
        }
        assert_eq!(search.estimated_measurements(), done);
    }
}
