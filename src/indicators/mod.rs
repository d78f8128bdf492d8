//! Indicators: one file per detector family, one registry line per indicator.
//!
//! Every indicator is a ratio with a defined numerator and denominator (as PEPPER does),
//! measured per hospital over the audited period and compared with the peers of the same
//! level *for the hospital's own mix of groups* (indirect standardisation, the hospital
//! itself left out of its peer rate). This module only measures: `O`, `E` and the variance
//! under the peers' behaviour. Judging (funnel limits, p, q) is [`crate::compare`]'s job.

pub mod cluster_mix;
pub mod context;
mod kinds;
pub mod lever;
pub mod low_multiplier;
pub mod point_chasing;
pub mod upcoding;

use serde::Serialize;

pub use context::Ctx;
pub use kinds::{
    BinaryIndicator, CasePart, ChangeIndicator, Measure, Measured, Part, ReferenceIndicator, Tail,
    split_parts,
};
pub use low_multiplier::STRATA_PER_GROUP;

/// The three detectors a finding feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// 高套分组: heavier groups than the patients' resource use supports.
    Upcoding,
    /// 冲点: more points from the same patients (split stays, low-standard admissions, padding).
    PointChasing,
    /// 低倍率异常: too many, or too few, low-multiplier cases.
    LowMultiplier,
    /// 病例模式: crowding a suspicious case-pattern cluster.
    ClusterMix,
}

impl Detector {
    /// Every detector: the three main ones first, then the cluster mix (`rank.rs` relies on
    /// this order: the risk is the largest of the first three plus a tenth of the rest).
    pub const ALL: [Detector; 4] = [
        Detector::Upcoding,
        Detector::PointChasing,
        Detector::LowMultiplier,
        Detector::ClusterMix,
    ];
    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Detector::Upcoding => "upcoding",
            Detector::PointChasing => "point_chasing",
            Detector::LowMultiplier => "low_multiplier",
            Detector::ClusterMix => "cluster_mix",
        }
    }
}

/// Which tail is suspicious.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// More than the peers (upper tail).
    Excess,
    /// Fewer than the peers (lower tail).
    Deficit,
}

/// Static description of an indicator.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IndicatorSpec {
    /// Finding code written in `flags` and `findings.csv`.
    pub code: &'static str,
    /// Detector it feeds.
    pub detector: Detector,
    /// Suspicious tail.
    pub direction: Direction,
    /// Whether it enters the detector score (others are shown as supporting evidence).
    pub scored: bool,
    /// English name.
    pub name_en: &'static str,
    /// Chinese name.
    pub name_zh: &'static str,
    /// Numerator, in words.
    pub numerator: &'static str,
    /// Denominator, in words.
    pub denominator: &'static str,
    /// How `E` is formed, in words.
    pub expected: &'static str,
}

