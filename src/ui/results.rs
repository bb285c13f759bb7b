//! Below the plots: the runs of the session (show or hide each on the plots, rename, remove,
//! pick the one whose table is shown), the table of that run's points, and export of that run
//! as CSV, JSON (the engine's own format) or a PNG of the plots.
//!
//! Drawing only: renames and visibility are edited in place, everything else is a
//! [`RunsAction`] that the app applies after the frame.

use eframe::egui;
use egui::{RichText, ScrollArea, Ui};

use crate::result::Point;
use crate::trust;
use crate::ui::plots::run_color;
use crate::ui::session::{Run, RunOrigin, RunStatus, Session};
use crate::ui::{ExportTarget, ExportTips, HeadedTable, export_row, format};
use crate::words;

/// What a button of the runs list or the results table asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunsAction {
    /// Show run `id`'s points in the table.
    Select(u64),
    /// Remove run `id` from the session.
    Remove(u64),
    /// Rename run `id` (a blank name is ignored: the legend needs one).
    Rename(u64, String),
    /// Write run `id` in a format, or a PNG of the plots; the extension is set already.
    Export(ExportTarget, u64, std::path::PathBuf),
    /// Copy snippet `index` of run `id`'s recommendation as code (0: the measured pool) to
    /// the clipboard.
    CopyCode(u64, usize),
}

/// What [`RunsAction::CopyCode`] copies, and the status line that says so; None when the
/// run has no such snippet (no count was recommended).
pub fn code_to_copy(run: &Run, index: usize) -> Option<(String, String)> {
    let recommendation = run.recommendation.as_ref()?;
    let snippet = recommendation.code.get(index)?;
    let threads = recommendation.recommended_threads?;
    let status = format!(
        "Copied the recommended {} as {} code to the clipboard ({} lines).",
        crate::model::code::count_text(&run.preset.pool, threads),
        snippet.language,
        snippet.snippet.lines().count()
    );
    Some((snippet.snippet.clone(), status))
}

/// The title of a finished run's PNG export, drawn above its plots
/// ([`format::plot_title`]); None until the run has a result (and so a machine).
pub fn png_title(run: &Run) -> Option<String> {
    let result = run.result.as_ref()?;
    Some(format::plot_title(
        &result.preset.name,
        &result.machine,
        result.outcome.started_unix_s,
    ))
}

/// The runs list: show or hide, rename, pick for the table, remove.
pub fn runs_ui(ui: &mut Ui, session: &mut Session, commands: &mut Vec<RunsAction>) {
    ui.heading("Runs");
    if session.runs().is_empty() {
        ui.weak("No runs yet. Configure a sweep on the left and press Run (or Space).");
        return;
    }
    let selected = session.selected_id();
    let ids: Vec<u64> = session.runs().iter().map(|r| r.id).collect();
    ScrollArea::vertical()
        .id_salt("runs_scroll")
        .auto_shrink([false, true])
        .show(ui, |ui| {
            for id in ids {
                let Some(run) = session.get_mut(id) else {
                    continue;
                };
                // Wrapped: on a narrow screen the buttons go to a second line instead of
                // being cut off at the edge.
                ui.horizontal_wrapped(|ui| {
                    let (rect, _) =
                        ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                    ui.painter().rect_filled(rect, 2.0, run_color(run.id));
                    ui.checkbox(&mut run.visible, "")
                        .accessible_name(format!("Show {} on the plots", run.name))
                        .on_hover_text("Show or hide this run on the plots.");
                    let mut name = run.name.clone();
                    let edit = ui
                        .add(egui::TextEdit::singleline(&mut name).desired_width(160.0))
                        .accessible_name(format!("Name of run {}", run.id + 1))
                        .on_hover_text("Rename the run (the legend follows).");
                    if edit.changed() {
                        commands.push(RunsAction::Rename(run.id, name));
                    }
                    match &run.status {
                        RunStatus::Failed(message) => {
                            ui.label(RichText::new("failed").color(ui.visuals().error_fg_color))
                                .on_hover_text(message.as_str());
                        }
                        other => {
                            ui.weak(format!(
                                "{} · {}/{} points",
                                other.label(),
                                run.points.len(),
                                run.planned_threads.len().max(run.points.len())
                            ));
                        }
                    }
                    if ui
                        .selectable_label(selected == Some(run.id), "Table")
                        .on_hover_text("Show this run's points in the table and export it.")
                        .clicked()
                    {
                        commands.push(RunsAction::Select(run.id));
                    }
                    let running = run.status == RunStatus::Running;
                    if ui
                        .add_enabled(!running, egui::Button::new("Remove"))
                        .on_hover_text("Remove this run from the session.")
                        .on_disabled_hover_text("Stop the run first.")
                        .clicked()
                    {
                        commands.push(RunsAction::Remove(run.id));
                    }
                });
                origin_ui(ui, run);
            }
        });
}

