//! Errors a user reads, one enum per domain. Each message says what went wrong and what to do.

use std::path::PathBuf;

use crate::preset::InvalidValue;

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
    #[error("{}: {}{}{}", location(path, *line, *column), field.as_ref().map(|f| format!("`{}`: ", one_line(f))).unwrap_or_default(), one_line(message), suggestion.as_ref().map(|s| format!(" (did you mean `{}`?)", one_line(s))).unwrap_or_default())]
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
}
