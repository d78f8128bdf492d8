//! One-sided tails of a count whose mean and variance are known but whose exact law is not:
//! a hospital's number of events is a sum of Bernoulli trials with different peer rates
//! (variance below the mean), widened by between-hospital variation and by the uncertainty
//! of the peer rates (variance above the mean).
//!
//! The count is given the two-parameter law of its family that matches both moments:
//!
//! - variance below the mean: a binomial with `n' = μ²/(μ − σ²)` trials and rate
//!   `π = 1 − σ²/μ` (real `n'`, through the regularised incomplete beta function);
//! - variance equal to the mean: the Poisson;
//! - variance above the mean: the negative binomial with size `r = μ²/(σ² − μ)` (a
//!   Poisson–gamma mixture: the usual law of an over-dispersed count).
//!
//! The normal approximation understates these tails by a factor 1.5–6 when the expected
//! count is between 10 and 100 (a skewed count has a longer upper tail); these do not, and
//! they tend to the normal as the count grows.

use statrs::function::beta::beta_reg;
use statrs::function::gamma::{gamma_lr, gamma_ur};

use super::distribution::normal_cdf;

/// Relative gap between variance and mean below which the count is treated as Poisson.
const POISSON_TOLERANCE: f64 = 1e-9;

/// Which law matches a count's mean and variance.
enum Law {
    /// Binomial with real trials `n` and rate `p`.
    Binomial {
        n: f64,
        p: f64,
    },
    Poisson,
    /// Negative binomial of size `r` and success probability `p` (counts failures).
    NegativeBinomial {
        r: f64,
        p: f64,
    },
}

fn law(mean: f64, var: f64) -> Law {
    if (var - mean).abs() <= POISSON_TOLERANCE * mean {
        Law::Poisson
    } else if var < mean {
        let p = 1.0 - var / mean;
        Law::Binomial { n: mean / p, p }
    } else {
        let p = mean / var;
        Law::NegativeBinomial {
            r: mean * p / (1.0 - p),
            p,
        }
    }
}

fn valid(observed: f64, mean: f64, var: f64) -> bool {
    observed.is_finite()
        && observed >= 0.0
        && mean.is_finite()
        && mean > 0.0
        && var.is_finite()
        && var > 0.0
}

/// `P(X ≥ observed)` for a count `X` with the given mean and variance (one-sided p-value
/// for too many events). `observed` is rounded to a whole count. `NaN` for a negative or
/// non-finite argument or a mean or variance that is not positive.
pub fn count_upper_p(observed: f64, mean: f64, var: f64) -> f64 {
    if !valid(observed, mean, var) {
        return f64::NAN;
    }
    let o = observed.round();
    if o <= 0.0 {
        return 1.0;
    }
    match law(mean, var) {
        Law::Poisson => gamma_lr(o, mean),
        // Beyond the matched binomial's trials the approximation has no tail left; the
        // Poisson tail of the same mean is the honest fallback (wider, never 0; the normal
        // would call 2 events at E = 0.5 a 1-in-150 chance).
        Law::Binomial { n, .. } if o > n => gamma_lr(o, mean),
        Law::Binomial { n, p } => beta_reg(o, n - o + 1.0, p),
        Law::NegativeBinomial { r, p } => beta_reg(o, r, 1.0 - p),
    }
}

