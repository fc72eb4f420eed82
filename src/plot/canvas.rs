//! Anti-aliased drawing primitives on an `RgbImage`, clipped to a rectangle.
//!
//! Shapes are first rasterised into a coverage mask (per-pixel max of the
//! coverage of every piece), then composited once. Compositing each segment of
//! a polyline directly would double-blend the overlapping joints and leave
//! dark beads along thick lines; the max-mask gives clean joins and dashes.

use image::{Rgb, RgbImage};

/// Half-open integer pixel rectangle `[x0, x1) x [y0, y1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelRect {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

impl PixelRect {
    pub fn new(x: i32, y: i32, width: i32, height: i32) -> Self {
        Self {
            x0: x,
            y0: y,
            x1: x + width.max(0),
            y1: y + height.max(0),
        }
    }

    pub fn width(&self) -> i32 {
        (self.x1 - self.x0).max(0)
    }

    pub fn height(&self) -> i32 {
        (self.y1 - self.y0).max(0)
    }

    pub fn intersect(&self, other: &PixelRect) -> PixelRect {
        PixelRect {
            x0: self.x0.max(other.x0),
            y0: self.y0.max(other.y0),
            x1: self.x1.min(other.x1).max(self.x0.max(other.x0)),
            y1: self.y1.min(other.y1).max(self.y0.max(other.y0)),
        }
    }

    pub fn overlaps(&self, other: &PixelRect) -> bool {
        self.x0 < other.x1 && other.x0 < self.x1 && self.y0 < other.y1 && other.y0 < self.y1
    }

    pub fn contains_point(&self, x: f64, y: f64) -> bool {
        x >= self.x0 as f64 && x < self.x1 as f64 && y >= self.y0 as f64 && y < self.y1 as f64
    }

    pub fn expand(&self, by: i32) -> PixelRect {
        PixelRect {
            x0: self.x0 - by,
            y0: self.y0 - by,
            x1: self.x1 + by,
            y1: self.y1 + by,
        }
    }
}

/// An image plus the rectangle that drawing is confined to.
pub struct Canvas<'a> {
    pub img: &'a mut RgbImage,
    pub clip: PixelRect,
}

/// Per-pixel coverage in `[0, 1]` over a rectangle, combined by maximum.
pub struct Mask {
    rect: PixelRect,
    coverage: Vec<f32>,
}

impl Mask {
    pub fn new(rect: PixelRect) -> Self {
        let len = rect.width() as usize * rect.height() as usize;
        Self {
            rect,
            coverage: vec![0.0; len],
        }
    }

    /// Evaluates `coverage_at(pixel_centre_x, pixel_centre_y)` over the pixels
    /// of the box `[x0, x1] x [y0, y1]` and keeps the larger coverage.
    fn paint(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, coverage_at: impl Fn(f64, f64) -> f32) {
        if !(x0.is_finite() && y0.is_finite() && x1.is_finite() && y1.is_finite()) {
            return;
        }
        let px0 = (x0.floor() as i32).max(self.rect.x0);
        let py0 = (y0.floor() as i32).max(self.rect.y0);
        let px1 = (x1.ceil() as i32 + 1).min(self.rect.x1);
        let py1 = (y1.ceil() as i32 + 1).min(self.rect.y1);
        let w = self.rect.width() as usize;
        for py in py0..py1 {
            for px in px0..px1 {
                let c = coverage_at(px as f64 + 0.5, py as f64 + 0.5);
                if c > 0.0 {
                    let i = (py - self.rect.y0) as usize * w + (px - self.rect.x0) as usize;
                    if c > self.coverage[i] {
                        self.coverage[i] = c.min(1.0);
                    }
                }
            }
        }
    }

