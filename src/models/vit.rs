//! Vision Transformer (Dosovitskiy et al. 2021) as torchvision's `VisionTransformer` builds it:
//! a patch convolution, a class token, a learned position embedding, pre-norm encoder blocks
//! (LayerNorm eps 1e-6, fused-QKV multi-head attention, GELU MLP 4x wide), a final LayerNorm
//! and a linear head on the class token. Field names follow torchvision (`conv_proj`,
//! `encoder.layers.N.self_attention.in_proj_weight`, `encoder.layers.N.mlp.3`, `heads.head`);
//! the only difference in parameter paths is that Burn indexes the encoder blocks
//! (`encoder.layers.11`) where torchvision names them (`encoder.layers.encoder_layer_11`).

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::arch::VitShape;
use super::blocks::{
    SequentialLayer, WithBiasInitializer, sequential, transformer_mlp, trunc_normal,
    xavier_uniform_param,
};
use super::fast_softmax::softmax_last;
use super::fused_linear::{linear, linear_with};

const LAYER_NORM_EPS: f64 = 1e-6;

fn layer_norm(dim: usize, device: &Device) -> LayerNorm {
    LayerNormConfig::new(dim)
        .with_epsilon(LAYER_NORM_EPS)
        .init(device)
}

/// PyTorch's `nn.MultiheadAttention(dim, heads, batch_first=True)`: the query, key and value
/// projections fused into one raw parameter in PyTorch's `[3 * dim, dim]` layout (queries
/// first), then an output projection.
#[derive(Module, Debug)]
pub struct MultiheadAttention {
    pub in_proj_weight: Param<Tensor<2>>,
    pub in_proj_bias: Param<Tensor<1>>,
    pub out_proj: Linear,
    pub num_heads: usize,
}

/// What one attention pass computes, so that callers reading keys or weights reuse the pass.
pub struct SelfAttention {
    /// `[batch, tokens, dim]`, after the output projection.
    pub output: Tensor<3>,
    /// `[batch, heads, tokens, head_dim]`, bias included.
    pub keys: Tensor<4>,
    /// `[batch, heads, tokens, tokens]`: softmax over the last axis.
    pub weights: Tensor<4>,
}

impl MultiheadAttention {
    fn new(dim: usize, num_heads: usize, device: &Device) -> Self {
        Self {
            // PyTorch's `_reset_parameters`: Xavier-uniform projections, zero biases; the
            // output projection keeps `nn.Linear`'s default weight init, which is Burn's.
            in_proj_weight: xavier_uniform_param(3 * dim, dim, device),
            in_proj_bias: Initializer::Zeros.init([3 * dim], device),
            out_proj: LinearConfig::new(dim, dim)
                .init(device)
                .with_bias_initializer(&Initializer::Zeros, dim, device),
            num_heads,
        }
    }

    /// Scaled dot-product self-attention over `x` (`[batch, tokens, dim]`).
    pub fn attend(&self, x: Tensor<3>) -> SelfAttention {
        let [batch, tokens, dim] = x.dims();
        let heads = self.num_heads;
        let head_dim = dim / heads;
        let qkv = linear_with(
            x,
            self.in_proj_weight.val().transpose(),
            Some(self.in_proj_bias.val()),
        );
        // [batch, tokens, (q|k|v), heads, head_dim] -> [(q|k|v), batch, heads, tokens, head_dim]
        let qkv = qkv
            .reshape([batch, tokens, 3, heads, head_dim])
            .permute([2, 0, 3, 1, 4]);
        let part = |index: usize| -> Tensor<4> {
            qkv.clone()
                .narrow(0, index, 1)
                .reshape([batch, heads, tokens, head_dim])
        };
        let (queries, keys, values) = (part(0), part(1), part(2));
        let scores = queries.matmul(keys.clone().swap_dims(2, 3)) / (head_dim as f64).sqrt();
        let weights = softmax_last(scores);
        let context = weights
            .clone()
            .matmul(values)
            .swap_dims(1, 2)
            .reshape([batch, tokens, dim]);
        SelfAttention {
            output: linear(&self.out_proj, context),
            keys,
            weights,
        }
    }
}

