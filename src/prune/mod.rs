//! Global magnitude pruning and the masks that keep pruned weights at exactly zero.
//!
//! One threshold across all prunable tensors, computed over the still-unpruned weights only
//! (pruned weights are zero and would otherwise be "pruned" again). Each round removes exactly
//! `round(rate * remaining)` weights, so sparsity after `n` rounds is `1 - (1 - rate)^n` up to
//! one weight of rounding per round.

mod mask_file;
mod masks;
mod sparsity;

pub use mask_file::{load_masks, save_masks};
pub use masks::{DeviceMasks, Mask, Masks};
pub use sparsity::{LayerSparsity, SparsityReport, measure_sparsity};

use std::collections::BTreeMap;

// The schedule's arithmetic is part of the spec (`check` counts rounds with it).
pub use crate::spec::{expected_sparsity, rounds_to_reach};

/// Result of choosing which weights to remove in one round.
#[derive(Debug, Clone)]
pub struct PruneRound {
    pub masks: Masks,
    /// The largest magnitude removed this round (every removed weight is at most this).
    pub global_magnitude_threshold: f32,
    pub removed: usize,
    pub remaining_before: usize,
}

/// Removes the `round(rate * remaining)` smallest-magnitude unpruned weights across all tensors
/// in `values` (path -> flattened weights). Ties are broken by path, then by position, so the
/// choice is deterministic.
pub fn global_magnitude_prune(
    values: &BTreeMap<String, Vec<f32>>,
    current: &Masks,
    rate: f64,
) -> PruneRound {
    let mut candidates: Vec<(f32, u32, u32)> = Vec::new();
    let paths: Vec<&String> = values.keys().collect();
    for (path_index, path) in paths.iter().enumerate() {
        let weights = &values[*path];
        let mask = current.get(path);
        for (position, weight) in weights.iter().enumerate() {
            if mask.is_none_or(|m| m.keep[position]) {
                candidates.push((weight.abs(), path_index as u32, position as u32));
            }
        }
    }
    let remaining_before = candidates.len();
    let to_remove = ((rate * remaining_before as f64).round() as usize).min(remaining_before);
    let mut masks = current.clone();
    for (path, weights) in values {
        masks.ensure(path, weights.len());
    }
    let mut threshold = 0.0f32;
    if to_remove > 0 {
        // Partition instead of a full sort: O(n) for the paper's 11-88 M weights.
        candidates.select_nth_unstable_by(to_remove - 1, |a, b| {
            a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
        });
        for &(magnitude, path_index, position) in &candidates[..to_remove] {
            threshold = threshold.max(magnitude);
            masks.remove(paths[path_index as usize], position as usize);
        }
    }
    PruneRound {
        masks,
        global_magnitude_threshold: threshold,
        removed: to_remove,
        remaining_before,
    }
}

