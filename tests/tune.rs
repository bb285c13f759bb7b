//! `pooltune tune` as a user runs it: a real short run on a blocking workload, its JSON
//! fields, the table, and the refusals (a pool it cannot resize, a format it does not write).

use std::path::PathBuf;

use assert_cmd::Command;

const BLOCKING: &str = "schema_version = 1\nname = \"tune test: blocking 1 ms / 4 ms\"\n\
    [workload]\nkind = \"blocking\"\ncompute_us = 1000\nwait_us = 4000\n\
    [pool]\nkind = \"queue\"\nqueue_capacity = 64\nchunk_size = 1\n\
    [sweep]\nthreads_range = { from = 1, to = 32, step = \"geometric\", by = 2 }\ntrials = 3\ntrial_ms = 100\n";

fn preset(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("preset.toml");
    std::fs::write(&path, text).expect("write preset");
    path
}

fn pooltune() -> Command {
    Command::cargo_bin("pooltune").expect("the pooltune binary")
}

#[test]
fn a_real_short_run_writes_the_trajectory_as_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = preset(&dir, BLOCKING);
    let out = dir.path().join("tune.json");
    pooltune()
        .args(["tune", "--seconds", "1.5", "--format", "json", "--out"])
        .arg(&out)
        .arg("--preset")
        .arg(&path)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).expect("the --out file");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(json["controller"], "pooltune");
    assert_eq!(json["name"], "tune test: blocking 1 ms / 4 ms");
    assert_eq!(json["min_threads"], 1);
    assert_eq!(json["max_threads"], 32);
    let samples = json["samples"].as_array().expect("samples[]");
    assert!(samples.len() >= 5, "{} samples", samples.len());
    // It starts from 1 thread and moves up while throughput rises.
    assert_eq!(samples[0]["threads"], 1);
    let most = samples
        .iter()
        .filter_map(|s| s["threads"].as_u64())
        .max()
        .unwrap_or(0);
    assert!(most >= 4, "never grew past {most} threads");
    let mut last_t = 0.0;
    for sample in samples {
        let t = sample["t_s"].as_f64().expect("t_s");
        assert!(t > last_t, "t_s not increasing");
        last_t = t;
        assert!(sample["throughput_per_s"].as_f64().expect("throughput") >= 0.0);
        assert!(sample.get("latency_p99_us").is_some());
    }
    // A task takes 5 ms: any p99 below that was not measured around the task.
    let p99 = samples[2]["latency_p99_us"]
        .as_f64()
        .expect("p99 of a busy sample");
    assert!(p99 >= 4_500.0, "p99 {p99} µs for a 5 ms task");
    let settled = json["settled_threads"].as_u64().expect("settled_threads");
    assert!((1..=32).contains(&settled));
    assert!(json["settled_throughput_per_s"].as_f64().expect("settled") > 0.0);
    assert!(json.get("time_to_within_5pct_s").is_some());
    let completed = json["tasks_completed"].as_u64().expect("tasks_completed");
    assert!(completed > 100, "{completed} tasks");
    assert_eq!(json["stopped"], false);
    assert!(json["failure"].is_null());
}

#[test]
fn the_table_says_where_it_settled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = preset(&dir, BLOCKING);
    let output = pooltune()
        .args(["tune", "--seconds", "0.5", "--preset"])
        .arg(&path)
        .output()
        .expect("run pooltune");
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("threads"), "{text}");
    assert!(text.contains("pooltune settled at"), "{text}");
}

#[test]
fn a_process_pool_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = BLOCKING.replace(
        "kind = \"queue\"\nqueue_capacity = 64\nchunk_size = 1",
        "kind = \"process\"",
    );
    let path = preset(&dir, &text);
    let output = pooltune()
        .args(["tune", "--seconds", "0.5", "--preset"])
        .arg(&path)
        .output()
        .expect("run pooltune");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("pool.kind") && err.contains("queue, rayon, spawn"),
        "{err}"
    );
}

#[test]
fn formats_other_than_table_and_json_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = preset(&dir, BLOCKING);
    let output = pooltune()
        .args(["tune", "--format", "csv", "--preset"])
        .arg(&path)
        .output()
        .expect("run pooltune");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("allowed: table, json"));
}
