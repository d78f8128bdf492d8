//! The data-quality section of `report.html`: rows read / analysed / rejected, periods,
//! grouping coverage, the multiplier band mix per hospital level, and the readmission links
//! (overlapping stays, where the planned-readmission flag sits). Every value taken from the
//! input is HTML-escaped.

use std::fmt::Write;

use super::summary::Summary;
use crate::ingest::Reject;
use crate::lang::Lang;
use crate::report::page::{Cell, esc, num, table};

/// Rejected rows shown on the page (all of them are in `rejects.csv`).
const SHOWN_REJECTS: usize = 50;

/// Hospitals shown per readmission table (all of them are in `summary.json`).
const SHOWN_HOSPITALS: usize = 20;

/// Renders the data-quality section (an HTML fragment).
pub fn section(summary: &Summary, rejects: &[Reject], lang: Lang) -> String {
    let t = |zh, en| lang.tr(zh, en);
    let r = &summary.rows;
    let mut h = String::new();
    let _ = write!(h, "<h2>{}</h2>", t("数据质量", "Data quality"));
    let _ = write!(
        h,
        "<p>{} {}</p>",
        t("输入文件", "Input"),
        esc(&summary.ingest.path.display().to_string())
    );
    for st in &summary.ingest.sub_tables {
        let _ = write!(
            h,
            "<p>{} {}: {} {}, {} {}, {} {}</p>",
            if st.role == "diagnoses" {
                t("诊断表", "Diagnoses")
            } else {
                t("手术操作表", "Procedures")
            },
            esc(&st.path.display().to_string()),
            num(st.rows_read as f64, 0),
            t("行", "rows"),
            num(st.rows_joined as f64, 0),
            t("行已关联", "joined"),
            num(st.rows_rejected as f64, 0),
            t("行剔除", "rejected"),
        );
    }
    h.push_str(&table(
        &[
            t("读取行", "Rows read"),
            t("分析行", "Analysed"),
            t("剔除行", "Rejected"),
            t("其中无权重（不可分组）", "of which ungroupable (no weight)"),
            t("核对", "Reconciles"),
        ],
        &[vec![
            Cell::Num(r.read as f64, 0),
            Cell::Num(r.analysed as f64, 0),
            Cell::Num(r.rejected as f64, 0),
            Cell::Num(r.ungroupable as f64, 0),
            Cell::Text(
                if r.reconciles {
                    t("✓ 一致", "✓ yes")
                } else {
                    t("✗ 不一致", "✗ no")
                }
                .into(),
            ),
        ]],
    ));
    let p = &summary.periods;
    let count = |k: &str| r.by_period.get(k).copied().unwrap_or(0) as f64;
    let mut rows = vec![vec![
        Cell::Text(t("审核期", "Audited").into()),
        Cell::Text(p.audited.label.clone()),
        Cell::Num(count("audited"), 0),
    ]];
    if let Some(b) = &p.baseline {
        rows.push(vec![
            Cell::Text(t("基期", "Baseline").into()),
            Cell::Text(b.label.clone()),
            Cell::Num(count("baseline"), 0),
        ]);
    }
    rows.push(vec![
        Cell::Text(t("期外（未分析）", "Outside (not analysed)").into()),
        Cell::Text("—".into()),
        Cell::Num(count("outside"), 0),
    ]);
    h.push_str(&table(
        &[t("期间", "Period"), t("范围", "Range"), t("病例", "Stays")],
        &rows,
    ));
    let c = &summary.catalogue;
    h.push_str(&table(
        &[
            t("分组目录", "Catalogue"),
            t("组数", "Groups"),
            t("使用组数", "Groups used"),
            t("分组覆盖率", "Grouping coverage"),
        ],
        &[vec![
            Cell::Text(c.source.clone()),
            Cell::Num(c.groups as f64, 0),
            Cell::Num(c.groups_used as f64, 0),
            Cell::Pct(c.grouping_coverage),
        ]],
    ));
    let headers = [
        t("级别", "Level"),
        t("病例", "Stays"),
        t("低倍率", "Low"),
        t("正常", "Normal"),
        t("高倍率", "High"),
        t("特病单议", "Extreme"),
        t("低倍率占比", "Low share"),
    ];
    let rows: Vec<Vec<Cell>> = summary
        .band_mix
        .iter()
        .map(|m| {
            let b = |k: &str| m.bands.get(k).copied().unwrap_or(0) as f64;
            vec![
                Cell::Text(level_words(&m.level, lang)),
                Cell::Num(m.cases as f64, 0),
                Cell::Num(b("low"), 0),
                Cell::Num(b("normal"), 0),
                Cell::Num(b("high"), 0),
                Cell::Num(b("extreme"), 0),
                Cell::Pct(b("low") / (m.cases.max(1) as f64)),
            ]
        })
        .collect();
    let _ = write!(
        h,
        "<h3>{}</h3>",
        t(
            "审核期倍率区间（按医院级别）",
            "Multiplier bands by hospital level (audited)"
        )
    );
    h.push_str(&table(&headers, &rows));
    h.push_str(&readmissions(summary, lang));
    if !rejects.is_empty() {
        let _ = write!(
            h,
            "<h3>{} ({} {})</h3>",
            t("剔除行", "Rejected rows"),
            num(rejects.len().min(SHOWN_REJECTS) as f64, 0),
            t("条，全部见 rejects.csv", "shown; all in rejects.csv")
        );
        let rows: Vec<Vec<Cell>> = rejects
            .iter()
            .take(SHOWN_REJECTS)
            .map(|rj| {
                vec![
                    Cell::Text(rj.file.clone()),
                    Cell::Num(rj.line as f64, 0),
                    Cell::Text(rj.case_id.clone()),
                    Cell::Text(rj.column.clone()),
                    Cell::Text(rj.reason.clone()),
                ]
            })
            .collect();
        h.push_str(&table(
            &[
                t("文件", "File"),
                t("行号", "Line"),
                "case_id",
                t("列", "Column"),
                t("原因", "Reason"),
            ],
            &rows,
        ));
    }
    h
}

