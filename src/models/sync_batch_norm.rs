//! Synchronised batch norm (PyTorch's `SyncBatchNorm`): in a data-parallel training step, every
//! replica normalises with the statistics of the global batch, not of its own share.
//!
//! It is a way of running burn-nn's [`BatchNorm`], not another module: the same `gamma`,
//! `beta`, `running_mean` and `running_var`, so weights files and parameter paths are those of
//! every other run. Per channel, each replica sums its share, [`all_reduce_sum`] adds the sums of
//! every replica, giving the global mean; the same for the squared deviations from that mean,
//! giving the global (biased) variance. Two passes rather than `E[x^2] - E[x]^2`, which cancels
//! catastrophically in f32 when the mean is large against the spread. The output is
//! `(x - mean) / sqrt(var + eps) * gamma + beta`, built from differentiable operations, so the
//! gradient flows through the global statistics into every replica's activations (the
//! all-reduce's backward pass sums the replicas' gradients of the statistics).
//!
//! The running statistics move towards the global mean and variance, exactly as burn-nn's
//! `BatchNorm` moves them on one device towards the batch's: with the biased variance (PyTorch
//! keeps the unbiased one, `n / (n - 1)` larger; pvr's one-device training keeps Burn's, and a
//! synchronised run must train what one device trains). Every replica computes bit-identical
//! statistics, so the per-thread running states the replicas update agree, and their mean is
//! the one-device value.

use burn::nn::BatchNorm;
use burn::tensor::Tensor;

use super::all_reduce::{ReduceTag, ReplicaLink, all_reduce_sum, current_replica};
use super::fused_batch_norm::batch_norm;

/// `bn` applied to `x` (`[batch, channels, h, w]`, f32): with the global batch's statistics when
/// the current thread is one of several replicas of a training step ([`super::all_reduce::as_replica`])
/// and `bn` trains; burn-nn's batch norm otherwise, fused on the CPU ([`batch_norm`]).
pub fn batch_norm_maybe_synced(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    match current_replica() {
        Some(link) if x.device().is_autodiff() && bn.training.is_enabled() => {
            sync_batch_norm(bn, x, &link)
        }
        _ => batch_norm(bn, x),
    }
}

/// Batch norm in training mode over the global batch of `link`'s group.
pub fn sync_batch_norm(bn: &BatchNorm, x: Tensor<4>, link: &ReplicaLink) -> Tensor<4> {
    let [n, channels, h, w] = x.dims();
    let device = x.device();
    // Every replica's share has the same image size; the global count is known, not reduced.
    let count = (link.global_images * h * w) as f64;
    debug_assert!(n <= link.global_images);
    let per_channel = |t: Tensor<4>| t.sum_dims(&[0, 2, 3]);
    let tag = |slot| ReduceTag {
        layer: bn.gamma.id.val(),
        slot,
        backward: false,
    };
    let mean = all_reduce_sum(per_channel(x.clone()), link, tag(0)).div_scalar(count);
    let centered = x - mean.clone();
    let var =
        all_reduce_sum(per_channel(centered.clone().square()), link, tag(1)).div_scalar(count);
    let inv_std = var.clone().add_scalar(bn.epsilon).sqrt().recip();
    let gamma = bn.gamma.val().reshape([1, channels, 1, 1]);
    let beta = bn.beta.val().reshape([1, channels, 1, 1]);
    let output = centered * inv_std * gamma + beta;

    let momentum = bn.momentum;
    let update = |state: &burn::module::RunningState<Tensor<1>>, batch: Tensor<4>| {
        let running = state
            .value_sync()
            .to_device(&device)
            .mul_scalar(1.0 - momentum)
            .add(batch.detach().reshape([channels]).mul_scalar(momentum));
        state.update(running.detach());
    };
    update(&bn.running_mean, mean);
    update(&bn.running_var, var);
    output
}

#[cfg(test)]
mod tests {
    use burn::module::Module;
    use burn::nn::BatchNormConfig;
    use burn::tensor::{Device, TensorData};

