//! Honest case generation: volumes, case mix, patients, costs, stays, readmissions and
//! the oncology centre's chemotherapy cycles. Gaming is layered on top by
//! [`super::gaming`].

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::catalog::{Catalogue, Kind};
use super::gaming;
use super::hospitals::{Hospital, Role};
use super::{CatalogueColumns, GamingPattern, GenerateOptions, PlannedFlag};

/// Marks an absent procedure code.
pub(crate) const NO_CODE: u32 = u32::MAX;
/// Room for secondary diagnoses (honest cases use at most 7, upcoding adds one).
pub(crate) const MAX_SEC: usize = 8;

/// Share of stays in the natural low tail (early transfer, death, discharge against
/// advice): together with the lognormal's own low end this gives 3–5 % of stays
/// below the DRG low threshold.
const P_LOW: f64 = 0.035;
const LOW_RANGE: (f64, f64) = (0.08, 0.38);
/// Share of stays in the natural high tail (complications).
const P_HIGH: f64 = 0.02;
const HIGH_RANGE: (f64, f64) = (2.0, 4.5);
/// Lognormal spread of ordinary stays around the group cost.
const SIGMA: f64 = 0.32;
/// Cheap completed stays (short diagnostic or observation admissions that end
/// normally), a share of stays set per region ([`GenerateOptions::cheap_completed_share`],
/// 0 by default): lognormal multiplier with this median and spread, a smooth density with
/// no edge near any threshold.
const CHEAP_MEDIAN: f64 = 0.4;
const CHEAP_SIGMA: f64 = 0.45;

/// Mean of the cost-multiplier mixture before normalisation, with a share `cheap` of
/// cheap completed stays; dividing by it makes the expected cost of a (group, level)
/// exactly `Catalogue::expected_cost`. (With `cheap` = 0 the terms are those of the
/// mixture without them, bit for bit.)
fn mix_mean(cheap: f64) -> f64 {
    (1.0 - P_LOW - P_HIGH - cheap)
        + P_LOW * (LOW_RANGE.0 + LOW_RANGE.1) / 2.0
        + P_HIGH * (HIGH_RANGE.0 + HIGH_RANGE.1) / 2.0
        + cheap * CHEAP_MEDIAN * (CHEAP_SIGMA * CHEAP_SIGMA / 2.0).exp()
}

/// Share of severity 1 (MCC) and 3 (CC) cases by profile: primary, secondary,
/// tertiary, truly sicker tertiary. Bigger hospitals treat sicker patients.
const P_SEV1: [f64; 4] = [0.03, 0.07, 0.13, 0.24];
const P_SEV3: [f64; 4] = [0.12, 0.20, 0.28, 0.36];
/// DIP treatment propensities (cons, diag, proc, surg) by profile.
const DIP_PROPENSITY: [[f64; 4]; 4] = [
    [1.0, 0.25, 0.08, 0.03],
    [1.0, 0.5, 0.3, 0.25],
    [1.0, 0.8, 0.7, 0.8],
    [1.0, 1.0, 1.0, 1.2],
];
/// Natural unplanned readmissions within 30 days, per discharge.
const P_READMIT: f64 = 0.055;
/// Share of readmissions that go to another hospital.
const P_READMIT_ELSEWHERE: f64 = 0.25;
/// Chance an index stay belongs to a patient the hospital has already seen.
const P_REUSE_PATIENT: f64 = 0.12;
/// Share of the oncology centre's stays that are chemotherapy cycles.
const CHEMO_SHARE: f64 = 0.55;

/// One inpatient stay, compact: codes are indices into the catalogue's dictionary.
#[derive(Clone, Debug)]
pub(crate) struct Case {
    /// Home hospital index (high 32 bits) and sequence number of the patient.
    pub patient: u64,
    /// Days since 1970-01-01.
    pub admit: i32,
    pub discharge: i32,
    pub group: u32,
    pub cost_cents: i64,
    /// Part of the cost added by padding; fees put it into drugs, materials and tests.
    pub pad_cents: i64,
    pub main_dx: u32,
    pub procedure: u32,
    pub sec: [u32; MAX_SEC],
    pub n_sec: u8,
    pub disposition: u8,
    pub planned: bool,
    pub dept: u8,
    pub physician: u8,
    pub age: u8,
    /// 1 male, 2 female (GB/T 2261.1).
    pub sex: u8,
    /// 1 employee scheme (310), 2 resident scheme (390).
    pub insurance: u8,
    /// Gaming that created or altered this stay (ground truth).
    pub pattern: Option<GamingPattern>,
    /// How an upcoded stay was upcoded (truth).
    pub variant: Option<super::UpcodingVariant>,
    /// Seed of the fee split, so the writer needs no RNG state.
    pub fee_seed: u64,
}

impl Case {
    pub fn secondaries(&self) -> &[u32] {
        &self.sec[..usize::from(self.n_sec)]
    }

    pub fn push_secondary(&mut self, code: u32) -> bool {
        let n = usize::from(self.n_sec);
        if n >= MAX_SEC {
            return false;
        }
        self.sec[n] = code;
        self.n_sec += 1;
        true
    }

    pub fn los(&self) -> i32 {
        self.discharge - self.admit
    }
}

/// Every hospital's stays, sorted by discharge date.
pub(crate) struct Region {
    pub hospitals: Vec<Vec<Case>>,
    /// Per hospital, where `--focus-gaming` concentrated its gaming (ground truth).
    pub focus: Vec<Option<Focus>>,
}

