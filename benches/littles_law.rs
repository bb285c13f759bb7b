//! The model against a measurement: the web-service preset (C = 1 ms, W = 9 ms, so W/C = 9)
//! swept for real, each point beside the bound min(N / (W + C), N_cpu / C) computed from the
//! measured W and C (Little's law for N threads, the CPU limit for N_cpu cores), and the
//! recommended thread count beside the formula's. Then the high thread counts: blocking tasks
//! of C = 10 µs and W = 100 ms, 3 trials of 2 s, at 256, 1024 and 4096 threads on the rayon,
//! queue and spawn pools, each beside the configured bound N / (W + C) (a point that fails
//! says why). `cargo bench --bench littles_law` (`-- --high-only` for the second part alone).

use pooltune::cancel::CancelToken;
use pooltune::model::{self, ModelOptions};
use pooltune::spec;
use pooltune::sweep;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo's bench discovery
    }
    if !std::env::args().any(|a| a == "--high-only") {
        web_service();
    }
    high_thread_counts();
}

/// Blocking tasks with C = 10 µs and W = 100 ms at thousands of threads: whether each pool
/// keeps N / (W + C) up, or fails its point with the cause.
fn high_thread_counts() {
    const COUNTS: [usize; 3] = [256, 1024, 4096];
    println!();
    println!("blocking C = 10 µs, W = 100 ms, 3 trials of 2 s: measured / bound N / (W + C)");
    println!(
        "pool     {:>8}  {:>8}  {:>8}",
        COUNTS[0], COUNTS[1], COUNTS[2]
    );
    let mut failures = Vec::new();
    for pool in ["rayon", "queue", "spawn"] {
        let text = format!(
            "schema_version = 1\nname = \"blocking 10 us / 100 ms, {pool}\"\ndescription = \"\"\n\
             [workload]\nkind = \"blocking\"\ncompute_us = 10\nwait_us = 100000\n\
             [pool]\nkind = \"{pool}\"\n\
             [sweep]\nthreads = [256, 1024, 4096]\ntrials = 3\ntrial_ms = 2000\nwarmup_ms = 200\n"
        );
        let preset = spec::parse(&text, std::path::Path::new("littles_law")).expect("valid preset");
        let started = std::time::Instant::now();
        let result = sweep::run(&preset, &CancelToken::new(), &mut |_| {}).expect("sweep");
        let cells: Vec<String> = COUNTS
            .iter()
            .map(|&n| match result.points.iter().find(|p| p.threads == n) {
                Some(p) if p.is_ok() => {
                    format!("{:>8.3}", p.throughput_per_s / (n as f64 / 0.100_010))
                }
                Some(p) => {
                    failures.push(format!(
                        "{pool} at {n}: {}",
                        p.error.as_deref().unwrap_or("")
                    ));
                    format!("{:>8}", "failed")
                }
                None => format!("{:>8}", "-"),
            })
            .collect();
        println!(
            "{pool:<8} {}   ({:.0} s, planned {:.0} s)",
            cells.join("  "),
            started.elapsed().as_secs_f64(),
            preset.sweep.timed_length_ms().unwrap_or(0) as f64 / 1000.0
        );
    }
    for failure in failures {
        println!("  {failure}");
    }
}

/// The web-service preset against its bound and the formula.
fn web_service() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/web-service.toml");
    let preset = spec::load(&path).expect("shipped preset");
    let result = sweep::run(&preset, &CancelToken::new(), &mut |_| {}).expect("sweep");
    let rec = model::recommend(&result, &ModelOptions::default());
    let Some(bound) = model::bound(&result) else {
        println!("no bound: nothing was measured");
        return;
    };
    println!("threads  measured tasks/s  ±95%    bound tasks/s  measured/bound");
    for p in result.points.iter().filter(|p| p.is_ok()) {
        let b = bound.throughput_per_s(p.threads as f64);
        println!(
            "{:>7}  {:>16.1}  {:>6.1}  {:>13.1}  {:>14.3}",
            p.threads,
            p.throughput_per_s,
            p.throughput_ci95_per_s,
            b,
            p.throughput_per_s / b
        );
    }
    println!(
        "measured W/C {:.2} (configured {:.2}); formula N = {:.1}; recommended {:?}; best measured {:?}",
        rec.measured_wait_over_compute.unwrap_or(f64::NAN),
        rec.configured_wait_over_compute.unwrap_or(f64::NAN),
        rec.formula_threads.unwrap_or(f64::NAN),
        rec.recommended_threads,
        rec.best_measured_threads
    );
    println!("{}", rec.explanation);
}
