//! The detectors against generated regions with injected gaming (issue: detectors and
//! ranking; clustering for `cluster_mix_score`). Each region: per-score ROC-AUC ≥ 0.95 against the hospitals where that score's
//! patterns were injected (negatives: hospitals without injected gaming), precision@k ≥
//! 0.85 with k = the number of gaming hospitals, and no legitimate confounder in the top k.

use crate::common;

use drg_audit::cmd::run::{RunOptions, run};
use drg_audit::evaluate::{Evaluation, evaluate};
use drg_audit::generate::{self, GenerateOptions, Scheme};

fn audit_region(seed: u64, scheme: Scheme) -> (Evaluation, std::path::PathBuf, tempfile::TempDir) {
    let w = tempfile::tempdir().unwrap();
    let data = w.path().join("region");
    let opts = GenerateOptions {
        seed,
        scheme,
        cases_per_year: 40_000,
        ..GenerateOptions::default()
    };
    generate::generate(&opts, &data).unwrap();
    let out = w.path().join("out");
    run(&RunOptions {
        cases: data.join("cases.csv"),
        groups: Some(data.join("groups.csv")),
        config: None,
        preset: Some(
            if scheme == Scheme::Dip {
                "dip-national"
            } else {
                "drg-points"
            }
            .into(),
        ),
        period: None,
        out: out.clone(),
        lang: drg_audit::lang::Lang::En,
        quiet: true,
        max_reject_share: drg_audit::ingest::DEFAULT_MAX_REJECT_SHARE,
    })
    .unwrap();
    let e = evaluate(&out, &data.join("truth_hospitals.csv")).unwrap();
    (e, out, w)
}

/// Every upcoding or low-standard-admission hospital has a higher `cluster_mix_score` than
/// every clean hospital of its level (the clustering issue's bar).
fn cluster_mix_ranks_gamers_above_clean_peers(
    seed: u64,
    out: &std::path::Path,
    truth: &std::path::Path,
) {
    let read = |p: &std::path::Path| {
        let mut r = csv::Reader::from_path(p).unwrap();
        let h = r.headers().unwrap().clone();
        r.records()
            .map(|x| {
                let x = x.unwrap();
                h.iter()
                    .zip(x.iter())
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect::<std::collections::HashMap<_, _>>()
            })
            .collect::<Vec<_>>()
    };
    let truth = read(truth);
    let score: std::collections::HashMap<String, f64> = read(&out.join("hospitals.csv"))
        .into_iter()
        .map(|r| {
            (
                r["hospital_id"].clone(),
                r["cluster_mix_score"].parse().unwrap(),
            )
        })
        .collect();
    let mut gamers = 0;
    for g in truth.iter().filter(|t| {
        t["patterns"].contains("upcoding") || t["patterns"].contains("low_standard_admission")
    }) {
        gamers += 1;
        for c in truth
            .iter()
            .filter(|t| t["role"] == "clean" && t["hospital_level"] == g["hospital_level"])
        {
            assert!(
                score[&g["hospital_id"]] > score[&c["hospital_id"]],
                "seed {seed}: {} ({}) cluster mix {} not above clean {} ({})",
                g["hospital_id"],
                g["patterns"],
                score[&g["hospital_id"]],
                c["hospital_id"],
                score[&c["hospital_id"]]
            );
        }
    }
    assert!(
        gamers >= 2,
        "seed {seed}: the region has upcoding / LSA hospitals"
    );
}

fn check(seed: u64, scheme: Scheme) {
    let (e, out, w) = audit_region(seed, scheme);
    cluster_mix_ranks_gamers_above_clean_peers(
        seed,
        &out,
        &w.path().join("region/truth_hospitals.csv"),
    );
    eprintln!(
        "seed {seed} {scheme:?}: {}",
        serde_json::to_string(&e).unwrap()
    );
    for s in &e.scores {
        assert!(s.positives > 0, "{}: no positives", s.score);
        assert!(
            s.auc_vs_honest >= 0.95,
            "seed {seed}: {} AUC {:.3}",
            s.score,
            s.auc_vs_honest
        );
    }
    assert!(
        e.precision_at_k >= 0.85,
        "seed {seed}: precision@k {:.2}",
        e.precision_at_k
    );
    for c in &e.confounders {
        assert!(
            c.rank > e.gaming_hospitals,
            "seed {seed}: confounder {} ({}) ranks {}",
            c.hospital_id,
            c.role,
            c.rank
        );
    }
    assert!(
        e.confounders
            .iter()
            .any(|c| c.role == "confounder_sicker_tertiary")
    );
    assert!(
        e.confounders
            .iter()
            .any(|c| c.role == "confounder_oncology_centre")
    );
}

#[test]
fn drg_region_seed_7() {
    check(7, Scheme::Drg);
}

#[test]
fn drg_region_seed_8() {
    check(8, Scheme::Drg);
}

#[test]
fn drg_region_seed_9() {
    check(9, Scheme::Drg);
}

#[test]
fn dip_region_seed_11() {
    check(11, Scheme::Dip);
}

#[test]
fn flagged_hospitals_come_with_explained_case_leads_and_a_dilution() {
    let (_e, out, _w) = audit_region(7, Scheme::Drg);
    let hospitals = std::fs::read_to_string(out.join("hospitals.csv")).unwrap();
    let top = hospitals.lines().nth(1).unwrap();
    assert!(
        top.contains(",1,") && !top.contains(",,0.0,"),
        "the top hospital has flags and money: {top}"
    );
    let top_id = top.split(',').next().unwrap();
    let cases = std::fs::read_to_string(out.join("cases_for_review.csv")).unwrap();
    let mine: Vec<&str> = cases
        .lines()
        .filter(|l| l.contains(&format!(",{top_id},")))
        .collect();
    assert!(!mine.is_empty(), "case leads for the top hospital");
    let s = common::summary(&out);
    let d = &s["audit"]["dilution"];
    assert!(d["point_value_without_excess"].as_f64().unwrap() > d["point_value"].as_f64().unwrap());
    assert!(d["cost_to_other_hospitals"].as_f64().unwrap() > 0.0);
}
