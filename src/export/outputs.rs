//! Every output of one run, in hyperfine's convention: the result in `--format` on standard
//! output (or in `--out FILE`), and beside it any number of `--export-json`, `--export-csv`
//! and `--export-markdown` files, the same for `sweep`, `compare` and `cost`.
//!
//! Each destination is checked before the first trial ([`Outputs::check`]), so that a long
//! run's result is not lost to a typo at its end. At the end ([`Outputs::write`]) each is
//! written on its own, atomically: one that fails no longer loses the others or what goes to
//! standard output, and every file written is said on stderr with its full path. This module
//! writes what the exporters made; it never formats a result itself.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{
    CodeExporter, CsvExporter, Exporter, Format, JsonExporter, MarkdownExporter, TableExporter,
    exporter_fitted,
};
use crate::error::one_line;
use crate::model::ModelOptions;

/// One `--export-*` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    /// The flag that asked for it (`--export-json`), to name it in messages.
    pub flag: &'static str,
    /// What is written to it.
    pub format: Format,
    /// Where.
    pub path: PathBuf,
}

/// Where a run's result goes and in which formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    /// The format of the main output.
    pub format: Format,
    /// The main output: a file, or `-` for standard output.
    pub out: String,
    /// The width a table is fitted to (the terminal's); None for every column.
    pub width: Option<usize>,
    /// The extra files, each in its own format.
    pub files: Vec<ExportFile>,
}

/// An output that cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Found before the run: a destination that could not be written (a folder, a missing
    /// folder, no permission); the message names the flag and the file.
    #[error("{0}")]
    Unwritable(String),
    /// At the end: one or more outputs failed; every other one was written.
    #[error("{0}")]
    Failed(String),
}

impl Outputs {
    /// Refuses, before anything runs, every destination that could not be written at the
    /// end (see [`check_writable`]), and two outputs given the same file.
    pub fn check(&self) -> Result<(), OutputError> {
        if self.out != "-" {
            check_writable("--out", &self.out, true)?;
        }
        let mut taken: Vec<(&str, PathBuf)> = Vec::new();
        if self.out != "-" {
            taken.push(("--out", absolute(Path::new(&self.out))));
        }
        for file in &self.files {
            let text = file.path.to_string_lossy();
            if text == "-" {
                return Err(OutputError::Unwritable(format!(
                    "{} -: standard output is for --format's output; give a file name",
                    file.flag
                )));
            }
            check_writable(file.flag, &text, false)?;
            let path = absolute(&file.path);
            if let Some((other, _)) = taken.iter().find(|(_, p)| *p == path) {
                return Err(OutputError::Unwritable(format!(
                    "{} {}: is also the file of {other}; give each output its own file",
                    file.flag,
                    one_line(&text)
                )));
            }
            taken.push((file.flag, path));
        }
        Ok(())
    }

