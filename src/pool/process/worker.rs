//! What pooltune does when started as a worker: `pooltune __pooltune-worker pool PARENT_PID`
//! (a process pool worker) or `... idle PARENT_PID` (an idle process for the worker-cost
//! experiment). Both exit when pooltune closes their stdin or dies (the parent-death signal),
//! so a worker never outlives pooltune.
//!
//! The pool worker reads the workload once, then runs the chunks of tasks it is sent, timing
//! them, and streams the results back; it is single-threaded and never writes anything but
//! protocol frames to stdout.

use std::io::{BufReader, BufWriter, ErrorKind, Read as _, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use super::IDLE_READY_LINE;
use super::protocol::{self, FromWorker, TaskDescription, ToWorker};
use crate::cancel::{CancelToken, TaskFault, TrialStop};
use crate::measure::{peak_rss_bytes, process_cpu_ns, reset_peak_rss, thread_cpu_ns};
use crate::pool::panic_text;
use crate::workload::{self, TaskCtx, Workload};

/// Exit code of a worker that lost its pipes or got a damaged message.
const EXIT_BROKEN: i32 = 3;

/// Asks the kernel to kill this process when the thread that started it exits, so that a
/// worker never outlives a pooltune that crashed or was killed. Returns false when pooltune
/// (`parent_pid`) is already gone. Linux `PR_SET_PDEATHSIG` (the signal follows the parent
/// *thread*, which is why a pool must be dropped on the thread that built it); a kqueue on
/// macOS, the parent's handle on Windows (see `platform::die_with_parent`).
pub(crate) fn die_with_parent(parent_pid: Option<u32>) -> bool {
    crate::platform::die_with_parent(parent_pid)
}

/// Signal dispositions of a worker process, set before anything else:
///
/// - SIGINT is ignored. A Ctrl-C at a terminal goes to the whole foreground process group,
///   workers included; pooltune decides what a Ctrl-C means (stop, keep the finished points)
///   and ends its workers itself, so a worker must not die of it and fail the point.
/// - SIGSEGV and SIGBUS get their default action back. Rust's runtime installs a handler for
///   them that reports stack overflows; for any other fault it restores the default and
///   returns, expecting the faulting instruction to run again and kill the process. A signal
///   sent with kill(2) has no faulting instruction, so the worker would go on as if nothing
///   had happened and the point would report success. With the default action, a worker
///   that receives one dies of it and the point fails with the signal's name. (A stack
///   overflow in a worker then shows as SIGSEGV, without Rust's message.)
pub(crate) fn set_worker_signals() {
    // SAFETY: signal(2) with valid signal numbers and the SIG_IGN/SIG_DFL constants; no other
    // thread exists yet in a worker process.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        #[cfg(unix)]
        libc::signal(libc::SIGBUS, libc::SIG_DFL);
    }
}

/// Runs the pool worker until pooltune closes the pipe; returns the process exit code.
pub(crate) fn run_pool_worker(parent_pid: Option<u32>) -> i32 {
    if !die_with_parent(parent_pid) {
        return EXIT_BROKEN;
    }
    // Own copies of stdin and stdout: buffered binary I/O without stdout's line buffering.
    let Ok((stdin, stdout)) = crate::platform::stdin_stdout_files() else {
        return EXIT_BROKEN;
    };
    let mut input = BufReader::with_capacity(1 << 16, stdin);
    let mut output = BufWriter::with_capacity(1 << 16, stdout);
    let mut frame = Vec::new();
    let mut send = |output: &mut BufWriter<std::fs::File>, message: &FromWorker| {
        frame.clear();
        protocol::encode_from_worker(&mut frame, message);
        output
            .write_all(&frame)
            .and_then(|()| output.flush())
            .is_ok()
    };

    let setup = match protocol::read_to_worker(&mut input) {
        Ok(Some(ToWorker::Setup(setup))) => setup,
        Ok(None) => return 0,
        Ok(Some(_)) => {
            send(
                &mut output,
                &FromWorker::Failed("expected the setup first".into()),
            );
            return EXIT_BROKEN;
        }
        Err(message) => {
            send(&mut output, &FromWorker::Failed(message));
            return EXIT_BROKEN;
        }
    };
    let workload = match workload::build(&setup.spec, &setup.calibration, 1) {
        Ok(workload) => workload,
        Err(message) => {
            send(
                &mut output,
                &FromWorker::Failed(format!(
                    "worker {} could not prepare the workload: {message}",
                    setup.worker
                )),
            );
            return EXIT_BROKEN;
        }
    };
    if !send(&mut output, &FromWorker::Ready) {
        return EXIT_BROKEN;
    }

    let mut trial: Option<TrialState> = None;
    loop {
        let message = match protocol::read_to_worker(&mut input) {
            Ok(Some(message)) => message,
            Ok(None) => return 0,
            Err(message) => {
                send(&mut output, &FromWorker::Failed(message));
                return EXIT_BROKEN;
            }
        };
        let reply = match message {
            ToWorker::Setup(_) => FromWorker::Failed("a second setup".into()),
            ToWorker::Begin { sample_every } => {
                workload.begin_trial();
                // The trial's peak starts from here (see `peak_rss_bytes` in the end report).
                reset_peak_rss();
                trial = Some(TrialState::new(sample_every));
                continue;
            }
            ToWorker::Tasks(tasks) => match &mut trial {
                Some(state) => state.run_chunk(&workload, &tasks),
                None => FromWorker::Failed("tasks outside a trial".into()),
            },
            ToWorker::End => match trial.take() {
                Some(state) => FromWorker::Ended {
                    process_cpu_ns: process_cpu_ns().saturating_sub(state.process_cpu_before),
                    peak_rss_bytes: peak_rss_bytes(),
                    error: workload.end_trial(state.tasks).err(),
                },
                None => FromWorker::Failed("an end outside a trial".into()),
            },
        };
        let failed = matches!(reply, FromWorker::Failed(_));
        if !send(&mut output, &reply) || failed {
            return EXIT_BROKEN;
        }
        // A panic or a task's error is reported once, right after the chunk it ended.
        if let Some(state) = &mut trial
            && let Some(fault) = state.unreported_fault.take()
            && !send(&mut output, &fault)
        {
            return EXIT_BROKEN;
        }
    }
}

