//! The answer as code: the recommended thread count written as the lines a user pastes, for
//! the pool that was measured first (rayon's `num_threads(N)`, CPython's
//! `ThreadPoolExecutor(max_workers=N)`, a program's own command line with `{threads}` = N),
//! then a fixed pool of N in the common languages where the measurement says something about
//! them (Java, Go, tokio, .NET).
//!
//! Pure: a function of what was measured and a count, no I/O. It never chooses the count
//! (that is [`super::recommend()`]'s) and never claims more than was measured: a Python
//! function's snippets are CPython's pools only, a program's its own command line only.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::child::launch::{self, Placeholders};
use crate::spec::{
    CommandLine, CommandSpec, ExecSpec, PoolSpec, PythonCallSpec, PythonSetup, SeriesKind,
    SeriesSetup, SeriesSpec, StartMethod, WorkloadSpec,
};

/// One language's code for the recommended count: what `recommendation.code` lists in the
/// JSON, `--format code` prints and the app's Copy button copies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeSnippet {
    /// The language and the API, as a heading: `Rust (rayon)`, `Python (ThreadPoolExecutor)`,
    /// `shell (the measured command)`.
    pub language: String,
    /// The code, lines ending in `\n`; short, and meant to run as it is where it can (a
    /// placeholder body such as `// a task` marks the user's part).
    pub snippet: String,
}

impl CodeSnippet {
    fn new(language: &str, snippet: String) -> CodeSnippet {
        CodeSnippet {
            language: language.to_owned(),
            snippet,
        }
    }
}

/// A count of what `pool` is made of, as the headings and the status line say it: "2
/// threads", "1 worker process" for the process pools.
pub fn count_text(pool: &PoolSpec, n: usize) -> String {
    match pool {
        PoolSpec::Process { .. } | PoolSpec::PythonProcesses { .. } => {
            crate::words::counted_usize(n, "worker process", "worker processes")
        }
        PoolSpec::PythonAsyncio => {
            crate::words::counted_usize(n, "task in flight", "tasks in flight")
        }
        _ => crate::words::counted_usize(n, "thread", "threads"),
    }
}

/// [`count_text`] for a series of a comparison (the shipped script's `python_processes`
/// runs a process pool too).
pub fn series_count_text(series: &SeriesSpec, n: usize) -> String {
    match (&series.setup, series.kind) {
        (SeriesSetup::Python(_), SeriesKind::PythonProcesses) => {
            crate::words::counted_usize(n, "worker process", "worker processes")
        }
        (SeriesSetup::Python(_), SeriesKind::PythonAsyncio) => {
            crate::words::counted_usize(n, "task in flight", "tasks in flight")
        }
        (SeriesSetup::Python(_), SeriesKind::PythonGevent) => {
            crate::words::counted_usize(n, "greenlet", "greenlets")
        }
        (SeriesSetup::Rust { pool, .. } | SeriesSetup::PythonCall { pool, .. }, _) => {
            count_text(pool, n)
        }
        _ => crate::words::counted_usize(n, "thread", "threads"),
    }
}

/// How many calls the Python snippets make with the preset's arguments: enough that a pool
/// of any recommended size has work, few enough to run in a moment.
const PYTHON_CALLS: usize = 100;

/// The snippets for a sweep's `workload` on `pool` at `threads`: the measured pool first.
pub fn for_setup(workload: &WorkloadSpec, pool: &PoolSpec, threads: usize) -> Vec<CodeSnippet> {
    match workload {
        WorkloadSpec::Command(command) => vec![command_line(command, threads)],
        WorkloadSpec::Exec(exec) => exec_lines(exec, threads),
        WorkloadSpec::Python(call) => python_pool(pool, Some(call), threads),
        _ if pool.is_python() => python_pool(pool, None, threads),
        _ => rust_pool(pool, blocks(workload), threads),
    }
}

/// The snippets for one series of a comparison at `threads`: the measured pool first.
pub fn for_series(series: &SeriesSpec, threads: usize) -> Vec<CodeSnippet> {
    match &series.setup {
        SeriesSetup::Rust { workload, pool } => for_setup(workload, pool, threads),
        SeriesSetup::Command(command) => vec![command_line(command, threads)],
        SeriesSetup::PythonCall { call, pool } => python_pool(pool, Some(call), threads),
        SeriesSetup::Python(setup) => shipped_python(series.kind, setup, threads),
    }
}

/// True when a task blocks (sleeps, does I/O, waits for a child): such tasks belong on
/// tokio's blocking pool, not on its async workers.
fn blocks(workload: &WorkloadSpec) -> bool {
    match workload {
        WorkloadSpec::Blocking { wait_us, .. } | WorkloadSpec::Gil { wait_us, .. } => *wait_us > 0,
        WorkloadSpec::FileIo { .. } | WorkloadSpec::Exec(_) | WorkloadSpec::Command(_) => true,
        _ => false,
    }
}

