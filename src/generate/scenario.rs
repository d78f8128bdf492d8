//! Scenario families for the evaluation grid (`drg-audit evaluate --grid`): a region
//! drawn at random from a seed — its size, years, scheme, the threshold it really pays
//! on, its catalogue's columns, its honest confounders and its gaming hospitals with
//! their intensities.
//!
//! The families describe what hospitals *do* (DOMAIN.md §2): an upcoder adds a CC to a
//! share of its eligible stays, a splitter bills one episode as two, a padder spends up
//! to the threshold it is paid on. Nothing here knows which indicator the analyzer
//! computes, so the grid measures the detectors instead of echoing them.
//!
//! Every draw comes from one ChaCha8 stream of the seed (a stream apart from the
//! hospitals' own streams), so a seed always gives the same scenario, and `--no-gaming`
//! gives the same region with every gaming hospital honest.

use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::hospitals::{HospitalSpec, Role};
use super::{
    CatalogueColumns, GamingPattern, GamingSpec, GenerateOptions, LOW_THRESHOLD_DIP,
    LOW_THRESHOLD_DRG, PlannedFlag, Scheme, UpcodingVariant,
};

/// Hospitals in a region, confounders and tiny clinics included.
pub const HOSPITALS: (usize, usize) = (40, 120);
/// Stays per year across the region.
pub const CASES_PER_YEAR: (usize, usize) = (15_000, 40_000);
/// Gaming hospitals drawn one by one (peer contamination adds more).
pub const GAMING_HOSPITALS: (usize, usize) = (3, 8);
/// The audited year; the baseline is the year before, a third year sits before it.
pub const AUDITED_YEAR: i32 = 2024;

/// Intensity range of a pattern, weak to strong ([`GamingSpec::intensity`]): share of
/// eligible stays upcoded, share of stays split, extra low-standard admissions as a
/// share of volume, share of the padding-eligible stays padded.
pub fn intensity_range(pattern: GamingPattern) -> (f64, f64) {
    match pattern {
        GamingPattern::Upcoding => (0.05, 0.35),
        GamingPattern::SplitStays => (0.03, 0.15),
        GamingPattern::LowStandardAdmission => (0.05, 0.30),
        GamingPattern::LowThresholdPadding | GamingPattern::HighPadding => (0.40, 0.90),
    }
}

/// Chance that each confounder family appears in a region.
const CONFOUNDERS: [(Role, f64); 9] = [
    (Role::SickerTertiary, 0.6),
    (Role::OncologyCentre, 0.6),
    (Role::Efficient, 0.5),
    (Role::Rehabilitation, 0.5),
    (Role::Merger, 0.4),
    (Role::HonestGrowth, 0.5),
    (Role::Childrens, 0.5),
    (Role::Tcm, 0.6),
    // Tiny clinics: drawn as a count instead (0–4).
    (Role::TinyClinic, 0.0),
];
/// Chance a gaming hospital games in a second way too.
const P_SECOND_PATTERN: f64 = 0.25;
/// Chance a gaming hospital already gamed before the data begin (persistent gaming:
/// its own baseline is gamed too).
const P_PERSISTENT: f64 = 0.25;
/// Chance a quarter of one level games the same way (the peers are contaminated).
const P_CONTAMINATION: f64 = 0.35;
/// Chance the region pays on another low-multiplier threshold than the preset's.
const P_SHIFTED_THRESHOLD: f64 = 0.35;

/// A quarter of one level gaming the same way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contamination {
    /// The level whose hospitals game.
    pub level: u8,
    /// What they do.
    pub pattern: GamingPattern,
    /// Hospitals involved.
    pub hospitals: usize,
}

/// Range of the share of honest cheap completed stays a region is drawn with.
pub const CHEAP_COMPLETED: (f64, f64) = (0.0, 0.08);

