//! Reading the tensors of a weights file: a PyTorch checkpoint (`torch.save`, read by
//! burn-store's `PytorchStore`, which parses the pickle without executing it) or a safetensors
//! file, and finding the state dict inside it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};
use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{ModuleStore, PytorchStore, SafetensorsStore};
use serde::{Deserialize, Serialize};

/// Tensors by name, as stored.
pub type StateDict = BTreeMap<String, PackTensor>;

/// The two file formats pvr reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightsFormat {
    /// `torch.save` output: a zip archive (PyTorch >= 1.6) or a legacy pickle.
    Pytorch,
    Safetensors,
}

impl WeightsFormat {
    /// Tells the format from the first bytes, not the extension.
    pub fn detect(path: &Path) -> anyhow::Result<Self> {
        let mut head = [0u8; 16];
        let mut file = std::fs::File::open(path)
            .with_context(|| format!("opening weights file {}", path.display()))?;
        let read = file
            .read(&mut head)
            .with_context(|| format!("reading weights file {}", path.display()))?;
        // safetensors: a little-endian u64 header length, then the JSON header.
        if read >= 10 && head[8] == b'{' && head[9] == b'"' {
            return Ok(WeightsFormat::Safetensors);
        }
        // torch.save: a zip archive (PyTorch >= 1.6) or a pickle (PROTO opcode, protocol 2-5).
        if head.starts_with(b"PK\x03\x04")
            || (read >= 2 && head[0] == 0x80 && (2..=5).contains(&head[1]))
        {
            return Ok(WeightsFormat::Pytorch);
        }
        bail!(
            "{}: neither a PyTorch checkpoint (torch.save's zip archive or pickle) nor a safetensors file",
            path.display()
        )
    }
}

/// Every tensor in the file, named by its dotted path (nested dictionaries of a `.pth` are
/// flattened: `{"model": {"fc.weight": ...}}` gives `model.fc.weight`).
pub fn read_tensors(path: &Path) -> anyhow::Result<(WeightsFormat, StateDict)> {
    let format = WeightsFormat::detect(path)?;
    let tensors = match format {
        WeightsFormat::Pytorch => PytorchStore::from_file(path)
            // Indices are module names here (`layer1.0`), never to be renumbered.
            .map_indices_contiguous(false)
            .get_all_tensors()
            .map_err(|err| anyhow::anyhow!("reading PyTorch checkpoint {}: {err}", path.display()))?
            .clone(),
        WeightsFormat::Safetensors => SafetensorsStore::from_file(path)
            .map_indices_contiguous(false)
            .get_all_tensors()
            .map_err(|err| anyhow::anyhow!("reading safetensors file {}: {err}", path.display()))?
            .clone(),
    };
    if tensors.is_empty() {
        bail!("{}: the file holds no tensors", path.display());
    }
    Ok((format, tensors))
}

/// Where checkpoints commonly keep the state dict: at the root, under torchvision's reference
/// `train.py` key `model`, under `state_dict`/`model_state_dict`, each possibly with the
/// `module.` prefix `DataParallel` adds.
const PREFIXES: [&str; 8] = [
    "",
    "model.",
    "state_dict.",
    "model_state_dict.",
    "module.",
    "model.module.",
    "state_dict.module.",
    "model_state_dict.module.",
];

/// The state dict inside `tensors`: the tensors under the prefix that holds the most names
/// the network expects (`expected` takes a name with any `_orig`/`_mask` suffix removed),
/// with the prefix stripped. Returns the prefix chosen.
pub fn select_state_dict(
    tensors: StateDict,
    expected: &BTreeSet<String>,
) -> (StateDict, &'static str) {
    let score = |prefix: &str| {
        tensors
            .keys()
            .filter_map(|key| key.strip_prefix(prefix))
            .filter(|name| expected.contains(&base_name(name)))
            .count()
    };
    let prefix = PREFIXES
        .iter()
        .copied()
        .max_by_key(|prefix| (score(prefix), std::cmp::Reverse(prefix.len())))
        .unwrap_or("");
    let selected = tensors
        .into_iter()
        .filter_map(|(key, tensor)| {
            let name = key.strip_prefix(prefix)?.to_string();
            Some((name, tensor))
        })
        .collect();
    (selected, prefix)
}

/// `conv1.weight_orig` and `conv1.weight_mask` (torch.nn.utils.prune's layout) name
/// `conv1.weight`; anything else names itself.
pub fn base_name(name: &str) -> String {
    name.strip_suffix("_orig")
        .or_else(|| name.strip_suffix("_mask"))
        .unwrap_or(name)
        .to_string()
}
