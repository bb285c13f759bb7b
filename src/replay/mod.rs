//! Replays (`pooltune replay`): drives each controller against a measured curve (a sweep
//! result's points, interpolated, with noise drawn from the measured trial spread; see
//! [`curve`]) instead of a real pool, so the famous controllers and pooltune's own are
//! compared on the same curve. Simulated time advances by each controller's own sample
//! interval. It never runs a workload, sleeps, or reads the clock: a replay with the same
//! seed is the same replay.
//!
//! Figures per controller are read from the noiseless curve at the counts it chose (the
//! noise is what the controller sees, not what it is judged on): the count it settled on
//! ([`Trajectory::settled_threads`]), the time from which the curve at its counts stays
//! within 5% of the curve's best ([`Trajectory::time_within_s`]), and the throughput lost on
//! the way: the integral of (best − curve at its count) over time, as a share of best × time.

pub mod curve;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{CliError, ReplayArgs, ReplayController};
use crate::controller::registry::{self, REPLAY_ALL};
use crate::controller::seeded::SeededRng;
use crate::controller::{Controller, Trajectory, TrajectorySample};
use crate::export::Format;
use crate::result::open::{OpenError, OpenedResult, open};

pub use curve::Curve;

/// How close to the best counts as there: 5%.
pub const WITHIN: f64 = 0.05;
/// The shortest sample interval a replay accepts (a controller asking for less gets this).
pub const MIN_SAMPLE_S: f64 = 0.001;
/// The most simulated seconds a replay runs.
pub const MAX_SECONDS: f64 = 3600.0;

/// Why a replay could not start. Each message names the file or the flag and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The result file could not be opened.
    #[error("--result {0}")]
    Open(#[from] OpenError),
    /// The file is a result, but not a sweep.
    #[error("--result {}: this is a {kind}, not a sweep; replay the JSON that `pooltune sweep --format json` wrote", path.display())]
    NotASweep {
        /// The file.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// The sweep has fewer than two measured points: there is no curve.
    #[error("--result {}: {found} measured point(s); a replay needs at least 2 to draw a curve between", path.display())]
    TooFewPoints {
        /// The file.
        path: PathBuf,
        /// Measured points found.
        found: usize,
    },
    /// `--seconds` is out of range.
    #[error("--seconds {0}: give a number of simulated seconds above 0 and at most 3600")]
    Seconds(f64),
}

/// One controller's replay: its path and its figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControllerReplay {
    /// The controller's name.
    pub controller: String,
    /// The thread count it settled on: the median count of the last 20% of the time.
    pub settled_threads: Option<usize>,
    /// The curve's throughput at the settled count, tasks per second.
    pub settled_throughput_per_s: Option<f64>,
    /// Seconds until the curve at its counts came within 5% of the best and stayed; null
    /// when it never did.
    pub time_within_5pct_s: Option<f64>,
    /// Throughput lost on the way: ∫(best − curve at its count) dt / (best × time), 0 to 1.
    pub throughput_lost_share: f64,
    /// Samples taken.
    pub sample_count: usize,
    /// Its path: what it saw at each sample (noisy throughput, p99 latency) and the count.
    pub samples: Vec<TrajectorySample>,
}

/// A whole replay: the curve's best and every controller's path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replay {
    /// The sweep result replayed.
    pub result: String,
    /// The best measured thread count.
    pub best_threads: usize,
    /// Its throughput, tasks per second.
    pub best_throughput_per_s: f64,
    /// Simulated seconds per controller.
    pub seconds: f64,
    /// The noise seed.
    pub seed: u64,
    /// How the curve is read between measured counts.
    pub interpolation: &'static str,
    /// How the noise is drawn.
    pub noise: &'static str,
    /// One entry per controller, in the order asked.
    pub controllers: Vec<ControllerReplay>,
}

/// Reads the curve of the sweep result at `path`.
pub fn load_curve(path: &Path) -> Result<Curve, ReplayError> {
    let result = match open(path)? {
        OpenedResult::Sweep(result) => result,
        other => {
            return Err(ReplayError::NotASweep {
                path: path.to_owned(),
                kind: other.kind_name(),
            });
        }
    };
    Curve::from_result(&result).ok_or_else(|| ReplayError::TooFewPoints {
        path: path.to_owned(),
        found: result.points.iter().filter(|p| p.is_ok()).count(),
    })
}