/// One drawn region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// The seed it was drawn from (also the generator's seed).
    pub seed: u64,
    /// DRG or DIP.
    pub scheme: Scheme,
    /// Discharge years, baseline first, audited year last (2 or 3 years).
    pub years: Vec<i32>,
    /// Approximate stays per year.
    pub cases_per_year: usize,
    /// The low-multiplier threshold the region pays on (the audit still runs with the
    /// preset's default: a real auditor often does not know it).
    pub low_threshold: f64,
    /// Whether [`Scenario::low_threshold`] differs from the scheme's default.
    pub threshold_shifted: bool,
    /// Columns of `groups.csv`.
    pub catalogue: CatalogueColumns,
    /// The hospitals, in id order (H001 first).
    pub hospitals: Vec<HospitalSpec>,
    /// Gaming at roster ids; empty with `--no-gaming`.
    pub gaming: Vec<GamingSpec>,
    /// Peer contamination, if drawn (and gaming is on).
    pub contamination: Option<Contamination>,
    /// Share of honest cheap completed stays (0–8 %): how many stays fall under the low
    /// threshold without anyone gaming, and how many a padder can lift.
    #[serde(default)]
    pub cheap_completed_share: f64,
}

/// Distinct place names for generated hospital names.
const PLACES: [&str; 40] = [
    "东城", "西城", "南关", "北关", "河口", "山阳", "临江", "青山", "石桥", "柳河", "白杨", "双井",
    "杏花", "松林", "清河", "安乐", "红旗", "新民", "永安", "太平", "兴隆", "长岭", "和平", "建设",
    "胜利", "光明", "友谊", "平安", "福山", "金水", "龙泉", "凤凰", "桃源", "梅林", "望江", "北海",
    "南湖", "东港", "西岭", "云台",
];

fn place(i: usize) -> String {
    const ROUNDS: [&str; 4] = ["", "新", "上", "下"];
    format!(
        "{}{}",
        ROUNDS[(i / PLACES.len()) % ROUNDS.len()],
        PLACES[i % PLACES.len()]
    )
}

fn hospital_name(role: Role, level: u8, i: usize) -> String {
    let p = place(i);
    match (role, level) {
        (Role::SickerTertiary, _) => format!("{p}医科大学附属医院"),
        (Role::OncologyCentre, _) => format!("{p}肿瘤医院"),
        (Role::Rehabilitation, _) => format!("{p}康复医院"),
        (Role::Childrens, _) => format!("{p}儿童医院"),
        (Role::Tcm, _) => format!("{p}中医院"),
        (Role::TinyClinic, _) => format!("{p}仁和医院"),
        (_, 3) => format!("{p}中心医院"),
        (_, 2) => format!("{p}县人民医院"),
        _ => format!("{p}镇卫生院"),
    }
}

fn units(level: u8, rng: &mut ChaCha8Rng) -> f64 {
    match level {
        3 => rng.random_range(6.0..12.0),
        2 => rng.random_range(1.8..3.6),
        _ => rng.random_range(0.4..1.1),
    }
}

