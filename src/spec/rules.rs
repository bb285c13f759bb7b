//! Every rule about how the parts of an experiment fit together, in one place, applied alike
//! to a sweep file's one series and to every series of a comparison: the setup matches the
//! series' kind (a Python source needs a Python executor, a workload needs a Rust pool), a
//! simulated GIL series runs the `gil` workload, a process pool runs only a workload its
//! worker processes can rebuild, eager feeding's task list fits in memory,
//! Python chunks only for a process executor, and a Python process pool stays a size the
//! machine can hold. Each value on its own is checked by its type (workload, pool, sweep,
//! series); this module only relates them. It never reads a file nor runs anything.

use super::{
    CommandSpec, Feeding, InvalidValue, PoolSpec, PythonCallSpec, PythonSetup, SeriesKind,
    SeriesSetup, SweepSpec, WorkloadSpec, invalid,
};

/// Most worker processes a Python process series may start: each is a whole interpreter
/// (tens of MiB), so a typo such as 4096 is refused before the machine is swamped.
pub const MAX_PYTHON_PROCESSES: usize = 256;

/// Where a series is written, so that a refusal names the field the user wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The one series of a sweep file: `[workload]` and `[pool]` at the top.
    SweepFile,
    /// The `index`-th `[[series]]` table of a comparison (0-based; named from 1).
    Series(usize),
}

impl Place {
    /// The dotted field of `name` in this series, as the file writes it: `workload.kind` in a
    /// sweep file, `series[2].workload.kind` in a comparison (counted from 1, as a reader does).
    pub fn field(self, name: &str) -> String {
        match self {
            Place::SweepFile => name.to_owned(),
            Place::Series(index) => format!("series[{}].{name}", index + 1),
        }
    }

    /// `invalid` with its field moved into this series.
    fn locate(self, mut invalid: InvalidValue) -> InvalidValue {
        invalid.field = self.field(&invalid.field);
        invalid
    }
}

/// The largest thread count `sweep` tries (1 for a sweep with none, which its own check refuses).
fn max_threads(sweep: &SweepSpec) -> usize {
    sweep.thread_counts().into_iter().max().unwrap_or(1)
}

/// A series' setup must match its kind, also when it was built in code rather than parsed: a
/// Python source runs only on a Python executor, a workload only on a Rust pool.
pub fn check_setup_matches_kind(
    kind: SeriesKind,
    setup: &SeriesSetup,
    place: Place,
) -> Result<(), InvalidValue> {
    match (setup, kind.is_python()) {
        (SeriesSetup::Rust { .. }, true) => Err(invalid(
            place.field("kind"),
            kind,
            "a Rust kind (rust, simulated_gil, custom) for a series with a workload and pool",
        )),
        (SeriesSetup::Python(_), false) => Err(invalid(
            place.field("kind"),
            kind,
            "a Python kind (python_threads, python_processes, python_free_threaded) for a series with a task",
        )),
        (SeriesSetup::Python(_), true) if kind == SeriesKind::PythonInterpreters => Err(invalid(
            place.field("kind"),
            kind,
            "python_threads, python_processes or python_free_threaded for the script's task; \
             a python_interpreters series calls a function (workload = { kind = \"python\", … })",
        )),
        (SeriesSetup::PythonCall { pool, .. }, _) => check_call_kind(kind, pool, place),
        _ => Ok(()),
    }
}

/// A user's function runs under its pool's own Python kind, or `custom`; a free-threaded
/// series runs it on threads.
fn check_call_kind(kind: SeriesKind, pool: &PoolSpec, place: Place) -> Result<(), InvalidValue> {
    let fits = match kind {
        SeriesKind::Custom => true,
        SeriesKind::PythonFreeThreaded => *pool == PoolSpec::PythonThreads,
        SeriesKind::Rust | SeriesKind::SimulatedGil => false,
        _ => SeriesKind::of_python_pool(pool) == kind,
    };
    if fits {
        return Ok(());
    }
    Err(invalid(
        place.field("kind"),
        kind,
        format!(
            "{} or custom for a Python function on a {} pool",
            SeriesKind::of_python_pool(pool),
            pool.kind_name()
        ),
    ))
}

