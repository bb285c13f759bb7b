//! What the engine produces: one [`SeriesResult`] per series of a run, each with its
//! [`Point`]s, held by one [`RunResult`]. A comparison's [`crate::result::comparison::ComparisonResult`]
//! is this type with its preset (its JSON is this type's); a sweep's
//! [`crate::result::SweepResult`] is made from the one-series case. Nothing here measures or
//! draws.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::machine::MachineInfo;
use crate::result::{Calibration, Point};
use crate::spec::SeriesKind;

/// A whole series run: where, what (`preset`: `()` as the engine hands it over, the
/// comparison's preset in a [`crate::result::comparison::ComparisonResult`]), with what calibration, and
/// one result per series. The field order is the comparison JSON's key order: keep it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult<P = ()> {
    /// The machine it ran on (its logical and physical CPU counts are marked on the charts).
    pub machine: MachineInfo,
    /// What was run, exactly as run (after any `--threads` override).
    pub preset: P,
    /// The run's calibration (the Rust series').
    pub calibration: Calibration,
    /// Thread counts, in the order run.
    pub thread_counts: Vec<usize>,
    /// One result per series, in the plan's order.
    pub series: Vec<SeriesResult>,
    /// Stopped or not, when, how long, and the warnings (written inline: `cancelled`,
    /// `started_unix_s`, `duration_s`, `warnings` stay top-level keys, last).
    #[serde(flatten)]
    pub outcome: RunOutcome,
}

/// How a run went, the same for every experiment (a comparison, a sweep, the worker cost):
/// the last fields of each result, written inline in its JSON (`#[serde(flatten)]` keeps
/// the keys where they always were).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    /// True when the run was stopped before the end (before every thread count ran).
    pub cancelled: bool,
    /// When it started, seconds since the Unix epoch.
    pub started_unix_s: u64,
    /// How long it took, in seconds.
    pub duration_s: f64,
    /// Plain sentences, each with its figure, about what makes the result less than
    /// trustworthy: a busy machine, a shape no measurement can honestly have, a figure that
    /// could not be measured cleanly (see [`crate::trust`]); a comparison's name their series.
    /// Empty when there is nothing to say. The engine leaves it empty: the experiment that
    /// knows its preset fills it.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl RunOutcome {
    /// A run that started at `started_unix_s`, not stopped, no time taken, no warnings yet.
    pub fn started_at(started_unix_s: u64) -> RunOutcome {
        RunOutcome {
            cancelled: false,
            started_unix_s,
            duration_s: 0.0,
            warnings: Vec::new(),
        }
    }
}

impl<P> RunResult<P> {
    /// The same run, described by `preset` (its warnings kept).
    pub fn with_preset<Q>(self, preset: Q) -> RunResult<Q> {
        RunResult {
            machine: self.machine,
            preset,
            calibration: self.calibration,
            thread_counts: self.thread_counts,
            series: self.series,
            outcome: self.outcome,
        }
    }
}

/// One series of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesResult {
    /// The legend: the preset's label, with the interpreter's version and GIL state added for
    /// Python series (`Python threads (CPython 3.11.7, GIL on)`).
    pub label: String,
    /// What the series is.
    pub kind: SeriesKind,
    /// The Python interpreter that ran it (null for Rust series and for a Python series whose
    /// interpreter was not found).
    pub interpreter: Option<InterpreterInfo>,
    /// One point per thread count measured, in order; the same fields as a sweep's points.
    /// Python points fill what the script measures and leave the rest null.
    pub points: Vec<Point>,
    /// Why the series stopped or did not run at all (no interpreter, malformed script output),
    /// or null. The points measured before the failure stay.
    pub error: Option<String>,
}

/// The interpreter a Python series ran on, as the script reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterpreterInfo {
    /// The executable run.
    pub path: PathBuf,
    /// `sys.implementation.name` (`cpython`).
    pub implementation: String,
    /// `platform.python_version()` (`3.13.0`).
    pub version: String,
    /// Whether the GIL is on (`sys._is_gil_enabled()`; always true before 3.13).
    pub gil_enabled: bool,
    /// A free-threaded build (`Py_GIL_DISABLED`, such as `python3.13t`).
    pub free_threaded_build: bool,
    /// Iterations of the script's task loop per microsecond of CPU: `compute_us` is turned
    /// into loop iterations with this, once for the whole series.
    pub loops_per_us: f64,
}

impl InterpreterInfo {
    /// `CPython 3.11.7, GIL on`: what a legend adds to a Python series' label.
    pub fn describe(&self) -> String {
        let name = match self.implementation.as_str() {
            "cpython" => "CPython",
            "pypy" => "PyPy",
            other => other,
        };
        format!(
            "{name} {}, GIL {}",
            self.version,
            if self.gil_enabled { "on" } else { "off" }
        )
    }
}
