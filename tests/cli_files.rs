//! What the headless commands do with the files they write and the words they print, run as
//! a user runs them (issue 10): an `--out` that cannot be written is refused before the first
//! trial, saving keeps a file's mode, an interrupted save's leftover is named after its target
//! and removed by the next save, and argument and preset errors are one line that names the
//! field, its line and what is allowed.

// File modes, permissions and the effective uid: Unix only.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::{fixture, manifest_dir};

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

/// Runs pooltune under `umask 022`, as most login shells set it.
fn pooltune(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("umask 022; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_pooltune"))
        .args(args)
        .env("POOLTUNE_PRESETS", manifest_dir().join("presets"))
        .output()
        .expect("pooltune runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One `error:` line, exit 2, nothing on stdout.
fn assert_one_error_line(out: &Output, expect: &[&str]) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    for part in expect {
        assert!(stderr.contains(part), "expected {part:?} in {stderr}");
    }
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout: {}",
        text(&out.stdout)
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The commands and the arguments that make each one short.
fn commands() -> Vec<Vec<String>> {
    vec![
        vec!["sweep".into(), "--preset".into(), fixture("tiny.toml")],
        vec![
            "compare".into(),
            "--preset".into(),
            fixture("compare-tiny.toml"),
        ],
        vec![
            "cost".into(),
            "--threads".into(),
            "1".into(),
            "--processes".into(),
            "1".into(),
            "--no-python".into(),
        ],
    ]
}

/// An output that cannot be created is refused with exit 2 before anything runs (before the
/// fix these ran the whole sweep, then failed with exit 1 and the result was lost). Run as
/// root too: /proc refuses new files to root, a too-long name and a path under a regular
/// file fail for everyone (a mode-555 folder would not stop root).
#[test]
fn an_output_that_cannot_be_written_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let regular = dir.path().join("plain.txt");
    std::fs::write(&regular, "x").unwrap();
    let too_long = dir
        .path()
        .join("r".repeat(300))
        .to_string_lossy()
        .into_owned();
    let under_a_file = regular.join("out.json").to_string_lossy().into_owned();
    let cases: [(&str, &[&str]); 4] = [
        (
            "/proc/pooltune-out.json",
            &["--out /proc/pooltune-out.json", "cannot be written"],
        ),
        (&too_long, &["cannot be written", "at most"]),
        ("", &["--out is empty"]),
        (&under_a_file, &["plain.txt is not a folder"]),
    ];
    for command in commands() {
        for (out, expect) in cases {
            let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
            args.extend(["--out", out]);
            let run = pooltune(&args);
            assert_one_error_line(&run, expect);
        }
    }
    // The checks leave nothing behind.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}");
    // A folder without write permission stops everyone but root (CI runs as root).
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
        let out = locked.join("out.json");
        for command in commands() {
            let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
            args.extend(["--out", out.to_str().unwrap()]);
            assert_one_error_line(
                &pooltune(&args),
                &["cannot be written", "Permission denied"],
            );
        }
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// A new result file is 0666 minus the umask (0644 under umask 022, not tempfile's 0600),
/// and a file that is replaced keeps its mode (0640 stays 0640).
#[test]
fn saving_keeps_the_mode_of_a_replaced_file_and_follows_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    for command in commands() {
        let out = dir.path().join(format!("{}.json", command[0]));
        let out_text = out.to_str().unwrap();
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        args.extend(["--format", "json", "--out", out_text]);
        let first = pooltune(&args);
        assert!(first.status.success(), "{}", text(&first.stderr));
        assert_eq!(mode(&out), 0o644, "{out_text}");
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o640)).unwrap();
        let second = pooltune(&args);
        assert!(second.status.success(), "{}", text(&second.stderr));
        assert_eq!(mode(&out), 0o640, "{out_text}");
    }
}

/// A save killed with SIGKILL between creating its temporary file and the rename leaves
/// `.result.json.pooltune-tmp-PID-N` (named after its target, no longer a bare `.tmpXXXXXX`);
/// the next save to that target removes it, and leaves every other file alone.
#[test]
fn the_next_save_removes_the_leftover_of_a_killed_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("result.json");
    // What a save by a process that has since died leaves (no pid is above 2^22).
    let leftover = dir.path().join(".result.json.pooltune-tmp-99999999-0");
    let others = [
        dir.path().join(".result.json.tmpAbC123"),
        dir.path().join(".other.json.pooltune-tmp-99999999-0"),
        dir.path().join("notes.txt"),
    ];
    for file in others.iter().chain([&leftover]) {
        std::fs::write(file, "partial").unwrap();
    }
    let run = pooltune(&[
        "sweep",
        "--preset",
        &fixture("tiny.toml"),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(out.exists());
    assert!(!leftover.exists(), "the leftover was removed");
    for file in &others {
        assert!(file.exists(), "{} kept", file.display());
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".other.json.pooltune-tmp-99999999-0",
            ".result.json.tmpAbC123",
            "notes.txt",
            "result.json"
        ]
    );
}

