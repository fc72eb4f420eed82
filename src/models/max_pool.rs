//! Max pooling on the CPU (`flex`) as two separable passes, the maximum of each row's windows
//! and then of each column's, instead of `flex`'s per-window scan with index arithmetic per
//! tap. On a ResNet's stem output (`[4, 64, 112, 112]`, 3x3, stride 2) `flex` takes 16 ms, a
//! fifth of a sparse GradCAM batch; this takes 3 ms (`cargo bench --bench ops`). Its output is
//! `flex`'s bit for bit, NaNs included (tested).
//!
//! A pool whose input takes part in a backward pass (training, Guided Backprop, Integrated
//! Gradients) runs the same two passes carrying each maximum's position along, and its backward
//! pass adds each output's gradient at that position: the positions Burn's pool records, so
//! output and gradient are Burn's bit for bit (tested). On that stem output, forward and
//! backward take 4 ms where Burn's take 16.5 (its per-tap index arithmetic and i64 indices;
//! `cargo bench --bench ops`, less the baseline row). A pool that takes no gradient (evaluation,
//! LOST, model-vs-human, GradCAM, whose gradient stops at the last stage) keeps no positions.
//! Other devices, dilated, ceil-mode or asymmetrically padded pools, and non-f32 tensors run
//! Burn's pool.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    Autodiff, AutodiffBackend, Backend, Dispatch, Flex, TensorMetadata, backend_extension,
};
use burn::nn::PaddingConfig2d;
use burn::nn::pool::MaxPool2d;
use burn::tensor::{DType, Tensor};
use rayon::prelude::*;

use super::flex_host::{
    contiguous_f32, dims4, from_values, is_flex, par_zeroed, values_from_start,
};

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
    // The tracked pass keeps row and column positions as floats, exact below 2^24.
    let [_, _, h, w] = x.dims();
    let exact = h.max(w) < 1 << 24;
    let Some(padding) =
        padding.filter(|&p| plain && on_flex && exact && p < kh && x.dtype() == DType::F32)
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

/// Per output of a pool, the position in its input plane (`y * w + x`) of its window's
/// maximum, as Burn's pool picks it: the first of the greatest in row-major order, or the last
/// NaN.
#[derive(Debug, Clone)]
pub struct Argmax(Arc<Vec<u32>>);

/// The backend operations behind [`max_pool2d`].
#[backend_extension(Flex, Autodiff)]
pub trait MaxPoolBackend: Backend {
    fn separable_max_pool2d(x: FloatTensor<Self>, window: PoolWindow) -> FloatTensor<Self>;

    /// The pool and where each maximum came from.
    fn max_pool2d_with_argmax(
        x: FloatTensor<Self>,
        window: PoolWindow,
    ) -> (FloatTensor<Self>, Argmax);

    /// The gradient with respect to an input of shape `input`: each output's gradient added at
    /// its maximum's position.
    fn max_pool2d_argmax_backward(
        grad: FloatTensor<Self>,
        argmax: Argmax,
        input: [usize; 4],
    ) -> FloatTensor<Self>;
}

/// Whether `candidate` replaces a window's maximum so far by `flex`'s rule: greater, or NaN (so
/// a NaN wins and stays).
#[inline(always)]
fn wins(best: f32, candidate: f32) -> bool {
    (candidate > best) | candidate.is_nan()
}

/// `best` or `candidate`, whichever [`wins`]. Branch-free, so the column pass vectorises.
#[inline(always)]
fn pick(best: f32, candidate: f32) -> f32 {
    if wins(best, candidate) {
        candidate
    } else {
        best
    }
}

