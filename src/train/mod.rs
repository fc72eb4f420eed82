//! Training and evaluation of one network: the loop, its optimizer and schedule, batching.

pub mod clip;
pub mod evaluate;
pub mod fit;
pub mod fused_step;
pub mod loader;
pub mod mix;
pub mod optimizer;
pub mod precision;
pub mod prefetch;
pub mod replicas;
pub mod schedule;
pub mod shard;

pub use evaluate::evaluate;
pub use fit::{EpochStats, FitRequest, fit};
