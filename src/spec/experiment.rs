//! The two kinds of experiment file: a sweep file ([`Preset`], `[workload]` + `[pool]`: one
//! series) and a comparison file ([`ComparisonPreset`], `[[series]]`: several), sharing the
//! header and `[sweep]`. Each checks its header, its sweep, then every series through the
//! same [`super::rules`]. They serialise exactly as they always have: result JSON
//! embeds them. This module never reads a file (that is [`super`]) nor runs anything.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::rules::{self, Place};
use super::{
    Experiment, Header, InvalidValue, PoolSpec, PresetKind, SeriesSetup, SeriesSpec, SweepSpec,
    WorkloadSpec, header, invalid,
};

/// Most series in one comparison: more lines than this cannot be told apart on one chart.
pub const MAX_SERIES: usize = 12;

/// [`Experiment`] for a file type with the header fields, a `sweep` and a `validate`: what
/// both kinds have alike, written once.
macro_rules! impl_experiment {
    ($file:ty, $kind:expr, $preamble:expr) => {
        impl Experiment for $file {
            const KIND: PresetKind = $kind;
            const TOML_PREAMBLE: &'static str = $preamble;

            fn header(&self) -> Header<'_> {
                Header {
                    schema_version: self.schema_version,
                    name: &self.name,
                    description: &self.description,
                }
            }

            fn sweep_mut(&mut self) -> &mut SweepSpec {
                &mut self.sweep
            }

            fn check_values(&self, available_memory_bytes: u64) -> Result<(), InvalidValue> {
                self.validate(available_memory_bytes)
            }

            fn came_from(&mut self, origin: &std::path::Path) {
                self.came_from_file(origin)
            }
        }
    };
}

/// One experiment: what each task does, which pool runs the tasks, and which thread counts to try.
/// Two presets are equal when they say the same: where the file was read from
/// ([`Preset::folder`]) is not part of what it says, so a draft equals the file it was saved to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "PresetToml", into = "PresetToml")]
pub struct Preset {
    /// Format version of the file; a newer one than [`SCHEMA_VERSION`](super::SCHEMA_VERSION) is refused.
    pub schema_version: u32,
    /// A short name shown in lists and on plots.
    pub name: String,
    /// One or two sentences: what this experiment shows.
    #[serde(default)]
    pub description: String,
    /// What one task does.
    pub workload: WorkloadSpec,
    /// Which kind of pool runs the tasks. A `command` workload is its own pool: its file has
    /// no `[pool]` table (one is refused), this holds the default and is never written.
    pub pool: PoolSpec,
    /// Thread counts, trials and trial length.
    pub sweep: SweepSpec,
    /// The folder of the file this was read from: a command's relative paths resolve against
    /// it and its runs start in it. None for a preset made in memory (the current directory).
    /// Never written to a file.
    pub folder: Option<PathBuf>,
}

impl PartialEq for Preset {
    fn eq(&self, other: &Self) -> bool {
        // Every field but `folder`, written out so that a new field is not forgotten here.
        let Preset {
            schema_version,
            name,
            description,
            workload,
            pool,
            sweep,
            folder: _,
        } = self;
        *schema_version == other.schema_version
            && *name == other.name
            && *description == other.description
            && *workload == other.workload
            && *pool == other.pool
            && *sweep == other.sweep
    }
}

/// A sweep file as written: the `[pool]` table may be absent (rayon), and must be for a
/// `command` workload, which runs its own threads.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetToml {
    schema_version: u32,
    name: String,
    #[serde(default)]
    description: String,
    workload: WorkloadSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pool: Option<PoolSpec>,
    sweep: SweepSpec,
}

impl TryFrom<PresetToml> for Preset {
    type Error = String;

