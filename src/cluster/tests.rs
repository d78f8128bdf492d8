//! Tests of the clustering module on seeded synthetic data.

use super::features::{F_LOG_MULTIPLIER, F_SEVERITY};
use super::kmeans::select_in_order;
use super::labels::{label, suspicion};
use super::testdata::{Rng, blobs};
use super::*;

fn all_rows(f: &CaseFeatures) -> Vec<usize> {
    (0..f.rows).collect()
}

fn cfg_k(k: Option<usize>, seed: u64) -> ClusterConfig {
    ClusterConfig {
        k,
        k_min: 2,
        k_max: 8,
        seed,
        ..ClusterConfig::default()
    }
}

#[test]
fn fit_recovers_four_blobs_and_chooses_k4() {
    let (f, truth) = blobs(3_000, 7);
    let model = fit(&f, &all_rows(&f), &cfg_k(None, 1)).unwrap();
    assert_eq!(model.k, 4, "k_selection = {:?}", model.k_selection);
    assert_eq!(model.k_selection.len(), 7);
    let best = model.k_selection.iter().find(|(k, _)| *k == 4).unwrap().1;
    assert!(model.k_selection.iter().all(|&(_, s)| s <= best));
    let labels = assign(&model, &f);
    let ari = adjusted_rand_index(&labels, &truth);
    assert!(ari >= 0.95, "ARI {ari}");
    // Canonical ids: largest first, so they match the truth's size order.
    assert_eq!(labels, truth);
    let sizes: Vec<u64> = model.profiles.iter().map(|p| p.size).collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<u64>(), 3_000);
}

#[test]
fn calinski_harabasz_also_chooses_k4() {
    let (f, truth) = blobs(2_000, 8);
    let cfg = ClusterConfig {
        criterion: KCriterion::CalinskiHarabasz,
        ..cfg_k(None, 3)
    };
    let model = fit(&f, &all_rows(&f), &cfg).unwrap();
    assert_eq!(model.k, 4, "k_selection = {:?}", model.k_selection);
    assert!(adjusted_rand_index(&assign(&model, &f), &truth) >= 0.95);
}

#[test]
fn stable_across_seeds() {
    let (f, _) = blobs(3_000, 11);
    let rows = all_rows(&f);
    let a = assign(&fit(&f, &rows, &cfg_k(Some(4), 1)).unwrap(), &f);
    let b = assign(&fit(&f, &rows, &cfg_k(Some(4), 2)).unwrap(), &f);
    let ari = adjusted_rand_index(&a, &b);
    assert!(ari >= 0.9, "ARI {ari}");
    assert_eq!(a, b, "canonical numbering makes the ids agree too");
}

#[test]
fn fit_is_deterministic_and_json_round_trips_bit_exactly() {
    let (f, _) = blobs(2_000, 5);
    // Fit on the first half only, in shuffled order with a duplicate: the model
    // depends on the set of rows only.
    let mut rows: Vec<usize> = (0..1_000).rev().collect();
    rows.push(3);
    let cfg = ClusterConfig {
        sample_size: 600,
        ..cfg_k(Some(4), 9)
    };
    let m1 = fit(&f, &rows, &cfg).unwrap();
    let m2 = fit(&f, &(0..1_000).collect::<Vec<_>>(), &cfg).unwrap();
    let j1 = to_json(&m1);
    assert_eq!(j1, to_json(&m2), "same data + seed → identical JSON");
    assert_eq!(m1.n_fit_rows, 1_000);
    assert_eq!(m1.n_sample, 600);

    let back = from_json(&j1).unwrap();
    assert_eq!(to_json(&back), j1);
    for (a, b) in m1
        .centroids
        .iter()
        .flatten()
        .zip(back.centroids.iter().flatten())
    {
        assert_eq!(a.to_bits(), b.to_bits());
    }
    for (a, b) in m1.scaler.std.iter().zip(&back.scaler.std) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
    assert_eq!(assign(&m1, &f), assign(&back, &f));
}

