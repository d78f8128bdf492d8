//! The report's charts: report data → the chart functions in [`crate::charts`] → inline SVG
//! wrapped in `<figure>`.

use super::series::{SEVERITIES, Series};
use super::trends::Trends;
use super::{Lang, ReportInput};
use crate::charts::{self, Bubble, FunnelLimitsCurve, FunnelPoint, Size, StackedBar};
use crate::indicators::IndicatorSpec;
use crate::rank::HospitalRank;
use crate::stats;

const WIDE: Size = Size {
    width: 960,
    height: 420,
};
const HALF: Size = Size {
    width: 560,
    height: 360,
};

fn figure(svg: String) -> String {
    format!("<figure>{svg}</figure>")
}

fn hospital_label(r: &HospitalRank) -> String {
    if r.hospital_name.is_empty() {
        r.hospital_id.clone()
    } else {
        format!("{} {}", r.hospital_id, r.hospital_name)
    }
}

/// The top hospitals' risk, split into each detector's contribution (the strongest detector
/// counts fully, the other two at a tenth, as the risk score does).
pub fn risk_contributions(lang: Lang, ranks: &[HospitalRank]) -> String {
    let series = [
        lang.tr("高套分组", "upcoding"),
        lang.tr("冲点", "point-chasing"),
        lang.tr("低倍率异常", "low multiplier"),
    ];
    let bars: Vec<StackedBar> = ranks
        .iter()
        .map(|r| {
            let s = [
                r.upcoding_score,
                r.point_chasing_score,
                r.low_multiplier_score,
            ];
            let top = (0..3).max_by(|a, b| s[*a].total_cmp(&s[*b])).unwrap_or(0);
            StackedBar {
                label: hospital_label(r),
                parts: (0..3)
                    .map(|k| if k == top { s[k] } else { 0.1 * s[k] })
                    .collect(),
            }
        })
        .collect();
    figure(charts::stacked_bars(
        lang.tr(
            "风险最高的医院：各检测器贡献",
            "Highest-risk hospitals: each detector's contribution",
        ),
        &series,
        &bars,
        lang.tr("综合风险分（z 当量）", "risk score (z-equivalent)"),
        Size {
            width: 960,
            height: 80 + 28 * bars.len().max(1) as u32,
        },
    ))
}

fn thresholds(input: &ReportInput) -> Vec<(String, f64)> {
    let m = &input.ctx.config.multiplier;
    let lang = input.lang;
    let mut t = vec![(format!("{} {}", lang.tr("低倍率", "low"), m.low), m.low)];
    let mut highs: Vec<f64> = m.high.iter().map(|b| b.threshold).collect();
    highs.sort_by(f64::total_cmp);
    highs.dedup();
    for hth in highs {
        t.push((format!("{} {}", lang.tr("高倍率", "high"), hth), hth));
    }
    t
}

/// The region's multiplier distribution with the band thresholds drawn.
pub fn multiplier_distribution(lang: Lang, input: &ReportInput, series: &Series) -> String {
    let region = series.pooled_hist(0..input.ctx.n_hospitals());
    let th = thresholds(input);
    let th_ref: Vec<(&str, f64)> = th.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    figure(charts::histogram(
        lang.tr(
            "审核期倍率分布（费用 ÷ 基准费用）",
            "Multiplier distribution, audited period (cost ÷ benchmark)",
        ),
        &Series::bin_edges(),
        &[(lang.tr("全区", "region"), Series::shares(&region))],
        &th_ref,
        lang.tr("倍率", "multiplier"),
        lang.tr("病例占比", "share of stays"),
        WIDE,
    ))
}

/// A hospital level's name; level 0 holds the hospitals whose level is unknown.
fn level_name(lang: Lang, lv: u8) -> String {
    match (lang, lv) {
        (Lang::Zh, 0) => "未知级别".to_string(),
        (Lang::Zh, l) => format!("{}级", ["", "一", "二", "三"][(l as usize).min(3)]),
        (Lang::En, 0) => "unknown level".to_string(),
        (Lang::En, l) => format!("level {l}"),
    }
}

