//! Region configuration: every threshold of `DOMAIN.md` with a documented default.
//!
//! Rules differ by pooling region (统筹区), so nothing here is hard-coded in the detectors.
//! A config file is TOML; `preset = "dip-national"` (or `drg-points`) starts from a shipped
//! preset in `data/presets/` and the rest of the file overrides it key by key.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::error::AuditError;

/// Payment scheme of the region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// CHS-DRG case groups with relative weights (RW).
    Drg,
    /// DIP diagnosis-intervention packets with scores (分值).
    Dip,
}

/// One high-multiplier band: applies to groups whose weight is at most `max_weight`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HighBand {
    /// Upper bound of the weight for this band; `None` catches every heavier group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_weight: Option<f64>,
    /// Multiplier at or above which a case is high-multiplier.
    pub threshold: f64,
}

/// Multiplier bands (倍率): multiplier = case cost / group benchmark cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiplierRules {
    /// Below this a case is low-multiplier.
    pub low: f64,
    /// High thresholds, graded by weight.
    pub high: Vec<HighBand>,
    /// Above this a case goes to expert review; 0 disables the band.
    #[serde(default)]
    pub extreme: f64,
}

impl MultiplierRules {
    /// The high-multiplier threshold for a group of this weight.
    pub fn high_threshold(&self, weight: f64) -> f64 {
        self.high
            .iter()
            .find(|b| b.max_weight.is_none_or(|m| weight <= m))
            .or(self.high.last())
            .map_or(f64::INFINITY, |b| b.threshold)
    }
}

/// Level coefficients (等级系数) that multiply base points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelCoefficient {
    /// 一级 hospitals.
    pub primary: f64,
    /// 二级 hospitals.
    pub secondary: f64,
    /// 三级 hospitals.
    pub tertiary: f64,
}

impl LevelCoefficient {
    /// The coefficient for a level; an unknown level gets 1.
    pub fn for_level(&self, level: Option<u8>) -> f64 {
        match level {
            Some(1) => self.primary,
            Some(2) => self.secondary,
            Some(3) => self.tertiary,
            _ => 1.0,
        }
    }
}

/// How points are computed from weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointsRules {
    /// Base points per unit of weight (100 for the DRG point method, 1 for DIP scores).
    pub per_weight: f64,
    /// Level coefficients.
    pub level_coefficient: LevelCoefficient,
}

/// Where the point value (点值, yuan per point) comes from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointValueConfig {
    /// The year's fund budget for the audited period; point value = budget / total points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_yuan: Option<f64>,
    /// A fixed point value in yuan per point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_yuan: Option<f64>,
}

/// Readmission linking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadmissionRules {
    /// Days between a discharge and the next admission that count as a readmission.
    pub window_days: u32,
}

/// Severity from the group-code suffix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityRules {
    /// Suffix → severity (1, 3, 5, 9; 0 = ambiguous). Longest match wins.
    pub suffix: BTreeMap<String, u8>,
}

impl SeverityRules {
    /// The severity of a group code by its suffix, with the suffix length.
    pub fn severity_of(&self, code: &str) -> Option<(u8, usize)> {
        self.suffix
            .iter()
            .filter(|(s, _)| !s.is_empty() && code.len() > s.len() && code.ends_with(s.as_str()))
            .max_by_key(|(s, _)| s.len())
            .map(|(s, v)| (*v, s.len()))
    }
}

/// Benchmark computation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkRules {
    /// Minimum baseline stays of a group at a level for a same-level benchmark.
    pub min_cases: u32,
}

/// Which period is audited.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodRules {
    /// `2024` or `2024-01-01..2024-06-30`; absent = the latest well-filled calendar year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audited: Option<String>,
}

/// Detector thresholds (DOMAIN §2–3); defaults follow the published tests they come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectRules {
    /// A higher-severity stay shorter than this × the group's mean LOS looks like its lower
    /// sibling (the US OIG short-stay test uses 0.8).
    pub short_stay_ratio: f64,
    /// Low-standard admission: stay of at most this many days…
    pub low_standard_max_los: u32,
    /// …in a light medical group, at a multiplier below this.
    pub low_standard_max_multiplier: f64,
    /// Bunching window: cases within ± this share of a threshold count as just above/below.
    pub bunching_width: f64,
    /// A finding is flagged at or below this Benjamini–Hochberg q-value.
    pub fdr_q: f64,
}

impl Default for DetectRules {
    fn default() -> Self {
        DetectRules {
            short_stay_ratio: 0.8,
            low_standard_max_los: 2,
            low_standard_max_multiplier: 0.5,
            bunching_width: 0.15,
            fdr_q: 0.05,
        }
    }
}

