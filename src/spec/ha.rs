//! `[ha]`: the model-vs-human benchmark over the pool (the `ha` module).

use serde::{Deserialize, Serialize};

crate::named_enum! {
    /// One of the benchmark's 17 datasets, named as the benchmark names its folders.
    #[derive(PartialOrd, Ord)]
    pub enum HaDataset ("model-vs-human dataset") {
        Colour = "colour",
        Contrast = "contrast",
        HighPass = "high-pass",
        LowPass = "low-pass",
        PhaseScrambling = "phase-scrambling",
        PowerEqualisation = "power-equalisation",
        FalseColour = "false-colour",
        Rotation = "rotation",
        EidolonI = "eidolonI",
        EidolonII = "eidolonII",
        EidolonIII = "eidolonIII",
        UniformNoise = "uniform-noise",
        Sketch = "sketch",
        Stylized = "stylized",
        Edge = "edge",
        Silhouette = "silhouette",
        CueConflict = "cue-conflict",
    }
}

/// `[ha]`: the model-vs-human benchmark over the pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaSpec {
    /// Which of the 17 datasets; all by default.
    #[serde(default = "default_ha_datasets")]
    pub datasets: Vec<HaDataset>,
    /// Embedded data: images generated per condition (default 160, the benchmark's count per
    /// condition). Benchmark folders: at most this many per condition (default all).
    #[serde(default)]
    pub images_per_condition: Option<usize>,
    /// Folder holding the benchmark's datasets (`<path>/<dataset>/...`); reading it needs an
    /// ImageNet-1000 model. Without it, `shapes` models get pvr's embedded analogues.
    #[serde(default)]
    pub path: Option<String>,
    /// An environment variable holding `path` when it is not given (the paper files: `PVR_MVH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_env: Option<String>,
    /// The benchmark's human trials (its `raw-data` folder: `<dataset>/<dataset>_subject-NN_
    /// session_1.csv`); with it the report gives accuracy difference, observed and error
    /// consistency to the human observers. Without it they are left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_path: Option<String>,
    /// An environment variable holding `human_path` when it is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_path_env: Option<String>,
    /// Seed of the random distortions and analogues; defaults to the experiment seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Bootstrap resamples behind every interval in the report.
    #[serde(default = "default_bootstrap_samples")]
    pub bootstrap_samples: usize,
}

fn default_ha_datasets() -> Vec<HaDataset> {
    HaDataset::ALL.to_vec()
}
fn default_bootstrap_samples() -> usize {
    1000
}
