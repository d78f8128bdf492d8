//! Funnel plots: control limits that narrow as the expected count grows, and
//! their widening for over-dispersion (Spiegelhalter 2005).
//!
//! Reference: D. J. Spiegelhalter, "Funnel plots for comparing institutional
//! performance", *Statistics in Medicine* 24 (2005) 1185–1202.
//!
//! # The idea
//!
//! Plot each hospital's indicator (a standardised ratio `O/E`, or a
//! proportion) against its precision (the expected count `E`, or its number
//! of cases `n`). Around the target (1 for a ratio, the peer rate `p0` for a
//! proportion) draw the range a hospital would fall in by chance alone, if it
//! behaved exactly like its peers:
//!
//! ```text
//! target ± z · s        s = standard error of the indicator under the null
//! ```
//!
//! with `z` = 1.96 for 95% limits ([`Z_95`]) and 3.09 for 99.8% limits
//! ([`Z_998`]). A small hospital has a large `s` and wide limits, so it is not
//! flagged for a ratio that is large only by luck. Points beyond the 99.8%
//! limit are the ones worth an auditor's time. Unlike a league table, this
//! makes no claim about the order of the hospitals inside the funnel.
//!
//! # Standard errors used here
//!
//! * Ratio `O/E`, with `O ~ Poisson(E)` under the null: `s = 1/√E`
//!   ([`ratio_limits`], plain normal approximation). Spiegelhalter also gives a
//!   variant on the square-root scale, where `√O` is nearly normal with
//!   variance 1/4: limits `(1 ± z/(2√E))²` ([`ratio_limits_sqrt`]), which are
//!   asymmetric like the true Poisson limits and more accurate for small `E`.
//! * Proportion with target `p0` over `n` cases: `s = √(p0(1 − p0)/n)`
//!   ([`proportion_limits`]).
//! * Anything else (e.g. a weight index with its own variance, see
//!   [`super::standardise::IndirectStandardisation::ratio_se`]):
//!   [`limits_from_se`].
//!
//! # Over-dispersion
//!
//! Real hospitals differ by more than chance even without gaming (coding
//! habits, referral patterns the risk adjustment misses). Then far more than
//! 5% of honest hospitals fall outside the 95% limits and the funnel cries
//! wolf. Spiegelhalter's remedy:
//!
//! 1. Compute each hospital's z-score `z_i = (y_i − target)/s_i`.
//! 2. Winsorise them (pull the most extreme 10% at each end in to the 10th
//!    and 90th percentiles) so the outliers being looked for do not inflate
//!    the estimate, and take `φ = (1/I) Σ z_w²` ([`overdispersion`]). Without
//!    over-dispersion `φ ≈ 1`; `I·φ` is roughly χ² with `I − 1` degrees of
//!    freedom ([`overdispersion_p_value`]).
//! 3. Widen the limits, either
//!    * **multiplicatively**: `s·√φ` ([`Dispersion::Multiplicative`]), which
//!      widens every hospital's limits in the same proportion, or
//!    * **additively** (random effects): `√(s² + τ²)` ([`Dispersion::Additive`]),
//!      with the between-hospital variance `τ²` from a DerSimonian–Laird type
//!      moment estimator ([`tau_squared`]). This widens large hospitals' limits
//!      proportionally more, reflecting that for them the unexplained
//!      between-hospital variation dominates chance. It is the usual choice
//!      for national indicators (e.g. the NHS SHMI).
//!
//! The same widening applies to the z-scores themselves ([`adjusted_z`]) so
//! that tests and the plot agree.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::percentile::quantile;

/// Two-sided 95% normal multiplier, `Φ⁻¹(0.975)` = 1.959964.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// Two-sided 99.8% normal multiplier, `Φ⁻¹(0.999)` = 3.090232. Spiegelhalter
/// uses 95% and 99.8% limits as analogues of 2 and 3 standard deviations.
pub const Z_998: f64 = 3.090_232_306_167_813;

/// How the standard error is widened for over-dispersion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dispersion {
    /// No widening: pure Poisson / binomial chance.
    None,
    /// Multiplicative over-dispersion factor φ: `s` becomes `s·√φ`. Pass
    /// `φ` from [`overdispersion`]; it is applied as given, so a φ below 1
    /// would *narrow* the limits — callers normally use `φ.max(1.0)` or
    /// `Dispersion::None` when φ is not significantly above 1.
    Multiplicative(f64),
    /// Additive between-unit variance τ²: `s` becomes `√(s² + τ²)`. Pass τ²
    /// from [`tau_squared`] (never negative).
    Additive(f64),
}

