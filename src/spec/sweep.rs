//! Which thread counts to try, how many trials and how long each is: the `[sweep]` table shared
//! by sweep files and comparison files. It never knows what runs at those thread counts.

use serde::{Deserialize, Serialize};

use super::{InvalidValue, check_within, invalid, limits};

/// The largest thread count a sweep may ask for: far past any useful pool on a desktop, low
/// enough that a typo (100000) is refused before the OS is asked for that many threads.
pub const MAX_THREADS: usize = 4096;

/// The largest count a sweep may ask for: [`MAX_THREADS`] for every pool of threads or
/// processes (a rule of [`super::rules`]), this for an async pool, whose count is a
/// concurrency (tasks in flight, a few hundred bytes each), not threads.
pub const MAX_CONCURRENCY: usize = 65_536;

/// Which thread counts to try, how many trials, and how long each trial is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// How the thread counts are chosen: `grid` (every count of `threads` or `threads_range`,
    /// in order; the default) or `adaptive` (a search within `threads_range`, see
    /// [`crate::search`]).
    #[serde(default, skip_serializing_if = "SearchKind::is_grid")]
    pub search: SearchKind,
    /// Adaptive search only: a count is measured again while its 95% CI half-width is above
    /// this fraction of its mean and the answer depends on it (default
    /// [`DEFAULT_TARGET_CI`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_ci: Option<f64>,
    /// An explicit list of thread counts, tried in the order given. Use this or `threads_range`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<Vec<usize>>,
    /// A range of thread counts. Use this or `threads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads_range: Option<ThreadRange>,
    /// Measured trials per thread count (at least 3, for a confidence interval).
    #[serde(default = "default_trials")]
    pub trials: u32,
    /// Tasks per trial. Use this or `trial_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks_per_trial: Option<u64>,
    /// Length of a trial in milliseconds. Use this or `tasks_per_trial`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_ms: Option<u64>,
    /// Unmeasured warm-up before the trials of each thread count, in milliseconds.
    #[serde(default = "default_warmup_ms")]
    pub warmup_ms: u64,
    /// How many times a trial during which other processes used the CPUs (more than
    /// [`crate::trust::DISTURBED_MEAN_CPUS`]) is measured again before it is kept; 0 never.
    #[serde(default = "default_retry_disturbed")]
    pub retry_disturbed: u32,
}

fn default_trials() -> u32 {
    3
}
fn default_retry_disturbed() -> u32 {
    1
}
fn default_warmup_ms() -> u64 {
    200
}

/// The default `target_ci` of an adaptive search: 3% of the mean, below the model's 5% knee
/// tolerance so that a count within it can be told from one outside.
pub const DEFAULT_TARGET_CI: f64 = 0.03;
/// The `target_ci` values allowed: from 0.1% (many trials) to 50% (almost none added).
pub const TARGET_CI: (f64, f64) = (0.001, 0.5);

/// How a sweep chooses its thread counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchKind {
    /// Every count of the list or range, in order.
    #[default]
    Grid,
    /// Grow, narrow and validate within the range, measuring only where the answer is.
    Adaptive,
}

impl SearchKind {
    /// True for the grid (the default, not written out).
    pub fn is_grid(&self) -> bool {
        *self == SearchKind::Grid
    }
}

/// A range of thread counts: `from` to `to` inclusive, adding `by` (linear) or multiplying by
/// `by` (geometric). `to` is always included even when the step would skip it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadRange {
    /// First thread count.
    pub from: usize,
    /// Last thread count (included).
    pub to: usize,
    /// `linear` (add `by`) or `geometric` (multiply by `by`).
    #[serde(default)]
    pub step: RangeStep,
    /// The increment (linear, default 1) or factor (geometric, default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<usize>,
}

/// How a [`ThreadRange`] steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeStep {
    /// from, from+by, from+2·by, ..., to
    #[default]
    Linear,
    /// from, from·by, from·by², ..., to
    Geometric,
}

/// How long one trial is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrialLength {
    /// A fixed number of tasks.
    Tasks(u64),
    /// A fixed time; as many tasks as fit.
    Millis(u64),
}

