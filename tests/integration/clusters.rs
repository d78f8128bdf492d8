//! Case-pattern clustering on a generated region: stable across seeds, and the model's
//! assignments survive a JSON round trip.

use drg_audit::cluster::stage as clustering;
use drg_audit::cluster::{self, ClusterConfig, adjusted_rand_index};
use drg_audit::cmd::run::{RunOptions, analyse};
use drg_audit::generate::GenerateOptions;
use drg_audit::lang::Lang;
use drg_audit::period::PeriodTag;
use drg_audit::region::Region;

#[test]
fn clusters_are_stable_across_seeds_and_round_trip_with_identical_assignments() {
    let (dir, data) = crate::common::generated_region(&GenerateOptions {
        seed: 3,
        cases_per_year: 20_000,
        ..GenerateOptions::default()
    });
    let a = analyse(&RunOptions {
        cases: data.join("cases.csv"),
        groups: Some(data.join("groups.csv")),
        groups_sheet: None,
        tables: Default::default(),
        config: None,
        preset: Some("drg-points".into()),
        period: None,
        out: dir.path().join("unused"),
        lang: Lang::En,
        quiet: true,
        max_reject_share: drg_audit::ingest::DEFAULT_MAX_REJECT_SHARE,
    })
    .unwrap();
    let ctx = Region::new(&a.ingested.cases, &a.derived, &a.catalog, &a.config);
    let feats = clustering::features(&ctx, clustering::weight_scale(&ctx));
    let fit_rows: Vec<usize> = (0..ctx.cases.len())
        .filter(|&i| ctx.derived.period[i] == PeriodTag::Baseline)
        .collect();
    let labels: Vec<Vec<u16>> = [11u64, 22, 33]
        .iter()
        .map(|&seed| {
            let cfg = ClusterConfig::for_region(&a.config.cluster, seed);
            let model = cluster::fit(&feats, &fit_rows, &cfg).unwrap();
            let assigned = cluster::assign(&model, &feats);
            if seed == 11 {
                let back = cluster::from_json(&cluster::to_json(&model)).unwrap();
                assert_eq!(back, model, "the model reads back bit for bit");
                assert_eq!(cluster::assign(&back, &feats), assigned);
            }
            assigned
        })
        .collect();
    for i in 0..labels.len() {
        for j in i + 1..labels.len() {
            let ari = adjusted_rand_index(&labels[i], &labels[j]);
            eprintln!(
                "ARI seed pair ({i}, {j}) over {} cases: {ari:.4}",
                labels[i].len()
            );
            assert!(ari >= 0.9, "ARI {ari:.3} between seed runs {i} and {j}");
        }
    }
}
