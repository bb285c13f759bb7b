//! Reading a result file back: the JSON that `pooltune sweep`, `compare` and `cost` write
//! (`--format json`, `--export-json`, the app's JSON export), of any `format_version` this
//! pooltune understands, into the result type it was written from. The app's `open`, its
//! File ▸ Open and a file dropped on its window all read through [`open`]; so does the CLI's
//! check of `pooltune open FILE…` before any window opens.
//!
//! A file is told by its keys, not by its name: a sweep has `points`, a comparison `series`,
//! a worker-cost result `thread_stack_bytes`. A newer `format_version`, a damaged file or a
//! file of another program is refused with the file, the line and column, the field (as a
//! dotted path) and the reason ([`OpenError`]). This module only reads: it never writes,
//! never measures and never draws.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::cost::CostResult;
use crate::error::{index_note, one_line};
use crate::machine::MachineInfo;
use crate::result::comparison::ComparisonResult;
use crate::result::{RESULT_FORMAT_VERSION, SweepResult};

/// The top-level key that tells each kind of result, in the order they are tried, with the
/// kind's name in the user's words.
const KIND_KEYS: [(&str, &str); 3] = [
    ("series", "a comparison"),
    ("points", "a sweep"),
    ("thread_stack_bytes", "a worker-cost result"),
];

/// A result file as read: its kind and its content.
#[derive(Debug, Clone, PartialEq)]
pub enum OpenedResult {
    /// `pooltune sweep --format json`: one series of points.
    Sweep(SweepResult),
    /// `pooltune compare --format json`: several series.
    Comparison(ComparisonResult),
    /// `pooltune cost --format json`: what a worker costs.
    Cost(CostResult),
}

impl OpenedResult {
    /// The kind in the user's words: "sweep", "comparison", "worker-cost result".
    pub fn kind_name(&self) -> &'static str {
        match self {
            OpenedResult::Sweep(_) => "sweep",
            OpenedResult::Comparison(_) => "comparison",
            OpenedResult::Cost(_) => "worker-cost result",
        }
    }

    /// The machine the result was measured on (the model of an opened sweep uses its CPUs).
    pub fn machine(&self) -> &MachineInfo {
        match self {
            OpenedResult::Sweep(result) => &result.machine,
            OpenedResult::Comparison(result) => &result.machine,
            OpenedResult::Cost(result) => &result.machine,
        }
    }
}

/// Why a result file could not be opened. Each message starts with the file and says what
/// to do; nothing of it is read when any part is wrong.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file could not be read.
    #[error("{}: could not read the file: {}", shown(path), one_line(&source.to_string()))]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not valid JSON, is cut short, or a field has the wrong type or is missing.
    #[error("{}: {}{}", location(path, *line, *column), field.as_ref().map(|f| format!("`{}`{}: ", one_line(f), index_note(f))).unwrap_or_default(), one_line(reason))]
    Damaged {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem (0 when unknown).
        line: usize,
        /// 1-based column of the problem (0 when unknown).
        column: usize,
        /// The field, as a dotted path with 1-based indexes (`points[3].threads`), when known.
        field: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// The file was written by a newer pooltune.
    #[error("{}: `format_version` {found} is newer than this pooltune ({}) reads (up to {supported}): open it with a newer pooltune", location(path, *line, *column), env!("CARGO_PKG_VERSION"))]
    TooNew {
        /// The file.
        path: PathBuf,
        /// 1-based line of the `format_version` key.
        line: usize,
        /// 1-based column of the `format_version` key.
        column: usize,
        /// The version in the file.
        found: u64,
        /// The newest version this build reads.
        supported: u32,
    },
    /// Valid JSON, but not a result pooltune writes.
    #[error(
        "{}: not a pooltune result: {found}; pooltune opens the JSON that `pooltune sweep`, `compare` and `cost` write (`--format json`): a sweep (with a top-level `points`), a comparison (`series`) or a worker-cost result (`thread_stack_bytes`)",
        shown(path)
    )]
    NotAResult {
        /// The file.
        path: PathBuf,
        /// What the file holds instead, in words ("its top-level keys are name, version").
        found: String,
    },
}

impl OpenError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            OpenError::Read { path, .. }
            | OpenError::Damaged { path, .. }
            | OpenError::TooNew { path, .. }
            | OpenError::NotAResult { path, .. } => path,
        }
    }
}

/// The path as shown in a message, on one line.
fn shown(path: &Path) -> String {
    one_line(&path.display().to_string())
}

