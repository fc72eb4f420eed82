//! `prune[n]@control`: the matched-compute dense control of round `n`. LRR's round `n` has had
//! `n + 1` full schedules (the dense training, then one restart per round); its control restarts
//! the schedule the same way from the previous control, with a fresh optimizer and the same data
//! order as round `n`, but prunes nothing. Pruned minus control is then pruning's effect at equal
//! training.

use std::sync::Arc;

use serde_json::{Value, json};

use super::round::{RoundOrigin, parent, retrain_from_parent};
use crate::graph::{Stage, StageContext, StageLabel};
use crate::pool::ModelContext;
use crate::prune::Masks;

pub struct ControlStage {
    pub context: Arc<ModelContext>,
    pub round: usize,
}

impl Stage for ControlStage {
    fn kind(&self) -> &'static str {
        "control"
    }
    /// The pool member it stands beside; the pipeline marks it `@control`.
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
        self.context.training_key(json!({
            "method": "dense_restart",
            "round": self.round,
            "schedules": self.round + 1,
        }))
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
        retrain_from_parent(ctx, c, self.round, |_| {
            (
                Masks::all_kept(&c.prunable),
                RoundOrigin::unpruned(self.round),
            )
        })
    }
}
