//! The records a pool member leaves besides its weights: how it was made ([`RoundRecord`], in
//! the model stage's entry) and how well it does ([`EvalRecord`], in `eval[n]`'s), and the one
//! way every report reads them back.

use serde::{Deserialize, Serialize};

use super::checkpoint::{ROUND_FILE, RoundRecord};
use crate::graph::{StageContext, StageLabel};
use crate::metrics::EvalMetrics;

pub const EVAL_FILE: &str = "metrics.json";

/// What `eval[n]` measured on the validation split.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalRecord {
    pub round: usize,
    pub metrics: EvalMetrics,
    pub images_per_second: f64,
    pub seconds: f64,
}

/// One pool member as a report sees it.
pub struct PoolMember {
    pub record: RoundRecord,
    pub eval: EvalRecord,
    /// Cache key of the stage that made the model.
    pub model_key: String,
}

/// The round record of every model `0..=rounds` from a report stage's inputs, which must
/// include [`StageLabel::model`] of each round.
pub fn read_round_records(
    ctx: &StageContext<'_>,
    rounds: usize,
) -> anyhow::Result<Vec<RoundRecord>> {
    (0..=rounds)
        .map(|round| ctx.input(&StageLabel::model(round)).read_json(ROUND_FILE))
        .collect()
}

/// Round and evaluation records of every model `0..=rounds`; the inputs must include
/// [`pool_inputs`].
pub fn read_pool_members(ctx: &StageContext<'_>, rounds: usize) -> anyhow::Result<Vec<PoolMember>> {
    (0..=rounds)
        .map(|round| {
            let model = ctx.input(&StageLabel::model(round));
            Ok(PoolMember {
                record: model.read_json(ROUND_FILE)?,
                eval: ctx.input(&StageLabel::eval(round)).read_json(EVAL_FILE)?,
                model_key: model.key.clone(),
            })
        })
        .collect()
}

/// The inputs a report over the pool declares: every model and its evaluation.
pub fn pool_inputs(rounds: usize) -> Vec<StageLabel> {
    (0..=rounds)
        .flat_map(|round| [StageLabel::model(round), StageLabel::eval(round)])
        .collect()
}
