//! Properties every architecture must have: torchvision's parameter counts and paths, the
//! prunable set, output shapes, and analysis hooks that agree with the forward pass.

use burn::tensor::{Device, Distribution, Tensor};

use super::Network;
use super::arch::{Architecture, SwinShape, VitShape};
use super::config::NetworkConfig;
use super::flops::summarize;
use super::params::{ParamInfo, list_params};
use super::test_support::values;
use crate::models::Stem;

fn config(arch: Architecture, width: usize, stem: Stem, classes: usize) -> NetworkConfig {
    NetworkConfig {
        arch,
        width,
        stem,
        num_classes: classes,
    }
}

fn max_abs_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    values(a)
        .iter()
        .zip(values(b))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A tiny network of every family, with the image size it expects.
fn tiny_networks() -> Vec<(NetworkConfig, usize)> {
    vec![
        (config(Architecture::ResNet18, 4, Stem::Small, 5), 16),
        (config(Architecture::ResNet50, 2, Stem::Small, 5), 16),
        (
            config(
                Architecture::Vit(VitShape {
                    patch_size: 4,
                    layers: 2,
                    heads: 2,
                    image_size: 16,
                }),
                8,
                Stem::Small,
                5,
            ),
            16,
        ),
        (
            config(
                Architecture::Swin(SwinShape {
                    patch_size: 2,
                    window_size: 2,
                    depths: [2, 2, 0, 0],
                    heads: 1,
                }),
                4,
                Stem::Small,
                5,
            ),
            // 7 px: a 3x3 patch grid, padded to windows and to even sizes when merging.
            7,
        ),
        (
            config(Architecture::Swin(SwinShape::SMALL), 8, Stem::Small, 5),
            32,
        ),
    ]
}

fn images(batch: usize, size: usize, device: &Device) -> Tensor<4> {
    Tensor::random(
        [batch, 3, size, size],
        Distribution::Normal(0.0, 1.0),
        device,
    )
}

#[test]
fn parameter_counts_match_torchvision() {
    let cases = [
        (Architecture::ResNet18, 64, Stem::Imagenet, 224, 11_689_512),
        (Architecture::ResNet50, 64, Stem::Imagenet, 224, 25_557_032),
        (
            Architecture::Vit(VitShape::B_32),
            768,
            Stem::Small,
            224,
            88_224_232,
        ),
        (
            Architecture::Swin(SwinShape::V2_T),
            96,
            Stem::Small,
            256,
            28_351_570,
        ),
    ];
    for (arch, width, stem, image_size, expected) in cases {
        let summary = summarize(&config(arch, width, stem, 1000), image_size);
        assert_eq!(summary.params, expected, "{arch}");
    }
}

/// Prunable weights counted from the architectures' definitions, independently of the code.
#[test]
fn prunable_counts_are_every_conv_and_linear_weight() {
    let (d, classes) = (768, 1000);
    let vit_b_32 = d * 3 * 32 * 32 + 12 * (3 * d * d + d * d + 2 * d * 4 * d) + d * classes;
    let mut swin_v2_t = 96 * 3 * 4 * 4 + 768 * classes;
    for (stage, depth) in [2, 2, 6, 2].into_iter().enumerate() {
        let (c, heads) = (96 << stage, 3 << stage);
        swin_v2_t += depth * (3 * c * c + c * c + 8 * c * c + 2 * 512 + 512 * heads);
        if stage < 3 {
            swin_v2_t += 4 * c * 2 * c;
        }
    }
    // ResNet-18: every parameter but the batch norms' scales and shifts and the classifier bias.
    let resnet18_norms: usize = 2 * (64 + 4 * 64 + 4 * 128 + 4 * 256 + 4 * 512 + 128 + 256 + 512);
    let resnet18 = 11_689_512 - resnet18_norms - classes;
    let cases = [
        (Architecture::ResNet18, 64, Stem::Imagenet, 224, resnet18),
        (
            Architecture::Vit(VitShape::B_32),
            768,
            Stem::Small,
            224,
            vit_b_32,
        ),
        (
            Architecture::Swin(SwinShape::V2_T),
            96,
            Stem::Small,
            256,
            swin_v2_t,
        ),
    ];
    for (arch, width, stem, image_size, expected) in cases {
        let summary = summarize(&config(arch, width, stem, classes), image_size);
        assert_eq!(summary.prunable, expected, "{arch}");
    }
}

