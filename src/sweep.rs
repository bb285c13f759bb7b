//! The sweep: for each thread count, build the workload and the pool, warm up, run the
//! trials and summarise them into a [`Point`]. Progress and each finished point go out as
//! [`SweepEvent`]s; the consumer (CLI, GUI, test) never looks at the engine's internals.
//!
//! The sweep never panics on a bad point: a pool that cannot be built, a panicking task or a
//! wrong shared-state total gives a point with its `error` set, and the next point runs.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cancel::{CancelToken, TrialStop};
use crate::error::EngineError;
use crate::machine::MachineInfo;
use crate::measure::{ProcessUsage, peak_rss_bytes, reset_peak_rss};
use crate::pool::{self, Pool, TrialFailure, TrialPlan, TrialRun, WorkloadSource};
use crate::preset::{PoolSpec, Preset, TrialLength, WorkloadSpec, limits};
use crate::result::{Calibration, Point, SweepResult};
use crate::stats;
use crate::trust::{self, BusySampler, OthersWindow};
use crate::workload::{self, Workload};

/// Longest a timed task may be slowed by its own timestamps: 2% (see README, "Latency").
const TIMER_OVERHEAD_BUDGET: f64 = 0.02;

/// Work handed to a worker at once is sized to take about this long, so per-chunk costs
/// (a CPU-clock read, a lock, a deadline check) stay well under 1%.
const CHUNK_TARGET: Duration = Duration::from_micros(200);

/// What the engine reports while it runs.
#[derive(Debug, Clone)]
pub enum SweepEvent {
    /// The sweep has started: what will be run, and where.
    Started {
        /// The machine.
        machine: MachineInfo,
        /// The run's calibration.
        calibration: Calibration,
        /// Thread counts, in the order they will run.
        thread_counts: Vec<usize>,
        /// Trials per thread count.
        trials: u32,
    },
    /// A warm-up or a trial has finished.
    Progress(Progress),
    /// A thread count is done (measured or failed).
    Point(Point),
    /// The sweep is over (finished or stopped); the whole result.
    Finished(Box<SweepResult>),
}

/// How far a sweep has got.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Thread count being measured.
    pub threads: usize,
    /// Index of that thread count in the sweep (0-based).
    pub point_index: usize,
    /// Thread counts in the sweep.
    pub points: usize,
    /// Steps done so far (a warm-up or a trial is one step).
    pub steps_done: usize,
    /// Steps in the whole sweep.
    pub steps_total: usize,
    /// Seconds since the sweep started.
    pub elapsed_s: f64,
    /// How long the plan said the sweep's warm-ups and trials take, in seconds
    /// ([`Preset::timed_length_ms`]); None when the trials are a task count.
    pub planned_s: Option<f64>,
}

/// A sweep is "slower than planned" once it has taken this many times its plan...
pub const SLOWER_THAN_PLANNED_FACTOR: f64 = 3.0;
/// ...and at least this many seconds more: calibration, building pools and a trial's last
/// tasks come on top of the plan, and on a short plan they alone can triple it.
pub const SLOWER_THAN_PLANNED_MIN_S: f64 = 10.0;

/// What to tell the user when a sweep takes far longer than its plan (a pool that cannot
/// start its threads, tasks that outlive their trial): None while it is within
/// [`SLOWER_THAN_PLANNED_FACTOR`] × the plan or [`SLOWER_THAN_PLANNED_MIN_S`] over it.
/// `projected_s` is the whole sweep's expected length at the pace so far, when known.
pub fn slower_than_planned(
    elapsed_s: f64,
    planned_s: Option<f64>,
    projected_s: Option<f64>,
) -> Option<String> {
    let planned = planned_s.filter(|p| p.is_finite() && *p >= 0.0)?;
    if !elapsed_s.is_finite()
        || elapsed_s < planned * SLOWER_THAN_PLANNED_FACTOR
        || elapsed_s < planned + SLOWER_THAN_PLANNED_MIN_S
    {
        return None;
    }
    let mut note = if planned > 0.0 {
        format!(
            "taking {:.0}× longer than planned: {:.0} s so far for a {:.0} s plan",
            elapsed_s / planned,
            elapsed_s,
            planned
        )
    } else {
        format!("taking longer than planned: {elapsed_s:.0} s so far for a 0 s plan")
    };
    if let Some(projected) = projected_s.filter(|p| p.is_finite() && *p > elapsed_s) {
        note.push_str(&format!(", about {projected:.0} s in all at this pace"));
    }
    Some(note)
}

impl Progress {
    /// Fraction done, 0 to 1.
    pub fn fraction(&self) -> f64 {
        if self.steps_total == 0 {
            return 1.0;
        }
        self.steps_done as f64 / self.steps_total as f64
    }

