//! The typed Parquet that `drg-audit convert` writes: the case table after the streaming read
//! and the row checks, stored once so that repeated runs skip the text parsing.
//!
//! A `run` on a CSV reads every column as text and parses it ([`super::pipeline`]); a run on
//! an ordinary Parquet file does the same after casting every column to text. A typed
//! Parquet holds the result of that read instead: dates as dates, money and counts as
//! numbers, ids and codes as text, plus the row checks' reason and unreadable-cell columns
//! and each row's number in the table it came from. It is recognised by [`KEY`] in the
//! file's key-value metadata, whose value ([`Marker`]) says which table it was converted
//! from, how that table's headers map to the contract and where its rows sit (lines of a CSV
//! with quoted line breaks, rows of a sheet). A run on it then gives the same cases, the same
//! rejects (on the same lines of the same file) and so the same audit as the run on the
//! original table: there is one parser, and the converted file only stores its output.

use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::layout::RowPlaces;
use super::pipeline::{REASON, ROW, WARN};
use crate::error::{AuditError, Result};
use crate::schema::{ColumnMapping, case_columns};

/// The key-value metadata key that marks a typed case table.
pub const KEY: &str = "drg-audit.typed-cases";
/// `format` of the marker.
const FORMAT: &str = "drg-audit typed cases";
/// Version of the stored columns and marker; a file of another version is converted again.
/// Version 2 keeps the procedure columns (`UPC_MAIN_DX_ADRG` checks surgical claims on them).
const VERSION: u32 = 2;
/// Rows per slice of [`read_slices`]: four of the writer's default row groups.
const SLICE_ROWS: usize = 1 << 20;
/// The date columns, stored as Parquet dates and read back as days since 1970-01-01.
const DATES: [&str; 2] = ["admit_date", "discharge_date"];

/// What a typed case table says about itself (JSON under [`KEY`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Marker {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// The file name of the table converted from: what its rejects name.
    pub source: String,
    /// Canonical column → header as written in that table.
    pub columns: Vec<(String, String)>,
    /// Its headers that matched no contract column.
    pub unknown: Vec<String>,
    /// Where its rows sit (lines, sheet rows).
    pub places: RowPlaces,
    /// The cost bound the row checks used (`[data] max_stay_cost_yuan`).
    pub max_stay_cost_yuan: f64,
}

impl Marker {
    /// The marker of rows read from `source` under `mapping`.
    pub(super) fn new(
        source: String,
        mapping: &ColumnMapping,
        places: RowPlaces,
        max_stay_cost_yuan: f64,
    ) -> Marker {
        Marker {
            format: FORMAT.to_string(),
            version: VERSION,
            source,
            columns: mapping
                .found
                .iter()
                .map(|(c, h)| (c.to_string(), h.clone()))
                .collect(),
            unknown: mapping.unknown.clone(),
            places,
            max_stay_cost_yuan,
        }
    }

    /// The column mapping back, with the contract's own names.
    fn mapping(&self, path: &Path) -> Result<ColumnMapping> {
        let spec = case_columns();
        let found = self
            .columns
            .iter()
            .map(|(c, h)| {
                spec.iter()
                    .find(|s| s.canonical == c)
                    .map(|s| (s.canonical, h.clone()))
                    .ok_or_else(|| {
                        stale(
                            path,
                            &format!("names a column '{c}' this version does not know"),
                        )
                    })
            })
            .collect::<Result<_>>()?;
        Ok(ColumnMapping {
            found,
            unknown: self.unknown.clone(),
        })
    }
}

fn stale(path: &Path, what: &str) -> AuditError {
    AuditError::input(
        path,
        "metadata",
        format!(
            "is a typed case table that {what}; convert the original table again with this \
             version (drg-audit convert --cases TABLE --out {})",
            super::file_name(path)
        ),
    )
}

/// The marker of a typed case table, or `None` for any other Parquet file.
pub fn marker(path: &Path) -> Result<Option<Marker>> {
    let Some(value) = marker_text(path)? else {
        return Ok(None);
    };
    let marker: Marker = serde_json::from_str(&value).map_err(|e| {
        stale(
            path,
            &format!("has a marker this version cannot read ({e})"),
        )
    })?;
    if marker.format != FORMAT || marker.version != VERSION {
        return Err(stale(
            path,
            &format!("was written as version {}", marker.version),
        ));
    }
    Ok(Some(marker))
}

