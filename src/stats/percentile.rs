//! Percentiles for PEPPER-style comparison tables.
//!
//! PEPPER (the US hospital self-audit report) ranks each hospital's value of a
//! target-area ratio against its peers and flags values at or above the 80th
//! percentile (possible over-coding) and at or below the 20th (possible
//! under-coding). Two questions arise, and this module answers each:
//!
//! * *Where does this hospital stand?* [`percentile_rank`]: the percentage of
//!   peers whose value is at or below the hospital's.
//! * *What is the 80th percentile of the peers?* [`quantile`]: the cut point,
//!   computed with the same rule as R's default `quantile(x, type = 7)` and
//!   spreadsheet `PERCENTILE.INC`, so an auditor can reproduce it in Excel.
//!
//! Whether the hospital itself is among the peers is the caller's choice and
//! should be stated in the report; PEPPER includes every hospital in the
//! state or nation when computing its percentiles.

/// Copy of the finite values of `values`, sorted ascending.
///
/// `NaN` and infinite entries are dropped (a hospital with no denominator has
/// no rate and takes no place in the ranking). The result is ready for
/// [`quantile`].
pub fn sorted_finite(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Percentile rank of `value` among `peers`, in `[0, 100]`: the percentage of
/// peers whose value is **at or below** `value`.
///
/// Ties convention: peers equal to `value` count as "at or below" (the
/// "weak" rank, as `scipy.stats.percentileofscore(kind = "weak")`). So a
/// hospital sharing the top value with others ranks 100, and a value below
/// every peer ranks 0. This convention can only place a hospital *higher* when
/// it ties, which matches the PEPPER reading "at or above the 80th percentile".
///
/// Peers that are `NaN` or infinite are ignored. Returns `NaN` when `value`
/// is not finite or no finite peer remains.
pub fn percentile_rank(value: f64, peers: &[f64]) -> f64 {
    if !value.is_finite() {
        return f64::NAN;
    }
    let mut total = 0usize;
    let mut at_or_below = 0usize;
    for &p in peers.iter().filter(|p| p.is_finite()) {
        total += 1;
        if p <= value {
            at_or_below += 1;
        }
    }
    if total == 0 {
        return f64::NAN;
    }
    100.0 * at_or_below as f64 / total as f64
}

/// The `q`-th quantile (`q` in `[0, 1]`) of an ascending-sorted slice, by
/// linear interpolation between order statistics (Hyndman & Fan type 7, R's
/// default, Excel `PERCENTILE.INC`).
///
/// With `n` values `x[0] ≤ … ≤ x[n−1]`, let `h = (n − 1)·q`; the result is
/// `x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋])`. For example the 80th percentile of
/// `[1, 2, 3, 4]` is `3.4`.
///
/// `sorted` must be ascending and free of `NaN` (use [`sorted_finite`]); the
/// function does not re-sort it. Returns `NaN` for an empty slice or for `q`
/// outside `[0, 1]` or `NaN`.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 || q.is_nan() || !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = h - lo as f64;
    sorted[lo] + frac * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn quantile_type7_by_hand() {
        let x = [1.0, 2.0, 3.0, 4.0];
        // h = 3·0.8 = 2.4 → 3 + 0.4·(4 − 3) = 3.4 (R: quantile(1:4, 0.8) = 3.4)
        assert_abs_diff_eq!(quantile(&x, 0.8), 3.4, epsilon = 1e-12);
        // h = 3·0.2 = 0.6 → 1 + 0.6·(2 − 1) = 1.6
        assert_abs_diff_eq!(quantile(&x, 0.2), 1.6, epsilon = 1e-12);
        assert_abs_diff_eq!(quantile(&x, 0.5), 2.5, epsilon = 1e-12);
        assert_abs_diff_eq!(quantile(&x, 0.0), 1.0, epsilon = 1e-12);
        assert_abs_diff_eq!(quantile(&x, 1.0), 4.0, epsilon = 1e-12);
        // Uneven gaps: [0, 10, 40], q = 0.8 → h = 1.6 → 10 + 0.6·30 = 28
        assert_abs_diff_eq!(quantile(&[0.0, 10.0, 40.0], 0.8), 28.0, epsilon = 1e-12);
    }

    #[test]
    fn quantile_edges() {
        assert!(quantile(&[], 0.5).is_nan());
        assert!(quantile(&[1.0], 1.2).is_nan());
        assert!(quantile(&[1.0], f64::NAN).is_nan());
        assert_abs_diff_eq!(quantile(&[7.0], 0.8), 7.0, epsilon = 1e-12);
    }

    #[test]
    fn sorted_finite_drops_nan_and_sorts() {
        let v = sorted_finite(&[3.0, f64::NAN, 1.0, f64::INFINITY, 2.0]);
        assert_eq!(v, vec![1.0, 2.0, 3.0]);
        assert_abs_diff_eq!(quantile(&v, 0.5), 2.0, epsilon = 1e-12);
    }

    #[test]
    fn percentile_rank_counts_ties_as_at_or_below() {
        let peers = [1.0, 2.0, 2.0, 3.0, 4.0];
        // 1, 2, 2 are ≤ 2 → 3/5 = 60
        assert_abs_diff_eq!(percentile_rank(2.0, &peers), 60.0, epsilon = 1e-12);
        // 1, 2, 2 are ≤ 2.5 → 60 as well
        assert_abs_diff_eq!(percentile_rank(2.5, &peers), 60.0, epsilon = 1e-12);
        assert_abs_diff_eq!(percentile_rank(1.0, &peers), 20.0, epsilon = 1e-12);
        assert_abs_diff_eq!(percentile_rank(0.0, &peers), 0.0, epsilon = 1e-12);
        assert_abs_diff_eq!(percentile_rank(4.0, &peers), 100.0, epsilon = 1e-12);
    }

    #[test]
    fn percentile_rank_edges() {
        assert!(percentile_rank(1.0, &[]).is_nan());
        assert!(percentile_rank(1.0, &[f64::NAN]).is_nan());
        assert!(percentile_rank(f64::NAN, &[1.0]).is_nan());
        // NaN peers are ignored: 1 of the 2 finite peers is ≤ 1.5
        assert_abs_diff_eq!(
            percentile_rank(1.5, &[1.0, f64::NAN, 2.0]),
            50.0,
            epsilon = 1e-12
        );
    }
}
