//! A convolution's weights in compressed sparse rows, and its forward pass and input gradient on
//! host buffers (`[batch, channels, height, width]`, row-major f32).

use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;

use super::super::fused_batch_norm::ChannelAffine;
use super::super::guided_relu::{ReluMode, relu_value};
use super::geometry::{ConvParams, Geometry, forward_entries};
use super::kernel::{Entry, SLACK};
use super::tiling::{Tiled, images_per_chunk};
use crate::models::flex_host::{par_extend_zeroed, par_zeroed, with_scratch};

/// What a frozen network applies right after a convolution, which the forward pass applies as
/// it writes each output channel: a batch norm's affine map, then a ReLU.
#[derive(Debug, Clone, Copy, Default)]
pub struct Folded<'a> {
    pub batch_norm: Option<&'a ChannelAffine>,
    pub relu: bool,
}

impl Folded<'_> {
    /// Applies the folded operations to output channel `channel`'s values.
    fn apply(&self, channel: usize, values: &mut [f32]) {
        match (self.batch_norm, self.relu) {
            (Some(affine), relu) => {
                let affine = affine.for_channel(channel);
                for value in values {
                    let y = affine(*value);
                    *value = if relu { relu_value(y) } else { y };
                }
            }
            (None, true) => values
                .iter_mut()
                .for_each(|value| *value = relu_value(*value)),
            (None, false) => {}
        }
    }
}

/// The non-zero weights of a `[out, in, k, k]` convolution (groups 1), one row per output
/// channel. Built once per model from its dense weights; immutable.
#[derive(Debug, Clone, PartialEq)]
pub struct CsrConv {
    pub out_channels: usize,
    pub in_channels: usize,
    pub kernel: usize,
    /// `row_start[o]..row_start[o + 1]` index `taps` and `values` of output channel `o`.
    row_start: Vec<usize>,
    /// `(input channel, kh, kw)` of each non-zero.
    taps: Vec<(u32, u16, u16)>,
    values: Vec<f32>,
    plans: Plans,
}

/// What calls on one input size need, built once per size and kept: the geometry, and the tiled
/// entries of the forward pass and of the input gradient, each built on its first use (an
/// analysis that takes no gradient never builds the second).
#[derive(Debug)]
pub struct Plan {
    pub geometry: Geometry,
    forward: OnceLock<Tiled>,
    input_grad: OnceLock<Tiled>,
}

/// Input sizes a convolution keeps plans for; the oldest goes first. Analyses call a layer on
/// one or two sizes (the dataset's, a dilated variant's), LOST on as many as its images have.
const PLANS_KEPT: usize = 4;

/// What a plan is for: the call's parameters and the input's height and width.
type PlanKey = (ConvParams, usize, usize);

/// A convolution's plans, most recent last. A clone starts empty, and plans never make two
/// convolutions unequal: they are a cache of what the weights and sizes determine.
#[derive(Debug, Default)]
struct Plans(Mutex<Vec<(PlanKey, Arc<Plan>)>>);

impl Clone for Plans {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for Plans {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl CsrConv {
    /// From dense row-major weights `[out, in, k, k]`; zeros (exactly 0.0, as pruning leaves
    /// them) are dropped.
    pub fn from_dense(weights: &[f32], shape: [usize; 4]) -> Self {
        let [out_channels, in_channels, kh, kw] = shape;
        assert_eq!(kh, kw, "square kernels only");
        assert_eq!(
            weights.len(),
            shape.iter().product::<usize>(),
            "weights and shape"
        );
        let mut row_start = Vec::with_capacity(out_channels + 1);
        let mut taps = Vec::new();
        let mut values = Vec::new();
        row_start.push(0);
        for row in weights.chunks(in_channels * kh * kw) {
            for (index, &value) in row.iter().enumerate() {
                if value != 0.0 {
                    let c = index / (kh * kw);
                    let tap = index % (kh * kw);
                    taps.push((c as u32, (tap / kw) as u16, (tap % kw) as u16));
                    values.push(value);
                }
            }
            row_start.push(taps.len());
        }
        Self {
            out_channels,
            in_channels,
            kernel: kh,
            row_start,
            taps,
            values,
            plans: Plans::default(),
        }
    }

    /// Non-zero weights.
    pub fn nnz(&self) -> usize {
        self.values.len()
    }

    /// Fraction of the weights that are non-zero.
    pub fn density(&self) -> f64 {
        self.nnz() as f64
            / (self.out_channels * self.in_channels * self.kernel * self.kernel).max(1) as f64
    }

    /// `(input channel, kh, kw, weight)` of output channel `o`'s non-zeros.
    fn row(&self, o: usize) -> impl Iterator<Item = (usize, usize, usize, f32)> + '_ {
        let range = self.row_start[o]..self.row_start[o + 1];
        self.taps[range.clone()]
            .iter()
            .zip(&self.values[range])
            .map(|(&(c, kh, kw), &v)| (c as usize, kh as usize, kw as usize, v))
    }

