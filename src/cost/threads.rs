//! Idle threads for the worker-cost experiment: started one at a time (each timed from the
//! spawn call to its first instruction), kept blocked on a condition variable, then stopped
//! and joined. The idle thread's own code allocates nothing, so what it costs is the thread as
//! Rust starts it: its stack and guard page, its signal stack, its kernel task, and on glibc
//! the malloc arena that std's first allocation on the new thread creates (64 MiB reserved,
//! for each of the first 8 × cores threads; `MALLOC_ARENA_MAX` bounds that).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::procfs::{Pid, mapped_ranges, status_bytes};
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
    /// An address on each started thread's stack (reserved beforehand: pushing allocates
    /// nothing).
    stack_addresses: Vec<usize>,
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
    /// The address ranges mapped before the first thread started (`/proc/self/maps`).
    mapped_before: Vec<(usize, usize)>,
    /// Uncounted threads holding the stacks glibc had kept from ended threads; stopped after
    /// the counted ones.
    absorbers: Option<Box<IdleThreads>>,
    error: Option<String>,
}

/// Most uncounted threads started to take up cached stacks: glibc keeps at most 40 MiB of
/// them (`stack_cache_maxsize`, nptl/allocatestack.c), 20 of Rust's 2 MiB stacks; 256 covers
/// stacks down to 160 KiB. Smaller cached stacks left over are detected and left out.
const MAX_ABSORBERS: usize = 256;

