//! The regional model and `check` (issue: clustering, models and self-audit): the model
//! round-trips, and a hospital checking its own cases against the model hears what `run`
//! said about it — same flags, same rates, same evidence cases.

use crate::common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::common::Workdir;
use drg_audit::cmd::check::{CheckOptions, check};
use drg_audit::cmd::run::{RunOptions, run};
use drg_audit::generate::GenerateOptions;
use drg_audit::lang::Lang;
use drg_audit::published::RegionModel;

/// Rows of a CSV keyed by header, with the columns in `drop` removed.
fn rows(path: &Path, drop: &[&str]) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .filter(|(h, _)| !drop.contains(&h.as_str()))
                .map(|(h, v)| (h.clone(), v.to_string()))
                .collect()
        })
        .collect()
}

fn of_hospital(rows: &[BTreeMap<String, String>], h: &str) -> Vec<BTreeMap<String, String>> {
    rows.iter()
        .filter(|r| r["hospital_id"] == h)
        .cloned()
        .collect()
}

/// Writes the rows of `cases.csv` whose hospital is `h` (ids optionally prefixed).
fn batch_of(cases: &Path, h: &str, out: &Path, id_prefix: &str) {
    let mut r = csv::Reader::from_path(cases).unwrap();
    let headers = r.headers().unwrap().clone();
    let hi = headers.iter().position(|c| c == "hospital_id").unwrap();
    let ci = headers.iter().position(|c| c == "case_id").unwrap();
    let mut w = csv::Writer::from_path(out).unwrap();
    w.write_record(&headers).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        if &rec[hi] == h {
            let fields: Vec<String> = rec
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if i == ci {
                        format!("{id_prefix}{v}")
                    } else {
                        v.to_string()
                    }
                })
                .collect();
            w.write_record(&fields).unwrap();
        }
    }
    w.flush().unwrap();
}

struct Region {
    _dir: tempfile::TempDir,
    data: PathBuf,
    out: PathBuf,
}

/// Audits the region's cases into `out`; `suppress = false` sets the model's privacy
/// thresholds to 0 (every peer cell published).
fn run_region(data: &Path, out: &Path, suppress: bool) {
    let model = (!suppress).then_some("min_hospitals = 0\nmin_stays = 0");
    run_region_with(data, out, model);
}

/// `run` with the `[model]` privacy settings `model` (`None`: the preset's defaults).
fn run_region_with(data: &Path, out: &Path, model: Option<&str>) {
    let config = model.map(|m| {
        let p = data.join(format!("model-{}.toml", m.len()));
        std::fs::write(&p, format!("preset = \"drg-points\"\n[model]\n{m}\n")).unwrap();
        p
    });
    run(&RunOptions {
        cases: data.join("cases.csv"),
        groups: Some(data.join("groups.csv")),
        groups_sheet: None,
        tables: Default::default(),
        preset: config.is_none().then(|| "drg-points".into()),
        config,
        period: None,
        out: out.to_path_buf(),
        lang: Lang::En,
        quiet: true,
        max_reject_share: drg_audit::ingest::DEFAULT_MAX_REJECT_SHARE,
    })
    .unwrap();
}

fn audited_region(suppress: bool) -> Region {
    let (dir, data) = crate::common::generated_region(&GenerateOptions {
        seed: 7,
        cases_per_year: 20_000,
        ..GenerateOptions::default()
    });
    let out = dir.path().join("out");
    run_region(&data, &out, suppress);
    Region {
        _dir: dir,
        data,
        out,
    }
}

fn check_batch(region: &Region, batch: &Path, out: &str) -> PathBuf {
    check_batch_with(region, &region.out.join("model.json"), batch, out)
}

fn check_batch_with(region: &Region, model: &Path, batch: &Path, out: &str) -> PathBuf {
    let out = region.out.parent().unwrap().join(out);
    check(&CheckOptions {
        cases: batch.to_path_buf(),
        tables: Default::default(),
        model: model.to_path_buf(),
        out: out.clone(),
        period: None,
        lang: Lang::En,
        quiet: true,
        max_reject_share: drg_audit::ingest::DEFAULT_MAX_REJECT_SHARE,
    })
    .unwrap();
    out
}

