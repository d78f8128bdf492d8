//! Histogram of one or two distributions with labelled threshold lines.

use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::Size;
use super::common::{
    Area, DESC_PT, DrawResult, INK, LABEL_PT, LabelPlacer, LegendItem, MUTED, Swatch, TICK_PT,
    anchored, axis, clean, draw_legend, finite_extent, grid, legend_height, padded, render,
    series_color, text_size, tick_formatter, tint, usable, y_label_area,
};
use super::font;
use plotters::style::text_anchor::{HPos, VPos};

const THRESHOLD_COLOR: RGBColor = RGBColor(68, 68, 68);

struct Prepared {
    /// Valid bins: (left edge, right edge, index into the series values).
    bins: Vec<(f64, f64, usize)>,
    series: Vec<(String, Vec<f64>)>,
    thresholds: Vec<(String, f64)>,
    x: (f64, f64),
    y: (f64, f64),
}

/// Histogram over `bin_edges` (n + 1 increasing edges for n bins) of counts or shares per bin.
/// The first series is drawn as filled bars, later ones as step outlines on top (e.g. hospital
/// vs peers). Each threshold is a dashed vertical line labelled at the top of the plot.
/// Bins with non-finite or non-increasing edges are skipped, as are non-finite values.
pub fn histogram(
    title: &str,
    bin_edges: &[f64],
    series: &[(&str, Vec<f64>)],
    thresholds: &[(&str, f64)],
    x_label: &str,
    y_label: &str,
    size: Size,
) -> String {
    let prepared = prepare(bin_edges, series, thresholds);
    let (x_label, y_label) = (clean(x_label), clean(y_label));
    let body = prepared.map(|p| {
        move |root: &Area<'_>, rect: (i32, i32, i32, i32)| draw(root, rect, &p, &x_label, &y_label)
    });
    render(size, title, body)
}

