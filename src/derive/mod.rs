//! Derived case fields, computed once: period, benchmark, multiplier, band, points, LOS
//! ratio, family, severity, CC/MCC counts and readmission links.
//!
//! Formulas (both presets share them; the numbers come from [`RegionConfig`]):
//! - multiplier = total cost / benchmark cost of the case's group at its hospital's level;
//! - band: low if multiplier < `multiplier.low`; high if multiplier ≥ the high threshold for
//!   the group's weight; extreme (expert review) if `extreme` > 0 and multiplier > extreme;
//! - base points = weight × `points.per_weight` × level coefficient;
//! - points: normal = base; low = base × multiplier; high and extreme =
//!   base × (1 + multiplier − threshold) (DIP: score × (ratio − 2 + 1); DRG: base + base ×
//!   (ratio − threshold)).

use rayon::prelude::*;
use serde::Serialize;

use crate::catalog::Catalog;
use crate::config::RegionConfig;
use crate::error::Result;
use crate::ingest::{Cases, NONE_U32};
use crate::period::{self, PeriodTag, Periods};
use crate::reference;

mod benchmark;
pub mod coding;
mod readmission;
pub mod threshold;
pub use benchmark::{BenchmarkSource, Benchmarks};
pub use readmission::{
    CYCLE_ADRGS, CYCLE_DIAGNOSES, Links, is_cycle_diagnosis, is_cycle_family, link_readmissions,
};

/// Multiplier band (倍率区间).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    /// Below the low threshold (低倍率).
    Low,
    /// Between the thresholds.
    Normal,
    /// At or above the high threshold (高倍率).
    High,
    /// Above the expert-review ratio (特病单议).
    Extreme,
}

impl Band {
    /// All bands in order.
    pub const ALL: [Band; 4] = [Band::Low, Band::Normal, Band::High, Band::Extreme];
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Low => "low",
            Band::Normal => "normal",
            Band::High => "high",
            Band::Extreme => "extreme",
        }
    }
}

/// Where the point value comes from.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct PointValue {
    /// Yuan per point.
    pub yuan_per_point: f64,
    /// `configured`, `budget` (budget / total points) or `derived` (total cost / total points).
    pub source: String,
    /// Total points of the audited period.
    pub total_points: f64,
}

/// Per-case derived fields, aligned with [`Cases`].
#[derive(Debug, Clone)]
pub struct DerivedCases {
    /// The periods chosen.
    pub periods: Periods,
    /// Period of each case.
    pub period: Vec<PeriodTag>,
    /// Peer-group level index of each case (0 = unknown level, else 1/2/3).
    pub level: Vec<u8>,
    /// Family index (catalogue families).
    pub family: Vec<u32>,
    /// Severity (1/3/5/9/0).
    pub severity: Vec<u8>,
    /// Group weight.
    pub weight: Vec<f64>,
    /// cost / benchmark cost.
    pub multiplier: Vec<f64>,
    /// Multiplier band.
    pub band: Vec<Band>,
    /// Points under the configured scheme.
    pub points: Vec<f64>,
    /// LOS / benchmark LOS.
    pub los_ratio: Vec<f64>,
    /// Number of secondary diagnosis codes, as coded.
    pub n_secondary: Vec<u16>,
    /// The same patient's most recent earlier stay at the same hospital, [`NONE_U32`] if
    /// none (an intervening stay elsewhere does not break the link: see `readmission.rs`).
    pub prev_stay: Vec<u32>,
    /// Days from that stay's discharge to this admission (`i32::MAX` if none).
    pub days_since_prev: Vec<i32>,
    /// The same patient's earlier stay (any hospital) still open at this admission,
    /// [`NONE_U32`] if none: an overlap, left out of the readmission indicators.
    pub overlapped: Vec<u32>,
    /// Treatment-cycle stays (chemotherapy/radiotherapy families or a Z51.0–Z51.2 main
    /// diagnosis), where a planned-readmission flag is expected.
    pub treatment_cycle: Vec<bool>,
    /// Benchmarks used.
    pub benchmarks: Benchmarks,
    /// The point value.
    pub point_value: PointValue,
    /// Secondary codes not in the ICD-10 dictionary (distinct codes).
    pub unknown_codes: usize,
    /// The severity each case's codes support, and the code a claim rests on.
    pub coding: coding::CodingSupport,
    /// The low-multiplier threshold found in the data (or the regional model's).
    pub low_threshold: threshold::LowThresholdScan,
}

