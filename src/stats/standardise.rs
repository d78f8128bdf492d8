//! Indirect standardisation: observed against expected on the hospital's own
//! case mix.
//!
//! A hospital that treats sicker patients will legitimately code more
//! complications. To compare like with like, each of the hospital's cases is
//! given the rate its *peers* show for that case's group (or family): the
//! probability `p_i` that a peer would have coded the case the way under
//! audit. Then
//!
//! ```text
//! O = Σ y_i            observed events (y_i = 1 if the case has the event)
//! E = Σ p_i            events expected if the hospital behaved like its peers
//! V = Σ p_i (1 − p_i)  variance of O under that hypothesis
//! ```
//!
//! and the hospital is summarised by the standardised ratio `O/E` (1.0 = like
//! its peers, 1.5 = 50% more events than its case mix explains) and the
//! z-score `(O − E)/√V`.
//!
//! The same accumulator works for continuous quantities such as a weight
//! (point) index: for each case add its claimed weight, the peers' mean weight
//! for comparable cases, and the peers' variance of that weight
//! ([`IndirectStandardisation::add_value`]).
//!
//! **The hospital must be left out of its own peer rate.** A large hospital
//! that dominates a group otherwise pulls the "expected" rate toward itself
//! and hides its own excess. [`leave_one_out_rate`] removes it.

use super::StatsError;
use super::distribution::normal_sf;

/// Running totals of observed, expected and variance for one hospital (or any
/// unit) under indirect standardisation.
///
/// Start from [`IndirectStandardisation::new`] (all zeros) and add cases. A
/// `NaN` input (for example a case whose group has no peers) makes every
/// derived statistic `NaN`: cases without a peer rate must be excluded by the
/// caller, visibly, rather than silently here.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct IndirectStandardisation {
    /// `O`: sum of observed values (events, or claimed weights).
    pub observed: f64,
    /// `E`: sum of expected values from peers.
    pub expected: f64,
    /// `V`: variance of `O` if the hospital behaved like its peers.
    pub variance: f64,
}

impl IndirectStandardisation {
    /// Empty totals (`O = E = V = 0`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one binary case: `y` is 1 if the case has the audited event (0
    /// otherwise), `p` the peer probability of that event for the case's
    /// group. Adds `y` to `O`, `p` to `E` and `p(1 − p)` to `V` (the case is a
    /// Bernoulli trial under the null).
    pub fn add_case(&mut self, y: f64, p: f64) {
        self.observed += y;
        self.expected += p;
        self.variance += p * (1.0 - p);
    }

    /// Add one case of a continuous measure (e.g. its DRG weight or DIP
    /// points): the value claimed, the value expected from peers for
    /// comparable cases, and the peers' variance of that value.
    pub fn add_value(&mut self, observed: f64, expected: f64, variance: f64) {
        self.observed += observed;
        self.expected += expected;
        self.variance += variance;
    }

    /// Totals over binary cases `y[i]` with peer probabilities `p[i]`
    /// (see [`IndirectStandardisation::add_case`]).
    ///
    /// # Errors
    ///
    /// [`StatsError::LengthMismatch`] when the slices differ in length.
    pub fn from_cases(y: &[f64], p: &[f64]) -> Result<Self, StatsError> {
        if y.len() != p.len() {
            return Err(StatsError::LengthMismatch {
                left: y.len(),
                right: p.len(),
            });
        }
        let mut s = Self::new();
        for (&yi, &pi) in y.iter().zip(p) {
            s.add_case(yi, pi);
        }
        Ok(s)
    }

    /// Combine with another set of totals (e.g. several groups of the same
    /// hospital). Totals simply add, because cases are independent.
    pub fn merge(&mut self, other: &Self) {
        self.observed += other.observed;
        self.expected += other.expected;
        self.variance += other.variance;
    }

    /// Standardised ratio `O / E` (1.0 = like the peers). `NaN` when `E` is
    /// not positive.
    pub fn ratio(&self) -> f64 {
        if self.expected > 0.0 {
            self.observed / self.expected
        } else {
            f64::NAN
        }
    }

    /// Excess `O − E`: how many events (or points) beyond what the case mix
    /// explains. Multiply by the point value for money at stake.
    pub fn excess(&self) -> f64 {
        self.observed - self.expected
    }

    /// z-score `(O − E) / √V`. `NaN` when `V` is not positive (for example
    /// every peer probability is 0 or 1, so no deviation is possible by
    /// chance and the normal scale is meaningless; use the exact tests).
    pub fn z(&self) -> f64 {
        if self.variance > 0.0 {
            (self.observed - self.expected) / self.variance.sqrt()
        } else {
            f64::NAN
        }
    }

    /// Standard error of the ratio `O/E` under the null, `√V / E`: the `s`
    /// to pass to [`super::funnel::limits_from_se`] with target 1. For binary
    /// cases it is slightly below the Poisson value `1/√E` because
    /// `V = Σp(1−p) < E`. `NaN` when `E` is not positive or `V` negative.
    pub fn ratio_se(&self) -> f64 {
        if self.expected > 0.0 && self.variance >= 0.0 {
            self.variance.sqrt() / self.expected
        } else {
            f64::NAN
        }
    }

    /// One-sided upper p-value of the z-score, `P(Z ≥ z)`: evidence of more
    /// events (or points) than the case mix explains. Normal approximation;
    /// for small expected counts prefer [`super::distribution::poisson_upper_p`].
    pub fn upper_p(&self) -> f64 {
        normal_sf(self.z())
    }
}

