//! The regional model (`model.json`): everything a hospital needs to audit itself without
//! anyone else's data — the catalogue and configuration, benchmarks by group and level, the
//! point value, the peer tables and calibration of every indicator, the FDR reference, and
//! the case-pattern clustering (scaler, centroids, labels, peers' cluster counts).
//!
//! Only sums over hospitals are published: peer tables hold counts and sums per
//! (hospital level, group or family, period); calibrations hold the over-dispersion, the
//! shrinkage strength and the list of peers' rates per level (no hospital named); the FDR
//! reference is the list of the region's p-values. Each contributing hospital appears only
//! as its id, level and a digest of its case ids, so `check` can tell whether a batch is
//! the very data the model was built from (then its own cases are taken out of the peer
//! sums, exactly as `run` does) or a new batch (then the peers are the whole model).
//!
//! The file is versioned ([`MODEL_FORMAT`], [`MODEL_VERSION`]); a reader refuses another
//! format or another version with a one-line error. Version 2 added the content digest
//! (`digest`, see [`crate::published::validate`]): a model edited after `run` wrote it is
//! refused, and every field is checked on load ([`RegionModel::read`]), so a damaged or
//! tampered model gives one line naming the field instead of a panic or a silent misuse.
//! Version 3 changed the calibration (Paule–Mandel τ² per level, normal–normal shrinkage
//! prior instead of a beta-binomial strength): a version-2 model would judge differently.
//! Version 4 added the lever peer table (`levers`, [`crate::indicators::lever::LeverTable`]):
//! per (hospital level, ADRG family) the peers' eligible claims and the claims resting on
//! each code alone, under the same small-cell suppression as the other peer tables, with
//! the region's lever τ² and the p-values of every (hospital, code) pair, so `check` judges
//! a hospital's lever codes as `run` does.

use std::collections::BTreeMap;
use std::path::Path;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::audit::Audit;
use crate::catalog::Catalog;
use crate::cluster::{MixTable, PublishedClusters};
use crate::compare::{Calibration, Judging};
use crate::config::RegionConfig;
use crate::derive::{BenchmarkSource, Benchmarks, DerivedCases, PointValue};
use crate::error::{AuditError, Result};
use crate::indicators::Ctx;
use crate::indicators::lever::LeverTable;
use crate::ingest::Cases;
use crate::ingest::table::StringTable;
use crate::peers::{PeerRow, PeerTable};
use crate::period::PeriodTag;
pub mod validate;

use validate::{FIX, MAX_MODEL_BYTES};

/// The `format` field of every model file.
pub const MODEL_FORMAT: &str = "drg-audit regional model";
/// Version of the layout; bumped on any change a reader must know about (2: the content
/// digest, and peer cells of too few hospitals or stays suppressed; 3: the calibration;
/// 4: the lever peer table).
pub const MODEL_VERSION: u32 = 4;

/// The regional model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionModel {
    /// Always [`MODEL_FORMAT`].
    pub format: String,
    /// Layout version ([`MODEL_VERSION`]).
    pub version: u32,
    /// `sha256:` and the SHA-256 of the rest of the file in canonical form
    /// ([`validate::content_digest`]); written by [`RegionModel::to_json`].
    pub digest: String,
    /// drg-audit version that wrote it.
    pub software_version: String,
    /// What it was built from.
    pub built_from: BuiltFrom,
    /// The effective configuration (thresholds, points scheme, FDR level, seed).
    pub config: RegionConfig,
    /// The group catalogue, in its original order.
    pub catalogue: Vec<CatalogueRow>,
    /// Benchmarks by group and hospital level (0 = unknown level).
    pub benchmarks: Vec<BenchmarkRow>,
    /// Regional cost per unit of weight (the last benchmark fallback).
    pub cost_per_weight: f64,
    /// Yuan per point and where it came from.
    pub point_value: PointValue,
    /// The low-multiplier threshold scan of the region's data (absent in models that
    /// predate it): a `check` batch tests bunching at the region's discovered threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_threshold: Option<crate::derive::threshold::LowThresholdScan>,
    /// Light medical groups (where low-standard admissions land), by code.
    pub light_medical_groups: Vec<String>,
    /// Stays and points per period (baseline, audited) by hospital level 0–3.
    pub volume_by_level: [[(f64, f64); 2]; 4],
    /// The contributing hospitals: id, level and a digest of their analysed case ids.
    pub hospitals: Vec<ModelHospital>,
    /// Per finding code: peer table and calibration.
    pub indicators: BTreeMap<String, IndicatorModel>,
    /// p-values of every hospital × indicator test of the run, ascending (the FDR step).
    pub p_values: Vec<f64>,
    /// `UPC_LEVER_CODE`'s peer table, τ² and the p-values of the region's (hospital, code)
    /// pairs (version 4).
    pub levers: LeverTable,
    /// Risk scores of the region's hospitals, descending (where would a batch rank).
    pub risk_scores: Vec<f64>,
    /// Case-pattern clustering, when the region had enough cases to cluster.
    pub clusters: Option<PublishedClusters>,
    /// What privacy suppression left out (thresholds in `config.model`).
    pub suppression: Suppression,
}

