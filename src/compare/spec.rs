//! Comparison presets: several configurations ("series") that share one `[sweep]` and are
//! drawn on one chart. Parsed as strictly as sweep presets (unknown keys refused with the file,
//! line and a suggestion, through [`preset::parse_toml`]), validated with the field's name
//! (`series[2].compute_us`), saved atomically. This module never runs anything.
//!
//! A comparison file is told from a sweep preset by its `[[series]]` tables
//! ([`preset::kind_of`]); [`load_any`] and [`list_any_presets`] read both kinds for one picker.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::PresetError;
use crate::preset::{
    self, InvalidValue, PoolSpec, Preset, PresetKind, SCHEMA_VERSION, SweepSpec, WorkloadSpec,
    limits,
};

/// Most series in one comparison: more lines than this cannot be told apart on one chart.
pub const MAX_SERIES: usize = 12;

/// Most worker processes a Python process series may start: each is a whole interpreter
/// (tens of MiB), so a typo such as 4096 is refused before the machine is swamped.
pub const MAX_PYTHON_PROCESSES: usize = 256;

/// A comparison: the same sweep run for several configurations, interleaved per thread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonPreset {
    /// Format version of the file; a newer one than [`SCHEMA_VERSION`] is refused.
    pub schema_version: u32,
    /// A short name shown in lists and above the chart.
    pub name: String,
    /// One or two sentences: what this comparison shows.
    #[serde(default)]
    pub description: String,
    /// Thread counts, trials and trial length, shared by every series.
    pub sweep: SweepSpec,
    /// The configurations compared, in the order they run at each thread count.
    pub series: Vec<SeriesSpec>,
}

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
    /// A user's own Rust configuration (any workload and pool).
    Custom,
}

impl SeriesKind {
    /// Every kind, in the order of the GIL comparison.
    pub const ALL: [SeriesKind; 6] = [
        SeriesKind::Rust,
        SeriesKind::SimulatedGil,
        SeriesKind::PythonThreads,
        SeriesKind::PythonProcesses,
        SeriesKind::PythonFreeThreaded,
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
        )
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
        let label = raw.label;
        let setup = if kind.is_python() {
            if raw.workload.is_some() || raw.pool.is_some() {
                return Err(format!(
                    "`workload` and `pool` are for Rust series: series \"{label}\" (kind {kind}) runs the Python script and takes task, compute_us, wait_us, interpreter{}",
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
            let task = raw.task.ok_or_else(|| {
                format!(
                    "`task` is missing: series \"{label}\" (kind {kind}) needs task = \"cpu\" or task = \"io\""
                )
            })?;
            let compute_us = raw.compute_us.ok_or_else(|| {
                format!(
                    "`compute_us` is missing: series \"{label}\" (kind {kind}) needs the computation per task, in microseconds"
                )
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
                format!(
                    "`workload` is missing: series \"{label}\" (kind {kind}) needs one, such as workload = {{ kind = \"cpu\", compute_us = 2000 }}"
                )
            })?;
            SeriesSetup::Rust {
                workload,
                pool: raw.pool.unwrap_or_default(),
            }
        };
        Ok(SeriesSpec { label, kind, setup })
    }
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
        SeriesSpec {
            label: label.into(),
            kind: SeriesKind::Custom,
            setup: SeriesSetup::Rust {
                workload: preset.workload.clone(),
                pool: preset.pool.clone(),
            },
        }
    }
}

fn invalid(field: String, value: impl fmt::Display, allowed: impl Into<String>) -> InvalidValue {
    InvalidValue {
        field,
        value: value.to_string(),
        allowed: allowed.into(),
    }
}

/// `series[n].` for the n-th `[[series]]` table of the file, counted from 1 as a reader does.
fn series_field(index: usize, name: &str) -> String {
    format!("series[{}].{name}", index + 1)
}

impl ComparisonPreset {
    /// The thread counts every series runs, in order.
    pub fn thread_counts(&self) -> Vec<usize> {
        self.sweep.thread_counts()
    }

