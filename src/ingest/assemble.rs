//! The whole-table pass after the streaming read: rejects, duplicate `case_id`s, interning.
//!
//! The table is cut into blocks of rows that are processed in parallel, straight from the
//! polars chunks (no copy of the columns). Everything that needs the whole table is merged
//! in block order, so the result is the one a single pass in file order gives:
//! - codes and hospitals are interned per block, then merged block by block (both are few);
//! - duplicate `case_id`s and patients (as many as the rows) go through [`first_seen`],
//!   which hash-partitions the keys so that each partition's map stays small.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::encoding::TextEncoding;
use super::layout::RowPlaces;
use super::pipeline::{REASON, ROW, SEP, WARN, shorten, shown, soft_names};
use super::values;
use super::{
    Cases, CodeBook, CodeLists, Format, Hospital, IngestStats, Ingested, NONE_U32, Reject,
    TextColumn,
};
use crate::catalog::Catalog;
use crate::error::{AuditError, Result};
use crate::schema::{ColumnMapping, FEE_COLUMNS};

/// Rows per block.
const BLOCK_ROWS: usize = 1 << 16;

/// Blocks built between two releases of freed memory (≈ 1 M rows).
const WAVE_BLOCKS: usize = 16;

/// Partitions of [`first_seen`]: ~40 000 keys each at 10 M rows, so each map fits a cache.
const PARTS: usize = 256;

/// The columns of one block of rows.
struct Block<'a> {
    len: usize,
    row: &'a IdxCa,
    reason: &'a StringChunked,
    unreadable: &'a UInt32Chunked,
    case_id: &'a StringChunked,
    hospital_id: &'a StringChunked,
    patient_id: &'a StringChunked,
    group_code: &'a StringChunked,
    name: Option<&'a StringChunked>,
    main_dx: Option<&'a StringChunked>,
    department: Option<&'a StringChunked>,
    physician: Option<&'a StringChunked>,
    secondary: Option<&'a StringChunked>,
    main_px: Option<&'a StringChunked>,
    other_px: Option<&'a StringChunked>,
    admit: &'a Int32Chunked,
    discharge: &'a Int32Chunked,
    cost: &'a Float64Chunked,
    level: Option<&'a Int32Chunked>,
    los: Option<&'a UInt32Chunked>,
    disposition: Option<&'a Int32Chunked>,
    planned: Option<&'a Int32Chunked>,
    fees: Vec<Option<&'a Float32Chunked>>,
}

impl<'a> Block<'a> {
    fn new(df: &'a DataFrame, path: &Path) -> Result<Self> {
        let engine = |e| AuditError::engine(path, e);
        let get = |name: &str| df.column(name).map_err(engine);
        let opt = |name: &str| df.column(name).ok();
        let text = |name: &str| get(name)?.str().map_err(engine);
        let opt_text = |name: &str| opt(name).map(|c| c.str().map_err(engine)).transpose();
        let opt_i32 = |name: &str| opt(name).map(|c| c.i32().map_err(engine)).transpose();
        Ok(Block {
            len: df.height(),
            row: get(ROW)?.idx().map_err(engine)?,
            reason: text(REASON)?,
            unreadable: get(WARN)?.u32().map_err(engine)?,
            case_id: text("case_id")?,
            hospital_id: text("hospital_id")?,
            patient_id: text("patient_id")?,
            group_code: text("group_code")?,
            name: opt_text("hospital_name")?,
            main_dx: opt_text("main_diagnosis")?,
            department: opt_text("department")?,
            physician: opt_text("physician_id")?,
            secondary: opt_text("secondary_diagnoses")?,
            main_px: opt_text("main_procedure")?,
            other_px: opt_text("other_procedures")?,
            admit: get("admit_date")?.i32().map_err(engine)?,
            discharge: get("discharge_date")?.i32().map_err(engine)?,
            cost: get("total_cost")?.f64().map_err(engine)?,
            level: opt_i32("hospital_level")?,
            los: opt("los_days")
                .map(|c| c.u32().map_err(engine))
                .transpose()?,
            disposition: opt_i32("discharge_disposition")?,
            planned: opt_i32("planned_readmission_31d")?,
            fees: FEE_COLUMNS
                .iter()
                .map(|f| opt(f).map(|c| c.f32().map_err(engine)).transpose())
                .collect::<Result<_>>()?,
        })
    }
}

/// An optional text column's cells, or `None`s.
fn cells<'a>(
    ca: Option<&'a StringChunked>,
    len: usize,
) -> Box<dyn Iterator<Item = Option<&'a str>> + 'a> {
    match ca {
        Some(ca) => Box::new(ca.iter()),
        None => Box::new(std::iter::repeat_n(None, len)),
    }
}

fn trimmed(cell: Option<&str>) -> &str {
    cell.map(values::trim).unwrap_or("")
}

/// The first pass over a block: row rejects, catalogue look-ups, unreadable cells.
struct Screened<'a> {
    /// Rejected rows (block-local row index, reject).
    rejects: Vec<(usize, Reject)>,
    /// Rows that passed, block-local.
    rows: Vec<u32>,
    /// Their trimmed `case_id`.
    keys: Vec<&'a str>,
    /// Their catalogue group.
    groups: Vec<u32>,
    /// Unreadable optional cells per column of [`soft_names`].
    unreadable: Vec<u64>,
}

