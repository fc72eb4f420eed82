//! The core pool stages: dense training, LRR pruning rounds (or weights given by the spec),
//! evaluation of every pool member, and the pool report. The `pipeline` module plans them; the
//! analyses build on the models they leave.

mod control;
mod eval;
mod import;
mod prune;
mod report;
mod round;
mod train;

pub use control::ControlStage;
pub use eval::{EvalStage, PREDICTIONS_FILE};
pub use import::{GivenWeights, ImportStage, given_weights};
pub use prune::PruneStage;
pub use report::ReportStage;
pub use train::TrainStage;
