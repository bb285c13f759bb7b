//! Linux readings: the POSIX calls of `unix.rs`, `/proc/self/status` for the current and
//! resettable peak RSS and the thread count, `/proc/meminfo`, `/proc/stat`, and
//! `PR_SET_PDEATHSIG`. Every figure is measured here; nothing in it may read another OS's API.

use std::path::Path;

use super::{ProcessReading, Unmeasured, unix};

pub(super) const NAME: &str = "Linux";

pub(super) const UNMEASURED: &[Unmeasured] = &[];

pub(super) const PYTHON_START_METHODS: &[&str] = &["fork", "forkserver", "spawn"];

pub(super) fn thread_cpu_ns() -> u64 {
    unix::clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

pub(super) fn process_cpu_ns() -> u64 {
    unix::clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID)
}

pub(super) fn process_reading() -> Option<ProcessReading> {
    // ru_maxrss is in KiB on Linux (getrusage(2)).
    unix::process_reading(1024)
}

pub(super) fn children_cpu_ns() -> Option<u64> {
    unix::children_cpu_ns()
}

/// Linux ≥ 4.0: writing "5" to clear_refs resets VmHWM to the current RSS.
pub(super) fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", b"5").is_ok()
}

/// VmHWM (reset by [`reset_peak_rss`]), falling back to getrusage's lifetime peak.
pub(super) fn peak_rss_bytes() -> Option<u64> {
    status_field_kib("VmHWM:")
        .map(|kib| kib * 1024)
        .or_else(|| process_reading().and_then(|r| r.max_rss_bytes))
}

pub(super) fn current_rss_bytes() -> Option<u64> {
    status_field_kib("VmRSS:").map(|kib| kib * 1024)
}

pub(super) fn thread_count() -> Option<u64> {
    status_field_kib("Threads:")
}

pub(super) fn address_space_used_bytes() -> Option<u64> {
    status_field_kib("VmSize:").map(|kib| kib * 1024)
}

pub(super) fn address_space_limit_bytes() -> Option<u64> {
    unix::address_space_limit_bytes()
}

pub(super) fn online_cpus() -> usize {
    unix::online_cpus()
}

pub(super) fn available_memory_bytes() -> Option<u64> {
    meminfo_bytes("MemAvailable:")
}

pub(super) fn total_memory_bytes() -> Option<u64> {
    meminfo_bytes("MemTotal:")
}

pub(super) fn free_disk_bytes(path: &Path) -> Option<u64> {
    unix::free_disk_bytes(path)
}

pub(super) fn cpu_stat_text() -> Option<String> {
    std::fs::read_to_string("/proc/stat").ok()
}

pub(super) fn cpu_ticks_per_s() -> f64 {
    unix::ticks_per_s()
}

/// Asks the kernel to kill this process when the thread that started it exits. The signal
/// follows the parent *thread*, which is why a pool must be dropped on the thread that built it.
pub(super) fn die_with_parent(parent_pid: Option<u32>) -> bool {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and has no memory arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    }
    // The parent may have died before prctl: then we were re-parented already.
    unix::parent_is(parent_pid)
}

/// A numeric field of `/proc/self/status` (`VmHWM:`, `VmSize:` in kB; `Threads:` a count).
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

/// A `/proc/meminfo` field in bytes.
fn meminfo_bytes(field: &str) -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// pidfd_open(2), Linux 5.3+.
pub(super) fn exit_fd(pid: libc::pid_t) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd as _;
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new file descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = libc::c_int::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: `fd` was just returned by pidfd_open and is owned by nobody else.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}
