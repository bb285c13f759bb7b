//! `queue`: N named worker threads pulling chunks of task indices from one bounded channel of
//! capacity `queue_capacity`: the shape of Python's ThreadPoolExecutor and of a
//! producer-consumer queue. The producer (the sweep thread) blocks when the queue is full.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use super::{
    LiveCounts, Pool, RunProgress, TrialFailure, TrialPlan, TrialRun, WorkerRecorder, worker_name,
};
use crate::cancel::TrialStop;
use crate::workload::Workload;

/// The part of a [`TrialPlan`] a worker thread keeps for the length of a trial.
struct TrialShare {
    workload: Arc<dyn Workload>,
    stop: Arc<TrialStop>,
    sample_every: u64,
    /// Tasks between two checks of the stop flag and deadline (the engine's chunk of about
    /// 200 µs of work), however large the queue's own `chunk_size` is.
    check_every: u64,
    /// What the workers have done so far, for a run read while it goes on.
    live: Arc<LiveCounts>,
}

/// A run [`Pool::start_run`] began: its producer feeds the queue on a thread of its own
/// while the measuring thread reads the run.
struct Running {
    stop: Arc<TrialStop>,
    live: Arc<LiveCounts>,
    producer: JoinHandle<Result<(), ()>>,
    started: Instant,
}

enum Message {
    /// Tasks to run, with the trial they belong to. (The trial travels with every message:
    /// a separate "begin" message per worker could be taken twice by one worker.)
    Tasks(Arc<TrialShare>, Range<u64>),
    /// The trial's tasks are all sent: report and wait to be resumed.
    End,
}

/// A queue pool.
pub struct QueuePool {
    sender: Option<Sender<Message>>,
    reports: Receiver<WorkerRecorder>,
    /// Trials whose End every worker has reported: a worker that reported the End of trial
    /// k waits (parked) until this reaches k, so it cannot take a second End of the same
    /// trial. (A `Barrier` did this with one mutex and `notify_all`: with 4096 workers on 2
    /// CPUs, their fight for that mutex ran into the next trial, whose throughput fell from
    /// 13 560 to 825 tasks.)
    resumed: Arc<AtomicU64>,
    workers: Vec<JoinHandle<()>>,
    chunk_size: u64,
    running: Option<Running>,
}

impl QueuePool {
    /// Starts `threads` named workers on a channel of `capacity` messages.
    pub fn new(threads: usize, capacity: usize, chunk_size: usize) -> Result<QueuePool, String> {
        let (sender, receiver) = crossbeam_channel::bounded::<Message>(capacity);
        let (report_tx, reports) = crossbeam_channel::unbounded();
        let resumed = Arc::new(AtomicU64::new(0));
        let mut workers = Vec::with_capacity(threads);
        for index in 0..threads {
            let (receiver, report_tx, resumed) =
                (receiver.clone(), report_tx.clone(), resumed.clone());
            let spawned = std::thread::Builder::new()
                .name(worker_name(index))
                .spawn(move || worker_loop(index, &receiver, &report_tx, &resumed));
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(err) => {
                    // Dropping the sender ends the workers already started.
                    drop(sender);
                    for handle in workers {
                        let _ = handle.join();
                    }
                    return Err(format!(
                        "could not start worker {index} of a queue pool of {}: {err}",
                        crate::words::counted_usize(threads, "thread", "threads")
                    ));
                }
            }
        }
        Ok(QueuePool {
            sender: Some(sender),
            reports,
            resumed,
            workers,
            chunk_size: chunk_size.max(1) as u64,
            running: None,
        })
    }
}

fn worker_loop(
    index: usize,
    receiver: &Receiver<Message>,
    reports: &Sender<WorkerRecorder>,
    resumed: &AtomicU64,
) {
    let mut recorder = WorkerRecorder::new();
    let mut go_on = true;
    let mut ends = 0u64;
    while let Ok(message) = receiver.recv() {
        match message {
            Message::Tasks(share, range) => {
                if !go_on {
                    continue; // drain the queue quickly once the trial stopped
                }
                let plan = TrialPlan {
                    workload: &share.workload,
                    max_tasks: range.end,
                    sample_every: share.sample_every,
                    chunk_tasks: share.check_every,
                    stop: &share.stop,
                };
                // A queue chunk may hold seconds of work (`chunk_size` up to 1 000 000): run
                // it in the engine's small steps so that Stop and the trial's deadline are
                // seen within one step.
                let mut first = range.start;
                while go_on && first < range.end {
                    let end = (first + share.check_every).min(range.end);
                    go_on = share
                        .live
                        .run_chunk(&mut recorder, &plan, index, first, end);
                    first = end;
                }
            }
            Message::End => {
                go_on = true;
                let report = std::mem::take(&mut recorder);
                if reports.send(report).is_err() {
                    return;
                }
                // Waiting here keeps this worker from taking another worker's End.
                ends += 1;
                while resumed.load(Ordering::Acquire) < ends {
                    std::thread::park();
                }
            }
        }
    }
}

