//! Figure-level tests: layout arithmetic, data-to-pixel mapping, and pixels
//! landing where the mapping says; plus the two example figures written to
//! the temp directory for visual inspection.

use super::*;

const RED: [u8; 3] = [200, 0, 0];

fn px(img: &RgbImage, p: (f64, f64)) -> [u8; 3] {
    img.get_pixel(p.0.floor() as u32, p.1.floor() as u32).0
}

fn fixed_axes() -> Axes {
    Axes::new("title", "x", "y")
        .with_x_range(0.0, 1.0)
        .with_y_range(0.0, 10.0)
        .with_legend(LegendPosition::Hidden)
}

#[test]
fn frame_maps_range_corners_to_area_corner_pixels() {
    for (w, h, s) in [(800, 520, 2), (400, 300, 1), (123, 97, 1)] {
        let f = fixed_axes().frame(w, h, s);
        let a = f.area;
        assert!(
            a.x0 > 0 && a.y0 > 0 && a.x1 < w as i32 && a.y1 < h as i32,
            "{a:?}"
        );
        assert_eq!(f.to_pixel(0.0, 0.0), (a.x0 as f64 + 0.5, a.y1 as f64 - 0.5));
        assert_eq!(
            f.to_pixel(1.0, 10.0),
            (a.x1 as f64 - 0.5, a.y0 as f64 + 0.5)
        );
        assert_eq!(
            f.to_pixel(0.0, 10.0),
            (a.x0 as f64 + 0.5, a.y0 as f64 + 0.5)
        );
        assert_eq!(f.to_pixel(1.0, 0.0), (a.x1 as f64 - 0.5, a.y1 as f64 - 0.5));
        let mid = f.to_pixel(0.5, 5.0);
        assert!((mid.0 - (a.x0 + a.x1) as f64 / 2.0).abs() < 1e-9);
        assert!((mid.1 - (a.y0 + a.y1) as f64 / 2.0).abs() < 1e-9);
    }
}

#[test]
fn line_pixels_land_where_the_mapping_says() {
    let axes = fixed_axes().with_series(
        Series::new("s", vec![(0.0, 0.0), (1.0, 10.0)])
            .with_color(RED)
            .with_markers(false),
    );
    let f = axes.frame(800, 520, 2);
    let img = axes.render(800, 520, 2);
    for t in [0.1, 0.33, 0.5, 0.77, 0.9] {
        assert_eq!(px(&img, f.to_pixel(t, 10.0 * t)), RED, "t = {t}");
    }
    // Well off the line the background (or a grid line) shows.
    assert_ne!(px(&img, f.to_pixel(0.2, 8.0)), RED);
}

#[test]
fn non_finite_points_break_the_line_without_panicking() {
    let pts = vec![
        (0.0, 0.0),
        (0.25, 2.5),
        (0.5, f64::NAN),
        (0.75, 7.5),
        (f64::INFINITY, 9.0),
        (1.0, 10.0),
    ];
    let axes = fixed_axes().with_series(Series::new("s", pts).with_color(RED).with_markers(false));
    let f = axes.frame(800, 520, 2);
    let img = axes.render(800, 520, 2);
    assert_eq!(px(&img, f.to_pixel(0.1, 1.0)), RED);
    assert_ne!(
        px(&img, f.to_pixel(0.5, 5.0)),
        RED,
        "the gap at the NaN point"
    );
    assert_eq!(
        px(&img, f.to_pixel(0.75, 7.5)),
        RED,
        "an isolated point still shows"
    );
    assert_ne!(
        px(&img, f.to_pixel(0.9, 9.0)),
        RED,
        "the infinite x breaks the line too"
    );
    assert_eq!(px(&img, f.to_pixel(1.0, 10.0)), RED);
    // Series made only of garbage, and automatic ranges around them.
    let garbage = Axes::new("g", "x", "y").with_series(Series::new(
        "nan",
        vec![(f64::NAN, 1.0), (1.0, f64::NEG_INFINITY)],
    ));
    let _ = Figure::single(garbage).render();
}

