//! Drawing of one chart panel ([`Axes`]) into a [`Scene`].

use super::canvas::PixelRect;
use super::layout::{Layout, Metrics, PlotFrame, all_series, layout, text_w};
use super::legend::{self, LegendEntry, MarkerShape, Obstacles};
use super::scene::{Anchor, Scene, Shape, fit_text};
use super::ticks::Ticks;
use super::{Axes, LegendPosition, LineStyle, PALETTE, Series};

pub(super) const TEXT_COLOR: [u8; 3] = [25, 25, 25];
const TICK_LABEL_COLOR: [u8; 3] = [60, 60, 60];
const GRID_COLOR: [u8; 3] = [230, 230, 230];
const FRAME_COLOR: [u8; 3] = [100, 100, 100];
const REFERENCE_COLOR: [u8; 3] = [110, 110, 110];
const HIGHLIGHT_COLOR: [u8; 3] = [20, 20, 20];
const NO_DATA_COLOR: [u8; 3] = [150, 150, 150];
/// Opacity of confidence bands: light enough that lines and grid show through.
const BAND_ALPHA: f32 = 0.2;

/// A series with its colour, marker and pixel-space polyline pieces.
struct Resolved<'a> {
    series: &'a Series,
    secondary: bool,
    color: [u8; 3],
    marker: Option<MarkerShape>,
    /// Runs of consecutive finite points; non-finite points split runs.
    runs: Vec<Vec<(f64, f64)>>,
}

fn resolve<'a>(axes: &'a Axes, frame: &PlotFrame) -> Vec<Resolved<'a>> {
    let mut palette_next = 0;
    all_series(axes)
        .enumerate()
        .map(|(i, (series, secondary))| {
            let color = series.weight.tint(
                series
                    .color
                    .unwrap_or_else(|| next_color(&mut palette_next)),
            );
            let mut runs = vec![Vec::new()];
            for &(x, y) in &series.points {
                if x.is_finite() && y.is_finite() {
                    let p = if secondary {
                        frame.to_pixel_secondary(x, y)
                    } else {
                        frame.to_pixel(x, y)
                    };
                    runs.last_mut().expect("runs is never empty").push(p);
                } else if !runs.last().is_some_and(Vec::is_empty) {
                    runs.push(Vec::new());
                }
            }
            runs.retain(|r| !r.is_empty());
            let marker = series.markers.then(|| MarkerShape::cycle(i));
            Resolved {
                series,
                secondary,
                color,
                marker,
                runs,
            }
        })
        .collect()
}

fn next_color(next: &mut usize) -> [u8; 3] {
    let c = PALETTE[*next % PALETTE.len()];
    *next += 1;
    c
}

/// Legend rows: series (with their bands), other bands, reference lines.
fn legend_entries(axes: &Axes, resolved: &[Resolved]) -> Vec<LegendEntry> {
    let mut entries = Vec::new();
    for r in resolved.iter().filter(|r| !r.series.name.is_empty()) {
        let name = if r.secondary {
            format!("{} (right)", r.series.name)
        } else {
            r.series.name.clone()
        };
        let band = axes.bands.iter().find(|b| b.name == r.series.name);
        let patch = band.map(|b| b.color.unwrap_or(r.color));
        entries.push(LegendEntry::line(&name, r.color, r.series.style, r.marker).with_patch(patch));
    }
    for band in &axes.bands {
        if !band.name.is_empty() && !resolved.iter().any(|r| r.series.name == band.name) {
            entries.push(LegendEntry::patch(
                &band.name,
                band.color.unwrap_or(PALETTE[0]),
            ));
        }
    }
    for r in axes.reference_lines.iter().filter(|r| !r.label.is_empty()) {
        entries.push(LegendEntry::line(&r.label, REFERENCE_COLOR, r.style, None));
    }
    entries
}

pub(super) fn render(axes: &Axes, width: u32, height: u32, s: u32) -> Scene {
    let m = Metrics { s };
    // First try the legend inside the plot, on a spot free of data; otherwise
    // lay it out in rows under the x-axis label.
    let (scene, placed) = draw(axes, width, height, m, None);
    if placed || axes.legend == LegendPosition::Hidden {
        return scene;
    }
    let probe = layout(axes, width, height, s, 0);
    let resolved = resolve(axes, &probe.frame);
    let entries = legend_entries(axes, &resolved);
    if entries.is_empty() {
        return scene;
    }
    let rows = legend::rows_below(&entries, width as i32 - 2 * m.pad(), m);
    let reserve = legend::height_below(rows.len(), m);
    draw(axes, width, height, m, Some((rows, reserve))).0
}

