//! How far an answer can be trusted: whether other processes used the CPUs while a trial ran
//! (read from `/proc/stat` through [`ProcStatSource`], so a test can feed it exact figures),
//! and the warnings a result carries about shapes a measurement cannot honestly have.
//!
//! The thresholds live here and nowhere else. The warning functions are pure functions of a
//! result: they read points, never the machine. Nothing here draws or prints.

use std::time::{Duration, Instant};

use crate::measure::{ProcessUsage, children_cpu_ns};
use crate::model::formula;
use crate::result::comparison::ComparisonResult;
use crate::result::{Point, SweepResult};
use crate::spec::WorkloadSpec;
use crate::words::counted_usize;

/// A point is disturbed when other processes used more than this many CPUs on average over its
/// trials. A tenth of a CPU is well above a quiet Linux machine's background (kernel threads,
/// a shell: a few hundredths) and well below what a concurrent build or benchmark takes.
pub const DISTURBED_MEAN_CPUS: f64 = 0.10;

/// A point is also disturbed when other processes used more than this many CPUs during any
/// one of its trials, even if the mean stays under [`DISTURBED_MEAN_CPUS`]: a burst that
/// large moves one trial's throughput by more than the 5% knee tolerance on a 2-core machine.
/// A trial above [`DISTURBED_MEAN_CPUS`] is the one re-measured (`retry_disturbed`).
pub const DISTURBED_TRIAL_CPUS: f64 = 0.25;

/// A measured W/C more than this many times the configured one is reported: a sleep that
/// overshoots by 3× is not timer slack, the workers were kept off the CPUs.
pub const WAIT_OVER_COMPUTE_FACTOR: f64 = 3.0;

/// At one thread of pure computation the process should keep one CPU busy; below this it was
/// kept off the CPU (other processes, a CPU quota).
pub const MIN_SINGLE_THREAD_CPU: f64 = 0.5;

/// Where the CPUs' busy time comes from: the text of `/proc/stat`. A trait so that a test can
/// give exact figures (see the tests below).
pub trait ProcStatSource: Send {
    /// The current contents of `/proc/stat`, or None when it cannot be read.
    fn read(&mut self) -> Option<String>;
    /// Clock ticks per second of its figures (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
    fn ticks_per_s(&self) -> f64;
}

/// The real `/proc/stat` (on macOS and Windows, the OS's counters as its `cpu ` line:
/// [`crate::platform::cpu_stat_text`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemProcStat;

impl ProcStatSource for SystemProcStat {
    // `/proc/stat` on Linux; macOS and Windows give their counters in its format.
    fn read(&mut self) -> Option<String> {
        crate::platform::cpu_stat_text()
    }

    fn ticks_per_s(&self) -> f64 {
        crate::platform::cpu_ticks_per_s()
    }
}

/// Busy time of all CPUs together from the `cpu ` line of `/proc/stat`, in ticks: user, nice,
/// system, irq, softirq and steal (proc(5)). Idle and iowait are not busy; guest time is
/// already counted in user.
pub fn busy_ticks(proc_stat: &str) -> Option<u64> {
    let line = proc_stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<Vec<u64>>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice]
    let at = |i: usize| fields.get(i).copied().unwrap_or(0);
    if fields.len() < 4 {
        return None;
    }
    Some(at(0) + at(1) + at(2) + at(5) + at(6) + at(7))
}

/// Measures what other processes used during a window (a trial), through a [`ProcStatSource`].
pub struct BusySampler {
    source: Box<dyn ProcStatSource>,
}

/// The start of a window: the CPUs' busy time and the moment it was read.
#[derive(Debug, Clone, Copy)]
pub struct BusyMark {
    busy_ticks: Option<u64>,
    at: Instant,
}

impl BusyMark {
    /// Wall time since the mark.
    pub fn elapsed(&self) -> Duration {
        self.at.elapsed()
    }
}

impl BusySampler {
    /// A sampler of the real `/proc/stat`.
    pub fn system() -> BusySampler {
        BusySampler::new(Box::new(SystemProcStat))
    }

