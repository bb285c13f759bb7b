//! pooltune's side of each worker process: the child and its three pipes, non-blocking, and
//! one `poll(2)` loop over all of them. A single thread both feeds the workers and reads their
//! results, so neither side can block the other (a blocking writer could wait on a worker that
//! itself waits for its full output pipe to be read). A worker's death shows as end-of-file on
//! its output pipe, so a trial notices it within one poll and never hangs on a dead worker.
//!
//! Windows has no poll(2) for pipes: there each pipe has a thread of its own (two readers
//! that send what they read, a writer fed the encoded frames), and [`pump`] waits on the
//! readers' channels instead; the frames, the messages and the events are the same.
//!
//! It never interprets messages beyond splitting frames.

#[cfg(unix)]
use std::io::{ErrorKind, Read as _, Write as _};
#[cfg(unix)]
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
#[cfg(unix)]
use std::process::{ChildStderr, ChildStdin, ChildStdout};
use std::time::{Duration, Instant};

use super::protocol::{self, FromWorker};
use crate::child::{self, Registration, Tail};

/// Bytes of a worker's standard error kept for messages about its death.
const STDERR_TAIL_BYTES: usize = 2048;

/// Longest wait for a worker whose output closed to exit on its own before it is killed.
const EXIT_GRACE: Duration = Duration::from_millis(500);

/// One worker process seen from pooltune.
pub(super) struct WorkerProcess {
    /// The worker's index in the pool.
    pub index: usize,
    child: Child,
    #[cfg(unix)]
    stdin: Option<ChildStdin>,
    #[cfg(unix)]
    stdout: Option<ChildStdout>,
    #[cfg(unix)]
    stderr: Option<ChildStderr>,
    /// The writer thread's channel: dropping it closes the worker's stdin.
    #[cfg(windows)]
    stdin: Option<crossbeam_channel::Sender<Vec<u8>>>,
    /// What the pipe threads read or saw.
    #[cfg(windows)]
    from_pipes: crossbeam_channel::Receiver<threaded::PipeEvent>,
    /// False once the output pipe ended.
    #[cfg(windows)]
    stdout_open: bool,
    /// Encoded frames not yet written; `out_pos` bytes of them are written already.
    out: Vec<u8>,
    out_pos: usize,
    /// Bytes read that do not make a whole frame yet.
    input: Vec<u8>,
    stderr_tail: Tail,
    status: Option<ExitStatus>,
    /// In the register of children a second Ctrl-C kills; dropped after the worker is reaped.
    _registration: Registration,
}

/// Something that happened to a worker during [`pump`].
#[derive(Debug)]
pub(super) enum Event {
    /// Worker `.0` sent a message.
    Message(usize, FromWorker),
    /// Worker `.0` can no longer be talked to; `.1` says how it went (its pipe closed, a
    /// damaged message).
    Gone(usize, String),
}

