//! `score[round,name]`: RMA and RRA of every map of an `attribute` stage against its mask.
//! 3-channel maps are pooled over channels first; `compat = "study"` min-max normalises each
//! relevance map, as the original code did (RMA is not shift invariant, so this matters).

use std::sync::Arc;

use anyhow::ensure;
use polars::prelude::*;
use serde_json::{Value, json};

use super::{AttributionJob, MAPS_FILE, MASKS_FILE, attribute_label, score_label};
use crate::files::npy::read_npy;
use crate::files::tables::write_parquet;
use crate::graph::{Stage, StageContext, StageLabel};
use crate::metrics::localization_scores;
use crate::spec::attribution::Compat;

pub const SCORES_FILE: &str = "scores.parquet";

pub struct ScoreStage {
    pub round: usize,
    pub job: Arc<AttributionJob>,
}

impl Stage for ScoreStage {
    fn kind(&self) -> &'static str {
        "score"
    }
    fn label(&self) -> StageLabel {
        score_label(self.round, &self.job.name)
    }
    fn version(&self) -> u32 {
        1
    }
    fn params(&self) -> Value {
        json!({ "pooling": self.job.pooling, "compat": self.job.compat })
    }
    fn inputs(&self) -> Vec<StageLabel> {
        vec![attribute_label(self.round, &self.job.name)]
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let entry = ctx.input(&attribute_label(self.round, &self.job.name));
        let maps = read_npy::<f32>(&entry.path(MAPS_FILE))?;
        let masks = read_npy::<u8>(&entry.path(MASKS_FILE))?;
        let (count, channels) = match maps.shape[..] {
            [n, _, _] => (n, 1),
            [n, c, _, _] => (n, c),
            _ => anyhow::bail!(
                "{MAPS_FILE} has shape {:?}, expected (N, H, W) or (N, C, H, W)",
                maps.shape
            ),
        };
        ensure!(
            masks.shape.len() == 3 && masks.shape[0] == count,
            "{MASKS_FILE} has shape {:?} for {count} maps",
            masks.shape
        );
        let plane = masks.shape[1] * masks.shape[2];
        let mut rma = Vec::with_capacity(count);
        let mut rra = Vec::with_capacity(count);
        let mut undefined = Vec::with_capacity(count);
        for index in 0..count {
            let map = &maps.values[index * channels * plane..(index + 1) * channels * plane];
            let mut relevance = self.job.pooling.pool(map, channels);
            if self.job.compat == Compat::Study {
                study_min_max(&mut relevance);
            }
            let scores = localization_scores(
                &relevance,
                &masks.values[index * plane..(index + 1) * plane],
            );
            rma.push(scores.rma);
            rra.push(scores.rra);
            undefined.push(scores.undefined.map(|u| u.name().to_string()));
        }
        let mut frame = df!(
            "position" => (0..count as u32).collect::<Vec<_>>(),
            "rma" => rma,
            "rra" => rra,
            "undefined" => undefined,
        )?;
        write_parquet(&mut frame, &ctx.out_dir.join(SCORES_FILE))
    }
}

/// `(R - min) / (max - min)`, the original code's normalisation; a constant map becomes zeros.
fn study_min_max(map: &mut [f32]) {
    let min = map.iter().copied().fold(f32::INFINITY, f32::min);
    let max = map.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let range = max - min;
    map.iter_mut()
        .for_each(|v| *v = if range > 0.0 { (*v - min) / range } else { 0.0 });
}
