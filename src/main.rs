//! Thin entry point: parse arguments, call the library, print one line on failure.

use std::process::ExitCode;

use clap::Parser;
use drg_audit::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match drg_audit::cmd::dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("drg-audit: {e}");
            ExitCode::FAILURE
        }
    }
}
