//! The user's own Python function as a series (`kind = "python"`): the shipped script's
//! `call` task imports `module:function` from the user's folder and calls it per task on
//! CPython's `ThreadPoolExecutor`, `ProcessPoolExecutor` (fork, spawn or forkserver) or
//! `InterpreterPoolExecutor` (3.14+), once per thread count. Before the first point the
//! script's `check` task says which interpreter it is (version, GIL state) and refuses what
//! cannot run: a function that cannot be pickled for a process pool, an interpreter pool on
//! a CPython without one. An import error or an exception in the function fails its point
//! with the traceback's last line; the series goes on at the next count. Like the built-in
//! task's series it leaves no Python process behind (the child driver kills the group).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::PythonRun;
use super::format::{CallOutput, CallRequest, CallStage, Executor, RunParser, parse_check};
use super::script::{self, ScriptError, ScriptFile, TrialShape};
use crate::cancel::CancelToken;
use crate::engine::{InterpreterInfo, Measured, OnStep, PreparedSeries, Series, SeriesInfo};
use crate::measure::ProcessUsage;
use crate::result::Point;
use crate::spec::{PoolSpec, PythonCallSpec, SeriesKind, SeriesSpec, StartMethod, TrialLength};
use crate::trust::{self, BusySampler, OthersWindow};

/// Expected time between two lines of a `check` (an import of the user's module).
const CHECK_LINE_GAP: Duration = Duration::from_secs(6);

/// Expected time between two lines of a run whose trials are a number of calls: the calls'
/// length is the user's and unknown before the run, so the no-progress limit (10 ×) is
/// generous; `POOLTUNE_NO_PROGRESS_S` sets it for longer functions.
const CALL_TRIAL_GAP: Duration = Duration::from_secs(30);

/// The pool a CPython pool spec asks the script for: the executor, and the start method
/// of a process pool.
fn executor_of(pool: &PoolSpec) -> Result<(Executor, Option<StartMethod>, usize), String> {
    match pool {
        PoolSpec::PythonThreads => Ok((Executor::Threads, None, 1)),
        PoolSpec::PythonProcesses {
            start_method,
            chunk_size,
        } => Ok((Executor::Processes, Some(*start_method), *chunk_size)),
        PoolSpec::PythonInterpreters => Ok((Executor::Interpreters, None, 1)),
        PoolSpec::PythonAsyncio => Ok((Executor::Asyncio, None, 1)),
        other => Err(format!(
            "a python workload runs on CPython's pools (python_threads, python_processes, \
             python_interpreters, python_asyncio), not on a {} pool",
            other.kind_name()
        )),
    }
}

/// The folder `path` names, relative to `folder` (the preset's; the current directory for a
/// preset that was not read from a file), checked to exist.
pub fn module_folder(path: &Path, folder: Option<&Path>) -> Result<PathBuf, String> {
    let joined = match folder {
        Some(base) if path.is_relative() => base.join(path),
        _ => path.to_path_buf(),
    };
    let absolute = std::path::absolute(&joined).unwrap_or(joined);
    if !absolute.is_dir() {
        return Err(format!(
            "`workload.path` = {}: {} is not a folder (a relative path is relative to the \
             preset's folder)",
            path.display(),
            absolute.display()
        ));
    }
    Ok(absolute)
}

/// What every run of one function series passes the script.
#[derive(Debug, Clone)]
struct CallTarget {
    /// The folder put first on `sys.path`, absolute.
    folder: PathBuf,
    /// `module:function`.
    call: String,
    /// The positional arguments as a JSON array.
    args_json: String,
    executor: Executor,
    start_method: Option<StartMethod>,
    chunk_size: usize,
}

impl CallTarget {
    /// `--executor … --path … --function … --args …` (and the start method of a process pool).
    fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--executor".to_owned(),
            self.executor.as_str().to_owned(),
            "--path".to_owned(),
            self.folder.to_string_lossy().into_owned(),
            "--function".to_owned(),
            self.call.clone(),
            "--args".to_owned(),
            self.args_json.clone(),
        ];
        if let Some(method) = self.start_method {
            args.extend(["--start-method".to_owned(), method.as_str().to_owned()]);
        }
        args
    }
}

