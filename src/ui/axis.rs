//! Axis decisions for the plots, as pure functions: where the labelled marks of a linear axis
//! go (1-2-5 steps far enough apart to be read), how a mark is written, which unit a latency
//! axis is in, how high the data reaches, and how a model curve is cut where it leaves the
//! data's range. No egui here beyond egui_plot's grid types; nothing is drawn.
//!
//! Why: egui_plot's default grid steps by powers of ten and hides labels closer than 20
//! points, so a short latency plot of 0–81 ms showed a single "0"; and its automatic range
//! takes in every line drawn, so a model's bound at 80 000/s squashed data of 5 000–38 000.

use egui_plot::{GridInput, GridMark};

/// egui_plot's default `grid_spacing` minimum: `GridInput::base_step_size` is the value
/// spanned by this many points.
const GRID_SPACING_MIN_PX: f64 = 8.0;

/// Labelled marks at least this far apart (egui_plot fades y labels closer than 30 points).
pub const LABEL_SPACING_PX: f64 = 32.0;

/// The smallest step of the form 1, 2 or 5 × 10^k that is at least `at_least` (positive).
pub fn nice_step(at_least: f64) -> f64 {
    if !(at_least.is_finite() && at_least > 0.0) {
        return 1.0;
    }
    let decade = 10f64.powf(at_least.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * decade)
        // A relative slack, so that 0.3 / 0.1 rounding does not skip a step.
        .find(|step| *step >= at_least * (1.0 - 1e-9))
        .unwrap_or(10.0 * decade)
}

/// The marks of a linear axis: every multiple of a 1-2-5 step inside the bounds, the step
/// chosen so that two labels are at least [`LABEL_SPACING_PX`] apart. Marks outside the
/// bounds are left out: egui_plot labels every mark it is given, even off the plot.
pub fn nice_grid(input: GridInput) -> Vec<GridMark> {
    nice_grid_spaced(input, LABEL_SPACING_PX, 0.0)
}

/// Thread-axis labels (a few digits) at least this far apart, in points.
pub const THREAD_LABEL_SPACING_PX: f64 = 40.0;

/// [`nice_grid`] for the thread axis: labels [`THREAD_LABEL_SPACING_PX`] apart, and a whole
/// number of threads between marks (no "2.5 threads").
pub fn nice_thread_grid(input: GridInput) -> Vec<GridMark> {
    nice_grid_spaced(input, THREAD_LABEL_SPACING_PX, 1.0)
}

/// The marks of a linear axis with labels at least `spacing_px` points apart and a step of at
/// least `least_step`.
fn nice_grid_spaced(input: GridInput, spacing_px: f64, least_step: f64) -> Vec<GridMark> {
    let (min, max) = input.bounds;
    let value_per_px = input.base_step_size.abs() / GRID_SPACING_MIN_PX;
    if !(min.is_finite() && max.is_finite() && max > min && value_per_px > 0.0) {
        return Vec::new();
    }
    let step = nice_step((value_per_px * spacing_px).max(least_step));
    let (first, last) = ((min / step).ceil() as i64, (max / step).floor() as i64);
    if last - first > 1000 {
        return Vec::new();
    }
    (first..=last)
        .map(|k| GridMark {
            value: k as f64 * step,
            step_size: step,
        })
        .collect()
}

/// A mark's label with as many decimals as its step needs: 20 → "20", 0.5 → "0.5",
/// 0.25 → "0.25"; minus zero is written "0".
pub fn tick_label(mark: GridMark) -> String {
    let step = mark.step_size.abs();
    let decimals = if step > 0.0 && step < 1.0 {
        // 0.2 → 1, 0.05 → 2, 0.25 → 2 (a 1-2-5 step has one significant digit).
        (-(step.log10().floor()) as usize).min(9)
    } else {
        0
    };
    let value = if mark.value.abs() < step * 1e-6 {
        0.0
    } else {
        mark.value
    };
    format!("{value:.decimals$}")
}

/// The unit a latency axis is drawn in: the one in which its largest value reads between 1
/// and 1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// Microseconds.
    Micros,
    /// Milliseconds.
    Millis,
    /// Seconds.
    Seconds,
}

