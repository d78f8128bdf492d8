//! The embedded CJK font and the text styles every chart uses.
//!
//! plotters' `ttf` backend needs fontconfig and an installed, *named* CJK font, and prints `�`
//! for Chinese when either is missing. Instead the WenQuanYi Micro Hei collection (Debian
//! `fonts-wqy-microhei`, Apache-2.0 or GPL-3+ with font exception) is compiled into the binary
//! and registered with plotters' `ab_glyph` backend, which uses it only to measure text.
//!
//! The font is registered under a CSS font stack ([`FAMILY`]). plotters writes that name into
//! each SVG `<text font-family="…">`, so a browser draws the text with the reader's own CJK
//! fonts (or any sans-serif), while layout on our side uses the embedded font's metrics.

use std::sync::Once;

use plotters::style::{FontStyle, IntoFont, RGBColor, TextStyle, register_font};

/// Font family name used for every text element: a CSS font stack, so the SVG renders with
/// whatever CJK font the reader has.
pub const FAMILY: &str = "WenQuanYi Micro Hei, Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif";

/// WenQuanYi Micro Hei 0.2.0-beta (TrueType collection; face 0 is the proportional face).
static FONT_BYTES: &[u8] = include_bytes!("../../data/fonts/wqy-microhei.ttc");

static REGISTER: Once = Once::new();

/// Registers the embedded font with plotters, once per process. Every chart function calls this
/// before drawing; calling it again is free.
pub fn ensure_registered() {
    REGISTER.call_once(|| {
        // The same bytes under our stack name and under the generic families, so that no
        // text style plotters falls back to (its default is "sans-serif") lacks a font.
        for name in [FAMILY, "sans-serif", "serif", "monospace"] {
            for style in [FontStyle::Normal, FontStyle::Bold] {
                // A failure here would mean the embedded file is not a font; the unit tests
                // guard that, and drawing then reports an error instead of panicking.
                let _ = register_font(name, style, FONT_BYTES);
            }
        }
    });
}

/// A text style in [`FAMILY`] with the given plotters size (SVG font-size is size / 1.24).
pub fn text(size: f64, color: &RGBColor) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(color)
}

/// Bold variant of [`text`].
pub fn bold(size: f64, color: &RGBColor) -> TextStyle<'static> {
    (FAMILY, size)
        .into_font()
        .style(FontStyle::Bold)
        .color(color)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::style::FontDesc;

    #[test]
    fn embedded_collection_loads_and_measures_chinese() {
        ensure_registered();
        let font = FontDesc::new(
            plotters::style::FontFamily::Name(FAMILY),
            20.0,
            FontStyle::Normal,
        );
        let (w_zh, _) = font.box_size("低倍率病例").expect("font registered");
        let (w_en, _) = font.box_size("ab").expect("font registered");
        // Five full-width glyphs are far wider than two Latin letters; a missing glyph table
        // would measure CJK as zero-width `.notdef` or equal to Latin.
        assert!(w_zh > 80 && w_zh > 3 * w_en, "zh={w_zh} en={w_en}");
    }
}