/// `FILE:LINE:COLUMN`, or `FILE` when the line is not known (0).
fn location(path: &Path, line: usize, column: usize) -> String {
    match (line, column) {
        (0, _) => shown(path),
        (line, 0) => format!("{}:{line}", shown(path)),
        (line, column) => format!("{}:{line}:{column}", shown(path)),
    }
}

/// Reads the result file at `path`: a sweep, a comparison or a worker-cost result, told by
/// its keys. Refused, with the file, the field and the reason: a file that cannot be read,
/// that is not JSON or is cut short, whose `format_version` is newer than
/// [`RESULT_FORMAT_VERSION`] (absent: 1), that is another program's JSON, or whose fields do
/// not read as the result they claim to be.
pub fn open(path: &Path) -> Result<OpenedResult, OpenError> {
    let text = std::fs::read_to_string(path).map_err(|source| OpenError::Read {
        path: path.to_owned(),
        source,
    })?;
    read(path, &text)
}

/// [`open`] of `text`, read from `path` (named in errors).
pub fn read(path: &Path, text: &str) -> Result<OpenedResult, OpenError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|err| damaged(path, text, &err))?;
    let Some(object) = value.as_object() else {
        return Err(OpenError::NotAResult {
            path: path.to_owned(),
            found: format!("the file holds {}, not an object", json_kind(&value)),
        });
    };
    if let Some(version) = object.get("format_version") {
        let (line, column) = top_level_key_position(text, "format_version");
        match version.as_u64() {
            Some(found) if found > u64::from(RESULT_FORMAT_VERSION) => {
                return Err(OpenError::TooNew {
                    path: path.to_owned(),
                    line,
                    column,
                    found,
                    supported: RESULT_FORMAT_VERSION,
                });
            }
            Some(found) if found >= 1 => {}
            _ => {
                return Err(OpenError::Damaged {
                    path: path.to_owned(),
                    line,
                    column,
                    field: Some("format_version".to_owned()),
                    reason: format!(
                        "must be a whole number from 1 to {RESULT_FORMAT_VERSION}, found {version}"
                    ),
                });
            }
        }
    }
    let kind = KIND_KEYS
        .iter()
        .find(|(key, _)| object.contains_key(*key))
        .map(|(key, _)| *key);
    match kind {
        Some("series") => typed(path, text).map(OpenedResult::Comparison),
        Some("points") => typed(path, text).map(OpenedResult::Sweep),
        Some(_) => typed(path, text).map(OpenedResult::Cost),
        None => {
            let mut keys: Vec<&str> = object.keys().map(String::as_str).take(8).collect();
            if object.len() > keys.len() {
                keys.push("…");
            }
            let found = if keys.is_empty() {
                "the file holds an empty object".to_owned()
            } else {
                format!("its top-level keys are {}", keys.join(", "))
            };
            Err(OpenError::NotAResult {
                path: path.to_owned(),
                found,
            })
        }
    }
}

/// The result of type `T` in `text`, or where and why it does not read as one.
fn typed<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, OpenError> {
    serde_json::from_str(text).map_err(|err| damaged(path, text, &err))
}

/// What a value is, in words: "an array", "a number".
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// serde_json's error as the file, line, column, field and reason.
fn damaged(path: &Path, text: &str, err: &serde_json::Error) -> OpenError {
    let (line, column) = (err.line(), err.column());
    let full = err.to_string();
    let suffix = format!(" at line {line} column {column}");
    let mut reason = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    let mut field = None;
    match err.classify() {
        serde_json::error::Category::Eof => {
            reason.push_str(" (the file ends early: it was cut short)");
        }
        serde_json::error::Category::Syntax => {
            if path.extension().is_some_and(|e| e == "toml") {
                reason.push_str(
                    " (this looks like a preset, not a result: open a preset with `pooltune --preset FILE`)",
                );
            }
        }
        serde_json::error::Category::Data => {
            // "missing field" is reported at the end of the object that lacks it: the field
            // is that object, not the last key read in it.
            let in_container = reason.starts_with("missing field");
            field = field_at(text, line, column, in_container);
        }
        serde_json::error::Category::Io => {}
    }
    OpenError::Damaged {
        path: path.to_owned(),
        line,
        column,
        field,
        reason,
    }
}

/// One open object or array while walking the JSON text.
enum Frame {
    /// In an object: the last key read (None right after `{` or a comma).
    Object(Option<String>),
    /// In an array: the 0-based index of the value being read.
    Array(usize),
}

