//! Funnel plot: observed/expected ratio against expected count, with control limits.

use plotters::coord::combinators::IntoLogRange;
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::Size;
use super::common::{
    ACCENT, Area, DESC_PT, DrawResult, GREY, INK, LabelPlacer, LegendItem, MUTED, Swatch, TICK_PT,
    axis, clean, clip_polyline, draw_legend, draw_point_label, finite_extent, fmt_sig, grid,
    legend_height, render, tick_formatter, usable, y_label_area,
};
use super::font;

/// One unit (hospital, department, …) on a funnel plot.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelPoint {
    /// Name, printed next to the point only when `highlight` is set.
    pub label: String,
    /// Expected count (x). Points with expected ≤ 0 or non-finite values are skipped.
    pub expected: f64,
    /// Observed / expected (y).
    pub ratio: f64,
    /// Drawn in the accent colour and labelled.
    pub highlight: bool,
}

/// Control limits as curves over expected counts (the same length; extra entries are ignored).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FunnelLimitsCurve {
    /// Expected counts where the limits are evaluated.
    pub expected: Vec<f64>,
    /// Lower 95 % limit of the ratio.
    pub lower95: Vec<f64>,
    /// Upper 95 % limit of the ratio.
    pub upper95: Vec<f64>,
    /// Lower 99.8 % limit of the ratio.
    pub lower998: Vec<f64>,
    /// Upper 99.8 % limit of the ratio.
    pub upper998: Vec<f64>,
}

/// Legend text of the target line.
const TARGET: &str = "目标 target O/E = 1";
/// Legend text of the 95 % limits.
const LIMIT95: &str = "95% 控制限 limits";
/// Legend text of the 99.8 % limits.
const LIMIT998: &str = "99.8% 控制限 limits";
/// Legend text of highlighted points.
const FLAGGED: &str = "标注 highlighted";

const LIMIT_COLOR: RGBColor = RGBColor(0, 114, 178);

struct Prepared {
    points: Vec<(String, f64, f64, bool)>,
    /// Curves as (x, y) in data space: lower95, upper95, lower998, upper998.
    curves: [Vec<(f64, f64)>; 4],
    x: (f64, f64),
    y: (f64, f64),
    log: bool,
    /// y is log10(O/E) (one hospital's O/E in the hundreds would flatten everyone else).
    log_y: bool,
}

/// Above this O/E the y axis turns logarithmic.
const LOG_Y_ABOVE: f64 = 8.0;

/// Funnel plot. x = expected count (log scale when the points span more than 100×), y = O/E
/// ratio; a target line at 1, 95 % limits dashed and 99.8 % limits solid; highlighted points in
/// vermillion with their labels (placed to avoid each other), the others grey and unlabelled.
pub fn funnel(
    title: &str,
    points: &[FunnelPoint],
    limits: &FunnelLimitsCurve,
    x_label: &str,
    y_label: &str,
    size: Size,
) -> String {
    let prepared = prepare(points, limits);
    let (x_label, y_label) = (clean(x_label), clean(y_label));
    let body = prepared.map(|p| {
        move |root: &Area<'_>, rect: (i32, i32, i32, i32)| draw(root, rect, &p, &x_label, &y_label)
    });
    render(size, title, body)
}

