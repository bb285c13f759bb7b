//! Netflix concurrency-limits' `VegasLimit` with its builder's defaults, ported from
//! Netflix/concurrency-limits
//! `concurrency-limits-core/src/main/java/com/netflix/concurrency/limits/limit/VegasLimit.java`
//! (and `functions/Log10RootIntFunction.java`) at commit
//! 78a74b9878d38c4c048b0304ce12a162ab7b7222, behind `WindowedLimit`'s one-second windows
//! ([`super::netflix`]).
//!
//! RTT input: the window's mean task latency ([`Sample::latency_mean_us`]); the no-load RTT
//! is Vegas' own running minimum of those means (re-probed every `probeMultiplier × limit`
//! windows, jittered), as in the source. `inflight` is the thread count. The probe jitter
//! (`ThreadLocalRandom` in Java) is drawn from a seeded generator so a replay repeats. It
//! never measures; it is fed one [`Sample`] per second.

use std::time::Duration;

use super::netflix::{WINDOW, log10_root, window_sample};
use super::seeded::SeededRng;
use super::{Bounds, Controller, Sample};

/// `Builder.initialLimit` default.
pub const INITIAL_LIMIT: usize = 20;
/// `Builder.maxConcurrency` default.
pub const MAX_CONCURRENCY: usize = 1000;
/// `Builder.smoothing` default.
pub const SMOOTHING: f64 = 1.0;
/// `Builder.probeMultiplier` default.
pub const PROBE_MULTIPLIER: f64 = 30.0;
/// The seed of the probe jitter when none is given.
pub const DEFAULT_SEED: u64 = 0x0000_7E6A;

/// `alphaFunc` default: `3 × log10root(limit)`.
fn alpha(limit: i64) -> i64 {
    3 * log10_root(limit)
}
/// `betaFunc` default: `6 × log10root(limit)`.
fn beta(limit: i64) -> i64 {
    6 * log10_root(limit)
}
/// `thresholdFunc` default: `log10root(limit)`.
fn threshold(limit: i64) -> i64 {
    log10_root(limit)
}
/// `increaseFunc` default: `limit + log10root(limit)`.
fn increase(limit: f64) -> f64 {
    limit + log10_root(limit as i64) as f64
}
/// `decreaseFunc` default: `limit − log10root(limit)`.
fn decrease(limit: f64) -> f64 {
    limit - log10_root(limit as i64) as f64
}

/// `VegasLimit` with its defaults, its limits brought within [`Bounds`].
#[derive(Debug, Clone)]
pub struct Vegas {
    bounds: Bounds,
    max_limit: f64,
    estimated_limit: f64,
    rtt_noload_ns: i64,
    probe_count: u64,
    probe_jitter: f64,
    rng: SeededRng,
}

impl Vegas {
    /// The defaults within `bounds`, the probe jitter drawn from [`DEFAULT_SEED`].
    pub fn new(bounds: Bounds) -> Vegas {
        Vegas::with_seed(bounds, DEFAULT_SEED)
    }

    /// The defaults within `bounds`, the probe jitter drawn from `seed`.
    pub fn with_seed(bounds: Bounds, seed: u64) -> Vegas {
        let mut vegas = Vegas {
            bounds,
            max_limit: bounds.clamp(MAX_CONCURRENCY) as f64,
            estimated_limit: bounds.clamp(INITIAL_LIMIT) as f64,
            rtt_noload_ns: 0,
            probe_count: 0,
            probe_jitter: 0.0,
            rng: SeededRng::new(seed),
        };
        vegas.reset_probe_jitter();
        vegas
    }

    /// The current estimate (a float; the pool runs at its integer part).
    pub fn estimated_limit(&self) -> f64 {
        self.estimated_limit
    }

    fn reset_probe_jitter(&mut self) {
        // ThreadLocalRandom.nextDouble(0.5, 1)
        self.probe_jitter = 0.5 + 0.5 * self.rng.next_f64();
    }

    fn should_probe(&self) -> bool {
        self.probe_jitter * PROBE_MULTIPLIER * self.estimated_limit <= self.probe_count as f64
    }

