//! `kind = "exec"`: every task is one child process running the user's command, on one of
//! pooltune's pools of threads. The task's wall time is the child's, start to reaped; its CPU
//! time is the child's own user + system time as `wait4` reports it (its threads and the
//! children it waited for), so W and C are the real task's, not the launcher's.
//!
//! An [`ExecPlan`] is resolved once, before anything runs: the program found (relative to the
//! preset's folder, or on PATH), every placeholder checked (`{input}`, `{task}`, `{worker}`,
//! `{threads}`, and `{scratch}` when the series made a scratch folder), and the `inputs` glob
//! expanded (task i gets match i mod count; after `setup`, when there is one, since it may
//! make them). [`Exec`] runs the plan for one thread count; a failing task stops its trial and
//! fails the point with its stderr tail.
//!
//! Each child is run by the launcher ([`crate::child::launch`]): a process group of its own,
//! a Stop or the task's timeout ends the whole group, and every child is reaped exactly once.
//! This module never runs a shell unless the command starts one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{ChildUsage, TaskCtx, Workload};
use crate::child::launch::{self, Launch, Output, Placeholders, Stopped};
use crate::spec::{CommandLine, ExecSpec};

/// Lines of a failing task's standard error quoted in the point's message.
const STDERR_TAIL_LINES: usize = 5;

/// The placeholder of the run's scratch folder (made by the series before `setup`).
pub const SCRATCH: &str = "scratch";

/// The placeholders of a task, with the values they take (`{input}` only with `inputs`,
/// `{scratch}` only when the series made a scratch folder).
fn placeholders(
    scratch: Option<&str>,
    input: Option<&str>,
    task: u64,
    worker: usize,
    threads: usize,
) -> Placeholders {
    let mut values = Placeholders::new();
    if let Some(input) = input {
        values.set("input", input);
    }
    values.set("task", task);
    values.set("worker", worker);
    values.set("threads", threads);
    if let Some(scratch) = scratch {
        values.set(SCRATCH, scratch);
    }
    values
}

/// An exec workload resolved against its folder: what every task runs, found and checked
/// before the first task.
#[derive(Debug, Clone)]
pub struct ExecPlan {
    /// The command as written, for messages.
    display: String,
    /// The program's path, found once (not searched again per task).
    program: PathBuf,
    /// Its arguments (after the program's name), placeholders as written.
    args: Vec<String>,
    /// Variables set for each task, on top of pooltune's environment, as written.
    env: Vec<(String, String)>,
    /// The `inputs` glob as written.
    pattern: Option<String>,
    /// The `inputs` glob's matches, as paths relative to `folder` (or absolute, for an
    /// absolute glob), sorted; empty until [`ExecPlan::expand_inputs`].
    inputs: Vec<String>,
    /// The working directory of every task: the preset's folder.
    folder: PathBuf,
    /// The run's scratch folder, for `{scratch}`.
    scratch: Option<String>,
    timeout: Duration,
    keep_output: bool,
}

impl ExecPlan {
    /// Resolves `spec` against `folder` (the preset's; None: the current directory): finds
    /// the program, checks the placeholders and expands `inputs`. The error names the field,
    /// what was found and what is allowed, so that it can be shown before anything runs.
    pub fn new(spec: &ExecSpec, folder: Option<&Path>) -> Result<ExecPlan, String> {
        let folder = match folder {
            Some(folder) => folder.to_path_buf(),
            None => std::env::current_dir()
                .map_err(|err| format!("could not read the current directory: {err}"))?,
        };
        let mut plan = ExecPlan::prepare(spec, &folder, None)?;
        plan.expand_inputs()?;
        Ok(plan)
    }

