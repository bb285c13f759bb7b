//! Windows readings: `GetThreadTimes` and `GetProcessTimes` for CPU time,
//! `GetProcessMemoryInfo` for the working set and its peak, `GlobalMemoryStatusEx`,
//! `GetDiskFreeSpaceExW`, `GetSystemTimes` for all CPUs' busy time, and a wait on the parent's
//! process handle as the worker's lifeline. Windows keeps no context-switch count per process,
//! no total of ended children's CPU and no resettable peak: those are None with the reasons in
//! [`UNMEASURED`]. Nothing here may use a POSIX call.

use std::os::windows::ffi::OsStrExt as _;
use std::path::Path;

use windows_sys::Win32::Foundation::{CloseHandle, FILETIME, HANDLE, WAIT_OBJECT_0};
use windows_sys::Win32::Storage::FileSystem::GetDiskFreeSpaceExW;
use windows_sys::Win32::System::ProcessStatus::{GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS};
use windows_sys::Win32::System::SystemInformation::{GlobalMemoryStatusEx, MEMORYSTATUSEX};
use windows_sys::Win32::System::Threading::{
    ALL_PROCESSOR_GROUPS, GetActiveProcessorCount, GetCurrentProcess, GetCurrentThread,
    GetProcessTimes, GetSystemTimes, GetThreadTimes, INFINITE, OpenProcess, PROCESS_SYNCHRONIZE,
    WaitForSingleObject,
};

use super::{ProcessReading, Unmeasured};

pub(super) const NAME: &str = "Windows";

pub(super) const UNMEASURED: &[Unmeasured] = &[
    Unmeasured {
        figure: "voluntary_switches",
        reason: "Windows counts context switches per thread only, without voluntary and involuntary apart",
    },
    Unmeasured {
        figure: "involuntary_switches",
        reason: "Windows counts context switches per thread only, without voluntary and involuntary apart",
    },
    Unmeasured {
        figure: "children_cpu_ns",
        reason: "Windows keeps no total of ended children's CPU time (getrusage RUSAGE_CHILDREN)",
    },
    Unmeasured {
        figure: "thread_count",
        reason: "counting a process's threads needs a Toolhelp snapshot of every thread on the machine",
    },
    Unmeasured {
        figure: "address_space_used_bytes",
        reason: "Windows has no address-space limit (ulimit -v) to compare it with",
    },
    Unmeasured {
        figure: "peak_rss_reset",
        reason: "Windows cannot reset the peak working set, so a trial's peak is the process's lifetime peak (PeakWorkingSetSize)",
    },
];

/// No fork on Windows: CPython offers only `spawn` there.
pub(super) const PYTHON_START_METHODS: &[&str] = &["spawn"];

/// A FILETIME (100 ns units) in nanoseconds.
fn filetime_ns(time: FILETIME) -> u64 {
    ((u64::from(time.dwHighDateTime) << 32) | u64::from(time.dwLowDateTime)).saturating_mul(100)
}

const ZERO: FILETIME = FILETIME {
    dwLowDateTime: 0,
    dwHighDateTime: 0,
};

pub(super) fn thread_cpu_ns() -> u64 {
    let (mut created, mut exited, mut kernel, mut user) = (ZERO, ZERO, ZERO, ZERO);
    // SAFETY: GetCurrentThread returns a pseudo-handle that needs no closing; the four
    // FILETIMEs are ours to write.
    let ok = unsafe {
        GetThreadTimes(
            GetCurrentThread(),
            &mut created,
            &mut exited,
            &mut kernel,
            &mut user,
        )
    };
    if ok == 0 {
        return 0;
    }
    filetime_ns(kernel) + filetime_ns(user)
}

pub(super) fn process_cpu_ns() -> u64 {
    let (mut created, mut exited, mut kernel, mut user) = (ZERO, ZERO, ZERO, ZERO);
    // SAFETY: as in thread_cpu_ns, with the process pseudo-handle.
    let ok = unsafe {
        GetProcessTimes(
            GetCurrentProcess(),
            &mut created,
            &mut exited,
            &mut kernel,
            &mut user,
        )
    };
    if ok == 0 {
        return 0;
    }
    filetime_ns(kernel) + filetime_ns(user)
}

fn memory_counters() -> Option<PROCESS_MEMORY_COUNTERS> {
    // SAFETY: an all-zero PROCESS_MEMORY_COUNTERS is valid; cb says how large it is.
    let mut counters: PROCESS_MEMORY_COUNTERS = unsafe { std::mem::zeroed() };
    let size = u32::try_from(std::mem::size_of::<PROCESS_MEMORY_COUNTERS>()).ok()?;
    counters.cb = size;
    // SAFETY: the call writes at most `size` bytes into `counters`.
    let ok = unsafe { GetProcessMemoryInfo(GetCurrentProcess(), &mut counters, size) };
    (ok != 0).then_some(counters)
}