#[test]
fn empty_axes_say_no_data() {
    let scene = Axes::new("nothing", "x", "y").scene(400, 300, 1);
    let img = scene.to_png();
    assert_eq!(img.dimensions(), (400, 300));
    let (_, rect) = scene
        .text_boxes()
        .into_iter()
        .find(|t| t.0 == "no data")
        .unwrap();
    let inked = img
        .enumerate_pixels()
        .filter(|(x, y, p)| rect.contains_point(*x as f64, *y as f64) && p.0[0] < 200)
        .count();
    assert!(inked > 20, "'no data' text drawn: {inked}");
    // Tiny panels and zero-size panels do not panic either.
    let _ = Axes::new("t", "x", "y")
        .with_series(Series::new("a", vec![(0.0, 1.0)]))
        .render(10, 10, 2);
    let _ = Axes::default().render(0, 0, 1);
}

#[test]
fn extreme_values_do_not_panic() {
    let cases: [Vec<(f64, f64)>; 5] = [
        vec![(-1e308, -1e308), (1e308, 1e308)],
        vec![(1e300, 1.0), (1e300 + 1e285, 2.0)],
        vec![(5e-324, 0.0), (1e-323, 1e-323)],
        vec![(1e19, 1.0), (1e19 + 1e4, 1.0)],
        vec![(0.0, f64::MAX), (1.0, f64::MIN)],
    ];
    for pts in cases {
        let axes = Axes::new("extreme", "x", "y")
            .with_series(Series::new("s", pts.clone()).dashed())
            .with_band(Band::new("b", pts.iter().map(|&(x, y)| (x, y, y))))
            .with_reference_line(f64::NAN, "nan ref");
        let img = Figure::single(axes).with_panel_size(300, 200).render();
        assert_eq!(img.dimensions(), (300, 200));
    }
    let zero = Figure::grid(vec![Axes::default()], 1)
        .with_panel_size(0, 0)
        .with_title("t");
    assert_eq!(zero.render().dimensions(), zero.size());
}

#[test]
fn single_point_and_constant_series_get_sensible_ranges() {
    let single =
        Axes::new("", "", "").with_series(Series::new("one", vec![(0.3, 0.5)]).with_color(RED));
    let f = single.frame(400, 300, 1);
    assert!(
        (f.x_range.0 - 0.27).abs() < 1e-12 && (f.x_range.1 - 0.33).abs() < 1e-12,
        "{f:?}"
    );
    assert!((f.y_range.0 - 0.45).abs() < 1e-12 && (f.y_range.1 - 0.55).abs() < 1e-12);
    let img = single.render(400, 300, 1);
    assert_eq!(
        px(&img, f.to_pixel(0.3, 0.5)),
        RED,
        "a lone point still shows its marker"
    );

    let constant =
        Axes::new("", "", "").with_series(Series::new("c", vec![(0.0, 0.0), (1.0, 0.0)]));
    let f = constant.frame(400, 300, 1);
    assert_eq!(f.y_range, (-1.0, 1.0));
}

#[test]
fn secondary_series_use_the_right_axis() {
    let axes = fixed_axes().with_secondary(
        SecondaryAxis::new("rma")
            .with_y_range(100.0, 200.0)
            .with_series(
                Series::new("r", vec![(0.0, 150.0), (1.0, 150.0)])
                    .with_color(RED)
                    .with_markers(false),
            ),
    );
    let f = axes.frame(800, 520, 2);
    assert_eq!(f.y2_range, Some((100.0, 200.0)));
    let img = axes.render(800, 520, 2);
    let p = f.to_pixel_secondary(0.4, 150.0);
    assert!((p.1 - (f.area.y0 + f.area.y1) as f64 / 2.0).abs() < 1e-9);
    assert_eq!(px(&img, p), RED);
}

