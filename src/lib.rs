//! pooltune: a thread-pool tuner. It runs a workload at many thread counts, measures
//! throughput, latency and CPU, and compares the result with the thread-count formula
//! N = N_cpu × U × (1 + W/C) and a fitted scalability curve.
//!
//! The engine (`spec`: the experiment files; `engine`: one run skeleton, one event enum and
//! the interleaved loop over series; `source`: what a series measures; `sweep`: the front
//! doors of a sweep and a comparison; `workload`, `pool`, `child`, `measure`, `monitor`,
//! `model`, `cost`) never imports egui: the same engine serves the CLI (`cli`), the desktop
//! app (`app`, `ui`, behind the `gui` feature) and the tests. Data flows one way:
//! experiment file (`spec`) → engine → events → stored results → drawing.
//!
//! # As a library: tune your own closure
//!
//! With `pooltune = { path = "..." }` in a program's `Cargo.toml` (`default-features = false`
//! leaves the desktop app out), a [`Tuner`] measures a closure at several thread counts on one
//! of pooltune's pools of threads through the same engine, and returns the result the CLI
//! writes: a [`SweepResult`](result::SweepResult) for one series, whose JSON carries the
//! formula, the measured W/C, the scalability fit and the recommendation, or a comparison for
//! several (see [`library`]).
//!
//! ```
//! use std::sync::Arc;
//!
//! let lines: Arc<Vec<String>> = Arc::new((0..100).map(|i| format!("GET /a/{i} 200 {}", i * 7)).collect());
//! let data = Arc::clone(&lines);
//! let result = pooltune::Tuner::new("parse logs")
//!     .threads([1, 2])
//!     .tasks_per_trial(200)
//!     .warmup_ms(0)
//!     .series(pooltune::ClosureSeries::new("rayon", pooltune::PoolKind::Rayon, move |task| {
//!         let line = &data[task.index as usize % data.len()];
//!         line.rsplit(' ').next().and_then(|bytes| bytes.parse::<u64>().ok())
//!     }))
//!     .run()?;
//! let pooltune::TuneResult::Sweep(sweep) = &result else { unreachable!("one series") };
//! assert_eq!(sweep.points.len(), 2);
//! assert!(sweep.points.iter().all(|p| p.error.is_none() && p.tasks_per_trial == 200.0));
//! let (_, recommendation) = &result.recommendations(&Default::default())[0];
//! assert!(recommendation.recommended_threads.is_some());
//! let file = std::env::temp_dir().join(format!("pooltune-doc-{}.json", std::process::id()));
//! result.write_json(&file)?;
//! assert_eq!(pooltune::TuneResult::read_json(&file)?.sweeps()[0].points.len(), 2);
//! # std::fs::remove_file(&file)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(feature = "gui")]
pub mod app;
pub mod atomic_file;
pub mod cancel;
pub mod child;
pub mod cli;
pub mod controller;
pub mod cost;
pub mod engine;
pub mod error;
pub mod events;
pub mod export;
pub mod library;
pub mod machine;
pub mod measure;
pub mod model;
pub mod monitor;
pub mod platform;
pub mod pool;
pub mod remote;
pub mod replay;
pub mod result;
pub mod search;
pub mod source;
pub mod spec;
pub mod stats;
pub mod sweep;
pub mod trust;
pub mod tune;
#[cfg(feature = "gui")]
pub mod ui;
pub mod window_cost;
pub mod words;
pub mod workload;

pub use library::{ClosureSeries, PoolKind, Task, TuneError, TuneResult, Tuner};
