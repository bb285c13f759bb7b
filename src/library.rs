//! pooltune as a library: measure a Rust closure at several thread counts on one of
//! pooltune's pools of threads and get back the result the CLI writes, model included.
//!
//! A [`Tuner`] is an experiment built in code (thread counts, trials, trial length) with one
//! or more [`ClosureSeries`] (a label, a [`PoolKind`] and the closure each task calls).
//! [`Tuner::run`] hands them to the same engine as `pooltune sweep` and `pooltune compare`
//! ([`crate::engine::run_series`]): one series gives a [`SweepResult`] (its JSON carries the
//! recommendation: formula, measured W/C, USL fit), several give a [`ComparisonResult`],
//! both in [`TuneResult`], written with [`TuneResult::write_json`] as the CLI writes them.
//!
//! The names are not `Experiment` and `Series` because those are the engine's traits
//! ([`crate::engine::Experiment`], [`crate::engine::Series`]) and the preset files' trait
//! ([`crate::spec::Experiment`]): re-exporting a struct of the same name at the crate root
//! would make `use pooltune::engine::*` and `use pooltune::*` collide.
//!
//! A closure never runs on the process pool: [`PoolKind`] has no such variant (refused when
//! the program is compiled), and a [`PoolSpec`] turned into a [`PoolKind`] is refused with
//! the reason. This module never imports egui and never measures anything itself.

use std::marker::PhantomData;
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::cancel::{CancelToken, TrialStop};
use crate::engine::{self, Event, Measured, OnStep, PreparedSeries, SeriesInfo, SeriesPlan};
use crate::error::EngineError;
use crate::export::{Exporter as _, JsonExporter, TableExporter};
use crate::model::{ModelOptions, Recommendation};
use crate::result::comparison::ComparisonResult;
use crate::result::{Calibration, SweepResult};
use crate::source::in_process::{PointSetup, measure_workload};
use crate::spec::{
    ComparisonPreset, InvalidValue, MAX_SERIES, PoolSpec, Preset, RangeStep, SCHEMA_VERSION,
    SeriesKind, SeriesSetup, SeriesSpec, SweepSpec, ThreadRange, WorkloadSpec,
};
use crate::workload::{TaskCtx, Workload};

/// Why a [`Tuner`] could not run, or its result could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    /// A value given to the tuner (or a series) is outside what is allowed. `at` is the
    /// call that set it (or [`Tuner::new`] for a default), so the message points at the line.
    #[error("{at}: {invalid}")]
    Invalid {
        /// Where in the program the value was given.
        at: &'static Location<'static>,
        /// Which setting, what value, what is allowed.
        invalid: InvalidValue,
    },
    /// The tuner has no series to measure.
    #[error(
        "{at}: the tuner has no series: add one with \
         .series(ClosureSeries::new(\"label\", PoolKind::Rayon, |task| ...))"
    )]
    NoSeries {
        /// Where the tuner was made.
        at: &'static Location<'static>,
    },
    /// A pool that cannot run a closure (the process pool, CPython's pools).
    #[error(
        "pool kind = \"{pool}\" is refused for a closure: {why}; use PoolKind::Rayon, \
         PoolKind::queue() or PoolKind::Spawn"
    )]
    PoolRefused {
        /// The pool's kind name (`process`).
        pool: &'static str,
        /// Why it cannot run a closure.
        why: String,
    },
    /// The engine could not start.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The result could not be written or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The result could not be turned into JSON, or a file is not a result pooltune wrote.
    #[error("{}: {message}", path.display())]
    Json {
        /// The file (`-` for a result serialized in memory).
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// A pool of threads a closure runs on: pooltune's own pools, as in a preset's `[pool]`,
/// without the process pool (its workers rebuild their workload from a spec in another
/// process, and a closure exists only in this one) nor CPython's pools.
///
/// ```compile_fail
/// // There is no process pool for a closure: this does not compile.
/// let pool = pooltune::PoolKind::Process;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// A `rayon::ThreadPool` of N threads, built for each thread count.
    Rayon,
    /// N named workers pulling from one bounded channel: Python's ThreadPoolExecutor shape.
    Queue {
        /// Capacity of the channel between the producer and the workers (64 by default).
        queue_capacity: usize,
        /// Tasks per message; 1 feeds tasks one by one.
        chunk_size: usize,
    },
    /// One new OS thread per task, at most N alive at once: what creating threads costs.
    Spawn,
}

