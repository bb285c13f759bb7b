//! Errors a user reads, one enum per domain. Each message says what went wrong and what to do.

use std::path::PathBuf;

use crate::spec::InvalidValue;

/// A preset that could not be read, parsed, validated or saved.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    /// The file could not be read or written.
    #[error("{}: {}", one_line(&path.display().to_string()), one_line(&source.to_string()))]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The TOML is malformed, or has a key or kind pooltune does not know.
    #[error("{}: {}{}{}", location(path, *line, *column), field.as_ref().map(|f| format!("`{}`{}: ", one_line(f), index_note(f))).unwrap_or_default(), one_line(message), suggestion.as_ref().map(|s| format!(" (did you mean `{}`?)", one_line(s))).unwrap_or_default())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem (0 when unknown).
        line: usize,
        /// 1-based column of the problem (0 when unknown).
        column: usize,
        /// The field the problem is about, as a dotted path (`workload.compute_us`), when known.
        field: Option<String>,
        /// What the parser said.
        message: String,
        /// The allowed name closest to an unknown one.
        suggestion: Option<String>,
    },
    /// A value is out of its allowed range.
    #[error("{}: {invalid}", location(path, *line, *column))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending key (0 when unknown, as for a value given by a
        /// command-line flag).
        line: usize,
        /// 1-based column of the offending key (0 when unknown).
        column: usize,
        /// Which field, what value, what is allowed.
        invalid: InvalidValue,
    },
    /// The file was written by a newer pooltune.
    #[error("{}: schema_version {found} is newer than this pooltune understands (up to {supported}); upgrade pooltune to read it", path.display())]
    SchemaTooNew {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// The preset could not be turned into TOML.
    #[error("could not write the preset as TOML: {message}")]
    Serialize {
        /// What the serializer said.
        message: String,
    },
}

/// A sweep that could not run at all (a failing point is not an error: it is a point with
/// its `error` set, and the sweep carries on).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The preset is not valid.
    #[error("invalid preset: {0}")]
    InvalidPreset(InvalidValue),
    /// The engine's own thread could not be started.
    #[error("could not start the engine thread: {0}")]
    Spawn(std::io::Error),
    /// A run via `--via` could not start or gave no result (see [`crate::remote`]).
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
}

/// `FILE:LINE:COLUMN`, or only `FILE` when the line is not known (0).
fn location(path: &std::path::Path, line: usize, column: usize) -> String {
    let file = one_line(&path.display().to_string());
    match (line, column) {
        (0, _) => file,
        (line, 0) => format!("{file}:{line}"),
        (line, column) => format!("{file}:{line}:{column}"),
    }
}

/// What the first index in a field name means, so that `series[2]` cannot be read as counted
/// from 0: ` (the 2nd [[series]])`, ` (the 3rd value)`; empty for a field without one.
/// Indexes in field names count from 1, as a reader counts tables and values.
pub fn index_note(field: &str) -> String {
    let Some((key, rest)) = field.split_once('[') else {
        return String::new();
    };
    let Some(n) = rest
        .split_once(']')
        .and_then(|(n, _)| n.parse::<usize>().ok())
    else {
        return String::new();
    };
    let key = key.rsplit('.').next().unwrap_or(key);
    let what = if key == "series" {
        "[[series]]".to_owned()
    } else {
        format!("value of `{key}`")
    };
    format!(" (the {} {what})", ordinal(n))
}

/// `1st`, `2nd`, `3rd`, `4th`, `11th`, `21st`, ...
pub fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// `text` on one line: a newline, carriage return or other control character in a value
/// the user wrote is shown escaped (`\n`), so that every error stays one line.
pub fn one_line(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| match c {
            '\n' => "\\n".to_owned(),
            '\r' => "\\r".to_owned(),
            '\t' => "\\t".to_owned(),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped_onto_one_line() {
        assert_eq!(super::one_line("a\nb\r\tc\u{7}"), "a\\nb\\r\\tc\\u{7}");
        assert_eq!(super::one_line("plain `x`"), "plain `x`");
    }

    #[test]
    fn an_index_in_a_field_is_said_as_counted_from_one() {
        assert_eq!(
            super::index_note("series[2].pool.feeding"),
            " (the 2nd [[series]])"
        );
        assert_eq!(
            super::index_note("sweep.threads[5001]"),
            " (the 5001st value of `threads`)"
        );
        assert_eq!(super::index_note("workload.compute_us"), "");
        let ordinals: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 111, 112]
            .map(super::ordinal)
            .into();
        assert_eq!(
            ordinals,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "111th",
                "112th"
            ]
        );
    }
}
