//! The comparison runner: for each thread count, every series in turn (A, B, C, A, B, C, ...),
//! so that drift of the machine (other programs, heat, frequency) does not favour one series.
//! Rust series are measured by [`sweep::measure_point`], Python series by the shipped script.
//! Progress, each point and each failed series go out as [`CompareEvent`]s, like a sweep's.
//!
//! A series that fails (no interpreter, a crash, malformed output) is reported once with
//! [`CompareEvent::SeriesFailed`], keeps the points it measured and is not run again; the
//! other series carry on. A Stop ends the run within milliseconds, Python processes included.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::python::{self, ScriptError, ScriptFile, TrialShape};
use super::result::{ComparisonResult, InterpreterInfo, SeriesResult};
use super::spec::{ComparisonPreset, PythonSetup, SeriesKind, SeriesSetup};
use crate::cancel::CancelToken;
use crate::error::EngineError;
use crate::machine::MachineInfo;
use crate::measure::ProcessUsage;
use crate::result::{Calibration, Point};
use crate::sweep::{self, PointSetup, Progress};
use crate::trust::{self, BusySampler, OthersWindow};
use crate::workload;

/// Choices made when a comparison is started rather than written in its file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompareOptions {
    /// Interpreter for `python_threads` and `python_processes` series, over the preset's
    /// `interpreter` and PATH (`pooltune compare --python`).
    pub python: Option<PathBuf>,
    /// Interpreter for `python_free_threaded` series (`--free-threaded-python`).
    pub free_threaded_python: Option<PathBuf>,
    /// How this front end's user gives an interpreter, for the advice in "not found" errors.
    pub advice: python::InterpreterAdvice,
}

/// What a comparison reports while it runs.
#[derive(Debug, Clone)]
pub enum CompareEvent {
    /// Interpreters are found and calibrated: what will run, and where.
    Started {
        /// The machine.
        machine: MachineInfo,
        /// The Rust series' calibration.
        calibration: Calibration,
        /// Thread counts, in the order they will run.
        thread_counts: Vec<usize>,
        /// Trials per thread count.
        trials: u32,
        /// One entry per series, in order, labelled as on the chart.
        series: Vec<SeriesInfo>,
    },
    /// A warm-up or a trial of one series has finished.
    Progress {
        /// Index of the series being measured.
        series: usize,
        /// How far the whole comparison has got.
        progress: Progress,
    },
    /// A series has measured one thread count (a Rust point may carry an `error`).
    SeriesPoint {
        /// Index of the series.
        series: usize,
        /// The point.
        point: Point,
    },
    /// A series stopped for good (or never started); the message says why and what to do.
    SeriesFailed {
        /// Index of the series.
        series: usize,
        /// Why.
        message: String,
    },
    /// The comparison is over (finished or stopped); the whole result.
    Finished(Box<ComparisonResult>),
}

/// A series as announced by [`CompareEvent::Started`].
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesInfo {
    /// The legend (with the interpreter's version and GIL state for Python series).
    pub label: String,
    /// What the series is.
    pub kind: SeriesKind,
    /// The interpreter a Python series runs on, once found.
    pub interpreter: Option<InterpreterInfo>,
}

/// What measuring one series at one thread count gave.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Measured {
    /// A point (for Rust series, possibly a failed point: the series goes on).
    Point(Point),
    /// The series cannot go on.
    SeriesFailed(String),
    /// The user stopped the comparison.
    Cancelled,
}

/// Something that measures one series, one thread count at a time.
pub(crate) trait MeasureSeries {
    /// Measures `threads`, calling `on_step(1)` after the warm-up and `on_step(k + 1)` after
    /// trial k.
    fn measure(
        &mut self,
        threads: usize,
        cancel: &CancelToken,
        on_step: &mut dyn FnMut(usize),
    ) -> Measured;
}

/// A Rust series: pooltune's own engine, exactly as a sweep measures a point.
struct RustSeries {
    setup: PointSetup,
}

impl MeasureSeries for RustSeries {
    fn measure(
        &mut self,
        threads: usize,
        cancel: &CancelToken,
        on_step: &mut dyn FnMut(usize),
    ) -> Measured {
        match sweep::measure_point(&self.setup, threads, cancel, on_step) {
            Some(point) => Measured::Point(point),
            None => Measured::Cancelled,
        }
    }
}

/// A Python series: the script, run once per thread count on a probed interpreter.
struct PythonSeries {
    script: PathBuf,
    interpreter: InterpreterInfo,
    kind: SeriesKind,
    setup: PythonSetup,
    shape: TrialShape,
}

