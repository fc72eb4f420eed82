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
