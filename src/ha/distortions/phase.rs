//! Phase scrambling: every frequency's phase is shifted by a uniform random angle in
//! `[-w, w]` degrees, antisymmetric in frequency (`shift(-f) = -shift(f)`) so the image stays
//! real; the amplitude spectrum is untouched.

use super::colour::Plane;
use super::fft::{Complex32, mirror, real_inverse, spectrum};
use crate::data::Rng;

/// The unclipped phase-scrambled plane.
pub fn phase_scramble(plane: &Plane, width_degrees: f32, rng: &mut Rng) -> Plane {
    let (w, h) = (plane.width, plane.height);
    let mut spec = spectrum(&plane.data, w, h);
    if width_degrees != 0.0 {
        let width = width_degrees.to_radians();
        let mut shift = vec![0.0f32; w * h];
        for ky in 0..h {
            for kx in 0..w {
                let i = ky * w + kx;
                let m = mirror(ky, h) * w + mirror(kx, w);
                // Draw for one bin of each conjugate pair; bins that are their own mirror (DC,
                // Nyquist) hold real values and keep phase 0 or pi.
                if i < m {
                    shift[i] = rng.range(-width, width);
                    shift[m] = -shift[i];
                }
            }
        }
        for (c, s) in spec.iter_mut().zip(&shift) {
            *c *= Complex32::from_polar(1.0, *s);
        }
    }
    Plane::new(w, h, real_inverse(spec, w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texture(w: usize, h: usize) -> Plane {
        Plane::new(
            w,
            h,
            (0..w * h)
                .map(|i| {
                    let (x, y) = ((i % w) as f32, (i / w) as f32);
                    0.5 + 0.2 * (0.7 * x).sin() * (0.3 * y + 1.0).cos() + 0.1 * (1.9 * x + y).sin()
                })
                .collect(),
        )
    }

    #[test]
    fn zero_width_leaves_the_image_unchanged() {
        let plane = texture(16, 12);
        let out = phase_scramble(&plane, 0.0, &mut Rng::new(1));
        for (a, b) in plane.data.iter().zip(&out.data) {
            assert!((a - b).abs() < 1e-5);
        }
        // The uniform grey image is unchanged at any width (its only energy is at DC).
        let grey = Plane::new(8, 8, vec![0.4423; 64]);
        let out = phase_scramble(&grey, 180.0, &mut Rng::new(2));
        assert!(out.data.iter().all(|v| (v - 0.4423).abs() < 1e-5));
    }

    #[test]
    fn scrambling_keeps_amplitude_and_mean_and_changes_the_image() {
        let plane = texture(16, 16);
        let out = phase_scramble(&plane, 90.0, &mut Rng::new(5));
        let a = spectrum(&plane.data, 16, 16);
        let b = spectrum(&out.data, 16, 16);
        for (x, y) in a.iter().zip(&b) {
            assert!((x.norm() - y.norm()).abs() < 1e-3);
        }
        assert!((plane.mean() - out.mean()).abs() < 1e-5);
        let change: f32 = plane
            .data
            .iter()
            .zip(&out.data)
            .map(|(p, q)| (p - q).abs())
            .sum::<f32>()
            / 256.0;
        assert!(change > 0.02, "mean change {change}");
        // Wider noise moves the image further on average.
        let small = phase_scramble(&plane, 30.0, &mut Rng::new(5));
        let small_change: f32 = plane
            .data
            .iter()
            .zip(&small.data)
            .map(|(p, q)| (p - q).abs())
            .sum::<f32>()
            / 256.0;
        assert!(small_change < change);
    }
}
