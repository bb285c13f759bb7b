//! A run on another machine (`--via PREFIX`), and the far side's end of it. PREFIX is any
//! command that runs a program elsewhere (`ssh host`, `docker exec -i ctr`, `kubectl exec -i
//! pod --`, or `taskset -c 0` for a smaller slice of this machine). The near side runs
//! `sh -c 'exec PREFIX "$@"' sh pooltune sweep --preset - --events` (so PREFIX is split, quoted
//! and expanded exactly as the shell would), sends the preset's TOML on its standard input
//! followed by one NUL byte, keeps that input open while the run lasts, and turns the event
//! lines ([`crate::events`]) back into the engine's [`Event`]s: [`run_sweep`] and
//! [`run_comparison`] have the shape of [`crate::sweep::run`] and
//! [`crate::sweep::run_comparison`], so the terminal and the app show a run via a prefix as a
//! local one. The result is the far side's: its machine, calibration and CPU counts.
//!
//! Before the run, `PREFIX pooltune --version` must print this pooltune's own version line
//! (the same version: the event lines and the result's fields are then the same).
//!
//! A Stop (Ctrl-C, the app's Stop) closes the far side's standard input: the far pooltune sees
//! its end, stops as a local run stops and sends its `finished` line with the points so far.
//! Signals are not relied on (ssh does not forward them), but if the far side has not ended
//! [`STOP_GRACE`] later its process group is sent SIGTERM, and SIGKILL [`TERM_GRACE`] after
//! that. The child runs in a process group of its own, registered with [`crate::child`], so a
//! second Ctrl-C kills it too; it is always reaped before a run returns.
//!
//! This module never draws and never prints a table: it runs, reads and reports events.

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::cancel::CancelToken;
use crate::engine::{self, Event, RunOutcome, RunResult, SeriesResult, Started};
use crate::error::EngineError;
use crate::events::{EventLine, LineEvent};
use crate::result::SweepResult;
use crate::result::comparison::ComparisonResult;
use crate::source::CompareOptions;
use crate::spec::{ComparisonPreset, Experiment as _, Preset};

/// The byte that ends the preset on the far side's standard input: TOML cannot contain it,
/// and what follows it (nothing, until the input closes) is only watched for its end.
pub const PRESET_END: u8 = 0;

/// How long `PREFIX pooltune --version` may take (an ssh connection being set up): longer
/// means the prefix is waiting for something it will never get, such as a password.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(60);

/// After a Stop has closed its input, how long the far side has to send its result and
/// exit by itself before it is sent SIGTERM: a running trial stops within milliseconds, but
/// the far side still has to end its pools, write its last line and close the connection.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// After SIGTERM, how long before SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(2);

/// How often the near side looks at the cancel token and the child while it waits.
const POLL: Duration = Duration::from_millis(25);

/// How much of a line a message quotes.
const QUOTE_CHARS: usize = 200;

/// Why a run via a prefix could not start or gave no result.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// `--via ""`.
    #[error(
        "--via is empty: give the command that runs a program on the other machine, such as \
         --via \"ssh build-server\" or --via \"taskset -c 0\""
    )]
    EmptyPrefix,
    /// `sh` itself could not be started.
    #[error("--via {prefix:?}: could not start sh to run it: {source}")]
    Start {
        /// The prefix.
        prefix: String,
        /// Why.
        source: std::io::Error,
    },
    /// `PREFIX pooltune --version` did not answer with this pooltune's version.
    #[error("--via: `{command}` {found}, not `{}`: {}", ours(), install_advice())]
    NotPooltune {
        /// The command run.
        command: String,
        /// What it did instead: `printed "hello" (exit status 0)`, `printed nothing (exit
        /// status 127)`, `gave no answer within 60 s`.
        found: String,
    },
    /// The far side refused what it was given (its exit status 2: a preset it cannot run
    /// there, a flag it does not know); its own `error:` line.
    #[error("on the far side of --via: {0}")]
    Refused(String),
    /// The far side ended without a result.
    #[error("the run via --via {prefix:?} ended without a result ({how}){said}")]
    Failed {
        /// The prefix.
        prefix: String,
        /// `exit status 1`, `killed by signal 9`.
        how: String,
        /// `: ` and its last words, or nothing.
        said: String,
    },
    /// The far side wrote something that is not an event line of this pooltune.
    #[error("via --via {prefix:?}, line {line} of the output is not an event: {why}: {quoted}")]
    Protocol {
        /// The prefix.
        prefix: String,
        /// Its line number, from 1.
        line: usize,
        /// Why it was refused.
        why: String,
        /// The start of the line.
        quoted: String,
    },
    /// The preset could not be written as TOML to send.
    #[error("could not write the preset to send it via --via: {0}")]
    Preset(String),
    /// Stopped before the far side had started measuring.
    #[error("stopped before the run via --via {0:?} had started")]
    StoppedBeforeStart(String),
    /// A thread reading the child's output could not be started.
    #[error("could not start a thread for the run via --via: {0}")]
    Thread(std::io::Error),
}

