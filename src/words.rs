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

#[cfg(test)]
mod tests {
    use super::*;

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
