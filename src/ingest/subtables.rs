//! The settlement list as the national platform exports it: the settlement table (read as
//! the case table) plus a diagnosis table (`--diagnoses`: `setl_id, diag_code,
//! maindiag_flag` or `diag_type`) and a procedure table (`--procedures`: `setl_id,
//! oprn_oprt_code, main_oprn_flag`), joined here on `setl_id`.
//!
//! The join fills exactly what the one-table form holds: `main_diagnosis` = the code flagged
//! main, `secondary_diagnoses` = the others in file order, joined with `;` (the separator
//! the list parser splits on); the same for `main_procedure` and `other_procedures`. After
//! it, the checks and rejects are the case table's.
//!
//! What cannot be joined is reported like any reject, with its file and line:
//! - a sub-table row whose `setl_id` matches no settlement, or whose code or flag is empty
//!   or unreadable: that row (in `rejects.csv`, `file` = the sub-table);
//! - a settlement given two or more main diagnoses (or main procedures): the settlement is
//!   rejected as a whole, the reason naming the sub-table lines. Keeping the first would pick
//!   a main diagnosis by row order, and the main diagnosis decides the group a stay belongs
//!   in: an audit must not guess it.

use std::path::Path;

use polars::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use super::pipeline::{REASON, SEP};
use super::source::{self, Source};
use super::{CaseTables, Format, Reject, SubTableStats, file_name, values};
use crate::error::{AuditError, Result};
use crate::schema::{ColumnMapping, ColumnSpec, diagnosis_columns, map_headers, procedure_columns};

/// What the join did: the case frame with its code columns, the sub-tables' own rejects
/// and their statistics.
pub(super) struct Joined {
    /// The case frame, code columns filled and settlements with two main codes carrying a
    /// reason.
    pub df: DataFrame,
    /// Sub-table rows that join no settlement or cannot be read, in file order.
    pub rejects: Vec<Reject>,
    /// One entry per sub-table.
    pub stats: Vec<SubTableStats>,
}

/// The codes a sub-table gives one settlement.
#[derive(Default)]
struct Codes {
    /// Main codes with their lines (one, normally).
    mains: Vec<(String, u64)>,
    /// Other codes in file order.
    others: Vec<String>,
}

/// One sub-table's role: its columns and the case-table columns it fills.
struct Role {
    option: &'static str,
    name: &'static str,
    spec: Vec<ColumnSpec>,
    code: &'static str,
    flag: &'static str,
    main: &'static str,
    others: &'static str,
    what: &'static str,
}

fn diagnoses() -> Role {
    Role {
        option: "--diagnoses",
        name: "diagnoses",
        spec: diagnosis_columns(),
        code: "diag_code",
        flag: "maindiag_flag",
        main: "main_diagnosis",
        others: "secondary_diagnoses",
        what: "main diagnoses",
    }
}

fn procedures() -> Role {
    Role {
        option: "--procedures",
        name: "procedures",
        spec: procedure_columns(),
        code: "oprn_oprt_code",
        flag: "main_oprn_flag",
        main: "main_procedure",
        others: "other_procedures",
        what: "main procedures",
    }
}

