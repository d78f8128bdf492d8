//! Loading a regional model safely: a bounded read of a regular file, the content digest,
//! the JSON path of a layout error, and a check of every field of a [`RegionModel`].
//!
//! A model comes from outside (a regulator publishes it, a hospital downloads it), so
//! nothing in it is trusted: `check` must refuse a damaged or tampered model with one line
//! naming the file, the field and what to do — never panic on it, never hang on it, never
//! use a negative count or an empty FDR reference silently.
//!
//! The digest ([`content_digest`]) is SHA-256 over a canonical serialisation of the whole
//! JSON document except its top-level `digest` field: object keys sorted by their bytes,
//! no whitespace, numbers and strings as `serde_json` writes them. It depends only on the
//! content, so `run` stays deterministic (same input, byte-identical `model.json`), and it
//! does not depend on key order or indentation, so reformatting a model is harmless while
//! changing, adding or removing any value is detected. It is a checksum against edits and
//! damage, not a signature: whoever recomputes it can forge it, which is why every field
//! is validated as well.

use std::collections::{BTreeSet, HashSet};
use std::io::Read;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::RegionModel;
use crate::error::{AuditError, Result};

/// Largest model file `check` reads (512 MiB). A real region's model is a few megabytes;
/// the bound keeps `--model /dev/zero` or a runaway file from eating the machine's memory.
pub const MAX_MODEL_BYTES: u64 = 512 * 1024 * 1024;

/// Prefix of the `digest` field.
pub const DIGEST_PREFIX: &str = "sha256:";

/// What to do about a model that fails a check.
pub const FIX: &str = "ask the region for a fresh copy of the model written by `drg-audit run`";

/// Upper bound of any yuan amount in a model (a stay costing more than 100 M yuan is a
/// data error, not a case).
const MAX_YUAN: f64 = 1e8;
/// Upper bound of a group weight or DIP score.
const MAX_WEIGHT: f64 = 1e6;

/// Reads at most `limit` bytes of a regular file: refuses FIFOs, devices and folders
/// before opening them (opening a FIFO for reading blocks until a writer comes), and a
/// file larger than `limit`, even one whose reported size is wrong.
pub fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| AuditError::io(path, e))?;
    if !meta.is_file() {
        return Err(AuditError::input(
            path,
            "file",
            format!(
                "is not a regular file (a folder, FIFO or device); pass the {what} file itself"
            ),
        ));
    }
    let too_big = || {
        AuditError::input(
            path,
            "file",
            format!(
                "is larger than {} MiB, too large for a {what}; pass the {what} file itself",
                limit / (1024 * 1024)
            ),
        )
    };
    if meta.len() > limit {
        return Err(too_big());
    }
    let file = std::fs::File::open(path).map_err(|e| AuditError::io(path, e))?;
    // The path may have been swapped between the two looks: check the open file too.
    let opened = file.metadata().map_err(|e| AuditError::io(path, e))?;
    if !opened.is_file() {
        return Err(AuditError::input(
            path,
            "file",
            format!("is not a regular file; pass the {what} file itself"),
        ));
    }
    read_limited(file, limit).map_err(|e| match e {
        Limited::TooBig => too_big(),
        Limited::Io(e) => AuditError::io(path, e),
    })
}

/// Why [`read_limited`] failed.
#[derive(Debug)]
pub enum Limited {
    /// More than the limit.
    TooBig,
    /// The reader failed.
    Io(std::io::Error),
}

/// Reads everything from `r` unless it holds more than `limit` bytes (reads `limit + 1`
/// bytes at most, so an endless reader stops).
pub fn read_limited(r: impl Read, limit: u64) -> std::result::Result<Vec<u8>, Limited> {
    let mut buf = Vec::new();
    r.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(Limited::Io)?;
    if buf.len() as u64 > limit {
        return Err(Limited::TooBig);
    }
    Ok(buf)
}

/// The content digest of a model document: `sha256:` and the hex SHA-256 of its canonical
/// serialisation without the top-level `digest` field (see the module docs).
pub fn content_digest(doc: &Value) -> String {
    let mut h = Sha256::new();
    match doc {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().filter(|k| *k != "digest").collect();
            keys.sort();
            h.update(b"{");
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    h.update(b",");
                }
                canonical(&Value::String((*k).clone()), &mut h);
                h.update(b":");
                if let Some(v) = map.get(*k) {
                    canonical(v, &mut h);
                }
            }
            h.update(b"}");
        }
        other => canonical(other, &mut h),
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("{DIGEST_PREFIX}{hex}")
}

/// Sets a document's `digest` to its content digest (what `run` does when it writes a
/// model; tests use it to forge a tampered model that passes the digest).
pub fn seal(doc: &mut Value) {
    let d = content_digest(doc);
    if let Value::Object(map) = doc {
        map.insert("digest".into(), Value::String(d));
    }
}

/// Canonical JSON of a value into the hash: keys sorted, no whitespace. Depth is bounded
/// by `serde_json`'s recursion limit on parsing.
fn canonical(v: &Value, h: &mut Sha256) {
    match v {
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {
            h.update(v.to_string().as_bytes());
        }
        Value::Array(a) => {
            h.update(b"[");
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    h.update(b",");
                }
                canonical(x, h);
            }
            h.update(b"]");
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            h.update(b"{");
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    h.update(b",");
                }
                h.update(Value::String((*k).clone()).to_string().as_bytes());
                h.update(b":");
                if let Some(x) = map.get(*k) {
                    canonical(x, h);
                }
            }
            h.update(b"}");
        }
    }
}

