//! Collapse detection: a pool member whose results say nothing about pruning's benefit. Flagged
//! models stay in every table and plot, marked, and are never sweet spots
//! ([`crate::metrics::sweet_spot`]).
//!
//! A member is collapsed when
//! - a prunable tensor is entirely pruned (every path through it is cut: ViT-Small's
//!   zero-initialised classifier head pruned to 100% in round 1 is the case that prompted this),
//! - a tensor's sparsity passes [`LAYER_SPARSITY_LIMIT`] (99%: with under one weight in a hundred
//!   left, a layer is a bottleneck whatever the others keep), or
//! - its top-1 accuracy interval contains chance (one over the classes), so it cannot be told
//!   from guessing. The interval is Wilson's score interval at 95% over the evaluated images,
//!   which unlike the normal approximation stays inside [0, 1] near 0% and 100%.

use serde::{Deserialize, Serialize};

use super::{EvalRecord, RoundRecord};
use crate::prune::LayerSparsity;

/// A tensor above this sparsity collapses its model.
pub const LAYER_SPARSITY_LIMIT: f64 = 0.99;

/// The two-sided 95% normal quantile of the Wilson interval.
const Z95: f64 = 1.959_963_984_540_054;

/// Why a member counts as collapsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CollapseReason {
    /// Every weight of this tensor is pruned.
    TensorFullyPruned(String),
    /// This tensor's sparsity passes the limit.
    TensorOverLimit { tensor: String, sparsity: f64 },
    /// The top-1 interval contains chance.
    AccuracyAtChance { low: f64, high: f64, chance: f64 },
}

impl std::fmt::Display for CollapseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TensorFullyPruned(tensor) => write!(f, "{tensor} entirely pruned"),
            Self::TensorOverLimit { tensor, sparsity } => write!(
                f,
                "{tensor} at {:.1}% sparsity (limit {:.0}%)",
                100.0 * sparsity,
                100.0 * LAYER_SPARSITY_LIMIT
            ),
            Self::AccuracyAtChance { low, high, chance } => write!(
                f,
                "top-1 interval [{:.1}%, {:.1}%] contains chance {:.1}%",
                100.0 * low,
                100.0 * high,
                100.0 * chance
            ),
        }
    }
}

/// Wilson's 95% score interval of a proportion `rate` over `n` trials; `None` without trials or
/// with a non-finite rate (a diverged model).
pub fn wilson_interval(rate: f64, n: usize) -> Option<(f64, f64)> {
    if n == 0 || !rate.is_finite() {
        return None;
    }
    let n = n as f64;
    let z2 = Z95 * Z95;
    let centre = (rate + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (rate * (1.0 - rate) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Every reason the member is collapsed; empty for a healthy model.
pub fn collapse_reasons(record: &RoundRecord, eval: &EvalRecord) -> Vec<CollapseReason> {
    collapse_reasons_of(
        &record.measured.layers,
        eval.metrics.top1,
        eval.metrics.images,
        record.network.num_classes,
    )
}

/// [`collapse_reasons`] from the per-tensor sparsity, the top-1 over `images` and the number of
/// classes. A diverged model (NaN top-1) counts as at chance.
pub fn collapse_reasons_of(
    layers: &[LayerSparsity],
    top1: f64,
    images: usize,
    classes: usize,
) -> Vec<CollapseReason> {
    let mut reasons = Vec::new();
    for layer in layers {
        if layer.parameters > 0 && layer.zeros == layer.parameters {
            reasons.push(CollapseReason::TensorFullyPruned(layer.layer.clone()));
        } else if layer.sparsity > LAYER_SPARSITY_LIMIT {
            reasons.push(CollapseReason::TensorOverLimit {
                tensor: layer.layer.clone(),
                sparsity: layer.sparsity,
            });
        }
    }
    let chance = 1.0 / classes.max(1) as f64;
    let (low, high) = wilson_interval(top1, images).unwrap_or((0.0, 1.0));
    if low <= chance && chance <= high {
        reasons.push(CollapseReason::AccuracyAtChance { low, high, chance });
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(name: &str, parameters: usize, zeros: usize) -> LayerSparsity {
        LayerSparsity {
            layer: name.to_string(),
            parameters,
            zeros,
            sparsity: zeros as f64 / parameters as f64,
        }
    }

    #[test]
    fn a_zeroed_tensor_collapses_a_model_that_still_scores_well() {
        let layers = [layer("conv1.weight", 100, 50), layer("head.weight", 40, 40)];
        let reasons = collapse_reasons_of(&layers, 0.8, 1000, 10);
        assert_eq!(
            reasons,
            [CollapseReason::TensorFullyPruned("head.weight".into())]
        );
        assert_eq!(reasons[0].to_string(), "head.weight entirely pruned");
        let over = collapse_reasons_of(&[layer("fc.weight", 1000, 995)], 0.8, 1000, 10);
        assert!(
            matches!(&over[..], [CollapseReason::TensorOverLimit { sparsity, .. }] if *sparsity == 0.995)
        );
        assert!(collapse_reasons_of(&[layer("fc.weight", 1000, 990)], 0.8, 1000, 10).is_empty());
    }

    #[test]
    fn a_chance_level_model_collapses() {
        // ViT-Small after its head was pruned: 9.0% top-1 on 1000 images of ten classes.
        let reasons = collapse_reasons_of(&[], 0.09, 1000, 10);
        assert!(
            matches!(reasons[..], [CollapseReason::AccuracyAtChance { chance, .. }] if chance == 0.1)
        );
        // 13% on 1000 images is above chance (Wilson low ~ 11.1%); on 50 images it is not.
        assert!(collapse_reasons_of(&[], 0.13, 1000, 10).is_empty());
        assert_eq!(collapse_reasons_of(&[], 0.13, 50, 10).len(), 1);
        // A diverged model is at chance.
        assert_eq!(collapse_reasons_of(&[], f64::NAN, 1000, 10).len(), 1);
    }

    #[test]
    fn wilson_matches_a_hand_computed_interval() {
        // p = 0.5, n = 100: centre 0.5, half = 1.96/(1+0.0384) * sqrt(0.0025 + 0.000096) = 0.0962.
        let (low, high) = wilson_interval(0.5, 100).unwrap();
        assert!(
            (low - 0.4038).abs() < 1e-3 && (high - 0.5962).abs() < 1e-3,
            "{low} {high}"
        );
        let (low, high) = wilson_interval(0.0, 20).unwrap();
        assert!(low < 1e-9 && high > 0.1 && high < 0.2);
        assert!(wilson_interval(0.5, 0).is_none());
    }
}