/// With privacy suppression off (`[model] min_hospitals = 0, min_stays = 0`) the model
/// holds every peer cell and `check` must reproduce `run` exactly.
#[test]
fn check_on_each_hospitals_own_cases_agrees_with_run_and_the_model_round_trips() {
    let region = audited_region(false);
    let model_path = region.out.join("model.json");
    let text = std::fs::read_to_string(&model_path).unwrap();
    let model = RegionModel::read(&model_path).unwrap();
    assert_eq!(
        model.to_json().unwrap(),
        text,
        "model.json reads back and writes out byte for byte"
    );
    assert!(model.clusters.is_some(), "the model carries the clustering");
    assert_eq!(model.suppression, Default::default(), "nothing suppressed");

    let run_hospitals = rows(&region.out.join("hospitals.csv"), &["rank"]);
    let run_ranks = rows(&region.out.join("hospitals.csv"), &[]);
    let run_findings = rows(&region.out.join("findings.csv"), &["hospital_rank"]);
    let run_cases = rows(&region.out.join("cases_for_review.csv"), &["input_line"]);
    let run_levers = rows(&region.out.join("lever_codes.csv"), &["hospital_rank"]);
    let mut compared_levers = 0;
    let mut flagged_hospitals = 0;
    let mut compared_findings = 0;
    for (k, h) in run_hospitals.iter().enumerate() {
        let id = &h["hospital_id"];
        let batch = region.out.parent().unwrap().join(format!("batch-{k}.csv"));
        batch_of(&region.data.join("cases.csv"), id, &batch, "");
        let out = check_batch(&region, &batch, &format!("check-{k}"));
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("check.json")).unwrap())
                .unwrap();
        assert_eq!(summary["rows"]["reconciles"], true);
        assert_eq!(
            summary["hospitals"][0]["same_data_as_model"], true,
            "{id}: the batch is recognised as the model's own data"
        );
        let mine = rows(&out.join("hospitals.csv"), &["rank"]);
        assert_eq!(mine, vec![h.clone()], "{id}: hospitals.csv row");
        // Ranks agree unless the risk score is tied (check gives the best rank of a tie).
        let risk = &run_ranks[k]["risk_score"];
        if run_ranks
            .iter()
            .filter(|r| &r["risk_score"] == risk)
            .count()
            == 1
        {
            assert_eq!(
                rows(&out.join("hospitals.csv"), &[])[0]["rank"],
                run_ranks[k]["rank"],
                "{id}: rank"
            );
        }
        let f = rows(&out.join("findings.csv"), &["hospital_rank"]);
        assert_eq!(f, of_hospital(&run_findings, id), "{id}: findings.csv rows");
        compared_findings += f.len();
        let c = rows(&out.join("cases_for_review.csv"), &["input_line"]);
        assert_eq!(c, of_hospital(&run_cases, id), "{id}: cases_for_review.csv");
        // Issue 11 (model version 4): the lever pairs too, against the model's lever table.
        let l = rows(&out.join("lever_codes.csv"), &["hospital_rank"]);
        assert_eq!(l, of_hospital(&run_levers, id), "{id}: lever_codes.csv");
        compared_levers += l.len();
        if !h["flags"].is_empty() {
            flagged_hospitals += 1;
        }
    }
    assert!(
        flagged_hospitals >= 3,
        "the region has flagged hospitals to agree on"
    );
    assert!(compared_findings > 500);
    assert!(
        compared_levers > 100,
        "{compared_levers} lever rows compared"
    );
}

/// The id of the region's first upcoding hospital.
fn upcoder(region: &Region) -> String {
    rows(&region.data.join("truth_hospitals.csv"), &[])
        .into_iter()
        .find(|t| t["patterns"] == "upcoding")
        .expect("seed 7 has an upcoding hospital")["hospital_id"]
        .clone()
}

