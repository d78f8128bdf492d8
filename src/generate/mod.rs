//! Synthetic region generator: the project's test bench and demo data.
//!
//! [`generate`] writes a pooling region (统筹区) of hospitals at three levels over
//! several settlement years, with honest confounders and gaming injected at known
//! hospitals, plus the ground truth needed to score an audit run:
//!
//! - `cases.csv`: one row per inpatient stay, in the columns of CONTRACT §1;
//! - `groups.csv`: the DRG or DIP catalogue (no benchmark cost: the analyzer derives
//!   it from the baseline year, as DIP rules do);
//! - `truth_hospitals.csv`: the role of every hospital;
//! - `truth_cases.csv`: every stay that gaming created or altered.
//!
//! The catalogue is built from the real Harbin 2024 CHS-DRG weights and the ICD-10 →
//! ADRG / CC / MCC dictionary in `data/reference/`, embedded at compile time.
//! Everything is a pure function of [`GenerateOptions`]: the same options give
//! byte-identical files, because each hospital draws from its own ChaCha8 stream and
//! nothing iterates a hash map on the way to the output.
//!
//! It shares no code with the analyser on purpose (not even the catalogue or the date
//! parser): a generator that borrowed the analyser's rules would test them against
//! themselves. `tests/integration/layout.rs` keeps it free of `crate::` imports.

mod cases;
mod catalog;
mod gaming;
mod hospitals;
pub mod scenario;
mod writer;

pub use hospitals::{HospitalSpec, Role};
pub use scenario::Scenario;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// DRG low-multiplier threshold: a case below 0.4 × benchmark is a low-multiplier case.
pub const LOW_THRESHOLD_DRG: f64 = 0.4;
/// DIP low-multiplier threshold (national rule: below 0.5 × benchmark).
pub const LOW_THRESHOLD_DIP: f64 = 0.5;
/// DRG high-multiplier threshold for groups with RW ≤ 1.
pub const HIGH_THRESHOLD_DRG_LIGHT: f64 = 3.0;
/// DRG high-multiplier threshold for groups with 1 < RW ≤ 2.
pub const HIGH_THRESHOLD_DRG_MEDIUM: f64 = 2.0;
/// DRG high-multiplier threshold for groups with RW > 2.
pub const HIGH_THRESHOLD_DRG_HEAVY: f64 = 1.5;
/// DIP high-multiplier threshold (national rule: above 2.0 × benchmark).
pub const HIGH_THRESHOLD_DIP: f64 = 2.0;

/// The DRG high-multiplier threshold for a group of relative weight `rw`, graded as
/// many cities do (heavier groups have less room for a natural cost tail).
pub fn high_threshold_drg(rw: f64) -> f64 {
    if rw <= 1.0 {
        HIGH_THRESHOLD_DRG_LIGHT
    } else if rw <= 2.0 {
        HIGH_THRESHOLD_DRG_MEDIUM
    } else {
        HIGH_THRESHOLD_DRG_HEAVY
    }
}

/// Payment scheme of the generated region (`--scheme drg|dip`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// CHS-DRG groups (4-character codes, severity suffix 1/3/5/9).
    Drg,
    /// DIP packets: diagnosis category + treatment, scored in points (分值).
    Dip,
}

/// Header labels of `cases.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderStyle {
    /// The canonical snake_case names of CONTRACT §1.
    Canonical,
    /// The Chinese labels of CONTRACT §1, as a settlement-list export shows them.
    Chinese,
}

/// Text encoding of the input-side files (`cases.csv`, `groups.csv`).
///
/// The truth files are always UTF-8: only the analyzer's inputs imitate a Chinese
/// spreadsheet export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputEncoding {
    /// UTF-8 without BOM.
    Utf8,
    /// GB18030 (a superset of GBK), as written by `encoding_rs::GB18030`.
    Gbk,
}

/// Columns of `groups.csv` (CONTRACT §2: only `group_code` and `weight` are required).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogueColumns {
    /// `group_code, weight, family, severity, group_name`: no benchmarks, so the
    /// analyzer derives them from the baseline year (the default).
    Standard,
    /// `group_code, weight` only: family, severity and benchmarks are all left to the
    /// analyzer.
    Minimal,
    /// Standard plus `benchmark_cost` and `benchmark_los`: a published regional average
    /// per group (the cost of a secondary hospital, whose level factor is 1).
    WithBenchmarks,
}

