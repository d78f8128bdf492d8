//! The streaming read: text columns → typed columns + a reason column, then whole-table
//! checks and interning.

use std::path::Path;

use polars::io::RowIndex;
use polars::prelude::*;

use super::layout;
use super::source;
use super::subtables;
use super::values::{self, Day};
use super::{Format, Ingested, ReadOptions};
use crate::catalog::Catalog;
use crate::error::{AuditError, Result};
use crate::schema::{ColumnMapping, FEE_COLUMNS, case_columns, map_headers};

pub(super) const ROW: &str = "__row";
pub(super) const REASON: &str = "__reason";
pub(super) const WARN: &str = "__unreadable";
/// Separates the column name from the message inside the reason column.
pub(super) const SEP: char = '\u{1f}';

/// Required columns checked by the reason column, with their parser.
const CHECKED: [&str; 7] = [
    "case_id",
    "hospital_id",
    "patient_id",
    "admit_date",
    "discharge_date",
    "group_code",
    "total_cost",
];

/// Optional columns whose unreadable cells are counted (and treated as absent).
const SOFT: [&str; 3] = [
    "los_days",
    "discharge_disposition",
    "planned_readmission_31d",
];

/// Reads the case table at `path` against the catalogue.
pub fn read_cases(path: &Path, catalog: &Catalog) -> Result<Ingested> {
    read_cases_in(path, catalog, &ReadOptions::default())
}

/// [`read_cases`] with a run's [`ReadOptions`]: where a transcoded copy goes and the bounds
/// of a row's values.
pub fn read_cases_in(path: &Path, catalog: &Catalog, opts: &ReadOptions) -> Result<Ingested> {
    // GB18030, UTF-16 and workbook input becomes a UTF-8 copy in the scratch folder that
    // lives until the read ends (see `source`).
    let src = source::prepare(path, "--cases", opts.scratch, opts.tables.sheet)?;
    // A plain CSV with no sub-tables to join is checked and built piece by piece as it is
    // read: the typed table is never whole in memory.
    let mut pieces = true;
    let no_sub_tables = opts.tables.diagnoses.is_none() && opts.tables.procedures.is_none();
    if src.engine_format() == Format::Parquet
        && no_sub_tables
        && let Some(marker) = super::typed::marker(path)?
        && let Some(ingested) = build_typed_in_slices(path, &marker, catalog, opts)?
    {
        return Ok(ingested);
    }
    if src.engine_format() == Format::Csv && src.sheet_rows.is_none() && no_sub_tables {
        match build_in_pieces(path, &src, catalog, opts, &mut |_, _| Ok(()))? {
            Built::Cases(ingested) => return Ok(*ingested),
            // Duplicate case ids: the read in pieces, stacked, then the whole-table checks.
            Built::Duplicates => {}
            Built::Whole => pieces = false,
        }
    }
    ingest_rows(
        read_rows_from(path, opts, src, pieces)?,
        path,
        catalog,
        opts,
    )
}

/// A typed Parquet ([`super::typed`]) read in slices, each checked and built as it comes
/// ([`super::assemble::Streaming`]); `None` when rows share a `case_id` (the whole read
/// checks them then).
fn build_typed_in_slices(
    path: &Path,
    marker: &super::typed::Marker,
    catalog: &Catalog,
    opts: &ReadOptions,
) -> Result<Option<Ingested>> {
    let mut tr = crate::progress::Trace::new("ingest");
    let mut built: Option<super::assemble::Streaming> = None;
    let mut sink = |df: DataFrame, mapping: &ColumnMapping, rows: usize| -> Result<()> {
        let with = (path, catalog, &marker.places);
        super::assemble::Streaming::feed(&mut built, with, df, mapping, rows)
    };
    super::typed::read_slices(path, marker, opts.max_stay_cost_yuan, &mut sink)?;
    let Some(built) = built else {
        return Ok(None);
    };
    tr.mark("typed Parquet read, checked and built in slices");
    let Some(mut ingested) = built.finish(Format::Parquet, None)? else {
        return Ok(None);
    };
    tr.mark("merged");
    for r in &mut ingested.rejects {
        r.file.clone_from(&marker.source);
    }
    ingested.stats.converted_from = Some(marker.source.clone());
    Ok(Some(ingested))
}

/// What [`convert_read`] gave.
pub(super) enum ConvertRead {
    /// Converted piece by piece: the cases and the typed table's size in bytes.
    Done(Box<Ingested>, u64),
    /// Not read so: the rows of the whole read, for `convert` to check and write.
    Whole(Box<Rows>),
}

