//! The headless face of pooltune: `pooltune sweep`, `pooltune compare`, `pooltune presets`,
//! and the argument
//! parsing shared with the GUI launch. Exit codes: 0 success (some points may have failed), 1
//! a run error, a Ctrl-C or nothing measured, 2 bad arguments or a bad preset; every error is
//! one `error:` line (after a bad argument, clap adds its usage lines).

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::cancel::CancelToken;
use crate::engine;
use crate::error::PresetError;
use crate::export::{self, ExportFile, Format, OutputError, Outputs};
use crate::model::{self, ModelOptions};
use crate::source::CompareOptions;
use crate::spec::AnyPreset;
use crate::spec::ComparisonPreset;
use crate::spec::Experiment;
use crate::spec::consent;
use crate::spec::{self, Preset};

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "pooltune",
    version,
    about = "Thread-pool tuner: sweep the thread count, measure throughput and latency, and see where more threads stop paying.",
    after_help = "With no command, pooltune opens the desktop app."
)]
pub struct Cli {
    /// Open the app with this preset loaded (a comparison file opens the Compare tab).
    #[arg(long, value_name = "FILE")]
    pub preset: Option<PathBuf>,
    /// With --preset: start the sweep (or comparison) as soon as the app opens (with --tab
    /// cost: the worker-cost run, with the tab's default counts).
    #[arg(long)]
    pub run: bool,
    /// The tab the app opens on: `sweep`, or `cost` (what a thread and a process cost).
    #[arg(long, value_name = "TAB", value_parser = ["sweep", "cost"])]
    pub tab: Option<String>,
    /// With --run: once the run has finished, save a PNG of the whole window to FILE and
    /// close the app (how the README's screenshots are taken).
    #[arg(long, value_name = "FILE", requires = "run")]
    pub screenshot: Option<PathBuf>,
    /// With --run and a sweep preset: once the sweep has finished, write its result as JSON
    /// to FILE (as `pooltune sweep --format json` does; scripts/window_cost.sh uses it).
    #[arg(long, value_name = "FILE", requires = "run")]
    pub result: Option<PathBuf>,
    /// Open the app at this zoom (0.5 to 2; Ctrl + and Ctrl − change it later), instead of
    /// the remembered one.
    #[arg(long, value_name = "FACTOR", value_parser = zoom_parser)]
    pub zoom: Option<f32>,
    /// Open the window at this size in points, such as 1920x1080 (the default is 1400x900,
    /// shrunk by the window manager to a smaller screen; never below the minimum size).
    #[arg(long, value_name = "WxH", value_parser = window_size_parser)]
    pub window_size: Option<[f32; 2]>,
    /// What to do; none opens the desktop app.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// pooltune's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a sweep headless and print or write the result.
    Sweep(SweepArgs),
    /// Run a comparison (a preset with [[series]]) headless: Rust threads, a simulated GIL and
    /// real CPython side by side, interleaved at each thread count.
    Compare(CompareArgs),
    /// List the shipped and user presets with their descriptions.
    Presets,
    /// Measure what a worker costs: start, memory and stop of N idle threads and processes
    /// (Rust, and CPython when python3 is found).
    Cost(CostArgs),
    /// Open result files (the JSON `sweep`, `compare` and `cost` write) in the desktop app.
    Open(OpenArgs),
    /// Run a preset's workload continuously on a resizable pool and let a controller move
    /// the thread count live; prints the trajectory and where it settled.
    Tune(TuneArgs),
    /// Drive the famous thread-count controllers (.NET's hill climbing, Netflix's Gradient2,
    /// Vegas, AIMD) and pooltune's own against a measured curve from a result file.
    Replay(ReplayArgs),
}

/// Which controller moves the thread count in `pooltune tune`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LiveController {
    /// pooltune's own controller (see [`crate::controller`]).
    #[default]
    HillClimbing,
    /// A gradient controller in the manner of Netflix's Gradient2.
    Gradient,
    /// Additive increase, multiplicative decrease.
    Aimd,
}

/// Arguments of `pooltune tune`.
#[derive(Debug, clap::Args)]
pub struct TuneArgs {
    /// The sweep preset whose workload and pool are tuned (`-` reads it from stdin).
    #[arg(long, value_name = "FILE")]
    pub preset: PathBuf,
    /// How long to tune, in seconds.
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    pub seconds: f64,
    /// Which controller moves the thread count.
    #[arg(long, value_enum, default_value_t = LiveController::HillClimbing)]
    pub controller: LiveController,
    /// Where and how to write the result.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Which controller `pooltune replay` drives against a measured curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReplayController {
    /// dotnet/runtime's `PortableThreadPool.HillClimbing`, with its published constants.
    DotnetHillClimbing,
    /// Netflix concurrency-limits' `Gradient2Limit`, with its defaults.
    NetflixGradient2,
    /// Netflix concurrency-limits' `VegasLimit`, with its defaults.
    NetflixVegas,
    /// Netflix concurrency-limits' `AIMDLimit`, with its defaults.
    Aimd,
    /// pooltune's own controller (the one `pooltune tune` uses by default).
    Pooltune,
}

/// Arguments of `pooltune replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// A sweep result (JSON written by `pooltune sweep`) whose points make the curve.
    #[arg(long, value_name = "FILE")]
    pub result: PathBuf,
    /// The controllers to replay (comma-separated); every one when absent.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub controller: Vec<ReplayController>,
    /// Simulated seconds each controller runs for (long enough for .NET's climber to settle).
    #[arg(long, value_name = "S", default_value_t = 60.0)]
    pub seconds: f64,
    /// Seed of the replay's noise (and of the controllers' own random numbers): the same seed
    /// gives the same replay.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Where and how to write the result.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Arguments of `pooltune open`.
#[derive(Debug, clap::Args)]
pub struct OpenArgs {
    /// The result files to open (JSON written by `pooltune sweep`, `compare` or `cost`).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Once the files are loaded, save a PNG of the whole window to FILE and close the app.
    #[arg(long, value_name = "FILE")]
    pub screenshot: Option<PathBuf>,
}