impl CatalogueColumns {
    /// Name in the grid's scenario descriptions.
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogueColumns::Standard => "standard",
            CatalogueColumns::Minimal => "minimal",
            CatalogueColumns::WithBenchmarks => "with_benchmarks",
        }
    }
}

/// Which chemotherapy stays carry `planned_readmission_31d` = 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlannedFlag {
    /// Every cycle, the last one included (the default region, kept for its bytes).
    EveryCycle,
    /// The stays after whose discharge another cycle is planned: the flag is set at the
    /// earlier stay's discharge (出院31天内再住院计划), so a course's last cycle has 0.
    BeforeNextCycle,
}

/// A gaming behaviour the generator can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GamingPattern {
    /// 高套分组: one CC/MCC added (DRG) or a heavier treatment recorded (DIP), so the case
    /// lands in the heavier sibling with the cost and stay of the lighter one.
    Upcoding,
    /// 分解住院: one episode billed as two stays 0–2 days apart.
    SplitStays,
    /// 低标入院: extra 1–2 day admissions in light medical groups.
    LowStandardAdmission,
    /// Cheap cases padded just over the low-multiplier threshold to earn full points.
    LowThresholdPadding,
    /// Costs padded just over the high-multiplier threshold (冲点).
    HighPadding,
}

impl GamingPattern {
    /// All patterns, in a fixed order.
    pub const ALL: [GamingPattern; 5] = [
        GamingPattern::Upcoding,
        GamingPattern::SplitStays,
        GamingPattern::LowStandardAdmission,
        GamingPattern::LowThresholdPadding,
        GamingPattern::HighPadding,
    ];

    /// The pattern's name in the truth files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            GamingPattern::Upcoding => "upcoding",
            GamingPattern::SplitStays => "split_stays",
            GamingPattern::LowStandardAdmission => "low_standard_admission",
            GamingPattern::LowThresholdPadding => "low_threshold_padding",
            GamingPattern::HighPadding => "high_padding",
        }
    }

    /// Parses [`GamingPattern::as_str`] output back.
    pub fn parse(s: &str) -> Option<GamingPattern> {
        GamingPattern::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Gaming injected at one hospital.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GamingSpec {
    /// Hospital id from the generated roster (`H001` …).
    pub hospital_id: String,
    /// What the hospital does.
    pub pattern: GamingPattern,
    /// Pattern-specific strength in [0, 1]: share of eligible cases pushed up
    /// (upcoding), share of stays split (split stays), extra admissions as a share of
    /// volume (low-standard admission), share of sub-threshold cases padded (low
    /// padding), share of cases with multiplier 1.2–threshold padded (high padding).
    pub intensity: f64,
    /// First discharge year in which the hospital games (earlier years are honest).
    pub start_year: i32,
    /// How an upcoder moves a case up (ignored by the other patterns).
    #[serde(default)]
    pub variant: UpcodingVariant,
}

/// How an upcoder codes a case into a heavier group (issue 11), recorded per case in
/// `truth_cases.csv`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpcodingVariant {
    /// A real CC/MCC added, mostly from a handful of favourite codes: the codes support the
    /// claim, which rests on the one added code.
    #[default]
    AddedCode,
    /// A CC/MCC added that the main diagnosis excludes: a grouper would not accept it, the
    /// claimed group is still the heavier one.
    ExcludedCode,
    /// Nearly every upcode uses one favourite CC and one favourite MCC (the US OIG's
    /// severe-malnutrition pattern).
    LeverCode,
    /// A heavier main diagnosis chosen: a diagnosis of a heavier medical ADRG of the same
    /// MDC coded as the main one, the real main condition kept among the secondary codes.
    MainDiagnosis,
}

impl UpcodingVariant {
    /// Every variant.
    pub const ALL: [UpcodingVariant; 4] = [
        UpcodingVariant::AddedCode,
        UpcodingVariant::ExcludedCode,
        UpcodingVariant::LeverCode,
        UpcodingVariant::MainDiagnosis,
    ];

