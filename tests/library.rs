//! pooltune as a library: a closure measured through the engine, its counts, its panics, the
//! pools it may not run on, and the JSON it writes read back as the CLI's results are.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use pooltune::result::SweepResult;
use pooltune::result::comparison::ComparisonResult;
use pooltune::spec::{Feeding, PoolSpec};
use pooltune::{ClosureSeries, PoolKind, TuneResult, Tuner};

#[allow(dead_code)]
#[path = "../examples/tune_closure.rs"]
mod example;

/// A short tuner: few tasks, no warm-up time, never a repeated trial (a repeat runs the
/// closure again, which would make the counts below differ by a whole trial).
fn short(name: &str) -> Tuner {
    Tuner::new(name).warmup_ms(0).retry_disturbed(0)
}

fn sweep(result: &TuneResult) -> &SweepResult {
    match result {
        TuneResult::Sweep(sweep) => sweep,
        TuneResult::Comparison(_) => panic!("one series gives a sweep"),
    }
}

#[test]
fn the_example_runs_and_its_closure_ran_every_task_the_result_counts() {
    let settings = example::Settings {
        threads: vec![1, 2],
        trial_ms: 60,
        warmup_ms: 20,
        retry_disturbed: 0,
        lines_per_task: 20,
        store_wait_us: 300,
    };
    let calls = Arc::new(AtomicU64::new(0));
    let result = example::tune(&settings, Arc::clone(&calls)).unwrap();
    let sweep = sweep(&result);
    assert_eq!(sweep.points.len(), 2);
    for point in &sweep.points {
        assert_eq!(point.error, None, "{} threads", point.threads);
    }
    // Timed trials are windows of one run of the pool per count (README, "Trials"): every
    // task a window counts ran, and the run's other tasks are those before its first window
    // (at most one window's time) and the one in flight on each worker after its last.
    let counted: f64 = sweep
        .points
        .iter()
        .map(|p| p.tasks_per_trial * f64::from(p.trials))
        .sum();
    let most: f64 = sweep
        .points
        .iter()
        .map(|p| p.tasks_per_trial * f64::from(p.trials + 1) + 2.0 * p.threads as f64)
        .sum();
    let ran = calls.load(Ordering::Relaxed) as f64;
    assert!(
        ran + 1.0 >= counted && ran <= most,
        "the closure ran {ran} times outside the warm-ups; the windows counted {counted:.1}, \
         and the runs had room for at most {most:.1}"
    );
    // The task sleeps after parsing: its wall time exceeds its CPU time, and the model says so.
    let (label, recommendation) = &result.recommendations(&Default::default())[0];
    assert_eq!(label, "parse and store logs");
    let wait_over_compute = recommendation.measured_wait_over_compute.unwrap();
    assert!(wait_over_compute > 0.0, "W/C = {wait_over_compute}");
    assert!(recommendation.formula_threads.is_some());
    assert!(recommendation.recommended_threads.is_some());
    // The example's parser reads every line's status and size.
    let lines = example::log_lines(6);
    let totals = example::parse(&lines);
    assert_eq!(totals.iter().filter(|&&b| b > 0).count(), 4, "{totals:?}");
}

#[test]
fn every_trial_calls_the_closure_exactly_as_often_as_the_result_says() {
    const TASKS: u64 = 500;
    const TRIALS: u32 = 4;
    let threads = [1usize, 3, 2];
    // Calls outside the warm-up per thread count, calls in the warm-up, and calls that saw
    // a worker index or task index out of range.
    let measured: Arc<Vec<AtomicU64>> = Arc::new((0..4).map(|_| AtomicU64::new(0)).collect());
    let warm_up = Arc::new(AtomicU64::new(0));
    let out_of_range = Arc::new(AtomicU64::new(0));
    let (m, w, o) = (
        Arc::clone(&measured),
        Arc::clone(&warm_up),
        Arc::clone(&out_of_range),
    );
    let result = short("counts")
        .threads(threads)
        .trials(TRIALS)
        .tasks_per_trial(TASKS)
        .series(ClosureSeries::new(
            "queue",
            PoolKind::queue(),
            move |task| {
                if task.worker >= task.threads || task.index >= TASKS {
                    o.fetch_add(1, Ordering::Relaxed);
                }
                if task.warm_up {
                    w.fetch_add(1, Ordering::Relaxed);
                } else {
                    m[task.threads].fetch_add(1, Ordering::Relaxed);
                }
            },
        ))
        .run()
        .unwrap();
    let sweep = sweep(&result);
    let measured_threads: Vec<usize> = sweep.points.iter().map(|p| p.threads).collect();
    assert_eq!(measured_threads, threads);
    for point in &sweep.points {
        assert_eq!(point.error, None);
        assert_eq!(point.trials, TRIALS);
        assert_eq!(point.tasks_per_trial, TASKS as f64);
        assert_eq!(
            measured[point.threads].load(Ordering::Relaxed),
            u64::from(TRIALS) * TASKS,
            "{} threads",
            point.threads
        );
    }
    assert_eq!(measured[0].load(Ordering::Relaxed), 0);
    assert!(warm_up.load(Ordering::Relaxed) > 0, "the warm-up ran tasks");
    assert_eq!(out_of_range.load(Ordering::Relaxed), 0);
    assert_eq!(sweep.preset.pool, PoolSpec::from(PoolKind::queue()));
}

