//! Unusual low-multiplier rates (低倍率异常), in both directions: too many low-multiplier
//! cases (low-standard admissions, or upcoding into groups whose cost the case never used),
//! and too few (cheap cases padded just over the low threshold to earn full points).
//! Only the bunching test is scored: a cheaper hospital honestly has more low-multiplier
//! stays and a costlier one fewer, so `LM_LOW_EXCESS` and `LM_LOW_DEFICIT` are supporting
//! (see `compare::corroborates` for what backs each).

use rustc_hash::FxHashMap;

use super::context::say;
use super::kinds::BinaryIndicator;
use super::{Ctx, Detector, Direction, Indicator, IndicatorSpec};
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
    ctx.base_points(i) * (1.0 - ctx.config.multiplier.low)
}
/// Low band or just above it: padding moves a case from anywhere in the low band to just
/// over the threshold, so the window is the whole band below (the hole) and the strip
/// above (the pile).
fn below_or_just_above_low(ctx: &Ctx, i: usize) -> bool {
    let (l, w, m) = (
        ctx.config.multiplier.low,
        ctx.config.detect.bunching_width,
        ctx.derived.multiplier[i],
    );
    m < l * (1.0 + w) && !ctx.early_exit(i)
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
                "LM_LOW_BUNCHING",
                Direction::Excess,
                "Costs bunched just above the low threshold",
                "低倍率阈值上方聚集",
                "stays with multiplier in [L, L × (1 + w))",
                "stays with multiplier < L × (1 + w) (transfers, deaths, against advice left out)",
                "same-level peers' share just above the threshold, same group",
            ),
            eligible: below_or_just_above_low,
            outcome: above_low,
            stratum: by_group,
            lead: None,
            stake: padding_stake,
            detail: None,
            why: why_just_above,
        }),
    ]
}
