//! The fitted model: scaler + centroids + profiles; fitting, assignment and JSON.
//!
//! The model stores everything needed to assign a case later, bit for bit: the
//! feature list (so a model cannot silently be applied to other columns), the
//! scaler fitted on the fit rows, and the centroids in standardised space. The
//! profiles (size, real-unit centroid, label, suspicious flag) are for people.
//!
//! Cluster ids are canonical: after K-Means, clusters are renumbered by size on
//! the fit rows (largest = 0; ties by centroid coordinates), so two fits that find
//! the same clusters number them the same way.

use ndarray::{Array2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::features::{CaseFeatures, FEATURES, N_FEATURES};
use super::kmeans::{self, ClusterConfig, fit_candidates, select_in_order};
use super::labels::{label, suspicion};
use super::lloyd::Transposed;
use super::{ClusterError, Scaler};

/// Version of the model JSON layout written by [`to_json`].
pub const MODEL_VERSION: u32 = 1;

/// Largest number of features a model may have (stack buffer in [`assign`]).
const MAX_FEATURES: usize = 64;

/// Rows per parallel work item of an assignment.
const ASSIGN_CHUNK_ROWS: usize = 16_384;

/// What one cluster looks like, for a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterProfile {
    /// Cluster id (index into [`ClusterModel::centroids`]).
    pub id: usize,
    /// Number of fit rows assigned to the cluster.
    pub size: u64,
    /// `size` / number of fit rows.
    pub share: f64,
    /// Centroid in standardised units (standard deviations from the fit-row mean).
    pub centroid_scaled: Vec<f64>,
    /// Centroid in the features' own units (`mean + std × z`); log features stay
    /// on the log scale (e.g. `log_multiplier = −0.69` is a multiplier of 0.5).
    pub centroid_real: Vec<f64>,
    /// English label, e.g. `"high severity · low cost · short stay"`.
    pub label_en: String,
    /// Chinese label, e.g. `"高严重度 · 低费用 · 短住院"`.
    pub label_zh: String,
    /// The centroid matches one of the suspicious patterns
    /// (see [`crate::cluster::labels`]).
    pub suspicious: bool,
    /// Which pattern(s) it matches, in English; empty when not suspicious.
    pub suspicion: String,
}

/// A fitted clustering, serialisable with [`to_json`] / [`from_json`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterModel {
    /// Layout version ([`MODEL_VERSION`]).
    pub version: u32,
    /// Feature names in column order ([`FEATURES`]).
    pub features: Vec<String>,
    /// Standardisation fitted on the fit rows; its `std` is already divided by
    /// [`super::features::FEATURE_WEIGHTS`] (a weight-w feature spans w units).
    pub scaler: Scaler,
    /// Number of clusters.
    pub k: usize,
    /// Centroids in standardised space, `k` vectors of `features.len()`.
    pub centroids: Vec<Vec<f64>>,
    /// One profile per cluster, in id order.
    pub profiles: Vec<ClusterProfile>,
    /// Seed the model was fitted with.
    pub seed: u64,
    /// Number of distinct fit rows (scaler and sizes).
    pub n_fit_rows: u64,
    /// Number of rows K-Means was run on (the sample).
    pub n_sample: u64,
    /// `(k, criterion)` for every candidate k (mean silhouette or
    /// Calinski–Harabasz, see [`crate::cluster::KCriterion`]), computed on the
    /// selection subsample when the sample is larger; the chosen k has the largest value.
    pub k_selection: Vec<(usize, f64)>,
}

