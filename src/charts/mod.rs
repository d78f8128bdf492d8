//! Charts for the audit report: pure functions from plain data to an SVG string.
//!
//! Each function draws with plotters' SVG backend and returns a standalone `<svg …>` element
//! with a `viewBox`, a `<title>` and `style="max-width:100%;height:auto"`, ready to inline in
//! an HTML page that must work offline. Text is escaped; Chinese renders because the WenQuanYi
//! Micro Hei font is embedded for measuring and the SVG names a CSS font stack (see
//! [`font`]).
//!
//! Every function
//! - never panics: empty input, NaN and infinities are skipped, and a chart with nothing left to
//!   draw shows its title and the note "无数据 no data";
//! - is deterministic: the same input gives byte-identical SVG;
//! - uses the Okabe–Ito palette (colour-blind safe), series in the order given.
//!
//! ```ignore
//! use crate::charts::{lines, Size};
//! let months: Vec<String> = (1..=6).map(|m| format!("2024-{m:02}")).collect();
//! let svg = lines(
//!     "月度病例组合指数 monthly CMI",
//!     &months,
//!     &[("本院 hospital", vec![1.0, 1.1, f64::NAN, 1.2, 1.3, 1.25]),
//!       ("同级 peers", vec![1.0, 1.02, 1.03, 1.04, 1.05, 1.05])],
//!     "CMI",
//!     Size { width: 800, height: 400 },
//! );
//! assert!(svg.starts_with("<svg") && svg.contains("viewBox"));
//! ```

mod bars;
mod common;
pub mod font;
mod funnel;
mod histogram;
mod lines;
mod scatter;

pub use bars::{StackedBar, grouped_bars, stacked_bars};
pub use common::NO_DATA;
pub use funnel::{FunnelLimitsCurve, FunnelPoint, funnel};
pub use histogram::histogram;
pub use lines::{lines, lines_marked};
pub use scatter::{Bubble, bubbles};

/// Canvas size in pixels (the SVG's viewBox). Values are clamped to 240×160 … 8000×8000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Default for Size {
    /// 900×500, a good width for an A4 report page.
    fn default() -> Self {
        Self {
            width: 900,
            height: 500,
        }
    }
}

#[cfg(test)]
mod tests;
