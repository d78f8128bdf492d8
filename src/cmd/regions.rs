//! `drg-audit regions`: the pooling regions of a multi-region case table, or the table split
//! into one case table per region.
//!
//! Peers are regional: a hospital is paid from its own pooling region's budget at that
//! region's point value, so an audit compares it with that region's hospitals only. A
//! national or provincial extract is therefore one `run` per region, each with its own
//! `--out` and nothing shared between them (README, "Many regions"). This command is the one
//! step before those jobs: it lists the regions with their stays (largest first, the order
//! to start them in) and, with `--split DIR`, writes `DIR/<region>/cases.csv` for each and
//! `DIR/regions.csv` (`region, stays, folder`), the list a batch scheduler iterates over.
//!
//! The region column is `region` (also spelt `pooling_region` or `统筹区`, matched like every
//! header: case, spaces and underscores ignored), or whichever `--column` names. Rows are
//! copied field by field (quoted fields stay one field, line breaks inside quotes included)
//! and bytes are not re-encoded, so a GB18030 file splits into GB18030 files. A row whose
//! region cell is empty goes to the folder `_blank` and is listed, never dropped.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::cli::RegionsArgs;
use crate::error::{AuditError, Result};
use crate::schema::normalise_header;

/// Headers taken as the region column when `--column` is not given.
pub const REGION_COLUMN: [&str; 3] = ["region", "pooling_region", "统筹区"];

/// Folder of the rows whose region cell is empty.
const BLANK: &str = "_blank";

/// What `regions` needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The multi-region case table (CSV).
    pub cases: PathBuf,
    /// Header of the region column; `None` = [`REGION_COLUMN`].
    pub column: Option<String>,
    /// Write one case table per region into this folder.
    pub split: Option<PathBuf>,
}

impl From<RegionsArgs> for Options {
    fn from(a: RegionsArgs) -> Self {
        Options {
            cases: a.cases,
            column: a.column,
            split: a.split,
        }
    }
}

/// One region of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionCount {
    /// The region cell as written (lossily decoded for display).
    pub region: String,
    /// Data rows of the region.
    pub stays: u64,
    /// Folder name under `--split` (safe for any file system).
    pub folder: String,
}

/// Lists the regions, or splits the table, and prints one line per region.
pub fn command(opts: Options) -> Result<()> {
    let regions = match &opts.split {
        None => list(&opts.cases, opts.column.as_deref())?,
        Some(out) => split(&opts.cases, opts.column.as_deref(), out)?,
    };
    super::print_line("region,stays,folder")?;
    for r in &regions {
        super::print_line(format_args!("{},{},{}", r.region, r.stays, r.folder))?;
    }
    if let Some(out) = &opts.split {
        super::print_line(format_args!(
            "{} regions written to {} (index: regions.csv); audit each: drg-audit run --cases {}/<folder>/cases.csv --out <DIR>/<folder>",
            regions.len(),
            out.display(),
            out.display()
        ))?;
    }
    Ok(())
}

/// The regions of `cases` with their stay counts, largest first (ties by region).
pub fn list(cases: &Path, column: Option<&str>) -> Result<Vec<RegionCount>> {
    Ok(scan(cases, column, |_, _, _| Ok(()))?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

/// Writes `out/<folder>/cases.csv` for every region of `cases` (header first, rows in file
/// order) and `out/regions.csv`; returns the regions as [`list`] does. `out` is replaced
/// only if it is a previous output of this program (like `run --out`).
pub fn split(cases: &Path, column: Option<&str>, out: &Path) -> Result<Vec<RegionCount>> {
    let dir = crate::report::OutputDir::create(out)?;
    let staging = dir.staging_path().to_path_buf();
    // Region value → (its temporary folder, the open writer). Folders are named once the
    // counts are known (a folder name depends on the other regions' names).
    let mut writers: HashMap<Vec<u8>, (PathBuf, csv::Writer<BufWriter<File>>)> = HashMap::new();
    let regions = scan(cases, column, |header, value, record| {
        if !writers.contains_key(value) {
            let folder = staging.join(format!(".open-{}", writers.len()));
            std::fs::create_dir_all(&folder).map_err(|e| AuditError::io(&folder, e))?;
            let path = folder.join("cases.csv");
            let file = File::create(&path).map_err(|e| AuditError::io(&path, e))?;
            let mut w = csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(BufWriter::with_capacity(1 << 16, file));
            w.write_byte_record(header)
                .map_err(|e| write_error(&path, e))?;
            writers.insert(value.to_vec(), (folder, w));
        }
        let (folder, w) = writers.get_mut(value).expect("inserted above");
        w.write_byte_record(record)
            .map_err(|e| write_error(folder, e))
    })?;
    let mut index = String::from("region,stays,folder\n");
    for (value, r) in &regions {
        let (folder, w) = writers.remove(value).expect("every region has a writer");
        w.into_inner()
            .map_err(|e| AuditError::io(&folder, e.into_error()))?;
        let to = staging.join(&r.folder);
        std::fs::rename(&folder, &to).map_err(|e| AuditError::io(&to, e))?;
        index.push_str(&format!(
            "{},{},{}\n",
            csv_cell(&r.region),
            r.stays,
            r.folder
        ));
    }
    dir.write("regions.csv", index)?;
    dir.adopt_streamed()?;
    dir.commit()?;
    Ok(regions.into_iter().map(|(_, r)| r).collect())
}

fn write_error(path: &Path, e: csv::Error) -> AuditError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => AuditError::io(path, io),
        other => AuditError::input(path, "file", format!("cannot be written ({other:?})")),
    }
}

