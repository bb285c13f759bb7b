//! Running the shipped Python script (`assets/pybench.py`, compiled into pooltune so the
//! script always matches this parser): finding an interpreter, probing it (version, GIL,
//! calibration), and measuring one thread count per run. Each run is a child process in a
//! process group of its own; a Stop kills the whole group (the interpreter and its
//! `multiprocessing` workers), and the script kills its own group if pooltune dies (its
//! standard input closes). No Python process outlives a comparison.
//!
//! Every failure (no interpreter, a crash, malformed or truncated output) is a
//! [`ScriptError::Failed`] message for that series; it never panics and never stops the
//! other series.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::format::{Executor, FormatError, ProbeParser, RunOutput, RunParser, RunRequest, Step};
use crate::cancel::CancelToken;
use crate::child::{ChildSpec, DriveError};
use crate::engine::{InterpreterInfo, OnStep};
use crate::result::Point;
use crate::spec::TrialLength;
use crate::spec::{PythonSetup, SeriesKind};
use crate::stats;

/// The script, as shipped in `assets/`.
pub const SCRIPT: &str = include_str!("../../../assets/pybench.py");

/// Interpreter looked for on PATH for `python_threads` and `python_processes` series.
pub const DEFAULT_PYTHON: &str = "python3";

/// Free-threaded interpreters looked for on PATH, newest first (PEP 703 builds install with a
/// `t` suffix).
pub const FREE_THREADED_NAMES: [&str; 3] = ["python3.14t", "python3.13t", "python3t"];

/// Expected time between two lines of the probe (it calibrates for about half a second), for
/// the no-progress limit ([`crate::child::no_progress_limit`]).
const PROBE_LINE_GAP: Duration = Duration::from_secs(3);

/// Time a `multiprocessing` worker may take to start, for the expected time before the first
/// line of a run: a `spawn` worker imports the script afresh, a few hundred milliseconds on a
/// loaded machine.
pub(super) const PROCESS_START: Duration = Duration::from_millis(300);

/// Why a script run gave no result.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptError {
    /// The user stopped the comparison; the process group was killed.
    Cancelled,
    /// What went wrong, in words, for the series' error.
    Failed(String),
}

/// The script written to a temporary folder for the length of a comparison (the interpreter
/// needs a file: `multiprocessing` re-imports the main module in `spawn`/`forkserver` mode).
#[derive(Debug)]
pub struct ScriptFile {
    dir: tempfile::TempDir,
    /// So that a second Ctrl-C removes the folder too.
    _registration: crate::child::Registration,
}

impl ScriptFile {
    /// Writes [`SCRIPT`] to a new temporary folder.
    pub fn write() -> std::io::Result<ScriptFile> {
        let dir = tempfile::Builder::new()
            .prefix("pooltune-pybench-")
            .tempdir()?;
        let registration = crate::child::register_folder(dir.path());
        std::fs::write(dir.path().join("pybench.py"), SCRIPT)?;
        Ok(ScriptFile {
            dir,
            _registration: registration,
        })
    }

    /// Where the script is.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("pybench.py")
    }
}

/// The first executable called `name` on PATH (`name.exe` too on Windows).
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let suffixed = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&path)
        .flat_map(|dir| [dir.join(name), dir.join(&suffixed)])
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && crate::platform::is_executable(candidate, &m))
        })
}

/// How the user gives an interpreter where they started the comparison, as the end of "give
/// one ...": a flag on the command line, a field in the app. Each front end says its own.
#[derive(Debug, Clone, PartialEq)]
pub struct InterpreterAdvice {
    /// For Python threads and processes series, such as "with --python PATH".
    pub python: String,
    /// For free-threaded series, such as "with --free-threaded-python PATH".
    pub free_threaded: String,
}

impl Default for InterpreterAdvice {
    /// The command line's flags (`pooltune compare`).
    fn default() -> Self {
        InterpreterAdvice {
            python: "with --python PATH".to_owned(),
            free_threaded: "with --free-threaded-python PATH".to_owned(),
        }
    }
}

