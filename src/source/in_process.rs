//! The in-process source: a built-in workload (or one a test or bench built) run by one of
//! pooltune's pools at one thread count: warm-up, trials, summary into a [`Point`]. This is
//! what a sweep and every Rust series of a comparison measure. Timed trials on a pool that can
//! keep running are windows of one run ([`super::windows`]); the others start from rest.
//!
//! It never panics on a bad point: a pool that cannot be built, a panicking task or a wrong
//! shared-state total gives a point with its `error` set. It never measures a stand-in: a
//! process pool is refused a workload its workers cannot rebuild.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cancel::{CancelToken, TrialStop};
use crate::engine::{Measured, OnStep, Series};
use crate::measure::{ProcessUsage, peak_rss_bytes, reset_peak_rss};
use crate::pool::{self, Pool, TrialFailure, TrialPlan, TrialRun};
use crate::result::{Calibration, Point};
use crate::spec::{PoolSpec, Preset, SweepSpec, TrialLength, WorkloadSpec, limits};
use crate::stats;
use crate::trust::{self, BusySampler, OthersWindow};
use crate::workload::{Workload, WorkloadFactory};

use super::windows::{WindowedRun, trials_as_windows, windows_fit};

/// Longest a timed task may be slowed by its own timestamps: 2% (see README, "Latency").
const TIMER_OVERHEAD_BUDGET: f64 = 0.02;

/// Work handed to a worker at once is sized to take about this long, so per-chunk costs
/// (a CPU-clock read, a lock, a deadline check) stay well under 1%.
const CHUNK_TARGET: Duration = Duration::from_micros(200);

/// Everything needed to measure one point, independent of the thread count.
#[derive(Debug, Clone)]
pub struct PointSetup {
    /// What each task does.
    pub workload: WorkloadSpec,
    /// Which pool runs the tasks.
    pub pool: PoolSpec,
    /// Measured trials.
    pub trials: u32,
    /// Length of each trial.
    pub length: TrialLength,
    /// Warm-up before the trials, in milliseconds.
    pub warmup_ms: u64,
    /// The run's calibration.
    pub calibration: Calibration,
    /// Repeats of a trial during which other processes used the CPUs (`retry_disturbed`).
    pub retry_disturbed: u32,
}

impl PointSetup {
    /// The setup a preset describes.
    pub fn from_preset(preset: &Preset, calibration: Calibration) -> PointSetup {
        PointSetup::new(&preset.workload, &preset.pool, &preset.sweep, calibration)
    }

    /// The setup of `workload` on `pool` with the trials of `sweep` (a sweep preset's, or
    /// the one every series of a comparison shares).
    pub fn new(
        workload: &WorkloadSpec,
        pool: &PoolSpec,
        sweep: &SweepSpec,
        calibration: Calibration,
    ) -> PointSetup {
        PointSetup {
            workload: workload.clone(),
            pool: pool.clone(),
            trials: sweep.trials,
            length: sweep.trial_length(),
            warmup_ms: sweep.warmup_ms,
            calibration,
            retry_disturbed: sweep.retry_disturbed,
        }
    }
}

/// A built-in workload × a pool, as one [`Series`] of a run.
pub struct InProcessSeries {
    setup: PointSetup,
}

impl InProcessSeries {
    /// The series that measures `setup` at each thread count.
    pub fn new(setup: PointSetup) -> InProcessSeries {
        InProcessSeries { setup }
    }
}

impl Series for InProcessSeries {
    fn measure(&mut self, threads: usize, cancel: &CancelToken, on_step: &mut OnStep) -> Measured {
        match measure_point(&self.setup, threads, cancel, on_step) {
            Some(point) => Measured::Point(point),
            None => Measured::Cancelled,
        }
    }

