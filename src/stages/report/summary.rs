//! `summary.md`: what a researcher reads first.

use std::fmt::Write as _;

use super::pool::PoolRow;

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
        "| round | sparsity (measured) | expected | top-1 | top-5 | loss | train s |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {:.2}% | {:.2}% | {:.2}% | {:.2}% | {:.4} | {:.0} |",
            row.round,
            row.sparsity * 100.0,
            row.expected_sparsity * 100.0,
            row.top1 * 100.0,
            row.top5 * 100.0,
            row.loss,
            row.train_seconds
        );
    }
    if let Some(dense) = rows.iter().find(|r| r.round == 0) {
        let better: Vec<&PoolRow> = rows
            .iter()
            .filter(|r| r.round > 0 && r.top1 > dense.top1)
            .collect();
        let _ = writeln!(out, "\n## Pruned models that beat the dense one on top-1\n");
        if better.is_empty() {
            let _ = writeln!(
                out,
                "None: no pruned model exceeds the dense top-1 of {:.2}%.",
                dense.top1 * 100.0
            );
        } else {
            for row in better {
                let _ = writeln!(
                    out,
                    "- round {} ({:.1}% sparse): {:+.2} points over the dense {:.2}%",
                    row.round,
                    row.sparsity * 100.0,
                    (row.top1 - dense.top1) * 100.0,
                    dense.top1 * 100.0
                );
            }
            let _ = writeln!(
                out,
                "\nOne validation split, one seed: differences of a point or less may be noise. \
                 Each LRR round retrains with the full schedule on top of the previous weights, so \
                 round n has had n+1 schedules of training: part of a gain over an under-trained \
                 dense model can be that extra training rather than pruning."
            );
        }
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
