//! `drg-audit run`: ingest → derive → region → clusters → audit → report, with timings.
//! [`analyse`] (everything up to the region) is shared with `bench`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::audit::audit;
use crate::catalog::Catalog;
use crate::cli::{RunArgs, TableArgs};
use crate::config::RegionConfig;
use crate::derive::{self, DerivedCases};
use crate::error::Result;
use crate::indicators::{self, Ctx};
use crate::ingest::{self, Ingested};
use crate::progress::{Progress, Timings};
use crate::region::Region;
use crate::report::summary::{self, AuditSummary, InputFile, Summary};
use crate::report::{self, OutputDir};

/// What `run` needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Case table (CSV, Excel or Parquet).
    pub cases: PathBuf,
    /// Its sheet and sub-tables (`--sheet`, `--diagnoses`, `--procedures`).
    pub tables: TableArgs,
    /// Group catalogue; `None` = the bundled CHS-DRG catalogue.
    pub groups: Option<PathBuf>,
    /// The sheet of an Excel catalogue (`None` = the first).
    pub groups_sheet: Option<String>,
    /// Region config file; `None` = preset.
    pub config: Option<PathBuf>,
    /// Preset to start from when no config file is given.
    pub preset: Option<String>,
    /// Audited period override (`2024` or a date range).
    pub period: Option<String>,
    /// Output folder.
    pub out: PathBuf,
    /// Language of the report and the reasons.
    pub lang: crate::lang::Lang,
    /// Silence progress lines.
    pub quiet: bool,
    /// Refuse the input when more than this share of its rows is rejected (1 = never).
    pub max_reject_share: f64,
}

impl From<RunArgs> for RunOptions {
    fn from(a: RunArgs) -> Self {
        RunOptions {
            cases: a.cases,
            tables: a.tables,
            groups: a.groups,
            groups_sheet: a.groups_sheet,
            config: a.config,
            preset: a.preset,
            period: a.period,
            out: a.out,
            lang: a.lang,
            quiet: a.quiet,
            max_reject_share: a.rejects.limit(),
        }
    }
}

impl RunOptions {
    /// The audit of a generated region folder (`cases.csv`, `groups.csv`, `region.toml`),
    /// as `demo` and `bench` run it.
    pub fn generated(region: &Path, out: PathBuf, lang: crate::lang::Lang, quiet: bool) -> Self {
        RunOptions {
            cases: region.join("cases.csv"),
            tables: TableArgs::default(),
            groups: Some(region.join("groups.csv")),
            groups_sheet: None,
            config: Some(region.join("region.toml")),
            preset: None,
            period: None,
            out,
            lang,
            quiet,
            max_reject_share: crate::ingest::DEFAULT_MAX_REJECT_SHARE,
        }
    }
}

/// `drg-audit run`: the audit, then where the report is.
pub fn command(opts: RunOptions) -> Result<()> {
    let out = run(&opts)?;
    super::print_line(format_args!(
        "report: {}",
        out.join("report.html").display()
    ))
}

/// The analysed region, held in memory between stages.
pub struct Analysis {
    /// Effective configuration.
    pub config: RegionConfig,
    /// Catalogue.
    pub catalog: Catalog,
    /// Ingested cases and rejects.
    pub ingested: Ingested,
    /// Derived fields.
    pub derived: DerivedCases,
    /// Stage timings (catalogue, ingest, derive).
    pub timings: Timings,
}

/// Resolves the configuration: file, else preset, else DRG points; `--period` wins.
pub fn load_config(opts: &RunOptions) -> Result<RegionConfig> {
    let mut config = match (&opts.config, &opts.preset) {
        (Some(path), _) => RegionConfig::from_file(path)?,
        (None, Some(name)) => RegionConfig::preset(name)?,
        (None, None) => RegionConfig::default_drg(),
    };
    if let Some(p) = &opts.period {
        config.periods.audited = Some(p.clone());
    }
    Ok(config)
}

