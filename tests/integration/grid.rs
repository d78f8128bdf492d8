//! `evaluate --grid` (issue 10, item 7): the scenario grid runs end to end on tiny regions
//! and its tables have the promised shape. Values are only checked to be in range — the
//! detectors' quality is what the grid measures, and it changes with the statistics.

use crate::common::*;

fn grid(w: &Workdir, out: &str, extra: &[&str]) -> (String, serde_json::Value) {
    let mut args = vec![
        "evaluate",
        "--grid",
        "2",
        "--seed",
        "1",
        "--grid-cases-per-year",
        "2500",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    let o = w.run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    if !extra.contains(&"--quiet") {
        assert!(
            stderr.contains("region 2/2 (seed 2)"),
            "progress on stderr: {stderr}"
        );
    }
    let json = std::fs::read_to_string(w.path(out).join("grid.json")).expect("grid.json");
    let csv = std::fs::read_to_string(w.path(out).join("grid.csv")).expect("grid.csv");
    assert!(csv.starts_with("section,name,metric,value\n"));
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        serde_json::from_str(&json).expect("valid JSON"),
    )
}

/// A share, AUC or p-value: in [0, 1], or null where undefined.
fn unit(v: &serde_json::Value, what: &str) {
    if v.is_null() {
        return;
    }
    let x = v.as_f64().unwrap_or_else(|| panic!("{what} is {v}"));
    assert!((0.0..=1.0).contains(&x), "{what} = {x}");
}

#[test]
fn gamed_grid_prints_one_row_per_detector_score() {
    let w = Workdir::new();
    // The regions are kept, so that the work folder's scan (`Workdir`) searches every
    // region's audit output for patient ids too.
    let (stdout, g) = grid(&w, "gamed", &["--keep-regions", "kept"]);
    for seed in [1, 2] {
        assert!(w.path(&format!("kept/region-{seed}/cases.csv")).is_file());
        assert!(w.path(&format!("kept/run-{seed}/report.html")).is_file());
    }
    let o = w.run(&[
        "evaluate",
        "--grid",
        "1",
        "--keep-regions",
        "kept",
        "--quiet",
    ]);
    assert!(
        !o.status.success(),
        "an existing --keep-regions folder is refused"
    );
    assert!(
        stdout.contains("scenario grid: 2 gamed regions, seeds 1..2"),
        "{stdout}"
    );
    assert_eq!(g["regions"], 2);
    assert_eq!(g["no_gaming"], false);
    assert!(g["calibration"].is_null());
    let scores: Vec<&str> = g["detectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["score"].as_str().unwrap())
        .collect();
    assert_eq!(
        scores,
        [
            "upcoding_score",
            "point_chasing_score",
            "low_multiplier_score",
            "cluster_mix_score",
            "risk_score"
        ]
    );
    for d in g["detectors"].as_array().unwrap() {
        assert!(d["regions"].as_u64().unwrap() <= 2);
        for m in [
            "auc_median",
            "auc_p10",
            "precision_at_k_median",
            "confounder_in_top_k_share",
        ] {
            unit(&d[m], m);
        }
        assert!(stdout.contains(d["score"].as_str().unwrap()));
    }
    let regions = g["per_region"].as_array().unwrap();
    assert_eq!(regions.len(), 2);
    for r in regions {
        assert!(r["gaming_hospitals"].as_u64().unwrap() >= 3);
        assert!(r["hospitals"].as_u64().unwrap() >= 40);
        unit(&r["risk_auc"], "risk_auc");
    }
}

#[test]
fn honest_grid_reports_calibration_and_is_deterministic() {
    let w = Workdir::new();
    let (stdout, g) = grid(&w, "honest", &["--no-gaming", "--quiet"]);
    assert!(
        stdout.contains("scenario grid: 2 honest regions"),
        "{stdout}"
    );
    assert!(g["detectors"].as_array().unwrap().is_empty());
    let c = &g["calibration"];
    unit(&c["regions_with_a_flag_share"], "regions_with_a_flag_share");
    let bands: Vec<&str> = c["by_size"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["band"].as_str().unwrap())
        .collect();
    assert_eq!(bands, ["E<50", "E 50-500", "E>500"]);
    for b in c["by_size"].as_array().unwrap() {
        unit(&b["share_p_below_0_001"], "p<0.001");
        unit(&b["share_p_below_0_01"], "p<0.01");
    }
    let uniformity = c["uniformity"].as_array().unwrap();
    assert!(uniformity.len() >= 10, "one row per indicator");
    for u in uniformity {
        assert!(u["tests"].as_u64().unwrap() > 0);
        for m in [
            "ks_d_plus",
            "ks_d_plus_p",
            "ks_d",
            "ks_d_p",
            "share_p_below_0_01",
        ] {
            unit(&u[m], m);
        }
        assert!(u["ks_d"].as_f64() >= u["ks_d_plus"].as_f64());
    }
    for r in g["per_region"].as_array().unwrap() {
        assert_eq!(r["gaming_hospitals"], 0);
    }
    for f in g["honest_flags"].as_array().unwrap() {
        assert_ne!(f["role"], "gaming");
    }
    // Same N and seed, same table.
    let (again, _) = grid(&w, "honest-again", &["--no-gaming", "--quiet"]);
    assert_eq!(stdout.lines().next(), again.lines().next());
    assert_eq!(
        stdout
            .lines()
            .filter(|l| !l.starts_with("grid:"))
            .collect::<Vec<_>>(),
        again
            .lines()
            .filter(|l| !l.starts_with("grid:"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        std::fs::read(w.path("honest/grid.csv")).unwrap(),
        std::fs::read(w.path("honest-again/grid.csv")).unwrap()
    );
}

#[test]
fn evaluate_without_grid_still_needs_run_and_truth() {
    let w = Workdir::new();
    let o = w.run(&["evaluate", "--run", "x"]);
    assert!(!o.status.success());
    let o = w.run(&["evaluate", "--grid", "1", "--run", "x"]);
    assert!(!o.status.success(), "--grid and --run exclude each other");
}
