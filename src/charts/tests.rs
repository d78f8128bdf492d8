//! Tests over the public chart functions: SVG shape, escaping, Chinese text, no-data fallback,
//! determinism and robustness against hostile numbers.

use super::*;

const SIZE: Size = Size {
    width: 800,
    height: 500,
};
const SCRIPT: &str = "<script>alert(1)</script>";
const SCRIPT_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";

/// Checks the SVG is one balanced element tree rooted at `<svg>`: every opened tag is closed in
/// order, nothing follows the root. Text between tags must not contain a raw `<`.
fn assert_well_formed(svg: &str) {
    assert!(
        svg.starts_with("<svg "),
        "does not start with <svg: {}",
        &svg[..svg.len().min(80)]
    );
    assert!(svg.contains("viewBox=\"0 0 "), "no viewBox");
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = svg;
    let mut closed_root = false;
    while let Some(start) = rest.find('<') {
        assert!(!closed_root, "content after </svg>");
        let end = rest[start..].find('>').expect("unterminated tag") + start;
        let tag = &rest[start + 1..end];
        assert!(!tag.contains('<'), "raw '<' inside a tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name.trim()), "mismatched </{name}>");
            closed_root = stack.is_empty();
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap_or("");
            stack.push(name);
        }
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert!(closed_root, "no closing </svg>");
    assert!(rest.trim().is_empty());
}

fn funnel_limits() -> FunnelLimitsCurve {
    let expected: Vec<f64> = (0..60)
        .map(|i| 10f64.powf(-0.5 + i as f64 * 0.06))
        .collect();
    let band = |z: f64| -> Vec<f64> {
        expected
            .iter()
            .map(|e| (1.0 + z / e.sqrt()).max(0.0))
            .collect()
    };
    FunnelLimitsCurve {
        lower95: band(-1.96),
        upper95: band(1.96),
        lower998: band(-3.09),
        upper998: band(3.09),
        expected,
    }
}

fn fp(label: &str, expected: f64, ratio: f64, highlight: bool) -> FunnelPoint {
    FunnelPoint {
        label: label.into(),
        expected,
        ratio,
        highlight,
    }
}

/// One call of every chart with ordinary data, all text set to `text`.
fn every_chart(text: &str) -> Vec<(&'static str, String)> {
    let cats: Vec<String> = vec![text.into(), "二级 secondary".into(), "一级".into()];
    vec![
        (
            "stacked_bars",
            stacked_bars(
                text,
                &[text, "CC"],
                &[
                    StackedBar {
                        label: text.into(),
                        parts: vec![3.0, 2.0],
                    },
                    StackedBar {
                        label: "中心医院".into(),
                        parts: vec![1.0, 4.0],
                    },
                ],
                text,
                SIZE,
            ),
        ),
        (
            "funnel",
            funnel(
                text,
                &[
                    fp(text, 50.0, 1.5, true),
                    fp("b", 20.0, 0.9, false),
                    fp("c", 500.0, 1.02, false),
                ],
                &funnel_limits(),
                text,
                text,
                SIZE,
            ),
        ),
        (
            "histogram",
            histogram(
                text,
                &[0.0, 0.5, 1.0, 1.5, 2.0],
                &[
                    (text, vec![1.0, 5.0, 3.0, 1.0]),
                    ("peers", vec![2.0, 4.0, 2.0, 2.0]),
                ],
                &[(text, 0.4), ("高倍率 high 2.0", 2.0)],
                text,
                text,
                SIZE,
            ),
        ),
        (
            "lines",
            lines(
                text,
                &cats,
                &[
                    (text, vec![1.0, f64::NAN, 3.0]),
                    ("peers", vec![2.0, 2.0, 2.5]),
                ],
                text,
                SIZE,
            ),
        ),
        (
            "bubbles",
            bubbles(
                text,
                &[
                    Bubble {
                        label: text.into(),
                        x: 0.0,
                        y: 1.0,
                        size: 100.0,
                    },
                    Bubble {
                        label: "簇2".into(),
                        x: 1.0,
                        y: -1.0,
                        size: 30.0,
                    },
                ],
                text,
                text,
                SIZE,
            ),
        ),
        (
            "grouped_bars",
            grouped_bars(
                text,
                &cats,
                &[(text, vec![0.5, 0.6, 0.7]), ("MCC", vec![0.2, -0.1, 0.1])],
                text,
                SIZE,
            ),
        ),
    ]
}

#[test]
fn every_chart_is_a_well_formed_scalable_svg() {
    for (name, svg) in every_chart("图表 chart") {
        assert_well_formed(&svg);
        assert!(
            svg.contains("style=\"max-width:100%;height:auto\""),
            "{name}"
        );
        assert!(!svg.contains(NO_DATA), "{name} fell back to no data");
    }
}

#[test]
fn chinese_title_is_kept_verbatim() {
    let title = "低倍率病例占比 share of low-multiplier cases";
    for (name, svg) in every_chart(title) {
        assert!(
            svg.contains(&format!("<title>{title}</title>")),
            "{name}: <title>"
        );
        // Drawn as text too (title, and the axis/legend texts that reuse it).
        assert!(svg.matches(title).count() >= 3, "{name}: drawn text");
        assert!(!svg.contains('\u{FFFD}'), "{name}: replacement character");
    }
}

#[test]
fn markup_in_labels_is_escaped() {
    for (name, svg) in every_chart(SCRIPT) {
        assert_well_formed(&svg);
        assert!(!svg.contains("<script"), "{name}: raw markup");
        // Title element, title text, and at least one label/legend/axis use.
        assert!(
            svg.matches(SCRIPT_ESCAPED).count() >= 3,
            "{name}: escaped text missing"
        );
    }
    let svg = stacked_bars("a & b \"q\"", &[], &[], "", SIZE);
    assert!(svg.contains("a &amp; b"), "ampersand");
    assert!(!svg.contains("a & b"));
}

#[test]
fn funnel_labels_only_highlighted_points() {
    let points = [
        fp("医院甲", 30.0, 1.0, false),
        fp("仁爱医院", 120.0, 1.8, true),
        fp("医院乙", 400.0, 0.95, false),
        fp("医院丙", 900.0, 1.01, false),
    ];
    let svg = funnel(
        "漏斗图",
        &points,
        &funnel_limits(),
        "预期 expected",
        "O/E",
        SIZE,
    );
    assert_well_formed(&svg);
    assert!(svg.contains("仁爱医院"));
    for hidden in ["医院甲", "医院乙", "医院丙"] {
        assert!(!svg.contains(hidden), "{hidden} should not be labelled");
    }
    // All four points are drawn: three grey and one accent circle (plus its outline).
    assert_eq!(
        svg.matches("<circle").count(),
        3 + 2 + 1,
        "3 plain + highlighted fill/outline + legend dot"
    );
}

#[test]
fn funnel_switches_to_log_scale_for_wide_ranges() {
    let narrow = funnel(
        "t",
        &[fp("a", 10.0, 1.0, false), fp("b", 200.0, 1.0, false)],
        &funnel_limits(),
        "x",
        "y",
        SIZE,
    );
    let wide = funnel(
        "t",
        &[fp("a", 2.0, 1.0, false), fp("b", 2000.0, 1.0, false)],
        &funnel_limits(),
        "x",
        "y",
        SIZE,
    );
    // A linear axis over 0..~210 has a tick at 50; the log axis has decades.
    assert!(narrow.contains("\n50\n") && !narrow.contains("\n1000\n"));
    assert!(wide.contains("\n10\n") && wide.contains("\n100\n") && wide.contains("\n1000\n"));
    assert!(!wide.contains("\n500\n"));
}

#[test]
fn empty_or_unusable_input_gives_the_no_data_chart() {
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    let cases = [
        stacked_bars("空 empty", &["a"], &[], "x", SIZE),
        stacked_bars(
            "空 empty",
            &["a"],
            &[StackedBar {
                label: "x".into(),
                parts: vec![nan, inf],
            }],
            "x",
            SIZE,
        ),
        funnel(
            "空 empty",
            &[],
            &FunnelLimitsCurve::default(),
            "x",
            "y",
            SIZE,
        ),
        funnel(
            "空 empty",
            &[
                fp("a", nan, 1.0, true),
                fp("b", 0.0, 1.0, true),
                fp("c", 5.0, inf, true),
            ],
            &funnel_limits(),
            "x",
            "y",
            SIZE,
        ),
        histogram("空 empty", &[], &[], &[], "x", "y", SIZE),
        histogram(
            "空 empty",
            &[0.0, 1.0],
            &[("a", vec![nan])],
            &[("t", 0.5)],
            "x",
            "y",
            SIZE,
        ),
        histogram(
            "空 empty",
            &[nan, nan],
            &[("a", vec![1.0])],
            &[],
            "x",
            "y",
            SIZE,
        ),
        lines("空 empty", &[], &[], "y", SIZE),
        lines(
            "空 empty",
            &["1月".into()],
            &[("a", vec![nan, inf])],
            "y",
            SIZE,
        ),
        bubbles("空 empty", &[], "x", "y", SIZE),
        grouped_bars("空 empty", &[], &[("a", vec![nan])], "y", SIZE),
    ];
    for svg in &cases {
        assert_well_formed(svg);
        assert!(svg.contains(NO_DATA), "no-data note missing");
        assert!(svg.contains("空 empty"), "title missing");
    }
}

#[test]
fn output_is_deterministic() {
    let a = every_chart("确定性 deterministic");
    let b = every_chart("确定性 deterministic");
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert_eq!(x, y, "{name}");
    }
}

