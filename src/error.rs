//! Errors a user can act on. Each message is one sentence naming the file, where in it, and
//! what to do; `main` prints it on one line and exits non-zero.

use std::path::{Path, PathBuf};

/// Every failure the library reports.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Input data that cannot be used as a whole (missing column, empty file, bad header).
    #[error("{path}: {location}: {message}")]
    Input {
        /// The file.
        path: PathBuf,
        /// "header", "line 12" or "column total_cost".
        location: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// The region configuration is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The data engine failed on a file.
    #[error("{path}: cannot read the table ({message}); check that it is a CSV or Parquet file")]
    Engine {
        /// The file.
        path: PathBuf,
        /// The engine's message, shortened to one line.
        message: String,
    },
    /// A stage's own typed error (clustering, the generator), kept as the cause; the
    /// `From` impls live beside those error types, so this module names no stage.
    #[error("{stage}: {source}")]
    Stage {
        /// `clustering` or `generate`.
        stage: &'static str,
        /// The stage's error.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// A JSON output could not be serialised.
    #[error("cannot serialise {what}: {source}")]
    Serialise {
        /// Which output.
        what: &'static str,
        /// What serde said.
        source: serde_json::Error,
    },
    /// The spreadsheet writer failed.
    #[error("cannot write {file}: {source}")]
    Xlsx {
        /// The workbook's file name.
        file: &'static str,
        /// What the writer said.
        source: rust_xlsxwriter::XlsxError,
    },
    /// A helper thread panicked.
    #[error("{0} failed")]
    Thread(&'static str),
    /// Standard output could not be written (`main` treats a closed pipe as success).
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),
    /// A command-line argument is unusable.
    #[error("{0}")]
    Usage(String),
}

impl AuditError {
    /// An I/O error on a path.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        AuditError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// An input error at a location in a file.
    pub fn input(path: &Path, location: impl Into<String>, message: impl Into<String>) -> Self {
        AuditError::Input {
            path: path.to_path_buf(),
            location: location.into(),
            message: message.into(),
        }
    }

    /// Whether this is a write to a closed pipe (`drg-audit evaluate … | head`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, AuditError::Stdout(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// A data-engine error on a file, flattened to one line.
    pub fn engine(path: &Path, err: impl std::fmt::Display) -> Self {
        let message = err
            .to_string()
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        AuditError::Engine {
            path: path.to_path_buf(),
            message,
        }
    }
}

/// Result type of the library.
pub type Result<T, E = AuditError> = std::result::Result<T, E>;
