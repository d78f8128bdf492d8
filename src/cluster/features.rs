//! Case vectors: which features describe a case, and how raw fields become them.
//!
//! A case vector should describe *how the case was treated relative to what its
//! group usually needs*, not which group it is in, because the hospital-level test
//! ([`crate::cluster::mix_tests`]) already compares like with like by DRG group. That
//! is why cost and stay enter as ratios to the group's benchmark, on a log scale
//! (a case at half the benchmark is as far from normal as one at double it), while
//! the group's own weight enters once, as `log_weight`, so that "cheap short stays
//! in light groups" can form a cluster of their own.
//!
//! Use [`CaseInput::to_row`] (or [`CaseFeatures::push`]) to build rows: it applies
//! the transformations below in one place. Any value that cannot be computed is
//! `NaN` and is imputed with the fit-row mean at standardisation.

use super::ClusterError;

/// Number of features in a case vector.
pub const N_FEATURES: usize = 13;

/// Feature names in column order (stored in the model).
///
/// | # | name | definition (as built by [`CaseInput::to_row`]) |
/// |---|---|---|
/// | 0 | `log_weight` | ln(RW) of the case's DRG/DIP group (DIP: score / regional mean score) |
/// | 1 | `log_multiplier` | ln(case cost / group benchmark cost), the log of the 倍率 |
/// | 2 | `log_los_ratio` | ln(max(LOS, 0.5) / max(group mean LOS, 0.5)); LOS in days |
/// | 3 | `severity` | 0 = no CC/MCC (DRG digit 5 or 9), 1 = CC (digit 3), 2 = MCC (digit 1) |
/// | 4 | `n_secondary` | number of secondary diagnoses coded, capped at 15 |
/// | 5 | `share_drugs` | drug cost / total cost (西药 + 中成药 + 中草药) |
/// | 6 | `share_consumables` | medical consumables / total cost (耗材) |
/// | 7 | `share_exam_lab` | examination + laboratory / total cost (检查 + 化验) |
/// | 8 | `share_surgery` | surgery + anaesthesia / total cost (手术 + 麻醉) |
/// | 9 | `share_treatment` | non-surgical treatment / total cost (治疗) |
/// | 10 | `share_bed_nursing` | bed + nursing / total cost (床位 + 护理) |
/// | 11 | `readmitted_15d` | 1 if the same patient had an unplanned readmission within 15 days of this discharge, else 0 |
/// | 12 | `disposition_not_home` | 1 if the discharge was not routine (transfer, against advice, death), else 0 |
///
/// The remaining cost share ("other") is left out so the shares are not collinear.
pub const FEATURES: [&str; N_FEATURES] = [
    "log_weight",
    "log_multiplier",
    "log_los_ratio",
    "severity",
    "n_secondary",
    "share_drugs",
    "share_consumables",
    "share_exam_lab",
    "share_surgery",
    "share_treatment",
    "share_bed_nursing",
    "readmitted_15d",
    "disposition_not_home",
];

/// Weight of each feature after standardisation (the scaler divides by `std / weight`).
///
/// Cost and stay against the group's benchmark, severity and the group's weight carry the
/// gaming patterns (upcoding: high severity at a low multiplier; low-standard admissions:
/// light groups, very short and cheap), so they count fully. The six fee shares mostly
/// describe a hospital's practice style (surgical or medical, drug-heavy or not), which
/// differs between honest hospitals: left at full weight they outvote everything else
/// and the clusters sort hospitals by style. Each share counts 0.35, so the six of them
/// together weigh about as much as one feature (6 × 0.35² ≈ 0.74). The number of secondary
/// diagnoses repeats part of severity and the two rare flags would claim clusters of their
/// own: each counts 0.5.
pub const FEATURE_WEIGHTS: [f64; N_FEATURES] = [
    1.0, 1.0, 1.0, 1.0, 0.5, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.25, 0.25,
];

/// Column index of `log_weight` in [`FEATURES`].
pub const F_LOG_WEIGHT: usize = 0;
/// Column index of `log_multiplier` in [`FEATURES`].
pub const F_LOG_MULTIPLIER: usize = 1;
/// Column index of `log_los_ratio` in [`FEATURES`].
pub const F_LOG_LOS_RATIO: usize = 2;
/// Column index of `severity` in [`FEATURES`].
pub const F_SEVERITY: usize = 3;

/// Cap on the number of secondary diagnoses (a few cases list 40 codes).
pub const N_SECONDARY_CAP: f64 = 15.0;

