//! Which folders `--out` may replace: only one this program wrote, and only the files it
//! wrote there.
//!
//! Every output folder carries a marker, [`MARKER`], holding the manifest of the files the
//! run wrote with their SHA-256. A folder is replaceable when it is empty, or when every file
//! in it is the marker or a manifest file with its recorded content. Anything else — a
//! folder without a marker (whatever else it holds: `summary.json` alone proves nothing), a
//! file the user added, a file edited since it was written, a symbolic link — is refused
//! with a line that names it, and nothing is deleted.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{AuditError, Result};

/// The marker file at the top of every output folder.
pub const MARKER: &str = ".drg-audit-output.json";
/// `format` of the marker.
const FORMAT: &str = "drg-audit output";
/// The largest marker read back (a manifest of ~100 k files); a larger one is not ours.
const MARKER_MAX_BYTES: u64 = 64 << 20;

/// The marker's content: the files this program wrote, relative paths with `/`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Marker version.
    pub version: u32,
    /// Relative path → SHA-256 (hex) of the content written.
    pub files: BTreeMap<String, String>,
}

impl Manifest {
    /// A manifest of the given files.
    pub fn new(files: BTreeMap<String, String>) -> Manifest {
        Manifest {
            format: FORMAT.to_string(),
            version: 1,
            files,
        }
    }

    /// The marker's bytes (pretty JSON, sorted, so the same files give the same marker).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map(|s| s + "\n")
            .map_err(|e| AuditError::Usage(format!("cannot serialise the output manifest: {e}")))
    }
}

/// SHA-256 of bytes, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file's content, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = fs::File::open(path).map_err(|e| AuditError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| AuditError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// What an existing `--out` holds, once it has been judged replaceable.
#[derive(Debug)]
pub enum Existing {
    /// Nothing there.
    Absent,
    /// An empty folder.
    Empty,
    /// A previous output: the files to delete (all ours, content verified).
    Previous(Vec<PathBuf>),
}

/// Judges an existing `--out`. Refuses (with the reason and the fix) anything this program
/// did not write.
pub fn judge(target: &Path) -> Result<Existing> {
    let meta = match fs::symlink_metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Absent),
        Err(e) => return Err(AuditError::io(target, e)),
    };
    if meta.file_type().is_symlink() {
        return Err(refuse(
            target,
            "--out is a symbolic link; give the folder it points to, or a new folder",
        ));
    }
    if !meta.is_dir() {
        return Err(refuse(
            target,
            "--out is a file, not a folder; choose a new folder",
        ));
    }
    let mut found = Vec::new();
    walk(target, target, &mut found)?;
    if found.is_empty() {
        return Ok(Existing::Empty);
    }
    let marker = target.join(MARKER);
    let Some(manifest) = read_marker(&marker)? else {
        return Err(refuse(
            target,
            "--out exists and was not written by drg-audit (it has no .drg-audit-output.json); \
             choose a new or empty folder",
        ));
    };
    let mut ours = Vec::with_capacity(found.len());
    for (rel, path) in found {
        if rel == MARKER {
            continue;
        }
        match manifest.files.get(&rel) {
            None => {
                return Err(refuse(
                    &path,
                    "this file in --out was not written by drg-audit; move it out of the folder \
                     or choose another --out (nothing was deleted)",
                ));
            }
            Some(sha) if *sha != sha256_file(&path)? => {
                return Err(refuse(
                    &path,
                    "this file in --out was changed after drg-audit wrote it; move it out of the \
                     folder or choose another --out (nothing was deleted)",
                ));
            }
            Some(_) => ours.push(path),
        }
    }
    ours.push(marker);
    Ok(Existing::Previous(ours))
}

/// Reads the marker; `None` when there is none or it is not ours.
fn read_marker(path: &Path) -> Result<Option<Manifest>> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AuditError::io(path, e)),
    };
    if !meta.is_file() || meta.len() > MARKER_MAX_BYTES {
        return Ok(None);
    }
    let text = fs::read_to_string(path).map_err(|e| AuditError::io(path, e))?;
    Ok(serde_json::from_str::<Manifest>(&text)
        .ok()
        .filter(|m| m.format == FORMAT))
}

/// Every file below `dir` as (path relative to `dir` with `/`, full path); a link or special
/// file is refused.
pub fn files_below(dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    walk(dir, dir, out)
}