/// A Rust pool of pooltune's: the measured one, then rayon (when it is not the measured one),
/// then the common languages' fixed pools.
fn rust_pool(pool: &PoolSpec, blocking: bool, n: usize) -> Vec<CodeSnippet> {
    let mut snippets = match pool {
        PoolSpec::Rayon => vec![rayon_pool(n), rayon_env(n)],
        PoolSpec::Queue {
            queue_capacity,
            chunk_size,
        } => vec![rust_queue(n, *queue_capacity, *chunk_size), rayon_pool(n)],
        PoolSpec::Spawn => vec![rust_spawn(n), rayon_pool(n)],
        PoolSpec::Process { chunk_size, .. } => vec![
            rust_processes(n),
            python_generic_processes(n, *chunk_size, None),
            python_generic_mp_pool(n, *chunk_size),
        ],
        PoolSpec::Async { .. } => vec![tokio(n, blocking)],
        // CPython's pools are handled by `python_pool`; a Rust workload never runs on them.
        PoolSpec::PythonThreads
        | PoolSpec::PythonProcesses { .. }
        | PoolSpec::PythonInterpreters
        | PoolSpec::PythonAsyncio => Vec::new(),
    };
    if !matches!(pool, PoolSpec::Process { .. }) {
        snippets.push(python_generic_threads(n, false));
    }
    snippets.extend([java(n), go(n), tokio(n, blocking), dotnet(n)]);
    snippets
}

/// `rayon::ThreadPoolBuilder::new().num_threads(N)` (rayon-core 1.13: `build()` returns
/// `Result<ThreadPool, ThreadPoolBuildError>`, `install` runs a closure on the pool).
fn rayon_pool(n: usize) -> CodeSnippet {
    let threads = crate::words::counted_usize(n, "thread", "threads");
    CodeSnippet::new(
        "Rust (rayon)",
        format!(
            "// Cargo.toml: rayon = \"1\"
fn main() -> Result<(), rayon::ThreadPoolBuildError> {{
    let pool = rayon::ThreadPoolBuilder::new().num_threads({n}).build()?;
    pool.install(|| {{
        // your parallel work: par_iter(), join() and scope() run on its {threads}
    }});
    Ok(())
}}
"
        ),
    )
}

/// rayon's global pool sized by its environment variable (read once, by the first use).
fn rayon_env(n: usize) -> CodeSnippet {
    CodeSnippet::new(
        "shell (rayon's global pool)",
        format!("RAYON_NUM_THREADS={n} ./your-program\n"),
    )
}

