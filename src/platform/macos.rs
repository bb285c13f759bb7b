//! macOS readings: the POSIX calls of `unix.rs`, `proc_pidinfo(PROC_PIDTASKINFO)` for the
//! resident and virtual size and the thread count, `host_statistics(HOST_CPU_LOAD_INFO)` for
//! all CPUs' busy time, sysinfo for the memory available, and a kqueue on the parent as the
//! worker's lifeline. macOS cannot reset a peak-RSS watermark: the peak is the lifetime one.
//! Nothing here may read /proc (there is none) or call a Linux-only API.

use std::path::Path;

use super::{ProcessReading, Unmeasured, unix};

pub(super) const NAME: &str = "macOS";

pub(super) const UNMEASURED: &[Unmeasured] = &[Unmeasured {
    figure: "peak_rss_reset",
    reason: "macOS cannot reset the peak resident size, so a trial's peak is the process's lifetime peak (ru_maxrss)",
}];

/// `fork` exists but CPython has defaulted to `spawn` since 3.8: forking a process that has
/// threads (the Objective-C runtime's among them) can crash the child. It stays allowed.
pub(super) const PYTHON_START_METHODS: &[&str] = &["spawn", "fork", "forkserver"];

pub(super) fn thread_cpu_ns() -> u64 {
    unix::clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

pub(super) fn process_cpu_ns() -> u64 {
    unix::clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID)
}

pub(super) fn process_reading() -> Option<ProcessReading> {
    // ru_maxrss is in bytes on macOS (getrusage(2) of Darwin), not KiB as on Linux.
    unix::process_reading(1)
}

pub(super) fn children_cpu_ns() -> Option<u64> {
    unix::children_cpu_ns()
}

pub(super) fn reset_peak_rss() -> bool {
    false
}

pub(super) fn peak_rss_bytes() -> Option<u64> {
    process_reading().and_then(|r| r.max_rss_bytes)
}

pub(super) fn current_rss_bytes() -> Option<u64> {
    task_info().map(|info| info.pti_resident_size)
}

pub(super) fn thread_count() -> Option<u64> {
    task_info().and_then(|info| u64::try_from(info.pti_threadnum).ok())
}

pub(super) fn address_space_used_bytes() -> Option<u64> {
    task_info().map(|info| info.pti_virtual_size)
}

pub(super) fn address_space_limit_bytes() -> Option<u64> {
    unix::address_space_limit_bytes()
}

pub(super) fn online_cpus() -> usize {
    unix::online_cpus()
}

pub(super) fn available_memory_bytes() -> Option<u64> {
    memory().map(|(available, _)| available)
}

pub(super) fn total_memory_bytes() -> Option<u64> {
    memory().map(|(_, total)| total)
}

pub(super) fn free_disk_bytes(path: &Path) -> Option<u64> {
    unix::free_disk_bytes(path)
}

/// All CPUs' ticks since boot as a `/proc/stat` `cpu ` line: user, nice, system, idle.
pub(super) fn cpu_stat_text() -> Option<String> {
    let mut load = libc::host_cpu_load_info {
        cpu_ticks: [0; libc::CPU_STATE_MAX as usize],
    };
    let mut count = libc::HOST_CPU_LOAD_INFO_COUNT;
    // SAFETY: mach_host_self has no preconditions; host_statistics writes at most `count`
    // integers into `load`, which holds exactly HOST_CPU_LOAD_INFO_COUNT of them.
    let rc = unsafe {
        libc::host_statistics(
            mach2::mach_init::mach_host_self(),
            libc::HOST_CPU_LOAD_INFO,
            (&mut load as *mut libc::host_cpu_load_info).cast(),
            &mut count,
        )
    };
    if rc != libc::KERN_SUCCESS {
        return None;
    }
    let tick = |state: libc::c_int| {
        usize::try_from(state)
            .ok()
            .and_then(|i| load.cpu_ticks.get(i))
            .map_or(0, |t| u64::from(*t))
    };
    Some(format!(
        "cpu  {} {} {} {} 0 0 0 0\n",
        tick(libc::CPU_STATE_USER),
        tick(libc::CPU_STATE_NICE),
        tick(libc::CPU_STATE_SYSTEM),
        tick(libc::CPU_STATE_IDLE)
    ))
}

