//! `UPC_LEVER_CODE` (issue 11): a hospital's use of one secondary code as the *single lever*
//! of its CC/MCC claims, against its same-level peers' use of that code for the same ADRGs.
//!
//! The unit is a (hospital, code) pair, not a hospital: the "favourite code" signal is one
//! code used far more than peers use it (the US OIG found most claims where severe
//! malnutrition E43 was the only MCC to be wrong). Testing a hospital on its *maximum* code
//! as one test would be anti-conservative, so every pair is its own test and
//! [`crate::compare::levers`] controls the false-discovery rate across all pairs of the
//! region.
//!
//! For hospital `h` and code `c`: the eligible cases are its audited claims of severity 1
//! or 3 whose codes were checked (`UPC_SINGLE_CC`'s denominator); `O` is the number of them
//! whose claim rests on `c` alone; `E` sums, per family (ADRG), the eligible cases times
//! the peers' share of their eligible claims of that family resting on `c` alone — same-level
//! peers with `h` left out, all levels when same-level peers have fewer than
//! [`super::kinds::MIN_PEER_CASES`] claims in the family. The peer share is the Jeffreys
//! posterior mean, so a code no peer uses as a lever still has a (small) expectation and the
//! hospital that alone leans on it is tested rather than dropped.

use std::collections::BTreeMap;

use super::Ctx;
use crate::derive::coding::NOT_CHECKED;
use crate::ingest::NONE_U32;

/// Fewest peer claims of a family (same level) before the same-level share is used alone.
const MIN_PEER_CLAIMS: f64 = 10.0;

/// One (hospital, code) measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct LeverMeasure {
    /// Hospital index.
    pub hospital: u32,
    /// Interned secondary-diagnosis code (`Cases::codes`).
    pub code: u32,
    /// Eligible claims of the hospital in the families where peers or it use the code.
    pub n: f64,
    /// Claims resting on this code alone.
    pub o: f64,
    /// Expected such claims at the peers' share for the hospital's own families.
    pub e: f64,
    /// Variance of `o` under that expectation (chance plus the peer share's uncertainty).
    pub v: f64,
    /// Points the hospital's claims resting on this code earn over the lighter sibling.
    pub stake_points: f64,
    /// Eligible claims compared with all levels (same-level peers too few).
    pub fallback_cases: f64,
}

/// A claim the lever test looks at: audited, claimed severity 1 or 3, codes checked.
fn eligible(ctx: &Ctx, i: usize) -> bool {
    ctx.audited(i)
        && ctx.derived.coding.supported[i] != NOT_CHECKED
        && matches!(ctx.derived.severity[i], 1 | 3)
}

/// Every (hospital, code) pair with a positive expectation, in (hospital, code text) order.
/// Empty when the peers are a published model's (it carries no lever table): `check` shows
/// the hospital's own lever codes without the peer comparison.
pub fn measure(ctx: &Ctx) -> Vec<LeverMeasure> {
    if !matches!(ctx.peers, crate::peers::PeerSource::Region) {
        return Vec::new();
    }
    // Tallies keyed by ordered maps so every float sum is added in one fixed order.
    let mut claims: BTreeMap<(u32, u32), f64> = BTreeMap::new(); // (h, family)
    let mut levers: BTreeMap<(u32, u32, u32), (f64, f64)> = BTreeMap::new(); // (h, f, c)
    for i in (0..ctx.cases.len()).filter(|&i| eligible(ctx, i)) {
        let (h, f) = (ctx.hospital(i), ctx.derived.family[i]);
        *claims.entry((h, f)).or_default() += 1.0;
        let c = ctx.derived.coding.lever[i];
        if c != NONE_U32 {
            let t = levers.entry((h, f, c)).or_default();
            t.0 += 1.0;
            t.1 += ctx.upcoding_stake(i);
        }
    }
    let level = |h: u32| ctx.hospital_level[h as usize];
    let mut claims_lv: BTreeMap<(u8, u32), f64> = BTreeMap::new();
    let mut claims_all: BTreeMap<u32, f64> = BTreeMap::new();
    for (&(h, f), &n) in &claims {
        *claims_lv.entry((level(h), f)).or_default() += n;
        *claims_all.entry(f).or_default() += n;
    }
    let mut levers_lv: BTreeMap<(u8, u32, u32), f64> = BTreeMap::new();
    let mut levers_all: BTreeMap<(u32, u32), f64> = BTreeMap::new();
    // Codes used as a lever in each family anywhere in the region.
    let mut codes_of: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (&(h, f, c), &(x, _)) in &levers {
        *levers_lv.entry((level(h), f, c)).or_default() += x;
        let all = levers_all.entry((f, c)).or_default();
        if *all == 0.0 {
            codes_of.entry(f).or_default().push(c);
        }
        *all += x;
    }
    let mut out: BTreeMap<(u32, u32), LeverMeasure> = BTreeMap::new();
    for (&(h, f), &n) in &claims {
        let lv = level(h);
        let peer_n_lv = claims_lv.get(&(lv, f)).copied().unwrap_or(0.0) - n;
        let peer_n_all = claims_all.get(&f).copied().unwrap_or(0.0) - n;
        let fallback = peer_n_lv < MIN_PEER_CLAIMS;
        let peer_n = if fallback { peer_n_all } else { peer_n_lv };
        if peer_n <= 0.0 {
            continue;
        }
        for &c in codes_of.get(&f).map(Vec::as_slice).unwrap_or_default() {
            let (own_x, own_stake) = levers.get(&(h, f, c)).copied().unwrap_or_default();
            let peer_x = if fallback {
                levers_all.get(&(f, c)).copied().unwrap_or(0.0)
            } else {
                levers_lv.get(&(lv, f, c)).copied().unwrap_or(0.0)
            } - own_x;
            // Jeffreys Beta(x + ½, n − x + ½): mean and variance of the peers' share.
            let (a, b) = (peer_x.max(0.0) + 0.5, (peer_n - peer_x).max(0.0) + 0.5);
            let rate = a / (a + b);
            let var = a * b / ((a + b).powi(2) * (a + b + 1.0));
            let m = out.entry((h, c)).or_insert_with(|| LeverMeasure {
                hospital: h,
                code: c,
                n: 0.0,
                o: 0.0,
                e: 0.0,
                v: 0.0,
                stake_points: 0.0,
                fallback_cases: 0.0,
            });
            m.n += n;
            m.o += own_x;
            m.e += n * rate;
            m.v += n * rate * (1.0 - rate) + n * n * var;
            m.stake_points += own_stake;
            if fallback {
                m.fallback_cases += n;
            }
        }
    }
    let mut rows: Vec<LeverMeasure> = out.into_values().filter(|m| m.e > 0.0).collect();
    // Code text, not interning order, so a batch interned differently sorts the same.
    rows.sort_by(|x, y| {
        x.hospital.cmp(&y.hospital).then_with(|| {
            ctx.cases.codes.codes[x.code as usize].cmp(&ctx.cases.codes.codes[y.code as usize])
        })
    });
    rows
}
