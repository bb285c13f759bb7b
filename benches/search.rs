//! Adaptive search against a grid, on blocking workloads whose optimum Little's law knows:
//! C = 500 µs and W/C = 1, 9, 31, 127, so on 2 CPUs the best is reached at 2 × (1 + W/C) =
//! 4, 20, 64, 256 threads. Over the range 1..512, per W/C:
//!
//! - grid: a geometric ×2 sweep (1, 2, 4, ..., 512), then a linear refinement of step
//!   max(1, B/8) from B/2 to 2B around its best B (counts already measured skipped);
//! - adaptive: `search = "adaptive"` over the same range, same trials and trial length.
//!
//! Measuring time is from each run's Started event to its Finished event (calibration, which
//! both pay once per run, is before Started). Quality is checked independently: a third run
//! measures both recommended counts and the best count either found, twice each, interleaved,
//! with 5 trials of twice the trial length, and each recommendation is given as a % of the
//! best count's throughput in that run.
//!
//! `cargo bench --bench search` prints a table; `POOLTUNE_SEARCH_TRIAL_MS` (default 200) and
//! `POOLTUNE_SEARCH_ROUNDS` (default 1) change the trial length and the repeats,
//! `POOLTUNE_SEARCH_WC` (say `127` or `1,9`) the W/C measured, and `POOLTUNE_SEARCH_VERBOSE`
//! prints every trial of the adaptive search (each point with the share of the CPUs its tasks
//! kept busy) and the check run's means. The machine
//! is shared: the time ratio is mostly measurements × trial length, quality needs rounds.

use std::collections::BTreeSet;
use std::time::Instant;

use pooltune::cancel::CancelToken;
use pooltune::engine::Event;
use pooltune::model::recommend::knee_threads;
use pooltune::result::Point;
use pooltune::spec::{PoolSpec, Preset, SearchKind, SweepSpec, ThreadRange, WorkloadSpec};

const COMPUTE_US: u64 = 500;
const RANGE: (usize, usize) = (1, 512);

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn preset(wait_over_compute: u64, sweep: SweepSpec) -> Preset {
    Preset {
        schema_version: 1,
        name: format!("search bench W/C={wait_over_compute}"),
        description: String::new(),
        workload: WorkloadSpec::Blocking {
            compute_us: COMPUTE_US,
            wait_us: COMPUTE_US * wait_over_compute,
        },
        pool: PoolSpec::Queue {
            queue_capacity: 1024,
            chunk_size: 1,
        },
        sweep,
        folder: None,
    }
}

fn sweep_spec(trial_ms: u64) -> SweepSpec {
    SweepSpec {
        search: SearchKind::Grid,
        target_ci: None,
        threads: None,
        threads_range: None,
        trials: 3,
        tasks_per_trial: None,
        trial_ms: Some(trial_ms),
        warmup_ms: 100,
        // Retries would add time where other sessions happen to run: none, for both.
        retry_disturbed: 0,
    }
}

/// Runs `preset`; its points and the seconds from Started to Finished.
fn run(preset: &Preset) -> (Vec<Point>, f64) {
    let mut started = None;
    let mut finished = None;
    let result = pooltune::sweep::run(preset, &CancelToken::new(), &mut |event| match event {
        Event::Started(_) => started = Some(Instant::now()),
        Event::Finished(_) => finished = Some(Instant::now()),
        _ => {}
    })
    .expect("the bench's presets are valid");
    let seconds = match (started, finished) {
        (Some(s), Some(f)) => (f - s).as_secs_f64(),
        _ => f64::NAN,
    };
    (result.points, seconds)
}

fn run_list(wait_over_compute: u64, trial_ms: u64, counts: Vec<usize>) -> (Vec<Point>, f64) {
    run_list_with(wait_over_compute, trial_ms, 3, counts)
}

fn run_list_with(
    wait_over_compute: u64,
    trial_ms: u64,
    trials: u32,
    counts: Vec<usize>,
) -> (Vec<Point>, f64) {
    if counts.is_empty() {
        return (Vec::new(), 0.0);
    }
    let mut sweep = sweep_spec(trial_ms);
    sweep.trials = trials;
    sweep.threads = Some(counts);
    run(&preset(wait_over_compute, sweep))
}

/// Trials per count of the check run, of [`CHECK_TRIAL_FACTOR`] × the trial length, and how
/// many times its counts are measured (interleaved): the check judges both searches, so it is
/// measured longer than either.
const CHECK_TRIALS: u32 = 5;
const CHECK_TRIAL_FACTOR: u64 = 2;
const CHECK_PASSES: usize = 2;

/// Mean throughput at each count, all points there pooled; the best count.
fn best(points: &[Point]) -> Option<usize> {
    let counts: BTreeSet<usize> = points.iter().map(|p| p.threads).collect();
    counts
        .into_iter()
        .map(|n| (n, mean_at(points, n)))
        .filter(|(_, m)| m.is_finite())
        .reduce(|a, b| if b.1 > a.1 { b } else { a })
        .map(|(n, _)| n)
}

fn mean_at(points: &[Point], threads: usize) -> f64 {
    let trials: Vec<f64> = points
        .iter()
        .filter(|p| p.threads == threads && p.is_ok())
        .flat_map(|p| p.trial_throughputs_per_s.iter().copied())
        .collect();
    pooltune::stats::mean(&trials)
}

/// The most CPUs other processes used during any of these points (NaN when unknown): a row
/// measured while others took a CPU says little about the workload's own curve.
fn others_cpus<'a>(points: impl IntoIterator<Item = &'a Point>) -> f64 {
    points
        .into_iter()
        .map(|p| p.other_cpu_utilization)
        .filter(|x| x.is_finite())
        .fold(f64::NAN, f64::max)
}

