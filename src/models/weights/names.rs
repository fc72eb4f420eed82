//! torchvision parameter names <-> pvr parameter paths, per architecture.
//!
//! pvr's modules are named after torchvision's, so most paths are identical; what differs is
//! where torchvision uses an `nn.Sequential` whose children have only indices. Normalisation
//! parameters (`weight`/`bias` vs Burn's `gamma`/`beta`) and the layout of linear weights are
//! burn-store's adapters' business, not this table's.

use crate::models::Architecture;

/// (torchvision segment, pvr segment) pairs, matched on whole dot-separated segments.
fn segment_renames(arch: Architecture) -> &'static [(&'static str, &'static str)] {
    match arch {
        // torchvision: `downsample = nn.Sequential(conv1x1(...), norm_layer(...))`.
        Architecture::ResNet18 | Architecture::ResNet50 => &[
            ("downsample.0", "downsample.conv"),
            ("downsample.1", "downsample.bn"),
        ],
    }
}

/// pvr's path of the torchvision parameter or buffer `name` (module path and parameter name).
pub fn to_pvr_path(arch: Architecture, name: &str) -> String {
    rename(name, segment_renames(arch).iter().map(|(t, p)| (*t, *p)))
}

/// torchvision's name of pvr's parameter path `path`.
pub fn to_torch_name(arch: Architecture, path: &str) -> String {
    rename(path, segment_renames(arch).iter().map(|(t, p)| (*p, *t)))
}

fn rename<'a>(name: &str, renames: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = format!(".{name}.");
    for (from, to) in renames {
        out = out.replace(&format!(".{from}."), &format!(".{to}."));
    }
    out[1..out.len() - 1].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // Whole segments only: `layer1.0.conv1` has no `downsample` and stays as it is.
        assert_eq!(
            to_pvr_path(arch, "layer1.0.conv1.weight"),
            "layer1.0.conv1.weight"
        );
        assert_eq!(to_pvr_path(arch, "fc.bias"), "fc.bias");
        for name in [
            "layer3.0.downsample.0.weight",
            "bn1.running_mean",
            "conv1.weight",
        ] {
            assert_eq!(to_torch_name(arch, &to_pvr_path(arch, name)), name);
        }
    }
}