    fn measure_trials(
        &mut self,
        threads: usize,
        trials: u32,
        cancel: &CancelToken,
        on_step: &mut OnStep,
    ) -> Measured {
        let setup = PointSetup {
            trials: trials.max(1),
            ..self.setup.clone()
        };
        match measure_point(&setup, threads, cancel, on_step) {
            Some(point) => Measured::Point(point),
            None => Measured::Cancelled,
        }
    }
}

/// Measures one thread count: warm-up, then the trials. Calls `on_step(k)` after the warm-up
/// (k = 1) and each trial (k = 2, 3, ...). Returns None when cancelled (the partial point is
/// dropped); a failure gives a point with its `error` set.
pub fn measure_point(
    setup: &PointSetup,
    threads: usize,
    cancel: &CancelToken,
    on_step: &mut dyn FnMut(usize),
) -> Option<Point> {
    let factory = WorkloadFactory::from_spec(&setup.workload, &setup.calibration);
    measure_factory(setup, &factory, threads, cancel, on_step)
}

/// [`measure_point`] with an already built workload: the same warm-up, trials and summary.
/// Lets tests and benchmarks measure workloads that no preset describes (a task that
/// panics, a task that counts its calls). A process pool cannot run it (its workers rebuild
/// the workload from a spec): the point fails and says so.
pub fn measure_workload(
    setup: &PointSetup,
    workload: &Arc<dyn Workload>,
    threads: usize,
    cancel: &CancelToken,
    on_step: &mut dyn FnMut(usize),
) -> Option<Point> {
    let factory = WorkloadFactory::Built(Arc::clone(workload));
    measure_factory(setup, &factory, threads, cancel, on_step)
}

/// Builds the workload and the pool for `threads`, then measures them.
fn measure_factory(
    setup: &PointSetup,
    factory: &WorkloadFactory,
    threads: usize,
    cancel: &CancelToken,
    on_step: &mut dyn FnMut(usize),
) -> Option<Point> {
    crate::engine::install_quiet_panic_hook();
    let workload = match factory.build(threads) {
        Ok(workload) => workload,
        Err(message) => {
            return Some(Point::failed(
                threads,
                format!(
                    "could not prepare the workload for {}: {message}",
                    crate::words::counted_usize(threads, "thread", "threads")
                ),
            ));
        }
    };
    let mut pool = match pool::build(&setup.pool, threads, factory) {
        Ok(pool) => pool,
        Err(message) => return Some(Point::failed(threads, message)),
    };
    match measure_with(setup, &workload, pool.as_mut(), cancel, on_step) {
        Ok(point) => Some(point),
        Err(TrialFailure::Cancelled) => None,
        Err(failure) => Some(Point::failed(threads, failure.to_string())),
    }
}

/// What the warm-up learned about one task at this thread count.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    /// Mean time of one task on a worker, in nanoseconds.
    task_ns: f64,
    /// Tasks per second through the pool.
    throughput_per_s: f64,
}