#[test]
fn from_json_rejects_inconsistent_models() {
    let (f, _) = blobs(500, 5);
    let m = fit(&f, &all_rows(&f), &cfg_k(Some(4), 1)).unwrap();
    let mut bad = m.clone();
    bad.features[0] = "cost".into();
    assert!(matches!(
        from_json(&to_json(&bad)),
        Err(ClusterError::Model(_))
    ));
    let mut bad = m.clone();
    bad.centroids.pop();
    assert!(matches!(
        from_json(&to_json(&bad)),
        Err(ClusterError::Model(_))
    ));
    let mut bad = m;
    bad.version = 99;
    assert!(matches!(
        from_json(&to_json(&bad)),
        Err(ClusterError::Model(_))
    ));
    assert!(matches!(from_json("{"), Err(ClusterError::Json(_))));
}

#[test]
fn scaler_standardises_fit_rows_and_imputes_missing() {
    let (mut f, _) = blobs(2_000, 3);
    let rows: Vec<usize> = (0..1_500).collect();
    let names: Vec<String> = FEATURES.iter().map(|s| s.to_string()).collect();
    let s = Scaler::fit(&f.values, N_FEATURES, &rows, &names).unwrap();
    let mut z = vec![0.0; N_FEATURES];
    let mut sum = [0.0; N_FEATURES];
    let mut ss = [0.0; N_FEATURES];
    for &r in &rows {
        s.transform_row(f.row(r), &mut z);
        for j in 0..N_FEATURES {
            sum[j] += z[j];
            ss[j] += z[j] * z[j];
        }
    }
    let n = rows.len() as f64;
    for j in 0..N_FEATURES {
        let mean = sum[j] / n;
        let sd = (ss[j] / n - mean * mean).sqrt();
        assert!(mean.abs() < 1e-9, "feature {j} mean {mean}");
        assert!((sd - 1.0).abs() < 1e-9, "feature {j} sd {sd}");
    }
    // The raw columns were far from standard (offsets up to ±80, scales 0.1–17).
    assert!(s.mean[0] < -30.0 && s.std[0] < 1.0 && s.std[12] > 10.0);
    // Missing → mean → 0; fitting ignores NaN.
    f.values[0] = f64::NAN;
    s.transform_row(f.row(0), &mut z);
    assert_eq!(z[0], 0.0);
    let s2 = Scaler::fit(&f.values, N_FEATURES, &rows, &names).unwrap();
    assert!((s2.mean[0] - s.mean[0]).abs() < 0.01);
    // A constant feature gets std 1; an all-missing one is an error.
    for r in 0..f.rows {
        f.values[r * N_FEATURES + 4] = 2.0;
        f.values[r * N_FEATURES + 5] = f64::NAN;
    }
    let err = Scaler::fit(&f.values, N_FEATURES, &rows, &names).unwrap_err();
    assert!(matches!(err, ClusterError::FeatureAllMissing(ref n) if n == "share_drugs"));
    for r in 0..f.rows {
        f.values[r * N_FEATURES + 5] = 0.5;
    }
    let s3 = Scaler::fit(&f.values, N_FEATURES, &rows, &names).unwrap();
    assert_eq!(s3.std[4], 1.0);
}

#[test]
fn label_names_high_severity_low_cost_and_flags_it() {
    let mut z = [0.0; N_FEATURES];
    z[F_SEVERITY] = 1.6;
    z[F_LOG_MULTIPLIER] = -1.1;
    z[7] = 0.2; // below the threshold: not named
    let (en, zh) = label(&z);
    assert_eq!(en, "high severity · low cost");
    assert_eq!(zh, "高严重度 · 低费用");
    assert_eq!(suspicion(&z), "high severity with low resource");
    // Low weight with a very short stay is the other pattern.
    let mut z = [0.0; N_FEATURES];
    z[0] = -0.8;
    z[2] = -1.7;
    let (en, _) = label(&z);
    assert_eq!(en, "very short stay · low weight");
    assert_eq!(suspicion(&z), "low weight with very short stay");
    // High severity that also costs more is not suspicious; nothing distinctive is "typical".
    let mut z = [0.0; N_FEATURES];
    z[F_SEVERITY] = 1.6;
    z[F_LOG_MULTIPLIER] = 1.1;
    assert_eq!(suspicion(&z), "");
    assert_eq!(label(&[0.1; N_FEATURES]).0, "typical");
}