/// The user's program, which runs its own threads: its values (whether the program exists
/// is checked when the run is prepared, on the machine that runs it).
pub fn check_command_series(command: &CommandSpec, place: Place) -> Result<(), InvalidValue> {
    command.validate().map_err(|err| place.locate(err))
}

/// The user's Python function: its values, on one of CPython's pools, a process pool no
/// larger than [`MAX_PYTHON_PROCESSES`].
pub fn check_python_call_series(
    call: &PythonCallSpec,
    pool: &PoolSpec,
    sweep: &SweepSpec,
    place: Place,
) -> Result<(), InvalidValue> {
    call.validate().map_err(|err| place.locate(err))?;
    pool.validate().map_err(|err| place.locate(err))?;
    if !pool.is_python() {
        return Err(invalid(
            place.field("pool.kind"),
            pool.kind_name(),
            "python_threads, python_processes, python_interpreters or python_asyncio: a python workload runs on \
             CPython's pools (give one in the pool table; without one the pool is rayon)",
        ));
    }
    let max_threads = max_threads(sweep);
    if matches!(pool, PoolSpec::PythonProcesses { .. }) && max_threads > MAX_PYTHON_PROCESSES {
        return Err(invalid(
            "sweep.threads",
            max_threads,
            format!(
                "at most {MAX_PYTHON_PROCESSES} for a python_processes pool{}: each worker is a whole interpreter",
                match place {
                    Place::SweepFile => String::new(),
                    Place::Series(_) => format!(" ({})", place.field("").trim_end_matches('.')),
                }
            ),
        ));
    }
    Ok(())
}

/// A built-in workload on a Rust pool: its values, its pool's, and how they fit the kind
/// (`kind` is None for a sweep file, which has none) and the sweep.
pub fn check_rust_series(
    kind: Option<SeriesKind>,
    workload: &WorkloadSpec,
    pool: &PoolSpec,
    sweep: &SweepSpec,
    available_memory_bytes: u64,
    place: Place,
) -> Result<(), InvalidValue> {
    if kind == Some(SeriesKind::SimulatedGil) && !matches!(workload, WorkloadSpec::Gil { .. }) {
        return Err(invalid(
            place.field("workload.kind"),
            workload.kind_name(),
            "\"gil\" for a simulated_gil series (the simulated interpreter lock)",
        ));
    }
    workload
        .validate(max_threads(sweep), available_memory_bytes)
        .map_err(|err| place.locate(err))?;
    pool.validate().map_err(|err| place.locate(err))?;
    if pool.is_python() {
        return Err(invalid(
            place.field("pool.kind"),
            pool.kind_name(),
            format!(
                "rayon, queue, spawn or process for a {} workload: CPython's pools run only a `python` workload",
                workload.kind_name()
            ),
        ));
    }
    check_workers_can_rebuild(workload, pool, place)?;
    check_eager_feeding_fits(pool, sweep, available_memory_bytes, place)
}

/// A process pool's workers rebuild the workload from its spec in their own memory: a
/// workload they cannot run there (shared_state) is refused at load, naming `pool.kind`.
fn check_workers_can_rebuild(
    workload: &WorkloadSpec,
    pool: &PoolSpec,
    place: Place,
) -> Result<(), InvalidValue> {
    match (pool, workload.worker_process_refusal()) {
        (PoolSpec::Process { .. }, Some(why)) => Err(invalid(
            place.field("pool.kind"),
            "process",
            format!("rayon, queue or spawn ({why})"),
        )),
        _ => Ok(()),
    }
}