/// Readmission links: counts, overlapping stays by hospital, planned flags outside
/// treatment cycles by hospital.
fn readmissions(summary: &Summary, lang: Lang) -> String {
    let t = |zh, en| lang.tr(zh, en);
    let q = &summary.readmissions;
    let f = &q.planned_flag;
    let mut h = String::new();
    let _ = write!(
        h,
        "<h3>{}</h3>",
        t(
            "再住院关联（审核期，同一医院）",
            "Readmission links (audited, same hospital)"
        )
    );
    h.push_str(&table(
        &[
            t("窗口（天）", "Window (days)"),
            t("非计划再住院", "Unplanned readmissions"),
            t(
                "计划再住院（前次出院已标记）",
                "Planned (flag at the earlier discharge)",
            ),
            t("住院时间重叠", "Overlapping stays"),
            t("其中同一医院", "of which same hospital"),
            t("计划再住院标志", "Planned flags"),
            t("其中非放化疗", "of which outside chemo/radiotherapy"),
        ],
        &[vec![
            Cell::Num(q.window_days as f64, 0),
            Cell::Num(q.unplanned as f64, 0),
            Cell::Num(q.planned as f64, 0),
            Cell::Num(q.overlapping_stays as f64, 0),
            Cell::Num(q.overlapping_same_hospital as f64, 0),
            if f.column {
                Cell::Num(f.flagged_stays as f64, 0)
            } else {
                Cell::Text(t("无此列", "no column").into())
            },
            Cell::Num(f.outside_treatment_cycles as f64, 0),
        ]],
    ));
    let _ = write!(
        h,
        "<p class=\"muted\">{}</p>",
        t(
            "入院早于同一患者前次住院出院的病例记为重叠（数据错误，或同一患者同时被两家医院结算），不计入再住院指标。计划再住院标志以前次出院时的记录为准；标志占比与同级医院按病组族比较见 PC_PLANNED_FLAG。",
            "A stay admitted before the discharge of the same patient's earlier stay is an overlap (a data error, or two claims for one patient at once) and is left out of the readmission indicators. The planned-readmission flag counts on the earlier discharge; its share against same-level peers by family is PC_PLANNED_FLAG."
        )
    );
    if !q.overlaps_by_hospital.is_empty() {
        let rows: Vec<Vec<Cell>> = q
            .overlaps_by_hospital
            .iter()
            .take(SHOWN_HOSPITALS)
            .map(|o| {
                vec![
                    Cell::Text(o.hospital_id.clone()),
                    Cell::Num(o.stays as f64, 0),
                    Cell::Num(o.same_hospital as f64, 0),
                ]
            })
            .collect();
        let _ = write!(
            h,
            "<h3>{} ({} / {})</h3>",
            t("住院时间重叠，按医院", "Overlapping stays by hospital"),
            num(rows.len() as f64, 0),
            num(q.overlaps_by_hospital.len() as f64, 0)
        );
        h.push_str(&table(
            &[
                t("医院", "Hospital"),
                t("重叠病例", "Overlapping stays"),
                t("与本院住院重叠", "Overlapping its own stay"),
            ],
            &rows,
        ));
    }
    if !f.by_hospital.is_empty() {
        let rows: Vec<Vec<Cell>> = f
            .by_hospital
            .iter()
            .take(SHOWN_HOSPITALS)
            .map(|p| {
                vec![
                    Cell::Text(p.hospital_id.clone()),
                    Cell::Num(p.stays as f64, 0),
                    Cell::Num(p.flagged as f64, 0),
                    Cell::Num(p.outside_treatment_cycles as f64, 0),
                    Cell::Num(p.readmissions_excused as f64, 0),
                ]
            })
            .collect();
        let _ = write!(
            h,
            "<h3>{} ({} / {})</h3>",
            t(
                "非放化疗病例上的计划再住院标志，按医院",
                "Planned flags outside chemotherapy/radiotherapy, by hospital"
            ),
            num(rows.len() as f64, 0),
            num(f.by_hospital.len() as f64, 0)
        );
        h.push_str(&table(
            &[
                t("医院", "Hospital"),
                t("病例", "Stays"),
                t("标志", "Flagged"),
                t("非放化疗", "Outside treatment cycles"),
                t("被豁免的再住院", "Readmissions excused"),
            ],
            &rows,
        ));
    }
    h
}

/// A band-mix level ("level 2", "unknown level", as `summary.json` spells it) in `lang`.
fn level_words(level: &str, lang: Lang) -> String {
    match (lang, level.strip_prefix("level ")) {
        (Lang::En, _) => level.to_string(),
        (Lang::Zh, Some("1")) => "一级".into(),
        (Lang::Zh, Some("2")) => "二级".into(),
        (Lang::Zh, Some("3")) => "三级".into(),
        (Lang::Zh, Some(other)) => format!("{other}级"),
        (Lang::Zh, None) => "未知级别".into(),
    }
}
