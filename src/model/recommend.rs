//! The answer to "how many threads?": the knee of the measured curve (the smallest thread
//! count within 5% of the best measured throughput and not significantly below it by a
//! one-sided Welch t-test on the trials), set beside what the formula and the USL fit say,
//! with one sentence of evidence that names the real reason for the answer (a gap in the
//! sweep, the corner of the bound, waits that grow under load, noisy trials); optionally the
//! same under a p99 latency target. Pure: it reads a [`SweepResult`] and returns a
//! [`Recommendation`]; no I/O, no clocks.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::code::{self, CodeSnippet};
use super::formula::{self, Bound, ComputeWait};
use super::usl::{self, FitError, UslFit};
use crate::result::{Point, SweepResult};
use crate::spec::limits;
use crate::stats;
use crate::words::{rate, rate_number};

/// How far below the best measured throughput a thread count may be and still be recommended:
/// 5%, about the trial-to-trial noise of a short trial on a desktop, so counts within it are
/// not measurably worse and the fewer threads cost less memory and latency.
pub const KNEE_TOLERANCE: f64 = 0.05;

/// A count whose tasks keep at least this share of the usable CPUs busy bounds every count
/// above it: none can do more than its throughput over that share (the CPUs are the bound),
/// so nothing above beats it by more than 2.6%. The adaptive search ends its growth there, and
/// the recommendation says so. Measured here (300 ms trials, a queue pool, C = 500 µs): the
/// plateau past the knee reads 0.984–0.996 at every W/C from 1 to 127, the counts just below
/// it 0.92–0.97 (W/C = 31: 60 threads, 94.9% of the plateau, 0.969).
pub const FULL_CPU_SHARE: f64 = 0.975;

/// Measured W/C at the knee this many times the W/C at the lowest count or more counts as
/// "growing with N": below it, the difference is within what CPU queueing on a loaded
/// machine adds to a task's wall time at any count.
const WAIT_GROWTH: f64 = 1.25;

/// A best throughput at this fraction of the CPU limit N_cpu / C or more reaches the CPU
/// limit: the bound's plateau, or for pure computation the CPU count's cap. 0.8 leaves room
/// for what the pool and a loaded machine take.
const CPU_LIMIT_REACHED: f64 = 0.8;

/// The smallest target utilisation accepted (U in the formula).
pub const UTILIZATION_MIN: f64 = 0.01;
/// The largest target utilisation accepted: 1 keeps every usable CPU busy (Goetz 2006).
pub const UTILIZATION_MAX: f64 = 1.0;

/// What the user asks of the model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelOptions {
    /// Target CPU utilisation U in the formula, [`UTILIZATION_MIN`] to [`UTILIZATION_MAX`]
    /// (default 1.0).
    pub utilization_target: f64,
    /// A p99 latency target in microseconds, or None for no target.
    pub p99_target_us: Option<f64>,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            utilization_target: 1.0,
            p99_target_us: None,
        }
    }
}

/// CPU counts of the machine the sweep ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuCounts {
    /// CPUs this process may use (affinity and cgroup quota): the formula's N_cpu.
    pub usable: usize,
    /// Physical cores.
    pub physical: usize,
    /// Logical CPUs (hardware threads).
    pub logical: usize,
}

/// The thread count to use under a p99 latency target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencyTarget {
    /// The target: p99 task latency at most this many microseconds.
    pub p99_target_us: f64,
    /// Among the thread counts whose p99 latency met the target, the smallest within 5% of
    /// the best throughput among them; null when no thread count met it.
    pub threads: Option<usize>,
}

/// The model's answer for one sweep: the `recommendation` object of the JSON output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Goetz's N = N_cpu × U × (1 + W/C) with the measured W/C (the configured one when the
    /// measurement has none), not rounded; null when neither is known.
    pub formula_threads: Option<f64>,
    /// W/C measured at the lowest thread count: (wall − CPU time) / CPU time per task; null
    /// when no point measured CPU time.
    pub measured_wait_over_compute: Option<f64>,
    /// W/C as the preset configures it (`wait_us / compute_us`); null for workloads without
    /// both.
    pub configured_wait_over_compute: Option<f64>,
    /// The thread count with the highest measured throughput; null when no point was measured.
    pub best_measured_threads: Option<usize>,
    /// The smallest thread count with throughput within 5% of the best measured and not
    /// significantly below it (the knee); null when no point was measured.
    pub recommended_threads: Option<usize>,
    /// Every measured thread count whose throughput is not significantly below the best's
    /// (one-sided Welch t-test at 95% on the trial throughputs), ascending, the best among
    /// them; null when the best count has fewer than two trials to test with.
    #[serde(default)]
    pub within_noise_threads: Option<Vec<usize>>,
    /// One sentence with the evidence: the formula, the fit's peak, the measured peak, and why
    /// the recommendation differs from them (a second one for a latency target).
    pub explanation: String,
    /// The Universal Scalability Law fit; null when it was refused.
    pub usl: Option<UslFit>,
    /// Why there is no fit; null when there is one.
    pub usl_unavailable_reason: Option<String>,
    /// CPU counts; `usable` is the formula's N_cpu.
    pub cpus: CpuCounts,
    /// The target utilisation U used in the formula.
    pub utilization_target: f64,
    /// The answer under a p99 latency target; absent when none was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_target: Option<LatencyTarget>,
    /// The recommended count as code to paste ([`super::code`]): the measured pool first,
    /// then a fixed pool in the common languages; empty when nothing is recommended (and in
    /// files written before pooltune had it).
    #[serde(default)]
    pub code: Vec<CodeSnippet>,
}

/// The measurement at one thread count: the mean throughput of its ok points, the worst p99,
/// every trial's throughput and the measured W/C.
#[derive(Debug, Clone, PartialEq)]
struct Measured {
    threads: usize,
    throughput_per_s: f64,
    latency_p99_us: f64,
    /// The trial throughputs of all its points.
    trials: Vec<f64>,
    /// Measured W/C, the mean over its points that have one; NaN when none has.
    wait_over_compute: f64,
    /// Other processes used the CPUs during one of its points (`Point::disturbed`).
    disturbed: bool,
    /// CPUs its tasks kept busy ([`Point::cpus_busy`]), over its points weighted by trials;
    /// NaN when none has it.
    cpus_busy: f64,
}

impl Measured {
    /// Half-width of the 95% confidence interval of the mean over the trials (NaN for fewer
    /// than two).
    fn ci95(&self) -> f64 {
        stats::ci95_half_width(&self.trials)
    }
}

/// Ok points with a finite throughput, one per thread count, ascending.
fn by_thread_count(points: &[Point]) -> Vec<Measured> {
    let mut measured: Vec<Measured> = Vec::new();
    let mut sorted: Vec<&Point> = points
        .iter()
        .filter(|p| p.is_ok() && p.throughput_per_s.is_finite())
        .collect();
    sorted.sort_by_key(|p| p.threads);
    for group in sorted.chunk_by(|a, b| a.threads == b.threads) {
        let p99 = group
            .iter()
            .map(|p| p.latency_p99_us)
            .filter(|v| v.is_finite())
            .fold(f64::NAN, f64::max);
        let trials: Vec<f64> = group
            .iter()
            .flat_map(|p| p.trial_throughputs_per_s.iter().copied())
            .filter(|x| x.is_finite())
            .collect();
        // The mean of all its trials: a one-trial re-measurement weighs one trial, not as
        // much as a point of three. Points without trials: the mean of their throughputs.
        let throughput = if trials.is_empty() {
            group.iter().map(|p| p.throughput_per_s).sum::<f64>() / group.len() as f64
        } else {
            stats::mean(&trials)
        };
        let waits: Vec<f64> = group
            .iter()
            .map(|p| p.measured_wait_over_compute())
            .filter(|v| v.is_finite())
            .collect();
        measured.push(Measured {
            threads: group[0].threads,
            cpus_busy: Point::mean_cpus_busy(group.iter().copied()),
            throughput_per_s: throughput,
            latency_p99_us: p99,
            trials,
            wait_over_compute: stats::mean(&waits),
            disturbed: group.iter().any(|p| p.disturbed),
        });
    }
    measured
}