/// N named workers on one bounded channel: the `queue` pool's shape, in std only.
fn rust_queue(n: usize, capacity: usize, chunk_size: usize) -> CodeSnippet {
    let chunk_note = if chunk_size > 1 {
        format!(
            "    // measured with {chunk_size} tasks per message: send them in Vecs of {chunk_size}\n"
        )
    } else {
        String::new()
    };
    CodeSnippet::new(
        "Rust (std: N workers on a bounded channel)",
        format!(
            "use std::sync::{{mpsc, Arc, Mutex}};
use std::thread;

type Task = Box<dyn FnOnce() + Send>;

fn main() {{
    let (sender, receiver) = mpsc::sync_channel::<Task>({capacity});
    let receiver = Arc::new(Mutex::new(receiver));
    let workers: Vec<_> = (0..{n})
        .map(|i| {{
            let receiver = Arc::clone(&receiver);
            thread::Builder::new()
                .name(format!(\"worker-{{i}}\"))
                .spawn(move || loop {{
                    let task = receiver.lock().expect(\"a worker panicked\").recv();
                    match task {{
                        Ok(task) => task(),
                        Err(_) => break, // the sender is gone: no more tasks
                    }}
                }})
                .expect(\"could not start a worker thread\")
        }})
        .collect();
{chunk_note}    sender.send(Box::new(|| {{ /* a task */ }})).expect(\"the workers are gone\");
    drop(sender);
    for worker in workers {{
        worker.join().expect(\"a worker panicked\");
    }}
}}
"
        ),
    )
}

/// One new thread per task, at most N at once: the `spawn` pool's shape.
fn rust_spawn(n: usize) -> CodeSnippet {
    CodeSnippet::new(
        "Rust (std: a thread per task, at most N at once)",
        format!(
            "fn main() {{
    let tasks: Vec<u64> = (0..100).collect(); // your tasks
    for batch in tasks.chunks({n}) {{
        std::thread::scope(|s| {{
            for task in batch {{
                s.spawn(move || {{
                    let _ = task; // a task
                }});
            }}
        }});
    }}
}}
"
        ),
    )
}

/// N worker processes of your own program.
fn rust_processes(n: usize) -> CodeSnippet {
    CodeSnippet::new(
        "Rust (std: N worker processes)",
        format!(
            "use std::process::{{Child, Command}};

fn main() -> std::io::Result<()> {{
    let workers: Vec<Child> = (0..{n})
        .map(|_| Command::new(\"./your-worker\").spawn())
        .collect::<Result<_, _>>()?;
    for mut worker in workers {{
        worker.wait()?;
    }}
    Ok(())
}}
"
        ),
    )
}

/// `Executors.newFixedThreadPool(N)`.
fn java(n: usize) -> CodeSnippet {
    CodeSnippet::new(
        "Java (Executors.newFixedThreadPool)",
        format!(
            "import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

public class Pool {{
    public static void main(String[] args) throws InterruptedException {{
        ExecutorService pool = Executors.newFixedThreadPool({n});
        pool.submit(() -> {{ /* a task */ }});
        pool.shutdown();
        pool.awaitTermination(1, TimeUnit.HOURS);
    }}
}}
"
        ),
    )
}

/// N goroutines draining one channel (errgroup's `SetLimit(N)` is the same bound).
fn go(n: usize) -> CodeSnippet {
    CodeSnippet::new(
        "Go (N workers)",
        format!(
            "package main

import \"sync\"

func main() {{
\ttasks := make(chan func())
\tvar wg sync.WaitGroup
\tfor i := 0; i < {n}; i++ {{ // or errgroup.Group.SetLimit({n})
\t\twg.Add(1)
\t\tgo func() {{
\t\t\tdefer wg.Done()
\t\t\tfor task := range tasks {{
\t\t\t\ttask()
\t\t\t}}
\t\t}}()
\t}}
\ttasks <- func() {{ /* a task */ }}
\tclose(tasks)
\twg.Wait()
}}
"
        ),
    )
}

/// tokio's runtime with N blocking threads for tasks that block, N workers for the others
/// (`runtime::Builder::max_blocking_threads` / `worker_threads`, tokio 1.x).
fn tokio(n: usize, blocking: bool) -> CodeSnippet {
    let (setting, spawn) = if blocking {
        (
            format!(".max_blocking_threads({n})"),
            "tokio::task::spawn_blocking(|| { /* a task that blocks */ })",
        )
    } else {
        (
            format!(".worker_threads({n})"),
            "tokio::spawn(async { /* a task */ })",
        )
    };
    CodeSnippet::new(
        "Rust (tokio)",
        format!(
            "// Cargo.toml: tokio = {{ version = \"1\", features = [\"rt-multi-thread\"] }}
fn main() -> std::io::Result<()> {{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        {setting}
        .enable_all()
        .build()?;
    runtime.block_on(async {{
        let _ = {spawn}.await;
    }});
    Ok(())
}}
"
        ),
    )
}

/// .NET: `ThreadPool.SetMinThreads(N, …)` so the pool starts N threads without its slow
/// ramp-up, and `MaxDegreeOfParallelism = N` to run at most N at once.
fn dotnet(n: usize) -> CodeSnippet {
    CodeSnippet::new(
        "C# (.NET ThreadPool)",
        format!(
            "using System.Linq;
using System.Threading;
using System.Threading.Tasks;

ThreadPool.GetMinThreads(out _, out int ioThreads);
ThreadPool.SetMinThreads({n}, ioThreads);
var options = new ParallelOptions {{ MaxDegreeOfParallelism = {n} }};
Parallel.ForEach(Enumerable.Range(0, 100), options, item => {{ /* a task */ }});
"
        ),
    )
}

/// CPython's pool that was measured, running the user's function when there is one.
fn python_pool(pool: &PoolSpec, call: Option<&PythonCallSpec>, n: usize) -> Vec<CodeSnippet> {
    match (pool, call) {
        (PoolSpec::PythonThreads, Some(call)) => vec![python_call_threads(n, call)],
        (
            PoolSpec::PythonProcesses {
                start_method,
                chunk_size,
            },
            Some(call),
        ) => vec![
            python_call_processes(n, *chunk_size, *start_method, call),
            python_call_mp_pool(n, *chunk_size, *start_method, call),
        ],
        (PoolSpec::PythonInterpreters, Some(call)) => vec![python_call_interpreters(n, call)],
        (PoolSpec::PythonAsyncio, Some(call)) => vec![python_call_asyncio(n, call)],
        (PoolSpec::PythonAsyncio, None) => vec![python_generic_asyncio(n)],
        (PoolSpec::PythonThreads, None) => vec![python_generic_threads(n, false)],
        (
            PoolSpec::PythonProcesses {
                start_method,
                chunk_size,
            },
            None,
        ) => vec![
            python_generic_processes(n, *chunk_size, Some(*start_method)),
            python_generic_mp_pool(n, *chunk_size),
        ],
        (PoolSpec::PythonInterpreters, None) => vec![python_generic_interpreters(n)],
        // A Python function runs on CPython's pools only (the preset's rules say so).
        (other, _) => rust_pool(other, false, n),
    }
}

/// The shipped Python script's series: its pool with a placeholder task.
fn shipped_python(kind: SeriesKind, setup: &PythonSetup, n: usize) -> Vec<CodeSnippet> {
    match kind {
        SeriesKind::PythonProcesses => vec![
            python_generic_mp_pool(n, setup.chunk_size),
            python_generic_processes(n, setup.chunk_size, None),
        ],
        SeriesKind::PythonFreeThreaded => vec![python_generic_threads(n, true)],
        SeriesKind::PythonInterpreters => vec![python_generic_interpreters(n)],
        SeriesKind::PythonAsyncio => vec![python_generic_asyncio(n)],
        _ => vec![python_generic_threads(n, false)],
    }
}

/// `def task(i): ...` and the `__main__` guard that process pools need (the `spawn` and
/// `forkserver` start methods import the main module in every worker).
fn python_generic(imports: &str, pool_lines: &str) -> String {
    format!(
        "{imports}

def task(i):
    ...  # a task


if __name__ == \"__main__\":
{pool_lines}"
    )
}

fn python_generic_threads(n: usize, free_threaded: bool) -> CodeSnippet {
    let language = if free_threaded {
        "Python (ThreadPoolExecutor, free-threaded CPython such as python3.13t)"
    } else {
        "Python (ThreadPoolExecutor)"
    };
    CodeSnippet::new(
        language,
        python_generic(
            "from concurrent.futures import ThreadPoolExecutor",
            &format!(
                "    with ThreadPoolExecutor(max_workers={n}) as pool:
        results = list(pool.map(task, range({PYTHON_CALLS})))
"
            ),
        ),
    )
}

fn python_generic_processes(
    n: usize,
    chunk_size: usize,
    start_method: Option<StartMethod>,
) -> CodeSnippet {
    let (imports, context) = match start_method {
        Some(method) => (
            "import multiprocessing\nfrom concurrent.futures import ProcessPoolExecutor",
            format!(
                ", mp_context=multiprocessing.get_context(\"{}\")",
                method.as_str()
            ),
        ),
        None => (
            "from concurrent.futures import ProcessPoolExecutor",
            String::new(),
        ),
    };
    CodeSnippet::new(
        "Python (ProcessPoolExecutor)",
        python_generic(
            imports,
            &format!(
                "    with ProcessPoolExecutor(max_workers={n}{context}) as pool:
        results = list(pool.map(task, range({PYTHON_CALLS}), chunksize={chunk_size}))
"
            ),
        ),
    )
}

fn python_generic_mp_pool(n: usize, chunk_size: usize) -> CodeSnippet {
    CodeSnippet::new(
        "Python (multiprocessing.Pool)",
        python_generic(
            "import multiprocessing",
            &format!(
                "    with multiprocessing.Pool({n}) as pool:
        results = pool.map(task, range({PYTHON_CALLS}), chunksize={chunk_size})
"
            ),
        ),
    )
}

/// A function of `__main__` does not reach another interpreter (each imports afresh), so
/// the task comes from a module, as pooltune's own runner does.
fn python_generic_interpreters(n: usize) -> CodeSnippet {
    CodeSnippet::new(
        "Python 3.14+ (InterpreterPoolExecutor)",
        format!(
            "from concurrent.futures import InterpreterPoolExecutor

# A function of a module: one defined in __main__ does not reach the other interpreters.
from your_module import task

if __name__ == \"__main__\":
    with InterpreterPoolExecutor(max_workers={n}) as pool:
        results = list(pool.map(task, range({PYTHON_CALLS})))
"
        ),
    )
}

/// The user's function in Python: its import (after its folder is put on `sys.path`), the
/// name to call, and the preset's arguments as Python literals.
struct PythonCall {
    imports: String,
    function: String,
    args: Vec<String>,
}

impl PythonCall {
    fn of(call: &PythonCallSpec) -> PythonCall {
        let (module, function) = call
            .call
            .split_once(':')
            .unwrap_or(("your_module", &call.call));
        let first = function.split('.').next().unwrap_or(function);
        let mut imports = String::new();
        let path = call.path.display().to_string();
        if !path.is_empty() && path != "." {
            let _ = writeln!(imports, "import sys");
            let _ = writeln!(
                imports,
                "sys.path.insert(0, {})  # the preset's `path`, from its folder",
                python_string(&path)
            );
        }
        let _ = write!(imports, "from {module} import {first}");
        PythonCall {
            imports,
            function: function.to_owned(),
            args: call.args.iter().map(python_literal).collect(),
        }
    }

    /// `calls = [(4194304,)] * 100`: the preset's arguments, once per call.
    fn calls_line(&self) -> String {
        let tuple = match self.args.as_slice() {
            [one] => format!("({one},)"),
            many => format!("({})", many.join(", ")),
        };
        format!("calls = [{tuple}] * {PYTHON_CALLS}  # each call's arguments: the preset's\n")
    }

    /// `pool.map(f, [a] * 100, [b] * 100{extra})` for a function with arguments; a submit
    /// per call for one without (map needs an iterable to take arguments from).
    fn map_lines(&self, extra: &str) -> String {
        let f = &self.function;
        if self.args.is_empty() {
            return format!(
                "        futures = [pool.submit({f}) for _ in range({PYTHON_CALLS})]
        results = [future.result() for future in futures]
"
            );
        }
        let columns: Vec<String> = self
            .args
            .iter()
            .map(|arg| format!("[{arg}] * {PYTHON_CALLS}"))
            .collect();
        format!(
            "        results = list(pool.map({f}, {}{extra}))\n",
            columns.join(", ")
        )
    }

    fn script(&self, extra_imports: &str, pool_line: &str, body: &str) -> String {
        format!(
            "{extra_imports}{}

if __name__ == \"__main__\":
{pool_line}{body}",
            self.imports
        )
    }
}

/// N coroutines in flight on one event loop: an `asyncio.Semaphore(N)` around each await,
/// as pooltune's runner does.
fn asyncio_main(n: usize, awaited: &str) -> String {
    format!(
        "async def main():
    limit = asyncio.Semaphore({n})  # at most {n} in flight

    async def one(i):
        async with limit:
            return await {awaited}

    return await asyncio.gather(*(one(i) for i in range({PYTHON_CALLS})))


if __name__ == \"__main__\":
    results = asyncio.run(main())
"
    )
}

fn python_generic_asyncio(n: usize) -> CodeSnippet {
    CodeSnippet::new(
        "Python (asyncio, one event loop)",
        format!(
            "import asyncio


async def task(i):
    ...  # a task that awaits (an async client, asyncio.sleep)


{}",
            asyncio_main(n, "task(i)")
        ),
    )
}

fn python_call_asyncio(n: usize, call_spec: &PythonCallSpec) -> CodeSnippet {
    let call = PythonCall::of(call_spec);
    let awaited = format!("{}({})", call.function, call.args.join(", "));
    CodeSnippet::new(
        "Python (asyncio, one event loop)",
        format!(
            "import asyncio\n{}\n\n\n{}",
            call.imports,
            asyncio_main(n, &awaited)
        ),
    )
}

fn python_call_threads(n: usize, call: &PythonCallSpec) -> CodeSnippet {
    let call = PythonCall::of(call);
    CodeSnippet::new(
        "Python (ThreadPoolExecutor)",
        call.script(
            "from concurrent.futures import ThreadPoolExecutor\n",
            &format!("    with ThreadPoolExecutor(max_workers={n}) as pool:\n"),
            &call.map_lines(""),
        ),
    )
}

/// Each interpreter imports afresh, so the function's folder is put on every worker's
/// `sys.path` by the pool's initializer (`exec` of one line, as pooltune's runner does).
fn python_call_interpreters(n: usize, call_spec: &PythonCallSpec) -> CodeSnippet {
    let call = PythonCall::of(call_spec);
    let path = call_spec.path.display().to_string();
    let pool_line = if path.is_empty() || path == "." {
        format!("    with InterpreterPoolExecutor(max_workers={n}) as pool:\n")
    } else {
        let setup = format!("import sys; sys.path.insert(0, {})", python_string(&path));
        format!(
            "    # every interpreter imports afresh: put the function's folder on its path too
    setup = {}
    with InterpreterPoolExecutor(max_workers={n}, initializer=exec, initargs=(setup,)) as pool:
",
            python_string(&setup)
        )
    };
    CodeSnippet::new(
        "Python 3.14+ (InterpreterPoolExecutor)",
        call.script(
            "from concurrent.futures import InterpreterPoolExecutor\n",
            &pool_line,
            &call.map_lines(""),
        ),
    )
}

fn python_call_processes(
    n: usize,
    chunk_size: usize,
    start_method: StartMethod,
    call: &PythonCallSpec,
) -> CodeSnippet {
    let call = PythonCall::of(call);
    CodeSnippet::new(
        "Python (ProcessPoolExecutor)",
        call.script(
            "import multiprocessing\nfrom concurrent.futures import ProcessPoolExecutor\n",
            &format!(
                "    context = multiprocessing.get_context(\"{}\")
    with ProcessPoolExecutor(max_workers={n}, mp_context=context) as pool:
",
                start_method.as_str()
            ),
            &call.map_lines(&format!(", chunksize={chunk_size}")),
        ),
    )
}

fn python_call_mp_pool(
    n: usize,
    chunk_size: usize,
    start_method: StartMethod,
    call: &PythonCallSpec,
) -> CodeSnippet {
    let call = PythonCall::of(call);
    let f = &call.function;
    CodeSnippet::new(
        "Python (multiprocessing.Pool)",
        call.script(
            "import multiprocessing\n",
            &format!(
                "    {}    context = multiprocessing.get_context(\"{}\")
    with context.Pool({n}) as pool:
",
                call.calls_line(),
                start_method.as_str()
            ),
            &format!("        results = pool.starmap({f}, calls, chunksize={chunk_size})\n"),
        ),
    )
}

/// A JSON value as the Python literal that means the same.
fn python_literal(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => python_string(text),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(python_literal)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(key, value)| format!("{}: {}", python_string(key), python_literal(value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A string as a Python literal: JSON's escapes (`\"`, `\\`, `\n`, `\u00e9`) are Python's.
fn python_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// The placeholders of a snippet: `{threads}` = N; `{scratch}` stays as written (pooltune's
/// folder for the run, which the user replaces with theirs), and so do the per-task ones
/// given here.
fn snippet_placeholders(n: usize, per_task: &[(&str, &str)]) -> Placeholders {
    let mut values = Placeholders::new()
        .with(crate::source::command::THREADS, n)
        .with(crate::source::command::SCRATCH, "{scratch}");
    for (name, value) in per_task {
        values.set(name, value);
    }
    values
}

/// Where `{scratch}` is left in a snippet, the line that says what it stands for.
fn scratch_note(text: &str) -> &'static str {
    if text.contains("{scratch}") {
        "# {scratch}: the folder pooltune made for the run; put yours there\n"
    } else {
        ""
    }
}

/// `field` with its placeholders substituted, or as written when a placeholder is not one
/// of these (the preset was checked before it ran, so this is only for a damaged file).
fn substituted(field: &str, text: &str, values: &Placeholders) -> String {
    launch::substitute(field, text, values).unwrap_or_else(|_| text.to_owned())
}

/// A command line for `sh`: an argv's words substituted and quoted, or a shell line as
/// `sh -c '…'`.
fn shell_command(line: &CommandLine, values: &Placeholders) -> String {
    match line {
        CommandLine::Argv(words) => words
            .iter()
            .map(|word| shell_word(&substituted("workload.run", word, values)))
            .collect::<Vec<_>>()
            .join(" "),
        CommandLine::Shell(text) => {
            format!(
                "sh -c {}",
                shell_quote(&substituted("workload.run", text, values))
            )
        }
    }
}

/// `env` as `NAME=value ` assignments before a command.
fn env_prefix(env: &std::collections::BTreeMap<String, String>, values: &Placeholders) -> String {
    env.iter()
        .map(|(name, value)| {
            format!(
                "{name}={} ",
                shell_word(&substituted("workload.env", value, values))
            )
        })
        .collect()
}

/// A word as `sh` reads it back: as it is when it has only safe characters (braces without
/// a comma or `..`, so no brace expansion), else single-quoted.
fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-{}".contains(c);
    let expands = word.contains('{') && (word.contains(',') || word.contains(".."));
    if !word.is_empty() && word.chars().all(safe) && !expands {
        word.to_owned()
    } else {
        shell_quote(word)
    }
}

/// `'text'`, a `'` inside written `'\''`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A glob for `sh` to expand: its wildcards bare, everything between them quoted as needed.
fn shell_glob(pattern: &str) -> String {
    let mut out = String::new();
    let mut literal = String::new();
    for c in pattern.chars() {
        if "*?[]".contains(c) {
            if !literal.is_empty() {
                out.push_str(&shell_word(&literal));
                literal.clear();
            }
            out.push(c);
        } else {
            literal.push(c);
        }
    }
    if !literal.is_empty() {
        out.push_str(&shell_word(&literal));
    }
    out
}

/// A program that runs its own threads: its command line with `{threads}` = N (and its
/// environment), as pooltune ran it.
fn command_line(spec: &CommandSpec, n: usize) -> CodeSnippet {
    let values = snippet_placeholders(n, &[]);
    let line = format!(
        "{}{}\n",
        env_prefix(&spec.env, &values),
        shell_command(&spec.run, &values)
    );
    CodeSnippet::new(
        "shell (the measured command)",
        format!("{}{line}", scratch_note(&line)),
    )
}

/// A command per task on N workers: `xargs -P N` and GNU `parallel -j N`, fed the inputs
/// (or 100 numbered tasks when the preset has none).
fn exec_lines(spec: &ExecSpec, n: usize) -> Vec<CodeSnippet> {
    let words: Vec<&str> = match &spec.run {
        CommandLine::Argv(words) => words.iter().map(String::as_str).collect(),
        CommandLine::Shell(text) => vec![text.as_str()],
    };
    let uses = |name: &str| {
        let tag = format!("{{{name}}}");
        words.iter().any(|w| w.contains(&tag)) || spec.env.values().any(|v| v.contains(&tag))
    };
    let numbered = uses("task") || uses("worker");
    let inputs = spec.inputs.as_ref().map(|pattern| {
        shell_glob(&substituted(
            "workload.inputs",
            pattern,
            &snippet_placeholders(n, &[]),
        ))
    });
    let mut snippets = Vec::new();
    // xargs has no task or worker number to give.
    if !numbered {
        let values = snippet_placeholders(n, &[("input", "{}")]);
        let env = env_prefix(&spec.env, &values);
        let command = shell_command(&spec.run, &values);
        let line = match &inputs {
            Some(glob) => {
                format!("printf '%s\\0' {glob} | {env}xargs -0 -P {n} -I{{}} {command}\n")
            }
            None => format!("seq {PYTHON_CALLS} | {env}xargs -P {n} -I{{}} {command}\n"),
        };
        snippets.push(CodeSnippet::new(
            "shell (xargs -P)",
            format!("{}{line}", scratch_note(&line)),
        ));
    }
    let values = snippet_placeholders(n, &[("input", "{}"), ("task", "{#}"), ("worker", "{%}")]);
    let env = env_prefix(&spec.env, &values);
    // GNU parallel joins an argv's words into one shell line unless -q quotes each; a shell
    // line is given as it is. Without `{}` in the command, -N0 keeps the input out of it.
    let command = match &spec.run {
        CommandLine::Argv(_) => format!("-q {}", shell_command(&spec.run, &values)),
        CommandLine::Shell(text) => shell_quote(&substituted("workload.run", text, &values)),
    };
    let without_input = if uses("input") { "" } else { "-N0 " };
    let mut text = String::new();
    if numbered {
        text.push_str("# {#} (the job's number) and {%} (its slot) count from 1\n");
    }
    let line = match &inputs {
        Some(glob) => format!("{env}parallel -j {n} {without_input}{command} ::: {glob}\n"),
        None => format!("seq {PYTHON_CALLS} | {env}parallel -j {n} -N0 {command}\n"),
    };
    text.push_str(scratch_note(&line));
    text.push_str(&line);
    snippets.push(CodeSnippet::new("shell (GNU parallel -j)", text));
    snippets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_of(preset: &str) -> crate::spec::Preset {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("presets")
            .join(preset);
        crate::spec::load(&path).unwrap()
    }

    fn languages(snippets: &[CodeSnippet]) -> Vec<&str> {
        snippets.iter().map(|s| s.language.as_str()).collect()
    }

    #[test]
    fn rayon_comes_first_with_the_count_then_the_common_languages() {
        let snippets = for_setup(&WorkloadSpec::Cpu { compute_us: 100 }, &PoolSpec::Rayon, 3);
        assert_eq!(
            languages(&snippets),
            [
                "Rust (rayon)",
                "shell (rayon's global pool)",
                "Python (ThreadPoolExecutor)",
                "Java (Executors.newFixedThreadPool)",
                "Go (N workers)",
                "Rust (tokio)",
                "C# (.NET ThreadPool)",
            ]
        );
        assert!(
            snippets[0]
                .snippet
                .contains("ThreadPoolBuilder::new().num_threads(3).build()?")
        );
        assert_eq!(snippets[1].snippet, "RAYON_NUM_THREADS=3 ./your-program\n");
        assert!(
            snippets[2]
                .snippet
                .contains("ThreadPoolExecutor(max_workers=3)")
        );
        assert!(
            snippets[3]
                .snippet
                .contains("Executors.newFixedThreadPool(3)")
        );
        assert!(snippets[4].snippet.contains("i < 3;"));
        // Pure computation goes on tokio's workers; a task that waits on its blocking pool.
        assert!(snippets[5].snippet.contains(".worker_threads(3)"));
        let blocking = WorkloadSpec::Blocking {
            compute_us: 1,
            wait_us: 9,
        };
        let tokio = &for_setup(&blocking, &PoolSpec::Rayon, 3)[5];
        assert!(
            tokio.snippet.contains(".max_blocking_threads(3)"),
            "{}",
            tokio.snippet
        );
        assert!(tokio.snippet.contains("spawn_blocking"));
        assert!(
            snippets[6]
                .snippet
                .contains("ThreadPool.SetMinThreads(3, ioThreads)")
        );
    }

    #[test]
    fn the_measured_queue_or_spawn_pool_comes_before_rayon() {
        let queue = PoolSpec::Queue {
            queue_capacity: 16,
            chunk_size: 4,
        };
        let snippets = for_setup(&WorkloadSpec::Cpu { compute_us: 1 }, &queue, 5);
        assert_eq!(
            snippets[0].language,
            "Rust (std: N workers on a bounded channel)"
        );
        assert!(snippets[0].snippet.contains("sync_channel::<Task>(16)"));
        assert!(snippets[0].snippet.contains("(0..5)"));
        assert!(snippets[0].snippet.contains("Vecs of 4"));
        assert_eq!(snippets[1].language, "Rust (rayon)");
        let spawn = for_setup(&WorkloadSpec::Cpu { compute_us: 1 }, &PoolSpec::Spawn, 5);
        assert!(spawn[0].snippet.contains("tasks.chunks(5)"));
    }

    #[test]
    fn a_process_pool_is_sized_and_chunked_as_measured() {
        let pool = PoolSpec::Process {
            chunk_size: 8,
            feeding: Default::default(),
        };
        let snippets = for_setup(&WorkloadSpec::Cpu { compute_us: 1 }, &pool, 2);
        assert_eq!(snippets[0].language, "Rust (std: N worker processes)");
        assert!(
            snippets[1]
                .snippet
                .contains("ProcessPoolExecutor(max_workers=2)")
        );
        assert!(snippets[1].snippet.contains("chunksize=8"));
        assert!(snippets[2].snippet.contains("multiprocessing.Pool(2)"));
        assert!(snippets[2].snippet.contains("chunksize=8"));
    }

    #[test]
    fn a_python_function_is_called_on_the_measured_pool_only() {
        let preset = spec_of("python-hash.toml");
        let snippets = for_setup(&preset.workload, &preset.pool, 4);
        assert_eq!(languages(&snippets), ["Python (ThreadPoolExecutor)"]);
        let code = &snippets[0].snippet;
        assert!(
            code.contains("sys.path.insert(0, \"../assets/examples\")"),
            "{code}"
        );
        assert!(code.contains("from hashwork import sha256_block"), "{code}");
        assert!(code.contains("ThreadPoolExecutor(max_workers=4)"), "{code}");
        assert!(
            code.contains("pool.map(sha256_block, [4194304] * 100)"),
            "{code}"
        );
        let processes = PoolSpec::PythonProcesses {
            start_method: StartMethod::Spawn,
            chunk_size: 3,
        };
        let snippets = for_setup(&preset.workload, &processes, 4);
        assert_eq!(
            languages(&snippets),
            [
                "Python (ProcessPoolExecutor)",
                "Python (multiprocessing.Pool)"
            ]
        );
        assert!(snippets[0].snippet.contains("get_context(\"spawn\")"));
        assert!(snippets[0].snippet.contains("chunksize=3"));
        assert!(snippets[1].snippet.contains("context.Pool(4)"));
        assert!(snippets[1].snippet.contains("calls = [(4194304,)] * 100"));
        assert!(
            snippets[1]
                .snippet
                .contains("starmap(sha256_block, calls, chunksize=3)")
        );
    }

    /// An `async def` on python_asyncio is awaited with at most N in flight, in Python that
    /// compiles.
    #[test]
    fn a_coroutine_is_awaited_n_at_a_time_on_one_loop() {
        let preset = spec_of("python-asyncio-sleep.toml");
        let snippets = for_setup(&preset.workload, &preset.pool, 8);
        assert_eq!(languages(&snippets), ["Python (asyncio, one event loop)"]);
        let code = &snippets[0].snippet;
        assert!(code.contains("from asyncwork import sleep_ms"), "{code}");
        assert!(code.contains("asyncio.Semaphore(8)"), "{code}");
        assert!(code.contains("return await sleep_ms(20)"), "{code}");
        assert_eq!(count_text(&preset.pool, 8), "8 tasks in flight");
        if let Some(python) = crate::child::driver::tests::python_or_skip() {
            let checked = std::process::Command::new(python)
                .args([
                    "-c",
                    "import sys; compile(sys.argv[1], 'snippet', 'exec')",
                    code,
                ])
                .output()
                .unwrap();
            assert!(
                checked.status.success(),
                "{}",
                String::from_utf8_lossy(&checked.stderr)
            );
        }
    }

    #[test]
    fn process_pools_count_worker_processes() {
        let process = PoolSpec::Process {
            chunk_size: 1,
            feeding: Default::default(),
        };
        assert_eq!(count_text(&process, 1), "1 worker process");
        assert_eq!(count_text(&PoolSpec::PythonInterpreters, 3), "3 threads");
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/compare-gil-cpu.toml");
        let comparison = crate::spec::load_comparison(&path).unwrap();
        let counts: Vec<(SeriesKind, String)> = comparison
            .series
            .iter()
            .map(|series| (series.kind, series_count_text(series, 2)))
            .collect();
        for (kind, text) in counts {
            let expected = if kind == SeriesKind::PythonProcesses {
                "2 worker processes"
            } else {
                "2 threads"
            };
            assert_eq!(text, expected, "{kind}");
        }
    }

    #[test]
    fn another_interpreter_gets_the_functions_folder_from_the_initializer() {
        let preset = spec_of("python-hash.toml");
        let snippets = for_setup(&preset.workload, &PoolSpec::PythonInterpreters, 3);
        assert_eq!(
            languages(&snippets),
            ["Python 3.14+ (InterpreterPoolExecutor)"]
        );
        let code = &snippets[0].snippet;
        assert!(
            code.contains(r#"setup = "import sys; sys.path.insert(0, \"../assets/examples\")""#),
            "{code}"
        );
        assert!(
            code.contains(
                "InterpreterPoolExecutor(max_workers=3, initializer=exec, initargs=(setup,))"
            ),
            "{code}"
        );
        assert!(
            code.contains("pool.map(sha256_block, [4194304] * 100)"),
            "{code}"
        );
    }

    #[test]
    fn python_arguments_are_python_literals() {
        let value = serde_json::json!([null, true, false, 1.5, "a\"b\n", {"k": [1]}]);
        assert_eq!(
            python_literal(&value),
            r#"[None, True, False, 1.5, "a\"b\n", {"k": [1]}]"#
        );
    }

    #[test]
    fn a_program_is_its_command_line_with_the_count() {
        let preset = spec_of("xz-threads.toml");
        let snippets = for_setup(&preset.workload, &preset.pool, 2);
        assert_eq!(languages(&snippets), ["shell (the measured command)"]);
        assert_eq!(
            snippets[0].snippet,
            "# {scratch}: the folder pooltune made for the run; put yours there\n\
             xz -T2 -3 --block-size=1MiB -c {scratch}/data.txt\n"
        );
        let shell = CommandSpec {
            run: CommandLine::Shell("make -j{threads} 'all'".into()),
            env: [("JOBS".to_owned(), "{threads} x".to_owned())].into(),
            ..match &preset.workload {
                WorkloadSpec::Command(spec) => spec.clone(),
                _ => unreachable!("xz-threads is a command"),
            }
        };
        assert_eq!(
            command_line(&shell, 6).snippet,
            r#"JOBS='6 x' sh -c 'make -j6 '\''all'\'''"#.to_owned() + "\n"
        );
    }

    #[test]
    fn a_command_per_task_runs_n_at_once_under_xargs_and_parallel() {
        let preset = spec_of("exec-per-file.toml");
        let snippets = for_setup(&preset.workload, &preset.pool, 12);
        assert_eq!(
            languages(&snippets),
            ["shell (xargs -P)", "shell (GNU parallel -j)"]
        );
        let note = "# {scratch}: the folder pooltune made for the run; put yours there\n";
        assert_eq!(
            snippets[0].snippet,
            format!(
                "{note}printf '%s\\0' {{scratch}}/corpus/*.txt | xargs -0 -P 12 -I{{}} sh -c 'sha256sum \"$1\" > /dev/null; sleep 0.02' task {{}}\n"
            )
        );
        assert_eq!(
            snippets[1].snippet,
            format!(
                "{note}parallel -j 12 -q sh -c 'sha256sum \"$1\" > /dev/null; sleep 0.02' task {{}} ::: {{scratch}}/corpus/*.txt\n"
            )
        );
    }

    #[test]
    fn a_task_number_leaves_xargs_out() {
        let spec = ExecSpec {
            run: CommandLine::Argv(vec!["echo".into(), "{task}".into(), "{worker}".into()]),
            shell: false,
            inputs: None,
            env: Default::default(),
            setup: None,
            cleanup: None,
            timeout_s: 1.0,
            keep_output: false,
        };
        let snippets = exec_lines(&spec, 3);
        assert_eq!(languages(&snippets), ["shell (GNU parallel -j)"]);
        assert_eq!(
            snippets[0].snippet,
            "# {#} (the job's number) and {%} (its slot) count from 1\n\
             seq 100 | parallel -j 3 -N0 -q echo '{#}' {%}\n"
        );
    }

    #[test]
    fn shell_words_are_quoted_only_when_they_must_be() {
        assert_eq!(shell_word("-T4"), "-T4");
        assert_eq!(shell_word("{scratch}/a.txt"), "{scratch}/a.txt");
        assert_eq!(shell_word("{a,b}"), "'{a,b}'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_glob("my files/*.txt"), "'my files/'*.txt");
    }
}
