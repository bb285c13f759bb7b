//! Pixel snapshots of the app's screens that hold no measured number (so that they are the
//! same on every run): the Sweep tab with the default configuration, the same with an invalid
//! value marked and Run disabled, and the Compare and Worker cost tabs before a run. Each is
//! compared with `tests/snapshots/<name>.png`; `UPDATE_SNAPSHOTS=true` rewrites them.
//!
//! Behind `--features snapshots` (rendering needs wgpu, here Mesa's lavapipe software Vulkan:
//! Debian's `mesa-vulkan-drivers`), so plain `cargo test` runs anywhere. The images were made
//! with lavapipe on Debian 12; another renderer draws text a little differently, which the
//! threshold allows for only up to a point.
#![cfg(feature = "snapshots")]
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use eframe::egui;
use egui_kittest::kittest::Queryable as _;
use egui_kittest::{Harness, SnapshotOptions};
use pooltune::app::{AppOptions, PooltuneApp};

/// The app in a window of the README screenshot's size, without the monitor thread, dark.
fn app() -> Harness<'static, PooltuneApp> {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(|cc| {
            cc.egui_ctx.set_theme(egui::Theme::Dark);
            PooltuneApp::new(
                cc,
                AppOptions {
                    live_readings: false,
                    ..AppOptions::default()
                },
            )
        });
    harness.run_ok();
    harness
}

/// Text is antialiased; a few pixels may land differently between driver versions. (One
/// character changed in a label moves about 240.)
fn options() -> SnapshotOptions {
    SnapshotOptions::default().max_failed_pixels(20)
}

#[test]
fn the_sweep_tab_with_the_default_configuration() {
    let mut harness = app();
    harness.snapshot_options("sweep_default", &options());
}

#[test]
fn an_invalid_value_is_marked_and_run_is_disabled() {
    let mut harness = app();
    harness.state_mut().draft_mut().threads_text = "1, 0, 4".into();
    harness.run_ok();
    harness.snapshot_options("sweep_invalid_threads", &options());
}

#[test]
fn the_compare_and_worker_cost_tabs_before_a_run() {
    let mut harness = app();
    harness.get_by_label("Compare").click();
    harness.run_ok();
    harness.snapshot_options("compare_before_run", &options());
    harness.get_by_label("Worker cost").click();
    harness.run_ok();
    harness.snapshot_options("cost_before_run", &options());
}
