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
    // SAFETY: GetCurrentThread returns a pseudo-handle that needs no closing.
    thread_times_ns(unsafe { GetCurrentThread() })
}

/// Kernel plus user time of the thread `handle` refers to, in nanoseconds; 0 if the call
/// fails.
fn thread_times_ns(handle: HANDLE) -> u64 {
    let (mut created, mut exited, mut kernel, mut user) = (ZERO, ZERO, ZERO, ZERO);
    // SAFETY: `handle` is a thread handle valid for the call (the caller's); the four
    // FILETIMEs are ours to write.
    let ok = unsafe { GetThreadTimes(handle, &mut created, &mut exited, &mut kernel, &mut user) };
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

// ---- Files, terminals, processes and thread clocks (the Windows side of `super`'s wrappers).

/// See [`super::create_new_file`]: Windows has no mode bits; the folder's ACL applies.
pub(super) fn create_new_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// See [`super::copy_permissions`]: the read-only flag, all Windows keeps in `Permissions`.
pub(super) fn copy_permissions(
    file: &std::fs::File,
    existing: &std::fs::Permissions,
) -> std::io::Result<()> {
    file.set_permissions(existing.clone())
}

/// The extensions Windows runs as programs (the default `PATHEXT` ones that need no host).
const EXECUTABLE_EXTENSIONS: [&str; 4] = ["exe", "com", "bat", "cmd"];

/// See [`super::is_executable`]: Windows runs a file by its extension, not a mode bit.
pub(super) fn is_executable(path: &Path, _metadata: &std::fs::Metadata) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        EXECUTABLE_EXTENSIONS
            .iter()
            .any(|x| x.eq_ignore_ascii_case(e))
    })
}

/// See [`super::process_is_alive`]: a process handle that can be opened and has no exit code.
pub(super) fn process_is_alive(pid: u32) -> bool {
    // SAFETY: OpenProcess takes plain values and returns a handle or null.
    let handle: HANDLE = unsafe {
        OpenProcess(
            windows_sys::Win32::System::Threading::PROCESS_QUERY_LIMITED_INFORMATION,
            0,
            pid,
        )
    };
    if handle.is_null() {
        // Gone, or another user's (access denied): only a process we may see counts.
        return std::io::Error::last_os_error().raw_os_error() == Some(5);
    }
    let mut code = 0u32;
    // SAFETY: `handle` is a valid process handle; `code` is ours to write; closed once.
    unsafe {
        let ok = windows_sys::Win32::System::Threading::GetExitCodeProcess(handle, &mut code);
        CloseHandle(handle);
        ok != 0 && code == windows_sys::Win32::Foundation::STILL_ACTIVE as u32
    }
}

/// See [`super::name_max`]: NTFS and ReFS allow 255 UTF-16 units.
pub(super) fn name_max(_folder: &Path) -> Option<usize> {
    Some(255)
}

/// See [`super::terminal_columns`]: the console window's width.
pub(super) fn terminal_columns(stream: super::Stream) -> Option<usize> {
    use windows_sys::Win32::System::Console::{
        CONSOLE_SCREEN_BUFFER_INFO, GetConsoleScreenBufferInfo, GetStdHandle, STD_ERROR_HANDLE,
        STD_OUTPUT_HANDLE,
    };
    let which = match stream {
        super::Stream::Stdout => STD_OUTPUT_HANDLE,
        super::Stream::Stderr => STD_ERROR_HANDLE,
    };
    // SAFETY: GetStdHandle takes a constant; the info struct is ours to write (all-zero is a
    // valid value of it).
    unsafe {
        let handle = GetStdHandle(which);
        if handle.is_null() || handle == windows_sys::Win32::Foundation::INVALID_HANDLE_VALUE {
            return None;
        }
        let mut info: CONSOLE_SCREEN_BUFFER_INFO = std::mem::zeroed();
        if GetConsoleScreenBufferInfo(handle, &mut info) == 0 {
            return None;
        }
        let columns = i32::from(info.srWindow.Right) - i32::from(info.srWindow.Left) + 1;
        usize::try_from(columns).ok().filter(|&c| c > 0)
    }
}

/// See [`super::monotonic_ns`]: GetTickCount64, in milliseconds, as nanoseconds.
pub(super) fn monotonic_ns() -> u64 {
    // SAFETY: no arguments, no preconditions.
    unsafe { windows_sys::Win32::System::SystemInformation::GetTickCount64() }
        .saturating_mul(1_000_000)
}

/// See [`super::ThreadClock`]: a real handle to the thread (GetCurrentThread's is a
/// pseudo-handle that means "the caller"), kept open while the clock lives.
#[derive(Debug)]
pub(super) struct ThreadClock {
    /// The duplicated thread handle, as an integer so that the clock is Send.
    handle: usize,
    thread_id: u32,
}

