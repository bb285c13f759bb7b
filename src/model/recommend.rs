//! The answer to "how many threads?": the knee of the measured curve (the smallest thread
//! count within 5% of the best measured throughput), set beside what the formula and the USL
//! fit say, with one sentence of evidence; optionally the same under a p99 latency target.
//! Pure: it reads a [`SweepResult`] and returns a [`Recommendation`]; no I/O, no clocks.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::formula::{self, ComputeWait};
use super::usl::{self, FitError, UslFit};
use crate::result::{Point, SweepResult};

/// How far below the best measured throughput a thread count may be and still be recommended:
/// 5%, about the trial-to-trial noise of a short trial on a desktop, so counts within it are
/// not measurably worse and the fewer threads cost less memory and latency.
pub const KNEE_TOLERANCE: f64 = 0.05;

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
    /// The smallest thread count with throughput within 5% of the best measured (the knee);
    /// null when no point was measured.
    pub recommended_threads: Option<usize>,
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
}

/// The measurement at one thread count: the mean throughput of its ok points and the worst p99.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Measured {
    threads: usize,
    throughput_per_s: f64,
    latency_p99_us: f64,
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
        let throughput = group.iter().map(|p| p.throughput_per_s).sum::<f64>() / group.len() as f64;
        let p99 = group
            .iter()
            .map(|p| p.latency_p99_us)
            .filter(|v| v.is_finite())
            .fold(f64::NAN, f64::max);
        measured.push(Measured {
            threads: group[0].threads,
            throughput_per_s: throughput,
            latency_p99_us: p99,
        });
    }
    measured
}

/// The best measured count (the smallest of equal bests) and the knee: the smallest count
/// within [`KNEE_TOLERANCE`] of it.
fn best_and_knee(measured: &[Measured]) -> Option<(Measured, Measured)> {
    let best = measured.iter().copied().reduce(|best, m| {
        if m.throughput_per_s > best.throughput_per_s {
            m
        } else {
            best
        }
    })?;
    let floor = best.throughput_per_s * (1.0 - KNEE_TOLERANCE);
    let knee = measured
        .iter()
        .copied()
        .find(|m| m.throughput_per_s >= floor)
        .unwrap_or(best);
    Some((best, knee))
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

    let evidence = Evidence {
        measured: &measured,
        knee,
        formula: formula_wc.map(|wc| FormulaEvidence {
            usable_cpus: cpus.usable,
            utilization_target: u,
            wait_over_compute: wc,
            threads: formula::formula_threads(cpus.usable, u, wc),
            measured: measured_wc.is_some(),
        }),
        fit: &fit,
        latency_target,
    };
    let explanation = evidence.sentence();

    Recommendation {
        formula_threads,
        measured_wait_over_compute: measured_wc,
        configured_wait_over_compute: configured_wc,
        best_measured_threads: knee.map(|(best, _)| best.threads),
        recommended_threads: knee.map(|(_, knee)| knee.threads),
        explanation,
        usl_unavailable_reason: fit.as_ref().err().map(ToString::to_string),
        usl: fit.ok(),
        cpus,
        utilization_target: u,
        latency_target,
    }
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
        .copied()
        .filter(|m| m.latency_p99_us <= target_us)
        .collect();
    best_and_knee(&allowed).map(|(_, knee)| knee)
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
    knee: Option<(Measured, Measured)>,
    formula: Option<FormulaEvidence>,
    fit: &'a Result<UslFit, FitError>,
    latency_target: Option<LatencyTarget>,
}

