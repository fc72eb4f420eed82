//! Builds Burn optimizers from the spec, with PyTorch's semantics (no momentum dampening).

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamWConfig, ModuleOptimizer, SgdConfig};

use crate::spec::OptimizerSpec;

/// A fresh optimizer: LRR starts every round with one, so no state carries over.
pub fn build_optimizer(spec: &OptimizerSpec) -> ModuleOptimizer {
    match spec {
        OptimizerSpec::Sgd {
            momentum,
            weight_decay,
            nesterov,
            ..
        } => SgdConfig::new()
            .with_momentum((*momentum > 0.0).then_some(MomentumConfig {
                momentum: *momentum,
                // Burn defaults to 0.1; torch.optim.SGD (and the study) uses none.
                dampening: 0.0,
                nesterov: *nesterov,
            }))
            .with_weight_decay((*weight_decay > 0.0).then_some(WeightDecayConfig {
                penalty: *weight_decay as f32,
            }))
            .init(),
        OptimizerSpec::Adamw {
            beta1,
            beta2,
            weight_decay,
            eps,
            ..
        } => AdamWConfig::new()
            .with_beta_1(*beta1 as f32)
            .with_beta_2(*beta2 as f32)
            .with_epsilon(*eps as f32)
            .with_weight_decay(*weight_decay as f32)
            .init(),
    }
}