#[test]
fn fitted_profiles_label_the_high_severity_low_cost_blob() {
    let (f, truth) = blobs(3_000, 21);
    let model = fit(&f, &all_rows(&f), &cfg_k(Some(4), 4)).unwrap();
    let labels = assign(&model, &f);
    // The cluster holding blob 3 (high severity, low cost).
    let c = labels[truth.iter().position(|&t| t == 3).unwrap()] as usize;
    let p = &model.profiles[c];
    assert!(p.label_en.contains("high severity"), "{}", p.label_en);
    assert!(p.label_en.contains("low cost"), "{}", p.label_en);
    assert!(p.label_zh.contains("高严重度") && p.label_zh.contains("低费用"));
    assert!(p.suspicious);
    assert_eq!(
        model.profiles.iter().filter(|p| p.suspicious).count(),
        1,
        "{:#?}",
        model.profiles
    );
    // Real-unit centroid: blob 3's severity column is offset −10 + scale 1.6 × 10.
    let sev_real = p.centroid_real[F_SEVERITY];
    assert!((sev_real - (-10.0 + 1.6 * 10.0)).abs() < 0.5, "{sev_real}");
}

#[test]
fn fit_validates_inputs() {
    let (f, _) = blobs(100, 1);
    assert!(matches!(
        fit(&f, &[0, 1, 100], &cfg_k(Some(4), 1)),
        Err(ClusterError::RowOutOfRange { row: 100, .. })
    ));
    assert!(matches!(
        fit(&f, &[0, 1, 2], &cfg_k(Some(4), 1)),
        Err(ClusterError::TooFewRows { .. })
    ));
    assert!(matches!(
        fit(&f, &all_rows(&f), &cfg_k(Some(1), 1)),
        Err(ClusterError::Config(_))
    ));
    let bad = CaseFeatures {
        rows: 3,
        values: vec![0.0; 5],
    };
    assert!(matches!(
        fit(&bad, &[0], &cfg_k(Some(2), 1)),
        Err(ClusterError::Shape { .. })
    ));
}

#[test]
fn selection_sampling_is_sorted_exact_and_seeded() {
    let items: Vec<usize> = (0..10_000).map(|i| i * 3).collect();
    let a = select_in_order(&items, 1_000, 5);
    assert_eq!(a.len(), 1_000);
    assert!(a.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(a, select_in_order(&items, 1_000, 5));
    assert_ne!(a, select_in_order(&items, 1_000, 6));
    // Roughly uniform: about half below the middle.
    let below = a.iter().filter(|&&x| x < 15_000).count();
    assert!((400..600).contains(&below), "{below}");
    assert_eq!(select_in_order(&items, 20_000, 5), items);
}

#[test]
fn adjusted_rand_index_known_values() {
    assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0);
    let v = adjusted_rand_index(&[0, 0, 1, 2], &[0, 0, 1, 1]);
    assert!((v - 0.571_428_571_428_571_5).abs() < 1e-12, "{v}");
    let v = adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]);
    assert!((v - (-0.5)).abs() < 1e-12, "{v}");
    assert_eq!(adjusted_rand_index(&[3, 3, 3], &[1, 1, 1]), 1.0);
}

/// Peers in 3 peer groups over 30 strata; each stratum has its own cluster
/// distribution. Hospital 0 pushes 25% of its cases into cluster 2 (the gamer);
/// hospital 1 follows the peers within strata but treats mostly the strata where
/// cluster 2 is common (case mix, not behaviour); hospital 2 has no cases.
/// cluster, hospital, stratum, peer group (per hospital), include.
type MixFixture = (Vec<u16>, Vec<u32>, Vec<u32>, Vec<u8>, Vec<bool>);