impl RemoteError {
    /// True for what the user gave wrong (exit 2 in the CLI): an empty prefix, or what the far
    /// side refused as such.
    pub fn is_usage(&self) -> bool {
        matches!(self, RemoteError::EmptyPrefix | RemoteError::Refused(_))
    }
}

/// `pooltune 0.1.0`: the line `pooltune --version` prints, and what the far side must print.
pub fn ours() -> String {
    format!("pooltune {}", env!("CARGO_PKG_VERSION"))
}

/// How to put this pooltune on the other machine.
fn install_advice() -> String {
    let exe = std::env::current_exe()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|_| "the pooltune binary".to_owned());
    format!(
        "install the same pooltune on that machine, on its PATH: `cargo install --path .` in \
         pooltune's source there, or copy this binary ({exe}) into a folder on its PATH"
    )
}

/// A prefix that runs pooltune elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    prefix: String,
}

impl Via {
    /// `prefix` as the user typed it (`ssh build-server`); an empty one is refused.
    pub fn new(prefix: &str) -> Result<Via, RemoteError> {
        let prefix = prefix.trim();
        if prefix.is_empty() {
            return Err(RemoteError::EmptyPrefix);
        }
        Ok(Via {
            prefix: prefix.to_owned(),
        })
    }

    /// The prefix as typed.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `PREFIX pooltune ARGS…` run by `sh`, which splits PREFIX as a shell does and hands our
    /// arguments over untouched; the child is in a process group of its own.
    fn command(&self, args: &[OsString]) -> Command {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("exec {} \"$@\"", self.prefix))
            .arg("sh")
            .arg("pooltune")
            .args(args);
        crate::platform::own_process_group(&mut command);
        command
    }

    /// How the command is shown: `PREFIX pooltune ARGS…`.
    fn shown(&self, args: &[OsString]) -> String {
        let mut text = format!("{} pooltune", self.prefix);
        for arg in args {
            text.push(' ');
            text.push_str(&arg.to_string_lossy());
        }
        crate::error::one_line(&text)
    }

    /// Checks that `PREFIX pooltune --version` prints this pooltune's version line.
    pub fn check_version(&self, cancel: &CancelToken) -> Result<(), RemoteError> {
        let args = [OsString::from("--version")];
        let command = self.shown(&args);
        let mut child = self
            .command(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| RemoteError::Start {
                prefix: self.prefix.clone(),
                source,
            })?;
        let _registration = crate::child::register_tree(&child);
        let stdout = read_all(child.stdout.take(), "pooltune-via-version-out")?;
        let stderr = read_all(child.stderr.take(), "pooltune-via-version-err")?;
        let asked = Instant::now();
        let pid = child.id();
        let exit = crate::platform::ExitWatch::new(pid);
        // Waited for without reaping, so that its group can still be killed by its id.
        while !crate::child::has_exited(pid) {
            if cancel.is_cancelled() || asked.elapsed() >= VERSION_TIMEOUT {
                crate::platform::kill_tree(child.id());
                let _ = child.wait();
                if cancel.is_cancelled() {
                    return Err(RemoteError::StoppedBeforeStart(self.prefix.clone()));
                }
                return Err(RemoteError::NotPooltune {
                    command,
                    found: format!(
                        "gave no answer within {} s (a prefix that asks for a password cannot \
                         be answered here: use a key)",
                        VERSION_TIMEOUT.as_secs()
                    ),
                });
            }
            exit.wait(POLL);
        }
        // What it started in its group goes with it.
        crate::platform::kill_tree(child.id());
        let status = child.wait().map_err(|source| RemoteError::Start {
            prefix: self.prefix.clone(),
            source,
        })?;
        // A process outside its group may still hold a pipe: its output is what came by then.
        let collected = |pipe: Receiver<Vec<u8>>| pipe.recv_timeout(TERM_GRACE).unwrap_or_default();
        let output = std::process::Output {
            status,
            stdout: collected(stdout),
            stderr: collected(stderr),
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        let first = |text: &str| {
            text.lines()
                .map(str::trim)
                .find(|line| !line.is_empty())
                .map(quote)
        };
        if output.status.success() && first(&stdout).as_deref() == Some(ours().as_str()) {
            return Ok(());
        }
        let said = first(&stdout).or_else(|| first(&String::from_utf8_lossy(&output.stderr)));
        let found = match said {
            Some(line) => format!("printed \"{line}\" ({})", status_words(output.status)),
            None => format!("printed nothing ({})", status_words(output.status)),
        };
        Err(RemoteError::NotPooltune { command, found })
    }

    /// Runs `pooltune SUBCOMMAND --preset - --events EXTRA…` via the prefix with `preset` on
    /// its input, reporting each event through `emit` (all but `Finished`, which is the
    /// caller's to send with the result it makes).
    fn run(
        &self,
        subcommand: &str,
        extra: &[OsString],
        preset: &str,
        cancel: &CancelToken,
        emit: &mut dyn FnMut(Event),
    ) -> Result<Ended, RemoteError> {
        self.check_version(cancel)?;
        if cancel.is_cancelled() {
            return Err(RemoteError::StoppedBeforeStart(self.prefix.clone()));
        }
        let mut args: Vec<OsString> = [subcommand, "--preset", "-", "--events"]
            .into_iter()
            .map(OsString::from)
            .collect();
        args.extend(extra.iter().cloned());
        let mut running = Running::spawn(self, &args)?;
        running.send_preset(preset);
        let started_at = Instant::now();
        let mut ended = Ended::default();
        let mut line_number = 0;
        loop {
            running.escalate(cancel);
            match running.lines.recv_timeout(POLL) {
                Ok(line) => {
                    line_number += 1;
                    let event = EventLine::parse(&line)
                        .map(|line| line.event)
                        .map_err(|why| RemoteError::Protocol {
                            prefix: self.prefix.clone(),
                            line: line_number,
                            why: why.to_string(),
                            quoted: quote(&line),
                        })?;
                    if let Some(event) = ended.take(event) {
                        emit(event);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let status = running.wait(cancel);
        ended.stopped = running.stopped_at.is_some();
        ended.duration_s = started_at.elapsed().as_secs_f64();
        if ended.finished.is_some() || (ended.stopped && ended.started.is_some()) {
            return Ok(ended);
        }
        if ended.stopped {
            return Err(RemoteError::StoppedBeforeStart(self.prefix.clone()));
        }
        let error_line = running.error_line();
        match (status.and_then(|s| s.code()), error_line) {
            (Some(2), Some(line)) => Err(RemoteError::Refused(line)),
            (_, line) => Err(RemoteError::Failed {
                prefix: self.prefix.clone(),
                how: status.map_or_else(|| "no exit status".to_owned(), status_words),
                said: line
                    .or_else(|| running.last_words())
                    .map(|words| format!(": {words}"))
                    .unwrap_or_default(),
            }),
        }
    }
}

/// What the far side reported, once it has ended.
#[derive(Debug, Default)]
struct Ended {
    /// Its `started` line.
    started: Option<Box<Started>>,
    /// One result per series, filled from the events (for a run stopped before its
    /// `finished` line).
    series: Vec<SeriesResult>,
    /// Its `finished` line's result.
    finished: Option<serde_json::Value>,
    /// True when the near side stopped it.
    stopped: bool,
    /// Seconds from its start to its end, as seen here.
    duration_s: f64,
}

impl Ended {
    /// Keeps what `event` says; the engine event to report, if any.
    fn take(&mut self, event: LineEvent) -> Option<Event> {
        match event {
            LineEvent::Started(started) => {
                self.series = started
                    .series
                    .iter()
                    .map(|info| SeriesResult {
                        label: info.label.clone(),
                        kind: info.kind,
                        interpreter: info.interpreter.clone(),
                        points: Vec::new(),
                        error: None,
                    })
                    .collect();
                self.started = Some(started.clone());
                Some(Event::Started(started))
            }
            LineEvent::Progress { series, progress } => Some(Event::Progress { series, progress }),
            LineEvent::Point { series, point } => {
                if let Some(result) = self.series.get_mut(series) {
                    result.points.push(point.clone());
                }
                Some(Event::Point { series, point })
            }
            LineEvent::SeriesFailed { series, message } => {
                if let Some(result) = self.series.get_mut(series) {
                    result.error = Some(message.clone());
                }
                Some(Event::SeriesFailed { series, message })
            }
            LineEvent::Finished { result } => {
                self.finished = Some(result);
                None
            }
        }
    }

    /// The result of a run stopped before its `finished` line, from its events: what a local
    /// run stopped at the same point keeps.
    fn partial(&self, prefix: &str) -> Result<RunResult, RemoteError> {
        let started = self
            .started
            .as_ref()
            .ok_or_else(|| RemoteError::StoppedBeforeStart(prefix.to_owned()))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(RunResult {
            machine: started.machine.clone(),
            preset: (),
            calibration: started.calibration.clone(),
            thread_counts: started.thread_counts.clone(),
            series: self.series.clone(),
            outcome: RunOutcome {
                cancelled: true,
                duration_s: self.duration_s,
                ..RunOutcome::started_at(now.saturating_sub(self.duration_s as u64))
            },
        })
    }

    /// The `finished` line's result as `R`, or None when the run was stopped before it.
    fn finished<R: serde::de::DeserializeOwned>(
        &self,
        prefix: &str,
    ) -> Result<Option<R>, RemoteError> {
        let Some(value) = &self.finished else {
            return Ok(None);
        };
        serde_json::from_value(value.clone())
            .map(Some)
            .map_err(|err| RemoteError::Protocol {
                prefix: prefix.to_owned(),
                line: 0,
                why: format!("its result is not this pooltune's ({err})"),
                quoted: quote(&value.to_string()),
            })
    }
}

/// Runs a sweep via `via` (see the module's documentation), with the shape of
/// [`crate::sweep::run`]: the far side's events through `emit`, then `Finished`; returns its
/// result (a stopped run keeps its points).
pub fn run_sweep(
    preset: &Preset,
    via: &Via,
    cancel: &CancelToken,
    emit: &mut dyn FnMut(Event),
) -> Result<SweepResult, EngineError> {
    let (result, run) = sweep_and_run(preset, via, cancel, emit)?;
    emit(Event::Finished(Box::new(run)));
    Ok(result)
}

/// [`run_sweep`] on a thread named `thread_name`, with the shape of
/// [`crate::engine::spawn_series`] (its thread returns the engine's result, also sent as
/// `Finished`), for the app.
pub fn spawn_sweep(
    thread_name: &str,
    preset: Preset,
    via: Via,
    cancel: CancelToken,
    mut emit: impl FnMut(Event) + Send + 'static,
) -> Result<engine::RunHandle<RunResult, EngineError>, EngineError> {
    engine::named_thread(thread_name, move || {
        let (_, run) = sweep_and_run(&preset, &via, &cancel, &mut emit)?;
        emit(Event::Finished(Box::new(run.clone())));
        Ok(run)
    })
    .map_err(EngineError::Spawn)
}

/// A sweep via `via`: its result, and the engine's result of the same run (for `Finished`).
fn sweep_and_run(
    preset: &Preset,
    via: &Via,
    cancel: &CancelToken,
    emit: &mut dyn FnMut(Event),
) -> Result<(SweepResult, RunResult), EngineError> {
    let text = preset
        .to_toml()
        .map_err(|err| RemoteError::Preset(err.to_string()))?;
    let ended = via.run("sweep", &[], &text, cancel, emit)?;
    let result = match ended.finished::<SweepResult>(via.prefix())? {
        Some(result) => result,
        None => SweepResult::from_run(preset.clone(), ended.partial(via.prefix())?),
    };
    let info = ended.series.first();
    let run = RunResult {
        machine: result.machine.clone(),
        preset: (),
        calibration: result.calibration.clone(),
        thread_counts: ended
            .started
            .as_ref()
            .map_or_else(Vec::new, |s| s.thread_counts.clone()),
        series: vec![SeriesResult {
            label: info.map_or_else(|| result.preset.name.clone(), |s| s.label.clone()),
            kind: info.map_or(crate::spec::SeriesKind::Rust, |s| s.kind),
            interpreter: info.and_then(|s| s.interpreter.clone()),
            points: result.points.clone(),
            error: result.error.clone(),
        }],
        outcome: result.outcome.clone(),
    };
    Ok((result, run))
}

/// Runs a comparison via `via`, with the shape of [`crate::sweep::run_comparison`]. The
/// interpreters `options` names are passed on as `--python` and `--free-threaded-python`:
/// they are paths on the far side.
pub fn run_comparison(
    preset: &ComparisonPreset,
    options: &CompareOptions,
    via: &Via,
    cancel: &CancelToken,
    emit: &mut dyn FnMut(Event),
) -> Result<ComparisonResult, EngineError> {
    let text = preset
        .to_toml()
        .map_err(|err| RemoteError::Preset(err.to_string()))?;
    let mut extra = Vec::new();
    for (flag, path) in [
        ("--python", &options.python),
        ("--free-threaded-python", &options.free_threaded_python),
    ] {
        if let Some(path) = path {
            extra.push(OsString::from(flag));
            extra.push(path.clone().into_os_string());
        }
    }
    let ended = via.run("compare", &extra, &text, cancel, emit)?;
    let result = match ended.finished::<ComparisonResult>(via.prefix())? {
        Some(result) => result,
        None => ComparisonResult::from_run(preset.clone(), ended.partial(via.prefix())?),
    };
    emit(Event::Finished(Box::new(result.clone().with_preset(()))));
    Ok(result)
}

/// [`run_comparison`] on a thread named `thread_name`, with the shape of
/// [`crate::engine::spawn_series`], for the app.
pub fn spawn_comparison(
    thread_name: &str,
    preset: ComparisonPreset,
    options: CompareOptions,
    via: Via,
    cancel: CancelToken,
    mut emit: impl FnMut(Event) + Send + 'static,
) -> Result<engine::RunHandle<RunResult, EngineError>, EngineError> {
    engine::named_thread(thread_name, move || {
        run_comparison(&preset, &options, &via, &cancel, &mut emit).map(|r| r.with_preset(()))
    })
    .map_err(EngineError::Spawn)
}

/// The far side's child while it runs.
struct Running {
    child: Child,
    /// Its input: the preset, then kept open until the run ends or is stopped.
    stdin: Option<ChildStdin>,
    /// Its output lines; disconnected at the end of the output.
    lines: Receiver<String>,
    /// Its last `error:` line (without the `error: `).
    error_line: Arc<Mutex<Option<String>>>,
    /// The end of everything else it wrote on standard error.
    tail: Arc<Mutex<crate::child::Tail>>,
    /// When a Stop closed its input.
    stopped_at: Option<Instant>,
    /// When it was sent SIGTERM.
    terminated_at: Option<Instant>,
    /// Whether it was sent SIGKILL.
    killed: bool,
    /// Its exit status, once reaped.
    status: Option<ExitStatus>,
    /// Its process group in the register of what must not outlive pooltune.
    registration: Option<crate::child::Registration>,
}

impl Running {
    /// Starts the child and the threads that read its two pipes. Its standard error is
    /// passed on to ours line by line as it comes (the far side's notes, such as the
    /// commands its preset runs), except its `error:` line, which is kept for the message.
    fn spawn(via: &Via, args: &[OsString]) -> Result<Running, RemoteError> {
        let mut child = via
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| RemoteError::Start {
                prefix: via.prefix.clone(),
                source,
            })?;
        let registration = Some(crate::child::register_tree(&child));
        let stdin = child.stdin.take();
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let (sender, lines) = crossbeam_channel::unbounded();
        let error_line = Arc::new(Mutex::new(None));
        let tail = Arc::new(Mutex::new(crate::child::Tail::new(
            crate::child::driver::STDERR_TAIL_BYTES,
        )));
        let running = Running {
            child,
            stdin,
            lines,
            error_line: Arc::clone(&error_line),
            tail: Arc::clone(&tail),
            stopped_at: None,
            terminated_at: None,
            killed: false,
            status: None,
            registration,
        };
        if let Some(stdout) = stdout {
            engine::named_thread("pooltune-via-out", move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            })
            .map_err(RemoteError::Thread)?;
        }
        if let Some(stderr) = stderr {
            engine::named_thread("pooltune-via-err", move || {
                let mut reader = BufReader::new(stderr);
                let mut line = Vec::new();
                while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                    let text = String::from_utf8_lossy(&line).trim_end().to_owned();
                    line.clear();
                    if let Some(error) = text.strip_prefix("error: ") {
                        if let Ok(mut kept) = error_line.lock() {
                            *kept = Some(error.to_owned());
                        }
                        continue;
                    }
                    if let Ok(mut tail) = tail.lock() {
                        tail.push(text.as_bytes());
                        tail.push(b"\n");
                    }
                    // A closed stderr of ours has no reader to tell.
                    let _ = writeln!(std::io::stderr(), "{text}");
                }
            })
            .map_err(RemoteError::Thread)?;
        }
        Ok(running)
    }

    /// Sends the preset and its end mark. A far side that has already exited (a prefix that
    /// failed) closes the pipe: its exit status says why, so a failed write is not an error.
    fn send_preset(&mut self, preset: &str) {
        if let Some(stdin) = &mut self.stdin {
            let sent = stdin
                .write_all(preset.as_bytes())
                .and_then(|()| stdin.write_all(&[PRESET_END]))
                .and_then(|()| stdin.flush());
            if sent.is_err() {
                self.stdin = None;
            }
        }
    }

    /// On a Stop: closes the input at once, SIGTERM after [`STOP_GRACE`], SIGKILL after
    /// [`TERM_GRACE`] more.
    fn escalate(&mut self, cancel: &CancelToken) {
        if !cancel.is_cancelled() || self.status.is_some() {
            return;
        }
        let stopped_at = *self.stopped_at.get_or_insert_with(Instant::now);
        self.stdin = None;
        match self.terminated_at {
            None if stopped_at.elapsed() >= STOP_GRACE => {
                if self.status.is_none() {
                    crate::platform::terminate_tree(self.child.id());
                }
                self.terminated_at = Some(Instant::now());
            }
            Some(terminated) if !self.killed && terminated.elapsed() >= TERM_GRACE => {
                self.kill_group();
                self.killed = true;
            }
            _ => {}
        }
    }

    /// Kills the child's whole group while the child is unreaped (so the group id cannot
    /// have been reused).
    fn kill_group(&self) {
        if self.status.is_none() {
            crate::platform::kill_tree(self.child.id());
        }
    }

    /// Waits for the child to exit (honouring a Stop as [`Running::escalate`] does), kills
    /// what is left of its group and reaps it.
    fn wait(&mut self, cancel: &CancelToken) -> Option<ExitStatus> {
        let pid = self.child.id();
        let exit = crate::platform::ExitWatch::new(pid);
        while self.status.is_none() && !crate::child::has_exited(pid) {
            // Its output is closed: once it exits, nothing more will be read, so its input
            // can close too (a far side waiting for it to end).
            self.escalate(cancel);
            exit.wait(POLL);
        }
        self.finish()
    }

    /// Kills whatever is left of the group and reaps the child (once).
    fn finish(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.stdin = None;
            self.kill_group();
            self.status = self.child.wait().ok();
            crate::platform::release_tree(self.child.id());
            self.registration = None;
        }
        self.status
    }

    /// The far side's `error:` line, once its standard error has been read (waited for
    /// briefly: the reading thread may still be at it).
    fn error_line(&self) -> Option<String> {
        let waited = Instant::now();
        loop {
            if let Some(line) = self.error_line.lock().ok().and_then(|l| l.clone()) {
                return Some(quote(&line));
            }
            if waited.elapsed() > Duration::from_millis(200) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The last line it wrote on standard error (not an `error:` line), if any.
    fn last_words(&self) -> Option<String> {
        self.tail
            .lock()
            .ok()
            .and_then(|tail| tail.last_line())
            .map(|line| quote(&line))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.finish();
    }
}

/// How much of a pipe [`read_all`] keeps: a version line is short, and a prefix that prints
/// more is not pooltune.
const READ_ALL_LIMIT: u64 = 64 * 1024;

/// Reads `pipe` to its end (at most [`READ_ALL_LIMIT`] bytes) on a named thread; the bytes
/// arrive on the returned channel.
fn read_all(
    pipe: Option<impl std::io::Read + Send + 'static>,
    thread_name: &str,
) -> Result<Receiver<Vec<u8>>, RemoteError> {
    let (sender, received) = crossbeam_channel::bounded(1);
    engine::named_thread(thread_name, move || {
        let mut bytes = Vec::new();
        if let Some(pipe) = pipe {
            let _ = pipe.take(READ_ALL_LIMIT).read_to_end(&mut bytes);
        }
        let _ = sender.send(bytes);
    })
    .map_err(RemoteError::Thread)?;
    Ok(received)
}

/// `exit status 3`, `killed by signal 9`.
fn status_words(status: ExitStatus) -> String {
    match (status.code(), crate::platform::exit_signal(&status)) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "no exit status".to_owned(),
    }
}

/// `text` on one line, at most [`QUOTE_CHARS`] characters.
fn quote(text: &str) -> String {
    let line = crate::error::one_line(text.trim());
    if line.chars().count() <= QUOTE_CHARS {
        return line;
    }
    let cut: String = line.chars().take(QUOTE_CHARS).collect();
    format!("{cut}…")
}

/// The far side's end: reads a preset from standard input (`--preset -`), up to
/// [`PRESET_END`] or the input's end. Returns its text and whether it ended with
/// [`PRESET_END`] (a near pooltune sent it and keeps the input open while the run lasts).
pub fn read_preset(input: &mut dyn std::io::BufRead) -> std::io::Result<(String, bool)> {
    let mut bytes = Vec::new();
    input.read_until(PRESET_END, &mut bytes)?;
    let marked = bytes.last() == Some(&PRESET_END);
    if marked {
        bytes.pop();
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the preset on standard input is not UTF-8 text",
        )
    })?;
    Ok((text, marked))
}