/// The maximum of one row's windows into `out`.
fn pool_row(row: &[f32], window: PoolWindow, out: &mut [f32]) {
    let whole = whole_windows(window, row.len(), out.len());
    for o in (0..whole.start).chain(whole.end..out.len()) {
        out[o] = window_max(&row[window.taps(o, row.len())]);
    }
    let (out, start) = (&mut out[whole.clone()], whole.start * window.stride);
    // A constant stride lets LLVM vectorise the strided reads; the ResNet stem's pool has 2.
    match window.stride {
        1 => pool_whole_windows::<1>(row, start - window.padding, window.kernel, out),
        2 => pool_whole_windows::<2>(row, start - window.padding, window.kernel, out),
        _ => {
            for (i, value) in out.iter_mut().enumerate() {
                let taps = &row[start - window.padding + i * window.stride..][..window.kernel];
                *value = window_max(taps);
            }
        }
    }
}

/// The maximum of one window's taps, in order, by [`pick`].
fn window_max(taps: &[f32]) -> f32 {
    taps.iter()
        .fold(f32::NEG_INFINITY, |best, &v| pick(best, v))
}

/// The outputs of a row of `len` whose windows lie wholly inside it (no padding, no clipping).
fn whole_windows(window: PoolWindow, len: usize, outputs: usize) -> std::ops::Range<usize> {
    let PoolWindow {
        kernel,
        stride,
        padding,
    } = window;
    let first = padding.div_ceil(stride);
    let end = (len + padding)
        .checked_sub(kernel)
        .map_or(0, |last_start| last_start / stride + 1)
        .min(outputs);
    first.min(end)..end
}

/// `out[i]` = the maximum of `row[start + i * S..][..kernel]`, taps in order (as
/// [`pool_row`] folds them), tap by tap over all of `out` so that the loop vectorises.
#[inline(always)]
fn pool_whole_windows<const S: usize>(row: &[f32], start: usize, kernel: usize, out: &mut [f32]) {
    out.fill(f32::NEG_INFINITY);
    let Some(last) = out.len().checked_sub(1) else {
        return;
    };
    for tap in 0..kernel {
        let taps = &row[start + tap..];
        for (best, step) in out[..last].iter_mut().zip(taps.chunks_exact(S)) {
            *best = pick(*best, step[0]);
        }
        out[last] = pick(out[last], taps[last * S]);
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

/// `(candidate, its position)` where it [`wins`] (so the last NaN wins, as in Burn's indices),
/// else `(best, best_at)`. Positions are floats (exact below 2^24), so that both take one mask
/// of one comparison. Written with SSE2 masks on x86-64 because LLVM turns a plain select into a
/// branch, which on noisy activations mispredicts half the time (4x slower measured).
#[inline(always)]
fn keep_max(best: f32, best_at: f32, candidate: f32, at: f32) -> (f32, f32) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_and_ps, _mm_andnot_ps, _mm_cmpgt_ss, _mm_cmpunord_ss, _mm_cvtss_f32, _mm_or_ps,
            _mm_set_ss,
        };
        // SAFETY: SSE and SSE2 are part of every x86-64 CPU. The mask is `wins`.
        unsafe {
            let (b, c) = (_mm_set_ss(best), _mm_set_ss(candidate));
            let mask = _mm_or_ps(_mm_cmpgt_ss(c, b), _mm_cmpunord_ss(c, c));
            let pick = |new, old| {
                _mm_cvtss_f32(_mm_or_ps(
                    _mm_and_ps(mask, _mm_set_ss(new)),
                    _mm_andnot_ps(mask, _mm_set_ss(old)),
                ))
            };
            (pick(candidate, best), pick(at, best_at))
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        if wins(best, candidate) {
            (candidate, at)
        } else {
            (best, best_at)
        }
    }
}

/// Each input row's window maxima (`[h, out_w]`) and their columns: the row pass of
/// [`pool_plane_with_argmax`].
struct RowMaxima<'a> {
    rows: &'a mut [f32],
    columns: &'a mut [f32],
    /// The row each output's maximum is from, in the column pass (`out_w`).
    winners: &'a mut [f32],
}