fn screen<'a>(b: &Block<'a>, places: &RowPlaces, n_soft: usize, catalog: &Catalog) -> Screened<'a> {
    let mut unreadable = vec![0u64; n_soft];
    for bits in b.unreadable.iter().flatten().filter(|b| *b != 0) {
        for (j, count) in unreadable.iter_mut().enumerate() {
            *count += u64::from(bits >> j & 1);
        }
    }
    let mut out = Screened {
        rejects: Vec::new(),
        rows: Vec::with_capacity(b.len),
        keys: Vec::with_capacity(b.len),
        groups: Vec::with_capacity(b.len),
        unreadable,
    };
    let mut lookups: FxHashMap<&str, Option<u32>> = FxHashMap::default();
    let cells = b
        .row
        .iter()
        .zip(b.reason.iter())
        .zip(b.case_id.iter())
        .zip(b.group_code.iter());
    for (j, (((row, reason), case_id), code)) in cells.enumerate() {
        let case_id = trimmed(case_id);
        let reject = |column: &str, reason: String| {
            (
                j,
                Reject {
                    line: places.line(row.unwrap_or_default()),
                    case_id: case_id.to_string(),
                    column: column.to_string(),
                    reason,
                    file: String::new(),
                    ungroupable: false,
                },
            )
        };
        if let Some(why) = places.ragged(row.unwrap_or_default()) {
            out.rejects.push(reject("fields", why));
            continue;
        }
        if let Some(r) = reason {
            let (column, reason) = r.split_once(SEP).unwrap_or(("", r));
            out.rejects.push(reject(column, reason.to_string()));
            continue;
        }
        let code = trimmed(code);
        let group = *lookups.entry(code).or_insert_with(|| catalog.lookup(code));
        let Some(g) = group else {
            if catalog.is_ungroupable(code) {
                let (j, mut r) = reject(
                    "group_code",
                    format!(
                        "ungroupable: group_code {} has no weight in the catalogue ({}); the \
                         stay is counted as ungroupable and not analysed",
                        shown("group_code", code),
                        catalog.source
                    ),
                );
                r.ungroupable = true;
                out.rejects.push((j, r));
                continue;
            }
            out.rejects.push(reject(
                "group_code",
                format!("group_code {} is not in the catalogue ({}); regroup the case, or (run) add the group to --groups", shown("group_code", code), catalog.source),
            ));
            continue;
        };
        out.rows.push(j as u32);
        out.keys.push(case_id);
        out.groups.push(g);
    }
    out
}

/// The partition of a key in [`first_seen`]: bits of its hash that the maps inside a
/// partition do not use for their buckets and tags.
fn part_of(key: &str) -> u8 {
    let h = FxBuildHasher.hash_one(key);
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8
}

/// A list of keys read in order.
trait Keys: Sync {
    fn len(&self) -> usize;
    fn each(&self) -> impl Iterator<Item = &str>;
}

impl Keys for Vec<&str> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn each(&self) -> impl Iterator<Item = &str> {
        self.iter().copied()
    }
}

impl<K: Keys> Keys for &K {
    fn len(&self) -> usize {
        K::len(self)
    }
    fn each(&self) -> impl Iterator<Item = &str> {
        K::each(self)
    }
}

impl Keys for TextColumn {
    fn len(&self) -> usize {
        TextColumn::len(self)
    }
    fn each(&self) -> impl Iterator<Item = &str> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let s = &self.bytes[start as usize..end as usize];
            start = end;
            s
        })
    }
}

/// The keys of one segment that fall into one partition, copied side by side so that a
/// partition is read sequentially.
#[derive(Default, Clone)]
struct Bucket {
    bytes: String,
    ends: Vec<u32>,
    /// Index of each key in its segment.
    index: Vec<u32>,
}

/// For the keys of `segments` taken in order (as one list), the index in that list of the
/// first key equal to each.
///
/// Keys are hash-partitioned; each partition is scanned in list order with its own map, in
/// parallel, so each key's first occurrence is found as by one pass over the whole list.
fn first_seen<K: Keys>(segments: &[K]) -> Vec<Vec<u32>> {
    let mut offsets = Vec::with_capacity(segments.len());
    let mut total = 0u32;
    for s in segments {
        offsets.push(total);
        total += s.len() as u32;
    }
    let parted: Vec<(Vec<u8>, Vec<Bucket>)> = segments
        .par_iter()
        .map(|seg| {
            let mut parts = Vec::with_capacity(seg.len());
            let mut buckets = vec![Bucket::default(); PARTS];
            for (j, key) in seg.each().enumerate() {
                let p = part_of(key);
                parts.push(p);
                let b = &mut buckets[p as usize];
                b.bytes.push_str(key);
                b.ends.push(b.bytes.len() as u32);
                b.index.push(j as u32);
            }
            (parts, buckets)
        })
        .collect();
    let firsts: Vec<Vec<u32>> = (0..PARTS)
        .into_par_iter()
        .map(|p| {
            let size = parted.iter().map(|(_, b)| b[p].index.len()).sum();
            let mut seen: FxHashMap<&str, u32> =
                FxHashMap::with_capacity_and_hasher(size, FxBuildHasher);
            let mut out = Vec::with_capacity(size);
            for ((_, buckets), &offset) in parted.iter().zip(&offsets) {
                let b = &buckets[p];
                let mut start = 0;
                for (&end, &j) in b.ends.iter().zip(&b.index) {
                    let key = &b.bytes[start as usize..end as usize];
                    start = end;
                    out.push(*seen.entry(key).or_insert(offset + j));
                }
            }
            out
        })
        .collect();
    let mut starts = Vec::with_capacity(segments.len());
    let mut running = vec![0usize; PARTS];
    for (_, buckets) in &parted {
        starts.push(running.clone());
        for (r, b) in running.iter_mut().zip(buckets) {
            *r += b.index.len();
        }
    }
    parted
        .into_par_iter()
        .zip(starts)
        .map(|((parts, buckets), mut cursor)| {
            drop(buckets);
            parts
                .iter()
                .map(|&p| {
                    let c = &mut cursor[p as usize];
                    *c += 1;
                    firsts[p as usize][*c - 1]
                })
                .collect()
        })
        .collect()
}

/// Cuts `v` into consecutive pieces of the given lengths.
fn pieces<'a, T>(mut v: &'a mut [T], lens: &[usize]) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(lens.len());
    for &len in lens {
        let (head, tail) = std::mem::take(&mut v).split_at_mut(len);
        out.push(head);
        v = tail;
    }
    out
}

/// One block's share of the output columns.
struct Out<'a> {
    line: &'a mut [u64],
    hospital: &'a mut [u32],
    admit: &'a mut [i32],
    discharge: &'a mut [i32],
    los: &'a mut [u32],
    group: &'a mut [u32],
    cost: &'a mut [f64],
    main: &'a mut [u32],
    department: &'a mut [u32],
    physician: &'a mut [u32],
    disposition: &'a mut [u8],
    planned: &'a mut [bool],
    fees: Vec<Option<&'a mut [f32]>>,
}

