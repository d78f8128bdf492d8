//! K-Means fitting, choice of k, and the nearest-centroid kernel.
//!
//! # Fitting
//!
//! linfa-clustering's K-Means runs on a sample of the standardised fit rows
//! (at most `sample_size`, 100,000) with k-means++ initialisation and seeded
//! `Xoshiro256Plus` RNGs. Samples are drawn by selection sampling (Knuth's
//! Algorithm S), which visits rows in order and therefore yields *sorted* row
//! indices with a sequential, seeded RNG: the same rows for the same seed, whatever
//! the machine. k-means‖ (`KMeansPara`) is avoided on purpose: linfa seeds one RNG
//! per rayon work item in scheduling order, so its result depends on the threads.
//!
//! When the sample is large enough (below), the restarts run on a smaller
//! subsample instead of the whole sample:
//!
//! 1. A subsample of at most `selection_sample` rows (10,000) of the sample.
//! 2. Per candidate k, `n_runs × SUBSAMPLE_RUNS_PER_RUN` (20) single k-means++ runs
//!    on it, each with its own seeded RNG, at `SUBSAMPLE_TOLERANCE_FACTOR` (10) ×
//!    the tolerance: a restart only has to find its basin.
//! 3. The chosen k's restarts are judged by their inertia on the whole sample (one
//!    nearest-centroid pass each), and the best one is settled on the whole sample
//!    by a single Lloyd run from its centroids (`KMeansInit::Precomputed`) at the
//!    configured tolerance.
//!
//! On a 1 M-stay generated region (k = 8, 100,000-row sample) this fit took
//! 1.4–2.6 s where `n_runs` = 10 restarts on the whole sample took 4.7–11 s
//! (busy machine, 24 seeds), and it is as stable across seeds: the region has two
//! near-equal optima (inertia 1.6006 and 1.6041, adjusted Rand index 0.72 between
//! them) and both ways reached the lower one for 16 of the 24 seeds (cross-seed ARI
//! median 0.965 against 0.953, minimum 0.702 against 0.708). When the sample has
//! no more than `SUBSAMPLE_MIN_RATIO` (3) × `selection_sample` rows there is no
//! subsample (it would save little): linfa's own `n_runs` restarts (lowest inertia
//! kept) run on the sample itself.
//!
//! # Choosing k
//!
//! With `k = None`, every k in `k_min..=k_max` is fitted and scored:
//!
//! * **Silhouette** (default, [`KCriterion::Silhouette`]): for a case, `a` is its
//!   mean distance to the other cases of its cluster and `b` the mean distance to
//!   the nearest other cluster; `s = (b − a) / max(a, b)` is near 1 for a case that
//!   sits well inside its cluster and near 0 on a border. The mean `s` over a
//!   subsample of at most `silhouette_sample` cases (5,000 by default: the cost is
//!   quadratic) is the criterion. It does not grow with k by itself, so the maximum
//!   is a genuine choice.
//! * **Calinski–Harabasz** ([`KCriterion::CalinskiHarabasz`]): between-cluster over
//!   within-cluster dispersion, each divided by its degrees of freedom, on all the
//!   rows the candidates were fitted on (the subsample when there is one). Linear
//!   cost; tends to prefer more clusters on diffuse data.
//!
//! Candidates are fitted and scored on the subsample of step 1 (each with its
//! restart of lowest inertia there); only the chosen k goes on to step 3.
//! The k with the largest criterion wins (ties → smaller k). All scores are kept in
//! the model (`k_selection`) so that a reader can see how clear the choice was.
//! With a fixed k the one candidate is scored the same way, for the record.

use ndarray::{ArrayView2, Axis};
use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::{Xoshiro256Plus, Xoshiro256PlusPlus};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::ClusterError;
use super::lloyd::{self, Init, Params, Rows};
use crate::config::ClusterRules;

/// Criterion used to choose k when [`ClusterConfig::k`] is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum KCriterion {
    /// Mean silhouette on a subsample of at most `silhouette_sample` cases.
    #[default]
    Silhouette,
    /// Calinski–Harabasz index on the rows the candidates are fitted on.
    CalinskiHarabasz,
}

