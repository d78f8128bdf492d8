//! Command-line types (clap derive). `main` parses these and hands them to
//! [`crate::cmd::dispatch`]; clap restricts every choice (`--lang`, `--scheme`) to its enum,
//! so no command parses strings again.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::generate::Scheme;
use crate::lang::Lang;

/// Audits hospitals paid by DRG/DIP case groups under a regional budget.
#[derive(Debug, Parser)]
#[command(name = "drg-audit", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the bundled sample region and audit it into reports/demo/.
    Demo(DemoArgs),
    /// Audit a region's case table.
    Run(RunArgs),
    /// A hospital's self-audit of its own batch against a published regional model.
    Check(CheckArgs),
    /// Write a synthetic region with known gaming (cases.csv, groups.csv, truth files).
    Generate(GenerateArgs),
    /// Score a finished run against a generator's truth_hospitals.csv, or (--grid N) audit
    /// N generated scenario regions and print accuracy or calibration tables.
    Evaluate(EvaluateArgs),
    /// Time the full run on generated data (N cases) against a bare polars read of the
    /// same file (the floor), stage by stage, with peak memory.
    Bench(BenchArgs),
    /// Read a case table once and store it as a typed Parquet that later runs read without
    /// parsing text (for repeated runs on a large table).
    Convert(ConvertArgs),
    /// List a multi-region case table's pooling regions, or split it into one table per
    /// region (one `run` per region).
    Regions(RegionsArgs),
}

/// `demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Output folder.
    #[arg(long, default_value = "reports/demo")]
    pub out: PathBuf,
    /// Scheme of the sample region.
    #[arg(long, value_enum, default_value_t = Scheme::Drg)]
    pub scheme: Scheme,
    /// Report language: zh or en.
    #[arg(long, value_enum, default_value_t = Lang::Zh)]
    pub lang: Lang,
    /// No progress lines (the last line, the report's path, is still printed).
    #[arg(long)]
    pub quiet: bool,
}

/// Where the case table's rows and codes come from, beyond `--cases` (`run` and `check`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TableArgs {
    /// The sheet of an Excel case table (default: the first worksheet).
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// Diagnosis table of the national settlement list (setl_id, diag_code, maindiag_flag
    /// or diag_type), joined on setl_id to give main and secondary diagnoses.
    #[arg(long, value_name = "FILE")]
    pub diagnoses: Option<PathBuf>,
    /// The sheet of an Excel --diagnoses table (default: the first worksheet).
    #[arg(long, value_name = "NAME", requires = "diagnoses")]
    pub diagnoses_sheet: Option<String>,
    /// Procedure table of the national settlement list (setl_id, oprn_oprt_code,
    /// main_oprn_flag), joined on setl_id.
    #[arg(long, value_name = "FILE")]
    pub procedures: Option<PathBuf>,
    /// The sheet of an Excel --procedures table (default: the first worksheet).
    #[arg(long, value_name = "NAME", requires = "procedures")]
    pub procedures_sheet: Option<String>,
}

impl TableArgs {
    /// The same, borrowed, as ingest reads it.
    pub fn as_read(&self) -> crate::ingest::CaseTables<'_> {
        crate::ingest::CaseTables {
            sheet: self.sheet.as_deref(),
            diagnoses: self.diagnoses.as_deref(),
            diagnoses_sheet: self.diagnoses_sheet.as_deref(),
            procedures: self.procedures.as_deref(),
            procedures_sheet: self.procedures_sheet.as_deref(),
        }
    }

    /// The sub-table files given, with their role, for hashing and path checks.
    pub fn files(&self) -> Vec<(&'static str, &std::path::Path)> {
        [
            ("diagnoses", self.diagnoses.as_deref()),
            ("procedures", self.procedures.as_deref()),
        ]
        .into_iter()
        .filter_map(|(r, p)| p.map(|p| (r, p)))
        .collect()
    }
}

/// `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Case table: CSV or other delimited text (UTF-8, GB18030 or UTF-16; comma, tab,
    /// semicolon or |), an Excel workbook (.xlsx, .xls), or Parquet.
    #[arg(long)]
    pub cases: PathBuf,
    /// Sheets and sub-tables of the case table.
    #[command(flatten)]
    pub tables: TableArgs,
    /// Group catalogue (CSV or Excel); default: the bundled CHS-DRG weights (Harbin 2024).
    #[arg(long)]
    pub groups: Option<PathBuf>,
    /// The sheet of an Excel --groups catalogue (default: the first worksheet).
    #[arg(long, value_name = "NAME", requires = "groups")]
    pub groups_sheet: Option<String>,
    /// Region configuration (TOML).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Preset to use without --config: drg-points or dip-national.
    #[arg(long)]
    pub preset: Option<String>,
    /// Audited period: a year (2024) or a range (2024-01-01..2024-06-30).
    #[arg(long)]
    pub period: Option<String>,
    /// Output folder (replaced atomically at the end).
    #[arg(long)]
    pub out: PathBuf,
    /// Report language: zh or en.
    #[arg(long, value_enum, default_value_t = Lang::Zh)]
    pub lang: Lang,
    /// No progress lines (the last line, the report's path, is still printed).
    #[arg(long)]
    pub quiet: bool,
    /// How many rejected rows make the input unusable.
    #[command(flatten)]
    pub rejects: RejectArgs,
}

