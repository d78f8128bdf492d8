//! Coding validation (issue 11): the severity a case's own codes support under the CHS-DRG
//! 1.1 rules, against the severity its group claims.
//!
//! For a case in a group split by CC/MCC (claimed severity 1, 3 or 5) with a main diagnosis
//! and a secondary-diagnosis column, each distinct secondary code *counts* when it is a CC
//! (or MCC) and the main diagnosis does not exclude it ([`reference::excluded`]). The codes
//! support severity 1 with a counting MCC, 3 with a counting CC (an MCC is also a CC), else 5.
//!
//! A claim rests on a single code (its *lever*) when exactly one counting code is at the
//! claimed level: dropping it makes the codes support less than the claim. (Support is "at
//! least one counting code of the level", so two such codes never are levers, and the drop-one
//! test needs no recomputation: `tests` checks it against one by brute force.)

use rustc_hash::FxHashMap;

use crate::catalog::Catalog;
use crate::config::Scheme;
use crate::ingest::{Cases, NONE_U32};
use crate::reference::{self, CcFlags};

/// Severity 0: the case was not checked (no secondary-diagnosis column, or a group not
/// split by CC/MCC). A case without a main diagnosis is checked with no exclusion.
pub const NOT_CHECKED: u8 = 0;

/// Per case, aligned with [`Cases`].
#[derive(Debug, Clone, Default)]
pub struct CodingSupport {
    /// Severity the codes support under the exclusion rule (1/3/5), or [`NOT_CHECKED`].
    pub supported: Vec<u8>,
    /// Severity the codes would support if the main diagnosis excluded nothing.
    pub unexcluded: Vec<u8>,
    /// The one code the claimed severity rests on, [`NONE_U32`] when none (two or more
    /// counting codes, or a claim the codes do not support).
    pub lever: Vec<u32>,
    /// Distinct secondary codes per case that the dictionary does not know.
    pub unknown: Vec<u8>,
    /// Whether the main diagnosis fits the claimed group ([`main_dx_consistency`]).
    pub main_dx: Vec<MainDxFit>,
    /// For a misfit, the catalogue group its main diagnosis leads to, else [`NONE_U32`].
    pub main_dx_target: Vec<u32>,
    /// For a medical-ADRG claim, the lighter group of the same MDC that one of its
    /// *secondary* diagnoses leads to as a main diagnosis ([`lighter_main_dx`]), else
    /// [`NONE_U32`].
    pub lighter_main: Vec<u32>,
}

/// One case's assessment (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessment {
    /// Supported severity (1/3/5).
    pub supported: u8,
    /// Supported severity with no exclusion.
    pub unexcluded: u8,
    /// Index (into the case's code list) of the lever code, if the claim rests on one.
    pub lever: Option<usize>,
}

/// The severity a set of flags supports; `exclude` decides which codes the main diagnosis
/// excludes.
fn support(codes: &[CcFlags], exclude: impl Fn(&CcFlags) -> bool) -> u8 {
    let counting = || codes.iter().filter(|f| f.cc && !exclude(f));
    if counting().any(|f| f.mcc) {
        1
    } else if counting().next().is_some() {
        3
    } else {
        5
    }
}

/// Assesses one case: its claimed severity, its main diagnosis's exclusion table and the
/// flags of its *distinct* secondary codes.
pub fn assess(claimed: u8, main_table: u16, codes: &[CcFlags]) -> Assessment {
    let excluded = |f: &CcFlags| reference::excluded(*f, main_table);
    let supported = support(codes, excluded);
    let unexcluded = support(codes, |_| false);
    let at_claim = |f: &CcFlags| f.cc && !excluded(f) && (claimed != 1 || f.mcc);
    let lever = if supported <= claimed && matches!(claimed, 1 | 3) {
        let mut at = codes.iter().enumerate().filter(|(_, f)| at_claim(f));
        match (at.next(), at.next()) {
            (Some((k, _)), None) => Some(k),
            _ => None,
        }
    } else {
        None
    };
    Assessment {
        supported,
        unexcluded,
        lever,
    }
}

