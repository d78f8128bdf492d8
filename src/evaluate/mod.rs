//! `evaluate`: scores a finished run against the generator's ground truth — ROC-AUC per
//! detector and overall, precision@k and recall@k, and where the legitimate confounders rank.
//! [`grid`] scores many generated regions at once (`evaluate --grid`).

pub mod grid;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::{AuditError, Result};
use crate::ingest::table::read_small_csv;

/// The patterns each score is meant to find.
pub const DETECTOR_PATTERNS: [(&str, &[&str]); 5] = [
    ("upcoding_score", &["upcoding"]),
    (
        "point_chasing_score",
        &["split_stays", "low_standard_admission", "high_padding"],
    ),
    (
        "low_multiplier_score",
        &["low_standard_admission", "low_threshold_padding"],
    ),
    ("cluster_mix_score", &["upcoding", "low_standard_admission"]),
    (
        "risk_score",
        &[
            "upcoding",
            "split_stays",
            "low_standard_admission",
            "high_padding",
            "low_threshold_padding",
        ],
    ),
];

/// One score's accuracy.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreEvaluation {
    /// Score column.
    pub score: String,
    /// Hospitals with one of the score's patterns.
    pub positives: usize,
    /// ROC-AUC against hospitals with no injected gaming (clean and confounders).
    pub auc_vs_honest: f64,
    /// ROC-AUC against every other hospital (including those gaming in other ways).
    pub auc_vs_all_others: f64,
}

/// A confounder's place in the ranking.
#[derive(Debug, Clone, Serialize)]
pub struct ConfounderRank {
    /// `hospital_id`.
    pub hospital_id: String,
    /// Its role in the truth file.
    pub role: String,
    /// Its rank.
    pub rank: usize,
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Per score.
    pub scores: Vec<ScoreEvaluation>,
    /// Number of gaming hospitals (k).
    pub gaming_hospitals: usize,
    /// Precision at k = number of gaming hospitals, by rank.
    pub precision_at_k: f64,
    /// Recall at k.
    pub recall_at_k: f64,
    /// Precision at 10.
    pub precision_at_10: f64,
    /// Recall at 10.
    pub recall_at_10: f64,
    /// Confounders' ranks.
    pub confounders: Vec<ConfounderRank>,
}

struct TruthRow {
    role: String,
    patterns: Vec<String>,
}

/// Evaluates `run_dir/hospitals.csv` against a `truth_hospitals.csv`.
pub fn evaluate(run_dir: &Path, truth: &Path) -> Result<Evaluation> {
    let hospitals = read_small_csv(&run_dir.join("hospitals.csv"), "--run")?;
    let truth_table = read_small_csv(truth, "--truth")?;
    let col = |t: &crate::ingest::table::StringTable, name: &str, path: &Path| -> Result<usize> {
        t.headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| AuditError::input(path, "header", format!("column {name} is missing")))
    };
    let (tid, trole, tpat) = (
        col(&truth_table, "hospital_id", truth)?,
        col(&truth_table, "role", truth)?,
        col(&truth_table, "patterns", truth)?,
    );
    let truth_rows: BTreeMap<String, TruthRow> = truth_table
        .rows
        .iter()
        .filter_map(|r| {
            let id = r.get(tid)?.clone()?;
            let role = r.get(trole).cloned().flatten().unwrap_or_default();
            let patterns = r
                .get(tpat)
                .cloned()
                .flatten()
                .unwrap_or_default()
                .split(';')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            Some((id, TruthRow { role, patterns }))
        })
        .collect();
    let hpath = run_dir.join("hospitals.csv");
    let hid = col(&hospitals, "hospital_id", &hpath)?;
    let hrank = col(&hospitals, "rank", &hpath)?;
    let mut ranked: Vec<(String, usize, BTreeMap<&str, f64>)> = Vec::new();
    for r in &hospitals.rows {
        let id = r[hid].clone().unwrap_or_default();
        let rank = r[hrank]
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or(usize::MAX);
        let mut scores = BTreeMap::new();
        for (score, _) in DETECTOR_PATTERNS {
            let c = col(&hospitals, score, &hpath)?;
            scores.insert(
                score,
                r[c].as_deref().and_then(|s| s.parse().ok()).unwrap_or(0.0),
            );
        }
        ranked.push((id, rank, scores));
    }
    ranked.sort_by_key(|r| r.1);
    let is_gaming = |id: &str| truth_rows.get(id).is_some_and(|t| !t.patterns.is_empty());
    let scores = DETECTOR_PATTERNS
        .iter()
        .map(|(score, patterns)| {
            let has = |id: &str| {
                truth_rows
                    .get(id)
                    .is_some_and(|t| t.patterns.iter().any(|p| patterns.contains(&p.as_str())))
            };
            let pos: Vec<f64> = ranked
                .iter()
                .filter(|r| has(&r.0))
                .map(|r| r.2[score])
                .collect();
            let honest: Vec<f64> = ranked
                .iter()
                .filter(|r| !is_gaming(&r.0))
                .map(|r| r.2[score])
                .collect();
            let others: Vec<f64> = ranked
                .iter()
                .filter(|r| !has(&r.0))
                .map(|r| r.2[score])
                .collect();
            ScoreEvaluation {
                score: score.to_string(),
                positives: pos.len(),
                auc_vs_honest: auc(&pos, &honest),
                auc_vs_all_others: auc(&pos, &others),
            }
        })
        .collect();
    let k = truth_rows
        .values()
        .filter(|t| !t.patterns.is_empty())
        .count();
    let hits = |k: usize| ranked.iter().take(k).filter(|r| is_gaming(&r.0)).count() as f64;
    let confounders = ranked
        .iter()
        .filter_map(|r| {
            let t = truth_rows.get(&r.0)?;
            t.role.starts_with("confounder").then(|| ConfounderRank {
                hospital_id: r.0.clone(),
                role: t.role.clone(),
                rank: r.1,
            })
        })
        .collect();
    Ok(Evaluation {
        scores,
        gaming_hospitals: k,
        precision_at_k: if k > 0 { hits(k) / k as f64 } else { f64::NAN },
        recall_at_k: if k > 0 { hits(k) / k as f64 } else { f64::NAN },
        precision_at_10: hits(10) / 10f64.min(ranked.len() as f64).max(1.0),
        recall_at_10: if k > 0 { hits(10) / k as f64 } else { f64::NAN },
        confounders,
    })
}

/// ROC-AUC by the Mann–Whitney statistic (ties count one half).
pub fn auc(pos: &[f64], neg: &[f64]) -> f64 {
    if pos.is_empty() || neg.is_empty() {
        return f64::NAN;
    }
    let mut wins = 0.0;
    for p in pos {
        for n in neg {
            wins += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (pos.len() * neg.len()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_hand() {
        assert_eq!(auc(&[3.0, 2.0], &[1.0, 0.0]), 1.0);
        assert_eq!(auc(&[1.0], &[1.0]), 0.5);
        // 3 vs {4, 1}: one win of two.
        assert_eq!(auc(&[3.0], &[4.0, 1.0]), 0.5);
        assert!(auc(&[], &[1.0]).is_nan());
    }
}