impl ThreadClock {
    pub(super) fn current() -> ThreadClock {
        use windows_sys::Win32::Foundation::{DUPLICATE_SAME_ACCESS, DuplicateHandle};
        let mut handle: HANDLE = std::ptr::null_mut();
        // SAFETY: the pseudo-handles need no closing; `handle` is ours to write.
        let ok = unsafe {
            DuplicateHandle(
                GetCurrentProcess(),
                GetCurrentThread(),
                GetCurrentProcess(),
                &mut handle,
                0,
                0,
                DUPLICATE_SAME_ACCESS,
            )
        };
        ThreadClock {
            handle: if ok == 0 { 0 } else { handle as usize },
            // SAFETY: no arguments, no preconditions.
            thread_id: unsafe { windows_sys::Win32::System::Threading::GetCurrentThreadId() },
        }
    }

    pub(super) fn is_current(&self) -> bool {
        // SAFETY: no arguments, no preconditions.
        self.thread_id == unsafe { windows_sys::Win32::System::Threading::GetCurrentThreadId() }
    }

    pub(super) fn cpu_ns(&self) -> u64 {
        if self.handle == 0 {
            return 0;
        }
        // The handle is this clock's, open until it is dropped.
        thread_times_ns(self.handle as HANDLE)
    }
}

impl Drop for ThreadClock {
    fn drop(&mut self) {
        if self.handle != 0 {
            // SAFETY: the handle was duplicated for this clock and is closed once, here.
            unsafe { CloseHandle(self.handle as HANDLE) };
        }
    }
}

/// The Job Objects of the trees pooltune started, by their leader's process id: closing or
/// terminating one ends every process in it (see [`own_process_group`]).
static JOBS: std::sync::Mutex<Vec<(u32, usize)>> = std::sync::Mutex::new(Vec::new());

/// See [`super::own_process_group`]: a console process group of its own (so a Ctrl-C meant
/// for pooltune is not also the child's); the tree is contained by [`contain_tree`] once the
/// child exists.
pub(super) fn own_process_group(command: &mut std::process::Command) {
    use std::os::windows::process::CommandExt as _;
    command.creation_flags(windows_sys::Win32::System::Threading::CREATE_NEW_PROCESS_GROUP);
}

/// See [`super::contain_tree`]: a Job Object with KILL_ON_JOB_CLOSE holds the child and
/// everything it starts from now on; terminating the job ends them all, and if pooltune dies
/// the system closes the job's handle and ends them too (the lifeline Linux gets from
/// PR_SET_PDEATHSIG). What the child started before it was assigned (a few microseconds
/// after spawn) is outside the job.
pub(super) fn contain_tree(child: &std::process::Child) -> bool {
    use std::os::windows::io::AsRawHandle as _;
    use windows_sys::Win32::System::JobObjects::{
        AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
        JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation,
        SetInformationJobObject,
    };
    // SAFETY: a job without attributes or name; the limit struct is ours (all-zero is valid);
    // the child's handle is valid while `child` lives; the job handle is kept in JOBS and
    // closed once, by `release_tree`.
    unsafe {
        let job = CreateJobObjectW(std::ptr::null(), std::ptr::null());
        if job.is_null() {
            return false;
        }
        let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        let limited = SetInformationJobObject(
            job,
            JobObjectExtendedLimitInformation,
            (&raw const limits).cast(),
            std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        );
        if limited == 0 || AssignProcessToJobObject(job, child.as_raw_handle() as HANDLE) == 0 {
            CloseHandle(job);
            return false;
        }
        JOBS.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((child.id(), job as usize));
    }
    true
}

/// See [`super::release_tree`]: closes the job's handle (which ends what is left in it).
pub(super) fn release_tree(leader: u32) {
    let mut jobs = JOBS.lock().unwrap_or_else(|p| p.into_inner());
    jobs.retain(|&(pid, job)| {
        if pid == leader {
            // SAFETY: the job handle was created by contain_tree and is closed once, here.
            unsafe { CloseHandle(job as HANDLE) };
        }
        pid != leader
    });
}

/// See [`super::kill_process`]: TerminateProcess.
pub(super) fn kill_process(pid: u32) {
    use windows_sys::Win32::System::Threading::{PROCESS_TERMINATE, TerminateProcess};
    // SAFETY: OpenProcess takes plain values; the handle is used once and closed.
    unsafe {
        let handle = OpenProcess(PROCESS_TERMINATE, 0, pid);
        if !handle.is_null() {
            TerminateProcess(handle, 1);
            CloseHandle(handle);
        }
    }
}

