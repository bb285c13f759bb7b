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
    // Kept last so it is dropped (and the directory removed) after the files are closed.
    _dir: tempfile::TempDir,
}

impl FileIo {
    /// Creates the temporary directory and one file per worker.
    pub fn new(bytes: u64, fsync: bool, workers: usize) -> Result<FileIo, String> {
        let dir = tempfile::Builder::new()
            .prefix("pooltune-file-io-")
            .tempdir()
            .map_err(|err| format!("could not create a temporary directory for file_io: {err}"))?;
        let len = usize::try_from(bytes).map_err(|_| format!("file size {bytes} is too large"))?;
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
            slots.push(Mutex::new(Slot {
                file,
                write_buf: vec![0xA5; len],
                read_buf: vec![0; len],
            }));
        }
        Ok(FileIo {
            fsync,
            slots,
            _dir: dir,
        })
    }

    /// The temporary directory (for tests that check it is removed).
    #[cfg(test)]
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }
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
            Err(err) => panic!("file_io task {} failed: {err}", ctx.task),
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
