//! Hospital cluster mix against peers, indirectly standardised by DRG group.
//!
//! # The question
//!
//! "Does hospital H put more of its cases into cluster c than its peers would,
//! *given the groups its cases are in*?" A tertiary hospital treats heavier groups,
//! and heavy groups fall into the high-cost clusters more often; that is case mix,
//! not behaviour. Indirect standardisation removes it:
//!
//! * for each stratum s (the case's DRG/DIP group) and each peer group (hospitals
//!   of the same level), count the cluster distribution of the peers' cases in s,
//!   **leaving H out**: `P_sc = N_pg,s,c − H_s,c`;
//! * each of H's cases in s is expected to fall in cluster c with probability
//!   `p_sc = (P_sc + α q_c) / (P_s + α)`, where `q` is the peers' overall cluster mix
//!   and α = [`PRIOR_CASES`] (1 case) keeps a stratum with a handful of peer cases
//!   from declaring a cluster impossible;
//! * expected count `E_c = Σ_cases p_sc`, observed count `O_c`.
//!
//! Cases in a stratum where no peer has a case cannot be compared; they are left
//! out of `O`, `E` and `n` and counted in [`MixTest::unmatched`].
//!
//! # The test
//!
//! * **Pearson chi-square** `Σ (O − E)² / E` over the clusters, with sparse cells
//!   pooled: every cluster with `E <` [`MIN_EXPECTED`] (5) goes into one pooled cell,
//!   and if that pooled cell still has `E < 5` the smallest remaining cluster joins
//!   it. `df = cells − 1`; the p-value is the chi-square upper tail. Under the null
//!   each case is an independent draw from its own stratum's distribution, so each
//!   `O_c` has variance `Σ p(1 − p) ≤ E_c(1 − E_c/n)`: the statistic is slightly
//!   *conservative* for mixed strata (p-values too large, never too small). The peer
//!   rates are estimated; with very few peer cases the test is less reliable.
//! * **Divergence**: the Jensen–Shannon divergence (base 2, so in [0, 1]) between
//!   the observed shares `O/n` and the expected shares `E/n`. It is an effect size
//!   that does not grow with n (unlike chi-square) and stays finite when a share is
//!   zero (unlike KL).
//! * **Over-represented clusters**: `O > E` and `z = (O − E) / √V ≥` [`Z_OVER`]
//!   (1.96), with the exact null variance `V = Σ_cases p(1 − p)` floored at 0.25 (one
//!   coin flip) so that a cluster the peers never use does not give an infinite z.
//!   Listed as `(cluster, O/E, z)`, largest z first.

use std::collections::HashMap;

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Pseudo-count that shrinks a stratum's peer distribution toward the peers'
/// overall cluster mix.
pub const PRIOR_CASES: f64 = 1.0;
/// Expected count below which a cluster is pooled for the chi-square.
pub const MIN_EXPECTED: f64 = 5.0;
/// z at or above which an over-represented cluster is listed.
pub const Z_OVER: f64 = 1.96;
/// Floor of the null variance of a cluster count.
const MIN_VARIANCE: f64 = 0.25;

/// Cluster-mix test of one hospital.
#[derive(Debug, Clone, PartialEq)]
pub struct MixTest {
    /// Observed number of the hospital's (matched) cases per cluster.
    pub observed: Vec<f64>,
    /// Expected number per cluster from the peers' distribution in the same strata.
    pub expected: Vec<f64>,
    /// Number of matched cases (`Σ observed = Σ expected`).
    pub n: f64,
    /// Jensen–Shannon divergence (base 2, in [0, 1]) of observed vs expected shares.
    pub divergence: f64,
    /// Pearson chi-square after pooling sparse cells.
    pub chi2: f64,
    /// Degrees of freedom (cells after pooling − 1); 0 when nothing to test.
    pub df: usize,
    /// Upper-tail p-value; 1 when `df = 0`.
    pub p: f64,
    /// `(cluster, O/E, z)` for clusters with `O > E` and `z ≥ Z_OVER`, largest z first.
    pub over_represented: Vec<(usize, f64, f64)>,
    /// Included cases left out because no peer had a case in their stratum.
    pub unmatched: f64,
}

