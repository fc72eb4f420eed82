//! The verdict of one metric on every round: the paired per-image gains of round `n` over the
//! reference (round 0 of the same seed, or the matched-compute control), summarised across seeds
//! with the hierarchical bootstrap (seeds, then images), Holm over the rounds, and the one
//! sweet-spot rule of [`crate::metrics::sweet_spot`].

use crate::metrics::bootstrap::hierarchical::paired_differences;
use crate::metrics::holm::holm_adjust;
use crate::metrics::sweet_spot::{ALPHA, RoundGains, sweet_spots};
use crate::metrics::{Hierarchical, Interval, one_sided_p};

/// Per-image values of one metric: `[seed][round][image]`, the same images in every round of a
/// seed (NaN where undefined).
pub type Values = Vec<Vec<Vec<f64>>>;

/// What a verdict is on.
pub struct Evidence<'a> {
    /// The metric's values.
    pub metric: &'a Values,
    /// Top-1 correctness (0/1) per validation image: the accuracy half of the rule.
    pub accuracy: &'a Values,
    /// The reference each round is compared with: `[seed][round][image]` of the metric and of
    /// accuracy; `None` compares with round 0.
    pub reference: Option<(&'a Values, &'a Values)>,
    /// Per round (index 0 is the dense model): whether it collapsed in any seed.
    pub collapsed: &'a [bool],
    /// Per round: whether the model it is compared with collapsed in any seed (the dense model
    /// for every round, or that round's matched control). Such a comparison says nothing: the
    /// round is judged `reference collapsed`, never a benefit or harm.
    pub reference_collapsed: &'a [bool],
}

/// The verdict on one round.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundVerdict {
    pub round: usize,
    /// The metric's across-seed mean at this round, with its interval.
    pub value: Interval,
    /// The paired gain over the reference, with its interval.
    pub gain: Interval,
    /// One-sided p-value of "no gain", and after Holm over the rounds.
    pub p: f64,
    pub p_holm: f64,
    /// The accuracy gain's Holm-adjusted p-value, the rule's other half.
    pub accuracy_p_holm: f64,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Benefit,
    Harm,
    NoEffect,
    Collapsed,
    /// The reference (dense model or matched control) collapsed: no comparison.
    ReferenceCollapsed,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Self::Benefit => "benefit",
            Self::Harm => "harm",
            Self::NoEffect => "no effect",
            Self::Collapsed => "collapsed",
            Self::ReferenceCollapsed => "reference collapsed",
        }
    }
}

/// The gain of every round `1..` over its reference: interval and the replicates' p-values of
/// "not above zero" and "not below zero".
fn gains(
    values: &Values,
    reference: Option<&Values>,
    boot: &Hierarchical,
) -> Vec<(Interval, f64, f64)> {
    let rounds = values.first().map_or(0, Vec::len);
    (1..rounds)
        .map(|round| {
            let before: Vec<Vec<f64>> = values
                .iter()
                .enumerate()
                .map(|(seed, seed_values)| match reference {
                    Some(reference) => reference[seed][round].clone(),
                    None => seed_values[0].clone(),
                })
                .collect();
            let after: Vec<Vec<f64>> = values.iter().map(|v| v[round].clone()).collect();
            match Hierarchical::mean_with_replicates(boot, &paired_differences(&before, &after)) {
                Some((interval, replicates)) => {
                    let negated: Vec<f64> = replicates.iter().map(|r| -r).collect();
                    let p_up = one_sided_p(&replicates).unwrap_or(1.0);
                    let p_down = one_sided_p(&negated).unwrap_or(1.0);
                    (interval, p_up, p_down)
                }
                None => (undefined_interval(), 1.0, 1.0),
            }
        })
        .collect()
}

fn undefined_interval() -> Interval {
    Interval {
        estimate: f64::NAN,
        low: f64::NAN,
        high: f64::NAN,
        count: 0,
    }
}

/// The verdict on every pruned round `1..` of one metric.
pub fn verdicts(evidence: &Evidence<'_>, boot: &Hierarchical) -> Vec<RoundVerdict> {
    let metric = gains(evidence.metric, evidence.reference.map(|r| r.0), boot);
    let accuracy = gains(evidence.accuracy, evidence.reference.map(|r| r.1), boot);
    let rounds: Vec<RoundGains> = metric
        .iter()
        .zip(&accuracy)
        .enumerate()
        .map(|(i, (m, a))| RoundGains {
            round: i + 1,
            sparsity: 0.0,
            accuracy_p: a.1,
            metric_p: m.1,
            collapsed: evidence.collapsed.get(i + 1).copied().unwrap_or(false)
                || reference_collapsed(evidence, i + 1),
        })
        .collect();
    let sweet = sweet_spots(&rounds, ALPHA);
    let harm = holm_adjust(&metric.iter().map(|m| m.2).collect::<Vec<_>>());
    metric
        .into_iter()
        .zip(sweet)
        .zip(harm)
        .map(|(((gain, p, _), spot), harm_p)| {
            let round = spot.round;
            let per_seed: Vec<Vec<f64>> =
                evidence.metric.iter().map(|v| v[round].clone()).collect();
            let verdict = if evidence.collapsed.get(round).copied().unwrap_or(false) {
                Verdict::Collapsed
            } else if reference_collapsed(evidence, round) {
                Verdict::ReferenceCollapsed
            } else if spot.sweet {
                Verdict::Benefit
            } else if harm_p < ALPHA {
                Verdict::Harm
            } else {
                Verdict::NoEffect
            };
            RoundVerdict {
                round,
                value: boot.mean(&per_seed).unwrap_or_else(undefined_interval),
                gain,
                p,
                p_holm: spot.metric_p_holm,
                accuracy_p_holm: spot.accuracy_p_holm,
                verdict,
            }
        })
        .collect()
}

