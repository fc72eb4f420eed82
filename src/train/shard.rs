//! One device's part of a training step: its share of the global batch, forward and backward
//! in the step's precision, and the gradients of the master weights.
//!
//! Each share's loss is weighted by its share of the global batch (`n_k / N`), so the summed
//! gradients of all shares are exactly the gradient of the global batch's mean loss, as on one
//! device; with equal shares this is PyTorch DDP's average of per-device means.

use burn::module::{Module, ModuleMapper, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Device, FloatDType, Int, Tensor, TensorData};

use super::fit::soft_cross_entropy;
use super::loader::Batch;
use super::precision::cast_for_step;
use crate::models::Network;

/// A device's share of the global batch, on the host.
pub struct Shard {
    pub images: Vec<f32>,
    pub labels: Vec<i64>,
    /// Probability targets `[count, classes]` (MixUp/CutMix, label smoothing); else the labels.
    pub soft_targets: Option<Vec<f32>>,
    pub count: usize,
    pub height: usize,
    pub width: usize,
}

/// How every shard of one step computes.
#[derive(Clone, Copy)]
pub struct StepSettings {
    /// Images in the global batch: each shard's loss is weighted by `count / global_count`.
    pub global_count: usize,
    pub classes: usize,
    pub dtype: FloatDType,
    /// Multiplies the loss before backward (f16 loss scaling; 1 otherwise).
    pub loss_scale: f32,
    /// Batch norm with the global batch's statistics across the replicas (`train.sync_bn`).
    pub sync_bn: bool,
}

/// What a shard contributes to the step.
pub struct ShardOutput {
    /// Gradients of the master parameters, on the shard's device, weighted and scaled.
    pub grads: GradientsParams,
    /// The shard's mean loss times its image count (unweighted, unscaled).
    pub loss_sum: f64,
    /// Correct top-1 predictions.
    pub hits: usize,
}

/// Splits a batch into `parts` shares of consecutive images, sizes differing by at most one
/// (the first ones larger); parts beyond the batch size are left out.
pub fn split_batch(batch: Batch, soft_targets: Option<Vec<f32>>, parts: usize) -> Vec<Shard> {
    let parts = parts.clamp(1, batch.count.max(1));
    if parts == 1 {
        return vec![Shard {
            images: batch.images,
            labels: batch.labels,
            soft_targets,
            count: batch.count,
            height: batch.height,
            width: batch.width,
        }];
    }
    let pixels = batch.images.len() / batch.count;
    let classes = soft_targets.as_ref().map_or(0, |t| t.len() / batch.count);
    let (base, extra) = (batch.count / parts, batch.count % parts);
    let mut start = 0;
    (0..parts)
        .map(|part| {
            let count = base + usize::from(part < extra);
            let range = start..start + count;
            start += count;
            Shard {
                images: batch.images[range.start * pixels..range.end * pixels].to_vec(),
                labels: batch.labels[range.clone()].to_vec(),
                soft_targets: soft_targets
                    .as_ref()
                    .map(|t| t[range.start * classes..range.end * classes].to_vec()),
                count,
                height: batch.height,
                width: batch.width,
            }
        })
        .collect()
}

/// Forward and backward of `shard` with `network` (the master weights or a replica of them,
/// on `device`): gradients of its parameters for the shard's weighted loss.
pub fn shard_gradients(
    network: &Network,
    shard: Shard,
    settings: StepSettings,
    device: &Device,
) -> ShardOutput {
    let computing = cast_for_step(network.clone(), settings.dtype);
    let images = Tensor::<4>::from_data(
        TensorData::new(shard.images, [shard.count, 3, shard.height, shard.width]),
        device,
    )
    .cast(settings.dtype);
    let targets = Tensor::<1, Int>::from_data(TensorData::new(shard.labels, [shard.count]), device);
    // Softmax and the loss in f32, as autocast does.
    let logits = computing.forward(images).cast(FloatDType::F32);
    let loss = match shard.soft_targets {
        Some(soft) => soft_cross_entropy(
            logits.clone(),
            Tensor::<2>::from_data(
                TensorData::new(soft, [shard.count, settings.classes]),
                device,
            ),
        ),
        None => CrossEntropyLossConfig::new()
            .init(device)
            .forward(logits.clone(), targets.clone()),
    };
    let loss_value = loss.clone().into_scalar::<f32>() as f64;
    let hits = logits
        .argmax(1)
        .squeeze_dim::<1>(1)
        .equal(targets)
        .int()
        .sum()
        .into_scalar::<i64>() as usize;
    let weight = shard.count as f32 / settings.global_count as f32 * settings.loss_scale;
    // A weight of exactly 1 (one device, no scaling) leaves the graph as it always was.
    let loss = if weight == 1.0 { loss } else { loss * weight };
    ShardOutput {
        grads: GradientsParams::from_grads(loss.backward(), network),
        loss_sum: loss_value * shard.count as f64,
        hits,
    }
}

/// The master network's copy on `device` for one step: new leaves with the same parameter
/// ids, so its gradients key like the master's. Unlike `Module::fork`, which goes by each
/// parameter's recorded training flag (stale after loading a checkpoint and re-masking), a
/// parameter is trainable here exactly when the master's tensor requires gradients.
pub fn replica(network: &Network, device: &Device) -> Network {
    network.clone().map(&mut Replicate { device })
}

struct Replicate<'a> {
    device: &'a Device,
}

impl ModuleMapper for Replicate<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let device = self.device;
        param.map(|tensor| {
            if tensor.is_require_grad() {
                tensor.to_device(device).detach().require_grad()
            } else {
                tensor.to_device(device)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(count: usize) -> Batch {
        Batch {
            images: (0..count * 3 * 2 * 2).map(|v| v as f32).collect(),
            labels: (0..count as i64).collect(),
            count,
            height: 2,
            width: 2,
        }
    }

    #[test]
    fn shards_cover_the_batch_in_order() {
        let soft: Vec<f32> = (0..7 * 4).map(|v| v as f32).collect();
        let shards = split_batch(batch(7), Some(soft.clone()), 3);
        let counts: Vec<usize> = shards.iter().map(|s| s.count).collect();
        assert_eq!(counts, [3, 2, 2]);
        let labels: Vec<i64> = shards.iter().flat_map(|s| s.labels.clone()).collect();
        assert_eq!(labels, (0..7).collect::<Vec<i64>>());
        let images: Vec<f32> = shards.iter().flat_map(|s| s.images.clone()).collect();
        assert_eq!(images, batch(7).images);
        let targets: Vec<f32> = shards
            .iter()
            .flat_map(|s| s.soft_targets.clone().unwrap())
            .collect();
        assert_eq!(targets, soft);
        // More devices than images: one image each, no empty shard.
        assert_eq!(split_batch(batch(2), None, 4).len(), 2);
    }
}
