//! `drg-audit evaluate`: scores a finished run against a generator's truth files and prints
//! the evaluation as JSON; with `--grid N`, generates N regions from the scenario families,
//! audits each exactly as `run` does (default configuration: the scheme's preset) and
//! prints the grid's accuracy or calibration table.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cli::EvaluateArgs;
use crate::error::{AuditError, Result};
use crate::evaluate::grid::{Grid, RegionOutcome};
use crate::generate::Scenario;
use crate::progress::Progress;

/// What `evaluate` needs.
#[derive(Debug, Clone)]
pub enum EvaluateOptions {
    /// One finished run against its truth file.
    Run {
        /// A finished run's output folder.
        run: PathBuf,
        /// The generator's `truth_hospitals.csv`.
        truth: PathBuf,
    },
    /// The scenario grid.
    Grid(GridOptions),
}

/// What `evaluate --grid` needs.
#[derive(Debug, Clone)]
pub struct GridOptions {
    /// Regions to generate and audit.
    pub regions: u64,
    /// Seed of the first region; region i has seed + i.
    pub seed: u64,
    /// Every gaming hospital honest (calibration).
    pub no_gaming: bool,
    /// Folder for `grid.json` and `grid.csv`.
    pub out: Option<PathBuf>,
    /// Stays per year of every region instead of the drawn volume (tests).
    pub cases_per_year: Option<usize>,
    /// A new folder that keeps every region's data and output (`region-SEED`, `run-SEED`).
    pub keep_regions: Option<PathBuf>,
    /// No progress lines.
    pub quiet: bool,
}

impl From<EvaluateArgs> for EvaluateOptions {
    fn from(a: EvaluateArgs) -> Self {
        match (a.grid, a.run, a.truth) {
            (None, Some(run), Some(truth)) => EvaluateOptions::Run { run, truth },
            // clap requires --run and --truth unless --grid is given.
            (grid, _, _) => EvaluateOptions::Grid(GridOptions {
                regions: grid.unwrap_or(1),
                seed: a.seed,
                no_gaming: a.no_gaming,
                out: a.out,
                cases_per_year: a.grid_cases_per_year,
                keep_regions: a.keep_regions,
                quiet: a.quiet,
            }),
        }
    }
}

/// Prints the evaluation, or the grid's table.
pub fn command(opts: EvaluateOptions) -> Result<()> {
    match opts {
        EvaluateOptions::Run { run, truth } => {
            let e = crate::evaluate::evaluate(&run, &truth)?;
            let text = crate::json::pretty(&e, "the evaluation")?;
            super::print_line(text.trim_end())
        }
        EvaluateOptions::Grid(g) => {
            let grid = grid(&g)?;
            super::print_line(grid.to_text().trim_end())?;
            if let Some(out) = &g.out {
                super::print_line(format_args!("grid: {}", out.join("grid.json").display()))?;
            }
            Ok(())
        }
    }
}

/// Generates, audits and scores every region of the grid; writes `grid.json` and
/// `grid.csv` when asked. Each region lives in a scratch folder only while it is scored.
pub fn grid(opts: &GridOptions) -> Result<Grid> {
    let scratch = match &opts.keep_regions {
        Some(dir) => Scratch::Kept(new_folder(dir)?),
        None => Scratch::Temporary(
            tempfile::Builder::new()
                .prefix("drg-audit-grid-")
                .tempdir()
                .map_err(|e| AuditError::io(&std::env::temp_dir(), e))?,
        ),
    };
    let progress = Progress::new(opts.quiet);
    let started = Instant::now();
    let mut outcomes = Vec::new();
    for i in 0..opts.regions {
        let seed = opts.seed.wrapping_add(i);
        let scenario = Scenario::draw(seed, opts.no_gaming);
        let description = scenario.describe();
        progress.step(&format!(
            "region {}/{} (seed {seed}): {description}",
            i + 1,
            opts.regions
        ));
        let t = Instant::now();
        let outcome = audit_region(&scenario, opts.cases_per_year, &scratch)?;
        let line = Grid::build(std::slice::from_ref(&outcome), seed, opts.no_gaming);
        if let Some(r) = line.per_region.first() {
            progress.step(&format!(
                "region {}/{} done in {:.1} s: risk AUC {:.3}, precision@k {:.3}, {} honest hospitals flagged",
                i + 1,
                opts.regions,
                t.elapsed().as_secs_f64(),
                r.risk_auc,
                r.precision_at_k,
                r.flagged_honest_hospitals
            ));
        }
        outcomes.push(outcome);
    }
    progress.step(&format!(
        "{} regions in {:.1} s",
        opts.regions,
        started.elapsed().as_secs_f64()
    ));
    progress.finish();
    let grid = Grid::build(&outcomes, opts.seed, opts.no_gaming);
    if let Some(out) = &opts.out {
        let dir = crate::report::OutputDir::create(out)?;
        dir.write("grid.json", crate::json::pretty(&grid, "the grid")?)?;
        dir.write("grid.csv", grid.to_csv())?;
        dir.commit()?;
    }
    Ok(grid)
}

/// Where the grid's regions live while they are scored.
enum Scratch {
    /// Removed region by region, and as a whole at the end.
    Temporary(tempfile::TempDir),
    /// The user's `--keep-regions` folder: every region stays.
    Kept(PathBuf),
}

impl Scratch {
    fn path(&self) -> &Path {
        match self {
            Scratch::Temporary(t) => t.path(),
            Scratch::Kept(p) => p,
        }
    }
}

/// Creates `dir` for `--keep-regions`: a folder of this run's only, so nothing of the user's
/// is ever overwritten.
fn new_folder(dir: &Path) -> Result<PathBuf> {
    if dir.exists() {
        return Err(AuditError::Usage(format!(
            "--keep-regions {}: the folder exists; name a new one",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| AuditError::io(dir, e))?;
    Ok(dir.to_path_buf())
}

/// One region: generate it, `run` it, read the outcome back, remove its files unless kept.
fn audit_region(
    scenario: &Scenario,
    cases_per_year: Option<usize>,
    scratch: &Scratch,
) -> Result<RegionOutcome> {
    let kept = matches!(scratch, Scratch::Kept(_));
    let scratch = scratch.path();
    let mut generate = scenario.options();
    if let Some(n) = cases_per_year {
        generate.cases_per_year = n;
    }
    let region = scratch.join(format!("region-{}", scenario.seed));
    let run = scratch.join(format!("run-{}", scenario.seed));
    super::generate::write_region(&generate, &region)?;
    super::run::run(&super::run::RunOptions::generated(
        &region,
        run.clone(),
        crate::lang::Lang::En,
        true,
    ))?;
    let outcome = RegionOutcome::read(
        &run,
        &region.join("truth_hospitals.csv"),
        scenario.seed,
        scenario.describe(),
    )?;
    for dir in [&region, &run] {
        if !kept {
            std::fs::remove_dir_all(dir).map_err(|e| AuditError::io(dir, e))?;
        }
    }
    Ok(outcome)
}
