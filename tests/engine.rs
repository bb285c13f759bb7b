//! Engine behaviour, proven without timing: pools (the process pool among them) run exactly
//! the tasks asked, shared-state totals are exact, a panicking task fails only its point, a
//! stopped sweep keeps its finished points, every thread pooltune creates is named, and a
//! process pool refuses a workload its workers cannot rebuild. A test-only source
//! ([`Scripted`], no timing) drives the engine's loop: series take turns, a failed series is
//! dropped, a stop ends the run, and a new source plugs in without touching engine code.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pooltune::cancel::{CancelToken, TrialStop};
use pooltune::engine::{
    self, Event, Measured, OnStep, PreparedSeries, Series, SeriesInfo, SeriesPlan,
};
use pooltune::pool::{self, TrialFailure, TrialPlan};
use pooltune::result::{Calibration, Point};
use pooltune::source::in_process::{self, PointSetup};
use pooltune::spec::SeriesKind;
use pooltune::spec::{
    self, Feeding, InvalidValue, PoolSpec, Preset, SharedStrategy, TrialLength, WorkloadSpec,
};
use pooltune::sweep;
use pooltune::workload::{self, TaskCtx, Workload, WorkloadFactory};

const TASKS: u64 = 101;

fn calibration() -> Calibration {
    Calibration {
        spin_units_per_us: 100.0,
        timer_cost_ns: 25.0,
    }
}

/// Every pool the engine has: the pools of threads and the process pool (both feedings).
fn pools() -> Vec<PoolSpec> {
    let mut pools = thread_pools();
    for feeding in [Feeding::Lazy, Feeding::Eager] {
        pools.push(PoolSpec::Process {
            chunk_size: 3,
            feeding,
        });
    }
    pools
}

