//! `summary.json`: what was read, what was analysed, with which configuration, and how long
//! it took. Everything but `timings_ms` is deterministic for the same input and config.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::RegionConfig;
use crate::derive::{Band, DerivedCases, PointValue};
use crate::error::{AuditError, Result};
use crate::ingest::{Cases, IngestStats};
use crate::period::{PeriodTag, Periods};

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
    pub audit: Option<crate::cmd::run::AuditSummary>,
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