/// What the model does not publish so that no hospital can read a competitor's numbers:
/// peer cells of fewer than `config.model.min_hospitals` hospitals or `min_stays` stays.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// Peer-table cells (indicator × level × stratum × period) not published on their own.
    pub peer_cells: u64,
    /// Pooled rows (level 4) published in their place: the suppressed cells of one
    /// (indicator, stratum, period) summed, so all-levels sums stay exact.
    pub pooled_rows: u64,
    /// (indicator, stratum, period) with no row at all: too few hospitals or stays even
    /// with every level pooled.
    pub withheld: u64,
    /// Cluster-mix cells (level × group) not published.
    pub mix_cells: u64,
    /// Hospital levels whose volume (`volume_by_level`) is not published (zeros).
    pub levels: Vec<u8>,
    /// Lever-table cells (level × family) not published on their own.
    pub lever_cells: u64,
    /// Pooled lever cells (level 4) published in their place.
    pub lever_pooled_rows: u64,
    /// Families with no lever cell at all (too few hospitals or claims at every level).
    pub lever_withheld: u64,
}

/// Provenance of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuiltFrom {
    /// SHA-256 of the case table.
    pub cases_sha256: String,
    /// Stays analysed.
    pub rows_analysed: u64,
    /// Hospitals.
    pub hospitals: usize,
    /// Audited period label (`2024` or a date range).
    pub audited_period: String,
    /// Baseline period label, when there was one.
    pub baseline_period: Option<String>,
    /// Catalogue source.
    pub catalogue_source: String,
}

/// One catalogue group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueRow {
    /// Group code.
    pub code: String,
    /// Group name.
    pub name: String,
    /// Weight or score.
    pub weight: f64,
    /// Family code.
    pub family: String,
    /// Severity digit.
    pub severity: u8,
    /// Benchmark cost given in the catalogue.
    pub benchmark_cost: Option<f64>,
    /// Benchmark LOS given in the catalogue.
    pub benchmark_los: Option<f64>,
}

/// One benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkRow {
    /// Group code.
    pub group: String,
    /// Hospital level 0–3.
    pub level: u8,
    /// Benchmark cost per case, yuan.
    pub cost: f64,
    /// Benchmark length of stay, days.
    pub los: f64,
    /// Where it came from.
    pub source: BenchmarkSource,
}

/// A contributing hospital.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelHospital {
    /// Hospital id.
    pub id: String,
    /// Level 1–3, if known.
    pub level: Option<u8>,
    /// Digest of the ids of its analysed (audited + baseline) stays, order-independent.
    pub cases_digest: String,
}

/// What the model publishes per indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorModel {
    /// Peer sums `[level, stratum, period, n, x, xx]` (stratum = catalogue group or family
    /// index, as the indicator defines it).
    pub peers: Vec<PeerRow>,
    /// Over-dispersion, shrinkage strength and peers' rates by level.
    pub calibration: Calibration,
}

/// Order-independent digest of a set of case ids: count and two wrapping sums of 64-bit
/// FNV-1a hashes passed through two different finalisers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseDigest {
    n: u64,
    a: u64,
    b: u64,
}

