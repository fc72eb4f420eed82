//! The benchmark's human observers: their trials from `raw-data/<dataset>/*_subject-NN_*.csv`
//! and the model's consistency with them per condition (accuracy difference, observed
//! consistency, error consistency; [`crate::metrics::consistency`]), each computed against one
//! observer at a time and averaged over the observers who saw the condition, as the benchmark
//! does (`modelvshuman/plotting/analyses.py`, `plot.py`).
//!
//! A trial is matched to the model's result on the same image by the condition and the
//! image's short name ([`short_image_id`], the benchmark's rule: the last `_` field of the
//! file name, or the last two when the second-last is an ImageNet synset `n0...`), so the
//! observers' `<nnnn>_<code>_s01_<condition>_...` names meet the model's `..._dnn_...` ones.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::datasets::HaDataset;
use crate::metrics::consistency::{Consistency, consistency};

/// One human trial.
#[derive(Debug, Clone, PartialEq)]
pub struct HumanTrial {
    pub subject: String,
    /// pvr's spelling of the condition ([`HaDataset::canonical_condition`]).
    pub condition: &'static str,
    /// [`short_image_id`] of the trial's image.
    pub image: String,
    /// The response named the correct category (`na`, a timed-out trial, is wrong).
    pub correct: bool,
}

/// The model against the humans: each metric a mean, over the observers of one condition or
/// over the conditions of one dataset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HumanMetrics {
    pub human_accuracy: f64,
    pub model_accuracy: f64,
    /// `model_accuracy - human_accuracy`, per observer then averaged (negative when the model
    /// trails the humans).
    pub accuracy_difference: f64,
    /// The benchmark's "accuracy difference": `(model - human)^2` per observer, averaged.
    pub squared_accuracy_difference: f64,
    pub observed_consistency: f64,
    pub error_consistency: f64,
    /// The humans among themselves, the ceiling the model is read against: the mean over every
    /// pair of observers of their consistency on the images both saw (and the model was scored
    /// on); NaN with fewer than two observers.
    pub human_observed_consistency: f64,
    pub human_error_consistency: f64,
}

impl HumanMetrics {
    /// The table columns of [`HumanMetrics::values`], in order.
    pub const NAMES: [&'static str; 8] = [
        "human_accuracy",
        "model_accuracy",
        "accuracy_difference",
        "squared_accuracy_difference",
        "observed_consistency",
        "error_consistency",
        "human_observed_consistency",
        "human_error_consistency",
    ];

    pub fn values(&self) -> [f64; 8] {
        [
            self.human_accuracy,
            self.model_accuracy,
            self.accuracy_difference,
            self.squared_accuracy_difference,
            self.observed_consistency,
            self.error_consistency,
            self.human_observed_consistency,
            self.human_error_consistency,
        ]
    }

    fn from_values(values: [f64; 8]) -> Self {
        let [
            human_accuracy,
            model_accuracy,
            accuracy_difference,
            squared_accuracy_difference,
            observed_consistency,
            error_consistency,
            human_observed_consistency,
            human_error_consistency,
        ] = values;
        Self {
            human_accuracy,
            model_accuracy,
            accuracy_difference,
            squared_accuracy_difference,
            observed_consistency,
            error_consistency,
            human_observed_consistency,
            human_error_consistency,
        }
    }

    /// Every metric's mean over `all` (NaN when it is empty).
    pub fn mean<'a>(all: impl IntoIterator<Item = &'a HumanMetrics>) -> Self {
        let (mut sums, mut count) = ([0.0; 8], 0);
        for metrics in all {
            sums.iter_mut()
                .zip(metrics.values())
                .for_each(|(sum, value)| *sum += value);
            count += 1;
        }
        Self::from_values(sums.map(|sum| sum / count as f64))
    }
}

/// The model against the humans on one condition, each metric the mean over observers.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionConsistency {
    pub condition: String,
    pub observers: usize,
    /// Trials matched to a model result, over all observers.
    pub trials: usize,
    pub metrics: HumanMetrics,
}

