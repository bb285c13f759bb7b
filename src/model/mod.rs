//! The model: turns a sweep's points into an answer. The thread-count formula with the measured
//! W/C and the bound it comes from ([`formula`]), Gunther's Universal Scalability Law fitted to
//! the throughput ([`usl`]), and the recommendation that sets the measured knee beside both
//! ([`recommend`]).
//!
//! Everything here is a pure function of a [`SweepResult`] (or of plain numbers): no I/O, no
//! clocks, no threads, and never egui. The CLI prints what it returns and the GUI draws it:
//! [`UslFit::throughput_per_s`] and [`Bound::throughput_per_s`] are the curves,
//! [`Recommendation::recommended_threads`] and [`Recommendation::formula_threads`] the vertical
//! lines, [`curve_end_threads`] how far to draw.

pub mod code;
pub mod formula;
pub mod recommend;
pub mod usl;

pub use code::CodeSnippet;
pub use formula::{
    Bound, ComputeWait, configured_compute_wait, formula_threads, measured_compute_wait,
};
pub use recommend::{
    CpuCounts, FULL_CPU_SHARE, KNEE_TOLERANCE, LatencyTarget, ModelOptions, Recommendation,
    UTILIZATION_MAX, UTILIZATION_MIN, knee_threads, recommend,
};
pub use usl::{FitError, UslFit, fit_points as fit_usl};

use crate::result::{Point, SweepResult};
use crate::spec::WorkloadSpec;

/// The unit a workload's throughput is counted in: a command's `work_unit` (one run does
/// `work_per_run` of them, so its rates are those per second), "tasks" for every other
/// workload (a built-in task, a child process of `exec`, a call of a Python function). The
/// model's sentences, the tables and the app's axes all ask here, so they say the same.
pub fn throughput_unit(workload: &WorkloadSpec) -> &str {
    match workload {
        WorkloadSpec::Command(command) => &command.work_unit,
        _ => "tasks",
    }
}

/// How far past the last measured thread count the curves are drawn: a quarter more, so the
/// fit's trend beyond the measurement shows without claiming much.
pub const CURVE_EXTENSION: f64 = 1.25;

/// The throughput bound min(N / (W + C), N_cpu / C) for this sweep, with W and C measured at
/// the lowest thread count (the preset's values when nothing was measured); None when neither
/// is known.
pub fn bound(result: &SweepResult) -> Option<Bound> {
    recommend::compute_wait(result).map(|(compute_wait, _)| Bound {
        compute_wait,
        usable_cpus: result.machine.usable_cpus,
    })
}

/// The thread count up to which to draw the fitted curve and the bound: [`CURVE_EXTENSION`]
/// times the largest thread count in the points (failed ones included, since the axis shows
/// them), at least 1.
pub fn curve_end_threads(points: &[Point]) -> f64 {
    let largest = points.iter().map(|p| p.threads).max().unwrap_or(1).max(1);
    largest as f64 * CURVE_EXTENSION
}

/// `samples` evenly spaced `[threads, f(threads)]` pairs from `from` to `to` inclusive
/// (at least two), skipping values that are not finite: a line ready to plot.
pub fn sample_curve(f: impl Fn(f64) -> f64, from: f64, to: f64, samples: usize) -> Vec<[f64; 2]> {
    let samples = samples.max(2);
    (0..samples)
        .map(|i| from + (to - from) * i as f64 / (samples - 1) as f64)
        .map(|n| [n, f(n)])
        .filter(|[_, y]| y.is_finite())
        .collect()
}

