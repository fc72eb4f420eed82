//! Swin Transformer V2 (Liu et al. 2022) as torchvision's `swin_v2_t` builds it: a 4x4 patch
//! convolution with channels-last LayerNorm, stages of V2 blocks (post-norm residuals around
//! shifted-window cosine attention and a GELU MLP), V2 patch merging between stages (linear
//! reduction, then norm), a final norm, global average pooling and a linear head.
//!
//! Parameter paths equal torchvision's: `features` is the same indexed sequence
//! (`features.0.0` the patch convolution, `features.0.2` its norm, `features.1.0.attn.qkv`,
//! `features.2.reduction`, ..., `features.7.1.mlp.3`), then `norm` and `head`.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::arch::SwinShape;
use super::blocks::{
    SequentialLayer, WithBiasInitializer, sequential, transformer_mlp, trunc_normal,
};
use super::fused_linear::linear;
use super::window_attention::{ShiftedWindowAttention, WindowAttention, pad_bottom_right};

const LAYER_NORM_EPS: f64 = 1e-5;

fn layer_norm(dim: usize, device: &Device) -> LayerNorm {
    LayerNormConfig::new(dim)
        .with_epsilon(LAYER_NORM_EPS)
        .init(device)
}

/// torchvision's `Permute([0, 2, 3, 1])`: channels-first maps to channels-last.
#[derive(Module, Debug, Default)]
pub struct ChannelsLast;

/// One entry of the patch-embedding sequence `[Conv2d, Permute, LayerNorm]`.
#[derive(Module, Debug)]
pub enum PatchEmbedLayer {
    Conv(Conv2d),
    Permute(ChannelsLast),
    Norm(LayerNorm),
}

impl PatchEmbedLayer {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            PatchEmbedLayer::Conv(conv) => conv.forward(x),
            PatchEmbedLayer::Permute(_) => x.permute([0, 2, 3, 1]),
            PatchEmbedLayer::Norm(norm) => norm.forward(x),
        }
    }
}

/// torchvision's `SwinTransformerBlockV2`: `x + norm1(attn(x))`, then `x + norm2(mlp(x))`.
#[derive(Module, Debug)]
pub struct SwinBlock {
    pub norm1: LayerNorm,
    pub attn: ShiftedWindowAttention,
    pub norm2: LayerNorm,
    pub mlp: Vec<SequentialLayer>,
}

impl SwinBlock {
    fn new(dim: usize, heads: usize, window: usize, shift: usize, device: &Device) -> Self {
        Self {
            norm1: layer_norm(dim, device),
            attn: ShiftedWindowAttention::new(dim, window, shift, heads, device),
            norm2: layer_norm(dim, device),
            // The block's own Xavier init is overwritten by the model-wide one in torchvision.
            mlp: transformer_mlp(
                dim,
                4 * dim,
                &trunc_normal(0.02),
                &Initializer::Zeros,
                device,
            ),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_with_attention(x).0
    }

    /// The block's output and its attention weights.
    pub fn forward_with_attention(&self, x: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let WindowAttention { output, weights } = self.attn.attend(x.clone());
        let x = x + self.norm1.forward(output);
        let y = self.norm2.forward(sequential(&self.mlp, x.clone()));
        (x + y, weights)
    }
}

/// torchvision's `PatchMergingV2`: each 2x2 neighbourhood concatenated (4x channels), reduced
/// to 2x channels by a bias-free linear layer, then normalised.
#[derive(Module, Debug)]
pub struct PatchMerging {
    pub reduction: Linear,
    pub norm: LayerNorm,
}

impl PatchMerging {
    fn new(dim: usize, device: &Device) -> Self {
        Self {
            reduction: LinearConfig::new(4 * dim, 2 * dim)
                .with_bias(false)
                .with_initializer(trunc_normal(0.02))
                .init(device),
            norm: layer_norm(2 * dim, device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.norm
            .forward(self.reduction.forward(gather_neighbourhoods(x)))
    }
}

/// Each 2x2 neighbourhood of a channels-last map (zero-padded to even sides) concatenated
/// along channels in torchvision's order: (even row, even column), (odd, even), (even, odd),
/// (odd, odd), i.e. column parity major.
fn gather_neighbourhoods(x: Tensor<4>) -> Tensor<4> {
    let [batch, height, width, dim] = x.dims();
    let (rows, columns) = (height.div_ceil(2), width.div_ceil(2));
    pad_bottom_right(x, 2 * rows, 2 * columns)
        .reshape([batch, rows, 2, columns, 2, dim])
        .permute([0, 1, 3, 4, 2, 5])
        .reshape([batch, rows, columns, 4 * dim])
}

/// One entry of torchvision's `features` sequence.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum SwinFeature {
    PatchEmbed(Vec<PatchEmbedLayer>),
    Stage(Vec<SwinBlock>),
    Merge(PatchMerging),
}

impl SwinFeature {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            SwinFeature::PatchEmbed(layers) => layers.iter().fold(x, |x, l| l.forward(x)),
            SwinFeature::Stage(blocks) => blocks.iter().fold(x, |x, b| b.forward(x)),
            SwinFeature::Merge(merge) => merge.forward(x),
        }
    }
}

