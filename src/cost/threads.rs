//! Idle threads for the worker-cost experiment: started one at a time (each timed from the
//! spawn call to its first instruction), kept blocked on a condition variable, then stopped
//! and joined. The idle thread's own code allocates nothing, so what it costs is the thread as
//! Rust starts it: its stack and guard page, its signal stack, its kernel task, and on glibc
//! the malloc arena that std's first allocation on the new thread creates (64 MiB reserved,
//! for each of the first 8 × cores threads; `MALLOC_ARENA_MAX` bounds that).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::procfs::{Pid, status_bytes};
use super::{WorkerCost, percentile};

/// Longest wait for one thread to start.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Rust's default stack for a spawned thread: 2 MiB unless `RUST_MIN_STACK` says otherwise
/// (std::thread's documented default).
pub fn default_stack_bytes() -> u64 {
    std::env::var("RUST_MIN_STACK")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(2 << 20)
}

#[derive(Default)]
struct State {
    started: usize,
    /// When the last thread started, in nanoseconds since `Shared::base`.
    last_start_ns: u64,
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    started: Condvar,
    stop: Condvar,
    base: Instant,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// N idle threads, alive until [`IdleThreads::stop`] or drop.
pub struct IdleThreads {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
    start_latencies_us: Vec<f64>,
    rss_before: u64,
    virtual_before: u64,
    error: Option<String>,
}

impl IdleThreads {
    /// Starts `count` threads of `stack_bytes` stack each (None: Rust's default), one after
    /// the other, each waited for before the next. Reads this process's RSS and VmSize just
    /// before the first. A thread that cannot be created ends the start early; the error is
    /// kept for the result.
    pub fn start(count: usize, stack_bytes: Option<u64>) -> IdleThreads {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            started: Condvar::new(),
            stop: Condvar::new(),
            base: Instant::now(),
        });
        let mut idle = IdleThreads {
            shared,
            handles: Vec::with_capacity(count),
            start_latencies_us: Vec::with_capacity(count),
            rss_before: 0,
            virtual_before: 0,
            error: None,
        };
        idle.rss_before = status_bytes(Pid::This, "VmRSS:").unwrap_or(0);
        idle.virtual_before = status_bytes(Pid::This, "VmSize:").unwrap_or(0);
        for index in 0..count {
            if let Err(message) = idle.start_one(index, stack_bytes) {
                idle.error = Some(format!(
                    "thread {} of {count} could not start: {message}",
                    index + 1
                ));
                break;
            }
        }
        idle
    }

    fn start_one(&mut self, index: usize, stack_bytes: Option<u64>) -> Result<(), String> {
        let mut builder = std::thread::Builder::new().name(format!("pooltune-idle-{index}"));
        if let Some(bytes) = stack_bytes {
            builder = builder.stack_size(usize::try_from(bytes).map_err(|e| e.to_string())?);
        }
        let shared = self.shared.clone();
        let requested_ns = shared.base.elapsed().as_nanos() as u64;
        let handle = builder
            .spawn(move || idle_thread(&shared))
            .map_err(|err| err.to_string())?;
        self.handles.push(handle);
        let shared = &*self.shared;
        let mut state = shared.lock();
        let deadline = Instant::now() + START_TIMEOUT;
        while state.started <= index {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "it did not run within {} s",
                    START_TIMEOUT.as_secs()
                ));
            }
            state = match shared.started.wait_timeout(state, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        let latency_ns = state.last_start_ns.saturating_sub(requested_ns);
        self.start_latencies_us.push(latency_ns as f64 / 1000.0);
        Ok(())
    }

    /// Threads started so far.
    pub fn count(&self) -> usize {
        self.handles.len()
    }

    /// Measures the live threads against the readings taken before the first started, stops
    /// them (timing the stop), and returns the cost.
    pub fn measure_and_stop(mut self) -> WorkerCost {
        let rss_after = status_bytes(Pid::This, "VmRSS:").unwrap_or(0);
        let virtual_after = status_bytes(Pid::This, "VmSize:").unwrap_or(0);
        let workers = self.count();
        let stop_ms = self.stop();
        let per_worker = |after: u64, before: u64| {
            if workers == 0 {
                f64::NAN
            } else {
                (after as f64 - before as f64) / workers as f64
            }
        };
        let mut latencies = std::mem::take(&mut self.start_latencies_us);
        latencies.sort_by(f64::total_cmp);
        WorkerCost {
            workers,
            start_method: None,
            start_latency_p50_us: percentile(&latencies, 0.50),
            start_latency_p99_us: percentile(&latencies, 0.99),
            rss_per_worker_bytes: per_worker(rss_after, self.rss_before),
            pss_per_worker_bytes: None,
            virtual_per_worker_bytes: per_worker(virtual_after, self.virtual_before),
            stop_ms,
            error: self.error.take(),
        }
    }

    /// Wakes every thread and joins them all; returns how long that took, in milliseconds.
    pub fn stop(&mut self) -> f64 {
        let started = Instant::now();
        self.shared.lock().stop = true;
        self.shared.stop.notify_all();
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
        started.elapsed().as_secs_f64() * 1000.0
    }
}

impl Drop for IdleThreads {
    fn drop(&mut self) {
        if !self.handles.is_empty() {
            self.stop();
        }
    }
}

/// The body of an idle thread: say when it started, then sleep on the condition variable
/// until told to stop. Nothing here allocates.
fn idle_thread(shared: &Shared) {
    let now_ns = shared.base.elapsed().as_nanos() as u64;
    let mut state = shared.lock();
    state.started += 1;
    state.last_start_ns = now_ns;
    shared.started.notify_one();
    while !state.stop {
        state = match shared.stop.wait(state) {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
    }
}
