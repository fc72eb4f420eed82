//! Eidolons (Koenderink, Valsecchi, van Doorn, Wagemans & Gegenfurtner 2017, "Eidolons: novel
//! stimuli for vision research"): partially coherent disarray of a scale-space decomposition.
//!
//! The grey image is split into difference-of-Gaussians bands over scale levels `sigma_k =
//! 2^(k/2) / sqrt(2)` up to a quarter of the image side (the bands sum back to the image
//! exactly). Every band is resampled at positions displaced by its own random field, and the
//! displaced bands are summed. A band's displacement mixes two Gaussian random fields:
//!
//! - a coherent one, `C_k = sum_{j >= k} (sigma_j / sigma_max) N_j`, where `N_j` is white noise
//!   blurred at scale `sigma_j`: coarse fields reach down into every finer band, so large
//!   receptive fields drag small ones along (the Eidolon Factory's coherent stack);
//! - an incoherent one, fresh white noise blurred at the `grain` scale for each band.
//!
//! Both are normalised to unit standard deviation and mixed as `sqrt(coherence) * C +
//! sqrt(1 - coherence) * I`, so `coherence` 1 displaces all scales together, 0 independently,
//! and `reach` is the root-mean-square displacement (pixels per axis) of every band whatever the
//! coherence. With `reach` 0 the eidolon is the image.
//!
//! The Eidolon Factory's Python code (which the benchmark's images came from) multiplies its
//! independent field by the parameter the benchmark calls coherence and leaves its fields
//! unnormalised; pvr follows the documented meaning of the three parameters instead, so its
//! eidolons match the benchmark's in kind and parameters, not pixel for pixel.

use crate::data::Rng;
use crate::ha::distortions::colour::Plane;
use crate::ha::distortions::fft::{Complex32, gaussian_transfer, inverse, real_inverse, spectrum};

/// Finest scale level, in pixels (the benchmark's `MIN_STD`).
const MIN_SIGMA: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// Ratio between successive scale levels.
const SIGMA_FACTOR: f32 = std::f32::consts::SQRT_2;

/// The partially coherent disarray's parameters, in pixels of the image being distorted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EidolonParams {
    /// Root-mean-square displacement per axis.
    pub reach: f32,
    /// Share of the displacement common to all scales, in [0, 1].
    pub coherence: f32,
    /// Correlation length (Gaussian standard deviation) of the incoherent fields.
    pub grain: f32,
}

/// Scale levels from [`MIN_SIGMA`] up to a quarter of the smaller image side (at least one).
pub fn scale_levels(width: usize, height: usize) -> Vec<f32> {
    let max = width.min(height) as f32 / 4.0;
    let mut levels = vec![MIN_SIGMA];
    while levels.last().unwrap() * SIGMA_FACTOR <= max + 1e-4 {
        levels.push(levels.last().unwrap() * SIGMA_FACTOR);
    }
    levels
}

/// The scale-space bands of `plane`: band 0 is the image minus its blur at level 1, band k
/// (0 < k < n - 1) the blur at level k minus the blur at level k + 1, and the last band the
/// blur at the coarsest level; they sum to the image. Blurs use mirrored borders.
pub fn bands(plane: &Plane, levels: &[f32]) -> Vec<Plane> {
    let (w, h) = (plane.width, plane.height);
    // Mirroring to twice the size makes the periodic FFT blur a blur with reflected borders.
    let (ew, eh) = (2 * w, 2 * h);
    let mut extended = vec![0.0f32; ew * eh];
    for y in 0..eh {
        let sy = if y < h { y } else { eh - 1 - y };
        for x in 0..ew {
            let sx = if x < w { x } else { ew - 1 - x };
            extended[y * ew + x] = plane.data[sy * w + sx];
        }
    }
    let spec = spectrum(&extended, ew, eh);
    let blur = |sigma: f32| -> Vec<f32> {
        let transfer = gaussian_transfer(ew, eh, sigma);
        let filtered: Vec<Complex32> = spec.iter().zip(&transfer).map(|(c, g)| c * g).collect();
        let full = real_inverse(filtered, ew, eh);
        let mut out = Vec::with_capacity(w * h);
        for y in 0..h {
            out.extend_from_slice(&full[y * ew..y * ew + w]);
        }
        out
    };
    let n = levels.len();
    let mut previous = plane.data.clone();
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        if k + 1 == n {
            out.push(Plane::new(w, h, previous));
            break;
        }
        let next = blur(levels[k + 1]);
        let band = previous.iter().zip(&next).map(|(a, b)| a - b).collect();
        out.push(Plane::new(w, h, band));
        previous = next;
    }
    out
}

