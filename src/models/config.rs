//! From a spec's `[model]` section to a buildable network configuration, with every problem
//! reported against the key that causes it.

use std::sync::Mutex;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::Network;
use super::arch::{Architecture, MAX_SWIN_STAGES};
use super::resnet::{ResNet, ResNetDepth};
use super::swin::SwinTransformer;
use super::vit::VisionTransformer;
use crate::spec::{ModelSpec, Stem};

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
    /// The network a `[model]` section describes for `image_size` px inputs.
    pub fn from_spec(
        spec: &ModelSpec,
        image_size: usize,
        num_classes: usize,
    ) -> Result<Self, String> {
        let (arch, problems) = resolve(spec, image_size);
        match arch {
            Some(arch) if problems.is_empty() => Ok(Self {
                width: spec.width.unwrap_or(arch.default_width()),
                stem: if arch.is_transformer() {
                    Stem::Small
                } else {
                    spec.stem
                },
                arch,
                num_classes,
            }),
            _ => Err(problems
                .iter()
                .map(|(key, message)| format!("{key}: {message}"))
                .collect::<Vec<_>>()
                .join("; ")),
        }
    }

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

/// Problems of a `[model]` section for `image_size` px inputs, as (dotted key, message); empty
/// when the network can be built.
pub fn model_problems(spec: &ModelSpec, image_size: usize) -> Vec<(String, String)> {
    resolve(spec, image_size).1
}

