//! A series: one configuration of an experiment, a source (a built-in workload, the Python
//! script's task) run by an executor (a Rust pool, a CPython pool), with the kind shown in
//! legends ([`SeriesKind`]). A sweep file is one series; a comparison file is several. Keys of
//! the wrong kind are refused when the table is read; values are checked here, and how the
//! parts fit together in [`super::rules`]. This module never reads a file nor runs anything.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::rules::{self, Place};
use super::{
    CommandSpec, InvalidValue, PoolSpec, Preset, PythonCallSpec, SweepSpec, WorkloadSpec, invalid,
    limits,
};

/// What a series is, as shown in legends and written to JSON (`kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesKind {
    /// Rust threads without any interpreter lock (a Rust configuration).
    Rust,
    /// Rust threads under the simulated `gil` workload (a Rust configuration).
    SimulatedGil,
    /// CPython's `ThreadPoolExecutor(max_workers=N)` (a Python configuration).
    PythonThreads,
    /// CPython's `multiprocessing.Pool(N)` fed in chunks (a Python configuration).
    PythonProcesses,
    /// `ThreadPoolExecutor` on a free-threaded CPython build (`python3.13t`, `python3.14t`).
    PythonFreeThreaded,
    /// `concurrent.futures.InterpreterPoolExecutor(N)` (CPython 3.14+): one interpreter per
    /// worker thread, each with its own GIL. Runs a user's function only.
    PythonInterpreters,
    /// Coroutines on one asyncio event loop, at most N in flight (`asyncio.Semaphore(N)`):
    /// the script's task awaiting `asyncio.sleep`, or a user's `async def` function.
    PythonAsyncio,
    /// Greenlets on a `gevent.pool.Pool(N)`, waiting with `gevent.sleep` (the script's task
    /// only; where gevent is not installed the series says so and the others run).
    PythonGevent,
    /// A user's own Rust configuration (any workload and pool).
    Custom,
}

impl SeriesKind {
    /// Every kind, in the order of the GIL comparison.
    pub const ALL: [SeriesKind; 9] = [
        SeriesKind::Rust,
        SeriesKind::SimulatedGil,
        SeriesKind::PythonThreads,
        SeriesKind::PythonProcesses,
        SeriesKind::PythonFreeThreaded,
        SeriesKind::PythonInterpreters,
        SeriesKind::PythonAsyncio,
        SeriesKind::PythonGevent,
        SeriesKind::Custom,
    ];

    /// The name used in files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SeriesKind::Rust => "rust",
            SeriesKind::SimulatedGil => "simulated_gil",
            SeriesKind::PythonThreads => "python_threads",
            SeriesKind::PythonProcesses => "python_processes",
            SeriesKind::PythonFreeThreaded => "python_free_threaded",
            SeriesKind::PythonInterpreters => "python_interpreters",
            SeriesKind::PythonAsyncio => "python_asyncio",
            SeriesKind::PythonGevent => "python_gevent",
            SeriesKind::Custom => "custom",
        }
    }

    /// True for the kinds run by the Python script.
    pub fn is_python(self) -> bool {
        matches!(
            self,
            SeriesKind::PythonThreads
                | SeriesKind::PythonProcesses
                | SeriesKind::PythonFreeThreaded
                | SeriesKind::PythonInterpreters
                | SeriesKind::PythonAsyncio
                | SeriesKind::PythonGevent
        )
    }

    /// The kind of a series that runs a user's function on `pool`: the CPython pool's own
    /// kind (so a sweep file's Python series reads "python_processes" in legends and JSON);
    /// `custom` for a pool that is not CPython's.
    pub fn of_python_pool(pool: &PoolSpec) -> SeriesKind {
        match pool {
            PoolSpec::PythonThreads => SeriesKind::PythonThreads,
            PoolSpec::PythonProcesses { .. } => SeriesKind::PythonProcesses,
            PoolSpec::PythonInterpreters => SeriesKind::PythonInterpreters,
            PoolSpec::PythonAsyncio => SeriesKind::PythonAsyncio,
            _ => SeriesKind::Custom,
        }
    }

    /// The CPython pool a series of this kind with a `python` workload and no `pool` table
    /// runs on; None for a kind that needs the table (`custom`) or runs no function.
    pub fn default_python_pool(self) -> Option<PoolSpec> {
        match self {
            SeriesKind::PythonThreads | SeriesKind::PythonFreeThreaded => {
                Some(PoolSpec::PythonThreads)
            }
            SeriesKind::PythonProcesses => Some(PoolSpec::PythonProcesses {
                start_method: super::StartMethod::default(),
                chunk_size: 1,
            }),
            SeriesKind::PythonInterpreters => Some(PoolSpec::PythonInterpreters),
            SeriesKind::PythonAsyncio => Some(PoolSpec::PythonAsyncio),
            SeriesKind::Rust
            | SeriesKind::SimulatedGil
            | SeriesKind::PythonGevent
            | SeriesKind::Custom => None,
        }
    }
}

