//! Hostile and messy inputs (issue 13): each test is named after the defect it guards. The
//! fixtures are generated here; none is a committed blob.

use crate::common::{self, GROUPS, HEADER, Workdir, csv_of, run_args, valid_rows};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Issue 13 item 1: a folder holding `summary.json` is not proof of a previous output.
#[test]
fn out_never_deletes_a_folder_it_did_not_make() {
    let w = Workdir::new();
    std::fs::create_dir_all(w.path("X/raw")).unwrap();
    w.write("X/cases.csv", csv_of(HEADER, &valid_rows()));
    w.write("X/groups.csv", GROUPS);
    w.write("X/raw/keep.txt", "raw data");
    w.write("X/summary.json", "{}");
    let o = w.run(&[
        "run",
        "--cases",
        "X/cases.csv",
        "--groups",
        "X/groups.csv",
        "--out",
        "X",
        "--quiet",
    ]);
    assert!(!o.status.success(), "must refuse a foreign folder");
    let err = stderr(&o);
    assert!(err.contains("not written by drg-audit"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    for f in [
        "X/cases.csv",
        "X/groups.csv",
        "X/raw/keep.txt",
        "X/summary.json",
    ] {
        assert!(w.path(f).exists(), "{f} was deleted");
    }
}

/// Issue 13 item 1: a previous output is replaced; a note a user added to it is never lost.
#[test]
fn out_replaces_its_own_output_but_keeps_a_users_note() {
    let w = Workdir::new();
    w.write("cases.csv", csv_of(HEADER, &valid_rows()));
    w.write("groups.csv", GROUPS);
    let args = [
        "run",
        "--cases",
        "cases.csv",
        "--groups",
        "groups.csv",
        "--out",
        "out",
        "--quiet",
    ];
    assert!(w.run(&args).status.success());
    assert!(w.path("out/.drg-audit-output.json").is_file());
    // A second run replaces the first one's output.
    let o = w.run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    // A note added by the user makes the folder the user's: refused, nothing deleted.
    w.write("out/my-note.txt", "inspect H1 first");
    let o = w.run(&args);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("my-note.txt"), "{}", stderr(&o));
    assert!(w.path("out/my-note.txt").is_file());
    assert!(w.path("out/hospitals.csv").is_file());
    // A report edited after it was written is the user's too.
    std::fs::remove_file(w.path("out/my-note.txt")).unwrap();
    w.write("out/hospitals.csv", "edited");
    let o = w.run(&args);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("changed after"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(w.path("out/hospitals.csv")).unwrap(),
        "edited"
    );
}

/// Issue 13 item 10: a dangling symbolic link as `--out` is refused before any work, and no
/// staging folder is left behind.
#[cfg(unix)]
#[test]
fn dangling_symlink_out_is_refused_and_leaves_no_staging() {
    let w = Workdir::new();
    w.write("cases.csv", csv_of(HEADER, &valid_rows()));
    w.write("groups.csv", GROUPS);
    std::os::unix::fs::symlink(w.path("nowhere"), w.path("out")).unwrap();
    let o = w.run(&run_args("cases.csv", "out"));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
    let staging: Vec<_> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".drg-audit-staging")
        })
        .collect();
    assert!(staging.is_empty(), "staging left behind");
}

/// Issue 13 item 10: staging folders of killed runs are cleaned by the next run; a folder
/// that merely looks like one (no lock file of ours) is left alone.
#[test]
fn abandoned_staging_folders_are_removed_by_the_next_run() {
    let w = Workdir::new();
    w.write("cases.csv", csv_of(HEADER, &valid_rows()));
    w.write("groups.csv", GROUPS);
    std::fs::create_dir(w.path(".drg-audit-staging-999999999-abc")).unwrap();
    // pid 999999999 cannot exist (the kernel's pid_max is far below it).
    w.write(
        ".drg-audit-staging-999999999-abc/.drg-audit-staging",
        "999999999",
    );
    w.write(".drg-audit-staging-999999999-abc/hospitals.csv", "x");
    std::fs::create_dir(w.path(".drg-audit-staging-lookalike")).unwrap();
    w.write(".drg-audit-staging-lookalike/notes.txt", "mine");
    let o = w.run(&run_args("cases.csv", "out"));
    assert!(o.status.success(), "{}", stderr(&o));
    if std::path::Path::new("/proc/self").exists() {
        assert!(!w.path(".drg-audit-staging-999999999-abc").exists());
    }
    assert!(w.path(".drg-audit-staging-lookalike/notes.txt").exists());
}