    /// A segment of width `width` with round caps.
    pub fn capsule(&mut self, a: (f64, f64), b: (f64, f64), width: f64) {
        let r = width / 2.0;
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        self.paint(
            a.0.min(b.0) - r,
            a.1.min(b.1) - r,
            a.0.max(b.0) + r,
            a.1.max(b.1) + r,
            |x, y| {
                let t = if len2 > 0.0 {
                    (((x - a.0) * dx + (y - a.1) * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (qx, qy) = (a.0 + t * dx - x, a.1 + t * dy - y);
                (r + 0.5 - (qx * qx + qy * qy).sqrt()).clamp(0.0, 1.0) as f32
            },
        );
    }

    /// A filled circle.
    pub fn disc(&mut self, c: (f64, f64), radius: f64) {
        self.paint(
            c.0 - radius,
            c.1 - radius,
            c.0 + radius,
            c.1 + radius,
            |x, y| (radius + 0.5 - (x - c.0).hypot(y - c.1)).clamp(0.0, 1.0) as f32,
        );
    }

    /// A circular outline of the given stroke thickness.
    pub fn ring(&mut self, c: (f64, f64), radius: f64, thickness: f64) {
        let outer = radius + thickness;
        self.paint(
            c.0 - outer,
            c.1 - outer,
            c.0 + outer,
            c.1 + outer,
            |x, y| {
                let d = ((x - c.0).hypot(y - c.1) - radius).abs();
                (thickness / 2.0 + 0.5 - d).clamp(0.0, 1.0) as f32
            },
        );
    }

    /// A filled polygon (non-zero winding, any vertex order, convex or not), anti-aliased with
    /// exact horizontal coverage on 8 sub-rows per pixel row, so slanted band edges are smooth.
    pub fn polygon(&mut self, pts: &[(f64, f64)]) {
        const SUB: usize = 8;
        if pts.len() < 3 || pts.iter().any(|p| !p.0.is_finite() || !p.1.is_finite()) {
            return;
        }
        let (y_min, y_max) = pts.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
        let row0 = (y_min.floor() as i32).max(self.rect.y0);
        let row1 = (y_max.ceil() as i32).min(self.rect.y1);
        let w = self.rect.width() as usize;
        let mut row = vec![0f32; w];
        let mut crossings: Vec<(f64, i32)> = Vec::new();
        for py in row0..row1 {
            row.iter_mut().for_each(|c| *c = 0.0);
            for sub in 0..SUB {
                let y = py as f64 + (sub as f64 + 0.5) / SUB as f64;
                crossings.clear();
                for i in 0..pts.len() {
                    let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
                    if (a.1 <= y) != (b.1 <= y) {
                        let x = a.0 + (y - a.1) / (b.1 - a.1) * (b.0 - a.0);
                        crossings.push((x, if b.1 > a.1 { 1 } else { -1 }));
                    }
                }
                crossings.sort_by(|p, q| p.0.total_cmp(&q.0));
                let mut winding = 0;
                for pair in crossings.windows(2) {
                    winding += pair[0].1;
                    if winding != 0 {
                        self.add_span(&mut row, pair[0].0, pair[1].0, 1.0 / SUB as f32);
                    }
                }
            }
            let base = (py - self.rect.y0) as usize * w;
            for (i, &c) in row.iter().enumerate() {
                let cell = &mut self.coverage[base + i];
                *cell = cell.max(c.min(1.0));
            }
        }
    }

    /// Adds `weight` times the overlap of `[x0, x1)` with each pixel column to `row`.
    fn add_span(&self, row: &mut [f32], x0: f64, x1: f64, weight: f32) {
        let x0 = x0.max(self.rect.x0 as f64);
        let x1 = x1.min(self.rect.x1 as f64);
        if x1 <= x0 {
            return;
        }
        for px in (x0.floor() as i32)..(x1.ceil() as i32) {
            let overlap = (x1.min(px as f64 + 1.0) - x0.max(px as f64)).clamp(0.0, 1.0);
            row[(px - self.rect.x0) as usize] += weight * overlap as f32;
        }
    }

    /// A polyline of `width`, optionally dashed with `[on, off]` lengths in
    /// pixels measured along the line, so dashes flow across vertices.
    pub fn polyline(&mut self, pts: &[(f64, f64)], width: f64, dash: Option<[f64; 2]>) {
        match pts {
            [] => {}
            [p] => self.disc(*p, width / 2.0),
            _ => match dash {
                None => {
                    for w in pts.windows(2) {
                        self.capsule(w[0], w[1], width);
                    }
                }
                Some([on, off]) => self.dashed(pts, width, on.max(1.0), off.max(1.0)),
            },
        }
    }

    fn dashed(&mut self, pts: &[(f64, f64)], width: f64, on: f64, off: f64) {
        let period = on + off;
        let mut start = 0.0; // arc length at the start of the current segment
        for w in pts.windows(2) {
            let (a, b) = (w[0], w[1]);
            let len = (b.0 - a.0).hypot(b.1 - a.1);
            if !len.is_finite() {
                continue;
            }
            // Only walk the visible part of the segment; far off-screen points
            // would otherwise mean millions of invisible dashes.
            if let Some((s0, s1)) = self.visible_span(a, b, len, width) {
                let at = |s: f64| (a.0 + (b.0 - a.0) * s / len, a.1 + (b.1 - a.1) * s / len);
                let mut s = s0;
                while s < s1 {
                    let phase = (start + s).rem_euclid(period);
                    let (drawing, left) = if phase < on {
                        (true, on - phase)
                    } else {
                        (false, period - phase)
                    };
                    let e = (s + left.max(1e-6)).min(s1);
                    if drawing {
                        self.capsule(at(s), at(e), width);
                    }
                    s = e;
                }
            }
            start += len;
        }
    }

    /// Arc-length interval of segment `a`-`b` (of length `len`) inside the
    /// mask rectangle grown by the line width (Liang-Barsky clipping).
    fn visible_span(
        &self,
        a: (f64, f64),
        b: (f64, f64),
        len: f64,
        width: f64,
    ) -> Option<(f64, f64)> {
        let r = self.rect.expand(width.ceil() as i32 + 1);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        for (p, q) in [
            (-dx, a.0 - r.x0 as f64),
            (dx, r.x1 as f64 - a.0),
            (-dy, a.1 - r.y0 as f64),
            (dy, r.y1 as f64 - a.1),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    return None;
                }
            } else {
                let t = q / p;
                if p < 0.0 {
                    t0 = t0.max(t);
                } else {
                    t1 = t1.min(t);
                }
            }
        }
        (t0 < t1).then_some((t0 * len, t1 * len))
    }

    /// Blends `color` into the canvas with the mask's coverage times `alpha`.
    pub fn composite(&self, canvas: &mut Canvas, color: [u8; 3], alpha: f32) {
        let w = self.rect.width() as usize;
        for (i, &c) in self.coverage.iter().enumerate() {
            if c > 0.0 {
                let x = self.rect.x0 + (i % w) as i32;
                let y = self.rect.y0 + (i / w) as i32;
                canvas.blend(x, y, color, c * alpha);
            }
        }
    }
}

impl<'a> Canvas<'a> {
    /// A canvas covering the whole image.
    pub fn new(img: &'a mut RgbImage) -> Self {
        let clip = PixelRect::new(0, 0, img.width() as i32, img.height() as i32);
        Self { img, clip }
    }

