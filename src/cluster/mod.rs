//! Case-pattern clustering and hospital cluster-mix tests.
//!
//! # Why cluster cases at all
//!
//! Most detectors in drg-audit test one indicator at a time (a severity share, a
//! low-multiplier rate, a readmission rate). Gaming often shows as a *combination*:
//! a case coded with an MCC whose cost and stay look like a case without one
//! ("high severity · low cost · short stay"), or a cheap admission that needed no bed
//! ("low weight · very short stay"). K-Means on standardised case vectors finds such
//! recurring patterns without being told what to look for, and a hospital whose cases
//! fall into a pattern far more often than its peers' cases *in the same DRG groups*
//! is a lead for an auditor.
//!
//! # The pipeline
//!
//! 1. **Case vectors** ([`features`]): one row per discharge with the
//!    [`FEATURES`] columns (relative cost and stay on a log scale, severity, number of
//!    secondary diagnoses, cost-category shares, readmission and disposition flags).
//!    [`CaseInput`] turns raw settlement fields into a row so that every caller applies
//!    the same transformations. Missing values are `NaN`.
//! 2. **Standardisation** ([`Scaler`]): each column is centred and divided by its
//!    standard deviation over the *fit rows* (typically the baseline period), so a
//!    unit of distance means "one standard deviation" in every feature and no feature
//!    dominates because of its units. Missing values are imputed with the mean, which
//!    is 0 after standardisation. The standard deviations are then divided by
//!    [`features::FEATURE_WEIGHTS`], so cost, stay, severity and group weight count
//!    fully and the practice-style fee shares little (see there why).
//! 3. **K-Means** ([`fit`]): linfa-clustering's K-Means with k-means++ initialisation
//!    and seeded RNGs on a deterministic sample of the fit rows (≤ `sample_size`,
//!    default 100,000). Restarts: fewer than 10 on the whole sample left seeds in
//!    different local optima (adjusted Rand index 0.73 between seeds on a generated
//!    region, 0.996 with 10). When the sample is more than three times the 10,000-row
//!    selection subsample, 20 restarts run on the subsample instead (as stable across
//!    seeds at a fraction of the cost, see [`kmeans`]) and the one of lowest inertia on
//!    the whole sample is settled there by one Lloyd run from its centroids.
//!    When `k` is not given it is chosen over `k_min..=k_max` by
//!    the mean silhouette on a subsample of ≤ 5,000 cases (or Calinski–Harabasz, see
//!    [`KCriterion`]). Clusters are renumbered canonically (largest first) so the
//!    model does not depend on the order K-Means happened to find them in.
//! 4. **Profiles and labels** ([`labels`]): each cluster gets its size, centroid in
//!    standardised and real units, a bilingual label built from its most distinctive
//!    standardised features ("high severity · low cost · short stay" /
//!    "高严重度 · 低费用 · 短住院") and a `suspicious` flag for the two patterns the
//!    domain guide names.
//! 5. **Assignment** ([`assign`]): every case, in every period, goes to its nearest
//!    centroid in standardised space. This is a plain parallel loop over a flat slice,
//!    deterministic and fast (10 M cases in about a second in release).
//! 6. **Cluster mix** ([`mix_tests`]): for each hospital, the observed count of its
//!    cases in each cluster is compared with the count expected if each of its cases
//!    followed the cluster distribution of *peer hospitals' cases in the same DRG
//!    group* (indirect standardisation, hospital left out). A chi-square test with
//!    sparse cells pooled gives a p-value, the Jensen–Shannon divergence gives an
//!    effect size, and clusters with a large O/E are listed with their z-scores.
//!
//! # What this module deliberately does not do
//!
//! The distance of a case to its centroid is **not** an anomaly score. On the public
//! Kaggle provider-fraud data it ranks fraudulent providers *below* chance: unusual
//! cases are mostly unusual patients. The signal that holds up is the hospital's
//! cluster *mix* against its peers for the same groups, which is what [`mix_tests`]
//! measures. No function here returns a distance.
//!
//! # Determinism
//!
//! Same data, same fit rows and same seed give a byte-identical model JSON and
//! identical assignments, whatever the number of threads: sampling is sequential and
//! seeded, linfa's parallel steps write each observation independently, k-means++
//! initialisation is sequential (k-means‖ is *not* used because linfa seeds its
//! per-thread RNGs in scheduling order), and every floating-point sum runs in a fixed
//! order. [`to_json`] / [`from_json`] round-trip every float bit-exactly (serde_json's
//! `float_roundtrip`).

mod error;
pub mod features;
pub mod kmeans;
pub mod labels;
mod lloyd;
pub mod metrics;
pub mod mix;
pub mod model;
pub mod scaler;
pub mod stage;

#[cfg(test)]
mod testdata;
#[cfg(test)]
mod tests;

pub use error::ClusterError;
pub use features::{CaseFeatures, CaseInput, FEATURES, N_FEATURES};
pub use kmeans::{ClusterConfig, KCriterion};
pub use metrics::adjusted_rand_index;
pub use mix::{MixTable, MixTest, mix_table, mix_tests, mix_tests_against};
pub use model::{
    ClusterModel, ClusterProfile, MODEL_VERSION, assign, assign_each, fit, from_json, to_json,
};
pub use scaler::Scaler;
pub use stage::{ClusterView, PublishedClusters, cluster_region};
