//! Gunther's Universal Scalability Law, X(N) = λN / (1 + σ(N − 1) + κN(N − 1)), fitted to
//! measured throughput by nonlinear least squares (N. J. Gunther, *Guerrilla Capacity
//! Planning*, 2007, ch. 4–5). σ is contention (the serial part: Amdahl's law is κ = 0), κ is
//! coherency (the cost of threads keeping each other's data consistent, which makes the curve
//! turn down), λ the throughput of one thread without either. Pure numerics: no I/O, and it
//! never looks at anything but the numbers it is given.
//!
//! The fit must not depend on a lucky starting guess, so it starts from everywhere: λ is
//! linear in the model, so for any (σ, κ) the best λ has a closed form, and the squared error
//! of that best λ is evaluated on a grid over σ ∈ [0, 1] and κ ∈ {0} ∪ [1e-9, 1] (log-spaced).
//! The best grid cells (every local minimum, and the best Amdahl cell κ = 0) then start a
//! Levenberg–Marquardt refinement of all three parameters with σ and κ kept in their
//! bounds; the lowest error wins.
//!
//! A fit is only an answer when it found something: [`fit_points`] refuses one whose
//! parameters sit at their bounds (σ ≥ [`SIGMA_AT_BOUND`], κ ≥ [`KAPPA_AT_BOUND`], λ = 0) or
//! that explains less than [`MIN_R_SQUARED`] of the variance, with the reason
//! ([`FitError::AtBound`], [`FitError::PoorFit`]). A curve flat at the CPU count, for one,
//! drives σ to 1: the "fit" then only restates the cap and its peak at 1 thread is nonsense.

use serde::{Deserialize, Serialize};

use crate::result::Point;

/// The fewest distinct thread counts a fit accepts: three parameters need at least one more
/// point than they have, or any three points fit exactly and R² says nothing.
pub const MIN_DISTINCT_THREAD_COUNTS: usize = 4;

/// κ at or below this counts as zero: the curve then has no peak (N* > 30 000 threads, far
/// past any pool pooltune runs).
pub const KAPPA_ZERO: f64 = 1e-9;

/// Upper bounds of the fitted parameters. σ = 1 makes throughput flat from the first thread
/// (everything serial); κ = 1 already halves throughput at two threads. Gunther bounds both
/// in [0, 1].
const SIGMA_MAX: f64 = 1.0;
const KAPPA_MAX: f64 = 1.0;

/// σ at or above this is at its bound: the fit says everything is serial, which a curve that
/// is flat for any other reason (the CPU count, a saturated device) also gives.
pub const SIGMA_AT_BOUND: f64 = 0.99;

/// κ at or above this is at its cap ([`KAPPA_MAX`] = 1 halves throughput at two threads):
/// the optimiser ran into the wall rather than finding a value.
pub const KAPPA_AT_BOUND: f64 = 0.99 * KAPPA_MAX;

/// The least R² a fit may have and be reported: below 0.9 the curve explains less than 90%
/// of the variance between the points, too little to read σ, κ or a peak from it.
pub const MIN_R_SQUARED: f64 = 0.9;

/// Grid resolution: σ in steps of 0.02, κ in steps of 1/6 decade from 1e-9 to 1.
const SIGMA_STEPS: usize = 50;
const KAPPA_DECADES_FROM: f64 = -9.0;
const KAPPA_STEPS_PER_DECADE: usize = 6;

/// How many grid cells start a refinement.
const STARTS: usize = 6;

/// Levenberg–Marquardt iterations per start; each needs only a handful of evaluations of a
/// sum over the points, so this is cheap and far more than convergence takes.
const MAX_ITERATIONS: usize = 500;

