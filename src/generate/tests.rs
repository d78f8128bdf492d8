use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::catalog::Catalogue;
use super::*;

fn opts(seed: u64, cases_per_year: usize, scheme: Scheme) -> GenerateOptions {
    GenerateOptions {
        seed,
        cases_per_year,
        scheme,
        ..GenerateOptions::default()
    }
}

/// A parsed CSV: header and rows (the generator never quotes case fields).
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn read(path: &Path) -> Table {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines = text.lines();
        let header = lines
            .next()
            .unwrap()
            .split(',')
            .map(str::to_string)
            .collect();
        let rows = lines
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect();
        Table { header, rows }
    }

    fn col(&self, name: &str) -> usize {
        self.header.iter().position(|h| h == name).unwrap()
    }
}

fn cents(s: &str) -> i64 {
    let (a, b) = s.split_once('.').unwrap();
    a.parse::<i64>().unwrap() * 100 + b.parse::<i64>().unwrap()
}

fn region(o: &GenerateOptions) -> (tempfile::TempDir, GenerateReport) {
    let dir = tempfile::tempdir().unwrap();
    let report = generate(o, dir.path()).unwrap();
    (dir, report)
}

const FILES: [&str; 4] = [
    "cases.csv",
    "groups.csv",
    "truth_hospitals.csv",
    "truth_cases.csv",
];

#[test]
fn same_seed_same_bytes_different_seed_different_cases() {
    let o = opts(7, 8_000, Scheme::Drg);
    let (a, ra) = region(&o);
    let (b, rb) = region(&o);
    assert_eq!(ra, rb);
    for f in FILES {
        let x = std::fs::read(a.path().join(f)).unwrap();
        let y = std::fs::read(b.path().join(f)).unwrap();
        assert!(x == y, "{f} differs between identical runs");
    }
    let (c, _) = region(&opts(8, 8_000, Scheme::Drg));
    for f in ["cases.csv", "truth_cases.csv"] {
        let x = std::fs::read(a.path().join(f)).unwrap();
        let z = std::fs::read(c.path().join(f)).unwrap();
        assert!(x != z, "{f} identical for different seeds");
    }
}

#[test]
fn report_counts_match_files_and_volume_is_near_target() {
    let o = opts(1, 10_000, Scheme::Drg);
    let (dir, rep) = region(&o);
    let cases = Table::read(&dir.path().join("cases.csv"));
    assert_eq!(cases.rows.len(), rep.cases);
    assert_eq!(
        Table::read(&dir.path().join("groups.csv")).rows.len(),
        rep.groups
    );
    assert_eq!(
        Table::read(&dir.path().join("truth_cases.csv")).rows.len(),
        rep.gamed_cases
    );
    // Two years of about 10,000 stays, plus the honest grower and injected gaming.
    assert!(
        (18_000..=23_000).contains(&rep.cases),
        "{} cases",
        rep.cases
    );
    let ids: BTreeSet<&str> = cases.rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids.len(), cases.rows.len(), "case ids not unique");
}

#[test]
fn fees_and_payments_sum_to_total_cost() {
    let (dir, _) = region(&opts(3, 6_000, Scheme::Drg));
    let t = Table::read(&dir.path().join("cases.csv"));
    let total = t.col("total_cost");
    let first_fee = t.col("fee_bed");
    let (fund, selfp, own) = (t.col("fund_paid"), t.col("self_pay"), t.col("own_expense"));
    let surgery = t.col("fee_surgery");
    let mut surgical_fee_rows = 0;
    for r in &t.rows {
        let tc = cents(&r[total]);
        let fee_sum: i64 = r[first_fee..first_fee + 14].iter().map(|v| cents(v)).sum();
        assert!((fee_sum - tc).abs() <= 1, "fees {fee_sum} vs total {tc}");
        let pay = cents(&r[fund]) + cents(&r[selfp]) + cents(&r[own]);
        assert!((pay - tc).abs() <= 1);
        surgical_fee_rows += usize::from(cents(&r[surgery]) > 0);
    }
    // Surgical groups carry surgery fees, medical ones none: both kinds must occur.
    assert!(surgical_fee_rows > 0 && surgical_fee_rows < t.rows.len());
}

