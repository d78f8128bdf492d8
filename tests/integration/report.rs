//! The report: escaping, file names that stay inside --out, the workbook, both languages, and
//! a real render in headless Chromium (installed by .ci/run).

use crate::common::*;
use std::path::Path;
use std::process::Command;

/// A small region where one hospital has a hostile name and id.
fn hostile_region(w: &Workdir) {
    w.write("groups.csv", GROUPS);
    let mut rows = valid_rows();
    for k in 0..30 {
        let cost = if k % 3 == 0 { 900 } else { 9000 };
        rows.push(format!(
            "X{k},../../x,<script>alert(1)</script>,2,Q{k},2024-04-01,2024-04-04,ES35,{cost}"
        ));
    }
    w.write("cases.csv", csv_of(HEADER, &rows));
}

#[test]
fn hostile_names_are_escaped_and_every_file_stays_inside_out() {
    let w = Workdir::new();
    hostile_region(&w);
    let o = w.run(&[
        "run",
        "--cases",
        "cases.csv",
        "--groups",
        "groups.csv",
        "--out",
        "out",
        "--lang",
        "en",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = std::fs::read_to_string(w.path("out/report.html")).unwrap();
    assert!(
        !report.contains("<script>alert(1)"),
        "raw script in report.html"
    );
    assert!(
        report.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped name shown"
    );
    // Exactly one script element: the table sorter.
    assert_eq!(report.matches("<script>").count(), 1);
    let pages: Vec<String> = std::fs::read_dir(w.path("out/hospitals"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(
        pages
            .iter()
            .all(|p| p.ends_with(".html") && !p.contains("..") && !p.contains('/')),
        "{pages:?}"
    );
    let hostile = pages
        .iter()
        .find(|p| p.starts_with("______x-"))
        .expect("sanitised page name");
    let page = std::fs::read_to_string(w.path(&format!("out/hospitals/{hostile}"))).unwrap();
    assert!(!page.contains("<script>alert(1)") && page.contains("&lt;script&gt;"));
    assert!(
        report.contains(&format!("hospitals/{hostile}")),
        "the table links to the safe page name"
    );
    // Nothing was written outside --out: the work folder holds only the inputs and out/.
    let mut top: Vec<String> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, vec!["cases.csv", "groups.csv", "out"]);
    assert!(!w.dir.path().parent().unwrap().join("x").exists());
    // The CSV keeps the name as data.
    let hospitals = std::fs::read_to_string(w.path("out/hospitals.csv")).unwrap();
    assert!(hospitals.contains("<script>alert(1)</script>"));
}

#[test]
fn both_languages_label_the_report_and_the_workbook_is_a_real_xlsx() {
    let w = Workdir::new();
    hostile_region(&w);
    for lang in ["zh", "en"] {
        let o = w.run(&[
            "run",
            "--cases",
            "cases.csv",
            "--groups",
            "groups.csv",
            "--out",
            lang,
            "--lang",
            lang,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let zh = std::fs::read_to_string(w.path("zh/report.html")).unwrap();
    let en = std::fs::read_to_string(w.path("en/report.html")).unwrap();
    assert!(zh.contains("医院排名") && zh.contains("lang=\"zh-CN\""));
    assert!(en.contains("Hospitals, inspect first at the top") && !en.contains("医院排名"));
    let xlsx = std::fs::read(w.path("en/audit_worklist.xlsx")).unwrap();
    assert_eq!(&xlsx[..2], b"PK", "an xlsx is a zip file");
    let a = std::fs::read(w.path("zh/audit_worklist.xlsx")).unwrap();
    let o = w.run(&[
        "run",
        "--cases",
        "cases.csv",
        "--groups",
        "groups.csv",
        "--out",
        "zh2",
        "--lang",
        "zh",
    ]);
    assert!(o.status.success());
    assert_eq!(
        a,
        std::fs::read(w.path("zh2/audit_worklist.xlsx")).unwrap(),
        "the workbook is byte-identical run to run"
    );
    assert_eq!(
        zh,
        std::fs::read_to_string(w.path("zh2/report.html")).unwrap(),
        "the report is byte-identical run to run"
    );
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// Renders a page headless: the DOM after scripts ran, a screenshot, and the browser's log.
fn render(browser: &str, page: &Path, shot: &Path, profile: &Path) -> (String, String) {
    let base = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ];
    let url = format!("file://{}", page.display());
    let dom = Command::new(browser)
        .args(base)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", &url])
        .output()
        .expect("chromium runs");
    let shot_run = Command::new(browser)
        .args(base)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args([
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,2400",
            &url,
        ])
        .output()
        .expect("chromium runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&dom.stderr),
        String::from_utf8_lossy(&shot_run.stderr)
    );
    (String::from_utf8_lossy(&dom.stdout).into_owned(), log)
}

#[test]
fn the_report_renders_in_headless_chromium_with_its_charts_and_no_console_errors() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium (.ci/run installs it)"
        );
        eprintln!("SKIPPED: no chromium on this machine (apt-get install chromium)");
        return;
    };
    let w = Workdir::new();
    let o = w.run(&generate_args("3", "3000", &[]));
    assert!(o.status.success());
    let o = w.run(&region_run_args("region/region.toml", "out", &[]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A funnel per indicator but the χ² divergence (it has no O/E), seven region charts
    // (issue 14.3 added the quarterly points per stay by level), and a mini chart per lead
    // card. A hospital page: three charts, and a quarterly trend per scored indicator the
    // hospital has eligible cases for (issue 14.3; at least the coding-free ones).
    let funnels = drg_audit::indicators::registry().len() - 1;
    let html = std::fs::read_to_string(w.path("out/report.html")).unwrap();
    let cards = html.matches("<article class=\"lead\">").count();
    assert!(cards >= 1, "the generated region has a lead card");
    let hospital = std::fs::read_to_string(w.path("out/hospitals/H001.html")).unwrap();
    let trends = hospital.matches("<div class=\"trend\"").count();
    assert!(trends >= 5, "{trends} quarterly trends on H001's page");
    for (page, charts) in [
        ("out/report.html", 7 + funnels + cards),
        ("out/hospitals/H001.html", 3 + trends),
    ] {
        let shot = w.path(&format!("{}.png", page.replace('/', "_")));
        let (dom, log) = render(browser, &w.path(page), &shot, &w.path("profile"));
        assert!(
            dom.contains("</main>"),
            "{page} loaded: {}",
            &dom[..dom.len().min(300)]
        );
        let svgs: Vec<&str> = dom.split("<svg").skip(1).collect();
        assert_eq!(svgs.len(), charts, "{page}: SVG charts");
        for svg in &svgs {
            let body = &svg[..svg.find("</svg>").expect("closed svg")];
            assert!(
                body.contains("<rect")
                    || body.contains("<path")
                    || body.contains("<circle")
                    || body.contains("<polyline"),
                "{page}: an empty chart"
            );
        }
        assert!(
            !log.contains("Uncaught") && !log.contains(":ERROR:CONSOLE"),
            "{page}: console errors: {log}"
        );
        let png = std::fs::metadata(&shot).expect("screenshot written").len();
        assert!(
            png > 50_000,
            "{page}: screenshot of {png} bytes looks blank"
        );
    }
}

/// Issue 10, defect 10: an indicator that cannot be tested says why, in `summary.json` and
/// in one line of the report, instead of a funnel reading "no data". The tiny region has no
/// `secondary_diagnoses` column, so `UPC_SINGLE_CC` has nothing to count.
#[test]
fn issue10_10_single_cc_says_why_it_cannot_be_tested() {
    let w = Workdir::new();
    tiny_region_model(w.dir.path());
    let s = summary(&w.path("out"));
    let untested = s["audit"]["untested"]
        .as_array()
        .unwrap_or_else(|| panic!("summary.json audit.untested: {}", s["audit"]));
    let why = untested
        .iter()
        .find(|u| u["code"] == "UPC_SINGLE_CC")
        .and_then(|u| u["reason"].as_str())
        .unwrap_or_else(|| panic!("UPC_SINGLE_CC not among {untested:?}"));
    assert!(why.contains("secondary_diagnoses"), "{why}");
    let html = std::fs::read_to_string(w.path("out/report.html")).unwrap();
    let line = html
        .lines()
        .flat_map(|l| l.split("<p"))
        .find(|l| l.contains("UPC_SINGLE_CC") && l.contains("secondary_diagnoses"))
        .unwrap_or_else(|| panic!("no line in report.html says why UPC_SINGLE_CC is untested"));
    assert!(line.contains("not tested"), "{line}");
}

/// Issue 14.4: the English fragments of the reason and detail templates — the English half
/// of every `say!(ctx, "中文", "English")` / `lang.tr("中文", "English")` pair and every
/// `Lang::En => format!("English")` arm in the stages that write reasons — split at their
/// `{}` placeholders, kept when at least two words long. A zh page must hold none of them.
fn english_templates() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("indicators"))
        .expect("src/indicators")
        .map(|e| e.expect("entry").path())
        .collect();
    for f in ["compare.rs", "rank.rs", "leads.rs", "report/cards.rs"] {
        files.push(root.join(f));
    }
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let src = std::fs::read_to_string(&f).expect("source");
        // String literals with their byte spans (escapes skipped; raw strings are not used).
        let b = src.as_bytes();
        let mut lits: Vec<(usize, usize, String)> = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                }
                b'\'' if b.get(i + 2) == Some(&b'\'') => i += 3,
                b'"' => {
                    let start = i;
                    i += 1;
                    while i < b.len() && b[i] != b'"' {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                    lits.push((start, i + 1, src[start + 1..i].to_string()));
                    i += 1;
                }
                _ => i += 1,
            }
        }
        for (k, (start, _, text)) in lits.iter().enumerate() {
            if !text.is_ascii() {
                continue;
            }
            let after_zh = k > 0 && {
                let (_, end, prev) = &lits[k - 1];
                !prev.is_ascii()
                    && src[*end..*start]
                        .chars()
                        .all(|c| c.is_whitespace() || c == ',')
            };
            let en_arm = src[..*start]
                .trim_end()
                .strip_suffix("format!(")
                .is_some_and(|s| s.trim_end().ends_with("Lang::En =>"));
            if !(after_zh || en_arm) {
                continue;
            }
            let mut rest = text.as_str();
            while !rest.is_empty() {
                let cut = rest.find('{').unwrap_or(rest.len());
                let piece = rest[..cut].trim();
                let words = piece
                    .split_whitespace()
                    .filter(|w| w.chars().filter(|c| c.is_ascii_alphabetic()).count() >= 2)
                    .count();
                // "(peers" of the growth words is one word, but English all the same.
                let bracketed = piece.starts_with('(') && piece.len() >= 6;
                if (words >= 2 && piece.len() >= 12) || bracketed {
                    out.push(piece.to_string());
                }
                rest = rest[cut..]
                    .find('}')
                    .map_or("", |close| &rest[cut + close + 1..]);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The visible text of a page: no style, no script, no tags, entities decoded for `&amp;`.
fn page_text(html: &str) -> String {
    let mut s = html.to_string();
    for (open, close) in [("<style>", "</style>"), ("<script>", "</script>")] {
        while let (Some(a), Some(b)) = (s.find(open), s.find(close)) {
            if b < a {
                break;
            }
            s.replace_range(a..b + close.len(), " ");
        }
    }
    let mut text = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&amp;", "&").replace("&#x27;", "'")
}

/// A generated region audited in both languages (`zh/`, `en/`), large enough that three
/// of its gamed hospitals make lead cards.
fn generated_both(w: &Workdir) {
    let o = w.run(&generate_args("3", "12000", &[]));
    assert!(o.status.success());
    for lang in ["zh", "en"] {
        let o = w.run(&region_run_args(
            "region/region.toml",
            lang,
            &["--lang", lang],
        ));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

/// Issue 14.4: the zh pages are wholly Chinese, the details inside reasons included (the
/// favourite lever code, the growth figures, "not flagged alone").
#[test]
fn issue14_4_zh_pages_hold_no_english_detail_from_the_reason_templates() {
    let templates = english_templates();
    for t in [
        "most frequent lever code",
        "not flagged alone:",
        "(peers",
        "(lighter sibling",
        "no resource-based indicator of the same detector is flagged",
    ] {
        assert!(
            templates.iter().any(|x| x.contains(t)),
            "the template scan misses {t:?}: {templates:?}"
        );
    }
    let w = Workdir::new();
    generated_both(&w);
    let pages = |lang: &str| -> Vec<(String, String)> {
        let mut v = vec![(
            "report.html".to_string(),
            std::fs::read_to_string(w.path(&format!("{lang}/report.html"))).unwrap(),
        )];
        let mut names: Vec<_> = std::fs::read_dir(w.path(&format!("{lang}/hospitals")))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            v.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
        for csv in ["findings.csv", "hospitals.csv", "cases_for_review.csv"] {
            // The reason columns (the other text columns are data: codes, English names).
            let mut r = csv::Reader::from_path(w.path(&format!("{lang}/{csv}"))).unwrap();
            let col = r
                .headers()
                .unwrap()
                .iter()
                .position(|h| h == "reason")
                .unwrap_or_else(|| panic!("{csv} has a reason column"));
            let text: Vec<String> = r.records().map(|x| x.unwrap()[col].to_string()).collect();
            v.push((csv.to_string(), format!(" {} ", text.join("\n"))));
        }
        v
    };
    let (zh, en) = (pages("zh"), pages("en"));
    let text = |v: &[(String, String)]| -> String {
        v.iter()
            .map(|(n, h)| {
                if n.ends_with(".csv") {
                    h.clone()
                } else {
                    page_text(h)
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (zh_text, en_text) = (text(&zh), text(&en));
    // The English run shows details from these templates, so their absence in zh means
    // something: the details reached the pages, in Chinese.
    let shown: Vec<&String> = templates.iter().filter(|t| en_text.contains(*t)).collect();
    assert!(
        shown.len() >= 5,
        "the en pages show too few template details to judge the zh ones: {shown:?}"
    );
    assert!(
        zh_text.contains("最常见的单一定级编码") || zh_text.contains("同级"),
        "zh details present"
    );
    let leaked: Vec<&String> = templates.iter().filter(|t| zh_text.contains(*t)).collect();
    assert!(
        leaked.is_empty(),
        "English template text on the zh pages: {leaked:?}"
    );
}

/// The print stylesheet applied to the screen: `@media print` becomes `@media all`, so a
/// screenshot at A4 width shows the print layout and `getComputedStyle` reads its rules.
fn as_print(html: &str) -> String {
    assert!(html.contains("@media print{"), "a print stylesheet");
    html.replace("@media print{", "@media all{")
}

/// Layout facts measured in the browser: a probe script appended to a copy of the page
/// writes them into the DOM, read back from `--dump-dom`.
fn probe(browser: &str, html: &str, copy: &Path, window: &str, profile: &Path) -> String {
    const PROBE: &str = "<script>(function(){var o=[];\
        document.querySelectorAll('.lead').forEach(function(e,i){var r=e.getBoundingClientRect();\
        o.push('lead '+i+' '+Math.round(r.top)+' '+Math.round(r.bottom)+' '+getComputedStyle(e).breakBefore);});\
        document.querySelectorAll('h2').forEach(function(e){o.push('h2 '+(e.className||'-')+' '+Math.round(e.getBoundingClientRect().top)+' '+getComputedStyle(e).breakBefore);});\
        document.querySelectorAll('tr').forEach(function(e,i){if(i<3)o.push('tr '+getComputedStyle(e).breakInside);});\
        var p=document.createElement('pre');p.id='probe';p.textContent=o.join('\\n');document.body.appendChild(p);})();</script>";
    std::fs::write(copy, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let o = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={window}"))
        .arg("--dump-dom")
        .arg(format!("file://{}", copy.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&o.stdout).into_owned();
    let start = dom.find("<pre id=\"probe\">").expect("probe ran") + 16;
    let end = start + dom[start..].find("</pre>").expect("probe closed");
    dom[start..end].to_string()
}

/// Screenshots (and, for `print`, a PDF) into `DRG_AUDIT_SHOTS` when set, else the work dir.
fn shoot(browser: &str, page: &Path, png: &Path, window: &str, profile: &Path) {
    let o = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={window}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(o.status.success() && png.exists(), "screenshot {png:?}");
}

fn pdf_pages(browser: &str, page: &Path, pdf: &Path, profile: &Path) -> usize {
    let o = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--no-pdf-header-footer")
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(o.status.success(), "print to pdf");
    let bytes = std::fs::read(pdf).expect("pdf written");
    let text = String::from_utf8_lossy(&bytes);
    text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
}

/// Issue 14.4 acceptance: screenshots of the region report (screen and print) and of the
/// top lead's hospital page in both languages; the first screen holds the lead cards, the
/// print layout breaks the page between lead hospitals and keeps table rows whole, and the
/// hospital page prints as a case file.
#[test]
fn issue14_4_first_screen_holds_lead_cards_and_print_breaks_between_hospitals() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium (.ci/run installs it)"
        );
        eprintln!("SKIPPED: no chromium on this machine (apt-get install chromium)");
        return;
    };
    let w = Workdir::new();
    generated_both(&w);
    let shots = std::env::var_os("DRG_AUDIT_SHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| w.path("shots"));
    std::fs::create_dir_all(&shots).unwrap();
    let profile = w.path("profile");
    for lang in ["zh", "en"] {
        let report = w.path(&format!("{lang}/report.html"));
        let html = std::fs::read_to_string(&report).unwrap();
        // Screen: the first 900 px hold the heading of the leads and the first row of cards.
        shoot(
            browser,
            &report,
            &shots.join(format!("{lang}-report-screen.png")),
            "1400,900",
            &profile,
        );
        let facts = probe(
            browser,
            &html,
            &w.path(&format!("{lang}/probe.html")),
            "1400,900",
            &profile,
        );
        let leads: Vec<Vec<&str>> = facts
            .lines()
            .filter(|l| l.starts_with("lead "))
            .map(|l| l.split(' ').collect())
            .collect();
        assert!(
            leads.len() >= 3,
            "{lang}: the generated region has gamed hospitals, so lead cards: {facts}"
        );
        let px = |v: &str| v.parse::<i64>().expect("pixels");
        let on_first_screen = leads.iter().filter(|l| px(l[3]) <= 900).count();
        assert!(
            on_first_screen >= 3 && px(leads[0][2]) < 300,
            "{lang}: the first screen holds the lead cards: {facts}"
        );
        let ranked_top = facts
            .lines()
            .find(|l| l.starts_with("h2 ranked "))
            .map(|l| px(l.split(' ').nth(2).expect("top")))
            .expect("the ranked table heading");
        assert!(
            ranked_top > px(leads[0][3]),
            "{lang}: the cards come before the ranked table: {facts}"
        );
        let first_card = html.find("class=\"lead\"").expect("a card");
        assert!(
            first_card < html.find("<table").expect("a table"),
            "{lang}: cards before any table in the document"
        );
        // Print: every lead hospital after the first starts a page, rows never split.
        let print = as_print(&html);
        let print_copy = w.path(&format!("{lang}/print.html"));
        std::fs::write(&print_copy, &print).unwrap();
        shoot(
            browser,
            &print_copy,
            &shots.join(format!("{lang}-report-print.png")),
            "794,3400",
            &profile,
        );
        let facts = probe(
            browser,
            &print,
            &w.path(&format!("{lang}/print-probe.html")),
            "794,1123",
            &profile,
        );
        let breaks: Vec<&str> = facts
            .lines()
            .filter(|l| l.starts_with("lead "))
            .map(|l| l.rsplit(' ').next().expect("break"))
            .collect();
        assert_eq!(breaks.len(), leads.len(), "{facts}");
        assert!(
            breaks[1..].iter().all(|b| *b == "page") && breaks[0] != "page",
            "{lang}: a page break between lead hospitals in print: {facts}"
        );
        assert!(
            facts
                .lines()
                .any(|l| l.starts_with("h2 ranked ") && l.ends_with(" page")),
            "{lang}: the ranked table starts a page: {facts}"
        );
        assert!(
            facts
                .lines()
                .filter(|l| l.starts_with("tr "))
                .all(|l| l == "tr avoid"),
            "{lang}: table rows are not cut: {facts}"
        );
        let pages = pdf_pages(
            browser,
            &report,
            &shots.join(format!("{lang}-report.pdf")),
            &profile,
        );
        assert!(
            pages > leads.len(),
            "{lang}: {pages} A4 pages for {} lead hospitals, each on its own",
            leads.len()
        );
        // The top lead's hospital page, as a case file.
        let href = html[first_card..]
            .split("href=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("the card links to its hospital page")
            .to_string();
        let page = w.path(&format!("{lang}/{href}"));
        let hosp = std::fs::read_to_string(&page).expect("hospital page");
        shoot(
            browser,
            &page,
            &shots.join(format!("{lang}-hospital-screen.png")),
            "1400,1800",
            &profile,
        );
        let hosp_print = w.path(&format!("{lang}/hospital-print.html"));
        std::fs::write(&hosp_print, as_print(&hosp)).unwrap();
        shoot(
            browser,
            &hosp_print,
            &shots.join(format!("{lang}-hospital-print.png")),
            "794,3400",
            &profile,
        );
        let facts = probe(
            browser,
            &as_print(&hosp),
            &w.path(&format!("{lang}/hospital-probe.html")),
            "794,1123",
            &profile,
        );
        assert!(
            facts
                .lines()
                .any(|l| l.starts_with("h2 pb ") && l.ends_with(" page")),
            "{lang}: the evidence cases start a page of the case file: {facts}"
        );
        let hosp_pages = pdf_pages(
            browser,
            &page,
            &shots.join(format!("{lang}-hospital.pdf")),
            &profile,
        );
        assert!(
            hosp_pages >= 2,
            "{lang}: the case file spans pages: {hosp_pages}"
        );
    }
}

/// Issue 14.4: a region where no hospital is flagged says so on its first screen, in both
/// languages, and shows no lead card.
#[test]
fn issue14_4_an_honest_region_says_no_hospital_is_flagged() {
    let w = Workdir::new();
    hostile_region(&w);
    for (lang, words) in [
        ("zh", "在 q ≤ 0.05 下没有医院被标记"),
        ("en", "No hospital flagged at q ≤ 0.05"),
    ] {
        let o = w.run(&[
            "run",
            "--cases",
            "cases.csv",
            "--groups",
            "groups.csv",
            "--out",
            lang,
            "--lang",
            lang,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let hospitals = std::fs::read_to_string(w.path(&format!("{lang}/hospitals.csv"))).unwrap();
        let mut r = csv::Reader::from_reader(hospitals.as_bytes());
        let flags = r
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "flags")
            .unwrap();
        assert!(
            r.records().all(|x| x.unwrap()[flags].is_empty()),
            "the fixture is meant to flag nobody: {hospitals}"
        );
        let html = std::fs::read_to_string(w.path(&format!("{lang}/report.html"))).unwrap();
        let clean = html.find("class=\"clean\"").expect("the plain sentence");
        assert!(html[clean..].contains(words), "{lang}");
        assert!(
            clean < html.find("<table").unwrap(),
            "{lang}: on the first screen"
        );
        assert!(!html.contains("class=\"lead\""), "{lang}: no card");
    }
}