    /// `_update(startTime, rtt, inflight, didDrop)`: the new limit.
    pub fn update(&mut self, rtt_ns: i64, inflight: i64, did_drop: bool) -> i64 {
        self.probe_count += 1;
        if self.should_probe() {
            self.reset_probe_jitter();
            self.probe_count = 0;
            self.rtt_noload_ns = rtt_ns;
            return self.estimated_limit as i64;
        }
        if self.rtt_noload_ns == 0 || rtt_ns < self.rtt_noload_ns {
            self.rtt_noload_ns = rtt_ns;
            return self.estimated_limit as i64;
        }
        self.update_estimated_limit(rtt_ns, inflight, did_drop)
    }

    fn update_estimated_limit(&mut self, rtt_ns: i64, inflight: i64, did_drop: bool) -> i64 {
        let estimated_limit = self.estimated_limit;
        let queue_size =
            (estimated_limit * (1.0 - self.rtt_noload_ns as f64 / rtt_ns as f64)).ceil() as i64;
        let new_limit = if did_drop {
            decrease(estimated_limit)
        } else if inflight * 2 < estimated_limit as i64 {
            // Prevent upward drift if not close to the limit.
            return estimated_limit as i64;
        } else {
            let limit = estimated_limit as i64;
            if queue_size <= threshold(limit) {
                estimated_limit + beta(limit) as f64 // aggressive increase when no queuing
            } else if queue_size < alpha(limit) {
                increase(estimated_limit)
            } else if queue_size > beta(limit) {
                decrease(estimated_limit)
            } else {
                return estimated_limit as i64; // within the sweet spot
            }
        };
        let new_limit = new_limit.min(self.max_limit).max(1.0);
        let new_limit = (1.0 - SMOOTHING) * estimated_limit + SMOOTHING * new_limit;
        self.estimated_limit = new_limit;
        new_limit as i64
    }
}

impl Controller for Vegas {
    fn name(&self) -> &'static str {
        "netflix-vegas"
    }

    fn initial_threads(&self) -> usize {
        self.estimated_limit as usize
    }

    fn sample_interval(&self) -> Duration {
        WINDOW
    }

    fn next_threads(&mut self, sample: &Sample) -> usize {
        // A thread pool drops nothing: every task runs to its end.
        let limit = match window_sample(sample) {
            Some(window) => self.update(window.rtt_ns, window.inflight, false),
            None => self.estimated_limit as i64,
        };
        self.bounds.clamp(limit.max(1) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::super::netflix::tests::sample;
    use super::*;

    #[test]
    fn grows_without_queueing_and_shrinks_when_latency_grows() {
        let mut vegas = Vegas::new(Bounds { min: 1, max: 1000 });
        let mut threads = vegas.initial_threads();
        // First window: the no-load RTT is learnt, no change.
        threads = vegas.next_threads(&sample(1.0, threads, 5000.0, 16_000.0));
        assert_eq!(threads, 20);
        // Same latency: no queue, so + beta (6 × log10root(20) = 6) per window.
        threads = vegas.next_threads(&sample(2.0, threads, 5000.0, 16_000.0));
        assert_eq!(threads, 26);
        // Latency doubles: queue = ceil(26 × (1 − 1/2)) = 13 > beta = 6, so − 1 per window.
        for t in 3..=8 {
            let before = vegas.estimated_limit();
            threads = vegas.next_threads(&sample(f64::from(t), threads, 5000.0, 32_000.0));
            assert!(vegas.estimated_limit() < before, "window {t}");
        }
        assert_eq!(threads, 20);
    }

    #[test]
    fn a_drop_decreases_and_the_same_seed_repeats() {
        let mut vegas = Vegas::new(Bounds { min: 1, max: 1000 });
        vegas.update(1_000_000, 20, false);
        assert_eq!(vegas.update(2_000_000, 20, true), 19);
        let run = |seed| {
            let mut v = Vegas::with_seed(Bounds { min: 1, max: 1000 }, seed);
            let mut threads = v.initial_threads();
            (1..=400)
                .map(|t| {
                    let mean = 16_000.0 + f64::from(t % 7) * 500.0;
                    threads = v.next_threads(&sample(f64::from(t), threads, 5000.0, mean));
                    threads
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
    }
}
