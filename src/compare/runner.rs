//! Compare mode's entry points: a comparison is a plan of several series
//! ([`crate::source::ComparisonPlan`]) run by the engine's interleaved loop
//! ([`crate::engine::interleave`]: A, B, C, A, B, C per thread count): [`run_comparison`] on
//! the calling thread, [`crate::engine::spawn_series`] with a [`ComparisonPlan`] on a named
//! one; both report [`crate::engine::Event`]s. This module never measures anything itself.
//!
//! A series that fails (no interpreter, a crash, malformed output) is reported once with
//! [`crate::engine::Event::SeriesFailed`], keeps the points it measured and is not run again; the
//! other series carry on. A Stop ends the run within milliseconds, Python processes included.

use std::path::PathBuf;

use super::python;
use super::result::ComparisonResult;
use super::spec::ComparisonPreset;
use crate::cancel::CancelToken;
pub use crate::engine::SeriesInfo;
use crate::engine::{self, Event};
use crate::error::EngineError;
use crate::source::ComparisonPlan;

/// Choices made when a comparison is started rather than written in its file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompareOptions {
    /// Interpreter for `python_threads` and `python_processes` series, over the preset's
    /// `interpreter` and PATH (`pooltune compare --python`).
    pub python: Option<PathBuf>,
    /// Interpreter for `python_free_threaded` series (`--free-threaded-python`).
    pub free_threaded_python: Option<PathBuf>,
    /// How this front end's user gives an interpreter, for the advice in "not found" errors.
    pub advice: python::InterpreterAdvice,
}

/// Runs a whole comparison on the calling thread through the engine, reporting the engine's
/// own events. Returns the result; a stopped comparison keeps its points.
pub fn run_comparison(
    preset: &ComparisonPreset,
    options: &CompareOptions,
    cancel: &CancelToken,
    emit: &mut dyn FnMut(Event),
) -> Result<ComparisonResult, EngineError> {
    let plan = ComparisonPlan {
        preset: preset.clone(),
        options: options.clone(),
    };
    let run = engine::run_series(&plan, cancel, emit)?;
    Ok(ComparisonResult::from_run(plan.preset, run))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::spec::{self, PythonSetup, SeriesKind, SeriesSetup, SeriesSpec};
    use crate::preset::{PoolSpec, SweepSpec, WorkloadSpec};

    /// (series, threads) of each point, in the order measured.
    fn point_order(events: &[Event]) -> Vec<(usize, usize)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Point { series, point } => Some((*series, point.threads)),
                _ => None,
            })
            .collect()
    }

    fn fast_comparison(series: Vec<SeriesSpec>) -> ComparisonPreset {
        ComparisonPreset {
            schema_version: 1,
            name: "fast".into(),
            description: String::new(),
            sweep: SweepSpec {
                threads: Some(vec![1, 2]),
                threads_range: None,
                trials: 3,
                tasks_per_trial: Some(8),
                trial_ms: None,
                warmup_ms: 0,
                retry_disturbed: 1,
            },
            series,
        }
    }

    fn rust_series(label: &str, workload: WorkloadSpec) -> SeriesSpec {
        SeriesSpec {
            label: label.into(),
            kind: SeriesKind::Rust,
            setup: SeriesSetup::Rust {
                workload,
                pool: PoolSpec::Rayon,
            },
        }
    }

    fn python_series(label: &str, kind: SeriesKind) -> SeriesSpec {
        SeriesSpec {
            label: label.into(),
            kind,
            setup: SeriesSetup::Python(PythonSetup {
                task: spec::PythonTask::Cpu,
                compute_us: 20,
                wait_us: 0,
                interpreter: None,
                chunk_size: 1,
            }),
        }
    }

    #[test]
    fn a_missing_interpreter_fails_its_series_and_the_rust_series_still_run() {
        let comparison = fast_comparison(vec![
            rust_series("Rust", WorkloadSpec::Cpu { compute_us: 5 }),
            python_series("Python threads", SeriesKind::PythonThreads),
            rust_series("Rust again", WorkloadSpec::Cpu { compute_us: 5 }),
        ]);
        let options = CompareOptions {
            python: Some(PathBuf::from("/no/such/python3")),
            ..CompareOptions::default()
        };
        let mut events = Vec::new();
        let result = run_comparison(&comparison, &options, &CancelToken::new(), &mut |e| {
            events.push(e)
        })
        .unwrap();
        assert!(matches!(events[0], Event::Started(_)));
        assert!(matches!(
            &events[1],
            Event::SeriesFailed { series: 1, message } if message.contains("/no/such/python3")
        ));
        let order = point_order(&events);
        assert_eq!(order, [(0, 1), (2, 1), (0, 2), (2, 2)]);
        assert!(matches!(events.last(), Some(Event::Finished(_))));
        assert!(!result.outcome.cancelled);
        assert_eq!(result.series[0].points.len(), 2);
        assert!(result.series[1].points.is_empty());
        assert!(
            result.series[1]
                .error
                .as_deref()
                .unwrap()
                .contains("--python PATH")
        );
    }

    #[test]
    fn rust_and_python_series_interleave_with_the_machines_python() {
        if python::find_on_path(python::DEFAULT_PYTHON).is_none() {
            eprintln!("python3 is not on PATH: skipping");
            return;
        }
        let comparison = fast_comparison(vec![
            rust_series("Rust", WorkloadSpec::Cpu { compute_us: 20 }),
            python_series("Python threads", SeriesKind::PythonThreads),
            python_series("Python processes", SeriesKind::PythonProcesses),
        ]);
        let mut events = Vec::new();
        let result = run_comparison(
            &comparison,
            &CompareOptions::default(),
            &CancelToken::new(),
            &mut |e| events.push(e),
        )
        .unwrap();
        let order = point_order(&events);
        assert_eq!(order, [(0, 1), (1, 1), (2, 1), (0, 2), (1, 2), (2, 2)]);
        for series in &result.series {
            assert_eq!(series.error, None, "{}", series.label);
            assert!(series.points.iter().all(|p| p.tasks_per_trial == 8.0));
        }
        let python = result.series[1].interpreter.as_ref().unwrap();
        assert!(result.series[1].label.contains(&python.version));
        assert!(result.series[1].label.contains("GIL"));
    }
}
