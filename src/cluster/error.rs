//! Errors of the clustering module.

/// Everything that can go wrong while fitting, loading or using a cluster model.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// `values.len()` is not `rows × n_features`.
    #[error("feature matrix has {len} values, expected {rows} rows × {cols} features")]
    Shape {
        /// Length of the value buffer.
        len: usize,
        /// Declared number of rows.
        rows: usize,
        /// Number of features per row.
        cols: usize,
    },
    /// A fit row index is not a row of the matrix.
    #[error("fit row {row} is out of range (matrix has {rows} rows)")]
    RowOutOfRange {
        /// The offending index.
        row: usize,
        /// Number of rows in the matrix.
        rows: usize,
    },
    /// Not enough distinct fit rows for the requested number of clusters.
    #[error("{rows} fit rows are too few for k = {k}")]
    TooFewRows {
        /// Number of distinct fit rows.
        rows: usize,
        /// Requested (or largest candidate) number of clusters.
        k: usize,
    },
    /// A feature has no observed (non-NaN, finite) value among the fit rows.
    #[error("feature `{0}` has no observed value among the fit rows")]
    FeatureAllMissing(String),
    /// The configuration is inconsistent.
    #[error("invalid cluster configuration: {0}")]
    Config(String),
    /// linfa's K-Means failed.
    #[error("k-means failed: {0}")]
    KMeans(String),
    /// The model JSON could not be parsed.
    #[error("model JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The model parsed but is internally inconsistent or of another version.
    #[error("invalid cluster model: {0}")]
    Model(String),
}

impl From<ClusterError> for crate::error::AuditError {
    fn from(e: ClusterError) -> Self {
        crate::error::AuditError::Stage {
            stage: "clustering",
            source: Box::new(e),
        }
    }
}
