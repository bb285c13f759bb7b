//! `shared_state`: each task adds `updates_per_task` to a shared total by one strategy. After
//! every trial the total is checked against tasks × updates; a mismatch fails the point, so a
//! strategy that loses updates cannot pass unnoticed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use crossbeam_utils::CachePadded;

use super::{TaskCtx, Workload};
use crate::spec::SharedStrategy;

/// Updates between two checks of the stop flag: at most a few milliseconds even for the
/// slowest strategy under contention, so a Stop is seen quickly at any `updates_per_task`.
const CHECK_EVERY: u64 = 4096;

/// Messages the collector may be behind. Bounded, so that senders wait for the collector
/// (the trial measures counting, not only sending) and memory cannot grow with the backlog.
const COLLECTOR_QUEUE: usize = 1024;

enum CollectorMessage {
    Add(u64),
    Reset,
    Total(Sender<u64>),
}

/// `shared_state` workload.
pub struct SharedState {
    strategy: SharedStrategy,
    updates_per_task: u64,
    mutex_total: Mutex<u64>,
    atomic_total: AtomicU64,
    /// One slot per worker, written only by that worker: per-thread counting without sharing
    /// a cache line, merged (summed) when the trial ends.
    worker_totals: Vec<CachePadded<AtomicU64>>,
    collector: Option<(Sender<CollectorMessage>, JoinHandle<()>)>,
}

impl SharedState {
    /// Builds the counters; the `channel` strategy also starts its collector thread.
    pub fn new(
        strategy: SharedStrategy,
        updates_per_task: u64,
        workers: usize,
    ) -> Result<SharedState, String> {
        let collector = if strategy == SharedStrategy::Channel {
            let (tx, rx) = crossbeam_channel::bounded(COLLECTOR_QUEUE);
            let handle = std::thread::Builder::new()
                .name("pooltune-collector".into())
                .spawn(move || collect(rx))
                .map_err(|err| format!("could not start the collector thread: {err}"))?;
            Some((tx, handle))
        } else {
            None
        };
        Ok(SharedState {
            strategy,
            updates_per_task,
            mutex_total: Mutex::new(0),
            atomic_total: AtomicU64::new(0),
            worker_totals: (0..workers)
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect(),
            collector,
        })
    }

    fn total(&self) -> Result<u64, String> {
        Ok(match self.strategy {
            SharedStrategy::Mutex => *self
                .mutex_total
                .lock()
                .map_err(|_| "the shared counter's mutex was poisoned".to_owned())?,
            SharedStrategy::Atomic => self.atomic_total.load(Ordering::SeqCst),
            SharedStrategy::ThreadLocal => self
                .worker_totals
                .iter()
                .map(|slot| slot.load(Ordering::SeqCst))
                .sum(),
            SharedStrategy::Channel => {
                let (tx, _) = self
                    .collector
                    .as_ref()
                    .ok_or("the collector thread is missing")?;
                let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
                tx.send(CollectorMessage::Total(reply_tx))
                    .map_err(|_| "the collector thread has stopped")?;
                reply_rx
                    .recv()
                    .map_err(|_| "the collector thread did not answer")?
            }
        })
    }
}

fn collect(messages: Receiver<CollectorMessage>) {
    let mut total = 0u64;
    for message in messages {
        match message {
            CollectorMessage::Add(n) => total += n,
            CollectorMessage::Reset => total = 0,
            CollectorMessage::Total(reply) => {
                let _ = reply.send(total);
            }
        }
    }
}

impl Workload for SharedState {
    fn begin_trial(&self) {
        if let Ok(mut total) = self.mutex_total.lock() {
            *total = 0;
        }
        self.atomic_total.store(0, Ordering::SeqCst);
        for slot in &self.worker_totals {
            slot.store(0, Ordering::SeqCst);
        }
        if let Some((tx, _)) = &self.collector {
            let _ = tx.send(CollectorMessage::Reset);
        }
    }

    fn run_task(&self, ctx: &TaskCtx<'_>) {
        let mut left = self.updates_per_task;
        while left > 0 {
            let block = left.min(CHECK_EVERY);
            self.update(ctx.worker, block);
            left -= block;
            if left > 0 && ctx.stop.interrupted() {
                // Cut short: the pool does not count this task, and the trial fails as stopped.
                return;
            }
        }
    }

    fn end_trial(&self, tasks_run: u64) -> Result<(), String> {
        let expected = tasks_run * self.updates_per_task;
        let total = self.total()?;
        if total != expected {
            return Err(format!(
                "shared_state ({}) counted {total} but {tasks_run} tasks × {} updates = {expected}",
                self.strategy.as_str(),
                self.updates_per_task
            ));
        }
        Ok(())
    }
}

impl SharedState {
    /// Adds `n` to the shared total by this workload's strategy, as worker `worker`.
    fn update(&self, worker: usize, n: u64) {
        match self.strategy {
            SharedStrategy::Mutex => {
                for _ in 0..n {
                    let mut total = match self.mutex_total.lock() {
                        Ok(guard) => guard,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                    *total = std::hint::black_box(*total + 1);
                }
            }
            SharedStrategy::Atomic => {
                for _ in 0..n {
                    std::hint::black_box(self.atomic_total.fetch_add(1, Ordering::Relaxed));
                }
            }
            SharedStrategy::Channel => {
                if let Some((tx, _)) = &self.collector {
                    for _ in 0..n {
                        if tx.send(CollectorMessage::Add(1)).is_err() {
                            panic!("the collector thread has stopped");
                        }
                    }
                }
            }
            SharedStrategy::ThreadLocal => {
                let mut local = 0u64;
                for _ in 0..n {
                    local = std::hint::black_box(local + 1);
                }
                let slot = &self.worker_totals[worker % self.worker_totals.len()];
                // Only this worker writes its slot, so load + store is not a race.
                slot.store(slot.load(Ordering::Relaxed) + local, Ordering::Relaxed);
            }
        }
    }
}

impl Drop for SharedState {
    fn drop(&mut self) {
        if let Some((tx, handle)) = self.collector.take() {
            drop(tx);
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::{CancelToken, TrialStop};

    /// A Stop must end a task within milliseconds however many updates it was asked for
    /// (`updates_per_task` may be 100 million): a stopped task makes only some of them.
    #[test]
    fn a_stopped_task_stops_counting() {
        const UPDATES: u64 = 2_000_000;
        let cancel = CancelToken::new();
        cancel.cancel();
        let stop = TrialStop::new(cancel, None);
        for strategy in SharedStrategy::ALL {
            let workload = SharedState::new(strategy, UPDATES, 1).unwrap();
            workload.begin_trial();
            workload.run_task(&TaskCtx {
                worker: 0,
                task: 0,
                stop: &stop,
            });
            let counted = workload.total().unwrap();
            assert!(
                counted < UPDATES,
                "{strategy:?}: a stopped task still made all {counted} updates"
            );
        }
    }

    /// The trial's clock stops when the last task has sent its updates; with an unbounded
    /// channel the collector could still be counting a backlog of millions (a throughput that
    /// measures only the sending, and memory that grows without bound). A bounded channel
    /// makes senders wait for the collector, so at most `capacity` updates are left over.
    #[test]
    fn the_collector_cannot_fall_behind_by_more_than_its_queue() {
        let workload = SharedState::new(SharedStrategy::Channel, 10, 1).unwrap();
        let (tx, _) = workload.collector.as_ref().unwrap();
        let capacity = tx.capacity();
        assert!(
            capacity.is_some_and(|c| c <= 4096),
            "collector channel capacity {capacity:?}"
        );
    }
}
