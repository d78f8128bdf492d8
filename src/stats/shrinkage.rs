//! Beta-binomial empirical Bayes: shrinking small hospitals' rates toward the
//! peer rate before ranking them.
//!
//! # Why
//!
//! A hospital with 3 cases, all 3 coded into the top-weight group, has an
//! observed rate of 100%. A hospital with 2,000 cases and 800 coded high has
//! 40%. Ranked on raw rates the small hospital tops the table, yet its 3/3 is
//! entirely compatible with a true rate of 20% (probability 0.008 each time,
//! and there are many small hospitals). Ranking raw rates punishes small
//! hospitals for luck.
//!
//! # How
//!
//! Treat each hospital's true rate as drawn from a Beta(α, β) distribution
//! describing how rates vary across peers. After seeing `x` events in `n`
//! cases, the best estimate of the hospital's true rate is the posterior mean
//!
//! ```text
//! (x + α) / (n + α + β)
//! ```
//!
//! a weighted average of the hospital's own rate `x/n` (weight `n`) and the
//! peer mean `α/(α+β)` (weight `α+β`). The *prior strength* `α+β` acts as a
//! number of pseudo-cases: a hospital with far fewer cases than that is pulled
//! most of the way to the peer rate; one with far more keeps its own rate.
//!
//! α and β are estimated from the peers' own data ("empirical" Bayes) by the
//! method of moments in [`fit_beta_binomial`]. How much hospitals truly differ
//! decides the strength: little true variation gives a strong prior (lots of
//! shrinkage), large variation a weak one.
//!
//! Shrunk rates are for *ranking and display*. Whether a hospital deviates
//! significantly is a separate question answered by the exact tests in
//! [`super::distribution`] and the funnel limits in [`super::funnel`].

use super::StatsError;

/// Largest prior strength `α + β` that [`fit_beta_binomial`] will return: the
/// peer rate is never allowed to count for more than 1,000 cases of evidence.
///
/// This is also the strength used when the data show no over-dispersion. In
/// that case the moment estimate says the hospitals share one rate (infinite
/// strength: complete pooling), which would erase every hospital's own data,
/// including that of a large hospital with a genuinely different rate. Capping
/// at 1,000 keeps the rule coherent — a little over-dispersion and none at all
/// give the same prior instead of jumping from "very strong" to "weak" — and
/// leaves a hospital with thousands of cases mostly its own rate, while a
/// hospital with a handful of cases is pulled almost entirely to the peer rate.
pub const MAX_PRIOR_STRENGTH: f64 = 1000.0;

/// Smallest prior strength `α + β` that [`fit_beta_binomial`] will return:
/// the peer rate always counts for at least one case.
///
/// Reached only when the peers' rates vary so much that the moment estimate
/// of the intraclass correlation is 0.5 or more (or beyond 1, which a sample
/// can produce). The floor keeps α and β positive so the prior stays a proper
/// Beta distribution and `posterior_mean(0, 0)` is the peer rate.
pub const MIN_PRIOR_STRENGTH: f64 = 1.0;

/// A Beta(α, β) prior for a rate, used to shrink observed rates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BetaPrior {
    /// Pseudo-count of events ("successes") the prior is worth.
    pub alpha: f64,
    /// Pseudo-count of non-events the prior is worth.
    pub beta: f64,
}

impl BetaPrior {
    /// A prior with the given pseudo-counts.
    pub fn new(alpha: f64, beta: f64) -> Self {
        Self { alpha, beta }
    }

    /// A prior with mean `rate` worth `strength` pseudo-cases:
    /// `α = rate·strength`, `β = (1 − rate)·strength`.
    pub fn from_mean_strength(rate: f64, strength: f64) -> Self {
        Self {
            alpha: rate * strength,
            beta: (1.0 - rate) * strength,
        }
    }

    /// Prior strength `α + β`: how many cases of evidence the peer rate is
    /// worth when shrinking a hospital's own rate.
    pub fn strength(&self) -> f64 {
        self.alpha + self.beta
    }

    /// Prior mean `α / (α + β)`: the rate a hospital with no cases is given.
    /// `NaN` when `α + β` is zero.
    pub fn mean(&self) -> f64 {
        let s = self.strength();
        if s == 0.0 { f64::NAN } else { self.alpha / s }
    }

    /// Posterior mean rate after `x` events in `n` cases:
    /// `(x + α) / (n + α + β)`.
    ///
    /// This is the shrunk rate to rank hospitals by. Returns `NaN` when the
    /// denominator is not positive or any input is `NaN`.
    pub fn posterior_mean(&self, x: f64, n: f64) -> f64 {
        let den = n + self.alpha + self.beta;
        if den.is_nan() || den <= 0.0 {
            return f64::NAN;
        }
        (x + self.alpha) / den
    }

