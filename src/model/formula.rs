//! The thread-count formula N = N_cpu × U × (1 + W/C) (Goetz et al., *Java Concurrency in
//! Practice*, 2006, §8.2) and the throughput bound it comes from, min(N / (W + C), N_cpu / C).
//! W and C are read from the measured points (thread CPU time against wall time per task),
//! with the preset's configured values available beside them. Pure arithmetic: no I/O, no
//! clocks, and it never runs anything.

use serde::{Deserialize, Serialize};

use crate::result::Point;
use crate::spec::WorkloadSpec;

/// The time one task computes (C) and waits (W), in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ComputeWait {
    /// CPU time per task (C), in microseconds.
    pub compute_us: f64,
    /// Time per task spent not computing (W): blocked, sleeping, waiting; in microseconds.
    pub wait_us: f64,
}

impl ComputeWait {
    /// W/C; NaN when C is not positive.
    pub fn wait_over_compute(&self) -> f64 {
        if self.compute_us > 0.0 {
            (self.wait_us / self.compute_us).max(0.0)
        } else {
            f64::NAN
        }
    }
}

/// C and W as the measurement saw them, from the ok points at the lowest thread count
/// (their median when that count was measured more than once); None when no ok point has a
/// positive CPU time per task and a finite wall time.
///
/// Why the lowest thread count: there a task has a CPU to itself and no other task to wait
/// for, so wall − CPU per task is the workload's own wait, which is what W means in Goetz's
/// formula. At higher counts wall − CPU also holds the time a runnable thread waits for a
/// CPU (oversubscription) and for locks held by other threads; counting that as W would
/// make W/C grow with N and the formula chase its own tail. A mean over all points would
/// mix both; the lowest count (1 in every shipped preset) is the clean measurement.
///
/// One exception, for C: a pool with a fixed CPU cost per second (an event loop's or a
/// runtime's timers and wake-ups, whatever the load) charges that cost to the few tasks of a
/// low count. An asyncio loop awaiting 20 ms sleeps measured 263 µs of CPU per task with one
/// in flight and 13 µs with 1024; tokio, 895 µs and 17 µs. When a higher count's CPU per task
/// is below [`AMORTISED_SHARE`] of the lowest count's, the fixed cost was spread thinner there
/// and C is that smallest figure (the marginal cost of a task); W is then the lowest count's
/// wall time less that C. Noise never moves CPU time per task that far, and contention only
/// raises it, so ordinary pools keep the lowest count's C.
pub fn measured_compute_wait(points: &[Point]) -> Option<ComputeWait> {
    let usable = |p: &&Point| {
        p.is_ok() && p.cpu_time_per_task_us > 0.0 && p.wall_time_per_task_us.is_finite()
    };
    let median_at = |threads: usize, of: fn(&Point) -> f64| {
        let mut values: Vec<f64> = points
            .iter()
            .filter(usable)
            .filter(|p| p.threads == threads)
            .map(of)
            .collect();
        median(&mut values)
    };
    let lowest = points.iter().filter(usable).map(|p| p.threads).min()?;
    let lowest_compute = median_at(lowest, |p| p.cpu_time_per_task_us)?;
    let lowest_wall = median_at(lowest, |p| p.wall_time_per_task_us)?;
    let counts: std::collections::BTreeSet<usize> =
        points.iter().filter(usable).map(|p| p.threads).collect();
    let smallest_compute = counts
        .into_iter()
        .filter_map(|threads| median_at(threads, |p| p.cpu_time_per_task_us))
        .fold(lowest_compute, f64::min);
    let compute_us = if smallest_compute < AMORTISED_SHARE * lowest_compute {
        smallest_compute
    } else {
        lowest_compute
    };
    Some(ComputeWait {
        compute_us,
        wait_us: (lowest_wall - compute_us).max(0.0),
    })
}

/// A higher count's CPU per task below this share of the lowest count's says the lowest
/// count carried a fixed cost (see [`measured_compute_wait`]).
pub const AMORTISED_SHARE: f64 = 0.5;

/// C and W as the preset states them; None for workloads whose preset has no `compute_us`
/// (file I/O, memory, shared state).
pub fn configured_compute_wait(workload: &WorkloadSpec) -> Option<ComputeWait> {
    let (compute_us, wait_us) = workload.configured_compute_wait_us()?;
    Some(ComputeWait {
        compute_us: compute_us as f64,
        wait_us: wait_us as f64,
    })
}

/// Goetz's sizing formula, N = N_cpu × U × (1 + W/C): enough threads that the CPUs stay busy
/// at the target utilisation while each thread spends W of every W + C waiting. Not rounded.
pub fn formula_threads(usable_cpus: usize, utilization_target: f64, wait_over_compute: f64) -> f64 {
    usable_cpus as f64 * utilization_target * (1.0 + wait_over_compute)
}

/// The bound behind the formula: N threads that each take W + C per task finish at most
/// N / (W + C) tasks per unit of time (Little's law for a closed system), and N_cpu CPUs that
/// each task occupies for C finish at most N_cpu / C. The formula's N is where the two meet
/// (at U = 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    /// C and W per task.
    pub compute_wait: ComputeWait,
    /// CPUs the process may use (N_cpu).
    pub usable_cpus: usize,
}

impl Bound {
    /// The largest throughput possible at `threads` threads, in tasks per second:
    /// min(N / (W + C), N_cpu / C) with W and C in microseconds. Infinite when C and W are
    /// both zero (nothing bounds a task that takes no time); NaN for a negative thread count.
    pub fn throughput_per_s(&self, threads: f64) -> f64 {
        if threads.is_nan() || threads < 0.0 {
            return f64::NAN;
        }
        let ComputeWait {
            compute_us,
            wait_us,
        } = self.compute_wait;
        let by_threads = threads / (wait_us + compute_us);
        let by_cpus = self.usable_cpus as f64 / compute_us;
        by_threads.min(by_cpus) * 1e6
    }

