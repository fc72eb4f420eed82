//! Procedural texture bank.
//!
//! Three disjoint families, so experiments can separate shape from texture cues:
//! - class textures (one per shape class, strongly saturated, each with its own palette and
//!   pattern) — the texture cue that correlates with the label;
//! - held-out textures, never used by the generated train/val splits, for "stylized" variants;
//! - background textures: muted and cluttered, so the object stands out but is not trivially
//!   segmentable by a flat colour.
//!
//! Textures live in image coordinates (pixels); each instance jitters palette, angle, period
//! and phase from a seed, so no two samples share exactly the same pixels while the texture
//! identity stays recognisable.

use std::f32::consts::TAU;

use serde::{Deserialize, Serialize};

use super::pattern::{
    blobs, confetti, dist, fbm, fract, hue_colour, lerp, near_segment, ramp3, rects, smooth,
    unit_hash, value_noise, voronoi,
};
use crate::data::rng::Rng;

/// Names of the class textures; index k is the texture of shape class k.
pub const CLASS_TEXTURES: [&str; 10] = [
    "stripes",
    "checker",
    "dots",
    "waves",
    "noise",
    "grid",
    "zigzag",
    "concentric",
    "gradient",
    "bricks",
];
/// Names of the held-out textures (never in generated train/val samples).
pub const HELD_OUT_TEXTURES: [&str; 5] = ["voronoi", "plaid", "spiral", "marble", "confetti"];
/// Names of the background textures.
pub const BACKGROUND_TEXTURES: [&str; 5] = ["earth", "blobs", "lines", "haze", "rects"];

/// Which texture fills a region.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextureId {
    /// Index into [`CLASS_TEXTURES`].
    Class(usize),
    /// Index into [`HELD_OUT_TEXTURES`].
    HeldOut(usize),
    /// Index into [`BACKGROUND_TEXTURES`].
    Background(usize),
    /// A flat colour, exactly (no grain): for silhouettes and similar variants.
    Solid([f32; 3]),
}

