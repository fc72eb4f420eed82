//! What each subcommand does.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use std::sync::Arc;

use super::data_table::data_table;
use super::{Cli, Command, DagFormat, Executor, MaskFormat, SpecArgs};
use crate::cache::{Cache, CacheBusy, CacheLock, unix_now};
use crate::data::Dataset;
use crate::data::root::Opened;
use crate::exec::ui::{Ui, UiMode};
use crate::exec::{RunOptions, StageStatus, execute, format_seconds};
use crate::ha::HaDataset;
use crate::ha::render::{RenderOptions, render_ha as render_ha_sets};
use crate::pipeline::{Pipeline, compile, load_spec};
use crate::report;
use crate::spec::Override;
use crate::weights::MaskLayout;

pub fn dispatch(cli: &Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Run {
            spec,
            jobs,
            reports_dir,
            report_name,
            quiet,
            executor: Executor::Local,
            wait: _,
        } => run(
            cli,
            spec,
            *jobs,
            reports_dir,
            report_name.as_deref(),
            *quiet,
        ),
        Command::Run {
            spec,
            reports_dir,
            executor: Executor::Slurm,
            wait,
            report_name,
            ..
        } => {
            let pipeline = load(spec)?;
            let name = report::report_name(
                &pipeline.spec.experiment.name,
                &spec.overrides,
                report_name.as_deref(),
            );
            super::cluster::run_on_slurm(&pipeline, &cli.cache_dir, reports_dir, &name, *wait)
        }
        Command::Cancel { spec } => super::cluster::cancel_jobs(&load(spec)?, &cli.cache_dir),
        Command::RunStage {
            snapshot,
            label,
            key,
            reports_dir,
            report_name,
        } => super::cluster::run_stage(
            &cli.cache_dir,
            snapshot,
            label,
            key,
            reports_dir,
            report_name.as_deref(),
        ),
        Command::Check { spec } => check(spec),
        Command::Status { spec } => {
            let pipeline = load(spec)?;
            let cache = Cache::open(&cli.cache_dir)?;
            print!("{}", super::status::status_text(&pipeline.plan, &cache)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Dag { spec, format } => {
            let pipeline = load(spec)?;
            match format {
                DagFormat::Text => print!("{}", pipeline.plan.to_text()),
                DagFormat::Dot => print!("{}", pipeline.plan.to_dot()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            spec,
            out,
            rounds,
            masks,
        } => export(cli, spec, out, rounds, *masks),
        Command::Models {
            file,
            arch,
            width,
            image_size,
            classes,
            overrides,
            batch,
        } => {
            print!(
                "{}",
                super::models::models_text(&super::models::ModelsRequest {
                    file: file.as_deref(),
                    arch: arch.as_deref(),
                    width: *width,
                    image_size: *image_size,
                    classes: *classes,
                    overrides,
                    batch: *batch,
                })?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::RenderHa {
            from,
            out,
            seed,
            datasets,
        } => render_ha(from, out, *seed, datasets),
        Command::Gc {
            files,
            overrides,
            keep_days,
            dry_run,
        } => gc(cli, files, overrides, *keep_days, *dry_run),
    }
}

/// `pvr run`: every stage not cached, then the summary; exit 1 when a stage failed.
fn run(
    cli: &Cli,
    spec: &SpecArgs,
    jobs: usize,
    reports_dir: &Path,
    report_name: Option<&str>,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let pipeline = load(spec)?;
    let name = report::report_name(&pipeline.spec.experiment.name, &spec.overrides, report_name);
    let cache = Cache::open(&cli.cache_dir)?;
    let _lock = lock_or_wait(&cache)?;
    let ui = Ui::new(
        UiMode::detect(quiet),
        pipeline.plan.graph.node_count() as u64,
    );
    let options = RunOptions {
        jobs,
        reports_dir: reports_dir.to_path_buf(),
        report_name: name.clone(),
    };
    let summary = execute(&pipeline.plan, &cache, &options, &ui)?;
    let provenance = report::Provenance::collect(&pipeline, &spec.file, &spec.overrides, &name);
    report::write_provenance(&summary.report_dir, &pipeline, &provenance, &summary)?;
    let page = report::write_index(&summary.report_dir, &summary, &provenance)?;
    if !quiet {
        print!("{}", report::run_table(&summary, &page));
    }
    println!(
        "{}: {} ran, {} cached, {} failed, {} skipped in {} · report: {}",
        summary.experiment,
        summary.count(StageStatus::Ran),
        summary.count(StageStatus::Cached),
        summary.count(StageStatus::Failed),
        summary.count(StageStatus::Skipped),
        format_seconds(summary.wall_seconds),
        page.display()
    );
    let failed: Vec<_> = summary.failed().collect();
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for stage in &failed {
        eprintln!(
            "error: stage `{}` failed: {}",
            stage.stage,
            stage.error.as_deref().unwrap_or("")
        );
    }
    Ok(ExitCode::from(1))
}

/// `pvr export`: pool members as safetensors files with torchvision's names.
fn export(
    cli: &Cli,
    spec: &SpecArgs,
    out: &Path,
    rounds: &[usize],
    masks: MaskFormat,
) -> anyhow::Result<ExitCode> {
    let pipeline = load(spec)?;
    let cache = Cache::open(&cli.cache_dir)?;
    let layout = match masks {
        MaskFormat::Applied => MaskLayout::Applied,
        MaskFormat::Pairs => MaskLayout::PrunePairs,
    };
    super::export::export_rounds(&pipeline, &cache, rounds, layout, out)?;
    Ok(ExitCode::SUCCESS)
}

/// `pvr check`: the spec is valid and compiles; prints what it describes and the plan.
fn check(spec: &SpecArgs) -> anyhow::Result<ExitCode> {
    let pipeline = load(spec)?;
    let c = &pipeline.context;
    let images = |split: &Opened<Arc<dyn Dataset>>| match split.get() {
        Ok(data) => data.len().to_string(),
        Err(_) => "?".into(),
    };
    println!(
        "{}: ok · {} {} ({}, {} classes) on {} · {} train / {} val images · {} prunable tensors",
        spec.file.display(),
        pipeline.spec.experiment.name,
        c.network.arch,
        c.network.describe(),
        c.network.num_classes,
        c.device,
        images(&c.train_data),
        images(&c.val_data),
        c.prunable.len()
    );
    let skipped = c.train_data.skipped().len() + c.val_data.skipped().len();
    if skipped > 0 {
        println!(
            "{skipped} unreadable image(s) skipped (data.on_bad_image = \"skip\"); the report lists them"
        );
    }
    for warning in &pipeline.warnings {
        println!("warning: {warning}");
    }
    print!("{}", pipeline.plan.to_text());
    if !pipeline.data.is_empty() {
        println!();
        print!("{}", data_table(&pipeline.data));
    }
    Ok(ExitCode::SUCCESS)
}

/// `pvr render-ha`: the parametric model-vs-human sets from any images.
fn render_ha(
    from: &Path,
    out: &Path,
    seed: u64,
    datasets: &[HaDataset],
) -> anyhow::Result<ExitCode> {
    let options = RenderOptions {
        from: from.to_path_buf(),
        out: out.to_path_buf(),
        seed,
        datasets: if datasets.is_empty() {
            HaDataset::PARAMETRIC.to_vec()
        } else {
            datasets.to_vec()
        },
    };
    render_ha_sets(&options, |line| eprintln!("{line}"))?;
    Ok(ExitCode::SUCCESS)
}

/// `pvr gc`: removes every cache entry that neither the given experiments (with `overrides`)
/// plan nor a run of the last `keep_days` days reached.
fn gc(
    cli: &Cli,
    files: &[PathBuf],
    overrides: &[Override],
    keep_days: u64,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let mut keep = HashSet::new();
    let mut pipelines = Vec::new();
    for file in files {
        let pipeline = load(&SpecArgs {
            file: file.clone(),
            overrides: overrides.to_vec(),
        })?;
        pipelines.push(pipeline);
    }
    let cache = Cache::open(&cli.cache_dir)?;
    let _lock = lock_or_wait(&cache)?;
    for pipeline in &pipelines {
        let plan = &pipeline.plan;
        keep.extend(plan.stages().map(|s| s.key.clone()));
        // Without its data a stage's key is a stand-in: keep what it (and everything after it)
        // last built, so that gc on a machine without the data removes nothing of the study.
        let waiting = plan.waiting_for_data();
        for &node in &waiting {
            let label = plan.graph[node].label.to_string();
            if let Some(record) = cache.last_label(&plan.experiment, &label)? {
                keep.insert(record.key);
            }
        }
        if !waiting.is_empty() {
            println!(
                "{}: {} stage(s) wait for missing data (`pvr check` says which); kept the entries they last built",
                plan.experiment,
                waiting.len()
            );
        }
    }
    let mut records = 0;
    if keep_days > 0 {
        let since = unix_now().saturating_sub(keep_days.saturating_mul(86_400));
        keep.extend(cache.keys_used_since(since)?);
        // Records older than the window protect nothing any more.
        records = cache.prune_run_records(since, dry_run)?;
    }
    let report = cache.gc(&keep, dry_run)?;
    let verb = if dry_run { "would remove" } else { "removed" };
    for entry in &report.removed {
        println!(
            "{verb} {} {} ({} bytes)",
            &entry.key[..12],
            entry.label,
            entry.bytes
        );
    }
    println!(
        "{verb} {} entries, {:.1} MB, and {records} run record(s) older than {keep_days} days; kept {}",
        report.removed.len(),
        report.bytes_freed as f64 / 1e6,
        keep.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Takes the cache lock, saying whom it waits for when another pvr holds it.
fn lock_or_wait(cache: &Cache) -> anyhow::Result<CacheLock> {
    match cache.lock(false) {
        Ok(lock) => Ok(lock),
        Err(error) if error.downcast_ref::<CacheBusy>().is_some() => {
            eprintln!("{error}; waiting for it");
            cache.lock(true)
        }
        Err(error) => Err(error),
    }
}

fn load(args: &SpecArgs) -> anyhow::Result<Pipeline> {
    let spec = load_spec(&args.file, &args.overrides)?;
    compile(&spec, &args.file).with_context(|| format!("compiling {}", args.file.display()))
}
