//! The attribution stages over the pruning pool: for every pooled model and every
//! `[[attribution]]` table, `attribute[round,name]` computes the maps and `score[round,name]`
//! scores them; one `report[attribution]` gathers everything.

mod attribute;
mod report;
mod score;

use std::sync::Arc;

use anyhow::{Context, bail};

pub use attribute::{
    AttributeRecord, AttributeStage, INDEX_FILE, MAPS_FILE, MASKS_FILE, RECORD_FILE,
};
pub use report::AttributionReportStage;
pub use score::{SCORES_FILE, ScoreStage};

use super::eval_set::EvalImages;
use super::method::MethodConfig;
use crate::analysis::{AnalysisPlan, PoolPlan};
use crate::data::root::{DataRoot, DataStatus, Opened};
use crate::data::voc_segmentation::VocSegmentation;
use crate::graph::{Stage, StageLabel};
use crate::metrics::ChannelPooling;
use crate::pool::ModelContext;
use crate::spec::Spec;
use crate::spec::attribution::{AttributionSpec, Compat, EvalSet, MaskPolicy, TargetPolicy};

/// One `[[attribution]]` table, resolved: shared by its stages of every round.
pub struct AttributionJob {
    pub name: String,
    pub method: MethodConfig,
    pub target: TargetPolicy,
    pub mask: MaskPolicy,
    pub compat: Compat,
    pub pooling: ChannelPooling,
    pub batch_size: usize,
    pub images: Arc<EvalImages>,
    /// Store the explained input tensors (`[[attribution]] save_inputs`).
    pub save_inputs: bool,
}

pub fn attribute_label(round: usize, name: &str) -> StageLabel {
    StageLabel::round_named("attribute", round, name)
}

pub fn score_label(round: usize, name: &str) -> StageLabel {
    StageLabel::round_named("score", round, name)
}

/// The attribution stages of `spec` over rounds `0..=rounds`; none without `[[attribution]]`.
pub fn plan(spec: &Spec, pool: &PoolPlan<'_>) -> anyhow::Result<AnalysisPlan> {
    let PoolPlan {
        context,
        rounds,
        spec_path,
    } = *pool;
    if spec.attribution.is_empty() {
        return Ok(AnalysisPlan::default());
    }
    let jobs = spec
        .attribution
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            resolve(spec, entry, index, context).with_context(|| {
                format!(
                    "{}: `[[attribution]]` table {} (`{}`)",
                    spec_path.display(),
                    index + 1,
                    entry.display_name()
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (jobs, data): (Vec<_>, Vec<_>) = jobs.into_iter().unzip();
    let jobs: Vec<Arc<AttributionJob>> = jobs.into_iter().map(Arc::new).collect();
    let mut stages: Vec<Box<dyn Stage>> = Vec::new();
    for round in 0..=rounds {
        for job in &jobs {
            stages.push(Box::new(AttributeStage {
                context: context.clone(),
                round,
                job: job.clone(),
            }));
            stages.push(Box::new(ScoreStage {
                round,
                job: job.clone(),
            }));
        }
    }
    stages.push(Box::new(AttributionReportStage {
        experiment: spec.experiment.name.clone(),
        seed: spec.experiment.seed,
        rounds,
        jobs,
        class_names: context.class_names.clone(),
    }));
    Ok(AnalysisPlan {
        stages,
        data: data.into_iter().flatten().collect(),
    })
}

/// The VOC folder table `index` of `[[attribution]]` reads, for the data table and the stages'
/// messages.
pub fn voc_root(entry: &AttributionSpec, index: usize) -> DataRoot {
    DataRoot {
        dataset: "PASCAL VOC2012 segmentation".into(),
        key: format!("attribution.{index}.voc_path"),
        env: entry.voc_path_env.clone(),
        path: entry.voc_path.as_ref().map(Into::into),
        layout: format!(
            "VOCdevkit/VOC2012 (or VOCdevkit, or a folder holding it) with JPEGImages/, SegmentationClass/ and ImageSets/Segmentation/{}.txt",
            entry.voc_split
        ),
    }
}

fn resolve(
    spec: &Spec,
    entry: &AttributionSpec,
    index: usize,
    context: &ModelContext,
) -> anyhow::Result<(AttributionJob, Option<DataStatus>)> {
    let mut status = None;
    let images = match entry.eval_set {
        EvalSet::Val => {
            EvalImages::dataset(context.val_data.get()?.clone(), "val", entry.image_limit())
        }
        EvalSet::Voc => {
            let voc = voc_root(entry, index).open(|path| match entry.compat {
                Compat::Study => VocSegmentation::open_all_masks(path, entry.image_limit()),
                Compat::None => VocSegmentation::open(path, &entry.voc_split, entry.image_limit()),
            });
            if entry.mask == MaskPolicy::Target && context.network.num_classes != 1000 {
                bail!(
                    "`mask = \"target\"` on VOC maps ImageNet-1k classes to VOC classes, but the model has {} classes; use `mask = \"objects\"`",
                    context.network.num_classes
                );
            }
            status = Some(voc.status(&voc_root(entry, index), |voc| {
                format!("{} images ({})", voc.len(), voc.source)
            }));
            match voc {
                Opened::Ready(voc) => {
                    let split = match entry.compat {
                        Compat::Study => "all",
                        Compat::None => &entry.voc_split,
                    };
                    EvalImages::voc(voc, spec.data.image_size, split)?
                }
                Opened::Missing(problem) => EvalImages::Missing(problem),
            }
        }
    };
    if images.is_empty() && images.problem().is_none() {
        bail!("the eval set has no image");
    }
    let job = AttributionJob {
        name: entry.display_name(),
        method: MethodConfig::from_spec(entry, spec.data.image_size),
        target: entry.target,
        mask: entry.mask,
        compat: entry.compat,
        pooling: entry.pooling(),
        batch_size: entry.batch_size,
        images: Arc::new(images),
        save_inputs: entry.save_inputs,
    };
    Ok((job, status))
}