/// Issue 13 item 2: text cells a spreadsheet would run as formulas get a `'` prefix in every
/// CSV output; numbers stay numbers.
#[test]
fn csv_formula_injection_is_neutralised_in_outputs() {
    let w = Workdir::new();
    let rows: Vec<String> = valid_rows()
        .into_iter()
        .map(|r| {
            r.replace("市第一人民医院", "=HYPERLINK(\"http://evil\")")
                .replace("县医院", "\"+cmd|' /C calc'!A0\"")
        })
        .chain(["@bad,H3,\t=1+1,3,P9,2024-13-01,2024-03-09,ES35,100".to_string()])
        .collect();
    w.write("cases.csv", csv_of(HEADER, &rows));
    w.write("groups.csv", GROUPS);
    let o = w.run(&[
        "run",
        "--cases",
        "cases.csv",
        "--groups",
        "groups.csv",
        "--out",
        "out",
        "--quiet",
        "--allow-rejects",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "hospitals.csv",
        "findings.csv",
        "rejects.csv",
        "cases_for_review.csv",
    ] {
        let text = std::fs::read_to_string(w.path(&format!("out/{f}"))).unwrap();
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        for rec in r.records() {
            for cell in rec.unwrap().iter() {
                let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
                    && cell.parse::<f64>().is_err();
                assert!(!risky, "{f}: formula cell {cell:?}");
            }
        }
    }
    let hospitals = std::fs::read_to_string(w.path("out/hospitals.csv")).unwrap();
    assert!(hospitals.contains("'=HYPERLINK"), "{hospitals}");
    let rejects = std::fs::read_to_string(w.path("out/rejects.csv")).unwrap();
    assert!(rejects.contains("'@bad"), "{rejects}");
}

/// Issue 13 item 8: Excel's Chinese default date display (`2024/1/5`) is read; a file whose
/// rows are mostly unusable fails in one line unless `--allow-rejects` is given.
#[test]
fn chinese_excel_dates_are_read_and_a_mostly_rejected_file_fails() {
    let w = Workdir::new();
    w.write("groups.csv", GROUPS);
    let excel: Vec<String> = valid_rows()
        .into_iter()
        .map(|r| r.replace("-0", "/").replace('-', "/"))
        .collect();
    assert!(excel[0].contains("2023/1/2"), "{}", excel[0]);
    w.write("excel.csv", csv_of(HEADER, &excel));
    let o = w.run(&run_args("excel.csv", "a"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(common::summary(&w.path("a"))["rows"]["rejected"], 0);
    // Most rows in a form no reader knows (month first): refused, nothing written.
    let us: Vec<String> = valid_rows()
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            if i < 4 {
                r.replace("2023-01-02", "01/02/2023")
                    .replace("2023-02-02", "02/02/2023")
                    .replace("2023-03-01", "03/01/2023")
                    .replace("2024-01-10", "01/10/2024")
            } else {
                r
            }
        })
        .collect();
    w.write("us.csv", csv_of(HEADER, &us));
    let args = [
        "run",
        "--cases",
        "us.csv",
        "--groups",
        "groups.csv",
        "--out",
        "b",
        "--quiet",
    ];
    let o = w.run(&args);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("us.csv")
            && err.contains("admit_date")
            && err.contains("line 2")
            && err.contains("--allow-rejects"),
        "{err}"
    );
    assert!(!w.path("b").exists());
    let mut allowed = args.to_vec();
    allowed.push("--allow-rejects");
    let o = w.run(&allowed);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(common::summary(&w.path("b"))["rows"]["rejected"], 4);
}

/// `n` valid rows of one hospital (enough that one bad row stays under the reject limit).
fn many_rows(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("C{i},H1,市医院,3,P00100004{i:02},2024-01-02,2024-01-05,ES31,16000"))
        .collect()
}

/// Issue 13 item 5: a shifted row puts a patient id into another column; no reject reason,
/// report or message may echo it.
#[test]
fn patient_ids_never_leak_from_shifted_rows_or_engine_errors() {
    let w = Workdir::new();
    w.write("groups.csv", GROUPS);
    let mut rows = many_rows(40);
    rows.push("C99,H1,3,P0010000404,2024-01-02,2024-01-05,ES31,16000".into());
    w.write("shifted.csv", csv_of(HEADER, &rows));
    let o = w.run(&run_args("shifted.csv", "out"));
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "rejects.csv",
        "report.html",
        "hospitals.csv",
        "findings.csv",
        "summary.json",
    ] {
        let text = std::fs::read_to_string(w.path(&format!("out/{f}"))).unwrap();
        assert!(!text.contains("P001"), "{f} echoes a patient id");
    }
    assert!(!stderr(&o).contains("P001") && !String::from_utf8_lossy(&o.stdout).contains("P001"));
    // An unterminated quote: one line naming the line, the row itself not printed.
    let mut rows = many_rows(40);
    rows.push("C97,H1,\"市医院,3,P0010000777,2024-01-02,2024-01-05,ES31,16000".into());
    w.write("quote.csv", csv_of(HEADER, &rows));
    let o = w.run(&run_args("quote.csv", "out2"));
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("line 42") && err.contains("never closes"),
        "{err}"
    );
    assert!(!err.contains("P001"), "{err}");
    assert_eq!(err.trim().lines().count(), 1);
}

