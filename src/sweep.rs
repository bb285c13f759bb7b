//! The sweep's front doors: a sweep file is a plan of one series (a preset's workload on its
//! pool), a comparison a plan of several ([`crate::source::ComparisonPlan`]); the engine
//! ([`crate::engine`]) runs both with the same interleaved loop (A, B, C, A, B, C per thread
//! count), so a sweep is a comparison with one series. [`run`] and [`run_comparison`] run on
//! the calling thread, [`crate::engine::spawn_series`] on a named one; all report
//! [`crate::engine::Event`]s. This module never measures anything itself.
//!
//! A comparison series that fails (no interpreter, a crash, malformed output) is reported once
//! with [`crate::engine::Event::SeriesFailed`], keeps the points it measured and is not run
//! again; the other series carry on. A Stop ends the run within milliseconds, Python
//! processes included.

pub use crate::engine::{
    Progress, SLOWER_THAN_PLANNED_FACTOR, SLOWER_THAN_PLANNED_MIN_S, slower_than_planned,
};
pub use crate::source::in_process::{
    MAX_TASK_CPU_SHARE, MIN_BUSY_FRACTION, MIN_JUDGED_TASK_US, PointSetup, chunk_for,
    idle_pool_reason, measure_point, measure_workload, sample_every_for,
};

use crate::cancel::CancelToken;
use crate::engine::{self, Event};
use crate::error::EngineError;
use crate::result::SweepResult;
use crate::result::comparison::ComparisonResult;
use crate::source::{CompareOptions, ComparisonPlan};
use crate::spec::{ComparisonPreset, Preset};

/// Runs a whole sweep on the calling thread through the engine, reporting the engine's own
/// events (series 0 is the preset's). Returns the result; a stopped sweep keeps its points.
pub fn run(
    preset: &Preset,
    cancel: &CancelToken,
    emit: &mut dyn FnMut(Event),
) -> Result<SweepResult, EngineError> {
    let run = engine::run_series(preset, cancel, emit)?;
    Ok(SweepResult::from_run(preset.clone(), run))
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
    use std::path::PathBuf;

    use super::*;
    use crate::source::python::script as python;
    use crate::spec::{self, PythonSetup, SeriesKind, SeriesSetup, SeriesSpec};
    use crate::spec::{PoolSpec, SweepSpec, WorkloadSpec};

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
                search: Default::default(),
                target_ci: None,
                threads: Some(vec![1, 2]),
                threads_range: None,
                trials: 3,
                tasks_per_trial: Some(8),
                trial_ms: None,
                warmup_ms: 0,
                retry_disturbed: 1,
            },
            series,
            folder: None,
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
