//! The data-quality page of `report.html`: rows read / analysed / rejected, periods,
//! grouping coverage and the multiplier band mix per hospital level. Every value taken from
//! the input is HTML-escaped.

use std::fmt::Write;

use html_escape::encode_text as esc;

use super::summary::Summary;
use crate::ingest::Reject;

/// Renders the data-quality section as a self-contained HTML page (no network).
pub fn page(summary: &Summary, rejects: &[Reject]) -> String {
    let mut h = String::new();
    let r = &summary.rows;
    let _ = write!(
        h,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>drg-audit · 数据质量 Data quality</title>\
         <style>body{{font-family:system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:2em;max-width:70em;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}\
         th{{background:#f3f3f3}}td:first-child,th:first-child{{text-align:left}}.bar{{display:inline-block;height:.8em;background:#4a7bb7}}\
         .ok{{color:#2a7}}.bad{{color:#c33}}</style></head><body>\
         <h1>数据质量 · Data quality</h1><p>{} {}, {}</p>",
        summary.software,
        summary.version,
        esc(&summary.ingest.path.display().to_string())
    );
    let _ = write!(
        h,
        "<h2>行数核对 · Row reconciliation</h2><table><tr><th>读取 Read</th><th>分析 Analysed</th><th>剔除 Rejected</th><th>核对 Reconciles</th></tr>\
         <tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr></table>",
        r.read,
        r.analysed,
        r.rejected,
        if r.reconciles { "ok" } else { "bad" },
        if r.reconciles {
            "✓ 是 yes"
        } else {
            "✗ 否 no"
        }
    );
    let p = &summary.periods;
    let _ = write!(
        h,
        "<h2>结算期 · Periods</h2><table><tr><th>期间 Period</th><th>范围 Range</th><th>病例 Cases</th></tr>\
         <tr><td>审核期 Audited</td><td>{}</td><td>{}</td></tr>",
        esc(&p.audited.label),
        r.by_period.get("audited").copied().unwrap_or(0)
    );
    if let Some(b) = &p.baseline {
        let _ = write!(
            h,
            "<tr><td>基期 Baseline</td><td>{}</td><td>{}</td></tr>",
            esc(&b.label),
            r.by_period.get("baseline").copied().unwrap_or(0)
        );
    }
    let _ = write!(
        h,
        "<tr><td>期外 Outside</td><td>—</td><td>{}</td></tr></table><p>{}</p>",
        r.by_period.get("outside").copied().unwrap_or(0),
        esc(&p.chosen_by)
    );
    let c = &summary.catalogue;
    let _ = write!(
        h,
        "<h2>分组 · Grouping</h2><table><tr><th>目录 Catalogue</th><th>组数 Groups</th><th>使用 Used</th><th>覆盖率 Coverage</th></tr>\
         <tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}%</td></tr></table>",
        esc(&c.source),
        c.groups,
        c.groups_used,
        c.grouping_coverage * 100.0
    );
    let pv = &summary.point_value;
    let _ = write!(
        h,
        "<p>点值 Point value: <b>{:.4}</b> 元/点 yuan per point ({}), 总点数 total points {:.0}</p>",
        pv.yuan_per_point,
        esc(&pv.source),
        pv.total_points
    );
    h.push_str("<h2>倍率区间 · Multiplier bands by level (audited)</h2><table><tr><th>级别 Level</th><th>病例 Cases</th>");
    for b in ["低倍率 low", "正常 normal", "高倍率 high", "特病 extreme"] {
        let _ = write!(h, "<th>{b}</th>");
    }
    h.push_str("<th>低倍率占比 Low share</th></tr>");
    for m in &summary.band_mix {
        let _ = write!(h, "<tr><td>{}</td><td>{}</td>", esc(&m.level), m.cases);
        for b in ["low", "normal", "high", "extreme"] {
            let _ = write!(h, "<td>{}</td>", m.bands.get(b).copied().unwrap_or(0));
        }
        let low = m.bands.get("low").copied().unwrap_or(0) as f64 / m.cases.max(1) as f64;
        let _ = write!(
            h,
            "<td>{:.1}% <span class=\"bar\" style=\"width:{:.1}em\"></span></td></tr>",
            low * 100.0,
            low * 40.0
        );
    }
    h.push_str("</table>");
    if !rejects.is_empty() {
        h.push_str("<h2>剔除行 · Rejected rows (first 50; all in rejects.csv)</h2><table><tr><th>行 Line</th><th>case_id</th><th>列 Column</th><th>原因 Reason</th></tr>");
        for rj in rejects.iter().take(50) {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
                rj.line,
                esc(&rj.case_id),
                esc(&rj.column),
                esc(&rj.reason)
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</body></html>\n");
    h
}
