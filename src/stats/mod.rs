//! Pure statistics for auditing hospitals paid by DRG/DIP groups.
//!
//! Everything here is a plain function of numbers: no I/O, no randomness, no
//! global state. The same input always gives the same output, so a finding can
//! be recomputed by hand (or in R) when a hospital disputes it. Each function
//! says in its documentation what it returns for empty input, zero
//! denominators and other degenerate cases; none of them panics on such data.
//!
//! # How the pieces fit together
//!
//! An audit indicator (say, the share of a hospital's cases coded into the
//! "with major complications" group of their family) goes through these steps:
//!
//! 1. **Compare like with like** ([`standardise`]). For each of the hospital's
//!    cases take the peer rate for that case's group, computed *without* the
//!    hospital itself ([`leave_one_out_rate`]). Summing those gives the number
//!    of events the hospital would have had if it behaved like its peers on its
//!    own case mix: the expected count `E`. The observed count `O` over `E` is
//!    the indirectly standardised ratio, and `(O − E)/√V` its z-score
//!    ([`IndirectStandardisation`]).
//! 2. **Judge the size of the deviation against chance** ([`funnel`]). A ratio
//!    of 2.0 from 3 expected cases is weak evidence; from 300 it is strong.
//!    Funnel plots (Spiegelhalter 2005) draw 95% and 99.8% control limits that
//!    narrow as `E` grows. When hospitals differ by more than chance even
//!    without gaming (they always do somewhat), the limits are widened for
//!    over-dispersion ([`overdispersion`], [`tau_squared`], [`Dispersion`]).
//!    For small counts use exact tail probabilities ([`poisson_upper_p`],
//!    [`binomial_upper_p`]) instead of the normal approximation.
//! 3. **Do not let small hospitals top the table by luck** ([`shrinkage`]).
//!    Before *ranking* rates, shrink each toward the peer rate with a
//!    beta-binomial empirical-Bayes prior ([`fit_beta_binomial`]): a hospital
//!    with 3 of 3 cases coded high is not evidence of a 100% rate.
//! 4. **Correct for testing many hospitals × indicators at once** ([`fdr`]).
//!    Report Benjamini–Hochberg q-values ([`bh_qvalues`]) rather than raw
//!    p-values: among findings with q ≤ 0.05, about 5% are expected to be false
//!    alarms.
//! 5. **PEPPER-style ranking** ([`percentile`]): where a hospital's value lies
//!    among its peers ([`percentile_rank`]), and the 20th/80th percentile cut
//!    points ([`quantile`]) used to flag possible under- and over-coding.
//!
//! # Conventions
//!
//! * `NaN` means "not computable from these data" (for example a ratio with a
//!   zero expected count). Functions that combine many values skip `NaN`
//!   entries where that is documented, and never turn them into numbers.
//! * One-sided p-values are *upper* tails (evidence of too many events, the
//!   direction of upcoding) unless the function name says `lower`.

pub mod distribution;
pub mod fdr;
pub mod funnel;
pub mod heterogeneity;
pub mod percentile;
pub mod shrinkage;
pub mod standardise;
pub mod tails;

pub use distribution::{
    binomial_lower_p, binomial_upper_p, chi_square_sf, normal_cdf, normal_quantile, normal_sf,
    poisson_lower_p, poisson_upper_p,
};
pub use fdr::{BhBeside, bh_qvalues};
pub use funnel::{
    Dispersion, FunnelLimits, FunnelPosition, Z_95, Z_998, adjusted_z, limits_from_se,
    overdispersion, overdispersion_p_value, proportion_limits, ratio_limits, ratio_limits_sqrt,
    tau_squared,
};
pub use heterogeneity::{paule_mandel, robust_tau2};
pub use percentile::{percentile_rank, quantile, sorted_finite};
pub use shrinkage::{
    BetaBinomialFit, BetaPrior, MAX_PRIOR_STRENGTH, MIN_PRIOR_STRENGTH, PriorBasis,
    fit_beta_binomial, fit_beta_binomial_with_cap,
};
pub use standardise::{IndirectStandardisation, leave_one_out_rate};
pub use tails::{count_lower_p, count_upper_p};

/// Errors for inputs that are malformed rather than merely degenerate.
///
/// Degenerate-but-valid data (an empty list, a zero denominator) give `NaN` or
/// `None` as each function documents. An error is returned only where
/// silently carrying on would hide a bug upstream, such as two lists that
/// should describe the same units but have different lengths.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// Two slices that must be parallel (one entry per unit) differ in length.
    #[error("parallel inputs differ in length: {left} vs {right}")]
    LengthMismatch {
        /// Length of the first slice.
        left: usize,
        /// Length of the second slice.
        right: usize,
    },
    /// A unit's count is impossible: negative, not finite, or more successes
    /// than trials.
    #[error("unit {index}: invalid count {successes} of {trials}")]
    InvalidCount {
        /// Position of the unit in the input slices.
        index: usize,
        /// The successes given for that unit.
        successes: f64,
        /// The trials given for that unit.
        trials: f64,
    },
    /// No unit had any trials, so there is no rate to estimate.
    #[error("no unit has any trials")]
    NoData,
    /// A tuning parameter is outside its allowed range.
    #[error("parameter {name} has invalid value {value}")]
    InvalidParameter {
        /// Name of the parameter.
        name: &'static str,
        /// The value given.
        value: f64,
    },
}
