#!/usr/bin/env python3
"""pybench: the CPython side of `pooltune compare`.

Runs the same task as pooltune's `cpu` and `blocking` workloads (a pure-Python loop calibrated
to `compute_us` of CPU time, then for an I/O task a `time.sleep` of `wait_us`) on a
`concurrent.futures.ThreadPoolExecutor(max_workers=N)` or a `multiprocessing.Pool(N)` fed in
chunks of `chunk_size`, and reports what it measured in a strict line format that pooltune
parses (see README.md, "Threads without a GIL: compare mode"):

    pooltune-pybench 2
    interpreter implementation=cpython version=3.11.7 gil=on free_threaded_build=no
    calibration loops_per_us=12.5                                  (probe only)
    setup executor=threads threads=2 task=cpu compute_us=2000 wait_us=0 chunk_size=1 loops_per_us=12.5 trials=3
    warmup tasks=120 wall_us=150321.0
    trial index=1 tasks=250 wall_us=500100.0 task_cpu_us=499000.0 cpu_us=1000000.0 voluntary_switches=12 involuntary_switches=40
    summary latency_samples=750 latency_mean_us=2001.0 latency_p50_us=2000.0 latency_p95_us=2100.0 latency_p99_us=2300.0 latency_max_us=2500.0 peak_rss_bytes=10485760 workers_peak_rss_bytes=none
    end

`probe` prints the header, the interpreter line, the calibration line and `end`. `run` measures
one thread count: header, interpreter, setup, warmup, one `trial` line per trial, summary, end.

`call` does the same for the user's own function (`module:function` imported from `--path`,
called with the JSON `--args`) on a ThreadPoolExecutor, a ProcessPoolExecutor (start method
fork, spawn or forkserver) or an InterpreterPoolExecutor (CPython 3.14+); its setup line is

    setup executor=processes threads=2 call=hashwork:sha256_block start_method=forkserver chunk_size=1 trials=3

and where the function cannot be imported or raises, a line `failed stage=import|call <the
traceback's last line>` replaces the rest, then `end` (exit code 0: the point failed, not the
script). `check` imports the function once and says whether the pool can run it:

    check call=hashwork:sha256_block executor=processes importable=yes
    refused <why, in words>                                        (only when it cannot)
    end

`--executor asyncio` runs the tasks as coroutines on one asyncio event loop in the main
thread, at most `--threads` of them in flight (an `asyncio.Semaphore(N)`): the built-in I/O
task awaits `asyncio.sleep`, and `call` awaits the user's `async def` function. `--executor
gevent` (built-in task only) runs them on a `gevent.pool.Pool(N)` of greenlets, waiting with
`gevent.sleep`. On one thread a task's own CPU time cannot be told from its neighbours', so
`task_cpu_us` is the loop thread's CPU time over the trial. `check` refuses a plain function
for asyncio and an `async def` for the thread and process pools. `module name=gevent
available=yes|no version=…` (the `module` command) says whether a module can be imported.

For `call` and `check`, the function's own prints go to standard error: standard output
carries only these lines.
Every value is one token; nothing else is written to standard output. Errors go to standard
error with a non-zero exit code.

This script only measures; it never writes files and never outlives pooltune: with
`--watch-stdin` it kills its own process group (itself and its pool's workers) when its
standard input closes, which happens when pooltune exits or is killed.
"""

import argparse
import asyncio
import concurrent.futures
import importlib
import inspect
import json
import multiprocessing
import os
import platform
import signal
import sys
import sysconfig
import threading
import time
import traceback

try:
    import resource
except ImportError:  # not on Unix: switches and peak memory are reported as 0
    resource = None

FORMAT_HEADER = "pooltune-pybench 2"

# Shortest calibration round: long enough that the CPU clock's resolution does not matter.
CALIBRATION_ROUND_NS = 20_000_000
# The fastest of this many rounds is kept: preemption only ever makes a round look slower
# (the same rule as pooltune's own spin-loop calibration).
CALIBRATION_ROUNDS = 5
# Chunks in flight per worker: enough that a worker never waits for the next chunk.
IN_FLIGHT_PER_WORKER = 2


def spin(loops):
    """Pure-Python computation: a linear congruential step the interpreter cannot skip."""
    x = 1
    for _ in range(loops):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


