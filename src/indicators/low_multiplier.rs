//! Unusual low-multiplier rates (低倍率异常), in both directions: too many low-multiplier
//! cases (low-standard admissions, or upcoding into groups whose cost the case never used),
//! and too few (cheap cases padded just over the low threshold to earn full points).
//! A cheaper hospital honestly has more low-multiplier stays and a costlier one fewer, so
//! `LM_LOW_EXCESS` and `LM_LOW_DEFICIT` are supporting (see `compare::corroborates` for
//! what backs each), and so is `LM_LOW_BUNCHING` (the pile against the whole band below,
//! which a costlier hospital's thin low band moves too; `LM_LOW_PILE` backs it). Scored: the
//! pile against the strip above it (`LM_LOW_PILE`), bunching at the threshold the data
//! show (`derive::threshold`), and the excess in light medical groups against the
//! hospital's own other groups (`LM_LOW_EXCESS_LIGHT`: low-standard admissions land there,
//! and a hospital cheaper everywhere is scaled by its own ratio elsewhere).

use rustc_hash::FxHashMap;

use super::context::say;
use super::kinds::{BinaryIndicator, ReferenceIndicator};
use super::point_chasing::light_medical;
use super::{Ctx, Detector, Direction, Explained, Indicator, IndicatorSpec};
use crate::derive::Band;

