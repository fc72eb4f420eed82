//! Uniform noise: greyscale, contrast reduced to 30%, then `U[-w, w]` added to every pixel
//! independently and the result clipped to [0, 1].

use super::colour::Plane;
use super::contrast::reduce_contrast;
use crate::data::Rng;

/// The contrast the benchmark reduces images to before adding noise.
pub const NOISE_CONTRAST: f32 = 0.3;

/// Adds uniform noise of half-width `width`; returns the clipped plane.
pub fn uniform_noise(plane: &Plane, width: f32, rng: &mut Rng) -> Plane {
    let mut out = plane.clone();
    reduce_contrast(&mut out, NOISE_CONTRAST);
    for v in &mut out.data {
        *v = (*v + rng.range(-width, width)).clamp(0.0, 1.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_has_the_stated_range_and_mean() {
        let grey = Plane::new(64, 64, vec![0.5; 64 * 64]);
        let mut rng = Rng::new(3);
        for width in [0.0, 0.1, 0.35] {
            let out = uniform_noise(&grey, width, &mut rng);
            let (lo, hi) = out
                .data
                .iter()
                .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            assert!(
                lo >= 0.5 - width && hi <= 0.5 + width,
                "{lo}..{hi} for {width}"
            );
            let mean = out.mean();
            assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
            // Uniform on [-w, w]: standard deviation w / sqrt(3), and the range is reached.
            let sd = (out.data.iter().map(|v| (v - mean).powi(2)).sum::<f32>()
                / out.data.len() as f32)
                .sqrt();
            assert!(
                (sd - width / 3f32.sqrt()).abs() < 0.01 + 0.03 * width,
                "sd {sd}"
            );
            assert!(hi - lo >= 1.9 * width);
        }
        // Contrast first: black and white pixels move to 0.35 and 0.65 before the noise.
        let extremes = Plane::new(2, 1, vec![0.0, 1.0]);
        let out = uniform_noise(&extremes, 0.0, &mut rng);
        assert!((out.data[0] - 0.35).abs() < 1e-6 && (out.data[1] - 0.65).abs() < 1e-6);
        // Wide noise on bright pixels is clipped at 1.
        let bright = Plane::new(32, 32, vec![1.0; 1024]);
        let out = uniform_noise(&bright, 0.9, &mut rng);
        assert!(out.data.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(out.data.contains(&1.0));
    }
}