/// Settings of [`crate::cluster::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    /// Number of clusters; `None` chooses it over `k_min..=k_max` by `criterion`.
    pub k: Option<usize>,
    /// Smallest candidate k (default 4). At least 2.
    pub k_min: usize,
    /// Largest candidate k (default 10). At most 65,535 (labels are `u16`).
    pub k_max: usize,
    /// Maximum number of fit rows K-Means sees (default 100,000); the scaler and
    /// the cluster sizes always use all fit rows.
    pub sample_size: usize,
    /// K-Means restarts per k (default 10, the region default `[cluster] n_init`);
    /// on the selection subsample, `SUBSAMPLE_RUNS_PER_RUN` times as many.
    pub n_runs: usize,
    /// Maximum Lloyd iterations per run (default 300).
    pub max_iter: u64,
    /// Convergence tolerance (default 1e-3): a run stops when the Euclidean norm
    /// of the change of the whole centroid matrix, in standard deviations, falls
    /// below it. This matches scikit-learn's default (squared shift ≤ 1e-4 × the
    /// mean feature variance, which is 1 after standardisation); linfa's own
    /// default of 1e-4 on the *unsquared* norm is 10,000× stricter and, on
    /// overlapping clusters, runs to `max_iter` for no visible gain.
    pub tolerance: f64,
    /// Seed of every random choice (sample, initialisation, silhouette subsample).
    pub seed: u64,
    /// How k is chosen when `k` is `None` (default silhouette).
    pub criterion: KCriterion,
    /// Subsample size for the silhouette (default 5,000).
    pub silhouette_sample: usize,
    /// The candidates' restarts run, and the candidates are scored, on a seeded
    /// subsample of at most this many rows of the K-Means sample (default
    /// 10,000); the chosen k is then settled on the whole sample (see the module
    /// documentation). A sample of no more than `SUBSAMPLE_MIN_RATIO` times as many
    /// rows is used whole.
    pub selection_sample: usize,
}

impl Default for ClusterConfig {
    /// k chosen over 4..=10; sample size, restarts, iterations and tolerance are the
    /// region defaults of [`ClusterRules`] (one set of defaults).
    fn default() -> Self {
        let rules = ClusterRules::default();
        Self {
            k: None,
            k_min: 4,
            k_max: 10,
            sample_size: rules.sample_size,
            n_runs: rules.n_init,
            max_iter: rules.max_iter,
            tolerance: rules.tolerance,
            seed: 20_240_101,
            criterion: KCriterion::Silhouette,
            silhouette_sample: 5_000,
            selection_sample: 10_000,
        }
    }
}

impl ClusterConfig {
    /// The settings of a region's `[cluster]` section (`k = 0`: chosen) and its seed.
    pub fn for_region(rules: &ClusterRules, seed: u64) -> Self {
        ClusterConfig {
            seed,
            k: (rules.k > 0).then_some(rules.k),
            sample_size: rules.sample_size,
            n_runs: rules.n_init,
            tolerance: rules.tolerance,
            max_iter: rules.max_iter,
            ..ClusterConfig::default()
        }
    }

    /// The candidate values of k, validated.
    pub(crate) fn candidates(&self) -> Result<Vec<usize>, ClusterError> {
        let (lo, hi) = match self.k {
            Some(k) => (k, k),
            None => (self.k_min, self.k_max),
        };
        if lo < 2 || lo > hi || hi > u16::MAX as usize {
            return Err(ClusterError::Config(format!(
                "k range {lo}..={hi} must satisfy 2 <= k_min <= k_max <= 65535"
            )));
        }
        if self.n_runs == 0 || self.max_iter == 0 || self.sample_size < 2 {
            return Err(ClusterError::Config(
                "n_runs, max_iter must be positive and sample_size >= 2".into(),
            ));
        }
        if !(self.tolerance > 0.0 && self.tolerance.is_finite()) {
            return Err(ClusterError::Config("tolerance must be positive".into()));
        }
        if self.k.is_none()
            && self.criterion == KCriterion::Silhouette
            && self.silhouette_sample < 3
        {
            return Err(ClusterError::Config(
                "silhouette_sample must be >= 3".into(),
            ));
        }
        Ok((lo..=hi).collect())
    }
}

