//! `train`: the dense model, round 0 of the pool.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use super::round::{RoundOrigin, train_and_save};
use crate::graph::{Stage, StageContext, StageLabel};
use crate::pool::ModelContext;
use crate::prune::Masks;

pub struct TrainStage {
    pub context: Arc<ModelContext>,
}

impl Stage for TrainStage {
    fn kind(&self) -> &'static str {
        "train"
    }
    fn label(&self) -> StageLabel {
        StageLabel::model(0)
    }
    /// 2: every initial weight is drawn when the network is built (in module order), not when
    /// the first forward pass first reads it. 3: convolution weight gradients on the CPU come
    /// from `models::gemm_conv` (equal up to float rounding). 4: batch norm on the CPU is
    /// `models::fused_batch_norm` (equal up to float rounding). 5: the dense convolutions' forward
    /// pass on the CPU is `models::gemm_conv::forward` (equal up to float rounding). Plus
    /// [`ModelContext::arch_revision`].
    fn version(&self) -> u32 {
        5 + self.context.arch_revision()
    }
    fn params(&self) -> Value {
        self.context
            .training_key(json!({ "network": self.context.network }))
    }
    fn inputs(&self) -> Vec<StageLabel> {
        Vec::new()
    }
    fn exclusive_compute(&self) -> bool {
        true
    }
    fn missing_data(&self) -> Option<String> {
        self.context.train_data_missing()
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let c = &self.context;
        let started = Instant::now();
        let device = c.device.autodiff_device();
        let network = c.network.init(&device, c.seed);
        let masks = Masks::all_kept(&c.prunable);
        train_and_save(
            ctx,
            c,
            network,
            &masks,
            &device,
            RoundOrigin::unpruned(0),
            started,
        )
    }
}
