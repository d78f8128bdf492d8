//! Scores, money at stake and the ranking.
//!
//! - A detector's score is the strongest evidence among its scored indicators and its
//!   flagged supporting ones (a supporting indicator flags only when it is significant and a
//!   scored indicator that speaks to it is flagged too, `compare::corroborates`: too many
//!   low-multiplier stays count once low-standard admissions back them): the
//!   over-dispersion-widened z in the suspicious direction (0 when none). z grows with the
//!   square root of the cases behind a rate, so a 5-case hospital never outranks a
//!   2,000-case hospital showing the same excess rate.
//! - `risk_score` = the strongest of the three detector scores + a tenth of the other two and
//!   of the cluster-mix score: one clear pattern is enough to inspect, more add a little.
//! - Money: only *scored, flagged* findings of the three detectors carry money (a
//!   supporting indicator such as the weight index is a sicker hospital's whole weight
//!   excess, not its upcoding). Each finding's shrunk excess points are spread over its
//!   evidence cases in proportion to their stakes; a case that is evidence for several
//!   findings (a short cheap stay is a low-standard admission *and* a low-multiplier case)
//!   counts once, at its largest share; the hospital's money is the sum over its cases.
//!   The cluster mix overlaps all three, so it adds no money of its own.
//! - Rank 1 = highest risk score; ties broken by yuan at stake, then hospital id.

use serde::Serialize;

use crate::compare::Finding;
use crate::indicators::{Ctx, Detector, Indicator};
use crate::lang::Lang;

/// One hospital's line in `hospitals.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct HospitalRank {
    /// Hospital index (not written).
    #[serde(skip)]
    pub hospital: u32,
    /// `hospital_id`.
    pub hospital_id: String,
    /// 1 = inspect first.
    pub rank: usize,
    /// Overall score.
    pub risk_score: f64,
    /// Upcoding detector score.
    pub upcoding_score: f64,
    /// Point-chasing detector score.
    pub point_chasing_score: f64,
    /// Low-multiplier detector score.
    pub low_multiplier_score: f64,
    /// `;`-separated flagged finding codes.
    pub flags: String,
    /// Suspected excess points.
    pub est_excess_points: f64,
    /// Suspected excess points × point value, yuan.
    pub est_excess_amount: f64,
    /// Cluster-mix score (crowding suspicious case-pattern clusters).
    pub cluster_mix_score: f64,
    /// Name (escaped in HTML, as-is in CSV).
    pub hospital_name: String,
    /// Level 1/2/3 or empty.
    pub hospital_level: String,
    /// Audited stays.
    pub audited_cases: u64,
    /// Why it ranks where it does, in one line.
    pub reason: String,
}

/// The region's point-value dilution from suspected excess points.
#[derive(Debug, Clone, Serialize)]
pub struct Dilution {
    /// Point value of the run (configured, budget-based or derived).
    pub point_value: f64,
    /// Its source.
    pub point_value_source: String,
    /// Total audited points.
    pub total_points: f64,
    /// Sum of the hospitals' suspected excess points.
    pub excess_points: f64,
    /// Point value if the excess points were removed from the shared budget.
    pub point_value_without_excess: f64,
    /// What the excess took from the other hospitals' legitimate points, yuan (under a fixed
    /// budget: excess points × point value).
    pub cost_to_other_hospitals: f64,
}

