//! `process`: N worker processes (pooltune started again as `pooltune __pooltune-worker pool`),
//! the workload's spec and calibration sent once, tasks fed in chunks of `chunk_size`, results
//! streamed back over pipes: Python's `multiprocessing.Pool` with its `spawn` start method.
//!
//! Feeding: `lazy` builds each chunk's task descriptions when the chunk is sent, with at most
//! [`MAX_CHUNKS_IN_FLIGHT`] chunks per worker (`imap` with a chunk size); `eager` builds every
//! task description of the trial before sending the first (`map` over a list), so its memory
//! grows with the task count, and it refuses to start when that would not fit in memory.
//!
//! A worker that dies fails the point with its exit code or signal, and the pool never hangs:
//! a death is end-of-file on the worker's pipe. A worker that is stopped (SIGSTOP) or stuck
//! fails the point once it has sent nothing for [`crate::child::NO_PROGRESS_FACTOR`] times
//! the expected chunk time (at least [`crate::child::NO_PROGRESS_MIN`]). Workers ignore
//! SIGINT: a Ctrl-C at the terminal reaches the whole process group, and pooltune ends its
//! workers itself. Each worker's TMPDIR is a folder of the pool's, removed with the pool, so a
//! killed `file_io` worker's folder goes too. The pool never leaves a process behind: on
//! Stop, on a failure and on drop, the workers' stdin is closed, those between chunks exit at
//! once, those still busy are killed after 300 ms (`EXIT_GRACE`), and all are reaped; each worker
//! also dies with the thread that built the pool (see [`ProcessPool::new`]). The worker
//! executable is [`worker_exe`].

mod children;
mod protocol;
mod worker;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use crate::spec::pool::{check_eager_fits, eager_memory_bytes};
pub use protocol::{TASK_PAYLOAD_BYTES, TaskDescription};

use self::children::{Event, WorkerProcess, end_all, pump};
use self::protocol::{FromWorker, WorkerSetup};
use super::{Pool, TrialFailure, TrialPlan, TrialRun, WorkloadSource, new_histogram, record_ns};
use crate::child::{self, Watchdog};
use crate::spec::{Feeding, WorkloadSpec};

/// The first argument that starts pooltune as a worker process. The second says which kind:
/// `pool` (a process pool worker) or `idle` (a worker-cost experiment's idle process), then
/// pooltune's pid.
pub const WORKER_MODE_ARG: &str = "__pooltune-worker";

/// What an idle worker (`pooltune __pooltune-worker idle PARENT_PID`) writes to its stdout
/// once it runs; it then blocks reading stdin, and exits when that pipe closes.
pub const IDLE_READY_LINE: &[u8] = b"ready\n";

/// Environment variable naming the executable to start as a worker (default: this executable).
pub const POOLTUNE_EXE_VAR: &str = "POOLTUNE_EXE";

/// Chunks sent to one worker and not yet reported back, at most: one running and one waiting
/// in the pipe, so a worker never idles for a round trip, and no more is built than that.
pub const MAX_CHUNKS_IN_FLIGHT: usize = 2;

/// Longest wait for the workers to start and build the workload.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long idle workers get to exit on their own when the pool ends, before they are killed.
/// A worker between chunks exits within a millisecond; one in the middle of a chunk is killed.
const EXIT_GRACE: Duration = Duration::from_millis(300);

/// Longest wait in one poll: how soon a deadline or a Stop is noticed.
const POLL_SLICE: Duration = Duration::from_millis(10);

