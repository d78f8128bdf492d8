//! Compare: turns each hospital's measure into a judged finding — ratio O/E, one standard
//! error per finding (chance, the peer rates' own uncertainty and the between-hospital
//! variance τ²) used by the z-score, the p-value, the funnel position and the chart; a
//! one-sided p-value from the count's own law (binomial, Poisson or negative binomial
//! matched to its mean and variance, [`stats::count_upper_p`]); the Benjamini–Hochberg
//! q-value across every hospital × indicator test of the run; the PEPPER percentile among
//! same-level peers; and the excess shrunk toward the peers (normal–normal on the ratio)
//! with its 90 % interval, so a handful of cases never looks like a large excess.
//!
//! τ² is estimated by Paule–Mandel on a trimmed core of the tested hospitals
//! ([`stats::robust_tau2`]), per hospital level where a level has
//! [`MIN_LEVEL_HOSPITALS`], else pooled, and always applied: an honest region must come
//! out clean, so the null includes the spread honest hospitals show.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::indicators::{Ctx, Detector, Direction, Indicator, Measure, Tail};
use crate::stats;

/// Hospitals need this many expected events before they enter the over-dispersion estimate.
const MIN_EXPECTED_FOR_DISPERSION: f64 = 1.0;
/// A hospital level needs this many hospitals in the estimate for a τ² of its own.
pub const MIN_LEVEL_HOSPITALS: usize = 15;
/// A count finding needs this many observed events (a deficit: expected events) to be
/// flagged: its p-value may be small, but no inspection team travels for fewer cases, and
/// the rarest events are where a single patient's repeated stays break independence.
pub const MIN_FLAG_EVENTS: f64 = 5.0;
/// Evidence is capped here (z ≈ 40 is already beyond any doubt; keeps scores finite).
const MAX_EVIDENCE: f64 = 40.0;
/// Normal quantile of a two-sided 90 % interval.
const Z_90: f64 = 1.644_853_626_951_472_2;

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
    /// The law its p-value came from.
    #[serde(skip)]
    pub tail: Tail,
    /// Denominator.
    pub n: f64,
    /// Observed numerator.
    pub observed: f64,
    /// Expected numerator.
    pub expected: f64,
    /// O / E.
    pub ratio: f64,
    /// Rate shrunk toward the expected rate (normal–normal posterior mean of O/E).
    pub shrunk_rate: f64,
    /// Standard error of O/E under the null: chance, peer-rate uncertainty and τ².
    pub se: f64,
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
    /// 90 % interval of the excess points (posterior of the shrunk excess), floored at 0.
    pub excess_points_interval: (f64, f64),
    /// Excess points × point value.
    pub excess_yuan: f64,
    /// q ≤ fdr_q and in the suspicious direction.
    pub flagged: bool,
    /// Extra words from the indicator.
    pub detail: String,
    /// Cases left out because no peer had their group.
    pub no_peer_cases: f64,
    /// Cases compared with all levels' peers because same-level peers were too few.
    pub fallback_cases: f64,
    /// Other tested hospitals of the same level (the peers behind the percentile).
    pub peer_hospitals: usize,
}

/// Over-dispersion used for one indicator.
#[derive(Debug, Clone, Serialize)]
pub struct IndicatorDispersion {
    /// Finding code.
    pub code: &'static str,
    /// Winsorised φ (Spiegelhalter), for information: it is no longer what widens.
    pub phi: f64,
    /// Pooled τ² on the ratio scale (Paule–Mandel, trimmed core).
    pub tau2: f64,
    /// τ² applied to each hospital level 0–3 (the level's own, or the pooled one).
    pub tau2_by_level: [f64; 4],
    /// Robust centre applied to each level's expected counts (median O/E; 1 = none).
    pub centre_by_level: [f64; 4],
    /// Hospitals in the trimmed core the pooled τ² came from.
    pub core_hospitals: usize,
    /// Hospitals tested.
    pub hospitals: usize,
    /// How τ² was estimated, in words.
    pub method: &'static str,
}

/// `method` of [`IndicatorDispersion`].
const DISPERSION_METHOD: &str = "expected counts rescaled by the level's median O/E (hospitals \
with E >= 10; robust to gaming peers); Paule-Mandel tau2 on the ratio O/E, centre 1, trimmed core \
(|residual| <= 3 SE, truncated-normal target), per level with >= 15 hospitals, else pooled; \
always applied";

