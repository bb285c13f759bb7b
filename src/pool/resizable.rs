//! A pool of threads whose size changes while it runs, for the live tuner
//! ([`crate::tune`]): workers take task indices one at a time from a shared counter and
//! record each finished task (its latency, appended to the worker's own list) for the
//! interval being measured. Growing starts workers; shrinking asks the newest workers to
//! retire, which each does between two tasks, after finishing the one it runs (so no task
//! is lost, cut short or run twice: a worker takes an index only when it is about to run it).
//!
//! Each worker has a slot index `0..slots` ([`crate::workload::TaskCtx::worker`]): a slot is
//! reused only once the thread that held it has ended, so at most one task runs per slot.
//! A panicking task stops every worker ([`TrialStop::record_panic`]); the pool never
//! measures throughput itself (the tuner reads the intervals it drains), and it never
//! decides its own size.
//!
//! A drain never waits for a worker and does O(tasks) work: with more threads than CPUs a
//! worker can be preempted while it holds its record's lock, and the tuner's thread gets only
//! its share of the CPUs. With one hdrhistogram per worker merged under `lock()`, a drain took
//! 75 ms at 112 threads and 520 ms at 256 on 2 CPUs (the 100 ms samples stretched to 170 ms
//! and 800 ms); a record that is busy at the drain is taken at the next one instead.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, TryLockError};
use std::thread::JoinHandle;
use std::time::Instant;

use hdrhistogram::Histogram;

use super::{new_histogram, panic_text, record_ns, worker_name};
use crate::cancel::TrialStop;
use crate::workload::{TaskCtx, Workload};

/// What the workers finished since the last [`ResizablePool::drain`].
#[derive(Debug)]
pub struct Interval {
    /// Tasks finished.
    pub completed: u64,
    /// Their latencies (from the task's start to its end), in nanoseconds.
    pub latency_ns: Histogram<u64>,
    /// The sum of their latencies, in nanoseconds (for the mean).
    pub latency_sum_ns: u64,
}

impl Default for Interval {
    fn default() -> Self {
        Interval {
            completed: 0,
            latency_ns: new_histogram(),
            latency_sum_ns: 0,
        }
    }
}

/// What one worker finished since its record was last taken: each task's latency in ns.
#[derive(Debug, Default)]
struct WorkerRecord {
    latencies_ns: Vec<u64>,
}

impl Interval {
    /// Adds the tasks of a worker's record.
    fn absorb(&mut self, latencies_ns: &[u64]) {
        for &ns in latencies_ns {
            self.completed += 1;
            self.latency_sum_ns += ns;
            record_ns(&mut self.latency_ns, ns);
        }
    }

    /// The mean latency in µs; None when no task finished.
    pub fn latency_mean_us(&self) -> Option<f64> {
        (self.completed > 0).then(|| self.latency_sum_ns as f64 / self.completed as f64 / 1e3)
    }

    /// The shortest latency in µs; None when no task finished.
    pub fn latency_min_us(&self) -> Option<f64> {
        (self.completed > 0).then(|| self.latency_ns.min() as f64 / 1e3)
    }

    /// The latency at `quantile` (0..=1) in µs; None when no task finished.
    pub fn latency_quantile_us(&self, quantile: f64) -> Option<f64> {
        (self.completed > 0).then(|| self.latency_ns.value_at_quantile(quantile) as f64 / 1e3)
    }
}

/// One worker thread and what it shares with the pool.
struct Worker {
    slot: usize,
    handle: JoinHandle<()>,
    retire: Arc<AtomicBool>,
    record: Arc<Mutex<WorkerRecord>>,
}

/// What every worker shares.
struct Shared {
    workload: Arc<dyn Workload>,
    stop: Arc<TrialStop>,
    /// The next task index to hand out.
    next_task: AtomicU64,
}

/// A pool of threads that grows and shrinks between tasks (see the module documentation).
pub struct ResizablePool {
    shared: Arc<Shared>,
    slots: usize,
    active: Vec<Worker>,
    /// Workers asked to retire whose thread may still run its last task; their records are
    /// still drained.
    retiring: Vec<Worker>,
    /// What ended workers finished since the last drain.
    ended: Interval,
}

impl ResizablePool {
    /// A pool with no workers yet, for `workload` built for `slots` workers; `stop` ends
    /// every worker (the user's Stop, or a task that panicked).
    pub fn new(workload: Arc<dyn Workload>, slots: usize, stop: Arc<TrialStop>) -> ResizablePool {
        ResizablePool {
            shared: Arc::new(Shared {
                workload,
                stop,
                next_task: AtomicU64::new(0),
            }),
            slots: slots.max(1),
            active: Vec::new(),
            retiring: Vec::new(),
            ended: Interval::default(),
        }
    }

    /// Workers running (not asked to retire).
    pub fn threads(&self) -> usize {
        self.active.len()
    }

