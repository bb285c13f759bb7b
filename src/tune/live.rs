//! The live tuning loop: runs a workload continuously on a [`ResizablePool`], takes one
//! [`Sample`] per [`Controller::sample_interval`] from the tasks that finished in it (their
//! count and their latencies, through hdrhistogram), asks the controller for the next count
//! and resizes. It reports each sample through a callback (the CLI prints progress, the app
//! sends it on a channel) and never draws or prints anything itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cancel::{CancelToken, TrialStop};
use crate::controller::{Bounds, Controller, Sample, Trajectory, TrajectorySample};
use crate::pool::resizable::ResizablePool;
use crate::workload::Workload;

/// How often the loop looks at Stop and at a failed task while a sample runs.
const POLL: Duration = Duration::from_millis(5);

/// What `pooltune tune` found: the path, where it settled and how fast it got there. Every
/// field is written in the JSON output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneResult {
    /// The preset's name (or the bench's label for its workload).
    pub name: String,
    /// The controller that moved the count (`pooltune`, `gradient`, ...).
    pub controller: String,
    /// The fewest threads the controller could choose.
    pub min_threads: usize,
    /// The most threads the controller could choose (the preset's largest count).
    pub max_threads: usize,
    /// How long the tuner ran, in seconds.
    pub seconds: f64,
    /// Every sample, in order.
    pub samples: Vec<TrajectorySample>,
    /// The thread count it settled on: the median count of the last 20% of the run.
    pub settled_threads: Option<usize>,
    /// The mean throughput of the last 20% of the run, in tasks per second.
    pub settled_throughput_per_s: Option<f64>,
    /// Seconds from the start until every later sample stayed within 5% of the settled
    /// throughput; null when the run ended outside it.
    pub time_to_within_5pct_s: Option<f64>,
    /// Tasks that finished during the run.
    pub tasks_completed: u64,
    /// True when Stop (or Ctrl-C) ended the run before its time.
    pub stopped: bool,
    /// Why the run ended early when a task failed (its panic or error message).
    pub failure: Option<String>,
}

impl TuneResult {
    /// The trajectory the samples make, for the figures read from it.
    pub fn trajectory(&self) -> Trajectory {
        Trajectory {
            controller: self.controller.clone(),
            samples: self.samples.clone(),
        }
    }
}

/// What the loop is asked to do.
pub struct LiveTune<'a> {
    /// The preset's name, copied into the result.
    pub name: String,
    /// The workload, built for `bounds.max` workers.
    pub workload: Arc<dyn Workload>,
    /// The counts the controller chooses between.
    pub bounds: Bounds,
    /// How long to tune.
    pub seconds: f64,
    /// The controller.
    pub controller: &'a mut dyn Controller,
}

/// Sleeps until `end`, waking every [`POLL`] to return early on Stop or a failed task.
fn wait_until(end: Instant, stop: &TrialStop) {
    while Instant::now() < end && !stop.interrupted() {
        std::thread::sleep(POLL.min(end.saturating_duration_since(Instant::now())));
    }
}