/// A fitted Universal Scalability Law curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UslFit {
    /// Contention σ, 0 to 1: the fraction of the work that is serialised.
    pub sigma: f64,
    /// Coherency κ, 0 to 1: the pairwise cost that makes throughput fall past the peak.
    pub kappa: f64,
    /// Throughput of one thread without contention or coherency cost, in tasks per second
    /// (X(1) = λ).
    pub lambda: f64,
    /// Thread count where the curve peaks, √((1 − σ) / κ), at least 1; null when κ ≈ 0
    /// (at most [`KAPPA_ZERO`]): then the curve keeps rising towards λ/σ and has no peak.
    pub n_star: Option<f64>,
    /// Coefficient of determination of the fit over the measured points, 0 to 1
    /// (1 − squared error / total variance; 1 when the points lie on the curve).
    pub r_squared: f64,
}

impl UslFit {
    /// The fitted throughput at `threads` threads, in tasks per second: what the GUI samples
    /// to draw the curve.
    pub fn throughput_per_s(&self, threads: f64) -> f64 {
        usl_throughput_per_s(self.lambda, self.sigma, self.kappa, threads)
    }

    /// True when the fit is Amdahl's law (κ ≈ 0): throughput never falls.
    pub fn is_amdahl(&self) -> bool {
        self.kappa <= KAPPA_ZERO
    }
}

/// X(N) = λN / (1 + σ(N − 1) + κN(N − 1)).
pub fn usl_throughput_per_s(lambda: f64, sigma: f64, kappa: f64, threads: f64) -> f64 {
    lambda * threads / (1.0 + sigma * (threads - 1.0) + kappa * threads * (threads - 1.0))
}

/// The thread count where a USL curve peaks, √((1 − σ) / κ) and at least 1 (when 1 − σ < κ
/// the curve falls from the first thread); None when κ ≈ 0 and the curve never peaks.
pub fn peak_threads(sigma: f64, kappa: f64) -> Option<f64> {
    (kappa > KAPPA_ZERO).then(|| ((1.0 - sigma).max(0.0) / kappa).sqrt().max(1.0))
}

/// Why a fit was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// Fewer distinct thread counts than [`MIN_DISTINCT_THREAD_COUNTS`] were measured.
    #[error(
        "the scalability fit needs throughput measured at {MIN_DISTINCT_THREAD_COUNTS} or more \
         distinct thread counts, and this sweep has {}; add thread counts to the sweep",
        describe_counts(.counts)
    )]
    TooFewThreadCounts {
        /// The distinct thread counts that were measured, ascending.
        counts: Vec<usize>,
    },
    /// Every measured throughput is zero.
    #[error(
        "the scalability fit needs a positive throughput, and every measured point is 0 tasks/s"
    )]
    NoThroughput,
    /// The best fit has a parameter at its bound: it found no contention or coherency to
    /// measure, only a shape the model can reach by running into a wall.
    #[error(
        "the scalability fit found nothing to explain: {parameter} = {value:.3} sits at its \
         bound ({bound}), so the fitted curve measures nothing"
    )]
    AtBound {
        /// Which parameter: "contention σ", "coherency κ" or "λ".
        parameter: &'static str,
        /// Its fitted value.
        value: f64,
        /// The bound, as a condition ("σ ≥ 0.99").
        bound: &'static str,
    },
    /// The best fit explains too little of the points.
    #[error(
        "the scalability fit does not describe the points: R² = {r_squared:.3}, below \
         {MIN_R_SQUARED}"
    )]
    PoorFit {
        /// The fit's coefficient of determination.
        r_squared: f64,
    },
}

impl FitError {
    /// True for the refusals of a fit that ran but found nothing ([`FitError::AtBound`],
    /// [`FitError::PoorFit`]), as opposed to one that could not run.
    pub fn found_nothing(&self) -> bool {
        matches!(self, FitError::AtBound { .. } | FitError::PoorFit { .. })
    }
}

