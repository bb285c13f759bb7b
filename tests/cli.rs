//! The headless commands as a user runs them: exit codes, error lines, output formats, and
//! every shipped preset running a shortened sweep.

// POSIX programs, signals or file modes: Unix only.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::{fixture, manifest_dir};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pooltune::cancel::CancelToken;
use pooltune::spec;
use pooltune::sweep;

fn pooltune(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pooltune"))
        .args(args)
        .env("POOLTUNE_PRESETS", manifest_dir().join("presets"))
        .output()
        .expect("pooltune runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_bad_preset_exits_2_and_names_the_problem() {
    common::check_bad_fixtures(&manifest_dir().join("tests/fixtures/bad"), 15, |file| {
        pooltune(&["sweep", "--preset", file.to_str().unwrap()])
    });
}

#[test]
fn bad_arguments_exit_2() {
    let missing = pooltune(&["sweep", "--preset", "/no/such/preset.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("/no/such/preset.toml"));

    let zero = pooltune(&[
        "sweep",
        "--preset",
        &fixture("tiny.toml"),
        "--threads",
        "1,0",
    ]);
    assert_eq!(zero.status.code(), Some(2));
    let stderr = text(&zero.stderr);
    assert!(
        stderr.contains("--threads") && stderr.contains("sweep.threads"),
        "{stderr}"
    );

    let format = pooltune(&[
        "sweep",
        "--preset",
        &fixture("tiny.toml"),
        "--format",
        "xml",
    ]);
    assert_eq!(format.status.code(), Some(2));
    assert!(
        text(&format.stderr).contains("table"),
        "allowed values listed"
    );

    let folder = pooltune(&[
        "sweep",
        "--preset",
        &fixture("tiny.toml"),
        "--out",
        "/no/such/dir/x.json",
    ]);
    assert_eq!(folder.status.code(), Some(2));
    assert!(text(&folder.stderr).contains("does not exist"));

    // A folder is refused before the sweep runs, not after it (exit 1, results lost).
    let dir = tempfile::tempdir().unwrap();
    let into_folder = pooltune(&[
        "sweep",
        "--preset",
        &fixture("tiny.toml"),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let stderr = text(&into_folder.stderr);
    assert_eq!(into_folder.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: --out") && stderr.contains("is a folder"),
        "{stderr}"
    );
}

/// The documented JSON fields of a point.
const POINT_FIELDS: [&str; 11] = [
    "threads",
    "throughput_per_s",
    "throughput_ci95_per_s",
    "latency_p50_us",
    "latency_p95_us",
    "latency_p99_us",
    "cpu_time_per_task_us",
    "wall_time_per_task_us",
    "cpu_utilization",
    "peak_rss_bytes",
    "error",
];

#[test]
fn json_output_has_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("result.json");
    let out = pooltune(&[
        "sweep",
        "--preset",
        &fixture("tiny.toml"),
        "--format",
        "json",
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    for field in ["logical_cpus", "physical_cpus", "total_memory_bytes"] {
        assert!(
            json["machine"][field].as_u64().unwrap() > 0,
            "machine.{field}"
        );
    }
    assert_eq!(json["preset"]["name"], "tiny");
    assert_eq!(json["preset"]["workload"]["kind"], "cpu");
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    for point in points {
        for field in POINT_FIELDS {
            assert!(point.get(field).is_some(), "points[].{field} missing");
        }
        assert!(point["error"].is_null());
        assert!(point["throughput_per_s"].as_f64().unwrap() > 0.0);
        let ci = point["throughput_ci95_per_s"].as_f64().unwrap();
        assert!(ci >= 0.0);
        let (p50, p95, p99) = (
            point["latency_p50_us"].as_f64().unwrap(),
            point["latency_p95_us"].as_f64().unwrap(),
            point["latency_p99_us"].as_f64().unwrap(),
        );
        assert!(p50 > 0.0 && p50 <= p95 && p95 <= p99, "{p50} {p95} {p99}");
    }
    assert_eq!(points[0]["threads"], 1);
    assert_eq!(points[1]["threads"], 2);
}

#[test]
fn csv_output_has_one_row_per_point_with_the_same_names() {
    let out = pooltune(&[
        "sweep",
        "--preset",
        &fixture("tiny.toml"),
        "--format",
        "csv",
        "--threads",
        "1,2,3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    for field in POINT_FIELDS {
        assert!(
            headers.iter().any(|h| h == field),
            "column {field} missing: {headers:?}"
        );
    }
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    let threads_col = headers.iter().position(|h| h == "threads").unwrap();
    let threads: Vec<&str> = rows.iter().map(|r| &r[threads_col]).collect();
    assert_eq!(threads, ["1", "2", "3"]);
}

#[test]
fn table_output_is_plain_when_not_a_terminal() {
    let out = pooltune(&["sweep", "--preset", &fixture("tiny.toml")]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("threads") && stdout.contains("tasks/s"),
        "{stdout}"
    );
    // No progress bar or escape codes when stderr is a pipe: at most the result's warnings
    // (a busy machine), one `warning: ...` line each.
    let stderr = text(&out.stderr);
    assert!(
        stderr.lines().all(|l| l.starts_with("warning: ")),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'));
    assert!(!stdout.contains('\u{1b}'));
}

#[test]
fn presets_lists_every_shipped_preset() {
    let out = pooltune(&["presets"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    for name in [
        "cpu-bound",
        "io-bound",
        "web-service",
        "memory-bandwidth",
        "lock-contention",
        "shared-state",
        "gil-vs-no-gil",
    ] {
        assert!(
            stdout.contains(&format!("{name}.toml")),
            "{name} not listed:\n{stdout}"
        );
    }
    assert!(!stdout.contains("unreadable"), "{stdout}");
}

fn shipped_sweep_presets() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(manifest_dir().join("presets"))
        .expect("presets folder")
        .map(|e| e.expect("presets entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        // Comparison presets (a list of series) have their own loader and tests.
        .filter(|p| {
            !std::fs::read_to_string(p)
                .expect("readable preset")
                .contains("[[series]]")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_preset_parses_validates_and_runs_a_short_sweep() {
    let files = shipped_sweep_presets();
    assert!(files.len() >= 7, "{files:?}");
    for file in files {
        let mut preset =
            spec::load(Path::new(&file)).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        assert!(
            !preset.description.is_empty(),
            "{}: no description",
            file.display()
        );
        // Shortened: two thread counts, three tiny trials.
        // As `--threads 1,2` does: a list, a grid (an adaptive preset's range and search go).
        preset.sweep.use_thread_list(vec![1, 2]);
        preset.sweep.tasks_per_trial = Some(4);
        preset.sweep.trial_ms = None;
        preset.sweep.warmup_ms = 0;
        // A program's trial is one run of `work_per_run` units, whatever tasks_per_trial says.
        let tasks = match &mut preset.workload {
            spec::WorkloadSpec::Command(command) => {
                command.warmup_runs = 0;
                command.work_per_run
            }
            _ => 4.0,
        };
        let result = sweep::run(&preset, &CancelToken::new(), &mut |_| {})
            .unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        assert_eq!(result.points.len(), 2);
        for point in &result.points {
            assert_eq!(point.error, None, "{}", file.display());
            assert_eq!(point.tasks_per_trial, tasks);
        }
    }
}

#[test]
fn a_pool_the_os_refuses_fails_its_point_and_the_sweep_goes_on() {
    // Limit this user's processes and threads (RLIMIT_NPROC) to 100, so that the OS refuses
    // a pool of 1000 threads with EAGAIN but grants one of 2. (A virtual-memory limit also
    // refuses threads, but then any small allocation in between may fail too, and Rust aborts
    // on those; a thread limit refuses only thread creation.)
    for pool in ["rayon", "queue"] {
        let Some(points) = sweep_under_thread_limit(&tiny_with_pool(pool), "2,1000,2", 0) else {
            return;
        };
        assert_eq!(points.len(), 3, "{pool}");
        assert_refused_1000_threads(pool, &points[1]);
        assert!(
            points[0]["error"].is_null(),
            "{pool}: {}",
            points[0]["error"]
        );
        assert!(
            points[2]["error"].is_null(),
            "{pool}: {}",
            points[2]["error"]
        );
    }
    // A spawn pool starts one thread per task, so it only asks for 1000 threads at once when
    // 1000 tasks are all still running: tasks that each wait 0.3 s always are.
    let long_tasks = tiny_with_pool("spawn")
        .replace("kind = \"cpu\"", "kind = \"blocking\"\nwait_us = 300000")
        .replace("compute_us = 50", "compute_us = 0")
        .replace("tasks_per_trial = 40", "tasks_per_trial = 1000");
    // Its only point fails: nothing was measured, exit 1 (the result is still written).
    let Some(points) = sweep_under_thread_limit(&long_tasks, "1000", 1) else {
        return;
    };
    assert_eq!(points.len(), 1);
    assert_refused_1000_threads("spawn", &points[0]);
}

fn tiny_with_pool(pool: &str) -> String {
    std::fs::read_to_string(fixture("tiny.toml"))
        .unwrap()
        .replace("\"rayon\"", &format!("\"{pool}\""))
}

/// Runs `preset` with `--threads threads` with at most 100 processes and threads for the
/// user; the points. Root is exempt from that limit, so as root the sweep runs as `nobody`
/// (through util-linux's `setpriv`); None (the test cannot run here) without it. The sweep
/// must exit with `exit_code`.
fn sweep_under_thread_limit(
    preset: &str,
    threads: &str,
    exit_code: i32,
) -> Option<Vec<serde_json::Value>> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let preset_path = dir.path().join("p.toml");
    std::fs::write(&preset_path, preset).unwrap();
    std::fs::set_permissions(&preset_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    // A copy of the binary beside the preset, so `nobody` can run it wherever the checkout is.
    let exe = dir.path().join("pooltune");
    std::fs::copy(env!("CARGO_BIN_EXE_pooltune"), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = format!(
        "ulimit -u 100 && exec '{}' sweep --preset '{}' --threads {threads} --format json",
        exe.display(),
        preset_path.display()
    );
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mut command = if root {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "bash",
            "-c",
            &script,
        ]);
        c
    } else {
        let mut c = Command::new("bash");
        c.args(["-c", &script]);
        c
    };
    let out = match command.output() {
        Ok(out) => out,
        Err(err) => {
            eprintln!("skipped: cannot limit threads here (setpriv: {err})");
            return None;
        }
    };
    assert_eq!(out.status.code(), Some(exit_code), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Some(json["points"].as_array().unwrap().clone())
}

fn assert_refused_1000_threads(pool: &str, point: &serde_json::Value) {
    let error = point["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{pool}: 1000 threads ran"));
    assert!(
        error.contains("1000") && error.contains("os error"),
        "{pool}: {error}"
    );
}

/// Ctrl-C is how a user stops `pooltune sweep`: the sweep stops (issue 2: within 200 ms,
/// keeping the finished points), the result so far is still written, and a file_io
/// workload's temporary folder is removed ("also on cancel or error"), with exit 1 and one
/// `error:` line.
#[test]
fn ctrl_c_stops_the_sweep_writes_what_finished_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let preset_path = dir.path().join("p.toml");
    std::fs::write(
        &preset_path,
        "schema_version = 1\nname = \"file io, long\"\n[workload]\nkind = \"file_io\"\nbytes = 4096\n\
         [sweep]\nthreads = [1, 2, 3, 4]\ntrials = 3\ntrial_ms = 60000\nwarmup_ms = 0\n",
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_pooltune"))
        .args([
            "sweep",
            "--preset",
            preset_path.to_str().unwrap(),
            "--format",
            "json",
        ])
        .env("TMPDIR", &tmp)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the workload has made its temporary folder (the sweep is running).
    let started = std::time::Instant::now();
    while std::fs::read_dir(&tmp).unwrap().count() == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no file_io folder appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // SAFETY: kill has no memory-safety preconditions; the pid is our running child's.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{:?}: {stderr}", out.status);
    assert!(
        stderr.starts_with("error: ") && stderr.contains("Ctrl-C"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["cancelled"], true);
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn run_needs_a_preset_or_the_cost_tab() {
    let alone = pooltune(&["--run"]);
    assert_eq!(alone.status.code(), Some(2));
    let stderr = text(&alone.stderr);
    assert!(
        stderr.contains("--run needs --preset") && stderr.contains("--tab cost"),
        "{stderr}"
    );
    let tab = pooltune(&["--tab", "nope"]);
    assert_eq!(tab.status.code(), Some(2));
    assert!(text(&tab.stderr).contains("cost"));
}

/// A sweep whose one series cannot start (here: its program is not on PATH) says why on
/// stderr, writes the result with the reason in its `error`, and exits 1: it used to write
/// an empty result and exit 0, as if there had been nothing to measure.
#[test]
fn a_sweep_whose_series_cannot_start_fails_and_its_result_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("missing.toml");
    std::fs::write(
        &preset,
        "schema_version = 1\nname = \"missing\"\n[workload]\nkind = \"command\"\n\
         run = [\"no-such-program-pooltune-test\", \"-T{threads}\"]\n\
         [sweep]\nthreads = [1, 2]\ntrials = 3\n",
    )
    .unwrap();
    let out_file = dir.path().join("result.json");
    let out = pooltune(&[
        "sweep",
        "--preset",
        preset.to_str().unwrap(),
        "--format",
        "json",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("no program `no-such-program-pooltune-test` found"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was measured"), "{stderr}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert!(json["points"].as_array().unwrap().is_empty());
    let error = json["error"].as_str().unwrap();
    assert!(error.starts_with("workload.run: no program"), "{error}");
}

/// `pooltune ARGS` with `COLUMNS` set, as a terminal of that width would have it.
fn pooltune_at_width(args: &[&str], columns: usize) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pooltune"))
        .args(args)
        .env("POOLTUNE_PRESETS", manifest_dir().join("presets"))
        .env("COLUMNS", columns.to_string())
        .output()
        .expect("pooltune runs")
}

/// The `wrote PATH (FORMAT)` lines on stderr, as (path, format).
fn said_written(stderr: &str) -> Vec<(String, String)> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("wrote "))
        .filter_map(|l| l.rsplit_once(" ("))
        .map(|(path, format)| (path.to_owned(), format.trim_end_matches(')').to_owned()))
        .collect()
}

/// Asserts that every line of `table` fits `width` characters.
fn assert_within(table: &str, width: usize) {
    for line in table.lines() {
        assert!(line.chars().count() <= width, "{line:?} in\n{table}");
    }
}

/// One run, hyperfine's way: the table on stdout fitted to the terminal, and the JSON, CSV
/// and Markdown files beside it, each said on stderr with its full path (issue 13 §2).
#[test]
fn one_sweep_writes_every_export_beside_the_fitted_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (json, csv, md) = (path("r.json"), path("r.csv"), path("r.md"));
    let out = pooltune_at_width(
        &[
            "sweep",
            "--preset",
            &fixture("tiny.toml"),
            "--export-json",
            &json,
            "--export-csv",
            &csv,
            "--export-markdown",
            &md,
        ],
        80,
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let table = text(&out.stdout);
    assert_within(&table, 80);
    let header = table.lines().find(|l| l.starts_with("threads")).unwrap();
    for column in ["tasks/s", "±95%", "p50 µs", "p99 µs", "cpu util"] {
        assert!(header.contains(column), "{column}: {table}");
    }
    assert!(!header.contains("invol csw"), "{table}");
    assert!(table.contains("--wide shows every column"), "{table}");
    assert!(table.contains("\nrecommendation: "), "{table}");

    let folder = dir.path().canonicalize().unwrap();
    let full = |name: &str| folder.join(name).to_string_lossy().into_owned();
    assert_eq!(
        said_written(&stderr),
        [
            (full("r.json"), "JSON".to_owned()),
            (full("r.csv"), "CSV".to_owned()),
            (full("r.md"), "Markdown".to_owned()),
        ],
        "{stderr}"
    );
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(result["points"].as_array().map(Vec::len), Some(2));
    assert!(result["recommendation"]["recommended_threads"].is_number());
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        csv_text.lines().next(),
        Some(pooltune::export::CSV_COLUMNS.join(",").as_str())
    );
    assert_eq!(csv_text.lines().count(), 3, "{csv_text}");
    let markdown = std::fs::read_to_string(&md).unwrap();
    let sentence = markdown.find("**Recommendation:** ").unwrap();
    let rows: Vec<&str> = markdown.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 2 + 2, "header, rule and 2 points:\n{markdown}");
    assert!(
        sentence < markdown.find("| threads |").unwrap(),
        "{markdown}"
    );
    assert!(
        rows[0].contains("| invol csw |"),
        "every column: {markdown}"
    );
}

#[test]
fn wide_shows_every_column_and_a_wider_terminal_more() {
    let columns = |out: &Output| {
        let table = text(&out.stdout);
        let header = table.lines().find(|l| l.starts_with("threads")).unwrap();
        header.split("  ").filter(|c| !c.is_empty()).count()
    };
    let args = ["sweep", "--preset", &fixture("tiny.toml")];
    let at_80 = pooltune_at_width(&args, 80);
    let at_120 = pooltune_at_width(&args, 120);
    let mut wide_args = args.to_vec();
    wide_args.push("--wide");
    let wide = pooltune_at_width(&wide_args, 80);
    for out in [&at_80, &at_120, &wide] {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    assert_within(&text(&at_120.stdout), 120);
    assert!(
        columns(&at_80) < columns(&at_120),
        "{}",
        text(&at_120.stdout)
    );
    assert_eq!(columns(&wide), 14, "{}", text(&wide.stdout));
    assert!(!text(&wide.stdout).contains("hidden to fit"));
}

/// `compare` and `cost` take the same exports; a comparison of two Rust-side series runs
/// without Python.
#[test]
fn compare_and_cost_write_their_exports_and_fit_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("two.toml");
    let compare_tiny = std::fs::read_to_string(fixture("compare-tiny.toml")).unwrap();
    let python_at = compare_tiny
        .find("[[series]]\nlabel = \"Python threads\"")
        .unwrap();
    std::fs::write(&preset, &compare_tiny[..python_at]).unwrap();
    let md = dir.path().join("c.md");
    let json = dir.path().join("c.json");
    let out = pooltune_at_width(
        &[
            "compare",
            "--preset",
            preset.to_str().unwrap(),
            "--export-markdown",
            md.to_str().unwrap(),
            "--export-json",
            json.to_str().unwrap(),
        ],
        80,
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_within(&text(&out.stdout), 80);
    assert!(
        text(&out.stdout).contains("efficiency"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(said_written(&stderr).len(), 2, "{stderr}");
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(markdown.contains("#### [2] Simulated GIL"), "{markdown}");
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(result["series"].as_array().map(Vec::len), Some(2));

    let csv = dir.path().join("cost.csv");
    let out = pooltune_at_width(
        &[
            "cost",
            "--threads",
            "2",
            "--processes",
            "1",
            "--no-python",
            "--export-csv",
            csv.to_str().unwrap(),
        ],
        80,
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_within(&text(&out.stdout), 80);
    assert_eq!(said_written(&stderr).len(), 1, "{stderr}");
    let cost_csv = std::fs::read_to_string(&csv).unwrap();
    assert!(cost_csv.contains("\nrust_thread,,2,"), "{cost_csv}");
}

/// An export that could not be written at the end is refused before the run (exit 2, one
/// `error:` line naming the flag, nothing measured), for every command.
#[test]
fn an_unwritable_export_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/r.csv");
    let folder = dir.path().to_str().unwrap().to_owned();
    let tiny = fixture("tiny.toml");
    let compare_tiny = fixture("compare-tiny.toml");
    let cases: [(Vec<&str>, &str); 3] = [
        (
            vec![
                "sweep",
                "--preset",
                &tiny,
                "--export-csv",
                missing.to_str().unwrap(),
            ],
            "--export-csv ",
        ),
        (
            vec![
                "compare",
                "--preset",
                &compare_tiny,
                "--export-json",
                &folder,
            ],
            "--export-json ",
        ),
        (
            vec!["cost", "--no-python", "--export-markdown", &folder],
            "--export-markdown ",
        ),
    ];
    for (args, flag) in cases {
        let out = pooltune(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(&format!("error: {flag}")), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

/// `pooltune open` with no display: a damaged or newer file is one `error:` line naming the
/// file, exit 2, read before any window is tried (a good file gets as far as the window,
/// which then has no display: exit 1).
#[test]
fn open_refuses_a_damaged_file_before_any_window() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture("export/sweep.json");
    let json = std::fs::read_to_string(&good).unwrap();
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &json[..json.len() / 3]).unwrap();
    let newer = dir.path().join("newer.json");
    std::fs::write(
        &newer,
        json.replacen("\"format_version\": 1", "\"format_version\": 7", 1),
    )
    .unwrap();
    let open = |files: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pooltune"))
            .arg("open")
            .args(files)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .expect("pooltune runs")
    };
    let cut_name = cut.to_str().unwrap();
    for (files, expected) in [
        (vec![cut_name], format!("error: {cut_name}:")),
        // The good file first: every file is read before the window.
        (vec![good.as_str(), cut_name], format!("error: {cut_name}:")),
        (
            vec![newer.to_str().unwrap()],
            format!(
                "error: {}:2:3: `format_version` 7 is newer than this pooltune",
                newer.display()
            ),
        ),
    ] {
        let out = open(&files);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{files:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.starts_with(&expected), "{expected}\n{stderr}");
        assert!(out.stdout.is_empty());
    }
    let out = open(&[cut_name]);
    assert!(
        text(&out.stderr).contains("EOF while parsing"),
        "{}",
        text(&out.stderr)
    );
    let out = open(&[good.as_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no display"),
        "{}",
        text(&out.stderr)
    );
}
