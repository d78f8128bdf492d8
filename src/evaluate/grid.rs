//! The scenario grid's scoring (`evaluate --grid`, the acceptance benchmark of issue 10):
//! each audited region is read back from its run folder and its truth file into a
//! [`RegionOutcome`], and [`Grid::build`] turns many of them into two tables.
//!
//! - Regions with gaming: per detector score, the ROC-AUC against honest hospitals
//!   (median and 10th percentile over regions), precision@k (k = the region's hospitals
//!   with the score's patterns; for `risk_score` every gaming hospital) and the share of
//!   regions with a confounder in that top k.
//! - Honest regions (`--no-gaming`): calibration. Every null is true there, so under
//!   BH at q = 0.05 about one region in twenty may show a flag, and a p-value below
//!   0.001 should happen in 0.1 % of tests, at any hospital size. Reported: the share of
//!   regions with a flag, the share of scored tests below 0.001 and 0.01 by expected
//!   count E, and per indicator a Kolmogorov–Smirnov test of its p-values against the
//!   uniform: D⁺ (an excess of small p-values, i.e. anti-conservative; a discrete test's
//!   p-values are super-uniform and show as small D⁺) and the two-sided D.
//!
//! Both list the flags raised at hospitals that do not game, by indicator and role.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use statrs::statistics::{Data, OrderStatistics};

use super::{DETECTOR_PATTERNS, auc};
use crate::error::{AuditError, Result};
use crate::ingest::table::{StringTable, read_small_csv};
use crate::ingest::values::{Day, parse_date};

/// Expected-count bands of the calibration table: E < 50, 50–500, > 500.
pub const SIZE_BANDS: [(&str, f64, f64); 3] = [
    ("E<50", 0.0, 50.0),
    ("E 50-500", 50.0, 500.0),
    ("E>500", 500.0, f64::INFINITY),
];

/// One hospital of an audited region.
#[derive(Debug, Clone)]
pub struct HospitalOutcome {
    /// `hospital_id`.
    pub id: String,
    /// Truth role (`clean`, `gaming`, `confounder_…`).
    pub role: String,
    /// Injected gaming patterns (empty = honest).
    pub patterns: Vec<String>,
    /// Rank in `hospitals.csv`.
    pub rank: usize,
    /// Scores in [`DETECTOR_PATTERNS`] order.
    pub scores: Vec<f64>,
    /// Truth `upcoding_variant` (empty when the hospital does not upcode, or the truth file
    /// predates the column).
    pub variant: String,
    /// Stays gaming created or altered in the run's audited period, from `truth_cases.csv`
    /// (every row when the file has no `discharge_date`; 0 without the file).
    pub gamed_stays: usize,
}

/// Bands of a gaming hospital's gamed stays in the audited year (`evaluate --grid`'s
/// "by evidence" rows): how much a detector can find depends first on how many stays
/// carry the gaming, and weak gaming at a small hospital leaves a handful.
pub const EVIDENCE_BANDS: [(&str, usize, usize); 4] = [
    ("<10", 0, 10),
    ("10-29", 10, 30),
    ("30-99", 30, 100),
    (">=100", 100, usize::MAX),
];

/// The audited period the run chose, as its `summary.json` records it (first and last day).
fn audited_period(run_dir: &Path) -> Option<(Day, Day)> {
    let text = std::fs::read_to_string(run_dir.join("summary.json")).ok()?;
    let summary: serde_json::Value = serde_json::from_str(&text).ok()?;
    let day = |k: &str| parse_date(summary["periods"]["audited"][k].as_str()?).ok();
    Some((day("start")?, day("end")?))
}

/// Gamed stays per hospital in the run's audited period, from the `truth_cases.csv` beside
/// `truth` (every row when the file has no `discharge_date` or the run no audited period;
/// empty when there is no such file).
fn gamed_stays(truth: &Path, audited: Option<(Day, Day)>) -> Result<BTreeMap<String, usize>> {
    let path = truth.with_file_name("truth_cases.csv");
    if !path.is_file() {
        return Ok(BTreeMap::new());
    }
    let t = read_small_csv(&path, "--truth")?;
    let hid = column(&t, "hospital_id", &path)?;
    let date = column(&t, "discharge_date", &path).ok();
    let counted = |r: &[Option<String>]| match (date, audited) {
        (Some(c), Some((start, end))) => {
            parse_date(cell(r, c)).is_ok_and(|d| (start..=end).contains(&d))
        }
        _ => true,
    };
    let mut out = BTreeMap::new();
    for r in t.rows.iter().filter(|r| counted(r)) {
        *out.entry(cell(r, hid).to_string()).or_insert(0) += 1;
    }
    Ok(out)
}

/// One hospital × indicator test of `findings.csv`.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// Index into [`RegionOutcome::hospitals`].
    pub hospital: usize,
    /// Indicator code.
    pub indicator: String,
    /// Expected count E.
    pub expected: f64,
    /// One-sided p-value.
    pub p: f64,
    /// Whether the test feeds a detector score.
    pub scored: bool,
    /// Whether it was flagged.
    pub flagged: bool,
}

