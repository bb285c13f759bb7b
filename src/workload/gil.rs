//! `gil`: a simulated interpreter lock, after CPython's "new GIL" (3.2+). A task may compute
//! only while it holds one global lock. A holder that has held it for `switch_interval_us`
//! while another thread waits gives it up and does not take it back until another thread has
//! had it (CPython's forced switching); blocking waits are done without the lock. So CPU-bound
//! tasks cannot run in parallel, while tasks that mostly wait can.
//!
//! Simplification: in CPython the waiting thread's timed wait sets the drop request; here the
//! holder checks the clock between slices. The effect on throughput is the same.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::compute::{Spinner, blocking_wait};
use super::{TaskCtx, Workload};

/// Longest wait on the condition variable before the stop flag is checked again.
const WAIT_SLICE: Duration = Duration::from_millis(20);

/// Computation between two checks for a switch request, in microseconds.
const SLICE_US: f64 = 50.0;

#[derive(Debug, Default)]
struct LockState {
    held: bool,
    /// Incremented on every acquisition, so a dropper can tell that someone else took it.
    acquisitions: u64,
}

/// The simulated interpreter lock.
#[derive(Debug, Default)]
pub struct Gil {
    state: Mutex<LockState>,
    changed: Condvar,
    waiting: AtomicUsize,
}

impl Gil {
    fn state(&self) -> MutexGuard<'_, LockState> {
        match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Takes the lock, waiting as long as another thread holds it. Returns false (without the
    /// lock) when `give_up` says so while waiting.
    fn acquire(&self, give_up: impl Fn() -> bool) -> bool {
        let mut state = self.state();
        self.waiting.fetch_add(1, Ordering::Relaxed);
        while state.held {
            if give_up() {
                self.waiting.fetch_sub(1, Ordering::Relaxed);
                return false;
            }
            state = match self.changed.wait_timeout(state, WAIT_SLICE) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        state.held = true;
        state.acquisitions += 1;
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

    /// Threads waiting for the lock now.
    fn has_waiters(&self) -> bool {
        self.waiting.load(Ordering::Relaxed) > 0
    }

    /// Number of times the lock was taken (for tests).
    #[cfg(test)]
    pub fn acquisitions(&self) -> u64 {
        self.state().acquisitions
    }
}

/// `gil` workload.
pub struct SimulatedGil {
    spinner: Spinner,
    compute_us: u64,
    wait_us: u64,
    switch_interval: Duration,
    gil: Gil,
}

impl SimulatedGil {
    /// A workload whose computation runs under one simulated interpreter lock.
    pub fn new(spinner: Spinner, compute_us: u64, wait_us: u64, switch_interval_us: u64) -> Self {
        SimulatedGil {
            spinner,
            compute_us,
            wait_us,
            switch_interval: Duration::from_micros(switch_interval_us),
            gil: Gil::default(),
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
        let mut held_since = Instant::now();
        let mut left_us = self.compute_us as f64;
        let mut seed = ctx.task;
        while left_us > 0.0 {
            let slice = left_us.min(SLICE_US);
            seed = self.spinner.compute_us(slice, seed, stop);
            left_us -= slice;
            if stop.interrupted() {
                break;
            }
            if left_us > 0.0
                && held_since.elapsed() >= self.switch_interval
                && self.gil.has_waiters()
            {
                self.gil.switch(give_up);
                if !self.gil.acquire(give_up) {
                    return;
                }
                held_since = Instant::now();
            }
        }
        self.gil.release();
        // I/O releases the GIL in CPython; so does this wait.
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
        let gil = Arc::new(Gil::default());
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
}
