//! The engine's events as JSON lines (`pooltune sweep --events`, `pooltune compare
//! --events`): one object per line, each with `format_version` and a `type` (`started`,
//! `progress`, `point`, `series_failed`, `finished`), flushed line by line so that a reader
//! sees each event as it happens. The last line, `finished`, carries the whole result: the
//! object `--format json` writes. [`crate::remote`] reads these lines back on the other side
//! of `--via`, so every line type here is both written and read.
//!
//! This module only turns events into lines and lines into events: it never runs anything,
//! never prints a table and never decides what a stopped or failed run means.

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::engine::{self, Progress, Started};
use crate::result::{Point, RESULT_FORMAT_VERSION};

/// One line of the stream: its `format_version` ([`RESULT_FORMAT_VERSION`]) first, then its
/// `type` and that type's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventLine {
    /// The version of the lines and of the result in `finished`; a reader refuses a newer one.
    pub format_version: u32,
    /// What happened.
    #[serde(flatten)]
    pub event: LineEvent,
}

/// What one line says, told apart by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LineEvent {
    /// The run has started: the machine, the calibration, the thread counts in order, the
    /// trials per count and the series (label, kind, interpreter), as the engine's
    /// [`Started`], its fields at the top level of the line.
    Started(Box<Started>),
    /// A warm-up or a trial of series `series` has finished; `progress` says how far the
    /// whole run has got (steps done and in all, seconds so far and planned).
    Progress {
        /// Index of the series being measured.
        series: usize,
        /// How far the run has got.
        progress: Progress,
    },
    /// Series `series` has measured one thread count: `point` has the fields of a point in
    /// the JSON result (its `error` set when it failed).
    Point {
        /// Index of the series.
        series: usize,
        /// The point.
        point: Point,
    },
    /// Series `series` stopped for good (or never started); `message` says why.
    SeriesFailed {
        /// Index of the series.
        series: usize,
        /// Why, and what to do.
        message: String,
    },
    /// The run is over (finished or stopped): `result` is the object `--format json` writes
    /// (a sweep's result with its `recommendation`, or a comparison's result).
    Finished {
        /// The whole result.
        result: serde_json::Value,
    },
}

impl EventLine {
    /// `event` as a line of this pooltune's format.
    pub fn new(event: LineEvent) -> EventLine {
        EventLine {
            format_version: RESULT_FORMAT_VERSION,
            event,
        }
    }

    /// The line for one engine event; None for [`engine::Event::Finished`], whose line
    /// carries the exported result instead ([`EventLine::finished`]).
    pub fn of_engine(event: &engine::Event) -> Option<EventLine> {
        let event = match event {
            engine::Event::Started(started) => LineEvent::Started(started.clone()),
            engine::Event::Progress { series, progress } => LineEvent::Progress {
                series: *series,
                progress: progress.clone(),
            },
            engine::Event::Point { series, point } => LineEvent::Point {
                series: *series,
                point: point.clone(),
            },
            engine::Event::SeriesFailed { series, message } => LineEvent::SeriesFailed {
                series: *series,
                message: message.clone(),
            },
            engine::Event::Finished(_) => return None,
        };
        Some(EventLine::new(event))
    }

    /// Reads one line. A line of a newer format than this pooltune's is refused before its
    /// fields are read, so that the message says "newer", not a missing field.
    pub fn parse(line: &str) -> Result<EventLine, LineError> {
        #[derive(Deserialize)]
        struct VersionOnly {
            format_version: Option<u32>,
        }
        let version = serde_json::from_str::<VersionOnly>(line)
            .map_err(|err| LineError::NotJson(err.to_string()))?
            .format_version
            .ok_or(LineError::NoVersion)?;
        if version > RESULT_FORMAT_VERSION {
            return Err(LineError::Newer(version));
        }
        serde_json::from_str(line).map_err(|err| LineError::Fields(err.to_string()))
    }
}

/// Why a line could not be read as an event.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LineError {
    /// Not a JSON object at all.
    #[error("it is not a JSON object ({0})")]
    NotJson(String),
    /// A JSON object without `format_version`.
    #[error("it has no format_version")]
    NoVersion,
    /// Written by a newer pooltune.
    #[error(
        "its format_version is {0}, newer than this pooltune's {RESULT_FORMAT_VERSION}: \
         install the same pooltune on both sides"
    )]
    Newer(u32),
    /// The right version, but not the fields of any event type.
    #[error("it is not an event of this pooltune ({0})")]
    Fields(String),
}

/// Writes event lines to `out` (standard output for `--events`), one JSON object and a
/// newline per event, flushed each time. A write that fails (the reader went away) is kept
/// and returned by every later call, so that the run can be stopped.
pub struct Writer<W: Write> {
    out: W,
}

impl<W: Write> Writer<W> {
    /// Lines to `out`.
    pub fn new(out: W) -> Writer<W> {
        Writer { out }
    }

    /// Writes and flushes one line.
    pub fn write(&mut self, line: &EventLine) -> std::io::Result<()> {
        let mut bytes = serde_json::to_vec(line)?;
        bytes.push(b'\n');
        self.out.write_all(&bytes)?;
        self.out.flush()
    }

