//! Pools: what runs the tasks. Each pool kind runs a trial (a fixed number of tasks, or as
//! many as fit before a deadline) on N workers and returns what it measured: tasks run, wall
//! time, the workers' CPU time and a latency histogram merged from one histogram per worker
//! (so recording never serialises the workers).
//!
//! Pools catch a panicking task (the trial fails with its message; the pool stays usable)
//! and check the trial's stop flag between chunks of tasks.

pub mod async_pool;
pub mod process;
mod queue;
mod rayon_pool;
mod recorder;
pub mod resizable;
mod spawn;

use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;

pub use process::{WORKER_MODE_ARG, run_worker_process};
pub use recorder::{LiveCounts, RunProgress, WorkerRecorder, new_histogram, record_ns};

use crate::cancel::TrialStop;
use crate::spec::PoolSpec;
pub use crate::workload::WorkloadSource;
use crate::workload::{Workload, WorkloadFactory};

/// What a trial asks of a pool.
pub struct TrialPlan<'a> {
    /// The workload to run (in-process pools).
    pub workload: &'a Arc<dyn Workload>,
    /// Most tasks to run; with a deadline in `stop`, fewer may run.
    pub max_tasks: u64,
    /// Time one in this many tasks for the latency histogram (1: every task).
    pub sample_every: u64,
    /// Tasks per chunk handed to a worker at once (the pool may use its own chunk size).
    pub chunk_tasks: u64,
    /// Why to stop early (shared with worker threads that outlive the call).
    pub stop: &'a Arc<TrialStop>,
}

/// What a pool measured in one trial.
#[derive(Debug)]
pub struct TrialRun {
    /// Tasks that ran to completion.
    pub tasks: u64,
    /// Wall time from the first task handed out to the last one finished.
    pub wall: Duration,
    /// Sum of the workers' thread CPU time spent running tasks, in nanoseconds; for tasks that
    /// start child processes (`exec`), their children's CPU time too: it is the tasks' work.
    pub worker_cpu_ns: u64,
    /// Task times in nanoseconds (sampled per [`TrialPlan::sample_every`]), all workers merged.
    pub latency_ns: Histogram<u64>,
    /// Sum of the sampled task times, in nanoseconds (for the mean wall time per task).
    pub sampled_time_ns: u64,
    /// CPU time used during the trial by child processes (a process pool's workers, an
    /// `exec` workload's tasks), in nanoseconds; counted into the point's CPU utilisation
    /// beside this process's own.
    pub child_cpu_ns: u64,
    /// Sum of the worker processes' own peak resident memory during the trial, in bytes (each
    /// worker resets its watermark when the trial begins); for an `exec` workload the largest
    /// task child's; None for pools of threads running tasks without children.
    pub child_peak_rss_bytes: Option<u64>,
}

/// Why a trial did not produce a measurement.
#[derive(Debug, Clone, PartialEq)]
pub enum TrialFailure {
    /// The user stopped the sweep.
    Cancelled,
    /// A task panicked; the message.
    Panicked(String),
    /// Something else went wrong (a worker process died, a channel broke).
    Failed(String),
}

impl std::fmt::Display for TrialFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrialFailure::Cancelled => write!(f, "cancelled"),
            TrialFailure::Panicked(message) => write!(f, "a task panicked: {message}"),
            TrialFailure::Failed(message) => write!(f, "{message}"),
        }
    }
}

impl TrialFailure {
    /// Why a trial stopped early, if it did: a task's panic or error first, then the user's
    /// Stop (a deadline or [`TrialStop::finish`] is no failure).
    pub fn of_stop(stop: &TrialStop) -> Option<TrialFailure> {
        match stop.fault() {
            Some(fault) => Some(fault.into()),
            None => stop.cancelled().then_some(TrialFailure::Cancelled),
        }
    }
}

