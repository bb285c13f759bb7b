//! Calibrated computation (`cpu`), and computation followed by a blocking wait (`blocking`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use super::{TaskCtx, Workload};
use crate::cancel::TrialStop;
use crate::measure::thread_cpu_ns;
use crate::result::Calibration;

/// Iterations between two checks of the stop flag: about 10-50 µs on current CPUs.
const CHECK_EVERY: u64 = 16_384;

/// Longest single sleep inside a blocking wait, so a Stop is seen within this time (the
/// requirement is 200 ms). Not shorter: every slice is a wake-up, and 4096 threads waiting
/// 100 ms each in 20 ms slices were 200 000 wake-ups a second, enough to fill 2 CPUs and make
/// every pool collapse at that count.
const SLEEP_SLICE: Duration = Duration::from_millis(100);

/// Turns microseconds of computation into spin-loop iterations calibrated for this machine.
#[derive(Debug, Clone, Copy)]
pub struct Spinner {
    units_per_us: f64,
}

impl Spinner {
    /// A spinner using the run's calibration.
    pub fn new(calibration: &Calibration) -> Spinner {
        Spinner {
            units_per_us: calibration.spin_units_per_us.max(1e-3),
        }
    }

    /// Iterations for `us` microseconds.
    pub fn units_for(&self, us: f64) -> u64 {
        (us * self.units_per_us).round().max(0.0) as u64
    }

    /// Computes for about `us` microseconds of CPU, returning early when the trial stops.
    pub fn compute_us(&self, us: f64, seed: u64, stop: &TrialStop) -> u64 {
        let mut units = self.units_for(us);
        let mut state = seed | 1;
        while units > 0 {
            let slice = units.min(CHECK_EVERY);
            state = spin(slice, state);
            units -= slice;
            if units > 0 && stop.interrupted() {
                break;
            }
        }
        black_box(state)
    }
}

/// `units` rounds of xorshift64*: a dependent chain the compiler cannot shorten or vectorise.
#[inline]
pub fn spin(units: u64, mut state: u64) -> u64 {
    for _ in 0..units {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state = black_box(state.wrapping_mul(0x2545_F491_4F6C_DD1D));
    }
    state
}

/// Measures spin-loop speed (iterations per µs of this thread's CPU time) and the cost of a
/// timestamp. Takes about 0.2 s. The fastest of several rounds is kept: preemption only ever
/// makes a round look slower, and thread CPU time already excludes time spent descheduled.
pub fn calibrate() -> Calibration {
    calibrate_until(&crate::cancel::CancelToken::new())
}

/// [`calibrate`], cut short after its first round (of five, each some 40 ms) once `cancel`
/// is set: a Stop pressed while a sweep starts is then seen within one round.
pub fn calibrate_until(cancel: &crate::cancel::CancelToken) -> Calibration {
    calibrate_rounds(cancel).0
}

/// The calibration and how many spin rounds it ran.
fn calibrate_rounds(cancel: &crate::cancel::CancelToken) -> (Calibration, u32) {
    const ROUND_UNITS: u64 = 2_000_000;
    let mut best_units_per_us: f64 = 0.0;
    let mut rounds = 0;
    for round in 0..5 {
        if round > 0 && cancel.is_cancelled() {
            break;
        }
        rounds += 1;
        let cpu_before = thread_cpu_ns();
        black_box(spin(ROUND_UNITS, 0x9E37_79B9_7F4A_7C15));
        let cpu_ns = thread_cpu_ns().saturating_sub(cpu_before).max(1);
        best_units_per_us = best_units_per_us.max(ROUND_UNITS as f64 / (cpu_ns as f64 / 1000.0));
    }
    const STAMPS: u32 = 100_000;
    let started = Instant::now();
    for _ in 0..STAMPS {
        black_box(Instant::now());
    }
    let timer_cost_ns = started.elapsed().as_nanos() as f64 / f64::from(STAMPS);
    (
        Calibration {
            spin_units_per_us: best_units_per_us,
            timer_cost_ns,
        },
        rounds,
    )
}

