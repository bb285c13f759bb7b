//! Opening the window where there is no display: one clear `error:` line pointing to the
//! headless command, exit code 1, and never a panic.

#![cfg(feature = "gui")] // the app is built only with the gui feature

use assert_cmd::Command;
use predicates::prelude::*;

fn pooltune() -> Command {
    let mut command = Command::cargo_bin("pooltune").expect("the binary is built");
    command.env_remove("WAYLAND_DISPLAY").env(
        "XDG_DATA_HOME",
        std::env::temp_dir().join("pooltune-launch-test"),
    );
    command
}

#[test]
fn no_display_gives_one_clear_error_and_exit_1() {
    pooltune()
        .env_remove("DISPLAY")
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("error: no display"))
        .stderr(predicate::str::contains("pooltune sweep --preset"))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn an_unreachable_display_gives_the_same_kind_of_error() {
    // A display number nobody serves: the windowing system fails to connect.
    pooltune()
        .env("DISPLAY", ":9797")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "error: the window could not be opened",
        ))
        .stderr(predicate::str::contains("pooltune sweep --preset"))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn a_bad_preset_is_refused_before_any_window_opens() {
    let bad = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bad/unknown-key.toml");
    pooltune()
        .env_remove("DISPLAY")
        .arg("--preset")
        .arg(bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown-key.toml"));
}

/// A remembered zoom of 0 (which kept the app from ever starting: the windowing stack
/// panicked in `dpi`) is replaced before eframe reads it, and says so (issue 10, item 17).
/// The window then fails for want of a display, which is not the state's fault: no advice
/// to remove it.
#[test]
fn a_bad_remembered_zoom_is_repaired_before_the_window_opens() {
    use eframe::egui;
    let data_home = tempfile::tempdir().expect("temporary folder");
    let state = data_home.path().join("pooltune").join("app.ron");
    std::fs::create_dir_all(state.parent().expect("a folder")).expect("state folder");
    let mut memory = egui::Memory::default();
    memory.options.zoom_factor = 0.0;
    let entries: std::collections::HashMap<String, String> =
        [("egui".to_owned(), ron::to_string(&memory).expect("RON"))].into();
    std::fs::write(&state, ron::to_string(&entries).expect("RON")).expect("app.ron");
    pooltune()
        .env("XDG_DATA_HOME", data_home.path())
        .env("DISPLAY", ":9797")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "pooltune: {}: replaced the remembered zoom 0 (allowed 0.1 to 10) by 1",
            state.display()
        )))
        .stderr(predicate::str::contains("the window could not be opened"))
        .stderr(predicate::str::contains("remove").not())
        .stderr(predicate::str::contains("panicked").not());
    let repaired: std::collections::HashMap<String, String> =
        ron::from_str(&std::fs::read_to_string(&state).expect("app.ron")).expect("RON");
    let memory: egui::Memory = ron::from_str(&repaired["egui"]).expect("egui memory");
    assert_eq!(memory.options.zoom_factor, 1.0);
}
