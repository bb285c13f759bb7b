//! Worker cost: what one more worker costs on this machine. For each N in a list, start N idle
//! threads or N idle processes, measure how long each took to start, how much resident and
//! virtual memory they added, then stop them and time the stop. The same for CPython's
//! `threading.Thread` and `multiprocessing.Process` (each start method), through the script
//! in `assets/`, when a Python is there. The same for idle coroutines: N tokio tasks
//! ([`IdleTasks`]; Python's asyncio tasks, generators and greenlets from the script). And what
//! one switch costs: a channel ping-pong between two Rust threads and between two tokio tasks
//! ([`SwitchCost`], [`switches`]).
//!
//! The experiment leaves nothing behind: every thread is joined and every process reaped
//! before the next N starts, and Stop ends them at once. It never imports egui; the GUI and
//! the CLI consume the same [`Event`]s and [`CostResult`]. It runs on the engine's skeleton
//! ([`crate::engine::run`]) like every other experiment.

mod processes;
mod python;
/// Linux's `/proc` files, read through the platform layer.
use crate::platform::procfs;
pub mod switches;
mod threads;
mod tokio_tasks;

use std::path::PathBuf;
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

pub use processes::IdleProcesses;
pub use python::{
    Parser as PythonOutputParser, PythonCounts, PythonInfo, Record as PythonRecord,
    SCRIPT as PYTHON_SCRIPT, find_python3,
};
pub use threads::{IdleThreads, default_stack_bytes};
pub use tokio_tasks::IdleTasks;

use crate::cancel::CancelToken;
use crate::engine::{self, RunOutcome, RunStart};
use crate::machine::MachineInfo;
use crate::result::nan_null;
use crate::spec::InvalidValue;

/// Bounds on what a worker-cost run may ask for.
pub mod limits {
    /// Most threads in one N: the sweep's own limit.
    pub const MAX_THREADS: usize = crate::spec::MAX_THREADS;
    /// Most processes in one N: each idle pooltune process holds a few MiB of resident memory.
    pub const MAX_PROCESSES: usize = 512;
    /// Most idle tasks (tokio tasks, Python asyncio tasks, generators) in one N: a task is a
    /// few hundred bytes, so a million is a few hundred MiB at most.
    pub const MAX_TASKS: usize = 1_000_000;
    /// Most round trips of one switch-cost ping-pong.
    pub const MAX_ROUND_TRIPS: usize = 10_000_000;
    /// Most values of N in one list.
    pub const MAX_COUNTS: usize = 32;
    /// Smallest and largest thread stack, in KiB: glibc's PTHREAD_STACK_MIN (16 KiB) to 1 GiB.
    pub const STACK_KIB: (u64, u64) = (16, 1 << 20);
}

/// What N workers of one kind cost. Per-worker figures are means over the N workers; every
/// float is NaN (`null` in JSON) when it could not be measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerCost {
    /// N: workers started and kept alive together.
    pub workers: usize,
    /// Python `multiprocessing` start method (`fork`, `spawn`, `forkserver`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_method: Option<String>,
    /// Median time from asking for a worker to the worker running its first line, in µs.
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub start_latency_p50_us: f64,
    /// 99th percentile of that start time (nearest rank: the slowest of fewer than 100), in µs.
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub start_latency_p99_us: f64,
    /// Resident memory per worker, in bytes. Threads: the growth of this process's RSS over
    /// N. Processes: the mean RSS of the workers, shared pages counted in full in each.
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub rss_per_worker_bytes: f64,
    /// Processes only: mean proportional set size (PSS), each shared page divided among the
    /// processes that share it; what one more process really adds. Null for threads.
    #[serde(default)]
    pub pss_per_worker_bytes: Option<f64>,
    /// Reserved address space per worker (VmSize), in bytes: stacks, guard pages, allocator
    /// arenas. Reserved is not used: only resident memory takes RAM.
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub virtual_per_worker_bytes: f64,
    /// Time to stop all N workers and wait for them, in milliseconds.
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub stop_ms: f64,
    /// Rust threads only: how many of the N threads got a stack that glibc had kept from a
    /// thread that ended earlier in the same process (already resident, already counted);
    /// the memory figures are divided among the other threads. Null for other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stacks_reused: Option<usize>,
    /// Why the memory figures could not be measured cleanly (they are then null), or null.
    #[serde(default)]
    pub memory_unreliable: Option<String>,
    /// Why this N was not fully measured (a worker could not start), or null.
    #[serde(default)]
    pub error: Option<String>,
}

