//! Power equalisation: the amplitude spectrum is replaced by the mean amplitude spectrum of the
//! image set, the phase spectrum kept.

use super::colour::Plane;
use super::fft::{Complex32, real_inverse, spectrum};

/// The mean amplitude spectrum of equally sized planes.
pub fn mean_amplitude_spectrum<'a>(planes: impl IntoIterator<Item = &'a Plane>) -> Vec<f32> {
    let mut sum: Vec<f64> = Vec::new();
    let mut count = 0usize;
    let mut size = None;
    for plane in planes {
        let dims = (plane.width, plane.height);
        assert!(
            size.is_none_or(|s| s == dims),
            "power equalisation needs equally sized images"
        );
        size = Some(dims);
        let spec = spectrum(&plane.data, plane.width, plane.height);
        if sum.is_empty() {
            sum = vec![0.0; spec.len()];
        }
        for (s, c) in sum.iter_mut().zip(&spec) {
            *s += c.norm() as f64;
        }
        count += 1;
    }
    sum.into_iter()
        .map(|s| (s / count.max(1) as f64) as f32)
        .collect()
}

/// The unclipped plane with amplitude spectrum `amplitude` and the phase of `plane`.
pub fn equalise_power(plane: &Plane, amplitude: &[f32]) -> Plane {
    let (w, h) = (plane.width, plane.height);
    assert_eq!(amplitude.len(), w * h, "amplitude spectrum of another size");
    let spec: Vec<Complex32> = spectrum(&plane.data, w, h)
        .into_iter()
        .zip(amplitude)
        .map(|(c, &a)| Complex32::from_polar(a, c.arg()))
        .collect();
    Plane::new(w, h, real_inverse(spec, w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(w: usize, h: usize, f: impl Fn(f32, f32) -> f32) -> Plane {
        Plane::new(
            w,
            h,
            (0..w * h)
                .map(|i| f((i % w) as f32, (i / w) as f32))
                .collect(),
        )
    }

    #[test]
    fn keeps_the_phase_and_sets_the_amplitude() {
        let a = plane(16, 12, |x, y| {
            0.5 + 0.2 * (0.9 * x).sin() + 0.1 * (0.4 * y + x).cos()
        });
        let b = plane(16, 12, |x, y| 0.4 + 0.3 * (0.2 * x * y).sin());
        let target = mean_amplitude_spectrum([&a, &b]);
        let out = equalise_power(&a, &target);
        let before = spectrum(&a.data, 16, 12);
        let after = spectrum(&out.data, 16, 12);
        for ((x, y), t) in before.iter().zip(&after).zip(&target) {
            assert!(
                (y.norm() - t).abs() < 2e-3 * (1.0 + t),
                "{} vs {t}",
                y.norm()
            );
            if x.norm() > 1e-2 && *t > 1e-2 {
                let turn = (x.arg() - y.arg()).rem_euclid(std::f32::consts::TAU);
                assert!(
                    !(1e-3..=std::f32::consts::TAU - 1e-3).contains(&turn),
                    "phase moved {turn}"
                );
            }
        }
    }

    #[test]
    fn the_mean_spectrum_of_one_image_gives_it_back() {
        let a = plane(10, 10, |x, y| 0.3 + 0.05 * x - 0.02 * y);
        let out = equalise_power(&a, &mean_amplitude_spectrum([&a]));
        for (p, q) in a.data.iter().zip(&out.data) {
            assert!((p - q).abs() < 1e-4);
        }
    }
}
