//! Max pooling on the CPU (`flex`) as two separable passes, the maximum of each row's windows
//! and then of each column of those, instead of `flex`'s per-window scan. On a ResNet's stem
//! output (`[4, 64, 112, 112]`, 3x3, stride 2) `flex` takes 16 ms, a fifth of a sparse GradCAM
//! batch; this takes a tenth of that (`cargo bench --bench ops`).
//!
//! The forward pass keeps no indices: the backward pass finds each window's maximum again in
//! the input it keeps, so a forward-only analysis (evaluation, LOST, model-vs-human, GradCAM,
//! whose gradient stops at the last stage) never pays for them. Both passes give what `flex`
//! gives bit for bit (tested): the maximum, a NaN wherever a window holds one, and the gradient
//! routed to the first maximum of its window in row-major order (the last NaN for a NaN).
//!
//! Other devices, dilated, ceil-mode or asymmetrically padded pools, and non-f32 tensors run
//! Burn's `MaxPool2d`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    Autodiff, AutodiffBackend, Backend, Dispatch, DispatchDevice, Flex, TensorMetadata,
    backend_extension,
};
use burn::nn::PaddingConfig2d;
use burn::nn::pool::MaxPool2d;
use burn::tensor::{DType, Tensor, TensorData};
use rayon::prelude::*;

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
    let on_flex = matches!(x.device().inner().as_dispatch(), DispatchDevice::Flex(_));
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

/// The backend operations behind [`max_pool2d`].
#[backend_extension(Flex, Autodiff)]
pub trait MaxPoolBackend: Backend {
    fn separable_max_pool2d(x: FloatTensor<Self>, window: PoolWindow) -> FloatTensor<Self>;

    /// The gradient with respect to the pool's input `x` from the gradient of its output.
    fn separable_max_pool2d_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        window: PoolWindow,
    ) -> FloatTensor<Self>;
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

/// Where each output of one plane takes its value: the index in the plane of its window's
/// first maximum in row-major order (its last NaN when it holds one), as `flex` records it.
/// The forward pass's two passes with the winners' indices carried along: the first winning
/// row of a column holds the first winning column of that row. `rows` and `columns` are
/// `[h, out_w]` scratch; `out` is `[out_h, out_w]`.
fn argmax_plane(
    plane: &[f32],
    w: usize,
    window: PoolWindow,
    (rows, columns): (&mut [f32], &mut [u32]),
    out: &mut [u32],
) {
    let h = plane.len() / w.max(1);
    let out_w = window.out_len(w);
    for ((row, pooled), at) in plane
        .chunks(w)
        .zip(rows.chunks_mut(out_w))
        .zip(columns.chunks_mut(out_w))
    {
        for (o, (value, at)) in pooled.iter_mut().zip(at.iter_mut()).enumerate() {
            let taps = window.taps(o, w);
            let (mut best, mut best_at) = (row[taps.start], taps.start);
            for (x, &v) in row.iter().enumerate().take(taps.end).skip(taps.start + 1) {
                // Selects, not branches: which tap wins is data, and unpredictable.
                let wins = (v > best) | v.is_nan();
                best = if wins { v } else { best };
                best_at = if wins { x } else { best_at };
            }
            (*value, *at) = (best, best_at as u32);
        }
    }
    // Column by column as in `pool_plane`, the winning row kept beside the winning value.
    let mut best = vec![0.0; out_w];
    for (o, out_row) in out.chunks_mut(out_w).enumerate() {
        let taps = window.taps(o, h);
        best.copy_from_slice(&rows[taps.start * out_w..][..out_w]);
        out_row.fill(taps.start as u32);
        for y in taps.start + 1..taps.end {
            let row = &rows[y * out_w..][..out_w];
            for ((best, winner), &v) in best.iter_mut().zip(out_row.iter_mut()).zip(row) {
                let wins = (v > *best) | v.is_nan();
                *best = if wins { v } else { *best };
                *winner = if wins { y as u32 } else { *winner };
            }
        }
        for (ox, at) in out_row.iter_mut().enumerate() {
            let y = *at as usize;
            *at = (y * w) as u32 + columns[y * out_w + ox];
        }
    }
}

fn dims(tensor: &FloatTensor<Flex>) -> [usize; 4] {
    let shape = tensor.shape();
    [shape[0], shape[1], shape[2], shape[3]]
}

impl MaxPoolBackend for Flex {
    fn separable_max_pool2d(x: FloatTensor<Self>, window: PoolWindow) -> FloatTensor<Self> {
        let [n, c, h, w] = dims(&x);
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
        FloatTensor::<Flex>::from_data(TensorData::new(out, [n, c, out_h, out_w]))
    }

