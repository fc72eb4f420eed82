//! A buildable network configuration: architecture, width, stem and classes. It is what a
//! checkpoint records and what stage keys hash (the `pool` module makes it from a spec).

use std::sync::Mutex;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::Network;
use super::arch::{Architecture, Stem};
use super::resnet::{ResNet, ResNetDepth};
use super::swin::SwinTransformer;
use super::vit::VisionTransformer;

/// Everything needed to build a network, with the class count resolved from the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkConfig {
    pub arch: Architecture,
    /// ResNet: channels of the first stage; ViT: hidden size; Swin: first-stage embedding size.
    pub width: usize,
    /// ResNets only (transformers always carry `Small`, so the setting cannot change their key).
    pub stem: Stem,
    pub num_classes: usize,
}

impl NetworkConfig {
    /// The shape in words: `width 64, patch 4, 6 layers, 4 heads`.
    pub fn describe(&self) -> String {
        match &self.arch {
            Architecture::ResNet18 | Architecture::ResNet50 => {
                let stem = match self.stem {
                    Stem::Small => "small",
                    Stem::Imagenet => "imagenet",
                };
                format!("width {}, {stem} stem", self.width)
            }
            Architecture::Vit(shape) => format!(
                "width {}, patch {}, {} layers, {} heads",
                self.width, shape.patch_size, shape.layers, shape.heads
            ),
            Architecture::Swin(shape) => format!(
                "width {}, patch {}, window {}, depths {:?}, heads {}",
                self.width,
                shape.patch_size,
                shape.window_size,
                shape.stage_depths(),
                shape.heads
            ),
        }
    }

    /// A freshly initialised network with weights drawn from `seed`.
    ///
    /// Burn draws initial weights from a generator shared by the whole process, so seeding and
    /// drawing happen under one lock: another thread building a network at the same moment (an
    /// evaluation stage loading a checkpoint, say) cannot shift this one's draws. Burn's
    /// parameters are lazy (drawn when first read), so every one is drawn here, in the module's
    /// order: otherwise the weights would depend on which layer the first forward pass reads
    /// first and on whatever else drew from the generator before it, and a network saved and
    /// loaded would not be the network the same seed trains from.
    pub fn init(&self, device: &Device, seed: u64) -> Network {
        static INIT_LOCK: Mutex<()> = Mutex::new(());
        let _guard = INIT_LOCK
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        device.seed(seed);
        let network = self.build(device);
        network.visit(&mut DrawNow);
        network
    }

    /// The network's structure with its parameters not drawn yet: for listing their shapes, or
    /// for loading weights into (nothing is allocated until a parameter is read).
    pub fn skeleton(&self, device: &Device) -> Network {
        self.build(device)
    }

    fn build(&self, device: &Device) -> Network {
        let resnet = |depth| {
            Network::ResNet(ResNet::new(
                depth,
                self.width,
                self.stem,
                self.num_classes,
                device,
            ))
        };
        match &self.arch {
            Architecture::ResNet18 => resnet(ResNetDepth::RESNET18),
            Architecture::ResNet50 => resnet(ResNetDepth::RESNET50),
            Architecture::Vit(shape) => Network::Vit(VisionTransformer::new(
                shape,
                self.width,
                self.num_classes,
                device,
            )),
            Architecture::Swin(shape) => Network::Swin(SwinTransformer::new(
                shape,
                self.width,
                self.num_classes,
                device,
            )),
        }
    }
}

/// Draws every lazy parameter of the module it visits.
struct DrawNow;

impl ModuleVisitor for DrawNow {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}
