//! The judging chain of one region: the indicators measure (③), compare judges against
//! the peers (④), rank scores the hospitals and the dilution, leads lists the cases (⑤).
//! `run` calls it on the region judged against itself, `check` with a published model's
//! calibration; both get the same [`Audit`].

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::progress::Trace;

use crate::compare::{self, Finding, IndicatorDispersion};
use crate::indicators::{self, Ctx, Indicator, Untested};
use crate::leads::{self, CaseLead};
use crate::rank::{self, Dilution, HospitalRank};

/// The detectors' results for one region.
pub struct Audit {
    /// Every hospital × indicator tested.
    pub findings: Vec<Finding>,
    /// Over-dispersion per indicator.
    pub dispersion: Vec<IndicatorDispersion>,
    /// Hospitals, best lead first.
    pub ranks: Vec<HospitalRank>,
    /// Point-value dilution.
    pub dilution: Dilution,
    /// Case-level leads.
    pub leads: Vec<CaseLead>,
    /// Calibrations and p-values (what the regional model publishes for `check`).
    pub judging: compare::Judging,
    /// The peer tables the indicators summed from the region, by finding code.
    pub tables: BTreeMap<String, crate::peers::PeerTable>,
    /// Indicators no hospital could be tested on, with the reason (registry order).
    pub untested: Vec<Untested>,
    /// `UPC_LEVER_CODE`: every (hospital, code) pair judged, by hospital then p (in
    /// `check`, against the model's lever table).
    pub levers: Vec<compare::LeverRow>,
    /// The lever pairs' between-hospital τ² (the region's, or the published one).
    pub lever_tau2: f64,
    /// Per flagged finding, which departments and physicians carry its excess (empty when
    /// the input has neither `department` nor `physician_id`).
    pub drilldowns: Vec<Drilldown>,
}

/// Which departments and physicians carry one flagged finding's excess, under the very
/// standardisation of the hospital-level measure: the parts' O and E add up to the
/// hospital's, so a department's O − E is its share of the hospital's O − E.
#[derive(Debug, Clone, PartialEq)]
pub struct Drilldown {
    /// Index of the finding in [`Audit::findings`].
    pub finding: usize,
    /// Whether the indicator splits by case (the cluster-mix χ² does not).
    pub split: bool,
    /// Departments, largest excess first (`None` when the input has no `department`).
    pub departments: Option<Vec<Share>>,
    /// Physicians, largest excess first (`None` when the input has no `physician_id`).
    pub physicians: Option<Vec<Share>>,
}

/// One department's or physician's part of a finding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Share {
    /// Department or physician index ([`crate::ingest::NONE_U32`] for an empty cell).
    pub key: u32,
    /// Denominator cases.
    pub n: f64,
    /// Observed.
    pub o: f64,
    /// Expected (same per-case expectation as the hospital's).
    pub e: f64,
    /// Its excess (O − E, or E − O for a deficit indicator) over the hospital's; NaN when
    /// the hospital has no excess. Only parts with a positive share carry the finding.
    pub share: f64,
}

impl Share {
    /// The part's excess in the finding's suspicious direction.
    pub fn excess(&self, direction: indicators::Direction) -> f64 {
        match direction {
            indicators::Direction::Excess => self.o - self.e,
            indicators::Direction::Deficit => self.e - self.o,
        }
    }
}

