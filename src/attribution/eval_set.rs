//! The images an attribution stage explains and the ground truth it is scored against: the
//! experiment's `shapes` validation images with their object masks, or PASCAL VOC segmentation
//! images with their class masks, at the network's input size.

use rayon::prelude::*;
use std::sync::Arc;

use anyhow::Context;
use serde_json::{Value, json};

use crate::data::root::DataProblem;
use crate::data::voc_classes::voc_class_of_imagenet;
use crate::data::voc_segmentation::{ClassMask, VOC_VOID, VocSegmentation, resize_and_crop};
use crate::data::{Dataset, ImageF32};
use crate::metrics::localization::IGNORED;
use crate::spec::attribution::{Compat, MaskPolicy};

/// Where an image's object pixels are.
#[derive(Debug, Clone)]
pub enum Truth {
    /// One object of the image's class: 1 on it, 0 elsewhere.
    Object(Vec<u8>),
    /// VOC class indices (0 background, 1..=20, 255 void).
    VocClasses(ClassMask),
}

/// One image to explain, at the network's input size, RGB in [0, 1] (not yet normalised).
#[derive(Debug, Clone)]
pub struct EvalItem {
    /// `val/000017` for a dataset image, `<split>/<VOC id>` (`val/2011_000003`) for VOC.
    pub id: String,
    /// Position in its source, for deterministic per-image randomness.
    pub index: usize,
    pub image: ImageF32,
    /// Ground-truth class among the model's classes (none for VOC).
    pub label: Option<usize>,
    pub truth: Truth,
}

impl EvalItem {
    /// Pixels on an object (any class; void and background are off), for outlining in figures.
    pub fn object_pixels(&self) -> Vec<bool> {
        match &self.truth {
            Truth::Object(mask) => mask.iter().map(|&m| m != 0).collect(),
            Truth::VocClasses(mask) => mask
                .classes
                .iter()
                .map(|&c| c != 0 && c != VOC_VOID)
                .collect(),
        }
    }

    /// The scoring mask for a map explaining `target`: 1 object, 0 background, [`IGNORED`] left
    /// out (see `docs/spec.md` for the policies).
    pub fn mask_for(&self, target: usize, policy: MaskPolicy, compat: Compat) -> Vec<u8> {
        match &self.truth {
            Truth::Object(mask) => match policy {
                MaskPolicy::Target if self.label != Some(target) => vec![0; mask.len()],
                _ => mask.iter().map(|&m| u8::from(m != 0)).collect(),
            },
            Truth::VocClasses(mask) if compat == Compat::Study => mask.red_channel_mask(),
            Truth::VocClasses(mask) => {
                let target_class = voc_class_of_imagenet(target);
                mask.classes
                    .iter()
                    .map(|&c| match (c, policy) {
                        (VOC_VOID, _) => IGNORED,
                        (0, _) => 0,
                        (_, MaskPolicy::Objects) => 1,
                        (c, MaskPolicy::Target) => u8::from(Some(c) == target_class),
                    })
                    .collect()
            }
        }
    }
}

/// The source of the explained images.
pub enum EvalImages {
    /// The first `count` images of a dataset split that has masks (`shapes`).
    Dataset {
        data: Arc<dyn Dataset>,
        split: &'static str,
        count: usize,
    },
    /// VOC segmentation images, resized (shorter side) and centre-cropped to `size`.
    Voc {
        voc: VocSegmentation,
        size: usize,
        fingerprint: String,
        /// The split list the images come from (`val`), or `all` for every mask: the image
        /// ids' prefix.
        split: String,
    },
    /// The VOC folder is not there: the stages that need it fail with this.
    Missing(Arc<DataProblem>),
}

impl EvalImages {
    pub fn dataset(data: Arc<dyn Dataset>, split: &'static str, limit: Option<usize>) -> Self {
        let count = limit.map_or(data.len(), |n| n.min(data.len()));
        EvalImages::Dataset { data, split, count }
    }

    pub fn voc(voc: VocSegmentation, size: usize, split: &str) -> anyhow::Result<Self> {
        let fingerprint = voc.fingerprint()?;
        Ok(EvalImages::Voc {
            voc,
            size,
            fingerprint,
            split: split.to_string(),
        })
    }

    pub fn len(&self) -> usize {
        match self {
            EvalImages::Dataset { count, .. } => *count,
            EvalImages::Voc { voc, .. } => voc.len(),
            EvalImages::Missing(_) => 0,
        }
    }