    /// Posterior distribution after `x` events in `n` cases:
    /// Beta(α + x, β + n − x). Its mean is [`BetaPrior::posterior_mean`].
    pub fn posterior(&self, x: f64, n: f64) -> BetaPrior {
        BetaPrior {
            alpha: self.alpha + x,
            beta: self.beta + n - x,
        }
    }
}

/// Which branch of [`fit_beta_binomial`] produced the prior; report it so a
/// reader knows whether the shrinkage came from the data or from a fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriorBasis {
    /// Method-of-moments estimate used as it is.
    MethodOfMoments,
    /// Method-of-moments strength exceeded the cap and was lowered to it.
    CappedAtMaximum,
    /// Method-of-moments strength fell below [`MIN_PRIOR_STRENGTH`] and was
    /// raised to it.
    RaisedToMinimum,
    /// The rates vary no more than binomial chance predicts (or the pooled
    /// rate is 0 or 1), so the cap strength is used, centred on the pooled
    /// rate.
    NoOverdispersion,
    /// Fewer than two units with cases, or every unit has a single case, so
    /// between-unit variation cannot be estimated; the cap strength is used,
    /// centred on the pooled rate.
    NotEstimable,
}

/// The result of [`fit_beta_binomial`]: the prior and how it was obtained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BetaBinomialFit {
    /// The fitted prior; its mean is always the pooled rate.
    pub prior: BetaPrior,
    /// Pooled rate `Σx / Σn` over the units with cases.
    pub pooled_rate: f64,
    /// Raw moment estimate of the intraclass correlation ρ (before the cap
    /// and floor); `NaN` when not estimable. ρ ≤ 0 means no over-dispersion.
    pub intraclass_correlation: f64,
    /// Number of units with at least one case that entered the fit.
    pub units: usize,
    /// Which branch produced the prior.
    pub basis: PriorBasis,
}

impl BetaBinomialFit {
    /// Shorthand for `self.prior.posterior_mean(x, n)`.
    pub fn posterior_mean(&self, x: f64, n: f64) -> f64 {
        self.prior.posterior_mean(x, n)
    }
}

/// Fit a Beta(α, β) prior to units' event counts by the method of moments,
/// with the prior strength capped at [`MAX_PRIOR_STRENGTH`].
///
/// See [`fit_beta_binomial_with_cap`] for the estimator and its fallbacks.
///
/// # Errors
///
/// As [`fit_beta_binomial_with_cap`]: mismatched lengths, an impossible
/// count, or no unit with any trials.
pub fn fit_beta_binomial(successes: &[f64], trials: &[f64]) -> Result<BetaBinomialFit, StatsError> {
    fit_beta_binomial_with_cap(successes, trials, MAX_PRIOR_STRENGTH)
}

