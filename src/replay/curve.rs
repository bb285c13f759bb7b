//! The measured curve a replay drives controllers against: a sweep result's points,
//! interpolated between measured thread counts, with noise drawn from the measured trial
//! spread. Pure functions of the result and a seeded generator; it never runs a workload.
//!
//! Interpolation: throughput, mean and p99 latency and CPU utilisation are linear in the
//! thread count between the two nearest measured counts (linear, not in log threads: below
//! the knee throughput is proportional to threads, which a line between two counts keeps
//! exact and a log scale would overstate); outside the measured range the end point holds.
//!
//! Noise: each point's trial-to-trial spread is its coefficient of variation (sample standard
//! deviation of `trial_throughputs_per_s` over their mean). A trial lasted
//! `tasks_per_trial / throughput_per_s` seconds; a sample of another length gets that
//! relative spread scaled by `sqrt(trial_s / sample_s)` (counting noise: a sample 4× shorter
//! is 2× noisier), then a normal draw. Latency gets its own draw of the same size.

use crate::controller::seeded::SeededRng;
use crate::controller::{Bounds, Sample};
use crate::result::SweepResult;

/// One measured point, as the curve uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct CurvePoint {
    /// The measured thread count.
    pub threads: usize,
    /// Mean throughput over the trials, tasks per second.
    pub throughput_per_s: f64,
    /// Trial-to-trial coefficient of variation of the throughput (0 with fewer than 2 trials).
    pub spread: f64,
    /// Seconds one trial lasted.
    pub trial_s: f64,
    /// Mean task latency (start to end), µs: the point's `wall_time_per_task_us`, or
    /// Little's law `threads / throughput` when that was not recorded.
    pub latency_mean_us: f64,
    /// 99th-percentile task latency, µs (NaN when not recorded).
    pub latency_p99_us: f64,
    /// CPUs busy with the workload, 0 to the machine's logical CPUs.
    pub cpu_utilization: f64,
}

/// What the curve gives at one thread count, noiseless.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurveValue {
    /// Tasks per second.
    pub throughput_per_s: f64,
    /// Relative trial spread.
    pub spread: f64,
    /// Seconds of one measured trial.
    pub trial_s: f64,
    /// Mean latency, µs.
    pub latency_mean_us: f64,
    /// p99 latency, µs (NaN when unknown).
    pub latency_p99_us: f64,
    /// CPUs busy.
    pub cpu_utilization: f64,
}

/// A sweep's measured curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    points: Vec<CurvePoint>,
    logical_cpus: usize,
}

impl Curve {
    /// The curve of `result`'s measured points (failed ones left out), sorted by threads;
    /// None when fewer than two points were measured.
    pub fn from_result(result: &SweepResult) -> Option<Curve> {
        let mut points: Vec<CurvePoint> = result
            .points
            .iter()
            .filter(|p| p.is_ok() && p.throughput_per_s.is_finite() && p.throughput_per_s > 0.0)
            .map(|p| {
                let trials = &p.trial_throughputs_per_s;
                let spread = if trials.len() >= 2 {
                    let mean = trials.iter().sum::<f64>() / trials.len() as f64;
                    let var = trials.iter().map(|x| (x - mean).powi(2)).sum::<f64>()
                        / (trials.len() - 1) as f64;
                    if mean > 0.0 { var.sqrt() / mean } else { 0.0 }
                } else {
                    0.0
                };
                let trial_s = if p.tasks_per_trial.is_finite() && p.tasks_per_trial > 0.0 {
                    p.tasks_per_trial / p.throughput_per_s
                } else {
                    1.0
                };
                let latency_mean_us = if p.wall_time_per_task_us.is_finite() {
                    p.wall_time_per_task_us
                } else {
                    p.threads as f64 / p.throughput_per_s * 1e6
                };
                CurvePoint {
                    threads: p.threads,
                    throughput_per_s: p.throughput_per_s,
                    spread,
                    trial_s,
                    latency_mean_us,
                    latency_p99_us: p.latency_p99_us,
                    cpu_utilization: if p.cpu_utilization.is_finite() {
                        p.cpu_utilization
                    } else {
                        0.0
                    },
                }
            })
            .collect();
        points.sort_by_key(|p| p.threads);
        points.dedup_by_key(|p| p.threads);
        (points.len() >= 2).then_some(Curve {
            points,
            logical_cpus: result.machine.logical_cpus.max(1),
        })
    }

