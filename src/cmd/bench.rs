//! `drg-audit bench`: times ingest + derived fields (or, with `--full`, the whole run) on
//! generated data. Data is generated once into `--dir` and the measurement runs in a fresh
//! process, so the peak memory is the audit's own.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::run::{self, RunOptions};
use crate::cli::BenchArgs;
use crate::error::{AuditError, Result};
use crate::generate::GenerateOptions;

/// What `bench` needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stays to generate (total over two years).
    pub cases: usize,
    /// Time the full run instead of ingest + derive only.
    pub full: bool,
    /// Working folder for the generated data (reused when present).
    pub dir: PathBuf,
}

impl From<BenchArgs> for Options {
    fn from(a: BenchArgs) -> Self {
        Options {
            cases: a.cases,
            full: a.full,
            dir: a.dir,
        }
    }
}

/// Generates (once, then re-runs itself) or measures.
pub fn command(opts: Options) -> Result<()> {
    let data = opts.dir.join(format!("n{}", opts.cases));
    if !data.join("cases.csv").is_file() {
        return generate_then_measure(&opts, &data);
    }
    let run_opts = RunOptions::generated(&data, data.join("out"), crate::lang::Lang::Zh, true);
    if opts.full {
        let t = Instant::now();
        run::run(&run_opts)?;
        return super::print_line(format_args!(
            "full run: {} in {:.2} s; peak memory {:.2} GiB",
            run_opts.cases.display(),
            t.elapsed().as_secs_f64(),
            peak_rss_gib()
        ));
    }
    let t = Instant::now();
    let analysis = run::analyse(&run_opts)?;
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

/// Writes the data, then measures in a fresh process.
fn generate_then_measure(opts: &Options, data: &Path) -> Result<()> {
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
    ))?;
    let exe = std::env::current_exe().map_err(|e| AuditError::io(Path::new("drg-audit"), e))?;
    let status = std::process::Command::new(exe)
        .args(["bench", "--cases", &opts.cases.to_string(), "--dir"])
        .arg(&opts.dir)
        .args(if opts.full { &["--full"][..] } else { &[][..] })
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

/// Peak resident memory of this process (Linux `VmHWM`), in GiB; 0 when unknown.
pub fn peak_rss_gib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kib| kib / (1024.0 * 1024.0))
}