/// What a block interned locally, merged later in block order (owned: the block's frame is
/// dropped as soon as the block is built).
struct Local {
    /// Hospital ids in order of first sight; `hospital` holds indexes into this.
    hospitals: Vec<String>,
    /// First non-empty name of each local hospital.
    names: Vec<String>,
    votes: Vec<[u64; 4]>,
    /// Codes in order of first sight; `main` and `items` hold indexes into this.
    codes: TextColumn,
    items: Vec<u32>,
    /// Number of secondary codes of each kept row.
    n_items: Vec<u32>,
    /// Procedure codes (main first, then the others), indexes into `codes`; with
    /// `n_procs`, empty when the file has neither procedure column.
    procs: Vec<u32>,
    n_procs: Vec<u32>,
    patients: TextColumn,
    case_id: TextColumn,
    /// Departments and physicians in order of first sight; `department` and `physician`
    /// of the block's rows hold indexes into these.
    departments: Vec<String>,
    physicians: Vec<String>,
}

/// Copies the cells of kept rows into `dst`, through `f`.
fn fill<T: PolarsNumericType, U>(
    dst: &mut [U],
    src: &ChunkedArray<T>,
    keep: &[bool],
    f: impl Fn(Option<T::Native>) -> U,
) {
    let mut out = dst.iter_mut();
    if out.len() == keep.len() && src.null_count() == 0 {
        // Every row kept and no nulls (the common block): straight over the values.
        for arr in src.downcast_iter() {
            // Values first: `zip` must not take an output slot past a chunk's end.
            for (v, d) in arr.values().iter().zip(out.by_ref()) {
                *d = f(Some(*v));
            }
        }
        return;
    }
    for (v, _) in src.iter().zip(keep).filter(|(_, k)| **k) {
        *out.next().expect("kept rows fit") = f(v);
    }
}

fn local_index<'a>(
    index: &mut FxHashMap<&'a str, u32>,
    list: &mut Vec<&'a str>,
    key: &'a str,
) -> u32 {
    *index.entry(key).or_insert_with(|| {
        list.push(key);
        (list.len() - 1) as u32
    })
}

/// Interns an optional text column's kept cells into `dst` (local indexes, [`NONE_U32`]
/// for an empty cell); returns the distinct values in order of first sight.
fn intern_text(src: Option<&StringChunked>, keep: &[bool], dst: &mut [u32]) -> Vec<String> {
    let Some(src) = src else {
        dst.fill(NONE_U32);
        return Vec::new();
    };
    let mut list: Vec<&str> = Vec::new();
    let mut index: FxHashMap<&str, u32> = FxHashMap::default();
    let mut out = dst.iter_mut();
    for (cell, _) in src.iter().zip(keep).filter(|(_, k)| **k) {
        let v = trimmed(cell);
        let slot = out.next().expect("kept rows fit");
        *slot = if v.is_empty() {
            NONE_U32
        } else {
            local_index(&mut index, &mut list, v)
        };
    }
    list.into_iter().map(str::to_string).collect()
}

/// Merges blocks' local lists into one list in block order; returns it and each block's
/// local → global map.
fn merge_lists(lists: impl Iterator<Item = Vec<String>>) -> (Vec<String>, Vec<Vec<u32>>) {
    let mut all: Vec<String> = Vec::new();
    let mut index: FxHashMap<String, u32> = FxHashMap::default();
    let maps = lists
        .map(|l| {
            l.into_iter()
                .map(|v| {
                    *index.entry(v).or_insert_with_key(|v| {
                        all.push(v.clone());
                        (all.len() - 1) as u32
                    })
                })
                .collect()
        })
        .collect();
    (all, maps)
}

