//! `report[attribution]`: gathers every score into `attribution.parquet`, summarises it
//! (`attribution_summary.parquet`, `attribution.md`) and draws `attribution.png` (the study's
//! Figure 3) and `attribution_grid.png` (its Figure 2). The scheduler publishes the files next
//! to the core report.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use polars::prelude::*;
use serde_json::{Value, json};

use super::{AttributionJob, INDEX_FILE, MAPS_FILE, SCORES_FILE, attribute_label, score_label};
use crate::attribution::report::correlation::{correlation_markdown, correlations};
use crate::attribution::report::figures::metrics_figure;
use crate::attribution::report::grid::{GridRow, QualitativeGrid};
use crate::attribution::report::summary::{
    SummaryContext, metric_rows, summary_frame, summary_markdown,
};
use crate::attribution::report::{AttributionResults, ImageScore, MethodRound, RoundInfo};
use crate::files::npy::read_npy;
use crate::files::tables::{read_parquet, write_parquet};
use crate::graph::{Stage, StageContext, StageLabel};
use crate::metrics::Bootstrap;
use crate::pool::{pool_inputs, read_pool_members};
use crate::spec::attribution::Compat;

/// Images per row of the qualitative grid, and most rows it shows.
const GRID_IMAGES: usize = 3;
const GRID_ROWS: usize = 8;

pub struct AttributionReportStage {
    pub experiment: String,
    pub seed: u64,
    pub rounds: usize,
    pub jobs: Vec<Arc<AttributionJob>>,
    pub class_names: Vec<String>,
}

impl Stage for AttributionReportStage {
    fn kind(&self) -> &'static str {
        "report"
    }
    fn label(&self) -> StageLabel {
        StageLabel::report(Some("attribution"))
    }
    fn version(&self) -> u32 {
        // 2: the RQ1 correlation section. 3: experiment/arch/seed key columns.
        // 4: no sweet-spot section or columns of its own (the verdict's rule decides).
        4
    }
    fn params(&self) -> Value {
        let jobs: Vec<Value> = self
            .jobs
            .iter()
            .map(|j| json!({ "name": j.name, "pooling": j.pooling, "images": j.images.key_params() }))
            .collect();
        json!({
            "experiment": self.experiment,
            "seed": self.seed,
            "rounds": self.rounds,
            "jobs": jobs,
            "class_names": self.class_names,
            "bootstrap": Bootstrap::default(),
        })
    }
    fn inputs(&self) -> Vec<StageLabel> {
        let mut inputs = pool_inputs(self.rounds);
        for round in 0..=self.rounds {
            for job in &self.jobs {
                inputs.push(attribute_label(round, &job.name));
                inputs.push(score_label(round, &job.name));
            }
        }
        inputs
    }
    fn publishes_report(&self) -> bool {
        true
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let results = self.gather(ctx)?;
        let bootstrap = Bootstrap {
            seed: self.seed,
            ..Bootstrap::default()
        };
        let rows = metric_rows(&results, &bootstrap);
        write_parquet(
            &mut results.frame()?,
            &ctx.out_dir.join("attribution.parquet"),
        )?;
        write_parquet(
            &mut summary_frame(&rows)?,
            &ctx.out_dir.join("attribution_summary.parquet"),
        )?;
        let context = SummaryContext {
            experiment: &self.experiment,
            method_lines: self.jobs.iter().map(|j| describe(j)).collect(),
            bootstrap: &bootstrap,
            completeness: completeness(&results),
        };
        std::fs::write(
            ctx.out_dir.join("attribution.md"),
            summary_markdown(&rows, &context)
                + &correlation_markdown(&correlations(&rows, &bootstrap), bootstrap.confidence),
        )?;
        metrics_figure(&self.experiment, &results, &rows)
            .save(&ctx.out_dir.join("attribution.png"))?;
        let grid = self.grid(ctx, &results)?;
        let cell = if grid.images.first().is_some_and(|i| i.width() >= 128) {
            160
        } else {
            96
        };
        grid.render(cell)
            .save(&ctx.out_dir.join("attribution_grid.png"))
            .context("writing attribution_grid.png")?;
        Ok(())
    }
}

