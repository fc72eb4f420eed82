//! Per-model CorLoc with bootstrap confidence intervals over images and each pruned model's
//! paired gain over the dense one. Which rounds are sweet spots is not decided here but by
//! `report[verdict]`'s one rule (accuracy and CorLoc both above the reference, Holm over rounds).

use anyhow::ensure;
use polars::prelude::*;

use super::table::LostRow;
use crate::metrics::{Bootstrap, Interval};

/// One pooled model's LOST results, as the report gathers them.
pub struct ModelResults {
    pub round: usize,
    pub sparsity: f64,
    pub top1: f64,
    pub rows: Vec<LostRow>,
}

/// CorLoc of one model against the dense one.
#[derive(Debug, Clone, PartialEq)]
pub struct CorLocSummary {
    pub round: usize,
    pub sparsity: f64,
    pub top1: f64,
    pub images: usize,
    pub corloc: f64,
    /// Bootstrap CI of CorLoc over images.
    pub corloc_ci: Interval,
    /// Mean chance CorLoc of the images (a uniformly random grid box).
    pub chance: f64,
    /// CorLoc minus the dense model's, on the same images.
    pub gain: f64,
    /// Paired bootstrap CI of `gain` (the same resampled images for both models), per round:
    /// descriptive, not corrected for testing every round.
    pub gain_ci: Interval,
}

fn as_unit(rows: &[LostRow]) -> Vec<f64> {
    rows.iter()
        .map(|r| f64::from(u8::from(r.correct)))
        .collect()
}

/// Summaries in the order of `models`; the model of round 0 is the dense reference. All
/// models must have been run on the same images in the same order (pairing needs it).
pub fn summarise(
    models: &[ModelResults],
    bootstrap: Bootstrap,
) -> anyhow::Result<Vec<CorLocSummary>> {
    let dense = models
        .iter()
        .find(|m| m.round == 0)
        .ok_or_else(|| anyhow::anyhow!("no dense model (round 0) among the LOST results"))?;
    let dense_correct = as_unit(&dense.rows);
    let images: Vec<u32> = dense.rows.iter().map(|r| r.image).collect();
    models
        .iter()
        .map(|model| {
            let same = model
                .rows
                .iter()
                .map(|r| r.image)
                .eq(images.iter().copied());
            ensure!(
                same,
                "LOST results of round {} cover other images than the dense model's",
                model.round
            );
            let correct = as_unit(&model.rows);
            let n = correct.len().max(1) as f64;
            let corloc = correct.iter().sum::<f64>() / n;
            let gain = corloc - dense_correct.iter().sum::<f64>() / n;
            // No images leave no interval: NaN bounds.
            let unknown = Interval {
                estimate: f64::NAN,
                low: f64::NAN,
                high: f64::NAN,
                count: 0,
            };
            let gain_ci = bootstrap
                .paired_difference(&dense_correct, &correct)
                .unwrap_or(unknown);
            Ok(CorLocSummary {
                round: model.round,
                sparsity: model.sparsity,
                top1: model.top1,
                images: correct.len(),
                corloc,
                corloc_ci: bootstrap.mean(&correct).unwrap_or(unknown),
                chance: model.rows.iter().map(|r| r.chance).sum::<f64>() / n,
                gain,
                gain_ci,
            })
        })
        .collect()
}

pub fn corloc_frame(rows: &[CorLocSummary]) -> PolarsResult<DataFrame> {
    let f = |g: fn(&CorLocSummary) -> f64| rows.iter().map(g).collect::<Vec<_>>();
    df!(
        "round" => rows.iter().map(|r| r.round as u32).collect::<Vec<_>>(),
        "sparsity" => f(|r| r.sparsity),
        "top1" => f(|r| r.top1),
        "images" => rows.iter().map(|r| r.images as u32).collect::<Vec<_>>(),
        "corloc" => f(|r| r.corloc),
        "corloc_low" => f(|r| r.corloc_ci.low),
        "corloc_high" => f(|r| r.corloc_ci.high),
        "chance" => f(|r| r.chance),
        "gain" => f(|r| r.gain),
        "gain_low" => f(|r| r.gain_ci.low),
        "gain_high" => f(|r| r.gain_ci.high),
    )
}

