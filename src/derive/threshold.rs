//! The low-multiplier threshold the region's hospitals respond to, found in the data.
//!
//! Cities pay low-multiplier cases below anywhere from 0.3 to 0.5 × benchmark, and users
//! often run with the preset's default. Hospitals pad cheap cases to just over the
//! threshold they are paid on, which leaves a jump in the density of the multiplier: mass
//! piled just above, a hole just below (DOMAIN.md, "thresholds are local").
//!
//! The scan: for each candidate c from 0.20 to 0.70 in steps of 0.01, the audited stays'
//! multipliers are counted in four adjacent bins of width d = w·c (w = the bunching width):
//! b₋₂ = [c − 2d, c − d), b₋₁ = [c − d, c), b₁ = [c, c + d), b₂ = [c + d, c + 2d). A smooth
//! density gives b₁ − b₋₁ ≈ (b₂ − b₋₂)/3 exactly when it is quadratic across the four bins
//! (the even terms cancel in both differences), so the jump J = (b₁ − b₋₁) − (b₂ − b₋₂)/3
//! is ≈ 0 without a threshold effect, whatever the slope and curvature of the tail. With
//! Poisson counts, Var J = b₁ + b₋₁ + (b₂ + b₋₂)/9, and z = J/√Var J. The candidate with
//! the largest z is the discovered threshold when its one-sided p, Bonferroni-adjusted over
//! the candidates, is below [`DISCOVERY_P`]; otherwise none is reported. Region-wide only:
//! one hospital's few hundred cheap stays rarely show a jump on their own, and each
//! hospital's bunching is tested against its peers at the discovered threshold
//! (`LM_LOW_BUNCHING_FOUND`).

use serde::{Deserialize, Serialize};

use crate::period::PeriodTag;
use crate::stats::distribution::normal_sf;

/// First candidate threshold.
pub const SCAN_FROM: f64 = 0.20;
/// Last candidate threshold.
pub const SCAN_TO: f64 = 0.70;
/// Candidate step.
pub const SCAN_STEP: f64 = 0.01;
/// Bonferroni-adjusted p below which a jump counts as a threshold. Strict on purpose: at
/// 0.001 the scan reported jumps at thresholds nobody was paid on (0.5 and 0.6, z 4.3–4.7)
/// in 2 of the 30 gamed grid regions and in honest ones, while finding none of the 8
/// shifted thresholds, and a wrong "set low = …" warning is a wrong lead for the whole
/// region. Until the scan is sharper (per group, completed stays), it speaks only for a
/// jump no smooth mixture makes (z ≳ 6).
pub const DISCOVERY_P: f64 = 1e-7;

/// What the scan found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LowThresholdScan {
    /// The configured low threshold.
    pub configured: f64,
    /// Where the density jumps most (the discovered threshold), when the jump is
    /// significant; `None` otherwise.
    pub discovered: Option<f64>,
    /// Whether the discovered threshold differs from the configured one by more than half
    /// the bunching window (then the bunching test also runs at the discovered one).
    pub differs: bool,
    /// The largest jump's candidate, significant or not.
    pub strongest_candidate: f64,
    /// Its z.
    pub z: f64,
    /// Its one-sided p, Bonferroni-adjusted over the candidates.
    pub p_adjusted: f64,
    /// Its pile: J / (b₋₁ + (b₂ − b₋₂)/3), the stays above the candidate in excess of the
    /// smooth density, as a share of what the smooth density puts there.
    pub pile_excess_share: f64,
    /// Candidates scanned.
    pub candidates: usize,
    /// Audited stays whose multiplier fell in a scan bin.
    pub stays_scanned: usize,
    /// `scan` (found in this run's data) or `model` (read from the regional model).
    pub source: String,
}

impl LowThresholdScan {
    /// The threshold to test bunching at besides the configured one, if any.
    pub fn extra_threshold(&self) -> Option<f64> {
        self.discovered.filter(|_| self.differs)
    }

    /// The scan as a regional model publishes it, for a `check` batch: the region's
    /// threshold, read from the model (a model without one: the configured threshold only).
    pub fn from_model(published: Option<&LowThresholdScan>, configured: f64) -> LowThresholdScan {
        match published {
            Some(p) => LowThresholdScan {
                source: "model".into(),
                ..p.clone()
            },
            None => LowThresholdScan {
                configured,
                discovered: None,
                differs: false,
                strongest_candidate: configured,
                z: 0.0,
                p_adjusted: 1.0,
                pile_excess_share: 0.0,
                candidates: 0,
                stays_scanned: 0,
                source: "model".into(),
            },
        }
    }
}