fn counts_of(points: &[Point]) -> String {
    let counts: Vec<String> = points.iter().map(|p| p.threads.to_string()).collect();
    counts.join(",")
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo's bench discovery
    }
    let trial_ms = env_or("POOLTUNE_SEARCH_TRIAL_MS", 200);
    let rounds = env_or("POOLTUNE_SEARCH_ROUNDS", 1);
    let verbose = std::env::var_os("POOLTUNE_SEARCH_VERBOSE").is_some();
    // `POOLTUNE_SEARCH_WC=127` (a comma-separated list) measures only those W/C.
    let ratios: Vec<u64> = std::env::var("POOLTUNE_SEARCH_WC")
        .ok()
        .map(|list| {
            list.split(',')
                .filter_map(|r| r.trim().parse().ok())
                .collect()
        })
        .filter(|list: &Vec<u64>| !list.is_empty())
        .unwrap_or_else(|| vec![1, 9, 31, 127]);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "trials 3 × {trial_ms} ms, warm-up 100 ms, range {}..{}, load average {}",
        RANGE.0,
        RANGE.1,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "{:>5} {:>5} | {:>5} {:>7} {:>5} {:>6} | {:>5} {:>7} {:>5} {:>6} | {:>6} {:>6}",
        "W/C",
        "N*",
        "grid",
        "time s",
        "rec",
        "% best",
        "adapt",
        "time s",
        "rec",
        "% best",
        "ratio",
        "others"
    );
    for round in 0..rounds {
        for &wait_over_compute in &ratios {
            let optimum = 2 * (1 + wait_over_compute);
            // Grid: geometric ×2, then the linear refinement around its best.
            let geometric: Vec<usize> = (0..)
                .map(|k| 1usize << k)
                .take_while(|&n| n <= RANGE.1)
                .collect();
            let (mut grid, coarse_s) = run_list(wait_over_compute, trial_ms, geometric);
            let coarse_best = best(&grid).unwrap_or(1);
            let step = (coarse_best / 8).max(1);
            let measured: BTreeSet<usize> = grid.iter().map(|p| p.threads).collect();
            let refinement: Vec<usize> = ((coarse_best / 2).max(RANGE.0)
                ..=(coarse_best * 2).min(RANGE.1))
                .step_by(step)
                .filter(|n| !measured.contains(n))
                .collect();
            let (fine, fine_s) = run_list(wait_over_compute, trial_ms, refinement);
            grid.extend(fine);
            let grid_s = coarse_s + fine_s;
            let grid_rec = knee_threads(&grid).unwrap_or(1);

            // Adaptive over the same range.
            let mut sweep = sweep_spec(trial_ms);
            sweep.search = SearchKind::Adaptive;
            sweep.threads_range = Some(ThreadRange {
                from: RANGE.0,
                to: RANGE.1,
                step: Default::default(),
                by: None,
            });
            let (adaptive, adaptive_s) = run(&preset(wait_over_compute, sweep));
            let adaptive_rec = knee_threads(&adaptive).unwrap_or(1);

            // The independent check: both recommendations and the best either found.
            let mut all = grid.clone();
            all.extend(adaptive.iter().cloned());
            let best_count = best(&all).unwrap_or(1);
            let check_counts: Vec<usize> = [grid_rec, adaptive_rec, best_count]
                .into_iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let interleaved: Vec<usize> = (0..CHECK_PASSES)
                .flat_map(|_| check_counts.iter().copied())
                .collect();
            let (check, _) = run_list_with(
                wait_over_compute,
                trial_ms * CHECK_TRIAL_FACTOR,
                CHECK_TRIALS,
                interleaved,
            );
            let best_check = check
                .iter()
                .map(|p| mean_at(&check, p.threads))
                .fold(f64::NAN, f64::max);
            let share = |n: usize| 100.0 * mean_at(&check, n) / best_check;
            println!(
                "{:>5} {:>5} | {:>5} {:>7.1} {:>5} {:>5.1}% | {:>5} {:>7.1} {:>5} {:>5.1}% | {:>6.2} {:>6.2}",
                wait_over_compute,
                optimum,
                grid.len(),
                grid_s,
                grid_rec,
                share(grid_rec),
                adaptive.len(),
                adaptive_s,
                adaptive_rec,
                share(adaptive_rec),
                adaptive_s / grid_s,
                others_cpus(all.iter().chain(&check))
            );
            if round == 0 {
                println!("      adaptive measured {}", counts_of(&adaptive));
            }
            if verbose {
                let trials = |points: &[Point]| -> String {
                    let lines: Vec<String> = points
                        .iter()
                        .map(|p| {
                            let t: Vec<String> = p
                                .trial_throughputs_per_s
                                .iter()
                                .map(|x| format!("{x:.0}"))
                                .collect();
                            // The share of the usable CPUs its tasks kept busy.
                            let share =
                                p.cpus_busy() / pooltune::machine::usable_cpus().max(1) as f64;
                            format!("{}:[{}]{share:.3}", p.threads, t.join(" "))
                        })
                        .collect();
                    lines.join(" ")
                };
                println!("      adaptive trials {}", trials(&adaptive));
                let check_means: Vec<String> = check_counts
                    .iter()
                    .map(|&n| format!("{n}:{:.0}", mean_at(&check, n)))
                    .collect();
                println!("      check means {}", check_means.join(" "));
            }
        }
    }
    println!(
        "grid / adapt: measurements; time s: Started to Finished; rec: the knee rule's count; \
         % best: its throughput in a separate check run of the recommended and best counts; \
         ratio: adaptive time / grid time; \
         others: the most CPUs other processes used in any of the row's points"
    );
}
