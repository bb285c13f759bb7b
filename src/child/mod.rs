//! What every child process pooltune starts shares: the watchdog that fails a child making no
//! progress (stopped with SIGSTOP, or stuck), and the register of what must not outlive
//! pooltune (children, their process groups, temporary folders), so that a second Ctrl-C,
//! which ends pooltune at once, still ends the children and removes the folders first.
//!
//! The process pool's workers, the Python child of a comparison series and the Python child
//! of the worker-cost run all use this one watchdog: each says how long it expects between two
//! signs of life, and the limit is [`NO_PROGRESS_FACTOR`] times that, at least
//! [`NO_PROGRESS_MIN`] (or exactly [`NO_PROGRESS_VAR`] seconds when that is set).
//!
//! [`driver`] runs a child that speaks in lines (the Python series, the worker-cost probe):
//! its own process group, stdin as lifeline, a stderr tail, this watchdog, killed on Stop,
//! always reaped. The process pool's workers speak a binary protocol over non-blocking pipes
//! and keep their own loop, but share this register, this watchdog and [`driver::Tail`].
//!
//! Nothing in this file waits for a child in the normal course; the owner of each child (or
//! the driver) reaps it.

pub mod driver;
pub mod launch;

pub use driver::{ChildSpec, DriveError, Exit, Tail, drive};

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Shortest no-progress limit: a loaded machine (other builds, a laptop waking up) may pause
/// a healthy child for a second or two, so a limit of a few seconds would fail healthy runs.
pub const NO_PROGRESS_MIN: Duration = Duration::from_secs(10);

/// The limit is this many times the expected time between two signs of life (a chunk of
/// tasks, a trial): far more than scheduling noise, far less than forever.
pub const NO_PROGRESS_FACTOR: u32 = 10;

/// Environment variable that sets the no-progress limit, in seconds (a decimal number above
/// 0), for every child: for tests, and for a user whose tasks take far longer than pooltune
/// expects.
pub const NO_PROGRESS_VAR: &str = "POOLTUNE_NO_PROGRESS_S";

/// The no-progress limit for a child expected to show life every `expected`:
/// [`NO_PROGRESS_FACTOR`] × `expected`, at least [`NO_PROGRESS_MIN`]; [`NO_PROGRESS_VAR`]
/// overrides it.
pub fn no_progress_limit(expected: Duration) -> Duration {
    if let Some(seconds) = std::env::var(NO_PROGRESS_VAR)
        .ok()
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
    {
        return Duration::from_secs_f64(seconds.min(1e9));
    }
    expected
        .saturating_mul(NO_PROGRESS_FACTOR)
        .max(NO_PROGRESS_MIN)
}

/// Watches one child for signs of life.
#[derive(Debug, Clone)]
pub struct Watchdog {
    limit: Duration,
    last_progress: Instant,
}

impl Watchdog {
    /// A watchdog for a child expected to show life every `expected`, starting now.
    pub fn new(expected: Duration) -> Watchdog {
        Watchdog {
            limit: no_progress_limit(expected),
            last_progress: Instant::now(),
        }
    }

    /// The child showed life (a message, a line of output).
    pub fn progress(&mut self) {
        self.last_progress = Instant::now();
    }

    /// Raises the limit when the child turns out to need longer between signs of life than
    /// expected (a chunk measured at `seen`), never lowering it.
    pub fn expect_at_least(&mut self, seen: Duration) {
        self.limit = self.limit.max(no_progress_limit(seen));
    }

    /// Time since the last sign of life (or since the watchdog was made).
    pub fn since_progress(&self) -> Duration {
        self.last_progress.elapsed()
    }

    /// The limit in force.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// True once the child has shown no life for longer than the limit.
    pub fn expired(&self) -> bool {
        self.last_progress.elapsed() > self.limit
    }

    /// "worker process 1 (pid 4242) made no progress for 10 s (stopped or stuck)", for `who`
    /// = "worker process 1".
    pub fn message(&self, who: &str, pid: u32) -> String {
        format!(
            "{who} (pid {pid}) made no progress for {} (stopped or stuck)",
            seconds(self.limit)
        )
    }
}

/// "10 s", "0.5 s".
fn seconds(duration: Duration) -> String {
    let s = duration.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// Something that must not outlive pooltune.
#[derive(Debug, Clone)]
enum Leftover {
    /// A child process, killed with SIGKILL.
    Process(u32),
    /// A process group (a child started in a group of its own, and all it started).
    Group(u32),
    /// A temporary folder, removed with all it holds.
    Folder(PathBuf),
}

/// The register: id and entry.
static REGISTER: Mutex<Vec<(u64, Leftover)>> = Mutex::new(Vec::new());
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// An entry in the register, removed when dropped: drop it once the child is reaped or the
/// folder removed.
#[derive(Debug)]
pub struct Registration(u64);

fn register(leftover: Leftover) -> Registration {
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut register = REGISTER.lock().unwrap_or_else(|p| p.into_inner());
    register.push((id, leftover));
    Registration(id)
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut register = REGISTER.lock().unwrap_or_else(|p| p.into_inner());
        register.retain(|(id, entry)| {
            if *id == self.0
                && let Leftover::Group(leader) = entry
            {
                crate::platform::release_tree(*leader);
            }
            *id != self.0
        });
    }
}

/// Registers child process `pid`.
pub fn register_process(pid: u32) -> Registration {
    register(Leftover::Process(pid))
}