/// `convert`'s read. A plain CSV with no sub-tables: each piece of the read in pieces is
/// written to the typed table and built as it comes, so neither the typed table nor the text
/// is ever whole in memory. Otherwise (a workbook, sub-tables, quotes, duplicate case ids;
/// nothing written by the pieces then) the whole read's rows, from the same prepared source.
pub(super) fn convert_read(
    path: &Path,
    out: &Path,
    catalog: &Catalog,
    opts: &ReadOptions,
) -> Result<ConvertRead> {
    let src = source::prepare(path, "--cases", opts.scratch, opts.tables.sheet)?;
    if src.engine_format() != Format::Csv
        || src.sheet_rows.is_some()
        || opts.tables.diagnoses.is_some()
        || opts.tables.procedures.is_some()
    {
        return Ok(ConvertRead::Whole(Box::new(read_rows_from(
            path, opts, src, true,
        )?)));
    }
    let mut writer: Option<super::typed::Writer> = None;
    let mut tee = |df: &DataFrame, mapping: &ColumnMapping| -> Result<()> {
        let w = match &mut writer {
            Some(w) => w,
            None => {
                let marker = super::typed::Marker::new(
                    super::file_name(path),
                    mapping,
                    layout::RowPlaces::simple(2),
                    opts.max_stay_cost_yuan,
                );
                writer.insert(super::typed::Writer::new(&marker, out)?)
            }
        };
        w.write(df)
    };
    let built = build_in_pieces(path, &src, catalog, opts, &mut tee)?;
    // Whatever the pieces wrote is dropped (its temporary file with it) unless they built
    // the cases.
    let pieces = !matches!(built, Built::Whole);
    match (built, writer) {
        (Built::Cases(ingested), Some(w)) => Ok(ConvertRead::Done(ingested, w.finish()?)),
        _ => Ok(ConvertRead::Whole(Box::new(read_rows_from(
            path, opts, src, pieces,
        )?))),
    }
}

/// What [`build_in_pieces`] gave.
enum Built {
    /// The cases.
    Cases(Box<Ingested>),
    /// Rows that passed the row checks share a `case_id`: check the table whole.
    Duplicates,
    /// The file is not read in pieces (see [`super::pieces`]).
    Whole,
}

/// The read in pieces with each piece checked and built as it comes
/// ([`super::assemble::Streaming`]).
/// `tee` sees each piece first (`convert` writes it).
fn build_in_pieces(
    path: &Path,
    src: &source::Source,
    catalog: &Catalog,
    opts: &ReadOptions,
    tee: &mut dyn FnMut(&DataFrame, &ColumnMapping) -> Result<()>,
) -> Result<Built> {
    let mut tr = crate::progress::Trace::new("ingest");
    let places = layout::RowPlaces::simple(2);
    let mut built: Option<super::assemble::Streaming> = None;
    let mut sink = |df: DataFrame, mapping: &ColumnMapping, expected: usize| -> Result<()> {
        tee(&df, mapping)?;
        super::assemble::Streaming::feed(
            &mut built,
            (path, catalog, &places),
            df,
            mapping,
            expected,
        )
    };
    let sep = src.delimiter.byte();
    let max_cost = opts.max_stay_cost_yuan;
    match super::pieces::read(path, &src.path, sep, max_cost, &mut sink) {
        super::pieces::Pieces::Read(_) => {}
        super::pieces::Pieces::Refused(e) => return Err(e),
        super::pieces::Pieces::Whole => return Ok(Built::Whole),
    }
    let Some(built) = built else {
        return Ok(Built::Whole);
    };
    tr.mark("read, checked and built in pieces");
    let Some(mut ingested) = built.finish(src.format, src.encoding)? else {
        return Ok(Built::Duplicates);
    };
    tr.mark("merged");
    let file = super::file_name(path);
    for r in &mut ingested.rejects {
        r.file.clone_from(&file);
    }
    let stats = &mut ingested.stats;
    stats.invalid_utf8 = src.repairs.clone();
    stats.delimiter = src.reported_delimiter();
    stats.sheet = src.sheet.clone();
    Ok(Built::Cases(Box::new(ingested)))
}

