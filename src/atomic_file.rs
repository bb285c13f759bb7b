//! Writing a file so that a reader sees either the old content or the new, never a mix:
//! write a temporary file in the same folder, sync it, rename it over the target, sync the
//! folder. Serves every file pooltune writes (`--out`, exports, presets, screenshots), so a
//! failed save never damages what was there.
//!
//! The temporary file is named after its target, `.result.json.pooltune-tmp-PID-N`, so that a
//! user who finds one after a crash knows what it was; the next save to the same target
//! removes such leftovers whose process is gone (never another live save's, never any other
//! file). The file keeps the mode of the file it replaces; a new file gets 0666 minus the
//! umask, like any file a program creates (the temporary-file default, 0600, is for secrets).

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What sits between the target's name and the process id in a temporary file's name.
const TMP_MARK: &str = ".pooltune-tmp-";

/// The most bytes of the target's name repeated in a temporary file's name, so that a target
/// name near the file-system limit (255 bytes) still leaves room for the mark and the suffix.
const MAX_NAME_IN_TMP: usize = 200;

/// Makes each temporary name of this process unique (with the pid, across processes).
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically, keeping the mode of a file already at `path`.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let target = Target::of(path)?;
    target.remove_leftovers();
    let (tmp_path, mut file) = target.create_tmp()?;
    let written = (|| {
        file.write_all(bytes)?;
        if let Ok(existing) = std::fs::metadata(path)
            && existing.is_file()
        {
            crate::platform::copy_permissions(&file, &existing.permissions())?;
        }
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp_path, path)
    })();
    if let Err(err) = written {
        let _ = std::fs::remove_file(&tmp_path);
        return Err(err);
    }
    // Sync the folder so that the rename itself survives a crash.
    if let Ok(dir) = File::open(&target.folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Checks, before any work, that [`write`] could save to `path`: the name is not too long
/// for its file system and a temporary file can be created (and is removed again) in its
/// folder. Writes nothing at `path` itself.
pub fn probe(path: &Path) -> std::io::Result<()> {
    let target = Target::of(path)?;
    let name_max = name_max(&target.folder);
    if target.name.len() > name_max {
        return Err(std::io::Error::other(format!(
            "the file name is {} bytes long; this file system allows at most {name_max}",
            target.name.len()
        )));
    }
    let (tmp_path, file) = target.create_tmp()?;
    drop(file);
    std::fs::remove_file(&tmp_path)
}

/// The folder and file name of a save.
struct Target {
    folder: PathBuf,
    name: String,
}

impl Target {
    fn of(path: &Path) -> std::io::Result<Target> {
        let name = path
            .file_name()
            .ok_or_else(|| std::io::Error::other("this is not a file name"))?
            .to_string_lossy()
            .into_owned();
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(Target { folder, name })
    }

    /// `.NAME.pooltune-tmp-`: what every temporary file of this target starts with.
    fn tmp_prefix(&self) -> String {
        let mut end = self.name.len().min(MAX_NAME_IN_TMP);
        while !self.name.is_char_boundary(end) {
            end -= 1;
        }
        format!(".{}{TMP_MARK}", &self.name[..end])
    }

    /// Creates a new temporary file beside the target, with mode 0666 minus the umask.
    fn create_tmp(&self) -> std::io::Result<(PathBuf, File)> {
        let pid = std::process::id();
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let tmp = self.folder.join(format!("{}{pid}-{n}", self.tmp_prefix()));
            match crate::platform::create_new_file(&tmp) {
                Ok(file) => return Ok((tmp, file)),
                // A leftover of an earlier process with our pid: take the next number.
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(err),
            }
        }
    }

    /// Removes this target's temporary files left by a save that was interrupted (its
    /// process no longer runs). Best effort: a leftover that cannot be removed stays.
    fn remove_leftovers(&self) {
        let Ok(entries) = std::fs::read_dir(&self.folder) else {
            return;
        };
        let prefix = self.tmp_prefix();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
                continue;
            };
            let Some((pid, n)) = rest.split_once('-') else {
                continue;
            };
            let (Ok(pid), true) = (
                pid.parse::<u32>(),
                !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
            ) else {
                continue;
            };
            let ours = pid == std::process::id();
            if !ours
                && !crate::platform::process_is_alive(pid)
                && entry.file_type().is_ok_and(|t| t.is_file())
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// The longest file name the file system of `folder` allows (255 when it does not say).
fn name_max(folder: &Path) -> usize {
    crate::platform::name_max(folder).unwrap_or(255)
}

#[cfg(test)]
mod tests {

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "old").unwrap();
        super::write(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(names(dir.path()), ["out.json"]);
    }

    #[test]
    fn a_missing_folder_fails_without_creating_anything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-folder").join("out.json");
        assert!(super::write(&path, b"x").is_err());
        assert!(super::probe(&path).is_err());
        assert!(!path.exists());
    }

    /// A save killed between creating its temporary file and the rename leaves
    /// `.out.json.pooltune-tmp-PID-N`; the next save to `out.json` removes it, and leaves a
    /// live process's temporary file, another target's and any other file alone.
    #[cfg(unix)]
    #[test]
    fn the_next_save_removes_leftovers_of_an_interrupted_one() {
        let dir = tempfile::tempdir().unwrap();
        // A pid far above the kernel's pid_max (4194304 at most) runs nowhere.
        let dead = dir.path().join(".out.json.pooltune-tmp-99999999-0");
        let live = dir.path().join(format!(
            ".out.json.pooltune-tmp-{}-7",
            std::os::unix::process::parent_id()
        ));
        let other_target = dir.path().join(".other.json.pooltune-tmp-99999999-0");
        let unrelated = dir.path().join(".out.json.tmpAbC123");
        for file in [&dead, &live, &other_target, &unrelated] {
            std::fs::write(file, "partial").unwrap();
        }
        super::write(&dir.path().join("out.json"), b"new").unwrap();
        assert!(!dead.exists());
        assert!(live.exists() && other_target.exists() && unrelated.exists());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_replaced_file_keeps_its_mode_and_a_new_one_follows_the_umask() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().join("existing.json");
        std::fs::write(&existing, "old").unwrap();
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o640)).unwrap();
        super::write(&existing, b"new").unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&existing), 0o640);
        let new = dir.path().join("new.json");
        super::write(&new, b"new").unwrap();
        // Read, not set: the umask is shared by every test thread.
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .map(|m| u32::from_str_radix(m.trim(), 8).unwrap())
            .unwrap();
        assert_eq!(mode(&new), 0o666 & !umask);
    }

    #[test]
    fn probe_refuses_a_name_too_long_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(super::probe(&dir.path().join("x".repeat(300))).is_err());
        assert!(super::probe(std::path::Path::new("")).is_err());
        super::probe(&dir.path().join("fine.json")).unwrap();
        assert!(names(dir.path()).is_empty());
    }
}
