//! The physical layout of a CSV file, for what the CSV engine does not say: the line a
//! record starts on when quoted fields hold line breaks, records with more fields than the
//! header, and where an unterminated quote opens.
//!
//! A file without a `"` has one record per line, so the common case costs one `memchr` pass
//! ([`has_quote`]); only a file with quotes, or one the engine refused, is scanned byte by
//! byte ([`scan`], RFC 4180: `""` inside a quoted field is a literal quote).

use std::io::Read;
use std::path::Path;

use crate::error::{AuditError, Result};

/// What a byte scan found.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Layout {
    /// Fields in the header.
    pub header_fields: u32,
    /// `(data row, extra lines)`: from this row on, a record starts `extra` physical lines
    /// below `row + 2` (the header is line 1). Sorted, only where the offset changes.
    pub breaks: Vec<(u32, u64)>,
    /// `(data row, fields)` of records with more fields than the header.
    pub ragged: Vec<(u32, u32)>,
    /// The physical line where a quote opens that never closes.
    pub open_quote_line: Option<u64>,
}

impl Layout {
    /// The physical line (1-based, header = 1) of data row `row` (0-based).
    pub fn line(&self, row: u32) -> u64 {
        let extra = match self.breaks.partition_point(|(r, _)| *r <= row) {
            0 => 0,
            i => self.breaks[i - 1].1,
        };
        u64::from(row) + 2 + extra
    }
}

/// What ingest knows of a row's place in the file: its line, and whether it has too many
/// fields. Serialised into a typed Parquet (see [`super::typed`]), whose rows keep the
/// places of the table they were converted from.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RowPlaces {
    /// Line of data row 0 when records are one line each (CSV 2: after the header;
    /// Parquet 1: row numbers).
    offset: u64,
    /// The scanned layout, when the file was scanned.
    layout: Option<Layout>,
}

impl RowPlaces {
    /// Rows numbered from `offset`, one line each.
    pub fn simple(offset: u64) -> RowPlaces {
        RowPlaces {
            offset,
            layout: None,
        }
    }

    /// CSV rows placed by a scan.
    pub fn scanned(layout: Layout) -> RowPlaces {
        RowPlaces {
            offset: 2,
            layout: Some(layout),
        }
    }

    /// The input line (or Parquet row number) of data row `row`.
    pub fn line(&self, row: u32) -> u64 {
        match &self.layout {
            Some(l) if !l.breaks.is_empty() => l.line(row),
            _ => u64::from(row) + self.offset,
        }
    }

    /// The reason a row with more fields than the header is rejected, if it has.
    pub fn ragged(&self, row: u32) -> Option<String> {
        let l = self.layout.as_ref()?;
        let i = l.ragged.binary_search_by_key(&row, |(r, _)| *r).ok()?;
        Some(format!(
            "the row has {} fields where the header has {}: a comma inside an unquoted value \
             shifts every column after it; quote that value or remove the extra separators",
            l.ragged[i].1, l.header_fields
        ))
    }
}

/// Whether the file holds a `"` anywhere (then records may span lines).
pub fn has_quote(path: &Path) -> Result<bool> {
    let mut f = std::fs::File::open(path).map_err(|e| AuditError::io(path, e))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| AuditError::io(path, e))?;
        if n == 0 {
            return Ok(false);
        }
        if memchr::memchr(b'"', &buf[..n]).is_some() {
            return Ok(true);
        }
    }
}

/// Scans the file's records (fields separated by `sep`, RFC 4180 quoting).
pub fn scan(path: &Path, sep: u8) -> Result<Layout> {
    let mut f = std::fs::File::open(path).map_err(|e| AuditError::io(path, e))?;
    let mut s = Scanner {
        sep,
        ..Scanner::default()
    };
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| AuditError::io(path, e))?;
        if n == 0 {
            break;
        }
        s.feed(&buf[..n]);
    }
    Ok(s.finish())
}

/// [`scan`] of bytes in memory.
pub fn scan_bytes(bytes: &[u8]) -> Layout {
    let mut s = Scanner::default();
    s.feed(bytes);
    s.finish()
}

/// The scan's state between buffers.
struct Scanner {
    out: Layout,
    /// The field separator.
    sep: u8,
    in_quote: bool,
    quote_line: u64,
    /// Physical lines finished so far.
    lines: u64,
    /// Records finished (the header is record 0).
    records: u64,
    start_line: u64,
    fields: u32,
    /// Bytes in the current record (a record with none is not a record).
    bytes: u64,
    extra: u64,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            out: Layout::default(),
            sep: b',',
            in_quote: false,
            quote_line: 0,
            lines: 0,
            records: 0,
            start_line: 1,
            fields: 0,
            bytes: 0,
            extra: 0,
        }
    }
}

impl Scanner {
    fn feed(&mut self, buf: &[u8]) {
        for &b in buf {
            if self.in_quote {
                match b {
                    b'"' => self.in_quote = false,
                    b'\n' => self.lines += 1,
                    _ => {}
                }
                self.bytes += 1;
                continue;
            }
            match b {
                b'"' => {
                    self.in_quote = true;
                    self.quote_line = self.lines + 1;
                    self.bytes += 1;
                }
                b'\n' => {
                    self.lines += 1;
                    self.end_record();
                }
                b if b == self.sep => {
                    self.fields += 1;
                    self.bytes += 1;
                }
                _ => self.bytes += 1,
            }
        }
    }

    fn end_record(&mut self) {
        if self.bytes > 0 {
            let fields = self.fields + 1;
            if self.records == 0 {
                self.out.header_fields = fields;
            } else {
                let row = (self.records - 1) as u32;
                let extra = self.start_line.saturating_sub(self.records + 1);
                if extra != self.extra {
                    self.out.breaks.push((row, extra));
                    self.extra = extra;
                }
                if fields > self.out.header_fields {
                    self.out.ragged.push((row, fields));
                }
            }
            self.records += 1;
        }
        self.start_line = self.lines + 1;
        self.fields = 0;
        self.bytes = 0;
    }

    fn finish(mut self) -> Layout {
        if self.in_quote {
            self.out.open_quote_line = Some(self.quote_line);
        } else {
            // A last record without a final line break.
            self.end_record();
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(text: &str) -> Layout {
        scan_bytes(text.as_bytes())
    }

    #[test]
    fn quoted_newlines_move_the_physical_lines() {
        let l = layout("a,b\n1,x\n2,\"two\nlines\"\n3,y\n4,\"a\"\"b\"\n");
        assert_eq!(l.header_fields, 2);
        assert_eq!(l.line(0), 2);
        assert_eq!(l.line(1), 3);
        assert_eq!(l.line(2), 5, "the row after a two-line record");
        assert_eq!(l.line(3), 6);
        assert!(l.ragged.is_empty() && l.open_quote_line.is_none());
    }

    #[test]
    fn extra_fields_and_open_quotes_are_found() {
        let l = layout("a,b,c\n1,2,3\n1,2,3,4,5\n1,\"x,y\",3\n");
        assert_eq!(l.ragged, vec![(1, 5)], "a quoted comma is not a field");
        let l = layout("a,b\n1,2\n3,\"open\n4,5\n");
        assert_eq!(l.open_quote_line, Some(3));
        let l = layout("a,b\r\n1,2\r\n3,4");
        assert_eq!(
            (l.line(1), l.ragged.len()),
            (3, 0),
            "CRLF, no final newline"
        );
    }
}