/// Draws the panel; with `below`, the legend goes in those rows under the plot.
/// Returns whether a legend was drawn.
fn draw(
    axes: &Axes,
    width: u32,
    height: u32,
    m: Metrics,
    below: Option<(Vec<Vec<usize>>, i32)>,
) -> (Scene, bool) {
    let mut scene = Scene::new(width, height);
    let reserve = below.as_ref().map_or(0, |b| b.1);
    let lay = layout(axes, width, height, m.s, reserve);
    let frame = lay.frame;
    let area = frame.area;
    let resolved = resolve(axes, &frame);
    let entries = legend_entries(axes, &resolved);
    let mut obstacles = Obstacles::default();
    scene.fill_rect(area, [255; 3], 1.0);
    if lay.has_data {
        draw_grid(&mut scene, &lay);
        draw_data(&mut scene, axes, &frame, &resolved, m, &mut obstacles);
        draw_highlights(&mut scene, axes, &frame, m, &mut obstacles);
    } else {
        let centre = (area.x0 + area.width() / 2, area.y0 + area.height() / 2);
        scene.text("no data", centre, Anchor::Centre, m.font(), NO_DATA_COLOR);
    }
    let outer = area.expand(m.si());
    scene.stroke_rect(outer, FRAME_COLOR, m.si());
    draw_ticks(&mut scene, &lay, m);
    let x_label_bottom = draw_labels(&mut scene, axes, &lay, m);
    let drawn = match below {
        _ if entries.is_empty() || !lay.has_data => false,
        Some((rows, _)) => {
            let centre = (m.pad() + width as i32 - m.pad()) / 2;
            let w = width as i32 - 2 * m.pad();
            legend::draw_below(&mut scene, &entries, &rows, centre, x_label_bottom, w, m);
            true
        }
        None => match legend::place_inside(&entries, area, axes.legend, &obstacles, m) {
            Some(rect) => {
                legend::draw_inside(&mut scene, &entries, rect, m);
                true
            }
            None => false,
        },
    };
    (scene, drawn)
}

fn draw_data(
    scene: &mut Scene,
    axes: &Axes,
    frame: &PlotFrame,
    resolved: &[Resolved],
    m: Metrics,
    obstacles: &mut Obstacles,
) {
    let area = frame.area;
    for band in &axes.bands {
        let twin = resolved
            .iter()
            .find(|r| r.series.name == band.name && !band.name.is_empty());
        let color = band.color.or(twin.map(|t| t.color)).unwrap_or(PALETTE[0]);
        let shapes = band_shapes(frame, band, obstacles);
        scene.shapes(shapes, color, BAND_ALPHA, area);
    }
    for r in axes.reference_lines.iter().filter(|r| r.y.is_finite()) {
        let py = frame.to_pixel(frame.x_range.0, r.y).1;
        let line = vec![(area.x0 as f64, py), (area.x1 as f64, py)];
        obstacles.add_polyline(&line, 0.5);
        let shape = Shape::Polyline {
            points: line,
            width: m.line_width() * 0.8,
            dash: r.style.dash(m),
        };
        scene.shapes(vec![shape], REFERENCE_COLOR, 1.0, area);
    }
    for r in resolved {
        let mut shapes = Vec::new();
        for run in &r.runs {
            if run.len() == 1 && r.marker.is_none() {
                shapes.push(Shape::Disc {
                    centre: run[0],
                    radius: m.line_width(),
                });
            }
            shapes.push(Shape::Polyline {
                points: run.clone(),
                width: m.line_width() * r.series.weight.width_factor(),
                dash: r.series.style.dash(m),
            });
            obstacles.add_polyline(run, 1.0);
        }
        scene.shapes(shapes, r.color, 1.0, area);
    }
    // Markers may poke out of the area so points on its edge stay whole.
    let marker_clip = area.expand(m.marker_radius().ceil() as i32 + 1);
    for r in resolved {
        if let Some(shape) = r.marker {
            let shapes = r
                .runs
                .iter()
                .flatten()
                .map(|&p| shape.shape(p, m.marker_radius()))
                .collect();
            scene.shapes(shapes, r.color, 1.0, marker_clip);
        }
    }
}

fn draw_grid(scene: &mut Scene, lay: &Layout) {
    let area = lay.frame.area;
    for &v in &lay.x_ticks.values {
        let x = lay.frame.x_to_pixel(v).floor() as i32;
        scene.fill_rect(
            PixelRect {
                x0: x,
                x1: x + 1,
                ..area
            },
            GRID_COLOR,
            1.0,
        );
    }
    for &v in &lay.y_ticks.values {
        let y = lay.frame.to_pixel(lay.frame.x_range.0, v).1.floor() as i32;
        scene.fill_rect(
            PixelRect {
                y0: y,
                y1: y + 1,
                ..area
            },
            GRID_COLOR,
            1.0,
        );
    }
}

