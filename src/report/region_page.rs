//! `report.html`: the leads to inspect first (cards), the region at a glance, the ranked
//! hospitals with short reasons, the charts, data quality.

use std::fmt::Write;

use super::dataquality;
use super::page::{Cell, document, esc, num, pct, safe_stem, table};
use super::series::Series;
use super::{Lang, ReportInput, cards, figures};
use crate::indicators::Detector;

/// Hospitals shown in the risk chart.
const TOP_CHART: usize = 15;

/// The region page.
pub fn page(input: &ReportInput, series: &Series, trends: &super::trends::Trends) -> String {
    let lang = input.lang;
    let s = input.summary;
    let a = input.audit;
    let t = |zh, en| lang.tr(zh, en);
    let mut h = String::new();
    let _ = write!(
        h,
        "<h1>{}</h1><p class=\"muted\">{} {} · {} {} · {} {}</p>",
        t("区域DRG/DIP审核报告", "Regional DRG/DIP audit report"),
        t("审核期", "Audited period"),
        esc(&s.periods.audited.label),
        t("基期", "baseline"),
        esc(s
            .periods
            .baseline
            .as_ref()
            .map_or("—", |b| b.label.as_str())),
        s.software,
        s.version
    );
    // The leads first: what a reader acts on fills the first screen.
    h.push_str(&cards::section(input));
    // The region at a glance.
    let d = &a.dilution;
    let audited = s.rows.by_period.get("audited").copied().unwrap_or(0) as f64;
    let flagged_by = |det: Detector| {
        a.ranks
            .iter()
            .filter(|r| {
                a.findings
                    .iter()
                    .any(|f| f.hospital == r.hospital && f.flagged && f.scored && f.detector == det)
            })
            .count()
    };
    let total_yuan: f64 = a.ranks.iter().map(|r| r.est_excess_amount).sum();
    let pv_label = match (lang, d.point_value_source.as_str()) {
        (Lang::Zh, "derived") => "推算：总费用 ÷ 总点数",
        (Lang::Zh, "budget") => "预算 ÷ 总点数",
        (Lang::Zh, _) => "配置值",
        (Lang::En, "derived") => "derived: total cost ÷ total points",
        (Lang::En, "budget") => "budget ÷ total points",
        (Lang::En, _) => "configured",
    };
    let kpis = [
        (t("审核期病例", "Audited stays"), num(audited, 0)),
        (t("医院", "Hospitals"), num(s.hospitals as f64, 0)),
        (t("总点数", "Total points"), num(d.total_points, 0)),
        (
            t("点值（元/点）", "Point value (yuan/point)"),
            format!(
                "{} <span class=\"muted\">({pv_label})</span>",
                num(d.point_value, 4)
            ),
        ),
        (
            t("剔除疑似超额后点值", "Point value without suspected excess"),
            num(d.point_value_without_excess, 4),
        ),
        (
            t(
                "超额点数转嫁其他医院（元）",
                "Cost to other hospitals (yuan)",
            ),
            num(d.cost_to_other_hospitals, 0),
        ),
        (t("疑似涉及金额（元）", "Yuan at stake"), num(total_yuan, 0)),
        (
            t("高套分组线索", "Upcoding leads"),
            flagged_by(Detector::Upcoding).to_string(),
        ),
        (
            t("冲点线索", "Point-chasing leads"),
            flagged_by(Detector::PointChasing).to_string(),
        ),
        (
            t("低倍率异常线索", "Low-multiplier leads"),
            flagged_by(Detector::LowMultiplier).to_string(),
        ),
    ];
    let _ = write!(
        h,
        "<h2 class=\"glance\">{}</h2><div class=\"kpis\">",
        t("全区概况", "The region at a glance")
    );
    for (k, v) in kpis {
        let _ = write!(h, "<div class=\"kpi\">{}<b>{v}</b></div>", esc(k));
    }
    h.push_str("</div>");
    let _ = write!(
        h,
        "<p class=\"muted\">{}</p>",
        esc(t(
            "线索不是结论：每条线索都与同级医院相同病例组合比较，并附证据与置信度（q值）。",
            "A lead is not a verdict: each is compared with same-level peers for the same case mix and carries its evidence and q-value."
        ))
    );

    // Ranked hospitals.
    let _ = write!(
        h,
        "<h2 class=\"ranked\">{}</h2>",
        t(
            "医院排名（优先检查）",
            "Hospitals, inspect first at the top"
        )
    );
    let headers = [
        t("排名", "Rank"),
        t("医院", "Hospital"),
        t("级别", "Level"),
        t("综合风险", "Risk"),
        t("高套分组", "Upcoding"),
        t("冲点", "Point-chasing"),
        t("低倍率", "Low multiplier"),
        t("疑似金额（元）", "Yuan at stake"),
        t("原因", "Reason"),
    ];
    let rows: Vec<Vec<Cell>> = a
        .ranks
        .iter()
        .map(|r| {
            let label = if r.hospital_name.is_empty() {
                r.hospital_id.clone()
            } else {
                format!("{} ({})", r.hospital_name, r.hospital_id)
            };
            vec![
                Cell::Num(r.rank as f64, 0),
                Cell::Html(format!(
                    "<a href=\"hospitals/{}.html\">{}</a>",
                    esc(&safe_stem(&r.hospital_id)),
                    esc(&label)
                )),
                Cell::Text(r.hospital_level.clone()),
                Cell::Num(r.risk_score, 1),
                Cell::Num(r.upcoding_score, 1),
                Cell::Num(r.point_chasing_score, 1),
                Cell::Num(r.low_multiplier_score, 1),
                Cell::Num(r.est_excess_amount, 0),
                Cell::Html(cards::short_reason(input, r)),
            ]
        })
        .collect();
    h.push_str(&table(&headers, &rows));

    // Charts.
    let _ = write!(h, "<h2 class=\"charts\">{}</h2>", t("图表", "Charts"));
    h.push_str(&figures::risk_contributions(
        lang,
        &a.ranks[..a.ranks.len().min(TOP_CHART)],
    ));
    h.push_str(&figures::multiplier_distribution(lang, input, series));
    h.push_str("<div class=\"grid\">");
    h.push_str(&figures::severity_mix(lang, series));
    h.push_str(&figures::region_trend(lang, input, series));
    h.push_str(&figures::region_quarterly(lang, input, trends));
    if let Some(cv) = &input.ctx.clusters {
        h.push_str(&figures::cluster_map(lang, cv));
        h.push_str(&figures::top_cluster_mix(
            lang,
            cv,
            &a.ranks[..a.ranks.len().min(5)],
        ));
    }
    h.push_str("</div>");
    let _ = write!(
        h,
        "<h2>{}</h2><div class=\"grid\">",
        t(
            "漏斗图：各指标 O/E 与控制限",
            "Funnel plots: O/E against control limits"
        )
    );
    // A χ² divergence has no O/E to put on a funnel: it says so in a line instead.
    let mut no_funnel = Vec::new();
    for (k, ind) in input.registry.iter().enumerate() {
        if a.findings
            .iter()
            .any(|f| f.indicator == k && f.tail == crate::indicators::Tail::ChiSquare)
        {
            no_funnel.push(ind.spec().code);
            continue;
        }
        h.push_str(&figures::funnel(lang, input, k, ind.spec()));
    }
    h.push_str("</div>");
    for code in no_funnel {
        let _ = write!(
            h,
            "<p class=\"muted\">{code}: {}</p>",
            esc(t(
                "卡方散度没有可画漏斗图的 O/E；各医院的聚类构成见医院页面。",
                "a χ² divergence has no O/E to draw on a funnel; each hospital's cluster mix is on its page."
            ))
        );
    }
    // An indicator without a funnel says why, one line each.
    for u in &a.untested {
        let _ = write!(
            h,
            "<p class=\"muted\">{} {}: {}</p>",
            esc(u.code),
            t("未检验", "not tested"),
            esc(&u.reason)
        );
    }

    // Data quality.
    h.push_str(&dataquality::section(s, input.rejects, lang));
    let _ = write!(
        h,
        "<p class=\"muted\">{}: {} · {}</p>",
        t("口径", "Method"),
        esc(t(
            "指标、期望值与评分方法见 README；配置见 summary.json。",
            "Indicators, expected values and scoring: README; configuration: summary.json."
        )),
        esc(&format!(
            "{} {}",
            pct(s.catalogue.grouping_coverage),
            t("分组覆盖率", "grouping coverage")
        ))
    );
    document(lang, t("DRG/DIP 审核报告", "DRG/DIP audit report"), &h)
}
