//! The training loop shared by the dense run and every LRR retraining round.
//!
//! Every epoch ends with a checkpoint (weights, optimizer state, history) in the stage's scratch
//! area, so a killed run resumes at its last finished epoch and, because data order and
//! augmentation depend only on (seed, epoch, index), reaches the same weights as an unbroken run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::clip::clip_global_norm;
use super::loader::{Augmentation, Batch, epoch_order};
use super::mix::{Mix, soft_targets};
use super::optimizer::build_optimizer;
use super::precision::{LossScale, step_dtype};
use super::prefetch::{EpochBatches, default_workers, for_each_batch};
use super::replicas::StepDevices;
use super::schedule::learning_rate;
use super::shard::{StepSettings, split_batch};
use crate::data::Dataset;
use crate::data::rng::Rng;
use crate::models::Network;
use crate::progress::Progress;
use crate::prune::DeviceMasks;
use crate::spec::TrainSpec;

/// One finished epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    pub epoch: usize,
    pub loss: f64,
    pub train_top1: f64,
    pub last_lr: f64,
    pub seconds: f64,
    pub images_per_second: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ResumeState {
    epochs_done: usize,
    history: Vec<EpochStats>,
}

/// What to train and where to keep its resumable state.
pub struct FitRequest<'a> {
    pub recipe: &'a TrainSpec,
    pub seed: u64,
    pub dataset: &'a dyn Dataset,
    /// Masks on the first device.
    pub masks: &'a DeviceMasks,
    /// The autodiff devices training runs on, data-parallel; the first holds the master
    /// weights and the optimizer. One device: the whole batch there.
    pub devices: &'a [Device],
    /// Per-stage scratch folder for epoch checkpoints.
    pub scratch: &'a Path,
    pub progress: &'a dyn Progress,
}

/// The state one training step changes.
struct Trainer<'a> {
    /// Always present between steps; taken out while the optimizer consumes it.
    network: Option<Network>,
    optimizer: ModuleOptimizer,
    loss_scale: LossScale,
    devices: &'a StepDevices,
    request: &'a FitRequest<'a>,
    steps_per_epoch: usize,
    total_steps: usize,
}

/// Trains `network` (already on the first of `request.devices`, masks applied) for the
/// recipe's epochs with a fresh optimizer and the schedule started from step 0.
pub fn fit(
    network: Network,
    request: &FitRequest<'_>,
) -> anyhow::Result<(Network, Vec<EpochStats>)> {
    let recipe = request.recipe;
    let steps_per_epoch = request.dataset.len().div_ceil(recipe.batch_size);
    let checkpoint = Checkpoint::new(request.scratch);
    let (mut network, mut optimizer) = (network, build_optimizer(&recipe.optimizer));
    let mut state = ResumeState::default();
    if let Some(resumed) = checkpoint.load(network.clone(), optimizer.clone())? {
        (network, optimizer, state) = resumed;
        request
            .progress
            .note(&format!("resuming after epoch {}", state.epochs_done));
    }
    std::thread::scope(|scope| {
        let devices = StepDevices::start(scope, request.devices);
        let mut trainer = Trainer {
            network: Some(request.masks.apply(network)),
            optimizer,
            loss_scale: LossScale::new(recipe.precision),
            devices: &devices,
            request,
            steps_per_epoch,
            total_steps: steps_per_epoch * recipe.epochs,
        };
        for epoch in state.epochs_done..recipe.epochs {
            let stats = trainer.epoch(epoch)?;
            state.history.push(stats);
            state.epochs_done = epoch + 1;
            checkpoint.save(trainer.network(), &trainer.optimizer, &state)?;
        }
        Ok((
            trainer
                .network
                .expect("the network is back after each step"),
            state.history,
        ))
    })
}

/// Running sums of an epoch.
#[derive(Default)]
struct Tally {
    loss_sum: f64,
    correct: usize,
    seen: usize,
    lr: f64,
}

