//! One controller for a background run, used by every tab: the engine's thread, the channel
//! its events arrive on, the token that stops it, when it started and whether Stop was asked.
//!
//! The sweep, the comparison and the worker-cost run each start their engine on its own named
//! thread and hand it a callback that sends events here; the tab drains them once a frame
//! with [`RunHandle::poll`]. Every tab's events are the engine's one enum
//! ([`crate::engine::Event`]; the worker cost's `cost::Event` is the same enum with its own
//! payloads), so `E` is that enum and `T` what the engine's thread returns. This module
//! never draws and never blocks the frame, except in `Drop`, which stops the run and waits
//! for it so that no measuring thread (nor a child process it reaps) outlives the window.

use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::cancel::CancelToken;

/// Where a run stands: the one status every tab shows (defined beside the session's runs,
/// which the drawing code reads, and re-exported here).
pub use crate::ui::session::RunStatus;

/// How a run's thread ended, once its last event has been received.
#[derive(Debug)]
pub enum RunEnd<T> {
    /// The engine returned (its result or its error).
    Returned(T),
    /// The engine's thread panicked.
    Panicked,
}

/// A run on its own thread: `E` the events it sends, `T` what its thread returns.
pub struct RunHandle<E, T> {
    thread: Option<JoinHandle<T>>,
    events: Receiver<E>,
    cancel: CancelToken,
    started: Instant,
    stopping: bool,
}

impl<E, T> RunHandle<E, T> {
    /// Starts a run: `spawn` gets the run's cancel token and the sender its engine callback
    /// sends events to, and returns the engine's thread (or why it could not start).
    pub fn spawn<Err>(
        spawn: impl FnOnce(CancelToken, Sender<E>) -> Result<JoinHandle<T>, Err>,
    ) -> Result<RunHandle<E, T>, Err> {
        let cancel = CancelToken::new();
        let (sender, events) = crossbeam_channel::unbounded();
        let thread = spawn(cancel.clone(), sender)?;
        Ok(RunHandle {
            thread: Some(thread),
            events,
            cancel,
            started: Instant::now(),
            stopping: false,
        })
    }

    /// Asks the run to stop; what it measured so far is kept (it still sends its `Finished`).
    pub fn stop(&mut self) {
        self.cancel.cancel();
        self.stopping = true;
    }

    /// True once Stop was asked.
    pub fn is_stopping(&self) -> bool {
        self.stopping
    }

    /// When the run was started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Hands every event waiting to `apply`, without blocking. `apply` returns true for the
    /// event that ends the run (its `Finished`); a closed channel ends it too. Once ended, the
    /// engine's thread is joined and how it ended is returned (once); until then `None`.
    pub fn poll(&mut self, mut apply: impl FnMut(E) -> bool) -> Option<RunEnd<T>> {
        let mut ended = false;
        loop {
            match self.events.try_recv() {
                Ok(event) => ended |= apply(event),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    ended = true;
                    break;
                }
            }
        }
        if !ended {
            return None;
        }
        let thread = self.thread.take()?;
        Some(match thread.join() {
            Ok(returned) => RunEnd::Returned(returned),
            Err(_) => RunEnd::Panicked,
        })
    }
}

impl<E, T> Drop for RunHandle<E, T> {
    fn drop(&mut self) {
        // Stop the engine and wait: it reaps every child process before it returns.
        self.cancel.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counting_run(events: usize) -> RunHandle<usize, usize> {
        RunHandle::spawn(|cancel, sender| {
            std::thread::Builder::new()
                .name("test-run".into())
                .spawn(move || {
                    for event in 0..events {
                        let _ = sender.send(event);
                    }
                    usize::from(cancel.is_cancelled())
                })
                .map_err(|err| err.to_string())
        })
        .unwrap()
    }

    #[test]
    fn events_arrive_then_the_thread_is_joined_once() {
        let mut run = counting_run(3);
        let mut seen = Vec::new();
        let mut end = None;
        while end.is_none() {
            end = run.poll(|event| {
                seen.push(event);
                false
            });
        }
        // The closed channel ended it: the thread returned without being cancelled.
        assert!(matches!(end, Some(RunEnd::Returned(0))));
        assert_eq!(seen, [0, 1, 2]);
        assert!(run.poll(|_| true).is_none());
    }

    #[test]
    fn stop_cancels_and_is_remembered() {
        let mut run = counting_run(0);
        assert!(!run.is_stopping());
        run.stop();
        assert!(run.is_stopping());
        assert!(run.started().elapsed().as_secs() < 60);
    }
}
