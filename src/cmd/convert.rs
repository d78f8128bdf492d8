//! `drg-audit convert`: reads a case table once as `run` reads it and stores the parsed
//! columns as a typed Parquet, which later runs read without parsing text again (see
//! [`crate::ingest::typed`]). The rows are checked as a run checks them, so the counts it
//! prints are the run's; rejected rows are kept with their reasons, and a run on the Parquet
//! lists them in `rejects.csv` on their lines of the original table.

use std::path::PathBuf;

use super::run::{self, RunOptions};
use crate::cli::{ConvertArgs, TableArgs};
use crate::error::Result;
use crate::ingest::{self, ReadOptions};

/// What `convert` needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The case table (CSV, Excel or Parquet).
    pub cases: PathBuf,
    /// The sheet of an Excel case table.
    pub sheet: Option<String>,
    /// The typed Parquet to write.
    pub out: PathBuf,
    /// Group catalogue the rows are checked against (`None` = bundled).
    pub groups: Option<PathBuf>,
    /// Region config (its `[data] max_stay_cost_yuan` bounds a stay's cost).
    pub config: Option<PathBuf>,
    /// Preset without a config file.
    pub preset: Option<String>,
}

impl From<ConvertArgs> for Options {
    fn from(a: ConvertArgs) -> Self {
        Options {
            cases: a.cases,
            sheet: a.sheet,
            out: a.out,
            groups: a.groups,
            config: a.config,
            preset: a.preset,
        }
    }
}

impl Options {
    /// The run whose reading this conversion stores.
    fn as_run(&self) -> RunOptions {
        RunOptions {
            cases: self.cases.clone(),
            tables: TableArgs {
                sheet: self.sheet.clone(),
                ..TableArgs::default()
            },
            groups: self.groups.clone(),
            groups_sheet: None,
            config: self.config.clone(),
            preset: self.preset.clone(),
            period: None,
            out: self.out.clone(),
            lang: crate::lang::Lang::En,
            quiet: true,
            max_reject_share: 1.0,
        }
    }
}

/// Converts, then prints the counts and where the table is.
pub fn command(opts: Options) -> Result<()> {
    let t = std::time::Instant::now();
    let c = convert(&opts)?;
    let s = &c.ingested.stats;
    let first = c
        .ingested
        .rejects
        .first()
        .map(|r| format!("; the first on line {} of {}: {}", r.line, r.file, r.reason))
        .unwrap_or_default();
    super::print_line(format_args!(
        "{} rows read = {} usable + {} rejected{first}",
        s.rows_read, s.rows_analysed, s.rows_rejected
    ))?;
    super::print_line(format_args!(
        "typed table: {} ({:.1} MiB, {:.1} s); run --cases on it lists the same rejects",
        opts.out.display(),
        c.bytes as f64 / (1 << 20) as f64,
        t.elapsed().as_secs_f64()
    ))
}

/// The conversion itself (for `bench --parquet` too).
pub fn convert(opts: &Options) -> Result<ingest::Converted> {
    let run_opts = opts.as_run();
    crate::files::require_file(&opts.cases, "--cases")?;
    let config = run::load_config(&run_opts)?;
    let catalog = run::load_catalog(&run_opts, &config)?;
    let read = ReadOptions::of(&config, None).with_tables(run_opts.tables.as_read());
    ingest::convert(&opts.cases, &opts.out, &catalog, &read)
}
