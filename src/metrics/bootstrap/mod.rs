//! The one bootstrap of pvr: percentile confidence intervals that tell a real difference between
//! two pool members from resampling noise. Flat over images ([`Bootstrap`]), within conditions
//! ([`stratified`], the human-alignment sets) and over seeds then images ([`hierarchical`], the
//! across-seed means); [`one_sided_p`] turns replicates into the p-value Holm's correction needs.

pub mod hierarchical;
pub mod stratified;

pub use hierarchical::Hierarchical;

use serde::{Deserialize, Serialize};

use crate::data::rng::Rng;

/// A point estimate with a confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    /// Items the estimate is over.
    pub count: usize,
}

impl Interval {
    /// Whether the interval contains `value` (for a difference: zero means "inside the noise").
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}

/// Bootstrap settings: `resamples` draws, a two-sided `confidence` level, a fixed `seed`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bootstrap {
    pub resamples: usize,
    pub confidence: f64,
    pub seed: u64,
}

impl Default for Bootstrap {
    fn default() -> Self {
        Self {
            resamples: 2000,
            confidence: 0.95,
            seed: 0,
        }
    }
}

impl Bootstrap {
    /// Mean of the finite `values` with its percentile interval; `None` without any.
    pub fn mean(&self, values: &[f64]) -> Option<Interval> {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        self.resample_mean(&finite)
    }

    /// Paired difference `mean(after - before)` over the items finite in both (the same images
    /// scored under two models), with its percentile interval; `None` without any such item.
    pub fn paired_difference(&self, before: &[f64], after: &[f64]) -> Option<Interval> {
        assert_eq!(before.len(), after.len(), "paired samples differ in length");
        let differences: Vec<f64> = before
            .iter()
            .zip(after)
            .filter(|(b, a)| b.is_finite() && a.is_finite())
            .map(|(b, a)| a - b)
            .collect();
        self.resample_mean(&differences)
    }

    fn resample_mean(&self, values: &[f64]) -> Option<Interval> {
        if values.is_empty() {
            return None;
        }
        let n = values.len();
        let estimate = values.iter().sum::<f64>() / n as f64;
        let mut rng = Rng::new(self.seed);
        let mut means: Vec<f64> = (0..self.resamples.max(1))
            .map(|_| (0..n).map(|_| values[rng.below(n)]).sum::<f64>() / n as f64)
            .collect();
        means.sort_by(f64::total_cmp);
        let tail = (1.0 - self.confidence) / 2.0;
        Some(Interval {
            estimate,
            low: quantile(&means, tail),
            high: quantile(&means, 1.0 - tail),
            count: n,
        })
    }
}

/// Linear-interpolated quantile of sorted values.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (position.floor() as usize, position.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo as f64)
}

/// The bootstrap p-value of "the true value is at most zero" from the replicates of a gain:
/// `(1 + #{replicate <= 0}) / (1 + B)`, never zero, so a gain whose every replicate is positive
/// still has a p-value a correction can scale. `None` without replicates.
pub fn one_sided_p(replicates: &[f64]) -> Option<f64> {
    if replicates.is_empty() {
        return None;
    }
    let at_most_zero = replicates.iter().filter(|&&r| r <= 0.0).count();
    Some((1 + at_most_zero) as f64 / (1 + replicates.len()) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_shift_has_a_tight_interval_that_excludes_zero() {
        let before: Vec<f64> = (0..50).map(|i| (i as f64 * 0.37).sin()).collect();
        let after: Vec<f64> = before.iter().map(|b| b + 0.1).collect();
        let ci = Bootstrap::default()
            .paired_difference(&before, &after)
            .unwrap();
        assert!((ci.estimate - 0.1).abs() < 1e-12);
        assert!((ci.low - 0.1).abs() < 1e-9 && (ci.high - 0.1).abs() < 1e-9);
        assert!(!ci.contains(0.0));
    }

    #[test]
    fn noise_around_zero_is_inside_the_noise() {
        // Differences alternate +-1: the mean is 0 and the interval straddles it.
        let before = vec![0.0; 40];
        let after: Vec<f64> = (0..40)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let ci = Bootstrap::default()
            .paired_difference(&before, &after)
            .unwrap();
        assert!(ci.contains(0.0) && ci.low < -0.1 && ci.high > 0.1, "{ci:?}");
    }

    #[test]
    fn intervals_narrow_with_more_items_and_skip_nans() {
        let spread = |n: usize| {
            let values: Vec<f64> = (0..n).map(|i| ((i * 7919) % 101) as f64 / 100.0).collect();
            let ci = Bootstrap::default().mean(&values).unwrap();
            ci.high - ci.low
        };
        assert!(spread(400) < spread(25));
        let ci = Bootstrap::default().mean(&[1.0, f64::NAN, 3.0]).unwrap();
        assert_eq!((ci.estimate, ci.count), (2.0, 2));
        assert!(Bootstrap::default().mean(&[f64::NAN]).is_none());
        // Deterministic for a seed.
        let values = [0.1, 0.5, 0.9, 0.3];
        assert_eq!(
            Bootstrap::default().mean(&values),
            Bootstrap::default().mean(&values)
        );
    }

    #[test]
    fn one_sided_p_counts_replicates_at_or_below_zero() {
        assert_eq!(one_sided_p(&[0.1, 0.2, 0.3]), Some(0.25));
        assert_eq!(one_sided_p(&[-0.1, 0.0, 0.3]), Some(0.75));
        assert_eq!(one_sided_p(&[]), None);
    }
}
