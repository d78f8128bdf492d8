//! Upcoding (高套分组): cases coded into a heavier group of their family than their resource
//! use supports. A high share of heavy groups alone has an innocent explanation (sicker
//! patients), so the *scored* indicators test whether the heavy cases look like their
//! lighter sibling (short stays, low cost, severity resting on one code). The share, the
//! weight index and the share's jump against the hospital's own history are shown as
//! supporting evidence: a hospital that starts treating sicker patients jumps too, but its
//! heavier cases cost and stay like heavier cases.

use rustc_hash::FxHashMap;

use super::context::say;
use super::kinds::{BinaryIndicator, ChangeIndicator, Measure, Measured, ReferenceIndicator, Tail};
use super::{Ctx, Detector, Direction, Explained, Indicator, IndicatorSpec};
use crate::peers::{self, Sums};

fn upper(ctx: &Ctx, i: usize) -> bool {
    ctx.has_lower_sibling[ctx.cases.group[i] as usize]
}
/// A stay in a family with more than one group that did not end early (transfer,
/// against advice, death).
fn in_multi_family_completed(ctx: &Ctx, i: usize) -> bool {
    in_multi_family(ctx, i) && !ctx.early_exit(i)
}
fn in_multi_family(ctx: &Ctx, i: usize) -> bool {
    ctx.multi_group_family[ctx.derived.family[i] as usize]
}
fn by_family(ctx: &Ctx, i: usize) -> u32 {
    ctx.derived.family[i]
}
fn by_group(ctx: &Ctx, i: usize) -> u32 {
    ctx.cases.group[i]
}
fn stake(ctx: &Ctx, i: usize) -> f64 {
    ctx.upcoding_stake(i)
}
fn short_stay(ctx: &Ctx, i: usize) -> bool {
    ctx.derived.los_ratio[i] < ctx.config.detect.short_stay_ratio
}
fn cheap_as_sibling(ctx: &Ctx, i: usize) -> bool {
    let g = ctx.cases.group[i];
    ctx.catalog.lower_sibling(g).is_some_and(|s| {
        let lv = ctx.derived.level[i];
        ctx.cases.cost[i] <= ctx.derived.benchmarks.cost(s, lv)
    })
}
/// Cheap for its place in the family: a heavier case at or below its lighter sibling's
/// benchmark; a lightest-group case at or below its own benchmark scaled by the same ratio
/// (its benchmark over its heavier sibling's), so an efficient hospital is cheap in both.
fn cheap_for_its_family(ctx: &Ctx, i: usize) -> bool {
    let g = ctx.cases.group[i];
    if ctx.has_lower_sibling[g as usize] {
        return cheap_as_sibling(ctx, i);
    }
    let lv = ctx.derived.level[i];
    ctx.heavier_sibling[g as usize].is_some_and(|h| {
        let (own, heavier) = (
            ctx.derived.benchmarks.cost(g, lv),
            ctx.derived.benchmarks.cost(h, lv),
        );
        heavier > 0.0 && ctx.cases.cost[i] <= own * own / heavier
    })
}
fn severity_split(ctx: &Ctx, i: usize) -> bool {
    matches!(ctx.derived.severity[i], 1 | 3) && ctx.cases.has("secondary_diagnoses")
}
/// Distinct recognised codes that carry case `i`'s severity: MCCs for severity 1, CCs
/// (MCCs included) for severity 3.
fn severity_codes(ctx: &Ctx, i: usize) -> u16 {
    match ctx.derived.severity[i] {
        1 => ctx.derived.n_mcc[i],
        3 => ctx.derived.n_cc[i],
        _ => u16::MAX,
    }
}
/// Severity 1/3 resting on at most one distinct code: exactly one (a single lever code),
/// or none the dictionary recognises (the strongest lead, or a dictionary mismatch).
fn single_cc(ctx: &Ctx, i: usize) -> bool {
    severity_codes(ctx, i) <= 1
}