/// `--focus-gaming`: the one department and physician a gaming hospital's injected gaming
/// is concentrated in, so a drill-down has a known answer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Focus {
    /// Department index ([`DEPTS`]).
    pub dept: u8,
    /// Physician number within the department (0-based; written `01`).
    pub physician: u8,
    /// 1 / the department's expected share of the hospital's stays: the intensity is
    /// multiplied by it inside the department (capped), so the gaming's volume stays
    /// about what the unfocused hospital would inject.
    pub boost: f64,
}

/// The focus of hospital `h` (`None` without gaming): the department where most of its
/// stays in multi-group families are expected, from the level's family popularity (no
/// random draw, so the hospitals' streams are untouched), and its first physician.
fn focus_of(cat: &Catalogue, h: &Hospital) -> Option<Focus> {
    if h.gaming.is_empty() {
        return None;
    }
    let mut by_dept = vec![0.0f64; DEPTS.len()];
    for (f, fam) in cat.families.iter().enumerate() {
        if fam.groups.len() < 2 {
            continue;
        }
        let d = usize::from(department(fam.mdc, fam.kind, h.level, 40));
        if let Some(w) = by_dept.get_mut(d) {
            *w += family_pop(cat, f, h.level);
        }
    }
    let total: f64 = by_dept.iter().sum();
    let (dept, w) = by_dept
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))?;
    (*w > 0.0).then(|| Focus {
        dept: dept as u8,
        physician: 0,
        boost: total / w,
    })
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Patient {
    pub key: u64,
    pub birth_year: i32,
    pub sex: u8,
    pub insurance: u8,
    /// Admission day of the patient's latest index stay here: a reused patient must
    /// be two months clear of it, so chance reuse never overlaps stays or fakes a
    /// readmission.
    pub last_admit: i32,
}

#[derive(Clone, Copy)]
pub(crate) struct YearSpan {
    pub year: i32,
    pub start: i32,
    pub len: i32,
}

/// Precomputed sampling tables, shared read-only by all hospitals.
pub(crate) struct Ctx<'a> {
    pub opts: &'a GenerateOptions,
    pub cat: &'a Catalogue,
    pub roster: &'a [Hospital],
    pub years: Vec<YearSpan>,
    /// Last day of the last year: later admissions are next year's business.
    pub last_day: i32,
    /// Cumulative family popularity per level (index level − 1).
    family_cdf: [Vec<f64>; 3],
    /// The same for a children's hospital and a rehabilitation hospital, whose
    /// patients differ from their level's.
    childrens_cdf: [Vec<f64>; 3],
    rehabilitation_cdf: [Vec<f64>; 3],
    /// The low-multiplier threshold the region pays on (what padders aim above).
    pub low_threshold: f64,
    /// Cumulative group choice inside each family, per profile.
    group_cdf: [Vec<Vec<f64>>; 4],
    /// Cumulative choice among the light medical groups, per level.
    pub light_cdf: [Vec<f64>; 3],
    /// Cumulative referral targets for readmissions elsewhere, per hospital.
    referral_cdf: Vec<Vec<(f64, usize)>>,
    per_unit: f64,
    /// Per hospital (by index), the `--focus-gaming` department and physician.
    pub focus: Vec<Option<Focus>>,
}

/// Index into an unnormalised cumulative table.
pub(crate) fn sample_cdf(cdf: &[f64], rng: &mut impl Rng) -> usize {
    let total = cdf.last().copied().unwrap_or(0.0);
    let x = rng.random::<f64>() * total;
    cdf.partition_point(|&c| c <= x)
        .min(cdf.len().saturating_sub(1))
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .map(|w| {
            acc += w.max(0.0);
            acc
        })
        .collect()
}

/// How much a level wants a family: primary hospitals treat light medical conditions,
/// tertiary ones take the surgery and the heavy groups.
fn family_pop(cat: &Catalogue, f: usize, level: u8) -> f64 {
    let fam = &cat.families[f];
    if Some(f) == cat.chemo_family {
        // Chemotherapy is generated as cycles at the oncology centre only, so that
        // every planned readmission sits where the confounder says it does.
        return 0.0;
    }
    let li = usize::from(level.clamp(1, 3) - 1);
    let kind_factor = match (fam.kind, li) {
        (Kind::Medical | Kind::Chemo, _) => 1.0,
        (Kind::NonOr, 0) => 0.25,
        (Kind::NonOr, 1) => 0.6,
        (Kind::NonOr, _) => 1.0,
        (Kind::Surgical, 0) => 0.06,
        (Kind::Surgical, 1) => 0.55,
        (Kind::Surgical, _) => 1.4,
    };
    let (exponent, max_rw) = [(2.0, 1.5), (0.9, 5.0), (0.2, f64::INFINITY)][li];
    if fam.anchor_rw > max_rw {
        return 0.0;
    }
    fam.base_pop * kind_factor * fam.anchor_rw.max(0.05).powf(-exponent)
}

