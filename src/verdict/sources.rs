//! Where each metric's per-image values are: the stages of a round that hold them, a file and a
//! column. Found from the labels of a planned pool, so every analysis the spec asks for has its
//! metrics in the verdict without the analyses knowing about it.

use anyhow::Context;
use polars::prelude::{DataFrame, DataType};
use serde::Serialize;

use crate::attribution::stages::SCORES_FILE;
use crate::files::tables::read_parquet;
use crate::graph::{StageContext, StageLabel};
use crate::ha::images::IMAGES_FILE as HA_IMAGES_FILE;
use crate::lost::stage::LOST_ROWS_FILE;
use crate::stages::PREDICTIONS_FILE;

/// One metric's per-image values: `column` of `file` in each stage `kind[round,name]` of a round,
/// concatenated in `stages` order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSource {
    /// The analysis it belongs to: `pool`, `lost`, `attribution`, `ha`.
    pub analysis: String,
    /// Lower case: `top1`, `corloc`, `rma_gradcam`, `ha_accuracy`.
    pub metric: String,
    /// `(kind, name)` of the stages holding it in each round.
    pub stages: Vec<(String, Option<String>)>,
    pub file: String,
    pub column: String,
}

impl MetricSource {
    /// The labels of its stages in `round` (within one seed's pool).
    pub fn labels(&self, round: usize) -> Vec<StageLabel> {
        self.stages
            .iter()
            .map(|(kind, name)| match name {
                Some(name) => StageLabel::round_named(kind, round, name),
                None => StageLabel::round(kind, round),
            })
            .collect()
    }

    /// Its labels in `round` of the pool of `seed` (`None` for a single-seed plan), in the
    /// matched-compute control pool when `control` (round 0 is shared).
    pub fn pool_labels(&self, round: usize, seed: Option<u64>, control: bool) -> Vec<StageLabel> {
        self.labels(round)
            .into_iter()
            .map(|label| {
                if control && round > 0 {
                    label.in_control()
                } else {
                    label
                }
            })
            .map(|label| match seed {
                Some(seed) => label.with_seed(seed),
                None => label,
            })
            .collect()
    }

    /// Its values in `round` from a stage's inputs, labelled as [`MetricSource::pool_labels`]:
    /// booleans as 0/1, missing values as NaN.
    pub fn read(
        &self,
        ctx: &StageContext<'_>,
        round: usize,
        seed: Option<u64>,
        control: bool,
    ) -> anyhow::Result<Vec<f64>> {
        let mut values = Vec::new();
        for label in self.pool_labels(round, seed, control) {
            let frame = read_parquet(&ctx.input(&label).path(&self.file))?;
            values.extend(
                column_values(&frame, &self.column)
                    .with_context(|| format!("{} of `{label}`", self.file))?,
            );
        }
        Ok(values)
    }
}

/// A numeric or boolean column as f64, nulls as NaN.
pub fn column_values(frame: &DataFrame, column: &str) -> anyhow::Result<Vec<f64>> {
    let cast = frame
        .column(column)
        .with_context(|| format!("column `{column}`"))?
        .cast(&DataType::Float64)?;
    Ok(cast.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// Every metric the plan's round-1 stages (`labels`, without seeds) hold; top-1 first.
pub fn metric_sources(labels: &[StageLabel]) -> Vec<MetricSource> {
    let source = |analysis: &str, metric: String, stages, file: &str, column: &str| MetricSource {
        analysis: analysis.into(),
        metric,
        stages,
        file: file.into(),
        column: column.into(),
    };
    let round_one: Vec<&StageLabel> = labels.iter().filter(|l| l.round == Some(1)).collect();
    let mut sources = vec![source(
        "pool",
        "top1".into(),
        vec![("eval".into(), None)],
        PREDICTIONS_FILE,
        "correct",
    )];
    if round_one
        .iter()
        .any(|l| l.kind == "lost" && l.name.is_none())
    {
        sources.push(source(
            "lost",
            "corloc".into(),
            vec![("lost".into(), None)],
            LOST_ROWS_FILE,
            "correct",
        ));
    }
    for label in round_one.iter().filter(|l| l.kind == "score") {
        let name = label.name.clone().unwrap_or_default();
        for column in ["rma", "rra"] {
            sources.push(source(
                "attribution",
                format!("{column}_{name}"),
                vec![("score".into(), Some(name.clone()))],
                SCORES_FILE,
                column,
            ));
        }
    }
    let ha: Vec<(String, Option<String>)> = round_one
        .iter()
        .filter(|l| l.kind == "ha")
        .map(|l| ("ha".to_string(), l.name.clone()))
        .collect();
    if !ha.is_empty() {
        sources.push(source(
            "ha",
            "ha_accuracy".into(),
            ha,
            HA_IMAGES_FILE,
            "correct",
        ));
    }
    sources
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_follow_the_planned_analyses() {
        let labels: Vec<StageLabel> = [
            "train",
            "prune[1]",
            "eval[1]",
            "lost[1]",
            "score[1,gradcam]",
            "ha[1,edge]",
            "ha[1,colour]",
            "ha[0,edge]",
        ]
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
        let sources = metric_sources(&labels);
        let names: Vec<&str> = sources.iter().map(|s| s.metric.as_str()).collect();
        assert_eq!(
            names,
            [
                "top1",
                "corloc",
                "rma_gradcam",
                "rra_gradcam",
                "ha_accuracy"
            ]
        );
        let ha = sources.last().unwrap();
        assert_eq!(
            ha.labels(3)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["ha[3,edge]", "ha[3,colour]"]
        );
        assert_eq!(metric_sources(&labels[..3]).len(), 1);
    }

    #[test]
    fn booleans_and_nulls_read_as_numbers() {
        let frame = polars::df!(
            "correct" => [true, false],
            "rma" => [Some(0.5f32), None],
        )
        .unwrap();
        assert_eq!(column_values(&frame, "correct").unwrap(), [1.0, 0.0]);
        let rma = column_values(&frame, "rma").unwrap();
        assert!(rma[0] == 0.5 && rma[1].is_nan());
        assert!(column_values(&frame, "missing").is_err());
    }
}