/// A pair of standard normal samples from one Box-Muller draw.
fn normal_pair(rng: &mut Rng) -> Complex32 {
    let u1 = 1.0 - rng.uniform() as f64;
    let u2 = rng.uniform() as f64;
    let r = (-2.0 * u1.ln()).sqrt();
    let t = std::f64::consts::TAU * u2;
    Complex32::new((r * t.cos()) as f32, (r * t.sin()) as f32)
}

/// Below this gain a frequency contributes nothing visible to a displacement field.
const NEGLIGIBLE_GAIN: f32 = 1e-6;

/// White complex noise filtered by `transfer`, in the frequency domain. Frequencies the filter
/// removes get no draw: a field blurred at a coarse scale needs only a few hundred.
fn filtered_noise(transfer: &[f32], rng: &mut Rng) -> Vec<Complex32> {
    transfer
        .iter()
        .map(|&g| {
            if g < NEGLIGIBLE_GAIN {
                Complex32::default()
            } else {
                normal_pair(rng) * g
            }
        })
        .collect()
}

/// Standard deviation of each part of the inverse transform of white noise times `transfer`.
fn field_std(transfer: &[f32]) -> f32 {
    (transfer.iter().map(|g| (g * g) as f64).sum::<f64>().sqrt() / transfer.len() as f64) as f32
}

/// Displacement fields `(dx, dy)` of every scale level, unit standard deviation per axis (to be
/// multiplied by the reach). The real and imaginary parts of one complex Gaussian field are two
/// independent real fields, so one inverse FFT gives both axes.
pub fn displacement_fields(
    width: usize,
    height: usize,
    levels: &[f32],
    coherence: f32,
    grain: f32,
    rng: &mut Rng,
) -> Vec<(Vec<f32>, Vec<f32>)> {
    let n = levels.len();
    let max = *levels.last().expect("at least one scale level");
    let coherence = coherence.clamp(0.0, 1.0);
    let (wc, wi) = (coherence.sqrt(), (1.0 - coherence).sqrt());
    let grain_transfer = gaussian_transfer(width, height, grain.max(1e-3));
    let grain_std = field_std(&grain_transfer);
    // The coherent stack accumulates from the coarsest level down.
    let mut coherent = vec![Complex32::default(); width * height];
    let mut coherent_var = 0.0f64;
    let mut fields = vec![(Vec::new(), Vec::new()); n];
    for k in (0..n).rev() {
        let transfer = gaussian_transfer(width, height, levels[k]);
        let weight = levels[k] / max / field_std(&transfer);
        for (c, z) in coherent.iter_mut().zip(filtered_noise(&transfer, rng)) {
            *c += z * weight;
        }
        coherent_var += (levels[k] / max).powi(2) as f64;
        let mut field: Vec<Complex32> = if wc > 0.0 {
            let scale = wc / coherent_var.sqrt() as f32;
            coherent.iter().map(|c| c * scale).collect()
        } else {
            vec![Complex32::default(); width * height]
        };
        if wi > 0.0 {
            let scale = wi / grain_std;
            for (f, z) in field.iter_mut().zip(filtered_noise(&grain_transfer, rng)) {
                *f += z * scale;
            }
        }
        inverse(&mut field, width, height);
        let (re, im): (Vec<f32>, Vec<f32>) = field.iter().map(|c| (c.re, c.im)).unzip();
        fields[k] = (re, im);
    }
    fields
}

/// Bilinear sample of `plane` at (x, y), coordinates clamped to the plane.
#[inline]
fn sample(plane: &Plane, x: f32, y: f32) -> f32 {
    let x = x.clamp(0.0, (plane.width - 1) as f32);
    let y = y.clamp(0.0, (plane.height - 1) as f32);
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = (
        (x0 + 1).min(plane.width - 1),
        (y0 + 1).min(plane.height - 1),
    );
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let at = |xx: usize, yy: usize| plane.data[yy * plane.width + xx];
    let top = at(x0, y0) + fx * (at(x1, y0) - at(x0, y0));
    let bottom = at(x0, y1) + fx * (at(x1, y1) - at(x0, y1));
    top + fy * (bottom - top)
}

