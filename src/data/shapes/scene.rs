//! The scene renderer: one textured shape over a textured background with distractor blobs.
//!
//! Public and independent of [`super::ShapesDataset`] so variants (cue-conflict, silhouette,
//! edge, stylized) can build a [`SceneSpec`] by hand and reuse exactly the same pixels.

use serde::{Deserialize, Serialize};

use super::geometry::{Pose, Shape};
use super::texture::{TextureId, TextureInstance};
use crate::data::rng::Rng;
use crate::data::{ImageF32, Sample, mask_bbox};

/// A small non-class blob drawn behind the object; never part of the mask.
///
/// Its outline is an ellipse whose radius wobbles with angle, `r(θ) = radius * (1 + w0 sin(2θ +
/// w1) + w2 sin(3θ + w3))`, in the ellipse's own (stretched) frame, so it is irregular rather
/// than a clean class-like shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Distractor {
    /// Centre as a fraction of the image side.
    pub center: (f32, f32),
    /// Radius (of the unstretched axis) as a fraction of the image side.
    pub radius: f32,
    /// Length ratio of the long to the short axis, >= 1.
    pub aspect: f32,
    pub rotation: f32,
    /// Outline wobble: amplitude and phase of the 2nd and 3rd harmonic.
    pub wobble: [f32; 4],
    pub texture: TextureId,
}

impl Distractor {
    /// Whether the centre of pixel (x, y) lies inside, for an image of side `size`.
    #[inline]
    fn contains(&self, x: usize, y: usize, size: usize) -> bool {
        let s = size as f32;
        let r = (self.radius * s).max(0.5);
        let dx = (x as f32 + 0.5 - self.center.0 * s) / r;
        let dy = (y as f32 + 0.5 - self.center.1 * s) / r;
        let (c, sn) = (self.rotation.cos(), self.rotation.sin());
        let u = (c * dx + sn * dy) / self.aspect;
        let v = -sn * dx + c * dy;
        let d2 = u * u + v * v;
        if d2 > 2.5 {
            return false;
        }
        let theta = v.atan2(u);
        let edge = 1.0
            + self.wobble[0] * (2.0 * theta + self.wobble[1]).sin()
            + self.wobble[2] * (3.0 * theta + self.wobble[3]).sin();
        d2 <= edge * edge
    }

    /// Conservative pixel bounds `[lo, hi)` per axis.
    fn pixel_bounds(&self, size: usize) -> ((usize, usize), (usize, usize)) {
        let s = size as f32;
        let reach = self.radius * s * self.aspect * 1.6 + 1.0;
        let clip = |c: f32| {
            let lo = (c - reach).floor().max(0.0) as usize;
            let hi = ((c + reach).ceil().max(0.0) as usize).min(size);
            (lo.min(size), hi)
        };
        (clip(self.center.0 * s), clip(self.center.1 * s))
    }
}

/// Everything that determines a rendered sample except per-pixel texture randomness.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SceneSpec {
    /// Shape class (index into [`super::SHAPE_CLASSES`]); the sample's label.
    pub shape: usize,
    pub object_texture: TextureId,
    pub background: TextureId,
    /// Object centre as a fraction of the image side.
    pub center: (f32, f32),
    /// Diameter of the shape's bounding circle as a fraction of the image side.
    pub scale: f32,
    /// Radians.
    pub rotation: f32,
    /// Drawn in order, behind the object.
    pub distractors: Vec<Distractor>,
}