#[test]
fn bands_highlights_and_reference_lines_are_drawn() {
    let axes = fixed_axes()
        .with_band(Band::new("ci", vec![(0.0, 2.0, 4.0), (1.0, 2.0, 4.0)]).with_color([0, 0, 255]))
        .with_reference_line(8.0, "dense")
        .with_highlight(Highlight::new(0.5, 6.0).labeled("sweet spot"));
    let f = axes.frame(800, 520, 2);
    let img = axes.render(800, 520, 2);
    let inside = px(&img, f.to_pixel(0.31, 3.07));
    assert!(
        inside[2] == 255 && inside[0] > 150 && inside[0] < 255,
        "translucent blue: {inside:?}"
    );
    assert_eq!(px(&img, f.to_pixel(0.31, 5.0)), [255; 3]);
    let on_ref = (0..f.area.width()).filter(|&dx| {
        let p = img
            .get_pixel((f.area.x0 + dx) as u32, f.to_pixel(0.0, 8.0).1 as u32)
            .0;
        p == [110, 110, 110]
    });
    let n = on_ref.count() as f64 / f.area.width() as f64;
    assert!(
        n > 0.4 && n < 0.9,
        "dashed reference line covers part of the width: {n}"
    );
    let (cx, cy) = f.to_pixel(0.5, 6.0);
    let radius = 2.5 * (1.5 + 2.0 * 2.0);
    assert_eq!(
        px(&img, (cx, cy - radius)),
        [20, 20, 20],
        "ring above the point"
    );
    assert_eq!(
        px(&img, (cx + 4.0, cy + 4.0)),
        [255; 3],
        "ring leaves the point visible"
    );
}

#[test]
fn tick_labels_never_overlap() {
    for width in [150u32, 220, 300, 400, 640, 800, 1200] {
        for (lo, hi, format) in [
            (0.0, 1.0, TickFormat::Percent),
            (0.123456, 0.123789, TickFormat::Plain),
            (-3e7, 9e8, TickFormat::Plain),
            (1.0, 1000.0, TickFormat::Plain),
        ] {
            let axes = Axes::new("t", "x", "y")
                .with_series(Series::new("s", vec![(lo, lo), (hi, hi)]))
                .with_x_format(format)
                .with_y_format(format);
            for s in [1, 2] {
                let lay = layout::layout(&axes, width, width * 2 / 3, s, 0);
                let f = lay.frame;
                let xs: Vec<(f64, f64)> = lay
                    .x_ticks
                    .values
                    .iter()
                    .zip(&lay.x_ticks.labels)
                    .map(|(&v, l)| {
                        let c = f.x_to_pixel(v);
                        let half = layout::text_w(l, s) as f64 / 2.0;
                        (c - half, c + half)
                    })
                    .collect();
                assert!(!xs.is_empty());
                assert!(
                    xs.windows(2).all(|w| w[0].1 < w[1].0),
                    "{width} {lo} {s}: {:?}",
                    lay.x_ticks
                );
                let ys: Vec<f64> = lay
                    .y_ticks
                    .values
                    .iter()
                    .map(|&v| f.to_pixel(0.0, v).1)
                    .collect();
                let th = font_size(s).ceil() as f64;
                assert!(
                    ys.windows(2).all(|w| w[0] - w[1] > th),
                    "{width} {lo} {s}: {:?}",
                    lay.y_ticks
                );
            }
        }
    }
}

#[test]
fn figure_size_arithmetic() {
    let panels: Vec<Axes> = (0..17)
        .map(|i| Axes::new(format!("p{i}"), "x", "y"))
        .collect();
    let fig = Figure::grid(panels.clone(), 5);
    assert_eq!(fig.grid_shape(), (5, 4));
    assert_eq!(fig.size(), (5 * 400, 4 * 300));
    assert_eq!(fig.render().dimensions(), fig.size());

    let titled = Figure::grid(panels, 5).with_title("Figure 6");
    let band = titled.title_band_height();
    assert!(band as f32 > font_size(2));
    assert_eq!(titled.render().dimensions(), (2000, 1200 + band));

    let wide = Figure::grid(vec![Axes::default(), Axes::default()], 4).with_panel_size(100, 80);
    assert_eq!(
        wide.render().dimensions(),
        (200, 80),
        "columns capped at panel count"
    );
    let none = Figure::grid(vec![], 3);
    assert_eq!(none.render().dimensions(), (400, 300));
    assert_eq!(
        Figure::single(Axes::default()).render().dimensions(),
        (800, 520)
    );
}

