//! `drg-audit evaluate`: scores a finished run against a generator's truth files and prints
//! the evaluation as JSON.

use std::path::PathBuf;

use crate::cli::EvaluateArgs;
use crate::error::Result;

/// What `evaluate` needs.
#[derive(Debug, Clone)]
pub struct EvaluateOptions {
    /// A finished run's output folder.
    pub run: PathBuf,
    /// The generator's `truth_hospitals.csv`.
    pub truth: PathBuf,
}

impl From<EvaluateArgs> for EvaluateOptions {
    fn from(a: EvaluateArgs) -> Self {
        EvaluateOptions {
            run: a.run,
            truth: a.truth,
        }
    }
}

/// Prints the evaluation.
pub fn command(opts: EvaluateOptions) -> Result<()> {
    let e = crate::evaluate::evaluate(&opts.run, &opts.truth)?;
    let text = crate::json::pretty(&e, "the evaluation")?;
    super::print_line(text.trim_end())
}
