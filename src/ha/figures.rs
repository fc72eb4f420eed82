//! The human-alignment figures (accuracy against sparsity, one panel per dataset, as the
//! study's Figure 6; shape bias against sparsity) and the Markdown summary.
//!
//! Neither marks sweet spots: those are judged once, for every analysis, by `report[verdict]`
//! (Holm over the rounds, accuracy and metric both above the reference); per-round intervals
//! here are descriptive.

use std::collections::BTreeMap;

use super::datasets::HaDataset;
use super::mapping::CATEGORIES;
use super::summary::{DatasetRow, LEVEL, ShapeBiasRow};
use crate::plot::{Axes, Band, Figure, Series, TickFormat};

/// One panel per dataset: top-1 (and top-5 for sketch and stylized) against sparsity, with the
/// bootstrap band, the dense model's top-1 and, when the human trials are given, the humans'
/// accuracy on the same images (`humans`, per dataset) as reference lines.
pub fn accuracy_grid(
    experiment: &str,
    datasets: &[HaDataset],
    rows: &[DatasetRow],
    humans: &BTreeMap<HaDataset, f64>,
) -> Figure {
    let panels = datasets
        .iter()
        .map(|&dataset| {
            let mut rows: Vec<&DatasetRow> = rows.iter().filter(|r| r.dataset == dataset).collect();
            rows.sort_by(|a, b| a.sparsity.total_cmp(&b.sparsity));
            let mut axes = Axes::new(dataset.name(), "sparsity", "accuracy")
                .with_series(Series::new(
                    "top-1",
                    rows.iter().map(|r| (r.sparsity, r.top1)),
                ))
                .with_band(Band::new(
                    "top-1",
                    rows.iter().map(|r| (r.sparsity, r.top1_low, r.top1_high)),
                ))
                .with_x_format(TickFormat::Percent)
                .with_y_format(TickFormat::Percent);
            if dataset.reports_top5() {
                axes = axes.with_series(
                    Series::new(
                        "top-5",
                        rows.iter().filter_map(|r| Some((r.sparsity, r.top5?))),
                    )
                    .dashed(),
                );
            }
            let chance = 1.0 / CATEGORIES.len() as f64;
            let (lo, hi) = accuracy_range(rows.iter().flat_map(|r| {
                [
                    Some(r.top1_low),
                    Some(r.top1_high),
                    Some(r.top1),
                    r.top5,
                    Some(chance),
                    humans.get(&dataset).copied(),
                ]
                .into_iter()
                .flatten()
            }));
            axes = axes
                .with_y_range(lo, hi)
                .with_chance_line(chance, format!("chance (1/{})", CATEGORIES.len()));
            if let Some(dense) = rows.iter().find(|r| r.round == 0) {
                axes = axes.with_reference_line(dense.top1, "dense");
            }
            if let Some(&human) = humans.get(&dataset) {
                axes = axes.with_reference_line(human, "humans");
            }
            axes
        })
        .collect();
    Figure::grid(panels, 4).with_title(format!(
        "{experiment}: model-vs-human accuracy against sparsity ({:.0}% bootstrap bands)",
        LEVEL * 100.0
    ))
}

/// A y range for accuracies: the data with a margin, at least 10 points tall, inside [0, 1].
fn accuracy_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    let margin = ((hi - lo) * 0.1).max(0.05);
    let (mut lo, mut hi) = ((lo - margin).max(0.0), (hi + margin).min(1.0));
    if hi - lo < 0.1 {
        if lo == 0.0 {
            hi = 0.1;
        } else {
            lo = hi - 0.1;
        }
    }
    (lo, hi)
}