/// The JSON path (`indicators.UPC_SINGLE_CC.peers[12][3]`) of the value being read at a
/// 1-based line and column of `text`, as `serde_json` reports an error position. Empty at
/// the top level.
pub fn json_path_at(text: &str, line: usize, column: usize) -> String {
    let bytes = text.as_bytes();
    // Byte offset of the position (columns count bytes).
    let mut offset = 0;
    let mut l = 1;
    while l < line && offset < bytes.len() {
        if bytes[offset] == b'\n' {
            l += 1;
        }
        offset += 1;
    }
    let end = (offset + column).min(bytes.len());
    enum Frame {
        Obj { key: Option<String>, in_value: bool },
        Arr { index: usize },
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        match bytes[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if let Some(Frame::Obj { key, in_value }) = stack.last_mut()
                    && !*in_value
                {
                    let raw = &bytes[start..i.min(bytes.len())];
                    *key = Some(String::from_utf8_lossy(raw).into_owned());
                }
            }
            b':' => {
                if let Some(Frame::Obj { in_value, .. }) = stack.last_mut() {
                    *in_value = true;
                }
            }
            b',' => match stack.last_mut() {
                Some(Frame::Obj { in_value, .. }) => *in_value = false,
                Some(Frame::Arr { index }) => *index += 1,
                None => {}
            },
            b'{' => stack.push(Frame::Obj {
                key: None,
                in_value: false,
            }),
            b'[' => stack.push(Frame::Arr { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for f in &stack {
        match f {
            Frame::Obj {
                key: Some(k),
                in_value: true,
            } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Frame::Obj { .. } => break,
            Frame::Arr { index } => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

/// A failed check: the JSON path of the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    /// JSON path, e.g. `indicators.UPC_SINGLE_CC.peers[12].n`.
    pub field: String,
    /// What is wrong, e.g. `is -4, must be a whole number of at least 1`.
    pub problem: String,
}

impl Invalid {
    /// The one-line error of this failure in model file `path`.
    pub fn into_error(self, path: &Path) -> AuditError {
        AuditError::input(path, self.field, format!("{}; {FIX}", self.problem))
    }
}

type Check = std::result::Result<(), Invalid>;

fn bad(field: impl Into<String>, problem: impl Into<String>) -> Check {
    Err(Invalid {
        field: field.into(),
        problem: problem.into(),
    })
}

/// A finite number within `[lo, hi]` (`lo_open`: strictly above `lo`).
fn num(field: &str, v: f64, lo: f64, lo_open: bool, hi: f64) -> Check {
    let ok = v.is_finite() && (if lo_open { v > lo } else { v >= lo }) && v <= hi;
    if ok {
        Ok(())
    } else {
        let low = if lo_open {
            format!("above {lo}")
        } else {
            format!("at least {lo}")
        };
        bad(
            field,
            format!("is {v}, must be a finite number {low} and at most {hi}"),
        )
    }
}

/// A count stored as a float: a whole number within `[lo, hi]`.
fn whole(field: &str, v: f64, lo: f64, hi: f64) -> Check {
    if v.is_finite() && v.fract() == 0.0 && v >= lo && v <= hi {
        Ok(())
    } else {
        bad(
            field,
            format!("is {v}, must be a whole number from {lo} to {hi}"),
        )
    }
}

fn hex_len(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Checks every field of a model (the layout already matched the types). The first
/// problem found is returned with its JSON path.
pub fn validate(m: &RegionModel, codes: &[&str]) -> Check {
    built_from(m)?;
    config(m)?;
    let groups = catalogue(m)?;
    benchmarks(m, &groups)?;
    num("cost_per_weight", m.cost_per_weight, 0.0, true, MAX_YUAN)?;
    point_value(m)?;
    let mut seen = HashSet::new();
    for (i, c) in m.light_medical_groups.iter().enumerate() {
        let f = format!("light_medical_groups[{i}]");
        if !groups.contains(c.as_str()) {
            return bad(f, format!("names group {c:?} that the catalogue lacks"));
        }
        if !seen.insert(c) {
            return bad(f, format!("lists group {c:?} twice"));
        }
    }
    volume(m)?;
    hospitals(m)?;
    indicators(m, codes)?;
    p_values(m, codes.len())?;
    levers(m)?;
    risk_scores(m)?;
    clusters(m)?;
    suppression(m)
}

fn suppression(m: &RegionModel) -> Check {
    let s = &m.suppression;
    let pooled = m
        .indicators
        .values()
        .flat_map(|i| &i.peers)
        .filter(|r| r.0 == crate::peers::POOLED_LEVEL)
        .count() as u64;
    let lever_pooled = m
        .levers
        .cells
        .iter()
        .filter(|c| c.level == crate::peers::POOLED_LEVEL)
        .count() as u64;
    for (field, stated, counted, holder, what) in [
        (
            "pooled_rows",
            s.pooled_rows,
            pooled,
            "the peer tables hold",
            "rows",
        ),
        (
            "lever_pooled_rows",
            s.lever_pooled_rows,
            lever_pooled,
            "the lever table holds",
            "cells",
        ),
    ] {
        if stated != counted {
            return bad(
                format!("suppression.{field}"),
                format!("is {stated}, {holder} {counted} pooled {what}"),
            );
        }
    }
    for (i, l) in s.levels.iter().enumerate() {
        if *l > 3 || (i > 0 && s.levels[i - 1] >= *l) {
            return bad(
                format!("suppression.levels[{i}]"),
                format!("is {l}, levels are 0 to 3 in ascending order"),
            );
        }
        if m.volume_by_level[*l as usize] != [(0.0, 0.0); 2] {
            return bad(
                format!("volume_by_level[{l}]"),
                "is published although suppression.levels withholds it",
            );
        }
    }
    Ok(())
}

fn built_from(m: &RegionModel) -> Check {
    let b = &m.built_from;
    if !hex_len(&b.cases_sha256, 64) {
        return bad(
            "built_from.cases_sha256",
            "is not a SHA-256 (64 hex digits)",
        );
    }
    if b.rows_analysed == 0 {
        return bad("built_from.rows_analysed", "is 0, a model needs stays");
    }
    if b.hospitals != m.hospitals.len() {
        return bad(
            "built_from.hospitals",
            format!(
                "is {} but the model lists {} hospitals",
                b.hospitals,
                m.hospitals.len()
            ),
        );
    }
    if crate::period::choose(&[], Some(&b.audited_period)).is_err() {
        return bad(
            "built_from.audited_period",
            format!(
                "is {:?}, not a year (2024) or a date range (2024-01-01..2024-06-30)",
                b.audited_period
            ),
        );
    }
    if let Some(p) = &b.baseline_period
        && crate::period::choose(&[], Some(p)).is_err()
    {
        return bad(
            "built_from.baseline_period",
            format!("is {p:?}, not a year or a date range"),
        );
    }
    Ok(())
}

fn config(m: &RegionModel) -> Check {
    let c = &m.config;
    let mu = &c.multiplier;
    num("config.multiplier.low", mu.low, 0.0, true, 1.0)?;
    if mu.high.is_empty() {
        return bad(
            "config.multiplier.high",
            "is empty, it needs at least one band",
        );
    }
    for (i, b) in mu.high.iter().enumerate() {
        num(
            &format!("config.multiplier.high[{i}].threshold"),
            b.threshold,
            1.0,
            true,
            1e3,
        )?;
        if let Some(w) = b.max_weight {
            num(
                &format!("config.multiplier.high[{i}].max_weight"),
                w,
                0.0,
                true,
                MAX_WEIGHT,
            )?;
        }
    }
    num("config.multiplier.extreme", mu.extreme, 0.0, false, 1e3)?;
    let p = &c.points;
    num("config.points.per_weight", p.per_weight, 0.0, true, 1e6)?;
    let lc = &p.level_coefficient;
    for (name, v) in [
        ("primary", lc.primary),
        ("secondary", lc.secondary),
        ("tertiary", lc.tertiary),
    ] {
        num(
            &format!("config.points.level_coefficient.{name}"),
            v,
            0.0,
            true,
            100.0,
        )?;
    }
    if let Some(v) = c.point_value.budget_yuan {
        num("config.point_value.budget_yuan", v, 0.0, true, 1e15)?;
    }
    if let Some(v) = c.point_value.value_yuan {
        num("config.point_value.value_yuan", v, 0.0, true, 1e6)?;
    }
    if !(1..=3650).contains(&c.readmission.window_days) {
        return bad(
            "config.readmission.window_days",
            format!(
                "is {}, must be from 1 to 3650 days",
                c.readmission.window_days
            ),
        );
    }
    for (s, v) in &c.severity.suffix {
        if !matches!(v, 0 | 1 | 3 | 5 | 9) {
            return bad(
                format!("config.severity.suffix.{s}"),
                format!("is {v}, must be 1, 3, 5, 9 or 0"),
            );
        }
    }
    if let Some(a) = &c.periods.audited
        && crate::period::choose(&[], Some(a)).is_err()
    {
        return bad(
            "config.periods.audited",
            format!("is {a:?}, not a year or a date range"),
        );
    }
    let d = &c.detect;
    num(
        "config.detect.short_stay_ratio",
        d.short_stay_ratio,
        0.0,
        true,
        10.0,
    )?;
    if d.low_standard_max_los > 365 {
        return bad(
            "config.detect.low_standard_max_los",
            format!("is {}, must be at most 365 days", d.low_standard_max_los),
        );
    }
    num(
        "config.detect.low_standard_max_multiplier",
        d.low_standard_max_multiplier,
        0.0,
        true,
        1e3,
    )?;
    num(
        "config.detect.bunching_width",
        d.bunching_width,
        0.0,
        true,
        0.999_999,
    )?;
    num("config.detect.fdr_q", d.fdr_q, 0.0, true, 0.999_999)?;
    let k = &c.cluster;
    if k.k > 64 {
        return bad(
            "config.cluster.k",
            format!("is {}, must be at most 64", k.k),
        );
    }
    if k.sample_size == 0 || k.n_init == 0 || k.max_iter == 0 {
        return bad(
            "config.cluster",
            "sample_size, n_init and max_iter must each be at least 1",
        );
    }
    num("config.cluster.tolerance", k.tolerance, 0.0, false, 1e3)?;
    if c.model.min_hospitals > 1000 || c.model.min_stays > 1_000_000 {
        return bad(
            "config.model",
            "min_hospitals must be at most 1000 and min_stays at most 1000000",
        );
    }
    // Whatever else the configuration reader insists on (the same rules as a config file).
    c.validate().map_err(|e| Invalid {
        field: "config".into(),
        problem: e,
    })
}

fn catalogue(m: &RegionModel) -> std::result::Result<BTreeSet<&str>, Invalid> {
    let mut codes = BTreeSet::new();
    if m.catalogue.is_empty() {
        bad("catalogue", "is empty, a model needs its groups")?;
    }
    for (i, g) in m.catalogue.iter().enumerate() {
        let f = |x: &str| format!("catalogue[{i}].{x}");
        if g.code.trim().is_empty() || g.code.trim() != g.code {
            bad(
                f("code"),
                format!("is {:?}, must be a code without spaces around it", g.code),
            )?;
        }
        if !codes.insert(g.code.as_str()) {
            bad(f("code"), format!("{} appears twice", g.code))?;
        }
        num(&f("weight"), g.weight, 0.0, true, MAX_WEIGHT)?;
        if g.family.trim().is_empty() || g.family.trim() != g.family {
            bad(
                f("family"),
                format!("is {:?}, must be a family code", g.family),
            )?;
        }
        if !matches!(g.severity, 0 | 1 | 3 | 5 | 9) {
            bad(
                f("severity"),
                format!("is {}, must be 1, 3, 5, 9 or 0", g.severity),
            )?;
        }
        if let Some(c) = g.benchmark_cost {
            num(&f("benchmark_cost"), c, 0.0, true, MAX_YUAN)?;
        }
        if let Some(l) = g.benchmark_los {
            num(&f("benchmark_los"), l, 0.0, true, 3650.0)?;
        }
    }
    Ok(codes)
}

fn benchmarks(m: &RegionModel, groups: &BTreeSet<&str>) -> Check {
    let mut seen = HashSet::new();
    for (i, b) in m.benchmarks.iter().enumerate() {
        let f = |x: &str| format!("benchmarks[{i}].{x}");
        if !groups.contains(b.group.as_str()) {
            return bad(
                f("group"),
                format!("names group {:?} that the catalogue lacks", b.group),
            );
        }
        if b.level > 3 {
            return bad(f("level"), format!("is {}, must be 0 to 3", b.level));
        }
        if !seen.insert((b.group.as_str(), b.level)) {
            return bad(
                format!("benchmarks[{i}]"),
                format!("repeats group {} at level {}", b.group, b.level),
            );
        }
        num(&f("cost"), b.cost, 0.0, true, MAX_YUAN)?;
        num(&f("los"), b.los, 0.0, false, 3650.0)?;
    }
    if seen.len() != groups.len() * 4 {
        return bad(
            "benchmarks",
            format!(
                "hold {} group × level benchmarks, the catalogue needs {} (every group at levels 0–3)",
                seen.len(),
                groups.len() * 4
            ),
        );
    }
    Ok(())
}

fn point_value(m: &RegionModel) -> Check {
    let p = &m.point_value;
    num(
        "point_value.yuan_per_point",
        p.yuan_per_point,
        0.0,
        true,
        1e6,
    )?;
    if !matches!(p.source.as_str(), "configured" | "budget" | "derived") {
        return bad(
            "point_value.source",
            format!("is {:?}, must be configured, budget or derived", p.source),
        );
    }
    num("point_value.total_points", p.total_points, 0.0, false, 1e15)
}

fn volume(m: &RegionModel) -> Check {
    let rows = m.built_from.rows_analysed as f64;
    for (lv, periods) in m.volume_by_level.iter().enumerate() {
        for (p, (stays, points)) in periods.iter().enumerate() {
            whole(&format!("volume_by_level[{lv}][{p}][0]"), *stays, 0.0, rows)?;
            num(
                &format!("volume_by_level[{lv}][{p}][1]"),
                *points,
                0.0,
                false,
                1e15,
            )?;
        }
    }
    Ok(())
}

fn hospitals(m: &RegionModel) -> Check {
    let mut ids = HashSet::new();
    let mut stays: u64 = 0;
    if m.hospitals.is_empty() {
        return bad("hospitals", "is empty, a model needs its hospitals");
    }
    for (i, h) in m.hospitals.iter().enumerate() {
        let f = |x: &str| format!("hospitals[{i}].{x}");
        if h.id.trim().is_empty() {
            return bad(f("id"), "is empty");
        }
        if !ids.insert(h.id.as_str()) {
            return bad(f("id"), format!("{} appears twice", h.id));
        }
        if let Some(l) = h.level
            && !(1..=3).contains(&l)
        {
            return bad(f("level"), format!("is {l}, must be 1, 2, 3 or null"));
        }
        let parts: Vec<&str> = h.cases_digest.split(':').collect();
        let n = match parts.as_slice() {
            [n, a, b] if hex_len(a, 16) && hex_len(b, 16) => n.parse::<u64>().ok(),
            _ => None,
        };
        let Some(n) = n else {
            return bad(
                f("cases_digest"),
                "is not count:16 hex digits:16 hex digits",
            );
        };
        stays = stays.saturating_add(n);
    }
    if stays > m.built_from.rows_analysed {
        return bad(
            "hospitals",
            format!(
                "digests count {stays} stays, more than the {} analysed",
                m.built_from.rows_analysed
            ),
        );
    }
    Ok(())
}

fn indicators(m: &RegionModel, codes: &[&str]) -> Check {
    for c in codes {
        if !m.indicators.contains_key(*c) {
            return bad(
                "indicators",
                format!(
                    "lack indicator {c}, which this drg-audit tests: the model predates it; rebuild it with this drg-audit's `run`"
                ),
            );
        }
    }
    let n_groups = m.catalogue.len() as u32;
    let rows = m.built_from.rows_analysed as f64;
    let n_h = m.hospitals.len();
    for (code, im) in &m.indicators {
        if !codes.contains(&code.as_str()) {
            return bad(
                format!("indicators.{code}"),
                "is not an indicator this drg-audit knows",
            );
        }
        let mut last: Option<(u8, u32, u8)> = None;
        for (i, r) in im.peers.iter().enumerate() {
            let f = |x: &str| format!("indicators.{code}.peers[{i}].{x}");
            // Level 4 is the pooled row of the levels suppressed for privacy (see
            // `crate::model`); 0–3 are hospital levels.
            if r.0 > crate::peers::POOLED_LEVEL {
                return bad(f("level"), format!("is {}, must be 0 to 4", r.0));
            }
            // A stratum is a group or family index, or (the low-threshold piles) a group
            // index + a multiple of the number of groups (early end, window).
            let strata = crate::indicators::STRATA_PER_GROUP * n_groups;
            if r.1 >= strata {
                return bad(
                    f("stratum"),
                    format!(
                        "is {}, the catalogue has {n_groups} groups (strata stop at {strata})",
                        r.1
                    ),
                );
            }
            if r.2 > 1 {
                return bad(f("period"), format!("is {}, must be 0 or 1", r.2));
            }
            let key = (r.0, r.1, r.2);
            if last.is_some_and(|l| l >= key) {
                return bad(
                    format!("indicators.{code}.peers[{i}]"),
                    "is out of order or repeated (rows are sorted by level, stratum, period)",
                );
            }
            last = Some(key);
            whole(&f("n"), r.3, 1.0, rows)?;
            num(&f("x"), r.4, 0.0, false, r.3 * MAX_WEIGHT)?;
            num(&f("xx"), r.5, 0.0, false, r.3 * MAX_WEIGHT * MAX_WEIGHT)?;
            // Cauchy–Schwarz: (Σx)² ≤ n Σx²; for an event count (x = x²) it says x ≤ n.
            if r.4 * r.4 > r.3 * r.5 * (1.0 + 1e-9) + 1e-9 {
                return bad(
                    format!("indicators.{code}.peers[{i}]"),
                    format!(
                        "sums n = {}, x = {}, xx = {} are impossible ((Σx)² > n·Σx²)",
                        r.3, r.4, r.5
                    ),
                );
            }
        }
        let cal = &im.calibration;
        let f = |x: &str| format!("indicators.{code}.calibration.{x}");
        if !cal.phi.is_nan() {
            num(&f("phi"), cal.phi, 0.0, false, 1e9)?;
        }
        num(&f("tau2"), cal.tau2, 0.0, false, 1e9)?;
        num(&f("prior_tau2"), cal.prior_tau2, 0.0, false, 1e9)?;
        for (lv, t) in cal.tau2_by_level.iter().enumerate() {
            num(&f(&format!("tau2_by_level[{lv}]")), *t, 0.0, false, 1e9)?;
        }
        for (lv, c) in cal.centre_by_level.iter().enumerate() {
            num(&f(&format!("centre_by_level[{lv}]")), *c, 1e-9, true, 1e9)?;
        }
        if cal.core_hospitals > n_h {
            return bad(
                f("core_hospitals"),
                format!("is {}, more than the {n_h} hospitals", cal.core_hospitals),
            );
        }
        let mut tested = 0;
        for (lv, rates) in cal.peer_rates.iter().enumerate() {
            tested += rates.len();
            for (j, r) in rates.iter().enumerate() {
                num(
                    &f(&format!("peer_rates[{lv}][{j}]")),
                    *r,
                    0.0,
                    false,
                    MAX_WEIGHT,
                )?;
                if j > 0 && rates[j - 1] > *r {
                    return bad(f(&format!("peer_rates[{lv}]")), "is not in ascending order");
                }
            }
        }
        if tested > n_h {
            return bad(
                f("peer_rates"),
                format!("hold {tested} rates, more than the {n_h} hospitals"),
            );
        }
    }
    Ok(())
}

fn p_values(m: &RegionModel, n_codes: usize) -> Check {
    if m.p_values.is_empty() {
        return bad(
            "p_values",
            "is empty: without the region's p-values the FDR step of `check` means nothing",
        );
    }
    let most = m.hospitals.len() * n_codes;
    if m.p_values.len() > most {
        return bad(
            "p_values",
            format!(
                "holds {} p-values, more than one per hospital and indicator ({most})",
                m.p_values.len()
            ),
        );
    }
    for (i, p) in m.p_values.iter().enumerate() {
        num(&format!("p_values[{i}]"), *p, 0.0, false, 1.0)?;
        if i > 0 && m.p_values[i - 1] > *p {
            return bad(format!("p_values[{i}]"), "is out of ascending order");
        }
    }
    Ok(())
}

/// Longest secondary-diagnosis code the lever table may name (ICD-10 codes are 3–8
/// characters; extensions leave room).
const MAX_CODE_CHARS: usize = 32;

/// The lever peer table: cells sorted by (level, family) without repeats, levels 0–4,
/// families of the catalogue, whole claim counts, per-code counts from 1 to the cell's
/// claims that add up to at most its claims (a claim rests on one code at most), a finite
/// τ², and p-values in [0, 1] ascending.
fn levers(m: &RegionModel) -> Check {
    let t = &m.levers;
    let families = m
        .catalogue
        .iter()
        .map(|g| g.family.as_str())
        .collect::<BTreeSet<_>>()
        .len() as u32;
    let rows = m.built_from.rows_analysed as f64;
    let mut last: Option<(u8, u32)> = None;
    for (i, c) in t.cells.iter().enumerate() {
        let f = |x: &str| format!("levers.cells[{i}].{x}");
        if c.level > crate::peers::POOLED_LEVEL {
            return bad(f("level"), format!("is {}, must be 0 to 4", c.level));
        }
        if c.family >= families {
            return bad(
                f("family"),
                format!("is {}, the catalogue has {families} families", c.family),
            );
        }
        let key = (c.level, c.family);
        if last.is_some_and(|l| l >= key) {
            return bad(
                format!("levers.cells[{i}]"),
                "is out of order or repeated (cells are sorted by level, family)",
            );
        }
        last = Some(key);
        whole(&f("claims"), c.claims, 1.0, rows)?;
        let mut resting = 0.0;
        for (code, x) in &c.codes {
            let g = format!("levers.cells[{i}].codes[{code:?}]");
            if code.is_empty() || code.trim() != code || code.chars().count() > MAX_CODE_CHARS {
                return bad(
                    g,
                    format!(
                        "names code {code:?}, must be a diagnosis code without spaces around it"
                    ),
                );
            }
            whole(&g, *x, 1.0, c.claims)?;
            resting += x;
        }
        if resting > c.claims {
            return bad(
                f("codes"),
                format!(
                    "count {resting} claims resting on one code, more than the cell's {} claims",
                    c.claims
                ),
            );
        }
    }
    num("levers.tau2", t.tau2, 0.0, false, 1e9)?;
    for (i, p) in t.p_values.iter().enumerate() {
        num(&format!("levers.p_values[{i}]"), *p, 0.0, false, 1.0)?;
        if i > 0 && t.p_values[i - 1] > *p {
            return bad(format!("levers.p_values[{i}]"), "is out of ascending order");
        }
    }
    Ok(())
}

fn risk_scores(m: &RegionModel) -> Check {
    if m.risk_scores.len() > m.hospitals.len() {
        return bad(
            "risk_scores",
            format!(
                "holds {} scores for {} hospitals",
                m.risk_scores.len(),
                m.hospitals.len()
            ),
        );
    }
    for (i, r) in m.risk_scores.iter().enumerate() {
        num(&format!("risk_scores[{i}]"), *r, -1e9, false, 1e9)?;
        if i > 0 && m.risk_scores[i - 1] < *r {
            return bad(format!("risk_scores[{i}]"), "is out of descending order");
        }
    }
    Ok(())
}

fn clusters(m: &RegionModel) -> Check {
    let Some(pc) = &m.clusters else {
        return Ok(());
    };
    num(
        "clusters.weight_scale",
        pc.weight_scale,
        0.0,
        true,
        MAX_WEIGHT,
    )?;
    let cm = &pc.model;
    let f = |x: &str| format!("clusters.model.{x}");
    if cm.version != crate::cluster::MODEL_VERSION {
        return bad(
            f("version"),
            format!(
                "is {}, this drg-audit reads cluster models of version {}",
                cm.version,
                crate::cluster::MODEL_VERSION
            ),
        );
    }
    if cm
        .features
        .iter()
        .map(String::as_str)
        .ne(crate::cluster::FEATURES)
    {
        return bad(
            f("features"),
            "differ from the features this drg-audit computes",
        );
    }
    let d = cm.features.len();
    for (name, v) in [("mean", &cm.scaler.mean), ("std", &cm.scaler.std)] {
        if v.len() != d {
            return bad(
                f(&format!("scaler.{name}")),
                format!("has {} values for {d} features", v.len()),
            );
        }
    }
    for (j, v) in cm.scaler.mean.iter().enumerate() {
        num(&f(&format!("scaler.mean[{j}]")), *v, -1e15, false, 1e15)?;
    }
    for (j, v) in cm.scaler.std.iter().enumerate() {
        num(&f(&format!("scaler.std[{j}]")), *v, 0.0, true, 1e15)?;
    }
    if cm.k == 0 || cm.k > 64 {
        return bad(f("k"), format!("is {}, must be 1 to 64", cm.k));
    }
    if cm.centroids.len() != cm.k {
        return bad(
            f("centroids"),
            format!("has {} centroids for k = {}", cm.centroids.len(), cm.k),
        );
    }
    for (c, z) in cm.centroids.iter().enumerate() {
        if z.len() != d {
            return bad(
                f(&format!("centroids[{c}]")),
                format!("has {} values for {d} features", z.len()),
            );
        }
        for (j, v) in z.iter().enumerate() {
            num(&f(&format!("centroids[{c}][{j}]")), *v, -1e9, false, 1e9)?;
        }
    }
    if cm.profiles.len() != cm.k {
        return bad(
            f("profiles"),
            format!("has {} profiles for k = {}", cm.profiles.len(), cm.k),
        );
    }
    let mut size: u64 = 0;
    for (c, p) in cm.profiles.iter().enumerate() {
        let g = |x: &str| f(&format!("profiles[{c}].{x}"));
        if p.id != c {
            return bad(
                g("id"),
                format!("is {}, must be {c} (profiles in id order)", p.id),
            );
        }
        size = size.saturating_add(p.size);
        num(&g("share"), p.share, 0.0, false, 1.0)?;
        for (name, v) in [
            ("centroid_scaled", &p.centroid_scaled),
            ("centroid_real", &p.centroid_real),
        ] {
            if v.len() != d {
                return bad(g(name), format!("has {} values for {d} features", v.len()));
            }
            for (j, x) in v.iter().enumerate() {
                num(&g(&format!("{name}[{j}]")), *x, -1e15, false, 1e15)?;
            }
        }
    }
    if size != cm.n_fit_rows {
        return bad(
            f("profiles"),
            format!("sizes add up to {size}, n_fit_rows is {}", cm.n_fit_rows),
        );
    }
    if cm.n_sample > cm.n_fit_rows || cm.n_fit_rows > m.built_from.rows_analysed {
        return bad(
            f("n_sample"),
            format!(
                "n_sample {} ≤ n_fit_rows {} ≤ stays analysed {} does not hold",
                cm.n_sample, cm.n_fit_rows, m.built_from.rows_analysed
            ),
        );
    }
    for (i, (k, s)) in cm.k_selection.iter().enumerate() {
        if *k == 0 || *k > 64 || !s.is_finite() {
            return bad(
                f(&format!("k_selection[{i}]")),
                format!("is ({k}, {s}), must be a k from 1 to 64 and a finite score"),
            );
        }
    }
    let t = &pc.table;
    if t.k != cm.k {
        return bad(
            "clusters.table.k",
            format!("is {}, the cluster model has k = {}", t.k, cm.k),
        );
    }
    let n_groups = m.catalogue.len() as u32;
    let mut last: Option<(u8, u32)> = None;
    let mut total: u64 = 0;
    for (i, (lv, s, counts)) in t.cells.iter().enumerate() {
        let f = |x: &str| format!("clusters.table.cells[{i}]{x}");
        if *lv > 3 {
            return bad(f("[0]"), format!("level is {lv}, must be 0 to 3"));
        }
        if *s >= n_groups {
            return bad(
                f("[1]"),
                format!("group index is {s}, the catalogue has {n_groups} groups"),
            );
        }
        if last.is_some_and(|l| l >= (*lv, *s)) {
            return bad(
                f(""),
                "is out of order or repeated (cells are sorted by level, group)",
            );
        }
        last = Some((*lv, *s));
        if counts.len() != t.k {
            return bad(
                f("[2]"),
                format!(
                    "has {} cluster counts, the model has k = {}",
                    counts.len(),
                    t.k
                ),
            );
        }
        let n = counts.iter().fold(0u64, |a, &c| a.saturating_add(c));
        if n == 0 {
            return bad(f("[2]"), "counts no case");
        }
        total = total.saturating_add(n);
    }
    if total > m.built_from.rows_analysed {
        return bad(
            "clusters.table.cells",
            format!(
                "count {total} stays, more than the {} analysed",
                m.built_from.rows_analysed
            ),
        );
    }
    Ok(())
}

/// The one-line error of a layout (type) error `e` in the model text: the JSON path of the
/// field, serde's message without its position, and what to do.
pub fn layout_error(path: &Path, text: &str, e: &serde_json::Error) -> AuditError {
    let field = json_path_at(text, e.line(), e.column());
    let msg = e.to_string();
    // serde_json appends " at line L column C"; the field path replaces it.
    let msg = msg
        .rfind(" at line ")
        .map_or(msg.as_str(), |i| &msg[..i])
        .to_string();
    AuditError::input(
        path,
        if field.is_empty() {
            "model".into()
        } else {
            field
        },
        format!("does not match the model layout ({msg}); {FIX}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_of_an_error_position_names_keys_and_indices() {
        let text = "{\n  \"a\": [1, {\"b\": \"x\"}],\n  \"c\": 2\n}";
        let e = serde_json::from_str::<A>(text).unwrap_err();
        assert_eq!(json_path_at(text, e.line(), e.column()), "a[1].b");
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct A {
            a: (u8, B),
            c: u8,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct B {
            b: u32,
        }
        let text = "{\"a\": [1, {\"b\": 3}], \"c\": -1}";
        let e = serde_json::from_str::<A>(text).unwrap_err();
        assert_eq!(json_path_at(text, e.line(), e.column()), "c");
        let text = "{\"a\": [1, {}], \"c\": 1}";
        let e = serde_json::from_str::<A>(text).unwrap_err();
        assert_eq!(json_path_at(text, e.line(), e.column()), "a[1]");
        assert_eq!(json_path_at("{\"k\\\"q\": [0, 1, 2", 1, 15), "k\\\"q[2]");
    }

    #[test]
    fn the_digest_ignores_layout_and_the_digest_field_but_not_content() {
        let a: Value = serde_json::from_str("{\"b\": [1, 2.5], \"a\": \"x\"}").unwrap();
        let b: Value =
            serde_json::from_str("{\n \"a\": \"x\",\n \"digest\": \"zz\", \"b\": [1, 2.5]}")
                .unwrap();
        let c: Value = serde_json::from_str("{\"b\": [1, 2.6], \"a\": \"x\"}").unwrap();
        assert_eq!(content_digest(&a), content_digest(&b));
        assert_ne!(content_digest(&a), content_digest(&c));
        assert!(content_digest(&a).starts_with(DIGEST_PREFIX));
        let mut s = a.clone();
        seal(&mut s);
        assert_eq!(s["digest"], Value::String(content_digest(&a)));
    }

    /// Issue 11 (model version 4): a malformed lever table is refused with one line naming
    /// the field.
    #[test]
    fn a_malformed_lever_table_is_refused_naming_the_field() {
        use crate::published::tests::{lever_model, lever_region};
        let f = lever_region();
        let model = lever_model(&f);
        let registry = crate::indicators::registry();
        let codes: Vec<&str> = registry.iter().map(|i| i.spec().code).collect();
        assert_eq!(
            validate(&model, &codes),
            Ok(()),
            "the model run builds is valid"
        );
        assert!(model.levers.cells.len() >= 2 && !model.levers.p_values.is_empty());
        let refused = |edit: &dyn Fn(&mut RegionModel), field: &str, says: &str| {
            let mut m = model.clone();
            edit(&mut m);
            let e = validate(&m, &codes).expect_err(field);
            assert_eq!(e.field, field, "{e:?}");
            assert!(e.problem.contains(says), "{e:?}");
            let line = e.into_error(Path::new("model.json")).to_string();
            assert_eq!(line.lines().count(), 1, "{line}");
            assert!(
                line.contains("model.json") && line.contains(field),
                "{line}"
            );
        };
        refused(
            &|m| m.levers.cells[0].family = 7,
            "levers.cells[0].family",
            "families",
        );
        refused(
            &|m| m.levers.cells[1].level = 5,
            "levers.cells[1].level",
            "0 to 4",
        );
        refused(
            &|m| m.levers.cells[0].claims = -3.0,
            "levers.cells[0].claims",
            "-3",
        );
        refused(
            &|m| m.levers.cells[0].claims = 2.5,
            "levers.cells[0].claims",
            "whole number",
        );
        refused(
            &|m| m.levers.cells.swap(0, 1),
            "levers.cells[1]",
            "out of order",
        );
        refused(
            &|m| {
                let c = m.levers.cells[0].clone();
                m.levers.cells.insert(0, c);
            },
            "levers.cells[1]",
            "repeated",
        );
        refused(
            &|m| {
                let c = &mut m.levers.cells[0];
                let x = c.claims + 1.0;
                c.codes.insert("G80.000".into(), x);
            },
            "levers.cells[0].codes[\"G80.000\"]",
            "whole number",
        );
        refused(
            &|m| {
                let c = &mut m.levers.cells[0];
                let x = c.claims;
                c.codes.insert("Z99.999".into(), x);
            },
            "levers.cells[0].codes",
            "more than the cell's",
        );
        refused(
            &|m| {
                m.levers.cells[0].codes.insert(" G80.000".into(), 1.0);
            },
            "levers.cells[0].codes[\" G80.000\"]",
            "without spaces",
        );
        refused(&|m| m.levers.tau2 = f64::NAN, "levers.tau2", "finite");
        refused(
            &|m| m.levers.p_values[0] = 1.5,
            "levers.p_values[0]",
            "at most 1",
        );
        refused(
            &|m| m.levers.p_values.insert(0, 0.9),
            "levers.p_values[1]",
            "ascending",
        );
        refused(
            &|m| m.suppression.lever_pooled_rows = 0,
            "suppression.lever_pooled_rows",
            "pooled cells",
        );
        // Layout: a model without the table, or with a field of the wrong type, names it.
        let mut doc = serde_json::to_value(&model).unwrap();
        doc.as_object_mut().unwrap().remove("levers");
        let e = RegionModel::check_fields(Path::new("model.json"), doc, None).unwrap_err();
        assert!(e.to_string().contains("levers"), "{e}");
        let text =
            model
                .to_json()
                .unwrap()
                .replacen("\"claims\": ", "\"claims\": \"many\", \"x\": ", 1);
        let doc: Value = serde_json::from_str(&text).unwrap();
        let e = RegionModel::check_fields(Path::new("model.json"), doc, Some(&text)).unwrap_err();
        assert!(e.to_string().contains("levers.cells[0].claims"), "{e}");
    }

    #[test]
    fn model_read_stops_after_the_limit_of_an_endless_reader() {
        // An endless reader (like /dev/zero) is cut at limit + 1 bytes and refused.
        let endless = std::io::repeat(0);
        assert!(matches!(read_limited(endless, 1000), Err(Limited::TooBig)));
        let ok = read_limited(&b"12345"[..], 5).unwrap();
        assert_eq!(ok, b"12345");
        assert!(matches!(
            read_limited(&b"123456"[..], 5),
            Err(Limited::TooBig)
        ));
    }
}