/// The second pass over a block: the typed columns of the kept rows, and local interning.
fn build(b: &Block, keep: &[bool], groups: &[u32], places: &RowPlaces, out: Out<'_>) -> Local {
    fill(out.line, b.row, keep, |r| {
        places.line(r.unwrap_or_default())
    });
    fill(out.admit, b.admit, keep, |v| v.unwrap_or(0));
    fill(out.discharge, b.discharge, keep, |v| v.unwrap_or(0));
    fill(out.cost, b.cost, keep, |v| v.unwrap_or(0.0));
    out.group.copy_from_slice(groups);
    match b.los {
        Some(los) => {
            let given = los.iter().zip(keep).filter(|(_, k)| **k).map(|(v, _)| v);
            for (((l, g), a), d) in out
                .los
                .iter_mut()
                .zip(given)
                .zip(&*out.admit)
                .zip(&*out.discharge)
            {
                *l = g.unwrap_or_else(|| ((d - a).max(1)) as u32);
            }
        }
        None => {
            for ((l, a), d) in out.los.iter_mut().zip(&*out.admit).zip(&*out.discharge) {
                *l = ((d - a).max(1)) as u32;
            }
        }
    }
    if let Some(disp) = b.disposition {
        fill(out.disposition, disp, keep, |v| v.map_or(0, |x| x as u8));
    }
    if let Some(planned) = b.planned {
        fill(out.planned, planned, keep, |v| v.is_some_and(|x| x == 1));
    }
    for (dst, src) in out.fees.into_iter().zip(&b.fees) {
        if let (Some(dst), Some(src)) = (dst, src) {
            fill(dst, src, keep, |v| v.unwrap_or(0.0));
        }
    }

    let m = out.hospital.len();
    let mut hospitals: Vec<&str> = Vec::new();
    let mut index: FxHashMap<&str, u32> = FxHashMap::default();
    let mut hospital = out.hospital.iter_mut();
    // Rows of one hospital tend to come together: remember the last one.
    let mut last: Option<(&str, u32)> = None;
    for (hid, _) in b.hospital_id.iter().zip(keep).filter(|(_, k)| **k) {
        let hid = trimmed(hid);
        let h = match last {
            Some((id, h)) if id == hid => h,
            _ => local_index(&mut index, &mut hospitals, hid),
        };
        last = Some((hid, h));
        *hospital.next().expect("kept rows fit") = h;
    }
    let mut names = vec![""; hospitals.len()];
    let mut votes = vec![[0; 4]; hospitals.len()];
    if let Some(levels) = b.level {
        let kept = levels.iter().zip(keep).filter(|(_, k)| **k);
        for ((l, _), &h) in kept.zip(&*out.hospital) {
            if let Some(l) = l {
                votes[h as usize][l as usize] += 1;
            }
        }
    }
    if let Some(cells) = b.name {
        let kept = cells.iter().zip(keep).filter(|(_, k)| **k);
        for ((nm, _), &h) in kept.zip(&*out.hospital) {
            let name = &mut names[h as usize];
            if name.is_empty() {
                *name = trimmed(nm);
            }
        }
    }
    let mut local = Local {
        hospitals: hospitals.iter().map(|h| h.to_string()).collect(),
        names: names.iter().map(|n| n.to_string()).collect(),
        votes,
        codes: TextColumn::default(),
        items: Vec::new(),
        n_items: Vec::with_capacity(m),
        procs: Vec::new(),
        n_procs: Vec::new(),
        patients: TextColumn::with_capacity(m),
        case_id: TextColumn::with_capacity(m),
        departments: intern_text(b.department, keep, out.department),
        physicians: intern_text(b.physician, keep, out.physician),
    };
    for (pid, _) in b.patient_id.iter().zip(keep).filter(|(_, k)| **k) {
        local.patients.push(trimmed(pid));
    }
    for (cid, _) in b.case_id.iter().zip(keep).filter(|(_, k)| **k) {
        local.case_id.push(trimmed(cid));
    }

    let mut codes: Vec<&str> = Vec::new();
    let mut index: FxHashMap<&str, u32> = FxHashMap::default();
    // Each row's codes are interned in the row's order (main diagnosis, secondary codes,
    // procedures), so the code book's first-sight order does not depend on where blocks
    // are cut.
    let has_px = b.main_px.is_some() || b.other_px.is_some();
    if has_px {
        local.n_procs.reserve_exact(m);
    }
    let dx = cells(b.main_dx, b.len).zip(cells(b.secondary, b.len));
    let px = cells(b.main_px, b.len).zip(cells(b.other_px, b.len));
    let mut main = out.main.iter_mut();
    for (((mdx, sec), (mpx, others)), _) in dx.zip(px).zip(keep).filter(|(_, k)| **k) {
        let mdx = mdx.map(values::trim).filter(|s| !s.is_empty());
        *main.next().expect("kept rows fit") = match mdx {
            Some(code) => local_index(&mut index, &mut codes, code),
            None => NONE_U32,
        };
        let before = local.items.len();
        for code in sec.into_iter().flat_map(values::split_codes) {
            let c = local_index(&mut index, &mut codes, code);
            local.items.push(c);
        }
        local.n_items.push((local.items.len() - before) as u32);
        if has_px {
            let before = local.procs.len();
            let listed = mpx
                .map(values::trim)
                .filter(|s| !s.is_empty())
                .into_iter()
                .chain(others.into_iter().flat_map(values::split_codes));
            for code in listed {
                let c = local_index(&mut index, &mut codes, code);
                local.procs.push(c);
            }
            local.n_procs.push((local.procs.len() - before) as u32);
        }
    }
    for code in codes {
        local.codes.push(code);
    }
    local
}

/// One per-case code list of every block (`list` picks the block's items and counts) in
/// block order, through each block's local → global code map.
fn code_lists(
    locals: &[Local],
    code_maps: &[Vec<u32>],
    list: impl Fn(&Local) -> (&Vec<u32>, &Vec<u32>),
) -> CodeLists {
    let n_items: usize = locals.iter().map(|l| list(l).0.len()).sum();
    let n_cases: usize = locals.iter().map(|l| list(l).1.len()).sum();
    let mut items = Vec::with_capacity(n_items);
    let mut offsets = Vec::with_capacity(n_cases + 1);
    offsets.push(0u32);
    for (l, cmap) in locals.iter().zip(code_maps) {
        let (codes, counts) = list(l);
        items.extend(codes.iter().map(|c| cmap[*c as usize]));
        let mut end = *offsets.last().expect("starts with 0");
        offsets.extend(counts.iter().map(|k| {
            end += k;
            end
        }));
    }
    CodeLists { items, offsets }
}