    /// Name in the truth files.
    pub fn as_str(self) -> &'static str {
        match self {
            UpcodingVariant::AddedCode => "added_code",
            UpcodingVariant::ExcludedCode => "excluded_code",
            UpcodingVariant::LeverCode => "lever_code",
            UpcodingVariant::MainDiagnosis => "main_diagnosis",
        }
    }
}

/// Options of [`generate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenerateOptions {
    /// Master seed; every hospital derives its own stream from it.
    pub seed: u64,
    /// Approximate total stays per year across the region (default 60,000).
    pub cases_per_year: usize,
    /// DRG or DIP catalogue.
    pub scheme: Scheme,
    /// Discharge years, strictly increasing; the first is the baseline, the last is
    /// the audited year (default `[2023, 2024]`).
    pub years: Vec<i32>,
    /// Header labels of `cases.csv`.
    pub header_style: HeaderStyle,
    /// Encoding of `cases.csv` and `groups.csv`.
    pub encoding: OutputEncoding,
    /// Gaming to inject (default: [`default_gaming`] for the last default year).
    pub gaming: Vec<GamingSpec>,
    /// The hospitals; `None` = the default 43-hospital roster.
    pub roster: Option<Vec<HospitalSpec>>,
    /// The low-multiplier threshold the region really pays on, which padders aim just
    /// above; `None` = the scheme's national default (DRG 0.4, DIP 0.5).
    pub low_threshold: Option<f64>,
    /// Columns of `groups.csv`.
    pub catalogue: CatalogueColumns,
    /// Which chemotherapy cycles are flagged as followed by a planned readmission.
    pub planned_flag: PlannedFlag,
    /// Share of honest severity-1/3 stays whose severity code the CHS-DRG 1.1 dictionary
    /// does not accept (a local grouper edition differs, as in real data): the codes then
    /// support less than the group claims although nobody games (default 0.005).
    #[serde(default = "default_disagreement")]
    pub coding_disagreement: f64,
    /// Share of honest medical DRG stays whose main diagnosis the dictionary files under a
    /// neighbouring ADRG of the same MDC, and of honest surgical and non-OR stays whose
    /// procedure it files so (default 0.003, each): `UPC_MAIN_DX_ADRG` then finds misfits
    /// although nobody games, as it would on real data.
    #[serde(default = "default_main_dx_disagreement")]
    pub main_dx_disagreement: f64,
    /// Share of stays that are cheap completed stays (short diagnostic or observation
    /// admissions, multiplier around 0.4, discharged home): real regions differ in how many
    /// honest stays fall under the low threshold (default 0; the scenario grid draws it).
    #[serde(default)]
    pub cheap_completed_share: f64,
    /// `--focus-gaming`: concentrate each gaming hospital's injected gaming in one
    /// department and one physician (recorded in `truth_hospitals.csv`), so that the
    /// audit's drill-down has a known answer. Off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub focus_gaming: bool,
}

fn default_main_dx_disagreement() -> f64 {
    0.003
}

fn default_disagreement() -> f64 {
    0.005
}

impl Default for GenerateOptions {
    fn default() -> Self {
        let years = vec![2023, 2024];
        let gaming = default_gaming(2024);
        GenerateOptions {
            seed: 42,
            cases_per_year: 60_000,
            scheme: Scheme::Drg,
            years,
            header_style: HeaderStyle::Canonical,
            encoding: OutputEncoding::Utf8,
            gaming,
            roster: None,
            low_threshold: None,
            catalogue: CatalogueColumns::Standard,
            planned_flag: PlannedFlag::EveryCycle,
            coding_disagreement: default_disagreement(),
            main_dx_disagreement: default_main_dx_disagreement(),
            cheap_completed_share: 0.0,
            focus_gaming: false,
        }
    }
}

/// The standard gaming set, all starting in `start_year`, at distinct non-confounder
/// hospitals covering the three levels: two upcoders (one tertiary, one secondary),
/// a splitter and a low-threshold padder (secondary), a low-standard admitter
/// (primary) and a high padder (tertiary).
pub fn default_gaming(start_year: i32) -> Vec<GamingSpec> {
    let spec = |id: &str, pattern, intensity| GamingSpec {
        hospital_id: id.to_string(),
        pattern,
        intensity,
        start_year,
        variant: UpcodingVariant::AddedCode,
    };
    vec![
        spec(hospitals::UPCODER_TERTIARY, GamingPattern::Upcoding, 0.30),
        spec(hospitals::UPCODER_SECONDARY, GamingPattern::Upcoding, 0.30),
        spec(hospitals::SPLITTER, GamingPattern::SplitStays, 0.15),
        spec(
            hospitals::LOW_STANDARD,
            GamingPattern::LowStandardAdmission,
            0.15,
        ),
        spec(
            hospitals::LOW_PADDER,
            GamingPattern::LowThresholdPadding,
            0.9,
        ),
        spec(hospitals::HIGH_PADDER, GamingPattern::HighPadding, 0.25),
    ]
}