/// The best measured count, the knee and the counts within noise of the best, as indices
/// into the measured counts.
#[derive(Debug, Clone, PartialEq)]
struct Knee {
    best: usize,
    knee: usize,
    /// Counts not significantly below the best, ascending (the best among them); None when
    /// the best has fewer than two trials.
    within_noise: Option<Vec<usize>>,
}

/// The best measured count (the smallest of equal bests) and the knee: the smallest count
/// within [`KNEE_TOLERANCE`] of it that is not significantly below it (one-sided Welch t-test
/// at 95% on the trial throughputs, [`stats::significantly_below`]). A count with fewer than
/// two trials cannot be tested and is judged by the tolerance alone.
fn best_and_knee(measured: &[Measured]) -> Option<Knee> {
    let best = (0..measured.len()).reduce(|best, i| {
        if measured[i].throughput_per_s > measured[best].throughput_per_s {
            i
        } else {
            best
        }
    })?;
    let reference = &measured[best];
    let floor = reference.throughput_per_s * (1.0 - KNEE_TOLERANCE);
    let within_tolerance = |m: &Measured| m.throughput_per_s >= floor;
    let within_noise = |i: usize| {
        i == best
            || match stats::significantly_below(&measured[i].trials, &reference.trials) {
                Some(below) => !below,
                None => within_tolerance(&measured[i]),
            }
    };
    let knee = (0..measured.len())
        .find(|&i| within_tolerance(&measured[i]) && within_noise(i))
        .unwrap_or(best);
    let noise_set = (reference.trials.len() >= 2)
        .then(|| (0..measured.len()).filter(|&i| within_noise(i)).collect());
    Some(Knee {
        best,
        knee,
        within_noise: noise_set,
    })
}

/// When the trials are too noisy for [`KNEE_TOLERANCE`]: the widest 95% confidence interval
/// among the counts within noise of the best, as a fraction of the best, and the trials per
/// point that would narrow them all to the tolerance (None: more than the most a preset
/// allows).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Noise {
    widest_ci_fraction: f64,
    trials_needed: Option<u32>,
}

/// The noise verdict for a knee: Some when a count within noise of the best has a 95%
/// confidence interval wider than [`KNEE_TOLERANCE`] of the best, so the test cannot tell
/// apart counts that differ by more than the tolerance. The trials needed come from the
/// largest standard deviation among those counts: the fewest n with t(n − 1) · s / √n within
/// the tolerance of the best.
fn noise(measured: &[Measured], knee: &Knee) -> Option<Noise> {
    let within = knee.within_noise.as_ref()?;
    let best = measured[knee.best].throughput_per_s;
    if best <= 0.0 {
        return None;
    }
    let widest = within
        .iter()
        .map(|&i| measured[i].ci95() / best)
        .filter(|f| f.is_finite())
        .fold(0.0, f64::max);
    if widest <= KNEE_TOLERANCE {
        return None;
    }
    let std_dev = within
        .iter()
        .map(|&i| stats::sample_std_dev(&measured[i].trials))
        .filter(|s| s.is_finite())
        .fold(0.0, f64::max);
    let measured_trials = within
        .iter()
        .map(|&i| measured[i].trials.len() as u32)
        .max()
        .unwrap_or(0);
    Some(Noise {
        widest_ci_fraction: widest,
        trials_needed: stats::trials_for_half_width(
            std_dev,
            KNEE_TOLERANCE * best,
            (measured_trials + 1).max(limits::TRIALS.0),
            limits::TRIALS.1,
        ),
    })
}

/// C and W for the formula and the bound: measured when the points have them, else as
/// configured; the flag says which.
pub(super) fn compute_wait(result: &SweepResult) -> Option<(ComputeWait, bool)> {
    formula::measured_compute_wait(&result.points)
        .filter(|cw| cw.wait_over_compute().is_finite())
        .map(|cw| (cw, true))
        .or_else(|| {
            formula::configured_compute_wait(&result.preset.workload)
                .filter(|cw| cw.wait_over_compute().is_finite())
                .map(|cw| (cw, false))
        })
}

/// Turns a sweep into a recommendation. Deterministic: the same points give the same answer.
pub fn recommend(result: &SweepResult, options: &ModelOptions) -> Recommendation {
    let machine = &result.machine;
    let cpus = CpuCounts {
        usable: machine.usable_cpus,
        physical: machine.physical_cpus,
        logical: machine.logical_cpus,
    };
    let u = options.utilization_target;
    let measured_wc = formula::measured_compute_wait(&result.points)
        .map(|cw| cw.wait_over_compute())
        .filter(|v| v.is_finite());
    let configured_wc = formula::configured_compute_wait(&result.preset.workload)
        .map(|cw| cw.wait_over_compute())
        .filter(|v| v.is_finite());
    let formula_wc = measured_wc.or(configured_wc);
    let formula_threads = formula_wc.map(|wc| formula::formula_threads(cpus.usable, u, wc));
    let fit = usl::fit_points(&result.points);
    let measured = by_thread_count(&result.points);
    let knee = best_and_knee(&measured);
    let latency_target = options.p99_target_us.map(|target| LatencyTarget {
        p99_target_us: target,
        threads: under_latency_target(&measured, target).map(|m| m.threads),
    });
    let bound = super::bound(result);
    let unit = super::throughput_unit(&result.preset.workload);
    let fit_reason = fit
        .as_ref()
        .err()
        .map(|err| fit_refusal(err, &measured, knee.as_ref(), bound, unit));

    let evidence = Evidence {
        measured: &measured,
        usable_cpus: cpus.usable,
        knee: knee.clone(),
        noise: knee.as_ref().and_then(|k| noise(&measured, k)),
        bound,
        fit_reason: fit_reason.as_deref(),
        formula: formula_wc.map(|wc| FormulaEvidence {
            usable_cpus: cpus.usable,
            utilization_target: u,
            wait_over_compute: wc,
            threads: formula::formula_threads(cpus.usable, u, wc),
            measured: measured_wc.is_some(),
        }),
        fit: &fit,
        latency_target,
        unit,
    };
    let recommended_threads = knee.as_ref().map(|k| measured[k.knee].threads);
    let mut explanation = match result.preset.pool {
        crate::spec::PoolSpec::Async { worker_threads } => concurrency_sentence(
            &evidence.sentence(),
            recommended_threads,
            worker_threads.unwrap_or(cpus.usable),
        ),
        // One asyncio event loop: its coroutines share one thread.
        crate::spec::PoolSpec::PythonAsyncio => {
            concurrency_sentence(&evidence.sentence(), recommended_threads, 1)
        }
        _ => evidence.sentence(),
    };
    if let Some(took) = search_took(result) {
        explanation.push(' ');
        explanation.push_str(&took);
    }

    Recommendation {
        formula_threads,
        measured_wait_over_compute: measured_wc,
        configured_wait_over_compute: configured_wc,
        best_measured_threads: knee.as_ref().map(|k| measured[k.best].threads),
        recommended_threads,
        within_noise_threads: knee.as_ref().and_then(|k| {
            k.within_noise
                .as_ref()
                .map(|within| within.iter().map(|&i| measured[i].threads).collect())
        }),
        explanation,
        usl_unavailable_reason: fit_reason,
        usl: fit.ok(),
        cpus,
        utilization_target: u,
        latency_target,
        code: recommended_threads.map_or_else(Vec::new, |threads| {
            code::for_setup(&result.preset.workload, &result.preset.pool, threads)
        }),
    }
}

