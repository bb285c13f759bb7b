//! The model against a measurement: the web-service preset (C = 1 ms, W = 9 ms, so W/C = 9)
//! swept for real, each point beside the bound min(N / (W + C), N_cpu / C) computed from the
//! measured W and C (Little's law for N threads, the CPU limit for N_cpu cores), and the
//! recommended thread count beside the formula's. `cargo bench --bench littles_law`.

use pooltune::cancel::CancelToken;
use pooltune::model::{self, ModelOptions};
use pooltune::preset;
use pooltune::sweep;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo's bench discovery
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/web-service.toml");
    let preset = preset::load(&path).expect("shipped preset");
    let result = sweep::run_sweep(&preset, &CancelToken::new(), &mut |_| {}).expect("sweep");
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