    /// Writes `result` to every output: the main one first (to `stdout`, or to `--out`,
    /// and to `stdout` instead when that file fails), then each export file. Every file
    /// written is said on `stderr` with its full path. A failure (of a file, or of a format)
    /// does not stop the others; the error names each that failed.
    pub fn write<R>(
        &self,
        result: &R,
        model: ModelOptions,
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> Result<(), OutputError>
    where
        TableExporter: Exporter<R>,
        JsonExporter: Exporter<R>,
        CsvExporter: Exporter<R>,
        MarkdownExporter: Exporter<R>,
        CodeExporter: Exporter<R>,
    {
        let mut failures = Vec::new();
        match exporter_fitted(self.format, model, self.width).export(result) {
            Ok(bytes) => match write_or_print(&self.out, &bytes, stdout) {
                Ok(()) => said(stderr, &self.out, self.format),
                Err(err) => failures.push(err),
            },
            Err(err) => failures.push(format!(
                "could not make the {} output: {err:#}",
                name(self.format)
            )),
        }
        for file in &self.files {
            let shown = one_line(&file.path.to_string_lossy());
            let bytes = super::exporter_with_model(file.format, model).export(result);
            let written = bytes
                .map_err(|err| format!("{}: {err:#}", file.flag))
                .and_then(|bytes| {
                    write_file(&file.path, &bytes)
                        .map_err(|err| format!("could not write {shown} ({}): {err}", file.flag))
                });
            match written {
                Ok(()) => said(stderr, &file.path.to_string_lossy(), file.format),
                Err(err) => failures.push(err),
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(OutputError::Failed(failures.join("; ")))
        }
    }
}

/// `warning: ...` on `stderr` for each of a result's warnings, after the outputs are
/// written (hyperfine's habit), so that they are seen even with `--out`. Wrapped to `width`
/// when there is one (stderr is a terminal); one line each otherwise, for scripts and logs.
pub fn write_warnings(warnings: &[String], width: Option<usize>, stderr: &mut dyn Write) {
    const LEAD: &str = "warning: ";
    let under = " ".repeat(LEAD.len());
    for warning in warnings {
        let lines = match width {
            Some(width) => super::width::wrap(warning, width, LEAD, &under),
            None => vec![format!("{LEAD}{warning}")],
        };
        for line in lines {
            // A closed stderr has no reader to tell.
            let _ = writeln!(stderr, "{line}");
        }
    }
}

/// The format's name in messages.
fn name(format: Format) -> &'static str {
    match format {
        Format::Table => "table",
        Format::Json => "JSON",
        Format::Csv => "CSV",
        Format::Markdown => "Markdown",
        Format::Code => "code",
    }
}

/// `wrote /full/path (JSON)` on `stderr` for a file; nothing for standard output.
fn said(stderr: &mut dyn Write, out: &str, format: Format) {
    if out == "-" {
        return;
    }
    let path = absolute(Path::new(out));
    let _ = writeln!(stderr, "wrote {} ({})", path.display(), name(format));
}

/// `path` in full: its folder resolved (symbolic links, `..`) when it exists, else made
/// absolute against the current folder.
fn absolute(path: &Path) -> PathBuf {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    match (folder.canonicalize(), path.file_name()) {
        (Ok(folder), Some(name)) => folder.join(name),
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

/// Refuses, before minutes of measuring, an output that could not be written at the end: a
/// folder, a missing folder, an empty or too long name, a folder where no file can be created
/// (`/proc`, a read-only mount, no write permission). The check creates and removes the
/// temporary file the save will use. Anything else that exists and is not a plain file
/// (`/dev/null`, a FIFO) is written in place and only has to exist. `flag` names the option
/// in the message; `stdout_allowed`: `-` is another answer the user can give.
pub fn check_writable(flag: &str, out: &str, stdout_allowed: bool) -> Result<(), OutputError> {
    let or_stdout = if stdout_allowed {
        ", or - for standard output"
    } else {
        ""
    };
    if out.is_empty() {
        return Err(OutputError::Unwritable(format!(
            "{flag} is empty: give a file name{or_stdout}"
        )));
    }
    let path = Path::new(out);
    let shown = one_line(out);
    if path.is_dir() {
        return Err(OutputError::Unwritable(format!(
            "{flag} {shown}: is a folder; give a file name in it{or_stdout}"
        )));
    }
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Ok(());
    }
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(folder) = folder
        && !folder.is_dir()
    {
        let why = if folder.exists() {
            "is not a folder"
        } else {
            "does not exist"
        };
        return Err(OutputError::Unwritable(format!(
            "{flag} {shown}: {} {why}",
            one_line(&folder.display().to_string())
        )));
    }
    crate::atomic_file::probe(path).map_err(|err| {
        let another = if stdout_allowed {
            "give another file, or - for standard output"
        } else {
            "give another file"
        };
        OutputError::Unwritable(format!(
            "{flag} {shown}: cannot be written: {}; {another}",
            one_line(&err.to_string())
        ))
    })
}

/// Writes the main output to `stdout` (`-`) or its file ([`write_file`]); when its file fails, prints it to
/// `stdout` instead so that the run is not lost. The error says which happened.
fn write_or_print(out: &str, bytes: &[u8], stdout: &mut dyn Write) -> Result<(), String> {
    let written = if out == "-" {
        stdout
            .write_all(bytes)
            .and_then(|()| stdout.flush())
            .map_err(|err| format!("could not write the result: {err}"))
    } else {
        write_file(Path::new(out), bytes)
            .map_err(|err| format!("could not write {}: {err}", one_line(out)))
    };
    let Err(err) = written else {
        return Ok(());
    };
    if out == "-" {
        return Err(err);
    }
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Err(format!(
            "{err}; the result was printed to standard output instead"
        )),
        Err(print_err) => Err(format!(
            "{err}; printing it to standard output failed too: {print_err}"
        )),
    }
}

/// Writes to a file: atomically to a regular file, or in place to anything else that
/// exists (`/dev/null`, a FIFO, a terminal), since renaming a temporary file over those would
/// replace the device with a plain file.
fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir());
    if special {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut file| file.write_all(bytes))
    } else {
        crate::atomic_file::write(path, bytes)
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::export::fixtures;

    fn outputs(dir: &Path, out: &str, files: &[(&'static str, Format, &str)]) -> Outputs {
        Outputs {
            format: Format::Table,
            out: out.to_owned(),
            width: None,
            files: files
                .iter()
                .map(|&(flag, format, name)| ExportFile {
                    flag,
                    format,
                    path: dir.join(name),
                })
                .collect(),
        }
    }

    /// One run, three files and the table: each file holds its own format, stdout the
    /// table, and stderr names every file with its full path.
    #[test]
    fn every_export_is_written_in_its_format_and_said() {
        let dir = tempfile::tempdir().unwrap();
        let set = outputs(
            dir.path(),
            "-",
            &[
                ("--export-json", Format::Json, "r.json"),
                ("--export-csv", Format::Csv, "r.csv"),
                ("--export-markdown", Format::Markdown, "r.md"),
            ],
        );
        set.check().unwrap();
        let cost = fixtures::cost();
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        set.write(&cost, ModelOptions::default(), &mut stdout, &mut stderr)
            .unwrap();
        assert_eq!(stdout, crate::export::export(&cost, Format::Table).unwrap());
        for (name, format) in [
            ("r.json", Format::Json),
            ("r.csv", Format::Csv),
            ("r.md", Format::Markdown),
        ] {
            let written = std::fs::read(dir.path().join(name)).unwrap();
            assert_eq!(
                written,
                crate::export::export(&cost, format).unwrap(),
                "{name}"
            );
        }
        let said = String::from_utf8(stderr).unwrap();
        let folder = dir.path().canonicalize().unwrap();
        assert_eq!(
            said,
            format!(
                "wrote {0}/r.json (JSON)\nwrote {0}/r.csv (CSV)\nwrote {0}/r.md (Markdown)\n",
                folder.display()
            )
        );
    }

    /// A file that cannot be written at the end (its folder went during the run) loses
    /// neither the other files nor the table on stdout, and the error names it.
    #[test]
    fn a_file_that_fails_at_the_end_loses_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        std::fs::create_dir(&gone).unwrap();
        let set = outputs(
            dir.path(),
            "-",
            &[
                ("--export-json", Format::Json, "gone/r.json"),
                ("--export-csv", Format::Csv, "r.csv"),
            ],
        );
        set.check().unwrap();
        std::fs::remove_dir(&gone).unwrap();
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let err = set
            .write(
                &fixtures::comparison(),
                ModelOptions::default(),
                &mut stdout,
                &mut stderr,
            )
            .unwrap_err();
        assert!(matches!(err, OutputError::Failed(_)));
        let text = err.to_string();
        assert!(text.contains("could not write "), "{text}");
        assert!(text.contains("gone/r.json (--export-json)"), "{text}");
        assert!(!stdout.is_empty());
        assert!(dir.path().join("r.csv").is_file());
        assert!(String::from_utf8(stderr).unwrap().contains("r.csv (CSV)"));
    }

    #[test]
    fn a_bad_export_is_refused_before_the_run_with_its_flag() {
        let dir = tempfile::tempdir().unwrap();
        let refused = |files: &[(&'static str, Format, &str)], out: &str| {
            outputs(dir.path(), out, files)
                .check()
                .unwrap_err()
                .to_string()
        };
        let text = refused(&[("--export-csv", Format::Csv, "no/such/r.csv")], "-");
        assert!(text.starts_with("--export-csv "), "{text}");
        assert!(text.ends_with("no/such does not exist"), "{text}");
        let text = refused(&[("--export-markdown", Format::Markdown, "")], "-");
        assert!(
            text.contains(": is a folder; give a file name in it"),
            "{text}"
        );
        assert!(!text.contains("standard output"), "{text}");
        let same = dir.path().join("r.json");
        let text = refused(
            &[("--export-json", Format::Json, "r.json")],
            same.to_str().unwrap(),
        );
        assert!(text.contains("is also the file of --out"), "{text}");
        let dash = Outputs {
            files: vec![ExportFile {
                flag: "--export-json",
                format: Format::Json,
                path: PathBuf::from("-"),
            }],
            ..outputs(dir.path(), "-", &[])
        };
        let text = dash.check().unwrap_err().to_string();
        assert!(text.contains("standard output is for --format"), "{text}");
    }

    #[test]
    fn warnings_wrap_only_at_a_width() {
        let warning =
            "other processes used 1.4 CPUs while 3 of the 5 points were measured".to_owned();
        let mut one = Vec::new();
        write_warnings(std::slice::from_ref(&warning), None, &mut one);
        assert_eq!(
            String::from_utf8(one).unwrap(),
            format!("warning: {warning}\n")
        );
        let mut wrapped = Vec::new();
        write_warnings(&[warning], Some(40), &mut wrapped);
        let text = String::from_utf8(wrapped).unwrap();
        assert!(text.lines().count() > 1, "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 40), "{text}");
        assert!(
            text.lines().skip(1).all(|l| l.starts_with("         ")),
            "{text}"
        );
    }

    /// A save that still fails at the end (the folder vanished during the run) prints the
    /// result instead of losing it, and fails with a message that says so.
    #[test]
    fn a_result_that_cannot_be_saved_is_printed_instead() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("gone").join("result.json");
        let mut printed = Vec::new();
        let err =
            write_or_print(out.to_str().unwrap(), b"{\"points\": []}\n", &mut printed).unwrap_err();
        assert_eq!(printed, b"{\"points\": []}\n");
        assert!(err.contains("could not write"), "{err}");
        assert!(err.contains("printed to standard output instead"), "{err}");
        let mut nothing = Vec::new();
        let fine = dir.path().join("result.json");
        write_or_print(fine.to_str().unwrap(), b"x", &mut nothing).unwrap();
        assert!(nothing.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn output_to_a_fifo_is_written_in_place_not_replaced() {
        use std::io::Read as _;
        use std::os::unix::fs::FileTypeExt as _;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("out.fifo");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path we own.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let reader_path = fifo.clone();
        let reader = std::thread::Builder::new()
            .name("pooltune-test-fifo-reader".into())
            .spawn(move || {
                let mut text = String::new();
                std::fs::File::open(reader_path)
                    .unwrap()
                    .read_to_string(&mut text)
                    .unwrap();
                text
            })
            .unwrap();
        write_file(&fifo, b"result\n").unwrap();
        // Checked before joining: a replaced FIFO would leave the reader waiting forever.
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(kind.is_fifo(), "the FIFO was replaced by {kind:?}");
        assert_eq!(reader.join().unwrap(), "result\n");
    }
}