    /// Why the images cannot be read, when they cannot.
    pub fn problem(&self) -> Option<&DataProblem> {
        match self {
            EvalImages::Missing(problem) => Some(problem),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the stage keys depend on: the content, never absolute paths.
    pub fn key_params(&self) -> Value {
        match self {
            EvalImages::Dataset { data, split, count } => {
                json!({ "source": "dataset", "split": split, "data": data.fingerprint(), "count": count })
            }
            EvalImages::Voc {
                voc,
                size,
                fingerprint,
                ..
            } => json!({ "source": "voc", "data": fingerprint, "count": voc.len(), "size": size }),
            EvalImages::Missing(problem) => {
                json!({ "source": "voc", "data": format!("missing:{}", problem.root.key) })
            }
        }
    }

    /// A sentence for the report.
    pub fn describe(&self) -> String {
        match self {
            EvalImages::Dataset { split, count, .. } => {
                format!("the first {count} images of the {split} split, with their object masks")
            }
            EvalImages::Voc { voc, size, .. } => format!(
                "{} PASCAL VOC images ({}), resized and centre-cropped to {size} px",
                voc.len(),
                voc.source
            ),
            EvalImages::Missing(problem) => problem.to_string(),
        }
    }

    pub fn item(&self, index: usize) -> anyhow::Result<EvalItem> {
        match self {
            EvalImages::Dataset { data, split, .. } => {
                let sample = data.get(index)?;
                let mask = sample.mask.with_context(|| {
                    format!(
                        "{split} image {index} has no object mask, which attribution scoring needs"
                    )
                })?;
                Ok(EvalItem {
                    id: format!("{split}/{index:06}"),
                    index,
                    image: sample.image,
                    label: Some(sample.label),
                    truth: Truth::Object(mask),
                })
            }
            EvalImages::Voc {
                voc, size, split, ..
            } => {
                let image = voc.image(index)?;
                let mask = voc.mask(index)?;
                anyhow::ensure!(
                    (image.width, image.height) == (mask.width, mask.height),
                    "VOC {}: the image is {}x{} but its mask {}x{}",
                    voc.ids()[index],
                    image.width,
                    image.height,
                    mask.width,
                    mask.height
                );
                Ok(EvalItem {
                    id: format!("{split}/{}", voc.ids()[index]),
                    index,
                    image: resize_and_crop(&image, *size),
                    label: None,
                    truth: Truth::VocClasses(mask.resize_and_crop(*size)),
                })
            }
            EvalImages::Missing(problem) => Err(anyhow::Error::new((**problem).clone())),
        }
    }

    /// Items `indices`, loaded on the machine's cores.
    pub fn items(&self, indices: &[usize]) -> anyhow::Result<Vec<EvalItem>> {
        indices.par_iter().map(|&i| self.item(i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(truth: Truth, label: Option<usize>) -> EvalItem {
        EvalItem {
            id: "x".into(),
            index: 0,
            image: ImageF32::zeros(2, 2),
            label,
            truth,
        }
    }

    #[test]
    fn shapes_masks_follow_the_policy() {
        let object = item(Truth::Object(vec![0, 1, 1, 0]), Some(3));
        let p = |target, policy| object.mask_for(target, policy, Compat::None);
        assert_eq!(p(7, MaskPolicy::Objects), vec![0, 1, 1, 0]);
        assert_eq!(p(3, MaskPolicy::Target), vec![0, 1, 1, 0]);
        // Explaining another class than the object's: nothing of it is in the image.
        assert_eq!(p(7, MaskPolicy::Target), vec![0, 0, 0, 0]);
    }

    #[test]
    fn voc_masks_follow_the_policy_and_keep_void_out() {
        // background, cat (8), dog (12), void.
        let mask = ClassMask {
            width: 2,
            height: 2,
            classes: vec![0, 8, 12, VOC_VOID],
        };
        let voc = item(Truth::VocClasses(mask), None);
        assert_eq!(
            voc.mask_for(0, MaskPolicy::Objects, Compat::None),
            vec![0, 1, 1, IGNORED]
        );
        // ImageNet 281 (tabby) is a cat; 207 (golden retriever) a dog; 0 (tench) neither.
        assert_eq!(
            voc.mask_for(281, MaskPolicy::Target, Compat::None),
            vec![0, 1, 0, IGNORED]
        );
        assert_eq!(
            voc.mask_for(207, MaskPolicy::Target, Compat::None),
            vec![0, 0, 1, IGNORED]
        );
        assert_eq!(
            voc.mask_for(0, MaskPolicy::Target, Compat::None),
            vec![0, 0, 0, IGNORED]
        );
        // The study: red channel, cat and dog both even -> background, void -> object.
        assert_eq!(
            voc.mask_for(0, MaskPolicy::Objects, Compat::Study),
            vec![0, 0, 0, 1]
        );
    }
}
