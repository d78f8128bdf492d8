//! Case-level leads (`cases_for_review.csv`): for every flagged finding, the hospital's own
//! cases that are evidence for it, with the points at stake and the reason in numbers.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::compare::Finding;
use crate::indicators::{Ctx, Indicator};
use crate::rank::HospitalRank;

/// At most this many cases per flagged finding (the largest stakes first); the finding's
/// row in `findings.csv` still counts them all.
pub const MAX_CASES_PER_FINDING: usize = 500;

/// One case to review.
#[derive(Debug, Clone, Serialize)]
pub struct CaseLead {
    /// `case_id`.
    pub case_id: String,
    /// `hospital_id`.
    pub hospital_id: String,
    /// `group_code`.
    pub group_code: String,
    /// `;`-separated finding codes this case is evidence for.
    pub findings: String,
    /// Suspected points at stake on this case (the largest over its findings; they overlap).
    pub points_at_stake: f64,
    /// Points × point value, yuan.
    pub yuan_at_stake: f64,
    /// Line (CSV) or row (Parquet) in the input.
    pub input_line: u64,
    /// The reasons, `; `-separated.
    pub reason: String,
    /// Severity the group claims (1/3/5), empty when the catalogue has no CC split.
    pub claimed_severity: Option<u8>,
    /// Severity the case's codes support under the CHS-DRG 1.1 rules, empty when not checked.
    pub supported_severity: Option<u8>,
    /// The one secondary code the claimed severity rests on (drop-one test), if any.
    pub lever_code: String,
}

/// Builds the case leads, ordered by hospital rank, then stake, then input line.
pub fn case_leads(
    ctx: &Ctx,
    registry: &[Box<dyn Indicator>],
    findings: &[Finding],
    ranks: &[HospitalRank],
) -> Vec<CaseLead> {
    let by_hospital = ctx.audited_by_hospital();
    // case index -> (codes, max stake, reasons)
    let mut per_case: BTreeMap<usize, (Vec<&'static str>, f64, Vec<String>)> = BTreeMap::new();
    // Supporting indicators (a heavier mix) name no cases: a heavy case is not evidence by itself.
    for f in findings.iter().filter(|f| f.flagged && f.scored) {
        let ind = &registry[f.indicator];
        let mut hits: Vec<(usize, f64)> = by_hospital[f.hospital as usize]
            .iter()
            .filter_map(|&i| ind.case_lead(ctx, i).map(|s| (i, s)))
            .collect();
        hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (i, stake) in hits.into_iter().take(MAX_CASES_PER_FINDING) {
            let e = per_case
                .entry(i)
                .or_insert_with(|| (Vec::new(), 0.0, Vec::new()));
            e.0.push(f.code);
            e.1 = f64::max(e.1, stake);
            e.2.push(format!("{}: {}", f.code, ind.case_reason(ctx, i)));
        }
    }
    let rank_of: Vec<usize> = {
        let mut r = vec![usize::MAX; ctx.n_hospitals()];
        for h in ranks {
            r[h.hospital as usize] = h.rank;
        }
        r
    };
    let pv = ctx.derived.point_value.yuan_per_point;
    let mut leads: Vec<(usize, usize, CaseLead)> = per_case
        .into_iter()
        .map(|(i, (codes, stake, reasons))| {
            let h = ctx.hospital(i) as usize;
            let lead = CaseLead {
                case_id: ctx.cases.case_id.get(i).to_string(),
                hospital_id: ctx.cases.hospitals[h].id.clone(),
                group_code: ctx.catalog.groups[ctx.cases.group[i] as usize].code.clone(),
                findings: codes.join(";"),
                points_at_stake: (stake * 10.0).round() / 10.0,
                yuan_at_stake: (stake * pv * 100.0).round() / 100.0,
                input_line: ctx.cases.line[i],
                reason: reasons.join("; "),
                claimed_severity: Some(ctx.derived.severity[i]).filter(|s| matches!(s, 1 | 3 | 5)),
                supported_severity: Some(ctx.derived.coding.supported[i])
                    .filter(|&s| s != crate::derive::coding::NOT_CHECKED),
                lever_code: match ctx.derived.coding.lever[i] {
                    crate::ingest::NONE_U32 => String::new(),
                    k => ctx.cases.codes.codes[k as usize].clone(),
                },
            };
            (rank_of[h], i, lead)
        })
        .collect();
    leads.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(b.2.points_at_stake.total_cmp(&a.2.points_at_stake))
            .then(a.1.cmp(&b.1))
    });
    leads.into_iter().map(|(_, _, l)| l).collect()
}
