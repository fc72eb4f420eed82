//! From a spec's `[lost]` section to the `lost[round]` stages and `report[lost]`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use super::report::LostReportStage;
use super::run::LostSettings;
use super::stage::{LostData, LostStage};
use crate::analysis::PoolPlan;
use crate::data::shapes::{ShapesConfig, ShapesDataset};
use crate::data::voc_boxes::VocBoxes;
use crate::data::{Dataset, Split};
use crate::graph::Stage;
use crate::models::PatchOptions;
use crate::spec::{LostDataset, LostSpec, Spec};

/// The LOST stages of an experiment: one per pooled model (rounds `0..=rounds`) and the
/// report; none without a `[lost]` section. Opens the dataset now, so a missing VOC folder is
/// reported before anything runs.
pub fn plan(spec: &Spec, pool: &PoolPlan<'_>) -> anyhow::Result<Vec<Box<dyn Stage>>> {
    let PoolPlan {
        context, rounds, ..
    } = *pool;
    let Some(lost) = &spec.lost else {
        return Ok(Vec::new());
    };
    let data = Arc::new(open_lost_data(lost, spec)?);
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
    Ok(stages)
}

fn open_lost_data(lost: &LostSpec, spec: &Spec) -> anyhow::Result<LostData> {
    let settings = LostSettings {
        k: lost.k,
        patch: PatchOptions {
            dilate_last_stage: lost.dilate,
        },
        resize: lost.resize,
        batch_size: lost.batch_size,
    };
    let (dataset, ids, description): (Arc<dyn Dataset>, Vec<String>, String) = match lost.dataset {
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
            let ids = (0..n).map(|i| format!("val {i}")).collect();
            (Arc::new(shapes), ids, format!("shapes val, {size} px"))
        }
        LostDataset::Voc => {
            let path = lost
                .path
                .as_deref()
                .context("lost.path is required for dataset = \"voc\"")?;
            let voc = VocBoxes::open(Path::new(path), &lost.split, lost.no_hard)
                .context("opening the images of [lost] (lost.path)")?;
            let n = lost.images.unwrap_or(voc.len()).min(voc.len());
            let ids = (0..n)
                .map(|i| voc.id(i).unwrap_or_default().to_string())
                .collect();
            let hard = if lost.no_hard { ", no_hard" } else { "" };
            (Arc::new(voc), ids, format!("VOC {}{hard}", lost.split))
        }
    };
    Ok(LostData {
        dataset,
        ids,
        description,
        settings,
    })
}