/// Assesses every case; `severity` is the claimed severity per case (see `derive`).
pub fn coding_support(cases: &Cases, severity: &[u8]) -> CodingSupport {
    let n = cases.len();
    let mut out = CodingSupport {
        supported: vec![NOT_CHECKED; n],
        unexcluded: vec![NOT_CHECKED; n],
        lever: vec![NONE_U32; n],
        unknown: vec![0; n],
        main_dx: Vec::new(),
        main_dx_target: Vec::new(),
        lighter_main: Vec::new(),
    };
    // Without a main diagnosis nothing can be excluded: the codes are assessed with no
    // exclusion (table 0), and `UPC_EXCLUDED_CC` says it cannot be tested.
    if !cases.has("secondary_diagnoses") {
        return out;
    }
    let book = &cases.codes.codes;
    let flags: Vec<CcFlags> = book.iter().map(|c| reference::cc_flags(c)).collect();
    let tables: Vec<u16> = book.iter().map(|c| reference::main_table(c)).collect();
    let mut distinct: Vec<u32> = Vec::new();
    let mut case_flags: Vec<CcFlags> = Vec::new();
    for (i, &claimed) in severity.iter().enumerate().take(n) {
        let main = cases.main_diagnosis[i];
        if !matches!(claimed, 1 | 3 | 5) {
            continue;
        }
        let table = if main == NONE_U32 {
            0
        } else {
            tables[main as usize]
        };
        distinct.clear();
        distinct.extend(cases.secondary.of(i).iter().copied().filter(|&k| k != main));
        distinct.sort_unstable();
        distinct.dedup();
        case_flags.clear();
        case_flags.extend(distinct.iter().map(|&k| flags[k as usize]));
        let a = assess(claimed, table, &case_flags);
        out.supported[i] = a.supported;
        out.unexcluded[i] = a.unexcluded;
        out.lever[i] = a.lever.map_or(NONE_U32, |k| distinct[k]);
        out.unknown[i] = case_flags
            .iter()
            .filter(|f| !f.known)
            .count()
            .min(u8::MAX as usize) as u8;
    }
    out
}

/// Grouping consistency of a case's main diagnosis with its claimed group
/// (`UPC_MAIN_DX_ADRG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MainDxFit {
    /// Not checked: a medical claim without a main diagnosis the dictionary knows, a
    /// surgical or non-OR claim without a listed procedure the dictionary knows (or of an
    /// ADRG no procedure of the dictionary leads to), or a group whose code carries neither.
    #[default]
    NotChecked,
    /// The main diagnosis leads to the claimed medical ADRG (DIP: lies in the group's
    /// category), or a listed procedure leads to the claimed surgical or non-OR ADRG.
    Fits,
    /// It does not: the claim is not where the coded main diagnosis (procedures) leads.
    Misfits,
}

/// The diagnosis a group code carries, as the grouper reads it: for a CHS-DRG code the
/// medical ADRG (second letter R–Z) it names; for a DIP code the ICD-10 category (a letter
/// and two digits) it starts with. `None` when the code carries no diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarriedDiagnosis<'a> {
    /// A medical ADRG: the main diagnosis must lead there (dictionary's ADRG column).
    MedicalAdrg(&'a str),
    /// A DIP diagnosis category: the main diagnosis must start with it.
    Category(&'a str),
}

/// What diagnosis `group_code` carries under `scheme` (see [`CarriedDiagnosis`]).
pub fn carried_diagnosis(group_code: &str, scheme: Scheme) -> Option<CarriedDiagnosis<'_>> {
    let b = group_code.as_bytes();
    match scheme {
        // `RE1` (chemotherapy and radiotherapy) is medical by letter but entered by the
        // treatment, not the diagnosis: it is left out.
        Scheme::Drg => (b.len() >= 3
            && b[0].is_ascii_uppercase()
            && (b'R'..=b'Z').contains(&b[1])
            && b[2].is_ascii_digit()
            && &group_code[..3] != "RE1")
            .then(|| CarriedDiagnosis::MedicalAdrg(&group_code[..3])),
        Scheme::Dip => (b.len() >= 3
            && b[0].is_ascii_uppercase()
            && b[1].is_ascii_digit()
            && b[2].is_ascii_digit())
        .then(|| CarriedDiagnosis::Category(&group_code[..3])),
    }
}

/// The procedure-defined ADRG a CHS-DRG group code names: surgical (second letter A–J) or
/// non-OR (K–Q), and only when some procedure of the dictionary leads there
/// ([`reference::procedure_defines`]); `None` under DIP, whose codes carry a diagnosis.
pub fn procedure_adrg(group_code: &str, scheme: Scheme) -> Option<&str> {
    let b = group_code.as_bytes();
    (scheme == Scheme::Drg
        && b.len() >= 3
        && b[0].is_ascii_uppercase()
        && (b'A'..=b'Q').contains(&b[1])
        && b[2].is_ascii_digit()
        && reference::procedure_defines(&group_code[..3]))
    .then(|| &group_code[..3])
}

/// Whether the listed procedures (NHSA ICD-9-CM-3 codes) fit a claimed procedure-defined
/// ADRG: one of them leads there. Procedures the dictionary does not know say nothing;
/// with none it knows, the claim is not checked.
pub fn procedures_fit(procedures: &[&str], adrg: &str) -> MainDxFit {
    let known = || procedures.iter().filter(|p| reference::cc_flags(p).known);
    if known().next().is_none() {
        MainDxFit::NotChecked
    } else if known().any(|p| reference::adrgs_of(p).contains(&adrg)) {
        MainDxFit::Fits
    } else {
        MainDxFit::Misfits
    }
}

