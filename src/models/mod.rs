//! The vision models pvr trains and prunes, behind one [`Network`] type that every stage uses.
//!
//! Stages never match on the architecture themselves: they call [`Network::forward`] for logits
//! and the analysis hooks ([`Network::attribution_split`] / [`Network::attribution_resume`],
//! [`Network::patch_features`], [`Network::last_block_attention`]), which reuse each
//! architecture's forward pass rather than copying it.

pub mod add_relu;
pub mod all_reduce;
pub mod arch;
pub mod blocks;
pub mod config;
pub mod fast_gelu;
pub mod fast_math;
pub mod fast_softmax;
pub mod flex_host;
pub mod flops;
pub mod fused_batch_norm;
pub mod fused_linear;
pub mod gemm_conv;
pub mod guided_relu;
pub mod max_pool;
pub mod memory;
pub mod params;
pub mod resnet;
mod resnet_shape;
pub mod sparse;
pub mod swin;
pub mod sync_batch_norm;
pub mod vit;
pub mod window_attention;

#[cfg(test)]
mod tests;

/// What the models' tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use burn::tensor::{Device, Tensor, TensorData};

    use crate::data::rng::Rng;

    /// Standard normal values from their own generator: the device's is shared by the tests
    /// that run at once, so what a test drew from it would depend on the others.
    pub fn normal<const D: usize>(shape: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
        let mut rng = Rng::new(seed);
        let values: Vec<f32> = (0..shape.iter().product()).map(|_| rng.normal()).collect();
        Tensor::from_data(TensorData::new(values, shape), device)
    }

    /// A tensor's values as `f32`, in row-major order.
    pub fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
        tensor
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("float tensors convert to f32")
    }
}

use burn::module::Module;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

pub use arch::{Architecture, MAX_SWIN_STAGES, Stem, SwinShape, VitShape};
pub use config::NetworkConfig;
pub use guided_relu::ReluMode;
use resnet::ResNet;
use sparse::{SparsePolicy, SparseSummary};
use swin::SwinTransformer;
use vit::VisionTransformer;

/// Any network pvr builds.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Network {
    ResNet(ResNet),
    Vit(VisionTransformer),
    Swin(SwinTransformer),
}

/// A forward pass cut at the layer attribution methods read (GradCAM's layer).
///
/// Attribution code detaches `activations`, marks them as requiring gradients and calls
/// [`Network::attribution_resume`] to get logits whose gradient reaches them, without knowing the
/// architecture.
pub struct AttributionSplit {
    /// `[batch, channels, h, w]`. ResNet: the output of `layer4`. ViT: the output of the last
    /// encoder block's `ln_1`, patch tokens on the patch grid (class token dropped). Swin: the
    /// output of the last block of the last stage (before the final norm).
    pub activations: Tensor<4>,
    /// What the rest of the forward pass needs besides the activations.
    pub rest: ForwardRest,
}

/// Architecture-specific state carried from [`Network::attribution_split`] to
/// [`Network::attribution_resume`]. Its tensors are detached: gradients of the resumed pass
/// reach the activations only.
#[allow(clippy::large_enum_variant)] // one value per split; boxing would buy nothing
pub enum ForwardRest {
    /// ResNet and Swin: the activations are all the head needs.
    Nothing,
    /// ViT: the rest of the last block needs the class token's row of `ln_1`'s output and the
    /// block's input, which the attention output is added to.
    Vit {
        /// `[batch, 1, dim]`.
        class_row: Tensor<3>,
        /// `[batch, tokens, dim]`, class token first.
        residual: Tensor<3>,
    },
}

/// Options of [`Network::patch_features_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchOptions {
    /// CNNs: run the last stage with its stride replaced by dilation (torchvision's
    /// `replace_stride_with_dilation` for `layer4`; stride 32 becomes 16 with the ImageNet
    /// stem), from the same weights. LOST's default for ResNets.
    pub dilate_last_stage: bool,
}

/// Epsilon of the LayerNorm over ResNet patch features (PyTorch's `nn.LayerNorm` default).
const PATCH_LAYER_NORM_EPS: f64 = 1e-5;

/// Per-patch features for object discovery (LOST).
pub struct PatchFeatures {
    /// `[batch, patches, dim]`, patches in row-major order over the grid.
    pub features: Tensor<3>,
    /// (rows, columns) of the patch grid.
    pub grid: (usize, usize),
    /// Input pixels per patch side.
    pub stride: usize,
}

