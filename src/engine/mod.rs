//! The engine: one run skeleton for every experiment, and the interleaved loop that measures
//! every series of a run one thread count at a time (A, B, C, A, B, C, ...), so that drift of
//! the machine (other programs, heat, frequency) does not favour one series. A sweep is that
//! loop with one series; a comparison has several; the worker-cost experiment is its own
//! experiment on the same skeleton and the same [`Event`] enum.
//!
//! What measures one thread count is a [`Series`]; which series a run has is said by a
//! [`SeriesPlan`] (see [`crate::source`] for the built-in ones). The engine never imports
//! egui, never knows which kind of source a series is, and never panics on a bad point: a
//! failed point is a point with its `error` set, a failed series is reported once with
//! [`Event::SeriesFailed`] and the others go on.

mod result;

use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use result::{InterpreterInfo, RunOutcome, RunResult, SeriesResult};

use crate::cancel::CancelToken;
use crate::error::EngineError;
use crate::machine::MachineInfo;
use crate::result::{Calibration, Point};
use crate::search::{Grid, Next, Search};
use crate::spec::InvalidValue;
use crate::spec::SeriesKind;

/// What measuring one series at one thread count gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Measured {
    /// A point; it may carry an `error` (a panicking task, a pool that could not be built):
    /// the series goes on at the next thread count.
    Point(Point),
    /// The series cannot go on (no interpreter, a crash, malformed output); the message says
    /// why and what to do. The engine does not ask this series again.
    SeriesFailed(String),
    /// The run was stopped while measuring; the partial point is dropped.
    Cancelled,
}

/// Something that measures one series, one thread count at a time: the seam every source
/// (built-in workload × pool, a Python script, later a command or a closure) plugs into.
///
/// Contract: [`Series::measure`] measures `threads` and returns; it calls `on_step(1)` after
/// its warm-up and `on_step(k + 1)` after trial k (the engine turns these into
/// [`Event::Progress`]; steps past trials + 1 are counted as trials + 1). When `cancel` is
/// set it ends within milliseconds, leaves no thread or process behind, and returns
/// [`Measured::Cancelled`]. A series is `Send` so that a run can be moved to its thread.
pub trait Series: Send {
    /// Measures one thread count (see the trait's contract).
    fn measure(&mut self, threads: usize, cancel: &CancelToken, on_step: &mut OnStep) -> Measured;

    /// Measures one thread count with `trials` trials instead of the sweep's own (a search's
    /// validation needs one). A source that cannot change its trials measures as usual.
    fn measure_trials(
        &mut self,
        threads: usize,
        trials: u32,
        cancel: &CancelToken,
        on_step: &mut OnStep,
    ) -> Measured {
        let _ = trials;
        self.measure(threads, cancel, on_step)
    }
}

/// What a [`Series`] calls after each step of one thread count: `on_step(1)` after the
/// warm-up, `on_step(k + 1)` after trial k; the engine turns it into [`Event::Progress`].
pub type OnStep<'a> = dyn FnMut(usize) + 'a;

/// A series as announced by [`Event::Started`] (and in the `started` event line, see
/// [`crate::events`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesInfo {
    /// The legend (with the interpreter's version and GIL state for Python series).
    pub label: String,
    /// What the series is.
    pub kind: SeriesKind,
    /// The interpreter a Python series runs on, once found.
    pub interpreter: Option<InterpreterInfo>,
}

/// What a series run announces once calibrated and its series are prepared (also the fields
/// of the `started` event line, see [`crate::events`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Started {
    /// The machine.
    pub machine: MachineInfo,
    /// The run's calibration.
    pub calibration: Calibration,
    /// Thread counts, in the order they will run; for an adaptive search, only those its
    /// first phase may grow through (what it measures depends on what it finds).
    pub thread_counts: Vec<usize>,
    /// Trials per thread count (per measurement: an adaptive search may measure a count again).
    pub trials: u32,
    /// One entry per series, in order, labelled as on the chart.
    pub series: Vec<SeriesInfo>,
}

