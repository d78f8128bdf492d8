//! Bilingual cluster labels and the `suspicious` flag.
//!
//! A centroid in standardised space says, feature by feature, how many standard
//! deviations the cluster's typical case sits from the average case. The label
//! names the cluster by its most distinctive features:
//!
//! 1. take the features with `|z| ≥` [`LABEL_MIN_Z`] (0.5 sd);
//! 2. keep the [`LABEL_MAX_PARTS`] (4) largest by `|z|` (ties → column order);
//! 3. print them with the core dimensions first — severity, cost, stay, weight —
//!    then the others by `|z|`, joined by `" · "`.
//!
//! A cluster with no distinctive feature is `"typical"` / `"典型"`.
//!
//! # The suspicious rule
//!
//! Two patterns from the domain guide make a cluster `suspicious`:
//!
//! * **high severity with low resource** (upcoding: an MCC/CC on a case that cost
//!   like one without): `z(severity) ≥ 0.5` and `z(log_multiplier) ≤ −0.5` or
//!   `z(log_los_ratio) ≤ −0.5` (resource is money or bed-days);
//! * **low weight with very short stay** (low-standard admission, split stays):
//!   `z(log_weight) ≤ −0.5` and `z(log_los_ratio) ≤ −1.0`.
//!
//! The thresholds are [`SUSPICIOUS_Z`] and [`VERY_SHORT_Z`]. A suspicious cluster is a
//! place to look, not a finding: [`crate::cluster::mix_tests`] says whether a
//! hospital has more of it than its peers for the same groups.

use super::features::{F_LOG_LOS_RATIO, F_LOG_MULTIPLIER, F_LOG_WEIGHT, F_SEVERITY, FEATURES};

/// Smallest `|z|` of a centroid coordinate that counts as distinctive.
pub const LABEL_MIN_Z: f64 = 0.5;
/// Largest number of features named in a label.
pub const LABEL_MAX_PARTS: usize = 4;
/// `|z|` threshold of the two suspicious rules ("high", "low").
pub const SUSPICIOUS_Z: f64 = 0.5;
/// `z(log_los_ratio)` at or below which a stay is "very short".
pub const VERY_SHORT_Z: f64 = -1.0;

/// (English high, English low, Chinese high, Chinese low) per feature, in
/// [`FEATURES`] order.
const WORDS: [(&str, &str, &str, &str); FEATURES.len()] = [
    ("high weight", "low weight", "高权重", "低权重"),
    ("high cost", "low cost", "高费用", "低费用"),
    ("long stay", "short stay", "长住院", "短住院"),
    ("high severity", "low severity", "高严重度", "低严重度"),
    (
        "many secondary diagnoses",
        "few secondary diagnoses",
        "次要诊断多",
        "次要诊断少",
    ),
    ("drug-heavy", "few drugs", "药品占比高", "药品占比低"),
    (
        "consumable-heavy",
        "few consumables",
        "耗材占比高",
        "耗材占比低",
    ),
    (
        "exam/lab-heavy",
        "little exam/lab",
        "检查检验占比高",
        "检查检验占比低",
    ),
    (
        "surgery-heavy",
        "little surgery",
        "手术占比高",
        "手术占比低",
    ),
    (
        "treatment-heavy",
        "little treatment",
        "治疗占比高",
        "治疗占比低",
    ),
    (
        "bed/nursing-heavy",
        "little bed/nursing",
        "床位护理占比高",
        "床位护理占比低",
    ),
    (
        "readmitted within 15 days",
        "rarely readmitted",
        "15天内再入院多",
        "再入院少",
    ),
    (
        "not discharged home",
        "discharged home",
        "非常规离院多",
        "常规离院",
    ),
];

/// Display priority of the core dimensions (lower first); others come after.
fn priority(j: usize) -> usize {
    match j {
        F_SEVERITY => 0,
        F_LOG_MULTIPLIER => 1,
        F_LOG_LOS_RATIO => 2,
        F_LOG_WEIGHT => 3,
        _ => 4,
    }
}

/// English and Chinese labels of a standardised centroid.
pub fn label(z: &[f64]) -> (String, String) {
    let mut picked: Vec<usize> = (0..z.len().min(WORDS.len()))
        .filter(|&j| z[j].abs() >= LABEL_MIN_Z)
        .collect();
    picked.sort_by(|&a, &b| z[b].abs().total_cmp(&z[a].abs()).then(a.cmp(&b)));
    picked.truncate(LABEL_MAX_PARTS);
    // Stable sort keeps the |z| order among the non-core features.
    picked.sort_by_key(|&j| priority(j));
    if picked.is_empty() {
        return ("typical".into(), "典型".into());
    }
    let mut en = Vec::with_capacity(picked.len());
    let mut zh = Vec::with_capacity(picked.len());
    for j in picked {
        let (he, le, hz, lz) = WORDS[j];
        let high = z[j] > 0.0;
        if j == F_LOG_LOS_RATIO && z[j] <= VERY_SHORT_Z {
            en.push("very short stay");
            zh.push("极短住院");
        } else {
            en.push(if high { he } else { le });
            zh.push(if high { hz } else { lz });
        }
    }
    (en.join(" · "), zh.join(" · "))
}

/// Which suspicious pattern a standardised centroid matches, if any
/// (English reason, empty when none). See the module docs for the rule.
pub fn suspicion(z: &[f64]) -> String {
    let mut reasons = Vec::new();
    // Resource = money or bed-days: either one well below the group's benchmark.
    let low_resource = z[F_LOG_MULTIPLIER] <= -SUSPICIOUS_Z || z[F_LOG_LOS_RATIO] <= -SUSPICIOUS_Z;
    if z[F_SEVERITY] >= SUSPICIOUS_Z && low_resource {
        reasons.push("high severity with low resource");
    }
    if z[F_LOG_WEIGHT] <= -SUSPICIOUS_Z && z[F_LOG_LOS_RATIO] <= VERY_SHORT_Z {
        reasons.push("low weight with very short stay");
    }
    reasons.join("; ")
}
