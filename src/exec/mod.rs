//! The scheduler: runs a [`Plan`] against the cache in dependency order, reusing every entry
//! whose key is already there, running independent stages side by side (`--jobs`), and letting
//! a failure stop only the stages that depend on it.

mod eta;
pub mod run_record;
pub mod slurm;
pub mod ui;

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::Context;
use petgraph::Direction;
use petgraph::graph::NodeIndex;

use crate::cache::{Cache, Entry, LabelRecord, Lookup, ManifestInfo};
use crate::graph::{Plan, PlannedStage, Stage, StageContext, StageLabel};
use eta::Eta;
pub use run_record::{RunSummary, StageOutcome, StageStatus};
use ui::Ui;

/// How to run.
pub struct RunOptions {
    /// Stages run at once; a training stage always runs alone.
    pub jobs: usize,
    /// Where the report folder goes.
    pub reports_dir: PathBuf,
    /// The report folder's name: the experiment's, with a hash of the `--set` overrides when
    /// there are any (the `report` module names it), so configurations never share a folder.
    pub report_name: String,
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
    let mut run = Run {
        plan,
        cache,
        ui,
        states: HashMap::new(),
        outcomes: HashMap::new(),
        eta: Eta::default(),
    };
    run.look_up_cached()?;
    run.eta = Eta::new(
        plan.order
            .iter()
            .filter(|node| matches!(run.states[*node], State::Pending))
            .map(|&node| plan.graph[node].stage.kind()),
    );
    run.dispatch(options.jobs.max(1));
    ui.finish();

    let report_dir = options.reports_dir.join(&options.report_name);
    std::fs::create_dir_all(&report_dir)
        .with_context(|| format!("creating {}", report_dir.display()))?;
    run.publish_reports(&report_dir)?;
    run.record_run();
    let summary = RunSummary {
        experiment: plan.experiment.clone(),
        stages: plan
            .order
            .iter()
            .filter_map(|n| run.outcomes.remove(n))
            .collect(),
        wall_seconds: started.elapsed().as_secs_f64(),
        report_dir: report_dir.clone(),
    };
    summary.write(&report_dir.join("run.json"))?;
    Ok(summary)
}

/// What one run knows about every stage of its plan.
struct Run<'a> {
    plan: &'a Plan,
    cache: &'a Cache,
    ui: &'a Ui,
    states: HashMap<NodeIndex, State>,
    outcomes: HashMap<NodeIndex, StageOutcome>,
    eta: Eta,
}

/// What a finished stage sends back to the scheduler.
type Finished = (NodeIndex, Result<Entry, String>, f64);

