//! `drg-audit bench`: times the full run on generated data against the floor, a bare polars
//! read of every column of the same file in the same process, and prints each stage's time,
//! the ratio to the floor and the peak memory of each.
//!
//! Data is generated once into `--dir` (and with `--parquet` converted once, as `convert`
//! does), then the measurement runs in a fresh process, so the peak memory is the audit's own
//! and not the generator's. In that process the floor is read first and its peak memory
//! noted; then the kernel's peak counter is reset (`/proc/self/clear_refs`, Linux ≥ 4.0) so
//! the run's peak is its own, not the floor's. One process, one file, one warm page cache:
//! the ratio compares like with like. `--ingest-only` prints the older ingest + derive line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use polars::prelude::*;

use super::run::{self, RunOptions};
use crate::cli::BenchArgs;
use crate::error::{AuditError, Result};
use crate::generate::GenerateOptions;

/// What `bench` needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stays to generate (total over two years).
    pub cases: usize,
    /// Time ingest + derive only instead of the full run and its floor.
    pub ingest_only: bool,
    /// Measure from the typed Parquet (converted once) instead of the CSV.
    pub parquet: bool,
    /// Working folder for the generated data (reused when present).
    pub dir: PathBuf,
}

impl From<BenchArgs> for Options {
    fn from(a: BenchArgs) -> Self {
        Options {
            cases: a.cases,
            ingest_only: a.ingest_only,
            parquet: a.parquet,
            dir: a.dir,
        }
    }
}

/// The stages of a run, in the order it runs them (`summary.json`'s `timings_ms` keys).
const STAGES: [&str; 6] = [
    "catalogue",
    "ingest",
    "derive",
    "cluster",
    "detect",
    "write",
];

/// Generates and converts what is missing (then re-runs itself), or measures.
pub fn command(opts: Options) -> Result<()> {
    let data = opts.dir.join(format!("n{}", opts.cases));
    let mut prepared = false;
    if !data.join("cases.csv").is_file() {
        generate(&opts, &data)?;
        prepared = true;
    }
    let parquet = data.join("cases.parquet");
    // A typed table of an older version (or none) is converted again.
    let typed = parquet.is_file() && matches!(crate::ingest::typed::marker(&parquet), Ok(Some(_)));
    if opts.parquet && !typed {
        let t = Instant::now();
        let c = super::convert::convert(&super::convert::Options {
            cases: data.join("cases.csv"),
            sheet: None,
            out: parquet.clone(),
            groups: Some(data.join("groups.csv")),
            config: Some(data.join("region.toml")),
            preset: None,
        })?;
        super::print_line(format_args!(
            "converted to {} ({:.1} MiB) in {:.1} s",
            parquet.display(),
            c.bytes as f64 / (1 << 20) as f64,
            t.elapsed().as_secs_f64()
        ))?;
        prepared = true;
    }
    if prepared {
        return measure_in_fresh_process(&opts);
    }
    let mut run_opts = RunOptions::generated(&data, data.join("out"), crate::lang::Lang::Zh, true);
    if opts.parquet {
        run_opts.cases = parquet;
    }
    if opts.ingest_only {
        return ingest_only(&run_opts);
    }
    full(&run_opts)
}

/// The floor, then the full run, in this process.
fn full(run_opts: &RunOptions) -> Result<()> {
    let input = &run_opts.cases;
    let size = std::fs::metadata(input)
        .map_err(|e| AuditError::io(input, e))?
        .len();
    let t = Instant::now();
    let (rows, floor_what) = floor_read(input)?;
    let floor = t.elapsed().as_secs_f64();
    let floor_peak = memory_gib("VmHWM:");
    // The floor's frame is gone; its pages go back to the system, so that the run's peak
    // (after the reset) is the run's own and not what the allocator kept of the floor's.
    crate::memory::release_freed();
    let reset = reset_peak();
    let resident = memory_gib("VmRSS:");
    let t = Instant::now();
    let (_, ms) = run::run_timed(run_opts)?;
    let wall = t.elapsed().as_secs_f64();
    let run_peak = memory_gib("VmHWM:");
    let kind = match crate::ingest::format_of(input) {
        crate::ingest::Format::Parquet => "Parquet",
        _ => "CSV",
    };
    super::print_line(format_args!(
        "bench: {} ({kind}, {rows} rows, {:.1} MiB)",
        input.display(),
        size as f64 / (1 << 20) as f64
    ))?;
    super::print_line(format_args!(
        "floor: polars reads {floor_what} in {floor:.2} s; peak memory {floor_peak:.2} GiB"
    ))?;
    super::print_line(format_args!("stages: {}", stage_line(&ms)))?;
    let peak_note = if reset {
        format!("peak counter reset after the floor, {resident:.2} GiB resident then")
    } else {
        "the peak counter could not be reset: the floor's peak is included".to_string()
    };
    super::print_line(format_args!(
        "full run: {wall:.2} s = {:.2} × the floor; peak memory {run_peak:.2} GiB ({peak_note})",
        wall / floor.max(1e-9)
    ))
}

