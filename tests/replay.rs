//! `pooltune replay` as a user runs it: the table and the JSON on a measured sweep result
//! (`tests/fixtures/replay/blocking-wc31.json`, written by `pooltune sweep` on
//! `blocking-wc31.toml`), the same seed giving the same replay, and bad files refused with a
//! message that names the file and what to do.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use assert_cmd::Command;
use common::fixture;
use predicates::prelude::*;

fn replay(args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("pooltune").unwrap();
    cmd.arg("replay").args(args);
    cmd
}

fn json_of(args: &[&str]) -> serde_json::Value {
    let out = replay(args).arg("--format").arg("json").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn table_names_every_controller_with_its_figures() {
    let result = fixture("replay/blocking-wc31.json");
    replay(&["--result", &result, "--seconds", "20"])
        .assert()
        .success()
        .stdout(predicate::str::contains("best 1396/s at 24 threads"))
        .stdout(predicate::str::contains("time to 5%"))
        .stdout(
            predicate::str::contains("dotnet-hill-climbing")
                .and(predicate::str::contains("netflix-gradient2"))
                .and(predicate::str::contains("netflix-vegas"))
                .and(predicate::str::contains("aimd"))
                .and(predicate::str::contains("pooltune")),
        );
}

#[test]
fn json_has_each_trajectory_and_the_same_seed_repeats() {
    let result = fixture("replay/blocking-wc31.json");
    let args = [
        "--result",
        &result,
        "--controller",
        "dotnet-hill-climbing,aimd",
        "--seconds",
        "30",
    ];
    let first = json_of(&args);
    let controllers = first["controllers"].as_array().unwrap();
    assert_eq!(controllers.len(), 2);
    assert_eq!(controllers[0]["controller"], "dotnet-hill-climbing");
    assert_eq!(controllers[1]["controller"], "aimd");
    for c in controllers {
        let samples = c["samples"].as_array().unwrap();
        assert!(!samples.is_empty());
        let last_t = samples.last().unwrap()["t_s"].as_f64().unwrap();
        assert!((30.0..30.5).contains(&last_t), "{last_t}");
        for s in samples {
            for key in ["t_s", "threads", "throughput_per_s", "latency_p99_us"] {
                assert!(s.get(key).is_some(), "{key} missing in {s}");
            }
        }
        let lost = c["throughput_lost_share"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&lost), "{lost}");
    }
    // AIMD adds one thread per 1 s window from its initial limit 20.
    let aimd: Vec<u64> = controllers[1]["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["threads"].as_u64().unwrap())
        .collect();
    assert_eq!(&aimd[..3], &[20, 21, 22]);
    assert_eq!(first, json_of(&args), "same seed, same replay");
    let mut other = args.to_vec();
    other.extend(["--seed", "2"]);
    assert_ne!(
        first["controllers"][0]["samples"],
        json_of(&other)["controllers"][0]["samples"]
    );
}

#[test]
fn bad_files_and_flags_are_refused_with_what_to_do() {
    replay(&["--result", &fixture("replay/bad/one-point.json")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "one-point.json: 1 measured point(s); a replay needs at least 2",
        ));
    replay(&["--result", &fixture("replay/bad/cut-short.json")])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--result").and(predicate::str::contains("cut-short.json")),
        );
    replay(&["--result", &fixture("export/cost.json")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a sweep"));
    replay(&["--result", &fixture("replay/missing.json")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "missing.json: could not read the file",
        ));
    let result = fixture("replay/blocking-wc31.json");
    replay(&["--result", &result, "--seconds", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--seconds 0"));
    replay(&["--result", &result, "--format", "csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("table or json"));
}
