//! Ingest through the binary: header spellings, encodings, Parquet, every rejection reason
//! with its line number, and the reconciliation read = analysed + rejected.

use crate::common::*;
use polars::prelude::*;

fn run_ok(w: &Workdir, cases: &str, out: &str) -> serde_json::Value {
    let o = w.run(&[
        "run",
        "--cases",
        cases,
        "--groups",
        "groups.csv",
        "--out",
        out,
        // These fixtures are mostly bad rows on purpose.
        "--allow-rejects",
    ]);
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    summary(&w.path(out))
}

fn counts(s: &serde_json::Value) -> (u64, u64, u64) {
    let r = &s["rows"];
    (
        r["read"].as_u64().unwrap(),
        r["analysed"].as_u64().unwrap(),
        r["rejected"].as_u64().unwrap(),
    )
}

#[test]
fn canonical_national_and_chinese_headers_give_the_same_counts() {
    let w = Workdir::new();
    w.write("groups.csv", GROUPS);
    let national = "setl_id,fixmedins_code,fixmedins_name,hi_setl_lv,psn_no,adm_time,dscg_time,drg_codg,medfee_sumamt";
    let chinese = "结算ID,定点医药机构编号,定点医药机构名称,医保结算等级,人员编号,入院时间,出院时间,病组编码,医疗费总额";
    let mut results = Vec::new();
    for (i, header) in [HEADER, national, chinese].iter().enumerate() {
        let name = format!("cases{i}.csv");
        w.write(&name, csv_of(header, &valid_rows()));
        let s = run_ok(&w, &name, &format!("out{i}"));
        results.push((counts(&s), s["hospitals"].clone(), s["point_value"].clone()));
    }
    assert_eq!(results[0].0, (6, 6, 0));
    assert!(results.iter().all(|r| *r == results[0]), "{results:?}");
}

#[test]
fn gbk_and_bom_files_read_like_utf8() {
    let w = Workdir::new();
    w.write("groups.csv", GROUPS);
    let chinese = "结算ID,定点医药机构编号,定点医药机构名称,医保结算等级,人员编号,入院时间,出院时间,病种编码,医疗费总额";
    let text = csv_of(chinese, &valid_rows());
    w.write("utf8.csv", &text);
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    w.write("gbk.csv", &gbk);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(text.as_bytes());
    w.write("bom.csv", &bom);
    let base = run_ok(&w, "utf8.csv", "o1");
    let g = run_ok(&w, "gbk.csv", "o2");
    let b = run_ok(&w, "bom.csv", "o3");
    assert_eq!(counts(&g), (6, 6, 0));
    assert_eq!(g["ingest"]["encoding"], "gb18030");
    assert_eq!(b["ingest"]["encoding"], "utf8-bom");
    for s in [&g, &b] {
        assert_eq!(s["rows"], base["rows"]);
        assert_eq!(s["point_value"], base["point_value"]);
        assert_eq!(s["band_mix"], base["band_mix"]);
    }
}

#[test]
fn a_parquet_file_reads_like_its_csv() {
    let w = Workdir::new();
    w.write("groups.csv", GROUPS);
    let csv_path = w.write("cases.csv", csv_of(HEADER, &valid_rows()));
    // Write the same table as Parquet with typed columns (cost as float, level as int).
    let mut df = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(csv_path))
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(df.column("total_cost").unwrap().dtype(), &DataType::Int64);
    let f = std::fs::File::create(w.path("cases.parquet")).unwrap();
    ParquetWriter::new(f).finish(&mut df).unwrap();
    let c = run_ok(&w, "cases.csv", "o1");
    let p = run_ok(&w, "cases.parquet", "o2");
    assert_eq!(p["ingest"]["format"], "parquet");
    assert_eq!(p["rows"], c["rows"]);
    assert_eq!(p["point_value"], c["point_value"]);
    assert_eq!(p["band_mix"], c["band_mix"]);
}

#[test]
fn every_rejection_reason_is_reported_with_its_line_and_counts_reconcile() {
    let w = Workdir::new();
    w.write("groups.csv", GROUPS);
    let mut rows = valid_rows();
    rows.extend([
        ",H1,市第一人民医院,3,P9,2024-01-01,2024-01-02,ES35,100".to_string(), // line 8: missing case_id
        "D2,H1,市第一人民医院,3,P9,2024-13-01,2024-01-02,ES35,100".into(),    // 9: bad date
        "D3,H1,市第一人民医院,3,P9,2024-01-05,2024-01-02,ES35,100".into(), // 10: discharge before admission
        "D4,H1,市第一人民医院,3,P9,2024-01-01,2024-01-02,ES35,-100".into(), // 11: negative cost
        "D5,H1,市第一人民医院,3,P9,2024-01-01,2024-01-02,ES35,abc".into(), // 12: unreadable cost
        "C1,H1,市第一人民医院,3,P9,2024-01-01,2024-01-02,ES35,100".into(), // 13: duplicate case_id
        "D7,H1,市第一人民医院,3,P9,2024-01-01,2024-01-02,XX99,100".into(), // 14: group not in catalogue
        "D8,H1,市第一人民医院,四级,P9,2024-01-01,2024-01-02,ES35,100".into(), // 15: bad level
        "D9,,市第一人民医院,3,P9,2024-01-01,2024-01-02,ES35,100".into(),   // 16: missing hospital
    ]);
    w.write("cases.csv", csv_of(HEADER, &rows));
    let s = run_ok(&w, "cases.csv", "out");
    assert_eq!(counts(&s), (15, 6, 9));
    assert_eq!(s["rows"]["reconciles"], true);
    let rejects = std::fs::read_to_string(w.path("out/rejects.csv")).unwrap();
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines[0], "line,case_id,column,reason,file");
    let expect = [
        ("8,", "case_id", "case_id is empty"),
        ("9,D2", "admit_date", "'2024-13-01' is not a date"),
        ("10,D3", "discharge_date", "is before admit_date"),
        ("11,D4", "total_cost", "is negative"),
        // A cell not shaped like money is not quoted (it may be a shifted patient id).
        (
            "12,D5",
            "total_cost",
            "(a 3-character value, not shown) is not an amount",
        ),
        (
            "13,C1",
            "case_id",
            "duplicate case_id 'C1' (first seen on line 2)",
        ),
        ("14,D7", "group_code", "'XX99' is not in the catalogue"),
        ("15,D8", "hospital_level", "'四级' is not a hospital level"),
        ("16,D9", "hospital_id", "hospital_id is empty"),
    ];
    assert_eq!(lines.len(), expect.len() + 1);
    for (line, (prefix, column, reason)) in lines[1..].iter().zip(expect) {
        assert!(
            line.starts_with(prefix),
            "{line} should start with {prefix}"
        );
        assert!(
            line.contains(&format!(",{column},")),
            "{line} should name {column}"
        );
        assert!(line.contains(reason), "{line} should say {reason}");
    }
}