    fn separable_max_pool2d_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        window: PoolWindow,
    ) -> FloatTensor<Self> {
        let [n, c, h, w] = dims(&x);
        let [_, _, out_h, out_w] = dims(&grad);
        let (x, grad) = (x.to_contiguous(), grad.to_contiguous());
        let mut out = vec![0.0; n * c * h * w];
        if out_h * out_w > 0 {
            out.par_chunks_mut(h * w)
                .zip(x.storage::<f32>().par_chunks(h * w))
                .zip(grad.storage::<f32>().par_chunks(out_h * out_w))
                .for_each_init(
                    || {
                        let scratch = (vec![0.0; h * out_w], vec![0; h * out_w]);
                        (scratch, vec![0; out_h * out_w])
                    },
                    |((rows, columns), winners), ((out, plane), grad)| {
                        argmax_plane(plane, w, window, (rows, columns), winners);
                        for (&at, &g) in winners.iter().zip(grad) {
                            out[at as usize] += g;
                        }
                    },
                );
        }
        FloatTensor::<Flex>::from_data(TensorData::new(out, [n, c, h, w]))
    }
}

impl<B: Backend + MaxPoolBackend, C: CheckpointStrategy> MaxPoolBackend for Autodiff<B, C> {
    fn separable_max_pool2d(x: FloatTensor<Self>, window: PoolWindow) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct MaxPoolBackward;

        impl<B: Backend + MaxPoolBackend> Backward<B, 1> for MaxPoolBackward {
            /// The input, where the backward pass finds each window's maximum again.
            type State = (B::FloatTensorPrimitive, PoolWindow);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let (x, window) = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                    B::separable_max_pool2d_backward(x, grad, window)
                });
            }
        }

        match MaxPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let input = x.primitive().clone();
                let output = B::separable_max_pool2d(x.into_primitive(), window);
                prep.finish((input, window), output)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::separable_max_pool2d(x.into_primitive(), window))
            }
        }
    }

    fn separable_max_pool2d_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        window: PoolWindow,
    ) -> FloatTensor<Self> {
        // A gradient of a gradient is never taken through the pool.
        <Self as AutodiffBackend>::from_inner(B::separable_max_pool2d_backward(
            <Self as AutodiffBackend>::inner(x),
            <Self as AutodiffBackend>::inner(grad),
            window,
        ))
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::pool::MaxPool2dConfig;
    use burn::tensor::{Device, Distribution};

    use super::*;

    fn pool(kernel: usize, stride: usize, padding: usize) -> MaxPool2d {
        MaxPool2dConfig::new([kernel, kernel])
            .with_strides([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(
                padding, padding, padding, padding,
            ))
            .init()
    }

    fn values(t: Tensor<4>) -> Vec<f32> {
        t.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()
    }

    /// Bit for bit Burn's pool, forward and gradient, on odd and even sizes, with ties (values
    /// rounded to a few levels) and a NaN.
    #[test]
    fn equals_burns_pool_bit_for_bit_forward_and_gradient() {
        let device = Device::flex().autodiff();
        for (kernel, stride, padding) in [(3, 2, 1), (2, 2, 0), (3, 1, 1), (3, 3, 0)] {
            let pool = pool(kernel, stride, padding);
            for (h, w) in [(9, 8), (7, 7), (4, 5)] {
                let x = Tensor::<4>::random([2, 3, h, w], Distribution::Normal(0.0, 1.0), &device)
                    .mul_scalar(2.0)
                    .round();
                let mut data = values(x.clone());
                data[7] = f32::NAN;
                let x = Tensor::<4>::from_data(TensorData::new(data, [2, 3, h, w]), &device);
                let weights = Tensor::<4>::random(
                    pool.forward(x.clone()).dims(),
                    Distribution::Normal(0.0, 1.0),
                    &device,
                );
                let run = |ours: bool| {
                    let input = x.clone().require_grad();
                    let out = if ours {
                        max_pool2d(&pool, input.clone())
                    } else {
                        pool.forward(input.clone())
                    };
                    let loss = (out.clone() * weights.clone()).sum();
                    let grads = loss.backward();
                    (values(out), values(input.grad(&grads).unwrap()))
                };
                let ((ours, our_grad), (burns, burn_grad)) = (run(true), run(false));
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&ours),
                    bits(&burns),
                    "forward {kernel}/{stride}/{padding} {h}x{w}"
                );
                assert_eq!(
                    bits(&our_grad),
                    bits(&burn_grad),
                    "gradient {kernel}/{stride}/{padding} {h}x{w}"
                );
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
        let x = Tensor::<4>::random([1, 2, 6, 6], Distribution::Normal(0.0, 1.0), &device);
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
