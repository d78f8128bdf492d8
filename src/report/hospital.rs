//! `hospitals/<id>.html`: one hospital, PEPPER-style — the compare table, the findings in
//! plain words, trends and multiplier distribution against peers, and the evidence cases.

use std::fmt::Write;

use super::page::{Cell, document, esc, table};
use super::series::Series;
use super::trends::Trends;
use super::{ReportInput, figures};
use crate::rank::{HospitalRank, finding_sentence};

/// Evidence cases listed on the page (all of them are in `cases_for_review.csv`).
const SHOWN_CASES: usize = 100;

/// The page of one hospital.
/// `audited` are the hospital's audited cases.
pub fn page(
    input: &ReportInput,
    series: &Series,
    trends: &Trends,
    r: &HospitalRank,
    audited: &[usize],
) -> String {
    let lang = input.lang;
    let t = |zh, en| lang.tr(zh, en);
    let mut h = String::new();
    let title = if r.hospital_name.is_empty() {
        r.hospital_id.clone()
    } else {
        format!("{} ({})", r.hospital_name, r.hospital_id)
    };
    let _ = write!(
        h,
        "<nav><a href=\"../report.html\">← {}</a></nav>",
        t("返回区域报告", "Back to the region")
    );
    let _ = write!(
        h,
        "<h1>{}</h1><p>{} {} · {} {} · {} {} · {} {:.1} · {} {:.1} / {:.1} / {:.1}</p>",
        esc(&title),
        t("级别", "Level"),
        esc(if r.hospital_level.is_empty() {
            "—"
        } else {
            &r.hospital_level
        }),
        t("排名", "Rank"),
        r.rank,
        t("审核期病例", "audited stays"),
        r.audited_cases,
        t("综合风险", "risk"),
        r.risk_score,
        t(
            "高套/冲点/低倍率",
            "upcoding / point-chasing / low multiplier"
        ),
        r.upcoding_score,
        r.point_chasing_score,
        r.low_multiplier_score
    );
    let _ = write!(h, "<p class=\"reason\">{}</p>", esc(&r.reason));

    let findings = input.findings_of(r.hospital);
    h.push_str(&plain_findings(&findings, input.registry, lang));

    let _ = write!(
        h,
        "<h2>{}</h2>",
        t("指标对照表（PEPPER 式）", "Compare table (PEPPER style)")
    );
    h.push_str(&compare_table(&findings, input.registry, lang));
    h.push_str(&drilldown_section(
        input.ctx,
        input.registry,
        input.audit,
        r.hospital,
        lang,
        "h2",
    ));

    let _ = write!(
        h,
        "<h2>{}</h2><div class=\"grid\">",
        t("与同级医院对比", "Against same-level peers")
    );
    h.push_str(&figures::hospital_trend(
        lang,
        input,
        series,
        r.hospital as usize,
    ));
    h.push_str(&figures::hospital_multiplier(
        lang,
        input,
        series,
        r.hospital as usize,
    ));
    h.push_str("</div>");
    let charts: String = trends
        .tables
        .iter()
        .filter_map(|(k, t)| {
            let parts = t.get(r.hospital as usize)?;
            Some(figures::indicator_trend(
                lang,
                trends,
                parts,
                input.registry[*k].spec(),
            ))
        })
        .collect();
    if !charts.is_empty() {
        let _ = write!(
            h,
            "<h2>{}</h2><p class=\"muted\">{}</p><div class=\"grid\">{charts}</div>",
            t("指标季度趋势", "Quarterly trends"),
            t(
                "每个计分指标按出院季度的本院比率，对照同级医院（本院除外）审核期在相同分层中的比率按本院病例构成算得的预期比率；阴影为审核期。",
                "Each scored indicator's rate by discharge quarter against the rate expected from same-level peers' audited-period rates in the same strata (this hospital left out), for the hospital's own mix; the audited period is shaded."
            )
        );
    }
    if let Some(cv) = &input.ctx.clusters
        && let Some(m) = cv.mix.get(r.hospital as usize)
        && m.n > 0.0
    {
        let _ = write!(
            h,
            "<h2>{}</h2><p class=\"muted\">{}</p>",
            t("病例模式聚类构成", "Cluster mix"),
            t(
                "预期数按同级医院在相同病组内的聚类分布计算（本院除外）。",
                "Expected counts come from same-level peers' cluster distribution within the same groups (this hospital left out)."
            )
        );
        let rows: Vec<Vec<Cell>> = cv
            .model
            .profiles
            .iter()
            .map(|p| {
                let (o, e) = (m.observed[p.id], m.expected[p.id]);
                vec![
                    Cell::Text(format!("#{} {}", p.id, lang.tr(&p.label_zh, &p.label_en))),
                    Cell::Num(o, 0),
                    Cell::Num(e, 1),
                    Cell::Num(if e > 0.0 { o / e } else { f64::NAN }, 2),
                    Cell::Html(if p.suspicious {
                        format!("<span class=\"flag\">{}</span>", t("可疑", "suspicious"))
                    } else {
                        String::new()
                    }),
                ]
            })
            .collect();
        h.push_str(&table(
            &[
                t("聚类", "Cluster"),
                t("本院", "Observed"),
                t("预期", "Expected"),
                "O/E",
                t("模式", "Pattern"),
            ],
            &rows,
        ));
    }

    let cases: Vec<&crate::leads::CaseLead> = input
        .audit
        .leads
        .iter()
        .filter(|l| l.hospital_id == r.hospital_id)
        .collect();
    h.push_str(&super::coding::section(
        input.ctx,
        &input.audit.levers,
        r.hospital,
        audited,
        lang,
    ));
    h.push_str(&evidence_section(&cases, lang));
    document(lang, &title, &h)
}

