//! Ingest: the case table (CSV or Parquet) into typed columns, with every unusable row
//! reported in `rejects.csv` and counts that reconcile (rows read = analysed + rejected).
//!
//! The file is read by polars' lazy engine in streaming mode: every column is read as text
//! and parsed by our own value parsers ([`values`]) inside the stream, so only typed values
//! are ever held for the whole file. A reason column computed in the same pass names the
//! first unusable field of each row. Rows are then checked for what needs the whole table
//! (duplicate `case_id`, `group_code` absent from the catalogue) and interned into
//! [`Cases`].

pub mod encoding;
pub mod groups;
pub mod sheet;
pub mod source;
pub mod table;
pub mod typed;
pub mod values;

mod assemble;
pub mod layout;
mod pieces;
mod pipeline;
#[cfg(test)]
mod proptests;
mod subtables;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::schema::FEE_COLUMNS;
use values::Day;

pub use pipeline::{read_cases, read_cases_in};

/// How a case table is read (see [`read_cases_in`]).
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions<'a> {
    /// Folder for a transcoded copy of a GB18030 or repaired UTF-8 file: the run's staging
    /// folder beside `--out`, so the copy (the whole table, patient ids included) never lands
    /// in the system temp folder and a killed run's copy goes with its staging folder.
    /// `None` = the system temp folder (benchmarks, tests).
    pub scratch: Option<&'a Path>,
    /// The largest `total_cost` of one stay accepted, in yuan (`[data] max_stay_cost_yuan`).
    pub max_stay_cost_yuan: f64,
    /// Where the case table's codes come from and which sheet of a workbook is read.
    pub tables: CaseTables<'a>,
}

/// The settlement list as the national platform exports it: the settlement table plus its
/// diagnosis and procedure tables joined on `setl_id` (`--diagnoses`, `--procedures`), and
/// the sheet of a workbook to read (`--sheet`; default the first).
#[derive(Debug, Clone, Copy, Default)]
pub struct CaseTables<'a> {
    /// `--sheet`: the sheet of an Excel case table (and of the sub-tables when they are
    /// workbooks too); `None` = the first sheet.
    pub sheet: Option<&'a str>,
    /// `--diagnoses`: `setl_id, diag_code, maindiag_flag` (or `diag_type`).
    pub diagnoses: Option<&'a Path>,
    /// `--diagnoses-sheet`: its sheet when it is a workbook (default: the first).
    pub diagnoses_sheet: Option<&'a str>,
    /// `--procedures`: `setl_id, oprn_oprt_code, main_oprn_flag`.
    pub procedures: Option<&'a Path>,
    /// `--procedures-sheet`: its sheet when it is a workbook (default: the first).
    pub procedures_sheet: Option<&'a str>,
}

impl Default for ReadOptions<'_> {
    fn default() -> Self {
        ReadOptions {
            scratch: None,
            max_stay_cost_yuan: values::MAX_STAY_COST_YUAN,
            tables: CaseTables::default(),
        }
    }
}

impl<'a> ReadOptions<'a> {
    /// The options of a run under `config`, with its scratch folder.
    pub fn of(config: &crate::config::RegionConfig, scratch: Option<&'a Path>) -> Self {
        ReadOptions {
            scratch,
            max_stay_cost_yuan: config.data.max_stay_cost_yuan,
            tables: CaseTables::default(),
        }
    }

    /// The same options reading the case table from `tables`.
    pub fn with_tables(self, tables: CaseTables<'a>) -> Self {
        ReadOptions { tables, ..self }
    }
}

/// Sentinel for "no value" in `u32` index columns.
pub const NONE_U32: u32 = u32::MAX;

/// A hospital as the case table describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hospital {
    /// `hospital_id` as written (trimmed).
    pub id: String,
    /// `hospital_name`, or empty.
    pub name: String,
    /// Level 1/2/3 (the peer group); `None` when the file has no level column.
    pub level: Option<u8>,
}

/// Many short strings in one buffer (ids, codes): no allocation per value.
#[derive(Debug, Clone, Default)]
pub struct TextColumn {
    bytes: String,
    ends: Vec<u64>,
}

