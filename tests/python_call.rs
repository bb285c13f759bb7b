//! A user's own Python function (`kind = "python"`) as a user runs it, through `pooltune
//! sweep` and `pooltune compare` on a real CPython: exact call counts on every pool, an
//! exception's and a failed import's last line reaching the point, a function a process pool
//! cannot be handed refused before any call, the interpreter pool refused with the version
//! found (or run, on 3.14+), measured W/C of a waiting function, processes ahead of threads on
//! a pure-Python loop, a relative `path` found from the preset's folder, and a Python
//! function beside a Rust series in one comparison. Each test skips without python3 (fails
//! under `POOLTUNE_REQUIRE_PYTHON=1`).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::manifest_dir;

/// A module the tests call: each call of `counted` appends one line to the file `marks`
/// (its process id), so the calls are counted from outside, whatever pool made them.
const MODULE: &str = r#"
import os, time

def counted(marks, pause_ms):
    with open(marks, "a") as f:
        f.write("%d\n" % os.getpid())
    if pause_ms:
        time.sleep(pause_ms / 1000.0)

def boom(n):
    print("the function's own output, which must not break the lines")
    raise ValueError("boom %d" % n)

def loop(iterations):
    x = 1
    for _ in range(iterations):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x

def wait(ms):
    time.sleep(ms / 1000.0)

def _make():
    def inner(marks, pause_ms):
        counted(marks, pause_ms)
    return inner

nested = _make()
as_lambda = lambda marks, pause_ms: counted(marks, pause_ms)
"#;

/// A folder with the test module (`work.py`) in `mods/`, for presets written beside it.
struct Folder {
    dir: tempfile::TempDir,
}

