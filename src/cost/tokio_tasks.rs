//! Idle tokio tasks for the worker-cost experiment: the coroutine row beside the thread rows.
//! N tasks are spawned one at a time on a current-thread runtime (one thread, built before the
//! first reading, so no worker thread's stack is counted), each timed from its `spawn` call to
//! its first poll, each then parked on one shared `Notify`; the growth of this process's RSS
//! and VmSize over N is what N idle tasks cost. Then the tasks are woken and waited for, and
//! that stop is timed.
//!
//! What a task costs is its heap cell: tokio's task header, the scheduler's handle and the
//! future's state (here a few words and a `Notified`). It must never start a thread of its own
//! besides the runtime's, and never leave a task alive after [`IdleTasks::measure_and_stop`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::Notify;

use super::procfs::{Pid, status_bytes};
use super::{WorkerCost, percentile};

/// What the tasks share: the wake-up they wait for and what they report.
struct Shared {
    /// Every task waits on this; `notify_waiters` ends them all.
    stop: Notify,
    /// Tasks that have finished.
    ended: AtomicUsize,
    /// Each task's start time, in nanoseconds since `base`, written by its first poll.
    first_poll_ns: Vec<AtomicU64>,
    base: Instant,
}

/// N idle tokio tasks on their own current-thread runtime, alive until
/// [`IdleTasks::measure_and_stop`].
pub struct IdleTasks {
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<Shared>,
    /// Tasks spawned.
    started: usize,
    start_latencies_us: Vec<f64>,
    rss_before: u64,
    virtual_before: u64,
    error: Option<String>,
}

impl IdleTasks {
    /// Builds the runtime and every buffer first (touched, so already resident), reads RSS
    /// and VmSize, then spawns `count` tasks one at a time: after each spawn the spawner
    /// yields until the new task has run once, as the thread rows wait for each thread.
    pub fn start(count: usize) -> IdleTasks {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build();
        // Writing each slot makes its page resident before the first reading.
        let first_poll_ns: Vec<AtomicU64> = (0..count).map(|_| AtomicU64::new(u64::MAX)).collect();
        let shared = Arc::new(Shared {
            stop: Notify::new(),
            ended: AtomicUsize::new(0),
            first_poll_ns,
            base: Instant::now(),
        });
        let mut idle = IdleTasks {
            runtime: None,
            shared,
            started: 0,
            start_latencies_us: vec![0.0; count],
            rss_before: 0,
            virtual_before: 0,
            error: None,
        };
        let runtime = match runtime {
            Ok(runtime) => runtime,
            Err(err) => {
                idle.error = Some(format!("could not build a tokio runtime: {err}"));
                return idle;
            }
        };
        // A first task and a yield warm the scheduler's own buffers up before the readings.
        runtime.block_on(async {
            let warm = tokio::spawn(async {});
            let _ = warm.await;
        });
        idle.rss_before = status_bytes(Pid::This, "VmRSS:").unwrap_or(0);
        idle.virtual_before = status_bytes(Pid::This, "VmSize:").unwrap_or(0);
        let shared = idle.shared.clone();
        let latencies = &mut idle.start_latencies_us;
        let started = runtime.block_on(async move {
            for index in 0..count {
                let task_shared = shared.clone();
                let requested_ns = shared.base.elapsed().as_nanos() as u64;
                // The JoinHandle is dropped: the task is detached and counted in `ended`.
                drop(tokio::spawn(idle_task(task_shared, index)));
                while shared.first_poll_ns[index].load(Ordering::Acquire) == u64::MAX {
                    tokio::task::yield_now().await;
                }
                let first = shared.first_poll_ns[index].load(Ordering::Acquire);
                latencies[index] = first.saturating_sub(requested_ns) as f64 / 1000.0;
            }
            count
        });
        idle.started = started;
        idle.runtime = Some(runtime);
        idle
    }

    /// Tasks started so far.
    pub fn count(&self) -> usize {
        self.started
    }

    /// Reads RSS and VmSize with every task alive, wakes them all and waits for each to end
    /// (timed), drops the runtime, and returns the cost.
    pub fn measure_and_stop(mut self) -> WorkerCost {
        let rss_after = status_bytes(Pid::This, "VmRSS:").unwrap_or(0);
        let virtual_after = status_bytes(Pid::This, "VmSize:").unwrap_or(0);
        let workers = self.started;
        let stop_ms = self.stop();
        let (rss, virtual_bytes, unreliable) = if workers == 0 {
            (f64::NAN, f64::NAN, Some("no task started".to_owned()))
        } else if rss_after <= self.rss_before {
            (
                f64::NAN,
                f64::NAN,
                Some(format!(
                    "this process's resident memory did not grow ({} KiB before, {} KiB after): too few tasks to show above a page, or memory freed meanwhile hid the tasks' own",
                    self.rss_before / 1024,
                    rss_after / 1024
                )),
            )
        } else {
            (
                (rss_after - self.rss_before) as f64 / workers as f64,
                (virtual_after as f64 - self.virtual_before as f64) / workers as f64,
                None,
            )
        };
        let mut latencies = std::mem::take(&mut self.start_latencies_us);
        latencies.truncate(workers);
        latencies.sort_by(f64::total_cmp);
        WorkerCost {
            workers,
            start_method: None,
            start_latency_p50_us: percentile(&latencies, 0.50),
            start_latency_p99_us: percentile(&latencies, 0.99),
            rss_per_worker_bytes: rss,
            pss_per_worker_bytes: None,
            virtual_per_worker_bytes: virtual_bytes,
            stop_ms,
            stacks_reused: None,
            memory_unreliable: unreliable,
            error: self.error.take(),
        }
    }

    /// Wakes every task and runs the runtime until all have ended; milliseconds taken.
    fn stop(&mut self) -> f64 {
        let started = Instant::now();
        if let Some(runtime) = self.runtime.take() {
            let shared = self.shared.clone();
            let count = self.started;
            runtime.block_on(async move {
                shared.stop.notify_waiters();
                while shared.ended.load(Ordering::Acquire) < count {
                    tokio::task::yield_now().await;
                }
            });
            drop(runtime);
        }
        started.elapsed().as_secs_f64() * 1000.0
    }
}

impl Drop for IdleTasks {
    fn drop(&mut self) {
        if self.runtime.is_some() {
            self.stop();
        }
    }
}

/// The body of an idle task: say when it first ran, then wait to be told to stop.
async fn idle_task(shared: Arc<Shared>, index: usize) {
    // Registered before the first poll returns, so a `notify_waiters` after it reaches it.
    let stopped = shared.stop.notified();
    tokio::pin!(stopped);
    stopped.as_mut().enable();
    let now_ns = shared.base.elapsed().as_nanos() as u64;
    shared.first_poll_ns[index].store(now_ns, Ordering::Release);
    stopped.await;
    shared.ended.fetch_add(1, Ordering::AcqRel);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_starts_and_ends() {
        let idle = IdleTasks::start(500);
        assert_eq!(idle.count(), 500);
        let shared = idle.shared.clone();
        let cost = idle.measure_and_stop();
        assert_eq!(cost.workers, 500);
        assert_eq!(shared.ended.load(Ordering::Acquire), 500);
        assert!(cost.error.is_none(), "{cost:?}");
        assert!(cost.start_latency_p50_us >= 0.0, "{cost:?}");
        assert!(cost.start_latency_p99_us >= cost.start_latency_p50_us);
        assert!(cost.stop_ms.is_finite());
    }
}
