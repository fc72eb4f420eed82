//! Loading a torchvision checkpoint into a pvr network: names mapped, shapes checked, pruned
//! tensors (`weight_orig` * `weight_mask`) recombined and their masks kept as pvr's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, bail, ensure};
use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{
    BurnToPyTorchAdapter, FloatCastAdapter, ModuleAdapter, ModuleSnapshot, PyTorchToBurnAdapter,
    bridge,
};
use burn::tensor::{DType, Device, TensorData};
use serde::{Deserialize, Serialize};

use super::names::{derived_buffers, to_pvr_path, to_torch_name};
use super::read::{StateDict, WeightsFormat, read_tensors, select_state_dict};
use crate::models::params::{list_params, read_params};
use crate::models::{Architecture, Network, NetworkConfig};
use crate::prune::{Mask, Masks};

/// A network loaded from a weights file.
pub struct ImportedWeights {
    pub network: Network,
    /// Masks of the tensors the file stored pruned (`weight_orig`/`weight_mask`), by pvr path.
    pub masks: Masks,
    pub report: ImportReport,
}

/// What was read, for the record and the progress line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub format: WeightsFormat,
    /// Where in the file the state dict was (`""`: at the root; `"model."`: torchvision's
    /// reference `train.py` checkpoints).
    pub state_dict_prefix: String,
    pub tensors: usize,
    /// pvr paths of the tensors stored as `weight_orig`/`weight_mask` pairs.
    pub masked: Vec<String>,
    /// Buffers pvr derives instead of storing (batch norm's `num_batches_tracked`, Swin V2's
    /// relative-position tables).
    pub ignored: Vec<String>,
}

/// torchvision's name and shape of every tensor of `network` (linear weights `[out, in]`,
/// batch norm `weight`/`bias`/`running_mean`/`running_var`), in pvr's visiting order.
pub fn torch_layout(network: &Network, arch: Architecture) -> Vec<(String, Vec<usize>)> {
    network
        .collect(None, Some(Box::new(BurnToPyTorchAdapter)), true)
        .into_iter()
        .map(|tensor| (to_torch_name(arch, &tensor.name), tensor.shape.to_vec()))
        .collect()
}

/// Reads `path` into a network built from `config` on `device`. Every tensor the network
/// holds must be in the file with the same shape, and every tensor of the file's state dict
/// must have a place in the network; otherwise the error lists what differs.
pub fn import_weights(
    path: &Path,
    config: &NetworkConfig,
    device: &Device,
) -> anyhow::Result<ImportedWeights> {
    let arch = config.arch;
    let mut network = config.init(device, 0);
    let expected: BTreeMap<String, Vec<usize>> = torch_layout(&network, arch).into_iter().collect();
    let (format, all) = read_tensors(path)?;
    let names: BTreeSet<String> = expected.keys().cloned().collect();
    let (state, prefix) = select_state_dict(all, &names);
    let what = describe(config);
    let pruned = recombine_pruned(&state, path)?;
    let mut weights = pruned.weights;
    // Buffers pvr computes itself: checked for shape (a Swin window of another size would show
    // here), then set aside.
    let mut ignored = Vec::new();
    for buffer in derived_buffers(arch, &names.iter().cloned().collect::<Vec<_>>()) {
        if let Some(tensor) = weights.remove(&buffer.name) {
            let have = tensor.shape.to_vec();
            ensure!(
                have == buffer.shape,
                "{}: `{}` has shape {have:?} but {what} derives {:?}",
                path.display(),
                buffer.name,
                buffer.shape
            );
            ignored.push(buffer.name);
        }
    }

    let unknown: Vec<&str> = weights
        .keys()
        .filter(|name| !expected.contains_key(*name))
        .map(String::as_str)
        .collect();
    let missing: Vec<&str> = expected
        .keys()
        .filter(|name| !weights.contains_key(*name))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() || !missing.is_empty() {
        bail!(
            "{}: the checkpoint does not fit {what}:\n  in the file but not in the network ({}): {}\n  in the network but not in the file ({}): {}",
            path.display(),
            unknown.len(),
            list(&unknown),
            missing.len(),
            list(&missing)
        );
    }
    let mismatched: Vec<String> = weights
        .iter()
        .filter_map(|(name, tensor)| {
            let have = tensor.shape.to_vec();
            let want = &expected[name];
            (&have != want).then(|| format!("`{name}`: file {have:?}, network {want:?}"))
        })
        .collect();
    if !mismatched.is_empty() {
        bail!(
            "{}: {} tensor(s) differ in shape from {what} (check model.width, model.stem and the class count):\n  {}",
            path.display(),
            mismatched.len(),
            mismatched.join("\n  ")
        );
    }

    let tensor_count = weights.len();
    let result = network.apply(renamed(weights, arch), None, Some(to_burn_adapter()), true);
    ensure!(
        result.errors.is_empty() && result.missing.is_empty() && result.unused.is_empty(),
        "{}: loading into {what} failed:\n{result}",
        path.display()
    );

    let masks = masks_in_burn_layout(&network, pruned.masks, arch)
        .with_context(|| format!("reading the pruning masks of {}", path.display()))?;
    let report = ImportReport {
        format,
        state_dict_prefix: prefix.to_string(),
        tensors: tensor_count,
        masked: masks.tensors.keys().cloned().collect(),
        ignored,
    };
    Ok(ImportedWeights {
        network,
        masks,
        report,
    })
}

