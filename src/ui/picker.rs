//! What the preset picker offers, as a pure function of the presets found on disk and the
//! built-in default: the user's own presets first (marked as theirs), then the built-in
//! default the app opens on, then the shipped presets; a preset that says exactly what one
//! listed before it says (a shipped preset saved unchanged into the user's folder) is listed
//! once; and which of them is the one loaded. No egui and no files here: the picker in
//! [`super::config`] draws these, [`crate::spec::list_presets`] finds the files.

use std::path::{Path, PathBuf};

use crate::spec::{Preset, PresetEntry};

/// Where a choice comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A file in the user's presets folder.
    Yours,
    /// The configuration the app opens on, written in the code.
    BuiltIn,
    /// A file shipped with pooltune.
    Shipped,
}

impl Origin {
    /// How the list marks it after the name; shipped presets are unmarked.
    pub fn mark(self) -> &'static str {
        match self {
            Origin::Yours => " (yours)",
            Origin::BuiltIn => " (built in)",
            Origin::Shipped => "",
        }
    }
}

/// One line of the picker.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice<'a> {
    /// Where it comes from.
    pub origin: Origin,
    /// Its file; None for the built-in default.
    pub path: Option<&'a Path>,
    /// The preset, or why its file could not be read.
    pub preset: Result<&'a Preset, &'a str>,
    /// True when a shipped preset says exactly the same (it was saved unchanged).
    pub same_as_shipped: bool,
}

impl Choice<'_> {
    /// The text of its line: "CPU-bound: 2 ms of computation (yours)"; an unreadable file by
    /// its file name.
    pub fn label(&self) -> String {
        match self.preset {
            Ok(preset) => format!("{}{}", preset.name, self.origin.mark()),
            Err(_) => {
                let file = self
                    .path
                    .and_then(Path::file_name)
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                format!("{file}{} (unreadable)", self.origin.mark())
            }
        }
    }

    /// Where it is, for its hover: "yours: ~/.config/pooltune/presets/a.toml".
    pub fn place(&self) -> String {
        let origin = match self.origin {
            Origin::Yours if self.same_as_shipped => "yours, the same as a shipped preset",
            Origin::Yours => "yours",
            Origin::BuiltIn => "built in: the configuration pooltune opens on",
            Origin::Shipped => "shipped",
        };
        match self.path {
            Some(path) => format!("{origin}: {}", path.display()),
            None => origin.to_owned(),
        }
    }
}

/// The picker's lines: the user's presets, the built-in default, the shipped presets, each
/// in the listing's (file name) order, without a preset identical to one already listed.
pub fn choices<'a>(entries: &'a [PresetEntry], built_in: &'a Preset) -> Vec<Choice<'a>> {
    let entry_choice = |entry: &'a PresetEntry| Choice {
        origin: if entry.shipped {
            Origin::Shipped
        } else {
            Origin::Yours
        },
        path: Some(entry.path.as_path()),
        preset: entry.loaded.as_ref().map_err(String::as_str),
        same_as_shipped: false,
    };
    let shipped: Vec<&Preset> = entries
        .iter()
        .filter(|e| e.shipped)
        .filter_map(|e| e.loaded.as_ref().ok())
        .collect();
    let mut all: Vec<Choice<'a>> = entries
        .iter()
        .filter(|e| !e.shipped)
        .map(entry_choice)
        .map(|mut choice| {
            choice.same_as_shipped = choice.preset.is_ok_and(|p| shipped.contains(&p));
            choice
        })
        .collect();
    all.push(Choice {
        origin: Origin::BuiltIn,
        path: None,
        preset: Ok(built_in),
        same_as_shipped: false,
    });
    all.extend(entries.iter().filter(|e| e.shipped).map(entry_choice));
    let mut kept: Vec<Choice<'a>> = Vec::with_capacity(all.len());
    for choice in all {
        let duplicate = choice.preset.is_ok_and(|preset| {
            kept.iter()
                .any(|k| k.preset.is_ok_and(|other| other == preset))
        });
        if !duplicate {
            kept.push(choice);
        }
    }
    kept
}