/// torchvision's `EncoderBlock`: `x + attention(ln_1(x))`, then `x + mlp(ln_2(x))`.
#[derive(Module, Debug)]
pub struct EncoderBlock {
    pub ln_1: LayerNorm,
    pub self_attention: MultiheadAttention,
    pub ln_2: LayerNorm,
    pub mlp: Vec<SequentialLayer>,
}

impl EncoderBlock {
    fn new(dim: usize, heads: usize, device: &Device) -> Self {
        Self {
            ln_1: layer_norm(dim, device),
            self_attention: MultiheadAttention::new(dim, heads, device),
            ln_2: layer_norm(dim, device),
            // torchvision's MLPBlock: Xavier-uniform weights, biases drawn with std 1e-6.
            mlp: transformer_mlp(
                dim,
                4 * dim,
                &Initializer::XavierUniform { gain: 1.0 },
                &Initializer::Normal {
                    mean: 0.0,
                    std: 1e-6,
                },
                device,
            ),
        }
    }

    pub fn forward(&self, input: Tensor<3>) -> Tensor<3> {
        self.after_norm(self.ln_1.forward(input.clone()), input)
    }

    /// The block from the output of `ln_1` (`normed`) and the block's input (`residual`).
    fn after_norm(&self, normed: Tensor<3>, residual: Tensor<3>) -> Tensor<3> {
        let x = self.self_attention.attend(normed).output + residual;
        let y = sequential(&self.mlp, self.ln_2.forward(x.clone()));
        x + y
    }
}

/// torchvision's `Encoder`: position embedding, the blocks, a final LayerNorm.
#[derive(Module, Debug)]
pub struct Encoder {
    /// `[1, tokens, dim]`, class token first.
    pub pos_embedding: Param<Tensor<3>>,
    pub layers: Vec<EncoderBlock>,
    pub ln: LayerNorm,
}

/// torchvision's `heads` sequential, which holds the classifier as `heads.head`.
#[derive(Module, Debug)]
pub struct ClassifierHeads {
    pub head: Linear,
}

#[derive(Module, Debug)]
pub struct VisionTransformer {
    pub conv_proj: Conv2d,
    /// `[1, 1, dim]`.
    pub class_token: Param<Tensor<3>>,
    pub encoder: Encoder,
    pub heads: ClassifierHeads,
    pub patch_size: usize,
    pub image_size: usize,
}

/// A forward pass stopped at the input of the last encoder block.
pub struct LastBlockInput<'a> {
    pub block: &'a EncoderBlock,
    /// `[batch, tokens, dim]`, class token first.
    pub tokens: Tensor<3>,
}

impl VisionTransformer {
    pub fn new(shape: &VitShape, dim: usize, num_classes: usize, device: &Device) -> Self {
        let patch = shape.patch_size;
        let grid = shape.grid();
        let fan_in = 3 * patch * patch;
        Self {
            conv_proj: Conv2dConfig::new([3, dim], [patch, patch])
                .with_stride([patch, patch])
                .with_initializer(trunc_normal((1.0 / fan_in as f64).sqrt()))
                .init(device)
                .with_zero_bias(dim, device),
            class_token: Initializer::Zeros.init([1, 1, dim], device),
            encoder: Encoder {
                // "from BERT": normal with std 0.02.
                pos_embedding: Initializer::Normal {
                    mean: 0.0,
                    std: 0.02,
                }
                .init([1, grid * grid + 1, dim], device),
                layers: (0..shape.layers)
                    .map(|_| EncoderBlock::new(dim, shape.heads, device))
                    .collect(),
                ln: layer_norm(dim, device),
            },
            heads: ClassifierHeads {
                // torchvision starts the classifier at zero.
                head: LinearConfig::new(dim, num_classes)
                    .with_initializer(Initializer::Zeros)
                    .init(device),
            },
            patch_size: patch,
            image_size: shape.image_size,
        }
    }

    /// Patches per side.
    pub fn grid(&self) -> usize {
        self.image_size / self.patch_size
    }