impl DerivedCases {
    /// Number of cases.
    pub fn len(&self) -> usize {
        self.band.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.band.is_empty()
    }
    /// Whether case `i` was admitted within `window` days of the same patient's discharge from
    /// the same hospital, without overlapping any earlier stay of the patient.
    pub fn is_readmission(&self, i: usize, window: u32) -> bool {
        self.prev_stay[i] != NONE_U32
            && self.overlapped[i] == NONE_U32
            && (0..=window as i32).contains(&self.days_since_prev[i])
    }
    /// Whether case `i` overlaps an earlier stay of the same patient.
    pub fn is_overlap(&self, i: usize) -> bool {
        self.overlapped[i] != NONE_U32
    }
}

/// Level index for peer grouping (0 = unknown).
pub fn level_index(level: Option<u8>) -> u8 {
    level.unwrap_or(0)
}

/// Benchmarks and point value given from outside (a published regional model) instead of
/// derived from the cases.
#[derive(Debug, Clone, Copy)]
pub struct Fixed<'a> {
    /// Benchmarks by group and level.
    pub benchmarks: &'a Benchmarks,
    /// Yuan per point.
    pub point_value: &'a PointValue,
    /// The low threshold the region's data showed (`None`: a model that predates the
    /// scan; only the configured threshold is tested).
    pub low_threshold: Option<&'a threshold::LowThresholdScan>,
}

/// Computes every derived field.
pub fn derive(cases: &Cases, catalog: &Catalog, config: &RegionConfig) -> Result<DerivedCases> {
    derive_with(cases, catalog, config, None)
}

/// [`derive`] with benchmarks and point value fixed by a regional model.
pub fn derive_with(
    cases: &Cases,
    catalog: &Catalog,
    config: &RegionConfig,
    fixed: Option<Fixed>,
) -> Result<DerivedCases> {
    let periods = period::choose(&cases.discharge, config.periods.audited.as_deref())?;
    period::require_audited_stays(&periods, &cases.discharge)?;
    let n = cases.len();
    let period: Vec<PeriodTag> = cases
        .discharge
        .par_iter()
        .map(|d| periods.tag(*d))
        .collect();
    let level: Vec<u8> = cases
        .hospital
        .iter()
        .map(|h| level_index(cases.hospitals[*h as usize].level))
        .collect();
    let groups = &catalog.groups;
    let family: Vec<u32> = cases
        .group
        .iter()
        .map(|g| groups[*g as usize].family)
        .collect();
    let severity: Vec<u8> = cases
        .group
        .iter()
        .map(|g| groups[*g as usize].severity)
        .collect();
    let weight: Vec<f64> = cases
        .group
        .iter()
        .map(|g| groups[*g as usize].weight)
        .collect();
    let benchmarks = match fixed {
        Some(f) => f.benchmarks.clone(),
        None => Benchmarks::compute(cases, catalog, &period, &level, config.benchmark.min_cases),
    };

    let rules = &config.multiplier;
    let coef = &config.points.level_coefficient;
    let mut multiplier = vec![0.0; n];
    let mut band = vec![Band::Normal; n];
    let mut points = vec![0.0; n];
    let mut los_ratio = vec![0.0; n];
    multiplier
        .par_iter_mut()
        .zip(band.par_iter_mut())
        .zip(points.par_iter_mut())
        .zip(los_ratio.par_iter_mut())
        .enumerate()
        .for_each(|(i, (((m, b), p), lr))| {
            let g = cases.group[i];
            let lv = level[i];
            let bench = benchmarks.cost(g, lv);
            *m = if bench > 0.0 {
                cases.cost[i] / bench
            } else {
                1.0
            };
            let w = weight[i];
            let threshold = rules.high_threshold(w);
            *b = band_of(*m, rules.low, threshold, rules.extreme);
            let base = w
                * config.points.per_weight
                * coef.for_level(cases.hospitals[cases.hospital[i] as usize].level);
            *p = points_of(base, *m, *b, threshold);
            let bl = benchmarks.los(g, lv);
            *lr = if bl > 0.0 {
                cases.los[i] as f64 / bl
            } else {
                1.0
            };
        });

    let (n_secondary, unknown_codes) = count_secondary(cases);
    let mut tr = crate::progress::Trace::new("derive");
    // Four independent serial passes over the cases (40–55 ms each at 1 M stays), run side
    // by side; each gives what it gives alone.
    let diagnoses = coding::GroupDiagnoses::new(catalog, config.scheme);
    let ((mut coding, consistency), (lighter_main, links)) = rayon::join(
        || {
            rayon::join(
                || coding::coding_support(cases, &severity),
                || coding::main_dx_consistency(cases, catalog, &diagnoses),
            )
        },
        || {
            rayon::join(
                || coding::lighter_main_dx(cases, catalog, &diagnoses),
                || link_readmissions(cases),
            )
        },
    );
    (coding.main_dx, coding.main_dx_target) = consistency;
    coding.lighter_main = lighter_main;
    tr.mark("coding pass and readmission links");
    let Links {
        prev_stay,
        days_since_prev,
        overlapped,
    } = links;
    let treatment_cycle = readmission::treatment_cycle(cases, catalog, &family);
    let point_value = match fixed {
        Some(f) => f.point_value.clone(),
        None => point_value(config, &period, &points, &cases.cost),
    };
    let low_threshold = match fixed {
        Some(f) => threshold::LowThresholdScan::from_model(f.low_threshold, rules.low),
        None => threshold::scan_low(
            &multiplier,
            &period,
            rules.low,
            config.detect.bunching_width,
        ),
    };
    Ok(DerivedCases {
        low_threshold,
        periods,
        period,
        level,
        family,
        severity,
        weight,
        multiplier,
        band,
        points,
        los_ratio,
        n_secondary,
        prev_stay,
        days_since_prev,
        overlapped,
        treatment_cycle,
        benchmarks,
        point_value,
        unknown_codes,
        coding,
    })
}

