//! Hierarchical (two-stage) bootstrap for results from several training seeds: each replicate
//! draws the seeds with replacement, then, within every drawn seed, its images with replacement.
//! The interval so carries both sources of noise a reviewer asks about: which seed training got
//! (between-seed variance) and which images the test set holds (within-seed variance). With one
//! seed it is the plain image bootstrap.

use super::{Interval, quantile};
use crate::data::Rng;

/// Random-stream id of the resampling.
const STREAM: u64 = 0x5EED_B007;

/// Hierarchical bootstrap settings: `resamples` draws, a two-sided `confidence`, a fixed `seed`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hierarchical {
    pub resamples: usize,
    pub confidence: f64,
    pub seed: u64,
}

impl Default for Hierarchical {
    fn default() -> Self {
        Self {
            resamples: 2000,
            confidence: 0.95,
            seed: 0,
        }
    }
}

impl Hierarchical {
    /// Across-seed mean (every seed weighs the same: the mean of the seeds' image means) of the
    /// finite values, one `Vec` per seed, with its interval; `count` is the images it is over.
    /// Seeds without a finite value are dropped; `None` when none is left.
    pub fn mean(&self, seeds: &[Vec<f64>]) -> Option<Interval> {
        self.mean_with_replicates(seeds)
            .map(|(interval, _)| interval)
    }

    /// [`Hierarchical::mean`] with the replicates it rests on, for a p-value from the same draws
    /// as the interval ([`super::one_sided_p`]).
    pub fn mean_with_replicates(&self, seeds: &[Vec<f64>]) -> Option<(Interval, Vec<f64>)> {
        let groups: Vec<Vec<f64>> = seeds
            .iter()
            .map(|values| values.iter().copied().filter(|v| v.is_finite()).collect())
            .filter(|values: &Vec<f64>| !values.is_empty())
            .collect();
        let replicates = self.replicates(&groups)?;
        Some((self.interval(&groups, replicates.clone()), replicates))
    }

    /// Paired difference `after - before` per image (the same images scored under two models of
    /// the same seed), pairs finite in both, summarised like [`Hierarchical::mean`].
    pub fn paired_difference(&self, before: &[Vec<f64>], after: &[Vec<f64>]) -> Option<Interval> {
        self.mean(&paired_differences(before, after))
    }

    /// The bootstrap replicates of the across-seed mean of the given (finite, non-empty) groups,
    /// for p-values ([`super::one_sided_p`]); `None` without groups.
    pub fn replicates(&self, groups: &[Vec<f64>]) -> Option<Vec<f64>> {
        if groups.is_empty() {
            return None;
        }
        let draws = self.resamples.max(1);
        let replicates = (0..draws)
            .map(|b| {
                let mut rng = Rng::for_item(self.seed, STREAM, b as u64);
                let total: f64 = (0..groups.len())
                    .map(|_| {
                        let values = &groups[rng.below(groups.len())];
                        let n = values.len();
                        (0..n).map(|_| values[rng.below(n)]).sum::<f64>() / n as f64
                    })
                    .sum();
                total / groups.len() as f64
            })
            .collect();
        Some(replicates)
    }

    fn interval(&self, groups: &[Vec<f64>], mut replicates: Vec<f64>) -> Interval {
        replicates.sort_by(f64::total_cmp);
        let tail = (1.0 - self.confidence) / 2.0;
        Interval {
            estimate: across_seed_mean(groups),
            low: quantile(&replicates, tail),
            high: quantile(&replicates, 1.0 - tail),
            count: groups.iter().map(Vec::len).sum(),
        }
    }
}

/// Per seed, the per-image differences `after - before` over the pairs finite in both.
pub fn paired_differences(before: &[Vec<f64>], after: &[Vec<f64>]) -> Vec<Vec<f64>> {
    assert_eq!(before.len(), after.len(), "paired samples differ in seeds");
    before
        .iter()
        .zip(after)
        .map(|(b, a)| {
            assert_eq!(b.len(), a.len(), "paired samples differ in images");
            b.iter()
                .zip(a)
                .filter(|(b, a)| b.is_finite() && a.is_finite())
                .map(|(b, a)| a - b)
                .collect()
        })
        .collect()
}

/// The mean of the groups' means.
fn across_seed_mean(groups: &[Vec<f64>]) -> f64 {
    groups
        .iter()
        .map(|g| g.iter().sum::<f64>() / g.len() as f64)
        .sum::<f64>()
        / groups.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Bootstrap;

    /// A standard normal draw (Box-Muller).
    fn normal(rng: &mut Rng) -> f64 {
        let u = (rng.uniform() as f64).max(1e-12);
        let v = rng.uniform() as f64;
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// `seeds` groups of `images` values: seed effect ~ N(0, between), image noise ~ N(0, within).
    fn synthetic(seeds: usize, images: usize, between: f64, within: f64) -> Vec<Vec<f64>> {
        let mut rng = Rng::new(42);
        (0..seeds)
            .map(|_| {
                let effect = between * normal(&mut rng);
                (0..images)
                    .map(|_| effect + within * normal(&mut rng))
                    .collect()
            })
            .collect()
    }

    fn standard_error(ci: &Interval) -> f64 {
        (ci.high - ci.low) / (2.0 * 1.96)
    }

    #[test]
    fn the_interval_carries_the_known_between_seed_variance() {
        let (seeds, images, between, within) = (40, 25, 0.5, 1.0);
        let groups = synthetic(seeds, images, between, within);
        let ci = Hierarchical::default().mean(&groups).unwrap();
        // Standard error of the mean of seed means: sqrt(between^2/S + within^2/(S n)) = 0.085.
        let truth =
            (between * between / seeds as f64 + within * within / (seeds * images) as f64).sqrt();
        let se = standard_error(&ci);
        assert!((0.75 * truth..1.3 * truth).contains(&se), "{se} vs {truth}");
        assert_eq!(ci.count, seeds * images);
        // An image-only bootstrap of the same values ignores the seeds and is far too narrow.
        let flat: Vec<f64> = groups.concat();
        let naive = standard_error(&Bootstrap::default().mean(&flat).unwrap());
        assert!(naive < 0.5 * truth, "{naive} vs {truth}");
    }

    #[test]
    fn without_between_seed_variance_it_matches_the_image_bootstrap() {
        let groups = synthetic(20, 50, 0.0, 1.0);
        let hierarchical = standard_error(&Hierarchical::default().mean(&groups).unwrap());
        let flat = standard_error(&Bootstrap::default().mean(&groups.concat()).unwrap());
        // Resampling seeds adds the sampling noise of the seed means once more: at most ~sqrt(2).
        assert!(
            hierarchical > 0.9 * flat && hierarchical < 1.6 * flat,
            "{hierarchical} vs {flat}"
        );
    }

    #[test]
    fn paired_differences_keep_seeds_apart_and_skip_nans() {
        let before = vec![vec![0.0, 1.0, f64::NAN], vec![2.0, 2.0]];
        let after = vec![vec![0.5, 1.5, 9.0], vec![2.0, 3.0]];
        assert_eq!(
            paired_differences(&before, &after),
            vec![vec![0.5, 0.5], vec![0.0, 1.0]]
        );
        let ci = Hierarchical::default()
            .paired_difference(&before, &after)
            .unwrap();
        // Each seed weighs the same: (0.5 + 0.5) / 2.
        assert_eq!(ci.estimate, 0.5);
        assert!(ci.low <= 0.5 && 0.5 <= ci.high);
        assert!(Hierarchical::default().mean(&[vec![f64::NAN]]).is_none());
    }
}
