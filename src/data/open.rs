//! Opens the train and val splits a spec's `[data]` section describes.

use std::path::Path;
use std::sync::Arc;

use super::imagefolder::ImageFolder;
use super::shapes::{ShapesConfig, ShapesDataset};
use super::{Dataset, Split};
use crate::spec::{BadImagePolicy, DataSource, DataSpec};

pub fn open_datasets(
    spec: &DataSpec,
    experiment_seed: u64,
) -> anyhow::Result<(Arc<dyn Dataset>, Arc<dyn Dataset>)> {
    match spec.source {
        DataSource::Shapes => {
            let config = |split, len| ShapesConfig {
                seed: spec.seed.unwrap_or(experiment_seed),
                image_size: spec.image_size,
                len,
                split,
                texture_correlation: spec.texture_correlation,
                distractors: spec.distractors,
            };
            Ok((
                Arc::new(ShapesDataset::new(config(Split::Train, spec.train_size))?),
                Arc::new(ShapesDataset::new(config(Split::Val, spec.val_size))?),
            ))
        }
        DataSource::Imagefolder => {
            let root = spec.path.as_deref().ok_or_else(|| {
                anyhow::anyhow!("data.path is required for source = \"imagefolder\"")
            })?;
            let root = Path::new(root);
            let open = |split| -> anyhow::Result<Arc<dyn Dataset>> {
                let folder = ImageFolder::open(root, split, spec.image_size)?;
                Ok(Arc::new(match spec.on_bad_image {
                    BadImagePolicy::Fail => folder,
                    BadImagePolicy::Skip => folder.without_unreadable()?,
                }))
            };
            Ok((open(Split::Train)?, open(Split::Val)?))
        }
    }
}