/// Arguments of `pooltune cost`.
#[derive(Debug, clap::Args)]
pub struct CostArgs {
    /// Thread counts N to try, such as 1,10,100.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "1,10,100",
        allow_negative_numbers = true,
        value_parser = count_parser("a thread count", crate::cost::limits::MAX_THREADS, "1,10,100")
    )]
    pub threads: Vec<usize>,
    /// Process counts N to try, such as 1,10.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "1,10",
        allow_negative_numbers = true,
        value_parser = count_parser("a process count", crate::cost::limits::MAX_PROCESSES, "1,10")
    )]
    pub processes: Vec<usize>,
    /// Idle task counts N to try (tokio tasks; Python's asyncio tasks and generators).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "1000,10000,100000",
        allow_negative_numbers = true,
        value_parser = count_parser("a task count", crate::cost::limits::MAX_TASKS, "1000,10000,100000")
    )]
    pub tasks: Vec<usize>,
    /// Measure no idle tasks (neither tokio's nor Python's asyncio tasks and generators).
    #[arg(long, conflicts_with = "tasks")]
    pub no_tasks: bool,
    /// Round trips of each switch-cost ping-pong (two switches each); 0 measures no switch cost.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub round_trips: usize,
    /// The Python to measure as well (default: python3 on the PATH, skipped when absent).
    #[arg(long, value_name = "PATH", conflicts_with = "no_python")]
    pub python: Option<PathBuf>,
    /// Measure no Python.
    #[arg(long)]
    pub no_python: bool,
    /// Stack size of each Rust thread, in KiB (default: Rust's, 2048 unless RUST_MIN_STACK).
    #[arg(long, value_name = "N")]
    pub stack_kib: Option<u64>,
    /// Where and how to write the result.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `--format` and `--out`, the same for every command that writes a result: the flags and
/// their help are written once.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Where to write the result: a file (written atomically) or - for standard output.
    #[arg(long, value_name = "FILE|-", default_value = "-")]
    pub out: String,
    /// Also write the result as JSON to FILE (atomically), whatever --format says.
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<PathBuf>,
    /// Also write the result as CSV to FILE (atomically).
    #[arg(long, value_name = "FILE")]
    pub export_csv: Option<PathBuf>,
    /// Also write the result as a Markdown table to FILE (atomically), the recommendation
    /// above it.
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<PathBuf>,
    /// Show every column of the table, however wide the terminal.
    #[arg(long)]
    pub wide: bool,
}

impl OutputArgs {
    /// The run's outputs as these flags ask for them. A table on standard output is fitted
    /// to the terminal's width (80 when it is not a terminal) unless `--wide`; a table in a
    /// file has every column.
    pub fn outputs(&self) -> Outputs {
        let fitted = !self.wide && self.out == "-";
        let files = [
            ("--export-json", Format::Json, &self.export_json),
            ("--export-csv", Format::Csv, &self.export_csv),
            ("--export-markdown", Format::Markdown, &self.export_markdown),
        ];
        Outputs {
            format: self.format,
            out: self.out.clone(),
            width: fitted.then(|| export::width::terminal_width(crate::platform::Stream::Stdout)),
            files: files
                .into_iter()
                .filter_map(|(flag, format, path)| {
                    path.clone().map(|path| ExportFile { flag, format, path })
                })
                .collect(),
        }
    }

    /// Refuses an `--out` or `--export-*` file that cannot be written before anything runs,
    /// so that a long run's result is not lost at its end.
    pub fn check_writable(&self) -> Result<(), CliError> {
        Ok(self.outputs().check()?)
    }

    /// Writes `result` to every output (a sweep's recommendation made with `model`) and says
    /// `warnings` on stderr. The warnings are said even when an output could not be written
    /// (the others were; `--out`'s result then went to stdout), before that error ends the
    /// run.
    pub fn write<R>(
        &self,
        result: &R,
        model: ModelOptions,
        warnings: &[String],
    ) -> Result<(), CliError>
    where
        export::TableExporter: export::Exporter<R>,
        export::JsonExporter: export::Exporter<R>,
        export::CsvExporter: export::Exporter<R>,
        export::MarkdownExporter: export::Exporter<R>,
        export::CodeExporter: export::Exporter<R>,
    {
        let mut stderr = std::io::stderr();
        let written =
            self.outputs()
                .write(result, model, &mut std::io::stdout().lock(), &mut stderr);
        let width = (!self.wide && stderr.is_terminal())
            .then(|| export::width::terminal_width(crate::platform::Stream::Stderr));
        export::outputs::write_warnings(warnings, width, &mut stderr);
        Ok(written?)
    }
}

impl From<OutputError> for CliError {
    /// A destination refused before the run is a bad argument (exit 2); one that failed at
    /// the end fails the run (exit 1).
    fn from(err: OutputError) -> CliError {
        match err {
            OutputError::Unwritable(message) => CliError::Usage(message),
            OutputError::Failed(message) => CliError::Run(anyhow::anyhow!(message)),
        }
    }
}

/// The error of a run stopped by Ctrl-C (`what_was_written`, appended, says how far it got), or Ok for a
/// run that finished or was stopped otherwise.
fn stopped_by_ctrl_c(
    cancelled: bool,
    what_was_written: impl FnOnce() -> String,
) -> Result<(), CliError> {
    if cancelled && ctrl_c::pressed() {
        return Err(CliError::Run(anyhow::anyhow!(
            "stopped by Ctrl-C{}",
            what_was_written()
        )));
    }
    Ok(())
}

/// Changes to a preset's `[sweep]` for one run, the same for `pooltune sweep` and
/// `pooltune compare`: the flags, their help and their parse errors are written once.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SweepOverrides {
    /// Thread counts to try instead of the preset's, such as 1,2,4,8.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        allow_negative_numbers = true,
        value_parser = parse_thread_count
    )]
    pub threads: Option<Vec<usize>>,
}

impl SweepOverrides {
    /// Applies the overrides to `experiment`'s sweep and validates the result, so that a bad
    /// value is named by its flag (`--threads: ...`). Nothing given: the experiment as loaded.
    pub fn apply<T: Experiment>(&self, experiment: &mut T) -> Result<(), CliError> {
        let Some(list) = &self.threads else {
            return Ok(());
        };
        experiment.sweep_mut().use_thread_list(list.clone());
        experiment
            .check_values(spec::available_memory_bytes())
            .map_err(|invalid| CliError::Usage(format!("--threads: {invalid}")))
    }
}