impl MixTest {
    fn empty(k: usize, unmatched: f64) -> Self {
        Self {
            observed: vec![0.0; k],
            expected: vec![0.0; k],
            n: 0.0,
            divergence: 0.0,
            chi2: 0.0,
            df: 0,
            p: 1.0,
            over_represented: Vec::new(),
            unmatched,
        }
    }
}

/// Peers' cluster counts by (peer group, stratum): what the mix test compares with, and
/// what the regional model publishes so a hospital can test its own mix.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MixTable {
    /// Number of clusters.
    pub k: usize,
    /// `(peer group, stratum, counts by cluster)`, sorted by peer group then stratum.
    pub cells: Vec<(u8, u32, Vec<u64>)>,
}

fn check_inputs(
    cluster: &[u16],
    hospital: &[u32],
    stratum: &[u32],
    peer_group: &[u8],
    include: &[bool],
    k: usize,
) -> usize {
    let n_rows = cluster.len();
    assert!(
        hospital.len() == n_rows && stratum.len() == n_rows && include.len() == n_rows,
        "cluster, hospital, stratum and include must have one entry per case"
    );
    let n_h = hospital.iter().map(|&h| h as usize + 1).max().unwrap_or(0);
    assert!(
        peer_group.len() >= n_h,
        "peer_group has {} entries but hospital indices reach {}",
        peer_group.len(),
        n_h - 1
    );
    assert!(
        cluster.iter().all(|&c| (c as usize) < k),
        "a cluster id is >= k = {k}"
    );
    n_h
}

/// Counts the included cases by (peer group of their hospital, stratum, cluster).
///
/// # Panics
/// As [`mix_tests`].
pub fn mix_table(
    cluster: &[u16],
    hospital: &[u32],
    stratum: &[u32],
    peer_group: &[u8],
    include: &[bool],
    k: usize,
) -> MixTable {
    check_inputs(cluster, hospital, stratum, peer_group, include, k);
    let mut cells: HashMap<(u8, u32), Vec<u64>> = HashMap::new();
    for i in 0..cluster.len() {
        if include[i] {
            let g = peer_group[hospital[i] as usize];
            cells.entry((g, stratum[i])).or_insert_with(|| vec![0; k])[cluster[i] as usize] += 1;
        }
    }
    let mut cells: Vec<(u8, u32, Vec<u64>)> =
        cells.into_iter().map(|((g, s), c)| (g, s, c)).collect();
    cells.sort_unstable_by_key(|c| (c.0, c.1));
    MixTable { k, cells }
}

/// Indirectly standardised cluster mix: for each of the hospital's cases, the
/// expected cluster distribution is the peers' distribution within the case's
/// stratum (its DRG group), hospital left out.
///
/// `cluster`, `hospital`, `stratum` and `include` are per case; `peer_group` is per
/// hospital index; only rows with `include[i]` are used (e.g. the audited period).
/// Returns one test per hospital index `0..=max(hospital)`.
///
/// # Panics
/// If the per-case slices differ in length, a hospital index has no `peer_group`
/// entry, or a cluster id is `≥ k`.
pub fn mix_tests(
    cluster: &[u16],
    hospital: &[u32],
    stratum: &[u32],
    peer_group: &[u8],
    include: &[bool],
    k: usize,
) -> Vec<MixTest> {
    let table = mix_table(cluster, hospital, stratum, peer_group, include, k);
    mix_tests_against(
        &table,
        |_| true,
        cluster,
        hospital,
        stratum,
        peer_group,
        include,
    )
}