/// Fit the scaler on `fit_rows` and K-Means on a seeded sample of them.
///
/// `fit_rows` (e.g. the baseline period's rows) may be in any order and contain
/// duplicates; they are sorted and deduplicated first, so the model depends only
/// on the *set* of rows. K-Means sees at most `cfg.sample_size` of them (selected
/// in row order with the seed); the scaler and the cluster sizes use all of them.
pub fn fit(
    features: &CaseFeatures,
    fit_rows: &[usize],
    cfg: &ClusterConfig,
) -> Result<ClusterModel, ClusterError> {
    features.check()?;
    let mut ks = cfg.candidates()?;
    let mut rows = fit_rows.to_vec();
    rows.sort_unstable();
    rows.dedup();
    if let Some(&r) = rows.last()
        && r >= features.rows
    {
        return Err(ClusterError::RowOutOfRange {
            row: r,
            rows: features.rows,
        });
    }
    let n_sample = rows.len().min(cfg.sample_size);
    // K-Means needs more points than clusters; when k is chosen, drop candidates
    // the sample cannot support.
    if cfg.k.is_none() {
        ks.retain(|&k| k < n_sample);
    }
    match ks.last() {
        Some(&k) if k < n_sample => {}
        _ => {
            return Err(ClusterError::TooFewRows {
                rows: rows.len(),
                k: cfg.k.unwrap_or(cfg.k_min),
            });
        }
    }

    let mut tr = crate::progress::Trace::new("cluster fit");
    let names: Vec<String> = FEATURES.iter().map(|s| s.to_string()).collect();
    let d = N_FEATURES;
    let mut scaler = Scaler::fit(&features.values, d, &rows, &names)?;
    // Weighted standardisation: a feature of weight w spreads w standard units.
    for (s, w) in scaler.std.iter_mut().zip(super::features::FEATURE_WEIGHTS) {
        *s /= w;
    }
    tr.mark("scaler");

    let sample_rows = select_in_order(
        &rows,
        cfg.sample_size,
        kmeans::stream_seed(cfg.seed, kmeans::stream::SAMPLE),
    );
    let mut sample = Array2::<f64>::zeros((sample_rows.len(), d));
    for (mut out, &r) in sample.rows_mut().into_iter().zip(&sample_rows) {
        scaler.transform_row(
            features.row(r),
            out.as_slice_mut().expect("standard layout"),
        );
    }

    tr.mark("sample");
    // The candidates (one when k is fixed) are fitted by restarts on a subsample
    // and scored there; the chosen one's restarts are judged on the whole sample
    // and the best is settled there by a single Lloyd run from its centroids.
    // When the sample is not much larger than the subsample, linfa's own restarts
    // run on the sample instead.
    let big = sample.nrows()
        > cfg
            .selection_sample
            .saturating_mul(kmeans::SUBSAMPLE_MIN_RATIO);
    let selection: Option<Array2<f64>> = big.then(|| {
        let positions: Vec<usize> = (0..sample.nrows()).collect();
        let sel = select_in_order(
            &positions,
            cfg.selection_sample.max(ks[ks.len() - 1] + 1),
            kmeans::stream_seed(cfg.seed, kmeans::stream::SELECTION),
        );
        sample.select(Axis(0), &sel)
    });
    let cands = fit_candidates(
        selection.as_ref().unwrap_or(&sample).view(),
        &ks,
        cfg,
        selection.is_some(),
    )?;
    tr.mark("candidates");
    let mut best = 0;
    for (i, c) in cands.iter().enumerate() {
        if c.score > cands[best].score {
            best = i;
        }
    }
    let k = cands[best].k;
    let refit;
    let raw = if selection.is_some() {
        let start = kmeans::lowest_inertia(sample.view(), &cands[best].restarts);
        tr.mark("restarts judged on the sample");
        refit = kmeans::refine_kmeans(sample.view(), start, cfg)?;
        tr.mark("settling run");
        &refit
    } else {
        &cands[best].centroids
    };

    // Sizes on all fit rows, then canonical order: largest first.
    let labels = assign_rows(&scaler, raw, &features.values, d, &rows);
    let mut counts = vec![0u64; k];
    for &l in &labels {
        counts[l as usize] += 1;
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        counts[b].cmp(&counts[a]).then_with(|| {
            let (ca, cb) = (&raw[a * d..(a + 1) * d], &raw[b * d..(b + 1) * d]);
            ca.iter()
                .zip(cb)
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.cmp(&b))
        })
    });
    let centroids: Vec<Vec<f64>> = order
        .iter()
        .map(|&c| raw[c * d..(c + 1) * d].to_vec())
        .collect();
    tr.mark("sizes on all fit rows");
    let n_fit = rows.len() as u64;
    let profiles = centroids
        .iter()
        .zip(&order)
        .enumerate()
        .map(|(id, (z, &old))| {
            let (label_en, label_zh) = label(z);
            let why = suspicion(z);
            ClusterProfile {
                id,
                size: counts[old],
                share: counts[old] as f64 / n_fit as f64,
                centroid_scaled: z.clone(),
                centroid_real: scaler.inverse_row(z),
                label_en,
                label_zh,
                suspicious: !why.is_empty(),
                suspicion: why,
            }
        })
        .collect();

    Ok(ClusterModel {
        version: MODEL_VERSION,
        features: names,
        scaler,
        k,
        centroids,
        profiles,
        seed: cfg.seed,
        n_fit_rows: n_fit,
        n_sample: sample_rows.len() as u64,
        k_selection: cands.iter().map(|c| (c.k, c.score)).collect(),
    })
}

