use burn::nn::{Linear, LinearConfig};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Tensor};

use super::kernel::{FusedStepBackend, SgdUpdate};
use super::{FusedAdamW, FusedSgd};
use crate::backend::DeviceChoice;
use crate::models::test_support::{normal, values};
use burn::backend::Dispatch;

const STEPS: usize = 4;

fn layer(device: &Device) -> Linear {
    let layer = LinearConfig::new(40, 30).init(device);
    // Weights of both signs and a few orders of magnitude, from the test's own generator.
    Linear {
        weight: layer
            .weight
            .map(|_| normal([40, 30], 1, device).require_grad()),
        bias: layer
            .bias
            .map(|bias| bias.map(|_| normal([30], 2, device).mul_scalar(0.1).require_grad())),
    }
}

/// The layer after `STEPS` steps of `optimizer` on a loss whose gradients change each step,
/// with a learning rate that changes too (as a schedule's does).
fn train(mut optimizer: ModuleOptimizer) -> Linear {
    let device = DeviceChoice::Cpu.autodiff_device();
    let mut layer = layer(&device);
    for step in 0..STEPS {
        let input = normal([8, 40], 10 + step as u64, &device);
        let target = normal([8, 30], 20 + step as u64, &device);
        let loss = (layer.forward(input) - target).powi_scalar(2).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &layer);
        layer = optimizer.step(0.05 / (step + 1) as f64, layer, grads);
    }
    layer
}

/// Bit for bit: the fused updates do Burn's float operations in Burn's order, so a model
/// trained before them keeps its cache key.
fn assert_same(actual: Tensor<2>, expected: Tensor<2>, what: &str) {
    assert_eq!(values(actual), values(expected), "{what}");
}

fn assert_same_layer(actual: Linear, expected: Linear) {
    assert_same(actual.weight.val(), expected.weight.val(), "weight");
    assert_same(
        actual.bias.unwrap().val().unsqueeze(),
        expected.bias.unwrap().val().unsqueeze(),
        "bias",
    );
}

#[test]
fn adamw_matches_burns_adamw() {
    let burns = AdamWConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.99)
        .with_epsilon(1e-8)
        .with_weight_decay(0.05)
        .init();
    let fused = ModuleOptimizer::from(FusedAdamW::new(0.9, 0.99, 1e-8, 0.05));
    assert_same_layer(train(fused), train(burns));
}

#[test]
fn sgd_matches_burns_sgd_without_dampening() {
    for nesterov in [false, true] {
        let burns = SgdConfig::new()
            .with_momentum(Some(MomentumConfig {
                momentum: 0.9,
                dampening: 0.0,
                nesterov,
            }))
            .with_weight_decay(Some(WeightDecayConfig { penalty: 5e-3 }))
            .init();
        let fused = ModuleOptimizer::from(FusedSgd::new(0.9, 5e-3, nesterov));
        assert_same_layer(train(fused), train(burns));
    }
}

#[test]
fn sgds_composed_update_is_the_fused_one() {
    let device = DeviceChoice::Cpu.device();
    let optimizer = FusedSgd::new(0.9, 5e-3, true);
    let (param, grad, velocity) = (
        normal([64, 33], 3, &device),
        normal([64, 33], 4, &device),
        normal([64, 33], 5, &device),
    );
    let (composed_param, composed_velocity) =
        optimizer.composed(0.1, param.clone(), grad.clone(), velocity.clone());
    let (fused_param, fused_velocity) = <Dispatch as FusedStepBackend>::sgd_step(
        param.into_dispatch(),
        grad.into_dispatch(),
        velocity.into_dispatch(),
        SgdUpdate {
            momentum: 0.9,
            weight_decay: 5e-3,
            nesterov: true,
            lr: 0.1,
        },
    );
    assert_same(Tensor::from_dispatch(fused_param), composed_param, "param");
    assert_same(
        Tensor::from_dispatch(fused_velocity),
        composed_velocity,
        "velocity",
    );
}

/// The update writes into the buffers it is given only when nothing else holds them: a tensor
/// sharing the parameter keeps its values, and a strided view is read as its values.
#[test]
fn shared_and_strided_inputs_are_left_intact() {
    let device = DeviceChoice::Cpu.device();
    let param = normal([48, 40], 6, &device);
    let kept = param.clone();
    let kept_values = values(kept.clone());
    let grad = normal([40, 48], 7, &device);
    let update = |grad: Tensor<2>| {
        let (param, velocity) = <Dispatch as FusedStepBackend>::sgd_step(
            param.clone().into_dispatch(),
            grad.into_dispatch(),
            param.zeros_like().into_dispatch(),
            SgdUpdate {
                momentum: 0.9,
                weight_decay: 0.0,
                nesterov: false,
                lr: 0.5,
            },
        );
        (
            Tensor::<2>::from_dispatch(param),
            Tensor::<2>::from_dispatch(velocity),
        )
    };
    let (strided, strided_velocity) = update(grad.clone().transpose());
    let (contiguous, _) = update(Tensor::from_data(grad.transpose().into_data(), &device));
    assert_eq!(values(kept), kept_values, "a shared parameter changed");
    assert_eq!(values(strided.clone()), values(contiguous));
    // p - 0.5 g from a zero velocity: the step moved the parameter.
    assert_ne!(values(strided), kept_values);
    assert_ne!(values(strided_velocity), vec![0.0; 48 * 40]);
}

/// A checkpoint of the fused optimizers' states resumes exactly where training stopped.
#[test]
fn states_survive_a_checkpoint() {
    let device = DeviceChoice::Cpu.autodiff_device();
    let optimizers: [fn() -> ModuleOptimizer; 2] = [
        || ModuleOptimizer::from(FusedAdamW::new(0.9, 0.999, 1e-8, 0.05)),
        || ModuleOptimizer::from(FusedSgd::new(0.9, 5e-4, false)),
    ];
    for build in optimizers {
        let mut layer = layer(&device);
        let grads = |layer: &Linear, seed: u64| {
            let loss = layer.forward(normal([4, 40], seed, &device)).sum();
            GradientsParams::from_grads(loss.backward(), layer)
        };
        let mut original = build();
        for seed in [30, 31] {
            let g = grads(&layer, seed);
            layer = original.step(0.01, layer, g);
        }
        let mut restored = build()
            .from_bytes(original.clone().into_bytes().expect("state saves"))
            .expect("state loads");
        let expected = original.step(0.01, layer.clone(), grads(&layer, 32));
        let actual = restored.step(0.01, layer.clone(), grads(&layer, 32));
        assert_eq!(
            values(actual.weight.val()),
            values(expected.weight.val()),
            "a resumed step differs"
        );
        assert_ne!(values(expected.weight.val()), values(layer.weight.val()));
    }
}
