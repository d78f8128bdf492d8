//! Lloyd's algorithm with k-means++ initialisation, exactly as linfa-clustering 0.8 runs
//! it (`KMeans::params_with_rng(k, Xoshiro256Plus)`, `KMeansInit::KMeansPlusPlus` or
//! `Precomputed`), bit for bit, in loops that do not allocate per row.
//!
//! # Why not call linfa
//!
//! On the 10,000-row selection subsample one linfa run of k = 8 took ~35 ms, most of
//! it per-row `ndarray` views, shape checks and rayon splitting of a few microseconds of
//! work; the 20 restarts were ~60 % of the clustering stage at 1 M stays. The same
//! arithmetic over a flat row-major slice, with the centroids transposed so the
//! distances to all centroids are accumulated side by side, is several times faster, and
//! the restarts (each with its own seeded RNG) can run on both cores.
//!
//! # What "the same" means
//!
//! Every floating-point operation linfa performs that reaches a result is performed
//! here in the same order, so the centroids are the same bits (the oracle tests in
//! `tests.rs` compare with linfa itself):
//!
//! * the squared distance of a row to a centroid sums `(c_j − x_j)²` for `j` ascending
//!   from `0.0`; the nearest centroid is the first of minimal distance;
//! * k-means++ draws the first centroid with rand 0.8's `WeightedIndex` over unit
//!   weights and each next one over the squared distances to the nearest chosen
//!   centroid ([`weighted_index`] reproduces its cumulative sums, its `Uniform` float
//!   and its binary search); the minimum over the chosen centroids is kept
//!   incrementally, which gives the same value as recomputing it;
//! * the update is linfa's m_k-means step: a centroid is the sum of its rows (in row
//!   order, from `0.0`) plus the old centroid, divided by the row count + 1;
//! * a run stops when the Euclidean norm of the centroid change (summed in row-major
//!   order) is below the tolerance or at `max_iter`; with several runs the one of lowest
//!   inertia (`ndarray`'s sum of the last assignment's squared distances) is kept.
//!
//! Each row's nearest centroid depends only on the row, and every sum runs in row
//! order on one thread, so the result does not depend on the number of threads.

use ndarray::ArrayView1;
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::RngCore;
use rayon::prelude::*;

use super::ClusterError;

/// Rows per parallel work item of an assignment pass.
const CHUNK_ROWS: usize = 4_096;

/// How a run's centroids start.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Init<'a> {
    /// k-means++ from the RNG.
    PlusPlus,
    /// These centroids (row-major k × d); the RNG is not drawn from.
    Precomputed(&'a [f64]),
}

/// The observations: `n` rows of `d` values, row-major.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rows<'a> {
    pub values: &'a [f64],
    pub d: usize,
}

impl<'a> Rows<'a> {
    pub(crate) fn new(values: &'a [f64], d: usize) -> Self {
        assert!(
            d > 0 && values.len().is_multiple_of(d),
            "rows must be n × d"
        );
        Self { values, d }
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len() / self.d
    }

    fn row(&self, i: usize) -> &'a [f64] {
        &self.values[i * self.d..(i + 1) * self.d]
    }
}

/// Centroids transposed to d × k, so that one row's distances to all centroids are
/// accumulated side by side (the inner loop runs over centroids and vectorises).
pub(crate) struct Transposed {
    k: usize,
    d: usize,
    /// `ct[j * k + c]` is coordinate `j` of centroid `c`.
    ct: Vec<f64>,
}

impl Transposed {
    /// From row-major k × d centroids.
    pub(crate) fn new(centroids: &[f64], d: usize) -> Self {
        assert!(d > 0 && centroids.len().is_multiple_of(d) && !centroids.is_empty());
        let k = centroids.len() / d;
        let mut ct = vec![0.0; k * d];
        for c in 0..k {
            for j in 0..d {
                ct[j * k + c] = centroids[c * d + j];
            }
        }
        Self { k, d, ct }
    }

    /// The nearest centroid of `x` and its squared distance (the first of minimal
    /// distance); `acc` is scratch of length k.
    ///
    /// The k of the fits (4–10) get a copy of the loop with k fixed at compile time, whose
    /// accumulators stay in registers (it was the clustering stage's hottest loop); every
    /// distance is the same sum in the same order, so the result is the same bits.
    #[inline]
    pub(crate) fn nearest(&self, x: &[f64], acc: &mut [f64]) -> (usize, f64) {
        match self.k {
            4 => self.nearest_fixed::<4>(x),
            5 => self.nearest_fixed::<5>(x),
            6 => self.nearest_fixed::<6>(x),
            7 => self.nearest_fixed::<7>(x),
            8 => self.nearest_fixed::<8>(x),
            9 => self.nearest_fixed::<9>(x),
            10 => self.nearest_fixed::<10>(x),
            _ => self.nearest_any(x, acc),
        }
    }

