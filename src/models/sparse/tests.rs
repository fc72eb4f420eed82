//! A pruned network on sparse kernels computes what it computes dense: single convolutions of
//! every geometry (forward and input gradient, against Burn's dense convolution), logits, input
//! gradients (plain and guided), dilated patch features; `off` is the dense path bit for bit; and
//! weights that train never run sparse.

use std::sync::Arc;

use burn::module::Module;
use burn::tensor::module::conv2d;

use crate::models::test_support::values;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor, TensorData};

use super::synthetic::{Thin, thin};
use super::{ConvParams, CsrConv, SparseConvCall, SparsePolicy, sparse_conv2d};
use crate::models::{Architecture, Network, NetworkConfig, PatchOptions, Stem};

fn pruned(arch: Architecture, stem: Stem, device: &Device) -> Network {
    NetworkConfig {
        arch,
        width: 8,
        stem,
        num_classes: 7,
    }
    .init(device, 3)
    .map(&mut Thin { density: 0.2 })
    .valid()
}

/// `max |a - b| <= 1e-5 * max |b|`.
fn assert_close<const D: usize>(a: Tensor<D>, b: Tensor<D>, what: &str) {
    let (a, b) = (values(a), values(b));
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{what}: all zero");
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(
        worst <= 1e-5 * scale,
        "{what}: off by {worst} at scale {scale}"
    );
}

fn images(device: &Device, size: usize) -> Tensor<4> {
    Tensor::random([2, 3, size, size], Distribution::Normal(0.0, 1.0), device)
}

/// One convolution through the backend extension against Burn's dense `conv2d`, forward and
/// input gradient, on odd sizes (no multiple of a register block), with whole output channels
/// and a whole input channel pruned; batch 2, and a batch of 5 images large enough to run in
/// several chunks (`tiling::images_per_chunk`: 3 and 2).
#[test]
fn sparse_conv_equals_the_dense_convolution_forward_and_input_gradient() {
    let device = Device::flex().autodiff();
    // (in, out, kernel, stride, padding, dilation, input side, batch)
    let cases = [
        (3, 8, 3, 1, 1, 1, 13, 2),
        (6, 10, 3, 2, 1, 1, 15, 2),
        (5, 7, 1, 1, 0, 1, 9, 2),
        (5, 7, 1, 2, 0, 1, 9, 2),
        (4, 9, 3, 1, 2, 2, 11, 2),
        (3, 5, 7, 2, 3, 1, 19, 2),
        (256, 16, 3, 1, 1, 1, 46, 5),
    ];
    for (case, (c_in, c_out, k, stride, padding, dilation, side, batch)) in
        cases.into_iter().enumerate()
    {
        let weight = thin(
            Tensor::<4>::random([c_out, c_in, k, k], Distribution::Normal(0.0, 1.0), &device),
            0.3,
        );
        // Output channels 0 and 2 and input channel 1 entirely pruned.
        let mut w = values(weight);
        let per_out = c_in * k * k;
        for o in 0..c_out {
            for (i, value) in w[o * per_out..(o + 1) * per_out].iter_mut().enumerate() {
                if o == 0 || o == 2 || i / (k * k) == 1 {
                    *value = 0.0;
                }
            }
        }
        let weights = CsrConv::from_dense(&w, [c_out, c_in, k, k]);
        assert!(weights.density() < 0.5, "case {case}: sparse weights");
        let params = ConvParams {
            stride,
            padding,
            dilation,
        };
        let call = SparseConvCall::new(Arc::new(weights), params);
        let dense_weight = Tensor::<4>::from_data(TensorData::new(w, [c_out, c_in, k, k]), &device);
        let options = ConvOptions::new(
            [stride, stride],
            [padding, padding],
            [dilation, dilation],
            1,
        );
        let x = Tensor::<4>::random(
            [batch, c_in, side, side + 2],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let dense_out = conv2d(x.clone(), dense_weight.clone(), None, options.clone());
        let sparse_out = sparse_conv2d(x.clone(), &call);
        assert_eq!(sparse_out.dims(), dense_out.dims(), "case {case}: shape");
        assert_close(
            sparse_out,
            dense_out.clone(),
            &format!("case {case}: forward"),
        );
        // The same output gradient for both: the gradient of <conv(x), g> for a fixed g.
        let g = Tensor::<4>::random(dense_out.shape(), Distribution::Normal(0.0, 1.0), &device);
        let gradient = |sparse: bool| {
            let x = x.clone().detach().require_grad();
            let out = if sparse {
                sparse_conv2d(x.clone(), &call)
            } else {
                conv2d(x.clone(), dense_weight.clone(), None, options.clone())
            };
            let grads = (out * g.clone().detach()).sum().backward();
            x.grad(&grads).unwrap()
        };
        assert_close(
            gradient(true),
            gradient(false),
            &format!("case {case}: input gradient"),
        );
    }
}

/// `off` keeps every convolution on the dense code, bit for bit; a forced sparse run differs in
/// rounding, so the comparison can tell.
#[test]
fn off_is_the_dense_path_bit_for_bit() {
    let device = Device::flex();
    let dense = pruned(Architecture::ResNet18, Stem::Imagenet, &device);
    let x = images(&device, 40);
    let plain = values(dense.forward(x.clone()));
    let (off, summary) = dense.clone().with_sparse_kernels(SparsePolicy::Off);
    assert_eq!(summary.sparse_layers(), 0);
    assert_eq!(values(off.forward(x.clone())), plain);
    let (forced, _) = dense.with_sparse_kernels(SparsePolicy::Below(1.0));
    assert_ne!(values(forced.forward(x)), plain, "the sparse path ran");
}

#[test]
fn sparse_logits_equal_dense_for_both_block_kinds_and_stems() {
    let device = Device::flex();
    for (arch, stem, size) in [
        (Architecture::ResNet18, Stem::Small, 16),
        (Architecture::ResNet50, Stem::Small, 16),
        (Architecture::ResNet18, Stem::Imagenet, 40),
    ] {
        let dense = pruned(arch, stem, &device);
        let (sparse, summary) = dense.clone().with_sparse_kernels(SparsePolicy::Below(1.0));
        assert_eq!(summary.sparse_layers(), summary.layers.len());
        assert!(summary.layers.iter().all(|l| l.1 < 0.5), "pruned about 80%");
        let x = images(&device, size);
        assert_close(sparse.forward(x.clone()), dense.forward(x), "logits");
    }
}

#[test]
fn sparse_input_gradients_equal_dense_plain_and_guided() {
    let device = Device::flex().autodiff();
    let dense = pruned(Architecture::ResNet18, Stem::Imagenet, &device);
    let (sparse, _) = dense.clone().with_sparse_kernels(SparsePolicy::Below(1.0));
    let x = images(&device, 32);
    let gradient = |net: &Network, guided: bool| {
        let x = x.clone().detach().require_grad();
        let logits = if guided {
            net.forward_guided(x.clone()).unwrap()
        } else {
            net.forward(x.clone())
        };
        // A target logit per image: column 1 of the first, column 4 of the second.
        let grads = (logits.narrow(1, 1, 4)
            * Tensor::from_floats([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]], &x.device()))
        .sum()
        .backward();
        x.grad(&grads).unwrap()
    };
    assert_close(
        gradient(&sparse, false),
        gradient(&dense, false),
        "gradient",
    );
    assert_close(
        gradient(&sparse, true),
        gradient(&dense, true),
        "guided gradient",
    );
}