/// A fit as an answer, or why it is none: parameters at their bounds or R² below
/// [`MIN_R_SQUARED`] refuse it.
pub fn accept(fit: UslFit) -> Result<UslFit, FitError> {
    if fit.lambda <= 0.0 || !fit.lambda.is_finite() {
        return Err(FitError::AtBound {
            parameter: "λ",
            value: fit.lambda,
            bound: "λ = 0",
        });
    }
    if fit.sigma >= SIGMA_AT_BOUND {
        return Err(FitError::AtBound {
            parameter: "contention σ",
            value: fit.sigma,
            bound: "σ ≥ 0.99",
        });
    }
    if fit.kappa >= KAPPA_AT_BOUND {
        return Err(FitError::AtBound {
            parameter: "coherency κ",
            value: fit.kappa,
            bound: "κ ≥ 0.99, its cap",
        });
    }
    if fit.r_squared.is_nan() || fit.r_squared < MIN_R_SQUARED {
        return Err(FitError::PoorFit {
            r_squared: fit.r_squared,
        });
    }
    Ok(fit)
}

fn describe_counts(counts: &[usize]) -> String {
    match counts {
        [] => "none".to_owned(),
        [one] => format!("1 ({one})"),
        _ => format!(
            "{} ({})",
            counts.len(),
            counts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Fits the USL to the measured points: those without an error and with a finite
/// throughput. Every such point is a sample; a thread count measured twice counts twice.
/// A fit that found nothing ([`accept`]) is refused with the reason.
pub fn fit_points(points: &[Point]) -> Result<UslFit, FitError> {
    let samples: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.is_ok())
        .map(|p| (p.threads as f64, p.throughput_per_s))
        .collect();
    fit(&samples).and_then(accept)
}

/// Fits the USL to `(threads, throughput_per_s)` samples. Samples with fewer than 1 thread or
/// a throughput that is negative or not finite are ignored.
pub fn fit(samples: &[(f64, f64)]) -> Result<UslFit, FitError> {
    let samples: Vec<(f64, f64)> = samples
        .iter()
        .copied()
        .filter(|&(n, x)| n.is_finite() && n >= 1.0 && x.is_finite() && x >= 0.0)
        .collect();
    let mut counts: Vec<usize> = samples.iter().map(|&(n, _)| n.round() as usize).collect();
    counts.sort_unstable();
    counts.dedup();
    // Distinct as numbers, not as rounded counts, decides; for integer counts they agree.
    let mut distinct: Vec<f64> = samples.iter().map(|&(n, _)| n).collect();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if distinct.len() < MIN_DISTINCT_THREAD_COUNTS {
        return Err(FitError::TooFewThreadCounts { counts });
    }
    let scale = samples.iter().map(|&(_, x)| x).fold(0.0, f64::max);
    if scale.is_nan() || scale <= 0.0 {
        return Err(FitError::NoThroughput);
    }
    // Throughput is scaled to at most 1 so that λ is of order 1 whatever the workload's rate;
    // σ, κ and R² do not depend on the scale.
    let problem = Problem {
        threads: samples.iter().map(|&(n, _)| n).collect(),
        throughput: samples.iter().map(|&(_, x)| x / scale).collect(),
    };

    let mut best: Option<(Params, f64)> = None;
    for start in problem.grid_starts() {
        let refined = problem.levenberg_marquardt(start);
        // λ at its closed-form best for the refined σ, κ: never worse than the refinement's.
        let (lambda, error) = problem.best_lambda(refined.sigma, refined.kappa);
        let candidate = Params { lambda, ..refined };
        if best.is_none_or(|(_, best_error)| error < best_error) {
            best = Some((candidate, error));
        }
    }
    let Some((params, error)) = best else {
        return Err(FitError::NoThroughput);
    };
    let mean = problem.throughput.iter().sum::<f64>() / problem.throughput.len() as f64;
    let total: f64 = problem.throughput.iter().map(|y| (y - mean).powi(2)).sum();
    // Identical throughputs at every count: the flat curve σ = 1 fits them exactly.
    let r_squared = if total > 0.0 {
        (1.0 - error / total).clamp(0.0, 1.0)
    } else if error <= f64::EPSILON {
        1.0
    } else {
        0.0
    };
    Ok(UslFit {
        sigma: params.sigma,
        kappa: params.kappa,
        lambda: params.lambda * scale,
        n_star: peak_threads(params.sigma, params.kappa),
        r_squared,
    })
}

/// λ, σ, κ in the fit's scaled units.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Params {
    lambda: f64,
    sigma: f64,
    kappa: f64,
}

impl Params {
    /// The nearest parameters inside the bounds.
    fn clamped(self) -> Params {
        Params {
            lambda: self.lambda.max(0.0),
            sigma: self.sigma.clamp(0.0, SIGMA_MAX),
            kappa: self.kappa.clamp(0.0, KAPPA_MAX),
        }
    }
}

/// The samples, throughput scaled to at most 1.
struct Problem {
    threads: Vec<f64>,
    throughput: Vec<f64>,
}

impl Problem {
    /// X(N) / λ at sample `i`.
    fn shape(&self, i: usize, sigma: f64, kappa: f64) -> f64 {
        usl_throughput_per_s(1.0, sigma, kappa, self.threads[i])
    }

    fn squared_error(&self, p: Params) -> f64 {
        (0..self.threads.len())
            .map(|i| (self.throughput[i] - p.lambda * self.shape(i, p.sigma, p.kappa)).powi(2))
            .sum()
    }

    /// The least-squares λ for fixed σ, κ (the model is λ × shape, linear in λ) and its error.
    fn best_lambda(&self, sigma: f64, kappa: f64) -> (f64, f64) {
        let (mut xy, mut xx) = (0.0, 0.0);
        for i in 0..self.threads.len() {
            let g = self.shape(i, sigma, kappa);
            xy += g * self.throughput[i];
            xx += g * g;
        }
        let lambda = if xx > 0.0 { (xy / xx).max(0.0) } else { 0.0 };
        let error = self.squared_error(Params {
            lambda,
            sigma,
            kappa,
        });
        (lambda, error)
    }

    /// Starting points: the grid's local minima, best first, and the best Amdahl (κ = 0) cell.
    fn grid_starts(&self) -> Vec<Params> {
        let sigmas: Vec<f64> = (0..=SIGMA_STEPS)
            .map(|j| SIGMA_MAX * j as f64 / SIGMA_STEPS as f64)
            .collect();
        let decades = -KAPPA_DECADES_FROM as usize;
        let kappas: Vec<f64> =
            std::iter::once(0.0)
                .chain((0..=decades * KAPPA_STEPS_PER_DECADE).map(|k| {
                    10f64.powf(KAPPA_DECADES_FROM + k as f64 / KAPPA_STEPS_PER_DECADE as f64)
                }))
                .collect();
        let cells: Vec<Vec<(f64, f64)>> = sigmas
            .iter()
            .map(|&s| kappas.iter().map(|&k| self.best_lambda(s, k)).collect())
            .collect();
        let error = |j: usize, k: usize| cells[j][k].1;

        let mut minima: Vec<(usize, usize)> = Vec::new();
        for j in 0..sigmas.len() {
            for k in 0..kappas.len() {
                let neighbours = [
                    (j.checked_sub(1), Some(k)),
                    (Some(j + 1).filter(|&j| j < sigmas.len()), Some(k)),
                    (Some(j), k.checked_sub(1)),
                    (Some(j), Some(k + 1).filter(|&k| k < kappas.len())),
                ];
                let is_minimum = neighbours.iter().all(|&(nj, nk)| match (nj, nk) {
                    (Some(nj), Some(nk)) => error(j, k) <= error(nj, nk),
                    _ => true,
                });
                if is_minimum {
                    minima.push((j, k));
                }
            }
        }
        minima.sort_by(|&(j1, k1), &(j2, k2)| error(j1, k1).total_cmp(&error(j2, k2)));
        minima.truncate(STARTS);
        // Amdahl's law is a boundary of the search space that a grid minimum can miss when
        // the error falls gently towards κ = 0; refine its best cell too.
        let amdahl = (0..sigmas.len()).min_by(|&a, &b| error(a, 0).total_cmp(&error(b, 0)));
        if let Some(j) = amdahl
            && !minima.contains(&(j, 0))
        {
            minima.push((j, 0));
        }
        minima
            .into_iter()
            .map(|(j, k)| Params {
                lambda: cells[j][k].0,
                sigma: sigmas[j],
                kappa: kappas[k],
            })
            .collect()
    }

    /// Levenberg–Marquardt with Marquardt's diagonal scaling (so that λ ~ 1 and κ ~ 1e-4 take
    /// comparable steps), each step projected back into the bounds and taken only when it
    /// lowers the error (Nocedal & Wright, *Numerical Optimization*, 2006, §10.3).
    fn levenberg_marquardt(&self, start: Params) -> Params {
        let mut p = start.clamped();
        let mut error = self.squared_error(p);
        let mut damping = 1e-3;
        for _ in 0..MAX_ITERATIONS {
            let (jtj, jtr) = self.normal_equations(p);
            let mut stepped = false;
            while damping < 1e16 {
                let mut a = jtj;
                for d in 0..3 {
                    a[d][d] += damping * jtj[d][d].max(1e-12);
                }
                let Some(delta) = solve3(a, jtr) else {
                    damping *= 10.0;
                    continue;
                };
                let candidate = Params {
                    lambda: p.lambda + delta[0],
                    sigma: p.sigma + delta[1],
                    kappa: p.kappa + delta[2],
                }
                .clamped();
                let candidate_error = self.squared_error(candidate);
                if candidate_error < error {
                    let gain = error - candidate_error;
                    p = candidate;
                    error = candidate_error;
                    damping = (damping / 3.0).max(1e-12);
                    stepped = gain > 1e-15 * error;
                    break;
                }
                damping *= 4.0;
            }
            if !stepped {
                break;
            }
        }
        p
    }

    /// JᵀJ and Jᵀr of the residuals r = X − λ × shape at `p`.
    fn normal_equations(&self, p: Params) -> ([[f64; 3]; 3], [f64; 3]) {
        let mut jtj = [[0.0; 3]; 3];
        let mut jtr = [0.0; 3];
        for i in 0..self.threads.len() {
            let n = self.threads[i];
            let denominator = 1.0 + p.sigma * (n - 1.0) + p.kappa * n * (n - 1.0);
            let model = p.lambda * n / denominator;
            let residual = self.throughput[i] - model;
            let d_lambda = n / denominator;
            let d_sigma = -p.lambda * n * (n - 1.0) / (denominator * denominator);
            let d_kappa = d_sigma * n;
            let row = [d_lambda, d_sigma, d_kappa];
            for a in 0..3 {
                jtr[a] += row[a] * residual;
                for b in 0..3 {
                    jtj[a][b] += row[a] * row[b];
                }
            }
        }
        (jtj, jtr)
    }
}

/// Solves a 3×3 linear system by Gaussian elimination with partial pivoting; None when it is
/// singular or the answer is not finite.
fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> Option<[f64; 3]> {
    for col in 0..3 {
        let pivot = (col..3).max_by(|&r1, &r2| a[r1][col].abs().total_cmp(&a[r2][col].abs()))?;
        if a[pivot][col].is_nan() || a[pivot][col].abs() <= 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col];
        for row in col + 1..3 {
            let factor = a[row][col] / pivot_row[col];
            for (cell, pivot_cell) in a[row].iter_mut().zip(pivot_row).skip(col) {
                *cell -= factor * pivot_cell;
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = [0.0; 3];
    for row in (0..3).rev() {
        let tail: f64 = (row + 1..3).map(|c| a[row][c] * x[c]).sum();
        x[row] = (b[row] - tail) / a[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::{FLAT_AT_TWO_CPUS, assert_contains, ok_point};

    /// Samples of a known curve at `threads`, each multiplied by (1 + noise(i)).
    fn generated(
        lambda: f64,
        sigma: f64,
        kappa: f64,
        threads: &[usize],
        noise: impl Fn(usize) -> f64,
    ) -> Vec<(f64, f64)> {
        threads
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let n = n as f64;
                (
                    n,
                    usl_throughput_per_s(lambda, sigma, kappa, n) * (1.0 + noise(i)),
                )
            })
            .collect()
    }

    /// Deterministic noise within ±3%: a fixed, irregular sequence (no RNG, so a failure
    /// reproduces exactly).
    fn noise_3pct(i: usize) -> f64 {
        0.03 * ((i as f64 * 2.399_963).sin() * 1.7).clamp(-1.0, 1.0)
    }

    fn relative_error(found: f64, expected: f64) -> f64 {
        ((found - expected) / expected).abs()
    }

    const SWEEP: [usize; 14] = [1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 32, 40, 48, 64];

    #[test]
    fn recovers_known_parameters_exactly_from_clean_points() {
        // Off-grid values, so the answer comes from the refinement and not from a grid cell.
        let (lambda, sigma, kappa) = (850.0, 0.037, 0.000_73);
        let fit = fit(&generated(lambda, sigma, kappa, &SWEEP, |_| 0.0)).unwrap();
        assert!(relative_error(fit.lambda, lambda) < 1e-4, "{fit:?}");
        assert!(relative_error(fit.sigma, sigma) < 1e-3, "{fit:?}");
        assert!(relative_error(fit.kappa, kappa) < 1e-3, "{fit:?}");
        let n_star = ((1.0 - sigma) / kappa).sqrt();
        assert!(
            relative_error(fit.n_star.unwrap(), n_star) < 1e-3,
            "{fit:?}"
        );
        assert!(fit.r_squared > 0.999_999, "{fit:?}");
    }

    #[test]
    fn recovers_known_parameters_from_noisy_points() {
        let (lambda, sigma, kappa) = (120_000.0, 0.08, 0.0021);
        let threads: Vec<usize> = (1..=48).collect();
        let samples = generated(lambda, sigma, kappa, &threads, noise_3pct);
        assert!(
            samples
                .iter()
                .enumerate()
                .any(|(i, _)| noise_3pct(i) > 0.025)
        );
        assert!(
            samples
                .iter()
                .enumerate()
                .any(|(i, _)| noise_3pct(i) < -0.025)
        );
        let fit = fit(&samples).unwrap();
        assert!(relative_error(fit.lambda, lambda) < 0.03, "{fit:?}");
        assert!(relative_error(fit.sigma, sigma) < 0.05, "{fit:?}");
        assert!(relative_error(fit.kappa, kappa) < 0.05, "{fit:?}");
        let n_star = ((1.0 - sigma) / kappa).sqrt();
        assert!(
            relative_error(fit.n_star.unwrap(), n_star) < 0.03,
            "{fit:?}"
        );
        assert!(fit.r_squared > 0.9, "{fit:?}");
    }

    #[test]
    fn the_answer_does_not_depend_on_the_scale_or_order_of_the_points() {
        let samples = generated(1.0, 0.2, 0.01, &SWEEP, noise_3pct);
        let scaled: Vec<(f64, f64)> = samples.iter().map(|&(n, x)| (n, x * 1e6)).collect();
        let reversed: Vec<(f64, f64)> = samples.iter().rev().copied().collect();
        let a = fit(&samples).unwrap();
        let b = fit(&scaled).unwrap();
        let c = fit(&reversed).unwrap();
        assert!(relative_error(a.sigma, b.sigma) < 1e-6 && relative_error(a.kappa, b.kappa) < 1e-6);
        assert!(relative_error(a.lambda * 1e6, b.lambda) < 1e-6);
        assert!(relative_error(a.sigma, c.sigma) < 1e-6 && relative_error(a.kappa, c.kappa) < 1e-6);
    }

    #[test]
    fn amdahl_data_gives_kappa_zero_and_no_peak() {
        let (lambda, sigma) = (1000.0, 0.137);
        let fit = fit(&generated(lambda, sigma, 0.0, &SWEEP, |_| 0.0)).unwrap();
        assert!(fit.kappa <= KAPPA_ZERO, "{fit:?}");
        assert!(fit.is_amdahl());
        assert_eq!(fit.n_star, None);
        assert!(relative_error(fit.sigma, sigma) < 1e-3, "{fit:?}");
        assert!(relative_error(fit.lambda, lambda) < 1e-4, "{fit:?}");
    }

    #[test]
    fn linear_data_gives_no_contention_and_no_peak() {
        let samples: Vec<(f64, f64)> = SWEEP
            .iter()
            .map(|&n| (n as f64, 250.0 * n as f64))
            .collect();
        let fit = fit(&samples).unwrap();
        assert!(fit.sigma < 1e-6, "{fit:?}");
        assert!(fit.kappa <= KAPPA_ZERO, "{fit:?}");
        assert_eq!(fit.n_star, None);
        assert!(relative_error(fit.lambda, 250.0) < 1e-6, "{fit:?}");
        assert!(fit.r_squared > 0.999_999);
    }

    #[test]
    fn flat_data_is_all_contention() {
        let samples: Vec<(f64, f64)> = SWEEP.iter().map(|&n| (n as f64, 500.0)).collect();
        let fit = fit(&samples).unwrap();
        assert!(fit.sigma > 0.999, "{fit:?}");
        assert!(relative_error(fit.lambda, 500.0) < 1e-6, "{fit:?}");
        assert_eq!(fit.r_squared, 1.0);
    }

    /// The shared-state sweep on 2 CPUs: doubling to 2 threads, then flat at the CPU count.
    /// The raw fit runs σ to its bound and puts the peak at 1 thread; it is refused.
    #[test]
    fn a_curve_flat_at_the_cpu_count_is_refused_at_its_bound() {
        let points: Vec<Point> = FLAT_AT_TWO_CPUS
            .into_iter()
            .map(|(n, x)| ok_point(n, x))
            .collect();
        let raw = fit(&points
            .iter()
            .map(|p| (p.threads as f64, p.throughput_per_s))
            .collect::<Vec<_>>())
        .unwrap();
        let err = fit_points(&points).unwrap_err();
        assert!(err.found_nothing(), "{raw:?} → {err}");
        // Whatever the raw fit found, it is refused for being at a bound or poor.
        assert!(
            raw.sigma >= SIGMA_AT_BOUND
                || raw.kappa >= KAPPA_AT_BOUND
                || raw.r_squared < MIN_R_SQUARED,
            "{raw:?}"
        );
    }

    #[test]
    fn flat_points_are_all_contention_and_no_answer() {
        let points: Vec<Point> = SWEEP.iter().map(|&n| ok_point(n, 500.0)).collect();
        let err = fit_points(&points).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the scalability fit found nothing to explain: contention σ = 1.000 sits at its \
             bound (σ ≥ 0.99), so the fitted curve measures nothing"
        );
    }

    #[test]
    fn accept_checks_every_bound_and_r_squared() {
        let good = UslFit {
            sigma: 0.2,
            kappa: 0.001,
            lambda: 100.0,
            n_star: peak_threads(0.2, 0.001),
            r_squared: 0.95,
        };
        assert_eq!(accept(good), Ok(good));
        let at = |fit: UslFit| accept(fit).unwrap_err();
        assert!(matches!(
            at(UslFit {
                sigma: 0.99,
                ..good
            }),
            FitError::AtBound {
                parameter: "contention σ",
                ..
            }
        ));
        assert!(matches!(
            at(UslFit { kappa: 1.0, ..good }),
            FitError::AtBound {
                parameter: "coherency κ",
                ..
            }
        ));
        assert!(matches!(
            at(UslFit {
                lambda: 0.0,
                ..good
            }),
            FitError::AtBound {
                parameter: "λ", ..
            }
        ));
        let poor = at(UslFit {
            r_squared: 0.89,
            ..good
        });
        assert_eq!(poor, FitError::PoorFit { r_squared: 0.89 });
        assert_eq!(
            poor.to_string(),
            "the scalability fit does not describe the points: R² = 0.890, below 0.9"
        );
        assert!(!FitError::NoThroughput.found_nothing());
        // Just inside every bound is still a fit.
        assert!(
            accept(UslFit {
                sigma: 0.98,
                kappa: 0.98,
                r_squared: 0.9,
                ..good
            })
            .is_ok()
        );
    }

    #[test]
    fn refuses_fewer_than_four_distinct_thread_counts() {
        // Six points, but only three distinct counts.
        let samples = [
            (1.0, 10.0),
            (2.0, 19.0),
            (4.0, 30.0),
            (4.0, 31.0),
            (2.0, 18.0),
            (1.0, 10.5),
        ];
        let err = fit(&samples).unwrap_err();
        assert_eq!(
            err,
            FitError::TooFewThreadCounts {
                counts: vec![1, 2, 4]
            }
        );
        let message = err.to_string();
        assert_contains(&message, "4 or more distinct thread counts");
        assert_contains(&message, "3 (1, 2, 4)");
        // Failed points do not count.
        let mut points: Vec<Point> = (1..=4).map(|n| Point::failed(n, "boom")).collect();
        points[0].error = None;
        points[0].throughput_per_s = 5.0;
        assert_eq!(
            fit_points(&points).unwrap_err(),
            FitError::TooFewThreadCounts { counts: vec![1] }
        );
        assert!(matches!(
            fit(&[(1.0, 0.0), (2.0, 0.0), (3.0, 0.0), (4.0, 0.0)]),
            Err(FitError::NoThroughput)
        ));
    }

    #[test]
    fn peak_is_the_formula_and_at_least_one() {
        assert_eq!(peak_threads(0.0, 0.01), Some(10.0));
        assert_eq!(peak_threads(0.19, 0.01), Some(9.0));
        assert_eq!(peak_threads(1.0, 0.01), Some(1.0));
        assert_eq!(peak_threads(0.5, 0.0), None);
    }

    #[test]
    fn solves_a_small_linear_system() {
        let a = [[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]];
        let x = solve3(a, [3.0, 5.0, 5.0]).unwrap();
        for (found, expected) in x.iter().zip([1.0, 1.0, 1.0]) {
            assert!((found - expected).abs() < 1e-12);
        }
        assert_eq!(solve3([[0.0; 3]; 3], [1.0, 1.0, 1.0]), None);
    }

    proptest::proptest! {
        #[test]
        fn fit_is_finite_and_in_bounds_on_positive_data(
            samples in proptest::collection::btree_map(1usize..512, 1e-3f64..1e9, 4..16)
        ) {
            let samples: Vec<(f64, f64)> = samples.into_iter().map(|(n, x)| (n as f64, x)).collect();
            let fit = fit(&samples).unwrap();
            proptest::prop_assert!(fit.sigma.is_finite() && (0.0..=1.0).contains(&fit.sigma), "{fit:?}");
            proptest::prop_assert!(fit.kappa.is_finite() && (0.0..=1.0).contains(&fit.kappa), "{fit:?}");
            proptest::prop_assert!(fit.lambda.is_finite() && fit.lambda > 0.0, "{fit:?}");
            proptest::prop_assert!((0.0..=1.0).contains(&fit.r_squared), "{fit:?}");
            if let Some(n_star) = fit.n_star {
                proptest::prop_assert!(n_star.is_finite() && n_star >= 1.0, "{fit:?}");
            }
        }
    }
}