impl TimeUnit {
    /// The unit for values up to `max_us` microseconds (milliseconds when nothing is known).
    pub fn for_max_us(max_us: f64) -> TimeUnit {
        if !max_us.is_finite() || max_us <= 0.0 {
            TimeUnit::Millis
        } else if max_us < 1000.0 {
            TimeUnit::Micros
        } else if max_us < 1_000_000.0 {
            TimeUnit::Millis
        } else {
            TimeUnit::Seconds
        }
    }

    /// Its symbol: "µs", "ms", "s".
    pub fn symbol(self) -> &'static str {
        match self {
            TimeUnit::Micros => "µs",
            TimeUnit::Millis => "ms",
            TimeUnit::Seconds => "s",
        }
    }

    /// `us` microseconds in this unit.
    pub fn from_us(self, us: f64) -> f64 {
        match self {
            TimeUnit::Micros => us,
            TimeUnit::Millis => us / 1000.0,
            TimeUnit::Seconds => us / 1_000_000.0,
        }
    }
}

/// Headroom above the highest measured value (its confidence interval included).
pub const DATA_HEADROOM: f64 = 1.15;

/// How high the plot's y axis needs to go for the data: the highest of `tops` times
/// [`DATA_HEADROOM`], or None when there is no finite positive value.
pub fn data_ceiling(tops: impl IntoIterator<Item = f64>) -> Option<f64> {
    let highest = tops
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    (highest > 0.0).then_some(highest * DATA_HEADROOM)
}

