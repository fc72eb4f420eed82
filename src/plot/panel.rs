//! Rendering of one chart panel ([`Axes`]) onto its layout.

use image::{Rgb, RgbImage};

use super::canvas::{Canvas, PixelRect};
use super::layout::{Layout, Metrics, PlotFrame, all_series, layout};
use super::legend::{self, LegendEntry, MarkerShape, Obstacles};
use super::text::{self, draw_text, draw_text_vertical, text_width};
use super::ticks::Ticks;
use super::{Axes, LineStyle, PALETTE, Series};

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

fn resolve<'a>(axes: &'a Axes, frame: &PlotFrame, palette_next: &mut usize) -> Vec<Resolved<'a>> {
    all_series(axes)
        .enumerate()
        .map(|(i, (series, secondary))| {
            let color = series.color.unwrap_or_else(|| next_color(palette_next));
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

pub(super) fn render(axes: &Axes, width: u32, height: u32, s: u32) -> RgbImage {
    let mut img = RgbImage::from_pixel(width.max(1), height.max(1), Rgb([255; 3]));
    let m = Metrics { s };
    let lay = layout(axes, width, height, s);
    let frame = lay.frame;
    let area = frame.area;
    let mut canvas = Canvas::new(&mut img);
    let mut palette_next = 0;
    let resolved = resolve(axes, &frame, &mut palette_next);
    // Legend order: series (with their bands), other bands, reference line.
    let (mut entries, mut band_entries, mut reference_entry) = (Vec::new(), Vec::new(), None);
    let mut obstacles = Obstacles::default();

    if lay.has_data {
        draw_grid(&mut canvas, &lay);
        let mut plot = canvas.clipped(area);
        for band in &axes.bands {
            let twin = resolved
                .iter()
                .find(|r| r.series.name == band.name && !band.name.is_empty());
            let color = band
                .color
                .or(twin.map(|t| t.color))
                .unwrap_or_else(|| next_color(&mut palette_next));
            draw_band(&mut plot, &frame, band, color, &mut obstacles);
            if twin.is_none() && !band.name.is_empty() {
                band_entries.push(LegendEntry::patch(&band.name, color));
            }
        }
        if let Some((y, label)) = axes.reference_line.as_ref().filter(|r| r.0.is_finite()) {
            let py = frame.to_pixel(frame.x_range.0, *y).1;
            let mut mask = plot.mask();
            mask.polyline(
                &[(area.x0 as f64, py), (area.x1 as f64, py)],
                m.line_width() * 0.8,
                Some(m.dash()),
            );
            mask.composite(&mut plot, REFERENCE_COLOR, 1.0);
            obstacles.add_polyline(&[(area.x0 as f64, py), (area.x1 as f64, py)], 0.5);
            reference_entry = Some(LegendEntry::line(
                label,
                REFERENCE_COLOR,
                LineStyle::Dashed,
                None,
            ));
        }
        for r in &resolved {
            let mut mask = plot.mask();
            let dash = (r.series.style == LineStyle::Dashed).then(|| m.dash());
            for run in &r.runs {
                if run.len() == 1 && r.marker.is_none() {
                    mask.disc(run[0], m.line_width());
                }
                mask.polyline(run, m.line_width(), dash);
                obstacles.add_polyline(run, 1.0);
            }
            mask.composite(&mut plot, r.color, 1.0);
        }
        // Markers may poke out of the area so points on its edge stay whole.
        let mut marker_canvas = canvas.clipped(area.expand(m.marker_radius().ceil() as i32 + 1));
        for r in &resolved {
            if let Some(shape) = r.marker {
                let mut mask = marker_canvas.mask();
                for &p in r.runs.iter().flatten() {
                    shape.paint(&mut mask, p, m.marker_radius());
                }
                mask.composite(&mut marker_canvas, r.color, 1.0);
            }
        }
        for r in &resolved {
            let name = if r.secondary {
                format!("{} (right)", r.series.name)
            } else {
                r.series.name.clone()
            };
            let style = r.series.style;
            let band = axes
                .bands
                .iter()
                .find(|b| b.name == r.series.name && !b.name.is_empty());
            let band_color = band.map(|b| b.color.unwrap_or(r.color));
            if !r.series.name.is_empty() {
                entries.push(
                    LegendEntry::line(&name, r.color, style, r.marker).with_patch(band_color),
                );
            }
        }
        entries.extend(band_entries);
        entries.extend(reference_entry);
        draw_highlights(&mut canvas, axes, &frame, m, &mut obstacles);
    } else {
        let msg = "no data";
        let x = area.x0 + (area.width() - text_width(msg, s) as i32) / 2;
        let y = area.y0 + (area.height() - m.text_h()) / 2;
        draw_text(canvas.img, x, y, msg, s, NO_DATA_COLOR);
    }
    canvas.stroke_rect(area.expand(m.si()), FRAME_COLOR, m.si());
    draw_ticks(&mut canvas, &lay, m);
    draw_labels(&mut canvas, axes, &lay, m);
    legend::draw(&mut canvas, &entries, area, axes.legend, &obstacles, m);
    img
}

fn draw_grid(canvas: &mut Canvas, lay: &Layout) {
    let area = lay.frame.area;
    for &v in &lay.x_ticks.values {
        let x = lay.frame.x_to_pixel(v).floor() as i32;
        canvas.fill_rect(
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
        canvas.fill_rect(
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

fn draw_band(
    plot: &mut Canvas,
    frame: &PlotFrame,
    band: &super::Band,
    color: [u8; 3],
    obstacles: &mut Obstacles,
) {
    let mut pts: Vec<(f64, f64, f64)> = band.points.clone();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    for run in pts.split(|p| !(p.0.is_finite() && p.1.is_finite() && p.2.is_finite())) {
        let xs: Vec<f64> = run.iter().map(|p| frame.x_to_pixel(p.0)).collect();
        let (mut top, mut bottom) = (Vec::new(), Vec::new());
        for &(x, lo, hi) in run {
            let (a, b) = (frame.to_pixel(x, lo).1, frame.to_pixel(x, hi).1);
            top.push(a.min(b));
            bottom.push(a.max(b));
        }
        plot.fill_between(&xs, &top, &bottom, color, BAND_ALPHA);
        obstacles.add_band(&xs, &top, &bottom);
    }
}

fn draw_highlights(
    canvas: &mut Canvas,
    axes: &Axes,
    frame: &PlotFrame,
    m: Metrics,
    obstacles: &mut Obstacles,
) {
    let area = frame.area;
    let radius = 2.5 * m.marker_radius();
    let mut ring_canvas = canvas.clipped(area.expand(radius.ceil() as i32 + 2));
    let mut mask = ring_canvas.mask();
    let mut placed = Vec::new();
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
        mask.ring(c, radius, 0.75 * m.line_width());
        obstacles.add_rect(
            PixelRect::new(
                (c.0 - radius) as i32,
                (c.1 - radius) as i32,
                2 * radius as i32,
                2 * radius as i32,
            ),
            2.0,
        );
        if let Some(label) = hl.label.as_deref().filter(|l| !l.is_empty()) {
            let label = text::fit_text(label, m.s, area.width() as u32);
            let (w, h) = (text_width(&label, m.s) as i32, m.text_h());
            let off = radius as i32 + m.si();
            let (cx, cy) = (c.0 as i32, c.1 as i32);
            // Above-right, above-left, below-right, below-left, then straight
            // above/below: whichever hides least and stays inside the area.
            let candidates = [
                (cx + off, cy - off - h),
                (cx - off - w, cy - off - h),
                (cx + off, cy + off),
                (cx - off - w, cy + off),
                (cx - w / 2, cy - off - h - m.si()),
                (cx - w / 2, cy + off + m.si()),
            ];
            let pad = 2 * m.si();
            let best = candidates
                .iter()
                .enumerate()
                .map(|(i, &(x, y))| {
                    let rect = PixelRect::new(x - pad, y - pad, w + 2 * pad, h + 2 * pad);
                    let outside = if area.intersect(&rect) == rect {
                        0.0
                    } else {
                        1e6
                    };
                    (
                        obstacles.score(&rect) + outside + i as f32 * 0.01,
                        rect,
                        (x, y),
                    )
                })
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .expect("candidates is non-empty");
            obstacles.add_rect(best.1, 4.0);
            placed.push((best.1, best.2, label));
        }
    }
    mask.composite(&mut ring_canvas, HIGHLIGHT_COLOR, 1.0);
    for (rect, (x, y), label) in placed {
        canvas.fill_rect(rect, [255; 3], 0.8);
        draw_text(canvas.img, x, y, &label, m.s, HIGHLIGHT_COLOR);
    }
}

fn draw_ticks(canvas: &mut Canvas, lay: &Layout, m: Metrics) {
    let frame = &lay.frame;
    let area = frame.area;
    let (si, th, tl) = (m.si(), m.text_h(), m.tick_len());
    let (outer_x0, outer_x1, outer_y1) = (area.x0 - si, area.x1 + si, area.y1 + si);
    for (&v, label) in lay.x_ticks.values.iter().zip(&lay.x_ticks.labels) {
        let x = frame.x_to_pixel(v).floor() as i32;
        canvas.fill_rect(
            PixelRect::new(x - (si - 1) / 2, outer_y1, si, tl),
            FRAME_COLOR,
            1.0,
        );
        let lw = text_width(label, m.s) as i32;
        draw_text(
            canvas.img,
            x - lw / 2,
            outer_y1 + tl + m.tick_gap(),
            label,
            m.s,
            TICK_LABEL_COLOR,
        );
    }
    let mut y_axis = |ticks: &Ticks, range: (f64, f64), right: bool| {
        let sub = PlotFrame {
            y_range: range,
            ..*frame
        };
        for (&v, label) in ticks.values.iter().zip(&ticks.labels) {
            let y = sub.to_pixel(frame.x_range.0, v).1.floor() as i32;
            let lw = text_width(label, m.s) as i32;
            let ty = y - th / 2;
            if right {
                canvas.fill_rect(
                    PixelRect::new(outer_x1, y - (si - 1) / 2, tl, si),
                    FRAME_COLOR,
                    1.0,
                );
                draw_text(
                    canvas.img,
                    outer_x1 + tl + m.tick_gap(),
                    ty,
                    label,
                    m.s,
                    TICK_LABEL_COLOR,
                );
            } else {
                canvas.fill_rect(
                    PixelRect::new(outer_x0 - tl, y - (si - 1) / 2, tl, si),
                    FRAME_COLOR,
                    1.0,
                );
                draw_text(
                    canvas.img,
                    outer_x0 - tl - m.tick_gap() - lw,
                    ty,
                    label,
                    m.s,
                    TICK_LABEL_COLOR,
                );
            }
        }
    };
    y_axis(&lay.y_ticks, frame.y_range, false);
    if let (Some(t), Some(r)) = (&lay.y2_ticks, frame.y2_range) {
        y_axis(t, r, true);
    }
}

fn draw_labels(canvas: &mut Canvas, axes: &Axes, lay: &Layout, m: Metrics) {
    let area = lay.frame.area;
    let (w, h) = (canvas.img.width() as i32, canvas.img.height() as i32);
    let th = m.text_h();
    let centre_x = area.x0 + area.width() / 2;
    let centre_y = area.y0 + area.height() / 2;
    if !axes.title.is_empty() {
        let title = text::fit_text(&axes.title, m.s, (w - 2 * m.pad()).max(0) as u32);
        let tw = text::bold_text_width(&title, m.s) as i32;
        // Centred over the plot area, but shifted to stay inside the panel.
        let x = (centre_x - tw / 2)
            .min(w - m.pad() - tw)
            .max(m.pad().min(w));
        text::draw_text_bold(canvas.img, x, m.pad(), &title, m.s, TEXT_COLOR);
    }
    if !axes.x_label.is_empty() {
        let label = text::fit_text(&axes.x_label, m.s, w.max(0) as u32);
        let lw = text_width(&label, m.s) as i32;
        let y = area.y1 + m.si() + m.tick_len() + m.tick_gap() + th + m.pad();
        draw_text(
            canvas.img,
            (centre_x - lw / 2).max(0),
            y,
            &label,
            m.s,
            TEXT_COLOR,
        );
    }
    let vertical = |canvas: &mut Canvas, label: &str, x: i32| {
        let label = text::fit_text(label, m.s, (h - 2 * m.pad()).max(0) as u32);
        let lw = text_width(&label, m.s) as i32;
        draw_text_vertical(
            canvas.img,
            x,
            (centre_y - lw / 2).max(0),
            &label,
            m.s,
            TEXT_COLOR,
        );
    };
    if !axes.y_label.is_empty() {
        vertical(canvas, &axes.y_label, m.pad());
    }
    if let Some(sec) = axes.secondary.as_ref().filter(|s| !s.y_label.is_empty()) {
        vertical(canvas, &sec.y_label, w - m.pad() - th);
    }
}
