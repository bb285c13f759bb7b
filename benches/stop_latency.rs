//! How long a Stop takes: for every workload kind on every thread pool, start a sweep, press
//! Stop at a moment inside a trial, and time from the Stop to the sweep's Finished event.
//! The requirement is 200 ms. `cargo bench --bench stop_latency` prints a table.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use pooltune::cancel::CancelToken;
use pooltune::engine::{self, Event};
use pooltune::spec::{PoolSpec, Preset, SharedStrategy, SweepSpec, WorkloadSpec};

fn workloads() -> Vec<WorkloadSpec> {
    vec![
        WorkloadSpec::Cpu {
            compute_us: 200_000,
        },
        WorkloadSpec::Blocking {
            compute_us: 1000,
            wait_us: 500_000,
        },
        WorkloadSpec::FileIo {
            bytes: 1 << 20,
            fsync: true,
        },
        WorkloadSpec::Memory {
            buffer_kib: 65536,
            passes: 4,
        },
        WorkloadSpec::Contended {
            compute_us: 100_000,
            serial_fraction: 0.5,
        },
        WorkloadSpec::Gil {
            compute_us: 200_000,
            wait_us: 0,
            switch_interval_us: 5000,
        },
        WorkloadSpec::SharedState {
            strategy: SharedStrategy::Channel,
            updates_per_task: 1_000_000,
        },
    ]
}

fn pools() -> Vec<PoolSpec> {
    vec![
        PoolSpec::Rayon,
        PoolSpec::Queue {
            queue_capacity: 16,
            chunk_size: 1,
        },
        PoolSpec::Spawn,
        PoolSpec::Process {
            chunk_size: 1,
            feeding: Default::default(),
        },
    ]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo's bench discovery
    }
    println!("{:<14} {:<8} {:>10}", "workload", "pool", "stop ms");
    let mut worst = Duration::ZERO;
    for workload in workloads() {
        for pool in pools() {
            if matches!(pool, PoolSpec::Process { .. })
                && matches!(workload, WorkloadSpec::SharedState { .. })
            {
                continue; // refused on a process pool
            }
            let preset = Preset {
                schema_version: 1,
                name: "stop latency".into(),
                description: String::new(),
                workload: workload.clone(),
                pool: pool.clone(),
                sweep: SweepSpec {
                    search: Default::default(),
                    target_ci: None,
                    threads: Some(vec![4]),
                    threads_range: None,
                    trials: 3,
                    tasks_per_trial: None,
                    trial_ms: Some(10_000),
                    warmup_ms: 100,
                    retry_disturbed: 1,
                },
                folder: None,
            };
            let cancel = CancelToken::new();
            let (tx, rx) = mpsc::channel();
            let handle =
                engine::spawn_series("pooltune-sweep", preset, cancel.clone(), move |event| {
                    let _ = tx.send((Instant::now(), event));
                })
                .expect("sweep thread");
            // Wait for the warm-up to finish, then stop 300 ms into the first trial.
            for (_, event) in rx.iter() {
                if matches!(event, Event::Progress { .. }) {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(300));
            let stopped_at = Instant::now();
            cancel.cancel();
            let finished_at = rx
                .iter()
                .find_map(|(at, event)| matches!(event, Event::Finished(_)).then_some(at))
                .expect("finished");
            let _ = handle.join();
            let took = finished_at - stopped_at;
            worst = worst.max(took);
            println!(
                "{:<14} {:<8} {:>10.1}",
                workload.kind_name(),
                pool.kind_name(),
                took.as_secs_f64() * 1000.0
            );
        }
    }
    println!(
        "worst: {:.1} ms (requirement: 200 ms)",
        worst.as_secs_f64() * 1000.0
    );
}
