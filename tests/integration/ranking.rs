//! Ranking guards: a tiny hospital never outranks a large one on the same excess rate.

use crate::common::*;

/// Ten level-2 peers with 200 stays each, 10% of them low-multiplier; BIG (2,000 stays) and
/// SMALL (5 stays) both at 40% low-multiplier.
fn region() -> String {
    let mut rows = Vec::new();
    let mut id = 0;
    let mut add = |hosp: &str, n: usize, low_share: f64| {
        let lows = (n as f64 * low_share).round() as usize;
        for k in 0..n {
            id += 1;
            let cost = if k < lows { 500 } else { 8000 + (k % 7) * 100 };
            rows.push(format!(
                "C{id},{hosp},{hosp},2,P{id},2024-03-01,2024-03-05,ES35,{cost}"
            ));
        }
    };
    for p in 0..10 {
        add(&format!("PEER{p:02}"), 200, 0.10);
    }
    add("BIG", 2000, 0.40);
    add("SMALL", 5, 0.40);
    csv_of(HEADER, &rows)
}

#[test]
fn a_5_case_hospital_never_outranks_a_2000_case_one_at_the_same_excess_rate() {
    let w = Workdir::new();
    w.write("groups.csv", GROUPS);
    w.write("cases.csv", region());
    let o = w.run(&[
        "run",
        "--cases",
        "cases.csv",
        "--groups",
        "groups.csv",
        "--out",
        "out",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let hospitals = std::fs::read_to_string(w.path("out/hospitals.csv")).unwrap();
    let row = |id: &str| -> Vec<String> {
        hospitals
            .lines()
            .find(|l| l.starts_with(&format!("{id},")))
            .unwrap()
            .split(',')
            .map(str::to_string)
            .collect()
    };
    let (big, small) = (row("BIG"), row("SMALL"));
    let rank = |r: &[String]| r[1].parse::<usize>().unwrap();
    let low_score = |r: &[String]| r[5].parse::<f64>().unwrap();
    assert_eq!(rank(&big), 1, "{hospitals}");
    assert!(rank(&small) > rank(&big));
    assert!(
        low_score(&big) > 3.0 * low_score(&small),
        "big {} small {}",
        low_score(&big),
        low_score(&small)
    );
    assert!(
        big[6].contains("LM_LOW_EXCESS"),
        "BIG is flagged: {:?}",
        big[6]
    );
    assert!(
        !small[6].contains("LM_LOW_EXCESS"),
        "SMALL is not flagged on 2 of 5 cases: {:?}",
        small[6]
    );
    // The shrunk excess of SMALL is a fraction of its raw excess (2 − 0.5 = 1.5 cases).
    let findings = std::fs::read_to_string(w.path("out/findings.csv")).unwrap();
    assert!(
        findings
            .lines()
            .any(|l| l.starts_with("SMALL,") && l.contains("LM_LOW_EXCESS"))
    );
}