/// The rest of ingest after [`read_rows_from`]: the sub-tables joined, then the whole-table checks
/// (duplicates, catalogue) and interning.
pub(super) fn ingest_rows(
    rows: Rows,
    path: &Path,
    catalog: &Catalog,
    opts: &ReadOptions,
) -> Result<Ingested> {
    let mut mapping = rows.mapping;
    let joined = subtables::join(rows.df, &mut mapping, path, &opts.tables, opts.scratch)?;
    let t = std::time::Instant::now();
    let mut out = super::assemble::assemble(
        joined.df,
        path,
        rows.format,
        rows.encoding,
        &mapping,
        catalog,
        &rows.places,
    );
    if let Ok(ingested) = &mut out {
        for r in &mut ingested.rejects {
            r.file.clone_from(&rows.reject_file);
        }
        ingested.rejects.extend(joined.rejects);
        let stats = &mut ingested.stats;
        stats.invalid_utf8 = rows.repairs;
        stats.delimiter = rows.delimiter;
        stats.sheet = rows.sheet;
        stats.sub_tables = joined.stats;
        stats.converted_from = rows.converted_from;
    }
    if std::env::var_os("DRG_AUDIT_TRACE").is_some() {
        eprintln!(
            "ingest: checks and interning {} ms",
            t.elapsed().as_millis()
        );
    }
    out
}

/// The case table after the streaming read and the row checks, before the whole-table
/// checks: what `convert` stores and `run` goes on with.
pub(super) struct Rows {
    /// Typed columns with the row number, reason and unreadable columns, sorted by row.
    pub df: DataFrame,
    /// How the table's headers map to the contract.
    pub mapping: ColumnMapping,
    /// Where each row sits in the table.
    pub places: layout::RowPlaces,
    /// The file name the table's rejects carry.
    pub reject_file: String,
    /// The format as the user gave it.
    pub format: Format,
    /// Text encoding (text input only).
    pub encoding: Option<super::encoding::TextEncoding>,
    /// Invalid UTF-8 bytes replaced.
    pub repairs: Option<super::EncodingRepairs>,
    /// The field separator (text input only).
    pub delimiter: Option<source::Delimiter>,
    /// The sheet read (workbooks only).
    pub sheet: Option<String>,
    /// The table a typed Parquet was converted from.
    pub converted_from: Option<String>,
}

/// The streaming read of the case table at `path` from its prepared source (`source`):
/// its text parsed once by the value parsers, or, for a typed Parquet that `convert` wrote,
/// that parse read back; `pieces`: whether a CSV may be read in pieces (not when that was
/// just tried and refused).
fn read_rows_from(
    path: &Path,
    opts: &ReadOptions,
    src: source::Source,
    pieces: bool,
) -> Result<Rows> {
    let max_cost = opts.max_stay_cost_yuan;
    let format = src.engine_format();
    if format == Format::Parquet
        && let Some(marker) = super::typed::marker(path)?
    {
        let t = std::time::Instant::now();
        let (df, mapping, places) = super::typed::read(path, &marker, max_cost)?;
        if std::env::var_os("DRG_AUDIT_TRACE").is_some() {
            eprintln!("ingest: typed Parquet read {} ms", t.elapsed().as_millis());
        }
        return Ok(Rows {
            df,
            mapping,
            places,
            reject_file: marker.source.clone(),
            format: Format::Parquet,
            encoding: None,
            repairs: None,
            delimiter: None,
            sheet: None,
            converted_from: Some(marker.source),
        });
    }
    let sep = src.delimiter.byte();
    let source = src.path.clone();
    let text_rows = |df, mapping, places| Rows {
        df,
        mapping,
        places,
        reject_file: super::file_name(path),
        format: src.format,
        encoding: src.encoding,
        repairs: src.repairs.clone(),
        delimiter: src.reported_delimiter(),
        sheet: src.sheet.clone(),
        converted_from: None,
    };
    // A CSV without a quote is read in pieces, so the file is never mapped whole.
    if pieces && format == Format::Csv && src.sheet_rows.is_none() {
        let mut tr = crate::progress::Trace::new("ingest");
        let mut stack = super::pieces::Stack::default();
        let mut sink = |df: DataFrame, _: &ColumnMapping, _: usize| -> Result<()> {
            stack.push(df).map_err(|e| AuditError::engine(path, e))
        };
        match super::pieces::read(path, &source, sep, max_cost, &mut sink) {
            super::pieces::Pieces::Read(mapping) => {
                if let Some(df) = stack.0 {
                    tr.mark("read and parse in pieces");
                    return Ok(text_rows(df, mapping, layout::RowPlaces::simple(2)));
                }
            }
            super::pieces::Pieces::Refused(e) => return Err(e),
            super::pieces::Pieces::Whole => {}
        }
    }
    // Records that span lines (quoted line breaks) are placed by a byte scan, on a second
    // thread while the engine reads; a file without a quote needs none, and a workbook's
    // copy has its rows placed on their sheet rows already.
    let scanning = std::thread::scope(|scope| {
        let layout = scope.spawn(|| -> Result<Option<layout::Layout>> {
            if format == Format::Csv && src.sheet_rows.is_none() && layout::has_quote(&source)? {
                Ok(Some(layout::scan(&source, sep)?))
            } else {
                Ok(None)
            }
        });
        let read = read_typed(path, &source, format, false, max_cost, sep);
        (read, layout.join())
    });
    let (read, scanned) = scanning;
    let mut scanned = scanned.map_err(|_| {
        AuditError::input(
            path,
            "file",
            "the layout scan failed; check the file is a CSV",
        )
    })??;
    let read = match read {
        Ok(r) => Ok(r),
        Err(ReadFailure::Engine(message)) if format == Format::Csv => {
            // The engine names no line, and its message may quote a whole row (patient id
            // included): find the line ourselves.
            let layout = match scanned.take() {
                Some(l) => l,
                None => layout::scan(&source, sep)?,
            };
            if let Some(line) = layout.open_quote_line {
                return Err(AuditError::input(
                    path,
                    format!("line {line}"),
                    "a quote (\") opens a field that never closes; close the quote or remove it",
                ));
            }
            if layout.ragged.is_empty() {
                return Err(AuditError::engine(path, redact(&message)));
            }
            // Rows with more fields than the header: read them truncated, reject them below.
            let again = read_typed(path, &source, format, true, max_cost, sep);
            scanned = Some(layout);
            again
        }
        Err(ReadFailure::Engine(message)) => Err(ReadFailure::Engine(message)),
        Err(ReadFailure::Other(e)) => return Err(e),
    };
    let (df, mapping) = match read {
        Ok(r) => r,
        Err(ReadFailure::Engine(message)) => {
            return Err(AuditError::engine(path, redact(&message)));
        }
        Err(ReadFailure::Other(e)) => return Err(e),
    };
    let places = match (scanned, &src.sheet_rows) {
        (_, Some(rows)) => layout::RowPlaces::scanned(rows.clone()),
        (Some(l), None) => layout::RowPlaces::scanned(l),
        (None, None) => layout::RowPlaces::simple(match format {
            Format::Parquet => 1,
            _ => 2,
        }),
    };
    Ok(text_rows(df, mapping, places))
}