/// Which choice is the one loaded: the one read from `file` when it is listed, else the first
/// that says exactly what `preset` says (a file listed under another name, the built-in
/// default, or an edit undone).
pub fn loaded_index(choices: &[Choice<'_>], preset: &Preset, file: Option<&Path>) -> Option<usize> {
    file.and_then(|file| choices.iter().position(|c| c.path == Some(file)))
        .or_else(|| {
            choices
                .iter()
                .position(|c| c.preset.is_ok_and(|p| p == preset))
        })
}

/// The picker's closed text: the loaded preset's name, marked as in the list, and "edited"
/// when the configuration no longer says what its choice does.
pub fn title(choices: &[Choice<'_>], preset: &Preset, file: Option<&Path>) -> String {
    match loaded_index(choices, preset, file).map(|i| &choices[i]) {
        Some(choice) => {
            let edited = choice.preset.is_ok_and(|p| p != preset);
            let name = &preset.name;
            let mark = choice.origin.mark();
            if edited {
                format!("{name}{mark}, edited")
            } else {
                format!("{name}{mark}")
            }
        }
        None => preset.name.clone(),
    }
}

/// The path of a choice, owned (what a click loads).
pub fn path_of(choice: &Choice<'_>) -> Option<PathBuf> {
    choice.path.map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Entry;
    use crate::ui::config::default_preset;

    fn preset(name: &str, compute_us: u64) -> Preset {
        let mut p = default_preset();
        p.name = name.to_owned();
        p.workload = crate::spec::WorkloadSpec::Cpu { compute_us };
        p
    }

    fn entry(path: &str, shipped: bool, preset: Preset) -> PresetEntry {
        Entry {
            path: PathBuf::from(path),
            shipped,
            loaded: Ok(preset),
        }
    }

    #[test]
    fn yours_come_first_then_the_built_in_then_the_shipped() {
        let entries = vec![
            entry("presets/cpu-bound.toml", true, preset("CPU 2 ms", 2000)),
            entry("presets/io-bound.toml", true, preset("IO", 5)),
            entry("mine/fast.toml", false, preset("Fast", 10)),
            Entry {
                path: PathBuf::from("mine/broken.toml"),
                shipped: false,
                loaded: Err("line 3: unknown field".to_owned()),
            },
        ];
        let built_in = default_preset();
        let all = choices(&entries, &built_in);
        let labels: Vec<String> = all.iter().map(Choice::label).collect();
        assert_eq!(
            labels,
            [
                "Fast (yours)",
                "broken.toml (yours) (unreadable)",
                "CPU-bound: 1 ms of computation (built in)",
                "CPU 2 ms",
                "IO",
            ]
        );
        assert_eq!(all[0].place(), "yours: mine/fast.toml");
        // The app opens on the built-in default, which is in the list and is the one loaded.
        assert_eq!(loaded_index(&all, &built_in, None), Some(2));
        assert_eq!(
            title(&all, &built_in, None),
            "CPU-bound: 1 ms of computation (built in)"
        );
    }

    #[test]
    fn a_preset_saved_unchanged_is_listed_once_as_yours() {
        let shipped = preset("CPU 2 ms", 2000);
        let entries = vec![
            entry("presets/cpu-bound.toml", true, shipped.clone()),
            entry("mine/cpu-2-ms.toml", false, shipped.clone()),
            // Saved again under another file name: still the same preset.
            entry("mine/cpu-2-ms-again.toml", false, shipped.clone()),
            // Same name, different content: both stay, told apart by the mark.
            entry("mine/cpu-changed.toml", false, preset("CPU 2 ms", 3000)),
            // The built-in default saved unchanged.
            entry("mine/default.toml", false, default_preset()),
        ];
        let built_in = default_preset();
        let all = choices(&entries, &built_in);
        let listed: Vec<(String, Option<&Path>)> =
            all.iter().map(|c| (c.label(), c.path)).collect();
        assert_eq!(
            listed,
            [
                (
                    "CPU 2 ms (yours)".to_owned(),
                    Some(Path::new("mine/cpu-2-ms.toml"))
                ),
                (
                    "CPU 2 ms (yours)".to_owned(),
                    Some(Path::new("mine/cpu-changed.toml"))
                ),
                (
                    "CPU-bound: 1 ms of computation (yours)".to_owned(),
                    Some(Path::new("mine/default.toml"))
                ),
            ]
        );
        assert!(all[0].same_as_shipped);
        assert!(!all[1].same_as_shipped);
        assert_eq!(
            all[0].place(),
            "yours, the same as a shipped preset: mine/cpu-2-ms.toml"
        );
        // The shipped file, loaded before the copy was saved, shows as the copy that says
        // the same.
        let loaded = loaded_index(&all, &shipped, Some(Path::new("presets/cpu-bound.toml")));
        assert_eq!(loaded, Some(0));
    }

    #[test]
    fn the_title_says_which_is_loaded_and_whether_it_was_edited() {
        let mine = preset("Fast", 10);
        let entries = vec![entry("mine/fast.toml", false, mine.clone())];
        let built_in = default_preset();
        let all = choices(&entries, &built_in);
        let file = Some(Path::new("mine/fast.toml"));
        assert_eq!(title(&all, &mine, file), "Fast (yours)");
        let mut edited = mine.clone();
        edited.workload = crate::spec::WorkloadSpec::Cpu { compute_us: 11 };
        assert_eq!(title(&all, &edited, file), "Fast (yours), edited");
        // A configuration from nowhere in the list is named as it is.
        let other = preset("Elsewhere", 7);
        assert_eq!(loaded_index(&all, &other, None), None);
        assert_eq!(title(&all, &other, None), "Elsewhere");
    }
}
