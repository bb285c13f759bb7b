//! Presets: the TOML files that describe one experiment (a workload, a pool and a sweep).
//!
//! A preset is parsed strictly (unknown keys and kinds are refused with the file, line and a
//! suggestion), then validated (every value out of range is refused with the field, the value
//! and what is allowed), and saved atomically. This module never runs anything.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::PresetError;

/// The newest preset format this build understands.
pub const SCHEMA_VERSION: u32 = 1;

/// The largest thread count a sweep may ask for: far past any useful pool on a desktop, low
/// enough that a typo (100000) is refused before the OS is asked for that many threads.
pub const MAX_THREADS: usize = 4096;

/// One experiment: what each task does, which pool runs the tasks, and which thread counts to try.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// Format version of the file; a newer one than [`SCHEMA_VERSION`] is refused.
    pub schema_version: u32,
    /// A short name shown in lists and on plots.
    pub name: String,
    /// One or two sentences: what this experiment shows.
    #[serde(default)]
    pub description: String,
    /// What one task does.
    pub workload: WorkloadSpec,
    /// Which kind of pool runs the tasks.
    #[serde(default)]
    pub pool: PoolSpec,
    /// Thread counts, trials and trial length.
    pub sweep: SweepSpec,
}

/// What one task does. Every duration is in microseconds of this machine's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WorkloadSpec {
    /// Pure computation for `compute_us` per task.
    Cpu {
        /// Computation per task (C), calibrated to this machine.
        compute_us: u64,
    },
    /// `compute_us` of computation, then a blocking wait of `wait_us` (a sleep standing for I/O):
    /// the exact model behind N = N_cpu × U × (1 + W/C).
    Blocking {
        /// Computation per task (C).
        compute_us: u64,
        /// Blocking wait per task (W).
        wait_us: u64,
    },
    /// Real file I/O: each task writes `bytes` to a file in a temporary directory and reads it back.
    FileIo {
        /// Size of the file each task writes and reads back.
        bytes: u64,
        /// Call fsync after writing, so the data reaches the device and not only the page cache.
        #[serde(default)]
        fsync: bool,
    },
    /// Streams over a per-worker buffer (read and write), so memory bandwidth is the limit.
    Memory {
        /// Size of each worker's buffer, in KiB; make it larger than the last-level cache.
        buffer_kib: u64,
        /// How many read+write passes each task makes over its buffer.
        #[serde(default = "default_passes")]
        passes: u32,
    },
    /// A fraction of each task's computation runs inside one shared lock (Amdahl's serial part).
    Contended {
        /// Computation per task (C), inside and outside the lock together.
        compute_us: u64,
        /// Fraction of `compute_us` spent holding the shared lock, 0.0 to 1.0.
        serial_fraction: f64,
    },
    /// A simulated interpreter lock: a task computes only while it holds one global lock, which
    /// the holder gives up every `switch_interval_us` and during blocking waits.
    Gil {
        /// Computation per task (C), all of it under the lock.
        compute_us: u64,
        /// Blocking wait per task (W), outside the lock.
        #[serde(default)]
        wait_us: u64,
        /// How long a holder keeps the lock while others wait; CPython's default is 5 ms
        /// (`sys.getswitchinterval()`).
        #[serde(default = "default_switch_interval_us")]
        switch_interval_us: u64,
    },
    /// Each task adds to shared counters by one strategy; the total is checked after each trial.
    SharedState {
        /// How the counters are shared.
        strategy: SharedStrategy,
        /// Counter increments per task.
        #[serde(default = "default_updates_per_task")]
        updates_per_task: u64,
    },
}

fn default_passes() -> u32 {
    1
}
fn default_switch_interval_us() -> u64 {
    5000
}
fn default_updates_per_task() -> u64 {
    1000
}

/// How `shared_state` tasks share their counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SharedStrategy {
    /// One global counter behind a mutex, locked for every increment.
    Mutex,
    /// One global atomic counter, `fetch_add` for every increment.
    Atomic,
    /// Every increment is a message to one collector thread, which keeps the total.
    Channel,
    /// Each worker counts in its own slot; the slots are merged at the end of the trial.
    ThreadLocal,
}

impl SharedStrategy {
    /// Every strategy, in the order they are usually compared.
    pub const ALL: [SharedStrategy; 4] = [
        SharedStrategy::Mutex,
        SharedStrategy::Atomic,
        SharedStrategy::Channel,
        SharedStrategy::ThreadLocal,
    ];

    /// The name used in preset files.
    pub fn as_str(self) -> &'static str {
        match self {
            SharedStrategy::Mutex => "mutex",
            SharedStrategy::Atomic => "atomic",
            SharedStrategy::Channel => "channel",
            SharedStrategy::ThreadLocal => "thread_local",
        }
    }
}

impl WorkloadSpec {
    /// The kind name used in preset files (`cpu`, `blocking`, ...).
    pub fn kind_name(&self) -> &'static str {
        match self {
            WorkloadSpec::Cpu { .. } => "cpu",
            WorkloadSpec::Blocking { .. } => "blocking",
            WorkloadSpec::FileIo { .. } => "file_io",
            WorkloadSpec::Memory { .. } => "memory",
            WorkloadSpec::Contended { .. } => "contended",
            WorkloadSpec::Gil { .. } => "gil",
            WorkloadSpec::SharedState { .. } => "shared_state",
        }
    }

    /// Every workload kind name, for error messages and pickers.
    pub const KIND_NAMES: [&'static str; 7] = [
        "cpu",
        "blocking",
        "file_io",
        "memory",
        "contended",
        "gil",
        "shared_state",
    ];

    /// The configured computation (C) and wait (W) per task in microseconds, where the preset
    /// states them; shown beside the measured values.
    pub fn configured_compute_wait_us(&self) -> Option<(u64, u64)> {
        match *self {
            WorkloadSpec::Cpu { compute_us } => Some((compute_us, 0)),
            WorkloadSpec::Blocking {
                compute_us,
                wait_us,
            } => Some((compute_us, wait_us)),
            WorkloadSpec::Contended { compute_us, .. } => Some((compute_us, 0)),
            WorkloadSpec::Gil {
                compute_us,
                wait_us,
                ..
            } => Some((compute_us, wait_us)),
            WorkloadSpec::FileIo { .. }
            | WorkloadSpec::Memory { .. }
            | WorkloadSpec::SharedState { .. } => None,
        }
    }
}

/// Which kind of pool runs the tasks.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PoolSpec {
    /// A `rayon::ThreadPool` built with `num_threads(N)` for each point.
    #[default]
    Rayon,
    /// N named workers pulling from one bounded channel: Python's ThreadPoolExecutor shape.
    Queue {
        /// Capacity of the channel between the producer and the workers.
        #[serde(default = "default_queue_capacity")]
        queue_capacity: usize,
        /// Tasks per message; 1 feeds tasks one by one.
        #[serde(default = "default_chunk_size")]
        chunk_size: usize,
    },
    /// One new OS thread per task, at most N alive at once, each joined: what creating threads costs.
    Spawn,
    /// N worker processes (pooltune started in worker mode), tasks sent in chunks over pipes.
    Process {
        /// Tasks per message sent to a worker process.
        #[serde(default = "default_chunk_size")]
        chunk_size: usize,
        /// `lazy` produces tasks on demand (like `imap`); `eager` builds every task description
        /// before sending the first (like `map` over a list).
        #[serde(default)]
        feeding: Feeding,
    },
}

fn default_queue_capacity() -> usize {
    64
}
fn default_chunk_size() -> usize {
    1
}

impl PoolSpec {
    /// The kind name used in preset files.
    pub fn kind_name(&self) -> &'static str {
        match self {
            PoolSpec::Rayon => "rayon",
            PoolSpec::Queue { .. } => "queue",
            PoolSpec::Spawn => "spawn",
            PoolSpec::Process { .. } => "process",
        }
    }

    /// Every pool kind name, for error messages and pickers.
    pub const KIND_NAMES: [&'static str; 4] = ["rayon", "queue", "spawn", "process"];
}

/// How a process pool is fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feeding {
    /// Tasks produced on demand with a bounded number in flight (Python's `imap`).
    #[default]
    Lazy,
    /// Every task description built before the first is sent (Python's `map` over a list).
    Eager,
}

/// Which thread counts to try, how many trials, and how long each trial is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// An explicit list of thread counts, tried in the order given. Use this or `threads_range`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<Vec<usize>>,
    /// A range of thread counts. Use this or `threads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads_range: Option<ThreadRange>,
    /// Measured trials per thread count (at least 3, for a confidence interval).
    #[serde(default = "default_trials")]
    pub trials: u32,
    /// Tasks per trial. Use this or `trial_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks_per_trial: Option<u64>,
    /// Length of a trial in milliseconds. Use this or `tasks_per_trial`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_ms: Option<u64>,
    /// Unmeasured warm-up before the trials of each thread count, in milliseconds.
    #[serde(default = "default_warmup_ms")]
    pub warmup_ms: u64,
    /// How many times a trial during which other processes used the CPUs (more than
    /// [`crate::trust::DISTURBED_MEAN_CPUS`]) is measured again before it is kept; 0 never.
    #[serde(default = "default_retry_disturbed")]
    pub retry_disturbed: u32,
}