fn measure_with(
    setup: &PointSetup,
    workload: &Arc<dyn Workload>,
    pool: &mut dyn Pool,
    cancel: &CancelToken,
    on_step: &mut dyn FnMut(usize),
) -> Result<Point, TrialFailure> {
    let threads = pool.threads();
    let estimate = warm_up(setup, workload, pool, cancel)?;
    on_step(1);
    let sample_every = sample_every_for(&setup.calibration, estimate.task_ns);
    let (max_tasks, trial_time) = match setup.length {
        TrialLength::Tasks(n) => (n, None),
        TrialLength::Millis(ms) => {
            // Enough tasks for three times the expected length; the deadline ends the trial.
            let expected = estimate.throughput_per_s * ms as f64 / 1000.0;
            let bound = (3.0 * expected).ceil().max(threads as f64 * 4.0);
            let max = limits::MAX_TASKS_PER_TRIAL as f64 * 10.0;
            (bound.min(max) as u64, Some(Duration::from_millis(ms)))
        }
    };
    let chunk_tasks = chunk_for(estimate.task_ns, max_tasks, threads);

    let measured = match (setup.length, trial_time) {
        (TrialLength::Millis(_), Some(window))
            if pool.runs_continuously() && windows_fit(estimate.task_ns, window) =>
        {
            let run = WindowedRun {
                sample_every,
                chunk_tasks,
                window,
                task_ns: estimate.task_ns,
            };
            trials_as_windows(setup, workload, pool, cancel, on_step, &run)?
        }
        _ => trials_from_standing_starts(
            setup,
            workload,
            pool,
            cancel,
            on_step,
            (max_tasks, trial_time, sample_every, chunk_tasks),
            estimate.task_ns,
        )?,
    };
    let mut point = summarise(
        threads,
        &measured.summaries,
        &measured.latency,
        measured.sampled_time_ns,
        sample_every,
        (measured.peak_rss, measured.workers_peak_rss),
    );
    point.retried_trials = measured.retried_trials;
    // Timed trials only: a trial of a few tasks (`tasks_per_trial`) is over in the time it
    // takes to wake the workers, and what it measures is that, by design.
    let idle = match setup.length {
        TrialLength::Millis(_) => idle_pool_reason(&point, &setup.pool, max_tasks),
        TrialLength::Tasks(_) => None,
    };
    match idle {
        Some(reason) => Err(TrialFailure::Failed(reason)),
        None => Ok(point),
    }
}

/// What the trials of one point measured, however they were taken.
pub(super) struct Trials {
    pub(super) summaries: Vec<TrialSummary>,
    pub(super) latency: hdrhistogram::Histogram<u64>,
    pub(super) sampled_time_ns: u64,
    /// This process's peak resident memory over the trials, in bytes.
    pub(super) peak_rss: u64,
    /// The largest peak of the pool's worker processes or the tasks' children, if any.
    pub(super) workers_peak_rss: Option<u64>,
    /// Trials measured again because other processes disturbed them.
    pub(super) retried_trials: u32,
}

/// Each trial from a standing start: the workers wait, all start at once, and the trial ends
/// when the last task in flight does (fixed-count trials, pools that cannot keep running,
/// and tasks too long for windows: see [`windows_fit`]).
fn trials_from_standing_starts(
    setup: &PointSetup,
    workload: &Arc<dyn Workload>,
    pool: &mut dyn Pool,
    cancel: &CancelToken,
    on_step: &mut dyn FnMut(usize),
    (max_tasks, trial_time, sample_every, chunk_tasks): (u64, Option<Duration>, u64, u64),
    task_ns: f64,
) -> Result<Trials, TrialFailure> {
    let threads = pool.threads();
    let mut trials = Vec::with_capacity(setup.trials as usize);
    let mut latency = pool::new_histogram();
    let mut sampled_time_ns = 0u64;
    let mut peak_rss = 0u64;
    let mut workers_peak_rss: Option<u64> = None;
    let mut busy = BusySampler::system();
    let cpus = crate::machine::online_cpus();
    let mut retried_trials = 0u32;
    for trial in 0..setup.trials {
        let mut repeats = 0u32;
        let (run, summary) = loop {
            workload.begin_trial();
            reset_peak_rss();
            let stop = Arc::new(TrialStop::new(
                cancel.clone(),
                trial_time.map(|t| Instant::now() + t),
            ));
            let plan = TrialPlan {
                workload,
                max_tasks,
                sample_every,
                chunk_tasks,
                stop: &stop,
            };
            let window = OthersWindow::open(&mut busy);
            let run = pool.run_trial(&plan)?;
            let now = ProcessUsage::now();
            let usage = now.since(window.own_before());
            let other_cpus = window.close(&mut busy, &now, run.child_cpu_ns, cpus);
            peak_rss = peak_rss.max(peak_rss_bytes());
            if let Some(workers) = run.child_peak_rss_bytes {
                workers_peak_rss = Some(workers_peak_rss.unwrap_or(0).max(workers));
            }
            if let Err(message) = workload.end_trial(run.tasks) {
                return Err(TrialFailure::Failed(message));
            }
            if run.tasks == 0 {
                return Err(TrialFailure::Failed(no_task_message(
                    trial + 1,
                    threads,
                    run.wall,
                    task_ns,
                )));
            }
            if matches!(setup.length, TrialLength::Tasks(n) if run.tasks != n) {
                return Err(TrialFailure::Failed(format!(
                    "trial {} ran {} tasks instead of {}",
                    trial + 1,
                    run.tasks,
                    max_tasks
                )));
            }
            let summary = TrialSummary::new(&run, usage, other_cpus);
            if trust::trial_disturbed(other_cpus)
                && repeats < setup.retry_disturbed
                && !cancel.is_cancelled()
            {
                repeats += 1;
                continue;
            }
            break (run, summary);
        };
        if repeats > 0 {
            retried_trials += 1;
        }
        let _ = latency.add(&run.latency_ns);
        sampled_time_ns += run.sampled_time_ns;
        trials.push(summary);
        on_step(trial as usize + 2);
    }
    Ok(Trials {
        summaries: trials,
        latency,
        sampled_time_ns,
        peak_rss,
        workers_peak_rss,
        retried_trials,
    })
}