/// `catalogue 0.01 s, ingest 0.80 s, …` from a run's `timings_ms`.
fn stage_line(ms: &BTreeMap<&'static str, u64>) -> String {
    STAGES
        .iter()
        .filter_map(|s| {
            ms.get(s)
                .map(|v| format!("{s} {:.2} s", *v as f64 / 1000.0))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The floor: polars' streaming engine reads every column of `input` into memory and does
/// nothing else: a CSV with polars' default type inference (numbers as numbers, the rest as
/// text; all text only when inference fails), a Parquet as stored. Returns the rows read
/// and how they were read.
fn floor_read(input: &Path) -> Result<(usize, &'static str)> {
    let engine = |e: PolarsError| AuditError::engine(input, e);
    let p = PlPath::new(&input.to_string_lossy());
    let lf = match crate::ingest::format_of(input) {
        crate::ingest::Format::Parquet => {
            LazyFrame::scan_parquet(p, ScanArgsParquet::default()).map_err(engine)?
        }
        _ => {
            let csv = |infer: Option<usize>| {
                LazyCsvReader::new(p.clone())
                    .with_has_header(true)
                    .with_infer_schema_length(infer)
                    .finish()
                    .and_then(|lf| lf.collect_with_engine(Engine::Streaming))
            };
            // polars' own default (types inferred from the first 100 rows); a cell that
            // breaks the inferred type makes it read every column as text instead.
            return match csv(Some(100)) {
                Ok(df) => Ok((df.height(), "every column, types inferred")),
                Err(_) => csv(Some(0))
                    .map(|df| (df.height(), "every column as text"))
                    .map_err(engine),
            };
        }
    };
    let df = lf.collect_with_engine(Engine::Streaming).map_err(engine)?;
    Ok((df.height(), "every column as stored"))
}

/// The older `bench` line: ingest + derive only.
fn ingest_only(run_opts: &RunOptions) -> Result<()> {
    let t = Instant::now();
    let analysis = run::analyse(run_opts)?;
    let wall = t.elapsed().as_secs_f64();
    super::print_line(format_args!(
        "ingest+derive: {} rows read, {} analysed in {:.2} s (ingest {} ms, derive {} ms); peak memory {:.2} GiB",
        analysis.ingested.stats.rows_read,
        analysis.ingested.stats.rows_analysed,
        wall,
        analysis.timings.ended().get("ingest").copied().unwrap_or(0),
        analysis.timings.ended().get("derive").copied().unwrap_or(0),
        peak_rss_gib()
    ))
}

/// Writes the data.
fn generate(opts: &Options, data: &Path) -> Result<()> {
    let generate = GenerateOptions {
        seed: 1,
        cases_per_year: opts.cases.div_ceil(2),
        ..GenerateOptions::default()
    };
    let t = Instant::now();
    let r = super::generate::write_region(&generate, data)?;
    super::print_line(format_args!(
        "generated {} cases in {:.1} s",
        r.cases,
        t.elapsed().as_secs_f64()
    ))
}

/// Measures in a fresh process, with the same arguments.
fn measure_in_fresh_process(opts: &Options) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| AuditError::io(Path::new("drg-audit"), e))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["bench", "--cases", &opts.cases.to_string(), "--dir"])
        .arg(&opts.dir);
    if opts.ingest_only {
        cmd.arg("--ingest-only");
    }
    if opts.parquet {
        cmd.arg("--parquet");
    }
    let status = cmd
        .status()
        .map_err(|e| AuditError::io(Path::new("drg-audit"), e))?;
    if status.success() {
        Ok(())
    } else {
        Err(AuditError::Stage {
            stage: "bench",
            source: "the measuring process failed".into(),
        })
    }
}

/// Resets the kernel's peak-memory counter of this process to its current resident size.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A `/proc/self/status` memory line (`VmHWM:` peak, `VmRSS:` now), in GiB; 0 when unknown.
fn memory_gib(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(key)).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kib| kib / (1024.0 * 1024.0))
}

/// Peak resident memory of this process (Linux `VmHWM`), in GiB; 0 when unknown.
pub fn peak_rss_gib() -> f64 {
    memory_gib("VmHWM:")
}