fn find<'a>(params: &'a [ParamInfo], path: &str) -> &'a ParamInfo {
    params
        .iter()
        .find(|p| p.path == path)
        .unwrap_or_else(|| panic!("no parameter `{path}`"))
}

#[test]
fn transformer_paths_and_prunable_kinds_mirror_torchvision() {
    let device = Device::flex();
    let vit = list_params(
        &config(Architecture::Vit(VitShape::B_32), 768, Stem::Small, 1000).skeleton(&device),
    );
    let swin = list_params(
        &config(Architecture::Swin(SwinShape::V2_T), 96, Stem::Small, 1000).skeleton(&device),
    );
    let prunable = [
        (&vit, "conv_proj.weight", vec![768, 3, 32, 32]),
        (
            &vit,
            "encoder.layers.0.self_attention.in_proj_weight",
            vec![2304, 768],
        ),
        (
            &vit,
            "encoder.layers.11.self_attention.out_proj.weight",
            vec![768, 768],
        ),
        (&vit, "encoder.layers.0.mlp.0.weight", vec![768, 3072]),
        (&vit, "encoder.layers.0.mlp.3.weight", vec![3072, 768]),
        (&vit, "heads.head.weight", vec![768, 1000]),
        (&swin, "features.0.0.weight", vec![96, 3, 4, 4]),
        (&swin, "features.1.0.attn.qkv.weight", vec![96, 288]),
        (&swin, "features.1.0.attn.proj.weight", vec![96, 96]),
        (&swin, "features.1.0.attn.cpb_mlp.0.weight", vec![2, 512]),
        (&swin, "features.7.1.attn.cpb_mlp.2.weight", vec![512, 24]),
        (&swin, "features.2.reduction.weight", vec![384, 192]),
        (&swin, "features.7.1.mlp.3.weight", vec![3072, 768]),
        (&swin, "head.weight", vec![768, 1000]),
    ];
    for (params, path, shape) in prunable {
        let param = find(params, path);
        assert_eq!(param.shape, shape, "{path}");
        assert!(param.prunable, "{path} must be prunable");
    }
    let never = [
        (&vit, "class_token", vec![1, 1, 768]),
        (&vit, "encoder.pos_embedding", vec![1, 50, 768]),
        (&vit, "conv_proj.bias", vec![768]),
        (
            &vit,
            "encoder.layers.0.self_attention.in_proj_bias",
            vec![2304],
        ),
        (&vit, "encoder.layers.0.ln_1.gamma", vec![768]),
        (&vit, "encoder.ln.beta", vec![768]),
        (&swin, "features.1.0.attn.logit_scale", vec![3, 1, 1]),
        (&swin, "features.1.0.attn.cpb_mlp.0.bias", vec![512]),
        (&swin, "features.0.2.gamma", vec![96]),
        (&swin, "features.2.norm.gamma", vec![192]),
        (&swin, "norm.beta", vec![768]),
    ];
    for (params, path, shape) in never {
        let param = find(params, path);
        assert_eq!(param.shape, shape, "{path}");
        assert!(!param.prunable, "{path} must not be prunable");
    }
    // SwinV2 replaces the relative-position table by the MLP; no biases for cpb_mlp.2 or the
    // merging reduction, as in torchvision.
    for path in [
        "features.1.0.attn.relative_position_bias_table",
        "features.1.0.attn.cpb_mlp.2.bias",
        "features.2.reduction.bias",
    ] {
        assert!(swin.iter().all(|p| p.path != path), "unexpected {path}");
    }
    // Every prunable tensor is a weight matrix or kernel.
    for param in vit.iter().chain(&swin).filter(|p| p.prunable) {
        assert!(param.shape.len() >= 2, "{}", param.path);
    }
}

#[test]
fn outputs_have_one_logit_per_class() {
    let device = Device::flex();
    for (config, size) in tiny_networks() {
        let network = config.init(&device, 1);
        assert_eq!(
            network.forward(images(3, size, &device)).dims(),
            [3, 5],
            "{}",
            config.arch
        );
    }
}

