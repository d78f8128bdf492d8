//! Subcommand bodies: turn parsed arguments into library calls and print where results are.

use crate::cli::{BenchArgs, Command, DemoArgs, GenerateArgs, RunArgs};
use crate::error::{AuditError, Result};
use crate::run::{self, RunOptions};

/// Runs one subcommand.
pub fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Run(a) => run_cmd(a),
        Command::Demo(a) => demo(a),
        Command::Generate(a) => generate(a),
        Command::Bench(a) => bench(a),
    }
}

fn run_cmd(a: RunArgs) -> Result<()> {
    let out = run::run(&RunOptions {
        cases: a.cases,
        groups: a.groups,
        config: a.config,
        preset: a.preset,
        period: a.period,
        out: a.out,
    })?;
    println!("report: {}", out.join("report.html").display());
    Ok(())
}

fn demo(_a: DemoArgs) -> Result<()> {
    Err(AuditError::Usage("demo is not wired yet".into()))
}

fn generate(_a: GenerateArgs) -> Result<()> {
    Err(AuditError::Usage("generate is not wired yet".into()))
}

fn bench(_a: BenchArgs) -> Result<()> {
    Err(AuditError::Usage("bench is not wired yet".into()))
}
