//! Procedural primitives for textures: lattice hashing, value noise, cellular patterns
//! (Voronoi, scattered dots, blobs, segments, rectangles) and small colour helpers.
//!
//! All functions are pure functions of their coordinates and a seed, so any pixel can be
//! evaluated independently and deterministically.

use std::f32::consts::TAU;

use crate::data::rng::mix64;

#[inline]
pub(super) fn fract(x: f32) -> f32 {
    x - x.floor()
}

#[inline]
pub(super) fn smooth(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

#[inline]
pub(super) fn lerp(a: [f32; 3], b: [f32; 3], w: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * w,
        a[1] + (b[1] - a[1]) * w,
        a[2] + (b[2] - a[2]) * w,
    ]
}

/// Three-stop colour ramp over w in [0,1].
pub(super) fn ramp3(a: [f32; 3], b: [f32; 3], c: [f32; 3], w: f32) -> [f32; 3] {
    if w < 0.5 {
        lerp(a, b, w * 2.0)
    } else {
        lerp(b, c, w * 2.0 - 1.0)
    }
}

#[inline]
pub(super) fn dist(a: (f32, f32), b: (f32, f32)) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

/// 64-bit hash of a lattice point.
#[inline]
pub(super) fn lattice_hash(ix: i64, iy: i64, seed: u64) -> u64 {
    mix64(
        seed ^ (ix as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (iy as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F),
    )
}

/// Hash of a lattice point as a float in [0,1).
#[inline]
pub(super) fn unit_hash(ix: i64, iy: i64, seed: u64) -> f32 {
    (lattice_hash(ix, iy, seed) >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
}

/// The k-th float in [0,1) derived from a cell hash.
#[inline]
pub(super) fn hash_part(h: u64, k: u64) -> f32 {
    (mix64(h.wrapping_add(k.wrapping_mul(0x9E37_79B9_7F4A_7C15))) >> 40) as f32
        * (1.0 / (1u64 << 24) as f32)
}

/// Smooth value noise in [0,1) with unit lattice.
pub(super) fn value_noise(x: f32, y: f32, seed: u64) -> f32 {
    let (fx, fy) = (x.floor(), y.floor());
    let (ix, iy) = (fx as i64, fy as i64);
    let (wx, wy) = (smooth(x - fx), smooth(y - fy));
    let a = unit_hash(ix, iy, seed);
    let b = unit_hash(ix + 1, iy, seed);
    let c = unit_hash(ix, iy + 1, seed);
    let d = unit_hash(ix + 1, iy + 1, seed);
    let top = a + (b - a) * wx;
    let bottom = c + (d - c) * wx;
    top + (bottom - top) * wy
}

/// Fractal value noise, normalised to [0,1).
pub(super) fn fbm(x: f32, y: f32, seed: u64, octaves: u32) -> f32 {
    let (mut sum, mut amp, mut freq, mut norm) = (0.0, 1.0, 1.0, 0.0);
    for o in 0..octaves {
        sum += amp * value_noise(x * freq, y * freq, seed.wrapping_add(o as u64));
        norm += amp;
        amp *= 0.5;
        freq *= 2.0;
    }
    sum / norm
}

/// Distances to the nearest and second-nearest jittered cell point, and the nearest cell.
pub(super) fn voronoi(s: f32, t: f32, seed: u64) -> (f32, f32, (i64, i64)) {
    let (cx, cy) = (s.floor() as i64, t.floor() as i64);
    let (mut d1, mut d2, mut best) = (f32::MAX, f32::MAX, (cx, cy));
    for j in cy - 1..=cy + 1 {
        for i in cx - 1..=cx + 1 {
            let h = lattice_hash(i, j, seed);
            let p = (i as f32 + hash_part(h, 1), j as f32 + hash_part(h, 2));
            let d = dist((s, t), p);
            if d < d1 {
                (d2, d1, best) = (d1, d, (i, j));
            } else if d < d2 {
                d2 = d;
            }
        }
    }
    (d1, d2, best)
}

/// A saturated colour of hue `h` in [0,1) (HSV with given saturation and value).
pub(super) fn hue_colour(h: f32, sat: f32, val: f32) -> [f32; 3] {
    let h6 = fract(h) * 6.0;
    let f = fract(h6);
    let (p, q, r) = (
        val * (1.0 - sat),
        val * (1.0 - sat * f),
        val * (1.0 - sat * (1.0 - f)),
    );
    match h6 as u32 {
        0 => [val, r, p],
        1 => [q, val, p],
        2 => [p, val, r],
        3 => [p, q, val],
        4 => [r, p, val],
        _ => [val, p, q],
    }
}

/// Small dots of random hue on two offset lattices; None where there is no dot.
pub(super) fn confetti(s: f32, t: f32, seed: u64) -> Option<[f32; 3]> {
    for (layer, off) in [(0u64, 0.0f32), (1, 0.5)] {
        let (u, v) = (s + off, t + off * 0.7);
        let (i, j) = (u.floor() as i64, v.floor() as i64);
        let h = lattice_hash(i, j, seed.wrapping_add(layer));
        let r = 0.12 + 0.14 * hash_part(h, 0);
        let p = (
            i as f32 + r + (1.0 - 2.0 * r) * hash_part(h, 1),
            j as f32 + r + (1.0 - 2.0 * r) * hash_part(h, 2),
        );
        if dist((u, v), p) < r {
            return Some(hue_colour(hash_part(h, 3), 0.9, 0.95));
        }
    }
    None
}

/// Overlapping discs of muted colours; the cell with the highest priority on top.
pub(super) fn blobs(s: f32, t: f32, seed: u64, palette: &[[f32; 3]; 3]) -> [f32; 3] {
    let (cx, cy) = (s.floor() as i64, t.floor() as i64);
    let mut top: Option<(f32, [f32; 3])> = None;
    for j in cy - 1..=cy + 1 {
        for i in cx - 1..=cx + 1 {
            let h = lattice_hash(i, j, seed);
            let r = 0.35 + 0.6 * hash_part(h, 0);
            let p = (i as f32 + hash_part(h, 1), j as f32 + hash_part(h, 2));
            let prio = hash_part(h, 3);
            if dist((s, t), p) < r && top.is_none_or(|(best, _)| prio > best) {
                let k = (hash_part(h, 4) * 3.0) as usize;
                let shade = 0.85 + 0.3 * hash_part(h, 5);
                let c = palette[k.min(2)];
                top = Some((prio, [c[0] * shade, c[1] * shade, c[2] * shade]));
            }
        }
    }
    top.map_or(lerp(palette[0], palette[1], 0.5), |(_, c)| c)
}

/// Whether (s, t) lies on one of the random thin segments (one per cell, up to 1.4 cells long).
pub(super) fn near_segment(s: f32, t: f32, seed: u64) -> bool {
    let (cx, cy) = (s.floor() as i64, t.floor() as i64);
    for j in cy - 1..=cy + 1 {
        for i in cx - 1..=cx + 1 {
            let h = lattice_hash(i, j, seed);
            let a = TAU * hash_part(h, 0);
            let half = 0.3 + 0.4 * hash_part(h, 1);
            let (mx, my) = (i as f32 + hash_part(h, 2), j as f32 + hash_part(h, 3));
            let (dx, dy) = (a.cos(), a.sin());
            let (rx, ry) = (s - mx, t - my);
            let along = (rx * dx + ry * dy).clamp(-half, half);
            let (ex, ey) = (rx - along * dx, ry - along * dy);
            if ex * ex + ey * ey < 0.07 * 0.07 {
                return true;
            }
        }
    }
    false
}

/// Overlapping axis-aligned rectangles of muted colours.
pub(super) fn rects(s: f32, t: f32, seed: u64, palette: &[[f32; 3]; 3]) -> [f32; 3] {
    let (cx, cy) = (s.floor() as i64, t.floor() as i64);
    let mut top: Option<(f32, [f32; 3])> = None;
    for j in cy - 1..=cy + 1 {
        for i in cx - 1..=cx + 1 {
            let h = lattice_hash(i, j, seed);
            let (w, hgt) = (0.2 + 0.6 * hash_part(h, 0), 0.2 + 0.6 * hash_part(h, 1));
            let (x0, y0) = (i as f32 + hash_part(h, 2), j as f32 + hash_part(h, 3));
            let prio = hash_part(h, 4);
            let inside = (x0..x0 + w).contains(&s) && (y0..y0 + hgt).contains(&t);
            if inside && top.is_none_or(|(best, _)| prio > best) {
                let k = (hash_part(h, 5) * 3.0) as usize;
                let shade = 0.8 + 0.4 * hash_part(h, 6);
                let c = palette[k.min(2)];
                top = Some((prio, [c[0] * shade, c[1] * shade, c[2] * shade]));
            }
        }
    }
    top.map_or(palette[0], |(_, c)| c)
}
