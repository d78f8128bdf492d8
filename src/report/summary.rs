//! `summary.json`: what was read, what was analysed, with which configuration, and how long
//! it took; and `check.json`, its counterpart for a self-audit. Everything but `timings_ms`
//! is deterministic for the same input and config.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit::Audit;
use crate::catalog::Catalog;
use crate::compare::IndicatorDispersion;
use crate::config::RegionConfig;
use crate::derive::{Band, DerivedCases, PointValue};
use crate::error::{AuditError, Result};
use crate::ingest::{Cases, IngestStats, Ingested};
use crate::period::{PeriodTag, Periods};
use crate::published::BuiltFrom;
use crate::rank::{Dilution, HospitalRank};

/// An input file and its fingerprint.
#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    /// `cases`, `groups` or `config`.
    pub role: String,
    /// Path as given.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the content.
    pub sha256: String,
}

impl InputFile {
    /// Fingerprints a file (streaming).
    pub fn hash(role: &str, path: &Path) -> Result<InputFile> {
        let mut f = std::fs::File::open(path).map_err(|e| AuditError::io(path, e))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            let n = f.read(&mut buf).map_err(|e| AuditError::io(path, e))?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
            h.update(&buf[..n]);
        }
        let sha256 = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(InputFile {
            role: role.into(),
            path: path.display().to_string(),
            bytes,
            sha256,
        })
    }
}

/// Row counts that must reconcile.
#[derive(Debug, Clone, Serialize)]
pub struct RowCounts {
    /// Data rows in the case file.
    pub read: u64,
    /// Rows kept (all periods).
    pub analysed: u64,
    /// Rows of the case table in `rejects.csv` (sub-table rows are counted in
    /// `ingest.sub_tables`).
    pub rejected: u64,
    /// Of the rejected rows, stays in a group without weight (ungroupable, not analysed).
    pub ungroupable: u64,
    /// read == analysed + rejected.
    pub reconciles: bool,
    /// Analysed rows by period (`baseline`, `audited`, `outside`).
    pub by_period: BTreeMap<&'static str, u64>,
}

/// The catalogue as used.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogueSummary {
    /// Path or "bundled …".
    pub source: String,
    /// Groups in the catalogue (with a weight).
    pub groups: usize,
    /// Groups without a weight (ungroupable: their stays are not analysed).
    pub ungroupable_groups: usize,
    /// Families.
    pub families: usize,
    /// Groups whose family was derived from the code.
    pub derived_family: usize,
    /// Groups whose severity was derived from the code suffix.
    pub derived_severity: usize,
    /// Distinct groups that have at least one analysed case.
    pub groups_used: usize,
    /// Share of read rows whose group code is in the catalogue.
    pub grouping_coverage: f64,
}

/// Audited-period band mix per hospital level.
#[derive(Debug, Clone, Serialize)]
pub struct BandMix {
    /// `level 1`, `level 2`, `level 3` or `unknown level`.
    pub level: String,
    /// Audited cases.
    pub cases: u64,
    /// Cases per band.
    pub bands: BTreeMap<&'static str, u64>,
}

/// The whole summary.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// `drg-audit`.
    pub software: &'static str,
    /// Crate version.
    pub version: &'static str,
    /// Inputs with hashes.
    pub inputs: Vec<InputFile>,
    /// Row reconciliation.
    pub rows: RowCounts,
    /// Ingest details (encoding, columns, unreadable optional cells).
    pub ingest: IngestStats,
    /// Periods used.
    pub periods: Periods,
    /// Hospitals with at least one analysed case.
    pub hospitals: usize,
    /// Distinct patients (never printed in clear).
    pub patients: usize,
    /// Catalogue use.
    pub catalogue: CatalogueSummary,
    /// Benchmarks by source.
    pub benchmarks: BTreeMap<&'static str, u64>,
    /// Point value and its source.
    pub point_value: PointValue,
    /// Band mix by level (audited period).
    pub band_mix: Vec<BandMix>,
    /// Distinct secondary-diagnosis codes not in the ICD-10 dictionary.
    pub unknown_diagnosis_codes: usize,
    /// The low-multiplier threshold the data show (a jump in the multiplier density),
    /// against the configured one.
    pub low_threshold: crate::derive::threshold::LowThresholdScan,
    /// Readmission links of the audited period: overlapping stays and the planned flag.
    pub readmissions: ReadmissionQuality,
    /// The effective configuration.
    pub config: RegionConfig,
    /// Detector results (tests, flags, dilution, over-dispersion).
    pub audit: Option<AuditSummary>,
    /// Wall time per stage in milliseconds (the one non-deterministic part).
    pub timings_ms: BTreeMap<&'static str, u64>,
}

