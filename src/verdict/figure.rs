//! `verdict.png`: every metric the verdict judges against sparsity, one panel each. With several
//! seeds each seed's curve is drawn faintly and the across-seed mean boldly, with its
//! hierarchical-bootstrap band (seeds, then images), so the spread between training runs is seen
//! beside the interval that accounts for it.

use super::rule::Values;
use super::sources::MetricSource;
use super::table::VerdictRow;
use crate::metrics::Hierarchical;
use crate::plot::{Axes, Band, Figure, PALETTE, Series, TickFormat};

/// The mean of the finite values (NaN without any).
fn finite_mean(values: &[f64]) -> f64 {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        f64::NAN
    } else {
        finite.iter().sum::<f64>() / finite.len() as f64
    }
}

/// One panel per metric source; `values[source][seed][round][image]`, `sparsity[seed][round]`;
/// bands are the hierarchical intervals at `boot.confidence`; `rows` give the across-seed intervals of rounds `1..` (reference `dense`), round 0's is
/// bootstrapped here.
pub fn metrics_figure(
    experiment: &str,
    sources: &[MetricSource],
    values: &[Values],
    sparsity: &[Vec<f64>],
    rows: &[VerdictRow],
    boot: &Hierarchical,
) -> Figure {
    let seeds = sparsity.len();
    let rounds = sparsity.first().map_or(0, Vec::len);
    let mean_sparsity: Vec<f64> = (0..rounds)
        .map(|r| sparsity.iter().map(|s| s[r]).sum::<f64>() / seeds.max(1) as f64)
        .collect();
    let panels = sources
        .iter()
        .zip(values)
        .enumerate()
        .map(|(index, (source, per_seed))| {
            let color = PALETTE[index % (PALETTE.len() - 2)];
            let mut axes = Axes::new(
                format!("{}: {}", source.analysis, source.metric),
                "sparsity",
                source.metric.as_str(),
            )
            .with_x_format(TickFormat::Percent);
            let seed_means: Vec<Vec<f64>> = per_seed
                .iter()
                .map(|rounds| rounds.iter().map(|v| finite_mean(v)).collect())
                .collect();
            if seeds > 1 {
                for (seed, means) in seed_means.iter().enumerate() {
                    let name = if seed == 0 { "each seed" } else { "" };
                    let points = means
                        .iter()
                        .enumerate()
                        .map(|(r, &m)| (sparsity[seed][r], m));
                    axes = axes.with_series(Series::new(name, points).with_color(color).faint());
                }
            }
            let mean: Vec<(f64, f64)> = (0..rounds)
                .map(|r| {
                    let of_round: Vec<f64> = seed_means.iter().map(|m| m[r]).collect();
                    (mean_sparsity[r], finite_mean(&of_round))
                })
                .collect();
            let band: Vec<(f64, f64, f64)> = (0..rounds)
                .filter_map(|r| {
                    let interval = if r == 0 {
                        let dense: Vec<Vec<f64>> = per_seed.iter().map(|s| s[0].clone()).collect();
                        boot.mean(&dense)?
                    } else {
                        rows.iter()
                            .find(|row| {
                                row.round == r
                                    && row.reference == "dense"
                                    && row.metric == source.metric
                                    && row.analysis == source.analysis
                            })?
                            .verdict
                            .value
                    };
                    interval.low.is_finite().then_some((
                        mean_sparsity[r],
                        interval.low,
                        interval.high,
                    ))
                })
                .collect();
            let name = if seeds > 1 {
                format!("mean over {seeds} seeds")
            } else {
                "mean".to_string()
            };
            let series = Series::new(name.clone(), mean).with_color(color);
            axes.with_series(if seeds > 1 { series.bold() } else { series })
                .with_band(Band::new(name, band))
        })
        .collect();
    let columns = sources.len().clamp(1, 3);
    Figure::grid(panels, columns).with_title(format!("{experiment}: metrics against sparsity"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_seeds_give_faint_curves_and_a_bold_mean_in_every_panel() {
        let sources = crate::verdict::metric_sources(&["eval[1]".parse().unwrap()]);
        // Two seeds, three rounds, two images: seed 1 is 0.2 above seed 0 everywhere.
        let values: Vec<Values> = vec![
            (0..2)
                .map(|seed| {
                    (0..3)
                        .map(|round| vec![0.5 - 0.1 * round as f64 + 0.2 * seed as f64; 2])
                        .collect()
                })
                .collect(),
        ];
        let sparsity = vec![vec![0.0, 0.2, 0.36], vec![0.0, 0.21, 0.37]];
        let figure = metrics_figure(
            "toy",
            &sources,
            &values,
            &sparsity,
            &[],
            &Hierarchical::default(),
        );
        let scene = figure.scene();
        let texts: Vec<&str> = scene.text_boxes().iter().map(|t| t.0).collect();
        assert!(
            texts.contains(&"each seed")
                && texts.contains(&"mean over 2 seeds")
                && texts.contains(&"pool: top1"),
            "{texts:?}"
        );
        assert!(
            scene.text_layout_problems().is_empty(),
            "{:?}",
            scene.text_layout_problems()
        );
        // One seed: only the mean, drawn normally.
        let one = metrics_figure(
            "toy",
            &sources,
            &[vec![values[0][0].clone()]],
            &sparsity[..1],
            &[],
            &Hierarchical::default(),
        );
        let texts: Vec<String> = one
            .scene()
            .text_boxes()
            .iter()
            .map(|t| t.0.to_string())
            .collect();
        assert!(
            texts.iter().any(|t| t == "mean") && !texts.iter().any(|t| t == "each seed"),
            "{texts:?}"
        );
    }
}
