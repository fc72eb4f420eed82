//! From a spec's `[model]` section to a buildable [`NetworkConfig`], with every problem
//! reported against the key that causes it.

use crate::models::{Architecture, MAX_SWIN_STAGES, NetworkConfig, Stem};
use crate::spec::{self, ModelSpec, Problems};

/// The network a `[model]` section describes for `image_size` px inputs.
pub fn network_config(
    spec: &ModelSpec,
    image_size: usize,
    num_classes: usize,
) -> Result<NetworkConfig, String> {
    let (arch, problems) = resolve(spec, image_size);
    match arch {
        Some(arch) if problems.is_empty() => Ok(NetworkConfig {
            width: spec.width.unwrap_or(arch.default_width()),
            stem: if arch.is_transformer() {
                Stem::Small
            } else {
                stem(spec.stem)
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

/// Problems of a `[model]` section for `image_size` px inputs, as (dotted key, message); empty
/// when the network can be built.
pub fn model_problems(spec: &ModelSpec, image_size: usize) -> Problems {
    resolve(spec, image_size).1
}

/// The architecture a `[model]` section names, with its shape keys applied, and every problem.
fn resolve(spec: &ModelSpec, image_size: usize) -> (Option<Architecture>, Problems) {
    let mut problems = Problems::new();
    let base: Architecture = match spec.arch.parse() {
        Ok(arch) => arch,
        Err(message) => {
            problems.add("model.arch", message);
            return (None, problems);
        }
    };
    check_shape_keys(spec, &base, &mut problems);
    check_ranges(spec, &mut problems);
    if !problems.is_empty() {
        return (None, problems);
    }
    let arch = apply_shape_keys(spec, base, image_size);
    check_heads(spec, &arch, &mut problems);
    if let Some(message) = arch.image_size_problem(stem(spec.stem), image_size) {
        problems.add("data.image_size", message);
    }
    (Some(arch), problems)
}

/// Shape keys given for an architecture they do not apply to, or that torchvision's fixes.
fn check_shape_keys(spec: &ModelSpec, base: &Architecture, problems: &mut Problems) {
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
        let model_key = format!("model.{key}");
        if !applicable.contains(key) {
            let owners = match *key {
                "layers" => "`vit`",
                "depths" | "window_size" => "`swin`",
                _ => "`vit` and `swin`",
            };
            problems.add(
                &model_key,
                format!("`{key}` does not apply to {name}; it is a setting of {owners}"),
            );
        } else if fixed {
            problems.add(
                &model_key,
                format!(
                    "{name} is torchvision's architecture and fixes `{key}`; use `arch = \"{family}\"` to choose it"
                ),
            );
        }
    }
}

/// Numeric keys outside what the architectures accept.
fn check_ranges(spec: &ModelSpec, problems: &mut Problems) {
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
            problems.add(
                &format!("model.{key}"),
                format!("{value} is not in {low}..={high}"),
            );
        }
    }
    if let Some(depths) = &spec.depths
        && (depths.is_empty()
            || depths.len() > MAX_SWIN_STAGES
            || depths.iter().any(|&d| !in_range(d, 1, 32)))
    {
        problems.add(
            "model.depths",
            format!("{depths:?} must list 1 to {MAX_SWIN_STAGES} stages of 1..=32 blocks each"),
        );
    }
}

/// The small families' shape keys applied to their defaults.
fn apply_shape_keys(spec: &ModelSpec, base: Architecture, image_size: usize) -> Architecture {
    match base {
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
    }
}

/// A transformer's width must split evenly over its heads.
fn check_heads(spec: &ModelSpec, arch: &Architecture, problems: &mut Problems) {
    let width = spec.width.unwrap_or(arch.default_width());
    let heads = match arch {
        Architecture::Vit(shape) => shape.heads,
        Architecture::Swin(shape) => shape.heads,
        _ => return,
    };
    if !width.is_multiple_of(heads) {
        let key = if spec.width.is_some() {
            "model.width"
        } else {
            "model.heads"
        };
        problems.add(
            key,
            format!(
                "width {width} is not divisible by {heads} heads: each head takes width / heads channels"
            ),
        );
    }
}

/// The spec's stem choice as the model's.
fn stem(stem: spec::Stem) -> Stem {
    match stem {
        spec::Stem::Small => Stem::Small,
        spec::Stem::Imagenet => Stem::Imagenet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{SwinShape, VitShape};
    use crate::spec;

    fn spec(arch: &str) -> ModelSpec {
        ModelSpec {
            arch: arch.into(),
            ..ModelSpec::default()
        }
    }

    fn keys(problems: &Problems) -> Vec<&str> {
        problems.iter().map(|(key, _)| key.as_str()).collect()
    }

    #[test]
    fn presets_resolve_to_torchvision_shapes() {
        let vit = network_config(&spec("vit_b_32"), 224, 1000).unwrap();
        assert_eq!(vit.arch, Architecture::Vit(VitShape::B_32));
        assert_eq!(vit.width, 768);
        let swin = network_config(&spec("swin_v2_t"), 256, 1000).unwrap();
        assert_eq!(swin.arch, Architecture::Swin(SwinShape::V2_T));
        assert_eq!(swin.width, 96);
        let resnet = network_config(&spec("resnet18"), 32, 10).unwrap();
        assert_eq!((resnet.arch, resnet.width), (Architecture::ResNet18, 64));
    }

    #[test]
    fn small_families_take_their_keys() {
        let model = ModelSpec {
            patch_size: Some(8),
            layers: Some(3),
            heads: Some(2),
            width: Some(48),
            stem: spec::Stem::Imagenet,
            ..spec("vit")
        };
        let config = network_config(&model, 64, 10).unwrap();
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
        let config = network_config(&model, 32, 10).unwrap();
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
        assert!(
            problems.iter().next().unwrap().1.contains("`swin`"),
            "{problems:?}"
        );

        let problems = model_problems(
            &ModelSpec {
                layers: Some(6),
                ..spec("vit_b_32")
            },
            224,
        );
        assert_eq!(keys(&problems), ["model.layers"]);
        assert!(
            problems.iter().next().unwrap().1.contains("arch = \"vit\""),
            "{problems:?}"
        );

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
