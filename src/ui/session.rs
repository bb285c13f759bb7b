//! The runs of this session: every sweep started from the app, its points as they arrive,
//! every sweep result opened from a file, and how the user labelled and filtered them. The
//! plots and the results table draw from here.
//!
//! Pure data: no egui, no threads, no I/O. The app feeds it the engine's [`Event`]s (a sweep
//! is a run of one series) and the results it read ([`Session::add_opened`]); once a sweep
//! has its result, the model's answer for it (`crate::model`, which reads the CPUs of the
//! machine the result was measured on) is kept beside its points.

use std::path::PathBuf;

use crate::engine::Event;
use crate::machine::MachineInfo;
use crate::model::{self, Bound, ModelOptions, Recommendation};
use crate::result::{Point, SweepResult};
use crate::spec::Preset;

/// Where a run stands.
#[derive(Debug, Clone, PartialEq)]
pub enum RunStatus {
    /// The engine is measuring it.
    Running,
    /// Every thread count was measured.
    Finished,
    /// The user stopped it; the finished points are kept.
    Stopped,
    /// The engine could not run it at all.
    Failed(String),
}

impl RunStatus {
    /// How a run that has sent its result stands: stopped when it was cancelled.
    pub fn ended(cancelled: bool) -> RunStatus {
        if cancelled {
            RunStatus::Stopped
        } else {
            RunStatus::Finished
        }
    }

    /// A word for the runs list.
    pub fn label(&self) -> &str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
            RunStatus::Stopped => "stopped",
            RunStatus::Failed(_) => "failed",
        }
    }
}

/// Where a run of the session came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOrigin {
    /// Measured by this app.
    Measured,
    /// Read from this result file (`pooltune open`, File ▸ Open, a dropped file).
    Opened(PathBuf),
}

/// One sweep of the session.
#[derive(Debug, Clone)]
pub struct Run {
    /// Stable identity (names can be edited and repeated).
    pub id: u64,
    /// The name shown in the legend and the runs list.
    pub name: String,
    /// Drawn on the plots.
    pub visible: bool,
    /// The configuration it ran with.
    pub preset: Preset,
    /// Thread counts the sweep will measure, known once it has started.
    pub planned_threads: Vec<usize>,
    /// Points measured so far, in the order run.
    pub points: Vec<Point>,
    /// The whole result, once the sweep has ended (finished or stopped).
    pub result: Option<SweepResult>,
    /// Where it stands.
    pub status: RunStatus,
    /// The model's answer (formula, USL fit, knee), once the sweep has ended.
    pub recommendation: Option<Recommendation>,
    /// The throughput bound min(N / (W + C), N_cpu / C), once the sweep has ended.
    pub bound: Option<Bound>,
    /// The machine it was measured on, once the engine has said (at once for an opened run).
    pub machine: Option<MachineInfo>,
    /// Measured here or opened from a file.
    pub origin: RunOrigin,
}

impl Run {
    /// Takes the sweep's whole result: its status, points, machine and the model's answer.
    fn set_result(&mut self, result: SweepResult, options: &ModelOptions) {
        self.status = RunStatus::ended(result.outcome.cancelled);
        self.points.clone_from(&result.points);
        self.machine = Some(result.machine.clone());
        // Computed once here, not per frame: the fit is a small search.
        self.recommendation = Some(model::recommend(&result, options));
        self.bound = model::bound(&result);
        self.result = Some(result);
    }

    /// The measured points (failed ones left out), for plotting.
    pub fn measured_points(&self) -> impl Iterator<Item = &Point> {
        self.points
            .iter()
            .filter(|p| p.is_ok() && p.throughput_per_s.is_finite())
    }
}

/// Every run of the session, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Session {
    runs: Vec<Run>,
    next_id: u64,
    selected: Option<u64>,
    model_options: ModelOptions,
}

