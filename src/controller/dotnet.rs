//! .NET's thread-pool hill climbing, ported line by line from dotnet/runtime
//! `src/libraries/System.Private.CoreLib/src/System/Threading/PortableThreadPool.HillClimbing.cs`
//! at commit 04326b6dd1bc9da50400d5545a712a785745a869 (`HillClimbing.Update`,
//! `GetWaveComponent`, `ChangeThreadCount`, `ForceChange`), with the defaults of its
//! `CreateHillClimber` (the `System.Threading.ThreadPool.HillClimbing.*` settings unset).
//!
//! The climber adds a square wave (period 4 samples) to its control setting, measures the
//! throughput's component at the wave's frequency with a Goertzel filter over the last
//! 8 waves, and moves the setting by the in-phase part of throughput over threads, at most
//! 4 threads per second of sample and 20 per sample. It is fed one [`Sample`] per interval
//! and never measures anything itself. What is left out, and why: the thread pool's
//! starvation injection (the gate thread adds a thread when queued work made no progress for
//! 500 ms) is not part of `HillClimbing` and is not ported; the event-source logging is
//! dropped. The "refuse a positive move when CPU > 95%" rule is kept, fed by
//! [`Controller::observe_cpu_utilization`] (the replay gives it the measured utilisation).

use std::time::Duration;

use super::seeded::SeededRng;
use super::{Bounds, Controller, Sample};

/// `WavePeriod` default (`CreateHillClimber`): samples per square-wave period.
pub const WAVE_PERIOD: usize = 4;
/// `MaxWaveMagnitude` default: the largest wave, in threads.
pub const MAX_WAVE_MAGNITUDE: i64 = 20;
/// `WaveMagnitudeMultiplier` default, 100 / 100.
pub const WAVE_MAGNITUDE_MULTIPLIER: f64 = 1.0;
/// `WaveHistorySize` default: waves of history in the Goertzel window.
pub const WAVE_HISTORY_SIZE: usize = 8;
/// `Bias` default, 15 / 100: the throughput ratio the climber aims at (`_targetThroughputRatio`).
pub const TARGET_THROUGHPUT_RATIO: f64 = 0.15;
/// `TargetSignalToNoiseRatio` default, 300 / 100.
pub const TARGET_SIGNAL_TO_NOISE_RATIO: f64 = 3.0;
/// `MaxChangePerSecond` default: threads per second of sample.
pub const MAX_CHANGE_PER_SECOND: f64 = 4.0;
/// `MaxChangePerSample` default: threads per sample.
pub const MAX_CHANGE_PER_SAMPLE: f64 = 20.0;
/// `DefaultSampleIntervalMsLow`: the shortest sample, in ms.
pub const SAMPLE_INTERVAL_MS_LOW: u64 = 10;
/// `DefaultSampleIntervalMsHigh`: the longest sample, in ms.
pub const SAMPLE_INTERVAL_MS_HIGH: u64 = 200;
/// `ErrorSmoothingFactor` default, 1 / 100.
pub const ERROR_SMOOTHING_FACTOR: f64 = 0.01;
/// `GainExponent` default, 200 / 100.
pub const GAIN_EXPONENT: f64 = 2.0;
/// `MaxSampleErrorPercent` default, 15 / 100.
pub const MAX_SAMPLE_ERROR: f64 = 0.15;
/// `PortableThreadPool.CpuUtilizationHigh`: above this busy percentage a move up is refused.
pub const CPU_UTILIZATION_HIGH: f64 = 95.0;
/// The sample the climber asks for when the last one was too short to trust (`return
/// (currentThreadCount, 10)`), in ms.
const ACCUMULATE_SAMPLE_MS: u64 = 10;

/// The seed of the sample-interval generator when none is given (.NET seeds its `Random`
/// from the clock; a replay wants the same run twice).
pub const DEFAULT_SEED: u64 = 0x00D0_7AE7;