/// torchvision starts the ViT classifier at zero, which makes every logit independent of the
/// activations; draw it at random so that gradients can be checked.
fn with_random_classifier(network: Network, device: &Device) -> Network {
    match network {
        Network::Vit(mut vit) => {
            let [dim, classes] = vit.heads.head.weight.dims();
            vit.heads.head = burn::nn::LinearConfig::new(dim, classes).init(device);
            Network::Vit(vit)
        }
        other => other,
    }
}

#[test]
fn attribution_split_and_resume_reproduce_the_forward_pass() {
    let device = Device::flex().autodiff();
    for (config, size) in tiny_networks() {
        let network = with_random_classifier(config.init(&device, 2), &device);
        let x = images(2, size, &device);
        let direct = network.forward(x.clone());
        let split = network.attribution_split(x);
        assert_eq!(split.activations.dims()[0], 2);
        let activations = split.activations.detach().require_grad();
        let resumed = network.attribution_resume(activations.clone(), &split.rest);
        let difference = max_abs_diff(direct.clone(), resumed.clone());
        assert!(difference < 1e-5, "{}: {difference}", config.arch);
        // The resumed pass consumes the activations: they receive a gradient.
        let gradients = resumed.sum().backward();
        let gradient = activations
            .grad(&gradients)
            .expect("activations get a gradient");
        assert!(
            values(gradient.abs()).iter().sum::<f32>() > 0.0,
            "{}",
            config.arch
        );
    }
}

#[test]
fn attribution_activations_sit_on_the_patch_grid() {
    let device = Device::flex();
    let networks = tiny_networks();
    let dims = |index: usize| {
        let (config, size) = &networks[index];
        let network = config.init(&device, 0);
        network
            .attribution_split(images(1, *size, &device))
            .activations
            .dims()
    };
    assert_eq!(dims(0), [1, 32, 2, 2]); // ResNet-18 width 4, small stem: 16 px / 8
    assert_eq!(dims(2), [1, 8, 4, 4]); // ViT: 16 px / 4 px patches, hidden size 8
    assert_eq!(dims(3), [1, 8, 2, 2]); // Swin: 7 px / 2 -> 3 -> merged to 2, width 4 * 2
    assert_eq!(dims(4), [1, 32, 4, 4]); // small Swin: 32 / 2 = 16 -> 8 -> 4, width 8 * 4
}

#[test]
fn patch_features_cover_the_grid() {
    let device = Device::flex();
    for (index, (grid, dim, stride)) in [
        (0, ((2, 2), 32, 8)),
        (2, ((4, 4), 8, 4)),
        (4, ((4, 4), 32, 8)),
    ] {
        let (config, size) = &tiny_networks()[index];
        let network = config.init(&device, 0);
        let features = network.patch_features(images(2, *size, &device));
        assert_eq!(features.grid, grid, "{}", config.arch);
        assert_eq!(features.stride, stride, "{}", config.arch);
        assert_eq!(
            features.features.dims(),
            [2, grid.0 * grid.1, dim],
            "{}",
            config.arch
        );
    }
}

/// ViT patch features are the last block's keys: `ln_1(x) W_k^T + b_k`, per patch token.
#[test]
fn vit_patch_features_are_the_last_blocks_keys() {
    let device = Device::flex();
    let (config, size) = &tiny_networks()[2];
    let Network::Vit(vit) = config.init(&device, 3) else {
        unreachable!()
    };
    let x = images(2, *size, &device);
    let input = vit.last_block_input(x.clone());
    let attention = &input.block.self_attention;
    let dim = 8;
    let w_k = attention.in_proj_weight.val().narrow(0, dim, dim);
    let b_k = attention.in_proj_bias.val().narrow(0, dim, dim);
    let normed = input.block.ln_1.forward(input.tokens);
    let keys = normed.matmul(w_k.transpose().unsqueeze()) + b_k.unsqueeze();
    let expected = keys.narrow(1, 1, 16);
    let features = Network::Vit(vit).patch_features(x).features;
    assert!(max_abs_diff(features, expected) < 1e-5);
}

