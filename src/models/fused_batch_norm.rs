//! Batch norm on the CPU (`flex`) in a few passes over the activations instead of Burn's
//! generic composition, whose every step (transposed copies for the per-channel reductions,
//! centring, squaring, dividing, scaling, shifting) is a pass of its own, forward and backward.
//! On the quickstart's first layer (`[64, 8, 32, 32]`) Burn's training batch norm, forward and
//! backward, costs half as much as the convolution before it.
//!
//! - Training: the batch's mean and biased variance per channel (two passes, summed in f64),
//!   then one pass that normalises, scales and shifts; the backward pass sums `dy` and
//!   `dy * x_hat` per channel in one pass and writes `dx` in a second. The formulas are Burn's
//!   (`batch_norm_train_backward`), so results equal Burn's up to float rounding (tested within
//!   1e-5 relative, every gradient).
//! - Inference: `x * scale + shift` per channel, one pass each way.
//!
//! Other devices and non-f32 tensors run burn-nn's `BatchNorm`; data-parallel replicas keep
//! their synchronised statistics ([`super::sync_batch_norm`]).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    Autodiff, AutodiffBackend, Backend, Dispatch, Flex, TensorMetadata, backend_extension,
};
use burn::module::RunningState;
use burn::nn::BatchNorm;
use burn::tensor::{DType, Device, Tensor};
use rayon::prelude::*;

use super::flex_host::{contiguous_f32, dims4, from_values, is_flex};

/// `bn` applied to `x` (`[batch, channels, h, w]`): fused on `flex` f32, burn-nn's forward
/// pass elsewhere. Training mode (an autodiff device and `bn` training) normalises with the
/// batch's statistics and moves the running ones as burn-nn does; otherwise the running ones
/// normalise.
pub fn batch_norm(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    let device = x.device();
    if !is_flex(&device) || x.dtype() != DType::F32 {
        return bn.forward(x);
    }
    let (gamma, beta) = (bn.gamma.val(), bn.beta.val());
    if normalises_by_batch(bn, &device) {
        let (output, mean, variance) = <Dispatch as BatchNormBackend>::fused_batch_norm_train(
            x.into_dispatch(),
            gamma.into_dispatch(),
            beta.into_dispatch(),
            bn.epsilon,
        );
        let momentum = bn.momentum;
        let update = |state: &RunningState<Tensor<1>>, batch: Tensor<1>| {
            let running = state
                .value_sync()
                .to_device(&device)
                .mul_scalar(1.0 - momentum)
                .add(batch.mul_scalar(momentum));
            state.update(running.detach());
        };
        update(&bn.running_mean, Tensor::from_dispatch(mean).detach());
        update(&bn.running_var, Tensor::from_dispatch(variance).detach());
        Tensor::from_dispatch(output)
    } else {
        let mean = bn.running_mean.value().to_device(&device);
        let variance = bn.running_var.value().to_device(&device);
        Tensor::from_dispatch(<Dispatch as BatchNormBackend>::fused_batch_norm(
            x.into_dispatch(),
            gamma.into_dispatch(),
            beta.into_dispatch(),
            mean.into_dispatch(),
            variance.into_dispatch(),
            bn.epsilon,
        ))
    }
}

/// The backend operations behind [`batch_norm`]; per-channel tensors are `[channels]`.
#[backend_extension(Flex, Autodiff)]
pub trait BatchNormBackend: Backend {
    /// Output, batch mean and biased batch variance.
    fn fused_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// Normalised with the given statistics.
    fn fused_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self>;

    /// Gradients of the input, `gamma` and `beta` from the output's, of either operation, with
    /// the statistics it normalised by.
    fn fused_batch_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        grad: FloatTensor<Self>,
        normalised: Normalised,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// By which statistics a batch norm normalised, and so what its backward pass computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalised {
    /// The batch's own (training): the input gradient goes through them too.
    ByBatch,
    /// Given ones (inference); `param_grads`: `gamma` and `beta` take gradients (otherwise
    /// theirs are zeros, and the pass that sums them is skipped: a frozen network's analyses).
    ByGiven { param_grads: bool },
}

/// `[batch, channels, plane]` of a 4-D shape.
fn layout(x: &FloatTensor<Flex>) -> (usize, usize, usize) {
    let [batch, channels, h, w] = dims4(x);
    (batch, channels, h * w)
}

/// Floats each parallel task handles at least: on smaller tensors (a ResNet's last stage at
/// 32 px is 64 floats a plane) more tasks cost more than they save.
const TASK_FLOATS: usize = 1 << 14;

