//! Small tables read whole into strings (the group catalogue), with the same encoding
//! handling as the case table.

use std::io::Cursor;
use std::path::Path;

use polars::prelude::*;

use super::encoding::{self, TextEncoding};
use crate::error::{AuditError, Result};

/// A small table as text: headers and rows of optional cells (empty cell = `None`).
#[derive(Debug, Clone, Default)]
pub struct StringTable {
    /// Headers as written.
    pub headers: Vec<String>,
    /// Rows; row `i` sits on file line `i + 2`.
    pub rows: Vec<Vec<Option<String>>>,
}

impl StringTable {
    /// The cell of a row under a header.
    pub fn cell<'a>(&'a self, row: &'a [Option<String>], header: Option<&str>) -> Option<&'a str> {
        let idx = self
            .headers
            .iter()
            .position(|h| Some(h.as_str()) == header)?;
        row.get(idx)?
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// Reads a small CSV file (UTF-8, UTF-8 with BOM or GB18030) into strings; `option` names
/// the argument that gave the path, for the error.
pub fn read_small_csv(path: &Path, option: &str) -> Result<StringTable> {
    let bytes = crate::files::read_small(path, option, crate::files::MAX_CATALOGUE_BYTES)?;
    let bytes = match encoding::detect_bytes(&bytes) {
        TextEncoding::Gb18030 => {
            let (text, _, _) = encoding_rs::GB18030.decode(&bytes);
            text.into_owned().into_bytes()
        }
        _ => bytes,
    };
    read_csv_bytes(bytes, path)
}

/// Reads CSV bytes (UTF-8) into strings; `label` names the source in errors.
pub fn read_csv_bytes(bytes: Vec<u8>, label: &Path) -> Result<StringTable> {
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(|e| AuditError::engine(label, e))?;
    let headers: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut rows = vec![Vec::with_capacity(headers.len()); df.height()];
    for col in df.get_columns() {
        let ca = col.str().map_err(|e| AuditError::engine(label, e))?;
        for (row, v) in rows.iter_mut().zip(ca.iter()) {
            row.push(v.map(str::to_string));
        }
    }
    Ok(StringTable { headers, rows })
}