/// Sweep results made up for tests of the model and the exports.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::machine::MachineInfo;
    use crate::result::{Calibration, Point, SweepResult};
    use crate::spec::{PoolSpec, Preset, SweepSpec, WorkloadSpec};

    /// The web-service preset's workload: C = 1 ms, W = 9 ms.
    pub(crate) const WEB: WorkloadSpec = WorkloadSpec::Blocking {
        compute_us: 1000,
        wait_us: 9000,
    };

    /// Fails, showing the whole text, unless `text` starts with `prefix`.
    #[track_caller]
    pub(crate) fn assert_starts_with(text: &str, prefix: &str) {
        assert!(
            text.starts_with(prefix),
            "expected {prefix:?} at the start of:\n{text}"
        );
    }

    /// Fails, showing the whole text, unless `text` contains `part`.
    #[track_caller]
    pub(crate) fn assert_contains(text: &str, part: &str) {
        assert!(text.contains(part), "expected {part:?} in:\n{text}");
    }

    /// An ok point (no error, 3 trials) with this throughput; every other figure unknown.
    /// The tests of the model and of the trust checks build their points from it.
    pub(crate) fn ok_point(threads: usize, throughput_per_s: f64) -> Point {
        Point {
            error: None,
            trials: 3,
            throughput_per_s,
            ..Point::failed(threads, "x")
        }
    }

    /// An ok point with this throughput and p99, and C = 1 ms, W = 9 ms per task.
    pub(crate) fn point(threads: usize, throughput_per_s: f64, p99_us: f64) -> Point {
        Point {
            latency_p99_us: p99_us,
            cpu_time_per_task_us: 1000.0,
            wall_time_per_task_us: 10_000.0,
            ..ok_point(threads, throughput_per_s)
        }
    }

    /// The shared-state sweep on 2 CPUs as (threads, tasks/s): doubling to 2 threads, then
    /// flat at the CPU count (the curve a USL fit runs to its bound on).
    pub(crate) const FLAT_AT_TWO_CPUS: [(usize, f64); 6] = [
        (1, 1000.0),
        (2, 1990.0),
        (3, 1995.0),
        (4, 2000.0),
        (6, 1990.0),
        (8, 2000.0),
    ];

    /// A web-service-like sweep: 100 tasks/s per thread up to the CPU limit of 2000/s at 20.
    pub(crate) fn web_points() -> Vec<Point> {
        [
            (1, 99.0, 10_100.0),
            (2, 198.0, 10_200.0),
            (4, 395.0, 10_300.0),
            (8, 790.0, 10_500.0),
            (12, 1180.0, 10_800.0),
            (16, 1560.0, 11_500.0),
            (20, 1905.0, 12_500.0),
            (24, 1960.0, 14_500.0),
            (32, 1950.0, 19_000.0),
            (40, 1940.0, 24_000.0),
        ]
        .into_iter()
        .map(|(n, x, p99)| point(n, x, p99))
        .collect()
    }

    /// A result on a machine with 2 usable CPUs, 2 physical and 4 logical.
    pub(crate) fn result(points: Vec<Point>, workload: WorkloadSpec) -> SweepResult {
        SweepResult {
            machine: MachineInfo {
                host_name: String::new(),
                logical_cpus: 4,
                physical_cpus: 2,
                usable_cpus: 2,
                total_memory_bytes: 1 << 30,
                available_memory_bytes: 1 << 30,
                cpu_brand: String::new(),
                os: String::new(),
                pooltune_version: String::new(),
            },
            preset: Preset {
                schema_version: 1,
                name: "test".into(),
                description: String::new(),
                workload,
                pool: PoolSpec::Rayon,
                sweep: SweepSpec {
                    search: Default::default(),
                    target_ci: None,
                    threads: Some(points.iter().map(|p| p.threads).collect()),
                    threads_range: None,
                    trials: 3,
                    tasks_per_trial: Some(100),
                    trial_ms: None,
                    warmup_ms: 0,
                    retry_disturbed: 1,
                },
                folder: None,
            },
            calibration: Calibration {
                spin_units_per_us: 1.0,
                timer_cost_ns: 20.0,
            },
            points,
            error: None,
            outcome: crate::export::fixtures::one_second_run(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_extend_a_quarter_past_the_last_point() {
        let points = [Point::failed(8, "x"), Point::failed(32, "y")];
        assert_eq!(curve_end_threads(&points), 40.0);
        assert_eq!(curve_end_threads(&[]), 1.25);
    }

    #[test]
    fn sampled_curve_spans_the_range_and_skips_gaps() {
        let line = sample_curve(|n| 2.0 * n, 1.0, 5.0, 5);
        assert_eq!(
            line,
            vec![[1.0, 2.0], [2.0, 4.0], [3.0, 6.0], [4.0, 8.0], [5.0, 10.0]]
        );
        let gap = sample_curve(|n| if n == 0.0 { f64::NAN } else { 1.0 / n }, 0.0, 1.0, 2);
        assert_eq!(gap, vec![[1.0, 1.0]]);
    }
}