/// Issue 13 item 9: a row with more fields than the header is rejected with the count; line
/// numbers count physical lines when quoted fields hold line breaks.
#[test]
fn extra_fields_are_rejected_and_lines_count_quoted_newlines() {
    let w = Workdir::new();
    w.write("groups.csv", GROUPS);
    let mut rows = many_rows(40);
    rows[3] = rows[3].replace("市医院", "\"市\n医\n院\"");
    rows.push("C98,H1,市医院,3,P0010000405,2024-01-02,2024-01-05,ES31,16000,extra,more".into());
    rows.push("C96,H1,市医院,3,P0010000406,2024-01-02,2024-13-05,ES31,16000".into());
    w.write("cases.csv", csv_of(HEADER, &rows));
    let o = w.run(&run_args("cases.csv", "out"));
    assert!(o.status.success(), "{}", stderr(&o));
    let rejects = std::fs::read_to_string(w.path("out/rejects.csv")).unwrap();
    // Header line 1, 40 rows of which row 4 spans three lines: C98 is on line 44, C96 on 45.
    assert!(
        rejects.contains("44,C98,fields,the row has 11 fields where the header has 9"),
        "{rejects}"
    );
    assert!(rejects.contains("45,C96,discharge_date"), "{rejects}");
    assert_eq!(common::summary(&w.path("out"))["rows"]["read"], 42);
}