impl AttributionReportStage {
    fn gather(&self, ctx: &StageContext<'_>) -> anyhow::Result<AttributionResults> {
        let mut rounds = Vec::new();
        let mut cells = Vec::new();
        for (round, member) in read_pool_members(ctx, self.rounds)?.into_iter().enumerate() {
            let (record, eval) = (member.record, member.eval);
            rounds.push(RoundInfo {
                round,
                sparsity: record.measured.sparsity,
                top1: eval.metrics.top1,
            });
            for job in &self.jobs {
                let index = ctx
                    .input(&attribute_label(round, &job.name))
                    .path(INDEX_FILE);
                let scores = ctx.input(&score_label(round, &job.name)).path(SCORES_FILE);
                cells.push(MethodRound {
                    method: job.name.clone(),
                    round,
                    scores: read_scores(&index, &scores)?,
                });
            }
        }
        Ok(AttributionResults {
            rounds,
            methods: self.jobs.iter().map(|j| j.name.clone()).collect(),
            cells,
        })
    }

    /// The grid over the first job's images, with every job that explains the same images.
    fn grid(
        &self,
        ctx: &StageContext<'_>,
        results: &AttributionResults,
    ) -> anyhow::Result<QualitativeGrid> {
        let first = &self.jobs[0];
        let same_images = first.images.key_params();
        let jobs: Vec<&Arc<AttributionJob>> = self
            .jobs
            .iter()
            .filter(|j| j.images.key_params() == same_images)
            .collect();
        let shown: Vec<usize> = (0..GRID_IMAGES.min(first.images.len())).collect();
        let items = first.images.items(&shown)?;
        let plane = items[0].image.width * items[0].image.height;
        let mut rows = Vec::new();
        for round in shown_rounds(self.rounds) {
            let info = results
                .round(round)
                .context("round missing from the results")?;
            let cell = results.cell(&first.name, round).context("scores missing")?;
            let predicted = shown
                .iter()
                .map(|&p| {
                    let score = &cell.scores[p];
                    (self.class_name(score.predicted as usize), score.correct)
                })
                .collect();
            let mut maps = Vec::new();
            for job in &jobs {
                let path = ctx
                    .input(&attribute_label(round, &job.name))
                    .path(MAPS_FILE);
                let all = read_npy::<f32>(&path)?;
                let channels = all.values.len() / (all.shape[0] * plane);
                maps.push(
                    shown
                        .iter()
                        .map(|&p| {
                            let map = &all.values[p * channels * plane..(p + 1) * channels * plane];
                            job.pooling.pool(map, channels)
                        })
                        .collect(),
                );
            }
            rows.push(GridRow {
                label: format!("{:.1}% (round {round})", 100.0 * info.sparsity),
                predicted,
                maps,
            });
        }
        Ok(QualitativeGrid {
            images: items.iter().map(|i| i.image.to_rgb8()).collect(),
            titles: items
                .iter()
                .map(|i| i.label.map_or_else(|| i.id.clone(), |l| self.class_name(l)))
                .collect(),
            methods: jobs.iter().map(|j| j.name.clone()).collect(),
            rows,
            masks: items
                .iter()
                .map(|i| {
                    let mask = i.object_pixels();
                    (mask.len() == plane).then_some(mask)
                })
                .collect(),
        })
    }
}

impl AttributionReportStage {
    fn class_name(&self, class: usize) -> String {
        self.class_names
            .get(class)
            .cloned()
            .unwrap_or_else(|| class.to_string())
    }
}

/// At most [`GRID_ROWS`] rounds, evenly spread, always the dense and the sparsest model.
fn shown_rounds(rounds: usize) -> Vec<usize> {
    if rounds < GRID_ROWS {
        return (0..=rounds).collect();
    }
    let mut shown: Vec<usize> = (0..GRID_ROWS)
        .map(|i| (i * rounds + (GRID_ROWS - 1) / 2) / (GRID_ROWS - 1))
        .collect();
    shown.dedup();
    shown
}