#[test]
fn a_new_batch_is_judged_against_the_whole_model_and_still_flags_the_gaming() {
    let region = audited_region(true);
    let id = &upcoder(&region);
    // The same stays under new case ids: not the model's own data any more.
    let batch = region.out.parent().unwrap().join("new.csv");
    batch_of(&region.data.join("cases.csv"), id, &batch, "NEW-");
    let out = check_batch(&region, &batch, "check-new");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("check.json")).unwrap()).unwrap();
    assert_eq!(summary["hospitals"][0]["same_data_as_model"], false);
    let run_row = &of_hospital(&rows(&region.out.join("hospitals.csv"), &[]), id)[0];
    let row = &rows(&out.join("hospitals.csv"), &[])[0];
    assert!(
        run_row["flags"].contains("UPC_") && row["flags"].contains("UPC_"),
        "run flags {} / check flags {}",
        run_row["flags"],
        row["flags"]
    );
    // With its own cases among the peers the evidence can only be weaker, never stronger.
    let score = |r: &BTreeMap<String, String>| r["upcoding_score"].parse::<f64>().unwrap();
    assert!(score(row) <= score(run_row) + 1e-9 && score(row) > 3.0);
    let page = std::fs::read_to_string(out.join("check.html")).unwrap();
    assert!(page.contains("This batch is new data"));
    // A second check into the same folder replaces the first one's output.
    let again = check_batch(&region, &batch, "check-new");
    assert_eq!(
        std::fs::read_to_string(again.join("check.html")).unwrap(),
        page,
        "same batch, same model: the same page"
    );
    assert!(page.contains("Evidence cases") && page.contains("Near the threshold"));
    assert!(
        std::fs::read_to_string(out.join("cases_near_threshold.csv"))
            .unwrap()
            .starts_with("case_id,hospital_id,group_code,findings,points_at_stake"),
    );
}

/// With the default privacy suppression a hospital's own batch (the model's own data) is
/// judged against peer cells that lost the suppressed ones, so its p-values differ from the
/// ones the model lists. Every finding must still get a q-value (it once came out NaN, and
/// nothing could flag), and the upcoder is still flagged.
#[test]
fn own_data_under_default_suppression_gets_a_q_value_for_every_finding() {
    let region = audited_region(true);
    let id = &upcoder(&region);
    let batch = region.out.parent().unwrap().join("own.csv");
    batch_of(&region.data.join("cases.csv"), id, &batch, "");
    let out = check_batch(&region, &batch, "check-own");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("check.json")).unwrap()).unwrap();
    assert_eq!(summary["hospitals"][0]["same_data_as_model"], true);
    let findings = rows(&out.join("findings.csv"), &[]);
    assert!(findings.len() > 5);
    for f in &findings {
        let q: f64 = f["q"].parse().unwrap_or(f64::NAN);
        assert!(
            q.is_finite() && (0.0..=1.0).contains(&q),
            "{} q = {:?}",
            f["indicator"],
            f["q"]
        );
        let p: f64 = f["p"].parse().unwrap();
        assert!(q + 1e-12 >= p, "{}: q {q} below p {p}", f["indicator"]);
    }
    let row = &rows(&out.join("hospitals.csv"), &[])[0];
    assert!(
        row["flags"].contains("UPC_"),
        "check flags {}",
        row["flags"]
    );
}