/// The PEPPER-style compare table of one hospital's findings.
pub fn compare_table(
    findings: &[&crate::compare::Finding],
    registry: &[Box<dyn crate::indicators::Indicator>],
    lang: crate::lang::Lang,
) -> String {
    let t = |zh, en| lang.tr(zh, en);
    let headers = [
        t("指标", "Indicator"),
        t("分子", "Numerator"),
        t("分母", "Denominator"),
        t("比率", "Rate"),
        t("同级预期", "Peer-expected rate"),
        t("同级百分位", "Peer percentile"),
        "O/E",
        "q",
        t("疑似金额（元）", "Yuan at stake"),
        t("标记", "Flag"),
    ];
    let rows: Vec<Vec<Cell>> = findings
        .iter()
        .map(|f| {
            let spec = registry[f.indicator].spec();
            let name = format!("{} · {}", f.code, lang.tr(spec.name_zh, spec.name_en));
            vec![
                Cell::Text(name),
                Cell::Num(f.observed, if f.code == "UPC_WEIGHT_INDEX" { 1 } else { 0 }),
                Cell::Num(f.n, 0),
                Cell::Pct(f.observed / f.n),
                Cell::Pct(f.expected / f.n),
                Cell::Num(f.peer_percentile, 0),
                Cell::Num(f.ratio, 2),
                Cell::Prob(f.q),
                Cell::Num(if f.flagged { f.excess_yuan } else { 0.0 }, 0),
                Cell::Html(if f.flagged {
                    format!("<span class=\"flag\">{}</span>", t("是", "yes"))
                } else {
                    String::new()
                }),
            ]
        })
        .collect();
    table(&headers, &rows)
}

/// Parts listed per drill-down table (the workbook lists them all).
const SHOWN_PARTS: usize = 10;

