//! Shape geometry: which points of the canonical frame belong to each class shape.
//!
//! Canonical frame: the shape is centred at the origin and fits inside the unit disc; `u` points
//! right and `v` points down (image convention). A pose maps it into the image: the unit disc
//! becomes a disc of diameter `scale * size` pixels centred at `center * size`, rotated by
//! `rotation` radians. Membership is an exact point test (pixel centre inside), so masks are
//! binary and need no supersampling.

use std::f32::consts::{FRAC_PI_2, TAU};

/// The class names, index = label.
pub const SHAPE_CLASSES: [&str; 10] = [
    "circle", "square", "triangle", "star", "cross", "heart", "ring", "crescent", "arrow",
    "hexagon",
];

/// A shape in the canonical frame, with its polygon (if any) precomputed.
#[derive(Clone, Debug)]
pub struct Shape {
    class: usize,
    polygon: Vec<(f32, f32)>,
}

impl Shape {
    /// The shape of class `class` (index into [`SHAPE_CLASSES`]).
    pub fn new(class: usize) -> Self {
        assert!(
            class < SHAPE_CLASSES.len(),
            "shape class {class} out of range"
        );
        let polygon = match class {
            1 => vec![(-0.7, -0.7), (0.7, -0.7), (0.7, 0.7), (-0.7, 0.7)],
            // Equilateral, pointing up, centroid at the origin.
            2 => regular(3, 1.0, -FRAC_PI_2),
            3 => star(5, 1.0, 0.42),
            // Shaft on the left, head on the right; spans u in [-0.95, 0.95].
            8 => vec![
                (-0.95, -0.2),
                (0.2, -0.2),
                (0.2, -0.6),
                (0.95, 0.0),
                (0.2, 0.6),
                (0.2, 0.2),
                (-0.95, 0.2),
            ],
            9 => regular(6, 1.0, 0.0),
            _ => Vec::new(),
        };
        Self { class, polygon }
    }

    pub fn class(&self) -> usize {
        self.class
    }

    /// Whether the canonical point (u, v) lies inside the shape.
    #[inline]
    pub fn contains(&self, u: f32, v: f32) -> bool {
        let r2 = u * u + v * v;
        if r2 > 1.0 {
            return false;
        }
        match self.class {
            0 => r2 <= 0.8 * 0.8,
            4 => {
                let (au, av) = (u.abs(), v.abs());
                (au <= 0.28 && av <= 0.92) || (av <= 0.28 && au <= 0.92)
            }
            5 => heart(u, v),
            6 => (0.47 * 0.47..=0.92 * 0.92).contains(&r2),
            7 => r2 <= 0.92 * 0.92 && (u - 0.42).powi(2) + (v + 0.08).powi(2) > 0.74 * 0.74,
            _ => point_in_polygon(&self.polygon, u, v),
        }
    }
}

/// Classic implicit heart `(x²+y²-1)³ - x²y³ <= 0`, lobes up, scaled into the unit disc.
#[inline]
fn heart(u: f32, v: f32) -> bool {
    let x = u * 1.3;
    let y = -v * 1.3 + 0.2;
    let a = x * x + y * y - 1.0;
    a * a * a - x * x * y * y * y <= 0.0
}

/// Vertices of a regular `n`-gon of circumradius `r`, first vertex at angle `start`.
fn regular(n: usize, r: f32, start: f32) -> Vec<(f32, f32)> {
    (0..n)
        .map(|i| {
            let a = start + TAU * i as f32 / n as f32;
            (r * a.cos(), r * a.sin())
        })
        .collect()
}

/// A star with `points` tips at radius `outer` and notches at radius `inner`, tip up.
fn star(points: usize, outer: f32, inner: f32) -> Vec<(f32, f32)> {
    (0..2 * points)
        .map(|i| {
            let a = -FRAC_PI_2 + TAU * i as f32 / (2 * points) as f32;
            let r = if i % 2 == 0 { outer } else { inner };
            (r * a.cos(), r * a.sin())
        })
        .collect()
}

