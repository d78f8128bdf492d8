//! Excel workbooks (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`) as case tables, sub-tables and
//! catalogues, read with `calamine`.
//!
//! One sheet is read (the first worksheet, or `--sheet NAME`) and turned into the same text
//! cells a CSV export of it would hold, so every value parser, check and reject works as for
//! CSV: text as written; whole numbers without a decimal point (`1234`, not `1234.0`, so a
//! numeric id or level reads as in a CSV); other numbers in their shortest exact form; dates
//! as `YYYY-MM-DD` (with ` HH:MM:SS` when a time is set) — both the cells Excel formats as
//! dates and, in a date column, plain numbers (dates stored as serial numbers, as exports
//! that lose the cell format write them); error cells (`#N/A`) as empty. Rows are numbered
//! by their sheet row (the number Excel shows at the left), blank rows skipped; title rows
//! above the header are skipped too (see [`header_index`]).

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use calamine::{Data, Range, Reader, SheetType};

use super::layout::Layout;
use super::table::StringTable;
use crate::error::{AuditError, Result};
use crate::schema::{canonical_name, case_columns};

/// Whether a lower-case extension names a workbook calamine reads.
pub fn is_workbook_extension(ext: &str) -> bool {
    matches!(ext, "xlsx" | "xlsm" | "xlsb" | "xls" | "ods")
}

/// Whether the file starts like a workbook (a zip: `.xlsx`; an OLE compound file: `.xls`),
/// whatever its extension says.
pub fn has_workbook_signature(path: &Path) -> Result<bool> {
    let mut head = [0u8; 4];
    let n = std::fs::File::open(path)
        .map_err(|e| AuditError::io(path, e))?
        .read(&mut head)
        .map_err(|e| AuditError::io(path, e))?;
    Ok(n == 4 && (head == *b"PK\x03\x04" || head == [0xD0, 0xCF, 0x11, 0xE0]))
}

/// A sheet written out as CSV.
#[derive(Debug)]
pub struct Written {
    /// The sheet's name.
    pub sheet: String,
    /// Where record `i` of the copy sits in the sheet ([`Layout::line`] = its sheet row).
    pub rows: Layout,
}

/// The sheet `name` (default: the first worksheet) of the workbook at `path`, with its
/// name.
fn sheet_range(path: &Path, name: Option<&str>) -> Result<(String, Range<Data>)> {
    // calamine's messages can quote the file's XML: only say that it failed.
    let unreadable = || {
        AuditError::input(
            path,
            "file",
            "cannot be read as an Excel workbook (damaged, encrypted, or another format); \
             open it in Excel and save it again as .xlsx, or save the sheet as \"CSV UTF-8\"",
        )
    };
    let mut book = calamine::open_workbook_auto(path).map_err(|_| unreadable())?;
    let names: Vec<String> = book
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect();
    let chosen = match name {
        Some(n) => names
            .iter()
            .find(|s| s.as_str() == n)
            .or_else(|| {
                names
                    .iter()
                    .find(|s| s.trim().eq_ignore_ascii_case(n.trim()))
            })
            .cloned()
            .ok_or_else(|| {
                AuditError::input(
                    path,
                    "sheet",
                    format!(
                        "has no sheet named '{}'; its sheets are: {}",
                        super::pipeline::shorten(n),
                        names.join(", ")
                    ),
                )
            })?,
        None => names.first().cloned().ok_or_else(|| {
            AuditError::input(path, "sheet", "has no worksheet; save the table in a sheet")
        })?,
    };
    let range = book.worksheet_range(&chosen).map_err(|_| unreadable())?;
    if range.is_empty() {
        return Err(AuditError::input(
            path,
            format!("sheet '{chosen}'"),
            "is empty; give the sheet that holds the table (--sheet NAME)",
        ));
    }
    Ok((chosen, range))
}

/// The header of column `j` (0-based, from the sheet's first column): the cell's text, or
/// `column_<letter>` for a blank header cell (kept and ignored as an unknown column).
fn header_text(cell: &Data, sheet_col: u32) -> String {
    let text = cell_text(cell, false);
    let t = text.trim();
    if t.is_empty() {
        format!("column_{}", column_letter(sheet_col))
    } else {
        t.to_string()
    }
}