/// When rejected rows stop the audit (a file mostly in a format the reader does not know
/// should not quietly become an audit of its few readable rows).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct RejectArgs {
    /// Refuse the input when more than this share of its rows is rejected.
    #[arg(long, default_value_t = crate::ingest::DEFAULT_MAX_REJECT_SHARE)]
    pub max_reject_share: f64,
    /// Audit the usable rows however many are rejected (rejects.csv lists the others).
    #[arg(long)]
    pub allow_rejects: bool,
}

impl RejectArgs {
    /// The share of rejected rows above which ingest refuses the input (1 = never).
    pub fn limit(&self) -> f64 {
        if self.allow_rejects {
            1.0
        } else {
            self.max_reject_share
        }
    }
}

/// `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The hospital's case table (same columns and forms as for `run`).
    #[arg(long)]
    pub cases: PathBuf,
    /// Sheets and sub-tables of the case table.
    #[command(flatten)]
    pub tables: TableArgs,
    /// The regional model: `model.json` from a `run`, or one from `models/`.
    #[arg(long)]
    pub model: PathBuf,
    /// Output folder (replaced atomically at the end).
    #[arg(long)]
    pub out: PathBuf,
    /// Audited period: a year (2024) or a range; default: the batch's latest full year.
    #[arg(long)]
    pub period: Option<String>,
    /// Page language: zh or en.
    #[arg(long, value_enum, default_value_t = Lang::Zh)]
    pub lang: Lang,
    /// No progress lines (the last line, the page's path, is still printed).
    #[arg(long)]
    pub quiet: bool,
    /// How many rejected rows make the batch unusable.
    #[command(flatten)]
    pub rejects: RejectArgs,
}

/// `generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Random seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Approximate stays per year.
    #[arg(long, default_value_t = 60_000)]
    pub cases_per_year: usize,
    /// drg or dip.
    #[arg(long, value_enum, default_value_t = Scheme::Drg)]
    pub scheme: Scheme,
    /// Write Chinese column labels instead of canonical names.
    #[arg(long)]
    pub chinese_headers: bool,
    /// Write GB18030/GBK instead of UTF-8.
    #[arg(long)]
    pub gbk: bool,
    /// Concentrate each gaming hospital's injected gaming in one department and one
    /// physician (named in truth_hospitals.csv): a known answer for the drill-down.
    #[arg(long)]
    pub focus_gaming: bool,
}

/// `evaluate`: one finished run against its truth file, or (`--grid N`) many generated
/// regions audited in turn.
#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// A finished run's output folder.
    #[arg(long, required_unless_present = "grid", conflicts_with = "grid")]
    pub run: Option<PathBuf>,
    /// The generator's truth_hospitals.csv.
    #[arg(long, required_unless_present = "grid", conflicts_with = "grid")]
    pub truth: Option<PathBuf>,
    /// Generate N regions from the scenario families (random sizes, schemes, gaming and
    /// confounders), audit each with the default configuration and print accuracy and
    /// calibration tables: the acceptance benchmark of issue 10.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub grid: Option<u64>,
    /// Seed of the first region of the grid (region i has seed + i).
    #[arg(long, default_value_t = 1, requires = "grid")]
    pub seed: u64,
    /// The same regions with every gaming hospital honest: calibration of the null.
    #[arg(long, requires = "grid")]
    pub no_gaming: bool,
    /// Also write the table as grid.json and grid.csv into this folder.
    #[arg(long, requires = "grid")]
    pub out: Option<PathBuf>,
    /// Stays per year of every region instead of the drawn 15,000–40,000 (tests).
    #[arg(long, hide = true, requires = "grid")]
    pub grid_cases_per_year: Option<usize>,
    /// Keep every region's generated data and audit output in this new folder (to read a
    /// region's report behind a grid figure), instead of removing each after scoring.
    #[arg(long, requires = "grid")]
    pub keep_regions: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// `convert`.
#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// Case table (CSV or other delimited text, an Excel workbook, or Parquet), as for `run`.
    #[arg(long)]
    pub cases: PathBuf,
    /// The sheet of an Excel case table (default: the first worksheet).
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// The typed Parquet to write (a `.parquet` name; an existing file is replaced only if
    /// this command wrote it).
    #[arg(long)]
    pub out: PathBuf,
    /// Group catalogue the rows are checked against, as for `run` (default: bundled).
    #[arg(long)]
    pub groups: Option<PathBuf>,
    /// Region configuration (TOML), as for `run`: its cost bound is stored with the rows.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Preset to use without --config: drg-points or dip-national.
    #[arg(long)]
    pub preset: Option<String>,
}

/// `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Stays to generate (total over two years).
    #[arg(long, default_value_t = 1_000_000)]
    pub cases: usize,
    /// Accepted for older scripts: the full run is what bench times now.
    #[arg(long, conflicts_with = "ingest_only")]
    pub full: bool,
    /// Time ingest + derived fields only (the line bench printed before the full run).
    #[arg(long)]
    pub ingest_only: bool,
    /// Convert the generated CSV once to a typed Parquet (`convert`) and measure from it.
    #[arg(long)]
    pub parquet: bool,
    /// Working folder for the generated data (reused when present).
    #[arg(long, default_value = "target/bench-data")]
    pub dir: PathBuf,
}

/// `regions`.
#[derive(Debug, clap::Args)]
pub struct RegionsArgs {
    /// The multi-region case table (CSV, UTF-8 or GB18030).
    #[arg(long)]
    pub cases: PathBuf,
    /// Header of the region column; default: `region` (or `pooling_region`, 统筹区).
    #[arg(long)]
    pub column: Option<String>,
    /// Write DIR/<region>/cases.csv for every region and DIR/regions.csv.
    #[arg(long, value_name = "DIR")]
    pub split: Option<PathBuf>,
}
