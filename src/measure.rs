//! Readings from the OS that the engine takes around each trial: a thread's CPU clock,
//! the process's CPU time and context switches (getrusage), and its peak resident memory.
//! Each is one system call; none is taken per task.

use std::time::Duration;

/// CPU time consumed so far by the calling thread (CLOCK_THREAD_CPUTIME_ID), in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time consumed so far by the whole process (all threads), in nanoseconds.
pub fn process_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock ids used are always supported on Linux.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64).saturating_mul(1_000_000_000) + ts.tv_nsec as u64
}

/// Process-wide resource usage at one instant (getrusage RUSAGE_SELF).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessUsage {
    /// User plus system CPU time of every thread, in nanoseconds.
    pub cpu_ns: u64,
    /// Voluntary context switches (a thread blocked: sleep, lock, I/O).
    pub voluntary_switches: u64,
    /// Involuntary context switches (a thread was preempted: more runnable threads than cores).
    pub involuntary_switches: u64,
    /// Peak resident set size over the process's life so far, in bytes.
    pub max_rss_bytes: u64,
}

impl ProcessUsage {
    /// Reads the current usage.
    pub fn now() -> ProcessUsage {
        let Some(usage) = rusage(libc::RUSAGE_SELF) else {
            return ProcessUsage::default();
        };
        ProcessUsage {
            cpu_ns: cpu_ns(&usage),
            voluntary_switches: usage.ru_nvcsw as u64,
            involuntary_switches: usage.ru_nivcsw as u64,
            max_rss_bytes: (usage.ru_maxrss as u64) * 1024,
        }
    }

    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &ProcessUsage) -> UsageDelta {
        UsageDelta {
            cpu_ns: self.cpu_ns.saturating_sub(earlier.cpu_ns),
            voluntary_switches: self
                .voluntary_switches
                .saturating_sub(earlier.voluntary_switches),
            involuntary_switches: self
                .involuntary_switches
                .saturating_sub(earlier.involuntary_switches),
        }
    }
}

/// CPU time (user + system) of this process's children that have ended and been waited for
/// (getrusage RUSAGE_CHILDREN), in nanoseconds. Children still running are not in it: a
/// process pool reports its live workers' CPU itself.
pub fn children_cpu_ns() -> u64 {
    rusage(libc::RUSAGE_CHILDREN).map_or(0, |usage| cpu_ns(&usage))
}

/// getrusage for `who` (RUSAGE_SELF or RUSAGE_CHILDREN); None if the call fails.
fn rusage(who: libc::c_int) -> Option<libc::rusage> {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is valid and writable; both `who` values used are always accepted.
    let rc = unsafe { libc::getrusage(who, &mut usage) };
    (rc == 0).then_some(usage)
}

/// User plus system CPU time of a getrusage reading, in nanoseconds.
fn cpu_ns(usage: &libc::rusage) -> u64 {
    let tv_ns = |tv: libc::timeval| {
        (tv.tv_sec as u64).saturating_mul(1_000_000_000) + (tv.tv_usec as u64) * 1000
    };
    tv_ns(usage.ru_utime) + tv_ns(usage.ru_stime)
}

/// Change in process usage over an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageDelta {
    /// CPU time used by all threads, in nanoseconds.
    pub cpu_ns: u64,
    /// Voluntary context switches.
    pub voluntary_switches: u64,
    /// Involuntary context switches.
    pub involuntary_switches: u64,
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
/// [`peak_rss_bytes`] reading covers only what follows. Linux ≥ 4.0 (`/proc/self/clear_refs`
/// accepts "5"). Returns false where that is not possible; the peak then covers the whole run.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", b"5").is_ok()
}

/// Peak resident memory since the last [`reset_peak_rss`] (VmHWM), falling back to
/// getrusage's lifetime peak.
pub fn peak_rss_bytes() -> u64 {
    status_field_kib("VmHWM:")
        .map(|kib| kib * 1024)
        .unwrap_or_else(|| ProcessUsage::now().max_rss_bytes)
}

/// Current resident memory of this process (VmRSS), in bytes.
pub fn current_rss_bytes() -> u64 {
    status_field_kib("VmRSS:").map_or(0, |kib| kib * 1024)
}

/// Threads of this process right now (the `Threads:` line of /proc/self/status).
pub fn thread_count() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("Threads:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// A `/proc/self/status` field given in kB (`VmHWM:`, `VmSize:`), in KiB.
pub(crate) fn status_field_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
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