/// One audited region.
#[derive(Debug, Clone)]
pub struct RegionOutcome {
    /// Its seed.
    pub seed: u64,
    /// Its scenario in one line.
    pub scenario: String,
    /// Hospitals, in `hospitals.csv` order.
    pub hospitals: Vec<HospitalOutcome>,
    /// Every test.
    pub tests: Vec<TestOutcome>,
}

fn column(t: &StringTable, name: &str, path: &Path) -> Result<usize> {
    t.headers
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| AuditError::input(path, "header", format!("column {name} is missing")))
}

fn cell(row: &[Option<String>], c: usize) -> &str {
    row.get(c).and_then(|v| v.as_deref()).unwrap_or("").trim()
}

fn number(row: &[Option<String>], c: usize) -> f64 {
    cell(row, c).parse().unwrap_or(f64::NAN)
}

impl RegionOutcome {
    /// Reads a finished run (`hospitals.csv`, `findings.csv`) and the region's
    /// `truth_hospitals.csv`.
    pub fn read(run_dir: &Path, truth: &Path, seed: u64, scenario: String) -> Result<Self> {
        let tt = read_small_csv(truth, "--truth")?;
        let (tid, trole, tpat) = (
            column(&tt, "hospital_id", truth)?,
            column(&tt, "role", truth)?,
            column(&tt, "patterns", truth)?,
        );
        let tvariant = column(&tt, "upcoding_variant", truth).ok();
        let gamed = gamed_stays(truth, audited_period(run_dir))?;
        let truth_rows: BTreeMap<&str, (&str, Vec<String>, &str)> = tt
            .rows
            .iter()
            .map(|r| {
                let patterns = cell(r, tpat)
                    .split(';')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                let variant = tvariant.map_or("", |c| cell(r, c));
                (cell(r, tid), (cell(r, trole), patterns, variant))
            })
            .collect();
        let hpath = run_dir.join("hospitals.csv");
        let ht = read_small_csv(&hpath, "--run")?;
        let (hid, hrank) = (
            column(&ht, "hospital_id", &hpath)?,
            column(&ht, "rank", &hpath)?,
        );
        let score_cols = DETECTOR_PATTERNS
            .iter()
            .map(|(s, _)| column(&ht, s, &hpath))
            .collect::<Result<Vec<_>>>()?;
        let mut index = BTreeMap::new();
        let mut hospitals = Vec::with_capacity(ht.rows.len());
        for r in &ht.rows {
            let id = cell(r, hid).to_string();
            let (role, patterns, variant) =
                truth_rows
                    .get(id.as_str())
                    .cloned()
                    .unwrap_or(("unknown", Vec::new(), ""));
            index.insert(id.clone(), hospitals.len());
            hospitals.push(HospitalOutcome {
                role: role.to_string(),
                patterns,
                rank: cell(r, hrank).parse().unwrap_or(usize::MAX),
                variant: variant.to_string(),
                gamed_stays: gamed.get(id.as_str()).copied().unwrap_or(0),
                scores: score_cols
                    .iter()
                    .map(|&c| {
                        let v = number(r, c);
                        if v.is_finite() { v } else { 0.0 }
                    })
                    .collect(),
                id,
            });
        }
        let fpath = run_dir.join("findings.csv");
        let ft = read_small_csv(&fpath, "--run")?;
        let [fid, find, fexp, fp, fscored, fflag] = [
            "hospital_id",
            "indicator",
            "expected",
            "p",
            "scored",
            "flagged",
        ]
        .map(|name| column(&ft, name, &fpath));
        let (fid, find, fexp, fp, fscored, fflag) = (fid?, find?, fexp?, fp?, fscored?, fflag?);
        let tests = ft
            .rows
            .iter()
            .filter_map(|r| {
                Some(TestOutcome {
                    hospital: *index.get(cell(r, fid))?,
                    indicator: cell(r, find).to_string(),
                    expected: number(r, fexp),
                    p: number(r, fp),
                    scored: cell(r, fscored) == "true",
                    flagged: cell(r, fflag) == "true",
                })
            })
            .collect();
        Ok(RegionOutcome {
            seed,
            scenario,
            hospitals,
            tests,
        })
    }
}

/// One detector score over the gamed regions.
#[derive(Debug, Clone, Serialize)]
pub struct DetectorRow {
    /// Score column.
    pub score: String,
    /// Regions with at least one hospital with the score's patterns and one honest one.
    pub regions: usize,
    /// Median ROC-AUC against honest hospitals.
    pub auc_median: f64,
    /// 10th percentile of the ROC-AUC.
    pub auc_p10: f64,
    /// Median precision@k.
    pub precision_at_k_median: f64,
    /// Share of regions with a confounder in the score's top k.
    pub confounder_in_top_k_share: f64,
}

