//! Horizontal stacked bars and vertical grouped bars.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::Size;
use super::common::{
    Area, DESC_PT, DrawResult, LegendItem, MUTED, Swatch, TICK_PT, anchored, axis, clean,
    draw_categories_x, draw_legend, fit_text, grid, legend_height, padded, render, series_color,
    text_size, tick_formatter, usable, y_label_area,
};
use super::font;

/// One horizontal bar of a [`stacked_bars`] chart.
#[derive(Debug, Clone, PartialEq)]
pub struct StackedBar {
    /// Category shown left of the bar.
    pub label: String,
    /// Segment lengths in series order. Negative or non-finite parts count as 0.
    pub parts: Vec<f64>,
}

/// Horizontal stacked bars, first bar on top, with a legend of `series` and the total written at
/// the end of each bar. Give the chart about 28 px of height per bar; with less, every k-th
/// label is shown.
pub fn stacked_bars(
    title: &str,
    series: &[&str],
    bars: &[StackedBar],
    x_label: &str,
    size: Size,
) -> String {
    let n_series = bars
        .iter()
        .map(|b| b.parts.len())
        .max()
        .unwrap_or(0)
        .max(series.len());
    let names: Vec<String> = (0..n_series)
        .map(|i| series.get(i).map(|s| clean(s)).unwrap_or_default())
        .collect();
    let rows: Vec<(String, Vec<f64>)> = bars
        .iter()
        .map(|b| {
            let parts = (0..n_series)
                .map(|i| match b.parts.get(i) {
                    Some(&v) if usable(v) && v > 0.0 => v,
                    _ => 0.0,
                })
                .collect();
            (clean(&b.label), parts)
        })
        .collect();
    let any_value = bars.iter().any(|b| b.parts.iter().any(|v| usable(*v)));
    let x_label = clean(x_label);
    let body = any_value.then_some(move |root: &Area<'_>, rect: (i32, i32, i32, i32)| {
        draw_stacked(root, rect, &names, &rows, &x_label)
    });
    render(size, title, body)
}

fn draw_stacked(
    root: &Area<'_>,
    (left, top, right, _bottom): (i32, i32, i32, i32),
    names: &[String],
    rows: &[(String, Vec<f64>)],
    x_label: &str,
) -> DrawResult {
    let legend: Vec<LegendItem> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.is_empty())
        .map(|(i, n)| LegendItem {
            label: n.clone(),
            swatch: Swatch::Block(series_color(i)),
        })
        .collect();
    let lh = legend_height(&legend, left + 16, right - 16);
    draw_legend(root, &legend, left + 16, right - 16, top)?;

    let n = rows.len();
    let max_total = rows
        .iter()
        .map(|(_, p)| p.iter().sum::<f64>())
        .fold(0.0, f64::max);
    let x_hi = if max_total > 0.0 {
        max_total * 1.12
    } else {
        1.0
    };
    let fmt = tick_formatter(0.0, x_hi);
    let label_w_max = (right - left) * 2 / 5;
    let labels: Vec<String> = rows
        .iter()
        .map(|(l, _)| fit_text(l, TICK_PT, label_w_max))
        .collect();
    let label_w = labels
        .iter()
        .map(|l| text_size(l, TICK_PT).0)
        .max()
        .unwrap_or(0);

    let (_, lower) = root.split_vertically(top + lh);
    let mut chart = ChartBuilder::on(&lower)
        .margin_top(6)
        .margin_right(24)
        .margin_bottom(8)
        .margin_left(16)
        .x_label_area_size(text_size("0", TICK_PT).1 + text_size("国", DESC_PT).1 + 24)
        .y_label_area_size(label_w + 12)
        .build_cartesian_2d(0.0..x_hi, 0.0..n as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(7)
        .x_label_formatter(&fmt)
        .x_desc(x_label)
        .label_style(font::text(TICK_PT, &MUTED))
        .axis_desc_style(font::text(DESC_PT, &super::common::INK))
        .bold_line_style(grid())
        .light_line_style(TRANSPARENT)
        .axis_style(axis())
        .draw()?;

    let thickness = if n > 0 { 0.72 } else { 0.0 };
    for (i, (_, parts)) in rows.iter().enumerate() {
        let y_mid = (n - i) as f64 - 0.5;
        let (y0, y1) = (y_mid - thickness / 2.0, y_mid + thickness / 2.0);
        let mut acc = 0.0;
        for (j, &v) in parts.iter().enumerate() {
            if v > 0.0 {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(acc, y0), (acc + v, y1)],
                    series_color(j).filled(),
                )))?;
            }
            acc += v;
        }
        let (px, py) = chart.backend_coord(&(acc, y_mid));
        let total = anchored(font::text(TICK_PT - 1.0, &MUTED), HPos::Left, VPos::Center);
        root.draw_text(&fmt(&acc), &total, (px + 5, py))?;
    }

    // Category labels, thinned if the bars are thinner than the text.
    let slot = if n > 0 {
        let (_, a) = chart.backend_coord(&(0.0, 0.0));
        let (_, b) = chart.backend_coord(&(0.0, 1.0));
        (a - b).abs().max(1)
    } else {
        1
    };
    let k = ((text_size("国", TICK_PT).1 + 2) as f64 / slot as f64)
        .ceil()
        .max(1.0) as usize;
    let style = anchored(
        font::text(TICK_PT, &super::common::INK),
        HPos::Right,
        VPos::Center,
    );
    for (i, label) in labels.iter().enumerate() {
        if i % k == 0 {
            let (px, py) = chart.backend_coord(&(0.0, (n - i) as f64 - 0.5));
            root.draw_text(label, &style, (px - 8, py))?;
        }
    }
    Ok(())
}

