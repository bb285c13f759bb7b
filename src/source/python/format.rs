//! The line format of `assets/pybench.py`, parsed strictly: a versioned header, then one line
//! per fact in a fixed order, each a keyword followed by `key=value` tokens in a fixed order,
//! then `end`. Anything else (an unknown or missing key, a value that is not a number, a line
//! out of order, output that stops before `end` or goes on after it) is a [`FormatError`]
//! naming the line. The parser is fed line by line so the runner can report progress as the
//! script prints; it never starts a process (that is `python.rs`).
//!
//! ```text
//! pooltune-pybench 2
//! interpreter implementation=cpython version=3.11.7 gil=on free_threaded_build=no
//! calibration loops_per_us=12.5                                  (probe only)
//! setup executor=threads threads=2 task=cpu compute_us=2000 wait_us=0 chunk_size=1 loops_per_us=12.5 trials=3
//! warmup tasks=120 wall_us=150321.0
//! trial index=1 tasks=250 wall_us=500100.0 task_cpu_us=499000.0 cpu_us=1000000.0 voluntary_switches=12 involuntary_switches=40
//! summary latency_samples=750 latency_mean_us=2001.0 latency_p50_us=2000.0 latency_p95_us=2100.0 latency_p99_us=2300.0 latency_max_us=2500.0 peak_rss_bytes=10485760 workers_peak_rss_bytes=none
//! end
//! ```
//!
//! A run of the user's own function (`pybench.py call`) has the same lines but its own
//! `setup` line, and a `failed stage=import|call <the traceback's last line>` line may
//! replace the measurements when the function cannot be imported or raises:
//!
//! ```text
//! setup executor=processes threads=2 call=hashwork:sha256_block start_method=forkserver chunk_size=1 trials=3
//! failed stage=call ValueError: boom
//! end
//! ```

use std::fmt;

use crate::spec::{PythonTask, StartMethod};

/// The first line of every output this build understands.
pub const HEADER: &str = "pooltune-pybench 2";

/// A line of the script's output that is not what the format says.
#[derive(Debug, Clone, PartialEq)]
pub struct FormatError {
    /// 1-based line of the output where the problem is.
    pub line: usize,
    /// What was wrong and what was expected.
    pub message: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} of the script's output: {}",
            self.line, self.message
        )
    }
}

impl std::error::Error for FormatError {}

/// Which pool the script uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Executor {
    /// `concurrent.futures.ThreadPoolExecutor(max_workers=N)`.
    Threads,
    /// `multiprocessing.Pool(N)` (`ProcessPoolExecutor` for a user's function), tasks sent
    /// in chunks.
    Processes,
    /// `concurrent.futures.InterpreterPoolExecutor(N)` (CPython 3.14+; a user's function only).
    Interpreters,
    /// Coroutines on one asyncio event loop, at most N in flight (`asyncio.Semaphore(N)`).
    Asyncio,
    /// Greenlets on a `gevent.pool.Pool(N)` (the built-in task only).
    Gevent,
}

impl Executor {
    /// The name on the script's command line and in its `setup` line.
    pub fn as_str(self) -> &'static str {
        match self {
            Executor::Threads => "threads",
            Executor::Processes => "processes",
            Executor::Interpreters => "interpreters",
            Executor::Asyncio => "asyncio",
            Executor::Gevent => "gevent",
        }
    }
}

/// What the script says about its interpreter.
#[derive(Debug, Clone, PartialEq)]
pub struct InterpreterLine {
    /// `sys.implementation.name` (`cpython`, `pypy`).
    pub implementation: String,
    /// `platform.python_version()`.
    pub version: String,
    /// `sys._is_gil_enabled()` (true on interpreters without it: they all have a GIL).
    pub gil_enabled: bool,
    /// Built with `Py_GIL_DISABLED` (a free-threaded build, such as `python3.13t`).
    pub free_threaded_build: bool,
}

/// The output of `pybench.py probe`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeOutput {
    /// The interpreter.
    pub interpreter: InterpreterLine,
    /// Iterations of the task loop per microsecond of CPU, measured by the script.
    pub loops_per_us: f64,
}

/// What pooltune asked the script to run; the `setup` line must echo it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest {
    /// The pool.
    pub executor: Executor,
    /// Workers in the pool.
    pub threads: usize,
    /// The task.
    pub task: PythonTask,
    /// Computation per task.
    pub compute_us: u64,
    /// Sleep per task.
    pub wait_us: u64,
    /// Tasks per message to a worker.
    pub chunk_size: usize,
    /// The probe's calibration, so every point of a series runs the same loop count.
    pub loops_per_us: f64,
    /// Measured trials.
    pub trials: u32,
}

/// What pooltune asked `pybench.py call` to run; the `setup` line must echo it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRequest {
    /// The pool.
    pub executor: Executor,
    /// How worker processes start (a process pool only).
    pub start_method: Option<StartMethod>,
    /// Workers in the pool.
    pub threads: usize,
    /// `module:function`.
    pub call: String,
    /// Calls per message to a worker.
    pub chunk_size: usize,
    /// Measured trials.
    pub trials: u32,
}

/// What a parser checks the `setup` line against.
#[derive(Debug, Clone, PartialEq)]
enum Asked {
    Task(RunRequest),
    Call(CallRequest),
}

impl Asked {
    fn trials(&self) -> u32 {
        match self {
            Asked::Task(request) => request.trials,
            Asked::Call(request) => request.trials,
        }
    }
}