fn mix_fixture() -> MixFixture {
    let k = 5;
    let n_strata = 30;
    let mut rng = Rng::new(42);
    let dist: Vec<Vec<f64>> = (0..n_strata)
        .map(|s| {
            (0..k)
                .map(|c| {
                    let base = 0.2 + rng.uniform();
                    if c == 2 && s < 5 { base + 3.0 } else { base }
                })
                .collect()
        })
        .collect();
    let n_h = 40u32;
    let peer_group: Vec<u8> = (0..n_h)
        .map(|h| if h < 3 { 0 } else { (h % 3) as u8 })
        .collect();
    let (mut cl, mut ho, mut st, mut inc) = (vec![], vec![], vec![], vec![]);
    for h in (0..n_h).filter(|&h| h != 2) {
        let n_cases = if h < 2 { 1_500 } else { 800 };
        for i in 0..n_cases {
            let s = if h == 1 {
                // Case mix: 80% in the strata where cluster 2 is common.
                if rng.uniform() < 0.8 {
                    rng.categorical(&[1.0; 5])
                } else {
                    5 + rng.categorical(&[1.0; 25])
                }
            } else {
                rng.categorical(&vec![1.0; n_strata])
            };
            let mut c = rng.categorical(&dist[s]);
            if h == 0 && rng.uniform() < 0.25 {
                c = 2;
            }
            cl.push(c as u16);
            ho.push(h);
            st.push(s as u32);
            // A baseline period that the test must ignore: every 10th case of
            // hospital 1 is excluded and set to cluster 2.
            if h == 1 && i % 10 == 0 {
                *cl.last_mut().unwrap() = 2;
                inc.push(false);
            } else {
                inc.push(true);
            }
        }
    }
    (cl, ho, st, peer_group, inc)
}

#[test]
fn mix_tests_flag_the_over_represented_hospital_only() {
    let (cl, ho, st, pg, inc) = mix_fixture();
    let tests = mix_tests(&cl, &ho, &st, &pg, &inc, 5);
    assert_eq!(tests.len(), 40);

    let gamer = &tests[0];
    assert!(gamer.p < 0.001, "gamer p {}", gamer.p);
    assert_eq!(
        gamer.over_represented[0].0, 2,
        "{:?}",
        gamer.over_represented
    );
    assert!(gamer.over_represented[0].1 > 1.5);
    assert!(gamer.divergence > 0.01);
    assert_eq!(gamer.n, 1_500.0);
    let (so, se): (f64, f64) = (gamer.observed.iter().sum(), gamer.expected.iter().sum());
    assert!((so - se).abs() < 1e-6);

    // Sicker mix, same behaviour within strata: not flagged.
    let mixed = &tests[1];
    assert!(mixed.p > 0.01, "case-mix hospital p {}", mixed.p);
    assert!(mixed.over_represented.iter().all(|o| o.0 != 2), "{mixed:?}");
    assert_eq!(mixed.n, 1_350.0, "excluded rows are not counted");
    // ... but a crude comparison with the peers' overall mix would flag it.
    let peers_c2 = cl
        .iter()
        .zip(&ho)
        .zip(&inc)
        .filter(|((_, h), i)| **h >= 3 && **i)
        .map(|((c, _), _)| (*c == 2) as u32 as f64)
        .sum::<f64>()
        / cl.iter().zip(&ho).filter(|(_, h)| **h >= 3).count() as f64;
    assert!(mixed.observed[2] / mixed.n > 1.5 * peers_c2);

    let empty = &tests[2];
    assert_eq!((empty.n, empty.df, empty.p), (0.0, 0, 1.0));

    // Hospitals drawn from the peer distribution: p-values roughly uniform.
    let small = tests[3..].iter().filter(|t| t.p < 0.01).count();
    assert!(small <= 2, "{small} of 37 null hospitals at p < 0.01");
}

#[test]
fn mix_tests_leave_unmatched_strata_out_and_pool_sparse_cells() {
    // Hospital 0 alone in stratum 9; peers share stratum 1 where cluster 3 is rare.
    let mut cl = vec![];
    let mut ho = vec![];
    let mut st = vec![];
    for i in 0..200u32 {
        cl.push((i % 3) as u16);
        ho.push(1 + i % 4);
        st.push(1);
    }
    for i in 0..30u32 {
        cl.push((i % 3) as u16);
        ho.push(0);
        st.push(1);
    }
    cl.extend([3, 3, 3]);
    ho.extend([0, 0, 0]);
    st.extend([9, 9, 9]);
    let pg = vec![0u8; 5];
    let inc = vec![true; cl.len()];
    let t = &mix_tests(&cl, &ho, &st, &pg, &inc, 4)[0];
    assert_eq!(t.unmatched, 3.0);
    assert_eq!(t.n, 30.0);
    // Cluster 3 has E ≈ 0 → pooled; 3 cells of E ≈ 10 remain → df 2 at most.
    assert!(t.df <= 2 && t.df >= 1, "df {}", t.df);
    assert!(t.p > 0.5, "p {}", t.p);
}