/// The band as polygons (upper edge left to right, lower edge back), one per run of finite points.
fn band_shapes(frame: &PlotFrame, band: &super::Band, obstacles: &mut Obstacles) -> Vec<Shape> {
    let mut pts: Vec<(f64, f64, f64)> = band.points.clone();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut shapes = Vec::new();
    for run in pts.split(|p| !(p.0.is_finite() && p.1.is_finite() && p.2.is_finite())) {
        let xs: Vec<f64> = run.iter().map(|p| frame.x_to_pixel(p.0)).collect();
        let (mut top, mut bottom) = (Vec::new(), Vec::new());
        for &(x, lo, hi) in run {
            let (a, b) = (frame.to_pixel(x, lo).1, frame.to_pixel(x, hi).1);
            top.push(a.min(b));
            bottom.push(a.max(b));
        }
        if run.len() >= 2 {
            obstacles.add_band(&xs, &top, &bottom);
            let upper = xs.iter().zip(&top).map(|(&x, &y)| (x, y));
            let lower = xs.iter().zip(&bottom).rev().map(|(&x, &y)| (x, y));
            shapes.push(Shape::Polygon(upper.chain(lower).collect()));
        }
    }
    shapes
}

fn draw_highlights(
    scene: &mut Scene,
    axes: &Axes,
    frame: &PlotFrame,
    m: Metrics,
    obstacles: &mut Obstacles,
) {
    let area = frame.area;
    let radius = 2.5 * m.marker_radius();
    let mut rings = Vec::new();
    let mut labels: Vec<(PixelRect, String)> = Vec::new();
    for hl in axes
        .highlights
        .iter()
        .filter(|hl| hl.x.is_finite() && hl.y.is_finite())
    {
        let c = if hl.on_secondary {
            frame.to_pixel_secondary(hl.x, hl.y)
        } else {
            frame.to_pixel(hl.x, hl.y)
        };
        rings.push(Shape::Ring {
            centre: c,
            radius,
            thickness: 0.75 * m.line_width(),
        });
        let r = radius as i32;
        obstacles.add_rect(
            PixelRect::new(c.0 as i32 - r, c.1 as i32 - r, 2 * r, 2 * r),
            2.0,
        );
        if let Some(label) = hl.label.as_deref().filter(|l| !l.is_empty()) {
            let label = fit_text(label, m.font(), area.width() - 4 * m.si());
            let (w, h) = (text_w(&label, m.s), m.text_h());
            let (cx, cy) = (c.0 as i32, c.1 as i32);
            // Diagonal, then straight above/below, at growing distances: the spot that hides least,
            // inside the area and clear of the other labels (else the label is left out).
            let candidates = [1, 2, 3, 4].into_iter().flat_map(|k| {
                let off = k * (r + m.si());
                [
                    (cx + off, cy - off - h),
                    (cx - off - w, cy - off - h),
                    (cx + off, cy + off),
                    (cx - off - w, cy + off),
                    (cx - w / 2, cy - off - h - m.si()),
                    (cx - w / 2, cy + off + m.si()),
                ]
            });
            let pad = 2 * m.si();
            let best = candidates
                .enumerate()
                .map(|(i, (x, y))| {
                    (
                        i,
                        PixelRect::new(x - pad, y - pad, w + 2 * pad, h + 2 * pad),
                    )
                })
                .filter(|(_, rect)| {
                    area.intersect(rect) == *rect && !labels.iter().any(|(l, _)| l.overlaps(rect))
                })
                .map(|(i, rect)| (obstacles.score(&rect) + i as f32 * 0.01, rect))
                .min_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((_, rect)) = best {
                obstacles.add_rect(rect, 4.0);
                labels.push((rect, label));
            }
        }
    }
    // Label backgrounds, then the rings over them, then the text.
    for (rect, _) in &labels {
        scene.fill_rect(*rect, [255; 3], 0.8);
    }
    scene.shapes(
        rings,
        HIGHLIGHT_COLOR,
        1.0,
        area.expand(radius.ceil() as i32 + 2),
    );
    let pad = 2 * m.si();
    for (rect, label) in labels {
        let at = (rect.x0 + pad, rect.y0 + pad);
        scene.text(&label, at, Anchor::TopLeft, m.font(), HIGHLIGHT_COLOR);
    }
}

