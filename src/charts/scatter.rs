//! Bubble chart: a 2-D projection of cluster centroids, bubble area proportional to size.

use plotters::prelude::*;

use super::Size;
use super::common::{
    Area, DESC_PT, DrawResult, INK, LabelPlacer, MUTED, TICK_PT, axis, clean, draw_point_label,
    finite_extent, grid, padded, render, series_color, text_size, tick_formatter, tint, usable,
    y_label_area,
};
use super::font;

/// One bubble: a labelled position with a size (e.g. number of cases in a cluster).
#[derive(Debug, Clone, PartialEq)]
pub struct Bubble {
    /// Printed next to the bubble.
    pub label: String,
    /// Horizontal position.
    pub x: f64,
    /// Vertical position.
    pub y: f64,
    /// Bubble area is proportional to this; non-finite or ≤ 0 gives the smallest bubble.
    pub size: f64,
}

/// Bubble chart, every bubble labelled (labels placed to avoid each other). Bubble area is
/// proportional to `size`; larger bubbles are drawn first so small ones stay visible. Colours
/// cycle through the palette in input order. Bubbles with non-finite x or y are skipped.
pub fn bubbles(
    title: &str,
    bubbles: &[Bubble],
    x_label: &str,
    y_label: &str,
    size: Size,
) -> String {
    let items: Vec<(usize, String, f64, f64, f64)> = bubbles
        .iter()
        .enumerate()
        .filter(|(_, b)| usable(b.x) && usable(b.y))
        .map(|(i, b)| {
            let s = if usable(b.size) && b.size > 0.0 {
                b.size
            } else {
                0.0
            };
            (i, clean(&b.label), b.x, b.y, s)
        })
        .collect();
    let (x_label, y_label) = (clean(x_label), clean(y_label));
    let has_data = !items.is_empty();
    let body = has_data.then_some(move |root: &Area<'_>, rect: (i32, i32, i32, i32)| {
        draw(root, rect, items, &x_label, &y_label)
    });
    render(size, title, body)
}

fn draw(
    root: &Area<'_>,
    (_left, top, _right, _bottom): (i32, i32, i32, i32),
    mut items: Vec<(usize, String, f64, f64, f64)>,
    x_label: &str,
    y_label: &str,
) -> DrawResult {
    let (_, lower) = root.split_vertically(top);
    let (w, h) = lower.dim_in_pixel();
    let r_max = (w.min(h) as f64 / 13.0).clamp(10.0, 48.0);
    let r_min = 4.0;
    let s_max = items.iter().map(|b| b.4).fold(0.0, f64::max);
    let radius = |s: f64| {
        if s_max > 0.0 {
            r_min + (r_max - r_min) * (s / s_max).sqrt()
        } else {
            r_min + (r_max - r_min) * 0.3
        }
    };
    // Pad the ranges so the largest bubbles stay inside the plot.
    let (xl, xh) = finite_extent(items.iter().map(|b| b.2)).unwrap_or((0.0, 1.0));
    let (yl, yh) = finite_extent(items.iter().map(|b| b.3)).unwrap_or((0.0, 1.0));
    let (x0, x1) = padded(xl, xh, 0.14);
    let (y0, y1) = padded(yl, yh, 0.14);
    let (xfmt, yfmt) = (tick_formatter(x0, x1), tick_formatter(y0, y1));

    let mut chart = ChartBuilder::on(&lower)
        .margin_top(6)
        .margin_right(24)
        .margin_bottom(8)
        .margin_left(12)
        .x_label_area_size(text_size("0", TICK_PT).1 + text_size("国", DESC_PT).1 + 24)
        .y_label_area_size(y_label_area(&[yfmt(&y0), yfmt(&y1)], !y_label.is_empty()))
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(7)
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style(font::text(TICK_PT, &MUTED))
        .axis_desc_style(font::text(DESC_PT, &INK))
        .bold_line_style(grid())
        .light_line_style(TRANSPARENT)
        .axis_style(axis())
        .draw()?;

    // Largest first; ties keep input order, so the output is deterministic.
    items.sort_by(|a, b| b.4.total_cmp(&a.4).then(a.0.cmp(&b.0)));
    let mut obstacles = Vec::new();
    for (i, _, x, y, s) in &items {
        let c = series_color(*i);
        let (px, py) = chart.backend_coord(&(*x, *y));
        let r = radius(*s).round() as i32;
        root.draw(&Circle::new((px, py), r, tint(c, 0.45).filled()))?;
        root.draw(&Circle::new((px, py), r, c.stroke_width(2)))?;
        root.draw(&Circle::new((px, py), 2, c.filled()))?;
        // Only the centre is an obstacle: labels may sit on a bubble's rim but not on a dot.
        obstacles.push((px - 3, py - 3, px + 3, py + 3));
    }
    let (l, t) = chart.backend_coord(&(x0, y1));
    let (r, b) = chart.backend_coord(&(x1, y0));
    let mut placer = LabelPlacer::new((l + 2, t + 2, r - 2, b - 2), obstacles);
    // Label small bubbles first: they have least room.
    for (_, label, x, y, s) in items.iter().rev() {
        let at = chart.backend_coord(&(*x, *y));
        draw_point_label(
            root,
            &mut placer,
            label,
            at,
            radius(*s).round() as i32,
            &INK,
        )?;
    }
    Ok(())
}