/// Where the user's function failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStage {
    /// Importing its module or finding the function in it.
    Import,
    /// A call raised.
    Call,
}

/// The output of `pybench.py call`: the trials, or where and how the function failed.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutput {
    /// Every trial ran.
    Measured(RunOutput),
    /// The function could not be imported, or raised; `message` is the traceback's last line.
    Failed {
        /// Where it failed.
        stage: CallStage,
        /// `ValueError: boom`.
        message: String,
    },
}

/// One measured trial.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialLine {
    /// 1-based trial number.
    pub index: u32,
    /// Tasks completed.
    pub tasks: u64,
    /// From the first task handed out to the last one finished, in microseconds.
    pub wall_us: f64,
    /// The workers' thread CPU time inside tasks, in microseconds.
    pub task_cpu_us: f64,
    /// CPU time of the script and its worker processes during the trial, in microseconds.
    pub cpu_us: f64,
    /// Voluntary context switches during the trial.
    pub voluntary_switches: u64,
    /// Involuntary context switches during the trial.
    pub involuntary_switches: u64,
}

impl TrialLine {
    /// Tasks per second.
    pub fn throughput_per_s(&self) -> f64 {
        self.tasks as f64 / (self.wall_us / 1e6).max(1e-9)
    }
}

/// Latency over every task of every trial, and memory.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryLine {
    /// Tasks timed (every task).
    pub latency_samples: u64,
    /// Mean task time, in microseconds.
    pub latency_mean_us: f64,
    /// Median task time.
    pub latency_p50_us: f64,
    /// 95th percentile task time.
    pub latency_p95_us: f64,
    /// 99th percentile task time.
    pub latency_p99_us: f64,
    /// Longest task time.
    pub latency_max_us: f64,
    /// Peak resident memory of the script's own process, in bytes.
    pub peak_rss_bytes: u64,
    /// Sum of the worker processes' peak resident memory, in bytes (`none` for threads).
    pub workers_peak_rss_bytes: Option<u64>,
}

/// The whole output of `pybench.py run`: one thread count.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutput {
    /// The interpreter that ran it.
    pub interpreter: InterpreterLine,
    /// Tasks run in the warm-up.
    pub warmup_tasks: u64,
    /// The trials, in order.
    pub trials: Vec<TrialLine>,
    /// Latency and memory.
    pub summary: SummaryLine,
}

/// What a line fed to a parser was, for progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A line before the measurements (header, interpreter, calibration, setup).
    Preamble,
    /// The warm-up is done.
    Warmup,
    /// Trial k (1-based) is done.
    Trial(u32),
    /// The summary line.
    Summary,
    /// The `end` line: the output is complete.
    End,
}

/// Splits a line into its values. `shape` is the line as the script prints it, without the
/// values: `keyword k1 k2` for `keyword k1=v1 k2=v2`; the line must have exactly those keys,
/// in that order.
fn fields<'a>(line_no: usize, line: &'a str, shape: &str) -> Result<Vec<&'a str>, FormatError> {
    let mut words = shape.split(' ');
    let keyword = words.next().unwrap_or_default();
    let keys: Vec<&str> = words.collect();
    let error = |message: String| FormatError {
        line: line_no,
        message,
    };
    let expected = || {
        let pairs: Vec<String> = keys.iter().map(|k| format!("{k}=…")).collect();
        format!("`{keyword} {}`", pairs.join(" "))
    };
    let mut tokens = line.split(' ');
    if tokens.next() != Some(keyword) {
        return Err(error(format!(
            "expected {}, found `{}`",
            expected(),
            shorten(line)
        )));
    }
    let tokens: Vec<&str> = tokens.collect();
    if tokens.len() != keys.len() {
        return Err(error(format!(
            "expected {} ({} values), found {} in `{}`",
            expected(),
            keys.len(),
            tokens.len(),
            shorten(line)
        )));
    }
    tokens
        .iter()
        .zip(&keys)
        .map(|(token, key)| match token.split_once('=') {
            Some((k, v)) if k == *key && !v.is_empty() => Ok(v),
            _ => Err(error(format!(
                "expected `{key}=…`, found `{}` in `{}`",
                shorten(token),
                shorten(line)
            ))),
        })
        .collect()
}

fn shorten(text: &str) -> String {
    const MAX: usize = 120;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

fn count(line_no: usize, key: &str, value: &str) -> Result<u64, FormatError> {
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FormatError {
            line: line_no,
            message: format!("`{key}` must be a whole number, found `{}`", shorten(value)),
        });
    }
    value.parse().map_err(|_| FormatError {
        line: line_no,
        message: format!("`{key}` is out of range: `{}`", shorten(value)),
    })
}

fn amount(line_no: usize, key: &str, value: &str) -> Result<f64, FormatError> {
    match value.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(FormatError {
            line: line_no,
            message: format!(
                "`{key}` must be a finite number of 0 or more, found `{}`",
                shorten(value)
            ),
        }),
    }
}

fn flag(line_no: usize, key: &str, value: &str, yes: &str, no: &str) -> Result<bool, FormatError> {
    match value {
        v if v == yes => Ok(true),
        v if v == no => Ok(false),
        _ => Err(FormatError {
            line: line_no,
            message: format!(
                "`{key}` must be `{yes}` or `{no}`, found `{}`",
                shorten(value)
            ),
        }),
    }
}

