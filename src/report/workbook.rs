//! `audit_worklist.xlsx`: the ranked hospitals, the findings and the cases for review on
//! separate sheets — frozen headers, filters, number formats — because auditors work in Excel.

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use crate::audit::Drilldown;
use crate::compare::Finding;
use crate::error::{AuditError, Result};
use crate::indicators::{Ctx, Indicator};
use crate::lang::Lang;
use crate::leads::CaseLead;
use crate::rank::{HospitalRank, finding_sentence};

/// One column: header and width.
struct Col(&'static str, f64);

fn header(ws: &mut Worksheet, cols: &[Col], bold: &Format) -> std::result::Result<(), XlsxError> {
    for (c, col) in cols.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, col.0, bold)?;
        ws.set_column_width(c as u16, col.1)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

/// A new worksheet named `name`, its header row written.
fn sheet<'a>(
    wb: &'a mut Workbook,
    name: &str,
    cols: &[Col],
    bold: &Format,
) -> std::result::Result<&'a mut Worksheet, XlsxError> {
    let ws = wb.add_worksheet().set_name(name)?;
    header(ws, cols, bold)?;
    Ok(ws)
}

/// Each hospital's rank, indexed by hospital.
fn ranks_by_hospital(ctx: &Ctx, ranks: &[HospitalRank]) -> Vec<usize> {
    let mut rank_of = vec![0usize; ctx.n_hospitals()];
    for r in ranks {
        rank_of[r.hospital as usize] = r.rank;
    }
    rank_of
}

fn finish(ws: &mut Worksheet, rows: u32, cols: usize) -> std::result::Result<(), XlsxError> {
    ws.autofilter(0, 0, rows.max(1), (cols - 1) as u16)?;
    Ok(())
}

/// Builds the workbook bytes.
pub fn workbook(
    ctx: &Ctx,
    registry: &[Box<dyn Indicator>],
    ranks: &[HospitalRank],
    findings: &[Finding],
    leads: &[CaseLead],
    drilldowns: &[Drilldown],
    lang: Lang,
) -> Result<Vec<u8>> {
    build(ctx, registry, ranks, findings, leads, drilldowns, lang).map_err(|source| {
        AuditError::Xlsx {
            file: "audit_worklist.xlsx",
            source,
        }
    })
}