/// The byte offset of 1-based `line` and `column` in `text` (clamped to its length).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(at, _)| at + 1)
    };
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// The open objects and arrays at byte `end` of `text`, outermost first: a small walk of
/// the JSON's brackets, strings and commas (the text parsed as JSON up to there already).
fn frames_at(text: &str, end: usize) -> Vec<Frame> {
    let bytes = text.as_bytes();
    let mut frames: Vec<Frame> = Vec::new();
    let mut at = 0;
    while at < end {
        match bytes[at] {
            b'"' => {
                let start = at + 1;
                let mut close = start;
                while close < bytes.len() && bytes[close] != b'"' {
                    close += if bytes[close] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Object(key @ None)) = frames.last_mut() {
                    *key = text.get(start..close.min(bytes.len())).map(str::to_owned);
                }
                at = close + 1;
                continue;
            }
            b'{' => frames.push(Frame::Object(None)),
            b'[' => frames.push(Frame::Array(0)),
            b'}' | b']' => {
                frames.pop();
            }
            b',' => match frames.last_mut() {
                Some(Frame::Object(key)) => *key = None,
                Some(Frame::Array(index)) => *index += 1,
                None => {}
            },
            _ => {}
        }
        at += 1;
    }
    frames
}

/// The dotted field at 1-based `line` and `column` of `text` (`points[3].threads`, indexes
/// counted from 1); with `container`, the object holding that position rather than its last
/// key. None at the top level.
fn field_at(text: &str, line: usize, column: usize, container: bool) -> Option<String> {
    let mut frames = frames_at(text, offset_of(text, line, column));
    if container && let Some(Frame::Object(key)) = frames.last_mut() {
        *key = None;
    }
    let mut field = String::new();
    for frame in &frames {
        match frame {
            Frame::Object(Some(key)) => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(key);
            }
            Frame::Object(None) => {}
            Frame::Array(index) => field.push_str(&format!("[{}]", index + 1)),
        }
    }
    (!field.is_empty()).then_some(field)
}

