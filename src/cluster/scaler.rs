//! Standardisation: z = (x − mean) / sd per feature, fitted on the fit rows.
//!
//! K-Means measures Euclidean distance, so a feature in yuan would swamp a share in
//! [0, 1]. Dividing each feature by its standard deviation makes one unit of distance
//! "one standard deviation" everywhere. The scaler is fitted on the same rows as the
//! clusters (e.g. the baseline period) and stored in the model, so that cases of a
//! later period are measured on the baseline's scale and shifts show up as shifts.
//!
//! Missing values (`NaN`, or any non-finite value) are skipped when fitting and
//! imputed with the mean, i.e. become 0 after standardisation. A feature that is
//! constant on the fit rows gets `std = 1` so that it contributes nothing instead of
//! dividing by zero.

use serde::{Deserialize, Serialize};

use super::ClusterError;

/// Per-feature mean and (population) standard deviation of the fit rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// Mean of each feature over the observed values of the fit rows.
    pub mean: Vec<f64>,
    /// Population standard deviation (divisor n) of each feature; 1 when the
    /// feature is constant.
    pub std: Vec<f64>,
}

impl Scaler {
    /// Fit on the given rows of a row-major matrix with `cols` columns.
    ///
    /// Two passes (mean, then squared deviations) in row order, so the result is
    /// deterministic and accurate. `names` is used for the error message when a
    /// feature has no observed value.
    pub fn fit(
        values: &[f64],
        cols: usize,
        rows: &[usize],
        names: &[String],
    ) -> Result<Self, ClusterError> {
        let mut sum = vec![0.0; cols];
        let mut n = vec![0u64; cols];
        for &r in rows {
            for (j, &v) in values[r * cols..(r + 1) * cols].iter().enumerate() {
                if v.is_finite() {
                    sum[j] += v;
                    n[j] += 1;
                }
            }
        }
        let mut mean = vec![0.0; cols];
        for j in 0..cols {
            if n[j] == 0 {
                return Err(ClusterError::FeatureAllMissing(names[j].clone()));
            }
            mean[j] = sum[j] / n[j] as f64;
        }
        let mut ss = vec![0.0; cols];
        for &r in rows {
            for (j, &v) in values[r * cols..(r + 1) * cols].iter().enumerate() {
                if v.is_finite() {
                    let d = v - mean[j];
                    ss[j] += d * d;
                }
            }
        }
        let std = (0..cols)
            .map(|j| {
                let s = (ss[j] / n[j] as f64).sqrt();
                // Relative threshold: a feature whose spread is rounding noise is constant.
                if s > 1e-12 * mean[j].abs().max(1.0) {
                    s
                } else {
                    1.0
                }
            })
            .collect();
        Ok(Self { mean, std })
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.mean.len()
    }

    /// True when the scaler has no features.
    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }

    /// Standardise one row into `out` (missing → 0).
    #[inline]
    pub fn transform_row(&self, row: &[f64], out: &mut [f64]) {
        for (((o, &v), &m), &s) in out.iter_mut().zip(row).zip(&self.mean).zip(&self.std) {
            *o = if v.is_finite() { (v - m) / s } else { 0.0 };
        }
    }

    /// Map a standardised vector back to real units.
    pub fn inverse_row(&self, z: &[f64]) -> Vec<f64> {
        z.iter()
            .zip(&self.mean)
            .zip(&self.std)
            .map(|((&z, &m), &s)| m + s * z)
            .collect()
    }
}
