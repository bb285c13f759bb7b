//! What one task does: [`WorkloadSpec`], the `[workload]` table of a sweep file and the
//! `workload` of a Rust series, with the check of each of its values. It never decides whether
//! a workload suits a pool or a series kind: that is [`super::rules`].

use serde::{Deserialize, Serialize};

use super::{CommandSpec, ExecSpec, InvalidValue, PythonCallSpec, check_within, invalid, limits};

/// What one task does. Every duration is in microseconds of this machine's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WorkloadSpec {
    /// Pure computation for `compute_us` per task.
    Cpu {
        /// Computation per task (C), calibrated to this machine.
        compute_us: u64,
    },
    /// `compute_us` of computation, then a blocking wait of `wait_us` (a sleep standing for I/O):
    /// the exact model behind N = N_cpu × U × (1 + W/C).
    Blocking {
        /// Computation per task (C).
        compute_us: u64,
        /// Blocking wait per task (W).
        wait_us: u64,
    },
    /// Real file I/O: each task writes `bytes` to a file in a temporary directory and reads it back.
    FileIo {
        /// Size of the file each task writes and reads back.
        bytes: u64,
        /// Call fsync after writing, so the data reaches the device and not only the page cache.
        #[serde(default)]
        fsync: bool,
    },
    /// Streams over a per-worker buffer (read and write), so memory bandwidth is the limit.
    Memory {
        /// Size of each worker's buffer, in KiB; make it larger than the last-level cache.
        buffer_kib: u64,
        /// How many read+write passes each task makes over its buffer.
        #[serde(default = "default_passes")]
        passes: u32,
    },
    /// A fraction of each task's computation runs inside one shared lock (Amdahl's serial part).
    Contended {
        /// Computation per task (C), inside and outside the lock together.
        compute_us: u64,
        /// Fraction of `compute_us` spent holding the shared lock, 0.0 to 1.0.
        serial_fraction: f64,
    },
    /// A simulated interpreter lock: a task computes only while it holds one global lock, which
    /// the holder gives up every `switch_interval_us` and during blocking waits.
    Gil {
        /// Computation per task (C), all of it under the lock.
        compute_us: u64,
        /// Blocking wait per task (W), outside the lock.
        #[serde(default)]
        wait_us: u64,
        /// How long a holder keeps the lock while others wait; CPython's default is 5 ms
        /// (`sys.getswitchinterval()`).
        #[serde(default = "default_switch_interval_us")]
        switch_interval_us: u64,
    },
    /// Each task adds to shared counters by one strategy; the total is checked after each trial.
    SharedState {
        /// How the counters are shared.
        strategy: SharedStrategy,
        /// Counter increments per task.
        #[serde(default = "default_updates_per_task")]
        updates_per_task: u64,
    },
    /// A user's program that runs its own threads, told how many by `{threads}`: one run
    /// per trial (see [`CommandSpec`]). It has no `[pool]`: the program is its own pool.
    Command(CommandSpec),
    /// One child process per task, run by a thread pool (see [`ExecSpec`]).
    Exec(ExecSpec),
    /// A user's Python function called per task by a CPython pool (see [`PythonCallSpec`]).
    Python(PythonCallSpec),
    /// A Rust closure measured by a program that uses pooltune as a library
    /// ([`crate::Tuner`]): written into that program's results so they say what ran, never
    /// read from a preset file (the closure lives in the program, not in the file).
    Closure {
        /// The closure's Rust type (`std::any::type_name`), which names the function it was
        /// written in, such as `tune_closure::main::{{closure}}`.
        #[serde(default)]
        function: String,
    },
}

fn default_passes() -> u32 {
    1
}
fn default_switch_interval_us() -> u64 {
    5000
}
fn default_updates_per_task() -> u64 {
    1000
}

/// How `shared_state` tasks share their counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SharedStrategy {
    /// One global counter behind a mutex, locked for every increment.
    Mutex,
    /// One global atomic counter, `fetch_add` for every increment.
    Atomic,
    /// Every increment is a message to one collector thread, which keeps the total.
    Channel,
    /// Each worker counts in its own slot; the slots are merged at the end of the trial.
    ThreadLocal,
}

impl SharedStrategy {
    /// Every strategy, in the order they are usually compared.
    pub const ALL: [SharedStrategy; 4] = [
        SharedStrategy::Mutex,
        SharedStrategy::Atomic,
        SharedStrategy::Channel,
        SharedStrategy::ThreadLocal,
    ];

    /// The name used in preset files.
    pub fn as_str(self) -> &'static str {
        match self {
            SharedStrategy::Mutex => "mutex",
            SharedStrategy::Atomic => "atomic",
            SharedStrategy::Channel => "channel",
            SharedStrategy::ThreadLocal => "thread_local",
        }
    }
}