fn build(
    ctx: &Ctx,
    registry: &[Box<dyn Indicator>],
    ranks: &[HospitalRank],
    findings: &[Finding],
    leads: &[CaseLead],
    drilldowns: &[Drilldown],
    lang: Lang,
) -> std::result::Result<Vec<u8>, XlsxError> {
    let t = |zh, en| lang.tr(zh, en);
    let mut wb = Workbook::new();
    // A fixed creation time keeps the file byte-identical run to run (the contract).
    let created = ExcelDateTime::from_ymd(2000, 1, 1)?;
    wb.set_properties(
        &DocProperties::new()
            .set_creation_datetime(&created)
            .set_title("drg-audit worklist"),
    );
    let bold = Format::new().set_bold().set_background_color("EEF1F5");
    let score = Format::new().set_num_format("0.00");
    let money = Format::new().set_num_format("#,##0");
    let pct = Format::new().set_num_format("0.0%");
    let small = Format::new().set_num_format("0.0000");

    let cols = [
        Col(t("排名", "Rank"), 7.0),
        Col("hospital_id", 12.0),
        Col(t("医院名称", "Hospital"), 24.0),
        Col(t("级别", "Level"), 6.0),
        Col(t("综合风险", "Risk score"), 10.0),
        Col(t("高套分组", "Upcoding"), 10.0),
        Col(t("冲点", "Point-chasing"), 10.0),
        Col(t("低倍率", "Low multiplier"), 10.0),
        Col(t("标记", "Flags"), 30.0),
        Col(t("超额点数", "Excess points"), 12.0),
        Col(t("疑似金额（元）", "Yuan at stake"), 14.0),
        Col(t("原因", "Reason"), 90.0),
    ];
    let ws = sheet(&mut wb, t("医院排名", "Hospitals"), &cols, &bold)?;
    for (i, r) in ranks.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_number(row, 0, r.rank as f64)?;
        ws.write_string(row, 1, &r.hospital_id)?;
        ws.write_string(row, 2, &r.hospital_name)?;
        ws.write_string(row, 3, &r.hospital_level)?;
        for (c, v) in [
            r.risk_score,
            r.upcoding_score,
            r.point_chasing_score,
            r.low_multiplier_score,
        ]
        .iter()
        .enumerate()
        {
            ws.write_number_with_format(row, 4 + c as u16, *v, &score)?;
        }
        ws.write_string(row, 8, &r.flags)?;
        ws.write_number_with_format(row, 9, r.est_excess_points, &money)?;
        ws.write_number_with_format(row, 10, r.est_excess_amount, &money)?;
        ws.write_string(row, 11, &r.reason)?;
    }
    finish(ws, ranks.len() as u32, cols.len())?;

    let cols = [
        Col("hospital_id", 12.0),
        Col(t("指标", "Indicator"), 26.0),
        Col(t("名称", "Name"), 30.0),
        Col(t("分子", "Observed"), 10.0),
        Col(t("分母", "Denominator"), 10.0),
        Col(t("比率", "Rate"), 9.0),
        Col(t("同级预期", "Expected rate"), 10.0),
        Col("O/E", 8.0),
        Col("z", 8.0),
        Col("q", 10.0),
        Col(t("同级百分位", "Peer percentile"), 10.0),
        Col(t("疑似金额（元）", "Yuan at stake"), 14.0),
        Col(t("标记", "Flagged"), 8.0),
        Col(t("说明", "Reason"), 90.0),
    ];
    let ws = sheet(&mut wb, t("发现", "Findings"), &cols, &bold)?;
    let rank_of = ranks_by_hospital(ctx, ranks);
    let mut order: Vec<&Finding> = findings.iter().collect();
    order.sort_by_key(|f| (rank_of[f.hospital as usize], f.indicator));
    for (i, f) in order.iter().enumerate() {
        let row = i as u32 + 1;
        let spec = registry[f.indicator].spec();
        ws.write_string(row, 0, &ctx.cases.hospitals[f.hospital as usize].id)?;
        ws.write_string(row, 1, f.code)?;
        ws.write_string(row, 2, lang.tr(spec.name_zh, spec.name_en))?;
        ws.write_number(row, 3, f.observed)?;
        ws.write_number(row, 4, f.n)?;
        ws.write_number_with_format(row, 5, f.observed / f.n, &pct)?;
        ws.write_number_with_format(row, 6, f.expected / f.n, &pct)?;
        ws.write_number_with_format(row, 7, f.ratio, &score)?;
        ws.write_number_with_format(row, 8, f.z, &score)?;
        ws.write_number_with_format(row, 9, f.q, &small)?;
        if f.peer_percentile.is_finite() {
            ws.write_number_with_format(row, 10, f.peer_percentile, &score)?;
        }
        ws.write_number_with_format(row, 11, if f.flagged { f.excess_yuan } else { 0.0 }, &money)?;
        ws.write_boolean(row, 12, f.flagged)?;
        ws.write_string(row, 13, finding_sentence(f, registry, lang))?;
    }
    finish(ws, order.len() as u32, cols.len())?;

    let cols = [
        Col("case_id", 16.0),
        Col("hospital_id", 12.0),
        Col(t("病组", "Group"), 10.0),
        Col(t("发现", "Findings"), 30.0),
        Col(t("涉及点数", "Points at stake"), 12.0),
        Col(t("涉及金额（元）", "Yuan at stake"), 14.0),
        Col(t("输入行号", "Input line"), 10.0),
        Col(t("原因", "Reason"), 90.0),
        Col(t("编码支持的严重程度", "Supported severity"), 12.0),
        Col(t("定级依赖编码", "Lever code"), 14.0),
    ];
    let ws = sheet(&mut wb, t("待核查病例", "Cases for review"), &cols, &bold)?;
    for (i, l) in leads.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, &l.case_id)?;
        ws.write_string(row, 1, &l.hospital_id)?;
        ws.write_string(row, 2, &l.group_code)?;
        ws.write_string(row, 3, &l.findings)?;
        ws.write_number_with_format(row, 4, l.points_at_stake, &score)?;
        ws.write_number_with_format(row, 5, l.yuan_at_stake, &money)?;
        ws.write_number(row, 6, l.input_line as f64)?;
        ws.write_string(row, 7, &l.reason)?;
        if let Some(s) = l.supported_severity {
            ws.write_number(row, 8, f64::from(s))?;
        }
        ws.write_string(row, 9, &l.lever_code)?;
    }
    finish(ws, leads.len() as u32, cols.len())?;

    drilldown_sheet(
        &mut wb, ctx, registry, ranks, findings, drilldowns, lang, &bold,
    )?;
    wb.save_to_buffer()
}