/// Why the engine's read failed.
pub(super) enum ReadFailure {
    /// The CSV engine refused the file (its message, not yet shown to anyone).
    Engine(String),
    /// A problem already phrased for the user (a missing column).
    Other(AuditError),
}

/// The engine's message without what it quotes from the file: it can print a whole row,
/// patient id included, between backticks or quotes.
fn redact(message: &str) -> String {
    let cut = message.find(['`', '"', '\'']).unwrap_or(message.len());
    let head = message[..cut].trim_end_matches([' ', ':', '(']);
    if cut < message.len() {
        format!("{head} (the row's content is not shown)")
    } else {
        head.to_string()
    }
}

/// The streaming read into typed columns, sorted by row.
pub(super) fn read_typed(
    path: &Path,
    source: &Path,
    format: Format,
    truncate_ragged: bool,
    max_cost: f64,
    sep: u8,
) -> std::result::Result<(DataFrame, ColumnMapping), ReadFailure> {
    let engine = |e: PolarsError| ReadFailure::Engine(e.to_string());
    let mut lf = scan(source, format, truncate_ragged, sep).map_err(engine)?;
    let schema = lf.collect_schema().map_err(engine)?;
    let headers: Vec<String> = schema
        .iter_names()
        .filter(|n| n.as_str() != ROW)
        .map(|n| n.to_string())
        .collect();
    let mapping = map_headers(&headers, &case_columns())
        .map_err(|p| ReadFailure::Other(p.into_error(path)))?;

    let t = std::time::Instant::now();
    let df = typed_plan(lf, &mapping, format, max_cost)
        .collect_with_engine(Engine::Streaming)
        .map_err(engine)?;
    let df = sorted_by_row(df).map_err(engine)?;
    if std::env::var_os("DRG_AUDIT_TRACE").is_some() {
        eprintln!(
            "ingest: streaming read and parse {} ms",
            t.elapsed().as_millis()
        );
    }
    Ok((df, mapping))
}

/// The frame in row order (the engine may hand morsels back out of order).
pub(super) fn sorted_by_row(df: DataFrame) -> PolarsResult<DataFrame> {
    if is_sorted_by_row(&df) {
        Ok(df)
    } else {
        df.sort([ROW], Default::default())
    }
}

