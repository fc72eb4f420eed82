//! Top-k accuracy and cross-entropy, accumulated over batches of logits.

use serde::{Deserialize, Serialize};

/// Validation results of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalMetrics {
    #[serde(deserialize_with = "f64_or_nan")]
    pub top1: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub top5: f64,
    /// Mean cross-entropy (NaN after a diverged training: JSON writes it as `null`).
    #[serde(deserialize_with = "f64_or_nan")]
    pub loss: f64,
    pub images: usize,
}

/// Reads back a float JSON wrote as `null` (it has no NaN) as NaN, so a diverged model's record
/// still loads and its report says NaN instead of failing.
pub fn f64_or_nan<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// Running sums over batches.
#[derive(Debug, Clone, Default)]
pub struct ClassificationTally {
    top1: usize,
    top5: usize,
    loss_sum: f64,
    images: usize,
}

impl ClassificationTally {
    /// Adds a batch: `logits` row-major `[labels.len(), classes]`.
    pub fn add(&mut self, logits: &[f32], labels: &[i64], classes: usize) {
        for (row, &label) in logits.chunks_exact(classes).zip(labels) {
            let label = label as usize;
            let rank = rank_of(row, label);
            self.top1 += usize::from(rank < 1);
            self.top5 += usize::from(rank < 5);
            self.loss_sum += cross_entropy(row, label);
            self.images += 1;
        }
    }

    pub fn finish(&self) -> EvalMetrics {
        let n = self.images.max(1) as f64;
        EvalMetrics {
            top1: self.top1 as f64 / n,
            top5: self.top5 as f64 / n,
            loss: self.loss_sum / n,
            images: self.images,
        }
    }
}

/// Classes kept per image in the per-image predictions.
pub const TOP_K: usize = 5;

/// One image's prediction: its top classes with their softmax probabilities (ranked as
/// [`rank_of`] ranks, ties to the lower index), its loss and whether top-1 is right.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub label: usize,
    /// Up to [`TOP_K`] `(class, probability)`, most probable first.
    pub top: Vec<(usize, f32)>,
    pub loss: f64,
    pub correct: bool,
}

impl Prediction {
    /// The prediction of one logits row for an image of class `label`.
    pub fn of(row: &[f32], label: usize) -> Prediction {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let sum: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
        let mut order: Vec<usize> = (0..row.len()).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
        let top = order
            .iter()
            .take(TOP_K)
            .map(|&class| (class, ((row[class] as f64 - max).exp() / sum) as f32))
            .collect();
        Prediction {
            label,
            top,
            loss: cross_entropy(row, label),
            correct: rank_of(row, label) == 0,
        }
    }
}

/// How many classes score strictly higher than `label`, counting ties before it as higher
/// (a tie is not a win): rank 0 means a top-1 hit.
pub fn rank_of(row: &[f32], label: usize) -> usize {
    let score = row[label];
    row.iter()
        .enumerate()
        .filter(|&(class, &value)| value > score || (value == score && class < label))
        .count()
}

/// `-log softmax(row)[label]`, computed stably.
pub fn cross_entropy(row: &[f32], label: usize) -> f64 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let log_sum: f64 = row
        .iter()
        .map(|&v| (v as f64 - max).exp())
        .sum::<f64>()
        .ln()
        + max;
    log_sum - row[label] as f64
}

#[cfg(test)]
mod tests {
    #[test]
    fn predictions_rank_like_the_tally_and_carry_softmax_probabilities() {
        use super::Prediction;
        let row = [1.0f32, 3.0, 3.0, -2.0, 0.5, 2.0, 0.0];
        let p = Prediction::of(&row, 2);
        let classes: Vec<usize> = p.top.iter().map(|t| t.0).collect();
        // The tie between 1 and 2 goes to the lower index, as `rank_of` counts it.
        assert_eq!(classes, [1, 2, 5, 0, 4]);
        assert!(!p.correct);
        assert!(Prediction::of(&row, 1).correct);
        let sum: f64 = row.iter().map(|&v| (v as f64).exp()).sum();
        assert!((p.top[0].1 as f64 - 3f64.exp() / sum).abs() < 1e-6);
        assert!((p.loss - (sum.ln() - 3.0)).abs() < 1e-9);
        let two = Prediction::of(&[0.0, 1.0], 0);
        assert_eq!(two.top.len(), 2, "fewer classes than TOP_K keep them all");
    }

    use super::*;

    #[test]
    fn a_nan_metric_survives_json() {
        let metrics = EvalMetrics {
            top1: 0.1,
            top5: 0.5,
            loss: f64::NAN,
            images: 10,
        };
        let text = serde_json::to_string(&metrics).unwrap();
        assert!(text.contains("\"loss\":null"), "{text}");
        let back: EvalMetrics = serde_json::from_str(&text).unwrap();
        assert!(back.loss.is_nan());
        assert_eq!(back.top1, 0.1);
    }

    #[test]
    fn top_k_counts_ranks() {
        let mut tally = ClassificationTally::default();
        // 6 classes; labels 0 (rank 0), 1 (rank 5), 2 (rank 4).
        let logits = [
            9.0, 1.0, 2.0, 3.0, 4.0, 5.0, //
            9.0, 1.0, 8.0, 7.0, 6.0, 5.0, //
            9.0, 8.0, 1.0, 7.0, 6.0, 0.0,
        ];
        tally.add(&logits, &[0, 1, 2], 6);
        let metrics = tally.finish();
        assert_eq!(metrics.images, 3);
        assert!((metrics.top1 - 1.0 / 3.0).abs() < 1e-12);
        assert!((metrics.top5 - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn ties_are_not_wins() {
        assert_eq!(rank_of(&[1.0, 1.0], 1), 1);
        assert_eq!(rank_of(&[1.0, 1.0], 0), 0);
    }

    #[test]
    fn cross_entropy_of_uniform_logits_is_log_classes() {
        assert!((cross_entropy(&[0.0; 10], 3) - 10f64.ln()).abs() < 1e-12);
        assert!(cross_entropy(&[100.0, 0.0], 0) < 1e-12);
    }
}
