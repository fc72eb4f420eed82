//! Integrated Gradients baselines, in the normalised space the network sees.

use serde::{Deserialize, Serialize};

use crate::data::augment::{IMAGENET_MEAN, IMAGENET_STD};

/// The reference input the path integral starts from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Baseline {
    /// All zeros in normalised space (the ImageNet mean colour): captum's default and the study's.
    Zeros,
    /// A black image, `(0 - mean) / std` per channel.
    Black,
    /// The image itself blurred with a Gaussian of `sigma` pixels (edges replicated): keeps the
    /// colours, removes the detail.
    Blurred { sigma: f32 },
}

impl Baseline {
    /// The baseline of one normalised CHW image.
    pub fn of(&self, image: &[f32], height: usize, width: usize) -> Vec<f32> {
        let plane = height * width;
        match *self {
            Baseline::Zeros => vec![0.0; image.len()],
            Baseline::Black => (0..image.len())
                .map(|i| -IMAGENET_MEAN[i / plane] / IMAGENET_STD[i / plane])
                .collect(),
            // Blurring commutes with the per-channel affine normalisation (the kernel sums to 1
            // and the border replicates), so blurring the normalised image is the same as
            // normalising the blurred one.
            Baseline::Blurred { sigma } => image
                .chunks_exact(plane)
                .flat_map(|channel| gaussian_blur(channel, height, width, sigma))
                .collect(),
        }
    }
}

/// Separable Gaussian blur of one `height x width` plane, kernel radius `ceil(3 sigma)`,
/// edge pixels replicated.
pub fn gaussian_blur(plane: &[f32], height: usize, width: usize, sigma: f32) -> Vec<f32> {
    if sigma <= 0.0 {
        return plane.to_vec();
    }
    let radius = (3.0 * sigma).ceil() as isize;
    let mut kernel: Vec<f32> = (-radius..=radius)
        .map(|d| (-(d * d) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= total);
    let clamp = |v: isize, len: usize| v.clamp(0, len as isize - 1) as usize;
    let mut rows = vec![0f32; plane.len()];
    for y in 0..height {
        for x in 0..width {
            rows[y * width + x] = kernel
                .iter()
                .enumerate()
                .map(|(k, w)| w * plane[y * width + clamp(x as isize + k as isize - radius, width)])
                .sum();
        }
    }
    let mut out = vec![0f32; plane.len()];
    for y in 0..height {
        for x in 0..width {
            out[y * width + x] = kernel
                .iter()
                .enumerate()
                .map(|(k, w)| w * rows[clamp(y as isize + k as isize - radius, height) * width + x])
                .sum();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_is_pixel_zero_after_normalisation() {
        let base = Baseline::Black.of(&[0.3; 12], 2, 2);
        for c in 0..3 {
            let pixel = base[c * 4] * IMAGENET_STD[c] + IMAGENET_MEAN[c];
            assert!(pixel.abs() < 1e-6);
        }
        assert_eq!(Baseline::Zeros.of(&[0.3; 12], 2, 2), vec![0.0; 12]);
    }

    #[test]
    fn blur_keeps_constants_and_mass_and_spreads_a_point() {
        assert!(
            gaussian_blur(&[2.0; 25], 5, 5, 1.0)
                .iter()
                .all(|v| (v - 2.0).abs() < 1e-5)
        );
        let mut point = vec![0.0; 81];
        point[40] = 1.0;
        let blurred = gaussian_blur(&point, 9, 9, 1.0);
        assert!((blurred.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(blurred[40] < 0.5 && blurred[40] > blurred[41] && blurred[41] > blurred[42]);
        // Symmetric around the point.
        assert!(
            (blurred[39] - blurred[41]).abs() < 1e-7 && (blurred[31] - blurred[49]).abs() < 1e-7
        );
    }
}
