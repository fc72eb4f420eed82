//! `train`: the dense model, round 0 of the pool.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use super::checkpoint::{RoundRecord, save_checkpoint};
use super::{ModelContext, model_label, round_seed};
use crate::graph::{Stage, StageContext};
use crate::prune::{Masks, measure_sparsity};
use crate::train::{FitRequest, fit};

pub struct TrainStage {
    pub context: Arc<ModelContext>,
}

impl Stage for TrainStage {
    fn kind(&self) -> &'static str {
        "train"
    }
    fn label(&self) -> String {
        model_label(0)
    }
    fn version(&self) -> u32 {
        1
    }
    fn params(&self) -> Value {
        let c = &self.context;
        json!({
            "network": c.network,
            "recipe": c.recipe,
            "seed": c.seed,
            "device": c.device.family(),
            "train_data": c.train_data.fingerprint(),
        })
    }
    fn inputs(&self) -> Vec<String> {
        Vec::new()
    }
    fn exclusive_compute(&self) -> bool {
        true
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let c = &self.context;
        let started = Instant::now();
        let device = c.device.autodiff_device();
        let network = c.network.init(&device, c.seed);
        let mut masks = Masks::default();
        for param in &c.prunable {
            masks.ensure(&param.path, param.numel());
        }
        let masks = masks.with_shapes(
            &c.prunable
                .iter()
                .map(|p| (p.path.clone(), p.shape.clone()))
                .collect(),
        );
        let device_masks = masks.to_device(&device);
        let request = FitRequest {
            recipe: &c.recipe,
            seed: round_seed(c.seed, 0),
            dataset: c.train_data.as_ref(),
            masks: &device_masks,
            device: &device,
            scratch: ctx.scratch,
            progress: ctx.progress,
        };
        let (network, history) = fit(network, &request)?;
        let record = RoundRecord {
            round: 0,
            network: c.network.clone(),
            expected_sparsity: 0.0,
            measured: measure_sparsity(&network, &c.prunable),
            global_magnitude_threshold: None,
            removed_this_round: 0,
            history,
            train_seconds: started.elapsed().as_secs_f64(),
        };
        save_checkpoint(ctx.out_dir, &network, &masks, &record)
    }
}
