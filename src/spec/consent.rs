//! What a preset runs besides pooltune itself, said before it runs: the exact command lines
//! of a user's program, command per task or Python function ([`code_lines`]), the program
//! each one starts ([`program`]), whether those programs are there ([`check_programs`]), and
//! the content hash of the file they came from ([`PresetFile`]), which the app remembers once
//! the user has allowed that content to run. A built-in workload, and the shipped Python
//! script, run no code of the user's: they have no lines here.
//!
//! The CLI prints these lines on stderr before the first run (the command is the user's
//! explicit request); the app shows them above Run and asks before the first run of a file
//! it did not write. This module never runs anything and never imports egui.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{
    AnyPreset, CommandLine, ComparisonPreset, ExecSpec, InvalidValue, Preset, PythonCallSpec,
    SeriesSetup, invalid,
};
use crate::child::launch;
use crate::error::PresetError;

/// One command a preset runs, as shown before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeLine {
    /// The series it belongs to, in a comparison (None in a sweep file).
    pub series: Option<String>,
    /// What the line is and the command, exactly as it is started (`run: xz -T{threads}`,
    /// `setup: …`, `env: …`); placeholders such as `{threads}` as written (they change with
    /// every point).
    pub line: String,
}

impl fmt::Display for CodeLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(series) = &self.series {
            write!(f, "{series}, ")?;
        }
        f.write_str(&self.line)
    }
}

/// `line` as it is started: a shell line with the `sh -c` that runs it.
fn started_as(line: &CommandLine) -> String {
    match line {
        CommandLine::Argv(_) => line.display(),
        CommandLine::Shell(text) => format!(
            "{} -c {}",
            launch::SHELL,
            CommandLine::Argv(vec![text.clone()])
        ),
    }
}

/// `env: KEY=value …`, when there are variables.
fn env_line(env: &std::collections::BTreeMap<String, String>) -> Option<String> {
    (!env.is_empty()).then(|| {
        let pairs: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("env: {}", pairs.join(" "))
    })
}

fn exec_lines(exec: &ExecSpec) -> Vec<String> {
    let mut lines = vec![format!("run, each task: {}", started_as(&exec.run))];
    for (label, line) in [("setup", &exec.setup), ("cleanup", &exec.cleanup)] {
        if let Some(line) = line {
            lines.push(format!("{label}: {}", started_as(line)));
        }
    }
    lines.extend(env_line(&exec.env));
    lines
}