impl TextureId {
    /// Human-readable name, e.g. "class:stripes".
    pub fn name(&self) -> String {
        match *self {
            TextureId::Class(k) => format!("class:{}", CLASS_TEXTURES[k]),
            TextureId::HeldOut(k) => format!("heldout:{}", HELD_OUT_TEXTURES[k]),
            TextureId::Background(k) => format!("background:{}", BACKGROUND_TEXTURES[k]),
            TextureId::Solid(c) => format!("solid:{:.3},{:.3},{:.3}", c[0], c[1], c[2]),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pattern {
    Stripes,
    Checker,
    Dots,
    Waves,
    ColourNoise,
    Grid,
    Zigzag,
    Concentric,
    Gradient,
    Bricks,
    Voronoi,
    Plaid,
    Spiral,
    Marble,
    Confetti,
    Earth,
    Blobs,
    Lines,
    Haze,
    Rects,
    Solid,
}

/// Static description of a texture: pattern, base palette, period (fraction of image side),
/// base angle and angle jitter (degrees), palette jitter.
struct TextureDef {
    pattern: Pattern,
    palette: [[f32; 3]; 3],
    period: f32,
    angle: f32,
    angle_jitter: f32,
    colour_jitter: f32,
}

const fn def(
    pattern: Pattern,
    palette: [[f32; 3]; 3],
    period: f32,
    angle: f32,
    angle_jitter: f32,
    colour_jitter: f32,
) -> TextureDef {
    TextureDef {
        pattern,
        palette,
        period,
        angle,
        angle_jitter,
        colour_jitter,
    }
}

const K: [f32; 3] = [0.0, 0.0, 0.0];
#[rustfmt::skip]
const CLASS_DEFS: [TextureDef; 10] = [
    def(Pattern::Stripes, [[0.85, 0.1, 0.12], [1.0, 0.82, 0.2], K], 0.14, 45.0, 12.0, 0.06),
    def(Pattern::Checker, [[0.08, 0.12, 0.55], [0.95, 0.95, 0.95], K], 0.22, 0.0, 15.0, 0.06),
    def(Pattern::Dots, [[0.04, 0.22, 0.08], [0.55, 1.0, 0.3], K], 0.16, 0.0, 45.0, 0.06),
    def(Pattern::Waves, [[0.42, 0.08, 0.6], [1.0, 0.55, 0.85], K], 0.17, 0.0, 15.0, 0.06),
    def(Pattern::ColourNoise, [[1.0, 0.5, 0.0], [0.35, 0.12, 0.02], [1.0, 0.92, 0.35]], 0.13, 0.0, 0.0, 0.05),
    def(Pattern::Grid, [[0.03, 0.08, 0.3], [0.2, 0.95, 1.0], K], 0.2, 0.0, 20.0, 0.06),
    def(Pattern::Zigzag, [[0.82, 0.08, 0.65], [1.0, 1.0, 0.6], K], 0.17, 90.0, 12.0, 0.06),
    def(Pattern::Concentric, [[0.0, 0.48, 0.48], [0.97, 0.88, 0.7], K], 0.13, 0.0, 0.0, 0.06),
    def(Pattern::Gradient, [[0.2, 0.5, 1.0], [0.6, 0.95, 0.15], K], 0.55, 0.0, 180.0, 0.06),
    def(Pattern::Bricks, [[0.68, 0.22, 0.12], [0.86, 0.86, 0.8], K], 0.22, 0.0, 10.0, 0.06),
];
#[rustfmt::skip]
const HELD_OUT_DEFS: [TextureDef; 5] = [
    def(Pattern::Voronoi, [[0.05, 0.05, 0.05], K, K], 0.2, 0.0, 0.0, 0.0),
    def(Pattern::Plaid, [[0.1, 0.4, 0.22], [0.8, 0.1, 0.12], [0.05, 0.05, 0.1]], 0.3, 0.0, 10.0, 0.06),
    def(Pattern::Spiral, [[0.08, 0.08, 0.08], [1.0, 0.62, 0.1], K], 0.2, 0.0, 180.0, 0.06),
    def(Pattern::Marble, [[0.93, 0.93, 0.96], [0.25, 0.3, 0.5], K], 0.35, 0.0, 180.0, 0.04),
    def(Pattern::Confetti, [[0.98, 0.98, 0.98], K, K], 0.12, 0.0, 0.0, 0.02),
];
#[rustfmt::skip]
const BACKGROUND_DEFS: [TextureDef; 5] = [
    def(Pattern::Earth, [[0.5, 0.44, 0.35], [0.28, 0.3, 0.24], K], 0.25, 0.0, 0.0, 0.12),
    def(Pattern::Blobs, [[0.55, 0.55, 0.52], [0.38, 0.42, 0.45], [0.6, 0.5, 0.42]], 0.18, 0.0, 0.0, 0.12),
    def(Pattern::Lines, [[0.66, 0.64, 0.58], [0.3, 0.3, 0.32], K], 0.15, 0.0, 0.0, 0.12),
    def(Pattern::Haze, [[0.42, 0.48, 0.55], [0.62, 0.64, 0.66], K], 0.4, 0.0, 0.0, 0.12),
    def(Pattern::Rects, [[0.5, 0.5, 0.48], [0.36, 0.33, 0.3], [0.62, 0.6, 0.52]], 0.2, 0.0, 0.0, 0.12),
];

/// Smallest pattern period in pixels: below this, tiny images would turn patterns into noise.
const MIN_PERIOD_PX: f32 = 5.0;
/// Amplitude of the per-pixel grain added to every non-solid texture.
const GRAIN: f32 = 0.03;

/// A texture with all random parameters drawn: evaluate it at any pixel.
#[derive(Clone, Debug)]
pub struct TextureInstance {
    pattern: Pattern,
    palette: [[f32; 3]; 3],
    cos: f32,
    sin: f32,
    /// Pattern period in pixels.
    period: f32,
    /// Phase offsets in periods.
    phase: (f32, f32),
    /// A point in pixels (centre of concentric rings / spirals).
    origin: (f32, f32),
    seed: u64,
    grain: f32,
}

impl TextureInstance {
    /// Draw the parameters of texture `id` for an image of side `size`.
    pub fn new(id: TextureId, size: usize, rng: &mut Rng) -> Self {
        let d = match id {
            TextureId::Class(k) => &CLASS_DEFS[k],
            TextureId::HeldOut(k) => &HELD_OUT_DEFS[k],
            TextureId::Background(k) => &BACKGROUND_DEFS[k],
            TextureId::Solid(c) => {
                return Self {
                    pattern: Pattern::Solid,
                    palette: [c, c, c],
                    cos: 1.0,
                    sin: 0.0,
                    period: 1.0,
                    phase: (0.0, 0.0),
                    origin: (0.0, 0.0),
                    seed: 0,
                    grain: 0.0,
                };
            }
        };
        let mut palette = d.palette;
        for c in palette.iter_mut().flatten() {
            *c = (*c + rng.range(-d.colour_jitter, d.colour_jitter)).clamp(0.0, 1.0);
        }
        let angle = (d.angle + rng.range(-d.angle_jitter, d.angle_jitter)).to_radians();
        let s = size as f32;
        let period = (d.period * s * rng.range(0.85, 1.15)).max(MIN_PERIOD_PX);
        Self {
            pattern: d.pattern,
            palette,
            cos: angle.cos(),
            sin: angle.sin(),
            period,
            phase: (rng.uniform(), rng.uniform()),
            origin: (rng.range(0.2, 0.8) * s, rng.range(0.2, 0.8) * s),
            seed: rng.next_u64(),
            grain: GRAIN,
        }
    }

    /// Colour of pixel (x, y), in [0,1].
    #[inline]
    pub fn pixel(&self, x: usize, y: usize) -> [f32; 3] {
        let c = self.colour_at(x as f32 + 0.5, y as f32 + 0.5);
        if self.grain == 0.0 {
            return c;
        }
        let g = (unit_hash(x as i64, y as i64, self.seed ^ 0x5EED) - 0.5) * 2.0 * self.grain;
        [
            (c[0] + g).clamp(0.0, 1.0),
            (c[1] + g).clamp(0.0, 1.0),
            (c[2] + g).clamp(0.0, 1.0),
        ]
    }

    /// Noise-free colour at image point (px, py).
    fn colour_at(&self, px: f32, py: f32) -> [f32; 3] {
        let [c0, c1, c2] = self.palette;
        // Pattern coordinates in periods, rotated by the texture angle.
        let s = (self.cos * px + self.sin * py) / self.period + self.phase.0;
        let t = (-self.sin * px + self.cos * py) / self.period + self.phase.1;
        let pick = |b: bool| if b { c1 } else { c0 };
        match self.pattern {
            Pattern::Solid => c0,
            Pattern::Stripes => pick(fract(s) < 0.5),
            Pattern::Checker => pick(((2.0 * s).floor() + (2.0 * t).floor()) as i64 % 2 == 0),
            Pattern::Dots => {
                let (du, dv) = (fract(s) - 0.5, fract(t) - 0.5);
                pick(du * du + dv * dv < 0.32 * 0.32)
            }
            Pattern::Waves => {
                let w = 0.5 + 0.5 * (TAU * (t + 0.3 * (TAU * 0.5 * s).sin())).sin();
                lerp(c0, c1, w)
            }
            Pattern::ColourNoise => {
                let n = fbm(s, t, self.seed, 2);
                ramp3(c1, c0, c2, smooth((n - 0.2) / 0.6))
            }
            Pattern::Grid => pick(fract(s) < 0.2 || fract(t) < 0.2),
            Pattern::Zigzag => pick(fract(t + (fract(s) - 0.5).abs()) < 0.5),
            Pattern::Concentric => {
                let r = dist((px, py), self.origin) / self.period;
                pick(fract(r + self.phase.0) < 0.5)
            }
            Pattern::Gradient => {
                let g = 1.0 - (2.0 * fract(s) - 1.0).abs();
                lerp(c0, c1, g)
            }
            Pattern::Bricks => {
                let row = (2.0 * t).floor();
                let offset = if row as i64 % 2 == 0 { 0.0 } else { 0.5 };
                pick(fract(2.0 * t) < 0.14 || fract(s + offset) < 0.07)
            }
            Pattern::Voronoi => {
                let (d1, d2, cell) = voronoi(s, t, self.seed);
                if d2 - d1 < 0.08 {
                    c0
                } else {
                    hue_colour(unit_hash(cell.0, cell.1, self.seed), 0.85, 0.95)
                }
            }
            Pattern::Plaid => {
                let (a, b) = (fract(s) < 0.35, fract(t) < 0.35);
                let thin = (fract(s) - 0.65).abs() < 0.03 || (fract(t) - 0.65).abs() < 0.03;
                match (thin, a, b) {
                    (true, _, _) => c2,
                    (_, true, true) => lerp(c1, c2, 0.4),
                    (_, true, false) | (_, false, true) => lerp(c0, c1, 0.55),
                    _ => c0,
                }
            }
            Pattern::Spiral => {
                let (dx, dy) = (px - self.origin.0, py - self.origin.1);
                let r = (dx * dx + dy * dy).sqrt() / self.period;
                let a = dy.atan2(dx) / TAU;
                pick(fract(r + 3.0 * a + self.phase.0) < 0.5)
            }
            Pattern::Marble => {
                let n = fbm(s * 2.0, t * 2.0, self.seed, 3);
                let m = (std::f32::consts::PI * (2.0 * s + 3.0 * n)).sin().abs();
                lerp(c1, c0, m.powf(0.35))
            }
            Pattern::Confetti => confetti(s, t, self.seed).unwrap_or(c0),
            Pattern::Earth => {
                let n = fbm(s, t, self.seed, 3);
                lerp(c0, c1, smooth((n - 0.25) / 0.5))
            }
            Pattern::Haze => {
                let n = fbm(s, t, self.seed, 2);
                let fine = value_noise(s * 6.0, t * 6.0, self.seed ^ 7);
                let base = lerp(c0, c1, smooth(n));
                let k = 0.9 + 0.2 * fine;
                [base[0] * k, base[1] * k, base[2] * k]
            }
            Pattern::Blobs => blobs(s, t, self.seed, &self.palette),
            Pattern::Lines => {
                if near_segment(s, t, self.seed) {
                    c1
                } else {
                    lerp(c0, c1, 0.25 * fbm(s * 0.5, t * 0.5, self.seed ^ 3, 1))
                }
            }
            Pattern::Rects => rects(s, t, self.seed, &self.palette),
        }
    }
}

/// Fill a whole `size` x `size` image with one texture (e.g. for style references).
pub fn render_texture(id: TextureId, size: usize, seed: u64) -> crate::data::ImageF32 {
    let tex = TextureInstance::new(id, size, &mut Rng::new(seed));
    let mut img = crate::data::ImageF32::zeros(size, size);
    for y in 0..size {
        for x in 0..size {
            img.set_pixel(x, y, tex.pixel(x, y));
        }
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_ids() -> Vec<TextureId> {
        (0..CLASS_TEXTURES.len())
            .map(TextureId::Class)
            .chain((0..HELD_OUT_TEXTURES.len()).map(TextureId::HeldOut))
            .chain((0..BACKGROUND_TEXTURES.len()).map(TextureId::Background))
            .collect()
    }

    #[test]
    fn textures_in_range_and_deterministic() {
        for id in all_ids() {
            for size in [16, 33, 64] {
                let a = render_texture(id, size, 11);
                assert!(a.data.iter().all(|v| (0.0..=1.0).contains(v)), "{id:?}");
                assert_eq!(a, render_texture(id, size, 11), "{id:?}");
                // Not flat: every texture has visible structure.
                let (lo, hi) = a
                    .data
                    .iter()
                    .fold((1.0f32, 0.0f32), |(l, h), v| (l.min(*v), h.max(*v)));
                assert!(hi - lo > 0.1, "{id:?} at {size} is flat");
            }
            assert_ne!(
                render_texture(id, 32, 1),
                render_texture(id, 32, 2),
                "{id:?}"
            );
        }
    }

    #[test]
    fn solid_is_exact() {
        let img = render_texture(TextureId::Solid([0.25, 0.5, 1.0]), 8, 3);
        assert!(img.data[..64].iter().all(|v| *v == 0.25));
        assert!(img.data[128..].iter().all(|v| *v == 1.0));
    }

    #[test]
    fn texture_identities_differ_in_mean_colour_or_structure() {
        // Mean colours of class textures over many seeds are pairwise distinct, so the texture
        // cue is learnable even at low resolution.
        let means: Vec<[f32; 3]> = (0..CLASS_TEXTURES.len())
            .map(|k| {
                let mut m = [0.0; 3];
                for seed in 0..8 {
                    let img = render_texture(TextureId::Class(k), 32, seed);
                    for (c, mc) in m.iter_mut().enumerate() {
                        *mc += img.data[c * 1024..(c + 1) * 1024].iter().sum::<f32>() / 8192.0;
                    }
                }
                m
            })
            .collect();
        for a in 0..means.len() {
            for b in a + 1..means.len() {
                let d: f32 = (0..3).map(|c| (means[a][c] - means[b][c]).abs()).sum();
                assert!(
                    d > 0.1,
                    "{} vs {}: {d}",
                    CLASS_TEXTURES[a],
                    CLASS_TEXTURES[b]
                );
            }
        }
    }
}