/// What `pooltune sweep` and `pooltune compare` take besides their file and their own
/// options: changes to the preset's `[sweep]` for this run, and where its result goes.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// What to change in the preset's `[sweep]` for this run.
    #[command(flatten)]
    pub overrides: SweepOverrides,
    /// Where and how to write the result.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Where the run happens and how it reports.
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// `--events` and `--via`, the same for `pooltune sweep` and `pooltune compare`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RemoteArgs {
    /// Write the engine's events as JSON lines on stdout (`started`, `progress`, `point`,
    /// `series_failed`, `finished`), one per line, instead of the table; the last line is the
    /// whole result, as --format json writes it. With --preset -, the end of standard input
    /// (after a NUL byte that ends the preset) stops the run.
    #[arg(long)]
    pub events: bool,
    /// Run on another machine: PREFIX is a command that runs a program there (`ssh host`,
    /// `docker exec -i ctr`, `taskset -c 0`), split as sh splits it; pooltune runs `PREFIX
    /// pooltune sweep --preset - --events` (or compare) with the preset on its stdin and shows
    /// the run as if it were local. The same pooltune version must be on the PATH there; files
    /// the preset names are found there.
    #[arg(long, value_name = "PREFIX")]
    pub via: Option<String>,
}

impl RunArgs {
    /// The experiment file at `path` (`-`: standard input, see [`read_stdin_preset`]) with the
    /// overrides applied, once `--out` is known to be writable and `--via` is not empty:
    /// everything the command line can get wrong is refused before anything runs. Also says
    /// how the run is watched ([`Watching`]).
    pub fn load<T: Experiment>(&self, path: &Path) -> Result<(T, Watching), CliError> {
        let (experiment, marked) = if path == Path::new("-") {
            let (text, marked) = read_stdin_preset()?;
            let mut experiment = T::parse(&text, Path::new(STDIN_ORIGIN))?;
            self.overrides.apply(&mut experiment)?;
            (experiment, marked)
        } else {
            (load_with_overrides(path, &self.overrides)?, false)
        };
        self.output.check_writable()?;
        let via = self
            .remote
            .via
            .as_deref()
            .map(crate::remote::Via::new)
            .transpose()
            .map_err(|err| CliError::Usage(err.to_string()))?;
        Ok((
            experiment,
            Watching {
                events: self.remote.events,
                end_of_input_stops: marked && self.remote.events,
                via,
            },
        ))
    }

    /// Writes the result as [`OutputArgs::write`] does; with `--events`, first the `finished`
    /// line (the result as `--format json` writes it) on stdout, where the table then is not
    /// printed (`--out FILE` and `--export-*` are still written; the warnings are in the
    /// line's result).
    pub fn write<R>(
        &self,
        result: &R,
        model: ModelOptions,
        warnings: &[String],
    ) -> Result<(), CliError>
    where
        export::TableExporter: export::Exporter<R>,
        export::JsonExporter: export::Exporter<R>,
        export::CsvExporter: export::Exporter<R>,
        export::MarkdownExporter: export::Exporter<R>,
        export::CodeExporter: export::Exporter<R>,
    {
        if !self.remote.events {
            return self.output.write(result, model, warnings);
        }
        let json = export::exporter_with_model(Format::Json, model).export(result)?;
        crate::events::Writer::new(std::io::stdout().lock())
            .finished(&json)
            .map_err(|err| {
                CliError::Run(anyhow::anyhow!("could not write the finished line: {err}"))
            })?;
        Ok(self.output.outputs().write(
            result,
            model,
            &mut std::io::sink(),
            &mut std::io::stderr(),
        )?)
    }
}

/// How `--preset -` names standard input in error messages.
pub const STDIN_ORIGIN: &str = "<stdin>";

/// `--preset -`: the preset's text from standard input, up to its end or a NUL byte (what
/// `--via` sends, see [`crate::remote::read_preset`]), and whether it ended with that byte.
fn read_stdin_preset() -> Result<(String, bool), CliError> {
    crate::remote::read_preset(&mut std::io::stdin().lock()).map_err(|err| {
        CliError::Usage(format!(
            "--preset -: could not read the preset from standard input: {err}"
        ))
    })
}

/// How a headless run is reported and stopped, besides Ctrl-C.
#[derive(Debug, Clone, Default)]
pub struct Watching {
    /// `--events`: event lines on stdout instead of the progress bar.
    pub events: bool,
    /// The preset came on standard input ended by a NUL byte (from `--via`) and `--events`
    /// is on: the end of standard input stops the run (the near side closed it).
    pub end_of_input_stops: bool,
    /// `--via`: where the run happens.
    pub via: Option<crate::remote::Via>,
}

/// Arguments of `pooltune sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The preset to run (a TOML file), or - to read it from standard input.
    #[arg(long, value_name = "FILE")]
    pub preset: PathBuf,
    /// What to change for this run and where its result goes.
    #[command(flatten)]
    pub run: RunArgs,
    /// Target CPU utilisation U in the formula N = N_cpu × U × (1 + W/C), 0.01 to 1.
    #[arg(long, value_name = "U", default_value_t = 1.0, value_parser = parse_utilization)]
    pub utilization: f64,
    /// Also recommend a thread count whose p99 task latency stays under this many microseconds.
    #[arg(long, value_name = "MICROSECONDS", value_parser = parse_p99_target_us)]
    pub p99_target_us: Option<f64>,
}

impl SweepArgs {
    /// The model options these arguments ask for.
    pub fn model_options(&self) -> ModelOptions {
        ModelOptions {
            utilization_target: self.utilization,
            p99_target_us: self.p99_target_us,
        }
    }
}

/// `--utilization`: a number from [`model::UTILIZATION_MIN`] to [`model::UTILIZATION_MAX`].
fn parse_utilization(text: &str) -> Result<f64, String> {
    let allowed = format!(
        "a target CPU utilisation from {} to {} (1 = keep every usable CPU busy)",
        model::UTILIZATION_MIN,
        model::UTILIZATION_MAX
    );
    match text.trim().parse::<f64>() {
        Ok(u) if (model::UTILIZATION_MIN..=model::UTILIZATION_MAX).contains(&u) => Ok(u),
        _ => Err(format!("allowed is {allowed}")),
    }
}