impl Run<'_> {
    /// Marks every stage whose entry is in the cache done; the rest pending. A corrupt entry is
    /// reported and rebuilt.
    fn look_up_cached(&mut self) -> anyhow::Result<()> {
        for &node in &self.plan.order {
            let stage = &self.plan.graph[node];
            match self.cache.lookup(&stage.key)? {
                Lookup::Hit(entry) => {
                    record_label(self.cache, self.plan, stage);
                    self.outcomes.insert(
                        node,
                        StageOutcome::new(stage, StageStatus::Cached, entry.manifest.seconds)
                            .built_by(&entry),
                    );
                    self.states.insert(node, State::Done(Box::new(entry)));
                    self.ui
                        .stage_done(&format!("{:>12} cached", stage.label.to_string()));
                }
                Lookup::Missing => {
                    self.states.insert(node, State::Pending);
                }
                Lookup::Corrupt { reason } => {
                    self.ui.line(&format!(
                        "{:>12} cache entry is corrupt, rebuilding: {reason}",
                        stage.label.to_string()
                    ));
                    let mut outcome = StageOutcome::new(stage, StageStatus::Pending, 0.0);
                    outcome.note = Some(format!("rebuilt a corrupt entry: {reason}"));
                    self.outcomes.insert(node, outcome);
                    self.states.insert(node, State::Pending);
                }
            }
        }
        Ok(())
    }

    /// Starts every ready stage (up to `jobs` at once, a training stage alone) and records each
    /// result as it comes back, until nothing is left to start.
    fn dispatch(&mut self, jobs: usize) {
        let (sender, receiver) = mpsc::channel::<Finished>();
        let (plan, cache, ui) = (self.plan, self.cache, self.ui);
        std::thread::scope(|scope| {
            let mut running = 0usize;
            let mut compute_busy = false;
            loop {
                for node in self.ready_stages() {
                    let exclusive = plan.graph[node].stage.exclusive_compute();
                    // A training stage runs alone: two trainings in one process were seen to
                    // change each other's last digits (Burn's CPU kernels share one thread pool).
                    if running >= jobs || compute_busy || (exclusive && running > 0) {
                        break;
                    }
                    let inputs = self.input_entries(node);
                    self.states.insert(node, State::Running);
                    running += 1;
                    compute_busy |= exclusive;
                    let sender = sender.clone();
                    scope.spawn(move || {
                        let begun = Instant::now();
                        let result = run_stage(&plan.graph[node], cache, &inputs, ui);
                        let _ = sender.send((node, result, begun.elapsed().as_secs_f64()));
                    });
                }
                if running == 0 {
                    break;
                }
                let finished = receiver.recv().expect("a running stage reports back");
                running -= 1;
                if plan.graph[finished.0].stage.exclusive_compute() {
                    compute_busy = false;
                }
                self.commit(finished);
            }
        });
    }

    /// Pending stages whose inputs are all done, in plan order; on the way, marks the stages
    /// whose inputs failed as skipped.
    fn ready_stages(&mut self) -> Vec<NodeIndex> {
        let mut ready = Vec::new();
        for &node in &self.plan.order {
            if !matches!(self.states[&node], State::Pending) {
                continue;
            }
            let inputs: Vec<NodeIndex> = self
                .plan
                .graph
                .neighbors_directed(node, Direction::Incoming)
                .collect();
            if let Some(&failed) = inputs
                .iter()
                .find(|n| matches!(self.states[*n], State::Failed))
            {
                self.skip(node, failed);
            } else if inputs
                .iter()
                .all(|n| matches!(self.states[n], State::Done(_)))
            {
                ready.push(node);
            }
        }
        ready
    }

    fn skip(&mut self, node: NodeIndex, failed_input: NodeIndex) {
        let stage = &self.plan.graph[node];
        let failed_label = &self.plan.graph[failed_input].label;
        let mut outcome = StageOutcome::new(stage, StageStatus::Skipped, 0.0);
        outcome.error = Some(format!("input `{failed_label}` failed"));
        self.outcomes.insert(node, outcome);
        self.states.insert(node, State::Failed);
        self.ui.stage_done(&format!(
            "{:>12} skipped: input `{failed_label}` failed",
            stage.label.to_string()
        ));
        self.eta.finished(stage.stage.kind(), None);
        self.ui.set_eta(self.eta.remaining());
    }

    fn input_entries(&self, node: NodeIndex) -> BTreeMap<StageLabel, Entry> {
        self.plan
            .graph
            .neighbors_directed(node, Direction::Incoming)
            .map(|n| match &self.states[&n] {
                State::Done(entry) => (self.plan.graph[n].label.clone(), Entry::clone(entry)),
                _ => unreachable!("inputs checked done"),
            })
            .collect()
    }

    /// Records a finished stage: done with its entry, or failed with its error.
    fn commit(&mut self, (node, result, seconds): Finished) {
        let stage = &self.plan.graph[node];
        let note = self.outcomes.remove(&node).and_then(|o| o.note);
        let status = if result.is_ok() {
            StageStatus::Ran
        } else {
            StageStatus::Failed
        };
        let mut outcome = StageOutcome::new(stage, status, seconds);
        outcome.note = note;
        self.eta
            .finished(stage.stage.kind(), result.is_ok().then_some(seconds));
        self.ui.set_eta(self.eta.remaining());
        match result {
            Ok(entry) => {
                record_label(self.cache, self.plan, stage);
                outcome = outcome.built_by(&entry);
                self.ui.stage_done(&format!(
                    "{:>12} ran in {}",
                    stage.label.to_string(),
                    format_seconds(seconds)
                ));
                self.states.insert(node, State::Done(Box::new(entry)));
            }
            Err(error) => {
                self.ui
                    .stage_done(&format!("{:>12} FAILED: {error}", stage.label.to_string()));
                outcome.error = Some(error);
                self.states.insert(node, State::Failed);
            }
        }
        self.outcomes.insert(node, outcome);
    }

    /// Records the keys this run reached, for `pvr gc --keep-days`.
    fn record_run(&self) {
        let keys = self
            .plan
            .order
            .iter()
            .filter(|node| matches!(self.states[*node], State::Done(_)))
            .map(|node| self.plan.graph[*node].key.clone())
            .collect();
        // Like label records, the run record only protects entries from gc; failing to write it
        // must not fail a run that succeeded.
        let _ = self.cache.record_run(&self.plan.experiment, keys);
    }

    /// Copies the files of every finished report stage (the pool's and each analysis's) side
    /// by side into `report_dir`.
    fn publish_reports(&self, report_dir: &Path) -> anyhow::Result<()> {
        for node in &self.plan.order {
            if self.plan.graph[*node].stage.publishes_report()
                && let State::Done(entry) = &self.states[node]
            {
                publish(
                    entry,
                    &report_target(&*self.plan.graph[*node].stage, report_dir),
                )?;
            }
        }
        Ok(())
    }
}

