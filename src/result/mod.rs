//! What a run produces: one [`Point`] per thread count, the [`SweepResult`] that holds a
//! sweep's points with the machine and the preset as run, and a comparison's
//! [`comparison::ComparisonResult`] with its views (speedup, efficiency). These are the
//! engine's output format: the JSON export, the GUI and the model all read these types and
//! nothing else.

pub mod comparison;
pub mod open;

use serde::{Deserialize, Serialize};

use crate::engine::RunOutcome;
use crate::machine::MachineInfo;
use crate::spec::Preset;

/// The measurement at one thread count, summarised over its trials. Every float is NaN
/// (`null` in JSON) when the point failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Threads (or worker processes) in the pool.
    pub threads: usize,
    /// Trials measured (after warm-up).
    pub trials: u32,
    /// Mean tasks completed per trial.
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub tasks_per_trial: f64,
    /// Tasks completed per second, mean over trials.
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub throughput_per_s: f64,
    /// Half-width of the 95% confidence interval of `throughput_per_s` (Student's t over trials).
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub throughput_ci95_per_s: f64,
    /// Throughput of each trial, in order.
    pub trial_throughputs_per_s: Vec<f64>,
    /// Median time from a task's start to its end, in microseconds (all trials merged).
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub latency_p50_us: f64,
    /// 95th percentile task time, in microseconds.
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub latency_p95_us: f64,
    /// 99th percentile task time, in microseconds.
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub latency_p99_us: f64,
    /// Longest task time seen, in microseconds.
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub latency_max_us: f64,
    /// One task in this many was timed for the latency percentiles: 1 (every task) unless
    /// tasks are so short that reading the clock would distort them (see README, "Latency").
    pub latency_sample_every: u64,
    /// CPU time per task: the workers' thread CPU clocks over the trial, divided by tasks (C).
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub cpu_time_per_task_us: f64,
    /// Mean wall time per task, start to end, as the worker saw it (C + W).
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub wall_time_per_task_us: f64,
    /// Process CPU time over trial wall time: 0 to the number of logical CPUs.
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub cpu_utilization: f64,
    /// Highest resident memory of pooltune's own process during the trials, in bytes (for a
    /// Python series: the Python parent process's).
    pub peak_rss_bytes: u64,
    /// Process pools only (Rust `process` pool, Python processes): the sum of the worker
    /// processes' own peak resident memory, in bytes, highest over the trials. Workers need not
    /// peak at the same moment, so this bounds their combined peak from above; pages they share
    /// are counted once per worker. None (null) for pools of threads.
    #[serde(default)]
    pub workers_peak_rss_bytes: Option<u64>,
    /// Voluntary context switches per trial (threads blocking), mean over trials.
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub voluntary_context_switches: f64,
    /// Involuntary context switches per trial (threads preempted), mean over trials.
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub involuntary_context_switches: f64,
    /// CPUs that other processes kept busy during the trials, mean over trials: the busy time
    /// of all CPUs (`/proc/stat`) minus pooltune's own and its children's CPU time, over the
    /// trial's wall time; 0 to the number of logical CPUs. Null when unknown (for a Python
    /// series it covers the script's whole run at this thread count).
    #[serde(default = "nan", deserialize_with = "nan_null::deserialize")]
    pub other_cpu_utilization: f64,
    /// True when other processes used more than 0.10 of a CPU on average over the trials or
    /// more than 0.25 in any one (see [`crate::trust`]): the point is not this workload's alone.
    #[serde(default)]
    pub disturbed: bool,
    /// Trials measured again because other processes used the CPUs during them
    /// (`[sweep] retry_disturbed`); each counts once however often it was repeated.
    #[serde(default)]
    pub retried_trials: u32,
    /// Why the point failed (a panicking task, a pool that could not be built, a wrong
    /// shared-state total), or null.
    pub error: Option<String>,
}

fn nan() -> f64 {
    f64::NAN
}

impl Point {
    /// A failed point: the thread count and the reason, every number NaN.
    pub fn failed(threads: usize, error: impl Into<String>) -> Point {
        Point {
            threads,
            trials: 0,
            tasks_per_trial: f64::NAN,
            throughput_per_s: f64::NAN,
            throughput_ci95_per_s: f64::NAN,
            trial_throughputs_per_s: Vec::new(),
            latency_p50_us: f64::NAN,
            latency_p95_us: f64::NAN,
            latency_p99_us: f64::NAN,
            latency_max_us: f64::NAN,
            latency_sample_every: 1,
            cpu_time_per_task_us: f64::NAN,
            wall_time_per_task_us: f64::NAN,
            cpu_utilization: f64::NAN,
            peak_rss_bytes: 0,
            workers_peak_rss_bytes: None,
            voluntary_context_switches: f64::NAN,
            involuntary_context_switches: f64::NAN,
            other_cpu_utilization: f64::NAN,
            disturbed: false,
            retried_trials: 0,
            error: Some(error.into()),
        }
    }