/// A pool that keeps fewer than this fraction of its threads busy, on average over the
/// trials, measured the pool's hand-out of work rather than the workload. Pools that hand
/// out work as fast as it is taken keep 0.97 to 0.99 of N in flight (blocking tasks of
/// 100 ms at 1024 and 4096 threads on rayon and queue pools); 0.8 leaves room for a trial's
/// ramp-up and its last wave.
pub const MIN_BUSY_FRACTION: f64 = 0.8;

/// Tasks shorter than this (mean, start to end) are not judged: for them the pool's cost of
/// handing out each task is a real part of what a pool of that kind costs (a `queue` feeding
/// 1 µs tasks three at a time), a result. For longer tasks it is negligible, and idle threads
/// mean the pool's structure cannot keep N of them going (a producer, a thread start per task).
pub const MIN_JUDGED_TASK_US: f64 = 1000.0;

/// The tasks' own CPU time below this fraction of the process's CPU time: the pool's own work
/// (handing out tasks, starting threads, waking them) took most of the CPU.
pub const MAX_TASK_CPU_SHARE: f64 = 0.5;

/// Why a point measured the pool's own limit instead of the workload, or None. By Little's
/// law the tasks in flight are throughput × mean task time (a task's time runs from its start
/// to its end). Fewer than [`MIN_BUSY_FRACTION`] × N in flight has two causes: threads waiting
/// for a CPU between tasks (CPU-bound work on more threads than CPUs, a measurement), or
/// threads sitting idle waiting to be given work. The second is told apart by where the CPU
/// went: when the tasks' own CPU time is under [`MAX_TASK_CPU_SHARE`] of the process's, the
/// pool's own work used the CPUs, and the throughput is how fast the pool hands out work (or
/// starts threads), not what N threads of this workload do; reporting it as the workload's
/// curve would show a collapse that is not there.
///
/// Pools of threads only: a process pool's cost of feeding its workers (building every task
/// first, with `feeding = "eager"`) is what its presets are there to show.
pub fn idle_pool_reason(point: &Point, pool: &PoolSpec, max_tasks: u64) -> Option<String> {
    if matches!(pool, PoolSpec::Process { .. }) {
        return None;
    }
    if point.wall_time_per_task_us.is_nan() || point.wall_time_per_task_us < MIN_JUDGED_TASK_US {
        return None;
    }
    let task_s = point.wall_time_per_task_us / 1e6;
    let in_flight = point.throughput_per_s * task_s;
    let threads = point.threads as f64;
    if !in_flight.is_finite() || in_flight >= MIN_BUSY_FRACTION * threads {
        return None;
    }
    let task_cpus = point.throughput_per_s * point.cpu_time_per_task_us / 1e6;
    let few_tasks = max_tasks < point.threads as u64;
    let pool_took_the_cpu = task_cpus.is_finite()
        && point.cpu_utilization.is_finite()
        && task_cpus < MAX_TASK_CPU_SHARE * point.cpu_utilization;
    if !few_tasks && !pool_took_the_cpu {
        return None;
    }
    let measured = format!(
        "the pool kept only {in_flight:.0} of its {} threads busy on average (Little's law: \
         {:.0} tasks/s × {:.1} ms per task; the tasks used {task_cpus:.2} of the {:.2} CPUs the \
         process used)",
        point.threads,
        point.throughput_per_s,
        task_s * 1000.0,
        point.cpu_utilization
    );
    let cause = if max_tasks < point.threads as u64 {
        format!("a trial has only {max_tasks} tasks for them")
    } else {
        match pool {
            PoolSpec::Spawn => format!(
                "starting a thread for every task is the limit here: this machine started about \
                 {:.0} threads per second",
                point.throughput_per_s
            ),
            PoolSpec::Queue {
                queue_capacity,
                chunk_size,
            } => format!(
                "one producer feeding a channel of {queue_capacity} messages of {chunk_size} \
                 task(s) could not hand out work faster; a larger chunk_size lightens it"
            ),
            PoolSpec::Rayon
            | PoolSpec::Async { .. }
            | PoolSpec::Process { .. }
            | PoolSpec::PythonThreads
            | PoolSpec::PythonProcesses { .. }
            | PoolSpec::PythonInterpreters
            | PoolSpec::PythonAsyncio => "the pool could not hand out work faster".to_owned(),
        }
    };
    Some(format!(
        "{measured}: {cause}, so the throughput is the pool's limit, not this workload's"
    ))
}