/// Excel's column letters: 0 → A, 25 → Z, 26 → AA.
fn column_letter(mut col: u32) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// How many rows of the range lie above the header: exports often put a title (and a date
/// line) above the table. The header is the first of the first 20 rows that fills at least
/// half the table's width (and two cells); a title fills one. Default: the first row.
fn header_index(range: &Range<Data>) -> usize {
    let need = (range.width() / 2).max(2);
    range
        .rows()
        .take(20)
        .position(|row| {
            row.iter()
                .filter(|c| !cell_text(c, false).trim().is_empty())
                .count()
                >= need
        })
        .unwrap_or(0)
}

fn is_blank_row(row: &[Data]) -> bool {
    row.iter().all(|c| cell_text(c, false).trim().is_empty())
}

/// Which columns are dates (their plain numbers are serial dates): the case table's
/// `admit_date` and `discharge_date` under any of their spellings.
fn date_columns(headers: &[String]) -> Vec<bool> {
    let spec = case_columns();
    headers
        .iter()
        .map(|h| {
            matches!(
                canonical_name(h, &spec),
                Some("admit_date" | "discharge_date")
            )
        })
        .collect()
}

/// A sheet's header: the sheet row index (0-based) it sits on, its texts and which columns
/// hold dates.
struct Head {
    top: u32,
    headers: Vec<String>,
    dates: Vec<bool>,
}

/// The header of a sheet's range (title rows above it skipped, see [`header_index`]).
fn head(range: &Range<Data>) -> Head {
    let (first, left) = range.start().unwrap_or((0, 0));
    let skip = header_index(range);
    let headers: Vec<String> = range
        .rows()
        .nth(skip)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(j, c)| header_text(c, left + j as u32))
        .collect();
    let dates = date_columns(&headers);
    Head {
        top: first + skip as u32,
        headers,
        dates,
    }
}

/// Writes sheet `name` (default: the first) of the workbook at `path` to `dst` as a UTF-8
/// CSV, one record per non-blank sheet row, every record as wide as the sheet.
pub fn write_csv(path: &Path, name: Option<&str>, dst: &Path) -> Result<Written> {
    let (sheet, range) = sheet_range(path, name)?;
    let Head {
        top,
        headers,
        dates,
    } = head(&range);
    let rows = range.rows().skip(header_index(&range) + 1);
    let file = std::fs::File::create(dst).map_err(|e| AuditError::io(dst, e))?;
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(std::io::BufWriter::with_capacity(1 << 20, file));
    let io = |e: csv::Error| AuditError::io(dst, std::io::Error::other(e.to_string()));
    w.write_record(&headers).map_err(io)?;
    let mut layout = Layout {
        header_fields: headers.len() as u32,
        ..Layout::default()
    };
    let mut record = 0u32;
    let mut cells: Vec<Cow<str>> = Vec::with_capacity(headers.len());
    for (i, row) in rows.enumerate() {
        if is_blank_row(row) {
            continue;
        }
        // Sheet row (1-based) of this record: the header is sheet row top + 1.
        let sheet_row = u64::from(top) + 2 + i as u64;
        let extra = sheet_row - u64::from(record) - 2;
        if extra != layout.breaks.last().map_or(0, |b| b.1) {
            layout.breaks.push((record, extra));
        }
        cells.clear();
        cells.extend(row.iter().zip(&dates).map(|(c, date)| cell_text(c, *date)));
        w.write_record(cells.iter().map(|c| c.as_bytes()))
            .map_err(io)?;
        record += 1;
    }
    w.flush().map_err(|e| AuditError::io(dst, e))?;
    Ok(Written {
        sheet,
        rows: layout,
    })
}