/// The far side's end: stops the run (`cancel`) when standard input reaches its end or
/// cannot be read (the near side stopped the run, or went away; ssh forwards no signal but
/// does close the input). On a named thread (`pooltune-stdin`) that lives as long as the
/// process: it is never joined.
pub fn stop_at_end_of_input(cancel: CancelToken) -> std::io::Result<()> {
    engine::named_thread("pooltune-stdin", move || {
        let mut input = std::io::stdin();
        let mut buffer = [0u8; 256];
        while input.read(&mut buffer).is_ok_and(|n| n > 0) {}
        cancel.cancel();
    })
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preset_ends_at_the_mark_or_at_the_end_of_input() {
        let mut marked: &[u8] = b"name = \"x\"\n\0more";
        assert_eq!(
            read_preset(&mut marked).unwrap(),
            ("name = \"x\"\n".to_owned(), true)
        );
        assert_eq!(marked, b"more", "what follows the mark is left unread");
        let mut piped: &[u8] = b"name = \"x\"\n";
        assert_eq!(
            read_preset(&mut piped).unwrap(),
            ("name = \"x\"\n".to_owned(), false)
        );
        let mut binary: &[u8] = b"\xff\xfe";
        assert!(read_preset(&mut binary).is_err());
    }

    #[test]
    fn an_empty_prefix_is_refused_and_a_prefix_is_split_by_the_shell() {
        assert!(matches!(Via::new("  "), Err(RemoteError::EmptyPrefix)));
        // The prefix's quotes and variables are the shell's; our arguments (`pooltune`, then
        // one with a space) reach the program whole.
        let via = Via::new(r#"env A="b c" sh -c 'printf "%s|%s|%s" "$A" "$1" "$2"' sh"#).unwrap();
        let output = via.command(&[OsString::from("x  y")]).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stdout), "b c|pooltune|x  y");
        assert_eq!(
            Via::new("taskset -c 0")
                .unwrap()
                .shown(&[OsString::from("--version")]),
            "taskset -c 0 pooltune --version"
        );
    }

    #[test]
    fn a_prefix_that_is_not_pooltune_says_what_it_found() {
        let cancel = CancelToken::new();
        let said = |prefix: &str| {
            Via::new(prefix)
                .unwrap()
                .check_version(&cancel)
                .unwrap_err()
                .to_string()
        };
        let hello = said("sh -c 'echo hello' sh");
        assert!(
            hello.contains("printed \"hello\" (exit status 0)"),
            "{hello}"
        );
        assert!(hello.contains("cargo install --path ."), "{hello}");
        let nothing = said("false");
        assert!(
            nothing.contains("printed nothing (exit status 1)"),
            "{nothing}"
        );
        let missing = said("/no/such/prefix");
        assert!(missing.contains("(exit status 127)"), "{missing}");
        assert!(!hello.contains('\n') && !missing.contains('\n'));
    }
}