/// The call a Python function series makes: an `async def` on python_asyncio is awaited, on
/// one event loop, and says so; the interpreter and folder are shown the same either way.
fn python_lines(call: &PythonCallSpec, pool: &super::PoolSpec) -> Vec<String> {
    let awaited = if *pool == super::PoolSpec::PythonAsyncio {
        "await "
    } else {
        ""
    };
    let (module, function) = call.call.split_once(':').unwrap_or((&call.call, ""));
    let args = call
        .args
        .iter()
        .map(|arg| arg.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    vec![format!(
        "call, each task: {awaited}{module}.{function}({args}) in {}, imported from {}",
        python_interpreter(call).display(),
        call.path.display()
    )]
}

/// The interpreter a Python workload starts: its `interpreter`, else `python3`.
fn python_interpreter(call: &PythonCallSpec) -> PathBuf {
    call.interpreter
        .clone()
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// The lines one series runs (none for a built-in workload or the shipped Python script).
pub fn setup_lines(setup: &SeriesSetup, series: Option<&str>) -> Vec<CodeLine> {
    let lines = match setup {
        SeriesSetup::Rust {
            workload: super::WorkloadSpec::Exec(exec),
            ..
        } => exec_lines(exec),
        SeriesSetup::Command(command) => launch::command_lines(command),
        SeriesSetup::PythonCall { call, pool } => python_lines(call, pool),
        SeriesSetup::Rust { .. } | SeriesSetup::Python(_) => Vec::new(),
    };
    lines
        .into_iter()
        .map(|line| CodeLine {
            series: series.map(str::to_owned),
            line,
        })
        .collect()
}

/// The lines a sweep preset runs; empty when it runs no code of the user's.
pub fn code_lines(preset: &Preset) -> Vec<CodeLine> {
    setup_lines(&preset.setup(), None)
}

/// The lines a comparison runs, each naming its series.
pub fn comparison_lines(comparison: &ComparisonPreset) -> Vec<CodeLine> {
    comparison
        .series
        .iter()
        .flat_map(|series| setup_lines(&series.setup, Some(&series.label)))
        .collect()
}

/// The lines either kind of preset runs.
pub fn any_lines(preset: &AnyPreset) -> Vec<CodeLine> {
    match preset {
        AnyPreset::Sweep(preset) => code_lines(preset),
        AnyPreset::Comparison(comparison) => comparison_lines(comparison),
    }
}

/// The program a series starts for its main work (`xz`, `sh`, `python3`), as written; None
/// for a series that runs no code of the user's.
pub fn program(setup: &SeriesSetup) -> Option<String> {
    let of_line = |line: &CommandLine| match line {
        CommandLine::Argv(words) => words.first().cloned().unwrap_or_default(),
        CommandLine::Shell(_) => "sh".to_owned(),
    };
    match setup {
        SeriesSetup::Command(command) => Some(of_line(&command.run)),
        SeriesSetup::Rust {
            workload: super::WorkloadSpec::Exec(exec),
            ..
        } => Some(of_line(&exec.run)),
        SeriesSetup::PythonCall { call, .. } => {
            Some(python_interpreter(call).display().to_string())
        }
        SeriesSetup::Rust { .. } | SeriesSetup::Python(_) => None,
    }
}

/// The programs either kind of preset starts, each once, in order.
pub fn programs(preset: &AnyPreset) -> Vec<String> {
    let setups: Vec<SeriesSetup> = match preset {
        AnyPreset::Sweep(preset) => vec![preset.setup()],
        AnyPreset::Comparison(comparison) => {
            comparison.series.iter().map(|s| s.setup.clone()).collect()
        }
    };
    let mut names: Vec<String> = Vec::new();
    for name in setups.iter().filter_map(program) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Refuses, before Run, a series whose programs are not there: the field that names the
/// program (`workload.run`, `workload.setup`, `workload.interpreter`) and where pooltune
/// looked. Programs started through a placeholder (`{threads}` in the program's name) are
/// left to the run.
pub fn check_programs(setup: &SeriesSetup, folder: &Path) -> Result<(), InvalidValue> {
    let mut lines: Vec<(&str, &CommandLine)> = Vec::new();
    match setup {
        SeriesSetup::Command(command) => {
            lines.push(("workload.run", &command.run));
            for (field, line) in [
                ("workload.setup", &command.setup),
                ("workload.prepare", &command.prepare),
                ("workload.cleanup", &command.cleanup),
            ] {
                if let Some(line) = line {
                    lines.push((field, line));
                }
            }
        }
        SeriesSetup::Rust {
            workload: super::WorkloadSpec::Exec(exec),
            ..
        } => {
            lines.push(("workload.run", &exec.run));
            for (field, line) in [
                ("workload.setup", &exec.setup),
                ("workload.cleanup", &exec.cleanup),
            ] {
                if let Some(line) = line {
                    lines.push((field, line));
                }
            }
        }
        SeriesSetup::PythonCall { call, .. } => {
            let interpreter = python_interpreter(call).display().to_string();
            return launch::find_program(&interpreter, folder)
                .map(|_| ())
                .map_err(|why| invalid("workload.interpreter", &interpreter, why));
        }
        SeriesSetup::Rust { .. } | SeriesSetup::Python(_) => {}
    }
    for (field, line) in lines {
        let name = match line {
            CommandLine::Argv(words) => words.first().map_or("", String::as_str),
            CommandLine::Shell(_) => "sh",
        };
        if name.is_empty() || name.contains('{') {
            continue;
        }
        launch::find_program(name, folder)
            .map_err(|why| invalid(field, name, format!("a program that can be started: {why}")))?;
    }
    Ok(())
}

/// A preset file as read: where it is, the SHA-256 of its content (what the app remembers
/// once the user allowed it to run) and whether it is one of pooltune's shipped presets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresetFile {
    /// The file as named.
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, in lower-case hex.
    pub content_hash: String,
    /// True for a file in the shipped presets folder ([`is_shipped`]).
    pub shipped: bool,
}

impl PresetFile {
    /// The record of `bytes` read from `path`.
    pub fn of(path: &Path, bytes: &[u8]) -> PresetFile {
        PresetFile {
            path: path.to_path_buf(),
            content_hash: sha256_hex(bytes),
            shipped: is_shipped(path),
        }
    }

    /// The hash shortened for display: its first 12 hex digits.
    pub fn short_hash(&self) -> &str {
        self.content_hash.get(..12).unwrap_or(&self.content_hash)
    }
}

/// True when `path` is in the shipped presets folder: `POOLTUNE_PRESETS` when set, else the
/// crate's own `presets/`. A `presets/` folder that only happens to be in the current
/// directory is not trusted (anyone can leave one there), though it is listed.
pub fn is_shipped(path: &Path) -> bool {
    let shipped = std::env::var_os("POOLTUNE_PRESETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("presets"));
    match (path.canonicalize(), shipped.canonicalize()) {
        (Ok(file), Ok(folder)) => file.parent() == Some(folder.as_path()),
        _ => false,
    }
}

/// Reads a preset file of either kind once: the preset parsed from exactly the bytes whose
/// hash is returned (so that what was allowed is what runs).
pub fn load_any_with_file(path: &Path) -> Result<(AnyPreset, PresetFile), PresetError> {
    let bytes = std::fs::read(path).map_err(|source| PresetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let preset = super::parse_any(&text, path)?;
    Ok((preset, PresetFile::of(path, &bytes)))
}

/// Reads a sweep preset file once (see [`load_any_with_file`]).
pub fn load_with_file(path: &Path) -> Result<(Preset, PresetFile), PresetError> {
    let bytes = std::fs::read(path).map_err(|source| PresetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let preset = super::parse(&String::from_utf8_lossy(&bytes), path)?;
    Ok((preset, PresetFile::of(path, &bytes)))
}

/// Reads a comparison file once (see [`load_any_with_file`]).
pub fn load_comparison_with_file(
    path: &Path,
) -> Result<(ComparisonPreset, PresetFile), PresetError> {
    let bytes = std::fs::read(path).map_err(|source| PresetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let comparison = super::parse_comparison(&String::from_utf8_lossy(&bytes), path)?;
    Ok((comparison, PresetFile::of(path, &bytes)))
}

/// SHA-256 (FIPS 180-4) of `bytes` in lower-case hex. A cryptographic hash, so that a file
/// cannot be changed into other code with the hash the user allowed; written out here (it
/// is forty lines) rather than adding a crate for it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut state: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut message = bytes.to_vec();
    let bit_length = (bytes.len() as u64).wrapping_mul(8);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bit_length.to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = state;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let choice = (e & f) ^ (!e & g);
            let t1 = h
                .wrapping_add(s1)
                .wrapping_add(choice)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let majority = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(majority);
            h = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (slot, value) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *slot = slot.wrapping_add(value);
        }
    }
    state.iter().map(|word| format!("{word:08x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{CommandSpec, PoolSpec, SweepSpec, WorkloadSpec};

    #[test]
    fn sha256_matches_the_standard_vectors() {
        // FIPS 180-4 examples, and sha256sum of an empty input.
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        // Across a block boundary (64 bytes and more).
        let long = vec![b'a'; 1000];
        assert_eq!(
            sha256_hex(&long),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
        );
    }

    fn preset(workload: WorkloadSpec, pool: PoolSpec) -> Preset {
        Preset {
            schema_version: crate::spec::SCHEMA_VERSION,
            name: "t".into(),
            description: String::new(),
            workload,
            pool,
            sweep: SweepSpec {
                search: Default::default(),
                target_ci: None,
                threads: Some(vec![1, 2]),
                threads_range: None,
                trials: 3,
                tasks_per_trial: None,
                trial_ms: Some(100),
                warmup_ms: 0,
                retry_disturbed: 0,
            },
            folder: None,
        }
    }

    fn command(run: CommandLine) -> CommandSpec {
        CommandSpec {
            run,
            shell: false,
            work_per_run: 1.0,
            work_unit: "runs".into(),
            env: Default::default(),
            setup: None,
            prepare: None,
            cleanup: None,
            timeout_s: 120.0,
            warmup_runs: 1,
            keep_output: false,
        }
    }

    fn argv(words: &[&str]) -> CommandLine {
        CommandLine::Argv(words.iter().map(|w| (*w).to_owned()).collect())
    }

    #[test]
    fn a_command_preset_shows_every_line_it_runs_in_order_with_its_env() {
        let mut spec = command(argv(&["xz", "-T{threads}", "-3", "-c", "my data.txt"]));
        spec.env
            .insert("OMP_NUM_THREADS".into(), "{threads}".into());
        spec.setup = Some(argv(&["python3", "make_data.py"]));
        spec.cleanup = Some(CommandLine::Shell("rm -f 'out'.xz".into()));
        let lines = code_lines(&preset(WorkloadSpec::Command(spec), PoolSpec::Rayon));
        let shown: Vec<String> = lines.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "run: xz -T{threads} -3 -c 'my data.txt'",
                "setup: python3 make_data.py",
                r"cleanup: sh -c 'rm -f '\''out'\''.xz'",
                "env: OMP_NUM_THREADS={threads}",
            ]
        );
    }

    #[test]
    fn a_built_in_workload_runs_no_code_of_the_users() {
        let built_in = preset(WorkloadSpec::Cpu { compute_us: 10 }, PoolSpec::Rayon);
        assert!(code_lines(&built_in).is_empty());
        assert_eq!(program(&built_in.setup()), None);
        let exec = ExecSpec {
            run: argv(&["sha256sum", "{input}"]),
            shell: false,
            inputs: Some("corpus/*.txt".into()),
            env: Default::default(),
            setup: None,
            cleanup: None,
            timeout_s: 10.0,
            keep_output: false,
        };
        let exec = preset(WorkloadSpec::Exec(exec), PoolSpec::Rayon);
        assert_eq!(
            code_lines(&exec)[0].to_string(),
            "run, each task: sha256sum {input}"
        );
        assert_eq!(program(&exec.setup()).as_deref(), Some("sha256sum"));
    }

    #[test]
    fn a_python_function_shows_its_interpreter_call_and_path() {
        let call = PythonCallSpec {
            call: "hashwork:sha256_block".into(),
            path: PathBuf::from("examples"),
            args: vec![serde_json::json!(4096), serde_json::json!("x")],
            interpreter: None,
        };
        let p = preset(WorkloadSpec::Python(call), PoolSpec::PythonThreads);
        assert_eq!(
            code_lines(&p)[0].to_string(),
            "call, each task: hashwork.sha256_block(4096, \"x\") in python3, imported from examples"
        );
        assert_eq!(program(&p.setup()).as_deref(), Some("python3"));
    }

    /// An `async def` on python_asyncio is shown before it runs like any function: the same
    /// interpreter, folder and arguments, the call marked as awaited.
    #[test]
    fn an_async_function_is_shown_before_it_runs_like_any_function() {
        let call = PythonCallSpec {
            call: "asyncwork:sleep_ms".into(),
            path: PathBuf::from("examples"),
            args: vec![serde_json::json!(20)],
            interpreter: None,
        };
        let p = preset(WorkloadSpec::Python(call), PoolSpec::PythonAsyncio);
        let lines = code_lines(&p);
        assert_eq!(lines.len(), 1);
        assert_eq!(
            lines[0].to_string(),
            "call, each task: await asyncwork.sleep_ms(20) in python3, imported from examples"
        );
        assert_eq!(program(&p.setup()).as_deref(), Some("python3"));
    }

    #[cfg(unix)]
    #[test]
    fn a_missing_program_is_refused_naming_the_field_and_the_path_searched() {
        let dir = tempfile::tempdir().unwrap();
        let missing = SeriesSetup::Command(command(argv(&["pooltune-no-such-program", "-x"])));
        let err = check_programs(&missing, dir.path()).unwrap_err();
        assert_eq!(err.field, "workload.run");
        assert_eq!(err.value, "pooltune-no-such-program");
        assert!(err.allowed.contains("searched PATH: "), "{err}");
        // `sh` is on every machine pooltune runs on; a relative path is the preset folder's.
        let there = SeriesSetup::Command(command(argv(&["sh", "-c", "true"])));
        assert_eq!(check_programs(&there, dir.path()), Ok(()));
        let script = dir.path().join("run.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        let relative = SeriesSetup::Command(command(argv(&["./run.sh"])));
        let err = check_programs(&relative, dir.path()).unwrap_err();
        assert!(err.allowed.contains("is not executable"), "{err}");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(check_programs(&relative, dir.path()), Ok(()));
        // A cleanup that is missing is named as such.
        let mut spec = command(argv(&["true"]));
        spec.cleanup = Some(argv(&["pooltune-no-such-cleanup"]));
        let err = check_programs(&SeriesSetup::Command(spec), dir.path()).unwrap_err();
        assert_eq!(err.field, "workload.cleanup");
    }

    #[test]
    fn a_file_is_known_by_the_hash_of_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "abc").unwrap();
        let file = PresetFile::of(&path, b"abc");
        assert_eq!(file.content_hash, sha256_hex(b"abc"));
        assert_eq!(file.short_hash(), "ba7816bf8f01");
        assert!(!file.shipped, "a temporary folder is not the shipped one");
        let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("presets/cpu-bound.toml");
        if std::env::var_os("POOLTUNE_PRESETS").is_none() {
            assert!(is_shipped(&shipped));
        }
    }
}
