//! The live tuner on the W/C = 31 blocking workload (C = 500 µs, W = 15.5 ms: on 2 CPUs the
//! best is near 64 threads, where N / (W + C) meets the CPU limit 2 / C = 4000 tasks/s),
//! starting from 1 thread. First the best throughput is measured independently, by an
//! ordinary sweep (the queue pool, fixed counts 32…256, 3 trials of 500 ms), and the noise
//! of a 100 ms sample at fixed counts through the tuner's own loop and pool, whose best mean is
//! the reference; then each controller tunes `RUNS` times for `SECONDS` s. Printed per run:
//! the time from which the mean of every 5 consecutive samples (0.5 s) stayed at ≥ 95% of the
//! reference (and, stricter, every single sample), the count it settled on, and the settled
//! throughput as a share of the reference. Each run also runs the best count fixed just
//! before its controllers, and judges them against that run's mean as well (the machine
//! drifts by several % over a minute). `cargo bench --bench tune` (`-- --runs N --seconds S`).

use std::time::Duration;

use pooltune::cancel::CancelToken;
use pooltune::controller::dotnet::DotnetHillClimbing;
use pooltune::controller::{Bounds, Controller, Pooltune, Sample};
use pooltune::spec;
use pooltune::sweep;
use pooltune::tune::{self, LiveTune, TuneResult};

const PRESET: &str = "schema_version = 1\nname = \"blocking W/C = 31\"\ndescription = \"\"\n\
    [workload]\nkind = \"blocking\"\ncompute_us = 500\nwait_us = 15500\n\
    [pool]\nkind = \"queue\"\nqueue_capacity = 64\nchunk_size = 1\n\
    [sweep]\nthreads = [32, 48, 64, 96, 128, 256]\ntrials = 3\ntrial_ms = 500\nwarmup_ms = 100\n";

/// The fixed counts run through the tuner's loop for the reference best.
const FIXED_COUNTS: [usize; 4] = [64, 96, 128, 256];
/// How long each fixed count runs, in seconds.
const FIXED_SECONDS: f64 = 3.0;
/// Samples (of 100 ms) whose mean must stay at >= 95% of the best.
const WINDOW: usize = 5;

/// A controller that never moves: the noise of the loop's samples at one count.
struct Fixed(usize);

impl Controller for Fixed {
    fn name(&self) -> &'static str {
        "fixed"
    }
    fn initial_threads(&self) -> usize {
        self.0
    }
    fn sample_interval(&self) -> Duration {
        Duration::from_millis(100)
    }
    fn next_threads(&mut self, _sample: &Sample) -> usize {
        self.0
    }
}

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo's bench discovery
    }
    let runs = arg("--runs", 5.0) as usize;
    let seconds = arg("--seconds", 6.0);
    let preset = spec::parse(PRESET, std::path::Path::new("tune bench")).expect("valid preset");
    let bounds = Bounds { min: 1, max: 512 };
    let cancel = CancelToken::new();
    let workload = tune::workload_of(&preset, bounds.max, &cancel).expect("workload");
    println!("load before: {}", load());

    let sweep = sweep::run(&preset, &cancel, &mut |_| {}).expect("sweep");
    let mut best = (0, 0.0);
    for point in sweep.points.iter().filter(|p| p.is_ok()) {
        println!(
            "sweep (queue pool, 3 x 500 ms): {:>4} threads  {:>7.0}/s",
            point.threads, point.throughput_per_s
        );
        if point.throughput_per_s > best.1 {
            best = (point.threads, point.throughput_per_s);
        }
    }
    let (best_threads, best) = best;
    println!(
        "best measured by the sweep: {best:.0}/s at {best_threads} threads (4000/s if a task's \
         compute is exactly 500 µs on 2 free CPUs; the fixed runs below measure it)"
    );

    // The reference the controllers are judged against: fixed counts through the tuner's own
    // loop and pool (the sweep's queue pool has a producer the resizable pool does not).
    let mut reference = (best_threads, best);
    for threads in FIXED_COUNTS {
        let mut fixed = Fixed(threads);
        let (noise, cpu_us) = tune_once(&workload, bounds, FIXED_SECONDS, &mut fixed, &cancel);
        if let Some(failure) = &noise.failure {
            println!("the fixed run failed: {failure}");
        }
        let warm: Vec<f64> = noise
            .samples
            .iter()
            .filter(|s| s.t_s > 0.5)
            .map(|s| s.throughput_per_s)
            .collect();
        let mean = warm_mean(&noise);
        let below = warm.iter().filter(|&&x| x < 0.95 * mean).count();
        println!(
            "fixed {threads:>3} threads through the tuner's loop: mean {mean:>5.0}/s over {} samples \
             of 100 ms ({below} below 95% of their own mean); CPU per task {}",
            warm.len(),
            cpu_us.map_or("unknown".to_owned(), |c| format!(
                "{c:.0} µs (bound 2 CPUs / C = {:.0}/s)",
                2e6 / c
            ))
        );
        if mean > reference.1 {
            reference = (threads, mean);
        }
    }
    let (best_threads, best) = reference;
    println!(
        "best: {best:.0}/s at {best_threads} threads; a controller reaches it when the mean of \
         every {WINDOW} samples from then on is >= 95% of it"
    );

    println!();
    println!(
        "controller     run  95% over {WINDOW} samples (s)  every sample (s)  settled threads  \
         settled/best  paired: fixed {best_threads} mean, 95% over {WINDOW} of it (s)"
    );
    // (controller, reached against the best, reached against the run's own fixed reference)
    let mut reached_all: Vec<(&'static str, Option<f64>, Option<f64>)> = Vec::new();
    // Each run first runs the best count fixed, then the two controllers: the machine drifts
    // by several % over a minute, so each run also has a reference measured beside it.
    for run in 1..=runs {
        let mut fixed = Fixed(best_threads);
        let paired = warm_mean(&tune_once(&workload, bounds, seconds, &mut fixed, &cancel).0);
        let controllers: [Box<dyn Controller>; 2] = [
            Box::new(Pooltune::new(bounds)),
            Box::new(DotnetHillClimbing::new(bounds)),
        ];
        for mut controller in controllers {
            let (result, _) = tune_once(&workload, bounds, seconds, controller.as_mut(), &cancel);
            let trajectory = result.trajectory();
            let reached = trajectory.time_within_window_s(best, 0.05, WINDOW);
            let every = trajectory.time_within_s(best, 0.05);
            let reached_paired = trajectory.time_within_window_s(paired, 0.05, WINDOW);
            reached_all.push((controller.name(), reached, reached_paired));
            print_run(&result, run, reached, every, best);
            println!(
                "    paired: fixed {best_threads} threads ran {paired:.0}/s just before; \
                 within 95% of it over {WINDOW} samples from {}",
                seconds_or_never(reached_paired)
            );
        }
    }
    println!();
    for name in ["pooltune", "dotnet-hill-climbing"] {
        for (label, paired) in [("the best", false), ("the run's fixed reference", true)] {
            let mine: Vec<Option<f64>> = reached_all
                .iter()
                .filter(|(n, _, _)| *n == name)
                .map(|&(_, r, p)| if paired { p } else { r })
                .collect();
            let met = mine.iter().filter(|r| r.is_some_and(|t| t <= 3.0)).count();
            let mut times: Vec<f64> = mine.iter().flatten().copied().collect();
            times.sort_by(f64::total_cmp);
            let median = times
                .get(times.len() / 2)
                .map_or("never".to_owned(), |t| format!("{t:.2} s"));
            println!(
                "{name}: within 95% of {label} over {WINDOW} samples, and stayed, within 3 s in \
                 {met} of {} runs; median time {median} (of the {} runs that got there)",
                mine.len(),
                times.len()
            );
        }
    }
    println!("load after: {}", load());
}