/// One count of `--threads` (sweep, compare). Only the syntax is checked here: the range (1
/// to [`spec::MAX_CONCURRENCY`], and [`spec::MAX_THREADS`] for a pool of threads) is checked with the rest of the preset, whose message names
/// `sweep.threads`. Negative numbers reach this parser (not clap's "unexpected argument"),
/// so that `--threads -1` is told what is allowed.
fn parse_thread_count(text: &str) -> Result<usize, String> {
    parse_count(text, "a thread count", spec::MAX_CONCURRENCY, "1,2,4,8")
}

/// The parser of one count of a list flag (`cost --threads`, `cost --processes`): `what` is
/// a count of, up to `max`, as in `example`; see [`parse_count`].
fn count_parser(
    what: &'static str,
    max: usize,
    example: &'static str,
) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |text| parse_count(text, what, max, example)
}

/// A whole number written as digits; what is allowed otherwise, in words.
fn parse_count(text: &str, what: &str, max: usize, example: &str) -> Result<usize, String> {
    let digits = text.trim();
    match digits.parse::<usize>() {
        Ok(count) if digits.bytes().all(|b| b.is_ascii_digit()) => Ok(count),
        _ => Err(format!(
            "'{}' is not {what}; allowed are whole numbers from 1 to {max} separated by \
             commas, such as {example}",
            crate::error::one_line(text)
        )),
    }
}

/// `--p99-target-us`: a positive, finite number of microseconds.
fn parse_p99_target_us(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(us) if us.is_finite() && us > 0.0 => Ok(us),
        _ => Err("allowed is a latency in microseconds greater than 0, such as 5000".to_owned()),
    }
}

/// Arguments of `pooltune compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The comparison to run (a TOML file with [[series]] tables), or - to read it from
    /// standard input.
    #[arg(long, value_name = "FILE")]
    pub preset: PathBuf,
    /// What to change for this run and where its result goes.
    #[command(flatten)]
    pub run: RunArgs,
    /// Python interpreter for the python_threads and python_processes series (default:
    /// the series' `interpreter`, else python3 on PATH).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Free-threaded Python for the python_free_threaded series (default: the series'
    /// `interpreter`, else python3.14t or python3.13t on PATH).
    #[arg(long, value_name = "PATH")]
    pub free_threaded_python: Option<PathBuf>,
}

/// An error of a headless command, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or a bad preset: exit 2.
    #[error("{0}")]
    Usage(String),
    /// A preset that could not be loaded: exit 2. Boxed: a `PresetError` holds paths, which
    /// are larger on Windows, and every CLI function returns this type.
    #[error(transparent)]
    Preset(Box<PresetError>),
    /// The run itself failed: exit 1.
    #[error("{0:#}")]
    Run(#[from] anyhow::Error),
}

impl From<PresetError> for CliError {
    fn from(err: PresetError) -> CliError {
        CliError::Preset(Box::new(err))
    }
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) | CliError::Preset(_) => 2,
            CliError::Run(_) => 1,
        }
    }
}

/// Loads an experiment file of kind `T` and applies the command line's overrides to it.
pub fn load_with_overrides<T: Experiment>(
    path: &Path,
    overrides: &SweepOverrides,
) -> Result<T, CliError> {
    let mut experiment = T::load(path)?;
    overrides.apply(&mut experiment)?;
    Ok(experiment)
}

/// `pooltune sweep`.
pub fn sweep(args: &SweepArgs) -> Result<(), CliError> {
    let (preset, watching): (Preset, _) = args.run.load(&args.preset)?;
    // Via a prefix, the far side says it, with the folder its commands run in.
    if watching.via.is_none() {
        say_code_to_run(
            &consent::code_lines(&preset),
            &args.preset,
            &preset.sweep.thread_counts(),
            &mut std::io::stderr(),
        );
    }
    let steps = preset.sweep.thread_counts().len() * (preset.sweep.trials as usize + 1);
    let result = run_on_terminal(steps, false, &watching, |cancel, emit| {
        match &watching.via {
            Some(via) => crate::remote::run_sweep(&preset, via, cancel, emit),
            None => crate::sweep::run(&preset, cancel, emit),
        }
    })?;
    args.run
        .write(&result, args.model_options(), &result.outcome.warnings)?;
    stopped_by_ctrl_c(result.outcome.cancelled, || {
        format!(
            " after {} of {} thread counts; the finished ones were written",
            result.points.len(),
            preset.sweep.thread_counts().len()
        )
    })?;
    let unrun: Vec<&str> = result.error.as_deref().into_iter().collect();
    nothing_measured(
        result.points.iter().map(|p| p.error.as_deref()),
        ("thread count", "thread counts"),
        &unrun,
    )
}