/// The pools that run a workload built in this process (a process pool rebuilds its
/// workload from a spec in each worker, so a test's own workload cannot run there).
fn thread_pools() -> Vec<PoolSpec> {
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

/// A point measured without error, with exactly [`TASKS`] in each of its 3 trials.
fn assert_measured_exactly(point: &Point, pool: &PoolSpec, threads: usize) {
    assert_eq!(point.error, None, "{pool:?} with {threads} threads");
    assert_eq!(point.tasks_per_trial, TASKS as f64, "{pool:?}");
    assert_eq!(point.trials, 3);
}

#[test]
fn every_pool_runs_exactly_the_tasks_asked() {
    for pool in thread_pools() {
        for threads in [1, 3] {
            // Warm-up batches grow past TASKS: size the index space for them.
            let counting = Arc::new(CountingWorkload::new(1 << 16));
            let workload: Arc<dyn Workload> = counting.clone();
            let point = in_process::measure_workload(
                &setup(pool.clone(), TrialLength::Tasks(TASKS)),
                &workload,
                threads,
                &CancelToken::new(),
                &mut |_| {},
            )
            .expect("not cancelled");
            assert_measured_exactly(&point, &pool, threads);
            // 3 measured trials + at least one warm-up batch, each checked.
            assert!(counting.trials_checked.load(Ordering::SeqCst) >= 4);
        }
    }
}

#[test]
fn every_pool_measures_a_built_in_workload_for_exactly_the_tasks_asked() {
    for pool in pools() {
        for threads in [1, 3] {
            let point = in_process::measure_point(
                &setup(pool.clone(), TrialLength::Tasks(TASKS)),
                threads,
                &CancelToken::new(),
                &mut |_| {},
            )
            .expect("not cancelled");
            assert_measured_exactly(&point, &pool, threads);
        }
    }
}

#[test]
fn a_workload_built_here_is_refused_by_a_process_pool_not_replaced() {
    let counting = Arc::new(CountingWorkload::new(1 << 16));
    let workload: Arc<dyn Workload> = counting.clone();
    for feeding in [Feeding::Lazy, Feeding::Eager] {
        let pool = PoolSpec::Process {
            chunk_size: 3,
            feeding,
        };
        let point = in_process::measure_workload(
            &setup(pool, TrialLength::Tasks(TASKS)),
            &workload,
            2,
            &CancelToken::new(),
            &mut |_| {},
        )
        .expect("not cancelled");
        let error = point.error.expect("refused");
        assert!(
            error.contains("a process pool rebuilds its workload from a spec"),
            "{error}"
        );
        assert!(error.contains("run it on a pool of threads"), "{error}");
    }
    // Nothing ran in its place, here or in a worker.
    assert_eq!(counting.trials_checked.load(Ordering::SeqCst), 0);
    assert!(WorkloadFactory::Built(workload).worker_source().is_err());
}

#[test]
fn a_fixed_length_trial_counts_what_it_ran() {
    for pool in thread_pools() {
        let counting = Arc::new(CountingWorkload::new(1 << 22));
        let workload: Arc<dyn Workload> = counting.clone();
        let point = in_process::measure_workload(
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
    let workload: Arc<dyn Workload> = Arc::new(Sleepy(100));
    let factory = WorkloadFactory::Built(Arc::clone(&workload));
    let mut pool = pool::build(&spec, 2, &factory).unwrap();
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
    for pool_spec in thread_pools() {
        let panicking: Arc<dyn Workload> = Arc::new(PanicAt(7));
        let factory = WorkloadFactory::Built(Arc::clone(&panicking));
        let mut pool = pool::build(&pool_spec, 2, &factory).unwrap();
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
        in_process::measure_workload(&setup, &panicking, 2, &CancelToken::new(), &mut |_| {})
            .unwrap();
    let message = failed.error.expect("point failed");
    assert!(
        message.contains("a task panicked: task 3 exploded on purpose"),
        "{message}"
    );
    assert!(failed.throughput_per_s.is_nan());
    let fine: Arc<dyn Workload> = Arc::new(workload::Empty);
    let next =
        in_process::measure_workload(&setup, &fine, 2, &CancelToken::new(), &mut |_| {}).unwrap();
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
        sweep: spec::SweepSpec {
            search: Default::default(),
            target_ci: None,
            threads: Some(vec![1, 4]),
            threads_range: None,
            trials: 3,
            tasks_per_trial: Some(60),
            trial_ms: None,
            warmup_ms: 0,
            retry_disturbed: 1,
        },
        folder: None,
    }
}

#[test]
fn shared_state_totals_are_exact_for_every_strategy_and_pool() {
    // A process pool refuses shared state (its workers share no memory): the preset is invalid,
    // refused at load (spec::rules) naming `pool.kind`, not when its first point runs.
    for strategy in SharedStrategy::ALL {
        for feeding in [Feeding::Lazy, Feeding::Eager] {
            let pool = PoolSpec::Process {
                chunk_size: 1,
                feeding,
            };
            let invalid = shared_state_preset(strategy, pool)
                .validate(u64::MAX)
                .unwrap_err();
            assert_eq!(invalid.field, "pool.kind");
            assert!(invalid.allowed.contains("shared_state"), "{invalid}");
        }
        for pool in thread_pools() {
            let preset = shared_state_preset(strategy, pool.clone());
            let result = sweep::run(&preset, &CancelToken::new(), &mut |_| {}).unwrap();
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
        sweep: spec::SweepSpec {
            search: Default::default(),
            target_ci: None,
            threads: Some(threads),
            threads_range: None,
            trials: 3,
            tasks_per_trial: None,
            trial_ms: Some(100),
            warmup_ms: 20,
            retry_disturbed: 1,
        },
        folder: None,
    }
}

#[test]
fn a_stopped_sweep_keeps_its_finished_points() {
    let preset = blocking_preset(vec![1, 2, 3, 4, 5]);
    let cancel = CancelToken::new();
    let cancelled_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let mut events = Vec::new();
    let result = sweep::run(&preset, &cancel, &mut |event| {
        if let Event::Point { point, .. } = &event
            && point.threads == 2
        {
            cancel.cancel();
            *cancelled_at.lock().unwrap() = Some(Instant::now());
        }
        events.push(event);
    })
    .unwrap();
    let stopped_after = cancelled_at.lock().unwrap().unwrap().elapsed();
    assert!(result.outcome.cancelled);
    let threads: Vec<usize> = result.points.iter().map(|p| p.threads).collect();
    assert_eq!(threads, vec![1, 2]);
    assert!(result.points.iter().all(Point::is_ok));
    assert!(matches!(events.last(), Some(Event::Finished(r)) if r.series[0].points.len() == 2));
    // A hang detector, not a timing claim (the README reports the measured stop latency).
    assert!(stopped_after < Duration::from_secs(2), "{stopped_after:?}");
}

#[test]
fn stopping_mid_point_drops_only_that_point() {
    let preset = blocking_preset(vec![1, 2]);
    let cancel = CancelToken::new();
    let canceller = cancel.clone();
    let points_seen = Arc::new(AtomicBool::new(false));
    let result = sweep::run(&preset, &cancel, &mut |event| match event {
        Event::Point { .. } => points_seen.store(true, Ordering::SeqCst),
        // Stop during the second point's first trial.
        Event::Progress { progress: p, .. } if p.threads == 2 && p.steps_done == 5 => {
            canceller.cancel()
        }
        _ => {}
    })
    .unwrap();
    assert!(result.outcome.cancelled);
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
    sweep::run(&preset, &CancelToken::new(), &mut |event| {
        kinds.push(match &event {
            Event::Started(_) => 'S',
            Event::Progress { progress, .. } => {
                last_progress = Some(progress.clone());
                'p'
            }
            Event::Point { .. } => 'P',
            Event::SeriesFailed { .. } => 'X',
            Event::Finished(_) => 'F',
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
    for pool in thread_pools() {
        let recorder = Arc::new(NameRecorder(Mutex::default()));
        let workload: Arc<dyn Workload> = recorder.clone();
        in_process::measure_workload(
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
    let point = in_process::measure_point(&setup, 2, &CancelToken::new(), &mut |_| {}).unwrap();
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
        sweep: spec::SweepSpec {
            search: Default::default(),
            target_ci: None,
            threads: Some(vec![1, 2]),
            threads_range: None,
            trials: 3,
            tasks_per_trial: Some(20),
            trial_ms: None,
            warmup_ms: 0,
            retry_disturbed: 1,
        },
        folder: None,
    };
    let result = sweep::run(&preset, &CancelToken::new(), &mut |_| {}).unwrap();
    assert!(
        result.points.iter().all(Point::is_ok),
        "{:?}",
        result.points
    );
    // Stop in the middle of the first point, while its folder exists. (A token cancelled
    // before the sweep stops it before any workload, and its folder, is made.)
    let cancel = CancelToken::new();
    let mut folder_seen = false;
    let stopped = sweep::run(&preset, &cancel, &mut |event| {
        if let Event::Progress { .. } = event {
            folder_seen |= temp_dirs().difference(&before).next().is_some();
            cancel.cancel();
        }
    })
    .unwrap();
    assert!(stopped.outcome.cancelled && stopped.points.is_empty());
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
    let (sender, events) = crossbeam_channel::unbounded();
    let handle = engine::spawn_series("pooltune-sweep", preset, CancelToken::new(), move |e| {
        let _ = sender.send(e);
    })
    .unwrap();
    let received: Vec<Event> = events.iter().collect();
    let result = handle.join().unwrap().unwrap();
    assert!(matches!(received.first(), Some(Event::Started(_))));
    assert!(
        matches!(received.last(), Some(Event::Finished(r)) if r.series[0].points == result.series[0].points)
    );
    let points = received
        .iter()
        .filter(|e| matches!(e, Event::Point { .. }))
        .count();
    assert_eq!(points, 2);
}

/// Calls to the test-only source, in order: (series name, thread count).
type CallLog = Arc<Mutex<Vec<(char, usize)>>>;

/// A test-only source: measures nothing and answers at once with a known point (its
/// throughput is the thread count), fails its series or stops the run where told. It is a new
/// source plugged into the engine from outside: no engine code knows it.
struct Scripted {
    name: char,
    log: CallLog,
    fail_at: Option<usize>,
    cancel_at: Option<usize>,
}

impl Series for Scripted {
    fn measure(&mut self, threads: usize, cancel: &CancelToken, on_step: &mut OnStep) -> Measured {
        self.log.lock().unwrap().push((self.name, threads));
        if self.cancel_at == Some(threads) {
            cancel.cancel();
            return Measured::Cancelled;
        }
        for step in 1..=3 {
            on_step(step);
        }
        if self.fail_at == Some(threads) {
            return Measured::SeriesFailed(format!("{} broke", self.name));
        }
        let mut point = Point::failed(threads, "");
        point.error = None;
        point.throughput_per_s = threads as f64;
        Measured::Point(point)
    }
}

/// A run of [`Scripted`] series A, B, C at 1, 2 and 4 threads, 2 trials (3 steps a point).
struct ScriptedPlan {
    log: CallLog,
    fail_b_at: Option<usize>,
    cancel_c_at: Option<usize>,
    /// Series B cannot start at all (like a Python series without its interpreter).
    b_unavailable: bool,
}

impl ScriptedPlan {
    fn new() -> ScriptedPlan {
        ScriptedPlan {
            log: CallLog::default(),
            fail_b_at: None,
            cancel_c_at: None,
            b_unavailable: false,
        }
    }
}

impl SeriesPlan for ScriptedPlan {
    fn validate(&self) -> Result<(), InvalidValue> {
        Ok(())
    }
    fn thread_counts(&self) -> Vec<usize> {
        vec![1, 2, 4]
    }
    fn trials(&self) -> u32 {
        2
    }
    fn planned_s(&self) -> Option<f64> {
        None
    }
    fn prepare(&self, _calibration: &Calibration, _cancel: &CancelToken) -> Vec<PreparedSeries> {
        ['A', 'B', 'C']
            .into_iter()
            .map(|name| {
                let series: Result<Box<dyn Series>, String> = if name == 'B' && self.b_unavailable {
                    Err("B has no interpreter".into())
                } else {
                    Ok(Box::new(Scripted {
                        name,
                        log: Arc::clone(&self.log),
                        fail_at: (name == 'B').then_some(self.fail_b_at).flatten(),
                        cancel_at: (name == 'C').then_some(self.cancel_c_at).flatten(),
                    }))
                };
                PreparedSeries {
                    info: SeriesInfo {
                        label: name.to_string(),
                        kind: SeriesKind::Custom,
                        interpreter: None,
                    },
                    series,
                }
            })
            .collect()
    }
}

/// The events as short strings: `P A 2` for a point, `F B` for a failure.
fn describe(events: &[Event]) -> Vec<String> {
    let names = ['A', 'B', 'C'];
    events
        .iter()
        .filter_map(|e| match e {
            Event::Point { series, point } => {
                Some(format!("P {} {}", names[*series], point.threads))
            }
            Event::SeriesFailed { series, .. } => Some(format!("F {}", names[*series])),
            _ => None,
        })
        .collect()
}

/// Runs `plan` through the engine: its result and every event, in order.
fn run_scripted(plan: &ScriptedPlan, cancel: &CancelToken) -> (engine::RunResult, Vec<Event>) {
    let mut events = Vec::new();
    let result = engine::run_series(plan, cancel, &mut |e| events.push(e)).unwrap();
    (result, events)
}

/// The last progress event: its series and how far the run had got.
fn last_progress(events: &[Event]) -> (usize, engine::Progress) {
    events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Progress { series, progress } => Some((*series, progress.clone())),
            _ => None,
        })
        .unwrap()
}

#[test]
fn series_take_turns_at_each_thread_count() {
    let plan = ScriptedPlan {
        fail_b_at: Some(2),
        ..ScriptedPlan::new()
    };
    let (result, events) = run_scripted(&plan, &CancelToken::new());
    assert!(!result.outcome.cancelled);
    assert_eq!(
        describe(&events),
        [
            "P A 1", "P B 1", "P C 1", "P A 2", "F B", "P C 2", "P A 4", "P C 4"
        ]
    );
    // B is not asked again after it failed; the others stand.
    assert_eq!(
        *plan.log.lock().unwrap(),
        [
            ('A', 1),
            ('B', 1),
            ('C', 1),
            ('A', 2),
            ('B', 2),
            ('C', 2),
            ('A', 4),
            ('C', 4)
        ]
    );
    assert_eq!(result.series[1].points.len(), 1);
    assert_eq!(result.series[1].error.as_deref(), Some("B broke"));
    assert_eq!(result.series[2].points.len(), 3);
    // Progress ends at 1 even though B stopped early, and never goes back.
    let fractions: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Progress { progress, .. } => Some(progress.fraction()),
            _ => None,
        })
        .collect();
    assert!(fractions.windows(2).all(|w| w[0] <= w[1]), "{fractions:?}");
    let last = last_progress(&events);
    assert_eq!(last.0, 2);
    assert_eq!(last.1.steps_done, last.1.steps_total);
    assert!(matches!(events.last(), Some(Event::Finished(_))));
}

#[test]
fn a_stop_ends_the_run_and_keeps_the_points() {
    let plan = ScriptedPlan {
        cancel_c_at: Some(2),
        ..ScriptedPlan::new()
    };
    let (result, events) = run_scripted(&plan, &CancelToken::new());
    assert!(result.outcome.cancelled);
    assert_eq!(
        describe(&events),
        ["P A 1", "P B 1", "P C 1", "P A 2", "P B 2"]
    );
    assert_eq!(plan.log.lock().unwrap().last(), Some(&('C', 2)));
    assert_eq!(result.series[0].points.len(), 2);
    // Count 2 has points of A and B though C was stopped there: it is a count of the result,
    // so that a table of the counts shows them.
    assert_eq!(result.thread_counts, [1, 2]);
}

#[test]
fn a_series_that_cannot_start_is_reported_first_and_the_others_run() {
    let plan = ScriptedPlan {
        b_unavailable: true,
        ..ScriptedPlan::new()
    };
    let (result, events) = run_scripted(&plan, &CancelToken::new());
    assert!(
        matches!(&events[0], Event::Started(started) if started.series.len() == 3
            && started.thread_counts == [1, 2, 4])
    );
    assert!(matches!(
        &events[1],
        Event::SeriesFailed { series: 1, message } if message == "B has no interpreter"
    ));
    assert_eq!(
        describe(&events)[1..],
        ["P A 1", "P C 1", "P A 2", "P C 2", "P A 4", "P C 4"]
    );
    assert!(result.series[1].points.is_empty());
    assert_eq!(
        result.series[1].error.as_deref(),
        Some("B has no interpreter")
    );
    // The failed series' steps count as done: progress still reaches the end of all three
    // series' steps (3 counts of a warm-up and 2 trials each).
    let (_, last) = last_progress(&events);
    assert_eq!(last.steps_done, last.steps_total);
    assert_eq!(last.steps_total, 3 * 3 * 3);
}
