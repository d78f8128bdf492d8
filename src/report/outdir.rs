//! The only stage that writes: output files of a run, written into a temporary directory
//! beside `--out` and moved into place at the end, so a crash never leaves a half report.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::ownership::{self, Existing, MARKER, Manifest};
use crate::error::{AuditError, Result};
use crate::ingest::Reject;

/// Name prefix of the staging folders beside `--out`.
const STAGING_PREFIX: &str = ".drg-audit-staging-";
/// File inside a staging folder naming the process that writes it.
const STAGING_LOCK: &str = ".drg-audit-staging";

/// A run's output directory under construction.
pub struct OutputDir {
    target: PathBuf,
    staging: tempfile::TempDir,
    /// Every file written, with its SHA-256: the manifest of the marker.
    written: Mutex<BTreeMap<String, String>>,
}

impl OutputDir {
    /// Prepares to write `target`. An existing `target` is replaced at [`OutputDir::commit`]
    /// only if it is empty or holds nothing but a previous output of this program, as its
    /// marker's manifest says (see [`ownership`]); anything else is refused now, before any
    /// work. Staging folders left by killed runs beside `target` are removed.
    pub fn create(target: &Path) -> Result<OutputDir> {
        ownership::judge(target)?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|e| AuditError::io(&parent, e))?;
        remove_abandoned_staging(&parent);
        let staging = tempfile::Builder::new()
            .prefix(&format!("{STAGING_PREFIX}{}-", std::process::id()))
            .tempdir_in(&parent)
            .map_err(|e| AuditError::io(&parent, e))?;
        let lock = staging.path().join(STAGING_LOCK);
        fs::write(&lock, std::process::id().to_string()).map_err(|e| AuditError::io(&lock, e))?;
        Ok(OutputDir {
            target: target.to_path_buf(),
            staging,
            written: Mutex::new(BTreeMap::new()),
        })
    }

    /// Path of a file inside the staging directory. `name` must be a plain relative path
    /// made by this program (callers sanitise anything derived from input data).
    fn path(&self, name: &str) -> PathBuf {
        self.staging.path().join(name)
    }

    /// Writes a whole file and records it in the manifest.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> Result<()> {
        let bytes = bytes.as_ref();
        let p = self.path(name);
        if let Some(dir) = p.parent() {
            fs::create_dir_all(dir).map_err(|e| AuditError::io(dir, e))?;
        }
        fs::write(&p, bytes).map_err(|e| AuditError::io(&p, e))?;
        let sha = ownership::sha256_hex(bytes);
        self.written
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(name.to_string(), sha);
        Ok(())
    }

    /// The staging folder, for a writer that streams its own files into it (the generator);
    /// call [`OutputDir::adopt_streamed`] afterwards so they enter the manifest.
    pub fn staging_path(&self) -> &Path {
        self.staging.path()
    }

    /// Records in the manifest every file in the staging folder that was not written through
    /// [`OutputDir::write`] (hashing it from disk).
    pub fn adopt_streamed(&self) -> Result<()> {
        let mut found = Vec::new();
        ownership::files_below(self.staging.path(), &mut found)?;
        let mut written = self
            .written
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (rel, path) in found {
            if rel != STAGING_LOCK && !written.contains_key(&rel) {
                written.insert(rel, ownership::sha256_file(&path)?);
            }
        }
        Ok(())
    }

    /// Writes the marker and moves the finished output into place, deleting a previous
    /// output's files (and only those) first.
    pub fn commit(self) -> Result<PathBuf> {
        let OutputDir {
            target,
            staging,
            written,
        } = self;
        let files = written
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let lock = staging.path().join(STAGING_LOCK);
        fs::remove_file(&lock).map_err(|e| AuditError::io(&lock, e))?;
        let marker = staging.path().join(MARKER);
        fs::write(&marker, Manifest::new(files).to_json()?)
            .map_err(|e| AuditError::io(&marker, e))?;
        // Judged again: the folder may have changed while the run worked.
        match ownership::judge(&target)? {
            Existing::Absent => {}
            Existing::Empty => fs::remove_dir(&target).map_err(|e| AuditError::io(&target, e))?,
            Existing::Previous(old) => ownership::remove_previous(&target, &old)?,
        }
        if fs::symlink_metadata(&target).is_ok() {
            return Err(AuditError::Usage(format!(
                "{}: --out changed while drg-audit was writing; choose a new folder",
                target.display()
            )));
        }
        // The staging folder is dropped (deleted) on any error above or here.
        fs::rename(staging.path(), &target).map_err(|e| AuditError::io(&target, e))?;
        let _ = staging.keep();
        Ok(target)
    }
}