pub(super) fn cpu_ticks_per_s() -> f64 {
    unix::ticks_per_s()
}

/// Checks the parent now, then blocks a `pooltune-lifeline` thread on a kqueue that fires
/// when the parent exits (EVFILT_PROC, NOTE_EXIT) and kills this process, as Linux's
/// PR_SET_PDEATHSIG would. macOS follows the parent process, not its thread.
pub(super) fn die_with_parent(parent_pid: Option<u32>) -> bool {
    if !unix::parent_is(parent_pid) {
        return false;
    }
    let Some(parent) = parent_pid.and_then(|p| libc::pid_t::try_from(p).ok()) else {
        return true;
    };
    // SAFETY: kqueue takes no arguments and returns a new descriptor or -1.
    let queue = unsafe { libc::kqueue() };
    if queue < 0 {
        return true; // stdin closing is still the lifeline
    }
    // SAFETY: an all-zero kevent is valid; the fields the call reads are set below.
    let mut change: libc::kevent = unsafe { std::mem::zeroed() };
    change.ident = parent as libc::uintptr_t;
    change.filter = libc::EVFILT_PROC;
    change.flags = libc::EV_ADD | libc::EV_ONESHOT;
    change.fflags = libc::NOTE_EXIT;
    // SAFETY: one valid change in, no events out; `queue` is ours.
    let registered =
        unsafe { libc::kevent(queue, &change, 1, std::ptr::null_mut(), 0, std::ptr::null()) };
    if registered < 0 {
        // ESRCH: the parent exited between getppid and kevent.
        return std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH);
    }
    let watcher = crate::engine::named_thread("pooltune-lifeline", move || {
        // SAFETY: an all-zero kevent is a valid buffer for kevent to fill.
        let mut event: libc::kevent = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: no changes in, room for one event out; blocks until the parent exits.
            let n = unsafe {
                libc::kevent(queue, std::ptr::null(), 0, &mut event, 1, std::ptr::null())
            };
            if n > 0 {
                // SAFETY: kill and getpid have no memory arguments.
                unsafe {
                    libc::kill(libc::getpid(), libc::SIGKILL);
                }
            }
            if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                return;
            }
        }
    });
    drop(watcher);
    true
}

/// This process's `proc_taskinfo` (resident and virtual size, threads).
fn task_info() -> Option<libc::proc_taskinfo> {
    // SAFETY: an all-zero proc_taskinfo is a valid buffer for proc_pidinfo to fill.
    let mut info: libc::proc_taskinfo = unsafe { std::mem::zeroed() };
    let size = libc::c_int::try_from(std::mem::size_of::<libc::proc_taskinfo>()).ok()?;
    // SAFETY: proc_pidinfo writes at most `size` bytes into `info`, which is that large.
    let written = unsafe {
        libc::proc_pidinfo(
            libc::getpid(),
            libc::PROC_PIDTASKINFO,
            0,
            (&mut info as *mut libc::proc_taskinfo).cast(),
            size,
        )
    };
    (written == size).then_some(info)
}

/// (available, total) memory in bytes as sysinfo reads them (host_statistics64 VM pages).
fn memory() -> Option<(u64, u64)> {
    let mut system = sysinfo::System::new().ok()?;
    system.refresh_memory_specifics(sysinfo::MemoryRefreshKind::nothing().with_ram());
    let total = system.total_memory();
    (total > 0).then(|| (system.available_memory(), total))
}

/// macOS has no pidfd; a kqueue could stand in but whether poll(2) reports one readable is
/// not promised, so the waiter sleeps briefly between checks instead.
pub(super) fn exit_fd(_pid: libc::pid_t) -> Option<std::os::fd::OwnedFd> {
    None
}
