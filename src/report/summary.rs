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
    /// Rows in `rejects.csv`.
    pub rejected: u64,
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
    /// Groups in the catalogue.
    pub groups: usize,
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
    /// The effective configuration.
    pub config: RegionConfig,
    /// Detector results (tests, flags, dilution, over-dispersion).
    pub audit: Option<AuditSummary>,
    /// Wall time per stage in milliseconds (the one non-deterministic part).
    pub timings_ms: BTreeMap<&'static str, u64>,
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
    /// The model file and what it was built from.
    pub model: ModelUsed,
    /// Rows read / analysed / rejected.
    pub rows: CheckRows,
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
