//! Legend layout and placement, and the marker shapes it shares with the plot.
//!
//! Placement "best" keeps the legend off the data: every drawn line, band, marker
//! and label leaves sample points behind ([`Obstacles`]); the legend goes into a
//! corner or edge of the plot only where it covers none of them (top-right
//! first), and otherwise in rows under the x-axis label, outside the plot.

use super::LegendPosition;
use super::LineStyle;
use super::canvas::PixelRect;
use super::layout::{Metrics, text_w};
use super::scene::{Anchor, Scene, Shape, fit_text};

const LEGEND_BORDER: [u8; 3] = [200, 200, 200];
const LEGEND_TEXT: [u8; 3] = [25, 25, 25];
const PATCH_ALPHA: f32 = 0.3;

/// Marker shapes, cycled per series so curves differ by more than colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MarkerShape {
    Circle,
    Square,
    Diamond,
    Triangle,
}

impl MarkerShape {
    /// Shape for the `i`-th series. The shift after every full palette cycle
    /// keeps series `i` and `i + 8` (same colour) apart.
    pub fn cycle(i: usize) -> Self {
        let shapes = [Self::Circle, Self::Square, Self::Diamond, Self::Triangle];
        shapes[(i + i / super::PALETTE.len()) % shapes.len()]
    }

    /// The marker centred on `c`; `r` is the circle radius and the other
    /// shapes are sized to look about as heavy.
    pub fn shape(self, c: (f64, f64), r: f64) -> Shape {
        let (x, y) = c;
        match self {
            Self::Circle => Shape::Disc {
                centre: c,
                radius: r,
            },
            Self::Square => {
                let h = r * 0.85;
                Shape::Polygon(vec![
                    (x - h, y - h),
                    (x + h, y - h),
                    (x + h, y + h),
                    (x - h, y + h),
                ])
            }
            Self::Diamond => {
                let h = r * 1.25;
                Shape::Polygon(vec![(x, y - h), (x + h, y), (x, y + h), (x - h, y)])
            }
            Self::Triangle => {
                let h = r * 1.3;
                Shape::Polygon(vec![
                    (x, y - h),
                    (x + h * 0.95, y + h * 0.6),
                    (x - h * 0.95, y + h * 0.6),
                ])
            }
        }
    }
}

/// One legend row: a swatch (line, marker and/or shaded patch) and a label.
#[derive(Clone, Debug)]
pub(super) struct LegendEntry {
    label: String,
    color: [u8; 3],
    line: Option<LineStyle>,
    marker: Option<MarkerShape>,
    patch: Option<[u8; 3]>,
}

impl LegendEntry {
    pub fn line(
        label: &str,
        color: [u8; 3],
        style: LineStyle,
        marker: Option<MarkerShape>,
    ) -> Self {
        Self {
            label: label.to_string(),
            color,
            line: Some(style),
            marker,
            patch: None,
        }
    }

    pub fn patch(label: &str, color: [u8; 3]) -> Self {
        Self {
            label: label.to_string(),
            color,
            line: None,
            marker: None,
            patch: Some(color),
        }
    }

    /// Adds a shaded patch behind the line (a series with its band).
    pub fn with_patch(mut self, patch: Option<[u8; 3]>) -> Self {
        self.patch = patch;
        self
    }
}

/// Weighted sample points of everything drawn in the plot area, used to find
/// positions for the legend and labels that hide the least.
#[derive(Clone, Debug, Default)]
pub(super) struct Obstacles {
    points: Vec<(f64, f64, f32)>,
}

impl Obstacles {
    /// Samples a polyline every 2 pixels.
    pub fn add_polyline(&mut self, pts: &[(f64, f64)], weight: f32) {
        if let [p] = pts {
            self.points.push((p.0, p.1, weight));
        }
        for w in pts.windows(2) {
            let (a, b) = (w[0], w[1]);
            let n = ((b.0 - a.0).hypot(b.1 - a.1) / 2.0)
                .ceil()
                .clamp(1.0, 10_000.0) as usize;
            for i in 0..=n {
                let t = i as f64 / n as f64;
                self.points
                    .push((a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t, weight));
            }
        }
    }

