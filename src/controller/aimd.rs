//! Netflix concurrency-limits' `AIMDLimit` with its builder's defaults, ported from
//! Netflix/concurrency-limits
//! `concurrency-limits-core/src/main/java/com/netflix/concurrency/limits/limit/AIMDLimit.java`
//! at commit 78a74b9878d38c4c048b0304ce12a162ab7b7222, behind `WindowedLimit`'s one-second
//! windows ([`super::netflix`]).
//!
//! A "drop" here: AIMD is loss-based, and a thread pool rejects nothing, so the only drop it
//! can see is the source's own timeout rule: the window's mean task latency
//! ([`Sample::latency_mean_us`], the `rtt` `WindowedLimit` passes) above [`TIMEOUT`] (5 s).
//! Otherwise it adds one thread per window while at least half the limit is in flight
//! (always, in a pool with queued work). It never measures; it is fed one [`Sample`] per
//! second.

use std::time::Duration;

use super::netflix::{WINDOW, window_sample};
use super::{Bounds, Controller, Sample};

/// `Builder.initialLimit` default.
pub const INITIAL_LIMIT: usize = 20;
/// `Builder.minLimit` default.
pub const MIN_LIMIT: usize = 20;
/// `Builder.maxLimit` default.
pub const MAX_LIMIT: usize = 200;
/// `Builder.backoffRatio` default (the builder allows 0.5 up to, not including, 1).
pub const BACKOFF_RATIO: f64 = 0.9;
/// `DEFAULT_TIMEOUT`: an RTT above this is a drop.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// `AIMDLimit`, its limits brought within [`Bounds`].
#[derive(Debug, Clone)]
pub struct Aimd {
    bounds: Bounds,
    min_limit: i64,
    max_limit: i64,
    backoff_ratio: f64,
    limit: i64,
}

impl Aimd {
    /// The defaults, `minLimit` and `maxLimit` brought within `bounds`.
    pub fn new(bounds: Bounds) -> Aimd {
        Aimd::with_backoff_ratio(bounds, BACKOFF_RATIO)
    }

    /// The defaults with another `backoffRatio` (clamped to the builder's 0.5 ..< 1).
    pub fn with_backoff_ratio(bounds: Bounds, backoff_ratio: f64) -> Aimd {
        Aimd {
            bounds,
            min_limit: bounds.clamp(MIN_LIMIT) as i64,
            max_limit: bounds.clamp(MAX_LIMIT) as i64,
            backoff_ratio: backoff_ratio.clamp(0.5, 0.999),
            limit: bounds.clamp(INITIAL_LIMIT) as i64,
        }
    }

    /// `_update(startTime, rtt, inflight, didDrop)`: the new limit.
    pub fn update(&mut self, rtt_ns: i64, inflight: i64, did_drop: bool) -> i64 {
        let mut current = self.limit;
        if did_drop || rtt_ns > TIMEOUT.as_nanos() as i64 {
            current = (current as f64 * self.backoff_ratio) as i64;
        } else if inflight * 2 >= current {
            current += 1;
        }
        self.limit = current.max(self.min_limit).min(self.max_limit);
        self.limit
    }
}

impl Controller for Aimd {
    fn name(&self) -> &'static str {
        "aimd"
    }

    fn initial_threads(&self) -> usize {
        self.limit as usize
    }

    fn sample_interval(&self) -> Duration {
        WINDOW
    }

    fn next_threads(&mut self, sample: &Sample) -> usize {
        if let Some(window) = window_sample(sample) {
            self.update(window.rtt_ns, window.inflight, false);
        }
        self.bounds.clamp(self.limit.max(0) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::super::netflix::tests::sample;
    use super::*;

    #[test]
    fn adds_one_per_window_and_backs_off_on_a_drop() {
        let bounds = Bounds { min: 1, max: 1000 };
        let mut aimd = Aimd::with_backoff_ratio(bounds, 0.5);
        let mut threads = aimd.initial_threads();
        for t in 1..=40 {
            threads = aimd.next_threads(&sample(f64::from(t), threads, 5000.0, 16_000.0));
        }
        assert_eq!(threads, 60);
        // A drop: the window's mean latency over the 5 s timeout. Backoff 0.5 halves.
        threads = aimd.next_threads(&sample(41.0, threads, 5000.0, 6_000_000.0));
        assert_eq!(threads, 30);
        // The published default backs off by 0.9, and never under minLimit 20.
        let mut default = Aimd::new(bounds);
        for _ in 0..30 {
            default.update(16_000_000, 50, false);
        }
        assert_eq!(default.update(16_000_000, 50, true), 45);
        for _ in 0..20 {
            default.update(16_000_000, 50, true);
        }
        assert_eq!(default.update(16_000_000, 50, true), 20);
    }
}
