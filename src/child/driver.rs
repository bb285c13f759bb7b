//! The one driver for a child that speaks in lines: it starts the program in a process group
//! of its own (so one kill reaches everything the child started), keeps its standard input
//! open as a lifeline (the child sees end of file when pooltune dies, and a script that
//! watches it kills its own group), hands each line of standard output to the caller, keeps a
//! bounded tail of standard error for error messages, fails a child that makes no progress
//! (the [`Watchdog`]), kills the group on a Stop, and always kills the group and reaps the
//! child before it returns, also when the caller's line handler panics.
//!
//! The driver only runs a child: what to run, and what its lines mean, are its callers' (the
//! comparison's Python series, the worker-cost probe). It never formats a message a user
//! reads about the child's output, and never decides what a line means.

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::{Registration, Watchdog};
use crate::cancel::CancelToken;

/// How often a waiting driver looks at the cancel token: a Stop kills the child within this.
pub const POLL: Duration = Duration::from_millis(25);

/// Bytes of a child's standard error kept for error messages (its last lines).
pub const STDERR_TAIL_BYTES: usize = 2000;

/// How long the driver waits, once the child has exited, for its standard error to close (a
/// process outside its group may still hold the pipe).
const STDERR_CLOSE_WAIT: Duration = Duration::from_secs(1);

/// The last bytes a child wrote to a stream, bounded so that a chatty child cannot fill
/// pooltune's memory.
#[derive(Debug, Clone)]
pub struct Tail {
    bytes: Vec<u8>,
    limit: usize,
}

impl Tail {
    /// An empty tail keeping at most `limit` bytes.
    pub fn new(limit: usize) -> Tail {
        Tail {
            bytes: Vec::new(),
            limit,
        }
    }

    /// Appends `more`, dropping the oldest bytes beyond the limit.
    pub fn push(&mut self, more: &[u8]) {
        self.bytes.extend_from_slice(more);
        let excess = self.bytes.len().saturating_sub(self.limit);
        self.bytes.drain(..excess);
    }

    /// The tail as text, trimmed; a character cut in half at the start is left out.
    pub fn text(&self) -> String {
        let start = self
            .bytes
            .iter()
            .position(|&b| b & 0b1100_0000 != 0b1000_0000)
            .unwrap_or(self.bytes.len());
        String::from_utf8_lossy(&self.bytes[start..])
            .trim()
            .to_owned()
    }

    /// The last line that is not blank, trimmed.
    pub fn last_line(&self) -> Option<String> {
        last_line(&self.text()).map(str::to_owned)
    }
}

/// The last line of `text` that is not blank, trimmed: a child's last words.
pub fn last_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).rfind(|line| !line.is_empty())
}

/// What to run and how often it should show life.
#[derive(Debug, Clone)]
pub struct ChildSpec {
    /// The program (an interpreter, a command).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// The expected time between two lines, for the no-progress limit
    /// ([`super::no_progress_limit`]).
    pub line_gap: Duration,
    /// How messages name the child ("the script"); its program's path when None.
    pub name: Option<String>,
}

impl ChildSpec {
    /// `program` with no arguments yet, expected to print a line every `line_gap`.
    pub fn new(program: &Path, line_gap: Duration) -> ChildSpec {
        ChildSpec {
            program: program.to_path_buf(),
            args: Vec::new(),
            line_gap,
            name: None,
        }
    }

    /// Names the child in messages ("the script" where the program's path is said already).
    pub fn named(mut self, name: &str) -> ChildSpec {
        self.name = Some(name.to_owned());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> ChildSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }
}

/// How a child ended when it closed its output by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Exit {
    /// Its exit status.
    pub status: ExitStatus,
    /// The end of its standard error, trimmed.
    pub stderr: String,
}