/// Reads a typed case table: the frame the streaming read of the original table gave, its
/// mapping and its row places. `max_cost` is the run's cost bound, which must be the one the
/// row checks used at conversion.
pub(super) fn read(
    path: &Path,
    marker: &Marker,
    max_cost: f64,
) -> Result<(DataFrame, ColumnMapping, RowPlaces)> {
    let mapping = checked_mapping(path, marker, max_cost)?;
    let df = read_slice(path, None)?;
    Ok((df, mapping, marker.places.clone()))
}

/// [`read`] in slices of [`SLICE_ROWS`] rows, each handed to `sink` in row order with the
/// table's row count, so that the typed table is never whole in memory.
pub(super) fn read_slices(
    path: &Path,
    marker: &Marker,
    max_cost: f64,
    sink: &mut dyn FnMut(DataFrame, &ColumnMapping, usize) -> Result<()>,
) -> Result<()> {
    read_slices_sized(path, marker, max_cost, sink, SLICE_ROWS)
}

/// [`read_slices`] in slices of `slice_rows` (the tests cut small tables into many).
fn read_slices_sized(
    path: &Path,
    marker: &Marker,
    max_cost: f64,
    sink: &mut dyn FnMut(DataFrame, &ColumnMapping, usize) -> Result<()>,
    slice_rows: usize,
) -> Result<()> {
    let mapping = checked_mapping(path, marker, max_cost)?;
    let file = std::fs::File::open(path).map_err(|e| AuditError::io(path, e))?;
    let rows = ParquetReader::new(file)
        .num_rows()
        .map_err(|e| AuditError::engine(path, e))?;
    let mut tr = crate::progress::Trace::new("ingest");
    for start in (0..rows.max(1)).step_by(slice_rows) {
        let df = read_slice(path, Some((start, slice_rows)))?;
        tr.mark("  typed slice read");
        sink(df, &mapping, rows)?;
        tr.mark("  typed slice built");
    }
    Ok(())
}

/// The mapping of a typed table whose bounds are the run's.
fn checked_mapping(path: &Path, marker: &Marker, max_cost: f64) -> Result<ColumnMapping> {
    if marker.max_stay_cost_yuan != max_cost {
        return Err(AuditError::input(
            path,
            "metadata",
            format!(
                "was converted with [data] max_stay_cost_yuan = {} and the region config says \
                 {}; convert the original table again with this config (drg-audit convert \
                 --config …)",
                marker.max_stay_cost_yuan, max_cost
            ),
        ));
    }
    marker.mapping(path)
}

/// The typed table's rows, all or `(first, count)` of them, with the dates as day numbers.
fn read_slice(path: &Path, slice: Option<(usize, usize)>) -> Result<DataFrame> {
    let engine = |e: PolarsError| AuditError::engine(path, e);
    let p = PlPath::new(&path.to_string_lossy());
    let mut lf = LazyFrame::scan_parquet(p, ScanArgsParquet::default()).map_err(engine)?;
    if let Some((first, count)) = slice {
        lf = lf.slice(first as i64, count as IdxSize);
    }
    let mut df = lf.collect_with_engine(Engine::Streaming).map_err(engine)?;
    for d in DATES {
        let days = df
            .column(d)
            .and_then(|c| c.cast(&DataType::Int32))
            .map_err(|_| stale(path, &format!("has no {d} date column")))?;
        df.with_column(days).map_err(engine)?;
    }
    for c in [ROW, REASON, WARN] {
        if df.column(c).is_err() {
            return Err(stale(path, &format!("has no {c} column")));
        }
    }
    Ok(df)
}

/// Writes the rows of a streaming read as a typed case table at `out`, through a temporary
/// file beside it, so that a failed write leaves no half file. `out` may only replace a typed
/// case table (one this program wrote): any other file is refused, and nothing is written.
pub(super) fn write(mut df: DataFrame, marker: &Marker, out: &Path) -> Result<u64> {
    refuse_foreign(out)?;
    let engine = |e: PolarsError| AuditError::engine(out, e);
    stored_dates(&mut df).map_err(engine)?;
    let json = serde_json::to_string(marker)
        .map_err(|e| AuditError::Usage(format!("cannot serialise the typed-table marker: {e}")))?;
    let mut tmp = temp_beside(out)?;
    ParquetWriter::new(tmp.as_file_mut())
        .with_key_value_metadata(Some(KeyValueMetadata::from_static(vec![(
            KEY.to_string(),
            json,
        )])))
        .finish(&mut df)
        .map_err(engine)?;
    let bytes = tmp
        .as_file()
        .metadata()
        .map_err(|e| AuditError::io(out, e))?
        .len();
    tmp.persist(out).map_err(|e| AuditError::io(out, e.error))?;
    Ok(bytes)
}

