//! Every JSON file this program writes (`summary.json`, `check.json`, `model.json`, the
//! evaluation) has one form: pretty-printed, floats that round-trip, a final newline. One
//! function makes it, so the files cannot drift apart.

use serde::Serialize;

use crate::error::{AuditError, Result};

/// `value` as pretty JSON with a final newline; `what` names the output in the error.
pub fn pretty<T: Serialize + ?Sized>(value: &T, what: &'static str) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|source| AuditError::Serialise { what, source })
}
