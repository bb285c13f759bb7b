//! Numbers pooltune reports, checked against independent readings. Alone in its own test
//! binary (so its own process): process-wide CPU time must not include other tests' threads.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use pooltune::cancel::CancelToken;
use pooltune::source::in_process::{self, PointSetup};
use pooltune::spec::{PoolSpec, TrialLength, WorkloadSpec};
use pooltune::workload;

/// Two independent readings must agree. Little's law (L = λ·W): with every worker busy for
/// the whole trial, tasks in flight = throughput (trial clock) × mean task time (per-task
/// timestamps) ≈ threads. And process CPU time (getrusage) ≈ throughput × CPU per task (the
/// workers' thread clocks).
#[test]
fn measured_numbers_agree_with_littles_law_and_rusage() {
    let calibration = workload::calibrate();
    for (pool, threads) in [
        (PoolSpec::Rayon, 4),
        (
            PoolSpec::Queue {
                queue_capacity: 8,
                chunk_size: 1,
            },
            3,
        ),
    ] {
        let setup = PointSetup {
            workload: WorkloadSpec::Blocking {
                compute_us: 200,
                wait_us: 2000,
            },
            pool: pool.clone(),
            trials: 3,
            length: TrialLength::Tasks(120),
            warmup_ms: 0,
            calibration: calibration.clone(),
            retry_disturbed: 1,
        };
        let p =
            in_process::measure_point(&setup, threads, &CancelToken::new(), &mut |_| {}).unwrap();
        assert_eq!(p.error, None);
        let in_flight = p.throughput_per_s * p.wall_time_per_task_us / 1e6;
        let ratio = in_flight / threads as f64;
        assert!(
            (0.75..=1.05).contains(&ratio),
            "{pool:?}: L/N = {ratio}: {p:?}"
        );
        let cpu_from_tasks = p.throughput_per_s * p.cpu_time_per_task_us / 1e6;
        let cpu_ratio = p.cpu_utilization / cpu_from_tasks;
        assert!(
            (0.8..=1.6).contains(&cpu_ratio),
            "{pool:?}: rusage/thread clocks = {cpu_ratio}: {p:?}"
        );
    }
}