/// Sleeps for `wait_us`, in slices, returning early when the trial stops.
pub fn blocking_wait(wait_us: u64, stop: &TrialStop) {
    let until = Instant::now() + Duration::from_micros(wait_us);
    loop {
        let now = Instant::now();
        if now >= until || stop.interrupted() {
            return;
        }
        std::thread::sleep((until - now).min(SLEEP_SLICE));
    }
}

/// `cpu`: pure computation for `compute_us` per task.
#[derive(Debug)]
pub struct Cpu {
    spinner: Spinner,
    compute_us: u64,
}

impl Cpu {
    /// Computes for `compute_us` per task with the calibrated `spinner`.
    pub fn new(spinner: Spinner, compute_us: u64) -> Self {
        Self {
            spinner,
            compute_us,
        }
    }
}

impl Workload for Cpu {
    fn run_task(&self, ctx: &TaskCtx<'_>) {
        self.spinner
            .compute_us(self.compute_us as f64, ctx.task, ctx.stop);
    }
}

/// `blocking`: the `cpu` task's computation, then a blocking wait standing for I/O.
#[derive(Debug)]
pub struct Blocking {
    compute: Cpu,
    wait_us: u64,
}

impl Blocking {
    /// Computes for `compute_us`, then waits `wait_us`, per task.
    pub fn new(spinner: Spinner, compute_us: u64, wait_us: u64) -> Self {
        Self {
            compute: Cpu::new(spinner, compute_us),
            wait_us,
        }
    }
}

impl Workload for Blocking {
    fn run_task(&self, ctx: &TaskCtx<'_>) {
        self.compute.run_task(ctx);
        blocking_wait(self.wait_us, ctx.stop);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_stop_cuts_calibration_to_one_round_that_still_measures() {
        let (full, rounds) = calibrate_rounds(&crate::cancel::CancelToken::new());
        assert_eq!(rounds, 5);
        let cancel = crate::cancel::CancelToken::new();
        cancel.cancel();
        let (quick, rounds) = calibrate_rounds(&cancel);
        assert_eq!(rounds, 1);
        assert!(
            quick.spin_units_per_us > 0.0
                && quick.spin_units_per_us <= full.spin_units_per_us * 3.0
        );
    }

    use super::*;
    use crate::cancel::CancelToken;

    #[test]
    fn calibrated_compute_takes_the_cpu_time_asked() {
        // On a shared virtual machine the host's steal time can count as this thread's CPU
        // time for a few hundred milliseconds, which makes one calibration read slow (CI once
        // saw 20 ms of compute take 13.6 ms). A wrong calibration is wrong every time, so up to
        // three independent calibrations are tried and one must be within range.
        let mut seen = Vec::new();
        for _ in 0..3 {
            let calibration = calibrate();
            let spinner = Spinner::new(&calibration);
            let stop = TrialStop::new(CancelToken::new(), None);
            // Warm the core, then take the best of a few runs (preemption only adds time).
            spinner.compute_us(5_000.0, 1, &stop);
            let best_us = (0..5)
                .map(|_| {
                    let before = thread_cpu_ns();
                    spinner.compute_us(20_000.0, 7, &stop);
                    (thread_cpu_ns() - before) as f64 / 1000.0
                })
                .fold(f64::INFINITY, f64::min);
            if (14_000.0..30_000.0).contains(&best_us) {
                return;
            }
            seen.push(best_us);
        }
        panic!("20 ms of calibrated compute took {seen:?} µs of CPU in three calibrations");
    }

    #[test]
    fn compute_stops_early_when_cancelled() {
        let calibration = calibrate();
        let spinner = Spinner::new(&calibration);
        let cancel = CancelToken::new();
        cancel.cancel();
        let stop = TrialStop::new(cancel, None);
        let before = thread_cpu_ns();
        spinner.compute_us(2_000_000.0, 1, &stop);
        assert!(
            thread_cpu_ns() - before < 50_000_000,
            "a cancelled 2 s task kept computing"
        );
    }
}
