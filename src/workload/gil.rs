//! `gil`: a simulated interpreter lock, after CPython's "new GIL" (3.2+, `Python/ceval_gil.h`).
//! A task may compute only while it holds one global lock; blocking waits are done without it.
//! So CPU-bound tasks cannot run in parallel, while tasks that mostly wait can.
//!
//! Switching follows CPython: a thread that wants the lock waits; once it has waited one
//! switch interval (`sys.getswitchinterval()`, 5 ms by default) without the lock changing
//! hands, the holder must drop it at its next check (every 50 µs of computing, and when its
//! computation ends), and then waits until another thread has taken it before it may ask for
//! it again (FORCE_SWITCHING). The interval is timed from the waiter's arrival, or from the
//! last hand-over, and keeps running while the same thread takes the lock task after task:
//! in CPython a worker thread does not give the lock up between two tasks, so a holder's
//! short tasks cannot keep a waiter out.
//!
//! Simplifications: in CPython the waiter's timed wait sets the drop request; here the holder
//! compares the longest wait with the interval at each check (the same moment, without waking
//! waiters every interval). The lock is released at the end of each task, as it must be for a
//! worker that may go idle, so a waiter can also get it at a task boundary before its interval
//! is up. The lock is never held while waiting for the pool, so it cannot deadlock a trial.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use super::compute::{Spinner, blocking_wait};
use super::{TaskCtx, Workload};

/// Longest wait on the condition variable before the stop flag is checked again.
const WAIT_SLICE: Duration = Duration::from_millis(20);

/// Computation between two checks for a drop request, in microseconds.
const SLICE_US: f64 = 50.0;

#[derive(Debug, Default)]
struct LockState {
    held: bool,
    /// Incremented on every acquisition, so a dropper can tell that someone else took it.
    acquisitions: u64,
    /// The thread that took the lock last (CPython's `last_holder`): taking it back yourself
    /// is not a hand-over.
    last_holder: Option<ThreadId>,
    /// Since when a thread has waited without the lock changing hands; None without waiters.
    waiting_since: Option<Instant>,
    /// Who waited and who took the lock, in order (for tests).
    #[cfg(test)]
    log: Vec<(ThreadId, Event)>,
}

/// What a thread did with the lock (for tests).
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Found the lock held and began to wait.
    Wait,
    /// Took the lock.
    Acquire,
}

/// The simulated interpreter lock.
#[derive(Debug)]
pub struct Gil {
    state: Mutex<LockState>,
    changed: Condvar,
    /// Threads waiting in [`Gil::acquire`]; changed only with `state` locked, read without.
    waiting: AtomicUsize,
    /// How long a thread waits before the holder must give the lock up.
    switch_interval: Duration,
}

impl Gil {
    /// A free lock with this switch interval.
    pub fn new(switch_interval: Duration) -> Gil {
        Gil {
            state: Mutex::default(),
            changed: Condvar::new(),
            waiting: AtomicUsize::new(0),
            switch_interval,
        }
    }

