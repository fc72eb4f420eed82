//! Low-pass and high-pass filtering: a Gaussian blur with a constant border, as SciPy's
//! `gaussian_filter(mode="constant", cval=0.4423)` computes it (kernel truncated at 4 standard
//! deviations, normalised to sum 1).

use super::colour::Plane;

/// The mean grey of ImageNet, the value the benchmark pads and centres filtered images with.
pub const BACKGROUND_GREY: f32 = 0.4423;

/// SciPy's truncated, normalised 1-D Gaussian kernel (`radius = int(4 sigma + 0.5)`).
fn kernel(sigma: f32) -> Vec<f32> {
    let radius = (4.0 * sigma + 0.5) as usize;
    let weights: Vec<f64> = (0..=2 * radius)
        .map(|i| {
            let x = i as f64 - radius as f64;
            (-0.5 * x * x / (sigma as f64 * sigma as f64)).exp()
        })
        .collect();
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| (w / total) as f32).collect()
}

/// Separable Gaussian blur; samples outside the plane read `border`. `sigma <= 0` copies.
pub fn gaussian_blur(plane: &Plane, sigma: f32, border: f32) -> Plane {
    if sigma <= 0.0 {
        return plane.clone();
    }
    let kernel = kernel(sigma);
    let radius = kernel.len() / 2;
    let (w, h) = (plane.width, plane.height);
    let pass = |input: &[f32], len: usize, stride: usize, count: usize, step: usize| {
        // Blurs `count` lines of `len` samples; sample i of line j is at j*step + i*stride.
        // Each line is copied into a buffer padded with the border value on both sides.
        let mut out = vec![0.0f32; input.len()];
        let mut padded = vec![border; len + 2 * radius];
        for line in 0..count {
            for i in 0..len {
                padded[radius + i] = input[line * step + i * stride];
            }
            for i in 0..len {
                let window = &padded[i..i + kernel.len()];
                out[line * step + i * stride] =
                    window.iter().zip(&kernel).map(|(v, k)| v * k).sum();
            }
        }
        out
    };
    let rows = pass(&plane.data, w, 1, h, w);
    let both = pass(&rows, h, w, w, 1);
    Plane::new(w, h, both)
}

/// Low-pass: the blurred plane (clipping happens when the plane becomes an image).
pub fn low_pass(plane: &Plane, sigma: f32) -> Plane {
    gaussian_blur(plane, sigma, BACKGROUND_GREY)
}

/// High-pass: the plane minus its blur, shifted so its mean is the background grey. `None`
/// (the benchmark's `inf`) leaves the plane unfiltered.
pub fn high_pass(plane: &Plane, sigma: Option<f32>) -> Plane {
    let Some(sigma) = sigma else {
        return plane.clone();
    };
    let blurred = gaussian_blur(plane, sigma, BACKGROUND_GREY);
    let mut data: Vec<f32> = plane
        .data
        .iter()
        .zip(&blurred.data)
        .map(|(v, b)| v - b)
        .collect();
    let mean = data.iter().map(|&v| v as f64).sum::<f64>() as f32 / data.len().max(1) as f32;
    for v in &mut data {
        *v += BACKGROUND_GREY - mean;
    }
    Plane::new(plane.width, plane.height, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: usize, h: usize) -> Plane {
        Plane::new(
            w,
            h,
            (0..w * h)
                .map(|i| ((i % w) as f32 / w as f32 + (i / w) as f32 / (2 * h) as f32) * 0.6)
                .collect(),
        )
    }

    #[test]
    fn low_pass_zero_is_identity_and_blur_keeps_the_border_grey() {
        let plane = ramp(9, 7);
        assert_eq!(low_pass(&plane, 0.0), plane);
        // A plane of the border grey stays exactly that grey at any sigma.
        let grey = Plane::new(8, 8, vec![BACKGROUND_GREY; 64]);
        for sigma in [1.0, 3.0, 40.0] {
            let out = low_pass(&grey, sigma);
            assert!(out.data.iter().all(|v| (v - BACKGROUND_GREY).abs() < 1e-5));
        }
        // A huge blur pulls everything to the border grey.
        let out = low_pass(&plane, 200.0);
        assert!(out.data.iter().all(|v| (v - BACKGROUND_GREY).abs() < 0.02));
    }

    #[test]
    fn kernel_matches_scipy() {
        // scipy.ndimage._gaussian_kernel1d(1.0, 0, 4) normalised.
        let k = kernel(1.0);
        assert_eq!(k.len(), 9);
        let expected = [
            1.3383062e-4,
            4.4318616e-3,
            5.3991124e-2,
            0.24197145,
            0.39894347,
        ];
        for (a, b) in k.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{k:?}");
        }
    }

    #[test]
    fn blur_of_an_impulse_is_the_kernel() {
        let mut data = vec![0.0; 15 * 15];
        data[7 * 15 + 7] = 1.0;
        let out = gaussian_blur(&Plane::new(15, 15, data), 1.0, 0.0);
        let k = kernel(1.0);
        for dy in 0..9 {
            for dx in 0..9 {
                let v = out.data[(3 + dy) * 15 + 3 + dx];
                assert!((v - k[dy] * k[dx]).abs() < 1e-7);
            }
        }
    }

    #[test]
    fn high_pass_removes_the_mean_and_inf_is_identity() {
        let plane = ramp(12, 10);
        assert_eq!(high_pass(&plane, None), plane);
        let out = high_pass(&plane, Some(1.5));
        assert!((out.mean() - BACKGROUND_GREY).abs() < 1e-5);
        // A constant plane has no high frequencies: flat background grey, border effects aside.
        let flat = high_pass(&Plane::new(32, 32, vec![0.7; 1024]), Some(1.0));
        let centre = flat.data[16 * 32 + 16];
        assert!((centre - flat.data[16 * 32 + 17]).abs() < 1e-5);
    }
}
