//! The streaming read: text columns → typed columns + a reason column, then whole-table
//! checks and interning.

use std::collections::BTreeMap;
use std::path::Path;

use polars::io::RowIndex;
use polars::prelude::*;
use rustc_hash::FxHashMap;

use super::encoding::{self, TextEncoding};
use super::values::{self, Day};
use super::{
    Cases, CodeBook, CodeLists, Format, Hospital, IngestStats, Ingested, NONE_U32, Reject,
    TextColumn, format_of,
};
use crate::catalog::Catalog;
use crate::error::{AuditError, Result};
use crate::schema::{ColumnMapping, FEE_COLUMNS, case_columns, map_headers};

const ROW: &str = "__row";
const REASON: &str = "__reason";
const WARN: &str = "__unreadable";
/// Separates the column name from the message inside the reason column.
const SEP: char = '\u{1f}';

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
    let format = format_of(path);
    if !path.is_file() {
        return Err(AuditError::input(
            path,
            "file",
            "does not exist; check the --cases path",
        ));
    }
    // GB18030 input is transcoded to a temporary UTF-8 copy that lives until the read ends.
    let mut _transcoded = None;
    let (source, encoding) = match format {
        Format::Parquet => (path.to_path_buf(), None),
        Format::Csv => {
            let enc = encoding::detect(path)?;
            if enc == TextEncoding::Gb18030 {
                let tmp = tempfile::Builder::new()
                    .prefix("drg-audit-utf8-")
                    .suffix(".csv")
                    .tempfile()
                    .map_err(|e| AuditError::io(path, e))?;
                encoding::transcode_gb18030(path, tmp.path())?;
                let p = tmp.path().to_path_buf();
                _transcoded = Some(tmp);
                (p, Some(enc))
            } else {
                (path.to_path_buf(), Some(enc))
            }
        }
    };
    let mut lf = scan(&source, format).map_err(|e| AuditError::engine(path, e))?;
    let schema = lf
        .collect_schema()
        .map_err(|e| AuditError::engine(path, e))?;
    let headers: Vec<String> = schema
        .iter_names()
        .filter(|n| n.as_str() != ROW)
        .map(|n| n.to_string())
        .collect();
    let mapping = map_headers(&headers, &case_columns()).map_err(|p| p.into_error(path))?;

    let t = std::time::Instant::now();
    let df = lf
        .select(typed_exprs(&mapping, format))
        .select(output_exprs(&mapping))
        .collect_with_engine(Engine::Streaming)
        .map_err(|e| AuditError::engine(path, e))?;
    let df = if is_sorted_by_row(&df) {
        df
    } else {
        df.sort([ROW], Default::default())
            .map_err(|e| AuditError::engine(path, e))?
    };
    if std::env::var_os("DRG_AUDIT_TRACE").is_some() {
        eprintln!(
            "ingest: streaming read and parse {} ms",
            t.elapsed().as_millis()
        );
    }
    let t = std::time::Instant::now();
    let out = assemble(df, path, format, encoding, &mapping, catalog);
    if std::env::var_os("DRG_AUDIT_TRACE").is_some() {
        eprintln!(
            "ingest: checks and interning {} ms",
            t.elapsed().as_millis()
        );
    }
    out
}

