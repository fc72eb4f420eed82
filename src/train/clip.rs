//! Gradient clipping by the global L2 norm over all parameters, as torch's
//! `clip_grad_norm_(model.parameters(), max_norm)` (Burn's own clipping works per tensor).
//! Gradients of pruned weights are left out of the norm: under torch.nn.utils.prune a pruned
//! weight's gradient is zero, since the weight is `orig * mask`.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

use crate::models::Network;
use crate::models::params::PathTracker;
use crate::prune::DeviceMasks;

/// Scales every gradient by `max_norm / (norm + 1e-6)` when the global norm exceeds
/// `max_norm`, and returns the norm before clipping.
pub fn clip_global_norm(
    network: &Network,
    grads: &mut GradientsParams,
    masks: &DeviceMasks,
    max_norm: f64,
) -> f64 {
    let mut squares = SquaredNorm {
        grads,
        masks,
        tracker: PathTracker::default(),
        total: None,
    };
    network.visit(&mut squares);
    let Some(total) = squares.total else {
        return 0.0;
    };
    let norm = total.into_scalar::<f64>().sqrt();
    // torch: clip_coef = max_norm / (total_norm + 1e-6), applied when below 1.
    let coefficient = max_norm / (norm + 1e-6);
    if coefficient < 1.0 {
        scale_gradients(network, grads, coefficient);
    }
    norm
}

struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    masks: &'a DeviceMasks,
    tracker: PathTracker,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.tracker.enter(name, container_type);
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.tracker.exit();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(grad) = self.grads.get::<D>(param.id) else {
            return;
        };
        let grad = match self.masks.get(&self.tracker.path()) {
            Some(mask) => grad.clone() * mask.clone().inner().reshape(grad.shape()),
            None => grad,
        };
        let square = grad.powi_scalar(2).sum();
        self.total = Some(match self.total.take() {
            Some(total) => total + square,
            None => square,
        });
    }
}

/// Multiplies every gradient by `factor`.
pub fn scale_gradients(network: &Network, grads: &mut GradientsParams, factor: f64) {
    network.visit(&mut Scale { grads, factor });
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f64,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, grad.mul_scalar(self.factor));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::NetworkConfig;
    use crate::models::Stem;
    use crate::prune::{Mask, Masks};
    use burn::tensor::{Device, TensorData};

    /// A tiny network's gradients for one batch.
    fn setup() -> (Network, GradientsParams) {
        let device = Device::flex().autodiff();
        let config = NetworkConfig {
            arch: crate::models::Architecture::ResNet18,
            width: 2,
            stem: Stem::Small,
            num_classes: 3,
        };
        let network = config.init(&device, 1);
        let images = Tensor::<4>::from_data(
            TensorData::new(
                (0..2 * 3 * 8 * 8)
                    .map(|i| (i % 13) as f32 / 13.0)
                    .collect::<Vec<_>>(),
                [2, 3, 8, 8],
            ),
            &device,
        );
        let loss = network.forward(images).powi_scalar(2).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &network);
        (network, grads)
    }

    /// The id of `conv1.weight`, found by path (any architecture).
    struct FindConv1 {
        tracker: PathTracker,
        id: Option<burn::module::ParamId>,
    }

    impl ModuleVisitor for FindConv1 {
        fn enter_module(&mut self, name: &str, container_type: &str) {
            self.tracker.enter(name, container_type);
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.tracker.exit();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if self.tracker.path() == "conv1.weight" {
                self.id = Some(param.id);
            }
        }
    }

    fn conv1_grad(network: &Network, grads: &GradientsParams) -> Vec<f32> {
        let mut find = FindConv1 {
            tracker: PathTracker::default(),
            id: None,
        };
        network.visit(&mut find);
        grads
            .get::<4>(find.id.unwrap())
            .unwrap()
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()
    }

    #[test]
    fn clips_the_global_norm_and_only_when_above() {
        let none = Masks::default().to_device(&Device::flex().autodiff());
        let (network, mut grads) = setup();
        let norm = clip_global_norm(&network, &mut grads, &none, f64::INFINITY);
        assert!(norm > 0.0);
        // Above the norm: nothing changes.
        let before = conv1_grad(&network, &grads);
        assert_eq!(
            clip_global_norm(&network, &mut grads, &none, norm * 2.0),
            norm
        );
        assert_eq!(conv1_grad(&network, &grads), before);
        // Below: every gradient scaled alike, to the requested norm.
        clip_global_norm(&network, &mut grads, &none, norm / 4.0);
        let after = conv1_grad(&network, &grads);
        let ratio = after[0] as f64 / before[0] as f64;
        assert!((ratio - 0.25).abs() < 1e-4, "{ratio}");
        let clipped = clip_global_norm(&network, &mut grads, &none, f64::INFINITY);
        assert!(
            (clipped - norm / 4.0).abs() < 1e-4 * norm,
            "{clipped} vs {}",
            norm / 4.0
        );
    }

    #[test]
    fn pruned_weights_do_not_count() {
        let (network, mut grads) = setup();
        let none = Masks::default().to_device(&Device::flex().autodiff());
        let full = clip_global_norm(&network, &mut grads, &none, f64::INFINITY);
        let conv1 = conv1_grad(&network, &grads);
        let keep: Vec<bool> = (0..conv1.len()).map(|i| i % 2 == 0).collect();
        let removed: f64 = conv1
            .iter()
            .zip(&keep)
            .filter(|(_, k)| !**k)
            .map(|(g, _)| (*g as f64).powi(2))
            .sum();
        assert!(removed > 0.0);
        let mut masks = Masks::default();
        masks.tensors.insert(
            "conv1.weight".into(),
            Mask {
                shape: vec![2, 3, 3, 3],
                keep,
            },
        );
        let masked = clip_global_norm(
            &network,
            &mut grads,
            &masks.to_device(&Device::flex().autodiff()),
            f64::INFINITY,
        );
        let expected = (full * full - removed).sqrt();
        assert!(
            (masked - expected).abs() < 1e-4 * full,
            "{masked} vs {expected}"
        );
    }
}