    /// [`Self::nearest`] for `K == self.k`.
    #[inline]
    fn nearest_fixed<const K: usize>(&self, x: &[f64]) -> (usize, f64) {
        let mut acc = [0.0f64; K];
        for (&xj, cj) in x[..self.d].iter().zip(self.ct.chunks_exact(K)) {
            for (a, &c) in acc.iter_mut().zip(cj) {
                let t = c - xj;
                *a += t * t;
            }
        }
        first_minimum(&acc)
    }

    /// [`Self::nearest`] for any k.
    fn nearest_any(&self, x: &[f64], acc: &mut [f64]) -> (usize, f64) {
        let k = self.k;
        let acc = &mut acc[..k];
        acc.fill(0.0);
        for (j, &xj) in x[..self.d].iter().enumerate() {
            for (a, &cj) in acc.iter_mut().zip(&self.ct[j * k..(j + 1) * k]) {
                let t = cj - xj;
                *a += t * t;
            }
        }
        first_minimum(acc)
    }

    /// Nearest centroid and squared distance of every row, in parallel chunks.
    pub(crate) fn assign_all(&self, rows: Rows, labels: &mut [usize], dists: &mut [f64]) {
        let d = rows.d;
        labels
            .par_chunks_mut(CHUNK_ROWS)
            .zip(dists.par_chunks_mut(CHUNK_ROWS))
            .zip(rows.values.par_chunks(CHUNK_ROWS * d))
            .for_each(|((lab, dist), vals)| {
                let mut acc = vec![0.0; self.k];
                for ((l, o), x) in lab
                    .iter_mut()
                    .zip(dist.iter_mut())
                    .zip(vals.chunks_exact(d))
                {
                    let (c, v) = self.nearest(x, &mut acc);
                    *l = c;
                    *o = v;
                }
            });
    }
}

/// The index and value of the first minimum of a non-empty slice.
#[inline]
fn first_minimum(acc: &[f64]) -> (usize, f64) {
    let mut best = 0;
    let mut best_d = acc[0];
    for (c, &v) in acc.iter().enumerate().skip(1) {
        if v < best_d {
            best = c;
            best_d = v;
        }
    }
    (best, best_d)
}

/// rand 0.8's `WeightedIndex::new(weights).sample(rng)` for `f64` weights, or `None`
/// where it returns an error (a negative or NaN weight, all weights zero).
///
/// The cumulative weights are the running sums before each later weight; the draw is
/// `Uniform::new(0, total)` (a float in [1, 2) from the top 52 bits, minus 1, times a
/// scale shrunk until it cannot reach `total`); the index is the number of cumulative
/// weights at or below the draw.
pub(crate) fn weighted_index(
    weights: &[f64],
    cumulative: &mut Vec<f64>,
    rng: &mut Xoshiro256Plus,
) -> Option<usize> {
    let (&first, rest) = weights.split_first()?;
    // `w >= 0` is false for NaN as for negative weights (rand's test).
    if first.is_nan() || first < 0.0 {
        return None;
    }
    cumulative.clear();
    let mut total = first;
    for &w in rest {
        if w.is_nan() || w < 0.0 {
            return None;
        }
        cumulative.push(total);
        total += w;
    }
    if total == 0.0 {
        return None;
    }
    let chosen = uniform_below(total, rng);
    Some(cumulative.partition_point(|&w| w <= chosen))
}

/// rand 0.8's `UniformFloat::<f64>::new(0.0, high).sample(rng)`.
fn uniform_below(high: f64, rng: &mut Xoshiro256Plus) -> f64 {
    const EXPONENT_ZERO: u64 = 1023 << 52;
    let max_rand = f64::from_bits((u64::MAX >> 12) | EXPONENT_ZERO) - 1.0;
    let low = 0.0;
    let mut scale = high - low;
    while scale * max_rand + low >= high {
        scale = f64::from_bits(scale.to_bits() - 1);
    }
    let value1_2 = f64::from_bits((rng.next_u64() >> 12) | EXPONENT_ZERO);
    (value1_2 - 1.0) * scale + low
}