/// Shape bias on cue-conflict against sparsity.
pub fn shape_bias_figure(experiment: &str, rows: &[ShapeBiasRow]) -> Figure {
    let mut rows: Vec<&ShapeBiasRow> = rows.iter().collect();
    rows.sort_by(|a, b| a.sparsity.total_cmp(&b.sparsity));
    let mut axes = Axes::new(
        format!("{experiment}: shape bias against sparsity (cue-conflict)"),
        "sparsity (share of prunable weights removed)",
        "shape bias",
    )
    .with_series(Series::new(
        "shape bias",
        rows.iter()
            .filter_map(|r| Some((r.sparsity, r.shape_bias?))),
    ))
    .with_band(Band::new(
        "shape bias",
        rows.iter().map(|r| (r.sparsity, r.low, r.high)),
    ))
    .with_x_format(TickFormat::Percent)
    .with_y_format(TickFormat::Percent)
    .with_y_range(0.0, 1.0)
    .with_chance_line(0.5, "no preference");
    if let Some(dense) = rows
        .iter()
        .find(|r| r.round == 0)
        .and_then(|r| r.shape_bias)
    {
        axes = axes.with_reference_line(dense, "dense");
    }
    Figure::single(axes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape_rows() -> Vec<ShapeBiasRow> {
        (0..=10)
            .map(|round| {
                let sparsity = 1.0 - 0.8f64.powi(round as i32);
                let bias = 0.3 + 0.1 * (round as f64 * 0.7).sin();
                let width = 0.05 + 0.01 * (round % 3) as f64;
                ShapeBiasRow {
                    round,
                    sparsity,
                    shape_bias: Some(bias),
                    low: bias - width,
                    high: bias + width,
                    gain: bias - 0.3,
                    gain_low: bias - 0.3 - width,
                    gain_high: bias - 0.3 + width,
                    tally: Default::default(),
                }
            })
            .collect()
    }

    #[test]
    fn the_shape_bias_figure_keeps_its_text_inside_and_apart() {
        let name = "quickstart-resnet18-width-64-with-a-long-experiment-name";
        let fig = shape_bias_figure(name, &shape_rows());
        let scene = fig.scene();
        assert!(
            scene.text_layout_problems().is_empty(),
            "{:?}",
            scene.text_layout_problems()
        );
        let texts: Vec<&str> = scene.text_boxes().iter().map(|t| t.0).collect();
        assert!(texts.contains(&"no preference"), "{texts:?}");
        // The band is one smooth polygon (upper edge, then lower edge back), not columns.
        let polygons = scene
            .items
            .iter()
            .filter(|i| matches!(i, crate::plot::Item::Shapes { shapes, .. }
                if shapes.iter().any(|s| matches!(s, crate::plot::Shape::Polygon(p) if p.len() == 22))))
            .count();
        assert_eq!(polygons, 1);
        let _ = fig.save(&std::env::temp_dir().join("ha_shape_bias_example.png"));
    }

    #[test]
    fn the_accuracy_grid_draws_the_humans_where_their_trials_are_given() {
        let datasets = [HaDataset::Colour, HaDataset::Edge];
        let rows: Vec<DatasetRow> = datasets
            .iter()
            .flat_map(|&dataset| {
                (0..=3).map(move |round| DatasetRow {
                    round,
                    sparsity: 1.0 - 0.8f64.powi(round as i32),
                    dataset,
                    top1: 0.4 - 0.02 * round as f64,
                    top1_low: 0.35 - 0.02 * round as f64,
                    top1_high: 0.45 - 0.02 * round as f64,
                    top5: None,
                    gain: -0.02 * round as f64,
                    gain_low: -0.05,
                    gain_high: 0.01,
                    images: 100,
                })
            })
            .collect();
        let humans = BTreeMap::from([(HaDataset::Colour, 0.9)]);
        let scene = accuracy_grid("toy", &datasets, &rows, &humans).scene();
        let texts: Vec<&str> = scene.text_boxes().iter().map(|t| t.0).collect();
        // Only colour has human trials: one "humans" reference, beside two "dense" ones.
        assert_eq!(
            texts.iter().filter(|t| **t == "humans").count(),
            1,
            "{texts:?}"
        );
        assert_eq!(
            texts.iter().filter(|t| **t == "dense").count(),
            2,
            "{texts:?}"
        );
        assert!(
            scene.text_layout_problems().is_empty(),
            "{:?}",
            scene.text_layout_problems()
        );
    }
}
