//! What a tuning loop records, live or replayed: the samples in order, and the figures read
//! from them (where the controller settled, how long it took to get within 5%). Pure
//! functions over recorded samples; nothing here measures.

use serde::{Deserialize, Serialize};

use super::Sample;

/// One sample of a trajectory, as written in `samples[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrajectorySample {
    /// Seconds since tuning started, at the end of the sample.
    pub t_s: f64,
    /// Threads during the sample.
    pub threads: usize,
    /// Tasks completed per second during the sample.
    pub throughput_per_s: f64,
    /// 99th-percentile task latency in µs; null when no task ended in the sample.
    pub latency_p99_us: Option<f64>,
}

impl From<&Sample> for TrajectorySample {
    fn from(sample: &Sample) -> Self {
        TrajectorySample {
            t_s: sample.t_s,
            threads: sample.threads,
            throughput_per_s: sample.throughput_per_s,
            latency_p99_us: sample.latency_p99_us,
        }
    }
}

/// A controller's path: its samples, in order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Trajectory {
    /// The controller's name.
    pub controller: String,
    /// The samples, in order.
    pub samples: Vec<TrajectorySample>,
}

/// The share of a trajectory, at its end, over which "where it settled" is read.
pub const SETTLED_TAIL_SHARE: f64 = 0.2;

impl Trajectory {
    /// The samples of the last [`SETTLED_TAIL_SHARE`] of the run's time (at least one).
    pub fn tail(&self) -> &[TrajectorySample] {
        let Some(last) = self.samples.last() else {
            return &[];
        };
        let from_t = last.t_s * (1.0 - SETTLED_TAIL_SHARE);
        let start = self
            .samples
            .iter()
            .position(|s| s.t_s >= from_t)
            .unwrap_or(self.samples.len() - 1);
        &self.samples[start..]
    }

    /// The thread count it settled on: the median of the tail's thread counts.
    pub fn settled_threads(&self) -> Option<usize> {
        let mut threads: Vec<usize> = self.tail().iter().map(|s| s.threads).collect();
        if threads.is_empty() {
            return None;
        }
        threads.sort_unstable();
        Some(threads[threads.len() / 2])
    }

    /// The throughput it settled at: the mean of the tail's throughput.
    pub fn settled_throughput_per_s(&self) -> Option<f64> {
        let tail = self.tail();
        (!tail.is_empty())
            .then(|| tail.iter().map(|s| s.throughput_per_s).sum::<f64>() / tail.len() as f64)
    }

    /// The first time (the start of the sample, in seconds) from which every later sample's
    /// throughput is at least `(1 - within) × reference`; None when the end is not.
    pub fn time_within_s(&self, reference: f64, within: f64) -> Option<f64> {
        let floor = reference * (1.0 - within);
        let first_good = self
            .samples
            .iter()
            .rposition(|s| s.throughput_per_s < floor)
            .map_or(0, |last_bad| last_bad + 1);
        if first_good >= self.samples.len() {
            return None;
        }
        Some(if first_good == 0 {
            0.0
        } else {
            self.samples[first_good - 1].t_s
        })
    }
    /// Like [`Trajectory::time_within_s`], for the mean of every `window` consecutive
    /// samples instead of each one: the start of the first window from which every later
    /// window's mean throughput is at least `(1 - within) × reference`. A 100 ms sample of a
    /// fixed count scatters by more than 5% on a shared machine; over five samples (0.5 s)
    /// the mean shows whether the controller stayed, not how noisy one sample was. None when
    /// the last window is below the floor or there are fewer than `window` samples.
    pub fn time_within_window_s(&self, reference: f64, within: f64, window: usize) -> Option<f64> {
        let window = window.max(1);
        if self.samples.len() < window {
            return None;
        }
        let floor = reference * (1.0 - within);
        let means: Vec<f64> = self
            .samples
            .windows(window)
            .map(|w| w.iter().map(|s| s.throughput_per_s).sum::<f64>() / window as f64)
            .collect();
        let first_good = means
            .iter()
            .rposition(|&mean| mean < floor)
            .map_or(0, |last_bad| last_bad + 1);
        if first_good >= means.len() {
            return None;
        }
        // Window `i` covers samples i..i + window; it starts where sample i - 1 ended.
        Some(if first_good == 0 {
            0.0
        } else {
            self.samples[first_good - 1].t_s
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(points: &[(f64, usize, f64)]) -> Trajectory {
        Trajectory {
            controller: "test".into(),
            samples: points
                .iter()
                .map(|&(t_s, threads, throughput_per_s)| TrajectorySample {
                    t_s,
                    threads,
                    throughput_per_s,
                    latency_p99_us: None,
                })
                .collect(),
        }
    }

    #[test]
    fn settles_where_the_tail_is_and_counts_time_to_stay_within() {
        let t = path(&[
            (1.0, 1, 10.0),
            (2.0, 2, 20.0),
            (3.0, 4, 96.0),
            (4.0, 8, 90.0), // dips below 95 % of 100: counts as not yet there
            (5.0, 8, 99.0),
            (6.0, 8, 100.0),
            (7.0, 8, 101.0),
            (8.0, 8, 100.0),
            (9.0, 8, 99.0),
            (10.0, 8, 100.0),
        ]);
        assert_eq!(t.settled_threads(), Some(8));
        assert_eq!(t.time_within_s(100.0, 0.05), Some(4.0));
        assert_eq!(t.time_within_s(1000.0, 0.05), None);
        let settled = t.settled_throughput_per_s().unwrap();
        // The tail is the last 20 % of the time: t = 8, 9, 10.
        assert!((settled - 299.0 / 3.0).abs() < 1e-9, "{settled}");
        assert_eq!(Trajectory::default().settled_threads(), None);
    }

    #[test]
    fn a_window_mean_forgives_one_noisy_sample_but_not_a_low_count() {
        let t = path(&[
            (1.0, 1, 10.0),
            (2.0, 64, 97.0),
            (3.0, 64, 90.0), // one noisy sample: the mean of three is 96.3
            (4.0, 64, 102.0),
            (5.0, 64, 99.0),
            (6.0, 64, 100.0),
        ]);
        assert_eq!(t.time_within_s(100.0, 0.05), Some(3.0));
        // Windows of 3 start at samples 0..=3: means 65.7, 96.3, 97.0, 100.3.
        assert_eq!(t.time_within_window_s(100.0, 0.05, 3), Some(1.0));
        assert_eq!(t.time_within_window_s(100.0, 0.05, 1), Some(3.0));
        assert_eq!(t.time_within_window_s(100.0, 0.05, 7), None);
        let low = path(&[(1.0, 32, 90.0), (2.0, 32, 91.0), (3.0, 32, 92.0)]);
        assert_eq!(low.time_within_window_s(100.0, 0.05, 2), None);
    }
}