/// How much a specialist hospital wants a family, against its level's general mix.
fn specialty_factor(cat: &Catalogue, f: usize, role: Role) -> f64 {
    let fam = &cat.families[f];
    match role {
        // Children: no obstetrics or adult genital organs; newborns, respiratory,
        // digestive and ENT illness common; less circulatory and joint disease.
        Role::Childrens => match fam.mdc {
            b'O' | b'N' | b'M' => 0.0,
            b'P' => 8.0,
            b'E' => 2.5,
            b'D' => 2.0,
            b'G' => 1.5,
            b'F' => 0.15,
            b'I' => 0.5,
            _ if fam.kind == Kind::Surgical => 0.5,
            _ => 1.0,
        },
        // Rehabilitation: medical care only, mostly after stroke and for the spine and
        // joints.
        Role::Rehabilitation => match (fam.kind, fam.mdc) {
            (Kind::Medical, b'B') => 5.0,
            (Kind::Medical, b'I') => 4.0,
            (Kind::Medical, b'F') => 1.5,
            (Kind::Medical, b'E') => 0.8,
            (Kind::Medical, b'O' | b'P') => 0.0,
            (Kind::Medical, _) => 0.15,
            _ => 0.0,
        },
        _ => 1.0,
    }
}

fn group_weights(cat: &Catalogue, f: usize, profile: usize) -> Vec<f64> {
    let fam = &cat.families[f];
    let sevs: Vec<u8> = fam.groups.iter().map(|&g| cat.groups[g].severity).collect();
    fam.groups
        .iter()
        .map(|&g| {
            let grp = &cat.groups[g];
            if grp.severity == 9 {
                return match cat.scheme {
                    // Chemotherapy cycles are mostly plain drug administration.
                    super::Scheme::Dip if fam.kind == Kind::Chemo => {
                        if grp.treatment == 0 {
                            1.0
                        } else {
                            0.15
                        }
                    }
                    super::Scheme::Dip => {
                        let t = usize::from(grp.treatment);
                        let boost = if fam.kind == Kind::Surgical && t == 3 {
                            3.0
                        } else {
                            1.0
                        };
                        DIP_PROPENSITY[profile][t] * boost
                    }
                    super::Scheme::Drg => 1.0,
                };
            }
            let (p1, p3) = (P_SEV1[profile], P_SEV3[profile]);
            let has3 = sevs.contains(&3);
            let has1 = sevs.contains(&1);
            match grp.severity {
                // Without an MCC sibling, MCC cases group with the CC ones.
                1 => p1,
                3 if has1 => p3,
                3 => p1 + p3,
                // Without a CC sibling, CC cases stay in the uncomplicated group.
                _ if has3 => 1.0 - p1 - p3,
                _ => 1.0 - p1,
            }
        })
        .collect()
}

impl<'a> Ctx<'a> {
    pub fn new(opts: &'a GenerateOptions, cat: &'a Catalogue, roster: &'a [Hospital]) -> Self {
        let years: Vec<YearSpan> = opts
            .years
            .iter()
            .map(|&y| {
                let start = days_from_civil(y, 1, 1);
                YearSpan {
                    year: y,
                    start,
                    len: days_from_civil(y + 1, 1, 1) - start,
                }
            })
            .collect();
        let last_day = years.last().map_or(0, |y| y.start + y.len - 1);
        let family_cdf = [1u8, 2, 3]
            .map(|level| cumulative((0..cat.families.len()).map(|f| family_pop(cat, f, level))));
        let specialty_cdf = |role: Role| {
            [1u8, 2, 3].map(|level| {
                cumulative((0..cat.families.len()).map(|f| {
                    family_pop(cat, f, level).max(0.01)
                        * f64::from(u8::from(Some(f) != cat.chemo_family))
                        * specialty_factor(cat, f, role)
                }))
            })
        };
        let childrens_cdf = specialty_cdf(Role::Childrens);
        let rehabilitation_cdf = specialty_cdf(Role::Rehabilitation);
        let group_cdf = [0usize, 1, 2, 3].map(|p| {
            (0..cat.families.len())
                .map(|f| cumulative(group_weights(cat, f, p).into_iter()))
                .collect()
        });
        let light_cdf = [1u8, 2, 3].map(|level| {
            cumulative(cat.light_medical.iter().map(|&g| {
                let f = cat.groups[g].family;
                // Light groups the level never treats still get a little weight.
                family_pop(cat, f, level).max(0.01)
                    * f64::from(u8::from(Some(f) != cat.chemo_family))
            }))
        });
        let referral_cdf = roster
            .iter()
            .map(|h| {
                let mut acc = 0.0;
                roster
                    .iter()
                    .filter(|t| {
                        t.index != h.index && t.base_role.takes_referrals() && t.level >= h.level
                    })
                    .map(|t| {
                        acc += t.units;
                        (acc, t.index)
                    })
                    .collect()
            })
            .collect();
        let total_units: f64 = roster.iter().map(|h| h.units).sum();
        // Readmissions and referrals add about 6 % on top of the index stays.
        let per_unit = opts.cases_per_year as f64 * 0.94 / total_units.max(1.0);
        Ctx {
            opts,
            cat,
            roster,
            years,
            last_day,
            family_cdf,
            childrens_cdf,
            rehabilitation_cdf,
            low_threshold: opts.low_threshold.unwrap_or_else(|| cat.low_threshold()),
            group_cdf,
            light_cdf,
            referral_cdf,
            per_unit,
            focus: roster
                .iter()
                .map(|h| {
                    if opts.focus_gaming {
                        focus_of(cat, h)
                    } else {
                        None
                    }
                })
                .collect(),
        }
    }