    /// The most workers the pool runs at once (its workload's slots).
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Task indices handed out so far (each to exactly one worker).
    pub fn tasks_started(&self) -> u64 {
        self.shared.next_task.load(Ordering::Acquire)
    }

    /// Grows or shrinks to `threads` workers (at most [`ResizablePool::slots`]). Growing may
    /// wait for a retiring worker's last task when every free slot is still held by one.
    pub fn resize(&mut self, threads: usize) -> Result<(), String> {
        let threads = threads.min(self.slots);
        self.reap(false);
        while self.active.len() > threads {
            if let Some(worker) = self.active.pop() {
                worker.retire.store(true, Ordering::Release);
                self.retiring.push(worker);
            }
        }
        while self.active.len() < threads {
            let slot = match self.free_slot() {
                Some(slot) => slot,
                None => {
                    // Every free slot is held by a retiring thread: wait for them.
                    self.reap(true);
                    self.free_slot()
                        .ok_or_else(|| "the resizable pool ran out of worker slots".to_owned())?
                }
            };
            let worker = self.start(slot)?;
            self.active.push(worker);
        }
        Ok(())
    }

    fn free_slot(&self) -> Option<usize> {
        let mut used = vec![false; self.slots];
        for worker in self.active.iter().chain(&self.retiring) {
            used[worker.slot] = true;
        }
        used.iter().position(|used| !used)
    }

    fn start(&self, slot: usize) -> Result<Worker, String> {
        let retire = Arc::new(AtomicBool::new(false));
        let record = Arc::new(Mutex::new(WorkerRecord::default()));
        let (shared, their_retire, their_record) =
            (self.shared.clone(), retire.clone(), record.clone());
        let handle = crate::engine::named_thread(&worker_name(slot), move || {
            worker_loop(slot, &shared, &their_retire, &their_record);
        })
        .map_err(|err| {
            format!(
                "could not start worker {slot} of a resizable pool of {}: {err}",
                crate::words::counted_usize(self.slots, "slot", "slots")
            )
        })?;
        Ok(Worker {
            slot,
            handle,
            retire,
            record,
        })
    }

    /// Joins retired workers whose thread ended (every one when `wait`), keeping what they
    /// finished for the next drain.
    fn reap(&mut self, wait: bool) {
        let mut still = Vec::with_capacity(self.retiring.len());
        for worker in self.retiring.drain(..) {
            if wait || worker.handle.is_finished() {
                let _ = worker.handle.join();
                let record = worker.record.lock().unwrap_or_else(PoisonError::into_inner);
                self.ended.absorb(&record.latencies_ns);
            } else {
                still.push(worker);
            }
        }
        self.retiring = still;
    }

    /// What the workers finished since the last drain, merged; the records taken start again
    /// empty. A record its worker is writing at that moment is left for the next drain.
    pub fn drain(&mut self) -> Interval {
        self.reap(false);
        let mut taken = Vec::with_capacity(self.active.len() + self.retiring.len());
        for worker in self.active.iter().chain(&self.retiring) {
            let mut record = match worker.record.try_lock() {
                Ok(record) => record,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                // The worker is writing its record: its tasks go to the next drain.
                Err(TryLockError::WouldBlock) => continue,
            };
            taken.push(std::mem::take(&mut record.latencies_ns));
        }
        let mut total = std::mem::take(&mut self.ended);
        for latencies_ns in &taken {
            total.absorb(latencies_ns);
        }
        total
    }

    /// Asks every worker to stop after its current task, waits for them, and returns what
    /// they finished since the last drain.
    pub fn shut_down(&mut self) -> Interval {
        for worker in &self.active {
            worker.retire.store(true, Ordering::Release);
        }
        self.retiring.append(&mut self.active);
        self.reap(true);
        std::mem::take(&mut self.ended)
    }
}

impl Drop for ResizablePool {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

fn worker_loop(slot: usize, shared: &Shared, retire: &AtomicBool, record: &Mutex<WorkerRecord>) {
    let workload = &*shared.workload;
    let stop = &*shared.stop;
    // Retiring and stopping are read between tasks, before an index is taken: an index
    // taken is always run.
    while !retire.load(Ordering::Acquire) && !stop.interrupted() {
        let task = shared.next_task.fetch_add(1, Ordering::AcqRel);
        let started = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| {
            workload.run_task(&TaskCtx {
                worker: slot,
                task,
                stop,
            });
        }));
        if let Err(payload) = result {
            stop.record_panic(panic_text(&*payload));
            return;
        }
        if stop.interrupted() {
            // A task cut short by a Stop is not a finished task.
            return;
        }
        let ns = started.elapsed().as_nanos() as u64;
        let mut record = record.lock().unwrap_or_else(PoisonError::into_inner);
        record.latencies_ns.push(ns.max(1));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use super::*;
    use crate::cancel::CancelToken;

