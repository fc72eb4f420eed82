//! Which network to build: the architecture families, their torchvision presets, and the
//! checks that a configuration fits the images it will see.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Most stages a Swin network may have (torchvision's have 4).
pub const MAX_SWIN_STAGES: usize = 4;

/// The first layers of a ResNet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stem {
    /// 3x3 stride-1 convolution without max-pool: for 32-64 px images.
    Small,
    /// torchvision's 7x7 stride-2 convolution followed by a 3x3 stride-2 max-pool.
    Imagenet,
}

/// The shape of a vision transformer (torchvision's `VisionTransformer`); the hidden size is the
/// network's `width` and the MLP is 4x wider, as in every torchvision ViT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VitShape {
    /// Side of the square patches the stem convolution cuts (its kernel and stride).
    pub patch_size: usize,
    /// Encoder blocks.
    pub layers: usize,
    /// Attention heads per block.
    pub heads: usize,
    /// Side of the square input the position embedding is sized for (torchvision's `image_size`).
    pub image_size: usize,
}

impl VitShape {
    /// torchvision's `vit_b_32` (hidden size 768).
    pub const B_32: Self = Self {
        patch_size: 32,
        layers: 12,
        heads: 12,
        image_size: 224,
    };
    /// pvr's default small ViT for 32 px images: an 8x8 patch grid.
    pub const SMALL: Self = Self {
        patch_size: 4,
        layers: 6,
        heads: 4,
        image_size: 32,
    };

    /// Patches per side.
    pub fn grid(&self) -> usize {
        self.image_size / self.patch_size
    }
}

/// The shape of a Swin Transformer V2 (torchvision's `SwinTransformer` with the V2 block and
/// patch merging); the embedding size of the first stage is the network's `width`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwinShape {
    pub patch_size: usize,
    /// Side of the square attention windows.
    pub window_size: usize,
    /// Blocks per stage; the stages end at the first 0.
    pub depths: [usize; MAX_SWIN_STAGES],
    /// Heads of the first stage; each later stage doubles them and the width, as in torchvision.
    pub heads: usize,
}

impl SwinShape {
    /// torchvision's `swin_v2_t` (embedding size 96).
    pub const V2_T: Self = Self {
        patch_size: 4,
        window_size: 8,
        depths: [2, 2, 6, 2],
        heads: 3,
    };
    /// pvr's default small Swin for 32 px images: a 16x16 patch grid, 4x4 windows, 3 stages.
    pub const SMALL: Self = Self {
        patch_size: 2,
        window_size: 4,
        depths: [2, 2, 2, 0],
        heads: 2,
    };

    /// Blocks of each stage that exists.
    pub fn stage_depths(&self) -> &[usize] {
        let stages = self.depths.iter().take_while(|&&d| d > 0).count();
        &self.depths[..stages]
    }

    /// Heads of stage `stage` (0-based).
    pub fn heads_at(&self, stage: usize) -> usize {
        self.heads << stage
    }
}

/// Architectures pvr can build. ResNets are fixed in depth (their width is the network's
/// `width`); transformers carry their shape. `vit_b_32` and `swin_v2_t` are the torchvision
/// shapes of the `vit` and `swin` families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Architecture {
    ResNet18,
    ResNet50,
    Vit(VitShape),
    Swin(SwinShape),
}

impl Architecture {
    /// Every name the spec accepts, each at its default shape.
    pub const ALL: [Architecture; 6] = [
        Architecture::ResNet18,
        Architecture::ResNet50,
        Architecture::Vit(VitShape::B_32),
        Architecture::Swin(SwinShape::V2_T),
        Architecture::Vit(VitShape::SMALL),
        Architecture::Swin(SwinShape::SMALL),
    ];

    /// Whether every nonlinearity is a ReLU, so Guided Backprop is defined (the transformers'
    /// GELU has no guided variant).
    pub fn relu_only(&self) -> bool {
        matches!(self, Architecture::ResNet18 | Architecture::ResNet50)
    }

    /// Whether the network has self-attention, so attention maps are defined.
    pub fn has_attention(&self) -> bool {
        matches!(self, Architecture::Vit(_) | Architecture::Swin(_))
    }

