//! Layout properties over many figures: every text box inside its canvas and clear of every
//! other, legends off the data, long titles kept inside.

use super::*;

fn sp() -> Vec<f64> {
    vec![0.0, 0.2, 0.36, 0.49, 0.59, 0.67, 0.74, 0.79, 0.83, 0.87]
}

fn wavy(i: usize) -> impl Fn(f64) -> f64 {
    move |x| 0.5 + 0.3 * ((i as f64 + 1.0) * x).sin() * (1.0 - x)
}

/// Panels chosen to stress the layout: long titles and labels, crowded sweet spots, a right
/// axis, bands, reference and chance lines, tiny and huge value ranges.
fn stress_panels() -> Vec<Axes> {
    let mut panels = Vec::new();
    for i in 0..6 {
        let f = wavy(i);
        let mut axes = Axes::new(
            format!("experiment-with-a-long-name-{i}: shape bias against sparsity (cue-conflict), seeds 0-4"),
            "sparsity (share of prunable weights removed)",
            "accuracy on the held-out validation split (95% bootstrap band)",
        )
        .with_x_format(TickFormat::Percent)
        .with_y_format(TickFormat::Percent)
        .with_series(Series::new("top-1", sp().into_iter().map(|x| (x, f(x)))))
        .with_band(Band::new(
            "top-1",
            sp().into_iter().map(|x| (x, f(x) - 0.05, f(x) + 0.05)),
        ))
        .with_series(Series::new("top-5", sp().into_iter().map(|x| (x, f(x) + 0.2))).dashed())
        .with_reference_line(f(0.0), "dense top-1")
        .with_chance_line(1.0 / 16.0, "chance (1/16)");
        for (k, &x) in sp().iter().enumerate().skip(1) {
            axes = axes.with_highlight(Highlight::new(x, f(x)).labeled(format!("round {k}*")));
        }
        if i % 2 == 1 {
            axes = axes.with_secondary(
                SecondaryAxis::new("validation top-1 accuracy")
                    .with_y_format(TickFormat::Percent)
                    .with_series(Series::new(
                        "top-1 (val)",
                        sp().into_iter().map(|x| (x, 0.7 - 0.3 * x)),
                    )),
            );
        }
        if i == 4 {
            axes = axes.with_y_format(TickFormat::Plain);
            for s in &mut axes.series {
                for p in &mut s.points {
                    p.1 *= 1e7;
                }
            }
            axes.bands.clear();
            axes.reference_lines.clear();
        }
        panels.push(axes);
    }
    panels
}

fn assert_clean(scene: &Scene, what: &str) {
    let problems = scene.text_layout_problems();
    assert!(problems.is_empty(), "{what}: {problems:#?}");
}

#[test]
fn no_text_leaves_the_canvas_or_overlaps_other_text() {
    for (w, h) in [(800, 520), (640, 440), (400, 300), (300, 220)] {
        for (i, axes) in stress_panels().into_iter().enumerate() {
            let fig = Figure::single(axes).with_panel_size(w, h);
            assert_clean(&fig.scene(), &format!("panel {i} at {w}x{h}"));
        }
    }
    let grid = Figure::grid(stress_panels(), 4).with_title(
        "an overall title far longer than any figure would ever carry, repeated: ".repeat(3),
    );
    assert_clean(&grid.scene(), "grid");
    // For looking at: the stress panels as a figure.
    let _ = grid.save(&std::env::temp_dir().join("plot_stress.png"));
    let empty = Figure::grid(vec![Axes::new("nothing", "x", "y"); 3], 3).with_title("t");
    assert_clean(&empty.scene(), "empty panels");
}

#[test]
fn long_titles_shrink_then_shorten_inside_the_panel() {
    let title = "a title that is much too long for a small panel of three hundred pixels";
    let axes =
        Axes::new(title, "x", "y").with_series(Series::new("s", vec![(0.0, 0.0), (1.0, 1.0)]));
    let scene = axes.scene(300, 220, 1);
    let (text, rect) = scene.text_boxes()[0..]
        .iter()
        .copied()
        .find(|t| t.0.starts_with("a title"))
        .unwrap();
    assert!(text.ends_with('…'), "{text}");
    assert!(rect.x0 >= 0 && rect.x1 <= 300, "{rect:?}");
    let short = Axes::new("short", "x", "y").scene(300, 220, 1);
    assert!(short.text_boxes().iter().any(|t| t.0 == "short"));
}

/// Boxes of the legend's labels in a rendered panel.
fn legend_boxes(scene: &Scene, labels: &[&str]) -> Vec<PixelRect> {
    scene
        .text_boxes()
        .into_iter()
        .filter(|t| labels.contains(&t.0))
        .map(|t| t.1)
        .collect()
}

#[test]
fn the_legend_sits_on_free_space_or_below_the_plot() {
    // Data only along the bottom: the legend fits top-right, inside the plot.
    let low = Axes::new("t", "x", "y")
        .with_y_range(0.0, 1.0)
        .with_series(Series::new("low", vec![(0.0, 0.05), (1.0, 0.1)]));
    let area = low.frame(800, 520, 2).area;
    let boxes = legend_boxes(&low.scene(800, 520, 2), &["low"]);
    assert_eq!(boxes.len(), 1);
    assert!(
        area.overlaps(&boxes[0]) && boxes[0].x0 > area.x0 + area.width() / 2,
        "{boxes:?}"
    );
    // Lines through every corner and edge: no free spot, so the legend goes under the axis
    // label and the plot shrinks to make room.
    let mut busy = Axes::new("t", "sparsity", "y").with_y_range(0.0, 1.0);
    for k in 0..=10 {
        let y = k as f64 / 10.0;
        busy = busy.with_series(Series::new(format!("s{k}"), vec![(0.0, y), (1.0, y)]));
    }
    let scene = busy.scene(800, 520, 2);
    let names: Vec<String> = (0..=10).map(|k| format!("s{k}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let boxes = legend_boxes(&scene, &names);
    let x_label = scene
        .text_boxes()
        .into_iter()
        .find(|t| t.0 == "sparsity")
        .unwrap()
        .1;
    assert_eq!(boxes.len(), 11);
    assert!(
        boxes.iter().all(|b| b.y0 >= x_label.y1),
        "{boxes:?} under {x_label:?}"
    );
    assert_clean(&scene, "legend below");
}

#[test]
fn chance_lines_are_dotted_and_in_the_legend() {
    let axes = Axes::new("t", "x", "y")
        .with_y_range(0.0, 1.0)
        .with_series(Series::new("acc", vec![(0.0, 0.9), (1.0, 0.8)]))
        .with_chance_line(0.5, "chance");
    let scene = axes.scene(800, 520, 2);
    assert!(scene.text_boxes().iter().any(|t| t.0 == "chance"));
    let dotted = scene.items.iter().any(|i| matches!(i, Item::Shapes { shapes, .. }
        if shapes.iter().any(|s| matches!(s, Shape::Polyline { dash: Some([on, _]), .. } if *on <= 1.0))));
    assert!(dotted);
}