impl Session {
    /// Adds a running run for `preset` and selects it. Its name is the preset's, made unique
    /// within the session.
    pub fn start(&mut self, preset: Preset) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let name = self.unique_name(&preset.name);
        self.runs.push(Run {
            id,
            name,
            visible: true,
            preset,
            planned_threads: Vec::new(),
            points: Vec::new(),
            result: None,
            status: RunStatus::Running,
            recommendation: None,
            bound: None,
            machine: None,
            origin: RunOrigin::Measured,
        });
        self.selected = Some(id);
        id
    }

    /// Adds a sweep result read from `path` as a run of the session and selects it: shown,
    /// hidden, renamed, removed and exported as a run measured here. Its name is its
    /// preset's, made unique; its model reads the CPUs of the machine it was measured on.
    pub fn add_opened(&mut self, path: PathBuf, result: SweepResult) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let name = self.unique_name(&result.preset.name);
        let mut run = Run {
            id,
            name,
            visible: true,
            preset: result.preset.clone(),
            planned_threads: result.preset.sweep.thread_counts(),
            points: Vec::new(),
            result: None,
            status: RunStatus::Running,
            recommendation: None,
            bound: None,
            machine: None,
            origin: RunOrigin::Opened(path),
        };
        run.set_result(result, &self.model_options);
        self.runs.push(run);
        self.selected = Some(id);
        id
    }

    fn unique_name(&self, base: &str) -> String {
        let taken = |name: &str| self.runs.iter().any(|r| r.name == name);
        if !taken(base) {
            return base.to_owned();
        }
        (2..)
            .map(|n| format!("{base} ({n})"))
            .find(|candidate| !taken(candidate))
            .unwrap_or_else(|| base.to_owned())
    }

    /// Applies an engine event of run `id`'s sweep (its one series; a sweep's failures are
    /// failed points, so `SeriesFailed` and `Progress` change nothing here).
    pub fn apply(&mut self, id: u64, event: Event) {
        let options = self.model_options;
        let Some(run) = self.get_mut(id) else {
            return;
        };
        match event {
            Event::Started(started) => {
                run.planned_threads = started.thread_counts;
                run.machine = Some(started.machine);
            }
            Event::Progress { .. } | Event::SeriesFailed { .. } => {}
            Event::Point { point, .. } => run.points.push(point),
            Event::Finished(finished) => {
                let result = SweepResult::from_run(run.preset.clone(), *finished);
                run.set_result(result, &options);
            }
        }
    }

    /// The model's options (U and the p99 target) used for every run's recommendation.
    pub fn model_options(&self) -> ModelOptions {
        self.model_options
    }

    /// Changes the model's options and recomputes the recommendation of every finished run.
    pub fn set_model_options(&mut self, options: ModelOptions) {
        self.model_options = options;
        for run in &mut self.runs {
            if let Some(result) = &run.result {
                run.recommendation = Some(model::recommend(result, &options));
            }
        }
    }

    /// Marks run `id` as failed with `message` (the engine ended without a result).
    pub fn fail(&mut self, id: u64, message: String) {
        if let Some(run) = self.get_mut(id) {
            run.status = RunStatus::Failed(message);
        }
    }

    /// The runs, oldest first.
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// The runs drawn on the plots.
    pub fn visible_runs(&self) -> impl Iterator<Item = &Run> {
        self.runs.iter().filter(|r| r.visible)
    }

    /// Run `id`.
    pub fn get(&self, id: u64) -> Option<&Run> {
        self.runs.iter().find(|r| r.id == id)
    }

    /// Run `id`, to edit.
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Run> {
        self.runs.iter_mut().find(|r| r.id == id)
    }

    /// Renames run `id`; a blank name is refused (the legend needs one).
    pub fn rename(&mut self, id: u64, name: &str) -> bool {
        let name = name.trim();
        match self.get_mut(id) {
            Some(run) if !name.is_empty() => {
                run.name = name.to_owned();
                true
            }
            _ => false,
        }
    }

    /// Shows or hides run `id` on the plots.
    pub fn set_visible(&mut self, id: u64, visible: bool) {
        if let Some(run) = self.get_mut(id) {
            run.visible = visible;
        }
    }

    /// Removes run `id`, unless it is still running. Returns true when removed.
    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.runs.len();
        self.runs
            .retain(|r| r.id != id || r.status == RunStatus::Running);
        let removed = self.runs.len() != before;
        if removed && self.selected == Some(id) {
            self.selected = self.runs.last().map(|r| r.id);
        }
        removed
    }

    /// The run whose table is shown.
    pub fn selected(&self) -> Option<&Run> {
        self.selected.and_then(|id| self.get(id))
    }

    /// Id of the run whose table is shown.
    pub fn selected_id(&self) -> Option<u64> {
        self.selected
    }

    /// Shows run `id`'s table.
    pub fn select(&mut self, id: u64) {
        if self.get(id).is_some() {
            self.selected = Some(id);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::RunResult;
    use crate::model::fixtures::ok_point as point;
    use crate::spec::SeriesKind;
    use crate::spec::{PoolSpec, SweepSpec, WorkloadSpec};

    /// The engine's point event of a sweep (its series 0).
    pub(crate) fn measured(point: Point) -> Event {
        Event::Point { series: 0, point }
    }

    /// The engine's last event of a sweep that produced `result`.
    pub(crate) fn finished(result: &SweepResult) -> Event {
        Event::Finished(Box::new(RunResult {
            machine: result.machine.clone(),
            calibration: result.calibration.clone(),
            thread_counts: result.points.iter().map(|p| p.threads).collect(),
            series: vec![crate::engine::SeriesResult {
                label: result.preset.name.clone(),
                kind: SeriesKind::Rust,
                interpreter: None,
                points: result.points.clone(),
                error: None,
            }],
            preset: (),
            outcome: result.outcome.clone(),
        }))
    }

    fn preset(name: &str) -> Preset {
        Preset {
            schema_version: 1,
            name: name.to_owned(),
            description: String::new(),
            workload: WorkloadSpec::Cpu { compute_us: 10 },
            pool: PoolSpec::Rayon,
            sweep: SweepSpec {
                search: Default::default(),
                target_ci: None,
                threads: Some(vec![1, 2]),
                threads_range: None,
                trials: 3,
                tasks_per_trial: Some(10),
                trial_ms: None,
                warmup_ms: 0,
                retry_disturbed: 1,
            },
            folder: None,
        }
    }

    #[test]
    fn points_arrive_then_the_result_replaces_them() {
        let mut session = Session::default();
        let id = session.start(preset("a"));
        session.apply(id, measured(point(1, 10.0)));
        assert_eq!(session.get(id).unwrap().points.len(), 1);
        assert_eq!(session.get(id).unwrap().status, RunStatus::Running);
        // A running run cannot be removed.
        assert!(!session.remove(id));

        let mut result = crate::model::fixtures::result(
            vec![point(1, 11.0), point(2, 20.0)],
            WorkloadSpec::Cpu { compute_us: 10 },
        );
        result.outcome.cancelled = true;
        session.apply(id, finished(&result));
        let run = session.get(id).unwrap();
        assert_eq!(run.status, RunStatus::Stopped);
        // (Compared by thread counts: the made-up points hold NaN, which equals nothing.)
        let threads = |points: &[Point]| points.iter().map(|p| p.threads).collect::<Vec<_>>();
        assert_eq!(threads(&run.points), [1, 2]);
        assert!(run.result.as_ref().is_some_and(|r| r.outcome.cancelled));
        assert!(run.recommendation.is_some());
        assert!(session.remove(id));
    }

    #[test]
    fn changing_u_recomputes_every_finished_runs_recommendation() {
        let mut session = Session::default();
        let blocking = WorkloadSpec::Blocking {
            compute_us: 1000,
            wait_us: 9000,
        };
        let finished = |session: &mut Session| {
            let result = crate::model::fixtures::result(
                vec![point(1, 100.0), point(2, 200.0)],
                blocking.clone(),
            );
            // The recommendation reads the workload of the preset the run was started with.
            let id = session.start(result.preset.clone());
            session.apply(id, finished(&result));
            id
        };
        let first = finished(&mut session);
        let formula = |session: &Session, id| {
            session
                .get(id)
                .unwrap()
                .recommendation
                .as_ref()
                .unwrap()
                .formula_threads
                .unwrap()
        };
        let full = formula(&session, first);
        session.set_model_options(ModelOptions {
            utilization_target: 0.5,
            p99_target_us: None,
        });
        assert!((formula(&session, first) - full / 2.0).abs() < 1e-9);
        // A run that finishes later uses the options in force.
        let second = finished(&mut session);
        assert!((formula(&session, second) - full / 2.0).abs() < 1e-9);
    }

    #[test]
    fn repeated_names_are_made_unique_and_blank_renames_refused() {
        let mut session = Session::default();
        let a = session.start(preset("cpu"));
        let b = session.start(preset("cpu"));
        let c = session.start(preset("cpu"));
        let names: Vec<&str> = session.runs().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["cpu", "cpu (2)", "cpu (3)"]);
        assert!(!session.rename(a, "   "));
        assert!(session.rename(a, " mine "));
        assert_eq!(session.get(a).unwrap().name, "mine");
        assert_eq!(session.selected_id(), Some(c));
        session.fail(c, "no".into());
        assert!(session.remove(c));
        assert_eq!(session.selected_id(), Some(b));
    }

    /// An opened sweep is a finished run of the session, with the machine it was measured
    /// on, whose model uses that machine's CPU counts (8 usable here, whatever this one has).
    #[test]
    fn an_opened_sweep_joins_the_runs_with_its_own_machines_cpus() {
        let mut session = Session::default();
        let measured_here = session.start(preset("a"));
        let blocking = WorkloadSpec::Blocking {
            compute_us: 1000,
            wait_us: 9000,
        };
        let mut result =
            crate::model::fixtures::result(vec![point(1, 100.0), point(2, 200.0)], blocking);
        result.machine.host_name = "build-server-7".into();
        result.machine.usable_cpus = 8;
        result.machine.physical_cpus = 4;
        result.machine.logical_cpus = 8;
        let path = PathBuf::from("/results/run.json");
        let id = session.add_opened(path.clone(), result.clone());
        assert_ne!(id, measured_here);
        assert_eq!(session.selected_id(), Some(id));
        let run = session.get(id).unwrap();
        assert_eq!(run.origin, RunOrigin::Opened(path));
        assert_eq!(run.status, RunStatus::Finished);
        assert_eq!(run.machine.as_ref().unwrap().host_name, "build-server-7");
        assert_eq!(run.planned_threads, [1, 2]);
        assert_eq!(run.points.len(), 2);
        let recommendation = run.recommendation.as_ref().unwrap();
        assert_eq!(recommendation.cpus.usable, 8);
        // N = 8 × 1 × (1 + 9000/1000).
        assert_eq!(recommendation.formula_threads, Some(80.0));
        assert_eq!(run.bound.as_ref().unwrap().usable_cpus, 8);
        // It can be renamed and removed as a run measured here.
        assert!(session.rename(id, "server"));
        assert!(session.remove(id));
        assert_eq!(session.runs().len(), 1);
    }

    #[test]
    fn failed_points_are_not_plotted() {
        let mut session = Session::default();
        let id = session.start(preset("a"));
        session.apply(id, measured(point(1, 10.0)));
        session.apply(id, measured(Point::failed(2, "boom")));
        let run = session.get(id).unwrap();
        assert_eq!(run.points.len(), 2);
        assert_eq!(run.measured_points().count(), 1);
    }
}