    /// Estimated seconds left, from the time taken so far (None before the first step).
    pub fn eta_s(&self) -> Option<f64> {
        let fraction = self.fraction();
        (fraction > 0.0).then(|| self.elapsed_s * (1.0 - fraction) / fraction)
    }

    /// A note when the sweep is taking far longer than planned ([`slower_than_planned`]).
    pub fn slower_than_planned(&self) -> Option<String> {
        slower_than_planned(
            self.elapsed_s,
            self.planned_s,
            self.eta_s().map(|eta| self.elapsed_s + eta),
        )
    }
}

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
        PointSetup {
            workload: preset.workload.clone(),
            pool: preset.pool.clone(),
            trials: preset.sweep.trials,
            length: preset.sweep.trial_length(),
            warmup_ms: preset.sweep.warmup_ms,
            calibration,
            retry_disturbed: preset.sweep.retry_disturbed,
        }
    }

    /// Steps (warm-up plus trials) for one point, for progress.
    pub fn steps_per_point(&self) -> usize {
        self.trials as usize + 1
    }
}

/// Runs a whole sweep on the calling thread, reporting through `emit`. Returns the result,
/// also sent as [`SweepEvent::Finished`]. A stopped sweep keeps its finished points.
pub fn run_sweep(
    preset: &Preset,
    cancel: &CancelToken,
    emit: &mut dyn FnMut(SweepEvent),
) -> Result<SweepResult, EngineError> {
    preset
        .validate(crate::machine::available_memory_bytes())
        .map_err(EngineError::InvalidPreset)?;
    install_quiet_panic_hook();
    let started = Instant::now();
    let started_unix_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let machine = MachineInfo::detect();
    let calibration = workload::calibrate_until(cancel);
    let thread_counts = preset.sweep.thread_counts();
    emit(SweepEvent::Started {
        machine: machine.clone(),
        calibration: calibration.clone(),
        thread_counts: thread_counts.clone(),
        trials: preset.sweep.trials,
    });
    let setup = PointSetup::from_preset(preset, calibration.clone());
    let steps_total = thread_counts.len() * setup.steps_per_point();
    let planned_s = preset.sweep.timed_length_ms().map(|ms| ms as f64 / 1000.0);
    let mut points = Vec::with_capacity(thread_counts.len());
    let mut cancelled = false;
    for (point_index, &threads) in thread_counts.iter().enumerate() {
        if cancel.is_cancelled() {
            cancelled = true;
            break;
        }
        let steps_before = point_index * setup.steps_per_point();
        let mut on_step = |step: usize| {
            emit(SweepEvent::Progress(Progress {
                threads,
                point_index,
                points: thread_counts.len(),
                steps_done: steps_before + step,
                steps_total,
                elapsed_s: started.elapsed().as_secs_f64(),
                planned_s,
            }));
        };
        match measure_point(&setup, threads, cancel, &mut on_step) {
            Some(point) => {
                emit(SweepEvent::Point(point.clone()));
                points.push(point);
            }
            None => {
                cancelled = true;
                break;
            }
        }
    }
    let mut result = SweepResult {
        machine,
        preset: preset.clone(),
        calibration,
        points,
        cancelled,
        started_unix_s,
        duration_s: started.elapsed().as_secs_f64(),
        warnings: Vec::new(),
    };
    result.warnings = trust::sweep_warnings(&result);
    emit(SweepEvent::Finished(Box::new(result.clone())));
    Ok(result)
}

/// Runs [`run_sweep`] on a named background thread (`pooltune-sweep`).
pub fn spawn_sweep(
    preset: Preset,
    cancel: CancelToken,
    mut emit: impl FnMut(SweepEvent) + Send + 'static,
) -> Result<JoinHandle<Result<SweepResult, EngineError>>, EngineError> {
    std::thread::Builder::new()
        .name("pooltune-sweep".into())
        .spawn(move || run_sweep(&preset, &cancel, &mut emit))
        .map_err(EngineError::Spawn)
}

/// [`spawn_sweep`] with its events sent on a channel: the receiver gets every event, the
/// last one [`SweepEvent::Finished`]. For consumers that prefer to wait on a channel.
#[allow(clippy::type_complexity)]
pub fn spawn_sweep_channel(
    preset: Preset,
    cancel: CancelToken,
) -> Result<
    (
        JoinHandle<Result<SweepResult, EngineError>>,
        crossbeam_channel::Receiver<SweepEvent>,
    ),
    EngineError,
