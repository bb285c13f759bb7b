//! `async`: a tokio multi-thread runtime of `worker_threads` threads (default: the usable
//! CPUs) running N concurrent tasks, where N is the swept count, a concurrency, not a thread
//! count. Each of the N tasks (a "lane") takes the trial's next task index until there are
//! none left, so at most N of the trial's tasks are in flight, as at most N run on a thread
//! pool of N.
//!
//! A task of the `blocking` and `gil` workloads computes on the worker thread it was polled
//! on, then awaits `tokio::time::sleep` for its wait: the waiting task holds no thread, which
//! is why N can be 16 384 on 2 threads. tokio's timer has a 1 ms resolution (its wheel's
//! finest slot): a sleep is rounded up to the next millisecond tick, so a 100 µs wait lasts
//! about 1 ms (and never less than asked), and Little's law then holds with that W, not the
//! one written. `gil` computes holding one `tokio::sync::Mutex`, the interpreter lock of a
//! single-threaded event loop (only one task computes at a time; waits give it up; nothing
//! preempts a holder, as nothing preempts an asyncio task between two awaits, so
//! `switch_interval_us` plays no part). `cpu` computes only. Other workloads block a worker
//! thread (`file_io`'s reads and writes, `contended`'s lock, `memory`, `shared_state`,
//! `exec`) and are refused: by the spec rules at load ([`crate::spec`]), and here again.
//!
//! What is measured is what the thread pools measure: tasks run, wall time, the worker
//! threads' CPU time (each worker's own CPU clock, read before and after the trial: the
//! runtime's scheduling and timer work is counted, as a thread pool's queue work is), and a
//! latency histogram of one task in `sample_every` (from taking the task to the end of its
//! wait, so a timer's lateness is in it). A Stop aborts every lane at its next await (a
//! watcher task polls the stop flag and aborts them all), so 16 384 tasks in flight stop
//! within milliseconds; a task's sleep races against nothing, which keeps the runtime's work
//! per task to the timer's. It never blocks a worker thread on anything but the task's own
//! computation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::{Pool, TrialFailure, TrialPlan, TrialRun, new_histogram, panic_text, record_ns};
use crate::cancel::TrialStop;
use crate::spec::WorkloadSpec;
use crate::workload::{Spinner, WorkloadFactory};

/// How often the stop watcher looks at the trial's stop flag: a Stop is seen by every task
/// within this (plus the wake-up of the tasks it ends).
const STOP_POLL: Duration = Duration::from_millis(5);

/// Histograms the lanes record into, each behind its own lock (a lane uses `lane % SHARDS`):
/// one histogram per lane would be 16 384 histograms of several KiB, more than the tasks.
const SHARDS: usize = 64;

/// The most concurrent tasks an async pool runs: the sweep's own limit
/// ([`crate::spec::MAX_CONCURRENCY`]).
pub const MAX_CONCURRENCY: usize = crate::spec::MAX_CONCURRENCY;

/// What one async task does, built from the workload's spec.
#[derive(Debug)]
enum AsyncWork {
    /// Computation only.
    Cpu { spinner: Spinner, compute_us: u64 },
    /// Computation, then a `tokio::time::sleep`.
    Blocking {
        spinner: Spinner,
        compute_us: u64,
        wait_us: u64,
    },
    /// Computation holding the one interpreter lock, then a sleep without it.
    Gil {
        spinner: Spinner,
        compute_us: u64,
        wait_us: u64,
        lock: tokio::sync::Mutex<()>,
    },
}

impl AsyncWork {
    fn new(factory: &WorkloadFactory) -> Result<AsyncWork, String> {
        let source = factory.worker_source().map_err(|_| {
            "the async pool builds its tasks from a built-in workload's spec (cpu, blocking or gil), and this workload was built inside pooltune with none: run it on a pool of threads (rayon, queue or spawn)".to_owned()
        })?;
        let spinner = Spinner::new(&source.calibration);
        Ok(match source.spec {
            WorkloadSpec::Cpu { compute_us } => AsyncWork::Cpu {
                spinner,
                compute_us,
            },
            WorkloadSpec::Blocking {
                compute_us,
                wait_us,
            } => AsyncWork::Blocking {
                spinner,
                compute_us,
                wait_us,
            },
            WorkloadSpec::Gil {
                compute_us,
                wait_us,
                ..
            } => AsyncWork::Gil {
                spinner,
                compute_us,
                wait_us,
                lock: tokio::sync::Mutex::new(()),
            },
            ref other => return Err(crate::spec::async_refusal(other).unwrap_or_default()),
        })
    }