/// Whether `main` (an NHSA ICD-10 code) fits the diagnosis its group carries.
pub fn main_dx_fit(main: &str, carried: CarriedDiagnosis<'_>) -> MainDxFit {
    if !reference::cc_flags(main).known {
        return MainDxFit::NotChecked;
    }
    let fits = match carried {
        CarriedDiagnosis::MedicalAdrg(adrg) => reference::adrgs_of(main).contains(&adrg),
        CarriedDiagnosis::Category(cat) => main.get(..3) == Some(cat),
    };
    if fits {
        MainDxFit::Fits
    } else {
        MainDxFit::Misfits
    }
}

/// The diagnosis each catalogue group carries ([`carried_diagnosis`]), and the groups by
/// the ADRG (DIP: category) they carry: read once per catalogue and shared by
/// [`main_dx_consistency`] and [`lighter_main_dx`].
pub struct GroupDiagnoses<'a> {
    scheme: Scheme,
    /// Per catalogue group.
    carried: Vec<Option<CarriedDiagnosis<'a>>>,
    /// Catalogue groups by the ADRG (DIP: category) they carry, in catalogue order.
    by_prefix: FxHashMap<&'a str, Vec<u32>>,
    /// Per catalogue group, the procedure-defined ADRG it names ([`procedure_adrg`]).
    procedure: Vec<Option<&'a str>>,
    /// Catalogue groups by the procedure-defined ADRG they name, in catalogue order.
    by_procedure_adrg: FxHashMap<&'a str, Vec<u32>>,
}

impl<'a> GroupDiagnoses<'a> {
    pub fn new(catalog: &'a Catalog, scheme: Scheme) -> Self {
        let carried: Vec<Option<CarriedDiagnosis<'a>>> = catalog
            .groups
            .iter()
            .map(|g| carried_diagnosis(&g.code, scheme))
            .collect();
        let by_prefix = groups_by(carried.iter().map(|c| {
            c.map(|(CarriedDiagnosis::MedicalAdrg(a) | CarriedDiagnosis::Category(a))| a)
        }));
        let procedure: Vec<Option<&'a str>> = catalog
            .groups
            .iter()
            .map(|g| procedure_adrg(&g.code, scheme))
            .collect();
        let by_procedure_adrg = groups_by(procedure.iter().copied());
        GroupDiagnoses {
            scheme,
            carried,
            by_prefix,
            procedure,
            by_procedure_adrg,
        }
    }

    /// What group `g` carries; `None` also for a code outside the catalogue.
    fn of(&self, g: u32) -> Option<CarriedDiagnosis<'a>> {
        self.carried.get(g as usize).copied().flatten()
    }

    /// The procedure-defined ADRG group `g` names; `None` also outside the catalogue.
    fn procedure_of(&self, g: u32) -> Option<&'a str> {
        self.procedure.get(g as usize).copied().flatten()
    }
}

/// Catalogue groups (by index, in catalogue order) under the prefix each one has.
fn groups_by<'a>(prefixes: impl Iterator<Item = Option<&'a str>>) -> FxHashMap<&'a str, Vec<u32>> {
    let mut by: FxHashMap<&'a str, Vec<u32>> = FxHashMap::default();
    for (k, p) in prefixes.enumerate() {
        if let Some(p) = p {
            by.entry(p).or_default().push(k as u32);
        }
    }
    by
}

/// How group `a` compares with group `b` by weight, the lower code the heavier on a tie:
/// the order in which "the heaviest group" is chosen.
fn heavier_group(catalog: &Catalog, a: u32, b: u32) -> std::cmp::Ordering {
    let (ga, gb) = (&catalog.groups[a as usize], &catalog.groups[b as usize]);
    ga.weight
        .total_cmp(&gb.weight)
        .then_with(|| gb.code.cmp(&ga.code))
}

/// [`main_dx_fit`] per case (for a surgical or non-OR claim [`procedures_fit`]), and for a
/// misfit the catalogue group where its main diagnosis (procedures) leads ([`NONE_U32`]
/// when none is in the catalogue), one diagnosis look-up per distinct (group, main
/// diagnosis) pair.
pub fn main_dx_consistency(
    cases: &Cases,
    catalog: &Catalog,
    groups: &GroupDiagnoses<'_>,
) -> (Vec<MainDxFit>, Vec<u32>) {
    let n = cases.len();
    let has_dx = cases.has("main_diagnosis");
    let has_px = cases.has("main_procedure") || cases.has("other_procedures");
    let mut memo: FxHashMap<(u32, u32), (MainDxFit, u32)> = FxHashMap::default();
    let mut listed: Vec<&str> = Vec::new();
    let mut fit = Vec::with_capacity(n);
    let mut target = Vec::with_capacity(n);
    for i in 0..n {
        let (g, main) = (cases.group[i], cases.main_diagnosis[i]);
        let (f, t) = match (groups.of(g), groups.procedure_of(g)) {
            (Some(c), _) if has_dx && main != NONE_U32 => {
                *memo.entry((g, main)).or_insert_with(|| {
                    let code = &cases.codes.codes[main as usize];
                    let f = main_dx_fit(code, c);
                    let t = if f == MainDxFit::Misfits {
                        where_it_leads(catalog, &groups.by_prefix, g, code, c)
                    } else {
                        NONE_U32
                    };
                    (f, t)
                })
            }
            (_, Some(adrg)) if has_px => {
                listed.clear();
                listed.extend(
                    cases
                        .procedures
                        .of(i)
                        .iter()
                        .map(|&k| cases.codes.codes[k as usize].as_str()),
                );
                let f = procedures_fit(&listed, adrg);
                let t = if f == MainDxFit::Misfits {
                    where_procedures_lead(catalog, &groups.by_procedure_adrg, g, &listed)
                } else {
                    NONE_U32
                };
                (f, t)
            }
            _ => (MainDxFit::NotChecked, NONE_U32),
        };
        fit.push(f);
        target.push(t);
    }
    (fit, target)
}