/// The 1-based line and column of top-level `key` in `text`; (0, 0) when not found.
fn top_level_key_position(text: &str, key: &str) -> (usize, usize) {
    let quoted = format!("\"{key}\"");
    text.match_indices(&quoted)
        .map(|(at, _)| at)
        .find(|&at| {
            let frames = frames_at(text, at);
            frames.len() == 1 && matches!(frames[0], Frame::Object(None))
        })
        .map_or((0, 0), |at| {
            let before = &text[..at];
            let line = before.matches('\n').count() + 1;
            let column = at - before.rfind('\n').map_or(0, |nl| nl + 1) + 1;
            (line, column)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{self, Format};
    use crate::model::fixtures::{WEB, result, web_points};

    fn sweep_json() -> String {
        String::from_utf8(export::export(&result(web_points(), WEB), Format::Json).unwrap())
            .unwrap()
    }

    fn read_text(text: &str) -> Result<OpenedResult, OpenError> {
        read(Path::new("/tmp/run.json"), text)
    }

    /// The same result serialises to the same JSON (NaN, which equals nothing, as null).
    fn same_json<T: serde::Serialize>(a: &T, b: &T) {
        assert_eq!(
            serde_json::to_value(a).unwrap(),
            serde_json::to_value(b).unwrap()
        );
    }

    #[test]
    fn each_kind_reads_back_from_its_json_export() {
        let sweep = result(web_points(), WEB);
        match read_text(&sweep_json()).unwrap() {
            OpenedResult::Sweep(back) => same_json(&back, &sweep),
            other => panic!("read as a {}", other.kind_name()),
        }
        let comparison = export::fixtures::comparison();
        let text = String::from_utf8(export::export(&comparison, Format::Json).unwrap()).unwrap();
        match read_text(&text).unwrap() {
            OpenedResult::Comparison(back) => {
                same_json(&back, &comparison);
                assert_eq!(back.machine.host_name, "test-host");
            }
            other => panic!("read as a {}", other.kind_name()),
        }
        let cost = export::fixtures::cost();
        let text = String::from_utf8(export::export(&cost, Format::Json).unwrap()).unwrap();
        match read_text(&text).unwrap() {
            OpenedResult::Cost(back) => same_json(&back, &cost),
            other => panic!("read as a {}", other.kind_name()),
        }
    }

    #[test]
    fn a_file_without_format_version_reads_as_version_1() {
        let mut json: serde_json::Value = serde_json::from_str(&sweep_json()).unwrap();
        json.as_object_mut().unwrap().remove("format_version");
        let opened = read_text(&json.to_string()).unwrap();
        assert_eq!(opened.kind_name(), "sweep");
    }

    #[test]
    fn a_newer_format_version_is_refused_naming_it() {
        let text = sweep_json().replacen("\"format_version\": 1", "\"format_version\": 2", 1);
        let err = read_text(&text).unwrap_err();
        assert!(matches!(err, OpenError::TooNew { found: 2, .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message
                .starts_with("/tmp/run.json:2:3: `format_version` 2 is newer than this pooltune"),
            "{message}"
        );
        assert!(message.contains("(up to 1)"), "{message}");
        let text = sweep_json().replacen("\"format_version\": 1", "\"format_version\": \"one\"", 1);
        let message = read_text(&text).unwrap_err().to_string();
        assert!(
            message.starts_with("/tmp/run.json:2:3: `format_version`: must be a whole number from 1 to 1, found \"one\""),
            "{message}"
        );
    }

    #[test]
    fn a_truncated_file_is_refused_naming_line_and_column() {
        let text = sweep_json();
        let cut = &text[..text.len() / 2];
        let err = read_text(cut).unwrap_err();
        let OpenError::Damaged { line, column, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(*line, cut.lines().count(), "{err}");
        assert!(*column > 0);
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("/tmp/run.json:{line}:{column}: EOF while parsing")),
            "{message}"
        );
        assert!(message.contains("cut short"), "{message}");
    }

    #[test]
    fn a_wrong_field_is_named_by_its_path() {
        // The 3rd point's thread count as a string.
        let mut json: serde_json::Value = serde_json::from_str(&sweep_json()).unwrap();
        json["points"][2]["threads"] = "four".into();
        let text = serde_json::to_string_pretty(&json).unwrap();
        let err = read_text(&text).unwrap_err();
        let OpenError::Damaged { field, line, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(field.as_deref(), Some("points[3].threads"), "{err}");
        let line_text = text.lines().nth(line - 1).unwrap();
        assert!(line_text.contains("\"four\""), "{line_text}");
        assert!(
            err.to_string()
                .contains("`points[3].threads` (the 3rd value of `points`): invalid type: string \"four\", expected usize"),
            "{err}"
        );
        // A missing field names the object that lacks it.
        let mut json: serde_json::Value = serde_json::from_str(&sweep_json()).unwrap();
        json["machine"]
            .as_object_mut()
            .unwrap()
            .remove("usable_cpus");
        let err = read_text(&serde_json::to_string_pretty(&json).unwrap()).unwrap_err();
        assert!(
            err.to_string()
                .contains("`machine`: missing field `usable_cpus`"),
            "{err}"
        );
    }

    #[test]
    fn another_programs_json_is_refused_saying_what_is_read() {
        let err = read_text(r#"{"name": "left-pad", "version": "1.3.0"}"#).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, OpenError::NotAResult { .. }), "{err:?}");
        assert!(
            message.starts_with(
                "/tmp/run.json: not a pooltune result: its top-level keys are name, version; "
            ),
            "{message}"
        );
        for kind in [
            "a sweep",
            "a comparison",
            "a worker-cost result",
            "--format json",
        ] {
            assert!(message.contains(kind), "{kind}: {message}");
        }
        let message = read_text("[1, 2]").unwrap_err().to_string();
        assert!(
            message.contains("the file holds an array, not an object"),
            "{message}"
        );
    }

    #[test]
    fn a_preset_given_for_a_result_says_so_and_a_missing_file_names_it() {
        let err = read(Path::new("cpu.toml"), "# CPU-bound\nname = \"cpu\"\n").unwrap_err();
        assert!(
            err.to_string().starts_with("cpu.toml:1:1: expected value"),
            "{err}"
        );
        assert!(err.to_string().contains("pooltune --preset FILE"), "{err}");
        let err = open(Path::new("/nonexistent/run.json")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/nonexistent/run.json: could not read the file: No such file"),
            "{err}"
        );
        assert_eq!(err.path(), Path::new("/nonexistent/run.json"));
    }

    #[test]
    fn fields_are_found_through_nesting_and_strings_with_brackets() {
        let text = "{\"a\": {\"b,[\": [1, {\"c\": x";
        let at = text.len();
        assert_eq!(field_at(text, 1, at, false).as_deref(), Some("a.b,[[2].c"));
        assert_eq!(field_at(text, 1, at, true).as_deref(), Some("a.b,[[2]"));
        assert_eq!(field_at("{", 1, 1, false), None);
        assert_eq!(
            top_level_key_position("{\"x\": {\"k\": 1}, \"k\": 2}", "k"),
            (1, 17)
        );
    }
}