/// Copies every report stage of `plan` that is in the cache to `report_dir`; returns how many.
/// A cluster submission with nothing left to run publishes this way, so every configuration
/// gets its report folder as a local run's does.
pub fn publish_cached_reports(
    plan: &Plan,
    cache: &Cache,
    report_dir: &Path,
) -> anyhow::Result<usize> {
    let mut published = 0;
    for stage in plan.stages() {
        if stage.stage.publishes_report()
            && let Lookup::Hit(entry) = cache.lookup(&stage.key)?
        {
            publish(&entry, &report_target(&*stage.stage, report_dir))?;
            published += 1;
        }
    }
    Ok(published)
}

/// Runs one stage of `plan` whose inputs are all in the cache, as a cluster job does: under the
/// stage's lease rather than the cache lock (the caller holds [`Cache::try_lease`]), and
/// publishes its files to `report_dir` when it is a report.
pub fn run_one(
    plan: &Plan,
    stage: &PlannedStage,
    cache: &Cache,
    report_dir: &Path,
    ui: &Ui,
) -> anyhow::Result<Entry> {
    let mut inputs = BTreeMap::new();
    for (label, key) in &stage.inputs {
        match cache.lookup(key)? {
            Lookup::Hit(entry) => {
                inputs.insert(label.clone(), entry);
            }
            _ => anyhow::bail!("input `{label}` of `{}` is not in the cache", stage.label),
        }
    }
    let entry = run_stage_with(stage, cache, &inputs, ui, Build::Leased)
        .map_err(|error| anyhow::anyhow!("stage `{}` failed: {error}", stage.label))?;
    record_label(cache, plan, stage);
    if stage.stage.publishes_report() {
        publish(&entry, &report_target(&*stage.stage, report_dir))?;
    }
    Ok(entry)
}

/// Where a stage's entry is built: under the cache lock, or under the stage's lease.
#[derive(Clone, Copy)]
enum Build {
    Locked,
    Leased,
}

fn run_stage(
    stage: &PlannedStage,
    cache: &Cache,
    inputs: &BTreeMap<StageLabel, Entry>,
    ui: &Ui,
) -> Result<Entry, String> {
    run_stage_with(stage, cache, inputs, ui, Build::Locked)
}

fn run_stage_with(
    stage: &PlannedStage,
    cache: &Cache,
    inputs: &BTreeMap<StageLabel, Entry>,
    ui: &Ui,
    build: Build,
) -> Result<Entry, String> {
    if let Some(missing) = stage.stage.missing_data() {
        return Err(missing);
    }
    let attempt = || -> anyhow::Result<Entry> {
        let started = Instant::now();
        let writer = match build {
            Build::Locked => cache.begin(&stage.key)?,
            Build::Leased => cache.begin_leased(&stage.key)?,
        };
        let scratch = cache.scratch_dir(&stage.key)?;
        let bar = ui.stage(&stage.label.to_string());
        let ctx = StageContext {
            out_dir: writer.dir(),
            scratch: &scratch,
            inputs,
            progress: &bar,
        };
        stage.stage.run(&ctx)?;
        drop(bar);
        let entry = writer.commit(ManifestInfo {
            label: stage.label.to_string(),
            kind: stage.stage.kind().to_string(),
            params: stage.stage.params(),
            inputs: stage.input_keys(),
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
        inputs: stage.input_keys(),
    };
    // The record only improves `pvr status` messages; failing to write it must not fail a run.
    let _ = cache.record_label(&plan.experiment, &stage.label.to_string(), &record);
}

/// Copies the report entry's files to `reports/<experiment>/`, each through a temporary file
/// renamed into place, so a full disk leaves the previous file rather than a truncated one.
/// Where a report stage's files go: `report_dir`, or its folder under it.
fn report_target(stage: &dyn Stage, report_dir: &Path) -> PathBuf {
    match stage.report_folder() {
        Some(folder) => report_dir.join(folder),
        None => report_dir.to_path_buf(),
    }
}

fn publish(entry: &Entry, report_dir: &Path) -> anyhow::Result<()> {
    for file in &entry.manifest.files {
        let target = report_dir.join(&file.path);
        let parent = target.parent().unwrap_or(report_dir);
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        let partial = parent.join(format!(
            ".{}.partial",
            target.file_name().unwrap_or_default().to_string_lossy()
        ));
        let copied = std::fs::copy(entry.path(&file.path), &partial)
            .and_then(|_| std::fs::rename(&partial, &target));
        if let Err(error) = copied {
            let _ = std::fs::remove_file(&partial);
            return Err(error).with_context(|| format!("writing {}", target.display()));
        }
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
