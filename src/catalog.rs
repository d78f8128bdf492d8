//! The group catalogue (CONTRACT §2): weights, families, severities and benchmarks.
//!
//! `family` groups the codes a patient could be coded into by severity or treatment (the
//! ADRG for DRG, the diagnosis category for DIP); upcoding moves cases up inside a family,
//! so every upcoding indicator is computed within families.
//!
//! This module holds the types and the rules on codes; reading `groups.csv` (or the
//! bundled catalogue) into a [`Catalog`] is ingest's job ([`crate::ingest::groups`]), so
//! the catalogue sits below ingest, which looks group codes up in it.

use std::collections::HashMap;

use serde::Serialize;

use crate::config::{RegionConfig, Scheme};

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
    /// Codes of the groups without a weight (ungroupable: `0000`, `QY`), sorted. They are
    /// not in [`Catalog::groups`], so no stage can give them points or divide by their
    /// weight; ingest counts their stays as ungroupable instead of analysing them.
    ungroupable: Vec<String>,
}

impl Catalog {
    /// Assembles a catalogue from its groups (in file order), family codes and code index;
    /// `derived` counts the groups whose (family, severity) was derived from the code.
    pub fn new(
        groups: Vec<Group>,
        families: Vec<String>,
        source: String,
        derived: (usize, usize),
        index: HashMap<String, u32>,
    ) -> Catalog {
        let lower_sibling = lower_siblings(&groups, families.len());
        Catalog {
            groups,
            families,
            source,
            derived_family: derived.0,
            derived_severity: derived.1,
            index,
            lower_sibling,
            ungroupable: Vec::new(),
        }
    }

    /// The same catalogue with these weightless (ungroupable) group codes.
    pub fn with_ungroupable(mut self, mut codes: Vec<String>) -> Catalog {
        codes.sort();
        codes.dedup();
        self.ungroupable = codes;
        self
    }

    /// Whether `code` is a group of the catalogue without a weight.
    pub fn is_ungroupable(&self, code: &str) -> bool {
        self.ungroupable
            .binary_search_by(|c| c.as_str().cmp(code))
            .is_ok()
    }

    /// The weightless group codes, sorted.
    pub fn ungroupable(&self) -> &[String] {
        &self.ungroupable
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
