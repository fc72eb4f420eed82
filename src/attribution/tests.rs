//! Tests of the gradient methods against properties that fail when the method is wrong.

use burn::tensor::{Device, Tensor, TensorData};

use super::baseline::Baseline;
use super::gradcam::{gradcam, layer_gradcam};
use super::guided::{guided_backprop, guided_gradcam};
use super::integrated_gradients::{IgConfig, NoiseTunnel, integrated_gradients};
use super::quadrature::Quadrature;
use super::resize::resize_nearest;
use super::tensors::{HostImages, attribution_network, images_tensor, to_host};
use crate::data::rng::Rng;
use crate::models::Stem;
use crate::models::{Architecture, Network, NetworkConfig, ReluMode};

fn tiny_network(seed: u64) -> (Network, Device) {
    let device = Device::flex().autodiff();
    let config = NetworkConfig {
        arch: Architecture::ResNet18,
        width: 4,
        stem: Stem::Small,
        num_classes: 5,
    };
    (
        attribution_network(config.init(&device, seed), &device),
        device,
    )
}

/// Standard normal images from their own generator: the device's seed is shared by the tests
/// that run at once, so images drawn from it depend on which ran first.
fn random_images(count: usize, size: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..count * 3 * size * size).map(|_| rng.normal()).collect()
}

#[test]
fn attribution_network_uses_running_statistics() {
    // In training mode batch norm would normalise with the batch's statistics: logits of one
    // image would then depend on the rest of the batch.
    let (network, device) = tiny_network(1);
    // Weights are constants: a backward pass computes no gradient for them.
    let Network::ResNet(net) = &network else {
        unreachable!("tiny_network builds a ResNet")
    };
    assert!(!net.fc.weight.is_require_grad() && !net.conv1.weight.is_require_grad());
    let data = random_images(4, 16, 2);
    let all = to_host(network.forward(images_tensor(&data, 4, 16, 16, &device))).unwrap();
    let first = to_host(network.forward(images_tensor(&data[..768], 1, 16, 16, &device))).unwrap();
    for (a, b) in all[..5].iter().zip(&first) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn gradcam_on_global_average_pooling_and_linear_is_the_class_activation_map() {
    // A ResNet ends in GAP + linear: d logit_c / d A_k(i, j) = W[k, c] / (h w), so GradCAM's
    // channel weights are W[k, c] / (h w) and its map is ReLU(CAM_c) / (h w).
    let (network, device) = tiny_network(3);
    let Network::ResNet(net) = &network else {
        unreachable!("tiny_network builds a ResNet")
    };
    let data = random_images(3, 16, 4);
    let targets = [0, 3, 4];
    let cams = layer_gradcam(&network, images_tensor(&data, 3, 16, 16, &device), &targets)
        .unwrap()
        .maps;
    let activations = to_host(net.features(images_tensor(&data, 3, 16, 16, &device))).unwrap();
    let weight = to_host(net.fc.weight.val()).unwrap(); // [features, classes]
    let (channels, classes) = (32, 5);
    let plane = cams.height * cams.width;
    assert_eq!((cams.height, cams.width), (2, 2));
    let mut nonzero = 0;
    for (image, &target) in targets.iter().enumerate() {
        for pixel in 0..plane {
            let cam: f32 = (0..channels)
                .map(|k| {
                    weight[k * classes + target]
                        * activations[(image * channels + k) * plane + pixel]
                })
                .sum();
            let got = cams.image(image)[pixel] * plane as f32;
            assert!(
                (got - cam.max(0.0)).abs() < 1e-4 * (1.0 + cam.abs()),
                "{got} vs {cam}"
            );
            nonzero += usize::from(got > 0.0);
        }
    }
    assert!(
        nonzero > 0,
        "every map is zero: the test would prove nothing"
    );
    // The presented map: min-max scaled into [0, 1], resized to the input.
    let maps = gradcam(&network, images_tensor(&data, 3, 16, 16, &device), &targets).unwrap();
    assert_eq!(
        (maps.count, maps.channels, maps.height, maps.width),
        (3, 1, 16, 16)
    );
    assert!(maps.data.iter().all(|v| (0.0..=1.0).contains(v)));
}

/// A two-layer ReLU network with hand-picked weights: `logits = W2 relu(W1 x)`.
fn two_layer(x: Tensor<2>, relu: ReluMode, device: &Device) -> Tensor<2> {
    let w1 = Tensor::<2>::from_data(
        TensorData::new(
            vec![1.0f32, -1.0, 0.5, 2.0, 1.0, -1.0, -1.0, 0.0, 1.0],
            [3, 3],
        ),
        device,
    );
    let w2 = Tensor::<2>::from_data(
        TensorData::new(vec![1.0f32, 2.0, -3.0, 1.0, 1.0, 1.0], [3, 2]),
        device,
    );
    relu.apply(x.matmul(w1)).matmul(w2)
}

#[test]
fn guided_backprop_on_a_hand_built_relu_network_matches_hand_computed_values() {
    // x = (1, 2, 3). Hidden pre-activations h = x W1 = (1*1 + 2*2 - 3, -1 + 2 + 0, 0.5 - 2 + 3)
    // = (2, 1, 1.5): all positive. The gradient of logit 0 at the hidden layer is W2[:, 0] =
    // (1, -3, 1): the plain gradient keeps the -3, the guided one drops it. Input gradients:
    // plain   = W1 (1, -3, 1)^T = (1 + 3 + 0.5, 2 - 3 - 1, -1 + 0 + 1)     = (4.5, -2, 0)
    // guided  = W1 (1,  0, 1)^T = (1 + 0.5,     2 - 1,     -1 + 1)         = (1.5, 1, 0)
    let device = Device::flex().autodiff();
    let grad = |mode| {
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0], [1, 3]), &device)
            .require_grad();
        let logits = two_layer(x.clone(), mode, &device);
        let grads = logits.slice([0..1, 0..1]).sum().backward();
        to_host(x.grad(&grads).unwrap()).unwrap()
    };
    assert_eq!(grad(ReluMode::Standard), vec![4.5, -2.0, 0.0]);
    assert_eq!(grad(ReluMode::Guided), vec![1.5, 1.0, 0.0]);
}

