//! What produced a report folder: the effective spec (after `--set`), pvr's version and commit,
//! the device and the machine, and one line per run in `runs.jsonl` (a rerun that only reads the
//! cache adds a line; it never rewrites what the building run recorded).

use std::io::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::cache::{unix_now, write_atomic};
use crate::exec::{RunSummary, StageStatus};
use crate::host::{cpu_count, cpu_model, host_name};
use crate::pipeline::Pipeline;
use crate::spec::Override;

/// The effective spec, after every `--set`.
pub const SPEC_FILE: &str = "spec.toml";
/// [`Provenance`] of the latest run, as JSON.
pub const PROVENANCE_FILE: &str = "provenance.json";
/// One [`RunLine`] per run that wrote this folder, oldest first.
pub const RUNS_FILE: &str = "runs.jsonl";

/// Where, with what and from which configuration a report was made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Provenance {
    pub experiment: String,
    pub report_name: String,
    pub spec_file: String,
    /// The `--set` overrides as typed.
    pub overrides: Vec<String>,
    pub pvr_version: String,
    pub git_commit: String,
    /// The device the spec asked for (`cpu`, `cuda:0`) and Burn's backend for it.
    pub device: String,
    pub backend: String,
    pub host: String,
    pub cpu_model: String,
    pub cpus: usize,
    pub os: String,
    pub created_unix: u64,
}

impl Provenance {
    pub fn collect(
        pipeline: &Pipeline,
        spec_file: &Path,
        overrides: &[Override],
        name: &str,
    ) -> Self {
        Provenance {
            experiment: pipeline.spec.experiment.name.clone(),
            report_name: name.to_string(),
            spec_file: spec_file.display().to_string(),
            overrides: overrides.iter().map(|o| o.raw.clone()).collect(),
            pvr_version: crate::PVR_VERSION.to_string(),
            git_commit: crate::PVR_GIT_COMMIT.to_string(),
            device: pipeline.context.device.to_string(),
            backend: pipeline.context.device.family().to_string(),
            host: host_name(),
            cpu_model: cpu_model(),
            cpus: cpu_count(),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            created_unix: unix_now(),
        }
    }
}

/// One run that wrote the report folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunLine {
    pub created_unix: u64,
    pub host: String,
    pub git_commit: String,
    pub wall_seconds: f64,
    pub ran: usize,
    pub cached: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// Writes `spec.toml` and `provenance.json` into `dir` and appends this run to `runs.jsonl`.
pub fn write_provenance(
    dir: &Path,
    pipeline: &Pipeline,
    provenance: &Provenance,
    summary: &RunSummary,
) -> anyhow::Result<()> {
    let spec = toml::to_string_pretty(&pipeline.spec).context("writing the effective spec")?;
    let header = format!(
        "# The effective spec of this report: {} with {} override(s) applied.\n\n",
        provenance.spec_file,
        provenance.overrides.len()
    );
    write_atomic(&dir.join(SPEC_FILE), format!("{header}{spec}").as_bytes())?;
    write_atomic(
        &dir.join(PROVENANCE_FILE),
        &serde_json::to_vec_pretty(provenance)?,
    )?;
    let line = RunLine {
        created_unix: provenance.created_unix,
        host: provenance.host.clone(),
        git_commit: provenance.git_commit.clone(),
        wall_seconds: summary.wall_seconds,
        ran: summary.count(StageStatus::Ran),
        cached: summary.count(StageStatus::Cached),
        failed: summary.count(StageStatus::Failed),
        skipped: summary.count(StageStatus::Skipped),
    };
    let path = dir.join(RUNS_FILE);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(file, "{}", serde_json::to_string(&line)?)
        .with_context(|| format!("appending to {}", path.display()))
}

/// Every run recorded in `dir/runs.jsonl`, oldest first (none when the file is missing).
pub fn read_runs(dir: &Path) -> anyhow::Result<Vec<RunLine>> {
    let path = dir.join(RUNS_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not a run record", path.display(), n + 1))
        })
        .collect()
}
