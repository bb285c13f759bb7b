//! The worker-cost figures are true: the RSS per thread agrees with an independent reading of
//! /proc/self/status taken around the same spawn, and the threads really start and stop
//! (counted in /proc/self/task). Alone in its test binary, so no other test's threads or
//! allocations move this process's RSS while it measures.

use pooltune::cost::IdleThreads;

/// VmRSS or VmSize of this process in bytes, read and parsed here, not by pooltune.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .expect("the field is there");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("a number of kB");
    kib * 1024
}

fn tasks() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .count()
}

#[test]
fn rss_per_thread_agrees_with_proc_self_status_and_threads_really_start_and_stop() {
    const THREADS: usize = 200;
    // The small stacks first: glibc caches freed stacks and may hand a cached one to a later
    // thread that asks for a smaller stack, which would hide its reservation.
    for stack_kib in [Some(256u64), None] {
        let tasks_before = tasks();
        let rss_before = status_bytes("VmRSS:");
        let idle = IdleThreads::start(THREADS, stack_kib.map(|k| k * 1024));
        // The holders' RSS is not the counted threads': a few pages each, under 1% here.
        let rss_after = status_bytes("VmRSS:");
        assert_eq!(idle.count(), THREADS);
        // Beside them, the threads that hold the stacks glibc kept from ended threads.
        assert!(idle.stack_holders() >= 1);
        assert_eq!(
            tasks(),
            tasks_before + THREADS + idle.stack_holders(),
            "threads alive in /proc/self/task"
        );
        let cost = idle.measure_and_stop();
        assert_eq!(tasks(), tasks_before, "threads left after the stop");

        assert_eq!(cost.workers, THREADS);
        assert_eq!(cost.error, None);
        let independent = (rss_after - rss_before) as f64 / THREADS as f64;
        let measured = cost.rss_per_worker_bytes;
        assert!(
            independent > 0.0 && (measured - independent).abs() <= 0.2 * independent,
            "stack {stack_kib:?}: pooltune says {measured:.0} B/thread, /proc/self/status says {independent:.0}"
        );
        // Every thread reserves at least its stack.
        let stack = stack_kib.map_or(2 << 20, |k| k * 1024) as f64;
        assert!(
            cost.virtual_per_worker_bytes >= stack,
            "stack {stack_kib:?}: {} B reserved per thread",
            cost.virtual_per_worker_bytes
        );
        assert!(cost.start_latency_p50_us > 0.0);
        assert!(cost.start_latency_p99_us >= cost.start_latency_p50_us);
        assert!(cost.stop_ms >= 0.0);
    }
}