/// Joins the sub-tables of `tables` onto the case frame `df` (its `case_id` column as
/// read); `mapping` gains the columns they fill.
pub(super) fn join(
    df: DataFrame,
    mapping: &mut ColumnMapping,
    cases_path: &Path,
    tables: &CaseTables,
    scratch: Option<&Path>,
) -> Result<Joined> {
    let mut joined = Joined {
        df,
        rejects: Vec::new(),
        stats: Vec::new(),
    };
    for (role, path, sheet) in [
        (diagnoses(), tables.diagnoses, tables.diagnoses_sheet),
        (procedures(), tables.procedures, tables.procedures_sheet),
    ] {
        let Some(path) = path else { continue };
        for c in [role.main, role.others] {
            if let Some(h) = mapping.get(c) {
                return Err(AuditError::input(
                    cases_path,
                    "header",
                    format!(
                        "has a {c} column ('{h}') and {} gives the codes too; keep one of them",
                        role.option
                    ),
                ));
            }
        }
        let src = source::prepare(path, role.option, scratch, sheet)?;
        let n = joined.df.height();
        let ids = joined
            .df
            .column("case_id")
            .and_then(|c| c.str().cloned())
            .map_err(|e| AuditError::engine(cases_path, e))?;
        let settlements: FxHashSet<&str> = ids.iter().flatten().map(values::trim).collect();
        let (codes, rejects, mut stats) = read(&role, path, &src, &settlements)?;
        drop(settlements);
        // The case frame's new columns and the reasons of settlements with two mains.
        let mut main: Vec<Option<String>> = Vec::with_capacity(n);
        let mut others: Vec<Option<String>> = Vec::with_capacity(n);
        let mut two_mains: Vec<Option<String>> = Vec::with_capacity(n);
        let mut settlements_with_two_mains = 0;
        for id in ids.iter() {
            let c = id.and_then(|id| codes.get(values::trim(id)));
            main.push(c.and_then(|c| c.mains.first()).map(|(m, _)| m.clone()));
            others.push(
                c.filter(|c| !c.others.is_empty())
                    .map(|c| c.others.join(";")),
            );
            two_mains.push(c.filter(|c| c.mains.len() > 1).map(|c| {
                settlements_with_two_mains += 1;
                let lines: Vec<String> = c.mains.iter().map(|(_, l)| l.to_string()).collect();
                format!(
                    "{} gives this settlement {} {} ({} lines {}); keep one row flagged main \
                     ({} = 1)",
                    role.option,
                    c.mains.len(),
                    role.what,
                    file_name(path),
                    lines.join(", "),
                    role.flag
                )
            }));
        }
        stats.settlements_with_two_mains = settlements_with_two_mains;
        let df = &mut joined.df;
        let reason: StringChunked = df
            .column(REASON)
            .and_then(|c| c.str().cloned())
            .map_err(|e| AuditError::engine(cases_path, e))?
            .iter()
            .zip(&two_mains)
            .map(|(r, extra)| match (r, extra) {
                (r, None) => r.map(str::to_string),
                (None, Some(e)) => Some(format!("{}{SEP}{e}", role.main)),
                (Some(r), Some(e)) => Some(format!("{r}; {e}")),
            })
            .collect();
        let engine = |e| AuditError::engine(cases_path, e);
        df.with_column(reason.with_name(REASON.into()).into_column())
            .map_err(engine)?;
        let main: StringChunked = main.into_iter().collect();
        let others: StringChunked = others.into_iter().collect();
        df.with_column(main.with_name(role.main.into()).into_column())
            .map_err(engine)?;
        df.with_column(others.with_name(role.others.into()).into_column())
            .map_err(engine)?;
        let label = |col: &str| format!("{} {col} ({})", role.option, file_name(path));
        mapping.found.push((role.main, label(role.code)));
        mapping.found.push((role.others, label(role.code)));
        joined.rejects.extend(rejects);
        joined.stats.push(stats);
    }
    Ok(joined)
}

/// Whether a flag cell says "main": `1`, or the words for yes; `None` for a value that is
/// neither yes nor no.
fn main_flag(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "是" | "主" | "y" | "yes" | "true" | "t" | "main" => Some(true),
        "" | "0" | "否" | "n" | "no" | "false" | "f" => Some(false),
        _ => None,
    }
}

/// `diag_type` where it stands for main/other (exports without `maindiag_flag`): 1 or
/// 主要诊断 = main, 2 or 其他诊断 = other.
fn diag_type_main(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "主要诊断" | "主诊断" | "main" => Some(true),
        "2" | "其他诊断" | "次要诊断" | "other" | "secondary" => Some(false),
        _ => None,
    }
}

/// A flag or type cell as a reason may show it: short values with at most two digits only
/// (a shifted row can put an id there).
fn shown_flag(v: &str) -> String {
    if v.chars().count() <= 4 && v.chars().filter(char::is_ascii_digit).count() <= 2 {
        format!("'{v}'")
    } else {
        format!("(a {}-character value, not shown)", v.chars().count())
    }
}

type SubRead = (FxHashMap<String, Codes>, Vec<Reject>, SubTableStats);

