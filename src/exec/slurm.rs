//! Running a plan on a Slurm cluster: every stage not in the cache becomes one `sbatch` job that
//! runs `pvr run-stage` for exactly that stage against the (shared) cache, with
//! `--dependency=afterok:<its inputs' jobs> --kill-on-invalid-dep=yes`.
//!
//! Job ids are recorded in the cache (`slurm/jobs/<key>.json`), so a second submission reuses
//! the jobs still queued or running and resubmits only what failed and what depends on it. Logs
//! go to `slurm/logs/<key>-<job id>.log`, one file per attempt. Training jobs ask Slurm for a
//! signal before their time limit, requeue themselves on it and resume from their last epoch
//! checkpoint (the scratch folder is on the shared cache). Only the real client tools are used
//! (`sbatch`, `squeue`, `scancel`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::cache::{Cache, Lookup, write_atomic};
use crate::graph::{Plan, PlannedStage};
use crate::spec::executor::{SlurmResources, SlurmSpec};

/// What a submission needs besides the plan.
pub struct SlurmOptions<'a> {
    /// The pvr binary the jobs run (the cluster's nodes must see it at this path).
    pub pvr: PathBuf,
    /// The effective spec the jobs compile, stored in the cache at submission.
    pub snapshot: PathBuf,
    pub cache_dir: PathBuf,
    pub reports_dir: PathBuf,
    /// The report folder's name under `reports_dir` (one per configuration, as a local run's).
    pub report_name: String,
    pub spec: &'a SlurmSpec,
}

/// One stage's job, as recorded in the cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub job_id: String,
    pub label: String,
    pub log: PathBuf,
}

/// A job's state as Slurm reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Running,
    /// Finished without producing the entry (failed, cancelled, timed out, or gone).
    Ended(String),
}

impl JobState {
    pub fn is_active(&self) -> bool {
        matches!(self, JobState::Queued | JobState::Running)
    }
}

/// What [`submit`] did for one stage.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub label: String,
    pub job_id: String,
    /// Already queued or running from an earlier submission.
    pub reused: bool,
}

/// Submits every stage of `plan` missing from `cache` (reusing live jobs), in dependency order.
/// Stages waiting for missing data (and those after them) are not submitted: they would only
/// fail on a node; `pvr check` says what to put where.
pub fn submit(
    plan: &Plan,
    cache: &Cache,
    options: &SlurmOptions<'_>,
) -> anyhow::Result<Vec<Submitted>> {
    let mut jobs: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut submitted = Vec::new();
    let waiting = plan.waiting_for_data();
    for &node in &plan.order {
        let stage = &plan.graph[node];
        if waiting.contains(&node) || matches!(cache.lookup(&stage.key)?, Lookup::Hit(_)) {
            continue;
        }
        if let Some(record) = job_record(&options.cache_dir, &stage.key)
            && job_state(&record.job_id).is_active()
        {
            jobs.insert(stage.key.clone(), record.job_id.clone());
            submitted.push(Submitted {
                label: stage.label.to_string(),
                job_id: record.job_id,
                reused: true,
            });
            continue;
        }
        let dependencies: Vec<&str> = stage
            .inputs
            .iter()
            .filter_map(|(_, key)| jobs.get(key).map(String::as_str))
            .collect();
        let job_id = sbatch(&job_script(stage, &dependencies, &plan.experiment, options))?;
        let record = JobRecord {
            job_id: job_id.clone(),
            label: stage.label.to_string(),
            log: log_path(&options.cache_dir, &stage.key, &job_id),
        };
        write_job_record(&options.cache_dir, &stage.key, &record)?;
        jobs.insert(stage.key.clone(), job_id.clone());
        submitted.push(Submitted {
            label: record.label,
            job_id,
            reused: false,
        });
    }
    Ok(submitted)
}

/// The batch script of one stage.
fn job_script(
    stage: &PlannedStage,
    dependencies: &[&str],
    experiment: &str,
    options: &SlurmOptions<'_>,
) -> String {
    let kind = resource_kind(stage.stage.kind());
    let mut script = String::from("#!/bin/bash\n");
    let mut option = |line: String| {
        let _ = writeln!(script, "#SBATCH {line}");
    };
    option(format!("--job-name=pvr:{experiment}:{}", stage.label));
    option(format!(
        "--output={}",
        options
            .cache_dir
            .join("slurm/logs")
            .join(format!("{}-%j.log", stage.key))
            .display()
    ));
    option("--open-mode=append".into());
    if !dependencies.is_empty() {
        option(format!("--dependency=afterok:{}", dependencies.join(":")));
        option("--kill-on-invalid-dep=yes".into());
    }
    for (flag, value) in [
        ("partition", &options.spec.partition),
        ("account", &options.spec.account),
    ] {
        if let Some(value) = value {
            option(format!("--{flag}={value}"));
        }
    }
    let training = kind == "train";
    if training {
        option("--requeue".into());
        option(format!("--signal=B:USR1@{}", options.spec.signal_seconds));
    }
    let resources = options
        .spec
        .kinds
        .get(kind)
        .or_else(|| options.spec.kinds.get("default"));
    for line in resources.map(sbatch_options).unwrap_or_default() {
        option(line);
    }
    let _ = writeln!(
        script,
        "{} --cache-dir {} run-stage {} --label '{}' --key {} --reports-dir {} --report-name '{}' &\npid=$!",
        quote(&options.pvr),
        quote(&options.cache_dir),
        quote(&options.snapshot),
        stage.label,
        stage.key,
        quote(&options.reports_dir),
        options.report_name,
    );
    if training {
        // Before the time limit: stop pvr (its last epoch checkpoint is on the shared cache),
        // then requeue; the restarted job resumes there. pvr is stopped first because a
        // process outliving the batch shell may escape the job's process tracking.
        script.push_str(
            "trap 'kill -TERM $pid; wait $pid; scontrol requeue \"$SLURM_JOB_ID\"; exit 0' USR1\n",
        );
    }
    script.push_str("wait $pid\n");
    script
}