    /// Patch embedding, class token and position embedding: `[batch, 1 + patches, dim]`.
    fn embed(&self, images: Tensor<4>) -> Tensor<3> {
        let [batch, _, height, width] = images.dims();
        assert!(
            height == self.image_size && width == self.image_size,
            "this ViT was built for {0}x{0} images (its position embedding is sized for them) but got {height}x{width}",
            self.image_size
        );
        let patches = self.conv_proj.forward(images);
        let [_, dim, rows, columns] = patches.dims();
        let patches = patches
            .reshape([batch, dim, rows * columns])
            .swap_dims(1, 2);
        let class_token = self.class_token.val().expand([batch, 1, dim]);
        Tensor::cat(vec![class_token, patches], 1) + self.encoder.pos_embedding.val()
    }

    /// Everything before the last encoder block.
    pub fn last_block_input(&self, images: Tensor<4>) -> LastBlockInput<'_> {
        let (block, earlier) = self
            .encoder
            .layers
            .split_last()
            .expect("a ViT has at least one encoder block");
        let tokens = earlier
            .iter()
            .fold(self.embed(images), |x, layer| layer.forward(x));
        LastBlockInput { block, tokens }
    }

    /// Final LayerNorm and the classifier on the class token.
    fn classify(&self, tokens: Tensor<3>) -> Tensor<2> {
        let [batch, _, dim] = tokens.dims();
        let class_token = self
            .encoder
            .ln
            .forward(tokens)
            .narrow(1, 0, 1)
            .reshape([batch, dim]);
        linear(&self.heads.head, class_token)
    }

    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let input = self.last_block_input(images);
        self.classify(input.block.forward(input.tokens))
    }

    /// The last block's `ln_1` output split into the patch tokens on their grid
    /// (`[batch, dim, rows, columns]`), the class-token row (`[batch, 1, dim]`) and the
    /// block's input (the residual stream), the latter two detached.
    pub fn attribution_split(&self, images: Tensor<4>) -> (Tensor<4>, Tensor<3>, Tensor<3>) {
        let input = self.last_block_input(images);
        let normed = input.block.ln_1.forward(input.tokens.clone());
        let [batch, tokens, dim] = normed.dims();
        let grid = self.grid();
        let class_row = normed.clone().narrow(1, 0, 1).detach();
        let patches = normed
            .narrow(1, 1, tokens - 1)
            .reshape([batch, grid, grid, dim])
            .permute([0, 3, 1, 2]);
        (patches, class_row, input.tokens.detach())
    }

    /// The forward pass after the last block's `ln_1`, from patch activations on their grid.
    pub fn attribution_resume(
        &self,
        activations: Tensor<4>,
        class_row: &Tensor<3>,
        residual: &Tensor<3>,
    ) -> Tensor<2> {
        let [batch, dim, rows, columns] = activations.dims();
        let patches = activations
            .permute([0, 2, 3, 1])
            .reshape([batch, rows * columns, dim]);
        let normed = Tensor::cat(vec![class_row.clone(), patches], 1);
        let block = self
            .encoder
            .layers
            .last()
            .expect("a ViT has at least one encoder block");
        self.classify(block.after_norm(normed, residual.clone()))
    }

    /// Per-head attention weights (`[batch, heads, tokens, tokens]`) of every block in forward
    /// order, for attention rollout.
    pub fn all_block_attention(&self, images: Tensor<4>) -> Vec<Tensor<4>> {
        let mut tokens = self.embed(images);
        let mut weights = Vec::with_capacity(self.encoder.layers.len());
        for layer in &self.encoder.layers {
            weights.push(
                layer
                    .self_attention
                    .attend(layer.ln_1.forward(tokens.clone()))
                    .weights,
            );
            tokens = layer.forward(tokens);
        }
        weights
    }

    /// The attention pass of the last block (its keys and per-head weights).
    pub fn last_block_attention(&self, images: Tensor<4>) -> SelfAttention {
        let input = self.last_block_input(images);
        input
            .block
            .self_attention
            .attend(input.block.ln_1.forward(input.tokens))
    }
}

/// torchvision zeroes the patch convolution's bias.
trait WithZeroBias {
    fn with_zero_bias(self, channels: usize, device: &Device) -> Self;
}

impl WithZeroBias for Conv2d {
    fn with_zero_bias(mut self, channels: usize, device: &Device) -> Self {
        if self.bias.is_some() {
            self.bias = Some(Initializer::Zeros.init([channels], device));
        }
        self
    }
}