impl WorkloadSpec {
    /// The kind name used in preset files (`cpu`, `blocking`, ...).
    pub fn kind_name(&self) -> &'static str {
        match self {
            WorkloadSpec::Cpu { .. } => "cpu",
            WorkloadSpec::Blocking { .. } => "blocking",
            WorkloadSpec::FileIo { .. } => "file_io",
            WorkloadSpec::Memory { .. } => "memory",
            WorkloadSpec::Contended { .. } => "contended",
            WorkloadSpec::Gil { .. } => "gil",
            WorkloadSpec::SharedState { .. } => "shared_state",
            WorkloadSpec::Command(_) => "command",
            WorkloadSpec::Exec(_) => "exec",
            WorkloadSpec::Python(_) => "python",
            WorkloadSpec::Closure { .. } => "closure",
        }
    }

    /// Why a worker process of the process pool cannot rebuild and run this workload, or None
    /// when it can: the one statement of that rule, read by [`super::rules`] (a preset is
    /// refused at load) and by the process pool (a workload built in code, at run time).
    pub fn worker_process_refusal(&self) -> Option<String> {
        match self {
            WorkloadSpec::SharedState { .. } => Some(format!(
                "the process pool cannot run {}: its counters live in memory shared by the \
                 threads of one process, and worker processes share none",
                self.kind_name()
            )),
            WorkloadSpec::Exec(_) => Some(
                "the process pool cannot run exec: each task is already a process of its own"
                    .to_owned(),
            ),
            WorkloadSpec::Command(_) | WorkloadSpec::Python(_) => Some(format!(
                "the process pool cannot run {}: it is not a built-in workload",
                self.kind_name()
            )),
            WorkloadSpec::Closure { .. } => Some(
                "the process pool cannot run a closure: its worker processes rebuild their \
                 workload from a spec, and a closure lives only in the program that made it"
                    .to_owned(),
            ),
            _ => None,
        }
    }

    /// The kinds pooltune builds itself ([`WorkloadSpec::is_built_in`]), for the app's picker.
    pub const BUILT_IN_KIND_NAMES: [&'static str; 7] = [
        "cpu",
        "blocking",
        "file_io",
        "memory",
        "contended",
        "gil",
        "shared_state",
    ];

    /// Every workload kind name a file may write, for error messages and pickers: the
    /// built-in kinds, then a user's program, command per task and Python function.
    pub const KIND_NAMES: [&'static str; 10] = {
        const USERS: [&str; 3] = ["command", "exec", "python"];
        let built_in = WorkloadSpec::BUILT_IN_KIND_NAMES;
        let mut all = [""; 10];
        let mut i = 0;
        while i < all.len() {
            all[i] = if i < built_in.len() {
                built_in[i]
            } else {
                USERS[i - built_in.len()]
            };
            i += 1;
        }
        all
    };

    /// True for the workloads pooltune builds itself (and a process pool's workers can
    /// rebuild from their spec); false for a user's program, command per task or function.
    pub fn is_built_in(&self) -> bool {
        !matches!(
            self,
            WorkloadSpec::Command(_)
                | WorkloadSpec::Exec(_)
                | WorkloadSpec::Python(_)
                | WorkloadSpec::Closure { .. }
        )
    }

    /// The configured computation (C) and wait (W) per task in microseconds, where the preset
    /// states them; shown beside the measured values.
    pub fn configured_compute_wait_us(&self) -> Option<(u64, u64)> {
        match *self {
            WorkloadSpec::Cpu { compute_us } => Some((compute_us, 0)),
            WorkloadSpec::Blocking {
                compute_us,
                wait_us,
            } => Some((compute_us, wait_us)),
            WorkloadSpec::Contended { compute_us, .. } => Some((compute_us, 0)),
            WorkloadSpec::Gil {
                compute_us,
                wait_us,
                ..
            } => Some((compute_us, wait_us)),
            WorkloadSpec::FileIo { .. }
            | WorkloadSpec::Memory { .. }
            | WorkloadSpec::SharedState { .. }
            | WorkloadSpec::Command(_)
            | WorkloadSpec::Exec(_)
            | WorkloadSpec::Python(_)
            | WorkloadSpec::Closure { .. } => None,
        }
    }
}

fn check_task_us(field: &str, value: u64, min: u64) -> Result<(), InvalidValue> {
    let max = limits::MAX_TASK_US;
    check_within(
        field,
        value,
        (min, max),
        format!("{min} to {max} microseconds (10 s)"),
    )
}