#[cfg(unix)]
fn set_nonblocking(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on a file descriptor we own, with integer arguments only.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

impl WorkerProcess {
    /// Starts `exe` with `args`, all three standard streams piped and made non-blocking, and
    /// `temp_dir` as its TMPDIR (so that whatever temporary folder it makes lies inside one
    /// pooltune removes, even when the worker is killed).
    pub fn spawn(
        exe: &Path,
        args: &[String],
        index: usize,
        temp_dir: &Path,
    ) -> std::io::Result<WorkerProcess> {
        let mut child = Command::new(exe)
            .args(args)
            .env("TMPDIR", temp_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let registration = child::register_process(child.id());
        #[cfg(windows)]
        return threaded::start(index, child, (stdin, stdout, stderr), registration);
        #[cfg(unix)]
        let mut worker = WorkerProcess {
            index,
            child,
            stdin,
            stdout,
            stderr,
            out: Vec::new(),
            out_pos: 0,
            input: Vec::new(),
            stderr_tail: Tail::new(STDERR_TAIL_BYTES),
            status: None,
            _registration: registration,
        };
        #[cfg(unix)]
        let fds = [
            worker.stdin.as_ref().map(AsRawFd::as_raw_fd),
            worker.stdout.as_ref().map(AsRawFd::as_raw_fd),
            worker.stderr.as_ref().map(AsRawFd::as_raw_fd),
        ];
        #[cfg(unix)]
        for fd in fds.into_iter().flatten() {
            if let Err(err) = set_nonblocking(fd) {
                worker.kill_and_reap();
                return Err(err);
            }
        }
        #[cfg(unix)]
        Ok(worker)
    }

    /// The worker's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The buffer to encode frames into; they are written by [`pump`].
    pub fn outbox(&mut self) -> &mut Vec<u8> {
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
        &mut self.out
    }

    fn wants_write(&self) -> bool {
        self.stdin.is_some() && self.out_pos < self.out.len()
    }

    /// Closes the worker's stdin: a worker waiting for work exits at once (dropping its
    /// workload, so a `file_io` worker removes its temporary folder).
    pub fn close_input(&mut self) {
        self.stdin = None;
    }

    /// True once the worker has exited and was waited for.
    fn has_exited(&mut self) -> bool {
        if self.status.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.status = Some(status);
        }
        self.status.is_some()
    }

    /// Kills the worker (if it still runs) and waits for it, so no zombie is left.
    pub fn kill_and_reap(&mut self) {
        self.stdin = None;
        if self.status.is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }

    /// Says how the worker ended, for an error message: waits briefly for it to exit (killing
    /// it if it does not), then names its exit code or signal and quotes its last words.
    pub fn death_message(&mut self, what_happened: &str) -> String {
        self.stdin = None;
        let deadline = Instant::now() + EXIT_GRACE;
        while self.status.is_none() && Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(status)) => self.status = Some(status),
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => break,
            }
        }
        let how = match self.status {
            Some(status) => describe_exit(status),
            None => {
                self.kill_and_reap();
                format!("{what_happened} and was killed")
            }
        };
        self.drain_stderr();
        let last_words = self
            .stderr_tail
            .last_line()
            .map(|line| format!(" (its last output: {})", truncate(&line, 300)))
            .unwrap_or_default();
        format!(
            "worker process {} (pid {}) {how}{last_words}",
            self.index,
            self.pid()
        )
    }

    #[cfg(unix)]
    fn drain_stderr(&mut self) {
        let Some(stderr) = &mut self.stderr else {
            return;
        };
        let mut buf = [0u8; 4096];
        loop {
            match stderr.read(&mut buf) {
                Ok(0) => {
                    self.stderr = None;
                    return;
                }
                Ok(n) => {
                    self.stderr_tail.push(&buf[..n]);
                }
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// Reads what the output pipe has; returns false at end of file or on an error.
    #[cfg(unix)]
    fn read_output(&mut self, scratch: &mut [u8]) -> bool {
        let Some(stdout) = &mut self.stdout else {
            return false;
        };
        loop {
            match stdout.read(scratch) {
                Ok(0) => {
                    self.stdout = None;
                    return false;
                }
                Ok(n) => self.input.extend_from_slice(&scratch[..n]),
                Err(err) if err.kind() == ErrorKind::WouldBlock => return true,
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.stdout = None;
                    return false;
                }
            }
        }
    }

    /// Writes what the input pipe takes; returns false when the worker stopped reading.
    #[cfg(unix)]
    fn write_input(&mut self) -> bool {
        let Some(stdin) = &mut self.stdin else {
            return false;
        };
        while self.out_pos < self.out.len() {
            match stdin.write(&self.out[self.out_pos..]) {
                Ok(0) => return false,
                Ok(n) => self.out_pos += n,
                Err(err) if err.kind() == ErrorKind::WouldBlock => return true,
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.stdin = None;
                    return false;
                }
            }
        }
        true
    }

    /// Splits whole frames off the input; a damaged one is an error.
    fn take_messages(&mut self, events: &mut Vec<Event>) -> Result<(), String> {
        let mut used_total = 0;
        let result = loop {
            match protocol::decode_from_worker(&self.input[used_total..]) {
                Ok(Some((message, used))) => {
                    used_total += used;
                    events.push(Event::Message(self.index, message));
                }
                Ok(None) => break Ok(()),
                Err(err) => break Err(err.to_string()),
            }
        };
        self.input.drain(..used_total);
        result
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

/// Ends every worker: closes their stdin, gives them up to `grace` to exit on their own (a
/// worker between chunks exits at once), then kills the rest; waits for all, so none is left,
/// not even as a zombie.
pub(super) fn end_all(workers: &mut [WorkerProcess], grace: Duration) {
    for worker in workers.iter_mut() {
        worker.close_input();
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && !workers.iter_mut().all(|w| w.has_exited()) {
        std::thread::sleep(Duration::from_millis(2));
    }
    for worker in workers.iter_mut() {
        worker.kill_and_reap();
    }
}

/// Bytes read from a pipe at once.
pub(super) const READ_CHUNK_BYTES: usize = 1 << 16;

/// Waits up to `timeout` for any pipe to be ready, then moves bytes: writes pending frames,
/// reads output into messages, keeps the tail of standard error. Appends what happened to
/// `events`; a worker whose output ended or who stopped reading gives [`Event::Gone`].
/// `scratch` is a read buffer kept by the caller between calls.
#[cfg(unix)]
pub(super) fn pump(
    workers: &mut [WorkerProcess],
    timeout: Duration,
    events: &mut Vec<Event>,
    scratch: &mut Vec<u8>,
) {
    #[derive(Clone, Copy)]
    enum Pipe {
        In,
        Out,
        Err,
    }
    let mut fds = Vec::with_capacity(workers.len() * 3);
    let mut owners = Vec::with_capacity(workers.len() * 3);
    for (w, worker) in workers.iter().enumerate() {
        if let Some(stdout) = &worker.stdout {
            fds.push(pollfd(stdout.as_raw_fd(), libc::POLLIN));
            owners.push((w, Pipe::Out));
        }
        if worker.wants_write()
            && let Some(stdin) = &worker.stdin
        {
            fds.push(pollfd(stdin.as_raw_fd(), libc::POLLOUT));
            owners.push((w, Pipe::In));
        }
        if let Some(stderr) = &worker.stderr {
            fds.push(pollfd(stderr.as_raw_fd(), libc::POLLIN));
            owners.push((w, Pipe::Err));
        }
    }
    let timeout_ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: `fds` is a valid, writable array of `fds.len()` pollfd structs.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if ready <= 0 {
        return; // timed out, or interrupted by a signal: the caller polls again
    }
    scratch.resize(READ_CHUNK_BYTES, 0);
    let mut gone = vec![false; workers.len()];
    for (fd, &(w, pipe)) in fds.iter().zip(&owners) {
        if fd.revents == 0 || gone[w] {
            continue;
        }
        let worker = &mut workers[w];
        match pipe {
            Pipe::Out => {
                let open = worker.read_output(scratch);
                if let Err(what) = worker.take_messages(events) {
                    gone[w] = true;
                    events.push(Event::Gone(w, format!("sent a damaged message ({what})")));
                } else if !open {
                    gone[w] = true;
                    events.push(Event::Gone(w, "closed its output".to_owned()));
                }
            }
            Pipe::In => {
                if !worker.write_input() {
                    gone[w] = true;
                    events.push(Event::Gone(w, "stopped reading its input".to_owned()));
                }
            }
            Pipe::Err => worker.drain_stderr(),
        }
    }
}

#[cfg(unix)]
fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// "exited with code 2", "was killed by signal 9 (SIGKILL)".
pub(super) fn describe_exit(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with code {code}");
    }
    match crate::platform::exit_signal(&status) {
        Some(signal) => format!("was killed by signal {signal} ({})", signal_name(signal)),
        None => "ended".to_owned(),
    }
}

#[cfg(windows)]
fn signal_name(_signal: i32) -> &'static str {
    "a signal"
}

#[cfg(unix)]
fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSEGV => "SIGSEGV, a crash",
        libc::SIGABRT => "SIGABRT, an abort",
        libc::SIGBUS => "SIGBUS, a crash",
        libc::SIGILL => "SIGILL, a crash",
        libc::SIGFPE => "SIGFPE, a crash",
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
        libc::SIGPIPE => "SIGPIPE",
        _ => "a signal",
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max_chars).collect();
    cut.push('…');
    cut
}