impl Scenario {
    /// Draws the scenario of `seed`; with `no_gaming` every gaming hospital of the same
    /// draw stays honest (same roster, same volumes, no gaming).
    pub fn draw(seed: u64, no_gaming: bool) -> Scenario {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Apart from the hospitals' streams (1, 2, …), which the generator draws from.
        rng.set_stream(u64::MAX);
        let scheme = if rng.random::<bool>() {
            Scheme::Drg
        } else {
            Scheme::Dip
        };
        let years = if rng.random::<f64>() < 0.5 {
            vec![AUDITED_YEAR - 1, AUDITED_YEAR]
        } else {
            vec![AUDITED_YEAR - 2, AUDITED_YEAR - 1, AUDITED_YEAR]
        };
        let cases_per_year = rng.random_range(CASES_PER_YEAR.0..=CASES_PER_YEAR.1);
        let n = rng.random_range(HOSPITALS.0..=HOSPITALS.1);

        // Confounders first, then the ordinary hospitals of each level.
        let mut roster: Vec<(Role, u8, f64)> = Vec::new();
        for (role, p) in CONFOUNDERS {
            if role == Role::TinyClinic || rng.random::<f64>() >= p {
                continue;
            }
            let level = match role {
                Role::SickerTertiary | Role::OncologyCentre => 3,
                Role::Rehabilitation | Role::Merger => 2,
                Role::HonestGrowth => rng.random_range(1..=2),
                Role::Efficient | Role::Childrens | Role::Tcm => rng.random_range(2..=3),
                _ => 2,
            };
            let u = match role {
                Role::SickerTertiary => rng.random_range(10.0..13.0),
                Role::OncologyCentre | Role::Childrens if level == 3 => rng.random_range(3.0..6.0),
                _ => units(level, &mut rng),
            };
            roster.push((role, level, u));
        }
        for _ in 0..rng.random_range(0..=4) {
            roster.push((Role::TinyClinic, 1, 0.0));
        }
        let rest = n.saturating_sub(roster.len()).max(20);
        let n3 = ((rest as f64 * 0.12).round() as usize).max(4);
        let n2 = ((rest as f64 * 0.38).round() as usize).max(8);
        let n1 = rest.saturating_sub(n3 + n2).max(6);
        for (level, count) in [(3u8, n3), (2, n2), (1, n1)] {
            for _ in 0..count {
                let u = units(level, &mut rng);
                roster.push((Role::Clean, level, u));
            }
        }
        // Ids must not tell roles apart.
        roster.shuffle(&mut rng);
        let hospitals: Vec<HospitalSpec> = roster
            .iter()
            .enumerate()
            .map(|(i, &(role, level, units))| HospitalSpec {
                name: hospital_name(role, level, i),
                level,
                role,
                units,
            })
            .collect();

        let last = *years.last().unwrap_or(&AUDITED_YEAR);
        let first = years[0];
        let id = |i: usize| format!("H{:03}", i + 1);
        let mut clean: Vec<usize> = (0..hospitals.len())
            .filter(|&i| hospitals[i].role == Role::Clean)
            .collect();
        clean.shuffle(&mut rng);
        let mut gaming = Vec::new();
        let n_gaming = rng
            .random_range(GAMING_HOSPITALS.0..=GAMING_HOSPITALS.1)
            .min(clean.len() / 2);
        for &i in &clean[..n_gaming] {
            let start_year = if rng.random::<f64>() < P_PERSISTENT {
                first - rng.random_range(1..=3)
            } else {
                last
            };
            let first_pattern = *GamingPattern::ALL
                .choose(&mut rng)
                .unwrap_or(&GamingPattern::Upcoding);
            let mut patterns = vec![first_pattern];
            if rng.random::<f64>() < P_SECOND_PATTERN {
                let others: Vec<GamingPattern> = GamingPattern::ALL
                    .into_iter()
                    .filter(|&p| p != first_pattern)
                    .collect();
                patterns.extend(others.choose(&mut rng).copied());
            }
            for pattern in patterns {
                let (lo, hi) = intensity_range(pattern);
                gaming.push(GamingSpec {
                    hospital_id: id(i),
                    pattern,
                    intensity: rng.random_range(lo..=hi),
                    start_year,
                    variant: variant_of(seed, i),
                });
            }
        }
        // Peer contamination: a quarter of one level's remaining clean hospitals game
        // the same way, at about the same intensity.
        let mut contamination = None;
        if rng.random::<f64>() < P_CONTAMINATION {
            let level = rng.random_range(1..=2u8);
            let pattern = *GamingPattern::ALL
                .choose(&mut rng)
                .unwrap_or(&GamingPattern::Upcoding);
            let (lo, hi) = intensity_range(pattern);
            let centre = rng.random_range(lo..=hi);
            let pool: Vec<usize> = clean[n_gaming..]
                .iter()
                .copied()
                .filter(|&i| hospitals[i].level == level)
                .collect();
            let count = (pool.len() as f64 / 4.0).round() as usize;
            for &i in &pool[..count] {
                gaming.push(GamingSpec {
                    hospital_id: id(i),
                    pattern,
                    intensity: (centre * rng.random_range(0.8..1.2)).clamp(lo, hi),
                    start_year: last,
                    variant: variant_of(seed, i),
                });
            }
            if count > 0 {
                contamination = Some(Contamination {
                    level,
                    pattern,
                    hospitals: count,
                });
            }
        }
        gaming.sort_by(|a, b| (&a.hospital_id, a.pattern).cmp(&(&b.hospital_id, b.pattern)));

        let default_low = match scheme {
            Scheme::Drg => LOW_THRESHOLD_DRG,
            Scheme::Dip => LOW_THRESHOLD_DIP,
        };
        let (low_threshold, threshold_shifted) = if rng.random::<f64>() < P_SHIFTED_THRESHOLD {
            let choices: &[f64] = match scheme {
                Scheme::Drg => &[0.3, 0.5],
                Scheme::Dip => &[0.3, 0.4],
            };
            (choices[rng.random_range(0..choices.len())], true)
        } else {
            (default_low, false)
        };
        let catalogue = match rng.random_range(0..4) {
            0 => CatalogueColumns::Minimal,
            1 => CatalogueColumns::WithBenchmarks,
            _ => CatalogueColumns::Standard,
        };
        // Drawn last, so that the draws above are those of the grids before it existed.
        let cheap_completed_share = rng.random_range(CHEAP_COMPLETED.0..CHEAP_COMPLETED.1);
        if no_gaming {
            gaming.clear();
            contamination = None;
        }
        Scenario {
            seed,
            scheme,
            years,
            cases_per_year,
            low_threshold,
            threshold_shifted,
            catalogue,
            hospitals,
            gaming,
            contamination,
            cheap_completed_share,
        }
    }