/// Runs ever larger batches (threads, 4×threads, 16×threads, ... tasks) until the warm-up
/// time is spent, and estimates the task time and throughput from the last batch.
fn warm_up(
    setup: &PointSetup,
    workload: &Arc<dyn Workload>,
    pool: &mut dyn Pool,
    cancel: &CancelToken,
) -> Result<Estimate, TrialFailure> {
    let threads = pool.threads() as u64;
    let budget = Duration::from_millis(setup.warmup_ms);
    let started = Instant::now();
    let mut batch = threads.max(1);
    let mut estimate = None;
    loop {
        workload.begin_trial();
        let left = budget.saturating_sub(started.elapsed());
        // Each batch gets at least 20 ms, so that even a zero warm-up yields an estimate.
        let stop = Arc::new(TrialStop::new(
            cancel.clone(),
            Some(Instant::now() + left.max(Duration::from_millis(20))),
        ));
        let plan = TrialPlan {
            workload,
            max_tasks: batch,
            sample_every: 1,
            chunk_tasks: chunk_for(
                estimate.map_or(f64::INFINITY, |e: Estimate| e.task_ns),
                batch,
                threads as usize,
            ),
            stop: &stop,
        };
        let run = pool.run_trial(&plan)?;
        workload
            .end_trial(run.tasks)
            .map_err(TrialFailure::Failed)?;
        if run.tasks > 0 {
            estimate = Some(estimate_from(&run));
        }
        let spent = started.elapsed();
        if spent >= budget && estimate.is_some() {
            break;
        }
        if spent >= budget + Duration::from_secs(5) {
            // A pool that completes nothing for seconds will not measure either.
            return Err(TrialFailure::Failed(format!(
                "the warm-up finished no task in {:.1} s with {threads} threads: the pool \
                 never got its work going",
                spent.as_secs_f64()
            )));
        }
        batch = batch.saturating_mul(4).min(limits::MAX_TASKS_PER_TRIAL);
    }
    estimate.ok_or_else(|| TrialFailure::Failed("the warm-up finished no task".to_owned()))
}

/// Why a trial that finished no task is a failed point, not a throughput of 0: with the
/// numbers that say where the time went.
pub(super) fn no_task_message(trial: u32, threads: usize, wall: Duration, task_ns: f64) -> String {
    format!(
        "trial {trial} finished no task in {:.1} s with {threads} threads (a task takes about \
         {:.1} ms): the pool never got its work going, so there is no throughput to report",
        wall.as_secs_f64(),
        task_ns / 1e6
    )
}