impl Evidence<'_> {
    fn sentence(&self) -> String {
        let Some((best, knee)) = self.knee else {
            return "Nothing to recommend: no thread count was measured successfully.".to_owned();
        };
        let mut s = String::new();
        if knee.threads == best.threads {
            let _ = write!(
                s,
                "Use {}: the measured throughput peaked there ({} tasks/s)",
                threads_text(knee.threads),
                rate(best.throughput_per_s)
            );
            if best.threads == self.largest_measured() {
                s.push_str(", the largest count measured");
            }
        } else {
            let _ = write!(
                s,
                "Use {}: they reach {} tasks/s, within {:.0}% of the best measured ({} tasks/s at {}), so more threads add less than that",
                threads_text(knee.threads),
                rate(knee.throughput_per_s),
                KNEE_TOLERANCE * 100.0,
                rate(best.throughput_per_s),
                threads_text(best.threads)
            );
        }
        s.push_str("; ");
        self.formula_clause(&mut s, knee.threads, best.threads);
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

    fn formula_clause(&self, s: &mut String, recommended: usize, best: usize) {
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
        let recommended = recommended as f64;
        // Thread counts are integers and sweeps skip counts, so "agrees" allows one thread or
        // 20%, whichever is more.
        if (recommended - f.threads).abs() <= (0.2 * f.threads).max(1.0) {
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
            let lowest = self.measured.first().map_or(1, |m| m.threads);
            let _ = write!(
                s,
                ", but throughput kept rising more than {:.0}% past it: under load the tasks wait longer than W/C at {} shows, or the pool gets more CPU than N_cpu says",
                KNEE_TOLERANCE * 100.0,
                threads_text(lowest)
            );
        }
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
                    "To keep p99 latency under {:.0} µs, use {} ({} tasks/s, p99 {:.0} µs).",
                    target.p99_target_us,
                    threads_text(m.threads),
                    rate(m.throughput_per_s),
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
fn threads_text(count: usize) -> String {
    crate::words::counted_usize(count, "thread", "threads")
}

/// A throughput for a sentence: whole tasks when there are many, more digits when few.
fn rate(per_s: f64) -> String {
    if per_s >= 100.0 {
        format!("{per_s:.0}")
    } else if per_s >= 1.0 {
        format!("{per_s:.1}")
    } else {
        format!("{per_s:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::{WEB, point, result, web_points};

    #[test]
    fn recommends_the_knee_of_a_web_service_sweep() {
        let rec = recommend(&result(web_points(), WEB), &ModelOptions::default());
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
        assert!(
            s.starts_with("Use 20 threads: they reach 1905 tasks/s"),
            "{s}"
        );
        assert!(s.contains("(1960 tasks/s at 24 threads)"), "{s}");
        assert!(
            s.contains("= 2 × 1.00 × (1 + 9.00 measured) gives 20.0, which agrees"),
            "{s}"
        );
        assert!(s.contains("the USL fit (R² = "), "{s}");
        assert_eq!(s.matches(". ").count(), 0, "one sentence: {s}");
    }

    #[test]
    fn the_same_points_give_the_same_recommendation() {
        let mut points = web_points();
        let a = recommend(&result(points.clone(), WEB), &ModelOptions::default());
        let b = recommend(&result(points.clone(), WEB), &ModelOptions::default());
        assert_eq!(a, b);
        // The order the points were run in does not matter either.
        points.reverse();
        let c = recommend(&result(points, WEB), &ModelOptions::default());
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
        // The knee (20) is far above 10: the sentence says why.
        assert!(
            rec.explanation
                .contains("gives 10.0, but throughput kept rising more than 5% past it"),
            "{}",
            rec.explanation
        );
    }

    #[test]
    fn a_contended_curve_explains_why_fewer_threads_than_the_formula() {
        // W/C = 9 measured, but throughput peaks at 4 threads and falls after it.
        let points = [(1, 100.0), (2, 180.0), (4, 240.0), (8, 200.0), (16, 130.0)]
            .into_iter()
            .map(|(n, x)| point(n, x, 10_000.0))
            .collect();
        let rec = recommend(&result(points, WEB), &ModelOptions::default());
        assert_eq!(rec.best_measured_threads, Some(4));
        assert_eq!(rec.recommended_threads, Some(4));
        let s = &rec.explanation;
        assert!(
            s.starts_with("Use 4 threads: the measured throughput peaked there (240 tasks/s)"),
            "{s}"
        );
        assert!(
            s.contains("gives 20.0, but throughput stopped growing sooner than W/C alone predicts"),
            "{s}"
        );
        assert!(s.contains("the fit finds contention σ = "), "{s}");
        let fit = rec.usl.unwrap();
        assert!(
            fit.n_star.unwrap() > 2.0 && fit.n_star.unwrap() < 8.0,
            "{fit:?}"
        );
    }

    #[test]
    fn a_curve_still_rising_at_the_last_count_asks_for_a_longer_sweep() {
        let points = [(1, 100.0), (2, 200.0), (4, 400.0), (8, 800.0)]
            .into_iter()
            .map(|(n, x)| point(n, x, 10_000.0))
            .collect();
        let rec = recommend(&result(points, WEB), &ModelOptions::default());
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
        let rec = recommend(&result(points, WEB), &ModelOptions::default());
        assert_eq!(rec.recommended_threads, Some(4));
        assert_eq!(rec.usl, None);
        let reason = rec.usl_unavailable_reason.unwrap();
        assert!(reason.contains("3 (1, 2, 4)"), "{reason}");
        assert!(
            rec.explanation.contains("there is no USL fit"),
            "{}",
            rec.explanation
        );

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
        let rec = recommend(&result(points, WEB), &ModelOptions::default());
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

    #[test]
    fn json_has_the_documented_fields() {
        let rec = recommend(&result(web_points(), WEB), &ModelOptions::default());
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
                "configured_wait_over_compute",
                "cpus",
                "explanation",
                "formula_threads",
                "measured_wait_over_compute",
                "recommended_threads",
                "usl",
                "usl_unavailable_reason",
                "utilization_target",
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
