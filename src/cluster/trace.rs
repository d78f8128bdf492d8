//! Phase times of the clustering stage on stderr when `DRG_AUDIT_TRACE` is set (as ingest's).

use std::time::Instant;

/// Prints `"{stage}: {phase} {ms} ms"` at each [`Trace::mark`] when tracing is on.
pub(crate) struct Trace {
    stage: &'static str,
    last: Option<Instant>,
}

impl Trace {
    /// Starts the clock when `DRG_AUDIT_TRACE` is set; otherwise every mark is a no-op.
    pub(crate) fn new(stage: &'static str) -> Self {
        let on = std::env::var_os("DRG_AUDIT_TRACE").is_some();
        Self {
            stage,
            last: on.then(Instant::now),
        }
    }

    /// Prints the time since the previous mark under `phase`.
    pub(crate) fn mark(&mut self, phase: &str) {
        if let Some(t) = self.last {
            eprintln!("{}: {phase} {} ms", self.stage, t.elapsed().as_millis());
            self.last = Some(Instant::now());
        }
    }
}
