//! AdamW ([`burn::optim::AdamW`]'s update and state), fused on `flex`.

use burn::optim::{AdamW, AdamWConfig, AdamWState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::tensor::{DType, Device, Tensor};

use super::kernel::{AdamWUpdate, FusedStepBackend};
use crate::models::flex_host::is_flex;
use burn::backend::Dispatch;

/// AdamW without AMSGrad or cautious weight decay, as `torch.optim.AdamW` by default.
#[derive(Clone)]
pub struct FusedAdamW {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    weight_decay: f32,
    /// Burn's own, for other devices and dtypes; it shares the state type.
    composed: AdamW,
}

impl FusedAdamW {
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32, weight_decay: f32) -> Self {
        let composed = AdamWConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .with_weight_decay(weight_decay)
            .build();
        Self {
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
            composed,
        }
    }

    /// The step's scalars at step `time` (1 for the first), computed as Burn computes them.
    fn update(&self, lr: LearningRate, time: usize) -> AdamWUpdate {
        let time = time as i32;
        AdamWUpdate {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            factor_1: 1.0 - self.beta_1,
            factor_2: 1.0 - self.beta_2,
            bias_correction_1: 1.0 - self.beta_1.powi(time),
            bias_correction_2: 1.0 - self.beta_2.powi(time),
            epsilon: self.epsilon,
            decay: (1.0 - lr * self.weight_decay as f64) as f32,
            lr: lr as f32,
        }
    }
}

impl Optimizer for FusedAdamW {
    type State<const D: usize> = AdamWState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let fused = is_flex(&tensor.device())
            && [&tensor, &grad].iter().all(|t| t.dtype() == DType::F32)
            && state.as_ref().is_none_or(|s| {
                s.momentum.max_moment_2.is_none()
                    && [&s.momentum.moment_1, &s.momentum.moment_2]
                        .iter()
                        .all(|t| t.dtype() == DType::F32)
            });
        if !fused {
            return self.composed.step(lr, tensor, grad, state);
        }
        // A first step starts from zero moments: `0 * beta + g * (1 - beta)` is Burn's
        // `g * (1 - beta)` exactly.
        let (time, moment_1, moment_2) = match state {
            Some(AdamWState { momentum }) => (momentum.time, momentum.moment_1, momentum.moment_2),
            None => (0, tensor.zeros_like(), tensor.zeros_like()),
        };
        let time = time + 1;
        let (tensor, moment_1, moment_2) = <Dispatch as FusedStepBackend>::adamw_step(
            tensor.into_dispatch(),
            grad.into_dispatch(),
            moment_1.into_dispatch(),
            moment_2.into_dispatch(),
            self.update(lr, time),
        );
        let momentum = AdaptiveMomentumState {
            time,
            moment_1: Tensor::from_dispatch(moment_1),
            moment_2: Tensor::from_dispatch(moment_2),
            max_moment_2: None,
        };
        (Tensor::from_dispatch(tensor), Some(AdamWState { momentum }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamW::to_device(state, device)
    }
}
