//! Trends like PEPPER: every scored indicator's rate by discharge quarter (the last
//! [`MAX_QUARTERS`] quarters the data holds) against the rate its same-level peers' audited
//! behaviour expects for the hospital's own mix in that quarter, the audited period shaded;
//! and, for the region page, points per stay by hospital level and quarter.

use chrono::Datelike;
use rayon::prelude::*;

use crate::indicators::{Ctx, Indicator, Part};
use crate::ingest::values::day_to_date;

/// Quarters drawn at most (PEPPER shows three years).
pub const MAX_QUARTERS: usize = 12;

/// The quarterly series of a run, computed once for every page.
pub struct Trends {
    /// `2024Q1` labels, oldest first.
    pub labels: Vec<String>,
    /// First and last index of the audited period's quarters in `labels`, when it shows.
    pub audited: Option<(usize, usize)>,
    /// Per scored indicator (registry index): its parts per hospital, `key` = quarter index
    /// in `labels`.
    pub tables: Vec<(usize, Vec<Vec<Part>>)>,
    /// Per hospital level 0–3 and quarter: (stays, points).
    pub level_points: [Vec<(f64, f64)>; 4],
}

/// Quarters since year 0 of a day.
fn quarter_of(day: i32) -> i32 {
    let d = day_to_date(day);
    d.year() * 4 + d.month0() as i32 / 3
}

impl Trends {
    /// Computes every scored indicator's quarterly table (in parallel, one pass over the
    /// cases each) and the level series.
    pub fn compute(ctx: &Ctx, registry: &[Box<dyn Indicator>]) -> Trends {
        let n = ctx.cases.len();
        let (lo, hi) = ctx
            .cases
            .discharge
            .iter()
            .fold((i32::MAX, i32::MIN), |(lo, hi), d| (lo.min(*d), hi.max(*d)));
        if n == 0 || lo > hi {
            return Trends {
                labels: Vec::new(),
                audited: None,
                tables: Vec::new(),
                level_points: Default::default(),
            };
        }
        let last = quarter_of(hi);
        let first = quarter_of(lo).max(last - MAX_QUARTERS as i32 + 1);
        let count = (last - first + 1) as usize;
        let labels = (first..=last)
            .map(|q| format!("{}Q{}", q.div_euclid(4), q.rem_euclid(4) + 1))
            .collect();
        // Each case's quarter once, not a calendar conversion per case per indicator: index
        // in `labels`, u32::MAX before the first.
        let quarters: Vec<u32> = ctx
            .cases
            .discharge
            .iter()
            .map(|&d| {
                let q = quarter_of(d);
                if q < first {
                    u32::MAX
                } else {
                    (q - first) as u32
                }
            })
            .collect();
        let index = |i: usize| -> u32 { quarters[i] };
        let periods = &ctx.derived.periods;
        let (a0, a1) = (
            quarter_of(periods.audited.start),
            quarter_of(periods.audited.end),
        );
        let audited = (a1 >= first && a0 <= last).then(|| {
            (
                (a0.max(first) - first) as usize,
                (a1.min(last) - first) as usize,
            )
        });
        let tables = registry
            .par_iter()
            .enumerate()
            .filter(|(_, ind)| ind.spec().scored)
            .filter_map(|(k, ind)| {
                let mut t = ind.period_table(ctx, &index)?;
                for parts in &mut t {
                    parts.retain(|p| (p.key as usize) < count);
                }
                Some((k, t))
            })
            .collect();
        let mut level_points: [Vec<(f64, f64)>; 4] = Default::default();
        for v in &mut level_points {
            *v = vec![(0.0, 0.0); count];
        }
        for i in 0..n {
            let q = index(i) as usize;
            if q >= count {
                continue;
            }
            let lv = usize::from(ctx.hospital_level[ctx.hospital(i) as usize].min(3));
            let cell = &mut level_points[lv][q];
            cell.0 += 1.0;
            cell.1 += ctx.derived.points[i];
        }
        Trends {
            labels,
            audited,
            tables,
            level_points,
        }
    }

    /// Hospital `h`'s observed and expected rate per quarter of one table (NaN where the
    /// hospital had no eligible case).
    pub fn rates(&self, parts: &[Part]) -> (Vec<f64>, Vec<f64>) {
        let mut o = vec![f64::NAN; self.labels.len()];
        let mut e = vec![f64::NAN; self.labels.len()];
        for p in parts.iter().filter(|p| p.n > 0.0) {
            if let (Some(a), Some(b)) = (o.get_mut(p.key as usize), e.get_mut(p.key as usize)) {
                *a = p.o / p.n;
                *b = p.e / p.n;
            }
        }
        (o, e)
    }
}
