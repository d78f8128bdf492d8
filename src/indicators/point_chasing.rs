//! Point-chasing (冲点, 刷点): more points from the same patients — split stays, admissions
//! that need no bed, padding costs into the high band. Planned readmissions (the 31-day
//! plan flag recorded at the *earlier* discharge, e.g. chemotherapy cycles) are not counted
//! as splitting; because the flag excuses a readmission, the flag itself is audited too
//! (`PC_PLANNED_FLAG`, supporting: its share by family against peers, and how many flags
//! sit outside chemotherapy/radiotherapy stays).

use super::context::say;
use super::kinds::{BinaryIndicator, ChangeIndicator, ReferenceIndicator};
use super::{Ctx, Detector, Direction, Explained, Indicator, IndicatorSpec};
use crate::derive::Band;

fn all(_: &Ctx, _: usize) -> bool {
    true
}
/// Stays that did not end early (transfer, against advice, death): a short stay that ended
/// in a transfer or a death is not a low-standard admission.
fn completed(ctx: &Ctx, i: usize) -> bool {
    !ctx.early_exit(i)
}
fn by_family(ctx: &Ctx, i: usize) -> u32 {
    ctx.derived.family[i]
}
fn by_group(ctx: &Ctx, i: usize) -> u32 {
    ctx.cases.group[i]
}
fn points(ctx: &Ctx, i: usize) -> f64 {
    ctx.derived.points[i]
}
fn high_extra(ctx: &Ctx, i: usize) -> f64 {
    (ctx.derived.points[i] - ctx.base_points(i)).max(0.0)
}
fn readmission(ctx: &Ctx, i: usize) -> bool {
    ctx.unplanned_readmission(i)
}
fn quick_readmission(ctx: &Ctx, i: usize) -> bool {
    ctx.unplanned_readmission(i) && ctx.derived.days_since_prev[i] <= 1
}
fn planned_flag_column(ctx: &Ctx, _: usize) -> bool {
    ctx.cases.has("planned_readmission_31d")
}
fn planned_flag(ctx: &Ctx, i: usize) -> bool {
    ctx.cases.planned[i]
}
fn no_stake(_: &Ctx, _: usize) -> f64 {
    // Which flagged discharge excused a real split is not known from the flag alone; the
    // points of the excused stays are in the data-quality section, not claimed as excess.
    0.0
}
fn short_stay(ctx: &Ctx, i: usize) -> bool {
    ctx.cases.los[i] <= ctx.config.detect.low_standard_max_los
}
/// A light medical group, where low-standard admissions land.
pub(super) fn light_medical(ctx: &Ctx, i: usize) -> bool {
    ctx.light_medical_group[ctx.cases.group[i] as usize]
}
fn short_and_cheap(ctx: &Ctx, i: usize) -> bool {
    short_stay(ctx, i) && ctx.derived.multiplier[i] < ctx.config.detect.low_standard_max_multiplier
}
fn high_band(ctx: &Ctx, i: usize) -> bool {
    matches!(ctx.derived.band[i], Band::High | Band::Extreme)
}
fn high_threshold(ctx: &Ctx, i: usize) -> f64 {
    ctx.config.multiplier.high_threshold(ctx.derived.weight[i])
}
fn near_high(ctx: &Ctx, i: usize) -> bool {
    let (t, w, m) = (
        high_threshold(ctx, i),
        ctx.config.detect.bunching_width,
        ctx.derived.multiplier[i],
    );
    m >= t * (1.0 - w) && m < t * (1.0 + w)
}
fn above_high(ctx: &Ctx, i: usize) -> bool {
    ctx.derived.multiplier[i] >= high_threshold(ctx, i)
}

