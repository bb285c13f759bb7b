//! The app with the user's own workloads (issue 12 §5), driven through its labelled widgets:
//! the source picker and each source's fields, a program not found marked before Run, and
//! consent: the lines shown above Run, the question before the first run of a file the app
//! did not write, asked once per file content, never for a preset saved in this app.

#![cfg(feature = "gui")] // the app is built only with the gui feature
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::time::Duration;

use common::{app_with, restart, retype, type_into, wait_for};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use pooltune::app::{AppOptions, PooltuneApp};
use pooltune::spec::{CommandLine, PoolSpec, WorkloadSpec};

fn app() -> Harness<'static, PooltuneApp> {
    app_with(AppOptions::default())
}

fn pick(harness: &mut Harness<'static, PooltuneApp>, combo: &str, choice: &str) {
    harness.get_by_label(combo).click();
    harness.run_ok();
    harness.get_by_label(choice).click();
    harness.run_ok();
}

fn run_enabled(harness: &Harness<'static, PooltuneApp>) -> bool {
    !harness.get_by_label("Run").accesskit_node().is_disabled()
}

fn shows(harness: &Harness<'static, PooltuneApp>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

#[test]
fn a_program_not_found_is_marked_before_run() {
    let mut harness = app();
    pick(&mut harness, "Source", "program");
    assert!(matches!(
        harness.state().draft().preset.workload,
        WorkloadSpec::Command(_)
    ));
    retype(
        &mut harness,
        "Command line",
        "pooltune-no-such-program -T{threads} 'a file'",
    );
    let WorkloadSpec::Command(command) = &harness.state().draft().preset.workload else {
        panic!("not a command workload");
    };
    assert_eq!(
        command.run,
        CommandLine::Argv(vec![
            "pooltune-no-such-program".into(),
            "-T{threads}".into(),
            "a file".into()
        ])
    );
    // Marked in place, and Run refuses, naming the field and the PATH searched.
    assert!(
        !run_enabled(&harness),
        "Run is enabled for a missing program"
    );
    assert!(shows(&harness, "`workload.run` = pooltune-no-such-program"));
    assert!(shows(&harness, "searched PATH: "));
    harness.get_by_label("Run").click();
    harness.run_ok();
    assert!(harness.state().session().runs().is_empty());
    // A program that is there: Run may start (the lines are shown above it).
    retype(&mut harness, "Command line", "sh -c 'exit 0'");
    assert!(run_enabled(&harness), "{:?}", harness.state().notice());
    assert!(shows(&harness, "This preset runs:"));
    assert!(shows(&harness, "run: sh -c 'exit 0'"));
    // Typed here: no question.
    harness.get_by_label("Run").click();
    harness.run_ok();
    assert!(harness.state().asking().is_none());
    assert_eq!(harness.state().session().runs().len(), 1);
    wait_for(
        &mut harness,
        "the run to end",
        Duration::from_secs(60),
        |app| !app.is_running(),
    );
}

#[test]
fn each_source_offers_its_own_fields_and_pools() {
    let mut harness = app();
    pick(&mut harness, "Source", "Python function");
    let preset = &harness.state().draft().preset;
    assert!(matches!(preset.workload, WorkloadSpec::Python(_)));
    assert_eq!(preset.pool, PoolSpec::PythonThreads, "a CPython pool");
    pick(&mut harness, "Kind", "python_processes");
    pick(&mut harness, "Start method", "spawn");
    assert_eq!(
        harness.state().draft().preset.pool,
        PoolSpec::PythonProcesses {
            start_method: pooltune::spec::StartMethod::Spawn,
            chunk_size: 1
        }
    );
    retype(&mut harness, "Function", "mymodule:work");
    retype(&mut harness, "Arguments", "[1, \"two\"]");
    let WorkloadSpec::Python(call) = &harness.state().draft().preset.workload else {
        panic!("not a python workload");
    };
    assert_eq!(call.call, "mymodule:work");
    assert_eq!(call.args, [serde_json::json!(1), serde_json::json!("two")]);
    // Half-typed JSON is kept as typed and leaves the arguments as they were.
    retype(&mut harness, "Arguments", "[1, ");
    let WorkloadSpec::Python(call) = &harness.state().draft().preset.workload else {
        panic!("not a python workload");
    };
    assert_eq!(call.args.len(), 2);
    assert!(
        harness.query_all_by_value("[1, ").next().is_some(),
        "the text typed is kept"
    );
    // An interpreter that is not there is marked before Run.
    retype(&mut harness, "Interpreter", "pooltune-no-such-python");
    assert!(!run_enabled(&harness));
    assert!(shows(
        &harness,
        "`workload.interpreter` = pooltune-no-such-python"
    ));

    // A command per task runs on pooltune's thread pools: the process pool is not offered.
    pick(&mut harness, "Source", "command per task");
    assert!(matches!(
        harness.state().draft().preset.workload,
        WorkloadSpec::Exec(_)
    ));
    assert_eq!(harness.state().draft().preset.pool, PoolSpec::Rayon);
    harness.get_by_label("Kind").click();
    harness.run_ok();
    assert!(harness.query_by_label("queue").is_some());
    assert!(harness.query_by_label("process").is_none());
    harness.get_by_label("queue").click();
    harness.run_ok();
    type_into(&mut harness, "Inputs", "corpus/*.txt");
    let WorkloadSpec::Exec(exec) = &harness.state().draft().preset.workload else {
        panic!("not an exec workload");
    };
    assert_eq!(exec.inputs.as_deref(), Some("corpus/*.txt"));

    // A program is its own pool; back to a built-in workload, the pool is pooltune's again.
    pick(&mut harness, "Source", "program");
    assert!(shows(&harness, "the program runs its own threads"));
    pick(&mut harness, "Source", "built-in workload");
    assert_eq!(
        harness.state().draft().preset.workload.kind_name(),
        "cpu",
        "the first built-in kind"
    );
}

const EXEC_PRESET: &str = r#"schema_version = 1
name = "true per task"
description = "Runs true once per task."

[workload]
kind = "exec"
run = ["true"]

[pool]
kind = "queue"

[sweep]
threads = [1]
trials = 3
tasks_per_trial = 4
warmup_ms = 0
"#;

fn load(harness: &mut Harness<'static, PooltuneApp>, path: &Path) {
    retype(harness, "Load from", &path.display().to_string());
    harness.get_by_label("Load preset").click();
    harness.run_ok();
    let notice = harness.state().notice().cloned().unwrap();
    assert!(!notice.error, "{}", notice.text);
}

fn click_run(harness: &mut Harness<'static, PooltuneApp>) {
    harness.get_by_label("Run").click();
    harness.run_ok();
}

fn runs(harness: &Harness<'static, PooltuneApp>) -> usize {
    harness.state().session().runs().len()
}

fn wait_idle(harness: &mut Harness<'static, PooltuneApp>) {
    wait_for(harness, "the run to end", Duration::from_secs(60), |app| {
        !app.is_running()
    });
}

#[test]
fn a_file_not_written_here_is_asked_about_once_per_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("true.toml");
    std::fs::write(&path, EXEC_PRESET).unwrap();
    let mut harness = app();
    load(&mut harness, &path);
    // The lines are above Run before anything runs.
    assert!(shows(&harness, "This preset runs:"));
    assert!(shows(&harness, "run, each task: true"));
    assert!(shows(&harness, "not run before: Run asks first"));

    // Run asks instead of running; Cancel runs nothing.
    click_run(&mut harness);
    let ask = harness.state().asking().cloned().expect("Run asks first");
    assert_eq!(ask.file.path, path);
    assert_eq!(ask.lines[0].line, "run, each task: true");
    assert!(shows(&harness, "Run this preset's commands?"));
    assert_eq!(runs(&harness), 0);
    harness.get_by_label("Cancel").click();
    harness.run_ok();
    assert!(harness.state().asking().is_none());
    assert_eq!(runs(&harness), 0, "Cancel ran something");

    // Asked again, allowed: it runs, and the content is remembered.
    click_run(&mut harness);
    assert!(
        harness.state().asking().is_some(),
        "Cancel is not an answer for good"
    );
    harness.get_by_label("Run them").click();
    harness.run_ok();
    assert!(harness.state().asking().is_none());
    assert_eq!(runs(&harness), 1);
    assert!(
        harness
            .state()
            .trusted_files()
            .contains(&ask.file.content_hash)
    );
    wait_idle(&mut harness);
    // The same content runs at once, even after a restart.
    click_run(&mut harness);
    assert!(harness.state().asking().is_none());
    assert_eq!(runs(&harness), 2);
    wait_idle(&mut harness);
    let mut harness = restart(&mut harness);
    assert!(
        shows(&harness, "you allowed this file before"),
        "the remembered draft keeps its file"
    );
    load(&mut harness, &path);
    click_run(&mut harness);
    assert!(harness.state().asking().is_none());
    assert_eq!(runs(&harness), 1);
    wait_idle(&mut harness);

    // The file changed: a new content, asked about again.
    std::fs::write(
        &path,
        EXEC_PRESET.replace("[\"true\"]", "[\"sh\", \"-c\", \"true\"]"),
    )
    .unwrap();
    load(&mut harness, &path);
    click_run(&mut harness);
    assert!(
        harness.state().asking().is_some(),
        "a changed file ran unasked"
    );
    assert!(shows(&harness, "run, each task: sh -c true"));
    assert_eq!(runs(&harness), 1);
}