/// Reads sheet `name` (default: the first) into a small table (catalogues), each row with
/// its sheet row.
pub fn read_table(path: &Path, name: Option<&str>) -> Result<StringTable> {
    let (_, range) = sheet_range(path, name)?;
    let Head {
        top,
        headers,
        dates,
    } = head(&range);
    let rows = range.rows().skip(header_index(&range) + 1);
    let mut table = StringTable {
        headers,
        rows: Vec::new(),
        lines: Some(Vec::new()),
    };
    for (i, row) in rows.enumerate() {
        if is_blank_row(row) {
            continue;
        }
        table.rows.push(
            row.iter()
                .zip(&dates)
                .map(|(c, date)| {
                    let t = cell_text(c, *date);
                    (!t.trim().is_empty()).then(|| t.into_owned())
                })
                .collect(),
        );
        if let Some(lines) = &mut table.lines {
            lines.push(u64::from(top) + 2 + i as u64);
        }
    }
    Ok(table)
}

/// The text a CSV export would hold for a cell; `date` marks a date column, where a plain
/// number is a serial date.
pub fn cell_text(cell: &Data, date: bool) -> Cow<'_, str> {
    match cell {
        Data::Empty | Data::Error(_) => Cow::Borrowed(""),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cow::Borrowed(s),
        Data::Bool(b) => Cow::Borrowed(if *b { "1" } else { "0" }),
        Data::Int(i) if date => {
            serial_date(*i as f64).map_or(Cow::Owned(i.to_string()), Cow::Owned)
        }
        Data::Int(i) => Cow::Owned(i.to_string()),
        Data::Float(f) if date => {
            serial_date(*f).map_or_else(|| Cow::Owned(number_text(*f)), Cow::Owned)
        }
        Data::Float(f) => Cow::Owned(number_text(*f)),
        Data::DateTime(d) if d.is_datetime() => {
            Cow::Owned(date_text(d).unwrap_or_else(|| number_text(d.as_f64())))
        }
        Data::DateTime(d) => Cow::Owned(number_text(d.as_f64())),
    }
}

/// A number as a CSV export writes it: whole numbers without a decimal point, others in
/// their shortest form that reads back to the same value.
fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Serial numbers Excel accepts as dates (1900-01-01 to 9999-12-31).
const SERIAL_RANGE: std::ops::Range<f64> = 1.0..2_958_466.0;

/// An Excel serial date (1900 date system, as Windows Excel and WPS write it) as
/// `YYYY-MM-DD`, with ` HH:MM:SS` when it has a time part; `None` outside Excel's range.
pub fn serial_date(serial: f64) -> Option<String> {
    date_text(&calamine::ExcelDateTime::new(
        serial,
        calamine::ExcelDateTimeType::DateTime,
        false,
    ))
}

