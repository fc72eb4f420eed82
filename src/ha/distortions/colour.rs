//! Greyscale, the first step of most distortions, and the colour set (`cr` colour, `bw` grey).

use crate::data::ImageF32;

/// skimage's `rgb2gray` weights (ITU-R BT.709 luma on the stored values), as the benchmark used.
pub const GREY_WEIGHTS: [f32; 3] = [0.2125, 0.7154, 0.0721];

/// One image channel: a row-major `height x width` plane.
#[derive(Clone, Debug, PartialEq)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Plane {
    pub fn new(width: usize, height: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), width * height, "plane is not {width}x{height}");
        Self {
            width,
            height,
            data,
        }
    }

    /// The luminance of `image`.
    pub fn grey(image: &ImageF32) -> Self {
        let plane = image.plane_len();
        let [r, g, b] = [
            &image.data[..plane],
            &image.data[plane..2 * plane],
            &image.data[2 * plane..],
        ];
        let data = (0..plane)
            .map(|i| GREY_WEIGHTS[0] * r[i] + GREY_WEIGHTS[1] * g[i] + GREY_WEIGHTS[2] * b[i])
            .collect();
        Self::new(image.width, image.height, data)
    }

    /// The plane on all three channels, clipped to [0, 1].
    pub fn to_image(&self) -> ImageF32 {
        let mut data = Vec::with_capacity(3 * self.data.len());
        for _ in 0..3 {
            data.extend(self.data.iter().map(|v| v.clamp(0.0, 1.0)));
        }
        ImageF32 {
            width: self.width,
            height: self.height,
            data,
        }
    }

    pub fn mean(&self) -> f32 {
        self.data.iter().map(|&v| v as f64).sum::<f64>() as f32 / self.data.len().max(1) as f32
    }
}

/// `bw`: the luminance on three channels.
pub fn greyscale(image: &ImageF32) -> ImageF32 {
    Plane::grey(image).to_image()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_weights_sum_to_one_and_apply_per_pixel() {
        assert!((GREY_WEIGHTS.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let mut image = ImageF32::zeros(2, 1);
        image.set_pixel(0, 0, [1.0, 0.0, 0.0]);
        image.set_pixel(1, 0, [0.3, 0.3, 0.3]);
        let grey = greyscale(&image);
        assert!((grey.pixel(0, 0)[1] - 0.2125).abs() < 1e-6);
        assert!(grey.pixel(1, 0).iter().all(|v| (v - 0.3).abs() < 1e-6));
        // Greyscale of a grey image is the image.
        let again = greyscale(&grey);
        for (a, b) in again.data.iter().zip(&grey.data) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}
