//! `eval[n]`: top-1, top-5 and loss of pool member n on the validation split.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::checkpoint::load_checkpoint;
use super::{ModelContext, eval_label, model_label};
use crate::graph::{Stage, StageContext};
use crate::metrics::EvalMetrics;
use crate::train::evaluate;

pub const EVAL_FILE: &str = "metrics.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalRecord {
    pub round: usize,
    pub metrics: EvalMetrics,
    pub images_per_second: f64,
    pub seconds: f64,
}

pub struct EvalStage {
    pub context: Arc<ModelContext>,
    pub round: usize,
    pub batch_size: usize,
}

impl Stage for EvalStage {
    fn kind(&self) -> &'static str {
        "eval"
    }
    fn label(&self) -> String {
        eval_label(self.round)
    }
    fn version(&self) -> u32 {
        1
    }
    fn params(&self) -> Value {
        json!({
            "val_data": self.context.val_data.fingerprint(),
            "batch_size": self.batch_size,
            "device": self.context.device.family(),
        })
    }
    fn inputs(&self) -> Vec<String> {
        vec![model_label(self.round)]
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let started = Instant::now();
        let device = self.context.device.device();
        let model = load_checkpoint(ctx.input(&model_label(self.round)), &device)?;
        let (metrics, images_per_second) = evaluate(
            &model.network,
            self.context.val_data.as_ref(),
            self.batch_size,
            &device,
            ctx.progress,
        )?;
        let record = EvalRecord {
            round: self.round,
            metrics,
            images_per_second,
            seconds: started.elapsed().as_secs_f64(),
        };
        std::fs::write(
            ctx.out_dir.join(EVAL_FILE),
            serde_json::to_vec_pretty(&record)?,
        )?;
        Ok(())
    }
}