/// What the engine reports while it runs: one enum for every experiment. A series run sends
/// `Event` (its defaults); the worker-cost experiment sends
/// `Event<cost::Plan, cost::WorkerCost, cost::CostResult>` (see [`crate::cost`]): its series are
/// its worker kinds, its points what N workers of one kind cost.
#[derive(Debug, Clone)]
pub enum Event<S = Started, P = Point, R = RunResult> {
    /// The run has started: what will be run, and where.
    Started(Box<S>),
    /// A warm-up or a trial of one series has finished.
    Progress {
        /// Index of the series being measured.
        series: usize,
        /// How far the whole run has got.
        progress: Progress,
    },
    /// A series has measured one thread count (the point may carry an `error`).
    Point {
        /// Index of the series.
        series: usize,
        /// The point.
        point: P,
    },
    /// A series stopped for good (or never started); the message says why and what to do.
    SeriesFailed {
        /// Index of the series.
        series: usize,
        /// Why.
        message: String,
    },
    /// The run is over (finished or stopped); the whole result.
    Finished(Box<R>),
}

/// How far a run has got (also the `progress` event line's `progress`, see
/// [`crate::events`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Thread count being measured.
    pub threads: usize,
    /// Index of that thread count in the run (0-based).
    pub point_index: usize,
    /// Measurements in the run (thread counts, each once, for a grid); for an adaptive
    /// search an estimate that grows as it learns (`exact` is false).
    pub points: usize,
    /// Steps done so far (a warm-up or a trial of one series is one step).
    pub steps_done: usize,
    /// Steps in the whole run (an estimate when `exact` is false).
    pub steps_total: usize,
    /// True when `points` and `steps_total` are known in advance (a grid); false while an
    /// adaptive search decides as it goes.
    #[serde(default = "exact_by_default")]
    pub exact: bool,
    /// Seconds since the run started.
    pub elapsed_s: f64,
    /// How long the plan said the run's warm-ups and trials take, in seconds
    /// ([`SeriesPlan::planned_s`]); None when the trials are a task count or there is no plan.
    pub planned_s: Option<f64>,
}

fn exact_by_default() -> bool {
    true
}

/// A run is "slower than planned" once it has taken this many times its plan...
pub const SLOWER_THAN_PLANNED_FACTOR: f64 = 3.0;
/// ...and at least this many seconds more: calibration, building pools and a trial's last
/// tasks come on top of the plan, and on a short plan they alone can triple it.
pub const SLOWER_THAN_PLANNED_MIN_S: f64 = 10.0;

/// What to tell the user when a run takes far longer than its plan (a pool that cannot
/// start its threads, tasks that outlive their trial): None while it is within
/// [`SLOWER_THAN_PLANNED_FACTOR`] × the plan or [`SLOWER_THAN_PLANNED_MIN_S`] over it.
/// `projected_s` is the whole run's expected length at the pace so far, when known.
pub fn slower_than_planned(
    elapsed_s: f64,
    planned_s: Option<f64>,
    projected_s: Option<f64>,
) -> Option<String> {
    let planned = planned_s.filter(|p| p.is_finite() && *p >= 0.0)?;
    if !elapsed_s.is_finite()
        || elapsed_s < planned * SLOWER_THAN_PLANNED_FACTOR
        || elapsed_s < planned + SLOWER_THAN_PLANNED_MIN_S
    {
        return None;
    }
    let mut note = if planned > 0.0 {
        format!(
            "taking {:.0}× longer than planned: {:.0} s so far for a {:.0} s plan",
            elapsed_s / planned,
            elapsed_s,
            planned
        )
    } else {
        format!("taking longer than planned: {elapsed_s:.0} s so far for a 0 s plan")
    };
    if let Some(projected) = projected_s.filter(|p| p.is_finite() && *p > elapsed_s) {
        note.push_str(&format!(", about {projected:.0} s in all at this pace"));
    }
    Some(note)
}

impl Progress {
    /// Fraction done, 0 to 1.
    pub fn fraction(&self) -> f64 {
        if self.steps_total == 0 {
            return 1.0;
        }
        self.steps_done as f64 / self.steps_total as f64
    }

