//! drg-audit: audits hospitals paid by DRG or DIP case groups under a regional total budget.
//!
//! One pipeline, one module per stage (see `README.md`, "Layout"):
//! ingest → derive → region → cluster → indicators → compare → rank/leads → audit →
//! published model → report, driven by `cmd`. A module uses only modules before it in that
//! order (configuration, catalogue and the pure helpers sit below them all);
//! `tests/integration/layout.rs` enforces it.

pub mod audit;
pub mod catalog;
pub mod charts;
pub mod cli;
pub mod cluster;
pub mod cmd;
pub mod compare;
pub mod config;
pub mod derive;
pub mod error;
pub mod evaluate;
pub mod files;
pub mod generate;
pub mod indicators;
pub mod ingest;
pub mod json;
pub mod lang;
pub mod leads;
pub mod memory;
pub mod peers;
pub mod period;
pub mod progress;
pub mod published;
pub mod rank;
pub mod reference;
pub mod region;
pub mod report;
pub mod schema;
pub mod stats;
