//! The CPython side of the worker-cost experiment: runs `assets/worker_cost.py` (compiled into
//! pooltune and written to a temporary folder) with the same worker counts, and parses its
//! output strictly: every line must be one of the documented records, in order, or the run is
//! refused with the line number and what was expected.
//!
//! The script runs under the child driver ([`crate::child::drive`]): in its own process
//! group, so that Stop (or a silent script) kills it together with every worker it started,
//! and always reaped. This file only says what to run and how to read its lines.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{WorkerCost, WorkerKind, percentile};
use crate::cancel::CancelToken;
use crate::child::driver::last_line;
use crate::child::{ChildSpec, DriveError};

/// The probe script, shipped in `assets/`.
pub const SCRIPT: &str = include_str!("../../assets/worker_cost.py");

/// The output format version this parser reads.
const FORMAT_VERSION: u32 = 1;

/// Expected time for the script to start one `multiprocessing` worker and see it ready (a
/// `spawn` worker imports Python afresh: a few hundred milliseconds on a loaded machine). A
/// line comes after every worker count; the no-progress limit
/// ([`crate::child::no_progress_limit`]) is a multiple of the longest expected gap.
const PROCESS_START: Duration = Duration::from_millis(300);

/// Expected time to start one idle Python thread, generously.
const THREAD_START: Duration = Duration::from_millis(5);

/// Expected time for the interpreter to start and print its first lines.
const INTERPRETER_START: Duration = Duration::from_secs(2);

/// The expected time between two lines of the script for these worker counts.
fn line_gap(threads: &[usize], processes: &[usize]) -> Duration {
    let most = |counts: &[usize]| u32::try_from(counts.iter().copied().max().unwrap_or(0));
    let threads = THREAD_START.saturating_mul(most(threads).unwrap_or(u32::MAX));
    let processes = PROCESS_START.saturating_mul(most(processes).unwrap_or(u32::MAX));
    INTERPRETER_START.max(threads).max(processes)
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
    /// `thread ...` or `process ...`, turned into a cost.
    Cost(WorkerKind, WorkerCost),
    /// `end`
    End,
}

/// Finds `python3` on the `PATH`.
pub fn find_python3() -> Option<PathBuf> {
    crate::source::python::script::find_on_path(crate::source::python::script::DEFAULT_PYTHON)
}

/// Runs the script with `python` and reports each cost as it is parsed through `on_cost`.
/// Returns what Python is; an error says what went wrong (in words for the user). Returns
/// `Ok(None)` when cancelled.
pub fn run(
    python: &Path,
    threads: &[usize],
    processes: &[usize],
    cancel: &CancelToken,
    on_cost: &mut dyn FnMut(WorkerKind, WorkerCost),
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
    let spec = ChildSpec::new(python, line_gap(threads, processes))
        .args([script.as_os_str(), "--threads".as_ref()])
        .args([list(threads), "--processes".to_owned(), list(processes)])
        .named("the script");
    let mut parser = Parser::new(threads, processes);
    let mut ended = false;
    let outcome = crate::child::drive(&spec, cancel, &mut |_| {}, &mut |line| {
        match parser.feed(line)? {
            Record::Cost(kind, cost) => on_cost(kind, cost),
            Record::End => ended = true,
            Record::Header(_) | Record::Python(_) | Record::Methods(_) => {}
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
    line_number: usize,
    version: Option<String>,
    methods: Option<Vec<String>>,
    /// Thread lines seen, then process lines seen.
    threads_seen: usize,
    processes_seen: usize,
    ended: bool,
}

impl Parser {
    /// A parser expecting these worker counts.
    pub fn new(threads: &[usize], processes: &[usize]) -> Parser {
        Parser {
            threads: threads.to_vec(),
            processes: processes.to_vec(),
            line_number: 0,
            version: None,
            methods: None,
            threads_seen: 0,
            processes_seen: 0,
            ended: false,
        }
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
            (_, "thread") => self.thread(rest),
            (_, "process") => self.process(rest),
            (_, "end") if rest.is_empty() => {
                let methods = self.methods.as_ref().map_or(0, Vec::len);
                if self.threads_seen != self.threads.len()
                    || self.processes_seen != methods * self.processes.len()
                {
                    return Err("`end` before every worker count was reported".into());
                }
                self.ended = true;
                Ok(Record::End)
            }
            _ => Err("expected a `thread`, `process` or `end` record".into()),
        }
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

    const GOOD: &str = "pooltune-worker-cost 1
python 3.11.7
methods fork spawn
process method=fork workers=1 latencies_us=900.0 rss_bytes=1000 pss_bytes=500 virtual_bytes=4000 stop_ms=2.0
process method=spawn workers=1 latencies_us=50000 rss_bytes=2000 pss_bytes=1500 virtual_bytes=8000 stop_ms=3.0
thread workers=2 latencies_us=10.0,30.5 rss_delta_bytes=16384 virtual_delta_bytes=16777216 stop_ms=0.5
end";

    fn parse_all(text: &str) -> Result<Vec<Record>, String> {
        let mut parser = Parser::new(&[2], &[1]);
        text.lines().map(|line| parser.feed(line)).collect()
    }

    #[test]
    fn parses_the_documented_format() {
        let records = parse_all(GOOD).unwrap();
        assert_eq!(records.len(), 7);
        let Record::Cost(WorkerKind::PythonThread, thread) = &records[5] else {
            panic!("{:?}", records[5]);
        };
        assert_eq!(thread.workers, 2);
        assert_eq!(thread.rss_per_worker_bytes, 8192.0);
        assert_eq!(thread.virtual_per_worker_bytes, 8_388_608.0);
        assert_eq!(thread.start_latency_p99_us, 30.5);
        let Record::Cost(WorkerKind::PythonProcess, spawn) = &records[4] else {
            panic!("{:?}", records[4]);
        };
        assert_eq!(spawn.start_method.as_deref(), Some("spawn"));
        assert_eq!(spawn.pss_per_worker_bytes, Some(1500.0));
        assert_eq!(records[6], Record::End);
    }

    #[test]
    fn refuses_every_deviation_with_the_line_number() {
        let cases = [
            ("stop_ms=0.5", "stop_ms=0.5 extra=1", 6),
            ("stop_ms=0.5", "stop_ms=nan", 6),
            ("workers=2", "workers=3", 6),
            ("10.0,30.5", "10.0", 6),
            ("method=spawn", "method=forkserver", 5),
            ("python 3.11.7", "Python 3.11.7", 2),
            ("pss_bytes=500", "pss_bytes=-5", 4),
            ("rss_delta_bytes=16384", "rss_delta_bytes=16.5", 6),
            ("\nend", "\nend\nend", 8),
            ("methods fork spawn", "methods fork vfork", 3),
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
    fn refuses_an_early_end() {
        let thread_line = GOOD.lines().nth(5).unwrap();
        let text = GOOD.replace(&format!("{thread_line}\n"), "");
        let err = parse_all(&text).unwrap_err();
        assert!(err.contains("before every worker count"), "{err}");
        let spawn_line = GOOD.lines().nth(4).unwrap();
        let text = GOOD.replace(&format!("{spawn_line}\n"), "");
        let err = parse_all(&text).unwrap_err();
        assert!(
            err.contains("line 5") && err.contains("before every process record"),
            "{err}"
        );
    }
}