/// Vertical grouped bars: one group per category, one bar per series (legend on top). Values
/// may be negative (bars hang from the zero line); non-finite values leave a gap.
pub fn grouped_bars(
    title: &str,
    categories: &[String],
    series: &[(&str, Vec<f64>)],
    y_label: &str,
    size: Size,
) -> String {
    let n_cat = series
        .iter()
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(0)
        .max(categories.len());
    let cats: Vec<String> = (0..n_cat)
        .map(|i| categories.get(i).map(|c| clean(c)).unwrap_or_default())
        .collect();
    let data: Vec<(String, Vec<Option<f64>>)> = series
        .iter()
        .map(|(name, vals)| {
            let v = (0..n_cat)
                .map(|i| vals.get(i).copied().filter(|v| usable(*v)))
                .collect();
            (clean(name), v)
        })
        .collect();
    let extent =
        super::common::finite_extent(data.iter().flat_map(|(_, v)| v.iter().flatten().copied()));
    let y_label = clean(y_label);
    let body = extent.map(|ext| {
        move |root: &Area<'_>, rect: (i32, i32, i32, i32)| {
            draw_grouped(root, rect, &cats, &data, ext, &y_label)
        }
    });
    render(size, title, body)
}

fn draw_grouped(
    root: &Area<'_>,
    (left, top, right, _bottom): (i32, i32, i32, i32),
    cats: &[String],
    data: &[(String, Vec<Option<f64>>)],
    (lo, hi): (f64, f64),
    y_label: &str,
) -> DrawResult {
    let legend: Vec<LegendItem> = data
        .iter()
        .enumerate()
        .filter(|(_, (n, _))| !n.is_empty())
        .map(|(i, (n, _))| LegendItem {
            label: n.clone(),
            swatch: Swatch::Block(series_color(i)),
        })
        .collect();
    let lh = legend_height(&legend, left + 16, right - 16);
    draw_legend(root, &legend, left + 16, right - 16, top)?;

    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let (plo, phi) = padded(lo, hi, 0.08);
    let y_range = (
        if lo < 0.0 { plo } else { 0.0 },
        if hi > 0.0 { phi } else { 0.0 },
    );
    let y_range = if y_range.1 > y_range.0 {
        y_range
    } else {
        (0.0, 1.0)
    };
    let fmt = tick_formatter(y_range.0, y_range.1);
    let n = cats.len().max(1);

    let (_, lower) = root.split_vertically(top + lh);
    let tick_h = text_size("国", TICK_PT).1;
    let mut chart = ChartBuilder::on(&lower)
        .margin_top(6)
        .margin_right(20)
        .margin_bottom(8)
        .margin_left(12)
        .x_label_area_size(tick_h + 14)
        .y_label_area_size(y_label_area(
            &[
                fmt(&y_range.0),
                fmt(&y_range.1),
                fmt(&((y_range.0 + y_range.1) / 2.0)),
            ],
            !y_label.is_empty(),
        ))
        .build_cartesian_2d(0.0..n as f64, y_range.0..y_range.1)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(6)
        .y_label_formatter(&fmt)
        .y_desc(y_label)
        .label_style(font::text(TICK_PT, &MUTED))
        .axis_desc_style(font::text(DESC_PT, &super::common::INK))
        .bold_line_style(grid())
        .light_line_style(TRANSPARENT)
        .axis_style(axis())
        .draw()?;

    let m = data.len().max(1) as f64;
    let group = 0.8;
    let bar = group / m;
    for (j, (_, vals)) in data.iter().enumerate() {
        let color = series_color(j);
        chart.draw_series(vals.iter().enumerate().filter_map(|(i, v)| {
            v.map(|v| {
                let x0 = i as f64 + (1.0 - group) / 2.0 + j as f64 * bar;
                Rectangle::new(
                    [(x0 + bar * 0.06, 0.0), (x0 + bar * 0.94, v)],
                    color.filled(),
                )
            })
        }))?;
    }
    if y_range.0 < 0.0 {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 0.0), (n as f64, 0.0)],
            axis(),
        )))?;
    }

    let (x_a, y_base) = chart.backend_coord(&(0.0, y_range.0));
    let (x_b, _) = chart.backend_coord(&(1.0, y_range.0));
    let positions: Vec<(i32, String)> = cats
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                chart.backend_coord(&(i as f64 + 0.5, y_range.0)).0,
                c.clone(),
            )
        })
        .collect();
    draw_categories_x(root, &positions, (x_b - x_a).abs(), y_base + 6)?;
    Ok(())
}
