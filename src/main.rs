//! pooltune's entry point: parses the arguments, runs one command, prints each error once
//! as an `error:` line and sets the exit code (0 success, 1 run error, 2 bad arguments).

use clap::Parser as _;
use pooltune::cli::{self, Cli, CliError, Command};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(pooltune::pool::WORKER_MODE_ARG) {
        std::process::exit(pooltune::pool::run_worker_process(&args[2..]));
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version are "errors" with exit code 0.
            let _ = err.print();
            std::process::exit(err.exit_code());
        }
    };
    if let Err(err) = run(cli) {
        eprintln!("error: {err}");
        std::process::exit(err.exit_code());
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    match &cli.command {
        Some(Command::Sweep(args)) => cli::sweep(args),
        Some(Command::Compare(args)) => cli::compare(args),
        Some(Command::Presets) => cli::presets(),
        Some(Command::Cost(args)) => cli::cost(args),
        Some(Command::Open(args)) => open_results(args),
        Some(Command::Tune(args)) => pooltune::tune::cli(args),
        Some(Command::Replay(args)) => pooltune::replay::cli(args),
        None => open_app(&cli),
    }
}

/// Opens the desktop app; a bad `--preset` is refused before any window opens (exit 2), and
/// a missing display or failing graphics is one clear error pointing to `pooltune sweep`
/// (exit 1).
#[cfg(feature = "gui")]
fn open_app(cli: &Cli) -> Result<(), CliError> {
    let cost_tab = cli.tab.as_deref() == Some("cost");
    if cli.run && cli.preset.is_none() && !cost_tab {
        return Err(CliError::Usage(
            "--run needs --preset FILE (or --tab cost)".to_owned(),
        ));
    }
    // A comparison file opens the Compare tab; a sweep preset the Sweep tab.
    // Read once with its content hash: the app asks before the first run of its code.
    let (preset, comparison, preset_file) = match &cli.preset {
        Some(path) => match pooltune::spec::consent::load_any_with_file(path)? {
            (pooltune::spec::AnyPreset::Sweep(preset), file) => (Some(preset), None, Some(file)),
            (pooltune::spec::AnyPreset::Comparison(comparison), file) => {
                (None, Some(comparison), Some(file))
            }
        },
        None => (None, None, None),
    };
    let options = pooltune::app::AppOptions {
        preset,
        comparison,
        run_at_start: cli.run,
        screenshot_when_done: cli.screenshot.clone(),
        result_when_done: cli.result.clone(),
        zoom: cli.zoom,
        window_size: cli.window_size,
        tab: cost_tab.then_some(pooltune::app::TabId::Cost),
        preset_file,
        ..pooltune::app::AppOptions::default()
    };
    pooltune::app::launch(options).map_err(|err| CliError::Run(anyhow::Error::new(err)))
}

/// `pooltune open FILE…`: every file is read first, so that a damaged or newer file is one
/// `error:` line naming it (exit 2) before any window opens; then the app opens with them.
fn open_results(args: &cli::OpenArgs) -> Result<(), CliError> {
    let opened = args
        .files
        .iter()
        .map(|path| {
            pooltune::result::open::open(path)
                .map(|result| (path.clone(), result))
                .map_err(|err| CliError::Usage(err.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    show_results(opened, args.screenshot.clone())
}

/// Opens the app on results already read; `screenshot` saves the window once they are
/// drawn and closes it.
#[cfg(feature = "gui")]
fn show_results(
    opened: Vec<(std::path::PathBuf, pooltune::result::open::OpenedResult)>,
    screenshot: Option<std::path::PathBuf>,
) -> Result<(), CliError> {
    let options = pooltune::app::AppOptions {
        opened,
        screenshot_when_done: screenshot,
        ..pooltune::app::AppOptions::default()
    };
    pooltune::app::launch(options).map_err(|err| CliError::Run(anyhow::Error::new(err)))
}

/// Without the `gui` feature the files were read, but there is no window to show them in.
#[cfg(not(feature = "gui"))]
fn show_results(
    _opened: Vec<(std::path::PathBuf, pooltune::result::open::OpenedResult)>,
    _screenshot: Option<std::path::PathBuf>,
) -> Result<(), CliError> {
    Err(CliError::Usage(
        "this pooltune was built without the desktop app (feature `gui`), so it cannot show \
         results; the files read correctly"
            .to_owned(),
    ))
}

/// Without the `gui` feature there is no window; say what there is instead.
#[cfg(not(feature = "gui"))]
fn open_app(_cli: &Cli) -> Result<(), CliError> {
    Err(CliError::Usage(
        "this pooltune was built without the desktop app (feature `gui`). \
         Run a sweep headless: pooltune sweep --preset presets/cpu-bound.toml"
            .to_owned(),
    ))
}