/// Every file below `dir` as (path relative to `root` with `/`, full path). A symbolic link
/// or anything that is neither a file nor a folder is refused: it was not written here.
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| AuditError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| AuditError::io(dir, e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| AuditError::io(&path, e))?;
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path));
        } else {
            return Err(refuse(
                &path,
                "--out holds a link or special file that drg-audit did not write; choose another \
                 --out (nothing was deleted)",
            ));
        }
    }
    Ok(())
}

/// Deletes a verified previous output: its files, then the folders they leave empty. A
/// folder that is not empty afterwards (something appeared meanwhile) is left in place.
pub fn remove_previous(root: &Path, files: &[PathBuf]) -> Result<()> {
    for f in files {
        match fs::remove_file(f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(AuditError::io(f, e)),
        }
    }
    remove_empty_dirs(root)
}

fn remove_empty_dirs(dir: &Path) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| AuditError::io(dir, e))?;
    for entry in entries.flatten() {
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            remove_empty_dirs(&entry.path())?;
        }
    }
    // Fails harmlessly when the folder still holds something.
    let _ = fs::remove_dir(dir);
    Ok(())
}

fn refuse(path: &Path, message: &str) -> AuditError {
    AuditError::Usage(format!("{}: {message}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, s: &str) {
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).unwrap();
        }
        fs::write(p, s).unwrap();
    }

    fn marker(dir: &Path, files: &[(&str, &str)]) {
        let m = Manifest::new(
            files
                .iter()
                .map(|(n, c)| (n.to_string(), sha256_hex(c.as_bytes())))
                .collect(),
        );
        write(&dir.join(MARKER), &m.to_json().unwrap());
    }

    #[test]
    fn a_folder_with_summary_json_but_no_marker_is_refused() {
        let d = tempfile::tempdir().unwrap();
        write(&d.path().join("summary.json"), "{}");
        write(&d.path().join("cases.csv"), "x");
        let err = judge(d.path()).unwrap_err().to_string();
        assert!(err.contains("not written by drg-audit"), "{err}");
    }

    #[test]
    fn a_previous_output_is_replaceable_and_lists_only_its_files() {
        let d = tempfile::tempdir().unwrap();
        write(&d.path().join("a.csv"), "1");
        write(&d.path().join("hospitals/h.html"), "2");
        marker(d.path(), &[("a.csv", "1"), ("hospitals/h.html", "2")]);
        let Existing::Previous(files) = judge(d.path()).unwrap() else {
            panic!("should be a previous output");
        };
        assert_eq!(files.len(), 3);
        remove_previous(d.path(), &files).unwrap();
        assert!(!d.path().exists(), "emptied folder is removed");
    }

    #[test]
    fn a_note_added_to_a_previous_output_is_refused() {
        let d = tempfile::tempdir().unwrap();
        write(&d.path().join("a.csv"), "1");
        write(&d.path().join("my-notes.txt"), "keep me");
        marker(d.path(), &[("a.csv", "1")]);
        let err = judge(d.path()).unwrap_err().to_string();
        assert!(err.contains("my-notes.txt"), "{err}");
    }

    #[test]
    fn an_edited_output_file_is_refused() {
        let d = tempfile::tempdir().unwrap();
        write(&d.path().join("a.csv"), "edited in Excel");
        marker(d.path(), &[("a.csv", "1")]);
        let err = judge(d.path()).unwrap_err().to_string();
        assert!(err.contains("changed after"), "{err}");
    }

    #[test]
    fn empty_absent_file_and_symlink() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(judge(d.path()).unwrap(), Existing::Empty));
        assert!(matches!(
            judge(&d.path().join("new")).unwrap(),
            Existing::Absent
        ));
        write(&d.path().join("f"), "x");
        assert!(judge(&d.path().join("f")).is_err());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(d.path().join("nowhere"), d.path().join("link")).unwrap();
            let err = judge(&d.path().join("link")).unwrap_err().to_string();
            assert!(err.contains("symbolic link"), "{err}");
        }
    }

    #[test]
    fn a_forged_marker_of_another_format_is_not_ours() {
        let d = tempfile::tempdir().unwrap();
        write(
            &d.path().join(MARKER),
            "{\"format\":\"x\",\"version\":1,\"files\":{}}",
        );
        assert!(judge(d.path()).is_err());
    }
}
