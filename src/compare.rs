//! Compare: turns each hospital's measure into a judged finding — ratio O/E, a z-score
//! widened for over-dispersion (Spiegelhalter 2005 funnel plots), a one-sided p-value,
//! the Benjamini–Hochberg q-value across every hospital × indicator test of the run, the
//! PEPPER percentile among same-level peers, and the excess shrunk toward the peers so a
//! handful of cases never looks like a large excess.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::indicators::{Ctx, Detector, Direction, Indicator, Measure};
use crate::stats::{self, Dispersion};

/// Hospitals need this many expected events before they enter the over-dispersion estimate.
const MIN_EXPECTED_FOR_DISPERSION: f64 = 5.0;
/// Below this many expected events the exact Poisson tail is used when it is larger.
const SMALL_EXPECTED: f64 = 10.0;
/// Evidence is capped here (z ≈ 40 is already beyond any doubt; keeps scores finite).
const MAX_EVIDENCE: f64 = 40.0;
/// Prior strength (cases) for shrinking excesses when the beta-binomial fit is unavailable.
const DEFAULT_PRIOR_STRENGTH: f64 = 100.0;

/// One hospital × indicator, judged.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Hospital index.
    #[serde(skip)]
    pub hospital: u32,
    /// Registry index of the indicator.
    #[serde(skip)]
    pub indicator: usize,
    /// Finding code.
    pub code: &'static str,
    /// Detector.
    pub detector: Detector,
    /// Suspicious tail.
    pub direction: Direction,
    /// Whether it enters the detector score.
    pub scored: bool,
    /// Denominator.
    pub n: f64,
    /// Observed numerator.
    pub observed: f64,
    /// Expected numerator.
    pub expected: f64,
    /// O / E.
    pub ratio: f64,
    /// Rate shrunk toward the expected rate (beta-binomial posterior mean).
    pub shrunk_rate: f64,
    /// Raw z = (O − E) / √V.
    pub z_raw: f64,
    /// z on the ratio scale widened for over-dispersion.
    pub z: f64,
    /// One-sided p-value in the suspicious direction.
    pub p: f64,
    /// Benjamini–Hochberg q-value over all tests of the run.
    pub q: f64,
    /// Share of same-level peers at or below this hospital's rate, 0–100.
    pub peer_percentile: f64,
    /// Funnel-plot position: above998, above95, within, below95, below998.
    pub funnel: &'static str,
    /// Evidence in the suspicious direction (max(0, ±z)): what the scores are built from.
    pub evidence: f64,
    /// Shrunk excess events (or weight units) in the suspicious direction.
    pub excess: f64,
    /// Excess points = shrunk excess × mean points at stake per evidence case.
    pub excess_points: f64,
    /// Excess points × point value.
    pub excess_yuan: f64,
    /// q ≤ fdr_q and in the suspicious direction.
    pub flagged: bool,
    /// Extra words from the indicator.
    pub detail: String,
    /// Cases left out because no peer had their group.
    pub no_peer_cases: f64,
}

/// Over-dispersion used for one indicator.
#[derive(Debug, Clone, Serialize)]
pub struct IndicatorDispersion {
    /// Finding code.
    pub code: &'static str,
    /// Winsorised φ.
    pub phi: f64,
    /// Additive τ² on the ratio scale (0 = none applied).
    pub tau2: f64,
    /// Hospitals tested.
    pub hospitals: usize,
}

/// What judging needs from the whole region, per indicator: the over-dispersion, the
/// shrinkage strength and the peers' rates (for the percentile). `run` computes it; the
/// regional model publishes it so `check` judges a hospital the same way.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Winsorised φ (`null` when too few hospitals to estimate it).
    #[serde(with = "crate::peers::nan_as_null")]
    pub phi: f64,
    /// Additive τ² on the ratio scale (0 = none applied).
    pub tau2: f64,
    /// Prior strength (cases) of the beta-binomial shrinkage.
    pub strength: f64,
    /// Tested hospitals' rates O/n by hospital level 0–3, ascending.
    pub peer_rates: [Vec<f64>; 4],
}

/// The region's judging, kept for `check`: each indicator's calibration and the p-values of
/// every hospital × indicator test (the FDR step needs them all).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Judging {
    /// Calibration by finding code.
    pub calibration: BTreeMap<String, Calibration>,
    /// p-values of every test of the run, ascending.
    pub p_values: Vec<f64>,
}

/// Findings, over-dispersion and the judging that produced them.
pub struct Compared {
    /// Every hospital × indicator tested.
    pub findings: Vec<Finding>,
    /// Over-dispersion per indicator.
    pub dispersion: Vec<IndicatorDispersion>,
    /// Calibrations and p-values (the region's own, or the published ones it used).
    pub judging: Judging,
}

