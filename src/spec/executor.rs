//! `[executor]`: where stages run and with what resources. Never part of a stage key: a stage
//! computed on a cluster and one computed locally are the same cache entry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutorSpec {
    /// Slurm submission settings, for `pvr run --executor slurm`.
    #[serde(default)]
    pub slurm: SlurmSpec,
}

/// `[executor.slurm]`: account and partition for every job, and resources per stage kind in
/// sub-tables (`[executor.slurm.train]`, `...eval`, `...attribute`, `...score`, `...lost`,
/// `...ha`, `...report`, `...default` for the rest).
// No `deny_unknown_fields`: the per-kind tables are flattened in; `pipeline::validate` rejects
// a kind it does not know.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SlurmSpec {
    #[serde(default)]
    pub partition: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
    /// Seconds before a training job's time limit at which Slurm signals it to requeue.
    #[serde(default = "default_signal_seconds")]
    pub signal_seconds: u32,
    /// Resources by stage kind (`train` also covers `prune` and `import`).
    #[serde(flatten)]
    pub kinds: BTreeMap<String, SlurmResources>,
}

fn default_signal_seconds() -> u32 {
    120
}

/// What one stage's job asks for; each key becomes one sbatch option.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmResources {
    /// `--gpus=N`.
    #[serde(default)]
    pub gpus: Option<u32>,
    /// `--cpus-per-task=N`.
    #[serde(default)]
    pub cpus_per_task: Option<u32>,
    /// `--mem=...` (`"16G"`).
    #[serde(default)]
    pub mem: Option<String>,
    /// `--time=...` (`"2-00:00:00"`).
    #[serde(default)]
    pub time: Option<String>,
    /// Further sbatch options, as written (`["--exclusive"]`).
    #[serde(default)]
    pub extra: Vec<String>,
}

/// The stage kinds `[executor.slurm.<kind>]` may name.
pub const SLURM_KINDS: &[&str] = &[
    "default",
    "train",
    "eval",
    "attribute",
    "score",
    "lost",
    "ha",
    "report",
];