impl PoolKind {
    /// The queue pool with a preset's defaults (a channel of 64 messages of one task).
    pub const fn queue() -> PoolKind {
        PoolKind::Queue {
            queue_capacity: 64,
            chunk_size: 1,
        }
    }

    /// Every pool a closure can run on, with default settings, to compare them.
    pub const ALL: [PoolKind; 3] = [PoolKind::Rayon, PoolKind::queue(), PoolKind::Spawn];

    /// The kind name used in preset files and results (`rayon`, `queue`, `spawn`).
    pub fn kind_name(self) -> &'static str {
        PoolSpec::from(self).kind_name()
    }
}

impl From<PoolKind> for PoolSpec {
    fn from(pool: PoolKind) -> PoolSpec {
        match pool {
            PoolKind::Rayon => PoolSpec::Rayon,
            PoolKind::Queue {
                queue_capacity,
                chunk_size,
            } => PoolSpec::Queue {
                queue_capacity,
                chunk_size,
            },
            PoolKind::Spawn => PoolSpec::Spawn,
        }
    }
}

impl TryFrom<PoolSpec> for PoolKind {
    type Error = TuneError;

    /// A preset's pool for a closure: the pools of threads; the process pool and CPython's
    /// pools are refused, saying why.
    fn try_from(pool: PoolSpec) -> Result<PoolKind, TuneError> {
        match pool {
            PoolSpec::Rayon => Ok(PoolKind::Rayon),
            PoolSpec::Queue {
                queue_capacity,
                chunk_size,
            } => Ok(PoolKind::Queue {
                queue_capacity,
                chunk_size,
            }),
            PoolSpec::Spawn => Ok(PoolKind::Spawn),
            PoolSpec::Process { .. } => Err(TuneError::PoolRefused {
                pool: pool.kind_name(),
                why: closure_workload("")
                    .worker_process_refusal()
                    .unwrap_or_default(),
            }),
            PoolSpec::Async { .. } => Err(TuneError::PoolRefused {
                pool: pool.kind_name(),
                why: "a closure blocks its thread; the async pool runs tokio tasks".to_owned(),
            }),
            PoolSpec::PythonThreads
            | PoolSpec::PythonProcesses { .. }
            | PoolSpec::PythonInterpreters
            | PoolSpec::PythonAsyncio => Err(TuneError::PoolRefused {
                pool: pool.kind_name(),
                why: "CPython's pools call a Python function, not Rust code".to_owned(),
            }),
        }
    }
}

/// What a task knows when the closure is called.
#[derive(Debug, Clone, Copy)]
pub struct Task<'a> {
    /// The task's index within its trial, warm-up batch, or (timed trials on a rayon or queue
    /// pool, which are windows of one run per thread count) that run: 0, 1, 2, ...
    pub index: u64,
    /// The worker running it, `0..threads`; at most one task runs per worker at a time, so a
    /// closure may keep per-worker state in slots indexed by it.
    pub worker: usize,
    /// The pool's size at this point (the thread count being measured).
    pub threads: usize,
    /// True during the unmeasured warm-up before each thread count's trials.
    pub warm_up: bool,
    stop: &'a TrialStop,
}

impl Task<'_> {
    /// True when the run was stopped or another task of the trial panicked: the trial is
    /// discarded, so a long task may return early. (A trial that runs out of time is not a
    /// stop: its tasks in flight finish and count.)
    pub fn stopping(&self) -> bool {
        self.stop.interrupted()
    }
}

/// Where a series' closure is in a run: the thread count being measured and whether the
/// warm-up is over (set by the series, read by each task).
#[derive(Debug, Default)]
struct Phase {
    threads: AtomicUsize,
    warm_up: AtomicBool,
}

/// The user's closure as a [`Workload`]: each task calls it once and keeps its result alive
/// with `black_box`, so the optimiser cannot drop the work.
struct ClosureWorkload<F, R> {
    task: Arc<F>,
    phase: Arc<Phase>,
    returns: PhantomData<fn() -> R>,
}

