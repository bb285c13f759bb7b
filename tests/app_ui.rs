//! The desktop app driven as a user would, through its labelled widgets: no GPU and no display
//! (egui_kittest feeds input events and reads the accessibility tree). The sweeps are shortened
//! to a few tiny trials so that each test takes seconds.

#![cfg(feature = "gui")] // the app is built only with the gui feature

mod common;

use std::time::Duration;

use common::{app_with, manifest_dir, restart, retype, type_into, wait_for};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use pooltune::app::{AppOptions, PooltuneApp};
use pooltune::spec::{self, WorkloadSpec};
use pooltune::ui::plots;
use pooltune::ui::results;
use pooltune::ui::session::{RunOrigin, RunStatus};

/// The app in a window of the README screenshot's size, without the monitor thread.
fn app() -> Harness<'static, PooltuneApp> {
    app_with(AppOptions::default())
}

/// Makes the sweep tiny: 200 µs tasks, `threads`, three trials of `tasks` tasks, no warm-up.
fn shorten(harness: &mut Harness<'static, PooltuneApp>, threads: &str, tasks: u64) {
    let draft = harness.state_mut().draft_mut();
    draft.threads_text = threads.to_owned();
    draft.preset.workload = WorkloadSpec::Cpu { compute_us: 200 };
    draft.preset.sweep.threads_range = None;
    draft.preset.sweep.trials = 3;
    draft.preset.sweep.trial_ms = None;
    draft.preset.sweep.tasks_per_trial = Some(tasks);
    draft.preset.sweep.warmup_ms = 0;
    harness.run_ok();
}

#[test]
fn a_shipped_preset_runs_into_the_table_and_the_plot() {
    let mut harness = app();
    // Pick the shipped CPU-bound preset from the picker.
    harness.get_by_label("Preset").click();
    harness.run_ok();
    harness
        .get_by_label("CPU-bound: 2 ms of computation")
        .click();
    harness.run_ok();
    let shipped = spec::load(&manifest_dir().join("presets/cpu-bound.toml")).unwrap();
    assert_eq!(harness.state().draft().preset, shipped);

    shorten(&mut harness, "1, 2", 40);
    harness.get_by_label("Run").click();
    harness.run_ok();
    assert!(harness.state().is_running());
    wait_for(
        &mut harness,
        "the sweep to finish",
        Duration::from_secs(120),
        |app| !app.is_running(),
    );

    let run = &harness.state().session().runs()[0];
    assert_eq!(
        run.status,
        RunStatus::Finished,
        "{:?}",
        harness.state().notice()
    );
    assert_eq!(run.name, shipped.name);
    let threads: Vec<usize> = run.points.iter().map(|p| p.threads).collect();
    assert_eq!(threads, [1, 2]);
    // Each point reached the table, as the table formats it ...
    for point in &run.points {
        assert!(point.is_ok(), "{point:?}");
        let cell = results::unit_rate(point.throughput_per_s, "tasks");
        assert!(
            !harness
                .query_all_by_label(&cell)
                .collect::<Vec<_>>()
                .is_empty(),
            "no table cell reads {cell}"
        );
    }
    // ... and the plot, as the plot draws it.
    let series = plots::throughput_series(run, false);
    assert_eq!(
        series,
        run.points
            .iter()
            .map(|p| [p.threads as f64, p.throughput_per_s])
            .collect::<Vec<_>>()
    );
    assert_eq!(
        plots::latency_series(run, false, true, pooltune::ui::axis::TimeUnit::Millis).len(),
        2
    );
    // The result is there to export.
    assert!(run.result.as_ref().is_some_and(|r| !r.outcome.cancelled));
}

