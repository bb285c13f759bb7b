//! Engine behaviour, proven without timing: pools run exactly the tasks asked, shared-state
//! totals are exact, a panicking task fails only its point, a stopped sweep keeps its finished
//! points, and every thread pooltune creates is named.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pooltune::cancel::{CancelToken, TrialStop};
use pooltune::pool::{self, TrialFailure, TrialPlan, WorkloadSource};
use pooltune::preset::{self, PoolSpec, Preset, SharedStrategy, TrialLength, WorkloadSpec};
use pooltune::result::{Calibration, Point};
use pooltune::sweep::{self, PointSetup, SweepEvent};
use pooltune::workload::{self, TaskCtx, Workload};

const TASKS: u64 = 101;

fn calibration() -> Calibration {
    Calibration {
        spin_units_per_us: 100.0,
        timer_cost_ns: 25.0,
    }
}

fn pools() -> Vec<PoolSpec> {
    vec![
        PoolSpec::Rayon,
        PoolSpec::Queue {
            queue_capacity: 4,
            chunk_size: 3,
        },
        PoolSpec::Queue {
            queue_capacity: 1,
            chunk_size: 1,
        },
        PoolSpec::Spawn,
    ]
}

fn setup(pool: PoolSpec, length: TrialLength) -> PointSetup {
    PointSetup {
        workload: WorkloadSpec::Cpu { compute_us: 1 },
        pool,
        trials: 3,
        length,
        warmup_ms: 0,
        calibration: calibration(),
        retry_disturbed: 0,
    }
}

/// Counts every task and checks that each index of a trial runs exactly once.
struct CountingWorkload {
    seen: Vec<AtomicU8>,
    runs: AtomicU64,
    trials_checked: AtomicU64,
}

impl CountingWorkload {
    fn new(max_tasks: usize) -> Self {
        CountingWorkload {
            seen: (0..max_tasks).map(|_| AtomicU8::new(0)).collect(),
            runs: AtomicU64::new(0),
            trials_checked: AtomicU64::new(0),
        }
    }
}

