#!/usr/bin/env python3
"""pooltune's worker-cost probe for CPython (run by `pooltune cost`; Linux only).

For each N it starts N idle workers one at a time, timing each from the start() call to the
first line the worker runs, keeps them blocked on an event, reads memory from /proc, then
sets the event and joins them all, timing the stop. Workers: threading.Thread, and
multiprocessing.Process for each start method the platform offers (fork, spawn, forkserver).

Thread memory is the change in this process's VmRSS and VmSize. Process memory is read per
child: Rss and Pss from /proc/<pid>/smaps_rollup, VmSize from /proc/<pid>/status. Helper
processes that multiprocessing starts besides the workers (the forkserver, the resource
tracker) are not counted.

Output, one record per line, nothing else on stdout (pooltune parses it strictly):
    pooltune-worker-cost 1
    python <version>
    methods <method> [<method> ...]
    coroutines asyncio generator [greenlet]
    process method=<m> workers=<n> latencies_us=<f>,... rss_bytes=<int> pss_bytes=<int> virtual_bytes=<int> stop_ms=<f>
    thread workers=<n> latencies_us=<f>,<f>,... rss_delta_bytes=<int> virtual_delta_bytes=<int> stop_ms=<f>
    task kind=<k> workers=<n> start_p50_us=<f> start_p99_us=<f> rss_delta_bytes=<int> virtual_delta_bytes=<int> stop_ms=<f>
    switch kind=<k> round_trips=<n> seconds=<f>
    end
Process lines come first, by method, then in the order of --processes: they are measured
before any thread ran, so a forked child does not inherit the thread stacks and malloc arenas
of the thread measurements. Thread lines follow in the order of --threads. rss_bytes,
pss_bytes and virtual_bytes of a process line are sums over its N children.

Task lines follow, by kind (the `coroutines` line: asyncio tasks, generators, and greenlets
where the greenlet package imports), then in the order of --tasks. Each is measured in a
forked child of its own, so memory one kind freed (and CPython keeps) cannot hide the next
kind's growth: N idle tasks are made one at a time, each timed from its creation to its first
step (`create_task` then yielding once to the loop; a generator's first `next`; a greenlet's
first `switch`), and left suspended; the child's VmRSS and VmSize growth over N is their
memory (every buffer the measurement needs is allocated before the first reading). Then they
are all resumed to their end and the stop is timed. Start latencies are summarised as the
50th and 99th percentiles in the child (a line of 100 000 figures would be 1 MB).

Switch lines come last, one per kind (python_thread, then the coroutine kinds), when
--round-trips is above 0: two workers of the kind pass a number back and forth, each round
trip two switches: two threads over two queue.SimpleQueue, two asyncio tasks over two
asyncio.Queue, a generator driven by `send`, a greenlet by `switch`. Python threads make at
most THREAD_ROUND_TRIPS round trips (each hand-off wakes a thread through the kernel and the
GIL); the line says how many were made. Any failure goes to stderr with exit status 1.
"""

import argparse
import array
import asyncio
import multiprocessing
import queue
import os
import sys
import threading
import time

FORMAT_VERSION = 2
# Longest wait for one worker to start; a slow spawn on a loaded machine takes well under 1 s.
READY_TIMEOUT_S = 60.0
# Most round trips of the Python threads' ping-pong: each costs tens of microseconds (two
# kernel wake-ups and two GIL hand-overs), so 20 000 take about a second.
THREAD_ROUND_TRIPS = 20_000


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def proc_kib(path, field):
    with open(path) as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(f"{path} has no {field} line")


def latencies_text(latencies_us):
    return ",".join(f"{us:.3f}" for us in latencies_us)


def idle_thread(ready, stop, started_ns, slot):
    started_ns[slot] = time.perf_counter_ns()
    ready.release()
    stop.wait()


