//! torchvision parameter names <-> pvr parameter paths, per architecture, and the buffers
//! torchvision's state dicts hold that pvr computes instead.
//!
//! pvr's modules are named after torchvision's, so most paths are identical. What differs:
//! ResNet's `downsample` is an index-only `nn.Sequential` in torchvision (`downsample.0/1`,
//! pvr `downsample.conv/bn`); ViT's encoder blocks are named `encoder_layer_N` in torchvision
//! and indexed `N` in pvr. Normalisation parameters (`weight`/`bias` vs Burn's `gamma`/`beta`)
//! and the layout of linear weights are burn-store's adapters' business.

use crate::models::Architecture;
use crate::models::window_attention::{relative_coords_table, relative_position_index};

/// pvr's path of the torchvision parameter or buffer `name`.
pub fn to_pvr_path(arch: Architecture, name: &str) -> String {
    match arch {
        Architecture::ResNet18 | Architecture::ResNet50 => {
            replace_segments(name, &RESNET_SEGMENTS, false)
        }
        Architecture::Vit(_) => vit_block(name, |segment| {
            segment.strip_prefix("encoder_layer_").map(str::to_string)
        }),
        Architecture::Swin(_) => name.to_string(),
    }
}

/// torchvision's name of pvr's parameter path `path`.
pub fn to_torch_name(arch: Architecture, path: &str) -> String {
    match arch {
        Architecture::ResNet18 | Architecture::ResNet50 => {
            replace_segments(path, &RESNET_SEGMENTS, true)
        }
        Architecture::Vit(_) => vit_block(path, |segment| {
            segment
                .chars()
                .all(|c| c.is_ascii_digit())
                .then(|| format!("encoder_layer_{segment}"))
        }),
        Architecture::Swin(_) => path.to_string(),
    }
}

/// torchvision: `downsample = nn.Sequential(conv1x1(...), norm_layer(...))`.
const RESNET_SEGMENTS: [(&str, &str); 2] = [
    ("downsample.0", "downsample.conv"),
    ("downsample.1", "downsample.bn"),
];

fn replace_segments(name: &str, pairs: &[(&str, &str)], reverse: bool) -> String {
    let mut out = format!(".{name}.");
    for (torch, pvr) in pairs {
        let (from, to) = if reverse { (pvr, torch) } else { (torch, pvr) };
        out = out.replace(&format!(".{from}."), &format!(".{to}."));
    }
    out[1..out.len() - 1].to_string()
}

/// Renames the third segment of `encoder.layers.<block>...` with `rename`.
fn vit_block(name: &str, rename: impl Fn(&str) -> Option<String>) -> String {
    let mut parts: Vec<String> = name.split('.').map(str::to_string).collect();
    if parts.len() > 2
        && parts[0] == "encoder"
        && parts[1] == "layers"
        && let Some(renamed) = rename(&parts[2])
    {
        parts[2] = renamed;
    }
    parts.join(".")
}

/// A buffer torchvision stores and pvr derives: written on export (so that a strict
/// `load_state_dict` accepts the file), checked for shape and set aside on import.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivedBuffer {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: BufferValues,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BufferValues {
    I64(Vec<i64>),
    F32(Vec<f32>),
}

/// The derived buffers of a network whose torchvision tensor names are `names`.
pub fn derived_buffers(arch: Architecture, names: &[String]) -> Vec<DerivedBuffer> {
    let mut out = Vec::new();
    for name in names {
        match arch {
            // Batch norm's update counter; pvr's batch norm uses a fixed momentum and has none.
            Architecture::ResNet18 | Architecture::ResNet50 => {
                if let Some(base) = name.strip_suffix(".running_var") {
                    out.push(DerivedBuffer {
                        name: format!("{base}.num_batches_tracked"),
                        shape: vec![],
                        values: BufferValues::I64(vec![0]),
                    });
                }
            }
            // Swin V2's relative-position tables, a function of the window size alone.
            Architecture::Swin(shape) => {
                if let Some(base) = name.strip_suffix(".qkv.weight") {
                    let window = shape.window_size;
                    let side = 2 * window - 1;
                    out.push(DerivedBuffer {
                        name: format!("{base}.relative_coords_table"),
                        shape: vec![1, side, side, 2],
                        values: BufferValues::F32(relative_coords_table(window)),
                    });
                    out.push(DerivedBuffer {
                        name: format!("{base}.relative_position_index"),
                        shape: vec![window.pow(4)],
                        values: BufferValues::I64(relative_position_index(window)),
                    });
                }
            }
            Architecture::Vit(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::arch::{SwinShape, VitShape};

    #[test]
    fn resnet_downsample_maps_both_ways() {
        let arch = Architecture::ResNet50;
        assert_eq!(
            to_pvr_path(arch, "layer2.0.downsample.0.weight"),
            "layer2.0.downsample.conv.weight"
        );
        assert_eq!(
            to_pvr_path(arch, "layer2.0.downsample.1.running_var"),
            "layer2.0.downsample.bn.running_var"
        );
        assert_eq!(
            to_torch_name(arch, "layer2.0.downsample.bn.weight"),
            "layer2.0.downsample.1.weight"
        );
        // Whole segments only.
        assert_eq!(
            to_pvr_path(arch, "layer1.0.conv1.weight"),
            "layer1.0.conv1.weight"
        );
        for name in [
            "layer3.0.downsample.0.weight",
            "bn1.running_mean",
            "fc.bias",
        ] {
            assert_eq!(to_torch_name(arch, &to_pvr_path(arch, name)), name);
        }
    }

    #[test]
    fn vit_blocks_are_named_in_torchvision_and_indexed_in_pvr() {
        let arch = Architecture::Vit(VitShape::B_32);
        assert_eq!(
            to_pvr_path(arch, "encoder.layers.encoder_layer_11.mlp.3.weight"),
            "encoder.layers.11.mlp.3.weight"
        );
        assert_eq!(
            to_torch_name(arch, "encoder.layers.0.self_attention.in_proj_weight"),
            "encoder.layers.encoder_layer_0.self_attention.in_proj_weight"
        );
        for name in [
            "encoder.pos_embedding",
            "class_token",
            "heads.head.weight",
            "encoder.ln.bias",
        ] {
            assert_eq!(to_pvr_path(arch, name), name);
            assert_eq!(to_torch_name(arch, name), name);
        }
    }

    #[test]
    fn derived_buffers_follow_the_modules() {
        let names: Vec<String> = [
            "bn1.running_var",
            "layer1.0.downsample.1.running_var",
            "fc.weight",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let buffers = derived_buffers(Architecture::ResNet18, &names);
        assert_eq!(
            buffers.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(),
            [
                "bn1.num_batches_tracked",
                "layer1.0.downsample.1.num_batches_tracked"
            ]
        );
        let swin = Architecture::Swin(SwinShape::V2_T);
        let buffers = derived_buffers(swin, &["features.1.0.attn.qkv.weight".to_string()]);
        assert_eq!(buffers[0].name, "features.1.0.attn.relative_coords_table");
        assert_eq!(buffers[0].shape, vec![1, 15, 15, 2]);
        assert_eq!(buffers[1].shape, vec![4096]);
        assert!(matches!(&buffers[1].values, BufferValues::I64(v) if v.len() == 4096));
    }
}