/// The interpreter a Python series runs: the override given when the comparison started,
/// else the series' `interpreter`, else PATH (`python3`, or the first free-threaded name for a
/// free-threaded series). A bare name is looked up on PATH. The error says what is missing and
/// how to give it (`advice`).
pub fn resolve_interpreter(
    kind: SeriesKind,
    series_interpreter: Option<&Path>,
    override_path: Option<&Path>,
    advice: &InterpreterAdvice,
) -> Result<PathBuf, String> {
    let free_threaded = kind == SeriesKind::PythonFreeThreaded;
    let give = if free_threaded {
        &advice.free_threaded
    } else {
        &advice.python
    };
    if let Some(given) = override_path.or(series_interpreter) {
        let is_bare_name = given.components().count() == 1 && !given.is_absolute();
        if is_bare_name {
            return find_on_path(&given.to_string_lossy()).ok_or_else(|| {
                format!(
                    "the interpreter `{}` is not on PATH; give its full path {give}",
                    given.display()
                )
            });
        }
        if !given.is_file() {
            return Err(format!(
                "the interpreter {} does not exist; give another {give}",
                given.display()
            ));
        }
        return Ok(given.to_path_buf());
    }
    if free_threaded {
        FREE_THREADED_NAMES
            .iter()
            .find_map(|name| find_on_path(name))
            .ok_or_else(|| {
                format!(
                    "not run: no free-threaded Python found (looked for {} on PATH); give one {give} or as `interpreter = \"...\"` in the series",
                    FREE_THREADED_NAMES.join(", ")
                )
            })
    } else {
        find_on_path(DEFAULT_PYTHON).ok_or_else(|| {
            format!(
                "not run: no `{DEFAULT_PYTHON}` on PATH; install Python 3 or give an interpreter {give}"
            )
        })
    }
}

/// Asks an interpreter what it is and calibrates the task loop (about half a second).
pub fn probe(
    script: &Path,
    interpreter: &Path,
    cancel: &CancelToken,
) -> Result<InterpreterInfo, ScriptError> {
    let mut parser = ProbeParser::new();
    let exit = run_script(
        interpreter,
        script,
        &["probe".to_owned()],
        cancel,
        PROBE_LINE_GAP,
        &mut |line| parser.feed(line).map(|_| ()),
        &mut |_| {},
    )?;
    let probe = conclude(interpreter, &exit, parser.finish())?;
    Ok(InterpreterInfo {
        path: interpreter.to_path_buf(),
        implementation: probe.interpreter.implementation,
        version: probe.interpreter.version,
        gil_enabled: probe.interpreter.gil_enabled,
        free_threaded_build: probe.interpreter.free_threaded_build,
        loops_per_us: probe.loops_per_us,
    })
}

/// The trial shape shared by every series of a comparison.
#[derive(Debug, Clone, Copy)]
pub struct TrialShape {
    /// Measured trials per thread count.
    pub trials: u32,
    /// Length of a trial.
    pub length: TrialLength,
    /// Warm-up before the trials, in milliseconds.
    pub warmup_ms: u64,
}

/// Measures one thread count with the script. Calls `on_step(1)` after the warm-up and
/// `on_step(k + 1)` after trial k, like [`crate::sweep::measure_point`].
pub fn measure(
    script: &Path,
    interpreter: &InterpreterInfo,
    request: &RunRequest,
    shape: &TrialShape,
    cancel: &CancelToken,
    on_step: &mut dyn FnMut(usize),
) -> Result<Point, ScriptError> {
    let args = run_args(request, shape);
    let gap = line_gap(request, shape);
    let mut parser = RunParser::new(request.clone());
    let exit = run_script(
        &interpreter.path,
        script,
        &args,
        cancel,
        gap,
        &mut |line| {
            report_step(parser.feed(line)?, on_step);
            Ok(())
        },
        &mut |_| {},
    )?;
    let output = conclude(&interpreter.path, &exit, parser.finish())?;
    Ok(point_from_run(request.threads, &output))
}

/// Tells the engine a step of a run ended: `on_step(1)` after the warm-up, `on_step(k + 1)`
/// after trial k (the [`crate::engine::Series`] contract), for a line the parser read.
pub(super) fn report_step(step: Step, on_step: &mut OnStep) {
    match step {
        Step::Warmup => on_step(1),
        Step::Trial(k) => on_step(k as usize + 1),
        Step::Preamble | Step::Summary | Step::End => {}
    }
}

