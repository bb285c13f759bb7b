//! Readings from the OS that the engine takes around each trial: a thread's CPU clock,
//! the process's CPU time and context switches (getrusage), and its peak resident memory.
//! Each is one system call; none is taken per task. The calls themselves are in
//! [`crate::platform`], one module per OS.

use std::time::Duration;

/// CPU time consumed so far by the calling thread (CLOCK_THREAD_CPUTIME_ID, Windows
/// GetThreadTimes), in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    crate::platform::thread_cpu_ns()
}

/// CPU time consumed so far by the whole process (all threads), in nanoseconds.
pub fn process_cpu_ns() -> u64 {
    crate::platform::process_cpu_ns()
}

/// Process-wide resource usage at one instant (getrusage RUSAGE_SELF).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessUsage {
    /// User plus system CPU time of every thread, in nanoseconds.
    pub cpu_ns: u64,
    /// Voluntary context switches (a thread blocked: sleep, lock, I/O); None where the OS
    /// keeps no such count (Windows, see `platform::unmeasured`).
    pub voluntary_switches: Option<u64>,
    /// Involuntary context switches (a thread was preempted: more runnable threads than
    /// cores); None where the OS keeps no such count.
    pub involuntary_switches: Option<u64>,
    /// Peak resident set size over the process's life so far, in bytes.
    pub max_rss_bytes: u64,
}

impl ProcessUsage {
    /// Reads the current usage.
    pub fn now() -> ProcessUsage {
        // A figure the OS has none of (Windows: context switches) stays None, and
        // platform::unmeasured() names it and why.
        let Some(usage) = crate::platform::process_reading() else {
            return ProcessUsage::default();
        };
        ProcessUsage {
            cpu_ns: usage.cpu_ns,
            voluntary_switches: usage.voluntary_switches,
            involuntary_switches: usage.involuntary_switches,
            max_rss_bytes: usage.max_rss_bytes.unwrap_or(0),
        }
    }

    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &ProcessUsage) -> UsageDelta {
        UsageDelta {
            cpu_ns: self.cpu_ns.saturating_sub(earlier.cpu_ns),
            voluntary_switches: self
                .voluntary_switches
                .zip(earlier.voluntary_switches)
                .map(|(now, then)| now.saturating_sub(then)),
            involuntary_switches: self
                .involuntary_switches
                .zip(earlier.involuntary_switches)
                .map(|(now, then)| now.saturating_sub(then)),
        }
    }
}

/// CPU time (user + system) of this process's children that have ended and been waited for
/// (getrusage RUSAGE_CHILDREN), in nanoseconds. Children still running are not in it: a
/// process pool reports its live workers' CPU itself.
pub fn children_cpu_ns() -> u64 {
    crate::platform::children_cpu_ns().unwrap_or(0)
}

/// Change in process usage over an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageDelta {
    /// CPU time used by all threads, in nanoseconds.
    pub cpu_ns: u64,
    /// Voluntary context switches; None where the OS keeps no such count.
    pub voluntary_switches: Option<u64>,
    /// Involuntary context switches; None where the OS keeps no such count.
    pub involuntary_switches: Option<u64>,
}

impl UsageDelta {
    /// CPUs kept busy on average over `wall`: 0 to the number of logical CPUs.
    pub fn cpu_utilization(&self, wall: Duration) -> f64 {
        let wall_ns = wall.as_nanos() as f64;
        if wall_ns <= 0.0 {
            return 0.0;
        }
        self.cpu_ns as f64 / wall_ns
    }
}

/// Resets the process's peak-RSS watermark (VmHWM) to the current RSS, so that the next
/// [`peak_rss_bytes`] reading covers only what follows. Linux ≥ 4.0 only (`/proc/self/clear_refs`
/// accepts "5"). Returns false where that is not possible (macOS, Windows); the peak then
/// covers the whole run.
pub fn reset_peak_rss() -> bool {
    crate::platform::reset_peak_rss()
}

/// Peak resident memory since the last [`reset_peak_rss`] (Linux VmHWM), else the
/// process's lifetime peak (macOS ru_maxrss, Windows PeakWorkingSetSize).
pub fn peak_rss_bytes() -> u64 {
    crate::platform::peak_rss_bytes().unwrap_or(0)
}

/// Current resident memory of this process (VmRSS, macOS resident size, Windows working set),
/// in bytes.
pub fn current_rss_bytes() -> u64 {
    crate::platform::current_rss_bytes().unwrap_or(0)
}

/// Threads of this process right now (Linux `/proc/self/status`, macOS `proc_pidinfo`); None
/// on Windows (see `platform::unmeasured`).
pub fn thread_count() -> Option<u64> {
    crate::platform::thread_count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No wall-clock budget: on a loaded machine 30 ms of wall time can hold far less than
    /// 30 ms of this thread's CPU, so the test spins until the thread clock itself has moved.
    #[test]
    fn thread_clock_counts_only_this_threads_work() {
        const WORK_NS: u64 = 20_000_000;
        let hang_guard = std::time::Instant::now();
        let before = thread_cpu_ns();
        while thread_cpu_ns() - before < WORK_NS {
            std::hint::black_box(0u64);
            assert!(
                hang_guard.elapsed() < Duration::from_secs(120),
                "the thread clock did not advance while this thread computed"
            );
        }
        // Another thread's 20 ms of computing does not show on this thread's clock.
        let before_waiting = thread_cpu_ns();
        let helper = std::thread::Builder::new()
            .name("pooltune-test-spin".into())
            .spawn(|| {
                let start = thread_cpu_ns();
                while thread_cpu_ns() - start < WORK_NS {
                    std::hint::black_box(0u64);
                }
                thread_cpu_ns() - start
            })
            .unwrap();
        let helper_ns = helper.join().unwrap();
        let waiting = thread_cpu_ns() - before_waiting;
        assert!(helper_ns >= WORK_NS);
        assert!(
            waiting < 5_000_000,
            "waiting for a thread that computed {helper_ns} ns used {waiting} ns of this thread's CPU"
        );
    }
}