    /// The benchmark cost a hospital of `level` is paid against for `group`: the
    /// catalogue's published one, or the level's mean (what a baseline-year benchmark
    /// of same-level hospitals estimates).
    pub fn payment_benchmark(&self, group: usize, level: u8) -> f64 {
        match self.opts.catalogue {
            CatalogueColumns::WithBenchmarks => self.cat.published_benchmark(group),
            _ => self.cat.expected_cost(group, level),
        }
    }

    /// A family for a stay at hospital `h`: its level's mix, or its specialty's.
    pub fn sample_family(&self, h: &Hospital, rng: &mut impl Rng) -> usize {
        let cdfs = match h.base_role {
            Role::Childrens => &self.childrens_cdf,
            Role::Rehabilitation => &self.rehabilitation_cdf,
            _ => &self.family_cdf,
        };
        sample_cdf(&cdfs[usize::from(h.level.clamp(1, 3) - 1)], rng)
    }

    pub fn sample_group(&self, family: usize, profile: usize, rng: &mut impl Rng) -> usize {
        let fam = &self.cat.families[family];
        fam.groups[sample_cdf(&self.group_cdf[profile][family], rng)]
    }

    fn sample_referral(&self, from: usize, rng: &mut impl Rng) -> Option<usize> {
        let cdf = &self.referral_cdf[from];
        let total = cdf.last()?.0;
        let x = rng.random::<f64>() * total;
        let i = cdf.partition_point(|&(c, _)| c <= x).min(cdf.len() - 1);
        Some(cdf[i].1)
    }
}

/// Per-hospital generation state: its own RNG stream and patient pool.
pub(crate) struct HospState<'a> {
    pub h: &'a Hospital,
    pub rng: ChaCha8Rng,
    pub patients: Vec<Patient>,
    pub cases: Vec<Case>,
    pub outbound: Vec<(usize, Case)>,
    /// An upcoder's favourite CC and MCC codes (empty otherwise).
    pub fav_cc: Vec<u32>,
    pub fav_mcc: Vec<u32>,
}

impl HospState<'_> {
    /// A new patient of this hospital suited to a family (obstetrics: women of
    /// child-bearing age; newborns: age 0; male and female genital organs).
    pub fn new_patient(&mut self, mdc: u8, year: i32) -> Patient {
        let rng = &mut self.rng;
        let adult = |rng: &mut ChaCha8Rng| -> i32 {
            let u: f64 = rng.random();
            if u < 0.35 {
                rng.random_range(18..45)
            } else if u < 0.68 {
                rng.random_range(45..65)
            } else {
                rng.random_range(65..93)
            }
        };
        let (age, sex) = match mdc {
            // A children's hospital's patients are children whatever the family (its
            // mix has no obstetrics or adult genital organs).
            b'P' if self.h.base_role == Role::Childrens => (0, rng.random_range(1..=2)),
            _ if self.h.base_role == Role::Childrens => {
                (rng.random_range(0..15), rng.random_range(1..=2))
            }
            b'O' => (rng.random_range(20..43), 2),
            b'P' => (0, rng.random_range(1..=2)),
            b'N' => (adult(rng), 2),
            b'M' => (adult(rng), 1),
            _ => {
                let age = if rng.random::<f64>() < 0.08 {
                    rng.random_range(1..15)
                } else {
                    adult(rng)
                };
                (age, rng.random_range(1..=2))
            }
        };
        let p_employee = match self.h.level {
            3 => 0.5,
            2 => 0.35,
            _ => 0.2,
        };
        let insurance = if rng.random::<f64>() < p_employee {
            1
        } else {
            2
        };
        let key = ((self.h.index as u64) << 32) | self.patients.len() as u64;
        let p = Patient {
            key,
            birth_year: year - age,
            sex,
            insurance,
            last_admit: i32::MIN / 2,
        };
        self.patients.push(p);
        p
    }

    /// A patient for an index stay admitted on `admit`: new, or with probability
    /// `p_reuse` one seen before (when that patient suits the family and is clear of
    /// their last stay here).
    pub fn pick_patient(&mut self, mdc: u8, year: i32, admit: i32, p_reuse: f64) -> Patient {
        let mut chosen = None;
        if !self.patients.is_empty() && self.rng.random::<f64>() < p_reuse {
            let i = self.rng.random_range(0..self.patients.len());
            let p = self.patients[i];
            if compatible(&p, mdc, year) && (admit - p.last_admit).abs() > 60 {
                chosen = Some(i);
            }
        }
        let i = match chosen {
            Some(i) => i,
            None => {
                self.new_patient(mdc, year);
                self.patients.len() - 1
            }
        };
        self.patients[i].last_admit = admit;
        self.patients[i]
    }
}

fn compatible(p: &Patient, mdc: u8, year: i32) -> bool {
    let age = year - p.birth_year;
    match mdc {
        b'O' => p.sex == 2 && (16..=48).contains(&age),
        b'P' => age <= 0,
        b'N' => p.sex == 2 && age >= 12,
        b'M' => p.sex == 1 && age >= 12,
        _ => true,
    }
}

