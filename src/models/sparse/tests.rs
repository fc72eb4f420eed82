use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::module::conv2d as dense_conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor, TensorData};

use super::*;
use crate::models::{Architecture, NetworkConfig, PatchOptions, Stem};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// Max |a - b| over max |b|: the relative error of a whole output.
fn relative_error(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-30);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// Pseudo-random values with about `zeros` of them exactly zero.
fn sparse_values(len: usize, zeros: f32, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let h =
                (i as u32 ^ seed).wrapping_mul(2654435761).rotate_left(13) as f32 / u32::MAX as f32;
            if h < zeros {
                0.0
            } else {
                (i as f32 * 0.731 + seed as f32).sin()
            }
        })
        .collect()
}

#[test]
fn sparse_conv_equals_the_dense_convolution_for_every_geometry() {
    let device = Device::flex();
    // (in, out, kernel, stride, padding, dilation, input size): odd sizes, so output positions
    // are no multiple of the column chunk.
    let cases = [
        (3, 8, 3, 1, 1, 1, 13),
        (6, 10, 3, 2, 1, 1, 15),
        (5, 7, 1, 2, 0, 1, 9),
        (4, 9, 3, 1, 2, 2, 11),
        (3, 5, 7, 2, 3, 1, 19),
    ];
    for (case, &(cin, cout, k, s, p, d, size)) in cases.iter().enumerate() {
        let weights = sparse_values(cout * cin * k * k, 0.8, case as u32);
        let bias: Vec<f32> = (0..cout).map(|i| i as f32 * 0.1 - 0.3).collect();
        let x = Tensor::<4>::random(
            [2, cin, size, size + 2],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let w =
            Tensor::<4>::from_data(TensorData::new(weights.clone(), [cout, cin, k, k]), &device);
        let b = Tensor::<1>::from_data(TensorData::new(bias.clone(), [cout]), &device);
        let dense = dense_conv2d(
            x.clone(),
            w,
            Some(b),
            ConvOptions::new([s, s], [p, p], [d, d], 1),
        );
        let geometry = ConvGeometry {
            kernel: [k, k],
            stride: [s, s],
            padding: [p, p],
            dilation: [d, d],
        };
        let csr = Csr::from_dense(&weights, cout, cin * k * k);
        let (out, shape) = conv::conv2d(&values(x.clone()), x.dims(), &csr, Some(&bias), geometry);
        assert_eq!(shape, dense.dims(), "case {case}");
        let err = relative_error(&out, &values(dense));
        assert!(err < 1e-5, "case {case}: relative error {err}");
    }
}

#[test]
fn sparse_linear_equals_the_dense_product() {
    let (rows, input, output) = (5, 37, 11);
    let w = sparse_values(output * input, 0.9, 7);
    let x = sparse_values(rows * input, 0.0, 3);
    let bias: Vec<f32> = (0..output).map(|i| i as f32).collect();
    let got = conv::linear(&x, rows, &Csr::from_dense(&w, output, input), Some(&bias));
    let mut want = vec![0f32; rows * output];
    for r in 0..rows {
        for o in 0..output {
            want[r * output + o] = bias[o]
                + (0..input)
                    .map(|i| x[r * input + i] * w[o * input + i])
                    .sum::<f32>();
        }
    }
    assert!(relative_error(&got, &want) < 1e-5);
}

/// Zeroes the `share` smallest-magnitude weights of every float parameter of rank 2 or more
/// (a stand-in for magnitude pruning, which lives in a higher layer).
struct ZeroSmall {
    share: f64,
}

impl ModuleMapper for ZeroSmall {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if D < 2 {
            return param;
        }
        let share = self.share;
        param.map(|t| {
            let mut magnitudes: Vec<f32> = values(t.clone()).iter().map(|v| v.abs()).collect();
            magnitudes.sort_by(f32::total_cmp);
            let threshold =
                magnitudes[((magnitudes.len() as f64 * share) as usize).min(magnitudes.len() - 1)];
            let keep = t.clone().abs().greater_elem(threshold).float();
            t * keep
        })
    }
}

#[test]
fn a_pruned_resnet_runs_sparse_with_the_dense_outputs() {
    let device = Device::flex();
    let config = NetworkConfig {
        arch: Architecture::ResNet18,
        width: 8,
        stem: Stem::Small,
        num_classes: 10,
    };
    let dense_net = config.init(&device, 0);
    let images = Tensor::<4>::random([3, 3, 16, 16], Distribution::Normal(0.0, 1.0), &device);
    // Not pruned: inside a scope every layer stays dense, bit for bit.
    let plain = values(dense_net.forward(images.clone()));
    let scoped = with_sparse_inference(|| values(dense_net.forward(images.clone())));
    assert_eq!(plain, scoped);

    // Half pruned, every layer forced sparse: equal within rounding, logits and LOST features
    // (with the dilated last stage) alike.
    let pruned = dense_net.map(&mut ZeroSmall { share: 0.5 });
    let density = |net: &crate::models::Network| {
        let crate::models::Network::ResNet(r) = net else {
            unreachable!("a ResNet")
        };
        let crate::models::resnet::Block::Basic(block) = &r.layer3[0] else {
            unreachable!("ResNet-18 has basic blocks")
        };
        let w = values(block.conv1.weight.val());
        w.iter().filter(|v| **v != 0.0).count() as f64 / w.len() as f64
    };
    assert!(
        (density(&pruned) - 0.5).abs() < 0.01,
        "{}",
        density(&pruned)
    );
    let dense_logits = values(pruned.forward(images.clone()));
    let sparse_logits = with_sparse_inference_below(1.0, || values(pruned.forward(images.clone())));
    assert_ne!(
        dense_logits, sparse_logits,
        "the sparse path ran (rounding differs)"
    );
    assert!(relative_error(&sparse_logits, &dense_logits) < 1e-5);
    let options = PatchOptions {
        dilate_last_stage: true,
    };
    let dense_features = values(pruned.patch_features_with(images.clone(), options).features);
    let sparse_features = with_sparse_inference_below(1.0, || {
        values(pruned.patch_features_with(images.clone(), options).features)
    });
    assert!(relative_error(&sparse_features, &dense_features) < 1e-5);
}

#[test]
fn a_tracked_input_keeps_the_dense_path_and_its_gradient() {
    let device = Device::flex().autodiff();
    let net = NetworkConfig {
        arch: Architecture::ResNet18,
        width: 8,
        stem: Stem::Small,
        num_classes: 10,
    }
    .init(&device, 0)
    .map(&mut ZeroSmall { share: 0.5 })
    .no_grad();
    let images =
        Tensor::<4>::random([2, 3, 16, 16], Distribution::Normal(0.0, 1.0), &device).require_grad();
    let grads = with_sparse_inference_below(1.0, || net.forward(images.clone()).sum().backward());
    let grad = values(images.grad(&grads).expect("a gradient reaches the input"));
    let outside = net.forward(images.clone()).sum().backward();
    let want = values(images.grad(&outside).unwrap());
    assert!(want.iter().any(|v| *v != 0.0));
    assert_eq!(grad, want);
}
