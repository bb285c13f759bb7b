//! A user's program that runs its own threads (`kind = "command"`), as a series: at each
//! thread count, `warmup_runs` untimed runs, then one run per trial, each after `prepare`
//! (untimed); `setup` once before the first measure, `cleanup` once at the end (also after a
//! Stop or an error: when the series is dropped). Every run goes through
//! [`crate::child::launch`], so its CPU time, peak memory and context switches come from
//! `wait4` and W/C is measured, not guessed.
//!
//! Units: a trial is one run that accomplishes `work_per_run` of `work_unit`; a point's
//! "task" is one unit of work (throughput = `work_per_run` / wall, CPU and wall time per
//! unit), while its latency percentiles are whole runs' wall times.
//!
//! This source never runs a program before the series is built: building finds every
//! program (refusing a missing one, naming `workload.run` and PATH) and checks every
//! placeholder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cancel::CancelToken;
use crate::child::Registration;
use crate::child::launch::{Finished, Launch, Output, Placeholders, Stopped};
use crate::engine::{Measured, OnStep, Series};
use crate::measure::ProcessUsage;
use crate::result::Point;
use crate::spec::SweepSpec;
use crate::spec::command::{CommandLine, CommandSpec};
use crate::stats;
use crate::trust::{self, BusySampler, OthersWindow};

/// The placeholder for the thread count being measured.
pub const THREADS: &str = "threads";

/// The placeholder for the run's scratch folder: made by pooltune before `setup`, removed
/// after `cleanup`.
pub const SCRATCH: &str = "scratch";

/// A command preset's series: one program measured at each thread count.
pub struct CommandSeries {
    spec: CommandSpec,
    folder: PathBuf,
    trials: u32,
    retry_disturbed: u32,
    /// The scratch folder for `{scratch}`; None once removed.
    scratch: Option<tempfile::TempDir>,
    /// So that a second Ctrl-C removes the scratch folder too.
    _scratch_registration: Option<Registration>,
    /// Set once `setup` has been tried: `cleanup` runs only then.
    started: bool,
    /// Why `setup` failed, for every later thread count.
    setup_failed: Option<String>,
    sampler: BusySampler,
    cpus: usize,
}