/// Severity mix by hospital level (audited).
pub fn severity_mix(lang: Lang, series: &Series) -> String {
    let levels: Vec<usize> = (0..4)
        .filter(|l| series.severity_by_level[*l].iter().sum::<f64>() > 0.0)
        .collect();
    let categories: Vec<String> = levels.iter().map(|l| level_name(lang, *l as u8)).collect();
    let names: Vec<String> = SEVERITIES
        .iter()
        .map(|s| format!("{} {s}", lang.tr("严重度", "severity")))
        .collect();
    let data: Vec<(&str, Vec<f64>)> = (0..4)
        .map(|c| {
            let v = levels
                .iter()
                .map(|l| {
                    let row = series.severity_by_level[*l];
                    let total: f64 = row.iter().sum();
                    if total > 0.0 { row[c] / total } else { 0.0 }
                })
                .collect();
            (names[c].as_str(), v)
        })
        .collect();
    figure(charts::grouped_bars(
        lang.tr("各级医院严重度构成", "Severity mix by hospital level"),
        &categories,
        &data,
        lang.tr("病例占比", "share of stays"),
        HALF,
    ))
}

/// Monthly points per stay, by level, over both periods.
pub fn region_trend(lang: Lang, input: &ReportInput, series: &Series) -> String {
    let ctx = input.ctx;
    let mut names = Vec::new();
    let mut data = Vec::new();
    for lv in 0..4u8 {
        let members: Vec<usize> = (0..ctx.n_hospitals())
            .filter(|h| ctx.hospital_level[*h] == lv)
            .collect();
        if members.is_empty() {
            continue;
        }
        names.push(level_name(lang, lv));
        data.push(series.points_per_stay(&members));
    }
    let s: Vec<(&str, Vec<f64>)> = names.iter().map(String::as_str).zip(data).collect();
    figure(charts::lines(
        lang.tr(
            "每例点数月度趋势（按级别）",
            "Monthly points per stay, by level",
        ),
        &series.months,
        &s,
        lang.tr("点数/例", "points per stay"),
        HALF,
    ))
}

/// Quarterly points per stay by hospital level (the last quarters the data holds), the
/// audited period shaded.
pub fn region_quarterly(lang: Lang, input: &ReportInput, trends: &Trends) -> String {
    let ctx = input.ctx;
    let mut names = Vec::new();
    let mut data = Vec::new();
    for lv in 0..4u8 {
        if !(0..ctx.n_hospitals()).any(|h| ctx.hospital_level[h] == lv) {
            continue;
        }
        names.push(level_name(lang, lv));
        data.push(
            trends.level_points[lv as usize]
                .iter()
                .map(|(n, p)| if *n > 0.0 { p / n } else { f64::NAN })
                .collect(),
        );
    }
    let s: Vec<(&str, Vec<f64>)> = names.iter().map(String::as_str).zip(data).collect();
    figure(charts::lines_marked(
        lang.tr(
            "每例点数季度趋势（按级别，阴影为审核期）",
            "Quarterly points per stay, by level (audited period shaded)",
        ),
        &trends.labels,
        &s,
        lang.tr("点数/例", "points per stay"),
        trends.audited,
        HALF,
    ))
}

/// One scored indicator's quarterly rate at hospital `h` against the rate its same-level
/// peers' audited behaviour expects for the hospital's mix, audited quarters shaded.
/// Empty when the hospital has no eligible case in the quarters shown.
pub fn indicator_trend(
    lang: Lang,
    trends: &Trends,
    parts: &[crate::indicators::Part],
    spec: &IndicatorSpec,
) -> String {
    if !parts.iter().any(|p| p.n > 0.0) {
        return String::new();
    }
    let (own, expected) = trends.rates(parts);
    let title = format!("{} · {}", spec.code, lang.tr(spec.name_zh, spec.name_en));
    format!(
        "<div class=\"trend\" data-code=\"{}\">{}</div>",
        super::page::esc(spec.code),
        figure(charts::lines_marked(
            &title,
            &trends.labels,
            &[
                (lang.tr("本院", "this hospital"), own),
                (lang.tr("同级预期", "peer-expected"), expected),
            ],
            lang.tr("比率", "rate"),
            trends.audited,
            HALF,
        ))
    )
}

