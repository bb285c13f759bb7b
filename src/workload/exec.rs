//! `kind = "exec"`: every task is one child process running the user's command, on one of
//! pooltune's pools of threads. The task's wall time is the child's, start to reaped; its CPU
//! time is the child's own user + system time as `wait4` reports it (its threads and the
//! children it waited for), so W and C are the real task's, not the launcher's.
//!
//! An [`ExecPlan`] is resolved once, before anything runs: the program found (relative to the
//! preset's folder, or on PATH), every placeholder checked (`{input}`, `{task}`, `{worker}`,
//! `{threads}`), and the `inputs` glob expanded (task i gets match i mod count). [`Exec`] runs
//! the plan for one thread count.
//!
//! Each child runs in a process group of its own; a Stop, the trial's abort or the task's
//! timeout kills the whole group at once, and every child is reaped exactly once. This module
//! never runs a shell unless the command starts one.

use std::fs::File;
use std::io::Read as _;
use std::os::fd::{AsFd as _, AsRawFd as _, OwnedFd};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{ChildUsage, TaskCtx, Workload};
use crate::cancel::TrialStop;
use crate::child::Tail;
use crate::spec::{CommandLine, ExecSpec};

/// Longest a waiting task goes without looking at the trial's stop flag: a Stop kills the
/// running children within this (plus the kill and the reaping), well inside the 200 ms the
/// issue allows. The wait itself is woken the moment the child exits (a pidfd), so this adds
/// nothing to a task's measured time.
const STOP_CHECK: Duration = Duration::from_millis(10);

/// Bytes of a task's standard error kept for the message of a failing task.
const STDERR_TAIL_BYTES: usize = 2000;

/// Lines of that tail quoted in the message.
const STDERR_TAIL_LINES: usize = 5;

/// The placeholders a task's command and environment may use.
const PLACEHOLDERS: &str = "{input}, {task}, {worker} and {threads}";

/// A value a placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The task's input file (a match of `inputs`).
    Input,
    /// The task's index within its trial.
    Task,
    /// The worker running the task, `0..threads`.
    Worker,
    /// The pool's thread count.
    Threads,
}

/// One piece of a word: text as written, or a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Slot(Slot),
}

/// A word of the command (or an environment value) with its placeholders found.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Template(Vec<Piece>);

/// What a task's placeholders are filled with.
struct Values<'a> {
    input: &'a str,
    task: u64,
    worker: usize,
    threads: usize,
}

impl Template {
    /// Parses `text` (`{{` and `}}` stand for braces); `field` names it in errors.
    fn parse(field: &str, text: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        return Err(format!(
                            "`{field}` = {text:?} opens a placeholder with {{ and never closes \
                             it: write {{{{ for a brace, or one of {PLACEHOLDERS}"
                        ));
                    }
                    let slot = match name.as_str() {
                        "input" => Slot::Input,
                        "task" => Slot::Task,
                        "worker" => Slot::Worker,
                        "threads" => Slot::Threads,
                        _ => {
                            return Err(format!(
                                "`{field}` = {text:?} has the placeholder {{{name}}}: an exec \
                                 task knows {PLACEHOLDERS} (write {{{{ for a brace)"
                            ));
                        }
                    };
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Slot(slot));
                }
                '}' => {
                    return Err(format!(
                        "`{field}` = {text:?} has a }} that closes no placeholder: write }}}} \
                         for a brace"
                    ));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template(pieces))
    }

    fn uses(&self, slot: Slot) -> bool {
        self.0.contains(&Piece::Slot(slot))
    }

    fn fill(&self, values: &Values<'_>) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Slot(Slot::Input) => out.push_str(values.input),
                Piece::Slot(Slot::Task) => out.push_str(&values.task.to_string()),
                Piece::Slot(Slot::Worker) => out.push_str(&values.worker.to_string()),
                Piece::Slot(Slot::Threads) => out.push_str(&values.threads.to_string()),
            }
        }
        out
    }
}