/// The catalogue group a surgical or non-OR misfit's procedures lead to: among the
/// procedure-defined ADRGs of the claim's MDC that a listed procedure leads to, the
/// heaviest group of the claimed severity, else the heaviest group there (never
/// overstating the money at stake); [`NONE_U32`] when none is in the catalogue.
fn where_procedures_lead(
    catalog: &Catalog,
    by_adrg: &FxHashMap<&str, Vec<u32>>,
    claimed: u32,
    procedures: &[&str],
) -> u32 {
    let code = &catalog.groups[claimed as usize].code;
    let (mdc, suffix) = (&code[..1], code.get(3..).unwrap_or(""));
    let candidates: Vec<u32> = procedures
        .iter()
        .flat_map(|p| reference::adrgs_of(p).iter())
        .filter(|a| a.starts_with(mdc))
        .filter_map(|a| by_adrg.get(a))
        .flatten()
        .copied()
        .collect();
    heaviest_preferring(catalog, &candidates, suffix)
}

/// The heaviest of `candidates` whose code ends in `suffix` (the claimed severity or DIP
/// treatment), else the heaviest of all; [`NONE_U32`] when there are none.
fn heaviest_preferring(catalog: &Catalog, candidates: &[u32], suffix: &str) -> u32 {
    let heaviest =
        |it: &mut dyn Iterator<Item = u32>| it.max_by(|&a, &b| heavier_group(catalog, a, b));
    heaviest(
        &mut candidates
            .iter()
            .copied()
            .filter(|&k| catalog.groups[k as usize].code.get(3..).unwrap_or("") == suffix),
    )
    .or_else(|| heaviest(&mut candidates.iter().copied()))
    .unwrap_or(NONE_U32)
}

/// Per case in a medical-ADRG group (DRG), the lighter catalogue group of the same MDC and
/// severity that one of its secondary diagnoses leads to as a main diagnosis: the case could
/// have been grouped there had that diagnosis been chosen as the main one (主要诊断选择, the
/// first item of a DRG coding audit). The heaviest such group, so the points at stake are
/// never overstated; [`NONE_U32`] when there is none.
pub fn lighter_main_dx(cases: &Cases, catalog: &Catalog, groups: &GroupDiagnoses<'_>) -> Vec<u32> {
    let n = cases.len();
    if groups.scheme != Scheme::Drg || !cases.has("secondary_diagnoses") {
        return vec![NONE_U32; n];
    }
    // Under DRG every carried diagnosis is a medical ADRG, the first three characters of
    // its group's code.
    let by_adrg = &groups.by_prefix;
    let mut memo: FxHashMap<(u32, u32), u32> = FxHashMap::default();
    let mut lighter = |g: u32, code: u32| -> u32 {
        *memo.entry((g, code)).or_insert_with(|| {
            let claimed = &catalog.groups[g as usize];
            let (adrg, suffix) = (&claimed.code[..3], &claimed.code[3..]);
            reference::adrgs_of(&cases.codes.codes[code as usize])
                .iter()
                .filter(|a| *a != &adrg && a.as_bytes()[0] == adrg.as_bytes()[0])
                .filter_map(|a| by_adrg.get(a))
                .flatten()
                .copied()
                .filter(|&k| {
                    let t = &catalog.groups[k as usize];
                    t.code.get(3..) == Some(suffix) && t.weight < claimed.weight
                })
                .max_by(|&a, &b| heavier_group(catalog, a, b))
                .unwrap_or(NONE_U32)
        })
    };
    (0..n)
        .map(|i| {
            let g = cases.group[i];
            if groups.of(g).is_none() {
                return NONE_U32;
            }
            let main = cases.main_diagnosis[i];
            let mut best = NONE_U32;
            for &k in cases.secondary.of(i).iter().filter(|&&k| k != main) {
                let t = lighter(g, k);
                if t != NONE_U32
                    && (best == NONE_U32
                        || heavier_group(catalog, t, best) == std::cmp::Ordering::Greater)
                {
                    best = t;
                }
            }
            best
        })
        .collect()
}

