//! What a person at a terminal sees while a run works: a spinner per long step on a
//! terminal, plain log lines on stderr otherwise (CI logs, pipes), nothing with `--quiet`.
//! Results (the path of the report) go to stdout from `main`'s commands, always.
//! [`Timings`] keeps the wall time of each stage for `summary.json` and `check.json`.

use std::collections::BTreeMap;
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

    /// A one-line warning the user should act on (not shown with `--quiet`).
    pub fn warn(&self, what: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(b) => b.println(format!("drg-audit: warning: {what}")),
            None => eprintln!("drg-audit: warning: {what}"),
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

/// Wall time per stage in milliseconds (the one part of `summary.json` and `check.json`
/// that is not deterministic). A lap timer: starting a stage ends the running one, so a
/// command names each stage once instead of pairing `Instant::now()` with an insert.
#[derive(Debug)]
pub struct Timings {
    started: Instant,
    running: Option<(&'static str, Instant)>,
    ms: BTreeMap<&'static str, u64>,
}

impl Timings {
    /// Starts the clock of the whole command (`total`).
    pub fn start() -> Timings {
        Timings {
            started: Instant::now(),
            running: None,
            ms: BTreeMap::new(),
        }
    }

    /// Ends the running stage, if any, and starts `stage`.
    pub fn stage(&mut self, stage: &'static str) {
        self.end();
        self.running = Some((stage, Instant::now()));
    }

    /// Ends the running stage (time between stages is counted in no stage, only in `total`).
    pub fn end(&mut self) {
        if let Some((stage, t)) = self.running.take() {
            self.ms.insert(stage, millis(t));
        }
    }

    /// The stages ended so far.
    pub fn ended(&self) -> &BTreeMap<&'static str, u64> {
        &self.ms
    }

    /// Ends the running stage and adds `total`, the time since [`Timings::start`].
    pub fn finish(mut self) -> BTreeMap<&'static str, u64> {
        self.end();
        self.ms.insert("total", millis(self.started));
        self.ms
    }
}

fn millis(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

/// Phase times of a stage on stderr when `DRG_AUDIT_TRACE` is set: prints
/// `"{stage}: {phase} {ms} ms"` at each [`Trace::mark`] (the format ingest's trace lines use).
pub struct Trace {
    stage: &'static str,
    last: Option<Instant>,
}

impl Trace {
    /// Starts the clock when `DRG_AUDIT_TRACE` is set; otherwise every mark is a no-op.
    pub fn new(stage: &'static str) -> Self {
        let on = std::env::var_os("DRG_AUDIT_TRACE").is_some();
        Self {
            stage,
            last: on.then(Instant::now),
        }
    }

    /// Prints the time since the previous mark (or the start) under `phase`.
    pub fn mark(&mut self, phase: &str) {
        if let Some(t) = self.last {
            eprintln!("{}: {phase} {} ms", self.stage, t.elapsed().as_millis());
            self.last = Some(Instant::now());
        }
    }
}