    /// Samples a band's area on a 4-pixel lattice at low weight: covering a
    /// band is worse than covering nothing but better than covering a line.
    pub fn add_band(&mut self, xs: &[f64], top: &[f64], bottom: &[f64]) {
        for i in 0..xs.len().saturating_sub(1) {
            let n = ((xs[i + 1] - xs[i]) / 4.0).ceil().clamp(1.0, 2_000.0) as usize;
            for k in 0..n {
                let t = k as f64 / n as f64;
                let x = xs[i] + (xs[i + 1] - xs[i]) * t;
                let y0 = top[i] + (top[i + 1] - top[i]) * t;
                let y1 = bottom[i] + (bottom[i + 1] - bottom[i]) * t;
                let mut y = y0;
                while y <= y1 && y - y0 < 10_000.0 {
                    self.points.push((x, y, 0.15));
                    y += 4.0;
                }
            }
        }
    }

    /// Samples a rectangle on a 3-pixel lattice.
    pub fn add_rect(&mut self, rect: PixelRect, weight: f32) {
        for y in (rect.y0..rect.y1).step_by(3) {
            for x in (rect.x0..rect.x1).step_by(3) {
                self.points.push((x as f64 + 0.5, y as f64 + 0.5, weight));
            }
        }
    }

    /// Total weight of the samples inside `rect`.
    pub fn score(&self, rect: &PixelRect) -> f32 {
        self.points
            .iter()
            .filter(|p| rect.contains_point(p.0, p.1))
            .map(|p| p.2)
            .sum()
    }
}

/// Sizes of the legend's parts at metrics `m`.
struct Dims {
    pad: i32,
    swatch_w: i32,
    gap: i32,
    th: i32,
    leading: i32,
    inset: i32,
}

impl Dims {
    fn of(m: Metrics) -> Self {
        let si = m.si();
        Self {
            pad: 5 * si,
            swatch_w: 24 * si,
            gap: 5 * si,
            th: m.text_h(),
            leading: 4 * si,
            inset: 4 * si,
        }
    }

    /// Width of one entry (swatch, gap, label).
    fn entry_w(&self, label: &str, m: Metrics) -> i32 {
        self.swatch_w + self.gap + text_w(label, m.s)
    }
}

/// Places the legend in the plot `area` where it covers nothing drawn (or at the
/// fixed `position`); `None` when there is no free spot (or it does not fit).
pub(super) fn place_inside(
    entries: &[LegendEntry],
    area: PixelRect,
    position: LegendPosition,
    obstacles: &Obstacles,
    m: Metrics,
) -> Option<PixelRect> {
    let d = Dims::of(m);
    let text_w = entries.iter().map(|e| text_w(&e.label, m.s)).max()?;
    let n = entries.len() as i32;
    let (w, h) = (
        2 * d.pad + d.swatch_w + d.gap + text_w,
        2 * d.pad + n * d.th + (n - 1) * d.leading,
    );
    if w + 2 * d.inset > area.width() || h + 2 * d.inset > area.height() {
        return None;
    }
    let (left, right) = (area.x0 + d.inset, area.x1 - d.inset - w);
    let (top, bottom) = (area.y0 + d.inset, area.y1 - d.inset - h);
    let (mid_x, mid_y) = (
        area.x0 + (area.width() - w) / 2,
        area.y0 + (area.height() - h) / 2,
    );
    let at = |x: i32, y: i32| PixelRect::new(x, y, w, h);
    match position {
        LegendPosition::TopRight => Some(at(right, top)),
        LegendPosition::TopLeft => Some(at(left, top)),
        LegendPosition::BottomRight => Some(at(right, bottom)),
        LegendPosition::BottomLeft => Some(at(left, bottom)),
        LegendPosition::Hidden => None,
        LegendPosition::Best => [
            at(right, top),
            at(left, top),
            at(right, bottom),
            at(left, bottom),
            at(mid_x, top),
            at(mid_x, bottom),
            at(right, mid_y),
            at(left, mid_y),
        ]
        .into_iter()
        .find(|r| obstacles.score(&r.expand(2 * m.si())) == 0.0),
    }
}

