//! Cluster mix (病例模式聚类): a hospital crowding a suspicious case pattern ("high severity ·
//! low cost", "low weight · very short stay") compared with its same-level peers for the same
//! groups. Needs the clustering stage; without it the indicator tests nobody. The whole-mix
//! χ² (`CL_MIX_DIVERGENCE`) is supporting: rehabilitation, efficient and TCM hospitals
//! differ from their peers' mix honestly.

use super::context::say;
use super::kinds::{Measure, Measured, Tail};
use super::{Ctx, Detector, Direction, Indicator, IndicatorSpec};

/// Stays in suspicious clusters, against peers' share for the same groups.
pub struct SuspiciousClusterShare;

const SPEC: IndicatorSpec = IndicatorSpec {
    code: "CL_SUSPICIOUS_CLUSTER",
    detector: Detector::ClusterMix,
    direction: Direction::Excess,
    scored: true,
    name_en: "Stays in suspicious case-pattern clusters",
    name_zh: "可疑病例模式聚类占比",
    numerator: "audited stays assigned to a cluster whose profile is suspicious",
    denominator: "audited stays in groups the peers also have",
    expected: "same-level peers' cluster distribution within the same group (hospital left out)",
};

/// "#c label (O/E x)" for the first `take` over-represented clusters of a mix test.
fn over_represented_words(
    ctx: &Ctx,
    cv: &crate::cluster::ClusterView,
    m: &crate::cluster::MixTest,
    take: usize,
) -> Vec<String> {
    m.over_represented
        .iter()
        .take(take)
        .map(|(c, ratio, _)| {
            let p = &cv.model.profiles[*c];
            format!(
                "#{c} {} (O/E {ratio:.2})",
                ctx.lang.tr(&p.label_zh, &p.label_en)
            )
        })
        .collect()
}

fn stake(ctx: &Ctx, i: usize) -> f64 {
    let up = ctx.upcoding_stake(i);
    if up > 0.0 { up } else { ctx.derived.points[i] }
}

impl SuspiciousClusterShare {
    fn measures(&self, ctx: &Ctx) -> Vec<Measure> {
        let Some(cv) = &ctx.clusters else {
            return vec![Measure::default(); ctx.n_hospitals()];
        };
        let suspicious: Vec<usize> = (0..cv.model.k)
            .filter(|c| cv.suspicious(*c as u16))
            .collect();
        let mut out: Vec<Measure> = cv
            .mix
            .iter()
            .map(|m| {
                if suspicious.is_empty() || m.n <= 0.0 {
                    return Measure::default();
                }
                let o: f64 = suspicious.iter().map(|c| m.observed[*c]).sum();
                let e: f64 = suspicious.iter().map(|c| m.expected[*c]).sum();
                let over = over_represented_words(ctx, cv, m, 2);
                Measure {
                    n: m.n,
                    o,
                    e,
                    v: e * (1.0 - e / m.n).max(0.0),
                    detail: say!(
                        ctx,
                        "聚类构成与同级比较：JS 散度 {:.3} 比特，χ² p {:.1e}{}",
                        "cluster mix against peers: Jensen–Shannon {:.3} bits, χ² p {:.1e}{}",
                        m.divergence,
                        m.p,
                        if over.is_empty() {
                            String::new()
                        } else {
                            say!(
                                ctx,
                                "；偏多的聚类：{}",
                                "; over-represented: {}",
                                over.join(", ")
                            )
                        }
                    ),
                    ..Measure::default()
                }
            })
            .collect();
        out.resize(ctx.n_hospitals(), Measure::default());
        for i in 0..ctx.cases.len() {
            if ctx.audited(i) && cv.suspicious(cv.assignment[i]) {
                let m = &mut out[ctx.hospital(i) as usize];
                m.stake_sum += stake(ctx, i);
                m.stake_cases += 1.0;
            }
        }
        out
    }
}

impl Indicator for SuspiciousClusterShare {
    fn spec(&self) -> &IndicatorSpec {
        &SPEC
    }

    fn measure(&self, ctx: &Ctx) -> Measured {
        Measured {
            measures: self.measures(ctx),
            table: None,
        }
    }