fn estimate_from(run: &TrialRun) -> Estimate {
    let timed = run.latency_ns.len().max(1);
    Estimate {
        task_ns: (run.sampled_time_ns as f64 / timed as f64).max(1.0),
        throughput_per_s: run.tasks as f64 / run.wall.as_secs_f64().max(1e-9),
    }
}

/// Time one task in this many: every task unless the two timestamps around a task would
/// cost more than [`TIMER_OVERHEAD_BUDGET`] of its time (tasks under about 2.5 µs).
pub fn sample_every_for(calibration: &Calibration, task_ns: f64) -> u64 {
    let timer_ns = calibration.timer_cost_ns.max(1.0);
    ((2.0 * timer_ns) / (TIMER_OVERHEAD_BUDGET * task_ns.max(1e-3)))
        .ceil()
        .clamp(1.0, 1e6) as u64
}

/// Tasks per chunk: about [`CHUNK_TARGET`] of work, but at least 4 chunks per worker so the
/// load balances, and at least one task.
pub fn chunk_for(task_ns: f64, max_tasks: u64, threads: usize) -> u64 {
    let by_time = (CHUNK_TARGET.as_nanos() as f64 / task_ns.max(1.0)).floor() as u64;
    let by_balance = max_tasks / (threads as u64 * 4).max(1);
    by_time.min(by_balance).max(1)
}

/// One trial's numbers.
#[derive(Debug, Clone, Copy)]
pub(super) struct TrialSummary {
    tasks: u64,
    /// The tasks the throughput counts (see [`TrialSummary::of`]).
    work_done: f64,
    wall_s: f64,
    worker_cpu_ns: u64,
    cpu_utilization: f64,
    /// Context switches in the trial; None where the OS keeps no count (the point's figure
    /// is then null, never 0).
    voluntary: Option<u64>,
    involuntary: Option<u64>,
    /// CPUs other processes kept busy during the trial (NaN: unknown).
    other_cpus: f64,
}

impl TrialSummary {
    fn new(run: &TrialRun, usage: crate::measure::UsageDelta, other_cpus: f64) -> TrialSummary {
        TrialSummary::of(
            (run.tasks, run.wall, run.worker_cpu_ns),
            run.tasks as f64,
            usage,
            run.child_cpu_ns,
            other_cpus,
        )
    }

    /// A trial that completed `tasks` in `wall` with `worker_cpu_ns` of the tasks' CPU time
    /// (children's included), while the process used `usage` and its children
    /// `child_cpu_ns` more. Its throughput is `work_done` tasks over `wall`: the tasks
    /// completed, or for a window of a running pool the change in completed tasks plus the
    /// share of the chunks in flight that ran ([`crate::pool::RunProgress::tasks_credited`]).
    pub(super) fn of(
        (tasks, wall, worker_cpu_ns): (u64, Duration, u64),
        work_done: f64,
        usage: crate::measure::UsageDelta,
        child_cpu_ns: u64,
        other_cpus: f64,
    ) -> TrialSummary {
        let wall_ns = wall.as_nanos().max(1) as f64;
        TrialSummary {
            tasks,
            work_done,
            wall_s: wall.as_secs_f64(),
            worker_cpu_ns,
            cpu_utilization: (usage.cpu_ns + child_cpu_ns) as f64 / wall_ns,
            voluntary: usage.voluntary_switches,
            involuntary: usage.involuntary_switches,
            other_cpus,
        }
    }

    fn throughput_per_s(&self) -> f64 {
        self.work_done / self.wall_s.max(1e-9)
    }
}