fn default_trials() -> u32 {
    3
}
fn default_retry_disturbed() -> u32 {
    1
}
fn default_warmup_ms() -> u64 {
    200
}

/// A range of thread counts: `from` to `to` inclusive, adding `by` (linear) or multiplying by
/// `by` (geometric). `to` is always included even when the step would skip it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadRange {
    /// First thread count.
    pub from: usize,
    /// Last thread count (included).
    pub to: usize,
    /// `linear` (add `by`) or `geometric` (multiply by `by`).
    #[serde(default)]
    pub step: RangeStep,
    /// The increment (linear, default 1) or factor (geometric, default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<usize>,
}

/// How a [`ThreadRange`] steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeStep {
    /// from, from+by, from+2·by, ..., to
    #[default]
    Linear,
    /// from, from·by, from·by², ..., to
    Geometric,
}

/// How long one trial is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrialLength {
    /// A fixed number of tasks.
    Tasks(u64),
    /// A fixed time; as many tasks as fit.
    Millis(u64),
}

impl SweepSpec {
    /// The thread counts to try, in order. Call after [`Preset::validate`]; an invalid spec
    /// gives an empty list.
    pub fn thread_counts(&self) -> Vec<usize> {
        if let Some(list) = &self.threads {
            return list.clone();
        }
        let Some(range) = &self.threads_range else {
            return Vec::new();
        };
        if range.from == 0 || range.to < range.from {
            return Vec::new();
        }
        let mut counts = Vec::new();
        let mut n = range.from;
        match range.step {
            RangeStep::Linear => {
                let by = range.by.unwrap_or(1).max(1);
                while n <= range.to {
                    counts.push(n);
                    n += by;
                }
            }
            RangeStep::Geometric => {
                let by = range.by.unwrap_or(2).max(2);
                while n <= range.to {
                    counts.push(n);
                    n = n.saturating_mul(by);
                }
            }
        }
        if counts.last() != Some(&range.to) {
            counts.push(range.to);
        }
        counts
    }

    /// For trials of a fixed time: how long the whole sweep's warm-ups and trials take, in
    /// milliseconds (calibration, pool start-up and a trial's last tasks come on top). None
    /// for trials of a fixed task count, whose length depends on the machine.
    pub fn timed_length_ms(&self) -> Option<u64> {
        let TrialLength::Millis(trial_ms) = self.trial_length() else {
            return None;
        };
        let per_point = self
            .warmup_ms
            .saturating_add(u64::from(self.trials).saturating_mul(trial_ms));
        Some((self.thread_counts().len() as u64).saturating_mul(per_point))
    }

    /// How long each trial is. Call after [`Preset::validate`].
    pub fn trial_length(&self) -> TrialLength {
        match (self.tasks_per_trial, self.trial_ms) {
            (Some(tasks), _) => TrialLength::Tasks(tasks),
            (None, Some(ms)) => TrialLength::Millis(ms),
            (None, None) => TrialLength::Tasks(0),
        }
    }
}