/// A Markdown table of the summaries.
pub fn corloc_markdown(
    experiment: &str,
    dataset: &str,
    rows: &[CorLocSummary],
    confidence: f64,
) -> String {
    let pct = |v: f64| format!("{:.1}", 100.0 * v);
    let mut out = format!(
        "# {experiment}: object discovery (LOST), CorLoc\n\n\
         Images: {dataset}, {images} of them. CorLoc = share of images whose LOST box has IoU >= 0.5 with a \
         ground-truth box; [low, high] = {:.0}% bootstrap interval over images; gain = CorLoc \
         minus the dense model's on the same images (paired bootstrap); chance = a uniformly \
         random box of whole patches. The gain intervals are per round and describe it; which rounds \
         are sweet spots is decided once for every analysis by the verdict (`summary.md`, \
         `verdict.parquet`, metric `corloc`), with Holm's correction over the rounds and the \
         accuracy condition.\n\n\
         | round | sparsity | top-1 | CorLoc % | interval | gain (pp) | gain interval | chance % |\n\
         | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: |\n",
        100.0 * confidence,
        images = rows.first().map_or(0, |r| r.images),
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} % | {} % | {} | [{}, {}] | {:+.1} | [{:+.1}, {:+.1}] | {} |\n",
            r.round,
            pct(r.sparsity),
            pct(r.top1),
            pct(r.corloc),
            pct(r.corloc_ci.low),
            pct(r.corloc_ci.high),
            100.0 * r.gain,
            100.0 * r.gain_ci.low,
            100.0 * r.gain_ci.high,
            pct(r.chance),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(correct: &[bool]) -> Vec<LostRow> {
        correct
            .iter()
            .enumerate()
            .map(|(i, &c)| LostRow {
                image: i as u32,
                image_id: i.to_string(),
                width: 32,
                height: 32,
                predicted: Some([0.0, 0.0, 8.0, 8.0]),
                seed: 0,
                seed_row: 0,
                seed_col: 0,
                grid_rows: 4,
                grid_cols: 4,
                stride: 8,
                expansion_size: 1,
                component_size: 1,
                ground_truth: 1,
                best_iou: if c { 0.7 } else { 0.1 },
                correct: c,
                chance: 0.2,
            })
            .collect()
    }

    #[test]
    fn a_clear_gain_has_an_interval_above_zero_and_a_tie_does_not() {
        let bootstrap = Bootstrap {
            resamples: 500,
            confidence: 0.95,
            seed: 1,
        };
        // Dense localises 100 of 300; round 1 the same plus 30 more; round 2 swaps 30 hits
        // for 30 others (same CorLoc).
        let dense: Vec<bool> = (0..300).map(|i| i < 100).collect();
        let better: Vec<bool> = (0..300).map(|i| i < 130).collect();
        let swapped: Vec<bool> = (0..300).map(|i| (30..130).contains(&i)).collect();
        let model = |round, correct: &[bool]| ModelResults {
            round,
            sparsity: 0.2 * round as f64,
            top1: 0.5,
            rows: rows(correct),
        };
        let summary = summarise(
            &[model(0, &dense), model(1, &better), model(2, &swapped)],
            bootstrap,
        )
        .unwrap();
        assert!((summary[1].gain - 0.1).abs() < 1e-12);
        assert!(summary[1].gain_ci.low > 0.0, "{:?}", summary[1].gain_ci);
        assert_eq!(summary[2].gain, 0.0);
        assert!(summary[2].gain_ci.low < 0.0 && summary[2].gain_ci.high > 0.0);
        assert_eq!(summary[0].gain, 0.0);
        let md = corloc_markdown("toy", "voc", &summary, 0.95);
        assert!(
            md.contains("verdict") && !md.contains("sweet spot |"),
            "{md}"
        );
        assert!(summary[0].corloc_ci.contains(1.0 / 3.0));
        let frame = corloc_frame(&summary).unwrap();
        assert_eq!(frame.height(), 3);
        // Different images for a model cannot be paired.
        let mut other = model(1, &better);
        other.rows[0].image = 999;
        assert!(summarise(&[model(0, &dense), other], bootstrap).is_err());
    }
}