/// Rows of entry indices when the legend is laid out horizontally in `width`.
pub(super) fn rows_below(entries: &[LegendEntry], width: i32, m: Metrics) -> Vec<Vec<usize>> {
    let d = Dims::of(m);
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut used = 0;
    for (i, e) in entries.iter().enumerate() {
        let w = d.entry_w(&e.label, m).min(width);
        match rows.last_mut() {
            Some(row) if used + 3 * d.gap + w <= width => {
                row.push(i);
                used += 3 * d.gap + w;
            }
            _ => {
                rows.push(vec![i]);
                used = w;
            }
        }
    }
    rows
}

/// Height of the legend laid out in `rows` under the plot.
pub(super) fn height_below(rows: usize, m: Metrics) -> i32 {
    let d = Dims::of(m);
    let n = rows as i32;
    if n == 0 {
        0
    } else {
        d.pad + n * d.th + (n - 1) * d.leading
    }
}

/// Draws the legend boxed at `rect` (one entry per row).
pub(super) fn draw_inside(scene: &mut Scene, entries: &[LegendEntry], rect: PixelRect, m: Metrics) {
    let d = Dims::of(m);
    scene.fill_rect(rect, [255; 3], 1.0);
    scene.stroke_rect(rect, LEGEND_BORDER, 1);
    let max_label = rect.width() - 2 * d.pad - d.swatch_w - d.gap;
    for (i, entry) in entries.iter().enumerate() {
        let x = rect.x0 + d.pad;
        let y = rect.y0 + d.pad + i as i32 * (d.th + d.leading);
        draw_entry(scene, entry, (x, y), max_label, m);
    }
}

/// Draws the legend in `rows`, each centred on `centre_x`, starting at `top`.
pub(super) fn draw_below(
    scene: &mut Scene,
    entries: &[LegendEntry],
    rows: &[Vec<usize>],
    centre_x: i32,
    top: i32,
    width: i32,
    m: Metrics,
) {
    let d = Dims::of(m);
    for (r, row) in rows.iter().enumerate() {
        let widths: Vec<i32> = row
            .iter()
            .map(|&i| d.entry_w(&entries[i].label, m).min(width))
            .collect();
        let total: i32 = widths.iter().sum::<i32>() + 3 * d.gap * (row.len() as i32 - 1);
        let mut x = centre_x - total / 2;
        let y = top + d.pad + r as i32 * (d.th + d.leading);
        for (&i, w) in row.iter().zip(widths) {
            draw_entry(scene, &entries[i], (x, y), w - d.swatch_w - d.gap, m);
            x += w + 3 * d.gap;
        }
    }
}

/// One entry with its row's top-left corner at `(x, y)`.
fn draw_entry(
    scene: &mut Scene,
    entry: &LegendEntry,
    (x, y): (i32, i32),
    max_label: i32,
    m: Metrics,
) {
    let d = Dims::of(m);
    let si = m.si();
    let centre_y = y as f64 + d.th as f64 / 2.0;
    let (sx0, sx1) = (x as f64, (x + d.swatch_w) as f64);
    if let Some(patch) = entry.patch {
        let swatch = PixelRect::new(x, y + si, d.swatch_w, d.th - 2 * si);
        scene.fill_rect(swatch, patch, PATCH_ALPHA);
    }
    let mut shapes = Vec::new();
    if let Some(style) = entry.line {
        shapes.push(Shape::Polyline {
            points: vec![(sx0 + 1.0, centre_y), (sx1 - 1.0, centre_y)],
            width: m.line_width(),
            dash: style.dash(m),
        });
    }
    if let Some(shape) = entry.marker {
        shapes.push(shape.shape(((sx0 + sx1) / 2.0, centre_y), m.marker_radius()));
    }
    let clip = PixelRect::new(x, y, d.swatch_w, d.th).expand(2 * si);
    scene.shapes(shapes, entry.color, 1.0, clip);
    let label = fit_text(&entry.label, m.font(), max_label.max(0));
    scene.text(
        &label,
        (x + d.swatch_w + d.gap, y),
        Anchor::TopLeft,
        m.font(),
        LEGEND_TEXT,
    );
}
