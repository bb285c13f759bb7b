//! `pooltune compare` as a user runs it: bad comparison files exit 2 with one line naming the
//! problem, a missing Python fails only its series, the formats carry every series, and the
//! two kinds of preset are told apart by every command.

mod common;

use common::{fixture, manifest_dir};

use std::process::{Command, Output};

fn pooltune(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pooltune"))
        .args(args)
        .env("POOLTUNE_PRESETS", manifest_dir().join("presets"))
        .output()
        .expect("pooltune runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_bad_comparison_exits_2_and_names_the_problem() {
    common::check_bad_fixtures(
        &manifest_dir().join("tests/fixtures/compare-bad"),
        12,
        |file| pooltune(&["compare", "--preset", file.to_str().unwrap()]),
    );
}

#[test]
fn a_parse_error_in_a_series_gives_the_line() {
    let out = pooltune(&[
        "compare",
        "--preset",
        &fixture("compare-bad/unknown-series-key.toml"),
    ]);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("unknown-series-key.toml:14:"), "{stderr}");
}

#[test]
fn each_command_points_to_the_other_for_the_other_kind() {
    let out = pooltune(&["sweep", "--preset", &fixture("compare-tiny.toml")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("pooltune compare"),
        "{}",
        text(&out.stderr)
    );
    let out = pooltune(&["compare", "--preset", &fixture("tiny.toml")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("pooltune sweep"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn presets_lists_both_kinds() {
    let out = pooltune(&["presets"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(!stdout.contains("unreadable"), "{stdout}");
    for name in ["compare-gil-cpu.toml", "compare-gil-io.toml"] {
        let line = stdout
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{stdout}"));
        assert!(line.contains("comparison: pooltune compare"), "{line}");
    }
    let line = stdout
        .lines()
        .find(|l| l.contains("cpu-bound.toml"))
        .unwrap();
    assert!(line.contains("sweep: pooltune sweep"), "{line}");
}

#[test]
fn without_python_the_rust_series_run_and_the_result_says_what_is_missing() {
    let out = pooltune(&[
        "compare",
        "--preset",
        &fixture("compare-tiny.toml"),
        "--format",
        "json",
        "--python",
        "/no/such/python3",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let series = json["series"].as_array().unwrap();
    assert_eq!(series.len(), 4);
    let kinds: Vec<&str> = series.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "rust",
            "simulated_gil",
            "python_threads",
            "python_processes"
        ]
    );
    for rust in &series[..2] {
        assert!(rust["error"].is_null(), "{rust}");
        let points = rust["points"].as_array().unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[1]["threads"], 2);
        assert!(points[1]["throughput_per_s"].as_f64().unwrap() > 0.0);
    }
    for python in &series[2..] {
        assert!(python["points"].as_array().unwrap().is_empty());
        let error = python["error"].as_str().unwrap();
        assert!(error.contains("/no/such/python3 does not exist"), "{error}");
    }
    assert!(json["machine"]["logical_cpus"].as_u64().unwrap() >= 1);
    assert!(json["machine"]["physical_cpus"].as_u64().unwrap() >= 1);
    assert_eq!(json["preset"]["name"], "tiny comparison");
    // Said once on stderr as it happened, too.
    assert!(stderr.contains("Python threads: "), "{stderr}");
}

#[test]
fn with_python_every_series_runs_in_every_format() {
    if common::python_or_skip().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("out.csv");
    let out = pooltune(&[
        "compare",
        "--preset",
        &fixture("compare-tiny.toml"),
        "--format",
        "csv",
        "--out",
        csv_path.to_str().unwrap(),
        "--threads",
        "1,2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("series,label,kind,threads,"), "{header}");
    assert!(header.ends_with(",speedup,efficiency"), "{header}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 8, "4 series × 2 thread counts:\n{csv}");
    assert!(rows.iter().any(|r| r.contains("python_processes")), "{csv}");
    assert!(
        rows.iter()
            .any(|r| r.contains("GIL on") || r.contains("GIL off")),
        "{csv}"
    );

    let out = pooltune(&["compare", "--preset", &fixture("compare-tiny.toml")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.contains("speedup X(N)/X(1) by series"), "{table}");
    assert!(table.contains("[4] Python processes (CPython"), "{table}");
    assert!(table.contains("efficiency"), "{table}");
}

/// Two series that never ran are said as such ("2 series did not run"), not as "all 2 points
/// failed"; the run exits 1 and the result is written (issue 10, item 8's plurals).
#[test]
fn series_that_never_ran_are_counted_as_series() {
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("unrun.toml");
    let series = |label: &str| {
        format!(
            "[[series]]\nlabel = \"{label}\"\nkind = \"python_threads\"\ntask = \"cpu\"\n\
             compute_us = 50\ninterpreter = \"/no/such/python3\"\n"
        )
    };
    std::fs::write(
        &preset,
        format!(
            "schema_version = 1\nname = \"unrun\"\n[sweep]\nthreads = [1]\ntrials = 3\n\
             tasks_per_trial = 6\nwarmup_ms = 0\n\n{}\n{}",
            series("P1"),
            series("P2")
        ),
    )
    .unwrap();
    let out_file = dir.path().join("out.json");
    let out = pooltune(&[
        "compare",
        "--preset",
        preset.to_str().unwrap(),
        "--out",
        out_file.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: nothing was measured: 2 series did not run (the first: "),
        "{stderr}"
    );
    assert!(!stderr.contains("points failed"), "{stderr}");
    assert!(out_file.exists(), "the result is written");
}
