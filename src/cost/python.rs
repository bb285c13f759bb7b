//! The CPython side of the worker-cost experiment: runs `assets/worker_cost.py` (compiled into
//! pooltune and written to a temporary folder) with the same worker counts, and parses its
//! output strictly: every line must be one of the documented records, in order, or the run is
//! refused with the line number and what was expected. Besides threads and processes the
//! script measures idle coroutines (asyncio tasks, generators, and greenlets where the
//! package is installed) at the run's task counts, and the switch cost (a ping-pong) of
//! Python threads and of each coroutine kind.
//!
//! The script runs under the child driver ([`crate::child::drive`]): in its own process
//! group, so that Stop (or a silent script) kills it together with every worker it started,
//! and always reaped. This file only says what to run and how to read its lines.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Measured, SwitchCost, WorkerCost, WorkerKind, percentile};
use crate::cancel::CancelToken;
use crate::child::driver::last_line;
use crate::child::{ChildSpec, DriveError};

/// The probe script, shipped in `assets/`.
pub const SCRIPT: &str = include_str!("../../assets/worker_cost.py");

/// The output format version this parser reads.
const FORMAT_VERSION: u32 = 2;

/// Expected time for the script to start one `multiprocessing` worker and see it ready (a
/// `spawn` worker imports Python afresh: a few hundred milliseconds on a loaded machine). A
/// line comes after every worker count; the no-progress limit
/// ([`crate::child::no_progress_limit`]) is a multiple of the longest expected gap.
const PROCESS_START: Duration = Duration::from_millis(300);

/// Expected time to start one idle Python thread, generously.
const THREAD_START: Duration = Duration::from_millis(5);

/// Expected time for the interpreter to start and print its first lines.
const INTERPRETER_START: Duration = Duration::from_secs(2);

/// Expected time to make one idle coroutine and run its first step, generously (an asyncio
/// task takes about 6 µs, a greenlet about as much, a generator well under 1 µs).
const TASK_START: Duration = Duration::from_micros(50);

/// Expected time of one ping-pong round trip, generously (Python threads take about 20 µs,
/// asyncio tasks over asyncio.Queue about 15 µs).
const ROUND_TRIP: Duration = Duration::from_micros(100);

/// What the script is asked to measure: the same counts as pooltune's own rows.
#[derive(Debug, Clone, PartialEq)]
pub struct PythonCounts {
    /// Idle thread counts N.
    pub threads: Vec<usize>,
    /// Idle process counts N (each measured for every start method offered).
    pub processes: Vec<usize>,
    /// Idle coroutine counts N (each measured for every coroutine kind offered).
    pub tasks: Vec<usize>,
    /// Round trips of each ping-pong; 0 for none.
    pub round_trips: usize,
}

/// The expected time between two lines of the script for these counts.
fn line_gap(counts: &PythonCounts) -> Duration {
    let most = |counts: &[usize]| u32::try_from(counts.iter().copied().max().unwrap_or(0));
    let threads = THREAD_START.saturating_mul(most(&counts.threads).unwrap_or(u32::MAX));
    let processes = PROCESS_START.saturating_mul(most(&counts.processes).unwrap_or(u32::MAX));
    let tasks = TASK_START.saturating_mul(most(&counts.tasks).unwrap_or(u32::MAX));
    let switches = ROUND_TRIP.saturating_mul(u32::try_from(counts.round_trips).unwrap_or(u32::MAX));
    INTERPRETER_START
        .max(threads)
        .max(processes)
        .max(tasks)
        .max(switches)
}

/// Python's version and the start methods it offered.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PythonInfo {
    /// The interpreter that ran.
    pub executable: PathBuf,
    /// Its version (`3.11.7`).
    pub version: String,
    /// The `multiprocessing` start methods measured, in order.
    pub start_methods: Vec<String>,
}

/// One record of the script's output.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// `pooltune-worker-cost VERSION`
    Header(u32),
    /// `python VERSION`
    Python(String),
    /// `methods fork spawn forkserver`
    Methods(Vec<String>),
    /// `coroutines asyncio generator greenlet`: the coroutine kinds measured, in order.
    Coroutines(Vec<WorkerKind>),
    /// `thread ...`, `process ...` or `task ...`, turned into a cost.
    Cost(WorkerKind, WorkerCost),
    /// `switch ...`: one ping-pong.
    Switch(SwitchCost),
    /// `end`
    End,
}

