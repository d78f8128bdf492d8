//! Gaming injection. Each pattern alters or adds stays at its hospital from its
//! start year on and marks them in `Case::pattern` (the case-level ground truth).
//!
//! Thresholds are relative to the benchmark the hospital is paid on: the catalogue's
//! published benchmark when it has one, else the generator's expected mean cost of the
//! case's (group, level), which is what the analyzer's baseline-year benchmark estimates.

use rand::Rng;

use super::cases::{
    Case, Ctx, Focus, HospState, NO_CODE, YearSpan, make_stay, push_excluded, refill_secondaries,
    sample_cdf, secondary_ok, skewed,
};
use super::catalog::Catalogue;
use super::{GamingPattern, Scheme, UpcodingVariant};

/// Chance an upcoder uses one of its favourite codes rather than any code: real
/// upcoding leans on a few codes that pass audit, which peers rarely use.
const P_FAVOURITE: f64 = 0.7;
/// The same for a lever-code hospital: nearly every upcode uses its one favourite code.
const P_FAVOURITE_LEVER: f64 = 0.9;

/// Per-hospital set-up: an upcoder picks its favourite CC and MCC codes.
pub(crate) fn prepare(ctx: &Ctx<'_>, st: &mut HospState<'_>) {
    if !st
        .h
        .gaming
        .iter()
        .any(|g| g.pattern == GamingPattern::Upcoding)
    {
        return;
    }
    let cat = ctx.cat;
    // Favourites come from the less common part of each pool, so they stand out
    // against peers instead of hiding among the region's most frequent codes.
    let pick = |pool: &[u32], n: usize, rng: &mut rand_chacha::ChaCha8Rng| -> Vec<u32> {
        let lo = pool.len() / 10;
        (0..n)
            .map(|_| pool[rng.random_range(lo..pool.len().max(lo + 1))])
            .collect()
    };
    let lever =
        st.h.gaming.iter().any(|g| {
            g.pattern == GamingPattern::Upcoding && g.variant == UpcodingVariant::LeverCode
        });
    // A lever-code hospital leans on one code of each kind; others on a handful.
    let (n_cc, n_mcc) = if lever { (1, 1) } else { (6, 4) };
    st.fav_cc = pick(&cat.cc_pool, n_cc, &mut st.rng);
    st.fav_mcc = pick(&cat.mcc_pool, n_mcc, &mut st.rng);
}

/// Applies the hospital's active case-level gaming to a freshly drawn honest stay.
/// Returns the second half when the stay is split.
pub(crate) fn apply(
    ctx: &Ctx<'_>,
    st: &mut HospState<'_>,
    case: &mut Case,
    year: i32,
) -> Option<Case> {
    let focus = ctx.focus.get(st.h.index).copied().flatten();
    let Some(focus) = focus else {
        return apply_at(ctx, st, case, year, None);
    };
    let mut second = apply_at(ctx, st, case, year, Some(focus));
    // The gaming is the focus physician's: the altered stay (and a split's second half).
    for c in std::iter::once(&mut *case).chain(second.as_mut()) {
        if c.pattern.is_some() {
            c.physician = focus.physician;
        }
    }
    second
}

/// The intensity of a pattern at this case: as specified, or under `--focus-gaming`
/// boosted inside the focus department (at most 0.95) and zero outside it.
fn intensity(p: f64, case: &Case, focus: Option<Focus>) -> f64 {
    match focus {
        None => p,
        Some(f) if case.dept == f.dept => (p * f.boost).min(0.95),
        Some(_) => 0.0,
    }
}