fn csv_error(path: &Path, e: csv::Error) -> AuditError {
    AuditError::input(path, "file", format!("cannot be read as CSV ({e})"))
}

/// A CSV cell: quoted when it holds a comma, quote or line break.
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Decodes a header or cell: UTF-8, else GB18030 (the two encodings `run` reads).
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    }
}

/// Reads every record of `cases`, calling `each(header, region value, record)`, and counts
/// the regions.
fn scan(
    cases: &Path,
    column: Option<&str>,
    mut each: impl FnMut(&csv::ByteRecord, &[u8], &csv::ByteRecord) -> Result<()>,
) -> Result<Vec<(Vec<u8>, RegionCount)>> {
    crate::files::require_file(cases, "--cases")?;
    let file = File::open(cases).map_err(|e| AuditError::io(cases, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(file);
    let mut header = csv::ByteRecord::new();
    if !reader
        .read_byte_record(&mut header)
        .map_err(|e| csv_error(cases, e))?
    {
        return Err(AuditError::input(
            cases,
            "header",
            "the file is empty; give the case table with its header line",
        ));
    }
    let wanted: Vec<String> = match column {
        Some(c) => vec![normalise_header(c)],
        None => REGION_COLUMN.iter().map(|c| normalise_header(c)).collect(),
    };
    let at = header
        .iter()
        .position(|h| wanted.contains(&normalise_header(&decode(h))))
        .ok_or_else(|| {
            AuditError::input(
                cases,
                "header",
                format!(
                    "no region column ({}); name it with --column",
                    match column {
                        Some(c) => c.to_string(),
                        None => REGION_COLUMN.join(", "),
                    }
                ),
            )
        })?;
    let mut counts: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(cases, e))?
    {
        let value = trim(record.get(at).unwrap_or(b""));
        match counts.get_mut(value) {
            Some(n) => *n += 1,
            None => {
                counts.insert(value.to_vec(), 1);
            }
        }
        each(&header, value, &record)?;
    }
    let mut regions: Vec<(Vec<u8>, u64)> = counts.into_iter().collect();
    regions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let names = folder_names(regions.iter().map(|(v, _)| v.as_slice()));
    Ok(regions
        .into_iter()
        .zip(names)
        .map(|((v, stays), folder)| {
            let region = decode(&v);
            (
                v,
                RegionCount {
                    region,
                    stays,
                    folder,
                },
            )
        })
        .collect())
}

/// A cell without surrounding ASCII spaces.
fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

/// One folder name per region value: the value itself when it is a plain code (ASCII
/// letters, digits, `-`, `_`, at most 64), else `region-<n>`; `_blank` for an empty cell;
/// made unique case-insensitively (a region called `Region-1` and a fallback do not clash).
fn folder_names<'a>(values: impl Iterator<Item = &'a [u8]>) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (n, v) in values.enumerate() {
        let plain = !v.is_empty()
            && v.len() <= 64
            && v.iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_');
        let base = if v.is_empty() {
            BLANK.to_string()
        } else if plain {
            String::from_utf8_lossy(v).into_owned()
        } else {
            format!("region-{}", n + 1)
        };
        let mut name = base.clone();
        let mut i = 2;
        while !taken.insert(name.to_ascii_lowercase()) {
            name = format!("{base}-{i}");
            i += 1;
        }
        out.push(name);
    }
    out
}