/// Stays that did not end early (transfer, against advice, death): their low cost is the
/// early end, not an admission or a coding choice.
fn completed(ctx: &Ctx, i: usize) -> bool {
    !ctx.early_exit(i)
}
fn by_group(ctx: &Ctx, i: usize) -> u32 {
    ctx.cases.group[i]
}
fn low(ctx: &Ctx, i: usize) -> bool {
    ctx.derived.band[i] == Band::Low
}
fn points(ctx: &Ctx, i: usize) -> f64 {
    ctx.derived.points[i]
}
/// A padded case earns full base points instead of base × ratio (≈ base × low threshold).
fn padding_stake(ctx: &Ctx, i: usize) -> f64 {
    stake_padded_to(ctx, i, ctx.config.multiplier.low)
}
/// Padding a stay to just over threshold `c` earns base points instead of base × ratio.
fn stake_padded_to(ctx: &Ctx, i: usize, c: f64) -> f64 {
    ctx.base_points(i) * (1.0 - c)
}
/// Low band or just above it: padding moves a case from anywhere in the low band to just
/// over the threshold, so the window is the whole band below (the hole) and the strip
/// above (the pile). Stays that ended early are left out, as everywhere in this detector.
/// (Tried in session 8: a window symmetric about L with early exits in strata of their
/// own. It lifted the padders' ROC-AUC little and flagged a truly sicker tertiary
/// hospital in an honest region of `--grid 20 --seed 5000 --no-gaming`; reverted.)
fn below_or_just_above(l: f64, ctx: &Ctx, i: usize) -> bool {
    let (w, m) = (ctx.config.detect.bunching_width, ctx.derived.multiplier[i]);
    m < l * (1.0 + w) && !ctx.early_exit(i)
}
fn below_or_just_above_low(ctx: &Ctx, i: usize) -> bool {
    below_or_just_above(ctx.config.multiplier.low, ctx, i)
}
/// The threshold the data show, when it differs from the configured one.
fn found(ctx: &Ctx) -> Option<f64> {
    ctx.derived.low_threshold.extra_threshold()
}
fn below_or_just_above_found_low(ctx: &Ctx, i: usize) -> bool {
    found(ctx).is_some_and(|l| below_or_just_above(l, ctx, i))
}
fn above_found_low(ctx: &Ctx, i: usize) -> bool {
    found(ctx).is_some_and(|l| ctx.derived.multiplier[i] >= l)
}
/// Padding to the discovered threshold earns base points instead of base × ratio.
fn found_padding_stake(ctx: &Ctx, i: usize) -> f64 {
    stake_padded_to(ctx, i, found(ctx).unwrap_or(ctx.config.multiplier.low))
}
fn why_just_above_found(ctx: &Ctx, i: usize) -> String {
    say!(
        ctx,
        "倍率 {:.2} 略高于数据显示的低倍率阈值 {}",
        "multiplier {:.2} just above the low threshold the data show, {}",
        ctx.derived.multiplier[i],
        found(ctx).unwrap_or(ctx.config.multiplier.low)
    )
}
fn no_found_threshold(ctx: &Ctx) -> Option<String> {
    let s = &ctx.derived.low_threshold;
    Some(match s.discovered {
        Some(c) => say!(
            ctx,
            "数据显示的低倍率阈值 {} 与配置的 {} 相同，已由 LM_LOW_BUNCHING 检验",
            "the low threshold the data show, {}, is the configured {}; LM_LOW_BUNCHING tests it",
            c,
            s.configured
        ),
        None => say!(
            ctx,
            "倍率分布在 {}–{} 之间没有显著跳跃（最强候选 {}，校正后 p = {:.2}），只检验配置的阈值",
            "the multiplier density shows no significant jump between {} and {} (strongest candidate {}, adjusted p = {:.2}); only the configured threshold is tested",
            crate::derive::threshold::SCAN_FROM,
            crate::derive::threshold::SCAN_TO,
            s.strongest_candidate,
            s.p_adjusted
        ),
    })
}
/// The pile just above the threshold or the shoulder above it, [L, L(1 + 2w)): the
/// hospital's own density beside the threshold. Padding fills the pile from the band
/// below and leaves the shoulder alone; a hospital whose costs are honestly higher (a
/// truly sicker tertiary hospital) shifts pile and shoulder together, whereas against the
/// band below (`LM_LOW_BUNCHING`) it looks like a hole. Every stay counts, early ends
/// included (a transfer can be padded too), in a stratum of their own.
fn pile_or_shoulder(ctx: &Ctx, i: usize) -> bool {
    let (l, w, m) = (
        ctx.config.multiplier.low,
        ctx.config.detect.bunching_width,
        ctx.derived.multiplier[i],
    );
    m >= l && m < l * (1.0 + 2.0 * w)
}
/// The group, with the stays that ended early (transfer, against advice, death) in a
/// stratum of their own (group index + number of groups): their costs spread otherwise.
/// (Strata stay below [`STRATA_PER_GROUP`] × groups, which `model.json`'s check knows.)
fn group_and_exit(ctx: &Ctx, i: usize) -> u32 {
    let g = ctx.cases.group[i];
    if ctx.early_exit(i) {
        g + ctx.catalog.groups.len() as u32
    } else {
        g
    }
}
/// The low thresholds cities pay on (0.3 to 0.5): users often audit with the preset's
/// default while the region pays on another, and padders aim just above the one that pays.
pub const POLICY_LOW_THRESHOLDS: [f64; 3] = [0.3, 0.4, 0.5];
/// Strata per group the low-multiplier piles use: completed or ended early, times the
/// window (`LM_LOW_PILE_POLICY` has up to two).
pub const STRATA_PER_GROUP: u32 = 4;

