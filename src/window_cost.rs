//! What the desktop window costs the machine it measures on: frames drawn and CPU time of the
//! window's own threads over the last [`SPAN`], split into the app's threads (the main
//! thread, which lays out and draws, and the monitor) and the software renderer's (Mesa's
//! `llvmpipe-*`), read from this process's `/proc/self/task/*/stat` (Linux; elsewhere there
//! is no reading and the status says so).
//!
//! It is engine-side: it never imports egui and never draws; the app calls [`WindowCost::frame`]
//! once a frame and shows [`WindowCost::summary`]. It reads only this process's own `/proc`
//! entries (through `crate::platform::procfs`), at most once a second, and never another
//! process's.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How far back the window-cost line looks (issue 16: "CPU of the last 10 s").
pub const SPAN: Duration = Duration::from_secs(10);

/// Least time between two readings of `/proc` (a reading opens one file per thread).
const READ_EVERY: Duration = Duration::from_secs(1);

/// CPU time (user + system) of the window's threads since they started, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ThreadTimes {
    /// The main thread (layout and drawing) and the monitor thread (`pooltune-monitor`).
    pub app_s: f64,
    /// The software OpenGL renderer's threads (`llvmpipe-*`); zero with a hardware driver,
    /// whose work is done by the GPU and its driver outside this process's threads.
    pub renderer_s: f64,
}

/// Which of the window's kinds a thread is, from its id and name (`comm`): the main thread
/// is the one whose id is the process id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadKind {
    /// The main thread or the monitor.
    App,
    /// A thread of Mesa's llvmpipe renderer.
    Renderer,
    /// Anything else: the engine, the pool's workers, the windowing library's helpers.
    Other,
}

/// The kind of thread `tid` named `comm` in process `pid`. Linux cuts names to 15 bytes,
/// so the monitor appears as `pooltune-monito`.
pub fn thread_kind(pid: u32, tid: u32, comm: &str) -> ThreadKind {
    if comm.starts_with("llvmpipe") {
        ThreadKind::Renderer
    } else if tid == pid || comm.starts_with("pooltune-monit") {
        ThreadKind::App
    } else {
        ThreadKind::Other
    }
}

/// The name and the CPU ticks (utime + stime) of one `/proc/…/task/TID/stat` line, or None
/// when it does not read as one. The name is in parentheses and may hold spaces or `)`,
/// so the fields are counted from the last `)` (proc(5): utime is field 14, stime 15).
pub fn parse_stat(line: &str) -> Option<(String, u64)> {
    let open = line.find('(')?;
    let close = line.rfind(')')?;
    let comm = line.get(open + 1..close)?.to_owned();
    let mut fields = line.get(close + 1..)?.split_whitespace();
    // After the name: state is field 3, so utime (14) is the 12th and stime the 13th.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((comm, utime + stime))
}

/// The window's threads' CPU time now, from `/proc/self/task/*/stat`.
pub fn thread_times() -> std::io::Result<ThreadTimes> {
    let pid = std::process::id();
    // `/proc`'s stat fields are in the same clock ticks as `/proc/stat`'s (Linux; elsewhere
    // the folder is missing and the reading fails below).
    let ticks_per_s = crate::platform::cpu_ticks_per_s();
    let mut times = ThreadTimes::default();
    for (tid, line) in crate::platform::procfs::thread_stat_lines()? {
        let Some((comm, ticks)) = parse_stat(&line) else {
            continue;
        };
        let seconds = ticks as f64 / ticks_per_s;
        match thread_kind(pid, tid, &comm) {
            ThreadKind::App => times.app_s += seconds,
            ThreadKind::Renderer => times.renderer_s += seconds,
            ThreadKind::Other => {}
        }
    }
    Ok(times)
}

/// What the window cost over the last [`SPAN`] (or since it opened, when sooner).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostSummary {
    /// Frames drawn per second.
    pub frames_per_s: f64,
    /// CPU of the app's threads, in percent of one core.
    pub app_percent: f64,
    /// CPU of the renderer's threads, in percent of one core.
    pub renderer_percent: f64,
    /// The seconds these figures cover.
    pub span_s: f64,
}

/// One reading: when, the threads' CPU time then, and frames drawn until then.
#[derive(Debug, Clone, Copy)]
struct Reading {
    at: Instant,
    times: ThreadTimes,
    frames: u64,
}

/// Frames and thread CPU time of the last [`SPAN`], read at most once a second.
pub struct WindowCost {
    readings: VecDeque<Reading>,
    frames: u64,
    read: fn() -> std::io::Result<ThreadTimes>,
    unavailable: Option<String>,
}

impl Default for WindowCost {
    fn default() -> Self {
        WindowCost::with_reader(thread_times)
    }
}

impl WindowCost {
    /// A counter reading thread times with `read` (tests give a fake clock of CPU time).
    pub fn with_reader(read: fn() -> std::io::Result<ThreadTimes>) -> WindowCost {
        WindowCost {
            readings: VecDeque::new(),
            frames: 0,
            read,
            unavailable: None,
        }
    }

