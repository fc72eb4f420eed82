//! One pool per training seed: every stage of a seed's pool is planned as for a single seed, then
//! renamed so that its label, its inputs' labels and its report folder carry the seed
//! (`prune[3]@s1`, `reports/<experiment>/seed-1/`). With one seed the names stay as planned, so
//! keys stay those of a single-seed plan; either way every table a report writes gets the key
//! columns (experiment, arch, seed; `docs/tables.md`) first.

use super::relabelled::{Naming, Relabelled};
use crate::files::tables::{TableKeys, add_key_columns};
use crate::graph::{Stage, StageContext, StageLabel};

/// The names of the pool of one training seed.
pub struct SeedPool {
    pub seed: u64,
    /// Whether the experiment has several seeds: labels and report folders then carry it.
    pub multi: bool,
    pub experiment: String,
    pub arch: String,
}

/// A stage of the pool of one training seed.
pub type Seeded = Relabelled<SeedPool>;

impl Naming for SeedPool {
    fn outer(&self, label: StageLabel) -> StageLabel {
        if self.multi {
            label.with_seed(self.seed)
        } else {
            label
        }
    }
    fn inner(&self, label: &StageLabel) -> StageLabel {
        label.without_seed()
    }
    fn report_folder(&self) -> Option<String> {
        self.multi.then(|| format!("seed-{}", self.seed))
    }
    fn after_run(&self, stage: &dyn Stage, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        if !stage.publishes_report() {
            return Ok(());
        }
        add_key_columns(
            ctx.out_dir,
            &TableKeys {
                experiment: self.experiment.clone(),
                arch: self.arch.clone(),
                seed: self.seed as i64,
            },
        )
    }
}