impl fmt::Display for SeriesKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One configuration of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SeriesToml", into = "SeriesToml")]
pub struct SeriesSpec {
    /// The name on the chart's legend (the interpreter's version is added for Python series).
    pub label: String,
    /// What the series is.
    pub kind: SeriesKind,
    /// How it runs: a Rust workload and pool, or the Python script's settings.
    pub setup: SeriesSetup,
}

impl SeriesSpec {
    /// True when this series' count is tasks in flight, not threads: an async pool, an
    /// asyncio loop or a gevent pool (coroutines, a few threads under them).
    pub fn counts_tasks_in_flight(&self) -> bool {
        match (&self.kind, &self.setup) {
            (SeriesKind::PythonAsyncio | SeriesKind::PythonGevent, _) => true,
            (_, SeriesSetup::Rust { pool, .. } | SeriesSetup::PythonCall { pool, .. }) => {
                pool.counts_tasks_in_flight()
            }
            (_, SeriesSetup::Python(_) | SeriesSetup::Command(_)) => false,
        }
    }
}

/// How a series runs; which one follows from its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesSetup {
    /// Kinds `rust`, `simulated_gil`, `custom`: pooltune's own engine.
    Rust {
        /// What each task does.
        workload: WorkloadSpec,
        /// Which pool runs the tasks.
        pool: PoolSpec,
    },
    /// Kinds `python_threads`, `python_processes`, `python_free_threaded`: the shipped script.
    Python(PythonSetup),
    /// Kind `custom` with a `command` workload: the user's program, which runs its own
    /// threads (`{threads}`); one run per trial.
    Command(CommandSpec),
    /// A `python` workload: the user's function, called per task by one of CPython's pools.
    PythonCall {
        /// The function and its arguments.
        call: PythonCallSpec,
        /// The CPython pool (`python_threads`, `python_processes`, `python_interpreters`).
        pool: PoolSpec,
    },
}

impl SeriesSetup {
    /// The setup a `workload` table and a `pool` table describe: a built-in workload or a
    /// command per task on a Rust pool, the user's program on its own threads, or the user's
    /// Python function on a CPython pool.
    pub fn of_tables(workload: &WorkloadSpec, pool: &PoolSpec) -> SeriesSetup {
        match workload {
            WorkloadSpec::Command(command) => SeriesSetup::Command(command.clone()),
            WorkloadSpec::Python(call) => SeriesSetup::PythonCall {
                call: call.clone(),
                pool: pool.clone(),
            },
            _ => SeriesSetup::Rust {
                workload: workload.clone(),
                pool: pool.clone(),
            },
        }
    }

    /// The kind of the one series a sweep file describes: a user's Python function is its
    /// CPython pool's kind, everything else `custom`.
    pub fn sweep_file_kind(&self) -> SeriesKind {
        match self {
            SeriesSetup::PythonCall { pool, .. } => SeriesKind::of_python_pool(pool),
            SeriesSetup::Rust { .. } | SeriesSetup::Python(_) | SeriesSetup::Command(_) => {
                SeriesKind::Custom
            }
        }
    }

    /// The built-in workload a Rust series runs (what its configured W/C is read from);
    /// None for a series whose task pooltune does not build.
    pub fn built_in_workload(&self) -> Option<&WorkloadSpec> {
        match self {
            SeriesSetup::Rust { workload, .. } if workload.is_built_in() => Some(workload),
            SeriesSetup::Rust { .. }
            | SeriesSetup::Python(_)
            | SeriesSetup::Command(_)
            | SeriesSetup::PythonCall { .. } => None,
        }
    }