/// Under a run's row: the machine it was measured on (known once its engine has started),
/// and the file it was opened from.
fn origin_ui(ui: &mut Ui, run: &Run) {
    let machine = run.machine.as_ref().map(format::machine);
    let text = match (&run.origin, machine) {
        (RunOrigin::Measured, Some(machine)) => format!("measured here on {machine}"),
        (RunOrigin::Measured, None) => return,
        (RunOrigin::Opened(path), Some(machine)) => {
            format!("opened from {} · measured on {machine}", path.display())
        }
        (RunOrigin::Opened(path), None) => format!("opened from {}", path.display()),
    };
    ui.label(RichText::new(text).small().weak())
        .on_hover_text("The machine the run was measured on (host name, CPU model, CPUs usable by pooltune, physical cores, logical CPUs): the model of the run uses its CPUs.");
}

/// The column headings of the results table, with what each means.
const COLUMNS: [(&str, &str); 10] = [
    ("Threads", "Threads (or worker processes) in the pool."),
    (
        "Throughput",
        "Tasks completed per second (a command's work units), mean over the trials.",
    ),
    (
        "± 95% CI",
        "Half-width of the 95% confidence interval of the throughput.",
    ),
    ("p50", "Median task latency: half of the tasks took less."),
    (
        "p99",
        "99th percentile task latency: 1 task in 100 took longer.",
    ),
    (
        "CPU",
        "CPUs kept busy on average: process CPU time over wall time.",
    ),
    (
        "W/C",
        "Measured waiting over computation per task: (wall − CPU) / CPU.",
    ),
    (
        "Peak RSS",
        "Highest resident memory of pooltune's process during the trials. For a process pool, \
         \"+ … workers\" adds the sum of the worker processes' own peaks.",
    ),
    (
        "Switches",
        "Context switches per trial: voluntary (a thread blocked) / involuntary (a thread was preempted).",
    ),
    (
        "Others",
        "CPUs other processes kept busy during the trials (/proc/stat busy time minus pooltune's own). \
         \"disturbed\": more than 0.10 on average or 0.25 in one trial; the point is not this \
         workload's alone. \"retried\": trials measured again (retry_disturbed).",
    ),
];

/// A throughput for a cell or a hover text: "1905 tasks/s", "16.9 M bytes/s" (see
/// [`words::rate`]), "–" when unknown.
pub fn unit_rate(per_s: f64, unit: &str) -> String {
    if per_s.is_finite() {
        words::rate(per_s, unit)
    } else {
        format::UNKNOWN.to_owned()
    }
}

/// The text of each cell of a point's row, in [`COLUMNS`] order; rates in `unit`
/// ([`crate::model::throughput_unit`]).
pub fn table_row(p: &Point, unit: &str) -> [String; 10] {
    [
        p.threads.to_string(),
        unit_rate(p.throughput_per_s, unit),
        unit_rate(p.throughput_ci95_per_s, unit),
        format::micros(p.latency_p50_us),
        format::micros(p.latency_p99_us),
        format::number(p.cpu_utilization, 2),
        format::number(p.measured_wait_over_compute(), 2),
        if p.is_ok() {
            format::peak_rss(p)
        } else {
            format::UNKNOWN.to_owned()
        },
        format!(
            "{} / {}",
            format::number(p.voluntary_context_switches, 0),
            format::number(p.involuntary_context_switches, 0)
        ),
        others_cell(p),
    ]
}

/// Other processes' CPU use at a point: `1.40, disturbed, 2 retried`.
fn others_cell(p: &Point) -> String {
    let mut cell = format::number(p.other_cpu_utilization, 2);
    if p.disturbed {
        cell.push_str(", disturbed");
    }
    if p.retried_trials > 0 {
        cell.push_str(&format!(", {} retried", p.retried_trials));
    }
    cell
}

/// The most lines of the recommendation shown at once; it scrolls beyond.
const SENTENCE_LINES: f32 = 3.0;