    // The message starts with the key in backticks: the parser reports the table's line.
    fn try_from(raw: PresetToml) -> Result<Self, Self::Error> {
        if let (WorkloadSpec::Command(_), Some(pool)) = (&raw.workload, &raw.pool) {
            return Err(format!(
                "`pool` is refused for a command workload (kind = \"{}\" given): the program \
                 runs its own threads, told how many by {{threads}} in `run` or `env`; remove \
                 the [pool] table",
                pool.kind_name()
            ));
        }
        Ok(Preset {
            schema_version: raw.schema_version,
            name: raw.name,
            description: raw.description,
            workload: raw.workload,
            pool: raw.pool.unwrap_or_default(),
            sweep: raw.sweep,
            folder: None,
        })
    }
}

impl From<Preset> for PresetToml {
    fn from(preset: Preset) -> Self {
        let pool = match preset.workload {
            WorkloadSpec::Command(_) => None,
            _ => Some(preset.pool),
        };
        PresetToml {
            schema_version: preset.schema_version,
            name: preset.name,
            description: preset.description,
            workload: preset.workload,
            pool,
            sweep: preset.sweep,
        }
    }
}

impl Preset {
    /// Sets [`Preset::folder`] to the folder of the file `origin`; a name without a folder
    /// (an in-memory preset's label) leaves it None.
    fn came_from_file(&mut self, origin: &Path) {
        self.folder = origin
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty())
            .map(Path::to_path_buf);
    }

    /// The folder a command's relative paths resolve against and its runs start in: the
    /// file's folder, or the current directory for a preset made in memory.
    pub fn run_folder(&self) -> PathBuf {
        match &self.folder {
            Some(folder) => folder.clone(),
            None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        }
    }

    /// The one series this file describes: its workload on its pool, the user's program on
    /// its own threads, or the user's Python function on a CPython pool.
    pub fn setup(&self) -> SeriesSetup {
        SeriesSetup::of_tables(&self.workload, &self.pool)
    }

    /// Checks every value against its allowed range and every rule between the workload,
    /// the pool and the sweep. `available_memory_bytes` bounds the memory a workload may ask
    /// for (all workers' buffers together).
    pub fn validate(&self, available_memory_bytes: u64) -> Result<(), InvalidValue> {
        header::check(self.schema_version, &self.name)?;
        if matches!(self.workload, WorkloadSpec::Command(_)) {
            // One trial is one run of the program: no trial length to give.
            self.sweep.validate_runs()?;
        } else {
            self.sweep.validate()?;
        }
        let place = Place::SweepFile;
        rules::check_thread_cap(&self.setup(), &self.sweep, place)?;
        match self.setup() {
            SeriesSetup::Rust { workload, pool } => rules::check_rust_series(
                None,
                &workload,
                &pool,
                &self.sweep,
                available_memory_bytes,
                place,
            ),
            SeriesSetup::Command(command) => rules::check_command_series(&command, place),
            SeriesSetup::PythonCall { call, pool } => {
                rules::check_python_call_series(&call, &pool, &self.sweep, place)
            }
            SeriesSetup::Python(_) => Ok(()),
        }
    }
}

impl_experiment!(
    Preset,
    PresetKind::Sweep,
    "# pooltune preset. Edit by hand; `pooltune sweep --preset THIS_FILE` runs it.\n\
     # Keys and allowed values: see README.md, section \"Presets\".\n"
);

/// A comparison: the same sweep run for several configurations, interleaved per thread count.
/// Equal when they say the same, wherever the files were read from (as [`Preset`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonPreset {
    /// Format version of the file; a newer one than [`SCHEMA_VERSION`](super::SCHEMA_VERSION) is refused.
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
    /// The folder of the file this was read from: a Python function's relative `path`
    /// resolves against it. None for a comparison made in memory (the current directory).
    /// Never written.
    #[serde(skip)]
    pub folder: Option<PathBuf>,
}

impl PartialEq for ComparisonPreset {
    fn eq(&self, other: &Self) -> bool {
        // Every field but `folder`, written out so that a new field is not forgotten here.
        let ComparisonPreset {
            schema_version,
            name,
            description,
            sweep,
            series,
            folder: _,
        } = self;
        *schema_version == other.schema_version
            && *name == other.name
            && *description == other.description
            && *sweep == other.sweep
            && *series == other.series
    }
}

