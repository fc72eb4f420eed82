//! One pool per training seed: every stage of a seed's pool is planned as for a single seed, then
//! wrapped so that its label, its inputs' labels and its report folder carry the seed
//! (`prune[3]@s1`, `reports/<experiment>/seed-1/`). Inside, the stage runs unchanged: its inputs
//! are handed to it under the labels it declared. With one seed the wrapper leaves the label
//! alone, so keys stay those of a single-seed plan; either way it puts the key columns
//! (experiment, arch, seed; `docs/tables.md`) first in every table a report writes.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::files::tables::{TableKeys, add_key_columns};
use crate::graph::{Stage, StageContext, StageLabel};

/// A stage of the pool of one training seed.
pub struct Seeded {
    pub inner: Box<dyn Stage>,
    pub seed: u64,
    /// Whether the experiment has several seeds: labels and report folders then carry it.
    pub multi: bool,
    pub experiment: String,
    pub arch: String,
}

impl Seeded {
    fn seeded(&self, label: StageLabel) -> StageLabel {
        if self.multi {
            label.with_seed(self.seed)
        } else {
            label
        }
    }
}

impl Stage for Seeded {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn label(&self) -> StageLabel {
        self.seeded(self.inner.label())
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
            .map(|label| self.seeded(label))
            .collect()
    }
    fn exclusive_compute(&self) -> bool {
        self.inner.exclusive_compute()
    }
    fn publishes_report(&self) -> bool {
        self.inner.publishes_report()
    }
    fn report_folder(&self) -> Option<String> {
        self.multi.then(|| format!("seed-{}", self.seed))
    }
    fn missing_data(&self) -> Option<String> {
        self.inner.missing_data()
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let inputs: BTreeMap<StageLabel, _> = ctx
            .inputs
            .iter()
            .map(|(label, entry)| (label.without_seed(), entry.clone()))
            .collect();
        let inner_ctx = StageContext {
            out_dir: ctx.out_dir,
            scratch: ctx.scratch,
            inputs: &inputs,
            progress: ctx.progress,
        };
        self.inner.run(&inner_ctx)?;
        if self.inner.publishes_report() {
            add_key_columns(
                ctx.out_dir,
                &TableKeys {
                    experiment: self.experiment.clone(),
                    arch: self.arch.clone(),
                    seed: self.seed as i64,
                },
            )?;
        }
        Ok(())
    }
}