impl WorkloadSpec {
    /// Checks the workload's values; `max_threads` is the largest thread count of the sweep.
    pub fn validate(
        &self,
        max_threads: usize,
        available_memory_bytes: u64,
    ) -> Result<(), InvalidValue> {
        use limits::*;
        match *self {
            WorkloadSpec::Cpu { compute_us } => check_task_us("workload.compute_us", compute_us, 0),
            WorkloadSpec::Blocking {
                compute_us,
                wait_us,
            } => {
                check_task_us("workload.compute_us", compute_us, 0)?;
                check_task_us("workload.wait_us", wait_us, 0)
            }
            WorkloadSpec::FileIo { bytes, .. } => {
                check_within(
                    "workload.bytes",
                    bytes,
                    (1, MAX_FILE_BYTES),
                    format!("1 to {MAX_FILE_BYTES} bytes (1 GiB)"),
                )?;
                // Each worker keeps a write buffer and a read-back buffer of `bytes`.
                let buffers = 2 * max_threads.max(1) as u64;
                let needed = bytes.saturating_mul(buffers);
                if needed > available_memory_bytes {
                    return Err(invalid(
                        "workload.bytes",
                        bytes,
                        format!(
                            "at most {} bytes per task, so that {} write and read-back buffers fit in the {} MiB of memory available",
                            available_memory_bytes / buffers,
                            crate::words::counted_usize(max_threads, "worker's", "workers'"),
                            available_memory_bytes >> 20
                        ),
                    ));
                }
                Ok(())
            }
            WorkloadSpec::Memory { buffer_kib, passes } => {
                let per_worker = buffer_kib.saturating_mul(1024);
                let needed = per_worker.saturating_mul(max_threads as u64);
                if buffer_kib == 0 || needed > available_memory_bytes {
                    return Err(invalid(
                        "workload.buffer_kib",
                        buffer_kib,
                        format!(
                            "1 to {} KiB, so that {} buffers fit in the {} MiB of memory available",
                            (available_memory_bytes / max_threads.max(1) as u64) / 1024,
                            crate::words::counted_usize(max_threads, "worker's", "workers'"),
                            available_memory_bytes >> 20
                        ),
                    ));
                }
                check_within(
                    "workload.passes",
                    passes,
                    (1, MAX_PASSES),
                    format!("1 to {MAX_PASSES}"),
                )
            }
            WorkloadSpec::Contended {
                compute_us,
                serial_fraction,
            } => {
                check_task_us("workload.compute_us", compute_us, 0)?;
                check_within(
                    "workload.serial_fraction",
                    serial_fraction,
                    (0.0, 1.0),
                    "a fraction from 0.0 to 1.0",
                )
            }
            WorkloadSpec::Gil {
                compute_us,
                wait_us,
                switch_interval_us,
            } => {
                check_task_us("workload.compute_us", compute_us, 0)?;
                check_task_us("workload.wait_us", wait_us, 0)?;
                let (lo, hi) = SWITCH_INTERVAL_US;
                check_within(
                    "workload.switch_interval_us",
                    switch_interval_us,
                    SWITCH_INTERVAL_US,
                    format!("{lo} to {hi} microseconds (CPython's default is 5000)"),
                )
            }
            WorkloadSpec::SharedState {
                updates_per_task, ..
            } => check_within(
                "workload.updates_per_task",
                updates_per_task,
                (1, MAX_UPDATES_PER_TASK),
                format!("1 to {MAX_UPDATES_PER_TASK}"),
            ),
            WorkloadSpec::Command(ref command) => command.validate(),
            WorkloadSpec::Exec(ref exec) => exec.validate(),
            WorkloadSpec::Python(ref call) => call.validate(),
            WorkloadSpec::Closure { .. } => Err(invalid(
                "workload.kind",
                "closure",
                format!(
                    "one of {}: a closure is measured by the Rust program that defines it \
                     (pooltune::Tuner, see README \"Your Rust closure\"); `closure` appears \
                     only in that program's results",
                    Self::KIND_NAMES.join(", ")
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `file_io` worker holds a write buffer and a read-back buffer of `bytes` each.
    #[test]
    fn file_io_bytes_count_both_buffers_of_every_worker() {
        let spec = WorkloadSpec::FileIo {
            bytes: 600,
            fsync: false,
        };
        let err = spec.validate(1, 1000).unwrap_err();
        assert_eq!(err.field, "workload.bytes");
        assert!(err.allowed.contains("at most 500 bytes"), "{err}");
        assert!(spec.validate(1, 1200).is_ok());
        let err = spec.validate(4, 4000).unwrap_err();
        assert!(err.allowed.contains("at most 500 bytes"), "{err}");
        assert!(err.allowed.contains("4 workers' write"), "{err}");
        // One worker is said in the singular.
        let err = spec.validate(1, 1000).unwrap_err();
        assert!(err.allowed.contains("1 worker's write"), "{err}");
        let memory = WorkloadSpec::Memory {
            buffer_kib: 4,
            passes: 1,
        };
        let err = memory.validate(1, 1024).unwrap_err();
        assert!(
            err.allowed.contains("so that 1 worker's buffers fit"),
            "{err}"
        );
    }
}