    /// A sampler of any source (a fake one in tests).
    pub fn new(source: Box<dyn ProcStatSource>) -> BusySampler {
        BusySampler { source }
    }

    /// Starts a window.
    pub fn mark(&mut self) -> BusyMark {
        BusyMark {
            busy_ticks: self.source.read().as_deref().and_then(busy_ticks),
            at: Instant::now(),
        }
    }

    /// CPUs that other processes kept busy on average since `mark`: the busy time of all CPUs
    /// minus `own_cpu_ns` (pooltune's own and its children's CPU time over the same window),
    /// divided by `wall`. Clamped to 0 and `cpus` (the tick resolution can take the difference
    /// slightly out of range). NaN when `/proc/stat` could not be read.
    pub fn other_cpus(
        &mut self,
        mark: &BusyMark,
        own_cpu_ns: u64,
        wall: Duration,
        cpus: usize,
    ) -> f64 {
        let now = self.source.read().as_deref().and_then(busy_ticks);
        let (Some(before), Some(after)) = (mark.busy_ticks, now) else {
            return f64::NAN;
        };
        let wall_ns = wall.as_nanos() as f64;
        if wall_ns <= 0.0 {
            return f64::NAN;
        }
        let busy_ns = after.saturating_sub(before) as f64 * 1e9 / self.source.ticks_per_s();
        ((busy_ns - own_cpu_ns as f64) / wall_ns).clamp(0.0, cpus.max(1) as f64)
    }
}

/// A window over which other processes' CPU use is measured (a trial, a Python run, a cost
/// run): it takes the CPUs' busy time, this process's CPU time and its reaped children's at
/// the start, so that [`close`](OthersWindow::close) can take pooltune's own share out.
pub struct OthersWindow {
    mark: BusyMark,
    own_before: ProcessUsage,
    children_before_ns: u64,
}

impl OthersWindow {
    /// Opens a window now.
    pub fn open(sampler: &mut BusySampler) -> OthersWindow {
        OthersWindow {
            mark: sampler.mark(),
            own_before: ProcessUsage::now(),
            children_before_ns: children_cpu_ns(),
        }
    }

    /// This process's usage when the window opened (for callers that report its change).
    pub fn own_before(&self) -> &ProcessUsage {
        &self.own_before
    }

    /// CPUs other processes used on average since the window opened ([`BusySampler::other_cpus`]).
    /// `own_now` is this process's usage now; `live_children_cpu_ns` the CPU time of children
    /// still running, which getrusage cannot see (a process pool's workers report theirs).
    pub fn close(
        &self,
        sampler: &mut BusySampler,
        own_now: &ProcessUsage,
        live_children_cpu_ns: u64,
        cpus: usize,
    ) -> f64 {
        let own_cpu_ns = own_now.since(&self.own_before).cpu_ns
            + live_children_cpu_ns
            + children_cpu_ns().saturating_sub(self.children_before_ns);
        sampler.other_cpus(&self.mark, own_cpu_ns, self.mark.elapsed(), cpus)
    }
}

/// Whether a trial is disturbed enough to measure it again.
pub fn trial_disturbed(other_cpus: f64) -> bool {
    other_cpus > DISTURBED_MEAN_CPUS
}

/// Whether a point whose trials saw these figures of other processes' CPU use is disturbed:
/// more than [`DISTURBED_MEAN_CPUS`] on average or [`DISTURBED_TRIAL_CPUS`] in any one trial.
/// Unknown figures (NaN) never disturb.
pub fn point_disturbed(trial_other_cpus: &[f64]) -> bool {
    let known: Vec<f64> = trial_other_cpus
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if known.is_empty() {
        return false;
    }
    let mean = known.iter().sum::<f64>() / known.len() as f64;
    mean > DISTURBED_MEAN_CPUS || known.iter().any(|&v| v > DISTURBED_TRIAL_CPUS)
}

