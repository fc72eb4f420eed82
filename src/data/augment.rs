//! Image transforms on [`ImageF32`]: the standard CIFAR-style training augmentation
//! (pad-and-crop, horizontal flip), normalisation, resizing, and batching into NCHW.

use super::ImageF32;
use super::rng::Rng;

/// ImageNet channel means (RGB), as used by torchvision's pretrained models.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations (RGB).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Zero-pad by `pad` pixels on every side, then crop a random window of the original size
/// (torchvision `RandomCrop(size, padding=pad)` with fill 0). Offsets are uniform in [0, 2*pad].
/// Padding with 0 happens before normalisation, as in torchvision, so it is black.
pub fn random_crop_with_padding(img: &ImageF32, pad: usize, rng: &mut Rng) -> ImageF32 {
    let ox = rng.below(2 * pad + 1);
    let oy = rng.below(2 * pad + 1);
    crop_with_padding(img, pad, ox, oy)
}

/// The deterministic core of [`random_crop_with_padding`]: window origin (`ox`, `oy`) in padded
/// coordinates.
pub fn crop_with_padding(img: &ImageF32, pad: usize, ox: usize, oy: usize) -> ImageF32 {
    let (w, h) = (img.width, img.height);
    let plane = w * h;
    let mut out = ImageF32::zeros(w, h);
    for c in 0..3 {
        for y in 0..h {
            // Source row = y + oy - pad, when inside the image.
            let Some(sy) = (y + oy).checked_sub(pad).filter(|&sy| sy < h) else {
                continue;
            };
            for x in 0..w {
                if let Some(sx) = (x + ox).checked_sub(pad).filter(|&sx| sx < w) {
                    out.data[c * plane + y * w + x] = img.data[c * plane + sy * w + sx];
                }
            }
        }
    }
    out
}

/// Mirror left-right.
pub fn horizontal_flip(img: &ImageF32) -> ImageF32 {
    let mut out = img.clone();
    flip_in_place(&mut out);
    out
}

/// Mirror left-right in place.
pub fn flip_in_place(img: &mut ImageF32) {
    for row in img.data.chunks_mut(img.width) {
        row.reverse();
    }
}

/// Mirror left-right with probability 1/2 (torchvision `RandomHorizontalFlip`).
pub fn random_horizontal_flip(img: &ImageF32, rng: &mut Rng) -> ImageF32 {
    if rng.chance(0.5) {
        horizontal_flip(img)
    } else {
        img.clone()
    }
}

/// `(x - mean[c]) / std[c]` per channel, in place.
pub fn normalize(img: &mut ImageF32, mean: [f32; 3], std: [f32; 3]) {
    let plane = img.plane_len();
    for (c, chan) in img.data.chunks_mut(plane).enumerate() {
        let inv = 1.0 / std[c];
        for v in chan {
            *v = (*v - mean[c]) * inv;
        }
    }
}

/// Concatenate equally sized CHW images into one NCHW buffer.
///
/// Panics if the images differ in size, since a ragged batch is a bug upstream.
pub fn batch_to_nchw(samples: &[ImageF32]) -> Vec<f32> {
    let Some(first) = samples.first() else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(samples.len() * first.data.len());
    for s in samples {
        assert!(
            s.width == first.width && s.height == first.height,
            "batch_to_nchw: image {}x{} in a batch of {}x{}",
            s.width,
            s.height,
            first.width,
            first.height
        );
        out.extend_from_slice(&s.data);
    }
    out
}

/// Crop the window with top-left (`x0`, `y0`) and size `w` x `h`, which must lie inside.
pub fn crop(img: &ImageF32, x0: usize, y0: usize, w: usize, h: usize) -> ImageF32 {
    assert!(
        x0 + w <= img.width && y0 + h <= img.height,
        "crop outside image"
    );
    let mut out = ImageF32::zeros(w, h);
    let (src_plane, dst_plane) = (img.plane_len(), w * h);
    for c in 0..3 {
        for y in 0..h {
            let src = c * src_plane + (y0 + y) * img.width + x0;
            let dst = c * dst_plane + y * w;
            out.data[dst..dst + w].copy_from_slice(&img.data[src..src + w]);
        }
    }
    out
}

