//! Opening the window where there is no display: one clear `error:` line pointing to the
//! headless command, exit code 1, and never a panic.

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