> {
    let (sender, receiver) = crossbeam_channel::unbounded();
    let handle = spawn_sweep(preset, cancel, move |event| {
        // A receiver that hung up no longer wants events; the sweep itself goes on.
        let _ = sender.send(event);
    })?;
    Ok((handle, receiver))
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
    let workload = match workload::build(&setup.workload, &setup.calibration, threads) {
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
    measure_workload(setup, &workload, threads, cancel, on_step)
}

/// [`measure_point`] with an already built workload: the same warm-up, trials and summary.
/// Lets tests and benchmarks measure workloads that no preset describes (a task that
/// panics, a task that counts its calls).
pub fn measure_workload(
    setup: &PointSetup,
    workload: &Arc<dyn Workload>,
    threads: usize,
    cancel: &CancelToken,
    on_step: &mut dyn FnMut(usize),
) -> Option<Point> {
    install_quiet_panic_hook();
    let source = WorkloadSource {
        spec: setup.workload.clone(),
        calibration: setup.calibration.clone(),
    };
    let mut pool = match pool::build(&setup.pool, threads, &source) {
        Ok(pool) => pool,
        Err(message) => return Some(Point::failed(threads, message)),
    };
    match measure_with(setup, workload, pool.as_mut(), cancel, on_step) {
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
    let timer_ns = setup.calibration.timer_cost_ns.max(1.0);
    let sample_every = ((2.0 * timer_ns) / (TIMER_OVERHEAD_BUDGET * estimate.task_ns))
        .ceil()
        .max(1.0) as u64;
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
                    estimate.task_ns,
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
    let mut point = summarise(
        threads,
        &trials,
        &latency,
        sampled_time_ns,
        sample_every,
        (peak_rss, workers_peak_rss),
    );
    point.retried_trials = retried_trials;
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
            PoolSpec::Rayon | PoolSpec::Process { .. } => {
                "the pool could not hand out work faster".to_owned()
            }
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
fn no_task_message(trial: u32, threads: usize, wall: Duration, task_ns: f64) -> String {
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
struct TrialSummary {
    tasks: u64,
    wall_s: f64,
    worker_cpu_ns: u64,
    cpu_utilization: f64,
    voluntary: u64,
    involuntary: u64,
    /// CPUs other processes kept busy during the trial (NaN: unknown).
    other_cpus: f64,
}

impl TrialSummary {
    fn new(run: &TrialRun, usage: crate::measure::UsageDelta, other_cpus: f64) -> TrialSummary {
        let wall_ns = run.wall.as_nanos().max(1) as f64;
        TrialSummary {
            tasks: run.tasks,
            wall_s: run.wall.as_secs_f64(),
            worker_cpu_ns: run.worker_cpu_ns,
            cpu_utilization: (usage.cpu_ns + run.child_cpu_ns) as f64 / wall_ns,
            voluntary: usage.voluntary_switches,
            involuntary: usage.involuntary_switches,
            other_cpus,
        }
    }

    fn throughput_per_s(&self) -> f64 {
        self.tasks as f64 / self.wall_s.max(1e-9)
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
        voluntary_context_switches: mean_of(|t| t.voluntary as f64),
        involuntary_context_switches: mean_of(|t| t.involuntary as f64),
        other_cpu_utilization: stats::mean(&other_cpus),
        disturbed: trust::point_disturbed(&other_cpus),
        retried_trials: 0,
        error: None,
    }
}

/// Panics in pool workers are caught and reported as failed points; printing them as well
/// would only clutter the terminal. Other threads' panics are printed as usual. Also used by
/// the comparison runner, whose Rust series run the same pools.
pub(crate) fn install_quiet_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let reported_by_engine = std::thread::current().name().is_some_and(|name| {
                name.starts_with("pooltune-worker") || name.starts_with("pooltune-spawn")
            });
            if !reported_by_engine {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn slower_than_planned_only_well_past_the_plan() {
        // 20 s planned: within 3× (60 s) nothing is said.
        assert_eq!(slower_than_planned(59.0, Some(20.0), None), None);
        assert_eq!(
            slower_than_planned(200.0, Some(20.0), Some(283.0)).as_deref(),
            Some(
                "taking 10× longer than planned: 200 s so far for a 20 s plan, about 283 s in all at this pace"
            )
        );
        // A 1 s plan that takes 4 s: calibration and pool start-up, not worth a note.
        assert_eq!(slower_than_planned(4.0, Some(1.0), None), None);
        assert_eq!(
            slower_than_planned(12.0, Some(1.0), Some(5.0)).as_deref(),
            Some("taking 12× longer than planned: 12 s so far for a 1 s plan")
        );
        // Trials of a task count have no plan.
        assert_eq!(slower_than_planned(1e6, None, None), None);
        // Through the progress event.
        let progress = Progress {
            threads: 4096,
            point_index: 2,
            points: 3,
            steps_done: 5,
            steps_total: 10,
            elapsed_s: 200.0,
            planned_s: Some(20.0),
        };
        assert_eq!(
            progress.slower_than_planned().as_deref(),
            Some(
                "taking 10× longer than planned: 200 s so far for a 20 s plan, about 400 s in all at this pace"
            )
        );
    }
}