/// Bilinear resize to `w` x `h` with antialiasing when shrinking, like PIL's `BILINEAR`
/// (and torchvision's `Resize(antialias=True)`): the triangle filter is widened by the scale
/// factor on downsampling, so large photos do not alias. On upsampling it is plain bilinear
/// interpolation with pixel centres at +0.5.
pub fn resize_bilinear(img: &ImageF32, w: usize, h: usize) -> ImageF32 {
    if w == img.width && h == img.height {
        return img.clone();
    }
    resize_window(img, (0, 0, img.width, img.height), w, h)
}

/// The window `(x0, y0, width, height)` of `img` resized to `w` x `h` as
/// [`resize_bilinear`] resizes a crop, without copying the crop first (the training-time
/// RandomResizedCrop runs this once per image).
pub fn resize_window(
    img: &ImageF32,
    (x0, y0, win_w, win_h): (usize, usize, usize, usize),
    w: usize,
    h: usize,
) -> ImageF32 {
    assert!(w > 0 && h > 0, "resize to an empty image");
    assert!(
        x0 + win_w <= img.width && y0 + win_h <= img.height,
        "window outside image"
    );
    let xw = filter_weights(win_w, w);
    let plane = img.plane_len();
    // Horizontal pass: (win_h x w), then vertical pass: (h x w).
    let mut tmp = vec![0.0f32; 3 * win_h * w];
    for c in 0..3 {
        for y in 0..win_h {
            let src = &img.data[c * plane + (y0 + y) * img.width + x0..][..win_w];
            let dst = &mut tmp[(c * win_h + y) * w..][..w];
            for (d, (start, weights)) in dst.iter_mut().zip(&xw) {
                *d = weights
                    .iter()
                    .zip(&src[*start..])
                    .map(|(wt, v)| wt * v)
                    .sum();
            }
        }
    }
    vertical_pass(&tmp, win_h, w, h)
}

/// [`resize_window`] of the float image of an 8-bit picture (values / 255), with the same
/// result, reading only the window's bytes: no float copy of the whole picture is made.
pub fn resize_window_rgb8(
    img: &image::RgbImage,
    (x0, y0, win_w, win_h): (usize, usize, usize, usize),
    w: usize,
    h: usize,
) -> ImageF32 {
    let width = img.width() as usize;
    assert!(w > 0 && h > 0, "resize to an empty image");
    assert!(
        x0 + win_w <= width && y0 + win_h <= img.height() as usize,
        "window outside image"
    );
    let table: [f32; 256] = std::array::from_fn(|v| v as f32 / 255.0);
    let xw = filter_weights(win_w, w);
    let mut tmp = vec![0.0f32; 3 * win_h * w];
    let raw = img.as_raw();
    for y in 0..win_h {
        let src = &raw[((y0 + y) * width + x0) * 3..][..win_w * 3];
        for (x, (start, weights)) in xw.iter().enumerate() {
            // All three channels in one sweep over the interleaved bytes; each channel's sum
            // runs over the taps in the same order as the float version's.
            let mut sums = [0.0f32; 3];
            for (wt, rgb) in weights.iter().zip(src[start * 3..].chunks_exact(3)) {
                for (sum, byte) in sums.iter_mut().zip(rgb) {
                    *sum += wt * table[*byte as usize];
                }
            }
            for (c, sum) in sums.into_iter().enumerate() {
                tmp[(c * win_h + y) * w + x] = sum;
            }
        }
    }
    vertical_pass(&tmp, win_h, w, h)
}