/// The warnings of a sweep: a busy machine, and each impossible shape with its figure.
pub fn sweep_warnings(result: &SweepResult) -> Vec<String> {
    let cpus = result.machine.logical_cpus;
    let mut warnings = Vec::new();
    warnings.extend(disturbed_warning(&result.points, cpus, None));
    warnings.extend(efficiency_warnings(&result.points, None));
    warnings.extend(wait_over_compute_warning(
        &result.points,
        &result.preset.workload,
        None,
    ));
    warnings.extend(single_thread_cpu_warning(
        &result.points,
        &result.preset.workload,
        None,
    ));
    warnings
}

/// The warnings of a comparison, each naming its series.
pub fn compare_warnings(result: &ComparisonResult) -> Vec<String> {
    let cpus = result.machine.logical_cpus;
    let mut warnings = Vec::new();
    // One result per `[[series]]`, in the preset's order.
    for (index, series) in result.series.iter().enumerate() {
        let label = Some(series.label.as_str());
        warnings.extend(disturbed_warning(&series.points, cpus, label));
        warnings.extend(efficiency_warnings(&series.points, label));
        if let Some(workload) = result
            .preset
            .series
            .get(index)
            .and_then(|series| series.setup.built_in_workload())
        {
            warnings.extend(wait_over_compute_warning(&series.points, workload, label));
            warnings.extend(single_thread_cpu_warning(&series.points, workload, label));
        }
    }
    warnings
}

fn prefixed(label: Option<&str>, sentence: String) -> String {
    match label {
        Some(label) => format!("{label}: {sentence}"),
        None => sentence,
    }
}

fn measured(points: &[Point]) -> Vec<&Point> {
    let mut ok: Vec<&Point> = points
        .iter()
        .filter(|p| p.is_ok() && p.throughput_per_s.is_finite())
        .collect();
    ok.sort_by_key(|p| p.threads);
    ok
}

/// "other processes used 1.4 of 2 CPUs during 5 of 6 thread counts: ...".
pub fn disturbed_warning(points: &[Point], cpus: usize, label: Option<&str>) -> Option<String> {
    let ok = measured(points);
    let disturbed: Vec<&&Point> = ok.iter().filter(|p| p.disturbed).collect();
    if disturbed.is_empty() {
        return None;
    }
    let mean = disturbed
        .iter()
        .map(|p| p.other_cpu_utilization)
        .filter(|v| v.is_finite())
        .sum::<f64>()
        / disturbed.len() as f64;
    let retried: u32 = ok.iter().map(|p| p.retried_trials).sum();
    let retried = match retried {
        0 => String::new(),
        1 => " (1 trial was measured again)".to_owned(),
        k => format!(" ({k} trials were measured again)"),
    };
    let scope = match (disturbed.len(), ok.len()) {
        (1, 1) => "during the only thread count".to_owned(),
        (2, 2) => "during both thread counts".to_owned(),
        (d, n) if d == n => format!("during all {n} thread counts"),
        (d, n) => format!(
            "during {d} of {}",
            counted_usize(n, "thread count", "thread counts")
        ),
    };
    Some(prefixed(
        label,
        format!(
            "other processes used {mean:.1} of {cpus} CPUs {scope}{retried}: the curve is not this workload's alone; run again on a quiet machine"
        ),
    ))
}

/// Efficiency above 100% of ideal (linear) scaling beyond the confidence intervals: N threads
/// cannot do more than N times the work of one.
pub fn efficiency_warnings(points: &[Point], label: Option<&str>) -> Vec<String> {
    let ok = measured(points);
    let Some(base) = ok.first() else {
        return Vec::new();
    };
    let ci = |p: &Point| {
        if p.throughput_ci95_per_s.is_finite() {
            p.throughput_ci95_per_s
        } else {
            0.0
        }
    };
    let base_high = base.throughput_per_s + ci(base);
    let mut warnings = Vec::new();
    for p in ok.iter().skip(1) {
        let ideal = p.threads as f64 / base.threads as f64;
        let low = p.throughput_per_s - ci(p);
        if base_high > 0.0 && low > ideal * base_high {
            let speedup = p.throughput_per_s / base.throughput_per_s;
            let efficiency = speedup / ideal * 100.0;
            warnings.push(prefixed(
                label,
                format!(
                    "at {} threads the efficiency is {efficiency:.0}% of ideal scaling (speedup {speedup:.2} over {}, ideal {ideal:.2}), beyond the confidence intervals: the baseline was slowed, or the work is not what it seems",
                    p.threads,
                    counted_usize(base.threads, "thread", "threads"),
                ),
            ));
        }
    }
    warnings
}

