//! The app's Compare tab driven as a user would, through its labelled widgets (no GPU, no
//! display): load a comparison, run it, watch each series' points reach the chart data and
//! the table, stop one midway, and load a bad file. The comparisons are the tiny test fixture
//! (50 µs tasks, a few trials), so each test takes seconds; the Python series run on the
//! machine's python3 when there is one and say plainly that it is missing when there is not.

#![cfg(feature = "gui")] // the app is built only with the gui feature

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{app_with, export_json_and_csv, manifest_dir, restart, retype, type_into, wait_for};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use pooltune::app::{AppOptions, PooltuneApp};
use pooltune::spec::SeriesKind;
use pooltune::ui::compare::{CompareView, view_series};
use pooltune::ui::format;
use pooltune::ui::session::RunStatus;

fn tiny_path() -> PathBuf {
    manifest_dir().join("tests/fixtures/compare-tiny.toml")
}

/// The app on the Compare tab, without the monitor thread.
fn app() -> Harness<'static, PooltuneApp> {
    let mut harness = app_with(AppOptions::default());
    harness.get_by_label("Compare").click();
    harness.run_ok();
    harness
}

fn load(harness: &mut Harness<'static, PooltuneApp>, path: &std::path::Path) {
    type_into(harness, "Comparison file", &path.display().to_string());
    harness.get_by_label("Load comparison").click();
    harness.run_ok();
}

fn on_screen(harness: &Harness<'static, PooltuneApp>, text: &str) -> bool {
    harness.query_all_by_label(text).next().is_some()
}

#[test]
fn a_comparison_runs_and_every_series_reaches_the_chart_and_the_table() {
    let mut harness = app();
    load(&mut harness, &tiny_path());
    let tiny = pooltune::spec::load_comparison(&tiny_path()).unwrap();
    assert_eq!(harness.state().compare().comparison(), Some(&tiny));
    assert!(harness.state().compare().load_error().is_none());

    harness.get_by_label("Run comparison").click();
    harness.run_ok();
    assert!(harness.state().compare().is_running());
    wait_for(
        &mut harness,
        "the comparison to finish",
        Duration::from_secs(180),
        |app| !app.compare().is_running(),
    );

    let data = harness.state().compare().data().unwrap().clone();
    assert_eq!(data.status, RunStatus::Finished);
    assert_eq!(data.thread_counts, [1, 2]);
    assert_eq!(data.series.len(), tiny.series.len());
    let machine = data.machine.as_ref().expect("the machine is known");
    // The CPU counts are marked on the chart (in its legend, with the line's style).
    let marker = if machine.physical_cpus == machine.logical_cpus {
        format!(
            "{} CPUs (physical = logical): dotted vertical line",
            machine.logical_cpus
        )
    } else {
        format!(
            "{} logical CPUs: dotted vertical line",
            machine.logical_cpus
        )
    };
    assert!(on_screen(&harness, &marker), "no marker {marker}");

    for series in &data.series {
        if series.kind.is_python() && common::python_or_skip().is_none() {
            // Without Python the series says so, plainly, beside the chart.
            let error = series
                .error
                .as_deref()
                .expect("a missing Python is reported");
            assert!(on_screen(&harness, error), "{error} is not shown");
            continue;
        }
        assert_eq!(series.error, None, "{}", series.label);
        let threads: Vec<usize> = series.points.iter().map(|p| p.threads).collect();
        assert_eq!(threads, [1, 2], "{}", series.label);
        if series.kind.is_python() {
            // Python series are labelled with their interpreter and GIL state.
            let interpreter = series.interpreter.as_ref().unwrap();
            assert!(
                series.label.contains(&interpreter.describe()),
                "{}",
                series.label
            );
            assert!(series.label.contains("GIL on"), "{}", series.label);
        }
        // The chart draws the points as measured ...
        assert_eq!(
            view_series(series, CompareView::Throughput),
            series
                .points
                .iter()
                .map(|p| [p.threads as f64, p.throughput_per_s])
                .collect::<Vec<_>>()
        );
        // ... and the table shows each of them as it formats them.
        for point in &series.points {
            let cell = format::rate(point.throughput_per_s);
            assert!(on_screen(&harness, &cell), "no table cell reads {cell}");
        }
    }
    // The series' labels are on screen (the table's header and the list).
    assert!(on_screen(&harness, &data.series[0].label));

    // The speedup view: every measured series starts at 1.00× at one thread.
    harness.get_by_label("speedup").click();
    harness.run_ok();
    assert_eq!(harness.state().compare().fields.view, CompareView::Speedup);
    assert!(on_screen(&harness, "1.00×"));
    let rust = &data.series[0];
    assert_eq!(rust.kind, SeriesKind::Rust);
    let speedup = view_series(rust, CompareView::Speedup);
    assert_eq!(speedup[0], [1.0, 1.0]);
    let two = rust.points[1].throughput_per_s / rust.points[0].throughput_per_s;
    assert!((speedup[1][1] - two).abs() < 1e-12);
    harness.get_by_label("efficiency").click();
    harness.run_ok();
    assert!(on_screen(&harness, "100%"));
    let result = data.result.as_ref().expect("the finished result");
    assert!(!result.outcome.cancelled);

    // Export, in the formats of `pooltune compare --format json|csv`, where the field says.
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("gil");
    let (json, csv) = export_json_and_csv(&mut harness, &base);
    let series = json["series"].as_array().expect("series[]");
    assert_eq!(series.len(), result.series.len());
    for (written, kept) in series.iter().zip(&result.series) {
        assert_eq!(written["label"], kept.label.as_str());
        assert_eq!(written["kind"], kept.kind.as_str());
        let threads: Vec<u64> = written["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["threads"].as_u64().unwrap())
            .collect();
        let kept_threads: Vec<u64> = kept.points.iter().map(|p| p.threads as u64).collect();
        assert_eq!(threads, kept_threads, "{}", kept.label);
    }
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            pooltune::export::comparison_csv_columns()
                .join(",")
                .as_str()
        )
    );
    let points: usize = result.series.iter().map(|s| s.points.len()).sum();
    assert_eq!(lines.count(), points);
}