#[test]
fn check_refuses_a_file_that_is_not_a_model_in_one_line() {
    let w = Workdir::new();
    w.write(
        "cases.csv",
        common::csv_of(common::HEADER, &common::valid_rows()),
    );
    w.write("model.json", "{\"format\": \"something else\"}");
    let o = w.run(&[
        "check",
        "--cases",
        "cases.csv",
        "--model",
        "model.json",
        "--out",
        "o",
        "--quiet",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("model.json") && err.contains("not a drg-audit regional model"));
    w.write(
        "model.json",
        "{\"format\": \"drg-audit regional model\", \"version\": 99}",
    );
    let o = w.run(&[
        "check",
        "--cases",
        "cases.csv",
        "--model",
        "model.json",
        "--out",
        "o",
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("version 99") && err.contains("rebuild"),
        "{err}"
    );
}

#[test]
fn the_committed_sample_model_is_what_demo_builds_today() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/sample-drg.model.json");
    let model = RegionModel::read(&committed).expect("models/sample-drg.model.json reads");
    assert_eq!(model.version, drg_audit::published::MODEL_VERSION);
    assert!(model.clusters.is_some() && model.indicators.len() >= 15);
    let w = Workdir::new();
    let o = w.run(&["demo", "--out", "demo", "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        std::fs::read_to_string(w.path("demo/model.json")).unwrap()
            == std::fs::read_to_string(&committed).unwrap(),
        "models/sample-drg.model.json is stale: rebuild it (models/README.md)"
    );
}

/// Group and family index of every catalogue code (families numbered in order of first
/// appearance, as the catalogue numbers them).
/// Indicators compared within case families (the others: within groups).
const BY_FAMILY: [&str; 6] = [
    "UPC_UPPER_GROUP_SHARE",
    "UPC_WEIGHT_INDEX",
    "UPC_HEAVY_SHARE_JUMP",
    "PC_READMISSION",
    "PC_READMISSION_0_1D",
    "PC_PLANNED_FLAG",
];

fn strata_of(model: &RegionModel) -> HashMap<String, (u32, u32)> {
    let mut families: Vec<&str> = Vec::new();
    let mut out = HashMap::new();
    for (g, row) in model.catalogue.iter().enumerate() {
        let f = families
            .iter()
            .position(|f| *f == row.family)
            .unwrap_or_else(|| {
                families.push(&row.family);
                families.len() - 1
            });
        out.insert(row.code.clone(), (g as u32, f as u32));
    }
    out
}

/// With suppression on (the defaults, 3 hospitals and 11 stays) a hospital whose
/// same-level peer cells are all published hears exactly what `run` said: for every
/// indicator where no cell at the hospital's level in any of its groups (families, for the
/// family-stratified indicators) was suppressed, its findings row is `run`'s.
/// Elsewhere its peers are all levels' (exact pooled sums) or none; the figures are
/// printed.
#[test]
fn small_peer_cells_are_suppressed_and_check_agrees_with_run_where_none_was() {
    let region = audited_region(false);
    let on = region.out.parent().unwrap().join("out-suppressed");
    // Light suppression (cells of one hospital or one stay): with the defaults (3, 11)
    // every hospital of this small region has a suppressed cell in some group of every
    // group-stratified indicator, and nothing would be left to compare.
    run_region_with(&region.data, &on, Some("min_hospitals = 2\nmin_stays = 2"));
    let off_model = RegionModel::read(&region.out.join("model.json")).unwrap();
    let on_model = RegionModel::read(&on.join("model.json")).unwrap();
    let s = &on_model.suppression;
    assert!(s.peer_cells > 0 && s.pooled_rows > 0, "{s:?}");
    // Cells that `run` had and the model does not publish, by indicator and level.
    let mut hidden: HashMap<(String, u8), BTreeSet<u32>> = HashMap::new();
    for (code, off) in &off_model.indicators {
        let on_keys: BTreeSet<(u8, u32, u8)> = on_model.indicators[code]
            .peers
            .iter()
            .map(|r| (r.0, r.1, r.2))
            .collect();
        for r in &off.peers {
            assert!(r.0 < 4, "an unsuppressed model has no pooled rows");
            if !on_keys.contains(&(r.0, r.1, r.2)) {
                hidden.entry((code.clone(), r.0)).or_default().insert(r.1);
            }
        }
        // Every published cell is run's own, untouched.
        for r in &on_model.indicators[code].peers {
            if r.0 < 4 {
                assert!(off.peers.contains(r), "{code}: {r:?} is run's cell");
            }
        }
    }
    let mix_of = |m: &RegionModel| -> BTreeSet<(u8, u32)> {
        m.clusters
            .as_ref()
            .unwrap()
            .table
            .cells
            .iter()
            .map(|c| (c.0, c.1))
            .collect()
    };
    let mix_hidden: BTreeSet<u8> = mix_of(&off_model)
        .difference(&mix_of(&on_model))
        .map(|c| c.0)
        .collect();
    let strata = strata_of(&off_model);
    let level_of: HashMap<&str, u8> = off_model
        .hospitals
        .iter()
        .map(|h| (h.id.as_str(), h.level.unwrap_or(0)))
        .collect();
    let cases = rows(&region.data.join("cases.csv"), &[]);
    let run_hospitals = rows(&region.out.join("hospitals.csv"), &["rank"]);
    let run_findings = rows(&region.out.join("findings.csv"), &["hospital_rank"]);
    let (mut equal, mut differ, mut changed_flags) = (0, 0, 0);
    for (k, h) in run_hospitals.iter().enumerate() {
        let id = &h["hospital_id"];
        let lv = level_of[id.as_str()];
        let own: Vec<(u32, u32)> = cases
            .iter()
            .filter(|c| &c["hospital_id"] == id)
            .filter_map(|c| strata.get(&c["group_code"]).copied())
            .collect();
        let groups: BTreeSet<u32> = own.iter().map(|s| s.0).collect();
        let families: BTreeSet<u32> = own.iter().map(|s| s.1).collect();
        let batch = region
            .out
            .parent()
            .unwrap()
            .join(format!("batch-on-{k}.csv"));
        batch_of(&region.data.join("cases.csv"), id, &batch, "");
        let out = check_batch_with(
            &region,
            &on.join("model.json"),
            &batch,
            &format!("check-on-{k}"),
        );
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("check.json")).unwrap())
                .unwrap();
        assert_eq!(summary["hospitals"][0]["same_data_as_model"], true);
        assert_eq!(summary["model"]["suppression"]["peer_cells"], s.peer_cells);
        let found = rows(&out.join("findings.csv"), &["hospital_rank"]);
        let mut all_equal = true;
        for f in of_hospital(&run_findings, id) {
            let code = f["indicator"].clone();
            let rates_cleared = off_model.indicators[&code].calibration.peer_rates[lv as usize]
                .len()
                != on_model.indicators[&code].calibration.peer_rates[lv as usize].len();
            let affected = rates_cleared
                || if code.starts_with("CL_") {
                    mix_hidden.contains(&lv)
                } else {
                    // The strata the indicator compares in: families or groups.
                    let mine = if BY_FAMILY.contains(&code.as_str()) {
                        &families
                    } else {
                        &groups
                    };
                    hidden
                        .get(&(code.clone(), lv))
                        .is_some_and(|cells| !cells.is_disjoint(mine))
                };
            let theirs = found.iter().find(|r| r["indicator"] == code);
            if affected {
                all_equal &= theirs == Some(&f);
                continue;
            }
            // A supporting finding's flag (and so its reason) follows the hospital's scored
            // findings, which may rest on suppressed cells: its numbers must agree.
            let comparable = |r: &BTreeMap<String, String>| {
                let mut r = r.clone();
                if r["scored"] == "false" {
                    r.remove("flagged");
                    r.remove("reason");
                }
                r
            };
            assert_eq!(
                theirs.map(comparable),
                Some(comparable(&f)),
                "{id} {code}: no cell of its was suppressed"
            );
            equal += 1;
        }
        let mine_row = &rows(&out.join("hospitals.csv"), &["rank"])[0];
        if !all_equal {
            differ += 1;
        }
        if mine_row["flags"] != h["flags"] {
            changed_flags += 1;
        }
    }
    eprintln!(
        "suppression {s:?}: {equal} findings unaffected and equal; findings differ for \
         {differ} of {} hospitals, flags for {changed_flags}",
        run_hospitals.len()
    );
    assert!(
        equal >= 20,
        "the agreement is checked on some findings ({equal})"
    );
}

