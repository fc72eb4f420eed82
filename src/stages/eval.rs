//! `eval[n]`: top-1, top-5 and loss of pool member n on the validation split.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use polars::prelude::{Column, DataFrame};

use crate::data::Dataset;
use crate::files::tables::write_parquet;
use crate::graph::{Stage, StageContext, StageLabel};
use crate::metrics::classification::{Prediction, TOP_K};
use crate::pool::{EVAL_FILE, EvalRecord, ModelContext, frozen_network, load_checkpoint};
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
    /// 2: per-image predictions (`predictions.parquet`). 3: pruned convolutions on sparse kernels
    /// (`pool::frozen_network`): logits move at float rounding. 4: batch norm fused on the CPU
    /// (`models::fused_batch_norm`) and sparse sums tiled (`models::sparse::tiling`). 5: dense convolutions
    /// on the CPU run `models::gemm_conv::forward`: logits move at float rounding.
    /// Plus `ModelContext::arch_revision`.
    fn version(&self) -> u32 {
        5 + self.context.arch_revision()
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
    fn missing_data(&self) -> Option<String> {
        self.context.val_data_missing()
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let started = Instant::now();
        let device = self.context.device.device();
        let model = load_checkpoint(ctx.input(&StageLabel::model(self.round)), &device)?;
        let data = self.context.val_data.get()?;
        let evaluation = evaluate(
            &frozen_network(model.network)?,
            data.as_ref(),
            self.batch_size,
            &device,
            ctx.progress,
        )?;
        write_parquet(
            &mut predictions_frame(self.round, data.as_ref(), &evaluation.predictions)?,
            &ctx.out_dir.join(PREDICTIONS_FILE),
        )?;
        ctx.progress.note(&format!(
            "round {}: top-1 {:.2}%, top-5 {:.2}%, loss {:.4} on {} images",
            self.round,
            100.0 * evaluation.metrics.top1,
            100.0 * evaluation.metrics.top5,
            evaluation.metrics.loss,
            evaluation.metrics.images
        ));
        let record = EvalRecord {
            round: self.round,
            metrics: evaluation.metrics,
            images_per_second: evaluation.images_per_second,
            seconds: started.elapsed().as_secs_f64(),
        };
        std::fs::write(
            ctx.out_dir.join(EVAL_FILE),
            serde_json::to_vec_pretty(&record)?,
        )?;
        Ok(())
    }
}

/// The eval entry's per-image table (`docs/tables.md`).
pub const PREDICTIONS_FILE: &str = "predictions.parquet";

/// One row per validation image: its id, label, top-1 class and correctness, loss, and the
/// top-5 classes with their softmax probabilities as `top<k>_class`/`top<k>_prob` columns.
fn predictions_frame(
    round: usize,
    data: &dyn Dataset,
    predictions: &[Prediction],
) -> anyhow::Result<DataFrame> {
    let n = predictions.len();
    let mut columns = vec![
        Column::new("round".into(), vec![round as u32; n]),
        Column::new(
            "image_id".into(),
            (0..n).map(|i| data.image_id(i)).collect::<Vec<_>>(),
        ),
        Column::new(
            "label".into(),
            predictions
                .iter()
                .map(|p| p.label as u32)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "predicted".into(),
            predictions
                .iter()
                .map(|p| p.top.first().map(|t| t.0 as u32))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "correct".into(),
            predictions.iter().map(|p| p.correct).collect::<Vec<_>>(),
        ),
        Column::new(
            "loss".into(),
            predictions.iter().map(|p| p.loss).collect::<Vec<_>>(),
        ),
    ];
    for k in 0..TOP_K {
        columns.push(Column::new(
            format!("top{}_class", k + 1).into(),
            predictions
                .iter()
                .map(|p| p.top.get(k).map(|t| t.0 as u32))
                .collect::<Vec<_>>(),
        ));
        columns.push(Column::new(
            format!("top{}_prob", k + 1).into(),
            predictions
                .iter()
                .map(|p| p.top.get(k).map(|t| t.1))
                .collect::<Vec<_>>(),
        ));
    }
    Ok(DataFrame::new(n, columns)?)
}