impl MeasureSeries for PythonSeries {
    fn measure(
        &mut self,
        threads: usize,
        cancel: &CancelToken,
        on_step: &mut dyn FnMut(usize),
    ) -> Measured {
        let request = python::request_for(
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
        let measured = python::measure(
            &self.script,
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

/// Runs a whole comparison on the calling thread, reporting through `emit`. Returns the
/// result, also sent as [`CompareEvent::Finished`]. A stopped comparison keeps its points.
pub fn run_compare(
    preset: &ComparisonPreset,
    options: &CompareOptions,
    cancel: &CancelToken,
    emit: &mut dyn FnMut(CompareEvent),
) -> Result<ComparisonResult, EngineError> {
    preset
        .validate(crate::machine::available_memory_bytes())
        .map_err(EngineError::InvalidPreset)?;
    sweep::install_quiet_panic_hook();
    let started = Instant::now();
    let started_unix_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let machine = MachineInfo::detect();
    let calibration = workload::calibrate_until(cancel);
    let thread_counts = preset.thread_counts();
    let shape = TrialShape {
        trials: preset.sweep.trials,
        length: preset.sweep.trial_length(),
        warmup_ms: preset.sweep.warmup_ms,
    };

    let prepared = prepare(preset, options, &calibration, &shape, cancel);
    let mut results = prepared.results;
    let mut runners = prepared.runners;
    emit(CompareEvent::Started {
        machine: machine.clone(),
        calibration: calibration.clone(),
        thread_counts: thread_counts.clone(),
        trials: preset.sweep.trials,
        series: results
            .iter()
            .map(|r| SeriesInfo {
                label: r.label.clone(),
                kind: r.kind,
                interpreter: r.interpreter.clone(),
            })
            .collect(),
    });
    for (series, result) in results.iter().enumerate() {
        if let Some(message) = &result.error {
            emit(CompareEvent::SeriesFailed {
                series,
                message: message.clone(),
            });
        }
    }
    let cancelled = cancel.is_cancelled()
        || interleave(
            &thread_counts,
            shape.trials as usize + 1,
            &mut runners,
            &mut results,
            cancel,
            started,
            emit,
        );
    // The script's folder lives until every Python run is over.
    drop(prepared.script);
    let mut result = ComparisonResult {
        machine,
        preset: preset.clone(),
        calibration,
        thread_counts,
        series: results,
        cancelled,
        started_unix_s,
        duration_s: started.elapsed().as_secs_f64(),
        warnings: Vec::new(),
    };
    result.warnings = trust::compare_warnings(&result);
    emit(CompareEvent::Finished(Box::new(result.clone())));
    Ok(result)
}

/// Runs [`run_compare`] on a named background thread (`pooltune-compare`).
pub fn spawn_compare(
    preset: ComparisonPreset,
    options: CompareOptions,
    cancel: CancelToken,
    mut emit: impl FnMut(CompareEvent) + Send + 'static,
) -> Result<JoinHandle<Result<ComparisonResult, EngineError>>, EngineError> {
    std::thread::Builder::new()
        .name("pooltune-compare".into())
        .spawn(move || run_compare(&preset, &options, &cancel, &mut emit))
        .map_err(EngineError::Spawn)
}

/// Every series ready to run, or failed before the start.
struct Prepared {
    results: Vec<SeriesResult>,
    runners: Vec<Option<Box<dyn MeasureSeries>>>,
    script: Option<ScriptFile>,
}

/// Builds each series' runner: Rust series directly; Python series after finding their
/// interpreter and probing it (once per interpreter, so threads and processes on the same
/// Python run the same calibrated loop).
fn prepare(
    preset: &ComparisonPreset,
    options: &CompareOptions,
    calibration: &Calibration,
    shape: &TrialShape,
    cancel: &CancelToken,
) -> Prepared {
    let mut prepared = Prepared {
        results: Vec::new(),
        runners: Vec::new(),
        script: None,
    };
    let mut script_error: Option<String> = None;
    let mut probes: HashMap<PathBuf, Result<InterpreterInfo, String>> = HashMap::new();
    for spec in &preset.series {
        let mut result = SeriesResult {
            label: spec.label.clone(),
            kind: spec.kind,
            interpreter: None,
            points: Vec::new(),
            error: None,
        };
        let runner: Option<Box<dyn MeasureSeries>> = match &spec.setup {
            SeriesSetup::Rust { workload, pool } => Some(Box::new(RustSeries {
                setup: PointSetup {
                    retry_disturbed: preset.sweep.retry_disturbed,
                    workload: workload.clone(),
                    pool: pool.clone(),
                    trials: shape.trials,
                    length: shape.length,
                    warmup_ms: shape.warmup_ms,
                    calibration: calibration.clone(),
                },
            })),
            SeriesSetup::Python(setup) => {
                let override_path = if spec.kind == SeriesKind::PythonFreeThreaded {
                    options.free_threaded_python.as_deref()
                } else {
                    options.python.as_deref()
                };
                let ready =
                    python::resolve_interpreter(spec.kind, setup, override_path, &options.advice)
                        .and_then(|path| {
                            let script = script_path(&mut prepared.script, &mut script_error)?;
                            let probe = probes
                                .entry(path.clone())
                                .or_insert_with(|| probe(&script, &path, cancel))
                                .clone()?;
                            Ok((script, probe))
                        });
                match ready {
                    Ok((script, interpreter)) => {
                        // A "free-threaded" series given an ordinary build says so on the chart.
                        let note = if spec.kind == SeriesKind::PythonFreeThreaded
                            && !interpreter.free_threaded_build
                        {
                            ", not a free-threaded build"
                        } else {
                            ""
                        };
                        result.label = format!("{} ({}{note})", spec.label, interpreter.describe());
                        result.interpreter = Some(interpreter.clone());
                        Some(Box::new(PythonSeries {
                            script,
                            interpreter,
                            kind: spec.kind,
                            setup: setup.clone(),
                            shape: *shape,
                        }))
                    }
                    Err(message) => {
                        result.error = Some(message);
                        None
                    }
                }
            }
        };
        prepared.results.push(result);
        prepared.runners.push(runner);
    }
    prepared
}

/// The script's path, written on first use; the error is kept so it is reported per series.
fn script_path(
    script: &mut Option<ScriptFile>,
    error: &mut Option<String>,
) -> Result<PathBuf, String> {
    if let Some(message) = error {
        return Err(message.clone());
    }
    if let Some(file) = script {
        return Ok(file.path());
    }
    match ScriptFile::write() {
        Ok(file) => {
            let path = file.path();
            *script = Some(file);
            Ok(path)
        }
        Err(err) => {
            let message = format!("could not write the Python script to a temporary folder: {err}");
            *error = Some(message.clone());
            Err(message)
        }
    }
}

fn probe(
    script: &Path,
    interpreter: &Path,
    cancel: &CancelToken,
) -> Result<InterpreterInfo, String> {
    python::probe(script, interpreter, cancel).map_err(|err| match err {
        ScriptError::Cancelled => "not run: the comparison was stopped".to_owned(),
        ScriptError::Failed(message) => format!("not run: {message}"),
    })
}

/// The heart of the runner: for each thread count, each live series in turn. Returns true
/// when stopped. Failed series are dropped from `runners` and their message kept in
/// `results`; their remaining steps count as done, so progress still reaches 1.
pub(crate) fn interleave(
    thread_counts: &[usize],
    steps_per_point: usize,
    runners: &mut [Option<Box<dyn MeasureSeries>>],
    results: &mut [SeriesResult],
    cancel: &CancelToken,
    started: Instant,
    emit: &mut dyn FnMut(CompareEvent),
) -> bool {
    let live = runners.iter().filter(|r| r.is_some()).count();
    let points = thread_counts.len();
    let steps_total = live * points * steps_per_point;
    let mut steps_done = 0;
    for (point_index, &threads) in thread_counts.iter().enumerate() {
        for series in 0..runners.len() {
            let Some(runner) = runners[series].as_mut() else {
                continue;
            };
            if cancel.is_cancelled() {
                return true;
            }
            let steps_before = steps_done;
            let measured = runner.measure(threads, cancel, &mut |step| {
                emit(CompareEvent::Progress {
                    series,
                    progress: Progress {
                        threads,
                        point_index,
                        points,
                        steps_done: steps_before + step.min(steps_per_point),
                        steps_total,
                        elapsed_s: started.elapsed().as_secs_f64(),
                        // The comparison's plan is not this sweep's; no overrun note.
                        planned_s: None,
                    },
                });
            });
            steps_done = steps_before + steps_per_point;
            match measured {
                Measured::Point(point) => {
                    emit(CompareEvent::SeriesPoint {
                        series,
                        point: point.clone(),
                    });
                    results[series].points.push(point);
                }
                Measured::SeriesFailed(message) => {
                    emit(CompareEvent::SeriesFailed {
                        series,
                        message: message.clone(),
                    });
                    results[series].error = Some(message);
                    runners[series] = None;
                    steps_done += (points - point_index - 1) * steps_per_point;
                }
                Measured::Cancelled => return true,
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::spec::{self, SeriesSpec};
    use crate::preset::{PoolSpec, SweepSpec, WorkloadSpec};
    use std::sync::{Arc, Mutex};

    /// A series that measures nothing: it records each call in a shared log and answers at once.
    struct Mock {
        name: char,
        log: Arc<Mutex<Vec<(char, usize)>>>,
        fail_at: Option<usize>,
        cancel_at: Option<usize>,
    }

    impl MeasureSeries for Mock {
        fn measure(
            &mut self,
            threads: usize,
            cancel: &CancelToken,
            on_step: &mut dyn FnMut(usize),
        ) -> Measured {
            self.log.lock().unwrap().push((self.name, threads));
            if self.cancel_at == Some(threads) {
                cancel.cancel();
                return Measured::Cancelled;
            }
            for step in 1..=3 {
                on_step(step);
            }
            if self.fail_at == Some(threads) {
                return Measured::SeriesFailed(format!("{} broke", self.name));
            }
            let mut point = Point::failed(threads, "");
            point.error = None;
            point.throughput_per_s = threads as f64;
            Measured::Point(point)
        }
    }

    fn series_result(label: &str) -> SeriesResult {
        SeriesResult {
            label: label.into(),
            kind: SeriesKind::Custom,
            interpreter: None,
            points: Vec::new(),
            error: None,
        }
    }

    /// The events as short strings: `P A 2` for a point, `F B` for a failure, `%` progress.
    fn describe(events: &[CompareEvent]) -> Vec<String> {
        let names = ['A', 'B', 'C'];
        events
            .iter()
            .filter_map(|e| match e {
                CompareEvent::SeriesPoint { series, point } => {
                    Some(format!("P {} {}", names[*series], point.threads))
                }
                CompareEvent::SeriesFailed { series, .. } => Some(format!("F {}", names[*series])),
                _ => None,
            })
            .collect()
    }

    fn mocks(
        log: &Arc<Mutex<Vec<(char, usize)>>>,
        fail_b_at: Option<usize>,
        cancel_c_at: Option<usize>,
    ) -> Vec<Option<Box<dyn MeasureSeries>>> {
        ['A', 'B', 'C']
            .into_iter()
            .map(|name| {
                Some(Box::new(Mock {
                    name,
                    log: Arc::clone(log),
                    fail_at: (name == 'B').then_some(fail_b_at).flatten(),
                    cancel_at: (name == 'C').then_some(cancel_c_at).flatten(),
                }) as Box<dyn MeasureSeries>)
            })
            .collect()
    }

    #[test]
    fn series_take_turns_at_each_thread_count() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut runners = mocks(&log, Some(2), None);
        let mut results = vec![series_result("A"), series_result("B"), series_result("C")];
        let mut events = Vec::new();
        let cancelled = interleave(
            &[1, 2, 4],
            3,
            &mut runners,
            &mut results,
            &CancelToken::new(),
            Instant::now(),
            &mut |e| events.push(e),
        );
        assert!(!cancelled);
        assert_eq!(
            describe(&events),
            [
                "P A 1", "P B 1", "P C 1", "P A 2", "F B", "P C 2", "P A 4", "P C 4"
            ]
        );
        // B is not asked again after it failed; the others stand.
        assert_eq!(
            *log.lock().unwrap(),
            [
                ('A', 1),
                ('B', 1),
                ('C', 1),
                ('A', 2),
                ('B', 2),
                ('C', 2),
                ('A', 4),
                ('C', 4)
            ]
        );
        assert_eq!(results[1].points.len(), 1);
        assert_eq!(results[1].error.as_deref(), Some("B broke"));
        assert_eq!(results[2].points.len(), 3);
        // Progress ends at 1 even though B stopped early, and never goes back.
        let fractions: Vec<f64> = events
            .iter()
            .filter_map(|e| match e {
                CompareEvent::Progress { progress, .. } => Some(progress.fraction()),
                _ => None,
            })
            .collect();
        assert!(fractions.windows(2).all(|w| w[0] <= w[1]), "{fractions:?}");
        let last = events
            .iter()
            .rev()
            .find_map(|e| match e {
                CompareEvent::Progress { series, progress } => Some((*series, progress.clone())),
                _ => None,
            })
            .unwrap();
        assert_eq!(last.0, 2);
        assert_eq!(last.1.steps_done, last.1.steps_total);
    }

    #[test]
    fn a_stop_ends_the_run_and_keeps_the_points() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut runners = mocks(&log, None, Some(2));
        let mut results = vec![series_result("A"), series_result("B"), series_result("C")];
        let mut events = Vec::new();
        let cancel = CancelToken::new();
        let cancelled = interleave(
            &[1, 2, 4],
            3,
            &mut runners,
            &mut results,
            &cancel,
            Instant::now(),
            &mut |e| events.push(e),
        );
        assert!(cancelled);
        assert_eq!(
            describe(&events),
            ["P A 1", "P B 1", "P C 1", "P A 2", "P B 2"]
        );
        assert_eq!(log.lock().unwrap().last(), Some(&('C', 2)));
        assert_eq!(results[0].points.len(), 2);
    }

    fn fast_comparison(series: Vec<SeriesSpec>) -> ComparisonPreset {
        ComparisonPreset {
            schema_version: 1,
            name: "fast".into(),
            description: String::new(),
            sweep: SweepSpec {
                threads: Some(vec![1, 2]),
                threads_range: None,
                trials: 3,
                tasks_per_trial: Some(8),
                trial_ms: None,
                warmup_ms: 0,
                retry_disturbed: 1,
            },
            series,
        }
    }

    fn rust_series(label: &str, workload: WorkloadSpec) -> SeriesSpec {
        SeriesSpec {
            label: label.into(),
            kind: SeriesKind::Rust,
            setup: SeriesSetup::Rust {
                workload,
                pool: PoolSpec::Rayon,
            },
        }
    }

    fn python_series(label: &str, kind: SeriesKind) -> SeriesSpec {
        SeriesSpec {
            label: label.into(),
            kind,
            setup: SeriesSetup::Python(PythonSetup {
                task: spec::PythonTask::Cpu,
                compute_us: 20,
                wait_us: 0,
                interpreter: None,
                chunk_size: 1,
            }),
        }
    }

    #[test]
    fn a_missing_interpreter_fails_its_series_and_the_rust_series_still_run() {
        let comparison = fast_comparison(vec![
            rust_series("Rust", WorkloadSpec::Cpu { compute_us: 5 }),
            python_series("Python threads", SeriesKind::PythonThreads),
            rust_series("Rust again", WorkloadSpec::Cpu { compute_us: 5 }),
        ]);
        let options = CompareOptions {
            python: Some(PathBuf::from("/no/such/python3")),
            ..CompareOptions::default()
        };
        let mut events = Vec::new();
        let result = run_compare(&comparison, &options, &CancelToken::new(), &mut |e| {
            events.push(e)
        })
        .unwrap();
        assert!(matches!(events[0], CompareEvent::Started { .. }));
        assert!(matches!(
            &events[1],
            CompareEvent::SeriesFailed { series: 1, message } if message.contains("/no/such/python3")
        ));
        let order: Vec<(usize, usize)> = events
            .iter()
            .filter_map(|e| match e {
                CompareEvent::SeriesPoint { series, point } => Some((*series, point.threads)),
                _ => None,
            })
            .collect();
        assert_eq!(order, [(0, 1), (2, 1), (0, 2), (2, 2)]);
        assert!(matches!(events.last(), Some(CompareEvent::Finished(_))));
        assert!(!result.cancelled);
        assert_eq!(result.series[0].points.len(), 2);
        assert!(result.series[1].points.is_empty());
        assert!(
            result.series[1]
                .error
                .as_deref()
                .unwrap()
                .contains("--python PATH")
        );
    }

    #[test]
    fn rust_and_python_series_interleave_with_the_machines_python() {
        if python::find_on_path(python::DEFAULT_PYTHON).is_none() {
            eprintln!("python3 is not on PATH: skipping");
            return;
        }
        let comparison = fast_comparison(vec![
            rust_series("Rust", WorkloadSpec::Cpu { compute_us: 20 }),
            python_series("Python threads", SeriesKind::PythonThreads),
            python_series("Python processes", SeriesKind::PythonProcesses),
        ]);
        let mut events = Vec::new();
        let result = run_compare(
            &comparison,
            &CompareOptions::default(),
            &CancelToken::new(),
            &mut |e| events.push(e),
        )
        .unwrap();
        let order: Vec<(usize, usize)> = events
            .iter()
            .filter_map(|e| match e {
                CompareEvent::SeriesPoint { series, point } => Some((*series, point.threads)),
                _ => None,
            })
            .collect();
        assert_eq!(order, [(0, 1), (1, 1), (2, 1), (0, 2), (1, 2), (2, 2)]);
        for series in &result.series {
            assert_eq!(series.error, None, "{}", series.label);
            assert!(series.points.iter().all(|p| p.tasks_per_trial == 8.0));
        }
        let python = result.series[1].interpreter.as_ref().unwrap();
        assert!(result.series[1].label.contains(&python.version));
        assert!(result.series[1].label.contains("GIL"));
    }
}
