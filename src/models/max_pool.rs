//! Max pooling on the CPU (`flex`) as two separable passes, the maximum of each row's windows
//! and then of each column's, instead of `flex`'s per-window scan with index arithmetic per
//! tap. On a ResNet's stem output (`[4, 64, 112, 112]`, 3x3, stride 2) `flex` takes 16 ms, a
//! fifth of a sparse GradCAM batch; this takes 3 ms (`cargo bench --bench ops`). Its output is
//! `flex`'s bit for bit, NaNs included (tested).
//!
//! It keeps no indices, so it serves the passes that take no gradient through the pool:
//! evaluation, LOST, model-vs-human, and GradCAM, whose gradient stops at the last stage. A pool
//! whose input takes part in a backward pass (training, Guided Backprop, Integrated Gradients)
//! runs Burn's, which records the indices its backward pass scatters by: finding each window's
//! maximum again in the backward pass measured slower than that. So do other devices, dilated,
//! ceil-mode or asymmetrically padded pools, and non-f32 tensors.

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, backend_extension};
use burn::nn::PaddingConfig2d;
use burn::nn::pool::MaxPool2d;
use burn::tensor::{DType, Tensor};
use rayon::prelude::*;

use super::flex_host::{dims4, from_values, is_flex};

/// A max pool's window: square kernel and stride, the same padding on every side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolWindow {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl PoolWindow {
    /// Output rows (or columns) for `size` input rows; 0 when the window does not fit.
    fn out_len(&self, size: usize) -> usize {
        (size + 2 * self.padding)
            .checked_sub(self.kernel)
            .map_or(0, |span| span / self.stride + 1)
    }

    /// Input indices of output position `o`'s window along one axis (padding left out).
    fn taps(&self, o: usize, size: usize) -> std::ops::Range<usize> {
        let start = (o * self.stride).saturating_sub(self.padding);
        let end = (o * self.stride + self.kernel)
            .saturating_sub(self.padding)
            .min(size);
        start..end.max(start)
    }
}

/// `pool` applied to `x`: separable on `flex` f32 where `pool` is a plain square window,
/// Burn's `MaxPool2d` elsewhere.
pub fn max_pool2d(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    let padding = match pool.padding {
        PaddingConfig2d::Valid => Some(0),
        PaddingConfig2d::Explicit(top, left, bottom, right)
            if top == left && top == bottom && top == right =>
        {
            Some(top)
        }
        _ => None,
    };
    let [kh, kw] = pool.kernel_size;
    let [sh, sw] = pool.stride;
    let plain = kh == kw && sh == sw && pool.dilation == [1, 1] && !pool.ceil_mode;
    let on_flex = is_flex(&x.device());
    let Some(padding) = padding.filter(|&p| plain && on_flex && p < kh && x.dtype() == DType::F32)
    else {
        return pool.forward(x);
    };
    let window = PoolWindow {
        kernel: kh,
        stride: sh,
        padding,
    };
    Tensor::from_dispatch(<Dispatch as MaxPoolBackend>::separable_max_pool2d(
        x.into_dispatch(),
        window,
    ))
}

/// The backend operation behind [`max_pool2d`].
#[backend_extension(Flex, Autodiff)]
pub trait MaxPoolBackend: Backend {
    fn separable_max_pool2d(x: FloatTensor<Self>, window: PoolWindow) -> FloatTensor<Self>;
}

/// `best` or `candidate`, whichever wins by `flex`'s rule: greater, or NaN (so a NaN wins and
/// stays). Branch-free, so the column pass vectorises.
#[inline(always)]
fn pick(best: f32, candidate: f32) -> f32 {
    if (candidate > best) | candidate.is_nan() {
        candidate
    } else {
        best
    }
}

/// The maximum of one row's windows into `out`.
fn pool_row(row: &[f32], window: PoolWindow, out: &mut [f32]) {
    let PoolWindow {
        kernel,
        stride,
        padding,
    } = window;
    for (o, value) in out.iter_mut().enumerate() {
        let start = o * stride;
        // Whole windows (most of them) skip the clipping.
        let taps = if start >= padding && start - padding + kernel <= row.len() {
            &row[start - padding..][..kernel]
        } else {
            &row[window.taps(o, row.len())]
        };
        *value = taps
            .iter()
            .fold(f32::NEG_INFINITY, |best, &v| pick(best, v));
    }
}

/// One `[h, w]` plane pooled into `out` (`[out_h, out_w]`), through `rows` (`[h, out_w]`): the
/// maximum of each row's windows, then of each column's.
fn pool_plane(plane: &[f32], w: usize, window: PoolWindow, rows: &mut [f32], out: &mut [f32]) {
    let h = plane.len() / w.max(1);
    let out_w = window.out_len(w);
    for (row, pooled) in plane.chunks(w).zip(rows.chunks_mut(out_w)) {
        pool_row(row, window, pooled);
    }
    for (o, out_row) in out.chunks_mut(out_w).enumerate() {
        out_row.fill(f32::NEG_INFINITY);
        for y in window.taps(o, h) {
            for (best, &v) in out_row.iter_mut().zip(&rows[y * out_w..][..out_w]) {
                *best = pick(*best, v);
            }
        }
    }
}

