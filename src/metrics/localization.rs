//! How much of an attribution map falls on the object: Relevance Mass Accuracy and Relevance
//! Rank Accuracy (Arras et al. 2022, CLEVR-XAI; as in Quantus).
//!
//! With `R` a non-negative relevance map and `GT` the object mask over the same pixels:
//! - RMA = sum of `R` over `GT` / sum of `R`.
//! - RRA: with `K = |GT|`, the share of the `K` most relevant pixels that lie in `GT`.
//!
//! Pixels marked [`IGNORED`] (VOC's void boundaries) belong to neither side: they are left out of
//! both sums, of `K` and of the ranking. A score is undefined (NaN, with the reason) when the mask
//! has no object pixel, when the map has no relevance, or when it holds a non-finite value; the
//! report counts those, it never averages them in.
//!
//! Ties in RRA: the references sort unstably, so tied pixels land in the top `K` arbitrarily.
//! pvr takes the expectation over every ordering of the tied pixels instead: the tie group that
//! straddles rank `K` contributes `slots * (object pixels in the group) / (group size)` hits.
//! That is deterministic, independent of pixel order, and gives a uniform map `K / N`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Mask value of pixels excluded from scoring.
pub const IGNORED: u8 = 255;

/// Why a score is undefined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Undefined {
    /// No object pixel (outside the ignored ones).
    EmptyMask,
    /// The map's relevance sums to zero over the scored pixels.
    ZeroMap,
    /// The map holds NaN or an infinity.
    NonFinite,
}

impl Undefined {
    pub fn name(self) -> &'static str {
        match self {
            Undefined::EmptyMask => "empty-mask",
            Undefined::ZeroMap => "zero-map",
            Undefined::NonFinite => "non-finite-map",
        }
    }
}

impl fmt::Display for Undefined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Both scores of one map, or why they are undefined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalizationScores {
    pub rma: f64,
    pub rra: f64,
    pub undefined: Option<Undefined>,
}

impl LocalizationScores {
    fn undefined(reason: Undefined) -> Self {
        Self {
            rma: f64::NAN,
            rra: f64::NAN,
            undefined: Some(reason),
        }
    }
}

/// RMA and RRA of `relevance` against `mask` (0 background, [`IGNORED`] left out, anything else
/// object), both row-major over the same pixels.
pub fn localization_scores(relevance: &[f32], mask: &[u8]) -> LocalizationScores {
    assert_eq!(relevance.len(), mask.len(), "map and mask differ in size");
    let scored = || {
        relevance
            .iter()
            .zip(mask)
            .filter(|(_, m)| **m != IGNORED)
            .map(|(&r, &m)| (r, m != 0))
    };
    if scored().any(|(r, _)| !r.is_finite()) {
        return LocalizationScores::undefined(Undefined::NonFinite);
    }
    let objects = scored().filter(|(_, object)| *object).count();
    if objects == 0 {
        return LocalizationScores::undefined(Undefined::EmptyMask);
    }
    let total: f64 = scored().map(|(r, _)| r as f64).sum();
    if total == 0.0 {
        return LocalizationScores::undefined(Undefined::ZeroMap);
    }
    let inside: f64 = scored().filter(|(_, o)| *o).map(|(r, _)| r as f64).sum();
    LocalizationScores {
        rma: inside / total,
        rra: rank_accuracy(scored().collect(), objects),
        undefined: None,
    }
}

