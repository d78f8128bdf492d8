//! The analysed region: the cases, their derived fields, the catalogue, the configuration,
//! and a few per-hospital and per-group facts computed once. Built once (by `run` from the
//! region itself, by `check` against a published model), then read by every later stage —
//! the clustering stage, the indicators, compare, rank, leads and the report — and written
//! by none. It sits below all of them, so none of them needs another's types to read it.

use crate::catalog::Catalog;
use crate::config::{RegionConfig, Scheme};
use crate::derive::DerivedCases;
use crate::ingest::{Cases, NONE_U32};
use crate::peers::PeerSource;
use crate::period::PeriodTag;

/// Read-only view of the analysed region.
pub struct Region<'a> {
    /// Ingested cases.
    pub cases: &'a Cases,
    /// Derived fields.
    pub derived: &'a DerivedCases,
    /// Catalogue.
    pub catalog: &'a Catalog,
    /// Configuration.
    pub config: &'a RegionConfig,
    /// Peer-group level of each hospital (0 = unknown).
    pub hospital_level: Vec<u8>,
    /// Groups a case could be "upcoded" from: the group has a lighter sibling in its family.
    pub has_lower_sibling: Vec<bool>,
    /// Families with more than one group (where coding choice moves weight).
    pub multi_group_family: Vec<bool>,
    /// Light medical groups (low-standard admissions land there).
    pub light_medical_group: Vec<bool>,
    /// Per hospital, per period (0 baseline, 1 audited): (stays, points).
    pub volume: Vec<[(f64, f64); 2]>,
    /// Where peers' rates come from: the region itself (`run`) or a published model (`check`).
    pub peers: PeerSource<'a>,
    /// Same-level peers' (stays, points) per period when they come from a model, by level.
    pub peer_volume: Option<[[(f64, f64); 2]; 4]>,
}

/// What a published regional model fixes in place of the region's own facts (`check`).
pub struct PublishedPeers<'a> {
    /// The model's light medical groups, by group index of this catalogue.
    pub light_medical_group: Vec<bool>,
    /// The model's peer tables, and which hospitals' own cases are in them.
    pub peers: PeerSource<'a>,
    /// Same-level peers' (stays, points) per period, by level (zeros read as "n/a").
    pub peer_volume: [[(f64, f64); 2]; 4],
}

impl<'a> Region<'a> {
    /// The region judged against itself (`run`).
    pub fn new(
        cases: &'a Cases,
        derived: &'a DerivedCases,
        catalog: &'a Catalog,
        config: &'a RegionConfig,
    ) -> Self {
        Self::build(cases, derived, catalog, config, None)
    }

    /// The region judged against a published model's peers (`check`).
    pub fn against(
        cases: &'a Cases,
        derived: &'a DerivedCases,
        catalog: &'a Catalog,
        config: &'a RegionConfig,
        published: PublishedPeers<'a>,
    ) -> Self {
        Self::build(cases, derived, catalog, config, Some(published))
    }

    fn build(
        cases: &'a Cases,
        derived: &'a DerivedCases,
        catalog: &'a Catalog,
        config: &'a RegionConfig,
        published: Option<PublishedPeers<'a>>,
    ) -> Self {
        let hospital_level = cases
            .hospitals
            .iter()
            .map(|h| h.level.unwrap_or(0))
            .collect();
        let has_lower_sibling = (0..catalog.groups.len() as u32)
            .map(|g| catalog.lower_sibling(g).is_some())
            .collect();
        let mut family_size = vec![0usize; catalog.families.len()];
        for g in &catalog.groups {
            family_size[g.family as usize] += 1;
        }
        let multi_group_family = family_size.iter().map(|n| *n > 1).collect();
        let (light_medical_group, peers, peer_volume) = match published {
            Some(p) => (p.light_medical_group, p.peers, Some(p.peer_volume)),
            None => (
                light_medical_groups(catalog, config, cases, derived),
                PeerSource::Region,
                None,
            ),
        };
        let mut volume = vec![[(0.0, 0.0); 2]; cases.hospitals.len()];
        for i in 0..cases.len() {
            let p = match derived.period[i] {
                PeriodTag::Baseline => 0,
                PeriodTag::Audited => 1,
                PeriodTag::Outside => continue,
            };
            let v = &mut volume[cases.hospital[i] as usize][p];
            v.0 += 1.0;
            v.1 += derived.points[i];
        }
        Region {
            cases,
            derived,
            catalog,
            config,
            hospital_level,
            has_lower_sibling,
            multi_group_family,
            light_medical_group,
            volume,
            peers,
            peer_volume,
        }
    }

    /// Whether case `i` is in the audited period.
    pub fn audited(&self, i: usize) -> bool {
        self.derived.period[i] == PeriodTag::Audited
    }

    /// Whether case `i` is in the baseline period.
    pub fn baseline(&self, i: usize) -> bool {
        self.derived.period[i] == PeriodTag::Baseline
    }

    /// Hospital index of case `i`.
    pub fn hospital(&self, i: usize) -> u32 {
        self.cases.hospital[i]
    }

