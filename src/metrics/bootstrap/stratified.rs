//! Stratified percentile bootstrap over images, resampled within each condition
//! (stratum), so every resample keeps the design of the dataset. Pool members are evaluated on
//! the same images, so differences between two models use the same resample for both (a paired
//! bootstrap).

use super::quantile;
use crate::data::Rng;

/// Random-stream id of the resampling.
const STREAM: u64 = 0xB007_57A9;

/// The `level` (e.g. 0.95) percentile interval of `statistic` over `samples` resamples; each
/// resample draws, within each stratum, as many indices as it has, with replacement. Resamples
/// where the statistic is undefined (`None`) are skipped; `None` if all are.
pub fn bootstrap_ci(
    strata_sizes: &[usize],
    samples: usize,
    level: f64,
    seed: u64,
    mut statistic: impl FnMut(&[Vec<usize>]) -> Option<f64>,
) -> Option<(f64, f64)> {
    let mut values = Vec::with_capacity(samples);
    let mut resample: Vec<Vec<usize>> = strata_sizes.iter().map(|&n| vec![0; n]).collect();
    for b in 0..samples {
        let mut rng = Rng::for_item(seed, STREAM, b as u64);
        for (indices, &n) in resample.iter_mut().zip(strata_sizes) {
            for slot in indices.iter_mut() {
                *slot = rng.below(n);
            }
        }
        if let Some(v) = statistic(&resample) {
            values.push(v);
        }
    }
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Some((quantile(&values, tail), quantile(&values, 1.0 - tail)))
}

/// Mean over strata of the hit rate within each, on resampled indices.
pub fn mean_of_rates(hits: &[Vec<bool>], indices: &[Vec<usize>]) -> f64 {
    let rates: Vec<f64> = hits
        .iter()
        .zip(indices)
        .filter(|(h, _)| !h.is_empty())
        .map(|(h, idx)| idx.iter().filter(|&&i| h[i]).count() as f64 / idx.len() as f64)
        .collect();
    rates.iter().sum::<f64>() / rates.len().max(1) as f64
}

/// The point value: mean over strata of the hit rate.
pub fn accuracy(hits: &[Vec<bool>]) -> f64 {
    let all: Vec<Vec<usize>> = hits.iter().map(|h| (0..h.len()).collect()).collect();
    mean_of_rates(hits, &all)
}

/// Interval of the accuracy (mean over strata of the hit rate).
pub fn accuracy_ci(hits: &[Vec<bool>], samples: usize, level: f64, seed: u64) -> (f64, f64) {
    let sizes: Vec<usize> = hits.iter().map(Vec::len).collect();
    bootstrap_ci(&sizes, samples, level, seed, |idx| {
        Some(mean_of_rates(hits, idx))
    })
    .unwrap_or((f64::NAN, f64::NAN))
}

/// Interval of `accuracy(b) - accuracy(a)` for two models scored on the same images.
pub fn paired_difference_ci(
    a: &[Vec<bool>],
    b: &[Vec<bool>],
    samples: usize,
    level: f64,
    seed: u64,
) -> (f64, f64) {
    assert_eq!(
        a.iter().map(Vec::len).collect::<Vec<_>>(),
        b.iter().map(Vec::len).collect::<Vec<_>>(),
        "paired bootstrap needs both models scored on the same images"
    );
    let sizes: Vec<usize> = a.iter().map(Vec::len).collect();
    bootstrap_ci(&sizes, samples, level, seed, |idx| {
        Some(mean_of_rates(b, idx) - mean_of_rates(a, idx))
    })
    .unwrap_or((f64::NAN, f64::NAN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_brackets_the_rate_and_shrinks_with_more_images() {
        let hits = |n: usize| vec![(0..n).map(|i| i % 4 != 0).collect::<Vec<bool>>()];
        let small = accuracy_ci(&hits(40), 1000, 0.95, 1);
        let large = accuracy_ci(&hits(4000), 1000, 0.95, 1);
        assert!(small.0 < 0.75 && 0.75 < small.1, "{small:?}");
        assert!(large.0 < 0.75 && 0.75 < large.1, "{large:?}");
        assert!(large.1 - large.0 < 0.3 * (small.1 - small.0));
        // Binomial standard error at n = 40 is 0.068: the 95% interval is about +-0.13.
        assert!(
            (small.1 - small.0 - 2.0 * 1.96 * 0.0685).abs() < 0.05,
            "{small:?}"
        );
        // Constant data has a degenerate interval.
        assert_eq!(accuracy_ci(&[vec![true; 30]], 200, 0.95, 1), (1.0, 1.0));
        assert_eq!(accuracy(&hits(40)), 0.75);
    }

    #[test]
    fn strata_are_resampled_separately() {
        // One stratum all hits, one all misses: every resample keeps the 0.5 mean exactly.
        let hits = vec![vec![true; 10], vec![false; 30]];
        assert_eq!(accuracy(&hits), 0.5);
        assert_eq!(accuracy_ci(&hits, 300, 0.95, 2), (0.5, 0.5));
    }

    #[test]
    fn paired_difference_sees_a_consistent_improvement() {
        // Model b gets the same images right as a, plus 10% more: a paired interval excludes 0.
        let a: Vec<bool> = (0..200).map(|i| i % 2 == 0).collect();
        let b: Vec<bool> = (0..200).map(|i| i % 2 == 0 || i % 10 == 1).collect();
        let (lo, hi) = paired_difference_ci(
            std::slice::from_ref(&a),
            std::slice::from_ref(&b),
            1000,
            0.95,
            3,
        );
        assert!(lo > 0.0 && lo < 0.1 && hi > 0.1, "({lo}, {hi})");
        // The same model against itself: exactly zero.
        assert_eq!(
            paired_difference_ci(
                std::slice::from_ref(&a),
                std::slice::from_ref(&a),
                100,
                0.95,
                3
            ),
            (0.0, 0.0)
        );
    }
}