fn prepare(
    edges: &[f64],
    series: &[(&str, Vec<f64>)],
    thresholds: &[(&str, f64)],
) -> Option<Prepared> {
    let bins: Vec<(f64, f64, usize)> = edges
        .windows(2)
        .enumerate()
        .filter(|(_, w)| usable(w[0]) && usable(w[1]) && w[1] > w[0])
        .map(|(i, w)| (w[0], w[1], i))
        .collect();
    let series: Vec<(String, Vec<f64>)> =
        series.iter().map(|(n, v)| (clean(n), v.clone())).collect();
    let value = |s: &[f64], i: usize| s.get(i).copied().filter(|v| usable(*v));
    let (v_lo, v_hi) = finite_extent(
        series
            .iter()
            .flat_map(|(_, v)| bins.iter().filter_map(|b| value(v, b.2))),
    )?;
    let (e_lo, e_hi) = finite_extent(bins.iter().flat_map(|b| [b.0, b.1]))?;
    let thresholds: Vec<(String, f64)> = thresholds
        .iter()
        .filter(|(_, v)| usable(*v))
        .map(|(n, v)| (clean(n), *v))
        .collect();
    // Thresholds a little outside the bins still show; far-off ones would squash the bars.
    let span = e_hi - e_lo;
    let (x_lo, x_hi) = thresholds
        .iter()
        .map(|t| t.1)
        .filter(|v| *v >= e_lo - span && *v <= e_hi + span)
        .fold((e_lo, e_hi), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let x = padded(x_lo, x_hi, 0.02);
    let top = v_hi.max(0.0);
    let y_hi = if top > 0.0 { top * 1.22 } else { 1.0 };
    let y_lo = if v_lo < 0.0 {
        padded(v_lo, top, 0.05).0
    } else {
        0.0
    };
    Some(Prepared {
        bins,
        series,
        thresholds,
        x,
        y: (y_lo, y_hi),
    })
}

fn draw(
    root: &Area<'_>,
    (left, top, right, _bottom): (i32, i32, i32, i32),
    p: &Prepared,
    x_label: &str,
    y_label: &str,
) -> DrawResult {
    let legend: Vec<LegendItem> = p
        .series
        .iter()
        .enumerate()
        .filter(|(_, (n, _))| !n.is_empty())
        .map(|(i, (n, _))| LegendItem {
            label: n.clone(),
            swatch: if i == 0 {
                Swatch::Block(tint(series_color(0), 0.55))
            } else {
                Swatch::Line {
                    color: series_color(i),
                    dashed: false,
                }
            },
        })
        .collect();
    let lh = legend_height(&legend, left + 16, right - 16);
    draw_legend(root, &legend, left + 16, right - 16, top)?;
    let (_, lower) = root.split_vertically(top + lh);

    let xfmt = tick_formatter(p.x.0, p.x.1);
    let yfmt = tick_formatter(p.y.0, p.y.1);
    let mut chart = ChartBuilder::on(&lower)
        .margin_top(6)
        .margin_right(24)
        .margin_bottom(8)
        .margin_left(12)
        .x_label_area_size(text_size("0", TICK_PT).1 + text_size("国", DESC_PT).1 + 24)
        .y_label_area_size(y_label_area(
            &[yfmt(&p.y.0), yfmt(&p.y.1)],
            !y_label.is_empty(),
        ))
        .build_cartesian_2d(p.x.0..p.x.1, p.y.0..p.y.1)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(10)
        .y_labels(6)
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

    let value = |s: &[f64], i: usize| s.get(i).copied().filter(|v| usable(*v));
    for (j, (_, vals)) in p.series.iter().enumerate() {
        let color = series_color(j);
        if j == 0 {
            chart.draw_series(p.bins.iter().filter_map(|b| {
                value(vals, b.2)
                    .map(|v| Rectangle::new([(b.0, 0.0), (b.1, v)], tint(color, 0.55).filled()))
            }))?;
            chart.draw_series(p.bins.iter().filter_map(|b| {
                value(vals, b.2)
                    .map(|v| Rectangle::new([(b.0, 0.0), (b.1, v)], color.stroke_width(1)))
            }))?;
        } else {
            // Step outline; a missing value or a gap between bins breaks it.
            let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
            let mut run: Vec<(f64, f64)> = Vec::new();
            let mut prev_right: Option<f64> = None;
            for b in &p.bins {
                match value(vals, b.2) {
                    Some(v) => {
                        if prev_right != Some(b.0) && !run.is_empty() {
                            run.push((run.last().map_or(b.0, |q| q.0), 0.0));
                            runs.push(std::mem::take(&mut run));
                        }
                        if run.is_empty() {
                            run.push((b.0, 0.0));
                        }
                        run.push((b.0, v));
                        run.push((b.1, v));
                        prev_right = Some(b.1);
                    }
                    None => {
                        if let Some(last) = run.last().copied() {
                            run.push((last.0, 0.0));
                            runs.push(std::mem::take(&mut run));
                        }
                        prev_right = None;
                    }
                }
            }
            if let Some(last) = run.last().copied() {
                run.push((last.0, 0.0));
                runs.push(run);
            }
            for r in runs {
                chart.draw_series(std::iter::once(PathElement::new(r, color.stroke_width(3))))?;
            }
        }
    }

    // Thresholds: dashed line, label near the top, staggered down when labels would collide.
    let (l, t) = chart.backend_coord(&(p.x.0, p.y.1));
    let (r, b) = chart.backend_coord(&(p.x.1, p.y.0));
    let mut placer = LabelPlacer::new((l, t, r, b), Vec::new());
    let style = anchored(font::text(LABEL_PT, &INK), HPos::Left, VPos::Top);
    let mut ordered: Vec<&(String, f64)> = p
        .thresholds
        .iter()
        .filter(|t| t.1 >= p.x.0 && t.1 <= p.x.1)
        .collect();
    ordered.sort_by(|a, b| a.1.total_cmp(&b.1));
    for (name, v) in ordered {
        let (x, _) = chart.backend_coord(&(*v, p.y.1));
        root.draw(&DashedPathElement::new(
            vec![(x, t), (x, b)],
            6,
            4,
            THRESHOLD_COLOR.stroke_width(2),
        ))?;
        if name.is_empty() {
            continue;
        }
        let (w, h) = text_size(name, LABEL_PT);
        // Label right of the line at the top; left of it if it would run off the plot.
        let (lx, ly) = placer.place((x, t + 4 + h / 2), 0, w + 6, h + 4);
        let bg = WHITE.mix(0.85).filled();
        root.draw(&Rectangle::new([(lx, ly), (lx + w + 6, ly + h + 4)], bg))?;
        root.draw_text(name, &style, (lx + 3, ly + 2))?;
    }
    Ok(())
}