/// The group catalogue: `--groups`, else the bundled CHS-DRG catalogue.
pub fn load_catalog(opts: &RunOptions, config: &RegionConfig) -> Result<Catalog> {
    match &opts.groups {
        Some(p) => Catalog::from_file_sheet(p, opts.groups_sheet.as_deref(), config),
        None => Catalog::bundled(config),
    }
}

/// Reads and derives: everything up to the detectors.
pub fn analyse(opts: &RunOptions) -> Result<Analysis> {
    analyse_with(opts, &Progress::silent(), Timings::start(), None)
}

/// [`analyse`] with progress reporting, adding its stages to `timings`; `scratch` holds a
/// transcoded copy of the input (see [`ingest::read_cases_in`]).
pub fn analyse_with(
    opts: &RunOptions,
    progress: &Progress,
    mut timings: Timings,
    scratch: Option<&Path>,
) -> Result<Analysis> {
    timings.stage("catalogue");
    let config = load_config(opts)?;
    let catalog = load_catalog(opts, &config)?;
    timings.stage("ingest");
    progress.step(&format!("reading {}", opts.cases.display()));
    let ingested = ingest::read_cases_in(
        &opts.cases,
        &catalog,
        &ingest::ReadOptions::of(&config, scratch).with_tables(opts.tables.as_read()),
    )?;
    ingest::check_reject_share(&ingested, opts.max_reject_share)?;
    // The streaming read's text frame is gone: give its pages back before derive.
    crate::memory::release_freed();
    timings.stage("derive");
    progress.step("deriving multipliers, bands, points and readmission links");
    let derived = derive::derive(&ingested.cases, &catalog, &config)?;
    if let Some(found) = derived.low_threshold.extra_threshold() {
        progress.warn(&format!(
            "the multiplier density jumps at {found} (z {:.1}), not at the configured low threshold {}: hospitals seem to be paid on {found}; set [multiplier] low = {found} if the region pays there (bunching is tested at both, LM_LOW_BUNCHING_FOUND)",
            derived.low_threshold.z, config.multiplier.low
        ));
    }
    timings.end();
    Ok(Analysis {
        config,
        catalog,
        ingested,
        derived,
        timings,
    })
}

/// Runs the audit and writes the outputs; returns the output folder.
pub fn run(opts: &RunOptions) -> Result<PathBuf> {
    run_timed(opts).map(|(out, _)| out)
}