def calibrate():
    """Loop iterations per microsecond of this thread's CPU time."""
    loops = 10_000
    while True:
        start = time.thread_time_ns()
        spin(loops)
        spent = time.thread_time_ns() - start
        if spent >= CALIBRATION_ROUND_NS:
            break
        loops *= 2
    best = 0.0
    for _ in range(CALIBRATION_ROUNDS):
        start = time.thread_time_ns()
        spin(loops)
        spent = max(time.thread_time_ns() - start, 1)
        best = max(best, loops / (spent / 1000.0))
    return best


def gil_enabled():
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def free_threaded_build():
    return sysconfig.get_config_var("Py_GIL_DISABLED") == 1


def token(text):
    return "_".join(str(text).split()) or "unknown"


# Where the line format goes: standard output, or for `call` and `check` a copy of it made
# before standard output is pointed at standard error (so the user's prints cannot break it).
OUT = sys.stdout


def emit(line):
    OUT.write(line + "\n")
    OUT.flush()


def keep_stdout_for_lines():
    """Keeps the line format on a copy of standard output; fd 1 becomes standard error."""
    global OUT
    sys.stdout.flush()
    OUT = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)


def emit_interpreter():
    emit(
        "interpreter implementation=%s version=%s gil=%s free_threaded_build=%s"
        % (
            token(sys.implementation.name),
            token(platform.python_version()),
            "on" if gil_enabled() else "off",
            "yes" if free_threaded_build() else "no",
        )
    )


def usage():
    """(voluntary, involuntary context switches, peak RSS in bytes) of this process."""
    if resource is None:
        return 0, 0, 0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    rss = ru.ru_maxrss if sys.platform == "darwin" else ru.ru_maxrss * 1024
    return ru.ru_nvcsw, ru.ru_nivcsw, rss


def run_chunk(job):
    """Runs `count` tasks; returns what the worker measured (picklable, for processes)."""
    loops, wait_s, count = job
    cpu_before = time.process_time_ns()
    vol_before, invol_before, _ = usage()
    durations = []
    task_cpu_ns = 0
    for _ in range(count):
        started = time.perf_counter_ns()
        cpu_started = time.thread_time_ns()
        spin(loops)
        if wait_s > 0:
            time.sleep(wait_s)
        task_cpu_ns += time.thread_time_ns() - cpu_started
        durations.append(time.perf_counter_ns() - started)
    vol_after, invol_after, rss = usage()
    return (
        os.getpid(),
        durations,
        task_cpu_ns,
        time.process_time_ns() - cpu_before,
        vol_after - vol_before,
        invol_after - invol_before,
        rss,
    )


class TrialFailed(Exception):
    """A task of a trial raised `error`."""

    def __init__(self, error):
        Exception.__init__(self, repr(error))
        self.error = error


class Trial:
    """One batch of tasks: a fixed number, or as many as start before a deadline.

    Completion callbacks hand out the next chunk, so the main thread only waits: under a GIL it
    does not compete with the workers. At most IN_FLIGHT_PER_WORKER chunks per worker are
    queued, so memory does not grow with the trial length.
    """

    def __init__(self, submit, workers, chunk_size, max_tasks, deadline_ns):
        self.submit = submit
        self.window = max(1, workers * IN_FLIGHT_PER_WORKER)
        self.chunk_size = chunk_size
        self.max_tasks = max_tasks
        self.deadline_ns = deadline_ns
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self.in_flight = 0
        self.issued = 0
        self.results = []
        self.error = None
        self.started_ns = 0
        self.ended_ns = 0

    def _take_chunk(self):
        """Called with the lock held: the size of the next chunk, or 0 when none is due."""
        if self.error is not None:
            return 0
        if self.deadline_ns is not None and time.perf_counter_ns() >= self.deadline_ns:
            return 0
        count = self.chunk_size
        if self.max_tasks is not None:
            count = min(count, self.max_tasks - self.issued)
        if count <= 0:
            return 0
        self.issued += count
        self.in_flight += 1
        return count

    def run(self):
        self.started_ns = time.perf_counter_ns()
        with self.lock:
            first = [c for c in (self._take_chunk() for _ in range(self.window)) if c]
        if not first:
            self.ended_ns = self.started_ns
            return
        for count in first:
            self.submit(count, self._done, self._failed)
        self.finished.wait()
        if self.error is not None:
            raise TrialFailed(self.error)

    def _done(self, result):
        now = time.perf_counter_ns()
        with self.lock:
            self.in_flight -= 1
            self.results.append(result)
            self.ended_ns = max(self.ended_ns, now)
            count = self._take_chunk()
            if not count and self.in_flight == 0:
                self.finished.set()
        if count:
            self.submit(count, self._done, self._failed)

    def _failed(self, error):
        with self.lock:
            self.in_flight -= 1
            if self.error is None:
                self.error = error
            if self.in_flight == 0:
                self.finished.set()

    def tasks(self):
        return sum(len(r[1]) for r in self.results)

    def wall_ns(self):
        return max(self.ended_ns - self.started_ns, 1)


