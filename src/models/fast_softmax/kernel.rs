//! Softmax rows and their gradient over host buffers: per row a max, one vectorised pass of
//! `exp` ([`super::super::fast_math::exp`]), a sum and a division, compiled for AVX2 too where
//! the CPU has it (the same values either way: no FMA contraction).

use super::super::fast_math::exp;

/// Each row of `width` values of `x` into the same row of `output`: `e^(x - max) / sum`.
pub fn forward(x: &[f32], output: &mut [f32], width: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: this CPU has AVX2 (checked just above).
        return unsafe { forward_avx2(x, output, width) };
    }
    forward_any(x, output, width);
}

/// Each row of the input's gradient from the output `y` and its gradient: `y * (dy - <dy, y>)`.
pub fn backward(y: &[f32], grad: &[f32], output: &mut [f32], width: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: this CPU has AVX2 (checked just above).
        return unsafe { backward_avx2(y, grad, output, width) };
    }
    backward_any(y, grad, output, width);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn forward_avx2(x: &[f32], output: &mut [f32], width: usize) {
    forward_any(x, output, width);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn backward_avx2(y: &[f32], grad: &[f32], output: &mut [f32], width: usize) {
    backward_any(y, grad, output, width);
}

#[inline(always)]
fn forward_any(x: &[f32], output: &mut [f32], width: usize) {
    let width = width.max(1);
    for (x, y) in x.chunks_exact(width).zip(output.chunks_exact_mut(width)) {
        let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        for (y, &x) in y.iter_mut().zip(x) {
            *y = exp(x - max);
        }
        let sum: f32 = y.iter().sum();
        for y in y.iter_mut() {
            *y /= sum;
        }
    }
}

#[inline(always)]
fn backward_any(y: &[f32], grad: &[f32], output: &mut [f32], width: usize) {
    let width = width.max(1);
    let rows = y.chunks_exact(width).zip(grad.chunks_exact(width));
    for ((y, dy), dx) in rows.zip(output.chunks_exact_mut(width)) {
        let dot: f32 = y.iter().zip(dy).map(|(y, dy)| y * dy).sum();
        for ((dx, &y), &dy) in dx.iter_mut().zip(y).zip(dy) {
            *dx = y * (dy - dot);
        }
    }
}

#[cfg(test)]
mod tests {
    /// The AVX2 loops give the portable loops' values bit for bit.
    #[test]
    fn every_instruction_set_gives_the_same_values() {
        let x: Vec<f32> = (0..49 * 7)
            .map(|i| ((i * 37) % 101) as f32 * 0.13 - 6.0)
            .collect();
        let grad: Vec<f32> = x.iter().map(|v| 0.5 - v * 0.1).collect();
        let (mut any, mut chosen) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        super::forward_any(&x, &mut any, 49);
        super::forward(&x, &mut chosen, 49);
        assert_eq!(any, chosen);
        let y = any.clone();
        super::backward_any(&y, &grad, &mut any, 49);
        super::backward(&y, &grad, &mut chosen, 49);
        assert_eq!(any, chosen);
    }
}