/// Finds `python3` on the `PATH`.
pub fn find_python3() -> Option<PathBuf> {
    crate::source::python::script::find_on_path(crate::source::python::script::DEFAULT_PYTHON)
}

/// Runs the script with `python` and reports each cost and switch cost as it is parsed
/// through `on_measured`. Returns what Python is; an error says what went wrong (in words for
/// the user). Returns `Ok(None)` when cancelled.
pub(super) fn run(
    python: &Path,
    counts: &PythonCounts,
    cancel: &CancelToken,
    on_measured: &mut dyn FnMut(Measured),
) -> Result<Option<PythonInfo>, String> {
    let folder = tempfile::Builder::new()
        .prefix("pooltune-cost-")
        .tempdir()
        .map_err(|err| format!("could not create a temporary folder for the script: {err}"))?;
    let _folder_registration = crate::child::register_folder(folder.path());
    let script = folder.path().join("worker_cost.py");
    std::fs::write(&script, SCRIPT)
        .map_err(|err| format!("could not write {}: {err}", script.display()))?;
    let list = |counts: &[usize]| {
        counts
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut args = vec![
        "--threads".to_owned(),
        list(&counts.threads),
        "--processes".to_owned(),
        list(&counts.processes),
        "--round-trips".to_owned(),
        counts.round_trips.to_string(),
    ];
    if !counts.tasks.is_empty() {
        args.extend(["--tasks".to_owned(), list(&counts.tasks)]);
    }
    let spec = ChildSpec::new(python, line_gap(counts))
        .args([script.as_os_str()])
        .args(args)
        .named("the script");
    let mut parser = Parser::new(counts);
    let mut ended = false;
    let outcome = crate::child::drive(&spec, cancel, &mut |_| {}, &mut |line| {
        match parser.feed(line)? {
            Record::Cost(kind, cost) => on_measured(Measured::Cost(kind, cost)),
            Record::Switch(switch) => on_measured(Measured::Switch(switch)),
            Record::End => ended = true,
            Record::Header(_) | Record::Python(_) | Record::Methods(_) | Record::Coroutines(_) => {}
        }
        Ok(())
    });
    let last_words = |stderr: &str| {
        last_line(stderr)
            .map(|line| format!(" ({line})"))
            .unwrap_or_default()
    };
    let failed = |message: String, stderr: &str| {
        Err(format!(
            "{}: {message}{}",
            python.display(),
            last_words(stderr)
        ))
    };
    match outcome {
        Err(DriveError::Cancelled) => Ok(None),
        Err(DriveError::Start(err)) => Err(format!("could not run {}: {err}", python.display())),
        Err(DriveError::Refused { error, stderr }) => failed(error, &stderr),
        Err(DriveError::NoProgress {
            message, stderr, ..
        }) => failed(format!("{message}; it was killed"), &stderr),
        Err(DriveError::Read(err)) => {
            failed(format!("could not read the script's output: {err}"), "")
        }
        Err(DriveError::NoStatus) => Err(format!("could not wait for {}", python.display())),
        Ok(exit) if !ended => failed(
            "the script's output ended before its `end` line".to_owned(),
            &exit.stderr,
        ),
        Ok(exit) if exit.status.success() => Ok(Some(parser.info(python))),
        Ok(exit) => Err(format!(
            "{} ended with {} after its output{}",
            python.display(),
            exit.status,
            last_words(&exit.stderr)
        )),
    }
}

/// The strict parser: knows which record may come next.
pub struct Parser {
    threads: Vec<usize>,
    processes: Vec<usize>,
    tasks: Vec<usize>,
    round_trips: usize,
    line_number: usize,
    version: Option<String>,
    methods: Option<Vec<String>>,
    coroutines: Option<Vec<WorkerKind>>,
    /// Thread lines seen, then process lines seen, then task and switch lines.
    threads_seen: usize,
    processes_seen: usize,
    tasks_seen: usize,
    switches_seen: usize,
    ended: bool,
}

/// The coroutine kind a `task` or `coroutines` word names.
fn coroutine_kind(word: &str) -> Option<WorkerKind> {
    match word {
        "asyncio" => Some(WorkerKind::PythonAsyncioTask),
        "generator" => Some(WorkerKind::PythonGenerator),
        "greenlet" => Some(WorkerKind::PythonGreenlet),
        _ => None,
    }
}

/// The word the script uses for a coroutine kind (the inverse of [`coroutine_kind`]).
fn coroutine_word(kind: WorkerKind) -> &'static str {
    match kind {
        WorkerKind::PythonAsyncioTask => "asyncio",
        WorkerKind::PythonGenerator => "generator",
        WorkerKind::PythonGreenlet => "greenlet",
        _ => "python_thread",
    }
}

