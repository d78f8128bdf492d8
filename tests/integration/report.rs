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
    let o = w.run(&[
        "generate",
        "--out",
        "region",
        "--seed",
        "3",
        "--cases-per-year",
        "3000",
    ]);
    assert!(o.status.success());
    let o = w.run(&[
        "run",
        "--cases",
        "region/cases.csv",
        "--groups",
        "region/groups.csv",
        "--config",
        "region/region.toml",
        "--out",
        "out",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let indicators = drg_audit::indicators::registry().len();
    for (page, charts) in [
        ("out/report.html", 6 + indicators),
        ("out/hospitals/H001.html", 3),
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
