//! The per-worker measuring loop shared by every in-process pool: runs a chunk of tasks,
//! times one in `sample_every` of them into the worker's own histogram, reads the worker's
//! CPU clock once per chunk, and catches panics. Also where a trial's child processes (an
//! `exec` task's) are counted into what the trial measured.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use hdrhistogram::Histogram;

use super::{TrialPlan, TrialRun, panic_text};
use crate::measure::thread_cpu_ns;
use crate::workload::TaskCtx;

/// A histogram of nanoseconds with 2 significant digits (1% resolution) that grows as needed.
pub fn new_histogram() -> Histogram<u64> {
    // Only fails for invalid sigfig (2 is valid); fall back to an explicitly bounded one.
    Histogram::new(2).unwrap_or_else(|_| {
        Histogram::new_with_bounds(1, u64::MAX / 2, 2).expect("hdrhistogram accepts sigfig 2")
    })
}

/// Records a task time. `record` grows an auto-resizing histogram (`saturating_record` does
/// not, and would clamp every value to the histogram's initial range).
pub fn record_ns(histogram: &mut Histogram<u64>, ns: u64) {
    if histogram.record(ns.max(1)).is_err() {
        histogram.saturating_record(ns.max(1));
    }
}

/// What one worker measured in a trial.
#[derive(Debug)]
pub struct WorkerRecorder {
    /// Sampled task times in nanoseconds.
    pub latency_ns: Histogram<u64>,
    /// Sum of the sampled task times in nanoseconds.
    pub sampled_time_ns: u64,
    /// Tasks completed.
    pub tasks: u64,
    /// Thread CPU time spent in chunks, in nanoseconds.
    pub cpu_ns: u64,
    countdown: u64,
}

impl Default for WorkerRecorder {
    fn default() -> Self {
        WorkerRecorder::new()
    }
}

impl WorkerRecorder {
    /// An empty recorder.
    pub fn new() -> WorkerRecorder {
        WorkerRecorder {
            latency_ns: new_histogram(),
            sampled_time_ns: 0,
            tasks: 0,
            cpu_ns: 0,
            countdown: 0,
        }
    }

    /// Clears the recorder for a new trial, keeping its allocation.
    pub fn reset(&mut self) {
        self.latency_ns.reset();
        self.sampled_time_ns = 0;
        self.tasks = 0;
        self.cpu_ns = 0;
        self.countdown = 0;
    }

    /// Runs tasks `first..end` on worker `worker`. Returns false when the trial must stop
    /// (a task panicked, or the stop flag is set); tasks not started are skipped.
    pub fn run_chunk(&mut self, plan: &TrialPlan<'_>, worker: usize, first: u64, end: u64) -> bool {
        // The stop flag is read once per chunk, not per task: chunks are sized to about
        // 200 µs of work (one task when tasks are longer), so a Stop still lands within a
        // fraction of a millisecond, and the loop below stays as tight as raw rayon's. Tasks
        // that finish after a Stop or a panic do not matter: such a trial is discarded whole.
        if plan.stop.should_stop() {
            return false;
        }
        let cpu_before = thread_cpu_ns();
        let workload = &**plan.workload;
        let stop = &**plan.stop;
        let every = plan.sample_every.max(1);
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut task = first;
            while task < end {
                if self.countdown == 0 {
                    let started = Instant::now();
                    workload.run_task(&TaskCtx { worker, task, stop });
                    let ns = started.elapsed().as_nanos() as u64;
                    record_ns(&mut self.latency_ns, ns);
                    self.sampled_time_ns += ns;
                    self.countdown = every - 1;
                    task += 1;
                } else {
                    // A stretch of untimed tasks up to the next sampled one.
                    let stretch_end = end.min(task + self.countdown);
                    for untimed in task..stretch_end {
                        workload.run_task(&TaskCtx {
                            worker,
                            task: untimed,
                            stop,
                        });
                    }
                    self.countdown -= stretch_end - task;
                    task = stretch_end;
                }
            }
        }));
        self.cpu_ns += thread_cpu_ns().saturating_sub(cpu_before);
        match result {
            Ok(()) => {
                self.tasks += end - first;
                !stop.interrupted()
            }
            Err(payload) => {
                stop.record_panic(panic_text(&*payload));
                false
            }
        }
    }

    /// Adds another worker's measurements to this one.
    pub fn absorb(&mut self, other: &WorkerRecorder) {
        // Histograms with auto-resize accept any other's range.
        let _ = self.latency_ns.add(&other.latency_ns);
        self.sampled_time_ns += other.sampled_time_ns;
        self.tasks += other.tasks;
        self.cpu_ns += other.cpu_ns;
    }
}

/// What a pool's workers have done so far in a run kept going across the trials of a point,
/// readable while they work. Each worker says when it starts a chunk and adds the chunk's
/// tasks and CPU time when it ends (two relaxed stores and three adds per chunk of about
/// 200 µs, or per task when tasks are longer).
///
/// A reading also credits each chunk in flight with the share of it that has run, by the
/// mean chunk time so far: a count of completions alone jumps by a whole chunk per worker at
/// each completion, and tasks that wait a fixed time complete in waves (every worker comes
/// back in the same order), so a window's count would depend on where its ends fall in a wave.
#[derive(Debug)]
pub struct LiveCounts {
    epoch: Instant,
    tasks: AtomicU64,
    cpu_ns: AtomicU64,
    chunks: AtomicU64,
    chunk_wall_ns: AtomicU64,
    warm_workers: AtomicUsize,
    in_flight: Vec<InFlight>,
}

/// One worker's chunk in flight: when it started (ns since the epoch, plus 1; 0: none) and
/// its tasks.
#[derive(Debug, Default)]
struct InFlight {
    started_ns: AtomicU64,
    tasks: AtomicU64,
}

