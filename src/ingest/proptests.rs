//! Property tests (issue 13): random bytes, random CSV shapes and random cell values fed to
//! ingest must never panic: 10,000 cases for each target (the cell parsers, the row check,
//! the encoding judge and the layout scan, and whole files through the engine; a whole file
//! is a polars read, a few ms in the dev profile). `DRG_AUDIT_PROPTEST_CASES=N` raises every count
//! for a longer run, e.g. `DRG_AUDIT_PROPTEST_CASES=200000 cargo test --lib proptests`.

use proptest::prelude::*;

use super::{encoding, layout, pipeline, values};

/// The bundled catalogue, parsed once for all cases.
fn catalog() -> &'static crate::catalog::Catalog {
    static CATALOG: std::sync::OnceLock<crate::catalog::Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| {
        crate::catalog::Catalog::bundled(&crate::config::RegionConfig::default_drg())
            .expect("bundled catalogue")
    })
}

fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("DRG_AUDIT_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Cell text: mostly near-valid values with hostile bytes mixed in.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9]{0,5}[-/.]?[0-9]{0,3}[-/.]?[0-9]{0,3}( [0-9:]{0,9})?",
        "[-+¥￥]?[0-9,，.eE]{0,25}",
        "[一二三四1-9级医院 ]{0,6}",
        "[A-Z]{1,3}[0-9]{0,12}",
    ]
}

proptest! {
    #![proptest_config(cases(10_000))]

    #[test]
    fn cell_parsers_never_panic(s in cell()) {
        let _ = values::parse_date(&s);
        let _ = values::parse_money(&s);
        let _ = values::parse_level(&s);
        let _ = values::parse_days(&s);
        let _ = values::parse_flag(&s);
        let _ = values::parse_disposition(&s);
        let _ = values::split_codes(&s).count();
        let _ = pipeline::shown("total_cost", &s);
        let _ = pipeline::shown("group_code", &s);
        if let Ok(x) = values::parse_money(&s) {
            prop_assert!(x.is_finite());
        }
    }

    #[test]
    fn row_check_never_panics(cells in proptest::collection::vec(proptest::option::of(cell()), 8)) {
        let names = [
            "case_id", "hospital_id", "patient_id", "admit_date", "discharge_date",
            "group_code", "total_cost", "hospital_level",
        ];
        let cells: Vec<Option<&str>> = cells.iter().map(|c| c.as_deref()).collect();
        if let Some(r) = pipeline::row_problems(&names, &cells, 1e8) {
            prop_assert!(!r.is_empty());
        }
    }

    #[test]
    fn encoding_judge_and_layout_scan_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = encoding::judge_bytes(&bytes);
        let l = layout::scan_bytes(&bytes);
        for (row, _) in &l.ragged {
            prop_assert!(l.line(*row) >= u64::from(*row) + 2);
        }
    }
}

/// Whole files through the engine: random shapes (ragged rows, quotes, blank cells, random
/// bytes) either read with reconciling counts or fail with an error, never panic. One folder
/// serves every case (a folder per case would cost more than the read).
#[test]
fn random_csv_files_never_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cases.csv");
    let shape = (
        proptest::collection::vec(proptest::collection::vec(cell(), 0..12), 0..12),
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<bool>(),
    );
    let mut runner = proptest::test_runner::TestRunner::new(cases(10_000));
    let outcome = runner.run(&shape, |(rows, raw, with_raw)| {
        let mut text = String::from(
            "case_id,hospital_id,patient_id,admit_date,discharge_date,group_code,total_cost,hospital_level\n",
        );
        for r in &rows {
            text.push_str(&r.join(","));
            text.push('\n');
        }
        let mut bytes = text.into_bytes();
        if with_raw {
            bytes.extend_from_slice(&raw);
        }
        std::fs::write(&path, &bytes).expect("write the case");
        if let Ok(ing) = super::read_cases(&path, catalog()) {
            let s = &ing.stats;
            prop_assert_eq!(s.rows_read, s.rows_analysed + s.rows_rejected);
        }
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