/// Per channel, `f` folded over the channel's planes of every image (`values` is
/// `[batch, channels, plane]`), channels in parallel.
fn per_channel<T: Send>(
    values: &[f32],
    (batch, channels, plane): (usize, usize, usize),
    f: impl Fn(usize, &mut dyn Iterator<Item = (usize, &[f32])>) -> T + Sync,
) -> Vec<T> {
    (0..channels)
        .into_par_iter()
        .with_min_len(TASK_FLOATS.div_ceil((batch * plane).max(1)))
        .map(|c| {
            let mut planes = (0..batch).map(|n| {
                let start = (n * channels + c) * plane;
                (start, &values[start..start + plane])
            });
            f(c, &mut planes)
        })
        .collect()
}

/// `out[i] = x[i] * scale[c] + shift[c]` over `[batch, channels, plane]`.
fn affine(x: &[f32], channels: usize, plane: usize, scale: &[f32], shift: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; x.len()];
    out.par_chunks_mut(plane.max(1))
        .zip(x.par_chunks(plane.max(1)))
        .with_min_len(TASK_FLOATS.div_ceil(plane.max(1)))
        .enumerate()
        .for_each(|(index, (out, x))| {
            let (a, b) = (scale[index % channels], shift[index % channels]);
            for (o, &v) in out.iter_mut().zip(x) {
                *o = v * a + b;
            }
        });
    out
}

/// The gradients of `y = (x - mean) * inv_std * gamma + beta` from `dy`, with `mean` and
/// `inv_std` the batch's own statistics or given ones.
fn backward(
    x: &[f32],
    dy: &[f32],
    dims: (usize, usize, usize),
    gamma: &[f32],
    (mean, inv_std): (&[f32], &[f32]),
    normalised: Normalised,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (batch, channels, plane) = dims;
    let batch_stats = normalised == Normalised::ByBatch;
    let needs_sums = batch_stats || normalised == Normalised::ByGiven { param_grads: true };
    // Per channel: sum of dy, sum of dy * x_hat.
    let sums: Vec<(f64, f64)> = if !needs_sums {
        vec![(0.0, 0.0); channels]
    } else {
        per_channel(x, dims, |c, planes| {
            let (m, s) = (mean[c], inv_std[c]);
            planes.fold((0.0, 0.0), |(dy_sum, dy_xhat), (start, x)| {
                let dy = &dy[start..start + x.len()];
                let (a, b) = x.iter().zip(dy).fold((0f64, 0f64), |(a, b), (&x, &g)| {
                    (a + g as f64, b + (g * (x - m) * s) as f64)
                });
                (dy_sum + a, dy_xhat + b)
            })
        })
    };
    let count = (batch * plane).max(1) as f64;
    let mut dx = vec![0.0; x.len()];
    dx.par_chunks_mut(plane.max(1))
        .with_min_len(TASK_FLOATS.div_ceil(plane.max(1)))
        .enumerate()
        .for_each(|(index, dx)| {
            let c = index % channels;
            let start = index * plane;
            let (x, dy) = (&x[start..start + plane], &dy[start..start + plane]);
            let scale = gamma[c] * inv_std[c];
            if batch_stats {
                let mean_dy = (sums[c].0 / count) as f32;
                let mean_dy_xhat = (sums[c].1 / count) as f32;
                let (m, s) = (mean[c], inv_std[c]);
                for ((d, &x), &g) in dx.iter_mut().zip(x).zip(dy) {
                    *d = scale * (g - mean_dy - (x - m) * s * mean_dy_xhat);
                }
            } else {
                for (d, &g) in dx.iter_mut().zip(dy) {
                    *d = scale * g;
                }
            }
        });
    let gamma_grad = sums.iter().map(|s| s.1 as f32).collect();
    let beta_grad = sums.iter().map(|s| s.0 as f32).collect();
    (dx, gamma_grad, beta_grad)
}

/// `(x - mean) * inv_std * gamma + beta` over `[batch, channels, plane]`, as one affine pass;
/// `per_channel` is `[gamma, beta, mean, inv_std]`.
fn normalise(x: &[f32], plane: usize, per_channel: [&[f32]; 4]) -> Vec<f32> {
    let (scale, shift) = scale_and_shift(per_channel);
    affine(x, scale.len(), plane, &scale, &shift)
}