/// Measured W/C at the fewest threads more than [`WAIT_OVER_COMPUTE_FACTOR`] times the
/// configured one, for a workload that has one (`blocking`; `gil` only at 1 thread, where no
/// thread waits for the lock).
pub fn wait_over_compute_warning(
    points: &[Point],
    workload: &WorkloadSpec,
    label: Option<&str>,
) -> Option<String> {
    let configured = formula::configured_compute_wait(workload)?.wait_over_compute();
    if !(configured.is_finite() && configured > 0.0) {
        return None;
    }
    let first = *measured(points).first()?;
    let applies = match workload {
        WorkloadSpec::Blocking { .. } => true,
        WorkloadSpec::Gil { .. } => first.threads == 1,
        _ => false,
    };
    let wc = first.measured_wait_over_compute();
    if !applies || !wc.is_finite() || wc <= WAIT_OVER_COMPUTE_FACTOR * configured {
        return None;
    }
    Some(prefixed(
        label,
        format!(
            "at {} the measured W/C is {wc:.2}, more than {WAIT_OVER_COMPUTE_FACTOR}× the configured {configured:.2}: the workers were kept off the CPUs",
            counted_usize(first.threads, "thread", "threads"),
        ),
    ))
}

/// CPU utilisation below [`MIN_SINGLE_THREAD_CPU`] at 1 thread of pure computation.
pub fn single_thread_cpu_warning(
    points: &[Point],
    workload: &WorkloadSpec,
    label: Option<&str>,
) -> Option<String> {
    if !matches!(workload, WorkloadSpec::Cpu { .. }) {
        return None;
    }
    let one = measured(points).into_iter().find(|p| p.threads == 1)?;
    if !(one.cpu_utilization.is_finite() && one.cpu_utilization < MIN_SINGLE_THREAD_CPU) {
        return None;
    }
    Some(prefixed(
        label,
        format!(
            "at 1 thread of pure computation the process used only {:.2} of a CPU (at least {MIN_SINGLE_THREAD_CPU} expected): it was kept off the CPU by other processes or a CPU quota",
            one.cpu_utilization
        ),
    ))
}

/// For a worker-cost run: other processes used the CPUs during it (`other_cpus`, measured over
/// the whole run). Start and stop times suffer; memory does not.
pub fn cost_busy_warning(other_cpus: f64, cpus: usize) -> Option<String> {
    (other_cpus.is_finite() && other_cpus > DISTURBED_MEAN_CPUS).then(|| {
        format!(
            "other processes used {other_cpus:.1} of {cpus} CPUs during the run: the start and stop times are slower than on a quiet machine (the memory figures are not affected)"
        )
    })
}