    /// [`ExecPlan::new`] but for the inputs, which a series expands after its `setup` has
    /// run (setup may be what makes them): the program found, every placeholder checked
    /// (`{scratch}` is `scratch`, when given).
    pub fn prepare(
        spec: &ExecSpec,
        folder: &Path,
        scratch: Option<&Path>,
    ) -> Result<ExecPlan, String> {
        spec.validate().map_err(|invalid| invalid.to_string())?;
        let scratch = scratch.map(|path| path.display().to_string());
        let (name, words): (String, Vec<String>) = match &spec.run {
            CommandLine::Argv(words) => match words.split_first() {
                Some((name, rest)) => (name.clone(), rest.to_vec()),
                None => return Err("workload.run: the command is empty".to_owned()),
            },
            CommandLine::Shell(line) => (
                launch::SHELL.to_owned(),
                vec!["-c".to_owned(), line.clone()],
            ),
        };
        if name.contains('{') {
            return Err(format!(
                "workload.run: the program {name:?} has a placeholder; the program is found \
                 before anything runs, so it must be written out (placeholders may follow in \
                 its arguments)"
            ));
        }
        let program = find_program(&name, folder)?;
        let args: Vec<(String, String)> = words
            .iter()
            .enumerate()
            .map(|(i, word)| (format!("workload.run[{}]", i + 1), word.clone()))
            .collect();
        let env: Vec<(String, String)> = spec
            .env
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let fields = || {
            args.iter().cloned().chain(
                env.iter()
                    .map(|(k, v)| (format!("workload.env.{k}"), v.clone())),
            )
        };
        // Every placeholder is checked now, with a task's values, not at the first task.
        let all = placeholders(scratch.as_deref(), Some(""), 0, 0, 1);
        for (field, text) in fields() {
            launch::substitute(&field, &text, &all)?;
        }
        let without_input = placeholders(scratch.as_deref(), None, 0, 0, 1);
        let uses_input = fields()
            .any(|(field, text)| launch::substitute(&field, &text, &without_input).is_err());
        if let Some(pattern) = &spec.inputs {
            let only_scratch = placeholders(scratch.as_deref(), None, 0, 0, 1);
            let mut values = Placeholders::new();
            if let Some(scratch) = only_scratch.get(SCRATCH) {
                values.set(SCRATCH, scratch);
            }
            launch::substitute("workload.inputs", pattern, &values)?;
        } else if uses_input {
            return Err(
                "workload.run uses {input}, and there is no `workload.inputs` glob to take the \
                 inputs from: add one, such as inputs = \"corpus/*.txt\""
                    .to_owned(),
            );
        }
        Ok(ExecPlan {
            display: spec.run.display(),
            program,
            args: args.into_iter().map(|(_, word)| word).collect(),
            env,
            pattern: spec.inputs.clone(),
            inputs: Vec::new(),
            folder: folder.to_path_buf(),
            scratch,
            timeout: Duration::from_secs_f64(spec.timeout_s),
            keep_output: spec.keep_output,
        })
    }

    /// Expands the `inputs` glob (its `{scratch}` filled in) against the folder; no match is
    /// an error naming `workload.inputs`, since a task needs one.
    pub fn expand_inputs(&mut self) -> Result<(), String> {
        let Some(pattern) = &self.pattern else {
            return Ok(());
        };
        let mut values = Placeholders::new();
        if let Some(scratch) = &self.scratch {
            values.set(SCRATCH, scratch);
        }
        let glob = launch::substitute("workload.inputs", pattern, &values)?;
        let matches = expand_glob(&glob, &self.folder)?;
        if matches.is_empty() {
            return Err(format!(
                "workload.inputs = {pattern:?} matches no file in {}: a task gets one of its \
                 matches as {{input}}, so it needs at least one",
                self.folder.display()
            ));
        }
        self.inputs = matches;
        Ok(())
    }

    /// The command as written in the preset (`sha256sum {input}`): what pooltune shows
    /// before it runs it.
    pub fn command_line(&self) -> &str {
        &self.display
    }

    /// The files `{input}` takes, in order (task i gets match i mod count).
    pub fn inputs(&self) -> &[String] {
        &self.inputs
    }

    /// The program every task starts.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The input of task `task`: match `task` mod count (empty without `inputs`).
    fn input_of(&self, task: u64) -> &str {
        if self.inputs.is_empty() {
            return "";
        }
        let index = (task % self.inputs.len() as u64) as usize;
        &self.inputs[index]
    }
}

/// The exec workload for one thread count: each task starts the plan's command and waits
/// for it. Counts the children's CPU time and largest resident memory for the pool to read.
#[derive(Debug)]
pub struct Exec {
    plan: Arc<ExecPlan>,
    threads: usize,
    child_cpu_ns: AtomicU64,
    child_peak_rss_bytes: AtomicU64,
    children: AtomicU64,
    /// Pooltune's own peak resident memory as last read: it only grows, so it is read again
    /// only when a child's figure is above it (getrusage of a process walks all its threads:
    /// once per task would cost O(N) per task at N threads).
    own_peak_rss_bytes: AtomicU64,
}

