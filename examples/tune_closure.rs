//! Tune a Rust closure with pooltune used as a library.
//!
//! Each task parses a batch of made-up web-server log lines (CPU work), then waits 1 ms
//! standing for the round trip that stores the batch's totals (a database, a socket): the
//! formula's own case, a task that computes and waits. pooltune measures it on a rayon pool
//! at several thread counts, measures W/C, fits the scalability curve and recommends a
//! thread count. The result is the JSON `pooltune sweep --format json` writes.
//!
//! ```text
//! cargo run --release --example tune_closure [-- OUT.json]
//! ```
//! (default OUT: `target/tune_closure.json`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use pooltune::{ClosureSeries, PoolKind, TuneError, TuneResult, Tuner};

/// `count` made-up access-log lines: `IP - - [date] "GET /path HTTP/1.1" STATUS BYTES`.
pub fn log_lines(count: usize) -> Vec<String> {
    let statuses = [200, 200, 200, 304, 404, 500];
    (0..count)
        .map(|i| {
            format!(
                "10.0.{}.{} - - [02/Dec/2026:13:{:02}:{:02} +0000] \"GET /shop/item/{} HTTP/1.1\" {} {}",
                i % 256,
                (i * 7) % 256,
                (i / 60) % 60,
                i % 60,
                i * 31 % 10_000,
                statuses[i % statuses.len()],
                200 + (i * 97) % 50_000
            )
        })
        .collect()
}

/// Bytes served per status class (2xx, 3xx, 4xx, 5xx) in `lines`.
pub fn parse(lines: &[String]) -> [u64; 4] {
    let mut bytes_by_class = [0u64; 4];
    for line in lines {
        let mut fields = line.rsplitn(3, ' ');
        let bytes = fields.next().and_then(|b| b.parse::<u64>().ok());
        let status = fields.next().and_then(|s| s.parse::<u16>().ok());
        if let (Some(bytes), Some(status)) = (bytes, status)
            && (200..600).contains(&status)
        {
            bytes_by_class[usize::from(status / 100 - 2)] += bytes;
        }
    }
    bytes_by_class
}

/// How the example is run; a test runs it shorter.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Thread counts to try.
    pub threads: Vec<usize>,
    /// Length of a trial in milliseconds.
    pub trial_ms: u64,
    /// Warm-up per thread count in milliseconds.
    pub warmup_ms: u64,
    /// Repeats of a trial disturbed by other programs.
    pub retry_disturbed: u32,
    /// Lines one task parses.
    pub lines_per_task: usize,
    /// The wait after parsing, standing for storing the totals, in microseconds.
    pub store_wait_us: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            threads: vec![1, 2, 4, 8, 16, 32, 64, 128],
            trial_ms: 400,
            warmup_ms: 200,
            retry_disturbed: 1,
            lines_per_task: 400,
            store_wait_us: 1000,
        }
    }
}

/// Tunes the parse-and-store task on a rayon pool. `measured_calls` counts the closure's
/// calls in the measured trials (the warm-ups are told apart by `task.warm_up`).
pub fn tune(settings: &Settings, measured_calls: Arc<AtomicU64>) -> Result<TuneResult, TuneError> {
    let lines = Arc::new(log_lines(10_000));
    let (per_task, wait) = (
        settings.lines_per_task,
        std::time::Duration::from_micros(settings.store_wait_us),
    );
    Tuner::new("parse and store logs")
        .description(
            "Parse a batch of access-log lines, then wait for the store: how many threads?",
        )
        .threads(settings.threads.iter().copied())
        .trial_ms(settings.trial_ms)
        .warmup_ms(settings.warmup_ms)
        .retry_disturbed(settings.retry_disturbed)
        .series(ClosureSeries::new("rayon", PoolKind::Rayon, move |task| {
            if !task.warm_up {
                measured_calls.fetch_add(1, Ordering::Relaxed);
            }
            let first = (task.index as usize * per_task) % (lines.len() - per_task);
            let totals = parse(&lines[first..first + per_task]);
            std::thread::sleep(wait);
            totals
        }))
        .run()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/tune_closure.json".to_owned());
    let calls = Arc::new(AtomicU64::new(0));
    let result = tune(&Settings::default(), Arc::clone(&calls))?;
    print!("{}", result.table()?);
    for (label, recommendation) in result.recommendations(&Default::default()) {
        match recommendation.recommended_threads {
            Some(threads) => println!("\n{label}: use {threads} threads"),
            None => println!(
                "\n{label}: no recommendation ({})",
                recommendation.explanation
            ),
        }
    }
    let counted: f64 = result.sweeps()[0]
        .points
        .iter()
        .filter(|p| p.error.is_none())
        .map(|p| p.tasks_per_trial * f64::from(p.trials))
        .sum();
    let repeated: u32 = result.sweeps()[0]
        .points
        .iter()
        .map(|p| p.retried_trials)
        .sum();
    println!(
        "the closure ran {} times in the measured trials; the result counts {counted:.0} tasks \
         ({repeated} trial(s) measured again because other programs used the CPUs: their \
         first runs are not counted)",
        calls.load(Ordering::Relaxed)
    );
    result.write_json(&out)?;
    println!("wrote {out}");
    Ok(())
}