impl Parser {
    /// A parser expecting these counts.
    pub fn new(counts: &PythonCounts) -> Parser {
        Parser {
            threads: counts.threads.clone(),
            processes: counts.processes.clone(),
            tasks: counts.tasks.clone(),
            round_trips: counts.round_trips,
            line_number: 0,
            version: None,
            methods: None,
            coroutines: None,
            threads_seen: 0,
            processes_seen: 0,
            tasks_seen: 0,
            switches_seen: 0,
            ended: false,
        }
    }

    /// The coroutine kinds the script said it measures (none before its `coroutines` line).
    fn coroutine_kinds(&self) -> &[WorkerKind] {
        self.coroutines.as_deref().unwrap_or_default()
    }

    /// The switch kinds expected, in order: Python threads, then each coroutine kind.
    fn switch_kinds(&self) -> Vec<WorkerKind> {
        if self.round_trips == 0 {
            return Vec::new();
        }
        let mut kinds = vec![WorkerKind::PythonThread];
        kinds.extend_from_slice(self.coroutine_kinds());
        kinds
    }

    fn info(&self, python: &Path) -> PythonInfo {
        PythonInfo {
            executable: python.to_path_buf(),
            version: self.version.clone().unwrap_or_default(),
            start_methods: self.methods.clone().unwrap_or_default(),
        }
    }

    /// Parses the next line; the error names the line number, the line and what was expected.
    pub fn feed(&mut self, line: &str) -> Result<Record, String> {
        self.line_number += 1;
        let n = self.line_number;
        self.parse(line)
            .map_err(|what| format!("line {n} of the script's output ({line:?}): {what}"))
    }

    fn parse(&mut self, line: &str) -> Result<Record, String> {
        if self.ended {
            return Err("nothing may follow `end`".into());
        }
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        match (self.line_number, word) {
            (1, "pooltune-worker-cost") => {
                let version: u32 = rest.parse().map_err(|_| "expected a format version")?;
                if version != FORMAT_VERSION {
                    return Err(format!(
                        "format version {version}; this pooltune reads {FORMAT_VERSION}"
                    ));
                }
                Ok(Record::Header(version))
            }
            (1, _) => Err("expected `pooltune-worker-cost 1` first".into()),
            (2, "python") if !rest.trim().is_empty() && !rest.contains(' ') => {
                self.version = Some(rest.to_owned());
                Ok(Record::Python(rest.to_owned()))
            }
            (2, _) => Err("expected `python VERSION`".into()),
            (3, "methods") => {
                let methods: Vec<String> = rest
                    .split(' ')
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .collect();
                if let Some(bad) = methods
                    .iter()
                    .find(|m| !["fork", "spawn", "forkserver"].contains(&m.as_str()))
                {
                    return Err(format!("unknown start method {bad:?}"));
                }
                self.methods = Some(methods.clone());
                Ok(Record::Methods(methods))
            }
            (3, _) => Err("expected `methods ...`".into()),
            (4, "coroutines") => {
                let kinds = rest
                    .split(' ')
                    .filter(|k| !k.is_empty())
                    .map(|k| coroutine_kind(k).ok_or_else(|| format!("unknown coroutine {k:?}")))
                    .collect::<Result<Vec<_>, _>>()?;
                self.coroutines = Some(kinds.clone());
                Ok(Record::Coroutines(kinds))
            }
            (4, _) => Err("expected `coroutines ...`".into()),
            (_, "thread") if self.tasks_seen == 0 && self.switches_seen == 0 => self.thread(rest),
            (_, "thread") => Err("a thread record after task or switch records".into()),
            (_, "process") => self.process(rest),
            (_, "task") => self.task(rest),
            (_, "switch") => self.switch(rest),
            (_, "end") if rest.is_empty() => {
                let methods = self.methods.as_ref().map_or(0, Vec::len);
                if self.threads_seen != self.threads.len()
                    || self.processes_seen != methods * self.processes.len()
                    || self.tasks_seen != self.coroutine_kinds().len() * self.tasks.len()
                    || self.switches_seen != self.switch_kinds().len()
                {
                    return Err("`end` before every worker count was reported".into());
                }
                self.ended = true;
                Ok(Record::End)
            }
            _ => Err("expected a `thread`, `process`, `task`, `switch` or `end` record".into()),
        }
    }

