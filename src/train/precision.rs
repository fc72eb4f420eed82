//! Mixed-precision training steps in the manner of torch's autocast: the master weights, the
//! gradients the optimizer sees and the optimizer state stay f32; each step computes with a
//! low-precision view of the weights, and batch norm computes in f32 (as cuDNN does under
//! autocast). Pruned weights are zero in the master, and a cast zero is zero, so masks hold
//! exactly in every precision.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{FloatDType, Tensor};

use super::clip::scale_gradients;
use crate::models::Network;
use crate::spec::Precision;

/// The float format a step computes in.
pub fn step_dtype(precision: Precision) -> FloatDType {
    match precision {
        Precision::F32 => FloatDType::F32,
        Precision::Bf16 => FloatDType::BF16,
        Precision::F16 => FloatDType::F16,
    }
}

/// The network a step computes with: every trainable parameter outside batch norm cast to
/// `dtype`. The casts are differentiable, so gradients reach the f32 master parameters
/// (and arrive there in f32).
pub fn cast_for_step(network: Network, dtype: FloatDType) -> Network {
    if dtype == FloatDType::F32 {
        return network;
    }
    network.map(&mut CastTrainable {
        dtype,
        batch_norm_depth: 0,
    })
}

struct CastTrainable {
    dtype: FloatDType,
    /// Non-zero inside a batch-norm module, whose parameters and statistics stay f32.
    batch_norm_depth: usize,
}

impl ModuleMapper for CastTrainable {
    fn enter_module(&mut self, _name: &str, container_type: &str) {
        if self.batch_norm_depth > 0 || container_type.ends_with("BatchNorm") {
            self.batch_norm_depth += 1;
        }
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.batch_norm_depth = self.batch_norm_depth.saturating_sub(1);
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.batch_norm_depth > 0 || !param.val().is_require_grad() {
            return param;
        }
        let dtype = self.dtype;
        param.map(|tensor| tensor.cast(dtype))
    }
}

/// Dynamic loss scaling for f16 (torch's `GradScaler` defaults): the loss is multiplied by
/// `scale` before backward so small gradients survive f16; a step whose gradients overflow is
/// skipped and the scale halved; after `GROWTH_INTERVAL` good steps in a row it doubles.
#[derive(Debug, Clone, PartialEq)]
pub struct LossScale {
    pub scale: f32,
    good_steps: usize,
    enabled: bool,
}

const INITIAL_SCALE: f32 = 65536.0;
const GROWTH_INTERVAL: usize = 2000;

impl LossScale {
    pub fn new(precision: Precision) -> Self {
        let enabled = precision == Precision::F16;
        Self {
            scale: if enabled { INITIAL_SCALE } else { 1.0 },
            good_steps: 0,
            enabled,
        }
    }

    /// Divides the summed gradients by the scale; `false` when they overflowed and the step
    /// must be skipped (the scale is then halved).
    pub fn unscale(&mut self, network: &Network, grads: &mut GradientsParams) -> bool {
        if !self.enabled {
            return true;
        }
        if !gradients_are_finite(network, grads) {
            self.scale = (self.scale / 2.0).max(1.0);
            self.good_steps = 0;
            return false;
        }
        scale_gradients(network, grads, 1.0 / self.scale as f64);
        self.good_steps += 1;
        if self.good_steps == GROWTH_INTERVAL {
            self.scale *= 2.0;
            self.good_steps = 0;
        }
        true
    }
}

/// Whether no gradient holds an infinity or NaN: one reduction per tensor, one read-back.
pub fn gradients_are_finite(network: &Network, grads: &GradientsParams) -> bool {
    let mut total = AbsoluteSum { grads, total: None };
    network.visit(&mut total);
    total
        .total
        .is_none_or(|sum| sum.into_scalar::<f32>().is_finite())
}

struct AbsoluteSum<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for AbsoluteSum<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(grad) = self.grads.get::<D>(param.id) else {
            return;
        };
        let sum = grad.cast(FloatDType::F32).abs().sum();
        self.total = Some(match self.total.take() {
            Some(total) => total + sum,
            None => sum,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::NetworkConfig;
    use crate::spec::Stem;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn overflowing_steps_are_skipped_and_halve_the_scale() {
        let device = Device::flex().autodiff();
        let network = NetworkConfig {
            arch: crate::models::Architecture::ResNet18,
            width: 2,
            stem: Stem::Small,
            num_classes: 3,
        }
        .init(&device, 1);
        let images = Tensor::<4>::from_data(
            TensorData::new(vec![0.5f32; 2 * 3 * 8 * 8], [2, 3, 8, 8]),
            &device,
        );
        let grads = |factor: f32| {
            let loss = network.forward(images.clone()).sum() * factor;
            GradientsParams::from_grads(loss.backward(), &network)
        };
        let mut scale = LossScale::new(Precision::F16);
        let mut finite = grads(1.0);
        assert!(scale.unscale(&network, &mut finite));
        assert_eq!(scale.scale, INITIAL_SCALE);
        let mut overflowed = grads(f32::INFINITY);
        assert!(!scale.unscale(&network, &mut overflowed));
        assert_eq!(scale.scale, INITIAL_SCALE / 2.0);
        // Off for f32/bf16: nothing is scaled or checked.
        let mut plain = LossScale::new(Precision::Bf16);
        assert!(plain.unscale(&network, &mut grads(f32::INFINITY)));
        assert_eq!(plain.scale, 1.0);
    }
}
