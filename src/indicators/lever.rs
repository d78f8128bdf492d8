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
//!
//! The peers' sums come from the region (`run`) or from the regional model's lever table
//! ([`LeverTable`], `model.json` `levers`, `check`): per (hospital level, family) the peers'
//! eligible claims and the claims resting on each code alone, published under the same
//! small-cell rule as every other peer table (cells of too few hospitals or claims pooled
//! into a level-4 row that only enters the all-levels sums, or withheld;
//! [`crate::peers::PeerTable::published_rows`]). As for the other tables, a batch that is
//! the model's own data has its own claims taken out of the sums (what `run` does); a new
//! batch is compared with the whole table, which holds the hospital's earlier claims when
//! it contributed to the model.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use super::Ctx;
use crate::derive::coding::NOT_CHECKED;
use crate::ingest::NONE_U32;
/// The published lever table lives with the other peer tables.
pub use crate::peers::{LeverCell, LeverTable};
use crate::peers::{POOLED_LEVEL, PeerSource, PeerTable, Sums, Suppressed};

/// Fewest peer claims of a family (same level) before the same-level share is used alone.
pub const MIN_PEER_CLAIMS: f64 = 10.0;

/// The period key the lever cells are suppressed under (they count the audited period only).
const AUDITED: u8 = 1;

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

/// Each hospital's own counts, keyed by ordered maps so every float sum is added in one
/// fixed order.
struct Tallies {
    /// Eligible claims by (hospital, family).
    claims: BTreeMap<(u32, u32), f64>,
    /// Claims resting on one code alone and the points they carry, by (hospital, family,
    /// code).
    levers: BTreeMap<(u32, u32, u32), (f64, f64)>,
}

fn tallies(ctx: &Ctx) -> Tallies {
    let mut claims: BTreeMap<(u32, u32), f64> = BTreeMap::new();
    let mut levers: BTreeMap<(u32, u32, u32), (f64, f64)> = BTreeMap::new();
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
    Tallies { claims, levers }
}

/// The peers' sums a hospital's expectation is formed from (its own claims still in them).
#[derive(Default)]
struct PeerSums {
    claims_lv: BTreeMap<(u8, u32), f64>,
    claims_all: BTreeMap<u32, f64>,
    levers_lv: BTreeMap<(u8, u32, u32), f64>,
    levers_all: BTreeMap<(u32, u32), f64>,
    /// Codes tested in each family: used as a lever there by a peer or the hospital.
    codes_of: BTreeMap<u32, BTreeSet<u32>>,
}

impl PeerSums {
    /// The region's own sums (`run`): every hospital is in them.
    fn of_region(ctx: &Ctx, t: &Tallies) -> PeerSums {
        let level = |h: u32| ctx.hospital_level[h as usize];
        let mut s = PeerSums::default();
        for (&(h, f), &n) in &t.claims {
            *s.claims_lv.entry((level(h), f)).or_default() += n;
            *s.claims_all.entry(f).or_default() += n;
        }
        for (&(h, f, c), &(x, _)) in &t.levers {
            *s.levers_lv.entry((level(h), f, c)).or_default() += x;
            *s.levers_all.entry((f, c)).or_default() += x;
            s.codes_of.entry(f).or_default().insert(c);
        }
        s
    }

    /// A published table's sums (`check`), codes mapped to the batch's code book; the
    /// batch's own lever codes are tested too (a code no peer leans on still has its small
    /// Jeffreys expectation). A published code the batch never mentions gives a pair with
    /// no claim (O = 0), which cannot be flagged or shown, and is left out.
    fn of_table(ctx: &Ctx, table: &LeverTable, t: &Tallies) -> PeerSums {
        let book: FxHashMap<&str, u32> = ctx
            .cases
            .codes
            .codes
            .iter()
            .enumerate()
            .map(|(k, c)| (c.as_str(), k as u32))
            .collect();
        let mut s = PeerSums::default();
        for cell in &table.cells {
            let (lv, f) = (cell.level, cell.family);
            if lv < POOLED_LEVEL {
                *s.claims_lv.entry((lv, f)).or_default() += cell.claims;
            }
            *s.claims_all.entry(f).or_default() += cell.claims;
            for (code, &x) in &cell.codes {
                let Some(&c) = book.get(code.as_str()) else {
                    continue;
                };
                if lv < POOLED_LEVEL {
                    *s.levers_lv.entry((lv, f, c)).or_default() += x;
                }
                *s.levers_all.entry((f, c)).or_default() += x;
                s.codes_of.entry(f).or_default().insert(c);
            }
        }
        for &(_, f, c) in t.levers.keys() {
            s.codes_of.entry(f).or_default().insert(c);
        }
        s
    }
}