#[test]
fn drg_catalogue_weights_fall_with_severity() {
    let (dir, rep) = region(&opts(1, 2_000, Scheme::Drg));
    let t = Table::read(&dir.path().join("groups.csv"));
    assert!((150..=260).contains(&rep.groups), "{} groups", rep.groups);
    let mut fams: BTreeMap<String, BTreeMap<u8, f64>> = BTreeMap::new();
    for r in &t.rows {
        assert_eq!(&r[0][..3], r[2], "family must be the ADRG");
        assert_eq!(
            r[0][3..].parse::<u8>().unwrap(),
            r[3].parse::<u8>().unwrap()
        );
        fams.entry(r[2].clone())
            .or_default()
            .insert(r[3].parse().unwrap(), r[1].parse().unwrap());
    }
    let mut triples = 0;
    for (fam, sev) in &fams {
        let w = |s| sev.get(&s).copied();
        if let (Some(a), Some(b)) = (w(1), w(3)) {
            assert!(a > b, "{fam}: RW 1 {a} <= RW 3 {b}");
        }
        if let (Some(a), Some(b)) = (w(3), w(5)) {
            assert!(a > b, "{fam}: RW 3 {a} <= RW 5 {b}");
        }
        if let (Some(a), Some(b)) = (w(1), w(5)) {
            assert!(a > b, "{fam}: RW 1 {a} <= RW 5 {b}");
        }
        triples += usize::from(sev.len() == 3);
    }
    assert!(triples >= 20, "only {triples} families with 1/3/5 siblings");
}

/// Severity of each group from groups.csv.
fn severities(dir: &Path) -> BTreeMap<String, u8> {
    Table::read(&dir.join("groups.csv"))
        .rows
        .iter()
        .map(|r| (r[0].clone(), r[3].parse().unwrap()))
        .collect()
}

#[test]
fn tertiary_is_more_severe_than_primary() {
    let (dir, _) = region(&opts(5, 15_000, Scheme::Drg));
    let sev = severities(dir.path());
    let t = Table::read(&dir.path().join("cases.csv"));
    let (lvl, grp) = (t.col("hospital_level"), t.col("group_code"));
    let mut n = [0usize; 4];
    let mut high = [0usize; 4];
    for r in &t.rows {
        let l: usize = r[lvl].parse().unwrap();
        let s = sev[&r[grp]];
        if s != 9 {
            n[l] += 1;
            high[l] += usize::from(s == 1 || s == 3);
        }
    }
    let share = |l: usize| high[l] as f64 / n[l] as f64;
    assert!(
        share(3) > share(1) + 0.1,
        "tertiary {} vs primary {}",
        share(3),
        share(1)
    );
    assert!(share(3) > share(2) && share(2) > share(1));
}

#[test]
fn case_truth_only_at_gaming_hospitals_and_every_gamer_has_cases() {
    let (dir, _) = region(&opts(11, 20_000, Scheme::Drg));
    let hosp = Table::read(&dir.path().join("truth_hospitals.csv"));
    let truth = Table::read(&dir.path().join("truth_cases.csv"));
    let cases = Table::read(&dir.path().join("cases.csv"));
    let role: BTreeMap<&str, &str> = hosp
        .rows
        .iter()
        .map(|r| (r[0].as_str(), r[3].as_str()))
        .collect();
    let in_cases: BTreeSet<&str> = cases.rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        in_cases.len(),
        role.len(),
        "every hospital has stays and a truth row"
    );
    let case_ids: BTreeSet<&str> = cases.rows.iter().map(|r| r[0].as_str()).collect();
    let mut per_hospital: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in &truth.rows {
        assert_eq!(
            role[r[1].as_str()],
            "gaming",
            "truth case at non-gaming {}",
            r[1]
        );
        assert!(
            case_ids.contains(r[0].as_str()),
            "truth case {} not in cases.csv",
            r[0]
        );
        assert!(r[0].starts_with(&r[1]));
        per_hospital.entry(&r[1]).or_default().insert(&r[2]);
    }
    let defaults = default_gaming(2024);
    for r in hosp.rows.iter().filter(|r| r[3] == "gaming") {
        let got = per_hospital.get(r[0].as_str());
        assert!(got.is_some(), "gaming hospital {} has no truth cases", r[0]);
        assert_eq!(
            got.unwrap().iter().copied().collect::<Vec<_>>().join(";"),
            r[4]
        );
    }
    assert_eq!(
        hosp.rows.iter().filter(|r| r[3] == "gaming").count(),
        defaults.len()
    );
    for role_name in [
        "confounder_sicker_tertiary",
        "confounder_oncology_centre",
        "confounder_honest_growth",
        "confounder_tiny_clinic",
    ] {
        assert!(
            hosp.rows.iter().any(|r| r[3] == role_name),
            "no {role_name}"
        );
    }
}

