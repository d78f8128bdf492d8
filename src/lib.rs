//! drg-audit: audits hospitals paid by DRG or DIP case groups under a regional total budget.
//!
//! One pipeline, one module per stage (see `README.md`):
//! ingest → derive → indicators → compare → score/rank → report.

pub mod catalog;
pub mod config;
pub mod error;
pub mod ingest;
pub mod schema;
