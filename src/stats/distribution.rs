//! Tail probabilities: the standard normal, and exact Poisson and binomial
//! tails for small counts.
//!
//! A z-score compares a count with its expectation on the normal scale. That
//! is fine when the expected count is in the tens or more, but for a small
//! hospital with, say, 2 expected events the normal approximation badly
//! misstates the chance of seeing 6. The exact tails here answer "if the
//! hospital behaved like its peers, how likely is a count at least this
//! extreme?" directly from the Poisson or binomial distribution.
//!
//! All functions return `NaN` for arguments outside their domain instead of
//! panicking.

use statrs::distribution::{Binomial, ChiSquared, ContinuousCDF, DiscreteCDF, Normal, Poisson};
use statrs::function::erf::erfc;

/// Upper tail of the standard normal, `P(Z ≥ z)`: the one-sided p-value for a
/// z-score where large positive values are suspicious (too many events).
///
/// Computed as `erfc(z/√2)/2` rather than `1 − Φ(z)`, which keeps its
/// relative precision far into the tail (`normal_sf(8.0)` ≈ 6.2e-16 rather
/// than 0), so very strong findings still sort correctly. Accuracy is that of
/// statrs' `erfc`: about 1e-10 relative error, far below anything that
/// matters for an audit decision. `NaN` in gives `NaN` out.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Standard normal distribution function `P(Z ≤ z)`: the one-sided p-value for
/// a z-score where large *negative* values are suspicious (too few events).
/// Computed as `erfc(−z/√2)/2`; same accuracy as [`normal_sf`].
///
/// `NaN` in gives `NaN` out.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// Standard normal quantile: the `z` with `P(Z ≤ z) = p`.
///
/// Used to turn a confidence level into a control-limit multiplier, e.g.
/// `normal_quantile(0.975)` = 1.959964 for two-sided 95% limits.
/// Returns `-∞` at `p = 0`, `+∞` at `p = 1`, and `NaN` for `p` outside
/// `[0, 1]` or `NaN`.
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    Normal::standard().inverse_cdf(p)
}

/// Exact upper Poisson tail `P(X ≥ observed)` for `X ~ Poisson(expected)`.
///
/// This is the one-sided p-value for "more events than expected" when the
/// hospital's count is compared with the expected count from its peers
/// (indirect standardisation). It is exact, so it is the right test for small
/// hospitals where the normal approximation is poor.
///
/// Edge cases: `observed = 0` gives 1 (every count is ≥ 0). `expected = 0`
/// gives 1 for `observed = 0` and 0 otherwise (no events can occur).
/// A negative, infinite or `NaN` expected count gives `NaN`.
pub fn poisson_upper_p(observed: u64, expected: f64) -> f64 {
    if !expected.is_finite() || expected < 0.0 {
        return f64::NAN;
    }
    if observed == 0 {
        return 1.0;
    }
    if expected == 0.0 {
        return 0.0;
    }
    match Poisson::new(expected) {
        // P(X ≥ o) = P(X > o − 1)
        Ok(d) => d.sf(observed - 1),
        Err(_) => f64::NAN,
    }
}

/// Exact lower Poisson tail `P(X ≤ observed)` for `X ~ Poisson(expected)`.
///
/// The one-sided p-value for "fewer events than expected" (for example a
/// hospital that codes suspiciously few complications, or under-coding in the
/// PEPPER sense).
///
/// Edge cases: `expected = 0` gives 1. A negative, infinite or `NaN` expected
/// count gives `NaN`.
pub fn poisson_lower_p(observed: u64, expected: f64) -> f64 {
    if !expected.is_finite() || expected < 0.0 {
        return f64::NAN;
    }
    if expected == 0.0 {
        return 1.0;
    }
    match Poisson::new(expected) {
        Ok(d) => d.cdf(observed),
        Err(_) => f64::NAN,
    }
}

/// Exact upper binomial tail `P(X ≥ successes)` for `X ~ Binomial(trials, p)`.
///
/// The one-sided p-value for a proportion that is too high, with `p` the peer
/// rate (left-one-out) for a single group. Use this rather than a z-score when
/// `trials` is small.
///
/// Edge cases: `successes = 0` gives 1; `successes > trials` gives 0 (such a
/// count cannot occur). `p` outside `[0, 1]` or `NaN` gives `NaN`.
pub fn binomial_upper_p(successes: u64, trials: u64, p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if successes == 0 {
        return 1.0;
    }
    if successes > trials {
        return 0.0;
    }
    match Binomial::new(p, trials) {
        Ok(d) => d.sf(successes - 1),
        Err(_) => f64::NAN,
    }
}

/// Exact lower binomial tail `P(X ≤ successes)` for `X ~ Binomial(trials, p)`.
///
/// The one-sided p-value for a proportion that is too low.
///
/// Edge cases: `successes ≥ trials` gives 1. `p` outside `[0, 1]` or `NaN`
/// gives `NaN`.
pub fn binomial_lower_p(successes: u64, trials: u64, p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if successes >= trials {
        return 1.0;
    }
    match Binomial::new(p, trials) {
        Ok(d) => d.cdf(successes),
        Err(_) => f64::NAN,
    }
}

