//! `file_io`: real I/O. Each task writes `bytes` to its worker's file in a temporary directory
//! (optionally fsync), reads it back and checks it. The directory is removed when the workload
//! is dropped, which happens after the point ends, is cancelled, or fails.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::sync::Mutex;

use super::{TaskCtx, Workload};

/// Bytes written or read between two checks of the stop flag: a few milliseconds of I/O, so
/// a Stop is seen quickly even for a 1 GiB file. (An fsync cannot be cut short.)
const CHECK_EVERY_BYTES: usize = 1 << 20;

/// Per-worker state: the worker's file and its write/read buffers.
struct Slot {
    file: File,
    write_buf: Vec<u8>,
    read_buf: Vec<u8>,
}

/// `file_io` workload.
pub struct FileIo {
    fsync: bool,
    slots: Vec<Mutex<Slot>>,
    // Kept after the slots so it is dropped (and the directory removed) after the files are
    // closed.
    _dir: tempfile::TempDir,
    /// So that a second Ctrl-C removes the directory too; dropped after it is removed.
    _registration: crate::child::Registration,
}

impl FileIo {
    /// Creates the temporary directory and one file per worker.
    pub fn new(bytes: u64, fsync: bool, workers: usize) -> Result<FileIo, String> {
        let dir = tempfile::Builder::new()
            .prefix("pooltune-file-io-")
            .tempdir()
            .map_err(|err| format!("could not create a temporary directory for file_io: {err}"))?;
        // Registered before anything is written into it, so that a second Ctrl-C during the
        // writes below still removes it.
        let registration = crate::child::register_folder(dir.path());
        let len = usize::try_from(bytes).map_err(|_| format!("file size {bytes} is too large"))?;
        if let Some(free) = free_disk_bytes(dir.path()) {
            check_disk_fits(bytes, workers, free, dir.path())?;
        }
        let mut slots = Vec::with_capacity(workers);
        for worker in 0..workers {
            let path = dir.path().join(format!("worker-{worker}.bin"));
            let file = File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .map_err(|err| format!("could not create {}: {err}", path.display()))?;
            let write_buf = super::try_buffer(len, 0xA5u8, &format!("worker {worker}'s writes"))?;
            let read_buf = super::try_buffer(len, 0u8, &format!("worker {worker}'s reads"))?;
            slots.push(Mutex::new(Slot {
                file,
                write_buf,
                read_buf,
            }));
        }
        Ok(FileIo {
            fsync,
            slots,
            _registration: registration,
            _dir: dir,
        })
    }

    /// The temporary directory (for tests that check it is removed).
    #[cfg(test)]
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}

/// Bytes an unprivileged process may still write on the file system holding `path`
/// (statvfs: available blocks × fragment size); None when it cannot be read.
pub fn free_disk_bytes(path: &std::path::Path) -> Option<u64> {
    crate::platform::free_disk_bytes(path)
}

/// Refuses a point whose files would not fit: each of `workers` writes a file of `bytes`.
/// The error names the field and where the files go (TMPDIR), so the user knows what to change.
pub fn check_disk_fits(
    bytes: u64,
    workers: usize,
    free_bytes: u64,
    dir: &std::path::Path,
) -> Result<(), String> {
    let needed = bytes.saturating_mul(workers as u64);
    if needed <= free_bytes {
        return Ok(());
    }
    let folder = dir.parent().unwrap_or(dir);
    Err(format!(
        "`workload.bytes` = {bytes} needs {} MiB of disk for {} files, and {} has {} MiB free: lower `workload.bytes` or the thread count, or set TMPDIR to a folder on a larger disk",
        needed.div_ceil(1 << 20),
        crate::words::counted_usize(workers, "worker's", "workers'"),
        folder.display(),
        free_bytes >> 20
    ))
}

