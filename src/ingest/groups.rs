//! Reading the group catalogue (CONTRACT §2): `groups.csv`, or the bundled CHS-DRG
//! weights, into a [`Catalog`]. Every bad row names its line. The types and the rules on
//! codes (families, severities, siblings) live in [`crate::catalog`].

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::catalog::{Catalog, Group, derive_family, derive_severity};
use crate::config::RegionConfig;
use crate::error::{AuditError, Result};
use crate::ingest::table::{StringTable, read_csv_bytes, read_small_table};
use crate::schema::{group_columns, map_headers};

const BUNDLED_DRG: &str = include_str!("../../data/reference/chs_drg_weights_harbin_2024.csv");

impl Catalog {
    /// Reads a catalogue file (CSV in any encoding and separator the case table may have,
    /// or the first sheet of an Excel workbook).
    pub fn from_file(path: &Path, config: &RegionConfig) -> Result<Catalog> {
        Self::from_file_sheet(path, None, config)
    }

    /// [`Catalog::from_file`] reading sheet `sheet` of a workbook (`--groups-sheet`).
    pub fn from_file_sheet(
        path: &Path,
        sheet: Option<&str>,
        config: &RegionConfig,
    ) -> Result<Catalog> {
        let table = read_small_table(path, "--groups", sheet)?;
        Self::from_table(&table, path, &path.display().to_string(), config)
    }

    /// The bundled CHS-DRG catalogue (Harbin 2024 weights), used when `--groups` is absent.
    pub fn bundled(config: &RegionConfig) -> Result<Catalog> {
        let label = Path::new("data/reference/chs_drg_weights_harbin_2024.csv");
        let table = read_csv_bytes(BUNDLED_DRG.as_bytes().to_vec(), label)?;
        Self::from_table(
            &table,
            label,
            "bundled CHS-DRG weights (Harbin 2024)",
            config,
        )
    }

    /// Builds a catalogue from a parsed table.
    pub fn from_table(
        table: &StringTable,
        path: &Path,
        source: &str,
        config: &RegionConfig,
    ) -> Result<Catalog> {
        let mapping =
            map_headers(&table.headers, &group_columns()).map_err(|p| p.into_error(path))?;
        let mut groups = Vec::with_capacity(table.rows.len());
        let mut families: Vec<String> = Vec::new();
        let mut family_index: HashMap<String, u32> = HashMap::new();
        let mut index = HashMap::new();
        let (mut derived_family, mut derived_severity) = (0, 0);
        let mut ungroupable: Vec<String> = Vec::new();
        let mut weightless: HashSet<String> = HashSet::new();
        for (i, row) in table.rows.iter().enumerate() {
            let line = format!("line {}", table.line(i));
            let get = |c: &str| table.cell(row, mapping.get(c));
            let Some(code) = get("group_code") else {
                return Err(AuditError::input(
                    path,
                    line,
                    "group_code is empty; fill it or delete the row",
                ));
            };
            let twice = || {
                AuditError::input(
                    path,
                    line.clone(),
                    format!("group_code {code} appears twice; keep one row per group"),
                )
            };
            // Ungroupable groups (`0000`, `QY`) are shipped without a weight: kept as
            // groups whose stays are counted as ungroupable, never analysed.
            if get("weight").is_none_or(is_no_weight) {
                if index.contains_key(code) || !weightless.insert(code.to_string()) {
                    return Err(twice());
                }
                ungroupable.push(code.to_string());
                continue;
            }
            if weightless.contains(code) {
                return Err(twice());
            }
            let weight = parse_positive(get("weight"), "weight")
                .map_err(|m| AuditError::input(path, line.clone(), m))?
                .ok_or_else(|| {
                    AuditError::input(
                        path,
                        line.clone(),
                        "weight is empty; every group needs a weight",
                    )
                })?;
            let family_code = match get("family") {
                Some(f) => f.to_string(),
                None => {
                    derived_family += 1;
                    derive_family(code, config)
                }
            };
            let severity = match get("severity") {
                Some(s) => match s.parse::<u8>() {
                    Ok(v @ (0 | 1 | 3 | 5 | 9)) => v,
                    _ => {
                        return Err(AuditError::input(
                            path,
                            line,
                            format!("severity '{s}' must be 1, 3, 5, 9 or 0"),
                        ));
                    }
                },
                None => {
                    derived_severity += 1;
                    derive_severity(code, config)
                }
            };
            let benchmark_cost = parse_positive(get("benchmark_cost"), "benchmark_cost")
                .map_err(|m| AuditError::input(path, line.clone(), m))?;
            let benchmark_los = parse_positive(get("benchmark_los"), "benchmark_los")
                .map_err(|m| AuditError::input(path, line.clone(), m))?;
            let next = family_index.len() as u32;
            let family = *family_index.entry(family_code.clone()).or_insert_with(|| {
                families.push(family_code);
                next
            });
            if index
                .insert(code.to_string(), groups.len() as u32)
                .is_some()
            {
                return Err(twice());
            }
            groups.push(Group {
                code: code.to_string(),
                weight,
                family,
                severity,
                benchmark_cost,
                benchmark_los,
                name: get("group_name").unwrap_or("").to_string(),
            });
        }
        if groups.is_empty() {
            return Err(AuditError::input(
                path,
                "header",
                if ungroupable.is_empty() {
                    "the catalogue has no groups"
                } else {
                    "no group of the catalogue has a weight; fill the weight column"
                },
            ));
        }
        Ok(Catalog::new(
            groups,
            families,
            source.to_string(),
            (derived_family, derived_severity),
            index,
        )
        .with_ungroupable(ungroupable))
    }
}

