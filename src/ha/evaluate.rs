//! Scoring images with a network: ImageNet normalisation (the benchmark's only preprocessing),
//! a forward pass, and the decision in the model's class space or, for ImageNet-1000 models,
//! the benchmark's 16 categories.

use anyhow::Context;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::mapping::category_probabilities;
use crate::data::ImageF32;
use crate::data::augment::{IMAGENET_MEAN, IMAGENET_STD, batch_to_nchw, normalize};
use crate::metrics::classification::rank_of;
use crate::models::Network;

/// Which classes the decision is among.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassSpace {
    /// The model's own classes (the `shapes` classes for the embedded analogues).
    Native,
    /// The benchmark's 16 categories from 1000 ImageNet logits.
    Imagenet16,
}

/// One image's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Top-1 class.
    pub predicted: usize,
    /// How many classes score above the label (0 = top-1 hit, < 5 = top-5 hit).
    pub label_rank: usize,
}

/// Scores `images` (RGB in [0, 1], one size) against `labels` on a plain (eval-mode) device.
pub fn decide(
    network: &Network,
    images: &[ImageF32],
    labels: &[usize],
    space: ClassSpace,
    device: &Device,
) -> anyhow::Result<Vec<Scored>> {
    assert_eq!(images.len(), labels.len());
    let Some(first) = images.first() else {
        return Ok(Vec::new());
    };
    let normalised: Vec<ImageF32> = images
        .iter()
        .map(|image| {
            let mut image = image.clone();
            normalize(&mut image, IMAGENET_MEAN, IMAGENET_STD);
            image
        })
        .collect();
    let batch = Tensor::<4>::from_data(
        TensorData::new(
            batch_to_nchw(&normalised),
            [images.len(), 3, first.height, first.width],
        ),
        device,
    );
    let logits = network
        .forward(batch)
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|err| anyhow::anyhow!("reading logits: {err:?}"))
        .context("scoring human-alignment images")?;
    let classes = logits.len() / images.len();
    Ok(logits
        .chunks_exact(classes)
        .zip(labels)
        .map(|(row, &label)| {
            let probabilities: Vec<f32> = match space {
                ClassSpace::Native => softmax(row),
                ClassSpace::Imagenet16 => category_probabilities(row).to_vec(),
            };
            Scored {
                decision: decision(&probabilities, label),
                probabilities,
            }
        })
        .collect())
}

/// One image's decision and the probabilities it was taken on: the 16 categories' (the mean
/// softmax probability over each category's ImageNet classes) or the model's own classes'.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    pub decision: Decision,
    pub probabilities: Vec<f32>,
}

/// Softmax of one logits row; the decision on it equals the decision on the logits.
fn softmax(row: &[f32]) -> Vec<f32> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f64> = row.iter().map(|&v| ((v - max) as f64).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| (e / sum) as f32).collect()
}

/// The decision on one row of scores: the first best class and the label's rank.
pub fn decision(scores: &[f32], label: usize) -> Decision {
    let predicted = scores
        .iter()
        .enumerate()
        .fold(0, |best, (i, &v)| if v > scores[best] { i } else { best });
    Decision {
        predicted,
        label_rank: rank_of(scores, label),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_takes_the_first_best_and_ranks_the_label() {
        let d = decision(&[0.1, 0.7, 0.7, 0.2], 3);
        assert_eq!(d.predicted, 1);
        assert_eq!(d.label_rank, 2);
        assert_eq!(decision(&[0.1, 0.7, 0.7, 0.2], 1).label_rank, 0);
    }
}
