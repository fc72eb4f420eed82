//! The figures of the core report.

use super::pool::PoolRow;
use crate::plot::{Axes, Figure, Highlight, Series, TickFormat};

/// Top-1 and top-5 against measured sparsity, the dense model's top-1 as a reference line, chance
/// as a dotted grey line, collapsed models ringed as such. Which rounds benefit is the verdict's
/// call (one rule for every metric), so no point estimate is ringed as a win here.
pub fn accuracy_figure(experiment: &str, rows: &[PoolRow]) -> Figure {
    let top1 = Series::new("top-1", rows.iter().map(|r| (r.sparsity, r.top1))).with_markers(true);
    let top5 = Series::new("top-5", rows.iter().map(|r| (r.sparsity, r.top5)))
        .with_markers(true)
        .dashed();
    let mut axes = Axes::new(
        format!("{experiment}: accuracy against sparsity (LRR)"),
        "sparsity (share of prunable weights removed)",
        "validation accuracy",
    )
    .with_series(top1)
    .with_series(top5)
    .with_x_format(TickFormat::Percent)
    .with_y_format(TickFormat::Percent);
    if let Some(chance) = rows.first().map(|r| r.chance).filter(|c| c.is_finite()) {
        axes = axes.with_chance_line(chance, "chance (top-1)");
    }
    if let Some(dense) = rows.iter().find(|r| r.round == 0) {
        axes = axes.with_reference_line(dense.top1, "dense top-1");
    }
    for row in rows.iter().filter(|r| r.collapsed()) {
        axes = axes.with_highlight(
            Highlight::new(row.sparsity, row.top1)
                .labeled(format!("round {} collapsed", row.round)),
        );
    }
    Figure::single(axes)
}
