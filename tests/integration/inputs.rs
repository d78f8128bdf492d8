//! Issue 14 part 1: inputs as they arrive. One generated region written as CSV, as an Excel
//! workbook, as UTF-16 tab-separated "Unicode text" and as the national platform's
//! three-table settlement export gives the same audit; sub-table rows that join nothing and
//! settlements with two main diagnoses are rejected with their lines; a catalogue's
//! weightless (ungroupable) rows do not stop the run.

use std::path::Path;

use crate::common::*;

/// The generated region's case table as header + rows of text cells.
fn read_cases(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).expect("cases.csv");
    let headers = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|rec| rec.expect("row").iter().map(String::from).collect())
        .collect();
    (headers, rows)
}

fn write_csv(path: &Path, headers: &[&str], rows: &[Vec<String>]) {
    let mut w = csv::Writer::from_path(path).expect("write");
    w.write_record(headers).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

/// Days since Excel's epoch (1899-12-30) of a `YYYY-MM-DD` date: the serial Excel stores.
fn excel_serial(date: &str) -> f64 {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("generated date");
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
    (d - epoch).num_days() as f64
}

/// Columns a spreadsheet holds as numbers (codes and ids stay text: `27.5900` is a code).
const NUMERIC: &[&str] = &[
    "hospital_level",
    "los_days",
    "total_cost",
    "discharge_disposition",
    "planned_readmission_31d",
    "age",
    "sex",
    "insurance_type",
    "fund_paid",
    "self_pay",
    "own_expense",
    "weight",
    "主诊断标志",
];

/// Writes a table as a workbook: a notes sheet first (so `--sheet` is needed), then the
/// table with numbers as numbers and dates as date-formatted serial numbers (the admission
/// date) or plain serial numbers (the discharge date, as exports that lose the format do).
fn write_xlsx(path: &Path, sheet: &str, headers: &[String], rows: &[Vec<String>]) {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    book.add_worksheet()
        .set_name("说明")
        .unwrap()
        .write_string(0, 0, "结算清单导出")
        .unwrap();
    let s = book.add_worksheet().set_name(sheet).unwrap();
    let date = Format::new().set_num_format("yyyy/m/d");
    for (j, h) in headers.iter().enumerate() {
        s.write_string(0, j as u16, h).unwrap();
    }
    for (i, row) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        for (j, (h, v)) in headers.iter().zip(row).enumerate() {
            let c = j as u16;
            if v.is_empty() {
                continue;
            }
            match h.as_str() {
                "admit_date" => s.write_number_with_format(r, c, excel_serial(v), &date),
                "discharge_date" => s.write_number(r, c, excel_serial(v)),
                h if NUMERIC.contains(&h) || h.starts_with("fee_") => {
                    s.write_number(r, c, v.parse::<f64>().expect("a number"))
                }
                _ => s.write_string(r, c, v),
            }
            .unwrap();
        }
    }
    book.save(path).unwrap();
}

/// UTF-16LE with BOM, tab-separated, CRLF: Excel's "Unicode text".
fn write_utf16(path: &Path, headers: &[String], rows: &[Vec<String>]) {
    let mut text = headers.join("\t");
    text.push_str("\r\n");
    for r in rows {
        assert!(r.iter().all(|c| !c.contains(['\t', '"'])));
        text.push_str(&r.join("\t"));
        text.push_str("\r\n");
    }
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(path, bytes).unwrap();
}

/// The three-table export: the settlement table without its code columns, a diagnosis
/// table (Chinese labels) and a procedure table (national keys).
fn write_three_tables(w: &Workdir, headers: &[String], rows: &[Vec<String>]) {
    let at = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let (id, main, others, proc_) = (
        at("case_id"),
        at("main_diagnosis"),
        at("secondary_diagnoses"),
        at("main_procedure"),
    );
    let keep: Vec<usize> = (0..headers.len())
        .filter(|j| ![main, others, proc_].contains(j))
        .collect();
    let settlement_headers: Vec<&str> = keep
        .iter()
        .map(|&j| match headers[j].as_str() {
            "case_id" => "setl_id",
            h => h,
        })
        .collect();
    let settlements: Vec<Vec<String>> = rows
        .iter()
        .map(|r| keep.iter().map(|&j| r[j].clone()).collect())
        .collect();
    write_csv(&w.path("setl.csv"), &settlement_headers, &settlements);
    let mut dx = Vec::new();
    let mut px = Vec::new();
    for r in rows {
        if !r[main].is_empty() {
            dx.push(vec![r[id].clone(), r[main].clone(), "1".into()]);
        }
        for code in r[others].split(';').filter(|c| !c.is_empty()) {
            dx.push(vec![r[id].clone(), code.to_string(), "0".into()]);
        }
        if !r[proc_].is_empty() {
            px.push(vec![r[id].clone(), r[proc_].clone(), "1".into()]);
        }
    }
    write_csv(
        &w.path("diagnoses.csv"),
        &["结算ID", "诊断代码", "主诊断标志"],
        &dx,
    );
    write_csv(
        &w.path("procedures.csv"),
        &["setl_id", "oprn_oprt_code", "main_oprn_flag"],
        &px,
    );
}