#[test]
fn diagnosis_codes_match_severity() {
    let (dir, _) = region(&opts(13, 10_000, Scheme::Drg));
    let cat = Catalogue::build(Scheme::Drg);
    let flags: BTreeMap<&str, (bool, bool)> = cat
        .icd
        .iter()
        .map(|c| (c.code.as_ref(), (c.cc, c.mcc)))
        .collect();
    let adrg: BTreeMap<&str, &str> = cat
        .icd
        .iter()
        .map(|c| (c.code.as_ref(), c.adrg.as_ref()))
        .collect();
    let sev = severities(dir.path());
    let t = Table::read(&dir.path().join("cases.csv"));
    let (grp, main, sec) = (
        t.col("group_code"),
        t.col("main_diagnosis"),
        t.col("secondary_diagnoses"),
    );
    let mut own_adrg = 0;
    for r in &t.rows {
        let codes: Vec<&str> = r[sec].split(';').filter(|s| !s.is_empty()).collect();
        let mcc = codes.iter().any(|c| flags[c].1);
        let cc = codes.iter().any(|c| flags[c].0 && !flags[c].1);
        match sev[&r[grp]] {
            1 => assert!(mcc, "severity-1 case without MCC: {r:?}"),
            3 => assert!(cc && !mcc, "severity-3 case needs a CC and no MCC: {r:?}"),
            5 => assert!(!cc && !mcc, "severity-5 case with CC/MCC: {r:?}"),
            _ => {}
        }
        assert!(flags.contains_key(r[main].as_str()));
        own_adrg += usize::from(adrg[r[main].as_str()] == &r[grp][..3]);
    }
    // Medical groups take their main diagnosis from their own ADRG.
    assert!(
        own_adrg * 3 > t.rows.len(),
        "{own_adrg} of {}",
        t.rows.len()
    );
}

#[test]
fn chinese_header_gbk_round_trips() {
    let mut o = opts(2, 1_500, Scheme::Drg);
    o.header_style = HeaderStyle::Chinese;
    o.encoding = OutputEncoding::Gbk;
    let (dir, _) = region(&o);
    let bytes = std::fs::read(dir.path().join("cases.csv")).unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "GBK output must not be UTF-8"
    );
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(&bytes);
    assert!(!had_errors);
    let header = text.lines().next().unwrap();
    assert_eq!(
        header,
        writer::case_header(HeaderStyle::Chinese, Scheme::Drg).join(",")
    );
    assert!(header.starts_with("结算ID,定点医药机构编号,定点医药机构名称,医保结算等级,人员编号"));
    assert!(text.contains("市第一人民医院"));
}

#[test]
fn dip_region_has_diagnosis_families() {
    let (dir, rep) = region(&opts(17, 6_000, Scheme::Dip));
    let g = Table::read(&dir.path().join("groups.csv"));
    assert!(rep.groups >= 100, "{} DIP groups", rep.groups);
    let mut fam_groups: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in &g.rows {
        assert_eq!(r[3], "9");
        assert_eq!(r[2].len(), 3);
        assert!(r[0].starts_with(&format!("{}:", r[2])));
        fam_groups
            .entry(&r[2])
            .or_default()
            .push(r[1].parse().unwrap());
    }
    for (f, w) in &fam_groups {
        assert!((2..=4).contains(&w.len()), "{f}: {} groups", w.len());
        assert!(
            w.windows(2).all(|p| p[0] < p[1]),
            "{f}: scores must rise with treatment"
        );
    }
    let family: BTreeMap<&str, &str> = g
        .rows
        .iter()
        .map(|r| (r[0].as_str(), r[2].as_str()))
        .collect();
    let t = Table::read(&dir.path().join("cases.csv"));
    let (grp, main) = (t.col("group_code"), t.col("main_diagnosis"));
    for r in &t.rows {
        assert!(r[main].starts_with(family[r[grp].as_str()]), "{r:?}");
    }
    let truth = Table::read(&dir.path().join("truth_cases.csv"));
    assert!(truth.rows.iter().any(|r| r[2] == "upcoding"));
}

/// Group code → index in the catalogue.
fn group_index(cat: &Catalogue) -> BTreeMap<&str, usize> {
    cat.groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.code.as_str(), i))
        .collect()
}

