//! Small statistics used to summarise trials: mean and the 95% confidence half-width of the
//! mean (Student's t), so a throughput is shown with how much to trust it.

/// Two-sided 95% Student's t quantiles for 1 to 30 degrees of freedom.
const T_95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
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
        _ => {
            // z: the two-sided 95% quantile of the standard normal distribution.
            let z: f64 = 1.959_963_984_540_054;
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
    }
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

    /// Published two-sided 95% quantiles (any t table): the interval of 32 to 100 trials
    /// (`sweep.trials` allows up to 100) uses the quantile of its own degrees of freedom.
    #[test]
    fn t_quantiles_past_the_table_are_those_of_their_own_degrees_of_freedom() {
        for (df, t) in [
            (30, 2.042),
            (31, 2.0395),
            (40, 2.0211),
            (50, 2.0086),
            (60, 2.0003),
            (99, 1.9842),
            (120, 1.9799),
            (1000, 1.9623),
        ] {
            let got = t_quantile_95(df);
            assert!((got - t).abs() < 5e-4, "df {df}: {got}, expected {t}");
        }
    }

    #[test]
    fn identical_trials_have_zero_width() {
        assert_eq!(ci95_half_width(&[5.0, 5.0, 5.0, 5.0]), 0.0);
        assert!(ci95_half_width(&[5.0]).is_nan());
    }
}
