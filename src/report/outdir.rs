//! The only stage that writes: output files of a run, written into a temporary directory
//! beside `--out` and moved into place at the end, so a crash never leaves a half report.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{AuditError, Result};
use crate::ingest::Reject;

/// A run's output directory under construction.
pub struct OutputDir {
    target: PathBuf,
    staging: tempfile::TempDir,
}

impl OutputDir {
    /// Prepares to write `target`. An existing `target` is replaced at [`OutputDir::commit`]
    /// only if it is empty or a previous run's or check's output (holds `summary.json` or
    /// `check.json`).
    pub fn create(target: &Path) -> Result<OutputDir> {
        if target.exists() && !is_replaceable(target) {
            return Err(AuditError::Usage(format!(
                "{}: --out exists and is not a drg-audit output folder; choose a new or empty folder",
                target.display()
            )));
        }
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|e| AuditError::io(&parent, e))?;
        let staging = tempfile::Builder::new()
            .prefix(".drg-audit-staging-")
            .tempdir_in(&parent)
            .map_err(|e| AuditError::io(&parent, e))?;
        Ok(OutputDir {
            target: target.to_path_buf(),
            staging,
        })
    }

    /// Path of a file inside the staging directory. `name` must be a plain relative path
    /// made by this program (callers sanitise anything derived from input data).
    pub fn path(&self, name: &str) -> PathBuf {
        self.staging.path().join(name)
    }

    /// Writes a whole file.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> Result<()> {
        let p = self.path(name);
        if let Some(dir) = p.parent() {
            fs::create_dir_all(dir).map_err(|e| AuditError::io(dir, e))?;
        }
        fs::write(&p, bytes).map_err(|e| AuditError::io(&p, e))
    }

    /// Moves the finished output into place.
    pub fn commit(self) -> Result<PathBuf> {
        let OutputDir { target, staging } = self;
        if target.exists() {
            fs::remove_dir_all(&target).map_err(|e| AuditError::io(&target, e))?;
        }
        let staged = staging.keep();
        fs::rename(&staged, &target).map_err(|e| AuditError::io(&target, e))?;
        Ok(target)
    }
}

fn is_replaceable(dir: &Path) -> bool {
    dir.is_dir()
        && (dir.join("summary.json").is_file()
            || dir.join("check.json").is_file()
            || fs::read_dir(dir)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false))
}

/// Serialises rows as CSV with a header (correct quoting through the `csv` crate).
pub fn csv_bytes<R: serde::Serialize>(rows: &[R], header_if_empty: &[&str]) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(true)
        .from_writer(Vec::new());
    if rows.is_empty() {
        w.write_record(header_if_empty).map_err(csv_err)?;
    }
    for r in rows {
        w.serialize(r).map_err(csv_err)?;
    }
    w.into_inner()
        .map_err(|e| AuditError::Usage(format!("cannot write CSV: {e}")))
}

fn csv_err(e: csv::Error) -> AuditError {
    AuditError::Usage(format!("cannot write CSV: {e}"))
}

/// `rejects.csv`: line, case_id, column, reason (header only when none).
pub fn rejects_csv(rejects: &[Reject]) -> Result<Vec<u8>> {
    csv_bytes(rejects, &["line", "case_id", "column", "reason"])
}
