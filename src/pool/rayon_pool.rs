//! `rayon`: a `rayon::ThreadPool` of N named threads; a trial is one `par_iter` over chunks
//! of tasks, scheduled by rayon's work stealing.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::measure::thread_count;

use super::{Pool, TrialFailure, TrialPlan, TrialRun, WorkerRecorder, worker_name};

/// A rayon pool with one recorder per worker thread.
pub struct RayonPool {
    pool: rayon::ThreadPool,
    recorders: Vec<Mutex<WorkerRecorder>>,
}

impl RayonPool {
    /// Builds the pool; the error names the thread count and what the OS said.
    pub fn new(threads: usize) -> Result<RayonPool, String> {
        let threads_before = thread_count();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(worker_name)
            .build()
            .map_err(|err| {
                // rayon asks the threads it did start to exit, but does not wait for them;
                // wait here, so the next point does not fail for want of what they still hold.
                wait_for_threads_to_exit(threads_before);
                format!(
                    "could not build a rayon pool of {}: {err}",
                    crate::words::counted_usize(threads, "thread", "threads")
                )
            })?;
        Ok(RayonPool {
            pool,
            recorders: (0..threads)
                .map(|_| Mutex::new(WorkerRecorder::new()))
                .collect(),
        })
    }
}

impl Pool for RayonPool {
    fn threads(&self) -> usize {
        self.recorders.len()
    }

    fn run_trial(&mut self, plan: &TrialPlan<'_>) -> Result<TrialRun, TrialFailure> {
        for recorder in &mut self.recorders {
            recorder.get_mut().map_err(|_| poisoned())?.reset();
        }
        let chunk = plan.chunk_tasks.max(1);
        let chunks = plan.max_tasks.div_ceil(chunk);
        let recorders = &self.recorders;
        let started = Instant::now();
        self.pool.install(|| {
            (0..chunks).into_par_iter().for_each(|c| {
                let worker = rayon::current_thread_index().unwrap_or(0);
                let first = c * chunk;
                let end = (first + chunk).min(plan.max_tasks);
                if let Ok(mut recorder) = recorders[worker % recorders.len()].lock() {
                    recorder.run_chunk(plan, worker, first, end);
                }
            });
        });
        let wall = started.elapsed();
        finish_trial(plan, wall, self.recorders.iter_mut().map(|m| m.get_mut()))
    }
}

/// Waits (at most 5 s) until the process is back to `threads` threads or fewer.
fn wait_for_threads_to_exit(threads: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while thread_count() > threads && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn poisoned() -> TrialFailure {
    TrialFailure::Failed("a worker's recorder was poisoned".to_owned())
}

/// Merges the workers' recorders into a [`TrialRun`], or reports why the trial failed.
pub(super) fn finish_trial<'r, E>(
    plan: &TrialPlan<'_>,
    wall: std::time::Duration,
    recorders: impl Iterator<Item = Result<&'r mut WorkerRecorder, E>>,
) -> Result<TrialRun, TrialFailure> {
    if let Some(fault) = plan.stop.fault() {
        return Err(fault.into());
    }
    if plan.stop.cancelled() {
        return Err(TrialFailure::Cancelled);
    }
    let mut total = WorkerRecorder::new();
    for recorder in recorders {
        total.absorb(recorder.map_err(|_| poisoned())?);
    }
    Ok(TrialRun {
        tasks: total.tasks,
        wall,
        worker_cpu_ns: total.cpu_ns,
        latency_ns: total.latency_ns,
        sampled_time_ns: total.sampled_time_ns,
        child_cpu_ns: 0,
        child_peak_rss_bytes: None,
    })
}