/// A series of the user's function: the script's `call` task, once per thread count.
pub struct PythonCallSeries {
    script: Arc<ScriptFile>,
    interpreter: InterpreterInfo,
    target: CallTarget,
    shape: TrialShape,
}

impl PythonCallSeries {
    /// The script's arguments for one thread count.
    fn run_args(&self, request: &CallRequest) -> Vec<String> {
        let mut args = vec!["call".to_owned()];
        args.extend(self.target.args());
        let length = match self.shape.length {
            TrialLength::Tasks(n) => ("--tasks-per-trial", n.to_string()),
            TrialLength::Millis(ms) => ("--trial-ms", ms.to_string()),
        };
        for (flag, value) in [
            ("--threads", request.threads.to_string()),
            ("--chunk-size", request.chunk_size.to_string()),
            ("--trials", request.trials.to_string()),
            ("--warmup-ms", self.shape.warmup_ms.to_string()),
            length,
        ] {
            args.extend([flag.to_owned(), value]);
        }
        args
    }

    /// The expected time between two lines of a run: a trial or the warm-up, whichever is
    /// longer, plus the start of a process pool's workers.
    fn line_gap(&self, threads: usize) -> Duration {
        let trial = match self.shape.length {
            TrialLength::Millis(ms) => Duration::from_millis(ms),
            TrialLength::Tasks(_) => CALL_TRIAL_GAP,
        };
        let start = if self.target.executor == Executor::Threads {
            Duration::ZERO
        } else {
            script::PROCESS_START.saturating_mul(u32::try_from(threads).unwrap_or(u32::MAX))
        };
        trial.max(Duration::from_millis(self.shape.warmup_ms)) + start
    }
}

impl Series for PythonCallSeries {
    fn measure(&mut self, threads: usize, cancel: &CancelToken, on_step: &mut OnStep) -> Measured {
        let request = CallRequest {
            executor: self.target.executor,
            start_method: self.target.start_method,
            threads,
            call: self.target.call.clone(),
            chunk_size: self.target.chunk_size,
            trials: self.shape.trials,
        };
        let args = self.run_args(&request);
        let mut parser = RunParser::for_call(request);
        // As for the built-in task: the trials run inside Python, so other processes' CPU is
        // measured over the whole run at this count.
        let mut busy = BusySampler::system();
        let window = OthersWindow::open(&mut busy);
        let path = self.interpreter.path.clone();
        let ran = script::run_script(
            &path,
            &self.script.path(),
            &args,
            cancel,
            self.line_gap(threads),
            &mut |line| {
                script::report_step(parser.feed(line)?, on_step);
                Ok(())
            },
            &mut |_| {},
        )
        .and_then(|exit| script::conclude(&path, &exit, parser.finish_call()));
        let other_cpus = window.close(
            &mut busy,
            &ProcessUsage::now(),
            0,
            crate::machine::online_cpus(),
        );
        match ran {
            Ok(CallOutput::Measured(output)) => {
                let mut point = script::point_from_run(threads, &output);
                point.other_cpu_utilization = other_cpus;
                point.disturbed = trust::point_disturbed(&[other_cpus]);
                Measured::Point(point)
            }
            Ok(CallOutput::Failed { stage, message }) => Measured::Point(Point::failed(
                threads,
                failure_text(&self.target.call, stage, &message),
            )),
            Err(ScriptError::Cancelled) => Measured::Cancelled,
            Err(ScriptError::Failed(message)) => Measured::SeriesFailed(format!(
                "at {}: {message}",
                crate::words::counted_usize(threads, "thread", "threads")
            )),
        }
    }
}

/// A failed point's error: where the function failed and the traceback's last line.
fn failure_text(call: &str, stage: CallStage, message: &str) -> String {
    match stage {
        CallStage::Import => format!("could not import {call}: {message}"),
        CallStage::Call => format!("{call} raised {message}"),
    }
}