impl Dispersion {
    /// The widened standard error for a unit with null standard error `se`.
    /// `NaN` when `se` is negative or any parameter is `NaN`, or φ or τ² is
    /// negative.
    pub fn widen(&self, se: f64) -> f64 {
        if se.is_nan() || se < 0.0 {
            return f64::NAN;
        }
        match *self {
            Dispersion::None => se,
            Dispersion::Multiplicative(phi) if phi >= 0.0 => se * phi.sqrt(),
            Dispersion::Additive(tau2) if tau2 >= 0.0 => (se * se + tau2).sqrt(),
            _ => f64::NAN,
        }
    }
}

/// Where a point lies relative to its funnel limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunnelPosition {
    /// Strictly above the upper 99.8% limit: strong evidence of an excess.
    Above998,
    /// Strictly above the upper 95% limit but not the 99.8% one.
    Above95,
    /// Between the 95% limits (inclusive): consistent with chance.
    Within,
    /// Strictly below the lower 95% limit but not the 99.8% one.
    Below95,
    /// Strictly below the lower 99.8% limit.
    Below998,
    /// The value or the limits are `NaN`; no judgement possible.
    Unknown,
}

/// 95% and 99.8% control limits at one point of the funnel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FunnelLimits {
    /// The target the limits are centred on (1 for a ratio, `p0` for a
    /// proportion).
    pub target: f64,
    /// Lower 95% limit (2.5% of in-control units fall below by chance).
    pub lower95: f64,
    /// Upper 95% limit (2.5% of in-control units fall above by chance).
    pub upper95: f64,
    /// Lower 99.8% limit (0.1% fall below by chance).
    pub lower998: f64,
    /// Upper 99.8% limit (0.1% fall above by chance).
    pub upper998: f64,
}

impl FunnelLimits {
    fn nan(target: f64) -> Self {
        Self {
            target,
            lower95: f64::NAN,
            upper95: f64::NAN,
            lower998: f64::NAN,
            upper998: f64::NAN,
        }
    }

    fn clamped(self, lo: f64, hi: f64) -> Self {
        let c = |v: f64| if v.is_nan() { v } else { v.clamp(lo, hi) };
        Self {
            target: self.target,
            lower95: c(self.lower95),
            upper95: c(self.upper95),
            lower998: c(self.lower998),
            upper998: c(self.upper998),
        }
    }

    /// Classify a unit's indicator value against these limits. A value
    /// exactly on a limit counts as inside it.
    pub fn classify(&self, value: f64) -> FunnelPosition {
        let vals = [
            value,
            self.lower95,
            self.upper95,
            self.lower998,
            self.upper998,
        ];
        if vals.iter().any(|v| v.is_nan()) {
            FunnelPosition::Unknown
        } else if value > self.upper998 {
            FunnelPosition::Above998
        } else if value > self.upper95 {
            FunnelPosition::Above95
        } else if value < self.lower998 {
            FunnelPosition::Below998
        } else if value < self.lower95 {
            FunnelPosition::Below95
        } else {
            FunnelPosition::Within
        }
    }
}

/// Symmetric limits `target ± z·s'` where `s'` is `se` widened by
/// `dispersion`; no clamping. The general form behind the other limit
/// functions. All limits are `NaN` when `se` is `NaN` or negative.
pub fn limits_from_se(target: f64, se: f64, dispersion: Dispersion) -> FunnelLimits {
    let s = dispersion.widen(se);
    if s.is_nan() {
        return FunnelLimits::nan(target);
    }
    FunnelLimits {
        target,
        lower95: target - Z_95 * s,
        upper95: target + Z_95 * s,
        lower998: target - Z_998 * s,
        upper998: target + Z_998 * s,
    }
}