#[test]
fn sparse_dilated_patch_features_equal_dense() {
    let device = Device::flex();
    let dense = pruned(Architecture::ResNet50, Stem::Imagenet, &device);
    let (sparse, _) = dense.clone().with_sparse_kernels(SparsePolicy::Below(1.0));
    let options = PatchOptions {
        dilate_last_stage: true,
    };
    let x = images(&device, 64);
    assert_close(
        sparse.patch_features_with(x.clone(), options).features,
        dense.patch_features_with(x, options).features,
        "dilated features",
    );
}

#[test]
fn policies_choose_by_density() {
    let device = Device::flex();
    let dense = pruned(Architecture::ResNet18, Stem::Small, &device);
    let (_, off) = dense.clone().with_sparse_kernels(SparsePolicy::Off);
    assert_eq!(off.sparse_layers(), 0);
    assert_eq!(
        off.layers.len(),
        1 + 8 * 2 + 3,
        "stem, 16 block convs, 3 shortcuts"
    );
    let (_, none) = dense.clone().with_sparse_kernels(SparsePolicy::Below(0.01));
    assert_eq!(none.sparse_layers(), 0);
    // The unpruned network is dense everywhere: nothing passes any crossover.
    let unpruned = NetworkConfig {
        arch: Architecture::ResNet18,
        width: 8,
        stem: Stem::Small,
        num_classes: 7,
    }
    .init(&device, 3);
    let (_, auto) = unpruned.with_sparse_kernels(SparsePolicy::Auto);
    assert_eq!(auto.sparse_layers(), 0);
}