impl SweepSpec {
    /// The thread counts to try, in order. Call after [`SweepSpec::validate`]; an invalid spec
    /// gives an empty list.
    ///
    /// For an adaptive search these are only the counts its first phase may grow through
    /// (`from`, ×2, ..., `to`): what it measures depends on what it finds.
    pub fn thread_counts(&self) -> Vec<usize> {
        if let Some(list) = &self.threads {
            return list.clone();
        }
        let Some(range) = &self.threads_range else {
            return Vec::new();
        };
        if range.from == 0 || range.to < range.from {
            return Vec::new();
        }
        if self.search == SearchKind::Adaptive {
            let geometric = ThreadRange {
                step: RangeStep::Geometric,
                by: None,
                ..range.clone()
            };
            let spec = SweepSpec {
                search: SearchKind::Grid,
                threads_range: Some(geometric),
                ..self.clone()
            };
            return spec.thread_counts();
        }
        let mut counts = Vec::new();
        let mut n = range.from;
        match range.step {
            RangeStep::Linear => {
                let by = range.by.unwrap_or(1).max(1);
                while n <= range.to {
                    counts.push(n);
                    n += by;
                }
            }
            RangeStep::Geometric => {
                let by = range.by.unwrap_or(2).max(2);
                while n <= range.to {
                    counts.push(n);
                    n = n.saturating_mul(by);
                }
            }
        }
        if counts.last() != Some(&range.to) {
            counts.push(range.to);
        }
        counts
    }

    /// Tries exactly `counts`, in that order, instead of the file's list or range (the
    /// `--threads` override and the GUI's thread-count field). Call [`SweepSpec::validate`]
    /// after it.
    /// The override always runs a grid: the user named the counts.
    pub fn use_thread_list(&mut self, counts: Vec<usize>) {
        self.threads = Some(counts);
        self.threads_range = None;
        self.search = SearchKind::Grid;
        self.target_ci = None;
    }

    /// The adaptive search's `target_ci`, or its default.
    pub fn target_ci_or_default(&self) -> f64 {
        self.target_ci.unwrap_or(DEFAULT_TARGET_CI)
    }

    /// For trials of a fixed time: how long the whole sweep's warm-ups and trials take, in
    /// milliseconds (calibration, pool start-up and a trial's last tasks come on top). None
    /// for trials of a fixed task count, whose length depends on the machine.
    pub fn timed_length_ms(&self) -> Option<u64> {
        let TrialLength::Millis(trial_ms) = self.trial_length() else {
            return None;
        };
        let per_point = self
            .warmup_ms
            .saturating_add(u64::from(self.trials).saturating_mul(trial_ms));
        Some((self.thread_counts().len() as u64).saturating_mul(per_point))
    }

    /// How long each trial is. Call after [`SweepSpec::validate`].
    pub fn trial_length(&self) -> TrialLength {
        match (self.tasks_per_trial, self.trial_ms) {
            (Some(tasks), _) => TrialLength::Tasks(tasks),
            (None, Some(ms)) => TrialLength::Millis(ms),
            (None, None) => TrialLength::Tasks(0),
        }
    }
}

