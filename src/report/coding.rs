//! The "coding" section of a hospital page and of `check.html` (issue 11): the codes the
//! hospital's CC/MCC claims rest on alone (`UPC_LEVER_CODE`, against the peers' use for the
//! same ADRGs) and the cases whose own codes do not support the claimed severity, with the
//! code that carries the claim — what a coder re-checks before submission.

use std::fmt::Write;

use super::page::{Cell, esc, table};
use crate::compare::LeverRow;
use crate::config::Scheme;
use crate::derive::coding::NOT_CHECKED;
use crate::indicators::Ctx;
use crate::ingest::NONE_U32;
use crate::lang::Lang;

/// Lever codes shown per hospital (all pairs are in `lever_codes.csv`).
const SHOWN_LEVERS: usize = 10;
/// Unsupported claims shown per hospital (all are in `cases_for_review.csv` when flagged).
const SHOWN_UNSUPPORTED: usize = 50;

/// The section for hospital `h`, whose audited cases are `cases` (one pass over the region
/// gives every hospital's, [`crate::region::Region::audited_by_hospital`]: a page must not
/// scan the whole region); `levers` are the judged pairs (in `check`, the batch's, against
/// the model's lever table).
pub fn section(ctx: &Ctx, levers: &[LeverRow], h: u32, cases: &[usize], lang: Lang) -> String {
    let t = |zh, en| lang.tr(zh, en);
    let mut s = String::new();
    let _ = write!(s, "<h2>{}</h2>", t("编码核查", "Coding validation"));
    if ctx.config.scheme == Scheme::Dip {
        let _ = write!(
            s,
            "<p class=\"muted\">{}</p>",
            t(
                "DIP 病种不按 CC/MCC 细分：严重程度编码核查（无依据的严重程度、被排除的 CC、单一定级编码）不适用。",
                "DIP groups are not split by CC/MCC: the severity checks (unsupported severity, excluded CC, single lever code) do not apply."
            )
        );
        return s;
    }
    let checked = ctx
        .derived
        .coding
        .supported
        .iter()
        .any(|&v| v != NOT_CHECKED);
    if !checked {
        let _ = write!(
            s,
            "<p class=\"muted\">{}</p>",
            t(
                "数据无其他诊断编码（或无按 CC/MCC 细分的病组），无法按 CHS-DRG 1.1 规则核查严重程度。",
                "The data lists no secondary diagnoses (or no group is split by CC/MCC): severity cannot be checked against the CHS-DRG 1.1 rules."
            )
        );
        return s;
    }
    s.push_str(&lever_table(ctx, levers, h, cases, lang));
    s.push_str(&unsupported_table(ctx, cases, lang));
    s
}

fn code_cell(ctx: &Ctx, k: u32) -> Cell {
    let code = &ctx.cases.codes.codes[k as usize];
    match crate::reference::code_name(code) {
        Some(name) => Cell::Text(format!("{code} {name}")),
        None => Cell::Text(code.clone()),
    }
}

fn lever_table(ctx: &Ctx, levers: &[LeverRow], h: u32, cases: &[usize], lang: Lang) -> String {
    let t = |zh, en| lang.tr(zh, en);
    let mut s = String::new();
    let _ = write!(
        s,
        "<h3>{}</h3><p class=\"muted\">{}</p>",
        t(
            "单一定级编码（UPC_LEVER_CODE）",
            "Single lever codes (UPC_LEVER_CODE)"
        ),
        t(
            "本院 CC/MCC 病组中仅凭该一个编码达到所报严重程度的病例数，与同级医院在相同 ADRG 中的使用率（本院除外）相比；q 为全区所有（医院，编码）组合的 BH q 值。",
            "Claims whose severity rests on this one code alone, against same-level peers' use of it in the same ADRGs (this hospital left out); q is the Benjamini–Hochberg q across every (hospital, code) pair of the region."
        )
    );
    let own: Vec<&LeverRow> = levers
        .iter()
        .filter(|l| l.hospital == h && l.observed > 0.0)
        .take(SHOWN_LEVERS)
        .collect();
    if !own.is_empty() {
        let rows: Vec<Vec<Cell>> = own
            .iter()
            .map(|l| {
                vec![
                    code_cell(ctx, l.code),
                    Cell::Num(l.observed, 0),
                    Cell::Num(l.expected, 1),
                    Cell::Num(l.ratio, 2),
                    Cell::Prob(l.q),
                    Cell::Num(l.excess_yuan, 0),
                    Cell::Html(if l.flagged {
                        format!("<span class=\"flag\">{}</span>", t("标记", "flagged"))
                    } else {
                        String::new()
                    }),
                ]
            })
            .collect();
        s.push_str(&table(
            &[
                t("编码", "Code"),
                t("病例", "Claims"),
                t("同级预期", "Peers' expected"),
                "O/E",
                "q",
                t("超额金额（元）", "Excess yuan"),
                "",
            ],
            &rows,
        ));
        return s;
    }
    // No judged pair of this hospital: no lever at all, or no peer claims in its ADRGs (in
    // `check`, none published: cells too small, or a model without coding data).
    let mut counts: Vec<(u32, u32)> = Vec::new();
    for &i in cases {
        let k = ctx.derived.coding.lever[i];
        if k == NONE_U32 {
            continue;
        }
        match counts.iter_mut().find(|(c, _)| *c == k) {
            Some(e) => e.1 += 1,
            None => counts.push((k, 1)),
        }
    }
    let text = |k: u32| ctx.cases.codes.codes[k as usize].as_str();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| text(a.0).cmp(text(b.0))));
    if counts.is_empty() {
        let _ = write!(
            s,
            "<p>{}</p>",
            t(
                "没有仅凭单一编码定级的病例。",
                "No claim rests on a single code."
            )
        );
        return s;
    }
    if ctx.peers.lever_table().is_some() {
        let _ = write!(
            s,
            "<p class=\"muted\">{}</p>",
            t(
                "区域模型未公布本院 ADRG 中同级的编码使用（单元过小被隐去，或模型无编码数据）：下表只列本院自身计数。",
                "The regional model publishes no peer use of codes in this hospital's ADRGs (cells too small to publish, or a model without coding data): the table lists this hospital's own counts."
            )
        );
    }
    let rows: Vec<Vec<Cell>> = counts
        .iter()
        .take(SHOWN_LEVERS)
        .map(|&(k, n)| vec![code_cell(ctx, k), Cell::Num(f64::from(n), 0)])
        .collect();
    s.push_str(&table(&[t("编码", "Code"), t("病例", "Claims")], &rows));
    s
}