    /// `task kind=K workers=N start_p50_us start_p99_us rss_delta_bytes virtual_delta_bytes
    /// stop_ms`: after every thread record, by kind then by N.
    fn task(&mut self, rest: &str) -> Result<Record, String> {
        if self.threads_seen != self.threads.len() {
            return Err("a task record before every thread record".into());
        }
        if self.switches_seen > 0 {
            return Err("a task record after switch records".into());
        }
        let per_kind = self.tasks.len();
        let kinds = self.coroutine_kinds();
        if per_kind == 0 || self.tasks_seen >= kinds.len() * per_kind {
            return Err("more task records than task counts asked".into());
        }
        let expected_kind = kinds[self.tasks_seen / per_kind];
        let expected = self.tasks[self.tasks_seen % per_kind];
        let fields = Fields::parse(
            rest,
            &[
                "kind",
                "workers",
                "start_p50_us",
                "start_p99_us",
                "rss_delta_bytes",
                "virtual_delta_bytes",
                "stop_ms",
            ],
        )?;
        let word = fields.text("kind");
        if coroutine_kind(word) != Some(expected_kind) {
            return Err(format!(
                "kind={word}, expected kind={}",
                coroutine_word(expected_kind)
            ));
        }
        let workers = fields.count("workers", expected)?;
        let p50 = fields.non_negative("start_p50_us")?;
        let p99 = fields.non_negative("start_p99_us")?;
        if p99 < p50 {
            return Err(format!("start_p99_us={p99} is below start_p50_us={p50}"));
        }
        let rss = fields.integer("rss_delta_bytes")?;
        let virt = fields.integer("virtual_delta_bytes")?;
        // Fewer tasks than a page of memory, or memory reused, show no growth: say so rather
        // than print 0 bytes per task.
        let (rss_per_task, virtual_per_task, unreliable) = if rss > 0 {
            (
                rss as f64 / workers as f64,
                virt as f64 / workers as f64,
                None,
            )
        } else {
            (
                f64::NAN,
                f64::NAN,
                Some(format!(
                    "the resident memory of the Python child did not grow over {workers} idle {}: too few to show above a page",
                    coroutine_word(expected_kind)
                )),
            )
        };
        self.tasks_seen += 1;
        Ok(Record::Cost(
            expected_kind,
            WorkerCost {
                workers,
                start_method: None,
                start_latency_p50_us: p50,
                start_latency_p99_us: p99,
                rss_per_worker_bytes: rss_per_task,
                pss_per_worker_bytes: None,
                virtual_per_worker_bytes: virtual_per_task,
                stop_ms: fields.non_negative("stop_ms")?,
                stacks_reused: None,
                memory_unreliable: unreliable,
                error: None,
            },
        ))
    }