/// A reading of [`LiveCounts`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunProgress {
    /// Tasks completed so far.
    pub tasks: u64,
    /// Tasks completed so far plus the share of each chunk in flight that has run (its time
    /// so far over the mean chunk time, at most the whole chunk).
    pub tasks_credited: f64,
    /// The workers' thread CPU time so far, in nanoseconds.
    pub worker_cpu_ns: u64,
    /// Workers that have completed at least one chunk: once all have, the run is past the
    /// moment every worker started at once (see `source::windows`).
    pub warm_workers: usize,
}

impl LiveCounts {
    /// Counts for a pool of `workers` workers.
    pub fn new(workers: usize) -> LiveCounts {
        LiveCounts {
            epoch: Instant::now(),
            tasks: AtomicU64::new(0),
            cpu_ns: AtomicU64::new(0),
            chunks: AtomicU64::new(0),
            chunk_wall_ns: AtomicU64::new(0),
            warm_workers: AtomicUsize::new(0),
            in_flight: (0..workers).map(|_| InFlight::default()).collect(),
        }
    }

    /// Runs tasks `first..end` on worker `worker` through `recorder` ([`WorkerRecorder::run_chunk`],
    /// whose answer it returns), saying when the chunk starts and counting what it did.
    pub fn run_chunk(
        &self,
        recorder: &mut WorkerRecorder,
        plan: &TrialPlan<'_>,
        worker: usize,
        first: u64,
        end: u64,
    ) -> bool {
        let (tasks_before, cpu_before) = (recorder.tasks, recorder.cpu_ns);
        self.begin_chunk(worker, end - first);
        let go_on = recorder.run_chunk(plan, worker, first, end);
        self.end_chunk(worker, recorder, tasks_before, cpu_before);
        go_on
    }

    /// Worker `worker` starts a chunk of `tasks` tasks now.
    fn begin_chunk(&self, worker: usize, tasks: u64) {
        if let Some(slot) = self.in_flight.get(worker) {
            slot.tasks.store(tasks, Ordering::Relaxed);
            slot.started_ns
                .store(self.nanos_since_epoch() + 1, Ordering::Relaxed);
        }
    }

    /// Worker `worker`'s chunk has ended: counts what `recorder` did since it held
    /// `tasks_before` tasks and `cpu_before` ns.
    fn end_chunk(
        &self,
        worker: usize,
        recorder: &WorkerRecorder,
        tasks_before: u64,
        cpu_before: u64,
    ) {
        let tasks = recorder.tasks.saturating_sub(tasks_before);
        if let Some(slot) = self.in_flight.get(worker) {
            let started = slot.started_ns.swap(0, Ordering::Relaxed);
            if started > 0 && tasks > 0 {
                let wall = self.nanos_since_epoch().saturating_sub(started - 1);
                self.chunk_wall_ns.fetch_add(wall, Ordering::Relaxed);
                self.chunks.fetch_add(1, Ordering::Relaxed);
            }
        }
        if tasks > 0 {
            if tasks_before == 0 {
                self.warm_workers.fetch_add(1, Ordering::Relaxed);
            }
            self.tasks.fetch_add(tasks, Ordering::Relaxed);
        }
        self.cpu_ns.fetch_add(
            recorder.cpu_ns.saturating_sub(cpu_before),
            Ordering::Relaxed,
        );
    }

    /// What the workers have done so far.
    pub fn read(&self) -> RunProgress {
        let tasks = self.tasks.load(Ordering::Relaxed);
        let chunks = self.chunks.load(Ordering::Relaxed);
        let mean_chunk_ns = self.chunk_wall_ns.load(Ordering::Relaxed) as f64 / chunks as f64;
        let now = self.nanos_since_epoch();
        let mut credit = 0.0;
        if chunks > 0 && mean_chunk_ns > 0.0 {
            for slot in &self.in_flight {
                let started = slot.started_ns.load(Ordering::Relaxed);
                if started > 0 {
                    let share = now.saturating_sub(started - 1) as f64 / mean_chunk_ns;
                    credit += share.min(1.0) * slot.tasks.load(Ordering::Relaxed) as f64;
                }
            }
        }
        RunProgress {
            tasks,
            tasks_credited: tasks as f64 + credit,
            worker_cpu_ns: self.cpu_ns.load(Ordering::Relaxed),
            warm_workers: self.warm_workers.load(Ordering::Relaxed),
        }
    }

    fn nanos_since_epoch(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
}

/// Forgets what the workload's children used before this trial (a warm-up's task that
/// outlived it, an abandoned trial): called as a trial begins.
pub(super) fn forget_children(plan: &TrialPlan<'_>) {
    let _ = plan.workload.take_child_usage();
}

/// Counts the trial's child processes into `run`, once each way: their CPU time is the tasks'
/// own work (so into `worker_cpu_ns`, read as CPU per task: W and C are the child's), and it
/// is CPU the process's own getrusage does not see (so into `child_cpu_ns`, added to the
/// point's utilisation). The launching thread's CPU (starting and reaping the child) stays
/// in both as it was measured. Peak RSS: the largest child's `ru_maxrss`, when one was known
/// (see [`crate::workload::ChildUsage::peak_rss_bytes`]).
pub(super) fn count_children(plan: &TrialPlan<'_>, mut run: TrialRun) -> TrialRun {
    if let Some(children) = plan.workload.take_child_usage() {
        run.worker_cpu_ns += children.cpu_ns;
        run.child_cpu_ns += children.cpu_ns;
        if children.peak_rss_bytes > 0 {
            run.child_peak_rss_bytes = Some(
                run.child_peak_rss_bytes
                    .unwrap_or(0)
                    .max(children.peak_rss_bytes),
            );
        }
    }
    run
}