/// Runs the loop until `seconds` have passed, `cancel` is set or a task fails; calls
/// `on_sample` after each sample. The pool is shut down (every task it started finished or
/// stopped) before this returns. Err only when the pool could not start a thread.
pub fn run(
    tune: LiveTune<'_>,
    cancel: &CancelToken,
    on_sample: &mut dyn FnMut(&Sample),
) -> Result<TuneResult, String> {
    let LiveTune {
        name,
        workload,
        bounds,
        seconds,
        controller,
    } = tune;
    let stop = Arc::new(TrialStop::new(cancel.clone(), None));
    let mut pool = ResizablePool::new(workload, bounds.max, stop.clone());
    let mut threads = bounds.clamp(controller.initial_threads());
    let started = Instant::now();
    pool.resize(threads)?;
    let mut last_drain = started;
    let mut last_cpu_ns = crate::platform::process_cpu_ns();
    let mut samples = Vec::new();
    let mut tasks_completed = 0;
    let end = started + Duration::from_secs_f64(seconds.max(0.0));
    loop {
        wait_until(Instant::now() + controller.sample_interval(), &stop);
        if stop.interrupted() {
            break; // a sample cut short by Stop or a failed task says nothing
        }
        let interval = pool.drain();
        let now = Instant::now();
        let cpu_ns = crate::platform::process_cpu_ns();
        let duration_s = now.duration_since(last_drain).as_secs_f64().max(1e-9);
        last_drain = now;
        tasks_completed += interval.completed;
        let sample = Sample {
            t_s: now.duration_since(started).as_secs_f64(),
            threads,
            duration_s,
            completed: interval.completed,
            throughput_per_s: interval.completed as f64 / duration_s,
            latency_mean_us: interval.latency_mean_us(),
            latency_min_us: interval.latency_min_us(),
            latency_p99_us: interval.latency_quantile_us(0.99),
            cpu_time_per_task_us: (interval.completed > 0).then(|| {
                cpu_ns.saturating_sub(last_cpu_ns) as f64 / 1e3 / interval.completed as f64
            }),
        };
        last_cpu_ns = cpu_ns;
        samples.push(TrajectorySample::from(&sample));
        on_sample(&sample);
        if now >= end {
            break;
        }
        let next = bounds.clamp(controller.next_threads(&sample));
        pool.resize(next)?;
        if next != threads {
            // The tasks in flight at a resize ran partly at the old count: the next sample
            // starts one task latency later, so it measures the new count, not the change.
            let settle = sample
                .latency_mean_us
                .map_or(Duration::ZERO, |us| {
                    Duration::from_secs_f64(us.max(0.0) / 1e6)
                })
                .min(controller.sample_interval() / 2);
            wait_until(Instant::now() + settle, &stop);
            tasks_completed += pool.drain().completed;
            last_drain = Instant::now();
            last_cpu_ns = crate::platform::process_cpu_ns();
        }
        threads = next;
    }
    tasks_completed += pool.shut_down().completed;
    let failure = stop
        .fault()
        .map(|fault| crate::pool::TrialFailure::from(fault).to_string());
    let trajectory = Trajectory {
        controller: controller.name().to_owned(),
        samples,
    };
    let settled_throughput_per_s = trajectory.settled_throughput_per_s();
    Ok(TuneResult {
        name,
        controller: trajectory.controller.clone(),
        min_threads: bounds.min,
        max_threads: bounds.max,
        seconds: started.elapsed().as_secs_f64(),
        settled_threads: trajectory.settled_threads(),
        time_to_within_5pct_s: settled_throughput_per_s
            .and_then(|settled| trajectory.time_within_s(settled, 0.05)),
        settled_throughput_per_s,
        samples: trajectory.samples,
        tasks_completed,
        stopped: failure.is_none() && cancel.is_cancelled(),
        failure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::TaskCtx;

    /// Sleeps 2 ms per task.
    struct Nap;

    impl Workload for Nap {
        fn run_task(&self, _ctx: &TaskCtx<'_>) {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Always the same count, sampling each 50 ms.
    struct Fixed(usize);

    impl Controller for Fixed {
        fn name(&self) -> &'static str {
            "fixed"
        }
        fn initial_threads(&self) -> usize {
            self.0
        }
        fn sample_interval(&self) -> Duration {
            Duration::from_millis(50)
        }
        fn next_threads(&mut self, _sample: &Sample) -> usize {
            self.0
        }
    }

    #[test]
    fn samples_each_interval_and_counts_every_finished_task() {
        let mut controller = Fixed(64);
        let mut seen = 0;
        let result = run(
            LiveTune {
                name: "nap".into(),
                workload: Arc::new(Nap),
                bounds: Bounds { min: 1, max: 128 },
                seconds: 0.5,
                controller: &mut controller,
            },
            &CancelToken::new(),
            &mut |_| seen += 1,
        )
        .expect("run");
        assert_eq!(seen, result.samples.len());
        assert!(result.samples.len() >= 5, "{:?}", result.samples);
        assert!(result.samples.iter().all(|s| s.threads == 64));
        let in_samples: f64 = result
            .samples
            .iter()
            .zip(std::iter::once(0.0).chain(result.samples.iter().map(|s| s.t_s)))
            .map(|(s, t0)| s.throughput_per_s * (s.t_s - t0))
            .sum();
        // Tasks finished after the last sample (while shutting down) are in the total only.
        assert!(result.tasks_completed as f64 >= in_samples.round() - 1.0);
        assert_eq!(result.failure, None);
        assert!(!result.stopped);
    }
}
