//! Workloads: what one task does. Each kind of [`WorkloadSpec`] becomes a [`Workload`] built
//! for one point (one thread count). Tasks are deterministic, keep their results alive with
//! `black_box`, and check the trial's stop flag between small slices of work so that a Stop
//! takes effect within milliseconds even for long tasks.
//!
//! A [`WorkloadFactory`] is what a series hands its pool: it builds the workload for N workers
//! and says how a worker process can rebuild it, or that it cannot (a workload built in this
//! process, such as a test's or a bench's, has no spec a worker could rebuild it from).
//!
//! A workload never measures anything: the pools time tasks and read clocks around them.

mod compute;
pub mod exec;
mod file_io;
mod gil;
mod locks;
mod memory;
mod shared_state;

use std::sync::Arc;

pub use compute::{Spinner, calibrate, calibrate_until};

use crate::cancel::TrialStop;
use crate::result::Calibration;
use crate::spec::WorkloadSpec;

/// What a task knows about where it runs.
#[derive(Debug, Clone, Copy)]
pub struct TaskCtx<'a> {
    /// The worker running the task, `0..threads`. Pools guarantee that at most one task runs
    /// per worker index at any time, so workloads can keep per-worker state in slots.
    pub worker: usize,
    /// The task's index within the trial.
    pub task: u64,
    /// Checked between slices of work.
    pub stop: &'a TrialStop,
}

/// One kind of task, built for a given number of workers.
pub trait Workload: Send + Sync {
    /// Called once before each trial's tasks (resets counters a trial checks).
    fn begin_trial(&self) {}

    /// Runs one task. May panic; the pool catches the panic and fails the point.
    fn run_task(&self, ctx: &TaskCtx<'_>);

    /// Called once after each trial with the number of tasks that ran; an `Err` fails the
    /// point (for example a shared-state total that does not match).
    fn end_trial(&self, tasks_run: u64) -> Result<(), String> {
        let _ = tasks_run;
        Ok(())
    }

    /// What the child processes this workload's tasks started and reaped used since the last
    /// call (None: its tasks start none). The pools call it as a trial begins and ends, and
    /// count the children's CPU time in the trial's (an `exec` task's own work is its child's).
    fn take_child_usage(&self) -> Option<ChildUsage> {
        None
    }
}

/// Resources used by the child processes of a workload's tasks, as `wait4` reported them
/// when each was reaped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChildUsage {
    /// User plus system CPU time of the children (their threads and the processes they
    /// waited for), in nanoseconds.
    pub cpu_ns: u64,
    /// The largest resident memory of any one child (`ru_maxrss`), in bytes, counting only
    /// children whose figure is above pooltune's own peak (0: none was). Linux starts a
    /// child's `ru_maxrss` at its parent's high-water mark when it execs, so below pooltune's
    /// own peak the figure is pooltune's, not the child's.
    pub peak_rss_bytes: u64,
    /// Children reaped.
    pub children: u64,
}

/// What a worker process needs to rebuild a workload: its spec and the run's calibration.
#[derive(Debug, Clone)]
pub struct WorkloadSource {
    /// The workload's spec.
    pub spec: WorkloadSpec,
    /// The run's calibration.
    pub calibration: Calibration,
}

/// Builds the workload a series runs, for each thread count, and tells a process pool how
/// its workers can rebuild it.
#[derive(Clone)]
pub enum WorkloadFactory {
    /// A built-in workload: built here from its spec, and rebuilt from the same spec inside
    /// each worker process.
    Spec(WorkloadSource),
    /// A workload already built in this process (tests, benches, later a Rust closure): it
    /// runs on pools of threads only; a worker process cannot rebuild it.
    Built(Arc<dyn Workload>),
}

impl std::fmt::Debug for WorkloadFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkloadFactory::Spec(source) => f.debug_tuple("Spec").field(source).finish(),
            WorkloadFactory::Built(_) => f.write_str("Built(..)"),
        }
    }
}

impl WorkloadFactory {
    /// The factory of a built-in workload.
    pub fn from_spec(spec: &WorkloadSpec, calibration: &Calibration) -> WorkloadFactory {
        WorkloadFactory::Spec(WorkloadSource {
            spec: spec.clone(),
            calibration: calibration.clone(),
        })
    }

