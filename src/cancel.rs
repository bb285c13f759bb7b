//! Stopping work: a [`CancelToken`] the user's Stop sets, and the per-trial [`TrialStop`] that
//! also stops a trial when a task panics or the trial's time is up. Tasks check it between
//! small slices of work, so a stop takes effect within milliseconds.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Shared flag that asks a sweep (and every task in it) to stop. Cloning shares the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }
    /// Asks everything holding a clone to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// True once [`CancelToken::cancel`] was called on any clone.
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// How a task ended its trial early.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskFault {
    /// The task panicked; the panic's message.
    Panic(String),
    /// The task met an error it reports in words (an I/O error, memory that could not be
    /// allocated): the whole message.
    Error(String),
}

/// Why a trial should stop, checked by tasks and pools.
#[derive(Debug)]
pub struct TrialStop {
    cancel: CancelToken,
    aborted: AtomicBool,
    /// Set by [`TrialStop::finish`]: a run with no deadline is over.
    finished: AtomicBool,
    deadline: Option<Instant>,
    fault: Mutex<Option<TaskFault>>,
}

impl TrialStop {
    /// A trial that stops when `cancel` is set, a task panics, or `deadline` passes.
    pub fn new(cancel: CancelToken, deadline: Option<Instant>) -> TrialStop {
        TrialStop {
            cancel,
            aborted: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            deadline,
            fault: Mutex::new(None),
        }
    }

    /// Cheap check (two relaxed loads) for use inside tasks: cancelled or aborted.
    #[inline]
    pub fn interrupted(&self) -> bool {
        self.aborted.load(Ordering::Relaxed) || self.cancel.is_cancelled()
    }

    /// Full check for use between chunks of tasks: interrupted, finished, or past the deadline.
    pub fn should_stop(&self) -> bool {
        self.interrupted()
            || self.finished.load(Ordering::Relaxed)
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Ends the run as a deadline would: no new chunk starts, and tasks in flight finish
    /// normally (they are not interrupted). For a run kept going across the trials of a
    /// point, whose end the measuring thread decides.
    pub fn finish(&self) {
        self.finished.store(true, Ordering::Relaxed);
    }

    /// The user's Stop behind this trial, for a task that waits on something of its own
    /// (an `exec` task's child process, ended by the launcher when the token is set).
    pub fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }

    /// True when the user cancelled (as opposed to a panic or the deadline).
    pub fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// The trial's deadline, for a fixed-length trial.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Records that a task panicked (the first fault is kept) and stops the trial.
    pub fn record_panic(&self, message: String) {
        self.record(TaskFault::Panic(message));
    }

    /// Records that a task failed with an error it describes in `message` (the first fault
    /// is kept) and stops the trial. The task then returns as if stopped.
    pub fn record_error(&self, message: String) {
        self.record(TaskFault::Error(message));
    }

    fn record(&self, fault: TaskFault) {
        if let Ok(mut slot) = self.fault.lock()
            && slot.is_none()
        {
            *slot = Some(fault);
        }
        self.aborted.store(true, Ordering::Relaxed);
    }

    /// The first panic message, if the first fault was a panic.
    pub fn panic_message(&self) -> Option<String> {
        match self.fault() {
            Some(TaskFault::Panic(message)) => Some(message),
            _ => None,
        }
    }

    /// The first fault of a task, if one panicked or failed.
    pub fn fault(&self) -> Option<TaskFault> {
        self.fault.lock().ok().and_then(|slot| slot.clone())
    }
}
