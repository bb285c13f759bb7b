//! The live tuner (`pooltune tune`): runs a preset's workload continuously on a pool that
//! resizes between tasks ([`crate::pool::resizable`]) and lets a
//! [`crate::controller::Controller`] move its size, one sample at a time; records the
//! [`crate::controller::Trajectory`], where it settled and how long it took. The loop is in
//! [`live`]; this file turns a preset into what the loop runs and writes the CLI's output.
//! Nothing here draws: the app reads the same samples from a channel.

pub mod live;

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::Path;
use std::sync::Arc;

pub use live::{LiveTune, TuneResult};

use crate::cancel::CancelToken;
use crate::cli::{CliError, LiveController, TuneArgs};
use crate::controller::{Bounds, Controller, Sample};
use crate::export::Format;
use crate::spec::{PoolSpec, Preset, SeriesSetup};
use crate::workload::Workload;

/// The controller `choice` names, within `bounds` (see [`crate::controller::registry::for_live`]).
pub fn controller_for(choice: LiveController, bounds: Bounds) -> Box<dyn Controller> {
    crate::controller::registry::for_live(choice, bounds)
}

/// The counts `preset` lets a controller choose between: 1 up to its largest thread count.
pub fn bounds_of(preset: &Preset) -> Bounds {
    let max = preset
        .sweep
        .thread_counts()
        .into_iter()
        .max()
        .unwrap_or(1)
        .max(1);
    Bounds { min: 1, max }
}

/// The workload of `preset`, calibrated and built for `workers` workers, or why the live
/// tuner cannot run it (it resizes pools of threads running a built-in workload).
pub fn workload_of(
    preset: &Preset,
    workers: usize,
    cancel: &CancelToken,
) -> Result<Arc<dyn Workload>, String> {
    let SeriesSetup::Rust { workload, pool } = preset.setup() else {
        return Err(format!(
            "pooltune tune runs a built-in workload on a pool of threads it can resize; \
             this preset runs {} (allowed: a [workload] of a built-in kind on a [pool] of \
             kind queue, rayon or spawn)",
            preset.setup().summary()
        ));
    };
    match pool {
        PoolSpec::Queue { .. } | PoolSpec::Rayon | PoolSpec::Spawn => {}
        other => {
            return Err(format!(
                "`pool.kind` = \"{}\" is not allowed for pooltune tune: it resizes a pool of \
                 threads (allowed: queue, rayon, spawn)",
                other.kind_name()
            ));
        }
    }
    let calibration = crate::workload::calibrate_until(cancel);
    crate::workload::WorkloadFactory::from_spec(&workload, &calibration).build(workers)
}

