//! The verdict section that leads `summary.md`: per metric, the sparsity ranges where pruning
//! beats the reference under the one rule, and the rounds where it hurts or collapsed.

use std::fmt::Write as _;

use super::Verdict;
use super::table::VerdictRow;
use crate::metrics::sweet_spot::{ALPHA, SweetSpot, format_ranges, sweet_ranges};

/// Ranges of sparsity (as the summary writes them) of the rows of one metric with `verdict`.
fn ranges(rows: &[&VerdictRow], verdict: Verdict) -> String {
    let spots: Vec<SweetSpot> = rows
        .iter()
        .map(|r| SweetSpot {
            round: r.round,
            sparsity: r.sparsity,
            accuracy_p_holm: r.verdict.accuracy_p_holm,
            metric_p_holm: r.verdict.p_holm,
            collapsed: matches!(
                r.verdict.verdict,
                Verdict::Collapsed | Verdict::ReferenceCollapsed
            ),
            sweet: r.verdict.verdict == verdict,
        })
        .collect();
    format_ranges(&sweet_ranges(&spots))
}

/// `# <experiment>` and the verdict table, one line per metric, with how it was decided.
pub fn verdict_markdown(experiment: &str, seeds: &[u64], rows: &[VerdictRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {experiment}\n\n## Verdict: where pruning beats the reference\n"
    );
    let mut metrics: Vec<(&str, &str, &str)> = Vec::new();
    for row in rows {
        let key = (
            row.analysis.as_str(),
            row.metric.as_str(),
            row.reference.as_str(),
        );
        if !metrics.contains(&key) {
            metrics.push(key);
        }
    }
    let _ = writeln!(
        out,
        "| analysis | metric | reference | benefit at sparsity | harm at | collapsed at | gain at the sparsest round [interval] |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for (analysis, metric, reference) in metrics {
        let own: Vec<&VerdictRow> = rows
            .iter()
            .filter(|r| r.analysis == analysis && r.metric == metric && r.reference == reference)
            .collect();
        // A round fixed in advance, not the best one: a maximum over rounds is biased upward.
        let last = own.iter().max_by_key(|r| r.round);
        let last = last.map_or("-".to_string(), |r| {
            format!(
                "{:+.3} [{:+.3}, {:+.3}] at {:.0}%",
                r.verdict.gain.estimate,
                r.verdict.gain.low,
                r.verdict.gain.high,
                100.0 * r.sparsity
            )
        });
        let mut collapsed = ranges(&own, Verdict::Collapsed);
        if own
            .iter()
            .any(|r| r.verdict.verdict == Verdict::ReferenceCollapsed)
        {
            let _ = write!(
                collapsed,
                "; {reference} collapsed at {}",
                ranges(&own, Verdict::ReferenceCollapsed)
            );
        }
        let _ = writeln!(
            out,
            "| {analysis} | {metric} | {reference} | {} | {} | {collapsed} | {last} |",
            ranges(&own, Verdict::Benefit),
            ranges(&own, Verdict::Harm),
        );
    }
    let seeds_text = match seeds {
        [seed] => format!("one training seed ({seed})"),
        _ => format!(
            "{} training seeds ({}), each seed weighing the same",
            seeds.len(),
            seeds
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let _ = writeln!(
        out,
        "\nA round **benefits** for a metric when its paired per-image gains over the reference \
         in top-1 and in the metric both lie above zero after Holm's correction over the rounds \
         (family-wise {:.0}%); **harm**: the metric's loss does. Intervals are hierarchical \
         bootstrap intervals over {seeds_text}, then images. Collapsed models are never a \
         benefit; a round whose reference collapsed (the dense model, or that round's matched \
         control) is not compared at all (`reference collapsed` in `verdict.parquet`, its reason \
         in `collapse_reason`). The last column is the sparsest round's gain, a round fixed in \
         advance: there is no \"largest gain\", since a maximum over rounds is biased upward. \
         Every round's gain is in `verdict.parquet`. See docs/statistics.md.\n",
        ALPHA * 100.0
    );
    out
}

/// Links to each seed's own reports.
pub fn seed_links(seeds: &[u64]) -> String {
    let mut out = String::from("## Each seed's pool\n\n");
    for seed in seeds {
        let _ = writeln!(
            out,
            "- seed {seed}: [summary](seed-{seed}/summary.md), tables and figures in `seed-{seed}/`"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Interval;
    use crate::verdict::RoundVerdict;

    fn row(round: usize, gain: f64, verdict: Verdict) -> VerdictRow {
        let interval = |v: f64| Interval {
            estimate: v,
            low: v - 0.01,
            high: v + 0.01,
            count: 10,
        };
        VerdictRow {
            analysis: "pool".into(),
            metric: "top1".into(),
            reference: "control".into(),
            round,
            sparsity: 1.0 - 0.8f64.powi(round as i32),
            collapse_reason: String::new(),
            verdict: RoundVerdict {
                round,
                value: interval(0.5),
                gain: interval(gain),
                p: 0.5,
                p_holm: 0.5,
                accuracy_p_holm: 0.5,
                verdict,
            },
        }
    }

    #[test]
    fn the_table_gives_the_sparsest_round_not_the_best_and_names_a_collapsed_reference() {
        let rows = [
            row(1, 0.2, Verdict::Benefit),
            row(2, 0.3, Verdict::ReferenceCollapsed),
            row(3, -0.05, Verdict::NoEffect),
        ];
        let md = verdict_markdown("toy", &[0], &rows);
        assert!(
            md.contains("| pool | top1 | control | 20% | none | none; control collapsed at 36% | -0.050 [-0.060, -0.040] at 49% |"),
            "{md}"
        );
        assert!(
            !md.contains("+0.300"),
            "the largest gain is not picked: {md}"
        );
    }
}