/// Ingest works in blocks of 65,536 rows: duplicates, hospitals and patients must be found
/// across blocks exactly as in one pass over the file.
#[test]
fn duplicates_hospitals_and_patients_are_found_across_ingest_blocks() {
    let w = Workdir::new();
    w.write("groups.csv", GROUPS);
    let n = 140_000;
    let mut rows: Vec<String> = (0..n)
        .map(|i| {
            let h = if i % 2 == 0 { "H1" } else { "H2" };
            format!(
                "C{i},{h},医院{h},3,P{},2023-03-02,2023-03-05,ES31,16000",
                i % 50_000
            )
        })
        .collect();
    rows.extend([
        // Line n + 2, block 2: duplicate of C5 (line 7, block 0).
        "C5,H1,医院H1,3,P77,2023-03-02,2023-03-05,ES31,16000".to_string(),
        // Line n + 3: a hospital and a patient first seen in the last block.
        "Y1,H9,医院H9,2,PNEW,2023-03-02,2023-03-05,ES31,16000".into(),
        // Line n + 4: duplicate of C70000 (line 70002, block 1).
        "C70000,H2,医院H2,3,P1,2023-03-02,2023-03-05,ES31,16000".into(),
    ]);
    w.write("cases.csv", csv_of(HEADER, &rows));
    let s = run_ok(&w, "cases.csv", "out");
    assert_eq!(counts(&s), (n + 3, n + 1, 2));
    assert_eq!(s["hospitals"], 3, "H1, H2 and H9 from the last block");
    assert_eq!(
        s["patients"], 50_001,
        "P0..P49999 repeat across blocks, plus PNEW"
    );
    let rejects = std::fs::read_to_string(w.path("out/rejects.csv")).unwrap();
    let lines: Vec<&str> = rejects.lines().skip(1).collect();
    assert_eq!(lines.len(), 2, "{rejects}");
    assert!(
        lines[0].starts_with(&format!("{},C5,case_id,", n + 2))
            && lines[0].contains("(first seen on line 7)"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(&format!("{},C70000,case_id,", n + 4))
            && lines[1].contains("(first seen on line 70002)"),
        "{}",
        lines[1]
    );
}

#[test]
fn a_missing_required_column_is_one_clear_line_and_a_failure() {
    let w = Workdir::new();
    w.write("groups.csv", GROUPS);
    w.write("cases.csv", "case_id,hospital_id\nC1,H1\n");
    let o = w.run(&run_args("cases.csv", "out"));
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cases.csv")
            && err.contains("patient_id")
            && err.contains("psn_no")
            && err.contains("人员编号"),
        "{err}"
    );
    assert!(!w.path("out").exists(), "no half output on failure");
}

#[test]
fn a_file_without_usable_rows_fails_and_names_the_first_problem() {
    let w = Workdir::new();
    w.write("groups.csv", GROUPS);
    w.write(
        "cases.csv",
        csv_of(
            HEADER,
            &["X1,H1,A,3,P1,2024-01-01,2024-01-02,ZZ11,100".to_string()],
        ),
    );
    let o = w.run(&[
        "run",
        "--cases",
        "cases.csv",
        "--groups",
        "groups.csv",
        "--out",
        "out",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no usable rows") && err.contains("line 2") && err.contains("ZZ11"),
        "{err}"
    );
}

#[test]
fn same_input_gives_byte_identical_outputs_except_timings() {
    let w = Workdir::new();
    w.write("groups.csv", GROUPS);
    w.write("cases.csv", csv_of(HEADER, &valid_rows()));
    run_ok(&w, "cases.csv", "a");
    run_ok(&w, "cases.csv", "b");
    for f in ["rejects.csv", "report.html"] {
        assert_eq!(
            std::fs::read(w.path(&format!("a/{f}"))).unwrap(),
            std::fs::read(w.path(&format!("b/{f}"))).unwrap(),
            "{f}"
        );
    }
    let (mut a, mut b) = (summary(&w.path("a")), summary(&w.path("b")));
    a["timings_ms"] = serde_json::Value::Null;
    b["timings_ms"] = serde_json::Value::Null;
    assert_eq!(a, b);
}