/// A network whose weights train keeps every convolution dense (the sparse path gives no weight
/// gradient), so a weight still gets its gradient.
#[test]
fn trainable_weights_run_dense() {
    let device = Device::flex().autodiff();
    let net = NetworkConfig {
        arch: Architecture::ResNet18,
        width: 4,
        stem: Stem::Small,
        num_classes: 3,
    }
    .init(&device, 1)
    .map(&mut Thin { density: 0.2 });
    let (net, summary) = net.with_sparse_kernels(SparsePolicy::Below(1.0));
    assert!(summary.sparse_layers() > 0);
    let grads = net.forward(images(&device, 8)).sum().backward();
    let Network::ResNet(resnet) = &net else {
        unreachable!()
    };
    assert!(resnet.conv1.weight.val().grad(&grads).is_some());
}

#[test]
fn policies_parse_from_their_names() {
    assert_eq!(SparsePolicy::parse("off"), Ok(SparsePolicy::Off));
    assert_eq!(SparsePolicy::parse(" auto "), Ok(SparsePolicy::Auto));
    assert_eq!(SparsePolicy::parse("0.4"), Ok(SparsePolicy::Below(0.4)));
    assert!(
        SparsePolicy::parse("1.5")
            .unwrap_err()
            .contains("PVR_SPARSE")
    );
    assert!(SparsePolicy::parse("fast").is_err());
}

/// A frozen batch norm folded into a sparse convolution gives the separate passes' output and
/// input gradient bit for bit (strided and not, whole channels pruned); a batch norm whose
/// `gamma` trains is not folded.
#[test]
fn a_folded_batch_norm_and_relu_equal_the_separate_passes_bit_for_bit() {
    use burn::module::{Param, RunningState};
    use burn::nn::{BatchNorm, BatchNormConfig};

    use crate::models::fused_batch_norm::{batch_norm, frozen_affine};
    use crate::models::guided_relu::ReluMode;

    let device = Device::flex().autodiff();
    let bits = |t: Tensor<4>| values(t).iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let channels = 6;
    let per_channel = |seed: f32| {
        Tensor::<1>::from_floats(
            [0.5, -1.25, 2.0, 0.75, -0.5, 1.5].map(|v| v * seed + 0.1),
            &device,
        )
    };
    let trainable = BatchNorm {
        gamma: Param::from_tensor(per_channel(1.0)),
        beta: Param::from_tensor(per_channel(-0.5)),
        running_mean: RunningState::new(per_channel(0.3)),
        running_var: RunningState::new(per_channel(0.7).abs().add_scalar(0.2)),
        ..BatchNormConfig::new(channels).init(&device)
    };
    // Moving to the autodiff device leaves the parameters untracked, as in an analysis.
    let frozen = trainable.clone().valid().to_device(&device);
    assert!(frozen_affine(&trainable.clone().train(), &device).is_none());
    let affine = frozen_affine(&frozen, &device).expect("a frozen batch norm");
    for stride in [1, 2] {
        let weight = thin(
            Tensor::<4>::random([channels, 4, 3, 3], Distribution::Normal(0.0, 1.0), &device),
            0.3,
        );
        let weights = Arc::new(CsrConv::from_dense(&values(weight), [channels, 4, 3, 3]));
        let params = ConvParams {
            stride,
            padding: 1,
            dilation: 1,
        };
        let call = SparseConvCall::new(weights, params);
        let x = Tensor::<4>::random([3, 4, 11, 9], Distribution::Normal(0.0, 1.0), &device);
        let g = Tensor::<4>::random(
            sparse_conv2d(x.clone(), &call).shape(),
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        for relu in [None, Some(ReluMode::Standard), Some(ReluMode::Guided)] {
            let folded = call.clone().with_batch_norm(affine.clone()).with_relu(relu);
            let run = |fold: bool| {
                let x = x.clone().detach().require_grad();
                let out = if fold {
                    sparse_conv2d(x.clone(), &folded)
                } else {
                    let y = batch_norm(&frozen, sparse_conv2d(x.clone(), &call));
                    relu.map_or(y.clone(), |mode| mode.apply(y))
                };
                let grads = (out.clone() * g.clone()).sum().backward();
                (bits(out), bits(x.grad(&grads).unwrap()))
            };
            let ((out, grad), (separate_out, separate_grad)) = (run(true), run(false));
            assert_eq!(out, separate_out, "stride {stride}, {relu:?}: output");
            assert_eq!(
                grad, separate_grad,
                "stride {stride}, {relu:?}: input gradient"
            );
            if relu.is_some() {
                let zeros = out.iter().filter(|&&v| v == 0).count();
                assert!(
                    zeros > 0 && zeros < out.len(),
                    "the ReLU masks some outputs"
                );
            }
        }
    }
}