#[test]
fn stop_keeps_the_finished_points() {
    let mut harness = app();
    type_into(
        &mut harness,
        "Load from",
        &manifest_dir()
            .join("tests/fixtures/tiny.toml")
            .display()
            .to_string(),
    );
    harness.get_by_label("Load preset").click();
    harness.run_ok();
    assert_eq!(harness.state().draft().preset.name, "tiny");
    // Eight thread counts of three 2000-task trials: seconds of work, so Stop lands mid-sweep.
    shorten(&mut harness, "1, 2, 3, 4, 5, 6, 7, 8", 2000);

    // Space starts the sweep (no text field has the keyboard once the last one is left).
    harness.get_by_label("Load from").focus();
    harness.run_ok();
    harness.event(egui::Event::Key {
        key: egui::Key::Escape,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: egui::Modifiers::NONE,
    });
    harness.run_ok();
    harness.key_press(egui::Key::Space);
    harness.run_ok();
    assert!(
        harness.state().is_running(),
        "Space did not start the sweep"
    );
    wait_for(
        &mut harness,
        "the first point",
        Duration::from_secs(120),
        |app| !app.session().runs()[0].points.is_empty(),
    );
    harness.get_by_label("Stop").click();
    harness.run_ok();
    wait_for(
        &mut harness,
        "the sweep to stop",
        Duration::from_secs(120),
        |app| !app.is_running(),
    );

    let run = &harness.state().session().runs()[0];
    assert_eq!(run.status, RunStatus::Stopped);
    assert!(
        (1..8).contains(&run.points.len()),
        "{} points",
        run.points.len()
    );
    assert!(run.points.iter().all(|p| p.is_ok()));
    let result = run.result.as_ref().unwrap();
    assert!(result.outcome.cancelled);
    assert_eq!(result.points, run.points);
    let first = results::unit_rate(run.points[0].throughput_per_s, "tasks");
    assert!(
        !harness
            .query_all_by_label(&first)
            .collect::<Vec<_>>()
            .is_empty(),
        "the first point is not in the table"
    );
    assert_eq!(plots::throughput_series(run, false).len(), run.points.len());
    // A stopped run can be removed, and the Run button is back.
    harness.get_by_label("Remove").click();
    harness.run_ok();
    assert!(harness.state().session().runs().is_empty());
    assert!(!harness.get_by_label("Run").accesskit_node().is_disabled());
}

/// "Run on: via PREFIX" runs the sweep through the prefix (here `taskset -c 0`, with this
/// build's pooltune first on the PATH): the points are drawn as they arrive, the result records
/// the far side's machine (1 usable CPU), Stop ends it there and leaves no child running, and
/// the choice is remembered.
#[test]
fn a_run_via_a_prefix_is_drawn_live_records_that_machine_and_stops() {
    let mut harness = app();
    shorten(&mut harness, "1, 2, 3, 4, 5, 6, 7, 8", 2000);
    harness.get_by_label("Run on").click();
    harness.run_ok();
    harness.get_by_label("via").click();
    harness.run_ok();
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_pooltune"))
        .parent()
        .unwrap()
        .display()
        .to_string();
    let prefix = format!("env PATH={bin_dir}:$PATH taskset -c 0");
    type_into(&mut harness, "PREFIX", &prefix);
    harness.get_by_label("Run").click();
    harness.run_ok();
    assert!(harness.state().is_running());
    wait_for(
        &mut harness,
        "the first point from the far side",
        Duration::from_secs(120),
        |app| !app.session().runs()[0].points.is_empty(),
    );
    assert!(harness.state().is_running(), "drawn while it runs");
    harness.get_by_label("Stop").click();
    harness.run_ok();
    wait_for(
        &mut harness,
        "the run via the prefix to stop",
        Duration::from_secs(60),
        |app| !app.is_running(),
    );
    let run = &harness.state().session().runs()[0];
    assert_eq!(
        run.status,
        RunStatus::Stopped,
        "{:?}",
        harness.state().notice()
    );
    let result = run.result.as_ref().unwrap();
    assert!(result.outcome.cancelled);
    assert_eq!(result.machine.usable_cpus, 1);
    assert!((1..8).contains(&result.points.len()));
    assert_eq!(plots::throughput_series(run, false).len(), run.points.len());
    // No far side is left: no child of this test runs `--events`.
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|ppid| ppid.parse::<u32>().ok());
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        assert!(
            !(ppid == Some(me) && String::from_utf8_lossy(&cmdline).contains("--events")),
            "a far side still runs: {}",
            entry.path().display()
        );
    }
    let remembered = harness.state().persisted().run_on;
    assert!(remembered.via);
    assert_eq!(remembered.prefix, prefix);
}

