//! Input paths checked before anything reads them: a folder, a pipe or a device (`/dev/zero`)
//! given where a file belongs would otherwise block or fill memory, and an over-large
//! configuration is not one.

use std::io::Read;
use std::path::Path;

use crate::error::{AuditError, Result};

/// The largest configuration (TOML) file read.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;
/// The largest group catalogue read (the CHS-DRG catalogue is ~50 kB; DIP lists ~2 MB).
pub const MAX_CATALOGUE_BYTES: u64 = 256 << 20;

/// Checks that `path`, given as `option` (`--cases`), is a regular file; returns its size.
pub fn require_file(path: &Path, option: &str) -> Result<u64> {
    let meta = std::fs::metadata(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            AuditError::input(
                path,
                "file",
                format!("does not exist; check the {option} path"),
            )
        } else {
            AuditError::io(path, e)
        }
    })?;
    if meta.is_dir() {
        return Err(AuditError::input(
            path,
            "file",
            format!("is a folder; give {option} the file inside it"),
        ));
    }
    if !meta.is_file() {
        return Err(AuditError::input(
            path,
            "file",
            format!(
                "is not a regular file (a pipe, socket or device); save the data to a file and \
                 give {option} that file"
            ),
        ));
    }
    Ok(meta.len())
}

/// Reads a small input file whole, refusing a non-regular file or one above `max_bytes`
/// (read through a bound, so a file that grows while read cannot exhaust memory).
pub fn read_small(path: &Path, option: &str, max_bytes: u64) -> Result<Vec<u8>> {
    require_file(path, option)?;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(|e| AuditError::io(path, e))?
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| AuditError::io(path, e))?;
    if bytes.len() as u64 > max_bytes {
        return Err(AuditError::input(
            path,
            "file",
            format!(
                "is larger than {} MiB, too large for {option}; check that it is the right file",
                max_bytes >> 20
            ),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_devices_and_oversized_files_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let err = require_file(d.path(), "--cases").unwrap_err().to_string();
        assert!(err.contains("is a folder"), "{err}");
        let err = require_file(&d.path().join("none.csv"), "--cases")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("does not exist") && err.contains("--cases"),
            "{err}"
        );
        #[cfg(unix)]
        {
            let err = require_file(Path::new("/dev/zero"), "--cases")
                .unwrap_err()
                .to_string();
            assert!(err.contains("not a regular file"), "{err}");
        }
        let big = d.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; 2048]).unwrap();
        assert!(read_small(&big, "--config", 1024).is_err());
        assert_eq!(read_small(&big, "--config", 4096).unwrap().len(), 2048);
    }
}
