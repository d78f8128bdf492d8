//! The only stage that writes (⑥): every output file of `run` and `check` is assembled
//! here and written through [`OutputDir`] — the CSV tables, `summary.json`/`check.json`,
//! the workbook and the HTML pages.
//!
//! The report people act on: `report.html` (the region at a glance, the ranked table,
//! charts, data quality) and a page per hospital (`hospitals/<id>.html`), each one
//! self-contained (inline SVG and CSS, a few lines of inline JavaScript for sorting), so a
//! regulator can forward it on a USB stick. Every value from the input is escaped.

mod cards;
mod check;
mod coding;
mod figures;
mod hospital;
pub mod page;
mod region_page;
pub mod series;

pub mod dataquality;
mod outdir;
pub mod ownership;
pub mod summary;
pub mod tables;
pub mod trends;
pub mod workbook;

pub use outdir::{OutputDir, csv_bytes, rejects_csv};
use rayon::prelude::*;
use summary::Summary;

use crate::audit::Audit;
use crate::compare::Finding;
use crate::error::Result;
use crate::indicators::{Ctx, Indicator};
use crate::ingest::Reject;
pub use crate::lang::Lang;
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

/// Hospital pages built in parallel before they are written.
const PAGES_AT_ONCE: usize = 64;

/// Writes `report.html` and `hospitals/<id>.html` into the output folder; `trends` are the
/// run's quarterly series ([`trends::Trends::compute`], which `run` computes beside the
/// tables and the workbook: the pages are the only ones to need them).
pub fn write(out: &OutputDir, input: &ReportInput, trends: &trends::Trends) -> Result<()> {
    let mut tr = crate::progress::Trace::new("write");
    let series = series::Series::compute(input.ctx);
    out.write("report.html", region_page::page(input, &series, trends))?;
    tr.mark("region page");
    let audited = input.ctx.audited_by_hospital();
    // The pages are built side by side (each is a pure function of the run) and written in
    // rank order, a few dozen at a time so that a region of thousands of hospitals does not
    // hold all its pages (~200 KB each) at once.
    for ranks in input.audit.ranks.chunks(PAGES_AT_ONCE) {
        let pages: Vec<(String, String)> = ranks
            .par_iter()
            .map(|r| {
                let name = format!("hospitals/{}.html", page::safe_stem(&r.hospital_id));
                let own = &audited[r.hospital as usize];
                (name, hospital::page(input, &series, trends, r, own))
            })
            .collect();
        for (name, html) in pages {
            out.write(&name, html)?;
        }
    }
    tr.mark("hospital pages");
    Ok(())
}

/// Writes `rejects.csv`, `hospitals.csv`, `findings.csv`, `cases_for_review.csv` and
/// `lever_codes.csv` (the tables `run` and `check` share).
pub fn write_tables(
    out: &OutputDir,
    ctx: &Ctx,
    registry: &[Box<dyn Indicator>],
    result: &Audit,
    rejects: &[crate::ingest::Reject],
    lang: crate::lang::Lang,
) -> Result<()> {
    out.write("rejects.csv", rejects_csv(rejects)?)?;
    out.write("hospitals.csv", tables::hospitals_csv(&result.ranks)?)?;
    out.write(
        "findings.csv",
        tables::findings_csv(ctx, registry, &result.findings, &result.ranks, lang)?,
    )?;
    out.write("cases_for_review.csv", tables::cases_csv(&result.leads)?)?;
    // In `check` the pairs are judged against the model's lever table (model version 4).
    out.write(
        "lever_codes.csv",
        tables::levers_csv(ctx, &result.levers, &result.ranks)?,
    )?;
    Ok(())
}