    /// Whether stay `i` ended early for a reason of its own: a transfer (disposition 2),
    /// a discharge against medical advice (4) or a death (5). Its short stay or low cost
    /// says nothing about coding or admission policy, so the shortness, cheapness and
    /// low-multiplier indicators leave it out of numerator and denominator alike.
    pub fn early_exit(&self, i: usize) -> bool {
        matches!(self.cases.disposition[i], 2 | 4 | 5)
    }

    /// Number of hospitals.
    pub fn n_hospitals(&self) -> usize {
        self.cases.hospitals.len()
    }

    /// Base points per unit of weight at case `i`'s hospital (per-weight × level coefficient).
    pub fn points_per_weight(&self, i: usize) -> f64 {
        let level = self.cases.hospitals[self.cases.hospital[i] as usize].level;
        self.config.points.per_weight * self.config.points.level_coefficient.for_level(level)
    }

    /// Base points of case `i`.
    pub fn base_points(&self, i: usize) -> f64 {
        self.derived.weight[i] * self.points_per_weight(i)
    }

    /// Points case `i` would have earned in its group's lighter sibling (same band rules
    /// simplified to the sibling's base points) — the stake of a suspected upcoding.
    pub fn upcoding_stake(&self, i: usize) -> f64 {
        let g = self.cases.group[i];
        match self.catalog.lower_sibling(g) {
            Some(s) => {
                let gap = self.derived.weight[i] - self.catalog.groups[s as usize].weight;
                (gap * self.points_per_weight(i)).max(0.0)
            }
            None => 0.0,
        }
    }

    /// Same-level peers' (stays, points) per period, hospital `h` left out.
    pub fn peer_growth_base(&self, h: usize, lv: u8) -> [(f64, f64); 2] {
        let mut peers = [(0.0, 0.0); 2];
        if let Some(published) = &self.peer_volume {
            peers = published[lv as usize];
            if self.peers.own_included(h as u32) {
                for (p, own) in peers.iter_mut().zip(self.volume[h]) {
                    p.0 -= own.0;
                    p.1 -= own.1;
                }
            }
            return peers;
        }
        for (k, v) in self.volume.iter().enumerate() {
            if k != h && self.hospital_level[k] == lv {
                for p in 0..2 {
                    peers[p].0 += v[p].0;
                    peers[p].1 += v[p].1;
                }
            }
        }
        peers
    }

    /// Same-level totals of (stays, points) per period, by level (published in the model).
    pub fn volume_by_level(&self) -> [[(f64, f64); 2]; 4] {
        let mut out = [[(0.0, 0.0); 2]; 4];
        for (k, v) in self.volume.iter().enumerate() {
            let lv = self.hospital_level[k] as usize;
            for p in 0..2 {
                out[lv][p].0 += v[p].0;
                out[lv][p].1 += v[p].1;
            }
        }
        out
    }

    /// Whether case `i` is an unplanned readmission to the same hospital within the window.
    pub fn unplanned_readmission(&self, i: usize) -> bool {
        let p = self.derived.prev_stay[i];
        p != NONE_U32
            && self
                .derived
                .is_readmission(self.cases, i, self.config.readmission.window_days)
            && !self.cases.planned[p as usize]
            && !self.cases.planned[i]
    }

    /// Whether case `i` is a planned readmission to the same hospital within the window.
    pub fn planned_readmission(&self, i: usize) -> bool {
        let p = self.derived.prev_stay[i];
        p != NONE_U32
            && self
                .derived
                .is_readmission(self.cases, i, self.config.readmission.window_days)
            && (self.cases.planned[p as usize] || self.cases.planned[i])
    }
}

/// Light medical groups: medical (DRG: ADRG second letter R–Z; DIP: the lightest group of a
/// family, i.e. conservative treatment) and weight at or below the 30th percentile of
/// audited case weights.
fn light_medical_groups(
    catalog: &Catalog,
    config: &RegionConfig,
    cases: &Cases,
    derived: &DerivedCases,
) -> Vec<bool> {
    let mut weights: Vec<f64> = (0..cases.len())
        .filter(|&i| derived.period[i] == PeriodTag::Audited)
        .map(|i| derived.weight[i])
        .collect();
    weights.sort_by(f64::total_cmp);
    let cut = if weights.is_empty() {
        0.0
    } else {
        weights[(weights.len() * 3 / 10).min(weights.len() - 1)]
    };
    let mut lightest = vec![f64::INFINITY; catalog.families.len()];
    for g in &catalog.groups {
        let l = &mut lightest[g.family as usize];
        *l = l.min(g.weight);
    }
    catalog
        .groups
        .iter()
        .map(|g| {
            let medical = match config.scheme {
                Scheme::Drg => g
                    .code
                    .chars()
                    .nth(1)
                    .is_some_and(|c| ('R'..='Z').contains(&c)),
                Scheme::Dip => g.weight <= lightest[g.family as usize],
            };
            medical && g.weight <= cut
        })
        .collect()
}