#[test]
fn save_writes_the_png_and_the_svg_beside_it() {
    let dir = std::env::temp_dir().join(format!("pvr-plot-test-{}", std::process::id()));
    let path = dir.join("nested").join("fig.png");
    let fig = Figure::single(fixed_axes()).with_panel_size(300, 200);
    fig.save(&path).unwrap();
    let back = image::open(&path).unwrap().to_rgb8();
    assert_eq!(back, fig.render());
    let svg = std::fs::read_to_string(dir.join("nested").join("fig.svg")).unwrap();
    assert!(svg.contains(r#"width="300" height="200""#) && svg.contains(r#"aria-label="title""#));
    std::fs::remove_dir_all(dir).unwrap();
}

fn sparsities() -> Vec<f64> {
    vec![0.0, 0.2, 0.36, 0.49, 0.59, 0.67, 0.74, 0.79]
}

/// The study's headline plot: accuracy and RMA against sparsity.
fn example_axes() -> Axes {
    let sp = sparsities();
    let acc = [0.842, 0.851, 0.858, 0.861, 0.855, 0.838, 0.79, 0.71];
    let acc_ci = [0.012, 0.011, 0.01, 0.01, 0.012, 0.015, 0.02, 0.026];
    let rma = [0.41, 0.425, 0.44, 0.452, 0.447, 0.43, 0.395, 0.345];
    let random = [0.842, 0.84, 0.83, 0.81, 0.78, 0.74, 0.69, 0.62];
    Axes::new(
        "ResNet-50 on ImageNet: accuracy and RMA vs sparsity",
        "sparsity",
        "top-1 accuracy",
    )
    .with_x_format(TickFormat::Percent)
    .with_y_range(0.6, 0.9)
    .with_band(Band::new(
        "IMP accuracy",
        sp.iter()
            .zip(acc.iter().zip(acc_ci))
            .map(|(&x, (&a, c))| (x, a - c, a + c)),
    ))
    .with_series(Series::new("IMP accuracy", sp.iter().copied().zip(acc)))
    .with_series(Series::new("random pruning", sp.iter().copied().zip(random)).dashed())
    .with_reference_line(0.842, "dense model")
    .with_highlight(Highlight::new(0.49, 0.861).labeled("sweet spot"))
    .with_secondary(
        SecondaryAxis::new("RMA")
            .with_y_range(0.3, 0.5)
            .with_series(Series::new("IMP RMA", sp.iter().copied().zip(rma))),
    )
}

#[test]
fn example_figures_render() {
    let fig = Figure::single(example_axes());
    let img = fig.render();
    assert_eq!(img.dimensions(), (800, 520));
    img.save(std::env::temp_dir().join("plot_example.png"))
        .unwrap();

    let names = [
        "Accuracy",
        "RMA",
        "ECE",
        "NLL",
        "Brier",
        "OOD AUROC",
        "Corr. acc.",
        "kNN acc.",
        "Linear probe",
        "CKA",
        "Calib. slope",
        "Shape bias",
        "LOST CorLoc",
        "Attr. IoU",
        "Sparsity-robust",
        "Adv. acc.",
        "Fairness gap",
    ];
    let panels: Vec<Axes> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let f = |x: f64| 0.5 + 0.3 * ((i as f64 + 1.0) * x).sin() * (1.0 - x) + 0.02 * i as f64;
            let mut axes = Axes::new(*name, "sparsity", "value")
                .with_x_format(TickFormat::Percent)
                .with_series(Series::new(
                    "IMP",
                    sparsities().into_iter().map(|x| (x, f(x))),
                ))
                .with_series(
                    Series::new(
                        "random",
                        sparsities().into_iter().map(|x| (x, f(x) - 0.1 * x)),
                    )
                    .dashed(),
                )
                .with_reference_line(f(0.0), "dense");
            if i == 3 {
                axes.series[0].points[4].1 = f64::NAN;
            }
            if i == 16 {
                axes = Axes::new(*name, "sparsity", "value");
            }
            axes
        })
        .collect();
    let fig = Figure::grid(panels, 5).with_title("Figure 6: metrics against sparsity");
    let img = fig.render();
    assert_eq!(img.dimensions(), fig.size());
    img.save(std::env::temp_dir().join("plot_panels.png"))
        .unwrap();
}