fn reference_collapsed(evidence: &Evidence<'_>, round: usize) -> bool {
    evidence
        .reference_collapsed
        .get(round)
        .copied()
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Rng;

    /// `seeds` seeds of `rounds + 1` rounds over `images` 0/1 values with the given per-round
    /// success rates, shifted per seed by `seed_shift * (seed - 1)`.
    fn bernoulli(rates: &[f64], seeds: usize, images: usize, seed_shift: f64) -> Values {
        (0..seeds)
            .map(|seed| {
                rates
                    .iter()
                    .enumerate()
                    .map(|(round, rate)| {
                        let mut rng = Rng::for_item(17, seed as u64, round as u64);
                        let rate = rate + seed_shift * (seed as f64 - 1.0);
                        (0..images)
                            .map(|_| f64::from(u8::from(f64::from(rng.uniform()) < rate)))
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    fn boot() -> Hierarchical {
        Hierarchical {
            resamples: 1000,
            ..Hierarchical::default()
        }
    }

    #[test]
    fn a_clear_gain_in_both_is_a_benefit_and_a_clear_loss_is_harm() {
        // Rounds: dense 60%, +20 points, no change, -20 points.
        let accuracy = bernoulli(&[0.6, 0.8, 0.6, 0.4], 3, 600, 0.0);
        let metric = bernoulli(&[0.5, 0.7, 0.5, 0.3], 3, 600, 0.0);
        let evidence = Evidence {
            metric: &metric,
            accuracy: &accuracy,
            reference: None,
            collapsed: &[false; 4],
            reference_collapsed: &[false; 4],
        };
        let verdicts = verdicts(&evidence, &boot());
        let names: Vec<&str> = verdicts.iter().map(|v| v.verdict.name()).collect();
        assert_eq!(names, ["benefit", "no effect", "harm"]);
        assert!(verdicts[0].gain.low > 0.1 && verdicts[0].gain.high < 0.3);
        assert!((verdicts[0].value.estimate - 0.7).abs() < 0.05);
        // A collapsed round is never a benefit, whatever its numbers.
        let collapsed = Evidence {
            collapsed: &[false, true, false, false],
            ..evidence
        };
        assert_eq!(verdicts_of(&collapsed)[0], Verdict::Collapsed);
        // A round whose reference collapsed is not compared: the clear benefit of round 1 and
        // the clear harm of round 3 are both withheld; round 2 is untouched.
        let reference = Evidence {
            reference_collapsed: &[false, true, false, true],
            ..evidence
        };
        assert_eq!(
            verdicts_of(&reference),
            [
                Verdict::ReferenceCollapsed,
                Verdict::NoEffect,
                Verdict::ReferenceCollapsed
            ]
        );
        // The pruned model's own collapse is named first.
        let both = Evidence {
            collapsed: &[false, true, false, false],
            ..reference
        };
        assert_eq!(verdicts_of(&both)[0], Verdict::Collapsed);
    }

    fn verdicts_of(evidence: &Evidence<'_>) -> Vec<Verdict> {
        verdicts(evidence, &boot())
            .iter()
            .map(|v| v.verdict)
            .collect()
    }

    #[test]
    fn the_metric_alone_is_not_enough_and_the_reference_can_be_a_control() {
        let flat = bernoulli(&[0.6, 0.6], 2, 800, 0.0);
        let metric = bernoulli(&[0.5, 0.8], 2, 800, 0.0);
        let evidence = Evidence {
            metric: &metric,
            accuracy: &flat,
            reference: None,
            collapsed: &[false; 2],
            reference_collapsed: &[false; 2],
        };
        assert_eq!(verdicts_of(&evidence), [Verdict::NoEffect]);
        // Against a control that already gains as much, the pruned model gains nothing.
        let control = bernoulli(&[0.5, 0.8], 2, 800, 0.0);
        let accuracy = bernoulli(&[0.4, 0.8], 2, 800, 0.0);
        let against_dense = Evidence {
            metric: &metric,
            accuracy: &accuracy,
            reference: None,
            collapsed: &[false; 2],
            reference_collapsed: &[false; 2],
        };
        assert_eq!(verdicts_of(&against_dense), [Verdict::Benefit]);
        let against_control = Evidence {
            reference: Some((&control, &accuracy)),
            ..against_dense
        };
        let v = verdicts(&against_control, &boot());
        assert_eq!(v[0].verdict, Verdict::NoEffect);
        assert!(v[0].gain.estimate.abs() < 0.05);
    }

    #[test]
    fn seed_to_seed_spread_widens_the_gain_interval() {
        // The same mean gain, but seeds that disagree: wide apart by 10 points per seed.
        let accuracy = bernoulli(&[0.5, 0.6], 3, 2000, 0.0);
        let spread: Values = bernoulli(&[0.5, 0.5], 3, 2000, 0.0)
            .into_iter()
            .zip(bernoulli(&[0.5, 0.56], 3, 2000, 0.1))
            .map(|(dense, pruned)| vec![dense[0].clone(), pruned[1].clone()])
            .collect();
        let tight = bernoulli(&[0.5, 0.56], 3, 2000, 0.0);
        let width = |metric: &Values| {
            let v = verdicts(
                &Evidence {
                    metric,
                    accuracy: &accuracy,
                    reference: None,
                    collapsed: &[false; 2],
                    reference_collapsed: &[false; 2],
                },
                &boot(),
            );
            v[0].gain.high - v[0].gain.low
        };
        assert!(
            width(&spread) > 2.0 * width(&tight),
            "{} {}",
            width(&spread),
            width(&tight)
        );
    }
}