/// The most frequent CC/MCC code among a hospital's single-CC cases.
fn favourite_code(ctx: &Ctx, _h: u32, evidence: &[usize]) -> String {
    let mut counts: FxHashMap<u32, u32> = FxHashMap::default();
    let zero = evidence
        .iter()
        .filter(|&&i| severity_codes(ctx, i) == 0)
        .count();
    let none_recognised = if zero > 0 {
        say!(
            ctx,
            "；{zero} 例无任何可识别的并发症编码",
            "; {zero} with no recognised CC/MCC code at all"
        )
    } else {
        String::new()
    };
    for &i in evidence {
        let flagging = ctx.cases.secondary.of(i).iter().find(|k| {
            let f = crate::reference::cc_flags(&ctx.cases.codes.codes[**k as usize]);
            if ctx.derived.severity[i] == 1 {
                f.mcc
            } else {
                f.cc
            }
        });
        if let Some(k) = flagging {
            *counts.entry(*k).or_default() += 1;
        }
    }
    // Ties go to the smallest code text, so the answer does not depend on interning order
    // (a hospital's own batch interns codes in another order than the whole region).
    let codes = &ctx.cases.codes.codes;
    match counts.into_iter().max_by(|(ka, na), (kb, nb)| {
        na.cmp(nb)
            .then_with(|| codes[*kb as usize].cmp(&codes[*ka as usize]))
    }) {
        Some((k, n)) if !evidence.is_empty() => say!(
            ctx,
            "最常见的单一并发症编码 {}（占此类病例 {:.0}%）{}",
            "most frequent sole CC/MCC code {} ({:.0}% of these cases){}",
            ctx.cases.codes.codes[k as usize],
            100.0 * n as f64 / evidence.len() as f64,
            none_recognised
        ),
        _ => none_recognised
            .trim_start_matches(['；', ';', ' '])
            .to_string(),
    }
}

fn sibling_code<'a>(ctx: &'a Ctx, i: usize) -> &'a str {
    ctx.catalog
        .lower_sibling(ctx.cases.group[i])
        .map_or("-", |s| ctx.catalog.groups[s as usize].code.as_str())
}
fn why_heavier(ctx: &Ctx, i: usize) -> String {
    say!(
        ctx,
        "编码为 {}（较轻的同族组 {}）",
        "coded {} (lighter sibling {})",
        ctx.catalog.groups[ctx.cases.group[i] as usize].code,
        sibling_code(ctx, i)
    )
}
fn why_short(ctx: &Ctx, i: usize) -> String {
    let bl = ctx
        .derived
        .benchmarks
        .los(ctx.cases.group[i], ctx.derived.level[i]);
    say!(
        ctx,
        "住院 {} 天（{}），病组平均 {:.1} 天",
        "{} d stay in {} against a group mean of {:.1} d",
        ctx.cases.los[i],
        ctx.catalog.groups[ctx.cases.group[i] as usize].code,
        bl
    )
}
fn why_cheap(ctx: &Ctx, i: usize) -> String {
    let b = ctx
        .catalog
        .lower_sibling(ctx.cases.group[i])
        .map_or(0.0, |s| {
            ctx.derived.benchmarks.cost(s, ctx.derived.level[i])
        });
    say!(
        ctx,
        "费用 ¥{:.0} 不高于较轻同族组 {} 的基准 ¥{:.0}",
        "cost ¥{:.0} at or below the lighter sibling {}'s benchmark ¥{:.0}",
        ctx.cases.cost[i],
        sibling_code(ctx, i),
        b
    )
}
fn why_single_cc(ctx: &Ctx, i: usize) -> String {
    let code = ctx
        .cases
        .secondary
        .of(i)
        .iter()
        .map(|k| ctx.cases.codes.codes[*k as usize].as_str())
        .find(|c| {
            let f = crate::reference::cc_flags(c);
            if ctx.derived.severity[i] == 1 {
                f.mcc
            } else {
                f.cc
            }
        });
    match code {
        Some(code) => say!(
            ctx,
            "严重程度 {} 仅依赖单一编码 {}",
            "severity {} rests on the single code {}",
            ctx.derived.severity[i],
            code
        ),
        None => {
            let list = ctx.cases.secondary.of(i);
            let unknown = list
                .iter()
                .filter(|k| !crate::reference::cc_flags(&ctx.cases.codes.codes[**k as usize]).known)
                .count();
            say!(
                ctx,
                "严重程度 {} 无任何可识别的{}编码（{} 个其他诊断，其中 {} 个不在 ICD-10 字典中：核对编码或字典版本）",
                "severity {} with no recognised {} code ({} secondary codes, {} not in the ICD-10 dictionary: check the coding or the dictionary edition)",
                ctx.derived.severity[i],
                if ctx.derived.severity[i] == 1 {
                    "MCC"
                } else {
                    "CC"
                },
                list.len(),
                unknown
            )
        }
    }
}

