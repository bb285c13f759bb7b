//! Every reading the engine makes of the operating system, behind one interface with one
//! module per OS: thread and process CPU time, context switches, resident and peak memory,
//! free disk space, the usable CPUs, other processes' CPU and a child's CPU on exit. A figure
//! an OS cannot give is None with a reason ([`unmeasured`]), never 0.
//!
//! Each function here is the one documented entry point and calls the same-named function of
//! the OS module compiled in (`linux.rs`, `macos.rs`, `windows.rs`; `unix.rs` holds the POSIX
//! calls Linux and macOS share), so a module that lacks one fails to build for its target in
//! CI. This module must never know about results, pools or the GUI: it reads the OS and
//! returns numbers; callers decide what a missing figure means.

use std::path::Path;

#[cfg(unix)]
mod unix;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos as os;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
compile_error!(
    "pooltune's platform layer (src/platform) has modules for Linux, macOS and Windows only"
);

/// The OS as a user names it: "Linux", "macOS" or "Windows".
pub const OS_NAME: &str = os::NAME;

/// A figure this OS cannot give, and why: the reason shown instead of a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unmeasured {
    /// The figure, as the platform functions name it (`"voluntary_switches"`, `"thread_count"`).
    pub figure: &'static str,
    /// Why this OS does not give it, in a user's words.
    pub reason: &'static str,
}

/// Every figure this OS cannot give (empty on Linux).
pub fn unmeasured() -> &'static [Unmeasured] {
    os::UNMEASURED
}

/// "not measured on macOS: ..." for a figure this OS cannot give; None when it is measured.
pub fn not_measured_text(figure: &str) -> Option<String> {
    unmeasured()
        .iter()
        .find(|u| u.figure == figure)
        .map(|u| format!("not measured on {OS_NAME}: {}", u.reason))
}

/// CPU time consumed so far by the calling thread, in nanoseconds (Linux and macOS
/// `CLOCK_THREAD_CPUTIME_ID`, Windows `GetThreadTimes`); 0 only if the call fails.
pub fn thread_cpu_ns() -> u64 {
    os::thread_cpu_ns()
}

/// CPU time consumed so far by the whole process (all threads), in nanoseconds.
pub fn process_cpu_ns() -> u64 {
    os::process_cpu_ns()
}

/// The process's resource usage at one instant, each figure None where the OS has none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessReading {
    /// User plus system CPU time of every thread, in nanoseconds.
    pub cpu_ns: u64,
    /// Voluntary context switches (a thread blocked); None on Windows.
    pub voluntary_switches: Option<u64>,
    /// Involuntary context switches (a thread was preempted); None on Windows.
    pub involuntary_switches: Option<u64>,
    /// Peak resident set size over the process's life so far, in bytes.
    pub max_rss_bytes: Option<u64>,
}

/// The process's usage now (getrusage `RUSAGE_SELF`, Windows `GetProcessTimes` and
/// `GetProcessMemoryInfo`); None if the call fails.
pub fn process_reading() -> Option<ProcessReading> {
    os::process_reading()
}

/// CPU time (user + system) of this process's children that have ended and been waited for,
/// in nanoseconds (getrusage `RUSAGE_CHILDREN`); None on Windows, which keeps no such total.
pub fn children_cpu_ns() -> Option<u64> {
    os::children_cpu_ns()
}

/// Resets the peak-RSS watermark to the current RSS so that [`peak_rss_bytes`] covers only
/// what follows. Linux only (`/proc/self/clear_refs`); false elsewhere, where the peak is the
/// process's lifetime peak.
pub fn reset_peak_rss() -> bool {
    os::reset_peak_rss()
}

/// Peak resident memory in bytes: since the last [`reset_peak_rss`] on Linux (VmHWM), the
/// lifetime peak elsewhere (macOS `ru_maxrss`, Windows `PeakWorkingSetSize`).
pub fn peak_rss_bytes() -> Option<u64> {
    os::peak_rss_bytes()
}

/// Resident memory of this process now, in bytes (Linux VmRSS, macOS `proc_pidinfo`
/// resident size, Windows working set).
pub fn current_rss_bytes() -> Option<u64> {
    os::current_rss_bytes()
}

/// Threads of this process now; None on Windows.
pub fn thread_count() -> Option<u64> {
    os::thread_count()
}

/// Address space this process uses now (Linux VmSize, macOS virtual size), in bytes; None on
/// Windows, which has no address-space limit to compare it with.
pub fn address_space_used_bytes() -> Option<u64> {
    os::address_space_used_bytes()
}

/// This process's address-space limit (`RLIMIT_AS`, `ulimit -v`) in bytes; None when
/// unlimited or when the OS has none (Windows).
pub fn address_space_limit_bytes() -> Option<u64> {
    os::address_space_limit_bytes()
}

/// Logical CPUs online, at least 1.
pub fn online_cpus() -> usize {
    os::online_cpus().max(1)
}

