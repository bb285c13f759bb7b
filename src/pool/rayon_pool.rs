//! `rayon`: a `rayon::ThreadPool` of N named threads. Each thread of the pool runs one
//! long-lived job (`spawn_broadcast`) for the pool's whole life: it waits for a trial, then
//! takes chunks of tasks from the trial's shared counter until none are left or the trial's
//! time is up, and waits for the next.
//!
//! Why not one `par_iter` over the chunks per trial, rayon's own scheduling: an idle rayon
//! thread looks for work by probing every other thread's deque, up to 33 rounds before it
//! sleeps (rayon-core 1.13, `registry.rs` `steal`, `sleep/mod.rs` `ROUNDS_UNTIL_SLEEPING`), so
//! a pool of N threads going idle costs O(N²) probes. Nothing at a few threads per CPU, but
//! with thousands of threads that mostly wait (blocking tasks) work stealing leaves threads
//! idle all the time and the searching fills the CPUs: with 10 µs of computation and 100 ms of
//! waiting per task, `par_iter` trials reached 0.16 of the bound N / (W + C) at 1024 threads
//! and 0.002 at 4096 (182 s for a 13 s plan). One `broadcast` per trial still made every
//! thread search once per trial: 0.74 at 1024, and at 4096 the search after one trial starved
//! the next for 70 s. Threads that never finish their job never search: a shared counter
//! hands each its next chunk with one atomic add.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crate::cancel::TrialStop;
use crate::measure::thread_count;
use crate::workload::Workload;

use super::{
    LiveCounts, Pool, RunProgress, TrialFailure, TrialPlan, TrialRun, WorkerRecorder, worker_name,
};

/// Longest wait for the pool's threads to start their workers before the first trial.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One trial, as the workers see it.
struct TrialJob {
    number: u64,
    workload: Arc<dyn Workload>,
    stop: Arc<TrialStop>,
    sample_every: u64,
    max_tasks: u64,
    chunk: u64,
    chunks: u64,
    next_chunk: AtomicU64,
    /// Workers done with this trial; the last one wakes `owner`. Apart from the job, so that
    /// a worker lets go of the job (and with it the workload, whose drop may remove files)
    /// before it says it is done.
    done: Arc<AtomicUsize>,
    owner: Thread,
    /// What the workers have done so far, for a run read while it goes on.
    live: Arc<LiveCounts>,
}

/// A trial handed to the workers and not yet collected.
struct Started {
    /// The run's stop, told to finish if the pool is dropped while it runs.
    stop: Arc<TrialStop>,
    done: Arc<AtomicUsize>,
    live: Arc<LiveCounts>,
    started: Instant,
}

/// What the pool's owner and its workers share. Waking goes through `Thread::unpark`, never a
/// condition variable: `notify_all` makes N threads fight for one mutex at once, and with
/// thousands of threads on 2 CPUs that convoy took seconds, longer than a trial.
struct Shared {
    /// The current trial; workers read it when they wake.
    trial: RwLock<Option<Arc<TrialJob>>>,
    /// Each worker's thread, once it has started (index = worker).
    threads: Mutex<Vec<Option<Thread>>>,
    started: AtomicUsize,
    shutdown: AtomicBool,
    recorders: Vec<Mutex<WorkerRecorder>>,
}

/// A rayon pool whose threads run pooltune's trials.
pub struct RayonPool {
    /// Kept for its threads: dropping it (after `Drop::drop` has told the workers to return)
    /// ends them.
    _pool: rayon::ThreadPool,
    shared: Arc<Shared>,
    /// The workers' threads, taken from `shared` once all have started.
    workers: Vec<Thread>,
    trials_run: u64,
    /// The run [`Pool::start_run`] began, until [`Pool::finish_run`] collects it.
    running: Option<Started>,
}