/// The band of a multiplier.
pub fn band_of(multiplier: f64, low: f64, high: f64, extreme: f64) -> Band {
    if multiplier < low {
        Band::Low
    } else if extreme > 0.0 && multiplier > extreme {
        Band::Extreme
    } else if multiplier >= high {
        Band::High
    } else {
        Band::Normal
    }
}

/// Points of a case from its base points, multiplier and band.
pub fn points_of(base: f64, multiplier: f64, band: Band, high_threshold: f64) -> f64 {
    match band {
        Band::Low => base * multiplier,
        Band::Normal => base,
        Band::High | Band::Extreme => base * (1.0 + multiplier - high_threshold),
    }
}

/// Per case: secondary codes as coded (the clustering feature counts what the coder wrote);
/// and the number of distinct codes the dictionary does not know. What the codes support is
/// [`coding::coding_support`]'s, which counts each distinct code once.
fn count_secondary(cases: &Cases) -> (Vec<u16>, usize) {
    let unknown = cases
        .codes
        .codes
        .iter()
        .filter(|c| !reference::cc_flags(c).known)
        .count();
    let n_secondary = (0..cases.len())
        .map(|i| cases.secondary.of(i).len().min(u16::MAX as usize) as u16)
        .collect();
    (n_secondary, unknown)
}