/// Calibration of the scored tests in one band of expected counts.
#[derive(Debug, Clone, Serialize)]
pub struct BandRow {
    /// Band label.
    pub band: String,
    /// Scored tests in the band.
    pub tests: usize,
    /// Share with p < 0.001 (nominal 0.001).
    pub share_p_below_0_001: f64,
    /// Share with p < 0.01 (nominal 0.01).
    pub share_p_below_0_01: f64,
}

/// Uniformity of one indicator's null p-values.
#[derive(Debug, Clone, Serialize)]
pub struct UniformityRow {
    /// Indicator code.
    pub indicator: String,
    /// Whether its tests feed a detector score.
    pub scored: bool,
    /// Tests with a p-value.
    pub tests: usize,
    /// Share with p < 0.01.
    pub share_p_below_0_01: f64,
    /// One-sided KS statistic D⁺ = max(F̂(p) − p): an excess of small p-values.
    pub ks_d_plus: f64,
    /// P(D⁺ ≥ observed) under uniform p-values (exact, Birnbaum–Tingey).
    pub ks_d_plus_p: f64,
    /// Two-sided KS statistic D.
    pub ks_d: f64,
    /// Its p-value (Kolmogorov's limit with Stephens' correction).
    pub ks_d_p: f64,
}

/// Flags raised at hospitals that do not game.
#[derive(Debug, Clone, Serialize)]
pub struct FlagRow {
    /// Indicator code.
    pub indicator: String,
    /// Truth role of the flagged hospitals.
    pub role: String,
    /// Flags.
    pub flags: usize,
    /// Regions where it happened.
    pub regions: usize,
}

/// The honest regions' calibration.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    /// Share of regions with any flagged finding.
    pub regions_with_a_flag_share: f64,
    /// Scored tests by expected count.
    pub by_size: Vec<BandRow>,
    /// Per indicator.
    pub uniformity: Vec<UniformityRow>,
}

/// One region's line.
#[derive(Debug, Clone, Serialize)]
pub struct RegionLine {
    /// Seed.
    pub seed: u64,
    /// Scenario.
    pub scenario: String,
    /// Hospitals.
    pub hospitals: usize,
    /// Gaming hospitals.
    pub gaming_hospitals: usize,
    /// ROC-AUC of `risk_score` against honest hospitals (NaN without gaming).
    pub risk_auc: f64,
    /// Precision@k of the ranking (NaN without gaming).
    pub precision_at_k: f64,
    /// Flagged hospitals that do not game.
    pub flagged_honest_hospitals: usize,
}

/// The grid's table.
#[derive(Debug, Clone, Serialize)]
pub struct Grid {
    /// Regions audited.
    pub regions: usize,
    /// Seed of the first region (region i has seed + i).
    pub seed: u64,
    /// Whether gaming was switched off.
    pub no_gaming: bool,
    /// Per detector (regions with gaming only).
    pub detectors: Vec<DetectorRow>,
    /// A detector of several patterns, per pattern: that pattern's hospitals against the
    /// honest.
    pub by_pattern: Vec<DetectorRow>,
    /// `upcoding_score` per upcoding variant (issue 11), DRG regions only (the CC/MCC
    /// coding checks do not apply to DIP): that variant's upcoders against the honest.
    pub upcoding_variants: Vec<DetectorRow>,
    /// `risk_score` by the gaming hospitals' gamed stays in the audited year
    /// ([`EVIDENCE_BANDS`]): that band's gaming hospitals against the honest.
    pub by_evidence: Vec<DetectorRow>,
    /// Calibration (honest regions only).
    pub calibration: Option<Calibration>,
    /// Flags at hospitals that do not game.
    pub honest_flags: Vec<FlagRow>,
    /// Per region.
    pub per_region: Vec<RegionLine>,
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    Data::new(v.to_vec()).median()
}

fn quantile(v: &[f64], tau: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    Data::new(v.to_vec()).quantile(tau)
}

fn share(hits: usize, of: usize) -> f64 {
    if of == 0 {
        f64::NAN
    } else {
        hits as f64 / of as f64
    }
}

/// Per score of one region: (AUC, precision@k, confounder in the top k), or `None`
/// when the region has no hospital with the score's patterns.
fn score_region(r: &RegionOutcome, s: usize) -> Option<(f64, f64, bool)> {
    let patterns = DETECTOR_PATTERNS[s].1;
    score_region_of(r, s, |h| {
        h.patterns.iter().any(|p| patterns.contains(&p.as_str()))
    })
}