/// Whole-table checks (duplicates, catalogue) and interning into [`Cases`].
pub(super) fn assemble(
    df: DataFrame,
    path: &Path,
    format: Format,
    encoding: Option<TextEncoding>,
    mapping: &ColumnMapping,
    catalog: &Catalog,
    places: &RowPlaces,
) -> Result<Ingested> {
    let n = df.height();
    let trace = std::env::var_os("DRG_AUDIT_TRACE").is_some();
    let t = std::time::Instant::now();
    let frames = blocks_of(df);
    let blocks: Vec<Block> = frames
        .iter()
        .map(|f| Block::new(f, path))
        .collect::<Result<_>>()?;
    let soft = soft_names(mapping);

    // Pass 1: row rejects and catalogue, then duplicate case_ids among the rows that passed.
    let screened: Vec<Screened> = blocks
        .par_iter()
        .map(|b| screen(b, places, soft.len(), catalog))
        .collect();
    let mut rows: Vec<Vec<u32>> = Vec::with_capacity(screened.len());
    let mut keys: Vec<Vec<&str>> = Vec::with_capacity(screened.len());
    let mut groups: Vec<Vec<u32>> = Vec::with_capacity(screened.len());
    let mut row_rejects: Vec<Vec<(usize, Reject)>> = Vec::with_capacity(screened.len());
    let mut unreadable = vec![0u64; soft.len()];
    for s in screened {
        for (u, c) in unreadable.iter_mut().zip(&s.unreadable) {
            *u += c;
        }
        rows.push(s.rows);
        keys.push(s.keys);
        groups.push(s.groups);
        row_rejects.push(s.rejects);
    }
    if trace {
        eprintln!("ingest:     screened {} ms", t.elapsed().as_millis());
    }
    let firsts = first_seen(&keys);
    if trace {
        eprintln!(
            "ingest:     case_id partitions {} ms",
            t.elapsed().as_millis()
        );
    }
    let mut starts = Vec::with_capacity(rows.len());
    let mut total = 0u32;
    for r in &rows {
        starts.push(total);
        total += r.len() as u32;
    }
    let line_of = |b: usize, j: u32| -> u64 {
        places.line(blocks[b].row.get(j as usize).unwrap_or_default())
    };
    let first_line = |g: u32| -> u64 {
        let b = starts.partition_point(|&s| s <= g) - 1;
        line_of(b, rows[b][(g - starts[b]) as usize])
    };
    let mut rejects: Vec<Reject> = Vec::new();
    let mut keep_flags: Vec<Vec<bool>> = Vec::with_capacity(blocks.len());
    let mut kept_groups: Vec<Vec<u32>> = Vec::with_capacity(blocks.len());
    for (bi, mut block_rejects) in row_rejects.into_iter().enumerate() {
        let mut keep = vec![false; blocks[bi].len];
        let mut kept = Vec::with_capacity(rows[bi].len());
        let candidates = rows[bi]
            .iter()
            .zip(&firsts[bi])
            .zip(&keys[bi])
            .zip(&groups[bi]);
        for (k, (((&j, &f), key), &group)) in candidates.enumerate() {
            if f == starts[bi] + k as u32 {
                keep[j as usize] = true;
                kept.push(group);
            } else {
                block_rejects.push((
                    j as usize,
                    Reject {
                        line: line_of(bi, j),
                        case_id: key.to_string(),
                        column: "case_id".to_string(),
                        reason: format!(
                            "duplicate case_id '{}' (first seen on line {})",
                            shorten(key),
                            first_line(f)
                        ),
                        file: String::new(),
                        ungroupable: false,
                    },
                ));
            }
        }
        block_rejects.sort_by_key(|(j, _)| *j);
        rejects.extend(block_rejects.into_iter().map(|(_, r)| r));
        keep_flags.push(keep);
        kept_groups.push(kept);
    }
    drop((firsts, keys, groups, rows));

    let lens: Vec<usize> = kept_groups.iter().map(Vec::len).collect();
    let m: usize = lens.iter().sum();
    usable(path, n, m, &rejects)?;
    let mut stats = ingest_stats(
        path,
        format,
        encoding,
        mapping,
        &soft,
        &unreadable,
        n,
        &rejects,
    );
    stats.rows_analysed = m as u64;
    if trace {
        eprintln!(
            "ingest:   reject checks and duplicate case_id scan {} ms",
            t.elapsed().as_millis()
        );
    }

    drop(blocks);

    // Pass 2: typed columns and local interning per block, then merges in block order.
    let t = std::time::Instant::now();
    let mut cases = Cases::default();
    grow(&mut cases, m, m, mapping);
    let outs = outs(&mut cases, 0, &lens);
    let locals = build_waves(frames, outs, &keep_flags, &kept_groups, path, places)?;
    drop(kept_groups);
    drop(keep_flags);
    if trace {
        eprintln!(
            "ingest:     typed columns and local interning {} ms",
            t.elapsed().as_millis()
        );
    }
    merge(&mut cases, locals, &lens, mapping, &mut stats, trace, t);
    if trace {
        eprintln!(
            "ingest:   interning and typed columns {} ms",
            t.elapsed().as_millis()
        );
    }
    Ok(Ingested {
        cases,
        rejects,
        stats,
    })
}

/// The same checks and interning for a table that arrives in pieces, in file order (the
/// read in pieces): each piece is screened and built as it comes and its frame dropped, so
/// the typed table is never whole in memory. The duplicate `case_id` check runs at the end,
/// over the built case ids; when it finds one, [`Streaming::finish`] gives `None` and the
/// caller reads the table whole ([`assemble`] places each duplicate's reject among the
/// others, and keeps it out of the votes, names and interning).
pub(super) struct Streaming<'a> {
    path: &'a Path,
    mapping: ColumnMapping,
    catalog: &'a Catalog,
    places: &'a RowPlaces,
    soft: Vec<&'static str>,
    unreadable: Vec<u64>,
    /// Rows read.
    n: usize,
    /// Rows built into `cases` (all that passed the row checks).
    m: usize,
    cases: Cases,
    locals: Vec<Local>,
    /// Rows of each block in `cases`.
    lens: Vec<usize>,
    rejects: Vec<Reject>,
}

impl<'a> Streaming<'a> {
    pub(super) fn new(
        path: &'a Path,
        mapping: ColumnMapping,
        catalog: &'a Catalog,
        places: &'a RowPlaces,
    ) -> Self {
        let soft = soft_names(&mapping);
        Streaming {
            path,
            mapping,
            catalog,
            places,
            unreadable: vec![0; soft.len()],
            soft,
            n: 0,
            m: 0,
            cases: Cases::default(),
            locals: Vec::new(),
            lens: Vec::new(),
            rejects: Vec::new(),
        }
    }