/// Per channel, the `scale` and `shift` of `x * scale + shift`, which is
/// `(x - mean) * inv_std * gamma + beta`; `per_channel` is `[gamma, beta, mean, inv_std]`.
fn scale_and_shift(per_channel: [&[f32]; 4]) -> (Vec<f32>, Vec<f32>) {
    let [gamma, beta, mean, inv_std] = per_channel;
    let scale: Vec<f32> = gamma.iter().zip(inv_std).map(|(g, s)| g * s).collect();
    let shift: Vec<f32> = (0..scale.len())
        .map(|c| beta[c] - mean[c] * scale[c])
        .collect();
    (scale, shift)
}

/// Whether [`batch_norm`] normalises by the batch's statistics on `device` (training mode)
/// rather than by the running ones.
fn normalises_by_batch(bn: &BatchNorm, device: &Device) -> bool {
    device.is_autodiff() && bn.training.is_enabled()
}

/// A batch norm in inference as the per-channel affine map it is, `y * scale + shift`, for the
/// convolution before it to apply in its own passes (`gemm_conv::Epilogue`, the sparse kernels'
/// folded batch norm): the float operations of [`batch_norm`]'s own passes, so bit for bit.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelAffine {
    pub scale: Vec<f32>,
    pub shift: Vec<f32>,
}

impl ChannelAffine {
    /// The map of output channel `channel`'s values, its scale and shift read once, so that a
    /// loop over the channel's values vectorises.
    #[inline(always)]
    pub fn for_channel(&self, channel: usize) -> impl Fn(f32) -> f32 + Copy {
        let (scale, shift) = (self.scale[channel], self.shift[channel]);
        move |y| y * scale + shift
    }
}

/// The affine map by which [`batch_norm`] would normalise an f32 input on `device` with the
/// running statistics, or `None` where it would not (another device, or training mode). The
/// same values as its own pass uses, so the map applied elsewhere (a convolution's output as it
/// is written) equals it bit for bit.
pub fn inference_affine(bn: &BatchNorm, device: &Device) -> Option<ChannelAffine> {
    if !is_flex(device) || normalises_by_batch(bn, device) {
        return None;
    }
    let host = |t: Tensor<1>| t.into_data().convert::<f32>().try_into_vec::<f32>().ok();
    let [gamma, beta, mean, variance] = [
        bn.gamma.val(),
        bn.beta.val(),
        bn.running_mean.value(),
        bn.running_var.value(),
    ]
    .map(host);
    let (gamma, beta, mean, variance) = (gamma?, beta?, mean?, variance?);
    let inv_std = inv_std(&variance, bn.epsilon);
    let (scale, shift) = scale_and_shift([&gamma, &beta, &mean, &inv_std]);
    Some(ChannelAffine { scale, shift })
}

/// [`inference_affine`] where `gamma` and `beta` take no gradient either (a frozen network's
/// analyses): the batch norm is then the map forward and a scaling by `scale` backward, which
/// the operation before it may apply in its own passes, bit for bit.
pub fn frozen_affine(bn: &BatchNorm, device: &Device) -> Option<ChannelAffine> {
    let frozen = !bn.gamma.val().is_require_grad() && !bn.beta.val().is_require_grad();
    frozen.then(|| inference_affine(bn, device)).flatten()
}

fn inv_std(variance: &[f32], epsilon: f64) -> Vec<f32> {
    variance
        .iter()
        .map(|&v| (1.0 / (v as f64 + epsilon).sqrt()) as f32)
        .collect()
}

impl BatchNormBackend for Flex {
    fn fused_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (x, gamma, beta) = (
            contiguous_f32(x),
            contiguous_f32(gamma),
            contiguous_f32(beta),
        );
        let dims = layout(&x);
        let (batch, channels, plane) = dims;
        let values = x.storage::<f32>();
        let count = (batch * plane).max(1) as f64;
        // Two passes, the second over deviations from the first's mean: no cancellation.
        let stats: Vec<(f32, f32)> = per_channel(values, dims, |_, planes| {
            let planes: Vec<&[f32]> = planes.map(|(_, p)| p).collect();
            let mean = planes
                .iter()
                .map(|p| p.iter().map(|&v| v as f64).sum::<f64>())
                .sum::<f64>()
                / count;
            let squares = planes
                .iter()
                .map(|p| p.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>())
                .sum::<f64>();
            (mean as f32, (squares / count) as f32)
        });
        let mean: Vec<f32> = stats.iter().map(|s| s.0).collect();
        let variance: Vec<f32> = stats.iter().map(|s| s.1).collect();
        let inv_std = inv_std(&variance, epsilon);
        let (gamma, beta) = (gamma.storage::<f32>(), beta.storage::<f32>());
        let out = normalise(values, plane, [gamma, beta, &mean, &inv_std]);
        (
            from_values(out, x.shape()),
            from_values(mean, [channels]),
            from_values(variance, [channels]),
        )
    }

    fn fused_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        let x = contiguous_f32(x);
        let (_, _, plane) = layout(&x);
        let [gamma, beta, mean, variance] = [gamma, beta, mean, variance].map(contiguous_f32);
        let (gamma, beta) = (gamma.storage::<f32>(), beta.storage::<f32>());
        let inv_std = inv_std(variance.storage::<f32>(), epsilon);
        let per_channel = [gamma, beta, mean.storage::<f32>(), &inv_std];
        let out = normalise(x.storage::<f32>(), plane, per_channel);
        from_values(out, x.shape())
    }

    fn fused_batch_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        grad: FloatTensor<Self>,
        normalised: Normalised,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        flex_backward([x, gamma, mean, variance, grad], epsilon, normalised)
    }
}