/// `P(X ≤ observed)` for a count `X` with the given mean and variance (one-sided p-value
/// for too few events). Same conventions as [`count_upper_p`].
pub fn count_lower_p(observed: f64, mean: f64, var: f64) -> f64 {
    if !valid(observed, mean, var) {
        return f64::NAN;
    }
    let o = observed.round();
    match law(mean, var) {
        Law::Poisson => gamma_ur(o + 1.0, mean),
        Law::Binomial { n, .. } if o + 1.0 > n => {
            if o >= n {
                1.0
            } else {
                normal_cdf((o - mean) / var.sqrt())
            }
        }
        Law::Binomial { n, p } => beta_reg(n - o, o + 1.0, 1.0 - p),
        Law::NegativeBinomial { r, p } => beta_reg(r, o + 1.0, p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{
        binomial_lower_p, binomial_upper_p, normal_sf, poisson_lower_p, poisson_upper_p,
    };
    use approx::assert_relative_eq;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Gamma, Poisson};

    #[test]
    fn equal_moments_give_the_poisson_tails() {
        for (o, m) in [(0.0, 3.0), (5.0, 2.0), (14.0, 6.5), (40.0, 25.0)] {
            assert_relative_eq!(
                count_upper_p(o, m, m),
                poisson_upper_p(o as u64, m),
                max_relative = 1e-9
            );
            assert_relative_eq!(
                count_lower_p(o, m, m),
                poisson_lower_p(o as u64, m),
                max_relative = 1e-9
            );
        }
    }

    #[test]
    fn variance_below_the_mean_gives_the_binomial_tails() {
        // Binomial(40, 0.25): mean 10, variance 7.5.
        for o in [3.0, 10.0, 17.0, 25.0] {
            assert_relative_eq!(
                count_upper_p(o, 10.0, 7.5),
                binomial_upper_p(o as u64, 40, 0.25),
                max_relative = 1e-8
            );
            assert_relative_eq!(
                count_lower_p(o, 10.0, 7.5),
                binomial_lower_p(o as u64, 40, 0.25),
                max_relative = 1e-8
            );
        }
    }

    #[test]
    fn variance_above_the_mean_gives_the_poisson_gamma_tail() {
        // X | λ ~ Poisson(λ), λ ~ Gamma(shape 4, scale 5): mean 20, variance 20 + 20²/4 = 120.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let gamma = Gamma::new(4.0, 5.0).unwrap();
        let draws: Vec<f64> = (0..200_000)
            .map(|_| {
                Poisson::new(gamma.sample(&mut rng))
                    .unwrap()
                    .sample(&mut rng)
            })
            .collect();
        for o in [30.0, 45.0, 60.0] {
            let sim = draws.iter().filter(|&&x| x >= o).count() as f64 / draws.len() as f64;
            assert_relative_eq!(count_upper_p(o, 20.0, 120.0), sim, max_relative = 0.05);
            let sim_lo = draws.iter().filter(|&&x| x <= o - 25.0).count() as f64 / 2e5;
            assert_relative_eq!(
                count_lower_p(o - 25.0, 20.0, 120.0),
                sim_lo,
                max_relative = 0.05
            );
        }
    }

    #[test]
    fn the_normal_understates_a_skewed_upper_tail() {
        // Poisson(20): P(X ≥ 35) = 0.001489 (1 − Σ_{k<35} e^{-20} 20^k / k!); the normal says 0.00040.
        let exact = count_upper_p(35.0, 20.0, 20.0);
        assert_relative_eq!(exact, 0.001_489_034, max_relative = 1e-6);
        assert!(normal_sf(15.0 / 20f64.sqrt()) < exact / 3.0);
    }

    #[test]
    fn degenerate_arguments() {
        assert!(count_upper_p(3.0, 0.0, 1.0).is_nan());
        assert!(count_upper_p(3.0, 1.0, 0.0).is_nan());
        assert!(count_lower_p(f64::NAN, 1.0, 1.0).is_nan());
        assert_eq!(count_upper_p(0.0, 4.0, 2.0), 1.0);
        // Beyond the matched binomial's trials: the Poisson tail, small but never 0.
        let p = count_upper_p(30.0, 10.0, 1.0);
        assert_relative_eq!(p, poisson_upper_p(30, 10.0), max_relative = 1e-9);
        // 2 events at E = 0.5 with V = 0.37 (n' = 1.9 trials): Poisson's 0.090, not the
        // normal's 0.007.
        assert_relative_eq!(
            count_upper_p(2.0, 0.5, 0.37),
            poisson_upper_p(2, 0.5),
            max_relative = 1e-9
        );
        assert_eq!(count_lower_p(30.0, 10.0, 1.0), 1.0);
    }
}