    /// Pushes a piece into the builder in `slot`, started at the first piece with the
    /// header's `mapping` (the sinks of the read in pieces and in slices).
    pub(super) fn feed(
        slot: &mut Option<Self>,
        (path, catalog, places): (&'a Path, &'a Catalog, &'a RowPlaces),
        df: DataFrame,
        mapping: &ColumnMapping,
        expected_rows: usize,
    ) -> Result<()> {
        slot.get_or_insert_with(|| Streaming::new(path, mapping.clone(), catalog, places))
            .push(df, expected_rows)
    }

    /// Screens and builds the next piece (rows numbered on from the previous piece);
    /// `expected_rows` is the whole table's row count as far as it can be told, so that
    /// the output columns are allocated once.
    pub(super) fn push(&mut self, df: DataFrame, expected_rows: usize) -> Result<()> {
        self.n += df.height();
        let frames = blocks_of(df);
        let mut keep_flags = Vec::with_capacity(frames.len());
        let mut kept_groups = Vec::with_capacity(frames.len());
        {
            let blocks: Vec<Block> = frames
                .iter()
                .map(|f| Block::new(f, self.path))
                .collect::<Result<_>>()?;
            let (places, n_soft, catalog) = (self.places, self.soft.len(), self.catalog);
            let screened: Vec<Screened> = blocks
                .par_iter()
                .map(|b| screen(b, places, n_soft, catalog))
                .collect();
            for (b, s) in blocks.iter().zip(screened) {
                for (u, c) in self.unreadable.iter_mut().zip(&s.unreadable) {
                    *u += c;
                }
                let mut keep = vec![false; b.len];
                for &j in &s.rows {
                    keep[j as usize] = true;
                }
                let mut block_rejects = s.rejects;
                block_rejects.sort_by_key(|(j, _)| *j);
                self.rejects
                    .extend(block_rejects.into_iter().map(|(_, r)| r));
                keep_flags.push(keep);
                kept_groups.push(s.groups);
            }
        }
        let lens: Vec<usize> = kept_groups.iter().map(Vec::len).collect();
        let from = self.m;
        self.m += lens.iter().sum::<usize>();
        // Room for the rows expected, and an eighth more when a piece goes past them.
        let room = if self.cases.line.capacity() < self.m {
            expected_rows.max(self.m + self.m / 8)
        } else {
            0
        };
        grow(&mut self.cases, self.m, room, &self.mapping);
        let outs = outs(&mut self.cases, from, &lens);
        let locals = build_waves(
            frames,
            outs,
            &keep_flags,
            &kept_groups,
            self.path,
            self.places,
        )?;
        self.locals.extend(locals);
        self.lens.extend(lens);
        Ok(())
    }

    /// The cases, or `None` when two rows that passed the row checks share a `case_id`
    /// (read the table whole then, see [`Streaming`]).
    pub(super) fn finish(
        mut self,
        format: Format,
        encoding: Option<TextEncoding>,
    ) -> Result<Option<Ingested>> {
        let trace = std::env::var_os("DRG_AUDIT_TRACE").is_some();
        let t = std::time::Instant::now();
        let ids: Vec<&TextColumn> = self.locals.iter().map(|l| &l.case_id).collect();
        let firsts = first_seen(&ids);
        let mut start = 0u32;
        for f in &firsts {
            if f.iter()
                .enumerate()
                .any(|(k, &first)| first != start + k as u32)
            {
                return Ok(None);
            }
            start += f.len() as u32;
        }
        drop(firsts);
        drop(ids);
        usable(self.path, self.n, self.m, &self.rejects)?;
        let mut stats = ingest_stats(
            self.path,
            format,
            encoding,
            &self.mapping,
            &self.soft,
            &self.unreadable,
            self.n,
            &self.rejects,
        );
        stats.rows_analysed = self.m as u64;
        if trace {
            eprintln!(
                "ingest:   duplicate case_id scan {} ms",
                t.elapsed().as_millis()
            );
        }
        merge(
            &mut self.cases,
            self.locals,
            &self.lens,
            &self.mapping,
            &mut stats,
            trace,
            t,
        );
        Ok(Some(Ingested {
            cases: self.cases,
            rejects: self.rejects,
            stats,
        }))
    }
}

/// A frame cut into blocks of about [`BLOCK_ROWS`] rows (no copy).
fn blocks_of(df: DataFrame) -> Vec<DataFrame> {
    let n = df.height();
    df.split_chunks_by_n(n.div_ceil(BLOCK_ROWS).max(1), true)
}

/// The error when a table has no rows, or none usable (`m` of `n` kept).
fn usable(path: &Path, n: usize, m: usize, rejects: &[Reject]) -> Result<()> {
    if n == 0 {
        return Err(AuditError::input(
            path,
            "rows",
            "has a header but no data rows; export the table again with its rows",
        ));
    }
    if m == 0 {
        let hint = rejects
            .first()
            .map(|r| format!(" (line {}: {})", r.line, r.reason))
            .unwrap_or_default();
        // No rejects.csv is written when the run stops here: the hint is the first problem.
        return Err(AuditError::input(
            path,
            "rows",
            format!("no usable rows among {n} read{hint}; fix the file and run again"),
        ));
    }
    Ok(())
}

/// The read's counts: rows read and rejected, by column, unreadable optional cells.
#[allow(clippy::too_many_arguments)]
fn ingest_stats(
    path: &Path,
    format: Format,
    encoding: Option<TextEncoding>,
    mapping: &ColumnMapping,
    soft: &[&str],
    unreadable: &[u64],
    n: usize,
    rejects: &[Reject],
) -> IngestStats {
    let mut stats = IngestStats {
        path: path.to_path_buf(),
        format,
        encoding,
        delimiter: None,
        sheet: None,
        rows_read: n as u64,
        rows_analysed: 0,
        rows_rejected: rejects.len() as u64,
        rows_ungroupable: rejects.iter().filter(|r| r.ungroupable).count() as u64,
        sub_tables: Vec::new(),
        rejected_by_column: BTreeMap::new(),
        unreadable_optional_cells: BTreeMap::new(),
        hospitals_with_conflicting_level: Vec::new(),
        columns: mapping
            .found
            .iter()
            .map(|(c, h)| (c.to_string(), h.clone()))
            .collect(),
        unknown_columns: mapping.unknown.clone(),
        invalid_utf8: None,
        converted_from: None,
    };
    for (name, &count) in soft.iter().zip(unreadable) {
        if count > 0 {
            stats
                .unreadable_optional_cells
                .insert(name.to_string(), count);
        }
    }
    for r in rejects {
        *stats
            .rejected_by_column
            .entry(r.column.clone())
            .or_default() += 1;
    }
    stats
}

/// Lengthens every output column of `cases` to `m` rows (fees: the columns the file has),
/// with the values an absent cell gets, after reserving room for `room` rows exactly (no
/// doubling; nothing when the room is there).
fn grow(cases: &mut Cases, m: usize, room: usize, mapping: &ColumnMapping) {
    fn fit<T: Clone>(v: &mut Vec<T>, m: usize, room: usize, fill: T) {
        v.reserve_exact(room.saturating_sub(v.len()));
        v.resize(m, fill);
    }
    fit(&mut cases.line, m, room, 0);
    fit(&mut cases.hospital, m, room, 0);
    fit(&mut cases.patient, m, room, 0);
    fit(&mut cases.admit, m, room, 0);
    fit(&mut cases.discharge, m, room, 0);
    fit(&mut cases.los, m, room, 0);
    fit(&mut cases.group, m, room, 0);
    fit(&mut cases.cost, m, room, 0.0);
    fit(&mut cases.main_diagnosis, m, room, 0);
    fit(&mut cases.department, m, room, NONE_U32);
    fit(&mut cases.physician, m, room, NONE_U32);
    fit(&mut cases.disposition, m, room, 0);
    fit(&mut cases.planned, m, room, false);
    if cases.fees.is_empty() {
        cases.fees = FEE_COLUMNS
            .iter()
            .map(|f| mapping.has(f).then(Vec::new))
            .collect();
    }
    for fee in cases.fees.iter_mut().flatten() {
        fit(fee, m, room, 0.0);
    }
}

/// The output columns of `cases` from row `from` on, cut into one share per block of
/// `lens` rows.
fn outs<'a>(cases: &'a mut Cases, from: usize, lens: &[usize]) -> Vec<Out<'a>> {
    let mut line = pieces(&mut cases.line[from..], lens).into_iter();
    let mut hospital = pieces(&mut cases.hospital[from..], lens).into_iter();
    let mut admit = pieces(&mut cases.admit[from..], lens).into_iter();
    let mut discharge = pieces(&mut cases.discharge[from..], lens).into_iter();
    let mut los = pieces(&mut cases.los[from..], lens).into_iter();
    let mut group = pieces(&mut cases.group[from..], lens).into_iter();
    let mut cost = pieces(&mut cases.cost[from..], lens).into_iter();
    let mut main = pieces(&mut cases.main_diagnosis[from..], lens).into_iter();
    let mut department = pieces(&mut cases.department[from..], lens).into_iter();
    let mut physician = pieces(&mut cases.physician[from..], lens).into_iter();
    let mut disposition = pieces(&mut cases.disposition[from..], lens).into_iter();
    let mut planned = pieces(&mut cases.planned[from..], lens).into_iter();
    let mut fees: Vec<Option<std::vec::IntoIter<&mut [f32]>>> = cases
        .fees
        .iter_mut()
        .map(|f| f.as_mut().map(|v| pieces(&mut v[from..], lens).into_iter()))
        .collect();
    (0..lens.len())
        .map(|_| Out {
            line: line.next().expect("one per block"),
            hospital: hospital.next().expect("one per block"),
            admit: admit.next().expect("one per block"),
            discharge: discharge.next().expect("one per block"),
            los: los.next().expect("one per block"),
            group: group.next().expect("one per block"),
            cost: cost.next().expect("one per block"),
            main: main.next().expect("one per block"),
            department: department.next().expect("one per block"),
            physician: physician.next().expect("one per block"),
            disposition: disposition.next().expect("one per block"),
            planned: planned.next().expect("one per block"),
            fees: fees
                .iter_mut()
                .map(|f| f.as_mut().map(|it| it.next().expect("one per block")))
                .collect(),
        })
        .collect()
}