/// The executable to start as a worker: `POOLTUNE_EXE` when set; else this executable, unless
/// this is a test or bench binary of a cargo build (it lives in `target/<profile>/deps/` and
/// is not pooltune), in which case the `pooltune` beside that folder.
pub fn worker_exe() -> Result<PathBuf, String> {
    if let Some(exe) = std::env::var_os(POOLTUNE_EXE_VAR) {
        return Ok(PathBuf::from(exe));
    }
    let exe = std::env::current_exe().map_err(|err| {
        format!("could not find pooltune's own executable to start workers: {err}")
    })?;
    let in_deps = exe
        .parent()
        .filter(|folder| folder.file_name().is_some_and(|name| name == "deps"));
    if let Some(profile) = in_deps.and_then(Path::parent) {
        let beside = profile.join("pooltune");
        if beside.is_file() {
            return Ok(beside);
        }
    }
    Ok(exe)
}

/// Expected time of one task of `spec` in a worker process, for the no-progress limit: what
/// the spec says for computing and waiting tasks; for `file_io` and `memory`, their bytes at
/// a slow rate ([`SLOW_DISK_BYTES_PER_S`], [`SLOW_MEMORY_BYTES_PER_S`]), so that a slow disk or
/// a loaded machine is not taken for a stuck worker.
pub fn expected_task_time(spec: &WorkloadSpec) -> Duration {
    let us = match *spec {
        WorkloadSpec::Cpu { compute_us } | WorkloadSpec::Contended { compute_us, .. } => {
            compute_us as f64
        }
        WorkloadSpec::Blocking {
            compute_us,
            wait_us,
        }
        | WorkloadSpec::Gil {
            compute_us,
            wait_us,
            ..
        } => compute_us.saturating_add(wait_us) as f64,
        // Written, then read back.
        WorkloadSpec::FileIo { bytes, .. } => 2.0 * bytes as f64 / SLOW_DISK_BYTES_PER_S * 1e6,
        // Every pass reads and writes the buffer; the first task also allocates it.
        WorkloadSpec::Memory { buffer_kib, passes } => {
            (2.0 * f64::from(passes) + 1.0) * (buffer_kib as f64 * 1024.0) / SLOW_MEMORY_BYTES_PER_S
                * 1e6
        }
        WorkloadSpec::SharedState { .. } => 0.0,
        // Never run by worker processes (`WorkloadSpec::worker_process_refusal`).
        WorkloadSpec::Command(_) | WorkloadSpec::Exec(_) | WorkloadSpec::Python(_) => 0.0,
        WorkloadSpec::Closure { .. } => 0.0,
    };
    Duration::from_secs_f64((us / 1e6).clamp(0.0, 1e9))
}

/// A slow disk for [`expected_task_time`]: 20 MB/s (a USB stick, a busy network disk).
const SLOW_DISK_BYTES_PER_S: f64 = 20e6;

/// Slow memory streaming for [`expected_task_time`]: 200 MB/s, a tenth of one core's
/// bandwidth on a 2020s machine, for a debug build on a shared core.
const SLOW_MEMORY_BYTES_PER_S: f64 = 200e6;

/// A pool of worker processes.
pub struct ProcessPool {
    workers: Vec<WorkerProcess>,
    /// The workers' TMPDIR; removed (with whatever a killed worker left in it) after the
    /// workers are reaped, as it is declared after them.
    temp_dir: tempfile::TempDir,
    _temp_dir_registration: child::Registration,
    /// Expected time between two messages of a busy worker: the spec's estimate of a chunk,
    /// raised to the longest gap seen.
    expected_chunk: Duration,
    chunk_size: u64,
    feeding: Feeding,
    /// Set once a worker died, the protocol broke or the pool was stopped: why.
    broken: Option<String>,
    /// Events of the last poll, kept to reuse the allocation.
    events: Vec<Event>,
    /// The poll loop's read buffer, kept to reuse the allocation.
    scratch: Vec<u8>,
}

/// How a trial went wrong.
enum TrialError {
    /// The pool cannot be used again (a worker died, a damaged message, Stop).
    Broken(TrialFailure),
    /// The trial failed but every worker is fine (a task panicked, a check failed).
    Usable(TrialFailure),
}

