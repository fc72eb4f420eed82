//! The benchmark's human observers: their trials from `raw-data/<dataset>/*_subject-NN_*.csv`
//! and the model's consistency with them per condition (accuracy difference, observed
//! consistency, error consistency; [`crate::metrics::consistency`]), each averaged over the
//! observers who saw the condition, as the benchmark does.
//!
//! A trial's image is named `<nnnn>_<code>_<subject>_<condition>_<category>_<...>`: the first
//! three fields are the trial number, the experiment code and the observer (`dnn` in the model
//! image folders), so an image is identified across observers and models by the fields from the
//! condition on, without the extension ([`image_key`]).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::metrics::consistency::consistency;

/// One human trial.
#[derive(Debug, Clone, PartialEq)]
pub struct HumanTrial {
    pub subject: String,
    pub condition: String,
    /// [`image_key`] of the trial's image.
    pub image: String,
    /// The response named the correct category (`na`, a timed-out trial, is wrong).
    pub correct: bool,
}

/// The model against the humans on one condition.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionConsistency {
    pub condition: String,
    pub observers: usize,
    pub trials: usize,
    pub human_accuracy: f64,
    pub model_accuracy: f64,
    /// `model_accuracy - human_accuracy` (signed: negative when the model trails the humans).
    pub accuracy_difference: f64,
    pub observed_consistency: f64,
    pub error_consistency: f64,
}

/// The identity of a benchmark image across observers: its name from the condition field on,
/// without extension; `None` for a name with fewer than five `_` fields.
pub fn image_key(name: &str) -> Option<String> {
    let file = name.rsplit('/').next().unwrap_or(name);
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    let fields: Vec<&str> = stem.split('_').collect();
    (fields.len() >= 5).then(|| fields[3..].join("_"))
}

/// Every human trial of one dataset folder: the files whose name holds `_subject-`.
pub fn read_human_trials(dataset_dir: &Path) -> Result<Vec<HumanTrial>> {
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
    let mut trials = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        trials.extend(parse_trials(&text, &file.display().to_string())?);
    }
    Ok(trials)
}

/// Parses one observer's CSV (header `subj,Session,trial,rt,object_response,category,condition,
/// imagename`, columns found by name); errors name the file and line.
pub fn parse_trials(text: &str, file: &str) -> Result<Vec<HumanTrial>> {
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
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != columns.len() {
                bail!("{file}:{}: {} fields, the header has {}", index + 1, fields.len(), columns.len());
            }
            let image = image_key(fields[imagename]).with_context(|| {
                format!("{file}:{}: image name `{}` is not <nnnn>_<code>_<subject>_<condition>_<category>_...", index + 1, fields[imagename])
            })?;
            Ok(HumanTrial {
                subject: fields[subj].to_string(),
                condition: fields[condition].to_string(),
                image,
                correct: fields[response] == fields[category],
            })
        })
        .collect()
}

/// One observer's (human, model) correctness on the same trials.
type PairedTrials = (Vec<bool>, Vec<bool>);