    use super::*;
    use crate::models::all_reduce::{ReplicaGroup, as_replica};
    use crate::models::test_support::values;

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// A batch of 6 images of 3 channels, 2x2, with a channel offset (a mean far from 0).
    fn batch() -> Vec<f32> {
        (0..6 * 3 * 4)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 5.0 + (i / 4 % 3) as f32 * 4.0)
            .collect()
    }

    /// Weights of the loss `sum(out * weights)`, so the output gradient is not uniform.
    fn loss_weights() -> Vec<f32> {
        (0..6 * 3 * 4)
            .map(|i| ((i * 13 % 7) as f32 - 3.0) / 3.0)
            .collect()
    }

    struct Run {
        out: Vec<f32>,
        x_grad: Vec<f32>,
        gamma_grad: Vec<f32>,
        beta_grad: Vec<f32>,
        running: (Vec<f32>, Vec<f32>),
    }

    /// `bn` over images `range` of the batch, and the gradients of its share of the loss.
    fn share(bn: &BatchNorm, range: std::ops::Range<usize>, device: &Device) -> Run {
        let per_image = 3 * 4;
        let x = Tensor::<4>::from_data(
            TensorData::new(
                batch()[range.start * per_image..range.end * per_image].to_vec(),
                [range.len(), 3, 2, 2],
            ),
            device,
        )
        .require_grad();
        let weights = Tensor::<4>::from_data(
            TensorData::new(
                loss_weights()[range.start * per_image..range.end * per_image].to_vec(),
                [range.len(), 3, 2, 2],
            ),
            device,
        );
        let out = batch_norm_maybe_synced(bn, x.clone());
        let grads = (out.clone() * weights).sum().backward();
        Run {
            out: values(out),
            x_grad: values(x.grad(&grads).unwrap()),
            gamma_grad: values(bn.gamma.val().grad(&grads).unwrap()),
            beta_grad: values(bn.beta.val().grad(&grads).unwrap()),
            running: (Vec::new(), Vec::new()),
        }
    }

    fn running(bn: &BatchNorm) -> (Vec<f32>, Vec<f32>) {
        let valid = bn.valid();
        (
            values(valid.running_mean.value()),
            values(valid.running_var.value()),
        )
    }

    /// Two replicas with shares of 4 and 2 images, synchronised: the outputs, the input
    /// gradients, the summed gamma/beta gradients and the running statistics are those of one
    /// batch norm over all 6 images. Unsynchronised, they are not.
    #[test]
    fn two_synchronised_replicas_compute_the_global_batch_norm() {
        let device = Device::flex().autodiff();
        let whole = {
            let bn = BatchNormConfig::new(3).init(&device);
            let mut run = share(&bn, 0..6, &device);
            run.running = running(&bn);
            run
        };
        let replicas = |synced: bool| -> Run {
            let bn = BatchNormConfig::new(3).init(&device);
            let group = ReplicaGroup::new(2);
            let parts = std::thread::scope(|scope| {
                let handles: Vec<_> = [(0, 0..4), (1, 4..6)]
                    .into_iter()
                    .map(|(index, range)| {
                        let (bn, device) = (&bn, &device);
                        let link = ReplicaLink {
                            group: group.clone(),
                            index,
                            global_images: 6,
                        };
                        scope.spawn(move || {
                            // Each replica's own leaves (sharing them would merge the replicas'
                            // autodiff graphs), the running statistics shared, as in training.
                            let bn = bn.clone().fork(device);
                            if synced {
                                as_replica(link, || share(&bn, range, device))
                            } else {
                                share(&bn, range, device)
                            }
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap())
                    .collect::<Vec<_>>()
            });
            let sum = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x + y).collect();
            Run {
                out: [parts[0].out.clone(), parts[1].out.clone()].concat(),
                x_grad: [parts[0].x_grad.clone(), parts[1].x_grad.clone()].concat(),
                gamma_grad: sum(&parts[0].gamma_grad, &parts[1].gamma_grad),
                beta_grad: sum(&parts[0].beta_grad, &parts[1].beta_grad),
                running: running(&bn),
            }
        };
        let synced = replicas(true);
        // f32 values of size ~3 (outputs), ~1 (gradients): reduction order moves a few ulps.
        let tolerance = 2e-5;
        for (name, a, b) in [
            ("output", &whole.out, &synced.out),
            ("input gradient", &whole.x_grad, &synced.x_grad),
            ("gamma gradient", &whole.gamma_grad, &synced.gamma_grad),
            ("beta gradient", &whole.beta_grad, &synced.beta_grad),
            ("running mean", &whole.running.0, &synced.running.0),
            ("running var", &whole.running.1, &synced.running.1),
        ] {
            let diff = max_diff(a, b);
            println!("{name}: synchronised vs whole batch, max |diff| = {diff:.2e}");
            assert!(diff <= tolerance, "{name} differs by {diff}");
        }
        let unsynced = replicas(false);
        assert!(max_diff(&whole.out, &unsynced.out) > 1e-2);
        assert!(max_diff(&whole.x_grad, &unsynced.x_grad) > 1e-2);
        assert!(max_diff(&whole.running.1, &unsynced.running.1) > 1e-2);
    }

    /// Outside a group of several replicas, or in inference, it is the one-device batch norm.
    #[test]
    fn without_replicas_it_is_the_one_device_batch_norm() {
        let device = Device::flex().autodiff();
        let bn = BatchNormConfig::new(3).init(&device);
        let x = Tensor::<4>::from_data(TensorData::new(batch(), [6, 3, 2, 2]), &device);
        let alone = ReplicaLink {
            group: ReplicaGroup::new(1),
            index: 0,
            global_images: 6,
        };
        let plain = values(batch_norm(&bn, x.clone()));
        assert_eq!(
            values(as_replica(alone, || batch_norm_maybe_synced(
                &bn,
                x.clone()
            ))),
            plain
        );
        let valid = bn.valid();
        let x = x.without_autodiff();
        assert_eq!(
            values(batch_norm_maybe_synced(&valid, x.clone())),
            values(batch_norm(&valid, x))
        );
    }
}
