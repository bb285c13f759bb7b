//! Idle worker processes for the worker-cost experiment: pooltune started again as
//! `pooltune __pooltune-worker idle PARENT_PID`, one at a time, each timed from the spawn call
//! to the moment it says `ready`; kept alive blocked on a read of its stdin; stopped by
//! closing that pipe, and waited for. Their memory is read from `/proc/<pid>/smaps_rollup`
//! (RSS and PSS) and `/proc/<pid>/status` (VmSize).
//!
//! Why a fresh executable and not `fork()`: pooltune is multi-threaded (the app's UI, the
//! monitor, the engine), and a forked copy of a multi-threaded process may only call
//! async-signal-safe functions (POSIX `fork`): a lock held by another thread at the fork,
//! such as the allocator's, stays locked forever in the child. Starting the executable again
//! is what Python's `spawn` and `forkserver` methods do for the same reason; the Python rows
//! show what `fork` would save.

use std::io::{ErrorKind, Read as _};
#[cfg(unix)]
use std::os::fd::AsRawFd as _;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use super::procfs::{Pid, smaps_rollup, status_bytes};
use super::{WorkerCost, percentile};
use crate::pool::process::{IDLE_READY_LINE as READY_LINE, POOLTUNE_EXE_VAR, WORKER_MODE_ARG};

/// Longest wait for one process to say it is ready.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Longest wait for the processes to exit once their stdin is closed, before they are killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

struct IdleChild {
    child: Child,
    stdin: Option<ChildStdin>,
    exited: bool,
    /// So that a second Ctrl-C kills it too.
    _registration: crate::child::Registration,
}

/// N idle worker processes, alive until [`IdleProcesses::measure_and_stop`] or drop.
pub struct IdleProcesses {
    children: Vec<IdleChild>,
    start_latencies_us: Vec<f64>,
    error: Option<String>,
}

impl IdleProcesses {
    /// Starts `count` idle workers from `exe`, one after the other, each waited for before
    /// the next. A worker that cannot start ends the start early; the error is kept.
    pub fn start(count: usize, exe: &Path) -> IdleProcesses {
        let mut idle = IdleProcesses {
            children: Vec::with_capacity(count),
            start_latencies_us: Vec::with_capacity(count),
            error: None,
        };
        for index in 0..count {
            if let Err(message) = idle.start_one(exe) {
                idle.error = Some(format!(
                    "worker process {} of {count} could not start: {message}",
                    index + 1
                ));
                break;
            }
        }
        idle
    }

