//! The shapes indicators take: a standardised binary rate, a change against the hospital's
//! own baseline net of its peers' change, and (in `upcoding.rs`) a continuous weight index.

use rustc_hash::FxHashMap;

use super::context::say;
use super::{Ctx, Indicator, IndicatorSpec};
use crate::peers::{self, PeerTable, Sums};

/// An indicator's measures of every hospital, and the peer table it compared them with
/// when that table was summed from the region (so `run` can publish it in the model).
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// One measure per hospital index.
    pub measures: Vec<Measure>,
    /// The region's peer table; `None` when it came from a published model.
    pub table: Option<PeerTable>,
}

/// One hospital's measurement: observed `o`, expected `e` (under its peers' behaviour, for its
/// own case mix) and the variance `v` of `o` under that expectation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measure {
    /// Denominator (eligible cases).
    pub n: f64,
    /// Numerator (observed).
    pub o: f64,
    /// Expected numerator.
    pub e: f64,
    /// Variance of the numerator under the expectation.
    pub v: f64,
    /// Sum of points at stake over the hospital's evidence cases.
    pub stake_sum: f64,
    /// Number of evidence cases behind `stake_sum`.
    pub stake_cases: f64,
    /// Eligible cases left out because no peer had a case in their stratum.
    pub no_peer_cases: f64,
    /// Extra words for the reason (top groups, same-day gaps, growth, …).
    pub detail: String,
}

impl Measure {
    /// Average points at stake per evidence case (0 when none).
    pub fn mean_stake(&self) -> f64 {
        if self.stake_cases > 0.0 {
            self.stake_sum / self.stake_cases
        } else {
            0.0
        }
    }
}

/// Case predicate used by the generic kinds.
pub type CaseFn = fn(&Ctx, usize) -> bool;
/// Stratum of a case (group or family index).
pub type StratumFn = fn(&Ctx, usize) -> u32;
/// Points at stake on a case.
pub type StakeFn = fn(&Ctx, usize) -> f64;
/// Why a case is evidence, with its numbers.
pub type WhyFn = fn(&Ctx, usize) -> String;
/// Extra reason text for a hospital from its measure and evidence cases.
pub type DetailFn = fn(&Ctx, u32, &[usize]) -> String;

/// A rate indirectly standardised by stratum: for each eligible audited case, the chance of
/// the outcome among same-level peers in the same stratum (hospital left out). Strata whose
/// same-level peers have fewer than `MIN_PEER_CASES` cases use all levels' peers; strata no
/// peer has are left out and counted (`no_peer_cases`).
pub struct BinaryIndicator {
    /// Description.
    pub spec: IndicatorSpec,
    /// Which audited cases form the denominator.
    pub eligible: CaseFn,
    /// The numerator event.
    pub outcome: CaseFn,
    /// The comparison stratum (group or family).
    pub stratum: StratumFn,
    /// Evidence cases for `cases_for_review.csv`; `None` = eligible and outcome.
    pub lead: Option<CaseFn>,
    /// Points at stake on an evidence case.
    pub stake: StakeFn,
    /// Extra reason text.
    pub detail: Option<DetailFn>,
    /// Why a case is evidence.
    pub why: WhyFn,
}

/// Same-level peers need this many cases in a stratum before their rate is used alone.
pub const MIN_PEER_CASES: f64 = 10.0;

/// The peers' rate for hospital `h`'s cases `own` in stratum `s` and period `p`: same-level
/// peers when they have [`MIN_PEER_CASES`], else all levels; the hospital's own cases taken
/// out when they are part of the sums. `None` when no peer has the stratum.
fn peer_rate(
    ctx: &Ctx,
    table: &PeerTable,
    all: &FxHashMap<(u32, u8), Sums>,
    (h, s, p): (u32, u32, u8),
    own: &Sums,
) -> Option<f64> {
    let pp = ctx.peers.period(p);
    let mut lvl = table.get((ctx.hospital_level[h as usize], s, pp));
    let mut al = all.get(&(s, pp)).copied().unwrap_or_default();
    if ctx.peers.own_included(h) && pp == p {
        lvl = lvl.minus(own);
        al = al.minus(own);
    }
    if lvl.n >= MIN_PEER_CASES {
        Some(lvl.x / lvl.n)
    } else if al.n > 0.0 {
        Some(al.x / al.n)
    } else {
        None
    }
}