/// Pass 2 over `frames`' blocks into their `outs`: typed columns and local interning.
/// Blocks are built in waves, in parallel within a wave. Each block's frame is dropped once
/// it is built, and after each wave the freed pages go back to the system: the read's
/// columns shrink as the output columns fill, so the two are never both whole in memory
/// (10 M stays: 3 GiB of frame, 2 GiB of cases).
fn build_waves(
    frames: Vec<DataFrame>,
    outs: Vec<Out<'_>>,
    keep_flags: &[Vec<bool>],
    kept_groups: &[Vec<u32>],
    path: &Path,
    places: &RowPlaces,
) -> Result<Vec<Local>> {
    let mut locals = Vec::with_capacity(frames.len());
    let mut work = frames
        .into_iter()
        .zip(outs)
        .zip(keep_flags.iter().zip(kept_groups));
    loop {
        let wave: Vec<_> = work.by_ref().take(WAVE_BLOCKS).collect();
        if wave.is_empty() {
            break;
        }
        let built: Vec<Local> = wave
            .into_par_iter()
            .map(|((frame, out), (keep, groups))| {
                let b = Block::new(&frame, path)?;
                Ok(build(&b, keep, groups, places, out))
            })
            .collect::<Result<_>>()?;
        locals.extend(built);
        crate::memory::release_freed();
    }
    Ok(locals)
}

