//! Live readings for the app's side panel: CPU usage per core and in total, system memory, and
//! this process's resident memory and thread count, taken by one named thread
//! (`pooltune-monitor`) and handed to a callback, plus the bounded [`History`] that keeps the
//! last minute of them for drawing.
//!
//! The monitor refreshes only what the panel draws (CPU usage and memory; never the list of
//! processes, which on a busy machine costs more than everything else together) and never
//! more often than four times a second ([`MIN_INTERVAL`]), so that watching a sweep does not
//! steal the CPU the sweep is measuring. It never imports egui: the app passes a callback that
//! forwards each [`Sample`] to a channel and asks for a repaint.

use std::collections::VecDeque;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, Sender};

use crate::measure;

/// Shortest time between two samples: 4 Hz. sysinfo also needs at least 200 ms between two
/// CPU refreshes for a meaningful usage figure (`sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`).
pub const MIN_INTERVAL: Duration = Duration::from_millis(250);

/// How far back the live panels look.
pub const HISTORY_WINDOW: Duration = Duration::from_secs(60);

/// One reading of the machine and of this process.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// When the reading was taken, measured from the start of the monitor.
    pub at: Duration,
    /// Usage of each logical CPU over the last interval, 0 to 100 %.
    pub per_core_percent: Vec<f32>,
    /// Usage of all CPUs together over the last interval, 0 to 100 %.
    pub total_cpu_percent: f32,
    /// Memory in use on the machine (total minus available), in bytes.
    pub memory_used_bytes: u64,
    /// Memory available to new allocations, in bytes.
    pub memory_available_bytes: u64,
    /// Physical memory of the machine, in bytes.
    pub memory_total_bytes: u64,
    /// Resident memory of this process (VmRSS), in bytes.
    pub process_rss_bytes: u64,
    /// Threads of this process, the sweep's workers included; None where the OS does not say
    /// (Windows).
    pub process_threads: Option<u64>,
}

/// Why the monitor could not start.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// sysinfo cannot read this system's CPU and memory figures.
    #[error("cannot read CPU and memory figures on this system: {0}")]
    Unsupported(String),
    /// The monitor's thread could not be started.
    #[error("could not start the monitor thread: {0}")]
    Spawn(std::io::Error),
}

/// Takes readings. Owns its `sysinfo::System`, which keeps the previous CPU counters that a
/// usage figure is computed from.
pub struct Sampler {
    system: sysinfo::System,
    started: Instant,
}

impl Sampler {
    /// A sampler whose first [`Sampler::sample`] (taken at least [`MIN_INTERVAL`] later) has
    /// meaningful CPU figures.
    pub fn new() -> Result<Sampler, MonitorError> {
        let mut system =
            sysinfo::System::new().map_err(|err| MonitorError::Unsupported(err.to_string()))?;
        // The first refresh only records the counters that the next one is compared with.
        system.refresh_cpu_usage();
        Ok(Sampler {
            system,
            started: Instant::now(),
        })
    }

    /// Refreshes CPU usage and memory (nothing else) and reads this process's RSS and threads.
    pub fn sample(&mut self) -> Sample {
        self.system.refresh_cpu_usage();
        self.system
            .refresh_memory_specifics(sysinfo::MemoryRefreshKind::nothing().with_ram());
        let total = self.system.total_memory();
        let available = self.system.available_memory();
        Sample {
            at: self.started.elapsed(),
            per_core_percent: self
                .system
                .cpus()
                .iter()
                .map(|cpu| cpu.usage().clamp(0.0, 100.0))
                .collect(),
            total_cpu_percent: self.system.global_cpu_usage().clamp(0.0, 100.0),
            memory_used_bytes: total.saturating_sub(available),
            memory_available_bytes: available,
            memory_total_bytes: total,
            process_rss_bytes: measure::current_rss_bytes(),
            process_threads: measure::thread_count(),
        }
    }
}

/// The interval actually used for a requested one: never faster than [`MIN_INTERVAL`].
pub fn clamp_interval(requested: Duration) -> Duration {
    requested.max(MIN_INTERVAL)
}

