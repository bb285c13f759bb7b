//! Python coroutines as a user runs them, through `pooltune sweep` and `pooltune compare` on
//! a real CPython: an `async def` function on `[pool] kind = "python_asyncio"` makes exactly
//! the calls asked with never more than N in flight, scales on an awaited sleep, fails a
//! point with an exception's last line; a plain function on python_asyncio and an `async def`
//! on the thread and process pools are refused before any call; the comparison's asyncio
//! series runs the script's task, and its gevent series says "not installed (pip install
//! gevent)" where gevent cannot be imported, without failing the run. Each test skips without
//! python3 (fails under `POOLTUNE_REQUIRE_PYTHON=1`).

// POSIX programs, signals or file modes: Unix only.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::manifest_dir;

/// The module the tests call. `counted` appends one line per call to the file `marks`: the
/// calls in flight when it started (so the test reads both the count and the concurrency).
const MODULE: &str = r#"
import asyncio

in_flight = 0

async def counted(marks, pause_ms):
    global in_flight
    in_flight += 1
    with open(marks, "a") as f:
        f.write("%d\n" % in_flight)
    try:
        await asyncio.sleep(pause_ms / 1000.0)
    finally:
        in_flight -= 1

async def nap(ms):
    await asyncio.sleep(ms / 1000.0)

async def boom(n):
    print("the coroutine's own output, which must not break the lines")
    raise ValueError("boom %d" % n)

def plain(marks, pause_ms):
    with open(marks, "a") as f:
        f.write("1\n")
"#;

/// A folder with the test module (`awork.py`) in `mods/`, for presets written beside it.
struct Folder {
    dir: tempfile::TempDir,
}