    fn case_lead(&self, ctx: &Ctx, i: usize) -> Option<f64> {
        let cv = ctx.clusters.as_ref()?;
        cv.suspicious(cv.assignment[i]).then(|| stake(ctx, i))
    }

    fn case_reason(&self, ctx: &Ctx, i: usize) -> String {
        ctx.clusters.as_ref().map_or(String::new(), |cv| {
            let c = cv.assignment[i] as usize;
            say!(
                ctx,
                "属于聚类 #{c}「{}」",
                "in cluster #{c} \"{}\"",
                ctx.lang.tr(
                    &cv.model.profiles[c].label_zh,
                    &cv.model.profiles[c].label_en
                )
            )
        })
    }
}

/// The hospital's whole cluster mix against its peers' for the same groups (χ² test).
pub struct MixDivergence;

const DIVERGENCE: IndicatorSpec = IndicatorSpec {
    code: "CL_MIX_DIVERGENCE",
    detector: Detector::ClusterMix,
    direction: Direction::Excess,
    scored: false,
    name_en: "Case-pattern mix differs from peers for the same groups",
    name_zh: "病例模式构成与同级同病组医院不同",
    numerator: "χ² of the hospital's cluster counts against the peers' distribution per group",
    denominator: "audited stays in groups the peers also have (χ² degrees of freedom as E)",
    expected: "same-level peers' cluster distribution within the same group (hospital left out)",
};

impl MixDivergence {
    fn measures(&self, ctx: &Ctx) -> Vec<Measure> {
        let Some(cv) = &ctx.clusters else {
            return vec![Measure::default(); ctx.n_hospitals()];
        };
        let mut out: Vec<Measure> = cv
            .mix
            .iter()
            .map(|m| {
                if m.n <= 0.0 || m.df == 0 || !m.chi2.is_finite() {
                    return Measure::default();
                }
                let over = over_represented_words(ctx, cv, m, 3);
                // Judged as a χ² on df degrees of freedom (`Tail::ChiSquare`), scaled by the
                // region's honest growth of χ²/df with n (see `compare`).
                Measure {
                    n: m.n,
                    o: m.chi2,
                    e: m.df as f64,
                    v: 2.0 * m.df as f64,
                    tail: Tail::ChiSquare,
                    detail: say!(
                        ctx,
                        "JS 散度 {:.3} 比特，χ² {:.1}（自由度 {}，未按区域异质性校正的 p {:.1e}）{}",
                        "Jensen–Shannon {:.3} bits, χ² {:.1} on {} df (p {:.1e} before the region's heterogeneity scaling){}",
                        m.divergence,
                        m.chi2,
                        m.df,
                        m.p,
                        if over.is_empty() {
                            String::new()
                        } else {
                            say!(
                                ctx,
                                "；偏多的聚类：{}",
                                "; over-represented: {}",
                                over.join(", ")
                            )
                        }
                    ),
                    ..Measure::default()
                }
            })
            .collect();
        out.resize(ctx.n_hospitals(), Measure::default());
        out
    }
}

impl Indicator for MixDivergence {
    fn spec(&self) -> &IndicatorSpec {
        &DIVERGENCE
    }

    fn measure(&self, ctx: &Ctx) -> Measured {
        Measured {
            measures: self.measures(ctx),
            table: None,
        }
    }

    fn case_lead(&self, ctx: &Ctx, i: usize) -> Option<f64> {
        let cv = ctx.clusters.as_ref()?;
        let m = cv.mix.get(ctx.hospital(i) as usize)?;
        let c = cv.assignment[i] as usize;
        m.over_represented
            .iter()
            .any(|(k, _, _)| *k == c)
            .then_some(0.0)
    }

    fn case_reason(&self, ctx: &Ctx, i: usize) -> String {
        ctx.clusters.as_ref().map_or(String::new(), |cv| {
            let c = cv.assignment[i] as usize;
            say!(
                ctx,
                "属于偏多的聚类 #{c}「{}」",
                "in over-represented cluster #{c} \"{}\"",
                ctx.lang.tr(
                    &cv.model.profiles[c].label_zh,
                    &cv.model.profiles[c].label_en
                )
            )
        })
    }
}