/// Readmission data quality (audited period): how many same-hospital readmissions the
/// window links, how many the earlier stay's planned flag excuses, stays that overlap an
/// earlier stay of the same patient (left out of the readmission indicators), and where
/// the planned flag sits.
#[derive(Debug, Clone, Serialize)]
pub struct ReadmissionQuality {
    /// The readmission window (days).
    pub window_days: u32,
    /// Same-hospital readmissions within the window, earlier discharge not flagged planned.
    pub unplanned: u64,
    /// Same-hospital readmissions within the window excused by the earlier stay's flag.
    pub planned: u64,
    /// Stays admitted before the discharge of an earlier stay of the same patient.
    pub overlapping_stays: u64,
    /// Of them, overlapping a stay at the same hospital.
    pub overlapping_same_hospital: u64,
    /// Hospitals with overlapping stays, most first (ties: hospital id).
    pub overlaps_by_hospital: Vec<HospitalOverlaps>,
    /// The planned-readmission flag.
    pub planned_flag: PlannedFlagQuality,
}

/// One hospital's overlapping stays.
#[derive(Debug, Clone, Serialize)]
pub struct HospitalOverlaps {
    /// Hospital id.
    pub hospital_id: String,
    /// Its audited stays that overlap an earlier stay of the same patient.
    pub stays: u64,
    /// Of them, overlapping one of its own stays.
    pub same_hospital: u64,
}

/// Where the planned-readmission flag (出院31天内再住院计划) sits.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedFlagQuality {
    /// Whether the input has the column (without it every readmission counts as unplanned).
    pub column: bool,
    /// Audited stays discharged with the flag.
    pub flagged_stays: u64,
    /// Of them, not treatment-cycle stays (chemotherapy/radiotherapy families, Z51.0–Z51.2).
    pub outside_treatment_cycles: u64,
    /// Hospitals with flags outside treatment cycles, most first (ties: hospital id).
    pub by_hospital: Vec<HospitalPlannedFlags>,
}

/// One hospital's planned flags.
#[derive(Debug, Clone, Serialize)]
pub struct HospitalPlannedFlags {
    /// Hospital id.
    pub hospital_id: String,
    /// Audited stays.
    pub stays: u64,
    /// Audited stays discharged with the flag.
    pub flagged: u64,
    /// Of them, outside treatment cycles.
    pub outside_treatment_cycles: u64,
    /// Readmissions within the window the flags excused.
    pub readmissions_excused: u64,
}

