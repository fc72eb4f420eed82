//! The scheduler: runs a [`Plan`] against the cache in dependency order, reusing every entry
//! whose key is already there, running independent stages side by side (`--jobs`), and letting
//! a failure stop only the stages that depend on it.

pub mod progress;
pub mod run_record;
pub mod ui;

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use petgraph::Direction;
use petgraph::graph::NodeIndex;

use crate::cache::{Cache, Entry, LabelRecord, Lookup, ManifestInfo};
use crate::graph::{Plan, PlannedStage, StageContext};
pub use run_record::{RunSummary, StageOutcome, StageStatus};
use ui::Ui;

/// How to run.
pub struct RunOptions {
    /// Stages run at once; a training stage always runs alone.
    pub jobs: usize,
    /// Where `<experiment>/` with the report and `run.json` goes.
    pub reports_dir: PathBuf,
}

enum State {
    Pending,
    Running,
    Done(Box<Entry>),
    Failed,
}

/// Runs every stage of `plan` not already cached. Never returns early on a stage failure: the
/// summary says what failed and what was skipped because of it.
pub fn execute(
    plan: &Plan,
    cache: &Cache,
    options: &RunOptions,
    ui: &Ui,
) -> anyhow::Result<RunSummary> {
    let started = Instant::now();
    let mut states: HashMap<NodeIndex, State> = HashMap::new();
    let mut outcomes: HashMap<NodeIndex, StageOutcome> = HashMap::new();
    for &node in &plan.order {
        let stage = &plan.graph[node];
        match cache.lookup(&stage.key)? {
            Lookup::Hit(entry) => {
                record_label(cache, plan, stage);
                outcomes.insert(
                    node,
                    StageOutcome::new(stage, StageStatus::Cached, entry.manifest.seconds),
                );
                states.insert(node, State::Done(Box::new(entry)));
                ui.stage_done(&format!("{:>12} cached", stage.label));
            }
            Lookup::Missing => {
                states.insert(node, State::Pending);
            }
            Lookup::Corrupt { reason } => {
                ui.line(&format!(
                    "{:>12} cache entry is corrupt, rebuilding: {reason}",
                    stage.label
                ));
                let mut outcome = StageOutcome::new(stage, StageStatus::Pending, 0.0);
                outcome.note = Some(format!("rebuilt a corrupt entry: {reason}"));
                outcomes.insert(node, outcome);
                states.insert(node, State::Pending);
            }
        }
    }

    let (sender, receiver) = mpsc::channel::<(NodeIndex, Result<Entry, String>, f64)>();
    std::thread::scope(|scope| {
        let mut running = 0usize;
        let mut compute_busy = false;
        loop {
            // Mark stages whose inputs failed, then start what is ready.
            for &node in &plan.order {
                if !matches!(states[&node], State::Pending) {
                    continue;
                }
                let inputs: Vec<NodeIndex> = plan
                    .graph
                    .neighbors_directed(node, Direction::Incoming)
                    .collect();
                if let Some(&failed) = inputs.iter().find(|n| matches!(states[*n], State::Failed)) {
                    let stage = &plan.graph[node];
                    let mut outcome = StageOutcome::new(stage, StageStatus::Skipped, 0.0);
                    outcome.error = Some(format!("input `{}` failed", plan.graph[failed].label));
                    outcomes.insert(node, outcome);
                    states.insert(node, State::Failed);
                    ui.stage_done(&format!(
                        "{:>12} skipped: input `{}` failed",
                        stage.label, plan.graph[failed].label
                    ));
                    continue;
                }
                if !inputs.iter().all(|n| matches!(states[n], State::Done(_)))
                    || running >= options.jobs.max(1)
                {
                    continue;
                }
                let stage = &plan.graph[node];
                let exclusive = stage.stage.exclusive_compute();
                // A training stage runs alone: two trainings in one process were seen to change
                // each other's last digits (Burn's CPU kernels share one thread pool).
                if compute_busy || (exclusive && running > 0) {
                    continue;
                }
                let input_entries: BTreeMap<String, Entry> = inputs
                    .iter()
                    .map(|n| match &states[n] {
                        State::Done(entry) => (plan.graph[*n].label.clone(), Entry::clone(entry)),
                        _ => unreachable!("inputs checked done"),
                    })
                    .collect();
                states.insert(node, State::Running);
                running += 1;
                compute_busy |= exclusive;
                let sender = sender.clone();
                scope.spawn(move || {
                    let begun = Instant::now();
                    let result = run_stage(stage, cache, &input_entries, ui);
                    let _ = sender.send((node, result, begun.elapsed().as_secs_f64()));
                });
            }
            if running == 0 {
                break;
            }
            let (node, result, seconds) = receiver.recv().expect("a running stage reports back");
            running -= 1;
            let stage = &plan.graph[node];
            if stage.stage.exclusive_compute() {
                compute_busy = false;
            }
            let note = outcomes.remove(&node).and_then(|o| o.note);
            let mut outcome = match &result {
                Ok(_) => StageOutcome::new(stage, StageStatus::Ran, seconds),
                Err(_) => StageOutcome::new(stage, StageStatus::Failed, seconds),
            };
            outcome.note = note;
            match result {
                Ok(entry) => {
                    record_label(cache, plan, stage);
                    ui.stage_done(&format!(
                        "{:>12} ran in {}",
                        stage.label,
                        format_seconds(seconds)
                    ));
                    states.insert(node, State::Done(Box::new(entry)));
                }
                Err(error) => {
                    ui.stage_done(&format!("{:>12} FAILED: {error}", stage.label));
                    outcome.error = Some(error);
                    states.insert(node, State::Failed);
                }
            }
            outcomes.insert(node, outcome);
        }
    });
    ui.finish();

    let report_dir = options.reports_dir.join(&plan.experiment);
    std::fs::create_dir_all(&report_dir)?;
    // Every report stage (the core one and each analysis's) publishes its files side by side.
    for node in &plan.order {
        if plan.graph[*node].stage.kind() == "report"
            && let State::Done(entry) = &states[node]
        {
            publish(entry, &report_dir)?;
        }
    }
    let summary = RunSummary {
        experiment: plan.experiment.clone(),
        stages: plan
            .order
            .iter()
            .filter_map(|n| outcomes.remove(n))
            .collect(),
        wall_seconds: started.elapsed().as_secs_f64(),
        report_dir: report_dir.clone(),
    };
    summary.write(&report_dir.join("run.json"))?;
    Ok(summary)
}