impl BinaryIndicator {
    fn is_lead(&self, ctx: &Ctx, i: usize) -> bool {
        match self.lead {
            Some(f) => f(ctx, i),
            None => (self.eligible)(ctx, i) && (self.outcome)(ctx, i),
        }
    }
}

impl Indicator for BinaryIndicator {
    fn spec(&self) -> &IndicatorSpec {
        &self.spec
    }

    fn measure(&self, ctx: &Ctx) -> Measured {
        let nh = ctx.n_hospitals();
        let mut own: FxHashMap<(u32, u32, u8), Sums> = FxHashMap::default();
        let mut out = vec![Measure::default(); nh];
        let mut evidence: Vec<Vec<usize>> = vec![Vec::new(); nh];
        for i in 0..ctx.cases.len() {
            if !ctx.audited(i) {
                continue;
            }
            let h = ctx.hospital(i);
            if self.is_lead(ctx, i) {
                let m = &mut out[h as usize];
                m.stake_sum += (self.stake)(ctx, i);
                m.stake_cases += 1.0;
                if self.detail.is_some() {
                    evidence[h as usize].push(i);
                }
            }
            if !(self.eligible)(ctx, i) {
                continue;
            }
            let s = (self.stratum)(ctx, i);
            let x = if (self.outcome)(ctx, i) { 1.0 } else { 0.0 };
            own.entry((h, s, 1)).or_default().add(x);
        }
        let mut keys: Vec<_> = own.into_iter().collect();
        // Sum in a fixed order so floating-point totals are identical run to run.
        keys.sort_unstable_by_key(|(k, _)| *k);
        let table = peers::resolve(&ctx.peers, self.spec.code, &keys, |h| {
            ctx.hospital_level[h as usize]
        });
        let all = table.all_levels();
        for ((h, s, _), c) in keys {
            let Some(p) = peer_rate(ctx, &table, &all, (h, s, 1), &c) else {
                out[h as usize].no_peer_cases += c.n;
                continue;
            };
            let m = &mut out[h as usize];
            m.n += c.n;
            m.o += c.x;
            m.e += c.n * p;
            m.v += c.n * p * (1.0 - p);
        }
        if let Some(detail) = self.detail {
            for (h, m) in out.iter_mut().enumerate() {
                if m.n > 0.0 {
                    m.detail = detail(ctx, h as u32, &evidence[h]);
                }
            }
        }
        Measured {
            measures: out,
            table: peers::region_table(table),
        }
    }

    fn case_lead(&self, ctx: &Ctx, i: usize) -> Option<f64> {
        self.is_lead(ctx, i).then(|| (self.stake)(ctx, i))
    }

    fn case_reason(&self, ctx: &Ctx, i: usize) -> String {
        (self.why)(ctx, i)
    }
}

/// A change against the hospital's own baseline, net of the peers' change and of its own
/// case-mix change: in each period the hospital's count is standardised against same-level
/// peers in the same strata (O/E per period); the expected audited count keeps the
/// baseline's O/E: E = E_audited × O_baseline / E_baseline.
pub struct ChangeIndicator {
    /// Description.
    pub spec: IndicatorSpec,
    /// Which cases (either period) form the denominator.
    pub eligible: CaseFn,
    /// The event whose share is followed over time.
    pub outcome: CaseFn,
    /// The comparison stratum (group or family).
    pub stratum: StratumFn,
    /// Points at stake on an evidence case (audited, eligible, outcome).
    pub stake: StakeFn,
    /// Extra reason text for a hospital (by index).
    pub extra: Option<fn(&Ctx, usize) -> String>,
    /// Why a case is evidence.
    pub why: WhyFn,
}