/// The ids of the hospitals `truth_hospitals.csv` calls clean.
fn clean_hospitals(hosp: &Table) -> BTreeSet<&str> {
    hosp.rows
        .iter()
        .filter(|r| r[3] == "clean")
        .map(|r| r[0].as_str())
        .collect()
}

/// Clean hospitals' completed stays (discharged home) under the DRG low threshold, and
/// the mean cost over the expected cost, in a region with `cheap` cheap completed stays.
fn completed_low_share_and_cost_ratio(cheap: f64) -> (f64, f64) {
    let o = GenerateOptions {
        cheap_completed_share: cheap,
        ..opts(29, 20_000, Scheme::Drg)
    };
    let (dir, _) = region(&o);
    let cat = Catalogue::build(Scheme::Drg);
    let gi = group_index(&cat);
    let hosp = Table::read(&dir.path().join("truth_hospitals.csv"));
    let clean = clean_hospitals(&hosp);
    let t = Table::read(&dir.path().join("cases.csv"));
    let (h, lvl, grp, cost, disp) = (
        t.col("hospital_id"),
        t.col("hospital_level"),
        t.col("group_code"),
        t.col("total_cost"),
        t.col("discharge_disposition"),
    );
    let (mut n, mut low, mut sum_cost, mut sum_expected) = (0, 0, 0.0, 0.0);
    for r in t.rows.iter().filter(|r| clean.contains(r[h].as_str())) {
        let e = cat.expected_cost(gi[r[grp].as_str()], r[lvl].parse().unwrap());
        let c = cents(&r[cost]) as f64 / 100.0;
        n += 1;
        low += usize::from(r[disp] == "1" && c < LOW_THRESHOLD_DRG * e);
        sum_cost += c;
        sum_expected += e;
    }
    (low as f64 / n as f64, sum_cost / sum_expected)
}

/// The scenario grid's cheap completed stays put honest, completed stays under the low
/// threshold (about 0.6 of them: lognormal, median 0.4), and leave the expected cost of
/// a group where it was.
#[test]
fn cheap_completed_stays_fall_under_the_threshold_and_keep_the_mean_cost() {
    let (none, ratio_none) = completed_low_share_and_cost_ratio(0.0);
    let (some, ratio_some) = completed_low_share_and_cost_ratio(0.06);
    assert!(none < 0.01, "completed low share without them {none}");
    assert!(
        (0.025..0.05).contains(&(some - none)),
        "6 % cheap completed stays add {} to the completed low share",
        some - none
    );
    for r in [ratio_none, ratio_some] {
        assert!((0.97..1.03).contains(&r), "mean cost / expected {r}");
    }
}

#[test]
fn natural_low_share_and_readmissions_are_realistic() {
    let o = opts(23, 20_000, Scheme::Drg);
    let (dir, _) = region(&o);
    let cat = Catalogue::build(Scheme::Drg);
    let gi = group_index(&cat);
    let hosp = Table::read(&dir.path().join("truth_hospitals.csv"));
    let clean = clean_hospitals(&hosp);
    let t = Table::read(&dir.path().join("cases.csv"));
    let (h, lvl, grp, cost) = (
        t.col("hospital_id"),
        t.col("hospital_level"),
        t.col("group_code"),
        t.col("total_cost"),
    );
    let (pat, adm, dis) = (
        t.col("patient_id"),
        t.col("admit_date"),
        t.col("discharge_date"),
    );
    let (mut n, mut low) = (0, 0);
    for r in t.rows.iter().filter(|r| clean.contains(r[h].as_str())) {
        let e = cat.expected_cost(gi[r[grp].as_str()], r[lvl].parse().unwrap());
        n += 1;
        low += usize::from((cents(&r[cost]) as f64 / 100.0) < LOW_THRESHOLD_DRG * e);
    }
    let share = low as f64 / n as f64;
    assert!(
        (0.025..=0.07).contains(&share),
        "natural low-multiplier share {share}"
    );

    // Unplanned readmissions within 30 days across the region, by patient.
    let day = |s: &str| -> i32 {
        let p: Vec<u32> = s.split('-').map(|x| x.parse().unwrap()).collect();
        cases::days_from_civil(p[0] as i32, p[1], p[2])
    };
    let mut by_patient: BTreeMap<&str, Vec<(i32, i32, &str)>> = BTreeMap::new();
    for r in &t.rows {
        by_patient
            .entry(&r[pat])
            .or_default()
            .push((day(&r[adm]), day(&r[dis]), &r[h]));
    }
    let (mut stays, mut readmit, mut short_gap, mut elsewhere) = (0, 0, 0, 0);
    for v in by_patient.values_mut() {
        v.sort();
        stays += v.iter().filter(|s| clean.contains(s.2)).count();
        for w in v.windows(2) {
            let gap = w[1].0 - w[0].1;
            if (0..=30).contains(&gap) && clean.contains(w[0].2) {
                readmit += 1;
                short_gap += usize::from(gap <= 1);
                elsewhere += usize::from(w[0].2 != w[1].2);
            }
        }
    }
    let rate = readmit as f64 / stays as f64;
    assert!((0.03..=0.10).contains(&rate), "readmission rate {rate}");
    assert!(
        short_gap * 10 < readmit,
        "{short_gap} of {readmit} at 0-1 days"
    );
    assert!(elsewhere > 0);
}