    /// The setup in a few words, for the list beside the chart: "cpu workload on a rayon
    /// pool" or "Python io task: C = 500 µs, W = 9500 µs, chunks of 4".
    pub fn summary(&self) -> String {
        match self {
            SeriesSetup::Rust { workload, pool } => format!(
                "{} workload on a {} pool",
                workload.kind_name(),
                pool.kind_name()
            ),
            SeriesSetup::Command(command) => format!("the program `{}`", command.run),
            SeriesSetup::PythonCall { call, pool } => {
                format!("Python function {} on {}", call.call, pool.kind_name())
            }
            SeriesSetup::Python(python) => {
                let mut text = format!(
                    "Python {} task: C = {} µs",
                    python.task.as_str(),
                    python.compute_us
                );
                if python.wait_us > 0 {
                    text.push_str(&format!(", W = {} µs", python.wait_us));
                }
                if python.chunk_size > 1 {
                    text.push_str(&format!(", chunks of {}", python.chunk_size));
                }
                text
            }
        }
    }
}

/// The Python script's settings for one series.
#[derive(Debug, Clone, PartialEq)]
pub struct PythonSetup {
    /// CPU-bound, or computation followed by a sleep standing for I/O.
    pub task: PythonTask,
    /// Pure-Python computation per task (C), calibrated to this machine like the Rust side.
    pub compute_us: u64,
    /// `time.sleep` per task after the computation (W); 0 for a `cpu` task.
    pub wait_us: u64,
    /// The interpreter to run; None finds one on PATH (`python3`, or `python3.14t` /
    /// `python3.13t` for a free-threaded series). `pooltune compare --python` overrides it.
    pub interpreter: Option<PathBuf>,
    /// Tasks per message to a worker process (`python_processes` only; 1 otherwise).
    pub chunk_size: usize,
}

/// The task a Python series runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PythonTask {
    /// `compute_us` of pure-Python computation (like the `cpu` workload).
    Cpu,
    /// `compute_us` of computation, then `time.sleep(wait_us)` (like the `blocking` workload).
    Io,
}

impl PythonTask {
    /// The name used in files and on the script's command line.
    pub fn as_str(self) -> &'static str {
        match self {
            PythonTask::Cpu => "cpu",
            PythonTask::Io => "io",
        }
    }
}

/// A series as written in the file: every key of every kind, checked against the kind when
/// converted (so a key of the wrong kind is refused with the table's line).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesToml {
    label: String,
    kind: SeriesKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    task: Option<PythonTask>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    compute_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wait_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chunk_size: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    interpreter: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workload: Option<WorkloadSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pool: Option<PoolSpec>,
}

impl TryFrom<SeriesToml> for SeriesSpec {
    type Error = String;

    // Each message starts with the key in backticks: the preset parser reports the table's
    // line, and the key first is what a reader looks for.
    fn try_from(raw: SeriesToml) -> Result<Self, Self::Error> {
        let kind = raw.kind;
        let label = raw.label.clone();
        let missing = |key: &str, needs: &str| {
            format!("`{key}` is missing: series \"{label}\" (kind {kind}) needs {needs}")
        };
        let setup = if let (SeriesKind::PythonGevent, Some(WorkloadSpec::Python(_))) =
            (kind, &raw.workload)
        {
            return Err(format!(
                "`workload` = {{ kind = \"python\" }} is refused: series \"{label}\" (kind {kind}) runs the script's own task on greenlets (task = \"io\", compute_us, wait_us); a function of yours goes on python_threads, python_processes or python_asyncio"
            ));
        } else if let (true, Some(WorkloadSpec::Python(call))) = (kind.is_python(), &raw.workload) {
            python_call_of_series(&raw, call, &label)?
        } else if kind.is_python() {
            if kind == SeriesKind::PythonInterpreters {
                return Err(format!(
                    "`workload` is missing: series \"{label}\" (kind {kind}) runs a Python function: give workload = {{ kind = \"python\", call = \"module:function\" }}"
                ));
            }
            if raw.workload.is_some() || raw.pool.is_some() {
                return Err(format!(
                    "`workload` and `pool` are for Rust series and Python functions (workload = {{ kind = \"python\", … }}): series \"{label}\" (kind {kind}) runs the Python script and takes task, compute_us, wait_us, interpreter{}",
                    if kind == SeriesKind::PythonProcesses {
                        ", chunk_size"
                    } else {
                        ""
                    }
                ));
            }
            if raw.chunk_size.is_some() && kind != SeriesKind::PythonProcesses {
                return Err(format!(
                    "`chunk_size` is only for python_processes series: series \"{label}\" (kind {kind}) hands tasks to its threads one by one"
                ));
            }
            let task = raw
                .task
                .ok_or_else(|| missing("task", "task = \"cpu\" or task = \"io\""))?;
            let compute_us = raw.compute_us.ok_or_else(|| {
                missing("compute_us", "the computation per task, in microseconds")
            })?;
            SeriesSetup::Python(PythonSetup {
                task,
                compute_us,
                wait_us: raw.wait_us.unwrap_or(0),
                interpreter: raw.interpreter,
                chunk_size: raw.chunk_size.unwrap_or(1),
            })
        } else {
            let python_keys = [
                ("task", raw.task.is_some()),
                ("compute_us", raw.compute_us.is_some()),
                ("wait_us", raw.wait_us.is_some()),
                ("chunk_size", raw.chunk_size.is_some()),
                ("interpreter", raw.interpreter.is_some()),
            ];
            if let Some((key, _)) = python_keys.iter().find(|(_, given)| *given) {
                return Err(format!(
                    "`{key}` is for Python series: series \"{label}\" (kind {kind}) takes a workload table (and a pool table), like a sweep preset"
                ));
            }
            let workload = raw.workload.ok_or_else(|| {
                missing(
                    "workload",
                    "one, such as workload = { kind = \"cpu\", compute_us = 2000 }",
                )
            })?;
            if let (WorkloadSpec::Command(_), Some(_)) = (&workload, &raw.pool) {
                return Err(format!(
                    "`pool` is refused for a command workload: series \"{label}\" runs a program that runs its own threads, told how many by {{threads}}"
                ));
            }
            SeriesSetup::of_tables(&workload, &raw.pool.unwrap_or_default())
        };
        Ok(SeriesSpec { label, kind, setup })
    }
}