/// A weight cell that means "no weight": `.` or `-` (as ungroupable rows are shipped).
fn is_no_weight(v: &str) -> bool {
    matches!(v.trim(), "." | "-" | "—" | "–")
}

fn parse_positive(v: Option<&str>, name: &str) -> std::result::Result<Option<f64>, String> {
    // Upper bounds that no real catalogue reaches (a DIP score ×1000 stays far below 1e6):
    // a weight of 1e308 would make the point value 0 and every ratio NaN.
    let max = match name {
        "weight" => MAX_WEIGHT,
        "benchmark_los" => 3650.0,
        _ => crate::ingest::values::MAX_STAY_COST_YUAN,
    };
    match v {
        None => Ok(None),
        Some(s) => match crate::ingest::values::parse_money(s) {
            Ok(x) if x > 0.0 && x <= max => Ok(Some(x)),
            Ok(x) if x > max => Err(format!(
                "{name} '{s}' is above {max}, not a plausible value; check the column"
            )),
            _ => Err(format!("{name} '{s}' must be a positive number")),
        },
    }
}

/// The largest weight or score accepted in a catalogue.
pub const MAX_WEIGHT: f64 = 1e6;

/// A catalogue of `(code, weight, family, severity)` rows, for unit-test fixtures.
#[cfg(test)]
pub(crate) fn test_catalog(groups: &[(&str, &str, &str, &str)], config: &RegionConfig) -> Catalog {
    let table = StringTable {
        headers: ["group_code", "weight", "family", "severity"]
            .map(String::from)
            .to_vec(),
        rows: groups
            .iter()
            .map(|g| {
                vec![
                    Some(g.0.into()),
                    Some(g.1.into()),
                    Some(g.2.into()),
                    Some(g.3.into()),
                ]
            })
            .collect(),
        lines: None,
    };
    Catalog::from_table(&table, std::path::Path::new("groups"), "fixture", config)
        .expect("fixture catalogue")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::SEVERITY_UNSPLIT;

    fn table(headers: &[&str], rows: &[&[&str]]) -> StringTable {
        StringTable {
            headers: headers.iter().map(|s| s.to_string()).collect(),
            rows: rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|c| (!c.is_empty()).then(|| c.to_string()))
                        .collect()
                })
                .collect(),
            lines: None,
        }
    }

    /// Issue 14: an ungroupable row (blank or `.` weight) is a group without weight, not an
    /// error that stops the run.
    #[test]
    fn weightless_rows_are_ungroupable_groups() {
        let cfg = RegionConfig::default_drg();
        let t = table(
            &["group_code", "weight"],
            &[
                &["ES31", "1.2"],
                &["0000", ""],
                &["QY", "."],
                &["ES33", "0.9"],
            ],
        );
        let c = Catalog::from_table(&t, Path::new("g.csv"), "test", &cfg).unwrap();
        assert_eq!(c.groups.len(), 2);
        assert_eq!(c.lookup("QY"), None, "no weight: never analysed");
        assert!(c.is_ungroupable("QY") && c.is_ungroupable("0000"));
        assert!(!c.is_ungroupable("ES31"));
        assert_eq!(c.ungroupable(), ["0000", "QY"]);
        let t = table(&["group_code", "weight"], &[&["QY", "."], &["QY", "1"]]);
        let e = Catalog::from_table(&t, Path::new("g.csv"), "test", &cfg)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("appears twice"), "{e}");
        let t = table(&["group_code", "weight"], &[&["QY", "."]]);
        let e = Catalog::from_table(&t, Path::new("g.csv"), "test", &cfg)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no group of the catalogue has a weight"), "{e}");
    }

    #[test]
    fn family_and_severity_are_derived_from_drg_codes() {
        let cfg = RegionConfig::default_drg();
        let t = table(
            &["drg_code", "rw"],
            &[
                &["ES31", "1.2"],
                &["ES33", "0.9"],
                &["ES35", "0.7"],
                &["GB2A", "3"],
                &["AQY", "1"],
            ],
        );
        let c = Catalog::from_table(&t, Path::new("g.csv"), "test", &cfg).unwrap();
        let es31 = c.lookup("ES31").unwrap();
        let es35 = c.lookup("ES35").unwrap();
        assert_eq!(c.families[c.groups[es31 as usize].family as usize], "ES3");
        assert_eq!(c.groups[es31 as usize].severity, 1);
        assert_eq!(c.groups[es35 as usize].severity, 5);
        assert_eq!(c.groups[c.lookup("GB2A").unwrap() as usize].severity, 1);
        assert_eq!(
            c.families[c.groups[c.lookup("AQY").unwrap() as usize].family as usize],
            "A"
        );
        assert_eq!(c.lower_sibling(es31), c.lookup("ES33"));
        assert_eq!(c.lower_sibling(c.lookup("ES33").unwrap()), Some(es35));
        assert_eq!(c.lower_sibling(es35), None);
        assert_eq!(c.derived_family, 5);
    }

    #[test]
    fn dip_families_come_from_the_diagnosis_part() {
        let cfg = RegionConfig::preset("dip-national").unwrap();
        let t = table(
            &["group_code", "分值"],
            &[&["I21:cons", "800"], &["I21:surg", "2500"]],
        );
        let c = Catalog::from_table(&t, Path::new("g.csv"), "test", &cfg).unwrap();
        let surg = c.lookup("I21:surg").unwrap();
        assert_eq!(c.families[c.groups[surg as usize].family as usize], "I21");
        assert_eq!(c.groups[surg as usize].severity, SEVERITY_UNSPLIT);
        assert_eq!(c.lower_sibling(surg), c.lookup("I21:cons"));
    }

    #[test]
    fn bad_catalogue_rows_name_their_line() {
        let cfg = RegionConfig::default_drg();
        let t = table(
            &["group_code", "weight"],
            &[&["ES31", "1.2"], &["ES33", "abc"]],
        );
        let e = Catalog::from_table(&t, Path::new("g.csv"), "test", &cfg)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("g.csv: line 3") && e.contains("weight 'abc'"),
            "{e}"
        );
        let t = table(
            &["group_code", "weight"],
            &[&["ES31", "1.2"], &["ES31", "1.3"]],
        );
        let e = Catalog::from_table(&t, Path::new("g.csv"), "test", &cfg)
            .unwrap_err()
            .to_string();
        assert!(e.contains("appears twice"), "{e}");
    }

    #[test]
    fn the_bundled_catalogue_loads_with_falling_weights() {
        let c = Catalog::bundled(&RegionConfig::default_drg()).unwrap();
        assert!(c.groups.len() > 600);
        let w = |code: &str| c.groups[c.lookup(code).unwrap() as usize].weight;
        assert!(w("ES31") > w("ES33") && w("ES33") > w("ES35"));
    }
}
