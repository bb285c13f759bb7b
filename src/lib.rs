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

#[cfg(feature = "gui")]
pub mod app;
pub mod atomic_file;
pub mod cancel;
pub mod child;
pub mod cli;
pub mod cost;
pub mod engine;
pub mod error;
pub mod export;
pub mod machine;
pub mod measure;
pub mod model;
pub mod monitor;
pub mod pool;
pub mod result;
pub mod source;
pub mod spec;
pub mod stats;
pub mod sweep;
pub mod trust;
#[cfg(feature = "gui")]
pub mod ui;
pub mod words;
pub mod workload;
