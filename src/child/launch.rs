//! The launcher of a user's program: finds the program ([`find_program`]), fills the
//! `{name}` placeholders of its argv and environment ([`substitute`]), and runs it once
//! ([`Launch::run`]) in a process group of its own, measured by `wait4(2)`: wall time, the
//! user and system CPU time of all its threads and of the children it reaped, its peak
//! resident set, its context switches and how it ended. A timeout or a Stop ends the whole
//! group (SIGTERM, then SIGKILL after [`STOP_GRACE`]) and the program is always reaped, exactly
//! once, so its pid (the group's id) cannot be reused while pooltune may still signal it.
//!
//! The `command` source (a program that runs its own threads) and the `exec` workload (one
//! child per task) both run their children here. The launcher never decides what a run
//! means: throughput, points and messages about a failing point are its callers'.
//!
//! Waiting is not a busy loop: one `poll(2)` on a pidfd of the child (readable when it exits)
//! and on its standard error, with a timeout of [`POLL`] to look at the cancel token.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read as _;
#[cfg(unix)]
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

use super::driver::Tail;
use crate::cancel::CancelToken;
use crate::spec::command::{CommandLine, CommandSpec};

/// How often a waiting launcher looks at the cancel token and the timeout. A Stop takes
/// effect within this plus [`STOP_GRACE`], well inside the 200 ms a Stop may take.
pub const POLL: Duration = Duration::from_millis(5);

/// How long a program may take to end after SIGTERM before its group gets SIGKILL: long
/// enough for a program to remove its temporary files, short enough that a Stop takes at
/// most 200 ms.
pub const STOP_GRACE: Duration = Duration::from_millis(100);

/// Bytes of standard error kept for error messages (its last lines).
pub const STDERR_TAIL_BYTES: usize = 4096;

/// Lines of standard error kept for error messages.
pub const STDERR_TAIL_LINES: usize = 20;

/// The shell a `shell = true` command line runs in.
pub const SHELL: &str = "sh";

/// Finds the program `name` as a preset names it: a name with a `/` is a path, resolved
/// against the preset's `folder` unless absolute; any other name is looked for in the
/// directories of `PATH`, in order. A file that is not executable is refused. The error
/// names the path tried, or the PATH directories searched.
pub fn find_program(name: &str, folder: &Path) -> Result<PathBuf, String> {
    find_program_in(name, folder, std::env::var_os("PATH"))
}

/// [`find_program`] with the value of `PATH` given (for tests).
fn find_program_in(
    name: &str,
    folder: &Path,
    path_var: Option<OsString>,
) -> Result<PathBuf, String> {
    if name.trim().is_empty() {
        return Err("the program's name is empty".to_owned());
    }
    if name.contains('/') {
        let path = folder.join(name);
        return match executable(&path) {
            Ok(()) => Ok(path),
            Err(why) => Err(format!("`{}` {why}", path.display())),
        };
    }
    let directories: Vec<PathBuf> = path_var
        .as_ref()
        .map(|value| std::env::split_paths(value).collect())
        .unwrap_or_default();
    let mut not_executable = None;
    for directory in &directories {
        // An empty entry of PATH means the current directory, as for a shell.
        let candidate = if directory.as_os_str().is_empty() {
            PathBuf::from(".").join(name)
        } else {
            directory.join(name)
        };
        match executable(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(NotRunnable::NotExecutable) if not_executable.is_none() => {
                not_executable = Some(candidate);
            }
            Err(_) => {}
        }
    }
    let searched = if directories.is_empty() {
        "PATH is empty or not set".to_owned()
    } else {
        format!(
            "searched PATH: {}",
            directories
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(":")
        )
    };
    Err(match not_executable {
        Some(path) => format!(
            "`{name}` was found as {} but it is not executable (chmod +x it); {searched}",
            path.display()
        ),
        None => format!(
            "no program `{name}` found ({searched}); install it, or give its path (with a `/`)"
        ),
    })
}

/// Why a path cannot be run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NotRunnable {
    Missing,
    NotAFile,
    NotExecutable,
}