pub(super) fn process_reading() -> Option<ProcessReading> {
    Some(ProcessReading {
        cpu_ns: process_cpu_ns(),
        voluntary_switches: None,
        involuntary_switches: None,
        max_rss_bytes: peak_rss_bytes(),
    })
}

pub(super) fn children_cpu_ns() -> Option<u64> {
    None
}

pub(super) fn reset_peak_rss() -> bool {
    false
}

pub(super) fn peak_rss_bytes() -> Option<u64> {
    memory_counters().and_then(|c| u64::try_from(c.PeakWorkingSetSize).ok())
}

pub(super) fn current_rss_bytes() -> Option<u64> {
    memory_counters().and_then(|c| u64::try_from(c.WorkingSetSize).ok())
}

pub(super) fn thread_count() -> Option<u64> {
    None
}

pub(super) fn address_space_used_bytes() -> Option<u64> {
    None
}

pub(super) fn address_space_limit_bytes() -> Option<u64> {
    None
}

pub(super) fn online_cpus() -> usize {
    // SAFETY: no preconditions; ALL_PROCESSOR_GROUPS counts every group (more than 64 CPUs).
    let n = unsafe { GetActiveProcessorCount(ALL_PROCESSOR_GROUPS) };
    usize::try_from(n).unwrap_or(1)
}

fn memory_status() -> Option<MEMORYSTATUSEX> {
    // SAFETY: an all-zero MEMORYSTATUSEX is valid once dwLength is set.
    let mut status: MEMORYSTATUSEX = unsafe { std::mem::zeroed() };
    status.dwLength = u32::try_from(std::mem::size_of::<MEMORYSTATUSEX>()).ok()?;
    // SAFETY: the call fills `status`, whose dwLength says its size.
    let ok = unsafe { GlobalMemoryStatusEx(&mut status) };
    (ok != 0).then_some(status)
}

pub(super) fn available_memory_bytes() -> Option<u64> {
    memory_status().map(|s| s.ullAvailPhys)
}

pub(super) fn total_memory_bytes() -> Option<u64> {
    memory_status().map(|s| s.ullTotalPhys)
}

pub(super) fn free_disk_bytes(path: &Path) -> Option<u64> {
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain([0]).collect();
    let mut available: u64 = 0;
    // SAFETY: `wide` is NUL-terminated; the two totals we do not want may be null.
    let ok = unsafe {
        GetDiskFreeSpaceExW(
            wide.as_ptr(),
            &mut available,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    (ok != 0).then_some(available)
}

/// All CPUs' time since boot as a `/proc/stat` `cpu ` line in 100 ns ticks: user, nice (0),
/// system (kernel time minus idle, which GetSystemTimes counts inside kernel time), idle.
pub(super) fn cpu_stat_text() -> Option<String> {
    let (mut idle, mut kernel, mut user) = (ZERO, ZERO, ZERO);
    // SAFETY: the three FILETIMEs are ours to write.
    let ok = unsafe { GetSystemTimes(&mut idle, &mut kernel, &mut user) };
    if ok == 0 {
        return None;
    }
    let ticks = |t: FILETIME| filetime_ns(t) / 100;
    let system = ticks(kernel).saturating_sub(ticks(idle));
    Some(format!(
        "cpu  {} 0 {} {} 0 0 0 0\n",
        ticks(user),
        system,
        ticks(idle)
    ))
}

pub(super) fn cpu_ticks_per_s() -> f64 {
    1e7
}

/// Opens the parent with SYNCHRONIZE and blocks a `pooltune-lifeline` thread on its handle;
/// when it signals (the parent exited) this process exits, as Linux's PR_SET_PDEATHSIG would.
pub(super) fn die_with_parent(parent_pid: Option<u32>) -> bool {
    let Some(parent) = parent_pid else {
        return true;
    };
    // SAFETY: OpenProcess takes plain values and returns a handle or null.
    let handle: HANDLE = unsafe { OpenProcess(PROCESS_SYNCHRONIZE, 0, parent) };
    if handle.is_null() {
        return false; // the parent is gone (or never was ours)
    }
    // A HANDLE is a pointer; the thread owns it from here and closes it.
    let raw = handle as usize;
    let watcher = crate::engine::named_thread("pooltune-lifeline", move || {
        let handle = raw as HANDLE;
        // SAFETY: `handle` is a valid process handle owned by this thread.
        let waited = unsafe { WaitForSingleObject(handle, INFINITE) };
        // SAFETY: closed once, here.
        unsafe { CloseHandle(handle) };
        if waited == WAIT_OBJECT_0 {
            std::process::exit(1);
        }
    });
    drop(watcher);
    true
}
