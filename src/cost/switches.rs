//! Switch cost for the worker-cost experiment: two workers of one kind pass a message back and
//! forth (a ping-pong) a given number of times, and the wall time says how many switches a
//! second that kind of worker makes. Rust threads use two `std` threads and two
//! `std::sync::mpsc` channels; tokio tasks use two tasks on one current-thread runtime and two
//! `tokio::sync::mpsc` channels, so every hand-off is a switch between coroutines on one
//! thread. Python's rows come from the script.
//!
//! It measures; it never retries, never keeps a worker alive after it returns, and checks the
//! cancel token every [`CANCEL_EVERY`] round trips.

use std::sync::mpsc;
use std::time::Instant;

use super::{SwitchCost, WorkerKind};
use crate::cancel::CancelToken;

/// Round trips between two looks at the cancel token.
pub const CANCEL_EVERY: usize = 1024;

/// The ping-pong of `kind` (a Rust thread or a tokio task) with `round_trips` round trips.
/// Another kind, or a stop before the end, gives a failed cost saying so.
pub fn measure(kind: WorkerKind, round_trips: usize, cancel: &CancelToken) -> SwitchCost {
    match kind {
        WorkerKind::RustThread => threads(round_trips, cancel),
        WorkerKind::TokioTask => tokio_tasks(round_trips, cancel),
        other => SwitchCost::failed(
            other,
            format!(
                "pooltune measures the switch cost of rust_thread and tokio_task itself; {} comes from the Python script",
                other.as_str()
            ),
        ),
    }
}

/// Two threads: this one sends `i`, the echo thread sends it back.
fn threads(round_trips: usize, cancel: &CancelToken) -> SwitchCost {
    let kind = WorkerKind::RustThread;
    let (to_echo, echo_in) = mpsc::sync_channel::<usize>(1);
    let (echo_out, from_echo) = mpsc::sync_channel::<usize>(1);
    let echo = crate::engine::named_thread("pooltune-cost-echo", move || {
        while let Ok(value) = echo_in.recv() {
            if echo_out.send(value).is_err() {
                break;
            }
        }
    });
    let echo = match echo {
        Ok(handle) => handle,
        Err(err) => return SwitchCost::failed(kind, format!("could not start a thread: {err}")),
    };
    let started = Instant::now();
    let mut done = 0;
    let mut broken = false;
    while done < round_trips {
        if done % CANCEL_EVERY == 0 && cancel.is_cancelled() {
            break;
        }
        if to_echo.send(done).is_err() || from_echo.recv() != Ok(done) {
            broken = true;
            break;
        }
        done += 1;
    }
    let elapsed = started.elapsed();
    drop(to_echo);
    let _ = echo.join();
    finish(kind, round_trips, done, elapsed, broken)
}

/// Two tasks on one current-thread runtime: the pinger sends `i`, the echo task sends it back.
fn tokio_tasks(round_trips: usize, cancel: &CancelToken) -> SwitchCost {
    let kind = WorkerKind::TokioTask;
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            return SwitchCost::failed(kind, format!("could not build a tokio runtime: {err}"));
        }
    };
    let cancel = cancel.clone();
    runtime.block_on(async move {
        let (to_echo, mut echo_in) = tokio::sync::mpsc::channel::<usize>(1);
        let (echo_out, mut from_echo) = tokio::sync::mpsc::channel::<usize>(1);
        let echo = tokio::spawn(async move {
            while let Some(value) = echo_in.recv().await {
                if echo_out.send(value).await.is_err() {
                    break;
                }
            }
        });
        let pinger = tokio::spawn(async move {
            let started = Instant::now();
            let mut done = 0;
            let mut broken = false;
            while done < round_trips {
                if done % CANCEL_EVERY == 0 && cancel.is_cancelled() {
                    break;
                }
                if to_echo.send(done).await.is_err() || from_echo.recv().await != Some(done) {
                    broken = true;
                    break;
                }
                done += 1;
            }
            (done, started.elapsed(), broken)
        });
        let outcome = pinger.await;
        let _ = echo.await;
        match outcome {
            Ok((done, elapsed, broken)) => finish(kind, round_trips, done, elapsed, broken),
            Err(err) => SwitchCost::failed(kind, format!("the ping-pong task failed: {err}")),
        }
    })
}

fn finish(
    kind: WorkerKind,
    asked: usize,
    done: usize,
    elapsed: std::time::Duration,
    broken: bool,
) -> SwitchCost {
    if broken {
        return SwitchCost::failed(kind, format!("the echo ended after {done} round trips"));
    }
    if done < asked {
        return SwitchCost::failed(kind, format!("stopped after {done} of {asked} round trips"));
    }
    SwitchCost::measured(kind, done, elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ping_pongs_make_every_round_trip() {
        for kind in SwitchCost::RUST_KINDS {
            let cost = measure(kind, 2000, &CancelToken::new());
            assert_eq!(cost.kind, kind);
            assert_eq!(cost.round_trips, 2000, "{cost:?}");
            assert!(cost.error.is_none(), "{cost:?}");
            assert!(cost.switches_per_s > 0.0 && cost.switches_per_s.is_finite());
            // Two switches per round trip: the two figures describe the same wall time.
            let from_round_trip = 2.0 * 1e9 / cost.round_trip_ns;
            assert!((from_round_trip / cost.switches_per_s - 1.0).abs() < 1e-9);
        }
    }

    #[test]
    fn a_stopped_ping_pong_says_so() {
        let cancel = CancelToken::new();
        cancel.cancel();
        let cost = measure(WorkerKind::TokioTask, 5000, &cancel);
        assert!(cost.switches_per_s.is_nan());
        assert!(cost.error.unwrap().contains("stopped after 0 of 5000"));
    }

    #[test]
    fn python_kinds_are_not_measured_here() {
        let cost = measure(WorkerKind::PythonGenerator, 10, &CancelToken::new());
        assert!(cost.error.unwrap().contains("Python script"));
    }
}