/// Why a driven child gave no [`Exit`]. `E` is the line handler's own error.
#[derive(Debug, Clone, PartialEq)]
pub enum DriveError<E> {
    /// The user stopped the run, or pooltune is ending every child (a second Ctrl-C): the
    /// group was killed, and nothing the child did is its fault.
    Cancelled,
    /// The program could not be started.
    Start(String),
    /// The line handler refused a line; the group was killed.
    Refused {
        /// What the handler said.
        error: E,
        /// The end of the child's standard error so far.
        stderr: String,
    },
    /// The child printed nothing for the no-progress limit and was killed.
    NoProgress {
        /// "PROGRAM (pid N) made no progress for 10 s (stopped or stuck)".
        message: String,
        /// True when it had already closed its output (it hung on the way out).
        after_output: bool,
        /// The end of the child's standard error so far.
        stderr: String,
    },
    /// Its output could not be read (or the reading thread not started).
    Read(String),
    /// It was reaped, but no exit status came back.
    NoStatus,
}

/// Runs `spec` and feeds each line of its standard output to `on_line`, until the child
/// closes its output and exits. `on_spawn` receives its process id, which is also its process
/// group's id. Whatever happens (a Stop, a refused line, a silent child, a panic in
/// `on_line`), the group is killed and the child reaped before this returns.
pub fn drive<E>(
    spec: &ChildSpec,
    cancel: &CancelToken,
    on_spawn: &mut dyn FnMut(u32),
    on_line: &mut dyn FnMut(&str) -> Result<(), E>,
) -> Result<Exit, DriveError<E>> {
    let mut running = Running::spawn(spec).map_err(|err| DriveError::Start(err.to_string()))?;
    on_spawn(running.pid());
    let readers = running.readers().map_err(DriveError::Read)?;
    let who = spec
        .name
        .clone()
        .unwrap_or_else(|| spec.program.display().to_string());
    let stopped = |cancel: &CancelToken| cancel.is_cancelled() || super::ending();
    let mut watchdog = Watchdog::new(spec.line_gap);
    // Read until the child closes its output, a line is refused, or the user stops.
    loop {
        if cancel.is_cancelled() {
            return Err(DriveError::Cancelled);
        }
        match readers.lines.recv_timeout(POLL) {
            Ok(Ok(line)) => {
                watchdog.progress();
                if let Err(error) = on_line(&line) {
                    running.kill_group();
                    if stopped(cancel) {
                        return Err(DriveError::Cancelled);
                    }
                    return Err(DriveError::Refused {
                        error,
                        stderr: readers.stderr_tail(),
                    });
                }
            }
            Ok(Err(message)) => return Err(DriveError::Read(message)),
            Err(RecvTimeoutError::Timeout) => {
                if watchdog.expired() {
                    return Err(DriveError::NoProgress {
                        message: watchdog.message(&who, running.pid()),
                        after_output: false,
                        stderr: readers.stderr_tail(),
                    });
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    // Output closed: wait for the child to exit, still honouring a Stop.
    while !running.exited() {
        if cancel.is_cancelled() {
            return Err(DriveError::Cancelled);
        }
        if watchdog.expired() {
            return Err(DriveError::NoProgress {
                message: watchdog.message(&who, running.pid()),
                after_output: true,
                stderr: readers.stderr_tail(),
            });
        }
        std::thread::sleep(POLL);
    }
    let status = running.finish();
    // A child that died because pooltune stopped did not fail: its truncated output is not
    // its fault.
    if status.as_ref().is_none_or(|s| !s.success()) && stopped(cancel) {
        return Err(DriveError::Cancelled);
    }
    let stderr = readers.stderr_when_closed();
    match status {
        Some(status) => Ok(Exit { status, stderr }),
        None => Err(DriveError::NoStatus),
    }
}

/// A started child whose group is killed, and which is reaped, when this is dropped.
struct Running {
    child: Child,
    status: Option<ExitStatus>,
    /// So that a second Ctrl-C kills the group too; dropped after the child is reaped.
    registration: Option<Registration>,
}

impl Running {
    fn spawn(spec: &ChildSpec) -> std::io::Result<Running> {
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            // The lifeline: open for as long as the child runs, closed when pooltune dies.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // A group of its own, so that one kill reaches everything it started.
        crate::platform::own_process_group(&mut command);
        let child = command.spawn()?;
        let registration = Some(super::register_tree(&child));
        Ok(Running {
            child,
            status: None,
            registration,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts the threads reading the two pipes.
    fn readers(&mut self) -> Result<Readers, String> {
        let (Some(stdout), Some(stderr)) = (self.child.stdout.take(), self.child.stderr.take())
        else {
            return Err("the child's output pipes were not set up".to_owned());
        };
        Readers::start(stdout, stderr)
            .map_err(|err| format!("could not start the thread reading the child's output: {err}"))
    }

    /// Kills every process of the group, while the leader is unreaped (so the group id
    /// cannot have been reused).
    fn kill_group(&self) {
        if self.status.is_none() {
            crate::platform::kill_tree(self.child.id());
        }
    }

    /// True once the child has exited, without reaping it (so its group id stays ours).
    fn exited(&self) -> bool {
        self.status.is_some() || super::has_exited(self.child.id())
    }

    /// Kills whatever is left of the group and reaps the child.
    fn finish(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.kill_group();
            self.status = self.child.wait().ok();
            // The lifeline closes with the child.
            self.child.stdin = None;
            self.registration = None;
        }
        self.status
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The threads that read a child's two pipes.
struct Readers {
    /// Lines of standard output; disconnected at the end of the output.
    lines: Receiver<Result<String, String>>,
    /// The end of standard error.
    stderr: Arc<Mutex<Tail>>,
    /// Disconnected when the stderr reader has seen the end of its pipe.
    stderr_closed: Receiver<()>,
}

impl Readers {
    /// Starts one thread per pipe.
    fn start(
        stdout: std::process::ChildStdout,
        stderr: std::process::ChildStderr,
    ) -> std::io::Result<Readers> {
        let (sender, lines) = crossbeam_channel::unbounded();
        let tail = Arc::new(Mutex::new(Tail::new(STDERR_TAIL_BYTES)));
        let stderr_tail = Arc::clone(&tail);
        let (closed_sender, stderr_closed) = crossbeam_channel::bounded::<()>(0);
        std::thread::Builder::new()
            .name("pooltune-child-stdout".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let item = line.map_err(|err| err.to_string());
                    let stop = item.is_err();
                    if sender.send(item).is_err() || stop {
                        break;
                    }
                }
            })?;
        std::thread::Builder::new()
            .name("pooltune-child-stderr".into())
            .spawn(move || {
                // Dropped when this thread ends, which disconnects `stderr_closed`.
                let _closed = closed_sender;
                let mut reader = BufReader::new(stderr);
                let mut buffer = [0u8; 4096];
                while let Ok(n) = reader.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut tail) = stderr_tail.lock() {
                        tail.push(&buffer[..n]);
                    }
                }
            })?;
        Ok(Readers {
            lines,
            stderr: tail,
            stderr_closed,
        })
    }

    /// Standard error so far, trimmed.
    fn stderr_tail(&self) -> String {
        self.stderr.lock().map(|t| t.text()).unwrap_or_default()
    }

    /// Standard error once its pipe has closed (every process of the group is gone), or what
    /// was read by then if something outside the group still holds the pipe.
    fn stderr_when_closed(&self) -> String {
        let _ = self.stderr_closed.recv_timeout(STDERR_CLOSE_WAIT);
        self.stderr_tail()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Instant;

    use super::*;

    /// `python3` from PATH, or `None` (a skip) when there is none, unless
    /// `POOLTUNE_REQUIRE_PYTHON=1` (CI), where a missing Python fails the test instead of
    /// letting it pass without running: the unit tests' side of tests/common's
    /// `python_or_skip`.
    pub(crate) fn python_or_skip() -> Option<PathBuf> {
        let found = crate::source::python::script::find_on_path(
            crate::source::python::script::DEFAULT_PYTHON,
        );
        if found.is_none() {
            let required = std::env::var("POOLTUNE_REQUIRE_PYTHON").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "POOLTUNE_REQUIRE_PYTHON=1 but no python3 on PATH"
            );
            eprintln!("skipped: no python3 on PATH (the part of this test that runs Python)");
        }
        found
    }

    fn sh(script: &str, line_gap: Duration) -> ChildSpec {
        ChildSpec::new(Path::new("/bin/sh"), line_gap).args(["-c", script])
    }

    /// True while `pid` is a process at all, a zombie included (read from /proc): our own
    /// child stays a zombie until reaped.
    fn process_exists(pid: u32) -> bool {
        Path::new(&format!("/proc/{pid}")).exists()
    }

    /// Live (not zombie) processes whose process group is `group`, read from /proc.
    pub(crate) fn members_of_group(group: u32) -> Vec<u32> {
        let mut members = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // Fields after the command name (which may hold spaces): state, ppid, pgrp, ...
            let Some(after) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
                continue;
            };
            let fields: Vec<&str> = after.split_whitespace().collect();
            let zombie = fields.first() == Some(&"Z");
            let pgrp = fields.get(2).and_then(|f| f.parse::<u32>().ok());
            if pgrp == Some(group) && !zombie {
                members.push(pid);
            }
        }
        members
    }

    fn gone_within(group: u32, limit: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if members_of_group(group).is_empty() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        members_of_group(group).is_empty()
    }

    #[test]
    fn lines_are_read_in_order_and_the_child_is_reaped() {
        let mut lines = Vec::new();
        let mut pid = 0;
        let exit = drive::<String>(
            &sh("echo one; echo two; echo oops >&2", Duration::from_secs(5)),
            &CancelToken::new(),
            &mut |p| pid = p,
            &mut |line| {
                lines.push(line.to_owned());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(lines, ["one", "two"]);
        assert!(exit.status.success());
        assert_eq!(exit.stderr, "oops");
        assert!(!process_exists(pid), "no zombie left");
    }

    #[test]
    fn a_crashed_child_gives_its_status_and_stderr_tail() {
        let long = "x".repeat(3 * STDERR_TAIL_BYTES);
        let script = format!("echo {long} >&2; echo 'Traceback: boom' >&2; exit 3");
        let exit = drive::<String>(
            &sh(&script, Duration::from_secs(5)),
            &CancelToken::new(),
            &mut |_| {},
            &mut |_| Ok(()),
        )
        .unwrap();
        assert_eq!(exit.status.code(), Some(3));
        assert!(exit.stderr.ends_with("Traceback: boom"), "{}", exit.stderr);
        assert!(exit.stderr.len() <= STDERR_TAIL_BYTES);
        assert_eq!(exit.status.to_string(), "exit status: 3");
    }

    #[test]
    fn a_refused_line_kills_the_group_and_carries_the_stderr_tail() {
        let mut pid = 0;
        let err = drive(
            &sh(
                "echo 'bad news' >&2; sleep 0.2; echo bad; sleep 60",
                Duration::from_secs(60),
            ),
            &CancelToken::new(),
            &mut |p| pid = p,
            &mut |line| Err(format!("refused {line}")),
        )
        .unwrap_err();
        assert_eq!(
            err,
            DriveError::Refused {
                error: "refused bad".to_owned(),
                stderr: "bad news".to_owned()
            }
        );
        assert!(gone_within(pid, Duration::from_secs(2)));
        assert!(!process_exists(pid), "no zombie left");
    }

    #[test]
    fn a_silent_child_is_killed_by_the_watchdog() {
        if std::env::var_os(super::super::NO_PROGRESS_VAR).is_some() {
            return;
        }
        let mut pid = 0;
        // The floor of the limit is NO_PROGRESS_MIN; a stopped child shows no life at all.
        let started = Instant::now();
        let spec = sh("kill -STOP $$; echo never", Duration::ZERO).named("the script");
        let err = drive::<String>(
            &spec,
            &CancelToken::new(),
            &mut |p| pid = p,
            &mut |_| Ok(()),
        )
        .unwrap_err();
        let DriveError::NoProgress {
            message,
            after_output,
            ..
        } = err
        else {
            panic!("expected no progress, got {err:?}");
        };
        assert!(!after_output);
        assert!(
            message.ends_with(&format!(
                "the script (pid {pid}) made no progress for 10 s (stopped or stuck)"
            )),
            "{message}"
        );
        assert!(started.elapsed() >= super::super::NO_PROGRESS_MIN);
        assert!(gone_within(pid, Duration::from_secs(2)));
    }

    #[test]
    fn cancel_kills_the_group_within_a_tenth_of_a_second() {
        let cancel = CancelToken::new();
        let mut pid = 0;
        let mut cancelled_at = None;
        let spec = sh(
            "sleep 60 & echo started; sleep 60",
            Duration::from_secs(600),
        );
        let err = drive::<String>(&spec, &cancel, &mut |p| pid = p, &mut |line| {
            assert_eq!(line, "started");
            cancel.cancel();
            cancelled_at = Some(Instant::now());
            Ok(())
        })
        .unwrap_err();
        assert_eq!(err, DriveError::Cancelled);
        let waited = cancelled_at.unwrap().elapsed();
        assert!(waited < Duration::from_millis(100), "{waited:?}");
        // The background `sleep` of the group is gone too, not only the shell.
        assert!(gone_within(pid, Duration::from_millis(500)));
    }

    #[test]
    fn a_panic_in_the_line_handler_still_kills_and_reaps() {
        let mut pid = 0;
        let spec = sh("echo go; sleep 60", Duration::from_secs(600));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            drive::<String>(&spec, &CancelToken::new(), &mut |p| pid = p, &mut |_| {
                panic!("handler bug")
            })
        }));
        assert!(caught.is_err());
        assert!(gone_within(pid, Duration::from_secs(2)));
        assert!(!process_exists(pid), "no zombie left");
    }

    #[test]
    fn the_lifeline_closes_when_the_driver_is_gone() {
        // A child that reads stdin ends by itself at end of file: here, `cat` ends when the
        // driver's pipe closes, as a script watching stdin does when pooltune dies.
        let mut running = Running::spawn(&ChildSpec::new(
            Path::new("/bin/cat"),
            Duration::from_secs(60),
        ))
        .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(!running.exited());
        running.child.stdin = None;
        let started = Instant::now();
        while !running.exited() && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(running.exited(), "cat saw the end of its input");
        assert!(running.finish().is_some_and(|s| s.success()));
    }

    #[test]
    fn python_reading_stdin_ends_at_the_lifeline_eof() {
        let Some(python) = python_or_skip() else {
            return;
        };
        let mut running = Running::spawn(
            &ChildSpec::new(&python, Duration::from_secs(60))
                .args(["-c", "import sys; sys.stdin.read(); print('eof')"]),
        )
        .unwrap();
        let readers = running.readers().unwrap();
        running.child.stdin = None;
        let line = readers.lines.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(line.unwrap(), "eof");
        let started = Instant::now();
        while !running.exited() && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(running.finish().is_some_and(|s| s.success()));
    }

    #[test]
    fn a_program_that_does_not_exist_fails_to_start() {
        let err = drive::<String>(
            &ChildSpec::new(Path::new("/no/such/program"), Duration::ZERO),
            &CancelToken::new(),
            &mut |_| {},
            &mut |_| Ok(()),
        )
        .unwrap_err();
        assert!(matches!(err, DriveError::Start(_)), "{err:?}");
    }

    #[test]
    fn the_tail_keeps_the_end_on_a_character_boundary() {
        let mut tail = Tail::new(5);
        tail.push("aé".as_bytes());
        tail.push("bcdé".as_bytes());
        assert_eq!(tail.text(), "bcdé");
        let mut tail = Tail::new(9);
        tail.push("é first\nlast\n\n".as_bytes());
        assert_eq!(tail.text(), "st\nlast");
        assert_eq!(tail.last_line().as_deref(), Some("last"));
    }
}