/// The two stages of the parse over a scan of the text cells: typed columns, then the
/// reason and unreadable columns (see [`typed_exprs`] and [`output_exprs`]).
pub(super) fn typed_plan(
    lf: LazyFrame,
    mapping: &ColumnMapping,
    format: Format,
    max_cost: f64,
) -> LazyFrame {
    lf.select(typed_exprs(mapping, format))
        .select(output_exprs(mapping, max_cost))
}

fn scan(source: &Path, format: Format, truncate_ragged: bool, sep: u8) -> PolarsResult<LazyFrame> {
    let row_index = Some(RowIndex {
        name: ROW.into(),
        offset: 0,
    });
    let p = PlPath::new(&source.to_string_lossy());
    match format {
        Format::Csv | Format::Excel => LazyCsvReader::new(p)
            .with_has_header(true)
            .with_separator(sep)
            .with_infer_schema_length(Some(0))
            .with_missing_is_null(true)
            .with_truncate_ragged_lines(truncate_ragged)
            .with_row_index(row_index)
            .finish(),
        Format::Parquet => {
            let args = ScanArgsParquet {
                row_index,
                ..Default::default()
            };
            LazyFrame::scan_parquet(p, args)
        }
    }
}

/// The raw text of a mapped column (Parquet columns may be typed: cast them to text).
fn raw(mapping: &ColumnMapping, canonical: &str, format: Format) -> Option<Expr> {
    let header = mapping.get(canonical)?;
    Some(match format {
        Format::Parquet => col(header).cast(DataType::String),
        _ => col(header),
    })
}

/// Parses a text column into a numeric column with `parse`; unreadable cells become null.
fn parsed<T>(input: Expr, name: &str, dtype: DataType, parse: fn(&str) -> Option<T::Native>) -> Expr
where
    T: PolarsNumericType,
    ChunkedArray<T>: IntoColumn,
{
    let out = dtype.clone();
    input
        .map(
            move |c: Column| {
                let ca = c.str()?;
                let v: ChunkedArray<T> = ca.iter().map(|s| s.and_then(parse)).collect();
                Ok(v.with_name(c.name().clone()).into_column())
            },
            move |_, f| Ok(Field::new(f.name().clone(), out.clone())),
        )
        .alias(name)
}

fn date_cell(s: &str) -> Option<i32> {
    values::parse_date(s).ok()
}
fn money_cell(s: &str) -> Option<f64> {
    values::parse_money(s).ok()
}
fn fee_cell(s: &str) -> Option<f32> {
    values::parse_money(s).ok().map(|v| v as f32)
}
fn level_cell(s: &str) -> Option<i32> {
    values::parse_level(s).ok().map(i32::from)
}
fn days_cell(s: &str) -> Option<u32> {
    values::parse_days(s).ok()
}
fn disposition_cell(s: &str) -> Option<i32> {
    values::parse_disposition(s).ok().map(i32::from)
}
fn flag_cell(s: &str) -> Option<i32> {
    values::parse_flag(s).ok().map(i32::from)
}

/// Optional columns kept as text for stage 2 (interned in `assemble.rs`).
const TEXT_OPTIONAL: [&str; 7] = [
    "hospital_name",
    "main_diagnosis",
    "secondary_diagnoses",
    "main_procedure",
    "other_procedures",
    "department",
    "physician_id",
];

/// Prefix of the raw text columns that stage 1 hands to stage 2 (never in the output).
const RAW: &str = "__raw:";

fn raw_name(canonical: &str) -> String {
    format!("{RAW}{canonical}")
}