/// The policy thresholds other than the configured one whose pile-and-shoulder windows
/// do not reach the configured window (those are `LM_LOW_PILE`'s).
fn other_thresholds(ctx: &Ctx) -> impl Iterator<Item = f64> + use<> {
    let (l, w) = (ctx.config.multiplier.low, ctx.config.detect.bunching_width);
    POLICY_LOW_THRESHOLDS
        .into_iter()
        .filter(move |&c| clear_of_configured(c, l, w))
}
/// Whether policy threshold c's window [c, c(1 + 2w)) stays clear of the configured
/// [L, L(1 + 2w)).
fn clear_of_configured(c: f64, l: f64, w: f64) -> bool {
    c * (1.0 + 2.0 * w) <= l || c >= l * (1.0 + 2.0 * w)
}
/// The window (index among the other thresholds, and the threshold) a stay's multiplier
/// falls in: [c, c(1 + 2w)).
fn policy_window(ctx: &Ctx, i: usize) -> Option<(u32, f64)> {
    let (w, m) = (ctx.config.detect.bunching_width, ctx.derived.multiplier[i]);
    other_thresholds(ctx)
        .enumerate()
        .find(|&(_, c)| m >= c && m < c * (1.0 + 2.0 * w))
        .map(|(k, c)| (k as u32, c))
}
fn in_policy_window(ctx: &Ctx, i: usize) -> bool {
    policy_window(ctx, i).is_some()
}
fn in_policy_pile(ctx: &Ctx, i: usize) -> bool {
    let w = ctx.config.detect.bunching_width;
    policy_window(ctx, i).is_some_and(|(_, c)| ctx.derived.multiplier[i] < c * (1.0 + w))
}
/// Group × early end × window.
fn group_exit_window(ctx: &Ctx, i: usize) -> u32 {
    let window = policy_window(ctx, i).map_or(0, |(k, _)| k);
    group_and_exit(ctx, i) + 2 * window * ctx.catalog.groups.len() as u32
}
/// The policy threshold a band test looks under: of 0.3, 0.4 and 0.5 other than L, the
/// closest to L (ties: the lower) among those whose pile-and-shoulder window reaches L's
/// (`ADJACENT`: 0.5 for the DRG preset's 0.4, 0.4 for the DIP preset's 0.5 —
/// `LM_LOW_PILE_POLICY` leaves it out, its window would overlap `LM_LOW_PILE`'s, yet it is
/// the likeliest other threshold a region pays on) or stay clear of it (0.3 for both
/// presets, `LM_LOW_PILE_POLICY`'s); `None` when there is none.
fn nearest_policy_threshold<const ADJACENT: bool>(ctx: &Ctx) -> Option<f64> {
    nearest_policy_threshold_of::<ADJACENT>(
        ctx.config.multiplier.low,
        ctx.config.detect.bunching_width,
    )
}
/// Policy thresholds closer than this to the configured one are the configured one (0.4
/// against a configured 0.41 would test the band `LM_LOW_DEFICIT_AT_OWN_LEVEL` tests).
const SAME_THRESHOLD: f64 = 0.01;
/// [`nearest_policy_threshold`] for configured threshold `l` and bunching width `w`.
fn nearest_policy_threshold_of<const ADJACENT: bool>(l: f64, w: f64) -> Option<f64> {
    POLICY_LOW_THRESHOLDS
        .into_iter()
        .filter(|&c| (c - l).abs() >= SAME_THRESHOLD && clear_of_configured(c, l, w) != ADJACENT)
        .min_by(|a, b| (a - l).abs().total_cmp(&(b - l).abs()).then(a.total_cmp(b)))
}
/// [`nearest_policy_threshold`], or the configured threshold when there is none (the
/// indicator is then untested; stakes and words still need a number).
fn nearest_or_configured<const ADJACENT: bool>(ctx: &Ctx) -> f64 {
    nearest_policy_threshold::<ADJACENT>(ctx).unwrap_or(ctx.config.multiplier.low)
}
/// Under that threshold once the hospital's own cost level is taken out. Padding to just
/// over it empties the band below without moving the hospital's median (its cost level);
/// a hospital costlier or cheaper everywhere moves both. Early ends are cheap and pile up
/// just above the thresholds honestly, so the hole speaks where a pile test does not.
fn below_nearest_at_own_level<const ADJACENT: bool>(ctx: &Ctx, i: usize) -> bool {
    nearest_policy_threshold::<ADJACENT>(ctx).is_some_and(|c| ctx.multiplier_at_region_level(i) < c)
}
/// Just over that threshold, [c, c(1 + w)): where its padded stays land.
fn just_above_nearest<const ADJACENT: bool>(ctx: &Ctx, i: usize) -> bool {
    let (w, m) = (ctx.config.detect.bunching_width, ctx.derived.multiplier[i]);
    nearest_policy_threshold::<ADJACENT>(ctx).is_some_and(|c| m >= c && m < c * (1.0 + w))
}
fn nearest_padding_stake<const ADJACENT: bool>(ctx: &Ctx, i: usize) -> f64 {
    stake_padded_to(ctx, i, nearest_or_configured::<ADJACENT>(ctx))
}
/// The threshold the band test looked under, for the finding's reason.
fn tested_threshold<const ADJACENT: bool>(ctx: &Ctx, _h: u32, _evidence: &[usize]) -> String {
    say!(
        ctx,
        "检验阈值 {}（配置为 {}）",
        "threshold tested {} (configured: {})",
        nearest_or_configured::<ADJACENT>(ctx),
        ctx.config.multiplier.low
    )
}
/// Why a stay is evidence: it lies just over the tested threshold.
fn why_just_above_nearest<const ADJACENT: bool>(ctx: &Ctx, i: usize) -> String {
    why_just_above_policy_threshold(ctx, i, nearest_or_configured::<ADJACENT>(ctx))
}
/// Why the band test cannot run: no policy threshold of its kind beside the configured one.
fn no_nearest_threshold<const ADJACENT: bool>(ctx: &Ctx) -> Option<String> {
    let l = ctx.config.multiplier.low;
    nearest_policy_threshold::<ADJACENT>(ctx).is_none().then(|| {
        if ADJACENT {
            say!(
                ctx,
                "常见低倍率阈值（0.3、0.4、0.5）中没有紧邻配置阈值 {} 的",
                "no low threshold regions pay on (0.3, 0.4, 0.5) lies next to the configured {}",
                l
            )
        } else {
            say!(
                ctx,
                "常见低倍率阈值（0.3、0.4、0.5）中没有远离配置阈值 {} 的",
                "every low threshold regions pay on (0.3, 0.4, 0.5) lies next to the configured {}",
                l
            )
        }
    })
}
/// Every stay counts (a transfer or a death can be padded too; the strata keep them apart).
fn any_stay(_ctx: &Ctx, _i: usize) -> bool {
    true
}
/// A stay just over policy threshold `c`.
fn why_just_above_policy_threshold(ctx: &Ctx, i: usize, c: f64) -> String {
    say!(
        ctx,
        "倍率 {:.2} 略高于常见低倍率阈值 {}（配置为 {}）",
        "multiplier {:.2} just above {}, a low threshold regions pay on (configured: {})",
        ctx.derived.multiplier[i],
        c,
        ctx.config.multiplier.low
    )
}
/// The policy threshold of the stay's window (the configured one outside every window).
fn policy_threshold(ctx: &Ctx, i: usize) -> f64 {
    policy_window(ctx, i).map_or(ctx.config.multiplier.low, |(_, c)| c)
}
fn policy_padding_stake(ctx: &Ctx, i: usize) -> f64 {
    stake_padded_to(ctx, i, policy_threshold(ctx, i))
}
fn why_just_above_policy(ctx: &Ctx, i: usize) -> String {
    why_just_above_policy_threshold(ctx, i, policy_threshold(ctx, i))
}
fn just_above_low(ctx: &Ctx, i: usize) -> bool {
    let (l, w, m) = (
        ctx.config.multiplier.low,
        ctx.config.detect.bunching_width,
        ctx.derived.multiplier[i],
    );
    m >= l && m < l * (1.0 + w)
}
fn above_low(ctx: &Ctx, i: usize) -> bool {
    ctx.derived.multiplier[i] >= ctx.config.multiplier.low
}

