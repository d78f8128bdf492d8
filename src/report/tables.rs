//! `hospitals.csv`, `findings.csv` and `cases_for_review.csv` (CONTRACT §4).

use serde::Serialize;

use super::csv_bytes;
use crate::compare::Finding;
use crate::error::Result;
use crate::indicators::{Ctx, Indicator};
use crate::leads::CaseLead;
use crate::rank::{HospitalRank, finding_sentence};

/// `hospitals.csv`, best lead first.
pub fn hospitals_csv(ranks: &[HospitalRank]) -> Result<Vec<u8>> {
    csv_bytes(ranks, &[])
}

/// `cases_for_review.csv`.
pub fn cases_csv(leads: &[CaseLead]) -> Result<Vec<u8>> {
    csv_bytes(
        leads,
        &[
            "case_id",
            "hospital_id",
            "group_code",
            "findings",
            "points_at_stake",
            "yuan_at_stake",
            "input_line",
            "reason",
            "claimed_severity",
            "supported_severity",
            "lever_code",
        ],
    )
}

/// One row of `findings.csv`.
#[derive(Debug, Serialize)]
struct FindingRow<'a> {
    hospital_id: &'a str,
    hospital_name: &'a str,
    hospital_rank: usize,
    indicator: &'static str,
    detector: &'static str,
    name_en: &'static str,
    name_zh: &'static str,
    direction: &'static str,
    peer_group: String,
    numerator: &'static str,
    denominator: &'static str,
    n: f64,
    observed: f64,
    expected: f64,
    rate: f64,
    expected_rate: f64,
    ratio: f64,
    shrunk_rate: f64,
    z: f64,
    p: f64,
    q: f64,
    peer_percentile: f64,
    funnel: &'static str,
    excess_points: f64,
    excess_yuan: f64,
    flagged: bool,
    scored: bool,
    reason: String,
    /// Null standard error of O/E (chance, peer-rate uncertainty, τ²): the funnel's.
    se: f64,
    /// 90 % interval of the excess points.
    excess_points_low: f64,
    excess_points_high: f64,
    /// Other tested hospitals of the same level.
    peer_hospitals: usize,
    /// Cases compared with all levels because same-level peers were too few.
    fallback_cases: f64,
}

fn r(x: f64, d: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let m = 10f64.powi(d);
    (x * m).round() / m
}

/// Significant digits for p and q (tiny values keep their magnitude).
fn sig(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let d = 4 - x.abs().log10().ceil() as i32;
    r(x, d.max(0))
}

/// Each hospital's rank, by hospital index.
fn rank_of(ctx: &Ctx, ranks: &[HospitalRank]) -> Vec<usize> {
    let mut rank_of = vec![0usize; ctx.n_hospitals()];
    for h in ranks {
        rank_of[h.hospital as usize] = h.rank;
    }
    rank_of
}

/// One row of `lever_codes.csv`.
#[derive(Serialize)]
struct LeverCsvRow<'a> {
    hospital_id: &'a str,
    hospital_rank: usize,
    code: &'a str,
    code_name: &'a str,
    claims: f64,
    observed: f64,
    expected: f64,
    ratio: f64,
    p: f64,
    q: f64,
    flagged: bool,
    excess_yuan: f64,
    stake_points: f64,
}

/// `lever_codes.csv` (`UPC_LEVER_CODE`, issue 11): every (hospital, code) pair with at least
/// one claim resting on the code alone, in rank order, strongest code first.
pub fn levers_csv(
    ctx: &Ctx,
    levers: &[crate::compare::LeverRow],
    ranks: &[HospitalRank],
) -> Result<Vec<u8>> {
    let rank_of = rank_of(ctx, ranks);
    let mut order: Vec<&crate::compare::LeverRow> =
        levers.iter().filter(|l| l.observed > 0.0).collect();
    // Stable: within a hospital the rows keep their p order.
    order.sort_by_key(|l| rank_of[l.hospital as usize]);
    let rows: Vec<LeverCsvRow> = order
        .iter()
        .map(|l| {
            let code = ctx.cases.codes.codes[l.code as usize].as_str();
            LeverCsvRow {
                hospital_id: &ctx.cases.hospitals[l.hospital as usize].id,
                hospital_rank: rank_of[l.hospital as usize],
                code,
                code_name: crate::reference::code_name(code).unwrap_or(""),
                claims: r(l.claims, 3),
                observed: r(l.observed, 3),
                expected: r(l.expected, 3),
                ratio: r(l.ratio, 4),
                p: sig(l.p),
                q: sig(l.q),
                flagged: l.flagged,
                excess_yuan: r(l.excess_yuan, 0),
                stake_points: r(l.stake_points, 2),
            }
        })
        .collect();
    csv_bytes(
        &rows,
        &[
            "hospital_id",
            "hospital_rank",
            "code",
            "code_name",
            "claims",
            "observed",
            "expected",
            "ratio",
            "p",
            "q",
            "flagged",
            "excess_yuan",
            "stake_points",
        ],
    )
}

/// `findings.csv`: every hospital × indicator tested, in rank then registry order.
pub fn findings_csv(
    ctx: &Ctx,
    registry: &[Box<dyn Indicator>],
    findings: &[Finding],
    ranks: &[HospitalRank],
    lang: crate::lang::Lang,
) -> Result<Vec<u8>> {
    let rank_of = rank_of(ctx, ranks);
    let mut order: Vec<&Finding> = findings.iter().collect();
    order.sort_by_key(|f| (rank_of[f.hospital as usize], f.indicator));
    let rows: Vec<FindingRow> = order
        .iter()
        .map(|f| {
            let h = &ctx.cases.hospitals[f.hospital as usize];
            let spec = registry[f.indicator].spec();
            FindingRow {
                hospital_id: &h.id,
                hospital_name: &h.name,
                hospital_rank: rank_of[f.hospital as usize],
                indicator: f.code,
                detector: f.detector.as_str(),
                name_en: spec.name_en,
                name_zh: spec.name_zh,
                direction: match f.direction {
                    crate::indicators::Direction::Excess => "excess",
                    crate::indicators::Direction::Deficit => "deficit",
                },
                peer_group: match h.level {
                    Some(l) => format!("level {l}"),
                    None => "all hospitals".into(),
                },
                numerator: spec.numerator,
                denominator: spec.denominator,
                n: r(f.n, 3),
                observed: r(f.observed, 3),
                expected: r(f.expected, 3),
                rate: r(f.observed / f.n, 5),
                expected_rate: r(f.expected / f.n, 5),
                ratio: r(f.ratio, 4),
                shrunk_rate: r(f.shrunk_rate, 5),
                z: r(f.z, 3),
                p: sig(f.p),
                q: sig(f.q),
                peer_percentile: r(f.peer_percentile, 1),
                funnel: f.funnel,
                excess_points: r(f.excess_points, 1),
                excess_yuan: r(f.excess_yuan, 2),
                flagged: f.flagged,
                scored: f.scored,
                reason: finding_sentence(f, registry, lang),
                se: r(f.se, 5),
                excess_points_low: r(f.excess_points_interval.0, 1),
                excess_points_high: r(f.excess_points_interval.1, 1),
                peer_hospitals: f.peer_hospitals,
                fallback_cases: r(f.fallback_cases, 0),
            }
        })
        .collect();
    csv_bytes(&rows, &["hospital_id"])
}
