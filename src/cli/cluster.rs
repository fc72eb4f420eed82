//! `pvr run --executor slurm`, `pvr cancel` and the hidden `pvr run-stage` a job runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::cache::{Cache, Lookup};
use crate::exec::slurm::{
    JobState, SlurmOptions, Submitted, cancel, job_record, job_state, snapshot_spec, submit,
};
use crate::exec::ui::{Ui, UiMode};
use crate::exec::{format_seconds, publish_cached_reports, run_one};
use crate::graph::StageLabel;
use crate::pipeline::{Pipeline, compile, load_spec};

/// Submits the stages not in the cache as Slurm jobs; with `wait`, follows them to the end.
pub fn run_on_slurm(
    pipeline: &Pipeline,
    cache_dir: &Path,
    reports_dir: &Path,
    report_name: &str,
    wait: bool,
) -> anyhow::Result<ExitCode> {
    let cache = Cache::open(cache_dir)?;
    let absolute = |path: &Path| -> anyhow::Result<PathBuf> {
        std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))
    };
    let cache_dir = absolute(cache_dir)?;
    let text = toml::to_string(&pipeline.spec).context("writing the effective spec")?;
    let options = SlurmOptions {
        pvr: std::env::current_exe().context("locating the pvr binary")?,
        snapshot: snapshot_spec(&cache_dir, &text)?,
        cache_dir: cache_dir.clone(),
        reports_dir: absolute(reports_dir)?,
        report_name: report_name.to_string(),
        spec: &pipeline.spec.executor.slurm,
    };
    let started = Instant::now();
    let jobs = submit(&pipeline.plan, &cache, &options)?;
    let fresh = jobs.iter().filter(|j| !j.reused).count();
    println!(
        "{}: submitted {fresh} job(s), {} already queued or running, in {}",
        pipeline.plan.experiment,
        jobs.len() - fresh,
        format_seconds(started.elapsed().as_secs_f64())
    );
    for job in &jobs {
        let note = if job.reused { " (already queued)" } else { "" };
        println!("  {:<24} job {}{note}", job.label, job.job_id);
    }
    let waiting = pipeline.plan.waiting_for_data().len();
    if waiting > 0 {
        println!(
            "  {waiting} stage(s) not submitted: they wait for data that is missing (`pvr check` lists it)"
        );
    }
    let report_dir = options.reports_dir.join(report_name);
    if jobs.is_empty() {
        // Nothing to run: this configuration's report comes from the cache now.
        if publish_cached_reports(&pipeline.plan, &cache, &report_dir)? > 0 {
            println!("  report: {}", report_dir.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !wait {
        return Ok(ExitCode::SUCCESS);
    }
    let code = follow(&jobs, pipeline, &cache)?;
    println!("  report: {}", report_dir.display());
    Ok(code)
}

/// Waits until every job has ended, printing each as it does; exit 1 when a stage is missing.
fn follow(jobs: &[Submitted], pipeline: &Pipeline, cache: &Cache) -> anyhow::Result<ExitCode> {
    let mut open: Vec<&Submitted> = jobs.iter().collect();
    while !open.is_empty() {
        std::thread::sleep(Duration::from_secs(2));
        open.retain(|job| {
            let state = job_state(&job.job_id);
            if !state.is_active() {
                println!("  {:<24} job {} ended", job.label, job.job_id);
            }
            state.is_active()
        });
    }
    let mut missing = Vec::new();
    for stage in pipeline.plan.stages() {
        if !matches!(cache.lookup(&stage.key)?, Lookup::Hit(_)) {
            missing.push(stage.label.to_string());
        }
    }
    if missing.is_empty() {
        println!("{}: every stage is in the cache", pipeline.plan.experiment);
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "error: {} stage(s) did not finish: {} (`pvr status` shows their logs)",
        missing.len(),
        missing.join(", ")
    );
    Ok(ExitCode::from(1))
}

/// `pvr cancel`: scancel every live job of the experiment's stages.
pub fn cancel_jobs(pipeline: &Pipeline, cache_dir: &Path) -> anyhow::Result<ExitCode> {
    let live: Vec<String> = pipeline
        .plan
        .stages()
        .filter_map(|stage| job_record(cache_dir, &stage.key))
        .filter(|record| job_state(&record.job_id).is_active())
        .map(|record| record.job_id)
        .collect();
    cancel(&live)?;
    println!(
        "{}: cancelled {} job(s)",
        pipeline.plan.experiment,
        live.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The job side: compile the stored spec, check the key, and run the one stage under its
/// lease (or wait for another job that holds it to finish).
pub fn run_stage(
    cache_dir: &Path,
    snapshot: &Path,
    label: &str,
    key: &str,
    reports_dir: &Path,
    report_name: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let spec = load_spec(snapshot, &[])?;
    let pipeline = compile(&spec, snapshot)?;
    let label: StageLabel = label.parse().map_err(|m: String| anyhow::anyhow!(m))?;
    let Some(stage) = pipeline.plan.find(&label) else {
        bail!("{}: no stage `{label}`", snapshot.display());
    };
    if stage.key != key {
        bail!(
            "stage `{label}` has key {} under this pvr, but was submitted as {key}: submit again",
            &stage.key[..12]
        );
    }
    let cache = Cache::open(cache_dir)?;
    let ui = Ui::new(UiMode::Lines, 1);
    loop {
        if let Lookup::Hit(_) = cache.lookup(key)? {
            println!("{label}: in the cache");
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(_lease) = cache.try_lease(key)? {
            let started = Instant::now();
            let report_dir = reports_dir.join(report_name.unwrap_or(&pipeline.plan.experiment));
            run_one(&pipeline.plan, stage, &cache, &report_dir, &ui)?;
            println!(
                "{label}: ran in {}",
                format_seconds(started.elapsed().as_secs_f64())
            );
            return Ok(ExitCode::SUCCESS);
        }
        // Another job builds it: wait for its entry (or for its lease to go stale).
        std::thread::sleep(Duration::from_secs(5));
    }
}

/// What `pvr status` adds for a stage that is not in the cache.
pub fn job_status(cache_dir: &Path, key: &str) -> Option<(String, String)> {
    let record = job_record(cache_dir, key)?;
    Some(match job_state(&record.job_id) {
        JobState::Queued => ("queued".into(), format!("job {}", record.job_id)),
        JobState::Running => ("running".into(), format!("job {}", record.job_id)),
        JobState::Ended(how) => (
            "failed".into(),
            format!("job {} {how}; log: {}", record.job_id, record.log.display()),
        ),
    })
}