impl Folder {
    fn new() -> Folder {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("mods")).unwrap();
        std::fs::write(dir.path().join("mods/awork.py"), MODULE).unwrap();
        Folder { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn preset(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The in-flight count each call of `counted` saw when it started, in call order.
    fn calls(&self) -> Vec<usize> {
        std::fs::read_to_string(self.path("marks"))
            .unwrap_or_default()
            .lines()
            .map(|line| line.parse().unwrap())
            .collect()
    }

    /// `args` for `counted`: the marks file and a pause.
    fn counted_args(&self, pause_ms: u32) -> String {
        format!("[\"{}\", {pause_ms}]", self.path("marks").display())
    }
}

fn sweep_file(call: &str, args: &str, pool: &str, sweep: &str) -> String {
    format!(
        "schema_version = 1\nname = \"test\"\n[workload]\nkind = \"python\"\ncall = \"{call}\"\n\
         path = \"mods\"\nargs = {args}\n[pool]\n{pool}\n[sweep]\n{sweep}\n"
    )
}

const ASYNCIO: &str = "kind = \"python_asyncio\"";

/// `tasks_per_trial` calls per trial, 3 trials, no timed warm-up (one call per task slot).
const EXACT: &str = "threads = [1, 3]\ntrials = 3\ntasks_per_trial = 7\nwarmup_ms = 0";

fn pooltune(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pooltune"))
        .args(args)
        .current_dir(cwd)
        .env("POOLTUNE_PRESETS", manifest_dir().join("presets"))
        .output()
        .expect("pooltune runs")
}

/// `pooltune <command> --preset <preset> --format json <extra>`: the exit code, the result
/// and stderr.
fn run_json(
    command: &str,
    preset: &Path,
    extra: &[&str],
    cwd: &Path,
) -> (Option<i32>, serde_json::Value, String) {
    let mut args = vec![
        command,
        "--preset",
        preset.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend(extra);
    let out = pooltune(&args, cwd);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|err| panic!("no JSON result ({err}); stderr: {stderr}"));
    (out.status.code(), json, stderr)
}

fn points(json: &serde_json::Value) -> &Vec<serde_json::Value> {
    json["points"].as_array().expect("points")
}

#[test]
fn an_async_function_makes_exactly_the_calls_asked_never_more_than_n_at_once() {
    if common::python_or_skip().is_none() {
        return;
    }
    let folder = Folder::new();
    // Each call awaits 30 ms, long enough that every slot fills before the first returns.
    let preset = folder.preset(
        "p.toml",
        &sweep_file("awork:counted", &folder.counted_args(30), ASYNCIO, EXACT),
    );
    let (code, json, stderr) = run_json("sweep", &preset, &[], folder.dir.path());
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(json["preset"]["pool"]["kind"], "python_asyncio");
    for point in points(&json) {
        assert_eq!(point["error"], serde_json::Value::Null);
        assert_eq!(point["tasks_per_trial"], 7.0);
        assert_eq!(point["trials"], 3);
    }
    let calls = folder.calls();
    // The warm-up awaits one call per slot; each of 3 trials makes 7 calls.
    let at_one = 1 + 3 * 7;
    assert_eq!(calls.len(), at_one + 3 + 3 * 7, "{calls:?}");
    // N = 1 awaits one call at a time; N = 3 reaches 3 in flight and never 4.
    assert_eq!(calls[..at_one].iter().max(), Some(&1), "{calls:?}");
    assert_eq!(calls[at_one..].iter().max(), Some(&3), "{calls:?}");
}

#[test]
fn an_awaited_sleep_scales_with_the_tasks_in_flight() {
    if common::python_or_skip().is_none() {
        return;
    }
    let folder = Folder::new();
    let preset = folder.preset(
        "p.toml",
        &sweep_file(
            "awork:nap",
            "[20]",
            ASYNCIO,
            "threads = [1, 64]\ntrials = 3\ntrial_ms = 300\nwarmup_ms = 50",
        ),
    );
    let (code, json, stderr) = run_json("sweep", &preset, &[], folder.dir.path());
    assert_eq!(code, Some(0), "{stderr}");
    let throughput = |i: usize| points(&json)[i]["throughput_per_s"].as_f64().unwrap();
    let (one, many) = (throughput(0), throughput(1));
    // 64 awaits of 20 ms on one thread: Little's law gives 64 × the single task's rate; the
    // loop's own work (tens of µs per call) keeps it well below that on a busy machine, but
    // never near the flat line a blocking call would give.
    assert!(
        many > 10.0 * one,
        "64 in flight: {many:.0}/s, 1 in flight: {one:.0}/s"
    );
    let wall = points(&json)[0]["wall_time_per_task_us"].as_f64().unwrap();
    let cpu = points(&json)[0]["cpu_time_per_task_us"].as_f64().unwrap();
    assert!(wall >= 20_000.0, "a call awaits 20 ms: {wall}");
    assert!(cpu > 0.0 && cpu < wall / 5.0, "cpu {cpu} µs of {wall} µs");
}

#[test]
fn an_exception_in_a_coroutine_fails_the_point_with_its_last_line() {
    if common::python_or_skip().is_none() {
        return;
    }
    let folder = Folder::new();
    let preset = folder.preset("p.toml", &sweep_file("awork:boom", "[7]", ASYNCIO, EXACT));
    let (code, json, stderr) = run_json("sweep", &preset, &[], folder.dir.path());
    assert_eq!(code, Some(1), "every point failed: {stderr}");
    assert_eq!(
        points(&json).len(),
        2,
        "the series went on at the next count"
    );
    for point in points(&json) {
        assert_eq!(point["error"], "awork:boom raised ValueError: boom 7");
    }
}

#[test]
fn a_plain_function_on_asyncio_and_a_coroutine_on_threads_are_refused_before_any_call() {
    if common::python_or_skip().is_none() {
        return;
    }
    let folder = Folder::new();
    let args = folder.counted_args(0);
    let cases = [
        (
            "awork:plain",
            ASYNCIO,
            &[
                "awork:plain is a plain function (def), not a coroutine function (async def)",
                "make it `async def`",
            ][..],
        ),
        (
            "awork:counted",
            "kind = \"python_threads\"",
            &[
                "awork:counted is a coroutine function (async def)",
                "on python_threads only creates a coroutine object that never runs",
                "use pool = { kind = \"python_asyncio\" }",
            ],
        ),
        (
            "awork:counted",
            "kind = \"python_processes\"",
            &["on python_processes only creates a coroutine object"],
        ),
    ];
    for (call, pool, says) in cases {
        let preset = folder.preset("p.toml", &sweep_file(call, &args, pool, EXACT));
        let (_, json, stderr) = run_json("sweep", &preset, &[], folder.dir.path());
        assert!(
            points(&json).is_empty(),
            "{call} on {pool}: nothing measured"
        );
        for text in says {
            assert!(stderr.contains(text), "{call} on {pool}: {stderr}");
        }
        assert_eq!(folder.calls(), Vec::<usize>::new(), "{call}: no call made");
    }
}

/// A comparison of the script's io task on asyncio and on gevent, at 1 and 8 in flight.
const COROUTINES: &str = r#"schema_version = 1
name = "coroutines"
[sweep]
threads = [1, 8]
trials = 3
tasks_per_trial = 16
warmup_ms = 0

[[series]]
label = "asyncio"
kind = "python_asyncio"
task = "io"
compute_us = 100
wait_us = 20000

[[series]]
label = "gevent"
kind = "python_gevent"
task = "io"
compute_us = 100
wait_us = 20000
"#;

/// An interpreter that sees the standard library only (`python3 -S`: no site-packages), so
/// the not-installed path is taken whatever the machine has installed.
fn stdlib_only_python(dir: &Path, python: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("python3-stdlib-only");
    std::fs::write(
        &path,
        format!("#!/bin/sh\nexec '{}' -S \"$@\"\n", python.display()),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn series<'a>(json: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    json["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} series in {json}"))
}

#[test]
fn the_gevent_series_says_not_installed_without_failing_the_run() {
    let Some(python) = common::python_or_skip() else {
        return;
    };
    let folder = Folder::new();
    let preset = folder.preset("c.toml", COROUTINES);
    let bare = stdlib_only_python(folder.dir.path(), &python);
    let (code, json, stderr) = run_json(
        "compare",
        &preset,
        &["--python", bare.to_str().unwrap()],
        folder.dir.path(),
    );
    assert_eq!(code, Some(0), "a series not run is no failure: {stderr}");
    let gevent = series(&json, "python_gevent");
    assert_eq!(gevent["points"].as_array().unwrap().len(), 0);
    let error = gevent["error"].as_str().unwrap();
    assert!(error.contains("gevent is not installed for"), "{error}");
    assert!(error.ends_with("(pip install gevent)"), "{error}");
    assert!(stderr.contains("(pip install gevent)"), "{stderr}");
    // The asyncio series beside it ran: 16 tasks a trial, and 8 in flight beat 1.
    let asyncio = series(&json, "python_asyncio");
    let points = asyncio["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "{asyncio}");
    for point in points {
        assert_eq!(point["tasks_per_trial"], 16.0);
    }
    let throughput = |i: usize| points[i]["throughput_per_s"].as_f64().unwrap();
    assert!(throughput(1) > 3.0 * throughput(0), "{asyncio}");
}

#[test]
fn the_gevent_series_runs_a_pool_of_greenlets_where_gevent_is_installed() {
    let Some(python) = common::python_or_skip() else {
        return;
    };
    let has_gevent = Command::new(&python)
        .args(["-c", "import gevent"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !has_gevent {
        eprintln!("skipped: gevent is not importable by {}", python.display());
        return;
    }
    let folder = Folder::new();
    let preset = folder.preset("c.toml", COROUTINES);
    let (code, json, stderr) = run_json("compare", &preset, &[], folder.dir.path());
    assert_eq!(code, Some(0), "{stderr}");
    let gevent = series(&json, "python_gevent");
    assert_eq!(gevent["error"], serde_json::Value::Null, "{gevent}");
    let points = gevent["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    for point in points {
        assert_eq!(point["tasks_per_trial"], 16.0);
    }
    let throughput = |i: usize| points[i]["throughput_per_s"].as_f64().unwrap();
    assert!(throughput(1) > 3.0 * throughput(0), "{gevent}");
}

#[test]
fn the_shipped_asyncio_presets_parse_and_the_io_comparison_has_coroutine_series() {
    let presets = manifest_dir().join("presets");
    for name in ["python-asyncio-sleep.toml", "python-asyncio-compute.toml"] {
        let text = std::fs::read_to_string(presets.join(name)).unwrap();
        let preset = pooltune::spec::parse(&text, &presets.join(name))
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(preset.pool.kind_name(), "python_asyncio", "{name}");
    }
    let io = pooltune::spec::load_comparison(&presets.join("compare-gil-io.toml")).unwrap();
    let kinds: Vec<&str> = io.series.iter().map(|s| s.kind.as_str()).collect();
    assert!(kinds.contains(&"python_threads"), "{kinds:?}");
    assert!(kinds.contains(&"python_processes"), "{kinds:?}");
    assert!(kinds.contains(&"python_asyncio"), "{kinds:?}");
    assert!(kinds.contains(&"python_gevent"), "{kinds:?}");
}

#[test]
fn pooltune_cost_gives_pythons_coroutine_rows_and_switch_costs() {
    let Some(python) = common::python_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = pooltune(
        &[
            "cost",
            "--threads",
            "1",
            "--processes",
            "1",
            "--tasks",
            "1000,4000",
            "--round-trips",
            "1000",
            "--python",
            python.to_str().unwrap(),
            "--format",
            "json",
        ],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["python_error"], serde_json::Value::Null, "{stderr}");
    for key in ["python_asyncio_tasks", "python_generators"] {
        let entries = json[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {json}"));
        let workers: Vec<u64> = entries
            .iter()
            .map(|e| e["workers"].as_u64().unwrap())
            .collect();
        assert_eq!(workers, [1000, 4000], "{key}");
        for entry in entries {
            assert!(
                entry["start_latency_p50_us"].as_f64().unwrap() >= 0.0,
                "{entry}"
            );
            assert!(entry["stop_ms"].as_f64().unwrap() >= 0.0, "{entry}");
            assert_eq!(entry["error"], serde_json::Value::Null, "{entry}");
        }
    }
    // 4000 asyncio tasks hold megabytes: measured, and more than a generator each.
    let at = |key: &str| json[key][1]["rss_per_worker_bytes"].as_f64().unwrap();
    assert!(
        at("python_asyncio_tasks") > at("python_generators"),
        "{json}"
    );
    let switches = json["switches"].as_array().unwrap();
    let rate = |kind: &str| {
        switches
            .iter()
            .find(|s| s["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} switch in {switches:?}"))["switches_per_s"]
            .as_f64()
            .unwrap()
    };
    for kind in ["python_thread", "python_asyncio_task", "python_generator"] {
        assert!(rate(kind) > 0.0, "{kind}");
    }
    // A generator's `send` stays in the interpreter; a thread hand-off goes through the kernel.
    assert!(rate("python_generator") > rate("python_thread"));
}