/// Sends `share`'s tasks `0..max_tasks` in messages of `chunk_size` until they are all sent
/// or the trial stops; Err when the workers are gone.
fn produce(
    sender: &Sender<Message>,
    share: &Arc<TrialShare>,
    chunk_size: u64,
    max_tasks: u64,
) -> Result<(), ()> {
    let mut next = 0;
    while next < max_tasks && !share.stop.should_stop() {
        let end = (next + chunk_size).min(max_tasks);
        sender
            .send(Message::Tasks(share.clone(), next..end))
            .map_err(|_| ())?;
        next = end;
    }
    Ok(())
}

fn broken() -> TrialFailure {
    TrialFailure::Failed("a queue worker stopped unexpectedly".to_owned())
}

impl QueuePool {
    fn share(plan: &TrialPlan<'_>, threads: usize) -> Arc<TrialShare> {
        Arc::new(TrialShare {
            workload: plan.workload.clone(),
            stop: plan.stop.clone(),
            sample_every: plan.sample_every,
            check_every: plan.chunk_tasks.max(1),
            live: Arc::new(LiveCounts::new(threads)),
        })
    }

    fn sender(&self) -> Result<&Sender<Message>, TrialFailure> {
        self.sender
            .as_ref()
            .ok_or_else(|| TrialFailure::Failed("the queue pool was shut down".to_owned()))
    }

    /// Tells every worker the trial's tasks are all sent, collects their recorders and lets
    /// them go on to the next trial.
    fn collect(
        &mut self,
        plan: &TrialPlan<'_>,
        started: Instant,
    ) -> Result<TrialRun, TrialFailure> {
        let threads = self.workers.len();
        let sender = self.sender()?;
        for _ in 0..threads {
            sender.send(Message::End).map_err(|_| broken())?;
        }
        let mut reports = Vec::with_capacity(threads);
        for _ in 0..threads {
            reports.push(self.reports.recv().map_err(|_| broken())?);
        }
        let wall = started.elapsed();
        self.resumed.fetch_add(1, Ordering::AcqRel);
        for worker in &self.workers {
            worker.thread().unpark();
        }
        super::rayon_pool::finish_trial(plan, wall, reports.iter_mut().map(Ok::<_, ()>))
    }
}

impl Pool for QueuePool {
    fn threads(&self) -> usize {
        self.workers.len()
    }

    fn run_trial(&mut self, plan: &TrialPlan<'_>) -> Result<TrialRun, TrialFailure> {
        let share = QueuePool::share(plan, self.workers.len());
        super::recorder::forget_children(plan);
        let started = Instant::now();
        produce(self.sender()?, &share, self.chunk_size, plan.max_tasks).map_err(|_| broken())?;
        self.collect(plan, started)
    }

    fn runs_continuously(&self) -> bool {
        true
    }

    fn start_run(&mut self, plan: &TrialPlan<'_>) -> Result<(), TrialFailure> {
        if self.running.is_some() {
            return Err(TrialFailure::Failed(
                "a queue pool's run was started twice".to_owned(),
            ));
        }
        let share = QueuePool::share(plan, self.workers.len());
        super::recorder::forget_children(plan);
        let (sender, chunk_size, max_tasks) =
            (self.sender()?.clone(), self.chunk_size, plan.max_tasks);
        let live = share.live.clone();
        let started = Instant::now();
        let producer = std::thread::Builder::new()
            .name("pooltune-queue-producer".to_owned())
            .spawn(move || produce(&sender, &share, chunk_size, max_tasks))
            .map_err(|err| {
                TrialFailure::Failed(format!("could not start the queue's producer: {err}"))
            })?;
        self.running = Some(Running {
            stop: plan.stop.clone(),
            live,
            producer,
            started,
        });
        Ok(())
    }

    fn run_progress(&self) -> RunProgress {
        self.running
            .as_ref()
            .map_or_else(RunProgress::default, |run| run.live.read())
    }

    fn finish_run(&mut self, plan: &TrialPlan<'_>) -> Result<TrialRun, TrialFailure> {
        let Some(running) = self.running.take() else {
            return Err(super::no_run_started());
        };
        // The producer sees the run's stop at its next message, at most a full queue's
        // wait: the workers skip what is left once the stop is set.
        match running.producer.join() {
            Ok(Ok(())) => {}
            Ok(Err(())) | Err(_) => return Err(broken()),
        }
        self.collect(plan, running.started)
    }
}

impl Drop for QueuePool {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            // A run nobody collected: its producer stops at its next message.
            running.stop.finish();
            let _ = running.producer.join();
        }
        // Closing the channel ends every worker's loop; one still waiting after an End is let go.
        self.sender = None;
        self.resumed.store(u64::MAX, Ordering::Release);
        for worker in &self.workers {
            worker.thread().unpark();
        }
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }
}
