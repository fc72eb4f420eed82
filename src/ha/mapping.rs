//! The benchmark's 16-class decision for ImageNet-1000 models: softmax over the 1000 logits,
//! the mean probability over each category's ImageNet indices, ranked.

use std::ops::RangeInclusive;
use std::sync::OnceLock;

/// The 16 categories, sorted alphabetically (their index is the category label).
pub const CATEGORIES: [&str; 16] = [
    "airplane", "bear", "bicycle", "bird", "boat", "bottle", "car", "cat", "chair", "clock", "dog",
    "elephant", "keyboard", "knife", "oven", "truck",
];

/// Number of ImageNet classes the mapping reads.
pub const IMAGENET_CLASSES: usize = 1000;

/// Each category's ImageNet indices, as runs of consecutive indices.
const INDICES: [&[RangeInclusive<usize>]; 16] = [
    &[404..=404],
    &[294..=297],
    &[444..=444, 671..=671],
    &[
        8..=8,
        10..=16,
        18..=20,
        22..=24,
        80..=83,
        87..=96,
        98..=100,
        127..=133,
        135..=145,
    ],
    &[472..=472, 554..=554, 625..=625, 814..=814, 914..=914],
    &[
        440..=440,
        720..=720,
        737..=737,
        898..=899,
        901..=901,
        907..=907,
    ],
    &[436..=436, 511..=511, 817..=817],
    &[281..=286],
    &[423..=423, 559..=559, 765..=765, 857..=857],
    &[409..=409, 530..=530, 892..=892],
    &[
        152..=191,
        193..=203,
        205..=226,
        228..=241,
        243..=250,
        252..=257,
        259..=259,
        261..=263,
        265..=268,
    ],
    &[385..=386],
    &[508..=508, 878..=878],
    &[499..=499],
    &[766..=766],
    &[
        555..=555,
        569..=569,
        656..=656,
        675..=675,
        717..=717,
        734..=734,
        864..=864,
        867..=867,
    ],
];

/// The ImageNet indices of category `category`.
pub fn imagenet_indices(category: usize) -> &'static [usize] {
    static LISTS: OnceLock<Vec<Vec<usize>>> = OnceLock::new();
    &LISTS.get_or_init(|| {
        INDICES
            .iter()
            .map(|runs| runs.iter().flat_map(|run| run.clone()).collect())
            .collect()
    })[category]
}

/// The category label of a category name.
pub fn category_index(name: &str) -> Option<usize> {
    CATEGORIES.iter().position(|c| *c == name)
}

/// The 16 category scores of one image: softmax over `logits` (1000 values), then the mean
/// probability over each category's indices.
pub fn category_probabilities(logits: &[f32]) -> [f32; 16] {
    assert_eq!(
        logits.len(),
        IMAGENET_CLASSES,
        "the 16-class decision reads 1000 ImageNet logits"
    );
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f64> = logits.iter().map(|&v| ((v - max) as f64).exp()).collect();
    let total: f64 = exp.iter().sum();
    let mut out = [0.0f32; 16];
    for (category, score) in out.iter_mut().enumerate() {
        let indices = imagenet_indices(category);
        let sum: f64 = indices.iter().map(|&i| exp[i]).sum();
        *score = (sum / total / indices.len() as f64) as f32;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::classification::rank_of;

    #[test]
    fn index_lists_match_the_reference() {
        let sizes: Vec<usize> = (0..16).map(|c| imagenet_indices(c).len()).collect();
        assert_eq!(
            sizes,
            vec![1, 4, 2, 49, 5, 7, 3, 6, 4, 3, 109, 2, 2, 1, 1, 8]
        );
        let dog = imagenet_indices(category_index("dog").unwrap());
        for not_dog in [192, 204, 227, 242, 251, 258, 260, 264] {
            assert!(!dog.contains(&not_dog));
        }
        assert!(dog.contains(&152) && dog.contains(&268) && dog.contains(&259));
        // No index belongs to two categories, and every index is an ImageNet class.
        let mut all: Vec<usize> = (0..16).flat_map(|c| imagenet_indices(c).to_vec()).collect();
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count);
        assert!(all.iter().all(|&i| i < 1000));
        assert_eq!(category_index("truck"), Some(15));
        assert_eq!(category_index("tiger"), None);
    }

    #[test]
    fn decision_on_crafted_logits() {
        // One big logit on an airplane index: airplane wins.
        let mut logits = vec![0.0f32; 1000];
        logits[404] = 12.0;
        let scores = category_probabilities(&logits);
        assert_eq!(rank_of(&scores, 0), 0);
        // Equal logits at one dog and one cat index: the mean over 6 cat indices beats the mean
        // over 109 dog indices, so cat wins although the summed dog mass is equal.
        let mut logits = vec![0.0f32; 1000];
        logits[160] = 20.0;
        logits[281] = 20.0;
        let scores = category_probabilities(&logits);
        let cat = category_index("cat").unwrap();
        let dog = category_index("dog").unwrap();
        assert_eq!(rank_of(&scores, cat), 0);
        assert_eq!(rank_of(&scores, dog), 1);
        // Each holds half the mass (the other 998 classes share about 2e-6 of it).
        assert!((scores[cat] * 6.0 - 0.5).abs() < 1e-4);
        assert!((scores[dog] * 109.0 - 0.5).abs() < 1e-4);
        // Mass only on an index outside every category: all categories tie at the same mean.
        let mut logits = vec![0.0f32; 1000];
        logits[0] = 30.0;
        let scores = category_probabilities(&logits);
        assert!(scores.iter().all(|s| (s - scores[0]).abs() < 1e-12));
        // Softmax is shift invariant.
        let logits: Vec<f32> = (0..1000).map(|i| ((i * 37) % 101) as f32 * 0.1).collect();
        let shifted: Vec<f32> = logits.iter().map(|v| v + 100.0).collect();
        let (a, b) = (
            category_probabilities(&logits),
            category_probabilities(&shifted),
        );
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-6);
        }
        // Top-5 is the five best categories: give five categories decreasing mass.
        let mut logits = vec![0.0f32; 1000];
        for (rank, index) in [766usize, 499, 508, 385, 409, 436].iter().enumerate() {
            logits[*index] = 20.0 - rank as f32;
        }
        let scores = category_probabilities(&logits);
        for (rank, name) in ["oven", "knife", "keyboard", "elephant", "clock", "car"]
            .iter()
            .enumerate()
        {
            let category = category_index(name).unwrap();
            // Means, not sums: keyboard's mass is halved, clock's and car's divided by three.
            assert_eq!(rank_of(&scores, category), rank, "{name}");
        }
    }
}