    /// Where the two limits meet: N_cpu × (1 + W/C), the formula's N at U = 1.
    pub fn crossover_threads(&self) -> f64 {
        formula_threads(self.usable_cpus, 1.0, self.compute_wait.wait_over_compute())
    }
}

/// The median of finite values (mean of the middle two for an even count); None when empty.
fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::ok_point;

    fn point(threads: usize, cpu_us: f64, wall_us: f64) -> Point {
        Point {
            cpu_time_per_task_us: cpu_us,
            wall_time_per_task_us: wall_us,
            ..ok_point(threads, 1.0)
        }
    }

    /// The bound of a workload of `compute_us` and `wait_us` per task on `usable_cpus`.
    fn bound_for(compute_us: f64, wait_us: f64, usable_cpus: usize) -> Bound {
        Bound {
            compute_wait: ComputeWait {
                compute_us,
                wait_us,
            },
            usable_cpus,
        }
    }

    #[test]
    fn formula_on_hand_computed_cases() {
        // The web-service preset: 2 CPUs, W/C = 9 → 2 × 1 × 10 = 20.
        assert_eq!(formula_threads(2, 1.0, 9.0), 20.0);
        // 8 CPUs at 75% with W/C = 0.5 → 8 × 0.75 × 1.5 = 9.
        assert_eq!(formula_threads(8, 0.75, 0.5), 9.0);
        // CPU-bound: N = N_cpu.
        assert_eq!(formula_threads(4, 1.0, 0.0), 4.0);
    }

    #[test]
    fn bound_on_hand_computed_cases() {
        // C = 1 ms, W = 9 ms, 2 CPUs: each thread does 100 tasks/s; the CPUs cap at 2000/s.
        let bound = bound_for(1000.0, 9000.0, 2);
        assert_eq!(bound.throughput_per_s(0.0), 0.0);
        assert_eq!(bound.throughput_per_s(1.0), 100.0);
        assert_eq!(bound.throughput_per_s(10.0), 1000.0);
        assert_eq!(bound.throughput_per_s(20.0), 2000.0);
        assert_eq!(bound.throughput_per_s(40.0), 2000.0);
        assert_eq!(bound.crossover_threads(), 20.0);
        assert!(bound.throughput_per_s(-1.0).is_nan());

        // Pure CPU, C = 250 µs, 4 CPUs: 4000/s per thread until 4 threads, then 16000/s.
        let cpu = bound_for(250.0, 0.0, 4);
        assert_eq!(cpu.throughput_per_s(1.0), 4000.0);
        assert_eq!(cpu.throughput_per_s(3.0), 12000.0);
        assert_eq!(cpu.throughput_per_s(8.0), 16000.0);
        assert_eq!(cpu.crossover_threads(), 4.0);
    }

    #[test]
    fn measured_wait_comes_from_the_lowest_ok_thread_count() {
        let mut failed = point(1, 1.0, 2.0);
        failed.error = Some("boom".into());
        let points = vec![
            failed,
            // Oversubscribed: wall time inflated by waiting for a CPU; must not be used.
            point(16, 1000.0, 40_000.0),
            point(2, 1000.0, 10_000.0),
            point(2, 1100.0, 10_400.0),
            point(2, 1200.0, 10_100.0),
            point(4, 1000.0, 12_000.0),
        ];
        let measured = measured_compute_wait(&points).unwrap();
        assert_eq!(measured.compute_us, 1100.0);
        assert_eq!(measured.wait_us, 9000.0);
        assert!((measured.wait_over_compute() - 9000.0 / 1100.0).abs() < 1e-12);
    }

    /// An event loop's fixed CPU cost, charged to the one task in flight at count 1 and
    /// spread over a thousand at 1024: C is the smaller, W the lowest count's wall less it.
    #[test]
    fn a_fixed_cost_spread_over_more_tasks_gives_the_marginal_compute() {
        let points = vec![
            point(1, 263.0, 20_302.0),
            point(64, 16.6, 20_662.0),
            point(1024, 12.9, 22_280.0),
        ];
        let measured = measured_compute_wait(&points).unwrap();
        assert_eq!(measured.compute_us, 12.9);
        assert_eq!(measured.wait_us, 20_302.0 - 12.9);
        // Without the higher counts, the lowest count is all there is.
        let alone = measured_compute_wait(&points[..1]).unwrap();
        assert_eq!(alone.compute_us, 263.0);
    }

    #[test]
    fn measured_wait_is_none_without_cpu_time() {
        assert_eq!(measured_compute_wait(&[]), None);
        assert_eq!(measured_compute_wait(&[point(1, 0.0, 10.0)]), None);
        assert_eq!(measured_compute_wait(&[point(1, 5.0, f64::NAN)]), None);
        // Wall below CPU (clock granularity) is no wait, not a negative one.
        let clamped = measured_compute_wait(&[point(1, 10.0, 9.0)]).unwrap();
        assert_eq!(clamped.wait_us, 0.0);
    }

    #[test]
    fn configured_values_come_from_the_preset() {
        let blocking = WorkloadSpec::Blocking {
            compute_us: 1000,
            wait_us: 9000,
        };
        let cw = configured_compute_wait(&blocking).unwrap();
        assert_eq!(cw.wait_over_compute(), 9.0);
        let memory = WorkloadSpec::Memory {
            buffer_kib: 1024,
            passes: 1,
        };
        assert_eq!(configured_compute_wait(&memory), None);
        let zero = ComputeWait {
            compute_us: 0.0,
            wait_us: 5.0,
        };
        assert!(zero.wait_over_compute().is_nan());
    }
}