impl std::fmt::Display for NotRunnable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NotRunnable::Missing => "does not exist",
            NotRunnable::NotAFile => "is not a file",
            NotRunnable::NotExecutable => "is not executable (chmod +x it)",
        })
    }
}

/// Ok when `path` is a file someone may execute.
fn executable(path: &Path) -> Result<(), NotRunnable> {
    let metadata = std::fs::metadata(path).map_err(|_| NotRunnable::Missing)?;
    if !metadata.is_file() {
        return Err(NotRunnable::NotAFile);
    }
    if !crate::platform::is_executable(path, &metadata) {
        return Err(NotRunnable::NotExecutable);
    }
    Ok(())
}

/// The values of the placeholders a command may use (`threads` → `4`), in the order they are
/// listed in error messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placeholders(Vec<(String, String)>);

impl Placeholders {
    /// No placeholders yet.
    pub fn new() -> Placeholders {
        Placeholders::default()
    }

    /// Adds (or replaces) `{name}` = `value`.
    pub fn with(mut self, name: &str, value: impl ToString) -> Placeholders {
        self.set(name, value);
        self
    }

    /// Sets `{name}` = `value`.
    pub fn set(&mut self, name: &str, value: impl ToString) {
        let value = value.to_string();
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = value,
            None => self.0.push((name.to_owned(), value)),
        }
    }

    /// The value of `{name}`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The known names as a user writes them: `{threads}, {scratch}`.
    pub fn names(&self) -> String {
        if self.0.is_empty() {
            return "none".to_owned();
        }
        self.0
            .iter()
            .map(|(n, _)| format!("{{{n}}}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `text` with every `{name}` replaced by its value; `{{` and `}}` stand for `{` and `}`.
/// An unknown placeholder, or a brace that opens or closes nothing, is an error naming
/// `field`, the text and the placeholders there are.
pub fn substitute(field: &str, text: &str, values: &Placeholders) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{{") {
            out.push('{');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            out.push('}');
            rest = after;
        } else if tail.starts_with('}') {
            return Err(format!(
                "{field}: a lone `}}` in {text:?}; write `}}}}` for a brace (the placeholders are {})",
                values.names()
            ));
        } else {
            let Some(end) = tail.find('}') else {
                return Err(format!(
                    "{field}: a `{{` that is not closed in {text:?}; write `{{{{` for a brace (the placeholders are {})",
                    values.names()
                ));
            };
            let name = &tail[1..end];
            match values.get(name) {
                Some(value) => out.push_str(value),
                None => {
                    return Err(format!(
                        "{field}: unknown placeholder `{{{name}}}` in {text:?}; the placeholders are {} (write `{{{{` for a brace)",
                        values.names()
                    ));
                }
            }
            rest = &tail[end + 1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The exact command lines a command preset runs, for the user to read before the first run
/// (the CLI prints them on stderr, the app shows them above Run): `run`, then `setup`,
/// `prepare`, `cleanup` where set, then the environment, placeholders as written.
pub fn command_lines(spec: &CommandSpec) -> Vec<String> {
    let mut lines = vec![format!("run: {}", shown(&spec.run))];
    for (label, line) in [
        ("setup", &spec.setup),
        ("prepare", &spec.prepare),
        ("cleanup", &spec.cleanup),
    ] {
        if let Some(line) = line {
            lines.push(format!("{label}: {}", shown(line)));
        }
    }
    if !spec.env.is_empty() {
        lines.push(format!(
            "env: {}",
            spec.env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    lines
}

/// A command line as it is run: a shell line is shown with the `sh -c` that runs it.
fn shown(line: &CommandLine) -> String {
    match line {
        CommandLine::Argv(_) => line.display(),
        CommandLine::Shell(text) => format!("{SHELL} -c {}", CommandLine::Argv(vec![text.clone()])),
    }
}

/// Where a program's standard output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Output {
    /// To /dev/null.
    #[default]
    Discard,
    /// To pooltune's standard error (pooltune's standard output carries its own results).
    Keep,
}

/// One program to run, ready: resolved program, substituted arguments and environment.
/// Run it as often as needed with [`Launch::run`].
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    /// The program's path, as found by [`find_program`].
    pub program: PathBuf,
    /// Its arguments (after the program).
    pub args: Vec<String>,
    /// Variables added to pooltune's environment.
    pub env: Vec<(String, String)>,
    /// The working directory (the preset's folder); pooltune's own when None.
    pub cwd: Option<PathBuf>,
    /// Where standard output goes.
    pub output: Output,
    /// A run longer than this is ended and reported as timed out.
    pub timeout: Option<Duration>,
}

impl Launch {
    /// `line` with `values` substituted, its program found (an argv's first word, or `sh` for
    /// a shell line), run in `folder`. Errors name `field` (`workload.run`).
    pub fn of_line(
        field: &str,
        line: &CommandLine,
        values: &Placeholders,
        folder: &Path,
    ) -> Result<Launch, String> {
        let (program, args) = match line {
            CommandLine::Argv(words) => {
                let mut words = words
                    .iter()
                    .map(|word| substitute(field, word, values))
                    .collect::<Result<Vec<_>, _>>()?;
                if words.is_empty() {
                    return Err(format!("{field}: the command is empty"));
                }
                let name = words.remove(0);
                let program = find_program(&name, folder).map_err(|e| format!("{field}: {e}"))?;
                (program, words)
            }
            CommandLine::Shell(text) => {
                let text = substitute(field, text, values)?;
                let program = find_program(SHELL, folder).map_err(|e| format!("{field}: {e}"))?;
                (program, vec!["-c".to_owned(), text])
            }
        };
        Ok(Launch {
            program,
            args,
            env: Vec::new(),
            cwd: Some(folder.to_path_buf()),
            output: Output::Discard,
            timeout: None,
        })
    }

    /// Adds the variables of `env`, their values substituted (errors name `field.NAME`).
    pub fn with_env(
        mut self,
        field: &str,
        env: &BTreeMap<String, String>,
        values: &Placeholders,
    ) -> Result<Launch, String> {
        for (name, value) in env {
            let value = substitute(&format!("{field}.{name}"), value, values)?;
            self.env.push((name.clone(), value));
        }
        Ok(self)
    }

    /// Sets where standard output goes.
    pub fn with_output(mut self, output: Output) -> Launch {
        self.output = output;
        self
    }

    /// Sets the timeout of one run.
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Launch {
        self.timeout = timeout;
        self
    }

    /// The command as the user reads it (program path and arguments).
    pub fn display(&self) -> String {
        let mut words = vec![self.program.display().to_string()];
        words.extend(self.args.iter().cloned());
        CommandLine::Argv(words).display()
    }

    /// Runs the program once and waits for it; a timeout or `cancel` ends its whole group.
    /// Every process of the group is killed before the program is reaped, so nothing it
    /// started outlives the run. An error means it could not be started or waited for.
    pub fn run(&self, cancel: &CancelToken) -> Result<Finished, LaunchError> {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stderr(Stdio::piped());
        // A group of its own, so that one kill reaches everything it started.
        crate::platform::own_process_group(&mut command);
        match self.output {
            Output::Discard => {
                command.stdout(Stdio::null());
            }
            Output::Keep => {
                let stderr =
                    crate::platform::stderr_copy().map_err(|source| self.spawn_error(source))?;
                command.stdout(stderr);
            }
        }
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        let started = Instant::now();
        let child = command.spawn().map_err(|source| self.spawn_error(source))?;
        let registration = super::register_tree(&child);
        let mut running = Running::start(child);
        let deadline = self.timeout.map(|t| started + t);
        let stopped = running.wait_until_exit(cancel, deadline);
        let reaped = running.reap();
        drop(registration);
        let reaped = reaped.map_err(|source| LaunchError::Wait {
            program: self.display(),
            source,
        })?;
        let wall = started.elapsed();
        Ok(Finished {
            wall,
            user: reaped.user,
            system: reaped.system,
            max_rss_bytes: reaped.max_rss_bytes,
            voluntary_switches: reaped.voluntary_switches,
            involuntary_switches: reaped.involuntary_switches,
            end: reaped.end,
            stopped,
            stderr: running.stderr_text(),
        })
    }

    fn spawn_error(&self, source: std::io::Error) -> LaunchError {
        LaunchError::Spawn {
            program: self.display(),
            source,
        }
    }
}

/// Why a run could not happen at all (a run that fails is a [`Finished`] that says so).
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The program could not be started.
    #[error("could not start `{program}`: {source}")]
    Spawn {
        /// The command.
        program: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The program could not be waited for (should never happen).
    #[error("could not wait for `{program}`: {source}")]
    Wait {
        /// The command.
        program: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

/// How a program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it.
    Signal(i32),
}

impl End {
    #[cfg(unix)]
    fn of_status(status: libc::c_int) -> End {
        if libc::WIFEXITED(status) {
            End::Exited(libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            End::Signal(libc::WTERMSIG(status))
        } else {
            // wait4 without WUNTRACED reports only ended children.
            End::Exited(-1)
        }
    }
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Exited(code) => write!(f, "exit code {code}"),
            End::Signal(signal) => write!(f, "killed by signal {signal}"),
        }
    }
}

/// Why pooltune ended a run before the program did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It ran longer than its timeout.
    Timeout,
    /// The user stopped the sweep.
    Cancelled,
}

impl Stopped {
    /// Whether a run must end at `now`: a Stop first, then a passed deadline.
    fn now(cancel: &CancelToken, deadline: Option<Instant>, now: Instant) -> Option<Stopped> {
        if cancel.is_cancelled() {
            Some(Stopped::Cancelled)
        } else if deadline.is_some_and(|d| now >= d) {
            Some(Stopped::Timeout)
        } else {
            None
        }
    }
}

/// A run that happened, measured by `wait4`.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// From just before the spawn to the reap.
    pub wall: Duration,
    /// User CPU time of all its threads and the children it reaped.
    pub user: Duration,
    /// System CPU time of all its threads and the children it reaped.
    pub system: Duration,
    /// Its peak resident set (the largest of it and its reaped children), in bytes.
    pub max_rss_bytes: u64,
    /// Voluntary context switches (it waited: I/O, a lock, a sleep); None where the OS
    /// keeps no count (Windows).
    pub voluntary_switches: Option<u64>,
    /// Involuntary context switches (the scheduler took the CPU away); None where the OS
    /// keeps no count.
    pub involuntary_switches: Option<u64>,
    /// How it ended.
    pub end: End,
    /// Set when pooltune ended it (a timeout, a Stop).
    pub stopped: Option<Stopped>,
    /// The end of its standard error (at most [`STDERR_TAIL_BYTES`]), trimmed.
    pub stderr: String,
}

impl Finished {
    /// User plus system CPU time.
    pub fn cpu(&self) -> Duration {
        self.user + self.system
    }

    /// True when it exited with code 0 by itself.
    pub fn succeeded(&self) -> bool {
        self.stopped.is_none() && self.end == End::Exited(0)
    }

    /// The last [`STDERR_TAIL_LINES`] lines of its standard error.
    pub fn stderr_lines(&self) -> Vec<&str> {
        let lines: Vec<&str> = self.stderr.lines().collect();
        let skip = lines.len().saturating_sub(STDERR_TAIL_LINES);
        lines[skip..].to_vec()
    }

    /// The last line of its standard error that is not blank.
    pub fn last_stderr_line(&self) -> Option<&str> {
        super::driver::last_line(&self.stderr)
    }

    /// What went wrong, in words (`exit code 2: xz: data.txt: No such file or directory`), or
    /// None when it succeeded. `timeout` is the limit a timed-out run exceeded.
    pub fn failure(&self, timeout: Option<Duration>) -> Option<String> {
        let mut text = match self.stopped {
            Some(Stopped::Cancelled) => "stopped".to_owned(),
            Some(Stopped::Timeout) => match timeout {
                Some(t) => format!("timed out after {:.3} s (timeout_s)", t.as_secs_f64()),
                None => "timed out".to_owned(),
            },
            None if self.end == End::Exited(0) => return None,
            None => self.end.to_string(),
        };
        if let Some(line) = self.last_stderr_line() {
            text.push_str(": ");
            text.push_str(line);
        }
        Some(text)
    }
}

/// What reaping a program gave: how it ended and what it used.
struct Reaped {
    end: End,
    user: Duration,
    system: Duration,
    max_rss_bytes: u64,
    voluntary_switches: Option<u64>,
    involuntary_switches: Option<u64>,
}

#[cfg(unix)]
fn timeval(value: libc::timeval) -> Duration {
    let seconds = u64::try_from(value.tv_sec).unwrap_or(0);
    let micros = u32::try_from(value.tv_usec).unwrap_or(0).min(999_999);
    Duration::new(seconds, micros * 1000)
}

/// A started program, not yet reaped (POSIX: waited for with poll(2) on a pidfd and its
/// standard error, reaped with wait4).
#[cfg(unix)]
struct Running {
    pid: libc::pid_t,
    reaped: bool,
    stderr: Option<ChildStderr>,
    tail: Tail,
}

#[cfg(unix)]
impl Running {
    /// Takes over `child`, which is never waited for through std: wait4 reaps it.
    fn start(mut child: std::process::Child) -> Running {
        let running = Running {
            pid: libc::pid_t::try_from(child.id()).unwrap_or(libc::pid_t::MAX),
            reaped: false,
            stderr: child.stderr.take(),
            tail: Tail::new(STDERR_TAIL_BYTES),
        };
        drop(child);
        running
    }

    /// The end of its standard error, trimmed.
    fn stderr_text(&self) -> String {
        self.tail.text()
    }

    /// Waits until the program exits (without reaping it), reading its standard error
    /// meanwhile; ends its group on a timeout or a Stop, and says which.
    fn wait_until_exit(
        &mut self,
        cancel: &CancelToken,
        deadline: Option<Instant>,
    ) -> Option<Stopped> {
        if let Some(stderr) = &self.stderr {
            set_nonblocking(stderr.as_raw_fd());
        }
        let pidfd = crate::platform::exit_fd(self.pid);
        let mut terminated_at: Option<Instant> = None;
        let mut stopped = None;
        loop {
            if super::has_exited(self.pid.unsigned_abs()) {
                self.drain_stderr();
                return stopped;
            }
            let now = Instant::now();
            stopped = stopped.or_else(|| Stopped::now(cancel, deadline, now));
            if stopped.is_some() {
                match terminated_at {
                    None => {
                        self.signal_group(libc::SIGTERM);
                        terminated_at = Some(now);
                    }
                    Some(at) if now.duration_since(at) >= STOP_GRACE => {
                        self.signal_group(libc::SIGKILL);
                    }
                    Some(_) => {}
                }
            }
            let mut wait = POLL;
            if let Some(d) = deadline
                && stopped.is_none()
            {
                wait = wait.min(d.saturating_duration_since(now));
            }
            self.poll(pidfd.as_ref(), wait);
        }
    }

    /// Sleeps in poll(2) until the program exits, its standard error has bytes, or `wait`.
    fn poll(&mut self, pidfd: Option<&OwnedFd>, wait: Duration) {
        let mut fds = Vec::with_capacity(2);
        if let Some(pidfd) = pidfd {
            fds.push(libc::pollfd {
                fd: pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if let Some(stderr) = &self.stderr {
            fds.push(libc::pollfd {
                fd: stderr.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // Without a pidfd (an old kernel) the wait is a short sleep: at most POLL.
        let millis = libc::c_int::try_from(wait.as_micros().div_ceil(1000)).unwrap_or(5);
        let count = libc::nfds_t::try_from(fds.len()).unwrap_or(0);
        // SAFETY: `fds` is a valid array of `count` pollfd structs for the whole call.
        unsafe {
            libc::poll(fds.as_mut_ptr(), count, millis);
        }
        if fds
            .iter()
            .any(|p| Some(p.fd) == self.stderr.as_ref().map(|s| s.as_raw_fd()) && p.revents != 0)
        {
            self.drain_stderr();
        }
    }

    /// Reads what standard error holds now, without blocking; forgets it at its end.
    fn drain_stderr(&mut self) {
        let Some(stderr) = &mut self.stderr else {
            return;
        };
        let mut buffer = [0u8; 4096];
        loop {
            match stderr.read(&mut buffer) {
                Ok(0) => {
                    self.stderr = None;
                    return;
                }
                Ok(n) => self.tail.push(&buffer[..n]),
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.stderr = None;
                    return;
                }
            }
        }
    }

    /// Sends `signal` to the program's whole group, only while it is unreaped (so its group
    /// id cannot have been reused).
    fn signal_group(&self, signal: libc::c_int) {
        if self.reaped {
            return;
        }
        // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
        // The group id is our unreaped child's pid.
        unsafe {
            libc::kill(-self.pid, signal);
        }
    }

    /// Kills whatever is left of the group, then reaps the program with wait4: how it ended
    /// and what it (and the children it reaped) used. Called once.
    fn reap(&mut self) -> std::io::Result<Reaped> {
        let (status, usage) = self.wait4()?;
        Ok(Reaped {
            end: End::of_status(status),
            user: timeval(usage.ru_utime),
            system: timeval(usage.ru_stime),
            // Linux reports ru_maxrss in KiB (macOS in bytes: see platform's table).
            max_rss_bytes: u64::try_from(usage.ru_maxrss)
                .unwrap_or(0)
                .saturating_mul(1024),
            voluntary_switches: u64::try_from(usage.ru_nvcsw).ok(),
            involuntary_switches: u64::try_from(usage.ru_nivcsw).ok(),
        })
    }

    /// Kills whatever is left of the group, then wait4: the status and resource use. The pid
    /// is never waited for again.
    fn wait4(&mut self) -> std::io::Result<(libc::c_int, libc::rusage)> {
        self.signal_group(libc::SIGKILL);
        let mut status: libc::c_int = 0;
        // SAFETY: an all-zero rusage is a valid value of this plain C struct.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: `status` and `usage` are valid for writes for the whole call.
            let result = unsafe { libc::wait4(self.pid, &mut status, 0, &mut usage) };
            if result == self.pid {
                self.reaped = true;
                return Ok((status, usage));
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                // ECHILD: nothing left to reap; never wait for this pid again.
                self.reaped = true;
                return Err(err);
            }
        }
    }
}

#[cfg(unix)]
impl Drop for Running {
    /// A run abandoned midway (a panic) still ends its group and reaps it.
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.wait4();
        }
    }
}

/// A started program, not yet reaped (Windows: its standard error read by a thread, its exit
/// waited for on its process handle, its tree ended through its Job Object, its CPU time and
/// peak working set read from its handle before it is let go).
#[cfg(windows)]
struct Running {
    child: std::process::Child,
    exit: crate::platform::ExitWatch,
    tail: std::sync::Arc<std::sync::Mutex<Tail>>,
    reader: Option<std::thread::JoinHandle<()>>,
    reaped: bool,
}

#[cfg(windows)]
impl Running {
    fn start(mut child: std::process::Child) -> Running {
        let tail = std::sync::Arc::new(std::sync::Mutex::new(Tail::new(STDERR_TAIL_BYTES)));
        let reader = child.stderr.take().and_then(|mut stderr: ChildStderr| {
            let tail = tail.clone();
            crate::engine::named_thread("pooltune-launch-stderr", move || {
                let mut buffer = [0u8; 4096];
                while let Ok(n @ 1..) = stderr.read(&mut buffer) {
                    tail.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(&buffer[..n]);
                }
            })
            .ok()
        });
        Running {
            exit: crate::platform::ExitWatch::new(child.id()),
            child,
            tail,
            reader,
            reaped: false,
        }
    }

    fn stderr_text(&self) -> String {
        self.tail.lock().unwrap_or_else(|p| p.into_inner()).text()
    }

    /// Waits until the program exits, ending its tree on a timeout or a Stop (Windows has no
    /// SIGTERM for it: the tree is ended at once), and says which.
    fn wait_until_exit(
        &mut self,
        cancel: &CancelToken,
        deadline: Option<Instant>,
    ) -> Option<Stopped> {
        let mut stopped = None;
        loop {
            // The handle stays open until `child` is dropped, so the pid cannot be reused.
            if matches!(self.child.try_wait(), Ok(Some(_)) | Err(_)) {
                return stopped;
            }
            let now = Instant::now();
            if stopped.is_none() {
                stopped = Stopped::now(cancel, deadline, now);
                if stopped.is_some() {
                    crate::platform::terminate_tree(self.child.id());
                }
            }
            let mut wait = POLL;
            if let Some(d) = deadline
                && stopped.is_none()
            {
                wait = wait.min(d.saturating_duration_since(now));
            }
            self.exit.wait(wait);
        }
    }

    /// Ends what is left of the tree, waits for the program and reads what it used. Windows
    /// keeps no context-switch count per process: those are None.
    fn reap(&mut self) -> std::io::Result<Reaped> {
        crate::platform::kill_tree(self.child.id());
        let status = self.child.wait();
        self.reaped = true;
        if let Some(reader) = self.reader.take() {
            // The tree is gone, so the pipe is closed and the reader ends.
            let _ = reader.join();
        }
        let status = status?;
        let usage = crate::platform::child_usage(&self.child);
        Ok(Reaped {
            end: End::Exited(status.code().unwrap_or(-1)),
            user: Duration::from_nanos(usage.user_ns),
            system: Duration::from_nanos(usage.system_ns),
            max_rss_bytes: usage.peak_rss_bytes.unwrap_or(0),
            voluntary_switches: None,
            involuntary_switches: None,
        })
    }
}

#[cfg(windows)]
impl Drop for Running {
    /// A run abandoned midway (a panic) still ends its tree.
    fn drop(&mut self) {
        if !self.reaped {
            crate::platform::kill_tree(self.child.id());
            let _ = self.child.wait();
        }
    }
}

#[cfg(unix)]
fn set_nonblocking(fd: libc::c_int) {
    // SAFETY: fcntl(2) on a descriptor we own, with integer arguments only.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}

// The tests run programs through `sh`: POSIX only.
#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn here() -> PathBuf {
        std::env::current_dir().unwrap()
    }

    fn sh(script: &str) -> Launch {
        Launch::of_line(
            "workload.run",
            &CommandLine::Argv(vec!["sh".into(), "-c".into(), script.into()]),
            &Placeholders::new(),
            &here(),
        )
        .unwrap()
    }

    #[test]
    fn a_program_is_found_on_path_and_a_missing_one_names_the_directories() {
        let found = find_program("sh", &here()).unwrap();
        assert!(found.is_absolute() && found.ends_with("sh"), "{found:?}");
        let err = find_program_in("no-such-program-xyz", &here(), Some("/usr/bin:/bin".into()))
            .unwrap_err();
        assert!(
            err.contains("no-such-program-xyz") && err.contains("/usr/bin:/bin"),
            "{err}"
        );
    }

    #[test]
    fn a_name_with_a_slash_is_resolved_against_the_folder_and_must_be_executable() {
        let folder = tempfile::tempdir().unwrap();
        let script = folder.path().join("run.sh");
        std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
        let err = find_program("./run.sh", folder.path()).unwrap_err();
        assert!(err.contains("not executable"), "{err}");
        let err = find_program_in("run.sh", &here(), Some(folder.path().into())).unwrap_err();
        assert!(err.contains("not executable"), "{err}");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            find_program("./run.sh", folder.path()).unwrap(),
            folder.path().join("./run.sh")
        );
        let err = find_program("./missing.sh", folder.path()).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
    }

    #[test]
    fn placeholders_are_substituted_and_an_unknown_one_is_refused() {
        let values = Placeholders::new()
            .with("threads", 4)
            .with("scratch", "/tmp/x");
        assert_eq!(
            substitute("workload.run", "-T{threads} {scratch}/a {{x}}", &values).unwrap(),
            "-T4 /tmp/x/a {x}"
        );
        let err = substitute("workload.run", "-T{thread}", &values).unwrap_err();
        assert!(
            err.contains("workload.run") && err.contains("{thread}") && err.contains("{threads}"),
            "{err}"
        );
        assert!(substitute("workload.run", "a{b", &values).is_err());
        assert!(substitute("workload.run", "a}b", &values).is_err());
    }

    #[test]
    fn a_run_reports_its_exit_code_and_stderr_tail() {
        let finished = sh("echo one >&2; echo last words >&2; exit 3")
            .run(&CancelToken::new())
            .unwrap();
        assert_eq!(finished.end, End::Exited(3));
        assert!(!finished.succeeded());
        assert_eq!(finished.last_stderr_line(), Some("last words"));
        assert_eq!(finished.failure(None).unwrap(), "exit code 3: last words");
        assert!(sh("true").run(&CancelToken::new()).unwrap().succeeded());
    }

    #[test]
    fn env_and_threads_are_substituted_in_a_run() {
        let folder = tempfile::tempdir().unwrap();
        let values = Placeholders::new().with("threads", 7);
        let launch = Launch::of_line(
            "workload.run",
            &CommandLine::Shell("echo \"{threads} $N\" > out.txt".into()),
            &values,
            folder.path(),
        )
        .unwrap()
        .with_env(
            "workload.env",
            &BTreeMap::from([("N".to_owned(), "n={threads}".to_owned())]),
            &values,
        )
        .unwrap();
        assert!(launch.run(&CancelToken::new()).unwrap().succeeded());
        let written = std::fs::read_to_string(folder.path().join("out.txt")).unwrap();
        assert_eq!(written.trim(), "7 n=7");
    }

    #[test]
    fn cpu_time_counts_the_programs_children() {
        // Busy for a while in a child of the shell: its CPU time reaches ours through wait4.
        let finished = sh("i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done & wait")
            .run(&CancelToken::new())
            .unwrap();
        assert!(finished.succeeded());
        assert!(finished.cpu() > Duration::from_millis(20), "{finished:?}");
        assert!(finished.max_rss_bytes > 0);
    }

    #[test]
    fn a_timeout_ends_the_whole_group() {
        let folder = tempfile::tempdir().unwrap();
        let pidfile = folder.path().join("pid");
        let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let finished = sh(&script)
            .with_timeout(Some(Duration::from_millis(300)))
            .run(&CancelToken::new())
            .unwrap();
        assert_eq!(finished.stopped, Some(Stopped::Timeout));
        assert!(
            finished
                .failure(Some(Duration::from_millis(300)))
                .unwrap()
                .contains("timed out")
        );
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The grandchild `sleep` was killed with its group (it may linger as init's zombie
        // for a moment).
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && alive(pid) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(pid), "sleep {pid} outlived its group");
    }

    #[test]
    fn a_stop_ends_the_run_quickly() {
        let cancel = CancelToken::new();
        let stopper = cancel.clone();
        let thread = std::thread::Builder::new()
            .name("stopper".into())
            .spawn(move || {
                std::thread::sleep(Duration::from_millis(200));
                stopper.cancel();
                Instant::now()
            })
            .unwrap();
        // `trap '' TERM` ignores SIGTERM: the SIGKILL after the grace must end it.
        let finished = sh("trap '' TERM; sleep 30 & wait; sleep 30")
            .run(&cancel)
            .unwrap();
        let stopped_at = thread.join().unwrap();
        assert_eq!(finished.stopped, Some(Stopped::Cancelled));
        assert!(!finished.succeeded());
        let took = stopped_at.elapsed();
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    /// True while `pid` runs (a zombie counts as gone).
    fn alive(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !stat
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z')),
            Err(_) => false,
        }
    }
}
