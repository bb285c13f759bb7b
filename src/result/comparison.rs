//! What a comparison produces: one [`SeriesResult`] per configuration, each with the same
//! [`Point`]s a sweep produces, and the pure functions that turn points into the three views
//! (throughput, speedup X(N)/X(1), efficiency speedup/N). The JSON export, the table and the
//! GUI read these types; nothing here measures or draws.

use serde::{Deserialize, Serialize};

use crate::engine::RunResult;
pub use crate::engine::{InterpreterInfo, SeriesResult};
use crate::result::{Point, nan_null};
use crate::spec::ComparisonPreset;

/// A whole comparison: the engine's [`RunResult`] with the comparison exactly as run (after
/// any `--threads` override) as its preset, and one result per `[[series]]`, in the preset's
/// order. Its JSON is [`RunResult`]'s.
pub type ComparisonResult = RunResult<ComparisonPreset>;

impl SeriesResult {
    /// The throughput, speedup and efficiency of this series' measured points.
    pub fn scaling(&self) -> Scaling {
        scaling(&self.points)
    }
}

impl RunResult<ComparisonPreset> {
    /// The comparison `preset` ran as, from the engine's result, with its warnings.
    pub fn from_run(preset: ComparisonPreset, run: RunResult) -> ComparisonResult {
        let mut result = run.with_preset(preset);
        result.outcome.warnings = crate::trust::compare_warnings(&result);
        result
    }
}

/// One point of the three views.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScalingPoint {
    /// Threads (or worker processes).
    pub threads: usize,
    /// Tasks per second, X(N).
    pub throughput_per_s: f64,
    /// Half-width of the 95% confidence interval of the throughput (NaN when unknown).
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub throughput_ci95_per_s: f64,
    /// X(N) / X(baseline).
    pub speedup: f64,
    /// speedup / (N / baseline threads): 1.0 is perfect scaling.
    pub efficiency: f64,
}

/// The three views of one series: throughput, speedup and efficiency per thread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// The thread count speedups are relative to: 1 when measured, else the fewest measured
    /// (then speedup(N) = X(N)/X(n0) and efficiency = speedup / (N/n0)). None without points.
    pub baseline_threads: Option<usize>,
    /// The measured points (failed ones left out), in thread-count order.
    pub points: Vec<ScalingPoint>,
}

/// The measured point speedups are relative to: the 1-thread point, or else the one with the
/// fewest threads. Failed points and points with no throughput are skipped.
pub fn baseline(points: &[Point]) -> Option<&Point> {
    points
        .iter()
        .filter(|p| p.is_ok() && p.throughput_per_s > 0.0)
        .min_by_key(|p| p.threads)
}

/// Speedup X(N)/X(base) of a throughput against a baseline throughput; NaN when unknown.
pub fn speedup(throughput_per_s: f64, baseline_per_s: f64) -> f64 {
    if baseline_per_s > 0.0 && throughput_per_s.is_finite() {
        throughput_per_s / baseline_per_s
    } else {
        f64::NAN
    }
}

/// Efficiency speedup/(N/base): the share of the added threads that turned into throughput.
pub fn efficiency(speedup: f64, threads: usize, baseline_threads: usize) -> f64 {
    if threads == 0 || baseline_threads == 0 {
        return f64::NAN;
    }
    speedup / (threads as f64 / baseline_threads as f64)
}

/// The ideal speedup at `threads` (a straight line through the baseline): N/base.
pub fn ideal_speedup(threads: usize, baseline_threads: usize) -> f64 {
    threads as f64 / baseline_threads.max(1) as f64
}

/// Throughput, speedup and efficiency of the measured points, in thread-count order.
pub fn scaling(points: &[Point]) -> Scaling {
    let Some(base) = baseline(points) else {
        return Scaling {
            baseline_threads: None,
            points: Vec::new(),
        };
    };
    let mut measured: Vec<&Point> = points
        .iter()
        .filter(|p| p.is_ok() && p.throughput_per_s.is_finite())
        .collect();
    measured.sort_by_key(|p| p.threads);
    let scaled = measured
        .into_iter()
        .map(|p| {
            let s = speedup(p.throughput_per_s, base.throughput_per_s);
            ScalingPoint {
                threads: p.threads,
                throughput_per_s: p.throughput_per_s,
                throughput_ci95_per_s: p.throughput_ci95_per_s,
                speedup: s,
                efficiency: efficiency(s, p.threads, base.threads),
            }
        })
        .collect();
    Scaling {
        baseline_threads: Some(base.threads),
        points: scaled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(threads: usize, throughput: f64) -> Point {
        let mut p = Point::failed(threads, "x");
        p.error = None;
        p.throughput_per_s = throughput;
        p
    }

    #[test]
    fn speedup_and_efficiency_against_one_thread() {
        let points = [point(4, 1200.0), point(1, 500.0), point(2, 1000.0)];
        let s = scaling(&points);
        assert_eq!(s.baseline_threads, Some(1));
        let threads: Vec<usize> = s.points.iter().map(|p| p.threads).collect();
        assert_eq!(threads, [1, 2, 4]);
        assert_eq!(s.points[1].speedup, 2.0);
        assert_eq!(s.points[1].efficiency, 1.0);
        assert!((s.points[2].speedup - 2.4).abs() < 1e-12);
        assert!((s.points[2].efficiency - 0.6).abs() < 1e-12);
    }

    #[test]
    fn failed_points_are_left_out_and_the_baseline_moves_up() {
        let points = [Point::failed(1, "boom"), point(2, 800.0), point(4, 1600.0)];
        let s = scaling(&points);
        assert_eq!(s.baseline_threads, Some(2));
        assert_eq!(s.points.len(), 2);
        assert_eq!(s.points[1].speedup, 2.0);
        assert_eq!(s.points[1].efficiency, 1.0);
        assert_eq!(ideal_speedup(4, 2), 2.0);
        assert_eq!(scaling(&[Point::failed(1, "x")]).baseline_threads, None);
    }

    #[test]
    fn interpreter_is_described_for_the_legend() {
        let info = InterpreterInfo {
            path: "python3.13t".into(),
            implementation: "cpython".into(),
            version: "3.13.0".into(),
            gil_enabled: false,
            free_threaded_build: true,
            loops_per_us: 10.0,
        };
        assert_eq!(info.describe(), "CPython 3.13.0, GIL off");
    }
}