/// `compare` on a sweep preset (and `sweep` on a comparison) says which command runs it, with
/// no `:0:0` (issue 10, item 10).
#[test]
fn the_wrong_command_for_a_preset_names_the_right_one() {
    let sweep_preset = manifest_dir().join("presets/cpu-bound.toml");
    let sweep_preset = sweep_preset.to_str().unwrap();
    let run = pooltune(&["compare", "--preset", sweep_preset]);
    assert_one_error_line(
        &run,
        &[
            &format!("error: {sweep_preset}: this is a sweep preset"),
            &format!("run it with `pooltune sweep --preset {sweep_preset}`"),
        ],
    );
    assert!(!text(&run.stderr).contains(":0"), "{}", text(&run.stderr));
    let comparison = fixture("compare-tiny.toml");
    let run = pooltune(&["sweep", "--preset", &comparison]);
    assert_one_error_line(
        &run,
        &[
            "this is a comparison preset",
            &format!("run it with `pooltune compare --preset {comparison}`"),
        ],
    );
}

/// A thread or process count that is not a positive whole number, `-1` included (which clap
/// took for an unknown flag), is refused with what is allowed, by every command (item 12).
/// clap adds its usage lines after the error line.
#[test]
fn a_bad_count_list_says_what_is_allowed() {
    let tiny = fixture("tiny.toml");
    let compare_tiny = fixture("compare-tiny.toml");
    let cases: [(Vec<&str>, &str); 5] = [
        (
            vec!["sweep", "--preset", &tiny, "--threads", "-1"],
            // Up to an async pool's concurrency; a thread pool's cap (4096) is checked with the pool.
            "'-1' is not a thread count; allowed are whole numbers from 1 to 65536 separated by commas, such as 1,2,4,8",
        ),
        (
            vec!["compare", "--preset", &compare_tiny, "--threads", "1,x"],
            "'x' is not a thread count; allowed are whole numbers from 1 to 65536",
        ),
        (
            vec!["compare", "--preset", &compare_tiny, "--threads", "-2"],
            "'-2' is not a thread count",
        ),
        (
            vec!["cost", "--threads", "-1", "--no-python"],
            "'-1' is not a thread count; allowed are whole numbers from 1 to 4096",
        ),
        (
            vec!["cost", "--processes", "two", "--no-python"],
            "'two' is not a process count; allowed are whole numbers from 1 to 512",
        ),
    ];
    for (args, expect) in cases {
        let run = pooltune(&args);
        let stderr = text(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        let first = stderr.lines().next().unwrap_or("");
        assert!(first.starts_with("error: "), "{stderr}");
        assert!(
            first.contains(expect),
            "{args:?}: expected {expect:?} in {stderr}"
        );
        assert!(run.stdout.is_empty());
    }
}

/// A save that fails at the end although the check before the run passed (here the folder is
/// removed while the sweep runs) prints the result to stdout instead of losing it, says so on
/// stderr and exits 1 (before the fix: the result was discarded).
#[test]
fn a_result_that_cannot_be_saved_at_the_end_is_printed_instead() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("vanishing");
    std::fs::create_dir(&folder).unwrap();
    let preset = dir.path().join("slow.toml");
    // Two thread counts × 3 trials of 800 ms: the folder goes while the first trials run.
    let slow = std::fs::read_to_string(fixture("tiny.toml"))
        .unwrap()
        .replace("tasks_per_trial = 40", "trial_ms = 800");
    std::fs::write(&preset, slow).unwrap();
    let out = folder.join("result.json");
    let child = Command::new(env!("CARGO_BIN_EXE_pooltune"))
        .args(["sweep", "--preset", preset.to_str().unwrap()])
        .args(["--format", "json", "--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A pool worker thread exists only once trials run, so the check of --out is done by then
    // (a fixed sleep would race with a loaded machine).
    let tasks = format!("/proc/{}/task", child.id());
    let measuring = || {
        std::fs::read_dir(&tasks)
            .into_iter()
            .flatten()
            .flatten()
            .any(|task| {
                std::fs::read_to_string(task.path().join("comm"))
                    .is_ok_and(|comm| comm.starts_with("pooltune-worker"))
            })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !measuring() {
        assert!(
            std::time::Instant::now() < deadline,
            "the sweep never started a worker"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::fs::remove_dir_all(&folder).unwrap();
    let run = child.wait_with_output().unwrap();
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("could not write") && stderr.contains("printed to standard output instead"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(json["points"].as_array().map(Vec::len), Some(2), "{json}");
}