impl IdleThreads {
    /// Starts `count` threads of `stack_bytes` stack each (None: Rust's default), one after
    /// the other, each waited for before the next. Reads this process's RSS and VmSize just
    /// before the first. A thread that cannot be created ends the start early; the error is
    /// kept for the result.
    ///
    /// First, threads that are not counted take up the stacks glibc kept from threads that
    /// ended earlier (a sweep's pool leaves up to 40 MiB of them, already resident): otherwise
    /// the counted threads would get those, and their memory would show as nothing.
    pub fn start(count: usize, stack_bytes: Option<u64>) -> IdleThreads {
        let absorbers = IdleThreads::take_cached_stacks(stack_bytes);
        let mut idle = IdleThreads::empty(count);
        idle.absorbers = absorbers.map(Box::new);
        idle.mapped_before = mapped_ranges();
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

    fn empty(count: usize) -> IdleThreads {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                stack_addresses: Vec::with_capacity(count),
                ..State::default()
            }),
            started: Condvar::new(),
            stop: Condvar::new(),
            base: Instant::now(),
        });
        IdleThreads {
            shared,
            handles: Vec::with_capacity(count),
            start_latencies_us: Vec::with_capacity(count),
            rss_before: 0,
            virtual_before: 0,
            mapped_before: Vec::new(),
            absorbers: None,
            error: None,
        }
    }

    /// Starts idle threads until one gets a stack that was not mapped before (so no cached
    /// stack of this size is left), at most [`MAX_ABSORBERS`]. All of them stay alive until
    /// the counted threads are stopped: a stopped one's stack would go back to the cache.
    fn take_cached_stacks(stack_bytes: Option<u64>) -> Option<IdleThreads> {
        let mut absorbers = IdleThreads::empty(MAX_ABSORBERS);
        absorbers.mapped_before = mapped_ranges();
        for index in 0..MAX_ABSORBERS {
            if absorbers.start_one(index, stack_bytes).is_err() {
                break;
            }
            if absorbers.stacks_reused() <= index {
                break;
            }
        }
        (absorbers.count() > 0).then_some(absorbers)
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

    /// Uncounted threads alive beside the counted ones, holding the stacks glibc had kept
    /// from ended threads (and one new stack, the sign that none is left); see [`Self::start`].
    pub fn stack_holders(&self) -> usize {
        self.absorbers.as_ref().map_or(0, |a| a.count())
    }

    /// Measures the live threads against the readings taken before the first started, stops
    /// them (timing the stop), and returns the cost.
    pub fn measure_and_stop(mut self) -> WorkerCost {
        let rss_after = status_bytes(Pid::This, "VmRSS:").unwrap_or(0);
        let virtual_after = status_bytes(Pid::This, "VmSize:").unwrap_or(0);
        let workers = self.count();
        let reused = self.stacks_reused();
        let stop_ms = self.stop();
        if let Some(mut absorbers) = self.absorbers.take() {
            absorbers.stop();
        }
        let memory = memory_per_thread(
            (self.rss_before, rss_after),
            (self.virtual_before, virtual_after),
            workers,
            reused,
        );
        let mut latencies = std::mem::take(&mut self.start_latencies_us);
        latencies.sort_by(f64::total_cmp);
        WorkerCost {
            workers,
            start_method: None,
            start_latency_p50_us: percentile(&latencies, 0.50),
            start_latency_p99_us: percentile(&latencies, 0.99),
            rss_per_worker_bytes: memory.rss,
            pss_per_worker_bytes: None,
            virtual_per_worker_bytes: memory.virtual_bytes,
            stop_ms,
            stacks_reused: Some(reused),
            memory_unreliable: memory.unreliable,
            error: self.error.take(),
        }
    }

    /// Started threads whose stack lies in memory that was mapped before the first started:
    /// a stack glibc kept from a thread that ended earlier (its cache of free stacks, up to
    /// 40 MiB) and handed out again, its pages already resident and already counted.
    fn stacks_reused(&self) -> usize {
        let state = self.shared.lock();
        state
            .stack_addresses
            .iter()
            .filter(|&&address| {
                self.mapped_before
                    .iter()
                    .any(|&(start, end)| (start..end).contains(&address))
            })
            .count()
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
    let on_stack = 0u8;
    let mut state = shared.lock();
    state.started += 1;
    state.last_start_ns = now_ns;
    if state.stack_addresses.len() < state.stack_addresses.capacity() {
        state
            .stack_addresses
            .push(std::hint::black_box(&on_stack) as *const u8 as usize);
    }
    shared.started.notify_one();
    while !state.stop {
        state = match shared.stop.wait(state) {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
    }
}

/// Memory per thread, or why it is unknown.
#[derive(Debug, Clone, PartialEq)]
struct PerThread {
    rss: f64,
    virtual_bytes: f64,
    unreliable: Option<String>,
}

/// The process's growth in RSS and VmSize divided among the threads whose stacks are new.
/// A reused stack was resident and mapped before the readings began, so it adds (almost)
/// nothing: counting it would dilute the figure towards 0 (what the Worker cost tab showed
/// after a sweep: "RSS/worker 0 KiB, virtual 16 KiB"). With no new stack, or a process that
/// shrank meanwhile, nothing per thread can be read: null, with the reason.
fn memory_per_thread(
    (rss_before, rss_after): (u64, u64),
    (virtual_before, virtual_after): (u64, u64),
    workers: usize,
    reused: usize,
) -> PerThread {
    let fresh = workers.saturating_sub(reused);
    let unknown = |reason: String| PerThread {
        rss: f64::NAN,
        virtual_bytes: f64::NAN,
        unreliable: Some(reason),
    };
    if workers == 0 {
        return unknown("no thread started".into());
    }
    if fresh == 0 {
        let which = if workers == 1 {
            "the thread's stack was".to_owned()
        } else {
            format!("all {workers} thread stacks were")
        };
        return unknown(format!(
            "{which} reused from threads that ended earlier in this process (glibc keeps freed stacks, already resident, for new threads): their memory was counted before; run `pooltune cost` in a fresh process for the figure"
        ));
    }
    if rss_after <= rss_before {
        return unknown(format!(
            "this process's resident memory did not grow ({} KiB before, {} KiB after): memory freed meanwhile hid the threads' own",
            rss_before / 1024,
            rss_after / 1024
        ));
    }
    PerThread {
        rss: (rss_after - rss_before) as f64 / fresh as f64,
        virtual_bytes: (virtual_after as f64 - virtual_before as f64) / fresh as f64,
        unreliable: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a sweep leaves behind: threads that allocated (each its own malloc arena) and
    /// ended (each its stack in glibc's cache of free stacks).
    fn sweep_like_threads_come_and_go() {
        let handles: Vec<_> = (0..12)
            .map(|i| {
                std::thread::Builder::new()
                    .name(format!("pooltune-test-sweep-{i}"))
                    .spawn(|| {
                        let v: Vec<u8> = vec![1; 64 << 10];
                        std::hint::black_box(v);
                    })
                    .unwrap()
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
    }

    #[test]
    fn after_threads_came_and_went_a_thread_cost_is_plausible_or_flagged_unreliable() {
        sweep_like_threads_come_and_go();
        for n in [1, 10] {
            let cost = IdleThreads::start(n, None).measure_and_stop();
            let reused = cost.stacks_reused.unwrap();
            eprintln!("{n} threads after a sweep: {cost:?}");
            if reused == n {
                // Nothing of this N's own can be read: unknown, with the reason.
                assert!(cost.rss_per_worker_bytes.is_nan(), "{cost:?}");
                assert!(cost.virtual_per_worker_bytes.is_nan(), "{cost:?}");
                let reason = cost.memory_unreliable.as_deref().unwrap();
                assert!(reason.contains("reused"), "{reason}");
            } else if cost.memory_unreliable.is_none() {
                // A figure shown as measured is a real stack's: pages of it, and the
                // stack's reservation in the address space.
                assert!(cost.rss_per_worker_bytes >= 4096.0, "{cost:?}");
                assert!(
                    cost.virtual_per_worker_bytes >= (2u64 << 20) as f64,
                    "{cost:?}"
                );
            }
            assert!(
                cost.rss_per_worker_bytes != 0.0,
                "0 presented as measured: {cost:?}"
            );
        }
    }

    #[test]
    fn memory_is_divided_among_the_new_stacks_only() {
        let kib = 1024;
        let m = memory_per_thread((1000 * kib, 1120 * kib), (0, 20_480 * kib), 10, 0);
        assert_eq!(m.rss, 12.0 * kib as f64);
        assert_eq!(m.virtual_bytes, 2048.0 * kib as f64);
        assert_eq!(m.unreliable, None);
        let m = memory_per_thread((1000 * kib, 1120 * kib), (0, 20_480 * kib), 20, 10);
        assert_eq!(m.rss, 12.0 * kib as f64);
        let m = memory_per_thread((1000 * kib, 1000 * kib), (0, 16 * kib), 10, 10);
        assert!(m.rss.is_nan() && m.virtual_bytes.is_nan());
        assert!(
            m.unreliable
                .unwrap()
                .starts_with("all 10 thread stacks were reused")
        );
        let m = memory_per_thread((1000 * kib, 990 * kib), (0, 20_480 * kib), 10, 0);
        assert!(m.rss.is_nan());
        assert!(m.unreliable.unwrap().contains("did not grow"));
    }
}