    /// Counts a frame drawn at `now`, and reads the threads' CPU time when the last reading
    /// is a second old. Costs nothing between frames: there is no timer.
    pub fn frame(&mut self, now: Instant) {
        self.frames += 1;
        let due = self
            .readings
            .back()
            .is_none_or(|last| now.saturating_duration_since(last.at) >= READ_EVERY);
        if !due || self.unavailable.is_some() {
            return;
        }
        match (self.read)() {
            Ok(times) => self.readings.push_back(Reading {
                at: now,
                times,
                frames: self.frames,
            }),
            Err(err) => self.unavailable = Some(format!("no window cost: {err}")),
        }
        // Keep one reading at or before the start of the span, so the span is covered whole.
        while self.readings.len() > 2
            && self
                .readings
                .get(1)
                .is_some_and(|second| now.saturating_duration_since(second.at) >= SPAN)
        {
            self.readings.pop_front();
        }
    }

    /// Why there are no figures (no `/proc` here), once a reading failed.
    pub fn unavailable(&self) -> Option<&str> {
        self.unavailable.as_deref()
    }

    /// The figures of the readings kept, or None before two readings a second apart.
    /// Frames are those drawn between the first and the last reading.
    pub fn summary(&self) -> Option<CostSummary> {
        let first = self.readings.front()?;
        let last = self.readings.back()?;
        let span_s = last.at.saturating_duration_since(first.at).as_secs_f64();
        if span_s < 0.5 {
            return None;
        }
        let percent = |from: f64, to: f64| ((to - from) / span_s * 100.0).max(0.0);
        Some(CostSummary {
            frames_per_s: (last.frames - first.frames) as f64 / span_s,
            app_percent: percent(first.times.app_s, last.times.app_s),
            renderer_percent: percent(first.times.renderer_s, last.times.renderer_s),
            span_s,
        })
    }
}

/// The window-cost line of the app's status.
pub fn summary_line(summary: &CostSummary) -> String {
    format!(
        "Window: {:.1} frames/s · CPU {:.1}% app + {:.1}% renderer of one core (last {:.0} s)",
        summary.frames_per_s, summary.app_percent, summary.renderer_percent, summary.span_s
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_reads_its_name_and_ticks_even_with_spaces_and_parentheses() {
        let line = "4242 (llvmpipe-0) S 1 2 3 4 5 6 7 8 9 10 250 40 0 0 20 0 1 0";
        assert_eq!(parse_stat(line), Some(("llvmpipe-0".to_owned(), 290)));
        let odd = "7 (a b) c)) R 1 2 3 4 5 6 7 8 9 10 3 4 0 0";
        assert_eq!(parse_stat(odd), Some(("a b) c)".to_owned(), 7)));
        assert_eq!(parse_stat("7 (cut) R 1 2"), None);
        assert_eq!(parse_stat("no parentheses"), None);
    }

    #[test]
    fn threads_are_told_apart_by_id_and_name() {
        assert_eq!(thread_kind(10, 10, "pooltune"), ThreadKind::App);
        assert_eq!(thread_kind(10, 12, "pooltune-monito"), ThreadKind::App);
        assert_eq!(thread_kind(10, 13, "llvmpipe-1"), ThreadKind::Renderer);
        assert_eq!(thread_kind(10, 14, "pooltune-worker"), ThreadKind::Other);
        assert_eq!(thread_kind(10, 15, "pooltune-sweep"), ThreadKind::Other);
    }

    #[test]
    fn this_process_reads_its_own_main_thread_time() {
        // Burn some CPU on the test's thread; the main thread is not it, so only check that
        // the reading works and is not negative.
        let times = thread_times().unwrap();
        assert!(times.app_s >= 0.0 && times.renderer_s == 0.0, "{times:?}");
    }

    thread_local! {
        static FAKE_CPU: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
    }

    fn fake_reader() -> std::io::Result<ThreadTimes> {
        let app_s = FAKE_CPU.with(|c| c.get());
        Ok(ThreadTimes {
            app_s,
            renderer_s: app_s * 2.0,
        })
    }

    #[test]
    fn the_summary_is_frames_and_cpu_over_the_last_ten_seconds() {
        FAKE_CPU.with(|c| c.set(0.0));
        let mut cost = WindowCost::with_reader(fake_reader);
        let start = Instant::now();
        cost.frame(start);
        assert_eq!(cost.summary(), None, "one reading is no span");
        // 30 s at 4 frames a second, 0.01 s of app CPU per second (1%).
        for tick in 1..=120u32 {
            let now = start + Duration::from_millis(u64::from(tick) * 250);
            FAKE_CPU.with(|c| c.set(f64::from(tick) * 0.0025));
            cost.frame(now);
        }
        let summary = cost.summary().unwrap();
        assert!(
            (summary.span_s - 10.0).abs() < 1.01,
            "the span is the last 10 s: {summary:?}"
        );
        assert!((summary.frames_per_s - 4.0).abs() < 0.5, "{summary:?}");
        assert!((summary.app_percent - 1.0).abs() < 0.1, "{summary:?}");
        assert!((summary.renderer_percent - 2.0).abs() < 0.2, "{summary:?}");
        // Frames do not read /proc more than once a second.
        assert!(cost.readings.len() <= 12, "{}", cost.readings.len());
    }
}
