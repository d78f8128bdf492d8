//! Seeded synthetic data for the tests.

use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::{RngCore, SeedableRng};

use super::features::{CaseFeatures, F_LOG_LOS_RATIO, F_LOG_MULTIPLIER, F_SEVERITY, N_FEATURES};

/// Small seeded RNG with uniform and normal draws.
pub struct Rng(Xoshiro256PlusPlus);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(Xoshiro256PlusPlus::seed_from_u64(seed))
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// Index drawn from the (unnormalised) weights.
    pub fn categorical(&mut self, w: &[f64]) -> usize {
        let tot: f64 = w.iter().sum();
        let mut u = self.uniform() * tot;
        for (i, &x) in w.iter().enumerate() {
            if u < x {
                return i;
            }
            u -= x;
        }
        w.len() - 1
    }
}

/// Blob shares (unequal, so canonical ids follow the truth's size order).
pub const BLOB_SHARES: [f64; 4] = [0.4, 0.3, 0.2, 0.1];

/// Centre of blob `b` in noise-sd units.
///
/// The first four columns (weight, cost, stay, severity) are set by hand: blob 0
/// is the baseline, blob 1 heavy, costly and long, blob 2 light with long stays
/// and low severity, blob 3 high severity with low cost (the only suspicious one).
/// The other columns follow a ±5 pattern that differs between blobs (blob 3's is
/// a damped mirror of blob 0's), so the blobs are separated in most dimensions.
pub fn blob_centre(b: usize) -> [f64; N_FEATURES] {
    let head: [f64; 4] = match b {
        0 => [0.0, 0.0, 0.0, 0.0],
        1 => [5.0, 5.0, 5.0, 0.0],
        2 => [-5.0, 0.0, 5.0, -5.0],
        _ => [0.0, -10.0, 0.0, 10.0],
    };
    let mut c = [0.0; N_FEATURES];
    c[..4].copy_from_slice(&head);
    for (j, x) in c.iter_mut().enumerate().skip(4) {
        *x = if b < 3 {
            5.0 * ((b + j) % 3) as f64 - 5.0
        } else {
            3.0 - 3.0 * (j % 3) as f64
        };
    }
    debug_assert_eq!((F_LOG_MULTIPLIER, F_LOG_LOS_RATIO, F_SEVERITY), (1, 2, 3));
    c
}

/// Four well-separated Gaussian blobs in 13-D, each feature on its own scale
/// and offset (so standardisation matters). Returns features and true blob ids.
pub fn blobs(n: usize, seed: u64) -> (CaseFeatures, Vec<u16>) {
    let mut rng = Rng::new(seed);
    let mut values = Vec::with_capacity(n * N_FEATURES);
    let mut truth = Vec::with_capacity(n);
    for _ in 0..n {
        let b = rng.categorical(&BLOB_SHARES);
        let c = blob_centre(b);
        for (j, &cj) in c.iter().enumerate() {
            let scale = 0.1 * (j as f64 + 1.0).powi(2);
            let offset = 10.0 * j as f64 - 40.0;
            values.push(offset + scale * (cj + rng.normal()));
        }
        truth.push(b as u16);
    }
    (CaseFeatures::new(n, values).unwrap(), truth)
}
