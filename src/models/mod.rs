//! The vision models pvr trains and prunes, behind one [`Network`] type that every stage uses.
//!
//! Stages never match on the architecture themselves: they call [`Network::forward`] for logits
//! and [`Network::features`] / [`Network::head`] where they need the split at the layer that
//! attribution methods read.

pub mod params;
pub mod resnet;

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::spec::{ModelSpec, Stem};
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

impl Network {
    /// Class logits `[batch, classes]` for normalised images `[batch, 3, height, width]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Network::ResNet(net) => net.forward(images),
        }
    }

    /// Activations at the attribution layer (ResNet: the output of `layer4`).
    pub fn features(&self, images: Tensor<4>) -> Tensor<4> {
        match self {
            Network::ResNet(net) => net.features(images),
        }
    }

    /// The rest of the network after [`Network::features`].
    pub fn head(&self, features: Tensor<4>) -> Tensor<2> {
        match self {
            Network::ResNet(net) => net.head(features),
        }
    }
}
