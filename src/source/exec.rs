//! A command per task (`kind = "exec"`) as a series: the [`Exec`] workload on one of
//! pooltune's pools of threads, measured by the in-process source (warm-up, trials, the same
//! point fields), with what a user's command needs around it: a scratch folder for
//! `{scratch}`, `setup` once before the first point, the `inputs` glob expanded after it, and
//! `cleanup` once at the end (also after a Stop or an error: when the series is dropped).
//!
//! It never runs anything while it is built: building finds the program (refusing a missing
//! one, naming `workload.run` and PATH), checks every placeholder, refuses the process pool,
//! and, when there is no `setup` to make them, expands `inputs` (no match is refused).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::cancel::CancelToken;
use crate::child::Registration;
use crate::child::launch::{Launch, Output, Placeholders};
use crate::engine::{Measured, OnStep, Series};
use crate::result::Calibration;
use crate::spec::{CommandLine, ExecSpec, PoolSpec, SweepSpec, WorkloadSpec};
use crate::workload::Workload;
use crate::workload::exec::{Exec, ExecPlan, SCRATCH};

use super::in_process::{PointSetup, measure_workload};

/// An exec preset's series.
pub struct ExecSeries {
    spec: ExecSpec,
    setup: PointSetup,
    folder: PathBuf,
    /// The plan; its inputs are expanded once `setup` has run.
    plan: ExecPlan,
    /// Set once the inputs are expanded (after `setup`).
    ready: Option<Arc<ExecPlan>>,
    /// The scratch folder for `{scratch}`; None once removed.
    scratch: Option<tempfile::TempDir>,
    /// So that a second Ctrl-C removes the scratch folder too.
    _scratch_registration: Option<Registration>,
    /// Set once `setup` has been tried: `cleanup` runs only then.
    started: bool,
    /// Why `setup` or the inputs failed, for every later thread count.
    failed: Option<String>,
}

impl ExecSeries {
    /// The series of `spec` on `pool` with `sweep`'s trials, its relative paths and tasks in
    /// `folder`. Refuses, before anything runs, what cannot run: the process pool, a program
    /// not found or not executable, an unknown placeholder, and (without a `setup`) an
    /// `inputs` glob that matches nothing.
    pub fn new(
        spec: &ExecSpec,
        pool: &PoolSpec,
        folder: &Path,
        sweep: &SweepSpec,
        calibration: &Calibration,
    ) -> Result<ExecSeries, String> {
        let workload = WorkloadSpec::Exec(spec.clone());
        if let (PoolSpec::Process { .. }, Some(why)) = (pool, workload.worker_process_refusal()) {
            return Err(format!(
                "pool.kind = \"process\": {why}; use rayon, queue or spawn"
            ));
        }
        let scratch = tempfile::Builder::new()
            .prefix("pooltune-scratch-")
            .tempdir()
            .map_err(|err| format!("could not make the scratch folder for {{scratch}}: {err}"))?;
        let registration = crate::child::register_folder(scratch.path());
        let mut plan = ExecPlan::prepare(spec, folder, Some(scratch.path()))?;
        let mut ready = None;
        if spec.setup.is_none() {
            plan.expand_inputs()?;
            ready = Some(Arc::new(plan.clone()));
        }
        let series = ExecSeries {
            spec: spec.clone(),
            setup: PointSetup::new(&workload, pool, sweep, calibration.clone()),
            folder: folder.to_path_buf(),
            plan,
            ready,
            scratch: Some(scratch),
            _scratch_registration: Some(registration),
            started: false,
            failed: None,
        };
        for (field, line) in [
            ("workload.setup", &spec.setup),
            ("workload.cleanup", &spec.cleanup),
        ] {
            if let Some(line) = line {
                series.once_launch(field, line)?;
            }
        }
        Ok(series)
    }

    /// `setup` or `cleanup` as run: in the folder, `{scratch}` its only placeholder.
    fn once_launch(&self, field: &str, line: &CommandLine) -> Result<Launch, String> {
        let mut values = Placeholders::new();
        if let Some(scratch) = &self.scratch {
            values.set(SCRATCH, scratch.path().display());
        }
        Ok(Launch::of_line(field, line, &values, &self.folder)?
            .with_output(if self.spec.keep_output {
                Output::Keep
            } else {
                Output::Discard
            })
            .with_timeout(Some(Duration::from_secs_f64(self.spec.timeout_s))))
    }

    /// Runs `field`'s command once, untimed; Err says how it failed.
    fn run_once(
        &self,
        field: &str,
        line: &CommandLine,
        cancel: &CancelToken,
    ) -> Result<(), String> {
        let launch = self.once_launch(field, line)?;
        let finished = launch
            .run(cancel)
            .map_err(|err| format!("{field}: {err}"))?;
        match finished.failure(Some(Duration::from_secs_f64(self.spec.timeout_s))) {
            None => Ok(()),
            Some(why) => Err(format!("{field} failed: {why} (`{}`)", launch.display())),
        }
    }

    /// The plan with its inputs, running `setup` first the first time. Err(None): stopped
    /// during `setup`; Err(Some(why)): the series cannot run.
    fn ready(&mut self, cancel: &CancelToken) -> Result<Arc<ExecPlan>, Option<String>> {
        if let Some(message) = &self.failed {
            return Err(Some(message.clone()));
        }
        if let Some(plan) = &self.ready {
            return Ok(Arc::clone(plan));
        }
        let mut outcome = Ok(());
        if let Some(line) = self.spec.setup.clone() {
            outcome = self.run_once("workload.setup", &line, cancel);
        }
        if outcome.is_err() && cancel.is_cancelled() {
            return Err(None);
        }
        let outcome = outcome.and_then(|()| {
            let mut plan = self.plan.clone();
            plan.expand_inputs().map(|()| Arc::new(plan))
        });
        match outcome {
            Ok(plan) => {
                self.ready = Some(Arc::clone(&plan));
                Ok(plan)
            }
            Err(message) => {
                self.failed = Some(message.clone());
                Err(Some(message))
            }
        }
    }
}

impl Series for ExecSeries {
    fn measure(&mut self, threads: usize, cancel: &CancelToken, on_step: &mut OnStep) -> Measured {
        self.started = true;
        let plan = match self.ready(cancel) {
            Ok(plan) => plan,
            Err(Some(message)) => return Measured::SeriesFailed(message),
            Err(None) => return Measured::Cancelled,
        };
        let workload: Arc<dyn Workload> = Arc::new(Exec::new(plan, threads));
        match measure_workload(&self.setup, &workload, threads, cancel, on_step) {
            Some(point) => Measured::Point(point),
            None => Measured::Cancelled,
        }
    }

    fn measure_trials(
        &mut self,
        threads: usize,
        trials: u32,
        cancel: &CancelToken,
        on_step: &mut OnStep,
    ) -> Measured {
        let usual = self.setup.trials;
        self.setup.trials = trials.max(1);
        let measured = self.measure(threads, cancel, on_step);
        self.setup.trials = usual;
        measured
    }
}

impl Drop for ExecSeries {
    /// `cleanup` once (if a point was started), whatever ended the sweep, then the scratch
    /// folder goes.
    fn drop(&mut self) {
        if self.started
            && let Some(line) = self.spec.cleanup.clone()
        {
            // A fresh token: a Stop ends the tasks, not the cleanup after them.
            if let Err(message) = self.run_once("workload.cleanup", &line, &CancelToken::new()) {
                eprintln!("pooltune: {message}");
            }
        }
        if let Some(dir) = self.scratch.take() {
            let _ = dir.close();
        }
        self._scratch_registration = None;
    }
}