/// The selected run's points, one row each, and the export controls.
pub fn table_ui(
    ui: &mut Ui,
    run: Option<&Run>,
    export_path: &mut String,
    commands: &mut Vec<RunsAction>,
) {
    let Some(run) = run else {
        ui.heading("Results");
        ui.weak("The points of a run appear here as they are measured.");
        return;
    };
    ui.horizontal_wrapped(|ui| {
        ui.heading("Results");
        ui.label(RichText::new(&run.name).color(run_color(run.id)).strong());
        if let Some(machine) = &run.machine {
            ui.weak(format!("Measured on {}", format::machine(machine)))
                .on_hover_text("The machine the run was measured on: the model (formula, bound, fit) uses its CPUs.");
        }
    });
    if let Some(recommendation) = &run.recommendation {
        let warnings = run
            .result
            .as_ref()
            .map_or(&[][..], |r| &r.outcome.warnings[..]);
        let sentence = trust::with_warnings(warnings, &recommendation.explanation);
        // At most a few lines high, scrolling beyond: a long answer (with its warnings)
        // leaves the table in view on a small screen.
        let line = ui.text_style_height(&egui::TextStyle::Body);
        ScrollArea::vertical()
            .id_salt("recommendation_scroll")
            .max_height(line * SENTENCE_LINES + 4.0)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                ui.label(RichText::new(sentence).strong())
                    .on_hover_text("The model's answer: the knee of the measured curve (the fewest threads within 5% of the best throughput), beside the formula N = N_cpu × U × (1 + W/C) (Goetz 2006) and the peak of the fitted scalability curve (Gunther's USL).");
            });
        ui.horizontal_wrapped(|ui| {
            copy_code_ui(ui, run.id, recommendation, &run.preset.pool, commands);
            ui.separator();
            export_ui(ui, run, export_path, commands);
        });
    } else {
        export_ui(ui, run, export_path, commands);
    }
    // An async pool's count is tasks in flight on its few worker threads.
    let mut columns = COLUMNS;
    if run.preset.pool.counts_tasks_in_flight() {
        columns[0] = (
            "Concurrency",
            "Tasks in flight at once (an async pool: the tasks share its few worker threads).",
        );
    }
    let table = HeadedTable {
        scroll_id: "results_scroll",
        grid_id: "results_table",
        columns: &columns,
        last_heading: Some("Error"),
        shrink_height: false,
        min_col_width: Some(48.0),
    };
    let unit = crate::model::throughput_unit(&run.preset.workload);
    table.ui(ui, |ui| {
        for point in &run.points {
            for cell in table_row(point, unit) {
                ui.label(cell);
            }
            match &point.error {
                Some(error) => {
                    ui.label(RichText::new(error).color(ui.visuals().error_fg_color));
                }
                None => {
                    ui.label("");
                }
            }
            ui.end_row();
        }
    });
}

/// Beside the sentence: Copy (the measured pool's code at the recommended count) and a
/// picker of the other languages, each of which copies its own.
fn copy_code_ui(
    ui: &mut Ui,
    id: u64,
    recommendation: &crate::model::Recommendation,
    pool: &crate::spec::PoolSpec,
    commands: &mut Vec<RunsAction>,
) {
    let (Some(first), Some(threads)) = (
        recommendation.code.first(),
        recommendation.recommended_threads,
    ) else {
        return;
    };
    ui.horizontal(|ui| {
        if ui
            .button("Copy code")
            .on_hover_text(format!(
                "Copy the recommended {} as {} code, to paste into your program.",
                crate::model::code::count_text(pool, threads),
                first.language
            ))
            .clicked()
        {
            commands.push(RunsAction::CopyCode(id, 0));
        }
        if recommendation.code.len() > 1 {
            ui.menu_button("Other languages", |ui| {
                for (index, snippet) in recommendation.code.iter().enumerate().skip(1) {
                    if ui
                        .button(&snippet.language)
                        .on_hover_text(format!("Copy the {} code.", snippet.language))
                        .clicked()
                    {
                        commands.push(RunsAction::CopyCode(id, index));
                        ui.close();
                    }
                }
            })
            .response
            .on_hover_text("The same count in another language or API.");
        }
    });
}

fn export_ui(ui: &mut Ui, run: &Run, export_path: &mut String, commands: &mut Vec<RunsAction>) {
    let tips = ExportTips {
        csv: "One row per point, the same columns as the JSON points.",
        json: "The whole result: machine, preset and every point (the format of `pooltune sweep --format json`).",
        png: "A picture of both plots as they are shown now.",
    };
    if let Some((target, path)) = export_row(ui, export_path, run.result.is_some(), &tips) {
        commands.push(RunsAction::Export(target, run.id, path));
    }
}
