//! What the dense run and every LRR round share: train under masks with the experiment's
//! recipe, measure the result and save it as a pool member.

use std::time::Instant;

use burn::tensor::Device;

use crate::graph::{StageContext, StageLabel};
use crate::models::Network;
use crate::pool::{
    LoadedModel, ModelContext, RoundRecord, load_checkpoint, round_seed, save_checkpoint,
};
use crate::prune::{Masks, measure_sparsity};
use crate::train::shard::replica;
use crate::train::{FitRequest, fit};

/// How a pool member came to be, beyond its training.
pub struct RoundOrigin {
    pub round: usize,
    pub expected_sparsity: f64,
    pub global_magnitude_threshold: Option<f32>,
    pub removed_this_round: usize,
}

impl RoundOrigin {
    /// A model of `round` that nothing was pruned from (the dense model, a control).
    pub fn unpruned(round: usize) -> Self {
        RoundOrigin {
            round,
            expected_sparsity: 0.0,
            global_magnitude_threshold: None,
            removed_this_round: 0,
        }
    }
}

/// The model a round after the dense one retrains from: the previous round's.
pub fn parent(round: usize) -> StageLabel {
    StageLabel::model(round - 1)
}

/// A round after the dense one: the previous round's model, given this round's masks and record
/// by `step` (LRR prunes; the matched control keeps every weight), then retrained and saved.
pub fn retrain_from_parent(
    ctx: &StageContext<'_>,
    context: &ModelContext,
    round: usize,
    step: impl FnOnce(&LoadedModel) -> (Masks, RoundOrigin),
) -> anyhow::Result<()> {
    let started = Instant::now();
    let device = context.device.autodiff_device();
    let parent = load_checkpoint(ctx.input(&parent(round)), &device)?;
    let (masks, origin) = step(&parent);
    train_and_save(
        ctx,
        context,
        parent.network,
        &masks,
        &device,
        origin,
        started,
    )
}

/// Trains `network` (on the autodiff `device`, masks already applied) and writes the checkpoint
/// into the stage's output folder.
pub fn train_and_save(
    ctx: &StageContext<'_>,
    context: &ModelContext,
    network: Network,
    masks: &Masks,
    device: &Device,
    origin: RoundOrigin,
    started: Instant,
) -> anyhow::Result<()> {
    // Data-parallel training keeps the master weights on the first training device.
    let devices: Vec<Device> = if context.train_devices == [context.device] {
        vec![device.clone()]
    } else {
        context
            .train_devices
            .iter()
            .map(|d| d.autodiff_device())
            .collect()
    };
    // A move that keeps the parameters leaves (a plain `to_device` on an autodiff device
    // records an operation, and the optimizer would then step a consumed graph).
    let network = if devices[0] == *device {
        network
    } else {
        replica(&network, &devices[0])
    };
    let device_masks = masks.to_device(&devices[0]);
    let request = FitRequest {
        recipe: &context.recipe,
        seed: round_seed(context.seed, origin.round),
        dataset: context.train_data.get()?.as_ref(),
        masks: &device_masks,
        devices: &devices,
        scratch: ctx.scratch,
        progress: ctx.progress,
    };
    let (network, history) = fit(device_masks.apply(network), &request)?;
    let network = if devices[0] == *device {
        network
    } else {
        replica(&network, device)
    };
    let record = RoundRecord {
        round: origin.round,
        network: context.network.clone(),
        expected_sparsity: origin.expected_sparsity,
        measured: measure_sparsity(&network, &context.prunable),
        global_magnitude_threshold: origin.global_magnitude_threshold,
        removed_this_round: origin.removed_this_round,
        history,
        train_seconds: started.elapsed().as_secs_f64(),
    };
    save_checkpoint(ctx.out_dir, &network, masks, &record)
}