#[test]
fn a_bad_preset_file_shows_its_error_and_changes_nothing() {
    let mut harness = app();
    let before = harness.state().draft().clone();
    let bad = manifest_dir().join("tests/fixtures/bad/unknown-key.toml");
    type_into(&mut harness, "Load from", &bad.display().to_string());
    harness.get_by_label("Load preset").click();
    harness.run_ok();

    let notice = harness.state().notice().expect("an error is shown").clone();
    assert!(notice.error);
    assert!(notice.text.contains("unknown-key.toml"), "{}", notice.text);
    // The message is on screen, not only in the state.
    harness.get_by_label_contains("unknown-key.toml");
    assert_eq!(harness.state().draft(), &before);

    // A missing file is refused the same way.
    let missing = manifest_dir().join("tests/fixtures/no-such-preset.toml");
    harness.state_mut().draft_mut().preset.description = "edited".into();
    let edited = harness.state().draft().clone();
    harness.get_by_label("Load from").focus();
    harness.run_ok();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness
        .get_by_label("Load from")
        .type_text(&missing.display().to_string());
    harness.run_ok();
    harness.get_by_label("Load preset").click();
    harness.run_ok();
    assert!(
        harness
            .state()
            .notice()
            .is_some_and(|n| n.error && n.text.contains("no-such-preset.toml"))
    );
    assert_eq!(harness.state().draft(), &edited);
}

#[test]
fn an_invalid_value_disables_run_with_the_reason() {
    let mut harness = app();
    // A valid timed sweep says how long it will take beside Run: here 4 thread counts ×
    // (200 ms warm-up + 3 trials × 500 ms) = 6.8 s.
    harness.state_mut().draft_mut().threads_text = "1, 2, 3, 4".into();
    let sweep = &mut harness.state_mut().draft_mut().preset.sweep;
    (
        sweep.trials,
        sweep.trial_ms,
        sweep.warmup_ms,
        sweep.tasks_per_trial,
    ) = (3, Some(500), 200, None);
    harness.run_ok();
    harness.get_by_label("about 7 s");
    harness.state_mut().draft_mut().threads_text = "1, 2, lots".into();
    harness.run_ok();
    assert!(harness.get_by_label("Run").accesskit_node().is_disabled());
    harness.get_by_label_contains("Cannot run: `sweep.threads`");
    // The reason is shown twice: beside Run, and under the field itself.
    assert_eq!(
        harness
            .query_all_by_label_contains("\"lots\" is not allowed")
            .count(),
        2
    );
    harness.key_press(egui::Key::Space);
    harness.run_ok();
    assert!(!harness.state().is_running());
}

#[test]
fn saving_writes_a_preset_that_loads_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.toml");
    let mut harness = app();
    type_into(&mut harness, "Name", " (mine)");
    type_into(&mut harness, "Save to", &path.display().to_string());
    harness.get_by_label("Save preset").click();
    harness.run_ok();

    let saved = spec::load(&path).unwrap();
    let draft = harness.state().draft().checked(u64::MAX).unwrap();
    assert_eq!(saved, draft);
    assert!(saved.name.ends_with(" (mine)"), "{}", saved.name);

    // Edit, then Ctrl+O with the file in "Load from": the saved preset comes back whole.
    harness.state_mut().draft_mut().preset.workload = WorkloadSpec::Cpu { compute_us: 5 };
    type_into(&mut harness, "Load from", &path.display().to_string());
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    harness.run_ok();
    assert_eq!(harness.state().draft().preset, saved);

    // Ctrl+S writes the same file again (the "Save to" field still names it).
    std::fs::remove_file(&path).unwrap();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    harness.run_ok();
    assert_eq!(spec::load(&path).unwrap(), saved);
}