    /// Writes the `finished` line for a result exported as JSON (`json`: the bytes
    /// `--format json` writes): that object exactly, its keys in their order, on one line.
    pub fn finished(&mut self, json: &[u8]) -> std::io::Result<()> {
        let result = std::str::from_utf8(json)
            .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err))?;
        // Checked, so that a line that does not parse is never written.
        serde_json::from_str::<serde::de::IgnoredAny>(result)?;
        let line = format!(
            "{{\"format_version\":{RESULT_FORMAT_VERSION},\"type\":\"finished\",\"result\":{}}}\n",
            compact(result)
        );
        self.out.write_all(line.as_bytes())?;
        self.out.flush()
    }

    /// Writes the line of an engine event (nothing for `Finished`; see
    /// [`EventLine::of_engine`]).
    pub fn engine_event(&mut self, event: &engine::Event) -> std::io::Result<()> {
        match EventLine::of_engine(event) {
            Some(line) => self.write(&line),
            None => Ok(()),
        }
    }
}

/// JSON text without the whitespace between its tokens (a pretty-printed result on one
/// line); strings, numbers and the order of keys are kept as they are.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::MachineInfo;
    use crate::model::fixtures::ok_point;
    use crate::result::Calibration;
    use crate::spec::SeriesKind;

    fn started() -> Started {
        Started {
            machine: MachineInfo::detect(),
            calibration: Calibration {
                spin_units_per_us: 123.5,
                timer_cost_ns: 17.25,
            },
            thread_counts: vec![1, 2, 4],
            trials: 3,
            series: vec![engine::SeriesInfo {
                label: "cpu".into(),
                kind: SeriesKind::Rust,
                interpreter: None,
            }],
        }
    }

    /// Every engine event but `Finished` becomes one line that reads back as the same event,
    /// with `format_version` first and the documented `type`; a failed point's NaNs survive.
    #[test]
    fn each_engine_event_reads_back_as_written() {
        let failed = Point::failed(8, "boom");
        let events = [
            engine::Event::Started(Box::new(started())),
            engine::Event::Progress {
                series: 0,
                progress: Progress {
                    threads: 2,
                    point_index: 1,
                    points: 3,
                    steps_done: 5,
                    steps_total: 12,
                    elapsed_s: 1.5,
                    planned_s: None,
                    exact: true,
                },
            },
            engine::Event::Point {
                series: 0,
                point: ok_point(2, 1000.0),
            },
            engine::Event::Point {
                series: 0,
                point: failed.clone(),
            },
            engine::Event::SeriesFailed {
                series: 1,
                message: "no python".into(),
            },
        ];
        let types = ["started", "progress", "point", "point", "series_failed"];
        for (event, kind) in events.iter().zip(types) {
            let mut bytes = Vec::new();
            Writer::new(&mut bytes).engine_event(event).unwrap();
            let text = String::from_utf8(bytes).unwrap();
            assert!(
                text.ends_with('\n') && text.matches('\n').count() == 1,
                "{text}"
            );
            assert!(
                text.starts_with(&format!(
                    "{{\"format_version\":{RESULT_FORMAT_VERSION},\"type\":\"{kind}\""
                )),
                "{text}"
            );
            let line = EventLine::parse(text.trim_end()).unwrap();
            // Compared as JSON: a failed point's NaNs are not equal to themselves.
            let json = |line: &EventLine| serde_json::to_value(line).unwrap();
            assert_eq!(
                json(&line),
                json(&EventLine::of_engine(event).unwrap()),
                "{text}"
            );
            assert!(matches!(
                (&line.event, event),
                (LineEvent::Started(_), engine::Event::Started(_))
                    | (LineEvent::Progress { .. }, engine::Event::Progress { .. })
                    | (LineEvent::Point { .. }, engine::Event::Point { .. })
                    | (
                        LineEvent::SeriesFailed { .. },
                        engine::Event::SeriesFailed { .. }
                    )
            ));
            if let LineEvent::Point { point, .. } = &line.event
                && point.error.is_some()
            {
                assert!(point.throughput_per_s.is_nan());
                assert_eq!(point.error, failed.error);
            }
        }
    }

    #[test]
    fn a_newer_or_foreign_line_is_refused_with_the_reason() {
        assert_eq!(
            EventLine::parse(r#"{"format_version":99,"type":"point"}"#),
            Err(LineError::Newer(99))
        );
        assert_eq!(
            EventLine::parse(r#"{"type":"point"}"#),
            Err(LineError::NoVersion)
        );
        assert!(matches!(
            EventLine::parse("hello"),
            Err(LineError::NotJson(_))
        ));
        assert!(matches!(
            EventLine::parse(r#"{"format_version":1,"type":"dance"}"#),
            Err(LineError::Fields(_))
        ));
        let newer = LineError::Newer(99).to_string();
        assert!(newer.contains("newer than this pooltune's 1"), "{newer}");
    }

    #[test]
    fn the_finished_line_holds_the_exported_object_on_one_line() {
        let json = b"{\n  \"format_version\": 1,\n  \"name\": \"a \\\" b\\\\\",\n  \"points\": [null, 2.5],\n  \"a\": {\"x y\": \"\\n\"}\n}\n";
        let mut bytes = Vec::new();
        Writer::new(&mut bytes).finished(json).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(
            text,
            "{\"format_version\":1,\"type\":\"finished\",\"result\":{\"format_version\":1,\
             \"name\":\"a \\\" b\\\\\",\"points\":[null,2.5],\"a\":{\"x y\":\"\\n\"}}}\n"
        );
        let line = EventLine::parse(text.trim_end()).unwrap();
        let LineEvent::Finished { result } = &line.event else {
            panic!("{line:?}")
        };
        assert_eq!(
            result,
            &serde_json::from_slice::<serde_json::Value>(json).unwrap()
        );
        assert!(
            Writer::new(&mut Vec::new())
                .finished(b"{\"cut\": ")
                .is_err()
        );
    }
}