fn apply_at(
    ctx: &Ctx<'_>,
    st: &mut HospState<'_>,
    case: &mut Case,
    year: i32,
    focus: Option<Focus>,
) -> Option<Case> {
    let h = st.h;
    if h.gaming.is_empty() {
        return None;
    }
    if let Some(spec) = h.active(GamingPattern::Upcoding, year) {
        let p = intensity(spec.intensity, case, focus);
        if upcode_eligible(ctx, case) && st.rng.random::<f64>() < p {
            upcode(ctx, st, case, spec.variant);
        }
    }
    if let Some(spec) = h.active(GamingPattern::LowThresholdPadding, year) {
        let p = intensity(spec.intensity, case, focus);
        let expected = ctx.payment_benchmark(case.group as usize, h.level);
        // The threshold the region really pays on, whatever the audit is configured with.
        let low = ctx.low_threshold;
        if (case.cost_cents as f64 / 100.0) < low * expected && st.rng.random::<f64>() < p {
            // Just over the threshold: enough for full points, little enough to
            // look like an ordinary cheap case.
            let target = low * st.rng.random_range(1.0..1.12) * expected;
            pad(case, target, GamingPattern::LowThresholdPadding);
        }
    }
    if let Some(spec) = h.active(GamingPattern::HighPadding, year) {
        let p = intensity(spec.intensity, case, focus);
        let expected = ctx.payment_benchmark(case.group as usize, h.level);
        let high = ctx.cat.high_threshold(case.group as usize);
        let ratio = case.cost_cents as f64 / 100.0 / expected;
        if (1.2..high).contains(&ratio) && st.rng.random::<f64>() < p {
            let target = high * st.rng.random_range(1.0..1.15) * expected;
            pad(case, target, GamingPattern::HighPadding);
            // Padding comes with a few extra days of tests and drugs.
            let extra = (f64::from(case.los()) * st.rng.random_range(0.0..0.25)).round() as i32;
            case.discharge += extra;
        }
    }
    if let Some(spec) = h.active(GamingPattern::SplitStays, year) {
        let p = intensity(spec.intensity, case, focus);
        if case.los() >= 2 && case.disposition == 1 && st.rng.random::<f64>() < p {
            return split(ctx, st, case);
        }
    }
    None
}

fn mark(case: &mut Case, pattern: GamingPattern) {
    // A stay altered twice keeps the first pattern: truth has one row per stay.
    case.pattern.get_or_insert(pattern);
}

fn pad(case: &mut Case, target_yuan: f64, pattern: GamingPattern) {
    let new = (target_yuan * 100.0).round() as i64;
    if new > case.cost_cents {
        case.pad_cents += new - case.cost_cents;
        case.cost_cents = new;
        mark(case, pattern);
    }
}

/// A case can be pushed up when its family has a heavier sibling (DRG: severity 5 or
/// 3 below a 3 or 1; DIP: a heavier treatment).
fn upcode_eligible(ctx: &Ctx<'_>, case: &Case) -> bool {
    let g = &ctx.cat.groups[case.group as usize];
    let fam = &ctx.cat.families[g.family];
    let heavier = usize::from(g.tier) + 1 < fam.groups.len();
    match ctx.cat.scheme {
        Scheme::Drg => heavier && matches!(g.severity, 3 | 5),
        Scheme::Dip => heavier,
    }
}

/// Moves the case one step up its family, keeping its cost and stay. DRG: exactly
/// one added CC (to reach a 3) or MCC (to reach a 1). DIP: a heavier treatment
/// recorded through its procedure code.
fn upcode(ctx: &Ctx<'_>, st: &mut HospState<'_>, case: &mut Case, variant: UpcodingVariant) {
    let cat = ctx.cat;
    let g = &cat.groups[case.group as usize];
    let target = cat.families[g.family].groups[usize::from(g.tier) + 1];
    let tg = &cat.groups[target];
    let mut used = variant;
    if variant == UpcodingVariant::MainDiagnosis && cat.scheme == Scheme::Drg {
        if let Some(heavier) = cat.heavier_main_dx_group(case.group as usize) {
            swap_main_diagnosis(cat, st, case, heavier);
            return;
        }
        // No heavier medical neighbour in the MDC: this case gets an added code instead.
        used = UpcodingVariant::AddedCode;
    }
    match cat.scheme {
        Scheme::Drg
            if variant == UpcodingVariant::ExcludedCode
                && push_excluded(cat, case, tg.severity == 1, &mut st.rng) => {}
        Scheme::Drg => {
            // An excluded-code upcoder whose main diagnosis excludes nothing adds a real code.
            if used == UpcodingVariant::ExcludedCode {
                used = UpcodingVariant::AddedCode;
            }
            let p_favourite = if used == UpcodingVariant::LeverCode {
                P_FAVOURITE_LEVER
            } else {
                P_FAVOURITE
            };
            let (fav, pool) = if tg.severity == 1 {
                (&st.fav_mcc, &cat.mcc_pool)
            } else {
                (&st.fav_cc, &cat.cc_pool)
            };
            let mut added = false;
            for attempt in 0..12 {
                let code = if attempt < 6 && !fav.is_empty() && st.rng.random::<f64>() < p_favourite
                {
                    fav[st.rng.random_range(0..fav.len())]
                } else {
                    skewed(pool, &mut st.rng)
                };
                if secondary_ok(cat, case, code) {
                    added = case.push_secondary(code);
                    break;
                }
            }
            if !added {
                return;
            }
        }
        Scheme::Dip => {
            case.procedure = if tg.proc_pool.is_empty() {
                NO_CODE
            } else {
                skewed(&tg.proc_pool, &mut st.rng)
            };
        }
    }
    case.group = target as u32;
    mark(case, GamingPattern::Upcoding);
    if case.pattern == Some(GamingPattern::Upcoding) && cat.scheme == Scheme::Drg {
        case.variant = Some(used);
    }
}

