//! The judging chain of one region: the indicators measure (③), compare judges against
//! the peers (④), rank scores the hospitals and the dilution, leads lists the cases (⑤).
//! `run` calls it on the region judged against itself, `check` with a published model's
//! calibration; both get the same [`Audit`].

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::compare::{self, Finding, IndicatorDispersion};
use crate::indicators::{Ctx, Indicator};
use crate::leads::{self, CaseLead};
use crate::rank::{self, Dilution, HospitalRank};

/// The detectors' results for one region.
pub struct Audit {
    /// Every hospital × indicator tested.
    pub findings: Vec<Finding>,
    /// Over-dispersion per indicator.
    pub dispersion: Vec<IndicatorDispersion>,
    /// Hospitals, best lead first.
    pub ranks: Vec<HospitalRank>,
    /// Point-value dilution.
    pub dilution: Dilution,
    /// Case-level leads.
    pub leads: Vec<CaseLead>,
    /// Calibrations and p-values (what the regional model publishes for `check`).
    pub judging: compare::Judging,
    /// The peer tables the indicators summed from the region, by finding code.
    pub tables: BTreeMap<String, crate::peers::PeerTable>,
}

/// Runs every indicator, judges, ranks and lists case leads.
pub fn audit(ctx: &Ctx, registry: &[Box<dyn Indicator>], lang: crate::lang::Lang) -> Audit {
    audit_against(ctx, registry, lang, None)
}

/// [`audit`] with the judging published in a regional model (`check`), or the region's own.
pub fn audit_against(
    ctx: &Ctx,
    registry: &[Box<dyn Indicator>],
    lang: crate::lang::Lang,
    published: Option<&compare::Judging>,
) -> Audit {
    let measured: Vec<_> = registry.par_iter().map(|ind| ind.measure(ctx)).collect();
    let mut tables = BTreeMap::new();
    let mut measures = Vec::with_capacity(measured.len());
    for (ind, m) in registry.iter().zip(measured) {
        if let Some(t) = m.table {
            tables.insert(ind.spec().code.to_string(), t);
        }
        measures.push(m.measures);
    }
    let compare::Compared {
        findings,
        dispersion,
        judging,
    } = compare::compare(ctx, registry, &measures, published);
    let ranks = rank::rank(ctx, registry, &findings, lang);
    let dilution = rank::dilution(ctx, &ranks);
    let leads = leads::case_leads(ctx, registry, &findings, &ranks);
    Audit {
        findings,
        dispersion,
        ranks,
        dilution,
        leads,
        judging,
        tables,
    }
}
