//! Netflix concurrency-limits' `Gradient2Limit` with its builder's defaults, ported from
//! Netflix/concurrency-limits
//! `concurrency-limits-core/src/main/java/com/netflix/concurrency/limits/limit/Gradient2Limit.java`
//! (and `measurement/ExpAvgMeasurement.java`) at commit
//! 78a74b9878d38c4c048b0304ce12a162ab7b7222, behind `WindowedLimit`'s one-second windows
//! ([`super::netflix`]).
//!
//! RTT input: the window's mean task latency ([`Sample::latency_mean_us`]) is both the
//! "short" RTT and the sample added to the long-term exponential average; `inflight` is the
//! thread count. The limit is the thread count: a pool of N workers has N tasks in flight.
//! It never measures; it is fed one [`Sample`] per second.

use std::time::Duration;

use super::netflix::{WINDOW, window_sample};
use super::{Bounds, Controller, Sample};

/// `Builder.initialLimit` default.
pub const INITIAL_LIMIT: usize = 20;
/// `Builder.minLimit` default.
pub const MIN_LIMIT: usize = 20;
/// `Builder.maxConcurrency` default.
pub const MAX_CONCURRENCY: usize = 200;
/// `Builder.smoothing` default.
pub const SMOOTHING: f64 = 0.2;
/// `Builder.queueSize` default (`concurrency -> 4`).
pub const QUEUE_SIZE: f64 = 4.0;
/// `Builder.longWindow` default: the long-term RTT's exponential window, in samples.
pub const LONG_WINDOW: u32 = 600;
/// `new ExpAvgMeasurement(builder.longWindow, 10)`: samples averaged plainly before the
/// exponential average starts.
pub const LONG_WARMUP_WINDOW: u32 = 10;
/// `Builder.rttTolerance` default.
pub const RTT_TOLERANCE: f64 = 1.5;

/// `ExpAvgMeasurement`: a plain mean over the first `warmup` samples, then an exponential
/// average with factor `2 / (window + 1)`.
#[derive(Debug, Clone)]
pub struct ExpAvg {
    value: f64,
    sum: f64,
    window: u32,
    warmup: u32,
    count: u32,
}

impl ExpAvg {
    /// An empty average.
    pub fn new(window: u32, warmup: u32) -> ExpAvg {
        ExpAvg {
            value: 0.0,
            sum: 0.0,
            window,
            warmup,
            count: 0,
        }
    }

    /// `add`: takes a sample, returns the new value.
    pub fn add(&mut self, sample: f64) -> f64 {
        if self.count < self.warmup {
            self.count += 1;
            self.sum += sample;
            self.value = self.sum / f64::from(self.count);
        } else {
            let factor = 2.0 / (f64::from(self.window) + 1.0);
            self.value = self.value * (1.0 - factor) + sample * factor;
        }
        self.value
    }

    /// `update(current -> current * by)`.
    pub fn scale(&mut self, by: f64) {
        self.value *= by;
    }
}

/// `Gradient2Limit` with its defaults, its limits brought within [`Bounds`].
#[derive(Debug, Clone)]
pub struct Gradient2 {
    bounds: Bounds,
    min_limit: f64,
    max_limit: f64,
    estimated_limit: f64,
    long_rtt: ExpAvg,
}

impl Gradient2 {
    /// The defaults, `minLimit` and `maxConcurrency` brought within `bounds`.
    pub fn new(bounds: Bounds) -> Gradient2 {
        Gradient2 {
            bounds,
            min_limit: bounds.clamp(MIN_LIMIT) as f64,
            max_limit: bounds.clamp(MAX_CONCURRENCY) as f64,
            estimated_limit: bounds.clamp(INITIAL_LIMIT) as f64,
            long_rtt: ExpAvg::new(LONG_WINDOW, LONG_WARMUP_WINDOW),
        }
    }

