//! The human-alignment figures (accuracy against sparsity, one panel per dataset, as the
//! study's Figure 6; shape bias against sparsity) and the Markdown summary of sweet spots.
//!
//! As in the core report, a pruned model that beats the dense one is ringed (a "sweet spot");
//! here its label carries a `*` when the paired bootstrap interval of the gain excludes zero.

use std::fmt::Write as _;

use super::datasets::HaDataset;
use super::mapping::CATEGORIES;
use super::summary::{DatasetRow, LEVEL, ShapeBiasRow};
use crate::plot::{Axes, Band, Figure, Highlight, Series, TickFormat};

fn sweet_spot_label(round: usize, gain_low: f64) -> String {
    if gain_low > 0.0 {
        format!("round {round}*")
    } else {
        format!("round {round}")
    }
}

/// One panel per dataset: top-1 (and top-5 for sketch and stylized) against sparsity, with the
/// bootstrap band, the dense model's top-1 as a reference line and sweet spots ringed.
pub fn accuracy_grid(experiment: &str, datasets: &[HaDataset], rows: &[DatasetRow]) -> Figure {
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
                ]
                .into_iter()
                .flatten()
            }));
            axes = axes
                .with_y_range(lo, hi)
                .with_chance_line(chance, format!("chance (1/{})", CATEGORIES.len()));
            if let Some(dense) = rows.iter().find(|r| r.round == 0) {
                axes = axes.with_reference_line(dense.top1, "dense");
                for row in rows.iter().filter(|r| r.round > 0 && r.gain > 0.0) {
                    axes = axes.with_highlight(
                        Highlight::new(row.sparsity, row.top1)
                            .labeled(sweet_spot_label(row.round, row.gain_low)),
                    );
                }
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
        for row in rows.iter().filter(|r| r.round > 0 && r.gain > 0.0) {
            if let Some(value) = row.shape_bias {
                axes = axes.with_highlight(
                    Highlight::new(row.sparsity, value)
                        .labeled(sweet_spot_label(row.round, row.gain_low)),
                );
            }
        }
    }
    Figure::single(axes)
}

fn percent(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", 100.0 * v)
    } else {
        "n/a".into()
    }
}

fn signed_points(v: f64) -> String {
    if v.is_finite() {
        format!("{:+.1}", 100.0 * v)
    } else {
        "n/a".into()
    }
}

/// `ha.md`: per dataset, the dense model's accuracy and every pruned round whose gain interval
/// excludes zero (no maximum over rounds).
pub fn summary_markdown(
    experiment: &str,
    source: &str,
    datasets: &[HaDataset],
    rows: &[DatasetRow],
    shape_bias: &[ShapeBiasRow],
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {experiment}: human alignment (model-vs-human)\n");
    let _ = writeln!(
        out,
        "Images: {source}. Accuracy is the mean over a dataset's conditions; intervals are {:.0}% \
         bootstrap intervals over images (resampled within each condition), gains over the dense \
         model use the same resamples for both models. Every pruned round whose gain interval lies \
         above (below) zero is listed; there is no \"best round\", since the largest of several \
         noisy gains overstates the gain. The intervals are per round, not corrected for testing \
         every round.\n",
        LEVEL * 100.0
    );
    let _ = writeln!(
        out,
        "| dataset | dense top-1 | pruned rounds above dense | pruned rounds below dense |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- |");
    for &dataset in datasets {
        let of: Vec<&DatasetRow> = rows.iter().filter(|r| r.dataset == dataset).collect();
        let dense_text = of
            .iter()
            .find(|r| r.round == 0)
            .map_or("n/a".into(), |d| percent(d.top1));
        let listed = |keep: &dyn Fn(&DatasetRow) -> bool| {
            let cells: Vec<String> = of
                .iter()
                .filter(|r| r.round > 0 && keep(r))
                .map(|r| {
                    format!(
                        "round {} ({}, {} [{}, {}])",
                        r.round,
                        percent(r.sparsity),
                        signed_points(r.gain),
                        signed_points(r.gain_low),
                        signed_points(r.gain_high)
                    )
                })
                .collect();
            if cells.is_empty() {
                "none".to_string()
            } else {
                cells.join("; ")
            }
        };
        let _ = writeln!(
            out,
            "| {dataset} | {dense_text} | {} | {} |",
            listed(&|r| r.gain_low > 0.0),
            listed(&|r| r.gain_high < 0.0)
        );
    }
    if !shape_bias.is_empty() {
        let _ = writeln!(out, "\n## Shape bias (cue-conflict)\n");
        let _ = writeln!(
            out,
            "| round | sparsity | shape bias | interval | gain (points) | gain interval | shape / texture / other decisions |"
        );
        let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |");
        for r in shape_bias {
            let other = r.tally.considered - r.tally.shape_hits - r.tally.texture_hits;
            let _ = writeln!(
                out,
                "| {} | {} | {} | [{}, {}] | {} | [{}, {}] | {} / {} / {} |",
                r.round,
                percent(r.sparsity),
                r.shape_bias.map_or("n/a".into(), percent),
                percent(r.low),
                percent(r.high),
                signed_points(r.gain),
                signed_points(r.gain_low),
                signed_points(r.gain_high),
                r.tally.shape_hits,
                r.tally.texture_hits,
                other
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(round: usize, gain: f64, gain_low: f64, gain_high: f64) -> DatasetRow {
        DatasetRow {
            round,
            sparsity: 0.2 * round as f64,
            dataset: HaDataset::ALL[0],
            top1: 0.5 + gain,
            top1_low: 0.4,
            top1_high: 0.6,
            top5: None,
            gain,
            gain_low,
            gain_high,
            images: 100,
        }
    }

    #[test]
    fn every_round_outside_the_noise_is_listed_and_no_maximum_is_picked() {
        let rows = [
            row(0, 0.0, 0.0, 0.0),
            row(1, 0.05, 0.01, 0.09),
            row(2, 0.08, -0.01, 0.17), // the largest gain, inside the noise: not listed
            row(3, -0.06, -0.1, -0.02),
        ];
        let md = summary_markdown("toy", "embedded", &[HaDataset::ALL[0]], &rows, &[]);
        assert!(md.contains("| 50.0% | round 1 (20.0%, +5.0 [+1.0, +9.0]) | round 3 (60.0%, -6.0 [-10.0, -2.0]) |"), "{md}");
        assert!(
            !md.contains("round 2") && !md.contains("best pruned"),
            "{md}"
        );
    }

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
}