/// Limits for an indirectly standardised ratio `O/E` at expected count `E`,
/// by the plain normal approximation to `O ~ Poisson(E)`: target 1,
/// `s = 1/√E`, so `1 ± z/√E` before widening.
///
/// Lower limits below 0 are raised to 0 (a ratio cannot be negative). All
/// limits are `NaN` when `E` is not positive or not finite. For small `E`
/// without over-dispersion, [`ratio_limits_sqrt`] is more accurate.
pub fn ratio_limits(expected: f64, dispersion: Dispersion) -> FunnelLimits {
    if !expected.is_finite() || expected <= 0.0 {
        return FunnelLimits::nan(1.0);
    }
    limits_from_se(1.0, 1.0 / expected.sqrt(), dispersion).clamped(0.0, f64::INFINITY)
}

/// Limits for a ratio `O/E` at expected count `E` by the normal approximation
/// on the square-root scale (Spiegelhalter 2005): `√O ≈ N(√E, 1/4)`, so the
/// ratio limits are `(1 ± z/(2√E))²`.
///
/// These are asymmetric (the upper limit lies further from 1 than the lower),
/// like exact Poisson limits, and are the better choice when `E` is small.
/// No over-dispersion adjustment: use [`ratio_limits`] with a [`Dispersion`]
/// for widened limits. When `1 − z/(2√E)` is negative the lower limit is 0.
/// All limits are `NaN` when `E` is not positive or not finite.
pub fn ratio_limits_sqrt(expected: f64) -> FunnelLimits {
    if !expected.is_finite() || expected <= 0.0 {
        return FunnelLimits::nan(1.0);
    }
    let h = 2.0 * expected.sqrt();
    let lo = |z: f64| (1.0 - z / h).max(0.0).powi(2);
    let hi = |z: f64| (1.0 + z / h).powi(2);
    FunnelLimits {
        target: 1.0,
        lower95: lo(Z_95),
        upper95: hi(Z_95),
        lower998: lo(Z_998),
        upper998: hi(Z_998),
    }
}

/// Limits for a proportion with target `p0` over `n` cases:
/// `p0 ± z·√(p0(1 − p0)/n)` before widening, clamped to `[0, 1]`.
///
/// All limits are `NaN` when `n` is not positive or `p0` is outside `[0, 1]`
/// or `NaN`.
pub fn proportion_limits(p0: f64, n: f64, dispersion: Dispersion) -> FunnelLimits {
    if p0.is_nan() || !(0.0..=1.0).contains(&p0) || n.is_nan() || n <= 0.0 {
        return FunnelLimits::nan(p0);
    }
    let se = (p0 * (1.0 - p0) / n).sqrt();
    limits_from_se(p0, se, dispersion).clamped(0.0, 1.0)
}

/// Over-dispersion factor φ: the mean of the squared winsorised z-scores,
/// `φ = (1/I) Σ z_w²` (Spiegelhalter 2005).
///
/// `winsor` is the fraction pulled in at *each* end: with `winsor = 0.1`, any
/// z below the 10th percentile of the z-scores is replaced by the 10th
/// percentile and any above the 90th by the 90th (percentiles by linear
/// interpolation, [`quantile`], R type 7). `winsor = 0` gives the plain mean of
/// squares. Winsorising keeps the very outliers the audit looks for from
/// inflating φ and so hiding themselves.
///
/// Non-finite z-scores are skipped (and not counted in `I`). Returns `NaN`
/// when no finite z-score remains or `winsor` is outside `[0, 0.5)`.
pub fn overdispersion(z: &[f64], winsor: f64) -> f64 {
    if winsor.is_nan() || !(0.0..0.5).contains(&winsor) {
        return f64::NAN;
    }
    let sorted = super::percentile::sorted_finite(z);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let lo = quantile(&sorted, winsor);
    let hi = quantile(&sorted, 1.0 - winsor);
    let sum: f64 = sorted
        .iter()
        .map(|&v| {
            let w = v.clamp(lo, hi);
            w * w
        })
        .sum();
    sum / sorted.len() as f64
}

/// p-value for "no over-dispersion": `P(χ²_{I−1} ≥ I·φ)`.
///
/// Under the null that units differ only by chance, `I·φ` is approximately
/// chi-squared with `I − 1` degrees of freedom (approximately, because the
/// z-scores were winsorised). A small p-value supports widening the limits.
/// Returns `NaN` for fewer than 2 units or a `NaN`/negative φ.
pub fn overdispersion_p_value(phi: f64, units: usize) -> f64 {
    if units < 2 || phi.is_nan() || phi < 0.0 {
        return f64::NAN;
    }
    match ChiSquared::new((units - 1) as f64) {
        Ok(d) => d.sf(units as f64 * phi),
        Err(_) => f64::NAN,
    }
}