/// Stage 1 parses every cell once: the text columns kept as text, the typed columns, and the
/// raw text of the checked and optional columns, passed on to stage 2.
fn typed_exprs(mapping: &ColumnMapping, format: Format) -> Vec<Expr> {
    let r = |c: &str| raw(mapping, c, format);
    let mut exprs = vec![col(ROW)];
    for text in ["case_id", "hospital_id", "patient_id", "group_code"] {
        exprs.push(r(text).expect("required column mapped").alias(text));
    }
    for text in TEXT_OPTIONAL {
        if let Some(e) = r(text) {
            exprs.push(e.alias(text));
        }
    }
    for d in ["admit_date", "discharge_date"] {
        exprs.push(parsed::<Int32Type>(
            r(d).expect("required"),
            d,
            DataType::Int32,
            date_cell,
        ));
    }
    exprs.push(parsed::<Float64Type>(
        r("total_cost").expect("required"),
        "total_cost",
        DataType::Float64,
        money_cell,
    ));
    if let Some(e) = r("hospital_level") {
        exprs.push(parsed::<Int32Type>(
            e,
            "hospital_level",
            DataType::Int32,
            level_cell,
        ));
    }
    if let Some(e) = r("los_days") {
        exprs.push(parsed::<UInt32Type>(
            e,
            "los_days",
            DataType::UInt32,
            days_cell,
        ));
    }
    if let Some(e) = r("discharge_disposition") {
        exprs.push(parsed::<Int32Type>(
            e,
            "discharge_disposition",
            DataType::Int32,
            disposition_cell,
        ));
    }
    if let Some(e) = r("planned_readmission_31d") {
        exprs.push(parsed::<Int32Type>(
            e,
            "planned_readmission_31d",
            DataType::Int32,
            flag_cell,
        ));
    }
    for fee in FEE_COLUMNS {
        if let Some(e) = r(fee) {
            exprs.push(parsed::<Float32Type>(e, fee, DataType::Float32, fee_cell));
        }
    }
    for c in PARSED_CHECKED
        .iter()
        .chain(SOFT.iter())
        .chain(FEE_COLUMNS.iter())
    {
        if let Some(e) = r(c) {
            exprs.push(e.alias(raw_name(c)));
        }
    }
    exprs
}

/// Required columns that are parsed (the others only need to be non-empty).
const PARSED_CHECKED: [&str; 4] = [
    "admit_date",
    "discharge_date",
    "total_cost",
    "hospital_level",
];

/// Stage 2 keeps stage 1's columns except the raw text, and adds the reason and unreadable
/// columns, decided from the typed values (the raw text is only read for failing cells).
fn output_exprs(mapping: &ColumnMapping, max_cost: f64) -> Vec<Expr> {
    let mut names = vec![ROW, "case_id", "hospital_id", "patient_id", "group_code"];
    names.extend(TEXT_OPTIONAL.into_iter().filter(|c| mapping.has(c)));
    names.extend(["admit_date", "discharge_date", "total_cost"]);
    names.extend(
        ["hospital_level"]
            .into_iter()
            .chain(SOFT)
            .chain(FEE_COLUMNS)
            .filter(|c| mapping.has(c)),
    );
    let mut exprs: Vec<Expr> = names.into_iter().map(col).collect();
    exprs.push(reason_expr(mapping, max_cost));
    exprs.push(unreadable_expr(mapping));
    exprs
}

/// The stage-1 text of a checked column: ids are kept as text, parsed columns come raw.
fn stage1_text(name: &str) -> Expr {
    if PARSED_CHECKED.contains(&name) {
        col(raw_name(name))
    } else {
        col(name)
    }
}

/// Whether a text cell is empty once trimmed (or missing).
fn blank(cell: Option<&str>) -> bool {
    cell.is_none_or(|s| values::trim(s).is_empty())
}

/// Names the problems of a row's required fields (null when the row is usable).
///
/// A row is usable exactly when its ids are non-empty, its typed date, cost (and level)
/// values exist, the cost is between 0 and `max_cost` and discharge is not before admission;
/// only the other rows go through [`row_problems`] on their raw text, which gives the message.
fn reason_expr(mapping: &ColumnMapping, max_cost: f64) -> Expr {
    let mut names: Vec<&'static str> = CHECKED.to_vec();
    let has_level = mapping.has("hospital_level");
    if has_level {
        names.push("hospital_level");
    }
    let mut inputs: Vec<Expr> = names.iter().map(|c| stage1_text(c)).collect();
    inputs.extend(["admit_date", "discharge_date", "total_cost"].map(col));
    if has_level {
        inputs.push(col("hospital_level"));
    }
    let (first, rest) = inputs.split_first().expect("non-empty");
    first
        .clone()
        .map_many(
            move |cols: &mut [Column]| {
                let k = names.len();
                let texts: Vec<&StringChunked> = cols[..k]
                    .iter()
                    .map(|c| c.str())
                    .collect::<PolarsResult<_>>()?;
                let admit = cols[k].i32()?;
                let discharge = cols[k + 1].i32()?;
                let cost = cols[k + 2].f64()?;
                let n = texts[0].len();
                let mut suspect = vec![false; n];
                for (name, ca) in names.iter().zip(&texts) {
                    if !PARSED_CHECKED.contains(name) {
                        for (s, cell) in suspect.iter_mut().zip(ca.iter()) {
                            *s |= blank(cell);
                        }
                    }
                }
                for ((s, a), d) in suspect.iter_mut().zip(admit.iter()).zip(discharge.iter()) {
                    *s |= match (a, d) {
                        (Some(a), Some(d)) => d < a,
                        _ => true,
                    };
                }
                for (s, c) in suspect.iter_mut().zip(cost.iter()) {
                    *s |= c.is_none_or(|c| !(0.0..=max_cost).contains(&c));
                }
                if has_level {
                    for (s, l) in suspect.iter_mut().zip(cols[k + 3].i32()?.iter()) {
                        *s |= l.is_none();
                    }
                }
                let out = if !suspect.contains(&true) {
                    StringChunked::full_null(REASON.into(), n)
                } else {
                    let mut iters: Vec<_> = texts.iter().map(|ca| ca.iter()).collect();
                    let mut cells: Vec<Option<&str>> = vec![None; k];
                    suspect
                        .iter()
                        .map(|s| {
                            for (cell, it) in cells.iter_mut().zip(iters.iter_mut()) {
                                *cell = it.next().flatten();
                            }
                            if *s {
                                row_problems(&names, &cells, max_cost)
                            } else {
                                None
                            }
                        })
                        .collect()
                };
                Ok(out.with_name(REASON.into()).into_column())
            },
            rest,
            move |_, _| Ok(Field::new(REASON.into(), DataType::String)),
        )
        .alias(REASON)
}