/// A value that failed validation: which field, what it was, and what is allowed.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidValue {
    /// Dotted path of the field, as written in the file (`sweep.trials`).
    pub field: String,
    /// The value found, as text.
    pub value: String,
    /// What is allowed, in words.
    pub allowed: String,
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}`{} = {} is not allowed: {}",
            crate::error::one_line(&self.field),
            crate::error::index_note(&self.field),
            crate::error::one_line(&self.value),
            crate::error::one_line(&self.allowed)
        )
    }
}

fn invalid(field: &str, value: impl fmt::Display, allowed: impl Into<String>) -> InvalidValue {
    InvalidValue {
        field: field.to_owned(),
        value: value.to_string(),
        allowed: allowed.into(),
    }
}

/// Bounds used by validation. Absurd values are refused before they reach the engine.
pub mod limits {
    /// Longest computation or wait per task: 10 s.
    pub const MAX_TASK_US: u64 = 10_000_000;
    /// Most tasks in one trial.
    pub const MAX_TASKS_PER_TRIAL: u64 = 100_000_000;
    /// Shortest and longest trial by time.
    pub const TRIAL_MS: (u64, u64) = (10, 600_000);
    /// Trials per point.
    pub const TRIALS: (u32, u32) = (3, 100);
    /// Longest warm-up.
    pub const MAX_WARMUP_MS: u64 = 60_000;
    /// Most repeats of a disturbed trial: 5 (each repeat costs a whole trial, and a machine
    /// busy for six trials in a row will not be quiet for the seventh).
    pub const MAX_RETRY_DISTURBED: u32 = 5;
    /// Largest file a `file_io` task writes: 1 GiB.
    pub const MAX_FILE_BYTES: u64 = 1 << 30;
    /// Most increments per `shared_state` task.
    pub const MAX_UPDATES_PER_TASK: u64 = 100_000_000;
    /// Most passes per `memory` task.
    pub const MAX_PASSES: u32 = 1000;
    /// Switch interval bounds for `gil`: 1 µs to 1 s.
    pub const SWITCH_INTERVAL_US: (u64, u64) = (1, 1_000_000);
    /// Longest name.
    pub const MAX_NAME_CHARS: usize = 200;
    /// Most thread counts in one sweep.
    pub const MAX_POINTS: usize = 256;
    /// Largest queue capacity or chunk size.
    pub const MAX_QUEUE: usize = 1_000_000;
}

impl Preset {
    /// Checks every value against its allowed range. `available_memory_bytes` bounds the
    /// memory a workload may ask for (all workers' buffers together).
    pub fn validate(&self, available_memory_bytes: u64) -> Result<(), InvalidValue> {
        use limits::*;
        if self.schema_version == 0 || self.schema_version > SCHEMA_VERSION {
            return Err(invalid(
                "schema_version",
                self.schema_version,
                format!("this pooltune reads schema_version 1 to {SCHEMA_VERSION}"),
            ));
        }
        if self.name.trim().is_empty() || self.name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid(
                "name",
                format!("{:?}", self.name),
                format!("a name of 1 to {MAX_NAME_CHARS} characters"),
            ));
        }
        self.sweep.validate()?;
        let max_threads = self.sweep.thread_counts().into_iter().max().unwrap_or(1);
        self.workload
            .validate(max_threads, available_memory_bytes)?;
        self.pool.validate()?;
        // Eager feeding builds every task description before the first is sent: refuse a
        // task count whose list would not fit, before anything runs.
        if let (
            PoolSpec::Process {
                feeding: Feeding::Eager,
                ..
            },
            Some(tasks),
        ) = (&self.pool, self.sweep.tasks_per_trial)
        {
            crate::pool::process::check_eager_fits(tasks, available_memory_bytes)
                .map_err(|why| invalid("sweep.tasks_per_trial", tasks, why))?;
        }
        Ok(())
    }
}

fn check_task_us(field: &str, value: u64, min: u64) -> Result<(), InvalidValue> {
    if value < min || value > limits::MAX_TASK_US {
        return Err(invalid(
            field,
            value,
            format!("{min} to {} microseconds (10 s)", limits::MAX_TASK_US),
        ));
    }
    Ok(())
}

impl WorkloadSpec {
    /// Checks the workload's values; `max_threads` is the largest thread count of the sweep.
    pub fn validate(
        &self,
        max_threads: usize,
        available_memory_bytes: u64,
    ) -> Result<(), InvalidValue> {
        use limits::*;
        match *self {
            WorkloadSpec::Cpu { compute_us } => check_task_us("workload.compute_us", compute_us, 0),
            WorkloadSpec::Blocking {
                compute_us,
                wait_us,
            } => {
                check_task_us("workload.compute_us", compute_us, 0)?;
                check_task_us("workload.wait_us", wait_us, 0)
            }
            WorkloadSpec::FileIo { bytes, .. } => {
                if bytes == 0 || bytes > MAX_FILE_BYTES {
                    return Err(invalid(
                        "workload.bytes",
                        bytes,
                        format!("1 to {MAX_FILE_BYTES} bytes (1 GiB)"),
                    ));
                }
                // Each worker keeps a write buffer and a read-back buffer of `bytes`.
                let buffers = 2 * max_threads.max(1) as u64;
                let needed = bytes.saturating_mul(buffers);
                if needed > available_memory_bytes {
                    return Err(invalid(
                        "workload.bytes",
                        bytes,
                        format!(
                            "at most {} bytes per task, so that {} write and read-back buffers fit in the {} MiB of memory available",
                            available_memory_bytes / buffers,
                            crate::words::counted_usize(max_threads, "worker's", "workers'"),
                            available_memory_bytes >> 20
                        ),
                    ));
                }
                Ok(())
            }
            WorkloadSpec::Memory { buffer_kib, passes } => {
                let per_worker = buffer_kib.saturating_mul(1024);
                let needed = per_worker.saturating_mul(max_threads as u64);
                if buffer_kib == 0 || needed > available_memory_bytes {
                    return Err(invalid(
                        "workload.buffer_kib",
                        buffer_kib,
                        format!(
                            "1 to {} KiB, so that {} buffers fit in the {} MiB of memory available",
                            (available_memory_bytes / max_threads.max(1) as u64) / 1024,
                            crate::words::counted_usize(max_threads, "worker's", "workers'"),
                            available_memory_bytes >> 20
                        ),
                    ));
                }
                if passes == 0 || passes > MAX_PASSES {
                    return Err(invalid(
                        "workload.passes",
                        passes,
                        format!("1 to {MAX_PASSES}"),
                    ));
                }
                Ok(())
            }
            WorkloadSpec::Contended {
                compute_us,
                serial_fraction,
            } => {
                check_task_us("workload.compute_us", compute_us, 0)?;
                if !(0.0..=1.0).contains(&serial_fraction) {
                    return Err(invalid(
                        "workload.serial_fraction",
                        serial_fraction,
                        "a fraction from 0.0 to 1.0",
                    ));
                }
                Ok(())
            }
            WorkloadSpec::Gil {
                compute_us,
                wait_us,
                switch_interval_us,
            } => {
                check_task_us("workload.compute_us", compute_us, 0)?;
                check_task_us("workload.wait_us", wait_us, 0)?;
                let (lo, hi) = SWITCH_INTERVAL_US;
                if !(lo..=hi).contains(&switch_interval_us) {
                    return Err(invalid(
                        "workload.switch_interval_us",
                        switch_interval_us,
                        format!("{lo} to {hi} microseconds (CPython's default is 5000)"),
                    ));
                }
                Ok(())
            }
            WorkloadSpec::SharedState {
                updates_per_task, ..
            } => {
                if updates_per_task == 0 || updates_per_task > MAX_UPDATES_PER_TASK {
                    return Err(invalid(
                        "workload.updates_per_task",
                        updates_per_task,
                        format!("1 to {MAX_UPDATES_PER_TASK}"),
                    ));
                }
                Ok(())
            }
        }
    }
}

impl PoolSpec {
    /// Checks the pool's values.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        let max = limits::MAX_QUEUE;
        match *self {
            PoolSpec::Rayon | PoolSpec::Spawn => Ok(()),
            PoolSpec::Queue {
                queue_capacity,
                chunk_size,
            } => {
                if queue_capacity == 0 || queue_capacity > max {
                    return Err(invalid(
                        "pool.queue_capacity",
                        queue_capacity,
                        format!("1 to {max}"),
                    ));
                }
                if chunk_size == 0 || chunk_size > max {
                    return Err(invalid(
                        "pool.chunk_size",
                        chunk_size,
                        format!("1 to {max}"),
                    ));
                }
                Ok(())
            }
            PoolSpec::Process { chunk_size, .. } => {
                if chunk_size == 0 || chunk_size > max {
                    return Err(invalid(
                        "pool.chunk_size",
                        chunk_size,
                        format!("1 to {max}"),
                    ));
                }
                Ok(())
            }
        }
    }
}

impl SweepSpec {
    /// Checks thread counts, trials and trial length.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        use limits::*;
        match (&self.threads, &self.threads_range) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "sweep.threads_range",
                    "(given)",
                    "either `threads` (a list) or `threads_range`, not both",
                ));
            }
            (None, None) => {
                return Err(invalid(
                    "sweep.threads",
                    "(missing)",
                    "a list such as [1, 2, 4, 8] or a `threads_range = { from = 1, to = 8 }`",
                ));
            }
            (Some(list), None) => {
                if list.is_empty() {
                    return Err(invalid(
                        "sweep.threads",
                        "[]",
                        "at least one thread count, such as [1, 2, 4, 8]",
                    ));
                }
                if list.len() > MAX_POINTS {
                    return Err(invalid(
                        "sweep.threads",
                        format!("a list of {}", list.len()),
                        format!("at most {MAX_POINTS} thread counts"),
                    ));
                }
                for &n in list {
                    if n == 0 || n > MAX_THREADS {
                        return Err(invalid(
                            "sweep.threads",
                            n,
                            format!("thread counts from 1 to {MAX_THREADS}"),
                        ));
                    }
                }
            }
            (None, Some(range)) => {
                if range.from == 0 || range.from > MAX_THREADS {
                    return Err(invalid(
                        "sweep.threads_range.from",
                        range.from,
                        format!("1 to {MAX_THREADS}"),
                    ));
                }
                if range.to < range.from || range.to > MAX_THREADS {
                    return Err(invalid(
                        "sweep.threads_range.to",
                        range.to,
                        format!("{} (from) to {MAX_THREADS}", range.from),
                    ));
                }
                if let Some(by) = range.by {
                    let min = match range.step {
                        RangeStep::Linear => 1,
                        RangeStep::Geometric => 2,
                    };
                    if by < min || by > MAX_THREADS {
                        return Err(invalid(
                            "sweep.threads_range.by",
                            by,
                            format!("{min} to {MAX_THREADS} for a {:?} step", range.step)
                                .to_lowercase(),
                        ));
                    }
                }
                let count = self.thread_counts().len();
                if count > MAX_POINTS {
                    return Err(invalid(
                        "sweep.threads_range",
                        format!("{count} thread counts"),
                        format!("at most {MAX_POINTS} thread counts; use a larger `by`"),
                    ));
                }
            }
        }
        let (lo, hi) = TRIALS;
        if !(lo..=hi).contains(&self.trials) {
            return Err(invalid(
                "sweep.trials",
                self.trials,
                format!("{lo} to {hi} (three or more give a confidence interval)"),
            ));
        }
        match (self.tasks_per_trial, self.trial_ms) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "sweep.trial_ms",
                    "(given)",
                    "either `tasks_per_trial` or `trial_ms`, not both",
                ));
            }
            (None, None) => {
                return Err(invalid(
                    "sweep.tasks_per_trial",
                    "(missing)",
                    "a number of tasks per trial, or `trial_ms` for a trial of fixed length",
                ));
            }
            (Some(tasks), None) => {
                if tasks == 0 || tasks > MAX_TASKS_PER_TRIAL {
                    return Err(invalid(
                        "sweep.tasks_per_trial",
                        tasks,
                        format!("1 to {MAX_TASKS_PER_TRIAL}"),
                    ));
                }
            }
            (None, Some(ms)) => {
                let (lo, hi) = TRIAL_MS;
                if !(lo..=hi).contains(&ms) {
                    return Err(invalid(
                        "sweep.trial_ms",
                        ms,
                        format!("{lo} to {hi} milliseconds"),
                    ));
                }
            }
        }
        if self.warmup_ms > MAX_WARMUP_MS {
            return Err(invalid(
                "sweep.warmup_ms",
                self.warmup_ms,
                format!("0 to {MAX_WARMUP_MS} milliseconds"),
            ));
        }
        if self.retry_disturbed > MAX_RETRY_DISTURBED {
            return Err(invalid(
                "sweep.retry_disturbed",
                self.retry_disturbed,
                format!("0 (never) to {MAX_RETRY_DISTURBED} repeats of a disturbed trial"),
            ));
        }
        Ok(())
    }
}

/// Memory a workload may use, read from the OS; used to bound buffers in validation.
pub fn available_memory_bytes() -> u64 {
    crate::machine::available_memory_bytes()
}

/// What a preset file holds. Both kinds live side by side in the preset folders and share
/// `schema_version`, `name`, `description` and `[sweep]`; a comparison is told apart by its
/// `[[series]]` tables (see [`crate::compare`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresetKind {
    /// One workload on one pool (`[workload]`, `[pool]`): run by `pooltune sweep`.
    Sweep,
    /// Several configurations on one chart (`[[series]]`): run by `pooltune compare`.
    Comparison,
}

/// Tells a comparison file (a top-level `series` array) from a sweep preset. Text that is
/// not TOML counts as a sweep preset, so that its parse error is the one the user sees.
pub fn kind_of(text: &str) -> PresetKind {
    match text.parse::<toml::Table>() {
        Ok(table) if table.get("series").is_some_and(toml::Value::is_array) => {
            PresetKind::Comparison
        }
        _ => PresetKind::Sweep,
    }
}

/// Parses a preset from TOML text. `origin` names the source in error messages.
pub fn parse(text: &str, origin: &Path) -> Result<Preset, PresetError> {
    if kind_of(text) == PresetKind::Comparison {
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("[[series]]"))
            .map_or(0, |index| index + 1);
        return Err(PresetError::Parse {
            path: origin.to_path_buf(),
            line,
            column: 1,
            field: None,
            message: format!(
                "this is a comparison preset (it has [[series]] tables), not a sweep: \
                 run it with `pooltune compare --preset {}`",
                origin.display()
            ),
            suggestion: None,
        });
    }
    let preset: Preset = parse_toml(text, origin)?;
    if preset.schema_version > SCHEMA_VERSION {
        return Err(PresetError::SchemaTooNew {
            path: origin.to_path_buf(),
            found: preset.schema_version,
            supported: SCHEMA_VERSION,
        });
    }
    preset
        .validate(available_memory_bytes())
        .map_err(|invalid| invalid_at(text, origin, invalid))?;
    Ok(preset)
}

/// A validation error of the file `origin` whose text is `text`, at the line of the offending
/// key (or of the nearest table of it that is written, when the key is left to its default).
pub fn invalid_at(text: &str, origin: &Path, invalid: InvalidValue) -> PresetError {
    let (line, column) = field_location(text, &invalid.field).unwrap_or((0, 0));
    PresetError::Invalid {
        path: origin.to_path_buf(),
        line,
        column,
        invalid,
    }
}

/// One step of a field path as messages write it: a key, or an element of an array of
/// tables written 1-based (`series[2]`).
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// `series[2].workload.compute_us` as steps (`[2]` is the second element, index 1).
fn field_steps(field: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for part in field.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            steps.push(Step::Key(key.to_owned()));
        }
        while let Some((number, after)) = rest.split_once(']') {
            if let Some(n) = number.parse::<usize>().ok().and_then(|n| n.checked_sub(1)) {
                steps.push(Step::Index(n));
            }
            rest = after.strip_prefix('[').unwrap_or("");
        }
    }
    steps
}

/// Steps back into the dotted name messages use.
fn field_name(steps: &[Step]) -> String {
    let mut name = String::new();
    for step in steps {
        match step {
            Step::Key(key) => {
                if !name.is_empty() {
                    name.push('.');
                }
                name.push_str(key);
            }
            Step::Index(index) => name.push_str(&format!("[{}]", index + 1)),
        }
    }
    name
}

/// The written TOML value at `steps`, with the span of its key (or of the array element).
fn spanned_value<'a, 'i>(
    document: &'a toml::de::DeTable<'i>,
    steps: &[Step],
) -> Option<(
    std::ops::Range<usize>,
    &'a toml::Spanned<toml::de::DeValue<'i>>,
)> {
    let mut found: Option<(
        std::ops::Range<usize>,
        &toml::Spanned<toml::de::DeValue<'i>>,
    )> = None;
    for step in steps {
        let next = match (step, found.as_ref().map(|(_, v)| v.get_ref())) {
            (Step::Key(name), None) => document
                .iter()
                .find(|(key, _)| key.get_ref() == name)
                .map(|(key, value)| (key.span(), value)),
            (Step::Key(name), Some(toml::de::DeValue::Table(table))) => table
                .iter()
                .find(|(key, _)| key.get_ref() == name)
                .map(|(key, value)| (key.span(), value)),
            (Step::Index(index), Some(toml::de::DeValue::Array(array))) => {
                array.get(*index).map(|value| (value.span(), value))
            }
            _ => None,
        };
        found = Some(next?);
    }
    found
}

/// The 1-based line and column where `field` (`sweep.threads`, `series[2].workload.kind`) is
/// written; for a field left to its default, where the nearest written table of it is.
pub fn field_location(text: &str, field: &str) -> Option<(usize, usize)> {
    let document = toml::de::DeTable::parse(text).ok()?;
    let steps = field_steps(field);
    (1..=steps.len()).rev().find_map(|len| {
        spanned_value(document.get_ref(), &steps[..len])
            .map(|(span, _)| line_column(text, span.start))
    })
}

/// The most values [`locate_wrong_value`] tries removing one at a time.
const MAX_ELIMINATIONS: usize = 256;

/// For serde's "invalid type" and "invalid value" errors, which inside `[workload]`,
/// `[pool]` (internally tagged enums, whose content serde buffers without positions) point at
/// the table header and name no field: finds the value the error is about and says where it
/// is written, as written.
///
/// The value is found by elimination: the document is deserialized again without one value
/// at a time; the error is about a value whose removal makes that error go away. Of those,
/// the deepest whose TOML type is the one the message names wins (removing `workload` also
/// makes a `workload.compute_us` error go away).
fn locate_wrong_value<T: serde::de::DeserializeOwned>(
    text: &str,
    span: std::ops::Range<usize>,
    message: &str,
) -> Option<(String, (usize, usize), String)> {
    let (found, expected) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))?
        .split_once(", expected ")?;
    let table: toml::Table = text.parse().ok()?;
    let baseline = match toml::Value::Table(table.clone()).try_into::<T>() {
        Ok(_) => return None,
        Err(err) => err.message().trim().to_owned(),
    };
    let mut paths = Vec::new();
    collect_paths(
        &toml::Value::Table(table.clone()),
        &mut Vec::new(),
        &mut paths,
    );
    let found_kind = found.split([' ', ',']).next().unwrap_or("");
    let document = toml::de::DeTable::parse(text).ok()?;
    // The value the error is at: a `[workload]` table (whose span is its header), an inline
    // table, or a plain value.
    let contains =
        |range: std::ops::Range<usize>| range.start <= span.start && span.end <= range.end;
    let at = paths
        .iter()
        .filter(|path| {
            spanned_value(document.get_ref(), path).is_some_and(|(_, value)| contains(value.span()))
        })
        .max_by_key(|path| path.len())?
        .clone();
    // Removing the `kind` tag of a table also ends every error inside it: the tag is the
    // value only when serde says it expected a variant.
    let about_tag = expected.contains("variant");
    let mut best: Option<((bool, bool, usize), Vec<Step>)> = None;
    let inside: Vec<Vec<Step>> = paths
        .into_iter()
        .filter(|path| path.starts_with(&at))
        .collect();
    let fits = |path: &[Step], value: &toml::de::DeValue<'_>| {
        type_matches(value, found_kind)
            && (about_tag || path.last() != Some(&Step::Key("kind".to_owned())))
    };
    // Each removal deserializes the whole document again: a long array (a pasted list of
    // thousands of counts) is left to the type check below.
    let eliminate = inside.len() <= MAX_ELIMINATIONS;
    for path in inside.iter().filter(|_| eliminate).cloned() {
        let mut without = toml::Value::Table(table.clone());
        remove_path(&mut without, &path);
        let gone = match without.try_into::<T>() {
            Ok(_) => true,
            Err(err) => err.message().trim() != baseline,
        };
        if !gone {
            continue;
        }
        let Some((_, value)) = spanned_value(document.get_ref(), &path) else {
            continue;
        };
        let matches = type_matches(value.get_ref(), found_kind);
        let tag_fits = about_tag || path.last() != Some(&Step::Key("kind".to_owned()));
        let rank = (matches, tag_fits, path.len());
        if best.as_ref().is_none_or(|(best_rank, _)| rank > *best_rank) {
            best = Some((rank, path));
        }
    }
    // The same mistake made twice (in two series) survives removing either one: then the one
    // value in this table of the type the message names is the one.
    let path = match best {
        Some(((true, true, _), path)) => path,
        other => {
            let mut fitting = inside.into_iter().filter(|path| {
                spanned_value(document.get_ref(), path)
                    .is_some_and(|(_, v)| fits(path, v.get_ref()))
            });
            match (fitting.next(), fitting.next()) {
                (Some(only), None) => only,
                _ => other?.1,
            }
        }
    };
    let (key_span, value) = spanned_value(document.get_ref(), &path)?;
    let written = text.get(value.span()).unwrap_or("").trim();
    let written = if written.chars().count() > 40 {
        format!("{}…", written.chars().take(40).collect::<String>())
    } else {
        written.to_owned()
    };
    let what = match value.get_ref() {
        toml::de::DeValue::String(_) => "a string",
        toml::de::DeValue::Integer(_) => "an integer",
        toml::de::DeValue::Float(_) => "a number with a fraction or exponent",
        toml::de::DeValue::Boolean(_) => "a boolean",
        toml::de::DeValue::Datetime(_) => "a date-time",
        toml::de::DeValue::Array(_) => "an array",
        toml::de::DeValue::Table(_) => "a table",
    };
    let kind = if message.starts_with("invalid type") {
        "wrong type"
    } else {
        "invalid value"
    };
    let expected = if expected == "string or map" {
        // serde's words for an enum: name its variants instead.
        variants_at::<T>(&table, &path).unwrap_or_else(|| expected.to_owned())
    } else {
        expected_words(expected, &path)
    };
    let message = format!("{kind}: {what} `{written}`, expected {expected}");
    Some((
        field_name(&path),
        line_column(text, key_span.start),
        message,
    ))
}

/// The variants an enum field at `path` allows, as serde lists them (`` `lazy` or `eager` ``):
/// asked of serde by putting a name no variant has at `path`.
fn variants_at<T: serde::de::DeserializeOwned>(
    table: &toml::Table,
    path: &[Step],
) -> Option<String> {
    let mut probe = toml::Value::Table(table.clone());
    let (last, parents) = path.split_last()?;
    let mut here = &mut probe;
    for step in parents {
        here = match (step, here) {
            (Step::Key(key), toml::Value::Table(t)) => t.get_mut(key)?,
            (Step::Index(index), toml::Value::Array(a)) => a.get_mut(*index)?,
            _ => return None,
        };
    }
    let slot = match (last, here) {
        (Step::Key(key), toml::Value::Table(t)) => t.get_mut(key)?,
        (Step::Index(index), toml::Value::Array(a)) => a.get_mut(*index)?,
        _ => return None,
    };
    *slot = toml::Value::String("\u{1}".to_owned());
    let err = probe.try_into::<T>().err()?;
    err.message()
        .trim()
        .strip_prefix("unknown variant `\u{1}`, expected ")
        .map(str::to_owned)
}

/// The range of a whole-number field, by its name, in words (`from 1 to 4096`); None for a
/// field this table does not know. The bounds are the ones validation applies.
fn whole_number_range(path: &[Step]) -> Option<String> {
    use limits::*;
    let mut keys = path.iter().rev().filter_map(|step| match step {
        Step::Key(key) => Some(key.as_str()),
        Step::Index(_) => None,
    });
    let key = keys.next()?;
    let parent = keys.next().unwrap_or("");
    let (lo, hi): (u64, u64) = match (parent, key) {
        ("sweep", "threads") | ("threads_range", "from" | "to" | "by") => (1, MAX_THREADS as u64),
        (_, "chunk_size" | "queue_capacity") => (1, MAX_QUEUE as u64),
        (_, "compute_us" | "wait_us") => (0, MAX_TASK_US),
        ("sweep", "trials") => (u64::from(TRIALS.0), u64::from(TRIALS.1)),
        ("sweep", "tasks_per_trial") => (1, MAX_TASKS_PER_TRIAL),
        ("sweep", "trial_ms") => TRIAL_MS,
        ("sweep", "warmup_ms") => (0, MAX_WARMUP_MS),
        ("sweep", "retry_disturbed") => (0, u64::from(MAX_RETRY_DISTURBED)),
        ("workload", "bytes") => (1, MAX_FILE_BYTES),
        ("workload", "passes") => (1, u64::from(MAX_PASSES)),
        ("workload", "switch_interval_us") => SWITCH_INTERVAL_US,
        ("workload", "updates_per_task") => (1, MAX_UPDATES_PER_TASK),
        ("workload", "buffer_kib") => return Some("1 or more".to_owned()),
        ("", "schema_version") => (1, u64::from(SCHEMA_VERSION)),
        _ => return None,
    };
    Some(format!("from {lo} to {hi}"))
}

/// serde's name for what it expected, in the user's words; for a whole number, the range of
/// the field at `path` where it is known.
fn expected_words(expected: &str, path: &[Step]) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => match whole_number_range(path) {
            Some(range) => format!("a whole number {range}"),
            None => "a whole number (0 or more)".to_owned(),
        },
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a boolean" | "a string" => expected.to_owned(),
        other => other.to_owned(),
    }
}

/// Whether a written value is of the kind serde's "invalid type: KIND ..." names (a
/// date-time reaches serde as a map).
fn type_matches(value: &toml::de::DeValue<'_>, kind: &str) -> bool {
    use toml::de::DeValue;
    matches!(
        (value, kind),
        (DeValue::Table(_) | DeValue::Datetime(_), "map")
            | (DeValue::Array(_), "sequence")
            | (DeValue::String(_), "string")
            | (DeValue::Integer(_), "integer")
            | (DeValue::Float(_), "floating")
            | (DeValue::Boolean(_), "boolean")
    )
}

/// Every key and array element of `value`, as paths from the top.
fn collect_paths(value: &toml::Value, prefix: &mut Vec<Step>, paths: &mut Vec<Vec<Step>>) {
    match value {
        toml::Value::Table(table) => {
            for (key, child) in table {
                prefix.push(Step::Key(key.clone()));
                paths.push(prefix.clone());
                collect_paths(child, prefix, paths);
                prefix.pop();
            }
        }
        toml::Value::Array(array) => {
            for (index, child) in array.iter().enumerate() {
                prefix.push(Step::Index(index));
                paths.push(prefix.clone());
                collect_paths(child, prefix, paths);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// Removes the value at `path` (a key from its table, an element from its array).
fn remove_path(value: &mut toml::Value, path: &[Step]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut here = value;
    for step in parents {
        let next = match (step, here) {
            (Step::Key(key), toml::Value::Table(table)) => table.get_mut(key),
            (Step::Index(index), toml::Value::Array(array)) => array.get_mut(*index),
            _ => None,
        };
        let Some(next) = next else { return };
        here = next;
    }
    match (last, here) {
        (Step::Key(key), toml::Value::Table(table)) => {
            table.remove(key);
        }
        (Step::Index(index), toml::Value::Array(array)) if *index < array.len() => {
            array.remove(*index);
        }
        _ => {}
    }
}

/// Deserializes any TOML document strictly, turning serde's message into an error with the
/// file, line, column and a "did you mean" suggestion. Shared by every preset-like file.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    origin: &Path,
) -> Result<T, PresetError> {
    // A newer schema is refused before the structure is checked: a future file may have keys
    // this build cannot know, and "unknown field" would be the wrong thing to tell the user.
    if let Ok(table) = text.parse::<toml::Table>()
        && let Some(version) = table.get("schema_version").and_then(|v| v.as_integer())
        && version > i64::from(SCHEMA_VERSION)
    {
        return Err(PresetError::SchemaTooNew {
            path: origin.to_path_buf(),
            found: u32::try_from(version).unwrap_or(u32::MAX),
            supported: SCHEMA_VERSION,
        });
    }
    toml::from_str(text).map_err(|err| {
        let message = err.message().trim().to_owned();
        if let Some((field, (line, column), message)) = err
            .span()
            .and_then(|span| locate_wrong_value::<T>(text, span, &message))
        {
            return PresetError::Parse {
                path: origin.to_path_buf(),
                line,
                column,
                field: Some(field),
                message,
                suggestion: None,
            };
        }
        let (line, column) = err
            .span()
            .map(|span| line_column(text, span.start))
            .unwrap_or((0, 0));
        let located = err
            .span()
            .and_then(|span| locate_in_table::<T>(text, span, &message))
            .or_else(|| locate_field(text, line, &message));
        let (line, column) = located
            .as_ref()
            .and_then(|l| l.line_column)
            .unwrap_or((line, column));
        let field = located.map(|l| l.field);
        let message = match field.as_deref().and_then(allowed_names) {
            Some(allowed) if message.starts_with("missing field") => {
                format!("{message}; allowed: {allowed}")
            }
            _ => message,
        };
        PresetError::Parse {
            path: origin.to_path_buf(),
            line,
            column,
            field,
            suggestion: suggestion_for(&message),
            message,
        }
    })
}

/// The names a field that picks one of a few choices allows, for "missing field" errors
/// (serde lists them only for a name it does not know).
fn allowed_names(field: &str) -> Option<String> {
    let names: Vec<&str> = if field.ends_with("workload.kind") {
        WorkloadSpec::KIND_NAMES.to_vec()
    } else if field.ends_with("pool.kind") {
        PoolSpec::KIND_NAMES.to_vec()
    } else if field.ends_with("workload.strategy") {
        SharedStrategy::ALL.iter().map(|s| s.as_str()).collect()
    } else {
        return None;
    };
    Some(names.join(", "))
}

/// Names the field of an error serde reports at a whole table (inside `[workload]`, `[pool]`,
/// an inline table or a `[[series]]`, whose content serde buffers without positions): an
/// unknown key, an unknown variant, a missing key, or a message about a key in backticks
/// (`` `chunk_size` is only for ...``). Found in the parsed document, not by reading lines,
/// so quoted and dotted keys, single-quoted values and the n-th `[[series]]` are named right.
fn locate_in_table<T: serde::de::DeserializeOwned>(
    text: &str,
    span: std::ops::Range<usize>,
    message: &str,
) -> Option<LocatedField> {
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    enum About {
        UnknownKey(String),
        Variant(String),
        Missing(String),
        Key(String),
    }
    let about = if let Some(key) = quoted("unknown field `") {
        About::UnknownKey(key)
    } else if let Some(name) = quoted("unknown variant `") {
        About::Variant(name)
    } else if let Some(key) = quoted("missing field `") {
        About::Missing(key)
    } else if let Some(key) = quoted("`") {
        About::Key(key)
    } else {
        return None;
    };
    let table: toml::Table = text.parse().ok()?;
    let document = toml::de::DeTable::parse(text).ok()?;
    let mut paths = Vec::new();
    collect_paths(
        &toml::Value::Table(table.clone()),
        &mut Vec::new(),
        &mut paths,
    );
    let contains =
        |range: std::ops::Range<usize>| range.start <= span.start && span.end <= range.end;
    // The table the error is at: the deepest written value whose span holds the error's
    // (for `[table]` and `[[table]]` the span is the header's).
    let mut at = paths
        .iter()
        .filter(|path| {
            spanned_value(document.get_ref(), path).is_some_and(|(_, value)| contains(value.span()))
        })
        .max_by_key(|path| path.len())?
        .clone();
    // An error at a plain value (a tag serde reads first) has its own position: only its
    // name (with the `[[series]]` element) is wanted.
    if !spanned_value(document.get_ref(), &at).is_some_and(|(_, value)| {
        matches!(
            value.get_ref(),
            toml::de::DeValue::Table(_) | toml::de::DeValue::Array(_)
        )
    }) {
        return Some(LocatedField {
            field: field_name(&at),
            line_column: Some(line_column(text, span.start)),
        });
    }
    let baseline = match toml::Value::Table(table.clone()).try_into::<T>() {
        Ok(_) => return None,
        Err(err) => err.message().trim().to_owned(),
    };
    // Whether removing the value at `path` ends (or changes) this error.
    let ends_error = |path: &[Step]| {
        let mut without = toml::Value::Table(table.clone());
        remove_path(&mut without, path);
        match without.try_into::<T>() {
            Ok(_) => true,
            Err(err) => err.message().trim() != baseline,
        }
    };
    // An error of a whole `[[series]]` element (a key refused by its kind) is reported at the
    // first `[[series]]` header: the element it is about is the one whose removal ends it.
    if matches!(at.last(), Some(Step::Index(_))) && !ends_error(&at) {
        at.pop();
    }
    if let Some((_, value)) = spanned_value(document.get_ref(), &at)
        && let toml::de::DeValue::Array(array) = value.get_ref()
        && array.len() <= MAX_ELIMINATIONS
    {
        let mut element = at.clone();
        element.push(Step::Index(0));
        if let Some(index) = (0..array.len()).find(|&index| {
            element.pop();
            element.push(Step::Index(index));
            ends_error(&element)
        }) {
            at.push(Step::Index(index));
        }
    }
    let inside: Vec<&Vec<Step>> = paths.iter().filter(|p| p.starts_with(&at)).collect();
    let value_of = |path: &[Step]| spanned_value(document.get_ref(), path).map(|(_, v)| v);
    let nearest = |mut candidates: Vec<&Vec<Step>>| {
        candidates.sort_by_key(|p| p.len());
        // Of several, the one whose removal ends the error (the same key in two tables).
        match candidates.len() {
            0 => None,
            1 => candidates.first().map(|p| (*p).clone()),
            _ => candidates
                .iter()
                .find(|p| ends_error(p))
                .or(candidates.first())
                .map(|p| (*p).clone()),
        }
    };
    let last_is = |path: &Vec<Step>, name: &str| path.last() == Some(&Step::Key(name.to_owned()));
    // A key that is not written (`` `workload` is missing ``): named inside the table, at the
    // table's own line.
    let missing = |key: String| {
        let (key_span, _) = spanned_value(document.get_ref(), &at)?;
        let mut field = at.clone();
        field.push(Step::Key(key));
        Some(LocatedField {
            field: field_name(&field),
            line_column: Some(line_column(text, key_span.start)),
        })
    };
    let path = match about {
        About::UnknownKey(key) | About::Key(key) => {
            let direct: Vec<&Vec<Step>> = inside
                .iter()
                .copied()
                .filter(|p| p.len() == at.len() + 1 && last_is(p, &key))
                .collect();
            let found = if direct.is_empty() {
                nearest(
                    inside
                        .iter()
                        .copied()
                        .filter(|p| last_is(p, &key))
                        .collect(),
                )
            } else {
                nearest(direct)
            };
            match found {
                Some(path) => path,
                None => return missing(key),
            }
        }
        About::Variant(name) => nearest(
            inside
                .iter()
                .copied()
                .filter(|p| {
                    value_of(p).is_some_and(|v| {
                        matches!(v.get_ref(), toml::de::DeValue::String(s) if s.as_ref() == name)
                    })
                })
                .collect(),
        )?,
        About::Missing(key) => return missing(key),
    };
    let (key_span, _) = spanned_value(document.get_ref(), &path)?;
    Some(LocatedField {
        field: field_name(&path),
        line_column: Some(line_column(text, key_span.start)),
    })
}

