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
        "| analysis | metric | reference | benefit at sparsity | harm at | collapsed at | largest gain [interval] |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for (analysis, metric, reference) in metrics {
        let own: Vec<&VerdictRow> = rows
            .iter()
            .filter(|r| r.analysis == analysis && r.metric == metric && r.reference == reference)
            .collect();
        let largest = own
            .iter()
            .filter(|r| r.verdict.gain.estimate.is_finite())
            .max_by(|a, b| a.verdict.gain.estimate.total_cmp(&b.verdict.gain.estimate));
        let largest = largest.map_or("-".to_string(), |r| {
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
            "| {analysis} | {metric} | {reference} | {} | {} | {collapsed} | {largest} |",
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
         in `collapse_reason`). The largest gain is descriptive: a maximum over rounds is biased upward, the \
         verdict does not rest on it. See docs/statistics.md; every row is in `verdict.parquet`.\n",
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
