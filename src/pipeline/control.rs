//! The matched-compute dense control as a second pool: the stages of rounds `1..` (control models,
//! their evaluations and every analysis's per-round stages) planned as for the pruned pool, then
//! renamed so that their labels carry `@control`. Round 0, the dense model, is shared: labels of
//! round 0 and stages outside any round (rendered data) keep their pruned-pool names.

use super::relabelled::{Naming, Relabelled};
use crate::graph::{Stage, StageLabel};

/// The control pool's names.
pub struct ControlPool;

/// A stage of the control pool.
pub type Controlled = Relabelled<ControlPool>;

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

impl Naming for ControlPool {
    fn outer(&self, label: StageLabel) -> StageLabel {
        control_label(label)
    }
    fn inner(&self, label: &StageLabel) -> StageLabel {
        label.without_control()
    }
}
