//! GELU and its derivative over host buffers, in branch-free arithmetic the compiler
//! vectorises (AVX2 where the CPU has it): `erf` is Abramowitz and Stegun's 7.1.26 (absolute
//! error at most 1.5e-7, the formula of PyTorch's vectorised CPU `erf`) with Taylor's series
//! near 0, and `exp` Cephes' `expf` (range reduction by ln 2 and a degree-5 polynomial, about
//! one ulp). `libm`'s `erff` and `expf`, which `flex` calls per value, were an eighth of a
//! SwinV2-T training step.

use std::f32::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI};

use super::super::fast_math::exp;

/// `erf(x)`: Taylor's series below 0.5, where A&S's `1 - poly * e^(-x²)` cancels and loses
/// digits, A&S 7.1.26 above; within 3e-7 (tested). Both are computed and one selected, so the
/// loop stays branch-free.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152 + t * 1.061_405_4))));
    let far = 1.0 - poly * exp(-a * a);
    // 2/sqrt(pi) * (a - a^3/3 + a^5/10 - a^7/42 + a^9/216 - a^11/1320 + a^13/9360).
    let s = a * a;
    let series = FRAC_2_SQRT_PI
        * a
        * (1.0
            + s * (-1.0 / 3.0
                + s * (0.1
                    + s * (-1.0 / 42.0
                        + s * (1.0 / 216.0 + s * (-1.0 / 1320.0 + s * (1.0 / 9360.0)))))));
    let near = a < 0.5;
    (if near { series } else { far }).copysign(x)
}

/// The standard normal distribution function `Φ(x)`.
#[inline(always)]
fn normal_cdf(x: f32) -> f32 {
    0.5 * (1.0 + erf(x * FRAC_1_SQRT_2))
}

/// `1 / sqrt(2π)`.
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// `x * Φ(x)` of every value.
pub fn forward(x: &[f32], output: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: this CPU has AVX2 (checked just above).
        return unsafe { forward_avx2(x, output) };
    }
    forward_any(x, output);
}

/// `grad * (Φ(x) + x φ(x))` of every value: the exact derivative, as PyTorch's.
pub fn backward(x: &[f32], grad: &[f32], output: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: this CPU has AVX2 (checked just above).
        return unsafe { backward_avx2(x, grad, output) };
    }
    backward_any(x, grad, output);
}

// The loops again, compiled for AVX2: eight values per instruction instead of SSE2's four.
// The same operations in the same order (no FMA contraction), so the same values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn forward_avx2(x: &[f32], output: &mut [f32]) {
    forward_any(x, output);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn backward_avx2(x: &[f32], grad: &[f32], output: &mut [f32]) {
    backward_any(x, grad, output);
}

#[inline(always)]
fn forward_any(x: &[f32], output: &mut [f32]) {
    for (y, &x) in output.iter_mut().zip(x) {
        *y = x * normal_cdf(x);
    }
}

#[inline(always)]
fn backward_any(x: &[f32], grad: &[f32], output: &mut [f32]) {
    for ((dx, &x), &g) in output.iter_mut().zip(x).zip(grad) {
        let density = INV_SQRT_2PI * exp(-0.5 * x * x);
        *dx = g * (normal_cdf(x) + x * density);
    }
}

#[cfg(test)]
mod tests {
    use super::erf;
    use crate::models::fast_math::exp;

    /// Against f64's: `exp` within 3e-7 relative over GELU's range; `erf` within 3e-7, odd,
    /// and saturated far out.
    #[test]
    fn exp_and_erf_are_accurate() {
        let mut x = -87.0f32;
        while x <= 0.0 {
            let expected = (x as f64).exp();
            let relative = ((exp(x) as f64 - expected) / expected).abs();
            assert!(relative < 3e-7, "exp({x}) = {} vs {expected}", exp(x));
            x += 0.013;
        }
        let mut x = -6.0f32;
        while x <= 6.0 {
            let expected = libm::erf(x as f64);
            assert!(
                (erf(x) as f64 - expected).abs() < 3e-7,
                "erf({x}) = {} vs {expected}",
                erf(x)
            );
            assert_eq!(erf(-x), -erf(x));
            x += 0.0007;
        }
        assert_eq!(erf(40.0), 1.0);
        assert_eq!(erf(-40.0), -1.0);
        assert!(erf(f32::NAN).is_nan());
    }

    /// The AVX2 loops give the portable loops' values bit for bit.
    #[test]
    fn every_instruction_set_gives_the_same_values() {
        let x: Vec<f32> = (0..1003).map(|i| (i as f32 - 501.0) * 0.0173).collect();
        let grad: Vec<f32> = x.iter().map(|v| 1.0 - v).collect();
        let (mut any, mut chosen) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        super::forward_any(&x, &mut any);
        super::forward(&x, &mut chosen);
        assert_eq!(any, chosen);
        super::backward_any(&x, &grad, &mut any);
        super::backward(&x, &grad, &mut chosen);
        assert_eq!(any, chosen);
    }
}