def thread_submitter(executor, job_of):
    def submit(count, on_done, on_error):
        future = executor.submit(run_chunk, job_of(count))

        def finished(f):
            error = f.exception()
            if error is not None:
                on_error(error)
            else:
                on_done(f.result())

        future.add_done_callback(finished)

    return submit


def process_submitter(pool, job_of):
    def submit(count, on_done, on_error):
        pool.apply_async(
            run_chunk, (job_of(count),), callback=on_done, error_callback=on_error
        )

    return submit


def percentile(sorted_values, q):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return 0.0
    rank = max(1, int(-(-q * len(sorted_values) // 1)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def measure(args):
    loops = int(round(args.compute_us * args.loops_per_us))
    wait_s = args.wait_us / 1e6

    def job_of(count):
        return (loops, wait_s, count)

    emit_interpreter()
    emit(
        "setup executor=%s threads=%d task=%s compute_us=%d wait_us=%d chunk_size=%d loops_per_us=%r trials=%d"
        % (
            args.executor,
            args.threads,
            args.task,
            args.compute_us,
            args.wait_us,
            args.chunk_size,
            args.loops_per_us,
            args.trials,
        )
    )
    processes = args.executor == "processes"
    if args.executor == "asyncio":

        async def task():
            spin(loops)
            if wait_s > 0:
                await asyncio.sleep(wait_s)

        loop = asyncio.new_event_loop()
        try:
            measure_trials(args, async_trials(loop, task, args.threads), False)
        finally:
            loop.close()
        emit("end")
        return
    if args.executor == "gevent":
        import gevent
        import gevent.pool

        def green_task():
            spin(loops)
            if wait_s > 0:
                gevent.sleep(wait_s)

        measure_trials(args, green_trials(gevent.pool.Pool(args.threads), green_task), False)
        emit("end")
        return
    if processes:
        pool = multiprocessing.Pool(args.threads)
        submit = process_submitter(pool, job_of)
    else:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.threads)
        submit = thread_submitter(pool, job_of)
    try:
        measure_trials(args, pooled_trials(submit, args), processes)
    finally:
        if processes:
            pool.terminate()
            pool.join()
        else:
            pool.shutdown(wait=True)
    emit("end")


def pooled_trials(submit, args):
    """Trials on a pool of threads or processes that `submit` hands chunks to."""

    def new_trial(max_tasks, deadline_ns):
        return Trial(submit, args.threads, args.chunk_size, max_tasks, deadline_ns)

    return new_trial


class AsyncTrial:
    """One batch of coroutines on one event loop: a fixed number, or as many as start before a
    deadline, at most `limit` in flight (an asyncio.Semaphore). The loop thread's CPU time over
    the trial stands for the tasks' CPU time: on one thread it cannot be split between them.
    """

    def __init__(self, loop, make_coroutine, limit, max_tasks, deadline_ns):
        self.loop = loop
        self.make_coroutine = make_coroutine
        self.limit = limit
        self.max_tasks = max_tasks
        self.deadline_ns = deadline_ns
        self.results = []
        self.error = None
        self.started_ns = 0
        self.ended_ns = 0

    def _due(self, issued):
        if self.error is not None:
            return False
        if self.max_tasks is not None and issued >= self.max_tasks:
            return False
        return self.deadline_ns is None or time.perf_counter_ns() < self.deadline_ns

    async def _main(self):
        semaphore = asyncio.Semaphore(self.limit)
        durations = []
        running = set()

        async def one():
            started = time.perf_counter_ns()
            try:
                await self.make_coroutine()
            except Exception as error:
                if self.error is None:
                    self.error = error
            finally:
                now = time.perf_counter_ns()
                durations.append(now - started)
                self.ended_ns = max(self.ended_ns, now)
                semaphore.release()

        cpu_before = time.thread_time_ns()
        self.started_ns = time.perf_counter_ns()
        self.ended_ns = self.started_ns
        issued = 0
        while self._due(issued):
            await semaphore.acquire()
            if not self._due(issued):
                semaphore.release()
                break
            issued += 1
            task = self.loop.create_task(one())
            running.add(task)
            task.add_done_callback(running.discard)
        if running:
            await asyncio.gather(*list(running))
        self.results.append(
            (os.getpid(), durations, time.thread_time_ns() - cpu_before, 0, 0, 0, 0)
        )

    def run(self):
        self.loop.run_until_complete(self._main())
        if self.error is not None:
            raise TrialFailed(self.error)

    def tasks(self):
        return sum(len(r[1]) for r in self.results)

    def wall_ns(self):
        return max(self.ended_ns - self.started_ns, 1)


def async_trials(loop, make_coroutine, limit):
    def new_trial(max_tasks, deadline_ns):
        return AsyncTrial(loop, make_coroutine, limit, max_tasks, deadline_ns)

    return new_trial


class GreenTrial(AsyncTrial):
    """One batch of greenlets on a gevent pool of N: `spawn` waits while the pool is full."""

    def __init__(self, pool, function, max_tasks, deadline_ns):
        AsyncTrial.__init__(self, None, function, pool.size, max_tasks, deadline_ns)
        self.pool = pool

    def run(self):
        durations = []

        def one():
            started = time.perf_counter_ns()
            try:
                self.make_coroutine()
            except Exception as error:
                if self.error is None:
                    self.error = error
            finally:
                now = time.perf_counter_ns()
                durations.append(now - started)
                self.ended_ns = max(self.ended_ns, now)

        cpu_before = time.thread_time_ns()
        self.started_ns = time.perf_counter_ns()
        self.ended_ns = self.started_ns
        issued = 0
        while self._due(issued):
            self.pool.wait_available()
            if not self._due(issued):
                break
            issued += 1
            self.pool.spawn(one)
        self.pool.join()
        self.results.append(
            (os.getpid(), durations, time.thread_time_ns() - cpu_before, 0, 0, 0, 0)
        )
        if self.error is not None:
            raise TrialFailed(self.error)


def green_trials(pool, function):
    def new_trial(max_tasks, deadline_ns):
        return GreenTrial(pool, function, max_tasks, deadline_ns)

    return new_trial


def measure_trials(args, new_trial, processes):
    """The warm-up, the trials and the summary; `new_trial(max_tasks, deadline_ns)` makes a
    trial (a Trial on a pool, an AsyncTrial on an event loop)."""
    # Warm-up: starts every worker and runs for warmup_ms (at least one task per worker).
    if args.warmup_ms > 0:
        warm = new_trial(None, time.perf_counter_ns() + args.warmup_ms * 1_000_000)
    else:
        warm = new_trial(args.threads * args.chunk_size, None)
    warm.run()
    emit("warmup tasks=%d wall_us=%.1f" % (warm.tasks(), warm.wall_ns() / 1000.0))

    durations = []
    workers_peak_rss = {}
    own_peak_rss = 0
    for index in range(1, args.trials + 1):
        if args.trial_ms is not None:
            trial = new_trial(None, time.perf_counter_ns() + args.trial_ms * 1_000_000)
        else:
            trial = new_trial(args.tasks_per_trial, None)
        cpu_before = time.process_time_ns()
        vol_before, invol_before, _ = usage()
        trial.run()
        cpu_ns = time.process_time_ns() - cpu_before
        vol_after, invol_after, own_rss = usage()
        voluntary = vol_after - vol_before
        involuntary = invol_after - invol_before
        task_cpu_ns = 0
        for pid, chunk_durations, chunk_task_cpu, chunk_cpu, vol, invol, rss in trial.results:
            durations.extend(chunk_durations)
            task_cpu_ns += chunk_task_cpu
            if processes:
                # Worker processes' own CPU and switches; for threads they are already in
                # this process's counters.
                cpu_ns += chunk_cpu
                voluntary += vol
                involuntary += invol
                workers_peak_rss[pid] = max(workers_peak_rss.get(pid, 0), rss)
        own_peak_rss = max(own_peak_rss, own_rss)
        emit(
            "trial index=%d tasks=%d wall_us=%.1f task_cpu_us=%.1f cpu_us=%.1f voluntary_switches=%d involuntary_switches=%d"
            % (
                index,
                trial.tasks(),
                trial.wall_ns() / 1000.0,
                task_cpu_ns / 1000.0,
                cpu_ns / 1000.0,
                max(voluntary, 0),
                max(involuntary, 0),
            )
        )
    durations.sort()
    mean_us = (sum(durations) / len(durations) / 1000.0) if durations else 0.0
    emit(
        "summary latency_samples=%d latency_mean_us=%.1f latency_p50_us=%.1f latency_p95_us=%.1f latency_p99_us=%.1f latency_max_us=%.1f peak_rss_bytes=%d workers_peak_rss_bytes=%s"
        % (
            len(durations),
            mean_us,
            percentile(durations, 0.50) / 1000.0,
            percentile(durations, 0.95) / 1000.0,
            percentile(durations, 0.99) / 1000.0,
            (durations[-1] if durations else 0) / 1000.0,
            own_peak_rss,
            str(sum(workers_peak_rss.values())) if processes else "none",
        )
    )


class CallFailed(Exception):
    """The user's function could not be imported, or raised: `stage` and the traceback's last line."""

    def __init__(self, stage, message):
        Exception.__init__(self, message)
        self.stage = stage
        self.message = message


def last_line(error):
    """The last line of the traceback `error` would print: `ValueError: boom`."""
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    return " ".join(text.splitlines()[-1].split()) if text else type(error).__name__


def add_to_path(folder):
    if folder and folder not in sys.path:
        sys.path.insert(0, folder)


def resolve(folder, call):
    """The function `module:function` (a dotted name inside the module), imported from `folder`."""
    add_to_path(folder)
    module_name, _, function_name = call.partition(":")
    try:
        target = importlib.import_module(module_name)
        for part in function_name.split("."):
            target = getattr(target, part)
    except BaseException as error:  # an import runs the user's code: anything may be raised
        raise CallFailed("import", last_line(error))
    if not callable(target):
        raise CallFailed(
            "import", "TypeError: %s is a %s, not a function" % (call, type(target).__name__)
        )
    return target


def call_chunk(job):
    """Calls the function `count` times; returns what the worker measured, like run_chunk.

    Per call: wall time, and CPU time on the clock that belongs to the caller alone (the
    worker thread's `time.thread_time`; the worker process's `time.process_time`).
    """
    function, args, count, clock_name = job
    clock = time.process_time_ns if clock_name == "process" else time.thread_time_ns
    cpu_before = time.process_time_ns()
    vol_before, invol_before, _ = usage()
    durations = []
    task_cpu_ns = 0
    for _ in range(count):
        started = time.perf_counter_ns()
        cpu_started = clock()
        function(*args)
        task_cpu_ns += clock() - cpu_started
        durations.append(time.perf_counter_ns() - started)
    vol_after, invol_after, rss = usage()
    return (
        os.getpid(),
        durations,
        task_cpu_ns,
        time.process_time_ns() - cpu_before,
        vol_after - vol_before,
        invol_after - invol_before,
        rss,
    )


def interpreter_pool_refusal():
    """Why this interpreter has no InterpreterPoolExecutor, or None when it has one."""
    if hasattr(concurrent.futures, "InterpreterPoolExecutor"):
        return None
    return (
        "concurrent.futures.InterpreterPoolExecutor is not in Python %s (it came in CPython 3.14): "
        "give a 3.14 interpreter as `interpreter`, or use python_threads or python_processes"
        % platform.python_version()
    )


def pickle_refusal(function, args, call):
    """Why a process pool cannot be handed `function` and `args`, or None when it can."""
    import pickle

    try:
        pickle.dumps((function, args))
    except Exception as error:
        return (
            "%s cannot be pickled for python_processes (%s): a process pool sends the function "
            "to its workers by module and name, so it must be a `def` at the top level of its "
            "module, not a lambda, a nested function or a bound method"
            % (call, last_line(error))
        )
    return None


def is_coroutine_function(function):
    """True for an `async def` (also behind functools.partial or a callable object's __call__)."""
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(function, "__call__", None)
    )


def coroutine_refusal(function, executor, call):
    """Why `executor` cannot run `function` as the kind of function it is, or None when it can."""
    coroutine = is_coroutine_function(function)
    if executor == "asyncio" and not coroutine:
        return (
            "%s is a plain function (def), not a coroutine function (async def): "
            "python_asyncio awaits it on one event loop, where a plain call would block every "
            "other task; make it `async def` and await inside it (asyncio.sleep, an async "
            "client), or run it on python_threads or python_processes" % call
        )
    if executor != "asyncio" and coroutine:
        return (
            "%s is a coroutine function (async def): calling it on python_%s only creates a "
            "coroutine object that never runs; use pool = { kind = \"python_asyncio\" }, which "
            "awaits it on an event loop" % (call, executor)
        )
    return None


def check(args):
    keep_stdout_for_lines()
    emit_interpreter()
    refusal = None
    importable = "yes"
    try:
        function = resolve(args.path, args.function)
    except CallFailed:
        # Not refused here: each point fails with the import error, as the user reads it.
        importable = "no"
        function = None
    if args.executor == "interpreters":
        refusal = interpreter_pool_refusal()
    if refusal is None and function is not None:
        refusal = coroutine_refusal(function, args.executor, args.function)
    if refusal is None and function is not None and args.executor == "processes":
        refusal = pickle_refusal(function, json.loads(args.args), args.function)
    emit(
        "check call=%s executor=%s importable=%s" % (args.function, args.executor, importable)
    )
    if refusal is not None:
        emit("refused " + " ".join(refusal.split()))
    emit("end")


def call_executor(args):
    """The pool of `args.threads` workers, and the clock a call's CPU time is read on."""
    if args.executor == "threads":
        return concurrent.futures.ThreadPoolExecutor(max_workers=args.threads), "thread"
    if args.executor == "processes":
        context = multiprocessing.get_context(args.start_method)
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=args.threads,
            mp_context=context,
            initializer=add_to_path,
            initargs=(args.path,),
        )
        return pool, "process"
    refusal = interpreter_pool_refusal()
    if refusal is not None:
        raise CallFailed("import", refusal)
    # Each interpreter imports afresh: `exec` (a builtin, so it reaches every interpreter)
    # puts the user's folder and this script's folder on its path first.
    setup = "import sys; sys.path[:0] = %r" % ([args.path, os.path.dirname(os.path.abspath(__file__))],)
    pool = concurrent.futures.InterpreterPoolExecutor(
        max_workers=args.threads, initializer=exec, initargs=(setup,)
    )
    return pool, "thread"