/// The maximum of each of a row's windows and its column. Windows wholly inside the row (most)
/// run tap by tap across all of them, without clipping; the clipped ones at the ends one by one
/// (a fifth faster than all one by one on a stem output).
fn row_maxima_with_argmax(row: &[f32], window: PoolWindow, maxima: &mut [f32], at: &mut [f32]) {
    let PoolWindow {
        kernel,
        stride,
        padding,
    } = window;
    let w = row.len();
    let out_w = maxima.len();
    let inner = whole_windows(window, w, out_w);
    for o in (0..inner.start).chain(inner.end..out_w) {
        let taps = window.taps(o, w);
        let (mut best, mut best_at) = (row[taps.start], taps.start as f32);
        for x in taps.skip(1) {
            (best, best_at) = keep_max(best, best_at, row[x], x as f32);
        }
        maxima[o] = best;
        at[o] = best_at;
    }
    for o in inner.clone() {
        let x = o * stride - padding;
        (maxima[o], at[o]) = (row[x], x as f32);
    }
    for tap in 1..kernel {
        for ((o, best), best_at) in inner
            .clone()
            .zip(&mut maxima[inner.clone()])
            .zip(&mut at[inner.clone()])
        {
            let x = o * stride - padding + tap;
            (*best, *best_at) = keep_max(*best, *best_at, row[x], x as f32);
        }
    }
}

/// [`pool_plane`], also writing each maximum's position in the plane. Burn's pool scans a window
/// row by row and keeps the first tap, then any greater or NaN one; the row pass keeps each
/// row's by that rule and the column pass the rows' by it again, which picks the same tap: the
/// first row holding the greatest value and its first column holding it (or, with NaNs, the last
/// row holding one and its last).
fn pool_plane_with_argmax(
    plane: &[f32],
    w: usize,
    window: PoolWindow,
    scratch: RowMaxima,
    out: &mut [f32],
    argmax: &mut [u32],
) {
    let RowMaxima {
        rows,
        columns,
        winners,
    } = scratch;
    let h = plane.len() / w.max(1);
    let out_w = window.out_len(w);
    for ((row, maxima), at) in plane
        .chunks(w)
        .zip(rows.chunks_mut(out_w))
        .zip(columns.chunks_mut(out_w))
    {
        row_maxima_with_argmax(row, window, maxima, at);
    }
    for ((o, out_row), argmax_row) in out
        .chunks_mut(out_w)
        .enumerate()
        .zip(argmax.chunks_mut(out_w))
    {
        let mut taps = window.taps(o, h);
        let first = taps.next().expect("a window holds an input row");
        out_row.copy_from_slice(&rows[first * out_w..][..out_w]);
        winners.fill(first as f32);
        for y in taps {
            let maxima = &rows[y * out_w..][..out_w];
            for ((best, winner), &candidate) in out_row.iter_mut().zip(&mut *winners).zip(maxima) {
                (*best, *winner) = keep_max(*best, *winner, candidate, y as f32);
            }
        }
        for (ow, (best_at, &y)) in argmax_row.iter_mut().zip(&*winners).enumerate() {
            let y = y as usize;
            *best_at = (y * w) as u32 + columns[y * out_w + ow] as u32;
        }
    }
}

impl MaxPoolBackend for Flex {
    fn separable_max_pool2d(x: FloatTensor<Self>, window: PoolWindow) -> FloatTensor<Self> {
        let [n, c, h, w] = dims4(&x);
        let (out_h, out_w) = (window.out_len(h), window.out_len(w));
        let x = contiguous_f32(x);
        let mut out = vec![0.0; n * c * out_h * out_w];
        if out_h * out_w > 0 {
            out.par_chunks_mut(out_h * out_w)
                .zip(values_from_start(&x).par_chunks(h * w))
                .for_each_init(
                    || vec![0.0; h * out_w],
                    |rows, (out, plane)| pool_plane(plane, w, window, rows, out),
                );
        }
        from_values(out, [n, c, out_h, out_w])
    }

