//! The clustering stage: standardised case vectors → K-Means (fitted on a deterministic
//! sample of the baseline) → every case assigned → each hospital's cluster mix against its
//! same-level peers for the same groups. Distance to a centroid is never used as an anomaly
//! score (on public data it ranks fraud below chance); cluster *membership and mix* are.

use crate::cluster::{
    self, CaseFeatures, CaseInput, ClusterConfig, ClusterModel, MixTable, MixTest,
};
use crate::error::Result;
use crate::period::PeriodTag;
use crate::region::Region;
use crate::schema::FEE_COLUMNS;
use rayon::prelude::*;

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

/// The region's weight divisor: DIP scores are on another scale, so weights are divided
/// by the region's mean weight.
pub fn weight_scale(region: &Region) -> f64 {
    let mean_weight = region.derived.weight.iter().sum::<f64>() / region.cases.len().max(1) as f64;
    if mean_weight > 0.0 { mean_weight } else { 1.0 }
}

/// Rows per parallel work item of [`features`].
const FEATURE_CHUNK_ROWS: usize = 16_384;

/// The fee columns each fee feature sums (in this order); a column the file lacks is `NaN`.
const FEE_SUMS: [&[&str]; 6] = [
    &["fee_western_drug", "fee_tcm_herbal", "fee_patent_drug"],
    &["fee_material"],
    &["fee_exam", "fee_lab"],
    &["fee_surgery"],
    &["fee_treatment"],
    &["fee_bed", "fee_nursing"],
];

/// Builds the feature rows of every case; `scale` divides the weights (see [`weight_scale`]).
///
/// Rows are built in parallel blocks straight into the flat matrix; each row depends only
/// on its case, so the matrix is the same whatever the number of threads.
pub fn features(region: &Region, scale: f64) -> CaseFeatures {
    let n = region.cases.len();
    let has_fees = FEE_COLUMNS.iter().any(|f| region.cases.fee(f).is_some());
    let has_dx = region.cases.has("secondary_diagnoses");
    // The fee columns of each sum, looked up once (not per case).
    let fee_cols: Vec<Vec<Option<&[f32]>>> = FEE_SUMS
        .iter()
        .map(|names| names.iter().map(|n| region.cases.fee(n)).collect())
        .collect();
    let fees = |sum: usize, i: usize| {
        if has_fees {
            fee_cols[sum]
                .iter()
                .map(|c| c.map_or(f64::NAN, |v| v[i] as f64))
                .sum()
        } else {
            f64::NAN
        }
    };
    let cols = crate::cluster::N_FEATURES;
    let mut values = vec![0.0; n * cols];
    values
        .par_chunks_mut(FEATURE_CHUNK_ROWS * cols)
        .enumerate()
        .for_each(|(chunk, out)| {
            for (r, row) in out.chunks_exact_mut(cols).enumerate() {
                let i = chunk * FEATURE_CHUNK_ROWS + r;
                let g = region.cases.group[i];
                let lv = region.derived.level[i];
                let case = CaseInput {
                    weight: region.derived.weight[i] / scale,
                    cost: region.cases.cost[i],
                    group_cost: region.derived.benchmarks.cost(g, lv),
                    los_days: region.cases.los[i] as f64,
                    group_los: region.derived.benchmarks.los(g, lv),
                    severity: match region.derived.severity[i] {
                        1 => 2.0,
                        3 => 1.0,
                        5 | 9 => 0.0,
                        _ => f64::NAN,
                    },
                    n_secondary: if has_dx {
                        region.derived.n_secondary[i] as f64
                    } else {
                        f64::NAN
                    },
                    cost_drugs: fees(0, i),
                    cost_consumables: fees(1, i),
                    cost_exam_lab: fees(2, i),
                    cost_surgery: fees(3, i),
                    cost_treatment: fees(4, i),
                    cost_bed_nursing: fees(5, i),
                    readmitted_15d: region.unplanned_readmission(i),
                    disposition_not_home: matches!(region.cases.disposition[i], 2 | 4 | 5),
                };
                row.copy_from_slice(&case.to_row());
            }
        });
    let mut out = CaseFeatures { rows: n, values };
    // A feature the file cannot give (no diagnoses, no fee columns) is set to a constant, so it
    // neither fails the scaler nor sways the clusters.
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
    region: &Region,
    published: Option<&PublishedClusters>,
) -> Result<Option<ClusterView>> {
    let mut tr = crate::cluster::trace::Trace::new("cluster");
    let scale = published.map_or_else(|| weight_scale(region), |p| p.weight_scale);
    let feats = features(region, scale);
    tr.mark("features");
    let model = match published {
        Some(p) => p.model.clone(),
        None => {
            let baseline: Vec<usize> = (0..region.cases.len())
                .filter(|&i| region.derived.period[i] == PeriodTag::Baseline)
                .collect();
            let fit_rows = if baseline.len() >= MIN_FIT_ROWS {
                baseline
            } else {
                (0..region.cases.len())
                    .filter(|&i| region.derived.period[i] == PeriodTag::Audited)
                    .collect()
            };
            if fit_rows.len() < MIN_FIT_ROWS {
                return Ok(None);
            }
            let cfg = ClusterConfig::for_region(&region.config.cluster, region.config.seed);
            cluster::fit(&feats, &fit_rows, &cfg)?
        }
    };
    tr.mark("fit");
    let assignment = cluster::assign(&model, &feats);
    drop(feats);
    tr.mark("assign");
    let include: Vec<bool> = region
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
            &region.cases.hospital,
            &region.cases.group,
            &region.hospital_level,
            &include,
            model.k,
        ),
    };
    let mix = cluster::mix_tests_against(
        &table,
        |h| region.peers.own_included(h as u32),
        &assignment,
        &region.cases.hospital,
        &region.cases.group,
        &region.hospital_level,
        &include,
    );
    tr.mark("mix");
    Ok(Some(ClusterView {
        model,
        assignment,
        mix,
        table,
        weight_scale: scale,
    }))
}