fn summarise(
    threads: usize,
    trials: &[TrialSummary],
    latency: &hdrhistogram::Histogram<u64>,
    sampled_time_ns: u64,
    sample_every: u64,
    (peak_rss_bytes, workers_peak_rss_bytes): (u64, Option<u64>),
) -> Point {
    let throughputs: Vec<f64> = trials.iter().map(TrialSummary::throughput_per_s).collect();
    let tasks: u64 = trials.iter().map(|t| t.tasks).sum();
    let mean_of =
        |f: fn(&TrialSummary) -> f64| stats::mean(&trials.iter().map(f).collect::<Vec<_>>());
    let percentile_us = |q: f64| {
        if latency.is_empty() {
            f64::NAN
        } else {
            latency.value_at_quantile(q) as f64 / 1000.0
        }
    };
    let worker_cpu_ns: u64 = trials.iter().map(|t| t.worker_cpu_ns).sum();
    let other_cpus: Vec<f64> = trials.iter().map(|t| t.other_cpus).collect();
    Point {
        threads,
        trials: trials.len() as u32,
        tasks_per_trial: mean_of(|t| t.tasks as f64),
        throughput_per_s: stats::mean(&throughputs),
        throughput_ci95_per_s: stats::ci95_half_width(&throughputs),
        trial_throughputs_per_s: throughputs,
        latency_p50_us: percentile_us(0.50),
        latency_p95_us: percentile_us(0.95),
        latency_p99_us: percentile_us(0.99),
        latency_max_us: if latency.is_empty() {
            f64::NAN
        } else {
            latency.max() as f64 / 1000.0
        },
        latency_sample_every: sample_every,
        cpu_time_per_task_us: if tasks == 0 {
            f64::NAN
        } else {
            worker_cpu_ns as f64 / tasks as f64 / 1000.0
        },
        wall_time_per_task_us: if latency.is_empty() {
            f64::NAN
        } else {
            sampled_time_ns as f64 / latency.len() as f64 / 1000.0
        },
        cpu_utilization: mean_of(|t| t.cpu_utilization),
        peak_rss_bytes,
        workers_peak_rss_bytes,
        voluntary_context_switches: mean_of(|t| t.voluntary.map_or(f64::NAN, |n| n as f64)),
        involuntary_context_switches: mean_of(|t| t.involuntary.map_or(f64::NAN, |n| n as f64)),
        other_cpu_utilization: stats::mean(&other_cpus),
        disturbed: trust::point_disturbed(&other_cpus),
        retried_trials: 0,
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload;

    /// A pool that runs nothing: every trial reports the tasks of `tasks` in turn (the
    /// warm-up takes the first), `wall` each.
    struct ScriptedPool {
        tasks: Vec<u64>,
        calls: usize,
    }

    impl Pool for ScriptedPool {
        fn threads(&self) -> usize {
            4
        }

        fn run_trial(&mut self, _plan: &TrialPlan<'_>) -> Result<TrialRun, TrialFailure> {
            let tasks = self.tasks[self.calls.min(self.tasks.len() - 1)];
            self.calls += 1;
            let mut latency_ns = pool::new_histogram();
            // 10 ms per task: 40 tasks in 100 ms keep the 4 threads busy.
            for _ in 0..tasks {
                pool::record_ns(&mut latency_ns, 10_000_000);
            }
            Ok(TrialRun {
                tasks,
                wall: Duration::from_millis(100),
                worker_cpu_ns: tasks * 1000,
                latency_ns,
                sampled_time_ns: tasks * 10_000_000,
                child_cpu_ns: 0,
                child_peak_rss_bytes: None,
            })
        }
    }

    fn setup() -> PointSetup {
        PointSetup {
            workload: WorkloadSpec::Cpu { compute_us: 1 },
            pool: PoolSpec::Rayon,
            trials: 3,
            length: TrialLength::Millis(100),
            warmup_ms: 0,
            // The scripted pool's trials are not timed on the CPUs: never repeat one.
            retry_disturbed: 0,
            calibration: Calibration {
                spin_units_per_us: 1.0,
                timer_cost_ns: 20.0,
            },
        }
    }

    fn measure(tasks: Vec<u64>) -> Result<Point, TrialFailure> {
        let workload: Arc<dyn Workload> = Arc::new(workload::Empty);
        let mut pool = ScriptedPool { tasks, calls: 0 };
        measure_with(
            &setup(),
            &workload,
            &mut pool,
            &CancelToken::new(),
            &mut |_| {},
        )
    }

    #[test]
    fn a_trial_that_ran_no_task_fails_the_point() {
        // Warm-up 40 tasks, trials 40, 0, 40: the second trial finished nothing.
        let err = measure(vec![40, 40, 0, 40]).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("trial 2 finished no task in 0.1 s with 4 threads"),
            "{message}"
        );
        assert!(message.contains("no throughput to report"), "{message}");
        // Every trial ran tasks: a measured point.
        let point = measure(vec![40]).unwrap();
        assert!(point.is_ok());
        assert_eq!(point.throughput_per_s, 400.0);
    }

    #[test]
    fn a_pool_that_kept_its_threads_idle_fails_with_the_cause() {
        let mut point = Point::failed(4096, "x");
        point.error = None;
        // 4096 threads of 100 ms tasks at 6500 tasks/s: 650 in flight, a spawn rate limit.
        point.throughput_per_s = 6500.0;
        point.wall_time_per_task_us = 100_000.0;
        point.cpu_time_per_task_us = 20.0;
        point.cpu_utilization = 1.9;
        let reason = idle_pool_reason(&point, &PoolSpec::Spawn, 1_000_000).unwrap();
        assert_eq!(
            reason,
            "the pool kept only 650 of its 4096 threads busy on average (Little's law: 6500 \
             tasks/s × 100.0 ms per task; the tasks used 0.13 of the 1.90 CPUs the process \
             used): starting a thread for every task is the limit here: this machine started \
             about 6500 threads per second, so the throughput is the pool's limit, not this \
             workload's"
        );
        let queue = PoolSpec::Queue {
            queue_capacity: 64,
            chunk_size: 1,
        };
        assert!(
            idle_pool_reason(&point, &queue, 1_000_000)
                .unwrap()
                .contains("one producer feeding a channel of 64 messages of 1 task(s)")
        );
        assert!(
            idle_pool_reason(&point, &PoolSpec::Rayon, 100)
                .unwrap()
                .contains("a trial has only 100 tasks for them")
        );
        // CPU-bound work on 8 threads and 2 CPUs: 4 in flight, but the tasks used the CPUs
        // (threads wait for a CPU between tasks): a measurement.
        let mut cpu = point.clone();
        cpu.threads = 8;
        cpu.throughput_per_s = 844.0;
        cpu.wall_time_per_task_us = 4_400.0;
        cpu.cpu_time_per_task_us = 2_300.0;
        cpu.cpu_utilization = 1.98;
        assert_eq!(idle_pool_reason(&cpu, &PoolSpec::Rayon, 1_000_000), None);
        // 0.8 of the threads busy or more: a measurement.
        point.throughput_per_s = 36_000.0;
        assert_eq!(idle_pool_reason(&point, &PoolSpec::Spawn, 1_000_000), None);
        // A process pool's feeding cost is its presets' subject: never judged.
        let process = PoolSpec::Process {
            chunk_size: 1,
            feeding: Default::default(),
        };
        point.throughput_per_s = 6500.0;
        assert_eq!(idle_pool_reason(&point, &process, 1_000_000), None);
        // Short tasks: the pool's cost per task is a result, not judged.
        let mut short = point.clone();
        short.wall_time_per_task_us = 0.5;
        short.throughput_per_s = 1_000_000.0;
        assert_eq!(idle_pool_reason(&short, &queue, 1_000_000), None);
        // No task time: nothing to judge.
        point.wall_time_per_task_us = f64::NAN;
        assert_eq!(idle_pool_reason(&point, &PoolSpec::Spawn, 1_000_000), None);
    }
}