impl Workload for FileIo {
    fn run_task(&self, ctx: &TaskCtx<'_>) {
        let mut guard = match self.slots[ctx.worker % self.slots.len()].lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let slot = &mut *guard;
        // Stamp the task index so a stale read-back would be noticed.
        let stamp = ctx.task.to_le_bytes();
        let n = stamp.len().min(slot.write_buf.len());
        slot.write_buf[..n].copy_from_slice(&stamp[..n]);
        let stop = ctx.stop;
        // Ok(false): cut short by a stop (the pool does not count the task).
        let result = (|| -> std::io::Result<bool> {
            slot.file.seek(SeekFrom::Start(0))?;
            for block in slot.write_buf.chunks(CHECK_EVERY_BYTES) {
                slot.file.write_all(block)?;
                if stop.interrupted() {
                    return Ok(false);
                }
            }
            if self.fsync {
                slot.file.sync_data()?;
            }
            slot.file.seek(SeekFrom::Start(0))?;
            for block in slot.read_buf.chunks_mut(CHECK_EVERY_BYTES) {
                slot.file.read_exact(block)?;
                if stop.interrupted() {
                    return Ok(false);
                }
            }
            Ok(true)
        })();
        match result {
            Ok(true) => {}
            Ok(false) => return,
            Err(err) => {
                // Not a panic: a full disk or a failing device is the machine's answer.
                stop.record_error(format!("I/O error in file_io task {}: {err}", ctx.task));
                return;
            }
        }
        assert!(
            slot.read_buf[..n] == slot.write_buf[..n],
            "file_io task {} read back different bytes than it wrote",
            ctx.task
        );
        std::hint::black_box(&slot.read_buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::{CancelToken, TrialStop};

    #[test]
    fn writes_reads_back_and_removes_its_directory() {
        let workload = FileIo::new(4096, true, 2).unwrap();
        let dir = workload.dir().to_path_buf();
        let stop = TrialStop::new(CancelToken::new(), None);
        for task in 0..4 {
            workload.run_task(&TaskCtx {
                worker: (task % 2) as usize,
                task,
                stop: &stop,
            });
        }
        assert_eq!(
            std::fs::metadata(dir.join("worker-0.bin")).unwrap().len(),
            4096
        );
        drop(workload);
        assert!(!dir.exists(), "temporary directory left behind");
    }

    /// A Stop must end a task within milliseconds even for a large file (`bytes` may be
    /// 1 GiB): a stopped task writes only part of its file.
    #[test]
    fn files_that_would_not_fit_on_the_disk_are_refused_with_the_field() {
        let dir = std::path::Path::new("/tmp/pooltune-file-io-x");
        assert!(check_disk_fits(1 << 20, 4, 4 << 20, dir).is_ok());
        let err = check_disk_fits(1 << 20, 5, 4 << 20, dir).unwrap_err();
        assert!(err.contains("`workload.bytes` = 1048576"), "{err}");
        assert!(err.contains("needs 5 MiB"), "{err}");
        assert!(err.contains("/tmp has 4 MiB free"), "{err}");
        assert!(err.contains("TMPDIR"), "{err}");
        assert!(err.contains("for 5 workers' files"), "{err}");
        let err = check_disk_fits(2 << 20, 1, 1 << 20, dir).unwrap_err();
        assert!(err.contains("for 1 worker's files"), "{err}");
        // The reading agrees with df's (another program's reading of the same file system).
        let tmp = std::env::temp_dir();
        let free = free_disk_bytes(&tmp).unwrap();
        if let Ok(out) = std::process::Command::new("df")
            .args(["-k", "--output=avail"])
            .arg(&tmp)
            .output()
            && out.status.success()
        {
            let text = String::from_utf8_lossy(&out.stdout);
            let df_kib: u64 = text.lines().nth(1).unwrap().trim().parse().unwrap();
            let df = df_kib * 1024;
            // Other tests write files meanwhile: allow 256 MiB either way.
            assert!(free.abs_diff(df) < 256 << 20, "statvfs {free}, df {df}");
        }
    }

    /// A full disk (ENOSPC) in the middle of a task is an I/O error of that task, not a
    /// panic: /dev/full answers every write with ENOSPC, as a full file system does.
    #[test]
    fn a_full_disk_is_an_io_error_of_the_task_not_a_panic() {
        let workload = FileIo::new(4096, false, 1).unwrap();
        {
            let mut slot = workload.slots[0].lock().unwrap();
            slot.file = File::options()
                .read(true)
                .write(true)
                .open("/dev/full")
                .unwrap();
        }
        let stop = TrialStop::new(CancelToken::new(), None);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            workload.run_task(&TaskCtx {
                worker: 0,
                task: 18,
                stop: &stop,
            });
        }));
        assert!(outcome.is_ok(), "the task panicked");
        let fault = stop.fault().expect("the task's error is recorded");
        let crate::cancel::TaskFault::Error(message) = &fault else {
            panic!("recorded as {fault:?}");
        };
        assert!(
            message.starts_with("I/O error in file_io task 18: No space left on device"),
            "{message}"
        );
        assert!(stop.interrupted(), "the trial stops");
        // What the point says: the message itself, without "a task panicked".
        let failure = crate::pool::TrialFailure::from(fault.clone());
        assert_eq!(failure.to_string(), *message);
    }

    #[test]
    fn a_stopped_task_stops_writing() {
        const BYTES: u64 = 8 << 20;
        let workload = FileIo::new(BYTES, false, 1).unwrap();
        let cancel = CancelToken::new();
        cancel.cancel();
        let stop = TrialStop::new(cancel, None);
        workload.run_task(&TaskCtx {
            worker: 0,
            task: 0,
            stop: &stop,
        });
        let written = std::fs::metadata(workload.dir().join("worker-0.bin"))
            .unwrap()
            .len();
        assert!(written < BYTES, "a stopped task wrote all {written} bytes");
    }
}