    /// The spec name: a torchvision name when the shape is torchvision's, else the family.
    pub fn name(&self) -> &'static str {
        match self {
            Architecture::ResNet18 => "resnet18",
            Architecture::ResNet50 => "resnet50",
            Architecture::Vit(shape) => {
                let b32 = VitShape::B_32;
                if (shape.patch_size, shape.layers, shape.heads)
                    == (b32.patch_size, b32.layers, b32.heads)
                {
                    "vit_b_32"
                } else {
                    "vit"
                }
            }
            Architecture::Swin(shape) => {
                if *shape == SwinShape::V2_T {
                    "swin_v2_t"
                } else {
                    "swin"
                }
            }
        }
    }

    /// The width torchvision uses (ResNets: 64 channels; `vit_b_32`: 768; `swin_v2_t`: 96), or
    /// pvr's default for the small families.
    pub fn default_width(&self) -> usize {
        match self.name() {
            "vit_b_32" => 768,
            "swin_v2_t" => 96,
            "vit" => 64,
            "swin" => 32,
            _ => 64,
        }
    }

    /// The input side torchvision trains this architecture at (ResNets and ViTs 224, SwinV2
    /// 256), or 32 for the small families: what `pvr models` shows by default.
    pub fn reference_image_size(&self) -> usize {
        match self.name() {
            "vit" | "swin" => 32,
            "swin_v2_t" => 256,
            _ => 224,
        }
    }

    pub fn is_transformer(&self) -> bool {
        matches!(self, Architecture::Vit(_) | Architecture::Swin(_))
    }

    /// Smallest input side the network accepts: ResNets halve the size 3 times after the stem
    /// (the ImageNet stem halves twice more); transformers need one whole patch.
    pub fn min_image_size(&self, stem: Stem) -> usize {
        match (self, stem) {
            (Architecture::Vit(shape), _) => shape.patch_size,
            (Architecture::Swin(shape), _) => shape.patch_size,
            (_, Stem::Small) => 8,
            (_, Stem::Imagenet) => 32,
        }
    }

    /// Why `image_size` does not fit this network, if it does not. A ViT's patches must tile
    /// the image exactly (torchvision asserts it); Swin pads its maps to whole windows itself.
    pub fn image_size_problem(&self, stem: Stem, image_size: usize) -> Option<String> {
        let minimum = self.min_image_size(stem);
        if image_size < minimum || image_size > 1024 {
            return Some(match self {
                Architecture::Vit(_) | Architecture::Swin(_) => format!(
                    "{image_size} px is outside what {} with {minimum} px patches accepts ({minimum}..=1024 px)",
                    self.name()
                ),
                _ => format!(
                    "{image_size} px is outside what {} with the {stem:?} stem accepts ({minimum}..=1024 px)",
                    self.name()
                ),
            });
        }
        if let Architecture::Vit(shape) = self
            && !image_size.is_multiple_of(shape.patch_size)
        {
            return Some(format!(
                "{image_size} px is not a multiple of the {} px patches of {}: the patch grid must tile the image",
                shape.patch_size,
                self.name()
            ));
        }
        None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_presets_are_distinct() {
        for arch in Architecture::ALL {
            assert_eq!(arch.name().parse::<Architecture>().unwrap(), arch);
        }
        let err = "vit_b_16".parse::<Architecture>().unwrap_err();
        assert!(err.contains("vit_b_32") && err.contains("swin"), "{err}");
    }

    #[test]
    fn torchvision_names_follow_the_shape() {
        let other = VitShape {
            layers: 6,
            ..VitShape::B_32
        };
        assert_eq!(Architecture::Vit(other).name(), "vit");
        // The position embedding's image size does not change what the architecture is.
        let at_384 = VitShape {
            image_size: 384,
            ..VitShape::B_32
        };
        assert_eq!(Architecture::Vit(at_384).name(), "vit_b_32");
        assert_eq!(SwinShape::SMALL.stage_depths(), &[2, 2, 2]);
        assert_eq!(SwinShape::V2_T.heads_at(3), 24);
    }

    #[test]
    fn image_sizes_must_fit_the_patches() {
        let vit = Architecture::Vit(VitShape::SMALL);
        assert!(vit.image_size_problem(Stem::Small, 32).is_none());
        assert!(
            vit.image_size_problem(Stem::Small, 30)
                .unwrap()
                .contains("multiple")
        );
        assert!(vit.image_size_problem(Stem::Small, 2).is_some());
        let swin = Architecture::Swin(SwinShape::V2_T);
        // torchvision's swin_v2_t runs at 224 px although 56 is not a multiple of its window.
        assert!(swin.image_size_problem(Stem::Small, 224).is_none());
        assert!(swin.image_size_problem(Stem::Small, 3).is_some());
        assert!(
            Architecture::ResNet18
                .image_size_problem(Stem::Imagenet, 16)
                .is_some()
        );
    }
}