    /// The same image confined to `rect` (intersected with the current clip).
    pub fn clipped(&mut self, rect: PixelRect) -> Canvas<'_> {
        let clip = self.clip.intersect(&rect);
        Canvas {
            img: self.img,
            clip,
        }
    }

    /// A blank mask covering the clip rectangle.
    pub fn mask(&self) -> Mask {
        Mask::new(self.clip)
    }

    /// Mixes `color` over the pixel with opacity `alpha` (clamped to [0, 1]).
    pub fn blend(&mut self, x: i32, y: i32, color: [u8; 3], alpha: f32) {
        if x < self.clip.x0 || x >= self.clip.x1 || y < self.clip.y0 || y >= self.clip.y1 {
            return;
        }
        let a = alpha.clamp(0.0, 1.0);
        let px = self.img.get_pixel_mut(x as u32, y as u32);
        if a >= 1.0 {
            *px = Rgb(color);
            return;
        }
        for (dst, &src) in px.0.iter_mut().zip(&color) {
            *dst = (src as f32 * a + *dst as f32 * (1.0 - a)).round() as u8;
        }
    }

    pub fn fill_rect(&mut self, rect: PixelRect, color: [u8; 3], alpha: f32) {
        let r = rect.intersect(&self.clip);
        for y in r.y0..r.y1 {
            for x in r.x0..r.x1 {
                self.blend(x, y, color, alpha);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank(w: u32, h: u32) -> RgbImage {
        RgbImage::from_pixel(w, h, Rgb([255; 3]))
    }

    #[test]
    fn polyline_covers_its_path_and_respects_clip() {
        let mut img = blank(50, 50);
        let mut canvas = Canvas::new(&mut img);
        let mut clipped = canvas.clipped(PixelRect::new(10, 10, 30, 30));
        let mut mask = clipped.mask();
        mask.polyline(&[(0.0, 25.0), (50.0, 25.0)], 2.5, None);
        mask.composite(&mut clipped, [0, 0, 255], 1.0);
        assert_eq!(img.get_pixel(25, 24).0, [0, 0, 255]);
        assert_eq!(img.get_pixel(25, 25).0, [0, 0, 255]);
        assert_eq!(img.get_pixel(5, 25).0, [255; 3], "outside the clip");
        assert_eq!(img.get_pixel(25, 30).0, [255; 3], "far from the line");
    }

    #[test]
    fn dashes_leave_gaps() {
        let mut img = blank(100, 10);
        let mut canvas = Canvas::new(&mut img);
        let mut mask = canvas.mask();
        mask.polyline(
            &[(0.0, 5.0), (40.0, 5.0), (100.0, 5.0)],
            2.0,
            Some([6.0, 4.0]),
        );
        mask.composite(&mut canvas, [0, 0, 0], 1.0);
        let row: Vec<bool> = (0..100)
            .map(|x| img.get_pixel(x, 5).0 == [0, 0, 0])
            .collect();
        assert!(row[3] && !row[8] && row[13] && !row[18], "{row:?}");
        // The dash pattern continues across the vertex at x = 40.
        assert!(row[43] && !row[48]);
    }

    #[test]
    fn polygons_fill_by_winding_with_smooth_edges() {
        let mut img = blank(40, 40);
        let mut canvas = Canvas::new(&mut img);
        let mut mask = canvas.mask();
        // A non-convex "L" (clockwise) and a slanted edge.
        mask.polygon(&[
            (2.0, 2.0),
            (20.0, 2.0),
            (20.0, 10.0),
            (10.0, 10.0),
            (10.0, 30.0),
            (2.0, 30.0),
        ]);
        mask.polygon(&[(25.0, 5.0), (38.0, 5.0), (38.0, 35.0)]);
        mask.composite(&mut canvas, [0, 0, 0], 0.5);
        assert_eq!(
            img.get_pixel(5, 20).0,
            [128; 3],
            "inside the L, blended once"
        );
        assert_eq!(img.get_pixel(15, 20).0, [255; 3], "in the L's notch");
        // Pixels along the slanted edge get partial coverage, not a staircase of 0 and 1.
        let partial = (5..35)
            .filter(|&y| {
                (26..38).any(|x| {
                    let v = img.get_pixel(x, y).0[0];
                    v > 128 && v < 255
                })
            })
            .count();
        assert!(partial >= 25, "{partial}");
    }

    #[test]
    fn shapes_and_non_finite_input_do_not_panic() {
        let mut img = blank(20, 20);
        let mut canvas = Canvas::new(&mut img);
        let mut mask = canvas.mask();
        mask.disc((10.0, 10.0), 3.0);
        mask.ring((10.0, 10.0), 6.0, 2.0);
        mask.polygon(&[(5.0, 5.0), (15.0, 5.0), (10.0, 14.0)]);
        mask.polygon(&[(1.0, f64::NAN), (3.0, 3.0), (4.0, 1.0)]);
        mask.capsule((f64::NAN, 0.0), (3.0, 3.0), 2.0);
        mask.polyline(&[(-1e9, -1e9), (1e9, 1e9)], 2.0, Some([3.0, 3.0]));
        mask.composite(&mut canvas, [255, 0, 0], 1.0);
        assert_eq!(img.get_pixel(10, 10).0, [255, 0, 0]);
    }
}