/// Removes staging folders beside `--out` whose writing process is gone (a killed run).
/// Only folders with this program's prefix *and* lock file are touched; where the process
/// table cannot be read (no `/proc`), nothing is removed.
fn remove_abandoned_staging(parent: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(STAGING_PREFIX)
            || !entry.file_type().map(|t| t.is_dir()).unwrap_or(false)
        {
            continue;
        }
        let Ok(pid) = fs::read_to_string(entry.path().join(STAGING_LOCK)) else {
            continue;
        };
        let Ok(pid) = pid.trim().parse::<u32>() else {
            continue;
        };
        if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
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
    let raw = w
        .into_inner()
        .map_err(|e| AuditError::Usage(format!("cannot write CSV: {e}")))?;
    neutralise_formulas(&raw)
}

/// Prefixes `'` to every text cell a spreadsheet would run as a formula (a leading `=`, `+`,
/// `-`, `@`, tab or CR; OWASP's advice for CSV injection). Numbers, such as a negative z or
/// `-inf`, stay numbers. Done once on the finished bytes so every CSV this program writes
/// goes through it whatever its row type.
fn neutralise_formulas(raw: &[u8]) -> Result<Vec<u8>> {
    let risky = |cell: &str| {
        cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell.parse::<f64>().is_err()
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(raw);
    let mut record = csv::StringRecord::new();
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::with_capacity(raw.len()));
    while reader.read_record(&mut record).map_err(csv_err)? {
        if !record.iter().any(risky) {
            w.write_record(&record).map_err(csv_err)?;
            continue;
        }
        let cells: Vec<std::borrow::Cow<str>> = record
            .iter()
            .map(|c| {
                if risky(c) {
                    std::borrow::Cow::Owned(format!("'{c}"))
                } else {
                    std::borrow::Cow::Borrowed(c)
                }
            })
            .collect();
        w.write_record(cells.iter().map(|c| c.as_bytes()))
            .map_err(csv_err)?;
    }
    w.into_inner()
        .map_err(|e| AuditError::Usage(format!("cannot write CSV: {e}")))
}

fn csv_err(e: csv::Error) -> AuditError {
    AuditError::Usage(format!("cannot write CSV: {e}"))
}

/// `rejects.csv`: line, case_id, column, reason, file (header only when none).
pub fn rejects_csv(rejects: &[Reject]) -> Result<Vec<u8>> {
    csv_bytes(rejects, &["line", "case_id", "column", "reason", "file"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Row {
        name: String,
        z: f64,
    }

    #[test]
    fn csv_formula_injection_is_neutralised_and_numbers_stay_numbers() {
        let rows: Vec<Row> = [
            ("=HYPERLINK(\"http://x\")", -3.5),
            ("+cmd|' /C calc'!A0", f64::NEG_INFINITY),
            ("@SUM(A1)", 0.0),
            ("\t=1+1", 1.0),
            ("\r=1+1", 1.0),
            ("-1+2", 1.0),
            ("plain 医院", -0.25),
        ]
        .into_iter()
        .map(|(n, z)| Row {
            name: n.to_string(),
            z,
        })
        .collect();
        let out = String::from_utf8(csv_bytes(&rows, &[]).unwrap()).unwrap();
        let mut r = csv::Reader::from_reader(out.as_bytes());
        let got: Vec<(String, String)> = r
            .records()
            .map(|x| {
                let x = x.unwrap();
                (x[0].to_string(), x[1].to_string())
            })
            .collect();
        for (name, z) in &got[..6] {
            assert!(name.starts_with('\''), "{name} not neutralised");
            assert!(!z.starts_with('\''), "number {z} was changed");
        }
        assert_eq!(got[0].1, "-3.5");
        assert_eq!(got[1].1, "-inf");
        assert_eq!(got[6], ("plain 医院".to_string(), "-0.25".to_string()));
    }
}
