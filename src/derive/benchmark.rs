//! Benchmark cost and length of stay per group and hospital level.
//!
//! The DIP rule: last period's average cost for the group among hospitals of the same level.
//! A group needs `min_cases` baseline stays at the level; otherwise the benchmark falls back,
//! in order, to: the group's baseline average over all levels; the audited period's average
//! at the level; the audited average over all levels; and finally weight × the region's cost
//! per weight unit (LOS: the region's mean stay). A benchmark given in the catalogue wins
//! over all of these. `summary.json` counts the cases benchmarked by each source.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::ingest::Cases;
use crate::period::PeriodTag;

/// Where a benchmark came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BenchmarkSource {
    /// Given in the catalogue.
    Catalogue,
    /// Baseline period, same level.
    BaselineSameLevel,
    /// Baseline period, all levels.
    BaselineAllLevels,
    /// Audited period, same level.
    AuditedSameLevel,
    /// Audited period, all levels.
    AuditedAllLevels,
    /// Weight × regional cost per weight.
    WeightScaled,
}

impl BenchmarkSource {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            BenchmarkSource::Catalogue => "catalogue",
            BenchmarkSource::BaselineSameLevel => "baseline-same-level",
            BenchmarkSource::BaselineAllLevels => "baseline-all-levels",
            BenchmarkSource::AuditedSameLevel => "audited-same-level",
            BenchmarkSource::AuditedAllLevels => "audited-all-levels",
            BenchmarkSource::WeightScaled => "weight-scaled",
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    n: u64,
    cost: f64,
    los: f64,
}

impl Acc {
    fn add(&mut self, cost: f64, los: f64) {
        self.n += 1;
        self.cost += cost;
        self.los += los;
    }
    fn mean(&self, min: u32) -> Option<(f64, f64)> {
        (self.n >= min.max(1) as u64).then(|| (self.cost / self.n as f64, self.los / self.n as f64))
    }
}

/// Benchmarks by (group, level index 0–3).
#[derive(Debug, Clone)]
pub struct Benchmarks {
    cost: Vec<[f64; 4]>,
    los: Vec<[f64; 4]>,
    source: Vec<[BenchmarkSource; 4]>,
    /// Cases by the source of their cost benchmark.
    pub cases_by_source: BTreeMap<&'static str, u64>,
    /// Regional cost per unit of weight used by the last fallback.
    pub cost_per_weight: f64,
}

impl Benchmarks {
    /// Benchmark cost of a group at a level.
    pub fn cost(&self, group: u32, level: u8) -> f64 {
        self.cost[group as usize][level as usize]
    }
    /// Benchmark LOS of a group at a level.
    pub fn los(&self, group: u32, level: u8) -> f64 {
        self.los[group as usize][level as usize]
    }
    /// Source of a group's benchmark at a level.
    pub fn source(&self, group: u32, level: u8) -> BenchmarkSource {
        self.source[group as usize][level as usize]
    }

    /// Every (group, level) benchmark as `(group, level, cost, los, source)`.
    pub fn rows(&self) -> Vec<(u32, u8, f64, f64, BenchmarkSource)> {
        let mut out = Vec::with_capacity(self.cost.len() * 4);
        for g in 0..self.cost.len() {
            for lv in 0..4 {
                out.push((
                    g as u32,
                    lv as u8,
                    self.cost[g][lv],
                    self.los[g][lv],
                    self.source[g][lv],
                ));
            }
        }
        out
    }

    /// Benchmarks given from outside (a published model): every (group, level) must be set.
    /// `None` when a (group, level) is missing.
    pub fn from_rows(
        groups: usize,
        rows: &[(u32, u8, f64, f64, BenchmarkSource)],
        cost_per_weight: f64,
    ) -> Option<Benchmarks> {
        let mut cost = vec![[f64::NAN; 4]; groups];
        let mut los = vec![[f64::NAN; 4]; groups];
        let mut source = vec![[BenchmarkSource::WeightScaled; 4]; groups];
        for &(g, lv, c, l, s) in rows {
            let (g, lv) = (g as usize, lv as usize);
            if g >= groups || lv >= 4 {
                return None;
            }
            cost[g][lv] = c;
            los[g][lv] = l;
            source[g][lv] = s;
        }
        if cost.iter().flatten().any(|c| c.is_nan()) {
            return None;
        }
        Some(Benchmarks {
            cost,
            los,
            source,
            cases_by_source: BTreeMap::new(),
            cost_per_weight,
        })
    }

