//! `pvr status`: cached or not, and for a stale stage, what changed since it last ran.

use std::fmt::Write as _;

use super::cluster::job_status;
use crate::cache::{Cache, Lookup, diff_params};
use crate::graph::{Plan, PlannedStage};

pub fn status_text(plan: &Plan, cache: &Cache) -> anyhow::Result<String> {
    let mut out = String::new();
    for stage in plan.stages() {
        if let Some(missing) = stage.stage.missing_data() {
            let _ = writeln!(
                out,
                "{:<12} {:<8} {}  {missing}",
                stage.label.to_string(),
                "no data",
                &stage.key[..12]
            );
            continue;
        }
        let (state, why) = match cache.verify(&stage.key)? {
            Lookup::Hit(_) => ("cached".to_string(), String::new()),
            Lookup::Corrupt { reason } => ("corrupt".into(), format!("will rebuild: {reason}")),
            Lookup::Missing => match job_status(cache.root(), &stage.key) {
                Some(job) => job,
                None => ("stale".into(), stale_reason(plan, cache, stage)?),
            },
        };
        let _ = writeln!(
            out,
            "{:<12} {:<8} {}  {why}",
            stage.label.to_string(),
            state,
            &stage.key[..12]
        );
    }
    Ok(out)
}

fn stale_reason(plan: &Plan, cache: &Cache, stage: &PlannedStage) -> anyhow::Result<String> {
    let Some(last) = cache.last_label(&plan.experiment, &stage.label.to_string())? else {
        return Ok("never run".into());
    };
    if last.key == stage.key {
        return Ok("its entry is gone from the cache (removed by gc or found corrupt)".into());
    }
    let changes = diff_params(&last.params, &stage.stage.params());
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
