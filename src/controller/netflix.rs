//! What Netflix concurrency-limits' `WindowedLimit` does before its delegate (`Gradient2Limit`,
//! `VegasLimit`, `AIMDLimit`) sees a sample, mapped onto pooltune's [`Sample`]: the limits are
//! updated once per window with the window's average RTT. Shared by [`super::gradient2`],
//! [`super::vegas`] and [`super::aimd`]; it never changes a limit itself.
//!
//! Source: Netflix/concurrency-limits
//! `concurrency-limits-core/src/main/java/com/netflix/concurrency/limits/limit/WindowedLimit.java`
//! and `window/ImmutableAverageSampleWindow.java` at commit
//! 78a74b9878d38c4c048b0304ce12a162ab7b7222.
//!
//! The mapping: a request's RTT is a task's latency (its start to its end). `WindowedLimit`'s
//! default `AverageSampleWindow` hands the delegate the window's *mean* RTT, so the delegate's
//! `rtt` is [`Sample::latency_mean_us`] (`latency_min_us` is not used: Vegas keeps its own
//! minimum of those means, as in the source). `inflight` (the window's most requests in flight)
//! is the thread count: every worker of a pool with queued work is busy. A window reaches the
//! delegate only when it is ready: at least [`WINDOW_SIZE`] requests; the per-request
//! [`MIN_RTT_THRESHOLD_US`] filter is applied to the mean.

use std::time::Duration;

use super::Sample;

/// `DEFAULT_MIN_WINDOW_TIME` = `DEFAULT_MAX_WINDOW_TIME` = 1 s: one limit update per second.
pub const WINDOW: Duration = Duration::from_secs(1);
/// `DEFAULT_WINDOW_SIZE`: a window with fewer samples is not passed on.
pub const WINDOW_SIZE: u64 = 10;
/// `DEFAULT_MIN_RTT_THRESHOLD` = 100 µs: shorter RTTs are ignored.
pub const MIN_RTT_THRESHOLD_US: f64 = 100.0;

/// What a delegate limit's `onSample(startTime, rtt, inflight, didDrop)` receives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowSample {
    /// The window's mean RTT (task latency), in nanoseconds (`long` in the source).
    pub rtt_ns: i64,
    /// The most requests in flight: the thread count.
    pub inflight: i64,
}

/// The delegate's input for `sample`, or None when `WindowedLimit` would not call it (fewer
/// than [`WINDOW_SIZE`] tasks ended, or their mean latency is under
/// [`MIN_RTT_THRESHOLD_US`]).
pub fn window_sample(sample: &Sample) -> Option<WindowSample> {
    let mean_us = sample.latency_mean_us?;
    if sample.completed < WINDOW_SIZE || mean_us.is_nan() || mean_us < MIN_RTT_THRESHOLD_US {
        return None;
    }
    Some(WindowSample {
        rtt_ns: (mean_us * 1000.0) as i64,
        inflight: sample.threads as i64,
    })
}

/// `Log10RootIntFunction.create(0)`: `max(1, (int) log10(limit))` (so 1 up to 99, 2 up to 999).
pub fn log10_root(limit: i64) -> i64 {
    if limit <= 0 {
        return 1;
    }
    ((limit as f64).log10() as i64).max(1)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A sample at `threads` with `mean_us` latency and enough tasks for a window.
    pub(crate) fn sample(t_s: f64, threads: usize, throughput: f64, mean_us: f64) -> Sample {
        Sample {
            t_s,
            threads,
            duration_s: 1.0,
            completed: throughput as u64,
            throughput_per_s: throughput,
            latency_mean_us: Some(mean_us),
            latency_min_us: Some(mean_us * 0.9),
            latency_p99_us: Some(mean_us * 1.5),
            cpu_time_per_task_us: None,
        }
    }

    #[test]
    fn windows_too_small_or_too_fast_are_not_passed_on() {
        assert_eq!(
            window_sample(&sample(1.0, 8, 1000.0, 2000.0)),
            Some(WindowSample {
                rtt_ns: 2_000_000,
                inflight: 8
            })
        );
        assert_eq!(window_sample(&sample(1.0, 8, 9.0, 2000.0)), None);
        assert_eq!(window_sample(&sample(1.0, 8, 1000.0, 50.0)), None);
        assert_eq!(log10_root(5), 1);
        assert_eq!(log10_root(20), 1);
        assert_eq!(log10_root(100), 2);
        assert_eq!(log10_root(5000), 3);
    }
}