    /// Checks every value against its allowed range; errors name the field as
    /// `series[n].key`, n counting the `[[series]]` tables from 1.
    pub fn validate(&self, available_memory_bytes: u64) -> Result<(), InvalidValue> {
        if self.schema_version == 0 || self.schema_version > SCHEMA_VERSION {
            return Err(invalid(
                "schema_version".into(),
                self.schema_version,
                format!("this pooltune reads schema_version 1 to {SCHEMA_VERSION}"),
            ));
        }
        if self.name.trim().is_empty() || self.name.chars().count() > limits::MAX_NAME_CHARS {
            return Err(invalid(
                "name".into(),
                format!("{:?}", self.name),
                format!("a name of 1 to {} characters", limits::MAX_NAME_CHARS),
            ));
        }
        self.sweep.validate()?;
        if self.series.is_empty() || self.series.len() > MAX_SERIES {
            return Err(invalid(
                "series".into(),
                format!("{} series", self.series.len()),
                format!("1 to {MAX_SERIES} [[series]] tables"),
            ));
        }
        let max_threads = self.thread_counts().into_iter().max().unwrap_or(1);
        for (index, series) in self.series.iter().enumerate() {
            series.validate(index, max_threads, available_memory_bytes)?;
            if let Some(first) = self.series[..index]
                .iter()
                .position(|s| s.label.trim() == series.label.trim())
            {
                return Err(invalid(
                    series_field(index, "label"),
                    format!("{:?}", series.label),
                    format!(
                        "a label of its own (series[{}] already uses it): labels tell the lines apart",
                        first + 1
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl SeriesSpec {
    /// Checks this series, the `index`-th of its comparison (0-based; named from 1).
    pub fn validate(
        &self,
        index: usize,
        max_threads: usize,
        available_memory_bytes: u64,
    ) -> Result<(), InvalidValue> {
        let field = |name: &str| series_field(index, name);
        if self.label.trim().is_empty() || self.label.chars().count() > limits::MAX_NAME_CHARS {
            return Err(invalid(
                field("label"),
                format!("{:?}", self.label),
                format!("a label of 1 to {} characters", limits::MAX_NAME_CHARS),
            ));
        }
        // The setup must match the kind even when built in code rather than parsed.
        match (&self.setup, self.kind.is_python()) {
            (SeriesSetup::Rust { .. }, true) => {
                return Err(invalid(
                    field("kind"),
                    self.kind,
                    "a Rust kind (rust, simulated_gil, custom) for a series with a workload and pool",
                ));
            }
            (SeriesSetup::Python(_), false) => {
                return Err(invalid(
                    field("kind"),
                    self.kind,
                    "a Python kind (python_threads, python_processes, python_free_threaded) for a series with a task",
                ));
            }
            _ => {}
        }
        match &self.setup {
            SeriesSetup::Rust { workload, pool } => {
                if self.kind == SeriesKind::SimulatedGil
                    && !matches!(workload, WorkloadSpec::Gil { .. })
                {
                    return Err(invalid(
                        field("workload.kind"),
                        workload.kind_name(),
                        "\"gil\" for a simulated_gil series (the simulated interpreter lock)",
                    ));
                }
                let prefix = |mut err: InvalidValue| {
                    err.field = field(&err.field);
                    err
                };
                workload
                    .validate(max_threads, available_memory_bytes)
                    .map_err(prefix)?;
                pool.validate().map_err(prefix)?;
            }
            SeriesSetup::Python(python) => {
                python.validate(index, self.kind, max_threads)?;
            }
        }
        Ok(())
    }
}

impl PythonSetup {
    fn validate(
        &self,
        index: usize,
        kind: SeriesKind,
        max_threads: usize,
    ) -> Result<(), InvalidValue> {
        let field = |name: &str| series_field(index, name);
        let max_us = limits::MAX_TASK_US;
        if self.compute_us > max_us {
            return Err(invalid(
                field("compute_us"),
                self.compute_us,
                format!("0 to {max_us} microseconds (10 s)"),
            ));
        }
        match self.task {
            PythonTask::Cpu if self.wait_us != 0 => {
                return Err(invalid(
                    field("wait_us"),
                    self.wait_us,
                    "0 for task = \"cpu\"; use task = \"io\" for tasks that wait",
                ));
            }
            PythonTask::Io if self.wait_us == 0 || self.wait_us > max_us => {
                return Err(invalid(
                    field("wait_us"),
                    self.wait_us,
                    format!("1 to {max_us} microseconds for task = \"io\""),
                ));
            }
            _ => {}
        }
        if self.chunk_size == 0 || self.chunk_size > limits::MAX_QUEUE {
            return Err(invalid(
                field("chunk_size"),
                self.chunk_size,
                format!("1 to {}", limits::MAX_QUEUE),
            ));
        }
        if kind != SeriesKind::PythonProcesses && self.chunk_size != 1 {
            return Err(invalid(
                field("chunk_size"),
                self.chunk_size,
                "1: only python_processes series send tasks in chunks",
            ));
        }
        if kind == SeriesKind::PythonProcesses && max_threads > MAX_PYTHON_PROCESSES {
            return Err(invalid(
                "sweep.threads".into(),
                max_threads,
                format!(
                    "at most {MAX_PYTHON_PROCESSES} for a comparison with a python_processes series (series[{}]): each worker is a whole interpreter",
                    index + 1
                ),
            ));
        }
        if let Some(path) = &self.interpreter
            && path.as_os_str().is_empty()
        {
            return Err(invalid(
                field("interpreter"),
                "\"\"",
                "a path to a Python interpreter, or no `interpreter` key to find python3 on PATH",
            ));
        }
        Ok(())
    }
}

/// Parses and validates a comparison preset. `origin` names the source in error messages.
pub fn parse(text: &str, origin: &Path) -> Result<ComparisonPreset, PresetError> {
    if preset::kind_of(text) == PresetKind::Sweep && text.parse::<toml::Table>().is_ok() {
        return Err(PresetError::Parse {
            path: origin.to_path_buf(),
            line: 0,
            column: 0,
            field: None,
            message: format!(
                "this is a sweep preset (it has no [[series]] tables), not a comparison: \
                 run it with `pooltune sweep --preset {}`",
                origin.display()
            ),
            suggestion: None,
        });
    }
    let comparison: ComparisonPreset = preset::parse_toml(text, origin)?;
    if comparison.schema_version > SCHEMA_VERSION {
        return Err(PresetError::SchemaTooNew {
            path: origin.to_path_buf(),
            found: comparison.schema_version,
            supported: SCHEMA_VERSION,
        });
    }
    comparison
        .validate(preset::available_memory_bytes())
        .map_err(|invalid| preset::invalid_at(text, origin, invalid))?;
    Ok(comparison)
}

/// Loads and validates a comparison preset file.
pub fn load(path: &Path) -> Result<ComparisonPreset, PresetError> {
    let text = std::fs::read_to_string(path).map_err(|source| PresetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Serializes a comparison as TOML with a header comment.
pub fn to_toml(comparison: &ComparisonPreset) -> Result<String, PresetError> {
    let body = toml::to_string_pretty(comparison).map_err(|err| PresetError::Serialize {
        message: err.to_string(),
    })?;
    Ok(format!(
        "# pooltune comparison. Edit by hand; `pooltune compare --preset THIS_FILE` runs it.\n\
         # Keys and allowed values: see README.md, section \"Threads without a GIL: compare mode\".\n{body}"
    ))
}

/// Saves a comparison atomically (validated first; a failed save leaves the old file as it was).
pub fn save(comparison: &ComparisonPreset, path: &Path) -> Result<(), PresetError> {
    comparison
        .validate(preset::available_memory_bytes())
        .map_err(|invalid| PresetError::Invalid {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            invalid,
        })?;
    let text = to_toml(comparison)?;
    crate::atomic_file::write(path, text.as_bytes()).map_err(|source| PresetError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A preset file of either kind, for a picker that offers both.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyPreset {
    /// One workload on one pool: `pooltune sweep`.
    Sweep(Preset),
    /// Several series on one chart: `pooltune compare`.
    Comparison(ComparisonPreset),
}

impl AnyPreset {
    /// The preset's name.
    pub fn name(&self) -> &str {
        match self {
            AnyPreset::Sweep(p) => &p.name,
            AnyPreset::Comparison(c) => &c.name,
        }
    }

    /// The preset's description.
    pub fn description(&self) -> &str {
        match self {
            AnyPreset::Sweep(p) => &p.description,
            AnyPreset::Comparison(c) => &c.description,
        }
    }

    /// Which kind it is.
    pub fn kind(&self) -> PresetKind {
        match self {
            AnyPreset::Sweep(_) => PresetKind::Sweep,
            AnyPreset::Comparison(_) => PresetKind::Comparison,
        }
    }
}

/// Parses either kind of preset, told apart by [`preset::kind_of`].
pub fn parse_any(text: &str, origin: &Path) -> Result<AnyPreset, PresetError> {
    match preset::kind_of(text) {
        PresetKind::Sweep => preset::parse(text, origin).map(AnyPreset::Sweep),
        PresetKind::Comparison => parse(text, origin).map(AnyPreset::Comparison),
    }
}

/// Loads either kind of preset.
pub fn load_any(path: &Path) -> Result<AnyPreset, PresetError> {
    let text = std::fs::read_to_string(path).map_err(|source| PresetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_any(&text, path)
}

/// A preset file of either kind found on disk.
#[derive(Debug, Clone)]
pub struct AnyPresetEntry {
    /// Where the file is.
    pub path: PathBuf,
    /// True for presets shipped with pooltune, false for the user's own.
    pub shipped: bool,
    /// The parsed file, or why it could not be read.
    pub loaded: Result<AnyPreset, String>,
}

/// Every preset file of both kinds in the shipped and user folders, sorted by file name.
pub fn list_any_presets() -> Vec<AnyPresetEntry> {
    preset::preset_files()
        .into_iter()
        .map(|(path, shipped)| {
            let loaded = load_any(&path).map_err(|err| err.to_string());
            AnyPresetEntry {
                path,
                shipped,
                loaded,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wrong type inside a series' inline `workload` table, or a series key, is named with
    /// its series, dotted field and its own line (issue 10, item 8), also when the same
    /// mistake is made in two series.
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
            let line = text
                .lines()
                .position(|l| l.starts_with(line_start))
                .unwrap()
                + 1;
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
        let line = text
            .lines()
            .position(|l| l.starts_with("compute_us = 99999999"))
            .unwrap()
            + 1;
        assert!(
            err.starts_with(&format!("c.toml:{line}:1: `series[3].compute_us`")),
            "{err}"
        );
    }

    const GOOD: &str = r#"
schema_version = 1
name = "GIL, CPU-bound"
description = "four ways"

[sweep]
threads = [1, 2]
trials = 3
trial_ms = 100
warmup_ms = 0

[[series]]
label = "Rust threads"
kind = "rust"
workload = { kind = "cpu", compute_us = 2000 }
pool = { kind = "rayon" }

[[series]]
label = "Simulated GIL"
kind = "simulated_gil"
workload = { kind = "gil", compute_us = 2000 }

[[series]]
label = "Python threads"
kind = "python_threads"
task = "cpu"
compute_us = 2000

[[series]]
label = "Python processes"
kind = "python_processes"
task = "cpu"
compute_us = 2000
chunk_size = 4
"#;

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
        let PresetError::Parse {
            line, suggestion, ..
        } = &err
        else {
            panic!("expected a parse error, got {err:?}");
        };
        assert_eq!(*line, 34, "{err}");
        assert_eq!(suggestion.as_deref(), Some("chunk_size"));
    }

    #[test]
    fn unknown_kind_suggests_the_closest() {
        let text = GOOD.replace("\"python_threads\"", "\"python_thread\"");
        let err = parse_str(&text).unwrap_err().to_string();
        assert!(err.contains("did you mean `python_threads`"), "{err}");
    }

    #[test]
    fn a_key_of_the_wrong_kind_is_refused_with_the_series_label() {
        let text = GOOD.replace(
            "kind = \"simulated_gil\"\n",
            "kind = \"simulated_gil\"\ncompute_us = 5\n",
        );
        let err = parse_str(&text).unwrap_err().to_string();
        assert!(err.contains("Simulated GIL"), "{err}");
        assert!(err.contains("`compute_us` is for Python series"), "{err}");
        let text = GOOD.replace(
            "chunk_size = 4",
            "chunk_size = 4\npool = { kind = \"rayon\" }",
        );
        let err = parse_str(&text).unwrap_err().to_string();
        assert!(
            err.contains("`workload` and `pool` are for Rust series"),
            "{err}"
        );
        let text = GOOD.replace(
            "task = \"cpu\"\ncompute_us = 2000\n\n",
            "task = \"cpu\"\ncompute_us = 2000\nchunk_size = 2\n\n",
        );
        let err = parse_str(&text).unwrap_err().to_string();
        assert!(
            err.contains("`chunk_size` is only for python_processes"),
            "{err}"
        );
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
        assert_eq!(preset::kind_of(GOOD), PresetKind::Comparison);
        assert_eq!(preset::kind_of(sweep_text), PresetKind::Sweep);
        let origin = Path::new("x.toml");
        assert!(matches!(
            parse_any(GOOD, origin),
            Ok(AnyPreset::Comparison(_))
        ));
        assert!(matches!(
            parse_any(sweep_text, origin),
            Ok(AnyPreset::Sweep(_))
        ));
        let err = preset::parse(GOOD, origin).unwrap_err().to_string();
        assert!(err.contains("pooltune compare"), "{err}");
        assert!(err.contains("x.toml:12:"), "{err}");
        let err = parse(sweep_text, origin).unwrap_err().to_string();
        assert!(err.contains("pooltune sweep"), "{err}");
    }

    #[test]
    fn failed_save_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let good = parse_str(GOOD).unwrap();
        save(&good, &path).unwrap();
        let before = std::fs::read_to_string(&path).unwrap();
        assert_eq!(load(&path).unwrap(), good);
        let mut bad = good.clone();
        bad.series.clear();
        let err = save(&bad, &path).unwrap_err().to_string();
        assert!(err.contains("`series`"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    }

    /// The bug of issue 11: a process pool with eager feeding whose task list does not fit in
    /// memory was refused in a sweep preset but accepted as a comparison series.
    #[test]
    fn eager_feeding_that_cannot_fit_is_refused_in_a_series() {
        let text = format!(
            "{}\n[[series]]\nlabel = \"Eager\"\nkind = \"custom\"\nworkload = {{ kind = \"cpu\", compute_us = 10 }}\npool = {{ kind = \"process\", feeding = \"eager\" }}\n",
            GOOD.replace("trial_ms = 100", "tasks_per_trial = 1000000")
        );
        let comparison: ComparisonPreset =
            preset::parse_toml(&text, Path::new("c.toml")).unwrap();
        assert!(comparison.validate(u64::MAX).is_ok());
        let invalid = comparison.validate(10 << 20).unwrap_err();
        assert_eq!(invalid.field, "series[5].pool.feeding");
        assert!(invalid.allowed.contains("lazy"), "{invalid}");
        let err = preset::invalid_at(&text, Path::new("c.toml"), invalid).to_string();
        let line = text
            .lines()
            .position(|l| l.starts_with("pool = { kind = \"process\""))
            .unwrap()
            + 1;
        assert!(
            err.starts_with(&format!("c.toml:{line}:")),
            "{err}"
        );
        assert!(err.contains("`series[5].pool.feeding` (the 5th [[series]]) = eager"), "{err}");
    }

    #[test]
    fn shipped_comparisons_parse() {
        let dir = preset::shipped_presets_dir();
        for name in ["compare-gil-cpu.toml", "compare-gil-io.toml"] {
            let c = load(&dir.join(name)).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert!(c.series.len() >= 4, "{name}");
        }
    }
}
