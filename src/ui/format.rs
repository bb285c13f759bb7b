//! Numbers as the app shows them: rates, durations, sizes and percentages, with a dash for
//! an unknown (NaN) value. Shared by the table, the hover labels and the live panel so that
//! one figure reads the same everywhere. Pure functions, no egui.

/// Shown for a value that was not measured.
pub const UNKNOWN: &str = "–";

/// Tasks per second: "12345/s", "12.3/s".
pub fn rate(per_s: f64) -> String {
    if !per_s.is_finite() {
        return UNKNOWN.to_owned();
    }
    let decimals = if per_s.abs() >= 100.0 {
        0
    } else if per_s.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{per_s:.decimals$}/s")
}

/// A duration given in microseconds: "850 µs", "9.52 ms", "1.20 s".
pub fn micros(us: f64) -> String {
    if !us.is_finite() {
        return UNKNOWN.to_owned();
    }
    if us.abs() < 1000.0 {
        format!("{us:.0} µs")
    } else if us.abs() < 1_000_000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{:.2} s", us / 1_000_000.0)
    }
}

/// A size in bytes: "512 KiB", "12.5 MiB", "7.81 GiB".
pub fn bytes(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KIB * KIB {
        format!("{:.0} KiB", b / KIB)
    } else if b < KIB * KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else {
        format!("{:.2} GiB", b / (KIB * KIB * KIB))
    }
}

/// CPUs kept busy (process CPU time over wall time): "1.93 CPUs".
pub fn cpus(utilization: f64) -> String {
    if !utilization.is_finite() {
        return UNKNOWN.to_owned();
    }
    format!("{utilization:.2} CPUs")
}

/// A plain number with `decimals` decimals, or a dash.
pub fn number(value: f64, decimals: usize) -> String {
    if value.is_finite() {
        format!("{value:.decimals$}")
    } else {
        UNKNOWN.to_owned()
    }
}

/// Seconds left: "45 s", "3 min 20 s".
pub fn seconds_left(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return UNKNOWN.to_owned();
    }
    let whole = seconds.round() as u64;
    if whole < 60 {
        format!("{whole} s")
    } else if whole < 3600 {
        format!("{} min {} s", whole / 60, whole % 60)
    } else {
        format!("{} h {} min", whole / 3600, whole % 3600 / 60)
    }
}

/// A path for display, with the home folder written as `~`.
pub fn home_relative(path: &std::path::Path) -> String {
    match std::env::home_dir().and_then(|home| path.strip_prefix(home).ok().map(|p| p.to_owned())) {
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}

/// A file-name-safe version of a name: lower case, words joined by '-'.
pub fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "preset".to_owned()
    } else {
        slug.to_owned()
    }
}

/// A point's peak RSS: pooltune's own, and for a process pool "+ … workers", the sum of its
/// worker processes' peaks.
pub fn peak_rss(p: &crate::result::Point) -> String {
    match p.workers_peak_rss_bytes {
        Some(workers) => format!("{} + {} workers", bytes(p.peak_rss_bytes), bytes(workers)),
        None => bytes(p.peak_rss_bytes),
    }
}

/// Where a preset named `name` is saved when no file is typed: `<slug>.toml` in the user's
/// presets folder (or the current folder when there is none).
pub fn default_preset_path(name: &str) -> std::path::PathBuf {
    let file = format!("{}.toml", slug(name));
    match crate::spec::user_presets_dir() {
        Some(dir) => dir.join(file),
        None => std::path::PathBuf::from(file),
    }
}

/// The machine a result was measured on, in one line: `build-7 · AMD EPYC 7763 · 8 usable
/// CPUs, 4 physical, 8 logical`. A host name or CPU brand that was not recorded (results
/// written before they were) is said to be unknown rather than left out.
pub fn machine(machine: &crate::machine::MachineInfo) -> String {
    format!(
        "{} · {} · {} usable CPUs, {} physical, {} logical",
        recorded(&machine.host_name, "host name"),
        recorded(&machine.cpu_brand, "CPU model"),
        machine.usable_cpus,
        machine.physical_cpus,
        machine.logical_cpus
    )
}

/// `text` as recorded in a result, or "`what` not recorded" when it is empty (results
/// written before it was recorded): unknown is said, never left out.
fn recorded(text: &str, what: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        format!("{what} not recorded")
    } else {
        text.to_owned()
    }
}

