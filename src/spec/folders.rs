//! Where preset files live (the shipped folder and the user's) and which `.toml` files are in
//! them. It never parses a file: listing with parsing is in [`super`].

use std::path::{Path, PathBuf};

/// Where the user's own presets live (`~/.config/pooltune/presets` on Linux).
pub fn user_presets_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "pooltune").map(|dirs| dirs.config_dir().join("presets"))
}

/// Creates the user's presets folder when `path` is to be saved in it: the folder does not
/// exist until the first save there. Any other folder is left as it is.
pub fn prepare_save_folder(path: &Path) -> Result<(), String> {
    match (path.parent(), user_presets_dir()) {
        (Some(folder), Some(user)) if folder == user => std::fs::create_dir_all(folder)
            .map_err(|err| format!("could not create {}: {err}", folder.display())),
        _ => Ok(()),
    }
}

/// Where the shipped presets live: `presets/` beside the executable's crate when run from a
/// checkout, or the `POOLTUNE_PRESETS` folder when set.
pub fn shipped_presets_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("POOLTUNE_PRESETS") {
        return PathBuf::from(dir);
    }
    let beside_cwd = PathBuf::from("presets");
    if beside_cwd.is_dir() {
        return beside_cwd;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("presets")
}

/// Every `.toml` file in the shipped folder, then the user's folder, each sorted by file name,
/// with true for the shipped ones.
pub fn preset_files() -> Vec<(PathBuf, bool)> {
    let mut folders = vec![(shipped_presets_dir(), true)];
    if let Some(user) = user_presets_dir() {
        folders.push((user, false));
    }
    let mut files = Vec::new();
    for (folder, shipped) in folders {
        let Ok(read) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = read
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        paths.sort();
        files.extend(paths.into_iter().map(|path| (path, shipped)));
    }
    files
}