    /// Estimated seconds left, from the time taken so far (None before the first step).
    pub fn eta_s(&self) -> Option<f64> {
        let fraction = self.fraction();
        (fraction > 0.0).then(|| self.elapsed_s * (1.0 - fraction) / fraction)
    }

    /// A note when the run is taking far longer than planned ([`slower_than_planned`]).
    pub fn slower_than_planned(&self) -> Option<String> {
        slower_than_planned(
            self.elapsed_s,
            self.planned_s,
            self.eta_s().map(|eta| self.elapsed_s + eta),
        )
    }
}

/// Where a run stands once the skeleton has started it: its clocks, the machine and the
/// experiment's calibration.
#[derive(Debug, Clone)]
pub struct RunStart<C> {
    /// When the run started (for elapsed times).
    pub started: Instant,
    /// When the run started, seconds since the Unix epoch.
    pub started_unix_s: u64,
    /// The machine.
    pub machine: MachineInfo,
    /// What [`Experiment::calibrate`] measured.
    pub calibration: C,
}

/// One kind of run on the engine's skeleton. The skeleton ([`run`]) does, in this order:
/// [`validate`](Experiment::validate) → quiet panic hook → clocks → machine →
/// [`calibrate`](Experiment::calibrate) → [`Event::Started`] with what
/// [`start`](Experiment::start) returns → [`measure`](Experiment::measure) (the loop) →
/// [`Event::Finished`] with its result. [`spawn`] does it on a named thread.
pub trait Experiment {
    /// What [`Event::Started`] carries.
    type Started;
    /// What [`Event::Point`] carries.
    type Point;
    /// What the run produces ([`Event::Finished`] and the return value).
    type Result: Clone;
    /// Why the run could not start.
    type Error;
    /// What is measured once per run before it starts (a series run's spin and timer
    /// calibration; nothing for the worker cost).
    type Calibration;

    /// Checks the experiment before anything runs.
    fn validate(&mut self) -> Result<(), Self::Error>;
    /// Measures what every point depends on; returns early when cancelled.
    fn calibrate(&mut self, cancel: &CancelToken) -> Self::Calibration;
    /// Prepares what will run and says so (sent as [`Event::Started`]).
    fn start(&mut self, run: &RunStart<Self::Calibration>, cancel: &CancelToken) -> Self::Started;
    /// The loop: measures everything, reporting through `emit`, and returns the result
    /// (a stopped run keeps what it measured).
    fn measure(
        &mut self,
        run: RunStart<Self::Calibration>,
        cancel: &CancelToken,
        emit: &mut dyn FnMut(EventOf<Self>),
    ) -> Self::Result;
    /// The error for an engine thread the OS would not start.
    fn thread_failed(err: std::io::Error) -> Self::Error;
}

/// The events of experiment `E`.
pub type EventOf<E> =
    Event<<E as Experiment>::Started, <E as Experiment>::Point, <E as Experiment>::Result>;

/// Runs `experiment` on the calling thread through the skeleton (see [`Experiment`]).
/// Returns the result, also sent as [`Event::Finished`].
pub fn run<E: Experiment>(
    experiment: &mut E,
    cancel: &CancelToken,
    emit: &mut dyn FnMut(EventOf<E>),
) -> Result<E::Result, E::Error> {
    experiment.validate()?;
    install_quiet_panic_hook();
    let started = Instant::now();
    let started_unix_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let machine = MachineInfo::detect();
    let calibration = experiment.calibrate(cancel);
    let run = RunStart {
        started,
        started_unix_s,
        machine,
        calibration,
    };
    emit(Event::Started(Box::new(experiment.start(&run, cancel))));
    let result = experiment.measure(run, cancel, emit);
    emit(Event::Finished(Box::new(result.clone())));
    Ok(result)
}

/// A run on its own thread: its result once joined.
pub type RunHandle<R, E> = JoinHandle<Result<R, E>>;

/// Runs [`run`] on a thread named `thread_name` (`pooltune-sweep`, `pooltune-compare`, ...).
pub fn spawn<E>(
    thread_name: &str,
    mut experiment: E,
    cancel: CancelToken,
    mut emit: impl FnMut(EventOf<E>) + Send + 'static,
) -> Result<RunHandle<E::Result, E::Error>, E::Error>
where
    E: Experiment + Send + 'static,
    E::Result: Send + 'static,
    E::Error: Send + 'static,
{
    named_thread(thread_name, move || {
        run(&mut experiment, &cancel, &mut emit)
    })
    .map_err(E::thread_failed)
}