/// [`score_region`] with the positives chosen by `has`.
fn score_region_of(
    r: &RegionOutcome,
    s: usize,
    has: impl Fn(&HospitalOutcome) -> bool,
) -> Option<(f64, f64, bool)> {
    let pos: Vec<f64> = r
        .hospitals
        .iter()
        .filter(|h| has(h))
        .map(|h| h.scores[s])
        .collect();
    let honest: Vec<f64> = r
        .hospitals
        .iter()
        .filter(|h| h.patterns.is_empty())
        .map(|h| h.scores[s])
        .collect();
    if pos.is_empty() || honest.is_empty() {
        return None;
    }
    let k = pos.len();
    // Ranked among the positives and the honest, as the AUC compares them: a hospital
    // gaming in another way is neither a hit nor a false lead for this score.
    let mut order: Vec<&HospitalOutcome> = r
        .hospitals
        .iter()
        .filter(|h| has(h) || h.patterns.is_empty())
        .collect();
    // Highest score first; ties in the order of the run's own ranking.
    order.sort_by(|a, b| {
        b.scores[s]
            .total_cmp(&a.scores[s])
            .then(a.rank.cmp(&b.rank))
            .then(a.id.cmp(&b.id))
    });
    let top = &order[..k.min(order.len())];
    let hits = top.iter().filter(|h| has(h)).count();
    let confounder = top.iter().any(|h| h.role.starts_with("confounder"));
    Some((auc(&pos, &honest), hits as f64 / k as f64, confounder))
}

/// A score's row from its per-region (AUC, precision@k, confounder in the top k).
fn detector_row(score: String, per: &[(f64, f64, bool)]) -> DetectorRow {
    let aucs: Vec<f64> = per.iter().map(|x| x.0).collect();
    let precisions: Vec<f64> = per.iter().map(|x| x.1).collect();
    DetectorRow {
        score,
        regions: per.len(),
        auc_median: median(&aucs),
        auc_p10: quantile(&aucs, 0.1),
        precision_at_k_median: median(&precisions),
        confounder_in_top_k_share: share(per.iter().filter(|x| x.2).count(), per.len()),
    }
}

impl Grid {
    /// Builds the table from the audited regions.
    pub fn build(regions: &[RegionOutcome], seed: u64, no_gaming: bool) -> Grid {
        let risk = DETECTOR_PATTERNS
            .iter()
            .position(|(s, _)| *s == "risk_score")
            .unwrap_or(DETECTOR_PATTERNS.len() - 1);
        let detectors = if no_gaming {
            Vec::new()
        } else {
            DETECTOR_PATTERNS
                .iter()
                .enumerate()
                .map(|(s, (score, _))| {
                    let per: Vec<(f64, f64, bool)> =
                        regions.iter().filter_map(|r| score_region(r, s)).collect();
                    detector_row(score.to_string(), &per)
                })
                .collect()
        };
        // Every DRG upcoding variant is coding-based (an added or excluded CC/MCC, a lever
        // code, a heavier main diagnosis): the first row takes them together (issue 11's
        // acceptance), then one row per variant.
        let upcoding_variants = if no_gaming {
            Vec::new()
        } else {
            std::iter::once(None)
                .chain(crate::generate::UpcodingVariant::ALL.iter().map(Some))
                .map(|v| {
                    let per: Vec<(f64, f64, bool)> = regions
                        .iter()
                        .filter(|r| r.scenario.starts_with("DRG"))
                        .filter_map(|r| {
                            score_region_of(r, 0, |h| {
                                v.is_none_or(|v| h.variant == v.as_str())
                                    && h.patterns.iter().any(|p| p == "upcoding")
                            })
                        })
                        .collect();
                    let label = v.map_or("drg_coding", |v| v.as_str());
                    detector_row(format!("upcoding_score/{label}"), &per)
                })
                .collect()
        };
        let by_pattern = if no_gaming {
            Vec::new()
        } else {
            DETECTOR_PATTERNS
                .iter()
                .enumerate()
                .filter(|(_, (_, patterns))| patterns.len() > 1)
                .flat_map(|(s, (score, patterns))| {
                    patterns.iter().map(move |p| {
                        let per: Vec<(f64, f64, bool)> = regions
                            .iter()
                            .filter_map(|r| {
                                score_region_of(r, s, |h| h.patterns.iter().any(|x| x == p))
                            })
                            .collect();
                        detector_row(format!("{score}/{p}"), &per)
                    })
                })
                .collect()
        };
        let by_evidence = if no_gaming {
            Vec::new()
        } else {
            EVIDENCE_BANDS
                .iter()
                .map(|&(label, lo, hi)| {
                    let per: Vec<(f64, f64, bool)> = regions
                        .iter()
                        .filter_map(|r| {
                            score_region_of(r, risk, |h| {
                                !h.patterns.is_empty() && (lo..hi).contains(&h.gamed_stays)
                            })
                        })
                        .collect();
                    detector_row(format!("risk_score/gamed stays {label}"), &per)
                })
                .collect()
        };
        let calibration = no_gaming.then(|| calibrate(regions));
        let mut flags: BTreeMap<(String, String), (usize, std::collections::BTreeSet<u64>)> =
            BTreeMap::new();
        for r in regions {
            for t in r.tests.iter().filter(|t| t.flagged) {
                let h = &r.hospitals[t.hospital];
                if h.patterns.is_empty() {
                    let e = flags
                        .entry((t.indicator.clone(), h.role.clone()))
                        .or_default();
                    e.0 += 1;
                    e.1.insert(r.seed);
                }
            }
        }
        let honest_flags = flags
            .into_iter()
            .map(|((indicator, role), (flags, regions))| FlagRow {
                indicator,
                role,
                flags,
                regions: regions.len(),
            })
            .collect();
        let per_region = regions
            .iter()
            .map(|r| {
                let scored = score_region(r, risk);
                let mut flagged: Vec<usize> = r
                    .tests
                    .iter()
                    .filter(|t| t.flagged && r.hospitals[t.hospital].patterns.is_empty())
                    .map(|t| t.hospital)
                    .collect();
                flagged.sort_unstable();
                flagged.dedup();
                RegionLine {
                    seed: r.seed,
                    scenario: r.scenario.clone(),
                    hospitals: r.hospitals.len(),
                    gaming_hospitals: r
                        .hospitals
                        .iter()
                        .filter(|h| !h.patterns.is_empty())
                        .count(),
                    risk_auc: scored.map_or(f64::NAN, |x| x.0),
                    precision_at_k: scored.map_or(f64::NAN, |x| x.1),
                    flagged_honest_hospitals: flagged.len(),
                }
            })
            .collect();
        Grid {
            regions: regions.len(),
            seed,
            no_gaming,
            detectors,
            by_pattern,
            upcoding_variants,
            by_evidence,
            calibration,
            honest_flags,
            per_region,
        }
    }

