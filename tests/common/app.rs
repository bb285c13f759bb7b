//! The app's UI tests' helpers: the app in a test harness, waiting for the engine, typing,
//! exporting, restarting. Built only with the `gui` feature; the engine's tests never need it.

use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use pooltune::app::{AppOptions, PooltuneApp};

/// The app in a window of the README screenshot's size, without the monitor thread.
pub fn app_with(options: AppOptions) -> Harness<'static, PooltuneApp> {
    Harness::builder()
        .with_size(egui::vec2(1400.0, 1000.0))
        .build_eframe(move |cc| {
            PooltuneApp::new(
                cc,
                AppOptions {
                    live_readings: false,
                    ..options.clone()
                },
            )
        })
}

/// Steps frames until `done` holds (at most `limit`); the engine runs on its own thread.
pub fn wait_for(
    harness: &mut Harness<'static, PooltuneApp>,
    what: &str,
    limit: Duration,
    done: impl Fn(&PooltuneApp) -> bool,
) {
    let deadline = Instant::now() + limit;
    while !done(harness.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
    }
    harness.run_ok();
}

/// Types `text` into the text field labelled `label`.
pub fn type_into(harness: &mut Harness<'static, PooltuneApp>, label: &str, text: &str) {
    harness.get_by_label(label).focus();
    harness.run_ok();
    harness.get_by_label(label).type_text(text);
    harness.run_ok();
}

/// Replaces the text of the field labelled `label` with `text`, as typed.
pub fn retype(harness: &mut Harness<'static, PooltuneApp>, label: &str, text: &str) {
    harness.get_by_label(label).focus();
    harness.run_ok();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_ok();
    if text.is_empty() {
        harness.key_press(egui::Key::Backspace);
    } else {
        harness.get_by_label(label).type_text(text);
    }
    harness.run_ok();
}

/// The files an export row writes, as a user gets them: types `base` into "Export to", presses
/// JSON then CSV, checks that the app said it wrote each, and returns the JSON (parsed) and the
/// CSV text.
pub fn export_json_and_csv(
    harness: &mut Harness<'static, PooltuneApp>,
    base: &std::path::Path,
) -> (serde_json::Value, String) {
    retype(harness, "Export to", &base.display().to_string());
    let mut written = Vec::new();
    for (button, extension) in [("JSON", "json"), ("CSV", "csv")] {
        harness.get_by_label(button).click();
        harness.run_ok();
        let path = base.with_extension(extension);
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
        written.push(std::fs::read_to_string(&path).expect("the exported file"));
    }
    let json = serde_json::from_str(&written[0]).expect("the JSON export parses");
    (json, written.remove(1))
}

/// An in-memory `eframe::Storage`, as eframe's own would be on disk.
#[derive(Default)]
pub struct MemoryStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

/// Closes and reopens the app as a user restarting it would: what eframe saves on exit is
/// handed to a new window (without the monitor thread).
pub fn restart(harness: &mut Harness<'static, PooltuneApp>) -> Harness<'static, PooltuneApp> {
    let mut storage = MemoryStorage::default();
    eframe::App::save(harness.state_mut(), &mut storage);
    let storage: &'static MemoryStorage = Box::leak(Box::new(storage));
    Harness::builder()
        .with_size(egui::vec2(1400.0, 1000.0))
        .build_eframe(move |cc| {
            cc.storage = Some(storage);
            PooltuneApp::new(
                cc,
                AppOptions {
                    live_readings: false,
                    ..AppOptions::default()
                },
            )
        })
}