/// The vertical half of the separable resize: `tmp` holds `3 x in_h` rows of `w` values.
fn vertical_pass(tmp: &[f32], in_h: usize, w: usize, h: usize) -> ImageF32 {
    let yw = filter_weights(in_h, h);
    let mut out = ImageF32::zeros(w, h);
    for c in 0..3 {
        for (y, (start, weights)) in yw.iter().enumerate() {
            let dst = &mut out.data[(c * h + y) * w..][..w];
            for (k, wt) in weights.iter().enumerate() {
                let src = &tmp[(c * in_h + start + k) * w..][..w];
                for (d, s) in dst.iter_mut().zip(src) {
                    *d += wt * s;
                }
            }
        }
    }
    out
}

/// For each output coordinate: first input index and normalised triangle-filter weights
/// (PIL's `precompute_coeffs` with support 1).
fn filter_weights(in_len: usize, out_len: usize) -> Vec<(usize, Vec<f32>)> {
    let scale = in_len as f64 / out_len as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale;
    (0..out_len)
        .map(|i| {
            let center = (i as f64 + 0.5) * scale;
            let lo = ((center - support + 0.5).floor().max(0.0)) as usize;
            let hi = ((center + support + 0.5).floor() as usize).min(in_len);
            let mut weights: Vec<f64> = (lo..hi)
                .map(|j| {
                    let t = ((j as f64 - center + 0.5) / filter_scale).abs();
                    (1.0 - t).max(0.0)
                })
                .collect();
            let total: f64 = weights.iter().sum();
            if total > 0.0 {
                weights.iter_mut().for_each(|w| *w /= total);
            }
            (lo, weights.into_iter().map(|w| w as f32).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resizing_a_window_is_resizing_its_crop() {
        let mut img = ImageF32::zeros(23, 17);
        for (i, v) in img.data.iter_mut().enumerate() {
            *v = ((i * 31) % 97) as f32 / 97.0;
        }
        for (window, size) in [
            ((3, 2, 15, 11), (7, 5)),
            ((0, 0, 23, 17), (40, 9)),
            ((5, 4, 6, 6), (6, 6)),
        ] {
            let (x0, y0, w, h) = window;
            let expected = resize_bilinear(&crop(&img, x0, y0, w, h), size.0, size.1);
            assert!(
                resize_window(&img, window, size.0, size.1) == expected,
                "{window:?}"
            );
            let bytes = img.to_rgb8();
            let from_bytes = resize_bilinear(
                &crop(&ImageF32::from_rgb8(&bytes), x0, y0, w, h),
                size.0,
                size.1,
            );
            assert!(
                resize_window_rgb8(&bytes, window, size.0, size.1) == from_bytes,
                "{window:?}"
            );
        }
    }

    #[test]
    fn from_rgb8_divides_by_255_into_planes() {
        let img =
            image::RgbImage::from_fn(3, 2, |x, y| image::Rgb([x as u8 * 100, y as u8 * 255, 7]));
        let f = ImageF32::from_rgb8(&img);
        for y in 0..2u32 {
            for x in 0..3u32 {
                let p = img.get_pixel(x, y);
                let expected = [
                    p[0] as f32 / 255.0,
                    p[1] as f32 / 255.0,
                    p[2] as f32 / 255.0,
                ];
                assert_eq!(f.pixel(x as usize, y as usize), expected);
            }
        }
    }

    /// A 4x3 image whose every value is distinct: v = c*100 + y*10 + x.
    fn numbered() -> ImageF32 {
        let mut img = ImageF32::zeros(4, 3);
        for c in 0..3 {
            for y in 0..3 {
                for x in 0..4 {
                    img.data[c * 12 + y * 4 + x] = (c * 100 + y * 10 + x) as f32;
                }
            }
        }
        img
    }

    #[test]
    fn flip_known_and_involution() {
        let img = numbered();
        let f = horizontal_flip(&img);
        assert_eq!(f.data[0..4], [3.0, 2.0, 1.0, 0.0]);
        assert_eq!(f.data[24..28], [203.0, 202.0, 201.0, 200.0]);
        assert_eq!(horizontal_flip(&f), img);
    }

    #[test]
    fn crop_pad_zero_is_identity() {
        let img = numbered();
        let mut rng = Rng::new(5);
        for _ in 0..5 {
            assert_eq!(random_crop_with_padding(&img, 0, &mut rng), img);
        }
    }

    #[test]
    fn crop_with_padding_shifts_and_zero_fills() {
        let img = numbered();
        // Origin (0,0) in padded coordinates with pad 1: shifts content right and down by 1.
        let out = crop_with_padding(&img, 1, 0, 0);
        assert_eq!(out.data[0..4], [0.0, 0.0, 0.0, 0.0]);
        assert_eq!(out.data[4..8], [0.0, 0.0, 1.0, 2.0]);
        assert_eq!(out.data[12 + 8..12 + 12], [0.0, 110.0, 111.0, 112.0]);
        // Origin (2,2): shifts left and up by 1.
        let out = crop_with_padding(&img, 1, 2, 2);
        assert_eq!(out.data[0..4], [11.0, 12.0, 13.0, 0.0]);
        assert_eq!(out.data[8..12], [0.0; 4]);
        // Random crops stay within the allowed shifts.
        let mut rng = Rng::new(9);
        for _ in 0..50 {
            let out = random_crop_with_padding(&img, 2, &mut rng);
            assert_eq!((out.width, out.height), (4, 3));
            assert!(out.data.iter().all(|v| *v == 0.0 || img.data.contains(v)));
        }
    }

    #[test]
    fn normalize_known() {
        let mut img = ImageF32::zeros(1, 1);
        img.data = vec![0.5, 0.5, 1.0];
        normalize(&mut img, [0.5, 0.0, 0.5], [0.5, 0.25, 2.0]);
        assert_eq!(img.data, vec![0.0, 2.0, 0.25]);
    }

    #[test]
    fn batch_concatenates() {
        let a = numbered();
        let b = horizontal_flip(&a);
        let batch = batch_to_nchw(&[a.clone(), b.clone()]);
        assert_eq!(batch.len(), 72);
        assert_eq!(batch[..36], a.data[..]);
        assert_eq!(batch[36..], b.data[..]);
        assert!(batch_to_nchw(&[]).is_empty());
    }

    #[test]
    fn crop_window() {
        let out = crop(&numbered(), 1, 1, 2, 2);
        assert_eq!(
            out.data,
            vec![
                11., 12., 21., 22., 111., 112., 121., 122., 211., 212., 221., 222.
            ]
        );
    }

    #[test]
    fn resize_constant_and_known_values() {
        let mut img = ImageF32::zeros(7, 5);
        img.data.iter_mut().for_each(|v| *v = 0.25);
        for (w, h) in [(3, 2), (14, 11), (7, 5), (1, 1)] {
            let r = resize_bilinear(&img, w, h);
            assert_eq!((r.width, r.height), (w, h));
            assert!(r.data.iter().all(|v| (v - 0.25).abs() < 1e-6));
        }
        // 2x downsample of a 4-wide ramp: the triangle filter is twice as wide (antialiasing).
        let mut ramp = ImageF32::zeros(4, 1);
        for (x, v) in ramp.data[..4].iter_mut().enumerate() {
            *v = x as f32;
        }
        let r = resize_bilinear(&ramp, 2, 1);
        // Output 0 is centred at input 1.0 and sees inputs 0,1,2 with weights 3/4,3/4,1/4 (sum 7/4).
        assert!((r.data[0] - 5.0 / 7.0).abs() < 1e-5, "{:?}", &r.data[..2]);
        assert!((r.data[1] - 16.0 / 7.0).abs() < 1e-5, "{:?}", &r.data[..2]);
        // 2x upsample: interior pixels interpolate at quarter positions.
        let r = resize_bilinear(&ramp, 8, 1);
        assert!((r.data[3] - 1.25).abs() < 1e-6, "{:?}", &r.data[..8]);
        assert!((r.data[0] - 0.0).abs() < 1e-6);
    }
}