/// Reads one sub-table: the codes of each settlement in `settlements`, and the rows that
/// join none or cannot be read.
fn read(role: &Role, path: &Path, src: &Source, settlements: &FxHashSet<&str>) -> Result<SubRead> {
    if src.format == Format::Parquet {
        return Err(AuditError::input(
            path,
            "file",
            format!("{} takes a CSV or Excel table, not Parquet", role.option),
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .delimiter(src.delimiter.byte())
        .from_path(&src.path)
        .map_err(|e| AuditError::io(path, std::io::Error::other(e.to_string())))?;
    let bad = |e: csv::Error| {
        // The csv crate's messages name a position, never a cell's content.
        AuditError::input(path, "file", format!("cannot be read as a table: {e}"))
    };
    let headers: Vec<String> = reader
        .byte_headers()
        .map_err(bad)?
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    let mapping = map_headers(&headers, &role.spec).map_err(|p| p.into_error(path))?;
    let at = |c: &str| {
        mapping
            .get(c)
            .and_then(|h| headers.iter().position(|x| x == h))
    };
    let id_at = at("setl_id").expect("required");
    let code_at = at(role.code).expect("required");
    let flag_at = at(role.flag);
    let type_at = if flag_at.is_none() {
        at("diag_type")
    } else {
        None
    };
    if flag_at.is_none() && type_at.is_none() {
        return Err(AuditError::input(
            path,
            "header",
            format!(
                "has no {} column (or diag_type) saying which code is the main one; add it",
                role.flag
            ),
        ));
    }
    let file = file_name(path);
    let mut codes: FxHashMap<String, Codes> = FxHashMap::default();
    let mut rejects = Vec::new();
    let mut stats = SubTableStats {
        role: role.name,
        path: path.to_path_buf(),
        format: src.format,
        encoding: src.encoding,
        delimiter: src.reported_delimiter(),
        sheet: src.sheet.clone(),
        rows_read: 0,
        rows_joined: 0,
        rows_rejected: 0,
        settlements_with_two_mains: 0,
    };
    let mut record = csv::ByteRecord::new();
    let mut index = 0u32;
    while reader.read_byte_record(&mut record).map_err(bad)? {
        let line = match (&src.sheet_rows, record.position()) {
            (Some(rows), _) => rows.line(index),
            (None, Some(p)) => p.line(),
            (None, None) => u64::from(index) + 2,
        };
        index += 1;
        stats.rows_read += 1;
        let cell = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()
        };
        let id = cell(Some(id_at));
        let id = values::trim(&id).to_string();
        let code = cell(Some(code_at));
        let code = values::trim(&code).to_string();
        let mut reject = |column: &str, reason: String| {
            rejects.push(Reject {
                line,
                case_id: id.clone(),
                column: column.to_string(),
                reason,
                file: file.clone(),
                ungroupable: false,
            });
        };
        if id.is_empty() {
            reject("setl_id", "setl_id is empty (required)".into());
            continue;
        }
        if code.is_empty() {
            reject(role.code, format!("{} is empty (required)", role.code));
            continue;
        }
        let is_main = match (flag_at, type_at) {
            (Some(i), _) => {
                let v = cell(Some(i));
                main_flag(&v).ok_or_else(|| {
                    (
                        role.flag,
                        format!(
                            "{} {} is neither 1 (main) nor 0 (other)",
                            role.flag,
                            shown_flag(v.trim())
                        ),
                    )
                })
            }
            (None, t) => {
                let v = cell(t);
                diag_type_main(&v).ok_or_else(|| {
                    (
                        "diag_type",
                        format!(
                            "diag_type {} is neither 1 (main diagnosis) nor 2 (other)",
                            shown_flag(v.trim())
                        ),
                    )
                })
            }
        };
        let is_main = match is_main {
            Ok(m) => m,
            Err((column, why)) => {
                reject(column, why);
                continue;
            }
        };
        if !settlements.contains(id.as_str()) {
            reject(
                "setl_id",
                format!(
                    "setl_id matches no settlement of the case table (--cases); the {} row \
                     belongs to a settlement missing from the export, or its setl_id is \
                     mistyped",
                    role.name
                ),
            );
            continue;
        }
        stats.rows_joined += 1;
        let entry = codes.entry(id).or_default();
        if is_main {
            entry.mains.push((code, line));
        } else {
            entry.others.push(code);
        }
    }
    stats.rows_rejected = rejects.len() as u64;
    Ok((codes, rejects, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_types_say_which_code_is_main() {
        assert_eq!(main_flag("1"), Some(true));
        assert_eq!(main_flag(" 是 "), Some(true));
        assert_eq!(main_flag("0"), Some(false));
        assert_eq!(main_flag(""), Some(false));
        assert_eq!(main_flag("x"), None);
        assert_eq!(diag_type_main("1"), Some(true));
        assert_eq!(diag_type_main("其他诊断"), Some(false));
        assert_eq!(diag_type_main("3"), None);
    }
}