    /// Runs task `task`: its computation on this worker thread, then its wait (a Stop
    /// aborts the lane awaiting it).
    async fn run(&self, task: u64, stop: &TrialStop) {
        let wait_us = match self {
            AsyncWork::Cpu {
                spinner,
                compute_us,
            } => {
                spinner.compute_us(*compute_us as f64, task, stop);
                0
            }
            AsyncWork::Blocking {
                spinner,
                compute_us,
                wait_us,
            } => {
                spinner.compute_us(*compute_us as f64, task, stop);
                *wait_us
            }
            AsyncWork::Gil {
                spinner,
                compute_us,
                wait_us,
                lock,
            } => {
                let held = lock.lock().await;
                spinner.compute_us(*compute_us as f64, task, stop);
                drop(held);
                *wait_us
            }
        };
        if wait_us > 0 && !stop.interrupted() {
            tokio::time::sleep(Duration::from_micros(wait_us)).await;
        }
    }
}

/// One shard of the trial's latency record.
struct Shard {
    latency_ns: Histogram<u64>,
    sampled_time_ns: u64,
}

/// What the lanes of one trial share.
struct TrialShare {
    work: Arc<AsyncWork>,
    stop: Arc<TrialStop>,
    max_tasks: u64,
    sample_every: u64,
    next: AtomicU64,
    shards: Arc<Vec<Mutex<Shard>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// The worker threads' CPU clocks, registered as each starts and removed as it stops, so that
/// a registered thread is alive while the lock is held.
type WorkerIds = Arc<Mutex<Vec<crate::platform::ThreadClock>>>;

/// An async pool.
pub struct AsyncPool {
    runtime: Option<tokio::runtime::Runtime>,
    concurrency: usize,
    work: Arc<AsyncWork>,
    workers: WorkerIds,
    shards: Arc<Vec<Mutex<Shard>>>,
}

impl AsyncPool {
    /// A runtime of `worker_threads` threads (None: the usable CPUs) that will run
    /// `concurrency` tasks at once of the workload of `factory`.
    pub fn new(
        concurrency: usize,
        worker_threads: Option<usize>,
        factory: &WorkloadFactory,
    ) -> Result<AsyncPool, String> {
        let work = Arc::new(AsyncWork::new(factory)?);
        let threads = worker_threads
            .unwrap_or_else(crate::machine::online_cpus)
            .max(1);
        let workers: WorkerIds = Arc::new(Mutex::new(Vec::with_capacity(threads)));
        let (on_start, on_stop) = (workers.clone(), workers.clone());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("pooltune-async-worker")
            .enable_time()
            .on_thread_start(move || {
                lock(&on_start).push(crate::platform::ThreadClock::current());
            })
            .on_thread_stop(move || {
                lock(&on_stop).retain(|clock| !clock.is_current());
            })
            .build()
            .map_err(|err| {
                format!(
                    "could not start an async pool of {}: {err}",
                    crate::words::counted_usize(threads, "worker thread", "worker threads")
                )
            })?;
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    latency_ns: new_histogram(),
                    sampled_time_ns: 0,
                })
            })
            .collect();
        Ok(AsyncPool {
            runtime: Some(runtime),
            concurrency: concurrency.max(1),
            work,
            workers,
            shards: Arc::new(shards),
        })
    }

    /// The sum of the worker threads' CPU clocks, in nanoseconds.
    fn workers_cpu_ns(&self) -> u64 {
        let workers = lock(&self.workers);
        workers
            .iter()
            .map(crate::platform::ThreadClock::cpu_ns)
            .sum()
    }
}