/// Starts `body` on a thread named `thread_name`: every thread pooltune starts has a
/// `pooltune-` name (clippy.toml forbids `std::thread::spawn`).
pub fn named_thread<T: Send + 'static>(
    thread_name: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<JoinHandle<T>> {
    std::thread::Builder::new()
        .name(thread_name.into())
        .spawn(body)
}

/// A series ready to run, or why it cannot (reported as [`Event::SeriesFailed`] right after
/// [`Event::Started`]).
pub struct PreparedSeries {
    /// How the series is announced.
    pub info: SeriesInfo,
    /// What measures it.
    pub series: Result<Box<dyn Series>, String>,
}

/// What a series run measures: its thread counts, trials and series. A sweep preset is one
/// series, a comparison several, a test's fake source whatever it likes; the engine's loop is
/// the same for all.
pub trait SeriesPlan {
    /// Checks every value against its allowed range.
    fn validate(&self) -> Result<(), InvalidValue>;
    /// Thread counts, in the order they run (for an adaptive search: those it may grow
    /// through, see [`SeriesPlan::search`]).
    fn thread_counts(&self) -> Vec<usize>;
    /// What chooses the counts measured: by default the grid of [`SeriesPlan::thread_counts`].
    /// A comparison keeps the grid (every series at the same counts); a sweep file with
    /// `search = "adaptive"` searches.
    fn search(&self) -> Box<dyn Search> {
        Box::new(Grid::new(self.thread_counts()))
    }
    /// Trials per thread count (each series also warms up once per thread count).
    fn trials(&self) -> u32;
    /// Seconds the warm-ups and trials should take, for [`Progress::slower_than_planned`];
    /// None for no note.
    fn planned_s(&self) -> Option<f64>;
    /// Builds every series, in order, for this run's calibration.
    fn prepare(&self, calibration: &Calibration, cancel: &CancelToken) -> Vec<PreparedSeries>;
}

/// A [`SeriesPlan`] on the skeleton.
struct SeriesRun<P> {
    plan: P,
    thread_counts: Vec<usize>,
    series: Vec<Option<Box<dyn Series>>>,
    results: Vec<SeriesResult>,
}

impl<P: SeriesPlan> Experiment for SeriesRun<P> {
    type Started = Started;
    type Point = Point;
    type Result = RunResult;
    type Error = EngineError;
    type Calibration = Calibration;

    fn validate(&mut self) -> Result<(), EngineError> {
        self.plan.validate().map_err(EngineError::InvalidPreset)?;
        self.thread_counts = self.plan.thread_counts();
        Ok(())
    }

    fn calibrate(&mut self, cancel: &CancelToken) -> Calibration {
        crate::workload::calibrate_until(cancel)
    }

    fn start(&mut self, run: &RunStart<Calibration>, cancel: &CancelToken) -> Started {
        let mut infos = Vec::new();
        for prepared in self.plan.prepare(&run.calibration, cancel) {
            let PreparedSeries { info, series } = prepared;
            let (series, error) = match series {
                Ok(series) => (Some(series), None),
                Err(message) => (None, Some(message)),
            };
            self.results.push(SeriesResult {
                label: info.label.clone(),
                kind: info.kind,
                interpreter: info.interpreter.clone(),
                points: Vec::new(),
                error,
            });
            self.series.push(series);
            infos.push(info);
        }
        Started {
            machine: run.machine.clone(),
            calibration: run.calibration.clone(),
            thread_counts: self.thread_counts.clone(),
            trials: self.plan.trials(),
            series: infos,
        }
    }