/// Drives `controller` against `curve` for `seconds` simulated seconds, its noise from `rng`.
pub fn run_one(
    curve: &Curve,
    mut controller: Box<dyn Controller>,
    seconds: f64,
    rng: &mut SeededRng,
) -> ControllerReplay {
    let bounds = curve.bounds();
    let (_, best) = curve.best();
    let mut seen = Trajectory {
        controller: controller.name().to_owned(),
        samples: Vec::new(),
    };
    let mut expected = seen.clone();
    let mut lost = 0.0;
    let mut t_s = 0.0;
    let mut threads = bounds.clamp(controller.initial_threads());
    while t_s < seconds {
        let duration_s = controller
            .sample_interval()
            .as_secs_f64()
            .max(MIN_SAMPLE_S)
            .min(seconds - t_s + MIN_SAMPLE_S);
        t_s += duration_s;
        let (sample, busy_percent) = curve.sample(t_s, threads, duration_s, rng);
        let truth = curve.at(threads).throughput_per_s;
        lost += (best - truth).max(0.0) * duration_s;
        seen.samples.push(TrajectorySample::from(&sample));
        expected.samples.push(TrajectorySample {
            throughput_per_s: truth,
            ..TrajectorySample::from(&sample)
        });
        controller.observe_cpu_utilization(busy_percent);
        threads = bounds.clamp(controller.next_threads(&sample));
    }
    let settled_threads = expected.settled_threads();
    ControllerReplay {
        controller: seen.controller.clone(),
        settled_threads,
        settled_throughput_per_s: settled_threads.map(|n| curve.at(n).throughput_per_s),
        time_within_5pct_s: expected.time_within_s(best, WITHIN),
        throughput_lost_share: if best > 0.0 && t_s > 0.0 {
            lost / (best * t_s)
        } else {
            0.0
        },
        sample_count: seen.samples.len(),
        samples: seen.samples,
    }
}

/// Replays each of `kinds` (every controller when empty) on `curve`, read from `result`.
pub fn replay(
    curve: &Curve,
    result: &str,
    kinds: &[ReplayController],
    seconds: f64,
    seed: u64,
) -> Replay {
    let kinds: &[ReplayController] = if kinds.is_empty() { &REPLAY_ALL } else { kinds };
    let (best_threads, best_throughput_per_s) = curve.best();
    let controllers = kinds
        .iter()
        .map(|&kind| {
            // Each controller's noise has its own stream, so adding one changes no other.
            let index = REPLAY_ALL.iter().position(|&k| k == kind).unwrap_or(0) as u64;
            let mut rng = SeededRng::new(seed.wrapping_mul(0x100).wrapping_add(index));
            run_one(
                curve,
                registry::for_replay(kind, curve.bounds()),
                seconds,
                &mut rng,
            )
        })
        .collect();
    Replay {
        result: result.to_owned(),
        best_threads,
        best_throughput_per_s,
        seconds,
        seed,
        interpolation: "linear in threads between measured counts; the end point outside them",
        noise: "normal, the measured trials' relative spread × sqrt(trial length / sample length)",
        controllers,
    }
}

/// The replay as an aligned text table.
pub fn table(replay: &Replay) -> String {
    let mut out = format!(
        "Replay of {}: best {:.0}/s at {} threads (the best point in the file); {} s simulated per controller, seed {}\n",
        replay.result,
        replay.best_throughput_per_s,
        replay.best_threads,
        replay.seconds,
        replay.seed
    );
    out.push_str(&format!(
        "{:<22} {:>8} {:>12} {:>11} {:>16}\n",
        "controller", "settled", "throughput/s", "time to 5%", "throughput lost"
    ));
    for c in &replay.controllers {
        let settled = c.settled_threads.map_or("-".to_owned(), |n| n.to_string());
        let throughput = c
            .settled_throughput_per_s
            .map_or("-".to_owned(), |x| format!("{x:.0}"));
        let time = c
            .time_within_5pct_s
            .map_or("never".to_owned(), |t| format!("{t:.1} s"));
        out.push_str(&format!(
            "{:<22} {:>8} {:>12} {:>11} {:>15.1}%\n",
            c.controller,
            settled,
            throughput,
            time,
            c.throughput_lost_share * 100.0
        ));
    }
    out
}

fn write_to(out: &str, text: &str) -> Result<(), CliError> {
    if out == "-" {
        std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|err| CliError::Run(anyhow::anyhow!("could not write to stdout: {err}")))
    } else {
        crate::atomic_file::write(Path::new(out), text.as_bytes())
            .map_err(|err| CliError::Run(anyhow::anyhow!("--out {out}: could not write: {err}")))
    }
}

