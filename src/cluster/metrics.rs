//! Agreement between two clusterings.
//!
//! The adjusted Rand index (Hubert & Arabie 1985) counts pairs of cases that two
//! partitions put together or apart, corrected for chance: 1 for identical
//! partitions (whatever the cluster numbering), about 0 for unrelated ones, negative
//! when worse than chance. It is used to check that a fit recovers known groups
//! and that it is stable across seeds.

use std::collections::HashMap;

/// Adjusted Rand index of two labellings of the same cases.
///
/// Returns 1 when both partitions are trivial in the same way (e.g. one cluster
/// each) and for fewer than two cases.
///
/// # Panics
/// If `a` and `b` differ in length.
pub fn adjusted_rand_index(a: &[u16], b: &[u16]) -> f64 {
    assert_eq!(a.len(), b.len(), "labellings must have the same length");
    let n = a.len() as u64;
    if n < 2 {
        return 1.0;
    }
    let mut table: HashMap<(u16, u16), u64> = HashMap::new();
    let mut ra: HashMap<u16, u64> = HashMap::new();
    let mut rb: HashMap<u16, u64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1;
        *ra.entry(x).or_default() += 1;
        *rb.entry(y).or_default() += 1;
    }
    // Integer pair counts: exact and independent of the map order.
    let pairs = |m: u64| (m as u128) * (m as u128).saturating_sub(1) / 2;
    let index: u128 = table.values().map(|&m| pairs(m)).sum();
    let sa: u128 = ra.values().map(|&m| pairs(m)).sum();
    let sb: u128 = rb.values().map(|&m| pairs(m)).sum();
    let total = pairs(n) as f64;
    let expected = sa as f64 * sb as f64 / total;
    let max = 0.5 * (sa as f64 + sb as f64);
    if max == expected {
        return 1.0;
    }
    (index as f64 - expected) / (max - expected)
}