/// Per condition (sorted by name), the model's consistency with every observer on the trials the
/// model has a result for (`model_correct` by [`image_key`]), averaged over observers. Conditions
/// without such a trial are left out.
pub fn human_consistency(
    trials: &[HumanTrial],
    model_correct: &HashMap<String, bool>,
) -> Vec<ConditionConsistency> {
    let mut by_condition: BTreeMap<&str, BTreeMap<&str, PairedTrials>> = BTreeMap::new();
    for trial in trials {
        if let Some(&model) = model_correct.get(&trial.image) {
            let (humans, models) = by_condition
                .entry(&trial.condition)
                .or_default()
                .entry(&trial.subject)
                .or_default();
            humans.push(trial.correct);
            models.push(model);
        }
    }
    by_condition
        .into_iter()
        .map(|(condition, observers)| {
            let per_observer: Vec<_> = observers
                .values()
                .filter_map(|(humans, models)| consistency(models, humans))
                .collect();
            let mean = |f: &dyn Fn(&crate::metrics::consistency::Consistency) -> f64| {
                per_observer.iter().map(f).sum::<f64>() / per_observer.len() as f64
            };
            let (human_accuracy, model_accuracy) =
                (mean(&|c| c.second_accuracy), mean(&|c| c.first_accuracy));
            ConditionConsistency {
                condition: condition.to_string(),
                observers: per_observer.len(),
                trials: observers.values().map(|(h, _)| h.len()).sum(),
                human_accuracy,
                model_accuracy,
                accuracy_difference: model_accuracy - human_accuracy,
                observed_consistency: mean(&|c| c.observed),
                error_consistency: mean(&|c| c.error_consistency),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up observer file in the benchmark's column layout: (trial, response, category,
    /// condition, image tail).
    fn observer_csv(subject: &str, rows: &[(&str, &str, &str, &str)]) -> String {
        let mut text =
            "subj,Session,trial,rt,object_response,category,condition,imagename\n".to_string();
        for (i, (response, category, condition, tail)) in rows.iter().enumerate() {
            text += &format!(
                "{subject},1,{},0.7,{response},{category},{condition},{:04}_xx_s{}_{condition}_{category}_{tail}.png\n",
                i + 1,
                i + 1,
                &subject[subject.len() - 2..]
            );
        }
        text
    }

    #[test]
    fn consistency_per_condition_is_averaged_over_observers() {
        let dir = tempfile::tempdir().unwrap();
        // Condition `a`: four images; observer 01 right on 1 and 2, observer 02 right on all.
        let rows_01 = [
            ("cat", "cat", "a", "i1"),
            ("dog", "dog", "a", "i2"),
            ("cat", "dog", "a", "i3"),
            ("na", "cat", "a", "i4"),
        ];
        let rows_02 = [
            ("cat", "cat", "a", "i1"),
            ("dog", "dog", "a", "i2"),
            ("dog", "dog", "a", "i3"),
            ("cat", "cat", "a", "i4"),
        ];
        std::fs::write(
            dir.path().join("toy_subject-01_session_1.csv"),
            observer_csv("subject-01", &rows_01),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("toy_subject-02_session_1.csv"),
            observer_csv("subject-02", &rows_02),
        )
        .unwrap();
        // A model file in the same folder is not a human.
        std::fs::write(dir.path().join("toy_resnet50_session-1.csv"), "junk").unwrap();
        let trials = read_human_trials(dir.path()).unwrap();
        assert_eq!(trials.len(), 8);
        assert_eq!(trials[0].image, "a_cat_i1");
        // The model (a dnn image name) is right on i1 and i3.
        let model: HashMap<String, bool> = [
            ("0001_xx_dnn_a_cat_i1.png", true),
            ("0002_xx_dnn_a_dog_i2.png", false),
            ("0003_xx_dnn_a_dog_i3.png", true),
            ("0004_xx_dnn_a_cat_i4.png", false),
        ]
        .iter()
        .map(|(name, hit)| (image_key(name).unwrap(), *hit))
        .collect();
        let rows = human_consistency(&trials, &model);
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(
            (row.condition.as_str(), row.observers, row.trials),
            ("a", 2, 8)
        );
        // Observer 01 (T,T,F,F) vs model (T,F,T,F): c_obs 0.5, c_exp 0.5, kappa 0.
        // Observer 02 (all right): c_obs 0.5, c_exp 0.5, kappa 0.
        assert!((row.observed_consistency - 0.5).abs() < 1e-12);
        assert!(row.error_consistency.abs() < 1e-12);
        assert!((row.human_accuracy - 0.75).abs() < 1e-12);
        assert!((row.accuracy_difference - (0.5 - 0.75)).abs() < 1e-12);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let err = parse_trials("subj,trial\nsubject-01,1\n", "x.csv").unwrap_err();
        assert!(
            format!("{err:#}").contains("x.csv:1: no `object_response` column"),
            "{err:#}"
        );
        let text =
            "subj,Session,trial,rt,object_response,category,condition,imagename\ns,1,1,0.5,cat\n";
        let err = parse_trials(text, "y.csv").unwrap_err();
        assert!(format!("{err:#}").contains("y.csv:2: 5 fields"), "{err:#}");
        let err = read_human_trials(Path::new("/nonexistent/colour")).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent/colour"));
    }
}
