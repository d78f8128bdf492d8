//! Hostile and messy inputs (issue 13): each test is named after the defect it guards. The
//! fixtures are generated here; none is a committed blob.

mod common;

use common::{GROUPS, HEADER, Workdir, csv_of, valid_rows};

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
    let o = w.run(&[
        "run",
        "--cases",
        "cases.csv",
        "--groups",
        "groups.csv",
        "--out",
        "out",
        "--quiet",
    ]);
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
    let o = w.run(&[
        "run",
        "--cases",
        "cases.csv",
        "--groups",
        "groups.csv",
        "--out",
        "out",
        "--quiet",
    ]);
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
