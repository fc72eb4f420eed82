//! `ha[round,dataset]`: one pool member scored on one model-vs-human dataset, every condition.
//!
//! One stage per (model, dataset) rather than per model: each entry's key holds only that
//! dataset's parameters, so adding a dataset to `ha.datasets` runs only the new stages, a
//! missing benchmark folder fails only its own stages, and a killed run over the full benchmark
//! (tens of minutes per ImageNet model on a CPU) resumes at dataset granularity.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::analogues::{analogue, analogue_uses_seed, is_analogue};
use super::datasets::HaDataset;
use super::distortions::{BENCHMARK_SIDE, Distortion, set_amplitude_spectrum};
use super::evaluate::{ClassSpace, Decision, decide};
use super::images::{IMAGES_FILE, ImageRow, images_frame};
use super::reader::BenchmarkSet;
use super::shape_bias::{CueConflictDecision, ShapeBias};
use crate::data::augment::{crop, resize_bilinear};
use crate::data::root::DataProblem;
use crate::data::shapes::{GENERATOR_VERSION, ShapesDataset};
use crate::data::{Dataset, ImageF32, Rng};
use crate::files::tables::write_parquet;
use crate::graph::{Stage, StageContext, StageLabel};
use crate::models::Network;
use crate::pool::{ModelContext, frozen_network, load_checkpoint};
use crate::progress::Progress;

pub const HA_FILE: &str = "ha.json";

/// Where a stage's images come from.
#[derive(Clone)]
pub enum HaImages {
    /// Generated from the `shapes` validation scenes: `base` has one sample per image of a
    /// condition.
    Embedded(Arc<ShapesDataset>),
    /// Read from the benchmark's folder.
    Benchmark(Arc<BenchmarkSet>),
    /// The benchmark's folder for this dataset is not there: its stages fail with this.
    Missing(Arc<DataProblem>),
}

/// One condition's results, image by image (in a fixed order, so that pool members can be
/// compared image by image).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConditionResult {
    pub condition: String,
    pub labels: Vec<usize>,
    pub decisions: Vec<Decision>,
    /// Texture classes of cue-conflict images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub textures: Option<Vec<usize>>,
}

impl ConditionResult {
    pub fn images(&self) -> usize {
        self.labels.len()
    }

    pub fn top1_hits(&self) -> Vec<bool> {
        self.decisions.iter().map(|d| d.label_rank == 0).collect()
    }

    pub fn top5_hits(&self) -> Vec<bool> {
        self.decisions.iter().map(|d| d.label_rank < 5).collect()
    }

    pub fn rate(hits: &[bool]) -> f64 {
        hits.iter().filter(|h| **h).count() as f64 / hits.len().max(1) as f64
    }

    /// The cue-conflict decisions, when this condition has textures.
    pub fn cue_conflict(&self) -> Option<Vec<CueConflictDecision>> {
        let textures = self.textures.as_ref()?;
        Some(
            self.labels
                .iter()
                .zip(textures)
                .zip(&self.decisions)
                .map(|((&shape, &texture), d)| CueConflictDecision {
                    shape,
                    texture,
                    predicted: d.predicted,
                })
                .collect(),
        )
    }
}

/// What `ha[round,dataset]` leaves in its entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HaRecord {
    pub round: usize,
    pub dataset: HaDataset,
    /// `embedded` or `benchmark`.
    pub source: String,
    pub classes: ClassSpace,
    pub conditions: Vec<ConditionResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape_bias: Option<ShapeBias>,
    pub seconds: f64,
    pub images_per_second: f64,
}

/// Scores a network on every condition of one dataset.
#[derive(Clone)]
pub struct HaScorer {
    pub dataset: HaDataset,
    pub images: HaImages,
    /// Side of the model's input images.
    pub image_size: usize,
    pub seed: u64,
    pub batch_size: usize,
}

pub struct HaStage {
    pub context: Arc<ModelContext>,
    pub round: usize,
    pub scorer: HaScorer,
}

pub fn ha_label(round: usize, dataset: HaDataset) -> StageLabel {
    StageLabel::round_named("ha", round, dataset.name())
}