/// The funnel plot of one indicator: every hospital's O/E against its expected count.
pub fn funnel(lang: Lang, input: &ReportInput, k: usize, spec: &IndicatorSpec) -> String {
    let ctx = input.ctx;
    let fs: Vec<_> = input
        .audit
        .findings
        .iter()
        .filter(|f| f.indicator == k && f.expected > 0.0)
        .collect();
    let points: Vec<FunnelPoint> = fs
        .iter()
        .map(|f| FunnelPoint {
            label: ctx.cases.hospitals[f.hospital as usize].id.clone(),
            expected: f.expected,
            ratio: f.ratio,
            highlight: f.flagged,
        })
        .collect();
    // The limits use the test's own standard error: τ² plus chance, whose size for a given E
    // is the median of the findings' (E·SE² − E·τ²): about 1 for a rare event, less for a
    // common one, more where the peer rates are uncertain.
    let tau2 = input.audit.dispersion.get(k).map_or(0.0, |d| d.tau2);
    let mut chance: Vec<f64> = fs
        .iter()
        .map(|f| f.expected * (f.se * f.se - tau2).max(0.0))
        .filter(|c| c.is_finite())
        .collect();
    chance.sort_by(f64::total_cmp);
    let chance = if chance.is_empty() {
        1.0
    } else {
        stats::quantile(&chance, 0.5)
    };
    let lo = fs
        .iter()
        .map(|f| f.expected)
        .fold(f64::INFINITY, f64::min)
        .max(0.5);
    let hi = fs
        .iter()
        .map(|f| f.expected)
        .fold(0.0, f64::max)
        .max(lo * 2.0);
    let grid: Vec<f64> = (0..=60)
        .map(|i| lo * (hi / lo).powf(i as f64 / 60.0))
        .collect();
    let lim: Vec<_> = grid
        .iter()
        .map(|e| stats::limits_from_se(1.0, (chance / e + tau2).sqrt(), stats::Dispersion::None))
        .collect();
    let curve = FunnelLimitsCurve {
        expected: grid.clone(),
        lower95: lim.iter().map(|l| l.lower95.max(0.0)).collect(),
        upper95: lim.iter().map(|l| l.upper95).collect(),
        lower998: lim.iter().map(|l| l.lower998.max(0.0)).collect(),
        upper998: lim.iter().map(|l| l.upper998).collect(),
    };
    let title = format!("{} · {}", spec.code, lang.tr(spec.name_zh, spec.name_en));
    figure(charts::funnel(
        &title,
        &points,
        &curve,
        lang.tr("预期数 E", "expected count E"),
        "O/E",
        HALF,
    ))
}

/// A hospital's monthly points per stay and stays against its same-level peers.
pub fn hospital_trend(lang: Lang, input: &ReportInput, series: &Series, h: usize) -> String {
    let ctx = input.ctx;
    let lv = ctx.hospital_level[h];
    let peers: Vec<usize> = (0..ctx.n_hospitals())
        .filter(|o| *o != h && ctx.hospital_level[*o] == lv)
        .collect();
    let own = series.points_per_stay(&[h]);
    let peer = series.points_per_stay(&peers);
    let a = figure(charts::lines(
        lang.tr(
            "每例点数：本院与同级医院",
            "Points per stay: this hospital and its peers",
        ),
        &series.months,
        &[
            (lang.tr("本院", "this hospital"), own),
            (lang.tr("同级医院", "peers"), peer),
        ],
        lang.tr("点数/例", "points per stay"),
        HALF,
    ));
    let own_stays = series.stays_per_hospital(&[h]);
    let peer_stays = series.stays_per_hospital(&peers);
    let b = figure(charts::lines(
        lang.tr(
            "月出院人次：本院与同级医院平均",
            "Monthly stays: this hospital and the peer average",
        ),
        &series.months,
        &[
            (lang.tr("本院", "this hospital"), own_stays),
            (lang.tr("同级医院平均", "peer average"), peer_stays),
        ],
        lang.tr("人次", "stays"),
        HALF,
    ));
    a + &b
}