#[test]
fn invalid_options_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(1, 1_000, Scheme::Drg);
    o.years = vec![2024, 2023];
    assert!(matches!(
        generate(&o, dir.path()),
        Err(GenerateError::Invalid(_))
    ));
    let mut o = opts(1, 1_000, Scheme::Drg);
    o.gaming[0].hospital_id = "H999".into();
    assert!(matches!(
        generate(&o, dir.path()),
        Err(GenerateError::Invalid(_))
    ));
    assert_eq!(
        GamingPattern::parse("split_stays"),
        Some(GamingPattern::SplitStays)
    );
}

// ---- Scenario families (the evaluation grid) ----

use super::scenario::{self, Scenario};

#[test]
fn scenario_draws_stay_within_their_stated_ranges() {
    for seed in 0..300 {
        let s = Scenario::draw(seed, false);
        let n = s.hospitals.len();
        assert!(
            (scenario::HOSPITALS.0..=scenario::HOSPITALS.1).contains(&n),
            "seed {seed}: {n} hospitals"
        );
        assert!(
            (scenario::CASES_PER_YEAR.0..=scenario::CASES_PER_YEAR.1).contains(&s.cases_per_year)
        );
        assert!(matches!(s.years.len(), 2 | 3));
        assert_eq!(*s.years.last().unwrap(), scenario::AUDITED_YEAR);
        assert!(
            s.gaming_hospitals() >= scenario::GAMING_HOSPITALS.0,
            "seed {seed}"
        );
        let default_low = match s.scheme {
            Scheme::Drg => LOW_THRESHOLD_DRG,
            Scheme::Dip => LOW_THRESHOLD_DIP,
        };
        assert_eq!(s.threshold_shifted, s.low_threshold != default_low);
        let (lo, hi) = scenario::CHEAP_COMPLETED;
        assert!((lo..hi).contains(&s.cheap_completed_share), "seed {seed}");
        assert_eq!(s.options().cheap_completed_share, s.cheap_completed_share);
        for g in &s.gaming {
            let (lo, hi) = scenario::intensity_range(g.pattern);
            assert!(
                (lo..=hi).contains(&g.intensity),
                "seed {seed}: {} at {} outside {lo}–{hi}",
                g.pattern.as_str(),
                g.intensity
            );
            let i: usize = g.hospital_id[1..].parse().unwrap();
            assert_eq!(
                s.hospitals[i - 1].role,
                Role::Clean,
                "gaming only at clean hospitals"
            );
            assert!(g.start_year == scenario::AUDITED_YEAR || g.start_year < s.years[0]);
        }
        // The generator accepts every drawn scenario.
        validate(&s.options()).unwrap();
    }
}

