//! False discovery rate: Benjamini–Hochberg q-values.
//!
//! An audit runs one test per hospital × indicator, often thousands. At a 5%
//! significance level, 1,000 tests of perfectly honest hospitals would still
//! give about 50 "significant" findings. Benjamini and Hochberg (1995) control
//! instead the *false discovery rate*: the expected share of false alarms
//! among the findings reported.
//!
//! The q-value of a test is the smallest FDR at which it would be reported.
//! Reporting every test with `q ≤ 0.05` means that, on average, at most 5% of
//! the reported findings are false alarms (exactly so when the tests are
//! independent or positively dependent, which is the usual assumption for
//! hospital comparisons). The values here match R's
//! `p.adjust(p, method = "BH")`.

/// Benjamini–Hochberg q-values, returned in the order of the input.
///
/// With the `m` valid p-values sorted ascending as `p(1) ≤ … ≤ p(m)`, the
/// q-value of `p(i)` is
///
/// ```text
/// q(i) = min over j ≥ i of  min(1, p(j) · m / j)
/// ```
///
/// The running minimum from the largest p-value down (the "step-up") makes the
/// q-values monotone: a smaller p-value never gets a larger q-value.
///
/// Missing values: an entry that is `NaN` or outside `[0, 1]` is not a
/// p-value. It is returned as `NaN` and is **not** counted in `m`, so it
/// neither helps nor penalises the other tests. Empty input gives an empty
/// vector. Ties receive equal q-values.
pub fn bh_qvalues(p: &[f64]) -> Vec<f64> {
    let mut out = vec![f64::NAN; p.len()];
    let mut valid: Vec<(usize, f64)> = p
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, v)| (0.0..=1.0).contains(&v))
        .collect();
    let m = valid.len();
    if m == 0 {
        return out;
    }
    valid.sort_by(|a, b| a.1.total_cmp(&b.1));
    let m_f = m as f64;
    let mut running_min = 1.0_f64;
    for (rank0, &(idx, pv)) in valid.iter().enumerate().rev() {
        let raw = pv * m_f / (rank0 + 1) as f64;
        running_min = running_min.min(raw);
        out[idx] = running_min;
    }
    out
}

/// Benjamini–Hochberg q-values looked up against a fixed list of p-values (a published
/// model's), each further test judged alone beside the list.
///
/// [`BhBeside::q`] of a p-value the list holds (bit for bit) is its q within the list, as
/// [`bh_qvalues`] gives it; of any other p-value, the q that [`bh_qvalues`] would give it
/// over the list plus that p-value alone (the last entry of `bh_qvalues(list ++ [p])`),
/// bit for bit. Built in `O(m log m)`, each lookup `O(log m)`.
pub struct BhBeside {
    /// The list's p-values in total order, each with its q within the list.
    listed: Vec<(f64, f64)>,
    /// The list's valid p-values, ascending.
    valid: Vec<f64>,
    /// `tail_min[k]`: the step-up minimum (from 1) over `valid[k..]`, each ranked one
    /// place lower than in the list and with `m + 1` tests, as when one more p-value sits
    /// just before `valid[k]`; `tail_min[m] = 1`.
    tail_min: Vec<f64>,
}

impl BhBeside {
    pub fn new(list: &[f64]) -> Self {
        let mut listed: Vec<(f64, f64)> = list.iter().copied().zip(bh_qvalues(list)).collect();
        listed.sort_by(|a, b| a.0.total_cmp(&b.0));
        let valid: Vec<f64> = listed
            .iter()
            .map(|&(p, _)| p)
            .filter(|v| (0.0..=1.0).contains(v))
            .collect();
        let m = valid.len();
        // The same arithmetic, in the same order, as `bh_qvalues` over m + 1 values.
        let m_f = (m + 1) as f64;
        let mut tail_min = vec![1.0_f64; m + 1];
        for k in (0..m).rev() {
            let raw = valid[k] * m_f / (k + 2) as f64;
            tail_min[k] = tail_min[k + 1].min(raw);
        }
        BhBeside {
            listed,
            valid,
            tail_min,
        }
    }

    /// The q-value of `p` (see [`BhBeside`]); `NaN` for a value that is not a p-value.
    pub fn q(&self, p: f64) -> f64 {
        // Equal bits are equal in the total order, and tied p-values share one q.
        if let Ok(i) = self.listed.binary_search_by(|x| x.0.total_cmp(&p)) {
            return self.listed[i].1;
        }
        if !(0.0..=1.0).contains(&p) {
            return f64::NAN;
        }
        // Not in the list, so no listed value ties with it: it ranks right after those
        // below it.
        let k = self.valid.partition_point(|v| v.total_cmp(&p).is_lt());
        let m_f = (self.valid.len() + 1) as f64;
        self.tail_min[k].min(p * m_f / (k + 1) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    fn assert_all_close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            if w.is_nan() {
                assert!(g.is_nan(), "expected NaN, got {g}");
            } else {
                assert_abs_diff_eq!(*g, *w, epsilon = 1e-12);
            }
        }
    }

