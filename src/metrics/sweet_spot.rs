//! The one sweet-spot rule every analysis uses.
//!
//! Round `n` is a sweet spot for metric `M` when the paired gains of round `n` over the reference
//! model (the dense model, or round `n`'s matched-compute dense control when the pool has one) in
//! accuracy **and** in `M` both lie above zero, each after Holm's correction over all rounds
//! tested ([`holm_adjust`]). "Above zero after Holm" is read on one-sided bootstrap p-values
//! ([`super::bootstrap::one_sided_p`]): the Holm-adjusted p-value is below `alpha`, which is the
//! same as the one-sided interval at the adjusted level excluding zero. Collapsed rounds stay in
//! the family (so the correction is never weakened by dropping them) but are never sweet spots.
//! There is deliberately no "best round": a maximum over rounds would need a selection-aware
//! interval, and the rule answers the study's question (where does pruning help) without one.

use super::holm::holm_adjust;

/// The family-wise error rate of the rule.
pub const ALPHA: f64 = 0.05;

/// One round's evidence: one-sided p-values of its gains over the reference (gains signed so that
/// positive is better).
#[derive(Debug, Clone, PartialEq)]
pub struct RoundGains {
    pub round: usize,
    pub sparsity: f64,
    pub accuracy_p: f64,
    pub metric_p: f64,
    pub collapsed: bool,
}

/// The rule's verdict on one round, with the Holm-adjusted p-values it rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct SweetSpot {
    pub round: usize,
    pub sparsity: f64,
    pub accuracy_p_holm: f64,
    pub metric_p_holm: f64,
    pub collapsed: bool,
    pub sweet: bool,
}

/// Applies the rule to every round of one pool, metric and reference; Holm runs separately over
/// the accuracy p-values and over the metric's.
pub fn sweet_spots(rounds: &[RoundGains], alpha: f64) -> Vec<SweetSpot> {
    let accuracy = holm_adjust(&rounds.iter().map(|r| r.accuracy_p).collect::<Vec<_>>());
    let metric = holm_adjust(&rounds.iter().map(|r| r.metric_p).collect::<Vec<_>>());
    rounds
        .iter()
        .zip(accuracy.into_iter().zip(metric))
        .map(|(r, (accuracy_p_holm, metric_p_holm))| SweetSpot {
            round: r.round,
            sparsity: r.sparsity,
            accuracy_p_holm,
            metric_p_holm,
            collapsed: r.collapsed,
            sweet: !r.collapsed && accuracy_p_holm < alpha && metric_p_holm < alpha,
        })
        .collect()
}

/// The sparsity ranges (first, last) of consecutive sweet rounds, in round order: the verdict
/// table's cells.
pub fn sweet_ranges(verdicts: &[SweetSpot]) -> Vec<(f64, f64)> {
    let mut ranges: Vec<(f64, f64)> = Vec::new();
    let mut open = false;
    for verdict in verdicts {
        match (verdict.sweet, open) {
            (true, true) => ranges.last_mut().expect("an open range").1 = verdict.sparsity,
            (true, false) => ranges.push((verdict.sparsity, verdict.sparsity)),
            _ => {}
        }
        open = verdict.sweet;
    }
    ranges
}

/// Ranges as `20%-49%, 74%` for a summary; `none` without any.
pub fn format_ranges(ranges: &[(f64, f64)]) -> String {
    if ranges.is_empty() {
        return "none".to_string();
    }
    let percent = |s: f64| format!("{:.0}%", 100.0 * s);
    ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                percent(a)
            } else {
                format!("{}-{}", percent(a), percent(b))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(round: usize, accuracy_p: f64, metric_p: f64, collapsed: bool) -> RoundGains {
        RoundGains {
            round,
            sparsity: 0.2 * round as f64,
            accuracy_p,
            metric_p,
            collapsed,
        }
    }

    #[test]
    fn both_gains_must_survive_holm_and_collapse_disqualifies() {
        let rounds = [
            round(1, 0.001, 0.002, false), // metric 0.002 * 3 = 0.006 after Holm: sweet
            round(2, 0.001, 0.03, false),  // metric 0.03 * 2 = 0.06 after Holm: not sweet
            round(3, 0.001, 0.001, true),  // collapsed
            round(4, 0.3, 0.04, false),    // accuracy does not improve
        ];
        let verdicts = sweet_spots(&rounds, ALPHA);
        let sweet: Vec<bool> = verdicts.iter().map(|v| v.sweet).collect();
        assert_eq!(sweet, [true, false, false, false]);
        assert!((verdicts[1].metric_p_holm - 0.06).abs() < 1e-12);
        // Without the correction round 2 would have passed: the rule is not the raw p-values.
        assert!(rounds[1].metric_p < ALPHA);
    }

    #[test]
    fn ranges_join_consecutive_sweet_rounds() {
        let verdicts: Vec<SweetSpot> = [true, true, false, true]
            .iter()
            .enumerate()
            .map(|(i, &sweet)| SweetSpot {
                round: i + 1,
                sparsity: 0.2 * (i + 1) as f64,
                accuracy_p_holm: 0.0,
                metric_p_holm: 0.0,
                collapsed: false,
                sweet,
            })
            .collect();
        let ranges = sweet_ranges(&verdicts);
        assert_eq!(ranges.len(), 2);
        assert_eq!(format_ranges(&ranges), "20%-40%, 80%");
        assert_eq!(format_ranges(&[]), "none");
    }
}