impl WorkerCost {
    /// A cost that could not be measured at all.
    pub fn failed(workers: usize, error: impl Into<String>) -> WorkerCost {
        WorkerCost {
            workers,
            start_method: None,
            start_latency_p50_us: f64::NAN,
            start_latency_p99_us: f64::NAN,
            rss_per_worker_bytes: f64::NAN,
            pss_per_worker_bytes: None,
            virtual_per_worker_bytes: f64::NAN,
            stop_ms: f64::NAN,
            stacks_reused: None,
            memory_unreliable: None,
            error: Some(error.into()),
        }
    }
}

/// Which kind of worker a cost is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerKind {
    /// A Rust `std::thread` (pooltune's own).
    RustThread,
    /// A pooltune worker process.
    RustProcess,
    /// A CPython `threading.Thread`.
    PythonThread,
    /// A CPython `multiprocessing.Process`.
    PythonProcess,
    /// A tokio task (`tokio::spawn`) on a current-thread runtime: a coroutine, no thread.
    TokioTask,
    /// A CPython `asyncio` task (`asyncio.create_task`) on one event loop.
    PythonAsyncioTask,
    /// A suspended CPython generator.
    PythonGenerator,
    /// A `greenlet.greenlet` (where the package is installed).
    PythonGreenlet,
}

impl WorkerKind {
    /// Every kind, in the order results list them.
    pub const ALL: [WorkerKind; 8] = [
        WorkerKind::RustThread,
        WorkerKind::RustProcess,
        WorkerKind::PythonThread,
        WorkerKind::PythonProcess,
        WorkerKind::TokioTask,
        WorkerKind::PythonAsyncioTask,
        WorkerKind::PythonGenerator,
        WorkerKind::PythonGreenlet,
    ];

    /// The name used in tables and CSV (`rust_thread`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerKind::RustThread => "rust_thread",
            WorkerKind::RustProcess => "rust_process",
            WorkerKind::PythonThread => "python_thread",
            WorkerKind::PythonProcess => "python_process",
            WorkerKind::TokioTask => "tokio_task",
            WorkerKind::PythonAsyncioTask => "python_asyncio_task",
            WorkerKind::PythonGenerator => "python_generator",
            WorkerKind::PythonGreenlet => "python_greenlet",
        }
    }

    /// The name in a table's `worker` column (`Rust thread`, `tokio task`, ...).
    pub fn title(self) -> &'static str {
        match self {
            WorkerKind::RustThread => "Rust thread",
            WorkerKind::RustProcess => "Rust process",
            WorkerKind::PythonThread => "Python thread",
            WorkerKind::PythonProcess => "Python process",
            WorkerKind::TokioTask => "tokio task",
            WorkerKind::PythonAsyncioTask => "asyncio task",
            WorkerKind::PythonGenerator => "Python generator",
            WorkerKind::PythonGreenlet => "greenlet",
        }
    }

    /// A coroutine (a task run by a scheduler in user space) rather than a thread or a
    /// process: counted by [`CostSpec::tasks`].
    pub fn is_task(self) -> bool {
        matches!(
            self,
            WorkerKind::TokioTask
                | WorkerKind::PythonAsyncioTask
                | WorkerKind::PythonGenerator
                | WorkerKind::PythonGreenlet
        )
    }

    /// The `series` index a cost run's events give this kind: its place in [`WorkerKind::ALL`].
    pub fn series(self) -> usize {
        match self {
            WorkerKind::RustThread => 0,
            WorkerKind::RustProcess => 1,
            WorkerKind::PythonThread => 2,
            WorkerKind::PythonProcess => 3,
            WorkerKind::TokioTask => 4,
            WorkerKind::PythonAsyncioTask => 5,
            WorkerKind::PythonGenerator => 6,
            WorkerKind::PythonGreenlet => 7,
        }
    }

    /// The kind of a cost run's `series` index; None for an index no cost run sends.
    pub fn of_series(series: usize) -> Option<WorkerKind> {
        WorkerKind::ALL.get(series).copied()
    }
}

