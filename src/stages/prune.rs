//! `prune[n]`: one round of learning-rate rewinding. New masks from one global magnitude
//! threshold over the still-unpruned weights, then retraining from the current weights with a
//! fresh optimizer and the full schedule restarted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use super::checkpoint::{RoundRecord, load_checkpoint, save_checkpoint};
use super::{ModelContext, model_label, round_seed};
use crate::graph::{Stage, StageContext};
use crate::models::params::read_params;
use crate::prune::{expected_sparsity, global_magnitude_prune, measure_sparsity};
use crate::train::{FitRequest, fit};

pub struct PruneStage {
    pub context: Arc<ModelContext>,
    pub round: usize,
    pub rate: f64,
}

impl Stage for PruneStage {
    fn kind(&self) -> &'static str {
        "prune"
    }
    fn label(&self) -> String {
        model_label(self.round)
    }
    fn version(&self) -> u32 {
        1
    }
    fn params(&self) -> Value {
        let c = &self.context;
        let prunable: Vec<&str> = c.prunable.iter().map(|p| p.path.as_str()).collect();
        json!({
            "method": "lrr",
            "round": self.round,
            "rate": self.rate,
            "prunable": prunable,
            "recipe": c.recipe,
            "seed": c.seed,
            "device": c.device.family(),
            "train_data": c.train_data.fingerprint(),
        })
    }
    fn inputs(&self) -> Vec<String> {
        vec![model_label(self.round - 1)]
    }
    fn exclusive_compute(&self) -> bool {
        true
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let c = &self.context;
        let started = Instant::now();
        let device = c.device.autodiff_device();
        let parent = load_checkpoint(ctx.input(&model_label(self.round - 1)), &device)?;
        let values = read_params(&parent.network, &|path| {
            c.prunable.iter().any(|p| p.path == path)
        });
        let pruned = global_magnitude_prune(&values, &parent.masks, self.rate);
        let shapes: BTreeMap<String, Vec<usize>> = c
            .prunable
            .iter()
            .map(|p| (p.path.clone(), p.shape.clone()))
            .collect();
        let masks = pruned.masks.with_shapes(&shapes);
        ctx.progress.note(&format!(
            "round {}: removed {} of {} remaining weights (|w| <= {:.3e})",
            self.round, pruned.removed, pruned.remaining_before, pruned.global_magnitude_threshold
        ));
        let device_masks = masks.to_device(&device);
        let network = device_masks.apply(parent.network);
        let request = FitRequest {
            recipe: &c.recipe,
            seed: round_seed(c.seed, self.round),
            dataset: c.train_data.as_ref(),
            masks: &device_masks,
            device: &device,
            scratch: ctx.scratch,
            progress: ctx.progress,
        };
        let (network, history) = fit(network, &request)?;
        let record = RoundRecord {
            round: self.round,
            network: c.network.clone(),
            expected_sparsity: expected_sparsity(self.rate, self.round),
            measured: measure_sparsity(&network, &c.prunable),
            global_magnitude_threshold: Some(pruned.global_magnitude_threshold),
            removed_this_round: pruned.removed,
            history,
            train_seconds: started.elapsed().as_secs_f64(),
        };
        save_checkpoint(ctx.out_dir, &network, &masks, &record)
    }
}