/// Which field a parse error is about, and where that field is written.
struct LocatedField {
    field: String,
    line_column: Option<(usize, usize)>,
}

/// Names the field of a parse error. serde reports errors inside tagged enums (`[workload]`,
/// `[pool]`) at the table header, without the key; this finds the key from the message
/// (`unknown field `x``, `missing field `x``, or the offending value) within that table.
fn locate_field(text: &str, line: usize, message: &str) -> Option<LocatedField> {
    let lines: Vec<&str> = text.lines().collect();
    let index = line.checked_sub(1)?;
    let here = lines.get(index)?.trim();
    // The table the line belongs to: the nearest header at or above it, or the top level
    // (`schema_version`, `name`, ...) when there is none.
    let header_index = (0..=index)
        .rev()
        .find(|&i| lines[i].trim_start().starts_with('['));
    let table = header_index
        .map(|i| {
            lines[i]
                .trim()
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned()
        })
        .unwrap_or_default();
    let qualified = |key: &str| {
        if table.is_empty() {
            key.to_owned()
        } else {
            format!("{table}.{key}")
        }
    };
    let key_of = |line: &str| -> Option<String> {
        let (key, _) = line.split_once('=')?;
        let key = key.trim();
        (!key.is_empty() && !key.starts_with('#')).then(|| key.to_owned())
    };
    if !here.starts_with('[') {
        return key_of(here).map(|key| LocatedField {
            field: qualified(&key),
            line_column: None,
        });
    }
    let header_index = header_index?;
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    if let Some(key) = quoted("unknown field `").or_else(|| quoted("missing field `")) {
        let line_column = find_key(text, &key, line);
        // `[extra]` itself is the unknown field (of the table above it), not `extra.extra`.
        if line_column.is_none() && table.rsplit('.').next() == Some(key.as_str()) {
            return Some(LocatedField {
                field: table,
                line_column: None,
            });
        }
        return Some(LocatedField {
            field: qualified(&key),
            line_column,
        });
    }
    // "invalid value: integer `-5`, expected u64": find `key = -5` inside this table.
    let value = message
        .split('`')
        .nth(1)
        .map(str::to_owned)
        .or_else(|| message.split('"').nth(1).map(|s| format!("\"{s}\"")))?;
    let table_end = (header_index + 1..lines.len())
        .find(|&i| lines[i].trim_start().starts_with('['))
        .unwrap_or(lines.len());
    (header_index + 1..table_end).find_map(|i| {
        let (key, written) = lines[i].split_once('=')?;
        let written = written.split('#').next().unwrap_or("").trim();
        let same = written == value || written.trim_matches('"') == value.trim_matches('"');
        same.then(|| LocatedField {
            field: qualified(key.trim()),
            line_column: Some((i + 1, lines[i].len() - lines[i].trim_start().len() + 1)),
        })
    })
}