    /// Computes the benchmarks from the cases (see the module docs for the fallbacks).
    pub fn compute(
        cases: &Cases,
        catalog: &Catalog,
        period: &[PeriodTag],
        level: &[u8],
        min_cases: u32,
    ) -> Benchmarks {
        let ng = catalog.groups.len();
        // [period][group][level 0-3, 4 = all levels]
        let mut acc = vec![vec![[Acc::default(); 5]; ng]; 2];
        let (mut base_cost, mut base_w, mut base_los, mut base_n) = (0.0, 0.0, 0.0, 0u64);
        let (mut aud_cost, mut aud_w, mut aud_los, mut aud_n) = (0.0, 0.0, 0.0, 0u64);
        for i in 0..cases.len() {
            let p = match period[i] {
                PeriodTag::Baseline => 0,
                PeriodTag::Audited => 1,
                PeriodTag::Outside => continue,
            };
            let g = cases.group[i] as usize;
            let (c, l) = (cases.cost[i], cases.los[i] as f64);
            acc[p][g][level[i] as usize].add(c, l);
            acc[p][g][4].add(c, l);
            let w = catalog.groups[g].weight;
            if p == 0 {
                (base_cost, base_w, base_los, base_n) =
                    (base_cost + c, base_w + w, base_los + l, base_n + 1);
            } else {
                (aud_cost, aud_w, aud_los, aud_n) =
                    (aud_cost + c, aud_w + w, aud_los + l, aud_n + 1);
            }
        }
        let (cost_per_weight, mean_los) = if base_n > 0 && base_w > 0.0 {
            (base_cost / base_w, base_los / base_n as f64)
        } else if aud_w > 0.0 {
            (aud_cost / aud_w, aud_los / aud_n.max(1) as f64)
        } else {
            (0.0, 1.0)
        };
        let mut cost = vec![[0.0; 4]; ng];
        let mut los = vec![[0.0; 4]; ng];
        let mut source = vec![[BenchmarkSource::WeightScaled; 4]; ng];
        for g in 0..ng {
            let group = &catalog.groups[g];
            for lv in 0..4 {
                let candidates = [
                    (BenchmarkSource::BaselineSameLevel, acc[0][g][lv]),
                    (BenchmarkSource::BaselineAllLevels, acc[0][g][4]),
                    (BenchmarkSource::AuditedSameLevel, acc[1][g][lv]),
                    (BenchmarkSource::AuditedAllLevels, acc[1][g][4]),
                ];
                let found = candidates
                    .iter()
                    .find_map(|(s, a)| a.mean(min_cases).map(|m| (*s, m)));
                let (mut src, (mut c, mut l)) = found.unwrap_or((
                    BenchmarkSource::WeightScaled,
                    (group.weight * cost_per_weight, mean_los),
                ));
                if let Some(bc) = group.benchmark_cost {
                    (src, c) = (BenchmarkSource::Catalogue, bc);
                }
                if let Some(bl) = group.benchmark_los {
                    l = bl;
                }
                cost[g][lv] = c;
                los[g][lv] = l;
                source[g][lv] = src;
            }
        }
        let mut cases_by_source = BTreeMap::new();
        for i in 0..cases.len() {
            let s = source[cases.group[i] as usize][level[i] as usize];
            *cases_by_source.entry(s.as_str()).or_default() += 1;
        }
        Benchmarks {
            cost,
            los,
            source,
            cases_by_source,
            cost_per_weight,
        }
    }
}
