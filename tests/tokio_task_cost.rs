//! The worker-cost measurement for real, alone in its process (other tests' allocations
//! would move the RSS it reads): a tokio task costs less resident memory than a thread.

use pooltune::cost::{self, WorkerKind};

#[test]
fn a_tokio_task_costs_less_memory_than_a_thread() {
    let task = cost::measure_tokio_tasks(2000);
    assert_eq!(task.workers, 2000);
    assert!(task.error.is_none(), "{task:?}");
    let thread = cost::measure_threads(8, None);
    assert_eq!(thread.workers, 8);
    eprintln!("tokio task: {task:?}\nthread: {thread:?}");
    // A thread's RSS figure is unknown when every stack was reused (then the stack it
    // reserves, 2 MiB of address space, still dwarfs a task's).
    let thread_bytes = if thread.rss_per_worker_bytes.is_finite() {
        thread.rss_per_worker_bytes
    } else {
        thread.virtual_per_worker_bytes
    };
    assert!(task.rss_per_worker_bytes.is_finite(), "{task:?}");
    assert!(task.rss_per_worker_bytes > 0.0, "{task:?}");
    assert!(
        task.rss_per_worker_bytes < thread_bytes,
        "task {} B, thread {} B",
        task.rss_per_worker_bytes,
        thread_bytes
    );
    assert!(WorkerKind::TokioTask.is_task() && !WorkerKind::RustThread.is_task());
}