impl Folder {
    fn new() -> Folder {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("mods")).unwrap();
        std::fs::write(dir.path().join("mods/work.py"), MODULE).unwrap();
        Folder { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the preset `name` with `text` and returns its path.
    fn preset(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The calls `counted` recorded so far.
    fn calls(&self) -> usize {
        std::fs::read_to_string(self.path("marks"))
            .map(|text| text.lines().count())
            .unwrap_or(0)
    }
}

/// A sweep file running `call` with `args` on `pool` (a TOML inline table's inside), with
/// `path` (the module's folder) as written.
fn sweep_file(call: &str, args: &str, path: &str, pool: &str, sweep: &str) -> String {
    format!(
        "schema_version = 1\nname = \"test\"\n[workload]\nkind = \"python\"\ncall = \"{call}\"\n\
         path = \"{path}\"\nargs = {args}\n[pool]\n{pool}\n[sweep]\n{sweep}\n"
    )
}

/// `tasks_per_trial` calls per trial, 3 trials, no timed warm-up (one chunk per worker).
const EXACT: &str = "threads = [1, 3]\ntrials = 3\ntasks_per_trial = 7\nwarmup_ms = 0";

fn pooltune(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pooltune"))
        .args(args)
        .current_dir(cwd)
        .env("POOLTUNE_PRESETS", manifest_dir().join("presets"))
        .output()
        .expect("pooltune runs")
}

/// `pooltune sweep --format json` of `preset`, run from `cwd`: the exit code, the result and
/// stderr.
fn sweep_json(preset: &Path, cwd: &Path) -> (Option<i32>, serde_json::Value, String) {
    let out = pooltune(
        &[
            "sweep",
            "--preset",
            preset.to_str().unwrap(),
            "--format",
            "json",
        ],
        cwd,
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|err| panic!("no JSON result ({err}); stderr: {stderr}"));
    (out.status.code(), json, stderr)
}

fn points(json: &serde_json::Value) -> &Vec<serde_json::Value> {
    json["points"].as_array().expect("points")
}

fn error_of(point: &serde_json::Value) -> Option<&str> {
    point["error"].as_str()
}

#[test]
fn every_pool_makes_exactly_the_calls_asked() {
    if common::python_or_skip().is_none() {
        return;
    }
    let pools = [
        ("kind = \"python_threads\"", 1),
        (
            "kind = \"python_processes\"\nstart_method = \"forkserver\"\nchunk_size = 2",
            2,
        ),
        (
            "kind = \"python_processes\"\nstart_method = \"spawn\"\nchunk_size = 1",
            1,
        ),
        (
            "kind = \"python_processes\"\nstart_method = \"fork\"\nchunk_size = 3",
            3,
        ),
    ];
    for (pool, chunk_size) in pools {
        let folder = Folder::new();
        let marks = folder.path("marks");
        let args = format!("[\"{}\", 0]", marks.display());
        let preset = folder.preset(
            "p.toml",
            &sweep_file("work:counted", &args, "mods", pool, EXACT),
        );
        let (code, json, stderr) = sweep_json(&preset, folder.dir.path());
        assert_eq!(code, Some(0), "{pool}: {stderr}");
        for point in points(&json) {
            assert_eq!(error_of(point), None, "{pool}");
            assert_eq!(point["tasks_per_trial"], 7.0, "{pool}");
            assert_eq!(point["trials"], 3, "{pool}");
        }
        // The warm-up hands one chunk to each worker; each of 3 trials makes 7 calls.
        let expected: usize = [1, 3].iter().map(|t| t * chunk_size + 3 * 7).sum();
        assert_eq!(folder.calls(), expected, "{pool}");
        let kind = json["preset"]["pool"]["kind"].as_str().unwrap().to_owned();
        assert!(pool.contains(&kind), "{pool}: {kind}");
    }
}

#[test]
fn an_exception_fails_the_point_with_the_tracebacks_last_line() {
    if common::python_or_skip().is_none() {
        return;
    }
    for pool in ["kind = \"python_threads\"", "kind = \"python_processes\""] {
        let folder = Folder::new();
        let preset = folder.preset(
            "p.toml",
            &sweep_file("work:boom", "[7]", "mods", pool, EXACT),
        );
        let (code, json, stderr) = sweep_json(&preset, folder.dir.path());
        assert_eq!(code, Some(1), "every point failed: {stderr}");
        let points = points(&json);
        assert_eq!(
            points.len(),
            2,
            "{pool}: the series went on at the next count"
        );
        for point in points {
            assert_eq!(
                error_of(point),
                Some("work:boom raised ValueError: boom 7"),
                "{pool}"
            );
        }
        assert!(stderr.contains("ValueError: boom 7"), "{stderr}");
    }
}

#[test]
fn a_missing_function_or_module_fails_the_point_naming_it() {
    if common::python_or_skip().is_none() {
        return;
    }
    let folder = Folder::new();
    for (call, says) in [
        (
            "work:nope",
            "could not import work:nope: AttributeError: module 'work' has no attribute 'nope'",
        ),
        (
            "no_such_module:f",
            "could not import no_such_module:f: ModuleNotFoundError: No module named 'no_such_module'",
        ),
    ] {
        let preset = folder.preset(
            "p.toml",
            &sweep_file(call, "[]", "mods", "kind = \"python_threads\"", EXACT),
        );
        let (code, json, stderr) = sweep_json(&preset, folder.dir.path());
        assert_eq!(code, Some(1), "{stderr}");
        for point in points(&json) {
            assert_eq!(error_of(point), Some(says));
        }
    }
}

#[test]
fn a_function_a_process_pool_cannot_be_handed_is_refused_before_any_call() {
    if common::python_or_skip().is_none() {
        return;
    }
    for (call, says) in [
        ("work:as_lambda", "<lambda>"),
        ("work:nested", "local object '_make.<locals>.inner'"),
    ] {
        let folder = Folder::new();
        let marks = folder.path("marks");
        let args = format!("[\"{}\", 0]", marks.display());
        let pool = "kind = \"python_processes\"";
        let preset = folder.preset("p.toml", &sweep_file(call, &args, "mods", pool, EXACT));
        let (_, json, stderr) = sweep_json(&preset, folder.dir.path());
        assert!(points(&json).is_empty(), "{call}: nothing measured");
        assert!(
            stderr.contains(&format!("{call} cannot be pickled for python_processes")),
            "{stderr}"
        );
        assert!(stderr.contains(says), "{stderr}");
        assert!(stderr.contains("top level of its module"), "{stderr}");
        assert_eq!(folder.calls(), 0, "{call}: refused before any call");
        // The same function runs on threads, which are handed it as it is.
        let threads = folder.preset(
            "t.toml",
            &sweep_file(call, &args, "mods", "kind = \"python_threads\"", EXACT),
        );
        let (code, _, stderr) = sweep_json(&threads, folder.dir.path());
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(folder.calls(), 1 + 3 + 2 * 3 * 7);
    }
}

#[test]
fn the_interpreter_pool_runs_where_cpython_has_one_and_is_refused_with_the_version_elsewhere() {
    let Some(python) = common::python_or_skip() else {
        return;
    };
    let version = Command::new(&python)
        .args([
            "-c",
            "import platform, concurrent.futures as f; print(platform.python_version(), hasattr(f, 'InterpreterPoolExecutor'))",
        ])
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    let (version, has_pool) = version.trim().split_once(' ').unwrap();
    let folder = Folder::new();
    let preset = folder.preset(
        "p.toml",
        &sweep_file(
            "work:wait",
            "[1]",
            "mods",
            "kind = \"python_interpreters\"",
            EXACT,
        ),
    );
    let (code, json, stderr) = sweep_json(&preset, folder.dir.path());
    if has_pool == "True" {
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(points(&json).len(), 2);
    } else {
        assert!(points(&json).is_empty());
        assert!(
            stderr.contains(&format!(
                "InterpreterPoolExecutor is not in Python {version} (it came in CPython 3.14)"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn a_waiting_function_measures_its_wait_and_a_loop_scales_on_processes_only() {
    if common::python_or_skip().is_none() {
        return;
    }
    let folder = Folder::new();
    // W/C of a 20 ms sleep: its CPU is the call's own bookkeeping, far below the wait.
    let preset = folder.preset(
        "wait.toml",
        &sweep_file(
            "work:wait",
            "[20]",
            "mods",
            "kind = \"python_threads\"",
            "threads = [1]\ntrials = 3\ntasks_per_trial = 5\nwarmup_ms = 0",
        ),
    );
    let (code, json, stderr) = sweep_json(&preset, folder.dir.path());
    assert_eq!(code, Some(0), "{stderr}");
    let point = &points(&json)[0];
    let wall = point["wall_time_per_task_us"].as_f64().unwrap();
    let cpu = point["cpu_time_per_task_us"].as_f64().unwrap();
    assert!(wall >= 20_000.0, "a call sleeps 20 ms: {wall}");
    assert!(cpu > 0.0 && cpu < wall / 5.0, "cpu {cpu} µs of {wall} µs");
    // A pure-Python loop on 2 workers: threads share one GIL, processes have one each. On a
    // loaded machine a comparison may be disturbed: measured again, up to 3 times.
    let comparison = folder.preset(
        "loop.toml",
        "schema_version = 1\nname = \"loop\"\n[sweep]\nthreads = [2]\ntrials = 3\ntrial_ms = 400\nwarmup_ms = 200\n\
         [[series]]\nlabel = \"threads\"\nkind = \"python_threads\"\n\
         workload = { kind = \"python\", call = \"work:loop\", path = \"mods\", args = [40000] }\n\
         [[series]]\nlabel = \"processes\"\nkind = \"python_processes\"\n\
         workload = { kind = \"python\", call = \"work:loop\", path = \"mods\", args = [40000] }\n",
    );
    let mut ratios = Vec::new();
    for _ in 0..3 {
        let out = pooltune(
            &[
                "compare",
                "--preset",
                comparison.to_str().unwrap(),
                "--format",
                "json",
            ],
            folder.dir.path(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let throughput = |i: usize| {
            json["series"][i]["points"][0]["throughput_per_s"]
                .as_f64()
                .unwrap_or_else(|| panic!("series {i}: {}", json["series"][i]))
        };
        let ratio = throughput(1) / throughput(0);
        ratios.push(ratio);
        if ratio > 1.2 {
            return;
        }
    }
    panic!("processes were not ahead of threads at 2 workers: ratios {ratios:?}");
}

#[test]
fn a_relative_path_is_relative_to_the_presets_folder() {
    if common::python_or_skip().is_none() {
        return;
    }
    let folder = Folder::new();
    let marks = folder.path("marks");
    let args = format!("[\"{}\", 0]", marks.display());
    let preset = folder.preset(
        "p.toml",
        &sweep_file(
            "work:counted",
            &args,
            "mods",
            "kind = \"python_threads\"",
            EXACT,
        ),
    );
    // Run from elsewhere: `mods` is found beside the preset, not in the current directory.
    let elsewhere = tempfile::tempdir().unwrap();
    let (code, json, stderr) = sweep_json(&preset, elsewhere.path());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(points(&json).iter().all(|p| error_of(p).is_none()));
    assert!(folder.calls() > 0);
}

#[test]
fn a_python_function_runs_beside_a_rust_series_in_a_comparison() {
    if common::python_or_skip().is_none() {
        return;
    }
    let folder = Folder::new();
    let marks = folder.path("marks");
    let comparison = folder.preset(
        "c.toml",
        &format!(
            "schema_version = 1\nname = \"mixed\"\n[sweep]\nthreads = [1, 2]\ntrials = 3\ntasks_per_trial = 4\nwarmup_ms = 0\n\
             [[series]]\nlabel = \"Rust\"\nkind = \"rust\"\nworkload = {{ kind = \"cpu\", compute_us = 50 }}\n\
             [[series]]\nlabel = \"My function\"\nkind = \"python_processes\"\n\
             workload = {{ kind = \"python\", call = \"work:counted\", path = \"mods\", args = [\"{}\", 0] }}\n\
             pool = {{ kind = \"python_processes\", start_method = \"fork\" }}\n",
            marks.display()
        ),
    );
    let out = pooltune(
        &[
            "compare",
            "--preset",
            comparison.to_str().unwrap(),
            "--format",
            "json",
        ],
        folder.dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let series = json["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(series[1]["kind"], "python_processes");
    assert!(
        series[1]["label"]
            .as_str()
            .unwrap()
            .starts_with("My function (CPython "),
        "{}",
        series[1]["label"]
    );
    assert!(series[1]["interpreter"]["gil_enabled"].is_boolean());
    for one in series {
        let points = one["points"].as_array().unwrap();
        assert_eq!(points.len(), 2, "{}", one["label"]);
        assert!(points.iter().all(|p| p["error"].is_null()), "{}", one);
    }
    assert_eq!(folder.calls(), (1 + 3 * 4) + (2 + 3 * 4));
}

#[test]
fn the_shipped_python_presets_run_from_any_folder() {
    if common::python_or_skip().is_none() {
        return;
    }
    let elsewhere = tempfile::tempdir().unwrap();
    for name in ["python-hash.toml", "python-sleep.toml"] {
        let preset = manifest_dir().join("presets").join(name);
        let out = pooltune(
            &[
                "sweep",
                "--preset",
                preset.to_str().unwrap(),
                "--threads",
                "2",
                "--format",
                "json",
            ],
            elsewhere.path(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            points(&json).iter().all(|p| error_of(p).is_none()),
            "{name}: {json}"
        );
    }
}