/// A hospital's multiplier histogram against its same-level peers (shares).
pub fn hospital_multiplier(lang: Lang, input: &ReportInput, series: &Series, h: usize) -> String {
    let ctx = input.ctx;
    let lv = ctx.hospital_level[h];
    let peers = series
        .pooled_hist((0..ctx.n_hospitals()).filter(|o| *o != h && ctx.hospital_level[*o] == lv));
    let th = thresholds(input);
    let th_ref: Vec<(&str, f64)> = th.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    figure(charts::histogram(
        lang.tr(
            "倍率分布：本院与同级医院",
            "Multiplier distribution: this hospital and its peers",
        ),
        &Series::bin_edges(),
        &[
            (
                lang.tr("本院", "this hospital"),
                Series::shares(&series.multiplier_hist[h]),
            ),
            (lang.tr("同级医院", "peers"), Series::shares(&peers)),
        ],
        &th_ref,
        lang.tr("倍率", "multiplier"),
        lang.tr("病例占比", "share of stays"),
        HALF,
    ))
}

/// Cluster centroids on cost and stay (multiplier and LOS ratio, log scale), sized by cases.
pub fn cluster_map(lang: Lang, cv: &crate::cluster::ClusterView) -> String {
    let f = |name: &str| cv.model.features.iter().position(|x| x == name);
    let (Some(x), Some(y)) = (f("log_multiplier"), f("log_los_ratio")) else {
        return String::new();
    };
    let bubbles: Vec<Bubble> = cv
        .model
        .profiles
        .iter()
        .map(|p| Bubble {
            // The short id on the chart (long labels crowded each other), the names below it.
            label: format!("#{}", p.id),
            x: p.centroid_real[x],
            y: p.centroid_real[y],
            size: p.size as f64,
        })
        .collect();
    let key: Vec<String> = cv
        .model
        .profiles
        .iter()
        .map(|p| super::page::esc(&format!("#{} {}", p.id, lang.tr(&p.label_zh, &p.label_en))))
        .collect();
    let svg = charts::bubbles(
        lang.tr(
            "病例模式聚类（质心，大小=病例数）",
            "Case-pattern clusters (centroids, size = stays)",
        ),
        &bubbles,
        lang.tr("ln 倍率", "ln multiplier"),
        lang.tr("ln 住院日比", "ln LOS ratio"),
        HALF,
    );
    format!(
        "<figure>{svg}<figcaption>{}</figcaption></figure>",
        key.join(lang.tr("；", "; "))
    )
}

/// The cluster mix of the top hospitals: O/E per cluster against same-group peers.
pub fn top_cluster_mix(
    lang: Lang,
    cv: &crate::cluster::ClusterView,
    ranks: &[HospitalRank],
) -> String {
    let categories: Vec<String> = cv
        .model
        .profiles
        .iter()
        .map(|p| format!("#{}", p.id))
        .collect();
    let names: Vec<String> = ranks.iter().map(|r| r.hospital_id.clone()).collect();
    let data: Vec<(&str, Vec<f64>)> = ranks
        .iter()
        .zip(&names)
        .filter_map(|(r, name)| {
            let m = cv.mix.get(r.hospital as usize)?;
            let oe = m
                .observed
                .iter()
                .zip(&m.expected)
                .map(|(o, e)| if *e > 0.0 { o / e } else { f64::NAN })
                .collect();
            Some((name.as_str(), oe))
        })
        .collect();
    figure(charts::grouped_bars(
        lang.tr(
            "排名靠前医院的聚类构成（O/E，同级同病组）",
            "Cluster mix of the top hospitals (O/E against same-group peers)",
        ),
        &categories,
        &data,
        "O/E",
        HALF,
    ))
}
