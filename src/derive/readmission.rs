//! Readmission links, overlapping stays and treatment-cycle stays.
//!
//! **Which earlier stay a readmission links to.** The split-stay indicators
//! (`PC_READMISSION`, `PC_READMISSION_0_1D`) ask whether one hospital billed one episode as
//! two, so a stay links to the same patient's most recent earlier stay *at the same
//! hospital*, whatever the patient did in between: A → B → A within the window is a
//! readmission to A, measured from A's discharge (a transfer out and back does not hide a
//! split). Stays at other hospitals are not readmissions of this hospital's stay, and
//! linking only the immediately previous stay (at any hospital) missed them.
//!
//! **Overlaps.** A stay admitted before the discharge of one of the same patient's earlier
//! stays (at any hospital) is an overlap: a data error, or two claims for one patient at
//! once. It is not a 0–1 day readmission: it is left out of the readmission indicators and
//! counted as a data-quality finding. Admission on the day of the previous discharge is not
//! an overlap (a 0-day gap).
//!
//! **Treatment cycles.** The planned-readmission flag (出院31天内再住院计划) is legitimate
//! above all for chemotherapy and radiotherapy cycles. A stay is a treatment-cycle stay when
//! its family is a cycle family — the CHS-DRG ADRGs RB1/RB2 (leukaemia, lymphoma
//! chemotherapy), RC1 (radiotherapy), RE1 (chemotherapy), RG1 (targeted and immune
//! therapy), or a DIP category under ICD-10 Z51 — or its main diagnosis is Z51.0
//! (radiotherapy session), Z51.1 (chemotherapy session) or Z51.2 (other chemotherapy).
//! Flags outside them are counted for the auditor to read.

use rayon::prelude::*;

use crate::catalog::Catalog;
use crate::ingest::{Cases, NONE_U32};

/// CHS-DRG ADRGs of planned treatment cycles.
pub const CYCLE_ADRGS: [&str; 5] = ["RB1", "RB2", "RC1", "RE1", "RG1"];

/// ICD-10 main-diagnosis prefixes of a treatment session (Z51.0 radiotherapy, Z51.1
/// chemotherapy, Z51.2 other chemotherapy).
pub const CYCLE_DIAGNOSES: [&str; 3] = ["Z51.0", "Z51.1", "Z51.2"];

/// Whether a family code is a treatment-cycle family (DRG ADRG or DIP category).
pub fn is_cycle_family(code: &str) -> bool {
    let code = code.trim();
    CYCLE_ADRGS.iter().any(|a| code.eq_ignore_ascii_case(a))
        || code.get(..3).is_some_and(|c| c.eq_ignore_ascii_case("Z51"))
}

/// Whether a main-diagnosis code is a treatment session.
pub fn is_cycle_diagnosis(code: &str) -> bool {
    CYCLE_DIAGNOSES.iter().any(|p| {
        code.get(..p.len())
            .is_some_and(|c| c.eq_ignore_ascii_case(p))
    })
}

/// Per case: whether it is a treatment-cycle stay (cycle family or Z51.0–Z51.2 main
/// diagnosis).
pub fn treatment_cycle(cases: &Cases, catalog: &Catalog, family: &[u32]) -> Vec<bool> {
    let cycle_family: Vec<bool> = catalog
        .families
        .iter()
        .map(|f| is_cycle_family(f))
        .collect();
    let cycle_code: Vec<bool> = cases
        .codes
        .codes
        .iter()
        .map(|c| is_cycle_diagnosis(c))
        .collect();
    (0..cases.len())
        .map(|i| {
            let d = cases.main_diagnosis.get(i).copied().unwrap_or(NONE_U32);
            cycle_family[family[i] as usize] || (d != NONE_U32 && cycle_code[d as usize])
        })
        .collect()
}

/// Each stay's link to the same patient's earlier stays.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Links {
    /// The same patient's most recent earlier stay at the same hospital, [`NONE_U32`] if none.
    pub prev_stay: Vec<u32>,
    /// Days from that stay's discharge to this admission (`i32::MAX` if none; negative
    /// when this stay overlaps it).
    pub days_since_prev: Vec<i32>,
    /// The earlier stay of the same patient (any hospital, the one discharged last) whose
    /// discharge comes after this admission, [`NONE_U32`] if this stay overlaps none.
    pub overlapped: Vec<u32>,
}

/// Links each stay to the same patient's earlier stays. Stays are ordered by admission,
/// then discharge, then input line, so ties resolve the same way every run.
pub fn link_readmissions(cases: &Cases) -> Links {
    let n = cases.len();
    let order = patient_order(cases);
    let mut links = Links {
        prev_stay: vec![NONE_U32; n],
        days_since_prev: vec![i32::MAX; n],
        overlapped: vec![NONE_U32; n],
    };
    // Per patient: the last stay at each hospital seen (a patient visits few hospitals),
    // and the earlier stay discharged last.
    let mut last_at: Vec<(u32, u32)> = Vec::new();
    let mut latest: Option<usize> = None;
    for (k, &b) in order.iter().enumerate() {
        let b = b as usize;
        if k == 0 || cases.patient[order[k - 1] as usize] != cases.patient[b] {
            last_at.clear();
            latest = None;
        }
        if let Some(l) = latest
            && cases.discharge[l] > cases.admit[b]
        {
            links.overlapped[b] = l as u32;
        }
        let h = cases.hospital[b];
        match last_at.iter_mut().find(|(hh, _)| *hh == h) {
            Some(entry) => {
                let a = entry.1 as usize;
                links.prev_stay[b] = a as u32;
                links.days_since_prev[b] = cases.admit[b] - cases.discharge[a];
                entry.1 = b as u32;
            }
            None => last_at.push((h, b as u32)),
        }
        if latest.is_none_or(|l| cases.discharge[b] > cases.discharge[l]) {
            latest = Some(b);
        }
    }
    links
}

/// Case indexes sorted by (patient, admission, discharge, line).
fn patient_order(cases: &Cases) -> Vec<u32> {
    let n = cases.len();
    if cases.line.is_sorted_by(|a, b| a < b) {
        // Lines grow with the case index, so the index breaks ties as the line does: sort
        // one packed key per case (contiguous, compared as integers) instead of gathering
        // four columns at every comparison. Keys are distinct, so the order is the same.
        let flip = |d: i32| u128::from(d.cast_unsigned() ^ 0x8000_0000);
        let mut keys: Vec<u128> = (0..n)
            .into_par_iter()
            .map(|i| {
                u128::from(cases.patient[i]) << 96
                    | flip(cases.admit[i]) << 64
                    | flip(cases.discharge[i]) << 32
                    | i as u128
            })
            .collect();
        keys.par_sort_unstable();
        keys.into_par_iter().map(|k| k as u32).collect()
    } else {
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.par_sort_unstable_by_key(|&i| {
            let i = i as usize;
            (
                cases.patient[i],
                cases.admit[i],
                cases.discharge[i],
                cases.line[i],
            )
        });
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_families_and_diagnoses() {
        for f in ["RE1", "RC1", "rb2", "Z51", "Z51.1"] {
            assert!(is_cycle_family(f), "{f}");
        }
        for f in ["ES3", "RR1", "C34", "Z5"] {
            assert!(!is_cycle_family(f), "{f}");
        }
        assert!(is_cycle_diagnosis("Z51.101") && is_cycle_diagnosis("Z51.000x003"));
        assert!(!is_cycle_diagnosis("Z51.5") && !is_cycle_diagnosis("C34.1"));
    }
}