impl<F, R> Workload for ClosureWorkload<F, R>
where
    F: Fn(Task<'_>) -> R + Send + Sync + 'static,
    R: 'static,
{
    #[inline]
    fn run_task(&self, ctx: &TaskCtx<'_>) {
        let task = Task {
            index: ctx.task,
            worker: ctx.worker,
            threads: self.phase.threads.load(Ordering::Relaxed),
            warm_up: self.phase.warm_up.load(Ordering::Relaxed),
            stop: ctx.stop,
        };
        std::hint::black_box((self.task)(task));
    }
}

/// Builds the closure's workload for one run, with that run's phase.
type WorkloadMaker = dyn Fn(Arc<Phase>) -> Arc<dyn Workload> + Send + Sync;

/// One line of the chart: a closure run by one pool at every thread count of a [`Tuner`].
pub struct ClosureSeries {
    label: String,
    pool: PoolKind,
    function: &'static str,
    make: Arc<WorkloadMaker>,
    at: &'static Location<'static>,
}

impl std::fmt::Debug for ClosureSeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClosureSeries")
            .field("label", &self.label)
            .field("pool", &self.pool)
            .field("function", &self.function)
            .finish_non_exhaustive()
    }
}

impl ClosureSeries {
    /// A series labelled `label` (the legend; unique within a tuner) in which every task
    /// calls `task` once on `pool`. The closure may be called from several threads at once
    /// (hence `Sync`) and outlives this call (hence `'static`: move an `Arc` of its data in).
    /// Its return value is kept alive with `black_box`; a panic fails that thread count's
    /// point with the panic's message, and the other thread counts go on.
    #[track_caller]
    pub fn new<F, R>(label: impl Into<String>, pool: PoolKind, task: F) -> ClosureSeries
    where
        F: Fn(Task<'_>) -> R + Send + Sync + 'static,
        R: 'static,
    {
        let task = Arc::new(task);
        ClosureSeries {
            label: label.into(),
            pool,
            function: std::any::type_name::<F>(),
            make: Arc::new(move |phase| {
                Arc::new(ClosureWorkload {
                    task: Arc::clone(&task),
                    phase,
                    returns: PhantomData::<fn() -> R>,
                })
            }),
            at: Location::caller(),
        }
    }

    /// The legend.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The pool.
    pub fn pool(&self) -> PoolKind {
        self.pool
    }

    fn workload_spec(&self) -> WorkloadSpec {
        closure_workload(self.function)
    }
}

fn closure_workload(function: &str) -> WorkloadSpec {
    WorkloadSpec::Closure {
        function: function.to_owned(),
    }
}

/// An experiment built in code: a name, the thread counts, the trials and one or more
/// [`ClosureSeries`]. Every setting has a default (thread counts 1, 2, 4, ... up to twice the
/// logical CPUs; 3 trials of 300 ms after a 200 ms warm-up); a setting given twice keeps the
/// last. [`Tuner::run`] checks everything before anything runs.
#[derive(Debug)]
pub struct Tuner {
    name: String,
    description: String,
    sweep: SweepSpec,
    series: Vec<ClosureSeries>,
    made_at: &'static Location<'static>,
    /// Where each setting was last given, by its `[sweep]` key, for error messages.
    set_at: Vec<(&'static str, &'static Location<'static>)>,
}

impl Tuner {
    /// A tuner named `name` (shown above the table and in the JSON as the preset's name).
    #[track_caller]
    pub fn new(name: impl Into<String>) -> Tuner {
        let cpus = crate::machine::online_cpus().max(1);
        Tuner {
            name: name.into(),
            description: String::new(),
            sweep: SweepSpec {
                search: Default::default(),
                target_ci: None,
                threads: None,
                threads_range: Some(ThreadRange {
                    from: 1,
                    to: (2 * cpus).min(crate::spec::MAX_THREADS),
                    step: RangeStep::Geometric,
                    by: Some(2),
                }),
                trials: 3,
                tasks_per_trial: None,
                trial_ms: Some(300),
                warmup_ms: 200,
                retry_disturbed: 1,
            },
            series: Vec::new(),
            made_at: Location::caller(),
            set_at: Vec::new(),
        }
    }