#[test]
fn every_family_appears_over_many_seeds() {
    let (mut roles, mut patterns, mut catalogues) = (BTreeSet::new(), BTreeSet::new(), Vec::new());
    let (mut contaminated, mut shifted, mut persistent, mut dip, mut three_years) = (0, 0, 0, 0, 0);
    for seed in 0..200 {
        let s = Scenario::draw(seed, false);
        roles.extend(s.hospitals.iter().map(|h| h.role));
        patterns.extend(s.gaming.iter().map(|g| g.pattern));
        catalogues.push(s.catalogue);
        contaminated += usize::from(s.contamination.is_some());
        shifted += usize::from(s.threshold_shifted);
        persistent += usize::from(s.gaming.iter().any(|g| g.start_year < s.years[0]));
        dip += usize::from(s.scheme == Scheme::Dip);
        three_years += usize::from(s.years.len() == 3);
    }
    assert_eq!(roles.len(), 10, "every honest role: {roles:?}");
    assert_eq!(patterns.len(), GamingPattern::ALL.len());
    for c in [
        CatalogueColumns::Standard,
        CatalogueColumns::Minimal,
        CatalogueColumns::WithBenchmarks,
    ] {
        assert!(catalogues.contains(&c), "{c:?}");
    }
    for (what, n) in [
        ("contamination", contaminated),
        ("shifted threshold", shifted),
        ("persistent gaming", persistent),
        ("DIP", dip),
        ("three years", three_years),
    ] {
        assert!((20..180).contains(&n), "{what}: {n} of 200");
    }
}

#[test]
fn no_gaming_is_the_same_region_with_every_hospital_honest() {
    for seed in [1, 2, 3, 1000, 2000] {
        let (g, h) = (Scenario::draw(seed, false), Scenario::draw(seed, true));
        assert!(!g.gaming.is_empty());
        assert!(h.gaming.is_empty() && h.contamination.is_none());
        assert_eq!(
            (&g.hospitals, &g.years, g.scheme, g.cases_per_year),
            (&h.hospitals, &h.years, h.scheme, h.cases_per_year)
        );
        assert_eq!(
            (g.low_threshold, g.catalogue),
            (h.low_threshold, h.catalogue)
        );
    }
    let s = Scenario::draw(1, true);
    let dir = tempfile::tempdir().unwrap();
    let r = generate(
        &GenerateOptions {
            cases_per_year: 3_000,
            ..s.options()
        },
        dir.path(),
    )
    .unwrap();
    assert_eq!(r.gamed_cases, 0);
    let truth = Table::read(&dir.path().join("truth_hospitals.csv"));
    let role = truth.col("role");
    assert!(truth.rows.iter().all(|r| r[role] != "gaming"));
}

/// A roster with one hospital of every honest role next to ordinary peers.
fn every_role_roster() -> Vec<HospitalSpec> {
    let mut roster = Vec::new();
    let mut push = |role, level, units: f64, n: usize| {
        for k in 0..n {
            roster.push(HospitalSpec {
                name: format!("{}{k}", role_name(role)),
                level,
                role,
                units,
            });
        }
    };
    push(Role::Clean, 3, 8.0, 4);
    push(Role::Clean, 2, 2.5, 10);
    push(Role::Clean, 1, 0.8, 8);
    push(Role::SickerTertiary, 3, 10.0, 1);
    push(Role::OncologyCentre, 3, 4.0, 1);
    push(Role::Efficient, 2, 2.5, 1);
    push(Role::Rehabilitation, 2, 2.5, 1);
    push(Role::Merger, 2, 2.5, 1);
    push(Role::HonestGrowth, 2, 2.5, 1);
    push(Role::Childrens, 3, 4.0, 1);
    push(Role::Tcm, 2, 2.5, 1);
    push(Role::TinyClinic, 1, 0.0, 2);
    roster
}

fn role_name(role: Role) -> &'static str {
    role.as_str().trim_start_matches("confounder_")
}

#[test]
fn padders_aim_at_the_threshold_the_region_pays_on() {
    for (low, scheme) in [(0.3, Scheme::Drg), (0.5, Scheme::Drg), (0.4, Scheme::Dip)] {
        let roster = every_role_roster();
        let dir = tempfile::tempdir().unwrap();
        let o = GenerateOptions {
            seed: 5,
            cases_per_year: 20_000,
            scheme,
            roster: Some(roster),
            low_threshold: Some(low),
            gaming: vec![GamingSpec {
                hospital_id: "H001".into(),
                pattern: GamingPattern::LowThresholdPadding,
                intensity: 0.9,
                start_year: 2024,
                variant: Default::default(),
            }],
            ..GenerateOptions::default()
        };
        generate(&o, dir.path()).unwrap();
        let cat = Catalogue::build(scheme);
        let group: BTreeMap<&str, usize> = cat
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.code.as_str(), i))
            .collect();
        let padded: BTreeSet<String> = Table::read(&dir.path().join("truth_cases.csv"))
            .rows
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        let cases = Table::read(&dir.path().join("cases.csv"));
        let (id, g, cost, level) = (
            cases.col("case_id"),
            cases.col("group_code"),
            cases.col("total_cost"),
            cases.col("hospital_level"),
        );
        let mut n = 0;
        for r in cases.rows.iter().filter(|r| padded.contains(&r[id])) {
            let lv: u8 = r[level].parse().unwrap();
            let ratio =
                cents(&r[cost]) as f64 / 100.0 / cat.expected_cost(group[r[g].as_str()], lv);
            assert!(
                (low - 1e-6..=low * 1.12 + 1e-3).contains(&ratio),
                "threshold {low}: a padded case at multiplier {ratio:.3}"
            );
            n += 1;
        }
        assert!(n > 10, "threshold {low}: only {n} padded cases");
    }
}

