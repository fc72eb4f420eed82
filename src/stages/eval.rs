//! `eval[n]`: top-1, top-5 and loss of pool member n on the validation split.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use crate::graph::{Stage, StageContext, StageLabel};
use crate::pool::{EVAL_FILE, EvalRecord, ModelContext, load_checkpoint};
use crate::train::evaluate;

pub struct EvalStage {
    pub context: Arc<ModelContext>,
    pub round: usize,
    pub batch_size: usize,
}

impl Stage for EvalStage {
    fn kind(&self) -> &'static str {
        "eval"
    }
    fn label(&self) -> StageLabel {
        StageLabel::eval(self.round)
    }
    fn version(&self) -> u32 {
        1
    }
    /// The batch size is left out: every image's logits are computed independently (batch norm
    /// is in inference mode), so it changes speed, not the metrics.
    fn params(&self) -> Value {
        json!({
            "val_data": self.context.val_data.fingerprint(),
            "device": self.context.device.family(),
        })
    }
    fn inputs(&self) -> Vec<StageLabel> {
        vec![StageLabel::model(self.round)]
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let started = Instant::now();
        let device = self.context.device.device();
        let model = load_checkpoint(ctx.input(&StageLabel::model(self.round)), &device)?;
        let (metrics, images_per_second) = evaluate(
            &model.network,
            self.context.val_data.as_ref(),
            self.batch_size,
            &device,
            ctx.progress,
        )?;
        ctx.progress.note(&format!(
            "round {}: top-1 {:.2}%, top-5 {:.2}%, loss {:.4} on {} images",
            self.round,
            100.0 * metrics.top1,
            100.0 * metrics.top5,
            metrics.loss,
            metrics.images
        ));
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
