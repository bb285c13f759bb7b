//! Small statistics used to summarise trials: mean and the 95% confidence half-width of the
//! mean (Student's t), so a throughput is shown with how much to trust it, and the one-sided
//! Welch t-test the recommendation uses to tell a thread count that is slower from one that
//! only looks slower because the trials are noisy.

/// Two-sided 95% Student's t quantiles for 1 to 30 degrees of freedom.
const T_95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// One-sided 95% Student's t quantiles (the two-sided 90% ones) for 1 to 30 degrees of
/// freedom (any t table, e.g. NIST/SEMATECH e-Handbook of Statistical Methods, 1.3.6.7.2).
const T_95_ONE_SIDED: [f64; 30] = [
    6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782, 1.771,
    1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706,
    1.703, 1.701, 1.699, 1.697,
];

/// The two-sided 95% t quantile for `df` degrees of freedom: the table up to 30, then the
/// Cornish-Fisher expansion of t around the normal quantile (Abramowitz & Stegun 26.7.5),
/// which is within 1e-5 of the exact value from 30 degrees of freedom on. (A coarse step
/// table, such as 2.000 for 31 to 60, would use the quantile of the largest df of each step
/// and make every interval in the step too narrow.)
pub fn t_quantile_95(df: usize) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T_95[df - 1],
        // z: the two-sided 95% quantile of the standard normal distribution.
        _ => cornish_fisher_t(1.959_963_984_540_054, df),
    }
}

/// The one-sided 95% t quantile (P(T ≤ t) = 0.95) for `df` degrees of freedom: the table up
/// to 30, then the same Cornish-Fisher expansion as [`t_quantile_95`].
pub fn t_quantile_95_one_sided(df: usize) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T_95_ONE_SIDED[df - 1],
        // z: the one-sided 95% quantile of the standard normal distribution.
        _ => cornish_fisher_t(1.644_853_626_951_472_2, df),
    }
}

/// Student's t quantile for `df` degrees of freedom from the normal quantile `z`
/// (Abramowitz & Stegun 26.7.5).
fn cornish_fisher_t(z: f64, df: usize) -> f64 {
    let v = df as f64;
    let g1 = (z.powi(3) + z) / 4.0;
    let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
    let g3 = (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0;
    let g4 = (79.0 * z.powi(9) + 776.0 * z.powi(7) + 1482.0 * z.powi(5)
        - 1920.0 * z.powi(3)
        - 945.0 * z)
        / 92160.0;
    z + g1 / v + g2 / v.powi(2) + g3 / v.powi(3) + g4 / v.powi(4)
}

/// One-sided Welch t-test at 95%: is the mean of `sample` significantly below the mean of
/// `reference`? Welch's test does not assume equal variances (B. L. Welch, *Biometrika* 34,
/// 1947); its Welch–Satterthwaite degrees of freedom are rounded down, which makes the test
/// slightly conservative (it calls fewer differences significant). When both samples have
/// zero variance any lower mean is significant. None when either sample has fewer than two
/// values: then there is no variance to test with.
pub fn significantly_below(sample: &[f64], reference: &[f64]) -> Option<bool> {
    let (n1, n2) = (sample.len(), reference.len());
    if n1 < 2 || n2 < 2 {
        return None;
    }
    let difference = mean(reference) - mean(sample);
    let v1 = sample_std_dev(sample).powi(2) / n1 as f64;
    let v2 = sample_std_dev(reference).powi(2) / n2 as f64;
    let standard_error = (v1 + v2).sqrt();
    if !difference.is_finite() || !standard_error.is_finite() {
        return None;
    }
    if standard_error == 0.0 {
        return Some(difference > 0.0);
    }
    let df = (v1 + v2).powi(2) / (v1.powi(2) / (n1 - 1) as f64 + v2.powi(2) / (n2 - 1) as f64);
    let df = (df.floor() as usize).max(1);
    Some(difference / standard_error > t_quantile_95_one_sided(df))
}

/// The fewest trials, from `min` to `max`, whose 95% confidence half-width t · s / √n is at
/// most `half_width` for trials with standard deviation `std_dev`; None when even `max`
/// trials are not enough (or the inputs are not finite).
pub fn trials_for_half_width(std_dev: f64, half_width: f64, min: u32, max: u32) -> Option<u32> {
    if !std_dev.is_finite() || !half_width.is_finite() || half_width <= 0.0 {
        return None;
    }
    (min.max(2)..=max)
        .find(|&n| t_quantile_95(n as usize - 1) * std_dev / f64::from(n).sqrt() <= half_width)
}

/// Arithmetic mean; NaN for no values.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// Sample standard deviation (n − 1); NaN for fewer than two values.
pub fn sample_std_dev(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return f64::NAN;
    }
    let m = mean(values);
    let ss: f64 = values.iter().map(|v| (v - m) * (v - m)).sum();
    (ss / (values.len() - 1) as f64).sqrt()
}

