//! The async pool through the whole engine: exact task counts at every concurrency, the
//! thread cap's refusal of thread pools past 4096 (and the async pool's acceptance), the
//! refusal of thread-blocking workloads, the shipped presets, and a Stop with 16 384 tasks in
//! flight (with a generous bound: the timing is in `benches/async_pool.rs`).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pooltune::cancel::{CancelToken, TrialStop};
use pooltune::pool::{self, TrialFailure, TrialPlan};
use pooltune::spec;
use pooltune::workload::WorkloadFactory;

fn preset(workload: &str, pool: &str, threads: &str, length: &str) -> String {
    format!(
        "schema_version = 1\nname = \"async test\"\ndescription = \"\"\n\
         [workload]\n{workload}\n\
         [pool]\n{pool}\n\
         [sweep]\nthreads = [{threads}]\ntrials = 3\n{length}\nwarmup_ms = 0\n"
    )
}

#[test]
fn every_trial_runs_exactly_its_tasks_at_every_concurrency() {
    let text = preset(
        "kind = \"blocking\"\ncompute_us = 5\nwait_us = 2000",
        "kind = \"async\"\nworker_threads = 2",
        "1, 7, 300, 16384",
        "tasks_per_trial = 300",
    );
    let preset = spec::parse(&text, Path::new("async.toml")).expect("an async preset at 16384");
    let result = pooltune::sweep::run(&preset, &CancelToken::new(), &mut |_| {}).expect("sweep");
    let counts: Vec<usize> = result.points.iter().map(|p| p.threads).collect();
    assert_eq!(counts, [1, 7, 300, 16384]);
    for point in &result.points {
        assert!(point.is_ok(), "{point:?}");
        assert_eq!(point.tasks_per_trial, 300.0, "{point:?}");
        // 300 tasks of 2 ms at most N at a time: one at a time takes 0.6 s, so ~500 tasks/s.
        assert!(point.throughput_per_s.is_finite() && point.throughput_per_s > 0.0);
        assert!(point.latency_p50_us >= 2000.0, "{point:?}");
    }
    let one = result.points[0].throughput_per_s;
    let many = result.points[2].throughput_per_s;
    // 300 in flight waits once instead of 300 times.
    assert!(many > 20.0 * one, "1: {one} tasks/s, 300: {many} tasks/s");
}

#[test]
fn thread_pools_past_the_thread_cap_are_refused_and_say_why() {
    for pool in ["kind = \"queue\"", "kind = \"rayon\"", "kind = \"spawn\""] {
        let text = preset(
            "kind = \"blocking\"\ncompute_us = 10\nwait_us = 100000",
            pool,
            "1024, 16384",
            "trial_ms = 100",
        );
        let err = spec::parse(&text, Path::new("threads.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`sweep.threads` = 16384"), "{err}");
        assert!(err.contains("at most 4096"), "{err}");
        assert!(err.contains("thread cap"), "{err}");
        assert!(err.contains("kind = \"async\""), "{err}");
        assert!(err.starts_with("threads.toml:"), "{err}");
    }
    // The sweep's own limit still holds for the async pool.
    let text = preset(
        "kind = \"cpu\"\ncompute_us = 10",
        "kind = \"async\"",
        "100000",
        "trial_ms = 100",
    );
    let err = spec::parse(&text, Path::new("a.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("65536"), "{err}");
}

#[test]
fn workloads_that_block_a_worker_thread_are_refused_for_the_async_pool() {
    for (workload, kind) in [
        ("kind = \"file_io\"\nbytes = 4096", "file_io"),
        (
            "kind = \"contended\"\ncompute_us = 10\nserial_fraction = 0.5",
            "contended",
        ),
        (
            "kind = \"shared_state\"\nstrategy = \"mutex\"",
            "shared_state",
        ),
    ] {
        let text = preset(workload, "kind = \"async\"", "1, 2", "trial_ms = 100");
        let err = spec::parse(&text, Path::new("io.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("`workload.kind` = {kind}")), "{err}");
        assert!(
            err.contains("cpu, blocking or gil for an async pool"),
            "{err}"
        );
        assert!(err.contains("the worker thread"), "{err}");
        // The line of the workload's kind.
        assert!(err.starts_with("io.toml:5:"), "{err}");
    }
}

#[test]
fn the_shipped_async_presets_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sweep = spec::load(&root.join("presets/async-io.toml")).expect("async-io");
    assert!(sweep.sweep.thread_counts().contains(&16_384));
    let comparison =
        spec::load_comparison(&root.join("presets/compare-async-threads.toml")).expect("compare");
    assert_eq!(comparison.series.len(), 2);
}

#[test]
fn a_stop_ends_16384_tasks_in_flight() {
    let spec = spec::WorkloadSpec::Blocking {
        compute_us: 10,
        wait_us: 10_000_000,
    };
    let calibration = pooltune::workload::calibrate();
    let factory = WorkloadFactory::from_spec(&spec, &calibration);
    let pool_spec = spec::PoolSpec::Async {
        worker_threads: Some(2),
    };
    let mut pool = pool::build(&pool_spec, 16_384, &factory).unwrap();
    assert_eq!(pool.threads(), 16_384);
    let workload = factory.build(16_384).unwrap();
    let cancel = CancelToken::new();
    let stop = Arc::new(TrialStop::new(cancel.clone(), None));
    let stopper = pooltune::engine::named_thread("pooltune-test-stopper", move || {
        std::thread::sleep(Duration::from_millis(500));
        let at = Instant::now();
        cancel.cancel();
        at
    })
    .unwrap();
    let outcome = pool.run_trial(&TrialPlan {
        workload: &workload,
        max_tasks: 1_000_000,
        sample_every: 1,
        chunk_tasks: 1,
        stop: &stop,
    });
    let returned = Instant::now();
    let stopped = stopper.join().unwrap();
    assert_eq!(outcome.unwrap_err(), TrialFailure::Cancelled);
    // Generous for a loaded test machine; the bench measures the real figure (< 200 ms).
    let after = returned.duration_since(stopped);
    assert!(after < Duration::from_secs(3), "{after:?}");
}