fn prepare(points: &[FunnelPoint], limits: &FunnelLimitsCurve) -> Option<Prepared> {
    let pts: Vec<(String, f64, f64, bool)> = points
        .iter()
        .filter(|p| usable(p.expected) && p.expected > 0.0 && usable(p.ratio))
        .map(|p| (clean(&p.label), p.expected, p.ratio, p.highlight))
        .collect();
    let (x_lo, x_hi) = finite_extent(pts.iter().map(|p| p.1))?;
    let (r_lo, r_hi) = finite_extent(pts.iter().map(|p| p.2))?;
    let log = x_hi / x_lo > 100.0;
    let x = if log {
        (x_lo / 1.6, x_hi * 1.6)
    } else {
        let pad = ((x_hi - x_lo) * 0.06).max(x_hi * 0.05).max(0.5);
        ((x_lo - pad).max(0.0), x_hi + pad)
    };

    let mut curves: [Vec<(f64, f64)>; 4] = Default::default();
    for (k, ys) in [
        &limits.lower95,
        &limits.upper95,
        &limits.lower998,
        &limits.upper998,
    ]
    .into_iter()
    .enumerate()
    {
        let mut c: Vec<(f64, f64)> = limits
            .expected
            .iter()
            .zip(ys.iter())
            .filter(|(e, y)| usable(**e) && **e > 0.0 && usable(**y))
            .map(|(e, y)| (*e, *y))
            .collect();
        c.sort_by(|a, b| a.0.total_cmp(&b.0));
        curves[k] = c;
    }

    // y: all points and the target, plus the limits where they stay in a sensible window.
    let core_hi = r_hi.max(1.0) * 1.1;
    let limit_hi = curves[3]
        .iter()
        .filter(|(e, _)| *e >= x.0 && *e <= x.1)
        .map(|(_, y)| *y)
        .fold(0.0, f64::max)
        .min(core_hi * 1.6);
    let y_hi = core_hi.max(limit_hi * 1.03);
    let y_lo = if r_lo < 0.0 { r_lo * 1.1 } else { 0.0 };
    if r_hi > LOG_Y_ABOVE && r_lo >= 0.0 {
        // Plot log10(O/E); an O/E of 0 sits on the floor, below the smallest positive one.
        let min_pos = pts
            .iter()
            .map(|p| p.2)
            .filter(|r| *r > 0.0)
            .fold(1.0, f64::min);
        let floor = (min_pos / 1.5).clamp(1e-3, 0.5);
        let l = |v: f64| v.max(floor).log10();
        let points = pts
            .into_iter()
            .map(|(a, e, r, h)| (a, e, l(r), h))
            .collect();
        let curves = curves.map(|c| {
            c.into_iter()
                .filter(|(_, y)| *y >= floor)
                .map(|(e, y)| (e, y.log10()))
                .collect()
        });
        return Some(Prepared {
            points,
            curves,
            x,
            y: (floor.log10(), (r_hi * 1.4).log10()),
            log,
            log_y: true,
        });
    }
    Some(Prepared {
        points: pts,
        curves,
        x,
        y: (y_lo, y_hi),
        log,
        log_y: false,
    })
}

fn draw(
    root: &Area<'_>,
    (left, top, right, bottom): (i32, i32, i32, i32),
    p: &Prepared,
    x_label: &str,
    y_label: &str,
) -> DrawResult {
    let any_highlight = p.points.iter().any(|q| q.3);
    let mut legend = vec![
        LegendItem {
            label: TARGET.into(),
            swatch: Swatch::Line {
                color: INK,
                dashed: false,
            },
        },
        LegendItem {
            label: LIMIT95.into(),
            swatch: Swatch::Line {
                color: LIMIT_COLOR,
                dashed: true,
            },
        },
        LegendItem {
            label: LIMIT998.into(),
            swatch: Swatch::Line {
                color: LIMIT_COLOR,
                dashed: false,
            },
        },
    ];
    if any_highlight {
        legend.push(LegendItem {
            label: FLAGGED.into(),
            swatch: Swatch::Dot(ACCENT),
        });
    }
    let lh = legend_height(&legend, left + 16, right - 16);
    draw_legend(root, &legend, left + 16, right - 16, top)?;
    let (_, lower) = root.split_vertically(top + lh);
    let _ = bottom;

    let linear = tick_formatter(p.y.0, p.y.1);
    let log_y = p.log_y;
    let yfmt = move |v: &f64| {
        if log_y {
            fmt_sig(10f64.powf(*v))
        } else {
            linear(v)
        }
    };
    let y_label = if log_y {
        format!("{y_label} 对数 log")
    } else {
        y_label.to_string()
    };
    let y_label = y_label.as_str();
    // On a log axis one tick a decade.
    let y_ticks = if log_y {
        ((p.y.1 - p.y.0).ceil() as usize + 1).clamp(3, 7)
    } else {
        7
    };
    let y_area = y_label_area(&[yfmt(&p.y.0), yfmt(&p.y.1)], !y_label.is_empty());
    let x_area =
        super::common::text_size("0", TICK_PT).1 + super::common::text_size("国", DESC_PT).1 + 24;
    let mut builder = ChartBuilder::on(&lower);
    builder
        .margin_top(6)
        .margin_right(24)
        .margin_bottom(8)
        .margin_left(12)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area);

    // The log and linear charts have different coordinate types; the drawing is shared through
    // a closure over "data → pixel" and "data → plotted x" maps.
    if p.log {
        let mut chart = builder.build_cartesian_2d((p.x.0..p.x.1).log_scale(), p.y.0..p.y.1)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .y_labels(y_ticks)
            .x_label_formatter(&|v| fmt_sig(*v))
            .y_label_formatter(&yfmt)
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style(font::text(TICK_PT, &MUTED))
            .axis_desc_style(font::text(DESC_PT, &INK))
            .bold_line_style(grid())
            .light_line_style(TRANSPARENT)
            .axis_style(axis())
            .draw()?;
        let to_px = |x: f64, y: f64| chart.backend_coord(&(x, y));
        marks(root, p, &to_px, f64::ln, f64::exp)
    } else {
        let mut chart = builder.build_cartesian_2d(
            RangedCoordf64::from(p.x.0..p.x.1),
            RangedCoordf64::from(p.y.0..p.y.1),
        )?;
        let xfmt = tick_formatter(p.x.0, p.x.1);
        chart
            .configure_mesh()
            .x_labels(8)
            .y_labels(y_ticks)
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
        let to_px = |x: f64, y: f64| chart.backend_coord(&(x, y));
        marks(root, p, &to_px, |x| x, |x| x)
    }
}