#[test]
fn seeds_are_drawn_faintly_and_their_mean_boldly() {
    // Three seeds' curves and their mean, as the verdict's figure draws them.
    let mut axes = Axes::new("title", "x", "y")
        .with_x_range(0.0, 1.0)
        .with_y_range(0.0, 10.0);
    for seed in 0..3 {
        let shift = seed as f64;
        axes = axes.with_series(
            Series::new(
                if seed == 0 { "each seed" } else { "" },
                vec![(0.0, 2.0 + shift), (0.5, 4.0 + shift), (1.0, 3.0 + shift)],
            )
            .with_color(RED)
            .faint(),
        );
    }
    axes = axes.with_series(
        Series::new(
            "mean over 3 seeds",
            vec![(0.0, 3.0), (0.5, 5.0), (1.0, 4.0)],
        )
        .with_color(RED)
        .bold(),
    );
    let scene = axes.scene(800, 520, 2);
    let lines: Vec<([u8; 3], f64)> = scene
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Shapes { shapes, color, .. } => shapes.iter().find_map(|s| match s {
                Shape::Polyline { points, width, .. } if points.len() == 3 => {
                    Some((*color, *width))
                }
                _ => None,
            }),
            _ => None,
        })
        .collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    let light = LineWeight::Faint.tint(RED);
    assert!(
        light.iter().zip(RED).all(|(l, r)| *l > r || r == 255),
        "{light:?}"
    );
    let (faint, bold) = (&lines[..3], lines[3]);
    assert!(faint.iter().all(|&(color, _)| color == light), "{lines:?}");
    assert_eq!(bold.0, RED);
    // The mean is three times as thick as each seed's line.
    assert!((bold.1 / faint[0].1 - 3.0).abs() < 1e-9, "{lines:?}");
    // Faint lines carry no markers; the mean does; the legend names both once.
    let markers = scene
        .items
        .iter()
        .filter(|item| {
            matches!(item, Item::Shapes { shapes, .. }
            if shapes.iter().all(|s| !matches!(s, Shape::Polyline { .. })) && shapes.len() == 3)
        })
        .count();
    assert!(markers >= 1);
    let texts: Vec<&str> = scene.text_boxes().iter().map(|t| t.0).collect();
    assert!(
        texts.contains(&"each seed") && texts.contains(&"mean over 3 seeds"),
        "{texts:?}"
    );
    assert!(
        scene.text_layout_problems().is_empty(),
        "{:?}",
        scene.text_layout_problems()
    );
    // Rendered, a faint line's pixels are the light tint, the mean's the full colour.
    let frame = axes.frame(800, 520, 2);
    let img = axes.render(800, 520, 2);
    assert_eq!(px(&img, frame.to_pixel(0.25, 4.0)), RED);
    let faint_px = px(&img, frame.to_pixel(0.75, 5.5));
    assert!(
        faint_px != RED && faint_px.iter().zip(light).all(|(p, l)| p.abs_diff(l) < 25),
        "{faint_px:?} vs {light:?}"
    );
}
