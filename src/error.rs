//! Errors a user reads, one enum per domain. Each message says what went wrong and what to do.

use std::path::PathBuf;

use crate::preset::InvalidValue;

/// A preset that could not be read, parsed, validated or saved.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The TOML is malformed, or has a key or kind pooltune does not know.
    #[error("{}:{line}:{column}: {}{message}{}", path.display(), field.as_ref().map(|f| format!("`{f}`: ")).unwrap_or_default(), suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
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
    #[error("{}: {invalid}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
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