/// Mean observed and error consistency over every pair of observers, each pair on the images
/// both saw; NaN without a pair.
fn between_observers(observers: &BTreeMap<&str, BTreeMap<String, bool>>) -> (f64, f64) {
    let subjects: Vec<&BTreeMap<String, bool>> = observers.values().collect();
    let mut pairs = Vec::new();
    for (i, first) in subjects.iter().enumerate() {
        for second in &subjects[i + 1..] {
            let (a, b): (Vec<bool>, Vec<bool>) = first
                .iter()
                .filter_map(|(image, &hit)| Some((hit, *second.get(image)?)))
                .unzip();
            pairs.extend(consistency(&a, &b));
        }
    }
    if pairs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = pairs.len() as f64;
    (
        pairs.iter().map(|c| c.observed).sum::<f64>() / n,
        pairs.iter().map(|c| c.error_consistency).sum::<f64>() / n,
    )
}

/// The key by which a model result and a human trial meet: (condition, short image name).
pub type ImageKey = (&'static str, String);

/// The benchmark's identity of an image across observers: the last `_` field of the file name,
/// or the last two when the second-last starts with `n0` (an ImageNet synset); the extension
/// stays. A name without `_` is its own id (`airplane1.png`).
pub fn short_image_id(name: &str) -> String {
    let file = name.rsplit('/').next().unwrap_or(name);
    let fields: Vec<&str> = file.split('_').collect();
    match fields.as_slice() {
        [.., synset, last] if synset.starts_with("n0") => format!("{synset}_{last}"),
        [.., last] => (*last).to_string(),
        [] => file.to_string(),
    }
}

/// The files of one dataset's human observers (`*_subject-*.csv`), sorted; the models' files
/// beside them are not read.
pub fn human_files(dataset_dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let entries = std::fs::read_dir(dataset_dir)
        .with_context(|| format!("reading human raw data {}", dataset_dir.display()))?;
    let mut files: Vec<_> = entries
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("listing {}", dataset_dir.display()))?;
    files.retain(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        name.contains("_subject-") && name.ends_with(".csv")
    });
    files.sort();
    if files.is_empty() {
        bail!(
            "{} holds no human trials (expected <dataset>_subject-NN_session_1.csv files)",
            dataset_dir.display()
        );
    }
    Ok(files)
}

/// Every human trial of one dataset folder (see [`human_files`]).
pub fn read_human_trials(dataset_dir: &Path, dataset: HaDataset) -> Result<Vec<HumanTrial>> {
    let mut trials = Vec::new();
    for file in human_files(dataset_dir)? {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        trials.extend(parse_trials(&text, &file.display().to_string(), dataset)?);
    }
    Ok(trials)
}

/// Parses one observer's CSV (header `subj,Session,trial,rt,object_response,category,condition,
/// imagename`, columns found by name in any case); errors name the file and line.
pub fn parse_trials(text: &str, file: &str, dataset: HaDataset) -> Result<Vec<HumanTrial>> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines
        .next()
        .with_context(|| format!("{file}: empty file"))?;
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    let column = |name: &str| {
        columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
            .with_context(|| format!("{file}:1: no `{name}` column in `{header}`"))
    };
    let (subj, response, category) = (
        column("subj")?,
        column("object_response")?,
        column("category")?,
    );
    let (condition, imagename) = (column("condition")?, column("imagename")?);
    lines
        .map(|(index, line)| {
            let line_no = index + 1;
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != columns.len() {
                bail!(
                    "{file}:{line_no}: {} fields, the header has {}",
                    fields.len(),
                    columns.len()
                );
            }
            let canonical = dataset
                .canonical_condition(fields[condition])
                .with_context(|| {
                    format!(
                        "{file}:{line_no}: condition `{}` is not one of {dataset}'s: {}",
                        fields[condition],
                        dataset.conditions().join(", ")
                    )
                })?;
            Ok(HumanTrial {
                subject: fields[subj].to_string(),
                condition: canonical,
                image: short_image_id(fields[imagename]),
                correct: fields[response] == fields[category],
            })
        })
        .collect()
}

/// One observer's (human, model) correctness on the same trials.
type PairedTrials = (Vec<bool>, Vec<bool>);