/// "Which department, which physician": for each flagged finding of hospital `h`, the
/// departments and physicians that carry its excess, with their observed and expected
/// counts under the hospital measure's own standardisation. `heading` is the level of the
/// section's heading (`h2` on the hospital page, `h3` in `check.html`).
pub fn drilldown_section(
    ctx: &crate::indicators::Ctx,
    registry: &[Box<dyn crate::indicators::Indicator>],
    audit: &crate::audit::Audit,
    hospital: u32,
    lang: crate::lang::Lang,
    heading: &str,
) -> String {
    let t = |zh, en| lang.tr(zh, en);
    let mut h = String::new();
    let _ = write!(
        h,
        "<{heading}>{}</{heading}>",
        t("科室与医师下钻", "Which department, which physician")
    );
    let (has_dept, has_phys) = (ctx.cases.has("department"), ctx.cases.has("physician_id"));
    if !has_dept && !has_phys {
        let _ = write!(
            h,
            "<p class=\"muted\">{}</p>",
            t(
                "下钻到科室和医师需要输入中的出院科别（department）和主诊医师代码（physician_id）列。",
                "Drill-down to departments and physicians needs the department and physician_id columns in the input."
            )
        );
        return h;
    }
    let mine: Vec<&crate::audit::Drilldown> = audit
        .drilldowns
        .iter()
        .filter(|d| audit.findings[d.finding].hospital == hospital)
        .collect();
    if mine.is_empty() {
        let _ = write!(
            h,
            "<p class=\"muted\">{}</p>",
            t(
                "没有标记的发现，无需下钻。",
                "No flagged finding to drill into."
            )
        );
        return h;
    }
    let _ = write!(
        h,
        "<p class=\"muted\">{}</p>",
        t(
            "每个科室（医师）的实际数与预期数用与全院指标相同的逐例预期计算，各部分相加即全院的实际数与预期数；超额占比 = 该部分的（实际 − 预期）÷ 全院的（实际 − 预期），只有占比为正的部分承担超额。",
            "Each department's (physician's) observed and expected counts use the same per-case expectation as the hospital's indicator, so the parts add up to the hospital's; share of the excess = the part's (O − E) over the hospital's (O − E); only parts with a positive share carry it."
        )
    );
    for d in mine {
        let f = &audit.findings[d.finding];
        let spec = registry[f.indicator].spec();
        let _ = write!(
            h,
            "<h4>{} · {}</h4>",
            esc(f.code),
            esc(lang.tr(spec.name_zh, spec.name_en))
        );
        if !d.split {
            let _ = write!(
                h,
                "<p class=\"muted\">{}</p>",
                t(
                    "本指标不按病例拆分（聚类构成是全院层面的检验）。",
                    "Not split: this indicator is a hospital-level test, not a sum over cases."
                )
            );
            continue;
        }
        let tables = [
            (
                "department",
                t("出院科别", "Department"),
                t("科室", "department"),
                &d.departments,
                &ctx.cases.departments,
            ),
            (
                "physician",
                t("主诊医师代码", "Physician"),
                t("医师", "physician"),
                &d.physicians,
                &ctx.cases.physicians,
            ),
        ];
        for (by, head, noun, shares, names) in tables {
            let Some(shares) = shares else { continue };
            let name = |k: u32| {
                names
                    .get(k as usize)
                    .cloned()
                    .unwrap_or_else(|| t("（未填写）", "(blank)").to_string())
            };
            if let Some(top) = shares.first().filter(|s| s.share > 0.0) {
                let (who, share) = (name(top.key), 100.0 * top.share);
                let (o, e) = (crate::lang::num(top.o, 1), crate::lang::num(top.e, 1));
                let _ = write!(
                    h,
                    "<p>{}</p>",
                    esc(&match lang {
                        crate::lang::Lang::Zh => {
                            format!("{noun}“{who}”承担了超额的 {share:.0}%（实际 {o}，预期 {e}）。")
                        }
                        crate::lang::Lang::En => format!(
                            "The {noun} \"{who}\" carries {share:.0}% of the excess (observed {o}, expected {e})."
                        ),
                    })
                );
            }
            let rows: Vec<Vec<Cell>> = shares
                .iter()
                .take(SHOWN_PARTS)
                .map(|s| {
                    vec![
                        Cell::Text(name(s.key)),
                        Cell::Num(s.n, 0),
                        Cell::Num(s.o, 1),
                        Cell::Num(s.e, 1),
                        Cell::Num(s.excess(f.direction), 1),
                        Cell::Pct(s.share),
                    ]
                })
                .collect();
            let _ = write!(
                h,
                "<div class=\"drilldown\" data-code=\"{}\" data-by=\"{by}\">",
                esc(f.code)
            );
            h.push_str(&table(
                &[
                    head,
                    t("病例", "Cases"),
                    t("实际", "Observed"),
                    t("预期", "Expected"),
                    t("超额", "Excess"),
                    t("超额占比", "Share of the excess"),
                ],
                &rows,
            ));
            h.push_str("</div>");
            if shares.len() > SHOWN_PARTS {
                let _ = write!(
                    h,
                    "<p class=\"muted\">{}</p>",
                    esc(&match lang {
                        crate::lang::Lang::Zh => format!(
                            "共 {} 个{noun}，此处列出超额最大的 {SHOWN_PARTS} 个；完整清单见工作簿。",
                            shares.len()
                        ),
                        crate::lang::Lang::En => format!(
                            "{} {noun}s in all; the {SHOWN_PARTS} with the largest excess are listed (all of them are in the workbook).",
                            shares.len()
                        ),
                    })
                );
            }
        }
    }
    h
}

