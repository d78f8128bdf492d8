//! The first screen of `report.html`: the leads that matter, as cards — who, what in one
//! sentence, how much money, how sure, and the one small chart that shows it — and the short
//! reasons of the ranked table (the full reason one click away in a `<details>`).
//!
//! A lead card is a hospital whose rank is set by a *flagged* scored finding; a region where
//! no hospital is flagged says so plainly on its first screen, so an honest region looks
//! clean.

use std::fmt::Write;

use super::page::{esc, num, safe_stem};
use super::{Lang, ReportInput};
use crate::compare::Finding;
use crate::indicators::Tail;
use crate::rank::HospitalRank;

/// At most this many lead cards open the report.
pub const MAX_CARDS: usize = 6;

/// The finding a card leads with: the hospital's strongest flagged scored finding.
pub fn lead_finding<'a>(input: &'a ReportInput, r: &HospitalRank) -> Option<&'a Finding> {
    input
        .audit
        .findings
        .iter()
        .filter(|f| f.hospital == r.hospital && f.flagged && f.scored)
        .max_by(|a, b| a.evidence.total_cmp(&b.evidence).then(b.code.cmp(a.code)))
}

/// The hospitals that get a card, best lead first, with the finding each leads with.
pub fn leads<'a>(input: &'a ReportInput) -> Vec<(&'a HospitalRank, &'a Finding)> {
    input
        .audit
        .ranks
        .iter()
        .filter_map(|r| lead_finding(input, r).map(|f| (r, f)))
        .take(MAX_CARDS)
        .collect()
}

/// The lead cards, or the plain sentence that no hospital is flagged.
pub fn section(input: &ReportInput) -> String {
    let lang = input.lang;
    let t = |zh, en| lang.tr(zh, en);
    let q = input.ctx.config.detect.fdr_q;
    let mut h = String::new();
    let leads = leads(input);
    let _ = write!(
        h,
        "<h2 id=\"leads\">{}</h2>",
        t("优先检查的线索", "Leads to inspect first")
    );
    if leads.is_empty() {
        let _ = write!(
            h,
            "<p class=\"clean\">{}</p>",
            esc(&match lang {
                Lang::Zh => format!(
                    "在 q ≤ {q} 下没有医院被标记：本期没有需要优先检查的线索。下表按最强信号排序，仅供参考。"
                ),
                Lang::En => format!(
                    "No hospital flagged at q ≤ {q}: nothing to inspect first this period. The table below is ordered by the strongest signal, for reference only."
                ),
            })
        );
        return h;
    }
    let flagged_total = input
        .audit
        .ranks
        .iter()
        .filter(|r| lead_finding(input, r).is_some())
        .count();
    let _ = write!(
        h,
        "<p class=\"muted\">{}</p><div class=\"leads\">",
        esc(&match lang {
            Lang::Zh => format!(
                "{flagged_total} 家医院至少有一项计分发现在 q ≤ {q} 下被标记；以下为排名最前的 {} 家。",
                leads.len()
            ),
            Lang::En => format!(
                "{flagged_total} hospitals have at least one scored finding flagged at q ≤ {q}; the first {} by rank:",
                leads.len()
            ),
        })
    );
    for (r, f) in leads {
        h.push_str(&card(input, r, f));
    }
    h.push_str("</div>");
    h
}