def measure_threads(n):
    stop = threading.Event()
    ready = threading.Semaphore(0)
    started_ns = [0] * n
    threads = []
    latencies_us = []
    rss_before = proc_kib("/proc/self/status", "VmRSS:")
    virtual_before = proc_kib("/proc/self/status", "VmSize:")
    for i in range(n):
        thread = threading.Thread(
            target=idle_thread,
            args=(ready, stop, started_ns, i),
            name=f"pooltune-idle-{i}",
            daemon=True,
        )
        requested = time.perf_counter_ns()
        thread.start()
        if not ready.acquire(timeout=READY_TIMEOUT_S):
            raise RuntimeError(f"thread {i + 1} of {n} did not start")
        latencies_us.append((started_ns[i] - requested) / 1000.0)
        threads.append(thread)
    rss_after = proc_kib("/proc/self/status", "VmRSS:")
    virtual_after = proc_kib("/proc/self/status", "VmSize:")
    stop_started = time.perf_counter()
    stop.set()
    for thread in threads:
        thread.join()
    stop_ms = (time.perf_counter() - stop_started) * 1000.0
    emit(
        f"thread workers={n} latencies_us={latencies_text(latencies_us)} "
        f"rss_delta_bytes={(rss_after - rss_before) * 1024} "
        f"virtual_delta_bytes={(virtual_after - virtual_before) * 1024} "
        f"stop_ms={stop_ms:.3f}"
    )


def idle_process(ready_conn, stop):
    # perf_counter is CLOCK_MONOTONIC on Linux: comparable across processes.
    ready_conn.send(time.perf_counter_ns())
    ready_conn.close()
    stop.wait()


def measure_processes(method, n):
    ctx = multiprocessing.get_context(method)
    stop = ctx.Event()
    processes = []
    latencies_us = []
    try:
        for i in range(n):
            reader, writer = ctx.Pipe(duplex=False)
            process = ctx.Process(
                target=idle_process,
                args=(writer, stop),
                name=f"pooltune-idle-{i}",
                daemon=True,
            )
            requested = time.perf_counter_ns()
            process.start()
            writer.close()
            if not reader.poll(READY_TIMEOUT_S):
                raise RuntimeError(f"{method} process {i + 1} of {n} did not start")
            started = reader.recv()
            reader.close()
            latencies_us.append((started - requested) / 1000.0)
            processes.append(process)
        rss = pss = virtual = 0
        for process in processes:
            rss += proc_kib(f"/proc/{process.pid}/smaps_rollup", "Rss:") * 1024
            pss += proc_kib(f"/proc/{process.pid}/smaps_rollup", "Pss:") * 1024
            virtual += proc_kib(f"/proc/{process.pid}/status", "VmSize:") * 1024
        stop_started = time.perf_counter()
        stop.set()
        for process in processes:
            process.join()
        stop_ms = (time.perf_counter() - stop_started) * 1000.0
    finally:
        stop.set()
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
    emit(
        f"process method={method} workers={n} latencies_us={latencies_text(latencies_us)} "
        f"rss_bytes={rss} pss_bytes={pss} virtual_bytes={virtual} stop_ms={stop_ms:.3f}"
    )


def has_greenlet():
    try:
        import greenlet  # noqa: F401
    except ImportError:
        return False
    return True


