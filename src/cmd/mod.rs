//! The subcommands, one file each and all of one shape: an `Options` struct (what the
//! command needs, free of clap), `From<Args>` (the parsed arguments become options; clap
//! has already checked every choice, so nothing can fail there) and `command(opts)`, which
//! runs it and prints where the results are. Commands are glue: the work is in the stages.
//!
//! Lines for the user go through [`print_line`], so a closed pipe (`… | head`) ends a
//! command with an error `main` treats as success instead of a panic.

pub mod bench;
pub mod check;
pub mod convert;
pub mod demo;
pub mod evaluate;
pub mod generate;
pub mod regions;
pub mod run;

use std::io::Write;

use crate::cli::Command;
use crate::error::{AuditError, Result};

/// Runs one subcommand.
pub fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Run(a) => run::command(a.into()),
        Command::Check(a) => check::command(a.into()),
        Command::Demo(a) => demo::command(a.into()),
        Command::Generate(a) => generate::command(a.into()),
        Command::Evaluate(a) => evaluate::command(a.into()),
        Command::Bench(a) => bench::command(a.into()),
        Command::Convert(a) => convert::command(a.into()),
        Command::Regions(a) => regions::command(a.into()),
    }
}

/// Writes one line to standard output.
pub(crate) fn print_line(line: impl std::fmt::Display) -> Result<()> {
    writeln!(std::io::stdout().lock(), "{line}").map_err(AuditError::Stdout)
}