/// A Python kind's series with a `python` workload: the user's function, on the pool the
/// kind names (a `pool` table may say more, such as a start method, but not another kind).
/// The script's task keys are refused: the function is the task.
fn python_call_of_series(
    raw: &SeriesToml,
    call: &PythonCallSpec,
    label: &str,
) -> Result<SeriesSetup, String> {
    let kind = raw.kind;
    let script_keys = [
        ("task", raw.task.is_some()),
        ("compute_us", raw.compute_us.is_some()),
        ("wait_us", raw.wait_us.is_some()),
        ("chunk_size", raw.chunk_size.is_some()),
        ("interpreter", raw.interpreter.is_some()),
    ];
    if let Some((key, _)) = script_keys.iter().find(|(_, given)| *given) {
        return Err(format!(
            "`{key}` is for the script's own task: series \"{label}\" (kind {kind}) calls {}; \
             its interpreter goes in the workload table, its chunk_size and start_method in \
             pool = {{ kind = \"python_processes\", … }}",
            call.call
        ));
    }
    let pool = match (&raw.pool, kind.default_python_pool()) {
        (Some(pool), Some(default)) if pool.kind_name() != default.kind_name() => {
            return Err(format!(
                "`pool` = {{ kind = \"{}\" }} does not match series \"{label}\" (kind {kind}): \
                 its pool is {}; leave the pool table out or make the kinds agree",
                pool.kind_name(),
                default.kind_name()
            ));
        }
        (Some(pool), _) => pool.clone(),
        (None, Some(default)) => default,
        (None, None) => PoolSpec::default(),
    };
    Ok(SeriesSetup::PythonCall {
        call: call.clone(),
        pool,
    })
}

impl From<SeriesSpec> for SeriesToml {
    fn from(spec: SeriesSpec) -> Self {
        let mut raw = SeriesToml {
            label: spec.label,
            kind: spec.kind,
            task: None,
            compute_us: None,
            wait_us: None,
            chunk_size: None,
            interpreter: None,
            workload: None,
            pool: None,
        };
        match spec.setup {
            SeriesSetup::Rust { workload, pool } => {
                raw.workload = Some(workload);
                raw.pool = Some(pool);
            }
            SeriesSetup::Command(command) => raw.workload = Some(WorkloadSpec::Command(command)),
            SeriesSetup::PythonCall { call, pool } => {
                raw.workload = Some(WorkloadSpec::Python(call));
                raw.pool = Some(pool);
            }
            SeriesSetup::Python(python) => {
                raw.task = Some(python.task);
                raw.compute_us = Some(python.compute_us);
                raw.wait_us = Some(python.wait_us);
                raw.interpreter = python.interpreter;
                if spec.kind == SeriesKind::PythonProcesses {
                    raw.chunk_size = Some(python.chunk_size);
                }
            }
        }
        raw
    }
}

impl SeriesSpec {
    /// A `custom` series running a sweep preset's workload and pool, for building a
    /// comparison out of the user's own presets.
    pub fn from_sweep_preset(preset: &Preset, label: impl Into<String>) -> SeriesSpec {
        let setup = preset.setup();
        SeriesSpec {
            label: label.into(),
            kind: setup.sweep_file_kind(),
            setup,
        }
    }
}