impl From<crate::cancel::TaskFault> for TrialFailure {
    fn from(fault: crate::cancel::TaskFault) -> TrialFailure {
        match fault {
            crate::cancel::TaskFault::Panic(message) => TrialFailure::Panicked(message),
            crate::cancel::TaskFault::Error(message) => TrialFailure::Failed(message),
        }
    }
}

/// A pool of N workers that runs trials.
pub trait Pool: Send {
    /// Workers in the pool.
    fn threads(&self) -> usize;
    /// Runs one trial and blocks until it is done, stopped, or failed.
    fn run_trial(&mut self, plan: &TrialPlan<'_>) -> Result<TrialRun, TrialFailure>;

    /// Whether this pool can keep its workers going across the timed trials of a point
    /// ([`Pool::start_run`]), so that each trial is a window of a running pool instead of
    /// a standing start (see `source::in_process`, "windows").
    fn runs_continuously(&self) -> bool {
        false
    }

    /// Starts the workers on `plan`'s tasks and returns at once; they go on until
    /// `plan.stop` says stop ([`TrialStop::finish`], the user's Stop, a panic), and
    /// [`Pool::run_progress`] reads what they have done meanwhile. Pools that cannot say so
    /// in [`Pool::runs_continuously`] and refuse.
    fn start_run(&mut self, plan: &TrialPlan<'_>) -> Result<(), TrialFailure> {
        let _ = plan;
        Err(TrialFailure::Failed(
            "this pool measures each trial from a standing start only".to_owned(),
        ))
    }

    /// What the workers of the run [`Pool::start_run`] began have done so far.
    fn run_progress(&self) -> RunProgress {
        RunProgress::default()
    }

    /// Waits until the workers of the run [`Pool::start_run`] began have stopped (the caller
    /// has ended it through `plan.stop`) and returns everything it measured, from its start to
    /// its last task; a panic or the user's Stop during the run is its failure.
    fn finish_run(&mut self, plan: &TrialPlan<'_>) -> Result<TrialRun, TrialFailure> {
        let _ = plan;
        Err(no_run_started())
    }
}

/// [`Pool::finish_run`] without a [`Pool::start_run`] before it.
fn no_run_started() -> TrialFailure {
    TrialFailure::Failed("no run was started".to_owned())
}

/// Builds a pool of `threads` workers for the workload of `factory`. The error names the
/// thread count and the OS error; a process pool refuses a workload its workers cannot
/// rebuild ([`WorkloadFactory::worker_source`]).
pub fn build(
    spec: &PoolSpec,
    threads: usize,
    factory: &WorkloadFactory,
) -> Result<Box<dyn Pool>, String> {
    let pool: Box<dyn Pool> = match *spec {
        PoolSpec::Rayon => Box::new(rayon_pool::RayonPool::new(threads)?),
        PoolSpec::Queue {
            queue_capacity,
            chunk_size,
        } => Box::new(queue::QueuePool::new(threads, queue_capacity, chunk_size)?),
        PoolSpec::Spawn => Box::new(spawn::SpawnPool::new(threads)),
        PoolSpec::Process {
            chunk_size,
            feeding,
        } => Box::new(process::ProcessPool::new(
            threads,
            chunk_size,
            feeding,
            factory.worker_source()?,
        )?),
        PoolSpec::Async { worker_threads } => Box::new(async_pool::AsyncPool::new(
            threads,
            worker_threads,
            factory,
        )?),
        PoolSpec::PythonThreads
        | PoolSpec::PythonProcesses { .. }
        | PoolSpec::PythonInterpreters
        | PoolSpec::PythonAsyncio => {
            return Err(format!(
                "a {} pool is CPython's: it runs a `python` workload, through the Python source",
                spec.kind_name()
            ));
        }
    };
    Ok(pool)
}

/// The text of a panic payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-text payload".to_owned()
    }
}

/// Name of a pool worker thread; every thread pooltune creates has a `pooltune-` name.
pub fn worker_name(index: usize) -> String {
    format!("pooltune-worker-{index}")
}
