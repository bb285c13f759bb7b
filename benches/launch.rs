//! What pooltune's launcher costs per run: `true` run through `child::launch::Launch::run`
//! (own process group, stdout to /dev/null, a stderr pipe read through poll, a pidfd,
//! wait4 with rusage) beside a bare fork/exec/wait loop (`std::process::Command::status`
//! of the same program). Target (issue 12): at most 1.1× the bare loop.
//!
//! Paired and interleaved (a block of each, many rounds) so that drift on a busy machine
//! falls on both; the ratio is the median of the rounds' ratios.
//! `cargo bench --bench launch` prints the table.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use pooltune::cancel::CancelToken;
use pooltune::child::launch::{Launch, Placeholders, find_program};
use pooltune::spec::command::CommandLine;

const ROUNDS: usize = 30;
const RUNS_PER_BLOCK: usize = 50;
const TARGET: f64 = 1.1;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo's bench discovery
    }
    let folder = std::env::current_dir().expect("current directory");
    let program = find_program("true", &folder).expect("`true` on PATH");
    let launch = Launch::of_line(
        "workload.run",
        &CommandLine::Argv(vec!["true".into()]),
        &Placeholders::new(),
        &folder,
    )
    .expect("launch of true");
    let cancel = CancelToken::new();
    let bare = |program: &Path| {
        let status = Command::new(program).status().expect("bare run");
        assert!(status.success());
    };
    // Warm both paths (page cache, the dynamic loader).
    for _ in 0..RUNS_PER_BLOCK {
        bare(&program);
        assert!(launch.run(&cancel).expect("launcher run").succeeded());
    }
    let mut ratios = Vec::with_capacity(ROUNDS);
    let mut bare_us = Vec::with_capacity(ROUNDS);
    let mut launcher_us = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let time = |f: &mut dyn FnMut()| {
            let start = Instant::now();
            for _ in 0..RUNS_PER_BLOCK {
                f();
            }
            start.elapsed().as_secs_f64() * 1e6 / RUNS_PER_BLOCK as f64
        };
        let mut run_bare = || bare(&program);
        let mut run_launcher = || {
            assert!(launch.run(&cancel).expect("launcher run").succeeded());
        };
        // Alternate which goes first, so neither always follows the other.
        let (b, l) = if round % 2 == 0 {
            let b = time(&mut run_bare);
            (b, time(&mut run_launcher))
        } else {
            let l = time(&mut run_launcher);
            (time(&mut run_bare), l)
        };
        bare_us.push(b);
        launcher_us.push(l);
        ratios.push(l / b);
    }
    let ratio = median(&mut ratios);
    println!("{:<34} {:>12}", "per run of `true`", "median µs");
    println!(
        "{:<34} {:>12.1}",
        "bare Command::status",
        median(&mut bare_us)
    );
    println!(
        "{:<34} {:>12.1}",
        "pooltune launcher (wait4)",
        median(&mut launcher_us)
    );
    println!(
        "launcher / bare: {ratio:.3} (median of {ROUNDS} paired rounds of {RUNS_PER_BLOCK} runs; target ≤ {TARGET})"
    );
    if ratio > TARGET {
        println!("ABOVE TARGET");
    }
}
