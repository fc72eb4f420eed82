//! `[lost]`: object discovery with LOST on every pooled model, scored with CorLoc.

use serde::{Deserialize, Serialize};

use super::Spec;

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
    crate::lost::DEFAULT_K
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

/// Problems with `[lost]`, as (dotted key, message).
pub fn validate(lost: &LostSpec, spec: &Spec) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, key: &str, message: String| {
        if !ok {
            problems.push((key.to_string(), message));
        }
    };
    match lost.dataset {
        LostDataset::Voc => check(
            lost.path.is_some(),
            "lost.path",
            "`dataset = \"voc\"` needs `path`, the VOC year folder, e.g. `--set lost.path=/data/VOCdevkit/VOC2012`".into(),
        ),
        LostDataset::Shapes => {
            check(
                lost.path.is_none(),
                "lost.path",
                "`path` is for `dataset = \"voc\"`; the shapes scenes are generated".into(),
            );
            let size = lost.image_size.unwrap_or(spec.data.image_size);
            check(
                (crate::data::shapes::MIN_IMAGE_SIZE..=1024).contains(&size),
                "lost.image_size",
                format!(
                    "{size} px is outside what the shapes renderer draws ({}..=1024)",
                    crate::data::shapes::MIN_IMAGE_SIZE
                ),
            );
        }
    }
    if let Ok(arch) = spec.model.arch.parse::<crate::models::Architecture>() {
        check(
            !lost.dilate || !arch.is_transformer(),
            "lost.dilate",
            format!(
                "{} has no strided last stage to dilate (only ResNets do)",
                arch.name()
            ),
        );
    }
    check(
        !lost.split.is_empty() && !lost.split.contains(['/', '\\']),
        "lost.split",
        format!("`{}` is not a split name such as `trainval`", lost.split),
    );
    check(
        lost.images != Some(0),
        "lost.images",
        "must be at least 1 (leave it out for every image)".into(),
    );
    check(
        lost.k >= 1,
        "lost.k",
        "must be at least 1 (LOST's default is 100)".into(),
    );
    if let Some(side) = lost.resize {
        check(
            (8..=2048).contains(&side),
            "lost.resize",
            format!("{side} px is not in 8..=2048"),
        );
    }
    check(
        lost.batch_size >= 1,
        "lost.batch_size",
        "must be at least 1".into(),
    );
    check(
        lost.bootstrap <= 100_000,
        "lost.bootstrap",
        format!("{} resamples is more than 100000", lost.bootstrap),
    );
    check(
        lost.examples <= 32,
        "lost.examples",
        format!("{} example images is more than 32", lost.examples),
    );
    problems
}
