//! Peer tables: the region's sums per (hospital level, stratum, period) that every
//! indicator's expected value is built from.
//!
//! `run` sums them from the region's cases; `check` reads them from the regional model
//! (`model.json`). Either way a hospital's own cases are taken out of the sums before its
//! expectation is formed — when they are part of them — so one code path judges a
//! hospital in `run` and in `check`, and the two agree.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Key of a peer table: (hospital level 0–3, stratum, period 0 baseline / 1 audited).
pub type PeerKey = (u8, u32, u8);

/// Level of a published peer row that pools the cells suppressed for privacy in its
/// (stratum, period): no hospital has this level, so it only enters the all-levels sums.
pub const POOLED_LEVEL: u8 = 4;

/// Count, sum and sum of squares of one quantity (for a binary outcome `x` is the number
/// of events and `xx` is unused).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Sums {
    /// Cases.
    pub n: f64,
    /// Σ x.
    pub x: f64,
    /// Σ x².
    pub xx: f64,
}

impl Sums {
    /// Adds one case with value `x`.
    pub fn add(&mut self, x: f64) {
        self.n += 1.0;
        self.x += x;
        self.xx += x * x;
    }

    /// Adds another set of sums.
    pub fn merge(&mut self, o: &Sums) {
        self.n += o.n;
        self.x += o.x;
        self.xx += o.xx;
    }

    /// These sums with `o` taken out.
    pub fn minus(&self, o: &Sums) -> Sums {
        Sums {
            n: self.n - o.n,
            x: self.x - o.x,
            xx: self.xx - o.xx,
        }
    }
}

/// One row of a peer table as stored in the model: `[level, stratum, period, n, x, xx]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PeerRow(pub u8, pub u32, pub u8, pub f64, pub f64, pub f64);

/// Sums by (level, stratum, period).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PeerTable {
    sums: FxHashMap<PeerKey, Sums>,
    /// Hospitals in each cell when the table was summed from their tallies (`run`); empty
    /// for a table read from a model.
    hospitals: FxHashMap<PeerKey, u32>,
}

/// What privacy suppression did to one peer table ([`PeerTable::published_rows`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Suppressed {
    /// Cells not published on their own (too small, or pooled with one that was).
    pub cells: u64,
    /// Pooled rows ([`POOLED_LEVEL`]) published in their place.
    pub pooled_rows: u64,
    /// (stratum, period) pairs whose pool was still too small: no row at all.
    pub withheld: u64,
}

impl PeerTable {
    /// Sums hospitals' own tallies into a table. `level` gives a hospital's level; the
    /// tallies are added in key order so the floating-point totals never depend on hashing.
    pub fn from_own(own: &[((u32, u32, u8), Sums)], level: impl Fn(u32) -> u8) -> PeerTable {
        let mut sorted: Vec<&((u32, u32, u8), Sums)> = own.iter().collect();
        sorted.sort_unstable_by_key(|(k, _)| *k);
        let mut sums: FxHashMap<PeerKey, Sums> = FxHashMap::default();
        let mut hospitals: FxHashMap<PeerKey, u32> = FxHashMap::default();
        for ((h, s, p), c) in sorted {
            let key = (level(*h), *s, *p);
            sums.entry(key).or_default().merge(c);
            // Each (hospital, stratum, period) tally appears once: one hospital more.
            *hospitals.entry(key).or_default() += 1;
        }
        PeerTable { sums, hospitals }
    }

    /// The sums of one cell (zero when absent).
    pub fn get(&self, key: PeerKey) -> Sums {
        self.sums.get(&key).copied().unwrap_or_default()
    }

    /// Sums over every level, by (stratum, period), added in level order.
    pub fn all_levels(&self) -> FxHashMap<(u32, u8), Sums> {
        // Added level by level within each (stratum, period).
        let mut by_sp: Vec<(u32, u8, u8)> =
            self.sums.keys().map(|(l, s, p)| (*s, *p, *l)).collect();
        by_sp.sort_unstable();
        let mut out: FxHashMap<(u32, u8), Sums> = FxHashMap::default();
        for (s, p, l) in by_sp {
            out.entry((s, p)).or_default().merge(&self.sums[&(l, s, p)]);
        }
        out
    }