impl PythonRun<'_> {
    /// The series of the user's function `call` on `pool`: its interpreter found and checked
    /// (the function's folder exists; the pool can run it), its label completed with the
    /// interpreter's version and GIL state; or why it cannot run. A relative `call.path` is
    /// relative to `folder`.
    pub fn prepare_call(
        &mut self,
        spec: &SeriesSpec,
        call: &PythonCallSpec,
        pool: &PoolSpec,
        folder: Option<&Path>,
    ) -> PreparedSeries {
        let mut info = SeriesInfo {
            label: spec.label.clone(),
            kind: spec.kind,
            interpreter: None,
        };
        let series = self.checked_call(spec.kind, call, pool, folder).map(
            |(script, interpreter, target)| {
                info.label = format!("{} ({})", spec.label, interpreter.describe());
                info.interpreter = Some(interpreter.clone());
                Box::new(PythonCallSeries {
                    script,
                    interpreter,
                    target,
                    shape: self.shape,
                }) as Box<dyn Series>
            },
        );
        PreparedSeries { info, series }
    }

    fn checked_call(
        &mut self,
        kind: SeriesKind,
        call: &PythonCallSpec,
        pool: &PoolSpec,
        folder: Option<&Path>,
    ) -> Result<(Arc<ScriptFile>, InterpreterInfo, CallTarget), String> {
        let (executor, start_method, chunk_size) = executor_of(pool)?;
        let module_folder = module_folder(&call.path, folder)?;
        let override_path = if kind == SeriesKind::PythonFreeThreaded {
            self.options.free_threaded_python.as_deref()
        } else {
            self.options.python.as_deref()
        };
        let path = script::resolve_interpreter(
            kind,
            call.interpreter.as_deref(),
            override_path,
            &self.options.advice,
        )?;
        let script = self.script()?;
        let target = CallTarget {
            folder: module_folder,
            call: call.call.clone(),
            args_json: serde_json::Value::Array(call.args.clone()).to_string(),
            executor,
            start_method,
            chunk_size,
        };
        let interpreter = check(&script.path(), &path, &target, self.cancel)?;
        Ok((script, interpreter, target))
    }
}

