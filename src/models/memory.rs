//! Expected memory of a training step, computed from the architecture: the weights, their
//! gradients and the optimizer state per parameter, plus the activations that the backward pass
//! keeps per image (every layer's output: convolutions, norms, activations, attention scores).
//!
//! An estimate for choosing batch sizes: a backend adds workspace and allocator slack on top
//! (plan on 10-30% more), and frees some activations early.

use super::arch::{Stem, SwinShape, VitShape};
use super::resnet_shape;
use super::{Architecture, NetworkConfig};

/// Bytes of one training step's state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingMemory {
    /// f32 weights, gradients and optimizer state.
    pub parameters: u64,
    /// Activations kept for backward, and the input batch.
    pub activations: u64,
}

impl TrainingMemory {
    pub fn total(&self) -> u64 {
        self.parameters + self.activations
    }
}

/// Memory of a training step with `batch` images: `params` f32 parameters with gradients and
/// `state_per_param` f32 optimizer values each (SGD with momentum: 1, AdamW: 2), activations of
/// `activation_bytes` each (f32: 4, bf16/f16: 2).
pub fn training_memory(
    config: &NetworkConfig,
    image_size: usize,
    params: usize,
    batch: usize,
    state_per_param: u64,
    activation_bytes: u64,
) -> TrainingMemory {
    let input = (3 * image_size * image_size) as u64 * 4;
    TrainingMemory {
        parameters: params as u64 * 4 * (2 + state_per_param),
        activations: batch as u64
            * (activation_elements(config, image_size) * activation_bytes + input),
    }
}

/// Activation values the backward pass keeps for one image.
pub fn activation_elements(config: &NetworkConfig, image_size: usize) -> u64 {
    match &config.arch {
        Architecture::ResNet18 => resnet(config, image_size, [2, 2, 2, 2], false),
        Architecture::ResNet50 => resnet(config, image_size, [3, 4, 6, 3], true),
        Architecture::Vit(shape) => vit(shape, config.width as u64),
        Architecture::Swin(shape) => swin(shape, config.width as u64, image_size),
    }
}

/// A map of `channels` x `side` x `side`.
fn map(channels: usize, side: usize) -> u64 {
    (channels * side * side) as u64
}

fn resnet(config: &NetworkConfig, image_size: usize, blocks: [usize; 4], bottleneck: bool) -> u64 {
    let width = config.width;
    let walk = resnet_shape::walk(width, config.stem, image_size, blocks, bottleneck);
    // Stem: conv, batch norm, ReLU, and the ImageNet stem's max-pool.
    let mut kept = 3 * map(width, walk.stem_conv_side);
    if config.stem == Stem::Imagenet {
        kept += map(width, walk.stem_side);
    }
    for block in &walk.blocks {
        let (side, out) = (block.side_in, block.side_out);
        kept += if bottleneck {
            // conv+norm+ReLU twice, then conv, norm, the sum and its ReLU
            3 * map(block.stage_width, side)
                + 3 * map(block.stage_width, out)
                + 4 * map(block.out_channels, out)
        } else {
            3 * map(block.stage_width, out) + 4 * map(block.out_channels, out)
        };
        if block.downsample {
            kept += 2 * map(block.out_channels, out); // downsample conv and norm
        }
    }
    kept + walk.features as u64 + config.num_classes as u64
}

/// Per block and token: two norms, QKV (3), attention output, projection, two residual sums,
/// MLP in (4) and its GELU (4), MLP out: 18 values of the width; plus scores and softmax.
const TRANSFORMER_VALUES_PER_TOKEN: u64 = 18;

fn vit(shape: &VitShape, dim: u64) -> u64 {
    let grid = shape.grid() as u64;
    let tokens = grid * grid + 1;
    let heads = shape.heads as u64;
    let per_block = TRANSFORMER_VALUES_PER_TOKEN * tokens * dim + 2 * heads * tokens * tokens;
    2 * tokens * dim + shape.layers as u64 * per_block + dim
}

fn swin(shape: &SwinShape, dim: u64, image_size: usize) -> u64 {
    let window = shape.window_size;
    let window_tokens = (window * window) as u64;
    let mut side = image_size / shape.patch_size;
    let mut kept = 2 * map(dim as usize, side);
    let mut stage_dim = dim;
    let depths = shape.stage_depths();
    for (stage, &depth) in depths.iter().enumerate() {
        let heads = shape.heads_at(stage) as u64;
        let padded = (side.div_ceil(window) * window) as u64;
        let tokens = padded * padded;
        let per_block =
            TRANSFORMER_VALUES_PER_TOKEN * tokens * stage_dim + 2 * heads * tokens * window_tokens;
        kept += depth as u64 * per_block;
        if stage + 1 < depths.len() {
            side = side.div_ceil(2);
            kept += (side * side) as u64 * 4 * stage_dim * 2; // merged and normed
            stage_dim *= 2;
        }
    }
    kept + stage_dim
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ResNet-18 at 224 px keeps about 8 M values per image for backward (~30 MB in f32, as
    /// PyTorch's training of it needs ~8 GB at batch 256); ResNet-50 roughly 3x that;
    /// ViT-B/32 (50 tokens of 768 values in 12 blocks) about as many as ResNet-18.
    #[test]
    fn activation_counts_have_the_known_proportions() {
        let network = |arch, width, stem| NetworkConfig {
            arch,
            width,
            stem,
            num_classes: 1000,
        };
        let r18 = activation_elements(&network(Architecture::ResNet18, 64, Stem::Imagenet), 224);
        let r50 = activation_elements(&network(Architecture::ResNet50, 64, Stem::Imagenet), 224);
        let vit = activation_elements(
            &network(Architecture::Vit(VitShape::B_32), 768, Stem::Small),
            224,
        );
        assert!((5_000_000..12_000_000).contains(&r18), "{r18}");
        assert!(r50 > 2 * r18 && r50 < 6 * r18, "{r50} vs {r18}");
        assert!(vit > r18 / 2 && vit < 2 * r18, "{vit} vs {r18}");
        let memory = training_memory(
            &network(Architecture::ResNet18, 64, Stem::Imagenet),
            224,
            11_689_512,
            256,
            1,
            4,
        );
        // Weights, gradients, momentum: 140 MB; activations dominate at batch 256.
        assert_eq!(memory.parameters, 11_689_512 * 12);
        assert!(memory.activations > 10 * memory.parameters);
        let half = training_memory(
            &network(Architecture::ResNet18, 64, Stem::Imagenet),
            224,
            11_689_512,
            256,
            1,
            2,
        );
        assert!(half.activations < memory.activations * 6 / 10);
    }
}