/// [`backward`] on `flex` tensors: the input, `gamma`, mean, variance and output gradient.
fn flex_backward(
    tensors: [FloatTensor<Flex>; 5],
    epsilon: f64,
    normalised: Normalised,
) -> (FloatTensor<Flex>, FloatTensor<Flex>, FloatTensor<Flex>) {
    let [x, gamma, mean, variance, grad] = tensors.map(contiguous_f32);
    let dims = layout(&x);
    let inv_std = inv_std(variance.storage::<f32>(), epsilon);
    let (dx, gamma_grad, beta_grad) = backward(
        x.storage::<f32>(),
        grad.storage::<f32>(),
        dims,
        gamma.storage::<f32>(),
        (mean.storage::<f32>(), &inv_std),
        normalised,
    );
    let channels = [dims.1];
    (
        from_values(dx, x.shape()),
        from_values(gamma_grad, channels),
        from_values(beta_grad, channels),
    )
}

/// The autodiff state of both operations: input, `gamma`, the statistics used, epsilon.
type NormState<B> = (
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    f64,
);

/// The backward step of both operations; `batch_stats` says which.
#[derive(Debug)]
struct NormBackward {
    batch_stats: bool,
}

impl<B: Backend + BatchNormBackend> Backward<B, 3> for NormBackward {
    type State = NormState<B>;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, gamma, mean, variance, epsilon) = ops.state;
        let normalised = if self.batch_stats {
            Normalised::ByBatch
        } else {
            let param_grads = node_gamma.is_some() || node_beta.is_some();
            Normalised::ByGiven { param_grads }
        };
        let (dx, dgamma, dbeta) =
            B::fused_batch_norm_backward(x, gamma, mean, variance, epsilon, grad, normalised);
        for (node, value) in [(node_x, dx), (node_gamma, dgamma), (node_beta, dbeta)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, value);
            }
        }
    }
}

