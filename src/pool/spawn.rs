//! `spawn`: one new OS thread per task, joined, with at most N alive at once: the naive
//! approach, which shows what creating a thread costs next to reusing one.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use super::{Pool, TrialFailure, TrialPlan, TrialRun, new_histogram, panic_text, record_ns};
use crate::cancel::TrialStop;
use crate::measure::thread_cpu_ns;
use crate::workload::{TaskCtx, Workload};

/// What one task thread reports when joined.
struct TaskReport {
    /// Task time in nanoseconds, when this task was sampled.
    timed_ns: Option<u64>,
    cpu_ns: u64,
    completed: bool,
}

/// A pool that is only a limit: N threads at most, each created for one task.
pub struct SpawnPool {
    threads: usize,
}

impl SpawnPool {
    /// A spawn pool of at most `threads` live threads.
    pub fn new(threads: usize) -> SpawnPool {
        SpawnPool { threads }
    }
}

fn run_one(
    workload: &Arc<dyn Workload>,
    stop: &Arc<TrialStop>,
    worker: usize,
    task: u64,
    timed: bool,
) -> TaskReport {
    let cpu_before = thread_cpu_ns();
    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| {
        workload.run_task(&TaskCtx { worker, task, stop });
    }));
    let ns = started.elapsed().as_nanos() as u64;
    if let Err(payload) = result {
        stop.record_panic(panic_text(&*payload));
    }
    TaskReport {
        timed_ns: timed.then_some(ns.max(1)),
        cpu_ns: thread_cpu_ns().saturating_sub(cpu_before),
        completed: !stop.interrupted(),
    }
}

impl Pool for SpawnPool {
    fn threads(&self) -> usize {
        self.threads
    }

    fn run_trial(&mut self, plan: &TrialPlan<'_>) -> Result<TrialRun, TrialFailure> {
        let mut latency_ns = new_histogram();
        let mut sampled_time_ns = 0;
        let (mut tasks, mut cpu_ns) = (0u64, 0u64);
        // (worker slot, handle), oldest first; a finished slot is reused by the next task.
        let mut alive: VecDeque<(usize, JoinHandle<TaskReport>)> = VecDeque::new();
        let mut free_slots: Vec<usize> = (0..self.threads).rev().collect();
        let mut spawn_error = None;
        let mut collect = |report: TaskReport| {
            if let Some(ns) = report.timed_ns {
                record_ns(&mut latency_ns, ns);
                sampled_time_ns += ns;
            }
            cpu_ns += report.cpu_ns;
            tasks += u64::from(report.completed);
        };
        let every = plan.sample_every.max(1);
        let started = Instant::now();
        let mut next = 0;
        while next < plan.max_tasks && !plan.stop.should_stop() {
            let slot = match free_slots.pop() {
                Some(slot) => slot,
                None => {
                    let Some((slot, handle)) = alive.pop_front() else {
                        break;
                    };
                    match handle.join() {
                        Ok(report) => collect(report),
                        Err(payload) => plan.stop.record_panic(panic_text(&*payload)),
                    }
                    slot
                }
            };
            let (workload, stop) = (plan.workload.clone(), plan.stop.clone());
            let task = next;
            let timed = task % every == 0;
            let spawned = std::thread::Builder::new()
                .name(format!("pooltune-spawn-{slot}"))
                .spawn(move || run_one(&workload, &stop, slot, task, timed));
            match spawned {
                Ok(handle) => alive.push_back((slot, handle)),
                Err(err) => {
                    spawn_error = Some(format!(
                        "could not create thread {} of {} for a spawn pool: {err}",
                        alive.len() + 1,
                        self.threads
                    ));
                    break;
                }
            }
            next += 1;
        }
        for (_, handle) in alive {
            match handle.join() {
                Ok(report) => collect(report),
                Err(payload) => plan.stop.record_panic(panic_text(&*payload)),
            }
        }
        let wall = started.elapsed();
        if let Some(message) = plan.stop.panic_message() {
            return Err(TrialFailure::Panicked(message));
        }
        if let Some(message) = spawn_error {
            return Err(TrialFailure::Failed(message));
        }
        if plan.stop.cancelled() {
            return Err(TrialFailure::Cancelled);
        }
        Ok(TrialRun {
            tasks,
            wall,
            worker_cpu_ns: cpu_ns,
            latency_ns,
            sampled_time_ns,
            child_cpu_ns: 0,
            child_peak_rss_bytes: None,
        })
    }
}