/// What [`generate`] wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateReport {
    /// Rows of `cases.csv`.
    pub cases: usize,
    /// Hospitals in the region (rows of `truth_hospitals.csv`).
    pub hospitals: usize,
    /// Rows of `groups.csv`.
    pub groups: usize,
    /// Rows of `truth_cases.csv`: stays created or altered by gaming.
    pub gamed_cases: usize,
}

/// Why [`generate`] failed.
#[derive(thiserror::Error, Debug)]
pub enum GenerateError {
    /// An output file could not be created or written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file (or directory) concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The options are inconsistent; the message says which one and how to fix it.
    #[error("{0}")]
    Invalid(String),
}

/// Writes a synthetic region into `out_dir` (created if missing) and reports its size.
pub fn generate(opts: &GenerateOptions, out_dir: &Path) -> Result<GenerateReport, GenerateError> {
    validate(opts)?;
    let catalogue = catalog::Catalogue::build(opts.scheme);
    let roster = hospitals::roster(opts)?;
    let region = cases::generate_region(opts, &catalogue, &roster);

    std::fs::create_dir_all(out_dir).map_err(|source| GenerateError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let cases = writer::write_cases(opts, &catalogue, &roster, &region, out_dir)?;
    let groups = writer::write_groups(opts, &catalogue, out_dir)?;
    writer::write_truth_hospitals(&roster, &region.focus, opts.focus_gaming, out_dir)?;
    let gamed_cases = writer::write_truth_cases(&roster, &region, out_dir)?;
    Ok(GenerateReport {
        cases,
        hospitals: roster.len(),
        groups,
        gamed_cases,
    })
}

fn validate(opts: &GenerateOptions) -> Result<(), GenerateError> {
    let invalid = |m: String| Err(GenerateError::Invalid(m));
    if opts.years.is_empty() {
        return invalid("no years given: pass at least one discharge year, e.g. 2023,2024".into());
    }
    if opts.years.windows(2).any(|w| w[0] >= w[1]) {
        return invalid(format!(
            "years {:?} must be strictly increasing (baseline first, audited year last)",
            opts.years
        ));
    }
    if let Some(y) = opts.years.iter().find(|y| !(1900..=2200).contains(*y)) {
        return invalid(format!(
            "year {y} is out of range: use a year between 1900 and 2200"
        ));
    }
    if opts.cases_per_year == 0 || opts.cases_per_year > 50_000_000 {
        return invalid(format!(
            "cases per year {} is out of range: use 1 to 50,000,000",
            opts.cases_per_year
        ));
    }
    if let Some(t) = opts.low_threshold
        && !(t > 0.0 && t < 1.0)
    {
        return invalid(format!(
            "low-multiplier threshold {t} must be between 0 and 1 (exclusive)"
        ));
    }
    if let Some(roster) = &opts.roster {
        if roster.is_empty() || roster.len() > 999 {
            return invalid(format!(
                "a roster of {} hospitals: give 1 to 999",
                roster.len()
            ));
        }
        for (i, h) in roster.iter().enumerate() {
            if !(1..=3).contains(&h.level)
                || h.role == Role::Gaming
                || h.units.is_nan()
                || h.units < 0.0
            {
                return invalid(format!(
                    "roster entry {} ({}): level must be 1–3, units ≥ 0, and the role honest (gaming is given separately)",
                    i + 1,
                    h.name
                ));
            }
        }
    }
    for g in &opts.gaming {
        if !(0.0..=1.0).contains(&g.intensity) {
            return invalid(format!(
                "gaming intensity {} for {} ({}) must be between 0 and 1",
                g.intensity,
                g.hospital_id,
                g.pattern.as_str()
            ));
        }
    }
    Ok(())
}