/// Merges the blocks' local interning into `cases` in block order (`lens`: each block's
/// rows): hospitals with their level votes, codes and code lists, departments, physicians,
/// case ids, patients numbered in order of first sight.
fn merge(
    cases: &mut Cases,
    mut locals: Vec<Local>,
    lens: &[usize],
    mapping: &ColumnMapping,
    stats: &mut IngestStats,
    trace: bool,
    t: std::time::Instant,
) {
    let m: usize = lens.iter().sum();
    // Hospitals: merged in block order; level votes summed.
    let mut hospital_index: FxHashMap<&str, u32> = FxHashMap::default();
    let mut votes: Vec<[u64; 4]> = Vec::new();
    let hospital_maps: Vec<Vec<u32>> = locals
        .iter()
        .map(|l| {
            l.hospitals
                .iter()
                .zip(&l.names)
                .zip(&l.votes)
                .map(|((id, name), v)| {
                    let h = *hospital_index.entry(id).or_insert_with(|| {
                        cases.hospitals.push(Hospital {
                            id: id.to_string(),
                            name: String::new(),
                            level: None,
                        });
                        votes.push([0; 4]);
                        (cases.hospitals.len() - 1) as u32
                    });
                    let hosp = &mut cases.hospitals[h as usize];
                    if hosp.name.is_empty() {
                        hosp.name = name.to_string();
                    }
                    for (total, v) in votes[h as usize].iter_mut().zip(v) {
                        *total += v;
                    }
                    h
                })
                .collect()
        })
        .collect();
    // Codes: merged in block order.
    let mut code_index: FxHashMap<&str, u32> = FxHashMap::default();
    let mut book = CodeBook::default();
    let code_maps: Vec<Vec<u32>> = locals
        .iter()
        .map(|l| {
            l.codes
                .each()
                .map(|code| {
                    *code_index.entry(code).or_insert_with(|| {
                        book.codes.push(code.to_string());
                        (book.codes.len() - 1) as u32
                    })
                })
                .collect()
        })
        .collect();
    drop(code_index);
    let (departments, department_maps) = merge_lists(
        locals
            .iter_mut()
            .map(|l| std::mem::take(&mut l.departments)),
    );
    let (physicians, physician_maps) =
        merge_lists(locals.iter_mut().map(|l| std::mem::take(&mut l.physicians)));
    let remap = |column: &mut Vec<u32>, maps: &[Vec<u32>]| {
        pieces(column, lens)
            .into_par_iter()
            .zip(maps)
            .for_each(|(part, map)| {
                for v in part.iter_mut().filter(|v| **v != NONE_U32) {
                    *v = map[*v as usize];
                }
            });
    };
    remap(&mut cases.department, &department_maps);
    remap(&mut cases.physician, &physician_maps);
    cases.departments = departments;
    cases.physicians = physicians;
    pieces(&mut cases.hospital, lens)
        .into_par_iter()
        .zip(pieces(&mut cases.main_diagnosis, lens))
        .zip(hospital_maps.par_iter().zip(&code_maps))
        .for_each(|((hospital, main), (hmap, cmap))| {
            for h in hospital {
                *h = hmap[*h as usize];
            }
            for c in main.iter_mut().filter(|c| **c != NONE_U32) {
                *c = cmap[*c as usize];
            }
        });
    let mut case_bytes: usize = 0;
    for l in &locals {
        case_bytes += l.case_id.bytes.len();
    }
    cases.secondary = code_lists(&locals, &code_maps, |l| (&l.items, &l.n_items));
    if locals.iter().any(|l| !l.n_procs.is_empty()) {
        cases.procedures = code_lists(&locals, &code_maps, |l| (&l.procs, &l.n_procs));
    }
    cases.codes = book;
    let mut case_id = TextColumn {
        bytes: String::with_capacity(case_bytes),
        ends: Vec::with_capacity(m),
    };
    for l in &locals {
        let base = case_id.bytes.len() as u64;
        case_id.bytes.push_str(&l.case_id.bytes);
        case_id.ends.extend(l.case_id.ends.iter().map(|e| e + base));
    }
    cases.case_id = case_id;

    if trace {
        eprintln!(
            "ingest:     hospitals, codes and case ids merged {} ms",
            t.elapsed().as_millis()
        );
    }
    // Patients: numbered in order of first sight.
    let patient_keys: Vec<TextColumn> = locals.into_iter().map(|l| l.patients).collect();
    let firsts = first_seen(&patient_keys);
    drop(patient_keys);
    let mut starts = Vec::with_capacity(firsts.len());
    let mut total = 0u32;
    for f in &firsts {
        starts.push(total);
        total += f.len() as u32;
    }
    let new_per_block: Vec<u32> = firsts
        .par_iter()
        .zip(&starts)
        .map(|(f, &s)| {
            f.iter()
                .enumerate()
                .filter(|(k, first)| **first == s + *k as u32)
                .count() as u32
        })
        .collect();
    let mut ids = vec![0u32; m];
    let mut next = 0u32;
    let bases: Vec<u32> = new_per_block
        .iter()
        .map(|c| {
            next += c;
            next - c
        })
        .collect();
    cases.n_patients = next as usize;
    pieces(&mut ids, lens)
        .into_par_iter()
        .zip(firsts.par_iter().zip(&starts).zip(&bases))
        .for_each(|(ids, ((f, &s), &base))| {
            let mut next = base;
            for (k, (id, first)) in ids.iter_mut().zip(f).enumerate() {
                if *first == s + k as u32 {
                    *id = next;
                    next += 1;
                }
            }
        });
    pieces(&mut cases.patient, lens)
        .into_par_iter()
        .zip(&firsts)
        .for_each(|(patient, f)| {
            for (p, first) in patient.iter_mut().zip(f) {
                *p = ids[*first as usize];
            }
        });
    drop(ids);
    drop(firsts);

    for (h, votes) in cases.hospitals.iter_mut().zip(&votes) {
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
    for (canonical, _) in &mapping.found {
        cases.has_column.insert(canonical.to_string(), true);
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_copies_kept_rows_across_chunks() {
        let mut ca = Int32Chunked::from_slice("x".into(), &[1, 2, 3]);
        ca.append(&Int32Chunked::from_slice("x".into(), &[4, 5]))
            .unwrap();
        assert_eq!(ca.chunks().len(), 2);
        let mut all = vec![0; 5];
        fill(&mut all, &ca, &[true; 5], |v| v.unwrap_or(-1));
        assert_eq!(all, [1, 2, 3, 4, 5]);
        let mut some = vec![0; 3];
        fill(&mut some, &ca, &[true, false, true, false, true], |v| {
            v.unwrap_or(-1)
        });
        assert_eq!(some, [1, 3, 5]);
        let with_null = Int32Chunked::new("y".into(), &[Some(7), None]);
        let mut out = vec![0; 2];
        fill(&mut out, &with_null, &[true; 2], |v| v.unwrap_or(-1));
        assert_eq!(out, [7, -1]);
    }

    #[test]
    fn first_seen_finds_the_first_equal_key_across_segments() {
        let keys: Vec<String> = (0..5000).map(|i| format!("P{}", i % 1700)).collect();
        let segments: Vec<Vec<&str>> = keys
            .chunks(999)
            .map(|c| c.iter().map(String::as_str).collect())
            .collect();
        let got: Vec<u32> = first_seen(&segments).concat();
        let mut seen: FxHashMap<&str, u32> = FxHashMap::default();
        let want: Vec<u32> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| *seen.entry(k.as_str()).or_insert(i as u32))
            .collect();
        assert_eq!(got, want);
        let text: Vec<TextColumn> = segments
            .iter()
            .map(|s| {
                let mut t = TextColumn::default();
                s.iter().for_each(|k| t.push(k));
                t
            })
            .collect();
        assert_eq!(first_seen(&text).concat(), want);
    }
}
