//! Strict TOML for every experiment file: unknown keys and kinds are refused with the file,
//! line, column and a "did you mean" suggestion; a wrong type names its dotted field
//! (`series[2].workload.compute_us`) and where it is written; a validation error is placed at
//! the line of its key ([`invalid_at`]). It never validates values: that is the spec types'.

use std::path::Path;

use super::{InvalidValue, PoolSpec, SharedStrategy, WorkloadSpec, limits};
use super::{MAX_CONCURRENCY, SCHEMA_VERSION};
use crate::error::PresetError;

/// A validation error of the file `origin` whose text is `text`, at the line of the offending
/// key (or of the nearest table of it that is written, when the key is left to its default).
pub fn invalid_at(text: &str, origin: &Path, invalid: InvalidValue) -> PresetError {
    let (line, column) = field_location(text, &invalid.field).unwrap_or((0, 0));
    PresetError::Invalid {
        path: origin.to_path_buf(),
        line,
        column,
        invalid,
    }
}

/// One step of a field path as messages write it: a key, or an element of an array of
/// tables written 1-based (`series[2]`).
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// `series[2].workload.compute_us` as steps (`[2]` is the second element, index 1).
fn field_steps(field: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for part in field.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            steps.push(Step::Key(key.to_owned()));
        }
        while let Some((number, after)) = rest.split_once(']') {
            if let Some(n) = number.parse::<usize>().ok().and_then(|n| n.checked_sub(1)) {
                steps.push(Step::Index(n));
            }
            rest = after.strip_prefix('[').unwrap_or("");
        }
    }
    steps
}

/// Steps back into the dotted name messages use.
fn field_name(steps: &[Step]) -> String {
    let mut name = String::new();
    for step in steps {
        match step {
            Step::Key(key) => {
                if !name.is_empty() {
                    name.push('.');
                }
                name.push_str(key);
            }
            Step::Index(index) => name.push_str(&format!("[{}]", index + 1)),
        }
    }
    name
}

/// The written TOML value at `steps`, with the span of its key (or of the array element).
fn spanned_value<'a, 'i>(
    document: &'a toml::de::DeTable<'i>,
    steps: &[Step],
) -> Option<(
    std::ops::Range<usize>,
    &'a toml::Spanned<toml::de::DeValue<'i>>,
)> {
    let mut found: Option<(
        std::ops::Range<usize>,
        &toml::Spanned<toml::de::DeValue<'i>>,
    )> = None;
    for step in steps {
        let next = match (step, found.as_ref().map(|(_, v)| v.get_ref())) {
            (Step::Key(name), None) => document
                .iter()
                .find(|(key, _)| key.get_ref() == name)
                .map(|(key, value)| (key.span(), value)),
            (Step::Key(name), Some(toml::de::DeValue::Table(table))) => table
                .iter()
                .find(|(key, _)| key.get_ref() == name)
                .map(|(key, value)| (key.span(), value)),
            (Step::Index(index), Some(toml::de::DeValue::Array(array))) => {
                array.get(*index).map(|value| (value.span(), value))
            }
            _ => None,
        };
        found = Some(next?);
    }
    found
}

/// The 1-based line and column where `field` (`sweep.threads`, `series[2].workload.kind`) is
/// written; for a field left to its default, where the nearest written table of it is.
pub fn field_location(text: &str, field: &str) -> Option<(usize, usize)> {
    let document = toml::de::DeTable::parse(text).ok()?;
    let steps = field_steps(field);
    (1..=steps.len()).rev().find_map(|len| {
        spanned_value(document.get_ref(), &steps[..len])
            .map(|(span, _)| line_column(text, span.start))
    })
}

/// The most values [`locate_wrong_value`] tries removing one at a time.
const MAX_ELIMINATIONS: usize = 256;

