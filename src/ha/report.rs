//! `report[ha]`: every pool member's human-alignment records as Parquet tables, the figures and
//! a Markdown summary; the scheduler copies them to `reports/<experiment>/`.

use polars::prelude::DataFrame;
use serde_json::{Value, json};

use super::datasets::HaDataset;
use super::figures::{accuracy_grid, shape_bias_figure};
use super::human_tables::{
    HumanRow, dataset_rows, human_datasets_frame, human_frame, human_reference, human_rows,
    model_correct,
};
use super::images::IMAGES_FILE;
use super::markdown::summary_markdown;
use super::plan::HumanSource;
use super::stage::{HA_FILE, HaRecord, ha_label};
use super::summary::{ModelRecords, conditions_frame, datasets_frame, shape_bias_frame, tables};
use crate::files::tables::{read_parquet, write_parquet};
use crate::graph::{Stage, StageContext, StageLabel};
use crate::pool::read_round_records;

pub struct HaReportStage {
    pub experiment: String,
    pub rounds: usize,
    pub datasets: Vec<HaDataset>,
    /// Where the images come from, in words, for the summary.
    pub source: String,
    pub bootstrap_samples: usize,
    pub seed: u64,
    /// The human observers' trials, when `ha.human_path` is given.
    pub humans: Option<HumanSource>,
}

impl Stage for HaReportStage {
    fn kind(&self) -> &'static str {
        "report"
    }
    fn label(&self) -> StageLabel {
        StageLabel::report(Some("ha"))
    }
    fn version(&self) -> u32 {
        // 2: every round whose gain interval excludes zero instead of a "best pruned" maximum.
        // 3: `ha_images.parquet`, every image's decision and probabilities.
        // 4: experiment/arch/seed key columns.
        // 5: no sweet-spot marks of its own (the verdict's rule); every round's gain listed.
        5
    }
    fn params(&self) -> Value {
        let mut params = json!({
            "experiment": self.experiment,
            "rounds": self.rounds,
            "datasets": self.datasets,
            "source": self.source,
            "bootstrap_samples": self.bootstrap_samples,
            "seed": self.seed,
        });
        // Only when given, so that reports without human data keep their keys.
        if let Some(humans) = &self.humans {
            params["humans"] = match humans {
                HumanSource::Ready(trials) => trials.fingerprint().into(),
                HumanSource::Missing(problem) => format!("missing:{}", problem.root.key).into(),
            };
        }
        params
    }
    fn missing_data(&self) -> Option<String> {
        match &self.humans {
            Some(HumanSource::Missing(problem)) => Some(problem.to_string()),
            _ => None,
        }
    }
    fn inputs(&self) -> Vec<StageLabel> {
        let mut inputs = Vec::new();
        for round in 0..=self.rounds {
            inputs.push(StageLabel::model(round));
            inputs.extend(self.datasets.iter().map(|&d| ha_label(round, d)));
        }
        inputs
    }
    fn publishes_report(&self) -> bool {
        true
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let mut models = Vec::new();
        for (round, record) in read_round_records(ctx, self.rounds)?
            .into_iter()
            .enumerate()
        {
            let records = self
                .datasets
                .iter()
                .map(|&d| {
                    ctx.input(&ha_label(round, d))
                        .read_json::<HaRecord>(HA_FILE)
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            models.push(ModelRecords {
                round,
                sparsity: record.measured.sparsity,
                records,
            });
        }
        let tables = tables(&models, self.bootstrap_samples, self.seed);
        let out = ctx.out_dir;
        let mut images: Option<DataFrame> = None;
        let trials = match &self.humans {
            Some(HumanSource::Ready(trials)) => Some(trials),
            Some(HumanSource::Missing(problem)) => return Err((**problem).clone().into()),
            None => None,
        };
        let mut humans: Vec<HumanRow> = Vec::new();
        for model in &models {
            for &dataset in &self.datasets {
                let entry = ctx.input(&ha_label(model.round, dataset));
                let frame = read_parquet(&entry.path(IMAGES_FILE))?;
                if let Some(observed) = trials.and_then(|t| t.trials.get(&dataset)) {
                    let correct = model_correct(dataset, &frame)?;
                    humans.extend(human_rows(
                        model.round,
                        model.sparsity,
                        dataset,
                        observed,
                        &correct,
                    ));
                }
                match images.as_mut() {
                    Some(all) => {
                        all.vstack_mut(&frame)?;
                    }
                    None => images = Some(frame),
                }
            }
        }
        if let Some(mut images) = images {
            write_parquet(&mut images, &out.join("ha_images.parquet"))?;
        }
        write_parquet(
            &mut conditions_frame(&tables.conditions)?,
            &out.join("ha.parquet"),
        )?;
        write_parquet(
            &mut datasets_frame(&tables.datasets)?,
            &out.join("ha_datasets.parquet"),
        )?;
        let human_datasets = dataset_rows(&humans);
        if trials.is_some() {
            write_parquet(&mut human_frame(&humans)?, &out.join("ha_human.parquet"))?;
            write_parquet(
                &mut human_datasets_frame(&human_datasets)?,
                &out.join("ha_human_datasets.parquet"),
            )?;
        }
        accuracy_grid(
            &self.experiment,
            &self.datasets,
            &tables.datasets,
            &human_reference(&humans),
        )
        .save(&out.join("ha.png"))?;
        if !tables.shape_bias.is_empty() {
            write_parquet(
                &mut shape_bias_frame(&tables.shape_bias)?,
                &out.join("ha_shape_bias.parquet"),
            )?;
            shape_bias_figure(&self.experiment, &tables.shape_bias)
                .save(&out.join("ha_shape_bias.png"))?;
        }
        std::fs::write(
            out.join("ha.md"),
            summary_markdown(
                &self.experiment,
                &self.source,
                &self.datasets,
                &tables.datasets,
                &tables.shape_bias,
                trials.map(|t| (t.absent.as_slice(), human_datasets.as_slice())),
            ),
        )?;
        Ok(())
    }
}