/// Why `UPC_SINGLE_CC` cannot be tested on a region, when it cannot.
fn single_cc_untestable(ctx: &Ctx) -> Option<String> {
    if !ctx.cases.has("secondary_diagnoses") {
        return Some(say!(
            ctx,
            "输入没有 secondary_diagnoses（其他诊断编码）列，无法判断严重程度依赖几个并发症编码",
            "the input has no secondary_diagnoses column (其他诊断编码), so what a severity rests on cannot be counted"
        ));
    }
    let split: Vec<usize> = (0..ctx.cases.len())
        .filter(|&i| ctx.audited(i) && matches!(ctx.derived.severity[i], 1 | 3))
        .collect();
    if split.is_empty() {
        return Some(say!(
            ctx,
            "审核期没有严重程度为 1 或 3 的病例（分组目录未按并发症分级，如 DIP）",
            "no audited case is in a severity-1 or severity-3 group (the catalogue is not split by CC/MCC, as in DIP)"
        ));
    }
    let recognised = split.iter().any(|&i| {
        ctx.cases
            .secondary
            .of(i)
            .iter()
            .any(|k| crate::reference::cc_flags(&ctx.cases.codes.codes[*k as usize]).known)
    });
    if !recognised {
        return Some(say!(
            ctx,
            "严重程度 1/3 病例的其他诊断编码均不在 ICD-10 字典中（编码版本不符？）",
            "none of the severity-1/3 cases' secondary codes is in the ICD-10 dictionary (another coding edition?)"
        ));
    }
    None
}

const fn spec(
    code: &'static str,
    scored: bool,
    name_en: &'static str,
    name_zh: &'static str,
    numerator: &'static str,
    denominator: &'static str,
    expected: &'static str,
) -> IndicatorSpec {
    IndicatorSpec {
        code,
        detector: Detector::Upcoding,
        direction: Direction::Excess,
        scored,
        name_en,
        name_zh,
        numerator,
        denominator,
        expected,
    }
}

/// Subject and reference of the sibling comparisons, in words.
const SIBLING_WORDS: [(&str, &str); 2] = [
    ("较重病组", "heavier groups"),
    ("较轻同族组", "lighter siblings"),
];

/// The upcoding indicators.
pub fn indicators() -> Vec<Box<dyn Indicator>> {
    vec![
        Box::new(BinaryIndicator {
            spec: spec(
                "UPC_UPPER_GROUP_SHARE",
                false,
                "Share of cases in the heavier groups of their family",
                "高权重组占比",
                "cases in a group that has a lighter sibling (DRG: severity 1/3)",
                "cases in families with more than one group",
                "same-level peers' share per family",
            ),
            eligible: in_multi_family,
            outcome: upper,
            stratum: by_family,
            lead: Some(|_, _| false),
            stake,
            detail: None,
            why: why_heavier,
        }),
        Box::new(WeightIndex),
        Box::new(ReferenceIndicator {
            spec: spec(
                "UPC_SHORT_STAY_HEAVY",
                true,
                "Heavier-group stays shorter than 0.8 × the group's mean stay, against the hospital's own lighter siblings",
                "高权重组短住院（对照本院较轻同族组）",
                "heavier-group cases with LOS < short_stay_ratio × benchmark LOS",
                "cases in groups that have a lighter sibling, transfers, deaths and discharges against advice left out",
                "same-level peers' share per group, scaled by the hospital's own ratio to its peers in the lightest groups of the same families",
            ),
            eligible: in_multi_family_completed,
            subject: upper,
            outcome: short_stay,
            stratum: by_group,
            stake,
            why: why_short,
            words: SIBLING_WORDS,
        }),
        Box::new(ReferenceIndicator {
            spec: spec(
                "UPC_CHEAP_HEAVY",
                true,
                "Heavier-group cases costing no more than the lighter sibling's benchmark, against the hospital's own lighter siblings",
                "高权重组低费用（对照本院较轻同族组）",
                "heavier-group cases with cost ≤ the lighter sibling's benchmark cost",
                "cases in groups that have a lighter sibling, transfers, deaths and discharges against advice left out",
                "same-level peers' share per group, scaled by the hospital's own ratio to its peers in the lightest groups of the same families (cheap there: cost ≤ the same benchmark ratio below their own benchmark)",
            ),
            eligible: in_multi_family_completed,
            subject: upper,
            outcome: cheap_for_its_family,
            stratum: by_group,
            stake,
            why: why_cheap,
            words: SIBLING_WORDS,
        }),
        Box::new(Explained {
            inner: BinaryIndicator {
                spec: spec(
                    "UPC_SINGLE_CC",
                    true,
                    "Severity resting on a single CC/MCC code, or on none",
                    "单一并发症定级",
                    "severity-1 cases with at most one distinct MCC, severity-3 cases with at most one distinct CC (none recognised: the strongest lead, or a dictionary mismatch)",
                    "severity-1/3 cases (needs secondary_diagnoses)",
                    "same-level peers' share per group",
                ),
                eligible: severity_split,
                outcome: single_cc,
                stratum: by_group,
                lead: None,
                stake,
                detail: Some(favourite_code),
                why: why_single_cc,
            },
            reason: single_cc_untestable,
        }),
        Box::new(ChangeIndicator {
            spec: spec(
                "UPC_HEAVY_SHARE_JUMP",
                false,
                "Rise in the heavier-group share against own baseline, net of peers",
                "高权重组占比较基期上升",
                "audited heavier-group cases",
                "audited cases in families with more than one group",
                "own baseline share + same-level peers' change",
            ),
            eligible: in_multi_family,
            outcome: upper,
            stratum: by_family,
            stake,
            extra: None,
            why: why_heavier,
        }),
    ]
}