#[test]
fn stacked_bars_draw_one_rect_per_part() {
    let bars: Vec<StackedBar> = (0..3)
        .map(|i| StackedBar {
            label: format!("医院{i}"),
            parts: vec![1.0 + i as f64, 2.0],
        })
        .collect();
    let svg = stacked_bars("构成", &["甲", "乙"], &bars, "病例数", SIZE);
    let rects = svg.matches("<rect").count();
    // Background + 2 legend swatches + 3 bars × 2 parts.
    assert_eq!(rects, 1 + 2 + 6);
    // Each series colour: one legend swatch + three segments.
    assert_eq!(svg.matches("fill=\"#0072B2\"").count(), 4);
    assert_eq!(svg.matches("fill=\"#E69F00\"").count(), 4);
    // Top bar first: the first bar's label is drawn above (smaller y) the last one's.
    let y_of = |label: &str| -> i32 {
        let at = svg.find(&format!("\n{label}\n")).expect("label drawn");
        let tag = &svg[svg[..at].rfind("<text").unwrap()..at];
        let y = tag.split("y=\"").nth(1).unwrap();
        y[..y.find('"').unwrap()].parse().unwrap()
    };
    assert!(y_of("医院0") < y_of("医院2"));
}

#[test]
fn lines_break_at_nan() {
    let svg = lines(
        "断点 gaps",
        &["1".into(), "2".into(), "3".into(), "4".into(), "5".into()],
        &[("a", vec![1.0, 2.0, f64::NAN, 3.0, 4.0])],
        "y",
        SIZE,
    );
    // Two runs of the first series colour, plus its legend sample.
    let runs = svg
        .match_indices("<polyline")
        .filter(|(i, _)| {
            svg[*i..]
                .split('>')
                .next()
                .unwrap()
                .contains("stroke=\"#0072B2\"")
        })
        .count();
    assert_eq!(runs, 2 + 1);
}