impl RayonPool {
    /// Builds the pool and starts its workers; the error names the thread count and what the
    /// OS said.
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
        let shared = Arc::new(Shared {
            trial: RwLock::new(None),
            threads: Mutex::new(vec![None; threads]),
            started: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            recorders: (0..threads)
                .map(|_| Mutex::new(WorkerRecorder::new()))
                .collect(),
        });
        let for_workers = shared.clone();
        pool.spawn_broadcast(move |ctx| worker_loop(ctx.index(), &for_workers));
        Ok(RayonPool {
            _pool: pool,
            shared,
            workers: Vec::new(),
            trials_run: 0,
            running: None,
        })
    }

    /// Waits until every worker has started (outside any timed window: starting thousands of
    /// threads takes a while) and keeps their handles.
    fn wait_for_workers(&mut self) -> Result<(), TrialFailure> {
        let threads = self.shared.recorders.len();
        if self.workers.len() == threads {
            return Ok(());
        }
        let deadline = Instant::now() + START_TIMEOUT;
        while self.shared.started.load(Ordering::Acquire) < threads {
            if Instant::now() >= deadline {
                return Err(TrialFailure::Failed(format!(
                    "only {} of the rayon pool's {threads} threads started within {} s",
                    self.shared.started.load(Ordering::Acquire),
                    START_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let handles = self.shared.threads.lock().map_err(|_| poisoned())?;
        self.workers = handles.iter().flatten().cloned().collect();
        Ok(())
    }
}

/// A worker: registers its thread, then waits (parked) for each trial, runs chunks until the
/// counter or the trial's time runs out, reports done; returns at shutdown.
fn worker_loop(index: usize, shared: &Shared) {
    if let Ok(mut threads) = shared.threads.lock()
        && let Some(slot) = threads.get_mut(index)
    {
        *slot = Some(std::thread::current());
    }
    shared.started.fetch_add(1, Ordering::Release);
    let mut seen = 0;
    loop {
        if shared.shutdown.load(Ordering::Acquire) {
            return;
        }
        let job = shared
            .trial
            .read()
            .ok()
            .and_then(|trial| trial.as_ref().filter(|job| job.number != seen).cloned());
        let Some(job) = job else {
            std::thread::park();
            continue;
        };
        seen = job.number;
        if let Some(recorder) = shared.recorders.get(index)
            && let Ok(mut recorder) = recorder.lock()
        {
            let plan = TrialPlan {
                workload: &job.workload,
                max_tasks: job.max_tasks,
                sample_every: job.sample_every,
                chunk_tasks: job.chunk,
                stop: &job.stop,
            };
            loop {
                let c = job.next_chunk.fetch_add(1, Ordering::Relaxed);
                if c >= job.chunks {
                    break;
                }
                let first = c * job.chunk;
                let end = (first + job.chunk).min(job.max_tasks);
                if !job.live.run_chunk(&mut recorder, &plan, index, first, end) {
                    break;
                }
            }
        }
        let (done, owner) = (job.done.clone(), job.owner.clone());
        drop(job);
        if done.fetch_add(1, Ordering::AcqRel) + 1 == shared.recorders.len() {
            owner.unpark();
        }
    }
}

impl Pool for RayonPool {
    fn threads(&self) -> usize {
        self.shared.recorders.len()
    }

    fn run_trial(&mut self, plan: &TrialPlan<'_>) -> Result<TrialRun, TrialFailure> {
        self.start_run(plan)?;
        self.finish_run(plan)
    }

    fn runs_continuously(&self) -> bool {
        true
    }

    fn start_run(&mut self, plan: &TrialPlan<'_>) -> Result<(), TrialFailure> {
        if self.running.is_some() {
            return Err(TrialFailure::Failed(
                "a rayon pool's run was started twice".to_owned(),
            ));
        }
        self.wait_for_workers()?;
        super::recorder::forget_children(plan);
        for recorder in &self.shared.recorders {
            recorder.lock().map_err(|_| poisoned())?.reset();
        }
        let chunk = plan.chunk_tasks.max(1);
        self.trials_run += 1;
        let job = Arc::new(TrialJob {
            number: self.trials_run,
            workload: plan.workload.clone(),
            stop: plan.stop.clone(),
            sample_every: plan.sample_every,
            max_tasks: plan.max_tasks,
            chunk,
            chunks: plan.max_tasks.div_ceil(chunk),
            next_chunk: AtomicU64::new(0),
            done: Arc::new(AtomicUsize::new(0)),
            owner: std::thread::current(),
            live: Arc::new(LiveCounts::new(self.shared.recorders.len())),
        });
        let running = Started {
            stop: plan.stop.clone(),
            done: job.done.clone(),
            live: job.live.clone(),
            started: Instant::now(),
        };
        *self.shared.trial.write().map_err(|_| poisoned())? = Some(job);
        for worker in &self.workers {
            worker.unpark();
        }
        self.running = Some(running);
        Ok(())
    }

    fn run_progress(&self) -> RunProgress {
        self.running
            .as_ref()
            .map_or_else(RunProgress::default, |run| run.live.read())
    }

    fn finish_run(&mut self, plan: &TrialPlan<'_>) -> Result<TrialRun, TrialFailure> {
        let Some(running) = self.running.take() else {
            return Err(super::no_run_started());
        };
        let workers = self.shared.recorders.len();
        while running.done.load(Ordering::Acquire) < workers {
            // The last worker unparks this thread; the timeout only guards a lost wake-up.
            std::thread::park_timeout(Duration::from_millis(50));
        }
        let wall = running.started.elapsed();
        // Every worker has let go of the job: this drops the trial's hold on the workload.
        *self.shared.trial.write().map_err(|_| poisoned())? = None;
        let mut recorders = Vec::with_capacity(workers);
        for recorder in &self.shared.recorders {
            recorders.push(recorder.lock().map_err(|_| poisoned())?);
        }
        finish_trial(
            plan,
            wall,
            recorders.iter_mut().map(|r| Ok::<_, ()>(&mut **r)),
        )
    }
}

impl Drop for RayonPool {
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            // A run nobody collected (its measurer returned early): its workers stop at
            // their next chunk instead of running out a counter sized for seconds.
            running.stop.finish();
        }
        self.shared.shutdown.store(true, Ordering::Release);
        if let Ok(threads) = self.shared.threads.lock() {
            for thread in threads.iter().flatten() {
                thread.unpark();
            }
        }
    }
}

/// Waits (at most 5 s) until the process is back to `threads` threads or fewer; at once where
/// the OS does not count a process's threads (Windows).
fn wait_for_threads_to_exit(threads: Option<u64>) {
    let Some(threads) = threads else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while thread_count().is_some_and(|now| now > threads) && Instant::now() < deadline {
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
    if let Some(failure) = TrialFailure::of_stop(plan.stop) {
        return Err(failure);
    }
    let mut total = WorkerRecorder::new();
    for recorder in recorders {
        total.absorb(recorder.map_err(|_| poisoned())?);
    }
    let run = TrialRun {
        tasks: total.tasks,
        wall,
        worker_cpu_ns: total.cpu_ns,
        latency_ns: total.latency_ns,
        sampled_time_ns: total.sampled_time_ns,
        child_cpu_ns: 0,
        child_peak_rss_bytes: None,
    };
    Ok(super::recorder::count_children(plan, run))
}