/// What judging needs from the whole region, per indicator: the over-dispersion, the
/// shrinkage strength and the peers' rates (for the percentile). `run` computes it; the
/// regional model publishes it so `check` judges a hospital the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Winsorised φ (`null` when too few hospitals to estimate it); for information.
    #[serde(with = "crate::peers::nan_as_null")]
    pub phi: f64,
    /// Pooled τ² on the ratio scale (for `CL_MIX_DIVERGENCE`: the per-case growth κ of
    /// χ²/df among honest hospitals, χ² judged as `χ²/(1 + n·κ)`).
    pub tau2: f64,
    /// τ² applied by hospital level 0–3.
    pub tau2_by_level: [f64; 4],
    /// Robust centre by hospital level 0–3: the median O/E of the level's hospitals with
    /// enough expected events; every expected count of the level is multiplied by it, so
    /// that gaming peers, who inflate the peer rates, do not make honest hospitals look
    /// low and themselves less high (1 = no correction).
    pub centre_by_level: [f64; 4],
    /// Hospitals in the trimmed core.
    pub core_hospitals: usize,
    /// Prior variance of the hospitals' true O/E (Paule–Mandel over every tested
    /// hospital, gaming included): the shrinkage of excesses.
    pub prior_tau2: f64,
    /// Tested hospitals' rates O/n by hospital level 0–3, ascending.
    pub peer_rates: [Vec<f64>; 4],
}