    /// A curve from points given directly (tests, synthetic curves).
    pub fn from_points(mut points: Vec<CurvePoint>, logical_cpus: usize) -> Option<Curve> {
        points.sort_by_key(|p| p.threads);
        points.dedup_by_key(|p| p.threads);
        (points.len() >= 2).then_some(Curve {
            points,
            logical_cpus: logical_cpus.max(1),
        })
    }

    /// The measured points, by thread count.
    pub fn points(&self) -> &[CurvePoint] {
        &self.points
    }

    /// The fewest and the most threads measured.
    pub fn bounds(&self) -> Bounds {
        Bounds {
            min: self.points.first().map_or(1, |p| p.threads),
            max: self.points.last().map_or(1, |p| p.threads),
        }
    }

    /// The best measured point: its thread count and throughput.
    pub fn best(&self) -> (usize, f64) {
        self.points.iter().fold((0, 0.0), |best, p| {
            if p.throughput_per_s > best.1 {
                (p.threads, p.throughput_per_s)
            } else {
                best
            }
        })
    }

    /// The curve at `threads`, linear between the two nearest measured counts.
    pub fn at(&self, threads: usize) -> CurveValue {
        let value = |p: &CurvePoint| CurveValue {
            throughput_per_s: p.throughput_per_s,
            spread: p.spread,
            trial_s: p.trial_s,
            latency_mean_us: p.latency_mean_us,
            latency_p99_us: p.latency_p99_us,
            cpu_utilization: p.cpu_utilization,
        };
        let upper = self.points.partition_point(|p| p.threads < threads);
        if upper == 0 {
            return value(&self.points[0]);
        }
        if upper >= self.points.len() {
            return value(&self.points[self.points.len() - 1]);
        }
        let (a, b) = (&self.points[upper - 1], &self.points[upper]);
        if b.threads == threads {
            return value(b);
        }
        let f = (threads - a.threads) as f64 / (b.threads - a.threads) as f64;
        let mix = |x: f64, y: f64| x + (y - x) * f;
        CurveValue {
            throughput_per_s: mix(a.throughput_per_s, b.throughput_per_s),
            spread: mix(a.spread, b.spread),
            trial_s: mix(a.trial_s, b.trial_s),
            latency_mean_us: mix(a.latency_mean_us, b.latency_mean_us),
            latency_p99_us: mix(a.latency_p99_us, b.latency_p99_us),
            cpu_utilization: mix(a.cpu_utilization, b.cpu_utilization),
        }
    }

    /// One noisy sample of `duration_s` seconds at `threads`, ending at `t_s`, and the
    /// machine's busy percentage during it (the measured utilisation over all CPUs).
    pub fn sample(
        &self,
        t_s: f64,
        threads: usize,
        duration_s: f64,
        rng: &mut SeededRng,
    ) -> (Sample, f64) {
        let at = self.at(threads);
        let relative = at.spread * (at.trial_s / duration_s).sqrt();
        let factor = (1.0 + relative * rng.normal()).max(0.0);
        let completed = (at.throughput_per_s * factor * duration_s).round().max(0.0) as u64;
        let latency_factor = (1.0 + relative * rng.normal()).max(0.1);
        let ended = completed > 0;
        let sample = Sample {
            t_s,
            threads,
            duration_s,
            completed,
            throughput_per_s: completed as f64 / duration_s,
            latency_mean_us: ended.then_some(at.latency_mean_us * latency_factor),
            // A sweep result records no minimum latency.
            latency_min_us: None,
            latency_p99_us: (ended && at.latency_p99_us.is_finite())
                .then_some(at.latency_p99_us * latency_factor),
            // The interpolated curve keeps no CPU time per task.
            cpu_time_per_task_us: None,
        };
        let busy_percent =
            (at.cpu_utilization / self.logical_cpus as f64 * 100.0).clamp(0.0, 100.0);
        (sample, busy_percent)
    }
}