/// Registers the tree of `child`, just spawned in a group of its own
/// ([`crate::platform::own_process_group`]): its process group on Unix, the Job Object it is
/// put in here on Windows ([`crate::platform::contain_tree`]). Dropping the registration (once
/// the child is reaped) releases the container.
pub fn register_tree(child: &std::process::Child) -> Registration {
    crate::platform::contain_tree(child);
    register(Leftover::Group(child.id()))
}

/// Registers a temporary folder.
pub fn register_folder(path: &Path) -> Registration {
    register(Leftover::Folder(path.to_path_buf()))
}

/// How long [`end_everything_now`] waits for killed children to be gone before it removes
/// the folders they may still be writing into. SIGKILL ends a process within milliseconds
/// unless it is in uninterruptible I/O (a 1 MiB write to a slow disk); half a second covers
/// that, and a second Ctrl-C must still end pooltune "at once".
const KILL_WAIT: Duration = Duration::from_millis(500);

/// How many times [`end_everything_now`] looks at the register again for entries added while
/// it was ending the others (a worker spawned, a folder created by a thread that had not yet
/// seen the cancel); each later round finds fewer, as nothing new starts once cancelled.
const END_ROUNDS: usize = 3;

/// Set once [`end_everything_now`] has started: pooltune is ending itself.
static ENDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True once a second Ctrl-C has started ending every child: a child that dies now was
/// killed by pooltune, and its owner should not report it as a fault of the child.
pub fn ending() -> bool {
    ENDING.load(std::sync::atomic::Ordering::SeqCst)
}

/// Kills every registered child and process group with SIGKILL, waits (at most
/// [`KILL_WAIT`]) for them to exit (without reaping them: their owners do), then removes
/// every registered folder, so that no killed child can write into a folder after it is
/// removed. Entries registered meanwhile are handled in further rounds. For a second Ctrl-C,
/// just before pooltune ends itself; never called in the normal course.
pub fn end_everything_now() {
    ENDING.store(true, std::sync::atomic::Ordering::SeqCst);
    end_where(|_| true);
}

/// [`end_everything_now`] for the registered entries whose id `chosen` picks.
fn end_where(chosen: impl Fn(u64) -> bool) {
    let mut done: Vec<u64> = Vec::new();
    for _ in 0..END_ROUNDS {
        let entries: Vec<(u64, Leftover)> = {
            let register = REGISTER.lock().unwrap_or_else(|p| p.into_inner());
            register
                .iter()
                .filter(|(id, _)| chosen(*id) && !done.contains(id))
                .cloned()
                .collect()
        };
        if entries.is_empty() {
            break;
        }
        done.extend(entries.iter().map(|(id, _)| *id));
        end_entries(&entries);
    }
}

/// Kills the processes among `entries`, waits for them, then removes the folders.
fn end_entries(entries: &[(u64, Leftover)]) {
    let mut leaders = Vec::new();
    for (_, entry) in entries {
        match *entry {
            // The pids are our unreaped children (a child's registration is dropped only
            // after it is reaped), so none has been reused.
            Leftover::Process(pid) => {
                crate::platform::kill_process(pid);
                leaders.push(pid);
            }
            Leftover::Group(pgid) => {
                crate::platform::kill_tree(pgid);
                leaders.push(pgid);
            }
            Leftover::Folder(_) => {}
        }
    }
    let deadline = Instant::now() + KILL_WAIT;
    while Instant::now() < deadline && !leaders.iter().all(|&pid| has_exited(pid)) {
        std::thread::sleep(Duration::from_millis(2));
    }
    for (_, entry) in entries {
        if let Leftover::Folder(path) = entry {
            remove_folder(path);
        }
    }
}

/// Removes `path` with all it holds. Its owner may be removing it at the same moment (the
/// first Ctrl-C's orderly stop drops its `TempDir`), so an entry that vanishes underneath
/// can fail one attempt; a second attempt then removes what is left. A folder already gone
/// is fine.
fn remove_folder(path: &Path) {
    for _ in 0..2 {
        match std::fs::remove_dir_all(path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                std::thread::sleep(Duration::from_millis(5));
            }
            _ => return,
        }
    }
}

/// True when child `pid` has exited (or is not our child), without reaping it.
pub(crate) fn has_exited(pid: u32) -> bool {
    crate::platform::has_exited(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_a_multiple_of_the_expected_time_with_a_floor() {
        // The variable is not set in unit tests (cargo does not set it).
        if std::env::var_os(NO_PROGRESS_VAR).is_some() {
            return;
        }
        assert_eq!(no_progress_limit(Duration::ZERO), NO_PROGRESS_MIN);
        assert_eq!(
            no_progress_limit(Duration::from_secs(3)),
            Duration::from_secs(30)
        );
        let mut dog = Watchdog::new(Duration::from_millis(1));
        assert_eq!(dog.limit(), NO_PROGRESS_MIN);
        dog.expect_at_least(Duration::from_secs(2));
        assert_eq!(dog.limit(), Duration::from_secs(20));
        dog.expect_at_least(Duration::from_millis(1));
        assert_eq!(dog.limit(), Duration::from_secs(20));
        assert!(!dog.expired());
        assert_eq!(
            dog.message("worker process 1", 42),
            "worker process 1 (pid 42) made no progress for 20 s (stopped or stuck)"
        );
    }

    #[cfg(unix)]
    #[test]
    fn ending_everything_kills_registered_children_and_removes_folders() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("pooltune-file-io-test");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("worker-0.bin"), b"x").unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let ids = [register_process(child.id()), register_folder(&folder)];
        // Only this test's entries: other tests of this binary register theirs meanwhile.
        end_where(|id| ids.iter().any(|r| r.0 == id));
        assert!(!folder.exists());
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL)
        );
    }
}
