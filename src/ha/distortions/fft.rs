//! Two-dimensional FFTs of image planes (rustfft along rows, then along columns), and the
//! frequency grid the spectral distortions and the eidolon factory work on.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

pub use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftDirection, FftPlanner};

/// Plans by (length, forward), with the planner that made them.
type Plans = (FftPlanner<f32>, HashMap<(usize, bool), Arc<dyn Fft<f32>>>);

thread_local! {
    /// Plans are reused across calls on a thread: planning costs more than a 224-point FFT.
    static PLANNER: RefCell<Plans> = RefCell::new((FftPlanner::new(), HashMap::new()));
}

fn plan(len: usize, direction: FftDirection) -> Arc<dyn Fft<f32>> {
    PLANNER.with(|cell| {
        let (planner, plans) = &mut *cell.borrow_mut();
        let forward = direction == FftDirection::Forward;
        plans
            .entry((len, forward))
            .or_insert_with(|| planner.plan_fft(len, direction))
            .clone()
    })
}

/// In-place 2-D transform of a row-major `height x width` plane. The inverse is scaled by
/// `1 / (width * height)`, so `inverse(forward(x)) == x`.
fn transform(data: &mut [Complex32], width: usize, height: usize, direction: FftDirection) {
    assert_eq!(data.len(), width * height, "plane is not {width}x{height}");
    plan(width, direction).process(data);
    let mut columns = vec![Complex32::default(); width * height];
    for y in 0..height {
        for x in 0..width {
            columns[x * height + y] = data[y * width + x];
        }
    }
    plan(height, direction).process(&mut columns);
    let scale = if direction == FftDirection::Inverse {
        1.0 / (width * height) as f32
    } else {
        1.0
    };
    for x in 0..width {
        for y in 0..height {
            data[y * width + x] = columns[x * height + y] * scale;
        }
    }
}

pub fn forward(data: &mut [Complex32], width: usize, height: usize) {
    transform(data, width, height, FftDirection::Forward);
}

pub fn inverse(data: &mut [Complex32], width: usize, height: usize) {
    transform(data, width, height, FftDirection::Inverse);
}

/// The spectrum of a real plane.
pub fn spectrum(plane: &[f32], width: usize, height: usize) -> Vec<Complex32> {
    let mut data: Vec<Complex32> = plane.iter().map(|&v| Complex32::new(v, 0.0)).collect();
    forward(&mut data, width, height);
    data
}

/// The real part of the inverse transform of `spectrum` (the imaginary part is round-off when
/// the spectrum is Hermitian).
pub fn real_inverse(mut spectrum: Vec<Complex32>, width: usize, height: usize) -> Vec<f32> {
    inverse(&mut spectrum, width, height);
    spectrum.into_iter().map(|c| c.re).collect()
}

/// Signed frequency of bin `k` of an `n`-point transform, in cycles per pixel.
#[inline]
pub fn frequency(k: usize, n: usize) -> f32 {
    if k <= n / 2 {
        k as f32 / n as f32
    } else {
        (k as f32 - n as f32) / n as f32
    }
}

/// The bin holding the negated frequency of bin `k`.
#[inline]
pub fn mirror(k: usize, n: usize) -> usize {
    (n - k) % n
}

/// Transfer function of a Gaussian blur with standard deviation `sigma` pixels (periodic).
pub fn gaussian_transfer(width: usize, height: usize, sigma: f32) -> Vec<f32> {
    let factor = -2.0 * std::f32::consts::PI.powi(2) * sigma * sigma;
    // Separable: exp(a (fx^2 + fy^2)) = exp(a fx^2) exp(a fy^2).
    let along = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|k| (factor * frequency(k, n).powi(2)).exp())
            .collect()
    };
    let (gx, gy) = (along(width), along(height));
    let mut out = Vec::with_capacity(width * height);
    for y in &gy {
        out.extend(gx.iter().map(|x| x * y));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_known_spectrum() {
        let (w, h) = (6, 4);
        let plane: Vec<f32> = (0..w * h).map(|i| ((i * 7) % 5) as f32 - 1.5).collect();
        let spec = spectrum(&plane, w, h);
        // DC is the sum.
        let sum: f32 = plane.iter().sum();
        assert!((spec[0].re - sum).abs() < 1e-4 && spec[0].im.abs() < 1e-4);
        // A real plane has a Hermitian spectrum.
        for ky in 0..h {
            for kx in 0..w {
                let a = spec[ky * w + kx];
                let b = spec[mirror(ky, h) * w + mirror(kx, w)];
                assert!((a - b.conj()).norm() < 1e-4);
            }
        }
        let back = real_inverse(spec, w, h);
        for (a, b) in plane.iter().zip(&back) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn gaussian_transfer_is_the_blur_of_an_impulse() {
        // The transfer function of a narrow blur, inverted, is a normalised Gaussian.
        let (w, h) = (32, 16);
        let blurred = real_inverse(
            gaussian_transfer(w, h, 1.5)
                .into_iter()
                .map(|g| Complex32::new(g, 0.0))
                .collect(),
            w,
            h,
        );
        assert!((blurred.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        let peak = 1.0 / (std::f32::consts::TAU * 1.5 * 1.5);
        assert!((blurred[0] - peak).abs() < 1e-3, "{}", blurred[0]);
        // One pixel over along x: exp(-1 / (2 sigma^2)) of the peak.
        assert!((blurred[1] / blurred[0] - (-1.0f32 / 4.5).exp()).abs() < 1e-3);
        assert!((blurred[w] / blurred[0] - (-1.0f32 / 4.5).exp()).abs() < 1e-3);
    }

    #[test]
    fn cosine_lands_in_its_bins() {
        let (w, h) = (8, 8);
        let plane: Vec<f32> = (0..w * h)
            .map(|i| (std::f32::consts::TAU * 2.0 * (i % w) as f32 / w as f32).cos())
            .collect();
        let spec = spectrum(&plane, w, h);
        for (i, c) in spec.iter().enumerate() {
            let expected = if i == 2 || i == 6 { 32.0 } else { 0.0 };
            assert!((c.norm() - expected).abs() < 1e-3, "bin {i}: {c}");
        }
        assert_eq!(frequency(6, 8), -0.25);
        assert_eq!(mirror(0, 8), 0);
        assert_eq!(mirror(3, 8), 5);
    }
}