/// Issue 13 item 7: a device, a pipe or a folder given as an input is refused at once.
#[cfg(unix)]
#[test]
fn special_files_as_inputs_are_refused_without_hanging() {
    let w = Workdir::new();
    w.write("groups.csv", GROUPS);
    w.write("cases.csv", csv_of(HEADER, &valid_rows()));
    let fifo = w.path("fifo.csv");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let fifo = fifo.to_string_lossy().into_owned();
    for args in [
        run_args("/dev/zero", "o1"),
        run_args(&fifo, "o2"),
        run_args(".", "o3"),
        vec![
            "run",
            "--cases",
            "cases.csv",
            "--groups",
            "/dev/zero",
            "--out",
            "o4",
        ],
        vec![
            "run",
            "--cases",
            "cases.csv",
            "--groups",
            "groups.csv",
            "--config",
            &fifo,
            "--out",
            "o5",
        ],
    ] {
        let o = w.run(&args);
        assert!(!o.status.success(), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains("not a regular file") || err.contains("is a folder"),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

/// Issue 13 item 6: a cost of 1e308 is a data error, not a stay; a catalogue weight of
/// 1e308 is refused.
#[test]
fn overflowing_costs_and_weights_are_refused() {
    let w = Workdir::new();
    w.write("groups.csv", GROUPS);
    let mut rows = many_rows(40);
    rows.push("C95,H1,市医院,3,P9,2024-01-02,2024-01-05,ES31,1e308".into());
    w.write("cases.csv", csv_of(HEADER, &rows));
    let o = w.run(&run_args("cases.csv", "out"));
    assert!(o.status.success(), "{}", stderr(&o));
    let rejects = std::fs::read_to_string(w.path("out/rejects.csv")).unwrap();
    assert!(
        rejects.contains("C95,total_cost") && rejects.contains("100,000,000"),
        "{rejects}"
    );
    let hospitals = std::fs::read_to_string(w.path("out/hospitals.csv")).unwrap();
    assert!(
        !hospitals.contains("inf") && !hospitals.contains("NaN"),
        "{hospitals}"
    );
    w.write(
        "huge.csv",
        "group_code,weight\nES31,1e308\nES33,1.1\nES35,0.8\n",
    );
    let o = w.run(&[
        "run",
        "--cases",
        "cases.csv",
        "--groups",
        "huge.csv",
        "--out",
        "o2",
        "--quiet",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("weight"), "{}", stderr(&o));
    // The bound is the region's: a 2-million-yuan stay passes the default, not a region
    // that set 1 million; a bound that is no positive number is refused.
    rows.pop();
    rows.push("C96,H1,市医院,3,P9,2024-01-02,2024-01-05,ES31,2000000".into());
    w.write("cases.csv", csv_of(HEADER, &rows));
    let o = w.run(&run_args("cases.csv", "o3"));
    assert!(o.status.success(), "{}", stderr(&o));
    let rejects = std::fs::read_to_string(w.path("o3/rejects.csv")).unwrap_or_default();
    assert!(!rejects.contains("C96"), "{rejects}");
    w.write("tight.toml", "[data]\nmax_stay_cost_yuan = 1_000_000.0\n");
    let mut args = run_args("cases.csv", "o4");
    args.extend(["--config", "tight.toml"]);
    let o = w.run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let rejects = std::fs::read_to_string(w.path("o4/rejects.csv")).unwrap();
    assert!(
        rejects.contains("C96,total_cost") && rejects.contains("1,000,000 yuan"),
        "{rejects}"
    );
    for bad in ["0.0", "nan", "-5.0"] {
        w.write("bad.toml", format!("[data]\nmax_stay_cost_yuan = {bad}\n"));
        let mut args = run_args("cases.csv", "o5");
        args.extend(["--config", "bad.toml"]);
        let o = w.run(&args);
        assert!(!o.status.success(), "max_stay_cost_yuan = {bad} accepted");
        assert!(
            stderr(&o).contains("data.max_stay_cost_yuan"),
            "{}",
            stderr(&o)
        );
    }
}

/// Issue 13 item 4: one stray Latin-1 byte in a UTF-8 file keeps it UTF-8 (names intact),
/// the byte's line counted in `summary.json`.
#[test]
fn one_stray_byte_does_not_garble_a_utf8_file() {
    let w = Workdir::new();
    w.write("groups.csv", GROUPS);
    let mut bytes = csv_of(HEADER, &many_rows(40)).into_bytes();
    bytes.extend_from_slice(b"C99,H1,Caf\xe9,3,P0010000999,2024-01-02,2024-01-05,ES31,16000\n");
    w.write("cases.csv", bytes);
    let o = w.run(&run_args("cases.csv", "out"));
    assert!(o.status.success(), "{}", stderr(&o));
    let s = common::summary(&w.path("out"));
    assert_eq!(s["ingest"]["encoding"], "utf8");
    assert_eq!(s["ingest"]["invalid_utf8"]["invalid_sequences"], 1);
    assert_eq!(s["ingest"]["invalid_utf8"]["first_lines"][0], 42);
    let hospitals = std::fs::read_to_string(w.path("out/hospitals.csv")).unwrap();
    assert!(hospitals.contains("市医院"), "{hospitals}");
    // Issue 14: UTF-16 is read (this one has no case_id column, and says so); a file that
    // starts like a workbook but is none is named; tab-separated text is read.
    w.write("u16.csv", b"\xFF\xFEc\x00a\x00");
    let err = stderr(&w.run(&run_args("u16.csv", "o2")));
    assert!(err.contains("required column case_id is missing"), "{err}");
    w.write("book.csv", b"PK\x03\x04\x14\x00");
    let err = stderr(&w.run(&run_args("book.csv", "o3")));
    assert!(err.contains("Excel"), "{err}");
    w.write(
        "tabs.csv",
        csv_of(HEADER, &many_rows(40)).replace(',', "\t"),
    );
    let o = w.run(&run_args("tabs.csv", "o4"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(common::summary(&w.path("o4"))["ingest"]["delimiter"], "tab");
}

/// Issue 13 item 5: a GB18030 run killed while it transcodes leaves its UTF-8 copy (the whole
/// table, patient ids included) only in its own staging folder beside `--out`, never in the
/// system temp folder, and the next run removes that folder. The work folder's scan (see
/// `Workdir`) then finds no patient id anywhere.
#[test]
fn a_killed_gb18030_run_leaves_no_copy_of_the_table() {
    let w = Workdir::new();
    let o = w.run(&[
        "generate",
        "--out",
        "region",
        "--gbk",
        "--cases-per-year",
        "40000",
        "--seed",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let args = [
        "run",
        "--cases",
        "region/cases.csv",
        "--groups",
        "region/groups.csv",
        "--out",
        "out",
        "--quiet",
    ];
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_drg-audit"))
        .args(args)
        .current_dir(w.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("binary starts");
    let staged_copy = || -> Option<std::path::PathBuf> {
        for e in std::fs::read_dir(w.dir.path()).ok()?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".drg-audit-staging-") {
                for f in std::fs::read_dir(e.path()).ok()?.flatten() {
                    if f.file_name()
                        .to_string_lossy()
                        .starts_with(".drg-audit-utf8-")
                    {
                        return Some(f.path());
                    }
                }
            }
        }
        None
    };
    let started = std::time::Instant::now();
    let copy = loop {
        if let Some(p) = staged_copy() {
            break p;
        }
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the run ended before a transcoded copy was seen in its staging folder"
        );
        assert!(
            started.elapsed().as_secs() < 120,
            "no transcoded copy appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    child.kill().expect("kill");
    child.wait().expect("reap");
    assert!(
        copy.exists(),
        "the killed run's copy is in {}",
        copy.display()
    );
    assert!(!w.path("out").exists(), "a killed run published an output");
    // The next run (any run beside the same --out) removes the abandoned staging folder.
    let o = w.run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!copy.exists(), "{} survived the next run", copy.display());
    let left: Vec<String> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".drg-audit-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