/// An exec workload resolved against its folder: what every task runs, found and checked
/// before the first task.
#[derive(Debug, Clone)]
pub struct ExecPlan {
    /// The command as written, for messages.
    display: String,
    /// The program's path, found once (not searched again per task).
    program: PathBuf,
    /// Its arguments (after the program's name).
    args: Vec<Template>,
    /// Variables set for each task, on top of pooltune's environment.
    env: Vec<(String, Template)>,
    /// The `inputs` glob's matches, as paths relative to `folder` (or absolute, for an
    /// absolute glob), sorted.
    inputs: Vec<String>,
    /// The working directory of every task: the preset's folder.
    folder: PathBuf,
    timeout: Duration,
    keep_output: bool,
}

impl ExecPlan {
    /// Resolves `spec` against `folder` (the preset's; None: the current directory): finds
    /// the program, checks the placeholders and expands `inputs`. The error names the field,
    /// what was found and what is allowed, so that it can be shown before anything runs.
    pub fn new(spec: &ExecSpec, folder: Option<&Path>) -> Result<ExecPlan, String> {
        spec.validate().map_err(|invalid| invalid.to_string())?;
        let folder = match folder {
            Some(folder) => folder.to_path_buf(),
            None => std::env::current_dir()
                .map_err(|err| format!("could not read the current directory: {err}"))?,
        };
        let (name, words): (String, Vec<String>) = match &spec.run {
            CommandLine::Argv(words) => match words.split_first() {
                Some((name, rest)) => (name.clone(), rest.to_vec()),
                None => return Err("`workload.run` names no program".to_owned()),
            },
            CommandLine::Shell(line) => ("sh".to_owned(), vec!["-c".to_owned(), line.clone()]),
        };
        if name.contains('{') {
            return Err(format!(
                "`workload.run` names its program {name:?} with a placeholder: the program is \
                 found before anything runs, so it must be written out (placeholders may \
                 follow in its arguments)"
            ));
        }
        let program = find_program(&name, &folder)?;
        let args = words
            .iter()
            .enumerate()
            .map(|(i, word)| Template::parse(&format!("workload.run[{}]", i + 1), word))
            .collect::<Result<Vec<_>, _>>()?;
        let env = spec
            .env
            .iter()
            .map(|(key, value)| {
                Template::parse(&format!("workload.env.{key}"), value).map(|t| (key.clone(), t))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let uses_input = args
            .iter()
            .chain(env.iter().map(|(_, t)| t))
            .any(|t| t.uses(Slot::Input));
        let inputs = match &spec.inputs {
            Some(pattern) => {
                let matches = expand_glob(pattern, &folder)?;
                if matches.is_empty() {
                    return Err(format!(
                        "`workload.inputs` = {pattern:?} matches no file in {}: a task gets \
                         one of its matches as {{input}}, so it needs at least one",
                        folder.display()
                    ));
                }
                matches
            }
            None if uses_input => {
                return Err(
                    "`workload.run` uses {input}, and there is no `workload.inputs` glob to \
                     take the inputs from: add one, such as inputs = \"corpus/*.txt\""
                        .to_owned(),
                );
            }
            None => Vec::new(),
        };
        Ok(ExecPlan {
            display: spec.run.display(),
            program,
            args,
            env,
            inputs,
            folder,
            timeout: Duration::from_secs_f64(spec.timeout_s),
            keep_output: spec.keep_output,
        })
    }

    /// The command as written in the preset (`sha256sum {input}`): what pooltune shows
    /// before it runs it.
    pub fn command_line(&self) -> &str {
        &self.display
    }

    /// The files `{input}` takes, in order (task i gets match i mod count).
    pub fn inputs(&self) -> &[String] {
        &self.inputs
    }

    /// The program every task starts.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The input of task `task`: match `task` mod count (empty without `inputs`).
    fn input_of(&self, task: u64) -> &str {
        if self.inputs.is_empty() {
            return "";
        }
        let index = (task % self.inputs.len() as u64) as usize;
        &self.inputs[index]
    }
}

/// The exec workload for one thread count: each task starts the plan's command and waits
/// for it. Counts the children's CPU time and largest resident memory for the pool to read.
#[derive(Debug)]
pub struct Exec {
    plan: Arc<ExecPlan>,
    threads: usize,
    child_cpu_ns: AtomicU64,
    child_peak_rss_bytes: AtomicU64,
    children: AtomicU64,
}

impl Exec {
    /// The workload of `plan` on a pool of `threads` workers.
    pub fn new(plan: Arc<ExecPlan>, threads: usize) -> Exec {
        Exec {
            plan,
            threads,
            child_cpu_ns: AtomicU64::new(0),
            child_peak_rss_bytes: AtomicU64::new(0),
            children: AtomicU64::new(0),
        }
    }
}

impl Workload for Exec {
    fn run_task(&self, ctx: &TaskCtx<'_>) {
        if ctx.stop.interrupted() {
            return;
        }
        let values = Values {
            input: self.plan.input_of(ctx.task),
            task: ctx.task,
            worker: ctx.worker,
            threads: self.threads,
        };
        let args: Vec<String> = self.plan.args.iter().map(|t| t.fill(&values)).collect();
        let env: Vec<(&str, String)> = self
            .plan
            .env
            .iter()
            .map(|(key, t)| (key.as_str(), t.fill(&values)))
            .collect();
        match run_child(&self.plan, &args, &env, ctx.stop) {
            Ok(end) => {
                self.child_cpu_ns.fetch_add(end.cpu_ns, Ordering::Relaxed);
                self.child_peak_rss_bytes
                    .fetch_max(end.max_rss_bytes, Ordering::Relaxed);
                self.children.fetch_add(1, Ordering::Relaxed);
                if let Some(failure) = end.failure(&self.plan, ctx.task, &args) {
                    ctx.stop.record_error(failure);
                }
            }
            Err(message) => ctx
                .stop
                .record_error(format!("task {}: {message}", ctx.task)),
        }
    }

    fn take_child_usage(&self) -> Option<ChildUsage> {
        Some(ChildUsage {
            cpu_ns: self.child_cpu_ns.swap(0, Ordering::Relaxed),
            peak_rss_bytes: self.child_peak_rss_bytes.swap(0, Ordering::Relaxed),
            children: self.children.swap(0, Ordering::Relaxed),
        })
    }
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it (not one pooltune sent).
    Signalled(i32),
    /// Pooltune killed it: the trial was stopped.
    Stopped,
    /// Pooltune killed it: it ran longer than the timeout.
    TimedOut,
}

/// What `wait4` said about a reaped child, and the end of its standard error.
#[derive(Debug)]
struct ChildEnd {
    ending: Ending,
    cpu_ns: u64,
    max_rss_bytes: u64,
    stderr: Tail,
}

impl ChildEnd {
    /// The message that fails the point, or None for a task that succeeded (or was stopped:
    /// a stopped trial is discarded, and says so itself).
    fn failure(&self, plan: &ExecPlan, task: u64, args: &[String]) -> Option<String> {
        let what = match self.ending {
            Ending::Exited(0) | Ending::Stopped => return None,
            Ending::Exited(code) => format!("exited with code {code}"),
            Ending::Signalled(signal) => format!("was killed by signal {signal}"),
            Ending::TimedOut => format!(
                "ran longer than workload.timeout_s = {} s and was killed",
                plan.timeout.as_secs_f64()
            ),
        };
        let text = self.stderr.text();
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect();
        let tail = if lines.is_empty() {
            "its stderr was empty".to_owned()
        } else {
            let from = lines.len().saturating_sub(STDERR_TAIL_LINES);
            format!("its stderr ended: {}", lines[from..].join(" / "))
        };
        let run = std::iter::once(plan.program.display().to_string())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>();
        Some(format!(
            "task {task} failed: `{}` {what}; {tail}",
            CommandLine::Argv(run).display()
        ))
    }
}

/// Starts one task's child in its own process group and waits for it: woken at once when it
/// exits (a pidfd), looking at the trial's stop flag every [`STOP_CHECK`]. A stopped trial
/// or a timeout kills the whole group. Whatever else the child left in its group (a
/// background job) is killed before the child is reaped, so no task leaves a process behind.
fn run_child(
    plan: &ExecPlan,
    args: &[String],
    env: &[(&str, String)],
    stop: &TrialStop,
) -> Result<ChildEnd, String> {
    let mut command = Command::new(&plan.program);
    command
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(&plan.folder)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    if plan.keep_output {
        // The task's output goes to pooltune's stderr: pooltune's stdout carries its results.
        let stderr = std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|err| format!("could not pass stderr to a task: {err}"))?;
        command.stdout(Stdio::from(stderr));
    } else {
        command.stdout(Stdio::null());
    }
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|err| format!("could not start {}: {err}", plan.program.display()))?;
    let pid = child.id();
    let _registered = crate::child::register_group(pid);
    let pid = libc::pid_t::try_from(pid).unwrap_or(libc::pid_t::MAX);
    let mut stderr = child.stderr.take().map(|pipe| {
        let fd = OwnedFd::from(pipe);
        set_nonblocking(&fd);
        File::from(fd)
    });
    let pidfd = pidfd_open(pid);
    let mut tail = Tail::new(STDERR_TAIL_BYTES);
    let deadline = started + plan.timeout;
    let mut ending = None;
    loop {
        let exited = wait_a_moment(pid, pidfd.as_ref(), stderr.as_ref());
        if drain(&mut stderr, &mut tail) {
            stderr = None;
        }
        if exited {
            break;
        }
        if stop.interrupted() {
            ending = Some(Ending::Stopped);
            break;
        }
        if Instant::now() >= deadline {
            ending = Some(Ending::TimedOut);
            break;
        }
    }
    // The child is a zombie or still running: its pid (and so its group's id) is not free
    // until it is reaped, so this kill cannot reach another process's group.
    // SAFETY: kill with a negative pid signals that process group; no memory is involved.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    let (status, usage) = reap(pid)?;
    drain(&mut stderr, &mut tail);
    let ending = ending.unwrap_or(if libc::WIFEXITED(status) {
        Ending::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Ending::Signalled(libc::WTERMSIG(status))
    } else {
        Ending::Exited(-1)
    });
    Ok(ChildEnd {
        ending,
        cpu_ns: rusage_cpu_ns(&usage),
        max_rss_bytes: (usage.ru_maxrss.max(0) as u64).saturating_mul(1024),
        stderr: tail,
    })
}

