//! `contended`: part of each task's computation runs inside one shared lock, the serial
//! fraction of Amdahl's law. With serial fraction s, throughput cannot exceed 1/(s·C)
//! however many threads run.

use std::sync::Mutex;

use super::compute::Spinner;
use super::{TaskCtx, Workload};

/// `contended` workload.
pub struct Contended {
    spinner: Spinner,
    parallel_us: f64,
    serial_us: f64,
    lock: Mutex<u64>,
}

impl Contended {
    /// Splits `compute_us` into a parallel part and a part under the shared lock.
    pub fn new(spinner: Spinner, compute_us: u64, serial_fraction: f64) -> Contended {
        let total = compute_us as f64;
        Contended {
            spinner,
            parallel_us: total * (1.0 - serial_fraction),
            serial_us: total * serial_fraction,
            lock: Mutex::new(0),
        }
    }
}

impl Workload for Contended {
    fn run_task(&self, ctx: &TaskCtx<'_>) {
        let local = self
            .spinner
            .compute_us(self.parallel_us, ctx.task, ctx.stop);
        let mut shared = match self.lock.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *shared = shared.wrapping_add(self.spinner.compute_us(self.serial_us, local, ctx.stop));
    }
}