    fn max_pool2d_with_argmax(
        x: FloatTensor<Self>,
        window: PoolWindow,
    ) -> (FloatTensor<Self>, Argmax) {
        let [n, c, h, w] = dims4(&x);
        let (out_h, out_w) = (window.out_len(h), window.out_len(w));
        let x = contiguous_f32(x);
        let plane_out = out_h * out_w;
        let mut out = vec![0.0; n * c * plane_out];
        let mut argmax = vec![0u32; n * c * plane_out];
        if plane_out > 0 {
            out.par_chunks_mut(plane_out)
                .zip(argmax.par_chunks_mut(plane_out))
                .zip(values_from_start(&x).par_chunks(h * w))
                .for_each_init(
                    || (vec![0.0; h * out_w], vec![0.0; h * out_w], vec![0.0; out_w]),
                    |(rows, columns, winners), ((out, argmax), plane)| {
                        let scratch = RowMaxima {
                            rows,
                            columns,
                            winners,
                        };
                        pool_plane_with_argmax(plane, w, window, scratch, out, argmax)
                    },
                );
        }
        (
            from_values(out, [n, c, out_h, out_w]),
            Argmax(Arc::new(argmax)),
        )
    }

    fn max_pool2d_argmax_backward(
        grad: FloatTensor<Self>,
        argmax: Argmax,
        input: [usize; 4],
    ) -> FloatTensor<Self> {
        let [_, _, h, w] = input;
        let grad = contiguous_f32(grad);
        let plane_out = grad.shape().num_elements() / (input[0] * input[1]).max(1);
        let grad = values_from_start(&grad);
        // Each plane zeroed by the thread that adds into it: a `calloc`ed buffer, read first,
        // maps the shared zero page, and each first write then copies it and flushes every
        // core's TLB (a seventh of sparse IG's time when it was).
        let out = par_zeroed(input.iter().product(), h * w, |index, plane| {
            let outputs = index * plane_out..(index + 1) * plane_out;
            // In output order, as Burn's backward pass adds them.
            for (&g, &at) in grad[outputs.clone()].iter().zip(&argmax.0[outputs]) {
                plane[at as usize] += g;
            }
        });
        from_values(out, input)
    }
}

impl<B: Backend + MaxPoolBackend, C: CheckpointStrategy> MaxPoolBackend for Autodiff<B, C> {
    fn separable_max_pool2d(x: FloatTensor<Self>, window: PoolWindow) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct MaxPoolBackward;

        impl<B: Backend + MaxPoolBackend> Backward<B, 1> for MaxPoolBackward {
            /// The maxima's positions and the input's shape.
            type State = (Argmax, [usize; 4]);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let (argmax, input) = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                    B::max_pool2d_argmax_backward(grad, argmax, input)
                });
            }
        }

        match MaxPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let input = dims4(x.primitive());
                let (out, argmax) = B::max_pool2d_with_argmax(x.into_primitive(), window);
                prep.finish((argmax, input), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::separable_max_pool2d(x.into_primitive(), window))
            }
        }
    }

    fn max_pool2d_with_argmax(
        x: FloatTensor<Self>,
        window: PoolWindow,
    ) -> (FloatTensor<Self>, Argmax) {
        let (out, argmax) = B::max_pool2d_with_argmax(<Self as AutodiffBackend>::inner(x), window);
        (<Self as AutodiffBackend>::from_inner(out), argmax)
    }

    fn max_pool2d_argmax_backward(
        grad: FloatTensor<Self>,
        argmax: Argmax,
        input: [usize; 4],
    ) -> FloatTensor<Self> {
        // A gradient of a gradient is never taken through the pool.
        <Self as AutodiffBackend>::from_inner(B::max_pool2d_argmax_backward(
            <Self as AutodiffBackend>::inner(grad),
            argmax,
            input,
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
            for (h, w) in [(9, 8), (7, 7), (4, 5), (5, 41)] {
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