/// [`mix_tests`] against a given peer table (a published model's). `own_included(h)`
/// says whether hospital `h`'s cases are part of the table (then they are taken out).
///
/// A published table may lack cells (suppressed for privacy: too few hospitals or cases):
/// a hospital's cases in a missing cell are unmatched, and only its cases in cells the
/// table has are taken out of the peers' overall mix. A cell whose length is not the
/// table's `k` is ignored (the model loader refuses such a table) and a count smaller than
/// the hospital's own saturates at zero, so no table makes this panic.
///
/// # Panics
/// As [`mix_tests`] (on the per-case inputs, never on the table).
pub fn mix_tests_against(
    table: &MixTable,
    own_included: impl Fn(usize) -> bool,
    cluster: &[u16],
    hospital: &[u32],
    stratum: &[u32],
    peer_group: &[u8],
    include: &[bool],
) -> Vec<MixTest> {
    let k = table.k;
    let n_rows = cluster.len();
    let n_h = check_inputs(cluster, hospital, stratum, peer_group, include, k);
    // Integer counts: (peer group, stratum) × cluster, peer group × cluster,
    // hospital × cluster. Integer sums do not depend on the order.
    let mut cell: HashMap<(u8, u32), usize> = HashMap::new();
    let mut strat_counts: Vec<u64> = Vec::with_capacity(table.cells.len() * k);
    let n_pg = table
        .cells
        .iter()
        .map(|c| c.0 as usize + 1)
        .chain(peer_group.iter().map(|&g| g as usize + 1))
        .max()
        .unwrap_or(0);
    let mut pg_counts = vec![0u64; n_pg * k];
    for (g, s, counts) in &table.cells {
        if counts.len() != k || cell.contains_key(&(*g, *s)) {
            continue;
        }
        cell.insert((*g, *s), strat_counts.len() / k);
        strat_counts.extend_from_slice(counts);
        for (c, n) in counts.iter().enumerate() {
            let t = &mut pg_counts[*g as usize * k + c];
            *t = t.saturating_add(*n);
        }
    }
    let mut h_counts = vec![0u64; n_h * k];
    let mut h_rows = vec![0usize; n_h + 1];
    for i in 0..n_rows {
        if include[i] {
            let h = hospital[i] as usize;
            // Only cases in a cell the table has are part of the peers' overall mix (in
            // `run` every cell is there; a model may have suppressed some).
            if cell.contains_key(&(peer_group[h], stratum[i])) {
                h_counts[h * k + cluster[i] as usize] += 1;
            }
            h_rows[h + 1] += 1;
        }
    }
    // Counting sort of the included rows by hospital.
    for h in 0..n_h {
        h_rows[h + 1] += h_rows[h];
    }
    let mut fill = h_rows.clone();
    let mut by_h = vec![0u64; h_rows[n_h]];
    for i in 0..n_rows {
        if include[i] {
            let h = hospital[i] as usize;
            by_h[fill[h]] = ((stratum[i] as u64) << 16) | cluster[i] as u64;
            fill[h] += 1;
        }
    }

    let mut out = Vec::with_capacity(n_h);
    let mut p = vec![0.0; k];
    let mut m_sc = vec![0u64; k];
    let zeros = vec![0u64; k];
    for h in 0..n_h {
        let keys = &mut by_h[h_rows[h]..h_rows[h + 1]];
        keys.sort_unstable();
        let g = peer_group[h];
        let mine = own_included(h);
        let own = |counts: &[u64], c: usize| if mine { counts[c] } else { 0 };
        // Peers' overall mix, hospital left out.
        let q: Vec<f64> = (0..k)
            .map(|c| {
                pg_counts[g as usize * k + c].saturating_sub(own(&h_counts[h * k..], c)) as f64
            })
            .collect();
        let q_tot: f64 = q.iter().sum();
        let mut obs = vec![0.0; k];
        let mut exp = vec![0.0; k];
        let mut var = vec![0.0; k];
        let mut unmatched = 0.0;
        let mut start = 0;
        while start < keys.len() {
            let s = (keys[start] >> 16) as u32;
            let mut end = start;
            m_sc.iter_mut().for_each(|x| *x = 0);
            while end < keys.len() && (keys[end] >> 16) as u32 == s {
                m_sc[(keys[end] & 0xFFFF) as usize] += 1;
                end += 1;
            }
            let m_s = (end - start) as f64;
            start = end;
            let peer = match cell.get(&(g, s)) {
                Some(&slot) => &strat_counts[slot * k..(slot + 1) * k],
                None => &zeros[..],
            };
            let p_tot: u64 = (0..k)
                .map(|c| peer[c].saturating_sub(own(&m_sc, c)))
                .fold(0, u64::saturating_add);
            if p_tot == 0 || q_tot == 0.0 {
                unmatched += m_s;
                continue;
            }
            let denom = p_tot as f64 + PRIOR_CASES;
            for c in 0..k {
                p[c] = (peer[c].saturating_sub(own(&m_sc, c)) as f64 + PRIOR_CASES * q[c] / q_tot)
                    / denom;
                obs[c] += m_sc[c] as f64;
                exp[c] += m_s * p[c];
                var[c] += m_s * p[c] * (1.0 - p[c]);
            }
        }
        out.push(finish(obs, exp, &var, unmatched));
    }
    out
}