/// Eager feeding builds every task description before the first is sent: a task count whose
/// list would not fit is refused before anything runs. A sweep file names its
/// `sweep.tasks_per_trial` (as it always has); a comparison names the series' `pool.feeding`,
/// since the other series share that task count and fit.
fn check_eager_feeding_fits(
    pool: &PoolSpec,
    sweep: &SweepSpec,
    available_memory_bytes: u64,
    place: Place,
) -> Result<(), InvalidValue> {
    let (
        PoolSpec::Process {
            feeding: Feeding::Eager,
            ..
        },
        Some(tasks),
    ) = (pool, sweep.tasks_per_trial)
    else {
        return Ok(());
    };
    super::pool::check_eager_fits(tasks, available_memory_bytes).map_err(|why| match place {
        Place::SweepFile => invalid("sweep.tasks_per_trial", tasks, why),
        Place::Series(_) => invalid(place.field("pool.feeding"), "eager", why),
    })
}

/// The Python script's task on a CPython executor: chunks only for a process pool, and a
/// process pool no larger than [`MAX_PYTHON_PROCESSES`].
pub fn check_python_series(
    kind: SeriesKind,
    python: &PythonSetup,
    sweep: &SweepSpec,
    place: Place,
) -> Result<(), InvalidValue> {
    if kind != SeriesKind::PythonProcesses && python.chunk_size != 1 {
        return Err(invalid(
            place.field("chunk_size"),
            python.chunk_size,
            "1: only python_processes series send tasks in chunks",
        ));
    }
    let max_threads = max_threads(sweep);
    if kind == SeriesKind::PythonProcesses && max_threads > MAX_PYTHON_PROCESSES {
        return Err(invalid(
            "sweep.threads",
            max_threads,
            format!(
                "at most {MAX_PYTHON_PROCESSES} for a comparison with a python_processes series ({}): each worker is a whole interpreter",
                place.field("").trim_end_matches('.')
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::spec::test_files::{COMPARISON, SWEEP, line_of};
    use crate::spec::{ComparisonPreset, Feeding, PoolSpec, Preset, invalid_at, parse_toml};

    #[test]
    fn eager_feeding_that_cannot_fit_is_refused_before_running() {
        let text = SWEEP
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

    /// The bug of issue 11: a process pool with eager feeding whose task list does not fit in
    /// memory was refused in a sweep preset but accepted as a comparison series.
    #[test]
    fn eager_feeding_that_cannot_fit_is_refused_in_a_series() {
        let text = format!(
            "{}\n[[series]]\nlabel = \"Eager\"\nkind = \"custom\"\nworkload = {{ kind = \"cpu\", compute_us = 10 }}\npool = {{ kind = \"process\", feeding = \"eager\" }}\n",
            COMPARISON.replace("trial_ms = 100", "tasks_per_trial = 1000000")
        );
        let comparison: ComparisonPreset = parse_toml(&text, Path::new("c.toml")).unwrap();
        assert!(comparison.validate(u64::MAX).is_ok());
        let invalid = comparison.validate(10 << 20).unwrap_err();
        assert_eq!(invalid.field, "series[5].pool.feeding");
        assert!(invalid.allowed.contains("lazy"), "{invalid}");
        let err = invalid_at(&text, Path::new("c.toml"), invalid).to_string();
        let line = line_of(&text, "pool = { kind = \"process\"");
        assert!(err.starts_with(&format!("c.toml:{line}:")), "{err}");
        assert!(
            err.contains("`series[5].pool.feeding` (the 5th [[series]]) = eager"),
            "{err}"
        );
    }

    /// A sweep file's one series names its fields at the top; a comparison's, inside its table.
    #[test]
    fn a_place_names_the_field_the_file_writes() {
        use super::Place;
        assert_eq!(Place::SweepFile.field("pool.feeding"), "pool.feeding");
        assert_eq!(
            Place::Series(1).field("pool.feeding"),
            "series[2].pool.feeding"
        );
    }
}