/// [`global_magnitude_prune`] with no tensor passing `max_layer_sparsity`: the smallest
/// unpruned weights go in order of magnitude (same tie-breaks), skipping those of a tensor at
/// its limit, until the round's count is removed, so the budget of a capped tensor goes to the
/// next-smallest weights of the others. Without a limit it is exactly the uncapped rule.
pub fn global_magnitude_prune_capped(
    values: &BTreeMap<String, Vec<f32>>,
    current: &Masks,
    rate: f64,
    max_layer_sparsity: Option<f64>,
) -> PruneRound {
    let Some(limit) = max_layer_sparsity else {
        return global_magnitude_prune(values, current, rate);
    };
    let paths: Vec<&String> = values.keys().collect();
    let mut candidates: Vec<(f32, u32, u32)> = Vec::new();
    let mut zeros: Vec<usize> = Vec::with_capacity(paths.len());
    let mut allowed: Vec<usize> = Vec::with_capacity(paths.len());
    for (path_index, path) in paths.iter().enumerate() {
        let weights = &values[*path];
        let mask = current.get(path);
        let before = candidates.len();
        for (position, weight) in weights.iter().enumerate() {
            if mask.is_none_or(|m| m.keep[position]) {
                candidates.push((weight.abs(), path_index as u32, position as u32));
            }
        }
        zeros.push(weights.len() - (candidates.len() - before));
        allowed.push((limit * weights.len() as f64).floor() as usize);
    }
    let remaining_before = candidates.len();
    let to_remove = ((rate * remaining_before as f64).round() as usize).min(remaining_before);
    let mut masks = current.clone();
    for (path, weights) in values {
        masks.ensure(path, weights.len());
    }
    candidates.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let (mut removed, mut threshold) = (0, 0.0f32);
    for &(magnitude, path_index, position) in &candidates {
        if removed == to_remove {
            break;
        }
        let p = path_index as usize;
        if zeros[p] < allowed[p] {
            zeros[p] += 1;
            removed += 1;
            threshold = threshold.max(magnitude);
            masks.remove(paths[p], position as usize);
        }
    }
    PruneRound {
        masks,
        global_magnitude_threshold: threshold,
        removed,
        remaining_before,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparsity_arithmetic_matches_the_study() {
        let cases = [
            (1, 0.2),
            (5, 0.67232),
            (10, 0.892626),
            (14, 0.956020),
            (20, 0.988471),
        ];
        for (rounds, sparsity) in cases {
            assert!(
                (expected_sparsity(0.2, rounds) - sparsity).abs() < 1e-5,
                "{rounds}"
            );
        }
        assert_eq!(rounds_to_reach(0.2, 0.9), 11);
        assert_eq!(rounds_to_reach(0.2, 0.95), 14);
        assert_eq!(rounds_to_reach(0.2, 0.36), 2);
        assert_eq!(rounds_to_reach(0.2, 0.0), 0);
    }

    fn weights() -> BTreeMap<String, Vec<f32>> {
        let mut values = BTreeMap::new();
        values.insert("a.weight".to_string(), vec![0.5, -0.1, 0.9, -0.3, 0.05]);
        values.insert("b.weight".to_string(), vec![-0.7, 0.2, 0.01, 0.6, -0.4]);
        values
    }

    #[test]
    fn one_global_threshold_across_tensors() {
        let round = global_magnitude_prune(&weights(), &Masks::default(), 0.3);
        // 10 weights, 3 removed: 0.01 (b), 0.05 (a), 0.1 (a).
        assert_eq!(round.removed, 3);
        assert_eq!(round.global_magnitude_threshold, 0.1);
        assert_eq!(
            round.masks.get("a.weight").unwrap().keep,
            vec![true, false, true, true, false]
        );
        assert_eq!(
            round.masks.get("b.weight").unwrap().keep,
            vec![true, true, false, true, true]
        );
    }

    #[test]
    fn later_rounds_count_only_remaining_weights() {
        let mut values = weights();
        let first = global_magnitude_prune(&values, &Masks::default(), 0.2);
        // Zero the pruned weights as training would, then prune again.
        for (path, mask) in &first.masks.tensors {
            let weights = values.get_mut(path).unwrap();
            for (w, keep) in weights.iter_mut().zip(&mask.keep) {
                if !keep {
                    *w = 0.0;
                }
            }
        }
        let second = global_magnitude_prune(&values, &first.masks, 0.2);
        assert_eq!(first.removed, 2);
        assert_eq!(second.remaining_before, 8);
        assert_eq!(second.removed, 2);
        assert_eq!(second.masks.pruned(), 4);
    }

    #[test]
    fn n_rounds_give_one_minus_point_eight_to_the_n() {
        let mut values = BTreeMap::new();
        let count = 100_000;
        let weights: Vec<f32> = (0..count)
            .map(|i| ((i as f32 * 0.618_034).fract() - 0.5) * 2.0)
            .collect();
        values.insert("w.weight".to_string(), weights);
        let mut masks = Masks::default();
        for round in 1..=10 {
            masks = global_magnitude_prune(&values, &masks, 0.2).masks;
            let sparsity = masks.sparsity();
            assert!(
                (sparsity - expected_sparsity(0.2, round)).abs() < 1e-4,
                "round {round}: {sparsity}"
            );
        }
    }

    #[test]
    fn a_layer_limit_caps_a_tensor_and_hands_its_budget_to_the_others() {
        // `a` holds the four smallest weights; 60% of 10 is 6 removals.
        let mut values = BTreeMap::new();
        values.insert("a.weight".to_string(), vec![0.01, 0.02, 0.03, 0.04, 0.05]);
        values.insert("b.weight".to_string(), vec![0.9, 0.6, 0.7, 0.8, 0.5]);
        let masks = Masks::default();
        let free = global_magnitude_prune_capped(&values, &masks, 0.6, None);
        assert_eq!(
            free.masks,
            global_magnitude_prune(&values, &masks, 0.6).masks
        );
        let a_zeros = |r: &PruneRound| {
            r.masks
                .get("a.weight")
                .unwrap()
                .keep
                .iter()
                .filter(|k| !**k)
                .count()
        };
        assert_eq!(a_zeros(&free), 5, "uncapped: all of a goes");
        let capped = global_magnitude_prune_capped(&values, &masks, 0.6, Some(0.6));
        assert_eq!(capped.removed, 6);
        assert_eq!(a_zeros(&capped), 3, "a stops at 60%");
        let b = &capped.masks.get("b.weight").unwrap().keep;
        assert_eq!(
            b,
            &vec![true, false, false, true, false],
            "b gives its three smallest"
        );
        assert_eq!(capped.global_magnitude_threshold, 0.7);
    }
}
