//! The state eframe remembers between runs (`app.ron`: egui's memory, the window's geometry
//! and pooltune's own [`super::PersistedState`]), checked before eframe reads it. eframe applies the
//! remembered zoom and window geometry before any of pooltune's code runs, and a zoom of 0,
//! NaN or 1e9 makes the windowing stack panic (`dpi`: "assert!(validate_scale_factor)"), so
//! that one bad value kept the app from ever starting. Values out of range are replaced by
//! their defaults here; everything else is left as eframe wrote it.
//!
//! It never opens a window and never changes a value that is in range.
//!
//! It also holds [`TrustedFiles`]: the content hashes of the preset files the user allowed
//! to run their code, remembered with pooltune's state so that the app asks once per file
//! content.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use eframe::egui;

/// eframe's key for egui's memory in `app.ron` (eframe 0.37, `STORAGE_EGUI_MEMORY_KEY`).
const EGUI_KEY: &str = "egui";
/// eframe's key for the window geometry (`STORAGE_WINDOW_KEY`).
const WINDOW_KEY: &str = "window";

/// The zoom egui's own settings offer (`DragValue::new(zoom_factor).range(0.10..=10.0)`
/// in egui 0.37 `Options::ui`).
pub const ZOOM: std::ops::RangeInclusive<f32> = 0.1..=10.0;
/// The smallest remembered window, in points: the window's minimum inner size.
pub const MIN_WINDOW: [f32; 2] = [super::MIN_INNER_SIZE[0], super::MIN_INNER_SIZE[1]];
/// Display scale factors a saved geometry may carry (1 to 4 are usual; 0 or NaN would
/// make the window's size and position undefined).
const SCALE_FACTOR: std::ops::RangeInclusive<f32> = 0.25..=8.0;
/// No screen is this far from the origin, in pixels (checked even when the screens are
/// unknown).
const MAX_POSITION_PIXELS: f32 = 100_000.0;
/// How much of the window must lie on one screen, in pixels, for its remembered position
/// to be kept: enough to see it and grab it with the mouse (egui-winit 0.37 gives 64 px
/// as the smallest sensible window, `clamp_size_to_sane_values`).
const MIN_VISIBLE_PIXELS: f32 = 64.0;

/// The rectangles of the screens a window can open on now, in pixels, or none when they
/// are not known (then only [`MAX_POSITION_PIXELS`] is checked).
///
/// Why before the window opens, and why X11 only: eframe 0.37 applies the remembered
/// position when it creates the window, and egui-winit's `clamp_position_to_monitors`
/// checks it against the monitors on macOS and Windows only; on Linux it is used as it
/// is, and a window remembered at (5000, 5000) opened at +5000+5000 on a 1400×900 screen,
/// out of sight (and never painted). After the window opens egui only reports the size
/// of the current monitor (`ViewportInfo::monitor_size`), not where it is, so a window
/// on a second monitor could not be told from one off every screen. Under Wayland a
/// client cannot place its window (winit ignores the position, the compositor places it)
/// nor read where it is (eframe saves no position), so there is nothing to check; winit
/// picks Wayland whenever `WAYLAND_DISPLAY` or `WAYLAND_SOCKET` is set, and X11 otherwise,
/// and so does this.
pub fn screens() -> Vec<egui::Rect> {
    let wayland = ["WAYLAND_DISPLAY", "WAYLAND_SOCKET"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    if wayland {
        return Vec::new();
    }
    x11_screens().unwrap_or_default()
}

/// The X server's monitors (RandR 1.5 `GetMonitors`), or its whole root window when it
/// has no RandR 1.5. `None` when the server cannot be reached (eframe then reports it).
fn x11_screens() -> Option<Vec<egui::Rect>> {
    use x11rb::connection::Connection as _;
    use x11rb::protocol::randr::ConnectionExt as _;
    let (connection, screen) = x11rb::connect(None).ok()?;
    let root = connection.setup().roots.get(screen)?;
    let monitors = connection
        .randr_get_monitors(root.root, true)
        .ok()
        .and_then(|cookie| cookie.reply().ok())
        .map(|reply| {
            reply
                .monitors
                .iter()
                .map(|m| {
                    egui::Rect::from_min_size(
                        egui::pos2(f32::from(m.x), f32::from(m.y)),
                        egui::vec2(f32::from(m.width), f32::from(m.height)),
                    )
                })
                .collect::<Vec<_>>()
        })
        .filter(|monitors| !monitors.is_empty());
    Some(monitors.unwrap_or_else(|| {
        vec![egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(
                f32::from(root.width_in_pixels),
                f32::from(root.height_in_pixels),
            ),
        )]
    }))
}

/// The position to open a window at, given where it was (`window`, its outer rectangle
/// in pixels) and the screens there are now: its own position when at least
/// [`MIN_VISIBLE_PIXELS`] × [`MIN_VISIBLE_PIXELS`] of it lie on one screen (or the
/// screens are unknown), `None` (the default: the window manager places it) when it
/// would be out of sight.
pub fn position_on_screen(window: egui::Rect, screens: &[egui::Rect]) -> Option<egui::Pos2> {
    let visible = |screen: &egui::Rect| {
        let part = window.intersect(*screen);
        part.width() >= MIN_VISIBLE_PIXELS && part.height() >= MIN_VISIBLE_PIXELS
    };
    (screens.is_empty() || screens.iter().any(visible)).then_some(window.min)
}