    fn state(&self) -> MutexGuard<'_, LockState> {
        match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Takes the lock, waiting as long as another thread holds it. Returns false (without the
    /// lock) when `give_up` says so while waiting.
    fn acquire(&self, give_up: impl Fn() -> bool) -> bool {
        let me = std::thread::current().id();
        let mut state = self.state();
        if state.held {
            self.waiting.fetch_add(1, Ordering::Relaxed);
            if state.waiting_since.is_none() {
                state.waiting_since = Some(Instant::now());
            }
            #[cfg(test)]
            state.log.push((me, Event::Wait));
            while state.held {
                if give_up() {
                    if self.waiting.fetch_sub(1, Ordering::Relaxed) == 1 {
                        state.waiting_since = None;
                    }
                    return false;
                }
                state = match self.changed.wait_timeout(state, WAIT_SLICE) {
                    Ok((guard, _)) => guard,
                    Err(poisoned) => poisoned.into_inner().0,
                };
            }
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        }
        state.held = true;
        state.acquisitions += 1;
        if state.last_holder != Some(me) {
            // A hand-over: whoever still waits times a new interval from now.
            state.last_holder = Some(me);
            state.waiting_since = None;
        }
        if self.waiting.load(Ordering::Relaxed) == 0 {
            state.waiting_since = None;
        } else if state.waiting_since.is_none() {
            state.waiting_since = Some(Instant::now());
        }
        #[cfg(test)]
        state.log.push((me, Event::Acquire));
        drop(state);
        self.changed.notify_all();
        true
    }

    fn release(&self) -> u64 {
        let mut state = self.state();
        state.held = false;
        let acquisitions = state.acquisitions;
        drop(state);
        self.changed.notify_all();
        acquisitions
    }

    /// Gives the lock up and waits until another thread has taken it (or nobody wants it).
    fn switch(&self, give_up: impl Fn() -> bool) {
        let released_at = self.release();
        let mut state = self.state();
        while state.acquisitions == released_at
            && self.waiting.load(Ordering::Relaxed) > 0
            && !give_up()
        {
            state = match self.changed.wait_timeout(state, WAIT_SLICE) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// True when a thread has waited a whole switch interval without the lock changing
    /// hands: the holder must give it up now (CPython's drop request).
    fn drop_requested(&self) -> bool {
        if self.waiting.load(Ordering::Relaxed) == 0 {
            return false;
        }
        self.state()
            .waiting_since
            .is_some_and(|since| since.elapsed() >= self.switch_interval)
    }

    /// Gives the lock up after computing: a forced switch when a drop was requested, a plain
    /// release otherwise.
    fn drop_after_computing(&self, give_up: impl Fn() -> bool) {
        if self.drop_requested() {
            self.switch(give_up);
        } else {
            self.release();
        }
    }

    /// Number of times the lock was taken (for tests).
    #[cfg(test)]
    pub fn acquisitions(&self) -> u64 {
        self.state().acquisitions
    }

    /// Who waited and who took the lock, in order (for tests).
    #[cfg(test)]
    pub fn log(&self) -> Vec<(ThreadId, Event)> {
        self.state().log.clone()
    }
}

/// `gil` workload.
pub struct SimulatedGil {
    spinner: Spinner,
    compute_us: u64,
    wait_us: u64,
    gil: Gil,
}

impl SimulatedGil {
    /// A workload whose computation runs under one simulated interpreter lock.
    pub fn new(spinner: Spinner, compute_us: u64, wait_us: u64, switch_interval_us: u64) -> Self {
        SimulatedGil {
            spinner,
            compute_us,
            wait_us,
            gil: Gil::new(Duration::from_micros(switch_interval_us)),
        }
    }

    /// The lock itself (for tests).
    #[cfg(test)]
    pub fn gil(&self) -> &Gil {
        &self.gil
    }
}

impl Workload for SimulatedGil {
    fn run_task(&self, ctx: &TaskCtx<'_>) {
        let stop = ctx.stop;
        let give_up = || stop.interrupted();
        if !self.gil.acquire(give_up) {
            return;
        }
        let mut left_us = self.compute_us as f64;
        let mut seed = ctx.task;
        while left_us > 0.0 {
            let slice = left_us.min(SLICE_US);
            seed = self.spinner.compute_us(slice, seed, stop);
            left_us -= slice;
            if stop.interrupted() {
                break;
            }
            if left_us > 0.0 && self.gil.drop_requested() {
                self.gil.switch(give_up);
                if !self.gil.acquire(give_up) {
                    return;
                }
            }
        }
        // Dropping the lock for I/O (or at the end of the task) honours a pending drop
        // request like any other check, as CPython's drop_gil does.
        self.gil.drop_after_computing(give_up);
        blocking_wait(self.wait_us, stop);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::{CancelToken, TrialStop};
    use crate::workload::calibrate;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    /// Two threads computing under the lock never compute at the same time: a flag set while
    /// computing is never seen set by the other.
    #[test]
    fn only_one_holder_at_a_time_and_holders_switch() {
        let gil = Arc::new(Gil::new(Duration::from_millis(5)));
        let inside = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(TrialStop::new(CancelToken::new(), None));
        let mut handles = Vec::new();
        for i in 0..3 {
            let (gil, inside, stop) = (gil.clone(), inside.clone(), stop.clone());
            handles.push(
                std::thread::Builder::new()
                    .name(format!("gil-test-{i}"))
                    .spawn(move || {
                        for _ in 0..200 {
                            assert!(gil.acquire(|| stop.interrupted()));
                            assert!(!inside.swap(true, Ordering::SeqCst), "two holders at once");
                            std::hint::black_box(crate::workload::compute::spin(1000, 3));
                            inside.store(false, Ordering::SeqCst);
                            gil.switch(|| stop.interrupted());
                        }
                    })
                    .unwrap(),
            );
        }
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(gil.acquisitions(), 600);
    }

    #[test]
    fn a_lone_task_runs_without_waiting_for_a_switch() {
        let workload = SimulatedGil::new(Spinner::new(&calibrate()), 20_000, 0, 1000);
        let stop = TrialStop::new(CancelToken::new(), None);
        workload.run_task(&TaskCtx {
            worker: 0,
            task: 0,
            stop: &stop,
        });
        // Held once: nobody waited, so no switch happened.
        assert_eq!(workload.gil().acquisitions(), 1);
    }

    /// CPython's forced switching (Python/ceval_gil.h, FORCE_SWITCHING): once a thread has
    /// waited one switch interval without the lock changing hands, the holder gives the lock
    /// up at its next check and cannot take it back before the waiter has had it. That holds
    /// across a pool worker's task boundaries too: in CPython a thread running task after task
    /// never gives the lock up between them, so the interval keeps running.
    #[test]
    fn a_waiter_gets_the_lock_at_the_first_check_after_one_interval() {
        // Interval 1 µs: any wait is a full interval. Tasks of 40 µs are one slice each, so
        // the only place the holder checks is the end of its task.
        let workload = Arc::new(SimulatedGil::new(Spinner::new(&calibrate()), 40, 0, 1));
        let stop = Arc::new(TrialStop::new(CancelToken::new(), None));
        let waiter_done = Arc::new(AtomicBool::new(false));
        let holder = {
            let (workload, stop, waiter_done) =
                (workload.clone(), stop.clone(), waiter_done.clone());
            std::thread::Builder::new()
                .name("pooltune-test-holder".into())
                .spawn(move || {
                    let mut task = 0;
                    while !waiter_done.load(Ordering::SeqCst) {
                        workload.run_task(&TaskCtx {
                            worker: 0,
                            task,
                            stop: &stop,
                        });
                        task += 1;
                    }
                })
                .unwrap()
        };
        while workload.gil().acquisitions() < 3 {
            std::thread::yield_now();
        }
        // Take turns until this thread has had to queue behind the holder a few times (on a
        // busy machine the holder may be off the CPU for many of our turns).
        let me = std::thread::current().id();
        let waits = || {
            workload
                .gil()
                .log()
                .iter()
                .filter(|&&(thread, event)| thread == me && event == Event::Wait)
                .count()
        };
        let mut round = 0;
        while waits() < 5 {
            workload.run_task(&TaskCtx {
                worker: 1,
                task: 1_000_000 + round,
                stop: &stop,
            });
            round += 1;
            assert!(round < 1_000_000, "the holder never held the lock");
        }
        waiter_done.store(true, Ordering::SeqCst);
        holder.join().unwrap();
        let log = workload.gil().log();
        // While this thread waits, the holder may finish the task it is in (within 1 µs of
        // the wait starting, it does not yet owe a switch) and take the lock for one more
        // task; at the end of that one it must hand over.
        let mut checked_waits = 0;
        let mut holder_takes_while_waiting: Option<usize> = None;
        for &(thread, event) in &log {
            match (thread == me, event) {
                (true, Event::Wait) => {
                    checked_waits += 1;
                    holder_takes_while_waiting = Some(0);
                }
                (true, Event::Acquire) => holder_takes_while_waiting = None,
                (false, Event::Acquire) => {
                    if let Some(takes) = &mut holder_takes_while_waiting {
                        *takes += 1;
                        assert!(
                            *takes <= 1,
                            "the holder took the lock {takes} times while a thread waited longer than the switch interval"
                        );
                    }
                }
                (false, Event::Wait) => {}
            }
        }
        assert!(checked_waits >= 5, "{checked_waits} waits checked");
    }
}