impl Workload for CountingWorkload {
    fn begin_trial(&self) {
        for s in &self.seen {
            s.store(0, Ordering::SeqCst);
        }
        self.runs.store(0, Ordering::SeqCst);
    }
    fn run_task(&self, ctx: &TaskCtx<'_>) {
        self.seen[ctx.task as usize].fetch_add(1, Ordering::SeqCst);
        self.runs.fetch_add(1, Ordering::SeqCst);
    }
    fn end_trial(&self, tasks_run: u64) -> Result<(), String> {
        let runs = self.runs.load(Ordering::SeqCst);
        if runs != tasks_run {
            return Err(format!(
                "pool reported {tasks_run} tasks, workload saw {runs}"
            ));
        }
        let twice = self
            .seen
            .iter()
            .filter(|s| s.load(Ordering::SeqCst) > 1)
            .count();
        if twice > 0 {
            return Err(format!("{twice} tasks ran more than once"));
        }
        let once = self
            .seen
            .iter()
            .filter(|s| s.load(Ordering::SeqCst) == 1)
            .count() as u64;
        if once != tasks_run {
            return Err(format!("{once} distinct tasks ran, {tasks_run} reported"));
        }
        self.trials_checked.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn every_pool_runs_exactly_the_tasks_asked() {
    for pool in pools() {
        for threads in [1, 3] {
            // Warm-up batches grow past TASKS: size the index space for them.
            let counting = Arc::new(CountingWorkload::new(1 << 16));
            let workload: Arc<dyn Workload> = counting.clone();
            let point = sweep::measure_workload(
                &setup(pool.clone(), TrialLength::Tasks(TASKS)),
                &workload,
                threads,
                &CancelToken::new(),
                &mut |_| {},
            )
            .expect("not cancelled");
            assert_eq!(point.error, None, "{pool:?} with {threads} threads");
            assert_eq!(point.tasks_per_trial, TASKS as f64, "{pool:?}");
            assert_eq!(point.trials, 3);
            // 3 measured trials + at least one warm-up batch, each checked.
            assert!(counting.trials_checked.load(Ordering::SeqCst) >= 4);
        }
    }
}

#[test]
fn a_fixed_length_trial_counts_what_it_ran() {
    for pool in pools() {
        let counting = Arc::new(CountingWorkload::new(1 << 22));
        let workload: Arc<dyn Workload> = counting.clone();
        let point = sweep::measure_workload(
            &setup(pool.clone(), TrialLength::Millis(30)),
            &workload,
            2,
            &CancelToken::new(),
            &mut |_| {},
        )
        .expect("not cancelled");
        // end_trial checked each trial's count against the distinct tasks the workload saw.
        assert_eq!(point.error, None, "{pool:?}");
        assert!(point.tasks_per_trial >= 1.0, "{pool:?}: {point:?}");
    }
}

/// Sleeps for the given microseconds per task (a task that waits, without a CPU cost).
struct Sleepy(u64);

impl Workload for Sleepy {
    fn run_task(&self, _ctx: &TaskCtx<'_>) {
        std::thread::sleep(Duration::from_micros(self.0));
    }
}

#[test]
fn a_large_queue_chunk_still_ends_at_the_trial_deadline() {
    // One queue message of 100 000 tasks of 100 µs is 10 s of work for one worker; a 50 ms
    // trial must not wait for it.
    let spec = PoolSpec::Queue {
        queue_capacity: 4,
        chunk_size: 100_000,
    };
    let source = WorkloadSource {
        spec: WorkloadSpec::Cpu { compute_us: 100 },
        calibration: calibration(),
    };
    let mut pool = pool::build(&spec, 2, &source).unwrap();
    let workload: Arc<dyn Workload> = Arc::new(Sleepy(100));
    let stop = Arc::new(TrialStop::new(
        CancelToken::new(),
        Some(Instant::now() + Duration::from_millis(50)),
    ));
    let run = pool
        .run_trial(&TrialPlan {
            workload: &workload,
            max_tasks: 200_000,
            sample_every: 1,
            chunk_tasks: 2,
            stop: &stop,
        })
        .unwrap();
    // About 50 ms / 100 µs × 2 workers = 1000 tasks ran, not a whole chunk.
    assert!(
        (1..20_000).contains(&run.tasks),
        "{} tasks in {:?}",
        run.tasks,
        run.wall
    );
}

/// Panics on one task index.
struct PanicAt(u64);

impl Workload for PanicAt {
    fn run_task(&self, ctx: &TaskCtx<'_>) {
        if ctx.task == self.0 {
            panic!("task {} exploded on purpose", ctx.task);
        }
    }
}

#[test]
fn a_panicking_task_fails_its_point_and_the_pool_stays_usable() {
    for pool_spec in pools() {
        let source = WorkloadSource {
            spec: WorkloadSpec::Cpu { compute_us: 1 },
            calibration: calibration(),
        };
        let mut pool = pool::build(&pool_spec, 2, &source).unwrap();
        let panicking: Arc<dyn Workload> = Arc::new(PanicAt(7));
        let stop = Arc::new(TrialStop::new(CancelToken::new(), None));
        let plan = TrialPlan {
            workload: &panicking,
            max_tasks: 50,
            sample_every: 1,
            chunk_tasks: 2,
            stop: &stop,
        };
        match pool.run_trial(&plan) {
            Err(TrialFailure::Panicked(message)) => {
                assert!(message.contains("exploded on purpose"), "{message}")
            }
            other => panic!("{pool_spec:?}: expected a panic failure, got {other:?}"),
        }
        // The same pool runs the next trial in full.
        let counting: Arc<dyn Workload> = Arc::new(CountingWorkload::new(64));
        counting.begin_trial();
        let stop = Arc::new(TrialStop::new(CancelToken::new(), None));
        let plan = TrialPlan {
            workload: &counting,
            max_tasks: 50,
            sample_every: 1,
            chunk_tasks: 2,
            stop: &stop,
        };
        let run = pool.run_trial(&plan).expect("pool usable after a panic");
        assert_eq!(run.tasks, 50, "{pool_spec:?}");
        counting.end_trial(run.tasks).unwrap();
    }
}

#[test]
fn a_failed_point_does_not_stop_the_next_one() {
    let setup = setup(PoolSpec::Rayon, TrialLength::Tasks(20));
    let panicking: Arc<dyn Workload> = Arc::new(PanicAt(3));
    let failed =
        sweep::measure_workload(&setup, &panicking, 2, &CancelToken::new(), &mut |_| {}).unwrap();
    let message = failed.error.expect("point failed");
    assert!(
        message.contains("a task panicked: task 3 exploded on purpose"),
        "{message}"
    );
    assert!(failed.throughput_per_s.is_nan());
    let fine: Arc<dyn Workload> = Arc::new(workload::Empty);
    let next = sweep::measure_workload(&setup, &fine, 2, &CancelToken::new(), &mut |_| {}).unwrap();
    assert_eq!(next.error, None);
}

fn shared_state_preset(strategy: SharedStrategy, pool: PoolSpec) -> Preset {
    Preset {
        schema_version: 1,
        name: format!("shared {}", strategy.as_str()),
        description: String::new(),
        workload: WorkloadSpec::SharedState {
            strategy,
            updates_per_task: 500,
        },
        pool,
        sweep: preset::SweepSpec {
            threads: Some(vec![1, 4]),
            threads_range: None,
            trials: 3,
            tasks_per_trial: Some(60),
            trial_ms: None,
            warmup_ms: 0,
            retry_disturbed: 1,
        },
    }
}

#[test]
fn shared_state_totals_are_exact_for_every_strategy_and_pool() {
    for strategy in SharedStrategy::ALL {
        for pool in pools() {
            let preset = shared_state_preset(strategy, pool.clone());
            let result = sweep::run_sweep(&preset, &CancelToken::new(), &mut |_| {}).unwrap();
            assert_eq!(result.points.len(), 2);
            for point in &result.points {
                // Each trial's end checked total == tasks × 500; a mismatch sets `error`.
                assert_eq!(point.error, None, "{strategy:?} on {pool:?}");
            }
        }
    }
}

#[test]
fn a_wrong_shared_state_total_is_reported() {
    for strategy in SharedStrategy::ALL {
        let spec = WorkloadSpec::SharedState {
            strategy,
            updates_per_task: 10,
        };
        let workload = workload::build(&spec, &calibration(), 2).unwrap();
        workload.begin_trial();
        let stop = TrialStop::new(CancelToken::new(), None);
        for task in 0..5 {
            workload.run_task(&TaskCtx {
                worker: (task % 2) as usize,
                task,
                stop: &stop,
            });
        }
        assert_eq!(workload.end_trial(5), Ok(()));
        let err = workload.end_trial(6).unwrap_err();
        assert!(
            err.contains("counted 50 but 6 tasks"),
            "{strategy:?}: {err}"
        );
    }
}

fn blocking_preset(threads: Vec<usize>) -> Preset {
    Preset {
        schema_version: 1,
        name: "stop test".into(),
        description: String::new(),
        workload: WorkloadSpec::Blocking {
            compute_us: 10,
            wait_us: 2000,
        },
        pool: PoolSpec::Rayon,
        sweep: preset::SweepSpec {
            threads: Some(threads),
            threads_range: None,
            trials: 3,
            tasks_per_trial: None,
            trial_ms: Some(100),
            warmup_ms: 20,
            retry_disturbed: 1,
        },
    }
}

#[test]
fn a_stopped_sweep_keeps_its_finished_points() {
    let preset = blocking_preset(vec![1, 2, 3, 4, 5]);
    let cancel = CancelToken::new();
    let cancelled_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let mut events = Vec::new();
    let result = sweep::run_sweep(&preset, &cancel, &mut |event| {
        if let SweepEvent::Point(point) = &event
            && point.threads == 2
        {
            cancel.cancel();
            *cancelled_at.lock().unwrap() = Some(Instant::now());
        }
        events.push(event);
    })
    .unwrap();
    let stopped_after = cancelled_at.lock().unwrap().unwrap().elapsed();
    assert!(result.cancelled);
    let threads: Vec<usize> = result.points.iter().map(|p| p.threads).collect();
    assert_eq!(threads, vec![1, 2]);
    assert!(result.points.iter().all(Point::is_ok));
    assert!(matches!(events.last(), Some(SweepEvent::Finished(r)) if r.points.len() == 2));
    // A hang detector, not a timing claim (the README reports the measured stop latency).
    assert!(stopped_after < Duration::from_secs(2), "{stopped_after:?}");
}

#[test]
fn stopping_mid_point_drops_only_that_point() {
    let preset = blocking_preset(vec![1, 2]);
    let cancel = CancelToken::new();
    let canceller = cancel.clone();
    let points_seen = Arc::new(AtomicBool::new(false));
    let result = sweep::run_sweep(&preset, &cancel, &mut |event| match event {
        SweepEvent::Point(_) => points_seen.store(true, Ordering::SeqCst),
        // Stop during the second point's first trial.
        SweepEvent::Progress(p) if p.threads == 2 && p.steps_done == 5 => canceller.cancel(),
        _ => {}
    })
    .unwrap();
    assert!(result.cancelled);
    assert_eq!(result.points.len(), 1);
    assert_eq!(result.points[0].threads, 1);
}

#[test]
fn events_arrive_in_order_and_progress_reaches_the_end() {
    let mut preset = blocking_preset(vec![1, 2]);
    preset.sweep.trial_ms = None;
    preset.sweep.tasks_per_trial = Some(10);
    let mut kinds = Vec::new();
    let mut last_progress = None;
    sweep::run_sweep(&preset, &CancelToken::new(), &mut |event| {
        kinds.push(match &event {
            SweepEvent::Started { .. } => 'S',
            SweepEvent::Progress(p) => {
                last_progress = Some(p.clone());
                'p'
            }
            SweepEvent::Point(_) => 'P',
            SweepEvent::Finished(_) => 'F',
        })
    })
    .unwrap();
    let kinds: String = kinds.into_iter().collect();
    assert_eq!(kinds, "SppppPppppPF");
    let last = last_progress.unwrap();
    assert_eq!(last.steps_done, last.steps_total);
    assert_eq!(last.fraction(), 1.0);
}

#[test]
fn every_pool_thread_has_a_pooltune_name() {
    /// Records the name of every thread that runs a task.
    struct NameRecorder(Mutex<Vec<String>>);
    impl Workload for NameRecorder {
        fn run_task(&self, _ctx: &TaskCtx<'_>) {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            self.0.lock().unwrap().push(name);
        }
    }
    for pool in pools() {
        let recorder = Arc::new(NameRecorder(Mutex::default()));
        let workload: Arc<dyn Workload> = recorder.clone();
        sweep::measure_workload(
            &setup(pool.clone(), TrialLength::Tasks(20)),
            &workload,
            2,
            &CancelToken::new(),
            &mut |_| {},
        )
        .unwrap();
        let names = recorder.0.lock().unwrap();
        assert!(!names.is_empty());
        for name in names.iter() {
            assert!(
                name.starts_with("pooltune-"),
                "{pool:?}: thread named {name:?}"
            );
        }
    }
}

#[test]
fn measured_cpu_and_wall_time_separate_computing_from_waiting() {
    // 1 ms waiting, almost no computing: wall ≫ cpu, so measured W/C is large.
    let calibration = workload::calibrate();
    let setup = PointSetup {
        workload: WorkloadSpec::Blocking {
            compute_us: 50,
            wait_us: 1000,
        },
        pool: PoolSpec::Rayon,
        trials: 3,
        length: TrialLength::Tasks(30),
        warmup_ms: 0,
        calibration,
        retry_disturbed: 1,
    };
    let point = sweep::measure_point(&setup, 2, &CancelToken::new(), &mut |_| {}).unwrap();
    assert_eq!(point.error, None);
    assert!(point.wall_time_per_task_us >= 1000.0, "{point:?}");
    assert!(point.cpu_time_per_task_us < 500.0, "{point:?}");
    assert!(point.measured_wait_over_compute() > 2.0, "{point:?}");
    // Little's law bound: 2 threads can finish at most 2 / 1.05 ms tasks per second.
    assert!(point.throughput_per_s <= 2.0 / 0.001_05 * 1.05, "{point:?}");
}

#[test]
fn file_io_removes_its_directory_even_when_stopped() {
    let before = temp_dirs();
    let preset = Preset {
        schema_version: 1,
        name: "file io".into(),
        description: String::new(),
        workload: WorkloadSpec::FileIo {
            bytes: 4096,
            fsync: false,
        },
        pool: PoolSpec::Rayon,
        sweep: preset::SweepSpec {
            threads: Some(vec![1, 2]),
            threads_range: None,
            trials: 3,
            tasks_per_trial: Some(20),
            trial_ms: None,
            warmup_ms: 0,
            retry_disturbed: 1,
        },
    };
    let result = sweep::run_sweep(&preset, &CancelToken::new(), &mut |_| {}).unwrap();
    assert!(
        result.points.iter().all(Point::is_ok),
        "{:?}",
        result.points
    );
    // Stop in the middle of the first point, while its folder exists. (A token cancelled
    // before the sweep stops it before any workload, and its folder, is made.)
    let cancel = CancelToken::new();
    let mut folder_seen = false;
    let stopped = sweep::run_sweep(&preset, &cancel, &mut |event| {
        if let SweepEvent::Progress(_) = event {
            folder_seen |= temp_dirs().difference(&before).next().is_some();
            cancel.cancel();
        }
    })
    .unwrap();
    assert!(stopped.cancelled && stopped.points.is_empty());
    assert!(
        folder_seen,
        "no file_io folder while the point ran: nothing checked"
    );
    let after = temp_dirs();
    let left: Vec<_> = after.difference(&before).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn temp_dirs() -> std::collections::BTreeSet<std::path::PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .expect("temporary folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("pooltune-file-io-"))
        })
        .collect()
}

#[test]
fn events_also_arrive_on_a_channel() {
    let mut preset = blocking_preset(vec![1, 2]);
    preset.sweep.trial_ms = None;
    preset.sweep.tasks_per_trial = Some(5);
    let (handle, events) = sweep::spawn_sweep_channel(preset, CancelToken::new()).unwrap();
    let received: Vec<SweepEvent> = events.iter().collect();
    let result = handle.join().unwrap().unwrap();
    assert!(matches!(received.first(), Some(SweepEvent::Started { .. })));
    assert!(matches!(received.last(), Some(SweepEvent::Finished(r)) if r.points == result.points));
    let points = received
        .iter()
        .filter(|e| matches!(e, SweepEvent::Point(_)))
        .count();
    assert_eq!(points, 2);
}