fn point_value(
    config: &RegionConfig,
    period: &[PeriodTag],
    points: &[f64],
    cost: &[f64],
) -> PointValue {
    let (mut total_points, mut total_cost) = (0.0, 0.0);
    for i in 0..points.len() {
        if period[i] == PeriodTag::Audited {
            total_points += points[i];
            total_cost += cost[i];
        }
    }
    let pv = &config.point_value;
    let safe = |x: f64| {
        if total_points > 0.0 {
            x / total_points
        } else {
            0.0
        }
    };
    let (yuan_per_point, source) = match (pv.value_yuan, pv.budget_yuan) {
        (Some(v), _) => (v, "configured"),
        (None, Some(b)) => (safe(b), "budget"),
        (None, None) => (safe(total_cost), "derived"),
    };
    PointValue {
        yuan_per_point,
        source: source.into(),
        total_points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_the_thresholds() {
        // DRG preset: low 0.4, high 3.0 for RW <= 1.
        assert_eq!(band_of(0.39, 0.4, 3.0, 0.0), Band::Low);
        assert_eq!(band_of(0.4, 0.4, 3.0, 0.0), Band::Normal);
        assert_eq!(band_of(3.0, 0.4, 3.0, 0.0), Band::High);
        // DIP: above 5 goes to expert review.
        assert_eq!(band_of(5.1, 0.5, 2.0, 5.0), Band::Extreme);
        assert_eq!(band_of(4.9, 0.5, 2.0, 5.0), Band::High);
    }

    #[test]
    fn points_formulas_of_both_presets_by_hand() {
        // DRG: RW 1.2, 100 points per weight, tertiary coefficient 1.0 -> base 120.
        let base = 1.2 * 100.0 * 1.0;
        assert_eq!(points_of(base, 1.1, Band::Normal, 2.0), 120.0);
        // Low: 120 x 0.3 = 36.
        assert!((points_of(base, 0.3, Band::Low, 2.0) - 36.0).abs() < 1e-9);
        // High at RW in (1, 2]: threshold 2; ratio 2.5 -> 120 + 120 x 0.5 = 180.
        assert!((points_of(base, 2.5, Band::High, 2.0) - 180.0).abs() < 1e-9);
        // DIP: score 800, ratio 3 -> 800 x (3 - 2 + 1) = 1600; ratio 0.25 -> 200.
        assert!((points_of(800.0, 3.0, Band::High, 2.0) - 1600.0).abs() < 1e-9);
        assert!((points_of(800.0, 0.25, Band::Low, 2.0) - 200.0).abs() < 1e-9);
    }
}

#[cfg(test)]
mod link_tests {
    use super::*;
    use crate::ingest::{Cases, Hospital};

    fn cases(rows: &[(u32, u32, i32, i32)]) -> Cases {
        // (hospital, patient, admit, discharge)
        Cases {
            hospitals: vec![
                Hospital {
                    id: "H1".into(),
                    name: String::new(),
                    level: Some(3),
                },
                Hospital {
                    id: "H2".into(),
                    name: String::new(),
                    level: Some(2),
                },
            ],
            line: (0..rows.len() as u64).map(|i| i + 2).collect(),
            hospital: rows.iter().map(|r| r.0).collect(),
            patient: rows.iter().map(|r| r.1).collect(),
            admit: rows.iter().map(|r| r.2).collect(),
            discharge: rows.iter().map(|r| r.3).collect(),
            los: rows.iter().map(|r| (r.3 - r.2).max(1) as u32).collect(),
            group: vec![0; rows.len()],
            cost: vec![1000.0; rows.len()],
            ..Default::default()
        }
    }

    #[test]
    fn readmissions_link_to_the_same_patients_previous_stay_at_the_same_hospital() {
        // Patient 0: stays at days 0-5 and 6-8 (gap 1) in H1, 40-42 in H2 (its first there),
        // then 45-47 in H1 (gap 37 to the 6-8 stay). Patient 1: one stay. Input order is
        // shuffled on purpose.
        let c = cases(&[
            (0, 0, 6, 8),
            (1, 1, 3, 4),
            (1, 0, 40, 42),
            (0, 0, 0, 5),
            (0, 0, 45, 47),
        ]);
        let l = link_readmissions(&c);
        assert_eq!(l.prev_stay, vec![3, NONE_U32, NONE_U32, NONE_U32, 0]);
        assert_eq!(l.days_since_prev[0], 1);
        assert_eq!(l.days_since_prev[4], 37);
        assert_eq!(l.days_since_prev[1], i32::MAX);
        assert_eq!(l.overlapped, vec![NONE_U32; 5]);
    }

    #[test]
    fn an_overlap_names_the_earlier_stay_discharged_last() {
        // Patient 0: H1 0-30, H2 5-8 (overlaps the H1 stay), H1 10-12 (overlaps it too,
        // though not the H2 stay), H1 30-32 (admitted on the day of discharge: no overlap).
        let c = cases(&[(0, 0, 0, 30), (1, 0, 5, 8), (0, 0, 10, 12), (0, 0, 30, 32)]);
        let l = link_readmissions(&c);
        assert_eq!(l.overlapped, vec![NONE_U32, 0, 0, NONE_U32]);
        assert_eq!(l.prev_stay[2], 0);
        assert_eq!(l.days_since_prev[2], -20);
        assert_eq!((l.prev_stay[3], l.days_since_prev[3]), (2, 18));
    }

    #[test]
    fn benchmarks_fall_back_when_a_level_has_too_few_baseline_cases() {
        use crate::catalog::Catalog;
        use crate::ingest::table::StringTable;
        let cfg = RegionConfig::default_drg();
        let t = StringTable {
            headers: vec!["group_code".into(), "weight".into()],
            rows: vec![vec![Some("ES35".into()), Some("1.0".into())]],
            lines: None,
        };
        let cat = Catalog::from_table(&t, std::path::Path::new("g"), "t", &cfg).unwrap();
        // H1 (level 3): 2 baseline cases at 1000 and 3000; H2 (level 2): 1 case at 5000.
        let mut c = cases(&[(0, 0, 0, 2), (0, 1, 0, 2), (1, 2, 0, 2)]);
        c.cost = vec![1000.0, 3000.0, 5000.0];
        let period = vec![PeriodTag::Baseline; 3];
        let level = vec![3, 3, 2];
        let b = Benchmarks::compute(&c, &cat, &period, &level, 2);
        assert_eq!(b.cost(0, 3), 2000.0, "same level: mean of 1000 and 3000");
        assert_eq!(b.source(0, 3), BenchmarkSource::BaselineSameLevel);
        assert_eq!(b.cost(0, 2), 3000.0, "one level-2 case < 2: all-level mean");
        assert_eq!(b.source(0, 2), BenchmarkSource::BaselineAllLevels);
        let b = Benchmarks::compute(&c, &cat, &period, &level, 5);
        assert_eq!(b.source(0, 3), BenchmarkSource::WeightScaled);
        assert_eq!(
            b.cost(0, 3),
            3000.0,
            "weight 1 x region cost per weight 9000/3"
        );
    }
}