/// Between-unit variance τ² for additive over-dispersion (DerSimonian–Laird
/// type moment estimator, as in Spiegelhalter 2005):
///
/// ```text
/// τ² = max(0, (I·φ − (I − 1)) / (Σ w_i − Σ w_i² / Σ w_i)),   w_i = 1/s_i²
/// ```
///
/// `s` holds each unit's null standard error (the same units, in any order,
/// whose z-scores gave `φ`; `I = s.len()`). When `I·φ ≤ I − 1`, i.e.
/// `φ ≤ (I − 1)/I`, there is no excess variation and τ² is 0.
///
/// Returns `NaN` for fewer than two units (τ² is not estimable from one),
/// when any `s_i` is not finite and positive, or when `φ` is `NaN`.
pub fn tau_squared(s: &[f64], phi: f64) -> f64 {
    if s.len() < 2 || phi.is_nan() || s.iter().any(|&v| !v.is_finite() || v <= 0.0) {
        return f64::NAN;
    }
    let i = s.len() as f64;
    let (sw, sw2) = s.iter().fold((0.0, 0.0), |(a, b), &v| {
        let w = 1.0 / (v * v);
        (a + w, b + w * w)
    });
    let den = sw - sw2 / sw;
    if den <= 0.0 || !den.is_finite() {
        return f64::NAN;
    }
    ((i * phi - (i - 1.0)) / den).max(0.0)
}

/// z-score adjusted for over-dispersion: `z · s / s'` where `s'` is `s`
/// widened by `dispersion`.
///
/// With `z = (y − target)/s` this is `(y − target)/s'`: the deviation
/// measured against the widened spread, consistent with the widened funnel
/// limits. Multiplicative: `z/√φ`; additive: `z·s/√(s² + τ²)`.
/// Returns `NaN` when `s` is not positive or the dispersion is invalid.
pub fn adjusted_z(z: f64, s: f64, dispersion: Dispersion) -> f64 {
    if s.is_nan() || s <= 0.0 {
        return f64::NAN;
    }
    let w = dispersion.widen(s);
    if w.is_nan() || w <= 0.0 {
        return f64::NAN;
    }
    z * s / w
}

#[cfg(test)]
mod tests {
    use super::super::distribution::normal_quantile;
    use super::*;
    use approx::assert_abs_diff_eq;

    const EPS: f64 = 1e-12;

    #[test]
    fn z_constants_are_the_normal_quantiles() {
        assert_abs_diff_eq!(Z_95, normal_quantile(0.975), epsilon = 1e-9);
        assert_abs_diff_eq!(Z_998, normal_quantile(0.999), epsilon = 1e-9);
    }

    #[test]
    fn proportion_limits_by_hand() {
        // p0 = 0.1, n = 100: s = √(0.09/100) = 0.03
        // 95%: 0.1 ± 1.959964·0.03 = 0.041201, 0.158799
        // 99.8%: 0.1 ± 3.090232·0.03 = 0.007293, 0.192707
        let l = proportion_limits(0.1, 100.0, Dispersion::None);
        assert_abs_diff_eq!(l.target, 0.1, epsilon = EPS);
        assert_abs_diff_eq!(l.lower95, 0.041_201_080_463_798_39, epsilon = EPS);
        assert_abs_diff_eq!(l.upper95, 0.158_798_919_536_201_6, epsilon = EPS);
        assert_abs_diff_eq!(l.lower998, 0.007_293_030_814_965_615, epsilon = EPS);
        assert_abs_diff_eq!(l.upper998, 0.192_706_969_185_034_4, epsilon = EPS);
    }

    #[test]
    fn proportion_limits_clamped_and_degenerate() {
        // p0 = 0.1, n = 10: s = 0.0948683; lower 99.8% = 0.1 − 0.293164 < 0 → 0
        let l = proportion_limits(0.1, 10.0, Dispersion::None);
        assert_abs_diff_eq!(l.lower998, 0.0, epsilon = EPS);
        assert_abs_diff_eq!(l.upper998, 0.1 + Z_998 * (0.009f64).sqrt(), epsilon = EPS);
        assert!(
            proportion_limits(0.1, 0.0, Dispersion::None)
                .upper95
                .is_nan()
        );
        assert!(
            proportion_limits(1.2, 10.0, Dispersion::None)
                .upper95
                .is_nan()
        );
    }