/// For an adaptive search: how many counts and trials it took (`The adaptive search measured
/// 7 counts in 8 measurements, 24 trials.`); None for a grid.
fn search_took(result: &SweepResult) -> Option<String> {
    if result.preset.sweep.search != crate::spec::SearchKind::Adaptive || result.points.is_empty() {
        return None;
    }
    let counts: std::collections::BTreeSet<usize> =
        result.points.iter().map(|p| p.threads).collect();
    let trials: u32 = result.points.iter().map(|p| p.trials).sum();
    Some(format!(
        "The adaptive search measured {} counts in {} measurements, {trials} trials.",
        counts.len(),
        result.points.len()
    ))
}

/// The knee of a series' measured points alone, the count [`recommend`] would recommend for
/// them (the fewest threads within [`KNEE_TOLERANCE`] of the best and not significantly
/// below it); None when no point was measured. For a comparison's series, which carry no
/// workload for the formula.
pub fn knee_threads(points: &[Point]) -> Option<usize> {
    let measured = by_thread_count(points);
    best_and_knee(&measured).map(|k| measured[k.knee].threads)
}

/// The knee among the thread counts whose p99 met the target.
///
/// Latency here is a task's own start-to-end time, which only grows with the thread count
/// (threads queue for CPUs and locks), so "the smallest count under the target" alone would
/// always be the first count measured. The useful question is how many threads the target
/// allows: the knee of the counts that keep p99 under it.
fn under_latency_target(measured: &[Measured], target_us: f64) -> Option<Measured> {
    let allowed: Vec<Measured> = measured
        .iter()
        .filter(|m| m.latency_p99_us <= target_us)
        .cloned()
        .collect();
    best_and_knee(&allowed).map(|k| allowed[k.knee].clone())
}

/// The CPU limit N_cpu / C in tasks per second; None without a positive C.
fn cpu_limit_per_s(bound: Bound) -> Option<f64> {
    let c = bound.compute_wait.compute_us;
    (c > 0.0).then(|| bound.usable_cpus as f64 * 1e6 / c)
}

/// Why there is no fit, in words. A fit that ran and found nothing on a curve that reached
/// the CPU limit is the CPU count's cap, and says so; any other refusal says its own reason.
fn fit_refusal(
    err: &FitError,
    measured: &[Measured],
    knee: Option<&Knee>,
    bound: Option<Bound>,
    unit: &str,
) -> String {
    if err.found_nothing()
        && let (Some(knee), Some(bound)) = (knee, bound)
        && let Some(limit) = cpu_limit_per_s(bound)
    {
        let best = measured[knee.best].throughput_per_s;
        if best >= CPU_LIMIT_REACHED * limit {
            let detail = match err {
                FitError::AtBound {
                    parameter, value, ..
                } => format!("{parameter} = {value:.3} at its bound"),
                FitError::PoorFit { r_squared } => format!("R² = {r_squared:.3}"),
                _ => err.to_string(),
            };
            return format!(
                "the curve is the {}-CPU cap ({} against N_cpu / C = {}): nothing for a contention model to explain ({detail})",
                bound.usable_cpus,
                rate(best, unit),
                rate_number(limit)
            );
        }
    }
    err.to_string()
}

struct FormulaEvidence {
    usable_cpus: usize,
    utilization_target: f64,
    wait_over_compute: f64,
    threads: f64,
    measured: bool,
}

struct Evidence<'a> {
    measured: &'a [Measured],
    /// The CPUs the pool could use (the machine's usable CPUs).
    usable_cpus: usize,
    knee: Option<Knee>,
    noise: Option<Noise>,
    bound: Option<Bound>,
    /// Why there is no fit, when there is none.
    fit_reason: Option<&'a str>,
    formula: Option<FormulaEvidence>,
    fit: &'a Result<UslFit, FitError>,
    latency_target: Option<LatencyTarget>,
    /// What throughput is counted in ([`super::throughput_unit`]).
    unit: &'a str,
}