impl ProcessPool {
    /// Waits up to [`POLL_SLICE`] for the workers and puts what they sent in `events`
    /// (emptied first).
    fn poll(&mut self, events: &mut Vec<Event>) {
        events.clear();
        pump(&mut self.workers, POLL_SLICE, events, &mut self.scratch);
    }

    /// Starts `processes` workers from [`worker_exe`] and waits until each has built the
    /// workload.
    ///
    /// The workers are tied to the calling thread: Linux sends them SIGKILL when it exits
    /// (`PR_SET_PDEATHSIG`), so a pool must be used and dropped on the thread that built it,
    /// as the sweep does.
    pub fn new(
        processes: usize,
        chunk_size: usize,
        feeding: Feeding,
        source: &WorkloadSource,
    ) -> Result<ProcessPool, String> {
        ProcessPool::with_exe(processes, chunk_size, feeding, source, &worker_exe()?)
    }

    /// [`ProcessPool::new`] with the worker executable given: tests pass
    /// `env!("CARGO_BIN_EXE_pooltune")`.
    pub fn with_exe(
        processes: usize,
        chunk_size: usize,
        feeding: Feeding,
        source: &WorkloadSource,
        exe: &Path,
    ) -> Result<ProcessPool, String> {
        // A preset is refused at load (spec::rules); this catches a spec handed over in code.
        if let Some(why) = source.spec.worker_process_refusal() {
            return Err(format!("{why}; use a thread pool (rayon, queue or spawn)"));
        }
        let temp_dir = tempfile::Builder::new()
            .prefix("pooltune-workers-")
            .tempdir()
            .map_err(|err| {
                format!("could not create a temporary folder for the worker processes: {err}")
            })?;
        let chunk_size = chunk_size.max(1) as u64;
        let mut pool = ProcessPool {
            workers: Vec::with_capacity(processes),
            _temp_dir_registration: child::register_folder(temp_dir.path()),
            temp_dir,
            expected_chunk: expected_task_time(&source.spec)
                .saturating_mul(u32::try_from(chunk_size).unwrap_or(u32::MAX)),
            chunk_size,
            feeding,
            broken: None,
            events: Vec::new(),
            scratch: Vec::new(),
        };
        let args = vec![
            WORKER_MODE_ARG.to_owned(),
            "pool".to_owned(),
            std::process::id().to_string(),
        ];
        for index in 0..processes {
            // On an error, dropping `pool` kills the workers started so far.
            let spawned = WorkerProcess::spawn(exe, &args, index, pool.temp_dir.path());
            let mut worker = spawned.map_err(|err| {
                format!(
                    "could not start worker process {} of {processes} ({}): {err}",
                    index + 1,
                    exe.display()
                )
            })?;
            let setup = WorkerSetup {
                spec: source.spec.clone(),
                calibration: source.calibration.clone(),
                worker: index,
            };
            protocol::encode_setup(worker.outbox(), &setup)?;
            pool.workers.push(worker);
        }
        pool.wait_until_ready(exe)?;
        Ok(pool)
    }

    /// The workers' process ids, in worker order.
    pub fn worker_pids(&self) -> Vec<u32> {
        self.workers.iter().map(WorkerProcess::pid).collect()
    }

