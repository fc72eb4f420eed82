//! From the spec's `[ha]` section to stages: `ha[round,dataset]` for every pool member and
//! dataset, and `report[ha]`. Decides where the images come from and rejects combinations that
//! cannot be scored before anything runs.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};

use super::datasets::HaDataset;
use super::mapping::IMAGENET_CLASSES;
use super::reader::BenchmarkSet;
use super::report::HaReportStage;
use super::stage::{HaImages, HaScorer, HaStage};
use crate::analysis::PoolPlan;
use crate::data::Split;
use crate::data::shapes::{ShapesConfig, ShapesDataset};
use crate::graph::Stage;
use crate::spec::{DataSource, Spec};

/// Images per condition generated for `shapes` models when the spec does not say.
pub const DEFAULT_EMBEDDED_IMAGES: usize = 160;

/// The human-alignment stages of `spec` (none without `[ha]`).
pub fn plan(spec: &Spec, pool: &PoolPlan<'_>) -> anyhow::Result<Vec<Box<dyn Stage>>> {
    let Some(ha) = &spec.ha else {
        return Ok(Vec::new());
    };
    let PoolPlan {
        context,
        rounds,
        spec_path,
    } = *pool;
    let seed = ha.seed.unwrap_or(spec.experiment.seed);
    let classes = context.network.num_classes;
    let (images, source): (Vec<(HaDataset, HaImages)>, String) = match (&ha.path, spec.data.source)
    {
        (Some(path), _) => {
            if classes != IMAGENET_CLASSES {
                bail!(
                    "{}: ha.path: the benchmark's images are scored with its 16-class decision over \
                     1000 ImageNet logits, but this model has {classes} classes; leave ha.path out \
                     to test a `shapes` model on pvr's embedded analogues",
                    spec_path.display()
                );
            }
            let root = Path::new(path);
            let sets = ha
                .datasets
                .iter()
                .map(|&dataset| {
                    let mut set = BenchmarkSet::open(root, dataset)
                        .with_context(|| format!("{}: ha.path", spec_path.display()))?;
                    if let Some(n) = ha.images_per_condition {
                        set.take_per_condition(n);
                    }
                    Ok((dataset, HaImages::Benchmark(Arc::new(set))))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            (
                sets,
                format!("the model-vs-human benchmark read from {path}"),
            )
        }
        (None, DataSource::Shapes) => {
            let n = ha.images_per_condition.unwrap_or(DEFAULT_EMBEDDED_IMAGES);
            // The validation stream of the experiment's own data: scenes no model trained on.
            let base = Arc::new(ShapesDataset::new(ShapesConfig {
                seed: spec.data.seed.unwrap_or(spec.experiment.seed),
                image_size: spec.data.image_size,
                len: n,
                split: Split::Val,
                texture_correlation: spec.data.texture_correlation,
                distractors: spec.data.distractors,
            })?);
            let sets = ha
                .datasets
                .iter()
                .map(|&d| (d, HaImages::Embedded(base.clone())))
                .collect();
            (
                sets,
                format!(
                    "pvr's embedded analogues from `shapes` validation scenes, {n} per condition"
                ),
            )
        }
        (None, DataSource::Imagefolder) => bail!(
            "{}: [ha] needs either `ha.path` (the model-vs-human datasets, for an ImageNet-1000 \
             model) or `data.source = \"shapes\"` (pvr's embedded analogues); `pvr render-ha` \
             renders the 12 parametric sets from any image folder",
            spec_path.display()
        ),
    };
    let mut stages: Vec<Box<dyn Stage>> = Vec::new();
    for round in 0..=rounds {
        for (dataset, images) in &images {
            stages.push(Box::new(HaStage {
                context: context.clone(),
                round,
                scorer: HaScorer {
                    dataset: *dataset,
                    images: images.clone(),
                    image_size: spec.data.image_size,
                    seed,
                    batch_size: spec.eval.batch_size,
                },
            }));
        }
    }
    stages.push(Box::new(HaReportStage {
        experiment: spec.experiment.name.clone(),
        rounds,
        datasets: ha.datasets.clone(),
        source,
        bootstrap_samples: ha.bootstrap_samples,
        seed,
    }));
    Ok(stages)
}