    /// Rows sorted by key, for the model file.
    pub fn rows(&self) -> Vec<PeerRow> {
        let mut rows: Vec<PeerRow> = self
            .sums
            .iter()
            .map(|(&(l, s, p), c)| PeerRow(l, s, p, c.n, c.x, c.xx))
            .collect();
        rows.sort_unstable_by_key(|r| (r.0, r.1, r.2));
        rows
    }

    /// Rows to publish in a model, with privacy suppression: a cell of fewer than
    /// `min_hospitals` hospitals or `min_cases` cases is not published. The suppressed
    /// cells of one (stratum, period) are summed into one row of level [`POOLED_LEVEL`],
    /// so the all-levels sums (the fallback when same-level peers are too few) stay exact;
    /// when that pool is itself too small, the smallest published cells of the same
    /// (stratum, period) join it (otherwise the all-levels sum minus the published levels
    /// would give the small cells away), and a pool that is still too small with every
    /// cell in it is withheld. `0, 0` publishes every cell ([`PeerTable::rows`]).
    pub fn published_rows(&self, min_hospitals: u32, min_cases: f64) -> (Vec<PeerRow>, Suppressed) {
        let small = |n: f64, h: u32| h < min_hospitals || n < min_cases;
        // (level, sums, hospitals) of each cell, by (stratum, period).
        type Cell = (u8, Sums, u32);
        let mut by_sp: BTreeMap<(u32, u8), Vec<Cell>> = BTreeMap::new();
        for (&(l, s, p), c) in &self.sums {
            let h = self.hospitals.get(&(l, s, p)).copied().unwrap_or(0);
            by_sp.entry((s, p)).or_default().push((l, *c, h));
        }
        let mut rows = Vec::with_capacity(self.sums.len());
        let mut out = Suppressed::default();
        for ((s, p), mut cells) in by_sp {
            cells.sort_unstable_by_key(|c| c.0);
            let mut hidden: Vec<bool> = cells.iter().map(|c| small(c.1.n, c.2)).collect();
            let pool = |hidden: &[bool]| {
                let mut sums = Sums::default();
                let mut h = 0;
                for (c, _) in cells.iter().zip(hidden).filter(|(_, x)| **x) {
                    sums.merge(&c.1);
                    h += c.2;
                }
                (sums, h)
            };
            while hidden.contains(&true) {
                let (sums, h) = pool(&hidden);
                if !small(sums.n, h) {
                    break;
                }
                let next = (0..cells.len())
                    .filter(|&i| !hidden[i])
                    .min_by(|&a, &b| cells[a].1.n.total_cmp(&cells[b].1.n).then(a.cmp(&b)));
                match next {
                    Some(i) => hidden[i] = true,
                    None => break,
                }
            }
            for (c, _) in cells.iter().zip(&hidden).filter(|(_, x)| !**x) {
                rows.push(PeerRow(c.0, s, p, c.1.n, c.1.x, c.1.xx));
            }
            if hidden.contains(&true) {
                out.cells += hidden.iter().filter(|x| **x).count() as u64;
                let (sums, h) = pool(&hidden);
                if small(sums.n, h) {
                    out.withheld += 1;
                } else {
                    rows.push(PeerRow(POOLED_LEVEL, s, p, sums.n, sums.x, sums.xx));
                    out.pooled_rows += 1;
                }
            }
        }
        rows.sort_unstable_by_key(|r| (r.0, r.1, r.2));
        (rows, out)
    }

    /// A table from stored rows.
    pub fn from_rows(rows: &[PeerRow]) -> PeerTable {
        PeerTable {
            sums: rows
                .iter()
                .map(|r| {
                    (
                        (r.0, r.1, r.2),
                        Sums {
                            n: r.3,
                            x: r.4,
                            xx: r.5,
                        },
                    )
                })
                .collect(),
            hospitals: FxHashMap::default(),
        }
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.sums.len()
    }

    /// Whether the table has no cell.
    pub fn is_empty(&self) -> bool {
        self.sums.is_empty()
    }
}