fn header(line_no: usize, line: &str) -> Result<(), FormatError> {
    if line == HEADER {
        return Ok(());
    }
    let message = match line.strip_prefix("pooltune-pybench ") {
        Some(version) => format!(
            "the script speaks format version {}, this pooltune reads `{HEADER}`: the script and pooltune do not match",
            shorten(version)
        ),
        None => format!(
            "expected the header `{HEADER}`, found `{}`: this is not pybench output",
            shorten(line)
        ),
    };
    Err(FormatError {
        line: line_no,
        message,
    })
}

fn interpreter(line_no: usize, line: &str) -> Result<InterpreterLine, FormatError> {
    let v = fields(
        line_no,
        line,
        "interpreter implementation version gil free_threaded_build",
    )?;
    Ok(InterpreterLine {
        implementation: v[0].to_owned(),
        version: v[1].to_owned(),
        gil_enabled: flag(line_no, "gil", v[2], "on", "off")?,
        free_threaded_build: flag(line_no, "free_threaded_build", v[3], "yes", "no")?,
    })
}

/// The error for output that stopped early.
fn truncated(lines: usize, last: &str, expected: &str) -> FormatError {
    let after = if lines == 0 {
        "the script printed nothing".to_owned()
    } else {
        format!(
            "the output stopped after line {lines} (`{}`)",
            shorten(last)
        )
    };
    FormatError {
        line: lines + 1,
        message: format!("{after}; expected {expected} and then `end`: the output is truncated"),
    }
}

/// Parses the output of `pybench.py probe`, fed line by line.
#[derive(Debug, Default)]
pub struct ProbeParser {
    lines: usize,
    last: String,
    interpreter: Option<InterpreterLine>,
    loops_per_us: Option<f64>,
    ended: bool,
}

impl ProbeParser {
    /// A parser at the start of the output.
    pub fn new() -> ProbeParser {
        ProbeParser::default()
    }

    /// Takes the next line (without its newline).
    pub fn feed(&mut self, line: &str) -> Result<Step, FormatError> {
        self.lines += 1;
        self.last = line.to_owned();
        let n = self.lines;
        let step = match n {
            1 => header(n, line).map(|()| Step::Preamble)?,
            2 => {
                self.interpreter = Some(interpreter(n, line)?);
                Step::Preamble
            }
            3 => {
                let v = fields(n, line, "calibration loops_per_us")?;
                let loops = amount(n, "loops_per_us", v[0])?;
                if loops <= 0.0 {
                    return Err(FormatError {
                        line: n,
                        message: "`loops_per_us` must be more than 0".to_owned(),
                    });
                }
                self.loops_per_us = Some(loops);
                Step::Preamble
            }
            4 => {
                fields(n, line, "end")?;
                self.ended = true;
                Step::End
            }
            _ => {
                return Err(FormatError {
                    line: n,
                    message: format!("unexpected output after `end`: `{}`", shorten(line)),
                });
            }
        };
        Ok(step)
    }

    /// The parsed probe, or the error for output that stopped early.
    pub fn finish(self) -> Result<ProbeOutput, FormatError> {
        match (self.interpreter, self.loops_per_us, self.ended) {
            (Some(interpreter), Some(loops_per_us), true) => Ok(ProbeOutput {
                interpreter,
                loops_per_us,
            }),
            (None, ..) if self.lines == 0 => Err(truncated(0, "", &format!("`{HEADER}`"))),
            (None, ..) => Err(truncated(self.lines, &self.last, "the `interpreter` line")),
            (Some(_), None, _) => Err(truncated(self.lines, &self.last, "the `calibration` line")),
            (Some(_), Some(_), false) => Err(truncated(self.lines, &self.last, "`end`")),
        }
    }
}

/// Where a run parser is in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunState {
    Header,
    Interpreter,
    Setup,
    Warmup,
    Trials,
    End,
    Done,
}

/// Parses the output of `pybench.py run`, fed line by line, and checks that the `setup` line
/// echoes what was asked (so a script of another version is refused, not misread).
#[derive(Debug)]
pub struct RunParser {
    request: Asked,
    state: RunState,
    lines: usize,
    last: String,
    interpreter: Option<InterpreterLine>,
    warmup_tasks: u64,
    trials: Vec<TrialLine>,
    summary: Option<SummaryLine>,
    failure: Option<(CallStage, String)>,
}

impl RunParser {
    /// A parser expecting the output of `request`.
    pub fn new(request: RunRequest) -> RunParser {
        RunParser::asked(Asked::Task(request))
    }

    /// A parser expecting the output of `pybench.py call` for `request`.
    pub fn for_call(request: CallRequest) -> RunParser {
        RunParser::asked(Asked::Call(request))
    }

    fn asked(request: Asked) -> RunParser {
        RunParser {
            request,
            state: RunState::Header,
            lines: 0,
            last: String::new(),
            interpreter: None,
            warmup_tasks: 0,
            trials: Vec::new(),
            summary: None,
            failure: None,
        }
    }