/// The eidolon of `plane` (unclipped).
pub fn eidolon(plane: &Plane, params: &EidolonParams, rng: &mut Rng) -> Plane {
    let (w, h) = (plane.width, plane.height);
    let levels = scale_levels(w, h);
    let bands = bands(plane, &levels);
    let fields = displacement_fields(w, h, &levels, params.coherence, params.grain, rng);
    let mut out = vec![0.0f32; w * h];
    for (band, (dx, dy)) in bands.iter().zip(&fields) {
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                out[i] += sample(
                    band,
                    x as f32 + params.reach * dx[i],
                    y as f32 + params.reach * dy[i],
                );
            }
        }
    }
    Plane::new(w, h, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(side: usize) -> Plane {
        let s = side as f32;
        Plane::new(
            side,
            side,
            (0..side * side)
                .map(|i| {
                    let (x, y) = ((i % side) as f32 / s, (i / side) as f32 / s);
                    let disc = ((x - 0.4).powi(2) + (y - 0.5).powi(2) < 0.07) as u8 as f32;
                    0.2 + 0.5 * disc + 0.15 * (40.0 * x).sin() * (23.0 * y).cos()
                })
                .collect(),
        )
    }

    fn mean_abs_difference(a: &Plane, b: &Plane) -> f32 {
        a.data
            .iter()
            .zip(&b.data)
            .map(|(p, q)| (p - q).abs())
            .sum::<f32>()
            / a.data.len() as f32
    }

    #[test]
    fn bands_sum_to_the_image_and_levels_follow_the_benchmark() {
        let levels = scale_levels(256, 256);
        // 1/sqrt(2) .. 64 in steps of sqrt(2): the benchmark's 14 levels for 256 px.
        assert_eq!(levels.len(), 14);
        assert!((levels[13] - 64.0).abs() < 1e-3);
        assert_eq!(scale_levels(224, 224).len(), 13);
        let plane = scene(40);
        let bands = bands(&plane, &scale_levels(40, 40));
        let mut sum = vec![0.0f32; 1600];
        for band in &bands {
            for (s, v) in sum.iter_mut().zip(&band.data) {
                *s += v;
            }
        }
        for (a, b) in sum.iter().zip(&plane.data) {
            assert!((a - b).abs() < 1e-4);
        }
        // The coarsest band is smooth: far smaller steps between horizontal neighbours.
        let roughness = |p: &Plane| {
            p.data
                .chunks(p.width)
                .flat_map(|row| row.windows(2).map(|w| (w[1] - w[0]).abs()))
                .sum::<f32>()
                / p.data.len() as f32
        };
        assert!(roughness(bands.last().unwrap()) < 0.1 * roughness(&plane));
    }

    #[test]
    fn reach_zero_is_the_identity_and_larger_reach_moves_more() {
        let plane = scene(48);
        let mut previous = 0.0;
        for reach in [0.0, 1.0, 4.0, 16.0] {
            for coherence in [1.0, 0.3, 0.0] {
                let params = EidolonParams {
                    reach,
                    coherence,
                    grain: 10.0 * 48.0 / 224.0,
                };
                let out = eidolon(&plane, &params, &mut Rng::new(9));
                let moved = mean_abs_difference(&plane, &out);
                if reach == 0.0 {
                    assert!(moved < 1e-6);
                } else {
                    assert!(moved > 1e-3, "reach {reach} coherence {coherence}: {moved}");
                }
            }
            let params = EidolonParams {
                reach,
                coherence: 0.3,
                grain: 2.0,
            };
            let moved = mean_abs_difference(&plane, &eidolon(&plane, &params, &mut Rng::new(4)));
            assert!(
                reach == 0.0 || moved > previous,
                "reach {reach}: {moved} <= {previous}"
            );
            previous = moved;
        }
    }

    #[test]
    fn fields_have_unit_spread_and_coherence_ties_the_scales_together() {
        let (w, h) = (64, 64);
        let levels = scale_levels(w, h);
        let correlation = |a: &[f32], b: &[f32]| {
            let n = a.len() as f32;
            let (ma, mb) = (a.iter().sum::<f32>() / n, b.iter().sum::<f32>() / n);
            let cov: f32 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
            let va: f32 = a.iter().map(|x| (x - ma).powi(2)).sum();
            let vb: f32 = b.iter().map(|y| (y - mb).powi(2)).sum();
            cov / (va * vb).sqrt()
        };
        let mean_neighbour_correlation = |coherence: f32| {
            let mut total = 0.0;
            let mut count = 0.0;
            let mut square_sum = 0.0f32;
            for seed in 0..4 {
                let fields =
                    displacement_fields(w, h, &levels, coherence, 3.0, &mut Rng::new(seed));
                for k in 0..levels.len() - 1 {
                    total += correlation(&fields[k].0, &fields[k + 1].0);
                    count += 1.0;
                }
                square_sum += fields[0].1.iter().map(|v| v * v).sum::<f32>();
            }
            // Unit variance in expectation; a single coherent field is dominated by a few
            // coarse blobs, so the spread is pooled over the seeds.
            let sd = (square_sum / (4 * w * h) as f32).sqrt();
            let tolerance = if coherence == 0.0 { 0.15 } else { 0.5 };
            assert!(
                (sd - 1.0).abs() < tolerance,
                "coherence {coherence}: sd {sd}"
            );
            total / count
        };
        let coherent = mean_neighbour_correlation(1.0);
        let incoherent = mean_neighbour_correlation(0.0);
        assert!(coherent > 0.5, "coherent fields correlate {coherent}");
        assert!(
            incoherent.abs() < 0.15,
            "independent fields correlate {incoherent}"
        );
        assert!(mean_neighbour_correlation(0.3) > incoherent);
    }
}