/// Every (hospital, code) pair with a positive expectation, in (hospital, code text) order.
/// The peers are the region's (`run`) or the published model's lever table (`check`).
pub fn measure(ctx: &Ctx) -> Vec<LeverMeasure> {
    let t = tallies(ctx);
    let sums = match &ctx.peers {
        PeerSource::Region => PeerSums::of_region(ctx, &t),
        PeerSource::Published { levers, .. } => PeerSums::of_table(ctx, levers, &t),
    };
    let mut out: BTreeMap<(u32, u32), LeverMeasure> = BTreeMap::new();
    for (&(h, f), &n) in &t.claims {
        let lv = ctx.hospital_level[h as usize];
        // The hospital's own claims are in the sums in `run`, and in `check` when the batch
        // is the model's own data: then they are taken out.
        let own_in = ctx.peers.own_included(h);
        let own = |x: f64| if own_in { x } else { 0.0 };
        let peer_n_lv = sums.claims_lv.get(&(lv, f)).copied().unwrap_or(0.0) - own(n);
        let peer_n_all = sums.claims_all.get(&f).copied().unwrap_or(0.0) - own(n);
        let fallback = peer_n_lv < MIN_PEER_CLAIMS;
        let peer_n = if fallback { peer_n_all } else { peer_n_lv };
        if peer_n <= 0.0 {
            continue;
        }
        for &c in sums.codes_of.get(&f).into_iter().flatten() {
            let (own_x, own_stake) = t.levers.get(&(h, f, c)).copied().unwrap_or_default();
            let peer_x = if fallback {
                sums.levers_all.get(&(f, c)).copied().unwrap_or(0.0)
            } else {
                sums.levers_lv.get(&(lv, f, c)).copied().unwrap_or(0.0)
            } - own(own_x);
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

/// The region's lever peer cells to publish in a model, with the privacy rule of every
/// other peer table ([`PeerTable::published_rows`]): a (level, family) cell of fewer than
/// `min_hospitals` hospitals with eligible claims or fewer than `min_claims` claims is not
/// published on its own; the small cells of a family are summed into one
/// [`POOLED_LEVEL`] row (with the smallest published cells joining it while the pool is
/// too small), and a family whose pool is too small even with every level in it is
/// withheld. A code's counts follow its cell. Sorted by (level, family).
pub fn published_cells(
    ctx: &Ctx,
    min_hospitals: u32,
    min_claims: f64,
) -> (Vec<LeverCell>, Suppressed) {
    let t = tallies(ctx);
    let level = |h: u32| ctx.hospital_level[h as usize];
    let own: Vec<((u32, u32, u8), Sums)> = t
        .claims
        .iter()
        .map(|(&(h, f), &n)| ((h, f, AUDITED), Sums { n, x: 0.0, xx: 0.0 }))
        .collect();
    let (rows, suppressed) =
        PeerTable::from_own(&own, level).published_rows(min_hospitals, min_claims);
    let kept: BTreeSet<(u8, u32)> = rows.iter().map(|r| (r.0, r.1)).collect();
    // Where a hospital's counts go: its own level's cell, the family's pool, or nowhere.
    let cell_of = |h: u32, f: u32| {
        let lv = level(h);
        if kept.contains(&(lv, f)) {
            Some((lv, f))
        } else if kept.contains(&(POOLED_LEVEL, f)) {
            Some((POOLED_LEVEL, f))
        } else {
            None
        }
    };
    let mut cells: BTreeMap<(u8, u32), LeverCell> = BTreeMap::new();
    for (&(h, f), &n) in &t.claims {
        if let Some((lv, f)) = cell_of(h, f) {
            cells
                .entry((lv, f))
                .or_insert_with(|| LeverCell {
                    level: lv,
                    family: f,
                    claims: 0.0,
                    codes: BTreeMap::new(),
                })
                .claims += n;
        }
    }
    for (&(h, f, c), &(x, _)) in &t.levers {
        if let Some(key) = cell_of(h, f)
            && let Some(cell) = cells.get_mut(&key)
        {
            let code = ctx.cases.codes.codes[c as usize].clone();
            *cell.codes.entry(code).or_default() += x;
        }
    }
    (cells.into_values().collect(), suppressed)
}