    fn measure(
        &mut self,
        run: RunStart<Calibration>,
        cancel: &CancelToken,
        emit: &mut dyn FnMut(Event),
    ) -> RunResult {
        for (series, result) in self.results.iter().enumerate() {
            if let Some(message) = &result.error {
                emit(Event::SeriesFailed {
                    series,
                    message: message.clone(),
                });
            }
        }
        let mut search = self.plan.search();
        let mut measured = Vec::new();
        let cancelled = cancel.is_cancelled()
            || interleave(
                &mut Schedule {
                    search: search.as_mut(),
                    measured: &mut measured,
                    steps_per_point: self.plan.trials() as usize + 1,
                    planned_s: self.plan.planned_s(),
                    started: run.started,
                },
                &mut self.series,
                &mut self.results,
                cancel,
                emit,
            );
        // The counts as measured, in order (a grid's list when it ran to its end).
        if !measured.is_empty() || cancelled {
            self.thread_counts = measured;
        }
        // Sources end what they started (a Python script's folder) when dropped, before the
        // result is announced.
        self.series.clear();
        RunResult {
            machine: run.machine,
            preset: (),
            calibration: run.calibration,
            thread_counts: std::mem::take(&mut self.thread_counts),
            series: std::mem::take(&mut self.results),
            outcome: RunOutcome {
                cancelled,
                duration_s: run.started.elapsed().as_secs_f64(),
                ..RunOutcome::started_at(run.started_unix_s)
            },
        }
    }

    fn thread_failed(err: std::io::Error) -> EngineError {
        EngineError::Spawn(err)
    }
}

impl<P> SeriesRun<P> {
    fn new(plan: P) -> Self {
        SeriesRun {
            plan,
            thread_counts: Vec::new(),
            series: Vec::new(),
            results: Vec::new(),
        }
    }
}

/// Runs every series of `plan` on the calling thread, interleaved, through the skeleton.
/// Returns the result, also sent as [`Event::Finished`]. A stopped run keeps its points.
pub fn run_series(
    plan: &dyn SeriesPlan,
    cancel: &CancelToken,
    emit: &mut dyn FnMut(Event),
) -> Result<RunResult, EngineError> {
    run(&mut SeriesRun::new(plan), cancel, emit)
}

impl<P: SeriesPlan + ?Sized> SeriesPlan for &P {
    fn validate(&self) -> Result<(), InvalidValue> {
        (**self).validate()
    }
    fn thread_counts(&self) -> Vec<usize> {
        (**self).thread_counts()
    }
    fn search(&self) -> Box<dyn Search> {
        (**self).search()
    }
    fn trials(&self) -> u32 {
        (**self).trials()
    }
    fn planned_s(&self) -> Option<f64> {
        (**self).planned_s()
    }
    fn prepare(&self, calibration: &Calibration, cancel: &CancelToken) -> Vec<PreparedSeries> {
        (**self).prepare(calibration, cancel)
    }
}

/// [`run_series`] on a thread named `thread_name`.
pub fn spawn_series<P: SeriesPlan + Send + 'static>(
    thread_name: &str,
    plan: P,
    cancel: CancelToken,
    emit: impl FnMut(Event) + Send + 'static,
) -> Result<RunHandle<RunResult, EngineError>, EngineError> {
    spawn(thread_name, SeriesRun::new(plan), cancel, emit)
}

/// The order and pace of a series run, for [`interleave`].
pub struct Schedule<'a> {
    /// What chooses the thread counts (a grid, an adaptive search); fed the first live
    /// series' points.
    pub search: &'a mut dyn Search,
    /// The counts measured, in order, filled by [`interleave`].
    pub measured: &'a mut Vec<usize>,
    /// Steps each series reports at one thread count (a warm-up plus the trials).
    pub steps_per_point: usize,
    /// The plan's length in seconds, passed on in [`Progress::planned_s`].
    pub planned_s: Option<f64>,
    /// When the run started.
    pub started: Instant,
}