/// Counts the readmission links, overlaps and planned flags of the audited period.
pub fn readmission_quality(
    cases: &Cases,
    derived: &DerivedCases,
    config: &RegionConfig,
) -> ReadmissionQuality {
    let window = config.readmission.window_days;
    let nh = cases.hospitals.len();
    // Per hospital: stays, overlaps, same-hospital overlaps, flags, flags outside, excused.
    let mut per = vec![[0u64; 6]; nh];
    let (mut unplanned, mut planned) = (0, 0);
    for i in 0..cases.len() {
        if derived.period[i] != PeriodTag::Audited {
            continue;
        }
        let h = cases.hospital[i] as usize;
        let c = &mut per[h];
        c[0] += 1;
        if derived.is_overlap(i) {
            c[1] += 1;
            if cases.hospital[derived.overlapped[i] as usize] == cases.hospital[i]
                || derived.days_since_prev[i] < 0
            {
                c[2] += 1;
            }
        }
        if cases.planned[i] {
            c[3] += 1;
            if !derived.treatment_cycle[i] {
                c[4] += 1;
            }
        }
        if derived.is_readmission(i, window) {
            if cases.planned[derived.prev_stay[i] as usize] {
                planned += 1;
                c[5] += 1;
            } else {
                unplanned += 1;
            }
        }
    }
    let id = |h: usize| cases.hospitals[h].id.clone();
    let mut overlaps: Vec<HospitalOverlaps> = (0..nh)
        .filter(|&h| per[h][1] > 0)
        .map(|h| HospitalOverlaps {
            hospital_id: id(h),
            stays: per[h][1],
            same_hospital: per[h][2],
        })
        .collect();
    overlaps.sort_by(|a, b| {
        b.stays
            .cmp(&a.stays)
            .then(a.hospital_id.cmp(&b.hospital_id))
    });
    let mut flags: Vec<HospitalPlannedFlags> = (0..nh)
        .filter(|&h| per[h][4] > 0)
        .map(|h| HospitalPlannedFlags {
            hospital_id: id(h),
            stays: per[h][0],
            flagged: per[h][3],
            outside_treatment_cycles: per[h][4],
            readmissions_excused: per[h][5],
        })
        .collect();
    flags.sort_by(|a, b| {
        b.outside_treatment_cycles
            .cmp(&a.outside_treatment_cycles)
            .then(a.hospital_id.cmp(&b.hospital_id))
    });
    let total = |k: usize| per.iter().map(|c| c[k]).sum::<u64>();
    ReadmissionQuality {
        window_days: window,
        unplanned,
        planned,
        overlapping_stays: total(1),
        overlapping_same_hospital: total(2),
        overlaps_by_hospital: overlaps,
        planned_flag: PlannedFlagQuality {
            column: cases.has("planned_readmission_31d"),
            flagged_stays: total(3),
            outside_treatment_cycles: total(4),
            by_hospital: flags,
        },
    }
}

/// Counts analysed cases per period.
pub fn by_period(derived: &DerivedCases) -> BTreeMap<&'static str, u64> {
    let mut m = BTreeMap::from([("audited", 0), ("baseline", 0), ("outside", 0)]);
    for p in &derived.period {
        let k = match p {
            PeriodTag::Audited => "audited",
            PeriodTag::Baseline => "baseline",
            PeriodTag::Outside => "outside",
        };
        *m.get_mut(k).expect("key present") += 1;
    }
    m
}

/// Band mix of the audited period by hospital level.
pub fn band_mix(derived: &DerivedCases) -> Vec<BandMix> {
    let mut counts = [[0u64; 4]; 4];
    for i in 0..derived.len() {
        if derived.period[i] == PeriodTag::Audited {
            counts[derived.level[i] as usize][derived.band[i] as usize] += 1;
        }
    }
    (0..4)
        .filter(|lv| counts[*lv].iter().sum::<u64>() > 0)
        .map(|lv| BandMix {
            level: if lv == 0 {
                "unknown level".into()
            } else {
                format!("level {lv}")
            },
            cases: counts[lv].iter().sum(),
            bands: Band::ALL
                .iter()
                .map(|b| (b.as_str(), counts[lv][*b as usize]))
                .collect(),
        })
        .collect()
}

/// Distinct groups used by the cases.
pub fn groups_used(cases: &Cases, n_groups: usize) -> usize {
    let mut seen = vec![false; n_groups];
    for g in &cases.group {
        seen[*g as usize] = true;
    }
    seen.iter().filter(|s| **s).count()
}

/// Summary of the detectors' results for `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct AuditSummary {
    /// Hospital × indicator tests.
    pub tests: usize,
    /// Flagged findings.
    pub flagged_findings: usize,
    /// Hospitals with at least one flag.
    pub flagged_hospitals: usize,
    /// Case leads written.
    pub cases_for_review: usize,
    /// The dilution of the point value.
    pub dilution: Dilution,
    /// Over-dispersion per indicator.
    pub dispersion: Vec<IndicatorDispersion>,
    /// Indicators no hospital could be tested on, and why.
    pub untested: Vec<crate::indicators::Untested>,
}

