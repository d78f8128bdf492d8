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
    assert!(rank(&small) > rank(&big) || rank(&big) == 1, "{hospitals}");
    // LM_LOW_EXCESS is supporting (a cheaper hospital has more low-multiplier stays
    // honestly): neither is flagged on it alone, whatever the evidence.
    let flags = |r: &[String]| r[6].split(';').map(str::to_string).collect::<Vec<_>>();
    assert!(
        !flags(&big).iter().any(|f| f == "LM_LOW_EXCESS"),
        "{:?}",
        big[6]
    );
    assert!(
        !flags(&small).iter().any(|f| f == "LM_LOW_EXCESS"),
        "{:?}",
        small[6]
    );
    // BIG's median stay costs what its peers' do, so at its own cost level its 40 % of
    // stays at a sixteenth of that are still low: the scored test flags it; SMALL's five
    // stays are no evidence.
    assert!(
        flags(&big)
            .iter()
            .any(|f| f == "LM_LOW_EXCESS_AT_OWN_LEVEL"),
        "{:?}",
        big[6]
    );
    assert!(
        !small[6].contains("LM_LOW_EXCESS_AT_OWN_LEVEL"),
        "{:?}",
        small[6]
    );
    let findings = std::fs::read_to_string(w.path("out/findings.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(findings.as_bytes());
    let head = reader.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let finding = |id: &str| {
        csv::Reader::from_reader(findings.as_bytes())
            .records()
            .map(|r| r.unwrap())
            .find(|r| &r[0] == id && &r[col("indicator")] == "LM_LOW_EXCESS")
            .unwrap()
    };
    let (fb, fs) = (finding("BIG"), finding("SMALL"));
    let num = |r: &csv::StringRecord, c: &str| r[col(c)].parse::<f64>().unwrap();
    // The same excess rate is overwhelming evidence on 2,000 stays and none on 5.
    assert!(num(&fb, "p") < 1e-6, "BIG p {}", num(&fb, "p"));
    assert!(num(&fs, "p") > 0.01, "SMALL p {}", num(&fs, "p"));
    assert!(num(&fb, "z") > 3.0 * num(&fs, "z"));
    // SMALL's shrunk money is a sliver of BIG's.
    assert!(
        num(&fs, "excess_points") < 0.01 * num(&fb, "excess_points"),
        "{} vs {}",
        num(&fs, "excess_points"),
        num(&fb, "excess_points")
    );
}
