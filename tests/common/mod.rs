//! What the integration tests share: the crate's folders and fixtures, the check every bad
//! fixture goes through, the Python interpreter (or a skip, or a failure when CI expects
//! Python), and, with the `gui` feature, the app in a test harness (`app.rs`). Nothing here
//! may make a test pass without doing what it says: a missing Python is a skip only when
//! `POOLTUNE_REQUIRE_PYTHON` is not `1`.
#![allow(dead_code)] // each test binary uses a part of this

use std::path::PathBuf;

#[cfg(feature = "gui")]
mod app;
#[cfg(feature = "gui")]
#[allow(unused_imports)] // the engine's test binaries use none of it
pub use app::*;

/// The crate's folder (for shipped presets and fixtures).
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The path of `tests/fixtures/<name>`, as a command-line argument.
pub fn fixture(name: &str) -> String {
    manifest_dir()
        .join("tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Set to `1` (by `.ci/run`) when the machine is expected to have Python: a test that needs
/// it then fails instead of skipping.
pub const REQUIRE_PYTHON_VARIABLE: &str = "POOLTUNE_REQUIRE_PYTHON";

/// The `python3` on PATH (the path it reports as `sys.executable`), or `None` after saying on
/// stderr that the test skips its Python part. Panics instead of skipping when
/// `POOLTUNE_REQUIRE_PYTHON=1`, so that CI cannot pass a Python test it did not run.
#[track_caller]
pub fn python_or_skip() -> Option<PathBuf> {
    let reason = match std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
    {
        Ok(out) if out.status.success() => {
            let reported = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            return Some(if reported.is_empty() {
                PathBuf::from("python3")
            } else {
                PathBuf::from(reported)
            });
        }
        Ok(out) => format!("python3 exited with {}", out.status),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            "no python3 on PATH".to_owned()
        }
        Err(error) => format!("python3 could not be started ({error})"),
    };
    let required = std::env::var(REQUIRE_PYTHON_VARIABLE).is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{REQUIRE_PYTHON_VARIABLE}=1 but {reason}: install python3 (or unset \
         {REQUIRE_PYTHON_VARIABLE} to skip the tests that need it)"
    );
    eprintln!("skipped: {reason} (the part of this test that runs Python)");
    None
}

/// Runs `run` on every bad fixture in `folder` (at least `at_least` of them) and checks what a
/// user sees: exit 2, one `error:` line that contains the fixture's `# expect: ` text (its first
/// line), no panic, nothing on stdout.
pub fn check_bad_fixtures(
    folder: &std::path::Path,
    at_least: usize,
    run: impl Fn(&std::path::Path) -> std::process::Output,
) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .expect("fixture folder")
        .map(|e| e.expect("fixture entry").path())
        .collect();
    files.sort();
    assert!(
        files.len() >= at_least,
        "fixtures missing in {}",
        folder.display()
    );
    for file in files {
        let content = std::fs::read_to_string(&file).expect("fixture text");
        let expect = content
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} has no `# expect:` line", file.display()))
            .to_owned();
        let out = run(&file);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", file.display());
        assert!(
            stderr.starts_with("error: "),
            "{}: {stderr}",
            file.display()
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains(&expect),
            "{}: expected {expect:?} in {stderr}",
            file.display()
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(out.stdout.is_empty(), "nothing on stdout for a bad preset");
    }
}
