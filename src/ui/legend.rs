//! A plot legend drawn beside the plot instead of over it: each entry is a small sample of
//! its line (solid, dashed or dotted, in its colour) and its marker, then its name. egui_plot's
//! own legend shows a colour dot only, so a solid run, its dotted fit and its dashed ideal
//! line read alike there, and it sits over the data in a corner of the plot.
//!
//! The entries are plain data ([`LegendEntry`]), built by the plots' own pure functions and
//! tested there; this module only draws them. Each sample is named in the accessibility tree
//! as "name: style" ("USL fit: dotted line"), which is also how the app's tests find it.

use eframe::egui;
use egui::{Color32, Pos2, Sense, Stroke, Ui, Vec2};

/// How an entry's line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// No line: a marker only.
    None,
    /// A solid line.
    Solid,
    /// A dashed line.
    Dashed,
    /// A dotted line.
    Dotted,
    /// A solid vertical line across the plot (a thread count marked).
    Vertical,
    /// A dotted vertical line across the plot.
    VerticalDotted,
}

impl LineKind {
    fn words(self) -> Option<&'static str> {
        match self {
            LineKind::None => None,
            LineKind::Solid => Some("solid line"),
            LineKind::Dashed => Some("dashed line"),
            LineKind::Dotted => Some("dotted line"),
            LineKind::Vertical => Some("solid vertical line"),
            LineKind::VerticalDotted => Some("dotted vertical line"),
        }
    }
}

/// The marker drawn on an entry's points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// No marker.
    None,
    /// A filled dot.
    Dot,
    /// A hollow dot.
    HollowDot,
    /// A filled diamond.
    Diamond,
    /// A wide ring drawn around a point.
    Ring,
}

impl Marker {
    fn words(self) -> Option<&'static str> {
        match self {
            Marker::None => None,
            Marker::Dot => Some("filled dots"),
            Marker::HollowDot => Some("hollow dots"),
            Marker::Diamond => Some("diamonds"),
            Marker::Ring => Some("rings"),
        }
    }
}

/// One entry of a legend.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    /// What the line is, as on the plot: a run's name, "USL fit".
    pub name: String,
    /// Its colour.
    pub color: Color32,
    /// How its line is drawn.
    pub line: LineKind,
    /// How its points are marked.
    pub marker: Marker,
    /// What it means, shown on hover.
    pub meaning: String,
}

impl LegendEntry {
    /// An entry without a hover text.
    pub fn new(name: impl Into<String>, color: Color32, line: LineKind, marker: Marker) -> Self {
        LegendEntry {
            name: name.into(),
            color,
            line,
            marker,
            meaning: String::new(),
        }
    }

    /// The same entry with `meaning` shown on hover.
    pub fn meaning(mut self, meaning: impl Into<String>) -> Self {
        self.meaning = meaning.into();
        self
    }

    /// How it is drawn, in words: "dashed line", "solid line, filled dots", "hollow dots".
    pub fn style(&self) -> String {
        [self.line.words(), self.marker.words()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The name the sample carries for screen readers (and tests): "USL fit: dotted line".
    pub fn accessible_name(&self) -> String {
        format!("{}: {}", self.name, self.style())
    }
}

/// Width and height of the sample drawn before each name.
const SAMPLE: Vec2 = Vec2::new(30.0, 14.0);

/// Draws `entries` in rows that wrap, above or below a plot; `hint` (such as how to reset
/// the zoom) follows them, weak.
pub fn legend_ui(ui: &mut Ui, entries: &[LegendEntry], hint: Option<&str>) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 12.0;
        for entry in entries {
            entry_ui(ui, entry);
        }
        if let Some(hint) = hint {
            ui.weak(hint);
        }
    });
}

/// Gap between an entry's sample and its name.
const NAME_GAP: f32 = 4.0;

/// One entry as one widget (sample and name), so that a wrapped row never splits them.
fn entry_ui(ui: &mut Ui, entry: &LegendEntry) {
    let font = egui::TextStyle::Small.resolve(ui.style());
    let galley = ui
        .painter()
        .layout_no_wrap(entry.name.clone(), font, ui.visuals().text_color());
    let size = Vec2::new(
        SAMPLE.x + NAME_GAP + galley.size().x,
        SAMPLE.y.max(galley.size().y),
    );
    let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
    let name = entry.accessible_name();
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &name));
    if !ui.is_rect_visible(rect) {
        return;
    }
    let sample = egui::Rect::from_min_size(
        egui::pos2(rect.left(), rect.center().y - SAMPLE.y / 2.0),
        SAMPLE,
    );
    sample_ui(ui, sample, entry);
    let text_pos = egui::pos2(
        sample.right() + NAME_GAP,
        rect.center().y - galley.size().y / 2.0,
    );
    ui.painter()
        .galley(text_pos, galley, ui.visuals().text_color());
    if !entry.meaning.is_empty() {
        response.on_hover_text(&entry.meaning);
    }
}

/// Paints the entry's line and marker in `rect`.
fn sample_ui(ui: &Ui, rect: egui::Rect, entry: &LegendEntry) {
    let painter = ui.painter_at(rect.expand(1.0));
    let stroke = Stroke::new(1.8, entry.color);
    let mid = rect.center();
    let across = [
        Pos2::new(rect.left(), mid.y),
        Pos2::new(rect.right(), mid.y),
    ];
    let down = [
        Pos2::new(mid.x, rect.top()),
        Pos2::new(mid.x, rect.bottom()),
    ];
    match entry.line {
        LineKind::None => {}
        LineKind::Solid => {
            painter.line_segment(across, stroke);
        }
        LineKind::Dashed => {
            painter.extend(egui::Shape::dashed_line(&across, stroke, 6.0, 4.0));
        }
        LineKind::Dotted => {
            painter.extend(egui::Shape::dotted_line(&across, entry.color, 4.0, 1.2));
        }
        LineKind::Vertical => {
            painter.line_segment(down, Stroke::new(2.0, entry.color));
        }
        LineKind::VerticalDotted => {
            painter.extend(egui::Shape::dotted_line(&down, entry.color, 3.5, 1.0));
        }
    }
    match entry.marker {
        Marker::None => {}
        Marker::Dot => {
            painter.circle_filled(mid, 4.0, entry.color);
        }
        Marker::HollowDot => {
            painter.circle_stroke(mid, 4.0, Stroke::new(1.5, entry.color));
        }
        Marker::Diamond => {
            let r = 4.5;
            painter.add(egui::Shape::convex_polygon(
                vec![
                    mid + Vec2::new(0.0, -r),
                    mid + Vec2::new(r, 0.0),
                    mid + Vec2::new(0.0, r),
                    mid + Vec2::new(-r, 0.0),
                ],
                entry.color,
                Stroke::NONE,
            ));
        }
        Marker::Ring => {
            painter.circle_stroke(mid, 6.5, Stroke::new(2.0, entry.color));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_says_its_line_and_marker_in_words() {
        let run = LegendEntry::new("r", Color32::RED, LineKind::Solid, Marker::Dot);
        assert_eq!(run.style(), "solid line, filled dots");
        assert_eq!(run.accessible_name(), "r: solid line, filled dots");
        let ideal = LegendEntry::new("ideal", Color32::GRAY, LineKind::Dashed, Marker::None);
        assert_eq!(ideal.style(), "dashed line");
        let disturbed = LegendEntry::new("d", Color32::GRAY, LineKind::None, Marker::HollowDot);
        assert_eq!(disturbed.style(), "hollow dots");
    }
}
