//! From the spec's `[ha]` section to stages: `ha[round,dataset]` for every pool member and
//! dataset, and `report[ha]`. Decides where the images come from and rejects combinations that
//! cannot be scored before anything runs.

use std::sync::Arc;

use anyhow::bail;

use super::datasets::HaDataset;
use super::human_tables::HumanTrials;
use super::mapping::IMAGENET_CLASSES;
use super::reader::BenchmarkSet;
use super::report::HaReportStage;
use super::stage::{HaImages, HaScorer, HaStage};
use crate::analysis::{AnalysisPlan, PoolPlan};
use crate::data::Split;
use crate::data::root::{DataProblem, DataRoot, DataState, DataStatus, Opened};
use crate::data::shapes::{ShapesConfig, ShapesDataset};
use crate::graph::Stage;
use crate::spec::{DataSource, HaSpec, Spec};

/// The benchmark's datasets folder `[ha]` reads, for the data table and the stages' messages.
pub fn benchmark_root(ha: &HaSpec) -> DataRoot {
    DataRoot {
        dataset: "model-vs-human".into(),
        key: "ha.path".into(),
        env: ha.path_env.clone(),
        path: ha.path.as_ref().map(Into::into),
        layout: "the benchmark's `datasets` folder: `<dataset>/dnn/session-1/*.png` for the 12 parametric sets, sketch and stylized, `<dataset>/<category>/*.png` for edge, silhouette and cue-conflict".into(),
    }
}

/// The benchmark's human trials `[ha]` reads when `ha.human_path` is given.
pub fn human_root(ha: &HaSpec) -> DataRoot {
    DataRoot {
        dataset: "model-vs-human human trials".into(),
        key: "ha.human_path".into(),
        env: ha.human_path_env.clone(),
        path: ha.human_path.as_ref().map(Into::into),
        layout: "the benchmark's `raw-data` folder: `<dataset>/<dataset>_subject-NN_session_1.csv`, one file per observer (columns subj, object_response, category, condition, imagename)".into(),
    }
}

/// Where the report's human metrics come from.
#[derive(Clone)]
pub enum HumanSource {
    Ready(Arc<HumanTrials>),
    /// Given but not readable: `report[ha]` fails with this.
    Missing(Arc<DataProblem>),
}

/// The human trials when `ha.human_path` is given (`None`: no human metrics, not an error).
fn human_source(
    ha: &HaSpec,
    embedded: bool,
    spec_path: &std::path::Path,
) -> anyhow::Result<Option<HumanSource>> {
    if ha.human_path.is_none() {
        return Ok(None);
    }
    if embedded {
        bail!(
            "{}: ha.human_path: the human trials are matched to the benchmark's own images, but \
             this model is scored on pvr's embedded analogues (no ha.path); give ha.path, or \
             leave ha.human_path out",
            spec_path.display()
        );
    }
    Ok(Some(
        match human_root(ha).open(|path| HumanTrials::open(path, &ha.datasets)) {
            Opened::Ready(trials) => HumanSource::Ready(Arc::new(trials)),
            Opened::Missing(problem) => HumanSource::Missing(problem),
        },
    ))
}

/// Images per condition generated for `shapes` models when the spec does not say.
pub const DEFAULT_EMBEDDED_IMAGES: usize = 160;

/// The human-alignment stages of `spec` (none without `[ha]`).
pub fn plan(spec: &Spec, pool: &PoolPlan<'_>) -> anyhow::Result<AnalysisPlan> {
    let Some(ha) = &spec.ha else {
        return Ok(AnalysisPlan::default());
    };
    let PoolPlan {
        context,
        rounds,
        spec_path,
    } = *pool;
    let seed = ha.seed.unwrap_or(spec.experiment.seed);
    let classes = context.network.num_classes;
    let (images, source): (Vec<(HaDataset, HaImages)>, String) = if ha.path.is_none()
        && spec.data.source == DataSource::Shapes
    {
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
            format!("pvr's embedded analogues from `shapes` validation scenes, {n} per condition"),
        )
    } else {
        if classes != IMAGENET_CLASSES {
            bail!(
                "{}: [ha] on the benchmark's images scores them with its 16-class decision over \
                     1000 ImageNet logits, but this model has {classes} classes; test a `shapes` \
                     model on pvr's embedded analogues (no ha.path), or an ImageNet-1k one on the \
                     benchmark (`pvr render-ha` renders the 12 parametric sets from any images)",
                spec_path.display()
            );
        }
        let root = benchmark_root(ha);
        let sets = ha
            .datasets
            .iter()
            .map(|&dataset| {
                let opened = root.open(|path| {
                    let mut set = BenchmarkSet::open(path, dataset)?;
                    if let Some(n) = ha.images_per_condition {
                        set.take_per_condition(n)?;
                    }
                    Ok(set)
                });
                let images = match opened {
                    Opened::Ready(set) => HaImages::Benchmark(Arc::new(set)),
                    Opened::Missing(problem) => HaImages::Missing(problem),
                };
                (dataset, images)
            })
            .collect();
        let place = ha.path.as_deref().unwrap_or("ha.path (not given)");
        (
            sets,
            format!("the model-vs-human benchmark read from {place}"),
        )
    };
    let embedded = images
        .iter()
        .all(|(_, i)| matches!(i, HaImages::Embedded(_)));
    let humans = human_source(ha, embedded, spec_path)?;
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
        humans: humans.clone(),
    }));
    let mut data: Vec<DataStatus> = benchmark_status(ha, &images).into_iter().collect();
    data.extend(humans.map(|h| human_status(ha, &h)));
    Ok(AnalysisPlan { stages, data })
}

/// The data table's row for the benchmark folder: found when every dataset asked for is
/// there, else which are not.
fn benchmark_status(ha: &HaSpec, images: &[(HaDataset, HaImages)]) -> Option<DataStatus> {
    if images
        .iter()
        .all(|(_, i)| matches!(i, HaImages::Embedded(_)))
    {
        return None;
    }
    let root = benchmark_root(ha);
    let missing: Vec<&DataProblem> = images
        .iter()
        .filter_map(|(_, i)| match i {
            HaImages::Missing(problem) => Some(&**problem),
            _ => None,
        })
        .collect();
    let found = images.len() - missing.len();
    Some(match missing.first() {
        None => DataStatus {
            root,
            state: DataState::Found,
            detail: format!("{found} of {} datasets", images.len()),
        },
        Some(first) if found == 0 && first.state == DataState::Missing => DataStatus {
            root,
            state: DataState::Missing,
            detail: first.detail.clone(),
        },
        Some(first) => DataStatus {
            root,
            state: DataState::Incomplete,
            detail: format!(
                "{found} of {} datasets; {} cannot be read, e.g. {}",
                images.len(),
                missing.len(),
                first.detail
            ),
        },
    })
}

/// The data table's row for the human trials: the datasets found, or why none can be read.
fn human_status(ha: &HaSpec, humans: &HumanSource) -> DataStatus {
    let root = human_root(ha);
    match humans {
        HumanSource::Ready(trials) => DataStatus {
            root,
            state: DataState::Found,
            detail: if trials.absent.is_empty() {
                format!("{} of {} datasets", trials.trials.len(), ha.datasets.len())
            } else {
                format!(
                    "{} of {} datasets (none for {})",
                    trials.trials.len(),
                    ha.datasets.len(),
                    trials
                        .absent
                        .iter()
                        .map(|d| d.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        },
        HumanSource::Missing(problem) => DataStatus {
            root,
            state: problem.state,
            detail: problem.detail.clone(),
        },
    }
}