#[test]
fn guided_backprop_keeps_the_forward_pass_and_changes_only_the_gradient() {
    let (network, device) = tiny_network(5);
    let data = random_images(2, 16, 6);
    let plain = to_host(network.forward(images_tensor(&data, 2, 16, 16, &device))).unwrap();
    let guided = to_host(
        network
            .forward_guided(images_tensor(&data, 2, 16, 16, &device))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(plain, guided);
    let targets = [1, 2];
    let maps =
        guided_backprop(&network, images_tensor(&data, 2, 16, 16, &device), &targets).unwrap();
    assert_eq!(
        (maps.count, maps.channels, maps.height, maps.width),
        (2, 3, 16, 16)
    );
    assert!(maps.data.iter().any(|v| *v != 0.0));
    // Guided GradCAM is exactly Guided Backprop times the nearest-upsampled layer GradCAM.
    let combined =
        guided_gradcam(&network, images_tensor(&data, 2, 16, 16, &device), &targets).unwrap();
    let cams = layer_gradcam(&network, images_tensor(&data, 2, 16, 16, &device), &targets)
        .unwrap()
        .maps;
    for image in 0..2 {
        let cam = resize_nearest(cams.image(image), cams.height, cams.width, 16, 16);
        for channel in 0..3 {
            for (pixel, c) in cam.iter().enumerate() {
                let expected = maps.image(image)[channel * 256 + pixel] * c;
                assert_eq!(combined.image(image)[channel * 256 + pixel], expected);
            }
        }
    }
}

fn ig_config(steps: usize, quadrature: Quadrature) -> IgConfig {
    IgConfig {
        steps,
        quadrature,
        baseline: Baseline::Zeros,
        internal_batch: 64,
        noise: None,
    }
}

#[test]
fn integrated_gradients_are_complete_at_64_steps() {
    let (network, device) = tiny_network(7);
    let data = random_images(3, 16, 8);
    let images = HostImages {
        data: &data,
        count: 3,
        height: 16,
        width: 16,
    };
    let out = integrated_gradients(
        &network,
        images,
        &[0, 1, 2],
        &[0, 1, 2],
        0,
        &ig_config(64, Quadrature::GaussLegendre),
        &device,
    )
    .unwrap();
    for c in &out.completeness {
        assert!(
            (c.f_input - c.f_baseline).abs() > 1e-3,
            "{c:?}: degenerate case"
        );
        assert!(c.relative_gap() < 0.01, "{c:?}: gap {}", c.relative_gap());
    }
    // The attributions themselves add up to the recorded sum.
    let first: f64 = out.maps.image(0).iter().map(|&v| v as f64).sum();
    assert!((first - out.completeness[0].attribution_sum).abs() < 1e-3);
}

#[test]
fn integrated_gradients_do_not_depend_on_batching_and_the_gap_shrinks_with_steps() {
    let (network, device) = tiny_network(9);
    let data = random_images(2, 16, 10);
    let images = HostImages {
        data: &data,
        count: 2,
        height: 16,
        width: 16,
    };
    let run = |config: &IgConfig| {
        integrated_gradients(&network, images, &[3, 4], &[10, 11], 5, config, &device).unwrap()
    };
    let mut small_batches = ig_config(16, Quadrature::RiemannMiddle);
    small_batches.internal_batch = 5;
    let a = run(&ig_config(16, Quadrature::RiemannMiddle));
    let b = run(&small_batches);
    for (x, y) in a.maps.data.iter().zip(&b.maps.data) {
        assert!((x - y).abs() <= 1e-5 * (1.0 + x.abs()), "{x} vs {y}");
    }
    let coarse = run(&ig_config(2, Quadrature::RiemannLeft));
    let fine = run(&ig_config(64, Quadrature::RiemannLeft));
    let gap = |o: &super::integrated_gradients::IgOutput| {
        o.completeness.iter().map(|c| c.relative_gap()).sum::<f64>()
    };
    assert!(
        gap(&fine) < gap(&coarse),
        "{} vs {}",
        gap(&fine),
        gap(&coarse)
    );
}

#[test]
fn noise_tunnel_is_deterministic_and_differs_from_plain_ig() {
    let (network, device) = tiny_network(11);
    let data = random_images(2, 16, 12);
    let images = HostImages {
        data: &data,
        count: 2,
        height: 16,
        width: 16,
    };
    let mut config = ig_config(8, Quadrature::GaussLegendre);
    let plain =
        integrated_gradients(&network, images, &[0, 1], &[0, 1], 3, &config, &device).unwrap();
    config.noise = Some(NoiseTunnel {
        samples: 2,
        sigma: 1.0,
    });
    let run = |keys: &[u64]| {
        integrated_gradients(&network, images, &[0, 1], keys, 3, &config, &device).unwrap()
    };
    let first = run(&[0, 1]);
    assert_eq!(first.maps, run(&[0, 1]).maps);
    assert_ne!(first.maps, plain.maps);
    // The noise follows the image's key, not its position in the batch.
    assert_ne!(first.maps, run(&[5, 6]).maps);
}