impl CommandSeries {
    /// The series of `spec` with `sweep`'s trials, its relative paths and runs in `folder`.
    /// Refuses a program that is not found or not executable, or an unknown placeholder,
    /// before anything runs; the message names the field.
    pub fn new(spec: &CommandSpec, folder: &Path, sweep: &SweepSpec) -> Result<Self, String> {
        let scratch = tempfile::Builder::new()
            .prefix("pooltune-scratch-")
            .tempdir()
            .map_err(|err| format!("could not make the scratch folder for {{scratch}}: {err}"))?;
        let registration = crate::child::register_folder(scratch.path());
        let series = CommandSeries {
            spec: spec.clone(),
            folder: folder.to_path_buf(),
            trials: sweep.trials,
            retry_disturbed: sweep.retry_disturbed,
            scratch: Some(scratch),
            _scratch_registration: Some(registration),
            started: false,
            setup_failed: None,
            sampler: BusySampler::system(),
            cpus: crate::machine::online_cpus(),
        };
        // Every command as it would run at some thread count: finds each program and checks
        // each placeholder now, not after an hour of sweeping.
        let threads = sweep.thread_counts().first().copied().unwrap_or(1);
        series.run_launch(threads)?;
        if let Some(line) = &spec.prepare {
            series.launch("workload.prepare", line, threads)?;
        }
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

    fn scratch_path(&self) -> String {
        self.scratch
            .as_ref()
            .map(|dir| dir.path().display().to_string())
            .unwrap_or_default()
    }

    /// The placeholders of a run or a `prepare` at `threads`.
    fn values(&self, threads: usize) -> Placeholders {
        Placeholders::new()
            .with(THREADS, threads)
            .with(SCRATCH, self.scratch_path())
    }

    /// `line` as run at `threads` (with the preset's environment).
    fn launch(&self, field: &str, line: &CommandLine, threads: usize) -> Result<Launch, String> {
        let values = self.values(threads);
        Ok(Launch::of_line(field, line, &values, &self.folder)?
            .with_env("workload.env", &self.spec.env, &values)?
            .with_output(self.output())
            .with_timeout(Some(self.timeout())))
    }

    /// The program's run at `threads`.
    fn run_launch(&self, threads: usize) -> Result<Launch, String> {
        self.launch("workload.run", &self.spec.run, threads)
    }

    /// `setup` or `cleanup`: run once, so no `{threads}` (and no `env`, whose values may
    /// use it).
    fn once_launch(&self, field: &str, line: &CommandLine) -> Result<Launch, String> {
        let values = Placeholders::new().with(SCRATCH, self.scratch_path());
        Ok(Launch::of_line(field, line, &values, &self.folder)?
            .with_output(self.output())
            .with_timeout(Some(self.timeout())))
    }

    fn output(&self) -> Output {
        if self.spec.keep_output {
            Output::Keep
        } else {
            Output::Discard
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.spec.timeout_s)
    }

    /// Runs `setup` the first time; its failure (`PointEnd::Failed`) fails the series.
    fn ensure_setup(&mut self, cancel: &CancelToken) -> Result<(), PointEnd> {
        if let Some(message) = &self.setup_failed {
            return Err(PointEnd::Failed(message.clone()));
        }
        if self.started {
            return Ok(());
        }
        self.started = true;
        let Some(line) = self.spec.setup.clone() else {
            return Ok(());
        };
        let outcome = self
            .once_launch("workload.setup", &line)
            .and_then(|launch| untimed(&launch, cancel, "workload.setup", self.timeout()));
        match outcome {
            Ok(()) => Ok(()),
            Err(_) if cancel.is_cancelled() => Err(PointEnd::Cancelled),
            Err(message) => {
                self.setup_failed = Some(message.clone());
                Err(PointEnd::Failed(message))
            }
        }
    }

    /// `prepare` (untimed) then one run, measured.
    fn prepared_run(
        &self,
        run: &Launch,
        prepare: Option<&Launch>,
        cancel: &CancelToken,
    ) -> Result<Finished, String> {
        if let Some(prepare) = prepare {
            untimed(prepare, cancel, "workload.prepare", self.timeout())?;
        }
        run.run(cancel)
            .map_err(|err| format!("workload.run: {err}"))
    }

    fn measure_point(
        &mut self,
        threads: usize,
        cancel: &CancelToken,
        on_step: &mut OnStep,
    ) -> Result<Point, PointEnd> {
        let run = self.run_launch(threads).map_err(PointEnd::Failed)?;
        let prepare = match &self.spec.prepare {
            Some(line) => Some(
                self.launch("workload.prepare", line, threads)
                    .map_err(PointEnd::Failed)?,
            ),
            None => None,
        };
        let timeout = self.timeout();
        let failed = |finished: &Finished, what: &str| -> PointEnd {
            if finished.stopped == Some(Stopped::Cancelled) || cancel.is_cancelled() {
                return PointEnd::Cancelled;
            }
            let why = finished
                .failure(Some(timeout))
                .unwrap_or_else(|| finished.end.to_string());
            PointEnd::Failed(format!("workload.run: {what} at {threads} threads: {why}"))
        };
        for _ in 0..self.spec.warmup_runs {
            let finished = self
                .prepared_run(&run, prepare.as_ref(), cancel)
                .map_err(|message| PointEnd::of_message(message, cancel))?;
            if !finished.succeeded() {
                return Err(failed(&finished, "the warm-up run failed"));
            }
        }
        on_step(1);
        let mut runs = Vec::with_capacity(self.trials as usize);
        let mut retried_trials = 0u32;
        for trial in 0..self.trials {
            let mut repeats = 0u32;
            let (finished, other_cpus) = loop {
                if let Some(prepare) = &prepare {
                    untimed(prepare, cancel, "workload.prepare", self.timeout())
                        .map_err(|message| PointEnd::of_message(message, cancel))?;
                }
                let window = OthersWindow::open(&mut self.sampler);
                let finished = run
                    .run(cancel)
                    .map_err(|err| PointEnd::of_message(format!("workload.run: {err}"), cancel))?;
                let other_cpus =
                    window.close(&mut self.sampler, &ProcessUsage::now(), 0, self.cpus);
                if !finished.succeeded() {
                    return Err(failed(&finished, &format!("run {} failed", trial + 1)));
                }
                if trust::trial_disturbed(other_cpus)
                    && repeats < self.retry_disturbed
                    && !cancel.is_cancelled()
                {
                    repeats += 1;
                    continue;
                }
                break (finished, other_cpus);
            };
            if repeats > 0 {
                retried_trials += 1;
            }
            runs.push((finished, other_cpus));
            on_step(trial as usize + 2);
        }
        let mut point = summarise(threads, self.spec.work_per_run, &runs);
        point.retried_trials = retried_trials;
        Ok(point)
    }
}

/// How a point ended early.
enum PointEnd {
    Failed(String),
    Cancelled,
}

impl PointEnd {
    fn of_message(message: String, cancel: &CancelToken) -> PointEnd {
        if cancel.is_cancelled() {
            PointEnd::Cancelled
        } else {
            PointEnd::Failed(message)
        }
    }
}

/// Runs `launch` untimed (setup, prepare, cleanup); Err says how it failed, naming `field`.
fn untimed(
    launch: &Launch,
    cancel: &CancelToken,
    field: &str,
    timeout: Duration,
) -> Result<(), String> {
    let finished = launch
        .run(cancel)
        .map_err(|err| format!("{field}: {err}"))?;
    match finished.failure(Some(timeout)) {
        None => Ok(()),
        Some(why) => Err(format!("{field} failed: {why} (`{}`)", launch.display())),
    }
}

impl Series for CommandSeries {
    fn measure(&mut self, threads: usize, cancel: &CancelToken, on_step: &mut OnStep) -> Measured {
        match self.ensure_setup(cancel) {
            Ok(()) => {}
            Err(PointEnd::Cancelled) => return Measured::Cancelled,
            Err(PointEnd::Failed(message)) => return Measured::SeriesFailed(message),
        }
        match self.measure_point(threads, cancel, on_step) {
            Ok(point) => Measured::Point(point),
            Err(PointEnd::Cancelled) => Measured::Cancelled,
            Err(PointEnd::Failed(message)) => Measured::Point(Point::failed(threads, message)),
        }
    }