    /// `switch kind=K round_trips=N seconds=F`: last, Python threads first, then each
    /// coroutine kind. Python threads may make fewer round trips than asked (the script caps
    /// them); no kind may make more.
    fn switch(&mut self, rest: &str) -> Result<Record, String> {
        if self.tasks_seen != self.coroutine_kinds().len() * self.tasks.len()
            || self.threads_seen != self.threads.len()
        {
            return Err("a switch record before every thread and task record".into());
        }
        let kinds = self.switch_kinds();
        let expected_kind = *kinds
            .get(self.switches_seen)
            .ok_or("more switch records than kinds")?;
        let fields = Fields::parse(rest, &["kind", "round_trips", "seconds"])?;
        let word = fields.text("kind");
        let kind = if word == "python_thread" {
            Some(WorkerKind::PythonThread)
        } else {
            coroutine_kind(word)
        };
        if kind != Some(expected_kind) {
            return Err(format!(
                "kind={word}, expected kind={}",
                coroutine_word(expected_kind)
            ));
        }
        let round_trips: usize = fields
            .text("round_trips")
            .parse()
            .map_err(|_| "`round_trips` is not a count")?;
        if round_trips == 0 || round_trips > self.round_trips {
            return Err(format!(
                "round_trips={round_trips}, expected 1 to {}",
                self.round_trips
            ));
        }
        let seconds = fields.non_negative("seconds")?;
        self.switches_seen += 1;
        Ok(Record::Switch(SwitchCost::measured(
            expected_kind,
            round_trips,
            Duration::from_secs_f64(seconds),
        )))
    }

    fn thread(&mut self, rest: &str) -> Result<Record, String> {
        let methods = self.methods.as_ref().map_or(0, Vec::len);
        if self.processes_seen != methods * self.processes.len() {
            return Err("a thread record before every process record".into());
        }
        let expected = *self
            .threads
            .get(self.threads_seen)
            .ok_or("more thread records than worker counts asked")?;
        let fields = Fields::parse(
            rest,
            &[
                "workers",
                "latencies_us",
                "rss_delta_bytes",
                "virtual_delta_bytes",
                "stop_ms",
            ],
        )?;
        let workers = fields.count("workers", expected)?;
        let latencies = fields.latencies("latencies_us", workers)?;
        let rss = fields.integer("rss_delta_bytes")?;
        let virt = fields.integer("virtual_delta_bytes")?;
        let stop_ms = fields.float("stop_ms")?;
        self.threads_seen += 1;
        Ok(Record::Cost(
            WorkerKind::PythonThread,
            WorkerCost {
                workers,
                start_method: None,
                start_latency_p50_us: percentile(&latencies, 0.50),
                start_latency_p99_us: percentile(&latencies, 0.99),
                rss_per_worker_bytes: rss as f64 / workers as f64,
                pss_per_worker_bytes: None,
                virtual_per_worker_bytes: virt as f64 / workers as f64,
                stop_ms,
                stacks_reused: None,
                memory_unreliable: None,
                error: None,
            },
        ))
    }

    fn process(&mut self, rest: &str) -> Result<Record, String> {
        let methods = self
            .methods
            .as_ref()
            .ok_or("a process record before `methods`")?;
        let per_method = self.processes.len();
        if per_method == 0 || self.processes_seen >= methods.len() * per_method {
            return Err("more process records than worker counts asked".into());
        }
        let expected_method = &methods[self.processes_seen / per_method];
        let expected = self.processes[self.processes_seen % per_method];
        if self.threads_seen > 0 {
            return Err("a process record after thread records".into());
        }
        let fields = Fields::parse(
            rest,
            &[
                "method",
                "workers",
                "latencies_us",
                "rss_bytes",
                "pss_bytes",
                "virtual_bytes",
                "stop_ms",
            ],
        )?;
        let method = fields.text("method");
        if method != expected_method {
            return Err(format!(
                "method={method}, expected method={expected_method}"
            ));
        }
        let workers = fields.count("workers", expected)?;
        let latencies = fields.latencies("latencies_us", workers)?;
        let per_worker = |name| -> Result<f64, String> {
            let total = fields.integer(name)?;
            if total < 0 {
                return Err(format!("{name} must not be negative"));
            }
            Ok(total as f64 / workers as f64)
        };
        let cost = WorkerCost {
            workers,
            start_method: Some(method.to_owned()),
            start_latency_p50_us: percentile(&latencies, 0.50),
            start_latency_p99_us: percentile(&latencies, 0.99),
            rss_per_worker_bytes: per_worker("rss_bytes")?,
            pss_per_worker_bytes: Some(per_worker("pss_bytes")?),
            virtual_per_worker_bytes: per_worker("virtual_bytes")?,
            stop_ms: fields.float("stop_ms")?,
            stacks_reused: None,
            memory_unreliable: None,
            error: None,
        };
        self.processes_seen += 1;
        Ok(Record::Cost(WorkerKind::PythonProcess, cost))
    }
}