/// For serde's "invalid type" and "invalid value" errors, which inside `[workload]`,
/// `[pool]` (internally tagged enums, whose content serde buffers without positions) point at
/// the table header and name no field: finds the value the error is about and says where it
/// is written, as written.
///
/// The value is found by elimination: the document is deserialized again without one value
/// at a time; the error is about a value whose removal makes that error go away. Of those,
/// the deepest whose TOML type is the one the message names wins (removing `workload` also
/// makes a `workload.compute_us` error go away).
fn locate_wrong_value<T: serde::de::DeserializeOwned>(
    text: &str,
    span: std::ops::Range<usize>,
    message: &str,
) -> Option<(String, (usize, usize), String)> {
    let (found, expected) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))?
        .split_once(", expected ")?;
    let table: toml::Table = text.parse().ok()?;
    let baseline = match toml::Value::Table(table.clone()).try_into::<T>() {
        Ok(_) => return None,
        Err(err) => err.message().trim().to_owned(),
    };
    let mut paths = Vec::new();
    collect_paths(
        &toml::Value::Table(table.clone()),
        &mut Vec::new(),
        &mut paths,
    );
    let found_kind = found.split([' ', ',']).next().unwrap_or("");
    let document = toml::de::DeTable::parse(text).ok()?;
    // The value the error is at: a `[workload]` table (whose span is its header), an inline
    // table, or a plain value.
    let contains =
        |range: std::ops::Range<usize>| range.start <= span.start && span.end <= range.end;
    let at = paths
        .iter()
        .filter(|path| {
            spanned_value(document.get_ref(), path).is_some_and(|(_, value)| contains(value.span()))
        })
        .max_by_key(|path| path.len())?
        .clone();
    // Removing the `kind` tag of a table also ends every error inside it: the tag is the
    // value only when serde says it expected a variant.
    let about_tag = expected.contains("variant");
    let mut best: Option<((bool, bool, usize), Vec<Step>)> = None;
    let inside: Vec<Vec<Step>> = paths
        .into_iter()
        .filter(|path| path.starts_with(&at))
        .collect();
    let fits = |path: &[Step], value: &toml::de::DeValue<'_>| {
        type_matches(value, found_kind)
            && (about_tag || path.last() != Some(&Step::Key("kind".to_owned())))
    };
    // Each removal deserializes the whole document again: a long array (a pasted list of
    // thousands of counts) is left to the type check below.
    let eliminate = inside.len() <= MAX_ELIMINATIONS;
    for path in inside.iter().filter(|_| eliminate).cloned() {
        let mut without = toml::Value::Table(table.clone());
        remove_path(&mut without, &path);
        let gone = match without.try_into::<T>() {
            Ok(_) => true,
            Err(err) => err.message().trim() != baseline,
        };
        if !gone {
            continue;
        }
        let Some((_, value)) = spanned_value(document.get_ref(), &path) else {
            continue;
        };
        let matches = type_matches(value.get_ref(), found_kind);
        let tag_fits = about_tag || path.last() != Some(&Step::Key("kind".to_owned()));
        let rank = (matches, tag_fits, path.len());
        if best.as_ref().is_none_or(|(best_rank, _)| rank > *best_rank) {
            best = Some((rank, path));
        }
    }
    // The same mistake made twice (in two series) survives removing either one: then the one
    // value in this table of the type the message names is the one.
    let path = match best {
        Some(((true, true, _), path)) => path,
        other => {
            let mut fitting = inside.into_iter().filter(|path| {
                spanned_value(document.get_ref(), path)
                    .is_some_and(|(_, v)| fits(path, v.get_ref()))
            });
            match (fitting.next(), fitting.next()) {
                (Some(only), None) => only,
                _ => other?.1,
            }
        }
    };
    let (key_span, value) = spanned_value(document.get_ref(), &path)?;
    let written = text.get(value.span()).unwrap_or("").trim();
    let written = if written.chars().count() > 40 {
        format!("{}…", written.chars().take(40).collect::<String>())
    } else {
        written.to_owned()
    };
    let what = match value.get_ref() {
        toml::de::DeValue::String(_) => "a string",
        toml::de::DeValue::Integer(_) => "an integer",
        toml::de::DeValue::Float(_) => "a number with a fraction or exponent",
        toml::de::DeValue::Boolean(_) => "a boolean",
        toml::de::DeValue::Datetime(_) => "a date-time",
        toml::de::DeValue::Array(_) => "an array",
        toml::de::DeValue::Table(_) => "a table",
    };
    let kind = if message.starts_with("invalid type") {
        "wrong type"
    } else {
        "invalid value"
    };
    let expected = if expected == "string or map" {
        // serde's words for an enum: name its variants instead.
        variants_at::<T>(&table, &path).unwrap_or_else(|| expected.to_owned())
    } else {
        expected_words(expected, &path)
    };
    let message = format!("{kind}: {what} `{written}`, expected {expected}");
    Some((
        field_name(&path),
        line_column(text, key_span.start),
        message,
    ))
}