    /// Takes the next line (without its newline).
    pub fn feed(&mut self, line: &str) -> Result<Step, FormatError> {
        self.lines += 1;
        self.last = line.to_owned();
        let n = self.lines;
        match self.state {
            RunState::Header => {
                header(n, line)?;
                self.state = RunState::Interpreter;
                Ok(Step::Preamble)
            }
            RunState::Interpreter => {
                self.interpreter = Some(interpreter(n, line)?);
                self.state = RunState::Setup;
                Ok(Step::Preamble)
            }
            RunState::Warmup | RunState::Trials
                if matches!(self.request, Asked::Call(_)) && line.starts_with("failed ") =>
            {
                self.failure = Some(failed(n, line)?);
                self.state = RunState::End;
                Ok(Step::Summary)
            }
            RunState::Setup => {
                match &self.request {
                    Asked::Task(request) => check_setup(request, n, line)?,
                    Asked::Call(request) => check_call_setup(request, n, line)?,
                }
                self.state = RunState::Warmup;
                Ok(Step::Preamble)
            }
            RunState::Warmup => {
                let v = fields(n, line, "warmup tasks wall_us")?;
                self.warmup_tasks = count(n, "tasks", v[0])?;
                amount(n, "wall_us", v[1])?;
                self.state = RunState::Trials;
                Ok(Step::Warmup)
            }
            RunState::Trials if self.trials.len() < self.request.trials() as usize => {
                let trial = trial(n, line)?;
                let expected = self.trials.len() as u32 + 1;
                if trial.index != expected {
                    return Err(FormatError {
                        line: n,
                        message: format!("expected trial {expected}, found trial {}", trial.index),
                    });
                }
                self.trials.push(trial);
                Ok(Step::Trial(expected))
            }
            RunState::Trials => {
                let summary = summary(n, line)?;
                let tasks: u64 = self.trials.iter().map(|t| t.tasks).sum();
                if summary.latency_samples != tasks {
                    return Err(FormatError {
                        line: n,
                        message: format!(
                            "`latency_samples` = {} but the trials ran {tasks} tasks (every task is timed)",
                            summary.latency_samples
                        ),
                    });
                }
                self.summary = Some(summary);
                self.state = RunState::End;
                Ok(Step::Summary)
            }
            RunState::End => {
                fields(n, line, "end")?;
                self.state = RunState::Done;
                Ok(Step::End)
            }
            RunState::Done => Err(FormatError {
                line: n,
                message: format!("unexpected output after `end`: `{}`", shorten(line)),
            }),
        }
    }
}

fn check_setup(r: &RunRequest, n: usize, line: &str) -> Result<(), FormatError> {
    let v = fields(
        n,
        line,
        "setup executor threads task compute_us wait_us chunk_size loops_per_us trials",
    )?;
    let mismatch = |key: &str, found: &str, asked: String| setup_mismatch(n, key, found, &asked);
    if v[0] != r.executor.as_str() {
        return Err(mismatch("executor", v[0], r.executor.as_str().into()));
    }
    if count(n, "threads", v[1])? != r.threads as u64 {
        return Err(mismatch("threads", v[1], r.threads.to_string()));
    }
    if v[2] != r.task.as_str() {
        return Err(mismatch("task", v[2], r.task.as_str().into()));
    }
    if count(n, "compute_us", v[3])? != r.compute_us {
        return Err(mismatch("compute_us", v[3], r.compute_us.to_string()));
    }
    if count(n, "wait_us", v[4])? != r.wait_us {
        return Err(mismatch("wait_us", v[4], r.wait_us.to_string()));
    }
    if count(n, "chunk_size", v[5])? != r.chunk_size as u64 {
        return Err(mismatch("chunk_size", v[5], r.chunk_size.to_string()));
    }
    let loops = amount(n, "loops_per_us", v[6])?;
    if (loops - r.loops_per_us).abs() > 1e-9 * r.loops_per_us.abs().max(1.0) {
        return Err(mismatch("loops_per_us", v[6], r.loops_per_us.to_string()));
    }
    if count(n, "trials", v[7])? != u64::from(r.trials) {
        return Err(mismatch("trials", v[7], r.trials.to_string()));
    }
    Ok(())
}

/// The error for a `setup` value that is not what pooltune asked.
fn setup_mismatch(n: usize, key: &str, found: &str, asked: &str) -> FormatError {
    FormatError {
        line: n,
        message: format!(
            "the script ran `{key}={}` but pooltune asked for `{key}={asked}`",
            shorten(found)
        ),
    }
}

fn check_call_setup(r: &CallRequest, n: usize, line: &str) -> Result<(), FormatError> {
    let v = fields(
        n,
        line,
        "setup executor threads call start_method chunk_size trials",
    )?;
    let start_method = r.start_method.map_or("none", StartMethod::as_str);
    let expected = [
        r.executor.as_str().to_owned(),
        r.threads.to_string(),
        r.call.clone(),
        start_method.to_owned(),
        r.chunk_size.to_string(),
        r.trials.to_string(),
    ];
    let keys = [
        "executor",
        "threads",
        "call",
        "start_method",
        "chunk_size",
        "trials",
    ];
    for ((key, found), asked) in keys.iter().zip(&v).zip(&expected) {
        if *found != asked.as_str() {
            return Err(setup_mismatch(n, key, found, asked));
        }
    }
    Ok(())
}

