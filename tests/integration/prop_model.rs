//! Property test of the model loader (issue 13): random JSON into
//! [`RegionModel::from_text`] — random documents, and random mutations of a real small
//! model (deleted fields, wrong types, negative, zero, huge and NaN-like numbers, wrong
//! array lengths), most of them with the digest recomputed as a forger would so they reach
//! the field checks — never panics; a model that loads also builds its catalogue,
//! benchmarks, peer tables and judging without panicking.
//!
//! The normal `cargo test` runs 10,000 mutated models through the field checks
//! ([`RegionModel::check_fields`], what `read` does after the digest), 300 mutated models
//! through the whole loader (90 % with the digest recomputed, so they reach the field
//! checks; the rest must stop at the digest), 2,000 random documents and 1,000 random
//! texts: 13,300 cases, about 15 s on an idle dev build (the base model is built once per
//! test process, from a tiny region; SHA-256 and serde_json are unoptimised in the dev
//! profile). For a longer run set `MODEL_FUZZ_CASES` (it sets each of the four counts), e.g.
//! `MODEL_FUZZ_CASES=1000000 cargo test --test prop_model -- --nocapture`; the seed is
//! fixed, set `MODEL_FUZZ_RANDOM=1` for a fresh one each run.

use std::path::Path;
use std::sync::OnceLock;

use drg_audit::published::RegionModel;
use drg_audit::published::validate::seal;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;

/// The tiny region's model and the paths of all its nodes.
struct Base {
    value: Value,
    paths: Vec<Vec<Step>>,
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn collect(v: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                here.push(Step::Key(k.clone()));
                collect(x, here, out);
                here.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                here.push(Step::Index(i));
                collect(x, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = crate::common::tiny_region_model(dir.path());
        let value: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("model")).expect("JSON");
        let mut paths = Vec::new();
        collect(&value, &mut Vec::new(), &mut paths);
        Base { value, paths }
    })
}

fn cases(default: u32) -> u32 {
    std::env::var("MODEL_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn runner(n: u32) -> TestRunner {
    let config = Config {
        cases: cases(n),
        failure_persistence: None,
        ..Config::default()
    };
    if std::env::var_os("MODEL_FUZZ_RANDOM").is_some() {
        TestRunner::new(config)
    } else {
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
    }
}

/// Values a tampered model might hold.
fn hostile() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        Just(Value::from(-1)),
        Just(Value::from(0)),
        Just(Value::from(-0.0)),
        Just(Value::from(1e308)),
        Just(Value::from(-1e308)),
        Just(Value::from(5e-324)),
        Just(Value::from(u64::MAX)),
        Just(Value::from(i64::MIN)),
        Just(Value::from(65_536)),
        Just(Value::from("NaN")),
        Just(Value::from("inf")),
        Just(Value::from("")),
        Just(Value::from("2")),
        Just(Value::Array(vec![])),
        Just(Value::Object(Default::default())),
        any::<f64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9 :._-]{0,12}".prop_map(Value::from),
        prop::collection::vec(any::<u8>().prop_map(Value::from), 0..10).prop_map(Value::Array),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    /// Remove the node (a field or an array element).
    Delete(prop::sample::Index),
    /// Replace the node.
    Replace(prop::sample::Index, Value),
    /// Drop the last element of the array at or above the node (wrong length).
    Pop(prop::sample::Index),
    /// Repeat the last element of the array at or above the node.
    Push(prop::sample::Index),
    /// Multiply a number by a factor (negative, zero, huge, tiny).
    Scale(prop::sample::Index, f64),
}

fn op() -> impl Strategy<Value = Op> {
    let idx = any::<prop::sample::Index>;
    prop_oneof![
        idx().prop_map(Op::Delete),
        (idx(), hostile()).prop_map(|(i, v)| Op::Replace(i, v)),
        idx().prop_map(Op::Pop),
        idx().prop_map(Op::Push),
        (
            idx(),
            prop_oneof![Just(-1.0), Just(0.0), Just(1e300), Just(1e-300), Just(1.5)]
        )
            .prop_map(|(i, f)| Op::Scale(i, f)),
    ]
}

