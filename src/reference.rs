//! The bundled ICD-10 dictionary (CHS-DRG CC/MCC flags and each code's own CC-exclusion
//! table) and the CHS-DRG 1.1 exclusion table of
//! each main diagnosis, for telling which secondary diagnoses carry a case's severity.
//!
//! The exclusion rule, as the CHS-DRG 1.1 open grouper applies it (OpenDRG `Base.py`
//! `has_mcc`/`has_cc`): a secondary diagnosis that is a CC or MCC does not count when its own
//! table (the part after `-` in the dictionary's `exclusion_table`: `7-49` → 49) equals the
//! main diagnosis's table (`chs_drg_1.1_cc_exclusion.csv`). A main diagnosis absent from that
//! file excludes nothing.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

const ICD10: &str = include_str!("../data/reference/chs_icd10_adrg_cc_mcc.csv");
const CC_EXCLUSION: &str = include_str!("../data/reference/chs_drg_1.1_cc_exclusion.csv");

/// CC/MCC flags of a diagnosis code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CcFlags {
    /// A complication or comorbidity (并发症或合并症).
    pub cc: bool,
    /// A major one (严重并发症或合并症).
    pub mcc: bool,
    /// Whether the code is in the dictionary at all.
    pub known: bool,
    /// The code's own CC-exclusion table (0 = none).
    pub table: u16,
}

fn main_tables() -> &'static FxHashMap<&'static str, u16> {
    static TABLES: OnceLock<FxHashMap<&'static str, u16>> = OnceLock::new();
    TABLES.get_or_init(|| {
        CC_EXCLUSION
            .lines()
            .skip(1)
            .filter_map(|line| {
                let (code, table) = line.trim_end_matches('\r').split_once(',')?;
                Some((code, table.trim().parse().ok()?))
            })
            .collect()
    })
}

/// The CC-exclusion table of `code` as a main diagnosis (0 = it excludes nothing).
pub fn main_table(code: &str) -> u16 {
    main_tables().get(code).copied().unwrap_or(0)
}

/// Whether a secondary diagnosis with `flags` is excluded by a main diagnosis of table
/// `main_table`: both in the same table.
pub fn excluded(flags: CcFlags, main_table: u16) -> bool {
    flags.table != 0 && flags.table == main_table
}

fn dictionary() -> &'static FxHashMap<&'static str, CcFlags> {
    static DICT: OnceLock<FxHashMap<&'static str, CcFlags>> = OnceLock::new();
    DICT.get_or_init(|| {
        // A code may appear once per ADRG it leads to; its flags are the same on every row.
        ICD10
            .lines()
            .skip(1)
            .filter_map(|line| {
                // Names may be quoted and hold commas; code, ADRG and flags never do.
                let code = line.split(',').next()?;
                let tail = line.rsplitn(4, ',').collect::<Vec<_>>();
                let (mcc, cc) = (tail.get(1)? == &"1", tail.get(2)? == &"1");
                let table = tail
                    .first()
                    .and_then(|t| t.rsplit('-').next())
                    .and_then(|t| t.trim().parse().ok())
                    .unwrap_or(0);
                Some((
                    code,
                    CcFlags {
                        cc: cc || mcc,
                        mcc,
                        known: true,
                        table,
                    },
                ))
            })
            .collect()
    })
}

/// The flags of a code (exact match on the NHSA code; unknown codes are neither CC nor MCC).
pub fn cc_flags(code: &str) -> CcFlags {
    dictionary().get(code).copied().unwrap_or_default()
}

fn adrg_map() -> &'static FxHashMap<&'static str, Vec<&'static str>> {
    static ADRGS: OnceLock<FxHashMap<&'static str, Vec<&'static str>>> = OnceLock::new();
    ADRGS.get_or_init(|| {
        let mut map: FxHashMap<&'static str, Vec<&'static str>> = FxHashMap::default();
        for line in ICD10.lines().skip(1) {
            let Some(code) = line.split(',').next() else {
                continue;
            };
            // code, name (may hold quoted commas), ADRG, cc, mcc, table: ADRG is 4th from
            // the end.
            let Some(adrg) = line.trim_end_matches('\r').rsplit(',').nth(3) else {
                continue;
            };
            let entry = map.entry(code).or_default();
            if !adrg.is_empty() && !entry.contains(&adrg) {
                entry.push(adrg);
            }
        }
        map
    })
}