/// Peer rate with the hospital itself left out: `(X − x) / (N − n)`.
///
/// `peer_x_total` and `peer_n_total` are the events and cases of *all*
/// hospitals in the peer set including this one; `own_x` and `own_n` are this
/// hospital's. Leaving the hospital out keeps a large hospital from setting
/// its own benchmark.
///
/// Returns `None` when no other hospital has cases (`N − n ≤ 0`), when the
/// remaining events are negative or exceed the remaining cases (inconsistent
/// totals), or when any input is not finite.
pub fn leave_one_out_rate(
    peer_x_total: f64,
    peer_n_total: f64,
    own_x: f64,
    own_n: f64,
) -> Option<f64> {
    if ![peer_x_total, peer_n_total, own_x, own_n]
        .iter()
        .all(|v| v.is_finite())
    {
        return None;
    }
    let x = peer_x_total - own_x;
    let n = peer_n_total - own_n;
    if n <= 0.0 || x < 0.0 || x > n {
        return None;
    }
    Some(x / n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn binary_cases_by_hand() {
        // y = [1, 0, 1, 1], p = [0.5, 0.2, 0.3, 0.4]
        // O = 3, E = 1.4, V = 0.25 + 0.16 + 0.21 + 0.24 = 0.86
        // O/E = 2.142857, z = 1.6/√0.86 = 1.725324, se = √0.86/1.4 = 0.662401
        let s = IndirectStandardisation::from_cases(&[1.0, 0.0, 1.0, 1.0], &[0.5, 0.2, 0.3, 0.4])
            .unwrap();
        assert_abs_diff_eq!(s.observed, 3.0, epsilon = 1e-12);
        assert_abs_diff_eq!(s.expected, 1.4, epsilon = 1e-12);
        assert_abs_diff_eq!(s.variance, 0.86, epsilon = 1e-12);
        assert_abs_diff_eq!(s.ratio(), 2.142_857_142_857_143, epsilon = 1e-12);
        assert_abs_diff_eq!(s.excess(), 1.6, epsilon = 1e-12);
        assert_abs_diff_eq!(s.z(), 1.725_324_371_255_015, epsilon = 1e-12);
        assert_abs_diff_eq!(s.ratio_se(), 0.662_401_321_106_836, epsilon = 1e-12);
    }

    #[test]
    fn continuous_weight_index_by_hand() {
        // Claimed weights 1.2, 0.9, 2.5 vs expected 1.0, 1.0, 2.0 with
        // variances 0.04, 0.09, 0.25: O = 4.6, E = 4.0, V = 0.38,
        // ratio = 1.15, z = 0.6/√0.38 = 0.973329, P(Z ≥ z) = 0.165195.
        let mut s = IndirectStandardisation::new();
        s.add_value(1.2, 1.0, 0.04);
        s.add_value(0.9, 1.0, 0.09);
        s.add_value(2.5, 2.0, 0.25);
        assert_abs_diff_eq!(s.ratio(), 1.15, epsilon = 1e-12);
        assert_abs_diff_eq!(s.z(), 0.973_328_526_784_574_6, epsilon = 1e-12);
        assert_abs_diff_eq!(s.upper_p(), 0.165_195_024_424_397_3, epsilon = 1e-9);
    }

    #[test]
    fn merge_adds_totals() {
        let mut a = IndirectStandardisation::from_cases(&[1.0, 0.0], &[0.5, 0.2]).unwrap();
        let b = IndirectStandardisation::from_cases(&[1.0, 1.0], &[0.3, 0.4]).unwrap();
        a.merge(&b);
        assert_abs_diff_eq!(a.variance, 0.86, epsilon = 1e-12);
        assert_abs_diff_eq!(a.z(), 1.725_324_371_255_015, epsilon = 1e-12);
    }

    #[test]
    fn degenerate_totals_give_nan() {
        let s = IndirectStandardisation::new();
        assert!(s.ratio().is_nan());
        assert!(s.z().is_nan());
        assert!(s.ratio_se().is_nan());
        assert!(s.upper_p().is_nan());
        // p = 0 for every case: E = 0, V = 0
        let s = IndirectStandardisation::from_cases(&[1.0], &[0.0]).unwrap();
        assert!(s.ratio().is_nan());
        assert!(s.z().is_nan());
        assert_eq!(
            IndirectStandardisation::from_cases(&[1.0], &[]),
            Err(StatsError::LengthMismatch { left: 1, right: 0 })
        );
    }

    #[test]
    fn leave_one_out_by_hand() {
        // All peers 50/500 including own 20/100 → 30/400 = 0.075
        assert_abs_diff_eq!(
            leave_one_out_rate(50.0, 500.0, 20.0, 100.0).unwrap(),
            0.075,
            epsilon = 1e-15
        );
        // Not leaving out would give 0.1: the hospital inflates its benchmark.
        assert!(leave_one_out_rate(50.0, 500.0, 0.0, 0.0).unwrap() > 0.09);
        // The hospital is the whole peer set → no peer rate.
        assert_eq!(leave_one_out_rate(20.0, 100.0, 20.0, 100.0), None);
        // Inconsistent totals.
        assert_eq!(leave_one_out_rate(10.0, 500.0, 20.0, 100.0), None);
        assert_eq!(leave_one_out_rate(f64::NAN, 500.0, 20.0, 100.0), None);
    }
}