impl<B: Backend + BatchNormBackend, C: CheckpointStrategy> BatchNormBackend for Autodiff<B, C> {
    fn fused_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let prep = NormBackward { batch_stats: true }
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful();
        let (input, gamma_value) = (x.primitive().clone(), gamma.primitive().clone());
        let (output, mean, variance) = B::fused_batch_norm_train(
            x.into_primitive(),
            gamma.into_primitive(),
            beta.into_primitive(),
            epsilon,
        );
        let stats = (mean.clone(), variance.clone());
        let output = match prep {
            OpsKind::Tracked(prep) => {
                prep.finish((input, gamma_value, stats.0, stats.1, epsilon), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(output),
        };
        (
            output,
            <Self as AutodiffBackend>::from_inner(mean),
            <Self as AutodiffBackend>::from_inner(variance),
        )
    }

    fn fused_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        let prep = NormBackward { batch_stats: false }
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful();
        let inner = <Self as AutodiffBackend>::inner;
        let (mean, variance) = (inner(mean), inner(variance));
        let (input, gamma_value) = (x.primitive().clone(), gamma.primitive().clone());
        let output = B::fused_batch_norm(
            x.into_primitive(),
            gamma.into_primitive(),
            beta.into_primitive(),
            mean.clone(),
            variance.clone(),
            epsilon,
        );
        match prep {
            OpsKind::Tracked(prep) => {
                prep.finish((input, gamma_value, mean, variance, epsilon), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }

    fn fused_batch_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        grad: FloatTensor<Self>,
        normalised: Normalised,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        // A gradient of a gradient is never taken through batch norm.
        let inner = <Self as AutodiffBackend>::inner;
        let (dx, dgamma, dbeta) = B::fused_batch_norm_backward(
            inner(x),
            inner(gamma),
            inner(mean),
            inner(variance),
            epsilon,
            inner(grad),
            normalised,
        );
        let outer = <Self as AutodiffBackend>::from_inner;
        (outer(dx), outer(dgamma), outer(dbeta))
    }
}

#[cfg(test)]
mod tests {
    use burn::module::{Module, Param};
    use burn::nn::BatchNormConfig;
    use burn::tensor::Device;

    use super::*;
    use crate::models::test_support::{normal, values};

    fn close(ours: &[f32], burns: &[f32], what: &str) {
        let scale = burns.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        for (a, b) in ours.iter().zip(burns) {
            assert!(
                (a - b).abs() <= 1e-5 * scale,
                "{what}: {a} vs {b} (scale {scale})"
            );
        }
    }

    /// Output, input gradient, parameter gradients and the running statistics it leaves, in
    /// training and in inference, against burn-nn's `BatchNorm` on the same weights.
    #[test]
    fn equals_burns_batch_norm_forward_backward_and_running_statistics() {
        let device = Device::flex().autodiff();
        let shape = [3, 4, 5, 6];
        let bn = BatchNormConfig::new(4).init(&device);
        // Gamma, beta and the running statistics away from their initial 1s and 0s.
        let bn = BatchNorm {
            gamma: Param::from_tensor(Tensor::from_floats([1.5, 0.25, -0.75, 2.0], &device)),
            beta: Param::from_tensor(Tensor::from_floats([-0.5, 0.0, 1.25, 0.5], &device)),
            running_mean: RunningState::new(Tensor::from_floats([0.5, -1.0, 2.0, 0.0], &device)),
            running_var: RunningState::new(Tensor::from_floats([0.5, 2.0, 1.5, 3.0], &device)),
            ..bn
        };
        let x = normal(shape, 1, &device).mul_scalar(2.0).add_scalar(3.0);
        let weights = normal(shape, 2, &device);
        // Inference with trainable parameters (partial finetuning) and with frozen ones (an
        // analysis, which skips their gradients).
        for (training, frozen) in [(true, false), (false, false), (false, true)] {
            let run = |ours: bool| {
                let bn = match (training, frozen) {
                    (true, _) => bn.clone().train(),
                    (false, false) => BatchNorm {
                        training: bn.clone().valid().training,
                        ..bn.clone()
                    },
                    // Moving to the autodiff device leaves the parameters untracked.
                    (false, true) => bn.clone().valid().to_device(&device),
                };
                let input = x.clone().require_grad();
                let out = if ours {
                    batch_norm(&bn, input.clone())
                } else {
                    bn.forward(input.clone())
                };
                // Twice, so that the second call reads running statistics the first moved.
                let again = if ours {
                    batch_norm(&bn, x.clone())
                } else {
                    bn.forward(x.clone())
                };
                let grads = (out.clone() * weights.clone()).sum().backward();
                let grad_of = |p: &burn::module::Param<Tensor<1>>| {
                    p.val().grad(&grads).map(values).unwrap_or_default()
                };
                [
                    values(out),
                    values(again),
                    values(input.grad(&grads).unwrap()),
                    grad_of(&bn.gamma),
                    grad_of(&bn.beta),
                    values(bn.running_mean.value()),
                    values(bn.running_var.value()),
                ]
            };
            let (ours, burns) = (run(true), run(false));
            assert_eq!(
                ours[3].is_empty(),
                frozen,
                "gamma takes a gradient unless frozen"
            );
            let names = [
                "output",
                "second output",
                "dx",
                "dgamma",
                "dbeta",
                "mean",
                "var",
            ];
            for ((a, b), name) in ours.iter().zip(&burns).zip(names) {
                let what = format!("{name} (training {training}, frozen {frozen})");
                assert_eq!(a.len(), b.len(), "{what}");
                close(a, b, &what);
            }
        }
    }

    #[test]
    fn a_constant_channel_normalises_to_beta() {
        let device = Device::flex().autodiff();
        let bn = BatchNormConfig::new(2).init(&device);
        let x = Tensor::<4>::ones([2, 2, 3, 3], &device).mul_scalar(7.0);
        let out = values(batch_norm(&bn, x));
        assert!(out.iter().all(|v| v.abs() < 1e-6), "{out:?}");
    }
}