/// A complex number, as much of `System.Numerics.Complex` as the climber uses.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Complex {
    re: f64,
    im: f64,
}

impl Complex {
    fn new(re: f64, im: f64) -> Complex {
        Complex { re, im }
    }
    fn abs(self) -> f64 {
        self.re.hypot(self.im)
    }
    fn scale(self, by: f64) -> Complex {
        Complex::new(self.re * by, self.im * by)
    }
    fn sub(self, other: Complex) -> Complex {
        Complex::new(self.re - other.re, self.im - other.im)
    }
    fn div(self, other: Complex) -> Complex {
        let d = other.re * other.re + other.im * other.im;
        Complex::new(
            (self.re * other.re + self.im * other.im) / d,
            (self.im * other.re - self.re * other.im) / d,
        )
    }
}

/// dotnet/runtime's `PortableThreadPool.HillClimbing` with its default constants; thread
/// counts within [`Bounds`] (`_minThreads`, `_maxThreads`).
#[derive(Debug, Clone)]
pub struct DotnetHillClimbing {
    bounds: Bounds,
    samples_to_measure: usize,
    current_control_setting: f64,
    total_samples: i64,
    last_thread_count: i64,
    average_throughput_noise: f64,
    seconds_elapsed_since_last_change: f64,
    completions_since_last_change: f64,
    accumulated_completion_count: u64,
    accumulated_sample_duration_s: f64,
    samples: Vec<f64>,
    thread_counts: Vec<f64>,
    current_sample_ms: u64,
    next_sample_ms: u64,
    cpu_utilization_percent: f64,
    rng: SeededRng,
}

impl DotnetHillClimbing {
    /// The climber within `bounds`, its sample intervals drawn from [`DEFAULT_SEED`].
    pub fn new(bounds: Bounds) -> DotnetHillClimbing {
        DotnetHillClimbing::with_seed(bounds, DEFAULT_SEED)
    }

    /// The climber within `bounds`, its sample intervals drawn from `seed`.
    pub fn with_seed(bounds: Bounds, seed: u64) -> DotnetHillClimbing {
        let samples_to_measure = WAVE_PERIOD * WAVE_HISTORY_SIZE;
        let mut rng = SeededRng::new(seed);
        let current_sample_ms = rng.int_inclusive(SAMPLE_INTERVAL_MS_LOW, SAMPLE_INTERVAL_MS_HIGH);
        DotnetHillClimbing {
            bounds,
            samples_to_measure,
            current_control_setting: 0.0,
            total_samples: 0,
            last_thread_count: 0,
            average_throughput_noise: 0.0,
            seconds_elapsed_since_last_change: 0.0,
            completions_since_last_change: 0.0,
            accumulated_completion_count: 0,
            accumulated_sample_duration_s: 0.0,
            samples: vec![0.0; samples_to_measure],
            thread_counts: vec![0.0; samples_to_measure],
            current_sample_ms,
            next_sample_ms: current_sample_ms,
            cpu_utilization_percent: 0.0,
            rng,
        }
    }

    fn index(&self, from_end: usize, i: usize) -> usize {
        // (_totalSamples - numSamples + i) % _samplesToMeasure; total_samples >= numSamples.
        ((self.total_samples as usize) - from_end + i) % self.samples_to_measure
    }

    /// `GetWaveComponent`: the Goertzel filter's output at `period` over the last
    /// `num_samples` entries of `series`.
    fn wave_component(&self, series: &[f64], num_samples: usize, period: f64) -> Complex {
        let w = 2.0 * std::f64::consts::PI / period;
        let cos = w.cos();
        let coeff = 2.0 * cos;
        let (mut q1, mut q2) = (0.0, 0.0);
        for i in 0..num_samples {
            let q0 = coeff * q1 - q2 + series[self.index(num_samples, i)];
            q2 = q1;
            q1 = q0;
        }
        Complex::new(q1 - q2 * cos, q2 * w.sin()).scale(1.0 / num_samples as f64)
    }