/// [`run`], also returning the stage timings in milliseconds (as `summary.json` has them),
/// for `bench`.
pub fn run_timed(opts: &RunOptions) -> Result<(PathBuf, BTreeMap<&'static str, u64>)> {
    let timings = Timings::start();
    let progress = Progress::new(opts.quiet);
    require_inputs(opts)?;
    let out = OutputDir::create(&opts.out)?;
    // Input hashes are computed on a second thread while the main one reads the data.
    let hashing = std::thread::scope(|scope| {
        let hasher = scope.spawn(|| hash_inputs(opts));
        let analysis = analyse_with(opts, &progress, timings, Some(out.staging_path()));
        (analysis, hasher.join())
    });
    let (analysis, hashed) = hashing;
    let Analysis {
        config,
        catalog,
        ingested,
        derived,
        mut timings,
    } = analysis?;
    let inputs = hashed.map_err(|_| crate::error::AuditError::Thread("input hashing"))??;
    timings.stage("cluster");
    progress.step("clustering case patterns (K-Means)");
    let region = Region::new(&ingested.cases, &derived, &catalog, &config);
    let clusters = crate::cluster::cluster_region(&region, None)?;
    // And the cluster fit rows' feature matrix's.
    crate::memory::release_freed();
    let ctx = Ctx::new(&region, clusters.as_ref(), opts.lang);
    timings.stage("detect");
    progress.step("testing indicators against same-level peers");
    let registry = indicators::registry();
    let result = audit(&ctx, &registry, opts.lang);
    timings.stage("write");
    progress.step("writing tables, report and workbook");
    let cases_sha = inputs.first().map(|f| f.sha256.clone()).unwrap_or_default();
    // The quarterly trends (a pass over the cases per scored indicator) are needed by the
    // pages only: computed on a second thread while this one writes the tables, the
    // regional model and the workbook.
    let (trends, written) = std::thread::scope(|scope| {
        let trends = scope.spawn(|| {
            let mut tr = crate::progress::Trace::new("write");
            let trends = crate::report::trends::Trends::compute(&ctx, &registry);
            tr.mark("quarterly trends (second thread)");
            trends
        });
        // Written first: a tuple's elements are evaluated in order, and `join` waits.
        let written = write_tables_model_and_workbook(
            &out,
            &ctx,
            &registry,
            &result,
            &ingested.rejects,
            &cases_sha,
            opts.lang,
        );
        (trends.join(), written)
    });
    written?;
    let trends = trends.map_err(|_| crate::error::AuditError::Thread("quarterly trends"))?;
    let mut summary = summary::build_summary(
        inputs,
        &config,
        &catalog,
        &ingested,
        &derived,
        timings.ended().clone(),
    );
    summary.audit = Some(AuditSummary::of(&result));
    let report_input = crate::report::ReportInput {
        ctx: &ctx,
        registry: &registry,
        audit: &result,
        summary: &summary,
        rejects: &ingested.rejects,
        lang: opts.lang,
    };
    crate::report::write(&out, &report_input, &trends)?;
    if let Some(cv) = ctx.clusters {
        out.write("clusters.json", crate::cluster::to_json(&cv.model))?;
    }
    let timings_ms = timings.finish();
    let summary = Summary {
        timings_ms: timings_ms.clone(),
        ..summary
    };
    out.write("summary.json", crate::json::pretty(&summary, "summary")?)?;
    Ok((out.commit()?, timings_ms))
}

/// What `run` writes besides the report pages: the tables `check` shares, `model.json`
/// (tied to the case table by `cases_sha`) and the workbook.
fn write_tables_model_and_workbook(
    out: &OutputDir,
    ctx: &Ctx,
    registry: &[Box<dyn indicators::Indicator>],
    result: &crate::audit::Audit,
    rejects: &[crate::ingest::Reject],
    cases_sha: &str,
    lang: crate::lang::Lang,
) -> Result<()> {
    let mut tr = crate::progress::Trace::new("write");
    report::write_tables(out, ctx, registry, result, rejects, lang)?;
    tr.mark("tables");
    out.write(
        "model.json",
        crate::published::RegionModel::build(ctx, result, cases_sha).to_json()?,
    )?;
    tr.mark("model");
    out.write(
        "audit_worklist.xlsx",
        report::workbook::workbook(
            ctx,
            registry,
            &result.ranks,
            &result.findings,
            &result.leads,
            &result.drilldowns,
            lang,
        )?,
    )?;
    tr.mark("workbook");
    Ok(())
}

/// Refuses a folder, pipe or device given as an input before any thread reads it (hashing
/// `/dev/zero` would never end).
fn require_inputs(opts: &RunOptions) -> Result<()> {
    crate::files::require_file(&opts.cases, "--cases")?;
    for (role, p) in opts.tables.files() {
        crate::files::require_file(p, &format!("--{role}"))?;
    }
    if let Some(g) = &opts.groups {
        crate::files::require_file(g, "--groups")?;
    }
    if let Some(c) = &opts.config {
        crate::files::require_file(c, "--config")?;
    }
    Ok(())
}

fn hash_inputs(opts: &RunOptions) -> Result<Vec<InputFile>> {
    let mut inputs = vec![InputFile::hash("cases", &opts.cases)?];
    for (role, p) in opts.tables.files() {
        inputs.push(InputFile::hash(role, p)?);
    }
    if let Some(g) = &opts.groups {
        inputs.push(InputFile::hash("groups", g)?);
    }
    if let Some(c) = &opts.config {
        inputs.push(InputFile::hash("config", c)?);
    }
    Ok(inputs)
}
