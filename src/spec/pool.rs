//! Which pool runs the tasks: [`PoolSpec`] and how a process pool is fed ([`Feeding`]), with
//! the check of each value. Whether eager feeding fits in memory depends on the sweep and is
//! a rule of [`super::rules`]; this module never reads the machine.

use serde::{Deserialize, Serialize};

use super::{InvalidValue, check_within, limits};

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
    /// A tokio runtime of `worker_threads` threads running N concurrent tasks: N is a
    /// concurrency, not a thread count (waits are `tokio::time::sleep`, not blocked threads).
    Async {
        /// The runtime's worker threads; None for the usable CPUs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        worker_threads: Option<usize>,
    },
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
    /// CPython's `ThreadPoolExecutor(max_workers=N)`, for a `python` workload.
    PythonThreads,
    /// CPython's process pool of N workers, for a `python` workload.
    PythonProcesses {
        /// How the worker processes start.
        #[serde(default)]
        start_method: StartMethod,
        /// Calls per message to a worker process.
        #[serde(default = "default_chunk_size")]
        chunk_size: usize,
    },
    /// `concurrent.futures.InterpreterPoolExecutor(N)` (CPython 3.14+), for a `python` workload.
    PythonInterpreters,
    /// An `async def` function awaited on one asyncio event loop with at most N in flight (an
    /// `asyncio.Semaphore(N)`), for a `python` workload.
    PythonAsyncio,
}

/// How CPython starts a process pool's workers (`multiprocessing` start methods).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartMethod {
    /// `os.fork()` of the parent: fastest, copies its state.
    Fork,
    /// A fresh interpreter per worker: slowest start, nothing inherited.
    Spawn,
    /// Workers forked from a clean server process (CPython 3.14's default on Linux).
    #[default]
    Forkserver,
}

impl StartMethod {
    /// The name CPython and preset files use.
    pub fn as_str(self) -> &'static str {
        match self {
            StartMethod::Fork => "fork",
            StartMethod::Spawn => "spawn",
            StartMethod::Forkserver => "forkserver",
        }
    }
}

fn default_queue_capacity() -> usize {
    64
}
fn default_chunk_size() -> usize {
    1
}

impl PoolSpec {
    /// True when the swept count is a concurrency (tasks in flight on a few worker threads:
    /// the async pool, Python's asyncio loop), not a number of threads: tables and axes say
    /// "concurrency".
    pub fn counts_tasks_in_flight(&self) -> bool {
        matches!(self, PoolSpec::Async { .. } | PoolSpec::PythonAsyncio)
    }

    /// The kind name used in preset files.
    pub fn kind_name(&self) -> &'static str {
        match self {
            PoolSpec::Rayon => "rayon",
            PoolSpec::Queue { .. } => "queue",
            PoolSpec::Spawn => "spawn",
            PoolSpec::Async { .. } => "async",
            PoolSpec::Process { .. } => "process",
            PoolSpec::PythonThreads => "python_threads",
            PoolSpec::PythonProcesses { .. } => "python_processes",
            PoolSpec::PythonInterpreters => "python_interpreters",
            PoolSpec::PythonAsyncio => "python_asyncio",
        }
    }

    /// Every pool kind name, for error messages and pickers.
    pub const KIND_NAMES: [&'static str; 9] = [
        "rayon",
        "queue",
        "spawn",
        "async",
        "process",
        "python_threads",
        "python_processes",
        "python_interpreters",
        "python_asyncio",
    ];

    /// The pools of pooltune's own threads and processes (false for CPython's pools).
    pub fn is_rust(&self) -> bool {
        !self.is_python()
    }

    /// CPython's pools, which run a `python` workload only.
    pub fn is_python(&self) -> bool {
        matches!(
            self,
            PoolSpec::PythonThreads
                | PoolSpec::PythonProcesses { .. }
                | PoolSpec::PythonInterpreters
                | PoolSpec::PythonAsyncio
        )
    }
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

impl PoolSpec {
    /// Checks the pool's values.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        let count = |field: &str, value: usize| {
            let max = limits::MAX_QUEUE;
            check_within(field, value, (1, max), format!("1 to {max}"))
        };
        match *self {
            PoolSpec::Rayon
            | PoolSpec::Spawn
            | PoolSpec::PythonThreads
            | PoolSpec::PythonInterpreters
            | PoolSpec::PythonAsyncio => Ok(()),
            PoolSpec::Async { worker_threads } => match worker_threads {
                Some(threads) => count("pool.worker_threads", threads),
                None => Ok(()),
            },
            PoolSpec::Queue {
                queue_capacity,
                chunk_size,
            } => {
                count("pool.queue_capacity", queue_capacity)?;
                count("pool.chunk_size", chunk_size)
            }
            PoolSpec::Process { chunk_size, .. } | PoolSpec::PythonProcesses { chunk_size, .. } => {
                count("pool.chunk_size", chunk_size)
            }
        }
    }
}

/// Memory one task description of eager feeding takes, in bytes: the process pool's
/// `TaskDescription` (an index and a 64-byte payload, which glibc rounds up to an 80-byte
/// chunk). The pool holds it to this figure at compile time
/// (`pool::process::protocol::TaskDescription::MEMORY_BYTES`), so the rule below and the
/// pool cannot drift apart.
pub const EAGER_TASK_BYTES: u64 = 112;

/// Memory eager feeding needs for `tasks` task descriptions, in bytes.
pub fn eager_memory_bytes(tasks: u64) -> u64 {
    tasks.saturating_mul(EAGER_TASK_BYTES)
}

/// Refuses eager feeding when its task list would not fit in `available_bytes`.
pub fn check_eager_fits(tasks: u64, available_bytes: u64) -> Result<(), String> {
    let needed = eager_memory_bytes(tasks);
    if needed > available_bytes {
        const MIB: f64 = (1u64 << 20) as f64;
        return Err(format!(
            "eager feeding would build {tasks} task descriptions ({:.0} MiB) before sending the \
             first, more than the {:.0} MiB of memory available (free memory, or what the \
             address-space limit leaves); use feeding = \"lazy\", or fewer tasks per trial",
            needed as f64 / MIB,
            available_bytes as f64 / MIB
        ));
    }
    Ok(())
}