/// Independent RNG streams derived from the one seed.
pub(crate) mod stream {
    /// Sample of fit rows for K-Means.
    pub const SAMPLE: u64 = 1;
    /// Subsample for the silhouette.
    pub const SILHOUETTE: u64 = 2;
    /// Subsample on which candidate values of k are fitted.
    pub const SELECTION: u64 = 3;
    /// K-Means initialisation for a given k: `KMEANS + k`.
    pub const KMEANS: u64 = 1_000;
}

/// Seed of one RNG stream.
pub(crate) fn stream_seed(seed: u64, stream: u64) -> u64 {
    seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Selection sampling (Knuth's Algorithm S): `n` of `items`, in their order.
///
/// Returns all items when `n >= items.len()`. Sequential and seeded, so the
/// selection is a pure function of `(items, n, seed)`.
pub(crate) fn select_in_order(items: &[usize], n: usize, seed: u64) -> Vec<usize> {
    let total = items.len();
    if n >= total {
        return items.to_vec();
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    for (seen, &item) in items.iter().enumerate() {
        let need = n - out.len();
        if need == 0 {
            break;
        }
        // Uniform in [0, 1) from the top 53 bits.
        let u = (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        if (total - seen) as f64 * u < need as f64 {
            out.push(item);
        }
    }
    out
}

/// Index of the nearest centroid (squared Euclidean; ties → lowest index).
///
/// `centroids` is row-major `k × z.len()`.
#[inline]
pub(crate) fn nearest(z: &[f64], centroids: &[f64]) -> usize {
    nearest_with_distance(z, centroids).0
}

/// [`nearest`] and the squared distance to that centroid.
#[inline]
pub(crate) fn nearest_with_distance(z: &[f64], centroids: &[f64]) -> (usize, f64) {
    let d = z.len();
    let mut best = 0;
    let mut best_d = f64::INFINITY;
    for (c, cen) in centroids.chunks_exact(d).enumerate() {
        let mut s = 0.0;
        for (a, b) in z.iter().zip(cen) {
            let t = a - b;
            s += t * t;
        }
        if s < best_d {
            best_d = s;
            best = c;
        }
    }
    (best, best_d)
}

/// Mean squared distance of the rows of `z` to their nearest centroid (the
/// K-Means objective). Rows run in parallel, the sum in row order.
pub(crate) fn inertia(z: ArrayView2<f64>, centroids: &[f64]) -> f64 {
    let n = z.nrows();
    if n == 0 {
        return 0.0;
    }
    let owned;
    let values = match z.as_slice() {
        Some(v) => v,
        None => {
            owned = z.to_owned().into_raw_vec_and_offset().0;
            &owned
        }
    };
    let mut labels = vec![0usize; n];
    let mut dist = vec![0.0; n];
    lloyd::Transposed::new(centroids, z.ncols()).assign_all(
        Rows::new(values, z.ncols()),
        &mut labels,
        &mut dist,
    );
    dist.iter().sum::<f64>() / n as f64
}

/// One fitted candidate: its k, centroids (row-major k × d) and criterion value.
pub(crate) struct Candidate {
    pub k: usize,
    /// The best restart's centroids on the rows the candidate was fitted on.
    pub centroids: Vec<f64>,
    /// Every restart's centroids, in restart order, when the candidate was fitted
    /// on the selection subsample ([`subsample_restarts`]); empty otherwise.
    pub restarts: Vec<Vec<f64>>,
    pub score: f64,
}

/// Restarts on the selection subsample per configured run
/// ([`ClusterConfig::n_runs`]). A restart there costs about a tenth of one on the
/// 100,000-row sample. On a 1 M-stay generated region, 10 of them reached the lower
/// of its two near-equal optima for 4–6 of 12 seeds, against 8 of 12 for 10 on the
/// sample; 20 reached it for 16 of 24 seeds, as often as 10 on the sample.
pub(crate) const SUBSAMPLE_RUNS_PER_RUN: usize = 2;

/// Tolerance of the subsample restarts, as a multiple of [`ClusterConfig::tolerance`].
/// A restart only has to reach its basin: the one kept is settled on the whole
/// sample at the configured tolerance ([`refine_kmeans`]). On the 1 M-stay region
/// this cut the restarts' time by about 40 % (4 seeds); over 24 seeds it changed
/// the optimum reached for 2, once for the better and once for the worse.
pub(crate) const SUBSAMPLE_TOLERANCE_FACTOR: f64 = 10.0;

/// The subsample is used only when the sample has more than this many times
/// `selection_sample` rows. Closer to it, the restarts on the subsample cost about
/// as much as `n_runs` on the sample and gain nothing: on a generated region with a
/// 19,203-row sample they took 0.8–1.0 s against 0.8–1.7 s and reached the lower
/// of two near-equal optima for 20 of 24 seeds against 22 of 24 (cross-seed ARI
/// mean 0.939 against 0.957). With a 44,262-row sample they took 0.7–1.1 s
/// against 1.8–3.9 s and reached the best optimum for 18 of 24 seeds against 13
/// (cross-seed ARI median 0.988 against 0.754).
pub(crate) const SUBSAMPLE_MIN_RATIO: usize = 3;

/// Run linfa's K-Means on the standardised sample for one k: `n_runs` k-means++
/// restarts, the lowest inertia kept.
pub(crate) fn run_kmeans(
    sample: ArrayView2<f64>,
    k: usize,
    cfg: &ClusterConfig,
) -> Result<Vec<f64>, ClusterError> {
    let seed = stream_seed(cfg.seed, stream::KMEANS + k as u64);
    lloyd(
        sample,
        k,
        seed,
        cfg.n_runs,
        cfg.tolerance,
        Init::PlusPlus,
        cfg,
    )
}

/// One K-Means call as linfa's (`n_runs` runs from `init`, lowest inertia kept) with a
/// `Xoshiro256Plus` seeded from `seed`, computed by [`super::lloyd`] (the same bits);
/// the centroids row-major k × d.
fn lloyd(
    sample: ArrayView2<f64>,
    k: usize,
    seed: u64,
    n_runs: usize,
    tolerance: f64,
    init: Init,
    cfg: &ClusterConfig,
) -> Result<Vec<f64>, ClusterError> {
    let mut rng = Xoshiro256Plus::seed_from_u64(seed);
    let owned;
    let values = match sample.as_slice() {
        Some(v) => v,
        None => {
            owned = sample.to_owned().into_raw_vec_and_offset().0;
            &owned
        }
    };
    lloyd::lloyd(
        Rows::new(values, sample.ncols()),
        Params {
            k,
            n_runs,
            max_iter: cfg.max_iter,
            tolerance,
            init,
        },
        &mut rng,
    )
}

/// `n_runs × SUBSAMPLE_RUNS_PER_RUN` single k-means++ runs of linfa's K-Means on
/// the standardised subsample for one k, each with its own seeded RNG, at
/// `SUBSAMPLE_TOLERANCE_FACTOR ×` the tolerance. Returns every run's centroids in
/// run order.
pub(crate) fn subsample_restarts(
    sub: ArrayView2<f64>,
    k: usize,
    cfg: &ClusterConfig,
) -> Result<Vec<Vec<f64>>, ClusterError> {
    let base = stream_seed(cfg.seed, stream::KMEANS + k as u64);
    // Each restart has its own RNG: they run in parallel, collected in restart order.
    (0..cfg.n_runs * SUBSAMPLE_RUNS_PER_RUN)
        .into_par_iter()
        .map(|r| {
            lloyd(
                sub,
                k,
                stream_seed(base, r as u64 + 1),
                1,
                cfg.tolerance * SUBSAMPLE_TOLERANCE_FACTOR,
                Init::PlusPlus,
                cfg,
            )
        })
        .collect()
}

/// The centroid set of lowest [`inertia`] on `z` (ties → the first).
pub(crate) fn lowest_inertia<'a>(z: ArrayView2<f64>, sets: &'a [Vec<f64>]) -> &'a [f64] {
    let mut best = (f64::INFINITY, 0);
    for (i, c) in sets.iter().enumerate() {
        let v = inertia(z, c);
        if v < best.0 {
            best = (v, i);
        }
    }
    &sets[best.1]
}

/// Lloyd iterations on the standardised `sample` from the given centroids
/// (row-major k × d), a single run at the configured tolerance: no restarts, no
/// random choice (linfa's `KMeansInit::Precomputed`).
///
/// This is how the chosen candidate is carried over from the selection subsample
/// to the whole sample: it starts in its basin and only has to settle, at the
/// cost of about half of one k-means++ run on the sample instead of `n_runs`.
pub(crate) fn refine_kmeans(
    sample: ArrayView2<f64>,
    start: &[f64],
    cfg: &ClusterConfig,
) -> Result<Vec<f64>, ClusterError> {
    let d = sample.ncols();
    let k = start.len() / d.max(1);
    // The RNG is never drawn from with precomputed centroids; seeded all the same.
    let seed = stream_seed(cfg.seed, stream::KMEANS + k as u64);
    lloyd(
        sample,
        k,
        seed,
        1,
        cfg.tolerance,
        Init::Precomputed(start),
        cfg,
    )
}

/// Fit every candidate k on the standardised `sample` (n × d) and score it.
///
/// With `subsample` (the rows are the selection subsample), each candidate gets
/// [`subsample_restarts`] and is scored with the restart of lowest inertia on
/// these rows; otherwise with [`run_kmeans`].
pub(crate) fn fit_candidates(
    sample: ArrayView2<f64>,
    ks: &[usize],
    cfg: &ClusterConfig,
    subsample: bool,
) -> Result<Vec<Candidate>, ClusterError> {
    let mut tr = crate::progress::Trace::new("cluster fit candidates");
    let mut cands = Vec::with_capacity(ks.len());
    for &k in ks {
        let (centroids, restarts) = if subsample {
            let restarts = subsample_restarts(sample, k, cfg)?;
            (lowest_inertia(sample, &restarts).to_vec(), restarts)
        } else {
            (run_kmeans(sample, k, cfg)?, Vec::new())
        };
        cands.push(Candidate {
            k,
            centroids,
            restarts,
            score: f64::NAN,
        });
        tr.mark(&format!("k = {k} restarts"));
    }
    let scores = match cfg.criterion {
        KCriterion::Silhouette => {
            let n = sample.nrows();
            let positions: Vec<usize> = (0..n).collect();
            let sub = select_in_order(
                &positions,
                cfg.silhouette_sample.max(3),
                stream_seed(cfg.seed, stream::SILHOUETTE),
            );
            let sub_z = sample.select(Axis(0), &sub);
            let labels: Vec<Vec<usize>> = cands
                .iter()
                .map(|c| {
                    sub_z
                        .rows()
                        .into_iter()
                        .map(|r| nearest(r.as_slice().expect("standard layout"), &c.centroids))
                        .collect()
                })
                .collect();
            let ks: Vec<usize> = cands.iter().map(|c| c.k).collect();
            silhouettes(sub_z.view(), &labels, &ks)
        }
        KCriterion::CalinskiHarabasz => cands
            .iter()
            .map(|c| calinski_harabasz(sample, &c.centroids, c.k))
            .collect(),
    };
    tr.mark("criterion");
    for (c, s) in cands.iter_mut().zip(scores) {
        c.score = s;
    }
    Ok(cands)
}

/// Mean silhouette of each labelling of the rows of `z`.
///
/// The pairwise distances are computed once per point and shared by all
/// labellings; points run in parallel, each point's sums in a fixed order.
pub fn silhouettes(z: ArrayView2<f64>, labels: &[Vec<usize>], ks: &[usize]) -> Vec<f64> {
    let m = z.nrows();
    let nl = labels.len();
    if m < 2 {
        return vec![0.0; nl];
    }
    let counts: Vec<Vec<usize>> = labels
        .iter()
        .zip(ks)
        .map(|(lab, &k)| {
            let mut c = vec![0usize; k];
            for &l in lab {
                c[l] += 1;
            }
            c
        })
        .collect();
    let d = z.ncols();
    // Column-major copy: one point's distances to all points are accumulated feature by
    // feature across the points (a loop that vectorises), each distance still summed over
    // the features in order from 0, so the same bits as one distance at a time.
    let mut cols = vec![0.0; m * d];
    for (j, row) in z.rows().into_iter().enumerate() {
        for (f, &v) in row.iter().enumerate() {
            cols[f * m + j] = v;
        }
    }
    let k_max = ks.iter().copied().max().unwrap_or(0);
    let mut s = vec![0.0; m * nl];
    s.par_chunks_mut(nl).enumerate().for_each_init(
        || (vec![0.0; m], vec![0.0; k_max]),
        |(dist, sums), (i, out)| {
            dist.fill(0.0);
            for f in 0..d {
                let zf = cols[f * m + i];
                for (a, &x) in dist.iter_mut().zip(&cols[f * m..(f + 1) * m]) {
                    let t = zf - x;
                    *a += t * t;
                }
            }
            for a in dist.iter_mut() {
                *a = a.sqrt();
            }
            for (li, lab) in labels.iter().enumerate() {
                let k = ks[li];
                let sums = &mut sums[..k];
                sums.fill(0.0);
                for (&dj, &l) in dist.iter().zip(lab) {
                    sums[l] += dj;
                }
                let own = lab[i];
                let cnt = &counts[li];
                if cnt[own] <= 1 {
                    out[li] = 0.0;
                    continue;
                }
                let a = sums[own] / (cnt[own] - 1) as f64;
                let b = (0..k)
                    .filter(|&c| c != own && cnt[c] > 0)
                    .map(|c| sums[c] / cnt[c] as f64)
                    .fold(f64::INFINITY, f64::min);
                out[li] = if b.is_finite() && a.max(b) > 0.0 {
                    (b - a) / a.max(b)
                } else {
                    0.0
                };
            }
        },
    );
    (0..nl)
        .map(|li| (0..m).map(|i| s[i * nl + li]).sum::<f64>() / m as f64)
        .collect()
}

/// Calinski–Harabasz index of the nearest-centroid partition of `z`.
pub fn calinski_harabasz(z: ArrayView2<f64>, centroids: &[f64], k: usize) -> f64 {
    let (n, d) = z.dim();
    if n <= k {
        return 0.0;
    }
    let labels: Vec<usize> = z
        .rows()
        .into_iter()
        .map(|r| nearest(r.as_slice().expect("standard layout"), centroids))
        .collect();
    let mut means = vec![0.0; k * d];
    let mut cnt = vec![0usize; k];
    let mut grand = vec![0.0; d];
    for (r, &l) in z.rows().into_iter().zip(&labels) {
        cnt[l] += 1;
        for j in 0..d {
            means[l * d + j] += r[j];
            grand[j] += r[j];
        }
    }
    for g in &mut grand {
        *g /= n as f64;
    }
    for c in 0..k {
        if cnt[c] > 0 {
            for j in 0..d {
                means[c * d + j] /= cnt[c] as f64;
            }
        }
    }
    let mut between = 0.0;
    for c in 0..k {
        for j in 0..d {
            let t = means[c * d + j] - grand[j];
            between += cnt[c] as f64 * t * t;
        }
    }
    let mut within = 0.0;
    for (r, &l) in z.rows().into_iter().zip(&labels) {
        for j in 0..d {
            let t = r[j] - means[l * d + j];
            within += t * t;
        }
    }
    if within <= 0.0 {
        return f64::MAX;
    }
    (between / (k - 1) as f64) / (within / (n - k) as f64)
}
