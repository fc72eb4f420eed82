//! `pvr status`: cached or not, and for a stale stage, what changed since it last ran, in the
//! spec's words (`train.epochs: 6 -> 5`); a total line at the end.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use super::cluster::job_status;
use super::spec_words::{is_fingerprint, spec_key};
use crate::cache::{Cache, Lookup, diff_params};
use crate::data::listing::changed_files;
use crate::data::root::DataProblem;
use crate::graph::{Plan, PlannedStage};

pub fn status_text(plan: &Plan, cache: &Cache) -> anyhow::Result<String> {
    let mut out = String::new();
    let label_w = plan
        .stages()
        .map(|s| s.label.to_string().chars().count())
        .max()
        .unwrap_or(0);
    let mut totals: BTreeMap<String, usize> = BTreeMap::new();
    // Stages without their data, and those after them, cannot be in the cache (their keys are
    // stand-ins until the data is there).
    let waiting = plan.waiting_for_data();
    // Every stage reading a changed dataset reports the same change: read the listings once.
    let data_changes = DataChanges::default();
    for &node in &plan.order {
        let stage = &plan.graph[node];
        let (state, why) = if let Some(missing) = stage.stage.missing_data() {
            let what = DataProblem::headline(&missing);
            (
                "no data".to_string(),
                format!("{what} (`pvr check` says where)"),
            )
        } else if waiting.contains(&node) {
            (
                "waiting".to_string(),
                "an input waits for data (`pvr check` lists what is missing)".to_string(),
            )
        } else {
            match cache.verify(&stage.key)? {
                Lookup::Hit(_) => ("cached".to_string(), String::new()),
                Lookup::Corrupt { reason } => ("corrupt".into(), format!("will rebuild: {reason}")),
                Lookup::Missing => match job_status(cache.root(), &stage.key) {
                    Some(job) => job,
                    None => (
                        "stale".into(),
                        stale_reason(plan, cache, stage, &data_changes)?,
                    ),
                },
            }
        };
        let _ = writeln!(
            out,
            "{:<label_w$} {:<8} {}  {why}",
            stage.label.to_string(),
            state,
            &stage.key[..12]
        );
        let tally = if why == "never run" {
            "never run".to_string()
        } else {
            state
        };
        *totals.entry(tally).or_default() += 1;
    }
    let total: usize = totals.values().sum();
    let order = [
        "cached",
        "stale",
        "never run",
        "corrupt",
        "no data",
        "waiting",
    ];
    let mut parts: Vec<String> = order
        .iter()
        .filter_map(|k| totals.get(*k).map(|n| format!("{n} {k}")))
        .collect();
    parts.extend(
        totals
            .iter()
            .filter(|(k, _)| !order.contains(&k.as_str()))
            .map(|(k, n)| format!("{n} {k}")),
    );
    let to_run = total - totals.get("cached").copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "total: {total} stages: {}; {to_run} to run",
        parts.join(", ")
    );
    Ok(out)
}

/// `diff_params` lines (`path: old -> new`) with each path named by its spec key, data
/// fingerprints reported as changed files, and one line per key.
fn in_spec_words(
    stage: &PlannedStage,
    lines: Vec<String>,
    data_changes: &DataChanges,
) -> Vec<String> {
    let label = &stage.label;
    let report = (label.kind == "report").then(|| label.name.as_deref().unwrap_or(""));
    let params = stage.stage.params();
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        let (path, change) = line.split_once(": ").unwrap_or((line.as_str(), ""));
        let key = spec_key(&label.kind, label.name.as_deref(), report, path, &params);
        let text = if is_fingerprint(path) {
            format!("{key}: {}", data_changes.describe(change))
        } else {
            format!("{key}: {change}")
        };
        if !out.contains(&text) {
            out.push(text);
        }
    }
    out
}

/// Fingerprint changes in words, each worked out once per `status`.
#[derive(Default)]
struct DataChanges(RefCell<HashMap<String, String>>);

impl DataChanges {
    /// A fingerprint change (`"old" -> "new"`) as the files that differ, where their listings
    /// were kept.
    fn describe(&self, change: &str) -> String {
        if let Some(known) = self.0.borrow().get(change) {
            return known.clone();
        }
        let fingerprint = |text: &str| serde_json::from_str::<String>(text.trim()).ok();
        let text = change
            .split_once(" -> ")
            .and_then(|(old, new)| changed_files(&fingerprint(old)?, &fingerprint(new)?))
            .map_or_else(
                || "different contents".into(),
                |changes| changes.to_string(),
            );
        self.0.borrow_mut().insert(change.to_string(), text.clone());
        text
    }
}

fn stale_reason(
    plan: &Plan,
    cache: &Cache,
    stage: &PlannedStage,
    data_changes: &DataChanges,
) -> anyhow::Result<String> {
    let Some(last) = cache.last_label(&plan.experiment, &stage.label.to_string())? else {
        return Ok("never run".into());
    };
    if last.key == stage.key {
        return Ok("its entry is gone from the cache (removed by gc or found corrupt)".into());
    }
    let changes = in_spec_words(
        stage,
        diff_params(&last.params, &stage.stage.params()),
        data_changes,
    );
    if !changes.is_empty() {
        return Ok(format!("changed: {}", changes.join("; ")));
    }
    let changed_inputs: Vec<String> = stage
        .input_keys()
        .into_iter()
        .filter(|input| !last.inputs.contains(input))
        .map(|(input, _)| input)
        .collect();
    if !changed_inputs.is_empty() {
        return Ok(format!("input changed: {}", changed_inputs.join(", ")));
    }
    Ok("the stage's implementation or pvr's cache schema changed".into())
}
