//! `[data]`: where the images come from (generated `shapes`, an image folder, ImageNet) and how
//! they are sized.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataSource {
    /// pvr's embedded procedural dataset.
    Shapes,
    /// `root/{train,val}/<class>/<image>` on disk.
    Imagefolder,
    /// ImageNet-1k on disk as people have it: 1000 classes in torchvision's order (sorted
    /// wnids), known before the folder is read, so the study plans without the data.
    Imagenet,
}

impl DataSource {
    /// Images on disk (rather than generated).
    pub fn is_on_disk(self) -> bool {
        self != DataSource::Shapes
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    #[serde(default = "default_source")]
    pub source: DataSource,
    /// Dataset root for `imagefolder`; `~` and `$VARS` are not expanded.
    #[serde(default)]
    pub path: Option<String>,
    /// An environment variable holding the dataset root when `path` is not given (the
    /// ImageNet experiments name `PVR_IMAGENET`), so one file serves every machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_env: Option<String>,
    #[serde(default = "default_image_size")]
    pub image_size: usize,
    /// Number of generated training images (shapes only).
    #[serde(default = "default_train_size")]
    pub train_size: usize,
    /// Number of generated validation images (shapes only).
    #[serde(default = "default_val_size")]
    pub val_size: usize,
    /// Probability that a shapes object wears its own class's texture.
    #[serde(default = "default_texture_correlation")]
    pub texture_correlation: f32,
    /// Maximum number of distractor blobs per shapes image.
    #[serde(default = "default_distractors")]
    pub distractors: usize,
    /// Seed of the generated data; defaults to the experiment seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// `imagefolder`: an image file that cannot be decoded fails the run naming it (`fail`),
    /// or is left out of its split and counted in the report (`skip`; every image is decoded
    /// once when the data is opened).
    #[serde(default = "default_on_bad_image")]
    pub on_bad_image: BadImagePolicy,
}

crate::named_enum! {
    /// What to do with an image file that cannot be decoded.
    pub enum BadImagePolicy ("bad-image policy") {
        Fail = "fail",
        Skip = "skip",
    }
}

fn default_on_bad_image() -> BadImagePolicy {
    BadImagePolicy::Fail
}

fn default_source() -> DataSource {
    DataSource::Shapes
}
fn default_image_size() -> usize {
    32
}
fn default_train_size() -> usize {
    4000
}
fn default_val_size() -> usize {
    1000
}
fn default_texture_correlation() -> f32 {
    0.8
}
fn default_distractors() -> usize {
    3
}

impl Default for DataSpec {
    fn default() -> Self {
        Self {
            source: default_source(),
            path: None,
            path_env: None,
            image_size: default_image_size(),
            train_size: default_train_size(),
            val_size: default_val_size(),
            texture_correlation: default_texture_correlation(),
            distractors: default_distractors(),
            seed: None,
            on_bad_image: default_on_bad_image(),
        }
    }
}
