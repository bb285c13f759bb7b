//! `process`: N worker processes (pooltune started again in worker mode), the workload sent
//! once, tasks fed in chunks, results streamed back over pipes.
//!
//! Not built yet: building this pool reports so, and the point fails with that message.

use super::{Pool, TrialFailure, TrialPlan, TrialRun, WorkloadSource};
use crate::preset::Feeding;

/// The first argument that starts pooltune as a pool worker process.
pub const WORKER_MODE_ARG: &str = "__pooltune-worker";

/// A process pool.
pub struct ProcessPool {
    threads: usize,
}

impl ProcessPool {
    /// Starts `processes` worker processes.
    pub fn new(
        processes: usize,
        chunk_size: usize,
        feeding: Feeding,
        source: &WorkloadSource,
    ) -> Result<ProcessPool, String> {
        let _ = (chunk_size, feeding, source);
        Err(format!(
            "the process pool ({processes} processes) is not available in this build yet"
        ))
    }
}

impl Pool for ProcessPool {
    fn threads(&self) -> usize {
        self.threads
    }

    fn run_trial(&mut self, _plan: &TrialPlan<'_>) -> Result<TrialRun, TrialFailure> {
        Err(TrialFailure::Failed(
            "process pool not available".to_owned(),
        ))
    }
}

/// Entry point of a worker process (`pooltune __pooltune-worker ...`); returns the exit code.
pub fn run_worker_process(args: &[String]) -> i32 {
    let _ = args;
    2
}
