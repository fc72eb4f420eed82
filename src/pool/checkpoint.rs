//! The files a model-producing stage (train, prune round) leaves in its cache entry, and how
//! later stages read them back.

use std::path::Path;

use anyhow::Context;
use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::cache::Entry;
use crate::models::{Network, NetworkConfig};
use crate::prune::{Masks, SparsityReport, load_masks, save_masks};
use crate::train::EpochStats;

pub const MODEL_FILE: &str = "model.bpk";
pub const MASKS_FILE: &str = "masks.safetensors";
pub const ROUND_FILE: &str = "round.json";

/// What a pool member is: its round, how sparse it really is, and how it was trained.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoundRecord {
    /// 0 for the dense model, n after the n-th pruning round.
    pub round: usize,
    pub network: NetworkConfig,
    /// `1 - (1 - rate)^round`, what the schedule aims at.
    pub expected_sparsity: f64,
    /// Measured from the weights after retraining.
    pub measured: SparsityReport,
    /// Largest magnitude removed this round (absent for the dense model).
    pub global_magnitude_threshold: Option<f32>,
    pub removed_this_round: usize,
    pub history: Vec<EpochStats>,
    pub train_seconds: f64,
}

pub fn save_checkpoint(
    dir: &Path,
    network: &Network,
    masks: &Masks,
    record: &RoundRecord,
) -> anyhow::Result<()> {
    // `valid()` folds pending batch-norm running-statistic updates in (see `train::fit`).
    network
        .valid()
        .save_file(dir.join(MODEL_FILE))
        .with_context(|| format!("saving {}", dir.join(MODEL_FILE).display()))?;
    save_masks(masks, &dir.join(MASKS_FILE))?;
    std::fs::write(dir.join(ROUND_FILE), serde_json::to_vec_pretty(record)?)?;
    Ok(())
}

/// A pool member read back from its entry, on `device`.
pub struct LoadedModel {
    pub network: Network,
    pub masks: Masks,
    pub record: RoundRecord,
}

pub fn load_checkpoint(entry: &Entry, device: &Device) -> anyhow::Result<LoadedModel> {
    let record: RoundRecord = entry.read_json(ROUND_FILE)?;
    let network = record
        .network
        .skeleton(device)
        .try_load_file(entry.path(MODEL_FILE))
        .with_context(|| format!("loading {}", entry.path(MODEL_FILE).display()))?;
    let masks = load_masks(&entry.path(MASKS_FILE))?;
    Ok(LoadedModel {
        network,
        masks,
        record,
    })
}
