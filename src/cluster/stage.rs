//! The clustering stage: standardised case vectors → K-Means (fitted on a deterministic
//! sample of the baseline) → every case assigned → each hospital's cluster mix against its
//! same-level peers for the same groups. Distance to a centroid is never used as an anomaly
//! score (on public data it ranks fraud below chance); cluster *membership and mix* are.

use crate::cluster::{
    self, CaseFeatures, CaseInput, ClusterConfig, ClusterModel, MixTable, MixTest,
};
use crate::error::{AuditError, Result};
use crate::indicators::Ctx;
use crate::period::PeriodTag;
use crate::schema::FEE_COLUMNS;

/// The clustering results the indicators and the report read.
#[derive(Debug, Clone)]
pub struct ClusterView {
    /// The fitted model (scaler, centroids, profiles, labels).
    pub model: ClusterModel,
    /// Cluster of every case.
    pub assignment: Vec<u16>,
    /// Cluster-mix test of every hospital (audited period).
    pub mix: Vec<MixTest>,
    /// Peers' cluster counts by (level, group) in the audited period (published in the
    /// model; for `check`, the model's).
    pub table: MixTable,
    /// The divisor that puts weights on the DRG scale (DIP scores ÷ the region's mean).
    pub weight_scale: f64,
}

/// A published clustering: what `check` needs to place its cases and test its mix.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PublishedClusters {
    /// Scaler, centroids, profiles and labels.
    pub model: ClusterModel,
    /// The region's weight divisor (see [`ClusterView::weight_scale`]).
    pub weight_scale: f64,
    /// Peers' cluster counts by (level, group) in the audited period.
    pub table: MixTable,
}

impl ClusterView {
    /// Whether cluster `c` is flagged suspicious by its profile.
    pub fn suspicious(&self, c: u16) -> bool {
        self.model
            .profiles
            .get(c as usize)
            .is_some_and(|p| p.suspicious)
    }
}

/// Fewer fit rows than this and clustering is skipped (too little data to find patterns).
const MIN_FIT_ROWS: usize = 200;

fn fee(ctx: &Ctx, name: &str, i: usize) -> f64 {
    ctx.cases.fee(name).map_or(f64::NAN, |v| v[i] as f64)
}

fn sum_fees(ctx: &Ctx, names: &[&str], i: usize) -> f64 {
    names.iter().map(|n| fee(ctx, n, i)).sum()
}

/// The region's weight divisor: DIP scores are on another scale, so weights are divided
/// by the region's mean weight.
pub fn weight_scale(ctx: &Ctx) -> f64 {
    let mean_weight = ctx.derived.weight.iter().sum::<f64>() / ctx.cases.len().max(1) as f64;
    if mean_weight > 0.0 { mean_weight } else { 1.0 }
}

/// Builds the feature rows of every case; `scale` divides the weights (see [`weight_scale`]).
pub fn features(ctx: &Ctx, scale: f64) -> CaseFeatures {
    let n = ctx.cases.len();
    let has_fees = FEE_COLUMNS.iter().any(|f| ctx.cases.fee(f).is_some());
    let has_dx = ctx.cases.has("secondary_diagnoses");
    let mut out = CaseFeatures::with_capacity(n);
    for i in 0..n {
        let g = ctx.cases.group[i];
        let lv = ctx.derived.level[i];
        let fees = |names: &[&str]| {
            if has_fees {
                sum_fees(ctx, names, i)
            } else {
                f64::NAN
            }
        };
        out.push(&CaseInput {
            weight: ctx.derived.weight[i] / scale,
            cost: ctx.cases.cost[i],
            group_cost: ctx.derived.benchmarks.cost(g, lv),
            los_days: ctx.cases.los[i] as f64,
            group_los: ctx.derived.benchmarks.los(g, lv),
            severity: match ctx.derived.severity[i] {
                1 => 2.0,
                3 => 1.0,
                5 | 9 => 0.0,
                _ => f64::NAN,
            },
            n_secondary: if has_dx {
                ctx.derived.n_secondary[i] as f64
            } else {
                f64::NAN
            },
            cost_drugs: fees(&["fee_western_drug", "fee_tcm_herbal", "fee_patent_drug"]),
            cost_consumables: fees(&["fee_material"]),
            cost_exam_lab: fees(&["fee_exam", "fee_lab"]),
            cost_surgery: fees(&["fee_surgery"]),
            cost_treatment: fees(&["fee_treatment"]),
            cost_bed_nursing: fees(&["fee_bed", "fee_nursing"]),
            readmitted_15d: ctx.unplanned_readmission(i),
            disposition_not_home: matches!(ctx.cases.disposition[i], 2 | 4 | 5),
        });
    }
    // A feature the file cannot give (no diagnoses, no fee columns) is set to a constant, so it
    // neither fails the scaler nor sways the clusters.
    let cols = crate::cluster::N_FEATURES;
    for j in 0..cols {
        if (0..out.rows).all(|i| out.values[i * cols + j].is_nan()) {
            for i in 0..out.rows {
                out.values[i * cols + j] = 0.0;
            }
        }
    }
    out
}

/// Fits (or, with `published`, reuses) the clustering and tests every hospital's mix.
/// Returns `None` when there are too few cases to cluster.
pub fn cluster_region(
    ctx: &Ctx,
    published: Option<&PublishedClusters>,
) -> Result<Option<ClusterView>> {
    let scale = published.map_or_else(|| weight_scale(ctx), |p| p.weight_scale);
    let feats = features(ctx, scale);
    let model = match published {
        Some(p) => p.model.clone(),
        None => {
            let baseline: Vec<usize> = (0..ctx.cases.len())
                .filter(|&i| ctx.derived.period[i] == PeriodTag::Baseline)
                .collect();
            let fit_rows = if baseline.len() >= MIN_FIT_ROWS {
                baseline
            } else {
                (0..ctx.cases.len())
                    .filter(|&i| ctx.derived.period[i] == PeriodTag::Audited)
                    .collect()
            };
            if fit_rows.len() < MIN_FIT_ROWS {
                return Ok(None);
            }
            let rules = &ctx.config.cluster;
            let cfg = ClusterConfig {
                seed: ctx.config.seed,
                k: (rules.k > 0).then_some(rules.k),
                sample_size: rules.sample_size,
                n_runs: rules.n_init,
                tolerance: rules.tolerance,
                max_iter: rules.max_iter,
                ..ClusterConfig::default()
            };
            cluster::fit(&feats, &fit_rows, &cfg)
                .map_err(|e| AuditError::Usage(format!("clustering: {e}")))?
        }
    };
    let assignment = cluster::assign(&model, &feats);
    drop(feats);
    let include: Vec<bool> = ctx
        .derived
        .period
        .iter()
        .map(|p| *p == PeriodTag::Audited)
        .collect();
    // A published table is copied into the view (small: levels × groups × k counts).
    let table = match published {
        Some(p) => p.table.clone(),
        None => cluster::mix_table(
            &assignment,
            &ctx.cases.hospital,
            &ctx.cases.group,
            &ctx.hospital_level,
            &include,
            model.k,
        ),
    };
    let mix = cluster::mix_tests_against(
        &table,
        |h| ctx.peers.own_included(h as u32),
        &assignment,
        &ctx.cases.hospital,
        &ctx.cases.group,
        &ctx.hospital_level,
        &include,
    );
    Ok(Some(ClusterView {
        model,
        assignment,
        mix,
        table,
        weight_scale: scale,
    }))
}
