//! Timed trials as windows of one running pool. The pool's workers start once per point, after
//! the warm-up, and keep going; once every worker has finished a chunk, each trial is the next
//! `trial_ms` of the run: the tasks completed between two marks, over the time between them.
//!
//! Why not a standing start per trial: when every worker starts at the same instant, their
//! first computations all queue for the CPUs at once, and the trial's wall time runs until the
//! last task in flight ends. Tasks that mostly wait keep that first bunching for the whole
//! trial (a fixed wait brings every worker back in the same order), so a trial of a few tasks
//! per worker reads low by about the time the CPUs take to work off one task of each worker.
//! At W/C = 127 (0.5 ms of computation, 63.5 ms of waiting per task) on 2 CPUs, 300 ms trials
//! from a standing start read 89% of Little's law's N / (W + C) at 128 threads and 81% at 200,
//! and 1200 ms trials 97% and 95%: the bias grows with the threads, so the curve bends early.
//! Windows of a running pool have no such start, and no tail: the tasks in flight at a mark
//! count in the window where they end.
//!
//! Windows need tasks short against the window ([`windows_fit`]); longer tasks keep standing
//! starts, where each trial runs until its tasks end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cancel::{CancelToken, TrialStop};
use crate::measure::{ProcessUsage, peak_rss_bytes, reset_peak_rss};
use crate::pool::{self, Pool, RunProgress, TrialFailure, TrialPlan};
use crate::trust::{self, BusySampler, OthersWindow};
use crate::workload::Workload;

use super::in_process::{PointSetup, TrialSummary, Trials, no_task_message};

/// Tasks each worker completes in one window on average, at least, for windows to be used:
/// a window's count is off by at most about one task per worker at each end (the tasks in
/// flight at a mark), and those errors cancel between adjacent windows.
pub const MIN_TASKS_PER_WORKER_PER_WINDOW: f64 = 2.0;

/// The bound on a running pool's task counter: the run ends at its last mark, never by
/// running out of tasks.
const RUN_TASKS: u64 = u64::MAX / 4;

/// Longest sleep between two checks for the user's Stop or a task's panic while a window runs.
const POLL: Duration = Duration::from_millis(10);

/// How the windows of one point are taken.
#[derive(Debug, Clone, Copy)]
pub struct WindowedRun {
    /// Time one in this many tasks.
    pub sample_every: u64,
    /// Tasks per chunk handed to a worker.
    pub chunk_tasks: u64,
    /// The length of one window (the trial length).
    pub window: Duration,
    /// The warm-up's mean task time, in nanoseconds (for the message of a window that
    /// finished no task).
    pub task_ns: f64,
}

/// Whether tasks of `task_ns` (the warm-up's mean) are short enough for windows of `window`.
pub fn windows_fit(task_ns: f64, window: Duration) -> bool {
    task_ns.is_finite() && task_ns * MIN_TASKS_PER_WORKER_PER_WINDOW <= window.as_nanos() as f64
}

/// Measures `setup.trials` windows of one run of `pool` (plus a window for each trial other
/// processes disturbed, up to `retry_disturbed` each). Calls `on_step(k + 2)` after window k.
pub(super) fn trials_as_windows(
    setup: &PointSetup,
    workload: &Arc<dyn Workload>,
    pool: &mut dyn Pool,
    cancel: &CancelToken,
    on_step: &mut dyn FnMut(usize),
    run: &WindowedRun,
) -> Result<Trials, TrialFailure> {
    workload.begin_trial();
    let stop = Arc::new(TrialStop::new(cancel.clone(), None));
    let plan = TrialPlan {
        workload,
        max_tasks: RUN_TASKS,
        sample_every: run.sample_every,
        chunk_tasks: run.chunk_tasks,
        stop: &stop,
    };
    pool.start_run(&plan)?;
    let windows = read_windows(setup, workload, pool, &stop, on_step, run);
    stop.finish();
    // Collected whatever the windows met: the workers must be stopped and their recorders
    // taken before the pool is measured again or dropped.
    let finished = pool.finish_run(&plan);
    let mut trials = windows?;
    let finished = finished?;
    workload
        .end_trial(finished.tasks)
        .map_err(TrialFailure::Failed)?;
    trials.latency = finished.latency_ns;
    trials.sampled_time_ns = finished.sampled_time_ns;
    if let Some(tail) = finished.child_peak_rss_bytes {
        trials.workers_peak_rss = Some(trials.workers_peak_rss.unwrap_or(0).max(tail));
    }
    Ok(trials)
}