#[test]
fn a_panicking_closure_fails_its_point_with_the_message_and_the_others_go_on() {
    let result = short("panics")
        .threads([1, 2, 4])
        .tasks_per_trial(100)
        .series(ClosureSeries::new("spawn", PoolKind::Spawn, |task| {
            if task.threads == 2 && task.index == 37 && !task.warm_up {
                panic!("boom at task {}", task.index);
            }
            task.index
        }))
        .run()
        .unwrap();
    let points = &sweep(&result).points;
    assert_eq!(points.len(), 3);
    assert_eq!(points[0].error, None);
    assert_eq!(
        points[1].error.as_deref(),
        Some("a task panicked: boom at task 37")
    );
    assert!(points[1].throughput_per_s.is_nan());
    assert_eq!(points[2].error, None);
}

#[test]
fn the_process_pool_and_cpythons_pools_are_refused_for_a_closure() {
    let process = PoolSpec::Process {
        chunk_size: 1,
        feeding: Feeding::Lazy,
    };
    let message = PoolKind::try_from(process).unwrap_err().to_string();
    assert!(
        message.starts_with("pool kind = \"process\" is refused for a closure: the process pool cannot run a closure"),
        "{message}"
    );
    assert!(message.contains("use PoolKind::Rayon"), "{message}");
    let message = PoolKind::try_from(PoolSpec::PythonThreads)
        .unwrap_err()
        .to_string();
    assert!(message.contains("python_threads"), "{message}");
    // The pools of threads convert both ways.
    for pool in PoolKind::ALL {
        assert_eq!(PoolKind::try_from(PoolSpec::from(pool)).unwrap(), pool);
    }
    // A preset file cannot ask for a closure: there is none in it to run.
    let text = "schema_version = 1\nname = \"x\"\n[workload]\nkind = \"closure\"\n\
                [pool]\nkind = \"process\"\n[sweep]\nthreads = [1]\ntasks_per_trial = 10\n";
    let err = pooltune::spec::parse(text, std::path::Path::new("closure.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("closure.toml:4:1: `workload.kind` = closure is not allowed"),
        "{err}"
    );
    assert!(err.contains("pooltune::Tuner"), "{err}");
}

#[test]
fn a_bad_setting_is_refused_before_anything_runs_naming_the_line() {
    let calls = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&calls);
    let line = line!() + 1;
    let tuner = short("bad").threads([1, 0]).series(ClosureSeries::new(
        "rayon",
        PoolKind::Rayon,
        move |_| counter.fetch_add(1, Ordering::Relaxed),
    ));
    let err = tuner.run().unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("tests/library.rs:{line}:")),
        "{err}"
    );
    assert!(
        err.contains("`Tuner::threads` = 0 is not allowed: thread counts from 1 to 4096 (to 65536 on an async pool)"),
        "{err}"
    );
    assert_eq!(calls.load(Ordering::Relaxed), 0);
}

#[test]
fn the_json_written_reads_back_as_the_clis_results() {
    let dir = tempfile::tempdir().unwrap();
    // One series: a sweep with the model's recommendation, as `pooltune sweep` writes it.
    let one = short("json")
        .threads([1, 2])
        .tasks_per_trial(200)
        .series(ClosureSeries::new("rayon", PoolKind::Rayon, |task| {
            task.index * 3
        }))
        .run()
        .unwrap();
    let path = dir.path().join("sweep.json");
    std::fs::write(&path, "old").unwrap();
    one.write_json(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes, one.to_json().unwrap());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["sweep.json"], "no temporary file is left behind");
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["preset"]["workload"]["kind"], "closure");
    let function = json["preset"]["workload"]["function"].as_str().unwrap();
    assert!(function.starts_with("library::"), "{function}");
    assert_eq!(json["preset"]["pool"]["kind"], "rayon");
    assert!(json["recommendation"]["recommended_threads"].is_u64());
    let read: SweepResult = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(read.points.len(), 2);
    assert_eq!(read.preset, sweep(&one).preset);
    let back = TuneResult::read_json(&path).unwrap();
    assert_eq!(sweep(&back).preset, sweep(&one).preset);
    assert_eq!(
        back.recommendations(&Default::default())[0]
            .1
            .recommended_threads,
        one.recommendations(&Default::default())[0]
            .1
            .recommended_threads
    );

    // Two series: a comparison, as `pooltune compare` writes it.
    let two = short("json compare")
        .threads([1, 2])
        .tasks_per_trial(200)
        .series(ClosureSeries::new("rayon", PoolKind::Rayon, |task| {
            task.index
        }))
        .series(ClosureSeries::new("spawn", PoolKind::Spawn, |task| {
            task.index
        }))
        .run()
        .unwrap();
    let path = dir.path().join("compare.json");
    two.write_json(&path).unwrap();
    let read: ComparisonResult = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let labels: Vec<&str> = read.series.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["rayon", "spawn"]);
    assert!(
        read.series
            .iter()
            .all(|s| s.points.len() == 2 && s.error.is_none())
    );
    let TuneResult::Comparison(back) = TuneResult::read_json(&path).unwrap() else {
        panic!("two series give a comparison");
    };
    assert_eq!(back.preset, read.preset);
    let recommendations = two.recommendations(&Default::default());
    assert_eq!(recommendations.len(), 2);
    assert!(two.table().unwrap().contains("spawn"));
}