fn audit(w: &Workdir, out: &str, cases: &str, groups: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "run",
        "--cases",
        cases,
        "--groups",
        groups,
        "--config",
        "region/region.toml",
        "--out",
        out,
        "--quiet",
        "--lang",
        "en",
    ];
    args.extend(extra);
    let o = w.run(&args);
    assert!(
        o.status.success(),
        "{out}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    summary(&w.path(out))
}

fn rows_of(s: &serde_json::Value) -> (u64, u64, u64, bool) {
    let r = &s["rows"];
    (
        r["read"].as_u64().unwrap(),
        r["analysed"].as_u64().unwrap(),
        r["rejected"].as_u64().unwrap(),
        r["reconciles"].as_bool().unwrap(),
    )
}

fn read(w: &Workdir, file: &str) -> String {
    std::fs::read_to_string(w.path(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Issue 14 acceptance: CSV, .xlsx, UTF-16 tab text and the three-table export of one
/// region give identical `hospitals.csv` and `findings.csv` and the same counts; a
/// diagnosis row with no settlement and a settlement with two main diagnoses are rejected
/// with their lines.
#[test]
fn one_region_in_four_forms_gives_one_audit() {
    let w = Workdir::new();
    let o = w.run(&[
        "generate",
        "--out",
        "region",
        "--cases-per-year",
        "3000",
        "--seed",
        "14",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (headers, rows) = read_cases(&w.path("region/cases.csv"));
    let (gheaders, grows) = read_cases(&w.path("region/groups.csv"));

    let csv = audit(&w, "out-csv", "region/cases.csv", "region/groups.csv", &[]);
    let expected = rows_of(&csv);
    assert!(expected.3 && expected.0 > 5000, "{expected:?}");
    assert_eq!(csv["ingest"]["delimiter"], "comma");
    let hospitals = read(&w, "out-csv/hospitals.csv");
    let findings = read(&w, "out-csv/findings.csv");
    assert!(findings.lines().count() > 10, "the region has findings");

    // Excel: the case table on its second sheet (--sheet), the catalogue a workbook too.
    write_xlsx(&w.path("cases.xlsx"), "结算清单", &headers, &rows);
    write_xlsx(&w.path("groups.xlsx"), "目录", &gheaders, &grows);
    let xlsx = audit(
        &w,
        "out-xlsx",
        "cases.xlsx",
        "groups.xlsx",
        &["--sheet", "结算清单", "--groups-sheet", "目录"],
    );
    assert_eq!(xlsx["ingest"]["format"], "excel");
    assert_eq!(xlsx["ingest"]["sheet"], "结算清单");

    // UTF-16 tab-separated text.
    write_utf16(&w.path("cases.txt"), &headers, &rows);
    let utf16 = audit(&w, "out-utf16", "cases.txt", "region/groups.csv", &[]);
    assert_eq!(utf16["ingest"]["encoding"], "utf16-le");
    assert_eq!(utf16["ingest"]["delimiter"], "tab");

    // The three-table settlement export.
    write_three_tables(&w, &headers, &rows);
    let three = [
        "--diagnoses",
        "diagnoses.csv",
        "--procedures",
        "procedures.csv",
    ];
    let tables = audit(&w, "out-three", "setl.csv", "region/groups.csv", &three);
    let sub = &tables["ingest"]["sub_tables"];
    assert_eq!(sub[0]["role"], "diagnoses");
    assert_eq!(sub[0]["rows_rejected"], 0);
    assert_eq!(sub[0]["rows_joined"], sub[0]["rows_read"]);
    assert_eq!(sub[1]["role"], "procedures");

    // The sub-tables in other forms: the diagnoses as a workbook sheet (flags as numbers),
    // the procedures as UTF-16 tab text.
    let (dh, dr) = read_cases(&w.path("diagnoses.csv"));
    write_xlsx(&w.path("diagnoses.xlsx"), "诊断", &dh, &dr);
    let (ph, pr) = read_cases(&w.path("procedures.csv"));
    write_utf16(&w.path("procedures.txt"), &ph, &pr);
    let mixed = [
        "--diagnoses",
        "diagnoses.xlsx",
        "--diagnoses-sheet",
        "诊断",
        "--procedures",
        "procedures.txt",
    ];
    let mixed = audit(&w, "out-mixed", "setl.csv", "region/groups.csv", &mixed);
    let sub = &mixed["ingest"]["sub_tables"];
    assert_eq!(sub[0]["format"], "excel");
    assert_eq!(sub[1]["encoding"], "utf16-le");
    assert_eq!(sub[1]["delimiter"], "tab");

    for (name, s) in [
        ("xlsx", &xlsx),
        ("utf16", &utf16),
        ("three", &tables),
        ("mixed", &mixed),
    ] {
        assert_eq!(rows_of(s), expected, "{name}: counts");
        assert_eq!(s["hospitals"], csv["hospitals"], "{name}");
        assert_eq!(s["point_value"], csv["point_value"], "{name}");
        assert_eq!(
            read(&w, &format!("out-{name}/hospitals.csv")),
            hospitals,
            "{name}: hospitals.csv"
        );
        assert_eq!(
            read(&w, &format!("out-{name}/findings.csv")),
            findings,
            "{name}: findings.csv"
        );
    }

    // A diagnosis row with no settlement, and a second main diagnosis for one settlement.
    let mut dx = read(&w, "diagnoses.csv");
    let dx_lines = dx.lines().count() as u64;
    let second = &rows[1][0];
    let main_line = dx
        .lines()
        .position(|l| l.starts_with(&format!("{second},")) && l.ends_with(",1"))
        .expect("settlement 2 has a main diagnosis") as u64
        + 1;
    dx.push_str("NO-SUCH-SETTLEMENT,J18.900,0\n");
    dx.push_str(&format!("{second},J18.900,1\n"));
    w.write("diagnoses-bad.csv", dx);
    let bad = [
        "--diagnoses",
        "diagnoses-bad.csv",
        "--procedures",
        "procedures.csv",
    ];
    let s = audit(&w, "out-bad", "setl.csv", "region/groups.csv", &bad);
    let (read_n, analysed, rejected, reconciles) = rows_of(&s);
    assert_eq!(
        (read_n, analysed, rejected, reconciles),
        (expected.0, expected.1 - 1, expected.2 + 1, true)
    );
    assert_eq!(s["ingest"]["sub_tables"][0]["rows_rejected"], 1);
    assert_eq!(
        s["ingest"]["sub_tables"][0]["settlements_with_two_mains"],
        1
    );
    let rejects = read(&w, "out-bad/rejects.csv");
    let mut lines = rejects.lines();
    assert_eq!(lines.next(), Some("line,case_id,column,reason,file"));
    let rejects: Vec<&str> = lines.collect();
    // Settlement 2 sits on line 3 of the settlement table; its main diagnoses on its line
    // in the diagnosis table and on the appended last line.
    let two = rejects
        .iter()
        .find(|r| r.starts_with(&format!("3,{second},main_diagnosis,")))
        .unwrap_or_else(|| panic!("two mains rejected: {rejects:?}"));
    assert!(
        two.contains("2 main diagnoses")
            && two.contains(&format!("lines {main_line}, {}", dx_lines + 2))
            && two.ends_with(",setl.csv"),
        "{two}"
    );
    let orphan = rejects
        .iter()
        .find(|r| r.contains("NO-SUCH-SETTLEMENT"))
        .unwrap_or_else(|| panic!("orphan rejected: {rejects:?}"));
    assert!(
        orphan.starts_with(&format!("{},NO-SUCH-SETTLEMENT,setl_id,", dx_lines + 1))
            && orphan.contains("matches no settlement")
            && orphan.ends_with(",diagnoses-bad.csv"),
        "{orphan}"
    );
    let report = read(&w, "out-bad/report.html");
    assert!(report.contains("diagnoses-bad.csv"), "the report lists it");

    // A diagnosis table keyed on something else joins nothing: refused, not an audit
    // without diagnoses.
    let shifted = read(&w, "diagnoses.csv").replace("\nH", "\nX-H");
    w.write("diagnoses-shifted.csv", shifted);
    let o = w.run(&[
        "run",
        "--cases",
        "setl.csv",
        "--diagnoses",
        "diagnoses-shifted.csv",
        "--groups",
        "region/groups.csv",
        "--out",
        "out-shifted",
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("cannot be joined"),
        "{err}"
    );

    // `check` takes the same options.
    let o = w.run(&[
        "check",
        "--cases",
        "setl.csv",
        "--diagnoses",
        "diagnoses.csv",
        "--procedures",
        "procedures.csv",
        "--model",
        "out-csv/model.json",
        "--out",
        "out-check",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c: serde_json::Value =
        serde_json::from_str(&read(&w, "out-check/check.json")).expect("check.json");
    assert_eq!(c["rows"]["read"], expected.0);
    assert_eq!(c["rows"]["analysed"], expected.1);
    assert_eq!(
        c["ingest"]["sub_tables"][0]["rows_joined"],
        sub[0]["rows_joined"]
    );
    assert_eq!(c["sub_tables"][1]["role"], "procedures");
}

/// Issue 14: catalogue rows without a weight (blank or `.`) are ungroupable groups; their
/// stays are counted and shown, the run goes on, and the audit of the other stays is the
/// one without them.
#[test]
fn weightless_catalogue_rows_are_counted_as_ungroupable() {
    let w = Workdir::new();
    let o = w.run(&[
        "generate",
        "--out",
        "region",
        "--cases-per-year",
        "1500",
        "--seed",
        "15",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let base = audit(&w, "out", "region/cases.csv", "region/groups.csv", &[]);
    let mut groups = read(&w, "region/groups.csv");
    groups.push_str("QY,.,Q,9,歧义组\n0000,,0,9,未入组\n");
    w.write("groups.csv", groups);
    let (headers, mut rows) = read_cases(&w.path("region/cases.csv"));
    let gc = headers.iter().position(|h| h == "group_code").unwrap();
    let id = headers.iter().position(|h| h == "case_id").unwrap();
    for (i, code) in ["QY", "0000", "QY"].iter().enumerate() {
        let mut r = rows[i].clone();
        r[gc] = code.to_string();
        r[id] = format!("UNGROUPED-{i}");
        rows.push(r);
    }
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    write_csv(&w.path("cases.csv"), &headers, &rows);
    let s = audit(&w, "out-qy", "cases.csv", "groups.csv", &[]);
    let (read_n, analysed, rejected, reconciles) = rows_of(&s);
    let (b_read, b_analysed, b_rejected, _) = rows_of(&base);
    assert_eq!(
        (read_n, analysed, rejected, reconciles),
        (b_read + 3, b_analysed, b_rejected + 3, true)
    );
    assert_eq!(s["rows"]["ungroupable"], 3);
    assert_eq!(s["catalogue"]["ungroupable_groups"], 2);
    assert_eq!(
        read(&w, "out-qy/hospitals.csv"),
        read(&w, "out/hospitals.csv")
    );
    assert_eq!(
        read(&w, "out-qy/findings.csv"),
        read(&w, "out/findings.csv")
    );
    let rejects = read(&w, "out-qy/rejects.csv");
    assert!(
        rejects.contains("UNGROUPED-1,group_code,ungroupable: group_code '0000' has no weight"),
        "{rejects}"
    );
    assert!(read(&w, "out-qy/report.html").contains("ungroupable"));
}

/// Issue 14: a workbook's rejects carry sheet rows (a title row above the table and a blank
/// row inside it move them away from the record count), and its file name.
#[test]
fn workbook_rejects_name_their_sheet_row() {
    use rust_xlsxwriter::Workbook;
    let w = Workdir::new();
    w.write("groups.csv", GROUPS);
    let mut book = Workbook::new();
    let s = book.add_worksheet();
    s.write_string(0, 0, "2024年住院结算清单").unwrap();
    for (j, h) in HEADER.split(',').enumerate() {
        s.write_string(2, j as u16, h).unwrap();
    }
    let mut rows = valid_rows();
    rows.insert(
        3,
        "D1,H1,市第一人民医院,3,P9,2024-13-01,2024-01-02,ES35,100".into(),
    );
    let mut r = 3;
    for (i, row) in rows.iter().enumerate() {
        if i == 2 {
            r += 1; // a blank sheet row
        }
        for (j, v) in row.split(',').enumerate() {
            s.write_string(r, j as u16, v).unwrap();
        }
        r += 1;
    }
    book.save(w.path("cases.xlsx")).unwrap();
    let o = w.run(&[
        "run",
        "--cases",
        "cases.xlsx",
        "--groups",
        "groups.csv",
        "--out",
        "out",
        "--quiet",
        "--allow-rejects",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = summary(&w.path("out"));
    assert_eq!(rows_of(&s), (7, 6, 1, true));
    // Title on sheet row 1, header on row 3, rows 4 and 5, blank row 6, then D1 on row 8
    // (the fourth record).
    let rejects = read(&w, "out/rejects.csv");
    assert!(
        rejects.contains("\n8,D1,admit_date,\"admit_date '2024-13-01' is not a date")
            && rejects.trim_end().ends_with(",cases.xlsx"),
        "{rejects}"
    );
}