impl Default for Calibration {
    /// No calibration: no between-hospital variance, no shrinkage, no recentring.
    fn default() -> Self {
        Self {
            phi: f64::NAN,
            tau2: 0.0,
            tau2_by_level: [0.0; 4],
            centre_by_level: [1.0; 4],
            core_hospitals: 0,
            prior_tau2: 0.0,
            peer_rates: Default::default(),
        }
    }
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
        f.flagged = q <= threshold && f.evidence > 0.0 && enough_events(f);
    }
    // Supporting (unscored) indicators flag only when a scored indicator that speaks to the
    // same explanation flags the same hospital: a heavier case mix alone is not a lead when
    // cost and stay match it (the sicker-patients explanation), and a costlier hospital has
    // both fewer low-multiplier and more high-multiplier stays without padding any.
    let flagged: std::collections::BTreeSet<(u32, &str)> = findings
        .iter()
        .filter(|f| f.flagged && f.scored)
        .map(|f| (f.hospital, f.code))
        .collect();
    let scored_codes: std::collections::BTreeMap<&str, Detector> = findings
        .iter()
        .filter(|f| f.scored)
        .map(|f| (f.code, f.detector))
        .collect();
    for f in findings.iter_mut().filter(|f| f.flagged && !f.scored) {
        let backed = scored_codes.iter().any(|(code, d)| {
            corroborates(code, *d, f.code, f.detector) && flagged.contains(&(f.hospital, *code))
        });
        if !backed {
            f.flagged = false;
            let rest = if f.detail.is_empty() {
                String::new()
            } else {
                format!("{}{}", ctx.lang.tr("；", "; "), f.detail)
            };
            f.detail = format!(
                "{}{}{rest}",
                ctx.lang.tr("未单独标记：", "not flagged alone: "),
                corroboration_words(f.code, ctx.lang)
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

/// One (hospital, code) row of `UPC_LEVER_CODE`, judged ([`levers`]).
#[derive(Debug, Clone, Serialize)]
pub struct LeverRow {
    /// Hospital index.
    #[serde(skip)]
    pub hospital: u32,
    /// Interned code.
    #[serde(skip)]
    pub code: u32,
    /// Eligible claims (severity 1/3, codes checked) in the families compared.
    pub claims: f64,
    /// Claims resting on the code alone.
    pub observed: f64,
    /// Peers' expected such claims for the hospital's families.
    pub expected: f64,
    /// O / E.
    pub ratio: f64,
    /// One-sided p (upper tail, chance, peer uncertainty and the between-hospital spread).
    pub p: f64,
    /// Benjamini–Hochberg q across every (hospital, code) pair of the region.
    pub q: f64,
    /// q ≤ the configured FDR level and at least [`MIN_FLAG_EVENTS`] claims.
    pub flagged: bool,
    /// Shrunk excess claims × the points they carry × the point value.
    pub excess_yuan: f64,
    /// Points every claim resting on the code earns over its lighter sibling, summed.
    pub stake_points: f64,
}

/// The between-hospital τ² of the lever pairs: in `run` Paule–Mandel on a trimmed core of
/// the pairs with at least one expected claim (honest coders differ in habits); in `check`
/// the region's, from the model's lever table, so a batch is judged with `run`'s spread.
pub fn lever_tau2(ctx: &Ctx, ms: &[crate::indicators::lever::LeverMeasure]) -> f64 {
    if let Some(t) = ctx.peers.lever_table() {
        return t.tau2;
    }
    let core: Vec<&crate::indicators::lever::LeverMeasure> = ms
        .iter()
        .filter(|m| m.e >= MIN_EXPECTED_FOR_DISPERSION)
        .collect();
    let y: Vec<f64> = core.iter().map(|m| m.o / m.e).collect();
    let s2: Vec<f64> = core.iter().map(|m| m.v / (m.e * m.e)).collect();
    let (tau2, _) = stats::robust_tau2(&y, &s2, 1.0);
    if tau2.is_finite() { tau2 } else { 0.0 }
}

/// Judges every (hospital, code) lever measure: count tail with the peer share's
/// uncertainty and a between-hospital τ² ([`lever_tau2`]), BH q across the pairs.
/// Their own family of tests, kept out of the findings' pool: a hospital has as many pairs
/// as codes, and one hospital-level test on its largest would be anti-conservative.
/// Sorted by hospital, then p, then code order of `ms`.
pub fn levers(ctx: &Ctx, ms: &[crate::indicators::lever::LeverMeasure]) -> Vec<LeverRow> {
    judge_levers(ctx, ms, lever_tau2(ctx, ms))
}

/// [`levers`] with τ² given. In `check` the q-values come from the region's published
/// p-values of every pair, as the findings' do: a batch that is the model's own data has
/// its pairs' p-values in the list already; a new batch's pairs join the list.
pub fn judge_levers(
    ctx: &Ctx,
    ms: &[crate::indicators::lever::LeverMeasure],
    tau2: f64,
) -> Vec<LeverRow> {
    let point_value = ctx.derived.point_value.yuan_per_point;
    let mut rows: Vec<LeverRow> = ms
        .iter()
        .map(|m| {
            let s2 = m.v / (m.e * m.e);
            let var = m.e * m.e * (s2 + tau2);
            let p = stats::count_upper_p(m.o, m.e, var);
            let as_measure = Measure {
                n: m.n,
                o: m.o,
                e: m.e,
                v: m.v,
                ..Measure::default()
            };
            let shrunk = shrink(&as_measure, s2, tau2, Direction::Excess);
            let mean_stake = if m.o > 0.0 { m.stake_points / m.o } else { 0.0 };
            LeverRow {
                hospital: m.hospital,
                code: m.code,
                claims: m.n,
                observed: m.o,
                expected: m.e,
                ratio: m.o / m.e,
                p,
                q: f64::NAN,
                flagged: false,
                excess_yuan: shrunk.excess * mean_stake * point_value,
                stake_points: m.stake_points,
            }
        })
        .collect();
    let p: Vec<f64> = rows.iter().map(|r| r.p).collect();
    let q = match ctx.peers.lever_table() {
        None => stats::bh_qvalues(&p),
        Some(t) => {
            let mut all = t.p_values.clone();
            all.extend(
                rows.iter()
                    .filter(|r| !ctx.peers.own_included(r.hospital))
                    .map(|r| r.p),
            );
            let table = stats::BhBeside::new(&all);
            p.iter().map(|&p| table.q(p)).collect()
        }
    };
    let fdr = ctx.config.detect.fdr_q;
    for (r, q) in rows.iter_mut().zip(q) {
        r.q = q;
        r.flagged = q <= fdr && r.observed >= MIN_FLAG_EVENTS && r.observed > r.expected;
    }
    // Stable sort: ties keep the measures' code-text order.
    rows.sort_by(|a, b| a.hospital.cmp(&b.hospital).then(a.p.total_cmp(&b.p)));
    rows
}

/// Whether a finding rests on enough events to be flagged ([`MIN_FLAG_EVENTS`]).
fn enough_events(f: &Finding) -> bool {
    if f.tail != Tail::Count {
        return true;
    }
    match f.direction {
        Direction::Excess => f.observed >= MIN_FLAG_EVENTS,
        Direction::Deficit => f.expected >= MIN_FLAG_EVENTS,
    }
}

/// Whether a flag of scored indicator `code` backs supporting indicator `supporting`: the
/// threshold-share indicators need their own bunching test, the others any scored
/// indicator of their detector.
fn corroborates(code: &str, detector: Detector, supporting: &str, of: Detector) -> bool {
    match supporting {
        "LM_LOW_DEFICIT" => matches!(
            code,
            "LM_LOW_PILE" | "LM_LOW_PILE_POLICY" | "LM_LOW_BUNCHING" | "LM_LOW_BUNCHING_FOUND"
        ),
        // Against the band below, a hospital whose costs are honestly higher looks like a
        // hole under the threshold; the pile against the strip above backs it.
        "LM_LOW_BUNCHING" => code == "LM_LOW_PILE",
        "PC_HIGH_MULTIPLIER" => code == "PC_HIGH_BUNCHING",
        // A hospital that is cheaper everywhere (efficient, traditional Chinese medicine)
        // has more low-multiplier stays honestly; the behaviours that make them a lead
        // are low-standard admissions and heavy groups that cost like light ones.
        "LM_LOW_EXCESS" => matches!(
            code,
            "PC_LOW_STANDARD_ADMISSION"
                | "LM_LOW_EXCESS_LIGHT"
                | "UPC_CHEAP_HEAVY"
                | "UPC_SIBLING_COST"
                | "UPC_SHORT_STAY_HEAVY"
        ),
        _ => detector == of,
    }
}

fn corroboration_words(supporting: &str, lang: crate::lang::Lang) -> &'static str {
    match supporting {
        "LM_LOW_DEFICIT" => lang.tr(
            "费用没有聚集在低倍率阈值上方（LM_LOW_BUNCHING）",
            "costs are not bunched just above the low threshold (LM_LOW_BUNCHING)",
        ),
        "LM_LOW_BUNCHING" => lang.tr(
            "阈值上方的堆积相对其上方区间并不突出（LM_LOW_PILE）",
            "the pile above the threshold does not stand out against the strip above it (LM_LOW_PILE)",
        ),
        "PC_HIGH_MULTIPLIER" => lang.tr(
            "费用没有聚集在高倍率阈值上方（PC_HIGH_BUNCHING）",
            "costs are not bunched just above the high threshold (PC_HIGH_BUNCHING)",
        ),
        "LM_LOW_EXCESS" => lang.tr(
            "没有标记低标入院或高权重组低费用（费用较低的医院低倍率病例本就较多）",
            "no low-standard admissions or cheap heavy cases are flagged (a cheaper hospital has more low-multiplier stays honestly)",
        ),
        _ => lang.tr(
            "同一检测器没有基于资源的指标被标记",
            "no resource-based indicator of the same detector is flagged",
        ),
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
    // A hospital whose cases built the model has its p-values in the list, unless privacy
    // suppression changed its peer sums (then its p differs from the listed one): that p is
    // judged as one more test beside the list, which can only raise its q, and leaves every
    // other q as `run` gave it.
    let table = stats::BhBeside::new(&all);
    findings.iter().map(|f| table.q(f.p)).collect()
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
    let cal = given.unwrap_or_else(|| calibrate(ctx, ms, &tested));
    let point_value = ctx.derived.point_value.yuan_per_point;
    let findings = tested
        .iter()
        .map(|&h| {
            let level = (ctx.hospital_level[h] as usize).min(3);
            let m = &recentred(&ms[h], cal.centre_by_level[level]);
            let tau2 = cal.tau2_by_level[level];
            let t = test(m, spec.direction, tau2);
            let suspicious = match spec.direction {
                Direction::Excess => t.z > 0.0,
                Direction::Deficit => t.z < 0.0,
            };
            // Evidence is the z-equivalent of the final p-value (from the count's own law),
            // so a tiny hospital's noisy z cannot outrank.
            let evidence = if suspicious {
                (-stats::normal_quantile(t.p)).clamp(0.0, MAX_EVIDENCE)
            } else {
                0.0
            };
            let shrunk = shrink(m, t.sampling_var, cal.prior_tau2, spec.direction);
            let excess_points = shrunk.excess * m.mean_stake();
            let percentile = peer_percentile(
                m.o / m.n,
                &cal.peer_rates[level],
                ctx.peers.own_included(h as u32),
            );
            let peer_hospitals = cal.peer_rates[level]
                .len()
                .saturating_sub(usize::from(ctx.peers.own_included(h as u32)));
            Finding {
                hospital: h as u32,
                indicator: k,
                code: spec.code,
                detector: spec.detector,
                direction: spec.direction,
                scored: spec.scored,
                tail: m.tail,
                n: m.n,
                observed: m.o,
                expected: m.e,
                ratio: m.o / m.e,
                shrunk_rate: shrunk.rate,
                se: t.se,
                z_raw: (m.o - m.e) / m.v.sqrt(),
                z: t.z,
                p: t.p,
                q: f64::NAN,
                peer_percentile: percentile,
                funnel: funnel_position(t.z),
                evidence,
                excess: shrunk.excess,
                excess_points,
                excess_points_interval: (
                    shrunk.interval.0 * m.mean_stake(),
                    shrunk.interval.1 * m.mean_stake(),
                ),
                excess_yuan: excess_points * point_value,
                flagged: false,
                detail: m.detail.clone(),
                no_peer_cases: m.no_peer_cases,
                fallback_cases: m.fallback_cases,
                peer_hospitals,
            }
        })
        .collect();
    (
        findings,
        IndicatorDispersion {
            code: spec.code,
            phi: cal.phi,
            tau2: cal.tau2,
            tau2_by_level: cal.tau2_by_level,
            centre_by_level: cal.centre_by_level,
            core_hospitals: cal.core_hospitals,
            hospitals: tested.len(),
            method: DISPERSION_METHOD,
        },
        cal,
    )
}

/// One hospital's test: the ratio's null standard error, z and the one-sided p-value.
struct Test {
    /// Null SE of O/E (chance and peer-rate uncertainty, widened by τ²).
    se: f64,
    /// Null variance of O/E from chance and peer-rate uncertainty only.
    sampling_var: f64,
    z: f64,
    p: f64,
}

fn test(m: &Measure, direction: Direction, tau2: f64) -> Test {
    let sampling_var = m.v / (m.e * m.e);
    if m.tail == Tail::ChiSquare {
        // χ² on E = df degrees of freedom, scaled by the honest hospitals' growth of χ²/df
        // with their number of cases (τ² holds κ here): a fixed small difference in case
        // patterns grows χ² with n, and every hospital has one.
        let scaled = m.o / (1.0 + m.n * tau2);
        let p = stats::chi_square_sf(scaled, m.e);
        return Test {
            se: (2.0 / m.e).sqrt(),
            sampling_var,
            z: (scaled / m.e - 1.0) / (2.0 / m.e).sqrt(),
            p,
        };
    }
    let se = (sampling_var + tau2).sqrt();
    let z = (m.o / m.e - 1.0) / se;
    let p = match (m.tail, direction) {
        (Tail::Count, Direction::Excess) => stats::count_upper_p(m.o, m.e, se * se * m.e * m.e),
        (Tail::Count, Direction::Deficit) => stats::count_lower_p(m.o, m.e, se * se * m.e * m.e),
        (_, Direction::Excess) => stats::normal_sf(z),
        (_, Direction::Deficit) => stats::normal_cdf(z),
    };
    Test {
        se,
        sampling_var,
        z,
        p,
    }
}

/// The funnel position of a z-score on the same standard error as the test.
fn funnel_position(z: f64) -> &'static str {
    if z.is_nan() {
        "unknown"
    } else if z > stats::Z_998 {
        "above998"
    } else if z > stats::Z_95 {
        "above95"
    } else if z < -stats::Z_998 {
        "below998"
    } else if z < -stats::Z_95 {
        "below95"
    } else {
        "within"
    }
}

/// A measure's excess shrunk toward its peers.
struct Shrunk {
    rate: f64,
    excess: f64,
    interval: (f64, f64),
}

/// Normal–normal shrinkage of O/E: the true ratio has prior N(1, τ²_prior) across the
/// region's hospitals, the observed ratio sampling variance `s2`; the posterior mean is
/// `1 + B(O/E − 1)` with `B = τ²/(τ² + s²)`, its variance `B·s²`. Works for counts and for
/// weight sums alike (a beta-binomial fit does not: Σ weight is not a count).
fn shrink(m: &Measure, s2: f64, prior_tau2: f64, direction: Direction) -> Shrunk {
    let b = if prior_tau2 > 0.0 && s2.is_finite() {
        prior_tau2 / (prior_tau2 + s2)
    } else {
        0.0
    };
    let ratio = 1.0 + b * (m.o / m.e - 1.0);
    let sign = match direction {
        Direction::Excess => 1.0,
        Direction::Deficit => -1.0,
    };
    let mean = sign * m.e * (ratio - 1.0);
    let half = Z_90 * m.e * (b * s2).sqrt();
    Shrunk {
        rate: m.e / m.n * ratio,
        excess: mean.max(0.0),
        interval: ((mean - half).max(0.0), (mean + half).max(0.0)),
    }
}

/// The region's calibration of one indicator from its tested hospitals' measures.
fn calibrate(ctx: &Ctx, ms: &[Measure], tested: &[usize]) -> Calibration {
    let level_of = |h: usize| (ctx.hospital_level[h] as usize).min(3);
    let mut peer_rates: [Vec<f64>; 4] = Default::default();
    for &h in tested {
        peer_rates[level_of(h)].push(ms[h].o / ms[h].n);
    }
    for r in &mut peer_rates {
        r.sort_by(f64::total_cmp);
    }
    if tested
        .first()
        .is_some_and(|&h| ms[h].tail == Tail::ChiSquare)
    {
        let kappa = chi_square_growth(ms, tested);
        return Calibration {
            phi: f64::NAN,
            tau2: kappa,
            tau2_by_level: [kappa; 4],
            centre_by_level: [1.0; 4],
            core_hospitals: tested.len(),
            prior_tau2: 0.0,
            peer_rates,
        };
    }
    let centre_by_level = centres(ctx, ms, tested);
    let ms: Vec<Measure> = (0..ms.len())
        .map(|h| {
            let level = (ctx.hospital_level[h] as usize).min(3);
            recentred(&ms[h], centre_by_level[level])
        })
        .collect();
    let big: Vec<usize> = tested
        .iter()
        .copied()
        .filter(|&h| ms[h].e >= MIN_EXPECTED_FOR_DISPERSION)
        .collect();
    let ratio = |h: usize| ms[h].o / ms[h].e;
    let s2 = |h: usize| ms[h].v / (ms[h].e * ms[h].e);
    let tau2_of = |hs: &[usize]| {
        let y: Vec<f64> = hs.iter().map(|&h| ratio(h)).collect();
        let s: Vec<f64> = hs.iter().map(|&h| s2(h)).collect();
        stats::robust_tau2(&y, &s, 1.0)
    };
    let (pooled, core) = tau2_of(&big);
    let pooled = if pooled.is_finite() { pooled } else { 0.0 };
    let mut by_level = [pooled; 4];
    for (lv, slot) in by_level.iter_mut().enumerate() {
        let of_level: Vec<usize> = big.iter().copied().filter(|&h| level_of(h) == lv).collect();
        if of_level.len() >= MIN_LEVEL_HOSPITALS
            && let (t, _) = tau2_of(&of_level)
            && t.is_finite()
        {
            *slot = t;
        }
    }
    let prior_tau2 = {
        let y: Vec<f64> = big.iter().map(|&h| ratio(h)).collect();
        let s: Vec<f64> = big.iter().map(|&h| s2(h)).collect();
        let t = stats::paule_mandel(&y, &s, 1.0, big.len() as f64);
        if t.is_finite() { t } else { 0.0 }
    };
    // Spiegelhalter's winsorised φ, kept for information in summary.json.
    let z: Vec<f64> = big
        .iter()
        .map(|&h| (ratio(h) - 1.0) / s2(h).sqrt())
        .collect();
    let phi = if big.len() >= 5 {
        stats::overdispersion(&z, 0.1)
    } else {
        f64::NAN
    };
    Calibration {
        phi,
        tau2: pooled,
        tau2_by_level: by_level,
        centre_by_level,
        core_hospitals: core,
        prior_tau2,
        peer_rates,
    }
}

/// Hospitals need this many expected events for their O/E to enter the robust centre (the
/// median of a small count's ratio lies below its mean).
const MIN_EXPECTED_FOR_CENTRE: f64 = 10.0;

/// The robust centre of each level (see [`Calibration::centre_by_level`]): the median O/E
/// of the level's hospitals with [`MIN_EXPECTED_FOR_CENTRE`], where it has
/// [`MIN_LEVEL_HOSPITALS`] of them, else the median of all levels, else 1.
fn centres(ctx: &Ctx, ms: &[Measure], tested: &[usize]) -> [f64; 4] {
    let level_of = |h: usize| (ctx.hospital_level[h] as usize).min(3);
    let eligible: Vec<usize> = tested
        .iter()
        .copied()
        .filter(|&h| ms[h].e >= MIN_EXPECTED_FOR_CENTRE && ms[h].tail != Tail::ChiSquare)
        .collect();
    let median = |hs: &[usize]| {
        let mut r: Vec<f64> = hs.iter().map(|&h| ms[h].o / ms[h].e).collect();
        r.sort_by(f64::total_cmp);
        let m = stats::quantile(&r, 0.5);
        if m.is_finite() && m > 0.0 { m } else { 1.0 }
    };
    let pooled = if eligible.len() >= stats::heterogeneity::MIN_UNITS {
        median(&eligible)
    } else {
        1.0
    };
    let mut out = [pooled; 4];
    for (lv, slot) in out.iter_mut().enumerate() {
        let of_level: Vec<usize> = eligible
            .iter()
            .copied()
            .filter(|&h| level_of(h) == lv)
            .collect();
        if of_level.len() >= MIN_LEVEL_HOSPITALS {
            *slot = median(&of_level);
        }
    }
    out
}

/// A measure with its expected count multiplied by the robust centre `c` (a count's
/// variance scales with it; a weight sum's spread does not).
fn recentred(m: &Measure, c: f64) -> Measure {
    let mut out = m.clone();
    out.e *= c;
    if m.tail == Tail::Count {
        out.v *= c;
    }
    out
}

/// κ such that the honest hospitals' scaled χ² p-values, `P(χ²_df ≥ χ²/(1 + n·κ))`, have
/// median ½: the robust (half the hospitals may game) growth of χ²/df with the number of
/// cases. 0 when the unscaled p-values already have a median of ½ or more.
fn chi_square_growth(ms: &[Measure], tested: &[usize]) -> f64 {
    if tested.len() < stats::heterogeneity::MIN_UNITS {
        return 0.0;
    }
    let median_p = |kappa: f64| {
        let mut p: Vec<f64> = tested
            .iter()
            .map(|&h| stats::chi_square_sf(ms[h].o / (1.0 + ms[h].n * kappa), ms[h].e))
            .collect();
        p.sort_by(f64::total_cmp);
        stats::quantile(&p, 0.5)
    };
    if median_p(0.0) >= 0.5 {
        return 0.0;
    }
    let mut hi = 1e-6;
    while median_p(hi) < 0.5 && hi < 1e6 {
        hi *= 4.0;
    }
    let mut lo = 0.0;
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if median_p(mid) < 0.5 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn measure(o: f64, e: f64, v: f64, n: f64, tail: Tail) -> Measure {
        Measure {
            n,
            o,
            e,
            v,
            tail,
            ..Measure::default()
        }
    }

    /// Issue 10, defect 4: χ² = 20 on 5 df has p 1.2e-3, not the 1.05e-6 of a normal with
    /// mean df and variance 2·df; with the region's growth κ the statistic is scaled first.
    #[test]
    fn issue10_4_cluster_mix_uses_the_chi_square_tail() {
        let m = measure(20.0, 5.0, 10.0, 400.0, Tail::ChiSquare);
        let t = test(&m, Direction::Excess, 0.0);
        assert_relative_eq!(t.p, 1.249_86e-3, max_relative = 1e-3);
        let scaled = test(&m, Direction::Excess, 0.0025);
        assert_relative_eq!(
            scaled.p,
            stats::chi_square_sf(10.0, 5.0),
            max_relative = 1e-12
        );
    }

    /// The τ² of the level widens the count's law: with τ² the p-value is larger.
    #[test]
    fn between_hospital_variance_widens_the_count_test() {
        let m = measure(160.0, 120.0, 110.0, 1000.0, Tail::Count);
        let (plain, wide) = (
            test(&m, Direction::Excess, 0.0),
            test(&m, Direction::Excess, 0.02),
        );
        assert!(plain.p < 1e-3 && wide.p > 0.01, "{} {}", plain.p, wide.p);
        assert_relative_eq!(
            wide.se,
            (110.0 / 14_400.0 + 0.02f64).sqrt(),
            max_relative = 1e-12
        );
    }

    /// Over-dispersion, simulated: honest hospitals of every size with a true τ² of 0.0102
    /// (the simulation that found the defect) reach p < 0.001 at about the nominal rate,
    /// large hospitals included, once τ² is estimated by `calibrate`'s Paule–Mandel core.
    #[test]
    fn overdispersion_estimate_holds_the_nominal_rate_for_large_hospitals() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal, Poisson};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let (mut tests, mut small_p, mut big_tests, mut big_small_p) = (0, 0, 0, 0);
        for _ in 0..150 {
            let es: Vec<f64> = (0..60).map(|h| [5.0, 40.0, 200.0, 900.0][h % 4]).collect();
            let ms: Vec<Measure> = es
                .iter()
                .map(|&e| {
                    let effect = Normal::new(0.0, 0.0102f64.sqrt()).unwrap().sample(&mut rng);
                    let lambda = (e * (1.0 + effect)).max(0.01);
                    let o = Poisson::new(lambda).unwrap().sample(&mut rng);
                    measure(o, e, e, e * 10.0, Tail::Count)
                })
                .collect();
            let y: Vec<f64> = ms.iter().map(|m| m.o / m.e).collect();
            let s2: Vec<f64> = ms.iter().map(|m| 1.0 / m.e).collect();
            let (tau2, _) = stats::robust_tau2(&y, &s2, 1.0);
            for m in &ms {
                let p = test(m, Direction::Excess, tau2).p;
                tests += 1;
                small_p += usize::from(p < 0.001);
                if m.e > 500.0 {
                    big_tests += 1;
                    big_small_p += usize::from(p < 0.001);
                }
            }
        }
        let share = |k: usize, n: usize| k as f64 / n as f64;
        assert!(share(small_p, tests) < 0.003, "{}", share(small_p, tests));
        assert!(
            share(big_small_p, big_tests) < 0.005,
            "{}",
            share(big_small_p, big_tests)
        );
    }
}