impl Exec {
    /// The workload of `plan` on a pool of `threads` workers.
    pub fn new(plan: Arc<ExecPlan>, threads: usize) -> Exec {
        Exec {
            plan,
            threads,
            child_cpu_ns: AtomicU64::new(0),
            child_peak_rss_bytes: AtomicU64::new(0),
            children: AtomicU64::new(0),
            own_peak_rss_bytes: AtomicU64::new(0),
        }
    }

    /// Pooltune's own peak resident memory, at least as large as any figure a child can have
    /// inherited from it: read again only when `child_bytes` is above the last reading.
    fn own_peak_rss_bytes(&self, child_bytes: u64) -> u64 {
        let known = self.own_peak_rss_bytes.load(Ordering::Relaxed);
        if child_bytes <= known {
            return known;
        }
        let now = crate::measure::ProcessUsage::now().max_rss_bytes;
        self.own_peak_rss_bytes.fetch_max(now, Ordering::Relaxed);
        now.max(known)
    }

    /// The launch of task `task` on worker `worker`: the plan's command with its placeholders
    /// filled (checked when the plan was made, so this cannot fail on a placeholder).
    fn launch(&self, task: u64, worker: usize) -> Result<Launch, String> {
        let input = (!self.plan.inputs.is_empty()).then(|| self.plan.input_of(task));
        let values = placeholders(
            self.plan.scratch.as_deref(),
            input,
            task,
            worker,
            self.threads,
        );
        let args = self
            .plan
            .args
            .iter()
            .map(|word| launch::substitute("workload.run", word, &values))
            .collect::<Result<Vec<_>, _>>()?;
        let env = self
            .plan
            .env
            .iter()
            .map(|(key, value)| {
                launch::substitute(&format!("workload.env.{key}"), value, &values)
                    .map(|value| (key.clone(), value))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Launch {
            program: self.plan.program.clone(),
            args,
            env,
            cwd: Some(self.plan.folder.clone()),
            output: if self.plan.keep_output {
                Output::Keep
            } else {
                Output::Discard
            },
            timeout: Some(self.plan.timeout),
        })
    }
}

impl Workload for Exec {
    fn run_task(&self, ctx: &TaskCtx<'_>) {
        if ctx.stop.interrupted() {
            return;
        }
        let launch = match self.launch(ctx.task, ctx.worker) {
            Ok(launch) => launch,
            Err(message) => return ctx.stop.record_error(message),
        };
        let finished = match launch.run(ctx.stop.cancel_token()) {
            Ok(finished) => finished,
            Err(err) => return ctx.stop.record_error(format!("task {}: {err}", ctx.task)),
        };
        let cpu_ns = u64::try_from(finished.cpu().as_nanos()).unwrap_or(u64::MAX);
        self.child_cpu_ns.fetch_add(cpu_ns, Ordering::Relaxed);
        // Linux starts a child's ru_maxrss at its parent's high-water mark when it execs, so a
        // child smaller than pooltune reports pooltune's peak (a 3 MiB `true` read 303 MiB
        // under a 300 MiB parent). Above pooltune's own peak the figure can only be the
        // child's; below it the child's own peak is unknown and not reported.
        if finished.max_rss_bytes > self.own_peak_rss_bytes(finished.max_rss_bytes) {
            self.child_peak_rss_bytes
                .fetch_max(finished.max_rss_bytes, Ordering::Relaxed);
        }
        self.children.fetch_add(1, Ordering::Relaxed);
        let what = match finished.stopped {
            // A stopped trial is discarded, and says so itself.
            Some(Stopped::Cancelled) => return,
            Some(Stopped::Timeout) => format!(
                "ran longer than workload.timeout_s = {} s and was killed",
                self.plan.timeout.as_secs_f64()
            ),
            None if finished.succeeded() => return,
            None => format!("ended with {}", finished.end),
        };
        let lines: Vec<&str> = finished
            .stderr_lines()
            .into_iter()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect();
        let tail = if lines.is_empty() {
            "its stderr was empty".to_owned()
        } else {
            let from = lines.len().saturating_sub(STDERR_TAIL_LINES);
            format!("its stderr ended: {}", lines[from..].join(" / "))
        };
        ctx.stop.record_error(format!(
            "task {} failed: `{}` {what}; {tail}",
            ctx.task,
            launch.display()
        ));
    }