#[test]
fn the_configuration_and_theme_are_remembered_across_restarts() {
    let mut harness = app();
    harness.state_mut().draft_mut().threads_text = "1, 3".into();
    harness.state_mut().draft_mut().preset.workload = WorkloadSpec::Blocking {
        compute_us: 300,
        wait_us: 2700,
    };
    // Pick the light theme the way a user does.
    harness.get_by_label("Theme").click();
    harness.run_ok();
    harness.get_by_label("light").click();
    harness.run_ok();
    assert_eq!(harness.ctx.theme(), egui::Theme::Light);

    // What eframe writes on exit, read by a new window.
    let restored = restart(&mut harness);
    assert_eq!(restored.state().draft(), harness.state().draft());
    assert_eq!(restored.state().draft().threads_text, "1, 3");
    assert_eq!(restored.ctx.theme(), egui::Theme::Light);
}

#[test]
fn live_readings_reach_the_panel() {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 1000.0))
        .build_eframe(|cc| PooltuneApp::new(cc, AppOptions::default()));
    wait_for(
        &mut harness,
        "a live reading",
        Duration::from_secs(120),
        |app| !app.history().is_empty(),
    );
    let latest = harness.state().history().latest().unwrap().clone();
    harness.get_by_label_contains("Total CPU:");
    harness.get_by_label_contains("Memory used:");
    harness.get_by_label("pooltune threads");
    // The process's own figures are shown as read.
    let threads = latest
        .process_threads
        .expect("Linux counts a process's threads");
    harness.get_by_label(&threads.to_string());
    assert!(threads >= 2, "the monitor thread is one");
}

#[test]
fn two_runs_overlay_and_each_can_be_hidden_renamed_and_removed() {
    let mut harness = app();
    shorten(&mut harness, "1, 2", 20);
    for _ in 0..2 {
        harness.get_by_label("Run").click();
        harness.run_ok();
        wait_for(
            &mut harness,
            "the sweep to finish",
            Duration::from_secs(120),
            |app| !app.is_running(),
        );
    }
    let names: Vec<String> = harness
        .state()
        .session()
        .runs()
        .iter()
        .map(|r| r.name.clone())
        .collect();
    assert_eq!(
        names,
        [
            "CPU-bound: 1 ms of computation",
            "CPU-bound: 1 ms of computation (2)"
        ]
    );
    assert_eq!(harness.state().session().visible_runs().count(), 2);

    // Hide the first run from the plots.
    harness
        .get_by_label(&format!("Show {} on the plots", names[0]))
        .click();
    harness.run_ok();
    let visible: Vec<&str> = harness
        .state()
        .session()
        .visible_runs()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(visible, [names[1].as_str()]);

    // Rename the second: the new name is what the legend and the hover show.
    harness.get_by_label("Name of run 2").focus();
    harness.run_ok();
    harness.get_by_label("Name of run 2").type_text(" – after");
    harness.run_ok();
    assert_eq!(
        harness.state().session().runs()[1].name,
        format!("{} – after", names[1])
    );

    // Remove the first; the second stays, with its points.
    harness.get_all_by_label("Remove").next().unwrap().click();
    harness.run_ok();
    let runs = harness.state().session().runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].points.len(), 2);
}

#[test]
fn the_legend_shows_each_lines_style_beside_its_colour() {
    let mut harness = app();
    shorten(&mut harness, "1, 2", 20);
    harness.get_by_label("Run").click();
    harness.run_ok();
    wait_for(
        &mut harness,
        "the sweep to finish",
        Duration::from_secs(120),
        |app| !app.is_running(),
    );
    let run = harness.state().session().runs()[0].clone();
    assert_eq!(
        run.status,
        RunStatus::Finished,
        "{:?}",
        harness.state().notice()
    );
    // Each line's sample is named with its style: a run is solid with filled dots, its ideal
    // line dashed, its p99 latency dashed with diamonds.
    for entry in [
        format!("{}: solid line, filled dots", run.name),
        "ideal linear scaling: dashed line".to_owned(),
        format!("{} p50: solid line, filled dots", run.name),
        format!("{} p99: dashed line, diamonds", run.name),
    ] {
        harness.get_by_label(&entry);
    }
    // The model of the run in the table is drawn and listed: the recommended count as a
    // solid vertical line.
    let recommendation = run.recommendation.as_ref().expect("a finished run's model");
    if let Some(threads) = recommendation.recommended_threads {
        harness.get_by_label(&format!(
            "recommended: {threads} threads: solid vertical line"
        ));
    }
    // A disturbed point is drawn hollow and the legend says what hollow means.
    let disturbed = run.points.iter().any(|p| p.disturbed);
    assert_eq!(
        harness.query_by_label("disturbed: hollow dots").is_some(),
        disturbed
    );
    // Turning the ideal line off takes it out of the legend too.
    harness.get_by_label("ideal scaling").click();
    harness.run_ok();
    assert!(
        harness
            .query_by_label("ideal linear scaling: dashed line")
            .is_none()
    );
    harness.get_by_label(&format!("{}: solid line, filled dots", run.name));
}