fn describe(config: &NetworkConfig) -> String {
    format!(
        "the spec's network ({}, width {}, {:?} stem, {} classes)",
        config.arch, config.width, config.stem, config.num_classes
    )
}

/// At most 12 names, then how many more.
fn list(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    let shown: Vec<String> = names.iter().take(12).map(|n| format!("`{n}`")).collect();
    let more = names.len().saturating_sub(12);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

fn to_burn_adapter() -> Box<dyn ModuleAdapter> {
    // Linear weights transposed, norm weight/bias -> gamma/beta, any float width -> f32.
    Box::new(PyTorchToBurnAdapter.chain(FloatCastAdapter::to(DType::F32)))
}

fn renamed(tensors: BTreeMap<String, PackTensor>, arch: Architecture) -> Vec<PackTensor> {
    tensors
        .into_iter()
        .map(|(name, mut tensor)| {
            tensor.name = to_pvr_path(arch, &name);
            tensor
        })
        .collect()
}

/// A state dict with `X_orig`/`X_mask` pairs replaced by `X = X_orig * X_mask`, as
/// torch.nn.utils.prune computes it, and the masks (torch layout, 0/1) by torch name.
struct Recombined {
    weights: BTreeMap<String, PackTensor>,
    masks: BTreeMap<String, PackTensor>,
}

fn recombine_pruned(state: &StateDict, path: &Path) -> anyhow::Result<Recombined> {
    let mut weights = BTreeMap::new();
    let mut masks = BTreeMap::new();
    for (name, tensor) in state {
        if let Some(base) = name.strip_suffix("_mask") {
            ensure!(
                state.contains_key(&format!("{base}_orig")),
                "{}: `{name}` has no `{base}_orig` beside it (torch.nn.utils.prune saves both)",
                path.display()
            );
            continue;
        }
        let Some(base) = name.strip_suffix("_orig") else {
            weights.insert(name.clone(), tensor.clone());
            continue;
        };
        let mask_name = format!("{base}_mask");
        let mask = state.get(&mask_name).with_context(|| {
            format!(
                "{}: `{name}` has no `{mask_name}` beside it (torch.nn.utils.prune saves both)",
                path.display()
            )
        })?;
        ensure!(
            !state.contains_key(base),
            "{}: both `{base}` and `{name}` are stored; a pruned tensor keeps only `{name}` and `{mask_name}`",
            path.display()
        );
        ensure!(
            mask.shape == tensor.shape,
            "{}: `{mask_name}` has shape {:?} but `{name}` has {:?}",
            path.display(),
            mask.shape.to_vec(),
            tensor.shape.to_vec()
        );
        let orig = to_f32(tensor).with_context(|| format!("reading `{name}`"))?;
        let keep = to_f32(mask).with_context(|| format!("reading `{mask_name}`"))?;
        if let Some(bad) = keep.iter().find(|m| **m != 0.0 && **m != 1.0) {
            bail!(
                "{}: `{mask_name}` holds {bad}: a pruning mask holds only 0 and 1",
                path.display()
            );
        }
        let values: Vec<f32> = orig.iter().zip(&keep).map(|(w, m)| w * m).collect();
        let shape = tensor.shape.to_vec();
        weights.insert(
            base.to_string(),
            bridge::from_data(
                TensorData::new(values, shape.clone()),
                base.to_string(),
                None,
            ),
        );
        masks.insert(
            base.to_string(),
            bridge::from_data(TensorData::new(keep, shape), base.to_string(), None),
        );
    }
    Ok(Recombined { weights, masks })
}

fn to_f32(tensor: &PackTensor) -> anyhow::Result<Vec<f32>> {
    let data = bridge::to_data(tensor).map_err(|err| anyhow::anyhow!("{err}"))?;
    data.convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|err| anyhow::anyhow!("{err:?}"))
}

/// The masks in pvr's layout: they go through the same adapter as the weights (so a linear
/// mask is transposed exactly as its weight is), into a copy of the network, and are read
/// back by path.
fn masks_in_burn_layout(
    network: &Network,
    masks: BTreeMap<String, PackTensor>,
    arch: Architecture,
) -> anyhow::Result<Masks> {
    let mut out = Masks::default();
    if masks.is_empty() {
        return Ok(out);
    }
    let paths: BTreeSet<String> = masks.keys().map(|name| to_pvr_path(arch, name)).collect();
    let mut holder = network.clone();
    let result = holder.apply(renamed(masks, arch), None, Some(to_burn_adapter()), true);
    ensure!(
        result.errors.is_empty() && result.unused.is_empty(),
        "placing the masks failed:\n{result}"
    );
    let shapes: BTreeMap<String, Vec<usize>> = list_params(network)
        .into_iter()
        .map(|info| (info.path, info.shape))
        .collect();
    for (path, values) in read_params(&holder, &|path| paths.contains(path)) {
        let shape = shapes
            .get(&path)
            .cloned()
            .unwrap_or_else(|| vec![values.len()]);
        out.tensors.insert(
            path,
            Mask {
                shape,
                keep: values.iter().map(|v| *v != 0.0).collect(),
            },
        );
    }
    Ok(out)
}
