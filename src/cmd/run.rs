//! The `run` command: ingest → derive → (detectors) → outputs, with timings.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::catalog::Catalog;
use crate::compare::{self, Finding, IndicatorDispersion};
use crate::config::RegionConfig;
use crate::derive::{self, DerivedCases};
use crate::error::Result;
use crate::indicators::{self, Ctx, Indicator};
use crate::ingest::{self, Ingested};
use crate::leads::{self, CaseLead};
use crate::report::summary::{self, CatalogueSummary, InputFile, RowCounts, Summary};
use crate::report::{self as output, OutputDir};
use crate::rank::{self, Dilution, HospitalRank};

/// What `run` needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Case table (CSV or Parquet).
    pub cases: PathBuf,
    /// Group catalogue; `None` = the bundled CHS-DRG catalogue.
    pub groups: Option<PathBuf>,
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
    /// Stage timings.
    pub timings_ms: BTreeMap<&'static str, u64>,
}

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

/// Summary of the detectors' results for `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct AuditSummary {
    /// Hospital × indicator tests.
    pub tests: usize,
    /// Flagged findings.
    pub flagged_findings: usize,
    /// Hospitals with at least one flag.
    pub flagged_hospitals: usize,
    /// Case leads written.
    pub cases_for_review: usize,
    /// The dilution of the point value.
    pub dilution: Dilution,
    /// Over-dispersion per indicator.
    pub dispersion: Vec<IndicatorDispersion>,
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

/// Reads and derives: everything up to the detectors.
pub fn analyse(opts: &RunOptions) -> Result<Analysis> {
    analyse_with(opts, &crate::progress::Progress::silent())
}

/// [`analyse`] with progress reporting.
pub fn analyse_with(opts: &RunOptions, progress: &crate::progress::Progress) -> Result<Analysis> {
    let mut timings_ms = BTreeMap::new();
    let t = Instant::now();
    let config = load_config(opts)?;
    let catalog = match &opts.groups {
        Some(p) => Catalog::from_file(p, &config)?,
        None => Catalog::bundled(&config)?,
    };
    timings_ms.insert("catalogue", t.elapsed().as_millis() as u64);
    let t = Instant::now();
    progress.step(&format!("reading {}", opts.cases.display()));
    let ingested = ingest::read_cases(&opts.cases, &catalog)?;
    timings_ms.insert("ingest", t.elapsed().as_millis() as u64);
    let t = Instant::now();
    progress.step("deriving multipliers, bands, points and readmission links");
    let derived = derive::derive(&ingested.cases, &catalog, &config)?;
    timings_ms.insert("derive", t.elapsed().as_millis() as u64);
    Ok(Analysis {
        config,
        catalog,
        ingested,
        derived,
        timings_ms,
    })
}

/// Runs the audit and writes the outputs; returns the output folder.
pub fn run(opts: &RunOptions) -> Result<PathBuf> {
    let start = Instant::now();
    let progress = crate::progress::Progress::new(opts.quiet);
    let out = OutputDir::create(&opts.out)?;
    // Input hashes are computed on a second thread while the main one reads the data.
    let hashing = std::thread::scope(|scope| {
        let hasher = scope.spawn(|| hash_inputs(opts));
        let analysis = analyse_with(opts, &progress);
        (analysis, hasher.join())
    });
    let (analysis, hashed) = hashing;
    let Analysis {
        config,
        catalog,
        ingested,
        derived,
        mut timings_ms,
    } = analysis?;
    let inputs =
        hashed.map_err(|_| crate::error::AuditError::Usage("input hashing failed".into()))??;
    let t = Instant::now();
    progress.step("clustering case patterns (K-Means)");
    let mut ctx = Ctx::new(&ingested.cases, &derived, &catalog, &config);
    ctx.lang = opts.lang;
    ctx.clusters = crate::cluster::cluster_region(&ctx, None)?;
    timings_ms.insert("cluster", t.elapsed().as_millis() as u64);
    let t = Instant::now();
    progress.step("testing indicators against same-level peers");
    let registry = indicators::registry();
    let result = audit(&ctx, &registry, opts.lang);
    timings_ms.insert("detect", t.elapsed().as_millis() as u64);
    let t = Instant::now();
    progress.step("writing tables, report and workbook");
    write_tables(&out, &ctx, &registry, &result, &ingested.rejects, opts.lang)?;
    let mut summary = build_summary(
        inputs,
        &config,
        &catalog,
        &ingested,
        &derived,
        timings_ms.clone(),
    );
    summary.audit = Some(AuditSummary {
        tests: result.findings.len(),
        flagged_findings: result.findings.iter().filter(|f| f.flagged).count(),
        flagged_hospitals: result.ranks.iter().filter(|r| !r.flags.is_empty()).count(),
        cases_for_review: result.leads.len(),
        dilution: result.dilution.clone(),
        dispersion: result.dispersion.clone(),
    });
    let report_input = crate::report::ReportInput {
        ctx: &ctx,
        registry: &registry,
        audit: &result,
        summary: &summary,
        rejects: &ingested.rejects,
        lang: opts.lang,
    };
    crate::report::write(&out, &report_input)?;
    if let Some(cv) = &ctx.clusters {
        out.write("clusters.json", crate::cluster::to_json(&cv.model))?;
    }
    let cases_sha = summary
        .inputs
        .first()
        .map(|f| f.sha256.clone())
        .unwrap_or_default();
    out.write(
        "model.json",
        crate::published::RegionModel::build(&ctx, &result, &cases_sha).to_json()?,
    )?;
    out.write(
        "audit_worklist.xlsx",
        output::workbook::workbook(
            &ctx,
            &registry,
            &result.ranks,
            &result.findings,
            &result.leads,
            opts.lang,
        )?,
    )?;
    timings_ms.insert("write", t.elapsed().as_millis() as u64);
    timings_ms.insert("total", start.elapsed().as_millis() as u64);
    let summary = Summary {
        timings_ms,
        ..summary
    };
    out.write("summary.json", json(&summary)?)?;
    out.commit()
}