    /// The plan of a call on `[_, in_channels, height, width]` (kept for the next call of that
    /// size); an error when the input's channels differ or the kernel does not fit.
    pub fn plan(&self, params: ConvParams, input: [usize; 4]) -> Result<Arc<Plan>, String> {
        let [_, channels, height, width] = input;
        if channels != self.in_channels {
            return Err(format!(
                "sparse convolution: input has {channels} channels, weights expect {}",
                self.in_channels
            ));
        }
        let key = (params, height, width);
        // A poisoned lock only means another thread panicked mid-call; the list is still whole.
        let mut plans = self.plans.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, plan)) = plans.iter().find(|(k, _)| *k == key) {
            return Ok(plan.clone());
        }
        let geometry = Geometry::new(params, self.kernel, height, width).ok_or_else(|| {
            format!(
                "sparse convolution: kernel {} does not fit {height}x{width}",
                self.kernel
            )
        })?;
        let plan = Arc::new(Plan {
            geometry,
            forward: OnceLock::new(),
            input_grad: OnceLock::new(),
        });
        if plans.len() == PLANS_KEPT {
            plans.remove(0);
        }
        plans.push((key, plan.clone()));
        Ok(plan)
    }

    /// Each output channel on the plane-wide grid, tiled over the input planes' channels.
    fn forward_tiling(&self, geometry: &Geometry) -> Tiled {
        let rows = (0..self.out_channels)
            .map(|o| forward_entries(geometry, self.row(o)))
            .collect();
        Tiled::new(
            rows,
            geometry.grid_len(),
            geometry.phase_count() * geometry.plane_len(),
            geometry.phase_count(),
            geometry.max_shift(),
        )
    }

    /// Each input plane's gradient, tiled over the output channels' gradients laid out as
    /// [`CsrConv::input_grad`] pads them: `margin + plane` floats per channel.
    fn input_grad_tiling(&self, geometry: &Geometry) -> Tiled {
        let phases = geometry.phase_count();
        let margin = geometry.max_shift();
        let row_len = margin + geometry.plane_len();
        // Transposed entries: per input plane, the output channels reading it.
        let mut columns: Vec<Vec<Entry>> = vec![Vec::new(); self.in_channels * phases];
        for o in 0..self.out_channels {
            for (c, kh, kw, weight) in self.row(o) {
                let (phase, shift) = geometry.tap(kh, kw);
                columns[c * phases + phase].push(Entry::new(o * row_len + margin - shift, weight));
            }
        }
        Tiled::new(columns, geometry.plane_len(), row_len, 1, margin)
    }

    /// The convolution of `x` (`input` shaped), `[batch, out_channels, out_h, out_w]`, then
    /// the `folded` operations.
    pub fn forward(&self, x: &[f32], input: [usize; 4], plan: &Plan, folded: Folded) -> Vec<f32> {
        let [batch, channels, height, width] = input;
        let geometry = &plan.geometry;
        let image_len = channels * height * width;
        let planes_len = channels * geometry.phase_count() * geometry.plane_len();
        let (out_h, out_w, grid_w) = (geometry.out_h, geometry.out_w, geometry.plane_w);
        let tiled = plan.forward.get_or_init(|| self.forward_tiling(geometry));
        let (grids_len, out_len) = (tiled.image_len(), self.out_channels * out_h * out_w);
        let chunk = images_per_chunk(batch, planes_len + grids_len);
        // SLACK floats past the last plane let every row end in whole blocks.
        let lens = [chunk * planes_len + SLACK, chunk * grids_len];
        with_scratch(lens, |planes, grids| {
            let mut out = Vec::with_capacity(batch * out_len);
            for x in x.chunks(chunk * image_len) {
                let count = x.len() / image_len;
                planes[..count * planes_len]
                    .par_chunks_mut(planes_len)
                    .zip(x.par_chunks(image_len))
                    .for_each(|(planes, image)| geometry.planes(image, channels, planes));
                let grids = &mut grids[..count * grids_len];
                tiled.run_into(planes, planes_len, grids);
                par_extend_zeroed(&mut out, count * out_len, out_h * out_w, |index, out| {
                    let (b, o) = (index / self.out_channels, index % self.out_channels);
                    let grid = &grids[b * grids_len..][..grids_len];
                    for (y, out_row) in out.chunks_mut(out_w).enumerate() {
                        tiled.read(grid, o, y * grid_w, out_row);
                    }
                    folded.apply(o, out);
                });
            }
            out
        })
    }

    /// The gradient with respect to the input of [`CsrConv::forward`], from the gradient of its
    /// output `[batch, out_channels, out_h, out_w]`; with a batch norm's `scale`, of the
    /// convolution followed by it; with a ReLU's mode and the forward pass's `output` (the ReLU's),
    /// of all that followed by the ReLU.
    pub fn input_grad(
        &self,
        grad: &[f32],
        input: [usize; 4],
        plan: &Plan,
        scale: Option<&[f32]>,
        relu: Option<(ReluMode, &[f32])>,
    ) -> Vec<f32> {
        let [batch, channels, height, width] = input;
        let geometry = &plan.geometry;
        let phases = geometry.phase_count();
        let plane = geometry.plane_len();
        let (out_h, out_w, grid_w) = (geometry.out_h, geometry.out_w, geometry.plane_w);
        // Each output channel's gradient on the grid, behind a zero margin as long as the
        // largest shift and followed by zeros up to a plane's length.
        let margin = geometry.max_shift();
        let row_len = margin + plane;
        let grads_len = self.out_channels * row_len;
        let tiled = plan
            .input_grad
            .get_or_init(|| self.input_grad_tiling(geometry));
        let planes_len = tiled.image_len();
        let (grad_len, channel_len) = (self.out_channels * out_h * out_w, height * width);
        let chunk = images_per_chunk(batch, grads_len + planes_len);
        // Only the grid's own positions are ever written: the margins stay zero across chunks.
        let mut padded = par_zeroed(chunk * grads_len + SLACK, grads_len, |_, _| {});
        with_scratch([chunk * planes_len, 0], |planes, _| {
            let mut out = Vec::with_capacity(batch * channels * channel_len);
            for (chunk_index, grad) in grad.chunks(chunk * grad_len).enumerate() {
                let count = grad.len() / grad_len;
                let relu =
                    relu.map(|(mode, output)| (mode, &output[chunk_index * chunk * grad_len..]));
                padded[..count * grads_len]
                    .par_chunks_mut(row_len)
                    .zip(grad.par_chunks(out_h * out_w))
                    .enumerate()
                    .for_each(|(index, (row, grad))| {
                        let output = relu.map(|(mode, output)| {
                            (mode, &output[index * out_h * out_w..][..out_h * out_w])
                        });
                        let scale = scale.map(|scale| scale[index % self.out_channels]);
                        for (y, grad_row) in grad.chunks(out_w).enumerate() {
                            let row = &mut row[margin + y * grid_w..][..out_w];
                            let output_row =
                                output.map(|(mode, output)| (mode, &output[y * out_w..]));
                            gradient_row(row, grad_row, output_row, scale);
                        }
                    });
                let planes = &mut planes[..count * planes_len];
                tiled.run_into(&padded, grads_len, planes);
                par_extend_zeroed(
                    &mut out,
                    count * channels * channel_len,
                    channel_len,
                    |index, channel| {
                        let (b, c) = (index / channels, index % channels);
                        let image = &planes[b * planes_len..][..planes_len];
                        let mut scratch = vec![0.0; plane];
                        for phase in 0..phases {
                            if tiled.has_entries(c * phases + phase) {
                                tiled.read(image, c * phases + phase, 0, &mut scratch);
                                geometry.scatter_plane(phase, &scratch, channel);
                            }
                        }
                    },
                );
            }
            out
        })
    }
}

