//! SGD with momentum (PyTorch's: no dampening), fused on `flex`.

use burn::backend::Dispatch;
use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{DType, Device, Tensor};

use super::kernel::{FusedStepBackend, SgdUpdate};
use crate::models::flex_host::is_flex;

/// SGD with momentum, weight decay (added to the gradient) and optionally Nesterov's update.
#[derive(Clone, Debug)]
pub struct FusedSgd {
    momentum: f32,
    weight_decay: f32,
    nesterov: bool,
}

/// The momentum buffer of one parameter.
#[derive(Clone)]
pub struct SgdState<const D: usize> {
    pub velocity: Tensor<D>,
}

// By hand: Burn's `#[derive(RecordState)]` names paths of its own crate.
impl<const D: usize> RecordState for SgdState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_tensor(prefix, "velocity", self.velocity.to_data());
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let velocity = src.take_tensor(prefix, "velocity")?;
        Some(Self {
            velocity: Tensor::from_data(velocity, device),
        })
    }
}

impl FusedSgd {
    pub fn new(momentum: f32, weight_decay: f32, nesterov: bool) -> Self {
        Self {
            momentum,
            weight_decay,
            nesterov,
        }
    }
}

impl Optimizer for FusedSgd {
    type State<const D: usize> = SgdState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        // A first step starts from a zero velocity: `0 * momentum + g` is PyTorch's `g`.
        let velocity = state.map_or_else(|| tensor.zeros_like(), |s| s.velocity);
        let fused = is_flex(&tensor.device())
            && [&tensor, &grad, &velocity]
                .iter()
                .all(|t| t.dtype() == DType::F32);
        let (tensor, velocity) = if fused {
            let (tensor, velocity) = <Dispatch as FusedStepBackend>::sgd_step(
                tensor.into_dispatch(),
                grad.into_dispatch(),
                velocity.into_dispatch(),
                SgdUpdate {
                    momentum: self.momentum,
                    weight_decay: self.weight_decay,
                    nesterov: self.nesterov,
                    lr: lr as f32,
                },
            );
            (
                Tensor::from_dispatch(tensor),
                Tensor::from_dispatch(velocity),
            )
        } else {
            self.composed(lr, tensor, grad, velocity)
        };
        (tensor, Some(SgdState { velocity }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        SgdState {
            velocity: state.velocity.to_device(device),
        }
    }
}

impl FusedSgd {
    /// The same update from tensor operations, for other devices and dtypes.
    pub(super) fn composed<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        velocity: Tensor<D>,
    ) -> (Tensor<D>, Tensor<D>) {
        let grad = if self.weight_decay == 0.0 {
            grad
        } else {
            grad + tensor.clone().mul_scalar(self.weight_decay)
        };
        let velocity = velocity.mul_scalar(self.momentum) + grad.clone();
        let delta = if self.nesterov {
            grad + velocity.clone().mul_scalar(self.momentum)
        } else {
            velocity.clone()
        };
        (tensor - delta.mul_scalar(lr as f32), velocity)
    }
}
