//! Plumbing shared by every chart: the frame (title, no-data fallback, SVG finishing), the
//! palette, text measurement, number formatting, legends, label placement and line clipping.

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Size;
use super::font::{self, FAMILY};

/// The whole SVG canvas (origin top-left, pixels).
pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
/// Result of one drawing pass; any error falls back to the no-data chart.
pub(crate) type DrawResult = Result<(), Box<dyn Error>>;

/// Note shown when a chart has nothing drawable.
pub const NO_DATA: &str = "无数据 no data";

/// Okabe–Ito colours in the order series use them (yellow last: weakest on white).
pub(crate) const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(240, 228, 66),  // yellow
];
/// Body text and axis ink.
pub(crate) const INK: RGBColor = RGBColor(34, 34, 34);
/// Secondary text (notes, tick labels).
pub(crate) const MUTED: RGBColor = RGBColor(90, 90, 90);
/// Unemphasised marks.
pub(crate) const GREY: RGBColor = RGBColor(150, 150, 150);
/// Emphasis (Okabe–Ito vermillion).
pub(crate) const ACCENT: RGBColor = RGBColor(213, 94, 0);

/// plotters text sizes (SVG font-size is these / 1.24).
pub(crate) const TITLE_PT: f64 = 23.0;
pub(crate) const DESC_PT: f64 = 17.5;
pub(crate) const TICK_PT: f64 = 16.0;
pub(crate) const LABEL_PT: f64 = 16.0;

/// Colour of series `i` (cycles after seven series).
pub(crate) fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// `c` blended with white: `alpha` = 1 keeps the colour, 0 gives white. Opaque, so overlaps
/// stay predictable in every SVG renderer.
pub(crate) fn tint(c: RGBColor, alpha: f64) -> RGBColor {
    let f = |v: u8| {
        (v as f64 * alpha + 255.0 * (1.0 - alpha))
            .round()
            .clamp(0.0, 255.0) as u8
    };
    RGBColor(f(c.0), f(c.1), f(c.2))
}

/// Canvas size clamped to something drawable: 240×160 to 8000×8000 pixels.
pub(crate) fn canvas(size: Size) -> (u32, u32) {
    (size.width.clamp(240, 8000), size.height.clamp(160, 8000))
}

/// Caller text made safe to lay out on one line: control characters (newlines, NUL, …) become
/// spaces, which also keeps the SVG well-formed XML. Escaping of `<>&"'` is done by plotters'
/// SVG backend (and by [`finish_svg`] for the `<title>` element).
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Width and height in pixels of `text` at plotters size `pt`, measured with the embedded font.
pub(crate) fn text_size(text: &str, pt: f64) -> (i32, i32) {
    let desc = FontDesc::new(FontFamily::Name(FAMILY), pt, FontStyle::Normal);
    match desc.box_size(text) {
        Ok((w, h)) => (w as i32, h.max(1) as i32),
        // Rough fallback; only reached if the font failed to register.
        Err(_) => ((text.chars().count() as f64 * pt * 0.8) as i32, pt as i32),
    }
}

/// `text` shortened with "…" until it is at most `max_w` pixels wide at size `pt`.
pub(crate) fn fit_text(text: &str, pt: f64, max_w: i32) -> String {
    if text_size(text, pt).0 <= max_w {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let candidate: String = chars.iter().collect::<String>() + "…";
        if text_size(&candidate, pt).0 <= max_w {
            return candidate;
        }
    }
    String::new()
}