/// The groups that concentrate the hospital's low-multiplier cases.
fn top_groups(ctx: &Ctx, _h: u32, evidence: &[usize]) -> String {
    let mut counts: FxHashMap<u32, usize> = FxHashMap::default();
    for &i in evidence {
        *counts.entry(ctx.cases.group[i]).or_default() += 1;
    }
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_unstable_by_key(|(g, n)| (std::cmp::Reverse(*n), *g));
    let top: Vec<String> = v
        .iter()
        .take(3)
        .map(|(g, n)| format!("{} ({n})", ctx.catalog.groups[*g as usize].code))
        .collect();
    if top.is_empty() {
        String::new()
    } else {
        say!(ctx, "主要集中于 {}", "most in {}", top.join(", "))
    }
}

fn why_low(ctx: &Ctx, i: usize) -> String {
    say!(
        ctx,
        "倍率 {:.2} 低于低倍率阈值 {}",
        "multiplier {:.2} below the low threshold {}",
        ctx.derived.multiplier[i],
        ctx.config.multiplier.low
    )
}
/// Under the low threshold once the hospital's own cost level is taken out: a hospital
/// cheaper everywhere has more low-multiplier stays honestly and a costlier one fewer; a
/// padder lifts its cheap stays over the threshold without moving its median.
fn low_at_own_level(ctx: &Ctx, i: usize) -> bool {
    ctx.multiplier_at_region_level(i) < ctx.config.multiplier.low
}
fn why_just_above(ctx: &Ctx, i: usize) -> String {
    say!(
        ctx,
        "倍率 {:.2} 略高于低倍率阈值 {}",
        "multiplier {:.2} just above the low threshold {}",
        ctx.derived.multiplier[i],
        ctx.config.multiplier.low
    )
}