/// Judges every indicator's measures; q-values span all of them. With `published`, the
/// calibration and the FDR step come from a regional model (`check`) instead of the data.
pub fn compare(
    ctx: &Ctx,
    registry: &[Box<dyn Indicator>],
    measures: &[Vec<Measure>],
    published: Option<&Judging>,
) -> Compared {
    let mut findings = Vec::new();
    let mut dispersion = Vec::new();
    let mut calibration = BTreeMap::new();
    for (k, (ind, ms)) in registry.iter().zip(measures).enumerate() {
        let code = ind.spec().code;
        let given = published.map(|j| j.calibration.get(code).cloned().unwrap_or_default());
        let (f, d, c) = judge(ctx, k, ind.as_ref(), ms, given);
        findings.extend(f);
        dispersion.push(d);
        calibration.insert(code.to_string(), c);
    }
    let p: Vec<f64> = findings.iter().map(|f| f.p).collect();
    let (q, p_values) = match published {
        None => {
            let mut sorted = p.clone();
            sorted.sort_by(f64::total_cmp);
            (stats::bh_qvalues(&p), sorted)
        }
        Some(j) => (
            published_qvalues(&findings, &j.p_values, |h| ctx.peers.own_included(h)),
            j.p_values.clone(),
        ),
    };
    let threshold = ctx.config.detect.fdr_q;
    for (f, q) in findings.iter_mut().zip(q) {
        f.q = q;
        f.flagged = q <= threshold && f.evidence > 0.0;
    }
    // Supporting (unscored) indicators flag only when a scored indicator of the same
    // detector flags the same hospital: a heavier case mix alone is not a lead when cost
    // and stay match it (the sicker-patients explanation).
    let corroborated: std::collections::BTreeSet<(u32, Detector)> = findings
        .iter()
        .filter(|f| f.flagged && f.scored)
        .map(|f| (f.hospital, f.detector))
        .collect();
    for f in findings.iter_mut().filter(|f| f.flagged && !f.scored) {
        if !corroborated.contains(&(f.hospital, f.detector)) {
            f.flagged = false;
            f.detail = format!(
                "not flagged alone: no resource-based indicator of the same detector is flagged{}",
                if f.detail.is_empty() {
                    String::new()
                } else {
                    format!("; {}", f.detail)
                }
            );
        }
    }
    Compared {
        findings,
        dispersion,
        judging: Judging {
            calibration,
            p_values,
        },
    }
}

/// q-values of a batch's tests against the region's published p-values: the batch's own
/// p-values join the region's unless its hospital's tests are already among them.
fn published_qvalues(
    findings: &[Finding],
    region: &[f64],
    own_included: impl Fn(u32) -> bool,
) -> Vec<f64> {
    let mut all: Vec<f64> = region.to_vec();
    all.extend(
        findings
            .iter()
            .filter(|f| !own_included(f.hospital))
            .map(|f| f.p),
    );
    let q = stats::bh_qvalues(&all);
    // Tied p-values share one q under Benjamini–Hochberg, so any position of p will do.
    findings
        .iter()
        .map(|f| {
            all.iter()
                .position(|x| x.to_bits() == f.p.to_bits())
                .map_or(f64::NAN, |i| q[i])
        })
        .collect()
}

/// Share of `rates` at or below `value`, one copy of `value` itself left out when the
/// hospital is among them.
fn peer_percentile(value: f64, rates: &[f64], own_included: bool) -> f64 {
    let mut peers: Vec<f64> = rates.to_vec();
    if own_included && let Some(i) = peers.iter().position(|r| r.to_bits() == value.to_bits()) {
        peers.remove(i);
    }
    if peers.is_empty() {
        f64::NAN
    } else {
        stats::percentile_rank(value, &peers)
    }
}

