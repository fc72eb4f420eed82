//! The human observers in the report: their trials read once per plan ([`HumanTrials`], from
//! `ha.human_path`, the benchmark's `raw-data` folder), the model's consistency with them per
//! round, dataset and condition ([`HumanRow`], `ha_human.parquet`) and per dataset
//! ([`HumanDatasetRow`], `ha_human_datasets.parquet`): the mean over the conditions the
//! benchmark aggregates ([`benchmark_aggregates`]), as its `plot.py` does.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, bail};
use polars::prelude::*;

use super::datasets::HaDataset;
use super::human::short_image_id;
use super::human::{
    ConditionConsistency, HumanMetrics, HumanTrial, ImageKey, human_files, parse_trials,
};

/// The human trials of the datasets a plan scores.
#[derive(Debug)]
pub struct HumanTrials {
    pub trials: BTreeMap<HaDataset, Vec<HumanTrial>>,
    /// Datasets asked for whose folder the raw data lacks: reported without human metrics.
    pub absent: Vec<HaDataset>,
    fingerprint: String,
}

impl HumanTrials {
    /// Reads `<root>/<dataset>/*_subject-*.csv` for each dataset that has a folder there; a
    /// root holding none of them is an error (a wrong folder, not partial data).
    pub fn open(root: &Path, datasets: &[HaDataset]) -> anyhow::Result<Self> {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"pvr.ha.humans 1");
        let mut trials = BTreeMap::new();
        let mut absent = Vec::new();
        for &dataset in datasets {
            let dir = root.join(dataset.name());
            if !dir.is_dir() {
                absent.push(dataset);
                continue;
            }
            let mut rows = Vec::new();
            for file in human_files(&dir)? {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let name = file.file_name().unwrap_or_default().to_string_lossy();
                hasher.update(format!("{dataset}/{name}\0{}\0", text.len()).as_bytes());
                hasher.update(text.as_bytes());
                rows.extend(parse_trials(&text, &file.display().to_string(), dataset)?);
            }
            trials.insert(dataset, rows);
        }
        if trials.is_empty() {
            bail!(
                "{} holds none of {} (expected the benchmark's raw-data layout: \
                 <dataset>/<dataset>_subject-NN_session_1.csv)",
                root.display(),
                datasets
                    .iter()
                    .map(|d| d.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Ok(HumanTrials {
            trials,
            absent,
            fingerprint: hasher.finalize().to_hex().to_string(),
        })
    }

    /// Content fingerprint: dataset, file names and bytes (no absolute paths).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// Whether the benchmark's aggregate over a dataset's conditions includes `condition`: it
/// leaves out the undistorted condition and those where humans are near chance (mean human
/// accuracy below 0.2), listed in its `plot.py` (`EXCLUDE_CONDITIONS`).
pub fn benchmark_aggregates(dataset: HaDataset, condition: &str) -> bool {
    let excluded: &[&str] = match dataset {
        HaDataset::Colour => &["cr"],
        HaDataset::Contrast => &["c100", "c03", "c01"],
        HaDataset::HighPass => &["inf", "0.55", "0.45", "0.4"],
        HaDataset::LowPass => &["0", "15", "40"],
        HaDataset::PhaseScrambling => &["0", "150", "180"],
        HaDataset::PowerEqualisation => &["0"],
        HaDataset::FalseColour => &["True"],
        HaDataset::Rotation => &["0"],
        HaDataset::EidolonI => &["1-10-10", "64-10-10", "128-10-10"],
        HaDataset::EidolonII => &["1-3-10", "32-3-10", "64-3-10", "128-3-10"],
        HaDataset::EidolonIII => &["1-0-10", "16-0-10", "32-0-10", "64-0-10", "128-0-10"],
        HaDataset::UniformNoise => &["0.0", "0.6", "0.9"],
        _ => &[],
    };
    !excluded.contains(&condition)
}

/// One pool member against the humans on one condition.
#[derive(Clone, Debug, PartialEq)]
pub struct HumanRow {
    pub round: usize,
    pub sparsity: f64,
    pub dataset: HaDataset,
    pub consistency: ConditionConsistency,
    /// Part of the dataset's aggregate ([`benchmark_aggregates`]).
    pub aggregated: bool,
}

/// One pool member against the humans on one dataset: means over its aggregated conditions.
#[derive(Clone, Debug, PartialEq)]
pub struct HumanDatasetRow {
    pub round: usize,
    pub sparsity: f64,
    pub dataset: HaDataset,
    pub conditions: usize,
    pub metrics: HumanMetrics,
}

/// The model's correctness per [`ImageKey`] from a stage's `images.parquet` (`image_id`,
/// `condition`, `correct`).
pub fn model_correct(
    dataset: HaDataset,
    images: &DataFrame,
) -> anyhow::Result<HashMap<ImageKey, bool>> {
    let ids = images.column("image_id")?.str()?;
    let conditions = images.column("condition")?.str()?;
    let correct = images.column("correct")?.bool()?;
    let mut out = HashMap::new();
    for ((id, condition), hit) in ids.iter().zip(conditions.iter()).zip(correct.iter()) {
        let (Some(id), Some(condition), Some(hit)) = (id, condition, hit) else {
            continue;
        };
        let condition = dataset
            .conditions()
            .iter()
            .find(|c| **c == condition)
            .with_context(|| format!("{dataset}: condition `{condition}` of image {id}"))?;
        out.insert((*condition, short_image_id(id)), hit);
    }
    Ok(out)
}

/// The rows of one pool member on one dataset.
pub fn human_rows(
    round: usize,
    sparsity: f64,
    dataset: HaDataset,
    trials: &[HumanTrial],
    model: &HashMap<ImageKey, bool>,
) -> Vec<HumanRow> {
    super::human::human_consistency(dataset, trials, model)
        .into_iter()
        .map(|consistency| HumanRow {
            round,
            sparsity,
            dataset,
            aggregated: benchmark_aggregates(dataset, &consistency.condition),
            consistency,
        })
        .collect()
}

/// Per (round, dataset) of `rows`, the means over the aggregated conditions (none: no row).
pub fn dataset_rows(rows: &[HumanRow]) -> Vec<HumanDatasetRow> {
    let mut groups: BTreeMap<(usize, HaDataset), Vec<&HumanRow>> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.aggregated) {
        groups
            .entry((row.round, row.dataset))
            .or_default()
            .push(row);
    }
    groups
        .into_iter()
        .map(|((round, dataset), of)| HumanDatasetRow {
            round,
            sparsity: of[0].sparsity,
            dataset,
            conditions: of.len(),
            metrics: HumanMetrics::mean(of.iter().map(|r| &r.consistency.metrics)),
        })
        .collect()
}

/// Per dataset, the humans' accuracy on the trials matched to the dense model's images, as a
/// mean over all conditions (as the model's accuracy in `ha_datasets.parquet`): the human
/// reference of the accuracy figure.
pub fn human_reference(rows: &[HumanRow]) -> BTreeMap<HaDataset, f64> {
    let mut sums: BTreeMap<HaDataset, (f64, usize)> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.round == 0) {
        let entry = sums.entry(row.dataset).or_default();
        entry.0 += row.consistency.metrics.human_accuracy;
        entry.1 += 1;
    }
    sums.into_iter()
        .map(|(dataset, (sum, n))| (dataset, sum / n as f64))
        .collect()
}

/// One column per [`HumanMetrics::NAMES`], a value per row.
fn metric_columns<'a>(metrics: impl Iterator<Item = &'a HumanMetrics>) -> Vec<Column> {
    let values: Vec<[f64; 8]> = metrics.map(HumanMetrics::values).collect();
    HumanMetrics::NAMES
        .iter()
        .enumerate()
        .map(|(index, name)| {
            Column::new(
                (*name).into(),
                values.iter().map(|v| v[index]).collect::<Vec<_>>(),
            )
        })
        .collect()
}

