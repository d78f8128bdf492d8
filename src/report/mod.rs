//! The report people act on: `report.html` (the region at a glance, the ranked table,
//! charts, data quality) and a page per hospital (`hospitals/<id>.html`), each one
//! self-contained (inline SVG and CSS, a few lines of inline JavaScript for sorting), so a
//! regulator can forward it on a USB stick. Every value from the input is escaped.

mod check;
mod figures;
mod hospital;
pub mod page;
mod region_page;
pub mod series;

pub mod dataquality;
mod outdir;
pub mod summary;
pub mod tables;
pub mod workbook;

pub use outdir::{OutputDir, csv_bytes, rejects_csv};
use summary::Summary;

use crate::compare::Finding;
use crate::error::Result;
use crate::indicators::{Ctx, Indicator};
use crate::ingest::Reject;
pub use crate::lang::Lang;
use crate::cmd::run::Audit;
pub use check::check_page;

/// Everything the report shows.
pub struct ReportInput<'a> {
    /// The analysed region.
    pub ctx: &'a Ctx<'a>,
    /// The indicator registry (names, numerators, denominators).
    pub registry: &'a [Box<dyn Indicator>],
    /// Detector results.
    pub audit: &'a Audit,
    /// The run summary.
    pub summary: &'a Summary,
    /// Rejected rows.
    pub rejects: &'a [Reject],
    /// Language.
    pub lang: Lang,
}

impl ReportInput<'_> {
    /// The findings of one hospital, in registry order.
    pub fn findings_of(&self, h: u32) -> Vec<&Finding> {
        let mut v: Vec<&Finding> = self
            .audit
            .findings
            .iter()
            .filter(|f| f.hospital == h)
            .collect();
        v.sort_by_key(|f| f.indicator);
        v
    }
}

/// Writes `report.html` and `hospitals/<id>.html` into the output folder.
pub fn write(out: &OutputDir, input: &ReportInput) -> Result<()> {
    let series = series::Series::compute(input.ctx);
    out.write("report.html", region_page::page(input, &series))?;
    for r in &input.audit.ranks {
        let name = format!("hospitals/{}.html", page::safe_stem(&r.hospital_id));
        out.write(&name, hospital::page(input, &series, r))?;
    }
    Ok(())
}
