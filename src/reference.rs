//! The bundled ICD-10 dictionary (CHS-DRG CC/MCC flags), for telling which secondary
//! diagnoses carry a case's severity.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

const ICD10: &str = include_str!("../data/reference/chs_icd10_adrg_cc_mcc.csv");

/// CC/MCC flags of a diagnosis code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CcFlags {
    /// A complication or comorbidity (并发症或合并症).
    pub cc: bool,
    /// A major one (严重并发症或合并症).
    pub mcc: bool,
    /// Whether the code is in the dictionary at all.
    pub known: bool,
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
                Some((
                    code,
                    CcFlags {
                        cc: cc || mcc,
                        mcc,
                        known: true,
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
}