/// Which Python to measure.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PythonChoice {
    /// None.
    Skip,
    /// `python3` on the PATH when there is one; none otherwise.
    #[default]
    Auto,
    /// This interpreter; failing to run it is reported in the result.
    Path(PathBuf),
}

/// What to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostSpec {
    /// Thread counts N to try, in order.
    pub threads: Vec<usize>,
    /// Process counts N to try, in order.
    pub processes: Vec<usize>,
    /// Idle task counts N to try (tokio tasks; Python's asyncio tasks and generators), in order.
    pub tasks: Vec<usize>,
    /// Round trips of each switch-cost ping-pong (two switches each); 0: no switch cost.
    pub switch_round_trips: usize,
    /// Stack size of each Rust thread in KiB; None: Rust's default ([`default_stack_bytes`]).
    pub stack_kib: Option<u64>,
    /// Which Python to measure as well.
    pub python: PythonChoice,
    /// The executable to start as an idle worker process; None:
    /// [`crate::pool::process::worker_exe`].
    pub exe: Option<PathBuf>,
}

impl Default for CostSpec {
    /// The README's run: 1, 10 and 100 threads; 1 and 10 processes; 1 000, 10 000 and 100 000
    /// tasks; 100 000 round trips of each ping-pong; Python if present.
    fn default() -> Self {
        CostSpec {
            threads: vec![1, 10, 100],
            processes: vec![1, 10],
            tasks: vec![1_000, 10_000, 100_000],
            switch_round_trips: 100_000,
            stack_kib: None,
            python: PythonChoice::Auto,
            exe: None,
        }
    }
}

fn invalid(field: &str, value: impl std::fmt::Display, allowed: impl Into<String>) -> InvalidValue {
    InvalidValue {
        field: field.to_owned(),
        value: value.to_string(),
        allowed: allowed.into(),
    }
}