    #[track_caller]
    fn set(mut self, key: &'static str, change: impl FnOnce(&mut SweepSpec)) -> Tuner {
        change(&mut self.sweep);
        self.set_at.retain(|(k, _)| *k != key);
        self.set_at.push((key, Location::caller()));
        self
    }

    /// One or two sentences: what this experiment shows (kept in the JSON).
    pub fn description(mut self, description: impl Into<String>) -> Tuner {
        self.description = description.into();
        self
    }

    /// The thread counts to measure, in the order given (1 to 4096, at most 256 of them).
    #[track_caller]
    pub fn threads(self, counts: impl IntoIterator<Item = usize>) -> Tuner {
        let counts: Vec<usize> = counts.into_iter().collect();
        self.set("threads", |sweep| sweep.use_thread_list(counts))
    }

    /// Measured trials per thread count (3 to 100; three or more give a confidence interval).
    #[track_caller]
    pub fn trials(self, trials: u32) -> Tuner {
        self.set("trials", |sweep| sweep.trials = trials)
    }

    /// Each trial runs for this many milliseconds (10 to 600000); replaces
    /// [`Tuner::tasks_per_trial`].
    #[track_caller]
    pub fn trial_ms(self, ms: u64) -> Tuner {
        self.set("trial_ms", |sweep| {
            sweep.trial_ms = Some(ms);
            sweep.tasks_per_trial = None;
        })
    }

    /// Each trial runs exactly this many tasks; replaces [`Tuner::trial_ms`].
    #[track_caller]
    pub fn tasks_per_trial(self, tasks: u64) -> Tuner {
        self.set("tasks_per_trial", |sweep| {
            sweep.tasks_per_trial = Some(tasks);
            sweep.trial_ms = None;
        })
    }

    /// Unmeasured warm-up before each thread count's trials, in milliseconds (up to 60000).
    #[track_caller]
    pub fn warmup_ms(self, ms: u64) -> Tuner {
        self.set("warmup_ms", |sweep| sweep.warmup_ms = ms)
    }

    /// How many times a trial during which other processes used the CPUs is measured again
    /// (0 to 5; 1 by default). The closure runs in those repeats too.
    #[track_caller]
    pub fn retry_disturbed(self, times: u32) -> Tuner {
        self.set("retry_disturbed", |sweep| sweep.retry_disturbed = times)
    }

    /// Adds a series; several are measured interleaved at each thread count (A, B, A, B).
    pub fn series(mut self, series: ClosureSeries) -> Tuner {
        self.series.push(series);
        self
    }

    /// Checks every setting and series, then measures them through the engine on this
    /// thread. One series gives [`TuneResult::Sweep`], several [`TuneResult::Comparison`].
    pub fn run(&self) -> Result<TuneResult, TuneError> {
        self.run_with(&CancelToken::new(), &mut |_| {})
    }

    /// [`Tuner::run`] that stops when `cancel` is set (the result keeps what was measured)
    /// and reports the engine's events (progress, each point) to `emit` as they happen.
    pub fn run_with(
        &self,
        cancel: &CancelToken,
        emit: &mut dyn FnMut(Event),
    ) -> Result<TuneResult, TuneError> {
        self.check()?;
        let run = engine::run_series(self, cancel, emit)?;
        Ok(match self.series.as_slice() {
            [only] => TuneResult::Sweep(SweepResult::from_run(self.preset_of(only), run)),
            _ => TuneResult::Comparison(ComparisonResult::from_run(self.comparison(), run)),
        })
    }

