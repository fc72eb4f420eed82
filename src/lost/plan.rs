//! From a spec's `[lost]` section to the `lost[round]` stages and `report[lost]`.

use std::sync::Arc;

use super::report::LostReportStage;
use super::run::LostSettings;
use super::stage::{LostData, LostStage};
use crate::analysis::{AnalysisPlan, PoolPlan};
use crate::data::root::{DataRoot, DataStatus, Opened};
use crate::data::shapes::{ShapesConfig, ShapesDataset};
use crate::data::voc_boxes::VocBoxes;
use crate::data::{Dataset, Split};
use crate::graph::Stage;
use crate::models::PatchOptions;
use crate::spec::{LostDataset, LostSpec, Spec};

/// The LOST stages of an experiment: one per pooled model (rounds `0..=rounds`) and the
/// report; none without a `[lost]` section. Opens the dataset now, so a missing VOC folder is
/// reported before anything runs.
pub fn plan(spec: &Spec, pool: &PoolPlan<'_>) -> anyhow::Result<AnalysisPlan> {
    let PoolPlan {
        context, rounds, ..
    } = *pool;
    let Some(lost) = &spec.lost else {
        return Ok(AnalysisPlan::default());
    };
    let (data, status) = open_lost_data(lost, spec)?;
    let data = Arc::new(data);
    let mut stages: Vec<Box<dyn Stage>> = (0..=rounds)
        .map(|round| {
            Box::new(LostStage {
                context: context.clone(),
                round,
                data: data.clone(),
            }) as Box<dyn Stage>
        })
        .collect();
    stages.push(Box::new(LostReportStage {
        experiment: spec.experiment.name.clone(),
        rounds,
        data,
        bootstrap: lost.bootstrap,
        examples: lost.examples,
        seed: spec.experiment.seed,
    }));
    Ok(AnalysisPlan {
        stages,
        data: status.into_iter().collect(),
    })
}

/// The VOC folder `[lost]` reads, for the data table and the stages' messages.
pub fn voc_root(lost: &LostSpec) -> DataRoot {
    DataRoot {
        dataset: "PASCAL VOC (detection boxes)".into(),
        key: "lost.path".into(),
        env: lost.path_env.clone(),
        path: lost.path.as_ref().map(Into::into),
        layout: format!(
            "VOCdevkit, or its VOC2007/VOC2012 year folder, with Annotations/, JPEGImages/ and ImageSets/Main/{}.txt",
            lost.split
        ),
    }
}

fn open_lost_data(lost: &LostSpec, spec: &Spec) -> anyhow::Result<(LostData, Option<DataStatus>)> {
    let settings = LostSettings {
        k: lost.k,
        patch: PatchOptions {
            dilate_last_stage: lost.dilate,
        },
        resize: lost.resize,
        batch_size: lost.batch_size,
    };
    let mut status = None;
    let (dataset, ids, description): (Opened<Arc<dyn Dataset>>, Vec<String>, String) = match lost
        .dataset
    {
        LostDataset::Shapes => {
            let size = lost.image_size.unwrap_or(spec.data.image_size);
            // Scenes are a pure function of their index: the validation stream serves any
            // number of images, the first `val_size` being the validation set itself.
            let n = lost.images.unwrap_or(spec.data.val_size);
            let shapes = ShapesDataset::new(ShapesConfig {
                seed: spec.data.seed.unwrap_or(spec.experiment.seed),
                image_size: size,
                len: n,
                split: Split::Val,
                texture_correlation: spec.data.texture_correlation,
                distractors: spec.data.distractors,
            })?;
            let ids = (0..n).map(|i| shapes.image_id(i)).collect();
            let shapes: Arc<dyn Dataset> = Arc::new(shapes);
            (Opened::Ready(shapes), ids, format!("shapes val, {size} px"))
        }
        LostDataset::Voc => {
            let voc = voc_root(lost).open(|path| VocBoxes::open(path, &lost.split, lost.no_hard));
            let ids = match voc.get() {
                Ok(voc) => {
                    let n = lost.images.unwrap_or(voc.len()).min(voc.len());
                    (0..n).map(|i| voc.image_id(i)).collect()
                }
                Err(_) => Vec::new(),
            };
            status = Some(voc.status(&voc_root(lost), |_| {
                format!("{} images of `{}`", ids.len(), lost.split)
            }));
            let dataset = match voc {
                Opened::Ready(voc) => Opened::Ready(Arc::new(voc) as Arc<dyn Dataset>),
                Opened::Missing(problem) => Opened::Missing(problem),
            };
            let hard = if lost.no_hard { ", no_hard" } else { "" };
            (dataset, ids, format!("VOC {}{hard}", lost.split))
        }
    };
    Ok((
        LostData {
            dataset,
            ids,
            description,
            settings,
        },
        status,
    ))
}