    #[test]
    fn four_values_by_hand() {
        // Sorted: 0.005 (rank 1), 0.01 (2), 0.03 (3), 0.04 (4); m = 4.
        // Raw p·m/rank: 0.02, 0.02, 0.04, 0.04. Step-up min keeps them.
        // Back in input order: [0.02, 0.04, 0.04, 0.02].
        let q = bh_qvalues(&[0.01, 0.04, 0.03, 0.005]);
        assert_all_close(&q, &[0.02, 0.04, 0.04, 0.02]);
    }

    #[test]
    fn ten_values_match_r_p_adjust() {
        // p (sorted) = 0.001 0.008 0.039 0.041 0.042 0.060 0.074 0.205 0.212 0.216
        // raw p·10/rank = 0.01 0.04 0.13 0.1025 0.084 0.1 0.1057143 0.25625
        //                 0.2355556 0.216
        // step-up cumulative min from the top:
        //                 0.01 0.04 0.084 0.084 0.084 0.1 0.1057143 0.216 0.216 0.216
        // R: p.adjust(c(0.001,0.008,0.039,0.041,0.042,0.06,0.074,0.205,0.212,0.216),
        //             method = "BH") gives the same vector.
        // Input given shuffled to check that output follows input order.
        let p = [
            0.212, 0.001, 0.074, 0.041, 0.216, 0.039, 0.008, 0.205, 0.06, 0.042,
        ];
        let want = [
            0.216,
            0.01,
            0.074 * 10.0 / 7.0,
            0.084,
            0.216,
            0.084,
            0.04,
            0.216,
            0.1,
            0.084,
        ];
        assert_all_close(&bh_qvalues(&p), &want);
    }

    #[test]
    fn nan_passes_through_and_is_not_counted() {
        // With the NaN dropped, m = 4 and the answer is the hand example above.
        let q = bh_qvalues(&[0.01, f64::NAN, 0.04, 0.03, 0.005]);
        assert_all_close(&q, &[0.02, f64::NAN, 0.04, 0.04, 0.02]);
        // Out-of-range values are treated as missing too.
        let q = bh_qvalues(&[0.01, 1.5, 0.04, -0.2, 0.03, 0.005]);
        assert_all_close(&q, &[0.02, f64::NAN, 0.04, f64::NAN, 0.04, 0.02]);
    }

    #[test]
    fn capped_at_one_and_ties_equal() {
        // m = 3; sorted 0.5, 0.9, 0.9 → raw 1.5, 1.35, 0.9 → min from top: 0.9, 0.9, 0.9
        assert_all_close(&bh_qvalues(&[0.9, 0.5, 0.9]), &[0.9, 0.9, 0.9]);
        // A single p-value is its own q-value; 1.0 stays 1.0.
        assert_all_close(&bh_qvalues(&[0.03]), &[0.03]);
        assert_all_close(&bh_qvalues(&[1.0, 1.0]), &[1.0, 1.0]);
        // m = 2, sorted 0.6, 0.8 → raw 1.2 (capped), 0.8 → 0.8, 0.8
        assert_all_close(&bh_qvalues(&[0.8, 0.6]), &[0.8, 0.8]);
    }

    #[test]
    fn empty_and_all_missing() {
        assert!(bh_qvalues(&[]).is_empty());
        let q = bh_qvalues(&[f64::NAN, f64::NAN]);
        assert!(q.iter().all(|v| v.is_nan()));
    }

    /// A lookup gives, bit for bit, what `bh_qvalues` gives: the listed q for a listed
    /// p-value, the last q of `bh_qvalues(list ++ [p])` for any other.
    #[test]
    fn beside_agrees_with_bh_over_the_list_plus_one() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let value = |rng: &mut rand_chacha::ChaCha8Rng| match rng.random_range(0..10) {
            0 => f64::NAN,
            1 => 0.0,
            2 => 1.0,
            3 => 1.5,
            4 => f64::from(rng.random_range(0..20u8)) / 20.0,
            _ => rng.random::<f64>().powi(3),
        };
        for _ in 0..300 {
            let n = rng.random_range(0..40);
            let list: Vec<f64> = (0..n).map(|_| value(&mut rng)).collect();
            let table = BhBeside::new(&list);
            let q = bh_qvalues(&list);
            for (p, q) in list.iter().zip(&q) {
                assert_eq!(table.q(*p).to_bits(), q.to_bits(), "{p} in {list:?}");
            }
            for _ in 0..20 {
                let p = value(&mut rng);
                if list.iter().any(|x| x.to_bits() == p.to_bits()) {
                    continue;
                }
                let mut with = list.clone();
                with.push(p);
                let want = *bh_qvalues(&with).last().unwrap();
                assert_eq!(table.q(p).to_bits(), want.to_bits(), "{p} beside {list:?}");
            }
        }
    }
}
