//! `prune[n]`: one round of learning-rate rewinding. New masks from one global magnitude
//! threshold over the still-unpruned weights, then retraining from the current weights with a
//! fresh optimizer and the full schedule restarted.

use std::sync::Arc;

use serde_json::{Value, json};

use super::round::{RoundOrigin, parent, retrain_from_parent};
use crate::graph::{Stage, StageContext, StageLabel};
use crate::models::params::read_params;
use crate::pool::ModelContext;
use crate::prune::{expected_sparsity, global_magnitude_prune_capped};

pub struct PruneStage {
    pub context: Arc<ModelContext>,
    pub round: usize,
    pub rate: f64,
    /// `prune.max_layer_sparsity`: no tensor passes it.
    pub max_layer_sparsity: Option<f64>,
}

impl Stage for PruneStage {
    fn kind(&self) -> &'static str {
        "prune"
    }
    fn label(&self) -> StageLabel {
        StageLabel::model(self.round)
    }
    /// 2: convolution weight gradients on the CPU come from `models::gemm_conv` (equal up to
    /// float rounding); an imported parent keeps its key, so the round's own version moves. 3:
    /// batch norm on the CPU is `models::fused_batch_norm`, for the same reason. 4: the dense
    /// convolutions' forward pass on the CPU is `models::gemm_conv::forward`, for the same
    /// reason. Plus `ModelContext::arch_revision`.
    fn version(&self) -> u32 {
        4 + self.context.arch_revision()
    }
    fn params(&self) -> Value {
        let c = &self.context;
        let mut params = c.training_key(json!({
            "method": "lrr",
            "round": self.round,
            "rate": self.rate,
            "prunable": c.prunable_paths(),
        }));
        // Only when set, so that every other round keeps its key.
        if let Some(limit) = self.max_layer_sparsity {
            params["max_layer_sparsity"] = json!(limit);
        }
        params
    }
    fn inputs(&self) -> Vec<StageLabel> {
        vec![parent(self.round)]
    }
    fn exclusive_compute(&self) -> bool {
        true
    }
    fn missing_data(&self) -> Option<String> {
        self.context.train_data_missing()
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let c = &self.context;
        retrain_from_parent(ctx, c, self.round, |parent| {
            let values = read_params(&parent.network, &|path| {
                c.prunable.iter().any(|p| p.path == path)
            });
            let pruned = global_magnitude_prune_capped(
                &values,
                &parent.masks,
                self.rate,
                self.max_layer_sparsity,
            );
            ctx.progress.note(&format!(
                "round {}: removed {} of {} remaining weights (|w| <= {:.3e})",
                self.round,
                pruned.removed,
                pruned.remaining_before,
                pruned.global_magnitude_threshold
            ));
            let origin = RoundOrigin {
                round: self.round,
                expected_sparsity: expected_sparsity(self.rate, self.round),
                global_magnitude_threshold: Some(pruned.global_magnitude_threshold),
                removed_this_round: pruned.removed,
            };
            (pruned.masks.with_shapes(&c.prunable_shapes()), origin)
        })
    }
}