    fn start_one(&mut self, exe: &Path) -> Result<(), String> {
        let requested = Instant::now();
        let mut child = Command::new(exe)
            .args([WORKER_MODE_ARG, "idle", &std::process::id().to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| format!("{}: {err}", exe.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        // Kept first, so that a worker that does not answer is killed and reaped on return.
        let registration = crate::child::register_process(child.id());
        self.children.push(IdleChild {
            child,
            stdin,
            exited: false,
            _registration: registration,
        });
        let Some(mut stdout) = stdout else {
            return Err("its output pipe is missing".to_owned());
        };
        read_ready(&mut stdout, requested + START_TIMEOUT).map_err(|message| {
            format!(
                "{message}; is {} pooltune? (set {} to pooltune's executable)",
                exe.display(),
                POOLTUNE_EXE_VAR
            )
        })?;
        self.start_latencies_us
            .push(requested.elapsed().as_secs_f64() * 1e6);
        Ok(())
    }

    /// The workers' process ids.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(|c| c.child.id()).collect()
    }

    /// Reads each worker's memory, stops them all (timing the stop), and returns the cost.
    pub fn measure_and_stop(mut self) -> WorkerCost {
        let workers = self.start_latencies_us.len();
        let (mut rss, mut pss, mut virt, mut read) = (0u64, 0u64, 0u64, 0usize);
        for pid in self.pids() {
            let rollup = smaps_rollup(Pid::Other(pid));
            let size = status_bytes(Pid::Other(pid), "VmSize:");
            if let (Some(rollup), Some(size)) = (rollup, size) {
                rss += rollup.rss_bytes;
                pss += rollup.pss_bytes;
                virt += size;
                read += 1;
            }
        }
        let (stop_ms, stop_error) = self.stop();
        let mean = |total: u64| {
            if read == 0 {
                f64::NAN
            } else {
                total as f64 / read as f64
            }
        };
        let mut latencies = std::mem::take(&mut self.start_latencies_us);
        latencies.sort_by(f64::total_cmp);
        let error = self.error.take().or(stop_error).or_else(|| {
            (read < self.children.len()).then(|| {
                format!(
                    "the memory of {} worker processes could not be read",
                    self.children.len() - read
                )
            })
        });
        WorkerCost {
            workers,
            start_method: None,
            start_latency_p50_us: percentile(&latencies, 0.50),
            start_latency_p99_us: percentile(&latencies, 0.99),
            rss_per_worker_bytes: mean(rss),
            pss_per_worker_bytes: Some(mean(pss)),
            virtual_per_worker_bytes: mean(virt),
            stop_ms,
            stacks_reused: None,
            memory_unreliable: None,
            error,
        }
    }

    /// Closes every worker's stdin (each exits at end of file) and waits for all; returns the
    /// time that took in milliseconds, and an error when some had to be killed.
    fn stop(&mut self) -> (f64, Option<String>) {
        let started = Instant::now();
        for child in &mut self.children {
            child.stdin = None;
        }
        let deadline = started + STOP_TIMEOUT;
        let mut killed = 0;
        for idle in &mut self.children {
            while !idle.exited {
                match idle.child.try_wait() {
                    Ok(Some(_)) => idle.exited = true,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                    _ => {
                        let _ = idle.child.kill();
                        let _ = idle.child.wait();
                        idle.exited = true;
                        killed += 1;
                    }
                }
            }
        }
        let stop_ms = started.elapsed().as_secs_f64() * 1000.0;
        let error = (killed > 0).then(|| {
            format!(
                "{killed} worker processes did not exit within {} s and were killed",
                STOP_TIMEOUT.as_secs()
            )
        });
        (stop_ms, error)
    }
}

impl Drop for IdleProcesses {
    fn drop(&mut self) {
        for idle in &mut self.children {
            if !idle.exited {
                let _ = idle.child.kill();
                let _ = idle.child.wait();
                idle.exited = true;
            }
        }
    }
}

/// Why the bytes `got` so far are not the start of [`READY_LINE`], if they are not.
fn not_ready(got: &[u8]) -> Result<(), String> {
    if READY_LINE.starts_with(got) {
        Ok(())
    } else {
        Err(format!(
            "it answered {:?} instead of \"ready\"",
            String::from_utf8_lossy(got)
        ))
    }
}

/// Waits until the worker has written exactly [`READY_LINE`], or fails (Windows: no poll(2)
/// on a pipe, so a thread reads a copy of it and the wait is on its answer; a worker that
/// never answers is killed by the caller, which ends the thread's read).
#[cfg(windows)]
fn read_ready(stdout: &mut ChildStdout, deadline: Instant) -> Result<(), String> {
    use std::os::windows::io::AsHandle as _;
    let mut pipe = std::fs::File::from(
        stdout
            .as_handle()
            .try_clone_to_owned()
            .map_err(|err| format!("could not read its output: {err}"))?,
    );
    let (answer, answered) = crossbeam_channel::bounded(1);
    crate::engine::named_thread("pooltune-cost-ready", move || {
        let mut got = Vec::with_capacity(READY_LINE.len());
        let result = loop {
            if got.len() == READY_LINE.len() {
                break Ok(());
            }
            let mut byte = [0u8; 1];
            match pipe.read(&mut byte) {
                Ok(0) => break Err("it exited before saying it was ready".to_owned()),
                Ok(_) => {
                    got.push(byte[0]);
                    if let Err(why) = not_ready(&got) {
                        break Err(why);
                    }
                }
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => break Err(format!("could not read its output: {err}")),
            }
        };
        let _ = answer.send(result);
    })
    .map_err(|err| format!("could not start the thread reading its output: {err}"))?;
    answered
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .unwrap_or_else(|_| {
            Err(format!(
                "it did not say it was ready within {} s",
                START_TIMEOUT.as_secs()
            ))
        })
}

/// Waits until the worker has written exactly [`READY_LINE`], or fails.
#[cfg(unix)]
fn read_ready(stdout: &mut ChildStdout, deadline: Instant) -> Result<(), String> {
    let mut got = Vec::with_capacity(READY_LINE.len());
    while got.len() < READY_LINE.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "it did not say it was ready within {} s",
                START_TIMEOUT.as_secs()
            ));
        }
        let mut fd = libc::pollfd {
            fd: stdout.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let timeout_ms = libc::c_int::try_from(left.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid, writable pollfd.
        if unsafe { libc::poll(&mut fd, 1, timeout_ms) } <= 0 {
            continue; // timed out (checked above) or interrupted
        }
        let mut byte = [0u8; 1];
        match stdout.read(&mut byte) {
            Ok(0) => return Err("it exited before saying it was ready".to_owned()),
            Ok(_) => got.push(byte[0]),
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Err(format!("could not read its output: {err}")),
        }
        not_ready(&got)?;
    }
    Ok(())
}