impl TextColumn {
    /// An empty column with room for `n` values.
    pub fn with_capacity(n: usize) -> Self {
        TextColumn {
            bytes: String::with_capacity(n * 12),
            ends: Vec::with_capacity(n),
        }
    }
    /// Appends a value.
    pub fn push(&mut self, s: &str) {
        self.bytes.push_str(s);
        self.ends.push(self.bytes.len() as u64);
    }
    /// The value at `i`.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes[start..self.ends[i] as usize]
    }
    /// Number of values.
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// Interned diagnosis codes: each distinct code once, cases refer to it by index.
#[derive(Debug, Clone, Default)]
pub struct CodeBook {
    /// The distinct codes.
    pub codes: Vec<String>,
}

/// Per-case lists of code indexes, flattened (`offsets[i]..offsets[i+1]` belong to case `i`).
#[derive(Debug, Clone, Default)]
pub struct CodeLists {
    /// Code indexes into the [`CodeBook`].
    pub items: Vec<u32>,
    /// `len + 1` offsets.
    pub offsets: Vec<u32>,
}

impl CodeLists {
    /// The codes of case `i`; none for every case of an empty list set (a column the
    /// file did not have).
    pub fn of(&self, i: usize) -> &[u32] {
        if self.offsets.is_empty() {
            return &[];
        }
        &self.items[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

/// The usable cases, one entry per analysed row, in file order.
#[derive(Debug, Clone, Default)]
pub struct Cases {
    /// Hospitals, indexed by [`Cases::hospital`].
    pub hospitals: Vec<Hospital>,
    /// Line (CSV) or row (Parquet) number of each case in the input, 1-based.
    pub line: Vec<u64>,
    /// `case_id` values.
    pub case_id: TextColumn,
    /// Hospital index of each case.
    pub hospital: Vec<u32>,
    /// Patient index (patients are interned and never kept in clear).
    pub patient: Vec<u32>,
    /// Number of distinct patients.
    pub n_patients: usize,
    /// Admission day.
    pub admit: Vec<Day>,
    /// Discharge day (decides the settlement period).
    pub discharge: Vec<Day>,
    /// Length of stay in days (given, or discharge − admit with same-day stays as 1).
    pub los: Vec<u32>,
    /// Catalogue group index.
    pub group: Vec<u32>,
    /// Total cost in yuan.
    pub cost: Vec<f64>,
    /// Main diagnosis code index, [`NONE_U32`] when absent.
    pub main_diagnosis: Vec<u32>,
    /// Secondary diagnosis code indexes.
    pub secondary: CodeLists,
    /// Procedure codes listed per case (`main_procedure` first, then `other_procedures`);
    /// no lists at all (see [`CodeLists::of`]) when the file has neither column.
    pub procedures: CodeLists,
    /// The code book behind `main_diagnosis`, `secondary` and `procedures`.
    pub codes: CodeBook,
    /// Discharge disposition (0 = not given).
    pub disposition: Vec<u8>,
    /// Discharge department (`department`, 出院科别) index into [`Cases::departments`],
    /// [`NONE_U32`] when absent or empty; all [`NONE_U32`] when the file has no column.
    pub department: Vec<u32>,
    /// The distinct departments, in order of first sight.
    pub departments: Vec<String>,
    /// Attending physician (`physician_id`, 主诊医师代码) index into
    /// [`Cases::physicians`], [`NONE_U32`] when absent or empty.
    pub physician: Vec<u32>,
    /// The distinct physician codes, in order of first sight.
    pub physicians: Vec<String>,
    /// Planned readmission flag (31 days), false when not given.
    pub planned: Vec<bool>,
    /// The 14 fee categories in [`FEE_COLUMNS`] order; `None` for a column the file lacks.
    pub fees: Vec<Option<Vec<f32>>>,
    /// Which optional columns the file had.
    pub has_column: BTreeMap<String, bool>,
}

impl Cases {
    /// Number of cases.
    pub fn len(&self) -> usize {
        self.group.len()
    }
    /// Whether there are no cases.
    pub fn is_empty(&self) -> bool {
        self.group.is_empty()
    }
    /// Whether the input had this canonical column.
    pub fn has(&self, canonical: &str) -> bool {
        self.has_column.get(canonical).copied().unwrap_or(false)
    }
    /// A fee category column by canonical name.
    pub fn fee(&self, name: &str) -> Option<&[f32]> {
        let i = FEE_COLUMNS.iter().position(|f| *f == name)?;
        self.fees.get(i)?.as_deref()
    }
}

/// One rejected input row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reject {
    /// 1-based line (CSV, header = line 1), sheet row (Excel) or row (Parquet) number, in
    /// [`Reject::file`].
    pub line: u64,
    /// The row's `case_id` (a sub-table row's `setl_id`) as written, if any.
    pub case_id: String,
    /// The first column at fault.
    pub column: String,
    /// Every problem found in the row, `; `-separated.
    pub reason: String,
    /// The file name of the table the row is in (the case table, `--diagnoses` or
    /// `--procedures`): sub-table rows are reported beside the settlements.
    pub file: String,
    /// A stay whose group has no weight (an ungroupable group): counted apart, not a data
    /// error, so it does not count towards `--max-reject-share`.
    #[serde(skip)]
    pub ungroupable: bool,
}

/// Input file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Delimited text (comma, tab, semicolon or `|`).
    Csv,
    /// Apache Parquet.
    Parquet,
    /// An Excel workbook (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`), one sheet read.
    Excel,
}

/// What ingest saw, for `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct IngestStats {
    /// The input file.
    pub path: PathBuf,
    /// CSV or Parquet.
    pub format: Format,
    /// Detected text encoding (CSV only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<encoding::TextEncoding>,
    /// Detected field separator (CSV only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<source::Delimiter>,
    /// The sheet read (Excel only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// Data rows in the file.
    pub rows_read: u64,
    /// Rows kept for analysis.
    pub rows_analysed: u64,
    /// Rows of the case table in `rejects.csv` (the ungroupable stays included).
    pub rows_rejected: u64,
    /// Of the rejected rows, stays whose group has no weight in the catalogue (an
    /// ungroupable group such as `QY`): not analysed, not a data error.
    pub rows_ungroupable: u64,
    /// The diagnosis and procedure tables joined on `setl_id` (`--diagnoses`,
    /// `--procedures`); their rejected rows are in `rejects.csv` too, after the case table's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sub_tables: Vec<SubTableStats>,
    /// Rejected rows by the first column at fault.
    pub rejected_by_column: BTreeMap<String, u64>,
    /// Optional cells that could not be read and were treated as absent, by column.
    pub unreadable_optional_cells: BTreeMap<String, u64>,
    /// Hospitals whose rows disagree on the level (the most frequent level is used).
    pub hospitals_with_conflicting_level: Vec<String>,
    /// Canonical column → header as written in the file.
    pub columns: BTreeMap<String, String>,
    /// Headers that matched no contract column (kept and ignored).
    pub unknown_columns: Vec<String>,
    /// A UTF-8 file with a few invalid bytes: read as UTF-8 with them replaced (U+FFFD in
    /// the cells that held them), here counted with the first lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid_utf8: Option<EncodingRepairs>,
    /// A typed Parquet (`drg-audit convert`): the file name of the table it was converted
    /// from, whose lines its rejects name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converted_from: Option<String>,
}

