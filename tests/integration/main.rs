//! The integration tests, one binary (as ripgrep does): each module runs the built
//! `drg-audit` or calls the library on small generated regions. One binary links polars
//! once instead of seven times.

mod check;
mod clusters;
mod common;
mod convert;
mod detectors;
mod drilldown;
mod generate;
mod grid;
mod ingest;
mod inputs;
mod layout;
mod model_safety;
mod prop_model;
mod ranking;
mod regions;
mod report;
mod safety;
