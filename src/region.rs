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
    /// Per group, a heavier group of its family whose lighter sibling it is (the first by
    /// catalogue order), if any: what a light case's cheapness is measured against.
    pub heavier_sibling: Vec<Option<u32>>,
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
    /// Per hospital, its cost level: the median of cost ÷ benchmark over its audited stays
    /// that ended normally (1 when it has none). A median, so that a share of cheap
    /// low-standard admissions or padded stays does not move it.
    pub cost_level: Vec<f64>,
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
        let mut heavier_sibling = vec![None; catalog.groups.len()];
        for g in 0..catalog.groups.len() as u32 {
            if let Some(s) = catalog.lower_sibling(g) {
                heavier_sibling[s as usize].get_or_insert(g);
            }
        }
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
        let cost_level = cost_levels(cases, derived);
        Region {
            cases,
            derived,
            catalog,
            config,
            cost_level,
            hospital_level,
            has_lower_sibling,
            heavier_sibling,
            multi_group_family,
            light_medical_group,
            volume,
            peers,
            peer_volume,
        }
    }

    /// Cost of case `i` divided by its hospital's [cost level](Region::cost_level): its
    /// cost as an average-cost hospital would have spent on it.
    pub fn cost_at_region_level(&self, i: usize) -> f64 {
        self.cases.cost[i] / self.cost_level[self.hospital(i) as usize]
    }

    /// Cost multiplier of case `i` divided by its hospital's cost level: the multiplier an
    /// average-cost hospital would have had on the stay.
    pub fn multiplier_at_region_level(&self, i: usize) -> f64 {
        self.derived.multiplier[i] / self.cost_level[self.hospital(i) as usize]
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

    /// The audited cases of every hospital (by hospital index), in case order.
    pub fn audited_by_hospital(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.n_hospitals()];
        for i in 0..self.cases.len() {
            if self.audited(i) {
                out[self.hospital(i) as usize].push(i);
            }
        }
        out
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

    /// Points case `i` claims above the group its codes support: the weight gap to the
    /// lighter group of its family whose severity the codes reach (down the lighter-sibling
    /// chain, stopping at the lightest group there is). 0 when the claim is supported.
    pub fn coding_stake(&self, i: usize) -> f64 {
        let supported = self.derived.coding.supported[i];
        if supported <= self.derived.severity[i] {
            return 0.0;
        }
        let mut g = self.cases.group[i];
        while self.catalog.groups[g as usize].severity < supported {
            match self.catalog.lower_sibling(g) {
                Some(s) => g = s,
                None => break,
            }
        }
        let gap = self.derived.weight[i] - self.catalog.groups[g as usize].weight;
        (gap * self.points_per_weight(i)).max(0.0)
    }

    /// Points case `i` claims above the group its main diagnosis leads to
    /// (`UPC_MAIN_DX_ADRG`): the weight gap to that group, 0 when the main diagnosis fits
    /// the claim or leads to no group of the catalogue.
    pub fn main_dx_stake(&self, i: usize) -> f64 {
        self.stake_above(i, self.derived.coding.main_dx_target.get(i))
    }

    /// Points case `i` claims above the lighter group a secondary diagnosis of it leads to
    /// as the main one (`UPC_MAIN_DX_CHOICE`), 0 when there is none.
    pub fn main_dx_choice_stake(&self, i: usize) -> f64 {
        self.stake_above(i, self.derived.coding.lighter_main.get(i))
    }

    /// Points case `i` claims above catalogue group `target` (0 for none or a heavier one).
    fn stake_above(&self, i: usize, target: Option<&u32>) -> f64 {
        match target {
            Some(&t) if t != NONE_U32 => {
                let gap = self.derived.weight[i] - self.catalog.groups[t as usize].weight;
                (gap * self.points_per_weight(i)).max(0.0)
            }
            _ => 0.0,
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

    /// Whether case `i` is an unplanned readmission to the same hospital within the window:
    /// linked to the patient's last earlier stay there (see `derive/readmission.rs`), no
    /// overlap, and no plan recorded at that earlier discharge. The flag (出院31天内再住院计划)
    /// is written when the patient leaves, so only the *earlier* stay's flag counts: one on
    /// the readmission itself would let a hospital excuse the second half of a split stay.
    pub fn unplanned_readmission(&self, i: usize) -> bool {
        self.readmission(i) && !self.cases.planned[self.derived.prev_stay[i] as usize]
    }

    /// Whether case `i` is a planned readmission to the same hospital within the window (the
    /// earlier stay was discharged with the 31-day plan flag).
    pub fn planned_readmission(&self, i: usize) -> bool {
        self.readmission(i) && self.cases.planned[self.derived.prev_stay[i] as usize]
    }

    /// Whether case `i` is a readmission to the same hospital within the window, planned
    /// or not.
    fn readmission(&self, i: usize) -> bool {
        self.derived
            .is_readmission(i, self.config.readmission.window_days)
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

/// Each hospital's median of cost ÷ benchmark over its audited stays that ended normally
/// (the order of the cases does not matter: a median of a multiset).
fn cost_levels(cases: &Cases, derived: &DerivedCases) -> Vec<f64> {
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); cases.hospitals.len()];
    for i in 0..cases.len() {
        if derived.period[i] != PeriodTag::Audited || matches!(cases.disposition[i], 2 | 4 | 5) {
            continue;
        }
        let b = derived.benchmarks.cost(cases.group[i], derived.level[i]);
        let r = cases.cost[i] / b;
        if b > 0.0 && r.is_finite() && r > 0.0 {
            ratios[cases.hospital[i] as usize].push(r);
        }
    }
    ratios
        .into_iter()
        .map(|mut v| median(&mut v).unwrap_or(1.0))
        .collect()
}

/// Median (mean of the two middle values for an even count); `None` when empty.
fn median(v: &mut [f64]) -> Option<f64> {
    let n = v.len();
    if n == 0 {
        return None;
    }
    let (_, hi, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    let hi = *hi;
    if n % 2 == 1 {
        return Some(hi);
    }
    let lo = v[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((lo + hi) / 2.0)
}

/// A tiny region read from CSV text, for the unit tests of the stages that read a
/// [`Region`] (readmission links here, the indicators' predicates).
#[cfg(test)]
pub(crate) mod testkit {
    use crate::catalog::Catalog;
    use crate::config::RegionConfig;
    use crate::derive::{self, DerivedCases};
    use crate::ingest::{self, Ingested};

    /// The owned parts of a fixture region.
    pub struct Fixture {
        /// Ingested cases.
        pub ingested: Ingested,
        /// Derived fields.
        pub derived: DerivedCases,
        /// Catalogue: ES31/ES33/ES35 (one family by severity), RE11/RE15 (chemotherapy).
        pub catalog: Catalog,
        /// DRG defaults (15-day readmission window).
        pub config: RegionConfig,
    }

    impl Fixture {
        /// The region judged against itself.
        pub fn region(&self) -> super::Region<'_> {
            super::Region::new(
                &self.ingested.cases,
                &self.derived,
                &self.catalog,
                &self.config,
            )
        }
        /// Index of the case with this `case_id`.
        pub fn case(&self, id: &str) -> usize {
            let c = &self.ingested.cases.case_id;
            (0..self.ingested.cases.len())
                .find(|&i| c.get(i) == id)
                .unwrap_or_else(|| panic!("no case {id}"))
        }
        /// Index of the hospital with this `hospital_id`.
        pub fn hospital(&self, id: &str) -> u32 {
            let h = &self.ingested.cases.hospitals;
            h.iter()
                .position(|h| h.id == id)
                .unwrap_or_else(|| panic!("no hospital {id}")) as u32
        }
    }

    /// The favourite-lever-code region (issue 11): hospital `H{k}` has level `levels[k-1]`
    /// and 80 stays of one family (ES3), coding its CC claims (ES33) with five CC codes in
    /// turn; H8 rests four in five of its claims on G80.000 alone. Every fourth stay is an
    /// uncomplicated ES35 claim (no CC needed).
    pub fn favourite_code_csv(levels: &[u8]) -> String {
        const CODES: [&str; 5] = ["G80.000", "G31.001", "C43.500", "C46.000", "C79.200"];
        let mut csv = String::from(
            "case_id,hospital_id,hospital_level,patient_id,admit_date,discharge_date,group_code,total_cost,secondary_diagnoses\n",
        );
        let mut n = 0;
        for (h, level) in (1..).zip(levels) {
            for k in 0..80 {
                n += 1;
                let favourite = h == 8 && k % 5 != 0;
                let code = if favourite { CODES[0] } else { CODES[k % 5] };
                let (group, dx) = if k % 4 == 3 {
                    ("ES35", "")
                } else {
                    ("ES33", code)
                };
                csv.push_str(&format!(
                    "S{n},H{h},{level},P{n},2024-03-01,2024-03-05,{group},9000,{dx}\n"
                ));
            }
        }
        csv
    }

    /// Reads `csv` (header included) against the fixture catalogue.
    pub fn fixture(csv: &str) -> Fixture {
        let config = RegionConfig::default_drg();
        let catalog = crate::ingest::groups::test_catalog(
            &[
                ("ES31", "2.0", "ES3", "1"),
                ("ES33", "1.4", "ES3", "3"),
                ("ES35", "1.0", "ES3", "5"),
                ("RE11", "1.2", "RE1", "1"),
                ("RE15", "0.8", "RE1", "5"),
            ],
            &config,
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cases.csv");
        std::fs::write(&path, csv).expect("write fixture");
        let ingested = ingest::read_cases(&path, &catalog).expect("fixture reads");
        assert!(ingested.rejects.is_empty(), "{:?}", ingested.rejects);
        let derived = derive::derive(&ingested.cases, &catalog, &config).expect("derives");
        Fixture {
            ingested,
            derived,
            catalog,
            config,
        }
    }
}

#[cfg(test)]
mod readmission_tests {
    use super::testkit::fixture;

    const HEADER: &str = "case_id,hospital_id,hospital_level,patient_id,admit_date,discharge_date,group_code,total_cost,planned_readmission_31d\n";

    /// Issue 10, defect 8: the plan (出院31天内再住院计划) is recorded at the earlier
    /// discharge. A flag on the readmission itself must not excuse it, or a hospital erases
    /// its split stays by flagging their second halves.
    #[test]
    fn issue10_8_planned_flag_is_read_on_the_earlier_stay() {
        let f = fixture(&format!(
            "{HEADER}\
             A1,H1,3,P1,2024-03-01,2024-03-05,ES35,5000,1\n\
             A2,H1,3,P1,2024-03-10,2024-03-12,ES35,5000,0\n\
             B1,H1,3,P2,2024-03-01,2024-03-05,ES35,5000,0\n\
             B2,H1,3,P2,2024-03-10,2024-03-12,ES35,5000,1\n"
        ));
        let r = f.region();
        let (a2, b2) = (f.case("A2"), f.case("B2"));
        assert!(
            !r.unplanned_readmission(a2) && r.planned_readmission(a2),
            "planned at the first discharge"
        );
        assert!(
            r.unplanned_readmission(b2) && !r.planned_readmission(b2),
            "flagged only on the readmission: still unplanned"
        );
    }

    /// Issue 10, defect 9: A → B → A within the window. The split-stay indicator asks
    /// whether hospital A billed one episode twice, so A's second stay links to A's first
    /// stay even though the patient was at B in between.
    #[test]
    fn issue10_9_readmission_after_a_stay_elsewhere_links_to_the_same_hospital() {
        let f = fixture(&format!(
            "{HEADER}\
             A1,H1,3,P1,2024-03-01,2024-03-05,ES35,5000,0\n\
             B1,H2,2,P1,2024-03-06,2024-03-08,ES35,5000,0\n\
             A2,H1,3,P1,2024-03-10,2024-03-12,ES35,5000,0\n"
        ));
        let r = f.region();
        let (a1, a2, b1) = (f.case("A1"), f.case("A2"), f.case("B1"));
        assert!(
            r.unplanned_readmission(a2),
            "A2 readmits to H1 5 days after A1"
        );
        assert_eq!(f.derived.prev_stay[a2] as usize, a1);
        assert_eq!(f.derived.days_since_prev[a2], 5);
        assert!(!r.unplanned_readmission(b1), "B1 is H2's first stay");
    }

    /// Issue 10, defect 9: a stay admitted before the patient's previous discharge is an
    /// overlap (a data error, or two hospitals billing one patient at once), not a 0–1 day
    /// readmission.
    #[test]
    fn issue10_9_overlapping_stays_are_not_readmissions() {
        let f = fixture(&format!(
            "{HEADER}\
             A1,H1,3,P1,2024-03-01,2024-03-10,ES35,5000,0\n\
             A2,H1,3,P1,2024-03-05,2024-03-12,ES35,5000,0\n\
             C1,H1,3,P2,2024-03-01,2024-03-20,ES35,5000,0\n\
             C2,H2,2,P2,2024-03-02,2024-03-04,ES35,5000,0\n\
             C3,H1,3,P2,2024-03-06,2024-03-08,ES35,5000,0\n\
             D1,H1,3,P3,2024-03-01,2024-03-05,ES35,5000,0\n\
             D2,H1,3,P3,2024-03-05,2024-03-07,ES35,5000,0\n"
        ));
        let r = f.region();
        for id in ["A2", "C3"] {
            assert!(
                !r.unplanned_readmission(f.case(id)),
                "{id} overlaps an earlier stay"
            );
        }
        assert!(
            r.unplanned_readmission(f.case("D2")),
            "admitted on the day of discharge: a 0-day readmission, not an overlap"
        );
    }
}