/// The recommendation sentence as shown: the warnings first, then the sentence.
pub fn with_warnings(warnings: &[String], sentence: &str) -> String {
    if warnings.is_empty() {
        return sentence.to_string();
    }
    let mut shown = String::new();
    for warning in warnings {
        shown.push_str("Warning: ");
        shown.push_str(warning);
        shown.push_str(". ");
    }
    shown.push_str(sentence);
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::{assert_starts_with, ok_point};

    /// Gives the texts in order, then None.
    struct FakeProcStat(Vec<String>);

    impl ProcStatSource for FakeProcStat {
        fn read(&mut self) -> Option<String> {
            (!self.0.is_empty()).then(|| self.0.remove(0))
        }
        fn ticks_per_s(&self) -> f64 {
            100.0
        }
    }

    fn stat(user: u64, system: u64, idle: u64, steal: u64) -> String {
        format!(
            "cpu  {user} 0 {system} {idle} 7 0 0 {steal} 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 1\n"
        )
    }

    #[test]
    fn busy_ticks_adds_user_nice_system_irq_softirq_steal() {
        let text = "cpu  10 20 30 1000 500 40 50 60 70 80\n";
        assert_eq!(busy_ticks(text), Some(10 + 20 + 30 + 40 + 50 + 60));
        assert_eq!(busy_ticks("intr 1\n"), None);
        assert_eq!(busy_ticks("cpu  1 x 3 4\n"), None);
    }

    #[test]
    fn other_cpu_utilization_is_busy_time_minus_our_own_over_wall_time() {
        // Over 2 s: 300 + 100 ticks more busy = 4 s of CPU; we used 1.2 s: others 2.8 s / 2 s.
        let mut sampler = BusySampler::new(Box::new(FakeProcStat(vec![
            stat(1000, 500, 9000, 0),
            stat(1300, 600, 9100, 0),
        ])));
        let mark = sampler.mark();
        let other = sampler.other_cpus(&mark, 1_200_000_000, Duration::from_secs(2), 4);
        assert!((other - 1.4).abs() < 1e-12, "{other}");
    }

    #[test]
    fn steal_counts_and_the_figure_stays_within_zero_and_the_cpus() {
        let mut sampler = BusySampler::new(Box::new(FakeProcStat(vec![
            stat(0, 0, 0, 0),
            stat(0, 0, 0, 50),
            stat(0, 0, 0, 0),
            stat(100, 0, 0, 0),
            stat(0, 0, 0, 0),
            stat(10_000, 0, 0, 0),
        ])));
        // 50 ticks of steal = 0.5 s over 1 s, none of it ours.
        let mark = sampler.mark();
        assert!((sampler.other_cpus(&mark, 0, Duration::from_secs(1), 2) - 0.5).abs() < 1e-12);
        // We used more than the ticks show (tick resolution): 0, not negative.
        let mark = sampler.mark();
        assert_eq!(
            sampler.other_cpus(&mark, 2_000_000_000, Duration::from_secs(1), 2),
            0.0
        );
        // Never more than the machine's CPUs.
        let mark = sampler.mark();
        assert_eq!(sampler.other_cpus(&mark, 0, Duration::from_secs(1), 2), 2.0);
        // An unreadable /proc/stat gives an unknown figure, not 0.
        let mark = sampler.mark();
        assert!(
            sampler
                .other_cpus(&mark, 0, Duration::from_secs(1), 2)
                .is_nan()
        );
    }

    #[test]
    fn a_point_is_disturbed_by_its_mean_or_by_one_large_trial() {
        assert!(!point_disturbed(&[0.05, 0.08, 0.09]));
        assert!(point_disturbed(&[0.12, 0.11, 0.10]));
        assert!(point_disturbed(&[0.0, 0.0, 0.26]));
        assert!(!point_disturbed(&[0.0, 0.0, 0.25]));
        assert!(!point_disturbed(&[f64::NAN, f64::NAN]));
        assert!(!point_disturbed(&[]));
    }

    fn point(threads: usize, throughput: f64, ci: f64) -> Point {
        Point {
            throughput_ci95_per_s: ci,
            other_cpu_utilization: 0.0,
            ..ok_point(threads, throughput)
        }
    }

    #[test]
    fn disturbed_points_give_one_sentence_with_the_figure() {
        let mut points: Vec<Point> = (1..=6).map(|n| point(n, 100.0, 1.0)).collect();
        for p in points.iter_mut().skip(1) {
            p.disturbed = true;
            p.other_cpu_utilization = 1.4;
        }
        points[2].retried_trials = 2;
        let warning = disturbed_warning(&points, 2, None).unwrap();
        assert_starts_with(
            &warning,
            "other processes used 1.4 of 2 CPUs during 5 of 6 thread counts (2 trials were measured again): the curve is not this workload's",
        );
        points[0].disturbed = false;
        for p in &mut points {
            p.disturbed = false;
        }
        assert_eq!(disturbed_warning(&points, 2, None), None);
        // One thread count, disturbed: no "1 of 1 thread counts".
        let mut only = vec![point(1, 100.0, 1.0)];
        only[0].disturbed = true;
        only[0].other_cpu_utilization = 0.5;
        let warning = disturbed_warning(&only, 2, None).unwrap();
        assert_starts_with(
            &warning,
            "other processes used 0.5 of 2 CPUs during the only thread count:",
        );
    }

    #[test]
    fn efficiency_above_ideal_beyond_the_intervals_is_a_warning() {
        // 4 threads at 7× one thread: 175% of ideal.
        let points = vec![point(1, 100.0, 5.0), point(4, 700.0, 20.0)];
        let warnings = efficiency_warnings(&points, Some("gil"));
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("gil: at 4 threads the efficiency is 175% of ideal scaling"),
            "{}",
            warnings[0]
        );
        // Above ideal, but within the intervals: no warning.
        let points = vec![point(1, 100.0, 5.0), point(4, 410.0, 20.0)];
        assert!(efficiency_warnings(&points, None).is_empty());
        // Sublinear: none.
        let points = vec![point(1, 100.0, 1.0), point(4, 300.0, 1.0)];
        assert!(efficiency_warnings(&points, None).is_empty());
    }

    #[test]
    fn measured_wait_over_compute_far_above_the_configured_one_is_a_warning() {
        let blocking = WorkloadSpec::Blocking {
            compute_us: 1000,
            wait_us: 1000,
        };
        let mut one = point(1, 100.0, 1.0);
        one.cpu_time_per_task_us = 1000.0;
        one.wall_time_per_task_us = 5000.0; // W/C = 4 > 3 × 1
        let warning = wait_over_compute_warning(&[one.clone()], &blocking, None).unwrap();
        assert_starts_with(
            &warning,
            "at 1 thread the measured W/C is 4.00, more than 3× the configured 1.00",
        );
        one.wall_time_per_task_us = 3500.0; // W/C = 2.5
        assert_eq!(
            wait_over_compute_warning(&[one.clone()], &blocking, None),
            None
        );
        // A workload without a configured W/C: nothing to compare with.
        one.wall_time_per_task_us = 50_000.0;
        let cpu = WorkloadSpec::Cpu { compute_us: 100 };
        assert_eq!(wait_over_compute_warning(&[one], &cpu, None), None);
    }

    #[test]
    fn one_thread_of_computation_using_under_half_a_cpu_is_a_warning() {
        let cpu = WorkloadSpec::Cpu { compute_us: 100 };
        let mut one = point(1, 100.0, 1.0);
        one.cpu_utilization = 0.42;
        let warning = single_thread_cpu_warning(&[one.clone()], &cpu, None).unwrap();
        assert_starts_with(
            &warning,
            "at 1 thread of pure computation the process used only 0.42 of a CPU",
        );
        one.cpu_utilization = 0.97;
        assert_eq!(single_thread_cpu_warning(&[one.clone()], &cpu, None), None);
        // Not pure computation: waiting is expected.
        one.cpu_utilization = 0.1;
        let blocking = WorkloadSpec::Blocking {
            compute_us: 100,
            wait_us: 900,
        };
        assert_eq!(single_thread_cpu_warning(&[one], &blocking, None), None);
    }

    #[test]
    fn a_busy_worker_cost_run_warns_about_its_times() {
        let warning = cost_busy_warning(0.84, 2).unwrap();
        assert_starts_with(
            &warning,
            "other processes used 0.8 of 2 CPUs during the run",
        );
        assert_eq!(cost_busy_warning(0.05, 2), None);
        assert_eq!(cost_busy_warning(f64::NAN, 2), None);
    }

    #[test]
    fn the_shown_sentence_starts_with_the_warnings() {
        assert_eq!(with_warnings(&[], "Use 2 threads."), "Use 2 threads.");
        assert_eq!(
            with_warnings(
                &["other processes used 1.4 of 2 CPUs".into()],
                "Use 2 threads."
            ),
            "Warning: other processes used 1.4 of 2 CPUs. Use 2 threads."
        );
    }
}
