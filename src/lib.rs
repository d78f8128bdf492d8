//! drg-audit: audits hospitals paid by DRG or DIP case groups under a regional total budget.
//!
//! One pipeline, one module per stage (see `README.md`):
//! ingest → derive → indicators → compare → score/rank → report.

pub mod catalog;
pub mod charts;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod clustering;
pub mod commands;
pub mod compare;
pub mod config;
pub mod derive;
pub mod error;
pub mod evaluate;
pub mod generate;
pub mod indicators;
pub mod ingest;
pub mod lang;
pub mod leads;
pub mod model;
pub mod output;
pub mod peers;
pub mod period;
pub mod progress;
pub mod rank;
pub mod reference;
pub mod report;
pub mod run;
pub mod schema;
pub mod stats;
pub mod validate_model;
