//! Figures' data computed once from the cases: monthly stays and points per hospital, the
//! multiplier histogram per hospital (audited period), severity mix per level.

use chrono::Datelike;

use crate::indicators::Ctx;
use crate::ingest::values::day_to_date;
use crate::period::PeriodTag;

/// Multiplier histogram bin width and count (0–4 in steps of 0.1; the last bin takes ≥ 3.9).
pub const BIN_WIDTH: f64 = 0.1;
/// Number of bins.
pub const BINS: usize = 40;

/// Severity columns shown in the mix: 1, 3, 5, 9/other.
pub const SEVERITIES: [&str; 4] = ["1", "3", "5", "9/其他 other"];

/// Per-hospital series for the charts.
pub struct Series {
    /// `YYYY-MM` labels from the baseline start to the audited end.
    pub months: Vec<String>,
    /// [hospital][month] = (stays, points).
    pub monthly: Vec<Vec<(f64, f64)>>,
    /// [hospital][bin] = audited stays.
    pub multiplier_hist: Vec<[f64; BINS]>,
    /// [level 0–3][severity column] = audited stays.
    pub severity_by_level: [[f64; 4]; 4],
}

fn month_key(day: i32) -> i32 {
    let d = day_to_date(day);
    d.year() * 12 + d.month0() as i32
}

impl Series {
    /// Computes every series in one pass over the cases.
    pub fn compute(ctx: &Ctx) -> Series {
        let periods = &ctx.derived.periods;
        let first = month_key(
            periods
                .baseline
                .as_ref()
                .map_or(periods.audited.start, |b| b.start),
        );
        let last = month_key(periods.audited.end);
        let n_months = (last - first + 1).max(1) as usize;
        let months = (0..n_months as i32)
            .map(|m| format!("{}-{:02}", (first + m) / 12, (first + m) % 12 + 1))
            .collect();
        let nh = ctx.n_hospitals();
        let mut monthly = vec![vec![(0.0, 0.0); n_months]; nh];
        let mut multiplier_hist = vec![[0.0; BINS]; nh];
        let mut severity_by_level = [[0.0; 4]; 4];
        for i in 0..ctx.cases.len() {
            let tag = ctx.derived.period[i];
            if tag == PeriodTag::Outside {
                continue;
            }
            let h = ctx.hospital(i) as usize;
            let m = (month_key(ctx.cases.discharge[i]) - first) as usize;
            if let Some(cell) = monthly[h].get_mut(m) {
                cell.0 += 1.0;
                cell.1 += ctx.derived.points[i];
            }
            if tag == PeriodTag::Audited {
                let bin = ((ctx.derived.multiplier[i] / BIN_WIDTH) as usize).min(BINS - 1);
                multiplier_hist[h][bin] += 1.0;
                let col = match ctx.derived.severity[i] {
                    1 => 0,
                    3 => 1,
                    5 => 2,
                    _ => 3,
                };
                severity_by_level[ctx.derived.level[i] as usize][col] += 1.0;
            }
        }
        Series {
            months,
            monthly,
            multiplier_hist,
            severity_by_level,
        }
    }

    /// Bin edges of the multiplier histogram.
    pub fn bin_edges() -> Vec<f64> {
        (0..=BINS).map(|b| b as f64 * BIN_WIDTH).collect()
    }

    /// Shares per bin of a histogram (sum 1; zeros when empty).
    pub fn shares(hist: &[f64; BINS]) -> Vec<f64> {
        let total: f64 = hist.iter().sum();
        hist.iter()
            .map(|c| if total > 0.0 { c / total } else { 0.0 })
            .collect()
    }

    /// The pooled histogram of a set of hospitals.
    pub fn pooled_hist(&self, hospitals: impl Iterator<Item = usize>) -> [f64; BINS] {
        let mut out = [0.0; BINS];
        for h in hospitals {
            for (o, v) in out.iter_mut().zip(&self.multiplier_hist[h]) {
                *o += v;
            }
        }
        out
    }

    /// Monthly points per stay of a set of hospitals pooled (NaN where no stays).
    pub fn points_per_stay(&self, hospitals: &[usize]) -> Vec<f64> {
        (0..self.months.len())
            .map(|m| {
                let (s, p) = hospitals.iter().fold((0.0, 0.0), |acc, &h| {
                    (acc.0 + self.monthly[h][m].0, acc.1 + self.monthly[h][m].1)
                });
                if s > 0.0 { p / s } else { f64::NAN }
            })
            .collect()
    }

    /// Monthly stays of a set of hospitals, averaged per hospital.
    pub fn stays_per_hospital(&self, hospitals: &[usize]) -> Vec<f64> {
        let n = hospitals.len().max(1) as f64;
        (0..self.months.len())
            .map(|m| hospitals.iter().map(|&h| self.monthly[h][m].0).sum::<f64>() / n)
            .collect()
    }
}
