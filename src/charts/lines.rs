//! Line chart over categorical x positions (months, quarters, …).

use plotters::prelude::*;

use super::Size;
use super::common::{
    Area, DESC_PT, DrawResult, INK, LegendItem, MUTED, Swatch, TICK_PT, axis, clean,
    draw_categories_x, draw_legend, finite_extent, grid, legend_height, padded, render,
    series_color, text_size, tick_formatter, usable, y_label_area,
};
use super::font;

/// Lines over categorical x positions, one per series, with a marker on every value so that a
/// value between two gaps still shows. NaN (or any non-finite value) is a gap. Series get
/// distinct colours and marker shapes (circle, triangle, square, …); x labels are thinned to
/// every k-th when they would collide.
pub fn lines(
    title: &str,
    x_labels: &[String],
    series: &[(&str, Vec<f64>)],
    y_label: &str,
    size: Size,
) -> String {
    lines_marked(title, x_labels, series, y_label, None, size)
}

/// [`lines`] with the x positions `marked` (first and last index, inclusive; say the
/// audited period) shaded behind the lines, as PEPPER shades the period under review.
pub fn lines_marked(
    title: &str,
    x_labels: &[String],
    series: &[(&str, Vec<f64>)],
    y_label: &str,
    marked: Option<(usize, usize)>,
    size: Size,
) -> String {
    let n = series
        .iter()
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(0)
        .max(x_labels.len());
    let labels: Vec<String> = (0..n)
        .map(|i| x_labels.get(i).map(|l| clean(l)).unwrap_or_default())
        .collect();
    let data: Vec<(String, Vec<f64>)> = series
        .iter()
        .map(|(name, v)| {
            let vals = (0..n)
                .map(|i| v.get(i).copied().filter(|x| usable(*x)).unwrap_or(f64::NAN))
                .collect();
            (clean(name), vals)
        })
        .collect();
    let extent = finite_extent(data.iter().flat_map(|(_, v)| v.iter().copied()));
    let y_label = clean(y_label);
    let body = extent.map(|ext| {
        move |root: &Area<'_>, rect: (i32, i32, i32, i32)| {
            draw(root, rect, &labels, &data, ext, &y_label, marked)
        }
    });
    render(size, title, body)
}

fn draw(
    root: &Area<'_>,
    (left, top, right, _bottom): (i32, i32, i32, i32),
    labels: &[String],
    data: &[(String, Vec<f64>)],
    (lo, hi): (f64, f64),
    y_label: &str,
    marked: Option<(usize, usize)>,
) -> DrawResult {
    let legend: Vec<LegendItem> = data
        .iter()
        .enumerate()
        .filter(|(_, (n, _))| !n.is_empty())
        .map(|(i, (n, _))| LegendItem {
            label: n.clone(),
            swatch: Swatch::Line {
                color: series_color(i),
                dashed: false,
            },
        })
        .collect();
    let lh = legend_height(&legend, left + 16, right - 16);
    draw_legend(root, &legend, left + 16, right - 16, top)?;
    let (_, lower) = root.split_vertically(top + lh);

    let (mut y0, y1) = padded(lo, hi, 0.1);
    if lo >= 0.0 && y0 < 0.0 {
        y0 = 0.0;
    }
    let fmt = tick_formatter(y0, y1);
    let n = labels.len().max(1);
    let mut chart = ChartBuilder::on(&lower)
        .margin_top(6)
        .margin_right(24)
        .margin_bottom(8)
        .margin_left(12)
        .x_label_area_size(text_size("国", TICK_PT).1 + 14)
        .y_label_area_size(y_label_area(&[fmt(&y0), fmt(&y1)], !y_label.is_empty()))
        .build_cartesian_2d(-0.5..n as f64 - 0.5, y0..y1)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(6)
        .y_label_formatter(&fmt)
        .y_desc(y_label)
        .label_style(font::text(TICK_PT, &MUTED))
        .axis_desc_style(font::text(DESC_PT, &INK))
        .bold_line_style(grid())
        .light_line_style(TRANSPARENT)
        .axis_style(axis())
        .draw()?;

    if let Some((a, b)) = marked.filter(|(a, b)| a <= b && *a < n) {
        let shade = RGBColor(0xE8, 0xB4, 0x4C).mix(0.18).filled();
        chart.draw_series(std::iter::once(Rectangle::new(
            [(a as f64 - 0.5, y0), (b.min(n - 1) as f64 + 0.5, y1)],
            shade,
        )))?;
    }

    for (j, (_, vals)) in data.iter().enumerate() {
        let color = series_color(j);
        let mut run: Vec<(f64, f64)> = Vec::new();
        let mut runs = Vec::new();
        for (i, v) in vals.iter().enumerate() {
            if v.is_finite() {
                run.push((i as f64, *v));
            } else if !run.is_empty() {
                runs.push(std::mem::take(&mut run));
            }
        }
        runs.push(run);
        for r in runs.into_iter().filter(|r| r.len() >= 2) {
            chart.draw_series(std::iter::once(PathElement::new(r, color.stroke_width(2))))?;
        }
        let pts = vals
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| (i as f64, *v));
        let style = color.filled();
        match j % 3 {
            0 => {
                chart.draw_series(pts.map(|p| Circle::new(p, 4, style)))?;
            }
            1 => {
                chart.draw_series(pts.map(|p| TriangleMarker::new(p, 6, style)))?;
            }
            _ => {
                chart.draw_series(
                    pts.map(|p| EmptyElement::at(p) + Rectangle::new([(-4, -4), (4, 4)], style)),
                )?;
            }
        }
    }

    let (xa, yb) = chart.backend_coord(&(0.0, y0));
    let (xb, _) = chart.backend_coord(&(1.0, y0));
    let positions: Vec<(i32, String)> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (chart.backend_coord(&(i as f64, y0)).0, l.clone()))
        .collect();
    draw_categories_x(root, &positions, (xb - xa).abs(), yb + 6)?;
    Ok(())
}