/// Waits out the start (every worker has finished a chunk, or one window's time has passed),
/// then takes the windows.
fn read_windows(
    setup: &PointSetup,
    workload: &Arc<dyn Workload>,
    pool: &mut dyn Pool,
    stop: &TrialStop,
    on_step: &mut dyn FnMut(usize),
    run: &WindowedRun,
) -> Result<Trials, TrialFailure> {
    let window = run.window;
    let threads = pool.threads();
    let settle_by = Instant::now() + window;
    while pool.run_progress().warm_workers < threads && Instant::now() < settle_by {
        check(stop)?;
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut busy = BusySampler::system();
    let cpus = crate::machine::online_cpus();
    let mut trials = Trials {
        summaries: Vec::with_capacity(setup.trials as usize),
        latency: pool::new_histogram(),
        sampled_time_ns: 0,
        peak_rss: 0,
        workers_peak_rss: None,
        retried_trials: 0,
    };
    let _ = workload.take_child_usage();
    let mut mark = (Instant::now(), pool.run_progress());
    for trial in 0..setup.trials {
        let mut repeats = 0u32;
        let summary = loop {
            reset_peak_rss();
            let others = OthersWindow::open(&mut busy);
            let end = mark.0 + window;
            while Instant::now() < end {
                check(stop)?;
                std::thread::sleep((end - Instant::now()).min(POLL));
            }
            let next = (Instant::now(), pool.run_progress());
            let own_now = ProcessUsage::now();
            let children = workload.take_child_usage().unwrap_or_default();
            let other_cpus = others.close(&mut busy, &own_now, children.cpu_ns, cpus);
            trials.peak_rss = trials.peak_rss.max(peak_rss_bytes());
            if children.peak_rss_bytes > 0 {
                trials.workers_peak_rss = Some(
                    trials
                        .workers_peak_rss
                        .unwrap_or(0)
                        .max(children.peak_rss_bytes),
                );
            }
            let wall = next.0 - mark.0;
            let done = progress_between(&mark.1, &next.1);
            mark = next;
            if done.tasks == 0 {
                return Err(TrialFailure::Failed(no_task_message(
                    trial + 1,
                    threads,
                    wall,
                    run.task_ns,
                )));
            }
            let summary = TrialSummary::of(
                (done.tasks, wall, done.worker_cpu_ns + children.cpu_ns),
                done.tasks_credited,
                own_now.since(others.own_before()),
                children.cpu_ns,
                other_cpus,
            );
            if trust::trial_disturbed(other_cpus)
                && repeats < setup.retry_disturbed
                && !stop.cancelled()
            {
                repeats += 1;
                continue;
            }
            break summary;
        };
        if repeats > 0 {
            trials.retried_trials += 1;
        }
        trials.summaries.push(summary);
        on_step(trial as usize + 2);
    }
    Ok(trials)
}

/// What the workers did between two readings.
fn progress_between(earlier: &RunProgress, later: &RunProgress) -> RunProgress {
    RunProgress {
        tasks: later.tasks.saturating_sub(earlier.tasks),
        tasks_credited: (later.tasks_credited - earlier.tasks_credited).max(0.0),
        worker_cpu_ns: later.worker_cpu_ns.saturating_sub(earlier.worker_cpu_ns),
        warm_workers: later.warm_workers,
    }
}

/// The run's failure so far: a task's panic or error, or the user's Stop.
fn check(stop: &TrialStop) -> Result<(), TrialFailure> {
    TrialFailure::of_stop(stop).map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use std::sync::Mutex;

    use super::*;
    use crate::cancel::CancelToken;
    use crate::result::Calibration;
    use crate::source::in_process::measure_workload;
    use crate::spec::{PoolSpec, TrialLength, WorkloadSpec};
    use crate::workload::TaskCtx;

    /// Each task holds one lock for `held` (sleeping, so no CPU is needed and a busy machine
    /// does not change it), then waits `wait`: the lock is a one-CPU machine, and the workers
    /// that all start at once queue for it in a wave that a fixed wait keeps together.
    struct OneLockThenWait {
        lock: Mutex<()>,
        held: Duration,
        wait: Duration,
    }

    impl Workload for OneLockThenWait {
        fn run_task(&self, _ctx: &TaskCtx<'_>) {
            if let Ok(_guard) = self.lock.lock() {
                std::thread::sleep(self.held);
            }
            std::thread::sleep(self.wait);
        }
    }

    /// Little's law for a pool whose workers are never idle: throughput × task time =
    /// threads, with the median task time (the tasks of a steady pool: only each worker's
    /// first task queues for the lock). From a standing start 100 ms trials here read 81% of
    /// it (8 workers queue 24 ms for the lock at the start, and the fixed wait keeps that wave
    /// for the whole trial); windows of a running pool read it within a few percent.
    #[test]
    fn timed_trials_of_waves_of_waiting_tasks_keep_littles_law() {
        let workload: Arc<dyn Workload> = Arc::new(OneLockThenWait {
            lock: Mutex::new(()),
            held: Duration::from_millis(3),
            wait: Duration::from_millis(30),
        });
        let threads = 8;
        for pool in [
            PoolSpec::Rayon,
            PoolSpec::Queue {
                queue_capacity: 64,
                chunk_size: 1,
            },
        ] {
            let setup = PointSetup {
                workload: WorkloadSpec::Cpu { compute_us: 1 },
                pool: pool.clone(),
                trials: 3,
                length: TrialLength::Millis(100),
                warmup_ms: 50,
                calibration: Calibration {
                    spin_units_per_us: 100.0,
                    timer_cost_ns: 25.0,
                },
                retry_disturbed: 0,
            };
            let point =
                measure_workload(&setup, &workload, threads, &CancelToken::new(), &mut |_| {})
                    .unwrap();
            assert_eq!(point.error, None, "{pool:?}");
            let in_flight = point.throughput_per_s * point.latency_p50_us / 1e6;
            let share = in_flight / threads as f64;
            assert!(
                (0.95..=1.05).contains(&share),
                "{pool:?}: {:.1} tasks/s × {:.2} ms per task (median) = {in_flight:.2} tasks in \
                 flight of {threads} ({:.0}%)",
                point.throughput_per_s,
                point.latency_p50_us / 1000.0,
                100.0 * share
            );
        }
    }

    /// Panics on its `at`-th call, after the warm-up.
    struct PanicsAt {
        calls: std::sync::atomic::AtomicU64,
        at: u64,
    }

    impl Workload for PanicsAt {
        fn run_task(&self, _ctx: &TaskCtx<'_>) {
            let call = self
                .calls
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            std::thread::sleep(Duration::from_micros(200));
            if call == self.at {
                panic!("boom in a window");
            }
        }
    }

    /// The pools whose timed trials are windows of a running pool.
    fn running_pools() -> [PoolSpec; 2] {
        [
            PoolSpec::Rayon,
            PoolSpec::Queue {
                queue_capacity: 8,
                chunk_size: 1,
            },
        ]
    }

    fn timed_setup(pool: PoolSpec) -> PointSetup {
        PointSetup {
            workload: WorkloadSpec::Cpu { compute_us: 1 },
            pool,
            trials: 3,
            length: TrialLength::Millis(200),
            warmup_ms: 20,
            calibration: Calibration {
                spin_units_per_us: 100.0,
                timer_cost_ns: 25.0,
            },
            retry_disturbed: 0,
        }
    }

    /// A task that panics while the pool runs between windows fails the point with its
    /// message, and the pool's workers stop: the call returns.
    #[test]
    fn a_panic_in_a_running_pool_fails_the_point_with_its_message() {
        for pool in running_pools() {
            let workload: Arc<dyn Workload> = Arc::new(PanicsAt {
                calls: Default::default(),
                at: 2000,
            });
            let point = measure_workload(
                &timed_setup(pool.clone()),
                &workload,
                4,
                &CancelToken::new(),
                &mut |_| {},
            )
            .unwrap();
            assert_eq!(
                point.error.as_deref(),
                Some("a task panicked: boom in a window"),
                "{pool:?}"
            );
        }
    }

    /// The user's Stop during a window ends the point as cancelled (no point), and soon.
    #[test]
    fn a_stop_during_a_window_cancels_the_point() {
        for pool in running_pools() {
            let workload: Arc<dyn Workload> = Arc::new(PanicsAt {
                calls: Default::default(),
                at: u64::MAX,
            });
            let cancel = CancelToken::new();
            let setup = PointSetup {
                length: TrialLength::Millis(60_000),
                ..timed_setup(pool.clone())
            };
            let stopper = cancel.clone();
            let point = measure_workload(&setup, &workload, 4, &cancel, &mut |step| {
                // Step 1: the warm-up is over and the run's first window begins.
                if step == 1 {
                    stopper.cancel();
                }
            });
            assert!(point.is_none(), "{pool:?}: {point:?}");
        }
    }
}