/// Within-family weight index: Σ claimed weight against Σ the peers' mean weight for the
/// same families (works for DIP scores as for DRG weights).
struct WeightIndex;

const WEIGHT_INDEX: IndicatorSpec = spec(
    "UPC_WEIGHT_INDEX",
    false,
    "Within-family weight index",
    "同族权重指数",
    "Σ weight of the cases",
    "cases in families with more than one group",
    "Σ same-level peers' mean weight per family",
);

impl Indicator for WeightIndex {
    fn spec(&self) -> &IndicatorSpec {
        &WEIGHT_INDEX
    }

    fn measure(&self, ctx: &Ctx) -> Measured {
        let mut own: FxHashMap<(u32, u32, u8), Sums> = FxHashMap::default();
        for i in 0..ctx.cases.len() {
            if !ctx.audited(i) || !in_multi_family(ctx, i) {
                continue;
            }
            own.entry((ctx.hospital(i), ctx.derived.family[i], 1))
                .or_default()
                .add(ctx.derived.weight[i]);
        }
        let mut out = vec![Measure::default(); ctx.n_hospitals()];
        let mut keys: Vec<_> = own.into_iter().collect();
        keys.sort_unstable_by_key(|(k, _)| *k);
        let table = peers::resolve(&ctx.peers, WEIGHT_INDEX.code, &keys, |h| {
            ctx.hospital_level[h as usize]
        });
        let pp = ctx.peers.period(1);
        for ((h, f, _), m) in keys {
            let mut t = table.get((ctx.hospital_level[h as usize], f, pp));
            if ctx.peers.own_included(h) {
                t = t.minus(&m);
            }
            if t.n < 2.0 {
                out[h as usize].no_peer_cases += m.n;
                continue;
            }
            let mean = t.x / t.n;
            let var = (t.xx / t.n - mean * mean).max(0.0);
            let o = &mut out[h as usize];
            o.n += m.n;
            o.o += m.x;
            o.e += m.n * mean;
            // Chance, plus the peers' mean weight being itself an estimate from t.n cases.
            o.v += m.n * var + m.n * m.n * var / t.n;
        }
        for (h, o) in out.iter_mut().enumerate() {
            o.tail = Tail::Normal;
            // Points at stake: the excess weight in points, carried by the hospital's cases.
            let ppw = ctx.config.points.per_weight
                * ctx
                    .config
                    .points
                    .level_coefficient
                    .for_level(ctx.cases.hospitals[h].level);
            o.stake_sum = (o.o - o.e).max(0.0) * ppw;
            o.stake_cases = (o.o - o.e).max(0.0);
        }
        Measured {
            measures: out,
            table: peers::region_table(table),
        }
    }