fn node<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut cur = v;
    for s in path {
        cur = match s {
            Step::Key(k) => cur.as_object_mut()?.get_mut(k)?,
            Step::Index(i) => cur.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(cur)
}

fn apply(v: &mut Value, op: &Op, paths: &[Vec<Step>]) {
    let pick = |i: &prop::sample::Index| &paths[i.index(paths.len())];
    match op {
        Op::Delete(i) => {
            let path = pick(i);
            let Some((last, parent)) = path.split_last() else {
                return;
            };
            match (node(v, parent), last) {
                (Some(Value::Object(m)), Step::Key(k)) => {
                    m.remove(k);
                }
                (Some(Value::Array(a)), Step::Index(j)) if *j < a.len() => {
                    a.remove(*j);
                }
                _ => {}
            }
        }
        Op::Replace(i, x) => {
            if let Some(n) = node(v, pick(i)) {
                *n = x.clone();
            }
        }
        Op::Pop(i) | Op::Push(i) => {
            let mut path = pick(i).clone();
            loop {
                if let Some(Value::Array(a)) = node(v, &path) {
                    if matches!(op, Op::Pop(_)) {
                        a.pop();
                    } else if let Some(last) = a.last().cloned() {
                        a.push(last);
                    }
                    return;
                }
                if path.pop().is_none() {
                    return;
                }
            }
        }
        Op::Scale(i, f) => {
            if let Some(n) = node(v, pick(i))
                && let Some(x) = n.as_f64()
            {
                *n = Value::from(x * f);
            }
        }
    }
}

/// Loads a model text, and when it loads, everything `check` builds from it.
fn load(text: &str) {
    if let Ok(m) = RegionModel::from_text(Path::new("model.json"), text) {
        use_model(&m);
    }
}

/// Everything `check` builds from a loaded model.
fn use_model(m: &RegionModel) {
    let path = Path::new("model.json");
    if let Ok(catalog) = m.catalog(path) {
        let _ = m.benchmarks(&catalog, path);
        let _ = m.light_groups(&catalog);
        let _ = m.peer_tables();
        let _ = m.judging();
        let _ = m.rank_of(1.0);
    }
}

#[test]
fn mutated_models_never_panic_the_field_checks() {
    let b = base();
    let start = std::time::Instant::now();
    let path = Path::new("model.json");
    let loaded = std::cell::Cell::new(0u32);
    runner(10_000)
        .run(&prop::collection::vec(op(), 1..4), |ops| {
            let mut v = b.value.clone();
            for o in &ops {
                apply(&mut v, o, &b.paths);
            }
            if let Ok(m) = RegionModel::check_fields(path, v, None) {
                loaded.set(loaded.get() + 1);
                use_model(&m);
            }
            Ok(())
        })
        .expect("no mutated model panics the field checks");
    eprintln!(
        "mutated models: {:?}, {} passed the checks",
        start.elapsed(),
        loaded.get()
    );
}

#[test]
fn mutated_and_resealed_models_never_panic_the_loader() {
    let b = base();
    let start = std::time::Instant::now();
    let strategy = (
        prop::collection::vec(op(), 1..4),
        prop::bool::weighted(0.9),
        any::<bool>(),
    );
    runner(300)
        .run(&strategy, |(ops, reseal, pretty)| {
            let mut v = b.value.clone();
            for o in &ops {
                apply(&mut v, o, &b.paths);
            }
            if reseal {
                seal(&mut v);
            }
            let text = if pretty {
                serde_json::to_string_pretty(&v)
            } else {
                serde_json::to_string(&v)
            }
            .expect("serialises");
            load(&text);
            Ok(())
        })
        .expect("no mutated model panics the loader");
    eprintln!("resealed models: {:?}", start.elapsed());
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z0-9]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("format".to_string()),
                    Just("version".to_string()),
                    Just("digest".to_string()),
                    Just("clusters".to_string()),
                    "[a-z_]{1,8}"
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn random_documents_and_bytes_never_panic_the_loader() {
    let start = std::time::Instant::now();
    let strategy = (any_json(), any::<bool>(), any::<bool>());
    runner(2_000)
        .run(&strategy, |(mut v, as_model, reseal)| {
            // Half of them claim to be a model of this version, to get past the first looks.
            if as_model && let Value::Object(m) = &mut v {
                m.insert("format".into(), Value::from("drg-audit regional model"));
                m.insert(
                    "version".into(),
                    Value::from(drg_audit::published::MODEL_VERSION),
                );
            }
            if reseal {
                seal(&mut v);
            }
            load(&v.to_string());
            Ok(())
        })
        .expect("no random document panics the loader");
    runner(1_000)
        .run(&prop::collection::vec(any::<u8>(), 0..256), |bytes| {
            load(&String::from_utf8_lossy(&bytes));
            Ok(())
        })
        .expect("no random text panics the loader");
    eprintln!("random documents: {:?}", start.elapsed());
}