impl CostSpec {
    /// Checks every count and the stack size against [`limits`].
    pub fn validate(&self) -> Result<(), InvalidValue> {
        use limits::*;
        for (field, list, max) in [
            ("threads", &self.threads, MAX_THREADS),
            ("processes", &self.processes, MAX_PROCESSES),
            ("tasks", &self.tasks, MAX_TASKS),
        ] {
            if list.len() > MAX_COUNTS {
                return Err(invalid(
                    field,
                    format!("a list of {}", list.len()),
                    format!("at most {MAX_COUNTS} counts"),
                ));
            }
            if let Some(&bad) = list.iter().find(|&&n| n == 0 || n > max) {
                return Err(invalid(field, bad, format!("counts from 1 to {max}")));
            }
        }
        if self.switch_round_trips > MAX_ROUND_TRIPS {
            return Err(invalid(
                "round_trips",
                self.switch_round_trips,
                format!("0 (no switch cost) to {MAX_ROUND_TRIPS}"),
            ));
        }
        if let Some(kib) = self.stack_kib {
            let (lo, hi) = STACK_KIB;
            if !(lo..=hi).contains(&kib) {
                return Err(invalid(
                    "stack_kib",
                    kib,
                    format!(
                        "{lo} to {hi} KiB (Rust's default is {} KiB)",
                        default_stack_bytes() / 1024
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Measurements the run makes: one per N and kind, Python's processes counted for its three
    /// start methods (an estimate until Python says which it offers), and one per ping-pong.
    pub fn planned_steps(&self) -> usize {
        let switching = usize::from(self.switch_round_trips > 0);
        let rust = self.threads.len() + self.processes.len() + self.tasks.len();
        let rust_switches = switching * SwitchCost::RUST_KINDS.len();
        let python = match self.python {
            PythonChoice::Skip => 0,
            // Asyncio tasks and generators (greenlets too where installed), and one
            // ping-pong each for Python threads, asyncio tasks and generators.
            _ => {
                self.threads.len() + 3 * self.processes.len() + 2 * self.tasks.len() + 3 * switching
            }
        };
        rust + rust_switches + python
    }
}

/// A whole worker-cost run: where, with what, and each cost measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostResult {
    /// The machine it ran on.
    pub machine: MachineInfo,
    /// The stack each Rust thread reserved, in bytes (`--stack-kib`, or Rust's default).
    pub thread_stack_bytes: u64,
    /// Rust threads, one entry per N.
    pub threads: Vec<WorkerCost>,
    /// pooltune worker processes, one entry per N.
    pub processes: Vec<WorkerCost>,
    /// The Python measured, when one ran.
    pub python: Option<PythonInfo>,
    /// CPython `threading.Thread`s, one entry per N.
    pub python_threads: Vec<WorkerCost>,
    /// CPython `multiprocessing.Process`es, per start method then per N; each has `start_method`.
    pub python_processes: Vec<WorkerCost>,
    /// Why there are no (or not all) Python entries: no `python3` found, or it failed.
    pub python_error: Option<String>,
    /// Idle tokio tasks, one entry per N.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokio_tasks: Vec<WorkerCost>,
    /// Idle CPython asyncio tasks, one entry per N.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub python_asyncio_tasks: Vec<WorkerCost>,
    /// Suspended CPython generators, one entry per N.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub python_generators: Vec<WorkerCost>,
    /// Idle greenlets, one entry per N (where `greenlet` is installed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub python_greenlets: Vec<WorkerCost>,
    /// What one switch between two workers costs: a ping-pong per kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub switches: Vec<SwitchCost>,
    /// Stopped or not, when, how long, and the warnings (each entry's `memory_unreliable`,
    /// said once per kind and N; a busy machine), written inline, last, as always.
    #[serde(flatten)]
    pub outcome: RunOutcome,
}

impl CostResult {
    /// The entries of one kind.
    pub fn entries(&self, kind: WorkerKind) -> &[WorkerCost] {
        match kind {
            WorkerKind::RustThread => &self.threads,
            WorkerKind::RustProcess => &self.processes,
            WorkerKind::PythonThread => &self.python_threads,
            WorkerKind::PythonProcess => &self.python_processes,
            WorkerKind::TokioTask => &self.tokio_tasks,
            WorkerKind::PythonAsyncioTask => &self.python_asyncio_tasks,
            WorkerKind::PythonGenerator => &self.python_generators,
            WorkerKind::PythonGreenlet => &self.python_greenlets,
        }
    }

    fn entries_mut(&mut self, kind: WorkerKind) -> &mut Vec<WorkerCost> {
        match kind {
            WorkerKind::RustThread => &mut self.threads,
            WorkerKind::RustProcess => &mut self.processes,
            WorkerKind::PythonThread => &mut self.python_threads,
            WorkerKind::PythonProcess => &mut self.python_processes,
            WorkerKind::TokioTask => &mut self.tokio_tasks,
            WorkerKind::PythonAsyncioTask => &mut self.python_asyncio_tasks,
            WorkerKind::PythonGenerator => &mut self.python_generators,
            WorkerKind::PythonGreenlet => &mut self.python_greenlets,
        }
    }

    /// Every entry of every kind, with its kind, in [`WorkerKind::ALL`] order.
    pub fn all_entries(&self) -> impl Iterator<Item = (WorkerKind, &WorkerCost)> {
        WorkerKind::ALL
            .into_iter()
            .flat_map(move |kind| self.entries(kind).iter().map(move |cost| (kind, cost)))
    }
}

/// What switching between two workers of one kind costs: two of them hand a message back and
/// forth over a channel (a ping-pong), `round_trips` times; each round trip is two switches
/// (one hand-off each way). Rust threads: two `std` threads and two `std::sync::mpsc`
/// channels, which the scheduler may put on two CPUs (a wake-up across cores, not a context
/// switch on one). tokio tasks: two tasks on one current-thread runtime and two
/// `tokio::sync::mpsc` channels: each hand-off is a switch on one thread, no kernel involved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchCost {
    /// Which kind of worker switched.
    pub kind: WorkerKind,
    /// Round trips made (each two switches).
    pub round_trips: usize,
    /// Switches per second: 2 × round trips / the wall time of the whole ping-pong.
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub switches_per_s: f64,
    /// Mean wall time of one round trip, in nanoseconds.
    #[serde(deserialize_with = "nan_null::deserialize")]
    pub round_trip_ns: f64,
    /// Why it could not be measured (then the figures are null), or null.
    #[serde(default)]
    pub error: Option<String>,
}

impl SwitchCost {
    /// The kinds pooltune measures itself; Python's come from the script.
    pub const RUST_KINDS: [WorkerKind; 2] = [WorkerKind::RustThread, WorkerKind::TokioTask];

    /// The figures of `round_trips` round trips that took `elapsed`.
    pub fn measured(kind: WorkerKind, round_trips: usize, elapsed: std::time::Duration) -> Self {
        let seconds = elapsed.as_secs_f64();
        SwitchCost {
            kind,
            round_trips,
            switches_per_s: if seconds > 0.0 {
                2.0 * round_trips as f64 / seconds
            } else {
                f64::NAN
            },
            round_trip_ns: if round_trips > 0 {
                seconds * 1e9 / round_trips as f64
            } else {
                f64::NAN
            },
            error: None,
        }
    }

    /// A switch cost that could not be measured.
    pub fn failed(kind: WorkerKind, error: impl Into<String>) -> Self {
        SwitchCost {
            kind,
            round_trips: 0,
            switches_per_s: f64::NAN,
            round_trip_ns: f64::NAN,
            error: Some(error.into()),
        }
    }
}

/// What a worker-cost run announces when it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Measurements planned ([`CostSpec::planned_steps`]).
    pub planned: usize,
}

/// What a worker-cost run reports while it runs: the engine's one event enum, its series the
/// worker kinds (`series` is the kind's index in [`WorkerKind::ALL`]), its points what N
/// workers of one kind cost, its progress the measurements done out of those planned.
pub type Event = engine::Event<Plan, WorkerCost, CostResult>;

/// A worker-cost run that could not start.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    /// A count or the stack size is out of range.
    #[error("{0}")]
    Invalid(InvalidValue),
    /// The Python asked for does not exist.
    #[error("--python {}: no such file", .0.display())]
    NoPython(PathBuf),
    /// The engine's own thread could not be started.
    #[error("could not start the worker-cost thread: {0}")]
    Spawn(std::io::Error),
}

/// Measures N idle Rust threads of `stack_bytes` each (None: Rust's default).
pub fn measure_threads(count: usize, stack_bytes: Option<u64>) -> WorkerCost {
    IdleThreads::start(count, stack_bytes).measure_and_stop()
}

/// Measures N idle tokio tasks on a current-thread runtime.
pub fn measure_tokio_tasks(count: usize) -> WorkerCost {
    IdleTasks::start(count).measure_and_stop()
}

/// Measures N idle pooltune worker processes started from `exe`.
pub fn measure_processes(count: usize, exe: &std::path::Path) -> WorkerCost {
    IdleProcesses::start(count, exe).measure_and_stop()
}

/// One step of a cost run: what N workers of one kind cost, or one ping-pong.
enum Measured {
    Cost(WorkerKind, WorkerCost),
    Switch(SwitchCost),
}

/// The worker-cost experiment on the engine's skeleton.
struct CostRun {
    spec: CostSpec,
    /// The Python to measure, or why there is none; None: Python skipped.
    python: Option<Result<PathBuf, String>>,
    busy: crate::trust::BusySampler,
    /// Other processes' CPU use over the whole run, opened when it starts.
    window: Option<crate::trust::OthersWindow>,
}

impl engine::Experiment for CostRun {
    type Started = Plan;
    type Point = WorkerCost;
    type Result = CostResult;
    type Error = CostError;
    type Calibration = ();

    fn validate(&mut self) -> Result<(), CostError> {
        self.spec.validate().map_err(CostError::Invalid)?;
        self.python = match &self.spec.python {
            PythonChoice::Skip => None,
            PythonChoice::Auto => {
                Some(find_python3().ok_or_else(|| "no python3 on the PATH".to_owned()))
            }
            PythonChoice::Path(path) if path.exists() => Some(Ok(path.clone())),
            PythonChoice::Path(path) => return Err(CostError::NoPython(path.clone())),
        };
        Ok(())
    }

    /// Idle workers need no calibration.
    fn calibrate(&mut self, _cancel: &CancelToken) {}

    fn start(&mut self, _run: &RunStart<()>, _cancel: &CancelToken) -> Plan {
        // Other processes' CPU use over the whole run: this process's own and its children's
        // (worker processes and Python, all reaped by the end) are taken out.
        self.window = Some(crate::trust::OthersWindow::open(&mut self.busy));
        Plan {
            planned: self.spec.planned_steps(),
        }
    }

    fn measure(
        &mut self,
        run: RunStart<()>,
        cancel: &CancelToken,
        emit: &mut dyn FnMut(Event),
    ) -> CostResult {
        let spec = &self.spec;
        let stack_bytes = spec.stack_kib.map(|kib| kib * 1024);
        let mut result = CostResult {
            machine: run.machine,
            thread_stack_bytes: stack_bytes.unwrap_or_else(default_stack_bytes),
            threads: Vec::new(),
            processes: Vec::new(),
            python: None,
            python_threads: Vec::new(),
            python_processes: Vec::new(),
            python_error: None,
            tokio_tasks: Vec::new(),
            python_asyncio_tasks: Vec::new(),
            python_generators: Vec::new(),
            python_greenlets: Vec::new(),
            switches: Vec::new(),
            outcome: RunOutcome::started_at(run.started_unix_s),
        };
        let planned = spec.planned_steps();
        let mut done = 0;
        // A switch cost is a step of the run but no point: it is read from the result.
        let mut record = |result: &mut CostResult, measured: Measured| {
            done += 1;
            let (kind, workers) = match &measured {
                Measured::Cost(kind, cost) => (*kind, cost.workers),
                Measured::Switch(switch) => (switch.kind, 2),
            };
            emit(Event::Progress {
                series: kind.series(),
                progress: engine::Progress {
                    threads: workers,
                    point_index: done - 1,
                    points: planned.max(done),
                    steps_done: done,
                    steps_total: planned.max(done),
                    elapsed_s: run.started.elapsed().as_secs_f64(),
                    planned_s: None,
                    exact: true,
                },
            });
            match measured {
                Measured::Cost(kind, cost) => {
                    result.entries_mut(kind).push(cost.clone());
                    emit(Event::Point {
                        series: kind.series(),
                        point: cost,
                    });
                }
                Measured::Switch(switch) => result.switches.push(switch),
            }
        };
        for &n in &spec.threads {
            if cancel.is_cancelled() {
                break;
            }
            let cost = measure_threads(n, stack_bytes);
            record(&mut result, Measured::Cost(WorkerKind::RustThread, cost));
        }
        for &n in &spec.tasks {
            if cancel.is_cancelled() {
                break;
            }
            let cost = measure_tokio_tasks(n);
            record(&mut result, Measured::Cost(WorkerKind::TokioTask, cost));
        }
        if !spec.processes.is_empty() {
            let exe = match &spec.exe {
                Some(exe) => Ok(exe.clone()),
                None => crate::pool::process::worker_exe(),
            };
            for &n in &spec.processes {
                if cancel.is_cancelled() {
                    break;
                }
                let cost = match &exe {
                    Ok(exe) => measure_processes(n, exe),
                    Err(message) => WorkerCost::failed(n, message.clone()),
                };
                record(&mut result, Measured::Cost(WorkerKind::RustProcess, cost));
            }
        }
        if spec.switch_round_trips > 0 {
            for kind in SwitchCost::RUST_KINDS {
                if cancel.is_cancelled() {
                    break;
                }
                let switch = switches::measure(kind, spec.switch_round_trips, cancel);
                record(&mut result, Measured::Switch(switch));
            }
        }
        match self.python.take() {
            Some(Ok(path)) if !cancel.is_cancelled() => {
                let counts = python::PythonCounts {
                    threads: spec.threads.clone(),
                    processes: spec.processes.clone(),
                    tasks: spec.tasks.clone(),
                    round_trips: spec.switch_round_trips,
                };
                let outcome = python::run(&path, &counts, cancel, &mut |measured| {
                    record(&mut result, measured)
                });
                match outcome {
                    Ok(info) => result.python = info,
                    Err(message) => result.python_error = Some(message),
                }
            }
            Some(Err(message)) => result.python_error = Some(message),
            _ => {}
        }
        result.outcome.warnings = cost_warnings(&result);
        if let Some(window) = &self.window {
            let other_cpus = window.close(
                &mut self.busy,
                &crate::measure::ProcessUsage::now(),
                0,
                crate::machine::online_cpus(),
            );
            result
                .outcome
                .warnings
                .extend(crate::trust::cost_busy_warning(
                    other_cpus,
                    result.machine.logical_cpus,
                ));
        }
        result.outcome.cancelled = cancel.is_cancelled();
        result.outcome.duration_s = run.started.elapsed().as_secs_f64();
        result
    }

    fn thread_failed(err: std::io::Error) -> CostError {
        CostError::Spawn(err)
    }
}

impl CostRun {
    fn new(spec: CostSpec) -> CostRun {
        CostRun {
            spec,
            python: None,
            busy: crate::trust::BusySampler::system(),
            window: None,
        }
    }
}

/// Runs the whole experiment on the calling thread through the engine's skeleton, reporting
/// through `emit`. A stopped run keeps what it measured. Python failing is not an error: it
/// is noted in `python_error`.
pub fn run(
    spec: &CostSpec,
    cancel: &CancelToken,
    emit: &mut dyn FnMut(Event),
) -> Result<CostResult, CostError> {
    engine::run(&mut CostRun::new(spec.clone()), cancel, emit)
}

/// [`run`] on a named background thread (`pooltune-cost`). Worker processes are tied to
/// that thread (see [`crate::pool::process::ProcessPool::new`]) and all end before it does.
pub fn spawn(
    spec: CostSpec,
    cancel: CancelToken,
    emit: impl FnMut(Event) + Send + 'static,
) -> Result<JoinHandle<Result<CostResult, CostError>>, CostError> {
    engine::spawn("pooltune-cost", CostRun::new(spec), cancel, emit)
}

/// One sentence per entry whose memory could not be measured cleanly, and one per entry
/// whose figures leave some reused thread stacks out.
pub fn cost_warnings(result: &CostResult) -> Vec<String> {
    let mut warnings = Vec::new();
    for kind in WorkerKind::ALL {
        for cost in result.entries(kind) {
            let what = format!("{} at N = {}", kind.as_str(), cost.workers);
            if let Some(reason) = &cost.memory_unreliable {
                warnings.push(format!("{what}: memory per worker not measured: {reason}"));
            } else if let Some(reused) = cost.stacks_reused.filter(|&k| k > 0) {
                warnings.push(format!(
                    "{what}: {reused} of {} thread stacks were reused from threads that ended earlier; the memory per worker is of the other {}",
                    cost.workers,
                    cost.workers - reused
                ));
            }
        }
    }
    warnings
}

/// The `q` quantile of sorted values by the nearest-rank method (the smallest value with at
/// least q of the values at or below it); NaN for no values.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_index_names_its_worker_kind_and_back() {
        for (index, kind) in WorkerKind::ALL.into_iter().enumerate() {
            assert_eq!(kind.series(), index);
            assert_eq!(WorkerKind::of_series(index), Some(kind));
        }
        assert_eq!(WorkerKind::of_series(WorkerKind::ALL.len()), None);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.5), 5.0);
        assert_eq!(percentile(&values, 0.99), 10.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&hundred, 0.99), 99.0);
        assert!(percentile(&[], 0.5).is_nan());
    }

    #[test]
    fn bad_counts_name_the_field_and_the_range() {
        let spec = CostSpec {
            threads: vec![1, 0],
            ..CostSpec::default()
        };
        let message = spec.validate().unwrap_err().to_string();
        assert!(message.contains("`threads` = 0"), "{message}");
        assert!(message.contains("1 to 4096"), "{message}");
        let refusal = |spec: CostSpec| spec.validate().unwrap_err().to_string();
        assert!(
            refusal(CostSpec {
                processes: vec![100_000],
                ..CostSpec::default()
            })
            .contains("processes")
        );
        assert!(
            refusal(CostSpec {
                stack_kib: Some(4),
                ..CostSpec::default()
            })
            .contains("stack_kib")
        );
        assert!(CostSpec::default().validate().is_ok());
    }

    #[test]
    fn a_cost_round_trips_through_json_with_nulls() {
        let mut cost = WorkerCost::failed(3, "no");
        let json = serde_json::to_value(&cost).unwrap();
        assert!(json["rss_per_worker_bytes"].is_null());
        assert!(json.get("start_method").is_none());
        assert!(json["pss_per_worker_bytes"].is_null());
        let back: WorkerCost = serde_json::from_value(json).unwrap();
        assert!(back.rss_per_worker_bytes.is_nan());
        assert_eq!(back.pss_per_worker_bytes, None);
        cost.start_method = Some("fork".into());
        cost.pss_per_worker_bytes = Some(f64::NAN);
        let json = serde_json::to_value(&cost).unwrap();
        assert_eq!(json["start_method"], "fork");
        let back: WorkerCost = serde_json::from_value(json).unwrap();
        assert_eq!(back.start_method.as_deref(), Some("fork"));
    }
}