/// Even-odd crossing test.
#[inline]
fn point_in_polygon(poly: &[(f32, f32)], x: f32, y: f32) -> bool {
    let mut inside = false;
    let mut j = poly.len() - 1;
    for i in 0..poly.len() {
        let (xi, yi) = poly[i];
        let (xj, yj) = poly[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Maps image pixel centres into a shape's canonical frame.
#[derive(Clone, Copy, Debug)]
pub struct Pose {
    /// Centre in pixels.
    pub cx: f32,
    pub cy: f32,
    /// Radius of the canonical unit disc in pixels.
    pub radius: f32,
    cos: f32,
    sin: f32,
}

impl Pose {
    /// `center` as a fraction of the image side, `scale` = diameter of the unit disc as a
    /// fraction of the side, `rotation` in radians (clockwise on screen, since v points down).
    pub fn new(center: (f32, f32), scale: f32, rotation: f32, size: usize) -> Self {
        let s = size as f32;
        Self {
            cx: center.0 * s,
            cy: center.1 * s,
            radius: (scale * s * 0.5).max(1e-6),
            cos: rotation.cos(),
            sin: rotation.sin(),
        }
    }

    /// Canonical coordinates of the centre of pixel (x, y) (inverse rotation, then unscale).
    #[inline]
    pub fn canonical(&self, x: usize, y: usize) -> (f32, f32) {
        let dx = (x as f32 + 0.5 - self.cx) / self.radius;
        let dy = (y as f32 + 0.5 - self.cy) / self.radius;
        (
            self.cos * dx + self.sin * dy,
            -self.sin * dx + self.cos * dy,
        )
    }

    /// Pixel range `[lo, hi)` per axis that can contain the unit disc, clipped to the image.
    pub fn pixel_bounds(&self, size: usize) -> ((usize, usize), (usize, usize)) {
        let clip = |c: f32| {
            let lo = (c - self.radius - 1.0).floor().max(0.0) as usize;
            let hi = ((c + self.radius + 1.0).ceil().max(0.0) as usize).min(size);
            (lo.min(size), hi)
        };
        (clip(self.cx), clip(self.cy))
    }
}

/// The geometry alone: the binary mask (`size * size`, row-major, 1 = inside) of class `shape`
/// at the given pose. `center` is a fraction of the image side, `scale` the diameter of the
/// shape's bounding circle as a fraction of the side, `rotation` in radians.
pub fn shape_mask(
    shape: usize,
    center: (f32, f32),
    scale: f32,
    rotation: f32,
    size: usize,
) -> Vec<u8> {
    let shape = Shape::new(shape);
    let pose = Pose::new(center, scale, rotation, size);
    let mut mask = vec![0u8; size * size];
    let ((x0, x1), (y0, y1)) = pose.pixel_bounds(size);
    for y in y0..y1 {
        for x in x0..x1 {
            let (u, v) = pose.canonical(x, y);
            mask[y * size + x] = shape.contains(u, v) as u8;
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iou(a: &[u8], b: &[u8]) -> f32 {
        let inter = a
            .iter()
            .zip(b)
            .filter(|(x, y)| **x != 0 && **y != 0)
            .count();
        let union = a
            .iter()
            .zip(b)
            .filter(|(x, y)| **x != 0 || **y != 0)
            .count();
        inter as f32 / union.max(1) as f32
    }

    #[test]
    fn classes_are_distinguishable_at_the_same_pose() {
        for rotation in [0.0, 0.3, 1.0, 2.5] {
            let masks: Vec<Vec<u8>> = (0..SHAPE_CLASSES.len())
                .map(|c| shape_mask(c, (0.5, 0.5), 0.8, rotation, 96))
                .collect();
            for a in 0..masks.len() {
                assert!(
                    masks[a].iter().any(|m| *m != 0),
                    "{} empty",
                    SHAPE_CLASSES[a]
                );
                for b in a + 1..masks.len() {
                    let v = iou(&masks[a], &masks[b]);
                    assert!(
                        v < 0.9,
                        "{} vs {} IoU {v} at rotation {rotation}",
                        SHAPE_CLASSES[a],
                        SHAPE_CLASSES[b]
                    );
                }
            }
        }
    }

    #[test]
    fn shapes_fit_in_unit_disc_and_are_substantial() {
        let n = 400;
        for (class, name) in SHAPE_CLASSES.iter().enumerate() {
            let shape = Shape::new(class);
            let mut inside = 0;
            let mut max_r: f32 = 0.0;
            for i in 0..n {
                for j in 0..n {
                    let u = -1.2 + 2.4 * (i as f32 + 0.5) / n as f32;
                    let v = -1.2 + 2.4 * (j as f32 + 0.5) / n as f32;
                    if shape.contains(u, v) {
                        inside += 1;
                        max_r = max_r.max((u * u + v * v).sqrt());
                    }
                }
            }
            let area = inside as f32 * (2.4 / n as f32).powi(2);
            assert!(max_r <= 1.0, "{name} reaches r={max_r}");
            // Every shape extends to most of the disc, so `scale` means roughly the same size.
            assert!(max_r > 0.75, "{name} only reaches r={max_r}");
            assert!(area > 0.8, "{name} area {area}");
        }
    }

    #[test]
    fn rotation_turns_asymmetric_shapes() {
        let a = shape_mask(8, (0.5, 0.5), 0.8, 0.0, 48);
        let b = shape_mask(8, (0.5, 0.5), 0.8, std::f32::consts::PI, 48);
        assert!(iou(&a, &b) < 0.7);
        // The arrow points right at rotation 0: more mass on the right of the shaft's end.
        let right_tip = a[24 * 48 + 40];
        assert_eq!(right_tip, 1);
    }

    #[test]
    fn mask_clipped_at_border_and_empty_outside() {
        let m = shape_mask(0, (0.0, 0.0), 0.5, 0.0, 32);
        assert_eq!(m[0], 1);
        assert_eq!(m[31 * 32 + 31], 0);
        let m = shape_mask(0, (3.0, 3.0), 0.5, 0.0, 32);
        assert!(m.iter().all(|v| *v == 0));
    }
}
