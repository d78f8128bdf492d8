//! `drg-audit demo`: the newcomer's first command. A fixed-seed sample region is generated
//! beside the report (`<out>-input/`) and audited into `--out`.

use std::path::{Path, PathBuf};

use super::run::RunOptions;
use crate::cli::DemoArgs;
use crate::error::Result;
use crate::generate::{GenerateOptions, Scheme};
use crate::lang::Lang;

/// The seed of the sample region (the committed `models/sample-drg.model.json` is its model).
const DEMO_SEED: u64 = 2024;

/// What `demo` needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Output folder.
    pub out: PathBuf,
    /// Scheme of the sample region.
    pub scheme: Scheme,
    /// Report language.
    pub lang: Lang,
    /// Silence progress lines.
    pub quiet: bool,
}

impl From<DemoArgs> for Options {
    fn from(a: DemoArgs) -> Self {
        Options {
            out: a.out,
            scheme: a.scheme,
            lang: a.lang,
            quiet: a.quiet,
        }
    }
}

/// Generates the sample region and audits it.
pub fn command(opts: Options) -> Result<()> {
    let input = demo_input_dir(&opts.out);
    let generate = GenerateOptions {
        seed: DEMO_SEED,
        scheme: opts.scheme,
        ..GenerateOptions::default()
    };
    let r = super::generate::write_region(&generate, &input)?;
    super::print_line(format_args!(
        "sample region: {} cases, {} hospitals -> {}",
        r.cases,
        r.hospitals,
        input.display()
    ))?;
    let out = super::run::run(&RunOptions::generated(
        &input,
        opts.out.clone(),
        opts.lang,
        opts.quiet,
    ))?;
    if !opts.quiet {
        super::print_line(format_args!(
            "a hospital's self-audit: drg-audit check --cases <its cases.csv> --model {} --out <DIR>",
            out.join("model.json").display()
        ))?;
    }
    super::print_line(format_args!(
        "report: {}",
        out.join("report.html").display()
    ))
}

fn demo_input_dir(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "demo".into());
    out.with_file_name(format!("{name}-input"))
}