    fn change_thread_count(&mut self, new_thread_count: i64) {
        self.last_thread_count = new_thread_count;
        self.current_sample_ms = self
            .rng
            .int_inclusive(SAMPLE_INTERVAL_MS_LOW, SAMPLE_INTERVAL_MS_HIGH);
        self.seconds_elapsed_since_last_change = 0.0;
        self.completions_since_last_change = 0.0;
    }

    fn force_change(&mut self, new_thread_count: i64) {
        if self.last_thread_count != new_thread_count {
            self.current_control_setting += (new_thread_count - self.last_thread_count) as f64;
            self.change_thread_count(new_thread_count);
        }
    }

    /// `HillClimbing.Update`: the new thread count and the next sample's length in ms.
    pub fn update(
        &mut self,
        current_thread_count: usize,
        sample_duration_s: f64,
        num_completions: u64,
    ) -> (usize, u64) {
        let current = current_thread_count as i64;
        let min_threads = self.bounds.min as i64;
        let max_threads = self.bounds.max.max(self.bounds.min) as i64;
        if current != self.last_thread_count {
            self.force_change(current);
        }
        self.seconds_elapsed_since_last_change += sample_duration_s;
        self.completions_since_last_change += num_completions as f64;

        let sample_duration_s = sample_duration_s + self.accumulated_sample_duration_s;
        let num_completions = num_completions + self.accumulated_completion_count;

        // The count is off by up to threadCount - 1 work items; accumulate until that is
        // under 15 % (the source's long comment on why the frequency analysis cannot filter it).
        if self.total_samples > 0
            && (current as f64 - 1.0) / num_completions as f64 >= MAX_SAMPLE_ERROR
        {
            self.accumulated_sample_duration_s = sample_duration_s;
            self.accumulated_completion_count = num_completions;
            return (current_thread_count, ACCUMULATE_SAMPLE_MS);
        }
        self.accumulated_sample_duration_s = 0.0;
        self.accumulated_completion_count = 0;

        let throughput = num_completions as f64 / sample_duration_s;
        let sample_index = (self.total_samples as usize) % self.samples_to_measure;
        self.samples[sample_index] = throughput;
        self.thread_counts[sample_index] = current as f64;
        self.total_samples += 1;

        let mut ratio = Complex::default();
        let mut confidence = 0.0;

        let period = WAVE_PERIOD;
        let sample_count = ((self.total_samples - 1).min(self.samples_to_measure as i64) as usize)
            / period
            * period;
        if sample_count > period {
            let mut sample_sum = 0.0;
            let mut thread_sum = 0.0;
            for i in 0..sample_count {
                let at = self.index(sample_count, i);
                sample_sum += self.samples[at];
                thread_sum += self.thread_counts[at];
            }
            let average_throughput = sample_sum / sample_count as f64;
            let average_thread_count = thread_sum / sample_count as f64;
            if average_throughput > 0.0 && average_thread_count > 0.0 {
                let n = sample_count as f64;
                let adjacent_period_1 = n / ((n / period as f64) + 1.0);
                let adjacent_period_2 = n / ((n / period as f64) - 1.0);
                let throughput_wave = self
                    .wave_component(&self.samples, sample_count, period as f64)
                    .scale(1.0 / average_throughput);
                let mut throughput_error_estimate = self
                    .wave_component(&self.samples, sample_count, adjacent_period_1)
                    .scale(1.0 / average_throughput)
                    .abs();
                if adjacent_period_2 <= n {
                    throughput_error_estimate = throughput_error_estimate.max(
                        self.wave_component(&self.samples, sample_count, adjacent_period_2)
                            .scale(1.0 / average_throughput)
                            .abs(),
                    );
                }
                let thread_wave = self
                    .wave_component(&self.thread_counts, sample_count, period as f64)
                    .scale(1.0 / average_thread_count);
                if self.average_throughput_noise == 0.0 {
                    self.average_throughput_noise = throughput_error_estimate;
                } else {
                    self.average_throughput_noise = ERROR_SMOOTHING_FACTOR
                        * throughput_error_estimate
                        + (1.0 - ERROR_SMOOTHING_FACTOR) * self.average_throughput_noise;
                }
                if thread_wave.abs() > 0.0 {
                    ratio = throughput_wave
                        .sub(thread_wave.scale(TARGET_THROUGHPUT_RATIO))
                        .div(thread_wave);
                }
                let noise_for_confidence =
                    self.average_throughput_noise.max(throughput_error_estimate);
                confidence = if noise_for_confidence > 0.0 {
                    (thread_wave.abs() / noise_for_confidence) / TARGET_SIGNAL_TO_NOISE_RATIO
                } else {
                    1.0 // there is no noise
                };
            }
        }

        let mut movement = ratio.re.clamp(-1.0, 1.0);
        movement *= confidence.clamp(0.0, 1.0);
        let gain = MAX_CHANGE_PER_SECOND * sample_duration_s;
        movement = movement.abs().powf(GAIN_EXPONENT) * movement.signum_or_one() * gain;
        movement = movement.min(MAX_CHANGE_PER_SAMPLE);
        if movement > 0.0 && self.cpu_utilization_percent > CPU_UTILIZATION_HIGH {
            movement = 0.0;
        }
        self.current_control_setting += movement;

        let mut wave_magnitude = (0.5
            + self.current_control_setting
                * self.average_throughput_noise
                * TARGET_SIGNAL_TO_NOISE_RATIO
                * WAVE_MAGNITUDE_MULTIPLIER
                * 2.0) as i64;
        wave_magnitude = wave_magnitude.clamp(1, MAX_WAVE_MAGNITUDE);

        self.current_control_setting = self
            .current_control_setting
            .min((max_threads - wave_magnitude) as f64)
            .max(min_threads as f64);

        let square = (self.total_samples / (period as i64 / 2)) % 2;
        let mut new_thread_count =
            (self.current_control_setting + (wave_magnitude * square) as f64) as i64;
        new_thread_count = new_thread_count.min(max_threads).max(min_threads);

        if new_thread_count != current {
            self.change_thread_count(new_thread_count);
        }
        let new_sample_ms = if ratio.re < 0.0 && new_thread_count == min_threads {
            (0.5 + self.current_sample_ms as f64 * (10.0 * (-ratio.re).min(1.0))) as u64
        } else {
            self.current_sample_ms
        };
        (new_thread_count as usize, new_sample_ms)
    }
}