impl Stage for HaStage {
    fn kind(&self) -> &'static str {
        "ha"
    }
    fn label(&self) -> StageLabel {
        ha_label(self.round, self.scorer.dataset)
    }
    /// 2: per-image rows (`images.parquet`). 3: pruned convolutions on sparse kernels
    /// (`pool::frozen_network`): logits move at float rounding. 4: batch norm fused on the CPU
    /// (`models::fused_batch_norm`) and sparse sums tiled (`models::sparse::tiling`). 5: dense convolutions
    /// on the CPU run `models::gemm_conv::forward`: logits move at float rounding.
    /// Plus `ModelContext::arch_revision`.
    fn version(&self) -> u32 {
        5 + self.context.arch_revision()
    }
    /// `eval.batch_size` is left out: each image is classified on its own, so the batch size
    /// changes speed, not the scores.
    fn params(&self) -> Value {
        let scorer = &self.scorer;
        let images = match &scorer.images {
            HaImages::Embedded(base) => json!({
                "source": "embedded",
                "shapes": base.config(),
                "generator": GENERATOR_VERSION,
            }),
            HaImages::Benchmark(set) => json!({
                "source": "benchmark",
                "files": set.fingerprint(),
            }),
            HaImages::Missing(problem) => json!({
                "source": "benchmark",
                "files": format!("missing:{}", problem.root.key),
            }),
        };
        json!({
            "dataset": scorer.dataset.name(),
            "images": images,
            "image_size": scorer.image_size,
            "seed": scorer.uses_seed().then_some(scorer.seed),
            "device": self.context.device.family(),
        })
    }
    fn inputs(&self) -> Vec<StageLabel> {
        vec![StageLabel::model(self.round)]
    }
    fn missing_data(&self) -> Option<String> {
        match &self.scorer.images {
            HaImages::Missing(problem) => Some(problem.to_string()),
            _ => None,
        }
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let device = self.context.device.device();
        let model = load_checkpoint(ctx.input(&StageLabel::model(self.round)), &device)?;
        let network = frozen_network(model.network)?;
        let (record, images) = self
            .scorer
            .score(self.round, &network, &device, ctx.progress)?;
        std::fs::write(ctx.out_dir.join(HA_FILE), serde_json::to_vec(&record)?)?;
        write_parquet(
            &mut images_frame(self.round, self.scorer.dataset.name(), &images)?,
            &ctx.out_dir.join(IMAGES_FILE),
        )?;
        Ok(())
    }
}

impl HaScorer {
    fn class_space(&self) -> ClassSpace {
        match self.images {
            HaImages::Embedded(_) => ClassSpace::Native,
            HaImages::Benchmark(_) | HaImages::Missing(_) => ClassSpace::Imagenet16,
        }
    }

    /// Whether the images depend on the seed.
    fn uses_seed(&self) -> bool {
        matches!(self.images, HaImages::Embedded(_))
            && (analogue_uses_seed(self.dataset)
                || self
                    .dataset
                    .conditions()
                    .iter()
                    .filter_map(|c| Distortion::new(self.dataset, c))
                    .any(|d| d.is_random()))
    }

    /// The record of `network` (pool member `round`) on every condition of the dataset, and
    /// its rows image by image.
    pub fn score(
        &self,
        round: usize,
        network: &Network,
        device: &burn::tensor::Device,
        progress: &dyn Progress,
    ) -> anyhow::Result<(HaRecord, Vec<ImageRow>)> {
        let started = Instant::now();
        let (conditions, total, per_condition) = match &self.images {
            HaImages::Embedded(base) => {
                let conditions = self.dataset.conditions().to_vec();
                let total = base.len() * conditions.len();
                (conditions, total, base.len())
            }
            HaImages::Benchmark(set) => {
                let conditions = set.conditions();
                let per_condition = set.images.len().div_ceil(conditions.len().max(1));
                (conditions, set.images.len(), per_condition)
            }
            HaImages::Missing(problem) => return Err(anyhow::Error::new((**problem).clone())),
        };
        progress.phase(
            "score",
            (conditions.len() * per_condition.div_ceil(self.batch_size.max(1))) as u64,
        );
        let amplitude = self.amplitude_spectrum()?;
        let mut results = Vec::new();
        let mut images = Vec::new();
        for (k, condition) in conditions.iter().enumerate() {
            let (result, rows) = self
                .score_condition(
                    network,
                    device,
                    k,
                    condition,
                    amplitude.as_deref(),
                    progress,
                )
                .with_context(|| format!("{} condition `{condition}`", self.dataset))?;
            results.push(result);
            images.extend(rows);
        }
        let shape_bias = (self.dataset == HaDataset::CueConflict).then(|| {
            let decisions: Vec<CueConflictDecision> = results
                .iter()
                .filter_map(|r| r.cue_conflict())
                .flatten()
                .collect();
            ShapeBias::of(&decisions)
        });
        let seconds = started.elapsed().as_secs_f64();
        let record = HaRecord {
            round,
            dataset: self.dataset,
            source: match self.images {
                HaImages::Embedded(_) => "embedded".into(),
                HaImages::Benchmark(_) | HaImages::Missing(_) => "benchmark".into(),
            },
            classes: self.class_space(),
            conditions: results,
            shape_bias,
            seconds,
            images_per_second: total as f64 / seconds.max(1e-9),
        };
        Ok((record, images))
    }

    /// The mean amplitude spectrum of the embedded base images, for power equalisation.
    fn amplitude_spectrum(&self) -> anyhow::Result<Option<Vec<f32>>> {
        let HaImages::Embedded(base) = &self.images else {
            return Ok(None);
        };
        let needs = self
            .dataset
            .conditions()
            .iter()
            .filter_map(|c| Distortion::new(self.dataset, c))
            .any(|d| d.needs_amplitude_spectrum());
        if !needs {
            return Ok(None);
        }
        let images: Vec<ImageF32> = parallel_map(base.len(), |i| Ok(base.get(i)?.image))?;
        Ok(Some(set_amplitude_spectrum(&images)))
    }

