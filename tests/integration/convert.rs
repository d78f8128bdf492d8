//! Issue 12: `convert` stores a case table as a typed Parquet, and a run on it is the run on
//! the table: byte-identical hospitals.csv, findings.csv and rejects.csv (the rejects on the
//! lines of the original file), and the same counts.

use crate::common::*;

/// A generated region with rows of every kind of reject appended, and a quoted hospital
/// name holding a line break (so that rows and lines differ after it).
fn region_with_rejects(w: &Workdir) {
    let o = w.run(&[
        "generate",
        "--out",
        "r",
        "--cases-per-year",
        "1500",
        "--seed",
        "3",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(w.path("r/cases.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<String> = lines[0].split(',').map(str::to_string).collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let template: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    let variant = |id: &str, column: &str, value: &str| {
        let mut f = template.clone();
        f[at("case_id")] = id.to_string();
        f[at(column)] = value.to_string();
        f.join(",")
    };
    let multiline = {
        let mut f = template.clone();
        f[at("case_id")] = "X-QUOTED".into();
        f[at("hospital_name")] = format!("\"{}\n(分院)\"", template[at("hospital_name")]);
        f.join(",")
    };
    let extra = [
        variant("X-DATE", "admit_date", "2024-13-01"),
        variant("X-COST", "total_cost", "-5"),
        variant("X-GROUP", "group_code", "XX99"),
        variant("X-LOS", "los_days", "many"),
        lines[3].clone(), // a duplicate case_id
    ];
    lines.insert(10, multiline);
    lines.extend(extra);
    w.write("r/cases.csv", lines.join("\n") + "\n");
}

fn run_on(w: &Workdir, cases: &str, out: &str) {
    let o = w.run(&[
        "run",
        "--cases",
        cases,
        "--groups",
        "r/groups.csv",
        "--config",
        "r/region.toml",
        "--out",
        out,
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_run_on_the_converted_parquet_is_the_run_on_the_csv() {
    let w = Workdir::new();
    region_with_rejects(&w);
    let o = w.run(&[
        "convert",
        "--cases",
        "r/cases.csv",
        "--out",
        "r/cases.parquet",
        "--groups",
        "r/groups.csv",
        "--config",
        "r/region.toml",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let said = String::from_utf8_lossy(&o.stdout).to_string();
    run_on(&w, "r/cases.csv", "csv");
    run_on(&w, "r/cases.parquet", "parquet");
    for f in ["hospitals.csv", "findings.csv", "rejects.csv"] {
        let a = std::fs::read(w.path("csv").join(f)).unwrap();
        let b = std::fs::read(w.path("parquet").join(f)).unwrap();
        assert!(
            a == b,
            "{f} differs between the CSV and the typed Parquet run"
        );
    }
    let rejects = std::fs::read_to_string(w.path("csv/rejects.csv")).unwrap();
    assert_eq!(rejects.lines().count(), 5, "{rejects}");
    assert!(rejects.contains(",cases.csv"), "{rejects}");
    let (c, p) = (summary(&w.path("csv")), summary(&w.path("parquet")));
    assert_eq!(c["rows"], p["rows"]);
    assert_eq!(p["ingest"]["format"], "parquet");
    assert_eq!(p["ingest"]["converted_from"], "cases.csv");
    // convert printed the run's counts.
    let r = &c["rows"];
    let line = format!(
        "{} rows read = {} usable + {} rejected",
        r["read"], r["analysed"], r["rejected"]
    );
    assert!(said.contains(&line), "{said} should say {line}");
}

#[test]
fn convert_replaces_only_a_table_it_wrote() {
    let w = Workdir::new();
    region_with_rejects(&w);
    let convert = |out: &str| {
        w.run(&[
            "convert",
            "--cases",
            "r/cases.csv",
            "--out",
            out,
            "--groups",
            "r/groups.csv",
        ])
    };
    w.write("mine.parquet", "not ours");
    let o = convert("mine.parquet");
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("mine.parquet") && e.contains("not a typed case table"),
        "{e}"
    );
    assert_eq!(std::fs::read(w.path("mine.parquet")).unwrap(), b"not ours");
    let o = convert("typed.csv");
    assert!(!o.status.success() && !w.path("typed.csv").exists());
    assert!(convert("typed.parquet").status.success());
    assert!(
        convert("typed.parquet").status.success(),
        "its own file is replaced"
    );
    // A run under another cost bound than the conversion's is refused with the fix.
    w.write(
        "dear.toml",
        "preset = \"drg-points\"\n[data]\nmax_stay_cost_yuan = 1000\n",
    );
    let o = w.run(&[
        "run",
        "--cases",
        "typed.parquet",
        "--groups",
        "r/groups.csv",
        "--config",
        "dear.toml",
        "--out",
        "o",
        "--quiet",
    ]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("max_stay_cost_yuan") && e.contains("convert"),
        "{e}"
    );
    assert_eq!(e.trim().lines().count(), 1, "{e}");
}