/// linfa's k-means++ (unit weights): k rows of `rows`, row-major.
fn plus_plus(rows: Rows, k: usize, rng: &mut Xoshiro256Plus) -> Vec<f64> {
    let (n, d) = (rows.len(), rows.d);
    let mut centroids = vec![0.0; k * d];
    let mut cumulative = Vec::with_capacity(n);
    let ones = vec![1.0; n];
    let first = weighted_index(&ones, &mut cumulative, rng).expect("unit weights");
    centroids[..d].copy_from_slice(rows.row(first));
    let mut dists = vec![f64::INFINITY; n];
    for c in 1..k {
        // The distance to the centroid chosen last; the minimum over all chosen ones
        // is the same value as linfa's recomputation over all of them.
        let last = &centroids[(c - 1) * d..c * d];
        dists
            .par_chunks_mut(CHUNK_ROWS)
            .zip(rows.values.par_chunks(CHUNK_ROWS * d))
            .for_each(|(dist, vals)| {
                for (o, x) in dist.iter_mut().zip(vals.chunks_exact(d)) {
                    let mut s = 0.0;
                    for (&a, &b) in last.iter().zip(x) {
                        let t = a - b;
                        s += t * t;
                    }
                    if c == 1 || s < *o {
                        *o = s;
                    }
                }
            });
        let idx = weighted_index(&dists, &mut cumulative, rng).unwrap_or(0);
        centroids[c * d..(c + 1) * d].copy_from_slice(rows.row(idx));
    }
    centroids
}

/// linfa's m_k-means update: each centroid is (the sum of its rows + the old centroid)
/// / (its row count + 1), sums in row order.
fn update(rows: Rows, labels: &[usize], old: &[f64], new: &mut [f64]) {
    let d = rows.d;
    let k = old.len() / d;
    let mut counts = vec![1usize; k];
    new.fill(0.0);
    for (x, &l) in rows.values.chunks_exact(d).zip(labels) {
        for (s, &v) in new[l * d..(l + 1) * d].iter_mut().zip(x) {
            *s += v;
        }
        counts[l] += 1;
    }
    for ((s, &o), j) in new.iter_mut().zip(old).zip(0..) {
        *s = (*s + o) / counts[j / d] as f64;
    }
}

/// Settings of one [`lloyd`] call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params<'a> {
    pub k: usize,
    pub n_runs: usize,
    pub max_iter: u64,
    pub tolerance: f64,
    pub init: Init<'a>,
}

/// `n_runs` runs of Lloyd's algorithm from `init`, the one of lowest inertia kept, with
/// one RNG for all runs (as linfa's `fit`); the centroids row-major k × d.
pub(crate) fn lloyd(
    rows: Rows,
    p: Params,
    rng: &mut Xoshiro256Plus,
) -> Result<Vec<f64>, ClusterError> {
    let (n, d, k) = (rows.len(), rows.d, p.k);
    if k == 0
        || n == 0
        || p.n_runs == 0
        || p.max_iter == 0
        || p.tolerance.is_nan()
        || p.tolerance <= 0.0
    {
        return Err(ClusterError::KMeans(format!(
            "cannot run K-Means with k = {k} on {n} rows ({} runs, {} iterations, tolerance {})",
            p.n_runs, p.max_iter, p.tolerance
        )));
    }
    let mut labels = vec![0usize; n];
    let mut dists = vec![0.0; n];
    let mut next = vec![0.0; k * d];
    let mut best: Option<Vec<f64>> = None;
    let mut min_inertia = f64::INFINITY;
    for _ in 0..p.n_runs {
        let mut centroids = match p.init {
            Init::PlusPlus => plus_plus(rows, k, rng),
            Init::Precomputed(c) => {
                assert_eq!(c.len(), k * d, "precomputed centroids must be k × d");
                c.to_vec()
            }
        };
        let mut iter = 0;
        let inertia = loop {
            Transposed::new(&centroids, d).assign_all(rows, &mut labels, &mut dists);
            update(rows, &labels, &centroids, &mut next);
            let mut shift = 0.0;
            for (&a, &b) in centroids.iter().zip(&next) {
                let t = a - b;
                shift += t * t;
            }
            std::mem::swap(&mut centroids, &mut next);
            iter += 1;
            if shift.sqrt() < p.tolerance || iter == p.max_iter {
                break ArrayView1::from(&dists[..]).sum();
            }
        };
        if inertia < min_inertia {
            min_inertia = inertia;
            best = Some(centroids);
        }
    }
    best.ok_or_else(|| ClusterError::KMeans("no run reached a finite inertia".into()))
}

#[cfg(test)]
mod tests {
    //! Oracle tests: the centroids are linfa-clustering's, bit for bit.

    use linfa::DatasetBase;
    use linfa::prelude::*;
    use linfa_clustering::{KMeans, KMeansInit};
    use ndarray::Array2;
    use rand_xoshiro::Xoshiro256Plus;
    use rand_xoshiro::rand_core::{RngCore, SeedableRng};

    use super::{Init, Params, Rows, Transposed, lloyd};

