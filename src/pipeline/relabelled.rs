//! A stage planned under one pool's labels and placed in the plan under others (a seed's pool,
//! the control pool). The wrapper renames the stage's label and its inputs' labels, and at run
//! time hands the stage its inputs back under the labels it declared, so the stage itself never
//! knows which pool it is in. Its kind, version and params pass through unchanged: renaming a
//! stage does not change its key beyond its inputs' keys.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::graph::{Stage, StageContext, StageLabel};

/// How one pool's labels map to the plan's.
pub trait Naming: Send + Sync {
    /// The plan's name for a label a stage declared.
    fn outer(&self, label: StageLabel) -> StageLabel;
    /// The name the stage declared for one of the plan's labels (undoes [`Naming::outer`]).
    fn inner(&self, label: &StageLabel) -> StageLabel;
    /// The report folder of the pool, if it has its own.
    fn report_folder(&self) -> Option<String> {
        None
    }
    /// Work after a successful run of `stage`, on its output folder.
    fn after_run(&self, _stage: &dyn Stage, _ctx: &StageContext<'_>) -> anyhow::Result<()> {
        Ok(())
    }
}

/// `inner`, named in the plan by `naming`.
pub struct Relabelled<N> {
    pub inner: Box<dyn Stage>,
    pub naming: N,
}

impl<N: Naming> Stage for Relabelled<N> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn label(&self) -> StageLabel {
        self.naming.outer(self.inner.label())
    }
    fn version(&self) -> u32 {
        self.inner.version()
    }
    fn params(&self) -> Value {
        self.inner.params()
    }
    fn inputs(&self) -> Vec<StageLabel> {
        self.inner
            .inputs()
            .into_iter()
            .map(|label| self.naming.outer(label))
            .collect()
    }
    fn exclusive_compute(&self) -> bool {
        self.inner.exclusive_compute()
    }
    fn publishes_report(&self) -> bool {
        self.inner.publishes_report()
    }
    fn report_folder(&self) -> Option<String> {
        self.naming
            .report_folder()
            .or_else(|| self.inner.report_folder())
    }
    fn missing_data(&self) -> Option<String> {
        self.inner.missing_data()
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let inputs: BTreeMap<StageLabel, _> = ctx
            .inputs
            .iter()
            .map(|(label, entry)| (self.naming.inner(label), entry.clone()))
            .collect();
        self.inner.run(&StageContext {
            inputs: &inputs,
            ..*ctx
        })?;
        self.naming.after_run(self.inner.as_ref(), ctx)
    }
}