/// Per condition (in the dataset's order), the model's consistency with every observer on the
/// trials the model has a result for (`model_correct` by [`ImageKey`]), averaged over
/// observers. Conditions without such a trial are left out.
pub fn human_consistency(
    dataset: HaDataset,
    trials: &[HumanTrial],
    model_correct: &HashMap<ImageKey, bool>,
) -> Vec<ConditionConsistency> {
    let mut by_condition: BTreeMap<usize, BTreeMap<&str, PairedTrials>> = BTreeMap::new();
    let mut by_image: BTreeMap<usize, BTreeMap<&str, BTreeMap<String, bool>>> = BTreeMap::new();
    let order = |c: &str| dataset.conditions().iter().position(|k| *k == c);
    for trial in trials {
        let key = (trial.condition, trial.image.clone());
        if let (Some(&model), Some(position)) = (model_correct.get(&key), order(trial.condition)) {
            let (humans, models) = by_condition
                .entry(position)
                .or_default()
                .entry(&trial.subject)
                .or_default();
            humans.push(trial.correct);
            models.push(model);
            by_image
                .entry(position)
                .or_default()
                .entry(&trial.subject)
                .or_default()
                .insert(trial.image.clone(), trial.correct);
        }
    }
    by_condition
        .into_iter()
        .map(|(position, observers)| {
            let (human_observed_consistency, human_error_consistency) =
                between_observers(&by_image[&position]);
            let per_observer: Vec<Consistency> = observers
                .values()
                .filter_map(|(humans, models)| consistency(models, humans))
                .collect();
            let mean = |f: &dyn Fn(&Consistency) -> f64| {
                per_observer.iter().map(f).sum::<f64>() / per_observer.len() as f64
            };
            ConditionConsistency {
                condition: dataset.conditions()[position].to_string(),
                observers: per_observer.len(),
                trials: observers.values().map(|(h, _)| h.len()).sum(),
                metrics: HumanMetrics {
                    human_accuracy: mean(&|c| c.second_accuracy),
                    model_accuracy: mean(&|c| c.first_accuracy),
                    accuracy_difference: mean(&|c| c.first_accuracy - c.second_accuracy),
                    squared_accuracy_difference: mean(&|c| {
                        (c.first_accuracy - c.second_accuracy).powi(2)
                    }),
                    observed_consistency: mean(&|c| c.observed),
                    error_consistency: mean(&|c| c.error_consistency),
                    human_observed_consistency,
                    human_error_consistency,
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "subj,Session,trial,rt,object_response,category,condition,imagename\n";

    /// A made-up observer file in the benchmark's column layout, one row per (response,
    /// category, condition, synset image).
    fn observer_csv(subject: &str, rows: &[(&str, &str, &str, &str)]) -> String {
        let mut text = HEADER.to_string();
        for (i, (response, category, condition, image)) in rows.iter().enumerate() {
            text += &format!(
                "{subject},1,{},0.7,{response},{category},{condition},{:04}_cl_s{}_{condition}_{category}_40_{image}.png\n",
                i + 1,
                i + 1,
                &subject[subject.len() - 2..]
            );
        }
        text
    }

    #[test]
    fn short_ids_follow_the_benchmark() {
        assert_eq!(
            short_image_id("0000_cl_s01_bw_boat_40_n02951358_5952.JPEG"),
            "n02951358_5952.JPEG"
        );
        assert_eq!(
            short_image_id("colour/dnn/session-1/0007_cl_dnn_cr_boat_40_n02951358_5952.JPEG"),
            "n02951358_5952.JPEG"
        );
        assert_eq!(short_image_id("edge/bear/bear1.png"), "bear1.png");
        assert_eq!(
            short_image_id("0001_cop_dnn_c100_bear_0_bear1.png"),
            "bear1.png"
        );
    }

    #[test]
    fn consistency_per_condition_is_averaged_over_observers() {
        let dir = tempfile::tempdir().unwrap();
        // `bw`: four images; observer 01 right on i1, i2 (i3 wrong, i4 timed out), observer 02
        // right on all. `cr`: both right on i3 (the same source image in another condition).
        let rows_01 = [
            ("cat", "cat", "bw", "n01_1"),
            ("dog", "dog", "bw", "n01_2"),
            ("cat", "dog", "bw", "n01_3"),
            ("na", "cat", "bw", "n01_4"),
            ("dog", "dog", "cr", "n01_3"),
        ];
        let rows_02 = [
            ("cat", "cat", "bw", "n01_1"),
            ("dog", "dog", "bw", "n01_2"),
            ("dog", "dog", "bw", "n01_3"),
            ("cat", "cat", "bw", "n01_4"),
            ("dog", "dog", "cr", "n01_3"),
        ];
        for (name, rows) in [("01", &rows_01), ("02", &rows_02)] {
            std::fs::write(
                dir.path()
                    .join(format!("colour_subject-{name}_session_1.csv")),
                observer_csv(&format!("subject-{name}"), rows),
            )
            .unwrap();
        }
        // A model's file in the same folder is not an observer.
        std::fs::write(dir.path().join("colour_resnet50_session-1.csv"), "junk").unwrap();
        let trials = read_human_trials(dir.path(), HaDataset::Colour).unwrap();
        assert_eq!(trials.len(), 10);
        assert_eq!(
            (trials[0].condition, trials[0].image.as_str()),
            ("bw", "n01_1.png")
        );
        // The model (dnn image names) is right on bw i1, i2, i4 and on cr i3, wrong on bw i3.
        let model: HashMap<ImageKey, bool> = [
            ("0001_cl_dnn_bw_cat_40_n01_1.png", "bw", true),
            ("0002_cl_dnn_bw_dog_40_n01_2.png", "bw", true),
            ("0003_cl_dnn_bw_dog_40_n01_3.png", "bw", false),
            ("0004_cl_dnn_bw_cat_40_n01_4.png", "bw", true),
            ("0005_cl_dnn_cr_dog_40_n01_3.png", "cr", true),
        ]
        .iter()
        .map(|(name, condition, hit)| ((*condition, short_image_id(name)), *hit))
        .collect();
        let rows = human_consistency(HaDataset::Colour, &trials, &model);
        let conditions: Vec<&str> = rows.iter().map(|r| r.condition.as_str()).collect();
        assert_eq!(conditions, ["cr", "bw"]);
        // cr: everyone right on every trial: kappa is 0/0, the benchmark reports 1.
        let cr = &rows[0];
        assert_eq!((cr.observers, cr.trials), (2, 2));
        assert_eq!(
            (
                cr.metrics.observed_consistency,
                cr.metrics.error_consistency
            ),
            (1.0, 1.0)
        );
        assert_eq!(cr.metrics.squared_accuracy_difference, 0.0);
        assert_eq!(
            (
                cr.metrics.human_observed_consistency,
                cr.metrics.human_error_consistency
            ),
            (1.0, 1.0)
        );
        // bw, model (T,T,F,T). Observer 01 (T,T,F,F): c_obs 3/4, p_m 3/4, p_h 1/2,
        // c_exp 3/8 + 1/8 = 1/2, kappa (3/4 - 1/2) / (1/2) = 1/2, difference +1/4.
        // Observer 02 (T,T,T,T): c_obs 3/4, c_exp 3/4, kappa 0, difference -1/4.
        let bw = &rows[1];
        assert_eq!((bw.observers, bw.trials), (2, 8));
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(bw.metrics.observed_consistency, 0.75), "{bw:?}");
        assert!(close(bw.metrics.error_consistency, 0.25), "{bw:?}");
        assert!(close(bw.metrics.human_accuracy, 0.75) && close(bw.metrics.model_accuracy, 0.75));
        assert!(close(bw.metrics.accuracy_difference, 0.0), "{bw:?}");
        assert!(
            close(bw.metrics.squared_accuracy_difference, 0.0625),
            "{bw:?}"
        );
        // The observers between themselves, (T,T,F,F) vs (T,T,T,T): c_obs 1/2, p 1/2 and 1,
        // c_exp 1/2, kappa 0.
        assert!(close(bw.metrics.human_observed_consistency, 0.5), "{bw:?}");
        assert!(close(bw.metrics.human_error_consistency, 0.0), "{bw:?}");
        // Without results for the model, nothing is reported.
        assert!(human_consistency(HaDataset::Colour, &trials, &HashMap::new()).is_empty());
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let colour = HaDataset::Colour;
        let err = parse_trials("subj,trial\nsubject-01,1\n", "x.csv", colour).unwrap_err();
        assert!(
            format!("{err:#}").contains("x.csv:1: no `object_response` column"),
            "{err:#}"
        );
        let text = format!("{HEADER}s,1,1,0.5,cat\n");
        let err = parse_trials(&text, "y.csv", colour).unwrap_err();
        assert!(format!("{err:#}").contains("y.csv:2: 5 fields"), "{err:#}");
        let text = format!("{HEADER}s,1,1,0.5,cat,cat,c50,0001_cl_s01_c50_cat_1_n0_1.png\n");
        let err = parse_trials(&text, "z.csv", colour).unwrap_err();
        assert!(
            format!("{err:#}").contains("z.csv:2: condition `c50` is not one of colour's"),
            "{err:#}"
        );
        let err = read_human_trials(Path::new("/nonexistent/colour"), colour).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent/colour"));
    }
}