    #[test]
    fn ratio_limits_by_hand() {
        // E = 25: s = 0.2. 95%: 1 ± 0.391993 ; 99.8%: 1 ± 0.618046
        let l = ratio_limits(25.0, Dispersion::None);
        assert_abs_diff_eq!(l.lower95, 0.608_007_203_091_989_2, epsilon = EPS);
        assert_abs_diff_eq!(l.upper95, 1.391_992_796_908_011, epsilon = EPS);
        assert_abs_diff_eq!(l.lower998, 0.381_953_538_766_437_34, epsilon = EPS);
        assert_abs_diff_eq!(l.upper998, 1.618_046_461_233_562_5, epsilon = EPS);
        // E = 1: lower limits below 0 are raised to 0.
        let l = ratio_limits(1.0, Dispersion::None);
        assert_abs_diff_eq!(l.lower95, 0.0, epsilon = EPS);
        assert_abs_diff_eq!(l.upper95, 1.0 + Z_95, epsilon = EPS);
        assert!(ratio_limits(0.0, Dispersion::None).lower95.is_nan());
    }

    #[test]
    fn ratio_limits_sqrt_by_hand() {
        // E = 25: 2√E = 10. 95%: (1 ∓ 0.1959964)² = 0.646422, 1.430407
        // 99.8%: (1 ∓ 0.3090232)² = 0.477449, 1.713542
        let l = ratio_limits_sqrt(25.0);
        assert_abs_diff_eq!(l.lower95, 0.646_421_791_298_930_4, epsilon = EPS);
        assert_abs_diff_eq!(l.upper95, 1.430_407_385_114_952, epsilon = EPS);
        assert_abs_diff_eq!(l.lower998, 0.477_448_895_827_269_85, epsilon = EPS);
        assert_abs_diff_eq!(l.upper998, 1.713_541_818_294_395, epsilon = EPS);
        // E = 1: 1 − 3.090232/2 < 0 → lower 99.8% is 0, not the square.
        let l = ratio_limits_sqrt(1.0);
        assert_abs_diff_eq!(l.lower998, 0.0, epsilon = EPS);
        assert_abs_diff_eq!(l.lower95, (1.0 - Z_95 / 2.0).powi(2), epsilon = EPS);
        assert!(ratio_limits_sqrt(-1.0).upper95.is_nan());
    }

    #[test]
    fn widened_limits_by_hand() {
        // E = 25, s = 0.2.
        // Additive τ² = 0.01: s' = √(0.04 + 0.01) = 0.223607 → 95%: 0.561739, 1.438261
        let l = ratio_limits(25.0, Dispersion::Additive(0.01));
        assert_abs_diff_eq!(l.lower95, 0.561_738_729_711_709_2, epsilon = EPS);
        assert_abs_diff_eq!(l.upper95, 1.438_261_270_288_290_6, epsilon = EPS);
        // Multiplicative φ = 2: s' = 0.2·√2 = 0.282843 → 95%: 0.445638, 1.554362
        let l = ratio_limits(25.0, Dispersion::Multiplicative(2.0));
        assert_abs_diff_eq!(l.lower95, 0.445_638_470_260_128_8, epsilon = EPS);
        assert_abs_diff_eq!(l.upper95, 1.554_361_529_739_871_2, epsilon = EPS);
        assert!(Dispersion::Additive(-1.0).widen(0.2).is_nan());
    }

    #[test]
    fn classify_points() {
        let l = ratio_limits(25.0, Dispersion::None);
        assert_eq!(l.classify(1.0), FunnelPosition::Within);
        assert_eq!(l.classify(1.5), FunnelPosition::Above95);
        assert_eq!(l.classify(1.7), FunnelPosition::Above998);
        assert_eq!(l.classify(0.5), FunnelPosition::Below95);
        assert_eq!(l.classify(0.3), FunnelPosition::Below998);
        assert_eq!(l.classify(l.upper95), FunnelPosition::Within);
        assert_eq!(l.classify(f64::NAN), FunnelPosition::Unknown);
    }