    fn wait_until_ready(&mut self, exe: &Path) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut ready = vec![false; self.workers.len()];
        while ready.iter().any(|r| !r) {
            if Instant::now() >= deadline {
                let waiting = ready.iter().filter(|r| !**r).count();
                return Err(format!(
                    "{waiting} of {} worker processes did not start within {} s",
                    ready.len(),
                    STARTUP_TIMEOUT.as_secs()
                ));
            }
            let mut events = std::mem::take(&mut self.events);
            self.poll(&mut events);
            for event in events.drain(..) {
                match event {
                    Event::Message(w, FromWorker::Ready) => ready[w] = true,
                    Event::Message(w, FromWorker::Failed(message)) => {
                        return Err(format!("worker process {w} could not start: {message}"));
                    }
                    Event::Message(w, other) => {
                        return Err(format!(
                            "worker process {w} sent {other:?} before it was ready"
                        ));
                    }
                    Event::Gone(w, what) => {
                        return Err(format!(
                            "{} before it was ready; is {} pooltune? (set {POOLTUNE_EXE_VAR} \
                             to pooltune's executable)",
                            self.workers[w].death_message(&what),
                            exe.display()
                        ));
                    }
                }
            }
            self.events = events;
        }
        Ok(())
    }

    /// Ends every worker (see [`end_all`]) and remembers why. On a Stop the work in flight
    /// is thrown away anyway, so workers are killed at once (a Stop must land within 200 ms);
    /// otherwise they get [`EXIT_GRACE`] to exit on their own.
    fn shut_down(&mut self, failure: &TrialFailure) {
        let grace = if *failure == TrialFailure::Cancelled {
            Duration::ZERO
        } else {
            EXIT_GRACE
        };
        end_all(&mut self.workers, grace);
        self.broken = Some(failure.to_string());
    }

    fn trial(&mut self, plan: &TrialPlan<'_>) -> Result<TrialRun, TrialError> {
        use TrialError::{Broken, Usable};
        let count = self.workers.len();
        let max_tasks = plan.max_tasks;
        let started = Instant::now();
        // Eager feeding: the whole task list exists before the first task is sent. The clock
        // is already running: building the list is part of what `map` over a list costs.
        let eager: Option<Vec<TaskDescription>> = match self.feeding {
            Feeding::Lazy => None,
            Feeding::Eager => {
                // What the address-space limit (ulimit -v) leaves counts as well: past it,
                // an allocation fails and Rust aborts the process.
                check_eager_fits(max_tasks, crate::machine::allocatable_bytes())
                    .map_err(|message| Usable(TrialFailure::Failed(message)))?;
                let mut all = Vec::new();
                let count = usize::try_from(max_tasks).unwrap_or(usize::MAX);
                all.try_reserve_exact(count).map_err(|_| {
                    Usable(TrialFailure::Failed(format!(
                        "eager feeding could not allocate the list of {max_tasks} task \
                         descriptions: {}; use feeding = \"lazy\"",
                        crate::machine::memory_limit_text()
                    )))
                })?;
                all.extend((0..max_tasks).map(TaskDescription::new));
                Some(all)
            }
        };
        for worker in &mut self.workers {
            protocol::encode_begin(worker.outbox(), plan.sample_every);
        }
        let mut in_flight = vec![0usize; count];
        let mut ended = vec![false; count];
        // One watchdog per worker, counting from the moment the worker was given something.
        let mut dogs = vec![Watchdog::new(self.expected_chunk); count];
        let mut next = 0u64;
        let mut sent_checksum = 0u64;
        let mut run = TrialRun {
            tasks: 0,
            wall: Duration::ZERO,
            worker_cpu_ns: 0,
            latency_ns: new_histogram(),
            sampled_time_ns: 0,
            child_cpu_ns: 0,
            child_peak_rss_bytes: Some(0),
        };
        let mut ran_checksum = 0u64;
        let mut end_error: Option<String> = None;
        let mut feeding_over = false;
        let mut end_sent = false;
        let mut events = std::mem::take(&mut self.events);
        loop {
            if plan.stop.cancelled() {
                return Err(Broken(TrialFailure::Cancelled));
            }
            if !feeding_over && (next >= max_tasks || plan.stop.should_stop()) {
                feeding_over = true;
            }
            if !feeding_over {
                for (w, worker) in self.workers.iter_mut().enumerate() {
                    if in_flight[w] == 0 && next < max_tasks {
                        dogs[w].progress();
                    }
                    while in_flight[w] < MAX_CHUNKS_IN_FLIGHT && next < max_tasks {
                        let end = (next + self.chunk_size).min(max_tasks);
                        match &eager {
                            Some(all) => {
                                let chunk = &all[next as usize..end as usize];
                                protocol::encode_tasks(worker.outbox(), chunk.iter());
                            }
                            None => {
                                let chunk: Vec<TaskDescription> =
                                    (next..end).map(TaskDescription::new).collect();
                                protocol::encode_tasks(worker.outbox(), chunk.iter());
                            }
                        }
                        for index in next..end {
                            sent_checksum =
                                sent_checksum.wrapping_add(protocol::index_checksum(index));
                        }
                        in_flight[w] += 1;
                        next = end;
                    }
                }
            }
            if feeding_over && !end_sent && in_flight.iter().all(|&n| n == 0) {
                run.wall = started.elapsed();
                for worker in &mut self.workers {
                    protocol::encode_end(worker.outbox());
                }
                for dog in &mut dogs {
                    dog.progress();
                }
                end_sent = true;
            }
            if end_sent && ended.iter().all(|&e| e) {
                break;
            }
            self.poll(&mut events);
            for event in events.drain(..) {
                if let Event::Message(w, message) = &event {
                    // Learn how long a chunk really takes, so the limit stays a multiple of it.
                    let gap = dogs[*w].since_progress();
                    if matches!(message, FromWorker::ChunkDone { .. }) && gap > self.expected_chunk
                    {
                        self.expected_chunk = gap;
                        for dog in &mut dogs {
                            dog.expect_at_least(gap);
                        }
                    }
                    dogs[*w].progress();
                }
                match event {
                    Event::Message(
                        w,
                        FromWorker::ChunkDone {
                            tasks,
                            cpu_ns,
                            index_checksum,
                            samples_ns,
                        },
                    ) => {
                        if in_flight[w] == 0 {
                            return Err(Broken(TrialFailure::Failed(format!(
                                "worker process {w} reported a chunk it was not sent"
                            ))));
                        }
                        in_flight[w] -= 1;
                        run.tasks += tasks;
                        run.worker_cpu_ns += cpu_ns;
                        ran_checksum = ran_checksum.wrapping_add(index_checksum);
                        for ns in samples_ns {
                            record_ns(&mut run.latency_ns, ns);
                            run.sampled_time_ns += ns;
                        }
                    }
                    Event::Message(_, FromWorker::Panicked(message)) => {
                        plan.stop.record_panic(message);
                    }
                    Event::Message(_, FromWorker::TaskError(message)) => {
                        plan.stop.record_error(message);
                    }
                    Event::Message(
                        w,
                        FromWorker::Ended {
                            process_cpu_ns,
                            peak_rss_bytes,
                            error,
                        },
                    ) => {
                        ended[w] = true;
                        run.child_cpu_ns += process_cpu_ns;
                        run.child_peak_rss_bytes =
                            run.child_peak_rss_bytes.map(|sum| sum + peak_rss_bytes);
                        if end_error.is_none() {
                            end_error = error;
                        }
                    }
                    Event::Message(w, FromWorker::Failed(message)) => {
                        return Err(Broken(TrialFailure::Failed(format!(
                            "worker process {w} failed: {message}"
                        ))));
                    }
                    Event::Message(w, FromWorker::Ready) => {
                        return Err(Broken(TrialFailure::Failed(format!(
                            "worker process {w} sent an unexpected message"
                        ))));
                    }
                    Event::Gone(w, what) => {
                        // A Ctrl-C that reached a worker before it could ignore SIGINT: the
                        // point was stopped, not failed (and a Stop waits for no death).
                        if plan.stop.cancelled() {
                            return Err(Broken(TrialFailure::Cancelled));
                        }
                        let message = self.workers[w].death_message(&what);
                        return Err(Broken(TrialFailure::Failed(format!(
                            "{message} during the trial"
                        ))));
                    }
                }
            }
            // A busy worker that has sent nothing for too long is stopped or stuck.
            for (w, dog) in dogs.iter().enumerate() {
                let busy = in_flight[w] > 0 || (end_sent && !ended[w]);
                if busy && dog.expired() {
                    let who = format!("worker process {w}");
                    return Err(Broken(TrialFailure::Failed(
                        dog.message(&who, self.workers[w].pid()),
                    )));
                }
            }
        }
        self.events = events;
        drop(eager);
        if let Some(fault) = plan.stop.fault() {
            return Err(Usable(fault.into()));
        }
        if let Some(message) = end_error {
            return Err(Usable(TrialFailure::Failed(message)));
        }
        // Every task sent ran exactly once: the counts and the index checksums agree.
        if run.tasks != next || ran_checksum != sent_checksum {
            return Err(Broken(TrialFailure::Failed(format!(
                "the worker processes reported {} tasks but {next} were sent, or a different set \
                 of tasks than was sent",
                run.tasks
            ))));
        }
        Ok(run)
    }
}