/// One row of an output channel's gradient as the transposed sums read it: through the ReLU's
/// mask (its mode and output row) when given, then scaled by the batch norm's `scale`, the
/// order of those passes' backward.
fn gradient_row(
    row: &mut [f32],
    grad: &[f32],
    relu: Option<(ReluMode, &[f32])>,
    scale: Option<f32>,
) {
    match (relu, scale) {
        (Some((mode, output)), Some(a)) => {
            for ((r, &g), &y) in row.iter_mut().zip(grad).zip(output) {
                *r = a * mode.gradient(y, g);
            }
        }
        (Some((mode, output)), None) => {
            for ((r, &g), &y) in row.iter_mut().zip(grad).zip(output) {
                *r = mode.gradient(y, g);
            }
        }
        (None, Some(a)) => {
            for (r, &g) in row.iter_mut().zip(grad) {
                *r = a * g;
            }
        }
        (None, None) => row.copy_from_slice(grad),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The convolution by its definition, in f64.
    fn dense_conv(
        x: &[f32],
        w: &[f32],
        input: [usize; 4],
        out_c: usize,
        k: usize,
        params: ConvParams,
    ) -> (Vec<f64>, usize, usize) {
        let [n, c_in, h, wd] = input;
        let g = Geometry::new(params, k, h, wd).unwrap();
        let (oh, ow) = (g.out_h, g.out_w);
        let mut out = vec![0f64; n * out_c * oh * ow];
        for b in 0..n {
            for o in 0..out_c {
                for y in 0..oh {
                    for xx in 0..ow {
                        let mut sum = 0f64;
                        for c in 0..c_in {
                            for kh in 0..k {
                                for kw in 0..k {
                                    let iy = (y * params.stride + kh * params.dilation) as isize
                                        - params.padding as isize;
                                    let ix = (xx * params.stride + kw * params.dilation) as isize
                                        - params.padding as isize;
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                        continue;
                                    }
                                    sum += w[((o * c_in + c) * k + kh) * k + kw] as f64
                                        * x[((b * c_in + c) * h + iy as usize) * wd + ix as usize]
                                            as f64;
                                }
                            }
                        }
                        out[((b * out_c + o) * oh + y) * ow + xx] = sum;
                    }
                }
            }
        }
        (out, oh, ow)
    }

    fn pseudo(len: usize, seed: u64, zero_every: usize) -> Vec<f32> {
        (0..len as u64)
            .map(|i| {
                let h = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed;
                if zero_every > 0 && !((h >> 7) as usize).is_multiple_of(zero_every) {
                    0.0
                } else {
                    ((h >> 40) % 2001) as f32 / 1000.0 - 1.0
                }
            })
            .collect()
    }

    fn close(a: &[f32], b: &[f64]) {
        let scale = b.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-12);
        for (x, y) in a.iter().zip(b) {
            assert!(
                (*x as f64 - y).abs() <= 1e-5 * scale,
                "{x} vs {y} (scale {scale})"
            );
        }
    }

    /// (kernel, stride, padding, dilation)
    const CASES: [(usize, usize, usize, usize); 6] = [
        (3, 1, 1, 1),
        (3, 2, 1, 1),
        (1, 1, 0, 1),
        (1, 2, 0, 1),
        (3, 1, 2, 2),
        (7, 2, 3, 1),
    ];

    /// Each case's kernel side and parameters.
    fn cases() -> impl Iterator<Item = (usize, ConvParams)> {
        CASES.into_iter().map(|(k, stride, padding, dilation)| {
            let params = ConvParams {
                stride,
                padding,
                dilation,
            };
            (k, params)
        })
    }

    #[test]
    fn forward_equals_the_dense_definition() {
        for (k, params) in cases() {
            let input = [2, 3, 9, 8];
            let x = pseudo(2 * 3 * 9 * 8, 1, 0);
            let w = pseudo(4 * 3 * k * k, 2, 3);
            let csr = CsrConv::from_dense(&w, [4, 3, k, k]);
            assert!(csr.density() < 0.9, "the test weights are sparse");
            let plan = csr.plan(params, input).unwrap();
            let (expected, oh, ow) = dense_conv(&x, &w, input, 4, k, params);
            assert_eq!((plan.geometry.out_h, plan.geometry.out_w), (oh, ow));
            close(&csr.forward(&x, input, &plan, Folded::default()), &expected);
            // The kept plan serves the next call of that size.
            close(
                &csr.forward(
                    &x,
                    input,
                    &csr.plan(params, input).unwrap(),
                    Folded::default(),
                ),
                &expected,
            );
        }
    }

    /// `<conv(x), g> = <x, conv^T(g)>`, and the gradient of `<conv(x), g>` with respect to each
    /// input pixel, by the definition.
    #[test]
    fn input_gradient_is_the_adjoint_of_the_forward() {
        for (k, params) in cases() {
            let input = [2, 3, 9, 8];
            let w = pseudo(4 * 3 * k * k, 3, 2);
            let csr = CsrConv::from_dense(&w, [4, 3, k, k]);
            let plan = csr.plan(params, input).unwrap();
            let out_len = 2 * 4 * plan.geometry.out_h * plan.geometry.out_w;
            let g = pseudo(out_len, 4, 0);
            let grad = csr.input_grad(&g, input, &plan, None, None);
            // Column by column: d<conv(x), g>/dx_i = <conv(e_i), g>.
            let mut expected = vec![0f64; grad.len()];
            for (i, e) in expected.iter_mut().enumerate() {
                let mut basis = vec![0f32; grad.len()];
                basis[i] = 1.0;
                let (out, _, _) = dense_conv(&basis, &w, input, 4, k, params);
                *e = out.iter().zip(&g).map(|(o, g)| o * *g as f64).sum();
            }
            close(&grad, &expected);
        }
    }

    #[test]
    fn a_mismatched_input_is_an_error() {
        let csr = CsrConv::from_dense(&[1.0; 2 * 3 * 9], [2, 3, 3, 3]);
        let params = ConvParams {
            stride: 1,
            padding: 0,
            dilation: 1,
        };
        assert!(csr.plan(params, [1, 4, 5, 5]).is_err());
        assert!(csr.plan(params, [1, 3, 2, 2]).is_err());
        assert_eq!(csr.density(), 1.0);
    }
}
