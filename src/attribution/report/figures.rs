//! The study's Figure 3: mean RMA and RRA against sparsity per method, with bootstrap bands and
//! top-1 accuracy on a right-hand axis. Sweet spots are the verdict's, not marked here.

use super::summary::MetricRow;
use super::{AttributionResults, Metric};
use crate::plot::{Axes, Band, Figure, PALETTE, SecondaryAxis, Series, TickFormat};

/// One panel per metric.
pub fn metrics_figure(
    experiment: &str,
    results: &AttributionResults,
    rows: &[MetricRow],
) -> Figure {
    let panels = Metric::ALL
        .into_iter()
        .map(|metric| metric_panel(metric, results, rows))
        .collect();
    Figure::grid(panels, 2)
        .with_panel_size(640, 440)
        .with_title(format!(
            "{experiment}: attribution quality against sparsity"
        ))
}

fn metric_panel(metric: Metric, results: &AttributionResults, rows: &[MetricRow]) -> Axes {
    let mut axes = Axes::new(
        format!("mean {} (band: 95% CI)", metric.name()),
        "sparsity",
        metric.name(),
    )
    .with_x_format(TickFormat::Percent)
    .with_y_range(0.0, 1.0);
    for (index, method) in results.methods.iter().enumerate() {
        let color = PALETTE[index % (PALETTE.len() - 2)];
        let of_method: Vec<&MetricRow> = rows
            .iter()
            .filter(|r| &r.method == method && r.metric == metric)
            .collect();
        let points = of_method
            .iter()
            .map(|r| (r.sparsity, r.mean.map_or(f64::NAN, |m| m.estimate)));
        axes = axes
            .with_series(Series::new(method.clone(), points).with_color(color))
            .with_band(
                Band::new(
                    method.clone(),
                    of_method
                        .iter()
                        .filter_map(|r| r.mean.map(|m| (r.sparsity, m.low, m.high))),
                )
                .with_color(color),
            );
    }
    let accuracy = Series::new("top-1", results.rounds.iter().map(|r| (r.sparsity, r.top1)))
        .with_color([0, 0, 0])
        .dashed();
    axes.with_secondary(
        SecondaryAxis::new("top-1 accuracy")
            .with_series(accuracy)
            .with_y_format(TickFormat::Percent),
    )
}