    /// Every check of [`Tuner::run`], each error pointing at the call that set the value.
    pub fn check(&self) -> Result<(), TuneError> {
        if self.series.is_empty() {
            return Err(TuneError::NoSeries { at: self.made_at });
        }
        crate::spec::header::check(SCHEMA_VERSION, &self.name)
            .map_err(|invalid| self.invalid_at(self.made_at, "Tuner::new", invalid))?;
        self.sweep.validate().map_err(|invalid| {
            let key = invalid.field.trim_start_matches("sweep.").to_owned();
            let at = self
                .set_at
                .iter()
                .find(|(k, _)| *k == key)
                .map_or(self.made_at, |(_, at)| *at);
            self.invalid_at(at, &format!("Tuner::{key}"), invalid)
        })?;
        if self.series.len() > MAX_SERIES {
            return Err(TuneError::Invalid {
                at: self.series[MAX_SERIES].at,
                invalid: InvalidValue {
                    field: "Tuner::series".into(),
                    value: format!("{} series", self.series.len()),
                    allowed: format!("1 to {MAX_SERIES}: more lines cannot be told apart"),
                },
            });
        }
        // As a comparison's series are checked: labels present, unique and short, and each
        // pool's settings (a queue of capacity 0 is refused).
        for (index, series) in self.series.iter().enumerate() {
            let label_clash = self.series[..index]
                .iter()
                .any(|earlier| earlier.label.trim() == series.label.trim());
            let checked = if label_clash {
                Err(InvalidValue {
                    field: "label".into(),
                    value: format!("{:?}", series.label),
                    allowed: "a label of its own: labels tell the lines apart".into(),
                })
            } else {
                check_series(series)
            };
            checked.map_err(|invalid| TuneError::Invalid {
                at: series.at,
                invalid: InvalidValue {
                    field: format!(
                        "ClosureSeries {:?}: {}",
                        series.label,
                        strip(&invalid.field)
                    ),
                    ..invalid
                },
            })?;
        }
        Ok(())
    }

    fn invalid_at(
        &self,
        at: &'static Location<'static>,
        field: &str,
        invalid: InvalidValue,
    ) -> TuneError {
        TuneError::Invalid {
            at,
            invalid: InvalidValue {
                field: field.to_owned(),
                ..invalid
            },
        }
    }

    /// The sweep preset one series ran as: what its JSON says was run.
    fn preset_of(&self, series: &ClosureSeries) -> Preset {
        Preset {
            schema_version: SCHEMA_VERSION,
            name: self.name.clone(),
            description: self.description.clone(),
            workload: series.workload_spec(),
            pool: series.pool.into(),
            sweep: self.sweep.clone(),
            folder: None,
        }
    }

    /// The comparison several series ran as: what its JSON says was run.
    fn comparison(&self) -> ComparisonPreset {
        ComparisonPreset {
            schema_version: SCHEMA_VERSION,
            name: self.name.clone(),
            description: self.description.clone(),
            sweep: self.sweep.clone(),
            folder: None,
            series: self
                .series
                .iter()
                .map(|series| SeriesSpec {
                    label: series.label.clone(),
                    kind: SeriesKind::Custom,
                    setup: SeriesSetup::Rust {
                        workload: series.workload_spec(),
                        pool: series.pool.into(),
                    },
                })
                .collect(),
        }
    }
}

/// `series[2].pool.queue_capacity` → `pool.queue_capacity`: the series is named by its label.
fn strip(field: &str) -> &str {
    match field.split_once("].") {
        Some((head, rest)) if head.starts_with("series[") => rest,
        _ => field,
    }
}

/// A closure series' label and pool settings (the closure itself is checked by the type
/// system: there is nothing in it to refuse).
fn check_series(series: &ClosureSeries) -> Result<(), InvalidValue> {
    let max = crate::spec::limits::MAX_NAME_CHARS;
    if series.label.trim().is_empty() || series.label.chars().count() > max {
        return Err(InvalidValue {
            field: "label".into(),
            value: format!("{:?}", series.label),
            allowed: format!("a label of 1 to {max} characters"),
        });
    }
    PoolSpec::from(series.pool).validate()
}

/// A tuner is a plan of its closure series for the engine.
impl SeriesPlan for Tuner {
    fn validate(&self) -> Result<(), InvalidValue> {
        self.sweep.validate()
    }

    fn thread_counts(&self) -> Vec<usize> {
        self.sweep.thread_counts()
    }

    fn trials(&self) -> u32 {
        self.sweep.trials
    }

    fn planned_s(&self) -> Option<f64> {
        self.sweep.timed_length_ms().map(|ms| {
            // Each series runs every warm-up and trial.
            ms as f64 / 1000.0 * self.series.len() as f64
        })
    }

