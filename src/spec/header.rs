//! The header every experiment file starts with (`schema_version`, `name`, `description`),
//! checked once for sweep files and comparison files alike. It never looks past the header.

use std::path::Path;

use super::{InvalidValue, invalid, limits};
use crate::error::PresetError;

/// The newest preset format this build understands.
pub const SCHEMA_VERSION: u32 = 1;

/// The header of an experiment file, borrowed from the parsed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// Format version of the file; a newer one than [`SCHEMA_VERSION`] is refused.
    pub schema_version: u32,
    /// A short name shown in lists, on plots and above the chart.
    pub name: &'a str,
    /// One or two sentences: what the experiment shows.
    pub description: &'a str,
}

/// Checks the header's values: a schema this build reads, and a name of 1 to
/// [`limits::MAX_NAME_CHARS`] characters.
pub fn check(schema_version: u32, name: &str) -> Result<(), InvalidValue> {
    if schema_version == 0 || schema_version > SCHEMA_VERSION {
        return Err(invalid(
            "schema_version",
            schema_version,
            format!("this pooltune reads schema_version 1 to {SCHEMA_VERSION}"),
        ));
    }
    if name.trim().is_empty() || name.chars().count() > limits::MAX_NAME_CHARS {
        return Err(invalid(
            "name",
            format!("{name:?}"),
            format!("a name of 1 to {} characters", limits::MAX_NAME_CHARS),
        ));
    }
    Ok(())
}

/// Refuses a file written by a newer pooltune before its structure is checked: a future file
/// may have keys this build cannot know, and "unknown field" would be the wrong thing to say.
pub fn refuse_newer(text: &str, origin: &Path) -> Result<(), PresetError> {
    if let Ok(table) = text.parse::<toml::Table>()
        && let Some(version) = table.get("schema_version").and_then(|v| v.as_integer())
        && version > i64::from(SCHEMA_VERSION)
    {
        return Err(PresetError::SchemaTooNew {
            path: origin.to_path_buf(),
            found: u32::try_from(version).unwrap_or(u32::MAX),
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}