/// `failed stage=import|call <message>`: the message is the rest of the line.
fn failed(n: usize, line: &str) -> Result<(CallStage, String), FormatError> {
    let rest = line.strip_prefix("failed stage=").unwrap_or_default();
    let (stage, message) = rest.split_once(' ').unwrap_or((rest, ""));
    let stage = match stage {
        "import" => CallStage::Import,
        "call" => CallStage::Call,
        _ => {
            return Err(FormatError {
                line: n,
                message: format!(
                    "expected `failed stage=import …` or `failed stage=call …`, found `{}`",
                    shorten(line)
                ),
            });
        }
    };
    if message.trim().is_empty() {
        return Err(FormatError {
            line: n,
            message: "a `failed` line without the error".to_owned(),
        });
    }
    Ok((stage, message.trim().to_owned()))
}

impl RunParser {
    /// The parsed run of the user's function: its trials, or the `failed` line; or the error
    /// for output that stopped early.
    pub fn finish_call(mut self) -> Result<CallOutput, FormatError> {
        match self.failure.take() {
            Some((stage, message)) if self.state == RunState::Done => {
                Ok(CallOutput::Failed { stage, message })
            }
            Some(_) => Err(truncated(self.lines, &self.last, "`end`")),
            None => self.finish().map(CallOutput::Measured),
        }
    }

    /// The parsed run, or the error for output that stopped early.
    pub fn finish(self) -> Result<RunOutput, FormatError> {
        let expected = match self.state {
            RunState::Done => None,
            RunState::Header => Some(format!("`{HEADER}`")),
            RunState::Interpreter => Some("the `interpreter` line".to_owned()),
            RunState::Setup => Some("the `setup` line".to_owned()),
            RunState::Warmup => Some("the `warmup` line".to_owned()),
            RunState::Trials if self.trials.len() < self.request.trials() as usize => {
                Some(format!(
                    "trial {} of {}",
                    self.trials.len() + 1,
                    self.request.trials()
                ))
            }
            RunState::Trials => Some("the `summary` line".to_owned()),
            RunState::End => Some("`end`".to_owned()),
        };
        if let Some(expected) = expected {
            return Err(truncated(self.lines, &self.last, &expected));
        }
        match (self.interpreter, self.summary) {
            (Some(interpreter), Some(summary)) => Ok(RunOutput {
                interpreter,
                warmup_tasks: self.warmup_tasks,
                trials: self.trials,
                summary,
            }),
            _ => Err(truncated(self.lines, &self.last, "a complete output")),
        }
    }
}

fn trial(n: usize, line: &str) -> Result<TrialLine, FormatError> {
    let v = fields(
        n,
        line,
        "trial index tasks wall_us task_cpu_us cpu_us voluntary_switches involuntary_switches",
    )?;
    let wall_us = amount(n, "wall_us", v[2])?;
    if wall_us <= 0.0 {
        return Err(FormatError {
            line: n,
            message: "`wall_us` must be more than 0".to_owned(),
        });
    }
    Ok(TrialLine {
        index: u32::try_from(count(n, "index", v[0])?).unwrap_or(u32::MAX),
        tasks: count(n, "tasks", v[1])?,
        wall_us,
        task_cpu_us: amount(n, "task_cpu_us", v[3])?,
        cpu_us: amount(n, "cpu_us", v[4])?,
        voluntary_switches: count(n, "voluntary_switches", v[5])?,
        involuntary_switches: count(n, "involuntary_switches", v[6])?,
    })
}

fn summary(n: usize, line: &str) -> Result<SummaryLine, FormatError> {
    let v = fields(
        n,
        line,
        "summary latency_samples latency_mean_us latency_p50_us latency_p95_us latency_p99_us \
         latency_max_us peak_rss_bytes workers_peak_rss_bytes",
    )?;
    Ok(SummaryLine {
        latency_samples: count(n, "latency_samples", v[0])?,
        latency_mean_us: amount(n, "latency_mean_us", v[1])?,
        latency_p50_us: amount(n, "latency_p50_us", v[2])?,
        latency_p95_us: amount(n, "latency_p95_us", v[3])?,
        latency_p99_us: amount(n, "latency_p99_us", v[4])?,
        latency_max_us: amount(n, "latency_max_us", v[5])?,
        peak_rss_bytes: count(n, "peak_rss_bytes", v[6])?,
        workers_peak_rss_bytes: match v[7] {
            "none" => None,
            value => Some(count(n, "workers_peak_rss_bytes", value)?),
        },
    })
}

/// The output of `pybench.py check`: the interpreter, whether the function imports, and why
/// the pool cannot run it (a process pool and a function that cannot be pickled; an
/// interpreter pool on a CPython before 3.14).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutput {
    /// The interpreter.
    pub interpreter: InterpreterLine,
    /// The module imported and has the function (when not, each point fails saying why).
    pub importable: bool,
    /// Why the series cannot run, in words.
    pub refused: Option<String>,
}