/// The thread counts a sweep names, as written: a list (`threads`) or a range
/// (`threads_range`), the two keys that exclude each other.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThreadCounts<'a> {
    /// `threads = [1, 2, 4]`: tried in the order given.
    List(&'a [usize]),
    /// `threads_range = { from = 1, to = 8 }`.
    Range(&'a ThreadRange),
}

/// One of two keys that exclude each other, as written.
enum OneOf<A, B> {
    First(A),
    Second(B),
}

/// Which of two keys that exclude each other is written: both is refused at the second key
/// (`both` says what is allowed), neither at the first (`missing` says what to write).
fn one_of<A, B>(
    (first, second): (Option<A>, Option<B>),
    (first_key, second_key): (&str, &str),
    both: &str,
    missing: &str,
) -> Result<OneOf<A, B>, InvalidValue> {
    match (first, second) {
        (Some(_), Some(_)) => Err(invalid(second_key, "(given)", both)),
        (None, None) => Err(invalid(first_key, "(missing)", missing)),
        (Some(first), None) => Ok(OneOf::First(first)),
        (None, Some(second)) => Ok(OneOf::Second(second)),
    }
}

impl SweepSpec {
    /// The thread counts as written; refused when both or neither of `threads` and
    /// `threads_range` are given.
    pub fn written_thread_counts(&self) -> Result<ThreadCounts<'_>, InvalidValue> {
        let written = one_of(
            (self.threads.as_deref(), self.threads_range.as_ref()),
            ("sweep.threads", "sweep.threads_range"),
            "either `threads` (a list) or `threads_range`, not both",
            "a list such as [1, 2, 4, 8] or a `threads_range = { from = 1, to = 8 }`",
        )?;
        Ok(match written {
            OneOf::First(list) => ThreadCounts::List(list),
            OneOf::Second(range) => ThreadCounts::Range(range),
        })
    }

    /// The trial length as written; refused when both or neither of `tasks_per_trial` and
    /// `trial_ms` are given.
    pub fn written_trial_length(&self) -> Result<TrialLength, InvalidValue> {
        let written = one_of(
            (self.tasks_per_trial, self.trial_ms),
            ("sweep.tasks_per_trial", "sweep.trial_ms"),
            "either `tasks_per_trial` or `trial_ms`, not both",
            "a number of tasks per trial, or `trial_ms` for a trial of fixed length",
        )?;
        Ok(match written {
            OneOf::First(tasks) => TrialLength::Tasks(tasks),
            OneOf::Second(ms) => TrialLength::Millis(ms),
        })
    }

    /// Checks thread counts, trials and trial length.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        self.validate_counts_and_trials()?;
        self.validate_trial_length()?;
        self.validate_warmup_and_retries()
    }

    /// Checks a sweep whose trial is one run of a program (`kind = "command"`): only thread
    /// counts and trials are needed. A trial length is checked only where written (a
    /// comparison's other series use it); a command series does not.
    pub fn validate_runs(&self) -> Result<(), InvalidValue> {
        self.validate_counts_and_trials()?;
        if self.tasks_per_trial.is_some() || self.trial_ms.is_some() {
            self.validate_trial_length()?;
        }
        self.validate_warmup_and_retries()
    }

    fn validate_counts_and_trials(&self) -> Result<(), InvalidValue> {
        use limits::*;
        self.validate_search()?;
        match self.written_thread_counts()? {
            ThreadCounts::List(list) => {
                if list.is_empty() {
                    return Err(invalid(
                        "sweep.threads",
                        "[]",
                        "at least one thread count, such as [1, 2, 4, 8]",
                    ));
                }
                if list.len() > MAX_POINTS {
                    return Err(invalid(
                        "sweep.threads",
                        format!("a list of {}", list.len()),
                        format!("at most {MAX_POINTS} thread counts"),
                    ));
                }
                for &n in list {
                    check_within(
                        "sweep.threads",
                        n,
                        (1, MAX_CONCURRENCY),
                        format!(
                            "thread counts from 1 to {MAX_THREADS} (to {MAX_CONCURRENCY} on an async pool)"
                        ),
                    )?;
                }
            }
            ThreadCounts::Range(range) => self.validate_range(range)?,
        }
        let (lo, hi) = TRIALS;
        check_within(
            "sweep.trials",
            self.trials,
            TRIALS,
            format!("{lo} to {hi} (three or more give a confidence interval)"),
        )
    }

    fn validate_trial_length(&self) -> Result<(), InvalidValue> {
        use limits::*;
        match self.written_trial_length()? {
            TrialLength::Tasks(tasks) => check_within(
                "sweep.tasks_per_trial",
                tasks,
                (1, MAX_TASKS_PER_TRIAL),
                format!("1 to {MAX_TASKS_PER_TRIAL}"),
            )?,
            TrialLength::Millis(ms) => {
                let (lo, hi) = TRIAL_MS;
                check_within(
                    "sweep.trial_ms",
                    ms,
                    TRIAL_MS,
                    format!("{lo} to {hi} milliseconds"),
                )?;
            }
        }
        Ok(())
    }

    fn validate_warmup_and_retries(&self) -> Result<(), InvalidValue> {
        use limits::*;
        check_within(
            "sweep.warmup_ms",
            self.warmup_ms,
            (0, MAX_WARMUP_MS),
            format!("0 to {MAX_WARMUP_MS} milliseconds"),
        )?;
        check_within(
            "sweep.retry_disturbed",
            self.retry_disturbed,
            (0, MAX_RETRY_DISTURBED),
            format!("0 (never) to {MAX_RETRY_DISTURBED} repeats of a disturbed trial"),
        )
    }

    /// Checks `search` against the keys it needs: an adaptive search searches a
    /// `threads_range` with no step of its own; `target_ci` belongs to it alone.
    fn validate_search(&self) -> Result<(), InvalidValue> {
        match self.search {
            SearchKind::Grid => {
                if let Some(target) = self.target_ci {
                    return Err(invalid(
                        "sweep.target_ci",
                        target,
                        "only with `search = \"adaptive\"` (a grid measures every count `trials` times)",
                    ));
                }
            }
            SearchKind::Adaptive => {
                if self.threads.is_some() {
                    return Err(invalid(
                        "sweep.threads",
                        "(given)",
                        "a `threads_range = { from = 1, to = 512 }` with `search = \"adaptive\"`: the search picks the counts (or `search = \"grid\"` for a list)",
                    ));
                }
                if let Some(range) = &self.threads_range
                    && (range.by.is_some() || range.step != RangeStep::Linear)
                {
                    let field = if range.by.is_some() {
                        "sweep.threads_range.by"
                    } else {
                        "sweep.threads_range.step"
                    };
                    return Err(invalid(
                        field,
                        "(given)",
                        "only `from` and `to` with `search = \"adaptive\"`: the search chooses its own steps",
                    ));
                }
                let (lo, hi) = TARGET_CI;
                let target = self.target_ci_or_default();
                if !target.is_finite() {
                    return Err(invalid(
                        "sweep.target_ci",
                        target,
                        format!("{lo} to {hi} (a fraction of the mean; 0.03 is 3%)"),
                    ));
                }
                check_within(
                    "sweep.target_ci",
                    target,
                    TARGET_CI,
                    format!("{lo} to {hi} (a fraction of the mean; 0.03 is 3%)"),
                )?;
            }
        }
        Ok(())
    }

    /// Checks a `threads_range`: its ends, its step, and how many counts it makes.
    fn validate_range(&self, range: &ThreadRange) -> Result<(), InvalidValue> {
        use limits::MAX_POINTS;
        check_within(
            "sweep.threads_range.from",
            range.from,
            (1, MAX_CONCURRENCY),
            format!("1 to {MAX_CONCURRENCY}"),
        )?;
        check_within(
            "sweep.threads_range.to",
            range.to,
            (range.from, MAX_CONCURRENCY),
            format!("{} (from) to {MAX_CONCURRENCY}", range.from),
        )?;
        if let Some(by) = range.by {
            let min = match range.step {
                RangeStep::Linear => 1,
                RangeStep::Geometric => 2,
            };
            check_within(
                "sweep.threads_range.by",
                by,
                (min, MAX_CONCURRENCY),
                format!("{min} to {MAX_CONCURRENCY} for a {:?} step", range.step).to_lowercase(),
            )?;
        }
        let count = self.thread_counts().len();
        if count > MAX_POINTS && self.search == SearchKind::Grid {
            return Err(invalid(
                "sweep.threads_range",
                format!("{count} thread counts"),
                format!("at most {MAX_POINTS} thread counts; use a larger `by`"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometric_range_includes_both_ends() {
        let spec = SweepSpec {
            search: Default::default(),
            target_ci: None,
            threads: None,
            threads_range: Some(ThreadRange {
                from: 1,
                to: 24,
                step: RangeStep::Geometric,
                by: None,
            }),
            trials: 3,
            tasks_per_trial: Some(10),
            trial_ms: None,
            warmup_ms: 0,
            retry_disturbed: 1,
        };
        assert_eq!(spec.thread_counts(), vec![1, 2, 4, 8, 16, 24]);
        let linear = SweepSpec {
            threads_range: Some(ThreadRange {
                from: 2,
                to: 7,
                step: RangeStep::Linear,
                by: Some(2),
            }),
            ..spec
        };
        assert_eq!(linear.thread_counts(), vec![2, 4, 6, 7]);
    }

    /// The either/or keys read as one enum each; both or neither refused at the key to fix.
    #[test]
    fn either_or_keys_read_as_one_choice() {
        let mut spec = SweepSpec {
            search: Default::default(),
            target_ci: None,
            threads: Some(vec![1, 2]),
            threads_range: None,
            trials: 3,
            tasks_per_trial: None,
            trial_ms: Some(100),
            warmup_ms: 0,
            retry_disturbed: 1,
        };
        assert_eq!(
            spec.written_thread_counts().unwrap(),
            ThreadCounts::List(&[1, 2])
        );
        assert_eq!(
            spec.written_trial_length().unwrap(),
            TrialLength::Millis(100)
        );
        spec.tasks_per_trial = Some(5);
        let both = spec.written_trial_length().unwrap_err();
        assert_eq!(
            (both.field.as_str(), both.value.as_str()),
            ("sweep.trial_ms", "(given)")
        );
        spec.tasks_per_trial = None;
        spec.trial_ms = None;
        let neither = spec.written_trial_length().unwrap_err();
        assert_eq!(neither.field, "sweep.tasks_per_trial");
        spec.threads_range = Some(ThreadRange {
            from: 1,
            to: 4,
            step: RangeStep::Linear,
            by: None,
        });
        assert_eq!(
            spec.written_thread_counts().unwrap_err().field,
            "sweep.threads_range"
        );
        // The `--threads` override replaces the range with its list.
        spec.use_thread_list(vec![3]);
        assert_eq!(
            spec.written_thread_counts().unwrap(),
            ThreadCounts::List(&[3])
        );
    }

    /// A sweep file whose `[sweep]` is `sweep` (its table starts on line 11).
    fn with_sweep(sweep: &str) -> String {
        format!(
            "schema_version = 1\nname = \"s\"\ndescription = \"\"\n[workload]\nkind = \"blocking\"\ncompute_us = 500\nwait_us = 500\n[pool]\nkind = \"rayon\"\n\n[sweep]\n{sweep}\n"
        )
    }

    fn refusal(sweep: &str) -> String {
        crate::spec::parse(&with_sweep(sweep), std::path::Path::new("test.toml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn adaptive_search_reads_with_its_defaults_and_plans_its_doublings() {
        let preset = crate::spec::parse(
            &with_sweep(
                "search = \"adaptive\"\nthreads_range = { from = 1, to = 512 }\ntrial_ms = 100",
            ),
            std::path::Path::new("test.toml"),
        )
        .unwrap();
        assert_eq!(preset.sweep.search, SearchKind::Adaptive);
        assert_eq!(preset.sweep.target_ci_or_default(), DEFAULT_TARGET_CI);
        // 512 counts of a linear range would be refused; the search's plan is its doublings.
        assert_eq!(
            preset.sweep.thread_counts(),
            vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
        );
        // The `--threads` override forces a grid.
        let mut sweep = preset.sweep.clone();
        sweep.use_thread_list(vec![3, 5]);
        assert_eq!(sweep.search, SearchKind::Grid);
        sweep.validate().unwrap();
    }

    #[test]
    fn bad_search_values_name_the_field_the_line_and_what_is_allowed() {
        let message =
            refusal("search = \"adaptve\"\nthreads_range = { from = 1, to = 8 }\ntrial_ms = 100");
        for part in ["test.toml:12", "sweep.search", "`grid`", "`adaptive`"] {
            assert!(message.contains(part), "{part} in {message}");
        }
        let message = refusal(
            "search = \"adaptive\"\nthreads_range = { from = 1, to = 8 }\ntrial_ms = 100\ntarget_ci = 0.9",
        );
        for part in ["test.toml:15", "sweep.target_ci", "0.9", "0.001 to 0.5"] {
            assert!(message.contains(part), "{part} in {message}");
        }
        let message = refusal("search = \"adaptive\"\nthreads = [1, 2]\ntrial_ms = 100");
        for part in ["test.toml:13", "sweep.threads", "threads_range"] {
            assert!(message.contains(part), "{part} in {message}");
        }
        let message = refusal(
            "search = \"adaptive\"\nthreads_range = { from = 1, to = 8, by = 2 }\ntrial_ms = 100",
        );
        assert!(message.contains("sweep.threads_range.by"), "{message}");
        let message = refusal("threads = [1, 2]\ntrial_ms = 100\ntarget_ci = 0.05");
        for part in ["test.toml:14", "sweep.target_ci", "adaptive"] {
            assert!(message.contains(part), "{part} in {message}");
        }
    }
}