/// Statistics of one hospital from its observed and expected counts.
fn finish(obs: Vec<f64>, exp: Vec<f64>, var: &[f64], unmatched: f64) -> MixTest {
    let k = obs.len();
    let n: f64 = obs.iter().sum();
    if n == 0.0 {
        return MixTest::empty(k, unmatched);
    }
    let divergence = jensen_shannon(&obs, &exp, n);
    let (chi2, df) = pooled_chi2(&obs, &exp);
    let p = if df == 0 {
        1.0
    } else {
        ChiSquared::new(df as f64)
            .map(|d| d.sf(chi2))
            .unwrap_or(1.0)
    };
    let mut over: Vec<(usize, f64, f64)> = (0..k)
        .filter(|&c| obs[c] > exp[c])
        .map(|c| {
            let z = (obs[c] - exp[c]) / var[c].max(MIN_VARIANCE).sqrt();
            let oe = if exp[c] > 0.0 {
                obs[c] / exp[c]
            } else {
                f64::INFINITY
            };
            (c, oe, z)
        })
        .filter(|&(_, _, z)| z >= Z_OVER)
        .collect();
    over.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    MixTest {
        observed: obs,
        expected: exp,
        n,
        divergence,
        chi2,
        df,
        p,
        over_represented: over,
        unmatched,
    }
}

/// Jensen–Shannon divergence (bits) between `a/n` and `b/n`.
fn jensen_shannon(a: &[f64], b: &[f64], n: f64) -> f64 {
    let mut js = 0.0;
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x / n, y / n);
        let m = 0.5 * (x + y);
        if x > 0.0 {
            js += 0.5 * x * (x / m).log2();
        }
        if y > 0.0 {
            js += 0.5 * y * (y / m).log2();
        }
    }
    js.clamp(0.0, 1.0)
}

/// Pearson chi-square with cells of expected < [`MIN_EXPECTED`] pooled.
fn pooled_chi2(obs: &[f64], exp: &[f64]) -> (f64, usize) {
    let mut idx: Vec<usize> = (0..obs.len()).collect();
    idx.sort_by(|&a, &b| exp[a].total_cmp(&exp[b]).then(a.cmp(&b)));
    let (mut po, mut pe) = (0.0, 0.0);
    let mut pooled_any = false;
    let mut cells: Vec<(f64, f64)> = Vec::new();
    for &c in &idx {
        if exp[c] < MIN_EXPECTED {
            po += obs[c];
            pe += exp[c];
            pooled_any = true;
        } else {
            cells.push((obs[c], exp[c]));
        }
    }
    if pooled_any {
        if pe < MIN_EXPECTED && !cells.is_empty() {
            // The smallest remaining cell joins the pool (cells are sorted by E).
            let (o, e) = cells.remove(0);
            po += o;
            pe += e;
        }
        cells.push((po, pe));
    }
    if cells.len() < 2 {
        return (0.0, 0);
    }
    let chi2 = cells
        .iter()
        .filter(|&&(_, e)| e > 0.0)
        .map(|&(o, e)| (o - e) * (o - e) / e)
        .sum();
    (chi2, cells.len() - 1)
}