fn describe(job: &AttributionJob) -> String {
    let compat = match job.compat {
        Compat::None => String::new(),
        Compat::Study => "; **compat = study** (red-channel VOC masks with void as object, min-max normalised maps, first masks sorted by name): comparable with the published figures, not with pvr's defaults".into(),
    };
    format!(
        "`{}`: {}; pooling `{}`; target `{}`; mask `{}`; {}{compat}",
        job.name,
        job.method.key_params(),
        job.pooling,
        spelled(&job.target),
        spelled(&job.mask),
        job.images.describe()
    )
}

/// A unit enum as the spec spells it (its serde name).
fn spelled<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Median IG completeness gap per method over every model and image.
fn completeness(results: &AttributionResults) -> Vec<(String, f64, usize)> {
    results
        .methods
        .iter()
        .filter_map(|method| {
            let mut gaps: Vec<f64> = results
                .cells
                .iter()
                .filter(|c| &c.method == method)
                .flat_map(|c| c.scores.iter().filter_map(|s| s.completeness_gap))
                .filter(|g| g.is_finite())
                .collect();
            if gaps.is_empty() {
                return None;
            }
            gaps.sort_by(f64::total_cmp);
            Some((method.clone(), gaps[gaps.len() / 2], gaps.len()))
        })
        .collect()
}

/// One method's per-image records of one model, from its index and scores tables.
fn read_scores(index_path: &Path, scores_path: &Path) -> anyhow::Result<Vec<ImageScore>> {
    let index = read_parquet(index_path)?;
    let scores = read_parquet(scores_path)?;
    let context = |name: &str| format!("column `{name}` of {}", index_path.display());
    let u32s = |frame: &DataFrame, name: &str| -> anyhow::Result<Vec<Option<u32>>> {
        Ok(
            anyhow::Context::with_context(frame.column(name), || context(name))?
                .u32()?
                .iter()
                .collect(),
        )
    };
    let f64s = |frame: &DataFrame, name: &str| -> anyhow::Result<Vec<Option<f64>>> {
        Ok(
            anyhow::Context::with_context(frame.column(name), || context(name))?
                .f64()?
                .iter()
                .collect(),
        )
    };
    let images: Vec<String> = index
        .column("image")?
        .str()?
        .iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect();
    let labels = u32s(&index, "label")?;
    let targets = u32s(&index, "target")?;
    let predicted = u32s(&index, "predicted")?;
    let correct: Vec<Option<bool>> = index.column("correct")?.bool()?.iter().collect();
    let f_input = f64s(&index, "f_input")?;
    let f_baseline = f64s(&index, "f_baseline")?;
    let delta = f64s(&index, "completeness_delta")?;
    let rma = f64s(&scores, "rma")?;
    let rra = f64s(&scores, "rra")?;
    let undefined: Vec<Option<String>> = scores
        .column("undefined")?
        .str()?
        .iter()
        .map(|s| s.map(str::to_string))
        .collect();
    anyhow::ensure!(
        rma.len() == images.len(),
        "{} has {} rows but {} has {}",
        index_path.display(),
        images.len(),
        scores_path.display(),
        rma.len()
    );
    Ok((0..images.len())
        .map(|i| ImageScore {
            position: i,
            image: images[i].clone(),
            label: labels[i],
            target: targets[i].unwrap_or(0),
            predicted: predicted[i].unwrap_or(0),
            correct: correct[i],
            rma: rma[i].unwrap_or(f64::NAN),
            rra: rra[i].unwrap_or(f64::NAN),
            undefined: undefined[i].clone(),
            completeness_gap: match (f_input[i], f_baseline[i], delta[i]) {
                (Some(x), Some(b), Some(d)) => Some(d.abs() / (x - b).abs()),
                _ => None,
            },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_rounds_keep_the_ends_and_stay_few() {
        assert_eq!(shown_rounds(5), vec![0, 1, 2, 3, 4, 5]);
        let many = shown_rounds(27);
        assert_eq!(many.len(), GRID_ROWS);
        assert_eq!((many[0], *many.last().unwrap()), (0, 27));
        assert!(many.windows(2).all(|w| w[0] < w[1]));
    }
}
