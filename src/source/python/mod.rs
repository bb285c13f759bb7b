//! The Python source: a series measured by the shipped script (`assets/pybench.py`) on a
//! probed CPython, once per thread count. This file is the glue between the engine's
//! [`Series`] and [`crate::source::python::script`], which finds, probes and runs interpreters and
//! stays where it is. It never leaves a Python process or the script's folder behind: the
//! folder lives as long as the series that use it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cancel::CancelToken;
use crate::source::CompareOptions;
pub mod call;
pub mod format;
pub mod script;

use self::script::{ScriptError, ScriptFile, TrialShape};
use crate::engine::{InterpreterInfo, Measured, OnStep, PreparedSeries, Series, SeriesInfo};
use crate::measure::ProcessUsage;
use crate::spec::{PythonSetup, SeriesKind, SeriesSpec};
use crate::trust::{self, BusySampler, OthersWindow};

/// A Python series: the script, run once per thread count on a probed interpreter.
pub struct PythonSeries {
    /// The script's folder, removed when the last series using it is dropped.
    script: Arc<ScriptFile>,
    interpreter: InterpreterInfo,
    kind: SeriesKind,
    setup: PythonSetup,
    shape: TrialShape,
}

impl Series for PythonSeries {
    fn measure(&mut self, threads: usize, cancel: &CancelToken, on_step: &mut OnStep) -> Measured {
        let request = script::request_for(
            self.kind,
            &self.setup,
            threads,
            self.interpreter.loops_per_us,
            self.shape.trials,
        );
        // The script's trials run inside Python, out of reach: other processes' CPU is measured
        // over the whole run at this count (start-up included), once the interpreter and the
        // workers it waited for have ended and their CPU time is in RUSAGE_CHILDREN.
        let mut busy = BusySampler::system();
        let window = OthersWindow::open(&mut busy);
        let measured = script::measure(
            &self.script.path(),
            &self.interpreter,
            &request,
            &self.shape,
            cancel,
            on_step,
        );
        let other_cpus = window.close(
            &mut busy,
            &ProcessUsage::now(),
            0,
            crate::machine::online_cpus(),
        );
        match measured {
            Ok(mut point) => {
                point.other_cpu_utilization = other_cpus;
                point.disturbed = trust::point_disturbed(&[other_cpus]);
                Measured::Point(point)
            }
            Err(ScriptError::Cancelled) => Measured::Cancelled,
            Err(ScriptError::Failed(message)) => Measured::SeriesFailed(format!(
                "at {}: {message}",
                crate::words::counted_usize(threads, "thread", "threads")
            )),
        }
    }
}

/// What the Python series of one run share: the script, written once, and one probe per
/// interpreter (so threads and processes on the same Python run the same calibrated loop).
pub struct PythonRun<'a> {
    options: &'a CompareOptions,
    cancel: &'a CancelToken,
    shape: TrialShape,
    script: Option<Arc<ScriptFile>>,
    script_error: Option<String>,
    probes: HashMap<PathBuf, Result<InterpreterInfo, String>>,
}

impl<'a> PythonRun<'a> {
    /// Nothing written or probed yet.
    pub fn new(
        options: &'a CompareOptions,
        shape: TrialShape,
        cancel: &'a CancelToken,
    ) -> PythonRun<'a> {
        PythonRun {
            options,
            cancel,
            shape,
            script: None,
            script_error: None,
            probes: HashMap::new(),
        }
    }

    /// The series of `spec`: its interpreter found and probed, its label completed with the
    /// interpreter's version and GIL state; or why it cannot run.
    pub fn prepare(&mut self, spec: &SeriesSpec, setup: &PythonSetup) -> PreparedSeries {
        let mut info = SeriesInfo {
            label: spec.label.clone(),
            kind: spec.kind,
            interpreter: None,
        };
        let override_path = if spec.kind == SeriesKind::PythonFreeThreaded {
            self.options.free_threaded_python.as_deref()
        } else {
            self.options.python.as_deref()
        };
        let ready = script::resolve_interpreter(
            spec.kind,
            setup.interpreter.as_deref(),
            override_path,
            &self.options.advice,
        )
        .and_then(|path| {
            let script = self.script()?;
            let cancel = self.cancel;
            let probe = self
                .probes
                .entry(path.clone())
                .or_insert_with(|| probe(&script.path(), &path, cancel))
                .clone()?;
            if let Some(module) = required_module(spec.kind) {
                let missing = script::module_missing(&script.path(), &path, module, cancel)
                    .map_err(|err| match err {
                        ScriptError::Cancelled => "not run: the comparison was stopped".to_owned(),
                        ScriptError::Failed(message) => format!("not run: {message}"),
                    })?;
                if let Some(why) = missing {
                    return Err(format!("not run: {why}"));
                }
            }
            Ok((script, probe))
        });
        let series: Result<Box<dyn Series>, String> = match ready {
            Ok((script, interpreter)) => {
                // A "free-threaded" series given an ordinary build says so on the chart.
                let note = if spec.kind == SeriesKind::PythonFreeThreaded
                    && !interpreter.free_threaded_build
                {
                    ", not a free-threaded build"
                } else {
                    ""
                };
                info.label = format!("{} ({}{note})", spec.label, interpreter.describe());
                info.interpreter = Some(interpreter.clone());
                Ok(Box::new(PythonSeries {
                    script,
                    interpreter,
                    kind: spec.kind,
                    setup: setup.clone(),
                    shape: self.shape,
                }))
            }
            Err(message) => Err(message),
        };
        PreparedSeries { info, series }
    }

    /// The script, written on first use; the error is kept so it is reported per series.
    fn script(&mut self) -> Result<Arc<ScriptFile>, String> {
        if let Some(message) = &self.script_error {
            return Err(message.clone());
        }
        if let Some(file) = &self.script {
            return Ok(Arc::clone(file));
        }
        match ScriptFile::write() {
            Ok(file) => {
                let file = Arc::new(file);
                self.script = Some(Arc::clone(&file));
                Ok(file)
            }
            Err(err) => {
                let message =
                    format!("could not write the Python script to a temporary folder: {err}");
                self.script_error = Some(message.clone());
                Err(message)
            }
        }
    }
}

/// The module a series of `kind` imports beyond the standard library (gevent for greenlets):
/// checked before the first point, so a machine without it gets a message, not a failure.
fn required_module(kind: SeriesKind) -> Option<&'static str> {
    (kind == SeriesKind::PythonGevent).then_some("gevent")
}

fn probe(
    script: &Path,
    interpreter: &Path,
    cancel: &CancelToken,
) -> Result<InterpreterInfo, String> {
    script::probe(script, interpreter, cancel).map_err(|err| match err {
        ScriptError::Cancelled => "not run: the comparison was stopped".to_owned(),
        ScriptError::Failed(message) => format!("not run: {message}"),
    })
}
