//! Small helpers for the words of messages and sentences, shared by the engine and the app
//! (this module imports no GUI code).

/// `count` and the noun that agrees with it: `counted(1, "thread", "threads")` is "1 thread",
/// `counted(2, "worker's", "workers'")` is "2 workers'". English plurals are too irregular
/// (series, processes, possessives) to derive, so both forms are given.
pub fn counted(count: impl Into<u64>, one: &str, many: &str) -> String {
    let count = count.into();
    format!("{count} {}", if count == 1 { one } else { many })
}

/// [`counted`] for a `usize` (thread and worker counts).
pub fn counted_usize(count: usize, one: &str, many: &str) -> String {
    counted(count as u64, one, many)
}

/// A throughput with its unit, for sentences, hover texts and axes: `rate(1905.0, "tasks")` is
/// "1905 tasks/s". Whole units from 100 up, more digits below. From a million up, three
/// significant digits and a prefix, `rate(16_892_923.0, "bytes")` is "16.9 M bytes/s": a
/// program counting bytes reaches rates whose last digits are noise and hard to read.
pub fn rate(per_s: f64, unit: &str) -> String {
    format!("{} {unit}/s", rate_number(per_s))
}

/// The number of [`rate`], without the unit: "1905", "16.9 M".
pub fn rate_number(per_s: f64) -> String {
    let magnitude = per_s.abs();
    for (scale, prefix) in [(1e12, "T"), (1e9, "G"), (1e6, "M")] {
        if magnitude >= scale {
            let scaled = per_s / scale;
            let decimals = if scaled.abs() >= 100.0 {
                0
            } else if scaled.abs() >= 10.0 {
                1
            } else {
                2
            };
            return format!("{scaled:.decimals$} {prefix}");
        }
    }
    if magnitude >= 100.0 {
        format!("{per_s:.0}")
    } else if magnitude >= 1.0 {
        format!("{per_s:.1}")
    } else {
        format!("{per_s:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_keep_small_numbers_and_prefix_large_ones() {
        assert_eq!(rate(1905.4, "tasks"), "1905 tasks/s");
        assert_eq!(rate(999_999.0, "tasks"), "999999 tasks/s");
        assert_eq!(rate(12.34, "tasks"), "12.3 tasks/s");
        assert_eq!(rate(0.5, "runs"), "0.500 runs/s");
        assert_eq!(rate(16_892_923.0, "bytes"), "16.9 M bytes/s");
        assert_eq!(rate(1_690_000.0, "bytes"), "1.69 M bytes/s");
        assert_eq!(rate(169_000_000.0, "bytes"), "169 M bytes/s");
        assert_eq!(rate(2.5e9, "bytes"), "2.50 G bytes/s");
    }

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(counted_usize(1, "thread", "threads"), "1 thread");
        assert_eq!(counted_usize(0, "thread", "threads"), "0 threads");
        assert_eq!(counted_usize(2, "thread", "threads"), "2 threads");
        assert_eq!(counted_usize(1, "worker's", "workers'"), "1 worker's");
        assert_eq!(counted_usize(11, "worker's", "workers'"), "11 workers'");
        assert_eq!(counted(1u32, "series", "series"), "1 series");
    }
}