#[test]
fn the_preset_picker_lists_the_built_in_default_and_shows_what_is_loaded() {
    let mut harness = app();
    let default = pooltune::ui::config::default_preset();
    let built_in = format!("{} (built in)", default.name);
    let picker = |harness: &Harness<'static, PooltuneApp>| harness.get_by_label("Preset").value();
    // The app opens on the built-in default; the closed picker names it as such.
    assert_eq!(picker(&harness), Some(built_in.clone()));
    harness.get_by_label("Preset").click();
    harness.run_ok();
    // Open, the default is a line of the list, marked as the one loaded; the user's own
    // presets (marked yours) come before it, the shipped ones after it.
    let lines: Vec<(String, Option<egui::accesskit::Toggled>, f32)> = harness
        .query_all_by_role(egui::accesskit::Role::Button)
        .filter_map(|node| {
            let label = node.accesskit_node().label()?;
            let y = node.rect().top();
            Some((label, node.accesskit_node().toggled(), y))
        })
        .collect();
    let built_in_line = lines
        .iter()
        .find(|(label, selected, _)| *label == built_in && selected.is_some())
        .unwrap_or_else(|| panic!("no {built_in:?} in the list: {lines:?}"));
    assert_eq!(
        built_in_line.1,
        Some(egui::accesskit::Toggled::True),
        "the default is the one loaded"
    );
    let shipped = lines
        .iter()
        .find(|(label, ..)| label == "CPU-bound: 2 ms of computation")
        .expect("the shipped CPU-bound preset");
    assert!(
        shipped.2 > built_in_line.2,
        "shipped presets follow the default"
    );
    for (label, _, y) in lines
        .iter()
        .filter(|(label, ..)| label.ends_with(" (yours)"))
    {
        assert!(*y < built_in_line.2, "{label} is listed after the default");
    }
    // Pick the shipped one: the picker names it; then back to the built-in default.
    harness
        .get_by_label("CPU-bound: 2 ms of computation")
        .click();
    harness.run_ok();
    assert_eq!(
        harness.state().draft().preset.name,
        "CPU-bound: 2 ms of computation"
    );
    assert_eq!(
        picker(&harness).as_deref(),
        Some("CPU-bound: 2 ms of computation")
    );
    // An edit shows in the closed picker.
    harness.state_mut().draft_mut().preset.sweep.trials = 7;
    harness.run_ok();
    assert_eq!(
        picker(&harness).as_deref(),
        Some("CPU-bound: 2 ms of computation, edited")
    );
    harness.get_by_label("Preset").click();
    harness.run_ok();
    harness.get_by_label(&built_in).click();
    harness.run_ok();
    assert_eq!(harness.state().draft().preset, default);
    assert!(harness.state().draft().file.is_none());
    assert_eq!(picker(&harness), Some(built_in));
}

/// `tests/fixtures/export/sweep.json` (the JSON exporter's golden sweep) as measured on
/// another machine: `build-server-7`, 8 usable CPUs of 16. Written into `dir`.
fn sweep_from_another_machine(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(manifest_dir().join("tests/fixtures/export/sweep.json"))
        .expect("the golden sweep");
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    json["machine"]["host_name"] = "build-server-7".into();
    json["machine"]["cpu_brand"] = "AMD EPYC 7763".into();
    json["machine"]["usable_cpus"] = 8.into();
    json["machine"]["physical_cpus"] = 8.into();
    json["machine"]["logical_cpus"] = 16.into();
    let path = dir.join("server.json");
    std::fs::write(&path, serde_json::to_string_pretty(&json).expect("JSON")).expect("written");
    path
}