/// Text style anchored at `h`/`v`.
pub(crate) fn anchored(style: TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

/// Draws a chart: title on top, then `body` (if there is data) in the rest of the canvas.
/// When `body` is `None` or drawing fails, the result is the titled no-data chart instead, so
/// callers always get a well-formed SVG.
pub(crate) fn render<F>(size: Size, title: &str, body: Option<F>) -> String
where
    F: FnOnce(&Area<'_>, (i32, i32, i32, i32)) -> DrawResult,
{
    font::ensure_registered();
    let (w, h) = canvas(size);
    let title = clean(title);
    if let Some(body) = body {
        let mut buf = String::new();
        let ok = {
            let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
            let drawn = draw_frame(&root, &title).and_then(|top| {
                body(&root, (0, top, w as i32, h as i32))?;
                root.present()?;
                Ok(())
            });
            drawn.is_ok()
        };
        if ok {
            return finish_svg(buf, &title);
        }
    }
    no_data_svg(w, h, &title)
}

/// The titled chart with the no-data note; hand-written SVG if even plotters fails.
fn no_data_svg(w: u32, h: u32, title: &str) -> String {
    let mut buf = String::new();
    let ok = {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        let drawn = draw_frame(&root, title).and_then(|top| {
            let (wi, hi) = (w as i32, h as i32);
            let frame = ShapeStyle {
                color: GREY.mix(0.6),
                filled: false,
                stroke_width: 1,
            };
            root.draw(&Rectangle::new([(16, top + 8), (wi - 16, hi - 16)], frame))?;
            let note = anchored(
                font::text(DESC_PT + 2.0, &MUTED),
                HPos::Center,
                VPos::Center,
            );
            root.draw_text(NO_DATA, &note, (wi / 2, (top + hi) / 2))?;
            root.present()?;
            Ok(())
        });
        drawn.is_ok()
    };
    if ok {
        return finish_svg(buf, title);
    }
    let t = html_escape::encode_text(title);
    format!(
        "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">\n\
         <text x=\"16\" y=\"30\" font-size=\"17\">{t}</text>\n\
         <text x=\"{cx}\" y=\"{cy}\" text-anchor=\"middle\" font-size=\"15\">{NO_DATA}</text>\n</svg>\n",
        cx = w / 2,
        cy = h / 2
    )
}

/// White background and the title (shrunk, then truncated, to fit). Returns the y pixel where
/// the chart body starts.
fn draw_frame(root: &Area<'_>, title: &str) -> Result<i32, Box<dyn Error>> {
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    let max_w = w as i32 - 32;
    let mut pt = TITLE_PT;
    while pt > 13.0 && text_size(title, pt).0 > max_w {
        pt -= 1.0;
    }
    let shown = fit_text(title, pt, max_w);
    let style = anchored(font::bold(pt, &INK), HPos::Left, VPos::Top);
    if !shown.is_empty() {
        root.draw_text(&shown, &style, (16, 12))?;
    }
    Ok(12 + text_size("国Ag", pt).1 + 10)
}

/// Makes plotters' SVG inline-friendly: scales with its container (the viewBox is kept),
/// announces itself as an image and carries the title for screen readers and tooltips.
pub(crate) fn finish_svg(svg: String, title: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    let svg = &svg[start..];
    let Some(end) = svg.find('>') else {
        return svg.to_string();
    };
    let (open, rest) = svg.split_at(end);
    let open = open.trim_end_matches('/');
    format!(
        "{open} role=\"img\" style=\"max-width:100%;height:auto\">\n<title>{}</title>{}",
        html_escape::encode_text(title),
        &rest[1..]
    )
}

// ---------------------------------------------------------------------------------------------
// Numbers

/// Tick formatter for a linear axis spanning `lo..hi`: as many decimals as the tick spacing
/// needs, trailing zeros trimmed, "M" for millions.
pub(crate) fn tick_formatter(lo: f64, hi: f64) -> impl Fn(&f64) -> String {
    let big = lo.abs().max(hi.abs()) >= 1e6;
    let scale = if big { 1e6 } else { 1.0 };
    let step = ((hi - lo).abs() / 8.0 / scale).max(f64::MIN_POSITIVE);
    let decimals = ((-step.log10()).ceil().max(0.0) as usize + 1).min(6);
    move |v: &f64| {
        let s = trim_number(format!("{:.*}", decimals, v / scale));
        if big && s != "0" { s + "M" } else { s }
    }
}

/// Formats a value on a log axis (or a free-standing number) with about two significant digits.
pub(crate) fn fmt_sig(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let a = v.abs();
    if a >= 1e6 {
        return trim_number(format!("{:.1}", v / 1e6)) + "M";
    }
    let decimals = if a >= 10.0 || a == 0.0 {
        0
    } else {
        (1 - a.log10().floor() as i32).clamp(0, 6) as usize
    };
    trim_number(format!("{:.*}", decimals, v))
}

/// Drops trailing zeros after a decimal point and turns "-0" into "0".
fn trim_number(s: String) -> String {
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".to_string() } else { s }
}

/// `lo..hi` widened by `pad` of its span on each side; a degenerate span becomes a unit-ish
/// window around the value. Both ends are finite.
pub(crate) fn padded(lo: f64, hi: f64, pad: f64) -> (f64, f64) {
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let span = hi - lo;
    if !span.is_finite() || span <= f64::EPSILON * lo.abs().max(hi.abs()).max(1.0) {
        let d = if lo.abs() > 0.0 { lo.abs() * 0.1 } else { 1.0 };
        return (lo - d, hi + d);
    }
    (lo - span * pad, hi + span * pad)
}

/// Min and max of the finite values, if any.
pub(crate) fn finite_extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Values this large would overflow pixel arithmetic; charts treat them as missing.
pub(crate) fn usable(v: f64) -> bool {
    v.is_finite() && v.abs() < 1e15
}

// ---------------------------------------------------------------------------------------------
// Geometry

/// Clips a polyline to the rectangle `x0..x1 × y0..y1` (Liang–Barsky per segment). Non-finite
/// points break the line. Returns the visible runs, each with at least two points.
pub(crate) fn clip_polyline(
    points: &[(f64, f64)],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    let flush = |current: &mut Vec<(f64, f64)>, runs: &mut Vec<Vec<(f64, f64)>>| {
        if current.len() >= 2 {
            runs.push(std::mem::take(current));
        } else {
            current.clear();
        }
    };
    for pair in points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let ok = |p: (f64, f64)| p.0.is_finite() && p.1.is_finite();
        if !ok(a) || !ok(b) {
            flush(&mut current, &mut runs);
            continue;
        }
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let mut t0 = 0.0f64;
        let mut t1 = 1.0f64;
        let mut visible = true;
        for (p, q) in [
            (-dx, a.0 - x0),
            (dx, x1 - a.0),
            (-dy, a.1 - y0),
            (dy, y1 - a.1),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    visible = false;
                    break;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
            }
        }
        if !visible || t0 > t1 {
            flush(&mut current, &mut runs);
            continue;
        }
        let start = (a.0 + t0 * dx, a.1 + t0 * dy);
        let end = (a.0 + t1 * dx, a.1 + t1 * dy);
        if t0 > 0.0 || current.is_empty() {
            flush(&mut current, &mut runs);
            current.push(start);
        }
        current.push(end);
        if t1 < 1.0 {
            flush(&mut current, &mut runs);
        }
    }
    flush(&mut current, &mut runs);
    runs
}