/// The lever peer table a regional model publishes (`model.json` `levers`, model version
/// 4): what `check` needs to judge `UPC_LEVER_CODE`'s (hospital, code) pairs as `run`
/// does (`indicators::lever` builds and reads it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeverTable {
    /// Peer cells sorted by (level, family): level 0–3, or [`POOLED_LEVEL`] for the cells of
    /// one family suppressed for privacy, summed. A family's all-levels sums (the fallback
    /// under `indicators::lever::MIN_PEER_CLAIMS`) are the sums of all its rows.
    pub cells: Vec<LeverCell>,
    /// The region's between-hospital τ² of the lever pairs (Paule–Mandel on the ratio O/E,
    /// trimmed core of the pairs with at least one expected claim).
    pub tau2: f64,
    /// The p-values of every (hospital, code) pair of the region, ascending (the
    /// Benjamini–Hochberg step of `check`).
    pub p_values: Vec<f64>,
}

/// One (level, family) cell of the lever peer table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeverCell {
    /// Hospital level 0–3, or [`POOLED_LEVEL`].
    pub level: u8,
    /// Family (ADRG) index in the model's catalogue order.
    pub family: u32,
    /// Eligible claims (audited, severity 1 or 3, codes checked).
    pub claims: f64,
    /// Claims whose severity rests on the code alone, by code (codes with at least one).
    pub codes: BTreeMap<String, f64>,
}

/// Where an indicator's peers come from.
#[derive(Debug, Clone, Default)]
pub enum PeerSource<'a> {
    /// The region being analysed: every hospital is in the sums.
    #[default]
    Region,
    /// A published regional model (`check`).
    Published {
        /// Peer tables by indicator code.
        tables: &'a FxHashMap<String, PeerTable>,
        /// Per hospital index of the batch: whether its cases are already in the sums
        /// (the batch is the very data the model was built from).
        own_included: Vec<bool>,
        /// Whether the batch's periods are the model's; when not, the model's audited
        /// period stands for both of the batch's periods (peers' change is unknown).
        same_periods: bool,
        /// The model's lever peer table (`UPC_LEVER_CODE` pairs), with the region's τ² and
        /// p-values of the pairs.
        levers: &'a LeverTable,
    },
}

impl PeerSource<'_> {
    /// Whether hospital `h`'s own cases are part of the peer sums.
    pub fn own_included(&self, h: u32) -> bool {
        match self {
            PeerSource::Region => true,
            PeerSource::Published { own_included, .. } => {
                own_included.get(h as usize).copied().unwrap_or(false)
            }
        }
    }

    /// The published table of an indicator, if peers come from a model.
    pub fn published(&self, code: &str) -> Option<&PeerTable> {
        match self {
            PeerSource::Region => None,
            PeerSource::Published { tables, .. } => {
                static EMPTY: std::sync::OnceLock<PeerTable> = std::sync::OnceLock::new();
                Some(
                    tables
                        .get(code)
                        .unwrap_or_else(|| EMPTY.get_or_init(PeerTable::default)),
                )
            }
        }
    }

    /// The published lever table, if peers come from a model.
    pub fn lever_table(&self) -> Option<&LeverTable> {
        match self {
            PeerSource::Region => None,
            PeerSource::Published { levers, .. } => Some(levers),
        }
    }

    /// The peer period that stands for the batch's period `p`.
    pub fn period(&self, p: u8) -> u8 {
        match self {
            PeerSource::Published {
                same_periods: false,
                ..
            } => 1,
            _ => p,
        }
    }
}

/// The peer table an indicator compares with: the published one, else the sum of the
/// hospitals' own tallies. An owned table is the region's own (see [`region_table`]).
pub fn resolve<'t>(
    source: &'t PeerSource<'_>,
    code: &str,
    own: &[((u32, u32, u8), Sums)],
    level: impl Fn(u32) -> u8,
) -> Cow<'t, PeerTable> {
    match source.published(code) {
        Some(t) => Cow::Borrowed(t),
        None => Cow::Owned(PeerTable::from_own(own, level)),
    }
}

/// The table `run` publishes in the model: the region's own, `None` when it was borrowed
/// from a published model.
pub fn region_table(table: Cow<'_, PeerTable>) -> Option<PeerTable> {
    match table {
        Cow::Owned(t) => Some(t),
        Cow::Borrowed(_) => None,
    }
}

