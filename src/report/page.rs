//! HTML building blocks: the page shell (inline CSS, a few lines of inline JavaScript for
//! sorting tables, no network), escaped tables and number formatting.

use std::fmt::Write;

use super::Lang;
pub use crate::lang::num;

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).into_owned()
}

const CSS: &str = "body{font-family:system-ui,'Noto Sans CJK SC','WenQuanYi Micro Hei','Microsoft YaHei',sans-serif;margin:0;color:#1d2330;background:#fafafa}\
main{max-width:82em;margin:0 auto;padding:1.5em 2em;background:#fff}\
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;margin-top:1.6em;border-bottom:2px solid #e3e6ec;padding-bottom:.2em}\
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}td,th{border:1px solid #d6dae1;padding:.3em .55em;text-align:right;vertical-align:top}\
th{background:#eef1f5;cursor:pointer;white-space:nowrap}td.t,th.t{text-align:left}tr:nth-child(even) td{background:#f7f8fa}\
.flag{color:#b3261e;font-weight:600}.muted{color:#667085}.kpis{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}\
.kpi{border:1px solid #d6dae1;border-radius:6px;padding:.6em .9em;min-width:10em}.kpi b{display:block;font-size:1.35em}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto;border:1px solid #eef1f5}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(26em,1fr));gap:1em}\
.reason{max-width:40em}a{color:#1a56a6}nav{font-size:.9em;margin-bottom:.5em}\
.leads{display:grid;grid-template-columns:repeat(auto-fill,minmax(25em,1fr));gap:.9em;margin:.6em 0 1em}\
.lead{border:1px solid #d6dae1;border-left:5px solid #b3261e;border-radius:6px;padding:.6em .9em}\
.lead h3{margin:0;font-size:1.08em}.lead .rank{color:#b3261e}.lead p{margin:.25em 0}.lead .who{font-size:.85em}\
.lead dl{display:flex;flex-wrap:wrap;gap:.3em 1.4em;margin:.4em 0}.lead dt{color:#667085;font-size:.8em}.lead dd{margin:0;font-weight:600}.lead dd .muted{font-weight:400}\
.lead .full{display:none}svg.mini{display:block;width:100%;max-width:24em;height:auto}\
.clean{border:1px solid #9bd3ae;background:#eefaf1;border-radius:6px;padding:.8em 1em;font-size:1.1em}\
td details{max-width:40em}td summary{cursor:pointer}td details .reason{display:block;margin-top:.3em;color:#475467}\
figcaption{font-size:.85em;color:#667085;max-width:60em}\
@media print{@page{size:A4;margin:14mm 12mm}body{background:#fff;font-size:9.5pt}main{max-width:none;padding:0}\
nav,td summary::marker{display:none}h2{break-after:avoid}h2.ranked,h2.charts,h2.pb{break-before:page}\
table{width:100%;font-size:8pt}thead{display:table-header-group}tr,figure,.kpi,.lead,.clean{break-inside:avoid}\
td{overflow-wrap:anywhere}tr:nth-child(even) td,th{-webkit-print-color-adjust:exact;print-color-adjust:exact}\
.leads{display:block}.lead{margin:0 0 1em;border-left-width:3px}.lead+.lead{break-before:page}.lead .full{display:block;font-size:.9em}\
.grid{display:block}figure svg{max-height:120mm;width:auto;max-width:100%}a{color:inherit;text-decoration:none}}";

/// Click a header to sort its table (numbers numerically); no other script on the page.
const SORT_JS: &str = "document.querySelectorAll('table.sortable th').forEach(function(th,i){th.addEventListener('click',function(){\
var t=th.closest('table'),b=t.tBodies[0],r=Array.prototype.slice.call(b.rows),d=th.dataset.d==='a'?'d':'a';th.dataset.d=d;\
r.sort(function(x,y){var a=x.cells[i].dataset.v||x.cells[i].textContent,c=y.cells[i].dataset.v||y.cells[i].textContent,\
p=parseFloat(a),q=parseFloat(c),o=(!isNaN(p)&&!isNaN(q))?p-q:a.localeCompare(c);return d==='a'?o:-o;});\
r.forEach(function(x){b.appendChild(x);});});});";

/// A whole self-contained page.
pub fn document(lang: Lang, title: &str, body: &str) -> String {
    let code = match lang {
        Lang::Zh => "zh-CN",
        Lang::En => "en",
    };
    format!(
        "<!doctype html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body><main>{body}</main><script>{SORT_JS}</script></body></html>\n",
        esc(title)
    )
}