/// The script's arguments for one run: `run` and one flag per field of the request and shape.
fn run_args(request: &RunRequest, shape: &TrialShape) -> Vec<String> {
    let length = match shape.length {
        TrialLength::Tasks(n) => ("--tasks-per-trial", n.to_string()),
        TrialLength::Millis(ms) => ("--trial-ms", ms.to_string()),
    };
    let mut args = vec!["run".to_owned()];
    for (flag, value) in [
        ("--executor", request.executor.as_str().to_owned()),
        ("--threads", request.threads.to_string()),
        ("--task", request.task.as_str().to_owned()),
        ("--compute-us", request.compute_us.to_string()),
        ("--wait-us", request.wait_us.to_string()),
        ("--chunk-size", request.chunk_size.to_string()),
        ("--loops-per-us", request.loops_per_us.to_string()),
        ("--trials", request.trials.to_string()),
        ("--warmup-ms", shape.warmup_ms.to_string()),
        length,
    ] {
        args.extend([flag.to_owned(), value]);
    }
    args
}

/// The expected time between two lines of a run (a line follows the warm-up and each
/// trial): the longer of a trial and the warm-up, plus the workers' start for a processes
/// series. The no-progress limit is a multiple of it.
fn line_gap(request: &RunRequest, shape: &TrialShape) -> Duration {
    let trial = match shape.length {
        TrialLength::Millis(ms) => Duration::from_millis(ms),
        TrialLength::Tasks(n) => {
            let per_task_us = (request.compute_us + request.wait_us).max(1) as f64;
            // Under a GIL the tasks run one at a time, whatever the thread count.
            Duration::from_secs_f64(n as f64 * per_task_us / 1e6)
        }
    };
    let start = if request.executor == Executor::Processes {
        PROCESS_START.saturating_mul(u32::try_from(request.threads).unwrap_or(u32::MAX))
    } else {
        Duration::ZERO
    };
    trial.max(Duration::from_millis(shape.warmup_ms)) + start
}

/// The pool the script runs a series of `kind` on: a free-threaded series is threads too.
pub fn executor_of_kind(kind: SeriesKind) -> Executor {
    match kind {
        SeriesKind::PythonProcesses => Executor::Processes,
        SeriesKind::PythonAsyncio => Executor::Asyncio,
        SeriesKind::PythonGevent => Executor::Gevent,
        _ => Executor::Threads,
    }
}

/// Whether the module `name` can be imported by `interpreter` (the script's `module`
/// command): Ok(None) when it can, Ok(Some(why)) when it is not installed, with how to
/// install it, for the series' message.
pub fn module_missing(
    script: &Path,
    interpreter: &Path,
    name: &str,
    cancel: &CancelToken,
) -> Result<Option<String>, ScriptError> {
    let mut text = String::new();
    let exit = run_script(
        interpreter,
        script,
        &["module".to_owned(), name.to_owned()],
        cancel,
        PROBE_LINE_GAP,
        &mut |line| {
            text.push_str(line);
            text.push('\n');
            Ok(())
        },
        &mut |_| {},
    )?;
    let available = conclude(interpreter, &exit, super::format::parse_module(&text, name))?;
    Ok((!available).then(|| {
        format!(
            "{name} is not installed for {} (pip install {name})",
            interpreter.display()
        )
    }))
}

/// The request for one thread count of a Python series.
pub fn request_for(
    kind: SeriesKind,
    setup: &PythonSetup,
    threads: usize,
    loops_per_us: f64,
    trials: u32,
) -> RunRequest {
    RunRequest {
        executor: executor_of_kind(kind),
        threads,
        task: setup.task,
        compute_us: setup.compute_us,
        wait_us: setup.wait_us,
        chunk_size: setup.chunk_size,
        loops_per_us,
        trials,
    }
}