#[cfg(test)]
mod lever_tests {
    //! Eight same-level hospitals code CC claims of one family (ES3) with five CC codes in
    //! turn; H8 rests most of its claims on G80.000 alone. Its G80.000 pair must be its top
    //! row and flagged; no honest pair may be.

    use super::levers;
    use crate::indicators::Ctx;
    use crate::indicators::lever::measure;
    use crate::lang::Lang;
    use crate::region::testkit::{favourite_code_csv, fixture};

    /// Eight tertiary hospitals.
    fn region_csv() -> String {
        favourite_code_csv(&[3; 8])
    }

    #[test]
    fn a_favourite_lever_code_is_the_hospitals_top_pair_and_honest_pairs_are_not_flagged() {
        let f = fixture(&region_csv());
        let region = f.region();
        let ctx = Ctx::new(&region, None, Lang::En);
        let ms = measure(&ctx);
        assert!(!ms.is_empty());
        // O sums the claims resting on a code; E sums to the hospital's eligible claims
        // over every code of its families (peer shares sum to about one).
        for m in &ms {
            assert!(m.o <= m.n && m.e > 0.0 && m.v > 0.0, "{m:?}");
        }
        let rows = levers(&ctx, &ms);
        let code = |k: u32| ctx.cases.codes.codes[k as usize].as_str();
        let h8 = f.hospital("H8");
        let top = rows
            .iter()
            .find(|r| r.hospital == h8)
            .expect("H8 has pairs");
        assert_eq!(code(top.code), "G80.000");
        assert!(top.flagged, "{top:?}");
        assert!(top.observed > 2.0 * top.expected, "{top:?}");
        let honest_flags: Vec<_> = rows
            .iter()
            .filter(|r| r.flagged && r.hospital != h8)
            .collect();
        assert!(honest_flags.is_empty(), "{honest_flags:?}");
    }