#[test]
fn histogram_labels_thresholds() {
    let svg = histogram(
        "分布",
        &[0.0, 1.0, 2.0, 3.0],
        &[("本院", vec![1.0, 2.0, 1.0])],
        &[("低倍率 low 0.4", 0.4), ("高倍率 high 2.0", 2.0)],
        "倍率",
        "病例",
        SIZE,
    );
    assert!(svg.contains("低倍率 low 0.4") && svg.contains("高倍率 high 2.0"));
}

#[test]
fn hostile_numbers_and_sizes_do_not_panic() {
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    let weird = [
        0.0,
        -1.0,
        nan,
        inf,
        -inf,
        1e300,
        -1e300,
        1e-300,
        f64::MAX,
        5.0,
    ];
    let tiny = Size {
        width: 0,
        height: 0,
    };
    let huge = Size {
        width: u32::MAX,
        height: 1,
    };
    for size in [tiny, huge, SIZE] {
        let bars: Vec<StackedBar> = weird
            .iter()
            .map(|v| StackedBar {
                label: "\u{0}\n".into(),
                parts: vec![*v, -*v],
            })
            .collect();
        let points: Vec<FunnelPoint> = weird
            .iter()
            .flat_map(|e| weird.iter().map(move |r| fp("x", *e, *r, true)))
            .collect();
        let limits = FunnelLimitsCurve {
            expected: weird.to_vec(),
            lower95: weird.to_vec(),
            upper95: weird.to_vec(),
            lower998: vec![],
            upper998: weird.iter().rev().copied().collect(),
        };
        let bubbles_in: Vec<Bubble> = weird
            .iter()
            .map(|v| Bubble {
                label: "b".into(),
                x: *v,
                y: -*v,
                size: *v,
            })
            .collect();
        let labels: Vec<String> = vec!["a".into(); 3];
        let outputs = [
            stacked_bars("t", &[], &bars, "", size),
            funnel("t", &points, &limits, "", "", size),
            funnel("t", &[fp("one", 1.0, 1.0, true)], &limits, "", "", size),
            histogram(
                "t",
                &weird,
                &[("a", weird.to_vec())],
                &[("t", inf), ("u", 1e300)],
                "",
                "",
                size,
            ),
            histogram(
                "t",
                &[3.0, 2.0, 1.0],
                &[("a", vec![1.0, 1.0])],
                &[],
                "",
                "",
                size,
            ),
            lines(
                "t",
                &labels,
                &[("a", weird.to_vec()), ("b", vec![])],
                "",
                size,
            ),
            lines("t", &labels, &[("a", vec![7.0, 7.0, 7.0])], "", size),
            bubbles("t", &bubbles_in, "", "", size),
            bubbles("t", &bubbles_in[..1], "", "", size),
            grouped_bars("t", &labels, &[("a", weird.to_vec())], "", size),
            grouped_bars("t", &[], &[("a", vec![0.0, 0.0])], "", size),
        ];
        for svg in &outputs {
            assert_well_formed(svg);
        }
    }
    let svg = lines(
        "t",
        &[],
        &[("a", vec![1.0])],
        "",
        Size {
            width: 0,
            height: 0,
        },
    );
    assert!(svg.contains("viewBox=\"0 0 240 160\""));
}