pub fn human_frame(rows: &[HumanRow]) -> PolarsResult<DataFrame> {
    let mut frame = df!(
        "round" => rows.iter().map(|r| r.round as u32).collect::<Vec<_>>(),
        "sparsity" => rows.iter().map(|r| r.sparsity).collect::<Vec<_>>(),
        "dataset" => rows.iter().map(|r| r.dataset.name()).collect::<Vec<_>>(),
        "condition" => rows.iter().map(|r| r.consistency.condition.clone()).collect::<Vec<_>>(),
        "observers" => rows.iter().map(|r| r.consistency.observers as u32).collect::<Vec<_>>(),
        "trials" => rows.iter().map(|r| r.consistency.trials as u32).collect::<Vec<_>>(),
    )?;
    frame.hstack_mut(&metric_columns(rows.iter().map(|r| &r.consistency.metrics)))?;
    frame.hstack_mut(&[Column::new(
        "aggregated".into(),
        rows.iter().map(|r| r.aggregated).collect::<Vec<_>>(),
    )])?;
    Ok(frame)
}

pub fn human_datasets_frame(rows: &[HumanDatasetRow]) -> PolarsResult<DataFrame> {
    let mut frame = df!(
        "round" => rows.iter().map(|r| r.round as u32).collect::<Vec<_>>(),
        "sparsity" => rows.iter().map(|r| r.sparsity).collect::<Vec<_>>(),
        "dataset" => rows.iter().map(|r| r.dataset.name()).collect::<Vec<_>>(),
        "conditions" => rows.iter().map(|r| r.conditions as u32).collect::<Vec<_>>(),
    )?;
    frame.hstack_mut(&metric_columns(rows.iter().map(|r| &r.metrics)))?;
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(subject: &str, condition: &'static str, image: &str, correct: bool) -> HumanTrial {
        HumanTrial {
            subject: subject.into(),
            condition,
            image: image.into(),
            correct,
        }
    }

    #[test]
    fn the_dataset_aggregate_leaves_out_the_benchmark_s_excluded_conditions() {
        // Colour: `cr` is excluded, `bw` aggregated. One observer, two images per condition.
        let trials = [
            trial("subject-01", "cr", "a.png", true),
            trial("subject-01", "cr", "b.png", true),
            trial("subject-01", "bw", "a.png", true),
            trial("subject-01", "bw", "b.png", false),
        ];
        let frame = polars::df!(
            "image_id" => ["colour/dnn/session-1/0001_cl_dnn_cr_cat_1_a.png", "colour/dnn/session-1/0002_cl_dnn_cr_cat_1_b.png",
                           "colour/dnn/session-1/0003_cl_dnn_bw_cat_1_a.png", "colour/dnn/session-1/0004_cl_dnn_bw_cat_1_b.png"],
            "condition" => ["cr", "cr", "bw", "bw"],
            "correct" => [false, false, false, true],
        )
        .unwrap();
        let model = model_correct(HaDataset::Colour, &frame).unwrap();
        let rows = human_rows(0, 0.0, HaDataset::Colour, &trials, &model);
        assert_eq!(rows.len(), 2);
        assert!(!rows[0].aggregated && rows[1].aggregated);
        // bw: model (F,T) vs human (T,F): c_obs 0, c_exp 1/2, kappa -1; squared difference 0.
        let datasets = dataset_rows(&rows);
        assert_eq!(datasets.len(), 1);
        let d = &datasets[0];
        assert_eq!(
            (
                d.conditions,
                d.metrics.error_consistency,
                d.metrics.observed_consistency
            ),
            (1, -1.0, 0.0)
        );
        // cr alone: model 0, human 1: squared difference 1, which the aggregate leaves out.
        assert_eq!(rows[0].consistency.metrics.squared_accuracy_difference, 1.0);
        assert_eq!(d.metrics.squared_accuracy_difference, 0.0);
        // The human reference for the figure is over every condition: (1 + 1/2) / 2.
        assert_eq!(human_reference(&rows)[&HaDataset::Colour], 0.75);
        assert_eq!(human_frame(&rows).unwrap().height(), 2);
        assert_eq!(human_datasets_frame(&datasets).unwrap().width(), 12);
        // One observer: no pair to compare the humans with each other.
        assert!(d.metrics.human_error_consistency.is_nan());
    }

    #[test]
    fn opening_reads_the_datasets_it_finds_and_refuses_a_folder_with_none() {
        let dir = tempfile::tempdir().unwrap();
        let err = HumanTrials::open(dir.path(), &[HaDataset::Edge]).unwrap_err();
        assert!(format!("{err:#}").contains("holds none of edge"), "{err:#}");
        std::fs::create_dir(dir.path().join("edge")).unwrap();
        std::fs::write(
            dir.path().join("edge/edge_subject-01_session_1.csv"),
            "subj,Session,trial,rt,object_response,category,condition,imagename\n\
             subject-01,1,1,0.5,bear,bear,0,0001_edg_s01_0_bear_bear1.png\n",
        )
        .unwrap();
        let humans = HumanTrials::open(dir.path(), &[HaDataset::Edge, HaDataset::Sketch]).unwrap();
        assert_eq!(humans.absent, [HaDataset::Sketch]);
        assert_eq!(humans.trials[&HaDataset::Edge][0].image, "bear1.png");
        let before = humans.fingerprint().to_string();
        std::fs::write(
            dir.path().join("edge/edge_subject-01_session_1.csv"),
            "subj,Session,trial,rt,object_response,category,condition,imagename\n\
             subject-01,1,1,0.5,cat,bear,0,0001_edg_s01_0_bear_bear1.png\n",
        )
        .unwrap();
        let after = HumanTrials::open(dir.path(), &[HaDataset::Edge]).unwrap();
        assert_ne!(after.fingerprint(), before);
    }
}