/// The catalogue group a misfit's main diagnosis leads to: in its ADRGs (DIP: its
/// category), the sibling of the claimed group's severity (DIP: treatment) when it exists,
/// else the heaviest group there — the heaviest candidate, so the money at stake is never
/// overstated. [`NONE_U32`] when no candidate is in the catalogue.
fn where_it_leads(
    catalog: &Catalog,
    by_prefix: &FxHashMap<&str, Vec<u32>>,
    claimed: u32,
    main: &str,
    carried: CarriedDiagnosis<'_>,
) -> u32 {
    let suffix = catalog.groups[claimed as usize].code.get(3..).unwrap_or("");
    let prefixes: Vec<&str> = match carried {
        CarriedDiagnosis::MedicalAdrg(_) => reference::adrgs_of(main).to_vec(),
        CarriedDiagnosis::Category(_) => main.get(..3).into_iter().collect(),
    };
    let candidates: Vec<u32> = prefixes
        .iter()
        .filter_map(|p| by_prefix.get(p))
        .flatten()
        .copied()
        .collect();
    heaviest_preferring(catalog, &candidates, suffix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn f(code: &str) -> CcFlags {
        reference::cc_flags(code)
    }

    /// E41 (marasmus) as a main diagnosis: table 49, E43 severe malnutrition's own table.
    fn table_49() -> u16 {
        reference::main_table("E41.x00")
    }

    #[test]
    fn a_medical_claim_fits_where_the_main_diagnosis_leads_and_misfits_elsewhere() {
        let bw2 = carried_diagnosis("BW29", Scheme::Drg).unwrap();
        assert_eq!(bw2, CarriedDiagnosis::MedicalAdrg("BW2"));
        assert_eq!(main_dx_fit("G80.000", bw2), MainDxFit::Fits);
        // Alzheimer's disease leads to BX1, not to BW2.
        assert_eq!(main_dx_fit("G30.800", bw2), MainDxFit::Misfits);
        assert_eq!(main_dx_fit("NOT.A.CODE", bw2), MainDxFit::NotChecked);
        // Surgical (B–H/J) and non-OR (K–Q) ADRGs are defined by procedures; RE1 by the
        // treatment.
        for code in ["BB19", "KD19", "RE19"] {
            assert_eq!(carried_diagnosis(code, Scheme::Drg), None, "{code}");
        }
    }

    #[test]
    fn a_procedure_defined_claim_fits_where_a_listed_procedure_leads() {
        assert_eq!(procedure_adrg("KD13", Scheme::Drg), Some("KD1"));
        assert_eq!(procedure_adrg("ZJ19", Scheme::Drg), Some("ZJ1"));
        assert_eq!(procedure_adrg("BW29", Scheme::Drg), None, "medical");
        assert_eq!(
            procedure_adrg("SB19", Scheme::Drg),
            None,
            "no procedure of the dictionary leads to SB1: not checkable"
        );
        assert_eq!(procedure_adrg("KD1:手术", Scheme::Dip), None);
        // 06.2x00 (unilateral thyroid lobectomy) leads to KD1 and to ZJ1.
        assert_eq!(procedures_fit(&["06.2x00"], "KD1"), MainDxFit::Fits);
        assert_eq!(procedures_fit(&["06.2x00"], "ZJ1"), MainDxFit::Fits);
        assert_eq!(procedures_fit(&["36.0601"], "KD1"), MainDxFit::Misfits);
        assert_eq!(
            procedures_fit(&["36.0601", "06.2x00"], "KD1"),
            MainDxFit::Fits,
            "any listed procedure may define the claim"
        );
        assert_eq!(procedures_fit(&["99.9999"], "KD1"), MainDxFit::NotChecked);
        assert_eq!(
            procedures_fit(&["99.9999", "36.0601"], "KD1"),
            MainDxFit::Misfits,
            "an unknown code says nothing; the known one decides"
        );
        assert_eq!(procedures_fit(&[], "KD1"), MainDxFit::NotChecked);
    }

    /// Surgical claims read from a case file with both procedure columns: fit, misfit with
    /// its target group, and the cases that cannot be checked.
    #[test]
    fn surgical_claims_are_checked_against_the_procedures_read() {
        let config = crate::config::RegionConfig::default_drg();
        let catalog = crate::ingest::groups::test_catalog(
            &[
                ("KC13", "3.89", "KC1", "3"),
                ("KC15", "3.86", "KC1", "5"),
                ("KD13", "2.55", "KD1", "3"),
                ("KD15", "1.98", "KD1", "5"),
                ("KJ11", "2.00", "KJ1", "1"),
                ("SB11", "3.00", "SB1", "1"),
            ],
            &config,
        );
        let csv = "case_id,hospital_id,patient_id,admit_date,discharge_date,group_code,total_cost,main_procedure,other_procedures\n\
            S1,H1,P1,2024-03-01,2024-03-05,KC13,9000,07.1300,\n\
            S2,H1,P2,2024-03-01,2024-03-05,KC13,9000,06.2x00,\n\
            S3,H1,P3,2024-03-01,2024-03-05,KC13,9000,99.9999,36.0601|07.1300\n\
            S4,H1,P4,2024-03-01,2024-03-05,KC13,9000,99.9999,\n\
            S5,H1,P5,2024-03-01,2024-03-05,KC13,9000,,\n\
            S6,H1,P6,2024-03-01,2024-03-05,KC15,9000,36.0601,\n\
            S7,H1,P7,2024-03-01,2024-03-05,KJ11,9000,,06.2x00\n\
            S8,H1,P8,2024-03-01,2024-03-05,SB11,9000,06.2x00,\n";
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cases.csv");
        std::fs::write(&path, csv).expect("write");
        let cases = crate::ingest::read_cases(&path, &catalog)
            .expect("reads")
            .cases;
        let listed = |i: usize| -> Vec<&str> {
            let c = &cases.codes.codes;
            cases
                .procedures
                .of(i)
                .iter()
                .map(|&k| c[k as usize].as_str())
                .collect()
        };
        assert_eq!(listed(2), ["99.9999", "36.0601", "07.1300"], "main first");
        assert!(listed(4).is_empty());
        let groups = GroupDiagnoses::new(&catalog, Scheme::Drg);
        let (fit, target) = main_dx_consistency(&cases, &catalog, &groups);
        let group = |k: u32| (k != NONE_U32).then(|| catalog.groups[k as usize].code.as_str());
        use MainDxFit::*;
        let want = [
            (Fits, None),
            (Misfits, Some("KD13")),
            (Fits, None),
            (NotChecked, None),
            (NotChecked, None),
            (Misfits, None),
            (Misfits, Some("KD13")),
            (NotChecked, None),
        ];
        for (i, (f, t)) in want.into_iter().enumerate() {
            assert_eq!((fit[i], group(target[i])), (f, t), "S{}", i + 1);
        }
        // S6: 36.0601 leads to FM1, outside MDC K: no target in the catalogue. S7: KD1 has
        // no severity-1 group, so its heaviest. S8: SB1 is defined by no procedure.
    }

    #[test]
    fn a_dip_group_carries_its_diagnosis_category() {
        let c = carried_diagnosis("I21:保守治疗", Scheme::Dip).unwrap();
        assert_eq!(c, CarriedDiagnosis::Category("I21"));
        assert_eq!(main_dx_fit("G80.000", c), MainDxFit::Misfits);
        let g80 = carried_diagnosis("G80:保守治疗", Scheme::Dip).unwrap();
        assert_eq!(main_dx_fit("G80.000", g80), MainDxFit::Fits);
        assert_eq!(carried_diagnosis("Z-misc", Scheme::Dip), None);
    }

    #[test]
    fn an_mcc_counts_and_is_the_lever_of_its_claim() {
        // E43.x00 is an MCC of table 49; a main diagnosis of table 1 does not exclude it.
        let a = assess(1, reference::main_table("A00.000x001"), &[f("E43.x00")]);
        assert_eq!(a.supported, 1);
        assert_eq!(a.lever, Some(0));
    }

    #[test]
    fn an_mcc_excluded_by_the_main_diagnosis_does_not_count() {
        assert_eq!(table_49(), 49);
        let a = assess(1, table_49(), &[f("E43.x00")]);
        assert_eq!((a.supported, a.unexcluded, a.lever), (5, 1, None));
    }

    #[test]
    fn a_main_diagnosis_that_is_no_cc_itself_still_has_a_table() {
        // A06.900 amoebiasis: in the dictionary, neither CC nor MCC, no table of its own
        // there, and table 1 as a main diagnosis: it excludes a table-1 CC.
        let main = reference::main_table("A06.900");
        let own = f("A06.900");
        assert!(
            own.known && !own.cc && own.table == 0 && main == 1,
            "{main} {own:?}"
        );
        let cc1 = CcFlags {
            cc: true,
            mcc: false,
            known: true,
            table: 1,
        };
        assert_eq!(assess(3, main, &[cc1]).supported, 5);
    }

    #[test]
    fn duplicated_codes_count_once_and_two_counting_codes_are_no_lever() {
        let g = CcFlags {
            cc: true,
            mcc: false,
            known: true,
            table: 7,
        };
        let h = CcFlags { table: 8, ..g };
        // `coding_support` deduplicates; here two distinct CCs: no single lever.
        let a = assess(3, 0, &[g, h]);
        assert_eq!((a.supported, a.lever), (3, None));
        // One CC and one plain code: the CC is the lever.
        let plain = CcFlags {
            cc: false,
            ..CcFlags::default()
        };
        assert_eq!(assess(3, 0, &[plain, g]).lever, Some(1));
        // Severity 1 resting on one MCC with CCs beside it: the MCC is still the lever.
        let m = CcFlags {
            mcc: true,
            table: 9,
            ..g
        };
        assert_eq!(assess(1, 0, &[g, m, h]).lever, Some(1));
        // A claim above what the codes support has no lever.
        assert_eq!(assess(1, 0, &[g]).lever, None);
        assert_eq!(assess(1, 0, &[g]).supported, 3);
    }

    #[test]
    fn unknown_codes_support_nothing() {
        let a = assess(3, 0, &[f("not-a-code"), f("X99.999")]);
        assert_eq!((a.supported, a.lever), (5, None));
    }

    /// A generated region, read and derived: (cases, derived, case id → truth variant).
    fn generated(
        opts: &crate::generate::GenerateOptions,
    ) -> (
        Cases,
        crate::derive::DerivedCases,
        std::collections::HashMap<String, String>,
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        crate::generate::generate(opts, dir.path()).expect("generates");
        let config = crate::config::RegionConfig::default_drg();
        let catalog =
            crate::catalog::Catalog::from_file(&dir.path().join("groups.csv"), &config).unwrap();
        let ing = crate::ingest::read_cases(&dir.path().join("cases.csv"), &catalog).unwrap();
        let derived = crate::derive::derive(&ing.cases, &catalog, &config).unwrap();
        let truth = std::fs::read_to_string(dir.path().join("truth_cases.csv")).unwrap();
        let variants = truth
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                Some((f.first()?.to_string(), f.get(3)?.to_string()))
            })
            .collect();
        (ing.cases, derived, variants)
    }

    /// Honest generated cases: the codes support the claimed severity for at least 99 % of
    /// the checked cases (the configured 0.5 % dictionary disagreement aside), and for all
    /// of them when the disagreement share is 0.
    #[test]
    fn honest_generated_codes_support_their_severity() {
        for (share, floor) in [(0.005, 0.99), (0.0, 1.0)] {
            let opts = crate::generate::GenerateOptions {
                seed: 11,
                cases_per_year: 4000,
                gaming: Vec::new(),
                coding_disagreement: share,
                ..Default::default()
            };
            let (_, d, _) = generated(&opts);
            let checked: Vec<usize> = (0..d.len())
                .filter(|&i| d.coding.supported[i] != NOT_CHECKED && matches!(d.severity[i], 1 | 3))
                .collect();
            let agree = checked
                .iter()
                .filter(|&&i| d.coding.supported[i] <= d.severity[i])
                .count();
            let rate = agree as f64 / checked.len() as f64;
            eprintln!(
                "disagreement share {share}: {agree} of {} checked cases supported ({rate:.4})",
                checked.len()
            );
            assert!(checked.len() > 1000, "{}", checked.len());
            assert!(rate >= floor, "share {share}: {rate} of {}", checked.len());
            if share > 0.0 {
                assert!(rate < 1.0, "the disagreement share shows");
            }
        }
    }

    /// The upcoding variants leave the evidence they should: an excluded-code upcode is
    /// unsupported; an added-code or lever-code upcode is supported and rests on one code,
    /// a lever-code hospital's mostly on its favourite.
    #[test]
    fn upcoding_variants_leave_their_evidence() {
        use crate::generate::{GamingPattern, GamingSpec, UpcodingVariant};
        let spec = |id: &str, variant| GamingSpec {
            hospital_id: id.into(),
            pattern: GamingPattern::Upcoding,
            intensity: 0.3,
            start_year: 2024,
            variant,
        };
        let opts = crate::generate::GenerateOptions {
            seed: 12,
            cases_per_year: 8000,
            gaming: vec![
                spec("H004", UpcodingVariant::ExcludedCode),
                spec("H010", UpcodingVariant::LeverCode),
            ],
            coding_disagreement: 0.0,
            ..Default::default()
        };
        let (cases, d, truth) = generated(&opts);
        let (mut excluded, mut excluded_unsupported) = (0, 0);
        let mut levers: std::collections::HashMap<u32, usize> = Default::default();
        let mut lever_cases = 0;
        for i in 0..cases.len() {
            match truth.get(cases.case_id.get(i)).map(String::as_str) {
                Some("excluded_code") => {
                    excluded += 1;
                    if d.coding.supported[i] > d.severity[i]
                        && d.coding.unexcluded[i] <= d.severity[i]
                    {
                        excluded_unsupported += 1;
                    }
                }
                Some("lever_code") => {
                    lever_cases += 1;
                    assert!(d.coding.supported[i] <= d.severity[i]);
                    *levers.entry(d.coding.lever[i]).or_default() += 1;
                }
                _ => {}
            }
        }
        eprintln!("{excluded} excluded-code upcodes; lever-code upcodes by lever: {levers:?}");
        assert!(excluded > 20, "{excluded} excluded-code upcodes");
        assert_eq!(
            excluded_unsupported, excluded,
            "every excluded-code upcode rests on the excluded code"
        );
        let top = levers
            .iter()
            .filter(|(k, _)| **k != NONE_U32)
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0);
        // One favourite CC and one MCC, chosen 90 % of the time when they fit.
        assert!(lever_cases > 20, "{lever_cases}");
        let top_two: usize = {
            let mut v: Vec<usize> = levers
                .iter()
                .filter(|(k, _)| **k != NONE_U32)
                .map(|(_, n)| *n)
                .collect();
            v.sort_unstable_by(|a, b| b.cmp(a));
            v.iter().take(2).sum()
        };
        assert!(
            top > 0 && top_two * 2 > lever_cases,
            "{top_two} of {lever_cases}: {levers:?}"
        );
    }

    /// The main-diagnosis variant codes a heavier medical ADRG's diagnosis as the main one:
    /// the claim then fits its codes (the grouper's result is consistent) and the real main
    /// condition stays among the secondary codes. Honest stays misfit their group only at
    /// the configured dictionary-disagreement share.
    #[test]
    fn a_heavier_main_diagnosis_fits_its_claim_and_honest_misfits_are_the_configured_share() {
        use crate::generate::{GamingPattern, GamingSpec, UpcodingVariant};
        let opts = crate::generate::GenerateOptions {
            seed: 13,
            cases_per_year: 8000,
            gaming: vec![GamingSpec {
                hospital_id: "H004".into(),
                pattern: GamingPattern::Upcoding,
                intensity: 0.3,
                start_year: 2024,
                variant: UpcodingVariant::MainDiagnosis,
            }],
            ..Default::default()
        };
        let (cases, d, truth) = generated(&opts);
        let (mut swapped, mut fitting, mut traced) = (0, 0, 0);
        let (mut honest_checked, mut honest_misfits) = (0, 0);
        let (mut surgical_checked, mut surgical_misfits) = (0, 0);
        for i in 0..cases.len() {
            // Generated medical stays list no procedure.
            let surgical = !cases.procedures.of(i).is_empty();
            match truth.get(cases.case_id.get(i)).map(String::as_str) {
                Some("main_diagnosis") => {
                    swapped += 1;
                    if d.coding.main_dx[i] == MainDxFit::Fits {
                        fitting += 1;
                    }
                    if d.coding.lighter_main[i] != NONE_U32 {
                        traced += 1;
                    }
                }
                None if d.coding.main_dx[i] != MainDxFit::NotChecked => {
                    let (checked, misfits) = if surgical {
                        (&mut surgical_checked, &mut surgical_misfits)
                    } else {
                        (&mut honest_checked, &mut honest_misfits)
                    };
                    *checked += 1;
                    if d.coding.main_dx[i] == MainDxFit::Misfits {
                        *misfits += 1;
                    }
                }
                _ => {}
            }
        }
        let share = honest_misfits as f64 / honest_checked as f64;
        eprintln!(
            "{swapped} main-diagnosis upcodes, {fitting} fit their claim; honest misfits \
             {honest_misfits} of {honest_checked} ({share:.4}); honest surgical and non-OR \
             misfits {surgical_misfits} of {surgical_checked}"
        );
        assert!(swapped > 20, "{swapped}");
        assert!(fitting * 10 >= swapped * 9, "{fitting} of {swapped}");
        // The real condition, kept as a secondary code, leads to the lighter group.
        assert!(traced * 10 >= swapped * 9, "{traced} of {swapped}");
        assert!(honest_checked > 1000 && honest_misfits > 0);
        assert!(share < 2.0 * opts.main_dx_disagreement, "{share}");
        // Surgical and non-OR claims are checked on their procedures, with the same small
        // honest disagreement (fewer: some families have no neighbour to borrow from).
        let surgical_share = surgical_misfits as f64 / surgical_checked as f64;
        assert!(surgical_checked > 1000 && surgical_misfits > 0);
        assert!(
            surgical_share < 2.0 * opts.main_dx_disagreement,
            "{surgical_share}"
        );
    }

    /// The severity after dropping code `k` (brute force).
    fn without(claimed: u8, table: u16, codes: &[CcFlags], k: usize) -> u8 {
        let rest: Vec<CcFlags> = codes
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k)
            .map(|(_, f)| *f)
            .collect();
        assess(claimed, table, &rest).supported
    }

    fn flags() -> impl Strategy<Value = CcFlags> {
        (any::<bool>(), any::<bool>(), 0u16..4).prop_map(|(cc, mcc, table)| CcFlags {
            cc: cc || mcc,
            mcc,
            known: true,
            table,
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

        /// The lever is exactly the code whose removal leaves the claim unsupported.
        #[test]
        fn drop_one_agrees_with_brute_force(
            claimed in prop_oneof![Just(1u8), Just(3u8), Just(5u8)],
            table in 0u16..4,
            codes in proptest::collection::vec(flags(), 0..6),
        ) {
            let a = assess(claimed, table, &codes);
            let breaking: Vec<usize> = (0..codes.len())
                .filter(|&k| a.supported <= claimed && without(claimed, table, &codes, k) > claimed)
                .collect();
            let expected = if matches!(claimed, 1 | 3) && breaking.len() == 1 {
                Some(breaking[0])
            } else {
                None
            };
            prop_assert_eq!(a.lever, expected);
            prop_assert!(a.unexcluded <= a.supported);
        }
    }
}