/// The drill-downs of every flagged finding (computed for flagged ones only: each costs a
/// pass over the cases).
pub fn drilldowns(
    ctx: &Ctx,
    registry: &[Box<dyn Indicator>],
    findings: &[Finding],
) -> Vec<Drilldown> {
    let (has_dept, has_phys) = (ctx.cases.has("department"), ctx.cases.has("physician_id"));
    if !has_dept && !has_phys {
        return Vec::new();
    }
    // Flagged findings by indicator: one pass over the cases per indicator, whatever the
    // number of hospitals it flags.
    let mut by_indicator: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (k, f) in findings.iter().enumerate().filter(|(_, f)| f.flagged) {
        by_indicator.entry(f.indicator).or_default().push(k);
    }
    let groups: Vec<(usize, Vec<usize>)> = by_indicator.into_iter().collect();
    let mut out: Vec<Drilldown> = groups
        .par_iter()
        .flat_map_iter(|(ind, ks)| {
            let hospitals: Vec<u32> = ks.iter().map(|&k| findings[k].hospital).collect();
            let parts = registry[*ind].case_parts(ctx, &hospitals);
            ks.iter()
                .enumerate()
                .map(|(slot, &k)| {
                    let parts = parts.as_ref().and_then(|p| p.get(slot));
                    drilldown(ctx, &findings[k], k, parts, (has_dept, has_phys))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort_by_key(|d| d.finding);
    out
}

/// One flagged finding's drill-down from its case parts (`None`: not split).
fn drilldown(
    ctx: &Ctx,
    f: &Finding,
    k: usize,
    parts: Option<&Vec<indicators::CasePart>>,
    (has_dept, has_phys): (bool, bool),
) -> Drilldown {
    let Some(parts) = parts else {
        return Drilldown {
            finding: k,
            split: false,
            departments: None,
            physicians: None,
        };
    };
    // compare recentres E by its calibration's level centre (a scalar per indicator and
    // level): the parts take the same factor, so they add up to the finding's E, not only
    // to the indicator's raw measure.
    let raw_e: f64 = parts.iter().map(|c| c.e).sum();
    let c = if raw_e > 0.0 && f.expected.is_finite() {
        f.expected / raw_e
    } else {
        1.0
    };
    let parts: Vec<indicators::CasePart> = parts
        .iter()
        .map(|p| indicators::CasePart { e: p.e * c, ..*p })
        .collect();
    let by = |column: &[u32]| {
        let key = |i: usize| column.get(i).copied().unwrap_or(crate::ingest::NONE_U32);
        shares(&indicators::split_parts(&parts, &key), f.direction)
    };
    Drilldown {
        finding: k,
        split: true,
        departments: has_dept.then(|| by(&ctx.cases.department)),
        physicians: has_phys.then(|| by(&ctx.cases.physician)),
    }
}

/// Parts as shares of their total excess, largest first (ties by key).
fn shares(parts: &[indicators::Part], direction: indicators::Direction) -> Vec<Share> {
    let sign = match direction {
        indicators::Direction::Excess => 1.0,
        indicators::Direction::Deficit => -1.0,
    };
    let total: f64 = sign * parts.iter().map(|p| p.o - p.e).sum::<f64>();
    let mut out: Vec<Share> = parts
        .iter()
        .map(|p| Share {
            key: p.key,
            n: p.n,
            o: p.o,
            e: p.e,
            share: if total > 0.0 {
                sign * (p.o - p.e) / total
            } else {
                f64::NAN
            },
        })
        .collect();
    out.sort_by(|a, b| {
        (sign * (b.o - b.e))
            .total_cmp(&(sign * (a.o - a.e)))
            .then(a.key.cmp(&b.key))
    });
    out
}

/// Runs every indicator, judges, ranks and lists case leads.
pub fn audit(ctx: &Ctx, registry: &[Box<dyn Indicator>], lang: crate::lang::Lang) -> Audit {
    audit_against(ctx, registry, lang, None)
}

/// [`audit`] with the judging published in a regional model (`check`), or the region's own.
pub fn audit_against(
    ctx: &Ctx,
    registry: &[Box<dyn Indicator>],
    lang: crate::lang::Lang,
    published: Option<&compare::Judging>,
) -> Audit {
    // The lever pairs are measured beside the indicators (one serial pass over the cases).
    // Traced times are each measure's own thread time (they run in parallel).
    let (measured, lever_measures) = rayon::join(
        || {
            registry
                .par_iter()
                .map(|ind| {
                    let mut tr = Trace::new("detect");
                    let m = ind.measure(ctx);
                    tr.mark(&format!("measure {}", ind.spec().code));
                    m
                })
                .collect::<Vec<_>>()
        },
        || {
            let mut tr = Trace::new("detect");
            let m = indicators::lever::measure(ctx);
            tr.mark("measure UPC_LEVER_CODE");
            m
        },
    );
    let mut tables = BTreeMap::new();
    let mut measures = Vec::with_capacity(measured.len());
    for (ind, m) in registry.iter().zip(measured) {
        if let Some(t) = m.table {
            tables.insert(ind.spec().code.to_string(), t);
        }
        measures.push(m.measures);
    }
    let compare::Compared {
        findings,
        dispersion,
        judging,
    } = compare::compare(ctx, registry, &measures, published);
    let untested = registry
        .iter()
        .zip(&dispersion)
        .filter(|(_, d)| d.hospitals == 0)
        .map(|(ind, _)| indicators::untested(ctx, ind.as_ref()))
        .collect();
    let ranks = rank::rank(ctx, registry, &findings, lang);
    let dilution = rank::dilution(ctx, &ranks);
    let leads = leads::case_leads(ctx, registry, &findings, &ranks);
    let lever_tau2 = compare::lever_tau2(ctx, &lever_measures);
    let levers = compare::judge_levers(ctx, &lever_measures, lever_tau2);
    let drilldowns = drilldowns(ctx, registry, &findings);
    Audit {
        findings,
        dispersion,
        ranks,
        dilution,
        leads,
        judging,
        tables,
        untested,
        levers,
        lever_tau2,
        drilldowns,
    }
}

#[cfg(test)]
mod tests {
    //! The judging chain on a three-hospital region: H1 and H2 code a family's heavy groups
    //! at the regional rate, H3 codes most of its audited-year cases of that family into the
    //! heaviest group at the light group's cost (upcoding). compare's q-values, the rank
    //! order and the case leads are checked against what that region must give.

    use super::*;
    use crate::catalog::Catalog;
    use crate::config::RegionConfig;
    use crate::derive::{self, DerivedCases};
    use crate::indicators;
    use crate::indicators::Detector;
    use crate::ingest::{self, Ingested};
    use crate::lang::Lang;
    use crate::region::Region;

    /// The owned parts of the fixture region.
    struct Fixture {
        ingested: Ingested,
        derived: DerivedCases,
        catalog: Catalog,
        config: RegionConfig,
    }

    /// Deterministic noise in [0, 1) (a 64-bit LCG; the fixture must not change).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn fixture() -> Fixture {
        let config = RegionConfig::default_drg();
        let catalog = crate::ingest::groups::test_catalog(
            &[
                ("ES31", "2.0", "ES3", "1"),
                ("ES33", "1.4", "ES3", "3"),
                ("ES35", "1.0", "ES3", "5"),
                ("GB21", "3.0", "GB2", "1"),
                ("GB25", "1.5", "GB2", "5"),
            ],
            &config,
        );
        let mut rng = Lcg(9);
        let mut csv = String::from(
            "case_id,hospital_id,hospital_level,patient_id,admit_date,discharge_date,group_code,total_cost\n",
        );
        let mut n = 0;
        for year in [2023, 2024] {
            for h in ["H1", "H2", "H3"] {
                for k in 0..400 {
                    n += 1;
                    let upcoding = h == "H3" && year == 2024;
                    let u = rng.next();
                    let (code, cost) = if k % 4 == 3 {
                        // GB2: coded alike everywhere.
                        if u < 0.3 {
                            ("GB21", 30_000.0)
                        } else {
                            ("GB25", 15_000.0)
                        }
                    } else if upcoding {
                        // Mostly light patients coded into the heaviest group.
                        if u < 0.65 {
                            ("ES31", 10_000.0)
                        } else {
                            ("ES35", 10_000.0)
                        }
                    } else if u < 0.15 {
                        ("ES31", 20_000.0)
                    } else if u < 0.35 {
                        ("ES33", 14_000.0)
                    } else {
                        ("ES35", 10_000.0)
                    };
                    let cost = cost * (0.6 + 0.8 * rng.next());
                    let month = 1 + (k % 12);
                    let day = 1 + (k % 20);
                    let los = 3 + (k % 6);
                    csv.push_str(&format!(
                        "C{n},{h},2,P{n},{year}-{month:02}-{day:02},{year}-{month:02}-{:02},{code},{cost:.2}\n",
                        day + los
                    ));
                }
            }
        }
        read_fixture(&csv, catalog, config)
    }

    fn read_fixture(csv: &str, catalog: Catalog, config: RegionConfig) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cases.csv");
        std::fs::write(&path, csv).expect("write fixture");
        let ingested = ingest::read_cases(&path, &catalog).expect("fixture reads");
        assert!(ingested.rejects.is_empty(), "{:?}", ingested.rejects);
        let derived = derive::derive(&ingested.cases, &catalog, &config).expect("derives");
        Fixture {
            ingested,
            derived,
            catalog,
            config,
        }
    }

    /// Sixteen level-2 hospitals with 1,500 ES35 stays each in the audited year, log-normal
    /// costs; H1 is honestly costlier (every cost × 1.5); with `pad` = (the honest region's
    /// derivation, c), H2 lifts every stay below the threshold c to 1.08 × c.
    fn threshold_region(pad: Option<(&DerivedCases, f64)>) -> Fixture {
        threshold_region_at(RegionConfig::default_drg().multiplier.low, pad)
    }

    /// [`threshold_region`] audited with the low threshold `configured`.
    fn threshold_region_at(configured: f64, pad: Option<(&DerivedCases, f64)>) -> Fixture {
        let mut config = RegionConfig::default_drg();
        config.multiplier.low = configured;
        let catalog = crate::ingest::groups::test_catalog(&[("ES35", "1.0", "ES3", "5")], &config);
        let mut rng = Lcg(17);
        let mut csv = String::from(
            "case_id,hospital_id,hospital_level,patient_id,admit_date,discharge_date,group_code,total_cost\n",
        );
        for h in 1..=16 {
            for k in 0..1500 {
                let n = (h - 1) * 1500 + k;
                // Box–Muller: a standard normal from two uniforms.
                let (u1, u2) = (rng.next().max(1e-12), rng.next());
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let mut cost = 10_000.0 * (0.55 * z - 0.15).exp();
                if h == 1 {
                    cost *= 1.5;
                }
                if let (2, Some((d, low))) = (h, pad) {
                    let m = d.multiplier[n];
                    if m < low {
                        cost *= 1.08 * low / m;
                    }
                }
                let (month, day) = (1 + k % 12, 1 + k % 20);
                csv.push_str(&format!(
                    "C{n},H{h},2,P{n},2024-{month:02}-{day:02},2024-{month:02}-{:02},ES35,{cost:.2}\n",
                    day + 3
                ));
            }
        }
        read_fixture(&csv, catalog, config)
    }

    /// Hospital `h`'s finding of indicator `code`.
    fn finding<'a>(a: &'a Audit, h: u32, code: &str) -> &'a crate::compare::Finding {
        a.findings
            .iter()
            .find(|x| x.hospital == h && x.code == code)
            .unwrap_or_else(|| panic!("{code} of H{}", h + 1))
    }

    /// A region that pays on 0.3 while the audit is configured with 0.4: the padder piles
    /// its stays above 0.3, `LM_LOW_PILE` (at 0.4) cannot see it, `LM_LOW_PILE_POLICY` does.
    #[test]
    fn issue10_padding_at_another_policy_threshold_is_found() {
        let honest = threshold_region(None);
        assert_eq!(honest.config.multiplier.low, 0.4, "the DRG default");
        let f = threshold_region(Some((&honest.derived, 0.3)));
        let (a, _) = audited(&f);
        let find = |h: u32, code: &str| finding(&a, h, code);
        assert!(!find(1, "LM_LOW_PILE").flagged);
        let policy = find(1, "LM_LOW_PILE_POLICY");
        assert!(policy.flagged, "z {} q {}", policy.z, policy.q);
        assert!(
            a.findings
                .iter()
                .filter(|x| x.hospital != 1 && x.code == "LM_LOW_PILE_POLICY")
                .all(|x| !x.flagged),
            "no other hospital's policy pile is flagged"
        );
        // The band the padder emptied under 0.3, at its own cost level; the honestly
        // costlier H1 has fewer stays there too, but not at its own level.
        let hole = find(1, "LM_LOW_DEFICIT_POLICY");
        assert!(hole.flagged, "z {} q {}", hole.z, hole.q);
        let others_and_honest = a
            .findings
            .iter()
            .filter(|x| x.hospital != 1)
            .chain(audited(&honest).0.findings.iter())
            .filter(|x| x.code == "LM_LOW_DEFICIT_POLICY")
            .filter(|x| x.flagged)
            .count();
        assert_eq!(others_and_honest, 0, "no other policy deficit is flagged");
        // Padding to 0.3 leaves the band under the adjacent 0.5 as full as ever.
        let adjacent = find(1, "LM_LOW_DEFICIT_ADJACENT");
        assert!(!adjacent.flagged, "z {} q {}", adjacent.z, adjacent.q);
    }

    /// The policy threshold next to the configured one is tested too
    /// (`LM_LOW_DEFICIT_ADJACENT`: the band under it, at the hospital's own cost level): a
    /// region that pays on 0.5 audited with 0.4 (the DRG preset), and one that pays on 0.4
    /// audited with 0.5 (the DIP preset's). `LM_LOW_PILE_POLICY` leaves out every policy
    /// window that touches the configured one's, so before only 0.3 was ever tested beside
    /// the configured threshold.
    #[test]
    fn issue10_padding_at_the_policy_threshold_next_to_the_configured_one_is_found() {
        for (configured, paid) in [(0.4, 0.5), (0.5, 0.4)] {
            let honest = threshold_region_at(configured, None);
            let f = threshold_region_at(configured, Some((&honest.derived, paid)));
            let (a, _) = audited(&f);
            let policy = finding(&a, 1, "LM_LOW_DEFICIT_ADJACENT");
            assert!(
                policy.flagged,
                "configured {configured}, paid {paid}: z {} q {}",
                policy.z, policy.q
            );
            assert!(
                a.findings
                    .iter()
                    .filter(|x| x.hospital != 1 && x.code == "LM_LOW_DEFICIT_ADJACENT")
                    .all(|x| !x.flagged),
                "configured {configured}: no other hospital's adjacent deficit is flagged (H1 is honestly costlier)"
            );
            let (h, _) = audited(&honest);
            assert!(
                h.findings
                    .iter()
                    .filter(|x| x.code == "LM_LOW_DEFICIT_ADJACENT")
                    .all(|x| !x.flagged),
                "configured {configured}: nobody is flagged without padding"
            );
        }
    }

    /// A hospital that is honestly costlier everywhere has fewer stays under the low
    /// threshold, so against the band below (`LM_LOW_BUNCHING`) it shows more just above;
    /// against the strip above (`LM_LOW_PILE`) it shows no pile and is not flagged. A
    /// padder is.
    #[test]
    fn issue10_a_costlier_hospital_is_not_a_low_threshold_padder() {
        let honest = threshold_region(None);
        let f = threshold_region(Some((&honest.derived, honest.config.multiplier.low)));
        let (a, _) = audited(&f);
        let find = |h: u32, code: &str| finding(&a, h, code);
        let (costlier_pile, costlier_hole) = (find(0, "LM_LOW_PILE"), find(0, "LM_LOW_BUNCHING"));
        // The band below sees fewer stays under the threshold (a hole); the pile does not.
        assert!(
            costlier_hole.observed > costlier_hole.expected,
            "the band below is moved by the shift"
        );
        assert!(costlier_pile.z.abs() < 2.0, "pile z {}", costlier_pile.z);
        assert!(
            a.findings
                .iter()
                .all(|x| !(x.hospital == 0 && x.flagged && x.detector == Detector::LowMultiplier)),
            "the costlier hospital has no flagged low-multiplier finding"
        );
        assert!(
            find(1, "LM_LOW_PILE").flagged,
            "the padder's pile is flagged"
        );
    }

    fn audited(f: &Fixture) -> (Audit, Vec<Box<dyn Indicator>>) {
        let region = Region::new(&f.ingested.cases, &f.derived, &f.catalog, &f.config);
        let ctx = Ctx::new(&region, None, Lang::En);
        let registry = indicators::registry();
        (audit(&ctx, &registry, Lang::En), registry)
    }

    /// Benjamini–Hochberg step-up, written out: q of the i-th smallest of m p-values is
    /// min over j ≥ i of p_(j) · m / j.
    fn bh(p: &[f64]) -> Vec<f64> {
        let m = p.len();
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
        let mut q = vec![0.0; m];
        let mut running = f64::INFINITY;
        for (rank, &i) in order.iter().enumerate().rev() {
            running = running.min(p[i] * m as f64 / (rank + 1) as f64).min(1.0);
            q[i] = running;
        }
        q
    }

    #[test]
    fn q_values_are_benjamini_hochberg_over_every_test_and_flags_follow_them() {
        let f = fixture();
        let (a, _) = audited(&f);
        let p: Vec<f64> = a.findings.iter().map(|x| x.p).collect();
        for (x, q) in a.findings.iter().zip(bh(&p)) {
            assert!(
                (x.q - q).abs() <= 1e-12 * q.max(1e-300),
                "{} of hospital {}: q {} but BH gives {q}",
                x.code,
                x.hospital,
                x.q
            );
        }
        let threshold = f.config.detect.fdr_q;
        for x in a.findings.iter().filter(|x| x.scored) {
            assert_eq!(
                x.flagged,
                x.q <= threshold && x.evidence > 0.0,
                "{} of hospital {}",
                x.code,
                x.hospital
            );
        }
        let flagged = |h: u32, code: &str| {
            a.findings
                .iter()
                .any(|x| x.hospital == h && x.code == code && x.flagged)
        };
        assert!(
            flagged(2, "UPC_CHEAP_HEAVY"),
            "H3's heavy cases cost the light ones'"
        );
        for h in [0, 1] {
            assert!(
                !a.findings
                    .iter()
                    .any(|x| x.hospital == h && x.flagged && x.code.starts_with("UPC_")),
                "H{} codes at the regional rate",
                h + 1
            );
        }
    }

    #[test]
    fn hospitals_rank_by_risk_with_the_upcoder_first() {
        let f = fixture();
        let (a, _) = audited(&f);
        let ids: Vec<&str> = a.ranks.iter().map(|r| r.hospital_id.as_str()).collect();
        assert_eq!(ids[0], "H3");
        assert_eq!(
            a.ranks.iter().map(|r| r.rank).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        for w in a.ranks.windows(2) {
            assert!(w[0].risk_score >= w[1].risk_score, "{ids:?}");
        }
        for r in &a.ranks {
            // risk = the largest main score plus a tenth of the others and the cluster mix.
            let main = [
                r.upcoding_score,
                r.point_chasing_score,
                r.low_multiplier_score,
            ];
            let max = main.iter().copied().fold(0.0, f64::max);
            let risk = max + 0.1 * (main.iter().sum::<f64>() - max + r.cluster_mix_score);
            assert!(
                (r.risk_score - risk).abs() < 2e-3,
                "{}: {r:?}",
                r.hospital_id
            );
        }
        let h3 = &a.ranks[0];
        assert!(h3.flags.contains("UPC_CHEAP_HEAVY"), "{}", h3.flags);
        assert!(
            h3.upcoding_score > 10.0 * a.ranks[1].upcoding_score.max(a.ranks[2].upcoding_score)
        );
        assert!(h3.est_excess_points > 0.0);
    }

    #[test]
    fn case_leads_are_audited_cases_of_flagged_findings_by_rank_then_stake() {
        let f = fixture();
        let (a, _) = audited(&f);
        assert!(!a.leads.is_empty());
        let rank_of = |id: &str| a.ranks.iter().find(|r| r.hospital_id == id).map(|r| r.rank);
        for l in &a.leads {
            let flags = &a
                .ranks
                .iter()
                .find(|r| r.hospital_id == l.hospital_id)
                .unwrap()
                .flags;
            for code in l.findings.split(';') {
                assert!(
                    flags.split(';').any(|c| c == code),
                    "{l:?} not among {flags}"
                );
            }
            // The fixture numbers the 1,200 baseline cases first: leads are audited cases.
            let n: u32 = l.case_id[1..].parse().unwrap();
            assert!(n > 1200, "{l:?}");
            if l.findings.contains("UPC_CHEAP_HEAVY") {
                assert_eq!(
                    l.group_code, "ES31",
                    "only the heavy group has a lighter sibling here"
                );
            }
        }
        for w in a.leads.windows(2) {
            let (r0, r1) = (rank_of(&w[0].hospital_id), rank_of(&w[1].hospital_id));
            assert!(
                r0 < r1 || (r0 == r1 && w[0].points_at_stake >= w[1].points_at_stake),
                "{:?} before {:?}",
                w[0],
                w[1]
            );
        }
        let per_finding = a
            .leads
            .iter()
            .filter(|l| l.hospital_id == "H3" && l.findings.contains("UPC_CHEAP_HEAVY"))
            .count();
        assert!(per_finding > 0 && per_finding <= crate::leads::MAX_CASES_PER_FINDING);
    }

    /// Issue 14, part 2: a finding's parts (here split by an arbitrary key, as by
    /// department) carry the hospital's own O and E, under the same per-case expectation:
    /// their sums equal the hospital's measure, and the shares of the excess add up to 1.
    #[test]
    fn issue14_drilldown_parts_add_up_to_the_hospital_measure() {
        let f = fixture();
        let (a, registry) = audited(&f);
        let region = Region::new(&f.ingested.cases, &f.derived, &f.catalog, &f.config);
        let ctx = Ctx::new(&region, None, Lang::En);
        let key = |i: usize| (i % 3) as u32;
        let measured: Vec<_> = registry.iter().map(|ind| ind.measure(&ctx)).collect();
        let mut checked = 0;
        for x in &a.findings {
            let ind = &registry[x.indicator];
            let Some(parts) = ind.split(&ctx, x.hospital, &key) else {
                assert!(x.code.starts_with("CL_"), "{} is not split", x.code);
                continue;
            };
            let m = &measured[x.indicator].measures[x.hospital as usize];
            let o: f64 = parts.iter().map(|p| p.o).sum();
            let e: f64 = parts.iter().map(|p| p.e).sum();
            assert!(
                (o - m.o).abs() < 1e-9 && (e - m.e).abs() < 1e-9,
                "{} of {}: parts {o} / {e}, hospital {} / {}",
                x.code,
                x.hospital,
                m.o,
                m.e
            );
            assert_eq!(m.o, x.observed);
            assert!(parts.len() <= 3);
            checked += 1;
        }
        assert!(checked >= 10, "{checked} findings split");
        // Shares of a flagged finding's excess add up to 1 (positive and negative parts).
        let sh = shares(
            &[
                indicators::Part {
                    key: 0,
                    n: 10.0,
                    o: 8.0,
                    e: 2.0,
                },
                indicators::Part {
                    key: 1,
                    n: 10.0,
                    o: 1.0,
                    e: 3.0,
                },
            ],
            indicators::Direction::Excess,
        );
        assert_eq!(sh[0].key, 0);
        assert!((sh[0].share - 1.5).abs() < 1e-12 && (sh[1].share + 0.5).abs() < 1e-12);
        // The fixture has no department or physician column: no drill-down.
        assert!(a.drilldowns.is_empty());
    }

    /// Issue 10, defect 1: a hospital's money comes only from its scored, flagged
    /// findings (a supporting weight index is a sicker hospital's whole weight excess).
    #[test]
    fn issue10_1_money_comes_only_from_scored_flagged_findings() {
        let f = fixture();
        let (a, _) = audited(&f);
        for r in &a.ranks {
            let scored: f64 = a
                .findings
                .iter()
                .filter(|x| x.hospital == r.hospital && crate::rank::carries_money(x))
                .map(|x| x.excess_points)
                .sum();
            assert!(
                r.est_excess_points <= scored + 0.1,
                "{}: {} points against {scored} from scored flagged findings",
                r.hospital_id,
                r.est_excess_points
            );
        }
    }

    /// Issue 10, defect 2: a case that is evidence for several findings counts once: the
    /// hospital's money is at most the sum over its cases of the largest stake among them.
    #[test]
    fn issue10_2_a_case_counts_once_across_findings() {
        let f = fixture();
        let (a, registry) = audited(&f);
        let region = Region::new(&f.ingested.cases, &f.derived, &f.catalog, &f.config);
        let ctx = Ctx::new(&region, None, Lang::En);
        for r in &a.ranks {
            let money: Vec<_> = a
                .findings
                .iter()
                .filter(|x| x.hospital == r.hospital && crate::rank::carries_money(x))
                .collect();
            let cap: f64 = (0..ctx.cases.len())
                .filter(|&i| ctx.audited(i) && ctx.hospital(i) == r.hospital)
                .map(|i| {
                    money
                        .iter()
                        .filter_map(|x| registry[x.indicator].case_lead(&ctx, i))
                        .fold(0.0, f64::max)
                })
                .sum();
            assert!(
                r.est_excess_points <= cap + 0.1,
                "{}: {} points, cases hold {cap}",
                r.hospital_id,
                r.est_excess_points
            );
        }
    }

    /// Issue 10, defect 5: the funnel position is read on the test's own standard error.
    #[test]
    fn issue10_5_funnel_position_follows_the_tests_z() {
        let f = fixture();
        let (a, _) = audited(&f);
        for x in &a.findings {
            let expected = if x.z > crate::stats::Z_998 {
                "above998"
            } else if x.z > crate::stats::Z_95 {
                "above95"
            } else if x.z < -crate::stats::Z_998 {
                "below998"
            } else if x.z < -crate::stats::Z_95 {
                "below95"
            } else {
                "within"
            };
            assert_eq!(
                x.funnel, expected,
                "{} of {}: z {}",
                x.code, x.hospital, x.z
            );
            assert!((x.z - (x.ratio - 1.0) / x.se).abs() < 1e-9 || x.code == "CL_MIX_DIVERGENCE");
        }
    }

    /// Issue 10, defect 6: the weight index's excess is shrunk, not collapsed to nothing
    /// (a beta-binomial fit on Σ weight, which is not a count, gave degenerate strengths).
    #[test]
    fn issue10_6_weight_index_shrinkage_is_partial() {
        let f = fixture();
        let (a, _) = audited(&f);
        let wi = a
            .findings
            .iter()
            .find(|x| x.hospital == 2 && x.code == "UPC_WEIGHT_INDEX")
            .expect("H3 has a weight index");
        let raw = wi.observed - wi.expected;
        assert!(raw > 0.0);
        assert!(
            wi.excess > 0.05 * raw && wi.excess < raw,
            "excess {} of raw {raw}",
            wi.excess
        );
        let (lo, hi) = wi.excess_points_interval;
        assert!(lo <= wi.excess_points && wi.excess_points <= hi && lo < hi);
    }

    /// Issue 10, defect 7: every finding says how many same-level peer hospitals stood
    /// behind it (here: the other tested hospitals, all of level 2).
    #[test]
    fn issue10_7_findings_record_their_peers() {
        let f = fixture();
        let (a, _) = audited(&f);
        for x in &a.findings {
            let tested = a.findings.iter().filter(|y| y.code == x.code).count();
            assert_eq!(x.peer_hospitals, tested - 1, "{} of {}", x.code, x.hospital);
            assert_eq!(x.fallback_cases, 0.0, "{} of {}", x.code, x.hospital);
        }
    }
}
