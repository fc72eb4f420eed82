//! torchvision's `RandomResizedCrop`: a random window of the picture (share of the area in
//! `scale`, aspect ratio log-uniform in `ratio`), resized to the network's input with
//! antialiased bilinear filtering (torchvision's default `BILINEAR`, `antialias=True`).

use super::ImageF32;
use super::augment::{crop, resize_window, resize_window_rgb8};
use super::rng::Rng;

/// A crop window: top-left corner and size, in pixels of the source picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub x0: usize,
    pub y0: usize,
    pub width: usize,
    pub height: usize,
}

/// torchvision's `RandomResizedCrop.get_params`: up to 10 tries at a window of random area and
/// aspect that fits, then the central crop clamped to the ratio range.
pub fn random_window(
    width: usize,
    height: usize,
    scale: [f64; 2],
    ratio: [f64; 2],
    rng: &mut Rng,
) -> Window {
    let area = (width * height) as f64;
    let (log_low, log_high) = (ratio[0].ln(), ratio[1].ln());
    for _ in 0..10 {
        let target_area = area * (scale[0] + (scale[1] - scale[0]) * rng.uniform() as f64);
        let aspect = (log_low + (log_high - log_low) * rng.uniform() as f64).exp();
        let w = (target_area * aspect).sqrt().round() as usize;
        let h = (target_area / aspect).sqrt().round() as usize;
        if 0 < w && w <= width && 0 < h && h <= height {
            let y0 = rng.below(height - h + 1);
            let x0 = rng.below(width - w + 1);
            return Window {
                x0,
                y0,
                width: w,
                height: h,
            };
        }
    }
    let in_ratio = width as f64 / height as f64;
    let (w, h) = if in_ratio < ratio[0] {
        (width, ((width as f64 / ratio[0]).round() as usize).max(1))
    } else if in_ratio > ratio[1] {
        (((height as f64 * ratio[1]).round() as usize).max(1), height)
    } else {
        (width, height)
    };
    Window {
        x0: (width - w) / 2,
        y0: (height - h) / 2,
        width: w,
        height: h,
    }
}

/// [`random_resized_crop`] of an 8-bit picture's float image (values / 255), converting only
/// the window's pixels: the same window and the same values.
pub fn random_resized_crop_rgb8(
    img: &image::RgbImage,
    size: usize,
    scale: [f64; 2],
    ratio: [f64; 2],
    rng: &mut Rng,
) -> ImageF32 {
    let (width, height) = (img.width() as usize, img.height() as usize);
    let window = random_window(width, height, scale, ratio, rng);
    resize_window_rgb8(
        img,
        (window.x0, window.y0, window.width, window.height),
        size,
        size,
    )
}

/// A random window of `img` resized to `size` x `size`.
pub fn random_resized_crop(
    img: &ImageF32,
    size: usize,
    scale: [f64; 2],
    ratio: [f64; 2],
    rng: &mut Rng,
) -> ImageF32 {
    let window = random_window(img.width, img.height, scale, ratio, rng);
    if (window.width, window.height) == (size, size) {
        return crop(img, window.x0, window.y0, size, size);
    }
    resize_window(
        img,
        (window.x0, window.y0, window.width, window.height),
        size,
        size,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCALE: [f64; 2] = [0.08, 1.0];
    const RATIO: [f64; 2] = [3.0 / 4.0, 4.0 / 3.0];

    #[test]
    fn windows_fit_and_follow_the_scale_and_ratio_ranges() {
        let mut rng = Rng::new(4);
        let (width, height) = (120, 90);
        let mut shares = Vec::new();
        for _ in 0..2000 {
            let w = random_window(width, height, SCALE, RATIO, &mut rng);
            assert!(
                w.x0 + w.width <= width && w.y0 + w.height <= height,
                "{w:?}"
            );
            let share = (w.width * w.height) as f64 / (width * height) as f64;
            let aspect = w.width as f64 / w.height as f64;
            // Rounding to whole pixels moves both a little past the sampled values.
            assert!(share > 0.07 && share <= 1.0, "{w:?}");
            assert!(aspect > 0.7 && aspect < 1.4, "{w:?}");
            shares.push(share);
        }
        // Area is uniform in [0.08, 1] before rejection; rejection trims large shares only.
        let mean = shares.iter().sum::<f64>() / shares.len() as f64;
        assert!(mean > 0.35 && mean < 0.54, "{mean}");
        assert!(shares.iter().any(|s| *s < 0.12) && shares.iter().any(|s| *s > 0.9));
    }

    #[test]
    fn impossible_ratios_fall_back_to_the_central_crop() {
        // A 100x10 strip holds no window of >= 90% of its area with aspect in [1, 2]: the
        // fallback is the central window of aspect ratio[1].
        let mut rng = Rng::new(1);
        let w = random_window(100, 10, [0.9, 1.0], [1.0, 2.0], &mut rng);
        assert_eq!(
            w,
            Window {
                x0: 40,
                y0: 0,
                width: 20,
                height: 10
            }
        );
        // A square under ratio[0] = 2: full width, half height, centred (torchvision's `//`).
        let w = random_window(30, 30, [1.0, 1.0], [2.0, 3.0], &mut rng);
        assert_eq!(
            w,
            Window {
                x0: 0,
                y0: 7,
                width: 30,
                height: 15
            }
        );
    }

    #[test]
    fn output_has_the_requested_size_and_comes_from_the_picture() {
        let mut img = ImageF32::zeros(40, 30);
        for (i, v) in img.data.iter_mut().enumerate() {
            *v = (i % 7) as f32 / 7.0;
        }
        let mut rng = Rng::new(9);
        for _ in 0..20 {
            let out = random_resized_crop(&img, 16, SCALE, RATIO, &mut rng);
            assert_eq!((out.width, out.height), (16, 16));
            assert!(out.data.iter().all(|v| (-1e-5..=1.0).contains(v)));
        }
        // Scale 1 and ratio 4/3 on a 4:3 picture: the whole picture, only resized.
        let whole = random_resized_crop(&img, 8, [1.0, 1.0], [4.0 / 3.0, 4.0 / 3.0], &mut rng);
        assert_eq!(whole, crate::data::augment::resize_bilinear(&img, 8, 8));
    }
}