/// See [`super::kill_tree`]: terminates the leader's Job Object (every process in it), or
/// the leader alone when it has none.
pub(super) fn kill_tree(leader: u32) {
    let job = JOBS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .find(|&&(pid, _)| pid == leader)
        .map(|&(_, job)| job);
    match job {
        // SAFETY: the job handle is open until release_tree removes it from JOBS.
        Some(job) => unsafe {
            windows_sys::Win32::System::JobObjects::TerminateJobObject(job as HANDLE, 1);
        },
        None => kill_process(leader),
    }
}

/// See [`super::terminate_tree`]: Windows has no SIGTERM for a console program that is not
/// attached to a console of ours; the tree is ended at once.
pub(super) fn terminate_tree(leader: u32) {
    kill_tree(leader);
}

/// See [`super::has_exited`]: the process's handle is signalled (or it cannot be opened).
pub(super) fn has_exited(pid: u32) -> bool {
    // SAFETY: OpenProcess takes plain values; the handle is waited on once and closed.
    unsafe {
        let handle = OpenProcess(PROCESS_SYNCHRONIZE, 0, pid);
        if handle.is_null() {
            return true;
        }
        let waited = WaitForSingleObject(handle, 0);
        CloseHandle(handle);
        waited == WAIT_OBJECT_0
    }
}

/// See [`super::exit_signal`]: Windows programs end with a code, never a signal.
pub(super) fn exit_signal(_status: &std::process::ExitStatus) -> Option<i32> {
    None
}

/// See [`super::ExitWatch`]: the process's handle, signalled when it exits.
#[derive(Debug)]
pub(super) struct ExitWatch {
    /// The handle (SYNCHRONIZE), as an integer so that the watch is Send; 0 when it could not
    /// be opened (the wait is then a plain sleep).
    handle: usize,
}

impl ExitWatch {
    pub(super) fn new(pid: u32) -> ExitWatch {
        // SAFETY: OpenProcess takes plain values and returns a handle or null.
        let handle = unsafe { OpenProcess(PROCESS_SYNCHRONIZE, 0, pid) };
        ExitWatch {
            handle: handle as usize,
        }
    }

    pub(super) fn wait(&self, timeout: std::time::Duration) {
        if self.handle == 0 {
            std::thread::sleep(timeout);
            return;
        }
        let millis = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX - 1);
        // SAFETY: the handle is open until Drop.
        unsafe { WaitForSingleObject(self.handle as HANDLE, millis) };
    }
}

impl Drop for ExitWatch {
    fn drop(&mut self) {
        if self.handle != 0 {
            // SAFETY: opened by `new`, closed once, here.
            unsafe { CloseHandle(self.handle as HANDLE) };
        }
    }
}

/// See [`super::stderr_copy`].
pub(super) fn stderr_copy() -> std::io::Result<std::process::Stdio> {
    use std::os::windows::io::AsHandle as _;
    Ok(std::io::stderr().as_handle().try_clone_to_owned()?.into())
}

/// See [`super::stdin_stdout_files`].
pub(super) fn stdin_stdout_files() -> std::io::Result<(std::fs::File, std::fs::File)> {
    use std::os::windows::io::AsHandle as _;
    let stdin = std::io::stdin().as_handle().try_clone_to_owned()?;
    let stdout = std::io::stdout().as_handle().try_clone_to_owned()?;
    Ok((stdin.into(), stdout.into()))
}

/// See [`super::ChildUsage`]: GetProcessTimes and GetProcessMemoryInfo on the child's handle.
pub(super) fn child_usage(child: &std::process::Child) -> super::ChildUsage {
    use std::os::windows::io::AsRawHandle as _;
    let handle = child.as_raw_handle() as HANDLE;
    let (mut created, mut exited, mut kernel, mut user) = (ZERO, ZERO, ZERO, ZERO);
    // SAFETY: `handle` is the child's, open while `child` lives; the FILETIMEs are ours.
    let timed =
        unsafe { GetProcessTimes(handle, &mut created, &mut exited, &mut kernel, &mut user) };
    // SAFETY: an all-zero PROCESS_MEMORY_COUNTERS is valid; cb says its size.
    let peak = unsafe {
        let mut counters: PROCESS_MEMORY_COUNTERS = std::mem::zeroed();
        counters.cb = std::mem::size_of::<PROCESS_MEMORY_COUNTERS>() as u32;
        (GetProcessMemoryInfo(handle, &mut counters, counters.cb) != 0)
            .then_some(counters.PeakWorkingSetSize as u64)
    };
    super::ChildUsage {
        user_ns: if timed == 0 { 0 } else { filetime_ns(user) },
        system_ns: if timed == 0 { 0 } else { filetime_ns(kernel) },
        peak_rss_bytes: peak,
    }
}