/// The main-diagnosis variant: a diagnosis of a heavier medical ADRG of the same MDC is
/// coded as the main one, the patient's real main condition kept as a secondary code (so the
/// grouper's result is consistent with the codes); cost and stay stay those of the real
/// condition.
fn swap_main_diagnosis(cat: &Catalogue, st: &mut HospState<'_>, case: &mut Case, heavier: usize) {
    let real = case.main_dx;
    let pool = &cat.families[cat.groups[heavier].family].dx_pool;
    case.main_dx = skewed(pool, &mut st.rng);
    let category = cat.icd[case.main_dx as usize].category();
    if cat.icd[real as usize].category() != category && !case.secondaries().contains(&real) {
        case.push_secondary(real);
    }
    case.group = heavier as u32;
    mark(case, GamingPattern::Upcoding);
    if case.pattern == Some(GamingPattern::Upcoding) {
        case.variant = Some(UpcodingVariant::MainDiagnosis);
    }
}

/// Bills one episode as two stays 0–2 days apart in the same family, the cost divided
/// roughly by days. Neither half is flagged as planned.
fn split(ctx: &Ctx<'_>, st: &mut HospState<'_>, case: &mut Case) -> Option<Case> {
    let rng = &mut st.rng;
    let los = case.los();
    let k = rng.random_range(1..los);
    let gap = rng.random_range(0..=2);
    let second_admit = case.admit + k + gap;
    if second_admit > ctx.last_day {
        return None;
    }
    let mut second = case.clone();
    case.discharge = case.admit + k;
    second.admit = second_admit;
    second.discharge = second_admit + (los - k);
    let f = (f64::from(k) / f64::from(los) * rng.random_range(0.8..1.2)).clamp(0.25, 0.75);
    let total = case.cost_cents;
    case.cost_cents = (total as f64 * f).round() as i64;
    second.cost_cents = total - case.cost_cents;
    let pad_total = case.pad_cents;
    case.pad_cents = (pad_total as f64 * f).round() as i64;
    second.pad_cents = pad_total - case.pad_cents;
    case.planned = false;
    second.planned = false;
    second.fee_seed = rng.random();
    // Often the second half is coded as the family's lightest group (follow-up care).
    let g = &ctx.cat.groups[case.group as usize];
    let lightest = ctx.cat.families[g.family].groups[0];
    if lightest != case.group as usize && rng.random::<f64>() < 0.4 {
        second.group = lightest as u32;
        let lg = &ctx.cat.groups[lightest];
        second.procedure = if lg.proc_pool.is_empty() {
            NO_CODE
        } else {
            skewed(&lg.proc_pool, rng)
        };
        refill_secondaries(ctx.cat, &mut second, st.h.profile(), rng);
    }
    mark(case, GamingPattern::SplitStays);
    second.pattern = None;
    mark(&mut second, GamingPattern::SplitStays);
    Some(second)
}

/// Extra short admissions (1–2 days) in light medical groups at a fraction of the
/// group's cost: care an outpatient clinic would have given.
pub(crate) fn low_standard_admissions(
    ctx: &Ctx<'_>,
    st: &mut HospState<'_>,
    span: &YearSpan,
    n: usize,
) {
    let h = st.h;
    let cdf = &ctx.light_cdf[usize::from(h.level.clamp(1, 3) - 1)];
    if cdf.is_empty() {
        return;
    }
    for _ in 0..n {
        let group = ctx.cat.light_medical[sample_cdf(cdf, &mut st.rng)];
        let mdc = ctx.cat.families[ctx.cat.groups[group].family].mdc;
        let admit = span.start + st.rng.random_range(0..span.len);
        // Half are the hospital's regulars, admitted again and again.
        let patient = st.pick_patient(mdc, span.year, admit, 0.5);
        let mut case = make_stay(&mut st.rng, ctx, h, group, admit, &patient);
        let rng = &mut st.rng;
        case.discharge = admit + rng.random_range(1..=2);
        let expected = ctx.cat.expected_cost(group, h.level);
        case.cost_cents = (expected * rng.random_range(0.15..0.45) * 100.0).round() as i64;
        case.disposition = 1;
        case.n_sec = case.n_sec.min(1);
        mark(&mut case, GamingPattern::LowStandardAdmission);
        if let Some(f) = ctx.focus.get(h.index).copied().flatten() {
            // The focus department admits them, under its focus physician.
            case.dept = f.dept;
            case.physician = f.physician;
        }
        st.cases.push(case);
    }
}