/// Own baseline needs this many eligible cases before a change is measured.
pub const MIN_BASELINE_CASES: f64 = 20.0;

/// Observed, expected and variance of one hospital in one period.
#[derive(Default, Clone, Copy)]
struct Ove {
    n: f64,
    o: f64,
    e: f64,
    v: f64,
}

impl Indicator for ChangeIndicator {
    fn spec(&self) -> &IndicatorSpec {
        &self.spec
    }

    fn measure(&self, ctx: &Ctx) -> Measured {
        let nh = ctx.n_hospitals();
        // Keys carry the period (0 baseline, 1 audited).
        let mut own: FxHashMap<(u32, u32, u8), Sums> = FxHashMap::default();
        let mut stake = vec![(0.0, 0.0); nh];
        for i in 0..ctx.cases.len() {
            let period = if ctx.audited(i) {
                1
            } else if ctx.baseline(i) {
                0
            } else {
                continue;
            };
            if !(self.eligible)(ctx, i) {
                continue;
            }
            let h = ctx.hospital(i);
            let s = (self.stratum)(ctx, i);
            let hit = (self.outcome)(ctx, i);
            own.entry((h, s, period))
                .or_default()
                .add(if hit { 1.0 } else { 0.0 });
            if hit && period == 1 {
                stake[h as usize].0 += (self.stake)(ctx, i);
                stake[h as usize].1 += 1.0;
            }
        }
        let mut per = vec![[Ove::default(); 2]; nh];
        let mut keys: Vec<_> = own.into_iter().collect();
        keys.sort_unstable_by_key(|(k, _)| *k);
        let table = peers::resolve(&ctx.peers, self.spec.code, &keys, |h| {
            ctx.hospital_level[h as usize]
        });
        let all = table.all_levels();
        for ((h, s, p), c) in keys {
            let Some(rate) = peer_rate(ctx, &table, &all, (h, s, p), &c) else {
                continue;
            };
            let o = &mut per[h as usize][p as usize];
            o.n += c.n;
            o.o += c.x;
            o.e += c.n * rate;
            o.v += c.n * rate * (1.0 - rate);
        }
        let measures = (0..nh)
            .map(|h| {
                let [b, a] = per[h];
                if a.n < 1.0 || b.n < MIN_BASELINE_CASES || b.e <= 0.0 || a.e <= 0.0 {
                    return Measure::default();
                }
                // Half an event added to the baseline so a zero baseline is not a zero forever.
                let base_ratio = (b.o + 0.5) / (b.e + 0.5);
                let e = a.e * base_ratio;
                Measure {
                    n: a.n,
                    o: a.o,
                    e,
                    v: a.v * base_ratio * base_ratio
                        + e * e * (b.v.max(0.25) / (b.e + 0.5).powi(2)),
                    stake_sum: stake[h].0,
                    stake_cases: stake[h].1,
                    no_peer_cases: 0.0,
                    detail: say!(
                        ctx,
                        "本院占比 {:.1}% → {:.1}%，相对同级 O/E {:.2} → {:.2}{}",
                        "own share {:.1}% → {:.1}%, O/E against same-level peers {:.2} → {:.2}{}",
                        100.0 * b.o / b.n,
                        100.0 * a.o / a.n,
                        b.o / b.e,
                        a.o / a.e,
                        self.extra
                            .map(|f| format!("; {}", f(ctx, h)))
                            .unwrap_or_default()
                    ),
                }
            })
            .collect();
        Measured {
            measures,
            table: peers::region_table(table),
        }
    }

    fn case_lead(&self, ctx: &Ctx, i: usize) -> Option<f64> {
        ((self.eligible)(ctx, i) && (self.outcome)(ctx, i)).then(|| (self.stake)(ctx, i))
    }

    fn case_reason(&self, ctx: &Ctx, i: usize) -> String {
        (self.why)(ctx, i)
    }
}