/// One live run; also the mean CPU time per finished task after the first 0.5 s, in µs
/// (the process's CPU time over the tasks that ended: C, which sets the bound 2 CPUs / C).
fn tune_once(
    workload: &std::sync::Arc<dyn pooltune::workload::Workload>,
    bounds: Bounds,
    seconds: f64,
    controller: &mut dyn Controller,
    cancel: &CancelToken,
) -> (TuneResult, Option<f64>) {
    let (mut cpu_us, mut tasks) = (0.0, 0u64);
    let result = tune::live::run(
        LiveTune {
            name: "blocking W/C = 31".into(),
            workload: workload.clone(),
            bounds,
            seconds,
            controller,
        },
        cancel,
        &mut |sample| {
            if sample.t_s > 0.5
                && let Some(c) = sample.cpu_time_per_task_us
            {
                cpu_us += c * sample.completed as f64;
                tasks += sample.completed;
            }
        },
    )
    .expect("tune run");
    (result, (tasks > 0).then(|| cpu_us / tasks as f64))
}

/// The mean throughput of a run's samples after its first 0.5 s.
fn warm_mean(result: &TuneResult) -> f64 {
    let warm: Vec<f64> = result
        .samples
        .iter()
        .filter(|s| s.t_s > 0.5)
        .map(|s| s.throughput_per_s)
        .collect();
    warm.iter().sum::<f64>() / warm.len().max(1) as f64
}

fn seconds_or_never(t: Option<f64>) -> String {
    t.map_or_else(|| "never".to_owned(), |t| format!("{t:.2} s"))
}

fn print_run(result: &TuneResult, run: usize, reached: Option<f64>, every: Option<f64>, best: f64) {
    let (reached, every) = (seconds_or_never(reached), seconds_or_never(every));
    println!(
        "{:<14} {run:>3}  {reached:>22}  {every:>16}  {:>15}  {:>12.3}",
        result.controller,
        result
            .settled_threads
            .map_or("-".to_owned(), |n| n.to_string()),
        result.settled_throughput_per_s.unwrap_or(0.0) / best
    );
    let path: Vec<String> = result
        .samples
        .iter()
        .take(20)
        .map(|s| format!("{}@{:.1}", s.threads, s.t_s))
        .collect();
    println!("    path: {}", path.join(" "));
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