/// Upper tail `P(χ²_df ≥ x)` (`df` may be fractional). `NaN` for `df ≤ 0` or a `NaN`
/// argument; 1 for `x ≤ 0`.
pub fn chi_square_sf(x: f64, df: f64) -> f64 {
    if x.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    match ChiSquared::new(df) {
        Ok(d) => d.sf(x),
        Err(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn normal_tails_match_tables() {
        // Φ(0) = 0.5; P(Z ≥ 1.959964) = 0.025; P(Z ≤ -1.644854) = 0.05.
        // Tolerance 1e-10: statrs' erfc is accurate to about 1e-11 here.
        assert_abs_diff_eq!(normal_cdf(0.0), 0.5, epsilon = 1e-15);
        assert_abs_diff_eq!(normal_sf(1.959_963_984_540_054), 0.025, epsilon = 1e-10);
        assert_abs_diff_eq!(normal_cdf(-1.644_853_626_951_472), 0.05, epsilon = 1e-10);
        // Φ(1) = 0.841344746068543 (standard table value).
        assert_abs_diff_eq!(normal_cdf(1.0), 0.841_344_746_068_543, epsilon = 1e-10);
        assert_abs_diff_eq!(normal_sf(1.0), 1.0 - 0.841_344_746_068_543, epsilon = 1e-10);
    }

    #[test]
    fn normal_sf_keeps_precision_in_far_tail() {
        // R: pnorm(5, lower.tail = FALSE) = 2.866515718791939e-07
        let p = normal_sf(5.0);
        assert_abs_diff_eq!(p / 2.866_515_718_791_939e-7, 1.0, epsilon = 1e-9);
        // R: pnorm(8, lower.tail = FALSE) = 6.220960574271784e-16
        assert_abs_diff_eq!(
            normal_sf(8.0) / 6.220_960_574_271_784e-16,
            1.0,
            epsilon = 1e-9
        );
    }

    #[test]
    fn normal_quantile_inverts_cdf_and_handles_edges() {
        assert_abs_diff_eq!(
            normal_quantile(0.975),
            1.959_963_984_540_054,
            epsilon = 1e-9
        );
        assert_abs_diff_eq!(
            normal_quantile(0.999),
            3.090_232_306_167_813,
            epsilon = 1e-9
        );
        assert_abs_diff_eq!(normal_quantile(0.5), 0.0, epsilon = 1e-12);
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(1.5).is_nan());
        assert!(normal_quantile(-0.1).is_nan());
        assert!(normal_quantile(f64::NAN).is_nan());
    }

    #[test]
    fn poisson_tails_by_hand() {
        // Poisson(1): P(0)=e^-1, P(1)=e^-1, P(2)=e^-1/2.
        // P(X ≥ 3) = 1 − 2.5/e = 0.08030139707139415
        assert_abs_diff_eq!(
            poisson_upper_p(3, 1.0),
            0.080_301_397_071_394_15,
            epsilon = 1e-12
        );
        // P(X ≤ 1) = 2/e = 0.7357588823428847
        assert_abs_diff_eq!(
            poisson_lower_p(1, 1.0),
            0.735_758_882_342_884_7,
            epsilon = 1e-12
        );
        // Poisson(2): P(X ≤ 0) = e^-2
        assert_abs_diff_eq!(poisson_lower_p(0, 2.0), (-2.0f64).exp(), epsilon = 1e-14);
        // Upper and lower tails at the same point overlap by P(X = o):
        // P(X ≥ 4) + P(X ≤ 3) = 1 for Poisson(2.5).
        assert_abs_diff_eq!(
            poisson_upper_p(4, 2.5) + poisson_lower_p(3, 2.5),
            1.0,
            epsilon = 1e-12
        );
    }

    #[test]
    fn poisson_edges() {
        assert_eq!(poisson_upper_p(0, 3.0), 1.0);
        assert_eq!(poisson_upper_p(0, 0.0), 1.0);
        assert_eq!(poisson_upper_p(2, 0.0), 0.0);
        assert_eq!(poisson_lower_p(2, 0.0), 1.0);
        assert!(poisson_upper_p(2, -1.0).is_nan());
        assert!(poisson_lower_p(2, f64::NAN).is_nan());
        assert!(poisson_upper_p(2, f64::INFINITY).is_nan());
    }

    #[test]
    fn binomial_tails_by_hand() {
        // 3 of 3 at p = 0.2: 0.2^3 = 0.008
        assert_abs_diff_eq!(binomial_upper_p(3, 3, 0.2), 0.008, epsilon = 1e-14);
        // P(X ≥ 1) of Binomial(5, 0.2) = 1 − 0.8^5 = 0.67232
        assert_abs_diff_eq!(binomial_upper_p(1, 5, 0.2), 0.672_32, epsilon = 1e-12);
        // P(X ≤ 0) of Binomial(5, 0.2) = 0.8^5 = 0.32768
        assert_abs_diff_eq!(binomial_lower_p(0, 5, 0.2), 0.327_68, epsilon = 1e-12);
        // P(X ≤ 1) of Binomial(4, 0.5) = (1 + 4)/16 = 0.3125
        assert_abs_diff_eq!(binomial_lower_p(1, 4, 0.5), 0.3125, epsilon = 1e-12);
    }

    #[test]
    fn binomial_edges() {
        assert_eq!(binomial_upper_p(0, 10, 0.3), 1.0);
        assert_eq!(binomial_upper_p(11, 10, 0.3), 0.0);
        assert_eq!(binomial_lower_p(10, 10, 0.3), 1.0);
        assert_eq!(binomial_upper_p(1, 10, 0.0), 0.0);
        assert_abs_diff_eq!(binomial_upper_p(10, 10, 1.0), 1.0, epsilon = 1e-15);
        assert!(binomial_upper_p(1, 10, 1.1).is_nan());
        assert!(binomial_lower_p(1, 10, f64::NAN).is_nan());
    }
}
