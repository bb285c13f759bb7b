//! Controllers that move a pool's thread count while it runs: the seam shared by the live
//! tuner ([`crate::tune`], a real pool that resizes between tasks) and the replays
//! ([`crate::replay`], a measured curve with its noise). A controller is a small state machine
//! fed one [`Sample`] per interval; it never measures, sleeps or touches a pool itself, so the
//! same code runs live and against a curve, and its tests feed it synthetic samples.
//!
//! [`Trajectory`] is what either loop records: the `samples[]` of `pooltune tune` and
//! `pooltune replay`, and where the controller settled.

pub mod aimd;
pub mod dotnet;
pub mod gradient2;
pub mod netflix;
pub mod pooltune;
pub mod registry;
pub mod seeded;
pub mod trajectory;
pub mod vegas;

use std::time::Duration;

pub use pooltune::Pooltune;
pub use trajectory::{Trajectory, TrajectorySample};

/// What a controller sees at the end of one sample interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Seconds since tuning started, at the end of this sample.
    pub t_s: f64,
    /// The thread count (or concurrency limit) the pool ran at during the sample.
    pub threads: usize,
    /// How long the sample lasted, in seconds.
    pub duration_s: f64,
    /// Tasks completed during the sample.
    pub completed: u64,
    /// `completed / duration_s`.
    pub throughput_per_s: f64,
    /// Mean task latency (from the task's start to its end) in µs; None when no task ended.
    pub latency_mean_us: Option<f64>,
    /// Shortest task latency in the sample, in µs (Vegas' and Gradient2's "no load" RTT).
    pub latency_min_us: Option<f64>,
    /// 99th-percentile task latency in µs.
    pub latency_p99_us: Option<f64>,
    /// CPU time per task in µs: the process's CPU time over the sample divided by the tasks
    /// that ended (C, from which W/C = mean latency / C − 1 below the knee); None when unknown.
    pub cpu_time_per_task_us: Option<f64>,
}

/// The thread counts a controller may choose between (both inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The fewest threads.
    pub min: usize,
    /// The most threads.
    pub max: usize,
}

impl Bounds {
    /// `threads` brought within the bounds.
    pub fn clamp(&self, threads: usize) -> usize {
        threads.clamp(self.min, self.max.max(self.min))
    }
}

/// A thread-count controller: told what the last interval measured, it says how many
/// threads to run next and how long to measure them.
pub trait Controller: Send {
    /// The name shown in tables, legends and JSON (`pooltune`, `dotnet-hill-climbing`, ...).
    fn name(&self) -> &'static str;
    /// The thread count to start at.
    fn initial_threads(&self) -> usize;
    /// How long the next sample should last (a controller may lengthen it when noisy).
    fn sample_interval(&self) -> Duration;
    /// Given the sample just measured, the thread count for the next one (within the
    /// controller's [`Bounds`]).
    fn next_threads(&mut self, sample: &Sample) -> usize;
    /// How busy the machine's CPUs were during the sample just measured, 0–100 % of all of
    /// them. Only .NET's climber reads it (it refuses to add threads above 95 %); the default
    /// ignores it.
    fn observe_cpu_utilization(&mut self, busy_percent: f64) {
        let _ = busy_percent;
    }
}
