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
        None => open_app(&cli),
    }
}

fn open_app(cli: &Cli) -> Result<(), CliError> {
    let _ = cli;
    println!(
        "pooltune {}: the desktop app is not in this build yet.\n\
         Headless commands:\n  pooltune sweep --preset presets/cpu-bound.toml\n  pooltune compare --preset presets/compare-gil-cpu.toml\n  pooltune presets\n\
         Run `pooltune --help` for more.",
        env!("CARGO_PKG_VERSION")
    );
    Ok(())
}