/// Department names; `Case::dept` indexes this list.
pub(crate) const DEPTS: [&str; 33] = [
    "神经内科",
    "神经外科",
    "眼科",
    "耳鼻咽喉科",
    "呼吸内科",
    "胸外科",
    "心血管内科",
    "心脏大血管外科",
    "消化内科",
    "普通外科",
    "肝胆外科",
    "骨科",
    "风湿免疫科",
    "皮肤科",
    "乳腺外科",
    "内分泌科",
    "肾内科",
    "泌尿外科",
    "妇科",
    "产科",
    "新生儿科",
    "血液内科",
    "肿瘤科",
    "感染科",
    "精神科",
    "急诊科",
    "烧伤科",
    "全科医学科",
    "内科",
    "外科",
    "妇产科",
    "儿科",
    "创伤外科",
];

fn department(mdc: u8, kind: Kind, level: u8, age: i32) -> u8 {
    let surgical = kind == Kind::Surgical;
    if level == 1 {
        // Township health centres have broad departments only.
        return match mdc {
            b'N' | b'O' => 30,
            b'P' => 31,
            _ if age < 14 => 31,
            _ if surgical => 29,
            _ => 28,
        };
    }
    if kind == Kind::Chemo {
        return 22;
    }
    let (med, surg) = match mdc {
        b'B' => (0, 1),
        b'C' => (2, 2),
        b'D' => (3, 3),
        b'E' => (4, 5),
        b'F' => (6, 7),
        b'G' => (8, 9),
        b'H' => (8, 10),
        b'I' => (12, 11),
        b'J' => (13, 14),
        b'K' => (15, 9),
        b'L' => (16, 17),
        b'M' => (17, 17),
        b'N' => (18, 18),
        b'O' => (19, 19),
        b'P' => (20, 20),
        b'Q' => (21, 21),
        b'R' => (22, 22),
        b'S' | b'Y' => (23, 23),
        b'T' | b'U' => (24, 24),
        b'V' | b'Z' => (25, 32),
        b'W' => (26, 26),
        _ => (27, 27),
    };
    if surgical {
        surg
    } else if age < 14 && mdc != b'P' {
        31
    } else {
        med
    }
}

/// Picks an index skewed toward the start of a pool: the pools list common codes
/// first, so a few codes are frequent and most are rare, as in real coding.
pub(crate) fn skewed(pool: &[u32], rng: &mut impl Rng) -> u32 {
    let u: f64 = rng.random();
    pool[((pool.len() as f64 * u * u) as usize).min(pool.len() - 1)]
}

/// Whether `code` may be added as a secondary diagnosis: not a duplicate and not in
/// the main diagnosis's category or exclusion table (a CC excluded by its main
/// diagnosis would not count, so honest coders would not rely on it).
pub(crate) fn secondary_ok(cat: &Catalogue, case: &Case, code: u32) -> bool {
    secondary_allowed(cat, case, code) && !excluded_by_main(cat, case, code)
}

/// Not a duplicate and not in the main diagnosis's category.
fn secondary_allowed(cat: &Catalogue, case: &Case, code: u32) -> bool {
    let main = &cat.icd[case.main_dx as usize];
    let c = &cat.icd[code as usize];
    !case.secondaries().contains(&code) && c.category() != main.category()
}

/// Whether the case's main diagnosis excludes `code` (CHS-DRG 1.1: the same table).
pub(crate) fn excluded_by_main(cat: &Catalogue, case: &Case, code: u32) -> bool {
    let t = cat.icd[code as usize].table;
    t != 0 && t == cat.icd[case.main_dx as usize].main_table
}

/// Adds a CC (or, with `mcc`, an MCC) that the case's main diagnosis excludes: a code a
/// grouper would not accept for severity. Returns whether one was found.
pub(crate) fn push_excluded(
    cat: &Catalogue,
    case: &mut Case,
    mcc: bool,
    rng: &mut impl Rng,
) -> bool {
    let table = cat.icd[case.main_dx as usize].main_table;
    let pool = if mcc {
        cat.mcc_by_table.get(&table)
    } else {
        cat.cc_by_table.get(&table)
    };
    let Some(pool) = pool.filter(|p| !p.is_empty()) else {
        return false;
    };
    for _ in 0..8 {
        let code = pool[rng.random_range(0..pool.len())];
        if secondary_allowed(cat, case, code) {
            return case.push_secondary(code);
        }
    }
    false
}

fn add_from(cat: &Catalogue, case: &mut Case, pool: &[u32], common: &[u32], rng: &mut impl Rng) {
    if pool.is_empty() {
        return;
    }
    for _ in 0..8 {
        let code = if !common.is_empty() && rng.random::<f64>() < 0.5 {
            common[rng.random_range(0..common.len())]
        } else {
            skewed(pool, rng)
        };
        if secondary_ok(cat, case, code) {
            case.push_secondary(code);
            return;
        }
    }
}

