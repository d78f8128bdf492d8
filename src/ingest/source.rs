//! An input table made into what the CSV engine streams: UTF-8 text with one known field
//! separator.
//!
//! Files arrive as Excel workbooks, as UTF-16 "Unicode text" (tab-separated), as GB18030,
//! with commas, tabs, semicolons or `|` between the fields. Rather than teach every reader
//! every form, each input goes through [`prepare`] once: a UTF-8 file (or a GB18030 file
//! whose copy is not needed) is read in place; GB18030, UTF-16 and repaired UTF-8 text is
//! transcoded to a UTF-8 copy; a workbook's sheet is written out as a UTF-8 CSV copy with
//! every row placed on its sheet row (so rejects name the row the user sees in Excel). The
//! copy holds the whole table, patient ids included, so it lives in the run's scratch folder
//! (the staging folder beside `--out`) whenever one is given, and goes when the read ends.
//!
//! After this, every value goes through the same text parsers, the same checks and the same
//! rejects whatever the file looked like: an `.xlsx` and a CSV of one region give the same
//! audit.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::encoding::{self, TextEncoding};
use super::layout::Layout;
use super::{EncodingRepairs, Format, format_of, sheet};
use crate::error::{AuditError, Result};

/// The field separator of a text table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Delimiter {
    /// `,`
    Comma,
    /// A tab (Excel's "Unicode text" and "Text (tab delimited)").
    Tab,
    /// `;` (spreadsheets in locales with a decimal comma).
    Semicolon,
    /// `|` (database exports).
    Pipe,
}

impl Delimiter {
    /// Every separator, in the order that breaks a tie.
    pub const ALL: [Delimiter; 4] = [
        Delimiter::Comma,
        Delimiter::Tab,
        Delimiter::Semicolon,
        Delimiter::Pipe,
    ];

    /// The separator byte.
    pub fn byte(self) -> u8 {
        match self {
            Delimiter::Comma => b',',
            Delimiter::Tab => b'\t',
            Delimiter::Semicolon => b';',
            Delimiter::Pipe => b'|',
        }
    }

    /// The separator of a table from its first bytes (UTF-8): the candidate found most often
    /// outside quotes on the header line (ties go to the earlier of [`Delimiter::ALL`]; a
    /// header without any is one column, read as comma-separated). The header decides because
    /// it holds no free text: a name or address in the data rows may hold commas, a header
    /// of column names does not.
    pub fn detect(text: &[u8]) -> Delimiter {
        let mut counts = [0usize; 4];
        let mut in_quote = false;
        for &b in text {
            match b {
                b'"' => in_quote = !in_quote,
                b'\n' | b'\r' if !in_quote => break,
                _ if !in_quote => {
                    if let Some(i) = Delimiter::ALL.iter().position(|d| d.byte() == b) {
                        counts[i] += 1;
                    }
                }
                _ => {}
            }
        }
        let mut best = Delimiter::Comma;
        let mut most = 0;
        for (d, n) in Delimiter::ALL.into_iter().zip(counts) {
            if n > most {
                best = d;
                most = n;
            }
        }
        best
    }
}

/// An input ready for the CSV engine (or Parquet, read as it is).
#[derive(Debug)]
pub struct Source {
    /// What the engine reads: the input itself or its UTF-8 copy.
    pub path: PathBuf,
    /// The format as the user gave it (a workbook stays [`Format::Excel`] though its copy
    /// is CSV).
    pub format: Format,
    /// The field separator of `path` (Parquet: unused).
    pub delimiter: Delimiter,
    /// The text encoding detected (text input only).
    pub encoding: Option<TextEncoding>,
    /// The sheet read (workbooks only).
    pub sheet: Option<String>,
    /// Where each record of a workbook's copy sits in the sheet (the sheet rows, blank rows
    /// skipped); `None` for text, whose physical lines the layout scan finds.
    pub sheet_rows: Option<Layout>,
    /// Invalid UTF-8 bytes replaced in the copy.
    pub repairs: Option<EncodingRepairs>,
    /// The copy, removed when the source is dropped.
    _copy: Option<tempfile::NamedTempFile>,
}

impl Source {
    /// The format the engine reads: Parquet as it is, everything else as CSV.
    pub fn engine_format(&self) -> Format {
        match self.format {
            Format::Parquet => Format::Parquet,
            _ => Format::Csv,
        }
    }

    /// The separator to report (text input only).
    pub fn reported_delimiter(&self) -> Option<Delimiter> {
        (self.format == Format::Csv).then_some(self.delimiter)
    }
}

/// How many leading bytes decide the separator (the header line is in them).
const HEADER_BYTES: u64 = 1 << 20;

