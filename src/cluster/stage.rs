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

/// The feature rows of a region's cases, computed on demand: a matrix of every case would
/// be 1 GiB at 10 M stays, and each row depends only on its case. A feature the file cannot
/// give (no diagnoses, no fee columns: `NaN` in every row) is set to 0, so it neither fails
/// the scaler nor sways the clusters.
struct FeatureSource<'a> {
    region: &'a Region<'a>,
    scale: f64,
    has_fees: bool,
    has_dx: bool,
    /// The fee columns of each sum, looked up once (not per case).
    fee_cols: Vec<Vec<Option<&'a [f32]>>>,
    /// Features missing in every row.
    missing: [bool; crate::cluster::N_FEATURES],
}

impl<'a> FeatureSource<'a> {
    /// `scale` divides the weights (see [`weight_scale`]).
    fn new(region: &'a Region<'a>, scale: f64) -> Self {
        let fee_cols: Vec<Vec<Option<&[f32]>>> = FEE_SUMS
            .iter()
            .map(|names| names.iter().map(|n| region.cases.fee(n)).collect())
            .collect();
        let mut source = FeatureSource {
            region,
            scale,
            has_fees: FEE_COLUMNS.iter().any(|f| region.cases.fee(f).is_some()),
            has_dx: region.cases.has("secondary_diagnoses"),
            fee_cols,
            missing: [false; crate::cluster::N_FEATURES],
        };
        source.missing = source.missing_everywhere();
        source
    }

    /// The features `NaN` in every row. Rows are read until every feature has shown a
    /// value, so usually one row; a feature known to be absent everywhere (a fee sum over
    /// an absent column, the code count without diagnoses) is not waited for.
    fn missing_everywhere(&self) -> [bool; crate::cluster::N_FEATURES] {
        let mut known_absent = [false; crate::cluster::N_FEATURES];
        for (j, name) in crate::cluster::FEATURES.iter().enumerate() {
            known_absent[j] = match FEE_FEATURES.iter().position(|f| f == name) {
                Some(k) => !self.has_fees || self.fee_cols[k].iter().any(Option::is_none),
                None => *name == "n_secondary" && !self.has_dx,
            };
        }
        let mut seen = [false; crate::cluster::N_FEATURES];
        for i in 0..self.region.cases.len() {
            let row = self.raw(i);
            for (s, v) in seen.iter_mut().zip(row) {
                *s |= !v.is_nan();
            }
            if seen.iter().zip(&known_absent).all(|(s, a)| *s || *a) {
                break;
            }
        }
        seen.map(|s| !s)
    }

    fn fees(&self, sum: usize, i: usize) -> f64 {
        if self.has_fees {
            self.fee_cols[sum]
                .iter()
                .map(|c| c.map_or(f64::NAN, |v| v[i] as f64))
                .sum()
        } else {
            f64::NAN
        }
    }

    /// Case `i`'s features as the file gives them.
    fn raw(&self, i: usize) -> [f64; crate::cluster::N_FEATURES] {
        let region = self.region;
        let g = region.cases.group[i];
        let lv = region.derived.level[i];
        CaseInput {
            weight: region.derived.weight[i] / self.scale,
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
            n_secondary: if self.has_dx {
                region.derived.n_secondary[i] as f64
            } else {
                f64::NAN
            },
            cost_drugs: self.fees(0, i),
            cost_consumables: self.fees(1, i),
            cost_exam_lab: self.fees(2, i),
            cost_surgery: self.fees(3, i),
            cost_treatment: self.fees(4, i),
            cost_bed_nursing: self.fees(5, i),
            readmitted_15d: region.unplanned_readmission(i),
            disposition_not_home: matches!(region.cases.disposition[i], 2 | 4 | 5),
        }
        .to_row()
    }

    /// Case `i`'s feature row, features missing everywhere set to 0.
    fn row_into(&self, i: usize, out: &mut [f64]) {
        out.copy_from_slice(&self.raw(i));
        for (v, m) in out.iter_mut().zip(&self.missing) {
            if *m {
                *v = 0.0;
            }
        }
    }