    /// The table as printed.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let f = |x: f64, d: usize| {
            if x.is_finite() {
                format!("{x:.d$}")
            } else {
                "n/a".to_string()
            }
        };
        let _ = writeln!(
            s,
            "scenario grid: {} {} regions, seeds {}..{}",
            self.regions,
            if self.no_gaming { "honest" } else { "gamed" },
            self.seed,
            self.seed + self.regions.saturating_sub(1) as u64
        );
        if !self.detectors.is_empty() {
            let _ = writeln!(
                s,
                "\n{:<28} {:>7} {:>10} {:>10} {:>12} {:>16}",
                "score", "regions", "AUC med", "AUC p10", "prec@k med", "confounder@k"
            );
            for d in self
                .detectors
                .iter()
                .chain(&self.by_pattern)
                .chain(&self.upcoding_variants)
                .chain(&self.by_evidence)
            {
                let _ = writeln!(
                    s,
                    "{:<28} {:>7} {:>10} {:>10} {:>12} {:>16}",
                    d.score,
                    d.regions,
                    f(d.auc_median, 3),
                    f(d.auc_p10, 3),
                    f(d.precision_at_k_median, 3),
                    f(d.confounder_in_top_k_share, 3)
                );
            }
        }
        if let Some(c) = &self.calibration {
            let _ = writeln!(
                s,
                "\nregions with any flag: {} (BH q 0.05 with every null true: about 0.05)",
                f(c.regions_with_a_flag_share, 3)
            );
            let _ = writeln!(
                s,
                "\n{:<10} {:>8} {:>12} {:>12}   (scored tests; nominal 0.001 / 0.01)",
                "size", "tests", "p<0.001", "p<0.01"
            );
            for b in &c.by_size {
                let _ = writeln!(
                    s,
                    "{:<10} {:>8} {:>12} {:>12}",
                    b.band,
                    b.tests,
                    f(b.share_p_below_0_001, 4),
                    f(b.share_p_below_0_01, 4)
                );
            }
            let _ = writeln!(
                s,
                "\n{:<26} {:>6} {:>6} {:>8} {:>7} {:>9} {:>7} {:>9}",
                "indicator", "scored", "tests", "p<0.01", "KS D+", "p(D+)", "KS D", "p(D)"
            );
            for u in &c.uniformity {
                let _ = writeln!(
                    s,
                    "{:<26} {:>6} {:>6} {:>8} {:>7} {:>9} {:>7} {:>9}",
                    u.indicator,
                    if u.scored { "yes" } else { "no" },
                    u.tests,
                    f(u.share_p_below_0_01, 4),
                    f(u.ks_d_plus, 3),
                    format_p(u.ks_d_plus_p),
                    f(u.ks_d, 3),
                    format_p(u.ks_d_p)
                );
            }
        }
        let _ = writeln!(s, "\nflags at hospitals that do not game:");
        if self.honest_flags.is_empty() {
            let _ = writeln!(s, "  none");
        }
        for r in &self.honest_flags {
            let _ = writeln!(
                s,
                "  {:<26} {:<30} {:>4} flags in {:>3} regions",
                r.indicator, r.role, r.flags, r.regions
            );
        }
        s
    }

    /// The table as a long CSV: `section,name,metric,value`.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("section,name,metric,value\n");
        let mut row = |section: &str, name: &str, metric: &str, value: String| {
            let _ = writeln!(s, "{section},{name},{metric},{value}");
        };
        let num = |x: f64| {
            if x.is_finite() {
                x.to_string()
            } else {
                String::new()
            }
        };
        for d in self
            .detectors
            .iter()
            .chain(&self.by_pattern)
            .chain(&self.upcoding_variants)
            .chain(&self.by_evidence)
        {
            row("detector", &d.score, "regions", d.regions.to_string());
            row("detector", &d.score, "auc_median", num(d.auc_median));
            row("detector", &d.score, "auc_p10", num(d.auc_p10));
            row(
                "detector",
                &d.score,
                "precision_at_k_median",
                num(d.precision_at_k_median),
            );
            row(
                "detector",
                &d.score,
                "confounder_in_top_k_share",
                num(d.confounder_in_top_k_share),
            );
        }
        if let Some(c) = &self.calibration {
            row(
                "calibration",
                "region",
                "regions_with_a_flag_share",
                num(c.regions_with_a_flag_share),
            );
            for b in &c.by_size {
                row("size_band", &b.band, "tests", b.tests.to_string());
                row(
                    "size_band",
                    &b.band,
                    "share_p_below_0_001",
                    num(b.share_p_below_0_001),
                );
                row(
                    "size_band",
                    &b.band,
                    "share_p_below_0_01",
                    num(b.share_p_below_0_01),
                );
            }
            for u in &c.uniformity {
                row("uniformity", &u.indicator, "scored", u.scored.to_string());
                row("uniformity", &u.indicator, "tests", u.tests.to_string());
                row(
                    "uniformity",
                    &u.indicator,
                    "share_p_below_0_01",
                    num(u.share_p_below_0_01),
                );
                row("uniformity", &u.indicator, "ks_d_plus", num(u.ks_d_plus));
                row(
                    "uniformity",
                    &u.indicator,
                    "ks_d_plus_p",
                    num(u.ks_d_plus_p),
                );
                row("uniformity", &u.indicator, "ks_d", num(u.ks_d));
                row("uniformity", &u.indicator, "ks_d_p", num(u.ks_d_p));
            }
        }
        for r in &self.honest_flags {
            let name = format!("{}:{}", r.indicator, r.role);
            row("honest_flags", &name, "flags", r.flags.to_string());
            row("honest_flags", &name, "regions", r.regions.to_string());
        }
        s
    }
}