impl Trainer<'_> {
    fn network(&self) -> &Network {
        self.network
            .as_ref()
            .expect("the network is back after each step")
    }

    fn epoch(&mut self, epoch: usize) -> anyhow::Result<EpochStats> {
        let request = self.request;
        let recipe = request.recipe;
        let started = Instant::now();
        request.progress.phase(
            &format!("epoch {}/{}", epoch + 1, recipe.epochs),
            self.steps_per_epoch as u64,
        );
        let order = epoch_order(request.dataset.len(), request.seed, epoch);
        let plan = EpochBatches {
            dataset: request.dataset,
            order: &order,
            batch_size: recipe.batch_size,
            augmentation: Some(Augmentation {
                spec: &recipe.augment,
                seed: request.seed,
                epoch,
            }),
            workers: recipe.workers.unwrap_or_else(default_workers),
        };
        let mut tally = Tally::default();
        for_each_batch(&plan, |step_in_epoch, batch| {
            self.step(epoch, step_in_epoch, batch, &mut tally)?;
            let rate = tally.seen as f64 / started.elapsed().as_secs_f64().max(1e-9);
            request.progress.advance(
                1,
                &format!(
                    "loss {:.3} · {rate:.0} img/s",
                    tally.loss_sum / tally.seen as f64
                ),
            );
            Ok(())
        })?;
        let seconds = started.elapsed().as_secs_f64();
        let stats = EpochStats {
            epoch: epoch + 1,
            loss: tally.loss_sum / tally.seen.max(1) as f64,
            train_top1: tally.correct as f64 / tally.seen.max(1) as f64,
            last_lr: tally.lr,
            seconds,
            images_per_second: tally.seen as f64 / seconds.max(1e-9),
        };
        request.progress.note(&format!(
            "epoch {}/{}: loss {:.4}, train top-1 {:.3}, {:.0} img/s",
            stats.epoch, recipe.epochs, stats.loss, stats.train_top1, stats.images_per_second
        ));
        Ok(stats)
    }

    /// One optimizer step on `batch`: mix, split across the devices, sum the gradients,
    /// unscale (f16), clip, step, and put the masks back.
    fn step(
        &mut self,
        epoch: usize,
        step_in_epoch: usize,
        mut batch: Batch,
        tally: &mut Tally,
    ) -> anyhow::Result<()> {
        let request = self.request;
        let recipe = request.recipe;
        let step = epoch * self.steps_per_epoch + step_in_epoch;
        tally.lr = learning_rate(
            &recipe.schedule,
            recipe.optimizer.lr(),
            step,
            self.steps_per_epoch,
            self.total_steps,
        );
        let mixing = recipe.augment.mixup_alpha > 0.0 || recipe.augment.cutmix_alpha > 0.0;
        let mix = if mixing {
            let mut rng = Rng::for_item(request.seed, MIX_STREAM + epoch as u64, step as u64);
            Mix::sample(&recipe.augment, batch.width, batch.height, &mut rng)
        } else {
            Mix::None
        };
        mix.apply(&mut batch.images, batch.count, batch.height, batch.width);
        let classes = request.dataset.num_classes();
        let soft = (mixing || recipe.label_smoothing > 0.0)
            .then(|| soft_targets(&batch.labels, classes, &mix, recipe.label_smoothing));
        let settings = StepSettings {
            global_count: batch.count,
            classes,
            dtype: step_dtype(recipe.precision),
            loss_scale: self.loss_scale.scale,
            sync_bn: recipe.sync_bn,
        };
        let count = batch.count;
        let shards = split_batch(batch, soft, self.devices.count());
        let mut step_grads = self.devices.gradients(self.network(), shards, settings)?;
        let batch_loss = step_grads.loss_sum / count as f64;
        anyhow::ensure!(
            batch_loss.is_finite(),
            "training diverged at epoch {} step {step_in_epoch}: loss is {batch_loss}; lower train.optimizer.lr",
            epoch + 1
        );
        tally.loss_sum += step_grads.loss_sum;
        tally.correct += step_grads.hits;
        tally.seen += count;
        // An f16 step whose gradients overflowed is skipped, as torch's GradScaler does.
        let network = self
            .network
            .take()
            .expect("the network is back after each step");
        if !self.loss_scale.unscale(&network, &mut step_grads.grads) {
            self.network = Some(network);
            return Ok(());
        }
        if let Some(max_norm) = recipe.clip_grad_norm {
            clip_global_norm(&network, &mut step_grads.grads, request.masks, max_norm);
        }
        let network = self.optimizer.step(tally.lr, network, step_grads.grads);
        // Momentum and weight decay move pruned weights off zero; put them back every step.
        self.network = Some(request.masks.apply(network));
        Ok(())
    }
}

/// Random stream of the per-batch MixUp/CutMix draws (distinct from data order and
/// per-image augmentation streams).
const MIX_STREAM: u64 = 0x31C5_0000_0000;

/// Cross-entropy against probability targets `[batch, classes]`, averaged over the batch
/// (torch's `CrossEntropyLoss` with probability targets).
pub fn soft_cross_entropy(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    (log_softmax(logits, 1) * targets).sum_dim(1).mean().neg()
}

