//! What a network costs: parameter counts read from the built module, and the multiply-adds of
//! one forward pass counted from its shapes.
//!
//! FLOPs follow torchvision's published `_ops` convention: one per multiply-accumulate of a
//! convolution, a linear layer or an attention matrix product (queries x keys and weights x
//! values); norms, activations, softmax, pooling, additions and the cosine normalisation are
//! not counted. Linear layers that run on padding (Swin's windows) count the padded tokens, as
//! they are computed; SwinV2's position-bias MLP counts once per block, as at batch size 1.

use burn::tensor::Device;

use super::arch::Stem;
use super::arch::{Architecture, SwinShape, VitShape};
use super::config::NetworkConfig;
use super::params::{count_parameters, list_params};
use super::resnet_shape;
use super::window_attention::CPB_HIDDEN;

/// Size, prunable size and cost of one configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSummary {
    /// As torchvision counts them: no buffers.
    pub params: usize,
    /// Weights that magnitude pruning may remove (before include/exclude patterns).
    pub prunable: usize,
    /// Multiply-adds of one forward pass on one `image_size` px image.
    pub flops: u64,
}

/// Builds `config` (lazily: no weights are drawn) to count its parameters, and counts its
/// FLOPs for `image_size` px inputs.
pub fn summarize(config: &NetworkConfig, image_size: usize) -> ModelSummary {
    let params = list_params(&config.skeleton(&Device::flex()));
    ModelSummary {
        params: count_parameters(&params),
        prunable: params
            .iter()
            .filter(|p| p.prunable)
            .map(|p| p.numel())
            .sum(),
        flops: flops_per_image(config, image_size),
    }
}

/// Multiply-adds of one forward pass on one `image_size` x `image_size` image.
pub fn flops_per_image(config: &NetworkConfig, image_size: usize) -> u64 {
    let classes = config.num_classes as u64;
    match &config.arch {
        Architecture::ResNet18 => resnet(config, image_size, [2, 2, 2, 2], false),
        Architecture::ResNet50 => resnet(config, image_size, [3, 4, 6, 3], true),
        Architecture::Vit(shape) => vit(shape, config.width as u64, classes),
        Architecture::Swin(shape) => swin(shape, config.width as u64, image_size, classes),
    }
}

/// Multiply-adds of a convolution producing a `side` x `side` map.
fn conv(side: usize, in_channels: usize, out_channels: usize, kernel: usize) -> u64 {
    (side * side * in_channels * out_channels * kernel * kernel) as u64
}

fn resnet(config: &NetworkConfig, image_size: usize, blocks: [usize; 4], bottleneck: bool) -> u64 {
    let width = config.width;
    let walk = resnet_shape::walk(width, config.stem, image_size, blocks, bottleneck);
    let stem_kernel = match config.stem {
        Stem::Small => 3,
        Stem::Imagenet => 7,
    };
    let mut flops = conv(walk.stem_conv_side, 3, width, stem_kernel);
    for block in &walk.blocks {
        let (side, out) = (block.side_in, block.side_out);
        let (inner, in_c, out_c) = (block.stage_width, block.in_channels, block.out_channels);
        if bottleneck {
            flops += conv(side, in_c, inner, 1);
            flops += conv(out, inner, inner, 3);
            flops += conv(out, inner, out_c, 1);
        } else {
            flops += conv(out, in_c, inner, 3);
            flops += conv(out, inner, out_c, 3);
        }
        if block.downsample {
            flops += conv(out, in_c, out_c, 1);
        }
    }
    flops + (walk.features * config.num_classes) as u64
}

fn vit(shape: &VitShape, dim: u64, classes: u64) -> u64 {
    let grid = shape.grid() as u64;
    let patch = shape.patch_size as u64;
    let tokens = grid * grid + 1;
    let embed = grid * grid * 3 * patch * patch * dim;
    let per_block = tokens * dim * 3 * dim // fused QKV projection
        + 2 * tokens * tokens * dim // queries x keys, weights x values (all heads)
        + tokens * dim * dim // output projection
        + 2 * tokens * dim * 4 * dim; // MLP
    embed + shape.layers as u64 * per_block + dim * classes
}

fn swin(shape: &SwinShape, dim: u64, image_size: usize, classes: u64) -> u64 {
    let patch = shape.patch_size;
    let window = shape.window_size;
    let window_tokens = (window * window) as u64;
    let mut side = image_size / patch;
    let mut flops = conv(side, 3, dim as usize, patch);
    let mut stage_dim = dim;
    let depths = shape.stage_depths();
    for (stage, &depth) in depths.iter().enumerate() {
        let heads = shape.heads_at(stage) as u64;
        let padded = side.div_ceil(window) * window;
        let padded_tokens = (padded * padded) as u64;
        let tokens = (side * side) as u64;
        let offsets = ((2 * window - 1) * (2 * window - 1)) as u64;
        let per_block = padded_tokens * stage_dim * 3 * stage_dim // qkv
            + 2 * padded_tokens * window_tokens * stage_dim // attention products
            + padded_tokens * stage_dim * stage_dim // proj
            + 2 * tokens * stage_dim * 4 * stage_dim // MLP
            + offsets * (2 * CPB_HIDDEN as u64 + CPB_HIDDEN as u64 * heads); // cpb_mlp
        flops += depth as u64 * per_block;
        if stage + 1 < depths.len() {
            side = side.div_ceil(2);
            flops += (side * side) as u64 * 4 * stage_dim * 2 * stage_dim;
            stage_dim *= 2;
        }
    }
    flops + stage_dim * classes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(arch: Architecture, width: usize, stem: Stem) -> NetworkConfig {
        NetworkConfig {
            arch,
            width,
            stem,
            num_classes: 1000,
        }
    }

    /// torchvision's published `_ops` (GFLOPs) of each weight set; within 1%: they were measured
    /// with a profiler that may count a few operations this convention leaves out.
    #[test]
    fn flops_match_torchvision_published_ops() {
        let cases = [
            (
                config(Architecture::ResNet18, 64, Stem::Imagenet),
                224,
                1.814,
            ),
            (
                config(Architecture::ResNet50, 64, Stem::Imagenet),
                224,
                4.089,
            ),
            (
                config(Architecture::Vit(VitShape::B_32), 768, Stem::Small),
                224,
                4.409,
            ),
            (
                config(Architecture::Swin(SwinShape::V2_T), 96, Stem::Small),
                256,
                5.94,
            ),
        ];
        for (config, image_size, published) in cases {
            let gflops = flops_per_image(&config, image_size) as f64 / 1e9;
            assert!(
                (gflops / published - 1.0).abs() < 0.01,
                "{}: {gflops:.4} GFLOPs, torchvision publishes {published}",
                config.arch
            );
        }
    }

    #[test]
    fn vit_flops_grow_with_tokens_and_width() {
        let small = config(Architecture::Vit(VitShape::SMALL), 64, Stem::Small);
        let wide = NetworkConfig {
            width: 128,
            ..small.clone()
        };
        let at_64 = NetworkConfig {
            arch: Architecture::Vit(VitShape {
                image_size: 64,
                ..VitShape::SMALL
            }),
            ..small.clone()
        };
        let base = flops_per_image(&small, 32);
        // Doubling the width roughly quadruples the linear layers' cost.
        let ratio = flops_per_image(&wide, 32) as f64 / base as f64;
        assert!((3.0..4.0).contains(&ratio), "{ratio}");
        // Four times the patches: at least four times the cost (attention is quadratic).
        assert!(flops_per_image(&at_64, 64) > 4 * base);
    }
}