/// CPUs this process may use, at least 1: Linux affinity and cgroup quota, Windows affinity
/// (std's `available_parallelism`); macOS has neither, so all online CPUs.
pub fn usable_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Memory available to new allocations now, in bytes (Linux MemAvailable, macOS and Windows
/// as the OS reports it).
pub fn available_memory_bytes() -> Option<u64> {
    os::available_memory_bytes()
}

/// Physical memory in bytes.
pub fn total_memory_bytes() -> Option<u64> {
    os::total_memory_bytes()
}

/// Free space this process may use on the file system holding `path`, in bytes (statvfs
/// available blocks, Windows `GetDiskFreeSpaceExW`); None when it cannot be read.
pub fn free_disk_bytes(path: &Path) -> Option<u64> {
    os::free_disk_bytes(path)
}

/// The busy and idle time of all CPUs together as a `/proc/stat` `cpu ` line (user, nice,
/// system, idle, then zeros for what the OS does not split out) in units of
/// [`cpu_ticks_per_s`]: the file itself on Linux, `host_statistics(HOST_CPU_LOAD_INFO)` on
/// macOS, `GetSystemTimes` on Windows. One format, so that the busy-machine warning
/// (`trust::busy_ticks`) parses every OS the same way.
pub fn cpu_stat_text() -> Option<String> {
    os::cpu_stat_text()
}

/// Ticks per second of [`cpu_stat_text`]'s figures (100 on Linux and macOS, 10^7 on Windows).
pub fn cpu_ticks_per_s() -> f64 {
    os::cpu_ticks_per_s()
}

/// Called first in a worker process that pooltune started: arranges for it to die when
/// pooltune (`parent_pid`) does, beside the stdin lifeline every worker already has. Linux
/// asks the kernel (`PR_SET_PDEATHSIG`); macOS watches the parent with a kqueue on a
/// `pooltune-lifeline` thread; Windows waits on the parent's process handle the same way.
/// Returns false when the parent is already gone.
pub fn die_with_parent(parent_pid: Option<u32>) -> bool {
    os::die_with_parent(parent_pid)
}

/// A descriptor that becomes readable (poll POLLIN) when child `pid` exits, without reaping
/// it: a pidfd on Linux 5.3+; None on macOS and older kernels, where a waiter sleeps briefly
/// between checks instead.
#[cfg(unix)]
pub fn exit_fd(pid: libc::pid_t) -> Option<std::os::fd::OwnedFd> {
    os::exit_fd(pid)
}

/// Python `multiprocessing` start methods this OS offers (no `fork` or `forkserver` on
/// Windows), for `pool.start_method`.
pub fn python_start_methods() -> &'static [&'static str] {
    os::PYTHON_START_METHODS
}

/// Refuses a Python start method this OS does not offer, naming the field and the methods
/// that are allowed here.
pub fn check_python_start_method(method: &str) -> Result<(), String> {
    if python_start_methods().contains(&method) {
        Ok(())
    } else {
        Err(format!(
            "pool.start_method = \"{method}\" is not available on {OS_NAME}: allowed values are {}",
            python_start_methods()
                .iter()
                .map(|m| format!("\"{m}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reading_this_os_has_is_given() {
        assert!(process_reading().is_some_and(|r| r.cpu_ns > 0));
        for (figure, value) in [
            ("current_rss_bytes", current_rss_bytes()),
            ("peak_rss_bytes", peak_rss_bytes()),
            ("thread_count", thread_count()),
            ("available_memory_bytes", available_memory_bytes()),
            ("total_memory_bytes", total_memory_bytes()),
            ("free_disk_bytes", free_disk_bytes(Path::new("."))),
        ] {
            // A figure is either measured (and positive) or listed as unmeasured, never 0.
            match value {
                Some(v) => assert!(v > 0, "{figure} read as 0"),
                None => assert!(
                    not_measured_text(figure).is_some(),
                    "{figure} is None but not listed in unmeasured()"
                ),
            }
        }
        assert!(usable_cpus() <= online_cpus());
    }

    #[test]
    fn peak_covers_current_and_cpu_stat_parses() {
        let (Some(peak), Some(rss)) = (peak_rss_bytes(), current_rss_bytes()) else {
            panic!("no memory reading on {OS_NAME}");
        };
        assert!(peak >= rss / 2, "peak {peak} far below current {rss}");
        let text = cpu_stat_text().expect("cpu stat");
        assert!(crate::trust::busy_ticks(&text).is_some(), "{text}");
    }

    #[test]
    fn a_start_method_this_os_lacks_is_refused_by_name() {
        let err = check_python_start_method("vfork").unwrap_err();
        assert!(err.contains("pool.start_method"), "{err}");
        assert!(err.contains("\"spawn\""), "{err}");
        assert!(check_python_start_method("spawn").is_ok());
    }
}