def stop_executor(pool, processes):
    """Ends the pool now: queued calls are dropped; busy worker processes are killed."""
    if processes:
        for process in list(getattr(pool, "_processes", {}).values()):
            try:
                process.kill()
            except (OSError, AttributeError):
                pass
    pool.shutdown(wait=True, cancel_futures=True)


def call(args):
    keep_stdout_for_lines()
    emit_interpreter()
    emit(
        "setup executor=%s threads=%d call=%s start_method=%s chunk_size=%d trials=%d"
        % (
            args.executor,
            args.threads,
            args.function,
            args.start_method if args.executor == "processes" else "none",
            args.chunk_size,
            args.trials,
        )
    )
    try:
        function = resolve(args.path, args.function)
        positional = tuple(json.loads(args.args))
        if args.executor == "asyncio":
            refusal = coroutine_refusal(function, args.executor, args.function)
            if refusal is not None:
                raise CallFailed("import", refusal)
            call_on_event_loop(args, function, positional)
            emit("end")
            return
        pool, clock = call_executor(args)
    except CallFailed as failure:
        emit("failed stage=%s %s" % (failure.stage, failure.message))
        emit("end")
        return
    runner = call_chunk
    if args.executor == "interpreters":
        # Functions of `__main__` do not reach another interpreter: this script, imported
        # as a module from its folder (on each interpreter's path), does.
        import pybench as runner_module

        runner = runner_module.call_chunk

    def job_of(count):
        return (function, positional, count, clock)

    processes = args.executor == "processes"
    try:
        measure_trials(
            args, pooled_trials(futures_submitter(pool, runner, job_of), args), processes
        )
    except TrialFailed as failure:
        emit("failed stage=call %s" % last_line(failure.error))
    finally:
        stop_executor(pool, processes)
    emit("end")


