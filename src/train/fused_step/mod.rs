//! AdamW and SGD with momentum as one pass per parameter on the CPU (`flex`).
//!
//! Burn's optimizers compose their update from generic tensor operations: AdamW's is about
//! fourteen full passes over each parameter, every one allocating a new buffer, and SGD's
//! about five. On ViT-B/32 (88M parameters) that made the optimizer step most of a training
//! step's time. Here each parameter, its gradient and its moments are read once and updated
//! in place (copied first only when another tensor shares their buffer).
//!
//! The formulas are Burn's and PyTorch's (`torch.optim.AdamW`, `torch.optim.SGD` without
//! dampening), with Burn's float operations in Burn's order, so the results equal Burn's
//! optimizers bit for bit (tested over several steps) and trained models keep their cache keys.
//! Other devices and non-f32 tensors take the same update from tensor operations. AdamW's state
//! is Burn's own; SGD's is its velocity.

mod adamw;
mod kernel;
mod sgd;
#[cfg(test)]
mod tests;

pub use adamw::FusedAdamW;
pub use sgd::FusedSgd;