/// Loads and validates a preset file.
pub fn load(path: &Path) -> Result<Preset, PresetError> {
    let text = std::fs::read_to_string(path).map_err(|source| PresetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The 1-based line and column of the first `key =` in the table whose header is at line
/// `from` (not past the next header: a missing key must not be found in the next table).
fn find_key(text: &str, key: &str, from: usize) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .skip(from)
        .take_while(|(_, line)| !line.trim_start().starts_with('['))
        .find_map(|(index, line)| {
            let trimmed = line.trim_start();
            let rest = trimmed.strip_prefix(key)?;
            rest.trim_start()
                .starts_with('=')
                .then(|| (index + 1, line.len() - trimmed.len() + 1))
        })
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" and "unknown variant" messages,
/// the allowed name closest to the one written.
fn suggestion_for(message: &str) -> Option<String> {
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let (found, allowed) = quoted.split_first()?;
    if !(message.starts_with("unknown field") || message.starts_with("unknown variant")) {
        return None;
    }
    allowed
        .iter()
        .map(|candidate| (strsim::jaro_winkler(found, candidate), *candidate))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, best)| best.to_owned())
}

/// Serializes a preset as TOML with a header comment.
pub fn to_toml(preset: &Preset) -> Result<String, PresetError> {
    let body = toml::to_string_pretty(preset).map_err(|err| PresetError::Serialize {
        message: err.to_string(),
    })?;
    Ok(format!(
        "# pooltune preset. Edit by hand; `pooltune sweep --preset THIS_FILE` runs it.\n\
         # Keys and allowed values: see README.md, section \"Presets\".\n{body}"
    ))
}

