//! `regions`: a two-region table is listed and split, and each split audits exactly like
//! the region's own file (issue 12, item 4: one job per pooling region).

use crate::common::*;

/// Writes `a` and `b` (generated regions' `cases.csv`) as one table with a `region` column
/// in front, their rows interleaved in blocks of 7 (each region's rows stay in file order).
fn combine(a: &str, b: &str) -> String {
    let (a, b) = (
        std::fs::read_to_string(a).unwrap(),
        std::fs::read_to_string(b).unwrap(),
    );
    let (mut la, mut lb) = (a.lines(), b.lines());
    let header = la.next().unwrap();
    assert_eq!(Some(header), lb.next(), "same columns");
    let mut out = format!("region,{header}\n");
    loop {
        let mut any = false;
        for (name, lines) in [("230100", &mut la), ("230200", &mut lb)] {
            for line in lines.by_ref().take(7) {
                out.push_str(&format!("{name},{line}\n"));
                any = true;
            }
        }
        if !any {
            return out;
        }
    }
}

#[test]
fn regions_lists_and_splits_and_each_split_audits_like_its_own_file() {
    let w = Workdir::new();
    for (dir, seed) in [("a", "3"), ("b", "4")] {
        let o = w.run(&[
            "generate",
            "--out",
            dir,
            "--seed",
            seed,
            "--cases-per-year",
            "1500",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let all = combine(
        w.path("a/cases.csv").to_str().unwrap(),
        w.path("b/cases.csv").to_str().unwrap(),
    );
    w.write("all.csv", &all);
    let count = |dir: &str| {
        std::fs::read_to_string(w.path(dir).join("cases.csv"))
            .unwrap()
            .lines()
            .count()
            - 1
    };
    let (na, nb) = (count("a"), count("b"));

    let o = w.run(&["regions", "--cases", "all.csv"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let listed = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut expect = [("230100", na), ("230200", nb)];
    expect.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
    let want = format!(
        "region,stays,folder\n{0},{1},{0}\n{2},{3},{2}\n",
        expect[0].0, expect[0].1, expect[1].0, expect[1].1
    );
    assert_eq!(listed, want);

    let o = w.run(&["regions", "--cases", "all.csv", "--split", "split"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let index = std::fs::read_to_string(w.path("split/regions.csv")).unwrap();
    assert_eq!(index, want);
    // Split again into the same folder: it is this program's output, so it is replaced.
    let o = w.run(&["regions", "--cases", "all.csv", "--split", "split"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    for (region, dir) in [("230100", "a"), ("230200", "b")] {
        for (cases, out) in [
            (
                format!("split/{region}/cases.csv"),
                format!("out-split-{dir}"),
            ),
            (format!("{dir}/cases.csv"), format!("out-{dir}")),
        ] {
            let o = w.run(&[
                "run",
                "--cases",
                &cases,
                "--groups",
                &format!("{dir}/groups.csv"),
                "--config",
                &format!("{dir}/region.toml"),
                "--out",
                &out,
                "--quiet",
            ]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        for file in ["hospitals.csv", "findings.csv", "cases_for_review.csv"] {
            let a = std::fs::read(w.path(&format!("out-{dir}/{file}"))).unwrap();
            let b = std::fs::read(w.path(&format!("out-split-{dir}/{file}"))).unwrap();
            assert!(a == b, "{file} of region {region} differs after the split");
        }
    }
    // The split case tables are input data, not outputs: the leak check skips them.
    std::fs::remove_dir_all(w.path("split")).unwrap();
}

#[test]
fn regions_without_a_region_column_says_which_names_it_looked_for() {
    let w = Workdir::new();
    w.write("cases.csv", csv_of(HEADER, &valid_rows()));
    let o = w.run(&["regions", "--cases", "cases.csv"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no region column") && err.contains("--column"),
        "{err}"
    );
    let o = w.run(&["regions", "--cases", "cases.csv", "--column", "hospital_id"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("region,stays,folder\n"));
}