/// Limits, target, points and labels, drawn in pixel space on the root area.
fn marks(
    root: &Area<'_>,
    p: &Prepared,
    to_px: &dyn Fn(f64, f64) -> (i32, i32),
    fwd: fn(f64) -> f64,
    back: fn(f64) -> f64,
) -> DrawResult {
    let (l, t) = to_px(p.x.0, p.y.1);
    let (r, b) = to_px(p.x.1, p.y.0);
    let xr = (fwd(p.x.0), fwd(p.x.1));

    // Target line (O/E = 1: log10 1 = 0 on a log axis).
    let target = if p.log_y { 0.0 } else { 1.0 };
    if p.y.0 <= target && target <= p.y.1 {
        let (x0, y1) = to_px(p.x.0, target);
        let (x1, _) = to_px(p.x.1, target);
        root.draw(&PathElement::new(
            vec![(x0, y1), (x1, y1)],
            INK.stroke_width(2),
        ))?;
    }
    // Limits: clip in plotted space so curves leaving the window end at its edge.
    for (k, curve) in p.curves.iter().enumerate() {
        let plotted: Vec<(f64, f64)> = curve.iter().map(|(e, y)| (fwd(*e), *y)).collect();
        for run in clip_polyline(&plotted, xr, p.y) {
            let px: Vec<(i32, i32)> = run.iter().map(|(x, y)| to_px(back(*x), *y)).collect();
            if k < 2 {
                root.draw(&DashedPathElement::new(
                    px,
                    7,
                    5,
                    LIMIT_COLOR.stroke_width(2),
                ))?;
            } else {
                root.draw(&PathElement::new(px, LIMIT_COLOR.stroke_width(2)))?;
            }
        }
    }
    // Points: plain first, highlighted on top.
    for q in p.points.iter().filter(|q| !q.3) {
        root.draw(&Circle::new(to_px(q.1, q.2), 4, GREY.mix(0.75).filled()))?;
    }
    let highlighted: Vec<&(String, f64, f64, bool)> = p.points.iter().filter(|q| q.3).collect();
    let mut obstacles = Vec::new();
    for q in &highlighted {
        let (x, y) = to_px(q.1, q.2);
        root.draw(&Circle::new((x, y), 6, ACCENT.filled()))?;
        root.draw(&Circle::new((x, y), 6, INK.stroke_width(1)))?;
        obstacles.push((x - 6, y - 6, x + 6, y + 6));
    }
    let mut placer = LabelPlacer::new((l + 2, t + 2, r - 2, b - 2), obstacles);
    for q in &highlighted {
        draw_point_label(root, &mut placer, &q.0, to_px(q.1, q.2), 6, &INK)?;
    }
    Ok(())
}