fn format_p(p: f64) -> String {
    if !p.is_finite() {
        "n/a".to_string()
    } else if p < 0.001 {
        format!("{p:.1e}")
    } else {
        format!("{p:.3}")
    }
}

fn calibrate(regions: &[RegionOutcome]) -> Calibration {
    let flagged = regions
        .iter()
        .filter(|r| r.tests.iter().any(|t| t.flagged))
        .count();
    let by_size = SIZE_BANDS
        .iter()
        .map(|&(band, lo, hi)| {
            let ps: Vec<f64> = regions
                .iter()
                .flat_map(|r| &r.tests)
                .filter(|t| t.scored && t.p.is_finite() && t.expected >= lo && t.expected < hi)
                .map(|t| t.p)
                .collect();
            BandRow {
                band: band.to_string(),
                tests: ps.len(),
                share_p_below_0_001: share(ps.iter().filter(|&&p| p < 0.001).count(), ps.len()),
                share_p_below_0_01: share(ps.iter().filter(|&&p| p < 0.01).count(), ps.len()),
            }
        })
        .collect();
    let mut by_indicator: BTreeMap<&str, (bool, Vec<f64>)> = BTreeMap::new();
    for t in regions.iter().flat_map(|r| &r.tests) {
        let e = by_indicator.entry(&t.indicator).or_default();
        e.0 |= t.scored;
        if t.p.is_finite() {
            e.1.push(t.p.clamp(0.0, 1.0));
        }
    }
    let uniformity = by_indicator
        .into_iter()
        .map(|(indicator, (scored, ps))| {
            let ks = KsUniform::of(&ps);
            UniformityRow {
                indicator: indicator.to_string(),
                scored,
                tests: ps.len(),
                share_p_below_0_01: share(ps.iter().filter(|&&p| p < 0.01).count(), ps.len()),
                ks_d_plus: ks.d_plus,
                ks_d_plus_p: ks.d_plus_p,
                ks_d: ks.d,
                ks_d_p: ks.d_p,
            }
        })
        .collect();
    Calibration {
        regions_with_a_flag_share: share(flagged, regions.len()),
        by_size,
        uniformity,
    }
}

/// Kolmogorov–Smirnov tests of a sample against the uniform distribution on [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsUniform {
    /// D⁺ = max over the sample of F̂(x) − x (the sample sits left of the uniform).
    pub d_plus: f64,
    /// P(D⁺ ≥ d_plus).
    pub d_plus_p: f64,
    /// D = max |F̂(x) − x|.
    pub d: f64,
    /// P(D ≥ d), asymptotic.
    pub d_p: f64,
}

