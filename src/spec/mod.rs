//! One experiment format for every file pooltune reads: a header (`schema_version`, `name`,
//! `description`), a `[sweep]` (thread counts, trials, trial length) and its series. A sweep
//! file is one series (`[workload]` + `[pool]`, [`Preset`]); a comparison file is several
//! (`[[series]]`, [`ComparisonPreset`]). A series is a source × an executor ([`SeriesSpec`]).
//!
//! Files are parsed strictly ([`strict_toml`]: unknown keys and kinds refused with the file,
//! line and a suggestion), then validated (every value out of range refused with the field,
//! the value, what is allowed and the line of its key; every rule between the parts in
//! [`rules`]), and saved atomically. This module and its children never run anything and
//! never import egui.
//!
//! - [`header`]: the header, checked once for both kinds.
//! - [`sweep`], [`workload`], [`pool`]: the tables and the check of each value.
//! - [`series`]: a comparison's series; [`rules`]: how the parts fit together.
//! - [`experiment`]: the two kinds of file; this module: parse / load / save / list of both.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::PresetError;

pub mod command;
pub mod consent;
pub mod experiment;
pub mod folders;
pub mod header;
pub mod pool;
pub mod python_call;
pub mod rules;
pub mod series;
pub mod strict_toml;
pub mod sweep;
pub mod workload;

pub use command::{CommandLine, CommandSpec, ExecSpec};
pub use experiment::{ComparisonPreset, MAX_SERIES, Preset};
pub use folders::{prepare_save_folder, preset_files, shipped_presets_dir, user_presets_dir};
pub use header::{Header, SCHEMA_VERSION};
pub use pool::{Feeding, PoolSpec, StartMethod};
pub use python_call::PythonCallSpec;
pub use rules::{MAX_PYTHON_PROCESSES, async_refusal};
pub use series::{PythonSetup, PythonTask, SeriesKind, SeriesSetup, SeriesSpec};
pub use strict_toml::{field_location, invalid_at, parse_toml};
pub use sweep::{
    MAX_CONCURRENCY, MAX_THREADS, RangeStep, SearchKind, SweepSpec, ThreadRange, TrialLength,
};
pub use workload::{SharedStrategy, WorkloadSpec};

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

/// An [`InvalidValue`]: the one builder every check of this module uses.
pub(crate) fn invalid(
    field: impl Into<String>,
    value: impl fmt::Display,
    allowed: impl Into<String>,
) -> InvalidValue {
    InvalidValue {
        field: field.into(),
        value: value.to_string(),
        allowed: allowed.into(),
    }
}