/// `pooltune tune`.
pub fn cli(args: &TuneArgs) -> Result<(), CliError> {
    let format = args.output.format;
    if !matches!(format, Format::Table | Format::Json) {
        return Err(CliError::Usage(format!(
            "--format {} is not allowed for pooltune tune (allowed: table, json)",
            format_name(format)
        )));
    }
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 86_400.0) {
        return Err(CliError::Usage(format!(
            "--seconds {} is not allowed: a number of seconds above 0, at most 86400",
            args.seconds
        )));
    }
    let preset = load_preset(&args.preset)?;
    let bounds = bounds_of(&preset);
    let mut controller = controller_for(args.controller, bounds);
    args.output.check_writable()?;
    let cancel = CancelToken::new();
    let ctrl_c_watch = crate::cli::ctrl_c::watch(&cancel);
    let workload = workload_of(&preset, bounds.max, &cancel).map_err(CliError::Usage)?;
    let progress = std::io::stderr().is_terminal();
    let mut on_sample = |sample: &Sample| {
        if progress {
            eprint!(
                "\r{:>6.1} s  {:>5} threads  {:>10}/s   ",
                sample.t_s,
                sample.threads,
                crate::words::rate_number(sample.throughput_per_s)
            );
        }
    };
    let tune = LiveTune {
        name: preset.name.clone(),
        workload,
        bounds,
        seconds: args.seconds,
        controller: controller.as_mut(),
    };
    let result = live::run(tune, &cancel, &mut on_sample)
        .map_err(|err| CliError::Run(anyhow::anyhow!(err)))?;
    drop(ctrl_c_watch);
    if progress {
        eprintln!();
    }
    let text = match format {
        Format::Json => {
            let mut json = serde_json::to_string_pretty(&result)
                .map_err(|err| CliError::Run(anyhow::anyhow!("could not write JSON: {err}")))?;
            json.push('\n');
            json
        }
        _ => table(&result),
    };
    if args.output.out == "-" {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
    } else {
        crate::atomic_file::write(Path::new(&args.output.out), text.as_bytes()).map_err(|err| {
            CliError::Run(anyhow::anyhow!(
                "--out {}: could not write: {err}",
                args.output.out
            ))
        })?;
    }
    if let Some(failure) = &result.failure {
        return Err(CliError::Run(anyhow::anyhow!(
            "the workload failed after {:.1} s: {failure}; the samples before it were written",
            result.seconds
        )));
    }
    if result.stopped && crate::cli::ctrl_c::pressed() {
        return Err(CliError::Run(anyhow::anyhow!(
            "stopped by Ctrl-C after {:.1} s; the samples so far were written",
            result.seconds
        )));
    }
    Ok(())
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Table => "table",
        Format::Json => "json",
        Format::Csv => "csv",
        Format::Markdown => "markdown",
        Format::Code => "code",
    }
}

/// The preset at `path` (`-`: standard input).
fn load_preset(path: &Path) -> Result<Preset, CliError> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|err| {
            CliError::Usage(format!(
                "--preset -: could not read the preset from standard input: {err}"
            ))
        })?;
        return Ok(crate::spec::parse(
            &text,
            Path::new(crate::cli::STDIN_ORIGIN),
        )?);
    }
    Ok(crate::spec::load(path)?)
}

/// The sentence that says where the tuner settled and how fast.
pub fn settled_sentence(result: &TuneResult) -> String {
    match (result.settled_threads, result.settled_throughput_per_s) {
        (Some(threads), Some(throughput)) => {
            let within = result.time_to_within_5pct_s.map_or_else(
                || "it was not within 5% of that at the end".to_owned(),
                |t| format!("within 5% of that from {t:.1} s on"),
            );
            format!(
                "{} settled at {} ({}/s); {within}.",
                result.controller,
                crate::words::counted_usize(threads, "thread", "threads"),
                crate::words::rate_number(throughput)
            )
        }
        _ => format!("{} took no sample.", result.controller),
    }
}

/// The table `--format table` prints: one row per sample, then where it settled.
pub fn table(result: &TuneResult) -> String {
    let mut out = format!(
        "{}: live tuning with {} between {} and {} threads\n\n",
        result.name, result.controller, result.min_threads, result.max_threads
    );
    out.push_str(&format!(
        "{:>8}  {:>7}  {:>14}  {:>12}\n",
        "t (s)", "threads", "throughput/s", "p99 (ms)"
    ));
    for sample in &result.samples {
        let p99 = sample
            .latency_p99_us
            .map_or_else(|| "-".to_owned(), |us| format!("{:.2}", us / 1e3));
        out.push_str(&format!(
            "{:>8.2}  {:>7}  {:>14}  {:>12}\n",
            sample.t_s,
            sample.threads,
            crate::words::rate_number(sample.throughput_per_s),
            p99
        ));
    }
    out.push('\n');
    out.push_str(&settled_sentence(result));
    out.push('\n');
    if result.stopped {
        out.push_str("Stopped before its time.\n");
    }
    if let Some(failure) = &result.failure {
        out.push_str(&format!("The workload failed: {failure}\n"));
    }
    out
}
