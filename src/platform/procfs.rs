//! Readings from Linux's `/proc` for the worker-cost experiment, the window's cost and their
//! tests: a process's memory fields (`status`, `smaps_rollup`), its mappings, its threads and
//! their CPU ticks, and its children. Each reading is one file read; nothing here keeps state
//! or changes anything. On macOS and Windows there is no `/proc`: every reading is None or
//! empty, and its callers say "not measured" (the README's per-OS table).

use std::path::PathBuf;

/// Which process to read: this one, or another by pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pid {
    /// `/proc/self`.
    This,
    /// `/proc/<pid>`.
    Other(u32),
}

impl Pid {
    fn dir(self) -> PathBuf {
        match self {
            Pid::This => PathBuf::from("/proc/self"),
            Pid::Other(pid) => PathBuf::from(format!("/proc/{pid}")),
        }
    }
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS:`, `VmSize:`, ...) in bytes.
pub fn status_bytes(pid: Pid, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(pid.dir().join("status")).ok()?;
    kib_field(&text, field).map(|kib| kib * 1024)
}

/// Resident and proportional memory of a process, from `/proc/<pid>/smaps_rollup` (Linux 4.14+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rollup {
    /// Resident set size: every page mapped and in memory, shared pages counted in full.
    pub rss_bytes: u64,
    /// Proportional set size: each shared page divided by the number of processes sharing it.
    pub pss_bytes: u64,
}

/// Reads `/proc/<pid>/smaps_rollup`.
pub fn smaps_rollup(pid: Pid) -> Option<Rollup> {
    let text = std::fs::read_to_string(pid.dir().join("smaps_rollup")).ok()?;
    Some(Rollup {
        rss_bytes: kib_field(&text, "Rss:")? * 1024,
        pss_bytes: kib_field(&text, "Pss:")? * 1024,
    })
}

fn kib_field(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find(|line| line.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The thread ids of this process (the entries of `/proc/self/task`).
pub fn thread_ids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// A process as `/proc/<pid>/stat` and `cmdline` describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessEntry {
    /// Its pid.
    pub pid: u32,
    /// Its parent's pid.
    pub ppid: u32,
    /// Its state letter (`R`, `S`, `Z` for a zombie not yet waited for, ...).
    pub state: char,
    /// Its command line, arguments separated by spaces. Empty for a zombie, and for a moment
    /// right after `spawn` returns: the kernel lets the parent go on once exec has replaced
    /// the child's memory, before it has copied the new arguments in.
    pub cmdline: String,
}

/// Every process this process can see in `/proc`, zombies included.
pub fn all_processes() -> Vec<ProcessEntry> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(process_entry)
        .collect()
}

/// Every process whose parent is `parent` (zombies included).
pub fn children_of(parent: u32) -> Vec<ProcessEntry> {
    all_processes()
        .into_iter()
        .filter(|process| process.ppid == parent)
        .collect()
}

/// Reads one process's entry; None when it is gone.
pub fn process_entry(pid: u32) -> Option<ProcessEntry> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the
    // last ')'.
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| {
            String::from_utf8_lossy(&bytes)
                .split('\0')
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    Some(ProcessEntry {
        pid,
        ppid,
        state,
        cmdline,
    })
}

/// The start and end addresses of this process's mappings (`/proc/self/maps`); empty where
/// there is no such file.
pub fn mapped_ranges() -> Vec<(usize, usize)> {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return Vec::new();
    };
    maps.lines()
        .filter_map(|line| {
            let (start, end) = line.split_whitespace().next()?.split_once('-')?;
            Some((
                usize::from_str_radix(start, 16).ok()?,
                usize::from_str_radix(end, 16).ok()?,
            ))
        })
        .collect()
}

/// Each thread of this process: its id and the text of its `/proc/self/task/TID/stat` (a
/// thread that ends meanwhile is left out). An error where there is no `/proc`.
pub fn thread_stat_lines() -> std::io::Result<Vec<(u32, String)>> {
    let mut lines = Vec::new();
    for task in std::fs::read_dir("/proc/self/task")? {
        let task = task?;
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Ok(line) = std::fs::read_to_string(task.path().join("stat")) {
            lines.push((tid, line));
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let rss = status_bytes(Pid::This, "VmRSS:").unwrap();
        let size = status_bytes(Pid::This, "VmSize:").unwrap();
        assert!(rss > 0 && size >= rss, "rss {rss}, size {size}");
        let rollup = smaps_rollup(Pid::This).unwrap();
        assert!(rollup.pss_bytes <= rollup.rss_bytes && rollup.rss_bytes > 0);
        assert!(thread_ids().contains(&std::process::id()));
        let me = process_entry(std::process::id()).unwrap();
        assert!(me.cmdline.contains("pooltune"), "{}", me.cmdline);
    }

    #[test]
    fn finds_a_child_and_loses_it_once_reaped() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        // The exec may still be setting up the arguments (see `ProcessEntry::cmdline`); in
        // about 1 run in 40 the first reading had an empty command line.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while process_entry(pid).is_some_and(|c| c.cmdline.is_empty())
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let children = children_of(std::process::id());
        assert!(
            children
                .iter()
                .any(|c| c.pid == pid && c.cmdline == "sleep 30"),
            "child {pid} not among {children:?}; its own entry: {:?}",
            process_entry(pid)
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!children_of(std::process::id()).iter().any(|c| c.pid == pid));
    }
}
