//! Legend layout and placement, and the marker shapes it shares with the plot.
//!
//! Placement "best" works like matplotlib's: every drawn line, band and label
//! leaves weighted sample points behind ([`Obstacles`]); the legend goes to the
//! candidate position covering the least weight, preferring the top-right.

use super::LegendPosition;
use super::LineStyle;
use super::canvas::{Canvas, Mask, PixelRect};
use super::layout::Metrics;
use super::text::{self, draw_text, text_width};

const LEGEND_BORDER: [u8; 3] = [200, 200, 200];
const LEGEND_TEXT: [u8; 3] = [25, 25, 25];
/// Opacity of the legend's white background: mostly opaque for legibility,
/// yet anything it is forced to cover stays faintly visible.
const LEGEND_BACKGROUND_ALPHA: f32 = 0.88;
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

    /// Paints the marker centred on `c`; `r` is the circle radius and the
    /// other shapes are sized to look about as heavy.
    pub fn paint(self, mask: &mut Mask, c: (f64, f64), r: f64) {
        let (x, y) = c;
        match self {
            Self::Circle => mask.disc(c, r),
            Self::Square => {
                let h = r * 0.85;
                mask.convex_polygon(&[
                    (x - h, y - h),
                    (x + h, y - h),
                    (x + h, y + h),
                    (x - h, y + h),
                ]);
            }
            Self::Diamond => {
                let h = r * 1.25;
                mask.convex_polygon(&[(x, y - h), (x + h, y), (x, y + h), (x - h, y)]);
            }
            Self::Triangle => {
                let h = r * 1.3;
                mask.convex_polygon(&[
                    (x, y - h),
                    (x + h * 0.95, y + h * 0.6),
                    (x - h * 0.95, y + h * 0.6),
                ]);
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

/// Draws the legend for `entries` inside `area` (nothing if there are none,
/// the position is [`LegendPosition::Hidden`], or the legend would not fit).
pub(super) fn draw(
    canvas: &mut Canvas,
    entries: &[LegendEntry],
    area: PixelRect,
    position: LegendPosition,
    obstacles: &Obstacles,
    m: Metrics,
) {
    if entries.is_empty() || position == LegendPosition::Hidden {
        return;
    }
    let si = m.si();
    let (pad, swatch_w, gap, th, leading) = (5 * si, 24 * si, 5 * si, m.text_h(), 5 * si);
    let inset = 4 * si;
    let max_text = (area.width() - 2 * inset - 2 * pad - swatch_w - gap).max(8 * si) as u32;
    let labels: Vec<String> = entries
        .iter()
        .map(|e| text::fit_text(&e.label, m.s, max_text))
        .collect();
    let text_w = labels
        .iter()
        .map(|l| text_width(l, m.s) as i32)
        .max()
        .unwrap_or(0);
    let n = entries.len() as i32;
    let (w, h) = (
        2 * pad + swatch_w + gap + text_w,
        2 * pad + n * th + (n - 1) * leading,
    );

    if w > area.width() || h > area.height() {
        // A legend bigger than the plot would hide all of it; in panels that
        // small the series are better told apart by the caption.
        return;
    }
    let (left, right) = (area.x0 + inset, area.x1 - inset - w);
    let (top, bottom) = (area.y0 + inset, area.y1 - inset - h);
    let (mid_x, mid_y) = (
        area.x0 + (area.width() - w) / 2,
        area.y0 + (area.height() - h) / 2,
    );
    let at = |x: i32, y: i32| PixelRect::new(x, y, w, h);
    let rect = match position {
        LegendPosition::TopRight => at(right, top),
        LegendPosition::TopLeft => at(left, top),
        LegendPosition::BottomRight => at(right, bottom),
        LegendPosition::BottomLeft => at(left, bottom),
        LegendPosition::Best | LegendPosition::Hidden => {
            let candidates = [
                at(right, top),
                at(left, top),
                at(right, bottom),
                at(left, bottom),
                at(mid_x, top),
                at(mid_x, bottom),
                at(right, mid_y),
                at(left, mid_y),
            ];
            // A small per-candidate penalty keeps the usual corners first on ties.
            candidates
                .into_iter()
                .enumerate()
                .map(|(i, r)| (obstacles.score(&r.expand(2 * si)) + 0.01 * i as f32, r))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, r)| r)
                .expect("candidates is non-empty")
        }
    };

    canvas.fill_rect(rect, [255; 3], LEGEND_BACKGROUND_ALPHA);
    canvas.stroke_rect(rect, LEGEND_BORDER, 1);
    for (i, (entry, label)) in entries.iter().zip(&labels).enumerate() {
        let row_y = rect.y0 + pad + i as i32 * (th + leading);
        let centre_y = row_y as f64 + th as f64 / 2.0;
        let (sx0, sx1) = ((rect.x0 + pad) as f64, (rect.x0 + pad + swatch_w) as f64);
        if let Some(patch) = entry.patch {
            let swatch = PixelRect::new(rect.x0 + pad, row_y - si, swatch_w, th + 2 * si);
            canvas.fill_rect(swatch, patch, PATCH_ALPHA);
        }
        let mut mask = Mask::new(rect);
        if let Some(style) = entry.line {
            let dash = (style == LineStyle::Dashed).then(|| m.dash());
            mask.polyline(
                &[(sx0 + 1.0, centre_y), (sx1 - 1.0, centre_y)],
                m.line_width(),
                dash,
            );
        }
        if let Some(shape) = entry.marker {
            shape.paint(&mut mask, ((sx0 + sx1) / 2.0, centre_y), m.marker_radius());
        }
        mask.composite(canvas, entry.color, 1.0);
        draw_text(
            canvas.img,
            rect.x0 + pad + swatch_w + gap,
            row_y,
            label,
            m.s,
            LEGEND_TEXT,
        );
    }
}
