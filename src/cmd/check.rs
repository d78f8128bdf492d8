//! `check`: a hospital audits its own batch against the published regional model before
//! it submits — the same indicators, the same peer sums, the same calibration and FDR
//! reference as the regulator's `run`, so what `check` says about a hospital is what `run`
//! said (or will say) about it.
//!
//! Peers: when the batch is the very data the model was built from (same audited period and
//! the same case ids, recognised by the digest the model keeps per hospital), the hospital's
//! own cases are taken out of the peer sums, exactly as `run` does. A new batch (next
//! period, or corrected data) is compared with the whole model; its own earlier data, if the
//! hospital contributed to the model, stays among the peers. For a new period the peers'
//! change is unknown, so change indicators compare the batch's baseline and audited period
//! with the same published (audited-period) peer rates.
//!
//! Besides `run`'s files, `check` lists the cases behind findings that are not flagged
//! but lie beyond the funnel's 95 % limit (`cases_near_threshold.csv`): a hospital wants to
//! fix genuine errors before they become a lead.

use std::path::PathBuf;

use crate::cli::{CheckArgs, TableArgs};
use crate::cluster;
use crate::derive::{self, Fixed};
use crate::error::Result;
use crate::indicators::{self, Ctx};
use crate::ingest;
use crate::lang::Lang;
use crate::peers::PeerSource;
use crate::period;
use crate::progress::{Progress, Timings};
use crate::published::{self as model, RegionModel};
use crate::region::{PublishedPeers, Region};
use crate::report::summary::{CheckRows, CheckSummary, CheckedHospital, InputFile, ModelUsed};
use crate::report::{self, OutputDir};

/// One-sided p at or below which an unflagged scored finding is "near the threshold": beyond
/// the funnel's 95 % limit in the suspicious direction.
pub const NEAR_THRESHOLD_P: f64 = 0.025;

/// What `check` needs.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The hospital's batch (CSV, Excel or Parquet, the `run` contract).
    pub cases: PathBuf,
    /// Its sheet and sub-tables (`--sheet`, `--diagnoses`, `--procedures`).
    pub tables: TableArgs,
    /// The regional model (`model.json`).
    pub model: PathBuf,
    /// Output folder.
    pub out: PathBuf,
    /// Audited period override.
    pub period: Option<String>,
    /// Language of the page and the reasons.
    pub lang: Lang,
    /// Silence progress lines.
    pub quiet: bool,
    /// Refuse the input when more than this share of its rows is rejected (1 = never).
    pub max_reject_share: f64,
}

impl From<CheckArgs> for CheckOptions {
    fn from(a: CheckArgs) -> Self {
        CheckOptions {
            cases: a.cases,
            tables: a.tables,
            model: a.model,
            out: a.out,
            period: a.period,
            lang: a.lang,
            quiet: a.quiet,
            max_reject_share: a.rejects.limit(),
        }
    }
}

/// `drg-audit check`: the self-audit, then where its page is.
pub fn command(opts: CheckOptions) -> Result<()> {
    let out = check(&opts)?;
    super::print_line(format_args!(
        "self-audit: {}",
        out.join("check.html").display()
    ))
}