/// `key=value` fields, exactly the expected keys in the expected order.
struct Fields<'a> {
    values: Vec<(&'a str, &'a str)>,
}

impl<'a> Fields<'a> {
    fn parse(rest: &'a str, keys: &[&'a str]) -> Result<Fields<'a>, String> {
        let parts: Vec<&str> = rest.split(' ').collect();
        if parts.len() != keys.len() {
            return Err(format!(
                "expected {} fields ({}), found {}",
                keys.len(),
                keys.join(" "),
                parts.len()
            ));
        }
        let mut values = Vec::with_capacity(keys.len());
        for (part, key) in parts.iter().zip(keys) {
            let value = part
                .strip_prefix(key)
                .and_then(|v| v.strip_prefix('='))
                .ok_or_else(|| format!("expected `{key}=...`, found {part:?}"))?;
            if value.is_empty() {
                return Err(format!("`{key}` has no value"));
            }
            values.push((*key, value));
        }
        Ok(Fields { values })
    }

    fn text(&self, key: &str) -> &'a str {
        self.values
            .iter()
            .find(|(k, _)| *k == key)
            .map_or("", |(_, v)| v)
    }

    fn integer(&self, key: &str) -> Result<i64, String> {
        self.text(key)
            .parse()
            .map_err(|_| format!("`{key}` is not a whole number"))
    }

    fn float(&self, key: &str) -> Result<f64, String> {
        parse_float(self.text(key)).ok_or_else(|| format!("`{key}` is not a finite number"))
    }

    fn non_negative(&self, key: &str) -> Result<f64, String> {
        self.float(key).and_then(|x| {
            if x >= 0.0 {
                Ok(x)
            } else {
                Err(format!("`{key}` must not be negative"))
            }
        })
    }

    fn count(&self, key: &str, expected: usize) -> Result<usize, String> {
        let value: usize = self
            .text(key)
            .parse()
            .map_err(|_| format!("`{key}` is not a count"))?;
        if value != expected {
            return Err(format!("{key}={value}, expected {key}={expected}"));
        }
        Ok(value)
    }

    /// A comma list of `count` non-negative latencies, sorted.
    fn latencies(&self, key: &str, count: usize) -> Result<Vec<f64>, String> {
        let mut values = self
            .text(key)
            .split(',')
            .map(|v| parse_float(v).filter(|x| *x >= 0.0))
            .collect::<Option<Vec<f64>>>()
            .ok_or_else(|| format!("`{key}` must be a comma list of non-negative numbers"))?;
        if values.len() != count {
            return Err(format!(
                "`{key}` has {} values for {count} workers",
                values.len()
            ));
        }
        values.sort_by(f64::total_cmp);
        Ok(values)
    }
}