fn readmission_detail(ctx: &Ctx, _h: u32, evidence: &[usize]) -> String {
    let quick = evidence
        .iter()
        .filter(|&&i| ctx.derived.days_since_prev[i] <= 1)
        .count();
    let same_family = evidence
        .iter()
        .filter(|&&i| {
            ctx.derived.family[ctx.derived.prev_stay[i] as usize] == ctx.derived.family[i]
        })
        .count();
    say!(
        ctx,
        "{quick} 例间隔 0–1 天，{same_family} 例与前次住院同病组族",
        "{quick} at a 0–1 day gap, {same_family} in the same family as the first stay"
    )
}

fn planned_flag_detail(ctx: &Ctx, _h: u32, evidence: &[usize]) -> String {
    let outside = evidence
        .iter()
        .filter(|&&i| !ctx.derived.treatment_cycle[i])
        .count();
    say!(
        ctx,
        "{} 个计划再住院标志，其中 {outside} 个不在放化疗病例上",
        "{} planned-readmission flags, {outside} outside chemotherapy/radiotherapy stays",
        evidence.len()
    )
}

fn why_planned_flag(ctx: &Ctx, i: usize) -> String {
    let family = &ctx.catalog.families[ctx.derived.family[i] as usize];
    if ctx.derived.treatment_cycle[i] {
        say!(
            ctx,
            "出院时标记 31 天内计划再住院（{family}，放化疗）",
            "discharged with the 31-day readmission plan flag ({family}, a treatment cycle)"
        )
    } else {
        say!(
            ctx,
            "出院时标记 31 天内计划再住院，但 {family} 不是放化疗病组族",
            "discharged with the 31-day readmission plan flag, but {family} is not a chemotherapy/radiotherapy family"
        )
    }
}

/// Why `PC_PLANNED_FLAG` cannot be tested on a region, when it cannot.
fn planned_flag_untestable(ctx: &Ctx) -> Option<String> {
    if !ctx.cases.has("planned_readmission_31d") {
        return Some(say!(
            ctx,
            "输入没有 planned_readmission_31d（出院31天内再住院计划）列：所有再住院都按非计划计",
            "the input has no planned_readmission_31d column (出院31天内再住院计划): every readmission counts as unplanned"
        ));
    }
    let flagged = (0..ctx.cases.len()).any(|i| ctx.audited(i) && ctx.cases.planned[i]);
    Some(if flagged {
        say!(
            ctx,
            "标志只出现在同级及全部对照医院均无标志的病组族中（期望数为 0），无法计算比值；非放化疗病例上的标志数见数据质量",
            "the flags sit only in families where no peer flags a stay (expected count 0), so no ratio can be formed; flags outside chemotherapy/radiotherapy are counted under data quality"
        )
    } else {
        say!(
            ctx,
            "审核期没有病例带计划再住院标志",
            "no audited stay carries the planned-readmission flag"
        )
    })
}

fn growth(ctx: &Ctx, h: usize) -> String {
    ctx.growth_words(h)
}

fn why_readmission(ctx: &Ctx, i: usize) -> String {
    let p = ctx.derived.prev_stay[i] as usize;
    say!(
        ctx,
        "出院 {} 天后再入院，前次住院 {}（同一患者、同一医院、非计划）",
        "admitted {} d after discharge of stay {} (same patient, same hospital, not planned)",
        ctx.derived.days_since_prev[i],
        ctx.cases.case_id.get(p)
    )
}
fn why_low_standard(ctx: &Ctx, i: usize) -> String {
    say!(
        ctx,
        "住院 {} 天，倍率 {:.2}，低权重内科组 {}",
        "{} d stay, multiplier {:.2}, light medical group {}",
        ctx.cases.los[i],
        ctx.derived.multiplier[i],
        ctx.catalog.groups[ctx.cases.group[i] as usize].code
    )
}
fn why_short(ctx: &Ctx, i: usize) -> String {
    say!(ctx, "住院 {} 天", "{} d stay", ctx.cases.los[i])
}
/// Over the high threshold once the hospital's own cost level is taken out: a hospital
/// costlier everywhere has more high-multiplier stays honestly, a padder has them on top
/// of an ordinary median.
fn high_at_own_level(ctx: &Ctx, i: usize) -> bool {
    ctx.multiplier_at_region_level(i) >= high_threshold(ctx, i)
}
fn why_high_at_own_level(ctx: &Ctx, i: usize) -> String {
    say!(
        ctx,
        "倍率 {:.2}，扣除本院费用水平（基准的 {:.2} 倍）后为 {:.2}，高倍率阈值 {:.1}",
        "multiplier {:.2}; with the hospital's cost level ({:.2} × benchmark) taken out {:.2}, against a high threshold of {:.1}",
        ctx.derived.multiplier[i],
        ctx.cost_level[ctx.hospital(i) as usize],
        ctx.multiplier_at_region_level(i),
        high_threshold(ctx, i)
    )
}
fn why_high(ctx: &Ctx, i: usize) -> String {
    say!(
        ctx,
        "倍率 {:.2}，高倍率阈值 {:.1}",
        "multiplier {:.2} against a high threshold of {:.1}",
        ctx.derived.multiplier[i],
        high_threshold(ctx, i)
    )
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
        detector: Detector::PointChasing,
        direction: Direction::Excess,
        scored,
        name_en,
        name_zh,
        numerator,
        denominator,
        expected,
    }
}