    /// `check` (model version 4): against the published lever table, a batch that is the
    /// model's own data gets `run`'s measures and rows exactly (every cell published); a new
    /// batch of the same claims has its own claims among the peers, so a larger E, and its
    /// favourite code stays its top flagged pair.
    #[test]
    fn against_the_published_lever_table_own_data_is_judged_as_run_judges_it() {
        use super::{judge_levers, lever_tau2};
        use crate::indicators::lever::{LeverTable, published_cells};
        use crate::peers::PeerSource;
        use crate::region::{PublishedPeers, Region};
        let f = fixture(&region_csv());
        let region = f.region();
        let ctx = Ctx::new(&region, None, Lang::En);
        let ms = measure(&ctx);
        let tau2 = lever_tau2(&ctx, &ms);
        let rows = judge_levers(&ctx, &ms, tau2);
        let (cells, suppressed) = published_cells(&ctx, 0, 0.0);
        assert_eq!(suppressed, Default::default());
        let mut p_values: Vec<f64> = rows.iter().map(|r| r.p).collect();
        p_values.sort_by(f64::total_cmp);
        let table = LeverTable {
            cells,
            tau2,
            p_values,
        };
        let tables = Default::default();
        let judged = |own: bool| {
            let published = Region::against(
                &f.ingested.cases,
                &f.derived,
                &f.catalog,
                &f.config,
                PublishedPeers {
                    light_medical_group: vec![false; f.catalog.groups.len()],
                    peers: PeerSource::Published {
                        tables: &tables,
                        own_included: vec![own; f.ingested.cases.hospitals.len()],
                        same_periods: true,
                        levers: &table,
                    },
                    peer_volume: [[(0.0, 0.0); 2]; 4],
                },
            );
            let pctx = Ctx::new(&published, None, Lang::En);
            let pms = measure(&pctx);
            assert_eq!(lever_tau2(&pctx, &pms).to_bits(), tau2.to_bits());
            (pms.clone(), levers(&pctx, &pms))
        };
        let (own_ms, own_rows) = judged(true);
        assert_eq!(own_ms, ms, "the model's own data: run's measures");
        assert_eq!(
            format!("{own_rows:?}"),
            format!("{rows:?}"),
            "and run's rows"
        );
        let (new_ms, new_rows) = judged(false);
        let h8 = f.hospital("H8");
        let top = new_rows
            .iter()
            .find(|r| r.hospital == h8)
            .expect("H8 has pairs");
        let run_top = rows.iter().find(|r| r.hospital == h8).expect("H8 in run");
        assert_eq!(top.code, run_top.code);
        assert_eq!(top.observed, run_top.observed);
        assert!(top.expected > run_top.expected && top.flagged, "{top:?}");
        assert_eq!(new_ms.len(), ms.len());
    }

    #[test]
    fn no_lever_pairs_without_secondary_codes() {
        let csv = region_csv()
            .lines()
            .map(|l| l.rsplit_once(',').map_or(l, |(a, _)| a).to_string() + "\n")
            .collect::<String>();
        let f = fixture(&csv);
        let region = f.region();
        let ctx = Ctx::new(&region, None, Lang::En);
        assert!(measure(&ctx).is_empty());
    }
}
