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
Every value is one token; nothing else is written to standard output. Errors go to standard
error with a non-zero exit code.

This script only measures; it never writes files and never outlives pooltune: with
`--watch-stdin` it kills its own process group (itself and its pool's workers) when its
standard input closes, which happens when pooltune exits or is killed.
"""

import argparse
import concurrent.futures
import multiprocessing
import os
import platform
import signal
import sys
import sysconfig
import threading
import time

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


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


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
            raise RuntimeError("a task failed: %r" % (self.error,))

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
    if processes:
        pool = multiprocessing.Pool(args.threads)
        submit = process_submitter(pool, job_of)
    else:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.threads)
        submit = thread_submitter(pool, job_of)
    try:
        # Warm-up: starts every worker and runs for warmup_ms (at least one task per worker).
        if args.warmup_ms > 0:
            warm = Trial(
                submit,
                args.threads,
                args.chunk_size,
                None,
                time.perf_counter_ns() + args.warmup_ms * 1_000_000,
            )
        else:
            warm = Trial(
                submit, args.threads, args.chunk_size, args.threads * args.chunk_size, None
            )
        warm.run()
        emit("warmup tasks=%d wall_us=%.1f" % (warm.tasks(), warm.wall_ns() / 1000.0))

        durations = []
        workers_peak_rss = {}
        own_peak_rss = 0
        for index in range(1, args.trials + 1):
            if args.trial_ms is not None:
                trial = Trial(
                    submit,
                    args.threads,
                    args.chunk_size,
                    None,
                    time.perf_counter_ns() + args.trial_ms * 1_000_000,
                )
            else:
                trial = Trial(
                    submit, args.threads, args.chunk_size, args.tasks_per_trial, None
                )
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
    finally:
        if processes:
            pool.terminate()
            pool.join()
        else:
            pool.shutdown(wait=True)
    emit("end")


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
    run = commands.add_parser("run", help="measure one thread count")
    run.add_argument("--executor", choices=["threads", "processes"], required=True)
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
    args = parser.parse_args(argv)
    if args.watch_stdin:
        watch_stdin()
    emit(FORMAT_HEADER)
    if args.command == "probe":
        emit_interpreter()
        emit("calibration loops_per_us=%r" % calibrate())
        emit("end")
    else:
        if args.task == "cpu" and args.wait_us != 0:
            parser.error("--wait-us must be 0 for a cpu task")
        measure(args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