fn scan(source: &Path, format: Format) -> PolarsResult<LazyFrame> {
    let row_index = Some(RowIndex {
        name: ROW.into(),
        offset: 0,
    });
    let p = PlPath::new(&source.to_string_lossy());
    match format {
        Format::Csv => LazyCsvReader::new(p)
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_missing_is_null(true)
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
        Format::Csv => col(header),
        Format::Parquet => col(header).cast(DataType::String),
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
    for text in ["hospital_name", "main_diagnosis", "secondary_diagnoses"] {
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
fn output_exprs(mapping: &ColumnMapping) -> Vec<Expr> {
    let mut names = vec![ROW, "case_id", "hospital_id", "patient_id", "group_code"];
    names.extend(
        ["hospital_name", "main_diagnosis", "secondary_diagnoses"]
            .into_iter()
            .filter(|c| mapping.has(c)),
    );
    names.extend(["admit_date", "discharge_date", "total_cost"]);
    names.extend(
        ["hospital_level"]
            .into_iter()
            .chain(SOFT)
            .chain(FEE_COLUMNS)
            .filter(|c| mapping.has(c)),
    );
    let mut exprs: Vec<Expr> = names.into_iter().map(col).collect();
    exprs.push(reason_expr(mapping));
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
    cell.is_none_or(|s| s.trim().is_empty())
}

/// Names the problems of a row's required fields (null when the row is usable).
///
/// A row is usable exactly when its ids are non-empty, its typed date, cost (and level)
/// values exist, the cost is not negative and discharge is not before admission; only the
/// other rows go through [`row_problems`] on their raw text, which gives the message.
fn reason_expr(mapping: &ColumnMapping) -> Expr {
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
                    *s |= c.is_none_or(|c| c < 0.0);
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
                                row_problems(&names, &cells)
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
pub(crate) fn row_problems(names: &[&str], cells: &[Option<&str>]) -> Option<String> {
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
        let bad = |why: &str| (name.to_string(), format!("{name} '{}' {why}", shorten(v)));
        match *name {
            "admit_date" | "discharge_date" => match values::parse_date(v) {
                Ok(d) if *name == "admit_date" => admit = Some(d),
                Ok(d) => discharge = Some(d),
                Err(why) => problems.push(bad(why)),
            },
            "total_cost" => match values::parse_money(v) {
                Ok(x) if x < 0.0 => problems.push(bad("is negative")),
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

fn shorten(v: &str) -> String {
    if v.chars().count() > 40 {
        format!("{}…", v.chars().take(40).collect::<String>())
    } else {
        v.to_string()
    }
}

/// The optional columns present, in the bit order of the unreadable column.
fn soft_names(mapping: &ColumnMapping) -> Vec<&'static str> {
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

/// The index of `code` in the book, adding it on first sight.
fn intern<'a>(index: &mut FxHashMap<&'a str, u32>, book: &mut CodeBook, code: &'a str) -> u32 {
    *index.entry(code).or_insert_with(|| {
        book.codes.push(code.to_string());
        (book.codes.len() - 1) as u32
    })
}

/// Interns the main and secondary diagnosis codes of the kept rows.
fn intern_diagnoses(
    keep: &[usize],
    main_dx: Option<&[Option<&str>]>,
    secondary: Option<&[Option<&str>]>,
) -> (CodeBook, Vec<u32>, CodeLists) {
    let mut book = CodeBook::default();
    let mut index: FxHashMap<&str, u32> = FxHashMap::default();
    let mut main = Vec::with_capacity(keep.len());
    let mut items = Vec::new();
    let mut offsets = Vec::with_capacity(keep.len() + 1);
    offsets.push(0u32);
    for &i in keep {
        let mdx = main_dx
            .and_then(|v| v[i])
            .map(str::trim)
            .filter(|s| !s.is_empty());
        main.push(match mdx {
            Some(code) => intern(&mut index, &mut book, code),
            None => NONE_U32,
        });
        if let Some(sec) = secondary.and_then(|v| v[i]) {
            for code in values::split_codes(sec) {
                items.push(intern(&mut index, &mut book, code));
            }
        }
        offsets.push(items.len() as u32);
    }
    (book, main, CodeLists { items, offsets })
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

fn str_col<'a>(df: &'a DataFrame, name: &str, path: &Path) -> Result<Option<&'a StringChunked>> {
    match df.column(name) {
        Ok(c) => c.str().map(Some).map_err(|e| AuditError::engine(path, e)),
        Err(_) => Ok(None),
    }
}

fn values_of<T: PolarsNumericType>(
    df: &DataFrame,
    name: &str,
    path: &Path,
    get: fn(&Column) -> PolarsResult<&ChunkedArray<T>>,
) -> Result<Option<Vec<Option<T::Native>>>> {
    match df.column(name) {
        Ok(c) => Ok(Some(
            get(c)
                .map_err(|e| AuditError::engine(path, e))?
                .iter()
                .collect(),
        )),
        Err(_) => Ok(None),
    }
}

/// Whole-table checks (duplicates, catalogue) and interning into [`Cases`].
fn assemble(
    df: DataFrame,
    path: &Path,
    format: Format,
    encoding: Option<TextEncoding>,
    mapping: &ColumnMapping,
    catalog: &Catalog,
) -> Result<Ingested> {
    let n = df.height();
    let line_offset = match format {
        Format::Csv => 2,
        Format::Parquet => 1,
    };
    let rows: Vec<u64> = df
        .column(ROW)
        .and_then(|c| c.idx().cloned())
        .map_err(|e| AuditError::engine(path, e))?
        .into_no_null_iter()
        .map(|r| r as u64 + line_offset)
        .collect();
    let need = |name: &str| -> Result<&StringChunked> {
        str_col(&df, name, path)?
            .ok_or_else(|| AuditError::engine(path, format!("column {name} vanished")))
    };
    let case_ids: Vec<Option<&str>> = need("case_id")?.iter().collect();
    let hospital_ids: Vec<Option<&str>> = need("hospital_id")?.iter().collect();
    let patient_ids: Vec<Option<&str>> = need("patient_id")?.iter().collect();
    let group_codes: Vec<Option<&str>> = need("group_code")?.iter().collect();
    let reasons: Vec<Option<&str>> = need(REASON)?.iter().collect();
    let admit = values_of::<Int32Type>(&df, "admit_date", path, |c| c.i32())?.unwrap_or_default();
    let discharge =
        values_of::<Int32Type>(&df, "discharge_date", path, |c| c.i32())?.unwrap_or_default();
    let cost = values_of::<Float64Type>(&df, "total_cost", path, |c| c.f64())?.unwrap_or_default();
    let level = values_of::<Int32Type>(&df, "hospital_level", path, |c| c.i32())?;
    let los = values_of::<UInt32Type>(&df, "los_days", path, |c| c.u32())?;
    let disposition = values_of::<Int32Type>(&df, "discharge_disposition", path, |c| c.i32())?;
    let planned = values_of::<Int32Type>(&df, "planned_readmission_31d", path, |c| c.i32())?;
    let names: Option<Vec<Option<&str>>> =
        str_col(&df, "hospital_name", path)?.map(|c| c.iter().collect());
    let main_dx: Option<Vec<Option<&str>>> =
        str_col(&df, "main_diagnosis", path)?.map(|c| c.iter().collect());
    let secondary: Option<Vec<Option<&str>>> =
        str_col(&df, "secondary_diagnoses", path)?.map(|c| c.iter().collect());

    let mut stats = IngestStats {
        path: path.to_path_buf(),
        format,
        encoding,
        rows_read: n as u64,
        rows_analysed: 0,
        rows_rejected: 0,
        rejected_by_column: BTreeMap::new(),
        unreadable_optional_cells: BTreeMap::new(),
        hospitals_with_conflicting_level: Vec::new(),
        columns: mapping
            .found
            .iter()
            .map(|(c, h)| (c.to_string(), h.clone()))
            .collect(),
        unknown_columns: mapping.unknown.clone(),
    };
    let soft = soft_names(mapping);
    let mut unreadable = vec![0u64; soft.len()];
    let w = df
        .column(WARN)
        .and_then(|c| c.u32())
        .map_err(|e| AuditError::engine(path, e))?;
    for bits in w.iter().flatten().filter(|b| *b != 0) {
        for (j, count) in unreadable.iter_mut().enumerate() {
            *count += u64::from(bits >> j & 1);
        }
    }
    for (name, count) in soft.iter().zip(unreadable) {
        if count > 0 {
            stats
                .unreadable_optional_cells
                .insert(name.to_string(), count);
        }
    }

    let trace = std::env::var_os("DRG_AUDIT_TRACE").is_some();
    let t = std::time::Instant::now();
    if trace {
        eprintln!("ingest:   columns copied out");
    }
    let mut rejects = Vec::new();
    let mut keep: Vec<usize> = Vec::with_capacity(n);
    let mut first_line: FxHashMap<&str, u64> = FxHashMap::default();
    first_line.reserve(n);
    let mut group_of: Vec<u32> = vec![NONE_U32; n];
    for i in 0..n {
        let case_id = case_ids[i].map(str::trim).unwrap_or("");
        let reject = |column: &str, reason: String| Reject {
            line: rows[i],
            case_id: case_id.to_string(),
            column: column.to_string(),
            reason,
        };
        if let Some(r) = reasons[i] {
            let (column, reason) = r.split_once(SEP).unwrap_or(("", r));
            rejects.push(reject(column, reason.to_string()));
            continue;
        }
        let code = group_codes[i].map(str::trim).unwrap_or("");
        let Some(g) = catalog.lookup(code) else {
            rejects.push(reject(
                "group_code",
                format!("group_code '{}' is not in the catalogue ({}); add it to --groups or regroup the case", shorten(code), catalog.source),
            ));
            continue;
        };
        if let Some(first) = first_line.get(case_id) {
            rejects.push(reject(
                "case_id",
                format!(
                    "duplicate case_id '{}' (first seen on line {first})",
                    shorten(case_id)
                ),
            ));
            continue;
        }
        first_line.insert(case_id, rows[i]);
        group_of[i] = g;
        keep.push(i);
    }
    drop(first_line);
    stats.rows_rejected = rejects.len() as u64;
    stats.rows_analysed = keep.len() as u64;
    for r in &rejects {
        *stats
            .rejected_by_column
            .entry(r.column.clone())
            .or_default() += 1;
    }
    if keep.is_empty() {
        let hint = rejects
            .first()
            .map(|r| format!(" (line {}: {})", r.line, r.reason))
            .unwrap_or_default();
        return Err(AuditError::input(
            path,
            "rows",
            format!("no usable rows among {n} read{hint}; fix the rows listed in rejects.csv"),
        ));
    }

    if trace {
        eprintln!(
            "ingest:   reject checks and duplicate case_id scan {} ms",
            t.elapsed().as_millis()
        );
    }
    let t = std::time::Instant::now();
    let m = keep.len();
    // Three independent parts run side by side: diagnoses interning, the fee columns, and
    // the rest (hospitals, patients, dates, costs) on this thread.
    let (mut cases, diagnoses, fees) = std::thread::scope(|scope| {
        let diagnoses =
            scope.spawn(|| intern_diagnoses(&keep, main_dx.as_deref(), secondary.as_deref()));
        let fees = scope.spawn(|| {
            use rayon::prelude::*;
            FEE_COLUMNS
                .par_iter()
                .map(|fee| -> Result<Option<Vec<f32>>> {
                    let Ok(col) = df.column(fee) else {
                        return Ok(None);
                    };
                    let ca = col.f32().map_err(|e| AuditError::engine(path, e))?;
                    let mut out = Vec::with_capacity(keep.len());
                    let mut next = keep.iter().peekable();
                    for (i, v) in ca.iter().enumerate() {
                        if next.peek() == Some(&&i) {
                            out.push(v.unwrap_or(0.0));
                            next.next();
                        }
                    }
                    Ok(Some(out))
                })
                .collect::<Result<Vec<_>>>()
        });
        let mut cases = Cases {
            line: Vec::with_capacity(m),
            case_id: TextColumn::with_capacity(m),
            hospital: Vec::with_capacity(m),
            patient: Vec::with_capacity(m),
            admit: Vec::with_capacity(m),
            discharge: Vec::with_capacity(m),
            los: Vec::with_capacity(m),
            group: Vec::with_capacity(m),
            cost: Vec::with_capacity(m),
            disposition: Vec::with_capacity(m),
            planned: Vec::with_capacity(m),
            ..Default::default()
        };
        let mut hospital_index: FxHashMap<&str, u32> = FxHashMap::default();
        let mut level_votes: Vec<[u64; 4]> = Vec::new();
        let mut patient_index: FxHashMap<&str, u32> = FxHashMap::default();
        patient_index.reserve(m / 2);
        for &i in &keep {
            cases.line.push(rows[i]);
            cases.case_id.push(case_ids[i].map(str::trim).unwrap_or(""));
            let hid = hospital_ids[i].map(str::trim).unwrap_or("");
            let h = match hospital_index.get(hid) {
                Some(&h) => h,
                None => {
                    let h = cases.hospitals.len() as u32;
                    hospital_index.insert(hid, h);
                    cases.hospitals.push(Hospital {
                        id: hid.to_string(),
                        name: String::new(),
                        level: None,
                    });
                    level_votes.push([0; 4]);
                    h
                }
            };
            if let Some(l) = level.as_ref().and_then(|levels| levels[i]) {
                level_votes[h as usize][l as usize] += 1;
            }
            let hosp = &mut cases.hospitals[h as usize];
            if hosp.name.is_empty()
                && let Some(nm) = names.as_ref().and_then(|n| n[i]).map(str::trim)
            {
                hosp.name = nm.to_string();
            }
            cases.hospital.push(h);
            let pid = patient_ids[i].map(str::trim).unwrap_or("");
            let next = patient_index.len() as u32;
            cases
                .patient
                .push(*patient_index.entry(pid).or_insert(next));
            let (a, d) = (admit[i].unwrap_or(0), discharge[i].unwrap_or(0));
            cases.admit.push(a);
            cases.discharge.push(d);
            let given = los.as_ref().and_then(|l| l[i]);
            cases
                .los
                .push(given.unwrap_or_else(|| ((d - a).max(1)) as u32));
            cases.group.push(group_of[i]);
            cases.cost.push(cost[i].unwrap_or(0.0));
            cases.disposition.push(
                disposition
                    .as_ref()
                    .and_then(|v| v[i])
                    .map_or(0, |x| x as u8),
            );
            cases
                .planned
                .push(planned.as_ref().and_then(|v| v[i]).is_some_and(|x| x == 1));
        }
        cases.n_patients = patient_index.len();
        for (h, votes) in cases.hospitals.iter_mut().zip(&level_votes) {
            let distinct = votes.iter().filter(|v| **v > 0).count();
            // Most frequent level; ties go to the higher level (documented in the README).
            h.level = (1..=3u8)
                .rev()
                .max_by_key(|l| votes[*l as usize])
                .filter(|l| votes[*l as usize] > 0);
            if distinct > 1 {
                stats.hospitals_with_conflicting_level.push(h.id.clone());
            }
        }
        (cases, diagnoses.join(), fees.join())
    });
    if trace {
        eprintln!(
            "ingest:   interning and typed columns {} ms",
            t.elapsed().as_millis()
        );
    }
    let (codes, main_diagnosis, secondary_lists) =
        diagnoses.map_err(|_| AuditError::engine(path, "diagnosis interning failed"))?;
    cases.codes = codes;
    cases.main_diagnosis = main_diagnosis;
    cases.secondary = secondary_lists;
    cases.fees = fees.map_err(|_| AuditError::engine(path, "fee columns failed"))??;
    for (canonical, _) in &mapping.found {
        cases.has_column.insert(canonical.to_string(), true);
    }
    Ok(Ingested {
        cases,
        rejects,
        stats,
    })
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
        assert_eq!(row_problems(&names, &ok), None);
        let mut bad = ok;
        bad[3] = Some("2024-13-01");
        bad[6] = Some("-5");
        let r = row_problems(&names, &bad).unwrap();
        let (col, msg) = r.split_once(SEP).unwrap();
        assert_eq!(col, "admit_date");
        assert!(
            msg.contains("admit_date '2024-13-01' is not a date")
                && msg.contains("total_cost '-5' is negative"),
            "{msg}"
        );
        let mut before = ok;
        before[4] = Some("2024-01-01");
        let r = row_problems(&names, &before).unwrap();
        assert!(
            r.starts_with("discharge_date") && r.contains("is before admit_date 2024-01-02"),
            "{r}"
        );
        let mut empty = ok;
        empty[2] = Some("  ");
        assert!(
            row_problems(&names, &empty)
                .unwrap()
                .contains("patient_id is empty (required)")
        );
    }
}