def percentile(sorted_values, q):
    """Nearest-rank percentile of an ascending sequence."""
    if not sorted_values:
        return 0.0
    rank = max(1, int(-(-q * len(sorted_values) // 1)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def idle_asyncio(n, started_ns, latencies_us, keep):
    """N idle asyncio tasks: (rss, virtual) growth and the stop time, latencies filled."""

    async def idle(slot, stop):
        started_ns[slot] = time.perf_counter_ns()
        await stop.wait()

    async def run():
        stop = asyncio.Event()
        # A first task warms the loop's own buffers before the reading.
        await asyncio.create_task(asyncio.sleep(0))
        rss_before = proc_kib("/proc/self/status", "VmRSS:")
        virtual_before = proc_kib("/proc/self/status", "VmSize:")
        for i in range(n):
            requested = time.perf_counter_ns()
            keep[i] = asyncio.create_task(idle(i, stop))
            # The new task is first in the ready queue: one yield runs its first step.
            await asyncio.sleep(0)
            latencies_us[i] = (started_ns[i] - requested) / 1000.0
        rss_after = proc_kib("/proc/self/status", "VmRSS:")
        virtual_after = proc_kib("/proc/self/status", "VmSize:")
        stop_started = time.perf_counter()
        stop.set()
        await asyncio.gather(*keep)
        stop_ms = (time.perf_counter() - stop_started) * 1000.0
        return rss_after - rss_before, virtual_after - virtual_before, stop_ms

    return asyncio.run(run())


def idle_generators(n, started_ns, latencies_us, keep):
    def idle(slot):
        started_ns[slot] = time.perf_counter_ns()
        yield

    rss_before = proc_kib("/proc/self/status", "VmRSS:")
    virtual_before = proc_kib("/proc/self/status", "VmSize:")
    for i in range(n):
        requested = time.perf_counter_ns()
        generator = idle(i)
        next(generator)
        keep[i] = generator
        latencies_us[i] = (started_ns[i] - requested) / 1000.0
    rss_after = proc_kib("/proc/self/status", "VmRSS:")
    virtual_after = proc_kib("/proc/self/status", "VmSize:")
    stop_started = time.perf_counter()
    for generator in keep:
        next(generator, None)
    stop_ms = (time.perf_counter() - stop_started) * 1000.0
    return rss_after - rss_before, virtual_after - virtual_before, stop_ms


def idle_greenlets(n, started_ns, latencies_us, keep):
    import greenlet

    main = greenlet.getcurrent()

    def idle(slot):
        started_ns[slot] = time.perf_counter_ns()
        main.switch()

    rss_before = proc_kib("/proc/self/status", "VmRSS:")
    virtual_before = proc_kib("/proc/self/status", "VmSize:")
    for i in range(n):
        requested = time.perf_counter_ns()
        green = greenlet.greenlet(idle)
        green.switch(i)
        keep[i] = green
        latencies_us[i] = (started_ns[i] - requested) / 1000.0
    rss_after = proc_kib("/proc/self/status", "VmRSS:")
    virtual_after = proc_kib("/proc/self/status", "VmSize:")
    stop_started = time.perf_counter()
    for green in keep:
        green.switch()
    stop_ms = (time.perf_counter() - stop_started) * 1000.0
    return rss_after - rss_before, virtual_after - virtual_before, stop_ms


IDLE_TASKS = {
    "asyncio": idle_asyncio,
    "generator": idle_generators,
    "greenlet": idle_greenlets,
}


def task_child(kind, n, writer):
    """In a forked child: measures N idle tasks of `kind` and sends back the task line."""
    # Every buffer is allocated (and its pages touched) before the first reading.
    started_ns = array.array("q", bytes(8 * n))
    latencies_us = array.array("d", bytes(8 * n))
    keep = [None] * n
    rss, virtual, stop_ms = IDLE_TASKS[kind](n, started_ns, latencies_us, keep)
    ordered = sorted(latencies_us)
    writer.send(
        f"task kind={kind} workers={n} "
        f"start_p50_us={percentile(ordered, 0.50):.3f} "
        f"start_p99_us={percentile(ordered, 0.99):.3f} "
        f"rss_delta_bytes={rss * 1024} virtual_delta_bytes={virtual * 1024} "
        f"stop_ms={stop_ms:.3f}"
    )
    writer.close()


def measure_tasks(kind, n):
    ctx = multiprocessing.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)
    child = ctx.Process(target=task_child, args=(kind, n, writer), name=f"pooltune-{kind}")
    child.start()
    writer.close()
    try:
        line = reader.recv()
    except EOFError:
        child.join()
        raise RuntimeError(
            f"the child measuring {n} {kind} tasks ended with exit code {child.exitcode}"
        ) from None
    child.join()
    emit(line)


def switch_threads(round_trips):
    there, back = queue.SimpleQueue(), queue.SimpleQueue()

    def echo():
        while True:
            value = there.get()
            if value is None:
                return
            back.put(value)

    thread = threading.Thread(target=echo, name="pooltune-echo", daemon=True)
    thread.start()
    started = time.perf_counter()
    for i in range(round_trips):
        there.put(i)
        if back.get() != i:
            raise RuntimeError("the echo thread answered out of turn")
    seconds = time.perf_counter() - started
    there.put(None)
    thread.join()
    return seconds


def switch_asyncio(round_trips):
    async def run():
        there, back = asyncio.Queue(1), asyncio.Queue(1)

        async def echo():
            while True:
                value = await there.get()
                if value is None:
                    return
                await back.put(value)

        echoing = asyncio.create_task(echo())
        started = time.perf_counter()
        for i in range(round_trips):
            await there.put(i)
            if await back.get() != i:
                raise RuntimeError("the echo task answered out of turn")
        seconds = time.perf_counter() - started
        await there.put(None)
        await echoing
        return seconds

    return asyncio.run(run())


def switch_generator(round_trips):
    def echo():
        value = yield
        while True:
            value = yield value

    generator = echo()
    next(generator)
    started = time.perf_counter()
    for i in range(round_trips):
        if generator.send(i) != i:
            raise RuntimeError("the generator answered out of turn")
    seconds = time.perf_counter() - started
    generator.close()
    return seconds


def switch_greenlet(round_trips):
    import greenlet

    main = greenlet.getcurrent()

    def echo(value):
        while True:
            value = main.switch(value)

    green = greenlet.greenlet(echo)
    started = time.perf_counter()
    for i in range(round_trips):
        if green.switch(i) != i:
            raise RuntimeError("the greenlet answered out of turn")
    seconds = time.perf_counter() - started
    green.throw(greenlet.GreenletExit)
    return seconds


SWITCHES = {
    "python_thread": switch_threads,
    "asyncio": switch_asyncio,
    "generator": switch_generator,
    "greenlet": switch_greenlet,
}


def measure_switch(kind, round_trips):
    if kind == "python_thread":
        round_trips = min(round_trips, THREAD_ROUND_TRIPS)
    seconds = SWITCHES[kind](round_trips)
    emit(f"switch kind={kind} round_trips={round_trips} seconds={seconds:.9f}")


def counts(text):
    values = [int(part) for part in text.split(",") if part.strip()]
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("counts must be 1 or more")
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=counts, default=[1, 10, 100])
    parser.add_argument("--processes", type=counts, default=[1, 10])
    parser.add_argument("--tasks", type=counts, default=[])
    parser.add_argument("--round-trips", type=int, default=0)
    args = parser.parse_args()
    methods = [m for m in ("fork", "spawn", "forkserver")
               if m in multiprocessing.get_all_start_methods()]
    coroutines = ["asyncio", "generator"] + (["greenlet"] if has_greenlet() else [])
    emit(f"pooltune-worker-cost {FORMAT_VERSION}")
    emit("python " + sys.version.split()[0])
    emit("methods " + " ".join(methods))
    emit("coroutines " + " ".join(coroutines))
    for method in methods:
        for n in args.processes:
            measure_processes(method, n)
    for n in args.threads:
        measure_threads(n)
    for kind in coroutines:
        for n in args.tasks:
            measure_tasks(kind, n)
    if args.round_trips > 0:
        for kind in ["python_thread"] + coroutines:
            measure_switch(kind, args.round_trips)
    emit("end")


if __name__ == "__main__":
    try:
        main()
    except Exception as err:  # noqa: BLE001 - reported to pooltune, which shows it
        print(f"worker_cost.py: {type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(1)