/// Multi-head attention against a per-head loop over plain numbers.
#[test]
fn vit_attention_matches_a_naive_computation() {
    let device = Device::flex();
    let (config, size) = &tiny_networks()[2];
    let Network::Vit(vit) = config.init(&device, 4) else {
        unreachable!()
    };
    let x = images(1, *size, &device);
    let input = vit.last_block_input(x);
    let block = input.block;
    let normed = block.ln_1.forward(input.tokens);
    let attention = block.self_attention.attend(normed.clone());

    let (tokens, dim, heads) = (17, 8, 2);
    let head_dim = dim / heads;
    let n = values(normed);
    let w = values(block.self_attention.in_proj_weight.val()); // [3 * dim, dim]
    let b = values(block.self_attention.in_proj_bias.val());
    let project = |t: usize, row: usize| -> f32 {
        b[row]
            + (0..dim)
                .map(|i| w[row * dim + i] * n[t * dim + i])
                .sum::<f32>()
    };
    let weights = values(attention.weights.clone());
    let mut context = vec![0f32; tokens * dim];
    for h in 0..heads {
        for q in 0..tokens {
            let scores: Vec<f32> = (0..tokens)
                .map(|k| {
                    (0..head_dim)
                        .map(|i| project(q, h * head_dim + i) * project(k, dim + h * head_dim + i))
                        .sum::<f32>()
                        / (head_dim as f32).sqrt()
                })
                .collect();
            let top = scores.iter().cloned().fold(f32::MIN, f32::max);
            let total: f32 = scores.iter().map(|s| (s - top).exp()).sum();
            for k in 0..tokens {
                let p = (scores[k] - top).exp() / total;
                let got = weights[(h * tokens + q) * tokens + k];
                assert!(
                    (p - got).abs() < 1e-5,
                    "head {h} query {q} key {k}: {p} vs {got}"
                );
                for i in 0..head_dim {
                    context[q * dim + h * head_dim + i] +=
                        p * project(k, 2 * dim + h * head_dim + i);
                }
            }
        }
    }
    let context = Tensor::<2>::from_data(
        burn::tensor::TensorData::new(context, [tokens, dim]),
        &device,
    );
    let expected = block
        .self_attention
        .out_proj
        .forward(context)
        .reshape([1, tokens, dim]);
    assert!(max_abs_diff(attention.output, expected) < 1e-5);
}

#[test]
fn last_block_attention_rows_are_distributions() {
    let device = Device::flex();
    for (config, size) in tiny_networks() {
        let network = config.init(&device, 5);
        let attention = network.last_block_attention(images(2, size, &device));
        let Some(attention) = attention else {
            assert!(!config.arch.is_transformer());
            continue;
        };
        let [_, _, queries, keys] = attention.dims();
        assert_eq!(queries, keys);
        for row in values(attention.sum_dim(3)) {
            assert!(
                (row - 1.0).abs() < 1e-5,
                "{}: row sums to {row}",
                config.arch
            );
        }
    }
    let (vit, size) = &tiny_networks()[2];
    let attention = vit
        .init(&device, 0)
        .last_block_attention(images(2, *size, &device));
    assert_eq!(attention.unwrap().dims(), [2, 2, 17, 17]);
    // Small Swin at 32 px: the last stage is a 4x4 map, one 4x4 window, 8 heads.
    let (swin, size) = &tiny_networks()[4];
    let attention = swin
        .init(&device, 0)
        .last_block_attention(images(2, *size, &device));
    assert_eq!(attention.unwrap().dims(), [2, 8, 16, 16]);
}

/// A frozen ResNet's untracked forward pass applies batch norm and ReLU as its dense
/// convolutions write their outputs (`gemm_conv::Epilogue`); a tracked pass runs them as passes
/// of their own. The logits are the same bit for bit, basic blocks and bottlenecks, with running
/// statistics that training moved away from their initial values.
#[test]
fn fused_batch_norm_and_relu_epilogues_keep_the_logits() {
    let device = Device::flex().autodiff();
    for arch in [Architecture::ResNet18, Architecture::ResNet50] {
        let network = config(arch, 8, Stem::Small, 10).init(&device, 0);
        for seed in 0..3 {
            // Training-mode passes move the running statistics.
            let _ = network.forward(super::test_support::normal([4, 3, 16, 16], seed, &device));
        }
        let network = crate::attribution::tensors::attribution_network(network, &device);
        let x = super::test_support::normal([2, 3, 16, 16], 9, &device);
        let untracked = values(network.forward(x.clone()));
        let tracked = values(network.forward(x.require_grad()));
        assert_eq!(untracked, tracked, "{arch:?}");
    }
}