    fn score_condition(
        &self,
        network: &Network,
        device: &burn::tensor::Device,
        condition_index: usize,
        condition: &'static str,
        amplitude: Option<&[f32]>,
        progress: &dyn Progress,
    ) -> anyhow::Result<(ConditionResult, Vec<ImageRow>)> {
        let indices: Vec<usize> = match &self.images {
            HaImages::Embedded(base) => (0..base.len()).collect(),
            HaImages::Benchmark(set) => (0..set.images.len())
                .filter(|&i| set.images[i].condition == condition)
                .collect(),
            HaImages::Missing(_) => Vec::new(),
        };
        let mut result = ConditionResult {
            condition: condition.to_string(),
            labels: Vec::new(),
            decisions: Vec::new(),
            textures: (self.dataset == HaDataset::CueConflict).then(Vec::new),
        };
        let mut rows = Vec::with_capacity(indices.len());
        for chunk in indices.chunks(self.batch_size.max(1)) {
            let prepared = parallel_map(chunk.len(), |j| {
                self.prepare(chunk[j], condition_index, condition, amplitude)
            })?;
            let labels: Vec<usize> = prepared.iter().map(|p| p.1).collect();
            let images: Vec<ImageF32> = prepared.iter().map(|p| p.0.clone()).collect();
            let scored = decide(network, &images, &labels, self.class_space(), device)?;
            for ((&index, (_, label, texture)), scored) in chunk.iter().zip(&prepared).zip(&scored)
            {
                rows.push(ImageRow {
                    image_id: self.image_id(index),
                    condition: condition.to_string(),
                    label: *label,
                    predicted: scored.decision.predicted,
                    texture: *texture,
                    probabilities: scored.probabilities.clone(),
                });
            }
            result
                .decisions
                .extend(scored.into_iter().map(|s| s.decision));
            result.labels.extend(labels);
            if let Some(textures) = &mut result.textures {
                textures.extend(prepared.iter().map(|p| p.2.unwrap_or(usize::MAX)));
            }
            progress.advance(1, "");
        }
        Ok((result, rows))
    }

    /// The per-image id of image `index` (see [`ImageRow::image_id`]).
    fn image_id(&self, index: usize) -> String {
        match &self.images {
            HaImages::Embedded(base) => base.image_id(index),
            HaImages::Benchmark(set) => {
                format!("{}/{}", self.dataset.name(), set.images[index].relative)
            }
            HaImages::Missing(_) => format!("{index:06}"),
        }
    }

    /// Image `index` of a condition at the model's input size, its label and texture class.
    fn prepare(
        &self,
        index: usize,
        condition_index: usize,
        condition: &str,
        amplitude: Option<&[f32]>,
    ) -> anyhow::Result<(ImageF32, usize, Option<usize>)> {
        match &self.images {
            HaImages::Embedded(base) => {
                if is_analogue(self.dataset) {
                    let a = analogue(self.dataset, base, index, self.seed);
                    return Ok((a.image, a.label, a.texture));
                }
                let sample = base.get(index)?;
                let distortion = Distortion::new(self.dataset, condition)
                    .with_context(|| format!("no distortion for condition `{condition}`"))?;
                let mut rng = Rng::for_item(
                    self.seed,
                    distortion_stream(self.dataset, condition_index),
                    index as u64,
                );
                let pixel_scale = sample.image.width as f32 / BENCHMARK_SIDE as f32;
                let image = distortion.apply(&sample.image, pixel_scale, amplitude, &mut rng);
                Ok((image, sample.label, None))
            }
            HaImages::Benchmark(set) => {
                let image = set.load(index)?;
                let entry = &set.images[index];
                Ok((
                    fit_to_side(&image, self.image_size),
                    entry.category,
                    entry.texture,
                ))
            }
            HaImages::Missing(problem) => Err(anyhow::Error::new((**problem).clone())),
        }
    }
}

/// Random-stream id of one condition of one dataset (see [`Rng::for_item`]).
pub fn distortion_stream(dataset: HaDataset, condition_index: usize) -> u64 {
    0x4844_0000_0000 + ((dataset as u64) << 16) + condition_index as u64
}

/// `image` at `side` x `side`: unchanged when it already is, else the shorter side resized to
/// `side` and the centre cropped.
pub fn fit_to_side(image: &ImageF32, side: usize) -> ImageF32 {
    if image.width == side && image.height == side {
        return image.clone();
    }
    let scale = side as f64 / image.width.min(image.height) as f64;
    let w = ((image.width as f64 * scale).round() as usize).max(side);
    let h = ((image.height as f64 * scale).round() as usize).max(side);
    let resized = resize_bilinear(image, w, h);
    crop(&resized, (w - side) / 2, (h - side) / 2, side, side)
}

/// `f(0..n)` spread over the machine's cores, in order; the first error wins.
pub fn parallel_map<T: Send>(
    n: usize,
    f: impl Fn(usize) -> anyhow::Result<T> + Sync,
) -> anyhow::Result<Vec<T>> {
    (0..n).into_par_iter().map(&f).collect()
}
