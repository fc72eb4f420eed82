//! The attribution stages over the pruning pool: for every pooled model and every
//! `[[attribution]]` table, `attribute[round,name]` computes the maps and `score[round,name]`
//! scores them; one `report[attribution]` gathers everything.

mod attribute;
mod report;
mod score;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};

pub use attribute::{
    AttributeRecord, AttributeStage, INDEX_FILE, MAPS_FILE, MASKS_FILE, RECORD_FILE,
};
pub use report::AttributionReportStage;
pub use score::{SCORES_FILE, ScoreStage};

use super::eval_set::EvalImages;
use super::method::MethodConfig;
use crate::analysis::PoolPlan;
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
}

pub fn attribute_label(round: usize, name: &str) -> StageLabel {
    StageLabel::round_named("attribute", round, name)
}

pub fn score_label(round: usize, name: &str) -> StageLabel {
    StageLabel::round_named("score", round, name)
}

/// The attribution stages of `spec` over rounds `0..=rounds`; none without `[[attribution]]`.
pub fn plan(spec: &Spec, pool: &PoolPlan<'_>) -> anyhow::Result<Vec<Box<dyn Stage>>> {
    let PoolPlan {
        context,
        rounds,
        spec_path,
    } = *pool;
    if spec.attribution.is_empty() {
        return Ok(Vec::new());
    }
    let jobs = spec
        .attribution
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            resolve(spec, entry, context).with_context(|| {
                format!(
                    "{}: `[[attribution]]` table {} (`{}`)",
                    spec_path.display(),
                    index + 1,
                    entry.display_name()
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
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
        class_names: context.val_data.class_names(),
    }));
    Ok(stages)
}

fn resolve(
    spec: &Spec,
    entry: &AttributionSpec,
    context: &ModelContext,
) -> anyhow::Result<AttributionJob> {
    let images = match entry.eval_set {
        EvalSet::Val => EvalImages::dataset(context.val_data.clone(), "val", entry.image_limit()),
        EvalSet::Voc => {
            let path = entry
                .voc_path
                .as_deref()
                .context("`eval_set = \"voc\"` needs `voc_path`")?;
            let voc = match entry.compat {
                Compat::Study => {
                    VocSegmentation::open_all_masks(Path::new(path), entry.image_limit())?
                }
                Compat::None => {
                    VocSegmentation::open(Path::new(path), &entry.voc_split, entry.image_limit())?
                }
            };
            if entry.mask == MaskPolicy::Target && context.network.num_classes != 1000 {
                bail!(
                    "`mask = \"target\"` on VOC maps ImageNet-1k classes to VOC classes, but the model has {} classes; use `mask = \"objects\"`",
                    context.network.num_classes
                );
            }
            EvalImages::voc(voc, spec.data.image_size)?
        }
    };
    if images.is_empty() {
        bail!("the eval set has no image");
    }
    Ok(AttributionJob {
        name: entry.display_name(),
        method: MethodConfig::from_spec(entry, spec.data.image_size),
        target: entry.target,
        mask: entry.mask,
        compat: entry.compat,
        pooling: entry.pooling(),
        batch_size: entry.batch_size,
        images: Arc::new(images),
    })
}