    #[test]
    fn overdispersion_of_known_vector() {
        // z sorted: -3, -1, -0.5, 0, 0.2, 0.4, 0.8, 1, 1.5, 4 (I = 10)
        // 10th pct (type 7): h = 0.9 → -3 + 0.9·2 = -1.2
        // 90th pct: h = 8.1 → 1.5 + 0.1·2.5 = 1.75
        // winsorised squares: 1.44 1 0.25 0 0.04 0.16 0.64 1 2.25 3.0625 = 9.8425
        // φ = 0.98425
        let z = [0.4, -3.0, 1.0, 0.0, 4.0, -0.5, 0.2, 1.5, -1.0, 0.8];
        assert_abs_diff_eq!(overdispersion(&z, 0.1), 0.98425, epsilon = EPS);
        // No winsorising: squares sum to 30.34 → φ = 3.034
        assert_abs_diff_eq!(overdispersion(&z, 0.0), 3.034, epsilon = EPS);
        // NaN z-scores are skipped.
        let mut zn = z.to_vec();
        zn.push(f64::NAN);
        assert_abs_diff_eq!(overdispersion(&zn, 0.1), 0.98425, epsilon = EPS);
    }

    #[test]
    fn overdispersion_degenerate() {
        assert!(overdispersion(&[], 0.1).is_nan());
        assert!(overdispersion(&[f64::NAN], 0.1).is_nan());
        assert!(overdispersion(&[1.0, 2.0], 0.5).is_nan());
        assert!(overdispersion(&[1.0, 2.0], -0.1).is_nan());
    }

    #[test]
    fn overdispersion_p_value_by_hand() {
        // I = 3, φ = 2: I·φ = 6 on 2 df; P(χ²_2 ≥ 6) = e^{-3} = 0.049787
        assert_abs_diff_eq!(
            overdispersion_p_value(2.0, 3),
            (-3.0f64).exp(),
            epsilon = 1e-10
        );
        assert!(overdispersion_p_value(2.0, 1).is_nan());
    }

    #[test]
    fn tau_squared_by_hand() {
        // s = 0.1, 0.2, 0.5 → w = 100, 25, 4; Σw = 129, Σw² = 10641
        // den = 129 − 10641/129 = 6000/129 = 46.511628
        // φ = 2, I = 3: numerator 6 − 2 = 4 → τ² = 4·129/6000 = 0.086
        let s = [0.1, 0.2, 0.5];
        assert_abs_diff_eq!(tau_squared(&s, 2.0), 0.086, epsilon = EPS);
    }

    #[test]
    fn tau_squared_zero_without_excess_variation() {
        let s = [0.1, 0.2, 0.5];
        // (I − 1)/I = 2/3: φ at or below gives 0.
        assert_abs_diff_eq!(tau_squared(&s, 2.0 / 3.0), 0.0, epsilon = EPS);
        assert_abs_diff_eq!(tau_squared(&s, 0.5), 0.0, epsilon = EPS);
        // Just above gives a small positive value: (3·0.7 − 2)·129/6000 = 0.00215
        assert_abs_diff_eq!(tau_squared(&s, 0.7), 0.00215, epsilon = EPS);
        assert!(tau_squared(&[], 2.0).is_nan());
        assert!(tau_squared(&[0.1], 2.0).is_nan());
        assert!(tau_squared(&[0.1, 0.0], 2.0).is_nan());
    }

    #[test]
    fn adjusted_z_by_hand() {
        // Multiplicative φ = 4: z/2
        assert_abs_diff_eq!(
            adjusted_z(3.0, 0.2, Dispersion::Multiplicative(4.0)),
            1.5,
            epsilon = EPS
        );
        // Additive τ² = 0.05, s = 0.2: 3·0.2/√(0.04 + 0.05) = 0.6/0.3 = 2
        assert_abs_diff_eq!(
            adjusted_z(3.0, 0.2, Dispersion::Additive(0.05)),
            2.0,
            epsilon = EPS
        );
        assert_abs_diff_eq!(adjusted_z(3.0, 0.2, Dispersion::None), 3.0, epsilon = EPS);
        assert!(adjusted_z(3.0, 0.0, Dispersion::None).is_nan());
    }
}
