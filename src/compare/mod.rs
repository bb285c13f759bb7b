//! Compare mode: several configurations ("series") run as one experiment and drawn on one
//! chart. At each thread count the series run in turn (A, B, C, A, B, C, ...) so that drift
//! of the machine does not favour one of them. Rust series use the sweep's own
//! [`measure_point`](crate::sweep::measure_point); Python series run the shipped script
//! (`assets/pybench.py`) with CPython's `ThreadPoolExecutor` or `multiprocessing.Pool`, which is
//! how pooltune shows, on the user's machine, what threads without a GIL do.
//!
//! - [`spec`]: the comparison preset's old path; the format itself is [`crate::spec`].
//! - [`runner`]: [`run_comparison`] and the [`CompareOptions`] a run is started with.
//! - [`result`]: [`ComparisonResult`] and the views (throughput, speedup, efficiency).
//! - [`pyformat`]: the script's line format, parsed strictly.
//! - [`python`]: finding, probing and running interpreters; no Python process outlives a run.
//!
//! Like the rest of the engine, this module never imports egui: the GUI consumes the events
//! and the result types.

pub mod pyformat;
pub mod python;
pub mod result;
pub mod runner;

/// SHIM(issue 11): the comparison format moved to [`crate::spec`]; these are its old paths.
pub mod spec {
    pub use crate::spec::{
        AnyPreset, AnyPresetEntry, ComparisonPreset, MAX_PYTHON_PROCESSES, MAX_SERIES, PythonSetup,
        PythonTask, SeriesKind, SeriesSetup, SeriesSpec, comparison_to_toml as to_toml,
        list_any_presets, load_any, load_comparison as load, parse_any, parse_comparison as parse,
        save_comparison as save,
    };
}

pub use result::{
    ComparisonResult, InterpreterInfo, Scaling, ScalingPoint, SeriesResult, baseline, efficiency,
    ideal_speedup, scaling, speedup,
};
pub use runner::{CompareOptions, SeriesInfo, run_comparison};
pub use spec::{
    AnyPreset, AnyPresetEntry, ComparisonPreset, PythonSetup, PythonTask, SeriesKind, SeriesSetup,
    SeriesSpec, list_any_presets, load, load_any, parse, parse_any, save, to_toml,
};
