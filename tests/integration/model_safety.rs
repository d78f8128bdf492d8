//! Issue 13, the regional model: a damaged, tampered, edited or hostile `model.json` is
//! refused by `check` with one line naming the file, the field and what to do — never a
//! panic, a hang or a silent misuse. Every fixture is made by the test from a tiny region
//! audited once per test process.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::Workdir;
use drg_audit::published::RegionModel;
use drg_audit::published::validate::{MAX_MODEL_BYTES, seal};
use serde_json::Value;

/// The tiny region's model, as text and as a JSON value.
struct Base {
    text: String,
    value: Value,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = crate::common::tiny_region_model(dir.path());
        let text = std::fs::read_to_string(path).expect("model.json");
        let value = serde_json::from_str(&text).expect("model.json is JSON");
        Base { text, value }
    })
}

/// The base model changed by `edit`, its digest recomputed (a forger's copy: it passes the
/// digest, so only the field checks stand between it and `check`).
fn tampered(edit: impl FnOnce(&mut Value)) -> String {
    let mut v = base().value.clone();
    edit(&mut v);
    seal(&mut v);
    serde_json::to_string_pretty(&v).expect("serialises")
}

/// Runs the binary with a deadline: a hang fails the test instead of blocking it.
fn run_within(w: &Workdir, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_drg-audit"))
        .args(args)
        .current_dir(w.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("drg-audit {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `check` of a small batch against `model` (a path in the work folder).
fn check_against(w: &Workdir, model: &str) -> Output {
    w.write(
        "cases.csv",
        crate::common::csv_of(crate::common::HEADER, &crate::common::valid_rows()),
    );
    run_within(
        w,
        &[
            "check",
            "--cases",
            "cases.csv",
            "--model",
            model,
            "--out",
            "o",
            "--quiet",
        ],
        Duration::from_secs(60),
    )
}

/// Asserts a refusal: non-zero exit, one line on stderr naming the file and each of
/// `wants`, no panic, and no output folder made.
fn assert_refused(w: &Workdir, o: &Output, file: &str, wants: &[&str]) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "accepted; stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains(file), "names the file {file}: {err}");
    for want in wants {
        assert!(err.contains(want), "says {want:?}: {err}");
    }
    assert!(!w.path("o").exists(), "nothing written for a refused model");
    err
}

/// Writes `text` as `model.json`, runs `check` on it, asserts the refusal.
fn refused_model(text: &str, wants: &[&str]) -> String {
    let w = Workdir::new();
    w.write("model.json", text);
    let o = check_against(&w, "model.json");
    assert_refused(&w, &o, "model.json", wants)
}

fn first_indicator_with_peers(v: &Value) -> String {
    v["indicators"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, m)| m["peers"].as_array().is_some_and(|p| !p.is_empty()))
        .map(|(c, _)| c.clone())
        .expect("an indicator with peer rows")
}

#[test]
fn a_fresh_model_loads_its_digest_verifies_and_reformatting_is_harmless() {
    let b = base();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.json");
    std::fs::write(&path, &b.text).unwrap();
    let m = RegionModel::read(&path).expect("a model `run` wrote reads");
    assert!(m.digest.starts_with("sha256:") && m.digest.len() == 71);
    assert_eq!(m.to_json().unwrap(), b.text, "writes back byte for byte");
    assert!(m.clusters.is_some(), "the tiny region clusters");
    // Key order and whitespace are not content.
    let compact = serde_json::to_string(&b.value).unwrap();
    assert!(RegionModel::from_text(&path, &compact).is_ok());
}

#[test]
fn tampered_model_mix_table_wrong_cluster_count_is_refused() {
    // Was a panic at src/cluster/mix.rs:218.
    let text = tampered(|v| {
        let cell = &mut v["clusters"]["table"]["cells"][0][2];
        cell.as_array_mut().expect("counts").pop();
    });
    refused_model(
        &text,
        &["clusters.table.cells[0][2]", "cluster counts", "fresh copy"],
    );
    let text = tampered(|v| v["clusters"]["table"]["k"] = Value::from(5));
    refused_model(&text, &["clusters.table.k"]);
}

#[test]
fn tampered_model_negative_peer_count_is_refused() {
    let code = first_indicator_with_peers(&base().value);
    let text = tampered(|v| v["indicators"][&code]["peers"][0][3] = Value::from(-4.0));
    refused_model(&text, &[&format!("indicators.{code}.peers[0].n"), "-4"]);
    // Events beyond the cases: (Σx)² > n·Σx².
    let text = tampered(|v| {
        let row = &mut v["indicators"][&code]["peers"][0];
        row[4] = Value::from(row[3].as_f64().unwrap() * 10.0 + 5.0);
        row[5] = Value::from(0.0);
    });
    refused_model(&text, &[&format!("indicators.{code}.peers[0]")]);
}

#[test]
fn tampered_model_empty_p_values_is_refused() {
    let text = tampered(|v| v["p_values"] = Value::Array(vec![]));
    refused_model(&text, &["p_values", "empty"]);
    let text = tampered(|v| v["p_values"][0] = Value::from(1.5));
    refused_model(&text, &["p_values[0]"]);
}

#[test]
fn tampered_model_negative_point_value_is_refused() {
    let text = tampered(|v| v["point_value"]["yuan_per_point"] = Value::from(-112.0));
    refused_model(&text, &["point_value.yuan_per_point", "-112"]);
    let text = tampered(|v| v["cost_per_weight"] = Value::from(0.0));
    refused_model(&text, &["cost_per_weight"]);
}

#[test]
fn tampered_model_low_multiplier_minus_one_is_refused() {
    let text = tampered(|v| v["config"]["multiplier"]["low"] = Value::from(-1));
    refused_model(&text, &["config.multiplier.low"]);
    let text =
        tampered(|v| v["config"]["points"]["level_coefficient"]["tertiary"] = Value::from(0));
    refused_model(&text, &["config.points.level_coefficient.tertiary"]);
}

#[test]
fn tampered_model_wrong_types_and_missing_fields_name_the_json_path() {
    let text = tampered(|v| v["catalogue"][3]["weight"] = Value::from("heavy"));
    refused_model(&text, &["catalogue[3].weight", "invalid type"]);
    let text = tampered(|v| v["catalogue"][2]["severity"] = Value::from(300));
    refused_model(&text, &["catalogue[2].severity"]);
    let text = tampered(|v| {
        v["benchmarks"][1].as_object_mut().unwrap().remove("cost");
    });
    refused_model(&text, &["benchmarks[1]", "missing field `cost`"]);
    let text = tampered(|v| v["hospitals"][0]["level"] = Value::from(-1));
    refused_model(&text, &["hospitals[0].level"]);
    let text = tampered(|v| {
        v.as_object_mut()
            .unwrap()
            .insert("extra".into(), Value::from(1));
    });
    refused_model(&text, &["unknown field `extra`"]);
}

#[test]
fn tampered_model_scaler_and_centroid_dimensions_are_refused() {
    let text = tampered(|v| {
        v["clusters"]["model"]["centroids"][2]
            .as_array_mut()
            .unwrap()
            .pop();
    });
    refused_model(&text, &["clusters.model.centroids[2]", "features"]);
    let text = tampered(|v| {
        v["clusters"]["model"]["scaler"]["std"]
            .as_array_mut()
            .unwrap()
            .push(Value::from(1.0));
    });
    refused_model(&text, &["clusters.model.scaler.std"]);
    let text = tampered(|v| v["clusters"]["model"]["scaler"]["std"][0] = Value::from(0.0));
    refused_model(&text, &["clusters.model.scaler.std[0]"]);
}

#[test]
fn tampered_model_counts_that_do_not_add_up_are_refused() {
    let text = tampered(|v| v["built_from"]["hospitals"] = Value::from(99));
    refused_model(&text, &["built_from.hospitals"]);
    let text = tampered(|v| {
        v["light_medical_groups"]
            .as_array_mut()
            .unwrap()
            .push(Value::from("NOPE"));
    });
    refused_model(&text, &["light_medical_groups", "NOPE"]);
    let text = tampered(|v| {
        v["benchmarks"].as_array_mut().unwrap().pop();
    });
    refused_model(&text, &["benchmarks", "levels 0–3"]);
}

/// Issue 11 (model version 4): the lever table is checked like every peer table.
#[test]
fn tampered_model_lever_table_is_refused() {
    let text = tampered(|v| v["levers"]["tau2"] = Value::from(-1.0));
    refused_model(&text, &["levers.tau2", "-1"]);
    let text = tampered(|v| {
        v["levers"]["cells"] = serde_json::json!([
            {"level": 9, "family": 0, "claims": 20.0, "codes": {"E43.x00": 4.0}}
        ]);
    });
    refused_model(&text, &["levers.cells[0].level", "0 to 4"]);
    let text = tampered(|v| {
        v["levers"]["cells"] = serde_json::json!([
            {"level": 2, "family": 0, "claims": 20.0, "codes": {"E43.x00": 40.0}}
        ]);
    });
    refused_model(&text, &["levers.cells[0].codes[\"E43.x00\"]"]);
    let text = tampered(|v| {
        v.as_object_mut().unwrap().remove("levers");
    });
    refused_model(&text, &["missing field `levers`"]);
}

#[test]
fn model_version_given_as_a_string_says_so() {
    let text = tampered(|v| v["version"] = Value::from("2"));
    let err = refused_model(&text, &["version", "string"]);
    assert!(!err.contains("version 0"), "{err}");
    let text = tampered(|v| v["version"] = Value::from(1));
    refused_model(&text, &["version 1", "rebuild"]);
}

#[test]
fn edited_model_digest_mismatch_is_refused() {
    // One p-value changed by hand, digest left as it was.
    let mut v = base().value.clone();
    v["p_values"][0] = Value::from(0.5);
    let text = serde_json::to_string_pretty(&v).unwrap();
    refused_model(
        &text,
        &[
            "model.json was edited after drg-audit wrote it",
            "fresh copy",
        ],
    );
    // A digest removed.
    let mut v = base().value.clone();
    v.as_object_mut().unwrap().remove("digest");
    refused_model(&serde_json::to_string(&v).unwrap(), &["digest", "missing"]);
}

#[cfg(unix)]
#[test]
fn model_from_fifo_is_refused() {
    let w = Workdir::new();
    let fifo = w.path("model.fifo");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    // Opening a FIFO for reading blocks until a writer comes: the deadline catches a hang.
    let o = check_against(&w, "model.fifo");
    assert_refused(&w, &o, "model.fifo", &["not a regular file"]);
}

#[cfg(unix)]
#[test]
fn model_from_dev_zero_is_refused() {
    let w = Workdir::new();
    let o = check_against(&w, "/dev/zero");
    assert_refused(&w, &o, "/dev/zero", &["not a regular file"]);
    // A folder is not a model either.
    std::fs::create_dir(w.path("folder")).unwrap();
    let o = check_against(&w, "folder");
    assert_refused(&w, &o, "folder", &["not a regular file"]);
}

#[test]
fn oversized_model_is_refused() {
    let w = Workdir::new();
    // A sparse file just over the bound: refused from its size, nothing read.
    let f = std::fs::File::create(w.path("huge.json")).unwrap();
    f.set_len(MAX_MODEL_BYTES + 1).unwrap();
    drop(f);
    let o = check_against(&w, "huge.json");
    assert_refused(&w, &o, "huge.json", &["larger than 512 MiB"]);
    assert!(Path::new(&w.path("huge.json")).exists());
}

#[test]
fn small_peer_cells_are_suppressed() {
    let w = Workdir::new();
    let model_path = crate::common::tiny_region_model(w.dir.path());
    let m = RegionModel::read(&model_path).expect("the suppressed model reads");
    // One primary and two tertiary hospitals: their cells are pooled, their volume and
    // peer-rate lists withheld; the three secondary hospitals' cells stay.
    assert_eq!(m.suppression.levels, vec![1, 3], "{:?}", m.suppression);
    assert!(m.suppression.pooled_rows > 0 && m.suppression.peer_cells > 0);
    for (code, im) in &m.indicators {
        for r in &im.peers {
            assert!(
                r.0 == 2 || r.0 == drg_audit::peers::POOLED_LEVEL,
                "{code}: {r:?} publishes a level of fewer than 3 hospitals"
            );
            assert!(r.3 >= 11.0, "{code}: {r:?} publishes fewer than 11 stays");
        }
        assert!(im.calibration.peer_rates[1].is_empty() && im.calibration.peer_rates[3].is_empty());
    }
    let table = &m.clusters.as_ref().expect("clusters").table;
    assert!(!table.cells.is_empty() && table.cells.iter().all(|c| c.0 == 2));
    assert_eq!(m.volume_by_level[3], [(0.0, 0.0); 2]);
    // A tertiary hospital checks its own cases against the suppressed model: it works, is
    // recognised as the model's data, and check.json says what was suppressed.
    let cases = std::fs::read_to_string(w.path("cases.csv")).unwrap();
    let mut batch: Vec<&str> = cases.lines().take(1).collect();
    batch.extend(cases.lines().filter(|l| l.split(',').nth(1) == Some("H3")));
    w.write("h3.csv", batch.join("\n") + "\n");
    let o = run_within(
        &w,
        &[
            "check",
            "--cases",
            "h3.csv",
            "--model",
            "out/model.json",
            "--out",
            "c",
            "--quiet",
        ],
        Duration::from_secs(120),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("c/check.json")).unwrap()).unwrap();
    assert_eq!(summary["hospitals"][0]["same_data_as_model"], true);
    assert_eq!(
        summary["model"]["suppression"]["pooled_rows"],
        m.suppression.pooled_rows
    );
}