/// Parses the whole output of `pybench.py check` for `call` on `executor`.
pub fn parse_check(text: &str, call: &str, executor: Executor) -> Result<CheckOutput, FormatError> {
    let lines: Vec<&str> = text.lines().collect();
    let at = |n: usize| lines.get(n - 1).copied();
    let stopped = |n: usize, expected: &str| {
        let last = if n > 1 { lines[n - 2] } else { "" };
        truncated(n - 1, last, expected)
    };
    header(1, at(1).ok_or_else(|| stopped(1, &format!("`{HEADER}`")))?)?;
    let interpreter = interpreter(
        2,
        at(2).ok_or_else(|| stopped(2, "the `interpreter` line"))?,
    )?;
    let line = at(3).ok_or_else(|| stopped(3, "the `check` line"))?;
    let v = fields(3, line, "check call executor importable")?;
    if v[0] != call {
        return Err(setup_mismatch(3, "call", v[0], call));
    }
    if v[1] != executor.as_str() {
        return Err(setup_mismatch(3, "executor", v[1], executor.as_str()));
    }
    let importable = flag(3, "importable", v[2], "yes", "no")?;
    let (refused, end_line) = match at(4).and_then(|l| l.strip_prefix("refused ")) {
        Some(why) => (Some(why.trim().to_owned()), 5),
        None => (None, 4),
    };
    fields(
        end_line,
        at(end_line).ok_or_else(|| stopped(end_line, "`end`"))?,
        "end",
    )?;
    if let Some(extra) = at(end_line + 1) {
        return Err(FormatError {
            line: end_line + 1,
            message: format!("unexpected output after `end`: `{}`", shorten(extra)),
        });
    }
    Ok(CheckOutput {
        interpreter,
        importable,
        refused,
    })
}

/// Parses the output of `pybench.py module NAME`: whether `name` can be imported.
pub fn parse_module(text: &str, name: &str) -> Result<bool, FormatError> {
    let lines: Vec<&str> = text.lines().collect();
    let at = |n: usize| lines.get(n - 1).copied();
    let stopped = |n: usize, expected: &str| {
        let last = if n > 1 { lines[n - 2] } else { "" };
        truncated(n - 1, last, expected)
    };
    header(1, at(1).ok_or_else(|| stopped(1, &format!("`{HEADER}`")))?)?;
    interpreter(
        2,
        at(2).ok_or_else(|| stopped(2, "the `interpreter` line"))?,
    )?;
    let line = at(3).ok_or_else(|| stopped(3, "the `module` line"))?;
    let v = fields(3, line, "module name available version")?;
    if v[0] != name {
        return Err(setup_mismatch(3, "name", v[0], name));
    }
    let available = flag(3, "available", v[1], "yes", "no")?;
    fields(4, at(4).ok_or_else(|| stopped(4, "`end`"))?, "end")?;
    if let Some(extra) = at(5) {
        return Err(FormatError {
            line: 5,
            message: format!("unexpected output after `end`: `{}`", shorten(extra)),
        });
    }
    Ok(available)
}

/// Parses a whole run output at once (for tests and saved outputs).
pub fn parse_run(text: &str, request: RunRequest) -> Result<RunOutput, FormatError> {
    let mut parser = RunParser::new(request);
    for line in text.lines() {
        parser.feed(line)?;
    }
    parser.finish()
}