/// Runs the script's `check` of `target` on `interpreter`: what the interpreter is, or why
/// the series cannot run.
fn check(
    script: &Path,
    interpreter: &Path,
    target: &CallTarget,
    cancel: &CancelToken,
) -> Result<InterpreterInfo, String> {
    let mut args = vec!["check".to_owned()];
    args.extend(target.args());
    let mut text = String::new();
    let ran = script::run_script(
        interpreter,
        script,
        &args,
        cancel,
        CHECK_LINE_GAP,
        &mut |line| {
            text.push_str(line);
            text.push('\n');
            Ok(())
        },
        &mut |_| {},
    )
    .and_then(|exit| {
        script::conclude(
            interpreter,
            &exit,
            parse_check(&text, &target.call, target.executor),
        )
    });
    let checked = match ran {
        Ok(checked) => checked,
        Err(ScriptError::Cancelled) => return Err("not run: the run was stopped".to_owned()),
        Err(ScriptError::Failed(message)) => return Err(format!("not run: {message}")),
    };
    if let Some(why) = checked.refused {
        return Err(format!("not run: {why}"));
    }
    let line = checked.interpreter;
    Ok(InterpreterInfo {
        path: interpreter.to_path_buf(),
        implementation: line.implementation,
        version: line.version,
        gil_enabled: line.gil_enabled,
        free_threaded_build: line.free_threaded_build,
        // The user's function is called as it is: no task loop is calibrated.
        loops_per_us: 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::CompareOptions;
    use crate::spec::SeriesSetup;

    /// True while `pid` is a process that has not exited (a zombie has).
    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        })
    }

    /// A Stop while worker processes are inside a 30 s call ends the run at once and kills
    /// them (idle workers would exit by themselves and prove nothing).
    #[test]
    fn stop_kills_the_workers_inside_a_call() {
        if crate::child::driver::tests::python_or_skip().is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let marks = dir.path().join("marks");
        std::fs::write(
            dir.path().join("napping.py"),
            "import os, time\ndef nap(marks):\n    with open(marks, 'a') as f:\n        f.write('%d\\n' % os.getpid())\n    time.sleep(30)\n",
        )
        .unwrap();
        let call = PythonCallSpec {
            call: "napping:nap".to_owned(),
            path: dir.path().to_path_buf(),
            args: vec![serde_json::Value::from(
                marks.to_string_lossy().into_owned(),
            )],
            interpreter: None,
        };
        let pool = PoolSpec::PythonProcesses {
            start_method: StartMethod::Fork,
            chunk_size: 1,
        };
        let spec = SeriesSpec {
            label: "nap".to_owned(),
            kind: SeriesKind::PythonProcesses,
            setup: SeriesSetup::PythonCall {
                call: call.clone(),
                pool: pool.clone(),
            },
        };
        let options = CompareOptions::default();
        let cancel = CancelToken::new();
        let shape = TrialShape {
            trials: 3,
            length: TrialLength::Millis(600_000),
            warmup_ms: 0,
        };
        let mut run = PythonRun::new(&options, shape, &cancel);
        let mut series = run.prepare_call(&spec, &call, &pool, None).series.unwrap();
        let workers = |marks: &Path| -> Vec<u32> {
            std::fs::read_to_string(marks)
                .unwrap_or_default()
                .lines()
                .filter_map(|line| line.parse().ok())
                .collect()
        };
        let stopper = {
            let cancel = cancel.clone();
            let marks = marks.clone();
            std::thread::Builder::new()
                .name("test-stopper".to_owned())
                .spawn(move || {
                    for _ in 0..400 {
                        if workers(&marks).len() >= 2 {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(25));
                    }
                    cancel.cancel();
                })
                .unwrap()
        };
        let measured = series.measure(2, &cancel, &mut |_| {});
        stopper.join().unwrap();
        assert_eq!(measured, Measured::Cancelled);
        let pids = workers(&marks);
        assert_eq!(pids.len(), 2, "both workers were inside a call");
        let mut left = pids.clone();
        for _ in 0..60 {
            left.retain(|pid| alive(*pid));
            if left.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(left, Vec::<u32>::new(), "no worker left of {pids:?}");
    }

    #[test]
    fn a_relative_module_folder_is_relative_to_the_presets_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("mods")).unwrap();
        let found = module_folder(Path::new("mods"), Some(dir.path())).unwrap();
        assert_eq!(found, dir.path().join("mods"));
        // An absolute path is taken as it is, whatever the preset's folder.
        let absolute = dir.path().join("mods");
        assert_eq!(
            module_folder(&absolute, Some(Path::new("/nowhere"))).unwrap(),
            absolute
        );
        let err = module_folder(Path::new("missing"), Some(dir.path())).unwrap_err();
        assert!(err.starts_with("`workload.path` = missing: "), "{err}");
        assert!(err.contains("is not a folder"), "{err}");
    }

    #[test]
    fn only_cpythons_pools_run_a_function() {
        assert_eq!(
            executor_of(&PoolSpec::PythonProcesses {
                start_method: StartMethod::Fork,
                chunk_size: 4
            }),
            Ok((Executor::Processes, Some(StartMethod::Fork), 4))
        );
        assert_eq!(
            executor_of(&PoolSpec::PythonInterpreters),
            Ok((Executor::Interpreters, None, 1))
        );
        assert_eq!(
            executor_of(&PoolSpec::PythonAsyncio),
            Ok((Executor::Asyncio, None, 1))
        );
        let err = executor_of(&PoolSpec::Rayon).unwrap_err();
        assert!(err.contains("not on a rayon pool"), "{err}");
        assert!(err.contains("python_asyncio"), "{err}");
    }
}