    /// True when the point was measured (no error).
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }

    /// CPUs the pool's tasks kept busy: throughput × CPU time per task (the workers' CPU
    /// clocks over the trials' wall time), 0 to the usable CPUs; NaN when unknown.
    pub fn cpus_busy(&self) -> f64 {
        let busy = self.throughput_per_s * self.cpu_time_per_task_us / 1e6;
        if busy.is_finite() && busy >= 0.0 {
            busy
        } else {
            f64::NAN
        }
    }

    /// [`Point::cpus_busy`] over `points` (one thread count's measurements), weighted by their
    /// trials; NaN when none has it.
    pub fn mean_cpus_busy<'a>(points: impl IntoIterator<Item = &'a Point>) -> f64 {
        let (mut busy, mut trials) = (0.0, 0.0);
        for p in points.into_iter().filter(|p| p.cpus_busy().is_finite()) {
            let weight = f64::from(p.trials.max(1));
            busy += p.cpus_busy() * weight;
            trials += weight;
        }
        if trials > 0.0 {
            busy / trials
        } else {
            f64::NAN
        }
    }

    /// Measured wait over compute, W/C = (wall − cpu) / cpu per task; NaN when unknown.
    pub fn measured_wait_over_compute(&self) -> f64 {
        let c = self.cpu_time_per_task_us;
        let w = self.wall_time_per_task_us - c;
        if c.is_nan() || c <= 0.0 {
            return f64::NAN;
        }
        (w / c).max(0.0)
    }
}

/// Constants measured once per run that the workloads depend on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Spin-loop iterations per microsecond of CPU on this machine: `compute_us` is turned
    /// into iterations with this.
    pub spin_units_per_us: f64,
    /// Cost of one timestamp (`Instant::now`), in nanoseconds; decides latency sampling.
    pub timer_cost_ns: f64,
}

/// The version of the JSON result files (sweep, comparison, worker cost) and event lines this
/// pooltune writes, as their top-level `format_version`. A file without the key was written
/// before it was added and reads as version 1; a reader refuses a newer version.
pub const RESULT_FORMAT_VERSION: u32 = 1;

/// A whole sweep: where, what, and the points measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    /// The machine it ran on.
    pub machine: MachineInfo,
    /// The preset exactly as run (after any `--threads` override).
    pub preset: Preset,
    /// The run's calibration.
    pub calibration: Calibration,
    /// One point per thread count finished, in the order run.
    pub points: Vec<Point>,
    /// Why the series stopped, or never started (a program not found, a function a process
    /// pool cannot be handed, an interpreter that crashed); absent when it ran. The points
    /// measured before the failure stay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Stopped or not, when, how long, and the warnings (written inline, last, as always).
    #[serde(flatten)]
    pub outcome: RunOutcome,
}

impl SweepResult {
    /// The sweep `preset` ran as, from the engine's result (its one series), with its
    /// warnings.
    pub fn from_run(preset: Preset, run: crate::engine::RunResult) -> SweepResult {
        let (points, error) = run
            .series
            .into_iter()
            .next()
            .map(|series| (series.points, series.error))
            .unwrap_or_default();
        let mut result = SweepResult {
            machine: run.machine,
            preset,
            calibration: run.calibration,
            points,
            error,
            outcome: run.outcome,
        };
        result.outcome.warnings = crate::trust::sweep_warnings(&result);
        result
    }
}

/// serde support for floats that are NaN when unknown: serde_json writes NaN as `null`;
/// this reads `null` back as NaN.
pub mod nan_null {
    use serde::{Deserialize as _, Deserializer};

    /// Reads a float or `null` (as NaN).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_point_round_trips_through_json_as_nulls() {
        let point = Point::failed(8, "boom");
        let json = serde_json::to_value(&point).unwrap();
        assert!(json["throughput_per_s"].is_null());
        assert_eq!(json["error"], "boom");
        let back: Point = serde_json::from_value(json).unwrap();
        assert!(back.throughput_per_s.is_nan());
        assert_eq!(back.error.as_deref(), Some("boom"));
    }

    #[test]
    fn wait_over_compute_from_cpu_and_wall() {
        let mut point = Point::failed(1, "x");
        point.cpu_time_per_task_us = 1000.0;
        point.wall_time_per_task_us = 10_000.0;
        assert!((point.measured_wait_over_compute() - 9.0).abs() < 1e-12);
    }
}
