//! `memory`: each task streams over its worker's buffer, reading and writing every word, so
//! that memory bandwidth (not the core) is the limit once buffers exceed the caches.

use std::sync::Mutex;

use super::{TaskCtx, Workload};

/// Words between two checks of the stop flag (1 MiB).
const CHECK_EVERY_WORDS: usize = 1 << 17;

/// `memory` workload.
pub struct Memory {
    words: usize,
    passes: u32,
    // Allocated on a worker's first task, so a point only pays for the workers it uses.
    slots: Vec<Mutex<Vec<u64>>>,
}

impl Memory {
    /// Prepares `workers` empty slots of `buffer_kib` each.
    pub fn new(buffer_kib: u64, passes: u32, workers: usize) -> Memory {
        Memory {
            words: (buffer_kib as usize).saturating_mul(1024) / 8,
            passes,
            slots: (0..workers).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }
}

impl Workload for Memory {
    fn run_task(&self, ctx: &TaskCtx<'_>) {
        let mut buffer = match self.slots[ctx.worker % self.slots.len()].lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if buffer.len() != self.words {
            // Free the old buffer first, so that the new one may take its place.
            *buffer = Vec::new();
            let what = format!("the buffer of worker {}", ctx.worker);
            match super::try_buffer(self.words, 1u64, &what) {
                Ok(fresh) => *buffer = fresh,
                Err(message) => {
                    ctx.stop.record_error(message);
                    return;
                }
            }
        }
        let add = ctx.task | 1;
        let mut sum = 0u64;
        for _ in 0..self.passes {
            for block in buffer.chunks_mut(CHECK_EVERY_WORDS) {
                for word in block.iter_mut() {
                    *word = word.wrapping_add(add);
                    sum = sum.wrapping_add(*word);
                }
                if ctx.stop.interrupted() {
                    std::hint::black_box(sum);
                    return;
                }
            }
        }
        std::hint::black_box(sum);
    }
}