/// Saves a preset atomically: writes a temporary file in the same folder, syncs it, then
/// renames it over `path`. A failed save leaves whatever was at `path` untouched.
pub fn save(preset: &Preset, path: &Path) -> Result<(), PresetError> {
    preset
        .validate(available_memory_bytes())
        .map_err(|invalid| PresetError::Invalid {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            invalid,
        })?;
    let text = to_toml(preset)?;
    crate::atomic_file::write(path, text.as_bytes()).map_err(|source| PresetError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Where the user's own presets live (`~/.config/pooltune/presets` on Linux).
pub fn user_presets_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "pooltune").map(|dirs| dirs.config_dir().join("presets"))
}

/// Creates the user's presets folder when `path` is to be saved in it: the folder does not
/// exist until the first save there. Any other folder is left as it is.
pub fn prepare_save_folder(path: &Path) -> Result<(), String> {
    match (path.parent(), user_presets_dir()) {
        (Some(folder), Some(user)) if folder == user => std::fs::create_dir_all(folder)
            .map_err(|err| format!("could not create {}: {err}", folder.display())),
        _ => Ok(()),
    }
}

/// Where the shipped presets live: `presets/` beside the executable's crate when run from a
/// checkout, or the `POOLTUNE_PRESETS` folder when set.
pub fn shipped_presets_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("POOLTUNE_PRESETS") {
        return PathBuf::from(dir);
    }
    let beside_cwd = PathBuf::from("presets");
    if beside_cwd.is_dir() {
        return beside_cwd;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("presets")
}