/// Messages to the monitor thread.
#[derive(Debug, Clone, Copy)]
enum Control {
    Interval(Duration),
    Paused(bool),
    Stop,
}

/// A running monitor thread. Dropping it stops the thread and waits for it.
pub struct Monitor {
    control: Sender<Control>,
    thread: Option<JoinHandle<()>>,
}

impl Monitor {
    /// Starts the `pooltune-monitor` thread, which calls `on_sample` every `interval` (at
    /// least [`MIN_INTERVAL`]) until stopped.
    pub fn spawn(
        interval: Duration,
        mut on_sample: impl FnMut(Sample) + Send + 'static,
    ) -> Result<Monitor, MonitorError> {
        let mut sampler = Sampler::new()?;
        let (control, commands) = crossbeam_channel::unbounded::<Control>();
        let thread = std::thread::Builder::new()
            .name("pooltune-monitor".into())
            .spawn(move || {
                let mut interval = clamp_interval(interval);
                let mut paused = false;
                let mut next = Instant::now() + interval;
                loop {
                    // Waiting on the control channel makes Stop take effect at once.
                    match commands.recv_timeout(next.saturating_duration_since(Instant::now())) {
                        Ok(Control::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                        Ok(Control::Interval(requested)) => {
                            interval = clamp_interval(requested);
                            next = next.min(Instant::now() + interval);
                        }
                        Ok(Control::Paused(value)) => paused = value,
                        Err(RecvTimeoutError::Timeout) => {
                            // While paused the counters still advance, so the first reading
                            // after a pause covers the pause: keep sampling, send nothing.
                            let sample = sampler.sample();
                            if !paused {
                                on_sample(sample);
                            }
                            next = Instant::now() + interval;
                        }
                    }
                }
            })
            .map_err(MonitorError::Spawn)?;
        Ok(Monitor {
            control,
            thread: Some(thread),
        })
    }

    /// Changes the time between samples (clamped to at least [`MIN_INTERVAL`]).
    pub fn set_interval(&self, interval: Duration) {
        let _ = self.control.send(Control::Interval(interval));
    }

    /// Stops or resumes sending samples; the thread keeps its place.
    pub fn set_paused(&self, paused: bool) {
        let _ = self.control.send(Control::Paused(paused));
    }

    /// Stops the thread and waits for it to end.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        let _ = self.control.send(Control::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// The samples of the last [`HISTORY_WINDOW`], oldest first. Bounded both by age and by count,
/// so memory does not grow with uptime whatever the timestamps are.
#[derive(Debug, Clone)]
pub struct History {
    window: Duration,
    capacity: usize,
    samples: VecDeque<Sample>,
}

impl Default for History {
    fn default() -> Self {
        History::last_minute()
    }
}

impl History {
    /// A history of at most `capacity` samples no older than `window` before the newest.
    pub fn new(window: Duration, capacity: usize) -> History {
        History {
            window,
            capacity: capacity.max(1),
            samples: VecDeque::with_capacity(capacity.max(1)),
        }
    }

    /// The last minute at the fastest rate: 60 s / 250 ms = 240 samples, plus the one at the edge.
    pub fn last_minute() -> History {
        let capacity = (HISTORY_WINDOW.as_millis() / MIN_INTERVAL.as_millis()) as usize + 1;
        History::new(HISTORY_WINDOW, capacity)
    }

    /// Adds the newest sample and forgets what has fallen out of the window or the capacity.
    pub fn push(&mut self, sample: Sample) {
        let newest = sample.at;
        self.samples.push_back(sample);
        while self
            .samples
            .front()
            .is_some_and(|oldest| newest.saturating_sub(oldest.at) > self.window)
        {
            self.samples.pop_front();
        }
        while self.samples.len() > self.capacity {
            self.samples.pop_front();
        }
    }

    /// The newest sample.
    pub fn latest(&self) -> Option<&Sample> {
        self.samples.back()
    }

    /// Samples held.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True before the first sample.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Most samples ever held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The samples, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Sample> {
        self.samples.iter()
    }

    /// `[seconds before the newest sample (≤ 0), value]` pairs for a time-series plot.
    pub fn series(&self, value: impl Fn(&Sample) -> f64) -> Vec<[f64; 2]> {
        let Some(newest) = self.latest().map(|s| s.at) else {
            return Vec::new();
        };
        self.samples
            .iter()
            .map(|s| {
                let age = newest.saturating_sub(s.at).as_secs_f64();
                [-age, value(s)]
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_at(ms: u64) -> Sample {
        Sample {
            at: Duration::from_millis(ms),
            per_core_percent: vec![10.0, 20.0],
            total_cpu_percent: 15.0,
            memory_used_bytes: 1,
            memory_available_bytes: 2,
            memory_total_bytes: 3,
            process_rss_bytes: 4,
            process_threads: Some(5),
        }
    }

    #[test]
    fn history_forgets_samples_older_than_its_window() {
        let mut history = History::new(Duration::from_secs(60), 1000);
        for second in 0..=90 {
            history.push(sample_at(second * 1000));
        }
        let oldest = history.iter().next().unwrap().at;
        assert_eq!(oldest, Duration::from_secs(30));
        assert_eq!(history.len(), 61);
        let series = history.series(|s| s.total_cpu_percent as f64);
        assert_eq!(series.first().unwrap()[0], -60.0);
        assert_eq!(series.last().unwrap()[0], 0.0);
    }

    #[test]
    fn history_never_holds_more_than_its_capacity() {
        let mut history = History::last_minute();
        // Equal timestamps would never age out: only the capacity bounds them.
        for _ in 0..10_000 {
            history.push(sample_at(5));
        }
        assert_eq!(history.len(), history.capacity());
        assert_eq!(history.capacity(), 241);
    }

    #[test]
    fn interval_is_never_faster_than_four_hertz() {
        assert_eq!(clamp_interval(Duration::ZERO), MIN_INTERVAL);
        assert_eq!(clamp_interval(Duration::from_millis(100)), MIN_INTERVAL);
        assert_eq!(
            clamp_interval(Duration::from_secs(1)),
            Duration::from_secs(1)
        );
    }

    fn proc_field(file: &str, field: &str) -> u64 {
        std::fs::read_to_string(file)
            .unwrap()
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap()
            .parse()
            .unwrap()
    }

    #[test]
    fn a_sample_agrees_with_proc() {
        let mut sampler = Sampler::new().unwrap();
        std::thread::sleep(MIN_INTERVAL);
        let sample = sampler.sample();

        let stat = std::fs::read_to_string("/proc/stat").unwrap();
        let cores = stat
            .lines()
            .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
            .count();
        assert_eq!(sample.per_core_percent.len(), cores);
        assert!(
            sample
                .per_core_percent
                .iter()
                .chain([&sample.total_cpu_percent])
                .all(|p| (0.0..=100.0).contains(p)),
            "{sample:?}"
        );

        let total = proc_field("/proc/meminfo", "MemTotal:") * 1024;
        assert_eq!(sample.memory_total_bytes, total);
        assert!(sample.memory_used_bytes <= total);
        assert_eq!(
            sample.memory_used_bytes + sample.memory_available_bytes,
            total
        );

        // RSS moves while other tests run: agree within a quarter.
        let rss = proc_field("/proc/self/status", "VmRSS:") * 1024;
        let ratio = sample.process_rss_bytes as f64 / rss as f64;
        assert!((0.75..=1.25).contains(&ratio), "{sample:?} vs {rss}");
        assert!(sample.process_threads.is_some_and(|n| n >= 1));
    }

    fn thread_names() -> Vec<String> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_owned())
            .collect()
    }

    #[test]
    fn the_named_thread_sends_samples_and_stops() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let monitor = Monitor::spawn(Duration::ZERO, move |sample| {
            let _ = tx.send(sample);
        })
        .unwrap();
        let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(!first.per_core_percent.is_empty());
        // The kernel keeps 15 bytes of a thread name.
        assert!(
            thread_names().iter().any(|n| n == "pooltune-monito"),
            "{:?}",
            thread_names()
        );
        monitor.stop();
        // The callback (and its sender) is gone once the thread has ended.
        while rx.try_recv().is_ok() {}
        assert!(matches!(
            rx.try_recv(),
            Err(crossbeam_channel::TryRecvError::Disconnected)
        ));
    }
}
