//! Opens the train and val splits a spec's `[data]` section describes, together or one at a
//! time (a pool given as weights is evaluated on `val/` alone, with no `train/` on disk).

use std::path::Path;
use std::sync::Arc;

use super::imagefolder::ImageFolder;
use super::shapes::{ShapesConfig, ShapesDataset};
use super::{Dataset, Split};
use crate::spec::{BadImagePolicy, DataSource, DataSpec};

/// Both splits: what training needs.
pub fn open_datasets(
    spec: &DataSpec,
    experiment_seed: u64,
) -> anyhow::Result<(Arc<dyn Dataset>, Arc<dyn Dataset>)> {
    Ok((
        open_split(spec, Split::Train, experiment_seed)?,
        open_split(spec, Split::Val, experiment_seed)?,
    ))
}

/// One split; the other is not looked at, so `val/` alone is enough to evaluate.
pub fn open_split(
    spec: &DataSpec,
    split: Split,
    experiment_seed: u64,
) -> anyhow::Result<Arc<dyn Dataset>> {
    match spec.source {
        DataSource::Shapes => {
            let len = match split {
                Split::Train => spec.train_size,
                Split::Val => spec.val_size,
            };
            Ok(Arc::new(ShapesDataset::new(ShapesConfig {
                seed: spec.seed.unwrap_or(experiment_seed),
                image_size: spec.image_size,
                len,
                split,
                texture_correlation: spec.texture_correlation,
                distractors: spec.distractors,
            })?))
        }
        DataSource::Imagefolder => {
            let root = spec.path.as_deref().ok_or_else(|| {
                anyhow::anyhow!("data.path is required for source = \"imagefolder\"")
            })?;
            let folder = ImageFolder::open(Path::new(root), split, spec.image_size)?;
            Ok(Arc::new(apply_policy(folder, spec.on_bad_image)?))
        }
    }
}

/// One split of ImageNet-1k at `root`: `train/<wnid>/`, `val/<wnid>/` or a flat `val/` with the
/// devkit's ground truth; the classes must be the 1000 ImageNet-1k WordNet ids (the error names
/// the tree), labels are torchvision's indices and class names torchvision's.
pub fn open_imagenet_split(
    root: &Path,
    split: Split,
    image_size: usize,
    on_bad_image: BadImagePolicy,
) -> anyhow::Result<Arc<dyn Dataset>> {
    let folder = ImageFolder::open_imagenet(root, split, image_size)?;
    Ok(Arc::new(apply_policy(folder, on_bad_image)?))
}

fn apply_policy(folder: ImageFolder, policy: BadImagePolicy) -> anyhow::Result<ImageFolder> {
    match policy {
        BadImagePolicy::Fail => Ok(folder),
        BadImagePolicy::Skip => folder.without_unreadable(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn val_opens_without_a_train_folder() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("val/cat/a.png");
        std::fs::create_dir_all(png.parent().unwrap()).unwrap();
        image::RgbImage::from_pixel(5, 5, image::Rgb([1, 2, 3]))
            .save(&png)
            .unwrap();
        let spec = DataSpec {
            source: DataSource::Imagefolder,
            path: Some(dir.path().display().to_string()),
            image_size: 4,
            ..DataSpec::default()
        };
        let val = open_split(&spec, Split::Val, 0).unwrap();
        assert_eq!((val.len(), val.num_classes()), (1, 1));
        let err = format!("{:#}", open_datasets(&spec, 0).err().unwrap());
        assert!(
            err.contains(&dir.path().join("train").display().to_string()),
            "{err}"
        );
        let err = format!(
            "{:#}",
            open_imagenet_split(dir.path(), Split::Val, 4, BadImagePolicy::Fail)
                .err()
                .unwrap()
        );
        assert!(err.contains("not ImageNet-1k classes: cat"), "{err}");
    }

    #[test]
    fn shapes_splits_match_the_pair() {
        let spec = DataSpec::default();
        let (train, val) = open_datasets(&spec, 3).unwrap();
        let alone = open_split(&spec, Split::Val, 3).unwrap();
        assert_eq!(alone.fingerprint(), val.fingerprint());
        assert_ne!(train.fingerprint(), val.fingerprint());
        assert_eq!(alone.len(), spec.val_size);
    }
}