impl KsUniform {
    /// The tests of `sample` (values in [0, 1]); NaN for an empty sample.
    pub fn of(sample: &[f64]) -> KsUniform {
        let n = sample.len();
        if n == 0 {
            return KsUniform {
                d_plus: f64::NAN,
                d_plus_p: f64::NAN,
                d: f64::NAN,
                d_p: f64::NAN,
            };
        }
        let mut x = sample.to_vec();
        x.sort_by(f64::total_cmp);
        let nf = n as f64;
        let (mut d_plus, mut d_minus) = (0.0f64, 0.0f64);
        for (i, &v) in x.iter().enumerate() {
            d_plus = d_plus.max((i + 1) as f64 / nf - v);
            d_minus = d_minus.max(v - i as f64 / nf);
        }
        let d = d_plus.max(d_minus);
        KsUniform {
            d_plus,
            d_plus_p: smirnov_one_sided_p(n, d_plus),
            d,
            d_p: kolmogorov_p(n, d),
        }
    }
}

/// P(D⁺ₙ ≥ d) for a sample of `n` uniforms, exact (Birnbaum & Tingey 1951):
/// d · Σ_{j=0}^{⌊n(1−d)⌋} C(n, j) (1 − d − j/n)^{n−j} (d + j/n)^{j−1}, summed in logs
/// (statrs' `ln_binomial`) so that thousands of tests do not overflow.
pub fn smirnov_one_sided_p(n: usize, d: f64) -> f64 {
    if d.is_nan() || d <= 0.0 {
        return 1.0;
    }
    if d >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let jmax = (nf * (1.0 - d)).floor() as usize;
    let mut logs = Vec::with_capacity(jmax + 1);
    for j in 0..=jmax.min(n) {
        let jf = j as f64;
        let a = 1.0 - d - jf / nf;
        if a <= 0.0 {
            continue;
        }
        let b = d + jf / nf;
        logs.push(
            statrs::function::factorial::ln_binomial(n as u64, j as u64)
                + (nf - jf) * a.ln()
                + (jf - 1.0) * b.ln(),
        );
    }
    let Some(max) = logs.iter().copied().reduce(f64::max) else {
        return 0.0;
    };
    let sum: f64 = logs.iter().map(|l| (l - max).exp()).sum();
    (d * (max + sum.ln()).exp()).clamp(0.0, 1.0)
}