fn draw_ticks(scene: &mut Scene, lay: &Layout, m: Metrics) {
    let frame = &lay.frame;
    let area = frame.area;
    let (si, tl) = (m.si(), m.tick_len());
    let (outer_x0, outer_x1, outer_y1) = (area.x0 - si, area.x1 + si, area.y1 + si);
    for (&v, label) in lay.x_ticks.values.iter().zip(&lay.x_ticks.labels) {
        let x = frame.x_to_pixel(v).floor() as i32;
        let tick = PixelRect::new(x - (si - 1) / 2, outer_y1, si, tl);
        scene.fill_rect(tick, FRAME_COLOR, 1.0);
        let at = (x, outer_y1 + tl + m.tick_gap());
        scene.text(label, at, Anchor::TopCentre, m.font(), TICK_LABEL_COLOR);
    }
    let mut y_axis = |ticks: &Ticks, range: (f64, f64), right: bool| {
        let sub = PlotFrame {
            y_range: range,
            ..*frame
        };
        for (&v, label) in ticks.values.iter().zip(&ticks.labels) {
            let y = sub.to_pixel(frame.x_range.0, v).1.floor() as i32;
            let (tick_x, text_x, anchor) = if right {
                (outer_x1, outer_x1 + tl + m.tick_gap(), Anchor::CentreLeft)
            } else {
                (
                    outer_x0 - tl,
                    outer_x0 - tl - m.tick_gap(),
                    Anchor::CentreRight,
                )
            };
            scene.fill_rect(
                PixelRect::new(tick_x, y - (si - 1) / 2, tl, si),
                FRAME_COLOR,
                1.0,
            );
            scene.text(label, (text_x, y), anchor, m.font(), TICK_LABEL_COLOR);
        }
    };
    y_axis(&lay.y_ticks, frame.y_range, false);
    if let (Some(t), Some(r)) = (&lay.y2_ticks, frame.y2_range) {
        y_axis(t, r, true);
    }
}

/// Title, axis labels; returns the y just below the x-axis label.
fn draw_labels(scene: &mut Scene, axes: &Axes, lay: &Layout, m: Metrics) -> i32 {
    let area = lay.frame.area;
    let (w, h) = (scene.width as i32, scene.height as i32);
    let centre_x = area.x0 + area.width() / 2;
    let centre_y = area.y0 + area.height() / 2;
    if !axes.title.is_empty() {
        let room = w - 2 * m.pad();
        // Shrink a long title (to 80%) before shortening it.
        let size = (m.title_font() * room as f32 / text_w_at(&axes.title, m.title_font()) as f32)
            .clamp(m.title_font() * 0.8, m.title_font());
        let title = fit_text(&axes.title, size, room);
        let tw = text_w_at(&title, size);
        // Centred over the plot area, but shifted to stay inside the panel.
        let x = (centre_x - tw / 2).min(w - m.pad() - tw).max(m.pad());
        scene.text(&title, (x, m.pad()), Anchor::TopLeft, size, TEXT_COLOR);
    }
    let mut bottom = area.y1 + m.si() + m.tick_len() + m.tick_gap() + m.text_h();
    if !axes.x_label.is_empty() {
        let label = fit_text(&axes.x_label, m.font(), w - 2 * m.pad());
        let lw = text_w(&label, m.s);
        let x = (centre_x - lw / 2).clamp(m.pad(), (w - m.pad() - lw).max(m.pad()));
        let y = bottom + m.pad();
        bottom = scene
            .text(&label, (x, y), Anchor::TopLeft, m.font(), TEXT_COLOR)
            .y1;
    }
    let vertical = |scene: &mut Scene, label: &str, x: i32| {
        let label = fit_text(label, m.font(), area.height().min(h - 2 * m.pad()));
        scene.vertical_text(&label, (x + m.text_h() / 2, centre_y), m.font(), TEXT_COLOR);
    };
    if !axes.y_label.is_empty() {
        vertical(scene, &axes.y_label, m.pad());
    }
    if let Some(sec) = axes.secondary.as_ref().filter(|s| !s.y_label.is_empty()) {
        vertical(scene, &sec.y_label, w - m.pad() - m.text_h());
    }
    bottom
}

fn text_w_at(text: &str, size: f32) -> i32 {
    super::scene::text_box(text, size).0
}

impl LineStyle {
    /// `[on, off]` dash lengths in px at metrics `m` (`None` for solid lines).
    pub(super) fn dash(self, m: Metrics) -> Option<[f64; 2]> {
        match self {
            LineStyle::Solid => None,
            LineStyle::Dashed => Some(m.dash()),
            LineStyle::Dotted => Some([1.0, 2.5 * m.line_width()]),
        }
    }
}