impl AuditSummary {
    /// The counts, dilution and over-dispersion of an audit.
    pub fn of(result: &Audit) -> AuditSummary {
        AuditSummary {
            tests: result.findings.len(),
            flagged_findings: result.findings.iter().filter(|f| f.flagged).count(),
            flagged_hospitals: result.ranks.iter().filter(|r| !r.flags.is_empty()).count(),
            cases_for_review: result.leads.len(),
            dilution: result.dilution.clone(),
            dispersion: result.dispersion.clone(),
            untested: result.untested.clone(),
        }
    }
}

/// Assembles `summary.json`.
pub fn build_summary(
    inputs: Vec<InputFile>,
    config: &RegionConfig,
    catalog: &Catalog,
    ingested: &Ingested,
    derived: &DerivedCases,
    timings_ms: BTreeMap<&'static str, u64>,
) -> Summary {
    let s = &ingested.stats;
    let group_rejects = s.rejected_by_column.get("group_code").copied().unwrap_or(0);
    let cases = &ingested.cases;
    Summary {
        software: "drg-audit",
        version: env!("CARGO_PKG_VERSION"),
        inputs,
        rows: RowCounts {
            read: s.rows_read,
            analysed: s.rows_analysed,
            rejected: s.rows_rejected,
            ungroupable: s.rows_ungroupable,
            reconciles: s.rows_read == s.rows_analysed + s.rows_rejected,
            by_period: by_period(derived),
        },
        ingest: s.clone(),
        periods: derived.periods.clone(),
        hospitals: cases.hospitals.len(),
        patients: cases.n_patients,
        catalogue: CatalogueSummary {
            source: catalog.source.clone(),
            groups: catalog.groups.len(),
            ungroupable_groups: catalog.ungroupable().len(),
            families: catalog.families.len(),
            derived_family: catalog.derived_family,
            derived_severity: catalog.derived_severity,
            groups_used: groups_used(cases, catalog.groups.len()),
            grouping_coverage: 1.0 - group_rejects as f64 / s.rows_read.max(1) as f64,
        },
        benchmarks: derived.benchmarks.cases_by_source.clone(),
        point_value: derived.point_value.clone(),
        band_mix: band_mix(derived),
        unknown_diagnosis_codes: derived.unknown_codes,
        low_threshold: derived.low_threshold.clone(),
        readmissions: readmission_quality(cases, derived, config),
        config: config.clone(),
        audit: None,
        timings_ms,
    }
}

/// `check.json`.
#[derive(Debug, Serialize)]
pub struct CheckSummary {
    /// `drg-audit`.
    pub software: &'static str,
    /// Version.
    pub version: &'static str,
    /// The batch file.
    pub cases: InputFile,
    /// Its diagnosis and procedure tables (`--diagnoses`, `--procedures`), when given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sub_tables: Vec<InputFile>,
    /// The model file and what it was built from.
    pub model: ModelUsed,
    /// Rows read / analysed / rejected.
    pub rows: CheckRows,
    /// What ingest saw (format, encoding, separator, sheet, columns, sub-tables).
    pub ingest: IngestStats,
    /// Periods of the batch.
    pub periods: Periods,
    /// Whether the batch's periods are the model's.
    pub same_periods_as_model: bool,
    /// One entry per hospital in the batch.
    pub hospitals: Vec<CheckedHospital>,
    /// Case leads of flagged findings (`cases_for_review.csv`).
    pub cases_for_review: usize,
    /// Case leads of findings near the threshold (`cases_near_threshold.csv`).
    pub cases_near_threshold: usize,
    /// Milliseconds per stage.
    pub timings_ms: std::collections::BTreeMap<&'static str, u64>,
}

