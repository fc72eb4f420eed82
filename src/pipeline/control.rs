//! The matched-compute dense control as a second pool: the stages of rounds `1..` (control models,
//! their evaluations and every analysis's per-round stages) planned as for the pruned pool, then
//! wrapped so that their labels carry `@control`. Round 0, the dense model, is shared: labels of
//! round 0 and stages outside any round (rendered data) keep their pruned-pool names.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::graph::{Stage, StageContext, StageLabel};

/// A stage of the control pool.
pub struct Controlled {
    pub inner: Box<dyn Stage>,
}

/// The control pool's name for `label`: marked when it belongs to a round after the dense one.
pub fn control_label(label: StageLabel) -> StageLabel {
    if label.pool_round().is_some_and(|round| round > 0) {
        label.in_control()
    } else {
        label
    }
}

/// Whether a stage planned for the control pool belongs in it: the per-round stages after the
/// dense model (reports and shared stages are the pruned pool's).
pub fn in_control_pool(stage: &dyn Stage) -> bool {
    stage.label().round.is_some_and(|round| round > 0)
}

impl Stage for Controlled {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn label(&self) -> StageLabel {
        control_label(self.inner.label())
    }
    fn version(&self) -> u32 {
        self.inner.version()
    }
    fn params(&self) -> Value {
        self.inner.params()
    }
    fn inputs(&self) -> Vec<StageLabel> {
        self.inner.inputs().into_iter().map(control_label).collect()
    }
    fn exclusive_compute(&self) -> bool {
        self.inner.exclusive_compute()
    }
    fn publishes_report(&self) -> bool {
        self.inner.publishes_report()
    }
    fn missing_data(&self) -> Option<String> {
        self.inner.missing_data()
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let inputs: BTreeMap<StageLabel, _> = ctx
            .inputs
            .iter()
            .map(|(label, entry)| (label.without_control(), entry.clone()))
            .collect();
        self.inner.run(&StageContext {
            inputs: &inputs,
            ..*ctx
        })
    }
}
