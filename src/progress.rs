//! What a person at a terminal sees while a run works: a spinner per long step on a
//! terminal, plain log lines on stderr otherwise (CI logs, pipes), nothing with `--quiet`.
//! Results (the path of the report) go to stdout from `main`'s commands, always.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Progress reporting for one command.
pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    started: Instant,
}

impl Progress {
    /// A reporter; `quiet` silences it.
    pub fn new(quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Progress {
            bar,
            quiet,
            started: Instant::now(),
        }
    }

    /// A reporter that says nothing (library callers and tests).
    pub fn silent() -> Progress {
        Progress {
            bar: None,
            quiet: true,
            started: Instant::now(),
        }
    }

    /// Announces a step.
    pub fn step(&self, what: &str) {
        match &self.bar {
            Some(b) => b.set_message(what.to_string()),
            None if !self.quiet => eprintln!(
                "drg-audit [{:>6.1} s] {what}",
                self.started.elapsed().as_secs_f64()
            ),
            None => {}
        }
    }

    /// Clears the spinner.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