fn judge(
    ctx: &Ctx,
    k: usize,
    ind: &dyn Indicator,
    ms: &[Measure],
    given: Option<Calibration>,
) -> (Vec<Finding>, IndicatorDispersion, Calibration) {
    let spec = ind.spec();
    let tested: Vec<usize> = (0..ms.len())
        .filter(|&h| ms[h].n > 0.0 && ms[h].e > 0.0 && ms[h].v > 0.0)
        .collect();
    let ratio_se = |m: &Measure| m.v.sqrt() / m.e;
    let cal = given.unwrap_or_else(|| calibrate(ctx, ms, &tested));
    let (phi, tau2, strength) = (cal.phi, cal.tau2, cal.strength);
    let disp = if tau2 > 0.0 {
        Dispersion::Additive(tau2)
    } else {
        Dispersion::None
    };
    let point_value = ctx.derived.point_value.yuan_per_point;
    let findings = tested
        .iter()
        .map(|&h| {
            let m = &ms[h];
            let ratio = m.o / m.e;
            let s = ratio_se(m);
            let z = (ratio - 1.0) / disp.widen(s);
            let z_raw = (m.o - m.e) / m.v.sqrt();
            let mut p = match spec.direction {
                Direction::Excess => stats::normal_sf(z),
                Direction::Deficit => stats::normal_cdf(z),
            };
            if m.e < SMALL_EXPECTED && m.o.fract() == 0.0 {
                let exact = match spec.direction {
                    Direction::Excess => stats::poisson_upper_p(m.o as u64, m.e),
                    Direction::Deficit => stats::poisson_lower_p(m.o as u64, m.e),
                };
                p = p.max(exact);
            }
            // Evidence is the z-equivalent of the final p-value (which includes the exact
            // Poisson tail for small counts), so a tiny hospital's noisy z cannot outrank.
            let suspicious = match spec.direction {
                Direction::Excess => z > 0.0,
                Direction::Deficit => z < 0.0,
            };
            let evidence = if suspicious {
                (-stats::normal_quantile(p)).clamp(0.0, MAX_EVIDENCE)
            } else {
                0.0
            };
            let shrink = m.n / (m.n + strength);
            let expected_rate = m.e / m.n;
            let shrunk_rate = expected_rate + (m.o - m.e) / m.n * shrink;
            let excess = match spec.direction {
                Direction::Excess => (m.o - m.e) * shrink,
                Direction::Deficit => (m.e - m.o) * shrink,
            }
            .max(0.0);
            let excess_points = excess * m.mean_stake();
            let level = (ctx.hospital_level[h] as usize).min(3);
            let percentile = peer_percentile(
                m.o / m.n,
                &cal.peer_rates[level],
                ctx.peers.own_included(h as u32),
            );
            let funnel = match stats::ratio_limits(m.e, disp).classify(ratio) {
                stats::FunnelPosition::Above998 => "above998",
                stats::FunnelPosition::Above95 => "above95",
                stats::FunnelPosition::Within => "within",
                stats::FunnelPosition::Below95 => "below95",
                stats::FunnelPosition::Below998 => "below998",
                _ => "unknown",
            };
            Finding {
                hospital: h as u32,
                indicator: k,
                code: spec.code,
                detector: spec.detector,
                direction: spec.direction,
                scored: spec.scored,
                n: m.n,
                observed: m.o,
                expected: m.e,
                ratio,
                shrunk_rate,
                z_raw,
                z,
                p,
                q: f64::NAN,
                peer_percentile: percentile,
                funnel,
                evidence,
                excess,
                excess_points,
                excess_yuan: excess_points * point_value,
                flagged: false,
                detail: m.detail.clone(),
                no_peer_cases: m.no_peer_cases,
            }
        })
        .collect();
    (
        findings,
        IndicatorDispersion {
            code: spec.code,
            phi,
            tau2,
            hospitals: tested.len(),
        },
        cal,
    )
}

/// The region's calibration of one indicator from its tested hospitals' measures.
fn calibrate(ctx: &Ctx, ms: &[Measure], tested: &[usize]) -> Calibration {
    let ratio_se = |m: &Measure| m.v.sqrt() / m.e;
    // Over-dispersion from the hospitals with enough expected events.
    let big: Vec<usize> = tested
        .iter()
        .copied()
        .filter(|&h| ms[h].e >= MIN_EXPECTED_FOR_DISPERSION)
        .collect();
    let z_big: Vec<f64> = big
        .iter()
        .map(|&h| (ms[h].o / ms[h].e - 1.0) / ratio_se(&ms[h]))
        .collect();
    let s_big: Vec<f64> = big.iter().map(|&h| ratio_se(&ms[h])).collect();
    let phi = if big.len() >= 5 {
        stats::overdispersion(&z_big, 0.1)
    } else {
        f64::NAN
    };
    let tau2 =
        if phi.is_finite() && phi > 1.0 && stats::overdispersion_p_value(phi, big.len()) < 0.05 {
            stats::tau_squared(&s_big, phi)
        } else {
            0.0
        };
    // Shrinkage strength from a beta-binomial fit of the hospitals' counts.
    let strength = {
        let (x, n): (Vec<f64>, Vec<f64>) = tested
            .iter()
            .map(|&h| (ms[h].o.min(ms[h].n), ms[h].n))
            .unzip();
        stats::fit_beta_binomial(&x, &n)
            .map(|f| f.prior.strength())
            .unwrap_or(DEFAULT_PRIOR_STRENGTH)
    };
    let mut peer_rates: [Vec<f64>; 4] = Default::default();
    for &h in tested {
        let level = (ctx.hospital_level[h] as usize).min(3);
        peer_rates[level].push(ms[h].o / ms[h].n);
    }
    for r in &mut peer_rates {
        r.sort_by(f64::total_cmp);
    }
    Calibration {
        phi,
        tau2,
        strength,
        peer_rates,
    }
}