impl ComparisonPreset {
    /// Sets [`ComparisonPreset::folder`] to the folder of the file `origin`; a name without a
    /// folder leaves it None.
    fn came_from_file(&mut self, origin: &Path) {
        self.folder = origin
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty())
            .map(Path::to_path_buf);
    }

    /// The thread counts every series runs, in order.
    pub fn thread_counts(&self) -> Vec<usize> {
        self.sweep.thread_counts()
    }

    /// Checks every value against its allowed range; errors name the field as
    /// `series[n].key`, n counting the `[[series]]` tables from 1.
    pub fn validate(&self, available_memory_bytes: u64) -> Result<(), InvalidValue> {
        header::check(self.schema_version, &self.name)?;
        self.sweep.validate()?;
        if self.series.is_empty() || self.series.len() > MAX_SERIES {
            return Err(invalid(
                "series",
                format!("{} series", self.series.len()),
                format!("1 to {MAX_SERIES} [[series]] tables"),
            ));
        }
        for (index, series) in self.series.iter().enumerate() {
            series.validate(&self.sweep, index, available_memory_bytes)?;
            if let Some(first) = self.series[..index]
                .iter()
                .position(|s| s.label.trim() == series.label.trim())
            {
                return Err(invalid(
                    Place::Series(index).field("label"),
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

impl_experiment!(
    ComparisonPreset,
    PresetKind::Comparison,
    "# pooltune comparison. Edit by hand; `pooltune compare --preset THIS_FILE` runs it.\n\
     # Keys and allowed values: see README.md, section \"Threads without a GIL: compare mode\".\n"
);

#[cfg(test)]
mod tests {
    use std::path::Path;

    const COMMAND: &str = "schema_version = 1\nname = \"xz\"\n\n[workload]\nkind = \"command\"\nrun = [\"xz\", \"-T{threads}\"]\n\n[sweep]\nthreads = [1, 2]\ntrials = 3\n";

    #[test]
    fn a_command_sweep_needs_only_threads_and_trials() {
        let preset = crate::spec::parse(COMMAND, Path::new("xz.toml")).unwrap();
        assert_eq!(preset.sweep.trial_ms, None);
        assert_eq!(preset.sweep.tasks_per_trial, None);
        // A built-in workload still needs its trial length.
        let cpu = COMMAND.replace(
            "kind = \"command\"\nrun = [\"xz\", \"-T{threads}\"]",
            "kind = \"cpu\"\ncompute_us = 10",
        );
        let err = crate::spec::parse(&cpu, Path::new("cpu.toml")).unwrap_err();
        assert!(err.to_string().contains("tasks_per_trial"), "{err}");
        // A trial length that is written is still checked.
        let both = COMMAND.replace(
            "trials = 3",
            "trials = 3\ntrial_ms = 100\ntasks_per_trial = 5",
        );
        assert!(crate::spec::parse(&both, Path::new("xz.toml")).is_err());
    }

    #[test]
    fn a_preset_knows_the_folder_of_its_file_and_never_writes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("xz.toml");
        std::fs::write(&path, COMMAND).unwrap();
        let preset = crate::spec::load(&path).unwrap();
        assert_eq!(preset.folder.as_deref(), Some(dir.path()));
        assert_eq!(preset.run_folder(), dir.path());
        let text = crate::spec::to_toml(&preset).unwrap();
        assert!(!text.contains("folder"), "{text}");
        // Text without a file: no folder, the runs start in the current directory.
        let in_memory = crate::spec::parse(COMMAND, Path::new("xz.toml")).unwrap();
        assert_eq!(in_memory.folder, None);
        assert_eq!(in_memory.run_folder(), std::env::current_dir().unwrap());
    }
}