/// Where eframe keeps pooltune's remembered state (`~/.local/share/pooltune/app.ron`, or
/// under `$XDG_DATA_HOME`).
pub fn path() -> Option<PathBuf> {
    eframe::storage_dir("pooltune").map(|dir| dir.join("app.ron"))
}

/// The window geometry as eframe 0.37 writes it (`egui_winit::WindowSettings`, whose
/// fields are private): read only to check it.
#[derive(serde::Deserialize)]
struct WindowSettings {
    normal_geometry: WindowGeometry,
}

#[derive(serde::Deserialize)]
struct WindowGeometry {
    outer_position_pixels: Option<egui::Pos2>,
    scale_factor: f32,
    inner_size_points: egui::Vec2,
}

/// Why a remembered window geometry is not used, or `None` when it is fine (or in a form
/// this build does not know, which is left to eframe).
fn window_problem(text: &str, zoom: f32, screens: &[egui::Rect]) -> Option<String> {
    let window: WindowSettings = ron::from_str(text).ok()?;
    let geometry = window.normal_geometry;
    let size = geometry.inner_size_points;
    if !(size.x.is_finite() && size.y.is_finite())
        || size.x < MIN_WINDOW[0]
        || size.y < MIN_WINDOW[1]
    {
        return Some(format!(
            "window size {} × {} points (at least {} × {})",
            size.x, size.y, MIN_WINDOW[0], MIN_WINDOW[1]
        ));
    }
    if !SCALE_FACTOR.contains(&geometry.scale_factor) {
        return Some(format!("display scale factor {}", geometry.scale_factor));
    }
    let position = geometry.outer_position_pixels?;
    // The window's size in pixels as eframe will open it (points × zoom × scale).
    let window = egui::Rect::from_min_size(position, size * zoom * geometry.scale_factor);
    if !(position.x.abs() <= MAX_POSITION_PIXELS && position.y.abs() <= MAX_POSITION_PIXELS)
        || position_on_screen(window, screens).is_none()
    {
        return Some(format!(
            "window position {}, {} (off every screen)",
            position.x, position.y
        ));
    }
    None
}

/// Checks the remembered state in `text` (the content of `app.ron`). Returns the
/// repaired text and what was replaced, or `None` when nothing needed replacing (or the
/// file is not eframe's format: eframe then ignores it itself). `screens` are the screens
/// a window can open on now ([`screens`]; none when unknown).
pub fn sanitize(text: &str, screens: &[egui::Rect]) -> Option<(String, Vec<String>)> {
    let mut entries: HashMap<String, String> = ron::from_str(text).ok()?;
    let mut replaced = Vec::new();
    let mut zoom_to_use = 1.0;
    if let Some(memory_text) = entries.get(EGUI_KEY)
        && let Ok(mut memory) = ron::from_str::<egui::Memory>(memory_text)
    {
        let zoom = memory.options.zoom_factor;
        if ZOOM.contains(&zoom) {
            zoom_to_use = zoom;
        } else {
            memory.options.zoom_factor = 1.0;
            match ron::to_string(&memory) {
                Ok(fixed) => {
                    entries.insert(EGUI_KEY.to_owned(), fixed);
                }
                Err(_) => {
                    entries.remove(EGUI_KEY);
                }
            }
            replaced.push(format!(
                "zoom {zoom} (allowed {} to {}) by 1",
                ZOOM.start(),
                ZOOM.end()
            ));
        }
    }
    if let Some(problem) = entries
        .get(WINDOW_KEY)
        .and_then(|w| window_problem(w, zoom_to_use, screens))
    {
        entries.remove(WINDOW_KEY);
        replaced.push(format!("{problem} by the default window"));
    }
    if replaced.is_empty() {
        return None;
    }
    let text = ron::ser::to_string_pretty(&entries, ron::ser::PrettyConfig::default()).ok()?;
    Some((text, replaced))
}

/// Repairs the file at `path` in place (atomically, keeping its mode) when it holds values
/// out of range, and says on stderr what was replaced. A file that cannot be read or
/// written is left to eframe.
pub fn repair(path: &Path, screens: &[egui::Rect]) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let Some((fixed, replaced)) = sanitize(&text, screens) else {
        return;
    };
    let outcome = match crate::atomic_file::write(path, fixed.as_bytes()) {
        Ok(()) => "replaced",
        Err(_) => "could not replace",
    };
    for what in replaced {
        eprintln!(
            "pooltune: {}: {outcome} the remembered {what}",
            path.display()
        );
    }
}

/// Most content hashes remembered: beyond this the oldest is forgotten (and that file is
/// asked about again), so that the state file does not grow with every edit of a preset.
pub const MAX_TRUSTED_FILES: usize = 500;

/// The SHA-256 content hashes of the preset files whose code the user allowed to run (and of
/// the files this app wrote), oldest first. A file changed since is a new content: it is
/// asked about again.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct TrustedFiles(Vec<String>);

impl TrustedFiles {
    /// True when this content was allowed (or written here).
    pub fn contains(&self, content_hash: &str) -> bool {
        self.0.iter().any(|hash| hash == content_hash)
    }

    /// Remembers a content as allowed; the newest at the end, at most
    /// [`MAX_TRUSTED_FILES`].
    pub fn trust(&mut self, content_hash: &str) {
        self.0.retain(|hash| hash != content_hash);
        self.0.push(content_hash.to_owned());
        if self.0.len() > MAX_TRUSTED_FILES {
            let excess = self.0.len() - MAX_TRUSTED_FILES;
            self.0.drain(..excess);
        }
    }

    /// How many contents are remembered.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when none is.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