impl Pool for ProcessPool {
    fn threads(&self) -> usize {
        self.workers.len()
    }

    fn run_trial(&mut self, plan: &TrialPlan<'_>) -> Result<TrialRun, TrialFailure> {
        if let Some(why) = &self.broken {
            return Err(TrialFailure::Failed(format!(
                "the process pool cannot run trials any more: {why}"
            )));
        }
        match self.trial(plan) {
            Ok(run) => Ok(run),
            Err(TrialError::Usable(failure)) => Err(failure),
            Err(TrialError::Broken(failure)) => {
                // Stop, a dead worker or a broken pipe: no worker is left running.
                self.shut_down(&failure);
                Err(failure)
            }
        }
    }
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        end_all(&mut self.workers, EXIT_GRACE);
    }
}

/// Entry point of a worker process (`pooltune __pooltune-worker KIND ...`); returns the exit
/// code. `pool PARENT_PID` runs a process pool worker; `idle PARENT_PID` runs a worker-cost
/// experiment's idle process.
pub fn run_worker_process(args: &[String]) -> i32 {
    worker::set_worker_signals();
    match args.first().map(String::as_str) {
        Some("pool") => worker::run_pool_worker(args.get(1).and_then(|pid| pid.parse().ok())),
        Some("idle") => worker::run_idle_worker(args.get(1).and_then(|pid| pid.parse().ok())),
        _ => {
            eprintln!(
                "{WORKER_MODE_ARG} is for pooltune's own worker processes: expected `pool` or \
                 `idle` after it"
            );
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eager_refuses_a_list_larger_than_memory() {
        let tasks = 1_000_000;
        let needed = eager_memory_bytes(tasks);
        assert!(needed >= tasks * (TASK_PAYLOAD_BYTES as u64));
        assert!(check_eager_fits(tasks, needed).is_ok());
        let message = check_eager_fits(tasks, needed - 1).unwrap_err();
        assert!(message.contains("eager feeding"), "{message}");
        assert!(message.contains("lazy"), "{message}");
    }

    #[test]
    fn the_memory_estimate_covers_a_real_description() {
        let task = TaskDescription::new(5);
        let real = std::mem::size_of_val(&task) + task.payload.capacity();
        assert!(TaskDescription::MEMORY_BYTES as usize >= real);
    }

    #[test]
    fn shared_state_is_refused_with_a_reason() {
        let source = WorkloadSource {
            spec: WorkloadSpec::SharedState {
                strategy: crate::spec::SharedStrategy::Atomic,
                updates_per_task: 1,
            },
            calibration: crate::result::Calibration {
                spin_units_per_us: 1.0,
                timer_cost_ns: 1.0,
            },
        };
        let err = ProcessPool::with_exe(2, 1, Feeding::Lazy, &source, Path::new("/bin/false"))
            .err()
            .unwrap();
        assert!(err.contains("shared_state"), "{err}");
    }
}
