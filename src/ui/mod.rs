//! The desktop app's drawing code, one file per part of the window: the configuration side
//! panel (`config`), the sweep plots (`plots`), the live readings (`live`), the runs list and
//! results table (`results`), plus the session's runs (`session`) and number formatting
//! (`format`), which hold no egui at all.
//!
//! The worker-cost tab (`cost`) also holds its run's controller (start, stop, receive), called
//! only from the app's `run_cmd` and `logic`, never from its drawing code.
//!
//! Drawing functions end in `_ui`, edit what they are given in place and push
//! [`crate::app::Command`]s for anything else; none of them starts the engine, reads a file or
//! waits on a thread. The Compare tab (`compare`) keeps its run beside its drawing, but the
//! same way: its drawing pushes commands, and the app applies them after the frame.

pub mod compare;
pub mod config;
pub mod cost;
pub mod format;
pub mod live;
pub mod plots;
pub mod results;
pub mod session;

/// Hands every event waiting on `events` to `apply`, without blocking. `apply` returns true
/// for the event that ends a run (its `Finished`); a closed channel ends it too. Returns
/// whether the run has ended, so the caller can join the engine's thread. The sweep, the
/// Compare tab and the Worker cost tab all receive their engine's events this way.
pub fn drain_events<E>(
    events: &crossbeam_channel::Receiver<E>,
    mut apply: impl FnMut(E) -> bool,
) -> bool {
    let mut ended = false;
    loop {
        match events.try_recv() {
            Ok(event) => ended |= apply(event),
            Err(crossbeam_channel::TryRecvError::Empty) => return ended,
            Err(crossbeam_channel::TryRecvError::Disconnected) => return true,
        }
    }
}