/// Ranks hospitals from their findings; reasons are written in `lang`.
pub fn rank(
    ctx: &Ctx,
    registry: &[Box<dyn Indicator>],
    findings: &[Finding],
    lang: Lang,
) -> Vec<HospitalRank> {
    let nh = ctx.n_hospitals();
    let mut by_h: Vec<Vec<&Finding>> = vec![Vec::new(); nh];
    for f in findings {
        by_h[f.hospital as usize].push(f);
    }
    let money = excess_points(ctx, registry, &by_h);
    let mut rows: Vec<HospitalRank> = (0..nh)
        .map(|h| {
            let fs = &by_h[h];
            let score = |d: Detector| {
                fs.iter()
                    .filter(|f| f.detector == d && (f.scored || f.flagged))
                    .map(|f| f.evidence)
                    .fold(0.0, f64::max)
            };
            let scores = Detector::ALL.map(score);
            let main = &scores[..3];
            let max = main.iter().copied().fold(0.0, f64::max);
            let risk = max + 0.1 * (main.iter().sum::<f64>() - max + scores[3]);
            let excess = money[h];
            let hosp = &ctx.cases.hospitals[h];
            HospitalRank {
                hospital: h as u32,
                hospital_id: hosp.id.clone(),
                rank: 0,
                risk_score: round(risk, 3),
                upcoding_score: round(scores[0], 3),
                point_chasing_score: round(scores[1], 3),
                low_multiplier_score: round(scores[2], 3),
                flags: fs
                    .iter()
                    .filter(|f| f.flagged)
                    .map(|f| f.code)
                    .collect::<Vec<_>>()
                    .join(";"),
                est_excess_points: round(excess, 1),
                est_excess_amount: round(excess * ctx.derived.point_value.yuan_per_point, 2),
                cluster_mix_score: round(scores[3], 3),
                hospital_name: hosp.name.clone(),
                hospital_level: hosp.level.map(|l| l.to_string()).unwrap_or_default(),
                audited_cases: ctx.volume[h][1].0 as u64,
                reason: reason(fs, registry, lang),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.risk_score
            .total_cmp(&a.risk_score)
            .then(b.est_excess_amount.total_cmp(&a.est_excess_amount))
            .then(a.hospital_id.cmp(&b.hospital_id))
    });
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    rows
}

/// Whether a finding carries money: scored, flagged, of one of the three main detectors.
pub fn carries_money(f: &Finding) -> bool {
    f.scored && f.flagged && Detector::ALL[..3].contains(&f.detector) && f.excess_points > 0.0
}

/// Suspected excess points per hospital, each case counted once (module doc).
fn excess_points(ctx: &Ctx, registry: &[Box<dyn Indicator>], by_h: &[Vec<&Finding>]) -> Vec<f64> {
    let cases = ctx.audited_by_hospital();
    by_h.iter()
        .enumerate()
        .map(|(h, fs)| {
            let mut per_case: rustc_hash::FxHashMap<usize, f64> = Default::default();
            let mut unattributed = 0.0;
            for f in fs.iter().filter(|f| carries_money(f)) {
                let ind = &registry[f.indicator];
                let hits: Vec<(usize, f64)> = cases[h]
                    .iter()
                    .filter_map(|&i| ind.case_lead(ctx, i).map(|s| (i, s)))
                    .filter(|(_, s)| *s > 0.0)
                    .collect();
                let total: f64 = hits.iter().map(|(_, s)| s).sum();
                if total <= 0.0 {
                    unattributed += f.excess_points;
                    continue;
                }
                for (i, s) in hits {
                    let share = f.excess_points * s / total;
                    let slot = per_case.entry(i).or_default();
                    *slot = slot.max(share);
                }
            }
            // Sum in case order so the total is the same bits whatever the hash order.
            let mut shares: Vec<(usize, f64)> = per_case.into_iter().collect();
            shares.sort_unstable_by_key(|(i, _)| *i);
            unattributed + shares.iter().map(|(_, s)| s).sum::<f64>()
        })
        .collect()
}

/// The dilution of the point value by the ranked hospitals' suspected excess.
pub fn dilution(ctx: &Ctx, ranks: &[HospitalRank]) -> Dilution {
    let pv = &ctx.derived.point_value;
    let excess: f64 = ranks.iter().map(|r| r.est_excess_points).sum();
    let total = pv.total_points;
    let without = if total - excess > 0.0 {
        pv.yuan_per_point * total / (total - excess)
    } else {
        pv.yuan_per_point
    };
    Dilution {
        point_value: pv.yuan_per_point,
        point_value_source: pv.source.clone(),
        total_points: total,
        excess_points: excess,
        point_value_without_excess: without,
        cost_to_other_hospitals: excess * pv.yuan_per_point,
    }
}

/// The one-line reason: the finding that sets the rank, then the other flags.
fn reason(fs: &[&Finding], registry: &[Box<dyn Indicator>], lang: Lang) -> String {
    let top = fs
        .iter()
        .filter(|f| f.scored)
        .max_by(|a, b| a.evidence.total_cmp(&b.evidence).then(b.code.cmp(a.code)));
    let flagged: Vec<&str> = fs.iter().filter(|f| f.flagged).map(|f| f.code).collect();
    match top {
        Some(f) if f.flagged => {
            let others: Vec<&str> = flagged.iter().copied().filter(|c| *c != f.code).collect();
            let also = if others.is_empty() {
                String::new()
            } else {
                format!("{}{}", lang.tr("；另见 ", "; also "), others.join(", "))
            };
            format!("{}{also}", finding_sentence(f, registry, lang))
        }
        Some(f) => {
            let supporting = if flagged.is_empty() {
                String::new()
            } else {
                format!(
                    "{}{}",
                    lang.tr("；辅助指标 ", "; supporting: "),
                    flagged.join(", ")
                )
            };
            match lang {
                // p, not z: the score is the z-equivalent of p (the count's own tail), which
                // for a small expected count is far from the normal z of the funnel.
                Lang::Zh => format!(
                    "未达到FDR阈值的计分发现；最强信号 {}（p {:.2e}，q {:.3}）{supporting}",
                    f.code, f.p, f.q
                ),
                Lang::En => format!(
                    "no scored finding at the FDR threshold; strongest signal {} (p {:.2e}, q {:.3}){supporting}",
                    f.code, f.p, f.q
                ),
            }
        }
        None => lang
            .tr("病例太少，无法检验", "too few cases to test")
            .into(),
    }
}

/// A finding in one sentence: numbers, peers, strength, money.
pub fn finding_sentence(f: &Finding, registry: &[Box<dyn Indicator>], lang: Lang) -> String {
    let spec = registry[f.indicator].spec();
    let share = |x: f64| if f.n > 0.0 { 100.0 * x / f.n } else { 0.0 };
    let mut detail = if f.detail.is_empty() {
        String::new()
    } else {
        format!("; {}", f.detail)
    };
    detail.push_str(&peer_words(f, lang));
    let core = match (lang, f.code == "UPC_WEIGHT_INDEX") {
        (Lang::En, true) => format!(
            "{} ({}): claimed weight {:.1} against {:.1} expected from same-level peers for the same families (index {:.2}, z {:.1}, q {:.2e}){detail}",
            f.code, spec.name_en, f.observed, f.expected, f.ratio, f.z, f.q
        ),
        (Lang::Zh, true) => format!(
            "{}（{}）：申报权重合计 {:.1}，同级医院同病组族预期 {:.1}（指数 {:.2}，z {:.1}，q {:.2e}）{detail}",
            f.code, spec.name_zh, f.observed, f.expected, f.ratio, f.z, f.q
        ),
        (Lang::En, false) => format!(
            "{} ({}): {:.0} of {:.0} ({:.1}%) against {:.1} ({:.1}%) expected from same-level peers for the same case mix (O/E {:.2}, z {:.1}, q {:.2e}, peer percentile {:.0}){detail}",
            f.code,
            spec.name_en,
            f.observed,
            f.n,
            share(f.observed),
            f.expected,
            share(f.expected),
            f.ratio,
            f.z,
            f.q,
            f.peer_percentile
        ),
        (Lang::Zh, false) => format!(
            "{}（{}）：{:.0}/{:.0}（{:.1}%），按同级医院相同病例组合预期 {:.1}（{:.1}%）（O/E {:.2}，z {:.1}，q {:.2e}，同级百分位 {:.0}）{detail}",
            f.code,
            spec.name_zh,
            f.observed,
            f.n,
            share(f.observed),
            f.expected,
            share(f.expected),
            f.ratio,
            f.z,
            f.q,
            f.peer_percentile
        ),
    };
    if f.excess_points < 0.5 {
        return core;
    }
    match lang {
        Lang::Zh => format!("{core}；约 {:.0} 超额点数", f.excess_points),
        Lang::En => format!("{core}; ≈{:.0} excess points", f.excess_points),
    }
}

/// Where the peers came from, when not (only) from enough same-level hospitals.
fn peer_words(f: &Finding, lang: Lang) -> String {
    let mut out = String::new();
    if f.fallback_cases > 0.0 && f.n > 0.0 {
        let share = 100.0 * f.fallback_cases / f.n;
        out.push_str(&match lang {
            Lang::Zh => format!(
                "；{:.0} 例（{share:.0}%）因同级医院病例不足改与全部级别比较",
                f.fallback_cases
            ),
            Lang::En => format!(
                "; {:.0} cases ({share:.0}%) compared with all levels (too few same-level peer cases)",
                f.fallback_cases
            ),
        });
    }
    if f.peer_hospitals < MIN_PEER_HOSPITALS {
        out.push_str(&match lang {
            Lang::Zh => format!("；同级可比医院仅 {} 家", f.peer_hospitals),
            Lang::En => format!("; only {} same-level peer hospitals", f.peer_hospitals),
        });
    }
    out
}

/// Below this many same-level peer hospitals a reason says how few they are.
pub const MIN_PEER_HOSPITALS: usize = 3;

fn round(x: f64, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (x * m).round() / m
}
