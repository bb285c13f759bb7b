//! A user's own Python function as a workload (`kind = "python"`): which function
//! (`module:function`), where its module is found, the arguments it is called with and the
//! interpreter. Which CPython pool runs it is the `[pool]` table (`python_threads`,
//! `python_processes`, `python_interpreters`). This module never runs anything.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

fn default_path() -> PathBuf {
    PathBuf::from(".")
}

/// `kind = "python"`: the function a task calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PythonCallSpec {
    /// `module:function`, imported from `path`.
    pub call: String,
    /// Prepended to `sys.path`; relative to the preset's folder.
    #[serde(default = "default_path")]
    pub path: PathBuf,
    /// JSON values passed positionally to the function.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<serde_json::Value>,
    /// The interpreter to run; None finds `python3` on PATH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<PathBuf>,
}

impl PythonCallSpec {
    /// Checks each value on its own (whether the module imports is checked before a run).
    pub fn validate(&self) -> Result<(), super::InvalidValue> {
        let well_formed = self.call.split_once(':').is_some_and(|(module, function)| {
            !module.is_empty()
                && !function.is_empty()
                && module
                    .split('.')
                    .chain(function.split('.'))
                    .all(is_identifier)
        });
        if !well_formed {
            return Err(super::invalid(
                "workload.call",
                format!("{:?}", self.call),
                "module:function, such as \"hashwork:sha256_block\" (Python identifiers)",
            ));
        }
        if let Some(path) = &self.interpreter
            && path.as_os_str().is_empty()
        {
            return Err(super::invalid(
                "workload.interpreter",
                "\"\"",
                "a path to a Python interpreter, or no `interpreter` key to find python3 on PATH",
            ));
        }
        Ok(())
    }
}

/// A Python identifier (ASCII letters, digits and `_`, not starting with a digit).
fn is_identifier(part: &str) -> bool {
    let mut chars = part.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}