/// Pixel rectangle `(left, top, right, bottom)`.
pub(crate) type Rect = (i32, i32, i32, i32);

fn overlaps(a: Rect, b: Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Greedy placement of point labels so they neither overlap each other nor the marks listed as
/// obstacles, and stay inside `bounds`.
pub(crate) struct LabelPlacer {
    bounds: Rect,
    taken: Vec<Rect>,
}

impl LabelPlacer {
    pub(crate) fn new(bounds: Rect, obstacles: Vec<Rect>) -> Self {
        Self {
            bounds,
            taken: obstacles,
        }
    }

    /// Top-left corner for a `w`×`h` label next to a mark of radius `r` at `at`. Tries right,
    /// left, above, below, then right/left nudged up and down; if all collide, the first
    /// candidate clamped into bounds (a label is never dropped).
    pub(crate) fn place(&mut self, at: (i32, i32), r: i32, w: i32, h: i32) -> (i32, i32) {
        let (x, y) = at;
        let gap = r + 4;
        let mut candidates = vec![
            (x + gap, y - h / 2),
            (x - gap - w, y - h / 2),
            (x - w / 2, y - gap - h),
            (x - w / 2, y + gap),
        ];
        for k in 1..=6 {
            let dy = k * (h + 2);
            candidates.extend([
                (x + gap, y - h / 2 - dy),
                (x + gap, y - h / 2 + dy),
                (x - gap - w, y - h / 2 - dy),
                (x - gap - w, y - h / 2 + dy),
            ]);
        }
        let (bl, bt, br, bb) = self.bounds;
        let fits = |&(cx, cy): &(i32, i32)| cx >= bl && cy >= bt && cx + w <= br && cy + h <= bb;
        let chosen = candidates
            .iter()
            .copied()
            .filter(fits)
            .find(|&(cx, cy)| {
                !self
                    .taken
                    .iter()
                    .any(|t| overlaps(*t, (cx, cy, cx + w, cy + h)))
            })
            .unwrap_or_else(|| {
                let (cx, cy) = candidates[0];
                (cx.min(br - w).max(bl), cy.min(bb - h).max(bt))
            });
        self.taken
            .push((chosen.0, chosen.1, chosen.0 + w, chosen.1 + h));
        chosen
    }
}

/// Draws `label` for a mark at `at` (radius `r`) where `placer` finds room; a thin leader line
/// joins label and mark when the label had to move away from it.
pub(crate) fn draw_point_label(
    root: &Area<'_>,
    placer: &mut LabelPlacer,
    label: &str,
    at: (i32, i32),
    r: i32,
    color: &RGBColor,
) -> DrawResult {
    if label.is_empty() {
        return Ok(());
    }
    let (w, h) = text_size(label, LABEL_PT);
    let (lx, ly) = placer.place(at, r, w + 2, h + 2);
    let (cx, cy) = (lx + (w + 2) / 2, ly + (h + 2) / 2);
    let far = (cx - at.0).abs() > w / 2 + r + 8 || (cy - at.1).abs() > h / 2 + r + 8;
    if far {
        let end_x = if cx > at.0 { lx } else { lx + w + 2 };
        root.draw(&PathElement::new(
            vec![at, (end_x, cy)],
            ShapeStyle {
                color: GREY.mix(0.9),
                filled: false,
                stroke_width: 1,
            },
        ))?;
    }
    let style = anchored(font::text(LABEL_PT, color), HPos::Left, VPos::Top);
    root.draw_text(label, &style, (lx + 1, ly + 1))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Legend

/// How a legend entry is drawn.
pub(crate) enum Swatch {
    /// Filled square (bars).
    Block(RGBColor),
    /// Line sample; `dashed` for dashed lines.
    Line { color: RGBColor, dashed: bool },
    /// Dot (points).
    Dot(RGBColor),
}

/// One legend entry.
pub(crate) struct LegendItem {
    pub(crate) label: String,
    pub(crate) swatch: Swatch,
}

const LEGEND_ROW: i32 = 24;

fn legend_layout(items: &[LegendItem], left: i32, right: i32) -> Vec<(i32, i32, String)> {
    let mut out = Vec::new();
    let (mut x, mut row) = (left, 0);
    for item in items {
        let label = fit_text(&item.label, LABEL_PT, (right - left - 40).max(20));
        let w = 28 + text_size(&label, LABEL_PT).0;
        if x > left && x + w > right {
            x = left;
            row += 1;
        }
        out.push((x, row, label));
        x += w + 20;
    }
    out
}

/// Height a legend of `items` needs between `left` and `right` (0 when empty).
pub(crate) fn legend_height(items: &[LegendItem], left: i32, right: i32) -> i32 {
    match legend_layout(items, left, right).last() {
        None => 0,
        Some((_, row, _)) => (row + 1) * LEGEND_ROW + 4,
    }
}

/// Draws the legend in rows starting at `top`, wrapping before `right`.
pub(crate) fn draw_legend(
    root: &Area<'_>,
    items: &[LegendItem],
    left: i32,
    right: i32,
    top: i32,
) -> DrawResult {
    let style = anchored(font::text(LABEL_PT, &INK), HPos::Left, VPos::Center);
    for (item, (x, row, label)) in items.iter().zip(legend_layout(items, left, right)) {
        let cy = top + row * LEGEND_ROW + LEGEND_ROW / 2;
        match item.swatch {
            Swatch::Block(c) => {
                root.draw(&Rectangle::new([(x, cy - 7), (x + 20, cy + 7)], c.filled()))?;
            }
            Swatch::Line { color, dashed } => {
                let st = color.stroke_width(if dashed { 2 } else { 3 });
                if dashed {
                    for s in [x, x + 8, x + 16] {
                        root.draw(&PathElement::new(vec![(s, cy), (s + 5, cy)], st))?;
                    }
                } else {
                    root.draw(&PathElement::new(vec![(x, cy), (x + 21, cy)], st))?;
                }
            }
            Swatch::Dot(c) => {
                root.draw(&Circle::new((x + 10, cy), 5, c.filled()))?;
            }
        }
        root.draw_text(&label, &style, (x + 28, cy))?;
    }
    Ok(())
}

/// Category labels under a horizontal axis at the given pixel x positions. When they would
/// collide, only every k-th is drawn (k from 1, 2, 3, 4, 6, 12, … so months stay aligned to
/// quarters and years); labels wider than 220 px are shortened with "…". Labels are kept inside
/// the canvas.
pub(crate) fn draw_categories_x(
    root: &Area<'_>,
    labels: &[(i32, String)],
    slot: i32,
    y: i32,
) -> DrawResult {
    const MAX_W: i32 = 220;
    let shown: Vec<(i32, String, i32)> = labels
        .iter()
        .map(|(x, l)| {
            let l = fit_text(l, TICK_PT, MAX_W);
            let w = text_size(&l, TICK_PT).0;
            (*x, l, w)
        })
        .collect();
    let widest = shown.iter().map(|s| s.2).max().unwrap_or(0);
    let need = ((widest + 12) as f64 / slot.max(1) as f64).ceil().max(1.0) as usize;
    let k = [1, 2, 3, 4, 6, 12, 24, 36, 48, 60, 120]
        .into_iter()
        .find(|&k| k >= need)
        .unwrap_or(need);
    let (canvas_w, _) = root.dim_in_pixel();
    let style = anchored(font::text(TICK_PT, &MUTED), HPos::Center, VPos::Top);
    for (i, (x, l, w)) in shown.iter().enumerate() {
        if i % k == 0 && !l.is_empty() {
            let half = w / 2 + 2;
            let x = (*x).min(canvas_w as i32 - half).max(half);
            root.draw_text(l, &style, (x, y))?;
        }
    }
    Ok(())
}

/// Pixel width a y-axis label area needs for these tick strings plus a rotated axis title.
pub(crate) fn y_label_area(ticks: &[String], has_desc: bool) -> u32 {
    let widest = ticks
        .iter()
        .map(|t| text_size(t, TICK_PT).0)
        .max()
        .unwrap_or(0);
    (widest
        + 16
        + if has_desc {
            text_size("国", DESC_PT).1 + 10
        } else {
            0
        })
    .max(40) as u32
}

/// Light grid line style.
pub(crate) fn grid() -> ShapeStyle {
    ShapeStyle {
        color: BLACK.mix(0.09),
        filled: false,
        stroke_width: 1,
    }
}

/// Axis line style.
pub(crate) fn axis() -> ShapeStyle {
    ShapeStyle {
        color: INK.mix(0.7),
        filled: false,
        stroke_width: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_keeps_inside_runs_and_splits_at_gaps() {
        let pts = [
            (0.0, 0.0),
            (1.0, 1.0),
            (f64::NAN, 1.0),
            (2.0, 2.0),
            (3.0, 5.0),
            (4.0, 1.0),
        ];
        let runs = clip_polyline(&pts, (0.0, 4.0), (0.0, 3.0));
        assert_eq!(runs[0], vec![(0.0, 0.0), (1.0, 1.0)]);
        // (2,2)→(3,5) leaves at y=3 (x=2+1/3); (3,5)→(4,1) re-enters at y=3 (x=3.5).
        assert_eq!(runs.len(), 3);
        assert!((runs[1][1].0 - (2.0 + 1.0 / 3.0)).abs() < 1e-12);
        assert!((runs[2][0].0 - 3.5).abs() < 1e-12 && runs[2][1] == (4.0, 1.0));
    }

    #[test]
    fn numbers_are_formatted_for_their_axis() {
        let f = tick_formatter(0.0, 1.0);
        assert_eq!(f(&0.30000000000000004), "0.3");
        assert_eq!(f(&-0.0), "0");
        let f = tick_formatter(0.0, 5000.0);
        assert_eq!(f(&2500.0), "2500");
        let f = tick_formatter(0.0, 3.0e7);
        assert_eq!(f(&2.5e7), "25M");
        assert_eq!(fmt_sig(0.05), "0.05");
        assert_eq!(fmt_sig(200.0), "200");
        assert_eq!(fmt_sig(2.5), "2.5");
    }

    #[test]
    fn clean_removes_control_characters() {
        assert_eq!(clean(" a\nb\u{0}c "), "a b c");
    }
}