/// Summarises the script's trials the way the sweep summarises its own: mean throughput over
/// trials with a Student's t 95% interval, CPU per task from the workers' thread clocks.
pub fn point_from_run(threads: usize, output: &RunOutput) -> Point {
    let trials = &output.trials;
    let throughputs: Vec<f64> = trials.iter().map(|t| t.throughput_per_s()).collect();
    let tasks: u64 = trials.iter().map(|t| t.tasks).sum();
    let task_cpu_us: f64 = trials.iter().map(|t| t.task_cpu_us).sum();
    let mean_of = |f: &dyn Fn(&super::format::TrialLine) -> f64| {
        stats::mean(&trials.iter().map(f).collect::<Vec<_>>())
    };
    let summary = &output.summary;
    let timed = summary.latency_samples > 0;
    let latency = |value: f64| if timed { value } else { f64::NAN };
    Point {
        threads,
        trials: trials.len() as u32,
        tasks_per_trial: mean_of(&|t| t.tasks as f64),
        throughput_per_s: stats::mean(&throughputs),
        throughput_ci95_per_s: stats::ci95_half_width(&throughputs),
        trial_throughputs_per_s: throughputs,
        latency_p50_us: latency(summary.latency_p50_us),
        latency_p95_us: latency(summary.latency_p95_us),
        latency_p99_us: latency(summary.latency_p99_us),
        latency_max_us: latency(summary.latency_max_us),
        latency_sample_every: 1,
        cpu_time_per_task_us: if tasks == 0 {
            f64::NAN
        } else {
            task_cpu_us / tasks as f64
        },
        wall_time_per_task_us: latency(summary.latency_mean_us),
        cpu_utilization: mean_of(&|t| t.cpu_us / t.wall_us.max(1e-9)),
        peak_rss_bytes: summary.peak_rss_bytes,
        workers_peak_rss_bytes: summary.workers_peak_rss_bytes,
        voluntary_context_switches: mean_of(&|t| t.voluntary_switches as f64),
        involuntary_context_switches: mean_of(&|t| t.involuntary_switches as f64),
        // Measured around the whole run by the runner, which sees the process end.
        other_cpu_utilization: f64::NAN,
        disturbed: false,
        retried_trials: 0,
        error: None,
    }
}

/// How the script ended when it closed its output by itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Exit {
    /// Exit status 0.
    success: bool,
    /// The status in words (`exit status: 1`, `signal: 9 (SIGKILL)`).
    status: String,
    /// The end of its standard error.
    stderr: String,
}

/// Judges a finished run by its parsed output and its exit status together, so that a crash
/// is reported with both the truncation and Python's own last words.
pub(super) fn conclude<T>(
    interpreter: &Path,
    exit: &Exit,
    parsed: Result<T, FormatError>,
) -> Result<T, ScriptError> {
    let stderr = if exit.stderr.is_empty() {
        String::new()
    } else {
        format!("; its error output ends: {}", exit.stderr)
    };
    match parsed {
        Ok(value) if exit.success => Ok(value),
        Ok(_) => Err(ScriptError::Failed(format!(
            "{} exited with {}{stderr}",
            interpreter.display(),
            exit.status
        ))),
        Err(err) => Err(ScriptError::Failed(format!(
            "{} gave output pooltune cannot read: {err}{}{stderr}",
            interpreter.display(),
            if exit.success {
                String::new()
            } else {
                format!("; it exited with {}", exit.status)
            }
        ))),
    }
}

fn refused_line(interpreter: &Path, err: &FormatError, stderr: &str) -> ScriptError {
    let mut message = format!(
        "{} gave output pooltune cannot read: {err}",
        interpreter.display()
    );
    if !stderr.is_empty() {
        message.push_str(&format!("; its error output ends: {stderr}"));
    }
    ScriptError::Failed(message)
}