/// Secondary diagnoses consistent with a severity: 1 carries an MCC, 3 a CC and no
/// MCC, 5 only codes that change nothing.
fn fill_secondaries(
    cat: &Catalogue,
    case: &mut Case,
    severity: u8,
    chemo: bool,
    rng: &mut impl Rng,
) {
    case.n_sec = 0;
    match severity {
        1 => {
            let n_mcc = if rng.random::<f64>() < 0.7 { 1 } else { 2 };
            for _ in 0..n_mcc {
                add_from(cat, case, &cat.mcc_pool, &cat.common_mcc, rng);
            }
            if chemo {
                add_from(cat, case, &cat.cancer_pool, &[], rng);
            }
            for _ in 0..rng.random_range(0..=2) {
                add_from(cat, case, &cat.cc_pool, &cat.common_cc, rng);
            }
        }
        3 => {
            let u: f64 = rng.random();
            let n_cc = if u < 0.5 {
                1
            } else if u < 0.85 {
                2
            } else {
                3
            };
            for k in 0..n_cc {
                // A chemotherapy patient's CC is the cancer itself.
                if chemo && k == 0 {
                    add_from(cat, case, &cat.cancer_pool, &[], rng);
                } else {
                    add_from(cat, case, &cat.cc_pool, &cat.common_cc, rng);
                }
            }
        }
        _ => {}
    }
    let n_plain = if severity == 5 || severity == 9 {
        rng.random_range(0..=4)
    } else {
        rng.random_range(0..=3)
    };
    for _ in 0..n_plain {
        add_from(cat, case, &cat.plain_pool, &cat.common_plain, rng);
    }
}

/// A latent severity for groups whose code carries none (DRG 9, DIP), drawn from the
/// profile's mix so the secondary codes still reflect the population.
fn latent_severity(profile: usize, rng: &mut impl Rng) -> u8 {
    let u: f64 = rng.random();
    if u < P_SEV1[profile] {
        1
    } else if u < P_SEV1[profile] + P_SEV3[profile] {
        3
    } else {
        5
    }
}

fn std_normal(rng: &mut impl Rng) -> f64 {
    rng.sample(StandardNormal)
}

/// An honest stay of `patient` in `group` at hospital `target`, admitted on `admit`.
pub(crate) fn make_stay(
    rng: &mut impl Rng,
    ctx: &Ctx<'_>,
    target: &Hospital,
    group: usize,
    admit: i32,
    patient: &Patient,
) -> Case {
    let cat = ctx.cat;
    let g = &cat.groups[group];
    let fam = &cat.families[g.family];
    // An efficient, TCM or rehabilitation hospital treats the same group at its own
    // cost and pace (factors 1 elsewhere).
    let expected = cat.expected_cost(group, target.level) * target.cost_factor();

    let u: f64 = rng.random();
    let cheap = ctx.opts.cheap_completed_share;
    let mix = mix_mean(cheap);
    let (m, los, disposition) = if u < P_LOW {
        // Early transfer, death or discharge against advice: a natural low-multiplier
        // case with a short stay.
        let m = rng.random_range(LOW_RANGE.0..LOW_RANGE.1) / mix;
        let los = (g.los_mean * rng.random_range(0.1..0.5)).round();
        let d = rng.random::<f64>();
        let disposition = if d < 0.4 {
            2
        } else if d < 0.7 {
            4
        } else if d < 0.9 {
            5
        } else {
            9
        };
        (m, los, disposition)
    } else if u < P_LOW + P_HIGH {
        // Complications: a natural high-multiplier case with a long stay.
        let m = rng.random_range(HIGH_RANGE.0..HIGH_RANGE.1) / mix;
        let los = (g.los_mean * m.powf(0.8) * rng.random_range(0.9..1.3)).round();
        let disposition = if rng.random::<f64>() < 0.06 { 5 } else { 1 };
        (m, los, disposition)
    } else if u < P_LOW + P_HIGH + cheap {
        // A short diagnostic or observation stay that ends normally: cheap and honest.
        let m = CHEAP_MEDIAN * (CHEAP_SIGMA * std_normal(rng)).exp() / mix;
        let los = (g.los_mean * m.min(1.0) * rng.random_range(0.5..1.0)).round();
        (m, los, 1)
    } else {
        let m = (SIGMA * std_normal(rng) - SIGMA * SIGMA / 2.0).exp() / mix;
        // Stay follows cost (elasticity 0.6) with its own noise.
        let los = (g.los_mean * m.powf(0.6) * (0.25 * std_normal(rng) - 0.031).exp()).round();
        let d = rng.random::<f64>();
        let p_death = 0.002 + if g.severity == 1 { 0.01 } else { 0.0 };
        let disposition = if d < p_death {
            5
        } else if d < p_death + 0.01 {
            2
        } else if d < p_death + 0.03 {
            3
        } else if d < p_death + 0.04 {
            4
        } else if d < p_death + 0.045 {
            9
        } else {
            1
        };
        (m, los, disposition)
    };
    let los = ((los * target.los_factor()).round() as i32).clamp(1, 150);
    let year = civil_from_days(admit).0;
    let age = (year - patient.birth_year).clamp(0, 110);

    let mut case = Case {
        patient: patient.key,
        admit,
        discharge: admit + los,
        group: group as u32,
        cost_cents: ((expected * m * 100.0).round() as i64).max(5_000),
        pad_cents: 0,
        main_dx: skewed(&fam.dx_pool, rng),
        procedure: if g.proc_pool.is_empty() {
            NO_CODE
        } else {
            skewed(&g.proc_pool, rng)
        },
        sec: [0; MAX_SEC],
        n_sec: 0,
        disposition,
        planned: false,
        dept: department(fam.mdc, g.kind, target.level, age),
        physician: rng.random_range(0..target.physicians_per_dept()),
        age: age as u8,
        sex: patient.sex,
        insurance: patient.insurance,
        pattern: None,
        variant: None,
        fee_seed: rng.random(),
    };
    let severity = match g.severity {
        9 => latent_severity(target.profile(), rng),
        s => s,
    };
    fill_secondaries(cat, &mut case, severity, g.kind == Kind::Chemo, rng);
    // Honest dictionary disagreement: the severity code is one the CHS-DRG 1.1 table does
    // not accept with this main diagnosis (a local grouper edition differs). Decided from
    // the case's own fee seed, so the share moves no other draw.
    if matches!(g.severity, 1 | 3) && unit_of(case.fee_seed) < ctx.opts.coding_disagreement {
        let (sec, n_sec) = (case.sec, case.n_sec);
        fill_secondaries(cat, &mut case, 5, false, rng);
        if !push_excluded(cat, &mut case, g.severity == 1, rng) {
            (case.sec, case.n_sec) = (sec, n_sec);
        }
    }
    // The same for the main diagnosis: a small share of honest medical stays carry a main
    // diagnosis the dictionary files under a neighbouring ADRG of the same MDC. Also from
    // the fee seed (salted), so no other draw moves.
    let salted = case.fee_seed ^ 0x6d61_696e_5f64_7800;
    if unit_of(salted) < ctx.opts.main_dx_disagreement
        && let Some(dx) = cat.neighbour_main_dx(g.family, mix64(salted))
    {
        // Only where the new main diagnosis excludes none of the secondary codes: the
        // severity disagreement is `coding_disagreement`'s alone.
        let mut swapped = case.clone();
        swapped.main_dx = dx;
        let category = cat.icd[dx as usize].category();
        if case.secondaries().iter().all(|&k| {
            cat.icd[k as usize].category() != category && !excluded_by_main(cat, &swapped, k)
        }) {
            case.main_dx = dx;
        }
    }
    // And for the procedure of a surgical or non-OR stay: one the dictionary files under
    // another ADRG of the same MDC (salted differently, so the two shares are independent).
    let salted = case.fee_seed ^ 0x7072_6f63_5f64_7800;
    if case.procedure != NO_CODE
        && unit_of(salted) < ctx.opts.main_dx_disagreement
        && let Some(px) = cat.neighbour_procedure(g.family, mix64(salted))
    {
        case.procedure = px;
    }
    case
}