/// The heart of the engine: for each thread count the search asks for, each live series in
/// turn; the first live series' point is what the search learns from. Returns true when
/// stopped. A failed series is dropped from `series` (its slot becomes None) and its message
/// kept in `results`; its remaining steps count as done, so progress still reaches 1. When
/// every series has failed the run ends.
pub fn interleave<S, R>(
    schedule: &mut Schedule<'_>,
    series: &mut [Option<Box<dyn Series>>],
    results: &mut [SeriesResult],
    cancel: &CancelToken,
    emit: &mut dyn FnMut(Event<S, Point, R>),
) -> bool {
    let steps_per_point = schedule.steps_per_point;
    let mut point_index = 0;
    loop {
        let live = series.iter().filter(|s| s.is_some()).count();
        if live == 0 {
            return false;
        }
        let (threads, trials) = match schedule.search.next() {
            Next::Measure(threads) => (threads, None),
            Next::MeasureTrials(threads, trials) => (threads, Some(trials)),
            Next::Done => return false,
        };
        let points = schedule
            .search
            .estimated_measurements()
            .max(point_index + 1);
        let exact = schedule.search.is_exact();
        let all_series = series.len();
        // Steps per measurement as the run stands: every series, failed ones counted as done.
        let steps_total = all_series * points * steps_per_point;
        let mut steps_done = all_series * point_index * steps_per_point;
        let mut learned = false;
        let mut stopped = false;
        for index in 0..series.len() {
            let Some(measuring) = series[index].as_mut() else {
                steps_done += steps_per_point;
                continue;
            };
            if cancel.is_cancelled() {
                stopped = true;
                break;
            }
            let steps_before = steps_done;
            let mut on_step = |step: usize| {
                emit(Event::Progress {
                    series: index,
                    progress: Progress {
                        threads,
                        point_index,
                        points,
                        steps_done: steps_before + step.min(steps_per_point),
                        steps_total,
                        elapsed_s: schedule.started.elapsed().as_secs_f64(),
                        planned_s: schedule.planned_s,
                        exact,
                    },
                });
            };
            let measured = match trials {
                Some(trials) => measuring.measure_trials(threads, trials, cancel, &mut on_step),
                None => measuring.measure(threads, cancel, &mut on_step),
            };
            steps_done = steps_before + steps_per_point;
            match measured {
                Measured::Point(point) => {
                    if !learned {
                        schedule.search.record(&point);
                        learned = true;
                    }
                    emit(Event::Point {
                        series: index,
                        point: point.clone(),
                    });
                    results[index].points.push(point);
                }
                Measured::SeriesFailed(message) => {
                    emit(Event::SeriesFailed {
                        series: index,
                        message: message.clone(),
                    });
                    results[index].error = Some(message);
                    series[index] = None;
                }
                Measured::Cancelled => {
                    stopped = true;
                    break;
                }
            }
        }
        if stopped {
            // A count some series measured before Stop is a count of the result, so that its
            // points have a row (a comparison's table lists the counts measured).
            if learned {
                schedule.measured.push(threads);
            }
            return true;
        }
        if !learned {
            // Every live series failed at this count: the search learns a failed point.
            schedule
                .search
                .record(&Point::failed(threads, "no series measured this count"));
        }
        schedule.measured.push(threads);
        point_index += 1;
    }
}