/// One trial's state in a worker.
struct TrialState {
    stop: Arc<TrialStop>,
    sample_every: u64,
    countdown: u64,
    tasks: u64,
    process_cpu_before: u64,
    /// The trial's first fault (a panic or a task's error) as the message that reports it,
    /// until it is sent.
    unreported_fault: Option<FromWorker>,
    fault_reported: bool,
}

impl TrialState {
    fn new(sample_every: u64) -> TrialState {
        TrialState {
            // Nobody cancels a worker's stop: pooltune kills the process instead. It is aborted
            // when a task panics, so the rest of the trial's tasks are skipped.
            stop: Arc::new(TrialStop::new(CancelToken::new(), None)),
            sample_every: sample_every.max(1),
            countdown: 0,
            tasks: 0,
            process_cpu_before: process_cpu_ns(),
            unreported_fault: None,
            fault_reported: false,
        }
    }

    /// Runs a chunk like the in-process pools' recorder does, and reports it.
    fn run_chunk(&mut self, workload: &Arc<dyn Workload>, tasks: &[TaskDescription]) -> FromWorker {
        if let Some(bad) = tasks.iter().find(|t| !t.is_intact()) {
            return FromWorker::Failed(format!(
                "the description of task {} arrived damaged",
                bad.index
            ));
        }
        let mut samples_ns = Vec::new();
        let mut done = 0u64;
        let mut checksum = 0u64;
        let cpu_before = thread_cpu_ns();
        let stop = &*self.stop;
        let result = catch_unwind(AssertUnwindSafe(|| {
            for task in tasks {
                if stop.interrupted() {
                    return;
                }
                // The payload is the task's argument: read it, as a real task would.
                std::hint::black_box(&task.payload);
                let ctx = TaskCtx {
                    worker: 0,
                    task: task.index,
                    stop,
                };
                if self.countdown == 0 {
                    let started = Instant::now();
                    workload.run_task(&ctx);
                    samples_ns.push((started.elapsed().as_nanos() as u64).max(1));
                    self.countdown = self.sample_every - 1;
                } else {
                    workload.run_task(&ctx);
                    self.countdown -= 1;
                }
                done += 1;
                checksum = checksum.wrapping_add(protocol::index_checksum(task.index));
            }
        }));
        let cpu_ns = thread_cpu_ns().saturating_sub(cpu_before);
        if let Err(payload) = result {
            self.stop.record_panic(panic_text(&*payload));
        }
        if !self.fault_reported
            && let Some(fault) = self.stop.fault()
        {
            self.fault_reported = true;
            self.unreported_fault = Some(match fault {
                TaskFault::Panic(message) => FromWorker::Panicked(message),
                TaskFault::Error(message) => FromWorker::TaskError(message),
            });
        }
        self.tasks += done;
        FromWorker::ChunkDone {
            tasks: done,
            cpu_ns,
            index_checksum: checksum,
            samples_ns,
        }
    }
}

/// The idle worker (`pooltune __pooltune-worker idle PARENT_PID`): says ready, then blocks
/// reading stdin until pooltune closes it. Returns the exit code.
pub(crate) fn run_idle_worker(parent_pid: Option<u32>) -> i32 {
    if !die_with_parent(parent_pid) {
        return EXIT_BROKEN;
    }
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(IDLE_READY_LINE)
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return EXIT_BROKEN;
    }
    let mut stdin = std::io::stdin().lock();
    let mut buf = [0u8; 64];
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => return 0,
            Ok(_) => {}
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(_) => return EXIT_BROKEN,
        }
    }
}
