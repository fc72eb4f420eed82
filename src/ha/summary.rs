//! From the per-model records to the report's rows: accuracy per condition and per dataset,
//! shape bias, each with bootstrap intervals over images, and each pruned model's difference to
//! the dense one (paired: same images, same resamples).

use polars::prelude::*;

use super::datasets::HaDataset;
use super::shape_bias::{CueConflictDecision, ShapeBias};
use super::stage::{ConditionResult, HaRecord};
use crate::metrics::bootstrap::stratified::{
    accuracy, accuracy_ci, bootstrap_ci, paired_difference_ci,
};

/// Confidence level of every interval in the report.
pub const LEVEL: f64 = 0.95;

/// One pooled model's records, with its measured sparsity.
pub struct ModelRecords {
    pub round: usize,
    pub sparsity: f64,
    /// In the order of the spec's datasets.
    pub records: Vec<HaRecord>,
}

/// Accuracy on one condition of one dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionRow {
    pub round: usize,
    pub sparsity: f64,
    pub dataset: HaDataset,
    pub condition: String,
    pub top1: f64,
    pub top1_low: f64,
    pub top1_high: f64,
    /// Sketch and stylized only, as in the benchmark.
    pub top5: Option<f64>,
    pub images: usize,
}

/// Accuracy on a whole dataset (mean over its conditions) and its difference to the dense model.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetRow {
    pub round: usize,
    pub sparsity: f64,
    pub dataset: HaDataset,
    pub top1: f64,
    pub top1_low: f64,
    pub top1_high: f64,
    pub top5: Option<f64>,
    /// `top1 - dense top1` and its paired interval (zero for the dense model).
    pub gain: f64,
    pub gain_low: f64,
    pub gain_high: f64,
    pub images: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ShapeBiasRow {
    pub round: usize,
    pub sparsity: f64,
    pub shape_bias: Option<f64>,
    pub low: f64,
    pub high: f64,
    pub gain: f64,
    pub gain_low: f64,
    pub gain_high: f64,
    pub tally: ShapeBias,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct HaTables {
    pub conditions: Vec<ConditionRow>,
    pub datasets: Vec<DatasetRow>,
    pub shape_bias: Vec<ShapeBiasRow>,
}

fn hits(conditions: &[ConditionResult], top5: bool) -> Vec<Vec<bool>> {
    conditions
        .iter()
        .map(|c| if top5 { c.top5_hits() } else { c.top1_hits() })
        .collect()
}

/// Resampled shape bias; `None` when no resampled image was decided by either cue.
fn resampled_bias(decisions: &[CueConflictDecision], indices: &[usize]) -> Option<f64> {
    let sample: Vec<CueConflictDecision> = indices.iter().map(|&i| decisions[i]).collect();
    ShapeBias::of(&sample).value()
}

/// Builds every table; `models` must hold the dense model (round 0) first when differences
/// are wanted, and all models the same datasets in the same order.
pub fn tables(models: &[ModelRecords], samples: usize, seed: u64) -> HaTables {
    let mut out = HaTables::default();
    let dense = models.iter().find(|m| m.round == 0);
    for model in models {
        for (d, record) in model.records.iter().enumerate() {
            let dataset = record.dataset;
            let stream = seed ^ ((dataset as u64) << 32);
            for (c, condition) in record.conditions.iter().enumerate() {
                let top1 = condition.top1_hits();
                let (low, high) = accuracy_ci(
                    std::slice::from_ref(&top1),
                    samples,
                    LEVEL,
                    stream + c as u64,
                );
                out.conditions.push(ConditionRow {
                    round: model.round,
                    sparsity: model.sparsity,
                    dataset,
                    condition: condition.condition.clone(),
                    top1: ConditionResult::rate(&top1),
                    top1_low: low,
                    top1_high: high,
                    top5: dataset
                        .reports_top5()
                        .then(|| ConditionResult::rate(&condition.top5_hits())),
                    images: condition.images(),
                });
            }
            let top1 = hits(&record.conditions, false);
            let (low, high) = accuracy_ci(&top1, samples, LEVEL, stream);
            let (gain_low, gain_high) = match dense.map(|m| &m.records[d]) {
                Some(base) if model.round != 0 => paired_difference_ci(
                    &hits(&base.conditions, false),
                    &top1,
                    samples,
                    LEVEL,
                    stream,
                ),
                _ => (0.0, 0.0),
            };
            let dense_top1 = dense.map_or(f64::NAN, |m| {
                accuracy(&hits(&m.records[d].conditions, false))
            });
            out.datasets.push(DatasetRow {
                round: model.round,
                sparsity: model.sparsity,
                dataset,
                top1: accuracy(&top1),
                top1_low: low,
                top1_high: high,
                top5: dataset
                    .reports_top5()
                    .then(|| accuracy(&hits(&record.conditions, true))),
                gain: accuracy(&top1) - dense_top1,
                gain_low,
                gain_high,
                images: record.conditions.iter().map(ConditionResult::images).sum(),
            });
            if let Some(tally) = record.shape_bias {
                let decisions: Vec<CueConflictDecision> = record
                    .conditions
                    .iter()
                    .filter_map(ConditionResult::cue_conflict)
                    .flatten()
                    .filter(|d| d.shape != d.texture)
                    .collect();
                let n = decisions.len();
                let (low, high) = bootstrap_ci(&[n], samples, LEVEL, stream, |idx| {
                    resampled_bias(&decisions, &idx[0])
                })
                .unwrap_or((f64::NAN, f64::NAN));
                let dense_decisions: Option<Vec<CueConflictDecision>> = dense.map(|m| {
                    m.records[d]
                        .conditions
                        .iter()
                        .filter_map(ConditionResult::cue_conflict)
                        .flatten()
                        .filter(|d| d.shape != d.texture)
                        .collect()
                });
                let dense_value = dense.and_then(|m| m.records[d].shape_bias?.value());
                let (gain_low, gain_high) = match &dense_decisions {
                    Some(base) if model.round != 0 && base.len() == n => {
                        bootstrap_ci(&[n], samples, LEVEL, stream, |idx| {
                            Some(
                                resampled_bias(&decisions, &idx[0])?
                                    - resampled_bias(base, &idx[0])?,
                            )
                        })
                        .unwrap_or((f64::NAN, f64::NAN))
                    }
                    _ => (0.0, 0.0),
                };
                out.shape_bias.push(ShapeBiasRow {
                    round: model.round,
                    sparsity: model.sparsity,
                    shape_bias: tally.value(),
                    low,
                    high,
                    gain: match (tally.value(), dense_value) {
                        (Some(v), Some(base)) => v - base,
                        _ => f64::NAN,
                    },
                    gain_low,
                    gain_high,
                    tally,
                });
            }
        }
    }
    out
}

pub fn conditions_frame(rows: &[ConditionRow]) -> PolarsResult<DataFrame> {
    df!(
        "round" => rows.iter().map(|r| r.round as u32).collect::<Vec<_>>(),
        "sparsity" => rows.iter().map(|r| r.sparsity).collect::<Vec<_>>(),
        "dataset" => rows.iter().map(|r| r.dataset.name()).collect::<Vec<_>>(),
        "condition" => rows.iter().map(|r| r.condition.clone()).collect::<Vec<_>>(),
        "top1" => rows.iter().map(|r| r.top1).collect::<Vec<_>>(),
        "top5" => rows.iter().map(|r| r.top5).collect::<Vec<_>>(),
        "images" => rows.iter().map(|r| r.images as u32).collect::<Vec<_>>(),
        "top1_low" => rows.iter().map(|r| r.top1_low).collect::<Vec<_>>(),
        "top1_high" => rows.iter().map(|r| r.top1_high).collect::<Vec<_>>(),
    )
}

pub fn datasets_frame(rows: &[DatasetRow]) -> PolarsResult<DataFrame> {
    df!(
        "round" => rows.iter().map(|r| r.round as u32).collect::<Vec<_>>(),
        "sparsity" => rows.iter().map(|r| r.sparsity).collect::<Vec<_>>(),
        "dataset" => rows.iter().map(|r| r.dataset.name()).collect::<Vec<_>>(),
        "top1" => rows.iter().map(|r| r.top1).collect::<Vec<_>>(),
        "top1_low" => rows.iter().map(|r| r.top1_low).collect::<Vec<_>>(),
        "top1_high" => rows.iter().map(|r| r.top1_high).collect::<Vec<_>>(),
        "top5" => rows.iter().map(|r| r.top5).collect::<Vec<_>>(),
        "gain" => rows.iter().map(|r| r.gain).collect::<Vec<_>>(),
        "gain_low" => rows.iter().map(|r| r.gain_low).collect::<Vec<_>>(),
        "gain_high" => rows.iter().map(|r| r.gain_high).collect::<Vec<_>>(),
        "images" => rows.iter().map(|r| r.images as u32).collect::<Vec<_>>(),
    )
}

pub fn shape_bias_frame(rows: &[ShapeBiasRow]) -> PolarsResult<DataFrame> {
    df!(
        "round" => rows.iter().map(|r| r.round as u32).collect::<Vec<_>>(),
        "sparsity" => rows.iter().map(|r| r.sparsity).collect::<Vec<_>>(),
        "shape_bias" => rows.iter().map(|r| r.shape_bias).collect::<Vec<_>>(),
        "shape_bias_low" => rows.iter().map(|r| r.low).collect::<Vec<_>>(),
        "shape_bias_high" => rows.iter().map(|r| r.high).collect::<Vec<_>>(),
        "gain" => rows.iter().map(|r| r.gain).collect::<Vec<_>>(),
        "gain_low" => rows.iter().map(|r| r.gain_low).collect::<Vec<_>>(),
        "gain_high" => rows.iter().map(|r| r.gain_high).collect::<Vec<_>>(),
        "shape_hits" => rows.iter().map(|r| r.tally.shape_hits as u32).collect::<Vec<_>>(),
        "texture_hits" => rows.iter().map(|r| r.tally.texture_hits as u32).collect::<Vec<_>>(),
        "considered" => rows.iter().map(|r| r.tally.considered as u32).collect::<Vec<_>>(),
        "excluded" => rows.iter().map(|r| r.tally.excluded as u32).collect::<Vec<_>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ha::evaluate::{ClassSpace, Decision};

    fn record(round: usize, dataset: HaDataset, ranks: &[&[usize]]) -> HaRecord {
        HaRecord {
            round,
            dataset,
            source: "embedded".into(),
            classes: ClassSpace::Native,
            conditions: ranks
                .iter()
                .enumerate()
                .map(|(c, r)| ConditionResult {
                    condition: dataset.conditions()[c].to_string(),
                    labels: vec![0; r.len()],
                    decisions: r
                        .iter()
                        .map(|&rank| Decision {
                            predicted: if rank == 0 { 0 } else { 1 },
                            label_rank: rank,
                        })
                        .collect(),
                    textures: None,
                })
                .collect(),
            shape_bias: None,
            seconds: 0.0,
            images_per_second: 0.0,
        }
    }

    #[test]
    fn dataset_accuracy_is_the_mean_over_conditions_with_paired_gains() {
        let dense = ModelRecords {
            round: 0,
            sparsity: 0.0,
            records: vec![record(
                0,
                HaDataset::Colour,
                &[&[0, 0, 1, 0], &[1, 1, 0, 7]],
            )],
        };
        let pruned = ModelRecords {
            round: 1,
            sparsity: 0.2,
            records: vec![record(
                1,
                HaDataset::Colour,
                &[&[0, 0, 0, 0], &[1, 0, 0, 7]],
            )],
        };
        let tables = tables(&[dense, pruned], 200, 1);
        assert_eq!(tables.conditions.len(), 4);
        assert_eq!(tables.conditions[0].top1, 0.75);
        assert_eq!(tables.conditions[1].condition, "bw");
        assert_eq!(tables.conditions[1].top1, 0.25);
        assert_eq!(tables.conditions[0].top5, None);
        let (d0, d1) = (&tables.datasets[0], &tables.datasets[1]);
        assert_eq!(d0.top1, 0.5);
        assert_eq!(d1.top1, 0.75);
        assert_eq!((d0.gain, d0.gain_low, d0.gain_high), (0.0, 0.0, 0.0));
        assert_eq!(d1.gain, 0.25);
        // The pruned model is never worse on any image, so no resample shows a loss.
        assert!(d1.gain_low >= 0.0 && d1.gain_high > 0.0);
        assert_eq!(d1.images, 8);
        let frame = datasets_frame(&tables.datasets).unwrap();
        assert_eq!(frame.height(), 2);
        assert_eq!(conditions_frame(&tables.conditions).unwrap().width(), 9);
    }
}
