//! Builds the spec's optimizer, with PyTorch's semantics (SGD without momentum dampening),
//! fused on the CPU ([`super::fused_step`]).

use burn::optim::ModuleOptimizer;

use super::fused_step::{FusedAdamW, FusedSgd};
use crate::spec::OptimizerSpec;

/// A fresh optimizer: LRR starts every round with one, so no state carries over.
pub fn build_optimizer(spec: &OptimizerSpec) -> ModuleOptimizer {
    match spec {
        OptimizerSpec::Sgd {
            momentum,
            weight_decay,
            nesterov,
            ..
        } => ModuleOptimizer::from(FusedSgd::new(
            *momentum as f32,
            *weight_decay as f32,
            *nesterov,
        )),
        OptimizerSpec::Adamw {
            beta1,
            beta2,
            weight_decay,
            eps,
            ..
        } => ModuleOptimizer::from(FusedAdamW::new(
            *beta1 as f32,
            *beta2 as f32,
            *eps as f32,
            *weight_decay as f32,
        )),
    }
}