/// The full path of a file written or read, for a message: `path` made absolute against the
/// current folder (as the OS resolved it), unchanged when that fails.
pub fn full_path(path: &std::path::Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}

/// The title of a PNG export, drawn above its plots and written in the PNG's `Title`
/// chunk: what ran (`name`), the machine (host name, CPU brand) and when it started,
/// `cpu-bound · build-1 (AMD EPYC 7B13) · 2026-12-02 16:30 UTC`. A host name or CPU brand
/// that was not recorded is said to be so, as [`machine`] says it.
pub fn plot_title(
    name: &str,
    machine: &crate::machine::MachineInfo,
    started_unix_s: u64,
) -> String {
    format!(
        "{name} · {} ({}) · {}",
        recorded(&machine.host_name, "host name"),
        recorded(&machine.cpu_brand, "CPU model"),
        utc_minute(started_unix_s)
    )
}

/// Seconds since the Unix epoch as `2026-12-02 16:30 UTC` (Hinnant's days-to-civil, for
/// the proleptic Gregorian calendar; no time-zone database is read).
pub fn utc_minute(unix_s: u64) -> String {
    let days = (unix_s / 86_400) as i64;
    let minutes = (unix_s % 86_400) / 60;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        // `date -u -d @1796229000`: Wed Dec  2 16:30:00 UTC 2026.
        assert_eq!(utc_minute(1_796_229_000), "2026-12-02 16:30 UTC");
        // A leap day, and the last minute of a century leap year.
        assert_eq!(utc_minute(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_minute(978_307_199), "2000-12-31 23:59 UTC");
    }

    #[test]
    fn a_title_names_what_ran_where_and_when_and_what_was_not_recorded() {
        let mut machine = crate::export::fixtures::machine();
        assert_eq!(
            plot_title("cpu-bound", &machine, 1_796_229_000),
            "cpu-bound · test-host (test CPU) · 2026-12-02 16:30 UTC"
        );
        machine.host_name = " ".into();
        machine.cpu_brand.clear();
        assert_eq!(
            plot_title("cpu-bound", &machine, 0),
            "cpu-bound · host name not recorded (CPU model not recorded) · 1970-01-01 00:00 UTC"
        );
    }

    #[test]
    fn a_machine_reads_in_one_line_and_says_what_was_not_recorded() {
        let mut m = crate::machine::MachineInfo::detect();
        m.host_name = "build-7".into();
        m.cpu_brand = "AMD EPYC 7763".into();
        m.usable_cpus = 8;
        m.physical_cpus = 4;
        m.logical_cpus = 8;
        assert_eq!(
            machine(&m),
            "build-7 · AMD EPYC 7763 · 8 usable CPUs, 4 physical, 8 logical"
        );
        m.host_name = String::new();
        m.cpu_brand = " ".into();
        assert!(
            machine(&m).starts_with("host name not recorded · CPU model not recorded · "),
            "{}",
            machine(&m)
        );
    }

    #[test]
    fn a_relative_path_is_shown_in_full() {
        let shown = full_path(std::path::Path::new("out.json"));
        let expected = std::env::current_dir().unwrap().join("out.json");
        assert_eq!(shown, expected.display().to_string());
        assert_eq!(full_path(std::path::Path::new("/tmp/x.csv")), "/tmp/x.csv");
    }

    #[test]
    fn unknown_values_are_a_dash() {
        assert_eq!(rate(f64::NAN), UNKNOWN);
        assert_eq!(micros(f64::INFINITY), UNKNOWN);
        assert_eq!(cpus(f64::NAN), UNKNOWN);
    }

    #[test]
    fn units_follow_the_size() {
        assert_eq!(rate(12345.4), "12345/s");
        assert_eq!(rate(12.34), "12.3/s");
        assert_eq!(micros(850.0), "850 µs");
        assert_eq!(micros(9520.0), "9.52 ms");
        assert_eq!(bytes(12 << 20), "12.0 MiB");
        assert_eq!(seconds_left(200.0), "3 min 20 s");
        assert_eq!(seconds_left(7500.0), "2 h 5 min");
    }

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(
            slug("CPU-bound: 2 ms of computation"),
            "cpu-bound-2-ms-of-computation"
        );
        assert_eq!(slug("  ::  "), "preset");
    }
}