fn run_stage(
    stage: &PlannedStage,
    cache: &Cache,
    inputs: &BTreeMap<String, Entry>,
    ui: &Ui,
) -> Result<Entry, String> {
    let attempt = || -> anyhow::Result<Entry> {
        let started = Instant::now();
        let writer = cache.begin(&stage.key)?;
        let scratch = cache.scratch_dir(&stage.key)?;
        let bar = ui.stage(&stage.label);
        let ctx = StageContext {
            out_dir: writer.dir(),
            scratch: &scratch,
            inputs,
            progress: &bar,
        };
        stage.stage.run(&ctx)?;
        drop(bar);
        let entry = writer.commit(ManifestInfo {
            label: stage.label.clone(),
            kind: stage.stage.kind().to_string(),
            params: stage.stage.params(),
            inputs: stage.inputs.clone(),
            seconds: started.elapsed().as_secs_f64(),
        })?;
        cache.clear_scratch(&stage.key)?;
        Ok(entry)
    };
    match std::panic::catch_unwind(AssertUnwindSafe(attempt)) {
        Ok(Ok(entry)) => Ok(entry),
        Ok(Err(error)) => Err(format!("{error:#}")),
        Err(panic) => Err(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)")
        )),
    }
}

fn record_label(cache: &Cache, plan: &Plan, stage: &PlannedStage) {
    let record = LabelRecord {
        key: stage.key.clone(),
        kind: stage.stage.kind().to_string(),
        params: stage.stage.params(),
        inputs: stage.inputs.clone(),
    };
    // The record only improves `pvr status` messages; failing to write it must not fail a run.
    let _ = cache.record_label(&plan.experiment, &stage.label, &record);
}

/// Copies the report entry's files to `reports/<experiment>/`.
fn publish(entry: &Entry, report_dir: &Path) -> anyhow::Result<()> {
    for file in &entry.manifest.files {
        let target = report_dir.join(&file.path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(entry.path(&file.path), &target)?;
    }
    Ok(())
}

pub fn format_seconds(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        format!(
            "{}m{:02}s",
            (seconds / 60.0) as u64,
            (seconds % 60.0) as u64
        )
    }
}