    /// The rows of `cases` (in that order) as a matrix, built in parallel blocks.
    fn matrix(&self, cases: &[usize]) -> CaseFeatures {
        let cols = crate::cluster::N_FEATURES;
        let mut values = vec![0.0; cases.len() * cols];
        values
            .par_chunks_mut(FEATURE_CHUNK_ROWS * cols)
            .zip(cases.par_chunks(FEATURE_CHUNK_ROWS))
            .for_each(|(out, cases)| {
                for (row, &i) in out.chunks_exact_mut(cols).zip(cases) {
                    self.row_into(i, row);
                }
            });
        CaseFeatures {
            rows: cases.len(),
            values,
        }
    }
}

/// The features of [`FEE_SUMS`], in its order (`NaN` in every row when a summed column is
/// absent).
const FEE_FEATURES: [&str; 6] = [
    "share_drugs",
    "share_consumables",
    "share_exam_lab",
    "share_surgery",
    "share_treatment",
    "share_bed_nursing",
];

/// Builds the feature rows of every case; `scale` divides the weights (see [`weight_scale`]).
/// (The stage itself holds only the fit rows' matrix; this is for callers that fit and
/// assign by hand, as the cross-seed stability test does.)
pub fn features(region: &Region, scale: f64) -> CaseFeatures {
    let all: Vec<usize> = (0..region.cases.len()).collect();
    FeatureSource::new(region, scale).matrix(&all)
}

/// Fits (or, with `published`, reuses) the clustering and tests every hospital's mix.
/// Returns `None` when there are too few cases to cluster.
pub fn cluster_region(
    region: &Region,
    published: Option<&PublishedClusters>,
) -> Result<Option<ClusterView>> {
    let mut tr = crate::progress::Trace::new("cluster");
    let scale = published.map_or_else(|| weight_scale(region), |p| p.weight_scale);
    let source = FeatureSource::new(region, scale);
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
            // Only the fit rows' features are held (the baseline, about half the cases);
            // the sample is chosen by position among the fit rows, so the compact matrix
            // gives the model the whole matrix gives.
            let fit_feats = source.matrix(&fit_rows);
            tr.mark("fit rows' features");
            let positions: Vec<usize> = (0..fit_rows.len()).collect();
            cluster::fit(&fit_feats, &positions, &cfg)?
        }
    };
    tr.mark("fit");
    let assignment =
        cluster::assign_each(&model, region.cases.len(), |i, out| source.row_into(i, out));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::testkit::fixture;

    /// The fixture file has no fee columns and no diagnoses: the six fee shares and the code
    /// count are `NaN` in every row and become 0; the other features are the case's own
    /// (`CaseInput::to_row`), and a matrix of some rows is those rows of the full one.
    #[test]
    fn features_missing_everywhere_are_zero_and_rows_are_the_cases_own() {
        let f = fixture(
            "case_id,hospital_id,hospital_level,patient_id,admit_date,discharge_date,group_code,total_cost\n\
             S1,H1,3,P1,2024-03-01,2024-03-05,ES33,9000\n\
             S2,H1,3,P2,2024-03-01,2024-03-09,ES31,21000\n\
             S3,H2,2,P3,2024-03-02,2024-03-04,ES35,3000\n",
        );
        let region = f.region();
        let source = FeatureSource::new(&region, weight_scale(&region));
        let missing: Vec<&str> = crate::cluster::FEATURES
            .iter()
            .zip(source.missing)
            .filter(|(_, m)| *m)
            .map(|(n, _)| *n)
            .collect();
        let mut expected = FEE_FEATURES.to_vec();
        expected.insert(0, "n_secondary");
        assert_eq!(missing, expected);
        let all = features(&region, weight_scale(&region));
        for i in 0..3 {
            let raw = source.raw(i);
            for (j, name) in crate::cluster::FEATURES.iter().enumerate() {
                let v = all.row(i)[j];
                if expected.contains(name) {
                    assert!(raw[j].is_nan() && v == 0.0, "{name}");
                } else {
                    assert_eq!(v.to_bits(), raw[j].to_bits(), "{name}");
                }
            }
        }
        let some = source.matrix(&[2, 0]);
        assert_eq!(some.row(0), all.row(2));
        assert_eq!(some.row(1), all.row(0));
        assert!(all.row(1)[0].is_finite(), "log weight of a real case");
    }
}
