//! Thin entry point: parse arguments, run the command, map the outcome to an exit code.
//! A failure is one line on stderr — the error and the causes its message does not already
//! say; a closed stdout (`drg-audit evaluate … | head`) is not a failure.

use std::error::Error;
use std::process::ExitCode;

use clap::Parser;
use drg_audit::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match drg_audit::cmd::dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("drg-audit: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its chain of causes, each cause once (most messages already quote theirs).
fn one_line(e: &dyn Error) -> String {
    let mut line = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = c.source();
    }
    line
}