    fn measure_trials(
        &mut self,
        threads: usize,
        trials: u32,
        cancel: &CancelToken,
        on_step: &mut OnStep,
    ) -> Measured {
        let usual = self.trials;
        self.trials = trials.max(1);
        let measured = self.measure(threads, cancel, on_step);
        self.trials = usual;
        measured
    }
}

impl Drop for CommandSeries {
    /// `cleanup` once (if `setup` was tried), whatever ended the sweep, then the scratch
    /// folder goes.
    fn drop(&mut self) {
        if self.started
            && let Some(line) = self.spec.cleanup.clone()
        {
            // A fresh token: a Stop ends the runs, not the cleanup after them.
            let outcome = self
                .once_launch("workload.cleanup", &line)
                .and_then(|launch| {
                    untimed(
                        &launch,
                        &CancelToken::new(),
                        "workload.cleanup",
                        self.timeout(),
                    )
                });
            if let Err(message) = outcome {
                eprintln!("pooltune: {message}");
            }
        }
        if let Some(dir) = self.scratch.take() {
            let _ = dir.close();
        }
        self._scratch_registration = None;
    }
}

/// The point of one thread count's runs (each with the CPUs other processes used meanwhile).
fn summarise(threads: usize, work_per_run: f64, runs: &[(Finished, f64)]) -> Point {
    let walls_s: Vec<f64> = runs.iter().map(|(f, _)| f.wall.as_secs_f64()).collect();
    let cpus_s: Vec<f64> = runs.iter().map(|(f, _)| f.cpu().as_secs_f64()).collect();
    let throughputs: Vec<f64> = walls_s
        .iter()
        .map(|wall| {
            if *wall > 0.0 {
                work_per_run / wall
            } else {
                f64::NAN
            }
        })
        .collect();
    let utilisations: Vec<f64> = walls_s
        .iter()
        .zip(&cpus_s)
        .map(|(wall, cpu)| if *wall > 0.0 { cpu / wall } else { f64::NAN })
        .collect();
    let mut sorted_us: Vec<f64> = walls_s.iter().map(|s| s * 1e6).collect();
    sorted_us.sort_by(f64::total_cmp);
    let other: Vec<f64> = runs.iter().map(|(_, other)| *other).collect();
    let mean_of = |values: Vec<f64>| stats::mean(&values);
    Point {
        threads,
        trials: u32::try_from(runs.len()).unwrap_or(u32::MAX),
        tasks_per_trial: work_per_run,
        throughput_per_s: stats::mean(&throughputs),
        throughput_ci95_per_s: stats::ci95_half_width(&throughputs),
        trial_throughputs_per_s: throughputs,
        latency_p50_us: crate::cost::percentile(&sorted_us, 0.50),
        latency_p95_us: crate::cost::percentile(&sorted_us, 0.95),
        latency_p99_us: crate::cost::percentile(&sorted_us, 0.99),
        latency_max_us: sorted_us.last().copied().unwrap_or(f64::NAN),
        latency_sample_every: 1,
        cpu_time_per_task_us: stats::mean(&cpus_s) * 1e6 / work_per_run,
        wall_time_per_task_us: stats::mean(&walls_s) * 1e6 / work_per_run,
        cpu_utilization: stats::mean(&utilisations),
        peak_rss_bytes: runs.iter().map(|(f, _)| f.max_rss_bytes).max().unwrap_or(0),
        workers_peak_rss_bytes: None,
        voluntary_context_switches: mean_of(
            runs.iter()
                .map(|(f, _)| f.voluntary_switches.map_or(f64::NAN, |n| n as f64))
                .collect(),
        ),
        involuntary_context_switches: mean_of(
            runs.iter()
                .map(|(f, _)| f.involuntary_switches.map_or(f64::NAN, |n| n as f64))
                .collect(),
        ),
        other_cpu_utilization: stats::mean(&other),
        disturbed: trust::point_disturbed(&other),
        retried_trials: 0,
        error: None,
    }
}