impl Evidence<'_> {
    /// A throughput with this sweep's unit: "1905 tasks/s", "16.9 M bytes/s".
    fn rate(&self, per_s: f64) -> String {
        rate(per_s, self.unit)
    }

    fn sentence(&self) -> String {
        let Some(k) = &self.knee else {
            return "Nothing to recommend: no thread count was measured successfully.".to_owned();
        };
        let (best, knee) = (&self.measured[k.best], &self.measured[k.knee]);
        // Counts within noise worth naming: more than the best alone.
        let within = k
            .within_noise
            .as_ref()
            .filter(|within| within.len() > 1)
            .map(|within| self.counts_text(within));
        let mut s = String::new();
        if knee.threads == best.threads {
            let _ = write!(
                s,
                "Use {}: the measured throughput peaked there ({})",
                threads_text(knee.threads),
                self.rate(best.throughput_per_s)
            );
            if best.threads == self.largest_measured() {
                s.push_str(", the largest count measured");
                let share = best.cpus_busy / self.usable_cpus.max(1) as f64;
                if share >= FULL_CPU_SHARE {
                    let _ = write!(
                        s,
                        ", where its tasks keep {:.0}% of the {} usable CPUs busy, so no count above can do more than {:.0}% better",
                        100.0 * share.min(1.0),
                        self.usable_cpus,
                        100.0 * (1.0 / share - 1.0).max(0.0)
                    );
                }
            }
            if let Some(within) = within {
                let _ = write!(s, "; {within} are within noise of it");
            }
        } else if let Some(within) = within {
            let _ = write!(
                s,
                "Use {}: {within} are within noise of the best measured ({} at {}), and {} reach {}, within {:.0}% of it, so more threads add less than that",
                threads_text(knee.threads),
                self.rate(best.throughput_per_s),
                threads_text(best.threads),
                knee.threads,
                self.rate(knee.throughput_per_s),
                KNEE_TOLERANCE * 100.0,
            );
        } else {
            let _ = write!(
                s,
                "Use {}: they reach {}, within {:.0}% of the best measured ({} at {}), so more threads add less than that",
                threads_text(knee.threads),
                self.rate(knee.throughput_per_s),
                KNEE_TOLERANCE * 100.0,
                self.rate(best.throughput_per_s),
                threads_text(best.threads)
            );
        }
        if let Some(noise) = self.noise {
            let _ = write!(
                s,
                "; the trials are too noisy for a sharper answer: their 95% confidence intervals reach ±{:.0}% of the best, wider than the {:.0}% tolerance, ",
                noise.widest_ci_fraction * 100.0,
                KNEE_TOLERANCE * 100.0
            );
            match noise.trials_needed {
                Some(n) => {
                    let _ = write!(s, "and about {n} trials per point would narrow them to it");
                }
                None => {
                    let _ = write!(
                        s,
                        "and even {} trials per point (the most a preset allows) would not narrow them to it: run on a quieter machine or with longer trials",
                        limits::TRIALS.1
                    );
                }
            }
        }
        s.push_str("; ");
        self.formula_clause(&mut s, knee, best.threads);
        s.push_str("; ");
        self.fit_clause(&mut s);
        s.push('.');
        if let Some(target) = self.latency_target {
            s.push(' ');
            self.latency_clause(&mut s, target);
        }
        s
    }

    /// The largest thread count with a measurement (0 when none).
    fn largest_measured(&self) -> usize {
        self.measured.last().map_or(0, |m| m.threads)
    }

    /// "2 to 8 threads" when the indices are a run of neighbouring measured counts, else
    /// "2, 4 and 16 threads".
    fn counts_text(&self, indices: &[usize]) -> String {
        let threads: Vec<usize> = indices.iter().map(|&i| self.measured[i].threads).collect();
        let consecutive = indices.windows(2).all(|w| w[1] == w[0] + 1);
        match threads.as_slice() {
            [] => String::new(),
            [one] => threads_text(*one),
            [first, .., last] if consecutive => format!("{first} to {last} threads"),
            [init @ .., last] => format!(
                "{} and {last} threads",
                init.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The measured count just below `threads`, if any.
    fn previous_measured(&self, threads: usize) -> Option<&Measured> {
        self.measured.iter().rev().find(|m| m.threads < threads)
    }

    fn formula_clause(&self, s: &mut String, knee: &Measured, best: usize) {
        let recommended = knee.threads;
        let Some(f) = &self.formula else {
            s.push_str("the formula N_cpu × U × (1 + W/C) needs W/C, which neither the measurement nor the preset gives");
            return;
        };
        let source = if f.measured { "measured" } else { "configured" };
        let _ = write!(
            s,
            "the formula N_cpu × U × (1 + W/C) = {} × {:.2} × (1 + {:.2} {source}) gives {:.1}",
            f.usable_cpus, f.utilization_target, f.wait_over_compute, f.threads
        );
        let agreement = (0.2 * f.threads).max(1.0);
        let recommended = recommended as f64;
        // Thread counts are integers and sweeps skip counts, so "agrees" allows one thread or
        // 20%, whichever is more.
        if (recommended - f.threads).abs() <= agreement {
            s.push_str(", which agrees");
        } else if recommended < f.threads && best == self.largest_measured() {
            // The best is the last count tried: the curve may well keep rising.
            let _ = write!(
                s,
                ": extend the sweep past {} to see whether throughput keeps rising towards it",
                threads_text(best)
            );
        } else if recommended < f.threads {
            s.push_str(", but throughput stopped growing sooner than W/C alone predicts");
            let costs = match self.fit {
                Ok(fit) => {
                    let mut costs = Vec::new();
                    // Below 0.001 contention changes throughput by under 0.1% per thread.
                    if fit.sigma >= 0.001 {
                        costs.push(format!("contention σ = {:.3}", fit.sigma));
                    }
                    if !fit.is_amdahl() {
                        costs.push(format!("coherency κ = {:.2e}", fit.kappa));
                    }
                    costs
                }
                Err(_) => Vec::new(),
            };
            if costs.is_empty() {
                s.push_str(
                    " (something the formula leaves out limits it: locks, memory bandwidth, the pool's own cost)",
                );
            } else {
                let _ = write!(s, " (the fit finds {})", costs.join(" and "));
            }
        } else {
            self.above_formula_clause(s, f, knee);
        }
    }

    /// Why the knee lies above the formula's N, in order of evidence: a gap in the sweep
    /// around N (the knee can only be a count that was measured), the bound's corner (the
    /// curve reached the CPU limit and rounds the corner where the two limits cross), waits
    /// that grow with N, or nothing the measurement shows.
    fn above_formula_clause(&self, s: &mut String, f: &FormulaEvidence, knee: &Measured) {
        // The formula's N lies where nothing was measured: the knee can only be a measured
        // count, so it is the first one past the gap, however early the curve flattened in it.
        if let Some(previous) = self.previous_measured(knee.threads)
            && (previous.threads as f64) < f.threads
        {
            let _ = write!(
                s,
                ", but not measured between {} and {}: add counts there",
                previous.threads, knee.threads
            );
            return;
        }
        let best = self
            .knee
            .as_ref()
            .map_or(f64::NAN, |k| self.measured[k.best].throughput_per_s);
        if let Some(bound) = self.bound
            && let Some(limit) = cpu_limit_per_s(bound)
            && best >= CPU_LIMIT_REACHED * limit
        {
            let _ = write!(
                s,
                ", but the curve bends where the bound's two limits, N / (W + C) and N_cpu / C = {}, cross (at {:.1} threads) and rounds that corner: it comes within {:.0}% of its plateau only at {}",
                self.rate(limit),
                bound.crossover_threads(),
                KNEE_TOLERANCE * 100.0,
                threads_text(knee.threads)
            );
            return;
        }
        // Measured W/C counts a task's time without a CPU as waiting, so when other
        // processes took the CPUs at these counts its growth is theirs, not the workload's.
        if self
            .measured
            .iter()
            .take_while(|m| m.threads <= knee.threads)
            .any(|m| m.disturbed)
        {
            let _ = write!(
                s,
                ", but throughput kept rising more than {:.0}% past it while other processes used the CPUs (see the warning): the measured waits include theirs, so this sweep cannot tell why; run it again on a quiet machine",
                KNEE_TOLERANCE * 100.0
            );
            return;
        }
        let lowest = self
            .measured
            .iter()
            .find(|m| m.wait_over_compute.is_finite());
        if let Some(lowest) = lowest
            && knee.wait_over_compute.is_finite()
            && knee.wait_over_compute >= WAIT_GROWTH * lowest.wait_over_compute
            && knee.wait_over_compute > lowest.wait_over_compute
        {
            let _ = write!(
                s,
                ", but throughput kept rising more than {:.0}% past it: under load the tasks wait longer (measured W/C grows from {:.2} at {} to {:.2} at {})",
                KNEE_TOLERANCE * 100.0,
                lowest.wait_over_compute,
                threads_text(lowest.threads),
                knee.wait_over_compute,
                threads_text(knee.threads)
            );
            return;
        }
        let _ = write!(
            s,
            ", but throughput kept rising more than {:.0}% past it, which neither the measured W/C (it does not grow with N) nor the CPU limit explains",
            KNEE_TOLERANCE * 100.0
        );
    }

    fn fit_clause(&self, s: &mut String) {
        let largest = self.largest_measured();
        match self.fit {
            Ok(fit) => match fit.n_star {
                Some(n_star) => {
                    let _ = write!(
                        s,
                        "the USL fit (R² = {:.3}) peaks at {:.1} threads",
                        fit.r_squared, n_star
                    );
                    if n_star > largest as f64 {
                        let _ = write!(s, ", past the largest count measured ({largest})");
                    }
                }
                None => {
                    let _ = write!(
                        s,
                        "the USL fit (R² = {:.3}) has no peak: κ ≈ 0, Amdahl's law with σ = {:.3}",
                        fit.r_squared, fit.sigma
                    );
                }
            },
            Err(FitError::TooFewThreadCounts { counts }) => {
                let measured = match counts.len() {
                    1 => "only 1 was measured".to_owned(),
                    n => format!("{n} were measured"),
                };
                let _ = write!(
                    s,
                    "there is no USL fit: it needs {} distinct thread counts and {measured}",
                    usl::MIN_DISTINCT_THREAD_COUNTS,
                );
            }
            Err(FitError::NoThroughput) => {
                s.push_str("there is no USL fit: every measured throughput is 0");
            }
            Err(err) => {
                let reason = self
                    .fit_reason
                    .map_or_else(|| err.to_string(), str::to_owned);
                let _ = write!(s, "there is no USL fit: {reason}");
            }
        }
    }

    fn latency_clause(&self, s: &mut String, target: LatencyTarget) {
        let found = target
            .threads
            .and_then(|threads| self.measured.iter().find(|m| m.threads == threads));
        match found {
            Some(m) => {
                let _ = write!(
                    s,
                    "To keep p99 latency under {:.0} µs, use {} ({}, p99 {:.0} µs).",
                    target.p99_target_us,
                    threads_text(m.threads),
                    self.rate(m.throughput_per_s),
                    m.latency_p99_us
                );
            }
            None => {
                let lowest = self
                    .measured
                    .iter()
                    .filter(|m| m.latency_p99_us.is_finite())
                    .min_by(|a, b| a.latency_p99_us.total_cmp(&b.latency_p99_us));
                let _ = write!(
                    s,
                    "No thread count kept p99 latency under {:.0} µs",
                    target.p99_target_us
                );
                match lowest {
                    Some(m) => {
                        let _ = write!(
                            s,
                            " (the lowest was {:.0} µs at {}).",
                            m.latency_p99_us,
                            threads_text(m.threads)
                        );
                    }
                    None => s.push_str(" (no latency was measured)."),
                }
            }
        }
    }
}

/// "1 thread", "8 threads".
/// The sentence of an async pool: its count is a concurrency limit (how many tasks may be in
/// flight at once, a semaphore's or a `buffer_unordered`'s N), not a thread count; the
/// runtime's worker threads stay `worker_threads`. The formula's N means the same there: by
/// Little's law N = throughput × task time, however few threads carry the tasks.
fn concurrency_sentence(
    sentence: &str,
    recommended: Option<usize>,
    worker_threads: usize,
) -> String {
    let workers = crate::words::counted_usize(worker_threads, "worker thread", "worker threads");
    let (head, rest) = match recommended {
        Some(n) => {
            let prefix = format!("Use {}:", threads_text(n));
            match sentence.strip_prefix(&prefix) {
                Some(rest) => (
                    format!(
                        "Use a concurrency limit of {n} (at most {n} tasks in flight on {workers}, not {}):",
                        threads_text(n)
                    ),
                    rest,
                ),
                None => (String::new(), sentence),
            }
        }
        None => (String::new(), sentence),
    };
    let rest = rest
        .replace("thread counts", "concurrencies")
        .replace("thread count", "concurrency")
        .replace(" threads", " tasks in flight")
        .replace(" 1 thread", " 1 task in flight");
    format!("{head}{rest}")
}

fn threads_text(count: usize) -> String {
    crate::words::counted_usize(count, "thread", "threads")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::{
        FLAT_AT_TWO_CPUS, WEB, assert_contains, assert_starts_with, ok_point, point, result,
        web_points,
    };
    use crate::spec::WorkloadSpec;

    #[test]
    fn an_async_pool_is_told_a_concurrency_limit_not_a_thread_count() {
        let sentence = "Use 4096 threads: the measured throughput peaked there (40000 tasks/s), the largest count measured; the formula N_cpu × U × (1 + W/C) = 2 × 1.00 × (1 + 10000.00 measured) gives 20002.0: extend the sweep past 4096 threads to see whether throughput keeps rising towards it; no fit.";
        let told = concurrency_sentence(sentence, Some(4096), 2);
        assert_starts_with(
            &told,
            "Use a concurrency limit of 4096 (at most 4096 tasks in flight on 2 worker threads, not 4096 threads): the measured",
        );
        assert_contains(&told, "past 4096 tasks in flight to see");
        assert!(!told.contains("thread count"), "{told}");
    }

    /// A sweep on Python's asyncio loop is told a concurrency limit on its one thread.
    #[test]
    fn an_asyncio_sweep_is_told_a_concurrency_limit_on_one_thread() {
        let mut swept = result(web_points(), WEB);
        swept.preset.pool = crate::spec::PoolSpec::PythonAsyncio;
        let told = recommend(&swept, &ModelOptions::default()).explanation;
        assert_starts_with(
            &told,
            "Use a concurrency limit of 20 (at most 20 tasks in flight on 1 worker thread, not 20 threads):",
        );
    }

    /// The recommendation, with the default options, for a web-service sweep (C = 1 ms,
    /// W = 9 ms configured) that measured `points`.
    fn recommend_web(points: impl IntoIterator<Item = Point>) -> Recommendation {
        recommend(
            &result(points.into_iter().collect(), WEB),
            &ModelOptions::default(),
        )
    }

    #[test]
    fn recommends_the_knee_of_a_web_service_sweep() {
        let rec = recommend_web(web_points());
        assert_eq!(rec.best_measured_threads, Some(24));
        // 1905 ≥ 0.95 × 1960 = 1862; 1560 is not.
        assert_eq!(rec.recommended_threads, Some(20));
        assert_eq!(rec.measured_wait_over_compute, Some(9.0));
        assert_eq!(rec.configured_wait_over_compute, Some(9.0));
        assert_eq!(rec.formula_threads, Some(20.0));
        assert_eq!(
            rec.cpus,
            CpuCounts {
                usable: 2,
                physical: 2,
                logical: 4
            }
        );
        assert!(rec.usl.is_some(), "{:?}", rec.usl_unavailable_reason);
        assert_eq!(rec.usl_unavailable_reason, None);
        let s = &rec.explanation;
        assert_starts_with(s, "Use 20 threads: they reach 1905 tasks/s");
        assert_contains(s, "(1960 tasks/s at 24 threads)");
        assert_contains(
            s,
            "= 2 × 1.00 × (1 + 9.00 measured) gives 20.0, which agrees",
        );
        assert_contains(s, "the USL fit (R² = ");
        assert_eq!(s.matches(". ").count(), 0, "one sentence: {s}");
    }

    #[test]
    fn a_largest_count_that_keeps_the_cpus_busy_says_none_above_can_do_much_better() {
        // C = 1 ms on 2 CPUs: 1980 tasks/s keep 1.98 CPUs busy, 1800 tasks/s 1.8.
        let busy = recommend_web([
            point(1, 99.0, 10_100.0),
            point(10, 990.0, 10_200.0),
            point(20, 1980.0, 10_500.0),
        ]);
        assert_starts_with(
            &busy.explanation,
            "Use 20 threads: the measured throughput peaked there (1980 tasks/s), the largest count measured, where its tasks keep 99% of the 2 usable CPUs busy, so no count above can do more than 1% better",
        );
        let idle = recommend_web([
            point(1, 99.0, 10_100.0),
            point(10, 990.0, 10_200.0),
            point(20, 1800.0, 10_500.0),
        ]);
        assert!(!idle.explanation.contains("busy"), "{}", idle.explanation);
    }

    #[test]
    fn the_same_points_give_the_same_recommendation() {
        let mut points = web_points();
        let a = recommend_web(points.clone());
        let b = recommend_web(points.clone());
        assert_eq!(a, b);
        // The order the points were run in does not matter either.
        points.reverse();
        let c = recommend_web(points);
        assert_eq!(a.recommended_threads, c.recommended_threads);
        assert_eq!(a.best_measured_threads, c.best_measured_threads);
        assert_eq!(a.explanation, c.explanation);
    }

    #[test]
    fn utilization_scales_the_formula() {
        let options = ModelOptions {
            utilization_target: 0.5,
            p99_target_us: None,
        };
        let rec = recommend(&result(web_points(), WEB), &options);
        assert_eq!(rec.formula_threads, Some(10.0));
        assert_eq!(rec.utilization_target, 0.5);
        // The knee (20) is far above 10: the curve reached the CPU limit, whose corner is at
        // 20 threads whatever U is.
        assert_contains(
            &rec.explanation,
            "gives 10.0, but the curve bends where the bound's two limits, N / (W + C) and \
                 N_cpu / C = 2000 tasks/s, cross (at 20.0 threads)",
        );
    }

    #[test]
    fn a_contended_curve_explains_why_fewer_threads_than_the_formula() {
        // W/C = 9 measured, but throughput peaks at 4 threads and falls after it.
        let rec = recommend_web(
            [(1, 100.0), (2, 180.0), (4, 240.0), (8, 200.0), (16, 130.0)]
                .into_iter()
                .map(|(n, x)| point(n, x, 10_000.0)),
        );
        assert_eq!(rec.best_measured_threads, Some(4));
        assert_eq!(rec.recommended_threads, Some(4));
        let s = &rec.explanation;
        assert_starts_with(
            s,
            "Use 4 threads: the measured throughput peaked there (240 tasks/s)",
        );
        assert_contains(
            s,
            "gives 20.0, but throughput stopped growing sooner than W/C alone predicts",
        );
        assert_contains(s, "the fit finds contention σ = ");
        let fit = rec.usl.unwrap();
        assert!(
            fit.n_star.unwrap() > 2.0 && fit.n_star.unwrap() < 8.0,
            "{fit:?}"
        );
    }

    #[test]
    fn a_curve_still_rising_at_the_last_count_asks_for_a_longer_sweep() {
        let rec = recommend_web(
            [(1, 100.0), (2, 200.0), (4, 400.0), (8, 800.0)]
                .into_iter()
                .map(|(n, x)| point(n, x, 10_000.0)),
        );
        assert_eq!(rec.recommended_threads, Some(8));
        assert_eq!(
            rec.explanation,
            "Use 8 threads: the measured throughput peaked there (800 tasks/s), the largest count \
             measured; the formula N_cpu × U × (1 + W/C) = 2 × 1.00 × (1 + 9.00 measured) gives \
             20.0: extend the sweep past 8 threads to see whether throughput keeps rising towards \
             it; the USL fit (R² = 1.000) has no peak: κ ≈ 0, Amdahl's law with σ = 0.000."
        );
    }

    #[test]
    fn failed_points_and_too_few_counts() {
        let mut points = vec![
            point(1, 100.0, 1.0),
            point(2, 190.0, 1.0),
            point(4, 350.0, 1.0),
        ];
        points.push(Point::failed(8, "boom"));
        let rec = recommend_web(points);
        assert_eq!(rec.recommended_threads, Some(4));
        assert_eq!(rec.usl, None);
        let reason = rec.usl_unavailable_reason.unwrap();
        assert_contains(&reason, "3 (1, 2, 4)");
        assert_contains(&rec.explanation, "there is no USL fit");

        let none = recommend(
            &result(vec![Point::failed(1, "boom")], WEB),
            &ModelOptions::default(),
        );
        assert_eq!(none.recommended_threads, None);
        assert_eq!(none.best_measured_threads, None);
        assert_eq!(none.measured_wait_over_compute, None);
        // Without a measurement the formula falls back to the preset's W/C.
        assert_eq!(none.formula_threads, Some(20.0));
        assert!(none.explanation.starts_with("Nothing to recommend"));
    }

    #[test]
    fn duplicate_counts_are_averaged_and_ties_go_to_fewer_threads() {
        let points = vec![
            point(1, 100.0, 1.0),
            point(2, 300.0, 1.0),
            point(4, 200.0, 1.0),
            point(4, 400.0, 1.0),
            point(8, 300.0, 1.0),
        ];
        let rec = recommend_web(points);
        // 2 and 4 (mean 300) tie with 8: the best is the smallest of them.
        assert_eq!(rec.best_measured_threads, Some(2));
        assert_eq!(rec.recommended_threads, Some(2));
    }

    #[test]
    fn latency_target_limits_the_thread_count() {
        let options = ModelOptions {
            utilization_target: 1.0,
            p99_target_us: Some(11_000.0),
        };
        let rec = recommend(&result(web_points(), WEB), &options);
        // Counts with p99 ≤ 11 000 µs: 1..=12; the best of them is 12 (1180/s), and 8
        // (790/s) is more than 5% below it.
        let target = rec.latency_target.unwrap();
        assert_eq!(target.threads, Some(12));
        assert!(
            rec.explanation.ends_with(
                "To keep p99 latency under 11000 µs, use 12 threads (1180 tasks/s, p99 10800 µs)."
            ),
            "{}",
            rec.explanation
        );

        let strict = ModelOptions {
            p99_target_us: Some(50.0),
            ..options
        };
        let rec = recommend(&result(web_points(), WEB), &strict);
        assert_eq!(rec.latency_target.unwrap().threads, None);
        assert!(rec.explanation.ends_with(
            "No thread count kept p99 latency under 50 µs (the lowest was 10100 µs at 1 thread)."
        ), "{}", rec.explanation);
    }

    /// An ok point with these trial throughputs (mean and 95% CI from them) and C = 1 ms,
    /// W = 9 ms per task.
    fn trials_point(threads: usize, trials: &[f64]) -> Point {
        let mut p = point(threads, stats::mean(trials), 10_000.0);
        p.trials = trials.len() as u32;
        p.trial_throughputs_per_s = trials.to_vec();
        p.throughput_ci95_per_s = stats::ci95_half_width(trials);
        p
    }

    /// [`recommend_web`] of [`trials_point`]s: (threads, the throughput of each trial).
    fn recommend_trials(points: &[(usize, [f64; 3])]) -> Recommendation {
        recommend_web(
            points
                .iter()
                .map(|(threads, trials)| trials_point(*threads, trials)),
        )
    }

    /// An ok point with this throughput, C and wall time per task.
    fn cw_point(threads: usize, throughput_per_s: f64, cpu_us: f64, wall_us: f64) -> Point {
        let mut p = point(threads, throughput_per_s, 1.0);
        p.cpu_time_per_task_us = cpu_us;
        p.wall_time_per_task_us = wall_us;
        p
    }

    #[test]
    fn a_count_measured_again_counts_each_trial_once() {
        // 4 threads: three trials at about 100, then one more at 80 (an adaptive search's
        // re-measurement). Over its four trials it is within 5% of 8 threads; the mean of its
        // two points (90) is not.
        let points = vec![
            trials_point(2, &[90.0, 90.0, 91.0]),
            trials_point(4, &[100.0, 101.0, 100.0]),
            trials_point(4, &[80.0]),
            trials_point(8, &[99.0, 100.0, 99.0]),
        ];
        let rec = recommend_web(points);
        assert_eq!(rec.best_measured_threads, Some(8));
        assert_eq!(rec.recommended_threads, Some(4));
    }

    /// A count within 5% of the best but significantly below it (tight trials) is not the
    /// knee: the 5% rule alone would have said 2.
    #[test]
    fn a_count_significantly_below_the_best_is_not_the_knee() {
        let rec = recommend_trials(&[
            (1, [100.0, 101.0, 99.0]),
            (2, [195.9, 196.0, 196.1]),
            (4, [199.9, 200.0, 200.1]),
            (8, [199.0, 200.0, 201.0]),
        ]);
        assert_eq!(rec.best_measured_threads, Some(4));
        assert_eq!(rec.recommended_threads, Some(4));
        assert_eq!(rec.within_noise_threads, Some(vec![4, 8]));
        let s = &rec.explanation;
        assert_starts_with(
            s,
            "Use 4 threads: the measured throughput peaked there (200 tasks/s); 4 to 8 \
                 threads are within noise of it; the formula",
        );
        assert!(!s.contains("too noisy"), "{s}");
    }

    /// Noisy trials: 2 to 8 are indistinguishable from the best, 2 is the smallest within 5%,
    /// and the sentence says how many trials would sharpen the answer.
    #[test]
    fn noisy_trials_widen_the_within_noise_range_and_say_how_many_trials_would_help() {
        let rec = recommend_trials(&[
            (1, [100.0, 101.0, 99.0]),
            (2, [190.0, 200.0, 210.0]),
            (4, [195.0, 205.0, 200.0]),
            (8, [200.0, 210.0, 205.0]),
        ]);
        assert_eq!(rec.best_measured_threads, Some(8));
        assert_eq!(rec.recommended_threads, Some(2));
        assert_eq!(rec.within_noise_threads, Some(vec![2, 4, 8]));
        let s = &rec.explanation;
        assert_starts_with(
            s,
            "Use 2 threads: 2 to 8 threads are within noise of the best measured (205 \
                 tasks/s at 8 threads), and 2 reach 200 tasks/s, within 5% of it",
        );
        // The widest CI: 2 threads, 4.303 × 10 / √3 = 24.8, 12% of 205. s = 10 needs 7 trials
        // for ±10.25 (2.447 × 10 / √7 = 9.25; 6 give 10.5).
        assert_contains(
            s,
            "; the trials are too noisy for a sharper answer: their 95% confidence \
                 intervals reach ±12% of the best, wider than the 5% tolerance, and about 7 \
                 trials per point would narrow them to it; ",
        );
        assert_eq!(s.matches(". ").count(), 0, "one sentence: {s}");
    }

    /// A count within noise but more than 5% below the best is not recommended.
    #[test]
    fn within_noise_but_beyond_the_tolerance_is_not_recommended() {
        let rec = recommend_trials(&[
            (1, [100.0, 101.0, 99.0]),
            (2, [100.0, 180.0, 260.0]),
            (4, [195.0, 200.0, 205.0]),
            (8, [150.0, 151.0, 149.0]),
        ]);
        assert_eq!(rec.recommended_threads, Some(4));
        assert_eq!(rec.within_noise_threads, Some(vec![2, 4]));
        assert_contains(
            &rec.explanation,
            "; 2 to 4 threads are within noise of it; the trials are too noisy",
        );
        // s = 80 against ±10 is out of reach of 100 trials.
        assert_contains(
            &rec.explanation,
            "and even 100 trials per point (the most a preset allows) would not narrow them",
        );
    }

    #[test]
    fn within_noise_counts_that_are_not_neighbours_are_listed() {
        let rec = recommend_trials(&[
            (1, [190.0, 200.0, 210.0]),
            (2, [150.0, 151.0, 149.0]),
            (4, [195.0, 205.0, 200.0]),
            (8, [100.0, 101.0, 99.0]),
        ]);
        assert_eq!(rec.within_noise_threads, Some(vec![1, 4]));
        assert_contains(
            &rec.explanation,
            "peaked there (200 tasks/s); 1 and 4 threads are within noise of it;",
        );
    }

    #[test]
    fn without_trials_there_is_no_within_noise_answer() {
        let rec = recommend_web(web_points());
        assert_eq!(rec.within_noise_threads, None);
        assert!(!rec.explanation.contains("within noise"));
    }

    /// io-bound on a geometric sweep: C = 0.5 ms, W = 9.5 ms, 2 CPUs, so the bound is
    /// min(N / 10 ms, 4000/s) and the formula 40; nothing was measured between 32 and 64.
    #[test]
    fn a_knee_past_a_gap_in_the_sweep_says_to_measure_there() {
        let bound = |n: usize| (n as f64 * 100.0).min(4000.0);
        let rec = recommend_web(
            [1, 2, 4, 8, 16, 32, 64]
                .into_iter()
                .map(|n| cw_point(n, bound(n), 500.0, 10_000.0)),
        );
        assert_eq!(rec.formula_threads, Some(40.0));
        assert_eq!(rec.recommended_threads, Some(64));
        let s = &rec.explanation;
        assert_contains(
            s,
            "gives 40.0, but not measured between 32 and 64: add counts there;",
        );
        assert!(!s.contains("under load"), "{s}");

        // Measured there, the knee agrees with the formula.
        let rec = recommend_web(
            [1, 16, 32, 36, 40, 44, 48, 64]
                .into_iter()
                .map(|n| cw_point(n, bound(n), 500.0, 10_000.0)),
        );
        assert_eq!(rec.recommended_threads, Some(40));
        assert!(rec.explanation.contains("gives 40.0, which agrees"));
    }

    /// web-service with a measured W/C of 8 (formula 18): the curve follows the bound and
    /// rounds its corner, so the knee is at 24; the reason is the corner, not "under load",
    /// even though W/C measured at 24 threads (CPU queueing) is higher.
    #[test]
    fn a_knee_past_the_bounds_corner_says_the_curve_bends_there() {
        let points = [
            (1, 111.0, 9_000.0),
            (2, 222.0, 9_000.0),
            (4, 444.0, 9_000.0),
            (8, 880.0, 9_100.0),
            (12, 1300.0, 9_300.0),
            (16, 1650.0, 9_800.0),
            (20, 1850.0, 10_800.0),
            (24, 1950.0, 12_300.0),
            (32, 1960.0, 16_300.0),
        ];
        let rec = recommend_web(
            points
                .into_iter()
                .map(|(n, x, wall)| cw_point(n, x, 1000.0, wall)),
        );
        assert_eq!(rec.formula_threads, Some(18.0));
        assert_eq!(rec.recommended_threads, Some(24));
        let s = &rec.explanation;
        assert_contains(
            s,
            "gives 18.0, but the curve bends where the bound's two limits, N / (W + C) and \
                 N_cpu / C = 2000 tasks/s, cross (at 18.0 threads) and rounds that corner: it \
                 comes within 5% of its plateau only at 24 threads;",
        );
        assert!(!s.contains("under load"), "{s}");
    }

    /// Below the CPU limit and past the formula, with W/C growing with N: "under load".
    #[test]
    fn under_load_only_when_measured_wait_grows() {
        // C = 0.25 ms: the CPU limit is 8000/s, far above what is reached.
        let growing = [
            (1, 100.0, 2_500.0),
            (2, 200.0, 2_500.0),
            (4, 400.0, 2_600.0),
            (8, 780.0, 2_900.0),
            (16, 1500.0, 3_500.0),
            (24, 1800.0, 3_800.0),
            (32, 2000.0, 4_000.0),
            (40, 2050.0, 4_200.0),
        ];
        let rec = recommend_web(
            growing
                .into_iter()
                .map(|(n, x, wall)| cw_point(n, x, 250.0, wall)),
        );
        // W/C at 1 thread = 9: formula 20; knee 32, and 24 was measured (past 20).
        assert_eq!(rec.recommended_threads, Some(32));
        assert_contains(
            &rec.explanation,
            "but throughput kept rising more than 5% past it: under load the tasks wait \
                 longer (measured W/C grows from 9.00 at 1 thread to 15.00 at 32 threads)",
        );
        // The same curve with W/C steady: neither reason holds, and the sentence says so.
        let steady = growing.map(|(n, x, _)| (n, x, 2_500.0));
        let rec = recommend_web(
            steady
                .into_iter()
                .map(|(n, x, wall)| cw_point(n, x, 250.0, wall)),
        );
        assert_contains(
            &rec.explanation,
            "which neither the measured W/C (it does not grow with N) nor the CPU limit explains",
        );
        assert!(!rec.explanation.contains("under load"));
        // The growing curve again, but other processes used the CPUs at 16 threads: the
        // growth of W/C may be theirs, and the sentence does not call it "under load".
        let rec = recommend(
            &result(
                growing
                    .into_iter()
                    .map(|(n, x, wall)| {
                        let mut p = cw_point(n, x, 250.0, wall);
                        p.disturbed = n == 16;
                        p
                    })
                    .collect(),
                WEB,
            ),
            &ModelOptions::default(),
        );
        assert!(
            !rec.explanation.contains("under load"),
            "{}",
            rec.explanation
        );
        assert_contains(
            &rec.explanation,
            "while other processes used the CPUs (see the warning)",
        );
    }

    /// shared-state on 2 CPUs: double at 2 threads, flat after. The fit runs σ to its bound:
    /// no fit, and the reason names the CPU cap, never "σ = 1.000 … peaks at 1.0 threads".
    #[test]
    fn a_fit_at_its_bound_on_the_cpu_cap_is_no_fit_and_says_why() {
        let rec = recommend_web(
            FLAT_AT_TWO_CPUS
                .into_iter()
                .map(|(n, x)| cw_point(n, x, 1000.0, 1000.0)),
        );
        assert_eq!(rec.usl, None);
        let reason = rec.usl_unavailable_reason.unwrap();
        assert_starts_with(
            &reason,
            "the curve is the 2-CPU cap (2000 tasks/s against N_cpu / C = 2000): nothing \
                 for a contention model to explain (",
        );
        let s = &rec.explanation;
        assert!(
            s.contains(&format!("there is no USL fit: {reason}.")),
            "{s}"
        );
        assert!(!s.contains("peaks at"), "{s}");
        assert!(!s.contains("the fit finds"), "{s}");
    }

    /// A fit refused far from the CPU limit keeps the fit's own reason.
    #[test]
    fn a_poor_fit_below_the_cpu_limit_says_its_own_reason() {
        // Zig-zag throughput that no USL curve follows; C = 0.1 ms: the limit is 20 000/s.
        let rec = recommend_web(
            [(1, 100.0), (2, 400.0), (3, 100.0), (4, 400.0), (5, 100.0)]
                .into_iter()
                .map(|(n, x)| cw_point(n, x, 100.0, 1000.0)),
        );
        assert_eq!(rec.usl, None);
        let reason = rec.usl_unavailable_reason.unwrap();
        assert_starts_with(
            &reason,
            "the scalability fit does not describe the points: R² = ",
        );
    }

    /// A `kind = "command"` workload (xz compressing 14.9 MB per run) counting in `unit`.
    fn command_workload(unit: &str) -> WorkloadSpec {
        let spec: crate::spec::CommandSpec = toml::from_str(&format!(
            "run = [\"xz\", \"-T{{threads}}\", \"-c\", \"data.txt\"]\n\
             work_per_run = 14941528\nwork_unit = \"{unit}\"\n"
        ))
        .expect("a command spec");
        WorkloadSpec::Command(spec)
    }

    #[test]
    fn a_command_sweep_names_its_unit_and_reads_large_rates() {
        // xz's bytes per second: climbing to 2 cores, then flat.
        let points = [(1, 9_100_000.0), (2, 16_892_923.0), (3, 17_100_000.0)]
            .map(|(threads, per_s)| ok_point(threads, per_s));
        let rec = recommend(
            &result(points.to_vec(), command_workload("bytes")),
            &ModelOptions::default(),
        );
        let s = &rec.explanation;
        assert_eq!(rec.recommended_threads, Some(2), "{s}");
        assert_starts_with(s, "Use 2 threads: they reach 16.9 M bytes/s");
        assert_contains(s, "(17.1 M bytes/s at 3 threads)");
        assert!(!s.contains("tasks"), "a command's rates are not tasks: {s}");
        // The same workload counting files says files.
        let files = recommend(
            &result(points.to_vec(), command_workload("files")),
            &ModelOptions::default(),
        );
        assert_contains(&files.explanation, "16.9 M files/s");
    }

    #[test]
    fn the_code_is_for_the_recommended_count_and_absent_without_one() {
        let rec = recommend_web(web_points());
        assert_eq!(rec.recommended_threads, Some(20));
        assert_eq!(rec.code[0].language, "Rust (rayon)");
        assert_contains(&rec.code[0].snippet, ".num_threads(20)");
        let failed = recommend(
            &result(vec![Point::failed(2, "x")], WEB),
            &ModelOptions::default(),
        );
        assert_eq!(failed.recommended_threads, None);
        assert!(failed.code.is_empty());
        // A file written before `code` existed still reads, with no code.
        let mut old = serde_json::to_value(&rec).unwrap();
        old.as_object_mut().unwrap().remove("code");
        let back: Recommendation = serde_json::from_value(old).unwrap();
        assert!(back.code.is_empty());
    }

    #[test]
    fn a_series_knee_is_the_sweeps_recommendation() {
        let rec = recommend_web(web_points());
        assert_eq!(knee_threads(&web_points()), rec.recommended_threads);
        assert_eq!(knee_threads(&[Point::failed(4, "x")]), None);
    }

    #[test]
    fn json_has_the_documented_fields() {
        let rec = recommend_web(web_points());
        let json = serde_json::to_value(&rec).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "best_measured_threads",
                "code",
                "configured_wait_over_compute",
                "cpus",
                "explanation",
                "formula_threads",
                "measured_wait_over_compute",
                "recommended_threads",
                "usl",
                "usl_unavailable_reason",
                "utilization_target",
                "within_noise_threads",
            ]
        );
        let usl = json["usl"].as_object().unwrap();
        for key in ["sigma", "kappa", "lambda", "n_star", "r_squared"] {
            assert!(usl.contains_key(key), "usl.{key}");
        }
        assert_eq!(json["cpus"]["usable"], 2);
        assert_eq!(json["cpus"]["physical"], 2);
        assert_eq!(json["cpus"]["logical"], 4);
        let back: Recommendation = serde_json::from_value(json).unwrap();
        assert_eq!(back, rec);
    }
}
