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