/// A table cell: escaped text, or a number with a sort value.
pub enum Cell {
    /// Text (escaped), left-aligned.
    Text(String),
    /// Pre-built HTML (a link or a mark) — only for markup this program builds.
    Html(String),
    /// A number shown with `digits` decimals.
    Num(f64, usize),
    /// A number shown as a percentage with one decimal.
    Pct(f64),
    /// A probability: 4 decimals, or scientific below 0.0001.
    Prob(f64),
}

/// A sortable table with escaped headers and cells.
pub fn table(headers: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut h = String::from("<table class=\"sortable\"><thead><tr>");
    for (i, head) in headers.iter().enumerate() {
        let class = if rows
            .first()
            .is_some_and(|r| matches!(r.get(i), Some(Cell::Text(_) | Cell::Html(_))))
        {
            " class=\"t\""
        } else {
            ""
        };
        let _ = write!(h, "<th{class}>{}</th>", esc(head));
    }
    h.push_str("</tr></thead><tbody>");
    for row in rows {
        h.push_str("<tr>");
        for c in row {
            match c {
                Cell::Text(s) => {
                    let _ = write!(h, "<td class=\"t\">{}</td>", esc(s));
                }
                Cell::Html(s) => {
                    let _ = write!(h, "<td class=\"t\">{s}</td>");
                }
                Cell::Num(v, d) => {
                    let _ = write!(h, "<td data-v=\"{v}\">{}</td>", num(*v, *d));
                }
                Cell::Pct(v) => {
                    let _ = write!(h, "<td data-v=\"{v}\">{}</td>", pct(*v));
                }
                Cell::Prob(v) => {
                    let shown = if !v.is_finite() {
                        "—".to_string()
                    } else if *v < 1e-4 {
                        format!("{v:.1e}")
                    } else {
                        format!("{v:.4}")
                    };
                    let _ = write!(h, "<td data-v=\"{v}\">{shown}</td>");
                }
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    h
}

/// A share as a percentage with one decimal.
pub fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", 100.0 * v)
    } else {
        "—".into()
    }
}

/// A file name stem that is safe on every file system whatever the hospital id holds:
/// ASCII letters, digits, `-` and `_` kept; anything else replaced, and then a short hash
/// of the original id appended so two ids never collide. The hash is appended too when the
/// id has a lower-case letter (`h1` and `H1` are one file on Windows and macOS disks) or is
/// a name Windows reserves (`CON`, `NUL`, `COM1`, …).
pub fn safe_stem(id: &str) -> String {
    let clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    let upper = clean.to_ascii_uppercase();
    let reserved = matches!(upper.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((upper.starts_with("COM") || upper.starts_with("LPT"))
            && upper.len() == 4
            && upper.as_bytes()[3].is_ascii_digit());
    if clean == id && !id.is_empty() && !reserved && !id.bytes().any(|b| b.is_ascii_lowercase()) {
        return clean;
    }
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(id.as_bytes());
    format!("{clean}-{:02x}{:02x}{:02x}{:02x}", h[0], h[1], h[2], h[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_group_thousands_and_keep_signs() {
        assert_eq!(num(1234567.891, 2), "1,234,567.89");
        assert_eq!(num(-1234.0, 0), "-1,234");
        assert_eq!(num(999.0, 0), "999");
        assert_eq!(num(f64::NAN, 1), "—");
        assert_eq!(pct(0.1234), "12.3%");
    }

    #[test]
    fn stems_are_safe_and_distinct() {
        assert_eq!(safe_stem("H001"), "H001");
        let a = safe_stem("../../x");
        assert!(!a.contains('/') && !a.contains('.'), "{a}");
        assert_ne!(safe_stem("a/b"), safe_stem("a_b"));
        assert_ne!(safe_stem("医院1"), safe_stem("医院2"));
    }

    /// Issue 13 item 10: reserved Windows names and ids differing only in case.
    #[test]
    fn page_names_are_safe_on_windows_and_case_insensitive_disks() {
        for reserved in ["CON", "nul", "Com1", "LPT9", "aux"] {
            let s = safe_stem(reserved);
            assert!(s.len() > reserved.len() && s.starts_with(reserved), "{s}");
        }
        assert_eq!(safe_stem("COM10"), "COM10");
        assert_ne!(
            safe_stem("h1").to_ascii_lowercase(),
            safe_stem("H1").to_ascii_lowercase()
        );
    }

    #[test]
    fn cells_and_headers_are_escaped() {
        let t = table(
            &["<b>"],
            &[vec![Cell::Text("<script>alert(1)</script>".into())]],
        );
        assert!(!t.contains("<script>") && t.contains("&lt;script&gt;"));
        assert!(t.contains("&lt;b&gt;"));
    }
}
