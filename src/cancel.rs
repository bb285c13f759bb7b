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

/// Why a trial should stop, checked by tasks and pools.
#[derive(Debug)]
pub struct TrialStop {
    cancel: CancelToken,
    aborted: AtomicBool,
    deadline: Option<Instant>,
    panic_message: Mutex<Option<String>>,
}

impl TrialStop {
    /// A trial that stops when `cancel` is set, a task panics, or `deadline` passes.
    pub fn new(cancel: CancelToken, deadline: Option<Instant>) -> TrialStop {
        TrialStop {
            cancel,
            aborted: AtomicBool::new(false),
            deadline,
            panic_message: Mutex::new(None),
        }
    }

    /// Cheap check (two relaxed loads) for use inside tasks: cancelled or aborted.
    #[inline]
    pub fn interrupted(&self) -> bool {
        self.aborted.load(Ordering::Relaxed) || self.cancel.is_cancelled()
    }

    /// Full check for use between chunks of tasks: interrupted, or past the deadline.
    pub fn should_stop(&self) -> bool {
        self.interrupted() || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// True when the user cancelled (as opposed to a panic or the deadline).
    pub fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// The trial's deadline, for a fixed-length trial.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Records that a task panicked (the first message is kept) and stops the trial.
    pub fn record_panic(&self, message: String) {
        if let Ok(mut slot) = self.panic_message.lock()
            && slot.is_none()
        {
            *slot = Some(message);
        }
        self.aborted.store(true, Ordering::Relaxed);
    }

    /// The first panic message, if a task panicked.
    pub fn panic_message(&self) -> Option<String> {
        self.panic_message.lock().ok().and_then(|slot| slot.clone())
    }
}
