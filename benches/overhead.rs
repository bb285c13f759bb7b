//! What pooltune's measuring costs: empty tasks through the instrumented rayon path (per-worker
//! recorders, catch_unwind, sampled timestamps, a CPU-clock read per chunk) beside raw rayon
//! running the same tasks on the same pool size, in the same run. Target: at least 0.8 of raw.
//!
//! `cargo bench --bench overhead` prints criterion's figures, then a paired ratio table.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use pooltune::cancel::{CancelToken, TrialStop};
use pooltune::pool::{self, Pool, TrialPlan};
use pooltune::source::in_process;
use pooltune::spec::PoolSpec;
use pooltune::workload::{self, Empty, TaskCtx, Workload, WorkloadFactory};
use rayon::prelude::*;

const TASKS: u64 = 2_000_000;

struct Bench {
    instrumented: Box<dyn Pool>,
    raw: rayon::ThreadPool,
    workload: Arc<dyn Workload>,
    sample_every: u64,
    chunk_tasks: u64,
}

impl Bench {
    fn new(threads: usize) -> Bench {
        let calibration = workload::calibrate();
        let workload: Arc<dyn Workload> = Arc::new(Empty);
        let factory = WorkloadFactory::Built(Arc::clone(&workload));
        // The decisions the engine makes for a task this short (about 1 ns), through the
        // very functions its in-process source calls.
        let task_ns = 1.0;
        Bench {
            instrumented: pool::build(&PoolSpec::Rayon, threads, &factory).expect("pool"),
            raw: rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool"),
            workload,
            sample_every: in_process::sample_every_for(&calibration, task_ns),
            chunk_tasks: in_process::chunk_for(task_ns, TASKS, threads),
        }
    }

    fn instrumented(&mut self) -> u64 {
        let stop = Arc::new(TrialStop::new(CancelToken::new(), None));
        let plan = TrialPlan {
            workload: &self.workload,
            max_tasks: TASKS,
            sample_every: self.sample_every,
            chunk_tasks: self.chunk_tasks,
            stop: &stop,
        };
        self.instrumented.run_trial(&plan).expect("trial").tasks
    }

    fn raw(&self) -> u64 {
        let stop = TrialStop::new(CancelToken::new(), None);
        let workload = &*self.workload;
        self.raw.install(|| {
            (0..TASKS).into_par_iter().for_each(|task| {
                workload.run_task(&TaskCtx {
                    worker: 0,
                    task,
                    stop: &stop,
                })
            })
        });
        TASKS
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let mut ratios = Vec::new();
    for threads in [1, 2] {
        let mut bench = Bench::new(threads);
        let mut group = criterion.benchmark_group(format!("empty_tasks_{threads}_threads"));
        group.throughput(Throughput::Elements(TASKS));
        group.bench_function("pooltune_instrumented", |b| {
            b.iter(|| black_box(bench.instrumented()))
        });
        group.bench_function("raw_rayon", |b| b.iter(|| black_box(bench.raw())));
        group.finish();
        // Paired: alternate the two, 15 rounds each, and compare the medians.
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..15 {
            let t = Instant::now();
            black_box(bench.instrumented());
            ours.push(TASKS as f64 / t.elapsed().as_secs_f64());
            let t = Instant::now();
            black_box(bench.raw());
            theirs.push(TASKS as f64 / t.elapsed().as_secs_f64());
        }
        ratios.push((
            threads,
            median(&mut ours),
            median(&mut theirs),
            bench.sample_every,
            bench.chunk_tasks,
        ));
    }
    criterion.final_summary();
    println!(
        "\nempty-task throughput, pooltune's instrumented rayon path vs raw rayon (medians of 15 paired rounds):"
    );
    println!("threads  instrumented tasks/s  raw rayon tasks/s  ratio  (sampled 1 in N, chunk)");
    for (threads, ours, theirs, every, chunk) in ratios {
        println!(
            "{threads:>7}  {ours:>20.3e}  {theirs:>17.3e}  {:>5.2}  (1 in {every}, {chunk} tasks)",
            ours / theirs
        );
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