/// C#'s `(move >= 0.0 ? 1 : -1)`: the sign, with 0 counted as positive.
trait SignumOrOne {
    fn signum_or_one(self) -> f64;
}

impl SignumOrOne for f64 {
    fn signum_or_one(self) -> f64 {
        if self >= 0.0 { 1.0 } else { -1.0 }
    }
}

impl Controller for DotnetHillClimbing {
    fn name(&self) -> &'static str {
        "dotnet-hill-climbing"
    }

    /// .NET starts its pool at `_minThreads` (the processor count by default); here the
    /// bounds' minimum.
    fn initial_threads(&self) -> usize {
        self.bounds.min
    }

    fn sample_interval(&self) -> Duration {
        Duration::from_millis(self.next_sample_ms.max(1))
    }

    fn next_threads(&mut self, sample: &Sample) -> usize {
        let (threads, sample_ms) = self.update(sample.threads, sample.duration_s, sample.completed);
        self.next_sample_ms = sample_ms;
        self.bounds.clamp(threads)
    }

    fn observe_cpu_utilization(&mut self, busy_percent: f64) {
        self.cpu_utilization_percent = busy_percent;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds the climber `seconds` of a curve `throughput(threads)` with relative noise
    /// `noise`; returns (sample duration, control setting before, after, threads) per sample.
    fn drive(
        climber: &mut DotnetHillClimbing,
        seconds: f64,
        noise: f64,
        throughput: impl Fn(usize) -> f64,
    ) -> Vec<(f64, f64, f64, usize)> {
        let mut rng = SeededRng::new(11);
        let mut threads = climber.initial_threads();
        let mut t_s = 0.0;
        let mut steps = Vec::new();
        while t_s < seconds {
            let duration_s = climber.sample_interval().as_secs_f64();
            t_s += duration_s;
            let rate = throughput(threads) * (1.0 + noise * rng.normal()).max(0.0);
            let completed = (rate * duration_s).round() as u64;
            let before = climber.current_control_setting;
            let sample = Sample {
                t_s,
                threads,
                duration_s,
                completed,
                throughput_per_s: completed as f64 / duration_s,
                latency_mean_us: None,
                latency_min_us: None,
                latency_p99_us: None,
                cpu_time_per_task_us: None,
            };
            threads = climber.next_threads(&sample);
            steps.push((duration_s, before, climber.current_control_setting, threads));
        }
        steps
    }

    #[test]
    fn moves_at_most_its_limits_per_sample_and_climbs_a_rising_curve() {
        let bounds = Bounds { min: 2, max: 1000 };
        let mut climber = DotnetHillClimbing::new(bounds);
        // Rising all the way: 1000 tasks/s per thread.
        let steps = drive(&mut climber, 60.0, 0.02, |n| 1000.0 * n as f64);
        let mut accumulated_s = 0.0;
        // The first sample initialises the control setting to the pool's count (ForceChange).
        assert_eq!(steps[0].2 - steps[0].1, 2.0);
        for &(duration_s, before, after, threads) in &steps[1..] {
            // A sample too short to trust is accumulated into the next one; the gain counts
            // the whole accumulated duration.
            accumulated_s += duration_s;
            let limit = (MAX_CHANGE_PER_SECOND * accumulated_s).min(MAX_CHANGE_PER_SAMPLE);
            assert!(
                after - before <= limit + 1e-9,
                "moved {} in {accumulated_s} s",
                after - before
            );
            if after != before {
                accumulated_s = 0.0;
            }
            assert!((bounds.min..=bounds.max).contains(&threads));
            let ms = (duration_s * 1000.0).round() as u64;
            assert!(
                ms == ACCUMULATE_SAMPLE_MS
                    || (SAMPLE_INTERVAL_MS_LOW..=SAMPLE_INTERVAL_MS_HIGH).contains(&ms),
                "{ms} ms"
            );
        }
        let end = climber.current_control_setting;
        assert!(end > 20.0, "climbed only to {end}");
        // At most 4 threads per second of samples: 60 s cannot take it past 2 + 240.
        assert!(end <= 2.0 + 4.0 * 60.5, "{end}");
    }

    #[test]
    fn refuses_to_climb_when_the_cpus_are_busy() {
        let mut climber = DotnetHillClimbing::new(Bounds { min: 2, max: 1000 });
        climber.observe_cpu_utilization(99.0);
        drive(&mut climber, 30.0, 0.02, |n| 1000.0 * n as f64);
        assert!(
            climber.current_control_setting <= 2.0 + 1e-9,
            "{}",
            climber.current_control_setting
        );
    }

    #[test]
    fn goertzel_finds_the_square_wave() {
        let mut climber = DotnetHillClimbing::new(Bounds { min: 1, max: 100 });
        // A square wave of period 4 (two low, two high) in the last 8 entries.
        let wave = [1.0, 1.0, 3.0, 3.0, 1.0, 1.0, 3.0, 3.0];
        climber.samples[..8].copy_from_slice(&wave);
        climber.total_samples = 8;
        let at_period = climber
            .wave_component(&climber.samples.clone(), 8, 4.0)
            .abs();
        let beside = climber
            .wave_component(&climber.samples.clone(), 8, 8.0 / 3.0)
            .abs();
        assert!(at_period > 0.5, "{at_period}");
        assert!(beside < 1e-9, "{beside}");
    }
}