    fn prepare(&self, calibration: &Calibration, _cancel: &CancelToken) -> Vec<PreparedSeries> {
        self.series
            .iter()
            .map(|series| {
                let phase = Arc::new(Phase::default());
                let source = ClosureSource {
                    setup: PointSetup::new(
                        &series.workload_spec(),
                        &series.pool.into(),
                        &self.sweep,
                        calibration.clone(),
                    ),
                    workload: (series.make)(Arc::clone(&phase)),
                    phase,
                };
                PreparedSeries {
                    info: SeriesInfo {
                        label: series.label.clone(),
                        kind: SeriesKind::Custom,
                        interpreter: None,
                    },
                    series: Ok(Box::new(source)),
                }
            })
            .collect()
    }
}

/// A closure × a pool as one [`engine::Series`]: the in-process source's warm-up, trials
/// and summary ([`measure_workload`]), with the closure told the thread count and whether
/// the warm-up is over.
struct ClosureSource {
    setup: PointSetup,
    workload: Arc<dyn Workload>,
    phase: Arc<Phase>,
}

impl engine::Series for ClosureSource {
    fn measure(&mut self, threads: usize, cancel: &CancelToken, on_step: &mut OnStep) -> Measured {
        // Tasks read these after the pool hands them work (a channel or a lock in between),
        // which orders the stores before the reads.
        self.phase.threads.store(threads, Ordering::Relaxed);
        self.phase.warm_up.store(true, Ordering::Relaxed);
        let phase = Arc::clone(&self.phase);
        let measured =
            measure_workload(&self.setup, &self.workload, threads, cancel, &mut |step| {
                // Step 1 is the end of the warm-up (the engine's Series contract).
                phase.warm_up.store(false, Ordering::Relaxed);
                on_step(step);
            });
        match measured {
            Some(point) => Measured::Point(point),
            None => Measured::Cancelled,
        }
    }
}

/// What [`Tuner::run`] measured: the same result types `pooltune sweep` and
/// `pooltune compare` write.
#[derive(Debug, Clone, PartialEq)]
pub enum TuneResult {
    /// One series: a sweep (its JSON adds the model's recommendation).
    Sweep(SweepResult),
    /// Several series: a comparison.
    Comparison(ComparisonResult),
}

impl TuneResult {
    /// Each series as a sweep on its own (the sweep itself, or each series of a comparison
    /// with its label as the name): what the model reads.
    pub fn sweeps(&self) -> Vec<SweepResult> {
        match self {
            TuneResult::Sweep(sweep) => vec![sweep.clone()],
            TuneResult::Comparison(comparison) => comparison
                .series
                .iter()
                .zip(&comparison.preset.series)
                .map(|(series, spec)| {
                    let (workload, pool) = match &spec.setup {
                        SeriesSetup::Rust { workload, pool } => (workload.clone(), pool.clone()),
                        _ => (closure_workload(""), PoolSpec::Rayon),
                    };
                    let mut sweep = SweepResult {
                        machine: comparison.machine.clone(),
                        preset: Preset {
                            schema_version: comparison.preset.schema_version,
                            name: format!("{}: {}", comparison.preset.name, series.label),
                            description: comparison.preset.description.clone(),
                            workload,
                            pool,
                            sweep: comparison.preset.sweep.clone(),
                            folder: None,
                        },
                        calibration: comparison.calibration.clone(),
                        points: series.points.clone(),
                        error: series.error.clone(),
                        outcome: comparison.outcome.clone(),
                    };
                    sweep.outcome.warnings = crate::trust::sweep_warnings(&sweep);
                    sweep
                })
                .collect(),
        }
    }

    /// The model's answer for each series (label, recommendation), with `options` (the
    /// target utilisation U and an optional p99 target).
    pub fn recommendations(&self, options: &ModelOptions) -> Vec<(String, Recommendation)> {
        let labels: Vec<String> = match self {
            TuneResult::Sweep(sweep) => vec![sweep.preset.name.clone()],
            TuneResult::Comparison(c) => c.series.iter().map(|s| s.label.clone()).collect(),
        };
        labels
            .into_iter()
            .zip(self.sweeps())
            .map(|(label, sweep)| (label, crate::model::recommend(&sweep, options)))
            .collect()
    }