impl CaseDigest {
    /// Adds one case id.
    pub fn add(&mut self, id: &str) {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in id.as_bytes() {
            h ^= u64::from(*byte);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.n += 1;
        self.a = self.a.wrapping_add(splitmix(h));
        self.b = self
            .b
            .wrapping_add(splitmix(h ^ 0x9e37_79b9_7f4a_7c15).rotate_left(17));
    }

    /// `count:hex:hex`.
    pub fn text(&self) -> String {
        format!("{}:{:016x}:{:016x}", self.n, self.a, self.b)
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The mix table without the cells of fewer than `min_h` hospitals or `min_s` stays (audited
/// period, as the table counts them), and how many were dropped. No pooled row replaces
/// them: the mix test has no all-levels fallback, so a hospital's cases in a dropped cell
/// are unmatched in `check`, as cases in a group no peer has are in `run`.
fn published_mix(ctx: &Ctx, table: &MixTable, min_h: u32, min_s: f64) -> (MixTable, u64) {
    let mut seen: FxHashSet<(u8, u32, u32)> = FxHashSet::default();
    for i in 0..ctx.cases.len() {
        if ctx.audited(i) {
            let h = ctx.hospital(i);
            seen.insert((ctx.hospital_level[h as usize], ctx.cases.group[i], h));
        }
    }
    let mut hospitals: FxHashMap<(u8, u32), u32> = FxHashMap::default();
    for (l, g, _) in seen {
        *hospitals.entry((l, g)).or_default() += 1;
    }
    let mut dropped = 0;
    let cells = table
        .cells
        .iter()
        .filter(|(l, g, counts)| {
            let n: u64 = counts.iter().sum();
            let h = hospitals.get(&(*l, *g)).copied().unwrap_or(0);
            let keep = h >= min_h && n as f64 >= min_s;
            dropped += u64::from(!keep);
            keep
        })
        .cloned()
        .collect();
    (MixTable { k: table.k, cells }, dropped)
}

/// Digest of each hospital's analysed (audited + baseline) case ids, by hospital index.
pub fn hospital_digests(cases: &Cases, derived: &DerivedCases) -> Vec<CaseDigest> {
    let mut out = vec![CaseDigest::default(); cases.hospitals.len()];
    for i in 0..cases.len() {
        if derived.period[i] != PeriodTag::Outside {
            out[cases.hospital[i] as usize].add(cases.case_id.get(i));
        }
    }
    out
}

impl RegionModel {
    /// Builds the model of an audited region.
    pub fn build(ctx: &Ctx, audit: &Audit, cases_sha256: &str) -> RegionModel {
        let catalog = ctx.catalog;
        let code = |g: u32| catalog.groups[g as usize].code.clone();
        let digests = hospital_digests(ctx.cases, ctx.derived);
        let (min_h, min_s) = (
            ctx.config.model.min_hospitals,
            f64::from(ctx.config.model.min_stays),
        );
        let mut suppression = Suppression::default();
        let indicators = audit
            .judging
            .calibration
            .iter()
            .map(|(c, cal)| {
                let (peers, s) = audit
                    .tables
                    .get(c)
                    .map(|t| t.published_rows(min_h, min_s))
                    .unwrap_or_default();
                suppression.peer_cells += s.cells;
                suppression.pooled_rows += s.pooled_rows;
                suppression.withheld += s.withheld;
                let mut calibration = cal.clone();
                // A level of one or two tested hospitals: its list of rates would give a
                // competitor's rate away to the other.
                for rates in &mut calibration.peer_rates {
                    if rates.len() < min_h as usize {
                        rates.clear();
                    }
                }
                (c.clone(), IndicatorModel { peers, calibration })
            })
            .collect();
        let clusters = ctx.clusters.as_ref().map(|cv| {
            let (table, dropped) = published_mix(ctx, &cv.table, min_h, min_s);
            suppression.mix_cells = dropped;
            PublishedClusters {
                model: cv.model.clone(),
                weight_scale: cv.weight_scale,
                table,
            }
        });
        let mut volume_by_level = ctx.volume_by_level();
        let mut per_level = [0u32; 4];
        for &l in &ctx.hospital_level {
            per_level[(l as usize).min(3)] += 1;
        }
        for (l, v) in volume_by_level.iter_mut().enumerate() {
            let few_stays = v.iter().any(|(stays, _)| *stays > 0.0 && *stays < min_s);
            if per_level[l] > 0 && (per_level[l] < min_h || few_stays) {
                *v = [(0.0, 0.0); 2];
                suppression.levels.push(l as u8);
            }
        }
        let (lever_cells, s) = crate::indicators::lever::published_cells(ctx, min_h, min_s);
        suppression.lever_cells = s.cells;
        suppression.lever_pooled_rows = s.pooled_rows;
        suppression.lever_withheld = s.withheld;
        let mut lever_p: Vec<f64> = audit.levers.iter().map(|r| r.p).collect();
        lever_p.sort_by(f64::total_cmp);
        let levers = LeverTable {
            cells: lever_cells,
            tau2: audit.lever_tau2,
            p_values: lever_p,
        };
        let mut risk_scores: Vec<f64> = audit.ranks.iter().map(|r| r.risk_score).collect();
        risk_scores.sort_by(|a, b| b.total_cmp(a));
        let periods = &ctx.derived.periods;
        RegionModel {
            format: MODEL_FORMAT.into(),
            version: MODEL_VERSION,
            // Set when the model is written (`to_json`), from the content.
            digest: String::new(),
            software_version: env!("CARGO_PKG_VERSION").into(),
            built_from: BuiltFrom {
                cases_sha256: cases_sha256.into(),
                rows_analysed: ctx.cases.len() as u64,
                hospitals: ctx.n_hospitals(),
                audited_period: periods.audited.label.clone(),
                baseline_period: periods.baseline.as_ref().map(|b| b.label.clone()),
                catalogue_source: catalog.source.clone(),
            },
            config: ctx.config.clone(),
            catalogue: catalog
                .groups
                .iter()
                .map(|g| CatalogueRow {
                    code: g.code.clone(),
                    name: g.name.clone(),
                    weight: g.weight,
                    family: catalog.families[g.family as usize].clone(),
                    severity: g.severity,
                    benchmark_cost: g.benchmark_cost,
                    benchmark_los: g.benchmark_los,
                })
                .collect(),
            benchmarks: ctx
                .derived
                .benchmarks
                .rows()
                .into_iter()
                .map(|(g, level, cost, los, source)| BenchmarkRow {
                    group: code(g),
                    level,
                    cost,
                    los,
                    source,
                })
                .collect(),
            cost_per_weight: ctx.derived.benchmarks.cost_per_weight,
            point_value: ctx.derived.point_value.clone(),
            low_threshold: Some(ctx.derived.low_threshold.clone()),
            light_medical_groups: (0..catalog.groups.len() as u32)
                .filter(|&g| ctx.light_medical_group[g as usize])
                .map(code)
                .collect(),
            volume_by_level,
            hospitals: ctx
                .cases
                .hospitals
                .iter()
                .zip(&digests)
                .map(|(h, d)| ModelHospital {
                    id: h.id.clone(),
                    level: h.level,
                    cases_digest: d.text(),
                })
                .collect(),
            indicators,
            p_values: audit.judging.p_values.clone(),
            levers,
            risk_scores,
            clusters,
            suppression,
        }
    }

    /// The model as pretty JSON (floats round-trip exactly), its `digest` set to the
    /// digest of its content — a pure function of the content, so the same model always
    /// writes the same bytes.
    pub fn to_json(&self) -> Result<String> {
        let err =
            |e: serde_json::Error| AuditError::Usage(format!("cannot serialise the model: {e}"));
        let doc = serde_json::to_value(self).map_err(err)?;
        let mut sealed = self.clone();
        sealed.digest = validate::content_digest(&doc);
        serde_json::to_string_pretty(&sealed)
            .map(|s| s + "\n")
            .map_err(err)
    }

    /// Reads a model file: a regular file of at most [`MAX_MODEL_BYTES`], of this format
    /// and version, whose digest matches its content and whose every field is valid; each
    /// refusal is one line naming the file, the field and what to do.
    pub fn read(path: &Path) -> Result<RegionModel> {
        let bytes = validate::read_bounded(path, MAX_MODEL_BYTES, "model.json")?;
        let text = String::from_utf8(bytes).map_err(|e| {
            AuditError::input(
                path,
                format!("byte {}", e.utf8_error().valid_up_to()),
                "is not UTF-8 text; pass the model.json written by `drg-audit run`",
            )
        })?;
        Self::from_text(path, &text)
    }

    /// [`RegionModel::read`] on text already read (`path` names it in errors).
    pub fn from_text(path: &Path, text: &str) -> Result<RegionModel> {
        let head: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            AuditError::input(
                path,
                format!("line {}, column {}", e.line(), e.column()),
                format!("is not valid JSON ({e}); pass the model.json written by `drg-audit run`"),
            )
        })?;
        if head.get("format").and_then(|f| f.as_str()) != Some(MODEL_FORMAT) {
            return Err(AuditError::input(
                path,
                "format",
                "is not a drg-audit regional model; pass the model.json written by `drg-audit run`",
            ));
        }
        let version = match head.get("version") {
            Some(serde_json::Value::Number(n)) => n.as_u64().ok_or_else(|| {
                AuditError::input(
                    path,
                    "version",
                    format!("is {n}, not a whole version number; {FIX}"),
                )
            })?,
            Some(serde_json::Value::String(s)) => {
                return Err(AuditError::input(
                    path,
                    "version",
                    format!(
                        "is the string {s:?}, not a number, so drg-audit did not write it; {FIX}"
                    ),
                ));
            }
            Some(other) => {
                return Err(AuditError::input(
                    path,
                    "version",
                    format!("is {other}, not a version number; {FIX}"),
                ));
            }
            None => {
                return Err(AuditError::input(
                    path,
                    "version",
                    format!("is missing; {FIX}"),
                ));
            }
        };
        if version != u64::from(MODEL_VERSION) {
            return Err(AuditError::input(
                path,
                "version",
                format!(
                    "is model version {version}, this drg-audit reads version {MODEL_VERSION}; \
                     rebuild the model with this drg-audit's `run` or ask the region for a \
                     fresh copy"
                ),
            ));
        }
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        match head.get("digest") {
            Some(serde_json::Value::String(d)) => {
                if *d != validate::content_digest(&head) {
                    return Err(AuditError::input(
                        path,
                        "digest",
                        format!(
                            "{name} was edited after drg-audit wrote it (its content no longer \
                             matches its digest); ask the region for a fresh copy"
                        ),
                    ));
                }
            }
            Some(_) => {
                return Err(AuditError::input(
                    path,
                    "digest",
                    format!("is not a string; {FIX}"),
                ));
            }
            None => {
                return Err(AuditError::input(
                    path,
                    "digest",
                    format!("is missing, so {name} cannot be verified; {FIX}"),
                ));
            }
        }
        Self::check_fields(path, head, Some(text))
    }

    /// The field checks of [`RegionModel::read`] alone, on a parsed document whose format,
    /// version and digest were already checked: the layout (types, missing and unknown
    /// fields), then every value. `text`, the document's text when there is one, locates a
    /// layout error by its JSON path.
    pub fn check_fields(
        path: &Path,
        doc: serde_json::Value,
        text: Option<&str>,
    ) -> Result<RegionModel> {
        let model: RegionModel = match serde_json::from_value(doc) {
            Ok(m) => m,
            Err(e) => {
                return Err(
                    match text.map(|t| (t, serde_json::from_str::<RegionModel>(t))) {
                        Some((t, Err(located))) => validate::layout_error(path, t, &located),
                        _ => AuditError::input(
                            path,
                            "model",
                            format!("does not match the model layout ({e}); {FIX}"),
                        ),
                    },
                );
            }
        };
        let registry = crate::indicators::registry();
        let codes: Vec<&str> = registry.iter().map(|i| i.spec().code).collect();
        validate::validate(&model, &codes).map_err(|e| e.into_error(path))?;
        Ok(model)
    }

    /// The catalogue, rebuilt in its original order (so group and family indices match
    /// the peer tables).
    pub fn catalog(&self, path: &Path) -> Result<Catalog> {
        let num = |v: Option<f64>| v.map(|x| x.to_string());
        let table = StringTable {
            headers: [
                "group_code",
                "group_name",
                "weight",
                "family",
                "severity",
                "benchmark_cost",
                "benchmark_los",
            ]
            .map(String::from)
            .to_vec(),
            rows: self
                .catalogue
                .iter()
                .map(|g| {
                    vec![
                        Some(g.code.clone()),
                        Some(g.name.clone()).filter(|n| !n.is_empty()),
                        Some(g.weight.to_string()),
                        Some(g.family.clone()),
                        Some(g.severity.to_string()),
                        num(g.benchmark_cost),
                        num(g.benchmark_los),
                    ]
                })
                .collect(),
            lines: None,
        };
        let mut catalog = Catalog::from_table(
            &table,
            path,
            &self.built_from.catalogue_source,
            &self.config,
        )?;
        catalog.derived_family = 0;
        catalog.derived_severity = 0;
        Ok(catalog)
    }

    /// Benchmarks by catalogue index.
    pub fn benchmarks(&self, catalog: &Catalog, path: &Path) -> Result<Benchmarks> {
        let mut rows = Vec::with_capacity(self.benchmarks.len());
        for b in &self.benchmarks {
            let g = catalog.lookup(&b.group).ok_or_else(|| {
                AuditError::input(
                    path,
                    "benchmarks",
                    format!(
                        "name group {} that its catalogue lacks; rebuild the model",
                        b.group
                    ),
                )
            })?;
            rows.push((g, b.level, b.cost, b.los, b.source));
        }
        Benchmarks::from_rows(catalog.groups.len(), &rows, self.cost_per_weight).ok_or_else(|| {
            AuditError::input(
                path,
                "benchmarks",
                "do not cover every group and level; rebuild the model",
            )
        })
    }

    /// Light medical group flags by catalogue index.
    pub fn light_groups(&self, catalog: &Catalog) -> Vec<bool> {
        let mut out = vec![false; catalog.groups.len()];
        for c in &self.light_medical_groups {
            if let Some(g) = catalog.lookup(c) {
                out[g as usize] = true;
            }
        }
        out
    }

    /// Peer tables by finding code.
    pub fn peer_tables(&self) -> FxHashMap<String, PeerTable> {
        self.indicators
            .iter()
            .map(|(c, m)| (c.clone(), PeerTable::from_rows(&m.peers)))
            .collect()
    }

    /// The judging `check` reuses.
    pub fn judging(&self) -> Judging {
        Judging {
            calibration: self
                .indicators
                .iter()
                .map(|(c, m)| (c.clone(), m.calibration.clone()))
                .collect(),
            p_values: self.p_values.clone(),
        }
    }

    /// Where a risk score would rank among the region's hospitals (1 = first).
    pub fn rank_of(&self, risk: f64) -> usize {
        1 + self.risk_scores.iter().filter(|&&r| r > risk).count()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! A small region with secondary codes: ten hospitals code CC claims of one ADRG (ES3)
    //! with five codes in turn, H8 rests most of its claims on G80.000 alone. Six are
    //! tertiary, three secondary, one primary, so under the default suppression (3
    //! hospitals, 11 stays) the tertiary lever cell is published and the others are pooled.

    use super::*;
    use crate::lang::Lang;
    use crate::region::testkit::{Fixture, favourite_code_csv, fixture};

    /// The region's cases.
    pub(crate) fn lever_region() -> Fixture {
        fixture(&favourite_code_csv(&[3, 3, 3, 3, 3, 2, 2, 3, 2, 1]))
    }

    /// The model `run` would write for [`lever_region`].
    pub(crate) fn lever_model(f: &Fixture) -> RegionModel {
        let region = f.region();
        let ctx = Ctx::new(&region, None, Lang::En);
        let registry = crate::indicators::registry();
        let audit = crate::audit::audit(&ctx, &registry, Lang::En);
        RegionModel::build(&ctx, &audit, &"0".repeat(64))
    }

    /// Issue 11 (model version 4): the lever table is built under the small-cell rule and
    /// survives writing and reading the model.
    #[test]
    fn a_model_round_trip_keeps_the_lever_table() {
        let f = lever_region();
        let model = lever_model(&f);
        let t = &model.levers;
        // Tertiary: H1–H5 and H8 (six hospitals) published. The primary cell (H10 alone)
        // is too small, and so is a pool of it alone: the smallest published cell, the
        // secondary one (H6, H7, H9), joins it in one level-4 row.
        let keys: Vec<(u8, u32)> = t.cells.iter().map(|c| (c.level, c.family)).collect();
        assert_eq!(keys, vec![(3, 0), (crate::peers::POOLED_LEVEL, 0)], "{t:?}");
        assert_eq!(model.suppression.lever_pooled_rows, 1);
        assert_eq!(model.suppression.lever_cells, 2);
        // Each hospital has 60 ES33 claims (the ES35 ones need no CC), every one resting on
        // one code: the all-levels sums are the region's.
        let claims: f64 = t.cells.iter().map(|c| c.claims).sum();
        assert_eq!(claims, 600.0);
        let g80: f64 = t.cells.iter().map(|c| c.codes["G80.000"]).sum();
        assert_eq!(g80, 9.0 * 12.0 + 60.0);
        assert!(t.tau2.is_finite() && t.tau2 >= 0.0);
        assert!(!t.p_values.is_empty() && t.p_values.is_sorted());
        let text = model.to_json().expect("serialises");
        let back = RegionModel::from_text(Path::new("model.json"), &text).expect("reads back");
        assert_eq!(back.levers, model.levers);
        assert_eq!(back.to_json().expect("serialises"), text, "byte for byte");
    }
}