/// SplitMix64's finaliser as a 64-bit hash.
fn mix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in [0, 1) from a seed (SplitMix64's finaliser).
fn unit_of(seed: u64) -> f64 {
    mix64(seed) as f64 / (u64::MAX as f64 + 1.0)
}

/// Re-draws the secondary diagnoses of a case for a new group (split stays moving the
/// second half to the lighter sibling).
pub(crate) fn refill_secondaries(
    cat: &Catalogue,
    case: &mut Case,
    profile: usize,
    rng: &mut impl Rng,
) {
    let g = &cat.groups[case.group as usize];
    let severity = match g.severity {
        9 => latent_severity(profile, rng),
        s => s,
    };
    fill_secondaries(cat, case, severity, g.kind == Kind::Chemo, rng);
}

fn year_volume(ctx: &Ctx<'_>, h: &Hospital, yi: usize, base: f64, rng: &mut impl Rng) -> usize {
    if h.is_tiny() {
        return rng.random_range(15..=40);
    }
    let audited = yi + 1 == ctx.years.len() && yi > 0;
    let growth = match h.base_role {
        Role::HonestGrowth if audited => 1.35,
        // A merged hospital's patients arrive with it: twice the volume, same mix.
        Role::Merger if audited => 2.0,
        _ => 1.0,
    };
    (base * rng.random_range(0.97..1.04) * growth).round() as usize
}

/// A hospital's own stays and the readmissions it refers to (target index, stay).
type HospitalOut = (Vec<Case>, Vec<(usize, Case)>);

/// Generates one hospital's own stays (gaming included) and the readmissions it
/// sends elsewhere. Depends only on the options and the hospital index.
fn generate_hospital<'a>(ctx: &Ctx<'a>, h: &'a Hospital) -> HospitalOut {
    let mut rng = ChaCha8Rng::seed_from_u64(ctx.opts.seed);
    // One ChaCha stream per hospital: a hospital's data never depends on how many
    // draws the others made, or on which thread ran it.
    rng.set_stream(h.index as u64 + 1);
    let base = ctx.per_unit * h.units * rng.random_range(0.85..1.15);
    let mut st = HospState {
        h,
        rng,
        patients: Vec::new(),
        cases: Vec::new(),
        outbound: Vec::new(),
        fav_cc: Vec::new(),
        fav_mcc: Vec::new(),
    };
    gaming::prepare(ctx, &mut st);
    let profile = h.profile();
    for (yi, span) in ctx.years.iter().enumerate() {
        let n = year_volume(ctx, h, yi, base, &mut st.rng);
        let mut regular = n;
        if h.base_role == Role::OncologyCentre && ctx.cat.chemo_family.is_some() {
            let chemo = (n as f64 * CHEMO_SHARE).round() as usize;
            chemo_cycles(ctx, &mut st, span, chemo);
            regular = n - chemo;
        }
        for _ in 0..regular {
            let f = ctx.sample_family(h, &mut st.rng);
            let group = ctx.sample_group(f, profile, &mut st.rng);
            let admit = span.start + st.rng.random_range(0..span.len);
            let patient =
                st.pick_patient(ctx.cat.families[f].mdc, span.year, admit, P_REUSE_PATIENT);
            let mut case = make_stay(&mut st.rng, ctx, h, group, admit, &patient);
            let second = gaming::apply(ctx, &mut st, &mut case, span.year);
            let readmit = case.disposition != 5 && second.is_none();
            let (discharge, family) = (case.discharge, f);
            st.cases.push(case);
            if let Some(s) = second {
                st.cases.push(s);
            }
            if readmit && st.rng.random::<f64>() < P_READMIT {
                natural_readmission(ctx, &mut st, &patient, discharge, family);
            }
        }
        if let Some(spec) = h.active(GamingPattern::LowStandardAdmission, span.year) {
            let extra = (spec.intensity * n as f64).round() as usize;
            gaming::low_standard_admissions(ctx, &mut st, span, extra);
        }
    }
    (st.cases, st.outbound)
}