fn card(input: &ReportInput, r: &HospitalRank, f: &Finding) -> String {
    let lang = input.lang;
    let t = |zh, en| lang.tr(zh, en);
    let spec = input.registry[f.indicator].spec();
    let name = if r.hospital_name.is_empty() {
        r.hospital_id.clone()
    } else {
        r.hospital_name.clone()
    };
    let level = match (lang, r.hospital_level.as_str()) {
        (_, "") => t("级别未知", "level unknown").to_string(),
        (Lang::Zh, "1") => "一级".into(),
        (Lang::Zh, "2") => "二级".into(),
        (Lang::Zh, "3") => "三级".into(),
        (Lang::Zh, l) => format!("{l}级"),
        (Lang::En, l) => format!("level {l}"),
    };
    let flagged = input
        .audit
        .findings
        .iter()
        .filter(|g| g.hospital == r.hospital && g.flagged)
        .count();
    let mut h = String::new();
    let _ = write!(
        h,
        "<article class=\"lead\"><h3><span class=\"rank\">#{}</span> <a href=\"hospitals/{}.html\">{}</a></h3>\
         <p class=\"muted who\">{} · {} · {} {}</p>",
        r.rank,
        esc(&safe_stem(&r.hospital_id)),
        esc(&name),
        esc(&r.hospital_id),
        esc(&level),
        num(r.audited_cases as f64, 0),
        t("例审核期病例", "audited stays")
    );
    let _ = write!(
        h,
        "<p class=\"what\">{}</p>",
        esc(&one_sentence(f, spec, lang))
    );
    // Money: the hospital's total, with the leading finding's 90 % interval when it has one.
    let pv = input.ctx.derived.point_value.yuan_per_point;
    let (lo, hi) = f.excess_points_interval;
    let interval = if crate::rank::carries_money(f) && lo.is_finite() && hi.is_finite() && hi > lo {
        format!(
            " <span class=\"muted\">{} ¥{}–¥{}</span>",
            t("主要发现 90% 区间", "leading finding, 90 % interval"),
            num(lo * pv, 0),
            num(hi * pv, 0)
        )
    } else {
        String::new()
    };
    let (sure_zh, sure_en) = if f.q <= 0.001 {
        ("很强", "very strong")
    } else if f.q <= 0.01 {
        ("强", "strong")
    } else {
        ("中等", "moderate")
    };
    let _ = write!(
        h,
        "<dl class=\"facts\"><div><dt>{}</dt><dd>¥{}{interval}</dd></div><div><dt>{}</dt><dd>{} · q {} · {}</dd></div></dl>",
        t("疑似涉及金额", "Money at stake"),
        num(r.est_excess_amount, 0),
        t("把握", "How sure"),
        t(sure_zh, sure_en),
        q_text(f.q),
        esc(&match lang {
            Lang::Zh => format!("共 {flagged} 项发现被标记"),
            Lang::En => format!(
                "{flagged} flagged finding{}",
                if flagged == 1 { "" } else { "s" }
            ),
        })
    );
    h.push_str(&strip(input, f));
    let _ = write!(h, "<p class=\"full\">{}</p></article>", esc(&r.reason));
    h
}

/// What the finding says, in one sentence without the statistics.
fn one_sentence(f: &Finding, spec: &crate::indicators::IndicatorSpec, lang: Lang) -> String {
    let name = lang.tr(spec.name_zh, spec.name_en);
    let share = |x: f64| if f.n > 0.0 { 100.0 * x / f.n } else { 0.0 };
    if f.tail == Tail::ChiSquare || f.code == "UPC_WEIGHT_INDEX" || f.n <= 0.0 {
        return match lang {
            Lang::Zh => format!(
                "{name}：本院 {:.1}，同级医院同病例组合预期 {:.1}（O/E {:.2}）。",
                f.observed, f.expected, f.ratio
            ),
            Lang::En => format!(
                "{name}: {:.1} against {:.1} expected from same-level peers for the same case mix (O/E {:.2}).",
                f.observed, f.expected, f.ratio
            ),
        };
    }
    // A rare event's expected share needs more digits than 0.0 %.
    let pct = |x: f64| {
        let v = share(x);
        if v > 0.0 && v < 1.0 {
            format!("{v:.2}%")
        } else {
            format!("{v:.1}%")
        }
    };
    match lang {
        Lang::Zh => format!(
            "{name}：{:.0}/{:.0} 例（{}），同级医院同病例组合预期 {:.1} 例（{}），O/E {:.2}。",
            f.observed,
            f.n,
            pct(f.observed),
            f.expected,
            pct(f.expected),
            f.ratio
        ),
        Lang::En => format!(
            "{name}: {:.0} of {:.0} stays ({}) against {:.1} ({}) expected from same-level peers for the same case mix, O/E {:.2}.",
            f.observed,
            f.n,
            pct(f.observed),
            f.expected,
            pct(f.expected),
            f.ratio
        ),
    }
}

fn q_text(q: f64) -> String {
    if !q.is_finite() {
        "—".into()
    } else if q < 1e-3 {
        format!("{q:.1e}")
    } else {
        format!("{q:.3}")
    }
}