/// A diagnosis or procedure table as it was read and joined.
#[derive(Debug, Clone, Serialize)]
pub struct SubTableStats {
    /// `diagnoses` or `procedures`.
    pub role: &'static str,
    /// The file.
    pub path: PathBuf,
    /// CSV or Excel.
    pub format: Format,
    /// Detected text encoding (CSV only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<encoding::TextEncoding>,
    /// Detected field separator (CSV only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<source::Delimiter>,
    /// The sheet read (Excel only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// Data rows in the file.
    pub rows_read: u64,
    /// Rows joined to a settlement.
    pub rows_joined: u64,
    /// Rows in `rejects.csv` (no settlement with that `setl_id`, an empty code or flag).
    pub rows_rejected: u64,
    /// Settlements rejected because this table gives them two or more main codes.
    pub settlements_with_two_mains: u64,
}

/// Invalid UTF-8 bytes replaced while reading.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EncodingRepairs {
    /// Invalid sequences replaced.
    pub invalid_sequences: u64,
    /// The first lines (at most 20) holding one.
    pub first_lines: Vec<u64>,
}

/// Ingest's output: the cases, the rejects and the statistics.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// Usable cases.
    pub cases: Cases,
    /// Rejected rows, in file order.
    pub rejects: Vec<Reject>,
    /// Counts for the summary.
    pub stats: IngestStats,
}

/// What `convert` wrote.
#[derive(Debug)]
pub struct Converted {
    /// The case table checked as a run reads it: its counts and rejects.
    pub ingested: Ingested,
    /// Bytes of the typed Parquet.
    pub bytes: u64,
}

