//! The model as a user of `pooltune sweep` sees it: the `recommendation` object in the JSON,
//! the sentence under the table, and the `--utilization` and `--p99-target-us` flags.

use std::path::PathBuf;
use std::process::{Command, Output};

fn pooltune(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pooltune"))
        .args(args)
        .output()
        .expect("pooltune runs")
}

fn tiny() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tiny.toml")
        .to_string_lossy()
        .into_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn json_has_a_recommendation_with_the_documented_fields() {
    let out = pooltune(&[
        "sweep",
        "--preset",
        &tiny(),
        "--threads",
        "1,2,3,4",
        "--format",
        "json",
        "--utilization",
        "0.5",
        "--p99-target-us",
        "1000000000",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json["points"].is_array(),
        "the result is still at the top level"
    );
    let rec = &json["recommendation"];
    for field in [
        "formula_threads",
        "measured_wait_over_compute",
        "configured_wait_over_compute",
        "best_measured_threads",
        "recommended_threads",
        "within_noise_threads",
        "explanation",
        "usl",
        "usl_unavailable_reason",
        "cpus",
        "utilization_target",
        "code",
    ] {
        assert!(
            rec.get(field).is_some(),
            "recommendation.{field} missing: {rec}"
        );
    }
    let recommended = rec["recommended_threads"].as_u64().unwrap();
    assert!((1..=4).contains(&recommended), "{rec}");
    assert_eq!(rec["utilization_target"], 0.5);
    // A CPU workload: configured W = 0, so W/C is 0.
    assert_eq!(rec["configured_wait_over_compute"], 0.0);
    assert!(rec["measured_wait_over_compute"].as_f64().unwrap() >= 0.0);
    // Four distinct thread counts: the fit runs, and is either an answer or refused with a
    // reason (CPU work on a 2-CPU machine is flat past 2 threads: nothing to explain).
    if rec["usl"].is_null() {
        let reason = rec["usl_unavailable_reason"].as_str().unwrap();
        assert!(
            reason.contains("nothing") || reason.contains("does not describe"),
            "{reason}"
        );
    } else {
        for field in ["sigma", "kappa", "lambda", "n_star", "r_squared"] {
            assert!(
                rec["usl"].get(field).is_some(),
                "usl.{field} missing: {rec}"
            );
        }
        assert!(rec["usl_unavailable_reason"].is_null());
    }
    // 3 trials per count: the Welch test runs, and the recommendation is within noise.
    let within: Vec<u64> = rec["within_noise_threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(within.contains(&recommended), "{rec}");
    for field in ["usable", "physical", "logical"] {
        assert!(rec["cpus"][field].as_u64().unwrap() >= 1, "cpus.{field}");
    }
    // Every count meets a 1000 s p99 target, so the target changes nothing.
    assert_eq!(rec["latency_target"]["threads"], recommended);
    let explanation = rec["explanation"].as_str().unwrap();
    assert!(
        explanation.starts_with(&format!("Use {recommended} thread")),
        "{explanation}"
    );
}

#[test]
fn table_ends_with_the_recommendation_and_says_why_there_is_no_fit() {
    // The fixture measures 2 thread counts: too few for the fit. `--wide`: every line whole,
    // as a file has it (at a terminal's width the sentence wraps).
    let out = pooltune(&["sweep", "--preset", &tiny(), "--wide"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // On a busy machine the sentence starts with the warnings ("Warning: other processes
    // used ..."), then the answer.
    let sentence = stdout
        .lines()
        .find_map(|l| l.strip_prefix("recommendation: "))
        .unwrap_or_else(|| panic!("no recommendation line: {stdout}"));
    let answer = sentence.find("Use ").map(|at| &sentence[..at]);
    assert!(
        answer.is_some_and(|before| before.is_empty() || before.starts_with("Warning: ")),
        "{stdout}"
    );
    assert!(stdout.contains("\n  recommended threads: "), "{stdout}");
    assert!(
        stdout.contains("\n  formula: N = N_cpu × U × (1 + W/C) = "),
        "{stdout}"
    );
    assert!(
        stdout.contains("USL fit: unavailable: the scalability fit needs throughput measured at 4 or more distinct thread counts, and this sweep has 2 (1, 2)"),
        "{stdout}"
    );
}

#[test]
fn bad_model_flags_exit_2_before_running() {
    for args in [
        ["--utilization", "1.5"],
        ["--utilization", "0"],
        ["--p99-target-us", "0"],
    ] {
        let out = pooltune(&["sweep", "--preset", &tiny(), args[0], args[1]]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains(args[0]), "names the flag: {stderr}");
        assert!(
            stderr.contains("allowed is"),
            "says what is allowed: {stderr}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn code_is_the_json_recommendations_snippets_under_headings() {
    let json = pooltune(&["sweep", "--preset", &tiny(), "--format", "json"]);
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let recommended = json["recommendation"]["recommended_threads"]
        .as_u64()
        .unwrap();
    let code = json["recommendation"]["code"].as_array().unwrap();
    assert_eq!(code[0]["language"], "Rust (rayon)");
    let rayon = code[0]["snippet"].as_str().unwrap();
    assert!(
        rayon.contains(&format!(".num_threads({recommended})")),
        "{rayon}"
    );

    // Another run may recommend another count, so `--format code` is checked on its own
    // terms: every snippet under its heading, for the count it names.
    let out = pooltune(&["sweep", "--preset", &tiny(), "--format", "code"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let first = stdout.lines().next().unwrap();
    let count: usize = first
        .strip_prefix("tiny: the recommended ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count in {first:?}"));
    let headings: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("--- ")?.strip_suffix(" ---"))
        .collect();
    let languages: Vec<&str> = code
        .iter()
        .map(|snippet| snippet["language"].as_str().unwrap())
        .collect();
    assert_eq!(headings, languages, "{stdout}");
    assert!(
        stdout.contains(&format!("RAYON_NUM_THREADS={count} ./your-program\n")),
        "{stdout}"
    );
}

#[test]
fn cost_refuses_format_code_before_running() {
    let out = pooltune(&["cost", "--format", "code", "--no-python"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: --format code")
            && stderr.contains("table, json, csv and markdown"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing was measured or written");
}