/// A result file dropped on the window (egui hands the app its path).
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|err| err.to_string())
    }
}

/// `pooltune open FILE` (AppOptions::opened): the sweep is a finished run of the session,
/// listed with the machine it was measured on, and its model uses that machine's 8 CPUs.
/// Then File ▸ Result file with a damaged file: the error names it and the runs are
/// unchanged; a dropped copy of the good file joins as a second run.
#[test]
fn an_opened_sweep_joins_the_runs_with_its_machine_and_a_bad_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = sweep_from_another_machine(dir.path());
    let opened = pooltune::result::open::open(&path).unwrap();
    let mut harness = app_with(AppOptions {
        opened: vec![(path.clone(), opened)],
        ..AppOptions::default()
    });
    harness.run_ok();
    let runs = harness.state().session().runs();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.status, RunStatus::Finished);
    assert_eq!(run.origin, RunOrigin::Opened(path.clone()));
    assert_eq!(run.points.len(), 11);
    let recommendation = run.recommendation.as_ref().expect("the model's answer");
    assert_eq!(recommendation.cpus.usable, 8);
    assert_eq!(recommendation.cpus.logical, 16);
    assert_eq!(run.bound.as_ref().expect("a bound").usable_cpus, 8);
    // The runs list and the results header say where it was measured.
    let machine = "build-server-7 · AMD EPYC 7763 · 8 usable CPUs, 8 physical, 16 logical";
    harness.get_by_label(&format!(
        "opened from {} · measured on {machine}",
        path.display()
    ));
    harness.get_by_label(&format!("Measured on {machine}"));
    let names: Vec<String> = harness
        .state()
        .session()
        .runs()
        .iter()
        .map(|r| r.name.clone())
        .collect();

    // A truncated file typed in File ▸ Result file is refused, naming the file and the line.
    let text = std::fs::read_to_string(&path).unwrap();
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    harness.get_by_label("File").click();
    harness.run_ok();
    type_into(&mut harness, "Result file", &cut.display().to_string());
    harness.get_by_label("Open").click();
    harness.run_ok();
    let notice = harness.state().notice().expect("an error is shown").clone();
    assert!(notice.error, "{}", notice.text);
    assert!(
        notice
            .text
            .starts_with(&format!("Not opened: {}:", cut.display())),
        "{}",
        notice.text
    );
    assert!(notice.text.contains("EOF while parsing"), "{}", notice.text);
    harness.get_by_label_contains("What was open before is unchanged.");
    let after: Vec<String> = harness
        .state()
        .session()
        .runs()
        .iter()
        .map(|r| r.name.clone())
        .collect();
    assert_eq!(after, names);

    // The good file dropped on the window: a second run, named apart.
    harness
        .input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(path.clone())));
    harness.run_ok();
    let runs = harness.state().session().runs();
    assert_eq!(runs.len(), 2, "{:?}", harness.state().notice());
    assert_eq!(runs[1].name, format!("{} (2)", runs[0].name));
    assert_eq!(harness.state().session().selected_id(), Some(runs[1].id));
    assert!(!harness.state().notice().unwrap().error);
}

/// Every text the frames since the last call copied to the clipboard, stepping frame by frame
/// (the copy is in the output of the frame that applied the click).
fn copied_texts(harness: &mut Harness<'static, PooltuneApp>, frames: usize) -> Vec<String> {
    let mut copied = Vec::new();
    for _ in 0..frames {
        harness.step();
        for command in &harness.output().platform_output.commands {
            if let egui::OutputCommand::CopyText(text) = command {
                copied.push(text.clone());
            }
        }
    }
    copied
}

