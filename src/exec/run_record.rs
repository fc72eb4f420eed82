//! `run.json`: what a run did to each stage, for tools and tests to read instead of parsing the
//! terminal.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::cache::Entry;
use crate::graph::PlannedStage;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    Ran,
    Cached,
    Failed,
    /// Not run because an input failed.
    Skipped,
    /// Not yet decided (only while the run is going on).
    Pending,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageOutcome {
    pub stage: String,
    pub kind: String,
    pub key: String,
    pub status: StageStatus,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
    /// The run that computed the cached result: its host and commit time (unix seconds).
    /// A cached stage keeps these of the run that built it; `seconds` is that run's time too.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub built_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub built_unix: Option<u64>,
    /// The cache entry holding the stage's outputs.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub output_dir: Option<PathBuf>,
}

impl StageOutcome {
    pub fn new(stage: &PlannedStage, status: StageStatus, seconds: f64) -> Self {
        Self {
            stage: stage.label.to_string(),
            kind: stage.stage.kind().to_string(),
            key: stage.key.clone(),
            status,
            seconds,
            error: None,
            note: None,
            built_on: None,
            built_unix: None,
            output_dir: None,
        }
    }

    /// Records where the outputs are, and which machine built them and when (its manifest).
    pub fn built_by(mut self, entry: &Entry) -> Self {
        let manifest = &entry.manifest;
        self.built_on = (!manifest.host.is_empty()).then(|| manifest.host.clone());
        self.built_unix = Some(manifest.created_unix);
        self.output_dir = Some(entry.dir.clone());
        self
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub experiment: String,
    pub stages: Vec<StageOutcome>,
    pub wall_seconds: f64,
    pub report_dir: PathBuf,
}

impl RunSummary {
    pub fn count(&self, status: StageStatus) -> usize {
        self.stages.iter().filter(|s| s.status == status).count()
    }

    pub fn failed(&self) -> impl Iterator<Item = &StageOutcome> {
        self.stages
            .iter()
            .filter(|s| s.status == StageStatus::Failed)
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)
            .and_then(|()| std::fs::rename(&tmp, path))
            .with_context(|| format!("writing {}", path.display()))
    }

    pub fn read(path: &Path) -> anyhow::Result<Self> {
        Ok(serde_json::from_slice(&std::fs::read(path)?)?)
    }
}