/// The point-chasing indicators.
pub fn indicators() -> Vec<Box<dyn Indicator>> {
    vec![
        Box::new(BinaryIndicator {
            spec: spec(
                "PC_READMISSION",
                true,
                "Unplanned readmission to the same hospital within the window",
                "非计划再入院",
                "stays admitted ≤ window days after the same patient's last discharge from the same hospital (stays elsewhere in between do not break the link), that discharge not flagged planned; stays overlapping an earlier stay excluded",
                "audited stays",
                "same-level peers' share per family",
            ),
            eligible: all,
            outcome: readmission,
            stratum: by_family,
            lead: None,
            stake: points,
            detail: Some(readmission_detail),
            why: why_readmission,
        }),
        Box::new(BinaryIndicator {
            spec: spec(
                "PC_READMISSION_0_1D",
                true,
                "Same-day or next-day unplanned readmission",
                "当日或次日再入院",
                "unplanned readmissions at a 0–1 day gap",
                "audited stays",
                "same-level peers' share per family",
            ),
            eligible: all,
            outcome: quick_readmission,
            stratum: by_family,
            lead: None,
            stake: points,
            detail: None,
            why: why_readmission,
        }),
        Box::new(Explained {
            inner: BinaryIndicator {
                spec: spec(
                    "PC_PLANNED_FLAG",
                    false,
                    "Discharges flagged as followed by a planned readmission",
                    "计划再住院标志占比",
                    "audited stays discharged with planned_readmission_31d = 1",
                    "audited stays (needs planned_readmission_31d)",
                    "same-level peers' share per family",
                ),
                eligible: planned_flag_column,
                outcome: planned_flag,
                stratum: by_family,
                lead: None,
                stake: no_stake,
                detail: Some(planned_flag_detail),
                why: why_planned_flag,
            },
            reason: planned_flag_untestable,
        }),
        Box::new(ReferenceIndicator {
            spec: spec(
                "PC_LOW_STANDARD_ADMISSION",
                true,
                "Low-standard admissions: short, cheap stays in light medical groups, against the hospital's own other groups",
                "低标入院（对照本院其他病组）",
                "stays ≤ low_standard_max_los days in a light medical group at multiplier < low_standard_max_multiplier",
                "audited stays in light medical groups, transfers, deaths and discharges against advice left out",
                "same-level peers' share per group, scaled by the hospital's own ratio to its peers for equally short, cheap stays in its other groups (an efficient hospital is short everywhere)",
            ),
            eligible: completed,
            subject: light_medical,
            outcome: short_and_cheap,
            stratum: by_group,
            stake: points,
            why: why_low_standard,
            words: [
                ("低权重内科组", "light medical groups"),
                ("其他病组", "other groups"),
            ],
        }),
        Box::new(ChangeIndicator {
            spec: spec(
                "PC_SHORT_STAY_GROWTH",
                true,
                "Growth concentrated in short stays (share against own baseline, net of peers)",
                "短住院占比上升",
                "audited stays ≤ low_standard_max_los days",
                "audited stays, transfers, deaths and discharges against advice left out",
                "own baseline share + same-level peers' change",
            ),
            eligible: completed,
            outcome: short_stay,
            stratum: by_group,
            stake: points,
            extra: Some(growth),
            why: why_short,
        }),
        Box::new(BinaryIndicator {
            spec: spec(
                "PC_HIGH_MULTIPLIER",
                false,
                "High-multiplier share",
                "高倍率病例占比",
                "high- and extreme-multiplier stays",
                "audited stays",
                "same-level peers' share per group",
            ),
            eligible: all,
            outcome: high_band,
            stratum: by_group,
            lead: None,
            stake: high_extra,
            detail: None,
            why: why_high,
        }),
        Box::new(BinaryIndicator {
            spec: spec(
                "PC_HIGH_AT_OWN_LEVEL",
                true,
                "High-multiplier share at the hospital's own cost level",
                "高倍率病例占比（按本院费用水平）",
                "stays whose multiplier ÷ the hospital's cost level reaches the high threshold",
                "audited stays",
                "same-level peers' share per group, each peer at its own cost level (the median cost ÷ benchmark over its audited stays that ended normally)",
            ),
            eligible: all,
            outcome: high_at_own_level,
            stratum: by_group,
            lead: None,
            stake: high_extra,
            detail: None,
            why: why_high_at_own_level,
        }),
        Box::new(BinaryIndicator {
            spec: spec(
                "PC_HIGH_BUNCHING",
                true,
                "Costs bunched just above the high threshold",
                "高倍率阈值上方聚集",
                "stays with multiplier in [T, T × (1 + w))",
                "stays with multiplier in [T × (1 − w), T × (1 + w))",
                "same-level peers' share above the threshold in the same window, same group",
            ),
            eligible: near_high,
            outcome: above_high,
            stratum: by_group,
            lead: None,
            stake: high_extra,
            detail: None,
            why: why_high,
        }),
    ]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::lang::Lang;
    use crate::region::testkit::fixture;

    /// Twenty ordinary ES35 stays at `normal` yuan and one at `tail`, at hospital `h`.
    pub(crate) fn stays(h: &str, normal: u32, tail: u32) -> String {
        (0..21)
            .map(|k| {
                let cost = if k == 20 { tail } else { normal };
                format!("{h}-{k},{h},3,P{h}{k},2024-03-01,2024-03-05,ES35,{cost}\n")
            })
            .collect()
    }

    /// Issue 10, "a costlier hospital moves both": a hospital costlier everywhere has
    /// stays over the high threshold honestly; at its own cost level (its median cost ÷
    /// benchmark) they are ordinary. A stay far above its own hospital's level is high
    /// even when the hospital is cheap.
    #[test]
    fn high_at_own_level_takes_a_costlier_hospitals_level_out() {
        let header = "case_id,hospital_id,hospital_level,patient_id,admit_date,discharge_date,group_code,total_cost\n";
        let f = fixture(&format!(
            "{header}{}{}",
            stays("H1", 16000, 46000),
            stays("H2", 10000, 36000)
        ));
        let region = f.region();
        let ctx = Ctx::new(&region, None, Lang::En);
        let (costly, cheap) = (f.case("H1-20"), f.case("H2-20"));
        assert!(above_high(&ctx, costly), "the fixture's point: over T");
        assert!(
            !high_at_own_level(&ctx, costly),
            "{}",
            why_high_at_own_level(&ctx, costly)
        );
        assert!(!above_high(&ctx, cheap));
        assert!(
            high_at_own_level(&ctx, cheap),
            "{}",
            why_high_at_own_level(&ctx, cheap)
        );
        assert!(!high_at_own_level(&ctx, f.case("H1-0")));
    }
}