    /// Counts how often each task index ran, and checks one task per slot at a time.
    struct Tally {
        runs: Mutex<HashMap<u64, u32>>,
        busy: Vec<AtomicBool>,
        overlaps: AtomicU64,
        panic_at: Option<u64>,
    }

    impl Tally {
        fn new(slots: usize, panic_at: Option<u64>) -> Tally {
            Tally {
                runs: Mutex::new(HashMap::new()),
                busy: (0..slots).map(|_| AtomicBool::new(false)).collect(),
                overlaps: AtomicU64::new(0),
                panic_at,
            }
        }
    }

    impl Workload for Tally {
        fn run_task(&self, ctx: &TaskCtx<'_>) {
            if self.busy[ctx.worker].swap(true, Ordering::AcqRel) {
                self.overlaps.fetch_add(1, Ordering::Relaxed);
            }
            assert!(self.panic_at != Some(ctx.task), "task {} failed", ctx.task);
            std::thread::sleep(Duration::from_micros(300));
            *self
                .runs
                .lock()
                .expect("tally lock")
                .entry(ctx.task)
                .or_default() += 1;
            self.busy[ctx.worker].store(false, Ordering::Release);
        }
    }

    #[test]
    fn grows_and_shrinks_without_losing_or_repeating_a_task() {
        let tally = Arc::new(Tally::new(16, None));
        let stop = Arc::new(TrialStop::new(CancelToken::new(), None));
        let mut pool = ResizablePool::new(tally.clone(), 16, stop);
        let mut finished = 0;
        for threads in [1, 4, 16, 2, 9, 1, 16, 0, 5, 3] {
            pool.resize(threads).expect("resize");
            assert_eq!(pool.threads(), threads);
            std::thread::sleep(Duration::from_millis(15));
            finished += pool.drain().completed;
        }
        finished += pool.shut_down().completed;
        let runs = tally.runs.lock().expect("tally lock");
        let started = pool.tasks_started();
        assert!(started > 50, "only {started} tasks ran");
        assert_eq!(
            finished, started,
            "finished tasks and handed-out indices differ"
        );
        assert_eq!(runs.len() as u64, started, "some index never ran");
        assert!(runs.values().all(|&n| n == 1), "an index ran twice");
        assert!((0..started).all(|task| runs.contains_key(&task)));
        assert_eq!(
            tally.overlaps.load(Ordering::Relaxed),
            0,
            "two tasks on one slot"
        );
    }

    #[test]
    fn a_panicking_task_stops_every_worker_with_its_message() {
        let tally = Arc::new(Tally::new(4, Some(20)));
        let stop = Arc::new(TrialStop::new(CancelToken::new(), None));
        let mut pool = ResizablePool::new(tally, 4, stop.clone());
        pool.resize(4).expect("resize");
        let waited = Instant::now();
        while !stop.interrupted() && waited.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = pool.shut_down();
        assert_eq!(stop.panic_message().as_deref(), Some("task 20 failed"));
    }

    #[test]
    fn a_drain_never_waits_for_a_busy_record_and_takes_it_next_time() {
        let tally = Arc::new(Tally::new(2, None));
        let stop = Arc::new(TrialStop::new(CancelToken::new(), None));
        let mut pool = ResizablePool::new(tally, 2, stop);
        pool.resize(2).expect("resize");
        std::thread::sleep(Duration::from_millis(20));
        // Hold worker 0's record, as a worker preempted while writing it would.
        let record = pool.active[0].record.clone();
        let guard = record.lock().expect("record lock");
        let held = guard.latencies_ns.len() as u64;
        assert!(held > 0, "worker 0 finished no task in 20 ms");
        let (sent, drained) = std::sync::mpsc::channel();
        let mut first = 0;
        std::thread::scope(|scope| {
            let pool = &mut pool;
            scope.spawn(move || {
                let _ = sent.send(pool.drain().completed);
            });
            let answer = drained.recv_timeout(Duration::from_secs(5));
            drop(guard); // lets a waiting drain end, so that a failure fails, not hangs
            first = answer.expect("the drain waited for a record a worker held");
        });
        let mut finished = first + pool.drain().completed;
        finished += pool.shut_down().completed;
        assert_eq!(
            finished,
            pool.tasks_started(),
            "a task was lost or counted twice"
        );
        assert!(
            finished >= first + held,
            "the held record was not taken later"
        );
    }

    #[test]
    fn never_runs_more_workers_than_slots() {
        let tally = Arc::new(Tally::new(3, None));
        let stop = Arc::new(TrialStop::new(CancelToken::new(), None));
        let mut pool = ResizablePool::new(tally.clone(), 3, stop);
        pool.resize(10).expect("resize");
        assert_eq!(pool.threads(), 3);
        pool.resize(1).expect("resize");
        pool.resize(3).expect("resize");
        std::thread::sleep(Duration::from_millis(10));
        let _ = pool.shut_down();
        assert_eq!(tally.overlaps.load(Ordering::Relaxed), 0);
    }
}