/// Windows: a thread per pipe, and [`pump`] waiting on what the readers send.
#[cfg(windows)]
mod threaded {
    use std::io::{Read as _, Write as _};
    use std::process::{Child, ChildStderr, ChildStdin, ChildStdout};
    use std::time::Duration;

    use super::{Event, READ_CHUNK_BYTES, STDERR_TAIL_BYTES, WorkerProcess};
    use crate::child::{Registration, Tail};

    /// What a pipe thread saw.
    pub(super) enum PipeEvent {
        /// Bytes from the worker's output.
        Out(Vec<u8>),
        /// The output pipe ended (the worker closed it or died).
        OutClosed,
        /// Bytes from the worker's standard error.
        Err(Vec<u8>),
        /// A write to the worker's input failed: it stopped reading.
        InClosed,
    }

    /// Starts the three pipe threads of a just-spawned worker.
    pub(super) fn start(
        index: usize,
        mut child: Child,
        (stdin, stdout, stderr): (Option<ChildStdin>, Option<ChildStdout>, Option<ChildStderr>),
        registration: Registration,
    ) -> std::io::Result<WorkerProcess> {
        let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) = (stdin, stdout, stderr) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other("the worker's pipes were not set up"));
        };
        let (events, from_pipes) = crossbeam_channel::unbounded();
        let (frames, to_stdin) = crossbeam_channel::unbounded::<Vec<u8>>();
        let spawned = (|| {
            let sender = events.clone();
            crate::engine::named_thread("pooltune-worker-out", move || {
                let mut buffer = vec![0u8; READ_CHUNK_BYTES];
                while let Ok(n @ 1..) = stdout.read(&mut buffer) {
                    if sender.send(PipeEvent::Out(buffer[..n].to_vec())).is_err() {
                        return;
                    }
                }
                let _ = sender.send(PipeEvent::OutClosed);
            })?;
            let sender = events.clone();
            crate::engine::named_thread("pooltune-worker-err", move || {
                let mut buffer = [0u8; 4096];
                while let Ok(n @ 1..) = stderr.read(&mut buffer) {
                    if sender.send(PipeEvent::Err(buffer[..n].to_vec())).is_err() {
                        return;
                    }
                }
            })?;
            let sender = events;
            crate::engine::named_thread("pooltune-worker-in", move || {
                // Ends when the worker's sender is dropped (its stdin closes with `stdin`).
                for frame in to_stdin {
                    if stdin
                        .write_all(&frame)
                        .and_then(|()| stdin.flush())
                        .is_err()
                    {
                        let _ = sender.send(PipeEvent::InClosed);
                        return;
                    }
                }
            })?;
            Ok::<(), std::io::Error>(())
        })();
        let mut worker = WorkerProcess {
            index,
            child,
            stdin: Some(frames),
            from_pipes,
            stdout_open: true,
            out: Vec::new(),
            out_pos: 0,
            input: Vec::new(),
            stderr_tail: Tail::new(STDERR_TAIL_BYTES),
            status: None,
            _registration: registration,
        };
        if let Err(err) = spawned {
            worker.kill_and_reap();
            return Err(err);
        }
        Ok(worker)
    }

    impl WorkerProcess {
        /// Takes what the pipe threads sent so far: output into `input`, standard error into
        /// its tail. Returns (output still open, input closed by the worker).
        fn take_pipe_events(&mut self) -> (bool, bool) {
            let mut input_closed = false;
            while let Ok(event) = self.from_pipes.try_recv() {
                match event {
                    PipeEvent::Out(bytes) => self.input.extend_from_slice(&bytes),
                    PipeEvent::OutClosed => self.stdout_open = false,
                    PipeEvent::Err(bytes) => self.stderr_tail.push(&bytes),
                    PipeEvent::InClosed => {
                        self.stdin = None;
                        input_closed = true;
                    }
                }
            }
            (self.stdout_open, input_closed)
        }

        pub(super) fn drain_stderr(&mut self) {
            let _ = self.take_pipe_events();
        }

        /// Hands the pending frames to the writer thread; false when it is gone.
        pub(super) fn write_input(&mut self) -> bool {
            let Some(stdin) = &self.stdin else {
                return false;
            };
            let pending = self.out[self.out_pos..].to_vec();
            self.out_pos = self.out.len();
            if stdin.send(pending).is_err() {
                self.stdin = None;
                return false;
            }
            true
        }
    }

    /// [`super::pump`] on Windows: hands pending frames to the writers, waits up to `timeout`
    /// for a reader to send something, then turns what came into events.
    pub(in super::super) fn pump(
        workers: &mut [WorkerProcess],
        timeout: Duration,
        events: &mut Vec<Event>,
        _scratch: &mut Vec<u8>,
    ) {
        for (w, worker) in workers.iter_mut().enumerate() {
            if worker.wants_write() && !worker.write_input() {
                events.push(Event::Gone(w, "stopped reading its input".to_owned()));
            }
        }
        // Only workers whose output is open: a closed one was reported once already, and its
        // channel, once every thread is gone, would be ready at once for ever.
        let open: Vec<usize> = (0..workers.len())
            .filter(|&w| workers[w].stdout_open)
            .collect();
        if open.is_empty() {
            std::thread::sleep(timeout);
            return;
        }
        let mut select = crossbeam_channel::Select::new();
        for &w in &open {
            select.recv(&workers[w].from_pipes);
        }
        if select.ready_timeout(timeout).is_err() {
            return;
        }
        for w in open {
            let worker = &mut workers[w];
            let (still_open, input_closed) = worker.take_pipe_events();
            if input_closed {
                events.push(Event::Gone(w, "stopped reading its input".to_owned()));
            } else if let Err(what) = worker.take_messages(events) {
                events.push(Event::Gone(w, format!("sent a damaged message ({what})")));
            } else if !still_open {
                events.push(Event::Gone(w, "closed its output".to_owned()));
            }
        }
    }
}

#[cfg(windows)]
pub(super) use threaded::pump;
