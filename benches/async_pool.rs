//! The async pool against Little's law and against threads: blocking tasks of C = 10 µs and
//! W = 100 ms at a concurrency of 1024, 4096 and 16 384, as tokio tasks on 2 worker threads
//! and as the queue and rayon pools' threads. For each: throughput as a share of N / (W + C)
//! (target ≥ 0.9 for async), and the growth of peak RSS per task in flight over the sweep's
//! first count, 16 ((peak at N − peak at 16) / (N − 16); target < 2 KiB for async). The thread
//! pools at 16 384 are refused by the thread cap: the refusal is printed. Then the Stop: a
//! trial of 16 384 tasks each awaiting 10 s, stopped 300 ms in, and how long the trial took to
//! return after the Stop (target < 200 ms). `cargo bench --bench async_pool` (`-- --async-only` for the async pool alone). The
//! columns cpu/task, cpu util and others cpu say how much CPU the point had: on a machine whose
//! other processes take most of the 2 CPUs, the async pool is CPU-starved before Little's law
//! runs out.

use std::time::{Duration, Instant};

use pooltune::cancel::{CancelToken, TrialStop};
use pooltune::spec;
use pooltune::sweep;

const COUNTS: [usize; 4] = [16, 1024, 4096, 16_384];

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo's bench discovery
    }
    littles_law();
    stop_latency();
}

fn preset_text(label: &str, pool: &str, counts: &[usize]) -> String {
    let list = counts
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "schema_version = 1\nname = \"async bench, {label}\"\ndescription = \"\"\n\
         [workload]\nkind = \"blocking\"\ncompute_us = 10\nwait_us = 100000\n\
         [pool]\n{pool}\n\
         [sweep]\nthreads = [{list}]\ntrials = 3\ntrial_ms = 1500\nwarmup_ms = 300\n"
    )
}

fn littles_law() {
    println!(
        "blocking C = 10 µs, W = 100 ms, 3 trials of 1.5 s; load: {}",
        load()
    );
    println!(
        "{:<22} {:>8} {:>10} {:>10} {:>7} {:>16} {:>9} {:>8} {:>10}",
        "pool",
        "N",
        "tasks/s",
        "N/(W+C)",
        "share",
        "RSS growth/task",
        "cpu/task",
        "cpu util",
        "others cpu"
    );
    let async_only = std::env::args().any(|a| a == "--async-only");
    let pools = [
        ("async, 2 workers", "kind = \"async\"\nworker_threads = 2"),
        ("queue", "kind = \"queue\""),
        ("rayon", "kind = \"rayon\""),
    ];
    for (label, pool) in pools {
        if async_only && !label.starts_with("async") {
            continue;
        }
        let text = preset_text(label, pool, &COUNTS);
        let preset = match spec::parse(&text, std::path::Path::new("async_pool.toml")) {
            Ok(preset) => preset,
            Err(err) => {
                // The thread cap: measure up to 4096 and say why 16 384 is not.
                println!("{label:<22} {:>8} refused: {err}", COUNTS[3]);
                let text = preset_text(label, pool, &COUNTS[..3]);
                match spec::parse(&text, std::path::Path::new("async_pool.toml")) {
                    Ok(preset) => preset,
                    Err(err) => {
                        println!("{label:<22} refused: {err}");
                        continue;
                    }
                }
            }
        };
        let started = Instant::now();
        let result = match sweep::run(&preset, &CancelToken::new(), &mut |_| {}) {
            Ok(result) => result,
            Err(err) => {
                println!("{label:<22} failed: {err}");
                continue;
            }
        };
        let baseline = result
            .points
            .iter()
            .find(|p| p.threads == COUNTS[0] && p.is_ok())
            .map(|p| p.peak_rss_bytes);
        for p in result.points.iter().filter(|p| p.threads != COUNTS[0]) {
            let n = p.threads as f64;
            let bound = n / 0.100_010;
            if !p.is_ok() {
                println!(
                    "{label:<22} {:>8} failed: {}",
                    p.threads,
                    p.error.as_deref().unwrap_or("")
                );
                continue;
            }
            let growth = baseline.map_or(f64::NAN, |b| {
                (p.peak_rss_bytes as f64 - b as f64) / (n - COUNTS[0] as f64)
            });
            println!(
                "{label:<22} {:>8} {:>10.0} {:>10.0} {:>7.3} {:>12.2} KiB {:>6.1} µs {:>8.2} {:>10.2}",
                p.threads,
                p.throughput_per_s,
                bound,
                p.throughput_per_s / bound,
                growth / 1024.0,
                p.cpu_time_per_task_us,
                p.cpu_utilization,
                p.other_cpu_utilization
            );
        }
        println!(
            "{label:<22} ({:.0} s; peak RSS at 16: {:.1} MiB)",
            started.elapsed().as_secs_f64(),
            baseline.unwrap_or(0) as f64 / (1 << 20) as f64
        );
    }
}

/// A trial of 16 384 tasks each awaiting 10 s on 2 worker threads, stopped 300 ms in.
fn stop_latency() {
    use pooltune::pool;
    use pooltune::result::Calibration;
    use pooltune::workload::WorkloadFactory;
    let spec = spec::WorkloadSpec::Blocking {
        compute_us: 10,
        wait_us: 10_000_000,
    };
    let calibration: Calibration = pooltune::workload::calibrate();
    let factory = WorkloadFactory::from_spec(&spec, &calibration);
    let pool_spec = spec::PoolSpec::Async {
        worker_threads: Some(2),
    };
    let mut pool = pool::build(&pool_spec, 16_384, &factory).expect("async pool");
    let workload = factory.build(16_384).expect("workload");
    let cancel = CancelToken::new();
    let stop = std::sync::Arc::new(TrialStop::new(cancel.clone(), None));
    let stopped_at = std::sync::Arc::new(std::sync::Mutex::new(None::<Instant>));
    let (stopper_cancel, stopper_at) = (cancel.clone(), stopped_at.clone());
    let stopper = pooltune::engine::named_thread("pooltune-bench-stopper", move || {
        std::thread::sleep(Duration::from_millis(300));
        *stopper_at.lock().expect("lock") = Some(Instant::now());
        stopper_cancel.cancel();
    })
    .expect("thread");
    let outcome = pool.run_trial(&pool::TrialPlan {
        workload: &workload,
        max_tasks: 1_000_000,
        sample_every: 1,
        chunk_tasks: 1,
        stop: &stop,
    });
    let returned = Instant::now();
    stopper.join().expect("stopper");
    let stopped = stopped_at.lock().expect("lock").unwrap_or(returned);
    println!();
    println!(
        "Stop with 16 384 tasks in flight (each awaiting 10 s, 2 worker threads): the trial returned {:.1} ms after the Stop ({}); load: {}",
        returned.duration_since(stopped).as_secs_f64() * 1000.0,
        match outcome {
            Err(failure) => failure.to_string(),
            Ok(run) => format!("not stopped: {} tasks ran", run.tasks),
        },
        load()
    );
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}