#[test]
fn the_recommendation_copies_as_code() {
    let mut harness = app();
    // Nothing is recommended before a run, so there is nothing to copy.
    assert!(harness.query_by_label("Copy code").is_none());
    shorten(&mut harness, "1, 2", 20);
    harness.get_by_label("Run").click();
    harness.run_ok();
    wait_for(
        &mut harness,
        "the sweep to finish",
        Duration::from_secs(120),
        |app| !app.is_running(),
    );
    let recommendation = harness.state().session().runs()[0]
        .recommendation
        .clone()
        .expect("a finished run has a recommendation");
    let threads = recommendation.recommended_threads.expect("a count");
    let rayon = &recommendation.code[0];
    assert_eq!(rayon.language, "Rust (rayon)");
    assert!(
        rayon.snippet.contains(&format!(".num_threads({threads})")),
        "{}",
        rayon.snippet
    );

    // Copy: the measured pool's code, and the status line says so.
    harness.get_by_label("Copy code").click();
    assert_eq!(
        copied_texts(&mut harness, 3),
        std::slice::from_ref(&rayon.snippet)
    );
    let notice = harness
        .state()
        .notice()
        .expect("a status line")
        .text
        .clone();
    assert!(
        notice.starts_with(&format!(
            "Copied the recommended {threads} thread{} as Rust (rayon) code",
            if threads == 1 { "" } else { "s" }
        )),
        "{notice}"
    );

    // The picker copies another language's.
    harness.get_by_label("Other languages").click();
    harness.run_ok();
    let java = recommendation
        .code
        .iter()
        .find(|s| s.language.starts_with("Java"))
        .expect("a Java snippet");
    assert!(
        java.snippet
            .contains(&format!("newFixedThreadPool({threads})"))
    );
    harness.get_by_label(&java.language).click();
    assert_eq!(
        copied_texts(&mut harness, 3),
        std::slice::from_ref(&java.snippet)
    );
    let notice = harness
        .state()
        .notice()
        .expect("a status line")
        .text
        .clone();
    assert!(
        notice.contains("as Java (Executors.newFixedThreadPool) code"),
        "{notice}"
    );
}

#[test]
fn the_png_export_is_titled_with_the_preset_the_machine_and_the_date() {
    let mut harness = app();
    shorten(&mut harness, "1, 2", 20);
    harness.get_by_label("Run").click();
    harness.run_ok();
    wait_for(
        &mut harness,
        "the sweep to finish",
        Duration::from_secs(120),
        |app| !app.is_running(),
    );
    let run = harness.state().session().runs()[0].clone();
    let result = run.result.as_ref().expect("a finished run has a result");
    let title = results::png_title(&run).expect("a finished run has a title");
    let host = match result.machine.host_name.trim() {
        "" => "host name not recorded",
        host => host,
    };
    assert!(
        title.starts_with(&format!("{} · {host} (", result.preset.name)),
        "{title}"
    );
    assert!(
        title.ends_with(&pooltune::ui::format::utc_minute(
            result.outcome.started_unix_s
        )),
        "{title}"
    );
    // The title is drawn above the plots, inside the area the PNG keeps.
    let _ = harness.get_by_label(&title);

    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("plots");
    retype(&mut harness, "Export to", &base.display().to_string());
    harness.get_by_label("PNG").click();
    // Without a renderer the harness takes no screenshot: hand the app's request a white
    // window, as the windowing system would hand it the pixels.
    let mut requests = Vec::new();
    for _ in 0..3 {
        harness.step();
        for viewport in harness.output().viewport_output.values() {
            for command in &viewport.commands {
                if let egui::ViewportCommand::Screenshot(callback) = command {
                    requests.push(callback.clone());
                }
            }
        }
    }
    assert_eq!(requests.len(), 1, "one screenshot asked for");
    let window = egui::ColorImage::filled([1400, 1000], egui::Color32::WHITE);
    for request in requests {
        request.complete(std::sync::Arc::new(window.clone()));
    }
    harness.run_ok();
    let path = base.with_extension("png");
    let notice = harness
        .state()
        .notice()
        .expect("the export is reported")
        .clone();
    assert!(!notice.error, "{}", notice.text);
    assert!(
        notice.text.contains(&path.display().to_string()),
        "{}",
        notice.text
    );
    let bytes = std::fs::read(&path).expect("the PNG was written");
    let reader = png::Decoder::new(std::io::Cursor::new(&bytes))
        .read_info()
        .expect("a PNG");
    // tEXt, or iTXt for a title beyond Latin-1 (a CPU brand with a ™ sign, say).
    let info = reader.info();
    let mut titles: Vec<(String, String)> = info
        .uncompressed_latin1_text
        .iter()
        .map(|chunk| (chunk.keyword.clone(), chunk.text.clone()))
        .collect();
    for chunk in &info.utf8_text {
        titles.push((chunk.keyword.clone(), chunk.get_text().unwrap()));
    }
    assert_eq!(titles, [("Title".to_owned(), title)]);
}