/// `pooltune replay`.
pub fn cli(args: &ReplayArgs) -> Result<(), CliError> {
    let output = &args.output;
    if !matches!(output.format, Format::Table | Format::Json) {
        return Err(CliError::Usage(format!(
            "--format {}: pooltune replay writes table or json",
            format!("{:?}", output.format).to_lowercase()
        )));
    }
    if output.export_csv.is_some() || output.export_markdown.is_some() {
        return Err(CliError::Usage(
            "--export-csv, --export-markdown: pooltune replay writes table or json; use --export-json FILE"
                .to_owned(),
        ));
    }
    if !(args.seconds > 0.0 && args.seconds <= MAX_SECONDS) {
        return Err(CliError::Usage(
            ReplayError::Seconds(args.seconds).to_string(),
        ));
    }
    let curve = load_curve(&args.result).map_err(|err| CliError::Usage(err.to_string()))?;
    let replay = replay(
        &curve,
        &args.result.display().to_string(),
        &args.controller,
        args.seconds,
        args.seed,
    );
    let json = serde_json::to_string_pretty(&replay)
        .map_err(|err| CliError::Run(anyhow::anyhow!("could not write the replay: {err}")))?
        + "\n";
    if let Some(path) = &output.export_json {
        crate::atomic_file::write(path, json.as_bytes()).map_err(|err| {
            CliError::Run(anyhow::anyhow!(
                "--export-json {}: could not write: {err}",
                path.display()
            ))
        })?;
    }
    let text = match output.format {
        Format::Json => json,
        _ => table(&replay),
    };
    write_to(&output.out, &text)
}

#[cfg(test)]
mod tests {
    use super::curve::CurvePoint;
    use super::*;
    use crate::controller::{Bounds, Sample};
    use std::time::Duration;

    /// A Little's-law blocking curve: `threads / (W + C)` up to `cpus / C`, measured at
    /// `counts`, with a 2% trial spread.
    fn blocking_curve(counts: &[usize]) -> Curve {
        let (compute_s, wait_s, cpus) = (0.0005, 0.0155, 2.0);
        let points = counts
            .iter()
            .map(|&n| {
                let throughput = (n as f64 / (compute_s + wait_s)).min(cpus / compute_s);
                CurvePoint {
                    threads: n,
                    throughput_per_s: throughput,
                    spread: 0.02,
                    trial_s: 0.3,
                    latency_mean_us: n as f64 / throughput * 1e6,
                    latency_p99_us: n as f64 / throughput * 1.5e6,
                    cpu_utilization: throughput * compute_s,
                }
            })
            .collect();
        Curve::from_points(points, 2).unwrap()
    }

    /// Holds one count for ever.
    struct Fixed(usize);
    impl Controller for Fixed {
        fn name(&self) -> &'static str {
            "fixed"
        }
        fn initial_threads(&self) -> usize {
            self.0
        }
        fn sample_interval(&self) -> Duration {
            Duration::from_millis(250)
        }
        fn next_threads(&mut self, _: &Sample) -> usize {
            self.0
        }
    }

    #[test]
    fn the_curve_is_linear_between_counts_and_holds_outside() {
        let curve = blocking_curve(&[1, 16, 64, 256]);
        assert_eq!(curve.bounds(), Bounds { min: 1, max: 256 });
        assert_eq!(curve.best(), (64, 4000.0));
        assert!((curve.at(32).throughput_per_s - 2000.0).abs() < 1e-9); // 1000 + (4000-1000) × 16/48
        assert_eq!(curve.at(300).throughput_per_s, 4000.0);
        assert_eq!(curve.at(0).throughput_per_s, 62.5);
        let mut rng = SeededRng::new(1);
        // 250 ms samples of a 300 ms trial with 2% spread: about 2.2% noise.
        let draws: Vec<f64> = (0..2000)
            .map(|_| curve.sample(1.0, 64, 0.25, &mut rng).0.throughput_per_s / 4000.0 - 1.0)
            .collect();
        let sd = (draws.iter().map(|x| x * x).sum::<f64>() / draws.len() as f64).sqrt();
        let expected = 0.02 * (0.3f64 / 0.25).sqrt();
        assert!((sd - expected).abs() < 0.003, "{sd} vs {expected}");
    }

    #[test]
    fn figures_are_read_from_the_curve_at_the_counts_chosen() {
        let curve = blocking_curve(&[1, 16, 32, 64, 256]);
        let mut rng = SeededRng::new(1);
        let at_best = run_one(&curve, Box::new(Fixed(64)), 10.0, &mut rng);
        assert_eq!(at_best.settled_threads, Some(64));
        assert_eq!(at_best.time_within_5pct_s, Some(0.0));
        assert!(at_best.throughput_lost_share.abs() < 1e-12);
        assert_eq!(at_best.sample_count, 40);
        let at_half = run_one(&curve, Box::new(Fixed(32)), 10.0, &mut rng);
        assert_eq!(at_half.time_within_5pct_s, None);
        assert!((at_half.throughput_lost_share - 0.5).abs() < 1e-9);
    }

    #[test]
    fn a_replay_is_the_same_with_the_same_seed() {
        let curve = blocking_curve(&[1, 2, 4, 8, 16, 32, 48, 64, 96, 128, 256]);
        let a = replay(&curve, "synthetic", &[], 60.0, 5);
        let b = replay(&curve, "synthetic", &[], 60.0, 5);
        let c = replay(&curve, "synthetic", &[], 60.0, 6);
        assert_eq!(a, b);
        assert_ne!(a.controllers[0].samples, c.controllers[0].samples);
        assert_eq!(a.controllers.len(), REPLAY_ALL.len());
    }
}
