//! Percentile bootstrap confidence intervals over images, seeded so reports are reproducible.
//!
//! Resampling images (with replacement) and recomputing the statistic estimates how much a
//! score would move on another draw of images of the same kind. Paired comparisons resample the
//! same images for both models, which removes the variation shared by the two (hard images are
//! hard for both) and so measures the difference far more precisely than two separate CIs.

use serde::{Deserialize, Serialize};

use crate::data::Rng;

/// A two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}

/// How to bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bootstrap {
    pub resamples: usize,
    /// Coverage of the interval, e.g. 0.95.
    pub confidence: f64,
    pub seed: u64,
}

impl Bootstrap {
    /// Percentile interval of `statistic` over `resamples` resamplings of `n` items: the
    /// statistic gets the resampled item indices. Interpolates linearly between order
    /// statistics (numpy's default quantile). A zero-width interval at the statistic of all
    /// items when `n` or `resamples` is 0.
    pub fn interval(&self, n: usize, statistic: impl Fn(&[usize]) -> f64) -> Interval {
        let all: Vec<usize> = (0..n).collect();
        if n == 0 || self.resamples == 0 {
            let value = statistic(&all);
            return Interval {
                low: value,
                high: value,
            };
        }
        let mut rng = Rng::new(self.seed);
        let mut indices = vec![0; n];
        let mut values: Vec<f64> = (0..self.resamples)
            .map(|_| {
                for slot in indices.iter_mut() {
                    *slot = rng.below(n);
                }
                statistic(&indices)
            })
            .collect();
        values.sort_by(f64::total_cmp);
        let tail = (1.0 - self.confidence.clamp(0.0, 1.0)) / 2.0;
        Interval {
            low: quantile(&values, tail),
            high: quantile(&values, 1.0 - tail),
        }
    }

    /// Interval of the mean of `values`.
    pub fn mean(&self, values: &[f64]) -> Interval {
        self.interval(values.len(), |idx| mean_at(values, idx))
    }

    /// Interval of `mean(a) - mean(b)` over paired items (the same resampled items for both).
    pub fn paired_difference(&self, a: &[f64], b: &[f64]) -> Interval {
        assert_eq!(a.len(), b.len(), "paired samples differ in length");
        self.interval(a.len(), |idx| mean_at(a, idx) - mean_at(b, idx))
    }
}

fn mean_at(values: &[f64], indices: &[usize]) -> f64 {
    if indices.is_empty() {
        return 0.0;
    }
    indices.iter().map(|&i| values[i]).sum::<f64>() / indices.len() as f64
}

/// Quantile `q` of sorted `values`, linear between order statistics.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let t = position - below as f64;
    sorted[below] * (1.0 - t) + sorted[above] * t
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Bootstrap = Bootstrap {
        resamples: 2000,
        confidence: 0.95,
        seed: 9,
    };

    fn bernoulli(n: usize, p: f64, seed: u64) -> Vec<f64> {
        let mut rng = Rng::new(seed);
        (0..n)
            .map(|_| f64::from(u8::from((rng.uniform() as f64) < p)))
            .collect()
    }

    #[test]
    fn width_matches_the_normal_approximation_for_a_proportion() {
        // 400 coin flips: the 95% CI half-width of the mean is about 1.96 * sqrt(pq / n).
        let values = bernoulli(400, 0.5, 1);
        let p = values.iter().sum::<f64>() / 400.0;
        let ci = B.mean(&values);
        assert!(ci.contains(p), "{ci:?} misses {p}");
        let expected = 1.96 * (p * (1.0 - p) / 400.0).sqrt();
        let half = (ci.high - ci.low) / 2.0;
        assert!(
            (half - expected).abs() < 0.12 * expected,
            "half-width {half} vs {expected}"
        );
        // Four times the images, half the width.
        let wide = B.mean(&bernoulli(1600, 0.5, 2));
        let ratio = half / ((wide.high - wide.low) / 2.0);
        assert!((ratio - 2.0).abs() < 0.3, "ratio {ratio}");
    }

    #[test]
    fn constant_data_give_a_point_interval() {
        let ci = B.mean(&[1.0; 50]);
        assert_eq!((ci.low, ci.high), (1.0, 1.0));
        let empty = B.mean(&[]);
        assert_eq!((empty.low, empty.high), (0.0, 0.0));
    }

    #[test]
    fn pairing_removes_shared_variation() {
        // b is a with 5% of the images flipped from 0 to 1: the paired CI of the difference is
        // much narrower than what the two separate CIs suggest, and excludes 0.
        let a = bernoulli(600, 0.4, 3);
        let mut b = a.clone();
        let mut flipped = 0;
        for v in b.iter_mut() {
            if *v == 0.0 && flipped < 30 {
                *v = 1.0;
                flipped += 1;
            }
        }
        let diff = B.paired_difference(&b, &a);
        assert!(diff.low > 0.0, "{diff:?}");
        assert!(diff.contains(0.05), "{diff:?}");
        let separate = B.mean(&a);
        assert!(diff.high - diff.low < 0.5 * (separate.high - separate.low));
    }

    #[test]
    fn same_seed_same_interval() {
        let mut rng = Rng::new(4);
        let values: Vec<f64> = (0..100).map(|_| rng.uniform() as f64).collect();
        assert_eq!(B.mean(&values), B.mean(&values));
        let other = Bootstrap { seed: 10, ..B };
        assert_ne!(B.mean(&values), other.mean(&values));
    }
}