/// The ADRGs a code leads to: as a main diagnosis for a diagnosis code, as the defining
/// procedure for a procedure code (empty when the dictionary gives none or does not know
/// the code; [`cc_flags`]`.known` tells the two apart).
pub fn adrgs_of(code: &str) -> &'static [&'static str] {
    adrg_map().get(code).map_or(&[], |v| v.as_slice())
}

/// Whether some procedure code of the dictionary leads to `adrg`: only then can a claim of
/// that procedure-defined ADRG be checked against its listed procedures.
pub fn procedure_defines(adrg: &str) -> bool {
    static DEFINED: OnceLock<rustc_hash::FxHashSet<&'static str>> = OnceLock::new();
    DEFINED
        .get_or_init(|| {
            adrg_map()
                .iter()
                // ICD-9-CM-3 procedure codes start with a digit, ICD-10 diagnoses with a
                // letter.
                .filter(|(code, _)| code.starts_with(|c: char| c.is_ascii_digit()))
                .flat_map(|(_, adrgs)| adrgs.iter().copied())
                .collect()
        })
        .contains(adrg)
}

/// The dictionary's Chinese name of a diagnosis code (`None` when the code is unknown).
pub fn code_name(code: &str) -> Option<&'static str> {
    static NAMES: OnceLock<FxHashMap<&'static str, &'static str>> = OnceLock::new();
    NAMES
        .get_or_init(|| {
            ICD10
                .lines()
                .skip(1)
                .filter_map(|line| {
                    let (code, rest) = line.split_once(',')?;
                    // name, ADRG, cc, mcc, table: the name alone may hold commas (quoted).
                    let name = rest.rsplitn(5, ',').nth(4)?;
                    Some((code, name.trim_matches('"')))
                })
                .collect()
        })
        .get(code)
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_flags_match_the_reference_file() {
        assert!(cc_flags("G80.000").cc && !cc_flags("G80.000").mcc);
        assert!(!cc_flags("G80.100").cc && cc_flags("G80.100").known);
        assert!(!cc_flags("XXX").known);
        assert!(
            cc_flags("G30.800").mcc,
            "a quoted name with a comma still parses"
        );
        let mccs = dictionary().values().filter(|f| f.mcc).count();
        assert_eq!(mccs, 4643, "distinct MCC codes in the reference file");
    }

    #[test]
    fn exclusion_tables_are_read() {
        let e43 = cc_flags("E43.x00");
        assert!(e43.mcc && e43.table == 49, "{e43:?}");
        assert_eq!(main_table("E43.x00"), 49);
        assert_eq!(main_table("A00.000x001"), 1);
        assert_eq!(main_table("not a code"), 0);
        assert!(excluded(e43, 49) && !excluded(e43, 48));
        assert!(
            !excluded(CcFlags::default(), 0),
            "no table excludes nothing"
        );
        assert_eq!(main_tables().len(), 28_302);
    }

    #[test]
    fn adrgs_are_read_per_code_with_every_row_of_the_code() {
        assert_eq!(adrgs_of("G80.000"), ["BW2"]);
        assert_eq!(
            adrgs_of("06.2x00"),
            ["KD1", "ZJ1"],
            "a procedure's ADRGs, one per row of the code, in file order"
        );
        assert!(adrgs_of("not a code").is_empty());
        let multi = adrg_map().values().filter(|v| v.len() > 1).count();
        assert!(multi > 0, "some codes lead to more than one ADRG");
        let quoted = adrgs_of("G30.800");
        assert!(
            quoted.iter().all(|a| a.len() == 3),
            "a quoted name with a comma does not shift the ADRG: {quoted:?}"
        );
    }

    #[test]
    fn procedure_defined_adrgs_are_those_a_procedure_leads_to() {
        assert!(procedure_defines("KD1") && procedure_defines("ZJ1"));
        assert!(
            !procedure_defines("BW2"),
            "a medical ADRG: diagnoses lead there"
        );
        assert!(
            !procedure_defines("SB1"),
            "a surgical ADRG no procedure of the dictionary leads to"
        );
    }

    #[test]
    fn code_names_are_read_with_their_commas() {
        assert_eq!(code_name("G80.000"), Some("痉挛性四肢麻痹性脑瘫"));
        assert_eq!(code_name("not a code"), None);
        let quoted = code_name("G30.800").unwrap_or_default();
        assert!(!quoted.is_empty() && !quoted.starts_with('"'), "{quoted}");
    }
}