/// The same description as a supporting (unscored) indicator.
const fn supporting(mut s: IndicatorSpec) -> IndicatorSpec {
    s.scored = false;
    s
}

const fn spec(
    code: &'static str,
    direction: Direction,
    name_en: &'static str,
    name_zh: &'static str,
    numerator: &'static str,
    denominator: &'static str,
    expected: &'static str,
) -> IndicatorSpec {
    IndicatorSpec {
        code,
        detector: Detector::LowMultiplier,
        direction,
        scored: true,
        name_en,
        name_zh,
        numerator,
        denominator,
        expected,
    }
}

/// The low-multiplier indicators.
pub fn indicators() -> Vec<Box<dyn Indicator>> {
    vec![
        Box::new(BinaryIndicator {
            spec: supporting(spec(
                "LM_LOW_EXCESS",
                Direction::Excess,
                "Too many low-multiplier cases",
                "低倍率病例过多",
                "stays with multiplier < low threshold",
                "audited stays, transfers, deaths and discharges against advice left out",
                "same-level peers' share per group",
            )),
            eligible: completed,
            outcome: low,
            stratum: by_group,
            lead: None,
            stake: points,
            detail: Some(top_groups),
            why: why_low,
        }),
        Box::new(BinaryIndicator {
            spec: spec(
                "LM_LOW_EXCESS_AT_OWN_LEVEL",
                Direction::Excess,
                "Too many low-multiplier cases at the hospital's own cost level",
                "低倍率病例过多（按本院费用水平）",
                "stays whose multiplier ÷ the hospital's cost level is under the low threshold",
                "audited stays, transfers, deaths and discharges against advice left out",
                "same-level peers' share per group, each peer at its own cost level (the median cost ÷ benchmark over its audited stays that ended normally)",
            ),
            eligible: completed,
            outcome: low_at_own_level,
            stratum: by_group,
            lead: None,
            stake: points,
            detail: Some(top_groups),
            why: why_low,
        }),
        Box::new(ReferenceIndicator {
            spec: spec(
                "LM_LOW_EXCESS_LIGHT",
                Direction::Excess,
                "Too many low-multiplier cases in light medical groups, against the hospital's own other groups",
                "低权重内科组低倍率病例过多（对照本院其他病组）",
                "stays in light medical groups with multiplier < low threshold",
                "audited stays in light medical groups, transfers, deaths and discharges against advice left out",
                "same-level peers' share per group, scaled by the hospital's own ratio to its peers in its other groups (a cheaper hospital has more low-multiplier stays everywhere)",
            ),
            eligible: completed,
            subject: light_medical,
            outcome: low,
            stratum: by_group,
            stake: points,
            why: why_low,
            words: [
                ("低权重内科组", "light medical groups"),
                ("其他病组", "other groups"),
            ],
        }),
        Box::new(BinaryIndicator {
            spec: supporting(spec(
                "LM_LOW_DEFICIT",
                Direction::Deficit,
                "Too few low-multiplier cases",
                "低倍率病例过少",
                "stays with multiplier < low threshold",
                "audited stays, transfers, deaths and discharges against advice left out",
                "same-level peers' share per group",
            )),
            eligible: completed,
            outcome: low,
            stratum: by_group,
            lead: Some(just_above_low),
            stake: padding_stake,
            detail: None,
            why: why_just_above,
        }),
        Box::new(BinaryIndicator {
            spec: spec(
                "LM_LOW_DEFICIT_AT_OWN_LEVEL",
                Direction::Deficit,
                "Too few low-multiplier cases at the hospital's own cost level",
                "低倍率病例过少（按本院费用水平）",
                "stays whose multiplier ÷ the hospital's cost level is under the low threshold",
                "audited stays, transfers, deaths and discharges against advice left out",
                "same-level peers' share per group, each peer at its own cost level (the median cost ÷ benchmark over its audited stays that ended normally)",
            ),
            eligible: completed,
            outcome: low_at_own_level,
            stratum: by_group,
            lead: Some(just_above_low),
            stake: padding_stake,
            detail: None,
            why: why_just_above,
        }),
        Box::new(BinaryIndicator {
            spec: supporting(spec(
                "LM_LOW_BUNCHING",
                Direction::Excess,
                "Costs bunched just above the low threshold",
                "低倍率阈值上方聚集",
                "stays with multiplier in [L, L × (1 + w))",
                "stays with multiplier < L × (1 + w) (transfers, deaths, against advice left out)",
                "same-level peers' share just above the threshold, same group",
            )),
            eligible: below_or_just_above_low,
            outcome: above_low,
            stratum: by_group,
            lead: None,
            stake: padding_stake,
            detail: None,
            why: why_just_above,
        }),
        Box::new(BinaryIndicator {
            spec: spec(
                "LM_LOW_PILE",
                Direction::Excess,
                "Costs piled just above the low threshold, against the strip above",
                "低倍率阈值上方堆积（对照其上方区间）",
                "stays with multiplier in [L, L × (1 + w))",
                "stays with multiplier in [L, L × (1 + 2w)), early ends in strata of their own",
                "same-level peers' share of the pile in the same window, same group",
            ),
            eligible: pile_or_shoulder,
            outcome: just_above_low,
            stratum: group_and_exit,
            lead: None,
            stake: padding_stake,
            detail: None,
            why: why_just_above,
        }),
        Box::new(BinaryIndicator {
            spec: spec(
                "LM_LOW_PILE_POLICY",
                Direction::Excess,
                "Costs piled just above another low threshold regions pay on",
                "其他常见低倍率阈值上方堆积",
                "stays with multiplier in [c, c × (1 + w)), c = 0.3, 0.4 or 0.5 other than the configured L",
                "stays with multiplier in [c, c × (1 + 2w)) (windows that reach L's left out), early ends in strata of their own",
                "same-level peers' share of the pile in the same window, same group",
            ),
            eligible: in_policy_window,
            outcome: in_policy_pile,
            stratum: group_exit_window,
            lead: None,
            stake: policy_padding_stake,
            detail: None,
            why: why_just_above_policy,
        }),
        Box::new(Explained {
            inner: BinaryIndicator {
                spec: spec(
                    "LM_LOW_BUNCHING_FOUND",
                    Direction::Excess,
                    "Costs bunched just above the low threshold the data show",
                    "数据显示的低倍率阈值上方聚集",
                    "stays with multiplier in [L*, L* × (1 + w)), L* the threshold found in the region's multiplier density",
                    "stays with multiplier < L* × (1 + w) (transfers, deaths, against advice left out)",
                    "same-level peers' share just above L*, same group",
                ),
                eligible: below_or_just_above_found_low,
                outcome: above_found_low,
                stratum: by_group,
                lead: None,
                stake: found_padding_stake,
                detail: None,
                why: why_just_above_found,
            },
            reason: no_found_threshold,
        }),
        Box::new(Explained {
            inner: BinaryIndicator {
                spec: spec(
                    "LM_LOW_DEFICIT_ADJACENT",
                    Direction::Deficit,
                    "Too few stays under the low threshold regions pay on next to the configured one, at the hospital's own cost level",
                    "紧邻配置阈值的常见低倍率阈值以下病例过少（按本院费用水平）",
                    "stays whose multiplier ÷ the hospital's cost level is under c, the policy threshold (0.3, 0.4, 0.5) next to the configured L (0.5 for L = 0.4, 0.4 for L = 0.5)",
                    "audited stays, early ends in strata of their own",
                    "same-level peers' share per group × early end, each peer at its own cost level",
                ),
                eligible: any_stay,
                outcome: below_nearest_at_own_level::<true>,
                stratum: group_and_exit,
                lead: Some(just_above_nearest::<true>),
                stake: nearest_padding_stake::<true>,
                detail: Some(tested_threshold::<true>),
                why: why_just_above_nearest::<true>,
            },
            reason: no_nearest_threshold::<true>,
        }),
        Box::new(Explained {
            inner: BinaryIndicator {
                spec: spec(
                    "LM_LOW_DEFICIT_POLICY",
                    Direction::Deficit,
                    "Too few stays under another low threshold regions pay on, at the hospital's own cost level",
                    "其他常见低倍率阈值以下病例过少（按本院费用水平）",
                    "stays whose multiplier ÷ the hospital's cost level is under c, the policy threshold (0.3, 0.4, 0.5) closest to the configured L among those whose window stays clear of L's (0.3 for both presets)",
                    "audited stays, early ends in strata of their own",
                    "same-level peers' share per group × early end, each peer at its own cost level",
                ),
                eligible: any_stay,
                outcome: below_nearest_at_own_level::<false>,
                stratum: group_and_exit,
                lead: Some(just_above_nearest::<false>),
                stake: nearest_padding_stake::<false>,
                detail: Some(tested_threshold::<false>),
                why: why_just_above_nearest::<false>,
            },
            reason: no_nearest_threshold::<false>,
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::point_chasing::tests::stays;
    use crate::lang::Lang;
    use crate::region::testkit::fixture;

    /// Which policy threshold each band test looks under, for configured thresholds from
    /// 0.2 to 0.65 (bunching width 0.15): the adjacent one reaches L's window, the apart one
    /// stays clear of it, neither is L itself (nor within a hundredth of it).
    #[test]
    fn the_band_tests_look_under_the_policy_thresholds_beside_the_configured_one() {
        let w = 0.15;
        for (l, adjacent, apart) in [
            (0.2, None, Some(0.3)),
            (0.3, None, Some(0.4)),
            (0.35, Some(0.3), Some(0.5)),
            (0.4, Some(0.5), Some(0.3)),
            (0.41, Some(0.5), Some(0.3)),
            (0.45, Some(0.4), Some(0.3)),
            (0.5, Some(0.4), Some(0.3)),
            (0.6, Some(0.5), Some(0.4)),
            (0.65, None, Some(0.5)),
        ] {
            assert_eq!(
                nearest_policy_threshold_of::<true>(l, w),
                adjacent,
                "L = {l}"
            );
            assert_eq!(nearest_policy_threshold_of::<false>(l, w), apart, "L = {l}");
        }
    }

    /// Issue 10, "a cheaper one has more low-multiplier stays": a hospital cheaper
    /// everywhere (traditional Chinese medicine, efficient) has stays under the low
    /// threshold honestly; at its own cost level they are ordinary. A costlier hospital's
    /// stay at a third of its own level is low although over the threshold. (The outcome
    /// of `LM_LOW_EXCESS_AT_OWN_LEVEL` and `LM_LOW_DEFICIT_AT_OWN_LEVEL` alike.)
    #[test]
    fn low_at_own_level_takes_a_cheaper_hospitals_level_out() {
        let header = "case_id,hospital_id,hospital_level,patient_id,admit_date,discharge_date,group_code,total_cost\n";
        let f = fixture(&format!(
            "{header}{}{}",
            stays("H1", 5000, 2200),
            stays("H2", 9000, 3000)
        ));
        let region = f.region();
        let ctx = Ctx::new(&region, None, Lang::En);
        let (cheap, costly) = (f.case("H1-20"), f.case("H2-20"));
        assert!(low(&ctx, cheap), "the fixture's point: under L");
        assert!(!low_at_own_level(&ctx, cheap));
        assert!(!low(&ctx, costly));
        assert!(low_at_own_level(&ctx, costly));
        assert!(!low_at_own_level(&ctx, f.case("H2-0")));
    }
}