/// Waits until the child exits, its stderr has something to read, or [`STOP_CHECK`]
/// passes. True when the child has exited (it is not reaped: see [`reap`]).
fn wait_a_moment(pid: libc::pid_t, pidfd: Option<&OwnedFd>, stderr: Option<&File>) -> bool {
    let timeout_ms = STOP_CHECK.as_millis() as libc::c_int;
    match pidfd {
        Some(pidfd) => {
            let mut fds = [
                libc::pollfd {
                    fd: pidfd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    // poll ignores a negative descriptor: stderr closed or absent.
                    fd: stderr.map_or(-1, |f| f.as_raw_fd()),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: `fds` is a valid array of two pollfd for the length of the call.
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
            ready > 0 && fds[0].revents != 0
        }
        None => {
            // No pidfd (a kernel before 5.3): look every millisecond.
            std::thread::sleep(Duration::from_millis(1));
            has_exited(pid)
        }
    }
}

/// True when child `pid` has exited, without reaping it (waitid with WNOWAIT).
fn has_exited(pid: libc::pid_t) -> bool {
    // SAFETY: an all-zero siginfo_t is a valid value for waitid to overwrite.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is valid and writable; the flags ask only to look.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: waitid filled `info` (or left it zeroed: pid 0, not exited).
    rc == 0 && unsafe { info.si_pid() } == pid
}

/// Reads what the child's stderr has now into `tail`; true once the pipe is closed or broken.
fn drain(stderr: &mut Option<File>, tail: &mut Tail) -> bool {
    let Some(pipe) = stderr.as_mut() else {
        return false;
    };
    let mut buffer = [0u8; 4096];
    loop {
        match pipe.read(&mut buffer) {
            Ok(0) => return true,
            Ok(n) => tail.push(&buffer[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

/// Reaps `pid` with wait4, returning its status and resource usage.
fn reap(pid: libc::pid_t) -> Result<(libc::c_int, libc::rusage), String> {
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `usage` are valid and writable; `pid` is our unreaped child.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == pid {
            return Ok((status, usage));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("could not wait for child {pid}: {err}"));
        }
    }
}

/// A pidfd for `pid`, readable once it exits; None where the kernel has none.
fn pidfd_open(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the descriptor was just returned by the kernel and is owned by no one else.
    Some(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as libc::c_int) })
}

fn set_nonblocking(fd: &OwnedFd) {
    // SAFETY: fcntl on a descriptor we own, with flags read from it.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}

fn rusage_cpu_ns(usage: &libc::rusage) -> u64 {
    let tv_ns = |tv: libc::timeval| {
        (tv.tv_sec.max(0) as u64).saturating_mul(1_000_000_000) + (tv.tv_usec.max(0) as u64) * 1000
    };
    tv_ns(usage.ru_utime) + tv_ns(usage.ru_stime)
}

/// Finds the program `name`: a name with a `/` is taken relative to `folder` (the preset's),
/// any other is searched on PATH. It must be a file that can be executed; the error names
/// `workload.run` and the directories searched.
pub fn find_program(name: &str, folder: &Path) -> Result<PathBuf, String> {
    if name.contains('/') {
        // Absolute: a relative program path would be read against the child's working
        // directory on some systems and pooltune's on others.
        let path = std::path::absolute(folder.join(name)).unwrap_or_else(|_| folder.join(name));
        return match check_executable(&path) {
            Ok(()) => Ok(path),
            Err(why) => Err(format!(
                "`workload.run` names the program {name:?}: {} {why}",
                path.display()
            )),
        };
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path_var).collect();
    let mut not_executable = None;
    for dir in &dirs {
        let candidate = dir.join(name);
        match check_executable(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(why) if candidate.exists() && not_executable.is_none() => {
                not_executable = Some(format!("{} {why}", candidate.display()));
            }
            Err(_) => {}
        }
    }
    let searched = dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    Err(match not_executable {
        Some(found) => format!(
            "`workload.run` names the program {name:?}: {found} (PATH searched: {searched})"
        ),
        None => format!(
            "`workload.run` names the program {name:?}, which is not on PATH (searched: \
             {searched}); give its path (with a /, relative to the preset's folder) or install it"
        ),
    })
}

/// Ok for a regular file with an execute bit the caller may use; else why not.
fn check_executable(path: &Path) -> Result<(), &'static str> {
    let meta = std::fs::metadata(path).map_err(|_| "does not exist")?;
    if !meta.is_file() {
        return Err("is not a file");
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err("is not executable (chmod +x)");
    }
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return Err("has a NUL byte in its name");
    };
    // SAFETY: a valid NUL-terminated path; access only reads it.
    if unsafe { libc::access(c_path.as_ptr(), libc::X_OK) } != 0 {
        return Err("is not executable by this user");
    }
    Ok(())
}

/// The files `pattern` matches, relative to `folder` unless the pattern is absolute; sorted,
/// regular files only (a directory is no task's input). A component may hold `*` (any run of
/// characters but `/`), `?` (one character), `[abc]`, `[a-z]`, `[!a]` and `\` to escape one;
/// `**` alone matches any number of folders. As in a shell, a wildcard does not match a name
/// starting with `.` unless the pattern's component does too.
pub fn expand_glob(pattern: &str, folder: &Path) -> Result<Vec<String>, String> {
    let absolute = pattern.starts_with('/');
    let components: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    if components.is_empty() {
        return Err(format!(
            "`workload.inputs` = {pattern:?} names no file: give a glob such as \"corpus/*.txt\""
        ));
    }
    // Each candidate: the path to read, and the text a task is given.
    let start = if absolute {
        (PathBuf::from("/"), "/".to_owned())
    } else {
        (folder.to_path_buf(), String::new())
    };
    let mut current = vec![start];
    for component in &components {
        let mut next = Vec::new();
        for (path, shown) in &current {
            if *component == "**" {
                collect_folders(path, shown, &mut next);
            } else if !has_wildcard(component) {
                let literal = unescape(component);
                next.push((path.join(&literal), join_shown(shown, &literal)));
            } else {
                let Ok(entries) = std::fs::read_dir(path) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .filter_map(Result::ok)
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|name| wildcard_match(component, name))
                    .collect();
                names.sort();
                for name in names {
                    next.push((path.join(&name), join_shown(shown, &name)));
                }
            }
        }
        current = next;
    }
    let mut files: Vec<String> = current
        .into_iter()
        .filter(|(path, _)| path.is_file())
        .map(|(_, shown)| shown)
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

fn join_shown(shown: &str, name: &str) -> String {
    if shown.is_empty() {
        name.to_owned()
    } else if shown.ends_with('/') {
        format!("{shown}{name}")
    } else {
        format!("{shown}/{name}")
    }
}

/// `path` and every folder below it (not hidden ones), for `**`.
fn collect_folders(path: &Path, shown: &str, out: &mut Vec<(PathBuf, String)>) {
    out.push((path.to_path_buf(), shown.to_owned()));
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    for name in names {
        collect_folders(&path.join(&name), &join_shown(shown, &name), out);
    }
}

fn has_wildcard(component: &str) -> bool {
    component.contains(['*', '?', '['])
}

fn unescape(component: &str) -> String {
    let mut out = String::new();
    let mut chars = component.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One glob component against one file name (see [`expand_glob`]).
fn wildcard_match(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    match_from(&pattern, &name)
}

fn match_from(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    // Where the last `*` was, and the name position it is trying to cover up to.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => match class_match(&pattern[p..], name[n]) {
                Some((true, len)) => Some(len),
                _ => None,
            },
            Some('\\') if pattern.get(p + 1) == Some(&name[n]) => Some(2),
            Some(&c) if c != '\\' && c == name[n] => Some(1),
            _ => None,
        };
        match step {
            Some(len) => {
                p += len;
                n += 1;
            }
            None => match star {
                Some((star_p, star_n)) => {
                    p = star_p + 1;
                    n = star_n + 1;
                    star = Some((star_p, star_n + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Whether `c` is in the class that starts `pattern` (`[...]`), and the class's length;
/// None when the class is not closed (then `[` is an ordinary character).
fn class_match(pattern: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negated = matches!(pattern.get(1), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    while let Some(&ch) = pattern.get(i) {
        if ch == ']' && !first {
            return Some((found != negated, i + 1));
        }
        first = false;
        if pattern.get(i + 1) == Some(&'-') && pattern.get(i + 2).is_some_and(|&e| e != ']') {
            let end = pattern[i + 2];
            if ch <= c && c <= end {
                found = true;
            }
            i += 3;
        } else {
            if ch == c {
                found = true;
            }
            i += 1;
        }
    }
    if pattern.first() == Some(&c) {
        // An unclosed `[` matches itself.
        return Some((true, 1));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::CancelToken;
    use std::collections::BTreeMap;

    fn spec(run: &[&str]) -> ExecSpec {
        ExecSpec {
            run: CommandLine::Argv(run.iter().map(|w| (*w).to_owned()).collect()),
            shell: false,
            inputs: None,
            env: BTreeMap::new(),
            timeout_s: 30.0,
            keep_output: false,
        }
    }

    #[test]
    fn wildcards_match_as_a_shell_does() {
        assert!(wildcard_match("*.txt", "a.txt"));
        assert!(!wildcard_match("*.txt", "a.txt.gz"));
        assert!(!wildcard_match("*.txt", ".hidden.txt"));
        assert!(wildcard_match(".*.txt", ".hidden.txt"));
        assert!(wildcard_match("f?le[0-9].t*", "file7.txt"));
        assert!(!wildcard_match("f?le[0-9].t*", "fileX.txt"));
        assert!(wildcard_match("[!a]*", "b1"));
        assert!(!wildcard_match("[!a]*", "a1"));
        assert!(wildcard_match("a*b*c", "axxbyyc"));
        assert!(!wildcard_match("a*b*c", "axxbyy"));
        assert!(wildcard_match(r"a\*", "a*"));
        assert!(!wildcard_match(r"a\*", "ab"));
        assert!(wildcard_match("[ab", "[ab"));
    }

    #[test]
    fn a_glob_expands_relative_to_the_folder_sorted_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = dir.path().join("corpus");
        std::fs::create_dir_all(corpus.join("deep/er")).unwrap();
        for name in ["b.txt", "a.txt", "c.md", "deep/d.txt", "deep/er/e.txt"] {
            std::fs::write(corpus.join(name), name).unwrap();
        }
        std::fs::create_dir(corpus.join("dir.txt")).unwrap();
        assert_eq!(
            expand_glob("corpus/*.txt", dir.path()).unwrap(),
            ["corpus/a.txt", "corpus/b.txt"]
        );
        assert_eq!(
            expand_glob("corpus/**/*.txt", dir.path()).unwrap(),
            [
                "corpus/a.txt",
                "corpus/b.txt",
                "corpus/deep/d.txt",
                "corpus/deep/er/e.txt"
            ]
        );
        assert_eq!(
            expand_glob("corpus/c.md", dir.path()).unwrap(),
            ["corpus/c.md"]
        );
        assert!(expand_glob("corpus/*.rs", dir.path()).unwrap().is_empty());
        let absolute = format!("{}/corpus/?.md", dir.path().display());
        assert_eq!(
            expand_glob(&absolute, Path::new("/nowhere")).unwrap(),
            [format!("{}/corpus/c.md", dir.path().display())]
        );
    }

    #[test]
    fn a_plan_refuses_what_cannot_run_before_anything_runs() {
        let dir = tempfile::tempdir().unwrap();
        let err =
            ExecPlan::new(&spec(&["no-such-program-pooltune"]), Some(dir.path())).unwrap_err();
        assert!(err.contains("`workload.run`"), "{err}");
        assert!(err.contains("not on PATH (searched: "), "{err}");
        let err = ExecPlan::new(&spec(&["./missing.sh"]), Some(dir.path())).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
        std::fs::write(dir.path().join("plain.sh"), "echo hi").unwrap();
        let err = ExecPlan::new(&spec(&["./plain.sh"]), Some(dir.path())).unwrap_err();
        assert!(err.contains("is not executable"), "{err}");
        let err = ExecPlan::new(&spec(&["sh", "-c", "cat {file}"]), Some(dir.path())).unwrap_err();
        assert!(err.contains("`workload.run[2]`"), "{err}");
        assert!(err.contains("{file}"), "{err}");
        assert!(
            err.contains("{input}, {task}, {worker} and {threads}"),
            "{err}"
        );
        let err = ExecPlan::new(&spec(&["cat", "{input}"]), Some(dir.path())).unwrap_err();
        assert!(err.contains("no `workload.inputs` glob"), "{err}");
        let mut globbed = spec(&["cat", "{input}"]);
        globbed.inputs = Some("corpus/*.txt".to_owned());
        let err = ExecPlan::new(&globbed, Some(dir.path())).unwrap_err();
        assert!(
            err.contains("`workload.inputs` = \"corpus/*.txt\" matches no file"),
            "{err}"
        );
        let mut env = spec(&["true"]);
        env.env.insert("WHO".to_owned(), "{worker".to_owned());
        let err = ExecPlan::new(&env, Some(dir.path())).unwrap_err();
        assert!(err.contains("`workload.env.WHO`"), "{err}");
        let plan = ExecPlan::new(&spec(&["sh", "-c", "echo {{literal}} {task}"]), None).unwrap();
        assert!(plan.program().is_absolute());
    }

    #[test]
    fn placeholders_are_filled_per_task_and_inputs_wrap() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x1.in"), "").unwrap();
        std::fs::write(dir.path().join("x2.in"), "").unwrap();
        let mut exec = spec(&[
            "sh",
            "-c",
            "echo {input} {task} {worker} {threads} {{x}} >> out",
        ]);
        exec.inputs = Some("*.in".to_owned());
        exec.env.insert("TASK".to_owned(), "t{task}".to_owned());
        let plan = Arc::new(ExecPlan::new(&exec, Some(dir.path())).unwrap());
        assert_eq!(plan.inputs(), ["x1.in", "x2.in"]);
        let workload = Exec::new(plan, 3);
        let stop = TrialStop::new(CancelToken::new(), None);
        for task in 0..3 {
            workload.run_task(&TaskCtx {
                worker: 2,
                task,
                stop: &stop,
            });
        }
        assert_eq!(stop.fault(), None);
        let out = std::fs::read_to_string(dir.path().join("out")).unwrap();
        assert_eq!(out, "x1.in 0 2 3 {x}\nx2.in 1 2 3 {x}\nx1.in 2 2 3 {x}\n");
        let usage = workload.take_child_usage().unwrap();
        assert_eq!(usage.children, 3);
        assert!(usage.peak_rss_bytes > 0);
        // Taken: the next trial starts from nothing.
        assert_eq!(workload.take_child_usage().unwrap().children, 0);
    }

    #[test]
    fn a_failing_task_stops_the_trial_with_its_stderr_tail() {
        let plan = ExecPlan::new(
            &spec(&[
                "sh",
                "-c",
                "echo first >&2; echo 'no such file: x' >&2; exit 3",
            ]),
            None,
        )
        .unwrap();
        let workload = Exec::new(Arc::new(plan), 1);
        let stop = TrialStop::new(CancelToken::new(), None);
        workload.run_task(&TaskCtx {
            worker: 0,
            task: 7,
            stop: &stop,
        });
        let Some(crate::cancel::TaskFault::Error(message)) = stop.fault() else {
            panic!("no fault: {:?}", stop.fault());
        };
        assert!(message.starts_with("task 7 failed: `"), "{message}");
        assert!(message.contains("exited with code 3"), "{message}");
        assert!(
            message.ends_with("its stderr ended: first / no such file: x"),
            "{message}"
        );
    }

    #[test]
    fn a_task_past_its_timeout_is_killed_and_fails() {
        let mut exec = spec(&["sleep", "30"]);
        exec.timeout_s = 0.05;
        let workload = Exec::new(Arc::new(ExecPlan::new(&exec, None).unwrap()), 1);
        let stop = TrialStop::new(CancelToken::new(), None);
        workload.run_task(&TaskCtx {
            worker: 0,
            task: 0,
            stop: &stop,
        });
        let message = stop.fault().map(|f| format!("{f:?}")).unwrap_or_default();
        assert!(
            message.contains("ran longer than workload.timeout_s = 0.05 s"),
            "{message}"
        );
    }
}