#[test]
fn confounders_behave_as_their_family_says() {
    let roster = every_role_roster();
    let dir = tempfile::tempdir().unwrap();
    let o = GenerateOptions {
        seed: 11,
        cases_per_year: 20_000,
        roster: Some(roster.clone()),
        gaming: Vec::new(),
        planned_flag: PlannedFlag::BeforeNextCycle,
        ..GenerateOptions::default()
    };
    let r = generate(&o, dir.path()).unwrap();
    assert_eq!(r.gamed_cases, 0, "confounders are honest");
    let cases = Table::read(&dir.path().join("cases.csv"));
    let (hid, los, cost, age, admit, discharge, planned, patient, weight_of) = (
        cases.col("hospital_id"),
        cases.col("los_days"),
        cases.col("total_cost"),
        cases.col("age"),
        cases.col("admit_date"),
        cases.col("discharge_date"),
        cases.col("planned_readmission_31d"),
        cases.col("patient_id"),
        cases.col("group_code"),
    );
    let cat = Catalogue::build(Scheme::Drg);
    let rw: BTreeMap<&str, f64> = cat.groups.iter().map(|g| (g.code.as_str(), g.rw)).collect();
    let id_of = |role: Role| -> Vec<String> {
        roster
            .iter()
            .enumerate()
            .filter(|(_, h)| h.role == role)
            .map(|(i, _)| format!("H{:03}", i + 1))
            .collect()
    };
    let secondary_clean: Vec<String> = roster
        .iter()
        .enumerate()
        .filter(|(_, h)| h.role == Role::Clean && h.level == 2)
        .map(|(i, _)| format!("H{:03}", i + 1))
        .collect();
    // Mean LOS and cost per unit of weight at a set of hospitals.
    let means = |ids: &[String]| {
        let rows: Vec<&Vec<String>> = cases
            .rows
            .iter()
            .filter(|r| ids.contains(&r[hid]))
            .collect();
        let n = rows.len() as f64;
        let l = rows
            .iter()
            .map(|r| r[los].parse::<f64>().unwrap())
            .sum::<f64>()
            / n;
        let c = rows
            .iter()
            .map(|r| cents(&r[cost]) as f64 / 100.0 / rw[r[weight_of].as_str()])
            .sum::<f64>()
            / n;
        (l, c)
    };
    let (peer_los, peer_cost) = means(&secondary_clean);
    let (eff_los, eff_cost) = means(&id_of(Role::Efficient));
    assert!(eff_los < 0.85 * peer_los && eff_cost < 0.9 * peer_cost);
    let (tcm_los, tcm_cost) = means(&id_of(Role::Tcm));
    assert!(tcm_los > 1.1 * peer_los && tcm_cost < 0.95 * peer_cost);
    let (rehab_los, _) = means(&id_of(Role::Rehabilitation));
    assert!(rehab_los > 1.6 * peer_los, "{rehab_los} vs {peer_los}");
    let children = id_of(Role::Childrens);
    let child_rows: Vec<&Vec<String>> = cases
        .rows
        .iter()
        .filter(|r| children.contains(&r[hid]))
        .collect();
    // Readmissions referred in from elsewhere are adults; the hospital's own are children.
    let young = child_rows
        .iter()
        .filter(|r| r[age].parse::<u32>().unwrap() < 15)
        .count();
    assert!(young as f64 > 0.97 * child_rows.len() as f64);
    // Merger: the audited year holds about twice the baseline's stays.
    let merger = id_of(Role::Merger);
    let per_year = |y: &str| {
        cases
            .rows
            .iter()
            .filter(|r| merger.contains(&r[hid]) && r[discharge].starts_with(y))
            .count() as f64
    };
    let growth = per_year("2024") / per_year("2023");
    assert!((1.7..2.4).contains(&growth), "merger growth {growth}");
    // Oncology: a course's stays are flagged at the discharge that plans the next cycle,
    // so most courses end on an unflagged stay.
    let onc = id_of(Role::OncologyCentre);
    let mut last: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for r in cases
        .rows
        .iter()
        .filter(|r| onc.contains(&r[hid]) && r[planned] == "1")
    {
        last.entry(&r[patient]).or_insert(("", ""));
    }
    for r in cases.rows.iter().filter(|r| onc.contains(&r[hid])) {
        if let Some(e) = last.get_mut(r[patient].as_str())
            && r[admit].as_str() > e.0
        {
            *e = (&r[admit], &r[planned]);
        }
    }
    let ends_unflagged = last.values().filter(|(_, p)| *p == "0").count();
    assert!(
        ends_unflagged as f64 > 0.6 * last.len() as f64,
        "{ends_unflagged} of {} courses end unflagged",
        last.len()
    );
}