    fn take_child_usage(&self) -> Option<ChildUsage> {
        Some(ChildUsage {
            cpu_ns: self.child_cpu_ns.swap(0, Ordering::Relaxed),
            peak_rss_bytes: self.child_peak_rss_bytes.swap(0, Ordering::Relaxed),
            children: self.children.swap(0, Ordering::Relaxed),
        })
    }
}

/// Finds the program `name` with the launcher's rules (a name with a `/` relative to
/// `folder`, any other on PATH), as an absolute path: a relative program path would be read
/// against the child's working directory on some systems and pooltune's on others. The error
/// names `workload.run`.
pub fn find_program(name: &str, folder: &Path) -> Result<PathBuf, String> {
    let found = launch::find_program(name, folder).map_err(|err| format!("workload.run: {err}"))?;
    Ok(std::path::absolute(&found).unwrap_or(found))
}

/// The files `pattern` matches, relative to `folder` unless the pattern is absolute; sorted,
/// regular files only (a directory is no task's input). A component may hold `*` (any run of
/// characters but `/`), `?` (one character), `[abc]`, `[a-z]`, `[!a]` and `\` to escape one;
/// `**` alone matches any number of folders. As in a shell, a wildcard does not match a name
/// starting with `.` unless the pattern's component does too.
pub fn expand_glob(pattern: &str, folder: &Path) -> Result<Vec<String>, String> {
    let absolute = pattern.starts_with('/');
    let components: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    if components.is_empty() {
        return Err(format!(
            "`workload.inputs` = {pattern:?} names no file: give a glob such as \"corpus/*.txt\""
        ));
    }
    // Each candidate: the path to read, and the text a task is given.
    let start = if absolute {
        (PathBuf::from("/"), "/".to_owned())
    } else {
        (folder.to_path_buf(), String::new())
    };
    let mut current = vec![start];
    for component in &components {
        let mut next = Vec::new();
        for (path, shown) in &current {
            if *component == "**" {
                collect_folders(path, shown, &mut next);
            } else if !has_wildcard(component) {
                let literal = unescape(component);
                next.push((path.join(&literal), join_shown(shown, &literal)));
            } else {
                let Ok(entries) = std::fs::read_dir(path) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .filter_map(Result::ok)
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|name| wildcard_match(component, name))
                    .collect();
                names.sort();
                for name in names {
                    next.push((path.join(&name), join_shown(shown, &name)));
                }
            }
        }
        current = next;
    }
    let mut files: Vec<String> = current
        .into_iter()
        .filter(|(path, _)| path.is_file())
        .map(|(_, shown)| shown)
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

fn join_shown(shown: &str, name: &str) -> String {
    if shown.is_empty() {
        name.to_owned()
    } else if shown.ends_with('/') {
        format!("{shown}{name}")
    } else {
        format!("{shown}/{name}")
    }
}

/// `path` and every folder below it (not hidden ones), for `**`.
fn collect_folders(path: &Path, shown: &str, out: &mut Vec<(PathBuf, String)>) {
    out.push((path.to_path_buf(), shown.to_owned()));
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    for name in names {
        collect_folders(&path.join(&name), &join_shown(shown, &name), out);
    }
}

fn has_wildcard(component: &str) -> bool {
    component.contains(['*', '?', '['])
}

fn unescape(component: &str) -> String {
    let mut out = String::new();
    let mut chars = component.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One glob component against one file name (see [`expand_glob`]).
fn wildcard_match(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    match_from(&pattern, &name)
}

fn match_from(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    // Where the last `*` was, and the name position it is trying to cover up to.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => match class_match(&pattern[p..], name[n]) {
                Some((true, len)) => Some(len),
                _ => None,
            },
            Some('\\') if pattern.get(p + 1) == Some(&name[n]) => Some(2),
            Some(&c) if c != '\\' && c == name[n] => Some(1),
            _ => None,
        };
        match step {
            Some(len) => {
                p += len;
                n += 1;
            }
            None => match star {
                Some((star_p, star_n)) => {
                    p = star_p + 1;
                    n = star_n + 1;
                    star = Some((star_p, star_n + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Whether `c` is in the class that starts `pattern` (`[...]`), and the class's length;
/// None when the class is not closed (then `[` is an ordinary character).
fn class_match(pattern: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negated = matches!(pattern.get(1), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    while let Some(&ch) = pattern.get(i) {
        if ch == ']' && !first {
            return Some((found != negated, i + 1));
        }
        first = false;
        if pattern.get(i + 1) == Some(&'-') && pattern.get(i + 2).is_some_and(|&e| e != ']') {
            let end = pattern[i + 2];
            if ch <= c && c <= end {
                found = true;
            }
            i += 3;
        } else {
            if ch == c {
                found = true;
            }
            i += 1;
        }
    }
    if pattern.first() == Some(&c) {
        // An unclosed `[` matches itself.
        return Some((true, 1));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::{CancelToken, TrialStop};
    use std::collections::BTreeMap;

    fn spec(run: &[&str]) -> ExecSpec {
        ExecSpec {
            run: CommandLine::Argv(run.iter().map(|w| (*w).to_owned()).collect()),
            shell: false,
            inputs: None,
            env: BTreeMap::new(),
            setup: None,
            cleanup: None,
            timeout_s: 30.0,
            keep_output: false,
        }
    }

    #[test]
    fn wildcards_match_as_a_shell_does() {
        assert!(wildcard_match("*.txt", "a.txt"));
        assert!(!wildcard_match("*.txt", "a.txt.gz"));
        assert!(!wildcard_match("*.txt", ".hidden.txt"));
        assert!(wildcard_match(".*.txt", ".hidden.txt"));
        assert!(wildcard_match("f?le[0-9].t*", "file7.txt"));
        assert!(!wildcard_match("f?le[0-9].t*", "fileX.txt"));
        assert!(wildcard_match("[!a]*", "b1"));
        assert!(!wildcard_match("[!a]*", "a1"));
        assert!(wildcard_match("a*b*c", "axxbyyc"));
        assert!(!wildcard_match("a*b*c", "axxbyy"));
        assert!(wildcard_match(r"a\*", "a*"));
        assert!(!wildcard_match(r"a\*", "ab"));
        assert!(wildcard_match("[ab", "[ab"));
    }

    #[test]
    fn a_glob_expands_relative_to_the_folder_sorted_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = dir.path().join("corpus");
        std::fs::create_dir_all(corpus.join("deep/er")).unwrap();
        for name in ["b.txt", "a.txt", "c.md", "deep/d.txt", "deep/er/e.txt"] {
            std::fs::write(corpus.join(name), name).unwrap();
        }
        std::fs::create_dir(corpus.join("dir.txt")).unwrap();
        assert_eq!(
            expand_glob("corpus/*.txt", dir.path()).unwrap(),
            ["corpus/a.txt", "corpus/b.txt"]
        );
        assert_eq!(
            expand_glob("corpus/**/*.txt", dir.path()).unwrap(),
            [
                "corpus/a.txt",
                "corpus/b.txt",
                "corpus/deep/d.txt",
                "corpus/deep/er/e.txt"
            ]
        );
        assert_eq!(
            expand_glob("corpus/c.md", dir.path()).unwrap(),
            ["corpus/c.md"]
        );
        assert!(expand_glob("corpus/*.rs", dir.path()).unwrap().is_empty());
        let absolute = format!("{}/corpus/?.md", dir.path().display());
        assert_eq!(
            expand_glob(&absolute, Path::new("/nowhere")).unwrap(),
            [format!("{}/corpus/c.md", dir.path().display())]
        );
    }

    #[test]
    fn a_plan_refuses_what_cannot_run_before_anything_runs() {
        let dir = tempfile::tempdir().unwrap();
        let err =
            ExecPlan::new(&spec(&["no-such-program-pooltune"]), Some(dir.path())).unwrap_err();
        assert!(err.starts_with("workload.run: "), "{err}");
        assert!(
            err.contains("no-such-program-pooltune") && err.contains("searched PATH: "),
            "{err}"
        );
        let err = ExecPlan::new(&spec(&["./missing.sh"]), Some(dir.path())).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
        std::fs::write(dir.path().join("plain.sh"), "echo hi").unwrap();
        let err = ExecPlan::new(&spec(&["./plain.sh"]), Some(dir.path())).unwrap_err();
        assert!(err.contains("is not executable"), "{err}");
        let err = ExecPlan::new(&spec(&["sh", "-c", "cat {file}"]), Some(dir.path())).unwrap_err();
        assert!(err.starts_with("workload.run[2]: "), "{err}");
        assert!(err.contains("{file}"), "{err}");
        assert!(
            err.contains("{input}, {task}, {worker}, {threads}"),
            "{err}"
        );
        let err = ExecPlan::new(&spec(&["cat", "{input}"]), Some(dir.path())).unwrap_err();
        assert!(err.contains("no `workload.inputs` glob"), "{err}");
        assert!(err.starts_with("workload.run uses {input}"), "{err}");
        let mut globbed = spec(&["cat", "{input}"]);
        globbed.inputs = Some("corpus/*.txt".to_owned());
        let err = ExecPlan::new(&globbed, Some(dir.path())).unwrap_err();
        assert!(
            err.starts_with("workload.inputs = \"corpus/*.txt\" matches no file"),
            "{err}"
        );
        let mut env = spec(&["true"]);
        env.env.insert("WHO".to_owned(), "{worker".to_owned());
        let err = ExecPlan::new(&env, Some(dir.path())).unwrap_err();
        assert!(err.starts_with("workload.env.WHO: "), "{err}");
        let plan = ExecPlan::new(&spec(&["sh", "-c", "echo {{literal}} {task}"]), None).unwrap();
        assert!(plan.program().is_absolute());
    }

    #[test]
    fn placeholders_are_filled_per_task_and_inputs_wrap() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x1.in"), "").unwrap();
        std::fs::write(dir.path().join("x2.in"), "").unwrap();
        let mut exec = spec(&[
            "sh",
            "-c",
            "echo {input} {task} {worker} {threads} {{x}} >> out",
        ]);
        exec.inputs = Some("*.in".to_owned());
        exec.env.insert("TASK".to_owned(), "t{task}".to_owned());
        let plan = Arc::new(ExecPlan::new(&exec, Some(dir.path())).unwrap());
        assert_eq!(plan.inputs(), ["x1.in", "x2.in"]);
        let workload = Exec::new(plan, 3);
        let stop = TrialStop::new(CancelToken::new(), None);
        for task in 0..3 {
            workload.run_task(&TaskCtx {
                worker: 2,
                task,
                stop: &stop,
            });
        }
        assert_eq!(stop.fault(), None);
        let out = std::fs::read_to_string(dir.path().join("out")).unwrap();
        assert_eq!(out, "x1.in 0 2 3 {x}\nx2.in 1 2 3 {x}\nx1.in 2 2 3 {x}\n");
        let usage = workload.take_child_usage().unwrap();
        assert_eq!(usage.children, 3);
        // Taken: the next trial starts from nothing.
        assert_eq!(workload.take_child_usage().unwrap().children, 0);
    }

    #[test]
    fn a_failing_task_stops_the_trial_with_its_stderr_tail() {
        let plan = ExecPlan::new(
            &spec(&[
                "sh",
                "-c",
                "echo first >&2; echo 'no such file: x' >&2; exit 3",
            ]),
            None,
        )
        .unwrap();
        let workload = Exec::new(Arc::new(plan), 1);
        let stop = TrialStop::new(CancelToken::new(), None);
        workload.run_task(&TaskCtx {
            worker: 0,
            task: 7,
            stop: &stop,
        });
        let Some(crate::cancel::TaskFault::Error(message)) = stop.fault() else {
            panic!("no fault: {:?}", stop.fault());
        };
        assert!(message.starts_with("task 7 failed: `"), "{message}");
        assert!(message.contains("` ended with exit code 3; "), "{message}");
        assert!(
            message.ends_with("its stderr ended: first / no such file: x"),
            "{message}"
        );
    }

    #[test]
    fn a_task_past_its_timeout_is_killed_and_fails() {
        let mut exec = spec(&["sleep", "30"]);
        exec.timeout_s = 0.05;
        let workload = Exec::new(Arc::new(ExecPlan::new(&exec, None).unwrap()), 1);
        let stop = TrialStop::new(CancelToken::new(), None);
        workload.run_task(&TaskCtx {
            worker: 0,
            task: 0,
            stop: &stop,
        });
        let message = stop.fault().map(|f| format!("{f:?}")).unwrap_or_default();
        assert!(
            message.contains("ran longer than workload.timeout_s = 0.05 s"),
            "{message}"
        );
    }
}
