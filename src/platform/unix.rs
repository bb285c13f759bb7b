//! The POSIX calls Linux and macOS share (clock_gettime, getrusage, getrlimit, sysconf,
//! statvfs), for `linux.rs` and `macos.rs`. Nothing OS-specific and nothing that reads /proc.

use std::path::Path;

/// `clock_gettime(clock)` in nanoseconds; 0 if the call fails.
pub(super) fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock ids used are supported on Linux
    // and macOS (10.12+).
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64).saturating_mul(1_000_000_000) + ts.tv_nsec as u64
}

/// getrusage for `who` (RUSAGE_SELF or RUSAGE_CHILDREN); None if the call fails.
pub(super) fn rusage(who: libc::c_int) -> Option<libc::rusage> {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is valid and writable; both `who` values used are always accepted.
    let rc = unsafe { libc::getrusage(who, &mut usage) };
    (rc == 0).then_some(usage)
}

/// User plus system CPU time of a getrusage reading, in nanoseconds.
pub(super) fn rusage_cpu_ns(usage: &libc::rusage) -> u64 {
    let tv_ns = |tv: libc::timeval| {
        (tv.tv_sec as u64).saturating_mul(1_000_000_000) + (tv.tv_usec as u64) * 1000
    };
    tv_ns(usage.ru_utime) + tv_ns(usage.ru_stime)
}

/// The process's usage with `ru_maxrss` in `maxrss_unit` bytes (1024 on Linux, 1 on macOS).
pub(super) fn process_reading(maxrss_unit: u64) -> Option<super::ProcessReading> {
    let usage = rusage(libc::RUSAGE_SELF)?;
    Some(super::ProcessReading {
        cpu_ns: rusage_cpu_ns(&usage),
        voluntary_switches: Some(usage.ru_nvcsw as u64),
        involuntary_switches: Some(usage.ru_nivcsw as u64),
        max_rss_bytes: Some((usage.ru_maxrss as u64).saturating_mul(maxrss_unit)),
    })
}

/// CPU time of the children that ended and were waited for.
pub(super) fn children_cpu_ns() -> Option<u64> {
    rusage(libc::RUSAGE_CHILDREN).map(|usage| rusage_cpu_ns(&usage))
}

/// `RLIMIT_AS` in bytes; None when unlimited.
pub(super) fn address_space_limit_bytes() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only into `limit`, a struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    Some(limit.rlim_cur)
}

/// `sysconf(_SC_NPROCESSORS_ONLN)`, 1 if it fails.
pub(super) fn online_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(1).max(1)
}

/// `sysconf(_SC_CLK_TCK)`, 100 if it fails.
pub(super) fn ticks_per_s() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// Space available to an unprivileged user on the file system holding `path` (statvfs:
/// available blocks × fragment size).
pub(super) fn free_disk_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt as _;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs reads the NUL-terminated path and writes only into `stat`, a zeroed
    // struct we own.
    let stat = unsafe {
        let mut stat: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c_path.as_ptr(), &mut stat) != 0 {
            return None;
        }
        stat
    };
    // The field types differ between Linux (u64) and macOS (u32, c_ulong).
    Some((stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64))
}

/// True when this process's parent is `expected` (or no parent was named).
pub(super) fn parent_is(expected: Option<u32>) -> bool {
    // SAFETY: getppid has no preconditions.
    let ppid = unsafe { libc::getppid() };
    expected.is_none_or(|expected| u32::try_from(ppid).is_ok_and(|p| p == expected))
}