/// Case-pattern clustering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterRules {
    /// Number of clusters; 0 = choose between 4 and 10 by silhouette. A fixed, moderate k
    /// keeps the small suspicious patterns apart (silhouette favours a few coarse clusters).
    pub k: usize,
    /// Baseline cases K-Means is fitted on (a deterministic sample); all cases are assigned.
    pub sample_size: usize,
    /// K-Means restarts (k-means++ initialisations); the lowest inertia wins. Fewer left
    /// different seeds in different local optima on generated regions.
    pub n_init: usize,
    /// A run stops when its centroids move less than this (standardised units).
    pub tolerance: f64,
    /// Iteration cap of one run.
    pub max_iter: u64,
}

impl Default for ClusterRules {
    /// The one set of clustering defaults (`cluster::ClusterConfig` takes its own from here).
    fn default() -> Self {
        ClusterRules {
            k: 8,
            sample_size: 100_000,
            n_init: 10,
            tolerance: 1e-3,
            max_iter: 300,
        }
    }
}

impl ClusterRules {
    /// Checks the `[cluster]` settings when the configuration loads, so a mistyped value
    /// fails before the data is read rather than after ingest.
    pub fn validate(&self) -> Result<(), String> {
        if self.k == 1 || self.k > u16::MAX as usize {
            return Err(format!(
                "cluster.k = {} must be 0 (choose) or between 2 and 65535",
                self.k
            ));
        }
        if self.sample_size < 2 {
            return Err("cluster.sample_size must be at least 2".into());
        }
        if self.n_init == 0 || self.max_iter == 0 {
            return Err("cluster.n_init and cluster.max_iter must be at least 1".into());
        }
        if !(self.tolerance > 0.0 && self.tolerance.is_finite()) {
            return Err("cluster.tolerance must be a positive number".into());
        }
        Ok(())
    }
}

/// Privacy of the published regional model (`model.json`): a peer cell — one (hospital
/// level, group or family, period) sum — made of fewer hospitals or stays than this is not
/// published on its own (see `models/README.md`), so that a hospital cannot take its own
/// cases out of a cell and read a single competitor's numbers. 0 and 0 publish every cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelRules {
    /// Fewest hospitals in a published cell (3: taking one's own cases out of a cell of
    /// three still leaves two hospitals' sums).
    pub min_hospitals: u32,
    /// Fewest stays in a published cell (11: CMS PEPPER suppresses counts under 11).
    pub min_stays: u32,
}

impl Default for ModelRules {
    fn default() -> Self {
        ModelRules {
            min_hospitals: 3,
            min_stays: 11,
        }
    }
}

/// The default largest cost of one stay accepted (100 million yuan): above it a cell is a
/// data error (a shifted column, an exponent typo), not a stay. One `1e308` row would
/// otherwise move the whole region's point value, and four put `inf` into the reports.
pub const DEFAULT_MAX_STAY_COST_YUAN: f64 = 1e8;

/// Bounds on the values of a case row, beyond which a cell is a data error, not a stay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataRules {
    /// The largest `total_cost` of one stay accepted, in yuan (100 million by default): a
    /// larger cell is a shifted column or an exponent typo, and one `1e308` row would move
    /// the whole region's point value. The row is rejected with the reason.
    pub max_stay_cost_yuan: f64,
}

impl Default for DataRules {
    fn default() -> Self {
        DataRules {
            max_stay_cost_yuan: DEFAULT_MAX_STAY_COST_YUAN,
        }
    }
}

/// The effective configuration of a run (written to `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    /// Preset this configuration started from.
    pub name: String,
    /// DRG or DIP.
    pub scheme: Scheme,
    /// Multiplier bands.
    pub multiplier: MultiplierRules,
    /// Points formula.
    pub points: PointsRules,
    /// Point value source.
    #[serde(default)]
    pub point_value: PointValueConfig,
    /// Readmission window.
    pub readmission: ReadmissionRules,
    /// Severity suffixes.
    pub severity: SeverityRules,
    /// Benchmarks.
    pub benchmark: BenchmarkRules,
    /// Periods.
    #[serde(default)]
    pub periods: PeriodRules,
    /// Detector thresholds.
    #[serde(default)]
    pub detect: DetectRules,
    /// Clustering.
    #[serde(default)]
    pub cluster: ClusterRules,
    /// Privacy suppression of the published model.
    #[serde(default)]
    pub model: ModelRules,
    /// What a case row may hold.
    #[serde(default)]
    pub data: DataRules,
    /// Seed for every random choice (sampling for clustering), for reproducible runs.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_seed() -> u64 {
    20_240_101
}

