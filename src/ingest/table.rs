//! Small tables read whole into strings (the group catalogue), with the same encoding,
//! separator and workbook handling as the case table.

use std::io::Cursor;
use std::path::Path;

use polars::prelude::*;

use super::encoding::{self, TextEncoding};
use super::source::Delimiter;
use crate::error::{AuditError, Result};

/// A small table as text: headers and rows of optional cells (empty cell = `None`).
#[derive(Debug, Clone, Default)]
pub struct StringTable {
    /// Headers as written.
    pub headers: Vec<String>,
    /// Rows; row `i` sits on file line `i + 2` unless `lines` says otherwise.
    pub rows: Vec<Vec<Option<String>>>,
    /// The line (sheet row) of each row, when rows are not one line each from line 2 (a
    /// workbook's sheet, where blank rows are skipped and the table may start lower).
    pub lines: Option<Vec<u64>>,
}

impl StringTable {
    /// The line (or sheet row) of row `i`, for messages.
    pub fn line(&self, i: usize) -> u64 {
        match &self.lines {
            Some(l) => l.get(i).copied().unwrap_or(i as u64 + 2),
            None => i as u64 + 2,
        }
    }

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

/// Reads a small CSV file (UTF-8, UTF-8 with BOM, GB18030 or UTF-16; any separator of
/// [`Delimiter`]) into strings; `option` names the argument that gave the path, for the
/// error.
pub fn read_small_csv(path: &Path, option: &str) -> Result<StringTable> {
    read_small_table(path, option, None)
}

/// [`read_small_csv`], also reading sheet `sheet` (default: the first) of an Excel workbook.
pub fn read_small_table(path: &Path, option: &str, sheet: Option<&str>) -> Result<StringTable> {
    crate::files::require_file(path, option)?;
    if super::format_of(path) == super::Format::Excel || super::sheet::has_workbook_signature(path)?
    {
        return super::sheet::read_table(path, sheet);
    }
    let bytes = crate::files::read_small(path, option, crate::files::MAX_CATALOGUE_BYTES)?;
    let bytes = match encoding::detect_bytes(&bytes) {
        TextEncoding::Gb18030 => {
            let (text, _, _) = encoding_rs::GB18030.decode(&bytes);
            text.into_owned().into_bytes()
        }
        TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
            let (text, _, _) = encoding_rs::UTF_16LE.decode(&bytes);
            text.into_owned().into_bytes()
        }
        _ => bytes,
    };
    let sep = Delimiter::detect(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes));
    read_delimited_bytes(bytes, path, sep)
}

/// Reads CSV bytes (UTF-8) into strings; `label` names the source in errors.
pub fn read_csv_bytes(bytes: Vec<u8>, label: &Path) -> Result<StringTable> {
    read_delimited_bytes(bytes, label, Delimiter::Comma)
}

/// Reads delimited UTF-8 bytes into strings.
fn read_delimited_bytes(bytes: Vec<u8>, label: &Path, sep: Delimiter) -> Result<StringTable> {
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .map_parse_options(|o| o.with_separator(sep.byte()))
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
    Ok(StringTable {
        headers,
        rows,
        lines: None,
    })
}