/// RRA over `(relevance, is_object)` pixels with `objects` object pixels, ties in expectation.
fn rank_accuracy(mut pixels: Vec<(f32, bool)>, objects: usize) -> f64 {
    pixels.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut slots = objects;
    let mut hits = 0f64;
    let mut start = 0;
    while slots > 0 && start < pixels.len() {
        let value = pixels[start].0;
        let end = start + pixels[start..].iter().take_while(|p| p.0 == value).count();
        let group = end - start;
        let in_group = pixels[start..end].iter().filter(|p| p.1).count();
        if group <= slots {
            hits += in_group as f64;
            slots -= group;
        } else {
            hits += slots as f64 * in_group as f64 / group as f64;
            slots = 0;
        }
        start = end;
    }
    hits / objects as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASK: [u8; 8] = [0, 1, 1, 0, 0, 0, 1, 0];

    #[test]
    fn a_map_equal_to_the_mask_scores_one_and_a_map_off_the_mask_zero() {
        let same: Vec<f32> = MASK.iter().map(|&m| m as f32).collect();
        let s = localization_scores(&same, &MASK);
        assert_eq!((s.rma, s.rra, s.undefined), (1.0, 1.0, None));
        let off: Vec<f32> = MASK.iter().map(|&m| 1.0 - m as f32).collect();
        let s = localization_scores(&off, &MASK);
        assert_eq!((s.rma, s.rra), (0.0, 0.0));
    }

    #[test]
    fn a_uniform_map_gives_the_object_share() {
        let s = localization_scores(&[0.7; 8], &MASK);
        assert!((s.rma - 3.0 / 8.0).abs() < 1e-12);
        // Every pixel ties: the expected share of object pixels among K = 3 picks.
        assert!((s.rra - 3.0 / 8.0).abs() < 1e-12);
    }

    #[test]
    fn rma_weighs_relevance_and_rra_ranks_it() {
        // Object pixels 1, 2, 6. Relevance puts 6 on pixel 1 (object), 3 on pixel 0, 1 on pixel 2.
        let map = [3.0, 6.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let s = localization_scores(&map, &MASK);
        assert!((s.rma - 7.0 / 10.0).abs() < 1e-12);
        // Top 3: pixel 1 (hit), pixel 0 (miss), pixel 2 (hit).
        assert!((s.rra - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn ties_at_the_cut_share_the_remaining_slots() {
        // K = 3. Pixel 1 is top (hit); then pixels 2 (object), 3, 4 tie for the last 2 slots:
        // expected hits 2 * 1/3, so RRA = (1 + 2/3) / 3, whatever the pixel order.
        let map = [0.0, 5.0, 2.0, 2.0, 2.0, 0.0, 0.0, 0.0];
        let expected = (1.0 + 2.0 / 3.0) / 3.0;
        assert!((localization_scores(&map, &MASK).rra - expected).abs() < 1e-12);
        let mut reversed_map = map;
        let mut reversed_mask = MASK;
        reversed_map.reverse();
        reversed_mask.reverse();
        let r = localization_scores(&reversed_map, &reversed_mask).rra;
        assert!((r - expected).abs() < 1e-12);
    }

    #[test]
    fn ignored_pixels_count_on_neither_side() {
        // Pixel 3 is void and holds most of the relevance: it must not dilute RMA.
        let mask = [0, 1, 1, IGNORED, 0, 0, 1, 0];
        let map = [0.0, 1.0, 1.0, 100.0, 0.0, 0.0, 1.0, 1.0];
        let s = localization_scores(&map, &mask);
        assert!((s.rma - 3.0 / 4.0).abs() < 1e-12);
        // The void pixel is not ranked: four pixels (three objects) tie at 1 for the 3 slots.
        assert!((s.rra - 3.0 * (3.0 / 4.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn undefined_cases_are_nan_with_a_reason() {
        let empty = localization_scores(&[1.0; 4], &[0, 0, IGNORED, 0]);
        assert!(empty.rma.is_nan() && empty.rra.is_nan());
        assert_eq!(empty.undefined, Some(Undefined::EmptyMask));
        assert_eq!(
            localization_scores(&[0.0; 4], &[0, 1, 0, 0]).undefined,
            Some(Undefined::ZeroMap)
        );
        assert_eq!(
            localization_scores(&[f32::NAN, 1.0, 0.0, 0.0], &[0, 1, 0, 0]).undefined,
            Some(Undefined::NonFinite)
        );
    }
}