/// Nearest centroid of the given rows (parallel, order-preserving).
fn assign_rows(
    scaler: &Scaler,
    centroids: &[f64],
    values: &[f64],
    d: usize,
    rows: &[usize],
) -> Vec<u16> {
    let near = Transposed::new(centroids, d);
    let k = centroids.len() / d;
    let mut out = vec![0u16; rows.len()];
    out.par_chunks_mut(ASSIGN_CHUNK_ROWS)
        .zip(rows.par_chunks(ASSIGN_CHUNK_ROWS))
        .for_each(|(out, rows)| {
            let mut z = [0.0; MAX_FEATURES];
            let mut acc = vec![0.0; k];
            for (o, &r) in out.iter_mut().zip(rows) {
                scaler.transform_row(&values[r * d..(r + 1) * d], &mut z[..d]);
                *o = near.nearest(&z[..d], &mut acc).0 as u16;
            }
        });
    out
}

/// Nearest centroid (in standardised space) of every row of `features`.
///
/// Missing values are imputed with the scaler mean. Rows are processed in
/// parallel; each result depends only on its row, so the output is the same
/// whatever the number of threads. Ties go to the lower cluster id.
///
/// # Panics
/// If `features.values.len() != features.rows × model.features.len()`.
pub fn assign(model: &ClusterModel, features: &CaseFeatures) -> Vec<u16> {
    let d = model.features.len();
    assert_eq!(
        features.values.len(),
        features.rows * d,
        "feature matrix must be rows × model.features.len()"
    );
    assign_each(model, features.rows, |i, out| {
        out.copy_from_slice(&features.values[i * d..(i + 1) * d]);
    })
}

/// [`assign`] over `rows` cases whose feature rows `row(i, out)` writes on demand (no
/// matrix of every case is held: at 10 M stays it would be 1 GiB). Same arithmetic, so
/// the same labels as [`assign`] over the same rows.
///
/// # Panics
/// If the model has more than 64 features.
pub fn assign_each(
    model: &ClusterModel,
    rows: usize,
    row: impl Fn(usize, &mut [f64]) + Sync,
) -> Vec<u16> {
    let d = model.features.len();
    assert!(
        d <= MAX_FEATURES,
        "model has more than {MAX_FEATURES} features"
    );
    let near = Transposed::new(&model.centroids.concat(), d);
    let mut out = vec![0u16; rows];
    out.par_chunks_mut(ASSIGN_CHUNK_ROWS)
        .enumerate()
        .for_each(|(chunk, out)| {
            let mut x = [0.0; MAX_FEATURES];
            let mut z = [0.0; MAX_FEATURES];
            let mut acc = vec![0.0; model.centroids.len()];
            for (k, o) in out.iter_mut().enumerate() {
                row(chunk * ASSIGN_CHUNK_ROWS + k, &mut x[..d]);
                model.scaler.transform_row(&x[..d], &mut z[..d]);
                *o = near.nearest(&z[..d], &mut acc).0 as u16;
            }
        });
    out
}

/// Serialise a model as pretty JSON. Floats are written in their shortest
/// round-trip form, so [`from_json`] restores them bit for bit.
pub fn to_json(model: &ClusterModel) -> String {
    serde_json::to_string_pretty(model).expect("a cluster model always serialises")
}

/// Parse and validate a model written by [`to_json`].
pub fn from_json(s: &str) -> Result<ClusterModel, ClusterError> {
    let m: ClusterModel = serde_json::from_str(s)?;
    let bad = |msg: String| Err(ClusterError::Model(msg));
    if m.version != MODEL_VERSION {
        return bad(format!(
            "version {} (this build reads {MODEL_VERSION})",
            m.version
        ));
    }
    if m.features.iter().map(String::as_str).ne(FEATURES) {
        return bad(format!(
            "feature list {:?} differs from {FEATURES:?}",
            m.features
        ));
    }
    let d = m.features.len();
    if m.scaler.mean.len() != d || m.scaler.std.len() != d {
        return bad("scaler length differs from the feature list".into());
    }
    if m.scaler.std.iter().any(|&s| !(s > 0.0 && s.is_finite()))
        || m.scaler.mean.iter().any(|v| !v.is_finite())
    {
        return bad("scaler has a non-finite mean or a non-positive std".into());
    }
    if m.k == 0
        || m.k > u16::MAX as usize + 1
        || m.centroids.len() != m.k
        || m.profiles.len() != m.k
    {
        return bad(format!(
            "k = {} but {} centroids and {} profiles",
            m.k,
            m.centroids.len(),
            m.profiles.len()
        ));
    }
    if m.centroids
        .iter()
        .any(|c| c.len() != d || c.iter().any(|v| !v.is_finite()))
    {
        return bad("a centroid has the wrong length or a non-finite value".into());
    }
    Ok(m)
}