/// The code that would carry claimed severity `claimed` of case `i` if the main diagnosis
/// did not exclude it (an unsupported claim's excluded CC/MCC), if any.
fn excluded_carrier(ctx: &Ctx, i: usize, claimed: u8) -> Option<u32> {
    ctx.cases.secondary.of(i).iter().copied().find(|&k| {
        let f = crate::reference::cc_flags(&ctx.cases.codes.codes[k as usize]);
        f.cc && (claimed != 1 || f.mcc)
    })
}

fn unsupported_table(ctx: &Ctx, own: &[usize], lang: Lang) -> String {
    let t = |zh, en| lang.tr(zh, en);
    let mut s = String::new();
    let mut cases: Vec<(usize, f64)> = own
        .iter()
        .copied()
        .filter(|&i| {
            ctx.derived.coding.supported[i] != NOT_CHECKED
                && ctx.derived.coding.supported[i] > ctx.derived.severity[i]
        })
        .map(|i| (i, ctx.coding_stake(i)))
        .collect();
    let total = cases.len();
    let _ = write!(
        s,
        "<h3>{} ({})</h3>",
        t(
            "编码不支持所报严重程度的病例",
            "Claims the codes do not support"
        ),
        total
    );
    if cases.is_empty() {
        let _ = write!(
            s,
            "<p>{}</p>",
            t(
                "所有已核查病例的编码都支持其所报严重程度。",
                "Every checked claim is supported by its codes."
            )
        );
        return s;
    }
    cases.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| ctx.cases.case_id.get(a.0).cmp(ctx.cases.case_id.get(b.0)))
    });
    let yuan = ctx.derived.point_value.yuan_per_point;
    let rows: Vec<Vec<Cell>> = cases
        .iter()
        .take(SHOWN_UNSUPPORTED)
        .map(|&(i, stake)| {
            let claimed = ctx.derived.severity[i];
            let carrier = match excluded_carrier(ctx, i, claimed) {
                Some(k) => {
                    let code = &ctx.cases.codes.codes[k as usize];
                    lang.tr(
                        &format!("{code}（被主诊断的排除表排除）"),
                        &format!("{code} (excluded by the main diagnosis's table)"),
                    )
                    .to_string()
                }
                None => t("无 CC/MCC 编码", "no CC/MCC code").to_string(),
            };
            vec![
                Cell::Text(ctx.cases.case_id.get(i).to_string()),
                Cell::Text(ctx.catalog.groups[ctx.cases.group[i] as usize].code.clone()),
                Cell::Num(f64::from(claimed), 0),
                Cell::Num(f64::from(ctx.derived.coding.supported[i]), 0),
                Cell::Text(carrier),
                Cell::Num(stake * yuan, 0),
            ]
        })
        .collect();
    s.push_str(&table(
        &[
            "case_id",
            t("病组", "Group"),
            t("所报严重程度", "Claimed severity"),
            t("编码支持", "Supported"),
            t("所依据的编码", "Code carrying the claim"),
            t("涉及金额（元）", "Yuan at stake"),
        ],
        &rows,
    ));
    if total > SHOWN_UNSUPPORTED {
        let _ = write!(
            s,
            "<p class=\"muted\">{}</p>",
            esc(lang.tr(
                &format!("仅列涉及金额最大的 {SHOWN_UNSUPPORTED} 例。"),
                &format!("The {SHOWN_UNSUPPORTED} with the most yuan at stake are listed."),
            ))
        );
    }
    s
}