#[test]
fn a_comparison_is_saved_as_a_preset_and_remembered_across_restarts() {
    let mut harness = app();
    load(&mut harness, &tiny_path());
    let tiny = pooltune::spec::load_comparison(&tiny_path()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.toml");

    // Saved with the thread counts typed, as a comparison preset that loads back equal.
    retype(&mut harness, "Thread counts", "1, 3");
    retype(&mut harness, "Save to", &path.display().to_string());
    harness.get_by_label("Save comparison").click();
    harness.run_ok();
    let notice = harness
        .state()
        .notice()
        .expect("the save is reported")
        .clone();
    assert!(!notice.error, "{}", notice.text);
    let mut expected = tiny.clone();
    expected.sweep.threads = Some(vec![1, 3]);
    expected.sweep.threads_range = None;
    assert_eq!(pooltune::spec::load_comparison(&path).unwrap(), expected);

    // Thread counts that cannot run are not saved, and the file stays as it was.
    let before = std::fs::read(&path).unwrap();
    retype(&mut harness, "Thread counts", "0");
    harness.get_by_label("Save comparison").click();
    harness.run_ok();
    let notice = harness
        .state()
        .notice()
        .expect("the refusal is shown")
        .clone();
    assert!(notice.error, "{}", notice.text);
    assert!(notice.text.contains("sweep.threads"), "{}", notice.text);
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // The loaded comparison, the fields and the view come back after a restart.
    retype(&mut harness, "Thread counts", "1, 3");
    retype(&mut harness, "Python", "/usr/bin/python3");
    harness.get_by_label("speedup").click();
    harness.run_ok();
    let restored = restart(&mut harness);
    let tab = restored.state().compare();
    assert_eq!(tab.comparison(), Some(&tiny));
    assert_eq!(tab.fields.threads_text, "1, 3");
    assert_eq!(tab.fields.python_text, "/usr/bin/python3");
    assert_eq!(tab.fields.save_path, path.display().to_string());
    assert_eq!(tab.fields.view, CompareView::Speedup);
    assert_eq!(
        restored.state().persisted().tab,
        pooltune::app::TabId::Compare
    );
}

#[test]
fn stop_keeps_the_finished_points() {
    let mut harness = app();
    load(&mut harness, &tiny_path());
    // Eight thread counts of longer trials: seconds of work, so Stop lands midway.
    harness.state_mut().compare_mut().fields.threads_text = "1, 2, 3, 4, 5, 6, 7, 8".into();
    if let Some(comparison) = harness.state_mut().compare_mut().comparison_mut() {
        comparison.sweep.tasks_per_trial = Some(400);
    }
    harness.run_ok();
    // Space runs the comparison on the Compare tab (no text field has the keyboard).
    harness.key_press(egui::Key::Space);
    harness.run_ok();
    assert!(
        harness.state().compare().is_running(),
        "Space did not run it"
    );
    wait_for(
        &mut harness,
        "the first point",
        Duration::from_secs(180),
        |app| {
            app.compare()
                .data()
                .is_some_and(|d| d.series.iter().any(|s| !s.points.is_empty()))
        },
    );
    // Points appear as they arrive, before the comparison is over.
    let live = harness
        .state()
        .compare()
        .data()
        .and_then(|d| d.series.iter().find_map(|s| s.points.first()))
        .map(|p| format::rate(p.throughput_per_s))
        .unwrap();
    assert!(harness.state().compare().is_running());
    assert!(on_screen(&harness, &live), "{live} is not in the table yet");
    harness.get_by_label("Stop comparison").click();
    harness.run_ok();
    wait_for(
        &mut harness,
        "the comparison to stop",
        Duration::from_secs(180),
        |app| !app.compare().is_running(),
    );

    let data = harness.state().compare().data().unwrap().clone();
    assert_eq!(data.status, RunStatus::Stopped);
    let result = data.result.as_ref().unwrap();
    assert!(result.outcome.cancelled);
    let measured: usize = data.series.iter().map(|s| s.points.len()).sum();
    assert!(
        (1..8 * data.series.len()).contains(&measured),
        "{measured} points"
    );
    for (shown, kept) in data.series.iter().zip(&result.series) {
        assert_eq!(shown.points, kept.points);
    }
    let first = data
        .series
        .iter()
        .find_map(|s| s.points.first())
        .unwrap()
        .throughput_per_s;
    assert!(on_screen(&harness, &format::rate(first)));
    assert!(on_screen(
        &harness,
        "Stopped; the points measured are kept."
    ));
    // The Run button is back.
    assert!(
        !harness
            .get_by_label("Run comparison")
            .accesskit_node()
            .is_disabled()
    );
}

#[test]
fn a_bad_comparison_file_shows_its_error_in_place_and_changes_nothing() {
    let mut harness = app();
    load(&mut harness, &tiny_path());
    let before = harness.state().compare().comparison().cloned();
    let bad = manifest_dir().join("tests/fixtures/compare-bad/duplicate-label.toml");
    harness.get_by_label("Comparison file").focus();
    harness.run_ok();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness
        .get_by_label("Comparison file")
        .type_text(&bad.display().to_string());
    harness.run_ok();
    harness.get_by_label("Load comparison").click();
    harness.run_ok();

    let error = harness
        .state()
        .compare()
        .load_error()
        .expect("an error is shown")
        .to_owned();
    assert!(error.contains("duplicate-label.toml"), "{error}");
    assert!(error.contains("series[2].label"), "{error}");
    // On screen, in the tab, not only in the state.
    harness.get_by_label_contains("series[2].label");
    assert_eq!(harness.state().compare().comparison().cloned(), before);

    // A bad thread list disables Run, with the reason beside it.
    harness.state_mut().compare_mut().fields.threads_text = "1, lots".into();
    harness.run_ok();
    assert!(
        harness
            .get_by_label("Run comparison")
            .accesskit_node()
            .is_disabled()
    );
    harness.get_by_label_contains("Cannot run: `sweep.threads`");
}

/// "Run on: via PREFIX" beside "Run comparison" runs it through the prefix (`taskset -c 0`,
/// with this build's pooltune first on the PATH): the far side's machine (1 usable CPU) is the
/// one recorded, the Rust series measure every count, and the "Python" field is passed on as
/// a path there (a missing one fails its series there, by name).
#[test]
fn a_comparison_via_a_prefix_records_that_machine() {
    let mut harness = app();
    load(&mut harness, &tiny_path());
    type_into(&mut harness, "Python", "/no/such/python3");
    harness.get_by_label("Run on").click();
    harness.run_ok();
    harness.get_by_label("via").click();
    harness.run_ok();
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_pooltune"))
        .parent()
        .unwrap()
        .display()
        .to_string();
    type_into(
        &mut harness,
        "PREFIX",
        &format!("env PATH={bin_dir}:$PATH taskset -c 0"),
    );
    harness.get_by_label("Run comparison").click();
    harness.run_ok();
    assert!(harness.state().compare().is_running());
    wait_for(
        &mut harness,
        "the comparison via the prefix to finish",
        Duration::from_secs(180),
        |app| !app.compare().is_running(),
    );
    let data = harness.state().compare().data().unwrap().clone();
    assert_eq!(data.status, RunStatus::Finished);
    assert_eq!(data.machine.as_ref().unwrap().usable_cpus, 1);
    let result = data.result.as_ref().unwrap();
    assert_eq!(result.machine.usable_cpus, 1);
    for series in &data.series {
        match series.kind {
            SeriesKind::PythonThreads | SeriesKind::PythonProcesses => {
                let error = series.error.as_deref().expect("the series says why");
                assert!(error.contains("/no/such/python3"), "{error}");
            }
            _ => assert_eq!(series.points.len(), 2, "{}", series.label),
        }
    }
}

#[test]
fn a_missing_python_fails_its_series_plainly_and_the_rust_series_run() {
    let mut harness = app();
    load(&mut harness, &tiny_path());
    type_into(&mut harness, "Python", "/no/such/python3");
    harness.get_by_label("Run comparison").click();
    harness.run_ok();
    wait_for(
        &mut harness,
        "the comparison to finish",
        Duration::from_secs(180),
        |app| !app.compare().is_running(),
    );
    let data = harness.state().compare().data().unwrap().clone();
    for series in &data.series {
        match series.kind {
            SeriesKind::PythonThreads | SeriesKind::PythonProcesses => {
                assert!(series.points.is_empty(), "{}", series.label);
                let error = series.error.as_deref().expect("the series says why");
                assert!(error.contains("/no/such/python3"), "{error}");
                // The advice names the app's field, not the command line's flag.
                assert!(error.contains("the \"Python\" field"), "{error}");
                assert!(!error.contains("--python"), "{error}");
                assert!(on_screen(&harness, error), "{error} is not shown");
            }
            _ => assert_eq!(series.points.len(), 2, "{}", series.label),
        }
    }
}

#[test]
fn a_comparison_given_at_start_opens_the_compare_tab_and_runs() {
    let tiny = pooltune::spec::load_comparison(&tiny_path()).unwrap();
    let mut harness = app_with(AppOptions {
        comparison: Some(tiny.clone()),
        run_at_start: true,
        ..AppOptions::default()
    });
    harness.run_ok();
    assert_eq!(
        harness.state().persisted().tab,
        pooltune::app::TabId::Compare
    );
    assert!(harness.state().compare().is_running() || harness.state().compare().has_ended());
    wait_for(
        &mut harness,
        "the comparison to finish",
        Duration::from_secs(180),
        |app| app.compare().has_ended(),
    );
    // The sweep side did not run.
    assert!(harness.state().session().runs().is_empty());
    assert_eq!(harness.state().compare().comparison(), Some(&tiny));
}

/// `pooltune open comparison.json cost.json`: the window opens on the Compare tab (the first
/// file's) with the comparison shown as the stopped run it was, of the machine it was measured on,
/// and the worker-cost figures wait on their tab, each saying the file and the machine.
#[test]
fn an_opened_comparison_and_worker_cost_show_on_their_tabs_with_their_machine() {
    let export = manifest_dir().join("tests/fixtures/export");
    let opened = ["comparison.json", "cost.json"]
        .into_iter()
        .map(|name| {
            let path = export.join(name);
            let result = pooltune::result::open::open(&path).unwrap();
            (path, result)
        })
        .collect();
    let mut harness = app_with(AppOptions {
        opened,
        ..AppOptions::default()
    });
    harness.run_ok();
    let app = harness.state();
    assert_eq!(app.shown_tab(), pooltune::app::TabId::Compare);
    let data = app.compare().data().expect("the comparison is shown");
    // The golden comparison was stopped (`"cancelled": true`), and reads back so.
    assert_eq!(data.status, RunStatus::Stopped);
    assert_eq!(data.opened_from, Some(export.join("comparison.json")));
    assert_eq!(data.series.len(), 3);
    assert_eq!(
        data.series[2].error.as_deref(),
        Some("not run: no `python3` on PATH")
    );
    assert_eq!(
        view_series(&data.series[0], CompareView::Throughput),
        [[1.0, 500.0], [2.0, 1000.0]]
    );
    let machine = "test-host · test CPU · 2 usable CPUs, 2 physical, 4 logical";
    harness.get_by_label(&format!(
        "Opened from {} · measured on {machine}",
        export.join("comparison.json").display()
    ));
    let cost = harness.state().cost();
    assert_eq!(cost.opened_from, Some(export.join("cost.json")));
    let entries: usize = pooltune::cost::WorkerKind::ALL
        .iter()
        .map(|&kind| cost.result.as_ref().unwrap().entries(kind).len())
        .sum();
    assert_eq!(cost.measured.len(), entries);
    harness.get_by_label("Worker cost").click();
    harness.run_ok();
    harness.get_by_label(&format!(
        "Opened from {} · measured on {machine}",
        export.join("cost.json").display()
    ));
}