/// The short reason of the ranked table, with the full reason one click away.
pub fn short_reason(input: &ReportInput, r: &HospitalRank) -> String {
    let lang = input.lang;
    let short = match lead_finding(input, r) {
        Some(f) => {
            let spec = input.registry[f.indicator].spec();
            let others = input
                .audit
                .findings
                .iter()
                .filter(|g| g.hospital == r.hospital && g.flagged && g.code != f.code)
                .count();
            let more = match (lang, others) {
                (_, 0) => String::new(),
                (Lang::Zh, n) => format!("；另 {n} 项"),
                (Lang::En, n) => format!("; +{n} more"),
            };
            match lang {
                Lang::Zh => format!(
                    "{}：O/E {:.2}，q {}{more}",
                    spec.name_zh,
                    f.ratio,
                    q_text(f.q)
                ),
                Lang::En => format!(
                    "{}: O/E {:.2}, q {}{more}",
                    spec.name_en,
                    f.ratio,
                    q_text(f.q)
                ),
            }
        }
        None => lang.tr("未标记", "not flagged").to_string(),
    };
    format!(
        "<details><summary>{}</summary><span class=\"reason\">{}</span></details>",
        esc(&short),
        esc(&r.reason)
    )
}

/// A small strip chart: every tested hospital's O/E on the finding's indicator (log scale),
/// this hospital in the accent colour, the line at O/E = 1.
fn strip(input: &ReportInput, f: &Finding) -> String {
    let lang = input.lang;
    let mut others: Vec<f64> = input
        .audit
        .findings
        .iter()
        .filter(|g| g.indicator == f.indicator && g.expected > 0.0 && g.ratio.is_finite())
        .filter(|g| g.hospital != f.hospital)
        .map(|g| g.ratio)
        .collect();
    others.sort_by(f64::total_cmp);
    let positive = others
        .iter()
        .chain(std::iter::once(&f.ratio))
        .copied()
        .filter(|v| *v > 0.0);
    let lo = positive.clone().fold(1.0, f64::min).min(0.5) / 1.25;
    let hi = positive.fold(1.0, f64::max).max(2.0) * 1.25;
    let (w, left, right) = (320.0, 12.0, 308.0);
    let x = |v: f64| {
        let v = v.max(lo);
        left + (right - left) * (v.ln() - lo.ln()) / (hi.ln() - lo.ln())
    };
    let title = match lang {
        Lang::Zh => format!("{} · 各医院 O/E（对数刻度）", f.code),
        Lang::En => format!("{} · every hospital's O/E (log scale)", f.code),
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"mini\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} 74\" role=\"img\" aria-label=\"{}\">\
         <text x=\"{left}\" y=\"11\" font-size=\"11\" fill=\"#1d2330\">{}</text>\
         <rect x=\"{left}\" y=\"26\" width=\"{:.1}\" height=\"26\" fill=\"#f7f8fa\"/>\
         <line x1=\"{:.1}\" y1=\"22\" x2=\"{:.1}\" y2=\"56\" stroke=\"#1d2330\" stroke-dasharray=\"3 2\"/>",
        esc(&title),
        esc(&title),
        right - left,
        x(1.0),
        x(1.0)
    );
    for v in &others {
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"39\" r=\"3\" fill=\"#8a94a6\" fill-opacity=\".6\"/>",
            x(*v)
        );
    }
    let _ = write!(
        s,
        "<circle cx=\"{:.1}\" cy=\"39\" r=\"6\" fill=\"#d55e00\" stroke=\"#1d2330\"/>",
        x(f.ratio)
    );
    for (v, anchor) in [(lo * 1.25, "start"), (1.0, "middle"), (hi / 1.25, "end")] {
        // An end tick crowding the "1" tick is left out.
        if v != 1.0 && (x(v) - x(1.0)).abs() < 34.0 {
            continue;
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"68\" font-size=\"10\" fill=\"#667085\" text-anchor=\"{anchor}\">{}</text>",
            x(v),
            tick(v)
        );
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"24\" font-size=\"10\" fill=\"#b3261e\" text-anchor=\"{}\">{} {:.2}</text></svg>",
        x(f.ratio),
        if x(f.ratio) > w / 2.0 { "end" } else { "start" },
        lang.tr("本院", "this hospital"),
        f.ratio
    );
    s
}

/// A tick label: two significant decimals below 1, one below 10, none above.
fn tick(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