    fn case_lead(&self, _ctx: &Ctx, _i: usize) -> Option<f64> {
        None
    }

    fn case_reason(&self, _ctx: &Ctx, _i: usize) -> String {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Lang;
    use crate::region::testkit::fixture;

    const HEADER: &str = "case_id,hospital_id,hospital_level,patient_id,admit_date,discharge_date,group_code,total_cost,secondary_diagnoses\n";

    /// Issue 10, defect 10: a severity-1/3 case with no recognised MCC/CC at all is the
    /// strongest lead (or a dictionary mismatch) and belongs in the numerator.
    #[test]
    fn issue10_10_single_cc_includes_zero_cc_cases() {
        // J18.900 is a CC (not an MCC), I50.906 an MCC; XYZ.999 is in no dictionary.
        let f = fixture(&format!(
            "{HEADER}\
             S1,H1,3,P1,2024-03-01,2024-03-05,ES33,9000,XYZ.999\n\
             S2,H1,3,P2,2024-03-01,2024-03-05,ES31,9000,J18.900\n\
             S3,H1,3,P3,2024-03-01,2024-03-05,ES33,9000,J18.900\n\
             S4,H1,3,P4,2024-03-01,2024-03-05,ES31,9000,I50.906;J18.900\n\
             S5,H1,3,P5,2024-03-01,2024-03-05,ES33,9000,J18.900;I50.906\n"
        ));
        let region = f.region();
        let ctx = Ctx::new(&region, None, Lang::En);
        for (id, single) in [
            ("S1", true),
            ("S2", true),
            ("S3", true),
            ("S4", true),
            ("S5", false),
        ] {
            assert_eq!(single_cc(&ctx, f.case(id)), single, "{id}");
        }
    }

    /// Issue 10, defect 10: the same secondary code listed twice is one diagnosis.
    #[test]
    fn issue10_10_single_cc_counts_a_duplicated_code_once() {
        let f = fixture(&format!(
            "{HEADER}\
             S1,H1,3,P1,2024-03-01,2024-03-05,ES33,9000,J18.900;J18.900\n\
             S2,H1,3,P2,2024-03-01,2024-03-05,ES31,9000,I50.906;I50.906;J18.900\n"
        ));
        let region = f.region();
        let ctx = Ctx::new(&region, None, Lang::En);
        assert!(single_cc(&ctx, f.case("S1")), "one distinct CC");
        assert!(single_cc(&ctx, f.case("S2")), "one distinct MCC");
        assert_eq!(f.derived.n_cc[f.case("S1")], 1);
        assert_eq!(f.derived.n_mcc[f.case("S2")], 1);
    }
}

#[cfg(test)]
mod untestable_tests {
    use super::*;
    use crate::lang::Lang;
    use crate::region::testkit::fixture;

    fn reason(csv: &str) -> Option<String> {
        let f = fixture(csv);
        let region = f.region();
        let ctx = Ctx::new(&region, None, Lang::En);
        let all = indicators();
        let ind = all
            .iter()
            .find(|i| i.spec().code == "UPC_SINGLE_CC")
            .expect("registered");
        ind.untestable(&ctx)
    }

    #[test]
    fn single_cc_says_which_input_it_lacks() {
        let base = "case_id,hospital_id,hospital_level,patient_id,admit_date,discharge_date,group_code,total_cost";
        let why = reason(&format!(
            "{base}\nS1,H1,3,P1,2024-03-01,2024-03-05,ES33,9000\n"
        ));
        assert!(why.is_some_and(|w| w.contains("no secondary_diagnoses column")));
        let why = reason(&format!(
            "{base},secondary_diagnoses\nS1,H1,3,P1,2024-03-01,2024-03-05,ES35,9000,J18.900\n"
        ));
        assert!(why.is_some_and(|w| w.contains("severity-1 or severity-3")));
        let why = reason(&format!(
            "{base},secondary_diagnoses\nS1,H1,3,P1,2024-03-01,2024-03-05,ES33,9000,XYZ.1\n"
        ));
        assert!(why.is_some_and(|w| w.contains("not") && w.contains("dictionary")));
        let why = reason(&format!(
            "{base},secondary_diagnoses\nS1,H1,3,P1,2024-03-01,2024-03-05,ES33,9000,J18.900\n"
        ));
        assert_eq!(why, None);
    }
}