/// Runs the script with the child driver ([`crate::child::drive`]) and feeds each line of its
/// standard output to `on_line`. The driver kills the process group on a Stop, on a line
/// `on_line` refuses, and when it made no progress (printed no line) for the no-progress limit
/// of `line_gap`, the expected time between two lines; it always reaps the interpreter and
/// sweeps its group, so no worker process is left. `on_spawn` receives the process (and
/// process group) id. Returns how the script ended when it closed its output by itself.
pub(crate) fn run_script(
    interpreter: &Path,
    script: &Path,
    args: &[String],
    cancel: &CancelToken,
    line_gap: Duration,
    on_line: &mut dyn FnMut(&str) -> Result<(), FormatError>,
    on_spawn: &mut dyn FnMut(u32),
) -> Result<Exit, ScriptError> {
    let spec = ChildSpec::new(interpreter, line_gap)
        .args(["-u".as_ref(), script.as_os_str(), "--watch-stdin".as_ref()])
        .args(args);
    match crate::child::drive(&spec, cancel, on_spawn, on_line) {
        Ok(exit) => Ok(Exit {
            success: exit.status.success(),
            status: exit.status.to_string(),
            stderr: exit.stderr,
        }),
        Err(DriveError::Cancelled) => Err(ScriptError::Cancelled),
        Err(DriveError::Start(err)) => Err(ScriptError::Failed(format!(
            "could not start {}: {err}",
            interpreter.display()
        ))),
        Err(DriveError::Refused { error, stderr }) => {
            Err(refused_line(interpreter, &error, &stderr))
        }
        Err(DriveError::NoProgress {
            message,
            after_output,
            ..
        }) => Err(ScriptError::Failed(if after_output {
            format!("{message} after closing its output; it was killed")
        } else {
            format!("{message}; it was killed")
        })),
        Err(DriveError::Read(message)) => Err(ScriptError::Failed(format!(
            "could not read the output of {}: {message}",
            interpreter.display()
        ))),
        Err(DriveError::NoStatus) => Err(ScriptError::Failed(format!(
            "could not collect the exit status of {}",
            interpreter.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child::driver::tests::members_of_group;
    use crate::source::python::format::parse_run;
    use crate::source::python::format::tests::{GOOD_RUN, request};
    use crate::spec::PythonTask;

    fn python() -> Option<PathBuf> {
        crate::child::driver::tests::python_or_skip()
    }

    /// The Python found (see [`python`]), the shipped script written out, and what probing
    /// it said: the start of every test that runs the real script.
    fn probed_python() -> Option<(PathBuf, ScriptFile, InterpreterInfo)> {
        let python = python()?;
        let script = ScriptFile::write().unwrap();
        let info = probe(&script.path(), &python, &CancelToken::new()).unwrap();
        Some((python, script, info))
    }

    #[test]
    fn a_point_summarises_the_trials() {
        let output = parse_run(GOOD_RUN, request()).unwrap();
        let point = point_from_run(2, &output);
        assert_eq!(point.threads, 2);
        assert_eq!(point.trials, 3);
        // 100, 110 and 120 tasks in 0.4 s each.
        assert!((point.throughput_per_s - 275.0).abs() < 1e-9);
        assert!(point.throughput_ci95_per_s > 0.0);
        assert_eq!(point.tasks_per_trial, 110.0);
        assert_eq!(point.latency_p50_us, 2500.9);
        assert!(
            (point.cpu_time_per_task_us - (205214.8 + 200484.1 + 200961.7) / 330.0).abs() < 1e-9
        );
        assert!(point.is_ok());
    }

    #[test]
    fn a_missing_interpreter_says_what_to_do() {
        let setup = PythonSetup {
            task: PythonTask::Cpu,
            compute_us: 10,
            wait_us: 0,
            interpreter: None,
            chunk_size: 1,
        };
        let refused = |kind, given: &str, advice: &InterpreterAdvice| {
            resolve_interpreter(
                kind,
                setup.interpreter.as_deref(),
                Some(Path::new(given)),
                advice,
            )
            .unwrap_err()
        };
        let cli = InterpreterAdvice::default();
        let err = refused(SeriesKind::PythonThreads, "/no/such/python3", &cli);
        assert!(err.contains("/no/such/python3 does not exist"), "{err}");
        assert!(err.contains("--python PATH"), "{err}");
        let err = refused(SeriesKind::PythonFreeThreaded, "no-such-python3.99t", &cli);
        assert!(err.contains("not on PATH"), "{err}");
        assert!(err.contains("--free-threaded-python"), "{err}");
        // Each front end names its own way to give one: the app, its fields.
        let app = InterpreterAdvice {
            python: "in the \"Python\" field".to_owned(),
            free_threaded: "in the \"Free-threaded Python\" field".to_owned(),
        };
        let err = refused(SeriesKind::PythonFreeThreaded, "no-such-python3.99t", &app);
        assert!(
            err.contains("give its full path in the \"Free-threaded Python\" field"),
            "{err}"
        );
        assert!(!err.contains("--"), "{err}");
    }

    #[test]
    fn an_interpreter_that_is_not_python_fails_the_probe_clearly() {
        let script = ScriptFile::write().unwrap();
        let err = probe(&script.path(), Path::new("/bin/false"), &CancelToken::new()).unwrap_err();
        let ScriptError::Failed(message) = err else {
            panic!("expected a failure, got {err:?}");
        };
        assert!(message.contains("printed nothing"), "{message}");
        assert!(message.contains("exited with exit status: 1"), "{message}");
    }

    #[test]
    fn the_shipped_script_measures_a_tiny_task() {
        let Some((_, script, info)) = probed_python() else {
            return;
        };
        let cancel = CancelToken::new();
        assert!(info.loops_per_us > 0.0);
        assert!(!info.version.is_empty());
        let shape = TrialShape {
            trials: 3,
            length: TrialLength::Tasks(12),
            warmup_ms: 0,
        };
        let setup = PythonSetup {
            task: PythonTask::Io,
            compute_us: 50,
            wait_us: 100,
            interpreter: None,
            chunk_size: 3,
        };
        for kind in [SeriesKind::PythonThreads, SeriesKind::PythonProcesses] {
            let request = request_for(kind, &setup, 2, info.loops_per_us, shape.trials);
            let mut steps = Vec::new();
            let point = measure(&script.path(), &info, &request, &shape, &cancel, &mut |k| {
                steps.push(k)
            })
            .unwrap_or_else(|err| panic!("{kind}: {err:?}"));
            assert_eq!(steps, [1, 2, 3, 4], "{kind}");
            assert_eq!(point.trials, 3);
            assert_eq!(
                point.tasks_per_trial, 12.0,
                "{kind}: exactly the tasks asked"
            );
            assert!(point.throughput_per_s > 0.0);
            assert!(
                point.latency_p50_us >= 100.0,
                "{kind}: a task sleeps 100 µs"
            );
            assert!(point.peak_rss_bytes > 0);
        }
    }

    #[test]
    fn stop_kills_the_interpreter_and_its_worker_processes() {
        let Some((python, script, info)) = probed_python() else {
            return;
        };
        let cancel = CancelToken::new();
        // Tasks of 10 s: a worker busy in one outlives its parent unless it is killed too
        // (idle multiprocessing workers would exit by themselves and prove nothing).
        let request = RunRequest {
            executor: Executor::Processes,
            threads: 2,
            task: PythonTask::Cpu,
            compute_us: 10_000_000,
            wait_us: 0,
            chunk_size: 1,
            loops_per_us: info.loops_per_us,
            trials: 3,
        };
        let shape = TrialShape {
            trials: 3,
            length: TrialLength::Millis(600_000),
            warmup_ms: 0,
        };
        let args = run_args(&request, &shape);
        let group = std::cell::Cell::new(0);
        let mut workers_seen = 0;
        let result = run_script(
            &python,
            &script.path(),
            &args,
            &cancel,
            Duration::from_secs(600),
            &mut |line| {
                // The pool starts after the `setup` line: wait for both workers, then Stop.
                if line.starts_with("setup") {
                    for _ in 0..200 {
                        workers_seen = members_of_group(group.get()).len();
                        if workers_seen >= 3 {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(25));
                    }
                    cancel.cancel();
                }
                Ok(())
            },
            &mut |pid| group.set(pid),
        );
        assert_eq!(result, Err(ScriptError::Cancelled));
        assert!(
            workers_seen >= 3,
            "interpreter and 2 workers in the group, saw {workers_seen}"
        );
        // SIGKILL is delivered asynchronously: give the dying workers a moment (bounded, and
        // well under the 10 s a surviving worker would keep computing).
        let mut left = members_of_group(group.get());
        for _ in 0..60 {
            if left.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            left = members_of_group(group.get());
        }
        assert_eq!(left, Vec::<u32>::new(), "no process left");
    }

    #[test]
    fn a_crash_mid_output_fails_with_the_truncation_and_the_python_error() {
        let Some(python) = python() else { return };
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("fake.py");
        std::fs::write(
            &fake,
            "import sys\nprint('pooltune-pybench 2')\nprint('interpreter implementation=cpython version=3 gil=on free_threaded_build=no')\nsys.stderr.write('Traceback: ValueError: boom\\n')\nsys.exit(1)\n",
        )
        .unwrap();
        let mut parser = ProbeParser::new();
        let exit = run_script(
            &python,
            &fake,
            &[],
            &CancelToken::new(),
            Duration::from_secs(60),
            &mut |line| parser.feed(line).map(|_| ()),
            &mut |_| {},
        )
        .unwrap();
        let err = conclude(&python, &exit, parser.finish()).unwrap_err();
        let ScriptError::Failed(message) = err else {
            panic!("expected a failure");
        };
        assert!(message.contains("the `calibration` line"), "{message}");
        assert!(message.contains("truncated"), "{message}");
        assert!(message.contains("exited with exit status: 1"), "{message}");
        assert!(message.contains("ValueError: boom"), "{message}");
    }
}