/// The evidence cases of one hospital (the first [`SHOWN_CASES`]).
pub fn evidence_section(cases: &[&crate::leads::CaseLead], lang: crate::lang::Lang) -> String {
    let t = |zh, en| lang.tr(zh, en);
    let mut h = String::new();
    // The heading counts them all; the table shows the first SHOWN_CASES.
    let total = cases.len();
    let cases = &cases[..total.min(SHOWN_CASES)];
    let _ = write!(
        h,
        "<h2 class=\"pb\">{} ({})</h2>",
        t("证据病例", "Evidence cases"),
        total
    );
    if !cases.is_empty() {
        let rows: Vec<Vec<Cell>> = cases
            .iter()
            .map(|l| {
                vec![
                    Cell::Text(l.case_id.clone()),
                    Cell::Text(l.group_code.clone()),
                    Cell::Text(l.findings.clone()),
                    Cell::Num(l.points_at_stake, 1),
                    Cell::Num(l.yuan_at_stake, 0),
                    Cell::Text(l.reason.clone()),
                ]
            })
            .collect();
        h.push_str(&table(
            &[
                "case_id",
                t("病组", "Group"),
                t("发现", "Findings"),
                t("涉及点数", "Points at stake"),
                t("涉及金额（元）", "Yuan at stake"),
                t("原因", "Reason"),
            ],
            &rows,
        ));
        let _ = write!(
            h,
            "<p class=\"muted\">{}</p>",
            t(
                "完整清单见 cases_for_review.csv。",
                "The full list is in cases_for_review.csv."
            )
        );
    }
    h
}

/// The flagged findings of one hospital as sentences.
pub fn plain_findings(
    findings: &[&crate::compare::Finding],
    registry: &[Box<dyn crate::indicators::Indicator>],
    lang: crate::lang::Lang,
) -> String {
    let t = |zh, en| lang.tr(zh, en);
    let mut h = String::new();
    let flagged: Vec<_> = findings.iter().filter(|f| f.flagged).collect();
    let _ = write!(
        h,
        "<h2>{}</h2>",
        t("发现（通俗说明）", "Findings in plain words")
    );
    if flagged.is_empty() {
        let _ = write!(
            h,
            "<p>{}</p>",
            t(
                "在 FDR 阈值下没有标记的发现。",
                "No finding is flagged at the FDR threshold."
            )
        );
    } else {
        h.push_str("<ul>");
        for f in &flagged {
            let _ = write!(h, "<li>{}</li>", esc(&finding_sentence(f, registry, lang)));
        }
        h.push_str("</ul>");
    }

    h
}
