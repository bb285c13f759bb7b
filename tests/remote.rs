//! `--events`, `--preset -` and `--via PREFIX` as a user runs them: the binary only (this
//! file does not link the library, nor egui). The "other machine" is this one, reached through
//! prefixes that run here (`env`, `taskset -c 0`, `sh -c` wrappers), with target/debug first
//! on the PATH so that `pooltune` resolves on the far side.

// POSIX programs, signals or file modes: Unix only.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pooltune");

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    manifest_dir()
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// PATH with this build's pooltune first.
fn path_with_pooltune() -> String {
    let dir = Path::new(BIN).parent().unwrap().display().to_string();
    match std::env::var("PATH") {
        Ok(path) => format!("{dir}:{path}"),
        Err(_) => dir,
    }
}

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("PATH", path_with_pooltune())
        .env("POOLTUNE_PRESETS", manifest_dir().join("presets"));
    command
}

fn pooltune(args: &[&str]) -> Output {
    command(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every line of `stdout` as JSON, each checked to be one object with `format_version` 1
/// and a `type`; returns the lines and their types.
fn event_lines(stdout: &[u8]) -> (Vec<Value>, Vec<String>) {
    let text = text(stdout);
    assert!(
        text.ends_with('\n'),
        "the stream ends with a newline: {text}"
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    let types = lines
        .iter()
        .map(|line| {
            assert_eq!(line["format_version"], 1, "{line}");
            line["type"].as_str().unwrap().to_owned()
        })
        .collect();
    (lines, types)
}

/// The types in the documented order: `started` first, `finished` last and only there, and
/// `progress`, `point` and `series_failed` between them; `points` point lines.
fn assert_in_order(types: &[String], points: usize) {
    assert_eq!(
        types.first().map(String::as_str),
        Some("started"),
        "{types:?}"
    );
    assert_eq!(
        types.last().map(String::as_str),
        Some("finished"),
        "{types:?}"
    );
    let middle = &types[1..types.len() - 1];
    assert!(
        middle
            .iter()
            .all(|t| ["progress", "point", "series_failed"].contains(&t.as_str())),
        "{types:?}"
    );
    assert_eq!(middle.iter().filter(|t| *t == "point").count(), points);
}

/// A sweep preset file in `dir`: 2 ms CPU tasks (or `compute_us`), `threads`, short trials.
fn cpu_preset(dir: &Path, compute_us: u32, threads: &str, trial_ms: u32) -> String {
    let path = dir.join("cpu.toml");
    std::fs::write(
        &path,
        format!(
            "schema_version = 1\nname = \"cpu\"\ndescription = \"remote test\"\n\
             [workload]\nkind = \"cpu\"\ncompute_us = {compute_us}\n[pool]\nkind = \"rayon\"\n\
             [sweep]\nthreads = [{threads}]\ntrials = 3\ntrial_ms = {trial_ms}\nwarmup_ms = 100\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// With `--events` the same run writes its JSON to `--out` and its events on stdout: every
/// line parses, the types come in order, and the `finished` line's result is exactly the
/// object in the JSON file (a sweep's with its recommendation). No table is printed.
#[test]
fn events_are_json_lines_and_the_last_is_the_json_result() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("result.json");
    let run = pooltune(&[
        "sweep",
        "--preset",
        &fixture("tiny.toml"),
        "--events",
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let (lines, types) = event_lines(&run.stdout);
    assert_in_order(&types, 2);
    assert!(types.iter().filter(|t| *t == "progress").count() >= 2);
    let file: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let last = &lines[lines.len() - 1]["result"];
    assert_eq!(last, &file);
    assert!(
        last["recommendation"]["recommended_threads"].is_number(),
        "{last}"
    );
    // The points of the stream are the result's.
    let streamed: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "point")
        .map(|l| &l["point"])
        .collect();
    let points: Vec<&Value> = file["points"].as_array().unwrap().iter().collect();
    assert_eq!(streamed, points);
    assert_eq!(lines[0]["machine"], file["machine"]);
    assert_eq!(lines[0]["thread_counts"], serde_json::json!([1, 2]));
    assert!(!text(&run.stdout).contains("recommendation:"));

    // Without --out, stdout holds the events alone.
    let bare = pooltune(&["sweep", "--preset", &fixture("tiny.toml"), "--events"]);
    assert_eq!(bare.status.code(), Some(0), "{}", text(&bare.stderr));
    let (lines, types) = event_lines(&bare.stdout);
    assert_in_order(&types, 2);
    assert_eq!(lines.last().unwrap()["result"]["format_version"], 1);
}

/// The same for a comparison: its `finished` line is the comparison JSON, and a series that
/// cannot run (no such Python) is a `series_failed` line.
#[test]
fn a_comparison_streams_its_series_and_failures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("compare.json");
    let run = pooltune(&[
        "compare",
        "--preset",
        &fixture("compare-tiny.toml"),
        "--python",
        "/no/such/python3",
        "--events",
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let (lines, types) = event_lines(&run.stdout);
    // Rust and the simulated GIL measure both counts; the two Python series fail.
    assert_in_order(&types, 4);
    let failed: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "series_failed")
        .collect();
    assert!(failed.len() >= 2, "{types:?}");
    assert!(
        failed[0]["message"]
            .as_str()
            .unwrap()
            .contains("/no/such/python3"),
        "{}",
        failed[0]
    );
    let file: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(lines.last().unwrap()["result"], file);
    assert_eq!(lines[0]["series"].as_array().unwrap().len(), 4);
}

/// `--preset -` reads the preset from stdin; a bad one is named as `<stdin>` with its line.
#[test]
fn a_preset_on_stdin_runs_and_a_bad_one_names_its_line() {
    let preset = std::fs::read(fixture("tiny.toml")).unwrap();
    let run = |input: &[u8], args: &[&str]| {
        let mut child = command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    };
    let good = run(&preset, &["sweep", "--preset", "-", "--format", "json"]);
    assert_eq!(good.status.code(), Some(0), "{}", text(&good.stderr));
    let json: Value = serde_json::from_slice(&good.stdout).unwrap();
    assert_eq!(json["preset"]["name"], "tiny");
    assert_eq!(json["points"].as_array().unwrap().len(), 2);

    let bad = text(&preset).replace("compute_us = 50", "compute_us = -5");
    let refused = run(bad.as_bytes(), &["sweep", "--preset", "-"]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = text(&refused.stderr);
    assert!(stderr.starts_with("error: <stdin>:"), "{stderr}");
    assert!(stderr.contains("compute_us"), "{stderr}");
}

/// A preset ended by a NUL byte (as `--via` sends it) and `--events`: closing stdin stops the
/// run, which still sends its `finished` line, marked cancelled, with the points so far.
#[test]
fn the_end_of_stdin_stops_an_events_run() {
    let dir = tempfile::tempdir().unwrap();
    let preset = std::fs::read(cpu_preset(dir.path(), 2000, "1, 2, 3, 4, 6, 8", 1000)).unwrap();
    let mut child = command(&["sweep", "--preset", "-", "--events"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&preset).unwrap();
    stdin.write_all(b"\0").unwrap();
    stdin.flush().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let started: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(started["type"], "started", "{first}");
    let closed = Instant::now();
    drop(stdin);
    let rest: Vec<String> = stdout.lines().map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    // Six counts of 4 s each would take 24 s; the stop comes within a trial.
    assert!(
        closed.elapsed() < Duration::from_secs(10),
        "{:?}",
        closed.elapsed()
    );
    assert_eq!(status.code(), Some(0));
    let last: Value = serde_json::from_str(rest.last().unwrap()).unwrap();
    assert_eq!(last["type"], "finished");
    assert_eq!(last["result"]["cancelled"], true);
    assert!(last["result"]["points"].as_array().unwrap().len() < 6);
}

/// Via `taskset -c 0` the far side has one CPU: the result records `usable_cpus` 1, and a
/// CPU-bound curve stays flat (at 2 threads the process uses no more than one CPU, and
/// throughput stays within noise of 1 thread), while locally on 2 CPUs it grows. The
/// throughput ratios are asserted only for points no other process disturbed (another
/// build on the same CPUs takes a share that depends on our thread count); the CPU used is
/// bounded whatever else runs.
#[test]
fn via_taskset_records_one_cpu_and_a_flat_curve() {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if cpus < 2 || Command::new("taskset").arg("--version").output().is_err() {
        eprintln!("skipped: needs 2 usable CPUs and taskset (have {cpus})");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let preset = cpu_preset(dir.path(), 2000, "1, 2", 300);
    let measure = |via: Option<&str>| {
        let out = dir.path().join("result.json");
        let mut args = vec!["sweep", "--preset", &preset, "--out", out.to_str().unwrap()];
        args.extend(["--format", "json"]);
        if let Some(via) = via {
            args.extend(["--via", via]);
        }
        let run = pooltune(&args);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
        let json: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let point = |i: usize| json["points"][i].clone();
        let (one, two) = (point(0), point(1));
        let ratio =
            two["throughput_per_s"].as_f64().unwrap() / one["throughput_per_s"].as_f64().unwrap();
        let quiet = one["disturbed"] == false && two["disturbed"] == false;
        eprintln!(
            "via {via:?}: usable_cpus {}, throughput 2/1 = {ratio:.2}, cpu util at 2 = {}, quiet: {quiet}",
            json["machine"]["usable_cpus"], two["cpu_utilization"]
        );
        (json, ratio, quiet)
    };
    let (pinned, ratio, quiet) = measure(Some("taskset -c 0"));
    assert_eq!(pinned["machine"]["usable_cpus"], 1);
    assert!(pinned["points"][1]["cpu_utilization"].as_f64().unwrap() < 1.2);
    if quiet {
        assert!(
            ratio < 1.3,
            "pinned to one CPU, 2 threads gave {ratio:.2}× of 1"
        );
    }
    let (local, ratio, quiet) = measure(None);
    assert_eq!(local["machine"]["usable_cpus"], cpus);
    if quiet {
        assert!(
            ratio > 1.5,
            "on {cpus} CPUs, 2 threads gave only {ratio:.2}× of 1"
        );
    }
}

/// Via `env` the run is shaped as a local one: the same table on stdout, the same JSON keys,
/// thread counts, preset and machine, the same event types in the same order.
#[test]
fn via_env_is_shaped_like_a_local_run() {
    let tiny = fixture("tiny.toml");
    let table = |via: &[&str]| {
        let mut args = vec!["sweep", "--preset", tiny.as_str()];
        args.extend_from_slice(via);
        let run = pooltune(&args);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
        text(&run.stdout)
    };
    let shape = |table: &str| -> Vec<String> {
        // Each line's first word, down to the blank line: the title, the machine, the
        // header, each thread count (the recommendation below it says what was measured,
        // a warning included, so its length varies from run to run).
        table
            .lines()
            .take_while(|line| !line.is_empty())
            .map(|line| line.split_whitespace().next().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(shape(&table(&["--via", "env"])), shape(&table(&[])));

    let json = |via: &[&str]| {
        let mut args = vec!["sweep", "--preset", tiny.as_str(), "--format", "json"];
        args.extend_from_slice(via);
        let run = pooltune(&args);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
        serde_json::from_slice::<Value>(&run.stdout).unwrap()
    };
    let (remote, local) = (json(&["--via", "env"]), json(&[]));
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&remote), keys(&local));
    assert_eq!(keys(&remote["points"][0]), keys(&local["points"][0]));
    assert_eq!(remote["preset"], local["preset"]);
    for field in ["host_name", "logical_cpus", "usable_cpus", "cpu_brand"] {
        assert_eq!(remote["machine"][field], local["machine"][field], "{field}");
    }
    let threads = |v: &Value| -> Vec<Value> {
        v["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["threads"].clone())
            .collect()
    };
    assert_eq!(threads(&remote), threads(&local));

    let events = |via: &[&str]| {
        let mut args = vec!["sweep", "--preset", tiny.as_str(), "--events"];
        args.extend_from_slice(via);
        let run = pooltune(&args);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
        event_lines(&run.stdout).1
    };
    assert_eq!(events(&["--via", "env"]), events(&[]));
}

/// A prefix that fails, or that reaches something that is not this pooltune, gives one
/// `error:` line saying what it found and how to install pooltune there; nothing runs.
#[test]
fn a_prefix_that_fails_or_is_not_pooltune_gives_one_error_line() {
    let tiny = fixture("tiny.toml");
    let cases = [
        ("false", "printed nothing (exit status 1)"),
        ("/no/such/program", "(exit status 127)"),
        ("sh -c 'echo hello' sh", "printed \"hello\" (exit status 0)"),
        ("env PATH=/nonexistent", "(exit status 127)"),
    ];
    for (prefix, found) in cases {
        let run = pooltune(&["sweep", "--preset", &tiny, "--via", prefix]);
        assert_eq!(run.status.code(), Some(1), "{prefix}");
        let stderr = text(&run.stderr);
        assert_eq!(stderr.lines().count(), 1, "{prefix}: {stderr}");
        assert!(stderr.starts_with("error: --via: `"), "{stderr}");
        assert!(stderr.contains(found), "{prefix}: {stderr}");
        assert!(stderr.contains("cargo install --path ."), "{stderr}");
        assert!(run.stdout.is_empty(), "{prefix}: nothing ran");
    }
    let empty = pooltune(&["sweep", "--preset", &tiny, "--via", " "]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(text(&empty.stderr).starts_with("error: --via is empty"));
}

/// A fake far side (a `sh -c` script that answers `--version` as this pooltune does) tells
/// the near side's three ways to fail apart: it refuses the run (its exit status 2 and its
/// `error:` line are passed on), it ends without a result, or it writes what is not an event.
#[test]
fn a_far_side_that_refuses_dies_or_babbles_is_reported_as_such() {
    let tiny = fixture("tiny.toml");
    let fake = |run: &str| {
        format!(
            "sh -c 'if [ \"$2\" = --version ]; then echo \"pooltune {}\"; else cat >/dev/null & {run}; fi' sh",
            env!("CARGO_PKG_VERSION")
        )
    };
    let cases = [
        (
            fake("echo \"error: sweep.threads: too many\" >&2; exit 2"),
            2,
            "error: on the far side of --via: sweep.threads: too many",
        ),
        (
            fake("echo dying >&2; exit 3"),
            1,
            "ended without a result (exit status 3): dying",
        ),
        (
            fake("echo hello"),
            1,
            "line 1 of the output is not an event",
        ),
    ];
    for (prefix, code, said) in cases {
        let run = pooltune(&["sweep", "--preset", &tiny, "--via", &prefix]);
        let stderr = text(&run.stderr);
        assert_eq!(run.status.code(), Some(code), "{stderr}");
        assert!(stderr.contains(said), "{stderr}");
        assert_eq!(
            stderr.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{stderr}"
        );
    }
}

/// The pids of the processes whose parent is `parent`.
fn children_of(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|ppid| ppid.parse::<u32>().ok());
        if ppid == Some(parent) {
            found.push(pid);
        }
    }
    found
}

fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| text(&bytes).replace('\0', " "))
        .unwrap_or_default()
}

/// SIGINT (Ctrl-C) to the local pooltune during a run via a prefix stops the far side (its
/// input closed), keeps the points so far, exits 1 as a local Ctrl-C does, and leaves no
/// child running.
#[test]
fn ctrl_c_during_a_via_run_leaves_no_child_running() {
    let dir = tempfile::tempdir().unwrap();
    let preset = cpu_preset(dir.path(), 2000, "1, 2, 3, 4, 6, 8", 1000);
    let mut local: Child = command(&["sweep", "--preset", &preset, "--via", "env"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let waited = Instant::now();
    let far = loop {
        let far = children_of(local.id())
            .into_iter()
            .find(|pid| cmdline(*pid).contains("--events"));
        if let Some(far) = far {
            break far;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "no far side started"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // Into the run, past calibration.
    std::thread::sleep(Duration::from_secs(2));
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(
        unsafe { libc::kill(local.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let stopped = Instant::now();
    let output = loop {
        if local.try_wait().unwrap().is_some() {
            break local.wait_with_output().unwrap();
        }
        assert!(stopped.elapsed() < Duration::from_secs(20), "still running");
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stopped by Ctrl-C"), "{stderr}");
    assert!(
        text(&output.stdout).contains("threads"),
        "the table of what was measured"
    );
    // The far side was our child, reaped before we exited: its pid is gone (or, reused
    // meanwhile, is not a pooltune of this run).
    assert!(
        !cmdline(far).contains("--events"),
        "pid {far} still runs: {}",
        cmdline(far)
    );
}

/// A comparison via `env` runs there with the `--python` given here passed on as a path there:
/// a missing one fails its series by name, and the Rust series measure every count.
#[test]
fn a_comparison_via_a_prefix_passes_its_interpreters_on() {
    let run = pooltune(&[
        "compare",
        "--preset",
        &fixture("compare-tiny.toml"),
        "--python",
        "/no/such/python3",
        "--via",
        "env",
        "--format",
        "json",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let json: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(json["format_version"], 1);
    for series in json["series"].as_array().unwrap() {
        let points = series["points"].as_array().unwrap().len();
        match series["kind"].as_str().unwrap() {
            "rust" | "simulated_gil" => assert_eq!(points, 2, "{series}"),
            "python_threads" | "python_processes" => {
                assert!(
                    series["error"]
                        .as_str()
                        .unwrap()
                        .contains("/no/such/python3")
                )
            }
            _ => {}
        }
    }
}

/// A far side that ignores both the end of its input and SIGTERM (a `sh` that traps TERM, then
/// sleeps) is killed with SIGKILL after the two graces; the run stopped by Ctrl-C keeps the
/// point the far side had sent and leaves nothing running.
#[test]
fn a_far_side_that_ignores_the_stop_is_killed_and_its_points_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    // A real `started` line and the first `point` line of the tiny sweep, to replay.
    let real = pooltune(&["sweep", "--preset", &fixture("tiny.toml"), "--events"]);
    assert_eq!(real.status.code(), Some(0), "{}", text(&real.stderr));
    let lines = text(&real.stdout);
    let replay: Vec<&str> = lines
        .lines()
        .filter(|l| l.contains("\"type\":\"started\""))
        .chain(
            lines
                .lines()
                .filter(|l| l.contains("\"type\":\"point\""))
                .take(1),
        )
        .collect();
    assert_eq!(replay.len(), 2);
    let file = dir.path().join("replay.jsonl");
    std::fs::write(&file, replay.join("\n") + "\n").unwrap();
    let prefix = format!(
        "sh -c 'if [ \"$2\" = --version ]; then echo \"pooltune {}\"; else cat {}; trap \"\" TERM; exec sleep 60; fi' sh",
        env!("CARGO_PKG_VERSION"),
        file.display()
    );
    let local = command(&["sweep", "--preset", &fixture("tiny.toml"), "--via", &prefix])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let waited = Instant::now();
    let far = loop {
        let far = children_of(local.id())
            .into_iter()
            .find(|pid| cmdline(*pid).starts_with("sleep 60"));
        if let Some(far) = far {
            break far;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "no far side started"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(
        unsafe { libc::kill(local.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let stopped = Instant::now();
    let output = local.wait_with_output().unwrap();
    let took = stopped.elapsed();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stopped by Ctrl-C"), "{stderr}");
    // The 5 s for the end of input, the 2 s after SIGTERM, then SIGKILL at once.
    assert!(
        took >= Duration::from_secs(7) && took < Duration::from_secs(15),
        "{took:?}"
    );
    let table = text(&output.stdout);
    assert!(
        table.lines().any(|l| l.trim_start().starts_with("1 ")),
        "the replayed point at 1 thread is kept: {table}"
    );
    assert!(
        !cmdline(far).starts_with("sleep 60"),
        "pid {far} still runs"
    );
}