/// Writes `rejects.csv`, `hospitals.csv`, `findings.csv` and `cases_for_review.csv` (the
/// tables `run` and `check` share).
pub fn write_tables(
    out: &OutputDir,
    ctx: &Ctx,
    registry: &[Box<dyn Indicator>],
    result: &Audit,
    rejects: &[crate::ingest::Reject],
    lang: crate::lang::Lang,
) -> Result<()> {
    out.write("rejects.csv", output::rejects_csv(rejects)?)?;
    out.write(
        "hospitals.csv",
        output::tables::hospitals_csv(&result.ranks)?,
    )?;
    out.write(
        "findings.csv",
        output::tables::findings_csv(ctx, registry, &result.findings, &result.ranks, lang)?,
    )?;
    out.write(
        "cases_for_review.csv",
        output::tables::cases_csv(&result.leads)?,
    )
}

fn hash_inputs(opts: &RunOptions) -> Result<Vec<InputFile>> {
    let mut inputs = vec![InputFile::hash("cases", &opts.cases)?];
    if let Some(g) = &opts.groups {
        inputs.push(InputFile::hash("groups", g)?);
    }
    if let Some(c) = &opts.config {
        inputs.push(InputFile::hash("config", c)?);
    }
    Ok(inputs)
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| crate::error::AuditError::Usage(format!("cannot serialise summary: {e}")))
}

/// Assembles `summary.json`.
pub fn build_summary(
    inputs: Vec<InputFile>,
    config: &RegionConfig,
    catalog: &Catalog,
    ingested: &Ingested,
    derived: &DerivedCases,
    timings_ms: BTreeMap<&'static str, u64>,
) -> Summary {
    let s = &ingested.stats;
    let group_rejects = s.rejected_by_column.get("group_code").copied().unwrap_or(0);
    let cases = &ingested.cases;
    Summary {
        software: "drg-audit",
        version: env!("CARGO_PKG_VERSION"),
        inputs,
        rows: RowCounts {
            read: s.rows_read,
            analysed: s.rows_analysed,
            rejected: s.rows_rejected,
            reconciles: s.rows_read == s.rows_analysed + s.rows_rejected,
            by_period: summary::by_period(derived),
        },
        ingest: s.clone(),
        periods: derived.periods.clone(),
        hospitals: cases.hospitals.len(),
        patients: cases.n_patients,
        catalogue: CatalogueSummary {
            source: catalog.source.clone(),
            groups: catalog.groups.len(),
            families: catalog.families.len(),
            derived_family: catalog.derived_family,
            derived_severity: catalog.derived_severity,
            groups_used: summary::groups_used(cases, catalog.groups.len()),
            grouping_coverage: 1.0 - group_rejects as f64 / s.rows_read.max(1) as f64,
        },
        benchmarks: derived.benchmarks.cases_by_source.clone(),
        point_value: derived.point_value.clone(),
        band_mix: summary::band_mix(derived),
        unknown_diagnosis_codes: derived.unknown_codes,
        config: config.clone(),
        audit: None,
        timings_ms,
    }
}