/// A typed table written piece by piece (`convert` of a table read in pieces), through a
/// temporary file beside `out` that only [`Writer::finish`] moves into place.
pub(super) struct Writer {
    out: std::path::PathBuf,
    tmp: tempfile::NamedTempFile,
    marker: String,
    batched: Option<polars::io::parquet::write::BatchedWriter<std::fs::File>>,
}

impl Writer {
    /// A writer of the typed table `marker` describes; `out` as [`write`] takes it.
    pub(super) fn new(marker: &Marker, out: &Path) -> Result<Self> {
        refuse_foreign(out)?;
        let json = serde_json::to_string(marker).map_err(|e| {
            AuditError::Usage(format!("cannot serialise the typed-table marker: {e}"))
        })?;
        Ok(Writer {
            out: out.to_path_buf(),
            tmp: temp_beside(out)?,
            marker: json,
            batched: None,
        })
    }

    /// Appends the rows of one piece of the read (as [`write`] stores them).
    pub(super) fn write(&mut self, piece: &DataFrame) -> Result<()> {
        let engine = |e: PolarsError| AuditError::engine(&self.out, e);
        let mut df = piece.clone();
        stored_dates(&mut df).map_err(engine)?;
        if self.batched.is_none() {
            let file = self
                .tmp
                .as_file()
                .try_clone()
                .map_err(|e| AuditError::io(&self.out, e))?;
            let meta = KeyValueMetadata::from_static(vec![(KEY.to_string(), self.marker.clone())]);
            let writer = ParquetWriter::new(file)
                .with_key_value_metadata(Some(meta))
                .batched(df.schema())
                .map_err(engine)?;
            self.batched = Some(writer);
        }
        match &mut self.batched {
            Some(w) => w.write_batch(&df).map_err(engine),
            None => Ok(()),
        }
    }

    /// Ends the file and moves it to `out`; its size in bytes.
    pub(super) fn finish(self) -> Result<u64> {
        let engine = |e: PolarsError| AuditError::engine(&self.out, e);
        let Some(w) = self.batched else {
            return Err(AuditError::input(&self.out, "rows", "no rows were written"));
        };
        w.finish().map_err(engine)?;
        // Checked again: a file may have appeared at `out` while the table was read.
        refuse_foreign(&self.out)?;
        let bytes = self
            .tmp
            .as_file()
            .metadata()
            .map_err(|e| AuditError::io(&self.out, e))?
            .len();
        self.tmp
            .persist(&self.out)
            .map_err(|e| AuditError::io(&self.out, e.error))?;
        Ok(bytes)
    }
}

/// The date columns as Parquet dates.
fn stored_dates(df: &mut DataFrame) -> PolarsResult<()> {
    for d in DATES {
        let date = df.column(d)?.cast(&DataType::Date)?;
        df.with_column(date)?;
    }
    Ok(())
}

/// A temporary file beside `out` (so that moving it into place is a rename).
fn temp_beside(out: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    tempfile::Builder::new()
        .prefix(".drg-audit-convert-")
        .suffix(".parquet")
        .tempfile_in(dir)
        .map_err(|e| AuditError::io(out, e))
}

/// The text under [`KEY`] in a Parquet file's metadata, if any (of whatever version).
fn marker_text(path: &Path) -> Result<Option<String>> {
    let file = std::fs::File::open(path).map_err(|e| AuditError::io(path, e))?;
    let mut reader = ParquetReader::new(file);
    let meta = reader
        .get_metadata()
        .map_err(|e| AuditError::engine(path, e))?;
    Ok(meta
        .key_value_metadata()
        .as_ref()
        .and_then(|kv| kv.iter().find(|k| k.key == KEY))
        .and_then(|k| k.value.clone()))
}