impl Network {
    /// Class logits `[batch, classes]` for normalised images `[batch, 3, height, width]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Network::ResNet(net) => net.forward(images),
            Network::Vit(net) => net.forward(images),
            Network::Swin(net) => net.forward(images),
        }
    }

    /// This network with its pruned convolutions on sparse kernels where they pay under
    /// `policy` (ResNets on the CPU; other networks and devices unchanged), and what was chosen
    /// per layer. For frozen networks: analyses, not training. See [`sparse`].
    pub fn with_sparse_kernels(self, policy: SparsePolicy) -> (Self, SparseSummary) {
        match self {
            Network::ResNet(net) => {
                let (net, summary) = net.with_sparse_kernels(policy);
                (Network::ResNet(net), summary)
            }
            other => (other, SparseSummary::default()),
        }
    }

    /// Class logits with every ReLU guided ([`ReluMode::Guided`]): the forward values are those
    /// of [`Network::forward`], the input gradient is Guided Backprop's. An error for networks
    /// whose activations are not ReLUs (transformers use GELU, which has no guided variant).
    pub fn forward_guided(&self, images: Tensor<4>) -> anyhow::Result<Tensor<2>> {
        match self {
            Network::ResNet(net) => {
                Ok(net.head(net.features_with(images, false, ReluMode::Guided)))
            }
            Network::Vit(_) | Network::Swin(_) => anyhow::bail!(
                "Guided Backprop is defined for ReLU networks only; transformers use GELU"
            ),
        }
    }

    /// The forward pass up to the attribution layer (see [`AttributionSplit::activations`]).
    pub fn attribution_split(&self, images: Tensor<4>) -> AttributionSplit {
        match self {
            Network::ResNet(net) => AttributionSplit {
                activations: net.features(images),
                rest: ForwardRest::Nothing,
            },
            Network::Vit(net) => {
                let (activations, class_row, residual) = net.attribution_split(images);
                AttributionSplit {
                    activations,
                    rest: ForwardRest::Vit {
                        class_row,
                        residual,
                    },
                }
            }
            Network::Swin(net) => AttributionSplit {
                activations: net.features(images).permute([0, 3, 1, 2]),
                rest: ForwardRest::Nothing,
            },
        }
    }

    /// The rest of the forward pass from (possibly detached) attribution-layer activations.
    ///
    /// # Panics
    /// When `rest` comes from another architecture's split.
    pub fn attribution_resume(&self, activations: Tensor<4>, rest: &ForwardRest) -> Tensor<2> {
        match (self, rest) {
            (Network::ResNet(net), ForwardRest::Nothing) => net.head(activations),
            (
                Network::Vit(net),
                ForwardRest::Vit {
                    class_row,
                    residual,
                },
            ) => net.attribution_resume(activations, class_row, residual),
            (Network::Swin(net), ForwardRest::Nothing) => {
                net.head(activations.permute([0, 2, 3, 1]))
            }
            _ => panic!("attribution_resume got the ForwardRest of another architecture"),
        }
    }

    /// Patch features for LOST with default [`PatchOptions`].
    pub fn patch_features(&self, images: Tensor<4>) -> PatchFeatures {
        self.patch_features_with(images, PatchOptions::default())
    }

    /// Patch features for LOST. ResNet: the `layer4` map (optionally dilated), one patch per
    /// position, then, per image, a LayerNorm over the whole `(patches, channels)` array with
    /// unit weight and zero bias, as LOST does for CNN features. ViT: the keys of the last
    /// block's attention, heads concatenated, class token dropped. Swin: the last stage's map.
    /// Images should be a multiple of [`Network::patch_stride`] in both sides so that patches
    /// tile them exactly (and, for a ViT, of [`Network::fixed_input_size`]).
    ///
    /// # Panics
    /// When `options.dilate_last_stage` is asked of a transformer: it has no strided last stage
    /// (see [`Network::can_dilate_last_stage`]).
    pub fn patch_features_with(&self, images: Tensor<4>, options: PatchOptions) -> PatchFeatures {
        assert!(
            !options.dilate_last_stage || self.can_dilate_last_stage(),
            "only CNNs have a strided last stage to dilate"
        );
        let [_, _, height, _] = images.dims();
        let from_map = |map: Tensor<4>| {
            let [batch, channels, rows, columns] = map.dims();
            PatchFeatures {
                features: map
                    .reshape([batch, channels, rows * columns])
                    .swap_dims(1, 2),
                grid: (rows, columns),
                stride: height.div_ceil(rows),
            }
        };
        match self {
            Network::ResNet(net) => {
                let map = net.features_with(images, options.dilate_last_stage, ReluMode::Standard);
                let [batch, channels, rows, columns] = map.dims();
                let patches = rows * columns;
                let flat = map.reshape([batch, channels * patches]);
                let (variance, mean) = flat.clone().var_mean_bias(1);
                let normalised = (flat - mean) / (variance + PATCH_LAYER_NORM_EPS).sqrt();
                PatchFeatures {
                    features: normalised
                        .reshape([batch, channels, patches])
                        .swap_dims(1, 2),
                    grid: (rows, columns),
                    stride: net.feature_stride(options.dilate_last_stage),
                }
            }
            Network::Swin(net) => from_map(net.features(images).permute([0, 3, 1, 2])),
            Network::Vit(net) => {
                let keys = net.last_block_attention(images).keys;
                let [batch, heads, tokens, head_dim] = keys.dims();
                let grid = net.grid();
                PatchFeatures {
                    features: keys
                        .swap_dims(1, 2)
                        .reshape([batch, tokens, heads * head_dim])
                        .narrow(1, 1, tokens - 1),
                    grid: (grid, grid),
                    stride: net.patch_size,
                }
            }
        }
    }

    /// Input pixels per patch side that [`Network::patch_features_with`] gives with `options`.
    pub fn patch_stride(&self, options: PatchOptions) -> usize {
        match self {
            Network::ResNet(net) => net.feature_stride(options.dilate_last_stage),
            Network::Vit(net) => net.patch_size,
            // The patch embedding's stride, doubled by every patch merging.
            Network::Swin(net) => net
                .features
                .iter()
                .map(|feature| match feature {
                    swin::SwinFeature::PatchEmbed(layers) => layers
                        .iter()
                        .find_map(|layer| match layer {
                            swin::PatchEmbedLayer::Conv(conv) => Some(conv.stride[0]),
                            _ => None,
                        })
                        .unwrap_or(1),
                    swin::SwinFeature::Merge(_) => 2,
                    swin::SwinFeature::Stage(_) => 1,
                })
                .product(),
        }
    }

    /// Whether [`PatchOptions::dilate_last_stage`] applies: CNNs only.
    pub fn can_dilate_last_stage(&self) -> bool {
        matches!(self, Network::ResNet(_))
    }

    /// The one input side the network accepts, when it has one: a ViT's position embedding is
    /// sized for its `image_size`. None when any size (of whole patches) works.
    pub fn fixed_input_size(&self) -> Option<usize> {
        match self {
            Network::Vit(net) => Some(net.image_size),
            Network::ResNet(_) | Network::Swin(_) => None,
        }
    }

    /// Per-head attention weights of the last block (softmax over the last axis); `None` for
    /// networks without attention.
    ///
    /// ViT: `[batch, heads, tokens, tokens]` over all tokens, the class token first, then the
    /// patches in row-major order. Swin: `[batch * windows, heads, w^2, w^2]` for windows of
    /// side `w`, one row per window of the (padded, and for shifted blocks cyclically shifted)
    /// last-stage map; see [`window_attention::WindowAttention::weights`].
    pub fn last_block_attention(&self, images: Tensor<4>) -> Option<Tensor<4>> {
        match self {
            Network::ResNet(_) => None,
            Network::Vit(net) => Some(net.last_block_attention(images).weights),
            Network::Swin(net) => Some(net.last_block_attention(images)),
        }
    }

    /// Per-head attention of every block in forward order, each `[batch, heads, tokens, tokens]`
    /// with the token layout of [`Network::last_block_attention`], for attention rollout; `None`
    /// for networks without attention. Swin's shifted windows have no token-to-token chain
    /// across blocks to roll out, so it gives `None` too.
    pub fn all_block_attention(&self, images: Tensor<4>) -> Option<Vec<Tensor<4>>> {
        match self {
            Network::ResNet(_) | Network::Swin(_) => None,
            Network::Vit(net) => Some(net.all_block_attention(images)),
        }
    }
}

#[cfg(test)]
mod patch_tests;