/// Refuses `value` outside `lo..=hi` with `allowed` (`1 to 64`): the range check every
/// table's values go through.
pub(crate) fn check_within<T: PartialOrd + fmt::Display>(
    field: &str,
    value: T,
    (lo, hi): (T, T),
    allowed: impl Into<String>,
) -> Result<(), InvalidValue> {
    if value < lo || value > hi {
        return Err(invalid(field, value, allowed));
    }
    Ok(())
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

/// Memory a workload may use, read from the OS; used to bound buffers in validation.
pub fn available_memory_bytes() -> u64 {
    crate::machine::available_memory_bytes()
}

/// What a preset file holds. Both kinds live side by side in the preset folders and share
/// `schema_version`, `name`, `description` and `[sweep]`; a comparison is told apart by its
/// `[[series]]` tables.
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

/// A kind of experiment file: parsed, validated, written and saved the same way for both
/// kinds, so that each step is written once.
pub trait Experiment: Serialize + DeserializeOwned {
    /// Which kind of file this is; a file of the other kind is refused with the command
    /// that runs it.
    const KIND: PresetKind;
    /// The comment lines a saved file starts with.
    const TOML_PREAMBLE: &'static str;

    /// The file's header.
    fn header(&self) -> Header<'_>;

    /// The file's `[sweep]`, for overrides such as `--threads`.
    fn sweep_mut(&mut self) -> &mut SweepSpec;

    /// Checks every value and every rule; `available_memory_bytes` bounds what a workload may
    /// ask for.
    fn check_values(&self, available_memory_bytes: u64) -> Result<(), InvalidValue>;

    /// Remembers where the file was read from (`origin`), for paths relative to its folder.
    fn came_from(&mut self, _origin: &Path) {}

    /// Parses and validates the file's text. `origin` names the source in error messages.
    fn parse(text: &str, origin: &Path) -> Result<Self, PresetError> {
        refuse_the_other_kind(Self::KIND, text, origin)?;
        let mut experiment: Self = parse_toml(text, origin)?;
        experiment
            .check_values(available_memory_bytes())
            .map_err(|invalid| invalid_at(text, origin, invalid))?;
        experiment.came_from(origin);
        Ok(experiment)
    }

    /// Loads and validates a file.
    fn load(path: &Path) -> Result<Self, PresetError> {
        Self::parse(&read(path)?, path)
    }

    /// The file as TOML, with its header comment.
    fn to_toml(&self) -> Result<String, PresetError> {
        let body = toml::to_string_pretty(self).map_err(|err| PresetError::Serialize {
            message: err.to_string(),
        })?;
        Ok(format!("{}{body}", Self::TOML_PREAMBLE))
    }

    /// Saves atomically: validated first, written to a temporary file in the same folder,
    /// synced, then renamed over `path`. A failed save leaves whatever was at `path` untouched.
    fn save(&self, path: &Path) -> Result<(), PresetError> {
        self.check_values(available_memory_bytes())
            .map_err(|invalid| PresetError::Invalid {
                path: path.to_path_buf(),
                line: 0,
                column: 0,
                invalid,
            })?;
        let text = self.to_toml()?;
        crate::atomic_file::write(path, text.as_bytes()).map_err(|source| PresetError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// A file's text, or the error naming it.
fn read(path: &Path) -> Result<String, PresetError> {
    std::fs::read_to_string(path).map_err(|source| PresetError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Refuses a file of the other kind than `wanted`, naming the command that runs it.
fn refuse_the_other_kind(wanted: PresetKind, text: &str, origin: &Path) -> Result<(), PresetError> {
    match (wanted, kind_of(text)) {
        (PresetKind::Sweep, PresetKind::Comparison) => {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("[[series]]"))
                .map_or(0, |index| index + 1);
            Err(PresetError::Parse {
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
            })
        }
        // Text that is not TOML counts as a sweep file: its parse error is the one to show.
        (PresetKind::Comparison, PresetKind::Sweep) if text.parse::<toml::Table>().is_ok() => {
            Err(PresetError::Parse {
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
            })
        }
        _ => Ok(()),
    }
}

/// Parses and validates a sweep preset. `origin` names the source in error messages.
pub fn parse(text: &str, origin: &Path) -> Result<Preset, PresetError> {
    Preset::parse(text, origin)
}

/// Loads and validates a sweep preset file.
pub fn load(path: &Path) -> Result<Preset, PresetError> {
    Preset::load(path)
}

/// Serializes a sweep preset as TOML with a header comment.
pub fn to_toml(preset: &Preset) -> Result<String, PresetError> {
    preset.to_toml()
}

/// Saves a sweep preset atomically (see [`Experiment::save`]).
pub fn save(preset: &Preset, path: &Path) -> Result<(), PresetError> {
    preset.save(path)
}

/// Parses and validates a comparison preset. `origin` names the source in error messages.
pub fn parse_comparison(text: &str, origin: &Path) -> Result<ComparisonPreset, PresetError> {
    ComparisonPreset::parse(text, origin)
}

/// Loads and validates a comparison preset file.
pub fn load_comparison(path: &Path) -> Result<ComparisonPreset, PresetError> {
    ComparisonPreset::load(path)
}

/// Serializes a comparison as TOML with a header comment.
pub fn comparison_to_toml(comparison: &ComparisonPreset) -> Result<String, PresetError> {
    comparison.to_toml()
}

/// Saves a comparison atomically (see [`Experiment::save`]).
pub fn save_comparison(comparison: &ComparisonPreset, path: &Path) -> Result<(), PresetError> {
    comparison.save(path)
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
    /// The preset's header.
    pub fn header(&self) -> Header<'_> {
        match self {
            AnyPreset::Sweep(preset) => preset.header(),
            AnyPreset::Comparison(comparison) => comparison.header(),
        }
    }

    /// The preset's name.
    pub fn name(&self) -> &str {
        self.header().name
    }

    /// The preset's description.
    pub fn description(&self) -> &str {
        self.header().description
    }

    /// Which kind it is.
    pub fn kind(&self) -> PresetKind {
        match self {
            AnyPreset::Sweep(_) => PresetKind::Sweep,
            AnyPreset::Comparison(_) => PresetKind::Comparison,
        }
    }
}

/// Parses either kind of preset, told apart by [`kind_of`].
pub fn parse_any(text: &str, origin: &Path) -> Result<AnyPreset, PresetError> {
    match kind_of(text) {
        PresetKind::Sweep => Preset::parse(text, origin).map(AnyPreset::Sweep),
        PresetKind::Comparison => ComparisonPreset::parse(text, origin).map(AnyPreset::Comparison),
    }
}

/// Loads either kind of preset.
pub fn load_any(path: &Path) -> Result<AnyPreset, PresetError> {
    parse_any(&read(path)?, path)
}

/// A preset file found on disk, for listings and pickers: `T` is [`Preset`] for a list of
/// sweep presets, [`AnyPreset`] for a list of both kinds.
#[derive(Debug, Clone)]
pub struct Entry<T> {
    /// Where the file is.
    pub path: PathBuf,
    /// True for presets shipped with pooltune, false for the user's own.
    pub shipped: bool,
    /// The parsed file, or why it could not be read.
    pub loaded: Result<T, String>,
}

/// A sweep preset found on disk.
pub type PresetEntry = Entry<Preset>;

/// A preset file of either kind found on disk.
pub type AnyPresetEntry = Entry<AnyPreset>;

/// Every preset file of both kinds in the shipped and user folders, sorted by file name.
pub fn list_any_presets() -> Vec<AnyPresetEntry> {
    preset_files()
        .into_iter()
        .map(|(path, shipped)| Entry {
            loaded: load_any(&path).map_err(|err| err.to_string()),
            path,
            shipped,
        })
        .collect()
}

/// Lists every sweep preset (`.toml` file that is not a comparison) in the shipped and user
/// preset folders, sorted by file name.
pub fn list_presets() -> Vec<PresetEntry> {
    preset_files()
        .into_iter()
        // Comparison files share the folders; `list_any_presets` lists both kinds.
        .filter(|(path, _)| {
            !std::fs::read_to_string(path)
                .is_ok_and(|text| kind_of(&text) == PresetKind::Comparison)
        })
        .map(|(path, shipped)| Entry {
            loaded: load(&path).map_err(|err| err.to_string()),
            path,
            shipped,
        })
        .collect()
}

/// The files the unit tests of this module and its children start from.
#[cfg(test)]
pub(crate) mod test_files {
    use crate::error::PresetError;

    /// The 1-based line of the first line of `text` that starts with `start`.
    pub fn line_of(text: &str, start: &str) -> usize {
        text.lines()
            .position(|line| line.starts_with(start))
            .map(|index| index + 1)
            .unwrap_or_else(|| panic!("no line starts with {start:?}"))
    }

    /// Asserts that `message` says every one of `parts`, showing it when it does not.
    pub fn says(message: &str, parts: &[&str]) {
        for part in parts {
            assert!(message.contains(part), "{message}");
        }
    }

    /// Saves `good`, then a copy broken by `break_it` over it: the second save fails, the file
    /// still holds (and loads as) `good`. Returns the failed save's message.
    pub fn failed_save_keeps_the_old_file<T>(good: T, break_it: impl FnOnce(&mut T)) -> String
    where
        T: super::Experiment + Clone + PartialEq + std::fmt::Debug,
    {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file.toml");
        good.save(&path).unwrap();
        let before = std::fs::read_to_string(&path).unwrap();
        // Loaded, it also knows its folder (never written): equal to `good` once saved.
        let again = dir.path().join("again.toml");
        T::load(&path).unwrap().save(&again).unwrap();
        assert_eq!(std::fs::read_to_string(&again).unwrap(), before);
        let mut bad = good.clone();
        break_it(&mut bad);
        let err = bad.save(&path).unwrap_err().to_string();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
        err
    }

    /// The line and suggestion of a parse error (an unknown key), or a panic naming the error.
    pub fn line_and_suggestion(err: &PresetError) -> (usize, Option<&str>) {
        let PresetError::Parse {
            line, suggestion, ..
        } = err
        else {
            panic!("expected a parse error, got {err:?}");
        };
        (*line, suggestion.as_deref())
    }

    /// A sweep file with every table written.
    pub const SWEEP: &str = r#"
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

    /// A comparison with a series of each of four kinds.
    pub const COMPARISON: &str = r#"
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_files::{SWEEP as GOOD, line_of, says};

    /// The one-line message the file `text` is refused with.
    fn refusal(text: &str) -> String {
        parse_str(text).unwrap_err().to_string()
    }

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
        let want_line = line_of(&text, "pool =");
        assert!(
            message.starts_with(&format!("test.toml:{want_line}:")),
            "{message}"
        );
        says(&message, &["`pool.queue_capacity`", "a boolean `true`"]);
    }

    /// A whole number of the wrong type says the field's real range, not "0 or more" for a
    /// field that refuses 0; an element of a list is named counting from 1.
    #[test]
    fn a_wrong_typed_count_says_its_range() {
        let text = GOOD.replace("threads = [1, 2, 4]", "threads = [1, 2, \"x\"]");
        let message = refusal(&text);
        assert!(
            message.contains(
                "`sweep.threads[3]` (the 3rd value of `threads`): wrong type: a string `\"x\"`, expected a whole number from 1 to 65536"
            ),
            "{message}"
        );
        let text = GOOD.replace("trials = 3", "trials = -3");
        let message = refusal(&text);
        says(&message, &["`sweep.trials`", "from 3 to 100"]);
    }

    /// Validation errors carry the line of the offending key (issue 10, item 9).
    #[test]
    fn a_value_out_of_range_gives_the_line_of_its_key() {
        let text = GOOD.replace("threads = [1, 2, 4]", "threads = [1, 0, 4]");
        let err = parse_str(&text).unwrap_err();
        let want_line = line_of(&text, "threads =");
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
    fn unknown_key_names_line_and_suggests() {
        let text = GOOD.replace("wait_us = 9000", "wiat_us = 9000");
        let err = parse_str(&text).unwrap_err();
        let (line, suggestion) = test_files::line_and_suggestion(&err);
        assert_eq!(line, 8);
        assert_eq!(suggestion, Some("wait_us"));
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
        let message = refusal(&text);
        assert!(message.contains("`schema_version`:"), "{message}");
        let text = GOOD.replace("name = \"Web service\"", "name = 5");
        let message = refusal(&text);
        assert!(message.contains("`name`:"), "{message}");
    }

    #[test]
    fn an_unknown_table_is_named_as_written() {
        let text = format!("{GOOD}[extra]\nanswer = 42\n");
        let message = refusal(&text);
        says(
            &message,
            &[": `extra`: unknown field `extra`", "test.toml:15:"],
        );
    }

    #[test]
    fn a_missing_kind_lists_the_kinds() {
        let text = GOOD.replace("kind = \"blocking\"\n", "");
        let message = refusal(&text);
        // Line 5 is `[workload]`; the `kind =` of `[pool]` below it is another table's.
        says(
            &message,
            &[
                "test.toml:5:",
                "`workload.kind`",
                "cpu, blocking, file_io, memory, contended, gil, shared_state",
            ],
        );
        let text = GOOD.replace("kind = \"rayon\"\n", "");
        let message = refusal(&text);
        says(
            &message,
            &[
                "`pool.kind`",
                "rayon, queue, spawn, async, process, python_threads",
            ],
        );
        let text = GOOD.replace(
            "kind = \"blocking\"\ncompute_us = 1000\nwait_us = 9000",
            "kind = \"shared_state\"",
        );
        let message = refusal(&text);
        says(
            &message,
            &[
                "`workload.strategy`",
                "mutex, atomic, channel, thread_local",
            ],
        );
    }

    #[test]
    fn zero_threads_names_the_field() {
        let text = GOOD.replace("[1, 2, 4]", "[1, 0, 4]");
        let err = parse_str(&text).unwrap_err();
        let message = err.to_string();
        says(
            &message,
            &["sweep.threads", "1 to 4096", "65536 on an async pool"],
        );
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
        let message = refusal(&too_many);
        says(&message, &["sweep.retry_disturbed", "0 (never) to 5"]);
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
            let (json, toml) = match crate::spec::load_any(&path).unwrap() {
                crate::spec::AnyPreset::Sweep(preset) => (
                    serde_json::to_string_pretty(&preset).unwrap(),
                    to_toml(&preset).unwrap(),
                ),
                crate::spec::AnyPreset::Comparison(comparison) => (
                    serde_json::to_string_pretty(&comparison).unwrap(),
                    crate::spec::comparison_to_toml(&comparison).unwrap(),
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
        let good = parse_str(GOOD).unwrap();
        test_files::failed_save_keeps_the_old_file(good, |bad| bad.sweep.trials = 0);
    }
}
