//! A user's own program as a workload: [`CommandLine`] (an argv, or a string for `sh -c`),
//! [`CommandSpec`] (`kind = "command"`: a program that runs its own threads, one run per
//! trial) and [`ExecSpec`] (`kind = "exec"`: one child process per task, run by a thread
//! pool). Placeholders (`{threads}`, `{input}`, `{task}`, `{worker}`) are kept as written
//! here; the sources substitute them. This module never runs anything.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A command as written in a preset: an argv run without a shell (`["xz", "-T{threads}"]`),
/// or one string run by `sh -c` (only with `shell = true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    /// The program and its arguments, run directly (no shell, no globbing, no quoting).
    Argv(Vec<String>),
    /// A shell command line, run by `sh -c`.
    Shell(String),
}

impl CommandLine {
    /// The command as a user reads it: the argv's words joined by spaces (quoted where a word
    /// has a space or is empty), or the shell line as written.
    pub fn display(&self) -> String {
        match self {
            CommandLine::Argv(words) => words
                .iter()
                .map(|word| {
                    if word.is_empty() || word.contains(char::is_whitespace) {
                        format!("'{}'", word.replace('\'', r"'\''"))
                    } else {
                        word.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
            CommandLine::Shell(line) => line.clone(),
        }
    }
}

impl fmt::Display for CommandLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

impl Serialize for CommandLine {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            CommandLine::Argv(words) => words.serialize(serializer),
            CommandLine::Shell(line) => line.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for CommandLine {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = CommandLine;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a command: an array of strings such as [\"xz\", \"-T{threads}\"], or a string with shell = true",
                )
            }

            fn visit_str<E: serde::de::Error>(self, line: &str) -> Result<CommandLine, E> {
                Ok(CommandLine::Shell(line.to_owned()))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<CommandLine, A::Error> {
                let mut words = Vec::new();
                while let Some(word) = seq.next_element::<String>()? {
                    words.push(word);
                }
                Ok(CommandLine::Argv(words))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

fn default_work_per_run() -> f64 {
    1.0
}
fn default_work_unit() -> String {
    "runs".to_owned()
}
fn default_timeout_s() -> f64 {
    120.0
}
fn default_warmup_runs() -> u32 {
    1
}
fn is_default_work_per_run(value: &f64) -> bool {
    *value == default_work_per_run()
}
fn is_false(value: &bool) -> bool {
    !*value
}

/// `kind = "command"`: a program that runs its own threads, told how many by `{threads}` in
/// its arguments or environment. One trial is one run; the program is its own pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// The program and its arguments (`{threads}` is replaced by the thread count).
    pub run: CommandLine,
    /// True when `run` is one string for `sh -c`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub shell: bool,
    /// What one run accomplishes, in `work_unit`s: throughput is this over the run's wall time.
    #[serde(
        default = "default_work_per_run",
        skip_serializing_if = "is_default_work_per_run"
    )]
    pub work_per_run: f64,
    /// The unit of `work_per_run`, shown in tables and on axes (`bytes`, `files`).
    #[serde(default = "default_work_unit")]
    pub work_unit: String,
    /// Environment variables set for every run (`{threads}` works in values too).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Run once before the sweep, untimed (generating input data, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<CommandLine>,
    /// Run before each run, untimed (removing the last run's output, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepare: Option<CommandLine>,
    /// Run once at the end, also after a Stop or an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<CommandLine>,
    /// A run longer than this many seconds is killed and fails its point.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: f64,
    /// Untimed runs before each thread count's trials.
    #[serde(default = "default_warmup_runs")]
    pub warmup_runs: u32,
    /// Keep the program's standard output (shown on pooltune's stderr) rather than discard it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub keep_output: bool,
}

/// `kind = "exec"`: every task is one child process running `run`, on a thread pool of N
/// workers; `{input}` is the task's input file, `{task}` its index, `{worker}` its worker,
/// `{threads}` the pool's size and `{scratch}` the run's scratch folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecSpec {
    /// The command each task runs.
    pub run: CommandLine,
    /// True when `run` is one string for `sh -c`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub shell: bool,
    /// A glob (relative to the preset's folder; `{scratch}` may start it): task i gets match
    /// i mod count as `{input}`. Expanded after `setup`, before the first task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<String>,
    /// Environment variables set for every task.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Run once before the sweep, untimed (generating the input files, say, in `{scratch}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<CommandLine>,
    /// Run once at the end, also after a Stop or an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<CommandLine>,
    /// A task longer than this many seconds is killed and fails its point.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: f64,
    /// Keep the tasks' standard output rather than discard it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub keep_output: bool,
}

/// `field` must hold a command with a program to run.
fn check_command_line(
    field: &str,
    line: &CommandLine,
    shell: bool,
) -> Result<(), super::InvalidValue> {
    match line {
        CommandLine::Argv(words) if words.first().is_none_or(|w| w.trim().is_empty()) => {
            Err(super::invalid(
                field,
                line.display(),
                "an array whose first string names a program, such as [\"xz\", \"-T{threads}\"]",
            ))
        }
        CommandLine::Shell(text) if text.trim().is_empty() => Err(super::invalid(
            field,
            "\"\"",
            "a shell command line, or an array of strings",
        )),
        CommandLine::Shell(_) if !shell => Err(super::invalid(
            field,
            line.display(),
            "an array of strings (run without a shell), or a string with `shell = true` (run by sh -c)",
        )),
        _ => Ok(()),
    }
}

/// A timeout in seconds: more than 0, at most a day.
fn check_timeout(field: &str, timeout_s: f64) -> Result<(), super::InvalidValue> {
    super::check_within(
        field,
        timeout_s,
        (0.001, 86_400.0),
        "more than 0 and at most 86400 seconds (a day)",
    )
}

impl CommandSpec {
    /// Checks each value on its own (whether the program exists is checked before a run).
    pub fn validate(&self) -> Result<(), super::InvalidValue> {
        check_command_line("workload.run", &self.run, self.shell)?;
        for (field, line) in [
            ("workload.setup", &self.setup),
            ("workload.prepare", &self.prepare),
            ("workload.cleanup", &self.cleanup),
        ] {
            if let Some(line) = line {
                check_command_line(field, line, matches!(line, CommandLine::Shell(_)))?;
            }
        }
        if !(self.work_per_run.is_finite() && self.work_per_run > 0.0) {
            return Err(super::invalid(
                "workload.work_per_run",
                self.work_per_run,
                "a number above 0: what one run accomplishes, in work_unit",
            ));
        }
        if self.work_unit.trim().is_empty() || self.work_unit.chars().count() > 24 {
            return Err(super::invalid(
                "workload.work_unit",
                format!("{:?}", self.work_unit),
                "a unit of 1 to 24 characters, such as \"bytes\" or \"files\"",
            ));
        }
        check_timeout("workload.timeout_s", self.timeout_s)?;
        super::check_within(
            "workload.warmup_runs",
            self.warmup_runs,
            (0, 100),
            "0 to 100",
        )
    }
}

impl ExecSpec {
    /// Checks each value on its own (whether the program exists is checked before a run).
    pub fn validate(&self) -> Result<(), super::InvalidValue> {
        check_command_line("workload.run", &self.run, self.shell)?;
        for (field, line) in [
            ("workload.setup", &self.setup),
            ("workload.cleanup", &self.cleanup),
        ] {
            if let Some(line) = line {
                check_command_line(field, line, matches!(line, CommandLine::Shell(_)))?;
            }
        }
        if let Some(glob) = &self.inputs
            && glob.trim().is_empty()
        {
            return Err(super::invalid(
                "workload.inputs",
                "\"\"",
                "a glob such as \"corpus/*.txt\", or no `inputs` key",
            ));
        }
        check_timeout("workload.timeout_s", self.timeout_s)
    }
}
