//! Opens the train and val splits a spec's `[data]` section describes. A folder that is not
//! there is not an error here: its splits come back [`Opened::Missing`], so the plan still
//! compiles and only the stages that read them fail.

use std::path::Path;
use std::sync::Arc;

use super::imagefolder::ImageFolder;
use super::root::{DataRoot, DataStatus, Opened};
use super::shapes::{SHAPE_CLASSES, ShapesConfig, ShapesDataset};
use super::{Dataset, Split};
use crate::spec::{BadImagePolicy, DataSource, DataSpec};

/// ImageNet-1k's class count, known before any folder is read.
pub const IMAGENET_CLASSES: usize = super::imagenet::NUM_CLASSES;

/// A spec's two splits and the folder they come from (none for generated data).
pub struct SplitData {
    pub train: Opened<Arc<dyn Dataset>>,
    pub val: Opened<Arc<dyn Dataset>>,
    pub root: Option<DataRoot>,
}

impl SplitData {
    /// Rows of `pvr check`'s data table: one per split read from disk; the training split
    /// only when something trains (`reads_train`), so a given pool scored on `val/` alone
    /// needs no `train/`.
    pub fn statuses(&self, reads_train: bool) -> Vec<DataStatus> {
        let Some(root) = &self.root else {
            return Vec::new();
        };
        fn images(split: &'static str) -> impl Fn(&Arc<dyn Dataset>) -> String {
            move |data| {
                format!(
                    "{split}: {} images in {} classes",
                    data.len(),
                    data.num_classes()
                )
            }
        }
        let mut rows = Vec::new();
        if reads_train {
            rows.push(self.train.status(root, images("train")));
        }
        rows.push(self.val.status(root, images("val")));
        rows
    }

    /// Class names for reports: the validation split's, ImageNet's own while its folder is
    /// missing, or numbered ones.
    pub fn class_names(&self, spec: &DataSpec, classes: usize) -> Vec<String> {
        match (self.val.get(), spec.source) {
            (Ok(val), _) => val.class_names(),
            (Err(_), DataSource::Imagenet) => super::imagenet::imagenet_classes()
                .iter()
                .map(|class| class.name.to_string())
                .collect(),
            (Err(_), _) => (0..classes).map(|class| format!("class {class}")).collect(),
        }
    }

    /// Classes of the data: known from the source where it has a fixed class list, else from
    /// whichever split could be read.
    pub fn num_classes(&self, spec: &DataSpec) -> Option<usize> {
        planned_classes(spec).or_else(|| {
            [&self.train, &self.val]
                .into_iter()
                .find_map(|split| split.get().ok().map(|data| data.num_classes()))
        })
    }
}

/// The class count a source has before reading anything: `shapes` 10, ImageNet 1000; an
/// arbitrary image folder only knows once it is read.
pub fn planned_classes(spec: &DataSpec) -> Option<usize> {
    match spec.source {
        DataSource::Shapes => Some(SHAPE_CLASSES.len()),
        DataSource::Imagenet => Some(IMAGENET_CLASSES),
        DataSource::Imagefolder => None,
    }
}

/// The folder a spec's on-disk data comes from, with what to put there.
pub fn data_root(spec: &DataSpec) -> Option<DataRoot> {
    let (dataset, layout) = match spec.source {
        DataSource::Shapes => return None,
        DataSource::Imagefolder => (
            "the image folder",
            "`train/<class>/<image>` and `val/<class>/<image>`",
        ),
        DataSource::Imagenet => (
            "ImageNet-1k",
            "`train/<wnid>/*.JPEG`, and `val/<wnid>/*.JPEG` or a flat `val/*.JPEG` with the devkit's \
             `ILSVRC2012_validation_ground_truth.txt` + `meta.mat` or `LOC_val_solution.csv`",
        ),
    };
    Some(DataRoot {
        dataset: dataset.into(),
        key: "data.path".into(),
        env: spec.path_env.clone(),
        path: spec.path.as_ref().map(Into::into),
        layout: layout.into(),
    })
}

pub fn open_datasets(spec: &DataSpec, experiment_seed: u64) -> anyhow::Result<SplitData> {
    let Some(root) = data_root(spec) else {
        let config = |split, len| ShapesConfig {
            seed: spec.seed.unwrap_or(experiment_seed),
            image_size: spec.image_size,
            len,
            split,
            texture_correlation: spec.texture_correlation,
            distractors: spec.distractors,
        };
        let train: Arc<dyn Dataset> =
            Arc::new(ShapesDataset::new(config(Split::Train, spec.train_size))?);
        let val: Arc<dyn Dataset> =
            Arc::new(ShapesDataset::new(config(Split::Val, spec.val_size))?);
        return Ok(SplitData {
            train: Opened::Ready(train),
            val: Opened::Ready(val),
            root: None,
        });
    };
    let open = |split| root.open(|path| open_split(spec, path, split));
    Ok(SplitData {
        train: open(Split::Train),
        val: open(Split::Val),
        root: Some(root),
    })
}

/// One split from disk; the other is not looked at, so `val/` alone is enough to evaluate a
/// given pool.
fn open_split(spec: &DataSpec, root: &Path, split: Split) -> anyhow::Result<Arc<dyn Dataset>> {
    // ImageNet's classes must be the 1000 ImageNet-1k wnids (the error names the tree), its
    // labels torchvision's indices and its class names torchvision's.
    let folder = match spec.source {
        DataSource::Imagenet => ImageFolder::open_imagenet(root, split, spec.image_size)?,
        _ => ImageFolder::open(root, split, spec.image_size)?,
    };
    Ok(Arc::new(match spec.on_bad_image {
        BadImagePolicy::Fail => folder,
        BadImagePolicy::Skip => folder.without_unreadable()?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn val_opens_without_a_train_folder_and_imagenet_names_foreign_classes() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("val/cat/a.png");
        std::fs::create_dir_all(png.parent().unwrap()).unwrap();
        image::RgbImage::from_pixel(5, 5, image::Rgb([1, 2, 3]))
            .save(&png)
            .unwrap();
        let mut spec = DataSpec {
            source: DataSource::Imagefolder,
            path: Some(dir.path().display().to_string()),
            image_size: 4,
            ..DataSpec::default()
        };
        let data = open_datasets(&spec, 0).unwrap();
        let val = data.val.get().unwrap();
        assert_eq!((val.len(), val.num_classes()), (1, 1));
        let train = data.train.problem().unwrap();
        assert!(
            train
                .detail
                .contains(&dir.path().join("train").display().to_string()),
            "{}",
            train.detail
        );
        assert_eq!(
            data.statuses(false).len(),
            1,
            "no train row without training"
        );
        spec.source = DataSource::Imagenet;
        let data = open_datasets(&spec, 0).unwrap();
        let val = data.val.problem().unwrap();
        assert!(
            val.detail.contains("not ImageNet-1k classes: cat"),
            "{}",
            val.detail
        );
        assert_eq!(data.num_classes(&spec), Some(IMAGENET_CLASSES));
    }

    #[test]
    fn shapes_splits_are_ready_and_distinct() {
        let spec = DataSpec::default();
        let data = open_datasets(&spec, 3).unwrap();
        let (train, val) = (data.train.get().unwrap(), data.val.get().unwrap());
        assert_ne!(train.fingerprint(), val.fingerprint());
        assert_eq!(val.len(), spec.val_size);
        assert!(data.statuses(true).is_empty());
    }
}