#[test]
fn k_chosen_on_a_subsample_then_refitted_on_the_sample() {
    let (f, truth) = blobs(3_000, 13);
    let cfg = ClusterConfig {
        selection_sample: 800,
        silhouette_sample: 500,
        ..cfg_k(None, 6)
    };
    let model = fit(&f, &all_rows(&f), &cfg).unwrap();
    assert_eq!(model.k, 4, "k_selection = {:?}", model.k_selection);
    assert_eq!(model.n_sample, 3_000);
    assert_eq!(assign(&model, &f), truth);
    assert_eq!(
        to_json(&model),
        to_json(&fit(&f, &all_rows(&f), &cfg).unwrap())
    );
}

#[test]
fn tampered_model_mix_table_wrong_cluster_count_is_refused() {
    // A published table with a short cell, a cell smaller than the hospital's own counts
    // and a missing (suppressed) cell: no panic, the short cell is ignored, nothing
    // underflows, cases in missing cells are unmatched.
    let (cl, ho, st, pg, inc) = mix_fixture();
    let mut table = mix_table(&cl, &ho, &st, &pg, &inc, 5);
    let honest = mix_tests_against(&table, |_| true, &cl, &ho, &st, &pg, &inc);
    assert_eq!(honest, mix_tests(&cl, &ho, &st, &pg, &inc, 5));
    table.cells[0].2.pop();
    for c in &mut table.cells[1].2 {
        *c = 0;
    }
    table.cells.remove(2);
    let tests = mix_tests_against(&table, |_| true, &cl, &ho, &st, &pg, &inc);
    assert_eq!(tests.len(), 40);
    assert!(
        tests
            .iter()
            .all(|t| t.p.is_finite() && (0.0..=1.0).contains(&t.p))
    );
    assert!(tests.iter().map(|t| t.unmatched).sum::<f64>() > 0.0);
}

#[test]
fn fixed_k_restarts_on_a_subsample_then_settled_on_the_sample() {
    let (f, truth) = blobs(3_000, 17);
    let cfg = ClusterConfig {
        selection_sample: 500,
        ..cfg_k(Some(4), 8)
    };
    let model = fit(&f, &all_rows(&f), &cfg).unwrap();
    assert_eq!(model.n_sample, 3_000);
    assert_eq!(model.k_selection.len(), 1);
    assert_eq!(assign(&model, &f), truth);
    assert_eq!(
        to_json(&model),
        to_json(&fit(&f, &all_rows(&f), &cfg).unwrap()),
        "same data + seed → identical JSON"
    );
    // Settled on the whole sample: its centroids are the whole sample's cluster
    // means (up to the tolerance), not the subsample's.
    let labels = assign(&model, &f);
    let mut z = vec![0.0; N_FEATURES];
    for (c, cen) in model.centroids.iter().enumerate() {
        let mut mean = [0.0; N_FEATURES];
        let mut n = 0.0;
        for (r, &l) in labels.iter().enumerate() {
            if l as usize == c {
                model.scaler.transform_row(f.row(r), &mut z);
                for (m, v) in mean.iter_mut().zip(&z) {
                    *m += v;
                }
                n += 1.0;
            }
        }
        let shift: f64 = mean
            .iter()
            .zip(cen)
            .map(|(m, c)| (m / n - c).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(shift < 1e-2, "cluster {c} is {shift} from its mean");
    }
}

#[test]
fn stable_across_seeds_with_restarts_on_a_subsample() {
    let (f, _) = blobs(3_000, 11);
    let rows = all_rows(&f);
    let cfg = |seed| ClusterConfig {
        selection_sample: 600,
        ..cfg_k(Some(4), seed)
    };
    let a = assign(&fit(&f, &rows, &cfg(1)).unwrap(), &f);
    let b = assign(&fit(&f, &rows, &cfg(2)).unwrap(), &f);
    let ari = adjusted_rand_index(&a, &b);
    assert!(ari >= 0.9, "ARI {ari}");
    assert_eq!(a, b, "canonical numbering makes the ids agree too");
}