/// Parses a whole probe output at once.
pub fn parse_probe(text: &str) -> Result<ProbeOutput, FormatError> {
    let mut parser = ProbeParser::new();
    for line in text.lines() {
        parser.feed(line)?;
    }
    parser.finish()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn request() -> RunRequest {
        RunRequest {
            executor: Executor::Threads,
            threads: 2,
            task: PythonTask::Cpu,
            compute_us: 2000,
            wait_us: 0,
            chunk_size: 1,
            loops_per_us: 12.5,
            trials: 3,
        }
    }

    pub(crate) const GOOD_RUN: &str = "\
pooltune-pybench 2
interpreter implementation=cpython version=3.11.7 gil=on free_threaded_build=no
setup executor=threads threads=2 task=cpu compute_us=2000 wait_us=0 chunk_size=1 loops_per_us=12.5 trials=3
warmup tasks=35 wall_us=111981.8
trial index=1 tasks=100 wall_us=400000.0 task_cpu_us=205214.8 cpu_us=211818.5 voluntary_switches=96 involuntary_switches=134
trial index=2 tasks=110 wall_us=400000.0 task_cpu_us=200484.1 cpu_us=208403.2 voluntary_switches=88 involuntary_switches=118
trial index=3 tasks=120 wall_us=400000.0 task_cpu_us=200961.7 cpu_us=207907.1 voluntary_switches=91 involuntary_switches=123
summary latency_samples=330 latency_mean_us=6691.2 latency_p50_us=2500.9 latency_p95_us=18182.3 latency_p99_us=20593.9 latency_max_us=21108.1 peak_rss_bytes=17424384 workers_peak_rss_bytes=none
end
";

    fn run_error(text: &str) -> FormatError {
        parse_run(text, request()).unwrap_err()
    }

    /// The error for [`GOOD_RUN`] with `from` replaced by `to`, which must say `says`.
    fn refused(from: &str, to: &str, says: &str) -> FormatError {
        let err = run_error(&GOOD_RUN.replace(from, to));
        assert!(err.message.contains(says), "{from} -> {to}: {err}");
        err
    }

    #[test]
    fn parses_a_complete_run() {
        let out = parse_run(GOOD_RUN, request()).unwrap();
        assert_eq!(out.interpreter.version, "3.11.7");
        assert!(out.interpreter.gil_enabled);
        assert!(!out.interpreter.free_threaded_build);
        assert_eq!(out.warmup_tasks, 35);
        assert_eq!(out.trials.len(), 3);
        assert_eq!(out.trials[2].tasks, 120);
        assert!((out.trials[0].throughput_per_s() - 250.0).abs() < 1e-9);
        assert_eq!(out.summary.peak_rss_bytes, 17_424_384);
        assert_eq!(out.summary.workers_peak_rss_bytes, None);
    }

    #[test]
    fn the_workers_peak_is_a_count_or_none() {
        let processes = GOOD_RUN.replace(
            "workers_peak_rss_bytes=none",
            "workers_peak_rss_bytes=52428800",
        );
        let out = parse_run(&processes, request()).unwrap();
        assert_eq!(out.summary.workers_peak_rss_bytes, Some(52_428_800));
        let err = run_error(
            &GOOD_RUN.replace("workers_peak_rss_bytes=none", "workers_peak_rss_bytes=lots"),
        );
        assert!(err.message.contains("`workers_peak_rss_bytes`"), "{err}");
    }

    #[test]
    fn steps_follow_the_lines() {
        let mut parser = RunParser::new(request());
        let steps: Vec<Step> = GOOD_RUN.lines().map(|l| parser.feed(l).unwrap()).collect();
        assert_eq!(
            steps,
            [
                Step::Preamble,
                Step::Preamble,
                Step::Preamble,
                Step::Warmup,
                Step::Trial(1),
                Step::Trial(2),
                Step::Trial(3),
                Step::Summary,
                Step::End
            ]
        );
    }

    #[test]
    fn truncated_output_says_where_it_stopped() {
        let cut: String = GOOD_RUN.lines().take(5).map(|l| format!("{l}\n")).collect();
        let err = run_error(&cut);
        assert_eq!(err.line, 6);
        assert!(err.message.contains("stopped after line 5"), "{err}");
        assert!(err.message.contains("trial 2 of 3"), "{err}");
        assert!(err.message.contains("truncated"), "{err}");
        let err = run_error("");
        assert!(err.message.contains("printed nothing"), "{err}");
        let no_end: String = GOOD_RUN.lines().take(8).map(|l| format!("{l}\n")).collect();
        assert!(run_error(&no_end).message.contains("`end`"));
    }

    #[test]
    fn a_line_cut_in_the_middle_is_refused() {
        let text = GOOD_RUN.replace(
            "wall_us=400000.0 task_cpu_us=200484.1 cpu_us=208403.2 voluntary_switches=88 involuntary_switches=118",
            "wall_us=4000",
        );
        let err = run_error(&text);
        assert_eq!(err.line, 6);
        assert!(err.message.contains("7 values"), "{err}");
    }

    #[test]
    fn malformed_values_name_the_key() {
        let err = refused("tasks=110", "tasks=1.5", "`tasks` must be a whole number");
        assert_eq!(err.line, 6);
        for (from, to, says) in [
            (
                "wall_us=111981.8",
                "wall_us=nan",
                "`wall_us` must be a finite number",
            ),
            ("gil=on", "gil=maybe", "`gil` must be `on` or `off`"),
            (
                "cpu_us=211818.5",
                "cpu_secs=211818.5",
                "expected `cpu_us=…`",
            ),
        ] {
            refused(from, to, says);
        }
    }

    #[test]
    fn lines_out_of_order_or_extra_are_refused() {
        refused("trial index=2", "trial index=3", "expected trial 2");
        let err = run_error(&format!("{GOOD_RUN}Traceback (most recent call last):\n"));
        assert_eq!(err.line, 10);
        assert!(err.message.contains("after `end`"), "{err}");
        refused("warmup tasks", "warm-up tasks", "expected `warmup tasks=…");
        refused(
            "latency_samples=330",
            "latency_samples=329",
            "every task is timed",
        );
    }

    #[test]
    fn a_header_of_another_version_or_program_is_refused() {
        let err = refused("pooltune-pybench 2", "pooltune-pybench 3", "do not match");
        assert_eq!(err.line, 1);
        let err = run_error("Python 3.11.7\n");
        assert!(err.message.contains("not pybench output"), "{err}");
    }

    #[test]
    fn a_setup_that_does_not_echo_the_request_is_refused() {
        refused(
            "executor=threads",
            "executor=processes",
            "ran `executor=processes` but pooltune asked for `executor=threads`",
        );
        refused("loops_per_us=12.5", "loops_per_us=13", "loops_per_us");
    }

    fn call_request() -> CallRequest {
        CallRequest {
            executor: Executor::Processes,
            start_method: Some(StartMethod::Spawn),
            threads: 2,
            call: "hashwork:sha256_block".to_owned(),
            chunk_size: 1,
            trials: 3,
        }
    }

    /// [`GOOD_RUN`] as `pybench.py call` prints it for [`call_request`].
    fn good_call_run() -> String {
        GOOD_RUN.replace(
            "setup executor=threads threads=2 task=cpu compute_us=2000 wait_us=0 chunk_size=1 loops_per_us=12.5 trials=3",
            "setup executor=processes threads=2 call=hashwork:sha256_block start_method=spawn chunk_size=1 trials=3",
        )
    }

    fn parse_call(text: &str) -> Result<CallOutput, FormatError> {
        let mut parser = RunParser::for_call(call_request());
        for line in text.lines() {
            parser.feed(line)?;
        }
        parser.finish_call()
    }

    #[test]
    fn a_call_run_is_parsed_like_a_task_run() {
        let CallOutput::Measured(out) = parse_call(&good_call_run()).unwrap() else {
            panic!("measured expected");
        };
        assert_eq!(out.trials.len(), 3);
        assert_eq!(out.summary.latency_samples, 330);
        // The task's setup line is not the call's: refused, naming what differs.
        let err = parse_call(GOOD_RUN).unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("expected `setup executor=…"), "{err}");
        let err = parse_call(&good_call_run().replace("start_method=spawn", "start_method=fork"))
            .unwrap_err();
        assert!(
            err.message
                .contains("ran `start_method=fork` but pooltune asked for `start_method=spawn`"),
            "{err}"
        );
    }

    #[test]
    fn a_failed_line_ends_a_call_run_with_the_python_error() {
        let head: String = good_call_run()
            .lines()
            .take(3)
            .map(|l| format!("{l}\n"))
            .collect();
        for (stage_word, stage) in [("import", CallStage::Import), ("call", CallStage::Call)] {
            let text = format!("{head}failed stage={stage_word} ValueError: boom 7\nend\n");
            assert_eq!(
                parse_call(&text).unwrap(),
                CallOutput::Failed {
                    stage,
                    message: "ValueError: boom 7".to_owned()
                }
            );
        }
        // After a trial too (the function raised in trial 2).
        let one_trial: String = good_call_run()
            .lines()
            .take(5)
            .map(|l| format!("{l}\n"))
            .collect();
        let text = format!("{one_trial}failed stage=call KeyError: 'x'\nend\n");
        assert!(matches!(parse_call(&text), Ok(CallOutput::Failed { .. })));
        // Not without `end`, not of an unknown stage, not without a message, not in a task run.
        let err = parse_call(&format!("{head}failed stage=call ValueError: boom\n")).unwrap_err();
        assert!(err.message.contains("truncated"), "{err}");
        let err = parse_call(&format!("{head}failed stage=later oops\nend\n")).unwrap_err();
        assert!(err.message.contains("stage=import"), "{err}");
        let err = parse_call(&format!("{head}failed stage=call \nend\n")).unwrap_err();
        assert!(err.message.contains("without the error"), "{err}");
        let task_head: String = GOOD_RUN.lines().take(3).map(|l| format!("{l}\n")).collect();
        let err =
            parse_run(&format!("{task_head}failed stage=call X\nend\n"), request()).unwrap_err();
        assert!(err.message.contains("expected `warmup tasks=…"), "{err}");
    }

    #[test]
    fn a_check_says_whether_the_pool_can_run_the_function() {
        let head = "pooltune-pybench 2\ninterpreter implementation=cpython version=3.11.7 gil=on free_threaded_build=no\n";
        let ok = format!("{head}check call=m:f executor=processes importable=yes\nend\n");
        let checked = parse_check(&ok, "m:f", Executor::Processes).unwrap();
        assert!(checked.importable);
        assert_eq!(checked.refused, None);
        assert_eq!(checked.interpreter.version, "3.11.7");
        let refused = format!(
            "{head}check call=m:f executor=processes importable=yes\nrefused m:f cannot be pickled\nend\n"
        );
        let checked = parse_check(&refused, "m:f", Executor::Processes).unwrap();
        assert_eq!(checked.refused.as_deref(), Some("m:f cannot be pickled"));
        let err = parse_check(&ok, "m:g", Executor::Processes).unwrap_err();
        assert!(err.message.contains("asked for `call=m:g`"), "{err}");
        let err = parse_check(&ok, "m:f", Executor::Threads).unwrap_err();
        assert!(err.message.contains("`executor=threads`"), "{err}");
        let err = parse_check(head, "m:f", Executor::Processes).unwrap_err();
        assert!(err.message.contains("the `check` line"), "{err}");
        assert!(err.message.contains("truncated"), "{err}");
        let err = parse_check(&format!("{ok}more\n"), "m:f", Executor::Processes).unwrap_err();
        assert!(err.message.contains("after `end`"), "{err}");
        assert!(parse_check("", "m:f", Executor::Processes).is_err());
    }

    #[test]
    fn probe_output_is_parsed_strictly() {
        let good = "pooltune-pybench 2\ninterpreter implementation=cpython version=3.13.0 gil=off free_threaded_build=yes\ncalibration loops_per_us=11.25\nend\n";
        let probe = parse_probe(good).unwrap();
        assert!(!probe.interpreter.gil_enabled);
        assert!(probe.interpreter.free_threaded_build);
        assert_eq!(probe.loops_per_us, 11.25);
        let err = parse_probe(&good.replace("11.25", "0")).unwrap_err();
        assert!(err.message.contains("more than 0"), "{err}");
        let err = parse_probe(&good.replace("end\n", "")).unwrap_err();
        assert!(err.message.contains("truncated"), "{err}");
    }

    #[test]
    fn a_module_line_says_whether_it_imports() {
        let head = "pooltune-pybench 2\ninterpreter implementation=cpython version=3.11.7 gil=on free_threaded_build=no\n";
        let yes = format!("{head}module name=gevent available=yes version=26.9.0\nend\n");
        assert_eq!(parse_module(&yes, "gevent"), Ok(true));
        let no = format!("{head}module name=gevent available=no version=none\nend\n");
        assert_eq!(parse_module(&no, "gevent"), Ok(false));
        let err = parse_module(&no, "greenlet").unwrap_err();
        assert!(err.message.contains("`name=greenlet`"), "{err}");
        let err = parse_module(
            &format!("{head}module name=gevent available=maybe version=x\nend\n"),
            "gevent",
        )
        .unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        assert!(parse_module(head, "gevent").is_err(), "truncated");
        assert!(
            parse_module(&format!("{no}more\n"), "gevent").is_err(),
            "after end"
        );
    }
}
