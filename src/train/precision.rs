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
    use crate::models::Stem;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn a_step_computes_in_its_format_and_differentiates_to_the_f32_master() {
        let device = Device::flex().autodiff();
        for arch in [
            crate::models::Architecture::ResNet18,
            crate::models::Architecture::Vit(crate::models::VitShape {
                patch_size: 4,
                layers: 1,
                heads: 2,
                image_size: 16,
            }),
        ] {
            let network = NetworkConfig {
                arch,
                width: 8,
                stem: Stem::Small,
                num_classes: 3,
            }
            .init(&device, 2);
            let images = Tensor::<4>::from_data(
                TensorData::new(
                    (0..4 * 3 * 16 * 16)
                        .map(|i| (i * 37 % 11) as f32 / 11.0)
                        .collect::<Vec<_>>(),
                    [4, 3, 16, 16],
                ),
                &device,
            );
            // Per-logit weights: with batch norm, a plain sum of the logits has zero gradient
            // before the last norm (it subtracts the mean), leaving only rounding noise.
            let weights = Tensor::<2>::from_data(
                TensorData::new(
                    (0..4 * 3)
                        .map(|i| ((i * 5 % 7) as f32 - 3.0) / 3.0)
                        .collect::<Vec<_>>(),
                    [4, 3],
                ),
                &device,
            );
            // Gradients of the weighted logits at the master weights, computed in `dtype`.
            let gradients = |dtype| {
                let logits = cast_for_step(network.clone(), dtype)
                    .forward(images.clone().cast(dtype))
                    .cast(FloatDType::F32);
                let loss = (logits * weights.clone()).sum();
                let grads = GradientsParams::from_grads(loss.backward(), &network);
                let mut read = GradValues {
                    grads: &grads,
                    values: Vec::new(),
                    dtypes: Vec::new(),
                };
                network.visit(&mut read);
                (read.values, read.dtypes)
            };
            let (full, _) = gradients(FloatDType::F32);
            let relative = |dtype| {
                let (other, dtypes) = gradients(dtype);
                assert!(dtypes.iter().all(|d| *d == burn::tensor::DType::F32));
                let norm = |v: &mut dyn Iterator<Item = f32>| v.map(|x| x * x).sum::<f32>().sqrt();
                norm(&mut full.iter().zip(&other).map(|(a, b)| a - b))
                    / norm(&mut full.iter().copied())
            };
            // Through the same casts, f64 must agree with f32 to f32's rounding (amplified
            // ~100x by a random network's train-mode batch norms, and up to ~1e-2 when a busy
            // machine's thread pool changes the reductions' order): a buffer read in the wrong
            // format would be far off, and bf16 is ~30% off.
            let (wide, bf16) = (relative(FloatDType::F64), relative(FloatDType::BF16));
            println!(
                "{}: relative gradient change f64 {wide:.1e}, bf16 {bf16:.1e}",
                arch.name()
            );
            assert!(wide < 3e-2, "{}: f64 off by {wide}", arch.name());
            // bf16 (8 significant bits) must show. Its effect grows through the batch norms
            // of a random ResNet (f16 ~15%, bf16 ~30% at the first layers); without them it
            // stays small.
            assert!(bf16 > 0.0, "{}: bf16 computed like f32", arch.name());
            if arch.is_transformer() {
                assert!(bf16 < 0.05, "{}: bf16 off by {bf16}", arch.name());
            }
        }
    }

    struct GradValues<'a> {
        grads: &'a GradientsParams,
        values: Vec<f32>,
        dtypes: Vec<burn::tensor::DType>,
    }

    impl ModuleVisitor for GradValues<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = self.grads.get::<D>(param.id) {
                self.dtypes.push(grad.dtype());
                self.values.extend(
                    grad.into_data()
                        .convert::<f32>()
                        .try_into_vec::<f32>()
                        .unwrap(),
                );
            }
        }
    }

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