#[derive(Module, Debug)]
pub struct SwinTransformer {
    pub features: Vec<SwinFeature>,
    pub norm: LayerNorm,
    pub head: Linear,
}

impl SwinTransformer {
    pub fn new(shape: &SwinShape, dim: usize, num_classes: usize, device: &Device) -> Self {
        let patch = shape.patch_size;
        let mut features = vec![SwinFeature::PatchEmbed(vec![
            PatchEmbedLayer::Conv(
                Conv2dConfig::new([3, dim], [patch, patch])
                    .with_stride([patch, patch])
                    .init(device),
            ),
            PatchEmbedLayer::Permute(ChannelsLast),
            PatchEmbedLayer::Norm(layer_norm(dim, device)),
        ])];
        let depths = shape.stage_depths();
        for (stage, &depth) in depths.iter().enumerate() {
            let stage_dim = dim << stage;
            let window = shape.window_size;
            features.push(SwinFeature::Stage(
                (0..depth)
                    .map(|index| {
                        let shift = if index % 2 == 0 { 0 } else { window / 2 };
                        SwinBlock::new(stage_dim, shape.heads_at(stage), window, shift, device)
                    })
                    .collect(),
            ));
            if stage + 1 < depths.len() {
                features.push(SwinFeature::Merge(PatchMerging::new(stage_dim, device)));
            }
        }
        let final_dim = dim << (depths.len() - 1);
        Self {
            features,
            norm: layer_norm(final_dim, device),
            head: LinearConfig::new(final_dim, num_classes)
                .with_initializer(trunc_normal(0.02))
                .init(device)
                .with_bias_initializer(&Initializer::Zeros, num_classes, device),
        }
    }

    /// The last stage's map just before its last block (`[batch, height, width, dim]`), and
    /// that block.
    pub fn last_block_input(&self, images: Tensor<4>) -> (Tensor<4>, &SwinBlock) {
        let (last, earlier) = self
            .features
            .split_last()
            .expect("a Swin network has features");
        let SwinFeature::Stage(blocks) = last else {
            unreachable!("torchvision's Swin features end with a stage")
        };
        let (block, earlier_blocks) = blocks.split_last().expect("stages have blocks");
        let x = earlier.iter().fold(images, |x, f| f.forward(x));
        let x = earlier_blocks.iter().fold(x, |x, b| b.forward(x));
        (x, block)
    }

    /// The output of the last block of the last stage, before the final norm:
    /// `[batch, height, width, dim]`.
    pub fn features(&self, images: Tensor<4>) -> Tensor<4> {
        let (x, block) = self.last_block_input(images);
        block.forward(x)
    }

    /// Final norm, global average pooling and the classifier, from a channels-last map.
    pub fn head(&self, map: Tensor<4>) -> Tensor<2> {
        let [batch, height, width, dim] = map.dims();
        let pooled = self
            .norm
            .forward(map)
            .reshape([batch, height * width, dim])
            .mean_dim(1)
            .reshape([batch, dim]);
        linear(&self.head, pooled)
    }

    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.head(self.features(images))
    }

    /// Attention weights of the last block (see [`WindowAttention::weights`]).
    pub fn last_block_attention(&self, images: Tensor<4>) -> Tensor<4> {
        let (x, block) = self.last_block_input(images);
        block.forward_with_attention(x).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    /// torchvision concatenates `x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]`.
    #[test]
    fn merging_concatenates_neighbours_in_torchvision_order() {
        let device = Device::flex();
        // Channel value = 10 * row + column on a 3x3 map; the merge pads it to 4x4 with zeros.
        let map: Vec<f32> = (0..3)
            .flat_map(|r| (0..3).map(move |c| (10 * r + c) as f32))
            .collect();
        let x = Tensor::<4>::from_data(TensorData::new(map, [1, 3, 3, 1]), &device);
        let gathered = gather_neighbourhoods(x);
        assert_eq!(gathered.dims(), [1, 2, 2, 4]);
        let v = gathered
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap();
        assert_eq!(&v[0..4], &[0.0, 10.0, 1.0, 11.0]);
        assert_eq!(&v[4..8], &[2.0, 12.0, 0.0, 0.0]);
        assert_eq!(&v[8..12], &[20.0, 0.0, 21.0, 0.0]);
        assert_eq!(&v[12..16], &[22.0, 0.0, 0.0, 0.0]);
    }
}