/// Runs the self-audit and writes its outputs; returns the output folder.
pub fn check(opts: &CheckOptions) -> Result<PathBuf> {
    let mut timings = Timings::start();
    let progress = Progress::new(opts.quiet);
    // The model first: a bad model is refused before anything is written.
    progress.step(&format!("reading the model {}", opts.model.display()));
    let model = RegionModel::read(&opts.model)?;
    let out = OutputDir::create(&opts.out)?;
    let mut config = model.config.clone();
    let catalog = model.catalog(&opts.model)?;
    let benchmarks = model.benchmarks(&catalog, &opts.model)?;
    progress.step(&format!("reading {}", opts.cases.display()));
    timings.stage("ingest");
    let ingested = ingest::read_cases_in(
        &opts.cases,
        &catalog,
        &ingest::ReadOptions::of(&config, Some(out.staging_path()))
            .with_tables(opts.tables.as_read()),
    )?;
    ingest::check_reject_share(&ingested, opts.max_reject_share)?;
    timings.stage("derive");
    config.periods.audited = Some(audited_period(opts, &model, &ingested.cases.discharge)?);
    let derived = derive::derive_with(
        &ingested.cases,
        &catalog,
        &config,
        Some(Fixed {
            benchmarks: &benchmarks,
            point_value: &model.point_value,
            low_threshold: model.low_threshold.as_ref(),
        }),
    )?;
    let same_periods = derived.periods.audited.label == model.built_from.audited_period
        && derived.periods.baseline.as_ref().map(|b| &b.label)
            == model.built_from.baseline_period.as_ref();
    let tables = model.peer_tables();
    let digests = model::hospital_digests(&ingested.cases, &derived);
    let own_included: Vec<bool> = ingested
        .cases
        .hospitals
        .iter()
        .zip(&digests)
        .map(|(h, d)| {
            same_periods
                && model
                    .hospitals
                    .iter()
                    .any(|m| m.id == h.id && m.cases_digest == d.text())
        })
        .collect();
    let published_peers = PublishedPeers {
        light_medical_group: model.light_groups(&catalog),
        peers: PeerSource::Published {
            tables: &tables,
            own_included: own_included.clone(),
            same_periods,
            levers: &model.levers,
        },
        // Without the same periods the peers' growth is unknown (zeros read as "n/a").
        peer_volume: if same_periods {
            model.volume_by_level
        } else {
            [[(0.0, 0.0); 2]; 4]
        },
    };
    let region = Region::against(
        &ingested.cases,
        &derived,
        &catalog,
        &config,
        published_peers,
    );
    timings.stage("cluster");
    let clusters = match &model.clusters {
        Some(published) => {
            progress.step("placing the cases in the published case-pattern clusters");
            cluster::cluster_region(&region, Some(published))?
        }
        None => None,
    };
    let ctx = Ctx::new(&region, clusters.as_ref(), opts.lang);
    timings.stage("detect");
    progress.step("testing indicators against the published peer rates");
    let registry = indicators::registry();
    let judging = model.judging();
    let mut result = crate::audit::audit_against(&ctx, &registry, opts.lang, Some(&judging));
    timings.end();
    // Ranks are the region's: where each hospital's risk would stand among the model's.
    for r in &mut result.ranks {
        r.rank = model.rank_of(r.risk_score);
    }
    // Cases behind findings that are not flagged yet but sit beyond the funnel's 95 % limit
    // in the suspicious direction: what a coder should look at before the regulator does.
    let near: Vec<crate::compare::Finding> = result
        .findings
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.flagged = !f.flagged && f.scored && f.evidence > 0.0 && f.p <= NEAR_THRESHOLD_P;
            f
        })
        .collect();
    let near_leads = crate::leads::case_leads(&ctx, &registry, &near, &result.ranks);
    timings.stage("write");
    progress.step("writing the self-audit");
    report::write_tables(&out, &ctx, &registry, &result, &ingested.rejects, opts.lang)?;
    out.write(
        "cases_near_threshold.csv",
        report::tables::cases_csv(&near_leads)?,
    )?;
    let hospitals: Vec<CheckedHospital> = result
        .ranks
        .iter()
        .map(|r| CheckedHospital {
            hospital_id: r.hospital_id.clone(),
            same_data_as_model: own_included[r.hospital as usize],
            region_rank: r.rank,
            region_hospitals: model.built_from.hospitals,
            rank: r.clone(),
        })
        .collect();
    out.write(
        "check.html",
        report::check_page(&ctx, &registry, &result, &near_leads, &hospitals, opts.lang),
    )?;
    let s = &ingested.stats;
    let timings = timings.finish();
    let summary = CheckSummary {
        software: "drg-audit",
        version: env!("CARGO_PKG_VERSION"),
        cases: InputFile::hash("cases", &opts.cases)?,
        sub_tables: opts
            .tables
            .files()
            .into_iter()
            .map(|(role, p)| InputFile::hash(role, p))
            .collect::<Result<_>>()?,
        model: ModelUsed {
            file: InputFile::hash("model", &opts.model)?,
            version: model.version,
            built_from: model.built_from.clone(),
            suppression: model.suppression.clone(),
        },
        rows: CheckRows {
            read: s.rows_read,
            analysed: s.rows_analysed,
            rejected: s.rows_rejected,
            reconciles: s.rows_read == s.rows_analysed + s.rows_rejected,
        },
        ingest: s.clone(),
        periods: derived.periods.clone(),
        same_periods_as_model: same_periods,
        hospitals,
        cases_for_review: result.leads.len(),
        cases_near_threshold: near_leads.len(),
        timings_ms: timings,
    };
    out.write("check.json", crate::json::pretty(&summary, "check.json")?)?;
    out.commit()
}

/// The batch's audited period: `--period`; else the batch's own default (the latest year
/// with at least half the busiest year's stays), which becomes the model's exact period
/// when it is the model's year — so the data the model was built from is tagged as `run`
/// tagged it.
fn audited_period(
    opts: &CheckOptions,
    model: &RegionModel,
    discharge: &[crate::ingest::values::Day],
) -> Result<String> {
    if let Some(p) = &opts.period {
        return Ok(p.clone());
    }
    let own = period::choose(discharge, None)?;
    let published = period::choose(discharge, Some(&model.built_from.audited_period))?;
    Ok(
        if published.audited.contains(own.audited.start)
            || own.audited.contains(published.audited.start)
        {
            published.audited.label
        } else {
            own.audited.label
        },
    )
}