/// Fit a Beta(α, β) prior to units' event counts `successes[i]` of
/// `trials[i]` by the case-weighted method of moments, with the prior strength
/// `α + β` kept within `[MIN_PRIOR_STRENGTH, max_strength]`.
///
/// # Estimator
///
/// Under the beta-binomial model a unit's rate `r_i = x_i/n_i` has mean `p`
/// and variance `p(1−p)/n_i · (1 + (n_i − 1)ρ)`, where `ρ = 1/(α + β + 1)` is
/// the intraclass correlation. Weighting each unit by its number of cases
/// `n_i` (so large hospitals count more), with `N = Σ n_i`, `I` units and the
/// pooled rate `p̂ = Σx_i / N`, the weighted sum of squares
///
/// ```text
/// S = Σ n_i (r_i − p̂)²
/// ```
///
/// has expectation `p(1−p) · [(I − 1) + ρ (N − Σn_i²/N − (I − 1))]`. Setting
/// `S` equal to its expectation gives
///
/// ```text
/// ρ̂ = (S / (p̂(1−p̂)) − (I − 1)) / (N − Σn_i²/N − (I − 1))
/// α + β = (1 − ρ̂) / ρ̂,   α = p̂ (α + β),   β = (1 − p̂)(α + β)
/// ```
///
/// This is the ANOVA-type moment estimator (the same equation as the first,
/// `n_i`-weighted step of Kleinman's 1973 iterative estimator). It has the
/// same shape as the DerSimonian–Laird τ² used for funnel plots.
///
/// # Fallbacks
///
/// * `ρ̂ ≤ 0`: the rates vary no more than chance predicts. The prior is
///   centred on `p̂` with strength `max_strength` (see [`MAX_PRIOR_STRENGTH`]
///   for why a finite value). Basis [`PriorBasis::NoOverdispersion`]. The
///   same holds when `p̂` is 0 or 1 (then α or β is 0, a point mass on the
///   boundary; `posterior_mean` still works).
/// * Fewer than two units with cases, or a zero denominator (every unit has
///   exactly one case): [`PriorBasis::NotEstimable`], same prior.
/// * Strength above `max_strength` or below [`MIN_PRIOR_STRENGTH`]: moved to
///   the bound ([`PriorBasis::CappedAtMaximum`], [`PriorBasis::RaisedToMinimum`]).
///
/// Units with zero trials carry no information and are skipped.
///
/// # Errors
///
/// [`StatsError::LengthMismatch`] if the slices differ in length;
/// [`StatsError::InvalidCount`] for a negative or non-finite count or
/// `successes > trials`; [`StatsError::NoData`] if no unit has any trials;
/// [`StatsError::InvalidParameter`] if `max_strength` is not finite or is
/// below [`MIN_PRIOR_STRENGTH`].
pub fn fit_beta_binomial_with_cap(
    successes: &[f64],
    trials: &[f64],
    max_strength: f64,
) -> Result<BetaBinomialFit, StatsError> {
    if successes.len() != trials.len() {
        return Err(StatsError::LengthMismatch {
            left: successes.len(),
            right: trials.len(),
        });
    }
    if !max_strength.is_finite() || max_strength < MIN_PRIOR_STRENGTH {
        return Err(StatsError::InvalidParameter {
            name: "max_strength",
            value: max_strength,
        });
    }
    let mut units = Vec::with_capacity(trials.len());
    for (index, (&x, &n)) in successes.iter().zip(trials).enumerate() {
        let ok = x.is_finite() && n.is_finite() && x >= 0.0 && n >= 0.0 && x <= n;
        if !ok {
            return Err(StatsError::InvalidCount {
                index,
                successes: x,
                trials: n,
            });
        }
        if n > 0.0 {
            units.push((x, n));
        }
    }
    if units.is_empty() {
        return Err(StatsError::NoData);
    }
    let big_n: f64 = units.iter().map(|u| u.1).sum();
    let big_x: f64 = units.iter().map(|u| u.0).sum();
    let p = big_x / big_n;
    let i = units.len() as f64;
    let fallback = |rho: f64, basis: PriorBasis| BetaBinomialFit {
        prior: BetaPrior::from_mean_strength(p, max_strength),
        pooled_rate: p,
        intraclass_correlation: rho,
        units: units.len(),
        basis,
    };

    let sum_n2: f64 = units.iter().map(|u| u.1 * u.1).sum();
    let den = big_n - sum_n2 / big_n - (i - 1.0);
    if units.len() < 2 || den <= 0.0 {
        return Ok(fallback(f64::NAN, PriorBasis::NotEstimable));
    }
    let pq = p * (1.0 - p);
    if pq <= 0.0 {
        // Every unit at 0% (or every unit at 100%): no variation at all.
        return Ok(fallback(f64::NAN, PriorBasis::NoOverdispersion));
    }
    let s: f64 = units
        .iter()
        .map(|&(x, n)| {
            let d = x / n - p;
            n * d * d
        })
        .sum();
    let rho = (s / pq - (i - 1.0)) / den;
    if rho.is_nan() || rho <= 0.0 {
        return Ok(fallback(rho, PriorBasis::NoOverdispersion));
    }
    let raw_strength = (1.0 - rho) / rho;
    let (strength, basis) = if raw_strength > max_strength {
        (max_strength, PriorBasis::CappedAtMaximum)
    } else if raw_strength < MIN_PRIOR_STRENGTH {
        (MIN_PRIOR_STRENGTH, PriorBasis::RaisedToMinimum)
    } else {
        (raw_strength, PriorBasis::MethodOfMoments)
    };
    Ok(BetaBinomialFit {
        prior: BetaPrior::from_mean_strength(p, strength),
        pooled_rate: p,
        intraclass_correlation: rho,
        units: units.len(),
        basis,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn posterior_mean_by_hand() {
        // Beta(2, 8), 3 events in 10 cases: (3 + 2)/(10 + 10) = 0.25
        let prior = BetaPrior::new(2.0, 8.0);
        assert_abs_diff_eq!(prior.posterior_mean(3.0, 10.0), 0.25, epsilon = 1e-15);
        assert_abs_diff_eq!(prior.mean(), 0.2, epsilon = 1e-15);
        assert_abs_diff_eq!(prior.strength(), 10.0, epsilon = 1e-15);
        // No cases: the prior mean.
        assert_abs_diff_eq!(prior.posterior_mean(0.0, 0.0), 0.2, epsilon = 1e-15);
        let post = prior.posterior(3.0, 10.0);
        assert_abs_diff_eq!(post.alpha, 5.0, epsilon = 1e-15);
        assert_abs_diff_eq!(post.beta, 15.0, epsilon = 1e-15);
    }

    #[test]
    fn posterior_mean_degenerate_is_nan() {
        assert!(BetaPrior::new(0.0, 0.0).posterior_mean(0.0, 0.0).is_nan());
        assert!(BetaPrior::new(0.0, 0.0).mean().is_nan());
        assert!(
            BetaPrior::new(1.0, 1.0)
                .posterior_mean(1.0, f64::NAN)
                .is_nan()
        );
    }

    #[test]
    fn method_of_moments_by_hand() {
        // Units 2/10, 8/10, 5/10: N = 30, p̂ = 0.5, p̂(1−p̂) = 0.25.
        // S = 10·0.09 + 10·0.09 + 0 = 1.8; S/pq = 7.2; I − 1 = 2.
        // Denominator = 30 − 300/30 − 2 = 18. ρ̂ = 5.2/18 = 0.288889.
        // α + β = (1 − ρ̂)/ρ̂ = 12.8/5.2 = 2.461538; α = β = 1.230769.
        // Check with the equal-n form: sample variance of rates 0.18/2 = 0.09
        // = 0.25/10·(1 + 9ρ) → ρ = 2.6/9 = 0.288889 ✓.
        let fit = fit_beta_binomial(&[2.0, 8.0, 5.0], &[10.0, 10.0, 10.0]).unwrap();
        assert_eq!(fit.basis, PriorBasis::MethodOfMoments);
        assert_eq!(fit.units, 3);
        assert_abs_diff_eq!(fit.pooled_rate, 0.5, epsilon = 1e-15);
        assert_abs_diff_eq!(fit.intraclass_correlation, 5.2 / 18.0, epsilon = 1e-12);
        assert_abs_diff_eq!(fit.prior.strength(), 12.8 / 5.2, epsilon = 1e-12);
        assert_abs_diff_eq!(fit.prior.alpha, 6.4 / 5.2, epsilon = 1e-12);
        assert_abs_diff_eq!(fit.prior.beta, 6.4 / 5.2, epsilon = 1e-12);
    }

    #[test]
    fn method_of_moments_unequal_sizes_by_hand() {
        // Units 1/10, 9/30, 2/20: N = 60, X = 12, p̂ = 0.2, pq = 0.16.
        // S = 10·0.01 + 30·0.01 + 20·0.01 = 0.6; S/pq = 3.75; I − 1 = 2.
        // Σn² = 100 + 900 + 400 = 1400; den = 60 − 1400/60 − 2 = 34.666667.
        // ρ̂ = 1.75/34.666667 = 0.0504808; α + β = (1 − ρ̂)/ρ̂ = 18.809524.
        let fit = fit_beta_binomial(&[1.0, 9.0, 2.0], &[10.0, 30.0, 20.0]).unwrap();
        assert_eq!(fit.basis, PriorBasis::MethodOfMoments);
        let rho = 1.75 / (60.0 - 1400.0 / 60.0 - 2.0);
        assert_abs_diff_eq!(fit.intraclass_correlation, rho, epsilon = 1e-12);
        assert_abs_diff_eq!(fit.prior.strength(), 18.809_523_809_5, epsilon = 1e-6);
        assert_abs_diff_eq!(fit.prior.alpha, 0.2 * 18.809_523_809_5, epsilon = 1e-6);
    }

    #[test]
    fn small_unit_shrunk_far_below_large_unit() {
        // Peers all at exactly 20%: no over-dispersion → fallback prior
        // centred on 0.2 with strength 1000: α = 200, β = 800.
        let fit = fit_beta_binomial(&[200.0, 400.0, 100.0], &[1000.0, 2000.0, 500.0]).unwrap();
        assert_eq!(fit.basis, PriorBasis::NoOverdispersion);
        assert_abs_diff_eq!(fit.prior.alpha, 200.0, epsilon = 1e-9);
        assert_abs_diff_eq!(fit.prior.beta, 800.0, epsilon = 1e-9);
        // 3/3: (3 + 200)/(3 + 1000) = 0.2023928
        let small = fit.posterior_mean(3.0, 3.0);
        assert_abs_diff_eq!(small, 203.0 / 1003.0, epsilon = 1e-12);
        // 800/2000: (800 + 200)/(2000 + 1000) = 0.3333333
        let large = fit.posterior_mean(800.0, 2000.0);
        assert_abs_diff_eq!(large, 1000.0 / 3000.0, epsilon = 1e-12);
        assert!(large - small > 0.13);
    }

    #[test]
    fn strong_overdispersion_is_capped_and_floored() {
        // Nearly identical rates with huge n: tiny positive ρ̂ → strength
        // above the cap → capped at 1000.
        let fit = fit_beta_binomial(&[2000.0, 2100.0, 1900.0], &[10000.0; 3]).unwrap();
        assert!(fit.intraclass_correlation > 0.0);
        assert_eq!(fit.basis, PriorBasis::CappedAtMaximum);
        assert_abs_diff_eq!(fit.prior.strength(), 1000.0, epsilon = 1e-9);
        // Units at 0% and 100%: p̂ = 0.5, S = 10·0.25·2 = 5, S/pq = 20,
        // den = 20 − 200/20 − 1 = 9 → ρ̂ = 19/9 > 1 (a two-unit sample can
        // overshoot) → strength negative → raised to 1.
        let fit = fit_beta_binomial(&[0.0, 10.0], &[10.0, 10.0]).unwrap();
        assert_abs_diff_eq!(fit.intraclass_correlation, 19.0 / 9.0, epsilon = 1e-12);
        assert_eq!(fit.basis, PriorBasis::RaisedToMinimum);
        assert_abs_diff_eq!(fit.prior.alpha, 0.5, epsilon = 1e-12);
        assert_abs_diff_eq!(fit.prior.beta, 0.5, epsilon = 1e-12);
    }

    #[test]
    fn custom_cap_is_used_in_fallback() {
        let fit = fit_beta_binomial_with_cap(&[1.0, 2.0], &[10.0, 20.0], 50.0).unwrap();
        assert_eq!(fit.basis, PriorBasis::NoOverdispersion);
        assert_abs_diff_eq!(fit.prior.alpha, 5.0, epsilon = 1e-12);
        assert_abs_diff_eq!(fit.prior.beta, 45.0, epsilon = 1e-12);
    }

    #[test]
    fn degenerate_inputs() {
        // One unit: not estimable, fallback centred on its rate.
        let fit = fit_beta_binomial(&[3.0], &[10.0]).unwrap();
        assert_eq!(fit.basis, PriorBasis::NotEstimable);
        assert_abs_diff_eq!(fit.prior.mean(), 0.3, epsilon = 1e-12);
        // Every unit a single case: denominator 0 → not estimable.
        let fit = fit_beta_binomial(&[1.0, 0.0, 0.0], &[1.0, 1.0, 1.0]).unwrap();
        assert_eq!(fit.basis, PriorBasis::NotEstimable);
        assert_abs_diff_eq!(fit.prior.alpha, 1000.0 / 3.0, epsilon = 1e-9);
        // All zero events: pooled rate 0 → no over-dispersion, α = 0.
        let fit = fit_beta_binomial(&[0.0, 0.0], &[10.0, 20.0]).unwrap();
        assert_eq!(fit.basis, PriorBasis::NoOverdispersion);
        assert_abs_diff_eq!(fit.prior.alpha, 0.0, epsilon = 1e-12);
        assert_abs_diff_eq!(fit.posterior_mean(5.0, 10.0), 5.0 / 1010.0, epsilon = 1e-12);
        // Zero-trial units are skipped.
        let fit = fit_beta_binomial(&[0.0, 2.0, 8.0, 5.0], &[0.0, 10.0, 10.0, 10.0]).unwrap();
        assert_eq!(fit.units, 3);
        assert_abs_diff_eq!(fit.prior.strength(), 12.8 / 5.2, epsilon = 1e-12);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert_eq!(
            fit_beta_binomial(&[1.0], &[1.0, 2.0]),
            Err(StatsError::LengthMismatch { left: 1, right: 2 })
        );
        assert_eq!(fit_beta_binomial(&[], &[]), Err(StatsError::NoData));
        assert_eq!(fit_beta_binomial(&[0.0], &[0.0]), Err(StatsError::NoData));
        assert!(matches!(
            fit_beta_binomial(&[3.0, 1.0], &[2.0, 5.0]),
            Err(StatsError::InvalidCount { index: 0, .. })
        ));
        assert!(matches!(
            fit_beta_binomial(&[1.0, f64::NAN], &[2.0, 5.0]),
            Err(StatsError::InvalidCount { index: 1, .. })
        ));
        assert!(matches!(
            fit_beta_binomial_with_cap(&[1.0], &[2.0], 0.5),
            Err(StatsError::InvalidParameter { .. })
        ));
    }
}