/// The case matrix: `rows` × [`N_FEATURES`] values, row-major.
///
/// `NaN` marks a missing value; it is imputed with the scaler mean (0 after
/// standardisation) both when fitting and when assigning.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseFeatures {
    /// Number of cases.
    pub rows: usize,
    /// Row-major values, `rows × FEATURES.len()`.
    pub values: Vec<f64>,
}

impl CaseFeatures {
    /// Wrap a row-major buffer, checking its length.
    pub fn new(rows: usize, values: Vec<f64>) -> Result<Self, ClusterError> {
        let f = Self { rows, values };
        f.check()?;
        Ok(f)
    }

    /// An empty matrix with room for `rows` cases.
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            rows: 0,
            values: Vec::with_capacity(rows * N_FEATURES),
        }
    }

    /// Append one case built from raw fields.
    pub fn push(&mut self, case: &CaseInput) {
        self.values.extend_from_slice(&case.to_row());
        self.rows += 1;
    }

    /// The values of row `i`.
    ///
    /// # Panics
    /// If `i >= rows`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * N_FEATURES..(i + 1) * N_FEATURES]
    }

    /// Check that `values.len() == rows × N_FEATURES`.
    pub fn check(&self) -> Result<(), ClusterError> {
        if self.values.len() != self.rows * N_FEATURES {
            return Err(ClusterError::Shape {
                len: self.values.len(),
                rows: self.rows,
                cols: N_FEATURES,
            });
        }
        Ok(())
    }
}

/// Raw settlement fields of one case, turned into a [`FEATURES`] row by
/// [`CaseInput::to_row`]. Amounts are in yuan; use `NaN` for unknown values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseInput {
    /// Relative weight (RW) of the case's group; DIP: score / regional mean score.
    pub weight: f64,
    /// Total cost of the case.
    pub cost: f64,
    /// Benchmark cost of the group (e.g. same-level peers' mean in the baseline).
    pub group_cost: f64,
    /// Length of stay in days.
    pub los_days: f64,
    /// Benchmark length of stay of the group in days.
    pub group_los: f64,
    /// Severity: 0 none, 1 CC, 2 MCC (see [`severity_from_drg_digit`]).
    pub severity: f64,
    /// Number of secondary diagnoses coded.
    pub n_secondary: f64,
    /// Drug cost.
    pub cost_drugs: f64,
    /// Consumables cost.
    pub cost_consumables: f64,
    /// Examination and laboratory cost.
    pub cost_exam_lab: f64,
    /// Surgery and anaesthesia cost.
    pub cost_surgery: f64,
    /// Non-surgical treatment cost.
    pub cost_treatment: f64,
    /// Bed and nursing cost.
    pub cost_bed_nursing: f64,
    /// Unplanned readmission of the same patient within 15 days of discharge.
    pub readmitted_15d: bool,
    /// Discharge was not routine (transfer, against advice, death).
    pub disposition_not_home: bool,
}

/// Map the fourth character of a CHS-DRG code to the `severity` feature:
/// `'1'` (MCC) → 2, `'3'` (CC) → 1, `'5'`/`'9'` → 0, anything else → `NaN`.
pub fn severity_from_drg_digit(c: char) -> f64 {
    match c {
        '1' => 2.0,
        '3' => 1.0,
        '5' | '9' => 0.0,
        _ => f64::NAN,
    }
}

/// `ln(a / b)` when both are positive and finite, else `NaN`.
fn log_ratio(a: f64, b: f64) -> f64 {
    if a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite() {
        (a / b).ln()
    } else {
        f64::NAN
    }
}

impl CaseInput {
    /// The case vector in [`FEATURES`] order.
    pub fn to_row(&self) -> [f64; N_FEATURES] {
        let share = |x: f64| {
            if self.cost > 0.0 && x.is_finite() && x >= 0.0 {
                (x / self.cost).min(1.0)
            } else {
                f64::NAN
            }
        };
        let los = |x: f64| if x.is_finite() { x.max(0.5) } else { f64::NAN };
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        [
            if self.weight > 0.0 {
                self.weight.ln()
            } else {
                f64::NAN
            },
            log_ratio(self.cost, self.group_cost),
            log_ratio(los(self.los_days), los(self.group_los)),
            self.severity,
            if self.n_secondary.is_finite() {
                self.n_secondary.clamp(0.0, N_SECONDARY_CAP)
            } else {
                f64::NAN
            },
            share(self.cost_drugs),
            share(self.cost_consumables),
            share(self.cost_exam_lab),
            share(self.cost_surgery),
            share(self.cost_treatment),
            share(self.cost_bed_nursing),
            flag(self.readmitted_15d),
            flag(self.disposition_not_home),
        ]
    }
}