/// The parts of `curve` at or under `ceiling`, each ended (or begun) where the curve crosses
/// it, so that a model line runs off the top of the plot instead of stretching its range.
/// Points are `[x, y]` in drawing order.
pub fn clip_to_ceiling(curve: &[[f64; 2]], ceiling: f64) -> Vec<Vec<[f64; 2]>> {
    let mut parts: Vec<Vec<[f64; 2]>> = Vec::new();
    let mut current: Vec<[f64; 2]> = Vec::new();
    let crossing = |a: [f64; 2], b: [f64; 2]| {
        let t = (ceiling - a[1]) / (b[1] - a[1]);
        [a[0] + t * (b[0] - a[0]), ceiling]
    };
    for (i, &point) in curve.iter().enumerate() {
        let below = point[1] <= ceiling;
        let previous = i.checked_sub(1).map(|j| curve[j]);
        match (previous, below) {
            (Some(prev), true) if prev[1] > ceiling => {
                current.push(crossing(prev, point));
                current.push(point);
            }
            (_, true) => current.push(point),
            (Some(prev), false) if prev[1] <= ceiling => {
                current.push(crossing(prev, point));
                parts.push(std::mem::take(&mut current));
            }
            (_, false) => {}
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts.retain(|part| part.len() >= 2);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(min: f64, max: f64, px: f64) -> Vec<f64> {
        marks_of(nice_grid, min, max, px)
    }

    /// The values of the marks `grid` puts on an axis of `min..max` across `px` points.
    fn marks_of(grid: fn(GridInput) -> Vec<GridMark>, min: f64, max: f64, px: f64) -> Vec<f64> {
        // `px` points long: base_step_size is the value spanned by 8 points.
        let base = (max - min) / px * GRID_SPACING_MIN_PX;
        grid(GridInput {
            bounds: (min, max),
            base_step_size: base,
        })
        .into_iter()
        .map(|m| m.value)
        .collect()
    }

    #[test]
    fn a_short_latency_axis_gets_several_readable_labels() {
        // 0–81 ms on a plot 110 points tall: egui_plot's power-of-ten steps labelled only 0.
        let values = marks(-4.0, 85.0, 110.0);
        assert_eq!(values, [0.0, 50.0]);
        let values = marks(-4.0, 85.0, 200.0);
        assert_eq!(values, [0.0, 20.0, 40.0, 60.0, 80.0]);
        // Every two labels at least LABEL_SPACING_PX apart, and inside the bounds.
        for (min, max, px) in [(0.0, 1.0, 90.0), (-3.0, 38_000.0, 300.0), (0.0, 7.0, 500.0)] {
            let values = marks(min, max, px);
            assert!(values.len() >= 2, "{min}..{max} on {px}: {values:?}");
            let gap_px = (values[1] - values[0]) / (max - min) * px;
            assert!(gap_px >= LABEL_SPACING_PX - 1e-9, "{gap_px}");
            assert!(values.iter().all(|v| (min..=max).contains(v)));
        }
    }

    #[test]
    fn the_thread_axis_marks_whole_threads_far_enough_apart_to_read() {
        let threads = |min, max, px| marks_of(nice_thread_grid, min, max, px);
        // 0.5–10.5 threads across 1300 points: every thread, never "2.5".
        assert_eq!(
            threads(0.5, 10.5, 1300.0),
            (1..=10).map(f64::from).collect::<Vec<_>>()
        );
        // Across 330 points (two plots side by side at 1024×700, 125%): every other thread.
        assert_eq!(threads(0.5, 10.5, 330.0), [2.0, 4.0, 6.0, 8.0, 10.0]);
        // 1..512 across 700 points: labels at least 40 points apart.
        let values = threads(1.0, 512.0, 700.0);
        let gap_px = (values[1] - values[0]) / 511.0 * 700.0;
        assert!(gap_px >= THREAD_LABEL_SPACING_PX, "{values:?}");
    }

    #[test]
    fn steps_are_one_two_five() {
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(nice_step(1.0), 1.0);
        assert_eq!(nice_step(1.01), 2.0);
        assert_eq!(nice_step(30.0), 50.0);
        assert_eq!(nice_step(5001.0), 10_000.0);
    }

    #[test]
    fn labels_have_the_decimals_of_their_step() {
        let label = |value, step_size| tick_label(GridMark { value, step_size });
        assert_eq!(label(20.0, 20.0), "20");
        assert_eq!(label(0.5, 0.5), "0.5");
        assert_eq!(label(0.15, 0.05), "0.15");
        assert_eq!(label(-1e-17, 0.1), "0.0");
        assert_eq!(label(35_000.0, 5000.0), "35000");
    }

    #[test]
    fn latency_units_keep_values_between_one_and_a_thousand() {
        assert_eq!(TimeUnit::for_max_us(72.0), TimeUnit::Micros);
        assert_eq!(TimeUnit::for_max_us(81_000.0), TimeUnit::Millis);
        assert_eq!(TimeUnit::for_max_us(2_500_000.0), TimeUnit::Seconds);
        assert_eq!(TimeUnit::for_max_us(f64::NAN), TimeUnit::Millis);
        assert_eq!(TimeUnit::Millis.from_us(81_000.0), 81.0);
    }

    #[test]
    fn the_ceiling_follows_the_data() {
        assert_eq!(
            data_ceiling([5000.0, 38_000.0, f64::NAN]),
            Some(38_000.0 * 1.15)
        );
        assert_eq!(data_ceiling([f64::NAN]), None);
        assert_eq!(data_ceiling([]), None);
    }

    #[test]
    fn a_curve_is_cut_where_it_leaves_the_range() {
        // The bound of shared-state: rises past the data and stays there.
        let bound = [
            [1.0, 18_000.0],
            [2.0, 38_000.0],
            [3.0, 80_000.0],
            [4.0, 80_000.0],
        ];
        let parts = clip_to_ceiling(&bound, 28_000.0);
        assert_eq!(parts, vec![vec![[1.0, 18_000.0], [1.5, 28_000.0]]]);
        // A curve that rises above and comes back is drawn as two parts.
        let hump = [[0.0, 0.0], [1.0, 20.0], [2.0, 0.0]];
        assert_eq!(
            clip_to_ceiling(&hump, 10.0),
            vec![vec![[0.0, 0.0], [0.5, 10.0]], vec![[1.5, 10.0], [2.0, 0.0]]]
        );
        // Under the ceiling it is left whole.
        assert_eq!(clip_to_ceiling(&hump, 50.0), vec![hump.to_vec()]);
        assert!(clip_to_ceiling(&[[0.0, 99.0], [1.0, 99.0]], 10.0).is_empty());
    }
}