/// The model a check used.
#[derive(Debug, Serialize)]
pub struct ModelUsed {
    /// File.
    pub file: InputFile,
    /// Layout version.
    pub version: u32,
    /// Provenance.
    pub built_from: BuiltFrom,
    /// Peer cells the model does not publish (privacy): a hospital whose same-level cell
    /// was suppressed is compared with all levels' peers (the pooled rows keep those sums
    /// exact), or left without peers where even the pool was too small.
    pub suppression: crate::published::Suppression,
}

/// Row counts of the batch.
#[derive(Debug, Serialize)]
pub struct CheckRows {
    /// Data rows read.
    pub read: u64,
    /// Rows analysed.
    pub analysed: u64,
    /// Rows rejected (see `rejects.csv`).
    pub rejected: u64,
    /// read = analysed + rejected.
    pub reconciles: bool,
}

/// One hospital's result.
#[derive(Debug, Serialize)]
pub struct CheckedHospital {
    /// Hospital id.
    pub hospital_id: String,
    /// Whether this batch is the data the model was built from (own cases left out of peers).
    pub same_data_as_model: bool,
    /// Where its risk score would rank among the model's hospitals (1 = inspect first).
    pub region_rank: usize,
    /// Hospitals in the model.
    pub region_hospitals: usize,
    /// The ranking row (scores, flags, money, reason), as `hospitals.csv` has it.
    #[serde(flatten)]
    pub rank: HospitalRank,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::testkit::fixture;

    /// Issue 10, defects 8 and 9: overlaps are counted by hospital (the later stay's), and
    /// planned flags outside chemotherapy/radiotherapy stays are counted with the
    /// readmissions they excuse.
    #[test]
    fn readmission_quality_counts_overlaps_and_flags_outside_treatment_cycles() {
        let f = fixture(
            "case_id,hospital_id,hospital_level,patient_id,admit_date,discharge_date,group_code,total_cost,planned_readmission_31d\n\
             A1,H1,3,P1,2024-03-01,2024-03-10,ES35,5000,0\n\
             A2,H1,3,P1,2024-03-05,2024-03-12,ES35,5000,0\n\
             C1,H1,3,P2,2024-03-01,2024-03-20,ES35,5000,0\n\
             C2,H2,2,P2,2024-03-02,2024-03-04,ES35,5000,0\n\
             D1,H1,3,P3,2024-03-01,2024-03-05,ES35,5000,1\n\
             D2,H1,3,P3,2024-03-10,2024-03-12,ES35,5000,0\n\
             E1,H2,2,P4,2024-03-01,2024-03-03,RE15,5000,1\n\
             E2,H2,2,P4,2024-03-24,2024-03-26,RE15,5000,1\n\
             G1,H2,2,P5,2024-04-01,2024-04-03,ES35,5000,0\n\
             G2,H2,2,P5,2024-04-05,2024-04-07,ES35,5000,0\n",
        );
        let q = readmission_quality(&f.ingested.cases, &f.derived, &f.config);
        assert_eq!((q.overlapping_stays, q.overlapping_same_hospital), (2, 1));
        let o: Vec<_> = q
            .overlaps_by_hospital
            .iter()
            .map(|o| (o.hospital_id.as_str(), o.stays, o.same_hospital))
            .collect();
        assert_eq!(o, [("H1", 1, 1), ("H2", 1, 0)]);
        // D2 excused by D1's flag; E2 is 21 days on (outside the 15-day window); G2 unplanned.
        assert_eq!((q.planned, q.unplanned), (1, 1));
        let p = &q.planned_flag;
        assert!(p.column);
        assert_eq!((p.flagged_stays, p.outside_treatment_cycles), (3, 1));
        assert_eq!(p.by_hospital.len(), 1, "H2's flags are chemotherapy cycles");
        let h1 = &p.by_hospital[0];
        assert_eq!(
            (
                h1.hospital_id.as_str(),
                h1.stays,
                h1.flagged,
                h1.readmissions_excused
            ),
            ("H1", 5, 1, 1)
        );
    }
}