/// P(Dₙ ≥ d), two-sided: Kolmogorov's limiting distribution at λ = (√n + 0.12 +
/// 0.11/√n) d (Stephens 1970), accurate to a few per cent from n ≈ 5.
pub fn kolmogorov_p(n: usize, d: f64) -> f64 {
    if d.is_nan() || d <= 0.0 || n == 0 {
        return 1.0;
    }
    let sn = (n as f64).sqrt();
    let lambda = (sn + 0.12 + 0.11 / sn) * d;
    if lambda < 0.3 {
        // The series converges slowly here and its value is 1 to 9 digits.
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let kf = f64::from(k);
        let term = (-2.0 * kf * kf * lambda * lambda).exp();
        sum += if k % 2 == 1 { term } else { -term };
        if term < 1e-12 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn ks_statistics_by_hand() {
        // Sample {0.1, 0.2}: F̂ − x peaks at 1 − 0.2 = 0.8 … D⁺ = max(0.5 − 0.1, 1 − 0.2).
        let k = KsUniform::of(&[0.2, 0.1]);
        assert_abs_diff_eq!(k.d_plus, 0.8, epsilon = 1e-12);
        assert_abs_diff_eq!(k.d, 0.8, epsilon = 1e-12);
        // n = 1: P(D⁺ ≥ d) = 1 − d.
        assert_abs_diff_eq!(smirnov_one_sided_p(1, 0.3), 0.7, epsilon = 1e-12);
        // n = 2, d = 0.5: 1 − F = (1 − d)² + 2 d (1/2 − d)^1 … = 0.25.
        assert_abs_diff_eq!(smirnov_one_sided_p(2, 0.5), 0.25, epsilon = 1e-12);
    }

    #[test]
    fn ks_p_values_match_published_values() {
        // Large n: P(D⁺ ≥ d) → exp(−2 n d²).
        let p = smirnov_one_sided_p(2000, 0.03);
        assert_abs_diff_eq!(p, (-2.0f64 * 2000.0 * 0.0009).exp(), epsilon = 0.004);
        // Two-sided 5 % critical value 1.358 / √n (Kolmogorov).
        let n = 1000;
        let d = 1.358 / (n as f64).sqrt();
        assert_abs_diff_eq!(kolmogorov_p(n, d), 0.05, epsilon = 0.003);
        assert_eq!(kolmogorov_p(10, 0.0), 1.0);
    }

    #[test]
    fn uniform_p_values_pass_and_small_ones_fail() {
        let even: Vec<f64> = (0..500).map(|i| (f64::from(i) + 0.5) / 500.0).collect();
        let k = KsUniform::of(&even);
        assert!(k.d_plus_p > 0.9 && k.d_p > 0.9, "{k:?}");
        let squeezed: Vec<f64> = even.iter().map(|p| p * p).collect();
        let k = KsUniform::of(&squeezed);
        assert!(k.d_plus_p < 1e-6 && k.d_p < 1e-6, "{k:?}");
        // Super-uniform (conservative) p-values: two-sided rejects, D⁺ does not.
        let conservative: Vec<f64> = even.iter().map(|p| p.sqrt()).collect();
        let k = KsUniform::of(&conservative);
        assert!(k.d_plus_p > 0.5 && k.d_p < 1e-6, "{k:?}");
    }

    fn hospital(
        id: &str,
        role: &str,
        patterns: &[&str],
        rank: usize,
        risk: f64,
    ) -> HospitalOutcome {
        let mut scores = vec![0.0; DETECTOR_PATTERNS.len()];
        *scores.last_mut().unwrap() = risk;
        HospitalOutcome {
            id: id.to_string(),
            role: role.to_string(),
            patterns: patterns.iter().map(|s| s.to_string()).collect(),
            rank,
            scores,
            variant: String::new(),
            gamed_stays: 0,
        }
    }

    /// Gamed stays are counted in the run's audited period (not in the baseline, nor in the
    /// January a few stays spill into), and every row counts when no period is known.
    #[test]
    fn gamed_stays_are_counted_in_the_audited_period() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("truth_cases.csv"),
            "case_id,hospital_id,pattern,variant,discharge_date\n\
             H1-1,H1,upcoding,added_code,2023-06-01\n\
             H1-2,H1,upcoding,added_code,2024-01-01\n\
             H1-3,H1,upcoding,added_code,2024-12-31\n\
             H2-1,H2,split_stays,,2024-07-01\n\
             H2-2,H2,split_stays,,2025-01-02\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("summary.json"),
            r#"{"periods": {"audited": {"label": "2024", "start": "2024-01-01", "end": "2024-12-31"}}}"#,
        )
        .unwrap();
        let truth = dir.path().join("truth_hospitals.csv");
        let audited = audited_period(dir.path());
        assert!(audited.is_some());
        let got = gamed_stays(&truth, audited).unwrap();
        assert_eq!(got.get("H1"), Some(&2));
        assert_eq!(got.get("H2"), Some(&1));
        let every = gamed_stays(&truth, None).unwrap();
        assert_eq!((every.get("H1"), every.get("H2")), (Some(&3), Some(&2)));
        let none = dir.path().join("none/truth_hospitals.csv");
        assert!(gamed_stays(&none, audited).unwrap().is_empty());
    }

    #[test]
    fn grid_tables_from_hand_made_regions() {
        let region = RegionOutcome {
            seed: 5,
            scenario: "test".into(),
            hospitals: vec![
                hospital("H1", "gaming", &["upcoding"], 1, 9.0),
                hospital("H2", "confounder_tcm", &[], 2, 5.0),
                hospital("H3", "gaming", &["split_stays"], 3, 4.0),
                hospital("H4", "clean", &[], 4, 1.0),
            ],
            tests: vec![TestOutcome {
                hospital: 1,
                indicator: "LM_LOW_EXCESS".into(),
                expected: 60.0,
                p: 1e-5,
                scored: true,
                flagged: true,
            }],
        };
        let mut region = region;
        region.hospitals[0].gamed_stays = 50;
        region.hospitals[2].gamed_stays = 5;
        let g = Grid::build(std::slice::from_ref(&region), 5, false);
        // By evidence: H3 (5 gamed stays, risk 4) wins 1 of 2 against {5, 1}, H1 (50) both.
        let band = |label: &str| {
            g.by_evidence
                .iter()
                .find(|d| d.score.ends_with(label))
                .unwrap()
        };
        assert_abs_diff_eq!(band("<10").auc_median, 0.5);
        assert_abs_diff_eq!(band("30-99").auc_median, 1.0);
        assert_eq!(band(">=100").regions, 0);
        let risk = g
            .detectors
            .iter()
            .find(|d| d.score == "risk_score")
            .unwrap();
        // Positives {9, 4} against honest {5, 1}: 3 wins of 4.
        assert_abs_diff_eq!(risk.auc_median, 0.75);
        assert_abs_diff_eq!(risk.precision_at_k_median, 0.5);
        assert_abs_diff_eq!(risk.confounder_in_top_k_share, 1.0);
        assert_eq!(g.honest_flags.len(), 1);
        assert_eq!(g.honest_flags[0].role, "confounder_tcm");
        assert!(g.calibration.is_none());
        let h = Grid::build(&[region], 5, true);
        let c = h.calibration.as_ref().unwrap();
        assert_eq!(c.regions_with_a_flag_share, 1.0);
        assert_eq!(c.by_size[1].tests, 1);
        assert_eq!(c.by_size[1].share_p_below_0_001, 1.0);
        assert!(h.to_text().contains("LM_LOW_EXCESS"));
        assert!(h.to_csv().starts_with("section,name,metric,value\n"));
    }
}
