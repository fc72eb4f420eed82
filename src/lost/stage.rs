//! `lost[round]`: LOST on every image of the LOST dataset with pool member `round`, one
//! predicted box per image scored against the ground truth, and the model's CorLoc.

use rayon::prelude::*;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::bbox::grid_chance;
use super::run::{LostSettings, Timing, discover_images};
use super::table::{LostRow, lost_frame};
use crate::data::root::Opened;
use crate::data::{Dataset, Sample};
use crate::files::tables::write_parquet;
use crate::graph::{Stage, StageContext, StageLabel};
use crate::metrics::corloc::{CORLOC_IOU, best_iou, corloc};
use crate::pool::{ModelContext, frozen_network, load_checkpoint};

pub const LOST_ROWS_FILE: &str = "images.parquet";
pub const LOST_RECORD_FILE: &str = "corloc.json";

/// The images LOST runs on and how, shared by every `lost[round]` and `report[lost]`.
pub struct LostData {
    /// The images, or why they cannot be read (the LOST stages then fail saying so).
    pub dataset: Opened<Arc<dyn Dataset>>,
    /// Display ids of the first `ids.len()` images, the ones used.
    pub ids: Vec<String>,
    /// E.g. `shapes val, 32 px` or `VOC trainval, no_hard`.
    pub description: String,
    pub settings: LostSettings,
}

impl LostData {
    pub fn images(&self) -> usize {
        self.ids.len()
    }

    /// What every LOST result depends on besides the model. `lost.batch_size` is left out: each
    /// image's patch features are computed on their own, so it changes speed, not the boxes.
    pub fn params(&self) -> Value {
        json!({
            "data": self.dataset.fingerprint(),
            "images": self.images(),
            "k": self.settings.k,
            "dilate": self.settings.patch.dilate_last_stage,
            "resize": self.settings.resize,
        })
    }
}

/// Label of the LOST stage of a round.
pub fn lost_label(round: usize) -> StageLabel {
    StageLabel::round("lost", round)
}

/// A model's CorLoc and what it took.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LostRecord {
    pub round: usize,
    pub dataset: String,
    pub images: usize,
    pub localised: usize,
    /// Share of images localised (IoU >= 0.5 with some ground-truth box).
    pub corloc: f64,
    /// Mean over images of the chance that a uniformly random grid box localises the image.
    pub chance: f64,
    /// Images where LOST found no object (the seed had an all-zero feature).
    pub no_object: usize,
    pub seconds: f64,
    pub images_per_second: f64,
    /// Preprocessing, features and similarities.
    pub network_seconds: f64,
    /// Degrees, seed, expansion, component, box.
    pub algorithm_seconds: f64,
}

pub struct LostStage {
    pub context: Arc<ModelContext>,
    pub round: usize,
    pub data: Arc<LostData>,
}

impl Stage for LostStage {
    fn kind(&self) -> &'static str {
        "lost"
    }
    fn label(&self) -> StageLabel {
        lost_label(self.round)
    }
    /// 2: image ids in the one form of `docs/tables.md` (`val/000017`, `trainval/2008_000123`).
    /// 3: pruned convolutions on sparse kernels (`pool::frozen_network`): features move at float
    /// rounding. 4: batch norm fused on the CPU (`models::fused_batch_norm`) and sparse sums
    /// tiled (`models::sparse::tiling`). 5: dense convolutions on the CPU run
    /// `models::gemm_conv::forward`: features move at float rounding.
    /// Plus `ModelContext::arch_revision`.
    fn version(&self) -> u32 {
        5 + self.context.arch_revision()
    }
    fn params(&self) -> Value {
        let mut params = self.data.params();
        params["device"] = json!(self.context.device.family());
        params
    }
    fn inputs(&self) -> Vec<StageLabel> {
        vec![StageLabel::model(self.round)]
    }
    fn missing_data(&self) -> Option<String> {
        self.data.dataset.problem().map(ToString::to_string)
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let started = Instant::now();
        let device = self.context.device.device();
        let model = load_checkpoint(ctx.input(&StageLabel::model(self.round)), &device)?;
        let network = frozen_network(model.network)?;
        let data = &self.data;
        let chunk = data.settings.batch_size.max(1);
        let indices: Vec<usize> = (0..data.images()).collect();
        ctx.progress
            .phase("lost", indices.len().div_ceil(chunk) as u64);
        let mut timing = Timing::default();
        let mut rows = Vec::with_capacity(indices.len());
        for part in indices.chunks(chunk) {
            let samples = load_samples(data.dataset.get()?.as_ref(), part)?;
            let images: Vec<_> = samples.iter().map(|s| s.image.clone()).collect();
            let found = discover_images(&network, &device, &images, &data.settings, &mut timing)?;
            for ((&index, sample), found) in part.iter().zip(&samples).zip(found) {
                let (w, h) = (sample.image.width, sample.image.height);
                let best = found.predicted.map_or(0.0, |b| best_iou(b, &sample.boxes));
                // IoU is unchanged by scaling both boxes per axis, so chance can be computed on
                // the network's (possibly resized) input.
                let (cw, ch) = found.content;
                let (sx, sy) = (cw as f32 / w as f32, ch as f32 / h as f32);
                let scaled: Vec<[f32; 4]> = sample
                    .boxes
                    .iter()
                    .map(|b| [b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy])
                    .collect();
                let columns = found.grid.1;
                let seed = found.discovery.seed;
                rows.push(LostRow {
                    image: index as u32,
                    image_id: data.ids[index].clone(),
                    width: w as u32,
                    height: h as u32,
                    predicted: found.predicted,
                    seed: seed as u32,
                    seed_row: (seed / columns) as u32,
                    seed_col: (seed % columns) as u32,
                    grid_rows: found.grid.0 as u32,
                    grid_cols: columns as u32,
                    stride: found.stride as u32,
                    expansion_size: found.discovery.expansion_size as u32,
                    component_size: found.discovery.component_size as u32,
                    ground_truth: sample.boxes.len() as u32,
                    best_iou: best,
                    correct: best >= CORLOC_IOU,
                    chance: grid_chance(&scaled, found.grid, found.stride, cw, ch),
                });
            }
            ctx.progress.advance(1, "");
        }
        let correct: Vec<bool> = rows.iter().map(|r| r.correct).collect();
        let seconds = started.elapsed().as_secs_f64();
        let record = LostRecord {
            round: self.round,
            dataset: data.description.clone(),
            images: rows.len(),
            localised: correct.iter().filter(|&&c| c).count(),
            corloc: corloc(&correct),
            chance: rows.iter().map(|r| r.chance).sum::<f64>() / rows.len().max(1) as f64,
            no_object: rows.iter().filter(|r| r.predicted.is_none()).count(),
            seconds,
            images_per_second: rows.len() as f64 / seconds.max(1e-9),
            network_seconds: timing.network.as_secs_f64(),
            algorithm_seconds: timing.algorithm.as_secs_f64(),
        };
        write_parquet(&mut lost_frame(&rows)?, &ctx.out_dir.join(LOST_ROWS_FILE))?;
        std::fs::write(
            ctx.out_dir.join(LOST_RECORD_FILE),
            serde_json::to_vec_pretty(&record)?,
        )?;
        Ok(())
    }
}

/// Loads `indices` of `dataset`, spread over the machine's cores (VOC photos need decoding).
pub fn load_samples(dataset: &dyn Dataset, indices: &[usize]) -> anyhow::Result<Vec<Sample>> {
    indices
        .par_iter()
        .map(|&i| dataset.get(i).with_context(|| format!("loading image {i}")))
        .collect()
}
