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

// ---- Files, terminals, processes and thread clocks (the POSIX side of `super`'s wrappers).

/// See [`super::create_new_file`]: mode 0666 minus the umask.
pub(super) fn create_new_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o666)
        .open(path)
}

/// See [`super::copy_permissions`]: the mode bits, setuid/setgid/sticky included.
pub(super) fn copy_permissions(
    file: &std::fs::File,
    existing: &std::fs::Permissions,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    file.set_permissions(std::fs::Permissions::from_mode(existing.mode() & 0o7777))
}

/// See [`super::is_executable`]: any execute bit.
pub(super) fn is_executable(_path: &Path, metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    metadata.permissions().mode() & 0o111 != 0
}

/// See [`super::process_is_alive`]: kill(pid, 0).
pub(super) fn process_is_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 sends nothing; it only checks that the process exists.
    let sent = unsafe { libc::kill(pid, 0) };
    sent == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// See [`super::name_max`]: pathconf(_PC_NAME_MAX).
pub(super) fn name_max(folder: &Path) -> Option<usize> {
    use std::os::unix::ffi::OsStrExt as _;
    let c_path = std::ffi::CString::new(folder.as_os_str().as_bytes()).ok()?;
    // SAFETY: pathconf reads a NUL-terminated path we own.
    let max = unsafe { libc::pathconf(c_path.as_ptr(), libc::_PC_NAME_MAX) };
    usize::try_from(max).ok().filter(|&m| m > 0)
}

/// See [`super::terminal_columns`]: TIOCGWINSZ on the stream's descriptor.
pub(super) fn terminal_columns(stream: super::Stream) -> Option<usize> {
    let fd = match stream {
        super::Stream::Stdout => libc::STDOUT_FILENO,
        super::Stream::Stderr => libc::STDERR_FILENO,
    };
    // SAFETY: isatty only reads the descriptor number; TIOCGWINSZ writes a `winsize` into
    // `size`, a zeroed struct we own, and nothing else.
    unsafe {
        if libc::isatty(fd) != 1 {
            return None;
        }
        let mut size: libc::winsize = std::mem::zeroed();
        if libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) != 0 || size.ws_col == 0 {
            return None;
        }
        Some(usize::from(size.ws_col))
    }
}

/// See [`super::monotonic_ns`]: CLOCK_MONOTONIC, async-signal-safe.
pub(super) fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// See [`super::ThreadClock`]: the thread's CPU clock id.
#[derive(Debug, Clone, Copy)]
pub(super) struct ThreadClock {
    /// The `pthread_t`, as an integer: a pointer on macOS, which would make the clock !Send.
    thread: usize,
}

impl ThreadClock {
    pub(super) fn current() -> ThreadClock {
        // SAFETY: pthread_self has no preconditions.
        ThreadClock {
            thread: unsafe { libc::pthread_self() } as usize,
        }
    }

    pub(super) fn is_current(&self) -> bool {
        // SAFETY: pthread_self has no preconditions; pthread_equal compares two ids.
        unsafe { libc::pthread_equal(self.thread as libc::pthread_t, libc::pthread_self()) != 0 }
    }

    /// Linux: the thread's CPU clock id (pthread_getcpuclockid).
    #[cfg(target_os = "linux")]
    pub(super) fn cpu_ns(&self) -> u64 {
        let mut clock: libc::clockid_t = 0;
        // SAFETY: the caller keeps the thread alive while it reads (see `super::ThreadClock`);
        // `clock` is a valid place to write.
        if unsafe { libc::pthread_getcpuclockid(self.thread as libc::pthread_t, &mut clock) } != 0 {
            return 0;
        }
        clock_ns(clock)
    }