/// The app in a window of `size` points (a 1024 × 700 screen at 100%, or 1400 × 900 at 125%:
/// 1120 × 720 points), without the monitor thread.
fn app_sized(size: egui::Vec2) -> Harness<'static, PooltuneApp> {
    Harness::builder().with_size(size).build_eframe(move |cc| {
        PooltuneApp::new(
            cc,
            AppOptions {
                live_readings: false,
                ..AppOptions::default()
            },
        )
    })
}

/// Issue 16 §1: on a small screen the results (the table's cells, the export buttons) are in
/// view after a run, inside the window, and the plots are not cut off at its right edge.
#[test]
fn the_results_table_is_in_view_after_a_run_on_a_small_screen() {
    for size in [egui::vec2(1024.0, 700.0), egui::vec2(1120.0, 720.0)] {
        let mut harness = app_sized(size);
        shorten(&mut harness, "1, 2", 40);
        harness.get_by_label("Run").click();
        harness.run_ok();
        wait_for(
            &mut harness,
            "the sweep to finish",
            Duration::from_secs(120),
            |app| !app.is_running(),
        );
        harness.run_ok();
        let window = egui::Rect::from_min_size(egui::Pos2::ZERO, size);
        let run = harness.state().session().runs()[0].clone();
        assert_eq!(run.status, RunStatus::Finished, "{size:?}");
        for point in &run.points {
            let cell = results::unit_rate(point.throughput_per_s, "tasks");
            let shown = harness
                .query_all_by_label(&cell)
                .map(|node| node.rect())
                .collect::<Vec<_>>();
            assert!(
                shown.iter().any(|rect| window.contains_rect(*rect)),
                "{size:?}: the table cell {cell} is not inside the window: {shown:?}"
            );
        }
        for button in ["CSV", "JSON", "PNG"] {
            let rect = harness.get_by_label(button).rect();
            assert!(
                window.contains_rect(rect),
                "{size:?}: {button} at {rect:?} is outside the window"
            );
        }
        let heading = harness.get_by_label("Results").rect();
        assert!(window.contains_rect(heading), "{size:?}: {heading:?}");
    }
}

/// The window cannot be made smaller than the size the layout was checked at, and that size
/// fits a 1024 × 700 screen.
#[test]
fn the_window_has_a_minimum_size_that_fits_a_small_screen() {
    let options = pooltune::app::native_options();
    let min = options
        .viewport
        .min_inner_size
        .expect("a minimum size is set");
    assert_eq!(min, pooltune::app::min_inner_size());
    assert!(min.x >= 900.0 && min.y >= 560.0, "{min:?}");
    assert!(min.x <= 1024.0 && min.y <= 700.0, "{min:?}");
}

/// A long message under a field wraps inside the configuration panel instead of widening it:
/// the panel is as wide with the message as without it.
#[test]
fn a_validation_message_does_not_widen_the_configuration_panel() {
    let mut harness = app_sized(egui::vec2(1024.0, 700.0));
    harness.run_ok();
    // The centre starts where the configuration panel ends.
    let before = harness.get_by_label("Worker cost").rect();
    {
        let draft = harness.state_mut().draft_mut();
        draft.threads_text = format!("1, 2, {}", "x".repeat(200));
    }
    for _ in 0..4 {
        harness.run_ok();
    }
    assert!(harness.state().draft().checked(u64::MAX).is_err());
    let after = harness.get_by_label("Worker cost").rect();
    // Within the 2-point outline drawn around the invalid field; an unwrapped message
    // would widen the panel to its largest width, 140 points more.
    assert!(
        (after.min.x - before.min.x).abs() < 4.0,
        "the configuration panel grew: the tabs moved from {before:?} to {after:?}"
    );
}