#[test]
fn a_preset_saved_in_this_app_runs_without_asking() {
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("theirs.toml");
    std::fs::write(&theirs, EXEC_PRESET).unwrap();
    let mine = dir.path().join("mine.toml");
    let mut harness = app();
    load(&mut harness, &theirs);
    retype(&mut harness, "Save to", &mine.display().to_string());
    harness.get_by_label("Save preset").click();
    harness.run_ok();
    let notice = harness.state().notice().cloned().unwrap();
    assert!(!notice.error, "{}", notice.text);
    // Saved here: its code runs without asking, loaded again or not.
    click_run(&mut harness);
    assert!(harness.state().asking().is_none());
    assert_eq!(runs(&harness), 1);
    wait_idle(&mut harness);
    load(&mut harness, &mine);
    assert!(shows(&harness, "you allowed this file before"));
    click_run(&mut harness);
    assert!(harness.state().asking().is_none());
    assert_eq!(runs(&harness), 2);
    wait_idle(&mut harness);
    // The file it came from is still not allowed.
    load(&mut harness, &theirs);
    click_run(&mut harness);
    assert!(harness.state().asking().is_some());
}

#[test]
fn a_comparison_from_a_file_not_written_here_asks_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cmp.toml");
    std::fs::write(
        &path,
        r#"schema_version = 1
name = "true per task, compared"

[sweep]
threads = [1]
trials = 3
tasks_per_trial = 4
warmup_ms = 0

[[series]]
label = "true"
kind = "custom"
workload = { kind = "exec", run = ["true"] }
pool = { kind = "queue" }
"#,
    )
    .unwrap();
    let mut harness = app();
    harness.get_by_label("Compare").click();
    harness.run_ok();
    retype(&mut harness, "Comparison file", &path.display().to_string());
    harness.get_by_label("Load comparison").click();
    harness.run_ok();
    assert!(shows(&harness, "true, run, each task: true"));
    harness.get_by_label("Run comparison").click();
    harness.run_ok();
    let ask = harness.state().asking().cloned().expect("Run asks first");
    assert_eq!(ask.file.path, path);
    assert!(harness.state().compare().data().is_none(), "it ran unasked");
    harness.get_by_label("Run them").click();
    harness.run_ok();
    assert!(harness.state().asking().is_none());
    assert!(
        harness.state().compare().data().is_some(),
        "Run them ran nothing"
    );
    wait_for(
        &mut harness,
        "the comparison to end",
        Duration::from_secs(60),
        |app| !app.compare().is_running(),
    );
}