    /// `n` rows of `d` values around `blobs` centres, with some exact duplicates and
    /// zeros (imputed values) as in standardised case vectors.
    fn data(n: usize, d: usize, blobs: usize, seed: u64) -> Vec<f64> {
        let mut rng = Xoshiro256Plus::seed_from_u64(seed);
        let mut u = move || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let centres: Vec<f64> = (0..blobs * d).map(|_| 6.0 * u() - 3.0).collect();
        let mut out = Vec::with_capacity(n * d);
        for i in 0..n {
            let b = i % blobs;
            for j in 0..d {
                let v = if j == d - 1 && u() < 0.3 {
                    0.0
                } else {
                    centres[b * d + j] + (u() + u() + u() - 1.5)
                };
                out.push(v);
            }
            if i % 97 == 5 {
                let prev = out[(i - 1) * d..i * d].to_vec();
                out[i * d..].copy_from_slice(&prev);
            }
        }
        out
    }

    fn linfa_fit(
        values: &[f64],
        d: usize,
        k: usize,
        seed: u64,
        n_runs: usize,
        tol: f64,
        init: KMeansInit<f64>,
    ) -> Vec<f64> {
        let x = Array2::from_shape_vec((values.len() / d, d), values.to_vec()).unwrap();
        KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(seed))
            .n_runs(n_runs)
            .max_n_iterations(300)
            .tolerance(tol)
            .init_method(init)
            .fit(&DatasetBase::from(x))
            .unwrap()
            .centroids()
            .iter()
            .copied()
            .collect()
    }

    fn ours(values: &[f64], d: usize, k: usize, seed: u64, n_runs: usize, tol: f64) -> Vec<f64> {
        let p = Params {
            k,
            n_runs,
            max_iter: 300,
            tolerance: tol,
            init: Init::PlusPlus,
        };
        lloyd(
            Rows::new(values, d),
            p,
            &mut Xoshiro256Plus::seed_from_u64(seed),
        )
        .unwrap()
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn k_means_plus_plus_runs_give_linfas_centroids_bit_for_bit() {
        for (case, &(n, d, blobs, k, n_runs, tol)) in [
            (3_000, 13, 6, 8, 1, 1e-2),
            (3_000, 13, 6, 8, 3, 1e-3),
            (10_000, 13, 9, 5, 1, 1e-2),
            (500, 4, 3, 2, 4, 1e-3),
            (9_000, 13, 4, 10, 1, 1e-4),
        ]
        .iter()
        .enumerate()
        {
            let x = data(n, d, blobs, 100 + case as u64);
            for seed in [1, 7, 2024] {
                let want = linfa_fit(&x, d, k, seed, n_runs, tol, KMeansInit::KMeansPlusPlus);
                let got = ours(&x, d, k, seed, n_runs, tol);
                assert_eq!(bits(&got), bits(&want), "case {case}, seed {seed}");
            }
        }
    }

    #[test]
    fn a_run_from_given_centroids_gives_linfas_centroids_bit_for_bit() {
        let d = 13;
        let x = data(20_000, d, 7, 5);
        let start = ours(&x[..3_000 * d], d, 8, 3, 1, 1e-2);
        let init = Array2::from_shape_vec((8, d), start.clone()).unwrap();
        let want = linfa_fit(&x, d, 8, 9, 1, 1e-3, KMeansInit::Precomputed(init));
        let p = Params {
            k: 8,
            n_runs: 1,
            max_iter: 300,
            tolerance: 1e-3,
            init: Init::Precomputed(&start),
        };
        let got = lloyd(Rows::new(&x, d), p, &mut Xoshiro256Plus::seed_from_u64(9)).unwrap();
        assert_eq!(bits(&got), bits(&want));
    }

    #[test]
    fn the_centroids_do_not_depend_on_the_number_of_threads() {
        let d = 13;
        let x = data(30_000, d, 6, 11);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| ours(&x, d, 8, 4, 2, 1e-3));
        let four = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap()
            .install(|| ours(&x, d, 8, 4, 2, 1e-3));
        assert_eq!(bits(&one), bits(&four));
    }

    #[test]
    fn every_fixed_k_finds_the_same_nearest_centroid_and_distance_as_the_general_loop() {
        let d = 13;
        let x = data(2_000, d, 5, 21);
        // The k with a loop of their own (the others take the general loop itself).
        for k in 4..=10 {
            let near = Transposed::new(&x[..k * d], d);
            let mut acc = vec![0.0; k];
            for row in x.chunks_exact(d) {
                let (c, v) = near.nearest(row, &mut acc);
                let (c_any, v_any) = near.nearest_any(row, &mut acc);
                assert_eq!((c, v.to_bits()), (c_any, v_any.to_bits()), "k = {k}");
            }
        }
    }
}