/// Counts of multipliers in `[lo, hi)` of the sorted `m`.
fn count(m: &[f64], lo: f64, hi: f64) -> f64 {
    (m.partition_point(|x| *x < hi) - m.partition_point(|x| *x < lo)) as f64
}

/// Scans the audited stays' multipliers for the low threshold (module doc).
pub fn scan_low(
    multiplier: &[f64],
    period: &[PeriodTag],
    configured: f64,
    width: f64,
) -> LowThresholdScan {
    let lo = SCAN_FROM * (1.0 - 2.0 * width);
    let hi = SCAN_TO * (1.0 + 2.0 * width);
    let mut m: Vec<f64> = multiplier
        .iter()
        .zip(period)
        .filter(|(x, p)| **p == PeriodTag::Audited && **x >= lo && **x < hi)
        .map(|(x, _)| *x)
        .collect();
    m.sort_unstable_by(f64::total_cmp);
    let steps = ((SCAN_TO - SCAN_FROM) / SCAN_STEP).round() as usize;
    let mut best = (f64::NEG_INFINITY, SCAN_FROM, 0.0);
    for k in 0..=steps {
        // Rounded to the step so the candidate prints as the threshold a city would set.
        let c = ((SCAN_FROM + k as f64 * SCAN_STEP) * 100.0).round() / 100.0;
        let d = width * c;
        let (bm2, bm1) = (count(&m, c - 2.0 * d, c - d), count(&m, c - d, c));
        let (b1, b2) = (count(&m, c, c + d), count(&m, c + d, c + 2.0 * d));
        let smooth = bm1 + (b2 - bm2) / 3.0;
        let jump = b1 - smooth;
        let var = b1 + bm1 + (b2 + bm2) / 9.0;
        if var <= 0.0 {
            continue;
        }
        let z = jump / var.sqrt();
        if z > best.0 {
            best = (z, c, if smooth > 0.0 { jump / smooth } else { 0.0 });
        }
    }
    let candidates = steps + 1;
    let (z, c, pile) = best;
    let z = if z.is_finite() { z } else { 0.0 };
    let p_adjusted = (normal_sf(z) * candidates as f64).min(1.0);
    let discovered = (p_adjusted < DISCOVERY_P).then_some(c);
    LowThresholdScan {
        configured,
        discovered,
        differs: discovered.is_some_and(|c| (c - configured).abs() > configured * width / 2.0),
        strongest_candidate: c,
        z,
        p_adjusted,
        pile_excess_share: pile,
        candidates,
        stays_scanned: m.len(),
        source: "scan".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Log-normal multipliers around 0.9 (σ 0.45): a smooth low tail with curvature.
    fn honest(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let z: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
                (0.9f64.ln() + 0.45 * z).exp()
            })
            .collect()
    }

    fn audited(n: usize) -> Vec<PeriodTag> {
        vec![PeriodTag::Audited; n]
    }

    #[test]
    fn a_smooth_density_has_no_threshold_in_nine_regions_of_two_hundred_thousand_stays() {
        for seed in 0..9 {
            let m = honest(200_000, seed);
            let s = scan_low(&m, &audited(m.len()), 0.4, 0.15);
            assert_eq!(s.discovered, None, "seed {seed}: {s:?}");
            assert!(!s.differs);
        }
    }

    #[test]
    fn padding_to_a_threshold_other_than_the_configured_one_is_found() {
        let mut m = honest(200_000, 3);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        // Three in ten stays below 0.3 padded just over it: a region where padding is common.
        let mut padded = 0;
        for x in m.iter_mut() {
            if *x < 0.3 && rng.random::<f64>() < 0.3 {
                *x = 0.3 * rng.random_range(1.0..1.10);
                padded += 1;
            }
        }
        assert!(padded > 100, "{padded}");
        let s = scan_low(&m, &audited(m.len()), 0.4, 0.15);
        assert_eq!(s.discovered, Some(0.3), "{s:?}");
        assert!(s.differs && s.extra_threshold() == Some(0.3));
        assert!(s.pile_excess_share > 0.0);
        // The same padding at the configured threshold is found and does not differ.
        let s = scan_low(
            &m.iter().map(|x| x * 0.4 / 0.3).collect::<Vec<_>>(),
            &audited(m.len()),
            0.4,
            0.15,
        );
        assert_eq!(s.discovered, Some(0.4), "{s:?}");
        assert_eq!(s.extra_threshold(), None);
    }

    #[test]
    fn only_audited_stays_are_scanned() {
        let m = vec![0.3; 500];
        let mut p = audited(500);
        p[..400].fill(PeriodTag::Baseline);
        assert_eq!(scan_low(&m, &p, 0.4, 0.15).stays_scanned, 100);
    }
}