/// The problems of one row, as `column SEP message; message…`, or `None`.
pub(crate) fn row_problems(
    names: &[&str],
    cells: &[Option<&str>],
    max_cost: f64,
) -> Option<String> {
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut admit: Option<Day> = None;
    let mut discharge: Option<Day> = None;
    for (name, cell) in names.iter().zip(cells) {
        let value = cell.map(str::trim).filter(|s| !s.is_empty());
        let Some(v) = value else {
            let why = if *name == "hospital_level" {
                "hospital_level is empty (the file has a level column, so every row needs its level)"
                    .to_string()
            } else {
                format!("{name} is empty (required)")
            };
            problems.push((name.to_string(), why));
            continue;
        };
        let bad = |why: &str| (name.to_string(), format!("{name} {} {why}", shown(name, v)));
        match *name {
            "admit_date" | "discharge_date" => match values::parse_date(v) {
                Ok(d) if *name == "admit_date" => admit = Some(d),
                Ok(d) => discharge = Some(d),
                Err(why) => problems.push(bad(why)),
            },
            "total_cost" => match values::parse_money(v) {
                Ok(x) if x < 0.0 => problems.push(bad("is negative")),
                Ok(x) if x > max_cost => problems.push(bad(&format!(
                    "is more than {} yuan for one stay: a data error (check the column, or \
                     raise [data] max_stay_cost_yuan in the region config)",
                    crate::lang::num(max_cost, 0)
                ))),
                Ok(_) => {}
                Err(why) => problems.push(bad(why)),
            },
            "hospital_level" => {
                if let Err(why) = values::parse_level(v) {
                    problems.push(bad(why));
                }
            }
            _ => {}
        }
    }
    if let (Some(a), Some(d)) = (admit, discharge)
        && d < a
    {
        problems.push((
            "discharge_date".into(),
            format!(
                "discharge_date {} is before admit_date {}",
                values::format_day(d),
                values::format_day(a)
            ),
        ));
    }
    let (first_col, _) = problems.first()?;
    let joined = problems
        .iter()
        .map(|(_, m)| m.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    Some(format!("{first_col}{SEP}{joined}"))
}

/// A failing cell as a reject reason may show it: quoted when it has the shape of the
/// column's values (`'2024-13-01'`, `'-5'`), otherwise only its length. A row shifted by a
/// missing or extra separator puts a patient id, a name or a diagnosis into a date or cost
/// column, and a reason must never echo those (`rejects.csv` and the report are shared).
pub(super) fn shown(column: &str, v: &str) -> String {
    let shape_ok = match column {
        // A date needs a separator: a bare digit string may be a numeric patient id.
        "admit_date" | "discharge_date" => {
            v.len() <= 25
                && v.contains(['-', '/', '.'])
                && v.chars()
                    .all(|c| c.is_ascii_digit() || "-/.: T".contains(c))
        }
        "total_cost" => {
            v.chars().count() <= 20
                && v.chars()
                    .all(|c| c.is_ascii_digit() || ".,-+eE ¥￥，".contains(c))
        }
        "hospital_level" => {
            v.chars().count() <= 6 && v.chars().filter(char::is_ascii_alphanumeric).count() <= 2
        }
        // Group codes (`ES31`, DIP `K35.9:47.0901`) have short digit runs; ids have long ones.
        "group_code" => v.chars().count() <= 24 && longest_digit_run(v) < 8,
        _ => false,
    };
    if shape_ok {
        format!("'{v}'")
    } else {
        format!("(a {}-character value, not shown)", v.chars().count())
    }
}

fn longest_digit_run(v: &str) -> usize {
    v.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

pub(super) fn shorten(v: &str) -> String {
    if v.chars().count() > 40 {
        format!("{}…", v.chars().take(40).collect::<String>())
    } else {
        v.to_string()
    }
}

/// The optional columns present, in the bit order of the unreadable column.
pub(super) fn soft_names(mapping: &ColumnMapping) -> Vec<&'static str> {
    SOFT.iter()
        .chain(FEE_COLUMNS.iter())
        .copied()
        .filter(|c| mapping.has(c))
        .collect()
}

/// Flags the optional columns whose non-empty cell could not be read: bit `j` of the row's
/// value is set when column `j` of [`soft_names`] has a typed null but non-blank text.
fn unreadable_expr(mapping: &ColumnMapping) -> Expr {
    let names = soft_names(mapping);
    if names.is_empty() {
        return col(ROW)
            .map(
                |c: Column| Ok(UInt32Chunked::full(WARN.into(), 0, c.len()).into_column()),
                |_, _| Ok(Field::new(WARN.into(), DataType::UInt32)),
            )
            .alias(WARN);
    }
    let mut inputs: Vec<Expr> = names.iter().map(|c| col(*c)).collect();
    inputs.extend(names.iter().map(|c| col(raw_name(c))));
    let (first, rest) = inputs.split_first().expect("non-empty");
    first
        .clone()
        .map_many(
            move |cols: &mut [Column]| {
                let k = names.len();
                let n = cols[0].len();
                let mut bits = vec![0u32; n];
                for j in 0..k {
                    let typed = &cols[j];
                    if typed.null_count() == 0 {
                        continue;
                    }
                    let text = cols[k + j].str()?;
                    let nulls = typed.is_null();
                    for ((b, is_null), cell) in bits.iter_mut().zip(nulls.iter()).zip(text.iter()) {
                        if is_null == Some(true) && !blank(cell) {
                            *b |= 1 << j;
                        }
                    }
                }
                Ok(UInt32Chunked::from_vec(WARN.into(), bits).into_column())
            },
            rest,
            |_, _| Ok(Field::new(WARN.into(), DataType::UInt32)),
        )
        .alias(WARN)
}

fn is_sorted_by_row(df: &DataFrame) -> bool {
    let Ok(rows) = df.column(ROW).and_then(|c| c.idx().cloned()) else {
        return true;
    };
    let mut prev: Option<IdxSize> = None;
    for v in rows.into_no_null_iter() {
        if prev.is_some_and(|p| v < p) {
            return false;
        }
        prev = Some(v);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_problems_name_the_first_column_and_every_problem() {
        let names = CHECKED;
        let ok = [
            Some("C1"),
            Some("H1"),
            Some("P1"),
            Some("2024-01-02"),
            Some("2024-01-05"),
            Some("ES31"),
            Some("1000"),
        ];
        assert_eq!(row_problems(&names, &ok, 1e8), None);
        let mut bad = ok;
        bad[3] = Some("2024-13-01");
        bad[6] = Some("-5");
        let r = row_problems(&names, &bad, 1e8).unwrap();
        let (col, msg) = r.split_once(SEP).unwrap();
        assert_eq!(col, "admit_date");
        assert!(
            msg.contains("admit_date '2024-13-01' is not a date")
                && msg.contains("total_cost '-5' is negative"),
            "{msg}"
        );
        let mut before = ok;
        before[4] = Some("2024-01-01");
        let r = row_problems(&names, &before, 1e8).unwrap();
        assert!(
            r.starts_with("discharge_date") && r.contains("is before admit_date 2024-01-02"),
            "{r}"
        );
        let mut empty = ok;
        empty[2] = Some("  ");
        assert!(
            row_problems(&names, &empty, 1e8)
                .unwrap()
                .contains("patient_id is empty (required)")
        );
        let mut dear = ok;
        dear[6] = Some("2000000");
        assert_eq!(row_problems(&names, &dear, 1e8), None);
        let r = row_problems(&names, &dear, 1e6).unwrap();
        assert!(
            r.starts_with("total_cost") && r.contains("more than 1,000,000 yuan"),
            "{r}"
        );
    }
}
