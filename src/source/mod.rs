//! Sources: what a series measures, built once per run as a `Box<dyn Series>`. [`build`] is
//! the one match over series setups: a new source is one file here and one arm there.
//!
//! - [`in_process`]: a built-in workload × one of pooltune's pools.
//! - [`python`]: the shipped script on a probed CPython.
//! - [`command`]: a user's program that runs its own threads.
//! - [`exec`]: a user's command per task, on one of pooltune's pools.
//!
//! A sweep preset is a plan of one series ([`SeriesPlan`] for [`Preset`]); a comparison is a
//! plan of several ([`ComparisonPlan`]). Sources never emit events and never decide the
//! order of a run: the engine does.

pub mod command;
pub mod exec;
pub mod in_process;
pub mod python;
mod windows;

use crate::cancel::CancelToken;
use std::path::PathBuf;

use crate::engine::{PreparedSeries, Series, SeriesInfo, SeriesPlan};
use crate::result::Calibration;
use crate::source::python::script::TrialShape;
use crate::spec::{ComparisonPreset, SeriesSetup, SeriesSpec};
use crate::spec::{InvalidValue, Preset, SweepSpec};

use self::in_process::{InProcessSeries, PointSetup};

/// Choices made when a comparison is started rather than written in its file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompareOptions {
    /// Interpreter for `python_threads` and `python_processes` series, over the preset's
    /// `interpreter` and PATH (`pooltune compare --python`).
    pub python: Option<PathBuf>,
    /// Interpreter for `python_free_threaded` series (`--free-threaded-python`).
    pub free_threaded_python: Option<PathBuf>,
    /// How this front end's user gives an interpreter, for the advice in "not found" errors.
    pub advice: python::script::InterpreterAdvice,
}

/// What building a run's series needs beyond each series' own spec.
pub struct BuildContext<'a> {
    /// The trials every series runs.
    pub sweep: &'a SweepSpec,
    /// The run's calibration.
    pub calibration: &'a Calibration,
    /// Interpreters found and probed so far, and the script they run.
    pub python: python::PythonRun<'a>,
    /// The folder of the preset file: relative paths resolve against it and programs run in
    /// it. None for a preset made in memory (the current directory).
    pub folder: Option<PathBuf>,
}

impl<'a> BuildContext<'a> {
    /// The context of a run with the trials of `sweep`.
    pub fn new(
        sweep: &'a SweepSpec,
        calibration: &'a Calibration,
        options: &'a CompareOptions,
        cancel: &'a CancelToken,
    ) -> BuildContext<'a> {
        let shape = TrialShape {
            trials: sweep.trials,
            length: sweep.trial_length(),
            warmup_ms: sweep.warmup_ms,
        };
        BuildContext {
            sweep,
            calibration,
            python: python::PythonRun::new(options, shape, cancel),
            folder: None,
        }
    }

    /// The folder a user's program or command runs in and its relative paths resolve
    /// against: the preset file's, or the current directory for a preset made in memory.
    fn run_folder(&self) -> PathBuf {
        match &self.folder {
            Some(folder) => folder.clone(),
            None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        }
    }
}

/// A series of pooltune's own (no interpreter to announce), built or refused before the start.
fn prepared<S: Series + 'static>(spec: &SeriesSpec, series: Result<S, String>) -> PreparedSeries {
    PreparedSeries {
        info: SeriesInfo {
            label: spec.label.clone(),
            kind: spec.kind,
            interpreter: None,
        },
        series: series.map(|series| Box::new(series) as Box<dyn Series>),
    }
}

/// The series `spec` describes, ready to run or failed before the start.
pub fn build(spec: &SeriesSpec, context: &mut BuildContext<'_>) -> PreparedSeries {
    match &spec.setup {
        // A command per task: the exec source (a scratch folder, setup and cleanup, the
        // program found and the inputs expanded before anything runs) around the same pools.
        SeriesSetup::Rust {
            workload: crate::spec::WorkloadSpec::Exec(exec),
            pool,
        } => prepared(
            spec,
            exec::ExecSeries::new(
                exec,
                pool,
                &context.run_folder(),
                context.sweep,
                context.calibration,
            ),
        ),
        SeriesSetup::Rust { workload, pool } => prepared(
            spec,
            Ok(InProcessSeries::new(PointSetup::new(
                workload,
                pool,
                context.sweep,
                context.calibration.clone(),
            ))),
        ),
        SeriesSetup::Python(setup) => context.python.prepare(spec, setup),
        SeriesSetup::Command(command) => prepared(
            spec,
            command::CommandSeries::new(command, &context.run_folder(), context.sweep),
        ),
        SeriesSetup::PythonCall { call, pool } => {
            context
                .python
                .prepare_call(spec, call, pool, context.folder.as_deref())
        }
    }
}

/// The seconds a sweep's warm-ups and trials take by its plan; None for task-count trials.
fn planned_s(sweep: &SweepSpec) -> Option<f64> {
    sweep.timed_length_ms().map(|ms| ms as f64 / 1000.0)
}

/// A sweep preset is a run of one series: its workload on its pool.
impl SeriesPlan for Preset {
    fn validate(&self) -> Result<(), InvalidValue> {
        Preset::validate(self, crate::machine::available_memory_bytes())
    }

    fn thread_counts(&self) -> Vec<usize> {
        self.sweep.thread_counts()
    }

    fn search(&self) -> Box<dyn crate::search::Search> {
        crate::search::for_sweep(&self.sweep)
    }

    fn trials(&self) -> u32 {
        self.sweep.trials
    }

    fn planned_s(&self) -> Option<f64> {
        planned_s(&self.sweep)
    }

    fn prepare(&self, calibration: &Calibration, cancel: &CancelToken) -> Vec<PreparedSeries> {
        let setup = self.setup();
        let spec = SeriesSpec {
            label: self.name.clone(),
            kind: setup.sweep_file_kind(),
            setup,
        };
        let options = CompareOptions::default();
        let mut context = BuildContext::new(&self.sweep, calibration, &options, cancel);
        context.folder = self.folder.clone();
        vec![build(&spec, &mut context)]
    }
}

/// A comparison as run: its preset and the choices made when it was started.
#[derive(Debug, Clone)]
pub struct ComparisonPlan {
    /// The comparison.
    pub preset: ComparisonPreset,
    /// Interpreters given on the command line or in the app.
    pub options: CompareOptions,
}

impl SeriesPlan for ComparisonPlan {
    fn validate(&self) -> Result<(), InvalidValue> {
        self.preset
            .validate(crate::machine::available_memory_bytes())
    }

    fn thread_counts(&self) -> Vec<usize> {
        self.preset.thread_counts()
    }

    fn trials(&self) -> u32 {
        self.preset.sweep.trials
    }

    /// The comparison's plan is not one sweep's: no overrun note.
    fn planned_s(&self) -> Option<f64> {
        None
    }

    fn prepare(&self, calibration: &Calibration, cancel: &CancelToken) -> Vec<PreparedSeries> {
        let mut context = BuildContext::new(&self.preset.sweep, calibration, &self.options, cancel);
        context.folder = self.preset.folder.clone();
        self.preset
            .series
            .iter()
            .map(|spec| build(spec, &mut context))
            .collect()
    }
}
