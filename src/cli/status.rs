//! `pvr status`: cached or not, and for a stale stage, what changed since it last ran.

use std::fmt::Write as _;

use crate::cache::{Cache, Lookup, diff_params};
use crate::graph::Plan;

pub fn status_text(plan: &Plan, cache: &Cache) -> anyhow::Result<String> {
    let mut out = String::new();
    for stage in plan.stages() {
        let (state, why) = match cache.verify(&stage.key)? {
            Lookup::Hit(_) => ("cached", String::new()),
            Lookup::Corrupt { reason } => ("corrupt", format!("will rebuild: {reason}")),
            Lookup::Missing => (
                "stale",
                stale_reason(plan, cache, &stage.label, &stage.key)?,
            ),
        };
        let _ = writeln!(
            out,
            "{:<12} {:<8} {}  {why}",
            stage.label,
            state,
            &stage.key[..12]
        );
    }
    Ok(out)
}

fn stale_reason(plan: &Plan, cache: &Cache, label: &str, key: &str) -> anyhow::Result<String> {
    let Some(stage) = plan.find(label) else {
        return Ok(String::new());
    };
    let Some(last) = cache.last_label(&plan.experiment, label)? else {
        return Ok("never run".into());
    };
    if last.key == key {
        return Ok("its entry is gone from the cache (removed by gc or found corrupt)".into());
    }
    let changes = diff_params(&last.params, &stage.stage.params());
    if !changes.is_empty() {
        return Ok(format!("changed: {}", changes.join("; ")));
    }
    let changed_inputs: Vec<&str> = stage
        .inputs
        .iter()
        .filter(|(input, input_key)| {
            !last
                .inputs
                .iter()
                .any(|(l, k)| l == input && k == input_key)
        })
        .map(|(input, _)| input.as_str())
        .collect();
    if !changed_inputs.is_empty() {
        return Ok(format!("input changed: {}", changed_inputs.join(", ")));
    }
    Ok("the stage's implementation or pvr's cache schema changed".into())
}
