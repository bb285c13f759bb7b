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
    process method=<m> workers=<n> latencies_us=<f>,... rss_bytes=<int> pss_bytes=<int> virtual_bytes=<int> stop_ms=<f>
    thread workers=<n> latencies_us=<f>,<f>,... rss_delta_bytes=<int> virtual_delta_bytes=<int> stop_ms=<f>
    end
Process lines come first, by method, then in the order of --processes: they are measured
before any thread ran, so a forked child does not inherit the thread stacks and malloc arenas
of the thread measurements. Thread lines follow in the order of --threads. rss_bytes,
pss_bytes and virtual_bytes of a process line are sums over its N children. Any failure goes
to stderr with exit status 1.
"""

import argparse
import multiprocessing
import os
import sys
import threading
import time

FORMAT_VERSION = 1
# Longest wait for one worker to start; a slow spawn on a loaded machine takes well under 1 s.
READY_TIMEOUT_S = 60.0


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


def counts(text):
    values = [int(part) for part in text.split(",") if part.strip()]
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("counts must be 1 or more")
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=counts, default=[1, 10, 100])
    parser.add_argument("--processes", type=counts, default=[1, 10])
    args = parser.parse_args()
    methods = [m for m in ("fork", "spawn", "forkserver")
               if m in multiprocessing.get_all_start_methods()]
    emit(f"pooltune-worker-cost {FORMAT_VERSION}")
    emit("python " + sys.version.split()[0])
    emit("methods " + " ".join(methods))
    for method in methods:
        for n in args.processes:
            measure_processes(method, n)
    for n in args.threads:
        measure_threads(n)
    emit("end")


if __name__ == "__main__":
    try:
        main()
    except Exception as err:  # noqa: BLE001 - reported to pooltune, which shows it
        print(f"worker_cost.py: {type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(1)