#[test]
fn catalogue_columns_follow_the_option() {
    for (columns, header) in [
        (CatalogueColumns::Minimal, "group_code,weight"),
        (
            CatalogueColumns::WithBenchmarks,
            "group_code,weight,family,severity,benchmark_cost,benchmark_los,group_name",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let o = GenerateOptions {
            cases_per_year: 2_000,
            catalogue: columns,
            ..GenerateOptions::default()
        };
        generate(&o, dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join("groups.csv")).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(header));
        let first: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(first.len(), header.split(',').count());
        if columns == CatalogueColumns::WithBenchmarks {
            assert!(first[4].parse::<f64>().unwrap() > 0.0);
            assert!(first[5].parse::<f64>().unwrap() > 0.0);
        }
    }
}

/// Issue 14.2: `--focus-gaming` puts every gamed stay of a gaming hospital in the
/// department and under the physician `truth_hospitals.csv` names (the drill-down's known
/// answer); without it the truth file keeps its columns.
#[test]
fn focus_gaming_puts_every_gamed_stay_in_the_named_department_and_physician() {
    let plain = region(&opts(5, 6000, Scheme::Drg));
    let header = Table::read(&plain.0.path().join("truth_hospitals.csv")).header;
    assert!(
        !header.iter().any(|h| h.starts_with("focus_")),
        "{header:?}"
    );
    let o = GenerateOptions {
        focus_gaming: true,
        ..opts(5, 6000, Scheme::Drg)
    };
    let (dir, _) = region(&o);
    let truth = Table::read(&dir.path().join("truth_hospitals.csv"));
    let (tid, tpat, tdept, tphys) = (
        truth.col("hospital_id"),
        truth.col("patterns"),
        truth.col("focus_department"),
        truth.col("focus_physician"),
    );
    let focus: BTreeMap<&str, (&str, &str)> = truth
        .rows
        .iter()
        .filter(|r| !r[tpat].is_empty())
        .map(|r| (r[tid].as_str(), (r[tdept].as_str(), r[tphys].as_str())))
        .collect();
    assert!(focus.len() >= 5, "{focus:?}");
    for (h, (d, p)) in &focus {
        assert!(!d.is_empty() && p.starts_with(h), "{h}: {d} {p}");
    }
    let cases = Table::read(&dir.path().join("cases.csv"));
    let (cid, cdept, cphys) = (
        cases.col("case_id"),
        cases.col("department"),
        cases.col("physician_id"),
    );
    let where_: BTreeMap<&str, (&str, &str)> = cases
        .rows
        .iter()
        .map(|r| (r[cid].as_str(), (r[cdept].as_str(), r[cphys].as_str())))
        .collect();
    let gamed = Table::read(&dir.path().join("truth_cases.csv"));
    let (gid, gh) = (gamed.col("case_id"), gamed.col("hospital_id"));
    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &gamed.rows {
        let h = r[gh].as_str();
        let want = focus[h];
        assert_eq!(where_[r[gid].as_str()], want, "{} of {h}", r[gid]);
        *per.entry(h).or_default() += 1;
    }
    // Every gaming hospital still games (a low-threshold padder in one department of a
    // 6,000-stay region has few cheap stays to pad: a handful, not dozens).
    for h in focus.keys() {
        assert!(per.get(h).is_some_and(|n| *n >= 1), "{h}: {per:?}");
    }
    assert!(per.values().sum::<usize>() >= 50, "{per:?}");
}
