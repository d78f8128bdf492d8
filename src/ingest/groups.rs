//! The group catalogue (CONTRACT §2): weights, families, severities and benchmarks.
//!
//! `family` groups the codes a patient could be coded into by severity or treatment (the
//! ADRG for DRG, the diagnosis category for DIP); upcoding moves cases up inside a family,
//! so every upcoding indicator is computed within families.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::config::{RegionConfig, Scheme};
use crate::error::{AuditError, Result};
use crate::ingest::table::{StringTable, read_csv_bytes, read_small_csv};
use crate::schema::{group_columns, map_headers};

/// Severity code for "not split" (and DIP groups).
pub const SEVERITY_UNSPLIT: u8 = 9;

/// One DRG or DIP group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Group code as the grouper writes it.
    pub code: String,
    /// Relative weight (DRG RW) or score (DIP 分值).
    pub weight: f64,
    /// Index into [`Catalog::families`].
    pub family: u32,
    /// 1 = with MCC, 3 = with CC, 5 = without, 9 = not split, 0 = ambiguous.
    pub severity: u8,
    /// Regional benchmark cost per case, when the catalogue gives one.
    pub benchmark_cost: Option<f64>,
    /// Benchmark length of stay, when the catalogue gives one.
    pub benchmark_los: Option<f64>,
    /// Group name.
    pub name: String,
}

/// The catalogue with family and code indexes.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Groups in file order.
    pub groups: Vec<Group>,
    /// Family codes; `Group::family` indexes this.
    pub families: Vec<String>,
    /// Where it came from (a path or "bundled CHS-DRG Harbin 2024").
    pub source: String,
    /// Groups whose family was derived from the code.
    pub derived_family: usize,
    /// Groups whose severity was derived from the code suffix.
    pub derived_severity: usize,
    index: HashMap<String, u32>,
    lower_sibling: Vec<Option<u32>>,
}

const BUNDLED_DRG: &str = include_str!("../../data/reference/chs_drg_weights_harbin_2024.csv");

impl Catalog {
    /// Reads a catalogue file.
    pub fn from_file(path: &Path, config: &RegionConfig) -> Result<Catalog> {
        let table = read_small_csv(path)?;
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
        for (i, row) in table.rows.iter().enumerate() {
            let line = format!("line {}", i + 2);
            let get = |c: &str| table.cell(row, mapping.get(c));
            let Some(code) = get("group_code") else {
                return Err(AuditError::input(
                    path,
                    line,
                    "group_code is empty; fill it or delete the row",
                ));
            };
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
                return Err(AuditError::input(
                    path,
                    line,
                    format!("group_code {code} appears twice; keep one row per group"),
                ));
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
                "the catalogue has no groups",
            ));
        }
        let lower_sibling = lower_siblings(&groups, families.len());
        Ok(Catalog {
            groups,
            families,
            source: source.to_string(),
            derived_family,
            derived_severity,
            index,
            lower_sibling,
        })
    }

    /// The group index of a code.
    pub fn lookup(&self, code: &str) -> Option<u32> {
        self.index.get(code).copied()
    }

    /// The group a case would fall into without its severity (DRG: the next lower severity
    /// of the same family; DIP and unsplit families: the next lighter group of the family).
    pub fn lower_sibling(&self, group: u32) -> Option<u32> {
        self.lower_sibling[group as usize]
    }
}

fn parse_positive(v: Option<&str>, name: &str) -> std::result::Result<Option<f64>, String> {
    match v {
        None => Ok(None),
        Some(s) => match crate::ingest::values::parse_money(s) {
            Ok(x) if x > 0.0 => Ok(Some(x)),
            _ => Err(format!("{name} '{s}' must be a positive number")),
        },
    }
}

/// Family of a code without a family column: DRG = the code less its severity suffix (the
/// ADRG, first three characters for CHS-DRG); DIP = the diagnosis part before `:`, `-` or
/// `_`, else the first three characters (the ICD-10 category).
pub fn derive_family(code: &str, config: &RegionConfig) -> String {
    match config.scheme {
        Scheme::Drg => match config.severity.severity_of(code) {
            Some((_, len)) => code[..code.len() - len].to_string(),
            None => code.chars().take(3).collect(),
        },
        Scheme::Dip => match code.find([':', '-', '_']) {
            Some(i) if i > 0 => code[..i].to_string(),
            _ => code.chars().take(3).collect(),
        },
    }
}

/// Severity of a code without a severity column: the configured suffix map (DRG), else 9.
pub fn derive_severity(code: &str, config: &RegionConfig) -> u8 {
    match config.scheme {
        Scheme::Drg => config
            .severity
            .severity_of(code)
            .map_or(SEVERITY_UNSPLIT, |(s, _)| s),
        Scheme::Dip => SEVERITY_UNSPLIT,
    }
}

fn lower_siblings(groups: &[Group], n_families: usize) -> Vec<Option<u32>> {
    let mut by_family: Vec<Vec<u32>> = vec![Vec::new(); n_families];
    for (i, g) in groups.iter().enumerate() {
        by_family[g.family as usize].push(i as u32);
    }
    groups
        .iter()
        .map(|g| {
            let members = &by_family[g.family as usize];
            let rank = |s: u8| match s {
                1 => Some(0),
                3 => Some(1),
                5 => Some(2),
                _ => None,
            };
            if let Some(r) = rank(g.severity) {
                // The next lower severity present (1 -> 3 -> 5).
                members
                    .iter()
                    .copied()
                    .filter_map(|m| rank(groups[m as usize].severity).map(|rm| (rm, m)))
                    .filter(|(rm, _)| *rm > r)
                    .min_by_key(|(rm, _)| *rm)
                    .map(|(_, m)| m)
            } else {
                // Unsplit: the heaviest group of the family that is lighter than this one.
                members
                    .iter()
                    .copied()
                    .filter(|m| groups[*m as usize].weight < g.weight)
                    .max_by(|a, b| {
                        groups[*a as usize]
                            .weight
                            .total_cmp(&groups[*b as usize].weight)
                    })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
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