/// Issue 11 (model version 4): a region with a favourite-lever-code upcoder (generator,
/// lever variant). The model keeps its lever table through a round trip. With every peer
/// cell published, the upcoder's own rows checked against the model list its favourite
/// code as the top flagged lever row with `run`'s O and E; under the default suppression
/// it is still the top flagged row (O counts only the ADRGs whose peers are published, E
/// may come from all levels' pooled peers). An honest hospital's check flags no lever row.
#[test]
fn check_judges_lever_codes_against_the_models_lever_table() {
    use drg_audit::generate::{GamingPattern, GamingSpec, UpcodingVariant};
    let (dir, data) = crate::common::generated_region(&GenerateOptions {
        seed: 12,
        cases_per_year: 12_000,
        gaming: vec![GamingSpec {
            hospital_id: "H010".into(),
            pattern: GamingPattern::Upcoding,
            intensity: 0.4,
            start_year: 2024,
            variant: UpcodingVariant::LeverCode,
        }],
        ..GenerateOptions::default()
    });
    let suppressed = dir.path().join("out-suppressed");
    run_region(&data, &suppressed, true);
    let out = dir.path().join("out");
    run_region(&data, &out, false);
    let region = Region {
        _dir: dir,
        data,
        out,
    };
    // (a) The lever table is in the model and survives reading and writing it.
    for path in [region.out.join("model.json"), suppressed.join("model.json")] {
        let text = std::fs::read_to_string(&path).unwrap();
        let model = RegionModel::read(&path).unwrap();
        assert!(!model.levers.cells.is_empty() && !model.levers.p_values.is_empty());
        assert_eq!(model.to_json().unwrap(), text, "byte for byte");
    }

    let run_levers = rows(&region.out.join("lever_codes.csv"), &["hospital_rank"]);
    let num = |r: &BTreeMap<String, String>, k: &str| r[k].parse::<f64>().unwrap();
    // (b) The upcoder: run's top lever row is its favourite code, flagged.
    let run_top = of_hospital(&run_levers, "H010")
        .into_iter()
        .next()
        .expect("run lists H010's lever codes");
    assert_eq!(run_top["flagged"], "true", "{run_top:?}");
    let batch = region.out.parent().unwrap().join("h010.csv");
    batch_of(&region.data.join("cases.csv"), "H010", &batch, "");
    let out = check_batch(&region, &batch, "check-h010");
    let mine = rows(&out.join("lever_codes.csv"), &["hospital_rank"]);
    assert_eq!(
        mine,
        of_hospital(&run_levers, "H010"),
        "every peer cell published: run's lever rows"
    );
    let top = &mine[0];
    assert_eq!(top["code"], run_top["code"]);
    assert_eq!(top["flagged"], "true", "{top:?}");
    assert_eq!(top["observed"], run_top["observed"]);
    assert!((num(top, "expected") - num(&run_top, "expected")).abs() <= 1e-3);
    let page = std::fs::read_to_string(out.join("check.html")).unwrap();
    assert!(page.contains(&run_top["code"]) && page.contains("Peers' expected"));
    assert!(!page.contains("publishes no peer use of codes"));
    // Under the default suppression (3 hospitals, 11 claims).
    let out = check_batch_with(
        &region,
        &suppressed.join("model.json"),
        &batch,
        "check-h010-suppressed",
    );
    let mine = rows(&out.join("lever_codes.csv"), &["hospital_rank"]);
    let top = mine.first().expect("check lists H010's lever codes");
    eprintln!("run {run_top:?}\ncheck (suppressed model) {top:?}");
    assert_eq!(top["code"], run_top["code"]);
    assert_eq!(top["flagged"], "true", "{top:?}");
    assert!(num(top, "observed") <= num(&run_top, "observed"));
    assert!(num(top, "observed") >= 0.9 * num(&run_top, "observed"));
    // (c) An honest hospital with lever codes: no flagged row in run or in check.
    let truth = rows(&region.data.join("truth_hospitals.csv"), &[]);
    let honest = truth
        .iter()
        .filter(|t| t["patterns"].is_empty())
        .map(|t| t["hospital_id"].clone())
        .find(|id| of_hospital(&run_levers, id).len() >= 3)
        .expect("an honest hospital with lever codes");
    assert!(
        of_hospital(&run_levers, &honest)
            .iter()
            .all(|r| r["flagged"] == "false")
    );
    let batch = region.out.parent().unwrap().join("honest.csv");
    batch_of(&region.data.join("cases.csv"), &honest, &batch, "");
    for (model, name) in [
        (region.out.join("model.json"), "check-honest"),
        (suppressed.join("model.json"), "check-honest-suppressed"),
    ] {
        let out = check_batch_with(&region, &model, &batch, name);
        let mine = rows(&out.join("lever_codes.csv"), &["hospital_rank"]);
        assert!(!mine.is_empty(), "{honest}: check judges its lever codes");
        let flagged: Vec<_> = mine.iter().filter(|r| r["flagged"] == "true").collect();
        assert!(flagged.is_empty(), "{honest} ({name}): {flagged:?}");
    }
}