impl MaxPoolBackend for Flex {
    fn separable_max_pool2d(x: FloatTensor<Self>, window: PoolWindow) -> FloatTensor<Self> {
        let [n, c, h, w] = dims4(&x);
        let (out_h, out_w) = (window.out_len(h), window.out_len(w));
        let x = x.to_contiguous();
        let mut out = vec![0.0; n * c * out_h * out_w];
        if out_h * out_w > 0 {
            out.par_chunks_mut(out_h * out_w)
                .zip(x.storage::<f32>().par_chunks(h * w))
                .for_each_init(
                    || vec![0.0; h * out_w],
                    |rows, (out, plane)| pool_plane(plane, w, window, rows, out),
                );
        }
        from_values(out, [n, c, out_h, out_w])
    }
}

impl<B: Backend + MaxPoolBackend, C: CheckpointStrategy> MaxPoolBackend for Autodiff<B, C> {
    fn separable_max_pool2d(x: FloatTensor<Self>, window: PoolWindow) -> FloatTensor<Self> {
        if x.is_tracked() {
            // Burn's pool, with the indices its backward pass needs.
            let PoolWindow {
                kernel,
                stride,
                padding,
            } = window;
            return <Self as ModuleOps<Self>>::max_pool2d(
                x,
                [kernel, kernel],
                [stride, stride],
                [padding, padding],
                [1, 1],
                false,
            );
        }
        <Self as AutodiffBackend>::from_inner(B::separable_max_pool2d(
            <Self as AutodiffBackend>::inner(x),
            window,
        ))
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::pool::MaxPool2dConfig;
    use burn::tensor::{Device, TensorData};

    use super::*;
    use crate::models::test_support::{normal, values};

    fn pool(kernel: usize, stride: usize, padding: usize) -> MaxPool2d {
        MaxPool2dConfig::new([kernel, kernel])
            .with_strides([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(
                padding, padding, padding, padding,
            ))
            .init()
    }

    /// Bit for bit Burn's pool on odd and even sizes, with ties (values rounded to a few levels)
    /// and a NaN: the separable forward pass on a plain device and on an untracked autodiff
    /// tensor, and a tracked tensor's output and gradient (Burn's own pool, through the
    /// extension's autodiff backend).
    #[test]
    fn equals_burns_pool_bit_for_bit() {
        let device = Device::flex().autodiff();
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        for (kernel, stride, padding) in [(3, 2, 1), (2, 2, 0), (3, 1, 1), (3, 3, 0)] {
            let pool = pool(kernel, stride, padding);
            for (h, w) in [(9, 8), (7, 7), (4, 5)] {
                let what = format!("{kernel}/{stride}/{padding} {h}x{w}");
                let x = normal([2, 3, h, w], 1, &device).mul_scalar(2.0).round();
                let mut data = values(x.clone());
                data[7] = f32::NAN;
                let x = Tensor::<4>::from_data(TensorData::new(data, [2, 3, h, w]), &device);
                let burns = values(pool.forward(x.clone()));
                let plain = x.clone().without_autodiff();
                assert_eq!(
                    bits(&values(max_pool2d(&pool, plain))),
                    bits(&burns),
                    "{what}"
                );
                assert_eq!(
                    bits(&values(max_pool2d(&pool, x.clone()))),
                    bits(&burns),
                    "untracked {what}"
                );
                let weights = normal(pool.forward(x.clone()).dims(), 2, &device);
                let run = |ours: bool| {
                    let input = x.clone().require_grad();
                    let out = if ours {
                        max_pool2d(&pool, input.clone())
                    } else {
                        pool.forward(input.clone())
                    };
                    let grads = (out.clone() * weights.clone()).sum().backward();
                    (values(out), values(input.grad(&grads).unwrap()))
                };
                let ((ours, our_grad), (burns, burn_grad)) = (run(true), run(false));
                assert_eq!(bits(&ours), bits(&burns), "tracked {what}");
                assert_eq!(bits(&our_grad), bits(&burn_grad), "gradient {what}");
            }
        }
    }

    #[test]
    fn a_pool_the_fast_path_does_not_cover_runs_burns() {
        let device = Device::flex();
        let ceil = MaxPool2dConfig::new([3, 3])
            .with_strides([2, 2])
            .with_ceil_mode(true)
            .init();
        let x = normal([1, 2, 6, 6], 3, &device);
        assert_eq!(
            values(max_pool2d(&ceil, x.clone())),
            values(ceil.forward(x))
        );
    }

    #[test]
    fn windows_clip_the_padding() {
        let window = PoolWindow {
            kernel: 3,
            stride: 2,
            padding: 1,
        };
        assert_eq!(window.out_len(112), 56);
        assert_eq!(window.taps(0, 112), 0..2);
        assert_eq!(window.taps(55, 112), 109..112);
        assert_eq!(window.out_len(1), 1);
        assert_eq!(window.taps(0, 1), 0..1);
    }
}