/// Says on `out` (stderr) every command line a preset will run, before the first run: a
/// user's program, command per task or Python function runs code, and the user reads here
/// exactly what (the command they typed is their consent; the app asks instead). Nothing is
/// said for a preset that runs only pooltune's own workloads.
fn say_code_to_run(
    lines: &[consent::CodeLine],
    preset: &Path,
    threads: &[usize],
    out: &mut dyn std::io::Write,
) {
    if lines.is_empty() {
        return;
    }
    let folder = preset
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let folder = folder
        .canonicalize()
        .unwrap_or_else(|_| folder.to_path_buf());
    let shown = if preset == Path::new("-") {
        "the preset on standard input".to_owned()
    } else {
        preset.display().to_string()
    };
    let mut text = format!(
        "pooltune: {shown} runs these commands, in {}:\n",
        folder.display()
    );
    for line in lines {
        text.push_str(&format!("  {line}\n"));
    }
    if lines.iter().any(|l| l.line.contains("{threads}")) {
        text.push_str(&format!(
            "  ({{threads}} is each thread count in turn: {})\n",
            threads
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // A closed stderr has no reader to tell; the run goes on.
    let _ = out.write_all(text.as_bytes());
}

/// Runs a series experiment of `steps` steps with its events on the terminal ([`RunProgress`];
/// `labelled`: a comparison's lines name their series), or as event lines on stdout with
/// `--events` ([`crate::events`]; a write that fails stops the run), and Ctrl-C watched (the
/// first stops the run, which keeps its points); see [`Watching`] for what else stops it.
fn run_on_terminal<R>(
    steps: usize,
    labelled: bool,
    watching: &Watching,
    run: impl FnOnce(
        &CancelToken,
        &mut dyn FnMut(engine::Event),
    ) -> Result<R, crate::error::EngineError>,
) -> Result<R, CliError> {
    let cancel = CancelToken::new();
    let ctrl_c_watch = ctrl_c::watch(&cancel);
    if watching.end_of_input_stops {
        crate::remote::stop_at_end_of_input(cancel.clone()).map_err(|err| {
            CliError::Run(anyhow::anyhow!(
                "could not start the thread watching standard input: {err}"
            ))
        })?;
    }
    let result = if watching.events {
        let mut lines = crate::events::Writer::new(std::io::stdout());
        run(&cancel, &mut |event| {
            if lines.engine_event(&event).is_err() {
                cancel.cancel();
            }
        })
    } else {
        let bar = std::io::stderr().is_terminal().then(|| progress_bar(steps));
        let mut progress = RunProgress::new(bar, labelled);
        run(&cancel, &mut |event| progress.show(event))
    };
    drop(ctrl_c_watch);
    result.map_err(|err| match err {
        crate::error::EngineError::Remote(remote) if remote.is_usage() => {
            CliError::Usage(remote.to_string())
        }
        err => CliError::Run(err.into()),
    })
}

/// A series run's events on the terminal: the progress bar (when stderr is a terminal),
/// failed points and failed series as they happen.
struct RunProgress {
    bar: Option<ProgressBar>,
    /// The series' labels, once started; None for a sweep, whose one series needs no name.
    labels: Option<Vec<String>>,
}

impl RunProgress {
    /// `labelled`: name the series in each line (a comparison), or not (a sweep).
    fn new(bar: Option<ProgressBar>, labelled: bool) -> RunProgress {
        RunProgress {
            bar,
            labels: labelled.then(Vec::new),
        }
    }

    /// `label, ` / `label: ` before a line about `series`; empty for a sweep.
    fn prefix(&self, series: usize, separator: &str) -> String {
        self.labels.as_ref().map_or_else(String::new, |labels| {
            format!(
                "{}{separator}",
                labels.get(series).map_or("", String::as_str)
            )
        })
    }

    fn show(&mut self, event: engine::Event) {
        match event {
            engine::Event::Started(started) => {
                if let Some(labels) = &mut self.labels {
                    *labels = started.series.into_iter().map(|s| s.label).collect();
                }
            }
            engine::Event::Progress { series, progress } => {
                let Some(bar) = &self.bar else { return };
                bar.set_length(progress.steps_total as u64);
                bar.set_position(progress.steps_done as u64);
                let mut at = format!("{}{} threads", self.prefix(series, ", "), progress.threads);
                if !progress.exact {
                    at.push_str(" · adaptive search, total estimated");
                }
                match progress.slower_than_planned() {
                    Some(note) => bar.set_message(format!("{at} · {note}")),
                    None => bar.set_message(at),
                }
            }
            engine::Event::Point { series, point } => {
                if let (Some(bar), Some(error)) = (&self.bar, &point.error) {
                    bar.println(format!(
                        "{}{} threads: failed: {error}",
                        self.prefix(series, ": "),
                        point.threads
                    ));
                }
            }
            // A series whose Python pooltune itself killed (a second Ctrl-C) did not fail.
            engine::Event::SeriesFailed { .. } if crate::child::ending() => {}
            engine::Event::SeriesFailed { series, message } => {
                // Said once on the terminal as it happens; the result says it again.
                // A sweep's one series is the preset itself: its message alone.
                let line = match &self.labels {
                    Some(labels) => format!(
                        "{}: {message}",
                        labels.get(series).map_or("a series", String::as_str)
                    ),
                    None => message,
                };
                match &self.bar {
                    Some(bar) => bar.println(line),
                    None => eprintln!("{line}"),
                }
            }
            engine::Event::Finished(_) => {
                if let Some(bar) = &self.bar {
                    bar.finish_and_clear();
                }
            }
        }
    }
}

/// Exit 1 (after the result is written) when no point was measured: every one failed. `errors`
/// has one item per point, its error or None when it was measured; `what` names a point
/// (singular, plural); `unrun` holds the errors of the series that did not run at all. A run
/// with some points measured exits 0; the failed ones carry their `error` in the result.
fn nothing_measured<'a>(
    errors: impl Iterator<Item = Option<&'a str>>,
    (one, many): (&str, &str),
    unrun: &[&'a str],
) -> Result<(), CliError> {
    let mut failed = 0usize;
    let mut first = None;
    for error in errors {
        match error {
            None => return Ok(()),
            Some(message) => {
                failed += 1;
                first.get_or_insert(message);
            }
        }
    }
    let Some(message) = first.or(unrun.first().copied()) else {
        return Ok(());
    };
    let not_run = || {
        format!(
            "{} did not run",
            crate::words::counted_usize(unrun.len(), "series", "series")
        )
    };
    let what = match (failed, unrun.len()) {
        (0, _) => not_run(),
        (1, 0) => format!("the only {one} failed"),
        (_, 0) => format!(
            "all {} failed",
            crate::words::counted_usize(failed, one, many)
        ),
        _ => format!(
            "{} failed and {}",
            crate::words::counted_usize(failed, one, many),
            not_run()
        ),
    };
    Err(CliError::Run(anyhow::anyhow!(
        "nothing was measured: {what} (the first: {}); the result was written",
        message.lines().next().unwrap_or_default()
    )))
}

/// `pooltune compare`.
pub fn compare(args: &CompareArgs) -> Result<(), CliError> {
    let (comparison, watching): (ComparisonPreset, _) = args.run.load(&args.preset)?;
    // Via a prefix, the far side says it, with the folder its commands run in.
    if watching.via.is_none() {
        say_code_to_run(
            &consent::comparison_lines(&comparison),
            &args.preset,
            &comparison.thread_counts(),
            &mut std::io::stderr(),
        );
    }
    let options = CompareOptions {
        python: args.python.clone(),
        free_threaded_python: args.free_threaded_python.clone(),
        // "give one with --python PATH": this command's own flags.
        advice: Default::default(),
    };
    let steps = comparison.thread_counts().len()
        * comparison.series.len()
        * (comparison.sweep.trials as usize + 1);
    let result = run_on_terminal(steps, true, &watching, |cancel, emit| match &watching.via {
        Some(via) => crate::remote::run_comparison(&comparison, &options, via, cancel, emit),
        None => crate::sweep::run_comparison(&comparison, &options, cancel, emit),
    })?;
    args.run
        .write(&result, ModelOptions::default(), &result.outcome.warnings)?;
    stopped_by_ctrl_c(result.outcome.cancelled, || {
        let measured: usize = result.series.iter().map(|s| s.points.len()).sum();
        format!(" after {measured} points; the finished ones were written")
    })?;
    // A series that did not run at all (no interpreter) is said as such, not as a failed point.
    let errors = result
        .series
        .iter()
        .flat_map(|series| series.points.iter().map(|p| p.error.as_deref()));
    let unrun: Vec<&str> = result
        .series
        .iter()
        .filter(|series| series.points.is_empty())
        .map(|series| series.error.as_deref().unwrap_or("no point was run"))
        .collect();
    nothing_measured(errors, ("point", "points"), &unrun)
}

/// Ctrl-C while `pooltune sweep`, `compare` or `cost` runs: the first one stops the run as
/// the app's Stop does (finished points kept and written, children ended, temporary folders
/// removed); a second one ends the process at once, after killing every child still
/// registered and removing every temporary folder still registered (see [`crate::child`]).
pub(crate) mod ctrl_c {
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
    use std::time::Duration;

    use crate::cancel::CancelToken;

    /// Ctrl-Cs counted so far (a SIGINT that is the echo of the last one is not counted).
    static PRESSES: AtomicUsize = AtomicUsize::new(0);

    /// When the last counted Ctrl-C arrived: CLOCK_MONOTONIC in nanoseconds, plus one so that
    /// 0 means "none yet".
    static LAST_PRESS_NS: AtomicU64 = AtomicU64::new(0);

    /// True while a watcher thread is there to act on a second Ctrl-C.
    static WATCHING: AtomicBool = AtomicBool::new(false);

    /// How often the watcher looks at the count the signal handler keeps.
    const POLL: Duration = Duration::from_millis(10);

    /// A SIGINT that arrives sooner than this after the last counted one is the same Ctrl-C
    /// seen twice, not a second press. A terminal sends Ctrl-C's SIGINT to the whole
    /// foreground process group, and a wrapper in that group that forwards SIGINT to its
    /// child (`timeout(1)` does) sends it to pooltune once more, a few milliseconds later. No person presses Ctrl-C twice within half a second by
    /// accident of timing alone, while the echo comes within milliseconds.
    pub const ECHO_WINDOW: Duration = Duration::from_millis(500);

    /// A monotonic clock in nanoseconds, plus one (so never 0); 0 if it cannot be read.
    /// Async-signal-safe on Unix (clock_gettime, signal-safety(7)).
    fn monotonic_ns() -> u64 {
        match crate::platform::monotonic_ns() {
            0 => 0,
            ns => ns.saturating_add(1),
        }
    }

    /// Ends the process as SIGINT's default action does (so the parent sees "killed by
    /// SIGINT", as shells expect of a program stopped by Ctrl-C).
    fn die_of_sigint() {
        // SAFETY: restoring the default action and raising the signal again are both
        // async-signal-safe and have no memory-safety preconditions.
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::raise(libc::SIGINT);
        }
    }

    /// Counts one SIGINT that arrived at `now_ns` (see [`monotonic_ns`]) unless it is the
    /// echo of the last counted one ([`ECHO_WINDOW`]); returns the count after it.
    fn count(now_ns: u64) -> usize {
        if is_echo(LAST_PRESS_NS.load(Ordering::SeqCst), now_ns) {
            return PRESSES.load(Ordering::SeqCst);
        }
        LAST_PRESS_NS.store(now_ns, Ordering::SeqCst);
        PRESSES.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// True when a SIGINT at `now_ns` repeats the Ctrl-C counted at `last_ns` (both from
    /// [`monotonic_ns`]; 0 is "none" or "clock unreadable", which never hides a press).
    fn is_echo(last_ns: u64, now_ns: u64) -> bool {
        let window = u64::try_from(ECHO_WINDOW.as_nanos()).unwrap_or(u64::MAX);
        last_ns != 0 && now_ns != 0 && now_ns.saturating_sub(last_ns) < window
    }

    extern "C" fn on_sigint(_signal: libc::c_int) {
        // Only async-signal-safe work here: clock_gettime, atomics, then signal() and
        // raise(). The second Ctrl-C is the watcher's to act on (it cleans up first);
        // without a watcher, or on a third, the process ends here.
        let presses = count(monotonic_ns());
        if presses >= 3 || (presses == 2 && !WATCHING.load(Ordering::SeqCst)) {
            die_of_sigint();
        }
    }

    /// True once Ctrl-C was pressed.
    pub fn pressed() -> bool {
        PRESSES.load(Ordering::SeqCst) > 0
    }

    /// Stops the watcher thread when dropped.
    pub struct Watch(Option<(crossbeam_channel::Sender<()>, std::thread::JoinHandle<()>)>);

    impl Drop for Watch {
        fn drop(&mut self) {
            if let Some((stop, handle)) = self.0.take() {
                WATCHING.store(false, Ordering::SeqCst);
                drop(stop);
                let _ = handle.join();
            }
        }
    }

    /// Routes Ctrl-C to `cancel` until the returned [`Watch`] is dropped. A signal handler
    /// may only count; a named thread (`pooltune-ctrl-c`) turns the first Ctrl-C into a
    /// cancel, and on a second one ends every registered child, removes every registered
    /// folder and ends the process. Without a handler or a thread, Ctrl-C keeps its default
    /// action.
    pub fn watch(cancel: &CancelToken) -> Watch {
        let handler: extern "C" fn(libc::c_int) = on_sigint;
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let cancel = cancel.clone();
        let Ok(handle) = std::thread::Builder::new()
            .name("pooltune-ctrl-c".into())
            .spawn(move || {
                while let Err(crossbeam_channel::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(POLL)
                {
                    let presses = PRESSES.load(Ordering::SeqCst);
                    if presses >= 1 {
                        cancel.cancel();
                    }
                    if presses >= 2 {
                        crate::child::end_everything_now();
                        die_of_sigint();
                    }
                }
            })
        else {
            return Watch(None);
        };
        WATCHING.store(true, Ordering::SeqCst);
        // SAFETY: `on_sigint` only does async-signal-safe work (see above).
        unsafe {
            libc::signal(libc::SIGINT, handler as libc::sighandler_t);
        }
        Watch(Some((stop, handle)))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_sigint_within_the_echo_window_repeats_the_last_press() {
            let ms = 1_000_000u64;
            // The first SIGINT is never an echo.
            assert!(!is_echo(0, 5_000 * ms));
            // timeout(1)'s forwarded copy, a few ms after the terminal's.
            assert!(is_echo(5_000 * ms, 5_003 * ms));
            assert!(is_echo(5_000 * ms, 5_499 * ms));
            // A second press half a second or more later.
            assert!(!is_echo(5_000 * ms, 5_500 * ms));
            assert!(!is_echo(5_000 * ms, 6_000 * ms));
            // An unreadable clock never hides a press.
            assert!(!is_echo(5_000 * ms, 0));
            assert!(monotonic_ns() > 0);
        }
    }
}

/// The progress bar on stderr, redrawn every 250 ms between events by a named thread
/// (`pooltune-progress`): indicatif's own `enable_steady_tick` starts an unnamed one.
struct ProgressBar {
    bar: indicatif::ProgressBar,
    /// Dropping the sender stops the ticker.
    ticker: Option<(crossbeam_channel::Sender<()>, std::thread::JoinHandle<()>)>,
}

impl std::ops::Deref for ProgressBar {
    type Target = indicatif::ProgressBar;
    fn deref(&self) -> &indicatif::ProgressBar {
        &self.bar
    }
}

impl Drop for ProgressBar {
    fn drop(&mut self) {
        if let Some((stop, handle)) = self.ticker.take() {
            drop(stop);
            let _ = handle.join();
        }
    }
}

fn progress_bar(steps: usize) -> ProgressBar {
    let bar = indicatif::ProgressBar::new(steps as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} steps, {msg} (ETA {eta})",
    ) {
        bar.set_style(style);
    }
    let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
    let ticking = bar.clone();
    // Without the ticker the bar still moves with every event; only the spinner and the
    // clock pause between them.
    let ticker = std::thread::Builder::new()
        .name("pooltune-progress".into())
        .spawn(move || {
            while let Err(crossbeam_channel::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(std::time::Duration::from_millis(250))
            {
                ticking.tick();
            }
        })
        .ok()
        .map(|handle| (stop, handle));
    ProgressBar { bar, ticker }
}

/// `pooltune cost`. An explicit `--python` that fails makes the run fail (exit 1) after the
/// result is written; a missing default python3 is only noted.
pub fn cost(args: &CostArgs) -> Result<(), CliError> {
    use crate::cost::{self, CostError, CostSpec, PythonChoice};
    let spec = CostSpec {
        threads: args.threads.clone(),
        processes: args.processes.clone(),
        tasks: if args.no_tasks {
            Vec::new()
        } else {
            args.tasks.clone()
        },
        switch_round_trips: args.round_trips,
        stack_kib: args.stack_kib,
        python: match (&args.python, args.no_python) {
            (_, true) => PythonChoice::Skip,
            (Some(path), false) => PythonChoice::Path(path.clone()),
            (None, false) => PythonChoice::Auto,
        },
        exe: None,
    };
    spec.validate().map_err(|invalid| {
        CliError::Usage(format!(
            "--{} {} is not allowed: {}",
            invalid.field.replace('_', "-"),
            invalid.value,
            invalid.allowed
        ))
    })?;
    if args.output.format == Format::Code {
        return Err(CliError::Usage(export::COST_HAS_NO_CODE.to_owned()));
    }
    args.output.check_writable()?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(spec.planned_steps() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let mut on_event = |event: cost::Event| {
        let Some(bar) = &bar else { return };
        match event {
            engine::Event::Progress { series, progress } => {
                bar.set_position(progress.steps_done as u64);
                let kind = cost::WorkerKind::ALL.get(series).map_or("", |k| k.as_str());
                bar.set_message(format!("{} × {kind}", progress.threads));
            }
            engine::Event::Finished(_) => bar.finish_and_clear(),
            engine::Event::Started(_)
            | engine::Event::Point { .. }
            | engine::Event::SeriesFailed { .. } => {}
        }
    };
    let cancel = CancelToken::new();
    let ctrl_c_watch = ctrl_c::watch(&cancel);
    let result = cost::run(&spec, &cancel, &mut on_event).map_err(|err| match err {
        CostError::Invalid(_) | CostError::NoPython(_) => CliError::Usage(err.to_string()),
        CostError::Spawn(_) => CliError::Run(err.into()),
    })?;
    drop(ctrl_c_watch);
    args.output
        .write(&result, ModelOptions::default(), &result.outcome.warnings)?;
    stopped_by_ctrl_c(result.outcome.cancelled, || {
        "; the finished measurements were written".to_owned()
    })?;
    match (&args.python, &result.python_error) {
        (Some(path), Some(error)) => Err(CliError::Run(anyhow::anyhow!(
            "--python {}: {error}",
            path.display()
        ))),
        _ => {
            let entries = [
                &result.threads,
                &result.processes,
                &result.python_threads,
                &result.python_processes,
                &result.tokio_tasks,
                &result.python_asyncio_tasks,
                &result.python_generators,
                &result.python_greenlets,
            ];
            let switch_errors = result.switches.iter().map(|switch| switch.error.as_deref());
            let errors = entries
                .into_iter()
                .flatten()
                .map(|cost| cost.error.as_deref())
                .chain(switch_errors);
            nothing_measured(errors, ("measurement", "measurements"), &[])
        }
    }
}

/// `pooltune presets`: sweep presets and comparisons, from the shipped and the user's folders.
pub fn presets() -> Result<(), CliError> {
    let entries = crate::spec::list_any_presets();
    if entries.is_empty() {
        println!(
            "no presets found (looked in {})",
            spec::shipped_presets_dir().display()
        );
        return Ok(());
    }
    for entry in entries {
        let origin = if entry.shipped { "shipped" } else { "user" };
        match &entry.loaded {
            Ok(p) => {
                let (kind, command) = match p {
                    AnyPreset::Sweep(_) => ("sweep", "pooltune sweep"),
                    AnyPreset::Comparison(_) => ("comparison", "pooltune compare"),
                };
                // A preset that runs code says which program, so that it is seen before
                // it is run.
                let programs = consent::programs(p);
                let runs = if programs.is_empty() {
                    String::new()
                } else {
                    format!("  runs the program {}", programs.join(", "))
                };
                println!(
                    "{}  [{origin} {kind}: {command} --preset ...]{runs}\n    {}: {}",
                    entry.path.display(),
                    p.name(),
                    p.description().lines().next().unwrap_or("")
                );
            }
            Err(err) => println!(
                "{}  [{origin}]\n    unreadable: {err}",
                entry.path.display()
            ),
        }
    }
    Ok(())
}

/// `--window-size`: WIDTHxHEIGHT in points, each from 100 to 16 000.
fn window_size_parser(text: &str) -> Result<[f32; 2], String> {
    let parsed = text.split_once(['x', 'X']).and_then(|(w, h)| {
        let w: f32 = w.trim().parse().ok()?;
        let h: f32 = h.trim().parse().ok()?;
        let sane = |v: f32| (100.0..=16_000.0).contains(&v);
        (sane(w) && sane(h)).then_some([w, h])
    });
    parsed.ok_or_else(|| {
        format!("--window-size must be WIDTHxHEIGHT in points, such as 1920x1080, not {text:?}")
    })
}

/// `--zoom`: a number from 0.5 to 2.
fn zoom_parser(text: &str) -> Result<f32, String> {
    match text.trim().parse::<f32>() {
        Ok(zoom) if (0.5..=2.0).contains(&zoom) => Ok(zoom),
        _ => Err(format!(
            "--zoom must be a number from 0.5 to 2 (1.25 is 125%), not {text:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    /// The wording of an all-failed run agrees with its counts (issue 10: "all 1 thread count
    /// failed", "all 2 points failed" for two series that never ran).
    #[test]
    fn nothing_measured_counts_agree() {
        let said = |errors: &[Option<&str>], what, unrun: &[&str]| {
            super::nothing_measured(errors.iter().copied(), what, unrun)
                .map_err(|err| err.to_string())
                .err()
                .unwrap_or_default()
        };
        let counts = ("thread count", "thread counts");
        assert!(
            said(&[Some("boom")], counts, &[])
                .contains("nothing was measured: the only thread count failed (the first: boom)")
        );
        assert!(said(&[Some("a"), Some("b")], counts, &[]).contains("all 2 thread counts failed"));
        let points = ("point", "points");
        assert!(said(&[], points, &["no python", "no python"]).contains("2 series did not run"));
        assert!(
            said(&[Some("a")], points, &["no python"])
                .contains("1 point failed and 1 series did not run")
        );
        assert_eq!(said(&[Some("a"), None], counts, &[]), "");
        assert_eq!(said(&[], counts, &[]), "");
    }

    use clap::Parser as _;

    use super::*;

    fn sweep_args(extra: &[&str]) -> Result<SweepArgs, clap::Error> {
        let mut argv = vec!["pooltune", "sweep", "--preset", "p.toml"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv)?.command {
            Some(Command::Sweep(args)) => Ok(args),
            other => panic!("parsed {other:?}"),
        }
    }

    /// Every thread pooltune starts has a `pooltune-` name (issue 2). A thread started
    /// without a name inherits the name of the thread that started it, so this starts the
    /// progress bar on a thread with a unique name and counts the threads that carry it.
    #[test]
    fn the_progress_bar_starts_no_unnamed_thread() {
        let preset =
            spec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny.toml"))
                .unwrap();
        const NAME: &str = "pt-bar-check";
        let threads_named = |name: &str| {
            std::fs::read_dir("/proc/self/task")
                .unwrap()
                .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
                .filter(|comm| comm.trim_end() == name)
                .count()
        };
        let named = std::thread::Builder::new()
            .name(NAME.into())
            .spawn(move || {
                let before = threads_named(NAME);
                let bar = progress_bar(
                    preset.sweep.thread_counts().len() * (preset.sweep.trials as usize + 1),
                );
                // A new thread takes its own name as it starts: wait for the ticker's (the
                // kernel keeps 15 bytes of it), with a guard against waiting forever.
                let started = std::time::Instant::now();
                while threads_named("pooltune-progre") == 0
                    && started.elapsed() < std::time::Duration::from_secs(10)
                {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                let during = threads_named(NAME);
                drop(bar);
                (before, during)
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(named, (1, 1), "(before, while the bar runs)");
    }

    #[test]
    fn a_thread_count_that_is_not_a_number_names_what_is_allowed() {
        for bad in ["abc", "1,,2", "2.5", "-1", "+3"] {
            for args in [
                vec![format!("--threads={bad}")],
                vec!["--threads".into(), bad.into()],
            ] {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let err = sweep_args(&args).unwrap_err();
                assert_eq!(err.exit_code(), 2);
                let text = err.to_string();
                assert!(text.contains("--threads"), "{text}");
                assert!(text.contains("is not a thread count"), "{text}");
                assert!(text.contains("from 1 to 65536"), "{text}");
            }
        }
        assert_eq!(
            sweep_args(&["--threads", "1,2,8"])
                .unwrap()
                .run
                .overrides
                .threads,
            Some(vec![1, 2, 8])
        );
    }

    #[test]
    fn model_options_default_to_full_utilisation_and_no_target() {
        let args = sweep_args(&[]).unwrap();
        assert_eq!(args.model_options(), ModelOptions::default());
        let args = sweep_args(&["--utilization", "0.8", "--p99-target-us", "5000"]).unwrap();
        assert_eq!(
            args.model_options(),
            ModelOptions {
                utilization_target: 0.8,
                p99_target_us: Some(5000.0),
            }
        );
    }

    #[test]
    fn bad_model_options_name_the_flag_and_the_allowed_values() {
        for bad in ["0", "1.5", "-1", "NaN", "most"] {
            let err = sweep_args(&[&format!("--utilization={bad}")]).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            let text = err.to_string();
            assert!(text.contains("--utilization"), "{text}");
            assert!(text.contains("from 0.01 to 1"), "{text}");
        }
        for bad in ["0", "-5", "inf", "fast"] {
            let err = sweep_args(&[&format!("--p99-target-us={bad}")]).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            let text = err.to_string();
            assert!(text.contains("--p99-target-us"), "{text}");
            assert!(text.contains("greater than 0"), "{text}");
        }
    }
}