    /// macOS has no per-thread clock id for another thread: thread_info(THREAD_BASIC_INFO)
    /// on its Mach port gives its user and system time, to the microsecond.
    #[cfg(target_os = "macos")]
    pub(super) fn cpu_ns(&self) -> u64 {
        // SAFETY: the caller keeps the thread alive while it reads; `info` is a zeroed plain
        // C struct and `count` its size in integers, as thread_info expects.
        unsafe {
            let port = libc::pthread_mach_thread_np(self.thread as libc::pthread_t);
            let mut info: libc::thread_basic_info = std::mem::zeroed();
            let mut count = libc::THREAD_BASIC_INFO_COUNT;
            let rc = libc::thread_info(
                port,
                libc::THREAD_BASIC_INFO as libc::thread_flavor_t,
                (&raw mut info).cast(),
                &mut count,
            );
            if rc != 0 {
                return 0;
            }
            let micros = |t: libc::time_value_t| {
                u64::try_from(t.seconds).unwrap_or(0) * 1_000_000
                    + u64::try_from(t.microseconds).unwrap_or(0)
            };
            (micros(info.user_time) + micros(info.system_time)) * 1000
        }
    }
}

/// See [`super::own_process_group`]: setpgid(0, 0) in the child.
pub(super) fn own_process_group(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt as _;
    command.process_group(0);
}

/// See [`super::kill_process`]: SIGKILL.
pub(super) fn kill_process(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// See [`super::kill_tree`]: SIGKILL to the whole process group.
pub(super) fn kill_tree(leader: u32) {
    if let Ok(pgid) = libc::pid_t::try_from(leader) {
        // SAFETY: as in kill_process, for a group.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
}

/// See [`super::terminate_tree`]: SIGTERM to the whole process group.
pub(super) fn terminate_tree(leader: u32) {
    if let Ok(pgid) = libc::pid_t::try_from(leader) {
        // SAFETY: as in kill_process, for a group.
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
    }
}

/// See [`super::has_exited`]: waitid(WNOWAIT | WNOHANG), which leaves the child waitable.
pub(super) fn has_exited(pid: u32) -> bool {
    let pid: libc::id_t = pid;
    // SAFETY: waitid writes only into `info`, a zeroed siginfo_t we own; WNOWAIT leaves the
    // child waitable for its owner.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let rc = libc::waitid(
            libc::P_PID,
            pid,
            &mut info,
            libc::WEXITED | libc::WNOWAIT | libc::WNOHANG,
        );
        rc != 0 || info.si_pid() != 0
    }
}

/// See [`super::exit_signal`].
pub(super) fn exit_signal(status: &std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt as _;
    status.signal()
}

/// See [`super::ExitWatch`]: a pidfd where the kernel gives one (Linux 5.3+), else nothing
/// and the wait is a plain sleep.
#[derive(Debug)]
pub(super) struct ExitWatch {
    fd: Option<std::os::fd::OwnedFd>,
}

impl ExitWatch {
    pub(super) fn new(pid: u32) -> ExitWatch {
        ExitWatch {
            fd: libc::pid_t::try_from(pid).ok().and_then(super::exit_fd),
        }
    }

    pub(super) fn wait(&self, timeout: std::time::Duration) {
        use std::os::fd::AsRawFd as _;
        let Some(fd) = &self.fd else {
            std::thread::sleep(timeout);
            return;
        };
        let mut fds = [libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        let millis = libc::c_int::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(5);
        // SAFETY: `fds` is a valid array of one pollfd struct for the whole call.
        unsafe {
            libc::poll(fds.as_mut_ptr(), 1, millis);
        }
    }
}

/// See [`super::stderr_copy`].
pub(super) fn stderr_copy() -> std::io::Result<std::process::Stdio> {
    use std::os::fd::AsFd as _;
    Ok(std::io::stderr().as_fd().try_clone_to_owned()?.into())
}

/// See [`super::stdin_stdout_files`].
pub(super) fn stdin_stdout_files() -> std::io::Result<(std::fs::File, std::fs::File)> {
    use std::os::fd::AsFd as _;
    let stdin = std::io::stdin().as_fd().try_clone_to_owned()?;
    let stdout = std::io::stdout().as_fd().try_clone_to_owned()?;
    Ok((stdin.into(), stdout.into()))
}