const DRG_POINTS: &str = include_str!("../data/presets/drg-points.toml");
const DIP_NATIONAL: &str = include_str!("../data/presets/dip-national.toml");

/// Names of the shipped presets.
pub const PRESETS: [&str; 2] = ["drg-points", "dip-national"];

impl RegionConfig {
    /// A shipped preset by name.
    pub fn preset(name: &str) -> Result<RegionConfig, AuditError> {
        let text = match name {
            "drg-points" | "drg" => DRG_POINTS,
            "dip-national" | "dip" => DIP_NATIONAL,
            other => {
                return Err(AuditError::Config(format!(
                    "unknown preset '{other}': use one of {}",
                    PRESETS.join(", ")
                )));
            }
        };
        toml::from_str(text)
            .map_err(|e| AuditError::Config(format!("preset {name} is invalid: {e}")))
    }

    /// The default configuration: the DRG point-method preset.
    pub fn default_drg() -> RegionConfig {
        Self::preset("drg-points").expect("shipped preset parses")
    }

    /// Reads a TOML config; `preset = "…"` starts from that preset, then the file's keys win.
    pub fn from_file(path: &Path) -> Result<RegionConfig, AuditError> {
        let bytes = crate::files::read_small(path, "--config", crate::files::MAX_CONFIG_BYTES)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            AuditError::Config(format!(
                "{}: is not UTF-8 text; save the TOML file as UTF-8",
                path.display()
            ))
        })?;
        Self::from_toml(&text).map_err(|e| AuditError::Config(format!("{}: {e}", path.display())))
    }

    /// Parses config text (see [`RegionConfig::from_file`]).
    pub fn from_toml(text: &str) -> Result<RegionConfig, String> {
        let user: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let preset_name = match user.get("preset") {
            Some(toml::Value::String(s)) => s.clone(),
            Some(_) => return Err("'preset' must be a string".into()),
            None => match user.get("scheme") {
                Some(toml::Value::String(s)) if s == "dip" => "dip-national".into(),
                _ => "drg-points".into(),
            },
        };
        let base = Self::preset(&preset_name).map_err(|e| e.to_string())?;
        let mut merged = toml::Table::try_from(&base).map_err(|e| e.to_string())?;
        let mut user = user;
        user.remove("preset");
        merge(&mut merged, user);
        let cfg: RegionConfig = toml::Value::Table(merged)
            .try_into()
            .map_err(|e: toml::de::Error| e.to_string())?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks values a region could mistype. Every number must be finite (a NaN compares
    /// false with everything and would slip through a plain range check), money and
    /// coefficients positive, and each threshold in its range.
    pub fn validate(&self) -> Result<(), String> {
        self.cluster.validate()?;
        let m = &self.multiplier;
        if !(m.low > 0.0 && m.low < 1.0) {
            return Err(format!(
                "multiplier.low = {} must be between 0 and 1",
                m.low
            ));
        }
        if m.high.is_empty()
            || m.high
                .iter()
                .any(|b| !(b.threshold > 1.0 && b.threshold.is_finite()))
        {
            return Err("multiplier.high needs at least one band, each threshold above 1".into());
        }
        if m.high
            .iter()
            .any(|b| b.max_weight.is_some_and(|w| !(w > 0.0 && w.is_finite())))
        {
            return Err("multiplier.high: every max_weight must be a positive number".into());
        }
        let top = m.high.iter().map(|b| b.threshold).fold(0.0, f64::max);
        if !(m.extreme == 0.0 || (m.extreme > top && m.extreme.is_finite())) {
            return Err("multiplier.extreme must be 0 or above every high threshold".into());
        }
        positive("points.per_weight", self.points.per_weight)?;
        let c = &self.points.level_coefficient;
        positive("points.level_coefficient.primary", c.primary)?;
        positive("points.level_coefficient.secondary", c.secondary)?;
        positive("points.level_coefficient.tertiary", c.tertiary)?;
        if let Some(b) = self.point_value.budget_yuan {
            positive("point_value.budget_yuan", b)?;
        }
        if let Some(v) = self.point_value.value_yuan {
            positive("point_value.value_yuan", v)?;
        }
        let d = &self.detect;
        let in_unit = |x: f64| x > 0.0 && x < 1.0;
        if !in_unit(d.fdr_q) || !in_unit(d.bunching_width) {
            return Err("detect.fdr_q and detect.bunching_width must be between 0 and 1".into());
        }
        positive("detect.short_stay_ratio", d.short_stay_ratio)?;
        positive(
            "detect.low_standard_max_multiplier",
            d.low_standard_max_multiplier,
        )?;
        positive("data.max_stay_cost_yuan", self.data.max_stay_cost_yuan)?;
        if self.readmission.window_days == 0 {
            return Err("readmission.window_days must be at least 1".into());
        }
        Ok(())
    }
}

/// A configuration number that must be finite and above zero.
fn positive(key: &str, x: f64) -> Result<(), String> {
    if x > 0.0 && x.is_finite() {
        Ok(())
    } else {
        Err(format!("{key} = {x} must be a positive number"))
    }
}

/// Deep-merges `over` into `base` (tables merge, everything else replaces).
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) if k != "suffix" => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_settings_are_checked_when_the_config_loads() {
        let e = RegionConfig::from_toml("[cluster]\nn_init = 0\n").unwrap_err();
        assert!(e.contains("cluster.n_init"), "{e}");
        assert!(RegionConfig::from_toml("[cluster]\nk = 1\n").is_err());
        assert!(RegionConfig::from_toml("[cluster]\ntolerance = 0.0\n").is_err());
        assert!(RegionConfig::from_toml("[cluster]\nk = 0\n").is_ok());
    }

    #[test]
    fn presets_parse_with_the_documented_thresholds() {
        let drg = RegionConfig::preset("drg-points").unwrap();
        assert_eq!(drg.scheme, Scheme::Drg);
        assert_eq!(drg.multiplier.low, 0.4);
        assert_eq!(drg.multiplier.high_threshold(0.8), 3.0);
        assert_eq!(drg.multiplier.high_threshold(1.0), 3.0);
        assert_eq!(drg.multiplier.high_threshold(1.5), 2.0);
        assert_eq!(drg.multiplier.high_threshold(4.0), 1.5);
        assert_eq!(drg.readmission.window_days, 15);
        assert_eq!(drg.points.per_weight, 100.0);
        let dip = RegionConfig::preset("dip-national").unwrap();
        assert_eq!(dip.multiplier.low, 0.5);
        assert_eq!(dip.multiplier.high_threshold(123.0), 2.0);
        assert_eq!(dip.multiplier.extreme, 5.0);
    }

    #[test]
    fn a_file_overrides_its_preset_key_by_key() {
        let cfg = RegionConfig::from_toml(
            "preset = \"dip-national\"\n[readmission]\nwindow_days = 31\n[point_value]\nvalue_yuan = 12.5\n",
        )
        .unwrap();
        assert_eq!(cfg.name, "dip-national");
        assert_eq!(cfg.readmission.window_days, 31);
        assert_eq!(cfg.point_value.value_yuan, Some(12.5));
        assert_eq!(cfg.multiplier.low, 0.5, "untouched keys keep the preset");
    }

    #[test]
    fn bad_values_and_unknown_keys_are_refused() {
        assert!(RegionConfig::from_toml("[multiplier]\nlow = 1.5\n").is_err());
        assert!(RegionConfig::from_toml("[readmission]\nwindow_dayz = 3\n").is_err());
        assert!(RegionConfig::from_toml("preset = \"nope\"\n").is_err());
    }

    /// Issue 13 item 6: NaN, zero and negative numbers were accepted and ran with exit 0.
    #[test]
    fn config_nan_zero_and_negative_numbers_are_refused() {
        for bad in [
            "[points]\nper_weight = nan\n",
            "[point_value]\nvalue_yuan = 0\n",
            "[point_value]\nbudget_yuan = -1.2e9\n",
            "[points.level_coefficient]\nprimary = 0\n",
            "[points.level_coefficient]\ntertiary = -1\n",
            "[multiplier]\nlow = nan\n",
            "[multiplier]\nextreme = nan\n",
            "[multiplier]\nhigh = [{ threshold = nan }]\n",
            "[multiplier]\nhigh = [{ max_weight = inf, threshold = 3 }]\n",
            "[detect]\nshort_stay_ratio = nan\n",
        ] {
            let err = RegionConfig::from_toml(&format!("preset = \"drg-points\"\n{bad}"));
            assert!(err.is_err(), "accepted: {bad}");
        }
        assert!(
            RegionConfig::from_toml("preset = \"drg-points\"\n[point_value]\nvalue_yuan = 1.2\n")
                .is_ok()
        );
    }

    #[test]
    fn severity_suffixes_take_the_longest_match() {
        let drg = RegionConfig::default_drg();
        assert_eq!(drg.severity.severity_of("ES31"), Some((1, 1)));
        assert_eq!(drg.severity.severity_of("ES35"), Some((5, 1)));
        assert_eq!(drg.severity.severity_of("GB2A"), Some((1, 1)));
        assert_eq!(drg.severity.severity_of("AQY"), Some((0, 2)));
        assert_eq!(drg.severity.severity_of("ES3X"), None);
    }
}