    /// The generator's options for this region.
    pub fn options(&self) -> GenerateOptions {
        GenerateOptions {
            seed: self.seed,
            cases_per_year: self.cases_per_year,
            scheme: self.scheme,
            years: self.years.clone(),
            gaming: self.gaming.clone(),
            roster: Some(self.hospitals.clone()),
            low_threshold: Some(self.low_threshold),
            catalogue: self.catalogue,
            planned_flag: PlannedFlag::BeforeNextCycle,
            cheap_completed_share: self.cheap_completed_share,
            ..GenerateOptions::default()
        }
    }

    /// Hospitals with at least one gaming spec.
    pub fn gaming_hospitals(&self) -> usize {
        let mut ids: Vec<&str> = self.gaming.iter().map(|g| g.hospital_id.as_str()).collect();
        ids.dedup();
        ids.len()
    }

    /// One line for progress output.
    pub fn describe(&self) -> String {
        let confounders = self
            .hospitals
            .iter()
            .filter(|h| h.role != Role::Clean)
            .count();
        format!(
            "{} · {} hospitals · {} stays/yr · {} years · {} gaming{} · {} confounders · low threshold {}{} · catalogue {} · {:.1} % cheap completed stays",
            match self.scheme {
                Scheme::Drg => "DRG",
                Scheme::Dip => "DIP",
            },
            self.hospitals.len(),
            self.cases_per_year,
            self.years.len(),
            self.gaming_hospitals(),
            match &self.contamination {
                Some(c) => format!(
                    " (level {} contaminated: {} × {})",
                    c.level,
                    c.hospitals,
                    c.pattern.as_str()
                ),
                None => String::new(),
            },
            confounders,
            self.low_threshold,
            if self.threshold_shifted {
                " (not the preset's)"
            } else {
                ""
            },
            self.catalogue.as_str(),
            100.0 * self.cheap_completed_share
        )
    }
}

/// An upcoder's variant, drawn from its own stream (seed, hospital) so adding it moved no
/// other draw of the scenario.
fn variant_of(seed: u64, hospital: usize) -> UpcodingVariant {
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ hospital as u64);
    UpcodingVariant::ALL[rng.random_range(0..UpcodingVariant::ALL.len())]
}