/// The variants an enum field at `path` allows, as serde lists them (`` `lazy` or `eager` ``):
/// asked of serde by putting a name no variant has at `path`.
fn variants_at<T: serde::de::DeserializeOwned>(
    table: &toml::Table,
    path: &[Step],
) -> Option<String> {
    let mut probe = toml::Value::Table(table.clone());
    let (last, parents) = path.split_last()?;
    let mut here = &mut probe;
    for step in parents {
        here = match (step, here) {
            (Step::Key(key), toml::Value::Table(t)) => t.get_mut(key)?,
            (Step::Index(index), toml::Value::Array(a)) => a.get_mut(*index)?,
            _ => return None,
        };
    }
    let slot = match (last, here) {
        (Step::Key(key), toml::Value::Table(t)) => t.get_mut(key)?,
        (Step::Index(index), toml::Value::Array(a)) => a.get_mut(*index)?,
        _ => return None,
    };
    *slot = toml::Value::String("\u{1}".to_owned());
    let err = probe.try_into::<T>().err()?;
    err.message()
        .trim()
        .strip_prefix("unknown variant `\u{1}`, expected ")
        .map(str::to_owned)
}

/// The range of a whole-number field, by its name, in words (`from 1 to 4096`); None for a
/// field this table does not know. The bounds are the ones validation applies.
fn whole_number_range(path: &[Step]) -> Option<String> {
    use limits::*;
    let mut keys = path.iter().rev().filter_map(|step| match step {
        Step::Key(key) => Some(key.as_str()),
        Step::Index(_) => None,
    });
    let key = keys.next()?;
    let parent = keys.next().unwrap_or("");
    let (lo, hi): (u64, u64) = match (parent, key) {
        ("sweep", "threads") | ("threads_range", "from" | "to" | "by") => {
            (1, MAX_CONCURRENCY as u64)
        }
        (_, "chunk_size" | "queue_capacity") => (1, MAX_QUEUE as u64),
        (_, "compute_us" | "wait_us") => (0, MAX_TASK_US),
        ("sweep", "trials") => (u64::from(TRIALS.0), u64::from(TRIALS.1)),
        ("sweep", "tasks_per_trial") => (1, MAX_TASKS_PER_TRIAL),
        ("sweep", "trial_ms") => TRIAL_MS,
        ("sweep", "warmup_ms") => (0, MAX_WARMUP_MS),
        ("sweep", "retry_disturbed") => (0, u64::from(MAX_RETRY_DISTURBED)),
        ("workload", "bytes") => (1, MAX_FILE_BYTES),
        ("workload", "passes") => (1, u64::from(MAX_PASSES)),
        ("workload", "switch_interval_us") => SWITCH_INTERVAL_US,
        ("workload", "updates_per_task") => (1, MAX_UPDATES_PER_TASK),
        ("workload", "buffer_kib") => return Some("1 or more".to_owned()),
        ("", "schema_version") => (1, u64::from(SCHEMA_VERSION)),
        _ => return None,
    };
    Some(format!("from {lo} to {hi}"))
}

/// serde's name for what it expected, in the user's words; for a whole number, the range of
/// the field at `path` where it is known.
fn expected_words(expected: &str, path: &[Step]) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => match whole_number_range(path) {
            Some(range) => format!("a whole number {range}"),
            None => "a whole number (0 or more)".to_owned(),
        },
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a boolean" | "a string" => expected.to_owned(),
        other => other.to_owned(),
    }
}

/// Whether a written value is of the kind serde's "invalid type: KIND ..." names (a
/// date-time reaches serde as a map).
fn type_matches(value: &toml::de::DeValue<'_>, kind: &str) -> bool {
    use toml::de::DeValue;
    matches!(
        (value, kind),
        (DeValue::Table(_) | DeValue::Datetime(_), "map")
            | (DeValue::Array(_), "sequence")
            | (DeValue::String(_), "string")
            | (DeValue::Integer(_), "integer")
            | (DeValue::Float(_), "floating")
            | (DeValue::Boolean(_), "boolean")
    )
}