/// Panics in pool workers are caught and reported as failed points; printing them as well
/// would only clutter the terminal. Other threads' panics are printed as usual.
pub(crate) fn install_quiet_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let reported_by_engine = std::thread::current().name().is_some_and(|name| {
                name.starts_with("pooltune-worker") || name.starts_with("pooltune-spawn")
            });
            if !reported_by_engine {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slower_than_planned_only_well_past_the_plan() {
        // 20 s planned: within 3× (60 s) nothing is said.
        assert_eq!(slower_than_planned(59.0, Some(20.0), None), None);
        assert_eq!(
            slower_than_planned(200.0, Some(20.0), Some(283.0)).as_deref(),
            Some(
                "taking 10× longer than planned: 200 s so far for a 20 s plan, about 283 s in all at this pace"
            )
        );
        // A 1 s plan that takes 4 s: calibration and pool start-up, not worth a note.
        assert_eq!(slower_than_planned(4.0, Some(1.0), None), None);
        assert_eq!(
            slower_than_planned(12.0, Some(1.0), Some(5.0)).as_deref(),
            Some("taking 12× longer than planned: 12 s so far for a 1 s plan")
        );
        // Trials of a task count have no plan.
        assert_eq!(slower_than_planned(1e6, None, None), None);
        // Through the progress event.
        let progress = Progress {
            threads: 4096,
            point_index: 2,
            points: 3,
            steps_done: 5,
            steps_total: 10,
            elapsed_s: 200.0,
            planned_s: Some(20.0),
            exact: true,
        };
        assert_eq!(
            progress.slower_than_planned().as_deref(),
            Some(
                "taking 10× longer than planned: 200 s so far for a 20 s plan, about 400 s in all at this pace"
            )
        );
    }

    /// A fake series: throughput by Little's law for 2 CPUs and W/C = 31 (flat from 64
    /// threads), three trials spread ±1% around it, no timing.
    struct LittleSeries;

    impl Series for LittleSeries {
        fn measure(
            &mut self,
            threads: usize,
            _cancel: &CancelToken,
            on_step: &mut OnStep,
        ) -> Measured {
            let x = 1000.0 * (threads.min(64) as f64);
            let trials = vec![x * 0.99, x, x * 1.01];
            for step in 1..=4 {
                on_step(step);
            }
            let mut point = Point::failed(threads, "");
            point.error = None;
            point.trials = 3;
            point.throughput_per_s = crate::stats::mean(&trials);
            point.throughput_ci95_per_s = crate::stats::ci95_half_width(&trials);
            point.trial_throughputs_per_s = trials;
            Measured::Point(point)
        }
    }

    struct SearchPlan;

    impl SeriesPlan for SearchPlan {
        fn validate(&self) -> Result<(), InvalidValue> {
            Ok(())
        }
        fn thread_counts(&self) -> Vec<usize> {
            vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
        }
        fn search(&self) -> Box<dyn Search> {
            Box::new(crate::search::Adaptive::new(1, 512, 0.03))
        }
        fn trials(&self) -> u32 {
            3
        }
        fn planned_s(&self) -> Option<f64> {
            None
        }
        fn prepare(&self, _: &Calibration, _: &CancelToken) -> Vec<PreparedSeries> {
            vec![PreparedSeries {
                info: SeriesInfo {
                    label: "little".into(),
                    kind: SeriesKind::Custom,
                    interpreter: None,
                },
                series: Ok(Box::new(LittleSeries)),
            }]
        }
    }

    /// The loop measures what the search asks, every measurement an ordinary point in order,
    /// with a progress whose total is marked as an estimate and never passed.
    #[test]
    fn an_adaptive_plan_measures_what_its_search_asks_in_order() {
        let mut events = Vec::new();
        let result = run_series(&SearchPlan, &CancelToken::new(), &mut |e| events.push(e)).unwrap();
        let points = &result.series[0].points;
        let emitted: Vec<usize> = events
            .iter()
            .filter_map(|e| match e {
                Event::Point { point, .. } => Some(point.threads),
                _ => None,
            })
            .collect();
        let stored: Vec<usize> = points.iter().map(|p| p.threads).collect();
        assert_eq!(emitted, stored);
        assert_eq!(result.thread_counts, stored);
        // The same search, fed the same points, asks the same counts.
        let mut again = crate::search::Adaptive::new(1, 512, 0.03);
        for point in points {
            let (Next::Measure(threads) | Next::MeasureTrials(threads, _)) = again.next() else {
                panic!("the search ended before {}", point.threads);
            };
            assert_eq!(threads, point.threads);
            again.record(point);
        }
        assert_eq!(again.next(), Next::Done);
        assert!(stored.len() < 10, "fewer than the grid's 10: {stored:?}");
        assert_eq!(
            crate::model::recommend::knee_threads(points),
            Some(64),
            "{stored:?}"
        );
        let progress: Vec<&Progress> = events
            .iter()
            .filter_map(|e| match e {
                Event::Progress { progress, .. } => Some(progress),
                _ => None,
            })
            .collect();
        assert!(
            progress
                .iter()
                .all(|p| !p.exact && p.steps_done <= p.steps_total)
        );
        assert!(
            progress
                .windows(2)
                .all(|w| w[0].steps_done <= w[1].steps_done)
        );
        let last = progress.last().unwrap();
        assert_eq!(
            last.steps_done, last.steps_total,
            "the last step ends the run"
        );
    }
}