/// The "drill-down" sheet: per flagged finding, every department and physician with its
/// observed and expected counts (same per-case expectation as the hospital's indicator)
/// and its share of the excess — what a hospital's insurance office acts on. Without the
/// columns, one row says what drill-down needs.
#[allow(clippy::too_many_arguments)]
fn drilldown_sheet(
    wb: &mut Workbook,
    ctx: &Ctx,
    registry: &[Box<dyn Indicator>],
    ranks: &[HospitalRank],
    findings: &[Finding],
    drilldowns: &[Drilldown],
    lang: Lang,
    bold: &Format,
) -> std::result::Result<(), XlsxError> {
    let t = |zh, en| lang.tr(zh, en);
    let pct = Format::new().set_num_format("0.0%");
    let one = Format::new().set_num_format("0.0");
    let cols = [
        Col(t("排名", "Rank"), 7.0),
        Col("hospital_id", 12.0),
        Col(t("指标", "Indicator"), 26.0),
        Col(t("名称", "Name"), 30.0),
        Col(t("层级", "By"), 10.0),
        Col(t("科室或医师", "Department or physician"), 24.0),
        Col(t("病例", "Cases"), 9.0),
        Col(t("实际", "Observed"), 10.0),
        Col(t("预期", "Expected"), 10.0),
        Col(t("超额", "Excess"), 10.0),
        Col(t("超额占比", "Share of the excess"), 12.0),
    ];
    let ws = sheet(wb, t("科室医师下钻", "drill-down"), &cols, bold)?;
    if !ctx.cases.has("department") && !ctx.cases.has("physician_id") {
        ws.write_string(
            1,
            0,
            t(
                "下钻到科室和医师需要输入中的出院科别（department）和主诊医师代码（physician_id）列。",
                "Drill-down to departments and physicians needs the department and physician_id columns in the input.",
            ),
        )?;
        return finish(ws, 1, cols.len());
    }
    let rank_of = ranks_by_hospital(ctx, ranks);
    let mut order: Vec<&Drilldown> = drilldowns.iter().collect();
    order.sort_by_key(|d| {
        let f = &findings[d.finding];
        (rank_of[f.hospital as usize], f.indicator)
    });
    let mut row = 1u32;
    for d in order {
        let f = &findings[d.finding];
        let spec = registry[f.indicator].spec();
        let lead = |ws: &mut Worksheet, row: u32, by: &str| {
            ws.write_number(row, 0, rank_of[f.hospital as usize] as f64)?;
            ws.write_string(row, 1, &ctx.cases.hospitals[f.hospital as usize].id)?;
            ws.write_string(row, 2, f.code)?;
            ws.write_string(row, 3, lang.tr(spec.name_zh, spec.name_en))?;
            ws.write_string(row, 4, by)?;
            Ok::<(), XlsxError>(())
        };
        if !d.split {
            lead(ws, row, t("不拆分", "not split"))?;
            row += 1;
            continue;
        }
        let parts = [
            (
                t("科室", "department"),
                &d.departments,
                &ctx.cases.departments,
            ),
            (t("医师", "physician"), &d.physicians, &ctx.cases.physicians),
        ];
        for (by, shares, names) in parts {
            let Some(shares) = shares else { continue };
            for s in shares {
                lead(ws, row, by)?;
                let name = names
                    .get(s.key as usize)
                    .map_or(t("（未填写）", "(blank)"), String::as_str);
                ws.write_string(row, 5, name)?;
                ws.write_number(row, 6, s.n)?;
                ws.write_number_with_format(row, 7, s.o, &one)?;
                ws.write_number_with_format(row, 8, s.e, &one)?;
                ws.write_number_with_format(row, 9, s.excess(f.direction), &one)?;
                if s.share.is_finite() {
                    ws.write_number_with_format(row, 10, s.share, &pct)?;
                }
                row += 1;
            }
        }
    }
    finish(ws, row - 1, cols.len())
}
