//! The CLI says what code a preset runs before it runs it (issue 12 §5): the exact command
//! lines on stderr before the first run, nothing for pooltune's own workloads, and
//! `pooltune presets` marks the presets that run a program with the program's name.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{fixture, manifest_dir};

fn pooltune(args: &[&str], presets: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pooltune"))
        .args(args)
        .env("POOLTUNE_PRESETS", presets)
        .output()
        .expect("pooltune runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const COMMAND_PRESET: &str = r#"schema_version = 1
name = "echo to a file"
description = "Writes one line per run."

[workload]
kind = "command"
run = ["sh", "-c", "echo run {threads} >> runs.log"]
env = { OMP_NUM_THREADS = "{threads}" }
setup = ["sh", "-c", "echo setup >> runs.log"]
cleanup = ["rm", "-f", "scratch file.tmp"]
warmup_runs = 0

[sweep]
threads = [1, 2]
trials = 3
retry_disturbed = 0
"#;

#[test]
fn a_command_preset_says_its_exact_lines_on_stderr_before_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("echo.toml");
    std::fs::write(&preset, COMMAND_PRESET).unwrap();
    let out = pooltune(
        &[
            "sweep",
            "--preset",
            preset.to_str().unwrap(),
            "--format",
            "json",
        ],
        &manifest_dir().join("presets"),
    );
    let stderr = text(&out.stderr);
    let folder = dir.path().canonicalize().unwrap();
    let expected = format!(
        "pooltune: {} runs these commands, in {}:\n\
         \x20 run: sh -c 'echo run {{threads}} >> runs.log'\n\
         \x20 setup: sh -c 'echo setup >> runs.log'\n\
         \x20 cleanup: rm -f 'scratch file.tmp'\n\
         \x20 env: OMP_NUM_THREADS={{threads}}\n\
         \x20 ({{threads}} is each thread count in turn: 1, 2)\n",
        preset.display(),
        folder.display()
    );
    // First on stderr: before any line the run itself prints.
    assert!(
        stderr.starts_with(&expected),
        "expected at the start:\n{expected}\ngot:\n{stderr}"
    );
    // Then it runs (the command is the user's consent): setup once, three runs per count.
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let log = std::fs::read_to_string(dir.path().join("runs.log")).unwrap();
    assert_eq!(log, "setup\nrun 1\nrun 1\nrun 1\nrun 2\nrun 2\nrun 2\n");
    // `--threads` changes the counts said.
    let out = pooltune(
        &[
            "sweep",
            "--preset",
            preset.to_str().unwrap(),
            "--threads",
            "3",
            "--format",
            "json",
        ],
        &manifest_dir().join("presets"),
    );
    assert!(
        text(&out.stderr).contains("({threads} is each thread count in turn: 3)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_built_in_workload_says_no_command_line() {
    let out = pooltune(
        &[
            "sweep",
            "--preset",
            &fixture("tiny.toml"),
            "--threads",
            "1",
            "--format",
            "json",
        ],
        &manifest_dir().join("presets"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("runs these commands"), "{stderr}");
}

#[test]
fn a_comparison_names_the_series_of_each_line() {
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("cmp.toml");
    std::fs::write(
        &preset,
        r#"schema_version = 1
name = "tasks"

[sweep]
threads = [1]
trials = 3
tasks_per_trial = 4

[[series]]
label = "hash"
kind = "custom"
workload = { kind = "exec", run = ["sha256sum", "{input}"], inputs = "*.toml" }
pool = { kind = "queue" }

[[series]]
label = "built-in"
kind = "rust"
workload = { kind = "cpu", compute_us = 100 }
"#,
    )
    .unwrap();
    let out = pooltune(
        &["compare", "--preset", preset.to_str().unwrap()],
        &manifest_dir().join("presets"),
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("\n  hash, run, each task: sha256sum {input}\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("built-in, "), "{stderr}");
}

#[test]
fn presets_marks_the_ones_that_run_a_program() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("echo.toml"), COMMAND_PRESET).unwrap();
    std::fs::copy(fixture("tiny.toml"), dir.path().join("tiny.toml")).unwrap();
    std::fs::write(
        dir.path().join("py.toml"),
        r#"schema_version = 1
name = "my function"

[workload]
kind = "python"
call = "hashwork:sha256_block"

[pool]
kind = "python_threads"

[sweep]
threads = [1]
trials = 3
tasks_per_trial = 4
"#,
    )
    .unwrap();
    let out = pooltune(&["presets"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{stdout}"))
            .to_owned()
    };
    assert!(
        line("echo.toml").ends_with("sweep: pooltune sweep --preset ...]  runs the program sh"),
        "{stdout}"
    );
    assert!(
        line("py.toml").ends_with("runs the program python3"),
        "{stdout}"
    );
    assert!(!line("tiny.toml").contains("runs the program"), "{stdout}");
}