/// A preset file found on disk, for listings and pickers.
#[derive(Debug, Clone)]
pub struct PresetEntry {
    /// Where the file is.
    pub path: PathBuf,
    /// True for presets shipped with pooltune, false for the user's own.
    pub shipped: bool,
    /// The parsed file, or why it could not be read.
    pub loaded: Result<Preset, String>,
}

/// Every `.toml` file in the shipped folder, then the user's folder, each sorted by file name,
/// with true for the shipped ones.
pub fn preset_files() -> Vec<(PathBuf, bool)> {
    let mut folders = vec![(shipped_presets_dir(), true)];
    if let Some(user) = user_presets_dir() {
        folders.push((user, false));
    }
    let mut files = Vec::new();
    for (folder, shipped) in folders {
        let Ok(read) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = read
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        paths.sort();
        files.extend(paths.into_iter().map(|path| (path, shipped)));
    }
    files
}

/// Lists every sweep preset (`.toml` file that is not a comparison) in the shipped and user
/// preset folders, sorted by file name.
pub fn list_presets() -> Vec<PresetEntry> {
    let mut entries = Vec::new();
    for (path, shipped) in preset_files() {
        // Comparison files share the folders; `compare::list_any_presets` lists both kinds.
        if std::fs::read_to_string(&path).is_ok_and(|text| kind_of(&text) == PresetKind::Comparison)
        {
            continue;
        }
        let loaded = load(&path).map_err(|err| err.to_string());
        entries.push(PresetEntry {
            path,
            shipped,
            loaded,
        });
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
schema_version = 1
name = "Web service"
description = "1 ms CPU, 9 ms waiting"
[workload]
kind = "blocking"
compute_us = 1000
wait_us = 9000
[pool]
kind = "rayon"
[sweep]
threads = [1, 2, 4]
trials = 3
tasks_per_trial = 500
"#;

    fn parse_str(text: &str) -> Result<Preset, PresetError> {
        parse(text, Path::new("test.toml"))
    }

    #[test]
    fn parses_the_documented_example() {
        let preset = parse_str(GOOD).unwrap();
        assert_eq!(preset.sweep.thread_counts(), vec![1, 2, 4]);
        assert_eq!(
            preset.workload,
            WorkloadSpec::Blocking {
                compute_us: 1000,
                wait_us: 9000
            }
        );
        assert_eq!(preset.sweep.trial_length(), TrialLength::Tasks(500));
        // A task count's duration depends on the machine: no estimate.
        assert_eq!(preset.sweep.timed_length_ms(), None);
    }

    #[test]
    fn a_timed_sweep_knows_its_length() {
        let text = GOOD.replace("tasks_per_trial = 500", "trial_ms = 400\nwarmup_ms = 100");
        let preset = parse_str(&text).unwrap();
        // 3 thread counts × (100 ms warm-up + 3 trials × 400 ms).
        assert_eq!(preset.sweep.timed_length_ms(), Some(3 * (100 + 3 * 400)));
    }

    /// A wrong type inside `[workload]` (a tagged enum, where serde loses the position) is
    /// named with its dotted field and its own line, and shown as written (issue 10, item 8).
    #[test]
    fn a_wrong_type_inside_a_tagged_table_names_the_field_and_its_line() {
        let cases = [
            (
                "compute_us = 1000",
                "compute_us = { a = 1 }",
                "a table `{ a = 1 }`",
            ),
            (
                "compute_us = 1000",
                "compute_us = 1e300",
                "`1e300`, expected a whole number",
            ),
            (
                "compute_us = 1000",
                "compute_us = 1979-05-27",
                "a date-time `1979-05-27`",
            ),
            (
                "wait_us = 9000",
                "wait_us = \"9 ms\"",
                "a string `\"9 ms\"`",
            ),
        ];
        for (good, bad, expect) in cases {
            let text = GOOD.replace(good, bad);
            let err = parse_str(&text).unwrap_err();
            let PresetError::Parse {
                line,
                ref field,
                ref message,
                ..
            } = err
            else {
                panic!("{err}");
            };
            let key = bad.split(' ').next().unwrap();
            let want_line = text.lines().position(|l| l == bad).unwrap() + 1;
            assert_eq!(line, want_line, "{err}");
            assert_eq!(
                field.as_deref(),
                Some(format!("workload.{key}").as_str()),
                "{err}"
            );
            assert!(message.contains(expect), "{err}");
            assert!(err.to_string().len() < 200, "{err}");
        }
    }

    /// The same in an inline table: `workload = { kind = "cpu", compute_us = [1] }`.
    #[test]
    fn a_wrong_type_inside_an_inline_table_names_the_field() {
        let text = GOOD.replace("[pool]\nkind = \"rayon\"\n", "").replace(
            "[workload]",
            "pool = { kind = \"queue\", queue_capacity = true }\n[workload]",
        );
        let err = parse_str(&text).unwrap_err();
        let message = err.to_string();
        let want_line = text.lines().position(|l| l.starts_with("pool =")).unwrap() + 1;
        assert!(
            message.starts_with(&format!("test.toml:{want_line}:")),
            "{message}"
        );
        assert!(message.contains("`pool.queue_capacity`"), "{message}");
        assert!(message.contains("a boolean `true`"), "{message}");
    }

    /// A whole number of the wrong type says the field's real range, not "0 or more" for a
    /// field that refuses 0; an element of a list is named counting from 1.
    #[test]
    fn a_wrong_typed_count_says_its_range() {
        let text = GOOD.replace("threads = [1, 2, 4]", "threads = [1, 2, \"x\"]");
        let message = parse_str(&text).unwrap_err().to_string();
        assert!(
            message.contains(
                "`sweep.threads[3]` (the 3rd value of `threads`): wrong type: a string `\"x\"`, expected a whole number from 1 to 4096"
            ),
            "{message}"
        );
        let text = GOOD.replace("trials = 3", "trials = -3");
        let message = parse_str(&text).unwrap_err().to_string();
        assert!(message.contains("`sweep.trials`"), "{message}");
        assert!(message.contains("from 3 to 100"), "{message}");
    }

    /// Validation errors carry the line of the offending key (issue 10, item 9).
    #[test]
    fn a_value_out_of_range_gives_the_line_of_its_key() {
        let text = GOOD.replace("threads = [1, 2, 4]", "threads = [1, 0, 4]");
        let err = parse_str(&text).unwrap_err();
        let want_line = text
            .lines()
            .position(|l| l.starts_with("threads ="))
            .unwrap()
            + 1;
        assert!(
            err.to_string()
                .starts_with(&format!("test.toml:{want_line}:1: `sweep.threads`")),
            "{err}"
        );
    }

    /// A value with a newline is shown escaped: the error stays one line (item 11).
    #[test]
    fn a_value_with_a_newline_stays_on_one_line() {
        for (good, bad) in [
            ("kind = \"blocking\"", "kind = \"\"\"block\ning\"\"\""),
            ("name = \"Web service\"", "name = \"\"\"\n\n\"\"\""),
        ] {
            let err = parse_str(&GOOD.replace(good, bad)).unwrap_err().to_string();
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }

    #[test]
    fn field_paths_find_array_elements_and_fall_back_to_the_table() {
        let text = "[sweep]\nthreads = [1]\n\n[[series]]\nlabel = \"a\"\n\n[[series]]\nlabel = \"b\"\nworkload = { kind = \"cpu\", compute_us = 5 }\n";
        assert_eq!(field_location(text, "sweep.threads"), Some((2, 1)));
        assert_eq!(field_location(text, "series[2].label"), Some((8, 1)));
        assert_eq!(
            field_location(text, "series[2].workload.compute_us"),
            Some((9, 28))
        );
        // Not written (left to its default): the nearest written table.
        assert_eq!(field_location(text, "sweep.trials"), Some((1, 2)));
    }

    #[test]
    fn unknown_key_names_line_and_suggests() {
        let text = GOOD.replace("wait_us = 9000", "wiat_us = 9000");
        let err = parse_str(&text).unwrap_err();
        let PresetError::Parse {
            line, suggestion, ..
        } = &err
        else {
            panic!("expected a parse error, got {err:?}");
        };
        assert_eq!(*line, 8);
        assert_eq!(suggestion.as_deref(), Some("wait_us"));
        assert!(err.to_string().contains("test.toml:8"), "{err}");
    }

    #[test]
    fn unknown_kind_suggests_the_closest() {
        let text = GOOD.replace("kind = \"rayon\"", "kind = \"rayonn\"");
        let err = parse_str(&text).unwrap_err();
        assert!(err.to_string().contains("did you mean `rayon`"), "{err}");
    }

    #[test]
    fn newer_schema_is_refused_clearly() {
        let text = GOOD.replace("schema_version = 1", "schema_version = 7\nfuture_key = 1");
        let err = parse_str(&text).unwrap_err();
        assert!(
            matches!(err, PresetError::SchemaTooNew { found: 7, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_bad_value_before_any_table_names_its_field() {
        let text = GOOD.replace("schema_version = 1", "schema_version = \"one\"");
        let message = parse_str(&text).unwrap_err().to_string();
        assert!(message.contains("`schema_version`:"), "{message}");
        let text = GOOD.replace("name = \"Web service\"", "name = 5");
        let message = parse_str(&text).unwrap_err().to_string();
        assert!(message.contains("`name`:"), "{message}");
    }

    #[test]
    fn an_unknown_table_is_named_as_written() {
        let text = format!("{GOOD}[extra]\nanswer = 42\n");
        let message = parse_str(&text).unwrap_err().to_string();
        assert!(
            message.contains(": `extra`: unknown field `extra`"),
            "{message}"
        );
        assert!(message.contains("test.toml:15:"), "{message}");
    }

    #[test]
    fn a_missing_kind_lists_the_kinds() {
        let text = GOOD.replace("kind = \"blocking\"\n", "");
        let message = parse_str(&text).unwrap_err().to_string();
        // Line 5 is `[workload]`; the `kind =` of `[pool]` below it is another table's.
        assert!(message.contains("test.toml:5:"), "{message}");
        assert!(message.contains("`workload.kind`"), "{message}");
        assert!(
            message.contains("cpu, blocking, file_io, memory, contended, gil, shared_state"),
            "{message}"
        );
        let text = GOOD.replace("kind = \"rayon\"\n", "");
        let message = parse_str(&text).unwrap_err().to_string();
        assert!(message.contains("`pool.kind`"), "{message}");
        assert!(
            message.contains("rayon, queue, spawn, process"),
            "{message}"
        );
        let text = GOOD.replace(
            "kind = \"blocking\"\ncompute_us = 1000\nwait_us = 9000",
            "kind = \"shared_state\"",
        );
        let message = parse_str(&text).unwrap_err().to_string();
        assert!(message.contains("`workload.strategy`"), "{message}");
        assert!(
            message.contains("mutex, atomic, channel, thread_local"),
            "{message}"
        );
    }

    #[test]
    fn zero_threads_names_the_field() {
        let text = GOOD.replace("[1, 2, 4]", "[1, 0, 4]");
        let err = parse_str(&text).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("sweep.threads"), "{message}");
        assert!(message.contains("1 to 4096"), "{message}");
    }

    /// A `file_io` worker holds a write buffer and a read-back buffer of `bytes` each.
    #[test]
    fn file_io_bytes_count_both_buffers_of_every_worker() {
        let spec = WorkloadSpec::FileIo {
            bytes: 600,
            fsync: false,
        };
        let err = spec.validate(1, 1000).unwrap_err();
        assert_eq!(err.field, "workload.bytes");
        assert!(err.allowed.contains("at most 500 bytes"), "{err}");
        assert!(spec.validate(1, 1200).is_ok());
        let err = spec.validate(4, 4000).unwrap_err();
        assert!(err.allowed.contains("at most 500 bytes"), "{err}");
        assert!(err.allowed.contains("4 workers' write"), "{err}");
        // One worker is said in the singular.
        let err = spec.validate(1, 1000).unwrap_err();
        assert!(err.allowed.contains("1 worker's write"), "{err}");
        let memory = WorkloadSpec::Memory {
            buffer_kib: 4,
            passes: 1,
        };
        let err = memory.validate(1, 1024).unwrap_err();
        assert!(
            err.allowed.contains("so that 1 worker's buffers fit"),
            "{err}"
        );
    }

    #[test]
    fn geometric_range_includes_both_ends() {
        let spec = SweepSpec {
            threads: None,
            threads_range: Some(ThreadRange {
                from: 1,
                to: 24,
                step: RangeStep::Geometric,
                by: None,
            }),
            trials: 3,
            tasks_per_trial: Some(10),
            trial_ms: None,
            warmup_ms: 0,
            retry_disturbed: 1,
        };
        assert_eq!(spec.thread_counts(), vec![1, 2, 4, 8, 16, 24]);
        let linear = SweepSpec {
            threads_range: Some(ThreadRange {
                from: 2,
                to: 7,
                step: RangeStep::Linear,
                by: Some(2),
            }),
            ..spec
        };
        assert_eq!(linear.thread_counts(), vec![2, 4, 6, 7]);
    }

    #[test]
    fn eager_feeding_that_cannot_fit_is_refused_before_running() {
        let text = GOOD
            .replace(
                "kind = \"rayon\"",
                "kind = \"process\"\nfeeding = \"eager\"",
            )
            .replace("tasks_per_trial = 500", "tasks_per_trial = 1000000");
        let preset: Preset = parse_toml(&text, Path::new("test.toml")).unwrap();
        assert!(preset.validate(u64::MAX).is_ok());
        let invalid = preset.validate(10 << 20).unwrap_err();
        assert_eq!(invalid.field, "sweep.tasks_per_trial");
        assert!(invalid.allowed.contains("lazy"), "{invalid}");
        let lazy = Preset {
            pool: PoolSpec::Process {
                chunk_size: 1,
                feeding: Feeding::Lazy,
            },
            ..preset
        };
        assert!(lazy.validate(10 << 20).is_ok());
    }

    #[test]
    fn round_trips_through_toml() {
        let preset = parse_str(GOOD).unwrap();
        let text = to_toml(&preset).unwrap();
        assert_eq!(parse_str(&text).unwrap(), preset);
    }

    #[test]
    fn retry_disturbed_defaults_to_one_and_is_bounded() {
        assert_eq!(parse_str(GOOD).unwrap().sweep.retry_disturbed, 1);
        let never = GOOD.replace("trials = 3", "trials = 3\nretry_disturbed = 0");
        assert_eq!(parse_str(&never).unwrap().sweep.retry_disturbed, 0);
        let too_many = GOOD.replace("trials = 3", "trials = 3\nretry_disturbed = 6");
        let message = parse_str(&too_many).unwrap_err().to_string();
        assert!(message.contains("sweep.retry_disturbed"), "{message}");
        assert!(message.contains("0 (never) to 5"), "{message}");
    }

    /// Every shipped preset serialises (to JSON, as result files embed it, and to TOML, as
    /// saving writes it) byte for byte as recorded in `tests/fixtures/serialised/`.
    /// `POOLTUNE_RECORD_SERIALISED=1` records them again after a deliberate format change.
    #[test]
    fn shipped_presets_serialise_as_recorded() {
        let record = std::env::var_os("POOLTUNE_RECORD_SERIALISED").is_some();
        let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/serialised");
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&shipped)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        names.sort();
        assert!(names.len() >= 11);
        for path in names {
            let (json, toml) = match crate::compare::load_any(&path).unwrap() {
                crate::compare::AnyPreset::Sweep(preset) => (
                    serde_json::to_string_pretty(&preset).unwrap(),
                    to_toml(&preset).unwrap(),
                ),
                crate::compare::AnyPreset::Comparison(comparison) => (
                    serde_json::to_string_pretty(&comparison).unwrap(),
                    crate::compare::to_toml(&comparison).unwrap(),
                ),
            };
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            for (text, ext) in [(json, "json"), (toml, "toml")] {
                let file = golden.join(format!("{stem}.{ext}"));
                if record {
                    std::fs::create_dir_all(&golden).unwrap();
                    std::fs::write(&file, &text).unwrap();
                }
                let want = std::fs::read_to_string(&file)
                    .unwrap_or_else(|err| panic!("{}: {err}", file.display()));
                assert_eq!(text, want, "{}", file.display());
            }
        }
    }

    #[test]
    fn failed_save_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        let good = parse_str(GOOD).unwrap();
        save(&good, &path).unwrap();
        let before = std::fs::read_to_string(&path).unwrap();
        let mut bad = good.clone();
        bad.sweep.trials = 0;
        assert!(save(&bad, &path).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    }
}
