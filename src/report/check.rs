//! `check.html`: a hospital's self-audit — where it would stand in the region, its
//! findings in plain words, the compare table against the published peer rates, and the
//! cases its coders should look at before submitting.

use std::fmt::Write;

use super::hospital::{compare_table, drilldown_section, evidence_section, plain_findings};
use super::page::{document, esc};
use super::summary::CheckedHospital;
use crate::audit::Audit;
use crate::indicators::Indicator;
use crate::lang::Lang;

/// The self-audit page of every hospital in the batch.
pub fn check_page(
    ctx: &crate::indicators::Ctx,
    registry: &[Box<dyn Indicator>],
    audit: &Audit,
    near: &[crate::leads::CaseLead],
    hospitals: &[CheckedHospital],
    lang: Lang,
) -> String {
    let t = |zh, en| lang.tr(zh, en);
    let mut h = String::new();
    let title = t("医院自查报告", "Hospital self-audit");
    let _ = write!(
        h,
        "<h1>{}</h1><p class=\"muted\">{}</p>",
        title,
        t(
            "本报告用区域模型（model.json）中公布的同级医院汇总数据，按监管方 run 的同一套指标、同一比较方法和同一 FDR 阈值评估本批数据。请先核对下列病例的编码与收费，更正真实的错误后再上报。",
            "This page judges the batch with the region's published peer sums (model.json), using the same indicators, comparisons and FDR threshold as the regulator's run. Review the cases below and correct genuine coding or billing errors before you submit."
        )
    );
    let audited = ctx.audited_by_hospital();
    for c in hospitals {
        let r = &c.rank;
        let name = if r.hospital_name.is_empty() {
            r.hospital_id.clone()
        } else {
            format!("{} ({})", r.hospital_name, r.hospital_id)
        };
        let _ = write!(
            h,
            "<h2>{}</h2><p>{} {:.1} · {} {} / {} · {} {} · {} {:.1} / {:.1} / {:.1} · {} {:.0}</p>",
            esc(&name),
            t("综合风险", "Risk"),
            r.risk_score,
            t("在区域中的位次", "would rank"),
            c.region_rank,
            c.region_hospitals,
            t("审核期病例", "audited stays"),
            r.audited_cases,
            t(
                "高套/冲点/低倍率",
                "upcoding / point-chasing / low multiplier"
            ),
            r.upcoding_score,
            r.point_chasing_score,
            r.low_multiplier_score,
            t("疑似超额金额（元）", "yuan at stake"),
            r.est_excess_amount,
        );
        let _ = write!(
            h,
            "<p class=\"muted\">{}</p>",
            if c.same_data_as_model {
                t(
                    "本批数据即模型的建模数据：本院自身病例已从同级汇总中扣除（与 run 相同）。",
                    "This batch is the data the model was built from: the hospital's own cases are taken out of the peer sums, as run does.",
                )
            } else {
                t(
                    "本批为新数据：与模型中的全部同级医院比较。",
                    "This batch is new data: it is compared with all the model's peers.",
                )
            }
        );
        if !r.reason.is_empty() {
            let _ = write!(h, "<p class=\"reason\">{}</p>", esc(&r.reason));
        }
        let mut findings: Vec<&crate::compare::Finding> = audit
            .findings
            .iter()
            .filter(|f| f.hospital == r.hospital)
            .collect();
        findings.sort_by_key(|f| f.indicator);
        h.push_str(&plain_findings(&findings, registry, lang));
        let _ = write!(
            h,
            "<h3>{}</h3>",
            t(
                "指标对照表（与公布的同级比率比较）",
                "Compare table (against the published peer rates)"
            )
        );
        h.push_str(&compare_table(&findings, registry, lang));
        h.push_str(&drilldown_section(
            ctx, registry, audit, r.hospital, lang, "h3",
        ));
        let cases: Vec<&crate::leads::CaseLead> = audit
            .leads
            .iter()
            .filter(|l| l.hospital_id == r.hospital_id)
            .collect();
        let own = &audited[r.hospital as usize];
        h.push_str(&super::coding::section(
            ctx,
            &audit.levers,
            r.hospital,
            own,
            lang,
        ));
        h.push_str(&evidence_section(&cases, lang));
        let near: Vec<&crate::leads::CaseLead> = near
            .iter()
            .filter(|l| l.hospital_id == r.hospital_id)
            .collect();
        let _ = write!(
            h,
            "<h3>{}</h3><p class=\"muted\">{}</p>",
            t("接近阈值的病例", "Near the threshold"),
            t(
                "以下病例来自尚未标记、但已超出漏斗图 95% 界限的指标（完整清单见 cases_near_threshold.csv）。",
                "Cases behind findings that are not flagged but lie beyond the funnel's 95% limit (the full list is in cases_near_threshold.csv)."
            )
        );
        h.push_str(&evidence_section(&near, lang));
    }
    if hospitals.is_empty() {
        let _ = write!(
            h,
            "<p>{}</p>",
            t(
                "本批没有可分析的病例。",
                "The batch has no case to analyse."
            )
        );
    }
    document(lang, title, &h)
}