    /// The current estimate (a float; the pool runs at its integer part).
    pub fn estimated_limit(&self) -> f64 {
        self.estimated_limit
    }

    /// `_update(startTime, rtt, inflight, didDrop)`: the new limit.
    pub fn update(&mut self, rtt_ns: i64, inflight: i64) -> i64 {
        let estimated_limit = self.estimated_limit;
        let queue_size = QUEUE_SIZE;
        let short_rtt = rtt_ns as f64;
        let long_rtt = self.long_rtt.add(rtt_ns as f64);
        // After prolonged load the long RTT can be far above the short one: bring it down
        // faster than the smoothing would.
        if long_rtt / short_rtt > 2.0 {
            self.long_rtt.scale(0.95);
        }
        // Don't grow the limit if we are app limited.
        if (inflight as f64) < estimated_limit / 2.0 {
            return estimated_limit as i64;
        }
        let gradient = (RTT_TOLERANCE * long_rtt / short_rtt).clamp(0.5, 1.0);
        let mut new_limit = estimated_limit * gradient + queue_size;
        new_limit = estimated_limit * (1.0 - SMOOTHING) + new_limit * SMOOTHING;
        new_limit = new_limit.min(self.max_limit).max(self.min_limit);
        self.estimated_limit = new_limit;
        new_limit as i64
    }
}

impl Controller for Gradient2 {
    fn name(&self) -> &'static str {
        "netflix-gradient2"
    }

    fn initial_threads(&self) -> usize {
        self.estimated_limit as usize
    }

    fn sample_interval(&self) -> Duration {
        WINDOW
    }

    fn next_threads(&mut self, sample: &Sample) -> usize {
        let limit = match window_sample(sample) {
            Some(window) => self.update(window.rtt_ns, window.inflight),
            None => self.estimated_limit as i64,
        };
        self.bounds.clamp(limit.max(0) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::super::netflix::tests::sample;
    use super::*;

    #[test]
    fn grows_while_latency_holds_and_shrinks_when_it_grows() {
        let mut limit = Gradient2::new(Bounds { min: 1, max: 1000 });
        let mut threads = limit.initial_threads();
        assert_eq!(threads, INITIAL_LIMIT);
        for t in 1..=30 {
            threads = limit.next_threads(&sample(f64::from(t), threads, 5000.0, 16_000.0));
        }
        let grown = limit.estimated_limit();
        // Each window adds queueSize × smoothing = 0.8 while the gradient is 1.
        assert!((grown - (20.0 + 30.0 * 0.8)).abs() < 1e-9, "{grown}");
        for t in 31..=40 {
            let before = limit.estimated_limit();
            threads = limit.next_threads(&sample(f64::from(t), threads, 5000.0, 64_000.0));
            assert!(
                limit.estimated_limit() < before,
                "window {t}: {before} -> {threads}"
            );
        }
        assert!(threads < 40, "{threads}");
        assert!(threads >= MIN_LIMIT, "{threads}");
    }

    #[test]
    fn holds_when_app_limited_and_stays_within_bounds() {
        let mut limit = Gradient2::new(Bounds { min: 1, max: 22 });
        // Fewer than half the limit in flight: no change.
        assert_eq!(limit.update(1_000_000, 5), 20);
        for t in 1..=20 {
            let next = limit.next_threads(&sample(f64::from(t), 20, 5000.0, 16_000.0));
            assert!(next <= 22, "{next}");
        }
        assert_eq!(limit.next_threads(&sample(21.0, 22, 5000.0, 16_000.0)), 22);
    }

    #[test]
    fn exp_avg_is_a_plain_mean_then_exponential() {
        let mut avg = ExpAvg::new(600, 2);
        assert_eq!(avg.add(10.0), 10.0);
        assert_eq!(avg.add(20.0), 15.0);
        let f = 2.0 / 601.0;
        assert!((avg.add(615.0) - (15.0 * (1.0 - f) + 615.0 * f)).abs() < 1e-12);
    }
}