/// The architecture a `[model]` section names, with its shape keys applied, and every problem.
fn resolve(spec: &ModelSpec, image_size: usize) -> (Option<Architecture>, Vec<(String, String)>) {
    let mut problems = Vec::new();
    let problem = |problems: &mut Vec<(String, String)>, key: &str, message: String| {
        problems.push((format!("model.{key}"), message))
    };
    let base: Architecture = match spec.arch.parse() {
        Ok(arch) => arch,
        Err(message) => {
            problem(&mut problems, "arch", message);
            return (None, problems);
        }
    };
    let name = base.name();
    let fixed = matches!(name, "vit_b_32" | "swin_v2_t");
    let (family, applicable): (&str, &[&str]) = match base {
        Architecture::Vit(_) => ("vit", &["patch_size", "layers", "heads"]),
        Architecture::Swin(_) => ("swin", &["patch_size", "depths", "heads", "window_size"]),
        _ => ("", &[]),
    };
    let given = [
        ("patch_size", spec.patch_size.is_some()),
        ("layers", spec.layers.is_some()),
        ("depths", spec.depths.is_some()),
        ("heads", spec.heads.is_some()),
        ("window_size", spec.window_size.is_some()),
    ];
    for (key, _) in given.iter().filter(|(_, is_given)| *is_given) {
        if !applicable.contains(key) {
            let owners = match *key {
                "layers" => "`vit`",
                "depths" | "window_size" => "`swin`",
                _ => "`vit` and `swin`",
            };
            problem(
                &mut problems,
                key,
                format!("`{key}` does not apply to {name}; it is a setting of {owners}"),
            );
        } else if fixed {
            problem(
                &mut problems,
                key,
                format!(
                    "{name} is torchvision's architecture and fixes `{key}`; use `arch = \"{family}\"` to choose it"
                ),
            );
        }
    }
    let in_range = |value: usize, low: usize, high: usize| (low..=high).contains(&value);
    let ranges = [
        ("width", spec.width, 1, 4096),
        ("patch_size", spec.patch_size, 1, 64),
        ("layers", spec.layers, 1, 48),
        ("heads", spec.heads, 1, 64),
        // The continuous position bias divides offsets by `window_size - 1`.
        ("window_size", spec.window_size, 2, 32),
    ];
    for (key, value, low, high) in ranges {
        if let Some(value) = value
            && !in_range(value, low, high)
        {
            problem(
                &mut problems,
                key,
                format!("{value} is not in {low}..={high}"),
            );
        }
    }
    if let Some(depths) = &spec.depths
        && (depths.is_empty()
            || depths.len() > MAX_SWIN_STAGES
            || depths.iter().any(|&d| !in_range(d, 1, 32)))
    {
        problem(
            &mut problems,
            "depths",
            format!("{depths:?} must list 1 to {MAX_SWIN_STAGES} stages of 1..=32 blocks each"),
        );
    }
    if !problems.is_empty() {
        return (None, problems);
    }

    let arch = match base {
        Architecture::Vit(mut shape) => {
            shape.patch_size = spec.patch_size.unwrap_or(shape.patch_size);
            shape.layers = spec.layers.unwrap_or(shape.layers);
            shape.heads = spec.heads.unwrap_or(shape.heads);
            shape.image_size = image_size;
            Architecture::Vit(shape)
        }
        Architecture::Swin(mut shape) => {
            shape.patch_size = spec.patch_size.unwrap_or(shape.patch_size);
            shape.window_size = spec.window_size.unwrap_or(shape.window_size);
            shape.heads = spec.heads.unwrap_or(shape.heads);
            if let Some(depths) = &spec.depths {
                shape.depths = [0; MAX_SWIN_STAGES];
                shape.depths[..depths.len()].copy_from_slice(depths);
            }
            Architecture::Swin(shape)
        }
        other => other,
    };
    let width = spec.width.unwrap_or(arch.default_width());
    let heads = match arch {
        Architecture::Vit(shape) => Some(shape.heads),
        Architecture::Swin(shape) => Some(shape.heads),
        _ => None,
    };
    if let Some(heads) = heads
        && !width.is_multiple_of(heads)
    {
        let key = if spec.width.is_some() {
            "width"
        } else {
            "heads"
        };
        problem(
            &mut problems,
            key,
            format!(
                "width {width} is not divisible by {heads} heads: each head takes width / heads channels"
            ),
        );
    }
    if let Some(message) = arch.image_size_problem(spec.stem, image_size) {
        problems.push(("data.image_size".into(), message));
    }
    (Some(arch), problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::arch::{SwinShape, VitShape};

    fn spec(arch: &str) -> ModelSpec {
        ModelSpec {
            arch: arch.into(),
            ..ModelSpec::default()
        }
    }

    fn keys(problems: &[(String, String)]) -> Vec<&str> {
        problems.iter().map(|(key, _)| key.as_str()).collect()
    }

    #[test]
    fn presets_resolve_to_torchvision_shapes() {
        let vit = NetworkConfig::from_spec(&spec("vit_b_32"), 224, 1000).unwrap();
        assert_eq!(vit.arch, Architecture::Vit(VitShape::B_32));
        assert_eq!(vit.width, 768);
        let swin = NetworkConfig::from_spec(&spec("swin_v2_t"), 256, 1000).unwrap();
        assert_eq!(swin.arch, Architecture::Swin(SwinShape::V2_T));
        assert_eq!(swin.width, 96);
        let resnet = NetworkConfig::from_spec(&spec("resnet18"), 32, 10).unwrap();
        assert_eq!((resnet.arch, resnet.width), (Architecture::ResNet18, 64));
    }

    #[test]
    fn small_families_take_their_keys() {
        let model = ModelSpec {
            patch_size: Some(8),
            layers: Some(3),
            heads: Some(2),
            width: Some(48),
            stem: Stem::Imagenet,
            ..spec("vit")
        };
        let config = NetworkConfig::from_spec(&model, 64, 10).unwrap();
        let Architecture::Vit(shape) = config.arch else {
            panic!("{config:?}")
        };
        assert_eq!(
            (
                shape.patch_size,
                shape.layers,
                shape.heads,
                shape.image_size
            ),
            (8, 3, 2, 64)
        );
        // The stem does not apply to transformers, so it cannot change their cache keys.
        assert_eq!(config.stem, Stem::Small);

        let model = ModelSpec {
            depths: Some(vec![1, 3]),
            window_size: Some(2),
            ..spec("swin")
        };
        let config = NetworkConfig::from_spec(&model, 32, 10).unwrap();
        let Architecture::Swin(shape) = config.arch else {
            panic!("{config:?}")
        };
        assert_eq!(shape.stage_depths(), &[1, 3]);
        assert_eq!(shape.window_size, 2);
    }

    #[test]
    fn misplaced_and_out_of_range_keys_are_named() {
        let problems = model_problems(
            &ModelSpec {
                window_size: Some(4),
                ..spec("vit")
            },
            32,
        );
        assert_eq!(keys(&problems), ["model.window_size"]);
        assert!(problems[0].1.contains("`swin`"), "{problems:?}");

        let problems = model_problems(
            &ModelSpec {
                layers: Some(6),
                ..spec("vit_b_32")
            },
            224,
        );
        assert_eq!(keys(&problems), ["model.layers"]);
        assert!(problems[0].1.contains("arch = \"vit\""), "{problems:?}");

        let problems = model_problems(
            &ModelSpec {
                heads: Some(4),
                ..spec("resnet18")
            },
            32,
        );
        assert_eq!(keys(&problems), ["model.heads"]);

        let problems = model_problems(
            &ModelSpec {
                depths: Some(vec![2, 2, 2, 2, 2]),
                window_size: Some(1),
                ..spec("swin")
            },
            32,
        );
        assert_eq!(keys(&problems), ["model.window_size", "model.depths"]);

        let problems = model_problems(
            &ModelSpec {
                width: Some(50),
                heads: Some(4),
                ..spec("vit")
            },
            32,
        );
        assert_eq!(keys(&problems), ["model.width"]);

        // 30 px is not a whole number of 4 px patches.
        assert_eq!(keys(&model_problems(&spec("vit"), 30)), ["data.image_size"]);
        assert!(model_problems(&spec("swin_v2_t"), 224).is_empty());
    }
}