/// An indicator: measures every hospital and names its own case-level leads.
pub trait Indicator: Sync {
    /// Its description.
    fn spec(&self) -> &IndicatorSpec;
    /// One measure per hospital (index-aligned with `Cases::hospitals`).
    fn measure(&self, ctx: &Ctx) -> Measured;
    /// If audited case `i` is evidence for this indicator, the points at stake on it.
    fn case_lead(&self, ctx: &Ctx, i: usize) -> Option<f64>;
    /// Why case `i` is evidence, in a few words with its numbers.
    fn case_reason(&self, ctx: &Ctx, i: usize) -> String;
    /// Why the indicator cannot be tested on this region (a column missing, no eligible
    /// case), in the run's language; `None` when it can, or when it has no specific reason.
    /// Asked only when no hospital was tested, so the report says why instead of "no data".
    fn untestable(&self, _ctx: &Ctx) -> Option<String> {
        None
    }
    /// Each of `hospitals`' measure case by case (one list per hospital listed, in one pass
    /// over the cases): every audited case of its denominator whose stratum has peers, with
    /// its observed value and its expectation under the very standardisation of
    /// [`Indicator::measure`] (the same peer rate, the same scaling), so that Σ o = O and
    /// Σ e = E. `None` when the measure is not a sum over cases (the cluster-mix χ²): such
    /// an indicator is "not split".
    fn case_parts(&self, _ctx: &Ctx, _hospitals: &[u32]) -> Option<Vec<Vec<CasePart>>> {
        None
    }
    /// Hospital `h`'s measure split by `key` (a department, a physician): the parts' `o`
    /// and `e` add up to the hospital's. `None` when the indicator is not split.
    fn split(&self, ctx: &Ctx, h: u32, key: &dyn Fn(usize) -> u32) -> Option<Vec<Part>> {
        let mut parts = self.case_parts(ctx, &[h])?;
        Some(split_parts(&parts.pop().unwrap_or_default(), key))
    }
    /// Every hospital's denominator cases of every period the data holds (not only the
    /// audited one) summed by `period` (a discharge quarter): observed, and the expectation
    /// from the same-level peers' audited-period rate of each case's stratum (hospital left
    /// out; no own-ratio scaling) — the trend PEPPER draws against its peers. Indexed by
    /// hospital. `None` when the indicator has no per-case rate (weight index, cluster mix).
    fn period_table(&self, _ctx: &Ctx, _period: &dyn Fn(usize) -> u32) -> Option<Vec<Vec<Part>>> {
        None
    }
}

/// An indicator that knows why it may be untestable on a region: `inner` measures, `reason`
/// answers [`Indicator::untestable`].
pub(crate) struct Explained<I> {
    /// The indicator.
    pub inner: I,
    /// Why it cannot be tested, when it cannot.
    pub reason: fn(&Ctx) -> Option<String>,
}

impl<I: Indicator> Indicator for Explained<I> {
    fn spec(&self) -> &IndicatorSpec {
        self.inner.spec()
    }
    fn measure(&self, ctx: &Ctx) -> Measured {
        self.inner.measure(ctx)
    }
    fn case_lead(&self, ctx: &Ctx, i: usize) -> Option<f64> {
        self.inner.case_lead(ctx, i)
    }
    fn case_reason(&self, ctx: &Ctx, i: usize) -> String {
        self.inner.case_reason(ctx, i)
    }
    fn untestable(&self, ctx: &Ctx) -> Option<String> {
        (self.reason)(ctx)
    }
    fn case_parts(&self, ctx: &Ctx, hospitals: &[u32]) -> Option<Vec<Vec<CasePart>>> {
        self.inner.case_parts(ctx, hospitals)
    }
    fn period_table(&self, ctx: &Ctx, period: &dyn Fn(usize) -> u32) -> Option<Vec<Vec<Part>>> {
        self.inner.period_table(ctx, period)
    }
}

/// An indicator no hospital could be tested on, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Untested {
    /// Finding code.
    pub code: &'static str,
    /// Why, in one sentence (the run's language).
    pub reason: String,
}

/// Why indicator `ind` was not tested on any hospital: its own reason, or the generic one.
pub fn untested(ctx: &Ctx, ind: &dyn Indicator) -> Untested {
    let reason = ind.untestable(ctx).unwrap_or_else(|| {
        context::say!(
            ctx,
            "没有医院同时具备合格病例和可比的同级对照",
            "no hospital had eligible audited cases with peers to compare them with"
        )
    });
    Untested {
        code: ind.spec().code,
        reason,
    }
}

/// The registry: every indicator the run computes, in report order.
pub fn registry() -> Vec<Box<dyn Indicator>> {
    let mut all: Vec<Box<dyn Indicator>> = Vec::new();
    all.extend(upcoding::indicators());
    all.extend(point_chasing::indicators());
    all.extend(low_multiplier::indicators());
    all.push(Box::new(cluster_mix::MixDivergence));
    all.push(Box::new(cluster_mix::SuspiciousClusterShare));
    all
}
