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

pub mod procfs;
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

// ---- Files, terminals, processes and thread clocks: one wrapper each over the POSIX
// (`unix.rs`) or Windows (`windows.rs`) call.

#[cfg(unix)]
use unix as family;
#[cfg(windows)]
use windows as family;

/// Creates a new file at `path` for writing, failing if one exists: mode 0666 minus the umask
/// on Unix (like any file a program creates; a temporary file's 0600 is for secrets), the
/// folder's ACL on Windows.
pub fn create_new_file(path: &Path) -> std::io::Result<std::fs::File> {
    family::create_new_file(path)
}

/// Gives `file` the permissions `existing` had (a replaced file keeps them): the mode bits on
/// Unix, the read-only flag on Windows.
pub fn copy_permissions(
    file: &std::fs::File,
    existing: &std::fs::Permissions,
) -> std::io::Result<()> {
    family::copy_permissions(file, existing)
}

/// True when the file at `path` (whose metadata is `metadata`) may be run as a program: an
/// execute bit on Unix, an `.exe`, `.com`, `.bat` or `.cmd` name on Windows.
pub fn is_executable(path: &Path, metadata: &std::fs::Metadata) -> bool {
    family::is_executable(path, metadata)
}

/// True when a process with this id exists (on Unix it may belong to another user).
pub fn process_is_alive(pid: u32) -> bool {
    family::process_is_alive(pid)
}

/// The longest file name the file system of `folder` allows; None when it does not say.
pub fn name_max(folder: &Path) -> Option<usize> {
    family::name_max(folder)
}

/// A standard stream, for [`terminal_columns`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// The column count of the terminal `stream` writes to; None when it is not a terminal.
pub fn terminal_columns(stream: Stream) -> Option<usize> {
    family::terminal_columns(stream)
}

/// A monotonic clock in nanoseconds that is safe to read in a signal handler (Unix
/// CLOCK_MONOTONIC; Windows GetTickCount64, whose Ctrl-C handler runs on a thread); 0 if it
/// cannot be read.
pub fn monotonic_ns() -> u64 {
    family::monotonic_ns()
}

/// The CPU clock of one thread, taken on that thread and read from any other: how the async
/// pool sums its runtime's worker threads. Read it only while the thread lives (its owner
/// drops the clock, under a lock, before the thread exits).
#[derive(Debug)]
pub struct ThreadClock(family::ThreadClock);

impl ThreadClock {
    /// The calling thread's clock.
    pub fn current() -> ThreadClock {
        ThreadClock(family::ThreadClock::current())
    }

    /// True when this is the calling thread's clock.
    pub fn is_current(&self) -> bool {
        self.0.is_current()
    }

    /// The thread's CPU time so far, in nanoseconds; 0 if it cannot be read.
    pub fn cpu_ns(&self) -> u64 {
        self.0.cpu_ns()
    }
}

/// Starts the child `command` will spawn in a process group of its own (Unix `setpgid(0, 0)`;
/// Windows `CREATE_NEW_PROCESS_GROUP`), so that [`kill_tree`] reaches all it starts. On Windows
/// call [`contain_tree`] once it is spawned.
pub fn own_process_group(command: &mut std::process::Command) {
    family::own_process_group(command);
}

/// Puts a just-spawned `child` and all it will start in a container that [`kill_tree`] ends as
/// one: a Job Object on Windows (ended also if pooltune dies); on Unix the process group of
/// [`own_process_group`] already is one, and this does nothing. False if it could not be made.
pub fn contain_tree(child: &std::process::Child) -> bool {
    #[cfg(windows)]
    return windows::contain_tree(child);
    #[cfg(unix)]
    {
        let _ = child;
        true
    }
}

/// Forgets the container of the tree led by `leader` once the leader is reaped (Windows
/// closes the job's handle, ending what is left in it; nothing on Unix).
pub fn release_tree(leader: u32) {
    #[cfg(windows)]
    windows::release_tree(leader);
    #[cfg(unix)]
    let _ = leader;
}

/// Kills process `pid` at once (SIGKILL; TerminateProcess).
pub fn kill_process(pid: u32) {
    family::kill_process(pid);
}

/// Kills every process of the tree led by `leader` at once: its process group (Unix), its
/// Job Object (Windows).
pub fn kill_tree(leader: u32) {
    family::kill_tree(leader);
}

/// Asks every process of the tree led by `leader` to end (SIGTERM to the group); Windows has
/// no such request for a console program, so there it is [`kill_tree`].
pub fn terminate_tree(leader: u32) {
    family::terminate_tree(leader);
}

/// True when child `pid` has exited (or is not ours), without reaping it.
pub fn has_exited(pid: u32) -> bool {
    family::has_exited(pid)
}

/// The signal that ended a child, if one did (always None on Windows).
pub fn exit_signal(status: &std::process::ExitStatus) -> Option<i32> {
    family::exit_signal(status)
}

/// Sleeps until a child exits or a timeout passes, without reaping it (so its group can
/// still be signalled by its id): a pidfd in poll(2) on Linux, the process handle on Windows,
/// a plain sleep on macOS. For a waiter that also wakes to look at a Stop.
#[derive(Debug)]
pub struct ExitWatch(family::ExitWatch);

impl ExitWatch {
    /// A watch on child `pid`.
    pub fn new(pid: u32) -> ExitWatch {
        ExitWatch(family::ExitWatch::new(pid))
    }

    /// Returns when the child has exited or after `timeout`, whichever is first.
    pub fn wait(&self, timeout: std::time::Duration) {
        self.0.wait(timeout);
    }
}

/// A copy of this process's standard error, to hand to a child as its standard output (a
/// program whose output the user asked to see).
pub fn stderr_copy() -> std::io::Result<std::process::Stdio> {
    family::stderr_copy()
}

/// Copies of this process's standard input and output as files: a worker's binary pipes,
/// buffered by the worker itself instead of by std's line-buffered stdout.
pub fn stdin_stdout_files() -> std::io::Result<(std::fs::File, std::fs::File)> {
    family::stdin_stdout_files()
}

/// What an ended child used, read from its handle before it is let go (Windows; Unix reads
/// the same from wait4 when it reaps).
#[cfg(windows)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildUsage {
    /// User CPU time, in nanoseconds.
    pub user_ns: u64,
    /// Kernel CPU time, in nanoseconds.
    pub system_ns: u64,
    /// Its peak working set, in bytes; None if it could not be read.
    pub peak_rss_bytes: Option<u64>,
}

/// See [`ChildUsage`].
#[cfg(windows)]
pub fn child_usage(child: &std::process::Child) -> ChildUsage {
    windows::child_usage(child)
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
