//! The vision models pvr trains and prunes, behind one [`Network`] type that every stage uses.
//!
//! Stages never match on the architecture themselves: they call [`Network::forward`] for logits
//! and [`Network::features`] / [`Network::head`] where they need the split at the layer that
//! attribution methods read.

pub mod guided_relu;
pub mod params;
pub mod resnet;

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::spec::{ModelSpec, Stem};
pub use guided_relu::ReluMode;
use resnet::{ResNet, ResNetDepth};

/// Architectures pvr can build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Architecture {
    ResNet18,
    ResNet50,
}

impl Architecture {
    pub const ALL: [Architecture; 2] = [Architecture::ResNet18, Architecture::ResNet50];

    pub fn name(&self) -> &'static str {
        match self {
            Architecture::ResNet18 => "resnet18",
            Architecture::ResNet50 => "resnet50",
        }
    }

    /// Whether every nonlinearity is a ReLU, so Guided Backprop is defined (GELU networks have no
    /// guided variant).
    pub fn relu_only(&self) -> bool {
        match self {
            Architecture::ResNet18 | Architecture::ResNet50 => true,
        }
    }

    /// Whether the network has self-attention, so attention maps are defined.
    pub fn has_attention(&self) -> bool {
        match self {
            Architecture::ResNet18 | Architecture::ResNet50 => false,
        }
    }

    /// Smallest input side the network accepts: each downsampling step must leave at least one
    /// pixel (ResNets halve the size 3 times after the stem; the ImageNet stem halves twice more).
    pub fn min_image_size(&self, stem: Stem) -> usize {
        match stem {
            Stem::Small => 8,
            Stem::Imagenet => 32,
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Architecture {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Architecture::ALL
            .into_iter()
            .find(|arch| arch.name() == text)
            .ok_or_else(|| {
                let known: Vec<_> = Architecture::ALL.iter().map(|a| a.name()).collect();
                format!(
                    "unknown architecture `{text}`; pvr knows {}",
                    known.join(", ")
                )
            })
    }
}

/// Everything needed to build a network, with the class count resolved from the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkConfig {
    pub arch: Architecture,
    pub width: usize,
    pub stem: Stem,
    pub num_classes: usize,
}

impl NetworkConfig {
    pub fn from_spec(spec: &ModelSpec, num_classes: usize) -> Result<Self, String> {
        Ok(Self {
            arch: spec.arch.parse()?,
            width: spec.width,
            stem: spec.stem,
            num_classes,
        })
    }

    /// A freshly initialised network with weights drawn from `seed`.
    ///
    /// Burn draws initial weights from a generator shared by the whole process, so seeding and
    /// drawing happen under one lock: another thread building a network at the same moment (an
    /// evaluation stage loading a checkpoint, say) cannot shift this one's draws.
    pub fn init(&self, device: &Device, seed: u64) -> Network {
        static INIT_LOCK: Mutex<()> = Mutex::new(());
        let _guard = INIT_LOCK
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        device.seed(seed);
        self.build(device)
    }

    fn build(&self, device: &Device) -> Network {
        match self.arch {
            Architecture::ResNet18 => Network::ResNet(ResNet::new(
                ResNetDepth::RESNET18,
                self.width,
                self.stem,
                self.num_classes,
                device,
            )),
            Architecture::ResNet50 => Network::ResNet(ResNet::new(
                ResNetDepth::RESNET50,
                self.width,
                self.stem,
                self.num_classes,
                device,
            )),
        }
    }
}

/// Any network pvr builds.
#[derive(Module, Debug)]
pub enum Network {
    ResNet(ResNet),
}

/// A forward pass cut at the layer attribution methods read (GradCAM's layer).
///
/// Attribution code detaches `activations`, marks them as requiring gradients and calls
/// [`Network::attribution_resume`] to get logits whose gradient reaches them, without knowing the
/// architecture.
pub struct AttributionSplit {
    /// `[batch, channels, h, w]`: ResNet's `layer4` output; for transformers, the tokens of the
    /// layer laid out on the patch grid (class token dropped).
    pub activations: Tensor<4>,
    /// What the rest of the forward pass needs besides the activations.
    pub rest: ForwardRest,
}

/// Architecture-specific state carried from [`Network::attribution_split`] to
/// [`Network::attribution_resume`].
pub enum ForwardRest {
    /// CNNs: the activations are all the head needs.
    Nothing,
}

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
        }
    }

    /// Class logits with every ReLU guided ([`ReluMode::Guided`]): the forward values are those
    /// of [`Network::forward`], the input gradient is Guided Backprop's. An error for networks
    /// whose activations are not ReLUs (transformers use GELU, which has no guided variant).
    pub fn forward_guided(&self, images: Tensor<4>) -> anyhow::Result<Tensor<2>> {
        match self {
            Network::ResNet(net) => Ok(net.head(net.features_with(images, ReluMode::Guided))),
        }
    }

    /// The forward pass up to the attribution layer (ResNet: the output of `layer4`).
    pub fn attribution_split(&self, images: Tensor<4>) -> AttributionSplit {
        match self {
            Network::ResNet(net) => AttributionSplit {
                activations: net.features(images),
                rest: ForwardRest::Nothing,
            },
        }
    }

    /// The rest of the forward pass from (possibly detached) attribution-layer activations.
    pub fn attribution_resume(&self, activations: Tensor<4>, rest: &ForwardRest) -> Tensor<2> {
        match (self, rest) {
            (Network::ResNet(net), ForwardRest::Nothing) => net.head(activations),
        }
    }

    /// Patch features for LOST (ResNet: the `layer4` map, one patch per output position).
    pub fn patch_features(&self, images: Tensor<4>) -> PatchFeatures {
        match self {
            Network::ResNet(net) => {
                let [_, _, height, _] = images.dims();
                let map = net.features(images);
                let [batch, channels, rows, columns] = map.dims();
                PatchFeatures {
                    features: map
                        .reshape([batch, channels, rows * columns])
                        .swap_dims(1, 2),
                    grid: (rows, columns),
                    stride: height.div_ceil(rows),
                }
            }
        }
    }

    /// Per-head attention of the last block, `[batch, heads, tokens, tokens]`; `None` for
    /// networks without attention.
    pub fn last_block_attention(&self, _images: Tensor<4>) -> Option<Tensor<4>> {
        match self {
            Network::ResNet(_) => None,
        }
    }

    /// Per-head attention of every block in forward order, each `[batch, heads, tokens, tokens]`
    /// with the token layout of [`Network::last_block_attention`], for attention rollout; `None`
    /// for networks without attention.
    pub fn all_block_attention(&self, _images: Tensor<4>) -> Option<Vec<Tensor<4>>> {
        match self {
            Network::ResNet(_) => None,
        }
    }
}