/// An unplanned readmission 2–29 days after discharge (rarely the next day), in the
/// same family half the time, sometimes at another hospital.
fn natural_readmission(
    ctx: &Ctx<'_>,
    st: &mut HospState<'_>,
    patient: &Patient,
    discharge: i32,
    family: usize,
) {
    let rng = &mut st.rng;
    let gap = if rng.random::<f64>() < 0.03 {
        1
    } else {
        2 + (28.0 * rng.random::<f64>().powf(1.6)) as i32
    };
    let admit = discharge + gap;
    if admit > ctx.last_day {
        return;
    }
    let year = civil_from_days(admit).0;
    let target = if rng.random::<f64>() < P_READMIT_ELSEWHERE {
        ctx.sample_referral(st.h.index, rng).unwrap_or(st.h.index)
    } else {
        st.h.index
    };
    let th = &ctx.roster[target];
    let mut f = family;
    if rng.random::<f64>() < 0.5 {
        let other = ctx.sample_family(th, rng);
        if compatible(patient, ctx.cat.families[other].mdc, year) {
            f = other;
        }
    }
    let group = ctx.sample_group(f, th.profile(), rng);
    let case = make_stay(rng, ctx, th, group, admit, patient);
    if target == st.h.index {
        st.cases.push(case);
    } else {
        st.outbound.push((target, case));
    }
}

/// Chemotherapy: each patient returns every 21–28 days for 4–8 short cycles, all
/// flagged as planned readmissions (出院31天内再住院计划 = 1).
fn chemo_cycles(ctx: &Ctx<'_>, st: &mut HospState<'_>, span: &YearSpan, stays: usize) {
    let Some(f) = ctx.cat.chemo_family else {
        return;
    };
    let mut made = 0;
    while made < stays {
        let patient = st.new_patient(b'R', span.year);
        let group = ctx.sample_group(f, st.h.profile(), &mut st.rng);
        let cycles = st.rng.random_range(4..=8);
        let mut admit = span.start + st.rng.random_range(0..span.len);
        let template = make_stay(&mut st.rng, ctx, st.h, group, admit, &patient);
        for cycle in 0..cycles {
            if admit > ctx.last_day || made >= stays {
                break;
            }
            let rng = &mut st.rng;
            let mut case = template.clone();
            let los = rng.random_range(2..=5);
            case.admit = admit;
            case.discharge = admit + los;
            // Cycles cost what the regimen costs: tighter than general stays.
            let expected = ctx.cat.expected_cost(group, st.h.level);
            case.cost_cents =
                (expected * (0.2 * std_normal(rng) - 0.02).exp() * 100.0).round() as i64;
            case.disposition = 1;
            // 出院31天内再住院计划 is set at the discharge that plans the next cycle.
            case.planned = match ctx.opts.planned_flag {
                PlannedFlag::EveryCycle => true,
                PlannedFlag::BeforeNextCycle => cycle + 1 < cycles,
            };
            case.age = (civil_from_days(admit).0 - patient.birth_year).clamp(0, 110) as u8;
            case.fee_seed = rng.random();
            st.cases.push(case);
            made += 1;
            admit += rng.random_range(21..=28);
        }
    }
}

/// Generates every hospital (in parallel; the result does not depend on threads),
/// routes referred readmissions to their hospitals and sorts each hospital's stays.
pub(crate) fn generate_region(
    opts: &GenerateOptions,
    cat: &Catalogue,
    roster: &[Hospital],
) -> Region {
    let ctx = Ctx::new(opts, cat, roster);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 16)
        .min(roster.len().max(1));
    let mut outs: Vec<Option<HospitalOut>> = (0..roster.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let ctx = &ctx;
                s.spawn(move || {
                    roster
                        .iter()
                        .skip(t)
                        .step_by(threads)
                        .map(|h| (h.index, generate_hospital(ctx, h)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            // A panic in a worker is a bug in this module; surface it unchanged.
            for (i, out) in handle
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e))
            {
                outs[i] = Some(out);
            }
        }
    });
    let mut own: Vec<Vec<Case>> = Vec::with_capacity(roster.len());
    let mut outbound = Vec::new();
    for out in outs {
        let (cases, out) = out.unwrap_or_default();
        own.push(cases);
        outbound.push(out);
    }
    // Referred readmissions join their hospital in source-hospital order.
    for out in outbound {
        for (target, case) in out {
            own[target].push(case);
        }
    }
    for cases in &mut own {
        cases.sort_by(|a, b| {
            (a.discharge, a.admit, a.patient, a.group, a.cost_cents).cmp(&(
                b.discharge,
                b.admit,
                b.patient,
                b.group,
                b.cost_cents,
            ))
        });
    }
    Region {
        hospitals: own,
        focus: ctx.focus,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}