/// Prepares `path`, given as `option` (`--cases`, `--diagnoses`, …), for the engine; a copy
/// goes into `scratch` (the system temp folder when `None`). `sheet` names the sheet of a
/// workbook (default: the first); it is refused for a text or Parquet file, where it would
/// silently mean nothing.
pub fn prepare(
    path: &Path,
    option: &str,
    scratch: Option<&Path>,
    sheet_name: Option<&str>,
) -> Result<Source> {
    crate::files::require_file(path, option)?;
    let copy = || -> Result<tempfile::NamedTempFile> {
        let mut builder = tempfile::Builder::new();
        builder.prefix(".drg-audit-utf8-").suffix(".csv");
        match scratch {
            Some(dir) => builder.tempfile_in(dir),
            None => builder.tempfile(),
        }
        .map_err(|e| AuditError::io(path, e))
    };
    let format = format_of(path);
    let workbook = match format {
        Format::Parquet => {
            refuse_sheet(path, option, sheet_name)?;
            return Ok(Source {
                path: path.to_path_buf(),
                format,
                delimiter: Delimiter::Comma,
                encoding: None,
                sheet: None,
                sheet_rows: None,
                repairs: None,
                _copy: None,
            });
        }
        Format::Excel => true,
        // A workbook renamed `.csv` (or saved without its extension) is read as one.
        Format::Csv => sheet::has_workbook_signature(path)?,
    };
    if workbook {
        let tmp = copy()?;
        let written = match sheet::write_csv(path, sheet_name, tmp.path()) {
            Ok(w) => w,
            Err(e) if format == Format::Csv => {
                // Not a workbook after all (a zip, a damaged file): say what it looks like.
                return Err(match encoding::detect(path) {
                    Err(named) => named,
                    Ok(_) => e,
                });
            }
            Err(e) => return Err(e),
        };
        return Ok(Source {
            path: tmp.path().to_path_buf(),
            format: Format::Excel,
            delimiter: Delimiter::Comma,
            encoding: None,
            sheet: Some(written.sheet),
            sheet_rows: Some(written.rows),
            repairs: None,
            _copy: Some(tmp),
        });
    }
    refuse_sheet(path, option, sheet_name)?;
    let decision = encoding::detect(path)?;
    let (source, encoding, repairs, tmp) = match decision {
        encoding::Decision::Clean(enc @ (TextEncoding::Utf16Le | TextEncoding::Utf16Be)) => {
            let tmp = copy()?;
            encoding::transcode_utf16(path, tmp.path())?;
            (tmp.path().to_path_buf(), enc, None, Some(tmp))
        }
        encoding::Decision::Clean(TextEncoding::Gb18030) => {
            let tmp = copy()?;
            encoding::transcode_gb18030(path, tmp.path())?;
            (
                tmp.path().to_path_buf(),
                TextEncoding::Gb18030,
                None,
                Some(tmp),
            )
        }
        encoding::Decision::Clean(enc) => (path.to_path_buf(), enc, None, None),
        encoding::Decision::Utf8WithInvalidBytes => {
            let tmp = copy()?;
            let (count, lines) = encoding::transcode_utf8_lossy(path, tmp.path())?;
            let repairs = EncodingRepairs {
                invalid_sequences: count,
                first_lines: lines,
            };
            (
                tmp.path().to_path_buf(),
                TextEncoding::Utf8,
                Some(repairs),
                Some(tmp),
            )
        }
    };
    let delimiter = {
        let mut head = Vec::new();
        std::fs::File::open(&source)
            .map_err(|e| AuditError::io(path, e))?
            .take(HEADER_BYTES)
            .read_to_end(&mut head)
            .map_err(|e| AuditError::io(path, e))?;
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
        Delimiter::detect(head)
    };
    Ok(Source {
        path: source,
        format: Format::Csv,
        delimiter,
        encoding: Some(encoding),
        sheet: None,
        sheet_rows: None,
        repairs,
        _copy: tmp,
    })
}

fn refuse_sheet(path: &Path, option: &str, sheet_name: Option<&str>) -> Result<()> {
    match sheet_name {
        Some(_) if option == "--cases" => Err(AuditError::input(
            path,
            "file",
            "--sheet names a sheet of an Excel workbook, and this file is not one; drop \
             --sheet, or give the workbook",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_decides_the_separator() {
        let d = |s: &str| Delimiter::detect(s.as_bytes());
        assert_eq!(d("case_id,hospital_id,total_cost\n1,2,3"), Delimiter::Comma);
        assert_eq!(
            d("case_id\thospital_id\ttotal_cost\r\n1\t2\t3"),
            Delimiter::Tab
        );
        assert_eq!(
            d("结算ID;定点医药机构编号;医疗费总额\n1;2;3,5"),
            Delimiter::Semicolon
        );
        assert_eq!(d("setl_id|fixmedins_code|medfee_sumamt\n"), Delimiter::Pipe);
        // A comma inside a quoted header is no separator; the data rows do not vote.
        assert_eq!(d("\"name, full\"\tb\tc\nx,y,z,w,v,u\t1\t2"), Delimiter::Tab);
        // One column, or an empty file: comma (the header check then names what is missing).
        assert_eq!(d("case_id\n1\n"), Delimiter::Comma);
        assert_eq!(d(""), Delimiter::Comma);
        // A tie goes to the comma.
        assert_eq!(d("a,b\tc\n"), Delimiter::Comma);
    }

    #[test]
    fn utf16_tab_text_is_prepared_as_utf8_with_tabs_in_the_scratch_folder() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = dir.path().join("staging");
        std::fs::create_dir(&scratch).unwrap();
        let text = "结算ID\t定点医药机构编号\r\nS1\tH1\r\n";
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let input = dir.path().join("cases.txt");
        std::fs::write(&input, &bytes).unwrap();
        let s = prepare(&input, "--cases", Some(&scratch), None).unwrap();
        assert_eq!(s.encoding, Some(TextEncoding::Utf16Le));
        assert_eq!(s.delimiter, Delimiter::Tab);
        assert!(
            s.path.starts_with(&scratch),
            "the copy is in the scratch folder"
        );
        assert_eq!(std::fs::read_to_string(&s.path).unwrap(), text);
        let copy = s.path.clone();
        drop(s);
        assert!(!copy.exists(), "the copy goes with the source");
        let e = prepare(&input, "--cases", Some(&scratch), Some("Sheet1"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--sheet"), "{e}");
    }
}