/// Reads the case table at `path` as `run` reads it, checks it against the catalogue as
/// `run` does (the same rejects and counts; nothing is written when no row is usable), then
/// stores the read as a typed Parquet at `out` (see [`typed`]). A run on `out` gives the
/// audit of a run on `path`, without parsing its text again.
pub fn convert(
    path: &Path,
    out: &Path,
    catalog: &crate::catalog::Catalog,
    opts: &ReadOptions,
) -> crate::error::Result<Converted> {
    let rows = match pipeline::convert_read(path, out, catalog, opts)? {
        pipeline::ConvertRead::Done(ingested, bytes) => {
            return Ok(Converted {
                ingested: *ingested,
                bytes,
            });
        }
        pipeline::ConvertRead::Whole(rows) => *rows,
    };
    let marker = typed::Marker::new(
        rows.reject_file.clone(),
        &rows.mapping,
        rows.places.clone(),
        opts.max_stay_cost_yuan,
    );
    let df = rows.df.clone();
    let ingested = pipeline::ingest_rows(rows, path, catalog, opts)?;
    let bytes = typed::write(df, &marker, out)?;
    Ok(Converted { ingested, bytes })
}

/// Default for `--max-reject-share`: above 5 % rejected rows the input is refused.
pub const DEFAULT_MAX_REJECT_SHARE: f64 = 0.05;

/// Refuses an input of which more than `limit` of the rows were rejected: a file mostly in
/// a form the reader does not know (say every date as `1/5/2024`) must not quietly become an
/// audit of its few readable rows. The line says the share, the most common column at fault
/// with the first line where it happens, and the fix. No cell value is quoted (a shifted
/// row can put a patient id anywhere).
pub fn check_reject_share(ingested: &Ingested, limit: f64) -> crate::error::Result<()> {
    let s = &ingested.stats;
    // A diagnosis table keyed on the wrong column joins nothing: the audit would quietly run
    // without diagnoses.
    for t in &s.sub_tables {
        if t.rows_read > 0 && t.rows_rejected as f64 > limit * t.rows_read as f64 {
            let first = ingested
                .rejects
                .iter()
                .find(|r| r.file == file_name(&t.path))
                .map_or(0, |r| r.line);
            return Err(crate::error::AuditError::input(
                &t.path,
                format!("line {first}"),
                format!(
                    "{:.1} % of the rows ({} of {}) cannot be joined, above the {:.1} % limit \
                     (the first on line {first}); check that its setl_id column holds the \
                     settlement table's setl_id, or pass --allow-rejects",
                    100.0 * t.rows_rejected as f64 / t.rows_read as f64,
                    t.rows_rejected,
                    t.rows_read,
                    100.0 * limit,
                ),
            ));
        }
    }
    // Ungroupable stays are not data errors: they count neither as rejected nor as read.
    let read = s.rows_read - s.rows_ungroupable;
    let rejected = s.rows_rejected - s.rows_ungroupable;
    if read == 0 || rejected as f64 <= limit * read as f64 {
        return Ok(());
    }
    let mut by_column: BTreeMap<&str, u64> = BTreeMap::new();
    let cases_file = ingested.cases_file();
    for r in ingested
        .rejects
        .iter()
        .filter(|r| !r.ungroupable && r.file == cases_file)
    {
        *by_column.entry(r.column.as_str()).or_default() += 1;
    }
    let (column, n) = by_column
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(c, n)| (*c, *n))
        .unwrap_or(("?", rejected));
    let first = ingested
        .rejects
        .iter()
        .find(|r| r.column == column && !r.ungroupable)
        .map_or(0, |r| r.line);
    Err(crate::error::AuditError::input(
        &s.path,
        format!("line {first}"),
        format!(
            "{:.1} % of the rows ({} of {}) cannot be used, above the {:.1} % limit; most often \
             {column} ({n} rows, the first on line {first}); fix the file, or pass \
             --allow-rejects to audit the usable rows and list the others in rejects.csv",
            100.0 * rejected as f64 / read as f64,
            rejected,
            read,
            100.0 * limit,
        ),
    ))
}

impl Ingested {
    /// The file name the case table's rejects carry in [`Reject::file`].
    pub fn cases_file(&self) -> String {
        match &self.stats.converted_from {
            Some(source) => source.clone(),
            None => file_name(&self.stats.path),
        }
    }
}

/// The file name of `path` (what a reject names: never the folders, which may hold a user
/// name).
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Decides the format from the file extension.
pub fn format_of(path: &Path) -> Format {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
    {
        Some(e) if e == "parquet" || e == "pq" => Format::Parquet,
        Some(e) if sheet::is_workbook_extension(&e) => Format::Excel,
        _ => Format::Csv,
    }
}