/// Half-width of the 95% confidence interval of the mean: t · s / √n. NaN for fewer than two values.
pub fn ci95_half_width(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return f64::NAN;
    }
    t_quantile_95(n - 1) * sample_std_dev(values) / (n as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_interval() {
        // mean 20, s = 10, n = 3: 4.303 · 10 / √3 = 24.843...
        let v = [10.0, 20.0, 30.0];
        assert_eq!(mean(&v), 20.0);
        assert!((sample_std_dev(&v) - 10.0).abs() < 1e-12);
        assert!((ci95_half_width(&v) - 4.303 * 10.0 / 3f64.sqrt()).abs() < 1e-9);
    }

    /// Checks `quantile` against a published table of (degrees of freedom, t), within
    /// `tolerance` (the table's rounding).
    fn assert_quantiles(quantile: fn(usize) -> f64, table: &[(usize, f64)], tolerance: f64) {
        for &(df, t) in table {
            let got = quantile(df);
            assert!((got - t).abs() < tolerance, "df {df}: {got}, expected {t}");
        }
    }

    /// Published two-sided 95% quantiles (any t table): the interval of 32 to 100 trials
    /// (`sweep.trials` allows up to 100) uses the quantile of its own degrees of freedom.
    #[test]
    fn t_quantiles_past_the_table_are_those_of_their_own_degrees_of_freedom() {
        assert_quantiles(
            t_quantile_95,
            &[
                (30, 2.042),
                (31, 2.0395),
                (40, 2.0211),
                (50, 2.0086),
                (60, 2.0003),
                (99, 1.9842),
                (120, 1.9799),
                (1000, 1.9623),
            ],
            5e-4,
        );
    }

    /// Published one-sided 95% quantiles (any t table).
    #[test]
    fn one_sided_quantiles() {
        assert_quantiles(
            t_quantile_95_one_sided,
            &[
                (1, 6.314),
                (4, 2.132),
                (30, 1.697),
                (40, 1.684),
                (120, 1.658),
            ],
            1e-3,
        );
    }

    #[test]
    fn welch_test_by_hand() {
        // Means 100 and 90, both s = 5, n = 3: se = √(25/3 + 25/3) = 4.082, t = 2.449;
        // df = 4, one-sided quantile 2.132: significant.
        let best = [95.0, 100.0, 105.0];
        let lower = [85.0, 90.0, 95.0];
        assert_eq!(significantly_below(&lower, &best), Some(true));
        // Means 100 and 95: t = 1.225 < 2.132: within noise.
        let near = [90.0, 95.0, 100.0];
        assert_eq!(significantly_below(&near, &best), Some(false));
        // Never significantly below itself, nor when higher.
        assert_eq!(significantly_below(&best, &best), Some(false));
        assert_eq!(significantly_below(&best, &lower), Some(false));
        // Unequal variances: a wide reference makes the same gap insignificant.
        // se = √(0 + 400/3) = 11.5, t = 0.87; df = 2, quantile 2.920.
        let wide = [80.0, 100.0, 120.0];
        assert_eq!(significantly_below(&[90.0, 90.0, 90.0], &wide), Some(false));
        // No variance on either side: any lower mean is significant.
        assert_eq!(significantly_below(&[9.0, 9.0], &[10.0, 10.0]), Some(true));
        // One trial: nothing to test with.
        assert_eq!(significantly_below(&[1.0], &best), None);
    }

    #[test]
    fn trials_needed_for_a_half_width() {
        // s = 10, want ±5: n = 18 gives 2.110 · 10 / √18 = 4.97; n = 17 gives 5.14.
        assert_eq!(trials_for_half_width(10.0, 5.0, 3, 100), Some(18));
        // Already narrow: the minimum.
        assert_eq!(trials_for_half_width(0.1, 5.0, 3, 100), Some(3));
        // Not reachable within the limit.
        assert_eq!(trials_for_half_width(100.0, 1.0, 3, 100), None);
        assert_eq!(trials_for_half_width(f64::NAN, 1.0, 3, 100), None);
    }

    #[test]
    fn identical_trials_have_zero_width() {
        assert_eq!(ci95_half_width(&[5.0, 5.0, 5.0, 5.0]), 0.0);
        assert!(ci95_half_width(&[5.0]).is_nan());
    }
}