/// Serde for an `f64` that may be NaN: NaN is written as `null` and read back as NaN
/// (JSON has no NaN).
pub mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes NaN as `null`.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_none()
        } else {
            s.serialize_f64(*v)
        }
    }

    /// Reads `null` as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_sum_own_tallies_by_level_and_round_trip_through_rows() {
        let own = vec![
            (
                (0, 7, 1),
                Sums {
                    n: 10.0,
                    x: 2.0,
                    xx: 2.0,
                },
            ),
            (
                (1, 7, 1),
                Sums {
                    n: 5.0,
                    x: 1.0,
                    xx: 1.0,
                },
            ),
            (
                (2, 7, 1),
                Sums {
                    n: 4.0,
                    x: 4.0,
                    xx: 4.0,
                },
            ),
        ];
        // Hospitals 0 and 1 are level 3, hospital 2 level 2.
        let t = PeerTable::from_own(&own, |h| if h < 2 { 3 } else { 2 });
        assert_eq!(t.get((3, 7, 1)).n, 15.0);
        assert_eq!(t.get((3, 7, 1)).x, 3.0);
        assert_eq!(t.get((2, 7, 1)).x, 4.0);
        assert_eq!(t.get((1, 7, 1)), Sums::default());
        let all = t.all_levels();
        assert_eq!(all[&(7, 1)].n, 19.0);
        assert_eq!(all[&(7, 1)].x, 7.0);
        assert_eq!(PeerTable::from_rows(&t.rows()).rows(), t.rows());
        assert_eq!(
            t.published_rows(0, 0.0).0,
            t.rows(),
            "0, 0 publishes every cell"
        );
        // Leave-one-out: hospital 0's peers at level 3 are hospital 1 alone.
        let loo = t.get((3, 7, 1)).minus(&own[0].1);
        assert_eq!((loo.n, loo.x), (5.0, 1.0));
    }

    #[test]
    fn small_peer_cells_are_suppressed() {
        let s = |n: f64| Sums { n, x: 1.0, xx: 1.0 };
        // Stratum 7, audited: level 3 has two hospitals (too few), level 2 three hospitals
        // and 12 cases, level 1 three hospitals and 60 cases. Stratum 8: one hospital.
        let own = vec![
            ((0, 7, 1), s(10.0)),
            ((1, 7, 1), s(5.0)),
            ((2, 7, 1), s(4.0)),
            ((3, 7, 1), s(4.0)),
            ((4, 7, 1), s(4.0)),
            ((5, 7, 1), s(20.0)),
            ((6, 7, 1), s(20.0)),
            ((7, 7, 1), s(20.0)),
            ((0, 8, 1), s(30.0)),
        ];
        let level = |h: u32| match h {
            0 | 1 => 3,
            2..=4 => 2,
            _ => 1,
        };
        let t = PeerTable::from_own(&own, level);
        let (rows, sup) = t.published_rows(3, 11.0);
        // Level 3 alone would be a pool of two hospitals (the all-levels sum minus the
        // published levels would give it away): level 2, the smallest, joins it.
        assert_eq!(
            rows,
            vec![
                PeerRow(1, 7, 1, 60.0, 3.0, 3.0),
                PeerRow(POOLED_LEVEL, 7, 1, 27.0, 5.0, 5.0),
            ]
        );
        assert_eq!(
            sup,
            Suppressed {
                cells: 3,
                pooled_rows: 1,
                withheld: 1
            }
        );
        // What `check` reads: no same-level cell at levels 2 and 3, exact all-levels sums.
        let published = PeerTable::from_rows(&rows);
        assert_eq!(published.get((3, 7, 1)), Sums::default());
        assert_eq!(published.get((2, 7, 1)), Sums::default());
        assert_eq!(published.all_levels()[&(7, 1)], t.all_levels()[&(7, 1)]);
        assert!(!published.all_levels().contains_key(&(8, 1)));
        // Thresholds of 0 publish everything.
        assert_eq!(t.published_rows(0, 0.0), (t.rows(), Suppressed::default()));
    }

    #[test]
    fn a_published_source_maps_new_periods_to_the_audited_one() {
        let tables = FxHashMap::default();
        let levers = LeverTable::default();
        let src = PeerSource::Published {
            tables: &tables,
            own_included: vec![true, false],
            same_periods: false,
            levers: &levers,
        };
        assert_eq!(src.period(0), 1);
        assert!(src.own_included(0));
        assert!(!src.own_included(1));
        assert!(!src.own_included(9));
        assert!(src.published("X").is_some_and(|t| t.is_empty()));
        assert!(PeerSource::Region.published("X").is_none());
        assert!(src.lever_table().is_some() && PeerSource::Region.lever_table().is_none());
        assert_eq!(PeerSource::Region.period(0), 0);
    }
}