/// One of the N concurrent tasks: takes task indices until none is left or the trial stops.
/// Returns the tasks it finished.
async fn lane(lane: usize, share: Arc<TrialShare>) -> u64 {
    let mut done = 0;
    let shard = &share.shards[lane % SHARDS];
    while !share.stop.should_stop() {
        let task = share.next.fetch_add(1, Ordering::Relaxed);
        if task >= share.max_tasks {
            break;
        }
        if task.is_multiple_of(share.sample_every) {
            let started = Instant::now();
            share.work.run(task, &share.stop).await;
            let ns = started.elapsed().as_nanos() as u64;
            let mut shard = lock(shard);
            record_ns(&mut shard.latency_ns, ns);
            shard.sampled_time_ns += ns;
        } else {
            share.work.run(task, &share.stop).await;
        }
        if share.stop.interrupted() {
            // A task cut short by a Stop is not a finished task.
            break;
        }
        done += 1;
    }
    done
}

impl Pool for AsyncPool {
    /// The concurrency N (the swept count), not the runtime's worker threads.
    fn threads(&self) -> usize {
        self.concurrency
    }

    fn run_trial(&mut self, plan: &TrialPlan<'_>) -> Result<TrialRun, TrialFailure> {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| TrialFailure::Failed("the async pool was shut down".to_owned()))?;
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            shard.latency_ns.reset();
            shard.sampled_time_ns = 0;
        }
        super::recorder::forget_children(plan);
        let share = Arc::new(TrialShare {
            work: self.work.clone(),
            stop: plan.stop.clone(),
            max_tasks: plan.max_tasks,
            sample_every: plan.sample_every.max(1),
            next: AtomicU64::new(0),
            shards: self.shards.clone(),
        });
        let lanes = u64::try_from(self.concurrency)
            .unwrap_or(u64::MAX)
            .min(plan.max_tasks) as usize;
        let cpu_before = self.workers_cpu_ns();
        let started = Instant::now();
        let outcome: Result<u64, String> = runtime.block_on(async {
            let handles: Vec<_> = (0..lanes)
                .map(|index| tokio::spawn(lane(index, share.clone())))
                .collect();
            let aborts: Vec<tokio::task::AbortHandle> =
                handles.iter().map(|handle| handle.abort_handle()).collect();
            // Ends every lane at its next await once the trial is interrupted; aborted
            // itself when the lanes are done.
            let watcher = {
                let stop = plan.stop.clone();
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(STOP_POLL);
                    loop {
                        tick.tick().await;
                        if stop.interrupted() {
                            aborts.iter().for_each(tokio::task::AbortHandle::abort);
                            return;
                        }
                    }
                })
            };
            let mut tasks = 0;
            let mut panic = None;
            for handle in handles {
                match handle.await {
                    Ok(done) => tasks += done,
                    Err(err) if err.is_panic() => {
                        let message = panic_text(&*err.into_panic());
                        // The first panic stops the other lanes, as on a thread pool.
                        plan.stop.record_panic(message.clone());
                        panic.get_or_insert(message);
                    }
                    // Aborted by the watcher: the trial was interrupted, and says so below.
                    Err(err) if err.is_cancelled() => {}
                    Err(err) => {
                        panic.get_or_insert(format!("an async task ended: {err}"));
                    }
                }
            }
            watcher.abort();
            match panic {
                Some(message) if plan.stop.fault().is_none() => Err(message),
                _ => Ok(tasks),
            }
        });
        let wall = started.elapsed();
        let worker_cpu_ns = self.workers_cpu_ns().saturating_sub(cpu_before);
        if let Some(fault) = plan.stop.fault() {
            return Err(fault.into());
        }
        if plan.stop.cancelled() {
            return Err(TrialFailure::Cancelled);
        }
        let tasks = outcome.map_err(TrialFailure::Failed)?;
        let mut latency_ns = new_histogram();
        let mut sampled_time_ns = 0;
        for shard in self.shards.iter() {
            let shard = lock(shard);
            let _ = latency_ns.add(&shard.latency_ns);
            sampled_time_ns += shard.sampled_time_ns;
        }
        let run = TrialRun {
            tasks,
            wall,
            worker_cpu_ns,
            latency_ns,
            sampled_time_ns,
            child_cpu_ns: 0,
            child_peak_rss_bytes: None,
        };
        Ok(super::recorder::count_children(plan, run))
    }
}