def call_on_event_loop(args, function, positional):
    """The trials of an `async def` function awaited on one event loop, N in flight."""

    def make_coroutine():
        return function(*positional)

    loop = asyncio.new_event_loop()
    try:
        measure_trials(args, async_trials(loop, make_coroutine, args.threads), False)
    except TrialFailed as failure:
        emit("failed stage=call %s" % last_line(failure.error))
    finally:
        loop.close()


def futures_submitter(executor, runner, job_of):
    def submit(count, on_done, on_error):
        future = executor.submit(runner, job_of(count))

        def finished(f):
            error = f.exception()
            if error is not None:
                on_error(error)
            else:
                on_done(f.result())

        future.add_done_callback(finished)

    return submit


def watch_stdin():
    """Kills this process group when standard input closes (pooltune exited or was killed)."""

    def watch():
        # The raw descriptor, not sys.stdin: a daemon thread blocked inside a buffered reader
        # makes CPython abort at shutdown ("could not acquire lock for <stdin>").
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        try:
            os.killpg(os.getpgid(0), signal.SIGKILL)
        except (AttributeError, OSError):
            os._exit(3)

    threading.Thread(target=watch, name="pybench-watch-stdin", daemon=True).start()


def module_line(name):
    """`module name=… available=yes|no version=…`: whether `name` imports here, then `end`."""
    emit_interpreter()
    try:
        module = importlib.import_module(name)
    except ImportError:
        emit("module name=%s available=no version=none" % token(name))
    else:
        emit(
            "module name=%s available=yes version=%s"
            % (token(name), token(getattr(module, "__version__", "unknown")))
        )
    emit("end")


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def non_negative(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def main(argv):
    parser = argparse.ArgumentParser(prog="pybench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--watch-stdin",
        action="store_true",
        help="kill this process group when standard input closes",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("probe", help="report the interpreter and calibrate the task loop")
    module = commands.add_parser("module", help="say whether a module can be imported")
    module.add_argument("name")
    run = commands.add_parser("run", help="measure one thread count")
    run.add_argument(
        "--executor", choices=["threads", "processes", "asyncio", "gevent"], required=True
    )
    run.add_argument("--threads", type=positive, required=True)
    run.add_argument("--task", choices=["cpu", "io"], required=True)
    run.add_argument("--compute-us", type=non_negative, required=True)
    run.add_argument("--wait-us", type=non_negative, default=0)
    run.add_argument("--chunk-size", type=positive, default=1)
    run.add_argument("--loops-per-us", type=float, required=True)
    run.add_argument("--trials", type=positive, default=3)
    length = run.add_mutually_exclusive_group(required=True)
    length.add_argument("--trial-ms", type=positive)
    length.add_argument("--tasks-per-trial", type=positive)
    run.add_argument("--warmup-ms", type=non_negative, default=200)
    for name, text in [
        ("check", "import the user's function and say whether the pool can run it"),
        ("call", "measure the user's function at one thread count"),
    ]:
        sub = commands.add_parser(name, help=text)
        sub.add_argument(
            "--executor",
            choices=["threads", "processes", "interpreters", "asyncio"],
            required=True,
        )
        sub.add_argument("--start-method", choices=["fork", "spawn", "forkserver"], default="forkserver")
        sub.add_argument("--path", required=True, help="folder put first on sys.path")
        sub.add_argument("--function", required=True, help="module:function")
        sub.add_argument("--args", default="[]", help="the positional arguments, a JSON array")
        if name == "call":
            sub.add_argument("--threads", type=positive, required=True)
            sub.add_argument("--chunk-size", type=positive, default=1)
            sub.add_argument("--trials", type=positive, default=3)
            length = sub.add_mutually_exclusive_group(required=True)
            length.add_argument("--trial-ms", type=positive)
            length.add_argument("--tasks-per-trial", type=positive)
            sub.add_argument("--warmup-ms", type=non_negative, default=200)
    args = parser.parse_args(argv)
    if args.watch_stdin:
        watch_stdin()
    emit(FORMAT_HEADER)
    if args.command == "probe":
        emit_interpreter()
        emit("calibration loops_per_us=%r" % calibrate())
        emit("end")
    elif args.command == "module":
        module_line(args.name)
    elif args.command == "check":
        check(args)
    elif args.command == "call":
        call(args)
    else:
        if args.task == "cpu" and args.wait_us != 0:
            parser.error("--wait-us must be 0 for a cpu task")
        measure(args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