/// Render `spec` at `size` x `size`. `seed` drives texture jitter (palette, phase, angle) and
/// grain only; geometry comes entirely from `spec`. Label = `spec.shape`; the mask is exactly
/// [`super::shape_mask`] of the spec's pose; one box, tight around the mask (none when the
/// object is entirely outside the image).
pub fn render_scene(spec: &SceneSpec, size: usize, seed: u64) -> Sample {
    let mut rng = Rng::new(seed);
    let background = TextureInstance::new(spec.background, size, &mut rng);
    let object = TextureInstance::new(spec.object_texture, size, &mut rng);
    let distractor_textures: Vec<TextureInstance> = spec
        .distractors
        .iter()
        .map(|d| TextureInstance::new(d.texture, size, &mut rng))
        .collect();

    // Layer ids per pixel: 0 = background, 1 + k = distractor k, u8::MAX = object. Painting
    // ids first and colours after evaluates each texture only where it is visible.
    let mut layer = vec![0u8; size * size];
    for (k, d) in spec
        .distractors
        .iter()
        .enumerate()
        .take(usize::from(u8::MAX) - 1)
    {
        let ((x0, x1), (y0, y1)) = d.pixel_bounds(size);
        for y in y0..y1 {
            for x in x0..x1 {
                if d.contains(x, y, size) {
                    layer[y * size + x] = 1 + k as u8;
                }
            }
        }
    }
    let shape = Shape::new(spec.shape);
    let pose = Pose::new(spec.center, spec.scale, spec.rotation, size);
    let mut mask = vec![0u8; size * size];
    let ((x0, x1), (y0, y1)) = pose.pixel_bounds(size);
    for y in y0..y1 {
        for x in x0..x1 {
            let (u, v) = pose.canonical(x, y);
            if shape.contains(u, v) {
                mask[y * size + x] = 1;
                layer[y * size + x] = u8::MAX;
            }
        }
    }

    let mut image = ImageF32::zeros(size, size);
    for y in 0..size {
        for x in 0..size {
            let rgb = match layer[y * size + x] {
                0 => background.pixel(x, y),
                u8::MAX => object.pixel(x, y),
                k => distractor_textures[usize::from(k) - 1].pixel(x, y),
            };
            image.set_pixel(x, y, rgb);
        }
    }
    let boxes = mask_bbox(&mask, size).into_iter().collect();
    Sample {
        image,
        label: spec.shape,
        mask: Some(mask),
        boxes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::shapes::shape_mask;

    fn spec() -> SceneSpec {
        SceneSpec {
            shape: 3,
            object_texture: TextureId::Class(3),
            background: TextureId::Background(1),
            center: (0.5, 0.45),
            scale: 0.6,
            rotation: 0.4,
            distractors: vec![Distractor {
                center: (0.5, 0.45),
                radius: 0.06,
                aspect: 1.2,
                rotation: 0.0,
                wobble: [0.2, 0.0, 0.1, 1.0],
                texture: TextureId::Solid([1.0, 0.0, 1.0]),
            }],
        }
    }

    #[test]
    fn mask_equals_geometry_and_distractor_is_behind() {
        let s = spec();
        let sample = render_scene(&s, 48, 5);
        assert_eq!(sample.label, 3);
        let mask = sample.mask.as_ref().unwrap();
        assert_eq!(*mask, shape_mask(3, s.center, s.scale, s.rotation, 48));
        // The distractor sits at the object centre, where the star is solid: fully hidden.
        let magenta = (0..48 * 48)
            .filter(|&i| sample.image.pixel(i % 48, i / 48) == [1.0, 0.0, 1.0])
            .count();
        assert_eq!(magenta, 0);
        // Moved away from the object, it shows, and stays out of the mask.
        let mut s2 = s.clone();
        s2.distractors[0].center = (0.08, 0.9);
        let sample2 = render_scene(&s2, 48, 5);
        let shown: Vec<usize> = (0..48 * 48)
            .filter(|&i| sample2.image.pixel(i % 48, i / 48) == [1.0, 0.0, 1.0])
            .collect();
        assert!(shown.len() > 10);
        assert!(
            shown
                .iter()
                .all(|&i| sample2.mask.as_ref().unwrap()[i] == 0)
        );
    }

    #[test]
    fn silhouette_variant_is_two_colours() {
        let mut s = spec();
        s.object_texture = TextureId::Solid([0.0; 3]);
        s.background = TextureId::Solid([1.0; 3]);
        s.distractors.clear();
        let sample = render_scene(&s, 32, 1);
        let mask = sample.mask.unwrap();
        for (i, m) in mask.iter().enumerate() {
            let expected = if *m == 1 { 0.0 } else { 1.0 };
            assert_eq!(sample.image.pixel(i % 32, i / 32), [expected; 3]);
        }
    }
}
