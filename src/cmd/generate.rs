//! `drg-audit generate`: a synthetic region with known gaming, plus a `region.toml` naming
//! the preset that matches its scheme, so `run` can audit it as it stands.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cli::GenerateArgs;
use crate::error::{AuditError, Result};
use crate::generate::{
    self, GenerateError, GenerateOptions, GenerateReport, HeaderStyle, OutputEncoding, Scheme,
};

/// What `generate` needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The generator's options.
    pub generate: GenerateOptions,
    /// Output folder.
    pub out: PathBuf,
}

impl From<GenerateArgs> for Options {
    fn from(a: GenerateArgs) -> Self {
        Options {
            generate: GenerateOptions {
                seed: a.seed,
                cases_per_year: a.cases_per_year,
                scheme: a.scheme,
                header_style: if a.chinese_headers {
                    HeaderStyle::Chinese
                } else {
                    HeaderStyle::Canonical
                },
                encoding: if a.gbk {
                    OutputEncoding::Gbk
                } else {
                    OutputEncoding::Utf8
                },
                focus_gaming: a.focus_gaming,
                ..GenerateOptions::default()
            },
            out: a.out,
        }
    }
}

impl From<GenerateError> for AuditError {
    fn from(e: GenerateError) -> Self {
        AuditError::Stage {
            stage: "generate",
            source: Box::new(e),
        }
    }
}

/// Generates the region and says how to audit it.
pub fn command(opts: Options) -> Result<()> {
    let t = Instant::now();
    let r = write_region(&opts.generate, &opts.out)?;
    super::print_line(format_args!(
        "generated {} cases at {} hospitals ({} groups, {} gamed cases) in {:.1} s into {}",
        r.cases,
        r.hospitals,
        r.groups,
        r.gamed_cases,
        t.elapsed().as_secs_f64(),
        opts.out.display()
    ))?;
    super::print_line(format_args!(
        "audit it: drg-audit run --cases {0}/cases.csv --groups {0}/groups.csv --config {0}/region.toml --out <DIR>",
        opts.out.display()
    ))
}

/// The preset that audits a generated region of `scheme`.
fn preset_for(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Drg => "drg-points",
        Scheme::Dip => "dip-national",
    }
}

/// Writes a synthetic region plus a `region.toml` naming the matching preset (also what
/// `demo` and `bench` audit).
pub fn write_region(opts: &GenerateOptions, out: &Path) -> Result<GenerateReport> {
    // Same ownership rule as a run's output: never overwrite a user's cases.csv.
    let dir = crate::report::OutputDir::create(out)?;
    let report = generate::generate(opts, dir.staging_path())?;
    dir.write(
        "region.toml",
        format!("preset = \"{}\"\n", preset_for(opts.scheme)),
    )?;
    dir.adopt_streamed()?;
    dir.commit()?;
    Ok(report)
}