/// A date cell (in its workbook's 1900 or 1904 date system) as [`serial_date`] writes it.
fn date_text(d: &calamine::ExcelDateTime) -> Option<String> {
    if !SERIAL_RANGE.contains(&d.as_f64()) {
        return None;
    }
    let (y, m, day, h, min, s, _) = d.to_ymd_hms_milli();
    Some(if (h, min, s) == (0, 0, 0) {
        format!("{y:04}-{m:02}-{day:02}")
    } else {
        format!("{y:04}-{m:02}-{day:02} {h:02}:{min:02}:{s:02}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14: dates stored as Excel serial numbers read as the dates Excel shows.
    #[test]
    fn excel_serial_dates_are_the_dates_excel_shows() {
        assert_eq!(serial_date(45292.0).as_deref(), Some("2024-01-01"));
        assert_eq!(serial_date(45351.0).as_deref(), Some("2024-02-29"));
        assert_eq!(serial_date(45657.0).as_deref(), Some("2024-12-31"));
        assert_eq!(serial_date(1.0).as_deref(), Some("1900-01-01"));
        // After Excel's fictitious 1900-02-29 (serial 60) the count is right again.
        assert_eq!(serial_date(61.0).as_deref(), Some("1900-03-01"));
        assert_eq!(
            serial_date(45292.75).as_deref(),
            Some("2024-01-01 18:00:00")
        );
        assert_eq!(serial_date(0.0), None);
        assert_eq!(serial_date(3e6), None);
        // The 1904 system (Mac workbooks) counts 1,462 days fewer.
        let mac = calamine::ExcelDateTime::new(
            45292.0 - 1462.0,
            calamine::ExcelDateTimeType::DateTime,
            true,
        );
        assert_eq!(date_text(&mac).as_deref(), Some("2024-01-01"));
        // In a date column a plain number is a serial date; elsewhere it stays a number.
        assert_eq!(cell_text(&Data::Float(45292.0), true), "2024-01-01");
        assert_eq!(cell_text(&Data::Int(45293), true), "2024-01-02");
        assert_eq!(cell_text(&Data::Float(45292.0), false), "45292");
        assert_eq!(cell_text(&Data::Float(1234.5), false), "1234.5");
        assert_eq!(
            cell_text(&Data::Float(0.1 + 0.2), false),
            "0.30000000000000004"
        );
        // Text dates are left to the date parser; an error cell is empty.
        assert_eq!(
            cell_text(&Data::String("2024/1/5".into()), true),
            "2024/1/5"
        );
        assert_eq!(
            cell_text(&Data::Error(calamine::CellErrorType::NA), true),
            ""
        );
        let formatted = Data::DateTime(calamine::ExcelDateTime::new(
            45292.0,
            calamine::ExcelDateTimeType::DateTime,
            false,
        ));
        assert_eq!(cell_text(&formatted, false), "2024-01-01");
    }

    #[test]
    fn column_letters_count_like_excel() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    /// A sheet written by rust_xlsxwriter comes back with sheet rows as line numbers
    /// (blank rows skipped, a table that starts below a title row).
    #[test]
    fn a_sheet_becomes_csv_with_its_sheet_rows() {
        use rust_xlsxwriter::{Format, Workbook};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cases.xlsx");
        let mut book = Workbook::new();
        let first = book.add_worksheet().set_name("说明").unwrap();
        first.write_string(0, 0, "notes").unwrap();
        let s = book.add_worksheet().set_name("cases").unwrap();
        let date = Format::new().set_num_format("yyyy-mm-dd");
        // A title on sheet row 1, the header on sheet row 2.
        s.write_string(0, 0, "2024年结算清单").unwrap();
        s.write_string(1, 0, "setl_id").unwrap();
        s.write_string(1, 1, "adm_time").unwrap();
        s.write_string(1, 2, "medfee_sumamt").unwrap();
        s.write_string(2, 0, "S1").unwrap();
        s.write_number_with_format(2, 1, 45292.0, &date).unwrap();
        s.write_number(2, 2, 1234.5).unwrap();
        // Sheet row 4 blank; row 5 has a plain serial date and a text date.
        s.write_string(4, 0, "S2").unwrap();
        s.write_number(4, 1, 45293.0).unwrap();
        s.write_string(4, 2, "1,000").unwrap();
        s.write_string(5, 0, "S3").unwrap();
        s.write_string(5, 1, "2024/1/5").unwrap();
        book.save(&path).unwrap();

        let dst = dir.path().join("out.csv");
        let e = write_csv(&path, Some("nope"), &dst)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no sheet named 'nope'") && e.contains("cases"),
            "{e}"
        );
        let w = write_csv(&path, Some("cases"), &dst).unwrap();
        assert_eq!(w.sheet, "cases");
        let text = std::fs::read_to_string(&dst).unwrap();
        assert_eq!(
            text,
            "setl_id,adm_time,medfee_sumamt\nS1,2024-01-01,1234.5\nS2,2024-01-02,\"1,000\"\nS3,2024/1/5,\n"
        );
        assert_eq!(
            (w.rows.line(0), w.rows.line(1), w.rows.line(2)),
            (3, 5, 6),
            "sheet rows"
        );
        let t = read_table(&path, Some("cases")).unwrap();
        assert_eq!(t.headers[1], "adm_time");
        assert_eq!(t.lines.as_deref(), Some(&[3u64, 5, 6][..]));
        assert_eq!(t.rows[2][2], None);
        // The first worksheet by default.
        assert_eq!(write_csv(&path, None, &dst).unwrap().sheet, "说明");
    }
}
