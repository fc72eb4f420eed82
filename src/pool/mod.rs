//! The model pool every stage and analysis works on: the experiment's shared model context,
//! the checkpoint a pool member leaves in its cache entry, and the records reports read back.
//! Below the stages and analyses, above models, training and the cache.

mod checkpoint;
pub mod collapse;
mod context;
mod frozen;
mod network;
mod records;

pub use checkpoint::{
    LoadedModel, MASKS_FILE, MODEL_FILE, ROUND_FILE, RoundRecord, load_checkpoint, save_checkpoint,
};
pub use context::{ModelContext, round_seed};
pub use frozen::frozen_network;
pub use network::{model_problems, network_config};
pub use records::{
    EVAL_FILE, EvalRecord, PoolMember, pool_inputs, read_pool_members, read_round_records,
};