    /// The warnings about the measurement (a busy machine, an impossible shape).
    pub fn warnings(&self) -> &[String] {
        match self {
            TuneResult::Sweep(sweep) => &sweep.outcome.warnings,
            TuneResult::Comparison(comparison) => &comparison.outcome.warnings,
        }
    }

    /// The table `pooltune sweep` or `pooltune compare` prints (a sweep's with its
    /// recommendation).
    pub fn table(&self) -> Result<String, TuneError> {
        let exporter = TableExporter::default();
        let bytes = match self {
            TuneResult::Sweep(sweep) => exporter.export(sweep),
            TuneResult::Comparison(comparison) => exporter.export(comparison),
        }
        .map_err(|err| json_error(Path::new("-"), err))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The JSON `pooltune sweep --format json` (or `compare`) writes: a sweep's with its
    /// `recommendation`.
    pub fn to_json(&self) -> Result<Vec<u8>, TuneError> {
        let exporter = JsonExporter::default();
        match self {
            TuneResult::Sweep(sweep) => exporter.export(sweep),
            TuneResult::Comparison(comparison) => exporter.export(comparison),
        }
        .map_err(|err| json_error(Path::new("-"), err))
    }

    /// Writes [`TuneResult::to_json`] to `path` atomically (a temporary file in the same
    /// folder, synced, renamed over `path`), as the CLI's `--out` does.
    pub fn write_json(&self, path: impl AsRef<Path>) -> Result<(), TuneError> {
        let path = path.as_ref();
        let bytes = self.to_json()?;
        crate::atomic_file::write(path, &bytes).map_err(|source| TuneError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a result JSON written by [`TuneResult::write_json`] or by `pooltune sweep` /
    /// `pooltune compare --format json`: a comparison has a `series` list, a sweep `points`.
    pub fn read_json(path: impl AsRef<Path>) -> Result<TuneResult, TuneError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| TuneError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|err| json_error(path, err))?;
        if value.get("series").is_some_and(serde_json::Value::is_array) {
            serde_json::from_value(value).map(TuneResult::Comparison)
        } else {
            serde_json::from_value(value).map(TuneResult::Sweep)
        }
        .map_err(|err| json_error(path, err))
    }
}

fn json_error(path: &Path, err: impl std::fmt::Display) -> TuneError {
    TuneError::Json {
        path: path.to_path_buf(),
        message: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_out_of_range_names_the_method_and_the_line_that_set_it() {
        let tuner = Tuner::new("t").series(ClosureSeries::new("a", PoolKind::Rayon, |_| ()));
        let line = line!() + 1;
        let tuner = tuner.trial_ms(5);
        let err = tuner.check().unwrap_err().to_string();
        assert!(err.starts_with(&format!("src/library.rs:{line}:")), "{err}");
        assert!(
            err.contains("`Tuner::trial_ms` = 5 is not allowed"),
            "{err}"
        );
    }

    #[test]
    fn a_tuner_without_series_or_with_twin_labels_is_refused() {
        let err = Tuner::new("t").check().unwrap_err().to_string();
        assert!(err.contains("no series"), "{err}");
        let err = Tuner::new("t")
            .series(ClosureSeries::new("a", PoolKind::Rayon, |_| ()))
            .series(ClosureSeries::new("a", PoolKind::Spawn, |_| ()))
            .check()
            .unwrap_err()
            .to_string();
        assert!(err.contains("ClosureSeries \"a\": label"), "{err}");
        let err = Tuner::new("t")
            .series(ClosureSeries::new(
                "q",
                PoolKind::Queue {
                    queue_capacity: 0,
                    chunk_size: 1,
                },
                |_| (),
            ))
            .check()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ClosureSeries \"q\": pool.queue_capacity"),
            "{err}"
        );
    }

    #[test]
    fn the_field_of_a_comparison_series_is_named_without_its_index() {
        assert_eq!(strip("series[2].pool.chunk_size"), "pool.chunk_size");
        assert_eq!(strip("label"), "label");
    }
}
