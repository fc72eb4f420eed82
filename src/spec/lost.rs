//! `[lost]`: object discovery with LOST on every pooled model, scored with CorLoc.

use serde::{Deserialize, Serialize};

/// LOST's default number of candidate patches for the seed expansion.
pub const DEFAULT_K: usize = 100;

/// Where LOST's images and ground-truth boxes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LostDataset {
    /// The embedded `shapes` validation scenes (one object box each).
    Shapes,
    /// A PASCAL VOC year folder: `Annotations/*.xml` and `ImageSets/Main/<split>.txt`.
    Voc,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LostSpec {
    #[serde(default = "default_dataset")]
    pub dataset: LostDataset,
    /// VOC year folder (`VOCdevkit/VOC2012`); `voc` only.
    #[serde(default)]
    pub path: Option<String>,
    /// An environment variable holding `path` when it is not given (the paper files: `PVR_VOC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_env: Option<String>,
    /// VOC detection split, a file of `ImageSets/Main/`.
    #[serde(default = "default_split")]
    pub split: String,
    /// VOC: truncated and difficult objects are not ground truth; images left without objects
    /// are skipped.
    #[serde(default)]
    pub no_hard: bool,
    /// The first this many images of the dataset; all of them when absent (`shapes`: the
    /// validation set's size, `data.val_size`).
    #[serde(default)]
    pub images: Option<usize>,
    /// `shapes`: side the scenes are rendered at; the experiment's `data.image_size` by default.
    #[serde(default)]
    pub image_size: Option<usize>,
    /// Candidate patches for the seed expansion (capped at the patch count).
    #[serde(default = "default_k")]
    pub k: usize,
    /// CNNs: replace the last stage's stride by dilation (stride 32 -> 16).
    #[serde(default)]
    pub dilate: bool,
    /// Resize every image to this square side before LOST, so images batch; boxes are mapped
    /// back to the original image. Absent: no resize, images zero-padded to the patch stride.
    #[serde(default)]
    pub resize: Option<usize>,
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Bootstrap resamples of the images for the report's confidence intervals.
    #[serde(default = "default_bootstrap")]
    pub bootstrap: usize,
    /// Images shown in the report's example figure.
    #[serde(default = "default_examples")]
    pub examples: usize,
}

fn default_dataset() -> LostDataset {
    LostDataset::Shapes
}
fn default_split() -> String {
    "trainval".into()
}
fn default_k() -> usize {
    DEFAULT_K
}
fn default_batch_size() -> usize {
    32
}
fn default_bootstrap() -> usize {
    1000
}
fn default_examples() -> usize {
    6
}