impl SeriesSpec {
    /// Checks this series, the `index`-th of its comparison (0-based; named from 1), against
    /// the comparison's `sweep`.
    pub fn validate(
        &self,
        sweep: &SweepSpec,
        index: usize,
        available_memory_bytes: u64,
    ) -> Result<(), InvalidValue> {
        let place = Place::Series(index);
        if self.label.trim().is_empty() || self.label.chars().count() > limits::MAX_NAME_CHARS {
            return Err(invalid(
                place.field("label"),
                format!("{:?}", self.label),
                format!("a label of 1 to {} characters", limits::MAX_NAME_CHARS),
            ));
        }
        rules::check_setup_matches_kind(self.kind, &self.setup, place)?;
        rules::check_thread_cap(&self.setup, sweep, place)?;
        match &self.setup {
            SeriesSetup::Rust { workload, pool } => rules::check_rust_series(
                Some(self.kind),
                workload,
                pool,
                sweep,
                available_memory_bytes,
                place,
            ),
            SeriesSetup::Python(python) => {
                python.validate(place)?;
                rules::check_python_series(self.kind, python, sweep, place)
            }
            SeriesSetup::Command(command) => rules::check_command_series(command, place),
            SeriesSetup::PythonCall { call, pool } => {
                rules::check_python_call_series(call, pool, sweep, place)
            }
        }
    }
}