/// Each `[executor.slurm.<kind>]` key as the sbatch option it becomes.
pub fn sbatch_options(resources: &SlurmResources) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(gpus) = resources.gpus {
        lines.push(format!("--gpus={gpus}"));
    }
    if let Some(cpus) = resources.cpus_per_task {
        lines.push(format!("--cpus-per-task={cpus}"));
    }
    if let Some(mem) = &resources.mem {
        lines.push(format!("--mem={mem}"));
    }
    if let Some(time) = &resources.time {
        lines.push(format!("--time={time}"));
    }
    lines.extend(resources.extra.iter().cloned());
    lines
}

/// The `[executor.slurm.<kind>]` table a stage kind reads.
fn resource_kind(stage_kind: &str) -> &str {
    match stage_kind {
        "prune" | "import" => "train",
        other => other,
    }
}

fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

fn sbatch(script: &str) -> anyhow::Result<String> {
    let mut child = Command::new("sbatch")
        .arg("--parsable")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running sbatch (is Slurm's client installed and on PATH?)")?;
    use std::io::Write as _;
    child
        .stdin
        .take()
        .context("sbatch stdin")?
        .write_all(script.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "sbatch refused the job: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    // `--parsable` prints `id` or `id;cluster`.
    Ok(text.trim().split(';').next().unwrap_or("").to_string())
}

/// What Slurm says about `job_id` (`squeue --states=all`, which keeps finished jobs for
/// `MinJobAge`); a job Slurm no longer knows has ended.
pub fn job_state(job_id: &str) -> JobState {
    let output = Command::new("squeue")
        .args(["-h", "--states=all", "-o", "%T", "-j", job_id])
        .output();
    let state = output
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    match state.as_str() {
        "PENDING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "CONFIGURING" | "SUSPENDED" => {
            JobState::Queued
        }
        "RUNNING" | "COMPLETING" | "STAGE_OUT" | "SIGNALING" | "RESIZING" => JobState::Running,
        "" => JobState::Ended("no longer known to Slurm".into()),
        other => JobState::Ended(other.to_lowercase()),
    }
}

/// Cancels `job_ids` with `scancel`.
pub fn cancel(job_ids: &[String]) -> anyhow::Result<()> {
    if job_ids.is_empty() {
        return Ok(());
    }
    let status = Command::new("scancel")
        .args(job_ids)
        .status()
        .context("running scancel")?;
    if !status.success() {
        bail!("scancel {} failed", job_ids.join(" "));
    }
    Ok(())
}

fn record_path(cache_dir: &Path, key: &str) -> PathBuf {
    cache_dir.join("slurm/jobs").join(format!("{key}.json"))
}

fn log_path(cache_dir: &Path, key: &str, job_id: &str) -> PathBuf {
    cache_dir
        .join("slurm/logs")
        .join(format!("{key}-{job_id}.log"))
}

/// The last job submitted for `key`, if any.
pub fn job_record(cache_dir: &Path, key: &str) -> Option<JobRecord> {
    let bytes = std::fs::read(record_path(cache_dir, key)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_job_record(cache_dir: &Path, key: &str, record: &JobRecord) -> anyhow::Result<()> {
    let path = record_path(cache_dir, key);
    for dir in [path.parent(), Some(&cache_dir.join("slurm/logs"))]
        .into_iter()
        .flatten()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_atomic(&path, &serde_json::to_vec_pretty(record)?)
}

/// Stores the effective spec text in the cache under its content hash; queued jobs compile
/// this copy, so editing the experiment file later changes nothing they compute.
pub fn snapshot_spec(cache_dir: &Path, text: &str) -> anyhow::Result<PathBuf> {
    let dir = cache_dir.join("slurm/specs");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let hash = blake3::hash(text.as_bytes()).to_hex();
    let path = dir.join(format!("{}.toml", &hash[..16]));
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_keys_become_sbatch_options() {
        let resources = SlurmResources {
            gpus: Some(8),
            cpus_per_task: Some(32),
            mem: Some("256G".into()),
            time: Some("2-00:00:00".into()),
            extra: vec!["--exclusive".into()],
        };
        assert_eq!(
            sbatch_options(&resources),
            [
                "--gpus=8",
                "--cpus-per-task=32",
                "--mem=256G",
                "--time=2-00:00:00",
                "--exclusive"
            ]
        );
        assert_eq!(resource_kind("prune"), "train");
        assert_eq!(resource_kind("ha"), "ha");
    }

    #[test]
    fn paths_are_quoted_for_the_shell() {
        assert_eq!(quote(Path::new("/a b/it's")), "'/a b/it'\\''s'");
    }
}