/// Every key and array element of `value`, as paths from the top.
fn collect_paths(value: &toml::Value, prefix: &mut Vec<Step>, paths: &mut Vec<Vec<Step>>) {
    match value {
        toml::Value::Table(table) => {
            for (key, child) in table {
                prefix.push(Step::Key(key.clone()));
                paths.push(prefix.clone());
                collect_paths(child, prefix, paths);
                prefix.pop();
            }
        }
        toml::Value::Array(array) => {
            for (index, child) in array.iter().enumerate() {
                prefix.push(Step::Index(index));
                paths.push(prefix.clone());
                collect_paths(child, prefix, paths);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// Removes the value at `path` (a key from its table, an element from its array).
fn remove_path(value: &mut toml::Value, path: &[Step]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut here = value;
    for step in parents {
        let next = match (step, here) {
            (Step::Key(key), toml::Value::Table(table)) => table.get_mut(key),
            (Step::Index(index), toml::Value::Array(array)) => array.get_mut(*index),
            _ => None,
        };
        let Some(next) = next else { return };
        here = next;
    }
    match (last, here) {
        (Step::Key(key), toml::Value::Table(table)) => {
            table.remove(key);
        }
        (Step::Index(index), toml::Value::Array(array)) if *index < array.len() => {
            array.remove(*index);
        }
        _ => {}
    }
}

/// Deserializes any TOML document strictly, turning serde's message into an error with the
/// file, line, column and a "did you mean" suggestion. Shared by every preset-like file.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    origin: &Path,
) -> Result<T, PresetError> {
    super::header::refuse_newer(text, origin)?;
    toml::from_str(text).map_err(|err| {
        let message = err.message().trim().to_owned();
        if let Some((field, (line, column), message)) = err
            .span()
            .and_then(|span| locate_wrong_value::<T>(text, span, &message))
        {
            return PresetError::Parse {
                path: origin.to_path_buf(),
                line,
                column,
                field: Some(field),
                message,
                suggestion: None,
            };
        }
        let (line, column) = err
            .span()
            .map(|span| line_column(text, span.start))
            .unwrap_or((0, 0));
        let located = err
            .span()
            .and_then(|span| locate_in_table::<T>(text, span, &message))
            .or_else(|| locate_field(text, line, &message));
        let (line, column) = located
            .as_ref()
            .and_then(|l| l.line_column)
            .unwrap_or((line, column));
        let field = located.map(|l| l.field);
        let message = match field.as_deref().and_then(allowed_names) {
            Some(allowed) if message.starts_with("missing field") => {
                format!("{message}; allowed: {allowed}")
            }
            _ => message,
        };
        PresetError::Parse {
            path: origin.to_path_buf(),
            line,
            column,
            field,
            suggestion: suggestion_for(&message),
            message,
        }
    })
}

/// The names a field that picks one of a few choices allows, for "missing field" errors
/// (serde lists them only for a name it does not know).
fn allowed_names(field: &str) -> Option<String> {
    let names: Vec<&str> = if field.ends_with("workload.kind") {
        WorkloadSpec::KIND_NAMES.to_vec()
    } else if field.ends_with("pool.kind") {
        PoolSpec::KIND_NAMES.to_vec()
    } else if field.ends_with("workload.strategy") {
        SharedStrategy::ALL.iter().map(|s| s.as_str()).collect()
    } else {
        return None;
    };
    Some(names.join(", "))
}

/// Names the field of an error serde reports at a whole table (inside `[workload]`, `[pool]`,
/// an inline table or a `[[series]]`, whose content serde buffers without positions): an
/// unknown key, an unknown variant, a missing key, or a message about a key in backticks
/// (`` `chunk_size` is only for ...``). Found in the parsed document, not by reading lines,
/// so quoted and dotted keys, single-quoted values and the n-th `[[series]]` are named right.
fn locate_in_table<T: serde::de::DeserializeOwned>(
    text: &str,
    span: std::ops::Range<usize>,
    message: &str,
) -> Option<LocatedField> {
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    enum About {
        UnknownKey(String),
        Variant(String),
        Missing(String),
        Key(String),
    }
    let about = if let Some(key) = quoted("unknown field `") {
        About::UnknownKey(key)
    } else if let Some(name) = quoted("unknown variant `") {
        About::Variant(name)
    } else if let Some(key) = quoted("missing field `") {
        About::Missing(key)
    } else if let Some(key) = quoted("`") {
        About::Key(key)
    } else {
        return None;
    };
    let table: toml::Table = text.parse().ok()?;
    let document = toml::de::DeTable::parse(text).ok()?;
    let mut paths = Vec::new();
    collect_paths(
        &toml::Value::Table(table.clone()),
        &mut Vec::new(),
        &mut paths,
    );
    let contains =
        |range: std::ops::Range<usize>| range.start <= span.start && span.end <= range.end;
    // The table the error is at: the deepest written value whose span holds the error's
    // (for `[table]` and `[[table]]` the span is the header's).
    let mut at = paths
        .iter()
        .filter(|path| {
            spanned_value(document.get_ref(), path).is_some_and(|(_, value)| contains(value.span()))
        })
        .max_by_key(|path| path.len())?
        .clone();
    // An error at a plain value (a tag serde reads first) has its own position: only its
    // name (with the `[[series]]` element) is wanted.
    if !spanned_value(document.get_ref(), &at).is_some_and(|(_, value)| {
        matches!(
            value.get_ref(),
            toml::de::DeValue::Table(_) | toml::de::DeValue::Array(_)
        )
    }) {
        return Some(LocatedField {
            field: field_name(&at),
            line_column: Some(line_column(text, span.start)),
        });
    }
    let baseline = match toml::Value::Table(table.clone()).try_into::<T>() {
        Ok(_) => return None,
        Err(err) => err.message().trim().to_owned(),
    };
    // Whether removing the value at `path` ends (or changes) this error.
    let ends_error = |path: &[Step]| {
        let mut without = toml::Value::Table(table.clone());
        remove_path(&mut without, path);
        match without.try_into::<T>() {
            Ok(_) => true,
            Err(err) => err.message().trim() != baseline,
        }
    };
    // An error of a whole `[[series]]` element (a key refused by its kind) is reported at the
    // first `[[series]]` header: the element it is about is the one whose removal ends it.
    if matches!(at.last(), Some(Step::Index(_))) && !ends_error(&at) {
        at.pop();
    }
    if let Some((_, value)) = spanned_value(document.get_ref(), &at)
        && let toml::de::DeValue::Array(array) = value.get_ref()
        && array.len() <= MAX_ELIMINATIONS
    {
        let mut element = at.clone();
        element.push(Step::Index(0));
        if let Some(index) = (0..array.len()).find(|&index| {
            element.pop();
            element.push(Step::Index(index));
            ends_error(&element)
        }) {
            at.push(Step::Index(index));
        }
    }
    let inside: Vec<&Vec<Step>> = paths.iter().filter(|p| p.starts_with(&at)).collect();
    let value_of = |path: &[Step]| spanned_value(document.get_ref(), path).map(|(_, v)| v);
    let nearest = |mut candidates: Vec<&Vec<Step>>| {
        candidates.sort_by_key(|p| p.len());
        // Of several, the one whose removal ends the error (the same key in two tables).
        match candidates.len() {
            0 => None,
            1 => candidates.first().map(|p| (*p).clone()),
            _ => candidates
                .iter()
                .find(|p| ends_error(p))
                .or(candidates.first())
                .map(|p| (*p).clone()),
        }
    };
    let last_is = |path: &Vec<Step>, name: &str| path.last() == Some(&Step::Key(name.to_owned()));
    // A key that is not written (`` `workload` is missing ``): named inside the table, at the
    // table's own line.
    let missing = |key: String| {
        let (key_span, _) = spanned_value(document.get_ref(), &at)?;
        let mut field = at.clone();
        field.push(Step::Key(key));
        Some(LocatedField {
            field: field_name(&field),
            line_column: Some(line_column(text, key_span.start)),
        })
    };
    let path = match about {
        About::UnknownKey(key) | About::Key(key) => {
            let direct: Vec<&Vec<Step>> = inside
                .iter()
                .copied()
                .filter(|p| p.len() == at.len() + 1 && last_is(p, &key))
                .collect();
            let found = if direct.is_empty() {
                nearest(
                    inside
                        .iter()
                        .copied()
                        .filter(|p| last_is(p, &key))
                        .collect(),
                )
            } else {
                nearest(direct)
            };
            match found {
                Some(path) => path,
                None => return missing(key),
            }
        }
        About::Variant(name) => nearest(
            inside
                .iter()
                .copied()
                .filter(|p| {
                    value_of(p).is_some_and(|v| {
                        matches!(v.get_ref(), toml::de::DeValue::String(s) if s.as_ref() == name)
                    })
                })
                .collect(),
        )?,
        About::Missing(key) => return missing(key),
    };
    let (key_span, _) = spanned_value(document.get_ref(), &path)?;
    Some(LocatedField {
        field: field_name(&path),
        line_column: Some(line_column(text, key_span.start)),
    })
}

/// Which field a parse error is about, and where that field is written.
struct LocatedField {
    field: String,
    line_column: Option<(usize, usize)>,
}

/// Names the field of a parse error. serde reports errors inside tagged enums (`[workload]`,
/// `[pool]`) at the table header, without the key; this finds the key from the message
/// (`unknown field `x``, `missing field `x``, or the offending value) within that table.
fn locate_field(text: &str, line: usize, message: &str) -> Option<LocatedField> {
    let lines: Vec<&str> = text.lines().collect();
    let index = line.checked_sub(1)?;
    let here = lines.get(index)?.trim();
    // The table the line belongs to: the nearest header at or above it, or the top level
    // (`schema_version`, `name`, ...) when there is none.
    let header_index = (0..=index)
        .rev()
        .find(|&i| lines[i].trim_start().starts_with('['));
    let table = header_index
        .map(|i| {
            lines[i]
                .trim()
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned()
        })
        .unwrap_or_default();
    let qualified = |key: &str| {
        if table.is_empty() {
            key.to_owned()
        } else {
            format!("{table}.{key}")
        }
    };
    let key_of = |line: &str| -> Option<String> {
        let (key, _) = line.split_once('=')?;
        let key = key.trim();
        (!key.is_empty() && !key.starts_with('#')).then(|| key.to_owned())
    };
    if !here.starts_with('[') {
        return key_of(here).map(|key| LocatedField {
            field: qualified(&key),
            line_column: None,
        });
    }
    let header_index = header_index?;
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    if let Some(key) = quoted("unknown field `").or_else(|| quoted("missing field `")) {
        let line_column = find_key(text, &key, line);
        // `[extra]` itself is the unknown field (of the table above it), not `extra.extra`.
        if line_column.is_none() && table.rsplit('.').next() == Some(key.as_str()) {
            return Some(LocatedField {
                field: table,
                line_column: None,
            });
        }
        return Some(LocatedField {
            field: qualified(&key),
            line_column,
        });
    }
    // "invalid value: integer `-5`, expected u64": find `key = -5` inside this table.
    let value = message
        .split('`')
        .nth(1)
        .map(str::to_owned)
        .or_else(|| message.split('"').nth(1).map(|s| format!("\"{s}\"")))?;
    let table_end = (header_index + 1..lines.len())
        .find(|&i| lines[i].trim_start().starts_with('['))
        .unwrap_or(lines.len());
    (header_index + 1..table_end).find_map(|i| {
        let (key, written) = lines[i].split_once('=')?;
        let written = written.split('#').next().unwrap_or("").trim();
        let same = written == value || written.trim_matches('"') == value.trim_matches('"');
        same.then(|| LocatedField {
            field: qualified(key.trim()),
            line_column: Some((i + 1, lines[i].len() - lines[i].trim_start().len() + 1)),
        })
    })
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The 1-based line and column of the first `key =` in the table whose header is at line
/// `from` (not past the next header: a missing key must not be found in the next table).
fn find_key(text: &str, key: &str, from: usize) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .skip(from)
        .take_while(|(_, line)| !line.trim_start().starts_with('['))
        .find_map(|(index, line)| {
            let trimmed = line.trim_start();
            let rest = trimmed.strip_prefix(key)?;
            rest.trim_start()
                .starts_with('=')
                .then(|| (index + 1, line.len() - trimmed.len() + 1))
        })
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" and "unknown variant" messages,
/// the allowed name closest to the one written.
fn suggestion_for(message: &str) -> Option<String> {
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let (found, allowed) = quoted.split_first()?;
    if !(message.starts_with("unknown field") || message.starts_with("unknown variant")) {
        return None;
    }
    allowed
        .iter()
        .map(|candidate| (strsim::jaro_winkler(found, candidate), *candidate))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, best)| best.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_find_array_elements_and_fall_back_to_the_table() {
        let text = "[sweep]\nthreads = [1]\n\n[[series]]\nlabel = \"a\"\n\n[[series]]\nlabel = \"b\"\nworkload = { kind = \"cpu\", compute_us = 5 }\n";
        assert_eq!(field_location(text, "sweep.threads"), Some((2, 1)));
        assert_eq!(field_location(text, "series[2].label"), Some((8, 1)));
        assert_eq!(
            field_location(text, "series[2].workload.compute_us"),
            Some((9, 28))
        );
        // Not written (left to its default): the nearest written table.
        assert_eq!(field_location(text, "sweep.trials"), Some((1, 2)));
    }
}
