//! `ha.md`: per dataset the dense model's accuracy and every pruned round's gain with its
//! interval (all rounds, no selection: which rounds are sweet spots is `report[verdict]`'s one
//! rule), shape bias, and the consistency with the human observers when their trials are given.

use std::fmt::Write as _;

use super::datasets::HaDataset;
use super::human_tables::HumanDatasetRow;
use super::summary::{DatasetRow, LEVEL, ShapeBiasRow};

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

fn fixed(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "n/a".into()
    }
}

/// The human part of the summary: the datasets without human trials, and the rows.
pub type HumanSummary<'a> = (&'a [HaDataset], &'a [HumanDatasetRow]);

pub fn summary_markdown(
    experiment: &str,
    source: &str,
    datasets: &[HaDataset],
    rows: &[DatasetRow],
    shape_bias: &[ShapeBiasRow],
    humans: Option<HumanSummary<'_>>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {experiment}: human alignment (model-vs-human)\n");
    let _ = writeln!(
        out,
        "Images: {source}. Accuracy is the mean over a dataset's conditions; intervals are {:.0}% \
         bootstrap intervals over images (resampled within each condition), gains over the dense \
         model use the same resamples for both models. Every pruned round is listed: the \
         intervals are per round and describe it; whether a round is a sweet spot is decided \
         once for every analysis by the verdict (`summary.md`, `verdict.parquet`, metric \
         `ha_accuracy`), with Holm's correction over the rounds and the accuracy condition. \
         There is no \"best round\": the largest of several noisy gains overstates the gain.\n",
        LEVEL * 100.0
    );
    let _ = writeln!(
        out,
        "| dataset | dense top-1 | gain of each pruned round (points, interval) |"
    );
    let _ = writeln!(out, "| --- | --- | --- |");
    for &dataset in datasets {
        let of: Vec<&DatasetRow> = rows.iter().filter(|r| r.dataset == dataset).collect();
        let dense_text = of
            .iter()
            .find(|r| r.round == 0)
            .map_or("n/a".into(), |d| percent(d.top1));
        let cells: Vec<String> = of
            .iter()
            .filter(|r| r.round > 0)
            .map(|r| {
                format!(
                    "{}: {} [{}, {}]",
                    r.round,
                    signed_points(r.gain),
                    signed_points(r.gain_low),
                    signed_points(r.gain_high)
                )
            })
            .collect();
        let gains = if cells.is_empty() {
            "no pruned round".to_string()
        } else {
            cells.join("; ")
        };
        let _ = writeln!(out, "| {dataset} | {dense_text} | {gains} |");
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
    if let Some((absent, rows)) = humans {
        human_section(&mut out, absent, rows);
    }
    out
}

fn human_section(out: &mut String, absent: &[HaDataset], rows: &[HumanDatasetRow]) {
    let _ = writeln!(out, "\n## Consistency with the human observers\n");
    let _ = writeln!(
        out,
        "The benchmark's metrics (Geirhos et al. 2020, 2021) on the trials whose image the model \
         was scored on: each against one observer at a time on the same trials, then averaged \
         over observers, then over the conditions the benchmark aggregates (it leaves out the \
         undistorted condition and those where humans are near chance; every condition is in \
         `ha_human.parquet`, column `aggregated`). Accuracy difference is the benchmark's squared \
         difference (model minus human, squared; lower is more human-like); error consistency is \
         Cohen's kappa over correct/incorrect trials (1 when both are right on every trial). \
         The last column is the humans' error consistency among themselves (every pair of \
         observers on the same trials), the level a human-like model would reach. No intervals \
         yet: these are point estimates.\n"
    );
    if !absent.is_empty() {
        let names: Vec<&str> = absent.iter().map(|d| d.name()).collect();
        let _ = writeln!(
            out,
            "No human trials for {}: left out here.\n",
            names.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "| dataset | round | sparsity | conditions | human top-1 | model top-1 | accuracy difference | observed consistency | error consistency |"
    );
    let _ = writeln!(
        out,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.dataset,
            r.round,
            percent(r.sparsity),
            r.conditions,
            percent(r.metrics.human_accuracy),
            percent(r.metrics.model_accuracy),
            fixed(r.metrics.squared_accuracy_difference),
            fixed(r.metrics.observed_consistency),
            fixed(r.metrics.error_consistency),
            fixed(r.metrics.human_error_consistency)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ha::human::HumanMetrics;

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
    fn every_round_is_listed_no_maximum_and_no_sweet_spot_of_its_own() {
        let rows = [
            row(0, 0.0, 0.0, 0.0),
            row(1, 0.05, 0.01, 0.09),
            row(2, 0.08, -0.01, 0.17),
            row(3, -0.06, -0.1, -0.02),
        ];
        let md = summary_markdown("toy", "embedded", &[HaDataset::ALL[0]], &rows, &[], None);
        assert!(
            md.contains(
                "| 50.0% | 1: +5.0 [+1.0, +9.0]; 2: +8.0 [-1.0, +17.0]; 3: -6.0 [-10.0, -2.0] |"
            ),
            "{md}"
        );
        assert!(
            md.contains("verdict") && !md.contains("best pruned"),
            "{md}"
        );
        assert!(!md.contains("human observers"), "{md}");
    }

    #[test]
    fn the_human_section_names_absent_datasets_and_gives_the_benchmark_metrics() {
        let human = HumanDatasetRow {
            round: 1,
            sparsity: 0.2,
            dataset: HaDataset::Colour,
            conditions: 1,
            metrics: HumanMetrics {
                human_accuracy: 0.9,
                model_accuracy: 0.6,
                accuracy_difference: -0.3,
                squared_accuracy_difference: 0.09,
                observed_consistency: 0.7,
                error_consistency: 0.25,
                human_observed_consistency: 0.8,
                human_error_consistency: 0.4,
            },
        };
        let md = summary_markdown(
            "toy",
            "benchmark",
            &[HaDataset::Colour],
            &[],
            &[],
            Some((&[HaDataset::Edge], &[human])),
        );
        assert!(md.contains("No human trials for edge"), "{md}");
        assert!(
            md.contains(
                "| colour | 1 | 20.0% | 1 | 90.0% | 60.0% | 0.090 | 0.700 | 0.250 | 0.400 |"
            ),
            "{md}"
        );
    }
}
