//! `report`: gathers every pool member's round record and evaluation into Parquet tables, a
//! Markdown summary and a plot. The scheduler copies the entry to `reports/<experiment>/`.

use serde_json::{Value, json};

use super::checkpoint::{ROUND_FILE, RoundRecord, read_json};
use super::eval::{EVAL_FILE, EvalRecord};
use super::{eval_label, model_label};
use crate::graph::{Stage, StageContext};
use crate::report::figures::accuracy_figure;
use crate::report::pool::{layers_frame, pool_frame};
use crate::report::summary::summary_markdown;
use crate::report::tables::write_parquet;
use crate::report::{LayerRow, PoolRow};

pub struct ReportStage {
    pub experiment: String,
    pub rounds: usize,
    pub rate: f64,
}

impl Stage for ReportStage {
    fn kind(&self) -> &'static str {
        "report"
    }
    fn label(&self) -> String {
        "report".into()
    }
    fn version(&self) -> u32 {
        1
    }
    fn params(&self) -> Value {
        json!({ "experiment": self.experiment, "rounds": self.rounds, "rate": self.rate })
    }
    fn inputs(&self) -> Vec<String> {
        (0..=self.rounds)
            .flat_map(|round| [model_label(round), eval_label(round)])
            .collect()
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let mut pool = Vec::new();
        let mut layers = Vec::new();
        let mut prunable_tensors = 0;
        for round in 0..=self.rounds {
            let model_entry = ctx.input(&model_label(round));
            let record: RoundRecord = read_json(&model_entry.path(ROUND_FILE))?;
            let eval: EvalRecord = read_json(&ctx.input(&eval_label(round)).path(EVAL_FILE))?;
            prunable_tensors = record.measured.layers.len();
            pool.push(PoolRow {
                round,
                sparsity: record.measured.sparsity,
                expected_sparsity: record.expected_sparsity,
                top1: eval.metrics.top1,
                top5: eval.metrics.top5,
                loss: eval.metrics.loss,
                stage_key: model_entry.key.clone(),
                train_seconds: record.train_seconds,
                eval_seconds: eval.seconds,
            });
            layers.extend(record.measured.layers.iter().map(|layer| LayerRow {
                round,
                layer: layer.layer.clone(),
                parameters: layer.parameters as u64,
                sparsity: layer.sparsity,
            }));
        }
        write_parquet(&mut pool_frame(&pool)?, &ctx.out_dir.join("pool.parquet"))?;
        write_parquet(
            &mut layers_frame(&layers)?,
            &ctx.out_dir.join("layers.parquet"),
        )?;
        std::fs::write(
            ctx.out_dir.join("summary.md"),
            summary_markdown(&self.experiment, self.rate, &pool, prunable_tensors),
        )?;
        accuracy_figure(&self.experiment, &pool).save_png(&ctx.out_dir.join("accuracy.png"))?;
        Ok(())
    }
}