impl Drop for AsyncPool {
    fn drop(&mut self) {
        // Every lane has returned by the end of each trial; the workers stop here.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::CancelToken;
    use crate::result::Calibration;
    use crate::spec::WorkloadSpec;
    use crate::workload::Workload;

    fn factory(spec: WorkloadSpec) -> WorkloadFactory {
        let calibration = Calibration {
            spin_units_per_us: 100.0,
            timer_cost_ns: 20.0,
        };
        WorkloadFactory::from_spec(&spec, &calibration)
    }

    fn trial(
        pool: &mut AsyncPool,
        factory: &WorkloadFactory,
        tasks: u64,
        stop: Arc<TrialStop>,
    ) -> Result<TrialRun, TrialFailure> {
        let workload: Arc<dyn Workload> = factory.build(pool.threads()).unwrap();
        pool.run_trial(&TrialPlan {
            workload: &workload,
            max_tasks: tasks,
            sample_every: 1,
            chunk_tasks: 1,
            stop: &stop,
        })
    }

    #[test]
    fn a_trial_runs_exactly_the_tasks_asked_and_samples_each() {
        let factory = factory(WorkloadSpec::Blocking {
            compute_us: 5,
            wait_us: 2000,
        });
        let mut pool = AsyncPool::new(64, Some(2), &factory).unwrap();
        for tasks in [1, 63, 64, 1000] {
            let stop = Arc::new(TrialStop::new(CancelToken::new(), None));
            let run = trial(&mut pool, &factory, tasks, stop).unwrap();
            assert_eq!(run.tasks, tasks);
            assert_eq!(run.latency_ns.len(), tasks);
            // Every task waited at least its 2 ms.
            assert!(
                run.latency_ns.min() >= 2_000_000,
                "{}",
                run.latency_ns.min()
            );
            assert!(run.worker_cpu_ns > 0);
        }
    }

    #[test]
    fn concurrency_bounds_the_tasks_in_flight() {
        // 256 tasks that each wait 20 ms, 16 at a time: 16 rounds, at least 320 ms.
        let factory = factory(WorkloadSpec::Blocking {
            compute_us: 0,
            wait_us: 20_000,
        });
        let mut pool = AsyncPool::new(16, Some(1), &factory).unwrap();
        let stop = Arc::new(TrialStop::new(CancelToken::new(), None));
        let run = trial(&mut pool, &factory, 256, stop).unwrap();
        assert_eq!(run.tasks, 256);
        assert!(run.wall >= Duration::from_millis(320), "{:?}", run.wall);
    }

    #[test]
    fn a_stop_ends_sleeping_tasks_and_fails_the_trial_as_cancelled() {
        let factory = factory(WorkloadSpec::Blocking {
            compute_us: 0,
            wait_us: 10_000_000,
        });
        let mut pool = AsyncPool::new(1024, Some(2), &factory).unwrap();
        let cancel = CancelToken::new();
        let stop = Arc::new(TrialStop::new(cancel.clone(), None));
        let stopper = crate::engine::named_thread("pooltune-test-stopper", move || {
            std::thread::sleep(Duration::from_millis(100));
            cancel.cancel();
        })
        .unwrap();
        let started = Instant::now();
        let outcome = trial(&mut pool, &factory, 100_000, stop);
        stopper.join().unwrap();
        assert_eq!(outcome.unwrap_err(), TrialFailure::Cancelled);
        // Generous: the timing itself is in benches/async_pool.rs.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn thread_blocking_workloads_and_built_ones_are_refused() {
        for spec in [
            WorkloadSpec::FileIo {
                bytes: 10,
                fsync: false,
            },
            WorkloadSpec::Contended {
                compute_us: 10,
                serial_fraction: 0.5,
            },
        ] {
            let message = AsyncPool::new(4, Some(1), &factory(spec.clone()))
                .err()
                .unwrap();
            assert!(message.contains(spec.kind_name()), "{message}");
            assert!(message.starts_with("cpu, blocking or gil"), "{message}");
        }
        let built = WorkloadFactory::Built(Arc::new(crate::workload::Empty));
        let message = AsyncPool::new(4, Some(1), &built).err().unwrap();
        assert!(message.contains("built-in workload"), "{message}");
    }
}
