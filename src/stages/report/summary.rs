//! `summary.md`: what a researcher reads first.

use std::fmt::Write as _;

use super::pool::PoolRow;
use crate::pool::collapse::LAYER_SPARSITY_LIMIT;

/// The status cell: collapsed (with why) and/or below chance.
fn status(row: &PoolRow) -> String {
    let mut marks = Vec::new();
    if row.collapsed() {
        marks.push(format!("**collapsed**: {}", row.collapse_reason));
    }
    if row.below_chance() {
        marks.push(format!("below chance ({:.1}%)", row.chance * 100.0));
    }
    marks.join("; ")
}

/// A Markdown summary: one table row per round, and the rounds whose accuracy beats the dense
/// model's.
pub fn summary_markdown(experiment: &str, rate: f64, rows: &[PoolRow], prunable: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {experiment}\n");
    let _ = writeln!(
        out,
        "Learning-rate rewinding: each round removes {:.0}% of the remaining prunable weights \
         ({prunable} tensors) by global magnitude, then retrains with the schedule restarted.\n",
        rate * 100.0
    );
    let _ = writeln!(
        out,
        "| round | sparsity (measured) | expected | top-1 [95% interval] | top-5 | loss | train s | status |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---|");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {:.2}% | {:.2}% | {:.2}% [{:.2}, {:.2}] | {:.2}% | {:.4} | {:.0} | {} |",
            row.round,
            row.sparsity * 100.0,
            row.expected_sparsity * 100.0,
            row.top1 * 100.0,
            row.top1_low * 100.0,
            row.top1_high * 100.0,
            row.top5 * 100.0,
            row.loss,
            row.train_seconds,
            status(row)
        );
    }
    if rows.iter().any(PoolRow::collapsed) {
        let _ = writeln!(
            out,
            "\n**Collapsed** models (a tensor entirely pruned or past {:.0}% sparsity, or a top-1 \
             interval containing chance, {:.1}%) are listed but say nothing about pruning's \
             benefit: they are never sweet spots.",
            LAYER_SPARSITY_LIMIT * 100.0,
            rows[0].chance * 100.0
        );
    }
    if let Some(dense) = rows.iter().find(|r| r.round == 0) {
        let _ = writeln!(out, "\n## Top-1 against the dense model\n");
        for row in rows.iter().filter(|r| r.round > 0) {
            let _ = writeln!(
                out,
                "- round {} ({:.1}% sparse): {:+.2} points against the dense {:.2}%{}",
                row.round,
                row.sparsity * 100.0,
                (row.top1 - dense.top1) * 100.0,
                dense.top1 * 100.0,
                if row.collapsed() { " (collapsed)" } else { "" }
            );
        }
        let _ = writeln!(
            out,
            "\nThese are point estimates on one validation split; whether a round benefits is the \
             verdict's call (the head of the report folder's `summary.md`: paired intervals, Holm \
             over rounds, one rule for every metric). Each LRR round retrains with the full \
             schedule on top of the previous weights, so round n has had n+1 schedules of \
             training: part of a gain over an under-trained dense model can be that extra \
             training rather than pruning. `[experiment] seeds` measures seed-to-seed variation, \
             and `[control] matched_dense = true` trains a dense model with the same schedules \
             per round, the reference that isolates pruning."
        );
    }
    out
}

/// The images `data.on_bad_image = "skip"` left out, counted and listed (the first ten).
pub fn skipped_markdown(skipped: &[String]) -> String {
    if skipped.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n## Unreadable images skipped\n\n{} image file(s) could not be decoded and were left out (`data.on_bad_image = \"skip\"`):\n\n",
        skipped.len()
    );
    for file in skipped.iter().take(10) {
        let _ = writeln!(out, "- {file}");
    }
    if skipped.len() > 10 {
        let _ = writeln!(out, "- ... and {} more", skipped.len() - 10);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(round: usize, top1: f64, collapse_reason: &str) -> PoolRow {
        PoolRow {
            round,
            sparsity: 0.2 * round as f64,
            expected_sparsity: 0.2 * round as f64,
            top1,
            top1_low: top1 - 0.02,
            top1_high: top1 + 0.02,
            chance: 0.1,
            top5: 0.9,
            loss: 1.0,
            collapse_reason: collapse_reason.to_string(),
            stage_key: String::new(),
            train_seconds: 1.0,
            eval_seconds: 1.0,
        }
    }

    #[test]
    fn collapsed_and_below_chance_models_are_marked_and_no_point_estimate_is_called_a_win() {
        let rows = [
            row(0, 0.50, ""),
            row(1, 0.60, "head.weight entirely pruned"),
            row(
                2,
                0.09,
                "top-1 interval [7.3%, 10.9%] contains chance 10.0%",
            ),
            row(3, 0.55, ""),
        ];
        let md = summary_markdown("toy", 0.2, &rows, 4);
        assert!(
            md.contains("**collapsed**: head.weight entirely pruned"),
            "{md}"
        );
        assert!(md.contains("below chance (10.0%)"), "{md}");
        assert!(md.contains("**Collapsed** models"), "{md}");
        assert!(
            md.contains("- round 3 (60.0% sparse): +5.00 points"),
            "{md}"
        );
        assert!(
            md.contains("- round 1 (20.0% sparse): +10.00 points"),
            "{md}"
        );
        assert!(md.contains("(collapsed)"), "{md}");
        assert!(md.contains("the verdict's call"), "{md}");
        assert!(!md.contains("beat"), "{md}");
    }
}