    /// The workload for `workers` concurrent workers.
    pub fn build(&self, workers: usize) -> Result<Arc<dyn Workload>, String> {
        match self {
            WorkloadFactory::Spec(source) => build(&source.spec, &source.calibration, workers),
            WorkloadFactory::Built(workload) => Ok(Arc::clone(workload)),
        }
    }

    /// How a worker process rebuilds this workload, or why it cannot: a process pool must
    /// run the workload it was handed, never a stand-in.
    pub fn worker_source(&self) -> Result<&WorkloadSource, String> {
        match self {
            WorkloadFactory::Spec(source) => Ok(source),
            WorkloadFactory::Built(_) => Err("a process pool rebuilds its workload from a spec \
                 in each worker process, and this workload was built inside pooltune with no \
                 spec a worker can rebuild: run it on a pool of threads (rayon, queue or spawn)"
                .to_owned()),
        }
    }
}

/// Builds the workload of `spec` for `workers` concurrent workers.
pub fn build(
    spec: &WorkloadSpec,
    calibration: &Calibration,
    workers: usize,
) -> Result<Arc<dyn Workload>, String> {
    let spinner = Spinner::new(calibration);
    let workers = workers.max(1);
    Ok(match *spec {
        WorkloadSpec::Cpu { compute_us } => Arc::new(compute::Cpu::new(spinner, compute_us)),
        WorkloadSpec::Blocking {
            compute_us,
            wait_us,
        } => Arc::new(compute::Blocking::new(spinner, compute_us, wait_us)),
        WorkloadSpec::FileIo { bytes, fsync } => {
            Arc::new(file_io::FileIo::new(bytes, fsync, workers)?)
        }
        WorkloadSpec::Memory { buffer_kib, passes } => {
            Arc::new(memory::Memory::new(buffer_kib, passes, workers))
        }
        WorkloadSpec::Contended {
            compute_us,
            serial_fraction,
        } => Arc::new(locks::Contended::new(spinner, compute_us, serial_fraction)),
        WorkloadSpec::Gil {
            compute_us,
            wait_us,
            switch_interval_us,
        } => Arc::new(gil::SimulatedGil::new(
            spinner,
            compute_us,
            wait_us,
            switch_interval_us,
        )),
        WorkloadSpec::SharedState {
            strategy,
            updates_per_task,
        } => Arc::new(shared_state::SharedState::new(
            strategy,
            updates_per_task,
            workers,
        )?),
        WorkloadSpec::Exec(ref exec) => Arc::new(exec::Exec::new(
            Arc::new(exec::ExecPlan::new(exec, None)?),
            workers,
        )),
        WorkloadSpec::Command(_) | WorkloadSpec::Python(_) | WorkloadSpec::Closure { .. } => {
            return Err(format!(
                "the {} workload is not built by pooltune's pools: its own source runs it",
                spec.kind_name()
            ));
        }
    })
}

/// A buffer of `len` copies of `value`, or an error naming what it is for, its size and the
/// memory limit when it cannot be allocated: a large allocation that fails must fail the
/// point, not abort pooltune (Rust's `vec!` aborts the process on allocation failure).
pub fn try_buffer<T: Clone>(len: usize, value: T, what: &str) -> Result<Vec<T>, String> {
    let mut buffer = Vec::new();
    if buffer.try_reserve_exact(len).is_err() {
        let bytes = (len as u128).saturating_mul(std::mem::size_of::<T>() as u128);
        return Err(format!(
            "could not allocate {} MiB ({bytes} bytes) for {what}: {}",
            bytes.div_ceil(1 << 20),
            crate::machine::memory_limit_text()
        ));
    }
    buffer.resize(len, value);
    Ok(buffer)
}

/// A task that does nothing (for overhead benchmarks and engine tests).
#[derive(Debug, Default)]
pub struct Empty;

impl Workload for Empty {
    #[inline]
    fn run_task(&self, ctx: &TaskCtx<'_>) {
        std::hint::black_box(ctx.task);
    }
}
