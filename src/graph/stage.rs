//! The one trait every pipeline stage implements, and what a running stage is handed.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::StageLabel;
use crate::cache::Entry;
use crate::progress::Progress;

/// A unit of cached work: train, one LRR round, an evaluation, a report, and (later issues)
/// attribution, scoring, LOST and human-alignment stages.
///
/// A stage's cache key is computed from [`Stage::kind`], [`Stage::version`], [`Stage::params`]
/// and the keys of its [`Stage::inputs`]; so `params` must hold every value the stage reads
/// that can change its outputs, and nothing else.
pub trait Stage: Send + Sync {
    /// Stage family, e.g. `train`, `prune`, `eval`, `report`.
    fn kind(&self) -> &'static str;
    /// Unique name within a plan, e.g. `prune[3]`.
    fn label(&self) -> StageLabel;
    /// Bump when the implementation changes its outputs for the same parameters.
    fn version(&self) -> u32;
    /// The effective parameters this stage reads (not the whole spec).
    fn params(&self) -> Value;
    /// Labels of the stages whose outputs this one reads.
    fn inputs(&self) -> Vec<StageLabel>;
    /// Whether the stage needs the machine to itself (training): it runs alone even with
    /// `--jobs N`, so that its numbers do not depend on what else is running.
    fn exclusive_compute(&self) -> bool {
        false
    }
    /// Whether the stage's files are a report, copied to `reports/<experiment>/` after a run.
    fn publishes_report(&self) -> bool {
        false
    }
    /// The folder under `reports/<experiment>/` a report is copied to (`seed-1` for one seed's
    /// pool in an experiment of several); `None`: the folder itself.
    fn report_folder(&self) -> Option<String> {
        None
    }
    /// Why the stage cannot run, when data it reads is missing (the message says what to put
    /// where). The scheduler fails the stage with it instead of running it; every stage that
    /// does not depend on it still runs.
    fn missing_data(&self) -> Option<String> {
        None
    }
    /// Does the work, writing outputs into `ctx.out_dir`.
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()>;
}

/// What a running stage gets from the scheduler.
pub struct StageContext<'a> {
    /// Empty folder that becomes the cache entry when the stage succeeds.
    pub out_dir: &'a Path,
    /// Survives a killed run (resumable checkpoints); cleared once the entry is committed.
    pub scratch: &'a Path,
    /// Committed entries of the inputs, by label.
    pub inputs: &'a BTreeMap<StageLabel, Entry>,
    pub progress: &'a dyn Progress,
}

impl StageContext<'_> {
    /// The entry of input `label`; a stage asking for an input it did not declare is a bug.
    pub fn input(&self, label: &StageLabel) -> &Entry {
        self.inputs
            .get(label)
            .unwrap_or_else(|| panic!("stage input `{label}` was not declared"))
    }
}