/// Host batch to device tensors.
pub fn to_tensors(batch: &Batch, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let images = Tensor::<4>::from_data(
        TensorData::new(
            batch.images.clone(),
            [batch.count, 3, batch.height, batch.width],
        ),
        device,
    );
    let targets =
        Tensor::<1, Int>::from_data(TensorData::new(batch.labels.clone(), [batch.count]), device);
    (images, targets)
}

/// The epoch checkpoint in a scratch folder. `state.json` is written last and names the epoch
/// the weights belong to, so a crash mid-save falls back to the previous complete epoch.
struct Checkpoint {
    dir: PathBuf,
}

impl Checkpoint {
    fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    fn paths(&self, epoch: usize) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("model-epoch{epoch}.bpk")),
            self.dir.join(format!("optimizer-epoch{epoch}.bpk")),
        )
    }

    fn save(
        &self,
        network: &Network,
        optimizer: &ModuleOptimizer,
        state: &ResumeState,
    ) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let (model_path, optimizer_path) = self.paths(state.epochs_done);
        // `valid()` folds pending batch-norm running-statistic updates in; a plain clone would
        // save them one step stale.
        network
            .valid()
            .save_file(&model_path)
            .with_context(|| format!("saving checkpoint {}", model_path.display()))?;
        optimizer
            .save(&optimizer_path)
            .with_context(|| format!("saving optimizer state {}", optimizer_path.display()))?;
        let tmp = self.dir.join("state.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(state)?)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, self.dir.join("state.json"))?;
        // Older epochs are no longer needed once the newer one is named in state.json.
        if state.epochs_done > 1 {
            let (old_model, old_optimizer) = self.paths(state.epochs_done - 1);
            let _ = std::fs::remove_file(old_model);
            let _ = std::fs::remove_file(old_optimizer);
        }
        Ok(())
    }

    fn load(
        &self,
        network: Network,
        optimizer: ModuleOptimizer,
    ) -> anyhow::Result<Option<(Network, ModuleOptimizer, ResumeState)>> {
        let Ok(bytes) = std::fs::read(self.dir.join("state.json")) else {
            return Ok(None);
        };
        let Ok(state) = serde_json::from_slice::<ResumeState>(&bytes) else {
            return Ok(None);
        };
        let (model_path, optimizer_path) = self.paths(state.epochs_done);
        let Ok(network) = network.try_load_file(&model_path) else {
            return Ok(None);
        };
        let Ok(optimizer) = optimizer.load(&optimizer_path) else {
            return Ok(None);
        };
        Ok(Some((network, optimizer, state)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::loss::CrossEntropyLossConfig;

    #[test]
    fn soft_cross_entropy_is_cross_entropy_for_one_hot_targets_and_smooths_like_torch() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![2.0f32, -1.0, 0.5, 0.1, 0.3, -2.0], [2, 3]),
            &device,
        );
        let labels = [0i64, 2];
        let targets = Tensor::<1, Int>::from_data(TensorData::new(labels.to_vec(), [2]), &device);
        let hard = CrossEntropyLossConfig::new()
            .init(&device)
            .forward(logits.clone(), targets)
            .into_scalar::<f32>();
        let one_hot = super::super::mix::soft_targets(&labels, 3, &Mix::None, 0.0);
        let soft = soft_cross_entropy(
            logits.clone(),
            Tensor::<2>::from_data(TensorData::new(one_hot, [2, 3]), &device),
        )
        .into_scalar::<f32>();
        assert!((hard - soft).abs() < 1e-6, "{hard} vs {soft}");
        // torch.nn.CrossEntropyLoss(label_smoothing=0.1) on the same logits: 0.1 of the mass
        // spread evenly, the loss written out by hand.
        let smoothed = super::super::mix::soft_targets(&labels, 3, &Mix::None, 0.1);
        let loss = soft_cross_entropy(
            logits,
            Tensor::<2>::from_data(TensorData::new(smoothed, [2, 3]), &device),
        )
        .into_scalar::<f32>() as f64;
        let rows = [[2.0f64, -1.0, 0.5], [0.1, 0.3, -2.0]];
        let mut expected = 0.0;
        for (row, label) in rows.iter().zip(labels) {
            let lse = row.iter().map(|v| v.exp()).sum::<f64>().ln();
            for (c, v) in row.iter().enumerate() {
                let t = if c as i64 == label { 0.9 } else { 0.0 } + 0.1 / 3.0;
                expected -= t * (v - lse);
            }
        }
        expected /= 2.0;
        assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
    }
}