impl PythonSetup {
    /// Checks the script's values, each on its own; how they fit the kind and the sweep is
    /// [`rules::check_python_series`].
    fn validate(&self, place: Place) -> Result<(), InvalidValue> {
        let max_us = limits::MAX_TASK_US;
        if self.compute_us > max_us {
            return Err(invalid(
                place.field("compute_us"),
                self.compute_us,
                format!("0 to {max_us} microseconds (10 s)"),
            ));
        }
        match self.task {
            PythonTask::Cpu if self.wait_us != 0 => {
                return Err(invalid(
                    place.field("wait_us"),
                    self.wait_us,
                    "0 for task = \"cpu\"; use task = \"io\" for tasks that wait",
                ));
            }
            PythonTask::Io if self.wait_us == 0 || self.wait_us > max_us => {
                return Err(invalid(
                    place.field("wait_us"),
                    self.wait_us,
                    format!("1 to {max_us} microseconds for task = \"io\""),
                ));
            }
            _ => {}
        }
        if self.chunk_size == 0 || self.chunk_size > limits::MAX_QUEUE {
            return Err(invalid(
                place.field("chunk_size"),
                self.chunk_size,
                format!("1 to {}", limits::MAX_QUEUE),
            ));
        }
        if let Some(path) = &self.interpreter
            && path.as_os_str().is_empty()
        {
            return Err(invalid(
                place.field("interpreter"),
                "\"\"",
                "a path to a Python interpreter, or no `interpreter` key to find python3 on PATH",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::error::PresetError;
    use crate::spec::test_files::{COMPARISON as GOOD, line_of, says};
    use crate::spec::{
        self, AnyPreset, ComparisonPreset, PresetKind, comparison_to_toml as to_toml,
        load_comparison as load, parse_any, parse_comparison as parse,
    };

    /// A wrong type inside a series' inline `workload` table, or a series key, is named with
    /// its series, dotted field and its own line (issue 10, item 8), also when the same
    /// mistake is made in two series.
    #[test]
    fn a_setup_says_what_it_runs_in_a_few_words() {
        let rust = SeriesSetup::Rust {
            workload: WorkloadSpec::Cpu { compute_us: 5 },
            pool: crate::spec::PoolSpec::Rayon,
        };
        assert_eq!(rust.summary(), "cpu workload on a rayon pool");
        assert_eq!(
            rust.built_in_workload(),
            Some(&WorkloadSpec::Cpu { compute_us: 5 })
        );
        let python = SeriesSetup::Python(PythonSetup {
            task: PythonTask::Io,
            compute_us: 500,
            wait_us: 9500,
            interpreter: None,
            chunk_size: 4,
        });
        assert_eq!(
            python.summary(),
            "Python io task: C = 500 µs, W = 9500 µs, chunks of 4"
        );
        assert_eq!(python.built_in_workload(), None);
    }

    #[test]
    fn a_wrong_type_in_a_series_names_the_series_field_and_line() {
        let cases = [
            (
                GOOD.replace("compute_us = 2000 }", "compute_us = \"x\" }"),
                "workload = { kind = \"cpu\"",
                "`series[1].workload.compute_us` (the 1st [[series]]): wrong type: a string `\"x\"`",
            ),
            (
                GOOD.replace("\ncompute_us = 2000\n", "\ncompute_us = [1]\n"),
                "compute_us = [1]",
                "`series[3].compute_us` (the 3rd [[series]]): wrong type: an array `[1]`",
            ),
        ];
        for (text, line_start, expect) in cases {
            let err = parse(&text, Path::new("c.toml")).unwrap_err().to_string();
            let line = line_of(&text, line_start);
            assert!(err.starts_with(&format!("c.toml:{line}:")), "{err}");
            assert!(err.contains(expect), "{err}");
        }
    }

    /// A sweep preset given to compare names the command to use, with no `:0:0` (item 10).
    #[test]
    fn a_sweep_preset_says_to_use_sweep() {
        let sweep = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/cpu-bound.toml"),
        )
        .unwrap();
        let err = parse(&sweep, Path::new("presets/cpu-bound.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("presets/cpu-bound.toml: this is a sweep preset"),
            "{err}"
        );
        assert!(
            err.contains("`pooltune sweep --preset presets/cpu-bound.toml`"),
            "{err}"
        );
    }

    /// Validation errors in a series carry the line of the key (item 9).
    #[test]
    fn a_series_value_out_of_range_gives_its_line() {
        let text = GOOD.replace("\ncompute_us = 2000\n", "\ncompute_us = 99999999\n");
        let err = parse(&text, Path::new("c.toml")).unwrap_err().to_string();
        let line = line_of(&text, "compute_us = 99999999");
        assert!(
            err.starts_with(&format!("c.toml:{line}:1: `series[3].compute_us`")),
            "{err}"
        );
    }

    /// The one-line message the file `text` is refused with.
    fn refusal(text: &str) -> String {
        parse_str(text).unwrap_err().to_string()
    }

    fn parse_str(text: &str) -> Result<ComparisonPreset, PresetError> {
        parse(text, Path::new("cmp.toml"))
    }

    fn invalid_field(text: &str) -> String {
        match parse_str(text) {
            Err(PresetError::Invalid { invalid, .. }) => invalid.field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn parses_every_kind_of_series() {
        let c = parse_str(GOOD).unwrap();
        let kinds: Vec<SeriesKind> = c.series.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                SeriesKind::Rust,
                SeriesKind::SimulatedGil,
                SeriesKind::PythonThreads,
                SeriesKind::PythonProcesses
            ]
        );
        assert_eq!(
            c.series[1].setup,
            SeriesSetup::Rust {
                workload: WorkloadSpec::Gil {
                    compute_us: 2000,
                    wait_us: 0,
                    switch_interval_us: 5000
                },
                pool: PoolSpec::Rayon
            }
        );
        let SeriesSetup::Python(python) = &c.series[3].setup else {
            panic!("python setup expected");
        };
        assert_eq!(python.chunk_size, 4);
        assert_eq!(python.task, PythonTask::Cpu);
        assert_eq!(python.interpreter, None);
    }

    /// A Python kind's series may call the user's function: the pool follows the kind, a
    /// `pool` table of the same kind says more, another kind or a script key is refused.
    #[test]
    fn a_python_series_calls_a_function_on_the_pool_of_its_kind() {
        let with = |series: &str| format!("{GOOD}\n[[series]]\nlabel = \"Mine\"\n{series}\n");
        let call =
            "workload = { kind = \"python\", call = \"hashwork:sha256_block\", args = [1024] }";
        let c = parse_str(&with(&format!("kind = \"python_processes\"\n{call}"))).unwrap();
        let SeriesSetup::PythonCall { call: spec, pool } = &c.series[4].setup else {
            panic!("a function call expected: {:?}", c.series[4].setup);
        };
        assert_eq!(spec.call, "hashwork:sha256_block");
        assert_eq!(pool.kind_name(), "python_processes");
        let text = with(&format!(
            "kind = \"python_processes\"\n{call}\npool = {{ kind = \"python_processes\", start_method = \"spawn\" }}"
        ));
        let c = parse_str(&text).unwrap();
        assert_eq!(
            c.series[4].setup,
            SeriesSetup::PythonCall {
                call: spec.clone(),
                pool: PoolSpec::PythonProcesses {
                    start_method: crate::spec::StartMethod::Spawn,
                    chunk_size: 1
                }
            }
        );
        assert_eq!(parse_str(&to_toml(&c).unwrap()).unwrap(), c, "round trip");
        let err = refusal(&with(&format!(
            "kind = \"python_threads\"\n{call}\npool = {{ kind = \"python_processes\" }}"
        )));
        assert!(
            err.contains("does not match series \"Mine\" (kind python_threads)"),
            "{err}"
        );
        let err = refusal(&with(&format!(
            "kind = \"python_threads\"\n{call}\ncompute_us = 5"
        )));
        assert!(
            err.contains("`compute_us` is for the script's own task"),
            "{err}"
        );
        let err = refusal(&with(
            "kind = \"python_interpreters\"\ntask = \"cpu\"\ncompute_us = 5",
        ));
        assert!(err.contains("runs a Python function"), "{err}");
        // A custom series names its CPython pool; a Rust kind cannot call a function.
        let custom = with(&format!(
            "kind = \"custom\"\n{call}\npool = {{ kind = \"python_threads\" }}"
        ));
        assert!(parse_str(&custom).is_ok());
        assert_eq!(
            invalid_field(&with(&format!("kind = \"custom\"\n{call}"))),
            "series[5].pool.kind"
        );
        assert_eq!(
            invalid_field(&with(&format!("kind = \"rust\"\n{call}"))),
            "series[5].kind"
        );
    }

    /// Coroutine series: asyncio runs the script's task or an `async def` on its own pool;
    /// gevent runs the script's task only, and a function on it is refused saying where to
    /// put it.
    #[test]
    fn coroutine_series_run_the_task_or_an_async_function() {
        let with = |series: &str| format!("{GOOD}\n[[series]]\nlabel = \"Co\"\n{series}\n");
        for kind in ["python_asyncio", "python_gevent"] {
            let c = parse_str(&with(&format!(
                "kind = \"{kind}\"\ntask = \"io\"\ncompute_us = 100\nwait_us = 9900"
            )))
            .unwrap();
            assert_eq!(c.series[4].kind.as_str(), kind);
            assert!(c.series[4].kind.is_python(), "{kind}");
            assert!(
                matches!(c.series[4].setup, SeriesSetup::Python(_)),
                "{kind}"
            );
            assert_eq!(
                parse_str(&to_toml(&c).unwrap()).unwrap(),
                c,
                "{kind}: round trip"
            );
        }
        let call = "workload = { kind = \"python\", call = \"asyncwork:sleep_ms\", args = [20] }";
        let c = parse_str(&with(&format!("kind = \"python_asyncio\"\n{call}"))).unwrap();
        let SeriesSetup::PythonCall { pool, .. } = &c.series[4].setup else {
            panic!("a function call expected: {:?}", c.series[4].setup);
        };
        assert_eq!(*pool, PoolSpec::PythonAsyncio);
        assert_eq!(SeriesKind::of_python_pool(pool), SeriesKind::PythonAsyncio);
        let err = refusal(&with(&format!("kind = \"python_gevent\"\n{call}")));
        assert!(
            err.contains(
                "series \"Co\" (kind python_gevent) runs the script's own task on greenlets"
            ),
            "{err}"
        );
        assert!(err.contains("python_asyncio"), "{err}");
    }

    #[test]
    fn a_sweep_files_function_series_has_its_pools_kind() {
        let call = PythonCallSpec {
            call: "m:f".to_owned(),
            path: PathBuf::from("."),
            args: Vec::new(),
            interpreter: None,
        };
        for (pool, kind) in [
            (PoolSpec::PythonThreads, SeriesKind::PythonThreads),
            (PoolSpec::PythonInterpreters, SeriesKind::PythonInterpreters),
            (PoolSpec::Rayon, SeriesKind::Custom),
        ] {
            let setup = SeriesSetup::PythonCall {
                call: call.clone(),
                pool,
            };
            assert_eq!(setup.sweep_file_kind(), kind);
        }
        let rust = SeriesSetup::Rust {
            workload: WorkloadSpec::Cpu { compute_us: 5 },
            pool: PoolSpec::Rayon,
        };
        assert_eq!(rust.sweep_file_kind(), SeriesKind::Custom);
    }

    #[test]
    fn round_trips_through_toml() {
        let c = parse_str(GOOD).unwrap();
        let text = to_toml(&c).unwrap();
        assert_eq!(parse_str(&text).unwrap(), c, "{text}");
    }

    #[test]
    fn unknown_key_in_a_series_names_line_and_suggests() {
        let text = GOOD.replace("chunk_size = 4", "chunk_sise = 4");
        let err = parse_str(&text).unwrap_err();
        let (line, suggestion) = crate::spec::test_files::line_and_suggestion(&err);
        assert_eq!(line, 34, "{err}");
        assert_eq!(suggestion, Some("chunk_size"));
    }

    #[test]
    fn unknown_kind_suggests_the_closest() {
        let text = GOOD.replace("\"python_threads\"", "\"python_thread\"");
        let err = refusal(&text);
        assert!(err.contains("did you mean `python_threads`"), "{err}");
    }

    #[test]
    fn a_key_of_the_wrong_kind_is_refused_with_the_series_label() {
        let cases = [
            (
                "kind = \"simulated_gil\"\n",
                "kind = \"simulated_gil\"\ncompute_us = 5\n",
                &["Simulated GIL", "`compute_us` is for Python series"][..],
            ),
            (
                "chunk_size = 4",
                "chunk_size = 4\npool = { kind = \"rayon\" }",
                &["`workload` and `pool` are for Rust series"],
            ),
            (
                "task = \"cpu\"\ncompute_us = 2000\n\n",
                "task = \"cpu\"\ncompute_us = 2000\nchunk_size = 2\n\n",
                &["`chunk_size` is only for python_processes"],
            ),
        ];
        for (good, bad, expects) in cases {
            let err = refusal(&GOOD.replace(good, bad));
            for expect in expects {
                assert!(err.contains(expect), "{err}");
            }
        }
    }

    #[test]
    fn validation_names_the_series_field() {
        assert_eq!(
            invalid_field(&GOOD.replace("chunk_size = 4", "chunk_size = 0")),
            "series[4].chunk_size"
        );
        assert_eq!(
            invalid_field(&GOOD.replace(
                "task = \"cpu\"\ncompute_us = 2000\n\n",
                "task = \"cpu\"\ncompute_us = 2000\nwait_us = 10\n\n"
            )),
            "series[3].wait_us"
        );
        assert_eq!(
            invalid_field(&GOOD.replace(
                "workload = { kind = \"gil\", compute_us = 2000 }",
                "workload = { kind = \"cpu\", compute_us = 2000 }"
            )),
            "series[2].workload.kind"
        );
        assert_eq!(
            invalid_field(&GOOD.replace(
                "workload = { kind = \"cpu\", compute_us = 2000 }",
                "workload = { kind = \"cpu\", compute_us = 20000000 }"
            )),
            "series[1].workload.compute_us"
        );
        assert_eq!(
            invalid_field(&GOOD.replace("label = \"Python threads\"", "label = \"Rust threads\"")),
            "series[3].label"
        );
        assert_eq!(
            invalid_field(&GOOD.replace("trials = 3", "trials = 1")),
            "sweep.trials"
        );
        assert_eq!(
            invalid_field(&GOOD.replace("threads = [1, 2]", "threads = [1, 300]")),
            "sweep.threads"
        );
    }

    #[test]
    fn the_two_kinds_of_preset_are_told_apart() {
        let sweep_text = r#"
schema_version = 1
name = "cpu"
[workload]
kind = "cpu"
compute_us = 10
[sweep]
threads = [1]
tasks_per_trial = 10
"#;
        assert_eq!(spec::kind_of(GOOD), PresetKind::Comparison);
        assert_eq!(spec::kind_of(sweep_text), PresetKind::Sweep);
        let origin = Path::new("x.toml");
        assert!(matches!(
            parse_any(GOOD, origin),
            Ok(AnyPreset::Comparison(_))
        ));
        assert!(matches!(
            parse_any(sweep_text, origin),
            Ok(AnyPreset::Sweep(_))
        ));
        let err = spec::parse(GOOD, origin).unwrap_err().to_string();
        says(&err, &["pooltune compare", "x.toml:12:"]);
        let err = parse(sweep_text, origin).unwrap_err().to_string();
        assert!(err.contains("pooltune sweep"), "{err}");
    }

    #[test]
    fn failed_save_keeps_the_old_file() {
        let good = parse_str(GOOD).unwrap();
        let err = crate::spec::test_files::failed_save_keeps_the_old_file(good, |bad| {
            bad.series.clear();
        });
        assert!(err.contains("`series`"), "{err}");
    }

    #[test]
    fn shipped_comparisons_parse() {
        let dir = spec::shipped_presets_dir();
        for name in ["compare-gil-cpu.toml", "compare-gil-io.toml"] {
            let c = load(&dir.join(name)).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert!(c.series.len() >= 4, "{name}");
        }
    }
}