/// Refuses an `--out` that is not a `.parquet` name, or that exists and is not a typed case
/// table (of any version: an older one is converted again in its place).
fn refuse_foreign(out: &Path) -> Result<()> {
    if super::format_of(out) != super::Format::Parquet {
        return Err(AuditError::input(
            out,
            "--out",
            "the typed table is Parquet, and run reads a file by its extension: give --out a \
             name ending in .parquet",
        ));
    }
    let Ok(meta) = std::fs::symlink_metadata(out) else {
        return Ok(());
    };
    let ours = meta.is_file() && matches!(marker_text(out), Ok(Some(_)));
    if ours {
        Ok(())
    } else {
        Err(AuditError::input(
            out,
            "--out",
            "exists and is not a typed case table this program wrote; nothing was written: \
             choose another --out, or move the file away",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A typed table of an older version is refused by a run (convert again) and may be
    /// replaced by `convert`; a Parquet file this program did not write may not.
    #[test]
    fn an_older_typed_table_is_converted_again_in_its_place() {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, meta: Option<String>| {
            let path = dir.path().join(name);
            let mut df = df!("x" => [1i32, 2]).expect("frame");
            let file = std::fs::File::create(&path).expect("create");
            let kv = meta.map(|m| KeyValueMetadata::from_static(vec![(KEY.to_string(), m)]));
            ParquetWriter::new(file)
                .with_key_value_metadata(kv)
                .finish(&mut df)
                .expect("write");
            path
        };
        let marker = Marker::new(
            "cases.csv".into(),
            &ColumnMapping::default(),
            RowPlaces::simple(2),
            1e6,
        );
        let mut old = serde_json::to_value(&marker).expect("json");
        old["version"] = 1.into();
        let older = write("older.parquet", Some(old.to_string()));
        let e = super::marker(&older).expect_err("stale");
        assert!(e.to_string().contains("version 1"), "{e}");
        assert!(refuse_foreign(&older).is_ok(), "convert may replace it");
        let foreign = write("foreign.parquet", None);
        assert!(refuse_foreign(&foreign).is_err());
    }

    /// A typed table read in slices and built slice by slice gives the cases, rejects and
    /// counts of the whole read.
    #[test]
    fn slices_built_as_they_come_give_the_whole_tables_cases() {
        let config = crate::config::RegionConfig::default_drg();
        let catalog = super::super::groups::test_catalog(
            &[("ES31", "2.0", "ES3", "1"), ("ES35", "1.0", "ES3", "5")],
            &config,
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let csv = dir.path().join("cases.csv");
        let mut text = String::from(
            "case_id,hospital_id,patient_id,admit_date,discharge_date,group_code,total_cost,main_procedure,main_diagnosis\n",
        );
        for i in 0..300 {
            let cost = if i % 17 == 5 {
                "n/a".to_string()
            } else {
                format!("{}", 900 + i)
            };
            let group = ["ES31", "ES35", "XX99"][i % 3];
            text.push_str(&format!(
                "C{i},H{},P{},2024-03-01,2024-03-0{},{group},{cost},06.2x0{},A{:02}.000\n",
                i % 5,
                i % 41,
                2 + i % 7,
                i % 4,
                i % 59
            ));
        }
        std::fs::write(&csv, text).expect("write");
        let out = dir.path().join("cases.parquet");
        let opts = super::super::ReadOptions::default();
        super::super::convert(&csv, &out, &catalog, &opts).expect("converts");
        let marker = marker(&out).expect("reads").expect("a typed table");
        let (df, mapping, places) = read(&out, &marker, opts.max_stay_cost_yuan).expect("reads");
        let want = super::super::assemble::assemble(
            df,
            &out,
            super::super::Format::Parquet,
            None,
            &mapping,
            &catalog,
            &places,
        )
        .expect("assembles");
        assert!(!want.rejects.is_empty());
        for slice in [7, 64, 1000] {
            let mut built: Option<super::super::assemble::Streaming> = None;
            let mut sink = |df: DataFrame, m: &ColumnMapping, rows: usize| {
                let with = (out.as_path(), &catalog, &places);
                super::super::assemble::Streaming::feed(&mut built, with, df, m, rows)
            };
            read_slices_sized(&out, &marker, opts.max_stay_cost_yuan, &mut sink, slice)
                .expect("reads");
            let got = built
                .expect("rows")
                .finish(super::super::Format::Parquet, None)
                .expect("builds")
                .expect("no duplicate case id");
            assert_eq!(
                format!("{:?}", got.cases),
                format!("{:?}", want.cases),
                "slice {slice}"
            );
            assert_eq!(format!("{:?}", got.rejects), format!("{:?}", want.rejects));
            assert_eq!(format!("{:?}", got.stats), format!("{:?}", want.stats));
            assert!(
                !got.cases.procedures.of(0).is_empty(),
                "the procedures are kept"
            );
        }
    }
}