fn parse_float(text: &str) -> Option<f64> {
    // Rust accepts "inf" and "NaN"; the format does not.
    if !text
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return None;
    }
    text.parse().ok().filter(|x: &f64| x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "pooltune-worker-cost 2
python 3.11.7
methods fork spawn
coroutines asyncio generator
process method=fork workers=1 latencies_us=900.0 rss_bytes=1000 pss_bytes=500 virtual_bytes=4000 stop_ms=2.0
process method=spawn workers=1 latencies_us=50000 rss_bytes=2000 pss_bytes=1500 virtual_bytes=8000 stop_ms=3.0
thread workers=2 latencies_us=10.0,30.5 rss_delta_bytes=16384 virtual_delta_bytes=16777216 stop_ms=0.5
task kind=asyncio workers=1000 start_p50_us=5.8 start_p99_us=31.2 rss_delta_bytes=1228800 virtual_delta_bytes=1048576 stop_ms=6.0
task kind=generator workers=1000 start_p50_us=0.15 start_p99_us=2.8 rss_delta_bytes=0 virtual_delta_bytes=0 stop_ms=0.05
switch kind=python_thread round_trips=500 seconds=0.01
switch kind=asyncio round_trips=1000 seconds=0.015
switch kind=generator round_trips=1000 seconds=0.0001
end";

    fn counts() -> PythonCounts {
        PythonCounts {
            threads: vec![2],
            processes: vec![1],
            tasks: vec![1000],
            round_trips: 1000,
        }
    }

    fn parse_all(text: &str) -> Result<Vec<Record>, String> {
        let mut parser = Parser::new(&counts());
        text.lines().map(|line| parser.feed(line)).collect()
    }

    #[test]
    fn parses_the_documented_format() {
        let records = parse_all(GOOD).unwrap();
        assert_eq!(records.len(), 13);
        assert_eq!(
            records[3],
            Record::Coroutines(vec![
                WorkerKind::PythonAsyncioTask,
                WorkerKind::PythonGenerator
            ])
        );
        let Record::Cost(WorkerKind::PythonThread, thread) = &records[6] else {
            panic!("{:?}", records[6]);
        };
        assert_eq!(thread.workers, 2);
        assert_eq!(thread.rss_per_worker_bytes, 8192.0);
        assert_eq!(thread.virtual_per_worker_bytes, 8_388_608.0);
        assert_eq!(thread.start_latency_p99_us, 30.5);
        let Record::Cost(WorkerKind::PythonProcess, spawn) = &records[5] else {
            panic!("{:?}", records[5]);
        };
        assert_eq!(spawn.start_method.as_deref(), Some("spawn"));
        assert_eq!(spawn.pss_per_worker_bytes, Some(1500.0));
        let Record::Cost(WorkerKind::PythonAsyncioTask, task) = &records[7] else {
            panic!("{:?}", records[7]);
        };
        assert_eq!(task.workers, 1000);
        assert_eq!(task.rss_per_worker_bytes, 1228.8);
        assert_eq!(task.start_latency_p50_us, 5.8);
        assert_eq!(task.start_latency_p99_us, 31.2);
        assert_eq!(task.memory_unreliable, None);
        // No growth is said, not shown as 0 bytes a task.
        let Record::Cost(WorkerKind::PythonGenerator, generator) = &records[8] else {
            panic!("{:?}", records[8]);
        };
        assert!(generator.rss_per_worker_bytes.is_nan());
        assert!(
            generator
                .memory_unreliable
                .as_deref()
                .unwrap()
                .contains("did not grow over 1000 idle generator")
        );
        // Python threads made 500 round trips (the script's cap): 1000 switches in 10 ms.
        let Record::Switch(threads) = &records[9] else {
            panic!("{:?}", records[9]);
        };
        assert_eq!(threads.kind, WorkerKind::PythonThread);
        assert_eq!(threads.round_trips, 500);
        assert!((threads.switches_per_s - 100_000.0).abs() < 1e-6);
        assert!((threads.round_trip_ns - 20_000.0).abs() < 1e-6);
        let Record::Switch(generator) = &records[11] else {
            panic!("{:?}", records[11]);
        };
        assert_eq!(generator.kind, WorkerKind::PythonGenerator);
        assert!((generator.switches_per_s - 2e7).abs() < 1.0);
        assert_eq!(records[12], Record::End);
    }

    #[test]
    fn refuses_every_deviation_with_the_line_number() {
        let cases = [
            ("stop_ms=0.5", "stop_ms=0.5 extra=1", 7),
            ("stop_ms=0.5", "stop_ms=nan", 7),
            ("workers=2", "workers=3", 7),
            ("10.0,30.5", "10.0", 7),
            ("method=spawn", "method=forkserver", 6),
            ("python 3.11.7", "Python 3.11.7", 2),
            ("pss_bytes=500", "pss_bytes=-5", 5),
            ("rss_delta_bytes=16384", "rss_delta_bytes=16.5", 7),
            ("\nend", "\nend\nend", 14),
            ("methods fork spawn", "methods fork vfork", 3),
            (
                "coroutines asyncio generator",
                "coroutines asyncio fibre",
                4,
            ),
            ("task kind=asyncio", "task kind=generator", 8),
            (
                "workers=1000 start_p50_us=5.8",
                "workers=100 start_p50_us=5.8",
                8,
            ),
            ("start_p99_us=31.2", "start_p99_us=1.0", 8),
            ("start_p50_us=0.15", "start_p50_us=-0.15", 9),
            (
                "kind=python_thread round_trips=500",
                "kind=asyncio round_trips=500",
                10,
            ),
            (
                "round_trips=1000 seconds=0.015",
                "round_trips=1001 seconds=0.015",
                11,
            ),
            ("seconds=0.0001", "seconds=inf", 12),
        ];
        for (from, to, line) in cases {
            let text = GOOD.replacen(from, to, 1);
            let err = parse_all(&text).unwrap_err();
            assert!(
                err.starts_with(&format!("line {line} ")),
                "{from} -> {to}: {err}"
            );
        }
    }

    #[test]
    fn refuses_an_early_end_or_a_record_out_of_place() {
        let drop_line = |n: usize| {
            let line = GOOD.lines().nth(n).unwrap();
            GOOD.replace(&format!("{line}\n"), "")
        };
        let err = parse_all(&drop_line(6)).unwrap_err();
        assert!(err.contains("before every thread record"), "{err}");
        let err = parse_all(&drop_line(5)).unwrap_err();
        assert!(
            err.contains("line 6") && err.contains("before every process record"),
            "{err}"
        );
        let err = parse_all(&drop_line(11)).unwrap_err();
        assert!(err.contains("before every worker count"), "{err}");
        let err = parse_all(&drop_line(8)).unwrap_err();
        assert!(err.contains("before every thread and task record"), "{err}");
        // Without round trips asked, no switch record is expected.
        let mut parser = Parser::new(&PythonCounts {
            round_trips: 0,
            ..counts()
        });
        let err = GOOD
            .lines()
            .map(|line| parser.feed(line))
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        assert!(err.starts_with("line 10 "), "{err}");
    }

    /// The shipped script on a real interpreter, at small N: every figure present and sane.
    #[test]
    fn the_script_measures_coroutines_and_switches_on_a_real_python() {
        let Some(python) = crate::child::driver::tests::python_or_skip() else {
            return;
        };
        let counts = PythonCounts {
            threads: vec![2],
            processes: vec![1],
            tasks: vec![2000],
            round_trips: 2000,
        };
        let mut costs = Vec::new();
        let mut switches = Vec::new();
        let info = run(
            &python,
            &counts,
            &CancelToken::new(),
            &mut |measured| match measured {
                Measured::Cost(kind, cost) => costs.push((kind, cost)),
                Measured::Switch(switch) => switches.push(switch),
            },
        )
        .unwrap()
        .unwrap();
        assert!(!info.version.is_empty());
        for kind in [WorkerKind::PythonAsyncioTask, WorkerKind::PythonGenerator] {
            let (_, cost) = costs.iter().find(|(k, _)| *k == kind).unwrap();
            assert_eq!(cost.workers, 2000, "{kind:?}");
            assert!(cost.start_latency_p50_us > 0.0, "{kind:?}: {cost:?}");
            assert!(cost.error.is_none(), "{kind:?}: {cost:?}");
        }
        let memory = |kind| {
            costs
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, c)| c.rss_per_worker_bytes)
                .unwrap()
        };
        // An asyncio task holds a Task, a coroutine and its frame; a generator only the last
        // two: measured, the task costs more (about 1.2 KiB against 0.25 KiB on 3.11).
        let (task, generator) = (
            memory(WorkerKind::PythonAsyncioTask),
            memory(WorkerKind::PythonGenerator),
        );
        assert!(task > 200.0, "an asyncio task: {task} bytes");
        assert!(
            generator.is_nan() || generator < task,
            "generator {generator} bytes, task {task}"
        );
        let kinds: Vec<WorkerKind> = switches.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds[..3],
            [
                WorkerKind::PythonThread,
                WorkerKind::PythonAsyncioTask,
                WorkerKind::PythonGenerator
            ]
        );
        for switch in &switches {
            assert_eq!(switch.round_trips, 2000, "{switch:?}");
            assert!(switch.switches_per_s > 0.0, "{switch:?}");
        }
        // A generator's `send` is a function call; a thread hand-off goes through the kernel.
        assert!(switches[2].switches_per_s > switches[0].switches_per_s);
    }
}
